-- steps: one row per agent step (OpenInference CHAIN spans named "Step N"), with its LLM calls, tokens
-- (outermost LLM calls only) and the tools it called.
CREATE OR REPLACE VIEW steps AS
WITH step_llm AS (
    SELECT trace_id, step_span_id, count(*) AS llm_calls, sum(total_tokens)::BIGINT AS total_tokens
    FROM llm_calls GROUP BY ALL
),
step_tools AS (
    SELECT trace_id, step_span_id, list(tool_name ORDER BY start_time) AS tools_called
    FROM tool_calls GROUP BY ALL
)
SELECT
    ts.run_id, ts.task_uid, ts.agent_type, t.trace_id, t.span_id,
    TRY_CAST(regexp_extract(s."SpanName", 'Step (\d+)', 1) AS INTEGER) AS step_number,
    s."Timestamp" AS start_time,
    s."Duration" / 1e6 AS duration_ms,
    s."StatusCode" AS status_code,
    s."StatusMessage" AS status_message,
    coalesce(l.llm_calls, 0) AS llm_calls,
    coalesce(l.total_tokens, 0) AS total_tokens,
    coalesce(c.tools_called, []) AS tools_called
FROM span_tree AS t
JOIN otel_traces AS s ON s."TraceId" = t.trace_id AND s."SpanId" = t.span_id
JOIN task_spans AS ts ON ts.trace_id = t.trace_id AND ts.span_id = t.task_span_id
LEFT JOIN step_llm AS l ON l.trace_id = t.trace_id AND l.step_span_id = t.span_id
LEFT JOIN step_tools AS c ON c.trace_id = t.trace_id AND c.step_span_id = t.span_id
WHERE t.is_step
QUALIFY row_number() OVER (PARTITION BY t.trace_id, t.span_id) = 1;
