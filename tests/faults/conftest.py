"""Faults made for real: a small tmpfs that fills up (needs root), the installed commands killed by signals."""

import os
import subprocess
import uuid

import pytest
from fault_tools import SmallDisk


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs mounted for this test (needs root: skipped otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root")
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield SmallDisk(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
