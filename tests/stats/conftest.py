"""A real store (schema, views, macros) holding task facts written directly: each test states every
try's verdict and values, so the statistics views can be checked against hand-computed numbers and
reference implementations. (How the facts come from real spans is tested in tests/store; a real run
with --repeats is in test_repeats.py.)"""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from smoltrace.store import database, facts

FACT_COLUMNS = (
    "run_id",
    "trace_id",
    "span_id",
    "model",
    "provider",
    "agent_type",
    "task_id",
    "task_uid",
    "repeat_index",
    "difficulty",
    "category",
    "prompt",
    "expected_keywords",
    "response",
    "stop_reason",
    "start_time",
    "execution_time_ms",
    "tools_used",
    "tool_calls",
    "final_answer_calls",
    "keywords_found",
    "steps",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "span_count",
)
RUN_SPAN_COLUMNS = ("run_id", "trace_id", "span_id", "span_name", "attributes", "start_time", "duration_ns")
T0 = dt.datetime(2026, 11, 1)


def stop_reason(flag) -> str:
    """A try's flag: 1 succeeds (final answer), 0 fails (max steps), None was stopped by Ctrl-C."""
    return "interrupted" if flag is None else "final_answer" if flag else "max_steps"


class StatsStore:
    """A store file with runs made of stated tries."""

    def __init__(self, path):
        self.path = path
        self.conn = database.connect(path)
        self._ids = itertools.count()

    def close(self) -> None:
        self.conn.close()

    def add_run(
        self,
        run_id: str,
        outcomes: dict[str, list],
        *,
        agent_type: str = "tool",
        status: str | None = "completed",
        dataset: str = "suite.jsonl",
        revision: str | None = None,
        tokens=None,
        durations=None,
        costs=None,
        prompts: dict[str, str] | None = None,
    ) -> None:
        """``outcomes``: task id -> one flag per try (repeat 0, 1, ...; see stop_reason). ``tokens``, ``durations``,
        ``costs``: task id -> one value per try (default 100, 1000.0, None). ``status`` None: no run record."""
        rows = []
        for task_id, flags in outcomes.items():
            for repeat, success in enumerate(flags):
                n = next(self._ids)
                facts = {
                    "run_id": run_id,
                    "trace_id": f"trace-{n:06d}",
                    "span_id": f"span-{n:06d}",
                    "model": "gpt-4o-mini",
                    "provider": "litellm",
                    "agent_type": agent_type,
                    "task_id": task_id,
                    "task_uid": f"{agent_type}:{task_id}",
                    "repeat_index": repeat,
                    "difficulty": "easy",
                    "category": "weather",
                    "prompt": (prompts or {}).get(task_id, f"do {task_id}"),
                    "expected_keywords": [],  # no keywords and no expected tool: the verdict is the final answer
                    "response": "an answer",
                    "stop_reason": stop_reason(success),
                    "start_time": T0 + dt.timedelta(seconds=n),
                    "execution_time_ms": (durations or {}).get(task_id, [1000.0] * len(flags))[repeat],
                    "tools_used": ["get_weather"],
                    "tool_calls": 2,
                    "final_answer_calls": int(bool(success)),
                    "keywords_found": 0,
                    "steps": 2,
                    "llm_calls": 2,
                    "prompt_tokens": 60,
                    "completion_tokens": 40,
                    "total_tokens": (tokens or {}).get(task_id, [100] * len(flags))[repeat],
                    "cost_usd": (costs or {}).get(task_id, [None] * len(flags))[repeat],
                    "span_count": 5,
                }
                rows.append([facts[column] for column in FACT_COLUMNS])
        if rows:
            placeholders = ", ".join("?" * len(FACT_COLUMNS))
            self.conn.executemany(
                f"INSERT INTO smoltrace_task_facts ({', '.join(FACT_COLUMNS)}) VALUES ({placeholders})", rows
            )
        if status is not None:
            self.add_run_record(run_id, status=status, dataset=dataset, revision=revision, agent_type=agent_type)

    def add_run_record(self, run_id: str, *, status: str, dataset: str, revision: str | None, agent_type: str) -> None:
        attributes = {
            "smoltrace.run.id": run_id,
            "smoltrace.model.id": "gpt-4o-mini",
            "smoltrace.provider": "litellm",
            "smoltrace.run.agent_types": agent_type,
            "smoltrace.dataset.name": dataset,
        }
        if revision is not None:
            attributes["smoltrace.dataset.revision"] = revision
        spans = [
            (run_id, f"run-{run_id}", f"started-{run_id}", "smoltrace.run.started", json.dumps(attributes), T0, 1000)
        ]
        if status == "running":  # a live runner's heartbeat is recent (a silent one's run is 'abandoned')
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            beat = json.dumps({"smoltrace.run.id": run_id})
            spans.append((run_id, f"beat-{run_id}", f"beat-{run_id}", "smoltrace.run.heartbeat", beat, now, 1000))
        else:
            spans.append(
                (
                    run_id,
                    f"run-{run_id}",
                    f"run-{run_id}",
                    "smoltrace.run",
                    json.dumps({**attributes, "smoltrace.run.status": status}),
                    T0,
                    10**9,
                )
            )
        self.conn.executemany(
            f"INSERT INTO smoltrace_run_spans ({', '.join(RUN_SPAN_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(RUN_SPAN_COLUMNS))})",
            spans,
        )
        facts.derive_runs(self.conn, [run_id])  # run_info reads the run's derived row (as the collector writes it)

    def query(self, sql: str, params=None) -> list[dict]:
        result = self.conn.execute(sql, params or [])
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]

    def one(self, sql: str, params=None) -> dict:
        (row,) = self.query(sql, params)
        return row


@pytest.fixture
def store(tmp_path):
    stats_store = StatsStore(tmp_path / "stats.duckdb")
    yield stats_store
    stats_store.close()
