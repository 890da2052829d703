"""What the GPU sampler emits: metric names, units, instruments, attributes, and the OTLP batch.

One set of names on the wire, no duplicates:

- the OpenTelemetry hardware semantic conventions where they define the quantity (status
  "development"; https://opentelemetry.io/docs/specs/semconv/hardware/gpu/ and .../hardware/common/):
  ``hw.gpu.utilization`` (gauge, 1 = fraction), ``hw.gpu.memory.usage`` and ``hw.gpu.memory.limit``
  (UpDownCounter, By), ``hw.temperature`` (gauge, Cel), ``hw.power`` (gauge, W), ``hw.energy``
  (Counter, J), each with ``hw.type=gpu`` and ``hw.id``;
- SMOLTRACE's names where no convention exists: ``gen_ai.co2.emissions`` (cumulative, gCO2e) and
  ``gen_ai.power.cost`` (cumulative, USD), with SMOLTRACE's units.

SMOLTRACE's other names (``gen_ai.gpu.utilization`` in %, ``gen_ai.gpu.memory.used`` in MiB, ...) are
*view aliases*, not a second emission: ``gpu_metric_points`` lists every point under both names and
units, and ``gpu_metrics`` has SMOLTRACE's flat columns. Emitting both sets would store every reading
twice, invite double counting by anyone summing "all power metrics", and leave two unit conventions for
the same number; a view converts once, in one place, and can be fixed for every past run.

Not emitted: ``hw.gpu.io`` (a byte counter; NVML only offers PCIe throughput sampled over 20 ms, which
cannot be integrated into bytes honestly) and ``hw.gpu.memory.utilization`` (used / limit, derivable).

Why the batch is built here rather than through SDK instruments: the SDK stamps each data point with the
time of collection and an observable callback cannot carry a timestamp, but every sample must land as its
own point *at the sample's time* (one row per run × GPU × sample time, comparable with nvidia-smi and
across GPUs). With exactly one value per series per sample there is nothing for the SDK's aggregation to
do, so the sampler builds the SDK's own ``MetricsData`` and hands it to a standard ``MetricExporter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

SCOPE_NAME = "smoltrace.gpu"

GAUGE = "gauge"
UPDOWN = "updowncounter"  # non-monotonic cumulative sum
COUNTER = "counter"  # monotonic cumulative sum


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    instrument: str
    description: str


UTILIZATION = MetricSpec("hw.gpu.utilization", "1", GAUGE, "Fraction of time one or more kernels ran on the GPU")
MEMORY_USAGE = MetricSpec("hw.gpu.memory.usage", "By", UPDOWN, "GPU memory used")
MEMORY_LIMIT = MetricSpec("hw.gpu.memory.limit", "By", UPDOWN, "Size of the GPU memory")
TEMPERATURE = MetricSpec("hw.temperature", "Cel", GAUGE, "GPU die temperature")
POWER = MetricSpec("hw.power", "W", GAUGE, "Instantaneous power drawn by the GPU")
ENERGY = MetricSpec("hw.energy", "J", COUNTER, "Energy consumed by the GPU since sampling began")
CO2 = MetricSpec("gen_ai.co2.emissions", "gCO2e", COUNTER, "Cumulative CO2-equivalent emissions of the GPU's energy")
COST = MetricSpec("gen_ai.power.cost", "USD", COUNTER, "Cumulative electricity cost of the GPU's energy")

ALL_METRICS = (UTILIZATION, MEMORY_USAGE, MEMORY_LIMIT, TEMPERATURE, POWER, ENERGY, CO2, COST)


def gpu_attributes(run_id: str, index: int, name: str, uuid: str) -> dict[str, Any]:
    """Attributes on every point: the run, smoltrace's GPU identity, and the semconv ``hw.*`` ones."""
    return {
        "smoltrace.run.id": run_id,
        "gpu.index": index,
        "gpu.name": name,
        "gpu.uuid": uuid,
        "hw.id": uuid,
        "hw.type": "gpu",
        "hw.model": name,
        "hw.vendor": "NVIDIA",
    }


@dataclass(frozen=True)
class Point:
    """One value of one metric for one GPU at one sample time."""

    spec: MetricSpec
    attributes: dict[str, Any]
    value: float
    #: for cumulative sums: when accumulation began (the GPU's first usable sample)
    start_time_ns: int = 0


def build_metrics_data(resource: Resource, scope_version: str, time_ns: int, points: list[Point]) -> MetricsData:
    """One OTLP batch for one sample: every point carries the sample's own time."""
    by_spec: dict[MetricSpec, list[NumberDataPoint]] = {}
    for point in points:
        by_spec.setdefault(point.spec, []).append(
            NumberDataPoint(
                attributes=point.attributes,
                start_time_unix_nano=point.start_time_ns,
                time_unix_nano=time_ns,
                value=point.value,
            )
        )
    metrics = []
    for spec in ALL_METRICS:
        data_points = by_spec.get(spec)
        if not data_points:
            continue
        if spec.instrument == GAUGE:
            data = Gauge(data_points=data_points)
        else:
            data = Sum(
                data_points=data_points,
                aggregation_temporality=AggregationTemporality.CUMULATIVE,
                is_monotonic=spec.instrument == COUNTER,
            )
        metrics.append(Metric(name=spec.name, description=spec.description, unit=spec.unit, data=data))
    scope = InstrumentationScope(SCOPE_NAME, scope_version)
    return MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=resource,
                scope_metrics=[ScopeMetrics(scope=scope, metrics=metrics, schema_url="")],
                schema_url="",
            )
        ]
    )
