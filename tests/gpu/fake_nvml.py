"""A stand-in for ``pynvml`` (nvidia-ml-py) with scripted GPUs, for tests without a GPU.

A ``FakeNvml`` instance presents the part of the pynvml module the sampler uses: ``nvmlInit``,
``nvmlShutdown``, ``nvmlDeviceGetCount``, ``nvmlDeviceGetHandleByIndex``, ``nvmlDeviceGetName``,
``nvmlDeviceGetUUID``, ``nvmlDeviceGetUtilizationRates``, ``nvmlDeviceGetMemoryInfo`` (v1 and
``version=nvmlMemory_v2``), ``nvmlDeviceGetTemperature``, ``nvmlDeviceGetPowerUsage`` (mW),
``nvmlDeviceGetTotalEnergyConsumption`` (mJ), ``NVML_TEMPERATURE_GPU``, ``nvmlMemory_v2`` (left out
with ``memory_v2=False``, like old releases), and the error classes. Its ``NVMLError`` behaves like
the real one: ``NVMLError(code)`` returns an instance of the subclass for that code
(``NVMLError_NotSupported`` for 3, ...), ``.value`` is the code and ``str()`` is NVML's message. It does not import pynvml, so the tests run where nvidia-ml-py is not installed.

Readings are scripted per sample: ``FakeGpu.samples[k]`` is what every call returns while
``fake.step == k``; a value that is an ``NVMLError`` instance is raised instead of returned, and
``power_mw=None`` / ``energy_mj=None`` means the GPU has no such sensor (NotSupported, always).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

#: The pynvml names the sampler uses; test_gpu_sampler checks them against the real module.
API_SURFACE = (
    "nvmlInit", "nvmlShutdown", "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetName",
    "nvmlDeviceGetUUID", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetTemperature",
    "nvmlDeviceGetPowerUsage", "nvmlDeviceGetTotalEnergyConsumption", "NVML_TEMPERATURE_GPU", "nvmlMemory_v2",
    "NVMLError", "NVMLError_NotSupported",
)  # fmt: skip
NVML_TEMPERATURE_GPU = 0
nvmlMemory_v2 = 0x02000028

NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_UNKNOWN = 999

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_TIMEOUT: "Timeout",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Like pynvml's: constructing the base class with a code yields that code's subclass."""

    _value_class: dict[int, type] = {}

    def __new__(cls, value):
        if cls is NVMLError:
            cls = NVMLError._value_class.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value):
        super().__init__(value)
        self.value = value

    def __str__(self):
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")

    def __eq__(self, other):
        return isinstance(other, NVMLError) and self.value == other.value

    __hash__ = Exception.__hash__


def _subclass(name: str, code: int) -> type:
    cls = type(name, (NVMLError,), {})
    NVMLError._value_class[code] = cls
    return cls


NVMLError_Uninitialized = _subclass("NVMLError_Uninitialized", NVML_ERROR_UNINITIALIZED)
NVMLError_NotSupported = _subclass("NVMLError_NotSupported", NVML_ERROR_NOT_SUPPORTED)
NVMLError_DriverNotLoaded = _subclass("NVMLError_DriverNotLoaded", NVML_ERROR_DRIVER_NOT_LOADED)
NVMLError_Timeout = _subclass("NVMLError_Timeout", NVML_ERROR_TIMEOUT)
NVMLError_LibraryNotFound = _subclass("NVMLError_LibraryNotFound", NVML_ERROR_LIBRARY_NOT_FOUND)
NVMLError_FunctionNotFound = _subclass("NVMLError_FunctionNotFound", NVML_ERROR_FUNCTION_NOT_FOUND)
NVMLError_GpuIsLost = _subclass("NVMLError_GpuIsLost", NVML_ERROR_GPU_IS_LOST)
NVMLError_Unknown = _subclass("NVMLError_Unknown", NVML_ERROR_UNKNOWN)

MiB = 1024 * 1024


@dataclass
class Sample:
    """One GPU's readings while ``fake.step`` is this sample's index; an NVMLError value is raised."""

    utilization: Any = 0  # percent
    memory_used_mib: Any = 0
    temperature: Any = 30  # °C
    power_mw: Any = None  # None: the GPU has no power sensor (NotSupported)
    energy_mj: Any = None  # None: no total-energy counter (NotSupported)


@dataclass
class FakeGpu:
    name: str
    uuid: str
    memory_total_mib: int
    samples: list[Sample] = field(default_factory=list)


class FakeNvml:
    """Use an instance where the pynvml module would go: ``GpuSampler(..., nvml=FakeNvml([...]))``."""

    NVML_TEMPERATURE_GPU = NVML_TEMPERATURE_GPU
    NVMLError = NVMLError
    NVMLError_Uninitialized = NVMLError_Uninitialized
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    NVMLError_Timeout = NVMLError_Timeout
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_FunctionNotFound = NVMLError_FunctionNotFound
    NVMLError_GpuIsLost = NVMLError_GpuIsLost
    NVMLError_Unknown = NVMLError_Unknown

    def __init__(self, gpus: list[FakeGpu], *, init_error: int | None = None, memory_v2: bool = True):
        self.gpus = gpus
        if memory_v2:  # old nvidia-ml-py releases have no v2 memory struct
            self.nvmlMemory_v2 = nvmlMemory_v2
        self.init_error = init_error
        self.step = 0
        self.initialized = False
        self.init_calls = 0
        self.shutdown_calls = 0

    # -- library lifecycle

    def nvmlInit(self):
        self.init_calls += 1
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialized = True

    def nvmlShutdown(self):
        self._check_init()
        self.shutdown_calls += 1
        self.initialized = False

    def _check_init(self):
        if not self.initialized:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    # -- devices

    def nvmlDeviceGetCount(self):
        self._check_init()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        self._check_init()
        return ("handle", index)

    def _gpu(self, handle) -> FakeGpu:
        self._check_init()
        return self.gpus[handle[1]]

    def _value(self, handle, name):
        gpu = self._gpu(handle)
        value = getattr(gpu.samples[min(self.step, len(gpu.samples) - 1)], name)
        if isinstance(value, NVMLError):
            raise value
        return value

    def nvmlDeviceGetName(self, handle):
        return self._gpu(handle).name

    def nvmlDeviceGetUUID(self, handle):
        return self._gpu(handle).uuid

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=self._value(handle, "utilization"), memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle, version=None):
        if version not in (None, nvmlMemory_v2):
            raise NVMLError(NVML_ERROR_FUNCTION_NOT_FOUND)
        total = self._gpu(handle).memory_total_mib * MiB
        used = self._value(handle, "memory_used_mib") * MiB
        info = SimpleNamespace(total=total, used=used, free=total - used)
        if version is not None:
            info.version, info.reserved = version, 0
        return info

    def nvmlDeviceGetTemperature(self, handle, sensor):
        assert sensor == NVML_TEMPERATURE_GPU
        return self._value(handle, "temperature")

    def nvmlDeviceGetPowerUsage(self, handle):
        value = self._value(handle, "power_mw")
        if value is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return value

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        value = self._value(handle, "energy_mj")
        if value is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return value
