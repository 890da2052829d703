"""Not a test: how long each page of the web view takes to get its data from a store, in a real browser.

    python -m tests.web.page_timings --db big.duckdb [--via collector|view] [--repeats 5]

``--via collector`` (default) opens the store in an embedded collector (which migrates it: use a copy);
``--via view`` serves it read-only as ``smoltrace-view`` does. For each page (Runs, Leaderboard, the
newest run's Run, GPU and Compare pages, and one of its tasks) the page is loaded ``--repeats`` times;
the figure is the page's own "data in N ms" (from navigation to every query answered and drawn), and
the slowest of its named queries. Also prints the page weight (every static file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from smoltrace.web.routes import load_assets

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


def _query(page, sql, params):
    return page.evaluate(
        """async ([sql, params]) => (await fetch('/api/query', {method: 'POST', headers: {'content-type': 'application/json'},
            body: JSON.stringify({sql, params, format: 'objects'})})).json()""", [sql, params])  # fmt: skip


def measure(base_url: str, repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(base_url)
        runs = _query(page, "SELECT run_id FROM runs ORDER BY started_at DESC NULLS LAST LIMIT 2", {})
        newest, previous = runs[0]["run_id"], runs[-1]["run_id"]
        gpu = _query(page, "SELECT run_id FROM gpu_metrics LIMIT 1", {})
        trace = _query(page, "SELECT trace_id FROM results WHERE run_id = $r LIMIT 1", {"r": newest})[0]["trace_id"]
        routes = {
            "Runs": "#/runs",
            "Leaderboard": "#/leaderboard",
            "Run": f"#/run/{newest}",
            "Task": f"#/task/{trace}",
            "Compare": f"#/compare?a={previous}&b={newest}",
            "GPU": f"#/gpu/{gpu[0]['run_id'] if gpu else newest}",
        }
        print(f"{'page':<12} {'median ms':>10} {'max ms':>8}   slowest query (median ms)")
        for name, route in routes.items():
            totals, slowest = [], {}
            for _ in range(repeats):
                page.goto("about:blank")
                page.goto(base_url + route)
                page.wait_for_function("() => document.getElementById('main').dataset.ready === '1'", timeout=120_000)
                totals.append(float(page.get_attribute("#status", "data-ms") or "nan"))
                for timing in page.evaluate("async () => (await import('/static/api.js')).timings"):
                    slowest.setdefault(timing["name"], []).append(timing["ms"])
            query, times = max(slowest.items(), key=lambda item: statistics.median(item[1]))
            print(f"{name:<12} {statistics.median(totals):>10.0f} {max(totals):>8.0f}   {query} "
                  f"({statistics.median(times):.0f})")  # fmt: skip
        browser.close()
    weight = sum(len(asset.body) for asset in load_assets().values())
    print(f"page weight: {weight:,} bytes in {len(load_assets())} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--via", choices=["collector", "view"], default="collector")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.via == "view":
        from smoltrace.web.file_server import ViewServer

        with ViewServer(args.db) as server:
            measure(server.url, args.repeats)
    else:
        from smoltrace.collector import Collector

        with Collector.embedded(db_path=args.db) as collector:
            spans = collector.reader().execute("SELECT count(*) FROM otel_traces").fetchone()[0]
            print(json.dumps({"store": str(args.db), "spans": spans}))
            measure(collector.http_endpoint + "/", args.repeats)


if __name__ == "__main__":
    main()
