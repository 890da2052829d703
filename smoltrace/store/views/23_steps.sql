-- steps: one row per agent step (OpenInference CHAIN spans named "Step N").
CREATE OR REPLACE VIEW steps AS
SELECT
    ts.run_id, ts.task_uid, ts.agent_type, t.trace_id, t.span_id,
    TRY_CAST(regexp_extract(s."SpanName", 'Step (\d+)', 1) AS INTEGER) AS step_number,
    s."Timestamp" AS start_time,
    s."Duration" / 1e6 AS duration_ms,
    s."StatusCode" AS status_code,
    s."StatusMessage" AS status_message,
    (SELECT count(*) FROM llm_calls AS l WHERE l.trace_id = t.trace_id AND l.step_span_id = t.span_id) AS llm_calls,
    (SELECT coalesce(sum(l.total_tokens), 0) FROM llm_calls AS l
      WHERE l.trace_id = t.trace_id AND l.step_span_id = t.span_id) AS total_tokens,
    (SELECT list(c.tool_name ORDER BY c.start_time) FROM tool_calls AS c
      WHERE c.trace_id = t.trace_id AND c.step_span_id = t.span_id) AS tools_called
FROM span_tree AS t
JOIN spans AS s ON s."TraceId" = t.trace_id AND s."SpanId" = t.span_id
JOIN task_spans AS ts ON ts.trace_id = t.trace_id AND ts.span_id = t.task_span_id
WHERE t.is_step;
