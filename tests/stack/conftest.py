"""A real embedded collector holding real runs, for the stack tests.

``stack_store`` runs two real evaluations (scripted model, real agents and instrumentation) that export
over OTLP/gRPC into one running collector, the way ``smoltrace-eval --otlp-endpoint`` exports into the
compose stack's smoltrace-collector, then drives the GPU sampler with a fake NVML (tests/gpu/fake_nvml.py)
into the same collector for the first run. The dashboards' queries are then asked of its query API.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from smoltrace.collector import Collector

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "gpu"))  # fake_nvml, shared with the GPU tests

TOKEN = "stack-test-token"

WEATHER = {
    "id": "weather_tokyo", "prompt": "What is the weather in Tokyo?", "difficulty": "easy",
    "expected_tool": "get_weather", "expected_keywords": ["18°C", "Clear"], "category": "weather",
}  # fmt: skip
CALC = {
    "id": "calc_sum", "prompt": "What is 2 + 3?", "difficulty": "easy",
    "expected_tool": "calculator", "expected_keywords": ["5"], "category": "math",
}  # fmt: skip


@dataclass
class StackStore:
    collector: Collector
    tool_run_id: str  # tool agent, two tasks (one success, one failure), with GPU samples
    code_run_id: str  # code agent, one task

    @property
    def query_url(self) -> str:
        return self.collector.http_endpoint


def _record_gpu_samples(collector: Collector, run_id: str, token: str) -> None:
    """Four samples of two fake GPUs (one without a power sensor), one second apart, ending now."""
    from fake_nvml import FakeGpu, FakeNvml, Sample
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    from smoltrace.gpu import GpuSampler

    nvml = FakeNvml([
        FakeGpu("NVIDIA H100 80GB HBM3", "GPU-0a0a0a0a-0000-4000-8000-000000000000", 81559, samples=[
            Sample(utilization=u, memory_used_mib=m, temperature=t, power_mw=p)
            for u, m, t, p in [(10, 1024, 40, 100_000), (60, 4096, 55, 300_000), (90, 8192, 61, 350_000), (20, 2048, 50, 120_000)]
        ]),
        FakeGpu("NVIDIA GeForce GT 710", "GPU-1b1b1b1b-0000-4000-8000-000000000001", 2048, samples=[
            Sample(utilization=u, memory_used_mib=m, temperature=t) for u, m, t in [(0, 100, 30), (5, 200, 31), (7, 300, 32), (1, 250, 33)]
        ]),
    ])  # fmt: skip
    start = time.time_ns() - 4_000_000_000
    now = {"t": start}
    exporter = OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True,
                                  headers=(("authorization", f"Bearer {token}"),))  # fmt: skip
    sampler = GpuSampler(exporter, run_id, nvml=nvml, clock=lambda: now["t"])
    for step in range(3):
        nvml.step, now["t"] = step, start + step * 1_000_000_000
        sampler.sample_once()
    nvml.step, now["t"] = 3, start + 3 * 1_000_000_000
    sampler.stop()


@pytest.fixture(scope="session")
def stack_store(tmp_path_factory):
    from smoltrace.core import run_evaluation
    from smoltrace.runner.scripted import ScriptedModel, call, say

    folder = tmp_path_factory.mktemp("stack")
    tool_tasks, code_tasks = folder / "tool.json", folder / "code.json"
    tool_tasks.write_text(json.dumps([WEATHER, CALC]))
    code_tasks.write_text(json.dumps([WEATHER]))
    tool_script = {
        WEATHER["prompt"]: [call("get_weather", location="Tokyo"), call("final_answer", answer="Tokyo: 18°C, Clear")],
        CALC["prompt"]: [call("calculator", expression="2 + 3"), call("final_answer", answer="six")],  # wrong answer
    }
    code_script = {WEATHER["prompt"]: [say("<code>\nfinal_answer(get_weather(location='Tokyo'))\n</code>")]}
    with Collector.embedded(db_path=folder / "stack.duckdb", token=TOKEN) as collector:
        remote = {"otlp_endpoint": collector.grpc_endpoint, "otlp_token": TOKEN, "query_url": collector.http_endpoint}
        tool_run = run_evaluation("gpt-4o-mini", dataset_name=str(tool_tasks), agent_type="tool", max_steps=3,
                                  model_factory=lambda: ScriptedModel(tool_script), **remote)[4]  # fmt: skip
        code_run = run_evaluation("gpt-4o-mini", dataset_name=str(code_tasks), agent_type="code", max_steps=3,
                                  model_factory=lambda: ScriptedModel(code_script), **remote)[4]  # fmt: skip
        _record_gpu_samples(collector, tool_run, TOKEN)
        yield StackStore(collector, tool_run, code_run)
