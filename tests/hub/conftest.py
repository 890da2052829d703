"""Fixtures for the Hub tests: stores made by real evaluation runs (scripted model), GPU samples from
the real sampler (fake NVML) through a real collector, and the stand-in Hub.

The evaluations run once per session (the first run in a process pays ~15 s of imports); each test
gets its own copy of the store file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakehub import FakeHub

TOKENS = {"hf_good_alice_token": "alice", "hf_bob_token": "bob"}
GOOD = "hf_good_alice_token"
WEATHER = {"id": "weather_tokyo", "prompt": "What is the weather in Tokyo?", "difficulty": "easy",
           "expected_tool": "get_weather", "expected_keywords": ["18°C", "Clear"], "category": "weather"}  # fmt: skip
CALC = {"id": "calc_add", "prompt": "What is 2 + 3?", "difficulty": "easy", "expected_tool": "calculator",
        "expected_keywords": ["5"], "category": "math"}  # fmt: skip
VENV_BIN = Path(sys.executable).parent

# huggingface_hub's own LFS PUT passes `data=bytes` to httpx, which warns; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@dataclass
class Stores:
    path: Path  # template store: run_a (tool + code, 2 tasks), run_b (tool, 1 task, with GPU samples)
    run_a: str
    run_b: str
    outcome_a: tuple  # what run_evaluation returned for run_a


def _add_gpu_samples(db_path: Path, run_id: str) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    from smoltrace.collector import Collector
    from smoltrace.gpu import GpuSampler
    from tests.gpu.fake_nvml import FakeGpu, FakeNvml, Sample

    nvml = FakeNvml([FakeGpu("NVIDIA H100 80GB HBM3", "GPU-0a0a0a0a-0000-4000-8000-000000000000", 81559, samples=[
        Sample(utilization=10, memory_used_mib=1024, temperature=40, power_mw=100_000),
        Sample(utilization=50, memory_used_mib=2048, temperature=45, power_mw=150_000),
    ])])  # fmt: skip
    times = iter([1_700_000_000_000_000_000, 1_700_000_001_000_000_000])
    now = {"t": next(times)}
    with Collector.embedded(db_path=db_path) as collector:
        exporter = OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True)
        sampler = GpuSampler(exporter, run_id, nvml=nvml, clock=lambda: now["t"])
        nvml.step = 0
        sampler.sample_once()
        nvml.step, now["t"] = 1, next(times)
        sampler.stop()


@pytest.fixture(scope="session")
def stores(tmp_path_factory) -> Stores:
    from smoltrace.core import run_evaluation
    from smoltrace.runner.scripted import ScriptedModel, call

    folder = tmp_path_factory.mktemp("stores")
    path = folder / "store.duckdb"
    tasks = folder / "tasks.json"
    tasks.write_text(json.dumps([WEATHER, CALC]))
    script = {
        WEATHER["prompt"]: [call("get_weather", location="Tokyo"), call("final_answer", answer="Tokyo: 18°C, Clear")],
        CALC["prompt"]: [call("calculator", expression="2 + 3"), call("final_answer", answer="5")],
    }
    # "both": the code agent gets tool-call replies it cannot use, so its rows are failures (stop reasons vary)
    outcome_a = run_evaluation("gpt-4o-mini", dataset_name=str(tasks), db_path=path, agent_type="both",
                               max_steps=3, model_factory=lambda: ScriptedModel(script))  # fmt: skip
    single = folder / "single.json"
    single.write_text(json.dumps([WEATHER]))
    outcome_b = run_evaluation("gpt-4o-mini", dataset_name=str(single), db_path=path, agent_type="tool",
                               model_factory=lambda: ScriptedModel(script))  # fmt: skip
    _add_gpu_samples(path, outcome_b[4])
    return Stores(path, outcome_a[4], outcome_b[4], outcome_a)


@pytest.fixture
def store(stores, tmp_path) -> Path:
    """A private copy of the template store."""
    copy = tmp_path / "store.duckdb"
    shutil.copy(stores.path, copy)
    return copy


@pytest.fixture
def hub_tokens():
    return TOKENS


def reader_for(path):
    from smoltrace.store.reader import FileReader

    return FileReader.open(path)


def run_cli(command: str, args: list[str], hub: FakeHub, home: str, *, token: str | None = GOOD,
            input: str | None = None, extra_env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:  # fmt: skip
    """An installed console script, with the client pointed at the fake Hub through its environment;
    an ``extra_env`` value of "" unsets that variable."""
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    env.update(hub.client_env(home, None))
    if token:
        env["HF_TOKEN"] = token
    env.update(extra_env or {})
    env = {name: value for name, value in env.items() if value != ""}
    return subprocess.run([str(VENV_BIN / command), *args], env=env, input=input, capture_output=True,
                          text=True, timeout=600, cwd=cwd, check=False)  # fmt: skip
