-- runs: one row per run. A run announces itself with a short `smoltrace.run.started` span when it
-- begins (planned task count, configuration) and closes with the `smoltrace.run` span; until that
-- arrives its status is 'running' and completed_tasks counts the task spans stored so far.
CREATE OR REPLACE VIEW runs AS
WITH announced AS (
    SELECT
        "SpanAttributes"->>'smoltrace.run.id' AS run_id,
        "SpanAttributes" AS attributes,
        "Timestamp" AS started_at
    FROM otel_traces WHERE "SpanName" = 'smoltrace.run.started'
    QUALIFY row_number() OVER (PARTITION BY "TraceId", "SpanId") = 1
),
finished AS (
    SELECT
        "SpanAttributes"->>'smoltrace.run.id' AS run_id,
        "SpanAttributes" AS attributes,
        "Timestamp" AS started_at,
        "Timestamp" + to_microseconds(("Duration" / 1000)::BIGINT) AS finished_at,
        "Duration" / 1e6 AS duration_ms
    FROM otel_traces WHERE "SpanName" = 'smoltrace.run'
    QUALIFY row_number() OVER (PARTITION BY "TraceId", "SpanId") = 1
),
done AS (
    SELECT run_id, count(*) AS completed_tasks, count(*) FILTER (WHERE success) AS successful_tasks
    FROM results GROUP BY run_id
)
SELECT
    run_id,
    coalesce(f.attributes, a.attributes)->>'smoltrace.model.id' AS model,
    coalesce(f.attributes, a.attributes)->>'smoltrace.provider' AS provider,
    coalesce(f.attributes, a.attributes)->>'smoltrace.run.agent_types' AS agent_types,
    coalesce(f.attributes, a.attributes)->>'smoltrace.dataset.name' AS dataset,
    coalesce(f.attributes, a.attributes)->>'smoltrace.dataset.revision' AS dataset_revision,
    coalesce(f.attributes, a.attributes)->>'smoltrace.dataset.split' AS dataset_split,
    (coalesce(f.attributes, a.attributes)->>'smoltrace.run.planned_tasks')::INTEGER AS planned_tasks,
    coalesce(d.completed_tasks, 0) AS completed_tasks,
    coalesce(d.successful_tasks, 0) AS successful_tasks,
    coalesce(f.attributes->>'smoltrace.run.status', 'running') AS status,
    coalesce(a.started_at, f.started_at) AS started_at,
    f.finished_at,
    f.duration_ms,
    (coalesce(f.attributes, a.attributes)->>'smoltrace.run.max_steps')::INTEGER AS max_steps,
    coalesce(f.attributes, a.attributes)->>'smoltrace.version' AS smoltrace_version
FROM announced AS a
FULL OUTER JOIN finished AS f USING (run_id)
LEFT JOIN done AS d USING (run_id);
