"""Tracing for a run: our own TracerProvider exporting OTLP/gRPC to the collector, the OpenInference
instrumentors for smolagents (agent, step, LLM and tool spans) and litellm, and secret redaction.

Why not ``genai_otel.instrument()``: it builds and installs a *global* TracerProvider with its own
exporters. OpenTelemetry lets the global provider be set once per process, so a second run in the same
process (the Python API, the tests) would export to the first run's collector, and its resource could
not carry this run's id. genai-otel-instrument enables these same OpenInference instrumentors; we
enable them directly, on a provider that belongs to the run.
"""

from __future__ import annotations

import os
import platform
import re
import socket
from collections.abc import Sequence

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

import smoltrace
from smoltrace.runner.ids import TimeOrderedIdGenerator

REDACTED = "[REDACTED]"
_SECRET_ENV = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
# attribute names whose last dotted segment names a credential ("x.api_key", "authorization"), but not
# counts or prices such as "llm.token_count.prompt" or "input_cost_per_token"
_SECRET_NAMES = frozenset({
    "api_key", "apikey", "api-key", "token", "access_token", "auth_token", "bearer_token", "hf_token",
    "id_token", "refresh_token", "secret", "client_secret", "password", "authorization",
})  # fmt: skip
_SECRET_SHAPES = re.compile(r"\b(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{16,})\b")
_SECRET_SHAPE_PREFIXES = ("hf_", "sk-")  # every match of _SECRET_SHAPES contains one


class CollectorUnreachableError(RuntimeError):
    pass


def secrets_from_environment(extra: Sequence[str | None] = ()) -> list[str]:
    """Values that must never leave the process: API keys and tokens in the environment, plus any given."""
    values = [value for name, value in os.environ.items() if _SECRET_ENV.search(name) and value]
    values += [value for value in extra if value]
    return sorted({value for value in values if len(value) >= 8}, key=len, reverse=True)


class Redactor:
    """Replaces known secret values and secret-shaped strings in attribute values.

    Every exported span is checked, and prompts make its values long, so the check is built from
    C-level operations: the span's string values are joined once and searched for each secret and each
    shape's prefix (``hf_``, ``sk-``); the regular expression runs only on a hit, and secret-named keys
    are looked up in a cache. (The first version, a regex per value, cost ~40% of the export thread.)
    """

    def __init__(self, secrets: Sequence[str]):
        self._secrets = list(secrets)
        self._markers = (*self._secrets, *_SECRET_SHAPE_PREFIXES)
        self._secret_keys: dict[str, bool] = {}

    def _is_secret_key(self, key: str) -> bool:
        known = self._secret_keys.get(key)
        if known is None:
            known = self._secret_keys[key] = key.rsplit(".", 1)[-1].lower() in _SECRET_NAMES
        return known

    def _may_hold_secret(self, text: str) -> bool:
        return any(marker in text for marker in self._markers)

    def text(self, value: str) -> str:
        if not self._may_hold_secret(value):
            return value
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, value)

    def value(self, key: str, value):
        if self._is_secret_key(key):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.text(v) if isinstance(v, str) else v for v in value)
        return value

    def attributes(self, attributes) -> dict:
        return {key: self.value(key, value) for key, value in (attributes or {}).items()}

    def needs_redaction(self, attributes) -> bool:
        """Cheap check first, so the common span (nothing secret) is exported as it is, without a copy."""
        if not attributes:
            return False
        texts = []
        for key, value in attributes.items():
            if self._is_secret_key(key):
                return True
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, (list, tuple)):
                texts.extend(item for item in value if isinstance(item, str))
        # "\0" never occurs inside a secret or a shape prefix, so no match can span two values
        joined = "\0".join(texts)
        if not self._may_hold_secret(joined):
            return False
        return any(secret in joined for secret in self._secrets) or _SECRET_SHAPES.search(joined) is not None


class RedactingSpanExporter(SpanExporter):
    """Wraps an exporter; spans leave with secrets replaced in attributes, events and status."""

    def __init__(self, exporter: SpanExporter, redactor: Redactor):
        self._exporter = exporter
        self._redactor = redactor

    def _clean(self, span: ReadableSpan) -> ReadableSpan:
        redact = self._redactor
        if not (
            redact.needs_redaction(span.attributes)
            or any(redact.needs_redaction(event.attributes) for event in span.events)
            or (span.status.description and redact.needs_redaction({"status": span.status.description}))
        ):
            return span
        events = [
            type(event)(event.name, redact.attributes(event.attributes), event.timestamp) for event in span.events
        ]
        status = span.status
        if status.description:
            status = type(status)(status.status_code, redact.text(status.description))
        return ReadableSpan(
            name=span.name, context=span.context, parent=span.parent, resource=span.resource,
            attributes=redact.attributes(span.attributes), events=events, links=span.links, kind=span.kind,
            status=status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )  # fmt: skip

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([self._clean(span) for span in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def check_collector(endpoint: str, token: str | None = None, timeout_s: float = 5.0) -> int | None:
    """Send an empty OTLP export: proves the collector is up (and the token accepted) before any model
    call is spent. Returns the port of its HTTP query API when it says (smoltrace-collector does; an
    OpenTelemetry Collector in front of it does not)."""
    from smoltrace.collector.grpc_server import HTTP_PORT_METADATA

    channel = grpc.insecure_channel(endpoint)
    try:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=trace_service_pb2.ExportTraceServiceRequest.SerializeToString,
            response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
        )
        metadata = [("authorization", f"Bearer {token}")] if token else None
        _, call = export.with_call(
            trace_service_pb2.ExportTraceServiceRequest(),
            timeout=timeout_s,
            metadata=metadata,
        )
        advertised = dict(call.trailing_metadata() or ()).get(HTTP_PORT_METADATA, "")
        return int(advertised) if advertised.isdigit() else None
    except grpc.RpcError as error:
        raise CollectorUnreachableError(
            f"cannot export to the collector at {endpoint}: {error.code().name}: {error.details()}. "
            "Start it with `smoltrace-collector`, check --otlp-endpoint and --otlp-token, "
            "or leave --otlp-endpoint out to use the embedded collector."
        ) from None
    finally:
        channel.close()


def run_resource(run_id: str) -> Resource:
    return Resource({
        "service.name": "smoltrace-eval",
        "service.version": smoltrace.__version__,
        "smoltrace.run.id": run_id,
        "host.name": socket.gethostname(),
        "host.arch": platform.machine(),
        "os.type": platform.system().lower(),
        "process.runtime.version": platform.python_version(),
    })  # fmt: skip


class RunTelemetry:
    """The run's tracer provider, exporting to ``endpoint``; instruments smolagents and litellm."""

    def __init__(
        self,
        endpoint: str,
        run_id: str,
        *,
        token: str | None = None,
        secrets: Sequence[str] = (),
        exporter: SpanExporter | None = None,
    ):
        """``exporter`` replaces the OTLP/gRPC exporter to ``endpoint`` (bench/eval_overhead.py uses one
        that drops spans, to tell the instrumentation's cost from the export's)."""
        self.endpoint = endpoint
        self.run_id = run_id
        headers = (("authorization", f"Bearer {token}"),) if token else None
        if exporter is None:
            exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=headers)
        # Time-ordered trace ids keep a run's spans together in the store (see ids.py).
        self.provider = TracerProvider(resource=run_resource(run_id), id_generator=TimeOrderedIdGenerator())
        # A short delay keeps finished tasks queryable within ~1 s while the run goes on.
        self.provider.add_span_processor(
            BatchSpanProcessor(
                RedactingSpanExporter(exporter, Redactor(secrets)),
                schedule_delay_millis=500,
            )
        )
        self.tracer = self.provider.get_tracer("smoltrace", smoltrace.__version__)
        self._instrumentors = []

    def instrument(self, litellm: bool = False) -> None:
        """smolagents always (agent, step, model and tool spans, with tokens); litellm's own request span
        only when asked: it duplicates the model span's content and cost ~10-20% of a task's wall time
        with a zero-latency model (bench/eval_overhead.py)."""
        from openinference.instrumentation.smolagents import SmolagentsInstrumentor

        instrumentors = [SmolagentsInstrumentor()]
        if litellm:
            from openinference.instrumentation.litellm import LiteLLMInstrumentor

            instrumentors.append(LiteLLMInstrumentor())
        for instrumentor in instrumentors:
            if instrumentor.is_instrumented_by_opentelemetry:  # a previous run in this process
                instrumentor.uninstrument()
            instrumentor.instrument(tracer_provider=self.provider)
            self._instrumentors.append(instrumentor)

    def flush(self, timeout_s: float = 30.0) -> bool:
        return self.provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        for instrumentor in self._instrumentors:
            instrumentor.uninstrument()
        self._instrumentors.clear()
        self.provider.shutdown()
