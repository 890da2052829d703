// Leaderboard: the `leaderboard` view, one row per run and agent type; sortable (press a column
// header) and filterable (model, provider, dataset, agent type). Sort and filters live in the URL.

import { query } from "../api.js";
import { h, message, pageHref } from "../dom.js";
import { DataTable, sortRows } from "../table.js";

export const FILTERS = [
  { name: "model", label: "Model" },
  { name: "provider", label: "Provider" },
  { name: "dataset", label: "Dataset" },
  { name: "agent_type", label: "Agent type" },
];

export const COLUMNS = [
  { name: "model", label: "Model", kind: "text" },
  { name: "agent_type", label: "Agent", kind: "text" },
  { name: "provider", label: "Provider", kind: "text" },
  { name: "dataset", label: "Dataset", kind: "text" },
  { name: "success_rate", label: "Success", kind: "pct" },
  { name: "tool_called_rate", label: "Tool called", kind: "pct" },
  { name: "correct_tool_rate", label: "Correct tool", kind: "pct" },
  { name: "final_answer_rate", label: "Final answer", kind: "pct" },
  { name: "total_tests", label: "Tasks", kind: "int" },
  { name: "avg_steps", label: "Avg steps", kind: "num" },
  { name: "avg_duration_ms", label: "Avg duration", kind: "ms" },
  { name: "total_tokens", label: "Tokens", kind: "int" },
  { name: "avg_tokens_per_test", label: "Tokens / task", kind: "num" },
  { name: "total_cost_usd", label: "Cost", kind: "usd" },
  { name: "total_energy_wh", label: "GPU energy", kind: "wh" },
  { name: "co2_emissions_gco2e", label: "CO₂", kind: "g" },
  { name: "run_status", label: "Status", kind: "text" },
  { name: "evaluation_date", label: "Date (UTC)", kind: "time" },
  { name: "run_id", label: "Run", kind: "id", href: (r) => pageHref("run", r.run_id) },
];

const DEFAULT_SORT = "success_rate";
export const SHOWN_ROWS = 200; // rows drawn at first (a large store has thousands); "Show all" draws the rest

export async function render(ctx) {
  ctx.main.append(h("h1", { text: "Leaderboard" }));
  const all = await query("leaderboard");
  if (!ctx.alive()) return;
  if (!all.length) {
    ctx.main.append(message("No finished task executions yet: the leaderboard fills as runs complete tasks."));
    return;
  }
  const state = {
    sort: COLUMNS.some((c) => c.name === ctx.params.get("sort")) ? ctx.params.get("sort") : DEFAULT_SORT,
    desc: ctx.params.get("dir") !== "asc",
  };
  for (const filter of FILTERS) state[filter.name] = ctx.params.get(filter.name) || "";
  state.all = ctx.params.get("all") === "1";

  const controls = h("form", { class: "filters", id: "leaderboard-filters", onsubmit: (e) => e.preventDefault() });
  for (const filter of FILTERS) {
    const values = [...new Set(all.map((r) => r[filter.name]).filter((v) => v !== null && v !== undefined))].sort();
    const select = h("select", { id: `filter-${filter.name}`, name: filter.name },
      h("option", { value: "", text: `all (${values.length})` }),
      values.map((v) => h("option", { value: v, text: v, selected: v === state[filter.name] })));
    select.addEventListener("change", () => {
      state[filter.name] = select.value;
      draw();
    });
    controls.append(h("label", { for: select.id }, filter.label), select);
  }
  const count = h("span", { class: "count", id: "leaderboard-count" });
  controls.append(count);
  ctx.main.append(controls);

  const holder = h("div", { class: "scroll" });
  const showAll = h("button", { type: "button", id: "show-all", hidden: true, onclick: () => {
    state.all = true;
    draw();
  } });
  ctx.main.append(holder, h("p", {}, showAll));

  function draw() {
    ctx.replaceParams({
      sort: state.sort === DEFAULT_SORT ? null : state.sort,
      dir: state.desc ? null : "asc",
      ...Object.fromEntries(FILTERS.map((f) => [f.name, state[f.name]])),
      all: state.all ? "1" : null,
    });
    const shown = all.filter((row) => FILTERS.every((f) => !state[f.name] || String(row[f.name]) === state[f.name]));
    const focusedColumn = document.activeElement?.closest?.("th")?.dataset.col;
    const table = new DataTable({
      id: "leaderboard-table",
      columns: COLUMNS,
      key: (r) => `${r.run_id}|${r.agent_type}`,
      rowHref: (r) => pageHref("run", r.run_id),
      sort: { column: state.sort, desc: state.desc },
      onSort: (column) => {
        state.desc = column === state.sort ? !state.desc : true;
        state.sort = column;
        draw();
      },
    });
    const sorted = sortRows(shown, state.sort, state.desc);
    table.update(state.all ? sorted : sorted.slice(0, SHOWN_ROWS));
    holder.replaceChildren(table.element);
    count.textContent = `${shown.length} of ${all.length} rows`;
    showAll.hidden = state.all || sorted.length <= SHOWN_ROWS;
    showAll.textContent = `Show all ${sorted.length} rows (the first ${SHOWN_ROWS} are shown)`;
    if (focusedColumn) table.element.querySelector(`th[data-col="${focusedColumn}"] button`)?.focus();
  }
  draw();
}
