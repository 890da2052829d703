"""The smoltrace collector: an OTLP receiver (gRPC and HTTP) that stores traces, metrics and logs in
DuckDB with durable acknowledgements.

``Collector`` and ``CollectorConfig`` are imported on first use, so that light submodules (such as
``discovery``) do not pull in gRPC and Arrow.
"""

__all__ = ["Collector", "CollectorConfig"]


def __getattr__(name: str):
    if name in __all__:
        from smoltrace.collector import service

        return getattr(service, name)
    raise AttributeError(f"module 'smoltrace.collector' has no attribute {name!r}")
