"""A dry run of bench/gpu_check.py with the fake NVML and a stand-in for nvidia-smi, so the comparison
logic is known to work before the script meets a real GPU."""

import importlib.util
import sys
import time
from pathlib import Path

import pytest
from fake_nvml import NVML_ERROR_LIBRARY_NOT_FOUND, FakeGpu, FakeNvml, Sample

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"
UUID = "GPU-0a0a0a0a-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gpu_check", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_check"]


def fake_gpu():
    sample = Sample(utilization=50, memory_used_mib=1000, temperature=40, power_mw=100_000)
    return FakeNvml([FakeGpu("NVIDIA H100 80GB HBM3", UUID, 81559, samples=[sample])])


def smi_reporting(bench, **overrides):
    values = {"utilization.gpu": 52.0, "memory.used": 1010.0, "memory.total": 81559.0,
              "temperature.gpu": 41.0, "power.draw": 103.0, **overrides}  # fmt: skip
    return lambda: bench.SmiReading(time.time_ns(), {UUID: dict(values)})


def test_passes_when_nvidia_smi_agrees(bench, capsys):
    status = bench.run_check(1.0, 0.1, load=False, nvml=fake_gpu(), read_smi=smi_reporting(bench), smi_required=False)
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.strip().endswith("PASS") and "energy (Wh)" in out and "FAIL" not in out


def test_fails_when_a_metric_disagrees(bench, capsys):
    smi = smi_reporting(bench, **{"temperature.gpu": 60.0})
    status = bench.run_check(1.0, 0.1, load=False, nvml=fake_gpu(), read_smi=smi, smi_required=False)
    out = capsys.readouterr().out
    assert status == 1
    assert [line for line in out.splitlines() if "temperature" in line][0].rstrip().endswith("FAIL")
    assert out.strip().endswith("FAIL")


def test_no_gpu_fails_with_one_clear_line(bench, capsys):
    assert bench.run_check(nvml=FakeNvml([], init_error=NVML_ERROR_LIBRARY_NOT_FOUND)) == 2
    assert capsys.readouterr().out == (
        "FAIL: no GPU metrics on this machine: NVML could not start (NVML Shared Library Not Found): "
        "no usable NVIDIA driver or GPU\n"
    )
