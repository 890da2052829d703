"""The real OpenTelemetry SDK exporters (gRPC and HTTP) against a real collector on loopback: every
field they send lands in the store exactly."""

import json
import logging

import pytest
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, set_span_in_context

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z in ns
RESOURCE = Resource({"service.name": "svc-test", "host.name": "box-1", "deployment.count": 3})


def span_exporter(transport, collector):
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{collector.http_endpoint}/v1/traces")


def metric_exporter(transport, collector):
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(endpoint=f"{collector.http_endpoint}/v1/metrics")


def log_exporter(transport, collector):
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(endpoint=collector.grpc_endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    return OTLPLogExporter(endpoint=f"{collector.http_endpoint}/v1/logs")


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_spans_are_stored_exactly(collector, rows, transport):
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(span_exporter(transport, collector)))
    tracer = provider.get_tracer("test.tracer", "1.2.3")
    linked = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(1))

    parent = tracer.start_span("parent", kind=SpanKind.SERVER, start_time=T0)
    parent.set_attributes({
        "str": "text ✓", "bool": True, "int": -42, "float": 2.5,
        "strs": ["a", "b"], "ints": [1, 2], "floats": [0.5, 1.5], "bools": [True, False],
    })  # fmt: skip
    parent.add_event("checkpoint", {"step": 1, "note": "half way"}, timestamp=T0 + 500)
    child = tracer.start_span(
        "child", context=set_span_in_context(parent), kind=SpanKind.CLIENT, start_time=T0 + 1_000,
        links=[Link(linked, {"link.kind": "follows"})],
    )  # fmt: skip
    child.set_status(Status(StatusCode.ERROR, "boom"))
    child.end(end_time=T0 + 3_500)
    parent.set_status(Status(StatusCode.OK))
    parent.end(end_time=T0 + 10_000)
    provider.shutdown()

    stored = rows(collector, "SELECT * FROM otel_traces ORDER BY Timestamp")
    trace_id = format(parent.get_span_context().trace_id, "032x")
    parent_id = format(parent.get_span_context().span_id, "016x")
    child_id = format(child.get_span_context().span_id, "016x")
    assert len(stored) == 2
    p, c = stored
    for row in stored:
        assert row["TraceId"] == trace_id
        assert row["ServiceName"] == "svc-test"
        assert json.loads(row["ResourceAttributes"]) == {
            "service.name": "svc-test", "host.name": "box-1", "deployment.count": 3,
        }  # fmt: skip
        assert (row["ScopeName"], row["ScopeVersion"], row["TraceState"]) == ("test.tracer", "1.2.3", "")

    assert (p["SpanId"], p["ParentSpanId"], p["SpanName"], p["SpanKind"]) == (parent_id, "", "parent", "Server")
    assert p["Duration"] == 10_000
    assert (p["StatusCode"], p["StatusMessage"]) == ("Ok", "")
    assert json.loads(p["SpanAttributes"]) == {
        "str": "text ✓", "bool": True, "int": -42, "float": 2.5,
        "strs": ["a", "b"], "ints": [1, 2], "floats": [0.5, 1.5], "bools": [True, False],
    }  # fmt: skip
    assert len(p["Events"]) == 1
    event = p["Events"][0]
    assert event["Name"] == "checkpoint"
    assert json.loads(event["Attributes"]) == {"step": 1, "note": "half way"}
    assert p["Links"] == []

    assert (c["SpanId"], c["ParentSpanId"], c["SpanName"], c["SpanKind"]) == (child_id, parent_id, "child", "Client")
    assert c["Duration"] == 2_500
    assert (c["StatusCode"], c["StatusMessage"]) == ("Error", "boom")
    assert c["Events"] == []
    assert [(link["TraceId"], link["SpanId"], json.loads(link["Attributes"])) for link in c["Links"]] == [
        (format(0xABC, "032x"), format(0xDEF, "016x"), {"link.kind": "follows"})
    ]

    # nanosecond timestamps survive exactly
    times = rows(
        collector,
        "SELECT epoch_ns(Timestamp) AS ts, [epoch_ns(e.Timestamp) FOR e IN Events] AS event_ts "
        "FROM otel_traces ORDER BY Timestamp",
    )
    assert times == [{"ts": T0, "event_ts": [T0 + 500]}, {"ts": T0 + 1_000, "event_ts": []}]
    # attribute types are kept: queryable as typed JSON
    typed = rows(
        collector,
        "SELECT json_type(SpanAttributes->'int') AS int_type, (SpanAttributes->>'int')::INTEGER AS int_value, "
        "json_type(SpanAttributes->'float') AS float_type, json_type(SpanAttributes->'bool') AS bool_type, "
        "json_type(SpanAttributes->'strs') AS list_type FROM otel_traces WHERE SpanName = 'parent'",
    )
    assert typed == [{"int_type": "BIGINT", "int_value": -42, "float_type": "DOUBLE", "bool_type": "BOOLEAN",
                      "list_type": "ARRAY"}]  # fmt: skip


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_metrics_are_stored_exactly(collector, rows, transport):
    reader = PeriodicExportingMetricReader(metric_exporter(transport, collector), export_interval_millis=3_600_000)
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("test.meter", "0.1")
    counter = meter.create_counter("requests", unit="1", description="requests seen")
    counter.add(5, {"route": "/a"})
    counter.add(2, {"route": "/a"})
    counter.add(1, {"route": "/b"})
    gauge = meter.create_gauge("temperature", unit="Cel")
    gauge.set(42.5, {"gpu.index": 0})
    histogram = meter.create_histogram("latency", unit="ms", explicit_bucket_boundaries_advisory=[1.0, 10.0])
    for value in (0.5, 3.0, 7.0, 20.0):
        histogram.record(value, {"op": "x"})
    provider.shutdown()

    sums = rows(collector, "SELECT MetricName, MetricUnit, MetricDescription, Attributes->>'route' AS route, Value, "
                           "AggregationTemporality, IsMonotonic, ServiceName, ScopeName "
                           "FROM otel_metrics_sum ORDER BY route")  # fmt: skip
    assert sums == [
        {"MetricName": "requests", "MetricUnit": "1", "MetricDescription": "requests seen", "route": "/a",
         "Value": 7.0, "AggregationTemporality": 2, "IsMonotonic": True, "ServiceName": "svc-test",
         "ScopeName": "test.meter"},
        {"MetricName": "requests", "MetricUnit": "1", "MetricDescription": "requests seen", "route": "/b",
         "Value": 1.0, "AggregationTemporality": 2, "IsMonotonic": True, "ServiceName": "svc-test",
         "ScopeName": "test.meter"},
    ]  # fmt: skip
    gauges = rows(collector, "SELECT MetricName, MetricUnit, Attributes, Value FROM otel_metrics_gauge")
    assert [(g["MetricName"], g["MetricUnit"], json.loads(g["Attributes"]), g["Value"]) for g in gauges] == [
        ("temperature", "Cel", {"gpu.index": 0}, 42.5)
    ]
    histograms = rows(collector, "SELECT MetricName, Count, Sum, BucketCounts, ExplicitBounds, Min, Max "
                                 "FROM otel_metrics_histogram")  # fmt: skip
    assert histograms == [{"MetricName": "latency", "Count": 4, "Sum": 30.5, "BucketCounts": [1, 2, 1],
                           "ExplicitBounds": [1.0, 10.0], "Min": 0.5, "Max": 20.0}]  # fmt: skip
    times = rows(collector, "SELECT count(*) AS n FROM otel_metrics_sum WHERE TimeUnix > StartTimeUnix")
    assert times == [{"n": 2}]


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_logs_are_stored_exactly(collector, rows, transport):
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter(transport, collector)))
    logger = logging.getLogger(f"test.logs.{transport}")
    logger.propagate = False
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    logger.warning("disk at %d%%", 91, extra={"disk.id": "sda"})
    provider.shutdown()

    stored = rows(collector, "SELECT SeverityText, SeverityNumber, Body, ServiceName, LogAttributes FROM otel_logs")
    assert len(stored) == 1
    log = stored[0]
    assert (log["SeverityText"], log["SeverityNumber"], json.loads(log["Body"]), log["ServiceName"]) == (
        "WARN",
        13,
        "disk at 91%",
        "svc-test",
    )
    assert json.loads(log["LogAttributes"])["disk.id"] == "sda"
