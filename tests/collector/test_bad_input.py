"""Malformed requests get the protocol's error with a message that says what is wrong; the collector keeps
serving and nothing already stored is harmed."""

import gzip
import json
import math

import grpc
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otlp_requests import RawOTLPClient, gauge_request, trace_request

from smoltrace.collector import Collector

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}
SPAN = "resource_spans[0].scope_spans[0].spans[0]"


@pytest.fixture
def seeded(collector, rows):
    """A collector that already stores 3 spans, and a check that they are intact and it still serves."""
    client = RawOTLPClient(collector.grpc_endpoint)
    assert client.export("traces", trace_request(3, name="before").SerializeToString())[0] == grpc.StatusCode.OK

    def still_healthy():
        assert rows(collector, "SELECT count(*) AS n FROM otel_traces WHERE SpanName = 'before'") == [{"n": 3}]
        assert client.export("traces", trace_request(1, name="after").SerializeToString())[0] == grpc.StatusCode.OK
        assert rows(collector, "SELECT count(*) AS n FROM otel_traces WHERE SpanName = 'after'")[0]["n"] >= 1

    return collector, client, still_healthy


def with_invalid_utf8(marker: bytes, request) -> bytes:
    body = request.SerializeToString()
    assert body.count(marker) >= 1
    return body.replace(marker, b"\xff\xfe\xfd\xfc")


BAD_TRACE_BODIES = {
    "garbage": (b"\x00\x01garbage\xff" * 7, "request body is not a valid OTLP traces protobuf message"),
    "truncated": (trace_request(2).SerializeToString()[:-5], "request body is not a valid OTLP traces protobuf message"),
    "short trace id": (trace_request(1, trace_id=b"12345").SerializeToString(),
                       f"{SPAN}: trace_id must be 16 bytes, got 5"),
    "invalid utf-8 name": (with_invalid_utf8(b"ZZZZ", trace_request(1, name="ZZZZ")),
                           "request body is not a valid OTLP traces protobuf message"),
    "invalid utf-8 attribute": (with_invalid_utf8(b"ZZZZ", trace_request(1, attributes={"k": "ZZZZ"})),
                                f"{SPAN}: malformed attribute"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_TRACE_BODIES))
def test_bad_protobuf_over_grpc_is_invalid_argument(seeded, case):
    collector, client, still_healthy = seeded
    body, message = BAD_TRACE_BODIES[case]
    code, details = client.export("traces", body)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith(message)
    still_healthy()


@pytest.mark.parametrize("case", list(BAD_TRACE_BODIES))
def test_bad_protobuf_over_http_is_400_with_status_body(seeded, case):
    from google.rpc import status_pb2

    collector, _, still_healthy = seeded
    body, message = BAD_TRACE_BODIES[case]
    response = httpx.post(f"{collector.http_endpoint}/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 400
    status = status_pb2.Status.FromString(response.content)
    assert status.code == 3  # INVALID_ARGUMENT
    assert status.message.startswith(message)
    still_healthy()


def test_wrong_span_id_and_link_lengths_name_the_field(seeded):
    collector, client, still_healthy = seeded
    request = trace_request(2)
    request.resource_spans[0].scope_spans[0].spans[1].span_id = b"\x01\x02"
    assert client.export("traces", request.SerializeToString()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "resource_spans[0].scope_spans[0].spans[1]: span_id must be 8 bytes, got 2",
    )
    request = trace_request(1)
    request.resource_spans[0].scope_spans[0].spans[0].links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 3)
    assert client.export("traces", request.SerializeToString()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{SPAN}: link span_id must be 8 bytes, got 3",
    )
    still_healthy()


def test_a_rejected_request_stores_nothing_of_itself(seeded, rows):
    collector, client, still_healthy = seeded
    request = trace_request(5, name="half-bad")
    request.resource_spans[0].scope_spans[0].spans[4].trace_id = b""
    assert client.export("traces", request.SerializeToString())[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert rows(collector, "SELECT count(*) AS n FROM otel_traces WHERE SpanName = 'half-bad'") == [{"n": 0}]
    still_healthy()


def test_empty_requests_are_accepted_and_store_nothing(seeded, rows):
    collector, client, still_healthy = seeded
    for signal in ("traces", "metrics", "logs"):
        assert client.export(signal, b"") == (grpc.StatusCode.OK, "")
        response = httpx.post(f"{collector.http_endpoint}/v1/{signal}", content=b"{}", headers=JSON)
        assert (response.status_code, response.content) == (200, b"{}")
    assert rows(collector, "SELECT count(*) AS n FROM otel_traces") == [{"n": 3}]
    still_healthy()


def test_nan_and_infinite_metric_values_are_stored_as_such(seeded, rows):
    collector, client, still_healthy = seeded
    body = gauge_request([math.nan, math.inf, -math.inf, 1.5]).SerializeToString()
    assert client.export("metrics", body) == (grpc.StatusCode.OK, "")
    values = [r["Value"] for r in rows(collector, "SELECT Value FROM otel_metrics_gauge ORDER BY TimeUnix")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5]
    still_healthy()


def test_nan_attribute_values_become_strings(seeded, rows):
    collector, client, still_healthy = seeded
    request = trace_request(1, name="nan-attr")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.add(key="ratio").value.double_value = math.nan
    span.attributes.add(key="ceiling").value.double_value = -math.inf
    span.attributes.add(key="blob").value.bytes_value = b"\x00\x01"
    assert client.export("traces", request.SerializeToString())[0] == grpc.StatusCode.OK
    stored = rows(collector, "SELECT SpanAttributes AS a FROM otel_traces WHERE SpanName = 'nan-attr'")[0]["a"]
    assert json.loads(stored) == {"index": 0, "ratio": "NaN", "ceiling": "-Infinity", "blob": "AAE="}
    still_healthy()


def test_http_errors(seeded):
    collector, _, still_healthy = seeded
    url = f"{collector.http_endpoint}/v1/traces"
    response = httpx.post(url, content=b"{not json", headers=JSON)
    assert response.status_code == 400
    assert response.json()["message"].startswith("request body is not valid JSON: ")

    response = httpx.post(url, content=b"<xml/>", headers={"content-type": "text/xml"})
    assert (response.status_code, response.json()["message"]) == (
        415,
        "unsupported content type 'text/xml': use application/x-protobuf or application/json",
    )

    response = httpx.post(url, content=b"not gzip", headers={**PROTOBUF, "content-encoding": "gzip"})
    assert response.status_code == 400
    assert "body is not valid gzip" in response.text

    response = httpx.post(url, content=b"x", headers={**PROTOBUF, "content-encoding": "br"})
    assert response.status_code == 415

    bad_id = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "00" * 8, "name": "x"}]}]}]}
    response = httpx.post(url, json=bad_id)
    assert (response.status_code, response.json()["message"]) == (400, "traceId is not a hex string: 'zz'")

    response = httpx.get(url)
    assert response.status_code == 405
    still_healthy()


def test_oversized_bodies_are_refused(store_path, rows):
    with Collector.embedded(db_path=store_path, max_request_bytes=50_000) as collector:
        body = trace_request(1, attributes={"big": "x" * 60_000}).SerializeToString()
        code, _ = RawOTLPClient(collector.grpc_endpoint).export("traces", body)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        url = f"{collector.http_endpoint}/v1/traces"
        assert httpx.post(url, content=body, headers=PROTOBUF).status_code == 413
        # a gzip bomb is caught on the decompressed size, not the wire size
        bomb = gzip.compress(b"\x00" * 1_000_000)
        assert len(bomb) < 50_000
        response = httpx.post(url, content=bomb, headers={**PROTOBUF, "content-encoding": "gzip"})
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/x-protobuf"
        assert rows(collector, "SELECT count(*) AS n FROM otel_traces") == [{"n": 0}]


def test_gzip_and_json_bodies_are_accepted(collector, rows):
    url = f"{collector.http_endpoint}/v1/traces"
    request = trace_request(2, name="gz")
    response = httpx.post(url, content=gzip.compress(request.SerializeToString()),
                          headers={**PROTOBUF, "content-encoding": "gzip"})  # fmt: skip
    assert response.status_code == 200
    document = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
        "scopeSpans": [{"scope": {"name": "j"}, "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "parentSpanId": "eee19b7ec3c1b173", "name": "json-span", "kind": 2,
            "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712661000000000",
            "attributes": [{"key": "n", "value": {"intValue": "7"}}],
        }]}],
    }]}  # fmt: skip
    response = httpx.post(url, content=gzip.compress(json.dumps(document).encode()),
                          headers={**JSON, "content-encoding": "gzip"})  # fmt: skip
    assert (response.status_code, response.content) == (200, b"{}")
    stored = rows(collector, "SELECT TraceId, SpanId, ParentSpanId, SpanKind, ServiceName, Duration, SpanAttributes "
                             "FROM otel_traces WHERE SpanName = 'json-span'")  # fmt: skip
    assert stored == [{"TraceId": "5b8efff798038103d269b633813fc60c", "SpanId": "eee19b7ec3c1b174",
                       "ParentSpanId": "eee19b7ec3c1b173", "SpanKind": "Server", "ServiceName": "json-svc",
                       "Duration": 1_000_000_000, "SpanAttributes": '{"n":7}'}]  # fmt: skip
    assert rows(collector, "SELECT count(*) AS n FROM otel_traces WHERE SpanName = 'gz'") == [{"n": 2}]


# -- fuzzing: random and mutated bytes at both endpoints ----------------------------------------------

VALID = trace_request(3, name="fuzz-base").SerializeToString()


def mutated(data: bytes, positions: list[int], values: list[int]) -> bytes:
    buffer = bytearray(data)
    for position, value in zip(positions, values):
        buffer[position % len(buffer)] = value
    return bytes(buffer)


fuzz_bodies = st.one_of(
    st.binary(max_size=2_000),
    st.builds(mutated, st.just(VALID), st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
              st.lists(st.integers(0, 255), min_size=6, max_size=6)),
    st.builds(lambda cut: VALID[:cut], st.integers(0, len(VALID))),
)  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    with Collector.embedded(db_path=tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb") as collector:
        yield collector, RawOTLPClient(collector.grpc_endpoint), httpx.Client(base_url=collector.http_endpoint)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=fuzz_bodies, signal=st.sampled_from(["traces", "metrics", "logs"]))
def test_fuzzed_bodies_get_ok_or_invalid_argument_never_a_crash(fuzz_target, body, signal):
    collector, client, http = fuzz_target
    code, details = client.export(signal, body)
    assert code in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT), (code, details)
    for content_type in ("application/x-protobuf", "application/json"):
        response = http.post(f"/v1/{signal}", content=body, headers={"content-type": content_type})
        assert response.status_code in (200, 400), (response.status_code, response.text)
    assert client.export("traces", trace_request(1).SerializeToString())[0] == grpc.StatusCode.OK
