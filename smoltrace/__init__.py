"""smoltrace: benchmark smolagents agents; every number is a SQL view over stored OpenTelemetry data."""

__version__ = "0.1.0"


def __getattr__(name):
    """Lazy exports, so that ``import smoltrace`` stays light."""
    if name == "cleanup_datasets":
        from smoltrace.hub.cleanup import cleanup_datasets

        return cleanup_datasets
    raise AttributeError(f"module 'smoltrace' has no attribute {name!r}")
