"""The smoltrace collector: an OTLP receiver (gRPC and HTTP) that stores traces, metrics and logs in
DuckDB with durable acknowledgements."""

from smoltrace.collector.service import Collector, CollectorConfig

__all__ = ["Collector", "CollectorConfig"]
