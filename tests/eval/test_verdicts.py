"""Verdicts and numbers come from the views, over spans emitted by real agents driven by a scripted model
(litellm mock responses: 10 prompt + 20 completion tokens per call)."""

import pytest
from tests.eval.conftest import WEATHER_TASK

from smoltrace.runner.scripted import ScriptedModel, call, say

PROMPT = WEATHER_TASK["prompt"]
GOOD_TOOL_SCRIPT = {PROMPT: [call("get_weather", location="Tokyo"), call("final_answer", answer="Tokyo: 18°C, Clear")]}


def test_a_successful_tool_agent_task(evaluation):
    results, traces, metrics, dataset, run_id = evaluation.run([WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT))
    (row,) = results["tool"]
    assert {key: row[key] for key in (
        "run_id", "model", "provider", "agent_type", "task_id", "task_uid", "difficulty", "category",
        "expected_tool", "tools_used", "tool_called", "correct_tool", "final_answer_called", "response_correct",
        "success", "steps", "llm_calls", "response", "error", "stop_reason", "prompt_tokens", "completion_tokens",
        "total_tokens",
    )} == {
        "run_id": run_id, "model": "gpt-4o-mini", "provider": "litellm", "agent_type": "tool",
        "task_id": "weather_tokyo", "task_uid": "tool:weather_tokyo", "difficulty": "easy", "category": "weather",
        "expected_tool": "get_weather", "tools_used": ["get_weather"], "tool_called": True, "correct_tool": True,
        "final_answer_called": True, "response_correct": True, "success": True, "steps": 2, "llm_calls": 2,
        "response": "Tokyo: 18°C, Clear", "error": None, "stop_reason": "final_answer",
        "prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60,
    }  # fmt: skip
    # gpt-4o-mini prices from litellm's bundled map, recorded on the spans: 20 x 1.5e-7 + 40 x 6e-7
    assert row["cost_usd"] == pytest.approx(20 * 1.5e-07 + 40 * 6e-07)
    assert dataset.endswith(".json")
    assert metrics == {"run_id": run_id, "gpu_metrics": [], "aggregates": {}, "task_energy": []}
    assert len(traces) == 1 and traces[0]["task_uid"] == "tool:weather_tokyo"
    # the agent span's output is the answer (not the repr of a RunResult with every step in it)
    (agent_span,) = evaluation.query("SELECT SpanAttributes->>'output.value' AS output FROM otel_traces "
                                     "WHERE SpanName = 'ToolCallingAgent.run'")  # fmt: skip
    assert agent_span == {"output": "Tokyo: 18°C, Clear"}


def test_tokens_are_counted_once_over_nested_llm_spans(evaluation):
    evaluation.run([WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT))
    # the litellm instrumentor nests a `completion` LLM span inside each `ScriptedModel.generate` LLM span,
    # and the agent span carries the run's totals: a naive sum would give 60 + 60 + 60
    raw = evaluation.query(
        "SELECT SpanName, sum((SpanAttributes->>'llm.token_count.total')::INT) AS tokens, count(*) AS n "
        "FROM otel_traces WHERE SpanAttributes->>'llm.token_count.total' IS NOT NULL GROUP BY 1 ORDER BY 1")
    assert raw == [{"SpanName": "ScriptedModel.generate", "tokens": 60, "n": 2},
                   {"SpanName": "ToolCallingAgent.run", "tokens": 60, "n": 1},
                   {"SpanName": "completion", "tokens": 60, "n": 2}]  # fmt: skip
    assert evaluation.query("SELECT span_name, total_tokens FROM llm_calls ORDER BY start_time") == [
        {"span_name": "ScriptedModel.generate", "total_tokens": 30},
        {"span_name": "ScriptedModel.generate", "total_tokens": 30},
    ]
    assert evaluation.query("SELECT total_tokens FROM results") == [{"total_tokens": 60}]


def test_duration_is_the_root_span_duration(evaluation):
    evaluation.run([WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT))
    (root,) = evaluation.query("SELECT Duration / 1e6 AS ms FROM otel_traces WHERE SpanName = 'smoltrace.task'")
    (span_sum,) = evaluation.query("SELECT sum(Duration) / 1e6 AS ms FROM otel_traces WHERE SpanName <> 'smoltrace.task' "
                                   "AND SpanName NOT LIKE 'smoltrace.run%'")  # fmt: skip
    (result,) = evaluation.query("SELECT execution_time_ms FROM results")
    assert result["execution_time_ms"] == root["ms"]
    assert span_sum["ms"] > 1.2 * root["ms"]  # what SMOLTRACE's sum over spans would have reported


@pytest.mark.parametrize(
    "name, task_changes, script, agent_type, expected",
    [
        ("wrong tool", {}, [call("calculator", expression="1+1"), call("final_answer", answer="18°C, Clear")], "tool",
         {"tools_used": ["calculator"], "tool_called": True, "correct_tool": False, "response_correct": True,
          "success": False}),
        ("no tool", {}, [call("final_answer", answer="18°C, Clear")], "tool",
         {"tools_used": [], "tool_called": False, "correct_tool": False, "success": False}),
        ("missing keyword", {}, [call("get_weather", location="Tokyo"), call("final_answer", answer="18°C")], "tool",
         {"correct_tool": True, "response_correct": False, "success": False}),
        ("keywords ignore case", {}, [call("get_weather", location="Tokyo"), call("final_answer", answer="18°c, clear")],
         "tool", {"response_correct": True, "success": True}),
        ("too few calls", {"expected_tool_calls": 2},
         [call("get_weather", location="Tokyo"), call("final_answer", answer="18°C, Clear")], "tool",
         {"correct_tool": False, "success": False}),
        ("enough calls", {"expected_tool_calls": 2},
         [call("get_weather", location="Tokyo"), call("get_weather", location="Paris"),
          call("final_answer", answer="18°C, Clear")], "tool",
         {"tools_used": ["get_weather", "get_weather"], "correct_tool": True, "success": True, "steps": 3}),
        ("code agent without the tool", {}, [say("<code>\nfinal_answer('18°C, Clear')\n</code>")], "code",
         {"tools_used": [], "tool_called": False, "correct_tool": False, "success": True, "steps": 1}),
        ("code agent with the tool", {},
         [say("<code>\nfinal_answer(get_weather(location='Tokyo'))\n</code>")], "code",
         {"tools_used": ["get_weather"], "correct_tool": True, "success": True, "response": "Tokyo, Japan: 18°C, Clear"}),
    ],
)  # fmt: skip
def test_verdicts(evaluation, name, task_changes, script, agent_type, expected):
    task = {**WEATHER_TASK, **task_changes, "agent_type": agent_type}
    results, *_ = evaluation.run([task], ScriptedModel({PROMPT: script}), agent_type=agent_type)
    (row,) = results[agent_type]
    assert {key: row[key] for key in expected} == expected


def test_stop_reasons(evaluation):
    tasks = [
        {**WEATHER_TASK, "id": "answers"},
        {**WEATHER_TASK, "id": "never_answers", "prompt": "Loop forever please"},
        {**WEATHER_TASK, "id": "slow", "prompt": "Take your time"},
    ]

    class Model(ScriptedModel):
        def generate(self, messages, **kwargs):
            if "Take your time" in str(messages[1].content if hasattr(messages[1], "content") else messages[1]):
                import time

                time.sleep(3)
            return super().generate(messages, **kwargs)

    model = Model({
        "What is the weather": GOOD_TOOL_SCRIPT[PROMPT],
        "Loop forever": [call("get_weather", location="Tokyo")],
        "Take your time": [call("final_answer", answer="late")],
    })  # fmt: skip
    results, *_ = evaluation.run(tasks, model, max_steps=2, task_timeout_s=1.0)
    by_task = {row["task_id"]: row for row in results["tool"]}
    assert {task: (row["stop_reason"], row["final_answer_called"], row["success"], row["error"])
            for task, row in by_task.items()} == {
        "answers": ("final_answer", True, True, None),
        "never_answers": ("max_steps", False, False, "reached max_steps without a final answer"),
        "slow": ("timeout", False, False, "task exceeded the 1s time limit"),
    }  # fmt: skip
    assert by_task["slow"]["execution_time_ms"] < 2_000  # the task span ended at the limit, not at the model


def test_a_model_error_is_recorded_and_the_run_goes_on(evaluation):
    tasks = [{**WEATHER_TASK, "id": "a"}, {**WEATHER_TASK, "id": "b"}]
    results, *_ = evaluation.run(tasks, ScriptedModel(fail_with=ConnectionError("provider is down")))
    assert [(row["task_id"], row["stop_reason"], row["success"]) for row in results["tool"]] == [
        ("a", "error", False), ("b", "error", False)]
    assert all("provider is down" in row["error"] for row in results["tool"])
    statuses = evaluation.query("SELECT StatusCode, StatusMessage FROM otel_traces WHERE SpanName = 'smoltrace.task'")
    assert {s["StatusCode"] for s in statuses} == {"Error"}


def test_runs_and_leaderboard_rows_are_complete(evaluation):
    tasks = [{**WEATHER_TASK, "id": "a"}, {**WEATHER_TASK, "id": "b", "agent_type": "tool"}]
    script = {PROMPT: GOOD_TOOL_SCRIPT[PROMPT]}
    _, _, _, _, run_id = evaluation.run(tasks, ScriptedModel(script), agent_type="both", run_id="run-42")
    (run,) = evaluation.query("SELECT * EXCLUDE (started_at, finished_at, duration_ms, smoltrace_version) FROM runs")
    assert run == {"run_id": "run-42", "model": "gpt-4o-mini", "provider": "litellm", "agent_types": "tool,code",
                   "dataset": run["dataset"], "dataset_revision": None, "dataset_split": "", "planned_tasks": 3,
                   "completed_tasks": 3, "successful_tasks": 2, "status": "completed", "max_steps": 6}  # fmt: skip
    rows = evaluation.query("SELECT * FROM leaderboard ORDER BY agent_type")
    assert [(r["agent_type"], r["total_tests"], r["successful_tests"], r["success_rate"], r["total_tokens"])
            for r in rows] == [("code", 1, 0, 0.0, 210), ("tool", 2, 2, 100.0, 120)]  # fmt: skip
    # the code agent cannot parse tool-call replies: 6 failed steps + the forced final answer = 7 calls x 30
    for row in rows:
        assert row["run_id"] == "run-42" and row["provider"] == "litellm" and row["run_status"] == "completed"
        assert row["dataset"].endswith(".json") and row["evaluation_date"] is not None


def test_secrets_never_reach_the_store(evaluation, monkeypatch):
    secret = "sk-proj-abcdefghijklmnop0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    hf_token = "hf_" + "Z" * 34
    task = {**WEATHER_TASK, "prompt": f"What is the weather in Tokyo? (my key is {secret}, token {hf_token})"}
    model = ScriptedModel({"weather in Tokyo": GOOD_TOOL_SCRIPT[PROMPT]}, api_key=secret)
    evaluation.run([task], model, hf_token=hf_token)
    leaks = evaluation.query(
        "SELECT SpanName FROM otel_traces WHERE CAST(otel_traces AS VARCHAR) LIKE ? OR CAST(otel_traces AS VARCHAR) "
        "LIKE ?", [f"%{secret}%", f"%{hf_token}%"])  # fmt: skip
    assert leaks == []
    (prompt,) = evaluation.query("SELECT prompt FROM results")
    assert prompt["prompt"] == "What is the weather in Tokyo? (my key is [REDACTED], token [REDACTED])"


def test_model_args_reach_the_model(evaluation):
    evaluation.run([WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT, temperature=0.25, max_tokens=77))
    rows = evaluation.query("SELECT SpanAttributes->>'llm.invocation_parameters' AS p FROM otel_traces "
                            "WHERE SpanName = 'completion'")  # fmt: skip
    assert rows and all('"temperature": 0.25' in r["p"] and '"max_tokens": 77' in r["p"] for r in rows)


def test_a_run_exported_to_a_running_collector_reads_its_results_back_through_the_query_api(tmp_path):
    from tests.eval.conftest import Evaluation

    from smoltrace.collector import Collector

    with Collector.embedded(db_path=tmp_path / "service.duckdb", token="tok") as service:
        evaluation = Evaluation(tmp_path)
        results, _, _, _, run_id = evaluation.run(
            [WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT), otlp_endpoint=service.grpc_endpoint,
            otlp_token="tok", query_url=service.http_endpoint,
        )  # fmt: skip
        assert [(r["task_uid"], r["success"], r["total_tokens"]) for r in results["tool"]] == [
            ("tool:weather_tokyo", True, 60)]
        stored = service.reader().execute("SELECT count(*) FROM results WHERE run_id = ?", [run_id]).fetchone()
        assert stored == (1,)
    assert not (tmp_path / "store.duckdb").exists()  # nothing went to a local store


def test_the_prompt_configs_system_prompt_reaches_the_model(evaluation, tmp_path):
    """--prompt-yml is SMOLTRACE's agent configuration (tests/runner/test_flags.py has the rest)."""
    import yaml
    from smolagents import ToolCallingAgent

    system_prompt = ToolCallingAgent(tools=[], model=ScriptedModel()).prompt_templates["system_prompt"]
    prompt_file = tmp_path / "prompts.yml"
    prompt_file.write_text(yaml.safe_dump({"system_prompt": "You are the SMOLTRACE-TEST agent. " + system_prompt}))
    evaluation.run([WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT), prompt_yml=prompt_file)
    inputs = evaluation.query("SELECT SpanAttributes->>'input.value' AS input FROM otel_traces WHERE SpanName = 'completion'")
    assert inputs and all("You are the SMOLTRACE-TEST agent." in row["input"] for row in inputs)


def test_a_bad_prompt_file_is_refused_before_the_run(evaluation, tmp_path):
    from smoltrace.runner.agents import AgentConfigError

    bad = tmp_path / "bad.yml"
    bad.write_text("just: a mapping without the system prompt\n")
    with pytest.raises(AgentConfigError, match=r"bad.yml: unknown setting 'just'; the settings are system_prompt,"):
        evaluation.run([WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT), prompt_yml=bad)
    assert not evaluation.db_path.exists()


def test_litellm_requests_are_traced_only_when_asked(evaluation):
    evaluation.run([WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT), trace_litellm=False)
    llm_spans = evaluation.query("SELECT SpanName, count(*) AS n FROM otel_traces "
                                 "WHERE SpanAttributes->>'openinference.span.kind' = 'LLM' GROUP BY 1")  # fmt: skip
    assert llm_spans == [{"SpanName": "ScriptedModel.generate", "n": 2}]
    # the numbers do not depend on it: tokens come from the outermost LLM spans either way
    assert evaluation.query("SELECT total_tokens FROM results") == [{"total_tokens": 60}]
