-- leaderboard_by_rule: SMOLTRACE's leaderboard row (utils.compute_leaderboard_row, 0.1.1), one per run
-- and scoring rule, where a task succeeds when the rule passes it (rule_results). `leaderboard` below is
-- this view under the built-in rule; a user's rule (smoltrace-rules) gives every run a row under it too.
--
-- SMOLTRACE's fields first, with its names, roundings and meanings, except where it computes them
-- wrongly: agent_type is 'both' for a run of both agent types; timestamp is the run's start (SMOLTRACE:
-- when the row was computed); durations are root-span durations and tokens are counted once; CO2 and
-- power cost are the run's GPU totals (NULL, not 0, without GPU readings; cost NULL when the model's
-- price is unknown). submitted_by and the *_dataset names are the Hub's: NULL here, filled in when a run
-- is published (or written to JSON files: local:<path>). Extra columns follow SMOLTRACE's.
-- Durations and costs are summed with compensated summation (fsum/favg): a plain float sum depends on the
-- row order, and its last bits decided how a total rounded.
CREATE OR REPLACE VIEW leaderboard_by_rule AS
WITH scored AS (
    SELECT
        rule,
        run_id,
        any_value(model) AS model,
        any_value(provider) AS provider,
        list(DISTINCT agent_type ORDER BY agent_type) AS task_agent_types,
        min(start_time) AS first_task_at,
        count(*) AS total_tests,
        count(*) FILTER (WHERE passed) AS successful_tests,
        count(*) FILTER (WHERE tool_called) AS tool_called_tests,
        count(*) FILTER (WHERE correct_tool) AS correct_tool_tests,
        count(*) FILTER (WHERE final_answer_called) AS final_answer_tests,
        count(*) FILTER (WHERE response_correct) AS response_correct_tests,
        avg(steps) AS avg_steps,
        favg(execution_time_ms) AS avg_duration_ms,
        fsum(execution_time_ms) AS total_duration_ms,
        sum(prompt_tokens)::BIGINT AS prompt_tokens,
        sum(completion_tokens)::BIGINT AS completion_tokens,
        sum(total_tokens)::BIGINT AS total_tokens,
        fsum(cost_usd) AS total_cost_usd,
        count(*) FILTER (WHERE stop_reason = 'max_steps') AS max_steps_reached,
        count(*) FILTER (WHERE stop_reason = 'timeout') AS timeouts,
        count(*) FILTER (WHERE stop_reason = 'error') AS errors,
        count(*) FILTER (WHERE stop_reason = 'interrupted') AS interrupted
    FROM rule_results
    GROUP BY rule, run_id
),
labelled AS (
    SELECT
        s.*,
        i.dataset, i.dataset_revision, i.dataset_split, i.status, i.planned_tasks, i.smoltrace_version,
        i.use_case, i.team, i.purpose, i.suite_version,
        -- 'both' when the run was asked for both agent types (run_info), or holds tasks of both
        CASE WHEN len(s.task_agent_types) > 1 OR i.agent_types LIKE '%,%' THEN 'both' ELSE s.task_agent_types[1] END
            AS agent_type,
        coalesce(i.started_at, s.first_task_at) AS run_started_at,
        coalesce(i.model, s.model) AS run_model,
        coalesce(i.provider, s.provider) AS run_provider
    FROM scored AS s
    LEFT JOIN run_info AS i USING (run_id)
)
SELECT
    l.run_id,
    l.run_model AS model,
    l.agent_type,
    l.run_provider AS provider,
    l.run_started_at AS "timestamp",
    NULL::VARCHAR AS submitted_by,
    NULL::VARCHAR AS results_dataset,
    NULL::VARCHAR AS traces_dataset,
    NULL::VARCHAR AS metrics_dataset,
    l.dataset AS dataset_used,
    l.total_tests,
    l.successful_tests,
    l.total_tests - l.successful_tests AS failed_tests,
    round(100.0 * l.successful_tests / l.total_tests, 2) AS success_rate,
    round(l.avg_steps, 2) AS avg_steps,
    round(l.avg_duration_ms, 2) AS avg_duration_ms,
    round(l.total_duration_ms, 2) AS total_duration_ms,
    l.total_tokens,
    coalesce(l.total_tokens, 0) // l.total_tests AS avg_tokens_per_test,  -- SMOLTRACE's int(): truncated
    round(l.total_cost_usd, 6) AS total_cost_usd,
    round(l.total_cost_usd / l.total_tests, 6) AS avg_cost_per_test_usd,
    round(g.total_co2_emissions_gco2e, 4) AS co2_emissions_g,
    round(g.total_power_cost_usd, 6) AS power_cost_total_usd,
    round(g.avg_gpu_utilization_percent, 2) AS gpu_utilization_avg,
    round(g.max_gpu_utilization_percent, 2) AS gpu_utilization_max,
    round(g.avg_gpu_memory_used_mib, 2) AS gpu_memory_avg_mib,
    round(g.max_gpu_memory_used_mib, 2) AS gpu_memory_max_mib,
    round(g.avg_gpu_temperature_celsius, 2) AS gpu_temperature_avg,
    round(g.max_gpu_temperature_celsius, 2) AS gpu_temperature_max,
    round(g.avg_gpu_power_watts, 2) AS gpu_power_avg_w,
    'Evaluation on ' || coalesce(strftime(l.run_started_at, '%Y-%m-%d'), 'an unknown date') || '; '
        || l.total_tests || ' tests' AS notes,
    -- smoltrace's own columns
    l.rule,
    l.use_case,
    l.team,
    l.purpose,
    l.suite_version,
    l.dataset_revision,
    l.dataset_split,
    l.status AS run_status,
    l.planned_tasks,
    l.smoltrace_version,
    round(100.0 * l.tool_called_tests / l.total_tests, 2) AS tool_called_rate,
    round(100.0 * l.correct_tool_tests / l.total_tests, 2) AS correct_tool_rate,
    round(100.0 * l.final_answer_tests / l.total_tests, 2) AS final_answer_rate,
    round(100.0 * l.response_correct_tests / l.total_tests, 2) AS response_correct_rate,
    l.prompt_tokens,
    l.completion_tokens,
    l.max_steps_reached,
    l.timeouts,
    l.errors,
    l.interrupted,
    g.gpu_count,
    round(g.max_gpu_power_watts, 2) AS gpu_power_max_w,
    g.total_energy_wh
FROM labelled AS l
LEFT JOIN gpu_run_summary AS g USING (run_id);

-- leaderboard_statistics(pooled): the statistics columns both leaderboards end with, from the statistics
-- views' one definition (35_stats.sql: stats_by_run is run_stats, and with pooled true run_stats_overall,
-- the run's agent types together), in the leaderboard's units: rates are percents rounded to 2 digits
-- like its success_rate (run_stats has fractions), standard errors rounded like the means they belong
-- to. Over the tries that were not interrupted (run_stats leaves Ctrl-C'd tries out; total_tests counts
-- them), under SMOLTRACE's verdict (results.success).
--   tasks, min_tries, max_tries            tasks (a both-agents run: each agent type's task counts once)
--                                          and tries per task (max_tries is the run's --repeats)
--   success_rate_se                        the success rate's task-clustered standard error (points)
--   success_rate_ci_low / _high / _method  its 95% interval: 'wilson' (one try per task, or one task) or
--                                          'wilson_clustered' (Wilson over the effective number of tries)
--   pass_at_1, pass_at_k, pass_hat_k       pass@1, and lists with element k = pass@k, pass^k (k = 1..max_tries)
--   mean_tokens_se, mean_duration_ms_se,   standard errors of the mean tokens, duration (ms) and cost (USD)
--   mean_cost_usd_se                       of a try (task-clustered)
CREATE OR REPLACE MACRO leaderboard_statistics(pooled) AS TABLE
SELECT
    run_id,
    CASE WHEN pooled THEN NULL ELSE agent_type END AS agent_type,
    tasks,
    min_tries,
    max_tries,
    round(100 * success_rate_se, 2) AS success_rate_se,
    round(100 * success_rate_ci_low, 2) AS success_rate_ci_low,
    round(100 * success_rate_ci_high, 2) AS success_rate_ci_high,
    success_rate_ci_method,
    round(100 * pass_at_1, 2) AS pass_at_1,
    list_transform(pass_at_k, lambda x: round(100 * x, 2)) AS pass_at_k,
    list_transform(pass_hat_k, lambda x: round(100 * x, 2)) AS pass_hat_k,
    round(mean_tokens_se, 2) AS mean_tokens_se,
    round(mean_duration_ms_se, 2) AS mean_duration_ms_se,
    round(mean_cost_usd_se, 6) AS mean_cost_usd_se
FROM stats_by_run(NULL, pool_agent_types := pooled);

-- leaderboard: SMOLTRACE's leaderboard row, one per run, under SMOLTRACE's verdict (results.success),
-- then the run's statistics (leaderboard_statistics over run_stats_overall: every agent type together).
-- The Hub leaderboard and leaderboard_row.json hold these rows.
CREATE OR REPLACE VIEW leaderboard AS
SELECT l.* EXCLUDE (rule), s.* EXCLUDE (run_id, agent_type)
FROM leaderboard_by_rule AS l
LEFT JOIN leaderboard_statistics(true) AS s USING (run_id)
WHERE l.rule = 'default';

-- leaderboard_by_agent_type_totals: one row per run and agent type, complete in every output format:
-- the run's identity (run id, model, provider, dataset, status) travels with the aggregates.
-- GPU columns: utilization, memory, temperature and power describe the run's GPUs over the whole run
-- (gpu_run_summary); energy, CO2 and power cost are the sum of this agent type's tasks' shares
-- (task_gpu_energy), so the rows of a `--agent-type both` run add up instead of each claiming the whole
-- run. NULL for runs without GPU samples; energy NULL too when no GPU could measure it.
-- It is leaderboard_by_agent_type without the statistics columns, for readers of many runs that do not
-- show them (the web view's pages, Grafana's panels): the statistics group every try of every run they
-- cover, which over a whole store costs more time and memory than everything else here together.
CREATE OR REPLACE VIEW leaderboard_by_agent_type_totals AS
SELECT
    r.run_id,
    r.model,
    r.agent_type,
    r.provider,
    runs.dataset,
    runs.dataset_revision,
    count(*) AS total_tests,
    count(*) FILTER (WHERE r.success) AS successful_tests,
    count(*) FILTER (WHERE NOT r.success) AS failed_tests,
    round(100.0 * count(*) FILTER (WHERE r.success) / count(*), 2) AS success_rate,
    round(100.0 * count(*) FILTER (WHERE r.tool_called) / count(*), 2) AS tool_called_rate,
    round(100.0 * count(*) FILTER (WHERE r.correct_tool) / count(*), 2) AS correct_tool_rate,
    round(100.0 * count(*) FILTER (WHERE r.final_answer_called) / count(*), 2) AS final_answer_rate,
    round(avg(r.steps), 2) AS avg_steps,
    round(favg(r.execution_time_ms), 3) AS avg_duration_ms,
    round(fsum(r.execution_time_ms), 3) AS total_duration_ms,
    sum(r.prompt_tokens)::BIGINT AS prompt_tokens,
    sum(r.completion_tokens)::BIGINT AS completion_tokens,
    sum(r.total_tokens)::BIGINT AS total_tokens,
    round(sum(r.total_tokens) / count(*), 2) AS avg_tokens_per_test,
    fsum(r.cost_usd) AS total_cost_usd,  -- compensated: the same total whatever the row order
    count(*) FILTER (WHERE r.stop_reason = 'max_steps') AS max_steps_reached,
    count(*) FILTER (WHERE r.stop_reason = 'timeout') AS timeouts,
    count(*) FILTER (WHERE r.stop_reason = 'error') AS errors,
    count(*) FILTER (WHERE r.stop_reason = 'interrupted') AS interrupted,
    runs.status AS run_status,
    runs.started_at AS evaluation_date,
    runs.smoltrace_version,
    any_value(g.gpu_count) AS gpu_count,
    any_value(g.avg_gpu_utilization_percent) AS avg_gpu_utilization_percent,
    any_value(g.max_gpu_utilization_percent) AS max_gpu_utilization_percent,
    any_value(g.avg_gpu_memory_used_mib) AS avg_gpu_memory_used_mib,
    any_value(g.max_gpu_memory_used_mib) AS max_gpu_memory_used_mib,
    any_value(g.avg_gpu_temperature_celsius) AS avg_gpu_temperature_celsius,
    any_value(g.max_gpu_temperature_celsius) AS max_gpu_temperature_celsius,
    any_value(g.avg_gpu_power_watts) AS avg_gpu_power_watts,
    any_value(g.max_gpu_power_watts) AS max_gpu_power_watts,
    sum(e.gpu_energy_wh) AS total_energy_wh,
    sum(e.co2_emissions_gco2e) AS co2_emissions_gco2e,
    sum(e.power_cost_usd) AS power_cost_usd
FROM results AS r
LEFT JOIN run_info AS runs USING (run_id)
LEFT JOIN gpu_run_summary AS g USING (run_id)
LEFT JOIN task_gpu_energy AS e ON e.run_id = r.run_id AND e.trace_id = r.trace_id
GROUP BY r.run_id, r.model, r.agent_type, r.provider, runs.dataset, runs.dataset_revision, runs.status,
         runs.started_at, runs.smoltrace_version;

-- leaderboard_by_agent_type: leaderboard_by_agent_type_totals, then the statistics of the run's agent type
-- (leaderboard_statistics over run_stats).
CREATE OR REPLACE VIEW leaderboard_by_agent_type AS
SELECT b.*, s.* EXCLUDE (run_id, agent_type)
FROM leaderboard_by_agent_type_totals AS b
LEFT JOIN leaderboard_statistics(false) AS s USING (run_id, agent_type);
