-- run_info: one row per run. A run announces itself with a short `smoltrace.run.started` span when it
-- begins (planned task count, configuration), sends a `smoltrace.run.heartbeat` span every 30 s while it
-- runs (smoltrace/runner/heartbeat.py) and closes with the `smoltrace.run` span. Until that arrives its
-- status is 'running', or 'abandoned' once nothing of it arrived for 3 minutes (its runner died: kill -9,
-- a lost machine). Its fields are derived from those spans into smoltrace_run_facts
-- (facts/derive_runs.sql); only the status that depends on the clock is decided here.
CREATE OR REPLACE VIEW run_info AS
SELECT
    run_id, model, provider, agent_types, dataset, dataset_revision, dataset_split, planned_tasks,
    coalesce(
        status,
        CASE WHEN last_seen_ns < epoch_ns(now()) - 180_000_000_000 THEN 'abandoned' ELSE 'running' END
    ) AS status,
    started_at, finished_at, duration_ms, max_steps, smoltrace_version, use_case, team, purpose, suite_version
FROM smoltrace_run_facts;

-- runs_between(lo, hi): the rows of `runs` whose run id is between lo and hi. The bounds reach the scans
-- of run_info and of the task facts below results' one-row-per-execution window, so a few runs cost
-- what they hold; a filter on the `runs` view stops at its outer join.
CREATE OR REPLACE MACRO runs_between(lo, hi) AS TABLE
WITH done AS (
    SELECT run_id, count(*) AS completed_tasks, count(*) FILTER (WHERE success) AS successful_tasks
    FROM results
    WHERE run_id BETWEEN lo AND hi
    GROUP BY run_id
)
SELECT
    i.run_id, i.model, i.provider, i.agent_types, i.dataset, i.dataset_revision, i.dataset_split,
    i.planned_tasks, coalesce(d.completed_tasks, 0) AS completed_tasks,
    coalesce(d.successful_tasks, 0) AS successful_tasks, i.status, i.started_at, i.finished_at, i.duration_ms,
    i.max_steps, i.smoltrace_version
FROM run_info AS i
LEFT JOIN done AS d USING (run_id)
WHERE i.run_id BETWEEN lo AND hi;

-- runs: run_info with the run's progress: completed_tasks counts the task executions stored so far,
-- successful_tasks those whose verdict (results) is a success. One run, fast: runs_between(id, id).
CREATE OR REPLACE VIEW runs AS
SELECT * FROM runs_between((SELECT min(run_id) FROM smoltrace_run_facts), (SELECT max(run_id) FROM smoltrace_run_facts));
