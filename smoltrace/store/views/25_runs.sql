-- run_info: one row per run, from its own spans only. A run announces itself with a short
-- `smoltrace.run.started` span when it begins (planned task count, configuration), sends a
-- `smoltrace.run.heartbeat` span every 30 s while it runs (smoltrace/runner/heartbeat.py) and closes with
-- the `smoltrace.run` span. Until that arrives its status is 'running', or 'abandoned' once nothing of
-- it arrived for 3 minutes (its runner died: kill -9, a lost machine). The spans are kept in
-- smoltrace_run_spans (derived from the raw spans, facts/derive.sql).
CREATE OR REPLACE VIEW run_info AS
WITH run_spans AS (
    SELECT
        run_id,
        arg_min(attributes, start_time) FILTER (WHERE span_name = 'smoltrace.run.started') AS announced,
        min(start_time) FILTER (WHERE span_name = 'smoltrace.run.started') AS announced_at,
        arg_max(attributes, start_time) FILTER (WHERE span_name = 'smoltrace.run') AS finished,
        max(start_time) FILTER (WHERE span_name = 'smoltrace.run') AS finished_started_at,
        arg_max(duration_ns, start_time) FILTER (WHERE span_name = 'smoltrace.run') AS finished_duration_ns,
        max(epoch_ns(start_time) + duration_ns) FILTER (WHERE span_name <> 'smoltrace.run') AS last_seen_ns
    FROM smoltrace_run_spans
    WHERE span_name IN ('smoltrace.run.started', 'smoltrace.run.heartbeat', 'smoltrace.run')
    GROUP BY run_id
)
SELECT
    run_id,
    coalesce(finished, announced)->>'smoltrace.model.id' AS model,
    coalesce(finished, announced)->>'smoltrace.provider' AS provider,
    coalesce(finished, announced)->>'smoltrace.run.agent_types' AS agent_types,
    coalesce(finished, announced)->>'smoltrace.dataset.name' AS dataset,
    coalesce(finished, announced)->>'smoltrace.dataset.revision' AS dataset_revision,
    coalesce(finished, announced)->>'smoltrace.dataset.split' AS dataset_split,
    TRY_CAST(coalesce(finished, announced)->>'smoltrace.run.planned_tasks' AS INTEGER) AS planned_tasks,
    coalesce(
        finished->>'smoltrace.run.status',
        CASE WHEN last_seen_ns < epoch_ns(now()) - 180_000_000_000 THEN 'abandoned' ELSE 'running' END
    ) AS status,
    coalesce(announced_at, finished_started_at) AS started_at,
    finished_started_at + to_microseconds((finished_duration_ns / 1000)::BIGINT) AS finished_at,
    finished_duration_ns / 1e6 AS duration_ms,
    TRY_CAST(coalesce(finished, announced)->>'smoltrace.run.max_steps' AS INTEGER) AS max_steps,
    coalesce(finished, announced)->>'smoltrace.version' AS smoltrace_version,
    -- SMOLTRACE 0.1's grouping labels (--use-case, --team, --purpose, --suite-version); NULL when not given
    nullif(coalesce(finished, announced)->>'smoltrace.run.use_case', '') AS use_case,
    nullif(coalesce(finished, announced)->>'smoltrace.run.team', '') AS team,
    nullif(coalesce(finished, announced)->>'smoltrace.run.purpose', '') AS purpose,
    nullif(coalesce(finished, announced)->>'smoltrace.run.suite_version', '') AS suite_version
FROM run_spans;

-- runs: run_info with the run's progress: completed_tasks counts the task executions stored so far,
-- successful_tasks those whose verdict (results) is a success.
CREATE OR REPLACE VIEW runs AS
WITH done AS (
    SELECT run_id, count(*) AS completed_tasks, count(*) FILTER (WHERE success) AS successful_tasks
    FROM results GROUP BY run_id
)
SELECT
    i.run_id, i.model, i.provider, i.agent_types, i.dataset, i.dataset_revision, i.dataset_split,
    i.planned_tasks, coalesce(d.completed_tasks, 0) AS completed_tasks,
    coalesce(d.successful_tasks, 0) AS successful_tasks, i.status, i.started_at, i.finished_at, i.duration_ms,
    i.max_steps, i.smoltrace_version
FROM run_info AS i
LEFT JOIN done AS d USING (run_id);
