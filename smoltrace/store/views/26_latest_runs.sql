-- latest_runs(n): the n most recently started runs, as rows of `runs`, newest first.
-- `SELECT * FROM runs ORDER BY started_at DESC LIMIT 20` counts every run's tasks before it keeps 20;
-- here the 20 runs are chosen first (one row per run in smoltrace_run_facts), and the join hands their
-- run ids to the scan of the task facts, which then reads only their row groups (run ids are
-- time-ordered). Same rows, a cost that follows the answer: use it for "the latest runs".
CREATE OR REPLACE MACRO latest_runs(n) AS TABLE
WITH latest AS (
    SELECT run_id, started_at
    FROM smoltrace_run_facts
    ORDER BY started_at DESC NULLS LAST, run_id DESC
    LIMIT n
)
SELECT runs.*
FROM runs
JOIN latest USING (run_id)
ORDER BY runs.started_at DESC NULLS LAST, runs.run_id DESC;
