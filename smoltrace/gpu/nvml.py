"""NVML access: the lazy import of ``pynvml``, GPU discovery, and one reading per GPU.

Everything NVML-specific lives here: its units (mW, mJ, bytes), its error classes, and which calls a
GPU may not support. The sampler above sees plain readings in SI units (W, J, bytes, °C).

The NVML module is always *passed in* (``nvml``; the real ``pynvml`` from nvidia-ml-py by default), so
tests hand in a fake with the same API surface instead of patching module paths. Only the names
listed in ``tests/gpu/fake_nvml.py`` are used.

Error policy (a run must never fail because a sensor did):

- ``NVMLError_NotSupported`` means the GPU has no such sensor (many consumer and older GPUs have no
  power reading): the value is left empty (``None``) for the whole run, silently, never zero.
- Any other ``NVMLError`` on one reading (a timeout, a transient driver error) skips that one reading
  for that GPU; it is reported to the caller in ``GpuReading.errors`` and the sampler keeps going.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

log = logging.getLogger("smoltrace.gpu")

INSTALL_HINT = "pip install 'smoltrace[gpu]'"


class GpuUnavailableError(RuntimeError):
    """No GPU metrics on this machine: nvidia-ml-py missing, no NVIDIA driver, or no GPU."""


def load_nvml() -> ModuleType:
    """Import ``pynvml`` (the nvidia-ml-py package) only when GPU metrics are wanted.

    Raises:
        GpuUnavailableError: with the install hint, when nvidia-ml-py is not installed.
    """
    try:
        import pynvml
    except ImportError as exc:
        raise GpuUnavailableError(
            f"GPU metrics need nvidia-ml-py (import pynvml failed: {exc}); install it with {INSTALL_HINT}"
        ) from None
    return pynvml


def init_nvml(nvml: Any) -> None:
    """``nvmlInit()``, turning NVML's failure into a one-line ``GpuUnavailableError``."""
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        raise GpuUnavailableError(f"NVML could not start ({exc}): no usable NVIDIA driver or GPU") from None


def shutdown_nvml(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except nvml.NVMLError as exc:  # nothing left to do about it; the samples are already exported
        log.debug("nvmlShutdown failed: %s", exc)


def gpu_metrics_available(nvml: Any = None) -> tuple[bool, str]:
    """Whether GPU metrics can be sampled here, and a one-line reason (also when they can).

    Args:
        nvml: the NVML module to use; ``None`` imports ``pynvml``.

    Returns:
        ``(True, "2 NVIDIA GPUs: 0 NVIDIA H100 80GB HBM3, 1 ...")`` or
        ``(False, "GPU metrics need nvidia-ml-py ...; install it with pip install 'smoltrace[gpu]'")``.
    """
    try:
        nvml = nvml if nvml is not None else load_nvml()
        init_nvml(nvml)
    except GpuUnavailableError as exc:
        return False, str(exc)
    try:
        devices = discover(nvml)
    except nvml.NVMLError as exc:
        return False, f"NVML could not list GPUs ({exc})"
    finally:
        shutdown_nvml(nvml)
    if not devices:
        return False, "NVML found no NVIDIA GPU on this machine"
    names = ", ".join(f"{d.index} {d.name}" for d in devices)
    return True, f"{len(devices)} NVIDIA GPU{'s' if len(devices) > 1 else ''}: {names}"


@dataclass(frozen=True)
class GpuDevice:
    """One GPU as NVML enumerates it, with what it turned out to support at discovery."""

    index: int
    name: str
    uuid: str
    handle: Any = field(compare=False, repr=False)
    #: NVML's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, Volta and newer) works.
    has_energy_counter: bool = False
    #: ``nvmlMemory_v2`` when ``nvmlDeviceGetMemoryInfo(handle, version=...)`` works (its ``used``
    #: excludes driver-reserved memory, as nvidia-smi shows it); ``None`` for the v1 call.
    memory_info_version: int | None = None


@dataclass(frozen=True)
class GpuReading:
    """One GPU's sensors at one instant; ``None`` is "no reading" (unsupported or failed), never 0."""

    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_celsius: float | None = None
    power_watts: float | None = None
    #: NVML's cumulative energy counter (since the driver loaded), in J, when the GPU has one.
    energy_counter_joules: float | None = None
    #: "power: Unknown Error", ... for readings that failed with an error other than NotSupported.
    errors: tuple[str, ...] = ()


def _text(value: str | bytes) -> str:
    """NVML strings: ``str`` in current nvidia-ml-py, ``bytes`` in old releases."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _supports(nvml: Any, call: Callable[[], Any]) -> bool:
    try:
        call()
    except (nvml.NVMLError, AttributeError, TypeError):
        return False
    return True


def discover(nvml: Any) -> list[GpuDevice]:
    """Every GPU NVML sees (after ``nvmlInit``), in index order.

    A GPU whose handle, name or UUID cannot be read is skipped with a warning; the others are kept.
    """
    devices = []
    for index in range(nvml.nvmlDeviceGetCount()):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name = _text(nvml.nvmlDeviceGetName(handle))
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        except nvml.NVMLError as exc:
            log.warning("GPU %d skipped: NVML cannot identify it (%s)", index, exc)
            continue
        energy_fn = getattr(nvml, "nvmlDeviceGetTotalEnergyConsumption", None)
        has_counter = energy_fn is not None and _supports(nvml, lambda fn=energy_fn, h=handle: fn(h))
        v2 = getattr(nvml, "nvmlMemory_v2", None)
        if v2 is not None and not _supports(nvml, lambda h=handle, v=v2: nvml.nvmlDeviceGetMemoryInfo(h, version=v)):
            v2 = None
        devices.append(GpuDevice(index, name, uuid, handle, has_counter, v2))
    return devices


def read(nvml: Any, device: GpuDevice) -> GpuReading:
    """Read every sensor of one GPU; each failing reading is skipped on its own."""
    errors: list[str] = []
    handle = device.handle

    def attempt(what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except nvml.NVMLError_NotSupported:
            return None
        except nvml.NVMLError as exc:
            errors.append(f"{what}: {exc}")
            return None

    utilization = attempt("utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
    if device.memory_info_version is not None:
        memory = attempt("memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle, version=device.memory_info_version))
    else:
        memory = attempt("memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
    temperature = attempt("temperature", lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
    power_mw = attempt("power", lambda: nvml.nvmlDeviceGetPowerUsage(handle))
    energy_mj = None
    if device.has_energy_counter:
        energy_mj = attempt("energy", lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
    return GpuReading(
        utilization_percent=None if utilization is None else float(utilization.gpu),
        memory_used_bytes=None if memory is None else int(memory.used),
        memory_total_bytes=None if memory is None else int(memory.total),
        temperature_celsius=None if temperature is None else float(temperature),
        power_watts=None if power_mw is None else power_mw / 1000.0,
        energy_counter_joules=None if energy_mj is None else energy_mj / 1000.0,
        errors=tuple(errors),
    )
