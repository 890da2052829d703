"""The run's heartbeat: a short ``smoltrace.run.heartbeat`` span every ``HEARTBEAT_S`` while it runs.

A runner killed with ``kill -9`` (or a machine that loses power) never sends its closing
``smoltrace.run`` span. Without a heartbeat such a run would show as ``running`` forever; with one,
``run_info`` calls a run ``abandoned`` once nothing of it arrived for ``ABANDONED_AFTER`` (see
smoltrace/store/views/25_runs.sql), and cleanup decides on that rather than on the run's age.
"""

from __future__ import annotations

import threading

from opentelemetry.context import Context

#: Seconds between two heartbeats.
HEARTBEAT_S = 30.0
#: Heartbeats missed before a run counts as abandoned: the view's `INTERVAL 3 MINUTE` (25_runs.sql).
ABANDONED_AFTER_S = 180.0


class Heartbeat:
    """Sends a heartbeat span carrying ``attributes`` every ``interval_s``, from a thread of its own."""

    def __init__(self, tracer, attributes: dict, interval_s: float = HEARTBEAT_S):
        self.tracer = tracer
        self.attributes = attributes
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="smoltrace-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tracer.start_span("smoltrace.run.heartbeat", context=Context(), attributes=self.attributes).end()
