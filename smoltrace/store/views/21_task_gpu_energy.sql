-- task_gpu_energy: the GPU energy, CO2 and power cost of each task execution (join results on
-- trace_id), so that a run that evaluates several agent types (or overlapping tasks) does not charge
-- the whole run to each of them.
--
-- Each GPU's cumulative series (gpu_metrics' energy, CO2 and cost columns) is cut into sampling intervals: the energy between two
-- consecutive samples that have a reading. An interval's energy goes to the tasks of the same run
-- that overlap it, in proportion to their seconds inside it: a task alone for half an interval gets
-- half its energy (the idle half stays unattributed); tasks running in parallel share it, and never
-- get more than the interval's energy in total. Energy outside every task (model loading, the gaps
-- between tasks) is in gpu_run_summary's totals only. Sums over every GPU of the run. Every task of a
-- run with energy readings has a row (0 when no interval overlaps it); runs without have none.
CREATE OR REPLACE VIEW task_gpu_energy AS
WITH readings AS (  -- gpu_metrics' three cumulative columns, read from the points of those metrics only
    SELECT run_id, gpu_index, epoch_ns("timestamp") / 1e9 AS at_s,
           max(value) FILTER (WHERE otel_metric_name = 'hw.energy')            AS gpu_energy_wh,
           max(value) FILTER (WHERE otel_metric_name = 'gen_ai.co2.emissions') AS co2_emissions_gco2e,
           max(value) FILTER (WHERE otel_metric_name = 'gen_ai.power.cost')    AS power_cost_usd
    FROM gpu_metric_points
    WHERE otel_metric_name IN ('hw.energy', 'gen_ai.co2.emissions', 'gen_ai.power.cost')
    GROUP BY run_id, gpu_index, "timestamp"
    HAVING gpu_energy_wh IS NOT NULL
),
intervals AS (
    SELECT run_id, gpu_index,
           lag(at_s) OVER gpu_series AS start_s,
           at_s AS end_s,
           gpu_energy_wh - lag(gpu_energy_wh) OVER gpu_series AS energy_wh,
           co2_emissions_gco2e - lag(co2_emissions_gco2e) OVER gpu_series AS co2_gco2e,
           power_cost_usd - lag(power_cost_usd) OVER gpu_series AS cost_usd
    FROM readings
    WINDOW gpu_series AS (PARTITION BY run_id, gpu_index ORDER BY at_s)
),
gpu_runs AS (SELECT DISTINCT run_id FROM readings),
tasks AS (  -- the tasks of runs with energy readings only: the join hands their run ids to the facts scan
    SELECT t.run_id, t.trace_id, t.task_id, t.agent_type,
           epoch_ns(t.start_time) / 1e9 AS start_s,
           epoch_ns(t.start_time) / 1e9 + t.execution_time_ms / 1e3 AS end_s
    FROM task_spans AS t
    JOIN gpu_runs USING (run_id)
),
task_overlaps AS (
    SELECT i.run_id, i.gpu_index, i.end_s AS interval_end_s, i.end_s - i.start_s AS interval_s,
           i.energy_wh, i.co2_gco2e, i.cost_usd, t.trace_id, t.task_id, t.agent_type,
           least(t.end_s, i.end_s) - greatest(t.start_s, i.start_s) AS overlap_s
    FROM intervals AS i
    JOIN tasks AS t ON t.run_id = i.run_id AND t.start_s < i.end_s AND t.end_s > i.start_s
    WHERE i.start_s IS NOT NULL AND i.end_s > i.start_s
),
shares AS (
    SELECT *,
           overlap_s / greatest(interval_s, sum(overlap_s) OVER (PARTITION BY run_id, gpu_index, interval_end_s))
               AS share
    FROM task_overlaps
)
SELECT
    t.run_id,
    t.trace_id,
    any_value(t.task_id) AS task_id,
    any_value(t.agent_type) AS agent_type,
    coalesce(sum(s.energy_wh * s.share), 0.0) AS gpu_energy_wh,
    coalesce(sum(s.co2_gco2e * s.share), 0.0) AS co2_emissions_gco2e,
    coalesce(sum(s.cost_usd * s.share), 0.0) AS power_cost_usd
FROM tasks AS t
LEFT JOIN shares AS s ON s.run_id = t.run_id AND s.trace_id = t.trace_id
GROUP BY t.run_id, t.trace_id;
