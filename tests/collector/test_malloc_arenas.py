"""``smoltrace-collector`` caps glibc's malloc arenas before it starts its threads.

Without the cap glibc gives each new thread that allocates an arena of its own and keeps freed memory
in each; the collector's threads then hold more memory than they use. The test counts the arenas glibc
reports (``malloc_info``) in a fresh process whose eight threads each allocate, with and without the
cap.
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
from smoltrace.cli.collector import limit_malloc_arenas
if sys.argv[1] == "capped":
    assert limit_malloc_arenas() is True
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


def arenas(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", COUNT_ARENAS, mode], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_the_collector_caps_malloc_arenas_at_two():
    assert ctypes.util.find_library("c")
    assert arenas("default") >= 5  # the main arena and one per allocating thread (up to 8 per core)
    assert arenas("capped") == 2


def test_smoltrace_collector_caps_the_arenas_before_its_collector_starts(tmp_path, monkeypatch):
    """The cap applies to threads created after it: the command must set it before the collector starts
    its receivers, writer and deriver."""
    from click.testing import CliRunner

    from smoltrace.cli import collector as cli
    from smoltrace.store.open_errors import StoreOpenError

    calls = []
    monkeypatch.setattr(cli, "limit_malloc_arenas", lambda: calls.append("cap arenas"))
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
    assert calls == ["cap arenas", "collector"]
