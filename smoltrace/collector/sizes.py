"""Sizes as the collector's memory flags take them, in DuckDB's notation ('192MB', '1GiB', '512 mib')."""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}  # fmt: skip


def parse_size(text: str) -> int:
    """Bytes in ``text``; ValueError naming the text when it is not a size."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size such as '192MB' or '1GiB'")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
