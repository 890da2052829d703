"""SMOLTRACE's file tools (``read_file``, ``write_file``, ``list_directory``, ``search_files``), kept
inside ``--working-directory``.

Every path an agent gives is resolved (``..`` and symbolic links included) and refused unless it lies
inside the working directory; directory listings and searches leave out entries that resolve outside
it. Like the suite's other tools, these never raise: a refusal or failure is returned as text starting
with ``Error:``, so the agent sees it as an observation.
"""

from __future__ import annotations

from pathlib import Path

from smolagents import Tool

MAX_READ_BYTES = 10 * 1024 * 1024
MAX_SEARCHED_FILE_BYTES = 1024 * 1024
TEXT_SUFFIXES = frozenset(
    {
        ".txt",
        ".md",
        ".rst",
        ".csv",
        ".tsv",
        ".json",
        ".jsonl",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".xml",
        ".html",
        ".css",
        ".js",
        ".ts",
        ".py",
        ".java",
        ".c",
        ".h",
        ".cpp",
        ".go",
        ".rs",
        ".sh",
        ".bash",
        ".sql",
        ".log",
    }
)


class SandboxError(ValueError):
    pass


class Sandbox:
    """A folder the file tools may not leave."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        resolved = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        if not self.contains(resolved):
            raise SandboxError(f"Access denied: {path} is outside the working directory {self.root}")
        return resolved

    def contains(self, path: Path) -> bool:
        return path == self.root or self.root in path.parents

    @staticmethod
    def check_pattern(pattern: str) -> None:
        """A glob pattern may only look down from where it is applied."""
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise SandboxError(f"Access denied: the pattern {pattern} may not be absolute or contain '..'")

    def inside(self, path: Path) -> bool:
        """Whether an entry found in a listing stays inside once its links are followed."""
        try:
            return self.contains(path.resolve())
        except OSError:
            return False


class _FileTool(Tool):
    def __init__(self, working_dir: str | Path | None = None):
        super().__init__()
        self.sandbox = Sandbox(working_dir or Path.cwd())


class ReadFileTool(_FileTool):
    name = "read_file"
    description = (
        "Reads a text file inside the working directory and returns its contents. Paths are relative to "
        "the working directory."
    )
    inputs = {  # noqa: RUF012 - smolagents reads a tool's schema from its class
        "file_path": {"type": "string", "description": "The file, relative to the working directory."},
        "encoding": {"type": "string", "description": "Text encoding (default utf-8), e.g. latin-1.", "nullable": True},
    }
    output_type = "string"

    def forward(self, file_path: str, encoding: str | None = None) -> str:
        try:
            path = self.sandbox.resolve(file_path)
            if not path.is_file():
                return f"Error: no such file: {file_path}"
            size = path.stat().st_size
            if size > MAX_READ_BYTES:
                return f"Error: {file_path} is {size} bytes; the limit is {MAX_READ_BYTES} bytes"
            content = path.read_text(encoding=encoding or "utf-8")
        except SandboxError as exc:
            return f"Error: {exc}"
        except (UnicodeDecodeError, LookupError) as exc:
            return f"Error: cannot decode {file_path} as {encoding or 'utf-8'}: {exc}"
        except OSError as exc:
            return f"Error: cannot read {file_path}: {exc.strerror or exc}"
        return f"File: {file_path}\nSize: {size} bytes\n\n{content}"


class WriteFileTool(_FileTool):
    name = "write_file"
    description = (
        "Writes text to a file inside the working directory (creating folders as needed); mode 'write' "
        "replaces the file, 'append' adds to it."
    )
    inputs = {  # noqa: RUF012 - smolagents reads a tool's schema from its class
        "file_path": {"type": "string", "description": "The file, relative to the working directory."},
        "content": {"type": "string", "description": "The text to write."},
        "mode": {"type": "string", "description": "'write' (default) or 'append'.", "nullable": True},
    }
    output_type = "string"

    def forward(self, file_path: str, content: str, mode: str | None = None) -> str:
        mode = mode or "write"
        if mode not in ("write", "append"):
            return f"Error: mode must be 'write' or 'append' (got {mode!r})"
        try:
            path = self.sandbox.resolve(file_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a" if mode == "append" else "w", encoding="utf-8") as handle:
                handle.write(content)
            size = path.stat().st_size
        except SandboxError as exc:
            return f"Error: {exc}"
        except OSError as exc:
            return f"Error: cannot write {file_path}: {exc.strerror or exc}"
        verb = "Appended to" if mode == "append" else "Wrote"
        return f"{verb} file: {file_path}\nSize: {size} bytes\nContent length: {len(content)} characters"


class ListDirectoryTool(_FileTool):
    name = "list_directory"
    description = (
        "Lists a folder inside the working directory: sub-folders first, then files with their sizes; "
        "an optional glob pattern (e.g. '*.py') filters the entries."
    )
    inputs = {  # noqa: RUF012 - smolagents reads a tool's schema from its class
        "directory_path": {"type": "string", "description": "The folder, relative to the working directory ('.')."},
        "pattern": {"type": "string", "description": "Optional glob pattern, e.g. '*.json'.", "nullable": True},
    }
    output_type = "string"

    def forward(self, directory_path: str, pattern: str | None = None) -> str:
        try:
            path = self.sandbox.resolve(directory_path)
            if not path.is_dir():
                return f"Error: no such directory: {directory_path}"
            if pattern:
                self.sandbox.check_pattern(pattern)
            entries = [
                entry for entry in (path.glob(pattern) if pattern else path.iterdir()) if self.sandbox.inside(entry)
            ]
            entries.sort(key=lambda entry: (not entry.is_dir(), entry.name.lower()))
            lines = [f"Directory: {directory_path}", f"Total items: {len(entries)}", ""]
            for entry in entries:
                if entry.is_dir():
                    lines.append(f"[DIR]  {entry.name}/")
                else:
                    lines.append(f"[FILE] {entry.name} ({entry.stat().st_size} bytes)")
        except SandboxError as exc:
            return f"Error: {exc}"
        except (OSError, ValueError) as exc:
            return f"Error: cannot list {directory_path}: {exc}"
        return "\n".join(lines)


class FileSearchTool(_FileTool):
    name = "search_files"
    description = (
        "Searches a folder inside the working directory, recursively: by file name (a glob pattern such "
        "as '*.log') or by content (text contained in the file, case-insensitive)."
    )
    inputs = {  # noqa: RUF012 - smolagents reads a tool's schema from its class
        "directory": {"type": "string", "description": "The folder to search, relative to the working directory."},
        "pattern": {"type": "string", "description": "A file-name glob (search_type 'name') or text ('content')."},
        "search_type": {"type": "string", "description": "'name' (default) or 'content'.", "nullable": True},
        "max_results": {"type": "integer", "description": "At most this many results (default 100).", "nullable": True},
    }
    output_type = "string"

    def forward(
        self, directory: str, pattern: str, search_type: str | None = None, max_results: int | None = None
    ) -> str:
        search_type, limit = search_type or "name", max_results or 100
        if search_type not in ("name", "content"):
            return f"Error: search_type must be 'name' or 'content' (got {search_type!r})"
        try:
            root = self.sandbox.resolve(directory)
            if not root.is_dir():
                return f"Error: no such directory: {directory}"
            if search_type == "name":
                self.sandbox.check_pattern(pattern)
            found = (
                self._by_name(root, pattern, limit) if search_type == "name" else self._by_content(root, pattern, limit)
            )
        except SandboxError as exc:
            return f"Error: {exc}"
        except (OSError, ValueError) as exc:
            return f"Error: cannot search {directory}: {exc}"
        if not found:
            return f"No files found matching '{pattern}' in {directory}"
        return "\n".join(
            [f"Search: '{pattern}' in {directory} (type: {search_type})", f"Found {len(found)} results:", "", *found]
        )

    def _by_name(self, root: Path, pattern: str, limit: int) -> list[str]:
        found = []
        for match in sorted(root.rglob(pattern)):
            if len(found) >= limit:
                break
            if self.sandbox.inside(match):
                relative = match.relative_to(root)
                found.append(
                    f"{relative}/ [directory]" if match.is_dir() else f"{relative} ({match.stat().st_size} bytes)"
                )
        return found

    def _by_content(self, root: Path, text: str, limit: int) -> list[str]:
        found, wanted = [], text.lower()
        for path in sorted(root.rglob("*")):
            if len(found) >= limit:
                break
            if path.suffix.lower() not in TEXT_SUFFIXES or not path.is_file() or not self.sandbox.inside(path):
                continue
            if path.stat().st_size > MAX_SEARCHED_FILE_BYTES:
                continue
            count = path.read_text(encoding="utf-8", errors="ignore").lower().count(wanted)
            if count:
                found.append(f"{path.relative_to(root)} ({count} matches)")
        return found


FILE_TOOLS = {tool.name: tool for tool in (ReadFileTool, WriteFileTool, ListDirectoryTool, FileSearchTool)}
