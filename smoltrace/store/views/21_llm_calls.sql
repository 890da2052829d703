-- llm_calls: one row per outermost LLM call. Token counts come from the call's own span
-- (OpenInference llm.token_count.*, else GenAI gen_ai.usage.*), or, when it carries none, from the
-- largest count among the LLM spans nested inside it. Cost = tokens x the run's recorded prices.
CREATE OR REPLACE VIEW llm_calls AS
WITH llm AS (
    SELECT
        t.trace_id, t.span_id, t.task_span_id, t.step_span_id, t.llm_ancestor_id,
        s."SpanName" AS span_name,
        coalesce(s."SpanAttributes"->>'llm.model_name', s."SpanAttributes"->>'gen_ai.request.model') AS model_name,
        coalesce((s."SpanAttributes"->>'llm.token_count.prompt')::BIGINT,
                 (s."SpanAttributes"->>'gen_ai.usage.input_tokens')::BIGINT) AS prompt_tokens,
        coalesce((s."SpanAttributes"->>'llm.token_count.completion')::BIGINT,
                 (s."SpanAttributes"->>'gen_ai.usage.output_tokens')::BIGINT) AS completion_tokens,
        s."Timestamp" AS start_time,
        s."Duration" / 1e6 AS duration_ms,
        s."StatusCode" AS status_code
    FROM span_tree AS t
    JOIN otel_traces AS s ON s."TraceId" = t.trace_id AND s."SpanId" = t.span_id
    WHERE t.semantic_kind = 'LLM'
    QUALIFY row_number() OVER (PARTITION BY t.trace_id, t.span_id) = 1
),
nested AS (
    SELECT trace_id, llm_ancestor_id AS span_id,
           max(prompt_tokens) AS prompt_tokens, max(completion_tokens) AS completion_tokens
    FROM llm WHERE llm_ancestor_id IS NOT NULL
    GROUP BY ALL
)
SELECT
    ts.run_id, ts.task_uid, ts.agent_type, o.trace_id, o.span_id, o.step_span_id, o.span_name, o.model_name,
    coalesce(o.prompt_tokens, n.prompt_tokens, 0) AS prompt_tokens,
    coalesce(o.completion_tokens, n.completion_tokens, 0) AS completion_tokens,
    coalesce(o.prompt_tokens, n.prompt_tokens, 0) + coalesce(o.completion_tokens, n.completion_tokens, 0) AS total_tokens,
    coalesce(o.prompt_tokens, n.prompt_tokens, 0) * ts.input_cost_per_token
        + coalesce(o.completion_tokens, n.completion_tokens, 0) * ts.output_cost_per_token AS cost_usd,
    o.start_time, o.duration_ms, o.status_code
FROM llm AS o
JOIN task_spans AS ts ON ts.trace_id = o.trace_id AND ts.span_id = o.task_span_id
LEFT JOIN nested AS n ON n.trace_id = o.trace_id AND n.span_id = o.span_id
WHERE o.llm_ancestor_id IS NULL;
