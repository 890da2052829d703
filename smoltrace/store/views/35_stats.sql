-- Statistics over task executions: successes out of tries per task; per run and agent type a success
-- rate with its 95% confidence interval, pass@1, pass@k, pass^k and the standard errors of the mean
-- tokens, duration and cost. Everything reads `results` (and `task_gpu_energy`, `run_info`), so a
-- changed verdict rule changes these numbers too. Consumers (the leaderboards of 40_leaderboard.sql, which
-- is why this file's number is below theirs; smoltrace-eval's summary, its JSON files, the Hub rows,
-- smoltrace-compare, the web view, Grafana) read these views; nothing is recomputed in Python.
--
-- A *try* is one task execution (one trace). A task has several tries when the run used --repeats N
-- (smoltrace.task.repeat = 0..N-1), or when several runs of one configuration are pooled: the table
-- macros below take a comma-separated list of run ids ('id1,id2') and add up the tries of each task.
-- Tasks are the unit of sampling: tries of one task are correlated (a hard task fails on every try),
-- so every interval below treats tasks, not tries, as the independent observations.
--
-- Cost follows the answer: every view groups by run id, so `WHERE run_id = ?` reaches the facts table's
-- scan and reads that run's row groups only.

-- The two-sided 95% critical value of the standard normal, Φ⁻¹(0.975) (scipy.stats.norm.ppf(0.975)).
CREATE OR REPLACE MACRO stats_z95() AS 1.959963984540054;

-- run_id_list('b, a,,a'): the run ids of a comma-separated text, trimmed, without blanks or repeats,
-- sorted (['a', 'b']). run_group_label gives the same list as one canonical text ('a,b').
CREATE OR REPLACE MACRO run_id_list(ids) AS
    list_sort(list_distinct(list_filter(list_transform(string_split(ids, ','), lambda x: trim(x)), lambda x: x <> '')));
CREATE OR REPLACE MACRO run_group_label(ids) AS array_to_string(run_id_list(ids), ',');

-- wilson_low(p, n), wilson_high(p, n): Wilson's score interval (95%) for a proportion p observed over
-- n trials (n may be an effective, non-integer number, see effective_tries):
--     (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)
-- Chosen over the textbook Wald interval p ± z·√(p(1−p)/n), which collapses to a single point at 0%
-- and 100% and undercovers for the 10 to 150 tasks of a suite; Wilson keeps close to its nominal
-- coverage there. Wilson, E. B. (1927), JASA 22:209-212; Brown, Cai & DasGupta (2001), Statistical
-- Science 16:101-133. Reference implementation: statsmodels' proportion_confint(method="wilson").
-- At p = 0 (p = 1) the lower (upper) bound is exactly 0 (1), as the formula gives without rounding.
CREATE OR REPLACE MACRO wilson_low(p, n) AS
    CASE WHEN n > 0 AND p <= 0 THEN 0.0 WHEN n > 0 THEN greatest(0.0,
        (p + stats_z95() ^ 2 / (2 * n) - stats_z95() * sqrt(p * (1 - p) / n + stats_z95() ^ 2 / (4 * n ^ 2)))
        / (1 + stats_z95() ^ 2 / n)) END;
CREATE OR REPLACE MACRO wilson_high(p, n) AS
    CASE WHEN n > 0 AND p >= 1 THEN 1.0 WHEN n > 0 THEN least(1.0,
        (p + stats_z95() ^ 2 / (2 * n) + stats_z95() * sqrt(p * (1 - p) / n + stats_z95() ^ 2 / (4 * n ^ 2)))
        / (1 + stats_z95() ^ 2 / n)) END;

-- effective_tries(p, tasks, tries, clustered_var): how many independent tries the data are worth
-- (Kish's effective sample size N / deff), so that the Wilson interval of a success rate allows for
-- tries of one task being correlated.
--     deff = clustered_var / (p(1−p)/(N−1)), floored at 1
-- p(1−p)/(N−1) is the variance of p̂ were all N tries independent (the sample variance of the N 0/1
-- outcomes, over N); clustered_var is the task-clustered variance (clustered_mean_var). The floor: tries
-- are never worth more than independent ones. Special cases:
--   one task:         N. The rate is about that task alone, and its tries are independent draws.
--   p = 0 or 1:       n, the number of tasks. Nothing varies, so the data cannot tell how correlated the
--                     tries are; each task counts once (the cautious choice).
-- With one try per task deff = 1 exactly, and the interval is Wilson's over the n tasks.
-- Kish, L. (1965), Survey Sampling, §8.2; Dean, N. & Pagano, M. (2015), "Evaluating confidence interval
-- methods for binomial proportions in clustered surveys", J. Survey Stat. and Methodology 3:484-503
-- (Wilson with the effective sample size keeps its coverage in cluster samples).
CREATE OR REPLACE MACRO effective_tries(p, tasks, tries, clustered_var) AS
    CASE
        WHEN tasks = 1 THEN tries::DOUBLE
        WHEN p <= 0 OR p >= 1 THEN tasks::DOUBLE
        ELSE tries / greatest(1.0, clustered_var / (p * (1 - p) / (tries - 1)))
    END;

-- clustered_mean_var(tasks, sum_sq_dev, tries, within_var): the variance of a mean over tries,
-- ȳ = ΣY / M, when the tries come in tasks (the cluster-robust variance with the small-sample factor
-- n/(n−1), "CR1"):
--     V = n/(n−1) · Σᵢ (Yᵢ − ȳ·mᵢ)² / M²
-- Yᵢ = the sum of task i's values, mᵢ its tries, M = Σmᵢ, n tasks; sum_sq_dev is Σᵢ (Yᵢ − ȳ·mᵢ)².
-- With one try per task this is s²/n, the squared standard error of a mean (scipy.stats.sem); with m
-- tries per task, the squared standard error of the n per-task means. One task: its tries are the
-- sample, V = s²/M from within_var, the sample variance of its tries (NULL for a single try).
-- Cochran, W. G. (1977), Sampling Techniques, 3rd ed., §6.4 and §9A (ratio estimator, cluster
-- sampling); Miller, E. (2024), "Adding Error Bars to Evals", arXiv:2411.00640, §2.2 (clustered
-- standard errors) and §3 (resampling: average the tries of each question first).
CREATE OR REPLACE MACRO clustered_mean_var(tasks, sum_sq_dev, tries, within_var) AS
    CASE
        WHEN tasks >= 2 THEN tasks / (tasks - 1) * sum_sq_dev / tries ^ 2
        WHEN tasks = 1 THEN within_var / tries
    END;

-- pass_at_k(n, c, k): the unbiased estimator of pass@k for one task with c successes in n tries: the
-- chance that at least one of k tries drawn without replacement from the n succeeds,
--     1 − C(n−c, k) / C(n, k) = 1 − Π_{j=0..k−1} (n−c−j)/(n−j)        (k ≤ n)
-- the product form avoids huge binomials, as the paper's numpy code does. Chen, M. et al. (2021),
-- "Evaluating Large Language Models Trained on Code", arXiv:2107.03374, §2.1.
CREATE OR REPLACE MACRO pass_at_k(n, c, k) AS
    CASE
        WHEN k < 1 OR k > n THEN NULL
        WHEN n - c < k THEN 1.0
        ELSE 1.0 - list_product([(n - c - j)::DOUBLE / (n - j) FOR j IN range(k)])
    END;

-- pass_hat_k(n, c, k): pass^k, the chance that all k of k tries succeed (reliability), estimated
-- without bias from c successes in n tries as C(c, k) / C(n, k) = Π_{j=0..k−1} (c−j)/(n−j) (k ≤ n).
-- Yao, S. et al. (2024), "τ-bench: A Benchmark for Tool-Agent-User Interaction in Real-World Domains",
-- arXiv:2406.12045, §5 (pass^k). pass_hat_k(n, c, 1) = pass_at_k(n, c, 1) = c/n.
CREATE OR REPLACE MACRO pass_hat_k(n, c, k) AS
    CASE
        WHEN k < 1 OR k > n THEN NULL
        WHEN c < k THEN 0.0
        ELSE list_product([(c - j)::DOUBLE / (n - j) FOR j IN range(k)])
    END;

-- stats_tries(ids): one row per try of the runs in `ids` (comma-separated run ids), or of every run
-- when ids is NULL, with the values the statistics use. run_group is the run id (ids NULL) or the
-- canonical list of the pooled runs. With pool_agent_types := true (the leaderboard's one row per run)
-- a run's agent types count as one: agent_type is 'all' and each agent type's task is a task of its own
-- (task_id 'code:t1', 'tool:t1'), so a both-agents run is a suite of twice as many tasks, each with the
-- run's tries; the statistics stay per task and try (max_tries is still --repeats). A NULL verdict counts as a failure; a NULL cost or energy (an
-- unknown price, a run without GPU readings) is no value, not zero. A try stopped by Ctrl-C
-- (stop_reason 'interrupted') is left out: the agent did not fail it, the user stopped it (the
-- leaderboard still counts it in total_tests). Timeouts and errors are failures of the try.
-- task_definition (a hash of the task's prompt and expectations) is computed only with_definitions: the
-- comparisons need it, the run statistics do not (over a whole store it was a third of their time).
CREATE OR REPLACE MACRO stats_tries(ids, pool_agent_types := false, with_definitions := false) AS TABLE
SELECT
    CASE WHEN ids IS NULL THEN r.run_id ELSE run_group_label(ids) END AS run_group,
    r.run_id,
    CASE WHEN pool_agent_types THEN 'all' ELSE r.agent_type END AS agent_type,
    CASE WHEN pool_agent_types THEN concat(r.agent_type, ':', r.task_id) ELSE r.task_id END AS task_id,
    r.trace_id,
    CASE WHEN with_definitions THEN
        md5(json_array(r.prompt, r.expected_tool, r.expected_tool_calls, r.expected_keywords, r.expected_answer)::VARCHAR)
    END AS task_definition,
    coalesce(r.success, false)::INTEGER::DOUBLE AS success,
    r.total_tokens::DOUBLE AS tokens,
    r.execution_time_ms AS duration_ms,
    r.cost_usd,
    e.gpu_energy_wh AS energy_wh
FROM results AS r
LEFT JOIN (
    -- The range (run ids are time-ordered) is what reaches task_gpu_energy's scan of the task facts: a
    -- list filter would not, and every comparison would read the whole store's task facts.
    SELECT * FROM task_gpu_energy
    WHERE ids IS NULL OR run_id BETWEEN list_min(run_id_list(ids)) AND list_max(run_id_list(ids))
) AS e ON e.run_id = r.run_id AND e.trace_id = r.trace_id
WHERE (ids IS NULL OR list_contains(run_id_list(ids), r.run_id))
  AND r.stop_reason IS DISTINCT FROM 'interrupted';

-- stats_task_values(ids): per run group, agent type, task and metric (success, tokens, duration_ms,
-- cost_usd, energy_wh): the tries that have a value, their sum, mean and sample variance.
CREATE OR REPLACE MACRO stats_task_values(ids, pool_agent_types := false) AS TABLE
SELECT run_group, agent_type, task_id, metric,
       count(*) AS tries,
       sum(value) AS total,
       avg(value) AS mean,
       var_samp(value) AS within_var
FROM (
    UNPIVOT (SELECT run_group, agent_type, task_id, success, tokens, duration_ms, cost_usd, energy_wh
             FROM stats_tries(ids, pool_agent_types := pool_agent_types))
    ON success, tokens, duration_ms, cost_usd, energy_wh INTO NAME metric VALUE value
)
GROUP BY run_group, agent_type, task_id, metric;

-- stats_run_values(ids): per run group, agent type and metric: the mean over tries ΣY/M and its
-- task-clustered variance (clustered_mean_var). The run means are joined back to the tasks (a hash join:
-- over a whole store, a window partitioned by run took half as long again).
CREATE OR REPLACE MACRO stats_run_values(ids, pool_agent_types := false) AS TABLE
WITH tasks AS (
    SELECT * FROM stats_task_values(ids, pool_agent_types := pool_agent_types)
),
run_means AS (
    SELECT run_group, agent_type, metric, sum(total) / sum(tries) AS run_mean
    FROM tasks
    GROUP BY run_group, agent_type, metric
)
SELECT run_group, agent_type, metric,
       count(*) AS tasks,
       sum(tries) AS tries,
       any_value(run_mean) AS mean,
       clustered_mean_var(count(*), sum((total - run_mean * tries) ^ 2), sum(tries), any_value(within_var))
           AS mean_var
FROM tasks
JOIN run_means USING (run_group, agent_type, metric)
GROUP BY run_group, agent_type, metric;

-- stats_by_task(ids): one row per run group, agent type and task: tries, successes and the mean of each
-- value over the task's tries; task_definitions counts the distinct definitions (prompt, expected tool,
-- keywords, answer) the task had among its tries (more than 1: the task changed between pooled runs);
-- both NULL unless with_definitions.
CREATE OR REPLACE MACRO stats_by_task(ids, pool_agent_types := false, with_definitions := false) AS TABLE
SELECT run_group, agent_type, task_id,
       count(*) AS tries,
       sum(success)::BIGINT AS successes,
       avg(success) AS success_rate,
       avg(tokens) AS mean_tokens,
       avg(duration_ms) AS mean_duration_ms,
       avg(cost_usd) AS mean_cost_usd,
       avg(energy_wh) AS mean_energy_wh,
       min(task_definition) AS task_definition,
       CASE WHEN with_definitions THEN count(DISTINCT task_definition) END AS task_definitions
FROM stats_tries(ids, pool_agent_types := pool_agent_types, with_definitions := with_definitions)
GROUP BY run_group, agent_type, task_id;

-- stats_pass_at_k(ids): per run group, agent type and k = 1..the most tries any task had: pass@k and
-- pass^k averaged over the tasks that have at least k tries (`tasks` says how many that is: fewer than
-- the run's tasks only when a run stopped before every task had all its tries).
CREATE OR REPLACE MACRO stats_pass_at_k(ids) AS TABLE
SELECT run_group, agent_type, k,
       count(*) AS tasks,
       avg(pass_at_k(tries, successes, k)) AS pass_at_k,
       avg(pass_hat_k(tries, successes, k)) AS pass_hat_k
FROM (SELECT *, unnest(range(1, tries + 1)) AS k FROM stats_by_task(ids))
GROUP BY run_group, agent_type, k;

-- stats_by_run(ids): per run group and agent type, every figure of the run_stats view (described there);
-- per run group alone with pool_agent_types := true (run_stats_overall).
-- by_task is read three times and computed once (DuckDB materializes a CTE used more than once).
CREATE OR REPLACE MACRO stats_by_run(ids, pool_agent_types := false) AS TABLE
WITH by_task AS (
    SELECT * FROM stats_by_task(ids, pool_agent_types := pool_agent_types)
),
task_counts AS (
    SELECT run_group, agent_type,
           count(*) AS tasks,
           sum(tries)::BIGINT AS tries,
           min(tries) AS min_tries,
           max(tries) AS max_tries,
           sum(successes)::BIGINT AS successes,
           avg(success_rate) AS pass_at_1
    FROM by_task
    GROUP BY run_group, agent_type
),
metric_values AS (
    SELECT run_group, agent_type,
           max(mean) FILTER (WHERE metric = 'success') AS success_rate,
           max(mean_var) FILTER (WHERE metric = 'success') AS success_var,
           max(mean) FILTER (WHERE metric = 'tokens') AS mean_tokens,
           sqrt(max(mean_var) FILTER (WHERE metric = 'tokens')) AS mean_tokens_se,
           max(mean) FILTER (WHERE metric = 'duration_ms') AS mean_duration_ms,
           sqrt(max(mean_var) FILTER (WHERE metric = 'duration_ms')) AS mean_duration_ms_se,
           max(mean) FILTER (WHERE metric = 'cost_usd') AS mean_cost_usd,
           sqrt(max(mean_var) FILTER (WHERE metric = 'cost_usd')) AS mean_cost_usd_se,
           max(mean) FILTER (WHERE metric = 'energy_wh') AS mean_energy_wh,
           sqrt(max(mean_var) FILTER (WHERE metric = 'energy_wh')) AS mean_energy_wh_se
    FROM stats_run_values(ids, pool_agent_types := pool_agent_types)
    GROUP BY run_group, agent_type
),
pass_lists AS (  -- stats_pass_at_k's rows as lists (the same averages, over by_task)
    SELECT run_group, agent_type,
           list(pass_at_k ORDER BY k) AS pass_at_k,
           list(pass_hat_k ORDER BY k) AS pass_hat_k
    FROM (
        SELECT run_group, agent_type, k,
               avg(pass_at_k(tries, successes, k)) AS pass_at_k,
               avg(pass_hat_k(tries, successes, k)) AS pass_hat_k
        FROM (SELECT *, unnest(range(1, tries + 1)) AS k FROM by_task)
        GROUP BY run_group, agent_type, k
    )
    GROUP BY run_group, agent_type
),
statuses AS (
    SELECT g.run_group,
           CASE
               WHEN bool_or(i.status = 'running') THEN 'running'
               WHEN count(i.run_id) < count(*) THEN 'unknown'
               WHEN count(DISTINCT i.status) = 1 THEN any_value(i.status)
               ELSE 'mixed'
           END AS run_status
    FROM (
        SELECT run_group, unnest(CASE WHEN ids IS NULL THEN [run_group] ELSE run_id_list(ids) END) AS run_id
        FROM (SELECT DISTINCT run_group FROM by_task)
    ) AS g
    LEFT JOIN run_info AS i USING (run_id)
    GROUP BY g.run_group
),
rates AS (
    SELECT c.*, m.* EXCLUDE (run_group, agent_type),
           effective_tries(m.success_rate, c.tasks, c.tries, m.success_var) AS effective_tries
    FROM task_counts AS c
    JOIN metric_values AS m USING (run_group, agent_type)
)
SELECT
    r.run_group AS run_id,
    r.agent_type,
    s.run_status,
    r.tasks,
    r.tries,
    r.min_tries,
    r.max_tries,
    r.successes,
    r.success_rate,
    sqrt(r.success_var) AS success_rate_se,
    wilson_low(r.success_rate, r.effective_tries) AS success_rate_ci_low,
    wilson_high(r.success_rate, r.effective_tries) AS success_rate_ci_high,
    CASE WHEN r.max_tries = 1 OR r.tasks = 1 THEN 'wilson' ELSE 'wilson_clustered' END AS success_rate_ci_method,
    r.effective_tries,
    r.pass_at_1,
    p.pass_at_k,
    p.pass_hat_k,
    r.mean_tokens,
    r.mean_tokens_se,
    r.mean_duration_ms,
    r.mean_duration_ms_se,
    r.mean_cost_usd,
    r.mean_cost_usd_se,
    r.mean_energy_wh,
    r.mean_energy_wh_se
FROM rates AS r
JOIN pass_lists AS p USING (run_group, agent_type)
JOIN statuses AS s USING (run_group);

-- task_stats: one row per run, agent type and task: tries (executions of the task: --repeats N gives
-- N), successes, success_rate = successes / tries, and the mean tokens, duration (ms), cost (USD) and
-- GPU energy (Wh) over those tries.
CREATE OR REPLACE VIEW task_stats AS
SELECT run_group AS run_id, * EXCLUDE (run_group, task_definition, task_definitions)
FROM stats_by_task(NULL);

-- run_stats: one row per run and agent type.
--   tasks, tries, min_tries, max_tries   tries per task: max_tries is the run's --repeats; min_tries is
--                                        less when the run stopped (or is still running) before every
--                                        task had all its tries
--   success_rate                         successes / tries (the leaderboard's rate, as a fraction)
--   success_rate_se                      its task-clustered standard error (clustered_mean_var)
--   success_rate_ci_low / _high          95% interval: Wilson's over the effective number of tries
--                                        (effective_tries); success_rate_ci_method is 'wilson' when
--                                        every task ran once (plain Wilson over the tasks), else
--                                        'wilson_clustered'
--   pass_at_1                            the mean over tasks of each task's success fraction (equal to
--                                        success_rate when every task has the same number of tries)
--   pass_at_k, pass_hat_k                lists, element k = pass@k (Chen et al. 2021) and pass^k
--                                        (τ-bench) for k = 1..max_tries (run_pass_at_k has them as rows)
--   mean_tokens, mean_duration_ms, mean_cost_usd, mean_energy_wh and their _se: means over tries with
--                                        task-clustered standard errors (NULL cost: unknown price; NULL
--                                        energy: no GPU readings)
--   run_status                           run_info's status: 'running' means the numbers are provisional
CREATE OR REPLACE VIEW run_stats AS
SELECT * FROM stats_by_run(NULL);

-- run_stats_overall: one row per run, its agent types together (stats_tries' pool_agent_types): the same
-- columns as run_stats but agent_type. For a run of one agent type it is that agent type's run_stats
-- row. The leaderboard (one row per run) shows these figures.
CREATE OR REPLACE VIEW run_stats_overall AS
SELECT * EXCLUDE (agent_type) FROM stats_by_run(NULL, pool_agent_types := true);

-- run_pass_at_k: one row per run, agent type and k = 1..max tries: pass@k and pass^k over the `tasks`
-- that have at least k tries.
CREATE OR REPLACE VIEW run_pass_at_k AS
SELECT run_group AS run_id, * EXCLUDE (run_group)
FROM stats_pass_at_k(NULL);

-- The same for several runs of one configuration pooled (their tries of each task added up), e.g.
--   SELECT * FROM run_group_stats('id1,id2,id3')
-- run_id is then the canonical list of the pooled runs ('id1,id2,id3').
CREATE OR REPLACE MACRO run_group_stats(ids) AS TABLE
SELECT * FROM stats_by_run(coalesce(ids, ''));
CREATE OR REPLACE MACRO run_group_task_stats(ids) AS TABLE
SELECT run_group AS run_id, * EXCLUDE (run_group, task_definition, task_definitions)
FROM stats_by_task(coalesce(ids, ''));
CREATE OR REPLACE MACRO run_group_pass_at_k(ids) AS TABLE
SELECT run_group AS run_id, * EXCLUDE (run_group)
FROM stats_pass_at_k(coalesce(ids, ''));
