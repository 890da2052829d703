"""Just enough of Grafana and of the Infinity datasource to run a dashboard's queries the way they would.

- ``infinity_targets``: every Infinity query of a dashboard (panel targets and variable queries);
- ``interpolate``: Grafana's template-variable replacement (``$var``, ``${var}``, ``${var:format}``,
  ``[[var]]``) with the formats the dashboards use (``sqlstring``, ``raw``, and the default ``glob`` that
  the Infinity datasource passes for its URL, body and parameters);
- ``send``: the HTTP request the Infinity backend builds from a query (pkg/infinity/request.go: the
  datasource URL prefixed to the query URL, ``url_options.params`` as query parameters, a POST body
  ``url_options.data`` sent raw with ``body_content_type``, text/plain by default), plus the bearer token
  the provisioned datasource adds;
- ``fields_used``: every field name a panel refers to (the query's declared columns, field overrides
  matched by name, transformations, x field, data links ``${__data.fields.X}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources"
INFINITY = "yesoreyeram-infinity-datasource"

#: ``$name``, ``${name}``, ``${name:format}``, ``[[name]]`` (names may hold dots: ``${__data.fields.x}``)
VARIABLE = re.compile(
    r"\$\{(?P<braced>[A-Za-z0-9_.\[\]]+)(?::(?P<format>[A-Za-z0-9_]+))?\}"
    r"|\[\[(?P<old>[A-Za-z0-9_.]+)(?::(?P<old_format>[A-Za-z0-9_]+))?\]\]"
    r"|\$(?P<plain>[A-Za-z0-9_]+)"
)


def load_dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def load_datasources() -> list[dict]:
    sources = []
    for path in sorted(DATASOURCES.glob("*.yaml")):
        sources.extend(yaml.safe_load(path.read_text()).get("datasources", []))
    return sources


def smoltrace_datasource() -> dict:
    (source,) = [s for s in load_datasources() if s.get("type") == INFINITY]
    return source


def iter_panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))  # collapsed rows hold their panels


def variable_query(variable: dict) -> dict | None:
    query = variable.get("query")
    if isinstance(query, dict) and query.get("queryType") == "infinity":
        return query["infinityQuery"]
    return None


def infinity_targets(dashboard: dict) -> Iterator[tuple[str, dict | None, dict]]:
    """``(where, panel or None, query)`` for every Infinity query of the dashboard."""
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable_query(variable)
        if query is not None:
            yield f"variable {variable['name']}", None, query
    for panel in iter_panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target.get('refId')}", panel, target


def variable_references(text: str) -> set[str]:
    """Names of the template variables ``text`` refers to (Grafana's built-ins, ``__*``, left out)."""
    names = set()
    for match in VARIABLE.finditer(text):
        name = match.group("braced") or match.group("old") or match.group("plain")
        if not name.startswith("__"):
            names.add(name.split(".")[0])
    return names


def strings_in(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def _format(values: list[str], fmt: str | None) -> str:
    """One variable's values in a Grafana format (``glob`` is the default Infinity asks for)."""
    if fmt == "sqlstring":
        return ",".join("'" + value.replace("'", "''") + "'" for value in values)
    if len(values) == 1 and fmt in (None, "glob", "raw", "csv", "text"):
        return values[0]
    if fmt in (None, "glob"):
        return "{" + ",".join(values) + "}"
    if fmt in ("raw", "csv"):
        return ",".join(values)
    raise AssertionError(f"format {fmt!r} is not emulated by these tests")


def interpolate(text: str, values: dict[str, list[str]]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group("braced") or match.group("old") or match.group("plain")
        fmt = match.group("format") or match.group("old_format")
        if name.startswith("__"):
            raise AssertionError(f"built-in variable {name!r} in a query: not emulated by these tests")
        if name not in values:
            raise AssertionError(f"variable {name!r} is not defined by the dashboard")
        return _format(values[name], fmt)

    return VARIABLE.sub(replace, text)


def send(query: dict, values: dict[str, list[str]], base_url: str, token: str | None) -> httpx.Response:
    """The request the Infinity backend makes for ``query`` (variables interpolated first, like the
    datasource's frontend does), against ``base_url`` instead of the provisioned datasource URL."""
    assert query.get("source") == "url" and query.get("type") == "json", query
    options = query.get("url_options", {})
    url = interpolate(query["url"], values)
    assert url.startswith("/"), f"query URL {url!r} must be relative to the datasource URL"
    params = [(p["key"], interpolate(p.get("value", ""), values)) for p in options.get("params", [])]
    headers = {"authorization": f"Bearer {token}"} if token else {}
    for header in options.get("headers", []):
        headers[header["key"]] = interpolate(header.get("value", ""), values)
    method = (options.get("method") or "GET").upper()
    if method == "POST":
        assert options.get("body_type", "raw") == "raw", "only raw bodies are emulated"
        headers["content-type"] = options.get("body_content_type") or "text/plain"
        body = interpolate(options.get("data", ""), values).encode("utf-8")
        return httpx.post(base_url + url, params=params, content=body, headers=headers, timeout=30)
    assert method == "GET", method
    return httpx.get(base_url + url, params=params, headers=headers, timeout=30)


def sql_of(query: dict) -> str:
    options = query.get("url_options", {})
    if (options.get("method") or "GET").upper() == "POST":
        return options.get("data", "")
    return next((p["value"] for p in options.get("params", []) if p["key"] == "sql"), "")


_DATA_FIELD = re.compile(r"\$\{__data\.fields\.([A-Za-z0-9_]+)")
_DATA_FIELD_QUOTED = re.compile(r"\$\{__data\.fields\[\"([^\"]+)\"\]")


def fields_used(panel: dict) -> set[str]:
    """Field names the panel's config refers to (besides the columns its queries declare)."""
    names: set[str] = set()
    config = panel.get("fieldConfig", {})
    for override in config.get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") == "byName":
            names.add(matcher["options"])
        elif matcher.get("id") == "byNames":
            names.update(matcher["options"].get("names", []))
    for transformation in panel.get("transformations", []):
        options = transformation.get("options", {})
        kind = transformation["id"]
        if kind == "organize":
            for key in ("renameByName", "indexByName", "excludeByName"):
                names.update(options.get(key, {}))
        elif kind in ("groupBy", "groupingToMatrix"):
            names.update(options.get("fields", {}))
        elif kind == "partitionByValues":
            names.update(options.get("fields", []))
        elif kind == "sortBy":
            names.update(item["field"] for item in options.get("sort", []) if "field" in item)
        elif kind == "filterFieldsByName":
            names.update(options.get("include", {}).get("names", []))
        elif kind == "convertFieldType":
            names.update(c["targetField"] for c in options.get("conversions", []) if c.get("targetField"))
        else:
            raise AssertionError(f"transformation {kind!r}: teach fields_used which fields it names")
    panel_options = panel.get("options", {})
    for key in ("xField", "x", "y", "colorField", "sizeField"):
        if isinstance(panel_options.get(key), str) and panel_options[key]:
            names.add(panel_options[key])
    for text in strings_in(panel):
        names.update(_DATA_FIELD.findall(text))
        names.update(_DATA_FIELD_QUOTED.findall(text))
    return names


def display_names(panel: dict, columns: list[str]) -> set[str]:
    """What a column is shown as: its displayName override, else its name."""
    shown = {name: name for name in columns}
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        for prop in override.get("properties", []):
            if matcher.get("id") == "byName" and prop["id"] == "displayName":
                shown[matcher["options"]] = prop["value"]
    return set(shown.values())
