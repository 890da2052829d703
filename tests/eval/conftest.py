import json

import duckdb
import pytest

from smoltrace.core import run_evaluation


class Evaluation:
    """Runs the real runner (real agents, real instrumentation, embedded collector) on a task list with a
    scripted model, then reads the store like a user would."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.db_path = tmp_path / "store.duckdb"

    def run(self, tasks, model, **options):
        tasks_file = self.tmp_path / f"tasks-{len(list(self.tmp_path.iterdir()))}.json"
        tasks_file.write_text(json.dumps(tasks))
        options.setdefault("agent_type", "tool")
        options.setdefault("trace_litellm", True)  # these tests also read litellm's `completion` spans
        self.outcome = run_evaluation("gpt-4o-mini", dataset_name=str(tasks_file), db_path=self.db_path,
                                      model_factory=lambda: model, **options)  # fmt: skip
        return self.outcome

    def query(self, sql, params=None):
        with duckdb.connect(str(self.db_path), read_only=True) as conn:
            result = conn.execute(sql, params or [])
            names = [column[0] for column in result.description]
            return [dict(zip(names, row)) for row in result.fetchall()]


@pytest.fixture
def evaluation(tmp_path):
    return Evaluation(tmp_path)


WEATHER_TASK = {
    "id": "weather_tokyo", "prompt": "What is the weather in Tokyo?", "difficulty": "easy",
    "expected_tool": "get_weather", "expected_keywords": ["18°C", "Clear"], "category": "weather",
}  # fmt: skip
