"""The standalone collector gives large freed blocks back to the system at once (cli/collector.py).

glibc raises its mmap and trim thresholds each time a large mapped block is freed, so later large
blocks come from its arenas and stay in the process once freed. Each case runs in a fresh interpreter:
it frees a 16 MiB block (the thresholds rise to it), then allocates and frees an 8 MiB block
(a batch of large spans), with and without ``return_freed_memory_promptly()``.
"""

import json
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc allocator tuning")

PROBE = """
import ctypes, json, sys
from smoltrace.cli.collector import return_freed_memory_promptly

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = MallInfo2
libc.free(libc.malloc(16 << 20))  # a mapped block freed: glibc's thresholds rise to 16 and 32 MiB
if sys.argv[1] == "tuned":
    return_freed_memory_promptly()
before = libc.mallinfo2()
block = libc.malloc(8 << 20)
mapped = libc.mallinfo2().hblkhd - before.hblkhd
libc.free(block)
after = libc.mallinfo2()
kept = after.fordblks - before.fordblks  # freed bytes the arenas hold on to
print(json.dumps({"mapped": mapped >= 8 << 20, "kept_after_free": kept >= 4 << 20}))  # most of it
"""


def probe(mode: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_a_large_block_is_mapped_of_its_own_and_given_back_when_freed():
    assert probe("tuned") == {"mapped": True, "kept_after_free": False}


def test_without_it_glibc_keeps_the_freed_block_in_its_arena():
    assert probe("default") == {"mapped": False, "kept_after_free": True}
