"""OTLP export requests (protobuf bytes) → Arrow tables shaped like the store's raw tables.

Columnar: each request becomes one Arrow table per target table, built from per-column lists and
appended by the writer in one statement. Spans, the hot path, are parsed with a shadow of the official
schema (see ``attributes.py``); metrics and logs, which arrive at a far lower rate, use the official
``opentelemetry-proto`` classes directly.

Every validation failure raises ``OTLPDecodeError`` with a message that names the offending item; the
servers turn it into INVALID_ARGUMENT / HTTP 400.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pyarrow as pa
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from smoltrace.collector.attributes import (
    AttributeDecodeError,
    RawAttributeEncoder,
    any_value_to_python,
    key_values_to_json,
)

SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")
_MAX_NS = 2**63 - 1

SIGNALS = ("traces", "metrics", "logs")


class OTLPDecodeError(ValueError):
    """The request is not valid OTLP; the message says what is wrong and where."""


@dataclass
class DecodedRequest:
    """One export request, ready for the writer."""

    signal: str
    tables: dict[str, pa.Table] = field(default_factory=dict)
    items: int = 0


# ---------------------------------------------------------------------------------------------------
# The shadow span schema


def _attributes_as_raw_bytes(message: descriptor_pb2.DescriptorProto) -> None:
    attributes = next(f for f in message.field if f.name == "attributes")
    attributes.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
    attributes.ClearField("type_name")


def _shadow_traces_data_class():
    """``TracesData`` (same wire format as ``ExportTraceServiceRequest``) whose span, event and link
    attributes parse as ``repeated bytes`` (raw ``KeyValue`` messages)."""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    proto = descriptor_pb2.FileDescriptorProto()
    trace_pb2.DESCRIPTOR.CopyToProto(proto)
    span = next(m for m in proto.message_type if m.name == "Span")
    _attributes_as_raw_bytes(span)
    for nested in span.nested_type:
        if nested.name in ("Event", "Link"):
            _attributes_as_raw_bytes(nested)
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("opentelemetry.proto.trace.v1.TracesData"))


_ShadowTracesData = _shadow_traces_data_class()


# ---------------------------------------------------------------------------------------------------
# Helpers


def _hex_id(value: bytes, size: int, what: str, where: str, allow_empty: bool) -> str:
    if len(value) == size:
        return value.hex()
    if not value and allow_empty:
        return ""
    raise OTLPDecodeError(f"{where}: {what} must be {size} bytes, got {len(value)}")


def _check_ns(value: int, what: str, where: str) -> int:
    if value > _MAX_NS:
        raise OTLPDecodeError(f"{where}: {what} {value} is past the year 2262 (nanoseconds overflow int64)")
    return value


def _reject_span(span, where: str) -> None:
    """Raise the error that explains why ``span`` cannot be stored (kept off the hot path)."""
    _check_ns(max(span.start_time_unix_nano, span.end_time_unix_nano), "timestamp", where)
    _hex_id(span.trace_id, 16, "trace_id", where, False)
    _hex_id(span.span_id, 8, "span_id", where, False)
    _hex_id(span.parent_span_id, 8, "parent_span_id", where, True)
    if not 0 <= span.kind < len(SPAN_KINDS):
        raise OTLPDecodeError(f"{where}: unknown span kind {span.kind}")
    raise OTLPDecodeError(f"{where}: unknown status code {span.status.code}")


def _service_name(resource_attributes) -> str:
    for kv in resource_attributes:
        if kv.key == "service.name":
            value = any_value_to_python(kv.value)
            return value if isinstance(value, str) else str(value)
    return ""


def _parse(message_class, body: bytes, signal: str):
    try:
        return message_class.FromString(body)
    except DecodeError as exc:
        raise OTLPDecodeError(f"request body is not a valid OTLP {signal} protobuf message: {exc}") from None


_EVENT_TYPE = pa.struct([("Timestamp", pa.timestamp("ns")), ("Name", pa.string()), ("Attributes", pa.string())])
_LINK_TYPE = pa.struct(
    [("TraceId", pa.string()), ("SpanId", pa.string()), ("TraceState", pa.string()), ("Attributes", pa.string())]
)

# The span and resource attribute columns are handed to DuckDB as Arrow's canonical JSON extension type:
# DuckDB then takes them as JSON as they are, where plain strings going into a JSON column are parsed
# again to validate them (~1.3 us/span of the writer's time on the ingest benchmark). They are valid by
# construction: attributes.py writes them with json.dumps.
JSON = pa.json_(pa.string())


def _as_json(array: pa.Array) -> pa.Array:
    return pa.ExtensionArray.from_storage(JSON, array)


TRACE_COLUMNS = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
    "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode",
    "StatusMessage",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Traces


class TraceDecoder:
    """Decodes ``ExportTraceServiceRequest`` bytes. One instance is shared by all receiver threads.

    ``fast``: use the C decoder (``_fastotlp``) when it is importable; ``None`` (the default) means
    yes unless ``SMOLTRACE_PURE_PYTHON_DECODE=1``. The C decoder returns None for anything it does
    not handle or that is invalid, and the Python path below (the reference, which words every error)
    then decodes the request.
    """

    def __init__(self, fast: bool | None = None):
        self._attributes = RawAttributeEncoder()
        if fast is None:
            fast = os.environ.get("SMOLTRACE_PURE_PYTHON_DECODE", "") != "1"
        self._fast = _fastotlp.decode_traces if fast and _fastotlp is not None else None

    @property
    def fast(self) -> bool:
        """Whether the C decoder is in use."""
        return self._fast is not None

    def decode(self, body: bytes) -> DecodedRequest:
        if self._fast is not None:
            columns = self._fast(body)
            if columns is not None:
                return _fast_decoded(columns)
        return self.decode_python(body)

    def decode_python(self, body: bytes) -> DecodedRequest:
        """The reference decoder (protobuf/upb + ``attributes.py``)."""
        data = _parse(_ShadowTracesData, body, "traces")
        encode = self._attributes.encode
        rows = []
        event_offsets, events = [0], []
        link_offsets, links = [0], []
        append = rows.append
        position, first_row = "", 0
        try:
            for r_index, resource_spans in enumerate(data.resource_spans):
                resource_json = key_values_to_json(resource_spans.resource.attributes)
                service = _service_name(resource_spans.resource.attributes)
                for s_index, scope_spans in enumerate(resource_spans.scope_spans):
                    position = f"resource_spans[{r_index}].scope_spans[{s_index}].spans"
                    first_row = len(rows)
                    scope_name, scope_version = scope_spans.scope.name, scope_spans.scope.version
                    for span in scope_spans.spans:
                        start = span.start_time_unix_nano
                        end = span.end_time_unix_nano
                        trace_id = span.trace_id
                        span_id = span.span_id
                        parent = span.parent_span_id
                        kind = span.kind
                        status = span.status
                        code = status.code
                        if (
                            start > _MAX_NS or end > _MAX_NS or len(trace_id) != 16 or len(span_id) != 8
                            or (parent and len(parent) != 8) or not 0 <= kind < 6 or not 0 <= code < 3
                        ):  # fmt: skip
                            _reject_span(span, f"{position}[{len(rows) - first_row}]")
                        append((
                            start, trace_id.hex(), span_id.hex(), parent.hex(), span.trace_state, span.name,
                            SPAN_KINDS[kind], service, resource_json, scope_name, scope_version,
                            encode(span.attributes), end - start, STATUS_CODES[code], status.message,
                        ))  # fmt: skip
                        span_events = span.events
                        if span_events:
                            for event in span_events:
                                if event.time_unix_nano > _MAX_NS:
                                    _check_ns(
                                        event.time_unix_nano, "event time", f"{position}[{len(rows) - 1 - first_row}]"
                                    )
                                events.append((event.time_unix_nano, event.name, encode(event.attributes)))
                        event_offsets.append(len(events))
                        span_links = span.links
                        if span_links:
                            for link in span_links:
                                where = f"{position}[{len(rows) - 1 - first_row}]"
                                links.append(
                                    (
                                        _hex_id(link.trace_id, 16, "link trace_id", where, False),
                                        _hex_id(link.span_id, 8, "link span_id", where, False),
                                        link.trace_state,
                                        encode(link.attributes),
                                    )
                                )
                        link_offsets.append(len(links))
        except AttributeDecodeError as exc:
            raise OTLPDecodeError(f"{position}[{len(rows) - first_row}]: {exc}") from None
        if not rows:
            return DecodedRequest("traces")
        return DecodedRequest(
            "traces", {"otel_traces": _trace_table(rows, events, event_offsets, links, link_offsets)}, len(rows)
        )


def _columns(rows: list[tuple], width: int) -> list[tuple]:
    return list(zip(*rows)) if rows else [()] * width


def _trace_table(rows, events, event_offsets, links, link_offsets) -> pa.Table:
    columns = _columns(rows, len(TRACE_COLUMNS))
    arrays = [pa.array(columns[0], pa.timestamp("ns"))]
    arrays += [pa.array(column, pa.string()) for column in columns[1:12]]
    arrays[8], arrays[11] = _as_json(arrays[8]), _as_json(arrays[11])  # ResourceAttributes, SpanAttributes
    arrays.append(pa.array(columns[12], pa.int64()))
    arrays += [pa.array(column, pa.string()) for column in columns[13:15]]
    event_columns = _columns(events, 3)
    event_values = pa.StructArray.from_arrays(
        [pa.array(event_columns[0], pa.timestamp("ns")), pa.array(event_columns[1], pa.string()),
         pa.array(event_columns[2], pa.string())],
        fields=list(_EVENT_TYPE),
    )  # fmt: skip
    link_columns = _columns(links, 4)
    link_values = pa.StructArray.from_arrays(
        [pa.array(column, pa.string()) for column in link_columns], fields=list(_LINK_TYPE)
    )
    arrays.append(pa.ListArray.from_arrays(pa.array(event_offsets, pa.int32()), event_values))
    arrays.append(pa.ListArray.from_arrays(pa.array(link_offsets, pa.int32()), link_values))
    return pa.Table.from_arrays(arrays, names=[*TRACE_COLUMNS, "Events", "Links"])


# ---------------------------------------------------------------------------------------------------
# Traces, C path: ``_fastotlp.decode_traces`` returns the columns as raw Arrow buffers (see
# ``_fastotlp.c``), wrapped here without copying into the table ``_trace_table`` builds.

try:
    from smoltrace.collector import _fastotlp
except ImportError:  # not compiled (no compiler at install time): the Python path does all the work
    _fastotlp = None


def _fast_decoded(result) -> DecodedRequest:
    n_spans, n_events, n_links, columns = result
    if not n_spans:
        return DecodedRequest("traces")
    buffer = pa.py_buffer

    def fixed(type_, data, length):
        return pa.Array.from_buffers(type_, length, [None, buffer(data)], null_count=0)

    def string(pair, length):
        offsets, data = pair
        return pa.Array.from_buffers(pa.string(), length, [None, buffer(offsets), buffer(data)], null_count=0)

    (timestamp, trace_id, span_id, parent, state, name, kind, service, resource, scope, version, attributes,
     duration, code, message, event_offsets, event_time, event_name, event_attributes, link_offsets,
     link_trace_id, link_span_id, link_state, link_attributes) = columns  # fmt: skip
    arrays = [fixed(pa.timestamp("ns"), timestamp, n_spans)]
    arrays += [string(column, n_spans) for column in (trace_id, span_id, parent, state, name, kind, service,
                                                      resource, scope, version, attributes)]  # fmt: skip
    arrays[8], arrays[11] = _as_json(arrays[8]), _as_json(arrays[11])  # ResourceAttributes, SpanAttributes
    arrays.append(fixed(pa.int64(), duration, n_spans))
    arrays += [string(code, n_spans), string(message, n_spans)]
    event_values = pa.StructArray.from_arrays(
        [fixed(pa.timestamp("ns"), event_time, n_events), string(event_name, n_events),
         string(event_attributes, n_events)],
        fields=list(_EVENT_TYPE),
    )  # fmt: skip
    link_values = pa.StructArray.from_arrays(
        [string(column, n_links) for column in (link_trace_id, link_span_id, link_state, link_attributes)],
        fields=list(_LINK_TYPE),
    )
    arrays.append(pa.ListArray.from_arrays(fixed(pa.int32(), event_offsets, n_spans + 1), event_values))
    arrays.append(pa.ListArray.from_arrays(fixed(pa.int32(), link_offsets, n_spans + 1), link_values))
    table = pa.Table.from_arrays(arrays, names=[*TRACE_COLUMNS, "Events", "Links"])
    return DecodedRequest("traces", {"otel_traces": table}, n_spans)


# ---------------------------------------------------------------------------------------------------
# Metrics


_METRIC_COMMON = (
    "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "MetricName", "MetricDescription",
    "MetricUnit", "Attributes", "StartTimeUnix", "TimeUnix",
)  # fmt: skip


def _number_value(point) -> float:
    return float(point.as_int) if point.WhichOneof("value") == "as_int" else point.as_double


def _optional_ns(value: int, where: str):
    return _check_ns(value, "start_time_unix_nano", where) if value else None


def decode_metrics(body: bytes) -> DecodedRequest:
    request = _parse(metrics_service_pb2.ExportMetricsServiceRequest, body, "metrics")
    rows: dict[str, list[tuple]] = {"gauge": [], "sum": [], "histogram": [], "summary": []}
    for r_index, resource_metrics in enumerate(request.resource_metrics):
        resource_json = key_values_to_json(resource_metrics.resource.attributes)
        service = _service_name(resource_metrics.resource.attributes)
        for s_index, scope_metrics in enumerate(resource_metrics.scope_metrics):
            scope = scope_metrics.scope
            for m_index, metric in enumerate(scope_metrics.metrics):
                where = f"resource_metrics[{r_index}].scope_metrics[{s_index}].metrics[{m_index}] ({metric.name!r})"
                kind = metric.WhichOneof("data")
                if kind is None or kind == "exponential_histogram":
                    continue  # nothing to store / not produced by smoltrace; accepted and dropped
                body_ = getattr(metric, kind)
                for point in body_.data_points:
                    common = (
                        service, resource_json, scope.name, scope.version, metric.name, metric.description,
                        metric.unit, key_values_to_json(point.attributes),
                        _optional_ns(point.start_time_unix_nano, where),
                        _check_ns(point.time_unix_nano, "time_unix_nano", where),
                    )  # fmt: skip
                    if kind == "gauge":
                        rows["gauge"].append((*common, _number_value(point), point.flags))
                    elif kind == "sum":
                        rows["sum"].append((*common, _number_value(point), point.flags,
                                            body_.aggregation_temporality, body_.is_monotonic))  # fmt: skip
                    elif kind == "histogram":
                        if point.explicit_bounds and len(point.bucket_counts) != len(point.explicit_bounds) + 1:
                            raise OTLPDecodeError(
                                f"{where}: histogram has {len(point.bucket_counts)} bucket counts for "
                                f"{len(point.explicit_bounds)} bounds (needs bounds + 1)"
                            )
                        rows["histogram"].append((
                            *common, point.count, point.sum if point.HasField("sum") else None,
                            list(point.bucket_counts), list(point.explicit_bounds),
                            point.min if point.HasField("min") else None,
                            point.max if point.HasField("max") else None,
                            point.flags, body_.aggregation_temporality,
                        ))  # fmt: skip
                    else:
                        rows["summary"].append((
                            *common, point.count, point.sum,
                            [{"Quantile": q.quantile, "Value": q.value} for q in point.quantile_values],
                            point.flags,
                        ))  # fmt: skip
    decoded = DecodedRequest("metrics")
    for kind, kind_rows in rows.items():
        if kind_rows:
            decoded.tables[f"otel_metrics_{kind}"] = pa.Table.from_arrays(
                [pa.array(column, type_) for column, type_ in zip(zip(*kind_rows), _METRIC_TYPES[kind])],
                names=list(_METRIC_COLUMNS[kind]),
            )
            decoded.items += len(kind_rows)
    return decoded


_COMMON_TYPES = [pa.string()] * 8 + [pa.timestamp("ns")] * 2
_METRIC_COLUMNS = {
    "gauge": (*_METRIC_COMMON, "Value", "Flags"),
    "sum": (*_METRIC_COMMON, "Value", "Flags", "AggregationTemporality", "IsMonotonic"),
    "histogram": (*_METRIC_COMMON, "Count", "Sum", "BucketCounts", "ExplicitBounds", "Min", "Max", "Flags",
                  "AggregationTemporality"),
    "summary": (*_METRIC_COMMON, "Count", "Sum", "ValueAtQuantiles", "Flags"),
}  # fmt: skip
_METRIC_TYPES = {
    "gauge": [*_COMMON_TYPES, pa.float64(), pa.uint32()],
    "sum": [*_COMMON_TYPES, pa.float64(), pa.uint32(), pa.int32(), pa.bool_()],
    "histogram": [*_COMMON_TYPES, pa.uint64(), pa.float64(), pa.list_(pa.uint64()), pa.list_(pa.float64()),
                  pa.float64(), pa.float64(), pa.uint32(), pa.int32()],
    "summary": [*_COMMON_TYPES, pa.uint64(), pa.float64(),
                pa.list_(pa.struct([("Quantile", pa.float64()), ("Value", pa.float64())])), pa.uint32()],
}  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Logs

_LOG_COLUMNS = (
    "Timestamp", "TraceId", "SpanId", "TraceFlags", "SeverityText", "SeverityNumber", "ServiceName", "Body",
    "ResourceAttributes", "ScopeName", "ScopeVersion", "LogAttributes", "EventName",
)  # fmt: skip
_LOG_TYPES = [pa.timestamp("ns"), pa.string(), pa.string(), pa.uint32(), pa.string(), pa.int32(), pa.string(),
              pa.string(), pa.string(), pa.string(), pa.string(), pa.string(), pa.string()]  # fmt: skip


def decode_logs(body: bytes) -> DecodedRequest:
    import json

    request = _parse(logs_service_pb2.ExportLogsServiceRequest, body, "logs")
    rows = []
    for r_index, resource_logs in enumerate(request.resource_logs):
        resource_json = key_values_to_json(resource_logs.resource.attributes)
        service = _service_name(resource_logs.resource.attributes)
        for s_index, scope_logs in enumerate(resource_logs.scope_logs):
            scope = scope_logs.scope
            for index, record in enumerate(scope_logs.log_records):
                where = f"resource_logs[{r_index}].scope_logs[{s_index}].log_records[{index}]"
                timestamp = record.time_unix_nano or record.observed_time_unix_nano
                rows.append((
                    _check_ns(timestamp, "time_unix_nano", where),
                    _hex_id(record.trace_id, 16, "trace_id", where, True),
                    _hex_id(record.span_id, 8, "span_id", where, True),
                    record.flags, record.severity_text, record.severity_number, service,
                    json.dumps(any_value_to_python(record.body), ensure_ascii=False) if record.HasField("body") else None,
                    resource_json, scope.name, scope.version, key_values_to_json(record.attributes),
                    record.event_name,
                ))  # fmt: skip
    if not rows:
        return DecodedRequest("logs")
    table = pa.Table.from_arrays(
        [pa.array(column, type_) for column, type_ in zip(zip(*rows), _LOG_TYPES)], names=list(_LOG_COLUMNS)
    )
    return DecodedRequest("logs", {"otel_logs": table}, len(rows))


_trace_decoder = TraceDecoder()

DECODERS = {"traces": _trace_decoder.decode, "metrics": decode_metrics, "logs": decode_logs}


def decode(signal: str, body: bytes) -> DecodedRequest:
    """Decode one protobuf export request of ``signal`` ("traces", "metrics" or "logs")."""
    return DECODERS[signal](body)
