"""Helpers for reading what the pages show, and the number formats they use (mirrored from
smoltrace/web/static/dom.js, so that a test compares the exact text as well as the exact value)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import httpx

from .seeding import TOKEN

READY_TIMEOUT_MS = 20_000


def sql(store, statement: str, params=None) -> list[dict]:
    """Rows of ``statement`` through the collector's query API, as the page reads them."""
    response = httpx.post(f"{store.collector.http_endpoint}/api/query",
                          json={"sql": statement, "params": params or [], "format": "objects", "limit": 100_000},
                          headers={"authorization": f"Bearer {TOKEN}"}, timeout=30)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def goto(page, store, route: str) -> None:
    """Open ``#route`` and wait until the page has drawn its data."""
    page.goto(store.url + "#" + route)
    wait_ready(page, "#" + route)


def wait_ready(page, route_hash: str) -> None:
    page.wait_for_function(
        "(hash) => { const m = document.getElementById('main'); return m.dataset.ready === '1' && m.dataset.route === hash; }",
        arg=route_hash, timeout=READY_TIMEOUT_MS,
    )  # fmt: skip


READ_TABLE_JS = """
(selector) => [...document.querySelectorAll(selector + ' > tbody > tr')].map((tr) => ({
  key: tr.dataset.key ?? null,
  href: tr.dataset.href ?? null,
  hidden: tr.hidden,
  cells: Object.fromEntries([...tr.children].filter((td) => td.dataset.col).map((td) => [td.dataset.col, {
    value: JSON.parse(td.dataset.value ?? 'null'), text: td.textContent, link: td.querySelector('a')?.getAttribute('href') ?? null,
  }])),
}))
"""

READ_FACTS_JS = """
(selector) => Object.fromEntries([...document.querySelectorAll(selector + ' > dd')].map((dd) => [dd.dataset.col, {
  value: JSON.parse(dd.dataset.value ?? 'null'), text: dd.textContent,
}]))
"""


def table(page, selector: str) -> list[dict]:
    return page.evaluate(READ_TABLE_JS, selector)


def facts(page, selector: str) -> dict:
    return page.evaluate(READ_FACTS_JS, selector)


# -- dom.js FORMATS, in Python ---------------------------------------------------------------------


def to_fixed(value: float, digits: int) -> str:
    """JavaScript's Number.prototype.toFixed: the exact binary value, ties away from zero."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def grouped(value: float) -> str:
    return f"{int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}"


NUMERIC = {"int", "num", "pct", "p", "ms", "usd", "wh", "g", "mib", "watts", "celsius"}


def fmt(kind: str, value) -> str:
    if value is None:
        return "—"
    if kind in NUMERIC and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return str(value)
    if kind in ("text", "id"):
        return str(value)
    if kind == "int":
        return grouped(value)
    if kind == "num":
        return to_fixed(value, 2)
    if kind == "pct":
        return to_fixed(value, 2) + "%"
    if kind == "p":
        return "< 0.001" if value < 0.001 else to_fixed(value, 3)
    if kind == "ms":
        return to_fixed(value, 1) + " ms" if abs(value) < 1000 else to_fixed(value / 1000, 2) + " s"
    if kind == "usd":
        return "$" + (to_fixed(value, 2) if abs(value) >= 1 else to_fixed(value, 6))
    if kind == "wh":
        return to_fixed(value, 3) + " Wh" if abs(value) >= 1 else to_fixed(value * 1000, 3) + " mWh"
    if kind == "g":
        return to_fixed(value, 3) + " g"
    if kind == "mib":
        return grouped(value) + " MiB"
    if kind == "watts":
        return to_fixed(value, 1) + " W"
    if kind == "celsius":
        return to_fixed(value, 1) + " °C"
    if kind == "bool":
        return "✓" if value else "✗"
    if kind == "time":
        return str(value)[:19].replace("T", " ")
    if kind == "list":
        return ", ".join(value) if value else "none"
    if kind == "progress":
        done, planned = value
        return f"{done} / {'?' if planned is None else planned}"
    raise ValueError(f"unknown format {kind}")


def check_cell(cell: dict, kind: str, expected, *, where: str = "") -> None:
    """The cell holds exactly ``expected`` and shows it in the page's format."""
    assert cell["value"] == expected, f"{where}: value {cell['value']!r} != {expected!r}"
    assert cell["text"] == fmt(kind, expected), f"{where}: text {cell['text']!r} != {fmt(kind, expected)!r}"


def check_row(row: dict, columns: list[tuple[str, str]], expected: dict, *, where: str = "") -> None:
    """Every (column, kind) of ``columns`` in the page's row equals the view's value."""
    for column, kind in columns:
        check_cell(row["cells"][column], kind, expected[column], where=f"{where} {column}")


def js_columns(page, module: str, export: str) -> list[tuple[str, str]]:
    """(name, kind) of a page's column list, read from its module: the test checks every column shown."""
    return [tuple(c) for c in page.evaluate(
        "async ([m, e]) => (await import(m))[e].map((c) => [c.name, c.kind])", [module, export])]  # fmt: skip


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
