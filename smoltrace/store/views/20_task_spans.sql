-- task_spans: one row per task execution (the smoltrace.task root span), attributes as columns.
CREATE OR REPLACE VIEW task_spans AS
SELECT
    s."SpanAttributes"->>'smoltrace.run.id' AS run_id,
    s."TraceId" AS trace_id,
    s."SpanId" AS span_id,
    s."SpanAttributes"->>'smoltrace.model.id' AS model,
    s."SpanAttributes"->>'smoltrace.provider' AS provider,
    s."SpanAttributes"->>'smoltrace.agent.type' AS agent_type,
    s."SpanAttributes"->>'smoltrace.task.id' AS task_id,
    s."SpanAttributes"->>'smoltrace.task.uid' AS task_uid,
    s."SpanAttributes"->>'smoltrace.task.difficulty' AS difficulty,
    s."SpanAttributes"->>'smoltrace.task.category' AS category,
    s."SpanAttributes"->>'smoltrace.task.prompt' AS prompt,
    s."SpanAttributes"->>'smoltrace.task.expected_tool' AS expected_tool,
    (s."SpanAttributes"->>'smoltrace.task.expected_tool_calls')::INTEGER AS expected_tool_calls,
    coalesce(from_json(s."SpanAttributes"->'smoltrace.task.expected_keywords', '["VARCHAR"]'), []) AS expected_keywords,
    s."SpanAttributes"->>'smoltrace.task.expected_answer' AS expected_answer,
    s."SpanAttributes"->>'smoltrace.task.answer' AS response,
    s."SpanAttributes"->>'smoltrace.task.stop_reason' AS stop_reason,
    s."SpanAttributes"->>'smoltrace.task.error' AS error,
    (s."SpanAttributes"->>'smoltrace.model.input_cost_per_token')::DOUBLE AS input_cost_per_token,
    (s."SpanAttributes"->>'smoltrace.model.output_cost_per_token')::DOUBLE AS output_cost_per_token,
    s."Timestamp" AS start_time,
    s."Duration" / 1e6 AS execution_time_ms
FROM otel_traces AS s
WHERE s."SpanName" = 'smoltrace.task'
QUALIFY row_number() OVER (PARTITION BY s."TraceId", s."SpanId") = 1;
