"""OTLP/JSON request bodies → protobuf bytes, so both encodings share one decoder.

OTLP/JSON differs from protobuf's canonical JSON mapping in one way that matters here: trace and span
ids are hex strings, not base64. They are rewritten before ``json_format`` parses the message.
"""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from smoltrace.collector.decode import OTLPDecodeError

REQUEST_CLASSES = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
_ID_FIELDS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")


def _hex_to_base64(value, field: str) -> str:
    if not isinstance(value, str):
        raise OTLPDecodeError(f"{field} must be a hex string, got {type(value).__name__}")
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except ValueError:
        raise OTLPDecodeError(f"{field} is not a hex string: {value[:40]!r}") from None


def _rewrite_ids(node) -> None:
    """Rewrite every id field anywhere in the request (spans, links, log records, exemplars)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS:
                node[key] = _hex_to_base64(value, key)
            else:
                _rewrite_ids(value)
    elif isinstance(node, list):
        for item in node:
            _rewrite_ids(item)


def json_to_protobuf(signal: str, body: bytes) -> bytes:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OTLPDecodeError(f"request body is not valid JSON: {exc}") from None
    except RecursionError:  # a client's mistake like any other: 400, not a retryable server error
        raise OTLPDecodeError("request body is nested too deeply to be an OTLP/JSON request") from None
    if not isinstance(document, dict):
        raise OTLPDecodeError("request body must be a JSON object")
    try:
        _rewrite_ids(document)
        message = json_format.ParseDict(document, REQUEST_CLASSES[signal](), ignore_unknown_fields=True)
    except OTLPDecodeError:
        raise
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OTLPDecodeError(f"request body is not a valid OTLP/JSON {signal} request: {exc}") from None
    except RecursionError:
        raise OTLPDecodeError("request body is nested too deeply to be an OTLP/JSON request") from None
    return message.SerializeToString()
