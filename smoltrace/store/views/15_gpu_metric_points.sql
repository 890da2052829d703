-- gpu_metric_points: every GPU data point the sampler (smoltrace.gpu) exported, one row per
-- run × GPU × sample time × metric, under both names and units:
--   otel_metric_name / otel_unit / otel_value  as stored (OTel hardware semantic conventions, SI units)
--   metric_name / unit / value                 SMOLTRACE's name and unit (gen_ai.gpu.*, %, MiB, Wh, ...)
-- The gen_ai.* names are aliases defined here, not a second emission (see smoltrace/gpu/metrics.py).
--
-- Only points with hw.type = 'gpu', a gpu.index and a run id count, and only in the unit the mapping
-- expects: a point in another unit is left out rather than converted wrongly.
-- A request stored twice must not count twice: the GROUP BY keeps one point per
-- (run, GPU, time, metric) whatever the number of stored copies.
CREATE OR REPLACE VIEW gpu_metric_points AS
WITH mapping (otel_metric_name, otel_unit, metric_name, unit, multiply_by, divide_by, round_to) AS (
    VALUES
        -- NVML reports whole percents; the fraction ×100 is rounded to drop binary noise (0.29*100).
        ('hw.gpu.utilization',   '1',     'gen_ai.gpu.utilization',  '%',     100.0, 1.0,       6),
        ('hw.gpu.memory.usage',  'By',    'gen_ai.gpu.memory.used',  'MiB',   1.0,   1048576.0, NULL),
        ('hw.gpu.memory.limit',  'By',    'gen_ai.gpu.memory.total', 'MiB',   1.0,   1048576.0, NULL),
        ('hw.temperature',       'Cel',   'gen_ai.gpu.temperature',  'Cel',   1.0,   1.0,       NULL),
        ('hw.power',             'W',     'gen_ai.gpu.power',        'W',     1.0,   1.0,       NULL),
        -- SMOLTRACE has no energy metric; smoltrace adds one in its unit of choice, Wh (1 Wh = 3600 J).
        ('hw.energy',            'J',     'gen_ai.gpu.energy',       'Wh',    1.0,   3600.0,    NULL),
        ('gen_ai.co2.emissions', 'gCO2e', 'gen_ai.co2.emissions',    'gCO2e', 1.0,   1.0,       NULL),
        ('gen_ai.power.cost',    'USD',   'gen_ai.power.cost',       'USD',   1.0,   1.0,       NULL)
),
stored AS (
    SELECT "MetricName", "MetricUnit", "Attributes", "ResourceAttributes", "TimeUnix", "Value"
    FROM otel_metrics_gauge
    UNION ALL
    SELECT "MetricName", "MetricUnit", "Attributes", "ResourceAttributes", "TimeUnix", "Value"
    FROM otel_metrics_sum
),
points AS (
    SELECT
        coalesce(s."Attributes"->>'smoltrace.run.id', s."ResourceAttributes"->>'smoltrace.run.id') AS run_id,
        s."TimeUnix" AS "timestamp",
        CAST(s."Attributes"->>'gpu.index' AS INTEGER) AS gpu_index,
        s."Attributes"->>'gpu.name' AS gpu_name,
        s."Attributes"->>'gpu.uuid' AS gpu_uuid,
        s."MetricName" AS otel_metric_name,
        s."MetricUnit" AS otel_unit,
        max(s."Value") AS otel_value
    FROM stored AS s
    JOIN mapping AS m ON m.otel_metric_name = s."MetricName" AND m.otel_unit = s."MetricUnit"
    WHERE s."Attributes"->>'hw.type' = 'gpu'
      AND s."Attributes"->>'gpu.index' IS NOT NULL
      AND coalesce(s."Attributes"->>'smoltrace.run.id', s."ResourceAttributes"->>'smoltrace.run.id') IS NOT NULL
    GROUP BY ALL
)
SELECT
    p.run_id,
    p."timestamp",
    p.gpu_index,
    p.gpu_name,
    p.gpu_uuid,
    m.metric_name,
    m.unit,
    CASE
        WHEN m.round_to IS NULL THEN p.otel_value * CAST(m.multiply_by AS DOUBLE) / CAST(m.divide_by AS DOUBLE)
        ELSE round(p.otel_value * CAST(m.multiply_by AS DOUBLE) / CAST(m.divide_by AS DOUBLE), m.round_to)
    END AS value,
    p.otel_metric_name,
    p.otel_unit,
    p.otel_value
FROM points AS p
JOIN mapping AS m USING (otel_metric_name, otel_unit);
