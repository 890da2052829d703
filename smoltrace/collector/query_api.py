"""Read-only query API on the collector's HTTP port (placeholder until the query API lands)."""

from __future__ import annotations


def create_query_routes(collector) -> list:
    """Routes that serve read-only SQL and named views from the store ``collector`` holds."""
    return []
