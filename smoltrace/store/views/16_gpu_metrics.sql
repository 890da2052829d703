-- gpu_metrics: SMOLTRACE's flattened GPU time series, one row per run × GPU × sample time, one
-- column per metric. A NULL is "no reading" (a GPU without a power sensor, a reading that failed),
-- never zero. Energy, CO2 and cost are cumulative per GPU since that GPU's first usable sample.
CREATE OR REPLACE VIEW gpu_metrics AS
SELECT
    run_id,
    "timestamp",
    gpu_index,
    gpu_name,
    gpu_uuid,
    max(value) FILTER (WHERE otel_metric_name = 'hw.gpu.utilization')   AS gpu_utilization_percent,
    max(value) FILTER (WHERE otel_metric_name = 'hw.gpu.memory.usage')  AS gpu_memory_used_mib,
    max(value) FILTER (WHERE otel_metric_name = 'hw.gpu.memory.limit')  AS gpu_memory_total_mib,
    max(value) FILTER (WHERE otel_metric_name = 'hw.temperature')       AS gpu_temperature_celsius,
    max(value) FILTER (WHERE otel_metric_name = 'hw.power')             AS gpu_power_watts,
    max(value) FILTER (WHERE otel_metric_name = 'hw.energy')            AS gpu_energy_wh,
    max(value) FILTER (WHERE otel_metric_name = 'gen_ai.co2.emissions') AS co2_emissions_gco2e,
    max(value) FILTER (WHERE otel_metric_name = 'gen_ai.power.cost')    AS power_cost_usd
FROM gpu_metric_points
GROUP BY run_id, "timestamp", gpu_index, gpu_name, gpu_uuid;
