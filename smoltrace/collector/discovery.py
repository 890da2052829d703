"""How readers on this machine find a collector that holds a store: it writes ``<store>.collector.json``
({pid, grpc_endpoint, http_endpoint, token_required}) when it starts and removes it when it stops.

Kept free of heavy imports (gRPC, Arrow) so that `smoltrace-query` starts fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def discovery_file_for(db_path: str | Path) -> Path:
    """``<store>.collector.json``: written by a running collector, removed when it stops."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".collector.json")


def running_collector_for(db_path: str | Path) -> dict | None:
    """The discovery info of a live collector holding ``db_path``, or None."""
    path = discovery_file_for(db_path)
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info
