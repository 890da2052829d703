"""OTLP/gRPC receiver: TraceService, MetricsService and LogsService ``Export``.

Handlers take the raw request bytes (no deserializer) so the digest is computed on what the client
sent and spans go straight to the shadow-schema decoder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from smoltrace.collector import thread_names
from smoltrace.collector.auth import bearer_token_matches
from smoltrace.collector.decode import OTLPDecodeError
from smoltrace.collector.ingest import AckTimeoutError, Ingestor
from smoltrace.collector.writer import QueueFullError, StoreUnavailableError, WriterStoppedError

log = logging.getLogger("smoltrace.collector")

#: Trailing metadata of an answer to an empty export (what `smoltrace-eval` sends to check the
#: collector before a run): the port of the collector's HTTP query API, so that the runner need not
#: guess it.
HTTP_PORT_METADATA = "smoltrace-http-port"

SERVICES = {
    "traces": ("opentelemetry.proto.collector.trace.v1.TraceService", trace_service_pb2.ExportTraceServiceResponse),
    "metrics": (
        "opentelemetry.proto.collector.metrics.v1.MetricsService",
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
    "logs": ("opentelemetry.proto.collector.logs.v1.LogsService", logs_service_pb2.ExportLogsServiceResponse),
}


def _retry_info(seconds: int) -> tuple[str, bytes]:
    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds))
    return ("google.rpc.retryinfo-bin", info.SerializeToString())


class _ExportHandler:
    def __init__(self, signal: str, ingestor: Ingestor, token: str | None, http_port: Callable[[], int | None]):
        self.signal = signal
        self.ingestor = ingestor
        self.token = token
        self.http_port = http_port
        self.response = SERVICES[signal][1]().SerializeToString()

    def __call__(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        if self.token:
            metadata = dict(context.invocation_metadata())
            if not bearer_token_matches(metadata.get("authorization"), self.token):
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token in 'authorization' metadata"
                )
        if not body:  # an empty export: a client checking the collector (see HTTP_PORT_METADATA)
            port = self.http_port()
            if port:
                context.set_trailing_metadata(((HTTP_PORT_METADATA, str(port)),))
        try:
            self.ingestor.ingest(self.signal, body)
        except OTLPDecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except QueueFullError as exc:
            context.set_trailing_metadata((_retry_info(exc.retry_after_s),))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except (WriterStoppedError, AckTimeoutError, StoreUnavailableError) as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except Exception as exc:  # the store failed: retryable, nothing was acknowledged
            log.exception("%s export failed", self.signal)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"store write failed: {exc}")
        return self.response


# Few workers: decoding holds the GIL, so more threads only queue behind each other while holding
# their request bodies in memory. Concurrent RPCs beyond the workers wait in gRPC's queue, bounded here.
def build_grpc_server(
    ingestor: Ingestor,
    *,
    token: str | None,
    max_message_bytes: int,
    max_workers: int = 16,
    max_concurrent_rpcs: int = 256,
    http_port: Callable[[], int | None] = lambda: None,
) -> grpc.Server:
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=max_workers,
            thread_name_prefix="otlp-grpc",
            initializer=thread_names.name_this_thread,
            initargs=(thread_names.GRPC_HANDLER,),
        ),
        maximum_concurrent_rpcs=max_concurrent_rpcs,
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ],
    )
    for signal, (service_name, _) in SERVICES.items():
        handler = grpc.unary_unary_rpc_method_handler(_ExportHandler(signal, ingestor, token, http_port))
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service_name, {"Export": handler}),))
    return server
