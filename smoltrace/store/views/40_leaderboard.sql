-- leaderboard: one row per run and agent type, complete in every output format: the run's identity
-- (run id, model, provider, dataset, status) travels with the aggregates.
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
    round(avg(r.execution_time_ms), 3) AS avg_duration_ms,
    round(sum(r.execution_time_ms), 3) AS total_duration_ms,
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
    runs.smoltrace_version
FROM results AS r
LEFT JOIN runs USING (run_id)
GROUP BY r.run_id, r.model, r.agent_type, r.provider, runs.dataset, runs.dataset_revision, runs.status,
         runs.started_at, runs.smoltrace_version;
