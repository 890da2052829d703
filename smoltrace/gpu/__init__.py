"""GPU utilization, memory, temperature, power, energy, CO2 and electricity cost, per GPU, over time.

For local models the runner samples every NVIDIA GPU through NVML and exports each sample as OTel
metrics to the collector; the ``gpu_metrics`` and ``gpu_run_summary`` views turn them into SMOLTRACE's
columns. ``nvidia-ml-py`` is optional (``pip install 'smoltrace[gpu]'``) and imported only when used.

    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from smoltrace.gpu import GpuSampler, gpu_metrics_available

    ok, reason = gpu_metrics_available()
    if ok:
        exporter = OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True)
        with GpuSampler(exporter, run_id, interval_s=1.0, grid_intensity_gco2_per_kwh=300):
            run_agents()
    else:
        log.info("GPU metrics off: %s", reason)

API models have no GPU to sample: their energy, CO2 and cost stay empty (NULL), never a token-based
estimate presented as a measurement.
"""

from smoltrace.gpu.energy import DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH, DEFAULT_PRICE_USD_PER_KWH
from smoltrace.gpu.nvml import INSTALL_HINT, GpuUnavailableError, gpu_metrics_available
from smoltrace.gpu.sampler import GpuSampler, GpuSnapshot

__all__ = [
    "DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH",
    "DEFAULT_PRICE_USD_PER_KWH",
    "INSTALL_HINT",
    "GpuSampler",
    "GpuSnapshot",
    "GpuUnavailableError",
    "gpu_metrics_available",
]
