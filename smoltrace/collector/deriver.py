"""The facts deriver: derives the facts of newly stored traces beside the writer, on a thread and a
DuckDB connection of its own (thread ``st-deriver``).

Why not in the writer's commit: deriving a trace (one JSON parse per span, the span-tree walk, a few
joins) costs more CPU than storing it, and the store stage is single-threaded; doing both there halved
durable ingest. Here it runs on the machine's other core while the writer keeps storing.

How nothing is missed: the writer queues, in the same transaction as the spans, the ids of the traces
whose facts must be (re)derived (``smoltrace_facts_queue``, see ``facts.traces_to_queue``). The deriver
takes every queued entry its transaction's snapshot sees, derives those traces from all their stored
spans, and deletes exactly those entries, in one transaction. A span committed after that snapshot
queues its trace again (its trace is then known: queued or derived), so it is derived in a later round.
The queue is durable with the spans: after a crash, the next start derives what is left.

Readers through the collector wait for the derivation of everything committed before their call
(``wait_until_derived``), so a run's own summary sees every task it just exported.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from smoltrace.collector import thread_names
from smoltrace.store import facts

log = logging.getLogger("smoltrace.collector")

#: Traces derived per statement batch: bounds the memory of one derivation (a trace of a real run
#: holds tens of spans of up to tens of KB of attributes each).
CHUNK_TRACES = 1_000
#: Queue entries taken per transaction (whole commits of the writer, at least one). Small: the writer's
#: checkpoint waits for the round in progress (DuckDB checkpoints only while no other transaction writes).
MAX_TRACES_PER_ROUND = 1_000
#: Wait before retrying after a failed derivation (a full disk, say); the queue keeps the work.
RETRY_AFTER_S = 1.0


class FactsDeriver:
    def __init__(self, connection):
        """``connection``: a DuckDB connection of its own to the store (a cursor of the writer's)."""
        self.connection = connection
        self.derive_s = 0.0
        self.derived_traces = 0
        self.failures = 0
        self._condition = threading.Condition()
        self._queued_seq = 0  # last queue sequence number committed by the writer
        self._derived_seq = 0  # every queue entry up to here is derived
        self._stopping = False
        self._lock = threading.Lock()  # held while deriving; exclusive actions take it too
        self._thread: threading.Thread | None = None

    def start(self, queued_seq: int) -> None:
        """Start the thread; ``queued_seq`` is the last sequence number in the durable queue (work left
        by a previous run of the collector is derived first)."""
        self._queued_seq = queued_seq
        self._thread = threading.Thread(target=self._loop, name="smoltrace-deriver", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Derive what is queued, then stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def queued(self, seq: int) -> None:
        """The writer committed queue entries up to ``seq``."""
        with self._condition:
            self._queued_seq = max(self._queued_seq, seq)
            self._condition.notify_all()

    def wait_until_derived(self, timeout_s: float) -> bool:
        """Wait until everything queued before the call is derived; False when ``timeout_s`` passed."""
        with self._condition:
            target = self._queued_seq
            return self._condition.wait_for(
                lambda: self._derived_seq >= target or not (self._thread and self._thread.is_alive()),
                timeout=timeout_s,
            )

    @contextlib.contextmanager
    def paused(self):
        """No derivation runs inside this block (for the writer's exclusive actions)."""
        with self._lock:
            yield

    def _loop(self) -> None:
        thread_names.name_this_thread(thread_names.DERIVER)
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._queued_seq > self._derived_seq or self._stopping)
                if self._queued_seq <= self._derived_seq:
                    return  # stopping, and nothing left
                target = self._queued_seq
            try:
                with self._lock:
                    last_seq = self._derive_queued()
            except Exception as exc:
                self.failures += 1
                if self._stopping:  # the store is closing (or reopening after a failed write): no retry
                    log.warning("deriving facts failed while stopping (%s); the queue keeps the work", exc)
                    return
                log.exception("deriving facts failed; the queued traces stay queued and are retried")
                time.sleep(RETRY_AFTER_S)
                continue
            with self._condition:  # an empty snapshot: every entry up to target was derived already
                self._derived_seq = max(self._derived_seq, target if last_seq is None else last_seq)
                self._condition.notify_all()

    def _derive_queued(self) -> int | None:
        """One transaction: derive the oldest queued traces (at most about MAX_TRACES_PER_ROUND, so that
        a checkpoint waiting for this round waits briefly), then forget those entries; returns the last
        queue entry derived, or None when the snapshot held none."""
        started = time.perf_counter()
        conn = self.connection
        conn.begin()
        try:
            last_seq, trace_ids = conn.execute(facts.TAKE_QUEUE_SQL, [MAX_TRACES_PER_ROUND]).fetchone()
            trace_ids = trace_ids or []
            for start in range(0, len(trace_ids), CHUNK_TRACES):
                facts.derive(conn, trace_ids[start : start + CHUNK_TRACES])
            if last_seq is not None:
                conn.execute(facts.FORGET_QUEUE_SQL, [last_seq])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        self.derived_traces += len(trace_ids)
        self.derive_s += time.perf_counter() - started
        return last_seq
