"""Fixtures for the GPU tests: a real embedded collector and an OTLP/gRPC metric exporter to it."""

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

from smoltrace.collector import Collector


@pytest.fixture
def collector(store_path):
    """A real collector on ephemeral loopback ports, writing a real DuckDB file."""
    with Collector.embedded(db_path=store_path) as running:
        yield running


@pytest.fixture
def otlp_exporter(collector):
    """What the runner hands the sampler: OTLP/gRPC to the collector."""
    return OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True)


@pytest.fixture
def query(collector):
    """``query(sql, params)``: rows of the store the collector holds, as dicts."""

    def rows(sql, params=None):
        with collector.writer.cursor() as cursor:
            result = cursor.execute(sql, params or [])
            names = [column[0] for column in result.description]
            return [dict(zip(names, row)) for row in result.fetchall()]

    return rows
