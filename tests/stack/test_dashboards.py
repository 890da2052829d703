"""Every dashboard query, as Grafana's Infinity datasource would send it, against a real collector.

The store holds real runs (scripted model, real agents and instrumentation, exported over OTLP/gRPC into
a running collector) and real GPU points (the sampler driven by a fake NVML). Variable queries run first;
their values are substituted into the panels' SQL the way Grafana does (``${run_id:sqlstring}``); each
panel query must answer rows holding every field the panel refers to, with the declared types.
"""

from __future__ import annotations

import pytest

from . import grafana_model as grafana
from .conftest import TOKEN

DASHBOARDS = grafana.load_dashboards()
EXPECTED_DASHBOARDS = {"smoltrace-runs", "smoltrace-leaderboard", "smoltrace-run-detail", "smoltrace-gpu"}

TARGETS = [
    pytest.param(name, where, panel, query, id=f"{name}: {where}")
    for name, dashboard in DASHBOARDS.items()
    for where, panel, query in grafana.infinity_targets(dashboard)
]

#: What a JSON value of each declared Infinity column type may be (None: SQL NULL).
TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "timestamp_epoch": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 1_000_000_000_000,
}


def ask(stack_store, query, values):
    response = grafana.send(query, values, stack_store.query_url, TOKEN)
    assert response.status_code == 200, f"{response.status_code}: {response.text}\nSQL:\n{grafana.sql_of(query)}"
    rows = response.json()
    assert isinstance(rows, list) and all(isinstance(row, dict) for row in rows), rows
    return rows


@pytest.fixture(scope="module")
def variable_values(stack_store):
    """Per dashboard: each variable's values as Grafana would substitute them. A single-valued run_id is
    the tool run (it has GPU samples); a multi-valued variable is 'All' (every value its query gives)."""
    values = {}
    for name, dashboard in DASHBOARDS.items():
        values[name] = {}
        for variable in dashboard.get("templating", {}).get("list", []):
            rows = ask(stack_store, grafana.variable_query(variable), values[name])
            options = [row["__value"] for row in rows]
            if variable["name"] == "run_id":
                assert stack_store.tool_run_id in options
                values[name]["run_id"] = [stack_store.tool_run_id]
            else:
                assert variable.get("multi") and variable.get("includeAll"), variable["name"]
                values[name][variable["name"]] = options
    return values


def test_the_four_dashboards_exist():
    assert {board["uid"] for board in DASHBOARDS.values()} == EXPECTED_DASHBOARDS


@pytest.mark.parametrize(("name", "where", "panel", "query"), TARGETS)
def test_query_answers_rows_with_every_field_the_panel_uses(stack_store, variable_values, name, where, panel, query):
    rows = ask(stack_store, query, variable_values[name])
    assert rows, f"{where} answered no rows on a store holding a real run:\n{grafana.sql_of(query)}"
    declared = {column["selector"]: column["type"] for column in query["columns"]}
    assert declared, f"{where}: declare the columns (names and types) so Grafana gets named, typed fields"
    for column in query["columns"]:
        assert column["text"] == column["selector"], "field names are the SQL column names (overrides match them)"
    returned = set(rows[0])
    assert set(declared) <= returned, f"{where}: declared columns missing from the answer: {set(declared) - returned}"
    for column, kind in declared.items():
        check = TYPE_CHECKS[kind]
        bad = [row[column] for row in rows if row[column] is not None and not check(row[column])]
        assert not bad, f"{where}: column {column} declared {kind} but holds {bad[:3]}"
    if panel is None:  # a variable query: Infinity reads __text/__value
        assert {"__text", "__value"} <= returned
        return
    used = grafana.fields_used(panel)
    fields = set(declared)
    if query.get("format") == "timeseries":
        # Infinity turns a long frame wide (one series per string-field value); the time must be sorted
        times = [row["time"] for row in rows]
        assert declared.get("time") == "timestamp_epoch" and times == sorted(times)
    assert used <= fields, f"{where} refers to fields its query does not answer: {used - fields}"
    for sort in panel.get("options", {}).get("sortBy", []):
        assert sort["displayName"] in grafana.display_names(panel, list(fields))


def test_run_detail_rows_are_the_runs_tasks(stack_store, variable_values):
    board = DASHBOARDS["run-detail.json"]
    (tasks,) = [p for p in board["panels"] if p["title"] == "Tasks"]
    rows = ask(stack_store, tasks["targets"][0], variable_values["run-detail.json"])
    verdicts = {row["task_uid"]: (row["success"], row["correct_tool"], row["steps"] > 0) for row in rows}
    assert verdicts == {"tool:weather_tokyo": (True, True, True), "tool:calc_sum": (False, True, True)}


def test_gpu_series_have_one_series_per_gpu(stack_store, variable_values):
    board = DASHBOARDS["gpu.json"]
    series = [p for p in board["panels"] if p["type"] == "timeseries"]
    used = {p["targets"][0]["columns"][-1]["selector"] for p in series}
    assert used == {"gpu_utilization_percent", "gpu_memory_used_mib", "gpu_temperature_celsius", "gpu_power_watts",
                    "gpu_energy_wh", "co2_emissions_gco2e", "power_cost_usd"}  # fmt: skip
    for panel in series:
        rows = ask(stack_store, panel["targets"][0], variable_values["gpu.json"])
        assert len({row["gpu"] for row in rows}) == 2 and len(rows) == 8, panel["title"]
    (util,) = [p for p in series if p["title"] == "GPU utilization"]
    rows = ask(stack_store, util["targets"][0], variable_values["gpu.json"])
    assert [row["gpu_utilization_percent"] for row in rows if row["gpu"].startswith("GPU 0")] == [10, 60, 90, 20]


def test_leaderboard_variables_list_every_model_and_agent_type(stack_store, variable_values):
    values = variable_values["leaderboard.json"]
    assert values == {"model": ["gpt-4o-mini"], "agent_type": ["code", "tool"]}
    (table,) = [p for p in DASHBOARDS["leaderboard.json"]["panels"] if p["type"] == "table"]
    # one row per run and agent type: the split view (the leaderboard view holds SMOLTRACE's one row per run)
    assert "FROM leaderboard_by_agent_type_totals\n" in table["targets"][0]["url_options"]["data"]
    rows = ask(stack_store, table["targets"][0], values)
    assert {(row["run_id"], row["agent_type"]) for row in rows} == {
        (stack_store.tool_run_id, "tool"),
        (stack_store.code_run_id, "code"),
    }
