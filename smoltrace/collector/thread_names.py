"""OS-level names for the collector's threads, so that `top -H`, `/proc/<pid>/task/*/comm` and
bench/collector_ingest.py can tell the writer from the receivers (Python 3.11 names threads only for
Python). Linux only; elsewhere, or if libc refuses, a no-op."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_PR_SET_NAME = 15  # prctl option; the kernel keeps the first 15 bytes

WRITER = "st-writer"
REQUEST_LOG = "st-request-log"
GRPC_HANDLER = "st-grpc"
HTTP = "st-http"


def name_this_thread(name: str) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass
