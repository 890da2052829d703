-- latest_runs(n): the n most recently started runs, as rows of `runs`, newest first.
-- `SELECT * FROM runs ORDER BY started_at DESC LIMIT 20` counts the tasks of every run in the store
-- before it keeps 20; here the 20 runs are chosen first (from run_info, one row per run) and the join
-- hands their run ids to the scan of the task facts, which then reads only their row groups (run ids
-- are time-ordered). Same rows, a cost that follows the answer: use it for "the latest runs".
CREATE OR REPLACE MACRO latest_runs(n) AS TABLE
WITH latest AS (
    SELECT run_id FROM run_info ORDER BY started_at DESC NULLS LAST, run_id DESC LIMIT n
)
SELECT runs.*
FROM runs
JOIN latest USING (run_id)
ORDER BY runs.started_at DESC NULLS LAST, runs.run_id DESC;
