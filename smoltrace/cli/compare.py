"""``smoltrace-compare``: two runs (or two groups of runs) side by side, paired by task.

Every number comes from the store's compare views (store/views/36_stats_compare.sql: ``compare_runs``,
``compare_metrics``, ``compare_tasks``) and statistics views (35_stats.sql: ``run_group_stats``);
this module only asks for them and lays them out. The web view and Grafana query the same views.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from smoltrace.store import readonly
from smoltrace.store.database import DB_ENV_VAR
from smoltrace.store.reader import ReadError, StoreReader, open_reader

SIDE_RUNS_SQL = "SELECT unnest(run_id_list(?)) AS run_id"
KNOWN_RUNS_SQL = """
SELECT run_id FROM run_info WHERE list_contains(run_id_list(?), run_id)
UNION
SELECT DISTINCT run_id FROM results WHERE list_contains(run_id_list(?), run_id)
"""
SUMMARY_SQL = "SELECT * FROM compare_runs(?, ?)"
METRICS_SQL = "SELECT * FROM compare_metrics(?, ?)"
TASKS_SQL = "SELECT * FROM compare_tasks(?, ?)"
SIDE_STATS_SQL = "SELECT * FROM run_group_stats(?) ORDER BY agent_type"
#: --format csv: one row per agent type and metric, each carrying the comparison's context.
CSV_SQL = """
SELECT r.a_runs, r.b_runs, r.comparable, r.in_progress, r.notes, m.*
FROM compare_metrics(?, ?) AS m
JOIN compare_runs(?, ?) AS r USING (agent_type)
ORDER BY m.agent_type, list_position(['success', 'tokens', 'duration_ms', 'cost_usd', 'energy_wh'], m.metric)
"""

METRIC_LABELS = {
    "success": "success rate",
    "tokens": "tokens / try",
    "duration_ms": "duration (ms) / try",
    "cost_usd": "cost (USD) / try",
    "energy_wh": "GPU energy (Wh) / try",
}
TEST_LABELS = {"mcnemar_exact": "McNemar exact", "sign_test_exact": "sign test, exact"}
#: Tasks named per direction on the console before "and N more" (--tasks lists them all).
FLIPS_SHOWN = 8


class CompareError(click.ClickException):
    """The store cannot be read: ``Error: <message>`` (exit code 1), no traceback."""


class BadRuns(CompareError):
    """The run ids given cannot be compared (unknown, missing, on both sides): exit code 2."""

    exit_code = 2


#: The store was last opened (writable) by a smoltrace without these views.
NO_VIEWS_HINT = (
    "the store has no statistics views yet: open it once with smoltrace-collector or smoltrace-eval "
    "(a writable open creates them), then compare again"
)


@dataclass
class Comparison:
    """What the views say about A against B (JSON-ready rows)."""

    a: str
    b: str
    summary: list[dict]  # compare_runs: one row per agent type
    metrics: list[dict]  # compare_metrics: one row per agent type and metric
    tasks: list[dict]  # compare_tasks: one row per agent type and task
    a_stats: list[dict]  # run_group_stats of side A, one row per agent type
    b_stats: list[dict]


def side_runs(reader: StoreReader, side: str, label: str) -> str:
    """The run ids of one side as the views will read them ('b,a' -> 'a,b'); refuses an empty side."""
    ids = [row["run_id"] for row in reader.query(SIDE_RUNS_SQL, [side])]
    if not ids:
        raise BadRuns(f"{label}: no run id given (one run id, or several separated by commas)")
    return ",".join(ids)


def compare(reader: StoreReader, a: str, b: str) -> Comparison:
    """Read the comparison of runs ``a`` and ``b`` (each one run id or several, comma-separated)."""
    a, b = side_runs(reader, a, "RUN_A"), side_runs(reader, b, "RUN_B")
    shared = sorted(set(a.split(",")) & set(b.split(",")))
    if shared:
        raise BadRuns(f"run {shared[0]} is on both sides: compare different runs")
    for side in (a, b):
        known = {row["run_id"] for row in reader.query(KNOWN_RUNS_SQL, [side, side])}
        unknown = [run_id for run_id in side.split(",") if run_id not in known]
        if unknown:
            raise BadRuns(f"no run {unknown[0]} in the store (list runs with: smoltrace-query --view runs)")
    return Comparison(
        a=a,
        b=b,
        summary=reader.query(SUMMARY_SQL, [a, b]),
        metrics=reader.query(METRICS_SQL, [a, b]),
        tasks=reader.query(TASKS_SQL, [a, b]),
        a_stats=reader.query(SIDE_STATS_SQL, [a]),
        b_stats=reader.query(SIDE_STATS_SQL, [b]),
    )


# -- output ---------------------------------------------------------------------------------------


def _number(metric: str, value, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    sign = "+" if signed else ""
    if metric == "success":
        return f"{100 * value:{sign}.1f}" + (" pts" if signed else "%")
    digits = {"cost_usd": 6, "energy_wh": 4}.get(metric, 1)
    return f"{value:{sign},.{digits}f}"


def _p_value(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"


def _side_line(name: str, runs: str, rows: list[dict], summary: dict) -> str:
    dataset = summary[f"{name.lower()}_dataset"]
    revision = summary[f"{name.lower()}_dataset_revision"]
    return (
        f"{name} = {runs}  ({summary[f'{name.lower()}_status']}; dataset {dataset}, revision {revision}"
        f"{'; ' + str(len(rows)) + ' agent type(s)' if len(rows) > 1 else ''})"
    )


def _stats_line(name: str, stats: dict | None) -> str:
    if not stats:
        return f"  {name}: did not evaluate these agents"
    line = (
        f"  {name}: {stats['successes']}/{stats['tries']} tries over {stats['tasks']} tasks, success "
        f"{100 * stats['success_rate']:.1f}% (95% CI {100 * stats['success_rate_ci_low']:.1f}% to "
        f"{100 * stats['success_rate_ci_high']:.1f}%, {stats['success_rate_ci_method']})"
    )
    if stats["max_tries"] > 1:
        k = len(stats["pass_at_k"])
        line += f", pass@{k} {100 * stats['pass_at_k'][-1]:.1f}%, pass^{k} {100 * stats['pass_hat_k'][-1]:.1f}%"
    return line


def _task_names(tasks: list[dict], change: str) -> str:
    names = [task["task_id"] for task in tasks if task["change"] == change]
    shown = ", ".join(names[:FLIPS_SHOWN])
    return shown + (f" and {len(names) - FLIPS_SHOWN} more" if len(names) > FLIPS_SHOWN else "")


def print_table(result: Comparison, show_tasks: bool, console=None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()

    def say(text: str, style: str | None = None) -> None:
        console.print(Text(text, style=style))  # Text: task ids and notes are data, never rich markup

    first = result.summary[0] if result.summary else None
    if first is None:
        say("Neither side has any task execution stored yet.", "yellow")
        return
    say(_side_line("A", result.a, result.a_stats, first))
    say(_side_line("B", result.b, result.b_stats, first))
    for row in result.summary:
        say(
            f"\n{row['agent_type'].upper()} agents: {row['paired_tasks']} paired tasks "
            f"(A {row['a_min_tries']}-{row['a_max_tries']} tries per task, "
            f"B {row['b_min_tries']}-{row['b_max_tries']})",
            "bold",
        )
        if row["comparable"]:
            say("Comparable: same dataset, revision and tasks on both sides.", "green")
        else:
            say(f"NOT COMPARABLE: {row['notes']}", "bold red")
        if row["in_progress"]:
            say("IN PROGRESS: a run is still running; every number below is provisional.", "bold yellow")
        table = Table(show_header=True, header_style="bold")
        for column in ("metric", "A", "B", "B − A", "95% CI", "p (test)", "tasks"):
            table.add_column(column, justify="left" if column in ("metric", "p (test)") else "right")
        for metric in (m for m in result.metrics if m["agent_type"] == row["agent_type"]):
            name = metric["metric"]
            interval = (
                f"{_number(name, metric['ci_low'], True)} to {_number(name, metric['ci_high'], True)}"
                if metric["ci_low"] is not None
                else "n/a"
            )
            table.add_row(
                METRIC_LABELS[name],
                _number(name, metric["a_value"]),
                _number(name, metric["b_value"]),
                _number(name, metric["difference"], True),
                interval,
                f"{_p_value(metric['p_value'])} ({TEST_LABELS[metric['test']]})",
                str(metric["tasks"]),
            )
        console.print(table)
        say(
            f"Tasks: {row['tasks_up']} up, {row['tasks_down']} down, {row['tasks_same']} same; "
            f"only in A: {row['only_in_a']}, only in B: {row['only_in_b']}"
        )
        tasks = [task for task in result.tasks if task["agent_type"] == row["agent_type"]]
        for change, label in (
            ("up", "Up (B better)"),
            ("down", "Down (B worse)"),
            ("only_a", "Only in A"),
            ("only_b", "Only in B"),
        ):
            if any(task["change"] == change for task in tasks):
                say(f"  {label}: {_task_names(tasks, change)}")
        say(_stats_line("A", next((s for s in result.a_stats if s["agent_type"] == row["agent_type"]), None)))
        say(_stats_line("B", next((s for s in result.b_stats if s["agent_type"] == row["agent_type"]), None)))
        if show_tasks:
            print_tasks(tasks, console)
    say("\nB − A > 0: B is higher. Intervals and tests are paired by task (see README, Statistics).", "dim")


def print_tasks(tasks: list[dict], console) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, header_style="bold")
    for column in ("task", "change", "A successes", "B successes", "A tokens", "B tokens"):
        table.add_column(column)

    def fraction(successes, tries):
        return "-" if tries is None else f"{successes}/{tries}"

    def tokens(value):
        return "-" if value is None else f"{value:,.1f}"

    for task in tasks:
        table.add_row(
            Text(task["task_id"]),
            task["change"],
            fraction(task["a_successes"], task["a_tries"]),
            fraction(task["b_successes"], task["b_tries"]),
            tokens(task["a_mean_tokens"]),
            tokens(task["b_mean_tokens"]),
        )
    console.print(table)


def _json_default(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def write_csv(rows: list[dict], out) -> None:
    """The rows as smoltrace-query writes CSV (same cell text for booleans, lists and NULLs)."""
    if rows:
        out.write(readonly.to_csv(list(rows[0]), [list(row.values()) for row in rows], line_end="\n"))


# -- the command ----------------------------------------------------------------------------------


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("run_a")
@click.argument("run_b")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"DuckDB store file. Default: ${DB_ENV_VAR}, else ~/.local/share/smoltrace/smoltrace.duckdb.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    help="table: per agent type, each metric with both sides, the difference, its 95% CI and a paired "
    "test, then flips; json: every view's rows (summary, metrics, tasks, per-side statistics); "
    "csv: one row per agent type and metric.",
)
@click.option(
    "--tasks",
    "show_tasks",
    is_flag=True,
    default=False,
    show_default=False,
    help="With --format table: also list every task with both sides' successes and tokens. "
    "Default: off (tasks that changed are named, up to 8 per direction).",
)
@click.option(
    "--token",
    envvar="SMOLTRACE_TOKEN",
    default=None,
    show_envvar=True,
    help="Bearer token for a collector started with --token (only used through its query API). Default: none.",
)
def main(run_a, run_b, db_path, fmt, show_tasks, token):
    """Compare run RUN_A with run RUN_B, task by task.

    RUN_A and RUN_B are each one run id or several separated by commas (runs of one configuration: the
    tries of each task are pooled, like --repeats). Only the tasks both sides ran are paired; the
    output says plainly when the sides are not comparable (different datasets, revisions or tasks) and
    when a run is still running.

    \b
    Examples:
      smoltrace-compare 0193a1b2-... 0193a1c4-...
      smoltrace-compare RUN1,RUN2 RUN3,RUN4 --format json
    """
    try:
        with open_reader(db_path, token) as reader:
            result = compare(reader, run_a, run_b)
            csv_rows = reader.query(CSV_SQL, [result.a, result.b, result.a, result.b]) if fmt == "csv" else []
    except ReadError as exc:
        message = str(exc)
        if "run_id_list" in message or "compare_runs" in message or "run_group_stats" in message:
            message = NO_VIEWS_HINT
        raise CompareError(message) from None
    if fmt == "json":
        click.echo(json.dumps(asdict(result), indent=2, ensure_ascii=False, default=_json_default))
    elif fmt == "csv":
        out = io.StringIO()
        write_csv(csv_rows, out)
        click.echo(out.getvalue(), nl=False)
    else:
        print_table(result, show_tasks)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
