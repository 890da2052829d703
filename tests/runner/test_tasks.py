"""Task loading and validation: every format, split selection, filters, and exact error messages."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from smoltrace.runner.tasks import (
    DEFAULT_SUITE_NAME,
    Task,
    TaskFileError,
    TaskLoadError,
    TaskSourceError,
    TaskSuite,
    load_tasks,
    tasks_from_rows,
)

ROWS = [
    {
        "id": "weather_tokyo",
        "prompt": "What's the weather in Tokyo?",
        "expected_tool": "get_weather",
        "difficulty": "easy",
        "agent_type": "tool",
        "expected_keywords": ["18°C", "Clear"],
    },
    {
        "id": "calc",
        "prompt": "What is 234 multiplied by 67?",
        "expected_tool": "calculator",
        "expected_tool_calls": 1,
        "difficulty": "medium",
        "agent_type": "code",
        "expected_keywords": ["15678"],
        "category": "arithmetic",
    },
    {
        "id": "reason",
        "prompt": "Are all bloops lazzies?",
        "difficulty": "hard",
        "answer": "yes",
    },
]

TOKYO = Task(
    id="weather_tokyo",
    prompt="What's the weather in Tokyo?",
    difficulty="easy",
    agent_type="tool",
    category="general",
    expected_tool="get_weather",
    expected_tool_calls=None,
    expected_keywords=("18°C", "Clear"),
    answer=None,
    quick=False,
)


def uniform(rows: list[dict]) -> list[dict]:
    """Give every row every column (None where missing): Dataset.from_list takes the first row's."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    return [{column: row.get(column) for column in columns} for row in rows]


def write_jsonl(path: Path, rows: list) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def error_lines(exc: pytest.ExceptionInfo) -> list[str]:
    return exc.value.problems


@pytest.fixture
def hf_offline(tmp_path, monkeypatch):
    """`datasets` fully offline, with a private cache: nothing is read from or written to ~/.cache."""
    import datasets
    import huggingface_hub.constants as hub_constants

    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(home / "hub"))
    datasets.disable_progress_bars()
    return home


# ------------------------------------------------------------------------------------------------
# Formats
# ------------------------------------------------------------------------------------------------


def test_json_array(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(ROWS), encoding="utf-8")
    suite = load_tasks(str(path))
    assert suite.name == str(path)
    assert suite.split is None and suite.revision is None
    assert [task.id for task in suite] == ["weather_tokyo", "calc", "reason"]
    assert suite.tasks[0] == TOKYO
    assert suite.tasks[1] == Task(
        id="calc",
        prompt="What is 234 multiplied by 67?",
        difficulty="medium",
        agent_type="code",
        category="arithmetic",
        expected_tool="calculator",
        expected_tool_calls=1,
        expected_keywords=("15678",),
    )
    assert suite.tasks[2] == Task(id="reason", prompt="Are all bloops lazzies?", difficulty="hard", answer="yes")
    assert suite.tasks[2].agent_type == "both"


def test_json_object_with_tasks_key(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"tasks": ROWS}), encoding="utf-8")
    assert [task.id for task in load_tasks(path)] == ["weather_tokyo", "calc", "reason"]


def test_jsonl_with_blank_lines(tmp_path):
    path = write_jsonl(tmp_path / "tasks.jsonl", [ROWS[0], "", ROWS[1], "   ", ROWS[2]])
    suite = load_tasks(str(path))
    assert suite.tasks[0] == TOKYO
    assert len(suite) == 3


def test_parquet_file(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "tasks.parquet"
    # from_pylist takes its columns from the first row: put the row with every column first.
    pq.write_table(pa.Table.from_pylist([ROWS[1], ROWS[0]]), path)
    suite = load_tasks(str(path))
    assert suite.tasks[0].expected_tool_calls == 1
    assert suite.tasks[1] == TOKYO  # nulls in Parquet read as defaults


def test_extra_fields_are_ignored_and_aliases_read(tmp_path):
    row = dict(ROWS[0], required_tools=["read_file"], notes="x", true_answer=42)
    path = write_jsonl(tmp_path / "tasks.jsonl", [row])
    task = load_tasks(str(path)).tasks[0]
    assert task.answer == "42"
    assert not hasattr(task, "required_tools")


def test_normalisation_of_lenient_values(tmp_path):
    row = {
        "id": 7,
        "prompt": "p",
        "difficulty": "Easy",
        "agent_type": " TOOL ",
        "category": None,
        "expected_tool": "",
        "expected_tool_calls": 2.0,
        "expected_keywords": "18°C",
        "quick": True,
    }
    task = load_tasks(str(write_jsonl(tmp_path / "t.jsonl", [row]))).tasks[0]
    assert task == Task(
        id="7",
        prompt="p",
        difficulty="easy",
        agent_type="tool",
        category="general",
        expected_tool=None,
        expected_tool_calls=2,
        expected_keywords=("18°C",),
        quick=True,
    )


def test_nan_expected_tool_calls_is_missing():
    (task,) = tasks_from_rows([{"id": "a", "prompt": "p", "difficulty": "easy", "expected_tool_calls": float("nan")}])
    assert task.expected_tool_calls is None


def test_save_to_disk_dataset(tmp_path, hf_offline):
    import datasets

    directory = tmp_path / "saved"
    datasets.Dataset.from_list(uniform(ROWS[:2])).save_to_disk(str(directory))
    suite = load_tasks(str(directory), split="ignored-for-plain-datasets")
    assert suite.split is None
    assert suite.tasks[0] == TOKYO
    assert suite.tasks[1].expected_tool_calls == 1


def test_save_to_disk_dataset_dict_split_selection(tmp_path, hf_offline):
    import datasets

    directory = tmp_path / "saved_dict"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(uniform(ROWS[:2])),
            "test": datasets.Dataset.from_list(uniform(ROWS[:2])[:1]),
        }
    ).save_to_disk(str(directory))
    train = load_tasks(str(directory))
    assert (train.split, [t.id for t in train]) == ("train", ["weather_tokyo", "calc"])
    test = load_tasks(str(directory), split="test")
    assert (test.split, [t.id for t in test]) == ("test", ["weather_tokyo"])
    with pytest.raises(TaskSourceError) as exc:
        load_tasks(str(directory), split="validation")
    assert str(exc.value) == f"split 'validation' not found in {directory} (available: train, test)"


def test_parquet_dataset_directory_via_load_dataset(tmp_path, hf_offline):
    import datasets

    directory = tmp_path / "pq_dataset"
    (directory / "data").mkdir(parents=True)
    datasets.Dataset.from_list(uniform(ROWS[:2])).to_parquet(str(directory / "data" / "train-00000-of-00001.parquet"))
    datasets.Dataset.from_list(uniform(ROWS[:2])[1:2]).to_parquet(
        str(directory / "data" / "test-00000-of-00001.parquet")
    )
    train = load_tasks(str(directory))
    assert train.split == "train"
    assert train.tasks[0] == TOKYO
    test = load_tasks(str(directory), split="test")
    assert [t.id for t in test] == ["calc"]
    with pytest.raises(TaskSourceError) as exc:
        load_tasks(str(directory), split="validation")
    assert str(exc.value).startswith(
        f"cannot load task data files from directory {directory} (split 'validation'): ValueError: "
    )


def test_dataset_directory_missing_required_columns(tmp_path, hf_offline):
    import datasets

    directory = tmp_path / "bad"
    datasets.Dataset.from_list([{"id": "a", "question": "q"}]).save_to_disk(str(directory))
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(directory))
    assert str(exc.value) == (f"{directory}: missing required column(s) 'prompt', 'difficulty' (columns: id, question)")


def test_dataset_row_errors_name_the_index(tmp_path, hf_offline):
    import datasets

    directory = tmp_path / "bad_rows"
    rows = [dict(ROWS[0]), dict(ROWS[0], id="b", difficulty="simple")]
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(directory))
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(directory))
    assert str(exc.value) == (
        f"{directory} (split 'train'), index 1, field 'difficulty': must be one of easy, medium, hard (got 'simple')"
    )


def test_hub_dataset_not_available_offline(hf_offline):
    with pytest.raises(TaskSourceError) as exc:
        load_tasks("nobody-here/no-such-tasks", split="dev", revision="v1")
    message = str(exc.value)
    assert message.startswith("cannot load task dataset 'nobody-here/no-such-tasks' (split 'dev', revision 'v1'): ")
    for hint in (
        "No local file or directory named 'nobody-here/no-such-tasks' exists",
        "the dataset name is spelled correctly",
        "split 'dev' exists",
        "the revision exists",
        "HF_TOKEN is set if the dataset is private",
        "offline mode is ON (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE)",
    ):
        assert hint in message
    assert isinstance(exc.value, TaskLoadError)


# ------------------------------------------------------------------------------------------------
# The default suite and the helpers
# ------------------------------------------------------------------------------------------------


def test_default_suite():
    suite = load_tasks()
    assert suite.name == DEFAULT_SUITE_NAME == "smoltrace/default"
    assert (suite.revision, suite.split) == (None, None)
    assert len(suite) == 19
    assert Counter(t.agent_type for t in suite) == {"both": 12, "code": 4, "tool": 3}
    assert Counter(t.difficulty for t in suite) == {"easy": 6, "medium": 8, "hard": 5}
    assert len(suite.for_agent("tool")) == 15
    assert len(suite.for_agent("code")) == 16
    quick = suite.filter(quick_only=True)
    assert [t.id for t in quick] == ["weather_tokyo", "calc_multiply", "time_tokyo_to_utc"]
    assert all(t.difficulty == "easy" and t.agent_type == "both" and t.expected_tool for t in quick)
    assert {t.category for t in suite} == {"weather", "arithmetic", "time", "multi_step", "reasoning", "code"}


def test_for_agent_and_filter():
    suite = TaskSuite("s", None, None, tasks_from_rows(ROWS))
    assert [t.id for t in suite.for_agent("tool")] == ["weather_tokyo", "reason"]
    assert [t.id for t in suite.for_agent("code")] == ["calc", "reason"]
    assert suite.for_agent("both") == suite
    assert [t.id for t in suite.filter(difficulty="medium")] == ["calc"]
    assert [t.id for t in suite.filter(limit=2)] == ["weather_tokyo", "calc"]
    assert [t.id for t in suite.for_agent("tool").filter(difficulty="hard", limit=5)] == ["reason"]
    assert len(suite.filter(limit=0)) == 0
    assert suite.filter(difficulty="easy").name == "s"
    with pytest.raises(ValueError, match=r"difficulty must be one of easy, medium, hard \(got 'simple'\)"):
        suite.filter(difficulty="simple")
    with pytest.raises(ValueError, match=r"limit must be a non-negative integer \(got -1\)"):
        suite.filter(limit=-1)
    with pytest.raises(ValueError, match=r"agent_type must be one of tool, code, both \(got 'llm'\)"):
        suite.for_agent("llm")


def test_task_helpers():
    assert TOKYO.uid("tool") == "tool:weather_tokyo"
    assert TOKYO.runs_on("tool") and not TOKYO.runs_on("code")
    assert TOKYO.to_dict()["expected_keywords"] == ["18°C", "Clear"]
    assert tasks_from_rows([TOKYO.to_dict()]) == (TOKYO,)
    with pytest.raises(AttributeError):
        TOKYO.id = "other"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------
# Validation messages
# ------------------------------------------------------------------------------------------------


def test_single_error_message_exact(tmp_path):
    path = write_jsonl(tmp_path / "tasks.jsonl", [ROWS[0], ROWS[1], dict(ROWS[2], difficulty="simple")])
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    assert str(exc.value) == (f"{path}, row 3, field 'difficulty': must be one of easy, medium, hard (got 'simple')")
    assert exc.value.source == str(path)


def test_all_errors_collected_in_one_message(tmp_path):
    rows = [
        {"id": "", "prompt": "p", "difficulty": "easy"},  # 1
        {"prompt": "p", "difficulty": "easy", "agent_type": "robot"},  # 2
        {"id": "a", "prompt": 5, "difficulty": None},  # 3
        '{"id": "b", "prompt": "p", "difficulty": "easy",}',  # 4: invalid JSON
        {"id": "c", "prompt": "p", "difficulty": "easy", "expected_keywords": [1.5]},  # 5
        {"id": "d", "prompt": "p", "difficulty": "easy", "expected_keywords": {"k": 1}},  # 6
        {"id": "e", "prompt": "p", "difficulty": "easy", "expected_tool_calls": -1},  # 7
        {"id": "f", "prompt": "p", "difficulty": "easy", "expected_tool_calls": "2"},  # 8
        {"id": "g", "prompt": "p", "difficulty": "easy", "expected_tool_calls": True},  # 9
        {"id": "h", "prompt": "p", "difficulty": "easy", "expected_tool": ["a", "b"]},  # 10
        {"id": "i", "prompt": "p", "difficulty": "easy", "quick": "yes"},  # 11
        {"id": "j", "prompt": "   ", "difficulty": "easy", "expected_keywords": ["ok", " "]},  # 12
        ["not", "an", "object"],  # 13
        {"id": "k", "prompt": "p", "difficulty": "easy", "category": 3},  # 14
    ]
    path = write_jsonl(tmp_path / "tasks.jsonl", rows)
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    p = str(path)
    expected = [
        f"{p}, row 1, field 'id': must not be empty",
        f"{p}, row 2, field 'id': is required",
        f"{p}, row 2, field 'agent_type': must be one of tool, code, both (got 'robot')",
        f"{p}, row 3, field 'prompt': must be a string (got int 5)",
        f"{p}, row 3, field 'difficulty': is required",
        f"{p}, row 4: invalid JSON: Expecting property name enclosed in double quotes (column 49)",
        f"{p}, row 5, field 'expected_keywords': must be a list of strings (item 0 is float 1.5)",
        f"{p}, row 6, field 'expected_keywords': must be a list of strings (got dict {{'k': 1}})",
        f"{p}, row 7, field 'expected_tool_calls': must be a non-negative integer or null (got -1)",
        f"{p}, row 8, field 'expected_tool_calls': must be a non-negative integer or null (got '2')",
        f"{p}, row 9, field 'expected_tool_calls': must be a non-negative integer or null (got True)",
        f"{p}, row 10, field 'expected_tool': must be a string or null (got list ['a', 'b'])",
        f"{p}, row 11, field 'quick': must be true or false (got 'yes')",
        f"{p}, row 12, field 'prompt': must not be empty",
        f"{p}, row 12, field 'expected_keywords': must not contain empty strings (item 1)",
        f"{p}, row 13: must be an object with task fields (got list)",
        f"{p}, row 14, field 'category': must be a string or null (got int 3)",
    ]
    assert error_lines(exc) == expected
    assert str(exc.value) == "\n".join([f"17 problems in {p}:"] + [f"  - {line}" for line in expected])


def test_message_lists_at_most_twenty_problems(tmp_path):
    rows = [{"id": f"t{i}", "prompt": "p", "difficulty": "simple"} for i in range(25)]
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    lines = str(exc.value).splitlines()
    assert len(exc.value.problems) == 25
    assert lines[0] == f"25 problems in {path}:"
    assert len(lines) == 22
    assert lines[20] == f"  - {path}, row 20, field 'difficulty': must be one of easy, medium, hard (got 'simple')"
    assert lines[21] == "  ... and 5 more"


def test_duplicate_ids_per_agent_type(tmp_path):
    rows = [
        {"id": "x", "prompt": "p", "difficulty": "easy", "agent_type": "tool"},
        {"id": "x", "prompt": "p", "difficulty": "easy", "agent_type": "code"},  # fine: other agent
        {"id": "x", "prompt": "p", "difficulty": "easy", "agent_type": "both"},  # clashes with row 1
        {"id": "y", "prompt": "p", "difficulty": "easy"},
        {"id": "y", "prompt": "p", "difficulty": "easy", "agent_type": "code"},  # clashes with row 4
    ]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    assert error_lines(exc) == [
        f"{path}, index 2, field 'id': duplicate id 'x' for agent type 'both' (first defined at {path}, index 0)",
        f"{path}, index 4, field 'id': duplicate id 'y' for agent type 'code' (first defined at {path}, index 3)",
    ]


def test_json_array_errors_use_index(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([ROWS[0], {"id": "b", "difficulty": "easy"}]), encoding="utf-8")
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    assert str(exc.value) == f"{path}, index 1, field 'prompt': is required"


def test_invalid_json_file(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text('[{"id": "a",\n  "prompt": }]', encoding="utf-8")
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    assert str(exc.value) == f"{path}: invalid JSON: Expecting value (line 2, column 13)"


def test_json_of_wrong_shape(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text('{"id": "a"}', encoding="utf-8")
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    assert str(exc.value) == (f'{path}: must be a JSON array of task objects or {{"tasks": [...]}} (got dict)')


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    assert str(exc.value) == f"{path}: contains no tasks"


def test_file_not_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "missing.jsonl"
    with pytest.raises(TaskFileError) as exc:
        load_tasks(str(path))
    assert str(exc.value) == f"{path}: task file not found (looked for {path})"
    with pytest.raises(TaskFileError, match=r"^tasks\.json: task file not found"):
        load_tasks("tasks.json")
    with pytest.raises(TaskFileError, match=r"^\./data/tasks: task file not found"):
        load_tasks("./data/tasks")


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "tasks.yaml"
    path.write_text("- id: a\n", encoding="utf-8")
    with pytest.raises(TaskSourceError) as exc:
        load_tasks(str(path))
    assert str(exc.value) == (
        f"unsupported task file type '.yaml' for {path}: use .json, .jsonl or .parquet, or a dataset directory"
    )


def test_empty_source():
    with pytest.raises(TaskSourceError, match="task source is empty"):
        load_tasks("  ")


def test_tasks_from_rows_labels():
    with pytest.raises(TaskFileError) as exc:
        tasks_from_rows([{"id": "a", "prompt": "p"}], source="my tasks")
    assert str(exc.value) == "my tasks, index 0, field 'difficulty': is required"
