"""The query API's ``format=objects`` (what the Grafana dashboards ask for): the JSON answer's rows as
objects keyed by column name, same values, same limits, on /api/query and /api/views/{name}."""

from __future__ import annotations

import httpx

from .conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
SQL = """SELECT task_uid, success, execution_time_ms, tools_used, start_time, expected_keywords
           FROM results ORDER BY task_uid"""


def test_objects_are_the_json_rows_keyed_by_column(stack_store):
    base = stack_store.query_url
    as_json = httpx.post(f"{base}/api/query", json={"sql": SQL}, headers=AUTH).json()
    response = httpx.post(f"{base}/api/query", json={"sql": SQL, "format": "objects"}, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    names = [c["name"] for c in as_json["columns"]]
    assert response.json() == [dict(zip(names, row)) for row in as_json["rows"]]
    assert len(response.json()) == 3
    assert response.headers["x-smoltrace-row-count"] == "3"
    assert response.headers["x-smoltrace-truncated"] == "false"


def test_objects_as_infinity_sends_them_sql_in_a_text_body_format_in_the_url(stack_store):
    response = httpx.post(f"{stack_store.query_url}/api/query", params={"format": "objects", "limit": 1},
                          content=SQL.encode(), headers={**AUTH, "content-type": "text/plain"})  # fmt: skip
    assert response.status_code == 200
    (row,) = response.json()
    assert set(row) == {"task_uid", "success", "execution_time_ms", "tools_used", "start_time", "expected_keywords"}
    assert response.headers["x-smoltrace-truncated"] == "true"
    assert httpx.post(f"{stack_store.query_url}/api/query", params={"format": "objects"},
                      content=SQL.encode(), headers={"content-type": "text/plain"}).status_code == 401  # fmt: skip


def test_views_endpoint_answers_objects_too(stack_store):
    response = httpx.get(f"{stack_store.query_url}/api/views/runs",
                         params={"format": "objects", "order_by": "run_id"}, headers=AUTH)  # fmt: skip
    assert response.status_code == 200
    rows = response.json()
    assert {row["run_id"] for row in rows} == {stack_store.tool_run_id, stack_store.code_run_id}
    assert all(row["status"] == "completed" for row in rows)


def test_an_unknown_format_names_objects_among_the_choices(stack_store):
    response = httpx.post(f"{stack_store.query_url}/api/query", json={"sql": "SELECT 1", "format": "xml"}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == "format must be one of json, csv, arrow, objects, got 'xml'"
