"""SMOLTRACE's flags and API on smoltrace-eval and run_evaluation: --model-args a=1 b=2, .env, --prompt-yml
as agent settings, --use-case/--team/--purpose/--suite-version on the run spans, --hf-inference-provider,
and run_evaluation's two call forms with SMOLTRACE's row fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import duckdb
import pytest

import smoltrace
from smoltrace.cli.options import load_env_file, parse_model_args, spread_greedy_options
from smoltrace.core import run_evaluation
from smoltrace.runner.agents import AgentConfigError, AgentOptions, agent_options, build_agent, load_prompt_config
from smoltrace.runner.config import EvalConfig, normalize_label, run_labels
from smoltrace.runner.models import ModelConfigError, ModelSpec, build_model, check_model
from smoltrace.runner.scripted import ScriptedModel, call, say

BIN = Path(sys.executable).parent
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "200"}
WEATHER = {
    "id": "weather_tokyo",
    "prompt": "What is the weather in Tokyo?",
    "difficulty": "easy",
    "expected_tool": "get_weather",
    "expected_keywords": ["18°C"],
}
WEATHER_SCRIPT = {
    "weather in Tokyo": [call("get_weather", location="Tokyo"), call("final_answer", answer="18°C, Clear")]
}


def rows(db, sql, params=()):
    with duckdb.connect(str(db), read_only=True) as conn:
        result = conn.execute(sql, list(params))
        return [dict(zip([c[0] for c in result.description], row)) for row in result.fetchall()]


# -- --model-args and the other multi-word flags --------------------------------------------------


def test_multi_word_flags_are_spread_into_repeated_ones():
    greedy = {"--model-args", "--enable-tools"}
    assert spread_greedy_options(["--model-args", "a=1", "b=2", "--quiet", "--enable-tools", "x", "y"], greedy) == [
        "--model-args",
        "a=1",
        "--model-args",
        "b=2",
        "--quiet",
        "--enable-tools",
        "x",
        "--enable-tools",
        "y",
    ]
    assert spread_greedy_options(["--model-args=a=1", "b=2", "--model-args", "c=3"], greedy) == [
        "--model-args=a=1",
        "--model-args",
        "b=2",
        "--model-args",
        "c=3",
    ]
    assert spread_greedy_options(["--model", "m", "--", "--model-args", "z"], greedy) == [
        "--model",
        "m",
        "--",
        "--model-args",
        "z",
    ]


def test_model_args_are_typed_as_smoltrace_types_them():
    values = [
        "temperature=0.7",
        "max_tokens=2048",
        'stop=["END","STOP"]',
        "stream=True",
        "logprobs=false",
        "model=gpt-4",
        "seed=007",
        "top_p = 0.9",
        '{"presence_penalty": 0.5}',
        "note=a=b",
        "empty=",
    ]
    assert parse_model_args(values) == {
        "temperature": 0.7,
        "max_tokens": 2048,
        "stop": ["END", "STOP"],
        "stream": True,
        "logprobs": False,
        "model": "gpt-4",
        "seed": 7,
        "top_p": 0.9,
        "presence_penalty": 0.5,
        "note": "a=b",
        "empty": "",
    }
    with pytest.raises(click.BadParameter) as error:
        parse_model_args(["temperature"])
    assert (
        error.value.format_message()
        == "Invalid value for --model-args: expected KEY=VALUE or a JSON object, got 'temperature'"
    )


def test_env_file_is_read_from_the_folder_or_above_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        'export SMOLTRACE_TEST_A="from dotenv"\nSMOLTRACE_TEST_B=${SMOLTRACE_TEST_A}!\n'
        "SMOLTRACE_TEST_C=file  # a comment\n"
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    for name in ("SMOLTRACE_TEST_A", "SMOLTRACE_TEST_B"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMOLTRACE_TEST_C", "environment")
    assert load_env_file() == tmp_path / ".env"
    assert [os.environ[f"SMOLTRACE_TEST_{x}"] for x in "ABC"] == ["from dotenv", "from dotenv!", "environment"]


# -- --prompt-yml: SMOLTRACE's agent settings -------------------------------------------------------


def test_one_name_given_as_text_is_one_name():
    from smoltrace.runner.agents import AgentSetup

    setup = AgentSetup.from_config(EvalConfig(model="m", enable_tools="read_file", additional_imports="json"))
    assert (setup.enable_tools, setup.options.additional_authorized_imports) == (("read_file",), ("json",))
    assert setup.tool_names == ("get_weather", "calculator", "convert_time", "read_file")


def test_prompt_config_settings_reach_the_agents(tmp_path):
    from smolagents.monitoring import LogLevel

    from smoltrace.runner.agents import default_prompt_templates

    path = tmp_path / "prompt.yml"
    path.write_text(
        "system_prompt: You are a careful benchmark agent.\nmax_steps: 3\nname: bench_agent\n"
        "description: answers questions\nverbosity_level: 2\nplanning_interval: 2\n"
        "additional_authorized_imports: [json]\n"
        "prompt_templates:\n  planning:\n    initial_plan: Plan it.\n"
    )
    options = agent_options(load_prompt_config(path), ("csv", "json"), f"--prompt-yml {path}")
    assert options == AgentOptions(
        system_prompt="You are a careful benchmark agent.",
        max_steps=3,
        name="bench_agent",
        description="answers questions",
        verbosity_level=2,
        prompt_templates={"planning": {"initial_plan": "Plan it."}},
        additional_authorized_imports=("json", "csv"),
        planning_interval=2,
    )
    model = ScriptedModel()
    tool = build_agent("tool", model, [], max_steps=3, options=options)
    code = build_agent("code", model, [], max_steps=3, options=options)
    defaults = default_prompt_templates("code")
    assert tool.prompt_templates["system_prompt"] == code.prompt_templates["system_prompt"] == options.system_prompt
    assert code.prompt_templates["planning"] == {**defaults["planning"], "initial_plan": "Plan it."}
    assert tool.prompt_templates["planning"] == default_prompt_templates("tool")["planning"]  # code agents only
    assert (code.planning_interval, tool.planning_interval) == (2, None)  # code agents only, as in SMOLTRACE
    assert {"json", "csv"} <= set(code.additional_authorized_imports)
    assert (tool.name, tool.description, tool.logger.level, tool.max_steps) == (
        "bench_agent",
        "answers questions",
        LogLevel.DEBUG,
        3,
    )
    plain = build_agent("code", model, [], max_steps=6)
    assert plain.prompt_templates == defaults and plain.logger.level == LogLevel.OFF


@pytest.mark.parametrize(
    "document, message",
    [
        (
            "max_step: 3\n",
            (
                "unknown setting 'max_step'; the settings are system_prompt, max_steps, name, description, "
                "verbosity_level, prompt_templates, additional_authorized_imports, grammar, planning_interval"
            ),
        ),
        ("max_steps: 0\n", "'max_steps' must be a whole number of 1 or more (got 0)"),
        ("max_steps: true\n", "'max_steps' must be a whole number of 1 or more (got True)"),
        ("name: my agent\n", "'name' must be a Python identifier (got 'my agent')"),
        ("verbosity_level: 5\n", "'verbosity_level' must be -1 (off), 0, 1 or 2 (got 5)"),
        (
            "additional_authorized_imports: pandas\n",
            "'additional_authorized_imports' must be a list of module names (got 'pandas')",
        ),
        (
            "prompt_templates:\n  planing: {}\n",
            (
                "unknown prompt template 'planing'; smolagents' templates are "
                "system_prompt, planning, managed_agent, final_answer"
            ),
        ),
        (
            "grammar: {}\n",
            (
                "'grammar' is not an option of smolagents 1.26.0 agents (smolagents removed "
                "structured-generation grammars); remove it"
            ),
        ),
        (
            "prompt_templates:\n  planning: Plan it.\n",
            (
                "prompt template 'planning' must map initial_plan, update_plan_pre_messages, update_plan_post_messages "
                "to text (got 'Plan it.')"
            ),
        ),
        ("prompt_templates:\n  system_prompt: [a]\n", "prompt template 'system_prompt' must be text (got ['a'])"),
        (
            "additional_authorized_imports: 5\n",
            "'additional_authorized_imports' must be a list of module names (got 5)",
        ),
        ("- a list\n", None),
    ],
)
def test_prompt_config_mistakes_are_named(tmp_path, document, message):
    path = tmp_path / "prompt.yml"
    path.write_text(document)
    with pytest.raises(AgentConfigError) as error:
        agent_options(load_prompt_config(path), (), f"--prompt-yml {path}")
    expected = (
        f"--prompt-yml {path}: {message}"
        if message
        else (f"--prompt-yml: {path} must be a mapping of settings (system_prompt, max_steps, ...)")
    )
    assert str(error.value) == expected


def test_prompt_yml_file_errors(tmp_path):
    with pytest.raises(AgentConfigError) as error:
        load_prompt_config(tmp_path / "missing.yml")
    assert str(error.value) == f"--prompt-yml: {tmp_path / 'missing.yml'} does not exist"
    (tmp_path / "bad.yml").write_text("a: [1\n")
    with pytest.raises(AgentConfigError) as error:
        load_prompt_config(tmp_path / "bad.yml")
    assert str(error.value).startswith(f"--prompt-yml: {tmp_path / 'bad.yml'} is not valid YAML: ")


# -- run labels ---------------------------------------------------------------------------------------


def test_run_labels_are_normalised_and_never_invented():
    assert [normalize_label(v) for v in ["Swiggy MCP Ordering", " swiggy-mcp-ordering ", "Team_A  B", "  ", None]] == [
        "swiggy-mcp-ordering",
        "swiggy-mcp-ordering",
        "team-a-b",
        None,
        None,
    ]
    assert run_labels(EvalConfig(model="m")) == {}
    assert run_labels(
        EvalConfig(model="m", use_case="Food Ordering", team="Platform", purpose="selection", suite_version="V1 2")
    ) == {
        "smoltrace.run.use_case": "food-ordering",
        "smoltrace.run.team": "platform",
        "smoltrace.run.purpose": "selection",
        "smoltrace.run.suite_version": "v1-2",
    }
    with pytest.raises(ValueError) as error:
        run_labels(EvalConfig(model="m", purpose="fun"))
    assert str(error.value) == "purpose must be one of selection, regression, monitoring (got 'fun')"


# -- --hf-inference-provider --------------------------------------------------------------------------


def test_hf_inference_provider_is_passed_to_the_client():
    model = build_model(
        ModelSpec("inference", "Qwen/Qwen2.5-7B-Instruct", hf_token="hf_x" * 6, inference_provider="together")
    )
    client = model.create_client()
    assert (client.provider, client.model) == ("together", "Qwen/Qwen2.5-7B-Instruct")
    with pytest.raises(ModelConfigError) as error:
        check_model(ModelSpec("ollama", "llama3.2", inference_provider="together"))
    assert str(error.value) == "--hf-inference-provider is for --provider inference (got --provider ollama)"


def test_an_agent_runs_through_the_chosen_inference_provider(tmp_path, monkeypatch):
    """huggingface_hub's real client against a loopback Hub (the model's provider mapping) and router."""
    import huggingface_hub.constants as hub_constants

    from tests.runner.loopback import Loopback, json_reply

    answer = {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_0",
                            "type": "function",
                            "function": {"name": "final_answer", "arguments": json.dumps({"answer": "18°C, Clear"})},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }
    mapping = {
        "id": "Qwen/Qwen2.5-7B-Instruct",
        "inferenceProviderMapping": {
            "together": {"status": "live", "providerId": "Qwen/Qwen2.5-7B-Instruct-Turbo", "task": "conversational"}
        },
    }
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([WEATHER]))
    with Loopback(
        {
            "GET /api/models/Qwen/Qwen2.5-7B-Instruct": json_reply(mapping),
            "GET /api/agent-harnesses": json_reply({"standardEnvVars": [], "harnesses": {}}),  # the Hub's shape
            "POST /together/v1/chat/completions": json_reply(answer),
        }
    ) as server:
        monkeypatch.setattr(hub_constants, "ENDPOINT", server.url)
        monkeypatch.setattr(hub_constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agent_harnesses.json"))
        monkeypatch.setattr(hub_constants, "INFERENCE_PROXY_TEMPLATE", server.url + "/{provider}")
        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
        results, *_ = run_evaluation(
            "Qwen/Qwen2.5-7B-Instruct",
            ["tool"],
            None,
            str(tasks),
            "train",
            True,
            False,
            False,
            "inference",
            hf_inference_provider="together",
            hf_token="hf_" + "t" * 30,
            db_path=tmp_path / "s.duckdb",
        )
    (row,) = results["tool"]
    assert (row["provider"], row["response"], row["final_answer_called"], row["total_tokens"]) == (
        "inference",
        "18°C, Clear",
        True,
        60,
    )
    (chat,) = [r for r in server.requests if r.method == "POST"]
    assert (chat.path, chat.json()["model"], chat.headers["authorization"]) == (
        "/together/v1/chat/completions",
        "Qwen/Qwen2.5-7B-Instruct-Turbo",
        "Bearer hf_" + "t" * 30,
    )


def test_compute_leaderboard_row_takes_smoltraces_grouping_fields():
    from smoltrace.utils import compute_leaderboard_row

    view = [{"agent_type": "tool", "run_id": "r", "success_rate": 50.0, "use_case": "from-the-run"}]
    row = compute_leaderboard_row(
        "m",
        {"tool": []},
        [],
        {},
        "tasks",
        "a/r",
        "a/t",
        "a/m",
        "tool",
        "r",
        view_rows=view,
        team="Platform Team",
        purpose="monitoring",
    )
    assert {k: row[k] for k in ("use_case", "team", "purpose", "suite_version", "success_rate")} == {
        "use_case": "from-the-run",
        "team": "platform-team",
        "purpose": "monitoring",
        "suite_version": None,
        "success_rate": 50.0,
    }


# -- run_evaluation: SMOLTRACE's two call forms -------------------------------------------------------

SMOLTRACE_ROW_FIELDS = {
    "test_id",
    "test_case_uid",
    "agent_type",
    "difficulty",
    "prompt",
    "expected_tool",
    "expected_tool_calls",
    "success",
    "tool_called",
    "correct_tool",
    "final_answer_called",
    "response_correct",
    "error",
    "response",
    "tools_used",
    "steps",
    "trace_id",
    "span_id",
    "enhanced_trace_info",
    "run_id",
    "test_index",
}


def test_run_evaluation_positional_form_returns_smoltraces_tuple(tmp_path):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([WEATHER]))
    prompt = {"system_prompt": "You are the weather desk. Use the tools.", "max_steps": 3}
    all_results, traces, metrics, dataset_used, run_id = run_evaluation(
        "gpt-4o-mini",
        ["tool"],
        "easy",
        str(tasks),
        "train",
        True,
        False,
        False,
        "litellm",
        prompt,
        None,
        "positional-run",
        db_path=tmp_path / "s.duckdb",
        model_factory=lambda: ScriptedModel(WEATHER_SCRIPT),
    )
    assert (dataset_used, run_id, sorted(all_results)) == (str(tasks), "positional-run", ["code", "tool"])
    assert all_results["code"] == []
    (row,) = all_results["tool"]
    assert SMOLTRACE_ROW_FIELDS <= set(row)
    assert {
        k: row[k]
        for k in (
            "test_id",
            "test_case_uid",
            "agent_type",
            "success",
            "tool_called",
            "correct_tool",
            "final_answer_called",
            "response_correct",
            "error",
            "response",
            "tools_used",
            "steps",
            "run_id",
            "test_index",
        )
    } == {
        "test_id": "weather_tokyo",
        "test_case_uid": "tool:weather_tokyo",
        "agent_type": "tool",
        "success": True,
        "tool_called": True,
        "correct_tool": True,
        "final_answer_called": True,
        "response_correct": True,
        "error": None,
        "response": "18°C, Clear",
        "tools_used": ["get_weather"],
        "steps": 2,
        "run_id": "positional-run",
        "test_index": 0,
    }
    (trace,) = traces
    root = next(span for span in trace["spans"] if span["name"] == "smoltrace.task")
    assert row["span_id"] == root["span_id"] and row["trace_id"] == trace["trace_id"]
    assert row["enhanced_trace_info"] == {
        "trace_id": row["trace_id"],
        "root_span_id": root["span_id"],
        "total_tokens": row["total_tokens"],
        "duration_ms": row["execution_time_ms"],
        "cost_usd": row["cost_usd"],
        "span_count": len(trace["spans"]),
    }
    assert metrics["run_id"] == "positional-run"
    db = tmp_path / "s.duckdb"
    (run,) = rows(
        db,
        "SELECT SpanAttributes->>'smoltrace.run.max_steps' AS max_steps, SpanAttributes AS a "
        "FROM otel_traces WHERE SpanName = 'smoltrace.run'",
    )
    assert run["max_steps"] == "3"  # the prompt config's
    assert not any(key in run["a"] for key in ("use_case", "smoltrace.run.team", "purpose", "suite_version"))
    systems = rows(
        db,
        "SELECT SpanAttributes->>'llm.input_messages.0.message.contents.0.message_content.text' AS system FROM otel_traces "
        "WHERE SpanAttributes->>'openinference.span.kind' = 'LLM'",
    )
    assert systems and all(r["system"] == prompt["system_prompt"] for r in systems)


def test_run_evaluation_readme_form_and_the_package_export(tmp_path):
    assert smoltrace.run_evaluation is run_evaluation
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([WEATHER]))
    all_results, _, _, _dataset_used, _run_id = run_evaluation(
        model="gpt-4o-mini",
        provider="litellm",
        agent_type="both",
        difficulty="easy",
        enable_otel=True,
        enable_gpu_metrics=False,
        hf_token=None,
        dataset_name=str(tasks),
        db_path=tmp_path / "s.duckdb",
        max_steps=2,
        use_case="Weather Desk",
        model_factory=lambda: ScriptedModel(WEATHER_SCRIPT, default=say("?")),
    )
    assert [(r["test_case_uid"], r["test_index"]) for r in all_results["tool"] + all_results["code"]] == [
        ("tool:weather_tokyo", 0),
        ("code:weather_tokyo", 1),
    ]
    labels = rows(
        tmp_path / "s.duckdb",
        "SELECT SpanName AS name, SpanAttributes->>'smoltrace.run.use_case' AS "
        "use_case FROM otel_traces WHERE SpanName LIKE 'smoltrace.run%' ORDER BY 1",
    )
    assert labels == [
        {"name": "smoltrace.run", "use_case": "weather-desk"},
        {"name": "smoltrace.run.started", "use_case": "weather-desk"},
    ]


def test_run_evaluation_argument_mistakes():
    with pytest.raises(TypeError) as error:
        run_evaluation("a", model="b")
    assert str(error.value) == "run_evaluation() got both model_name and model; give one of them"
    with pytest.raises(TypeError) as error:
        run_evaluation()
    assert str(error.value) == (
        "run_evaluation() needs a model: run_evaluation('openai/gpt-4o-mini', ...) or model=..."
    )
    with pytest.raises(ValueError) as error:
        run_evaluation("m", ["tool", "planner"])
    assert str(error.value) == "agent_types must list 'tool' and/or 'code' (got ['tool', 'planner'])"


# -- the command, as a user runs it -------------------------------------------------------------------


def test_cli_takes_smoltraces_flags_and_dotenv(tmp_path):
    """One run: .env names the store, --model-args a=1 b=2 reach the model, --prompt-yml sets max_steps,
    the multi-word tool and import flags and the grouping labels are recorded on the run."""
    (tmp_path / "work").mkdir()
    db = tmp_path / "from-dotenv.duckdb"
    (tmp_path / ".env").write_text(f'export SMOLTRACE_DB="{db}"\n')
    (tmp_path / "agent.yml").write_text("max_steps: 1\nname: weather_desk\n")
    env = {k: v for k, v in ENV.items() if k != "SMOLTRACE_DB"}
    result = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--model",
            "gpt-4o-mini",
            "--model-args",
            "mock_response=Tokyo is clear",
            "temperature=0.25",
            "seed=7",
            "--agent-type",
            "tool",
            "--limit",
            "1",
            "--prompt-yml",
            "agent.yml",
            "--enable-tools",
            "read_file",
            "list_directory",
            "--working-directory",
            "work",
            "--additional-imports",
            "json",
            "csv",
            "--use-case",
            "Weather Desk",
            "--team",
            "Platform",
            "--purpose",
            "regression",
            "--suite-version",
            "2025 Q1",
            "--run-id",
            "flags-run",
            "--output-format",
            "json",
            "--output-dir",
            "out",
            "--quiet",
            "--trace-litellm",
        ],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert db.exists()
    (run,) = rows(db, "SELECT SpanAttributes AS a FROM otel_traces WHERE SpanName = 'smoltrace.run'")
    attributes = json.loads(run["a"])
    assert {
        key: attributes.get(key)
        for key in (
            "smoltrace.run.use_case",
            "smoltrace.run.team",
            "smoltrace.run.purpose",
            "smoltrace.run.suite_version",
            "smoltrace.run.max_steps",
        )
    } == {
        "smoltrace.run.use_case": "weather-desk",
        "smoltrace.run.team": "platform",
        "smoltrace.run.purpose": "regression",
        "smoltrace.run.suite_version": "2025-q1",
        "smoltrace.run.max_steps": 1,
    }
    recorded = json.loads(attributes["smoltrace.run.config"])
    assert (recorded["enable_tools"], recorded["additional_imports"], recorded["working_directory"]) == (
        ["read_file", "list_directory"],
        ["json", "csv"],
        str((tmp_path / "work").resolve()),
    )
    params = rows(
        db,
        "SELECT DISTINCT SpanAttributes->>'llm.invocation_parameters' AS p FROM otel_traces "
        "WHERE SpanName = 'completion'",
    )
    assert params and all('"temperature": 0.25' in r["p"] and '"seed": 7' in r["p"] for r in params)


def test_cli_names_flag_mistakes_without_a_traceback(tmp_path):
    def run(*args):
        return subprocess.run(
            [
                str(BIN / "smoltrace-eval"),
                "--model",
                "gpt-4o-mini",
                "--model-args",
                "mock_response=x",
                "--output-format",
                "json",
                "--db",
                str(tmp_path / "s.duckdb"),
                *args,
            ],
            check=False,
            cwd=tmp_path,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )

    (tmp_path / "p.yml").write_text("max_step: 2\n")
    for args, message in [
        (["--prompt-yml", "p.yml"], "Error: --prompt-yml p.yml: unknown setting 'max_step'; the settings are"),
        (["--enable-tools", "wikipedia_search"], "Error: --enable-tools: unknown tool 'wikipedia_search'; choose from"),
        (["--working-directory", "nowhere"], "Error: --working-directory: nowhere is not a folder"),
        (
            ["--mcp-server-url", "food=localhost:1"],
            "Error: --mcp-server-url 'food=localhost:1': expected an http(s) URL, or NAME=URL",
        ),
        (
            ["--hf-inference-provider", "together"],
            "Error: --hf-inference-provider is for --provider inference (got --provider litellm)",
        ),
        (
            ["--mcp-server-url", "http://127.0.0.1:9/mcp"],
            "Error: cannot reach the MCP server at http://127.0.0.1:9/mcp: Connection refused",
        ),
    ]:
        result = run(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(message) and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "s.duckdb").exists()  # every mistake was found before the store was touched
    bad = run("--purpose", "fun")
    assert (
        bad.returncode == 2
        and "Invalid value for '--purpose': 'fun' is not one of 'selection', 'regression', 'monitoring'." in bad.stderr
    )


def help_entries(command: str) -> dict[str, str]:
    """``--help`` as {flag: its whole (unwrapped) description}."""
    text = subprocess.run([str(BIN / command), "--help"], capture_output=True, text=True, env=ENV, check=True).stdout
    entries, current = {}, None
    for line in text.split("Options:", 1)[1].splitlines():
        if line.startswith("  -"):  # an option; its wrapped description lines are indented further
            current = line.split()[0].rstrip(",")
            entries[current] = line.strip()
        elif current and line.strip():
            entries[current] += " " + line.strip()
    return entries


def test_help_explains_the_new_flags_with_their_defaults():
    entries = help_entries("smoltrace-eval")
    for flag, default in [
        ("--model-args", "Default: none"),
        ("--hf-inference-provider", "Default: Hugging Face's"),
        ("--enable-tools", "Default: none"),
        ("--search-provider", "[default: duckduckgo]"),
        ("--search-url", "Default: the provider's public URL"),
        ("--additional-imports", "Default: none"),
        ("--working-directory", "Default: the current"),
        ("--mcp-server-url", "Default: none"),
        ("--mcp-transport", "[default: auto]"),
        ("--prompt-yml", "Default: none"),
        ("--use-case", "Default: none"),
        ("--team", "Default: none"),
        ("--purpose", "Default: none"),
        ("--suite-version", "Default: none"),
    ]:
        assert default in entries[flag], entries[flag]
