"""The sampler without a collector: energy sources and units, availability, failures, the thread."""

import sys
import time

import pytest
from fake_nvml import (
    API_SURFACE,
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_ERROR_NOT_SUPPORTED,
    FakeGpu,
    FakeNvml,
    NVMLError,
    NVMLError_NotSupported,
    Sample,
)
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

from smoltrace.gpu import (
    DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH,
    DEFAULT_PRICE_USD_PER_KWH,
    GpuSampler,
    GpuUnavailableError,
    gpu_metrics_available,
)
from smoltrace.gpu.energy import EnergyMeter, co2_grams, cost_usd

T0 = 1_700_000_000_000_000_000
SECOND = 1_000_000_000


class CapturingExporter(MetricExporter):
    """Keeps every batch; answers ``result`` to each export."""

    def __init__(self, result=MetricExportResult.SUCCESS):
        super().__init__()
        self.result = result
        self.batches = []
        self.flushed = self.shut_down = False

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        self.batches.append(metrics_data)
        return self.result

    def force_flush(self, timeout_millis=10_000):
        self.flushed = True
        return True

    def shutdown(self, timeout_millis=30_000, **kwargs):
        self.shut_down = True


def values(batch, name):
    """{gpu.index: (time, value, attributes)} of metric ``name`` in one exported batch."""
    found = {}
    for resource_metrics in batch.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        found[point.attributes["gpu.index"]] = (point.time_unix_nano, point.value, point.attributes)
    return found


def one_gpu(*samples, name="NVIDIA A100-SXM4-80GB", **options):
    return FakeNvml([FakeGpu(name, "GPU-a100", 81920, samples=list(samples))], **options)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


# -- energy ------------------------------------------------------------------------------------------


def test_one_kilowatt_for_one_hour_is_one_kwh_not_3_6():
    """SMOLTRACE took kW·s for Wh (3.6× off). Joules in, one conversion out."""
    meter = EnergyMeter(use_counter=False)
    assert meter.update(T0, 1000.0, None) == 0.0
    joules = meter.update(T0 + 3600 * SECOND, 1000.0, None)
    assert joules == 3_600_000.0  # 1 kW × 3600 s
    assert joules / 3600 == 1000.0  # Wh
    assert co2_grams(joules, DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH) == DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH
    assert cost_usd(joules, DEFAULT_PRICE_USD_PER_KWH) == DEFAULT_PRICE_USD_PER_KWH


def test_trapezoid_is_exact_for_a_linear_ramp():
    meter = EnergyMeter(use_counter=False)
    meter.update(T0, 0.0, None)
    assert meter.update(T0 + 10 * SECOND, 100.0, None) == 500.0  # area under 0 → 100 W over 10 s
    assert meter.update(T0 + 10 * SECOND, 100.0, None) == 500.0  # zero elapsed adds nothing


def test_energy_counter_is_preferred_where_the_gpu_has_one():
    """Energy from NVML's mJ counter (increases only; a driver reload that resets it adds 0),
    whatever the sampled power says; power is still reported as a gauge."""
    nvml = one_gpu(
        Sample(power_mw=300_000, energy_mj=5_000_000),
        Sample(power_mw=1, energy_mj=5_090_000),  # +90 J
        Sample(power_mw=1, energy_mj=1_000),  # counter reset: +0
        Sample(power_mw=1, energy_mj=181_000),  # +180 J
    )
    exporter, clock = CapturingExporter(), Clock()
    sampler = GpuSampler(exporter, "r", nvml=nvml, clock=clock, grid_intensity_gco2_per_kwh=1000.0)
    for step in range(4):
        nvml.step, clock.now = step, T0 + step * SECOND
        sampler.sample_once()
    assert sampler.devices[0].has_energy_counter
    energies = [values(batch, "hw.energy")[0] for batch in exporter.batches]
    assert [value for _, value, _ in energies] == [0.0, 90.0, 90.0, 270.0]
    assert {attributes["smoltrace.gpu.energy_method"] for _, _, attributes in energies} == {"nvml_energy_counter"}
    assert values(exporter.batches[3], "gen_ai.co2.emissions")[0][1] == 270.0 / 3_600_000 * 1000.0
    assert values(exporter.batches[0], "hw.power")[0][1] == 300.0


def test_a_gpu_with_neither_power_nor_counter_has_no_energy_points():
    nvml = one_gpu(Sample(utilization=5))
    exporter = CapturingExporter()
    GpuSampler(exporter, "r", nvml=nvml, clock=Clock()).sample_once()
    names = {m.name for rm in exporter.batches[0].resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert names == {"hw.gpu.utilization", "hw.gpu.memory.usage", "hw.gpu.memory.limit", "hw.temperature"}


def test_old_pynvml_bytes_names_and_v1_memory_info():
    nvml = one_gpu(Sample(memory_used_mib=3), name=b"Tesla V100-SXM2-16GB", memory_v2=False)
    exporter = CapturingExporter()
    sampler = GpuSampler(exporter, "r", nvml=nvml, clock=Clock())
    sampler.sample_once()
    assert sampler.devices[0].name == "Tesla V100-SXM2-16GB"
    assert sampler.devices[0].memory_info_version is None
    assert values(exporter.batches[0], "hw.gpu.memory.usage")[0][1] == 3 * 1024 * 1024


# -- availability --------------------------------------------------------------------------------------


def test_not_available_without_nvidia_ml_py(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    ok, reason = gpu_metrics_available()
    assert ok is False
    assert "pip install 'smoltrace[gpu]'" in reason and "\n" not in reason


@pytest.mark.parametrize(
    "code, message", [(NVML_ERROR_LIBRARY_NOT_FOUND, "NVML Shared Library Not Found"),
                      (NVML_ERROR_DRIVER_NOT_LOADED, "Driver Not Loaded")],
)  # fmt: skip
def test_not_available_when_nvml_cannot_start(code, message):
    nvml = FakeNvml([], init_error=code)
    ok, reason = gpu_metrics_available(nvml)
    assert (ok, reason) == (False, f"NVML could not start ({message}): no usable NVIDIA driver or GPU")


def test_not_available_without_a_gpu():
    nvml = FakeNvml([])
    assert gpu_metrics_available(nvml) == (False, "NVML found no NVIDIA GPU on this machine")
    assert (nvml.init_calls, nvml.shutdown_calls) == (1, 1)


def test_available_names_every_gpu():
    nvml = FakeNvml([FakeGpu("NVIDIA H100 80GB HBM3", "GPU-a", 81559, [Sample()]),
                     FakeGpu("NVIDIA H100 80GB HBM3", "GPU-b", 81559, [Sample()])])  # fmt: skip
    assert gpu_metrics_available(nvml) == (True, "2 NVIDIA GPUs: 0 NVIDIA H100 80GB HBM3, 1 NVIDIA H100 80GB HBM3")
    assert nvml.initialized is False


def test_starting_without_a_gpu_raises_a_clear_error_and_stop_still_cleans_up():
    exporter = CapturingExporter()
    sampler = GpuSampler(exporter, "r", nvml=FakeNvml([], init_error=NVML_ERROR_DRIVER_NOT_LOADED))
    with pytest.raises(GpuUnavailableError, match=r"NVML could not start \(Driver Not Loaded\)"):
        sampler.start()
    sampler.stop()
    assert exporter.shut_down and exporter.batches == []


def test_fake_errors_behave_like_pynvml():
    error = NVMLError(NVML_ERROR_NOT_SUPPORTED)
    assert type(error) is NVMLError_NotSupported and isinstance(error, NVMLError)
    assert (error.value, str(error)) == (NVML_ERROR_NOT_SUPPORTED, "Not Supported")


def test_fake_presents_the_real_pynvml_names():
    """Keeps the fake honest where nvidia-ml-py is installed (no GPU needed: nothing is called)."""
    pynvml = pytest.importorskip("pynvml")
    fake = FakeNvml([])
    for name in API_SURFACE:
        assert hasattr(pynvml, name) and hasattr(fake, name), name
    for code, cls in [(NVML_ERROR_NOT_SUPPORTED, "NVMLError_NotSupported"),
                      (NVML_ERROR_LIBRARY_NOT_FOUND, "NVMLError_LibraryNotFound"),
                      (NVML_ERROR_DRIVER_NOT_LOADED, "NVMLError_DriverNotLoaded")]:  # fmt: skip
        assert type(pynvml.NVMLError(code)).__name__ == type(NVMLError(code)).__name__ == cls
    assert (pynvml.NVML_TEMPERATURE_GPU, pynvml.nvmlMemory_v2) == (fake.NVML_TEMPERATURE_GPU, fake.nvmlMemory_v2)


# -- failures and the thread -----------------------------------------------------------------------------


def test_a_failed_export_is_counted_and_sampling_goes_on():
    nvml = one_gpu(Sample(power_mw=100_000), Sample(power_mw=100_000))
    exporter, clock = CapturingExporter(MetricExportResult.FAILURE), Clock()
    sampler = GpuSampler(exporter, "r", nvml=nvml, clock=clock)
    sampler.sample_once()
    nvml.step, clock.now = 1, T0 + SECOND
    sampler.sample_once()
    assert (sampler.samples_taken, sampler.export_failures, len(exporter.batches)) == (2, 2, 2)
    assert values(exporter.batches[1], "hw.energy")[0][1] == 100.0  # the integral is not lost with the export


def test_background_thread_samples_every_interval_and_stop_takes_a_final_sample():
    nvml = one_gpu(Sample(power_mw=50_000))
    exporter = CapturingExporter()
    with GpuSampler(exporter, "r", nvml=nvml, interval_s=0.02) as sampler:
        time.sleep(0.2)
        running = len(exporter.batches)
    assert running >= 3  # first sample at start, then every 20 ms
    # + the final sample taken by stop() (and maybe one more tick between reading `running` and stopping)
    assert len(exporter.batches) == sampler.samples_taken >= running + 1
    times = [values(batch, "hw.power")[0][0] for batch in exporter.batches]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert exporter.flushed and exporter.shut_down
    assert (nvml.init_calls, nvml.shutdown_calls) == (1, 1)
    sampler.stop()  # idempotent
    assert nvml.shutdown_calls == 1
