"""The view's static files as served: what they are, what they weigh, that they reach nothing but
their own origin, and that they never build HTML from data or SQL from input."""

from __future__ import annotations

import json
import re

import duckdb
import httpx
import pytest

from smoltrace.web.routes import STATIC_DIR, VIEW_HEADER, load_assets

PAGE_WEIGHT_LIMIT = 500 * 1024

#: What the pages may read (the views named in the issue, and one trace's raw spans).
ALLOWED_RELATIONS = {
    "runs", "run_info", "leaderboard_by_agent_type_totals", "results", "steps", "llm_calls", "tool_calls", "gpu_metrics",
    "task_gpu_energy",
    "otel_traces",
    "latest_runs", "compare_runs", "compare_metrics",  # table macros over those views
}  # fmt: skip


def test_the_page_and_its_files_are_served_with_their_types_and_caching(web_store):
    index = httpx.get(web_store.url, timeout=10)
    assert index.status_code == 200
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.headers[VIEW_HEADER] == "1" and index.headers["cache-control"] == "no-cache"
    script = httpx.get(web_store.url + "static/pages/task.js", timeout=10)
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.content == (STATIC_DIR / "pages" / "task.js").read_bytes()
    again = httpx.get(
        web_store.url + "static/pages/task.js", headers={"if-none-match": script.headers["etag"]}, timeout=10
    )
    assert again.status_code == 304 and again.content == b""
    head = httpx.head(web_store.url, timeout=10)
    assert head.status_code == 200 and head.headers[VIEW_HEADER] == "1"


@pytest.mark.parametrize("path", ["static/nothing.js", "static/../routes.py", "static/%2e%2e/routes.py",
                                  "static/", "static/pages", "static/../../collector/auth.py"])  # fmt: skip
def test_only_the_packaged_files_are_served(web_store, path):
    response = httpx.get(web_store.url + path, timeout=10)
    assert response.status_code == 404
    assert b"bearer" not in response.content.lower()


def test_page_weight_is_under_500_kb_and_every_file_is_in_the_package():
    assets = load_assets()
    total = sum(len(asset.body) for asset in assets.values())
    assert total < PAGE_WEIGHT_LIMIT, f"{total} bytes"
    on_disk = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert set(assets) == on_disk  # nothing unservable lying around
    pyproject = (STATIC_DIR.parents[2] / "pyproject.toml").read_text()
    for pattern in ("web/static/*.html", "web/static/*.js", "web/static/*.css", "web/static/pages/*.js"):
        assert f'"{pattern}"' in pyproject
    assert {name.rsplit(".", 1)[1] for name in assets} == {"html", "js", "css"}


def test_the_pages_reach_nothing_but_their_own_origin():
    for name, asset in load_assets().items():
        text = asset.body.decode("utf-8").replace('"http://www.w3.org/2000/svg"', "")  # a namespace, not a fetch
        assert not re.search(r"https?://|//cdn|@import|url\(", text), name
        imports = re.findall(r"""(?:import|from)\s*[^'"\n;]*['"]([^'"]+)['"]""", text)
        assert all(target.startswith(("./", "../")) for target in imports), (name, imports)
    index = (STATIC_DIR / "index.html").read_text()
    assert re.findall(r'(?:src|href)="([^"#][^"]*)"', index) == ["data:,", "/static/style.css", "/static/app.js"]


def test_no_page_builds_html_from_text_or_runs_text_as_code():
    for name, asset in load_assets().items():
        if name.endswith(".js"):
            text = asset.body.decode("utf-8")
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                         "setAttribute(\"on", "srcdoc", "javascript:"):  # fmt: skip
                assert sink not in text, (name, sink)


def _queries(browser, web_store) -> dict:
    from .conftest import new_page

    page = new_page(browser)
    try:
        page.goto(web_store.url)
        return page.evaluate("async () => (await import('/static/queries.js')).QUERIES")
    finally:
        page.context.close()


def test_every_named_query_reads_only_the_allowed_views_and_binds_its_values(browser, web_store):
    queries = _queries(browser, web_store)
    assert len(queries) >= 15
    conn = duckdb.connect()
    for name, query in queries.items():
        tree = json.loads(conn.execute("SELECT json_serialize_sql(?)", [query["sql"]]).fetchone()[0])
        assert tree["error"] is False, (name, tree)
        tables, ctes = _relations(tree)
        assert tables - ctes <= ALLOWED_RELATIONS and tables - ctes, (name, tables - ctes)
        assert "'" not in query["sql"], name  # no literal: every value comes in params


def _relations(node, tables=None, ctes=None) -> tuple[set, set]:
    """Names of the tables (and table macros) a parse tree reads, and of the CTEs it defines."""
    tables = set() if tables is None else tables
    ctes = set() if ctes is None else ctes
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE":
            tables.add(node["table_name"])
        if node.get("type") == "TABLE_FUNCTION":
            tables.add(node["function"]["function_name"])
        for entry in (node.get("cte_map") or {}).get("map", []):
            ctes.add(entry["key"])
        for value in node.values():
            _relations(value, tables, ctes)
    elif isinstance(node, list):
        for value in node:
            _relations(value, tables, ctes)
    return tables, ctes
