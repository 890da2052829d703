"""OS-level names for the collector's threads, so that `top -H`, `/proc/<pid>/task/*/comm` and
bench/collector_ingest.py can tell the writer from the receivers (Python 3.11 names threads only for
Python). Linux only; elsewhere, or if libc refuses, a no-op."""

from __future__ import annotations

import ctypes
import functools
import sys

_PR_SET_NAME = 15  # prctl option; the kernel keeps the first 15 bytes

WRITER = "st-writer"
REQUEST_LOG = "st-request-log"
LOG_DELETE = "st-log-delete"
DERIVER = "st-deriver"
GRPC_HANDLER = "st-grpc"
HTTP = "st-http"


@functools.cache
def _prctl():
    """libc's prctl from the symbols already loaded in this process (no library search, which would
    run ldconfig in a subprocess), or None."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def name_this_thread(name: str) -> None:
    prctl = _prctl() if sys.platform.startswith("linux") else None
    if prctl is not None:
        prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
