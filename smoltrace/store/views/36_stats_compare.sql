-- Comparing runs, paired by task: compare_tasks(a, b), compare_metrics(a, b) and compare_runs(a, b).
-- a and b are each one run id or several, comma-separated ('id1,id2'): the tries of a task over a
-- side's runs are pooled (several runs of one configuration are repeats, like --repeats). Every figure
-- is per agent type, over the tasks both sides ran (paired); a task that only one side ran is listed
-- in compare_tasks and counted in compare_runs, never silently dropped. B is the new side: a positive
-- difference means B is higher.
--     SELECT * FROM compare_runs('run-a', 'run-b1,run-b2')
-- smoltrace-compare prints these three; the web view and Grafana query them through the query API.

-- sign_test_p(x, n): the exact two-sided binomial test of x successes in n trials against p = 1/2,
--     min(1, 2·P(X ≤ min(x, n−x))),  X ~ Binomial(n, 1/2),  P(X = j) = C(n, j) / 2ⁿ
-- (1 when n = 0: nothing differs). The terms use lgamma, exact to ~1e-12 for the few hundred tasks
-- of a suite. Reference implementation: scipy.stats.binomtest(x, n, 0.5).pvalue.
CREATE OR REPLACE MACRO sign_test_p(x, n) AS
    CASE
        WHEN n = 0 THEN 1.0
        ELSE least(1.0, 2 * list_sum([
            exp(lgamma(n + 1) - lgamma(j + 1) - lgamma(n - j + 1) - n * ln(2))
            FOR j IN range(least(x, n - x) + 1)]))
    END;

-- compare_tasks(a, b): one row per agent type and task that either side ran.
--   change             up / down / same: B's success rate on the task is higher / lower / equal (with
--                      one try per side, up is a task that failed in A and succeeded in B: a flip);
--                      only_a / only_b: only that side ran the task (not paired)
--   a_/b_tries, _successes, _success_rate, _mean_tokens, _mean_duration_ms, _mean_cost_usd,
--   _mean_energy_wh    each side's tries of the task and their means
--   definition_changed the task's prompt or expected tool, keywords or answer differ between the sides
--                      (or between the runs of one side)
CREATE OR REPLACE MACRO compare_tasks(a, b) AS TABLE
SELECT
    coalesce(ta.agent_type, tb.agent_type) AS agent_type,
    coalesce(ta.task_id, tb.task_id) AS task_id,
    CASE
        WHEN ta.task_id IS NULL THEN 'only_b'
        WHEN tb.task_id IS NULL THEN 'only_a'
        WHEN tb.success_rate > ta.success_rate THEN 'up'
        WHEN tb.success_rate < ta.success_rate THEN 'down'
        ELSE 'same'
    END AS change,
    ta.tries AS a_tries,
    ta.successes AS a_successes,
    ta.success_rate AS a_success_rate,
    tb.tries AS b_tries,
    tb.successes AS b_successes,
    tb.success_rate AS b_success_rate,
    tb.success_rate - ta.success_rate AS success_rate_diff,
    ta.mean_tokens AS a_mean_tokens,
    tb.mean_tokens AS b_mean_tokens,
    ta.mean_duration_ms AS a_mean_duration_ms,
    tb.mean_duration_ms AS b_mean_duration_ms,
    ta.mean_cost_usd AS a_mean_cost_usd,
    tb.mean_cost_usd AS b_mean_cost_usd,
    ta.mean_energy_wh AS a_mean_energy_wh,
    tb.mean_energy_wh AS b_mean_energy_wh,
    coalesce(ta.task_definitions > 1 OR tb.task_definitions > 1 OR ta.task_definition <> tb.task_definition, false)
        AS definition_changed
FROM stats_by_task(coalesce(a, ''), with_definitions := true) AS ta
FULL OUTER JOIN stats_by_task(coalesce(b, ''), with_definitions := true) AS tb
    ON ta.agent_type = tb.agent_type AND ta.task_id = tb.task_id
ORDER BY agent_type, task_id;

-- compare_metrics(a, b): one row per agent type and metric (success, tokens, duration_ms, cost_usd,
-- energy_wh), over the paired tasks that have the metric on both sides (`tasks`).
--   a_value, b_value   the mean over tasks of each task's mean over its tries (for success: pass@1)
--   difference         b_value − a_value = the mean of the per-task differences dᵢ = b̄ᵢ − āᵢ
--   difference_se      sd(dᵢ)/√n, the paired standard error (scipy.stats.sem of the dᵢ): pairing by task
--                      removes the task-to-task spread that dominates unpaired comparisons, and averaging
--                      each task's tries first makes it valid when tries repeat (Miller 2024, §3-4). One
--                      paired task: √(s²_a/m_a + s²_b/m_b) from its tries (independent samples).
--   ci_low, ci_high    difference ± z·difference_se (95%, normal approximation; success clipped to ±1).
--                      Miller, E. (2024), "Adding Error Bars to Evals", arXiv:2411.00640, §4 (paired
--                      differences). With fewer than ~30 tasks it is somewhat narrow (Student's t_{n−1}
--                      would be 5-10% wider); p_value does not depend on it.
--   tasks_up/_down     paired tasks where B is higher / lower; ties (dᵢ = 0) count in neither
--   test, p_value      the exact sign test on the signs of the dᵢ: sign_test_p(min(up, down), up + down).
--                      For success with one try per task on both sides, the discordant pairs are the
--                      tasks that flipped, and this is McNemar's exact test (McNemar 1947,
--                      Psychometrika 12:153-157; statsmodels' mcnemar(exact=True)): test says
--                      'mcnemar_exact'. With repeats, 'sign_test_exact' (Dixon & Mood 1946, JASA
--                      41:557-566): it needs no distributional assumption about the dᵢ, which are
--                      bounded, discrete and often tied at 0, so a t-test's normality would not hold on a
--                      suite of 20 tasks; it is exact for any number of tasks, and the same test serves
--                      tokens, duration, cost and energy. It ignores the size of each dᵢ (less power
--                      than a permutation test), which keeps it a closed formula in SQL.
CREATE OR REPLACE MACRO compare_metrics(a, b) AS TABLE
WITH pairs AS (
    SELECT va.agent_type, va.metric, va.task_id,
           va.mean AS a_mean, vb.mean AS b_mean, vb.mean - va.mean AS d,
           va.tries AS a_tries, vb.tries AS b_tries, va.within_var AS a_var, vb.within_var AS b_var
    FROM stats_task_values(coalesce(a, '')) AS va
    JOIN stats_task_values(coalesce(b, '')) AS vb USING (agent_type, task_id, metric)
),
per_metric AS (
    SELECT agent_type, metric,
           count(*) AS tasks,
           avg(a_mean) AS a_value,
           avg(b_mean) AS b_value,
           avg(d) AS difference,
           CASE
               WHEN count(*) >= 2 THEN stddev_samp(d) / sqrt(count(*))
               ELSE sqrt(any_value(a_var) / any_value(a_tries) + any_value(b_var) / any_value(b_tries))
           END AS difference_se,
           count(*) FILTER (WHERE d > 0) AS tasks_up,
           count(*) FILTER (WHERE d < 0) AS tasks_down,
           bool_and(a_tries = 1 AND b_tries = 1) AS single_tries
    FROM pairs
    GROUP BY agent_type, metric
)
SELECT
    agent_type,
    metric,
    tasks,
    a_value,
    b_value,
    difference,
    difference_se,
    CASE  -- greatest/least skip NULLs: a missing standard error must stay a missing interval
        WHEN difference_se IS NULL THEN NULL
        WHEN metric = 'success' THEN greatest(-1.0, difference - stats_z95() * difference_se)
        ELSE difference - stats_z95() * difference_se
    END AS ci_low,
    CASE
        WHEN difference_se IS NULL THEN NULL
        WHEN metric = 'success' THEN least(1.0, difference + stats_z95() * difference_se)
        ELSE difference + stats_z95() * difference_se
    END AS ci_high,
    tasks_up,
    tasks_down,
    CASE WHEN metric = 'success' AND single_tries THEN 'mcnemar_exact' ELSE 'sign_test_exact' END AS test,
    sign_test_p(least(tasks_up, tasks_down), tasks_up + tasks_down) AS p_value
FROM per_metric
ORDER BY agent_type, list_position(['success', 'tokens', 'duration_ms', 'cost_usd', 'energy_wh'], metric);

-- compare_runs(a, b): one row per agent type that either side evaluated: whether the sides can be
-- compared, the paired tasks and flips, and the success-rate difference (compare_metrics' success row).
--   comparable         same dataset and revision on every run, the same tasks on both sides with the
--                      same definitions, and at least one paired task; `notes` says what differs
--   in_progress        a run of either side is still running: every number is provisional
--   a_/b_status        the runs' status (one status, 'mixed', 'running' if any runs, 'unknown' for a run
--                      id with no run record)
--   a_/b_tasks, paired_tasks, only_in_a, only_in_b, changed_tasks, tasks_up/_down/_same (compare_tasks)
--   a_/b_min_tries, _max_tries   tries per task on each side
--   a_/b_success_rate, success_rate_diff, _ci_low, _ci_high, test, p_value   as in compare_metrics
CREATE OR REPLACE MACRO compare_runs(a, b) AS TABLE
WITH tasks AS (
    SELECT * FROM compare_tasks(a, b)
),
per_agent AS (
    SELECT agent_type,
           count(a_tries) AS a_tasks,
           count(b_tries) AS b_tasks,
           count(*) FILTER (WHERE change IN ('up', 'down', 'same')) AS paired_tasks,
           count(*) FILTER (WHERE change = 'only_a') AS only_in_a,
           count(*) FILTER (WHERE change = 'only_b') AS only_in_b,
           count(*) FILTER (WHERE definition_changed) AS changed_tasks,
           count(*) FILTER (WHERE change = 'up') AS tasks_up,
           count(*) FILTER (WHERE change = 'down') AS tasks_down,
           count(*) FILTER (WHERE change = 'same') AS tasks_same,
           min(a_tries) AS a_min_tries,
           max(a_tries) AS a_max_tries,
           min(b_tries) AS b_min_tries,
           max(b_tries) AS b_max_tries
    FROM tasks
    GROUP BY agent_type
),
side_runs AS (
    SELECT 'a' AS side, unnest(run_id_list(coalesce(a, ''))) AS run_id
    UNION ALL
    SELECT 'b' AS side, unnest(run_id_list(coalesce(b, ''))) AS run_id
),
run_facts AS (
    SELECT s.side, s.run_id, i.run_id IS NOT NULL AS known, i.dataset, i.dataset_revision, i.status
    FROM side_runs AS s
    LEFT JOIN run_info AS i USING (run_id)
),
sides AS (
    SELECT
        string_agg(DISTINCT coalesce(dataset, '?'), ', ') FILTER (WHERE side = 'a') AS a_dataset,
        string_agg(DISTINCT coalesce(dataset, '?'), ', ') FILTER (WHERE side = 'b') AS b_dataset,
        string_agg(DISTINCT coalesce(dataset_revision, '(none)'), ', ') FILTER (WHERE side = 'a') AS a_dataset_revision,
        string_agg(DISTINCT coalesce(dataset_revision, '(none)'), ', ') FILTER (WHERE side = 'b') AS b_dataset_revision,
        count(DISTINCT coalesce(dataset, '?')) FILTER (WHERE known) AS datasets,
        count(DISTINCT coalesce(dataset_revision, '')) FILTER (WHERE known) AS revisions,
        CASE
            WHEN bool_or(status = 'running') FILTER (WHERE side = 'a') THEN 'running'
            WHEN bool_or(NOT known) FILTER (WHERE side = 'a') THEN 'unknown'
            WHEN count(DISTINCT status) FILTER (WHERE side = 'a') = 1 THEN any_value(status) FILTER (WHERE side = 'a')
            ELSE 'mixed'
        END AS a_status,
        CASE
            WHEN bool_or(status = 'running') FILTER (WHERE side = 'b') THEN 'running'
            WHEN bool_or(NOT known) FILTER (WHERE side = 'b') THEN 'unknown'
            WHEN count(DISTINCT status) FILTER (WHERE side = 'b') = 1 THEN any_value(status) FILTER (WHERE side = 'b')
            ELSE 'mixed'
        END AS b_status,
        string_agg(run_id, ', ' ORDER BY run_id) FILTER (WHERE status = 'running') AS running_runs,
        string_agg(run_id, ', ' ORDER BY run_id) FILTER (WHERE NOT known) AS unknown_runs,
        count(*) FILTER (WHERE side = 'a' AND run_id IN (SELECT run_id FROM side_runs WHERE side = 'b'))
            AS shared_runs
    FROM run_facts
),
success AS (
    SELECT * FROM compare_metrics(a, b) WHERE metric = 'success'
)
SELECT
    p.agent_type,
    run_group_label(coalesce(a, '')) AS a_runs,
    run_group_label(coalesce(b, '')) AS b_runs,
    p.paired_tasks > 0 AND s.datasets <= 1 AND s.revisions <= 1 AND s.unknown_runs IS NULL
        AND p.only_in_a = 0 AND p.only_in_b = 0 AND p.changed_tasks = 0 AS comparable,
    s.running_runs IS NOT NULL AS in_progress,
    concat_ws('; ',
        CASE WHEN s.datasets > 1 THEN 'different datasets: ' || s.a_dataset || ' vs ' || s.b_dataset END,
        CASE WHEN s.revisions > 1
             THEN 'different dataset revisions: ' || s.a_dataset_revision || ' vs ' || s.b_dataset_revision END,
        CASE WHEN s.unknown_runs IS NOT NULL THEN 'no run record for ' || s.unknown_runs END,
        CASE WHEN p.a_tasks = 0 THEN 'A did not evaluate ' || p.agent_type || ' agents' END,
        CASE WHEN p.b_tasks = 0 THEN 'B did not evaluate ' || p.agent_type || ' agents' END,
        CASE WHEN p.only_in_a > 0 AND p.b_tasks > 0
             THEN p.only_in_a || ' task(s) ran only in A (not paired)' END,
        CASE WHEN p.only_in_b > 0 AND p.a_tasks > 0
             THEN p.only_in_b || ' task(s) ran only in B (not paired)' END,
        CASE WHEN p.changed_tasks > 0
             THEN p.changed_tasks || ' task(s) changed prompt or expected answer between the runs' END,
        CASE WHEN s.shared_runs > 0 THEN 'a run is on both sides' END,
        CASE WHEN s.running_runs IS NOT NULL
             THEN 'still running: ' || s.running_runs || ' (every number is provisional)' END
    ) AS notes,
    s.a_status,
    s.b_status,
    s.a_dataset,
    s.b_dataset,
    s.a_dataset_revision,
    s.b_dataset_revision,
    p.a_tasks,
    p.b_tasks,
    p.paired_tasks,
    p.only_in_a,
    p.only_in_b,
    p.changed_tasks,
    p.a_min_tries,
    p.a_max_tries,
    p.b_min_tries,
    p.b_max_tries,
    p.tasks_up,
    p.tasks_down,
    p.tasks_same,
    m.a_value AS a_success_rate,
    m.b_value AS b_success_rate,
    m.difference AS success_rate_diff,
    m.ci_low AS success_rate_diff_ci_low,
    m.ci_high AS success_rate_diff_ci_high,
    m.test,
    m.p_value
FROM per_agent AS p
CROSS JOIN sides AS s
LEFT JOIN success AS m USING (agent_type)
ORDER BY p.agent_type;
