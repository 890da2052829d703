"""OTLP attribute values → JSON text for the store's JSON attribute columns.

Two paths with the same output:
- ``key_values_to_json`` walks official ``KeyValue`` messages (resources, scopes, metrics, logs: low
  volume).
- ``RawAttributeEncoder`` is the span hot path. Spans are parsed with a shadow schema in which
  ``attributes`` is ``repeated bytes`` (a length-delimited field either way on the wire), so upb hands
  over each attribute's raw ``KeyValue`` bytes without building a Python message per attribute. Each
  distinct encoded attribute becomes a JSON fragment once and is cached: agent spans repeat most of
  their attributes (model, tool and span kinds, run ids), so the common case is a C-level dict lookup.

Type mapping: string, bool, int, double, array and kvlist keep their JSON type; bytes become base64
strings; NaN/±Infinity become the strings "NaN"/"Infinity"/"-Infinity" (JSON has no literal for them);
an unset value becomes null.
"""

from __future__ import annotations

import base64
import json
import math
from json.encoder import encode_basestring as _json_str  # C; same output as json.dumps(s, ensure_ascii=False)

from opentelemetry.proto.common.v1 import common_pb2

_KeyValue = common_pb2.KeyValue
# json.dumps(..., ensure_ascii=False) builds a new JSONEncoder on every call; build it once.
_dumps = json.JSONEncoder(ensure_ascii=False).encode
# Longer encoded attributes (prompts, outputs, unique ids with text) almost never repeat: caching them
# only churns the cache (clearing the repeated ones with them) and costs ~2x their size in RSS.
_MAX_CACHED_RAW = 128


class AttributeDecodeError(ValueError):
    """An attribute value that cannot be stored (bad UTF-8, malformed AnyValue bytes)."""


def _json_double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def any_value_to_python(value: common_pb2.AnyValue):
    """An official ``AnyValue`` as a JSON-ready Python value."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return _json_double(value.double_value)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if which == "array_value":
        return [any_value_to_python(item) for item in value.array_value.values]
    return {kv.key: any_value_to_python(kv.value) for kv in value.kvlist_value.values}


def key_values_to_python(key_values) -> dict:
    return {kv.key: any_value_to_python(kv.value) for kv in key_values}


def key_values_to_json(key_values) -> str:
    """Official ``repeated KeyValue`` → JSON object text."""
    if not key_values:
        return "{}"
    return json.dumps(key_values_to_python(key_values), ensure_ascii=False)


class RawAttributeEncoder:
    """Raw ``KeyValue`` wire bytes (one per attribute) → JSON object text, with a bounded cache.

    The cache maps a whole encoded attribute (key and value) to its JSON fragment, so a repeated
    attribute costs one C-level dict lookup and never builds a Python message.
    """

    def __init__(self, max_cached_fragments: int = 200_000):
        self._fragments: dict[bytes, str] = {}
        self._lookup = self._fragments.get
        self._max = max_cached_fragments

    def encode(self, raw_key_values) -> str:
        if not raw_key_values:
            return "{}"
        fragments = list(map(self._lookup, raw_key_values))
        if None in fragments:
            fragments = [
                fragment if fragment is not None else self._new_fragment(raw)
                for fragment, raw in zip(fragments, raw_key_values)
            ]
        return "{" + ",".join(fragments) + "}"

    def _new_fragment(self, raw: bytes) -> str:
        try:
            key_value = _KeyValue.FromString(raw)
        except Exception as exc:  # protobuf DecodeError, which also covers invalid UTF-8
            raise AttributeDecodeError(f"malformed attribute ({exc})") from None
        value = key_value.value
        if value.WhichOneof("value") == "string_value":  # the common case: no Python detour
            fragment = _json_str(key_value.key) + ":" + _json_str(value.string_value)
        else:
            fragment = _json_str(key_value.key) + ":" + _dumps(any_value_to_python(value))
        if len(raw) <= _MAX_CACHED_RAW:
            if len(self._fragments) >= self._max:
                self._fragments.clear()
            self._fragments[raw] = fragment
        return fragment
