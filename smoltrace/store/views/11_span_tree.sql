-- span_tree: every span below a smoltrace.task root, with
--   task_span_id     the task span it belongs to,
--   llm_ancestor_id  its outermost LLM ancestor (NULL for a span that is not inside an LLM span),
--   step_span_id     the agent step (CHAIN "Step N") it belongs to.
-- An LLM span whose llm_ancestor_id is NULL is an *outermost* LLM call: tokens are counted there only,
-- so an instrumented litellm `completion` inside `Model.generate` is never counted twice.
CREATE OR REPLACE VIEW span_tree AS
WITH RECURSIVE tree AS (
    SELECT
        s."TraceId" AS trace_id,
        s."SpanId" AS span_id,
        s."SpanId" AS task_span_id,
        s.semantic_kind,
        FALSE AS is_step,
        NULL::VARCHAR AS llm_ancestor_id,
        NULL::VARCHAR AS step_span_id
    FROM span_links AS s
    WHERE s."SpanName" = 'smoltrace.task'
    UNION ALL
    SELECT
        c."TraceId",
        c."SpanId",
        t.task_span_id,
        c.semantic_kind,
        c.semantic_kind = 'CHAIN' AND c."SpanName" LIKE 'Step %',
        coalesce(t.llm_ancestor_id, CASE WHEN t.semantic_kind = 'LLM' THEN t.span_id END),
        CASE WHEN t.is_step THEN t.span_id ELSE t.step_span_id END
    FROM tree AS t
    JOIN span_links AS c ON c."TraceId" = t.trace_id AND c."ParentSpanId" = t.span_id
)
SELECT * FROM tree;
