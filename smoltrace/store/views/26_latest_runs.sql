-- latest_runs(n): the n most recently started runs, as rows of `runs`, newest first.
-- `SELECT * FROM runs ORDER BY started_at DESC LIMIT 20` builds every run's row (its JSON attributes,
-- its task counts) before it keeps 20; here the 20 runs are chosen first, from the run spans' start
-- times alone (started_at as run_info defines it), and the join hands their run ids to the scans of
-- run_info and of the task facts, which then read only their row groups (run ids are time-ordered).
-- Same rows, a cost that follows the answer: use it for "the latest runs".
CREATE OR REPLACE MACRO latest_runs(n) AS TABLE
WITH latest AS (
    SELECT
        run_id,
        coalesce(min(start_time) FILTER (WHERE span_name = 'smoltrace.run.started'),
                 max(start_time) FILTER (WHERE span_name = 'smoltrace.run')) AS started_at
    FROM smoltrace_run_spans
    WHERE span_name IN ('smoltrace.run.started', 'smoltrace.run')
    GROUP BY run_id
    ORDER BY started_at DESC NULLS LAST, run_id DESC
    LIMIT n
)
SELECT runs.*
FROM runs
JOIN latest USING (run_id)
ORDER BY runs.started_at DESC NULLS LAST, runs.run_id DESC;
