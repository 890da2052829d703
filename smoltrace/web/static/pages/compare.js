// Compare: two runs task by task. A task is matched on its uid (agent type and task id); it "flips"
// when it succeeded in one run and failed in the other. Flips come from `results`; the totals are the
// two runs' `leaderboard_by_agent_type_totals` rows; the statistics (the success-rate difference with its 95%
// interval, the paired test, the same for tokens, duration, cost and energy, and why the runs may not
// be comparable) are the rows of the `compare_runs` and `compare_metrics` macros, shown as they are.
// Each part of the page is one entry of SECTIONS, with its own query.

import { query, queryAll } from "../api.js";
import { format, h, message, pageHref, section } from "../dom.js";
import { DataTable } from "../table.js";

export const TOTAL_METRICS = [
  { name: "total_tests", label: "Tasks", kind: "int" },
  { name: "successful_tests", label: "Successful", kind: "int" },
  { name: "success_rate", label: "Success", kind: "pct" },
  { name: "tool_called_rate", label: "Tool called", kind: "pct" },
  { name: "correct_tool_rate", label: "Correct tool", kind: "pct" },
  { name: "final_answer_rate", label: "Final answer", kind: "pct" },
  { name: "avg_steps", label: "Avg steps", kind: "num" },
  { name: "avg_duration_ms", label: "Avg duration", kind: "ms" },
  { name: "total_duration_ms", label: "Total duration", kind: "ms" },
  { name: "total_tokens", label: "Tokens", kind: "int" },
  { name: "total_cost_usd", label: "Cost", kind: "usd" },
  { name: "total_energy_wh", label: "GPU energy", kind: "wh" },
];

export const CHANGES = {
  fixed: "fixed (✗ → ✓)",
  broken: "broken (✓ → ✗)",
  same_success: "both ✓",
  same_failure: "both ✗",
  only_a: "only in A",
  only_b: "only in B",
};

/** Pairs of the two runs' task executions, each with how it changed from A to B. An execution is a task
 * (task uid) and a try (repeat_index, 0 without --repeats): try i of a task in A meets try i in B. */
export function pairTasks(rows, a, b) {
  const pairs = new Map();
  for (const row of rows) {
    const side = row.run_id === a ? "a" : row.run_id === b ? "b" : null;
    if (!side) continue;
    const repeat = row.repeat_index ?? 0;
    const key = `${row.task_uid}#${repeat}`;
    if (!pairs.has(key)) pairs.set(key, { key, task_uid: row.task_uid, repeat_index: repeat, a: null, b: null });
    const pair = pairs.get(key);
    if (!pair[side]) pair[side] = row; // results holds one row per execution
  }
  return [...pairs.values()].map((pair) => ({ ...pair, change: changeOf(pair) }));
}

function changeOf({ a, b }) {
  if (!b) return "only_a";
  if (!a) return "only_b";
  if (a.success === b.success) return a.success ? "same_success" : "same_failure";
  return b.success ? "fixed" : "broken";
}

/** compare_metrics' metrics, in the page's order; success is a fraction in the view, shown in percent. */
export const STAT_METRICS = [
  { name: "success", label: "Success rate", kind: "pct", scale: 100 },
  { name: "tokens", label: "Tokens", kind: "num" },
  { name: "duration_ms", label: "Duration", kind: "ms" },
  { name: "cost_usd", label: "Cost", kind: "usd" },
  { name: "energy_wh", label: "GPU energy", kind: "wh" },
];

export const TESTS = {
  mcnemar_exact: "McNemar's exact test",
  sign_test_exact: "exact sign test",
};

const SECTIONS = [
  { title: "Totals", render: totalsSection },
  { title: "Statistics", render: statisticsSection },
  { title: "Changes", render: changesSection },
  { title: "Tasks", render: tasksSection },
];

export async function render(ctx) {
  ctx.main.append(h("h1", { text: "Compare runs" }));
  const a = ctx.params.get("a") || "";
  const b = ctx.params.get("b") || "";
  const choices = await query("run_choices");
  if (!ctx.alive()) return;
  ctx.main.append(pickers(ctx, choices, a, b));
  if (!a || !b) {
    ctx.main.append(message("Pick two runs to compare."));
    return;
  }
  if (a === b) {
    ctx.main.append(message("Pick two different runs."));
    return;
  }
  const data = await queryAll({
    tasks: ["compare_tasks", { a, b }],
    totals: ["compare_totals", { a, b }],
    summary: ["compare_summary", { a, b }],
    metrics: ["compare_metrics", { a, b }],
  });
  if (!ctx.alive()) return;
  const view = { ctx, a, b, pairs: pairTasks(data.tasks, a, b), totals: data.totals, summary: data.summary,
    metrics: data.metrics };
  for (const part of SECTIONS) ctx.main.append(section(part.title, part.render(view)));
}

function pickers(ctx, choices, a, b) {
  for (const id of [a, b]) {
    if (id && !choices.some((run) => run.run_id === id)) choices = [...choices, { run_id: id }]; // older than the list
  }
  const label = (run) => `${run.started_at ? format("time", run.started_at) : "?"} · ${run.model ?? "?"} · ${run.agent_types ?? ""} · ${run.run_id}`;
  const select = (id, value) => h("select", { id, name: id },
    h("option", { value: "", text: "choose a run" }),
    choices.map((run) => h("option", { value: run.run_id, text: label(run), selected: run.run_id === value })));
  const pickA = select("run-a", a);
  const pickB = select("run-b", b);
  const go = () => {
    location.hash = pageHref("compare", null, { a: pickA.value, b: pickB.value, only: ctx.params.get("only") });
  };
  pickA.addEventListener("change", go);
  pickB.addEventListener("change", go);
  const swap = h("button", { type: "button", id: "swap-runs", text: "Swap A ⇄ B", onclick: () => {
    [pickA.value, pickB.value] = [pickB.value, pickA.value];
    go();
  } });
  return h("form", { class: "filters pickers", onsubmit: (e) => e.preventDefault() },
    h("label", { for: "run-a" }, "A"), pickA, h("label", { for: "run-b" }, "B"), pickB, swap);
}

function totalsSection({ a, b, totals }) {
  const agentTypes = [...new Set(totals.map((t) => t.agent_type))].sort();
  const rowOf = (run, agent) => totals.find((t) => t.run_id === run && t.agent_type === agent) || null;
  const table = h("table", { id: "compare-totals", class: "data" });
  const head = h("tr", {}, h("th", { scope: "col", text: "" }));
  for (const agent of agentTypes) {
    head.append(h("th", { scope: "col", text: `${agent}: A` }), h("th", { scope: "col", text: `${agent}: B` }),
      h("th", { scope: "col", text: `${agent}: B − A` }));
  }
  const body = h("tbody");
  for (const metric of TOTAL_METRICS) {
    const tr = h("tr", { dataset: { metric: metric.name } }, h("th", { scope: "row", text: metric.label }));
    for (const agent of agentTypes) {
      const x = rowOf(a, agent)?.[metric.name] ?? null;
      const y = rowOf(b, agent)?.[metric.name] ?? null;
      const delta = typeof x === "number" && typeof y === "number" ? y - x : null;
      for (const [side, value] of [["a", x], ["b", y]]) {
        tr.append(h("td", { class: "num", dataset: { col: metric.name, run: side, agent, value: JSON.stringify(value) }, text: format(metric.kind, value) }));
      }
      tr.append(deltaCell(metric, delta, agent));
    }
    body.append(tr);
  }
  table.append(h("thead", {}, head), body);
  return [
    h("p", { class: "legend" }, "A: ", h("a", { href: pageHref("run", a), class: "mono", text: a }),
      " · B: ", h("a", { href: pageHref("run", b), class: "mono", text: b })),
    h("div", { class: "scroll" }, table),
  ];
}

/** B − A, signed; a difference that rounds to nothing at the metric's precision shows as zero. */
export function formatDelta(kind, delta) {
  if (delta === null) return { text: "—", direction: "" };
  const size = format(kind, Math.abs(delta));
  if (size === format(kind, 0)) return { text: size, direction: "" };
  return delta > 0 ? { text: `+${size}`, direction: "up" } : { text: `−${size}`, direction: "down" };
}

function deltaCell(metric, delta, agent) {
  const { text, direction } = formatDelta(metric.kind, delta);
  return h("td", { class: `num delta ${direction}`.trim(), dataset: { col: metric.name, run: "delta", agent }, text });
}

/** A value of a statistic: its exact value in data-value, its text in the metric's format (scaled). */
function statCell(tag, metric, col, value, { signed = false, agent = null } = {}) {
  const scaled = typeof value === "number" ? value * (metric.scale ?? 1) : value;
  const text = signed && typeof scaled === "number" ? formatDelta(metric.kind, scaled).text : format(metric.kind, scaled);
  const cell = h(tag, { class: "num", dataset: { col, value: JSON.stringify(value ?? null) }, text });
  if (agent) cell.dataset.agent = agent;
  return cell;
}

function tries(min, max) {
  if (min === null || min === undefined) return "—";
  return min === max ? String(min) : `${min}–${max}`;
}

/** Per agent type: can the runs be compared (else why not), is one still running, and the success-rate
 * difference with its 95% interval and test (compare_runs); then every metric's (compare_metrics). */
export function statisticsSection({ summary, metrics }) {
  const parts = [];
  const success = STAT_METRICS[0];
  const p = { kind: "p" };
  for (const row of summary) {
    const agent = row.agent_type;
    parts.push(h("h3", { text: `${agent} agents` }));
    if (row.in_progress) {
      parts.push(h("p", { class: "warning in-progress", dataset: { agent },
        text: "In progress: a run is still running, so every number here is provisional." }));
    }
    if (!row.comparable) {
      parts.push(h("p", { class: "warning not-comparable", dataset: { agent }, text: `Not comparable: ${row.notes}` }));
    } else if (row.notes) {
      parts.push(h("p", { class: "note", dataset: { agent }, text: row.notes }));
    }
    const list = h("dl", { class: "facts", id: `compare-summary-${agent}` });
    const item = (label, dd) => list.append(h("dt", { text: label }), dd);
    const text = (col, value, shown) => h("dd", { dataset: { col, value: JSON.stringify(value ?? null) }, text: shown });
    item("Paired tasks", text("paired_tasks", row.paired_tasks, `${row.paired_tasks} (B better on ${row.tasks_up}, `
      + `worse on ${row.tasks_down}, same on ${row.tasks_same})`));
    item("Tries per task", text("tries", [row.a_min_tries, row.a_max_tries, row.b_min_tries, row.b_max_tries],
      `A ${tries(row.a_min_tries, row.a_max_tries)}, B ${tries(row.b_min_tries, row.b_max_tries)}`));
    item("Success rate A", statCell("dd", success, "a_success_rate", row.a_success_rate));
    item("Success rate B", statCell("dd", success, "b_success_rate", row.b_success_rate));
    item("B − A", statCell("dd", success, "success_rate_diff", row.success_rate_diff, { signed: true }));
    item("95% CI, low", statCell("dd", success, "success_rate_diff_ci_low", row.success_rate_diff_ci_low));
    item("95% CI, high", statCell("dd", success, "success_rate_diff_ci_high", row.success_rate_diff_ci_high));
    item("Test", text("test", row.test, TESTS[row.test] ?? row.test ?? "—"));
    item("p-value", statCell("dd", p, "p_value", row.p_value));
    parts.push(list);
  }
  if (!summary.length) parts.push(message("Neither run has task results to compare."));
  parts.push(h("p", { class: "legend", text: "Per metric, over the tasks both runs ran (paired): each side's mean "
    + "over tasks of the task's mean over its tries, B − A with its 95% interval (paired standard error, "
    + "normal approximation), the tasks where B is higher or lower, and the exact sign test on those "
    + "(McNemar's exact test for success with one try per task)." }));
  parts.push(h("div", { class: "scroll" }, metricsTable(metrics)));
  return parts;
}

function metricsTable(metrics) {
  const table = h("table", { id: "compare-stats", class: "data" });
  const numeric = new Set(["Tasks", "A", "B", "B − A", "95% CI low", "95% CI high", "B higher", "B lower", "p-value"]);
  const head = h("tr", {}, ["Agent", "Metric", "Tasks", "A", "B", "B − A", "95% CI low", "95% CI high",
    "B higher", "B lower", "Test", "p-value"].map((label) => h("th", { scope: "col", class: numeric.has(label) ? "num" : null, text: label })));
  const body = h("tbody");
  const order = (row) => STAT_METRICS.findIndex((m) => m.name === row.metric);
  const rows = [...metrics].sort((x, y) => (x.agent_type < y.agent_type ? -1 : x.agent_type > y.agent_type ? 1 : order(x) - order(y)));
  for (const row of rows) {
    const metric = STAT_METRICS.find((m) => m.name === row.metric) ?? { name: row.metric, label: row.metric, kind: "num" };
    const tr = h("tr", { dataset: { key: `${row.agent_type}|${row.metric}` } },
      h("td", { class: "text", dataset: { col: "agent_type", value: JSON.stringify(row.agent_type) }, text: row.agent_type }),
      h("th", { scope: "row", text: metric.label }),
      h("td", { class: "num", dataset: { col: "tasks", value: JSON.stringify(row.tasks) }, text: format("int", row.tasks) }),
      statCell("td", metric, "a_value", row.a_value),
      statCell("td", metric, "b_value", row.b_value),
      statCell("td", metric, "difference", row.difference, { signed: true }),
      statCell("td", metric, "ci_low", row.ci_low),
      statCell("td", metric, "ci_high", row.ci_high),
      h("td", { class: "num", dataset: { col: "tasks_up", value: JSON.stringify(row.tasks_up) }, text: format("int", row.tasks_up) }),
      h("td", { class: "num", dataset: { col: "tasks_down", value: JSON.stringify(row.tasks_down) }, text: format("int", row.tasks_down) }),
      h("td", { class: "text", dataset: { col: "test", value: JSON.stringify(row.test) }, text: TESTS[row.test] ?? row.test }),
      statCell("td", { kind: "p" }, "p_value", row.p_value));
    body.append(tr);
  }
  table.append(h("thead", {}, head), body);
  return table;
}

function changesSection({ pairs }) {
  const counts = Object.fromEntries(Object.keys(CHANGES).map((k) => [k, 0]));
  pairs.forEach((p) => (counts[p.change] += 1));
  const list = h("dl", { class: "facts changes", id: "compare-changes" });
  for (const [change, label] of Object.entries(CHANGES)) {
    list.append(h("dt", { text: label }), h("dd", { class: change, dataset: { col: change, value: String(counts[change]) }, text: String(counts[change]) }));
  }
  return list;
}

function tasksSection({ ctx, pairs }) {
  const onlyFlips = ctx.params.get("only") === "flips";
  const toggle = h("input", { type: "checkbox", id: "only-flips", checked: onlyFlips, "data-key-f": "" });
  const side = (pair, name, kind) => ({ name: `${name}_${pair}`, kind });
  const columns = [
    { name: "task_uid", label: "Task", kind: "id" },
    { name: "repeat_index", label: "Try", kind: "int" },
    { name: "change", label: "Change", kind: "text", value: (p) => CHANGES[p.change] },
    { ...side("a", "success", "bool"), label: "A", value: (p) => p.a?.success ?? null, href: (p) => (p.a ? pageHref("task", p.a.trace_id) : null) },
    { ...side("b", "success", "bool"), label: "B", value: (p) => p.b?.success ?? null, href: (p) => (p.b ? pageHref("task", p.b.trace_id) : null) },
    { ...side("a", "steps", "int"), label: "Steps A", value: (p) => p.a?.steps ?? null },
    { ...side("b", "steps", "int"), label: "Steps B", value: (p) => p.b?.steps ?? null },
    { ...side("a", "total_tokens", "int"), label: "Tokens A", value: (p) => p.a?.total_tokens ?? null },
    { ...side("b", "total_tokens", "int"), label: "Tokens B", value: (p) => p.b?.total_tokens ?? null },
    { ...side("a", "execution_time_ms", "ms"), label: "Duration A", value: (p) => p.a?.execution_time_ms ?? null },
    { ...side("b", "execution_time_ms", "ms"), label: "Duration B", value: (p) => p.b?.execution_time_ms ?? null },
    { ...side("a", "stop_reason", "text"), label: "Stop A", value: (p) => p.a?.stop_reason ?? null },
    { ...side("b", "stop_reason", "text"), label: "Stop B", value: (p) => p.b?.stop_reason ?? null },
  ];
  const table = new DataTable({
    id: "compare-tasks",
    columns,
    key: (p) => p.key,
    rowHref: (p) => pageHref("task", (p.b || p.a).trace_id),
    rowClass: (p) => `change-${p.change}`,
  });
  const count = h("span", { class: "count", id: "compare-count" });
  const draw = () => {
    const shown = pairs.filter((p) => !toggle.checked || p.change === "fixed" || p.change === "broken");
    table.update(shown);
    count.textContent = `${shown.length} of ${pairs.length} task executions`;
  };
  toggle.addEventListener("change", () => {
    const params = Object.fromEntries(ctx.params.entries());
    ctx.replaceParams({ ...params, only: toggle.checked ? "flips" : null });
    draw();
  });
  draw();
  return [
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("label", { class: "check" }, toggle, " Only tasks that flipped ", h("kbd", { text: "f" })), count),
    h("div", { class: "scroll" }, table.element),
  ];
}
