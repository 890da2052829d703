"""Verdicts and numbers come from the views, over spans emitted by real agents driven by a scripted model
(litellm mock responses: 10 prompt + 20 completion tokens per call)."""

import pytest

from smoltrace.runner.scripted import ScriptedModel, call, say
from tests.eval.conftest import WEATHER_TASK

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
    assert metrics == {"run_id": run_id, "resourceMetrics": [], "aggregates": [], "gpu_metrics": [], "gpu_summary": {},
                       "task_energy": []}  # fmt: skip
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
        "FROM otel_traces WHERE SpanAttributes->>'llm.token_count.total' IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
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


ANSWER = call("final_answer", answer="18°C, Clear")
WEATHER = call("get_weather", location="Tokyo")


@pytest.mark.parametrize(
    "name, task_changes, script, agent_type, expected",
    [
        ("wrong tool", {}, [call("calculator", expression="1+1"), ANSWER], "tool",
         {"tools_used": ["calculator"], "tool_called": True, "correct_tool": False, "response_correct": True,
          "success": False}),
        ("no tool", {}, [ANSWER], "tool",
         {"tools_used": [], "tool_called": False, "correct_tool": False, "success": False}),
        # SMOLTRACE's response_correct: any expected keyword; every keyword is all_keywords_present
        ("one keyword of two", {}, [WEATHER, call("final_answer", answer="18°C")], "tool",
         {"correct_tool": True, "response_correct": True, "all_keywords_present": False, "keywords_found": 1,
          "success": True}),
        ("no keyword", {}, [WEATHER, call("final_answer", answer="Cloudy")], "tool",
         {"response_correct": False, "all_keywords_present": False, "keywords_found": 0, "success": False}),
        ("no keywords expected", {"expected_keywords": []}, [WEATHER, call("final_answer", answer="Cloudy")], "tool",
         {"response_correct": True, "all_keywords_present": True, "success": True}),
        ("keywords ignore case", {}, [WEATHER, call("final_answer", answer="18°c, clear")],
         "tool", {"response_correct": True, "all_keywords_present": True, "success": True}),
        ("too few calls", {"expected_tool_calls": 2}, [WEATHER, ANSWER], "tool",
         {"correct_tool": False, "success": False}),
        ("enough calls", {"expected_tool_calls": 2},
         [WEATHER, call("get_weather", location="Paris"), ANSWER], "tool",
         {"tools_used": ["get_weather", "get_weather"], "correct_tool": True, "success": True, "steps": 3}),
        # no expected tool: correct_tool is tool_called
        ("no expected tool, a tool called", {"expected_tool": None}, [WEATHER, ANSWER], "tool",
         {"correct_tool": True, "success": True}),
        ("no expected tool, none called", {"expected_tool": None}, [ANSWER], "tool",
         {"tool_called": False, "correct_tool": False, "success": False}),
        # "multiple": at least expected_tool_calls calls of any tool (default 1)
        ("multiple, two tools", {"expected_tool": "multiple", "expected_tool_calls": 2},
         [WEATHER, call("calculator", expression="1+1"), ANSWER], "tool",
         {"tools_used": ["get_weather", "calculator"], "correct_tool": True, "success": True}),
        ("multiple, one tool of two", {"expected_tool": "multiple", "expected_tool_calls": 2}, [WEATHER, ANSWER], "tool",
         {"correct_tool": False, "success": False}),
        ("multiple, no count", {"expected_tool": "multiple"}, [WEATHER, ANSWER], "tool",
         {"correct_tool": True, "success": True}),
        # a CodeAgent's code run is a tool call (smolagents records it as python_interpreter): tool_called
        ("code agent without the tool", {}, [say("<code>\nfinal_answer('18°C, Clear')\n</code>")], "code",
         {"tools_used": [], "code_runs": 1, "tool_called": True, "correct_tool": False, "final_answer_called": True,
          "success": True, "steps": 1}),
        ("code agent with the tool", {},
         [say("<code>\nfinal_answer(get_weather(location='Tokyo'))\n</code>")], "code",
         {"tools_used": ["get_weather"], "code_runs": 1, "correct_tool": True, "success": True,
          "response": "Tokyo, Japan: 18°C, Clear"}),
        # SMOLTRACE also counted a tool whose name merely appears in the code: here only tools that ran
        ("code agent naming the tool", {},
         [say("<code>\n# get_weather(location='Tokyo') is not needed\nfinal_answer('18°C, Clear')\n</code>")], "code",
         {"tools_used": [], "code_runs": 1, "correct_tool": False, "success": True}),
        ("code agent, multiple", {"expected_tool": "multiple", "expected_tool_calls": 2},
         [say("<code>\nfinal_answer(get_weather(location='Tokyo'))\n</code>")], "code",
         {"tool_calls": 2, "code_runs": 1, "correct_tool": True}),
        ("code agent, python_interpreter", {"expected_tool": "python_interpreter"},
         [say("<code>\nfinal_answer('18°C, Clear')\n</code>")], "code", {"correct_tool": True}),
        # a step whose code failed while running ran code; a reply with no code block ran none
        ("code that fails, then an answer", {},
         [say("<code>\nx = 1 / 0\n</code>"), say("<code>\nfinal_answer('18°C, Clear')\n</code>")], "code",
         {"code_runs": 2, "steps": 2, "success": True}),
        ("no code at all", {}, [say("It is 18°C and clear.")], "code",
         {"code_runs": 0, "tool_called": False, "final_answer_called": False, "stop_reason": "max_steps",
          "success": False, "steps": 6}),
        # the answer smolagents forces after max_steps is no final_answer call (stop_reason says max_steps)
        ("code that never answers", {}, [say("<code>\nprint(get_weather(location='Tokyo'))\n</code>")], "code",
         {"code_runs": 6, "tool_called": True, "final_answer_called": False, "final_answer_calls": 0,
          "stop_reason": "max_steps", "success": False, "steps": 6, "action_steps": 6}),
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
        ("a", "error", False),
        ("b", "error", False),
    ]
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
    rows = evaluation.query("SELECT * FROM leaderboard_by_agent_type ORDER BY agent_type")
    assert [(r["agent_type"], r["total_tests"], r["successful_tests"], r["success_rate"], r["total_tokens"])
            for r in rows] == [("code", 1, 0, 0.0, 210), ("tool", 2, 2, 100.0, 120)]  # fmt: skip
    # the code agent cannot parse tool-call replies: 6 failed steps + the forced final answer = 7 calls x 30
    for row in rows:
        assert row["run_id"] == "run-42" and row["provider"] == "litellm" and row["run_status"] == "completed"
        assert row["dataset"].endswith(".json") and row["evaluation_date"] is not None
    # SMOLTRACE's leaderboard row: one for the run, agent_type both
    (row,) = evaluation.query("SELECT * FROM leaderboard")
    assert {key: row[key] for key in ("run_id", "agent_type", "provider", "total_tests", "successful_tests",
                                      "failed_tests", "success_rate", "total_tokens", "avg_tokens_per_test",
                                      "run_status", "notes")} == {
        "run_id": "run-42", "agent_type": "both", "provider": "litellm", "total_tests": 3, "successful_tests": 2,
        "failed_tests": 1, "success_rate": 66.67, "total_tokens": 330, "avg_tokens_per_test": 110,
        "run_status": "completed", "notes": f"Evaluation on {row['timestamp']:%Y-%m-%d}; 3 tests",
    }  # fmt: skip
    assert row["dataset_used"].endswith(".json")


def test_planning_steps_are_steps_and_the_forced_answer_is_not(evaluation):
    """SMOLTRACE counts action and planning steps (and the final answer event, and the last step twice at
    max_steps); here each action and planning step counts once. A plan is an LLM call beside the steps."""
    tasks = [{**WEATHER_TASK, "id": "answers", "prompt": "Plan then answer"},
             {**WEATHER_TASK, "id": "gives_up", "prompt": "Plan forever"}]  # fmt: skip
    model = ScriptedModel({
        "Plan then answer": [say("Plan: look it up."), say("<code>\nprint(1)\n</code>"),
                             say("<code>\nfinal_answer('18°C, Clear')\n</code>")],
        "Plan forever": [say("<code>\nprint(1)\n</code>")],
    })  # fmt: skip
    results, *_ = evaluation.run(tasks, model, agent_type="code", max_steps=3, prompt_config={"planning_interval": 2})
    by_task = {row["task_id"]: row for row in results["code"]}
    assert {task: (row["action_steps"], row["planning_steps"], row["steps"], row["llm_calls"], row["stop_reason"])
            for task, row in by_task.items()} == {
        "answers": (3, 2, 5, 5, "final_answer"),  # plans before steps 1 and 3
        "gives_up": (3, 2, 5, 6, "max_steps"),  # and the forced answer after step 3: an LLM call, not a step
    }  # fmt: skip


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
    from smoltrace.collector import Collector
    from tests.eval.conftest import Evaluation

    with Collector.embedded(db_path=tmp_path / "service.duckdb", token="tok") as service:
        evaluation = Evaluation(tmp_path)
        results, _, _, _, run_id = evaluation.run(
            [WEATHER_TASK], ScriptedModel(GOOD_TOOL_SCRIPT), otlp_endpoint=service.grpc_endpoint,
            otlp_token="tok", query_url=service.http_endpoint,
        )  # fmt: skip
        assert [(r["task_uid"], r["success"], r["total_tokens"]) for r in results["tool"]] == [
            ("tool:weather_tokyo", True, 60)
        ]
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
    inputs = evaluation.query(
        "SELECT SpanAttributes->>'input.value' AS input FROM otel_traces WHERE SpanName = 'completion'"
    )
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
