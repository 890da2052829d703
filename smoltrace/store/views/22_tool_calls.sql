-- tool_calls: one row per tool invocation (OpenInference TOOL spans or GenAI execute_tool spans),
-- final_answer included (is_final_answer tells it apart).
CREATE OR REPLACE VIEW tool_calls AS
SELECT
    ts.run_id, ts.task_uid, ts.agent_type, t.trace_id, t.span_id, t.step_span_id,
    coalesce(s."SpanAttributes"->>'tool.name', s."SpanAttributes"->>'gen_ai.tool.name', s."SpanName") AS tool_name,
    coalesce(s."SpanAttributes"->>'input.value', s."SpanAttributes"->>'gen_ai.tool.call.arguments') AS arguments,
    coalesce(s."SpanAttributes"->>'output.value', s."SpanAttributes"->>'gen_ai.tool.call.result') AS output,
    coalesce(s."SpanAttributes"->>'tool.name', s."SpanAttributes"->>'gen_ai.tool.name', s."SpanName") = 'final_answer'
        AS is_final_answer,
    s."Timestamp" AS start_time,
    s."Duration" / 1e6 AS duration_ms,
    s."StatusCode" AS status_code,
    s."StatusMessage" AS status_message
FROM span_tree AS t
JOIN otel_traces AS s ON s."TraceId" = t.trace_id AND s."SpanId" = t.span_id
JOIN task_spans AS ts ON ts.trace_id = t.trace_id AND ts.span_id = t.task_span_id
WHERE t.semantic_kind = 'TOOL'
QUALIFY row_number() OVER (PARTITION BY t.trace_id, t.span_id) = 1;
