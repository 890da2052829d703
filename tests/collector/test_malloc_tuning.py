"""``smoltrace-collector`` tunes glibc's malloc before it starts its threads.

Without a cap glibc gives each new thread that allocates an arena of its own and keeps freed memory in
each; the collector's threads then hold more memory than they use. The tests count the arenas glibc
reports (``malloc_info``) in a fresh process whose eight threads each allocate, with and without the
cap. And without a fixed mmap threshold, each large block freed raises glibc's threshold, so the next
request's buffers of a few MB come from the heap, whose holes stay in the process: the tests ask glibc
(``mallinfo2``) where such a block went.
"""

import ctypes.util
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="mallopt and malloc_info are glibc's"
)

COUNT_ARENAS = """
import ctypes, ctypes.util, sys, tempfile, threading
from smoltrace.cli.collector import tune_malloc
if sys.argv[1] == "tuned":
    assert tune_malloc() is True
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
all_allocated, done = threading.Barrier(9), threading.Event()
def allocate():
    blocks = [libc.malloc(1024) for _ in range(100)]
    all_allocated.wait()
    done.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
all_allocated.wait()
with tempfile.NamedTemporaryFile(suffix=".xml") as report:
    stream = libc.fopen(report.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(open(report.name).read().count("<heap nr="))
done.set()
"""


#: Prints how many more blocks glibc serves with mmaps of their own after allocating one of 2 MiB, once a
#: block of 4 MiB (a request's body, say) was allocated and freed.
COUNT_MMAPPED_BLOCKS = """
import ctypes, ctypes.util, sys
from smoltrace.cli.collector import tune_malloc
if sys.argv[1] == "tuned":
    assert tune_malloc() is True
class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(2 << 20)
print(libc.mallinfo2().hblks - before)
"""


def run_probe(script: str, mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def arenas(mode: str) -> int:
    return run_probe(COUNT_ARENAS, mode)


def test_the_collector_caps_malloc_arenas_at_two():
    assert ctypes.util.find_library("c")
    assert arenas("default") >= 5  # the main arena and one per allocating thread (up to 8 per core)
    assert arenas("tuned") == 2


def test_the_collector_gives_blocks_of_a_mib_or_more_back_when_freed():
    """glibc's default: the 4 MiB block freed raised the threshold past 2 MiB, so the 2 MiB block came
    from the heap. Tuned: it has an mmap of its own, which free() unmaps."""
    assert run_probe(COUNT_MMAPPED_BLOCKS, "default") == 0
    assert run_probe(COUNT_MMAPPED_BLOCKS, "tuned") == 1


def test_smoltrace_collector_tunes_malloc_before_its_collector_starts(tmp_path, monkeypatch):
    """The arena cap applies to threads created after it: the command must set it before the collector
    starts its receivers, writer and deriver."""
    from click.testing import CliRunner

    from smoltrace.cli import collector as cli
    from smoltrace.store.open_errors import StoreOpenError

    calls = []
    monkeypatch.setattr(cli, "tune_malloc", lambda: calls.append("tune malloc"))
    monkeypatch.setattr(cli.signal, "signal", lambda *_: None)  # the test process keeps its own handlers
    monkeypatch.setattr(cli.sys, "setswitchinterval", lambda *_: None)

    class NotStarted:
        def __init__(self, config):
            calls.append("collector")

        def start(self):
            raise StoreOpenError("stopped here by the test")

    monkeypatch.setattr(cli, "Collector", NotStarted)
    result = CliRunner().invoke(cli.main, ["--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 1
    assert "stopped here by the test" in result.output
    assert calls == ["tune malloc", "collector"]
