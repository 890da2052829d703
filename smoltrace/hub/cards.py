"""Dataset cards (README.md) generated from the data that is uploaded with them.

The YAML header tells the Hub and ``datasets.load_dataset`` where the data is (``configs`` /
``data_files``) and what it holds (``dataset_info.features``, from the Parquet schema); the body lists
exactly the columns present, with their types, plus the run (id, model, provider, status) and how the
dataset was produced. Nothing secret is ever in a card: it is built only from the rows and run facts.
"""

from __future__ import annotations

import pyarrow as pa
import yaml

from smoltrace.hub.tables import describe_type, feature_yaml

DATA_GLOB = "data/*.parquet"

INTROS = {
    "results": "One row per task execution (task × agent type): verdicts, steps, tokens, duration, cost.",
    "traces": (
        "One row per task execution (an OpenTelemetry trace whose root span is `smoltrace.task`), with its "
        "totals (`total_tokens`, `total_duration_ms`, `total_cost_usd`). `spans` is JSON text: parse it with "
        "`json.loads` for the trace's spans, their attributes and events."
    ),
    "metrics": "GPU metrics of the run: one row per GPU × sample time (the `gpu_metrics` view).",
    "metrics_summary": (
        "This run has no GPU samples (e.g. an API model), so this dataset holds a single "
        "summary row for the run (`gpu_count` and `sample_count` are 0), so that it still loads."
    ),
    "leaderboard": (
        "One row per run (the `leaderboard` view: SMOLTRACE's leaderboard row, `agent_type` `both` for a run "
        "of both agent types), with the names of the run's results/traces/metrics datasets. Publishing a run "
        "again replaces its row. The last columns say how sure the numbers are (tasks are the unit of sampling; "
        "rates in percent like `success_rate`): `tasks`, `min_tries`/`max_tries` (tries per task, `--repeats`), "
        "`success_rate_ci_low`/`_high` (95% interval, `success_rate_ci_method`: `wilson`, or "
        "`wilson_clustered` with repeats), `success_rate_se`, `pass_at_1`, `pass_at_k` and `pass_hat_k` (lists: "
        "element k is pass@k, pass^k), and the standard errors `mean_tokens_se`, `mean_duration_ms_se`, "
        "`mean_cost_usd_se`. Rows published by older versions have them empty."
    ),
}

PRODUCED_BY = (
    "Produced by smoltrace (`smoltrace-publish`, or `smoltrace-eval --output-format hub`): the run's "
    "spans and metrics were recorded as OpenTelemetry data in a DuckDB store, and every row here comes from "
    "a SQL view over that store. Before upload, smoltrace's privacy policy rewrote the publishing machine's "
    "paths (`~`, `<venv>`, `<site-packages>`, ...), replaced its user and host names with `<user>` and `<host>`, "
    "dropped machine attributes such as `host.name` and redacted secrets as `[REDACTED]`."
)


def render_card(
    kind: str,
    repo_id: str,
    table: pa.Table,
    run: dict | None = None,
    *,
    intro_key: str | None = None,
    extra_lines: list[str] | None = None,
) -> str:
    """README.md text for a dataset of ``kind`` (results | traces | metrics | leaderboard)."""
    run = run or {}
    header = {
        "pretty_name": f"smoltrace {kind}" + (f" — {run['model']}" if run.get("model") else ""),
        "tags": ["smoltrace", "smolagents", "agents", "evaluation", "opentelemetry"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": DATA_GLOB}]}],
        "dataset_info": {"features": feature_yaml(table.schema)},
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {repo_id}", "", INTROS[intro_key or kind], ""]  # fmt: skip
    facts = [("Run id", run.get("run_id")), ("Model", run.get("model")), ("Provider", run.get("provider")),
             ("Agent types", run.get("agent_types")), ("Task dataset", run.get("dataset")),
             ("Run status", run.get("status")), ("Started", run.get("started_at")),
             ("smoltrace version", run.get("smoltrace_version"))]  # fmt: skip
    facts = [(label, value) for label, value in facts if value not in (None, "")]
    if facts:
        lines += [f"- **{label}:** `{value}`" for label, value in facts] + [""]
    lines += extra_lines or []
    lines += [f"Rows: {table.num_rows}", "", "## Columns", "", "| column | type |", "|---|---|"]
    lines += [f"| `{field.name}` | {describe_type(field.type)} |" for field in table.schema]
    lines += ["", "## Loading", "", "```python", "from datasets import load_dataset", "",
              f'ds = load_dataset("{repo_id}", split="train")', "```", "", "## How it was produced", "",
              PRODUCED_BY, ""]  # fmt: skip
    return "\n".join(lines)
