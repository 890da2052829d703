-- latest_runs(n): the n most recently started runs, as rows of `runs`, newest first.
-- `SELECT * FROM runs ORDER BY started_at DESC LIMIT 20` counts every run's tasks before it keeps 20;
-- here the 20 runs are chosen first (one row per run in smoltrace_run_facts), and the least and the
-- greatest of their run ids bound the scan of the task facts (runs_between: run ids are time-ordered,
-- so the range holds about those runs). Same rows, a cost that follows the answer.
CREATE OR REPLACE MACRO latest_runs(n) AS TABLE
WITH latest AS (
    SELECT run_id
    FROM smoltrace_run_facts
    ORDER BY started_at DESC NULLS LAST, run_id DESC
    LIMIT n
)
SELECT r.*
FROM runs_between((SELECT min(run_id) FROM latest), (SELECT max(run_id) FROM latest)) AS r
WHERE r.run_id IN (SELECT run_id FROM latest)
ORDER BY r.started_at DESC NULLS LAST, r.run_id DESC;
