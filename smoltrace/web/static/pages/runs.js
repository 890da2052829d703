// Runs: newest first, live. While a run is `running` and moving the page asks again every half second
// (every two seconds otherwise, to show new runs: also when a "running" run has not moved for a minute,
// as a run whose runner was killed stays "running") and updates the rows in place.

import { query } from "../api.js";
import { h, message, pageHref } from "../dom.js";
import { DataTable } from "../table.js";

const LIVE_MS = 500;
const IDLE_MS = 2000;
export const PAGE_SIZE = 100; // runs shown at first; "Show older runs" adds as many (URL: ?limit=)
const MAX_RUNS = 1000;
const STALLED_MS = 60000;

export const COLUMNS = [
  { name: "run_id", label: "Run", kind: "id", href: (r) => pageHref("run", r.run_id) },
  { name: "status", label: "Status", kind: "text" },
  { name: "progress", label: "Tasks done", kind: "progress", value: (r) => [r.completed_tasks, r.planned_tasks],
    title: "completed / planned task executions" },
  { name: "model", label: "Model", kind: "text" },
  { name: "provider", label: "Provider", kind: "text" },
  { name: "dataset", label: "Dataset", kind: "text" },
  { name: "success_rate", label: "Success", kind: "pct", title: "successful / completed task executions" },
  { name: "total_tokens", label: "Tokens", kind: "int" },
  { name: "total_cost_usd", label: "Cost", kind: "usd" },
  { name: "total_energy_wh", label: "GPU energy", kind: "wh" },
  { name: "started_at", label: "Started (UTC)", kind: "time" },
];

export async function render(ctx) {
  ctx.main.append(h("h1", { text: "Runs" }));
  const table = new DataTable({
    id: "runs-table",
    columns: COLUMNS,
    key: (r) => r.run_id,
    rowHref: (r) => pageHref("run", r.run_id),
    rowClass: (r) => `status-${r.status}`,
  });
  const empty = message("No runs in this store yet. Run smoltrace-eval, and they show here as they arrive.");
  empty.hidden = true; // until the first answer says so
  const wrap = h("div", { class: "scroll" }, table.element);
  let limit = Math.min(MAX_RUNS, Math.max(PAGE_SIZE, Math.floor(Number(ctx.params.get("limit"))) || PAGE_SIZE));
  const more = h("button", { type: "button", id: "more-runs", hidden: true, text: `Show ${PAGE_SIZE} older runs`,
    onclick: async () => {
      limit = Math.min(MAX_RUNS, limit + PAGE_SIZE);
      ctx.replaceParams({ limit });
      await load();
    } });
  ctx.main.append(empty, wrap, h("p", {}, more));

  let rows = [];
  let seen = "";
  let changedAt = Date.now();
  const load = async () => {
    rows = await query("runs", { limit });
    if (!ctx.alive()) return;
    const now = JSON.stringify(rows);
    if (now !== seen) [seen, changedAt] = [now, Date.now()];
    table.update(rows);
    empty.hidden = rows.length > 0;
    wrap.hidden = rows.length === 0;
    more.hidden = rows.length < limit || limit >= MAX_RUNS;
    ctx.main.dataset.refreshedAt = String(Date.now());
  };
  await load();
  const live = () => rows.some((r) => r.status === "running") && Date.now() - changedAt < STALLED_MS;
  ctx.repeat(() => (live() ? LIVE_MS : IDLE_MS), load);
}
