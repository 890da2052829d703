"""The GPU sampler: every GPU, every interval, exported as OTel metrics at the sample's own time.

The runner starts one per run of a local model::

    exporter = OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True)
    with GpuSampler(exporter, run_id, interval_s=1.0):
        ...  # run the agents

``start()`` takes a first sample at once and then one every ``interval_s`` on a daemon thread;
``stop()`` takes a final sample, so the energy integral covers the whole run, flushes and shuts the
exporter down (the sampler owns it, as an SDK metric reader owns its exporter).

Each sample reads every GPU once (one shared sample time), turns the readings into points (see
``metrics.py``) and exports them as one OTLP request; the collector stores one row per run × GPU ×
sample time × metric. Nothing here may break a run: a failed reading, a failed export or an unexpected
error in the thread is logged and sampling goes on.

Tests drive it without a thread or sleeping: inject ``nvml`` (a fake module) and ``clock`` and call
``sample_once()`` directly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult
from opentelemetry.sdk.resources import Resource

from smoltrace import __version__
from smoltrace.gpu import energy, metrics
from smoltrace.gpu import nvml as nvml_access
from smoltrace.gpu.nvml import GpuDevice, GpuReading, GpuUnavailableError

log = logging.getLogger("smoltrace.gpu")


def wall_clock_ns() -> Callable[[], int]:
    """A clock in Unix ns that never steps: wall time at creation plus monotonic time since.

    Sample times must be real timestamps (to line up with spans) but must not jump when NTP adjusts
    the system clock mid-run, or the energy integral would see negative or inflated intervals.
    """
    wall0, mono0 = time.time_ns(), time.monotonic_ns()
    return lambda: wall0 + (time.monotonic_ns() - mono0)


@dataclass(frozen=True)
class GpuSnapshot:
    """What one sample found on one GPU, with the derived cumulative values (``None`` = empty)."""

    time_ns: int
    device: GpuDevice
    reading: GpuReading
    energy_joules: float | None
    co2_grams: float | None
    cost_usd: float | None


class GpuSampler:
    """Samples every NVIDIA GPU and exports each sample through an OTel ``MetricExporter``.

    Args:
        exporter: where the points go, e.g. ``OTLPMetricExporter(endpoint=..., insecure=True)``;
            shut down by ``stop()``.
        run_id: the run every point belongs to (attribute ``smoltrace.run.id``).
        interval_s: seconds between samples on the background thread (default 1 s).
        grid_intensity_gco2_per_kwh: grid carbon intensity for CO2 (default: world average 2023,
            see ``energy.DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH``).
        price_usd_per_kwh: electricity price for cost (default: see ``energy.DEFAULT_PRICE_USD_PER_KWH``).
        nvml: the NVML module (default: ``pynvml``, imported on first use).
        resource_attributes: merged into the exported resource (``service.name`` defaults to
            ``smoltrace-eval``; ``smoltrace.run.id`` is set too).
        clock: Unix-ns clock for sample times (default: ``wall_clock_ns()``); tests inject one.
    """

    def __init__(
        self,
        exporter: MetricExporter,
        run_id: str,
        *,
        interval_s: float = 1.0,
        grid_intensity_gco2_per_kwh: float = energy.DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH,
        price_usd_per_kwh: float = energy.DEFAULT_PRICE_USD_PER_KWH,
        nvml: Any = None,
        resource_attributes: Mapping[str, Any] | None = None,
        clock: Callable[[], int] | None = None,
        export_timeout_s: float = 10.0,
    ):
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.exporter = exporter
        self.run_id = run_id
        self.interval_s = interval_s
        self.grid_intensity_gco2_per_kwh = grid_intensity_gco2_per_kwh
        self.price_usd_per_kwh = price_usd_per_kwh
        self.resource = Resource.create(
            {"service.name": "smoltrace-eval", "smoltrace.run.id": run_id, **(resource_attributes or {})}
        )
        self._nvml = nvml
        self._clock = clock or wall_clock_ns()
        self._export_timeout_ms = export_timeout_s * 1000
        self.devices: list[GpuDevice] = []
        self._meters: dict[int, energy.EnergyMeter] = {}
        self._attributes: dict[int, dict[str, Any]] = {}
        self._opened = False
        self._closed = False
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported_errors: set[tuple[int, str]] = set()
        #: counters for the runner's run summary and for tests
        self.samples_taken = 0
        self.export_failures = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        """Start NVML and discover the GPUs once. Raises ``GpuUnavailableError`` with a reason."""
        if self._opened:
            return
        if self._closed:
            raise RuntimeError("GpuSampler is stopped; create a new one")
        nvml = self._nvml if self._nvml is not None else nvml_access.load_nvml()
        nvml_access.init_nvml(nvml)
        try:
            devices = nvml_access.discover(nvml)
        except nvml.NVMLError as exc:
            nvml_access.shutdown_nvml(nvml)
            raise GpuUnavailableError(f"NVML could not list GPUs ({exc})") from None
        if not devices:
            nvml_access.shutdown_nvml(nvml)
            raise GpuUnavailableError("NVML found no NVIDIA GPU on this machine")
        self._nvml, self.devices, self._opened = nvml, devices, True
        for device in devices:
            self._meters[device.index] = energy.EnergyMeter(use_counter=device.has_energy_counter)
            self._attributes[device.index] = metrics.gpu_attributes(self.run_id, device.index, device.name, device.uuid)
            log.info(
                "GPU %d %s (%s): energy from %s",
                device.index, device.name, device.uuid, self._meters[device.index].method,
            )  # fmt: skip

    def start(self) -> GpuSampler:
        """Open NVML, take the first sample now, then sample every ``interval_s`` in the background."""
        self._ensure_open()
        if self._thread is None:
            self.sample_once()
            self._thread = threading.Thread(target=self._run, name="smoltrace-gpu-sampler", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread, take a final sample, flush and shut the exporter down. Idempotent."""
        if self._closed:
            return
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self._opened:
                self._safe_sample()
            self.exporter.force_flush()
        finally:
            self._closed = True
            self.exporter.shutdown()
            if self._opened:
                nvml_access.shutdown_nvml(self._nvml)

    def __enter__(self) -> GpuSampler:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self) -> None:
        next_due = time.monotonic() + self.interval_s
        while not self._stop_event.wait(max(0.0, next_due - time.monotonic())):
            self._safe_sample()
            next_due += self.interval_s
            if next_due < time.monotonic():  # fell behind (slow export): skip the missed ticks
                next_due = time.monotonic() + self.interval_s

    def _safe_sample(self) -> None:
        try:
            self.sample_once()
        except Exception:  # a sampler bug or a dying driver must not take the run down
            log.exception("GPU sample failed; sampling continues")

    # -- one sample ------------------------------------------------------------------------------

    def sample_once(self) -> list[GpuSnapshot]:
        """Read every GPU at one instant, export the points, and return what was read."""
        with self._lock:
            self._ensure_open()
            time_ns = self._clock()
            snapshots = [self._snapshot(time_ns, device) for device in self.devices]
            points = [point for snapshot in snapshots for point in self._points(snapshot)]
            self.samples_taken += 1
            if points:
                data = metrics.build_metrics_data(self.resource, __version__, time_ns, points)
                result = self.exporter.export(data, timeout_millis=self._export_timeout_ms)
                if result is not MetricExportResult.SUCCESS:
                    self.export_failures += 1
                    log.warning("GPU metrics export failed (%d failures so far)", self.export_failures)
            return snapshots

    def _snapshot(self, time_ns: int, device: GpuDevice) -> GpuSnapshot:
        reading = nvml_access.read(self._nvml, device)
        for error in reading.errors:
            self._report_error(device, error)
        joules = self._meters[device.index].update(time_ns, reading.power_watts, reading.energy_counter_joules)
        return GpuSnapshot(
            time_ns=time_ns,
            device=device,
            reading=reading,
            energy_joules=joules,
            co2_grams=None if joules is None else energy.co2_grams(joules, self.grid_intensity_gco2_per_kwh),
            cost_usd=None if joules is None else energy.cost_usd(joules, self.price_usd_per_kwh),
        )

    def _report_error(self, device: GpuDevice, error: str) -> None:
        """Warn once per GPU and sensor; repeats (a sensor failing every second) go to debug."""
        key = (device.index, error.split(":", 1)[0])
        level = logging.DEBUG if key in self._reported_errors else logging.WARNING
        self._reported_errors.add(key)
        log.log(level, "GPU %d reading skipped: %s", device.index, error)

    def _points(self, snapshot: GpuSnapshot) -> list[metrics.Point]:
        attributes = self._attributes[snapshot.device.index]
        reading = snapshot.reading
        points = []

        def add(spec: metrics.MetricSpec, value: float | None, extra: Mapping[str, Any] = (), start_ns: int = 0):
            if value is not None:
                points.append(metrics.Point(spec, {**attributes, **dict(extra)}, float(value), start_ns))

        if reading.utilization_percent is not None:
            add(metrics.UTILIZATION, reading.utilization_percent / 100.0, {"hw.gpu.task": "general"})
        add(metrics.MEMORY_USAGE, reading.memory_used_bytes)
        add(metrics.MEMORY_LIMIT, reading.memory_total_bytes)
        add(metrics.TEMPERATURE, reading.temperature_celsius)
        add(metrics.POWER, reading.power_watts)
        meter = self._meters[snapshot.device.index]
        method = {"smoltrace.gpu.energy_method": meter.method}
        add(metrics.ENERGY, snapshot.energy_joules, method, meter.start_time_ns or 0)
        add(metrics.CO2, snapshot.co2_grams, method, meter.start_time_ns or 0)
        add(metrics.COST, snapshot.cost_usd, method, meter.start_time_ns or 0)
        return points
