"""The GPU sampler end to end: a fake NVML with two scripted GPUs, the real OTLP/gRPC exporter, a real
embedded collector, and exact assertions on the stored points and the ``gpu_metrics`` /
``gpu_run_summary`` views, the energy integral worked out by hand.

The script (sample times t0 = T0, t1 = T0 + 1 s, t2 = T0 + 2.5 s, t3 = T0 + 4 s; t3 is the final
sample ``stop()`` takes):

    GPU 0 (power sensor, no energy counter -> trapezoid)      GPU 1 (no power sensor at all)
          util  mem MiB  temp  power                                util     mem MiB  temp
    t0     10   1024     40    100 W                                 0       100      30
    t1     29   2048     45    150 W                              Timeout    200      31
    t2     57   4096     50    Unknown Error (skipped)               7       300      32
    t3     55   3072     47    110 W                                14       250      33

GPU 0 energy by hand (trapezoid, the failed t2 reading bridged from t1 to t3):
    t0: 0 J;  t1: (100 + 150) / 2 × 1 s = 125 J;  t2: none;  t3: 125 + (150 + 110) / 2 × 3 s = 515 J.
"""

import json

import pytest
from fake_nvml import NVML_ERROR_TIMEOUT, NVML_ERROR_UNKNOWN, FakeGpu, FakeNvml, NVMLError, Sample
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from smoltrace.gpu import GpuSampler
from smoltrace.store.memory import leaderboard_rows

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z in ns
SECOND = 1_000_000_000
TIMES = [T0, T0 + 1 * SECOND, T0 + 5 * SECOND // 2, T0 + 4 * SECOND]
RUN_ID = "run-gpu-1"
INTENSITY = 400.0  # gCO2e/kWh, not the default: the setting must reach the numbers
PRICE = 0.25  # USD/kWh
MiB = 1024 * 1024

H100 = ("NVIDIA H100 80GB HBM3", "GPU-0a0a0a0a-0000-4000-8000-000000000000", 81559)
GT710 = ("NVIDIA GeForce GT 710", "GPU-1b1b1b1b-0000-4000-8000-000000000001", 2048)

ENERGY_J = {0: 0.0, 1: 125.0, 3: 515.0}  # GPU 0, by sample; GPU 1 has none


def kwh(joules):
    return joules / 3_600_000


def fake_nvml():
    return FakeNvml(
        [
            FakeGpu(*H100, samples=[
                Sample(utilization=10, memory_used_mib=1024, temperature=40, power_mw=100_000),
                Sample(utilization=29, memory_used_mib=2048, temperature=45, power_mw=150_000),
                Sample(utilization=57, memory_used_mib=4096, temperature=50, power_mw=NVMLError(NVML_ERROR_UNKNOWN)),
                Sample(utilization=55, memory_used_mib=3072, temperature=47, power_mw=110_000),
            ]),
            FakeGpu(*GT710, samples=[
                Sample(utilization=0, memory_used_mib=100, temperature=30),
                Sample(utilization=NVMLError(NVML_ERROR_TIMEOUT), memory_used_mib=200, temperature=31),
                Sample(utilization=7, memory_used_mib=300, temperature=32),
                Sample(utilization=14, memory_used_mib=250, temperature=33),
            ]),
        ]
    )  # fmt: skip


class ScriptedClock:
    def __init__(self):
        self.now = TIMES[0]

    def __call__(self):
        return self.now


@pytest.fixture
def recorded_run(otlp_exporter):
    """Drive the sampler through the script: three ``sample_once()`` and the final sample of ``stop()``."""
    nvml, clock = fake_nvml(), ScriptedClock()
    sampler = GpuSampler(
        otlp_exporter, RUN_ID, grid_intensity_gco2_per_kwh=INTENSITY, price_usd_per_kwh=PRICE,
        nvml=nvml, clock=clock, resource_attributes={"host.name": "box-1"},
    )  # fmt: skip
    for step in range(3):
        nvml.step, clock.now = step, TIMES[step]
        sampler.sample_once()
    nvml.step, clock.now = 3, TIMES[3]
    sampler.stop()
    return sampler, nvml


def test_sampler_bookkeeping(recorded_run):
    sampler, nvml = recorded_run
    assert (sampler.samples_taken, sampler.export_failures) == (4, 0)
    assert [(d.index, d.name, d.uuid, d.has_energy_counter) for d in sampler.devices] == [
        (0, H100[0], H100[1], False),
        (1, GT710[0], GT710[1], False),
    ]
    assert {d.memory_info_version for d in sampler.devices} == {nvml.nvmlMemory_v2}
    assert (nvml.init_calls, nvml.shutdown_calls, nvml.initialized) == (1, 1, False)


def test_every_sample_is_stored_as_its_own_point_at_its_own_time(recorded_run, query):
    counts = query(
        """SELECT 'gauge' AS kind, "MetricName" AS name, "MetricUnit" AS unit, NULL AS monotonic,
                  NULL AS temporality, count(*) AS n
           FROM otel_metrics_gauge GROUP BY ALL
           UNION ALL
           SELECT 'sum', "MetricName", "MetricUnit", "IsMonotonic", "AggregationTemporality", count(*)
           FROM otel_metrics_sum GROUP BY ALL
           ORDER BY name"""
    )
    assert counts == [
        {"kind": "sum", "name": "gen_ai.co2.emissions", "unit": "gCO2e", "monotonic": True, "temporality": 2, "n": 3},
        {"kind": "sum", "name": "gen_ai.power.cost", "unit": "USD", "monotonic": True, "temporality": 2, "n": 3},
        {"kind": "sum", "name": "hw.energy", "unit": "J", "monotonic": True, "temporality": 2, "n": 3},
        {"kind": "sum", "name": "hw.gpu.memory.limit", "unit": "By", "monotonic": False, "temporality": 2, "n": 8},
        {"kind": "sum", "name": "hw.gpu.memory.usage", "unit": "By", "monotonic": False, "temporality": 2, "n": 8},
        {"kind": "gauge", "name": "hw.gpu.utilization", "unit": "1", "monotonic": None, "temporality": None, "n": 7},
        {"kind": "gauge", "name": "hw.power", "unit": "W", "monotonic": None, "temporality": None, "n": 3},
        {"kind": "gauge", "name": "hw.temperature", "unit": "Cel", "monotonic": None, "temporality": None, "n": 8},
    ]  # fmt: skip

    # one point per GPU per sample time, at exactly the sample's time
    times = query(
        """SELECT CAST("Attributes"->>'gpu.index' AS INTEGER) AS gpu, epoch_ns("TimeUnix") AS t
           FROM otel_metrics_gauge WHERE "MetricName" = 'hw.temperature' ORDER BY gpu, t"""
    )
    assert times == [{"gpu": g, "t": t} for g in (0, 1) for t in TIMES]

    energy = query(
        """SELECT epoch_ns("TimeUnix") AS t, epoch_ns("StartTimeUnix") AS start, "Value" AS joules,
                  "Attributes"::VARCHAR AS attributes, "ScopeName" AS scope,
                  "ResourceAttributes"->>'smoltrace.run.id' AS resource_run,
                  "ResourceAttributes"->>'service.name' AS service,
                  "ResourceAttributes"->>'host.name' AS host
           FROM otel_metrics_sum WHERE "MetricName" = 'hw.energy' ORDER BY t"""
    )
    assert [(r["t"], r["start"], r["joules"]) for r in energy] == [(TIMES[k], T0, j) for k, j in ENERGY_J.items()]
    assert {(r["scope"], r["resource_run"], r["service"], r["host"]) for r in energy} == {
        ("smoltrace.gpu", RUN_ID, "smoltrace-eval", "box-1")
    }
    assert json.loads(energy[0]["attributes"]) == {
        "smoltrace.run.id": RUN_ID,
        "gpu.index": 0,
        "gpu.name": H100[0],
        "gpu.uuid": H100[1],
        "hw.id": H100[1],
        "hw.type": "gpu",
        "hw.model": H100[0],
        "hw.vendor": "NVIDIA",
        "smoltrace.gpu.energy_method": "power_trapezoid",
    }

    # the GPU without a power sensor has no power, energy, CO2 or cost points at all (empty, not 0)
    no_power = query(
        """SELECT count(*) AS n FROM otel_metrics_sum
           WHERE "Attributes"->>'gpu.index' = '1'
             AND "MetricName" IN ('hw.energy', 'gen_ai.co2.emissions', 'gen_ai.power.cost')"""
    )
    assert no_power == [{"n": 0}]
    utilization = query(
        """SELECT "Value" AS v, "Attributes"->>'hw.gpu.task' AS task FROM otel_metrics_gauge
           WHERE "MetricName" = 'hw.gpu.utilization' AND "Attributes"->>'gpu.index' = '0'
           ORDER BY "TimeUnix" """
    )
    assert utilization == [{"v": p / 100, "task": "general"} for p in (10, 29, 57, 55)]


def expected_gpu_metrics():
    gpu0 = [(10, 1024, 40, 100.0), (29, 2048, 45, 150.0), (57, 4096, 50, None), (55, 3072, 47, 110.0)]
    gpu1 = [(0, 100, 30), (None, 200, 31), (7, 300, 32), (14, 250, 33)]
    rows = []
    for k, (util, mem, temp, power) in enumerate(gpu0):
        joules = ENERGY_J.get(k)
        rows.append({
            "run_id": RUN_ID, "t": TIMES[k], "gpu_index": 0, "gpu_name": H100[0], "gpu_uuid": H100[1],
            "gpu_utilization_percent": float(util), "gpu_memory_used_mib": float(mem),
            "gpu_memory_total_mib": 81559.0, "gpu_temperature_celsius": float(temp), "gpu_power_watts": power,
            "gpu_energy_wh": None if joules is None else joules / 3600,
            "co2_emissions_gco2e": None if joules is None else kwh(joules) * INTENSITY,
            "power_cost_usd": None if joules is None else kwh(joules) * PRICE,
        })  # fmt: skip
    for k, (util, mem, temp) in enumerate(gpu1):
        rows.append({
            "run_id": RUN_ID, "t": TIMES[k], "gpu_index": 1, "gpu_name": GT710[0], "gpu_uuid": GT710[1],
            "gpu_utilization_percent": None if util is None else float(util), "gpu_memory_used_mib": float(mem),
            "gpu_memory_total_mib": 2048.0, "gpu_temperature_celsius": float(temp), "gpu_power_watts": None,
            "gpu_energy_wh": None, "co2_emissions_gco2e": None, "power_cost_usd": None,
        })  # fmt: skip
    return rows


GPU_METRICS_SQL = """
    SELECT run_id, epoch_ns("timestamp") AS t, gpu_index, gpu_name, gpu_uuid, gpu_utilization_percent,
           gpu_memory_used_mib, gpu_memory_total_mib, gpu_temperature_celsius, gpu_power_watts,
           gpu_energy_wh, co2_emissions_gco2e, power_cost_usd
    FROM gpu_metrics ORDER BY gpu_index, t"""


def expected_summary():
    return {
        "run_id": RUN_ID,
        "gpu_count": 2,
        "sample_count": 4,
        "first": TIMES[0],
        "last": TIMES[3],
        # every GPU-sample with a reading: 4 of GPU 0, 3 of GPU 1 (one timed out)
        "avg_gpu_utilization_percent": (10 + 29 + 57 + 55 + 0 + 7 + 14) / 7,
        "max_gpu_utilization_percent": 57.0,
        "avg_gpu_memory_used_mib": (1024 + 2048 + 4096 + 3072 + 100 + 200 + 300 + 250) / 8,
        "max_gpu_memory_used_mib": 4096.0,
        "gpu_memory_total_mib": 81559.0 + 2048.0,
        "avg_gpu_temperature_celsius": (40 + 45 + 50 + 47 + 30 + 31 + 32 + 33) / 8,
        "max_gpu_temperature_celsius": 50.0,
        "avg_gpu_power_watts": (100 + 150 + 110) / 3,
        "max_gpu_power_watts": 150.0,
        # each GPU's final cumulative value, summed over GPUs: GPU 0's 515 J; GPU 1 has none (NULL, not 0)
        "total_energy_wh": 515 / 3600,
        "total_co2_emissions_gco2e": kwh(515) * INTENSITY,
        "total_power_cost_usd": kwh(515) * PRICE,
    }


SUMMARY_SQL = """
    SELECT run_id, gpu_count, sample_count, epoch_ns(first_sample_at) AS first, epoch_ns(last_sample_at) AS last,
           avg_gpu_utilization_percent, max_gpu_utilization_percent, avg_gpu_memory_used_mib,
           max_gpu_memory_used_mib, gpu_memory_total_mib, avg_gpu_temperature_celsius,
           max_gpu_temperature_celsius, avg_gpu_power_watts, max_gpu_power_watts, total_energy_wh,
           total_co2_emissions_gco2e, total_power_cost_usd
    FROM gpu_run_summary"""


def test_gpu_metrics_view_has_one_row_per_run_gpu_and_sample_time(recorded_run, query):
    assert query(GPU_METRICS_SQL) == expected_gpu_metrics()


def test_gpu_run_summary(recorded_run, query):
    assert query(SUMMARY_SQL) == [expected_summary()]
    # the hand-computed integral, in the units a reader checks: 515 J = 0.143 Wh (not 3.6 × that)
    assert expected_summary()["total_energy_wh"] == pytest.approx(0.1430556, rel=1e-6)


def test_gpu_metric_points_alias_smoltrace_names_and_units(recorded_run, query):
    points = query(
        """SELECT metric_name, unit, value, otel_metric_name, otel_unit, otel_value FROM gpu_metric_points
           WHERE gpu_index = 0 AND epoch_ns("timestamp") = ? ORDER BY metric_name""",
        [TIMES[1]],
    )
    assert points == [
        {"metric_name": "gen_ai.co2.emissions", "unit": "gCO2e", "value": kwh(125) * INTENSITY,
         "otel_metric_name": "gen_ai.co2.emissions", "otel_unit": "gCO2e", "otel_value": kwh(125) * INTENSITY},
        {"metric_name": "gen_ai.gpu.energy", "unit": "Wh", "value": 125 / 3600,
         "otel_metric_name": "hw.energy", "otel_unit": "J", "otel_value": 125.0},
        {"metric_name": "gen_ai.gpu.memory.total", "unit": "MiB", "value": 81559.0,
         "otel_metric_name": "hw.gpu.memory.limit", "otel_unit": "By", "otel_value": 81559.0 * MiB},
        {"metric_name": "gen_ai.gpu.memory.used", "unit": "MiB", "value": 2048.0,
         "otel_metric_name": "hw.gpu.memory.usage", "otel_unit": "By", "otel_value": 2048.0 * MiB},
        {"metric_name": "gen_ai.gpu.power", "unit": "W", "value": 150.0,
         "otel_metric_name": "hw.power", "otel_unit": "W", "otel_value": 150.0},
        {"metric_name": "gen_ai.gpu.temperature", "unit": "Cel", "value": 45.0,
         "otel_metric_name": "hw.temperature", "otel_unit": "Cel", "otel_value": 45.0},
        {"metric_name": "gen_ai.gpu.utilization", "unit": "%", "value": 29.0,
         "otel_metric_name": "hw.gpu.utilization", "otel_unit": "1", "otel_value": 0.29},
        {"metric_name": "gen_ai.power.cost", "unit": "USD", "value": kwh(125) * PRICE,
         "otel_metric_name": "gen_ai.power.cost", "otel_unit": "USD", "otel_value": kwh(125) * PRICE},
    ]  # fmt: skip


def test_rows_stored_twice_are_not_counted_twice(recorded_run, query):
    """The collector drops byte-identical retries; the views must hold even if a copy got in anyway."""
    points_before = query("SELECT count(*) AS n FROM gpu_metric_points")
    query("INSERT INTO otel_metrics_gauge SELECT * FROM otel_metrics_gauge")
    query("INSERT INTO otel_metrics_sum SELECT * FROM otel_metrics_sum")
    assert query("SELECT count(*) AS n FROM otel_metrics_sum WHERE \"MetricName\" = 'hw.energy'") == [{"n": 6}]
    assert query("SELECT count(*) AS n FROM gpu_metric_points") == points_before == [{"n": 43}]
    assert query(GPU_METRICS_SQL) == expected_gpu_metrics()
    assert query(SUMMARY_SQL) == [expected_summary()]


def test_runs_are_summarised_separately(recorded_run, collector, query):
    sample = Sample(utilization=90, memory_used_mib=512, temperature=60, power_mw=200_000)
    nvml = FakeNvml([FakeGpu(*H100, samples=[sample])])
    clock = ScriptedClock()
    exporter = OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True)
    second = GpuSampler(exporter, "run-gpu-2", nvml=nvml, clock=clock)
    second.sample_once()
    clock.now = T0 + 2 * SECOND
    second.stop()  # 200 W for 2 s = 400 J
    summaries = {r["run_id"]: r for r in query(SUMMARY_SQL)}
    assert summaries[RUN_ID] == expected_summary()
    assert summaries["run-gpu-2"]["gpu_count"] == 1
    assert summaries["run-gpu-2"]["total_energy_wh"] == 400 / 3600
    assert summaries["run-gpu-2"]["avg_gpu_utilization_percent"] == 90.0


# -- energy per task and per agent type ---------------------------------------------------------------
#
# Three task executions of the same run, on the script's clock (GPU 0's energy: 125 J in [t0, t1],
# 390 J in [t1, t3] = 1 s .. 4 s; the t2 sample has no energy reading, so no interval ends there):
#
#     tool w1   0.5 s .. 2.0 s      -> [t0, t1]: alone for 0.5 of 1 s: 125 × 0.5 = 62.5 J
#     code c1   1.5 s .. 3.0 s      -> [t1, t3]: 1.0 + 1.5 + 2.0 = 4.5 task-seconds in 3 s, so the
#     tool w2   2.0 s .. 4.5 s         390 J are shared 1 : 1.5 : 2 -> w1 86.67, c1 130, w2 173.33 J
#
# w1 = 149.17 J, c1 = 130 J, w2 = 173.33 J; tool = 322.5 J, code = 130 J. The first half second
# (62.5 J) ran no task: it stays in the run's total (515 J) only.

TASKS = [  # (task id, agent type, start s, end s)
    ("w1", "tool", 0.5, 2.0),
    ("c1", "code", 1.5, 3.0),
    ("w2", "tool", 2.0, 4.5),
]
TASK_ENERGY_J = {"w1": 62.5 + 390 / 4.5, "c1": 390 * 1.5 / 4.5, "w2": 390 * 2 / 4.5}


def send_task_spans(collector, run_id=RUN_ID):
    """The runner's task root spans (only what the views read), through the SDK and OTLP/gRPC."""
    exporter = OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True)
    provider = TracerProvider(resource=Resource.create({"service.name": "smoltrace-eval"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("smoltrace.tests")
    for task_id, agent_type, start_s, end_s in TASKS:
        span = tracer.start_span("smoltrace.task", context=Context(), start_time=T0 + int(start_s * SECOND), attributes={
            "smoltrace.run.id": run_id, "smoltrace.task.id": task_id, "smoltrace.agent.type": agent_type,
            "smoltrace.model.id": "local-model", "smoltrace.provider": "transformers",
            "smoltrace.task.stop_reason": "final_answer", "smoltrace.task.answer": "done",
        })  # fmt: skip
        span.end(end_time=T0 + int(end_s * SECOND))
    assert provider.force_flush(10_000)
    provider.shutdown()


def test_task_energy_shares_each_interval_among_the_tasks_inside_it(recorded_run, collector, query):
    send_task_spans(collector)
    rows = query("SELECT task_id, agent_type, gpu_energy_wh, co2_emissions_gco2e, power_cost_usd "
                 "FROM task_gpu_energy ORDER BY task_id")  # fmt: skip
    assert [(r["task_id"], r["agent_type"]) for r in rows] == [("c1", "code"), ("w1", "tool"), ("w2", "tool")]
    for row in rows:
        joules = TASK_ENERGY_J[row["task_id"]]
        assert row["gpu_energy_wh"] == pytest.approx(joules / 3600, rel=1e-9)
        assert row["co2_emissions_gco2e"] == pytest.approx(kwh(joules) * INTENSITY, rel=1e-9)
        assert row["power_cost_usd"] == pytest.approx(kwh(joules) * PRICE, rel=1e-9)
    attributed = sum(r["gpu_energy_wh"] for r in rows) * 3600
    assert attributed == pytest.approx(515 - 62.5, rel=1e-9)  # never more than the run's total
    # and it joins the results rows by trace id
    joined = query("SELECT r.task_id, e.gpu_energy_wh FROM results AS r JOIN task_gpu_energy AS e USING (trace_id) "
                   "ORDER BY r.task_id")  # fmt: skip
    assert [(r["task_id"], r["gpu_energy_wh"] * 3600) for r in joined] == [
        (task_id, pytest.approx(TASK_ENERGY_J[task_id], rel=1e-9)) for task_id in ("c1", "w1", "w2")
    ]


def test_leaderboard_rows_carry_their_agent_types_energy(recorded_run, collector, query):
    send_task_spans(collector)
    rows = query("SELECT agent_type, total_tests, gpu_count, max_gpu_power_watts, total_energy_wh, "
                 "co2_emissions_gco2e, power_cost_usd FROM leaderboard_by_agent_type ORDER BY agent_type")  # fmt: skip
    assert [{k: v for k, v in r.items() if k not in ("total_energy_wh", "co2_emissions_gco2e", "power_cost_usd")}
            for r in rows] == [
        {"agent_type": "code", "total_tests": 1, "gpu_count": 2, "max_gpu_power_watts": 150.0},
        {"agent_type": "tool", "total_tests": 2, "gpu_count": 2, "max_gpu_power_watts": 150.0},
    ]  # fmt: skip
    for row, joules in zip(rows, (130.0, 322.5)):
        assert row["total_energy_wh"] == pytest.approx(joules / 3600, rel=1e-9)
        assert row["co2_emissions_gco2e"] == pytest.approx(kwh(joules) * INTENSITY, rel=1e-9)
        assert row["power_cost_usd"] == pytest.approx(kwh(joules) * PRICE, rel=1e-9)
    # the run's own total still counts everything, idle time included
    assert query(SUMMARY_SQL)[0]["total_energy_wh"] == pytest.approx(515 / 3600, rel=1e-9)
    # SMOLTRACE's leaderboard row is the run's: its GPU totals, rounded as SMOLTRACE rounds them
    (row,) = query("SELECT agent_type, total_tests, gpu_count, gpu_power_avg_w, gpu_power_max_w, total_energy_wh, "
                   "co2_emissions_g, power_cost_total_usd FROM leaderboard")  # fmt: skip
    (summary,) = query(SUMMARY_SQL)
    assert row == {
        "agent_type": "both", "total_tests": 3, "gpu_count": 2, "gpu_power_avg_w": round(summary["avg_gpu_power_watts"], 2),
        "gpu_power_max_w": 150.0, "total_energy_wh": summary["total_energy_wh"],
        "co2_emissions_g": round(summary["total_co2_emissions_gco2e"], 4),
        "power_cost_total_usd": round(summary["total_power_cost_usd"], 6),
    }  # fmt: skip


def test_the_in_memory_leaderboard_row_is_the_views_for_a_gpu_run(recorded_run, collector, query):
    """smoltrace.store.memory (results without a store) runs the leaderboard view over rows in memory: the
    same row, GPU columns included."""
    from smoltrace.store.readonly import json_safe

    send_task_spans(collector)
    (summary,) = query("SELECT * FROM gpu_run_summary")
    (view_row,) = query("SELECT * FROM leaderboard")
    assert leaderboard_rows(query("SELECT * FROM results"), None, summary) == [
        {key: json_safe(value) for key, value in view_row.items()}
    ]


def test_leaderboard_energy_is_null_without_gpu_samples(collector, query):
    send_task_spans(collector, run_id="api-run")
    assert query("SELECT count(*) AS n FROM task_gpu_energy") == [{"n": 0}]
    rows = query("SELECT agent_type, gpu_count, total_energy_wh, co2_emissions_gco2e, power_cost_usd "
                 "FROM leaderboard_by_agent_type ORDER BY agent_type")  # fmt: skip
    assert rows == [
        {"agent_type": "code", "gpu_count": None, "total_energy_wh": None, "co2_emissions_gco2e": None,
         "power_cost_usd": None},
        {"agent_type": "tool", "gpu_count": None, "total_energy_wh": None, "co2_emissions_gco2e": None,
         "power_cost_usd": None},
    ]  # fmt: skip
    assert query("SELECT agent_type, gpu_count, total_energy_wh, co2_emissions_g, power_cost_total_usd, "
                 "gpu_utilization_avg FROM leaderboard") == [
        {"agent_type": "both", "gpu_count": None, "total_energy_wh": None, "co2_emissions_g": None,
         "power_cost_total_usd": None, "gpu_utilization_avg": None}]  # fmt: skip
