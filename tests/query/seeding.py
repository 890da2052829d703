"""Seeding a store with the real OpenTelemetry SDK over OTLP/gRPC, with fixed ids and times so that
tests can assert exact rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import set_span_in_context

if TYPE_CHECKING:
    from smoltrace.collector import Collector

TOKEN = "s3cret-query-token"
#: 2024-05-01T12:00:00Z in ns
T0 = 1_714_564_800_000_000_000
MS = 1_000_000

#: The view the tests create (the store's own views come from other modules and may change).
TEST_VIEW_SQL = """
CREATE OR REPLACE VIEW test_task_spans AS
SELECT "SpanAttributes"->>'smoltrace.run.id' AS run_id,
       "SpanAttributes"->>'smoltrace.task.id' AS task_id,
       "Duration" // 1000000 AS duration_ms,
       "StatusCode" AS status
  FROM otel_traces
 WHERE "SpanName" = 'smoltrace.task'
"""

#: What the seeded store holds, as (span name, task id, run id, duration ms, root?), by start time.
SEEDED_SPANS = [
    ("smoltrace.task", "t1", "run-a", 30, True),
    ("llm", "t1", "run-a", 10, False),
    ("smoltrace.task", "t2", "run-a", 50, True),
    ("smoltrace.task", "t3", "run-b", 20, True),
]


class CountingIds(IdGenerator):
    """Deterministic ids: trace ids 1, 2, 3 ...; span ids 1, 2, 3 ..."""

    def __init__(self, first_trace: int = 1, first_span: int = 1):
        self._trace, self._span = first_trace - 1, first_span - 1

    def generate_trace_id(self) -> int:
        self._trace += 1
        return self._trace

    def generate_span_id(self) -> int:
        self._span += 1
        return self._span


def send_spans(collector: Collector, spans, *, token: str | None = None, first_id: int = 1) -> None:
    """Export ``spans`` (SEEDED_SPANS-shaped) through the real SDK and OTLP/gRPC exporter.

    A root span starts a new trace; a non-root span is a child of the last root. The i-th span starts
    at T0 + i seconds. force_flush returns after the collector acknowledged, i.e. committed.
    """
    headers = (("authorization", f"Bearer {token}"),) if token else None
    exporter = OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True, headers=headers)
    provider = TracerProvider(
        resource=Resource.create({"service.name": "smoltrace-eval"}),
        id_generator=CountingIds(first_id, first_id),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("smoltrace.tests")
    parent = None
    for i, (name, task_id, run_id, duration_ms, root) in enumerate(spans):
        start = T0 + i * 1_000 * MS
        attributes = {"smoltrace.task.id": task_id, "smoltrace.run.id": run_id}
        context = None if root else set_span_in_context(parent)
        span = tracer.start_span(name, context=context, start_time=start, attributes=attributes)
        span.end(end_time=start + duration_ms * MS)
        if root:
            parent = span
    assert provider.force_flush(10_000)
    provider.shutdown()
