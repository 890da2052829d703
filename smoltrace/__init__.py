"""smoltrace: benchmark smolagents agents; every number is a SQL view over stored OpenTelemetry data."""

__version__ = "0.1.0"
