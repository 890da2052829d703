"""smoltrace: benchmark smolagents agents; every number is a SQL view over stored OpenTelemetry data."""

__version__ = "0.1.0"

__all__ = [
    "cleanup_datasets",
    "copy_standard_datasets",
    "discover_smoltrace_datasets",
    "filter_runs",
    "group_datasets_by_run",
    "run_evaluation",
]

# name -> module: SMOLTRACE's top-level API, imported on first use so that ``import smoltrace`` stays light
_EXPORTS = {
    "run_evaluation": "smoltrace.core",
    "cleanup_datasets": "smoltrace.hub.cleanup",
    "discover_smoltrace_datasets": "smoltrace.hub.cleanup",
    "group_datasets_by_run": "smoltrace.hub.cleanup",
    "filter_runs": "smoltrace.hub.cleanup",
    "copy_standard_datasets": "smoltrace.hub.copy_datasets",
}


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'smoltrace' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])
