"""Helpers of the fault tests: a disk to fill up, the installed commands as real processes."""

import errno
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
COLLECTOR_BIN = str(BIN / "smoltrace-collector")
EVAL_BIN = str(BIN / "smoltrace-eval")
QUERY_BIN = str(BIN / "smoltrace-query")


class SmallDisk:
    """A tmpfs of its own; ``fill()`` takes every free byte, ``free()`` gives them back."""

    def __init__(self, path: Path):
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        with open(self.filler, "ab", buffering=0) as file:
            for size in (1 << 20, 1 << 12, 1):  # down to the last byte
                chunk = b"\0" * size
                try:
                    while True:
                        file.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def start_collector(db_path: Path, *extra: str) -> tuple[subprocess.Popen, str, str]:
    """The installed smoltrace-collector on free ports; returns (process, gRPC endpoint, HTTP URL)."""
    process = subprocess.Popen(
        [COLLECTOR_BIN, "--db", str(db_path), "--grpc-port", "0", "--http-port", "0", "--log-level", "warning",
         *extra],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines = []
    for line in process.stderr:
        match = re.search(r"OTLP/gRPC (\S+)\s+OTLP/HTTP (\S+)", line)
        if match:
            process.startup_log = "".join(lines)  # what it logged before it was ready (recovery)
            process.ready_line = line
            return process, match.group(1), match.group(2)
        lines.append(line)
    raise AssertionError(f"collector did not start: {''.join(lines)}")
