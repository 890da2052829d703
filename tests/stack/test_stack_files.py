"""The compose stack's files, checked without a Docker engine: they parse, what they mount exists, the
ports, endpoints and flags they name are the collector's real ones, and the dashboards refer only to
datasources and variables that exist."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from smoltrace.cli.collector import main as collector_cli
from smoltrace.collector import CollectorConfig

from . import grafana_model as grafana

REPO = grafana.REPO
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
OTEL = yaml.safe_load((REPO / "otel-collector-config.yaml").read_text())
DOCKERFILE = (REPO / "collector" / "Dockerfile").read_text()
SERVICES = COMPOSE["services"]
DEFAULTS = {f.name: f.default for f in dataclasses.fields(CollectorConfig) if f.default is not dataclasses.MISSING}
CLI_DEFAULTS = {param.name: param.default for param in collector_cli.params}
GRPC_PORT, HTTP_PORT = DEFAULTS["grpc_port"], DEFAULTS["http_port"]
INFINITY = grafana.INFINITY


def test_collector_defaults_agree_between_cli_and_config():
    assert (CLI_DEFAULTS["grpc_port"], CLI_DEFAULTS["http_port"]) == (GRPC_PORT, HTTP_PORT) == (4317, 4318)


# -- Dockerfile ----------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(
        r"\\\n", " ", "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#"))
    )
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip()]


def exec_form(arguments: str) -> list[str]:
    assert arguments.lstrip().startswith("["), f"use the exec form (JSON array): {arguments}"
    return json.loads(arguments)


def collector_help_flags() -> set[str]:
    result = subprocess.run([sys.executable, "-m", "smoltrace.cli.collector", "--help"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", result.stdout))


def test_dockerfile_runs_the_collector_with_real_flags_on_the_data_volume():
    instructions = dockerfile_instructions()
    (entrypoint,) = [exec_form(args) for kind, args in instructions if kind == "ENTRYPOINT"]
    cmd = [exec_form(args) for kind, args in instructions if kind == "CMD"][-1]
    argv = entrypoint + cmd
    assert argv[0] == "smoltrace-collector"
    flags = {arg.split("=")[0] for arg in argv[1:] if arg.startswith("--")}
    assert flags <= collector_help_flags(), flags - collector_help_flags()
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--db") + 1] == "/data/smoltrace.duckdb"
    # and click accepts the whole command line (parsing only: --help stops before anything starts)
    collector_cli.make_context("smoltrace-collector", argv[1:], resilient_parsing=False)
    volumes = [exec_form(args) for kind, args in instructions if kind == "VOLUME"]
    assert volumes == [["/data"]]
    users = [args.strip() for kind, args in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0"), "the collector must not run as root"
    assert "--token" not in argv and "SMOLTRACE_TOKEN" not in " ".join(
        a for k, a in instructions if k in ("ENV", "ARG")
    )
    assert {"4317", "4318"} <= set(" ".join(a for k, a in instructions if k == "EXPOSE").split())


def test_dockerfile_installs_the_base_package_only():
    runs = " ".join(args for kind, args in dockerfile_instructions() if kind == "RUN")
    assert "torch" not in runs and ".[" not in runs and "whl[" not in runs, "base install: no extras"
    froms = [args for kind, args in dockerfile_instructions() if kind == "FROM"]
    assert all(re.match(r"python:3\.\d+-slim", image) for image in froms), froms


def health_urls(command: list[str]) -> list[str]:
    assert command[:2] == ["python", "-c"] or command[:3] == ["CMD", "python", "-c"], command
    return re.findall(r"https?://[^'\"\s]+", command[-1])


def test_dockerfile_healthcheck_hits_health_on_the_http_port_with_python():
    (healthcheck,) = [args for kind, args in dockerfile_instructions() if kind == "HEALTHCHECK"]
    command = exec_form(healthcheck.split("CMD", 1)[1])
    assert command[:2] == ["python", "-c"]  # no curl in a slim image
    assert health_urls(command) == [f"http://127.0.0.1:{HTTP_PORT}/health"]


def test_healthcheck_command_passes_against_a_real_collector_and_fails_without_one(tmp_path):
    from smoltrace.collector import Collector

    (healthcheck,) = [args for kind, args in dockerfile_instructions() if kind == "HEALTHCHECK"]
    code = exec_form(healthcheck.split("CMD", 1)[1])[2]
    with Collector.embedded(db_path=tmp_path / "h.duckdb", token="t") as collector:
        live = code.replace(f"http://127.0.0.1:{HTTP_PORT}", collector.http_endpoint)
        assert subprocess.run([sys.executable, "-c", live], capture_output=True).returncode == 0
        port = collector.http_port
    dead = code.replace(f"http://127.0.0.1:{HTTP_PORT}", f"http://127.0.0.1:{port}")
    assert subprocess.run([sys.executable, "-c", dead], capture_output=True).returncode != 0


def test_dockerignore_keeps_what_the_build_copies():
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [args.split()[:-1] for kind, args in dockerfile_instructions() if kind == "COPY" and "--from" not in args]
    for sources in copied:
        for source in sources:
            assert (REPO / source).exists(), source
            assert source not in ignored and source.rstrip("/") not in ignored, source


# -- docker-compose.yml ---------------------------------------------------------------------------------


def mounts(service: dict) -> list[tuple[str, str, str]]:
    result = []
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        result.append((source, target, mode[0] if mode else "rw"))
    return result


def published(service: dict) -> list[tuple[str | None, int, int]]:
    """(host address, host port, container port) of each published port."""
    result = []
    for port in service.get("ports", []):
        parts = str(port).split(":")
        address = parts[0] if len(parts) == 3 else None
        result.append((address, int(parts[-2]), int(parts[-1])))
    return result


def test_compose_has_the_three_services():
    assert set(SERVICES) == {"otel-collector", "smoltrace-collector", "grafana"}
    assert SERVICES["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert SERVICES["grafana"]["image"].startswith("grafana/grafana:")
    build = SERVICES["smoltrace-collector"]["build"]
    assert (REPO / build["context"] / build["dockerfile"]).resolve() == (REPO / "collector" / "Dockerfile").resolve()


def test_every_bind_mount_exists_in_the_repo_and_named_volumes_are_declared():
    for name, service in SERVICES.items():
        for source, _target, mode in mounts(service):
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repository"
                assert mode == "ro", f"{name}: configuration is mounted read-only ({source})"
            else:
                assert source in COMPOSE.get("volumes", {}), f"{name}: named volume {source} is not declared"
    assert ("smoltrace-data", "/data", "rw") in mounts(SERVICES["smoltrace-collector"])
    grafana_mounts = {target: source for source, target, _ in mounts(SERVICES["grafana"])}
    assert grafana_mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    assert grafana_mounts["/var/lib/grafana"] == "grafana-data"


def test_otel_collector_mounts_the_config_it_is_told_to_read():
    service = SERVICES["otel-collector"]
    (config_arg,) = [arg for arg in service["command"] if arg.startswith("--config=")]
    path = config_arg.split("=", 1)[1]
    assert (("./otel-collector-config.yaml", path, "ro")) in mounts(service)


def test_ports_match_the_collector_defaults():
    assert published(SERVICES["otel-collector"]) == [(None, GRPC_PORT, 4317), (None, HTTP_PORT, 4318)]
    smoltrace = SERVICES["smoltrace-collector"]
    assert {int(port) for port in smoltrace["expose"]} == {GRPC_PORT, HTTP_PORT}
    # only the query API (HTTP port) is published, on loopback; its OTLP/gRPC port is not
    assert [(address, container) for address, _, container in published(smoltrace)] == [("127.0.0.1", HTTP_PORT)]
    assert published(SERVICES["grafana"]) == [(None, 3000, 3000)]


def test_compose_healthcheck_and_dockerfile_healthcheck_agree():
    test = SERVICES["smoltrace-collector"]["healthcheck"]["test"]
    assert health_urls(test) == [f"http://127.0.0.1:{HTTP_PORT}/health"]
    flags = {arg for arg in SERVICES["smoltrace-collector"].get("command", []) if arg.startswith("--")}
    assert flags <= collector_help_flags()
    for dependent in ("otel-collector", "grafana"):
        assert SERVICES[dependent]["depends_on"]["smoltrace-collector"]["condition"] == "service_healthy"


def test_token_is_shared_from_the_environment_and_required():
    raw = (REPO / "docker-compose.yml").read_text()
    assert re.search(r"\$\{SMOLTRACE_TOKEN:\?[^}]+\}", raw), "compose refuses to start without SMOLTRACE_TOKEN"
    for name in SERVICES:
        assert SERVICES[name]["environment"]["SMOLTRACE_TOKEN"].startswith("${SMOLTRACE_TOKEN:?")
    assert "yesoreyeram-infinity-datasource" in SERVICES["grafana"]["environment"]["GF_INSTALL_PLUGINS"]


def test_grafana_dashboard_provider_reads_the_mounted_dashboards():
    provider_file = yaml.safe_load((REPO / "grafana/provisioning/dashboards/smoltrace.yaml").read_text())
    (provider,) = provider_file["providers"]
    assert provider["type"] == "file"
    grafana_mounts = {target: source for source, target, _ in mounts(SERVICES["grafana"])}
    assert grafana_mounts[provider["options"]["path"]] == "./grafana/dashboards"
    home = SERVICES["grafana"]["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert home.startswith(provider["options"]["path"] + "/")
        assert (REPO / "grafana/dashboards" / Path(home).name).exists()


# -- otel-collector-config.yaml -------------------------------------------------------------------------


def component_type(name: str) -> str:
    return name.split("/", 1)[0]


def test_otel_pipelines_reference_only_defined_components_in_order():
    pipelines = OTEL["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline[kind]:
                assert component in OTEL[kind], f"pipeline {name} uses undefined {kind[:-1]} {component}"
        processors = pipeline["processors"]
        assert processors.index("memory_limiter") == 0, "memory_limiter must come first"
        assert processors.index("memory_limiter") < processors.index("batch")
        assert [component_type(e) for e in pipeline["exporters"]] == ["otlp"]
    for extension in OTEL["service"].get("extensions", []):
        assert extension in OTEL["extensions"]
    for protocol in OTEL["receivers"]["otlp"]["protocols"].values():
        authenticator = protocol.get("auth", {}).get("authenticator")
        if authenticator:
            assert authenticator in OTEL["service"]["extensions"]


def test_otel_receivers_listen_on_the_published_ports():
    protocols = OTEL["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == f"0.0.0.0:{GRPC_PORT}"
    assert protocols["http"]["endpoint"] == f"0.0.0.0:{HTTP_PORT}"
    max_mib = protocols["grpc"].get("max_recv_msg_size_mib")
    if max_mib:
        assert max_mib * 1024 * 1024 == DEFAULTS["max_request_bytes"] == CLI_DEFAULTS["max_request_bytes"]


def test_otel_exports_to_smoltrace_collector_grpc_with_the_token_retry_and_queue():
    (name,) = [e for e in OTEL["exporters"] if component_type(e) == "otlp"]
    exporter = OTEL["exporters"][name]
    host, port = exporter["endpoint"].rsplit(":", 1)
    assert host in SERVICES and host == "smoltrace-collector" and int(port) == GRPC_PORT
    assert exporter["tls"]["insecure"] is True
    assert exporter["headers"]["authorization"] == "Bearer ${env:SMOLTRACE_TOKEN}"
    assert exporter["retry_on_failure"]["enabled"] is True
    assert exporter["sending_queue"]["enabled"] is True
    assert OTEL["extensions"]["bearertokenauth"]["token"] == "${env:SMOLTRACE_TOKEN}"
    assert "SMOLTRACE_TOKEN" in SERVICES["otel-collector"]["environment"]


def test_otel_config_explains_how_to_add_a_second_backend():
    text = (REPO / "otel-collector-config.yaml").read_text()
    assert "otlphttp/phoenix" in text and "exporters: [otlp/smoltrace, otlphttp/phoenix]" in text


# -- Grafana provisioning and dashboards ----------------------------------------------------------------


def test_datasource_points_at_the_query_api_with_the_token():
    source = grafana.smoltrace_datasource()
    url = urlsplit(source["url"])
    assert (url.scheme, url.hostname, url.port) == ("http", "smoltrace-collector", HTTP_PORT)
    assert url.hostname in SERVICES
    assert source["jsonData"]["auth_method"] == "bearerToken"
    assert source["secureJsonData"]["bearerToken"] == "${SMOLTRACE_TOKEN}"
    assert source["url"] in source["jsonData"]["allowedHosts"]
    assert "SMOLTRACE_TOKEN" in SERVICES["grafana"]["environment"]


def test_dashboards_parse_with_unique_uids_and_titles():
    dashboards = grafana.load_dashboards()
    assert len(dashboards) == 4
    uids = [board["uid"] for board in dashboards.values()]
    titles = [board["title"] for board in dashboards.values()]
    assert len(set(uids)) == len(uids) and len(set(titles)) == len(titles)
    for board in dashboards.values():
        panel_ids = [panel["id"] for panel in grafana.iter_panels(board["panels"])]
        assert len(set(panel_ids)) == len(panel_ids)


def datasource_refs(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "datasource":
                yield item
            else:
                yield from datasource_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from datasource_refs(item)


@pytest.mark.parametrize("name", sorted(grafana.load_dashboards()))
def test_dashboards_refer_only_to_provisioned_datasources_and_defined_variables(name):
    board = grafana.load_dashboards()[name]
    provisioned = {source["uid"]: source["type"] for source in grafana.load_datasources()}
    for ref in datasource_refs(board):
        assert isinstance(ref, dict), f"{name}: refer to datasources by uid, not by name ({ref!r})"
        if ref.get("type") == "grafana":
            continue  # the built-in annotations source
        assert provisioned.get(ref["uid"]) == ref["type"], f"{name}: unknown datasource {ref}"
    defined = {variable["name"] for variable in board["templating"]["list"]}
    used = set()
    for text in grafana.strings_in(board):
        used |= grafana.variable_references(text)
    assert used <= defined, f"{name} uses undefined variables {used - defined}"
    for where, _panel, query in grafana.infinity_targets(board):
        sql = grafana.sql_of(query)
        assert sql.strip(), where
        # a variable inside SQL is always quoted by Grafana (sqlstring), never pasted raw
        for match in grafana.VARIABLE.finditer(sql):
            assert match.group("format") == "sqlstring", f"{where}: quote {match.group(0)} with :sqlstring"
        assert ("format", "objects") in {(p["key"], p["value"]) for p in query["url_options"]["params"]}


def test_links_between_dashboards_point_at_existing_uids():
    dashboards = grafana.load_dashboards()
    uids = {board["uid"] for board in dashboards.values()}
    for name, board in dashboards.items():
        for text in grafana.strings_in(board):
            for uid in re.findall(r"/d/([A-Za-z0-9_-]+)", text):
                assert uid in uids, f"{name} links to unknown dashboard {uid}"
            for variable in re.findall(r"[?&]var-([A-Za-z0-9_]+)=", text):
                target = re.search(r"/d/([A-Za-z0-9_-]+)", text).group(1)
                (linked,) = [b for b in dashboards.values() if b["uid"] == target]
                assert variable in {v["name"] for v in linked["templating"]["list"]}
