"""Run and trace ids that sort by time.

The store keeps spans in the order they arrive, and DuckDB skips a row group when its min/max
statistics rule it out. Ids that begin with the time put one run's rows side by side, so reading a run,
or a trace, touches the few row groups written while it ran instead of the whole store:

- trace ids begin with the Unix time in seconds (32 bits, as AWS X-Ray's trace ids do), then 96
  random bits: valid W3C trace ids that any OpenTelemetry tool accepts;
- run ids are UUIDv7 (RFC 9562): a 48-bit Unix time in milliseconds, then random bits, in the usual
  UUID text form.
"""

from __future__ import annotations

import random
import time
import uuid

from opentelemetry.sdk.trace.id_generator import IdGenerator

_random = random.SystemRandom()


class TimeOrderedIdGenerator(IdGenerator):
    def generate_trace_id(self) -> int:
        return (int(time.time()) & 0xFFFFFFFF) << 96 | _random.getrandbits(96)

    def generate_span_id(self) -> int:
        return _random.getrandbits(64) or 1  # never the invalid id 0


def new_run_id(now_ns: int | None = None) -> str:
    """A UUIDv7 string: the time in milliseconds, version 7, the RFC 4122 variant, 74 random bits."""
    millis = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    value = (millis & (1 << 48) - 1) << 80 | 0x7 << 76 | _random.getrandbits(12) << 64
    value |= 0b10 << 62 | _random.getrandbits(62)
    return str(uuid.UUID(int=value))
