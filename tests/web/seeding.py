"""A store of real runs for the web view's tests: real smolagents agents driven by scripted models
(``ScriptedModel``: litellm's own mock responses), traced by the real instrumentation and exported over
OTLP/gRPC into a running collector, plus GPU samples from the real sampler over a fake NVML.

Runs (tool agent unless said):
- ``run_a``: weather (succeeds), calc (wrong answer), xss (prompt, tool arguments and answer hold
  HTML that would run if it were ever parsed as HTML), broken (a tool called without its argument:
  an error step, then max_steps); GPU samples of two GPUs during its tasks.
- ``run_b``: the same tasks; weather now fails and calc succeeds (two flips).
- ``run_code``: a CodeAgent on the weather task.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from smoltrace.collector import Collector
from smoltrace.core import run_evaluation
from smoltrace.runner.scripted import ScriptedModel, call, say

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "gpu"))  # fake_nvml, shared with the GPU tests

TOKEN = "web-view-test-token"

XSS_SCRIPT = "<script>window.__xss = 'script'</script>"
XSS_IMG = "<img src=x onerror=\"window.__xss = 'img'\">"
XSS_TEXT = f"{XSS_SCRIPT} and {XSS_IMG}"

WEATHER = {
    "id": "weather_tokyo", "prompt": "What is the weather in Tokyo?", "difficulty": "easy",
    "expected_tool": "get_weather", "expected_keywords": ["18°C", "Clear"], "category": "weather",
}  # fmt: skip
CALC = {
    "id": "calc_sum", "prompt": "What is 2 + 3?", "difficulty": "easy",
    "expected_tool": "calculator", "expected_keywords": ["5"], "category": "math",
}  # fmt: skip
XSS = {
    "id": "xss_echo", "prompt": f"Repeat this exactly: {XSS_TEXT}", "difficulty": "medium",
    "expected_tool": "get_weather", "expected_keywords": ["script"], "category": "security",
}  # fmt: skip
BROKEN = {
    "id": "broken_call", "prompt": "What is the weather somewhere?", "difficulty": "hard",
    "expected_tool": "get_weather", "expected_keywords": ["°C"], "category": "weather",
}  # fmt: skip
TASKS = [WEATHER, CALC, XSS, BROKEN]


def script_a():
    return {
        WEATHER["prompt"]: [call("get_weather", location="Tokyo"), call("final_answer", answer="Tokyo: 18°C, Clear")],
        CALC["prompt"]: [call("calculator", expression="2 + 3"), call("final_answer", answer="six")],
        XSS["prompt"]: [call("get_weather", location=XSS_TEXT), call("final_answer", answer=XSS_TEXT)],
        BROKEN["prompt"]: [call("get_weather"), call("get_weather")],
    }  # fmt: skip


def script_b():
    return {
        WEATHER["prompt"]: [call("get_weather", location="Tokyo"), call("final_answer", answer="sunny, I think")],
        CALC["prompt"]: [call("calculator", expression="2 + 3"), call("final_answer", answer="5")],
        XSS["prompt"]: [call("get_weather", location=XSS_TEXT), call("final_answer", answer=XSS_TEXT)],
        BROKEN["prompt"]: [call("get_weather"), call("get_weather")],
    }  # fmt: skip


@dataclass
class WebStore:
    collector: Collector
    run_a: str
    run_b: str
    run_code: str
    folder: Path

    @property
    def url(self) -> str:
        return self.collector.http_endpoint + "/"


def evaluate(collector: Collector, tasks_file: Path, script: dict, *, agent_type="tool", run_id=None, **options) -> str:
    remote = {"otlp_endpoint": collector.grpc_endpoint, "otlp_token": TOKEN, "query_url": collector.http_endpoint}
    model_options = options.pop("model_options", {})
    result = run_evaluation("gpt-4o-mini", dataset_name=str(tasks_file), agent_type=agent_type, max_steps=2,
                            run_id=run_id, model_factory=lambda: ScriptedModel(script, **model_options),
                            **remote, **options)  # fmt: skip
    return result[4]


def record_gpu_samples(collector: Collector, run_id: str, start_ns: int, end_ns: int, count: int = 8) -> None:
    """``count`` samples of two fake GPUs (the second without a power sensor) spread over start..end."""
    from fake_nvml import FakeGpu, FakeNvml, Sample
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter,
    )

    from smoltrace.gpu import GpuSampler

    utilization = [5, 40, 85, 92, 60, 88, 30, 10]
    nvml = FakeNvml([
        FakeGpu("NVIDIA H100 80GB HBM3", "GPU-0a0a0a0a-0000-4000-8000-000000000000", 81559, samples=[
            Sample(utilization=utilization[i % 8], memory_used_mib=1024 * (1 + i), temperature=40 + 3 * i,
                   power_mw=100_000 + 30_000 * (i % 5), energy_mj=1_000_000 + 400_000 * i)
            for i in range(count)
        ]),
        FakeGpu("NVIDIA GeForce GT 710", "GPU-1b1b1b1b-0000-4000-8000-000000000001", 2048, samples=[
            Sample(utilization=(7 * i) % 20, memory_used_mib=100 + 25 * i, temperature=30 + i) for i in range(count)
        ]),
    ])  # fmt: skip
    now = {"t": start_ns}
    exporter = OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True,
                                  headers=(("authorization", f"Bearer {TOKEN}"),))  # fmt: skip
    sampler = GpuSampler(exporter, run_id, nvml=nvml, clock=lambda: now["t"])
    step_ns = (end_ns - start_ns) // (count - 1)
    for step in range(count - 1):
        nvml.step, now["t"] = step, start_ns + step * step_ns
        sampler.sample_once()
    nvml.step, now["t"] = count - 1, end_ns
    sampler.stop()


def seed(collector: Collector, folder: Path) -> WebStore:
    tasks_file = folder / "tasks.json"
    tasks_file.write_text(json.dumps(TASKS))
    code_file = folder / "code.json"
    code_file.write_text(json.dumps([WEATHER]))
    run_a = evaluate(collector, tasks_file, script_a(), model_options={"delay_s": 0.05})
    time.sleep(0.05)  # runs listed newest first: distinct start times
    run_b = evaluate(collector, tasks_file, script_b())
    time.sleep(0.05)
    code_script = {WEATHER["prompt"]: [say("<code>\nfinal_answer(get_weather(location='Tokyo'))\n</code>")]}
    run_code = evaluate(collector, code_file, code_script, agent_type="code")
    reader = collector.reader()
    try:
        first, last = reader.execute(
            "SELECT min(epoch_ns(start_time)), max(epoch_ns(start_time) + CAST(execution_time_ms * 1e6 AS BIGINT)) "
            "FROM results WHERE run_id = ?", [run_a]).fetchone()  # fmt: skip
    finally:
        reader.close()
    record_gpu_samples(collector, run_a, first - 20_000_000, last + 20_000_000)
    return WebStore(collector, run_a, run_b, run_code, folder)
