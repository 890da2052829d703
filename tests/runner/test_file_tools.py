"""SMOLTRACE's file tools, kept inside --working-directory: exact outputs, and every way out refused
(``..``, absolute paths, symbolic links, glob patterns)."""

from __future__ import annotations

import os

import pytest

from smoltrace.runner.file_tools import FileSearchTool, ListDirectoryTool, ReadFileTool, WriteFileTool


@pytest.fixture
def work(tmp_path):
    root = tmp_path / "work"
    (root / "logs").mkdir(parents=True)
    (root / "notes.txt").write_text("hello notes\n")
    (root / "logs" / "app.log").write_text("ok\nERROR disk full\nerror again\n")
    (root / "logs" / "big.bin").write_bytes(b"\0" * 10)
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "escape")
    return root


def test_read_file(work):
    read = ReadFileTool(working_dir=work)
    assert read(file_path="notes.txt") == "File: notes.txt\nSize: 12 bytes\n\nhello notes\n"
    assert read(file_path=str(work / "notes.txt")).endswith("hello notes\n")  # absolute, but inside
    assert read(file_path="missing.txt") == "Error: no such file: missing.txt"
    assert read(file_path="logs") == "Error: no such file: logs"


@pytest.mark.parametrize("path", ["../secret.txt", "link.txt", "escape/secret.txt", "logs/../../secret.txt"])
def test_paths_that_lead_outside_are_refused(work, path):
    root = work.resolve()
    expected = f"Error: Access denied: {path} is outside the working directory {root}"
    assert ReadFileTool(working_dir=work)(file_path=path) == expected
    assert WriteFileTool(working_dir=work)(file_path=path, content="x") == expected
    assert (work.parent / "secret.txt").read_text() == "outside"


def test_absolute_paths_outside_are_refused(work):
    assert ReadFileTool(working_dir=work)(file_path="/etc/hostname") == (
        f"Error: Access denied: /etc/hostname is outside the working directory {work.resolve()}"
    )


def test_write_file(work):
    write = WriteFileTool(working_dir=work)
    assert write(file_path="out/report.md", content="# Report\n") == (
        "Wrote file: out/report.md\nSize: 9 bytes\nContent length: 9 characters"
    )
    assert write(file_path="out/report.md", content="more\n", mode="append") == (
        "Appended to file: out/report.md\nSize: 14 bytes\nContent length: 5 characters"
    )
    assert (work / "out" / "report.md").read_text() == "# Report\nmore\n"
    assert (
        write(file_path="x.txt", content="", mode="delete") == "Error: mode must be 'write' or 'append' (got 'delete')"
    )


def test_list_directory_leaves_out_what_leads_outside(work):
    listing = ListDirectoryTool(working_dir=work)
    assert listing(directory_path=".") == ("Directory: .\nTotal items: 2\n\n[DIR]  logs/\n[FILE] notes.txt (12 bytes)")
    assert (
        listing(directory_path="logs", pattern="*.log")
        == "Directory: logs\nTotal items: 1\n\n[FILE] app.log (31 bytes)"
    )
    refused = "Error: Access denied: the pattern {} may not be absolute or contain '..'"
    assert listing(directory_path=".", pattern="../*") == refused.format("../*")
    assert listing(directory_path=".", pattern="/etc/*") == refused.format("/etc/*")
    assert FileSearchTool(working_dir=work)(directory=".", pattern="../*.txt") == refused.format("../*.txt")
    assert listing(directory_path="..").startswith("Error: Access denied: .. is outside the working directory")


def test_search_files_by_name_and_content(work):
    search = FileSearchTool(working_dir=work)
    assert (
        search(directory=".", pattern="*.log")
        == "Search: '*.log' in . (type: name)\nFound 1 results:\n\nlogs/app.log (31 bytes)"
    )
    assert search(directory=".", pattern="error", search_type="content") == (
        "Search: 'error' in . (type: content)\nFound 1 results:\n\nlogs/app.log (2 matches)"
    )
    assert search(directory=".", pattern="outside", search_type="content") == "No files found matching 'outside' in ."
    assert search(directory=".", pattern="*.txt", max_results=1) == (
        "Search: '*.txt' in . (type: name)\nFound 1 results:\n\nnotes.txt (12 bytes)"
    )
    assert search(directory=".", pattern="x", search_type="regex") == (
        "Error: search_type must be 'name' or 'content' (got 'regex')"
    )
