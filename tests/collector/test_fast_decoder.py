"""The C span decoder (``smoltrace.collector._fastotlp``) against the Python decoder, the reference.

Differential: on valid requests both must build the same table (JSON columns compared parsed); on
anything else the C decoder must return None (so the Python decoder runs and words the error), and it
must never crash.  FAST_DECODER_FUZZ_EXAMPLES=20000 runs the fuzz test longer.
"""

import json
import math
import os
import random
import struct
import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, set_span_in_context

from smoltrace.collector.decode import OTLPDecodeError, TraceDecoder

fastotlp = pytest.importorskip("smoltrace.collector._fastotlp", reason="C decoder not compiled")

T0 = 1_700_000_000_000_000_000
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
PYTHON = TraceDecoder(fast=False)
FAST = TraceDecoder(fast=True)

_EVENTS_AS_INT = pa.list_(pa.struct([("Timestamp", pa.int64()), ("Name", pa.string()), ("Attributes", pa.string())]))


def normalized(table: pa.Table) -> list[dict]:
    """Rows with timestamps as ints and every JSON column parsed."""
    table = table.set_column(0, "Timestamp", table.column("Timestamp").cast(pa.int64()))
    table = table.set_column(
        table.schema.get_field_index("Events"), "Events", table.column("Events").cast(_EVENTS_AS_INT)
    )
    rows = table.to_pylist()
    for row in rows:
        row["ResourceAttributes"] = json.loads(row["ResourceAttributes"])
        row["SpanAttributes"] = json.loads(row["SpanAttributes"])
        for item in row["Events"] + row["Links"]:
            item["Attributes"] = json.loads(item["Attributes"])
    return rows


def compare(body: bytes, expect_fast: bool = False) -> str:
    """Runs both decoders on body and checks they agree. Returns "fast", "fallback" or "rejected"."""
    result = fastotlp.decode_traces(body)
    try:
        reference = PYTHON.decode(body)
    except OTLPDecodeError:
        assert result is None, "the C decoder accepted a request the Python decoder rejects"
        assert not expect_fast
        return "rejected"
    if result is None:
        assert not expect_fast, "the C decoder fell back on a request it should handle"
        return "fallback"
    decoded = FAST.decode(body)
    assert decoded.items == reference.items
    assert decoded.tables.keys() == reference.tables.keys()
    for name, table in reference.tables.items():
        assert decoded.tables[name].schema == table.schema
        assert normalized(decoded.tables[name]) == normalized(table)
    return "fast"


# -------------------------------------------------------------------------------------------------
# Builders


def any_value(value) -> common_pb2.AnyValue:
    if isinstance(value, common_pb2.AnyValue):
        return value
    if value is None:
        return common_pb2.AnyValue()
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, bytes):
        return common_pb2.AnyValue(bytes_value=value)
    if isinstance(value, str):
        return common_pb2.AnyValue(string_value=value)
    if isinstance(value, (list, tuple)):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[any_value(v) for v in value]))
    return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=key_values(value)))


def key_values(mapping) -> list[common_pb2.KeyValue]:
    items = mapping.items() if isinstance(mapping, dict) else mapping
    return [common_pb2.KeyValue(key=k, value=any_value(v)) if v is not None else common_pb2.KeyValue(key=k)
            for k, v in items]  # fmt: skip


def span(attributes=None, **fields) -> trace_pb2.Span:
    fields.setdefault("trace_id", os.urandom(16))
    fields.setdefault("span_id", os.urandom(8))
    fields.setdefault("name", "op")
    fields.setdefault("start_time_unix_nano", T0)
    fields.setdefault("end_time_unix_nano", T0 + 1000)
    return trace_pb2.Span(attributes=key_values(attributes or {}), **fields)


def request(*spans, resource=None, scope_name="scope", scope_version="1.0") -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(key_values(resource if resource is not None else {"service.name": "svc"}))
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = scope_name, scope_version
    ss.spans.extend(spans)
    return req


NASTY_STRINGS = [
    "", "plain", 'quote " and \\ backslash', "new\nline\ttab\r\b\f", "".join(map(chr, range(0x20))), "\x7f",
    "émoji 🚀 中文 עברית", "\u2028\u2029", "\ufeff", "\U0010ffff", "</script>", "a" * 5000,
]  # fmt: skip

ALL_TYPES = {
    "str": "value", "empty": "", "true": True, "false": False, "zero": 0, "neg": -42, "max": INT64_MAX,
    "min": INT64_MIN, "float": 3.14, "tiny": 5e-324, "huge": 1.7976931348623157e308, "negzero": -0.0,
    "exp": 1e16, "exp-": 1e-7, "round": 2.0, "nan": math.nan, "inf": math.inf, "-inf": -math.inf,
    "bytes": b"\x00\xff\x10", "bytes1": b"a", "bytes2": b"ab", "nobytes": b"", "unset": None,
    "array": ["a", 1, 2.5, True, None, b"xy", [1, [2, []]], {"k": "v"}], "empty-array": [],
    "kvlist": {"a": 1, "nested": {"deeper": {"list": [math.nan, -math.inf]}}, "": "empty key"},
    "empty-kvlist": {},
}  # fmt: skip


# -------------------------------------------------------------------------------------------------
# Valid requests: C and Python agree, and the C path is taken


def sdk_request() -> bytes:
    """Spans from the real OpenTelemetry SDK, encoded by the real OTLP exporter code."""
    exporter = InMemorySpanExporter()
    spans = []
    for resource in (Resource({"service.name": "svc-a", "host.name": "box", "n": 3}), Resource({"other": True})):
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        for scope in ("scope.one", "scope.two"):
            tracer = provider.get_tracer(scope, "9.9")
            linked = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(1))
            root = tracer.start_span("root", kind=SpanKind.SERVER, start_time=T0)
            root.set_attributes({
                "s": "text 🚀 \"q\" \\", "b": True, "i": -7, "f": 2.5, "nan": math.nan, "inf": -math.inf,
                "ss": ["a", "b"], "bs": [True, False], "is": [1, INT64_MAX, INT64_MIN], "fs": [0.1, math.inf],
            })  # fmt: skip
            root.add_event("evt", {"k": "v", "n": 1}, timestamp=T0 + 5)
            root.add_event("bare", timestamp=T0 + 6)
            root.set_status(Status(StatusCode.ERROR, "boom \u00e9"))
            for kind in SpanKind:
                child = tracer.start_span(
                    f"child-{kind.name}", context=set_span_in_context(root), kind=kind, start_time=T0 + 10,
                    links=[Link(linked, {"link.attr": "x"}), Link(linked)],
                )  # fmt: skip
                child.set_status(Status(StatusCode.OK))
                child.end(end_time=T0 + 20)
            root.end(end_time=T0 + 100)
        spans += exporter.get_finished_spans()
        exporter.clear()
    return encode_spans(spans).SerializeToString()


def test_sdk_spans_decode_identically():
    assert compare(sdk_request(), expect_fast=True) == "fast"


def test_every_attribute_type():
    links = [trace_pb2.Span.Link(trace_id=os.urandom(16), span_id=os.urandom(8), trace_state="k=v",
                                 attributes=key_values(ALL_TYPES))]  # fmt: skip
    events = [trace_pb2.Span.Event(time_unix_nano=INT64_MAX, name="e", attributes=key_values(ALL_TYPES))]
    req = request(span(ALL_TYPES, events=events, links=links), resource=ALL_TYPES | {"service.name": "svc"})
    assert compare(req.SerializeToString(), expect_fast=True) == "fast"


@pytest.mark.parametrize("text", NASTY_STRINGS)
def test_strings_everywhere(text):
    s = span({text: text, "k": [text, {text: text}]}, name=text, trace_state=text,
             status=trace_pb2.Status(message=text, code=2),
             events=[trace_pb2.Span.Event(name=text, attributes=key_values({text: text}))],
             links=[trace_pb2.Span.Link(trace_id=os.urandom(16), span_id=os.urandom(8), trace_state=text)])  # fmt: skip
    req = request(s, resource={"service.name": text, text: text}, scope_name=text, scope_version=text)
    req.resource_spans[0].scope_spans[0].scope.attributes.extend(key_values({text: text}))
    assert compare(req.SerializeToString(), expect_fast=True) == "fast"


@pytest.mark.parametrize(
    "value",
    [0.1, 1 / 3, 1e22, 1e-5, 1e-4, 123456789.0, 2.0**63, -1.5e-300, 1e15, 1e16, 9007199254740993.0, 5e-324, -0.0],
)
def test_doubles_formatted_like_python(value):
    body = request(span({"d": value})).SerializeToString()
    decoded = FAST.decode(body).tables["otel_traces"]
    assert decoded.column("SpanAttributes")[0].as_py() == '{"d":' + json.dumps(value) + "}"  # repr's digits


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_any_finite_double_is_written_as_json_dumps_writes_it(values):
    """Shortest round-trip digits in repr's layout, subnormals, powers of two and signed zeros included."""
    attributes = {f"d{i}": value for i, value in enumerate(values)}
    decoded = FAST.decode(request(span(attributes)).SerializeToString()).tables["otel_traces"]
    expected = "{" + ",".join(f'"d{i}":{json.dumps(value)}' for i, value in enumerate(values)) + "}"
    assert decoded.column("SpanAttributes")[0].as_py() == expected


def test_all_kinds_status_codes_ids_and_times():
    spans = [span(kind=kind, status=trace_pb2.Status(code=code, message=f"m{code}"),
                  parent_span_id=os.urandom(8) if kind % 2 else b"",
                  start_time_unix_nano=start, end_time_unix_nano=end)
             for kind in range(6) for code in range(3)
             for start, end in ((0, 0), (INT64_MAX, 0), (0, INT64_MAX), (T0, T0 - 5))]  # fmt: skip
    assert compare(request(*spans).SerializeToString(), expect_fast=True) == "fast"


def test_multiple_resources_and_scopes_and_empty_ones():
    req = ExportTraceServiceRequest()
    req.resource_spans.add()  # no resource, no scopes
    for r in range(3):
        rs = req.resource_spans.add(schema_url=f"https://schema/{r}")
        if r:
            rs.resource.attributes.extend(key_values({"service.name": f"svc{r}", "r": r}))
        rs.scope_spans.add()  # an empty scope
        for s in range(2):
            ss = rs.scope_spans.add(schema_url="u")
            if s:
                ss.scope.name, ss.scope.version = f"scope{s}", "v"
            ss.spans.extend([span({"r": r, "s": s}), span()])
    assert compare(req.SerializeToString(), expect_fast=True) == "fast"


def test_service_name_first_string_wins_and_missing_is_empty():
    for resource in ({}, {"x": 1}, [("service.name", "first"), ("service.name", "second")], {"service.name": ""}):
        assert compare(request(span(), resource=resource).SerializeToString(), expect_fast=True) == "fast"


def test_empty_requests():
    assert fastotlp.decode_traces(b"") == (0, 0, 0, fastotlp.decode_traces(b"")[3])
    for body in (b"", ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans()]).SerializeToString()):
        assert FAST.decode(body).items == 0 and FAST.decode(body).tables == {}
        compare(body, expect_fast=True)


def test_duplicate_keys_keep_python_semantics():
    attributes = [("k", 1), ("k", "two"), ("k", {"a": 1})]
    req = request(span(attributes), resource=[("service.name", "s"), ("r", 1), ("r", 2)])
    assert compare(req.SerializeToString(), expect_fast=True) == "fast"


def test_accepts_memoryview_and_bytearray():
    body = request(span({"a": 1})).SerializeToString()
    assert fastotlp.decode_traces(bytearray(body))[0] == 1
    assert fastotlp.decode_traces(memoryview(body))[0] == 1
    with pytest.raises(TypeError):
        fastotlp.decode_traces("not bytes")


# -------------------------------------------------------------------------------------------------
# Wire-level detail: unknown fields, field order, repeated singular fields


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def tag(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


UNKNOWN_FIELDS = (
    tag(1000, 0) + varint(2**64 - 1)
    + tag(1001, 1) + b"\xff" * 8
    + tag(1002, 2) + varint(3) + b"\xff\xfe\x00"  # not UTF-8: unknown fields are not validated
    + tag(1003, 5) + b"\x01\x02\x03\x04"
    + tag(1004, 3) + tag(1, 0) + varint(5) + tag(2, 3) + tag(2, 4) + tag(1004, 4)  # a group holding a group
)  # fmt: skip


def with_unknown_fields(message):
    """message with UNKNOWN_FIELDS merged into it and into every sub-message, recursively."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        for item in value if descriptor.is_repeated else [value]:
            with_unknown_fields(item)
    message.MergeFromString(UNKNOWN_FIELDS)
    return message


def test_unknown_fields_of_every_wire_type_at_every_level():
    rich = request(span(ALL_TYPES, events=[trace_pb2.Span.Event(name="e", attributes=key_values({"a": [1, {"b": 2}]}))],
                        links=[trace_pb2.Span.Link(trace_id=os.urandom(16), span_id=os.urandom(8))],
                        status=trace_pb2.Status(code=1)))  # fmt: skip
    rich.resource_spans[0].scope_spans[0].scope.attributes.extend(key_values({"x": {"y": [1]}}))
    plain = rich.SerializeToString()
    body = with_unknown_fields(rich).SerializeToString()
    assert len(body) > len(plain) + 30 * len(UNKNOWN_FIELDS)
    assert compare(body, expect_fast=True) == "fast"
    # ... and decode to the same table as without them.
    assert normalized(FAST.decode(body).tables["otel_traces"]) == normalized(FAST.decode(plain).tables["otel_traces"])


def test_field_order_and_last_scalar_wins():
    s = span({"a": 1})
    # Fields in reverse order, the resource and scope after the spans, scalars sent twice.
    span_body = b"".join(reversed([
        tag(1, 2) + varint(16) + s.trace_id, tag(2, 2) + varint(8) + s.span_id, tag(5, 2) + varint(1) + b"x",
        tag(7, 1) + struct.pack("<Q", 5), tag(8, 1) + struct.pack("<Q", 9), tag(6, 0) + varint(3),
        tag(9, 2) + varint(len(s.attributes[0].SerializeToString())) + s.attributes[0].SerializeToString(),
    ])) + tag(5, 2) + varint(1) + b"y" + tag(6, 0) + varint(2)  # fmt: skip
    scope = common_pb2.InstrumentationScope(name="sc").SerializeToString()
    scope_spans = tag(2, 2) + varint(len(span_body)) + span_body + tag(1, 2) + varint(len(scope)) + scope
    resource = resource_pb2.Resource(attributes=key_values({"service.name": "late"})).SerializeToString()
    resource_spans = tag(2, 2) + varint(len(scope_spans)) + scope_spans + tag(1, 2) + varint(len(resource)) + resource
    body = tag(1, 2) + varint(len(resource_spans)) + resource_spans
    assert compare(body, expect_fast=True) == "fast"
    row = FAST.decode(body).tables["otel_traces"].to_pylist()[0]
    assert (row["SpanName"], row["SpanKind"], row["ServiceName"], row["ScopeName"]) == ("y", "Server", "late", "sc")
    # An AnyValue with several scalar members: the last one wins.
    value = tag(1, 2) + varint(1) + b"s" + tag(3, 0) + varint(7)
    kv = tag(1, 2) + varint(1) + b"k" + tag(2, 2) + varint(len(value)) + value
    s2 = span()
    s2.MergeFromString(tag(9, 2) + varint(len(kv)) + kv)
    assert compare(request(s2).SerializeToString(), expect_fast=True) == "fast"


def test_merged_messages_fall_back():
    """Singular sub-messages sent twice are merged by protobuf; the C decoder leaves them to Python."""
    for extra in (tag(15, 2) + varint(2) + tag(3, 0) + varint(1),  # a second Status
                  tag(15, 2) + varint(0)):  # fmt: skip
        span_bytes = span(status=trace_pb2.Status(message="m")).SerializeToString() + extra
        assert compare(wrap_span(span_bytes)) == "fallback"
    # A second resource / scope, and a KeyValue with two values.
    resource = resource_pb2.Resource(attributes=key_values({"service.name": "a"})).SerializeToString()
    scope = common_pb2.InstrumentationScope(name="a").SerializeToString()
    kv = (
        common_pb2.KeyValue(key="k", value=any_value(1)).SerializeToString()
        + tag(2, 2)
        + varint(2)
        + tag(3, 0)
        + varint(2)
    )
    for body in (wrap_span(span().SerializeToString(), resource_extra=tag(1, 2) + varint(len(resource)) + resource),
                 wrap_span(span().SerializeToString(), scope_extra=tag(1, 2) + varint(len(scope)) + scope),
                 wrap_span(span().SerializeToString() + tag(9, 2) + varint(len(kv)) + kv)):  # fmt: skip
        assert compare(body) == "fallback"
    # An AnyValue with an array member and another member.
    array = any_value([1]).SerializeToString()
    for value in (array + array, array + tag(3, 0) + varint(1), tag(3, 0) + varint(1) + array):
        kv = tag(1, 2) + varint(1) + b"k" + tag(2, 2) + varint(len(value)) + value
        assert compare(wrap_span(span().SerializeToString() + tag(9, 2) + varint(len(kv)) + kv)) == "fallback"


def wrap_span(span_bytes: bytes, resource_extra: bytes = b"", scope_extra: bytes = b"") -> bytes:
    """A request around one raw span: for wire content protobuf classes would normalize away."""
    req = request()
    scope_spans = req.resource_spans[0].scope_spans[0].SerializeToString() + scope_extra
    scope_spans += tag(2, 2) + varint(len(span_bytes)) + span_bytes
    resource_spans = req.resource_spans[0].resource.SerializeToString()
    resource_spans = tag(1, 2) + varint(len(resource_spans)) + resource_spans + resource_extra
    resource_spans += tag(2, 2) + varint(len(scope_spans)) + scope_spans
    return tag(1, 2) + varint(len(resource_spans)) + resource_spans


def test_depth_limit():
    def field(number: int, payload: bytes) -> bytes:
        return tag(number, 2) + varint(len(payload)) + payload

    for depth in range(1, 45):
        # Built by hand: protobuf refuses to build messages this deep.
        nested_list = nested_map = any_value("leaf").SerializeToString()
        for _ in range(depth):
            nested_list = field(5, field(1, nested_list))  # AnyValue{array_value{values: [inner]}}
            nested_map = field(6, field(1, field(1, b"k") + field(2, nested_map)))  # AnyValue{kvlist_value{...}}
        for value in (nested_list, nested_map):
            outcome = compare(wrap_span(span().SerializeToString() + field(9, field(1, b"a") + field(2, value))))
            # Past the C limit: the Python path decodes it or rejects it (upb's own depth limit).
            assert outcome == "fast" if depth < fastotlp.MAX_DEPTH else outcome in ("fallback", "rejected"), depth


# -------------------------------------------------------------------------------------------------
# Invalid requests: C returns None, Python raises the error


def test_invalid_requests_are_left_to_python():
    def body_of(**kwargs):
        return request(span(**kwargs)).SerializeToString()

    cases = [
        body_of(trace_id=b"short"), body_of(span_id=b""), body_of(parent_span_id=b"123"),
        body_of(start_time_unix_nano=2**63), body_of(end_time_unix_nano=2**64 - 1),
        body_of(kind=6), body_of(kind=-1), body_of(status=trace_pb2.Status(code=3)),
        body_of(events=[trace_pb2.Span.Event(time_unix_nano=2**63)]),
        body_of(links=[trace_pb2.Span.Link(trace_id=os.urandom(16))]),
        body_of(links=[trace_pb2.Span.Link(span_id=os.urandom(8))]),
        request(span()).SerializeToString()[:-3], b"\x0a\xff", b"\x0a\x05\x12",
    ]  # fmt: skip
    for body in cases:
        assert fastotlp.decode_traces(body) is None
        with pytest.raises(OTLPDecodeError):
            PYTHON.decode(body)
        with pytest.raises(OTLPDecodeError):
            FAST.decode(body)


@pytest.mark.parametrize(
    "where",
    [
        "name",
        "trace_state",
        "status",
        "event",
        "event attr",
        "link state",
        "key",
        "value",
        "nested",
        "resource",
        "scope",
        "scope attr",
        "scope version",
        "schema",
    ],
)
def test_invalid_utf8_anywhere_is_left_to_python(where):
    marker = "ZZZZ"
    s = span({"key": "v"}, events=[trace_pb2.Span.Event(name="e", attributes=key_values({"ea": "v"}))],
             links=[trace_pb2.Span.Link(trace_id=os.urandom(16), span_id=os.urandom(8), trace_state="ls")])  # fmt: skip
    req = request(s)
    target = req.resource_spans[0].scope_spans[0].spans[0]
    if where == "name":
        target.name = marker
    elif where == "trace_state":
        target.trace_state = marker
    elif where == "status":
        target.status.message = marker
    elif where == "event":
        target.events[0].name = marker
    elif where == "event attr":
        target.events[0].attributes[0].value.string_value = marker
    elif where == "link state":
        target.links[0].trace_state = marker
    elif where == "key":
        target.attributes[0].key = marker
    elif where == "value":
        target.attributes[0].value.string_value = marker
    elif where == "nested":
        target.attributes.extend(key_values({"n": [{"x": marker}]}))
    elif where == "resource":
        req.resource_spans[0].resource.attributes.extend(key_values({"r": marker}))
    elif where == "scope":
        req.resource_spans[0].scope_spans[0].scope.name = marker
    elif where == "scope attr":
        req.resource_spans[0].scope_spans[0].scope.attributes.extend(key_values({marker: 1}))
    elif where == "scope version":
        req.resource_spans[0].scope_spans[0].scope.version = marker
    else:
        req.resource_spans[0].schema_url = marker
    for bad in (
        b"\xff\xfe\xfd\xfc",
        b"\xed\xa0\x80Z",
        b"\xc0\xafZZ",
        b"\xf4\x90\x80\x80",
    ):  # garbage, surrogate, overlong, > U+10FFFF
        body = req.SerializeToString().replace(marker.encode(), bad)
        assert fastotlp.decode_traces(body) is None
        with pytest.raises(OTLPDecodeError):
            PYTHON.decode(body)


def test_unmodelled_protobuf_features_fall_back():
    """Fields the C decoder does not model send the request to the Python path."""
    s = span()
    s.attributes.add(key="idx").value.string_value_strindex = 3
    assert compare(request(s).SerializeToString()) == "fallback"
    req = request(span())
    req.resource_spans[0].resource.entity_refs.add(type="service")
    assert compare(req.SerializeToString()) == "fallback"
    assert compare(request(span(), resource={"service.name": 5}).SerializeToString()) == "fallback"


def test_descriptors_match_what_the_c_decoder_knows():
    """A newer opentelemetry-proto with new fields must be looked at: the C decoder skips unknown field
    numbers without validating them, while protobuf would (e.g. UTF-8 of a new string field)."""
    known = {
        trace_pb2.ResourceSpans: {1, 2, 3}, trace_pb2.ScopeSpans: {1, 2, 3}, resource_pb2.Resource: {1, 2, 3},
        common_pb2.InstrumentationScope: {1, 2, 3, 4}, trace_pb2.Span: set(range(1, 17)),
        trace_pb2.Span.Event: {1, 2, 3, 4}, trace_pb2.Span.Link: {1, 2, 3, 4, 5, 6}, trace_pb2.Status: {2, 3},
        common_pb2.KeyValue: {1, 2, 3}, common_pb2.AnyValue: set(range(1, 9)), common_pb2.ArrayValue: {1},
        common_pb2.KeyValueList: {1}, ExportTraceServiceRequest: {1},
    }  # fmt: skip
    for message, numbers in known.items():
        assert {f.number for f in message.DESCRIPTOR.fields} == numbers, message.DESCRIPTOR.full_name


def test_pure_python_switch():
    assert FAST.fast and not PYTHON.fast
    code = "from smoltrace.collector.decode import TraceDecoder, _trace_decoder; print(TraceDecoder().fast, _trace_decoder.fast)"
    for value, expected in (("1", "False False"), ("", "True True")):
        env = dict(os.environ, SMOLTRACE_PURE_PYTHON_DECODE=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        assert out.strip() == expected


# -------------------------------------------------------------------------------------------------
# Property test: random valid requests

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_scalar = st.one_of(
    st.none(), _text, st.booleans(), st.integers(INT64_MIN, INT64_MAX),
    st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=10),
)  # fmt: skip
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(st.tuples(_text, inner), max_size=4).map(dict)),
    max_leaves=10,
)
_attributes = st.lists(st.tuples(_text, _value), max_size=6)
_ns = st.integers(0, INT64_MAX)


@st.composite
def _spans(draw):
    return span(
        draw(_attributes), trace_id=draw(st.binary(min_size=16, max_size=16)),
        span_id=draw(st.binary(min_size=8, max_size=8)),
        parent_span_id=draw(st.one_of(st.just(b""), st.binary(min_size=8, max_size=8))),
        name=draw(_text), trace_state=draw(_text), kind=draw(st.integers(0, 5)),
        start_time_unix_nano=draw(_ns), end_time_unix_nano=draw(_ns), flags=draw(st.integers(0, 2**32 - 1)),
        dropped_attributes_count=draw(st.integers(0, 2**32 - 1)),
        status=trace_pb2.Status(code=draw(st.integers(0, 2)), message=draw(_text)),
        events=[trace_pb2.Span.Event(time_unix_nano=t, name=n, attributes=key_values(a))
                for t, n, a in draw(st.lists(st.tuples(_ns, _text, _attributes), max_size=3))],
        links=[trace_pb2.Span.Link(trace_id=draw(st.binary(min_size=16, max_size=16)),
                                   span_id=draw(st.binary(min_size=8, max_size=8)), trace_state=ts,
                                   attributes=key_values(a), flags=7)
               for ts, a in draw(st.lists(st.tuples(_text, _attributes), max_size=2))],
    )  # fmt: skip


@st.composite
def _requests(draw):
    req = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        rs = req.resource_spans.add(schema_url=draw(_text))
        resource = draw(_attributes)
        if draw(st.booleans()):
            resource.insert(draw(st.integers(0, len(resource))), ("service.name", draw(_text)))
        rs.resource.attributes.extend(key_values(resource))
        for _ in range(draw(st.integers(0, 3))):
            ss = rs.scope_spans.add(schema_url=draw(_text))
            ss.scope.name, ss.scope.version = draw(_text), draw(_text)
            ss.scope.attributes.extend(key_values(draw(_attributes)))
            ss.spans.extend(draw(st.lists(_spans(), max_size=4)))
    return req


@settings(max_examples=int(os.environ.get("FAST_DECODER_PROPERTY_EXAMPLES", 300)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(req=_requests(), unknown=st.booleans())
def test_random_valid_requests_decode_identically(req, unknown):
    # service.name must be a string for the C path; a non-string one would be generated only by chance.
    if unknown:
        with_unknown_fields(req)
    assert compare(req.SerializeToString(), expect_fast=True) == "fast"


# -------------------------------------------------------------------------------------------------
# Fuzz: random and mutated bytes never crash, and never make the decoders disagree


def _seed_bodies() -> list[bytes]:
    rich = request(span(ALL_TYPES, events=[trace_pb2.Span.Event(name="e", attributes=key_values({"a": [1, {"b": b"x"}]}))],
                        links=[trace_pb2.Span.Link(trace_id=b"t" * 16, span_id=b"s" * 8, attributes=key_values({"l": 1.5}))],
                        status=trace_pb2.Status(code=2, message="m"), kind=3, parent_span_id=b"p" * 8),
                   span({"small": 1}))  # fmt: skip
    rich.resource_spans[0].scope_spans[0].scope.attributes.extend(key_values({"x": [1, "y"]}))
    return [rich.SerializeToString(), with_unknown_fields(rich).SerializeToString(), sdk_request()]


SEEDS = _seed_bodies()


def _mutate(seed: int, body_index: int, edits: list[tuple[int, int, int]]) -> bytes:
    data = bytearray(SEEDS[body_index % len(SEEDS)])
    rng = random.Random(seed)
    for kind, position, value in edits:
        if not data:
            break
        position %= len(data)
        if kind == 0:
            data[position] = value
        elif kind == 1:
            data[position] ^= 1 << (value % 8)
        elif kind == 2:
            del data[position : position + 1 + value % 8]
        elif kind == 3:
            data[position:position] = bytes(rng.randrange(256) for _ in range(1 + value % 8))
        elif kind == 4:  # duplicate a slice (repeated fields, sub-messages sent twice)
            end = position + 1 + value % 64
            data[position:position] = data[position:end]
        else:
            del data[position:]
    return bytes(data)


def _mutations(max_edits: int):
    edits = st.tuples(st.integers(0, 5), st.integers(0, 1 << 20), st.integers(0, 255))
    return st.builds(_mutate, st.integers(0, 2**32), st.integers(0, 2), st.lists(edits, min_size=1, max_size=max_edits))


# Mostly mutated valid requests (random bytes are nearly always rejected at once).
_fuzz_bodies = st.one_of(st.binary(max_size=400), _mutations(1), _mutations(2), _mutations(6))


@settings(max_examples=int(os.environ.get("FAST_DECODER_FUZZ_EXAMPLES", 1500)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(body=_fuzz_bodies)
def test_fuzzed_bodies_never_crash_and_never_disagree(body):
    compare(body)
