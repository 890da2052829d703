// Every query the pages run, by name, in one place. Values are bound by the query API from the
// `params` object ($name placeholders): no SQL is ever built from user input or from the URL.
//
// Relations read: the views runs (and its macro latest_runs, and run_info), leaderboard_by_agent_type_totals, results, steps, llm_calls, tool_calls, gpu_metrics and
// task_gpu_energy, the macros compare_runs and compare_metrics (the Compare page's statistics), and the raw
// otel_traces table (one task's spans, by "TraceId"). Each number shown
// is a column of one of them, or an aggregate written out below in SQL: a run's success rate
// (successful_tasks / completed_tasks of `runs`, rounded as the leaderboard rounds it), its totals
// over agent types (sums of its leaderboard rows), and each GPU's averages and maxima over its samples.

const RUN_COLUMNS = `run_id, model, provider, dataset, dataset_revision, agent_types, status, planned_tasks,
    completed_tasks, successful_tasks, started_at, finished_at, duration_ms, max_steps, smoltrace_version,
    CASE WHEN completed_tasks > 0 THEN round(100.0 * successful_tasks / completed_tasks, 2) END AS success_rate`;

const LEADERBOARD_COLUMNS = `run_id, model, agent_type, provider, dataset, dataset_revision, total_tests,
    successful_tests, failed_tests, success_rate, tool_called_rate, correct_tool_rate, final_answer_rate,
    avg_steps, avg_duration_ms, total_duration_ms, prompt_tokens, completion_tokens, total_tokens,
    avg_tokens_per_test, total_cost_usd, max_steps_reached, timeouts, errors, interrupted, run_status,
    evaluation_date, gpu_count, avg_gpu_utilization_percent, max_gpu_memory_used_mib, avg_gpu_power_watts,
    total_energy_wh, co2_emissions_gco2e, power_cost_usd`;

export const QUERIES = {
  // Runs page: the newest $limit runs, with their totals over agent types (the leaderboard's sums).
  runs: {
    limit: 1000,
    sql: `
WITH page AS (  -- latest_runs: the newest runs chosen before their tasks are counted
    SELECT ${RUN_COLUMNS}
    FROM latest_runs($limit)
),
totals AS (  -- the sums of the leaderboard rows of each run (one per agent type): the same numbers
    SELECT b.run_id, sum(b.total_tokens)::BIGINT AS total_tokens, sum(b.total_cost_usd) AS total_cost_usd,
           sum(b.total_energy_wh) AS total_energy_wh
    FROM leaderboard_by_agent_type_totals AS b JOIN page USING (run_id)
    GROUP BY b.run_id
)
SELECT page.*, totals.total_tokens, totals.total_cost_usd, totals.total_energy_wh
FROM page LEFT JOIN totals USING (run_id)
ORDER BY started_at DESC NULLS LAST, run_id`,
  },

  // Run pickers (Compare): identity only, no aggregates.
  run_choices: {
    limit: 500,
    sql: `
SELECT run_id, model, agent_types, status, started_at
FROM run_info
ORDER BY started_at DESC NULLS LAST, run_id
LIMIT 500`,
  },

  // Leaderboard page: the columns it shows, every row (sorted and filtered in the page).
  leaderboard: {
    limit: 20000,
    sql: `
SELECT run_id, model, agent_type, provider, dataset, success_rate, tool_called_rate, correct_tool_rate,
       final_answer_rate, total_tests, avg_steps, avg_duration_ms, total_tokens, avg_tokens_per_test,
       total_cost_usd, total_energy_wh, co2_emissions_gco2e, run_status, evaluation_date
FROM leaderboard_by_agent_type_totals
ORDER BY evaluation_date DESC NULLS LAST, run_id, agent_type
LIMIT 20000`,
  },

  run: {
    sql: `SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $run_id`,
  },

  run_leaderboard: {
    sql: `SELECT ${LEADERBOARD_COLUMNS} FROM leaderboard_by_agent_type_totals WHERE run_id = $run_id ORDER BY agent_type`,
  },

  run_tasks: {
    limit: 100000,
    sql: `
SELECT trace_id, task_id, task_uid, agent_type, difficulty, category, success, tool_called, correct_tool,
       final_answer_called, response_correct, stop_reason, steps, total_tokens, execution_time_ms, cost_usd,
       start_time
FROM results
WHERE run_id = $run_id
ORDER BY start_time, task_uid`,
  },

  run_task_energy: {
    limit: 100000,
    sql: `SELECT trace_id, gpu_energy_wh FROM task_gpu_energy WHERE run_id = $run_id`,
  },

  task: {
    sql: `
SELECT run_id, model, provider, agent_type, task_id, task_uid, difficulty, category, prompt, expected_tool,
       expected_tool_calls, expected_keywords, tools_used, tool_called, correct_tool, final_answer_called,
       response_correct, success, steps, llm_calls, response, expected_answer, error, stop_reason, trace_id,
       execution_time_ms, prompt_tokens, completion_tokens, total_tokens, cost_usd, start_time
FROM results
WHERE trace_id = $trace_id`,
  },

  // The task's trace, raw: every span once (a span stored twice is shown once), times relative to the
  // trace's first span so that they stay exact in JavaScript numbers.
  task_spans: {
    limit: 100000,
    sql: `
SELECT "SpanId" AS span_id, "ParentSpanId" AS parent_span_id, "SpanName" AS name, "SpanKind" AS kind,
       "ScopeName" AS scope, "StatusCode" AS status_code, "StatusMessage" AS status_message,
       (epoch_ns("Timestamp") - min(epoch_ns("Timestamp")) OVER ()) / 1e6 AS start_ms,
       "Duration" / 1e6 AS duration_ms,
       "SpanAttributes" AS attributes, "Events" AS events
FROM otel_traces
WHERE "TraceId" = $trace_id
QUALIFY row_number() OVER (PARTITION BY "SpanId" ORDER BY "Timestamp") = 1
ORDER BY "Timestamp", "SpanId"`,
  },

  task_steps: {
    limit: 100000,
    sql: `
SELECT span_id, step_number, duration_ms, status_code, status_message, llm_calls, total_tokens, tools_called
FROM steps
WHERE trace_id = $trace_id
ORDER BY start_time, step_number`,
  },

  task_llm_calls: {
    limit: 100000,
    sql: `
SELECT span_id, step_span_id, span_name, model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd,
       duration_ms, status_code
FROM llm_calls
WHERE trace_id = $trace_id
ORDER BY start_time`,
  },

  task_tool_calls: {
    limit: 100000,
    sql: `
SELECT span_id, step_span_id, tool_name, arguments, output, is_final_answer, duration_ms, status_code,
       status_message
FROM tool_calls
WHERE trace_id = $trace_id
ORDER BY start_time`,
  },

  task_energy: {
    sql: `
SELECT gpu_energy_wh, co2_emissions_gco2e, power_cost_usd
FROM task_gpu_energy
WHERE run_id = $run_id AND trace_id = $trace_id`,
  },

  // Compare: both runs' task executions; flips are computed from these rows (execution by execution:
  // task_uid and try, so that try i of a task in A meets try i of it in B).
  compare_tasks: {
    limit: 200000,
    sql: `
SELECT run_id, trace_id, task_uid, task_id, agent_type, coalesce(repeat_index, 0) AS repeat_index, success,
       stop_reason, steps, total_tokens, execution_time_ms, cost_usd
FROM results
WHERE run_id IN ($a, $b)
ORDER BY task_uid, repeat_index, start_time`,
  },

  compare_totals: {
    sql: `SELECT ${LEADERBOARD_COLUMNS} FROM leaderboard_by_agent_type_totals WHERE run_id IN ($a, $b) ORDER BY agent_type, run_id`,
  },

  // Compare: the comparison statistics (store/views/36_stats_compare.sql), per agent type: whether the runs
  // can be compared and why not (notes), whether one is still running, the paired tasks, the success-rate
  // difference with its 95% interval, the paired test and its p-value.
  compare_summary: {
    sql: `
SELECT agent_type, comparable, in_progress, notes, a_status, b_status, paired_tasks, only_in_a, only_in_b,
       changed_tasks, tasks_up, tasks_down, tasks_same, a_min_tries, a_max_tries, b_min_tries, b_max_tries,
       a_success_rate, b_success_rate, success_rate_diff, success_rate_diff_ci_low, success_rate_diff_ci_high,
       test, p_value
FROM compare_runs($a, $b)
ORDER BY agent_type`,
  },

  // Compare: per agent type and metric (success, tokens, duration_ms, cost_usd, energy_wh), each side's mean
  // over the paired tasks, B − A with its 95% interval, the tasks up and down, the test and its p-value.
  compare_metrics: {
    sql: `
SELECT agent_type, metric, tasks, a_value, b_value, difference, difference_se, ci_low, ci_high, tasks_up,
       tasks_down, test, p_value
FROM compare_metrics($a, $b)
ORDER BY agent_type, metric`,
  },

  // GPU page: the run's samples per GPU, and its tasks as time bands.
  gpu_samples: {
    limit: 500000,
    sql: `
SELECT gpu_index, gpu_name, gpu_uuid, "timestamp", epoch_us("timestamp") / 1e3 AS t_ms,
       gpu_utilization_percent, gpu_memory_used_mib, gpu_memory_total_mib, gpu_power_watts,
       gpu_temperature_celsius, gpu_energy_wh
FROM gpu_metrics
WHERE run_id = $run_id
ORDER BY "timestamp", gpu_index`,
  },

  gpu_per_gpu: {
    sql: `
SELECT gpu_index, any_value(gpu_name) AS gpu_name, count(*) AS samples,
       avg(gpu_utilization_percent) AS avg_gpu_utilization_percent,
       max(gpu_utilization_percent) AS max_gpu_utilization_percent,
       max(gpu_memory_used_mib) AS max_gpu_memory_used_mib, max(gpu_memory_total_mib) AS gpu_memory_total_mib,
       avg(gpu_power_watts) AS avg_gpu_power_watts, max(gpu_power_watts) AS max_gpu_power_watts,
       max(gpu_temperature_celsius) AS max_gpu_temperature_celsius,
       arg_max(gpu_energy_wh, "timestamp") FILTER (WHERE gpu_energy_wh IS NOT NULL) AS gpu_energy_wh
FROM gpu_metrics
WHERE run_id = $run_id
GROUP BY gpu_index
ORDER BY gpu_index`,
  },

  gpu_tasks: {
    limit: 100000,
    sql: `
SELECT trace_id, task_uid, success, epoch_us(start_time) / 1e3 AS start_ms, execution_time_ms
FROM results
WHERE run_id = $run_id
ORDER BY start_time`,
  },
};
