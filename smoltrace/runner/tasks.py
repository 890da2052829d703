"""Tasks: what a benchmark asks an agent, and loading them from files, datasets or the Hub.

Every row is validated before anything runs, and all problems are reported together (file, row,
field), so a user fixes a task file in one pass instead of learning about one error per (slow,
possibly paid) evaluation run.

Row format (SMOLTRACE's task-dataset columns)::

    {"id": "weather_tokyo", "prompt": "What's the weather in Tokyo?", "difficulty": "easy",
     "agent_type": "tool", "expected_tool": "get_weather", "expected_tool_calls": 1,
     "expected_keywords": ["18°C", "Clear"], "category": "weather"}

Field rules:

- ``id``, ``prompt``: required, non-empty strings (an integer ``id`` is accepted and kept as text).
- ``difficulty``: required, one of ``easy``, ``medium``, ``hard`` (case-insensitive).
- ``agent_type``: ``tool``, ``code`` or ``both`` (case-insensitive); missing/null -> ``both``.
- ``category``: string; missing/null/empty -> ``general``.
- ``expected_tool``: string or null (SMOLTRACE's ``"multiple"`` is kept as written).
- ``expected_tool_calls``: non-negative integer or null (``2.0`` is read as ``2``; NaN as null,
  since that is how pandas/Arrow spell a missing number).
- ``expected_keywords``: a list of strings; a single string is read as one keyword (never split
  into characters); integers are kept as their text; null -> no keywords.
- ``answer`` (aliases ``expected_answer``, ``true_answer``): optional reference answer; numbers are
  kept as their text.
- ``quick``: optional boolean; marks the tasks of the fast default evaluation.
- Any other field is ignored without error, so datasets with extra columns load.
- ``id`` must be unique per agent type: a ``both`` task clashes with a ``tool`` or ``code`` task of
  the same id, but a ``tool`` task and a ``code`` task may share one.

Row numbers in messages: for ``.jsonl`` files, ``row N`` is the 1-based line number (what an editor
shows); for JSON arrays, Parquet files and datasets, ``index N`` is the 0-based position (what
``rows[N]`` / ``dataset[N]`` returns).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "AGENT_TYPES",
    "DIFFICULTIES",
    "DEFAULT_SUITE_NAME",
    "MAX_REPORTED_PROBLEMS",
    "Task",
    "TaskSuite",
    "TaskLoadError",
    "TaskFileError",
    "TaskSourceError",
    "load_tasks",
    "tasks_from_rows",
]

AGENT_TYPES: tuple[str, ...] = ("tool", "code", "both")
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
DEFAULT_SUITE_NAME = "smoltrace/default"
DEFAULT_CATEGORY = "general"
MAX_REPORTED_PROBLEMS = 20
"""At most this many problems are listed in one error message (the rest are counted)."""

_ANSWER_FIELDS = ("answer", "expected_answer", "true_answer")
_LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class TaskLoadError(Exception):
    """Base class: the task suite could not be loaded; nothing has run."""


class TaskFileError(TaskLoadError, ValueError):
    """The tasks were found but are invalid (or the named file does not exist).

    ``problems`` holds one line per problem, each naming the source, the row and the field.
    """

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__(_format_problems(source, self.problems))


class TaskSourceError(TaskLoadError):
    """The task source could not be read (Hub dataset missing, offline, bad split, ...)."""


def _format_problems(source: str, problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    shown = problems[:MAX_REPORTED_PROBLEMS]
    lines = [f"{len(problems)} problems in {source}:"]
    lines += [f"  - {problem}" for problem in shown]
    if len(problems) > len(shown):
        lines.append(f"  ... and {len(problems) - len(shown)} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Task and TaskSuite
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One benchmark task. Frozen: a task is data that is recorded in spans, never mutated."""

    id: str
    prompt: str
    difficulty: str
    agent_type: str = "both"
    category: str = DEFAULT_CATEGORY
    expected_tool: str | None = None
    expected_tool_calls: int | None = None
    expected_keywords: tuple[str, ...] = ()
    answer: str | None = None
    quick: bool = False

    def runs_on(self, agent_type: str) -> bool:
        """Whether an agent of ``agent_type`` ("tool" or "code") should run this task."""
        return self.agent_type == "both" or self.agent_type == agent_type

    def uid(self, agent_type: str) -> str:
        """The task-execution id of the span contract: ``<agent_type>:<task_id>``."""
        return f"{agent_type}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready row in the file format (keywords as a list)."""
        return {
            "id": self.id,
            "prompt": self.prompt,
            "difficulty": self.difficulty,
            "agent_type": self.agent_type,
            "category": self.category,
            "expected_tool": self.expected_tool,
            "expected_tool_calls": self.expected_tool_calls,
            "expected_keywords": list(self.expected_keywords),
            "answer": self.answer,
            "quick": self.quick,
        }


@dataclass(frozen=True)
class TaskSuite:
    """An ordered, validated set of tasks and where it came from (recorded on the run span)."""

    name: str
    revision: str | None
    split: str | None
    tasks: tuple[Task, ...]

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks)

    def for_agent(self, agent_type: str) -> TaskSuite:
        """The tasks an agent of ``agent_type`` runs: its own plus the ``both`` tasks.

        ``"both"`` returns every task.
        """
        if agent_type not in AGENT_TYPES:
            raise ValueError(f"agent_type must be one of {', '.join(AGENT_TYPES)} (got {agent_type!r})")
        if agent_type == "both":
            return self
        return replace(self, tasks=tuple(task for task in self.tasks if task.runs_on(agent_type)))

    def filter(
        self,
        difficulty: str | None = None,
        limit: int | None = None,
        *,
        quick_only: bool = False,
    ) -> TaskSuite:
        """Keep tasks of one difficulty and/or only ``quick`` tasks, then the first ``limit``."""
        if difficulty is not None and difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)} (got {difficulty!r})")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit must be a non-negative integer (got {limit!r})")
        tasks: Iterable[Task] = self.tasks
        if difficulty is not None:
            tasks = [task for task in tasks if task.difficulty == difficulty]
        if quick_only:
            tasks = [task for task in tasks if task.quick]
        selected = tuple(tasks)
        if limit is not None:
            selected = selected[:limit]
        return replace(self, tasks=selected)


# --------------------------------------------------------------------------------------------------
# Row validation
# --------------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A short repr for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _not_utf8(value: str) -> str | None:
    """Why ``value`` cannot be stored as UTF-8 (a lone surrogate, e.g. half of a ``\\ud83d\\ude00``
    escape), else None. Exporters drop a span attribute they cannot encode, so the task would run
    without its prompt on record."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"contains a lone surrogate ({value[exc.start]!r} at character {exc.start}), which is not "
                "valid Unicode text: check the file's \\u escapes (a surrogate needs its pair) and encoding")  # fmt: skip
    return None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class _RowChecker:
    """Validates one row, collecting problems instead of stopping at the first."""

    def __init__(self, where: str):
        self.where = where
        self.problems: list[str] = []

    def fail(self, field: str, message: str) -> None:
        self.problems.append(f"{self.where}, field '{field}': {message}")

    def required_text(self, row: Mapping[str, Any], field: str, allow_int: bool = False) -> str:
        value = row.get(field)
        if _is_missing(value):
            self.fail(field, "is required")
            return ""
        if allow_int and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.fail(field, f"must be a string (got {type(value).__name__} {_show(value)})")
            return ""
        if not value.strip():
            self.fail(field, "must not be empty")
            return ""
        if problem := _not_utf8(value):
            self.fail(field, problem)
            return ""
        return value.strip() if field == "id" else value

    def choice(self, row: Mapping[str, Any], field: str, allowed: tuple[str, ...], default: str | None) -> str:
        value = row.get(field)
        if _is_missing(value) or value == "":
            if default is None:
                self.fail(field, "is required")
                return ""
            return default
        normalized = value.strip().lower() if isinstance(value, str) else value
        if normalized not in allowed:
            self.fail(field, f"must be one of {', '.join(allowed)} (got {_show(value)})")
            return ""
        return normalized

    def optional_text(self, row: Mapping[str, Any], field: str) -> str | None:
        value = row.get(field)
        if _is_missing(value) or value == "":
            return None
        if not isinstance(value, str):
            self.fail(field, f"must be a string or null (got {type(value).__name__} {_show(value)})")
            return None
        if problem := _not_utf8(value):
            self.fail(field, problem)
            return None
        return value.strip() or None

    def count(self, row: Mapping[str, Any], field: str) -> int | None:
        value = row.get(field)
        if _is_missing(value):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(field, f"must be a non-negative integer or null (got {_show(value)})")
            return None
        return value

    def keywords(self, row: Mapping[str, Any], field: str) -> tuple[str, ...]:
        value = row.get(field)
        if _is_missing(value):
            return ()
        if isinstance(value, str):
            return (value,) if value.strip() else ()
        if not isinstance(value, (list, tuple)):
            self.fail(field, f"must be a list of strings (got {type(value).__name__} {_show(value)})")
            return ()
        keywords: list[str] = []
        for position, item in enumerate(value):
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str):
                self.fail(
                    field,
                    f"must be a list of strings (item {position} is {type(item).__name__} {_show(item)})",
                )
                return ()
            if not item.strip():
                self.fail(field, f"must not contain empty strings (item {position})")
                return ()
            if problem := _not_utf8(item):
                self.fail(field, f"item {position} {problem}")
                return ()
            keywords.append(item)
        return tuple(keywords)

    def answer(self, row: Mapping[str, Any]) -> str | None:
        for field in _ANSWER_FIELDS:
            value = row.get(field)
            if _is_missing(value):
                continue
            if isinstance(value, bool):
                return str(value).lower()
            if isinstance(value, (int, float)):
                return str(value)
            if not isinstance(value, str):
                self.fail(field, f"must be a string or null (got {type(value).__name__} {_show(value)})")
                return None
            if problem := _not_utf8(value):
                self.fail(field, problem)
                return None
            return value if value.strip() else None
        return None

    def flag(self, row: Mapping[str, Any], field: str) -> bool:
        value = row.get(field)
        if _is_missing(value):
            return False
        if not isinstance(value, bool):
            self.fail(field, f"must be true or false (got {_show(value)})")
            return False
        return value


def _parse_row(row: Any, where: str) -> tuple[Task | None, list[str]]:
    """Validate one row; returns the task (None when invalid) and the problems found."""
    if not isinstance(row, Mapping):
        return None, [f"{where}: must be an object with task fields (got {type(row).__name__})"]
    check = _RowChecker(where)
    task_id = check.required_text(row, "id", allow_int=True)
    prompt = check.required_text(row, "prompt")
    difficulty = check.choice(row, "difficulty", DIFFICULTIES, default=None)
    agent_type = check.choice(row, "agent_type", AGENT_TYPES, default="both")
    category = check.optional_text(row, "category") or DEFAULT_CATEGORY
    expected_tool = check.optional_text(row, "expected_tool")
    expected_tool_calls = check.count(row, "expected_tool_calls")
    expected_keywords = check.keywords(row, "expected_keywords")
    answer = check.answer(row)
    quick = check.flag(row, "quick")
    if check.problems:
        return None, check.problems
    task = Task(
        id=task_id,
        prompt=prompt,
        difficulty=difficulty,
        agent_type=agent_type,
        category=category,
        expected_tool=expected_tool,
        expected_tool_calls=expected_tool_calls,
        expected_keywords=expected_keywords,
        answer=answer,
        quick=quick,
    )
    return task, []


@dataclass(frozen=True)
class _Invalid:
    """A row that could not even be read (e.g. a line of invalid JSON)."""

    message: str


def _parse_rows(rows: Iterable[tuple[str, Any]], source: str) -> tuple[Task, ...]:
    """Validate ``(where, row)`` pairs into tasks, or raise one TaskFileError listing every problem.

    ``where`` is the row's label in messages, e.g. ``"tasks.jsonl, row 3"``; a row that could not
    even be read (invalid JSON) arrives as ``_Invalid`` and is reported in the same list.
    """
    problems: list[str] = []
    tasks: list[Task] = []
    first_seen: dict[tuple[str, str], str] = {}
    for where, row in rows:
        if isinstance(row, _Invalid):
            problems.append(f"{where}: {row.message}")
            continue
        task, row_problems = _parse_row(row, where)
        problems.extend(row_problems)
        if task is None:
            continue
        agent_types = ("tool", "code") if task.agent_type == "both" else (task.agent_type,)
        clash = next((first_seen[(a, task.id)] for a in agent_types if (a, task.id) in first_seen), None)
        if clash is not None:
            problems.append(
                f"{where}, field 'id': duplicate id {task.id!r} for agent type "
                f"'{task.agent_type}' (first defined at {clash})"
            )
            continue
        for agent in agent_types:
            first_seen[(agent, task.id)] = where
        tasks.append(task)
    if problems:
        raise TaskFileError(source, problems)
    if not tasks:
        raise TaskFileError(source, [f"{source}: contains no tasks"])
    return tuple(tasks)


def tasks_from_rows(rows: Iterable[Mapping[str, Any]], source: str = "tasks") -> tuple[Task, ...]:
    """Validate in-memory rows (e.g. a list of dicts passed to the Python API) into tasks.

    Problems are labelled ``"<source>, index N"``, as for a JSON array.
    """
    return _parse_rows(((f"{source}, index {index}", row) for index, row in enumerate(rows)), source)


# --------------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------------


def _read_jsonl_text(text: str, label: str) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{label}, row {number}"
        try:
            rows.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append((where, _Invalid(f"invalid JSON: {exc.msg} (column {exc.colno})")))
    return rows


def _read_json_text(text: str, label: str) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFileError(
            label, [f"{label}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
        ) from None
    if isinstance(data, Mapping) and "tasks" in data:
        data = data["tasks"]
    if not isinstance(data, list):
        raise TaskFileError(
            label,
            [f'{label}: must be a JSON array of task objects or {{"tasks": [...]}} (got {type(data).__name__})'],
        )
    return [(f"{label}, index {index}", row) for index, row in enumerate(data)]


def _read_text(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskFileError(label, [f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise TaskFileError(label, [f"{label}: cannot be read ({exc.strerror or exc})"]) from None


def _read_parquet(path: Path, label: str) -> list[tuple[str, Any]]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise TaskFileError(label, [f"{label}: cannot be read as Parquet ({exc})"]) from None
    return [(f"{label}, index {index}", row) for index, row in enumerate(rows)]


def _dataset_rows(dataset: Any, label: str) -> list[tuple[str, Any]]:
    """Rows of a ``datasets.Dataset``; missing required columns are reported once, not per row."""
    columns = list(dataset.column_names)
    missing = [name for name in ("id", "prompt", "difficulty") if name not in columns]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise TaskFileError(
            label,
            [f"{label}: missing required column(s) {names} (columns: {', '.join(columns)})"],
        )
    return [(f"{label}, index {index}", row) for index, row in enumerate(dataset)]


def _is_saved_dataset(directory: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return (directory / "dataset_dict.json").is_file() or (directory / "state.json").is_file()


def _load_local_directory(directory: Path, source: str, split: str) -> TaskSuite:
    import datasets

    if _is_saved_dataset(directory):
        try:
            loaded = datasets.load_from_disk(str(directory))
        except Exception as exc:
            raise TaskSourceError(f"cannot read the saved dataset in {source}: {exc}") from exc
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise TaskSourceError(f"split {split!r} not found in {source} (available: {', '.join(loaded)})")
            label = f"{source} (split {split!r})"
            return TaskSuite(source, None, split, _parse_rows(_dataset_rows(loaded[split], label), label))
        return TaskSuite(source, None, None, _parse_rows(_dataset_rows(loaded, source), source))

    try:
        dataset = datasets.load_dataset(str(directory), split=split)
    except Exception as exc:
        raise TaskSourceError(
            f"cannot load task data files from directory {source} (split {split!r}): "
            f"{_describe(exc)}. Expected a folder written by Dataset.save_to_disk, "
            "or data files (.jsonl, .json, .parquet, .csv) that datasets.load_dataset can read, "
            "with the requested split."
        ) from exc
    label = f"{source} (split {split!r})"
    return TaskSuite(source, None, split, _parse_rows(_dataset_rows(dataset, label), label))


def _describe(exc: BaseException) -> str:
    """``Type: message``, followed by its causes: `datasets` wraps the useful error in a vague one."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 3:
        text = str(seen).strip().rstrip(".")
        parts.append(f"{type(seen).__name__}: {text}" if text else type(seen).__name__)
        seen = seen.__cause__
    return " <- ".join(parts)


def _offline_mode_on() -> bool:
    return any(
        os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _load_hub_dataset(name: str, split: str, revision: str | None) -> TaskSuite:
    import datasets

    try:
        dataset = datasets.load_dataset(name, split=split, revision=revision)
    except Exception as exc:
        offline = (
            "offline mode is ON (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE), so only a cached copy can be used"
            if _offline_mode_on()
            else "offline mode (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) is off and the Hub is reachable"
        )
        raise TaskSourceError(
            f"cannot load task dataset {name!r} (split {split!r}, revision "
            f"{revision or 'default'!r}): {_describe(exc)}\n"
            f"No local file or directory named {name!r} exists, so it was read as a Hugging Face "
            f"dataset name. Check: the dataset name is spelled correctly and exists on the Hub; "
            f"split {split!r} exists; the revision exists; HF_TOKEN is set if the dataset is "
            f"private or gated; {offline}."
        ) from exc
    if isinstance(dataset, datasets.DatasetDict):  # defensive: split=None is never passed here
        raise TaskSourceError(f"dataset {name!r} returned several splits; pass split=")
    label = f"{name} (split {split!r})"
    return TaskSuite(name, revision, split, _parse_rows(_dataset_rows(dataset, label), label))


def _looks_like_path(source: str) -> bool:
    """Whether a source that does not exist was meant as a local path rather than a Hub name.

    Hub names are ``name`` or ``owner/name``; a task-file suffix, a leading ``.``, ``/`` or ``~``,
    a backslash, or more than one ``/`` can only be a path.
    """
    if source.lower().endswith(_LOCAL_SUFFIXES):
        return True
    if source.startswith((".", "/", "~")) or "\\" in source:
        return True
    return source.count("/") > 1


def _load_default_suite() -> TaskSuite:
    resource = resources.files("smoltrace").joinpath("data").joinpath("default_tasks.jsonl")
    text = resource.read_text(encoding="utf-8")
    tasks = _parse_rows(_read_jsonl_text(text, "default_tasks.jsonl"), "default_tasks.jsonl")
    return TaskSuite(DEFAULT_SUITE_NAME, None, None, tasks)


def load_tasks(
    source: str | os.PathLike[str] | None = None,
    *,
    split: str = "train",
    revision: str | None = None,
) -> TaskSuite:
    """Load and validate a task suite. Nothing is returned unless every row is valid.

    ``source`` is, in order of precedence:

    - ``None``: the bundled default suite (``smoltrace/data/default_tasks.jsonl``);
    - an existing ``.json`` (array, or ``{"tasks": [...]}``), ``.jsonl`` or ``.parquet`` file;
    - an existing directory: a ``save_to_disk`` folder (``split`` picks from a DatasetDict), or
      data files read with ``datasets.load_dataset(dir, split=split)``;
    - otherwise a Hugging Face dataset name, ``datasets.load_dataset(name, split, revision)``.

    ``revision`` only applies to Hub datasets. ``split`` applies to DatasetDicts, data directories
    and Hub datasets; single files have no splits (the suite's ``split`` is then None).

    Raises TaskFileError (invalid rows, missing file) or TaskSourceError (unreadable source).
    """
    if source is None:
        return _load_default_suite()
    text_source = os.fspath(source)
    if not text_source.strip():
        raise TaskSourceError("task source is empty: pass a file, a directory or a dataset name")
    path = Path(text_source).expanduser()

    if path.is_dir():
        return _load_local_directory(path, text_source, split)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            rows = _read_jsonl_text(_read_text(path, text_source), text_source)
        elif suffix == ".json":
            rows = _read_json_text(_read_text(path, text_source), text_source)
        elif suffix == ".parquet":
            rows = _read_parquet(path, text_source)
        else:
            raise TaskSourceError(
                f"unsupported task file type {path.suffix or '(none)'!r} for {text_source}: "
                "use .json, .jsonl or .parquet, or a dataset directory"
            )
        return TaskSuite(text_source, None, None, _parse_rows(rows, text_source))
    if _looks_like_path(text_source):
        raise TaskFileError(
            text_source,
            [f"{text_source}: task file not found (looked for {path.resolve()})"],
        )
    return _load_hub_dataset(text_source, split, revision)
