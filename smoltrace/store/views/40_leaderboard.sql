-- leaderboard: one row per run and agent type, complete in every output format: the run's identity
-- (run id, model, provider, dataset, status) travels with the aggregates.
-- GPU columns: utilization, memory, temperature and power describe the run's GPUs over the whole run
-- (gpu_run_summary); energy, CO2 and power cost are the sum of this agent type's tasks' shares
-- (task_gpu_energy),
-- so the rows of a `--agent-type both` run add up instead of each claiming the whole run. NULL for
-- runs without GPU samples; energy NULL too when no GPU could measure it.
-- Durations are summed with compensated summation (fsum/favg): a plain float sum depends on the row
-- order, and its last bits decided how a total such as 67.4195 ms rounded.
CREATE OR REPLACE VIEW leaderboard AS
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
    sum(r.cost_usd) AS total_cost_usd,
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
