-- Derive the rows of smoltrace_run_facts (facts/tables.sql) of some runs from their run spans.
--
-- Input: the temporary table derive_runs(run_id). Each run's row is derived whole from every run span
-- of it in smoltrace_run_spans, so it is the same whatever the order in which those spans arrived.
-- facts/derive.sql's steps choose the runs its traces touch and run these steps after their own; the
-- schema migration that created the table runs them over every run.
--
-- A run announces itself with a short `smoltrace.run.started` span (planned task count, configuration),
-- sends a `smoltrace.run.heartbeat` span every 30 s while it runs and closes with the `smoltrace.run`
-- span: its fields come from the latest `smoltrace.run` span, else from the first `smoltrace.run.started`.
-- A resumed run (smoltrace-eval --resume) has several parts, each with its own run.started, heartbeats
-- and closing span: the run started with its first part; its status is the last part's once that part
-- has closed (a run.started later than the last closing span means a part is under way: no status yet,
-- so run_info says 'running', then 'abandoned' if its heartbeats stop); its duration is the sum of its
-- parts' durations (the time it ran, not the gaps between parts).
--
-- Statements are separated by "-- step:" lines and run in order, in the caller's transaction.

-- step: forget
DELETE FROM smoltrace_run_facts WHERE run_id IN (SELECT run_id FROM derive_runs);

-- step: store
INSERT INTO smoltrace_run_facts BY NAME
WITH run_spans AS (
    SELECT
        run_id,
        arg_min(attributes, start_time) FILTER (WHERE span_name = 'smoltrace.run.started') AS announced,
        min(start_time) FILTER (WHERE span_name = 'smoltrace.run.started') AS announced_at,
        arg_max(attributes, start_time) FILTER (WHERE span_name = 'smoltrace.run') AS finished,
        max(start_time) FILTER (WHERE span_name = 'smoltrace.run') AS finished_started_at,
        arg_max(duration_ns, start_time) FILTER (WHERE span_name = 'smoltrace.run') AS finished_duration_ns,
        sum(duration_ns) FILTER (WHERE span_name = 'smoltrace.run') AS parts_duration_ns,
        max(start_time) FILTER (WHERE span_name = 'smoltrace.run.started') AS last_part_started_at,
        max(epoch_ns(start_time) + duration_ns) FILTER (WHERE span_name <> 'smoltrace.run') AS last_seen_ns
    FROM smoltrace_run_spans
    WHERE run_id IN (SELECT run_id FROM derive_runs)
      AND span_name IN ('smoltrace.run.started', 'smoltrace.run.heartbeat', 'smoltrace.run')
    GROUP BY run_id
),
closed AS (  -- the last part has closed: its closing span ended after the last run.started began
    SELECT *,
           finished IS NOT NULL AND (last_part_started_at IS NULL OR epoch_ns(last_part_started_at)
               <= epoch_ns(finished_started_at) + finished_duration_ns) AS is_closed
    FROM run_spans
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
    CASE WHEN is_closed THEN finished->>'smoltrace.run.status' END AS status,
    coalesce(announced_at, finished_started_at) AS started_at,
    CASE WHEN is_closed THEN finished_started_at + to_microseconds((finished_duration_ns / 1000)::BIGINT) END
        AS finished_at,
    CASE WHEN is_closed THEN parts_duration_ns / 1e6 END AS duration_ms,
    TRY_CAST(coalesce(finished, announced)->>'smoltrace.run.max_steps' AS INTEGER) AS max_steps,
    coalesce(finished, announced)->>'smoltrace.version' AS smoltrace_version,
    -- SMOLTRACE 0.1's grouping labels (--use-case, --team, --purpose, --suite-version); NULL when not given
    nullif(coalesce(finished, announced)->>'smoltrace.run.use_case', '') AS use_case,
    nullif(coalesce(finished, announced)->>'smoltrace.run.team', '') AS team,
    nullif(coalesce(finished, announced)->>'smoltrace.run.purpose', '') AS purpose,
    nullif(coalesce(finished, announced)->>'smoltrace.run.suite_version', '') AS suite_version,
    last_seen_ns
FROM closed;
