-- gpu_run_summary: one row per run with GPU samples.
--   avg_* / max_*  over every sample of every GPU (a GPU-sample is one observation; NULL readings are
--                  not observations), so avg_gpu_power_watts is the mean draw of one GPU, and
--                  max_gpu_memory_used_mib the peak on any single GPU.
--   total_*        energy, CO2 and cost: each GPU's final cumulative value (its latest sample that has
--                  one), summed over GPUs. Never a sum over samples: the values are already cumulative.
--                  NULL when no GPU of the run could measure energy (no power sensor, or an API model).
--   gpu_memory_total_mib  the memory of all the run's GPUs together.
CREATE OR REPLACE VIEW gpu_run_summary AS
WITH per_gpu AS (
    SELECT
        run_id,
        gpu_index,
        gpu_uuid,
        max(gpu_memory_total_mib) AS memory_total_mib,
        arg_max(gpu_energy_wh, "timestamp") FILTER (WHERE gpu_energy_wh IS NOT NULL)        AS energy_wh,
        arg_max(co2_emissions_gco2e, "timestamp") FILTER (WHERE co2_emissions_gco2e IS NOT NULL) AS co2_gco2e,
        arg_max(power_cost_usd, "timestamp") FILTER (WHERE power_cost_usd IS NOT NULL)      AS cost_usd
    FROM gpu_metrics
    GROUP BY run_id, gpu_index, gpu_uuid
),
per_run_gpus AS (
    SELECT
        run_id,
        count(*) AS gpu_count,
        sum(memory_total_mib) AS gpu_memory_total_mib,
        sum(energy_wh) AS total_energy_wh,
        sum(co2_gco2e) AS total_co2_emissions_gco2e,
        sum(cost_usd) AS total_power_cost_usd
    FROM per_gpu
    GROUP BY run_id
),
per_run_samples AS (
    SELECT
        run_id,
        count(DISTINCT "timestamp") AS sample_count,
        min("timestamp") AS first_sample_at,
        max("timestamp") AS last_sample_at,
        avg(gpu_utilization_percent) AS avg_gpu_utilization_percent,
        max(gpu_utilization_percent) AS max_gpu_utilization_percent,
        avg(gpu_memory_used_mib) AS avg_gpu_memory_used_mib,
        max(gpu_memory_used_mib) AS max_gpu_memory_used_mib,
        avg(gpu_temperature_celsius) AS avg_gpu_temperature_celsius,
        max(gpu_temperature_celsius) AS max_gpu_temperature_celsius,
        avg(gpu_power_watts) AS avg_gpu_power_watts,
        max(gpu_power_watts) AS max_gpu_power_watts
    FROM gpu_metrics
    GROUP BY run_id
)
SELECT
    s.run_id,
    g.gpu_count,
    s.sample_count,
    s.first_sample_at,
    s.last_sample_at,
    s.avg_gpu_utilization_percent,
    s.max_gpu_utilization_percent,
    s.avg_gpu_memory_used_mib,
    s.max_gpu_memory_used_mib,
    g.gpu_memory_total_mib,
    s.avg_gpu_temperature_celsius,
    s.max_gpu_temperature_celsius,
    s.avg_gpu_power_watts,
    s.max_gpu_power_watts,
    g.total_energy_wh,
    g.total_co2_emissions_gco2e,
    g.total_power_cost_usd
FROM per_run_samples AS s
JOIN per_run_gpus AS g USING (run_id);
