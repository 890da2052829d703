"""smoltrace-eval --resume RUN_ID: a run stopped part-way (Ctrl-C, kill -9) is resumed; exactly the
executions that did not finish run again, under the same run id, and results holds one row per execution."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import smoltrace
from smoltrace.collector import Collector
from smoltrace.runner import heartbeat
from smoltrace.runner import run as run_module
from smoltrace.runner.resume import is_transient
from smoltrace.runner.scripted import ScriptedModel, call
from smoltrace.store import database
from smoltrace.store.reader import CollectorReader, ReadError
from tests.eval.conftest import WEATHER_TASK
from tests.eval.test_eval_cli import ENV, eval_cli, store_rows

#: litellm's mock answers, recorded as the run's --model-args: what the resumed runs (the CLI, which
#: builds the model from the recorded configuration) answer: final_answer("done").
ANSWER_DONE = {
    "mock_response": "",
    "mock_tool_calls": [
        {"id": "c0", "type": "function", "function": {"name": "final_answer", "arguments": '{"answer": "done"}'}}
    ],
}

#: The first part of a run: a scripted model that answers "first", except task 2, whose every call is
#: rate limited (a transient error: run again by --resume), and task 3, a lasting error (kept).
FIRST_PART = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell starts background jobs with SIGINT ignored
import litellm
from smoltrace.cli.eval import evaluate
from smoltrace.runner.config import EvalConfig
from smoltrace.runner.scripted import ScriptedModel, call


class Flaky(ScriptedModel):
    def generate(self, messages, *args, **kwargs):
        prompt = str(messages[1].content)
        if "task 2'" in prompt or prompt.endswith("task 2"):
            raise litellm.RateLimitError(message="slow down", llm_provider="openai", model="gpt-4o-mini")
        if "task 3'" in prompt or prompt.endswith("task 3"):
            raise ValueError("a bad request")
        return super().generate(messages, *args, **kwargs)


model = Flaky(default=call("final_answer", answer="first"), delay_s={delay})
config = EvalConfig(model="gpt-4o-mini", agent_type="tool", dataset_name={tasks!r}, db_path={db!r}, run_id={run_id!r},
                    quiet=True, output_format="json", output_dir={out!r}, model_factory=lambda: model,
                    model_args={answer!r}, repeats={repeats}, parallel_workers={workers})
sys.exit(evaluate(config))
"""

#: One execution's row and its traces, read back through a collector (which first stores what a killed
#: runner's collector had acknowledged).
EXECUTIONS = """
SELECT r.agent_type, r.task_id, r.repeat_index, r.stop_reason, r.error, r.response, r.trace_id,
       (SELECT list(f.trace_id ORDER BY f.trace_id) FROM smoltrace_task_facts AS f
         WHERE f.run_id = r.run_id AND f.agent_type = r.agent_type AND f.task_id = r.task_id
           AND f.repeat_index = r.repeat_index) AS traces
FROM results AS r
WHERE r.run_id = ?
ORDER BY r.agent_type, r.task_id, r.repeat_index
"""
RUNNING_REFUSAL = (
    "Error: run {run_id} is running: its runner sent a heartbeat less than 3 minutes ago, so another smoltrace-eval "
    "may still be running it; resume it once it shows as abandoned, or pass --force if you know its runner is gone"
)


def write_tasks(tmp_path, count):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": f"t{i}", "prompt": f"task {i}", "difficulty": "easy"} for i in range(count)]))
    return tasks


def start_first_part(tmp_path, tasks, run_id, *, repeats=1, workers=1, delay=0.4):
    db = tmp_path / "s.duckdb"
    script = tmp_path / "first_part.py"
    script.write_text(
        textwrap.dedent(FIRST_PART).format(
            delay=delay,
            tasks=str(tasks),
            db=str(db),
            run_id=run_id,
            out=str(tmp_path / "out1"),
            answer=ANSWER_DONE,
            repeats=repeats,
            workers=workers,
        )  # fmt: skip
    )
    process = subprocess.Popen([sys.executable, str(script)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    return db, process


def stop_when_finished(process, db, count, signum):
    """Watch the run through its embedded collector's query API; send ``signum`` once ``count`` task
    executions have finished."""
    discovery = Path(f"{db}.collector.json")
    deadline = time.monotonic() + 90
    finished = 0
    while finished < count and time.monotonic() < deadline:
        time.sleep(0.1)
        if discovery.exists():
            try:
                reader = CollectorReader(json.loads(discovery.read_text())["http_endpoint"])
                finished = reader.query("SELECT count(*) AS n FROM task_spans")[0]["n"]
            except (ReadError, ValueError, KeyError, OSError):
                pass
    assert finished >= count, "the run never finished enough tasks"
    assert process.poll() is None, "the run ended before it could be stopped"
    process.send_signal(signum)
    return process.communicate(timeout=60)


def executions(db, run_id):
    """{(agent type, task id, repeat): row}, read through a collector started on the store."""
    with Collector.embedded(db_path=db) as collector:
        rows = CollectorReader(collector.http_endpoint).query(EXECUTIONS, [run_id])
    return {(row["agent_type"], row["task_id"], row["repeat_index"]): row for row in rows}


def expected_resume(before, planned_keys):
    """What --resume must run, from the stored rows: the missing executions, the interrupted ones and the
    rate-limited ones (task t2)."""
    never = [key for key in planned_keys if key not in before]
    interrupted = [key for key, row in before.items() if row["stop_reason"] == "interrupted"]
    transient = [key for key, row in before.items() if row["stop_reason"] == "error" and key[1] == "t2"]
    for key in transient:
        assert "litellm.RateLimitError: slow down (caused by litellm.exceptions.RateLimitError)" in before[key]["error"]
    return never, interrupted, transient


def check_resumed(db, run_id, before, planned_keys, rerun, lasting_error_keys):
    """results holds one row per planned execution; every execution in ``rerun`` has exactly one trace
    more than before, and it is the one results shows; every other execution is untouched."""
    after = executions(db, run_id)
    assert sorted(after) == sorted(planned_keys)
    rows = store_rows(db, "SELECT agent_type, task_id, repeat_index, count(*) AS n FROM results WHERE run_id = ? "
                          "GROUP BY ALL HAVING n <> 1", [run_id])  # fmt: skip
    assert rows == []
    for key in planned_keys:
        old = before[key]["traces"] if key in before else []
        if key in rerun:
            (new,) = set(after[key]["traces"]) - set(old)
            assert len(after[key]["traces"]) == len(old) + 1, key
            assert after[key]["trace_id"] == new, key
            assert (after[key]["stop_reason"], after[key]["response"]) == ("final_answer", "done"), key
        else:
            assert after[key]["traces"] == old, key
            assert after[key]["trace_id"] == before[key]["trace_id"], key
    for key in lasting_error_keys:
        assert after[key]["stop_reason"] == "error" and "a bad request (caused by ValueError)" in after[key]["error"]
    new_traces = sum(len(row["traces"]) for row in after.values()) - sum(len(row["traces"]) for row in before.values())
    assert new_traces == len(rerun)
    (run,) = store_rows(db, "SELECT status, planned_tasks, completed_tasks FROM runs WHERE run_id = ?", [run_id])
    assert run == {"status": "completed", "planned_tasks": len(planned_keys), "completed_tasks": len(planned_keys)}


def resume_message(run_id, planned, never, interrupted, transient):
    rerun = len(never) + len(interrupted) + len(transient)
    return (f"Resuming run {run_id}: {planned - rerun} of {planned} task executions finished; running {rerun} "
            f"({len(never)} never finished, {len(interrupted)} interrupted, {len(transient)} failed with a "
            f"transient error)")  # fmt: skip


def test_a_run_stopped_by_ctrl_c_is_resumed_with_exactly_what_did_not_finish(tmp_path):
    tasks = write_tasks(tmp_path, 12)
    db, process = start_first_part(tmp_path, tasks, "stopped")
    _, stderr = stop_when_finished(process, db, 5, signal.SIGINT)  # t0..t4 finished: t2 rate limited, t3 failed
    assert process.returncode == 130, stderr
    assert "smoltrace-eval --resume stopped runs the rest" in " ".join(stderr.split())
    planned_keys = [("tool", f"t{i}", 0) for i in range(12)]
    before = executions(db, "stopped")
    never, interrupted, transient = expected_resume(before, planned_keys)
    of_them = f" ({len(interrupted)} of them stopped part-way, recorded as interrupted)" if interrupted else ""
    assert (f"Run stopped interrupted: {len(before)} of 12 task executions are kept in the store{of_them}; "
            "the run is recorded as interrupted") in " ".join(stderr.split())  # fmt: skip
    assert len(transient) == 1 and len(never) >= 1
    assert before[("tool", "t3", 0)]["stop_reason"] == "error"

    out = tmp_path / "out2"
    result = eval_cli("--resume", "stopped", "--db", str(db), "--output-format", "json", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert resume_message("stopped", 12, never, interrupted, transient) in result.stderr
    check_resumed(db, "stopped", before, planned_keys, set(never + interrupted + transient), [("tool", "t3", 0)])
    # the summary and the files cover the whole run, one row per execution
    assert "TOOL AGENT SUMMARY\nTotal: 12, Success: 0/12 (0.0%)" in result.stdout
    (folder,) = out.iterdir()
    assert len(json.loads((folder / "results.json").read_text())) == 12
    assert len(json.loads((folder / "traces.json").read_text())) == 12
    metadata = json.loads((folder / "metadata.json").read_text())
    assert (metadata["status"], metadata["planned_tasks"], metadata["completed_tasks"]) == ("completed", 12, 12)
    # the run started when it first started; its closing span is the resumed part's
    spans = store_rows(db, "SELECT span_name, count(*) AS n FROM smoltrace_run_spans WHERE run_id = 'stopped' "
                           "AND span_name <> 'smoltrace.run.heartbeat' GROUP BY ALL ORDER BY ALL")  # fmt: skip
    assert spans == [{"span_name": "smoltrace.run", "n": 2}, {"span_name": "smoltrace.run.started", "n": 2}]
    (run,) = store_rows(db, "SELECT started_at FROM runs WHERE run_id = 'stopped'")
    (first,) = store_rows(db, "SELECT min(start_time) AS t FROM smoltrace_run_spans WHERE run_id = 'stopped' "
                              "AND span_name = 'smoltrace.run.started'")  # fmt: skip
    assert run["started_at"] == first["t"]

    # once everything finished, there is nothing left to do
    again = eval_cli("--resume", "stopped", "--db", str(db), "--output-format", "json", "--output-dir", str(out))
    assert again.returncode == 0, again.stderr
    assert again.stdout == "Run stopped is completed and all 12 of its task executions finished: nothing to resume.\n"


def test_a_run_with_repeats_is_resumed_per_try(tmp_path):
    tasks = write_tasks(tmp_path, 8)
    db, process = start_first_part(tmp_path, tasks, "tries", repeats=2, workers=2)
    _, stderr = stop_when_finished(process, db, 4, signal.SIGINT)
    assert process.returncode == 130, stderr
    planned_keys = [("tool", f"t{i}", repeat) for repeat in range(2) for i in range(8)]
    before = executions(db, "tries")
    never, interrupted, transient = expected_resume(before, planned_keys)
    assert len(never) >= 1

    result = eval_cli("--resume", "tries", "--db", str(db), "--parallel-workers", "3", "--output-format", "json",
                      "--output-dir", str(tmp_path / "out2"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert resume_message("tries", 16, never, interrupted, transient) in result.stderr
    lasting = [key for key in planned_keys if key[1] == "t3" and key in before]
    check_resumed(db, "tries", before, planned_keys, set(never + interrupted + transient), lasting)
    tries = store_rows(
        db, "SELECT repeat_index, count(*) AS n FROM results WHERE run_id = 'tries' GROUP BY 1 ORDER BY 1"
    )
    assert tries == [{"repeat_index": 0, "n": 8}, {"repeat_index": 1, "n": 8}]
    (stats,) = store_rows(db, "SELECT min_tries, max_tries FROM run_stats WHERE run_id = 'tries'")
    assert (stats["min_tries"], stats["max_tries"]) == (2, 2)


def test_a_killed_run_is_resumed_only_with_force_while_it_still_looks_running(tmp_path):
    tasks = write_tasks(tmp_path, 12)
    db, process = start_first_part(tmp_path, tasks, "killed")
    stop_when_finished(process, db, 3, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL

    refused = eval_cli("--resume", "killed", "--db", str(db), "--output-format", "json")
    assert refused.returncode == 2
    # (the collector first stores what the killed runner's collector had acknowledged, and says so)
    assert refused.stderr.splitlines()[-1] == RUNNING_REFUSAL.format(run_id="killed")
    assert "Traceback" not in refused.stderr

    planned_keys = [("tool", f"t{i}", 0) for i in range(12)]
    before = executions(db, "killed")
    never, interrupted, transient = expected_resume(before, planned_keys)
    assert interrupted == [] and len(never) >= 1  # a killed execution never ended: it is missing

    result = eval_cli("--resume", "killed", "--force", "--db", str(db), "--output-format", "json", "--output-dir",
                      str(tmp_path / "out2"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert resume_message("killed", 12, never, interrupted, transient) in result.stderr
    lasting = [key for key in planned_keys if key[1] == "t3" and key in before]
    check_resumed(db, "killed", before, planned_keys, set(never + transient), lasting)


def test_a_resumed_run_sends_heartbeats_and_ends_with_its_new_status(evaluation, monkeypatch):
    """In-process: every call of the first part is rate limited; the resume (the Python API, with a model
    of its own) runs every execution again while sending heartbeats, and closes the run."""
    import litellm

    monkeypatch.setattr(heartbeat.Heartbeat.__init__, "__defaults__", (0.2,))  # a beat every 0.2 s
    limited = ScriptedModel(fail_with=litellm.RateLimitError(message="slow down", llm_provider="openai",
                                                             model="gpt-4o-mini"))  # fmt: skip
    tasks = [{**WEATHER_TASK, "id": "a"}, {**WEATHER_TASK, "id": "b"}]
    *_, run_id = evaluation.run(tasks, limited, trace_litellm=False)
    first = evaluation.query("SELECT task_id, stop_reason FROM results ORDER BY task_id")
    assert first == [{"task_id": "a", "stop_reason": "error"}, {"task_id": "b", "stop_reason": "error"}]

    answering = ScriptedModel(default=call("final_answer", answer="18°C, Clear"), delay_s=0.5)
    logged = []
    report = run_module.run(
        run_module.EvalConfig(model="", resume=run_id, db_path=evaluation.db_path, quiet=True,
                              model_factory=lambda: answering),
        log=logged.append,
    )  # fmt: skip
    run_module.close_reader(report)
    assert logged == [
        f"Resuming run {run_id}: 0 of 2 task executions finished; running 2 (0 never finished, 0 interrupted, "
        f"2 failed with a transient error)"
    ]
    assert (report.status, report.planned, len(report.outcomes)) == ("completed", 2, 2)
    rows = evaluation.query("SELECT task_id, stop_reason, response FROM results ORDER BY task_id")
    assert rows == [{"task_id": "a", "stop_reason": "final_answer", "response": "18°C, Clear"},
                    {"task_id": "b", "stop_reason": "final_answer", "response": "18°C, Clear"}]  # fmt: skip
    (resumed_at,) = evaluation.query(
        "SELECT max(start_time) AS t FROM smoltrace_run_spans WHERE span_name = 'smoltrace.run.started'"
    )
    beats = evaluation.query(
        "SELECT count(*) AS n FROM smoltrace_run_spans WHERE span_name = 'smoltrace.run.heartbeat' AND start_time > ?",
        [resumed_at["t"]],
    )
    assert beats[0]["n"] >= 3  # two tasks of 0.5 s each, a beat every 0.2 s
    (run,) = evaluation.query("SELECT status, planned_tasks, completed_tasks FROM runs")
    assert run == {"status": "completed", "planned_tasks": 2, "completed_tasks": 2}


def test_refusals_are_one_line(tmp_path, evaluation, monkeypatch):
    db = evaluation.db_path
    missing = eval_cli("--resume", "nope", "--db", str(tmp_path / "none.duckdb"), "--output-format", "json")
    assert (missing.returncode, missing.stderr) == (
        2,
        f"Error: no run nope in store {tmp_path / 'none.duckdb'}: there is no store at that path (pass --db)\n",
    )
    # a run recorded before runs stored their configuration for --resume
    monkeypatch.setattr(run_module, "RESUME_ATTRIBUTE", "smoltrace.run.not_the_resume_record")
    *_, run_id = evaluation.run([WEATHER_TASK], ScriptedModel(default=call("final_answer", answer="x")))
    old = eval_cli("--resume", run_id, "--db", str(db), "--output-format", "json")
    assert (old.returncode, old.stderr) == (
        2,
        f"Error: run {run_id} cannot be resumed: it was recorded by smoltrace {smoltrace.__version__}, which did not "
        f"store the configuration needed to run it again; start a new run with the same flags\n",
    )
    unknown = eval_cli("--resume", "nope", "--db", str(db), "--output-format", "json")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        f'Error: no run nope in store {db}; list runs with smoltrace-query "SELECT run_id, model, status, '
        f'completed_tasks, planned_tasks FROM latest_runs(20)"\n',
    )
    flags = eval_cli(
        "--resume", run_id, "--db", str(db), "--model", "gpt-4o", "--limit", "2", "--parallel-workers", "2"
    )
    assert flags.returncode == 2 and "Traceback" not in flags.stderr
    assert flags.stderr.endswith(
        "Error: --resume takes the run's configuration from the store: --model, --limit cannot be given with it "
        "(with --resume only --parallel-workers, --task-timeout, --mcp-server-url and --search-url (the run's own "
        "again, for their query strings), --hf-token, --output-format, --output-dir, --private/--public, --quiet, "
        "--debug, --force may be given, and where the store is)\n"
    )
    no_model = eval_cli("--output-format", "json", "--db", str(db))
    assert no_model.returncode == 2 and no_model.stderr.endswith("Error: Missing option '--model'.\n")
    force = eval_cli("--model", "gpt-4o-mini", "--force", "--output-format", "json", "--db", str(db))
    assert force.returncode == 2 and force.stderr.endswith("Error: --force only goes with --resume RUN_ID\n")


@pytest.mark.parametrize(
    ("stop_reason", "error", "transient"),
    [
        ("error", "AgentGenerationError: Error while generating output:\nlitellm.RateLimitError: slow down", True),
        (
            "error",
            "AgentGenerationError: Error in generating model output:\nx (caused by litellm.exceptions.Timeout)",
            True,
        ),  # fmt: skip
        (
            "error",
            "AgentGenerationError: Error while generating output:\nrefused (caused by ConnectionRefusedError)",
            True,
        ),  # fmt: skip
        ("error", "APIConnectionError: Connection error.", True),
        ("error", "litellm.ServiceUnavailableError: 503 overloaded", True),
        ("error", "AgentGenerationError: Error while generating output:\nbad (caused by ValueError)", False),
        ("error", "litellm.BadRequestError: the request mentions a RateLimitError", False),
        ("error", "litellm.AuthenticationError: no key", False),
        ("error", None, False),
        ("timeout", "task exceeded the 300s time limit", False),
        ("max_steps", "reached max_steps without a final answer", False),
    ],
)
def test_what_counts_as_a_transient_error(stop_reason, error, transient):
    assert is_transient(stop_reason, error) is transient


FACT = """INSERT INTO smoltrace_task_facts (run_id, trace_id, span_id, agent_type, task_id, repeat_index, start_time,
                                         stop_reason, tools_used, expected_keywords)
VALUES (?, ?, 's', 'tool', ?, ?, TIMESTAMP '2026-01-01 00:00:00' + to_seconds(?), ?, [], [])"""


def test_results_holds_the_newest_trace_of_each_execution_and_reads_one_run_only(tmp_path):
    conn = database.connect(tmp_path / "x.duckdb")
    for row in [
        ("r1", "t01", "a", 0, 0, "interrupted"), ("r1", "t02", "a", 0, 5, "final_answer"),  # a resumed execution
        ("r1", "t03", "a", 1, 1, "error"), ("r1", "t04", "b", 0, 2, "final_answer"),
        ("r2", "t05", "a", 0, 9, "final_answer"),  # the same task in another run is another execution
        ("r1", "t06", None, 0, 3, "final_answer"), ("r1", "t07", None, 0, 4, "final_answer"),  # not the runner's
        (None, "t08", "a", 0, 6, "final_answer"), (None, "t09", "a", 0, 7, "final_answer"),
    ]:  # fmt: skip
        conn.execute(FACT, list(row))
    rows = conn.execute("SELECT run_id, trace_id, task_id, repeat_index, stop_reason FROM results ORDER BY trace_id")
    assert rows.fetchall() == [
        ("r1", "t02", "a", 0, "final_answer"), ("r1", "t03", "a", 1, "error"), ("r1", "t04", "b", 0, "final_answer"),
        ("r2", "t05", "a", 0, "final_answer"), ("r1", "t06", None, 0, "final_answer"),
        ("r1", "t07", None, 0, "final_answer"), (None, "t08", "a", 0, "final_answer"),
        (None, "t09", "a", 0, "final_answer"),
    ]  # fmt: skip
    # the run filter is pushed below the window into the scan: reading one run reads its rows only
    plan = conn.execute("EXPLAIN SELECT * FROM results WHERE run_id = 'r1'").fetchall()[0][1]
    assert plan.index("Filters: run_id = 'r1'") > plan.index("Window")


def test_a_run_with_nothing_left_that_did_not_complete_is_closed_as_completed(evaluation, monkeypatch):
    """Every execution finished, but the run was not closed as completed (here: Ctrl-C right after the
    last task): the resume runs nothing and records the run as completed."""
    run_all = run_module._run_executions

    def then_ctrl_c(executions, start, finished, cancelled, window):
        run_all(executions, start, finished, cancelled, window)
        cancelled.set()

    monkeypatch.setattr(run_module, "_run_executions", then_ctrl_c)
    with pytest.raises(run_module.RunInterrupted) as stopped:
        evaluation.run([WEATHER_TASK], ScriptedModel(default=call("final_answer", answer="x")))
    run_module.close_reader(stopped.value.report)
    run_id = stopped.value.report.run_id
    assert evaluation.query("SELECT status FROM runs") == [{"status": "interrupted"}]
    monkeypatch.setattr(run_module, "_run_executions", run_all)

    logged = []
    report = run_module.run(run_module.EvalConfig(model="", resume=run_id, db_path=evaluation.db_path, quiet=True,
                                                  model_factory=lambda: None), log=logged.append)  # fmt: skip
    run_module.close_reader(report)
    assert logged == [
        f"Resuming run {run_id}: 1 of 1 task executions finished; nothing left to run: the run (interrupted) is "
        f"recorded as completed"
    ]
    assert (report.status, report.outcomes) == ("completed", [])
    assert evaluation.query("SELECT status, planned_tasks, completed_tasks FROM runs") == [
        {"status": "completed", "planned_tasks": 1, "completed_tasks": 1}
    ]


def test_a_run_on_a_running_collector_is_resumed_through_it(tmp_path):
    import litellm

    from tests.eval.conftest import Evaluation

    limited = ScriptedModel(fail_with=litellm.APIConnectionError(message="reset", llm_provider="openai",
                                                                 model="gpt-4o-mini"))  # fmt: skip
    with Collector.embedded(db_path=tmp_path / "service.duckdb", token="tok") as service:
        where = {"otlp_endpoint": service.grpc_endpoint, "otlp_token": "tok", "query_url": service.http_endpoint}
        *_, run_id = Evaluation(tmp_path).run([WEATHER_TASK], limited, **where)
        answering = ScriptedModel(default=call("final_answer", answer="18°C, Clear"))
        logged = []
        report = run_module.run(run_module.EvalConfig(model="", resume=run_id, quiet=True, **where,
                                                      model_factory=lambda: answering), log=logged.append)  # fmt: skip
        assert logged[-1] == (
            f"Resuming run {run_id}: 0 of 1 task executions finished; running 1 (0 never finished, 0 interrupted, "
            f"1 failed with a transient error)"
        )
        rows = report.reader.query("SELECT stop_reason, response FROM results WHERE run_id = ?", [run_id])
        assert rows == [{"stop_reason": "final_answer", "response": "18°C, Clear"}]
        (run,) = report.reader.query("SELECT status, completed_tasks FROM runs WHERE run_id = ?", [run_id])
        assert run == {"status": "completed", "completed_tasks": 1}
    assert not (tmp_path / "store.duckdb").exists()  # nothing went to a local store
