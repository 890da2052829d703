"""Hand-built OTLP requests and a raw gRPC client, for tests that need exact bytes on the wire."""

import os

import grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

T0 = 1_700_000_000_000_000_000

EXPORT_METHODS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}


def trace_request(n_spans=3, name="work", trace_id=None, attributes=None) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "raw-client"
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "raw"
    trace_id = trace_id or os.urandom(16)
    for index in range(n_spans):
        span = scope_spans.spans.add()
        span.trace_id = trace_id
        span.span_id = os.urandom(8)
        span.name = name
        span.kind = 1
        span.start_time_unix_nano = T0 + index
        span.end_time_unix_nano = T0 + index + 1_000
        for key, value in (attributes or {"index": index}).items():
            attribute = span.attributes.add(key=key)
            if isinstance(value, str):
                attribute.value.string_value = value
            else:
                attribute.value.int_value = value
    return request


def gauge_request(values, name="g") -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = name
    for index, value in enumerate(values):
        point = metric.gauge.data_points.add()
        point.time_unix_nano = T0 + index
        point.as_double = value
    return request


def span_ids(request: ExportTraceServiceRequest) -> set[str]:
    return {
        span.span_id.hex()
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    }


class RawOTLPClient:
    """Sends exact bytes to the collector's Export methods and returns (status code, details)."""

    def __init__(self, endpoint: str, token: str | None = None):
        self.channel = grpc.insecure_channel(endpoint, options=[("grpc.max_send_message_length", 64 << 20)])
        self.metadata = [("authorization", f"Bearer {token}")] if token else None

    def export(self, signal: str, body: bytes, timeout: float = 30.0):
        call = self.channel.unary_unary(EXPORT_METHODS[signal], request_serializer=None, response_deserializer=None)
        try:
            call(body, timeout=timeout, metadata=self.metadata)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as error:
            return error.code(), error.details()

    def export_with_trailers(self, signal: str, body: bytes):
        call = self.channel.unary_unary(EXPORT_METHODS[signal], request_serializer=None, response_deserializer=None)
        try:
            call(body, timeout=30, metadata=self.metadata)
            return grpc.StatusCode.OK, "", ()
        except grpc.RpcError as error:
            return error.code(), error.details(), tuple(error.trailing_metadata() or ())

    def close(self):
        self.channel.close()
