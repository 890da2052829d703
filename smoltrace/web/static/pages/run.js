// Run: the run's identity and progress, its leaderboard rows (one per agent type), and its task
// executions with their verdicts; "failures only" and the agent type are filters kept in the URL.

import { queryAll } from "../api.js";
import { facts, h, message, pageHref, section, statusBadge } from "../dom.js";
import { DataTable } from "../table.js";

export const SUMMARY_COLUMNS = [
  { name: "agent_type", label: "Agent", kind: "text" },
  { name: "total_tests", label: "Tasks", kind: "int" },
  { name: "successful_tests", label: "Successful", kind: "int" },
  { name: "success_rate", label: "Success", kind: "pct" },
  { name: "tool_called_rate", label: "Tool called", kind: "pct" },
  { name: "correct_tool_rate", label: "Correct tool", kind: "pct" },
  { name: "final_answer_rate", label: "Final answer", kind: "pct" },
  { name: "avg_steps", label: "Avg steps", kind: "num" },
  { name: "avg_duration_ms", label: "Avg duration", kind: "ms" },
  { name: "total_tokens", label: "Tokens", kind: "int" },
  { name: "total_cost_usd", label: "Cost", kind: "usd" },
  { name: "total_energy_wh", label: "GPU energy", kind: "wh" },
];

export const TASK_COLUMNS = [
  { name: "task_uid", label: "Task", kind: "id", href: (r) => pageHref("task", r.trace_id) },
  { name: "difficulty", label: "Difficulty", kind: "text" },
  { name: "success", label: "Success", kind: "bool" },
  { name: "tool_called", label: "Tool called", kind: "bool" },
  { name: "correct_tool", label: "Correct tool", kind: "bool" },
  { name: "final_answer_called", label: "Final answer", kind: "bool" },
  { name: "response_correct", label: "Response correct", kind: "bool" },
  { name: "stop_reason", label: "Stop reason", kind: "text" },
  { name: "steps", label: "Steps", kind: "int" },
  { name: "total_tokens", label: "Tokens", kind: "int" },
  { name: "execution_time_ms", label: "Duration", kind: "ms" },
  { name: "cost_usd", label: "Cost", kind: "usd" },
  { name: "gpu_energy_wh", label: "GPU energy", kind: "wh" },
];

const LIVE_MS = 2000;

export async function render(ctx) {
  const runId = ctx.id;
  const params = { run_id: runId };
  const data = await queryAll({
    run: ["run", params],
    agents: ["run_leaderboard", params],
    tasks: ["run_tasks", params],
    energy: ["run_task_energy", params],
  });
  if (!ctx.alive()) return;
  const run = data.run[0];
  if (!run && !data.tasks.length) {
    ctx.main.append(h("h1", { text: "Run not found" }), message(`No run ${runId} in this store.`));
    return;
  }
  const heading = h("h1", {}, "Run ", h("span", { class: "mono", text: runId }), " ");
  const badgeSlot = h("span", { id: "run-status" });
  heading.append(badgeSlot);
  const links = h("p", { class: "links" });
  ctx.main.append(heading, links);
  const factsSlot = h("div");
  ctx.main.append(factsSlot);

  const summary = new DataTable({ id: "run-summary", columns: SUMMARY_COLUMNS, key: (r) => r.agent_type });
  ctx.main.append(section("Totals by agent type", h("div", { class: "scroll" }, summary.element)));

  // task filters
  const agentTypes = [...new Set(data.tasks.map((t) => t.agent_type))].sort();
  const state = { failures: ctx.params.get("failures") === "1", agent: ctx.params.get("agent") || "" };
  const failures = h("input", { type: "checkbox", id: "failures-only", checked: state.failures, "data-key-f": "" });
  const agent = h("select", { id: "agent-filter" }, h("option", { value: "", text: "all" }),
    agentTypes.map((a) => h("option", { value: a, text: a, selected: a === state.agent })));
  const count = h("span", { class: "count", id: "task-count" });
  const controls = h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
    h("label", { class: "check" }, failures, " Failures only ", h("kbd", { text: "f" })),
    h("label", { for: "agent-filter" }, "Agent type"), agent, count);
  const tasks = new DataTable({
    id: "run-tasks",
    columns: TASK_COLUMNS,
    key: (r) => r.trace_id,
    rowHref: (r) => pageHref("task", r.trace_id),
    rowClass: (r) => (r.success ? "ok" : "failed"),
  });
  const empty = message("No task execution matches these filters.");
  ctx.main.append(section("Tasks", controls, empty, h("div", { class: "scroll" }, tasks.element)));

  let current = data;
  function draw() {
    const run = current.run[0] || {};
    badgeSlot.replaceChildren(statusBadge(run.status));
    links.replaceChildren(h("a", { href: pageHref("compare", null, { a: runId }), text: "Compare with another run" }));
    if (current.agents.some((a) => a.gpu_count)) {
      links.append(" · ", h("a", { href: pageHref("gpu", runId), text: "GPU metrics", id: "gpu-link" }));
    }
    factsSlot.replaceChildren(facts([
      { label: "Model", kind: "text", value: run.model, column: "model" },
      { label: "Provider", kind: "text", value: run.provider, column: "provider" },
      { label: "Dataset", kind: "text", value: run.dataset, column: "dataset" },
      { label: "Agent types", kind: "text", value: run.agent_types, column: "agent_types" },
      { label: "Tasks done", kind: "progress", value: [run.completed_tasks, run.planned_tasks], column: "progress" },
      { label: "Success", kind: "pct", value: run.success_rate, column: "success_rate" },
      { label: "Started (UTC)", kind: "time", value: run.started_at, column: "started_at" },
      { label: "Duration", kind: "ms", value: run.duration_ms, column: "duration_ms" },
      { label: "Max steps", kind: "int", value: run.max_steps, column: "max_steps" },
      { label: "smoltrace", kind: "text", value: run.smoltrace_version, column: "smoltrace_version" },
    ], "run-facts"));
    summary.update(current.agents);
    const energy = new Map(current.energy.map((e) => [e.trace_id, e.gpu_energy_wh]));
    const rows = current.tasks
      .map((t) => ({ ...t, gpu_energy_wh: energy.get(t.trace_id) ?? null }))
      .filter((t) => (!state.failures || !t.success) && (!state.agent || t.agent_type === state.agent));
    tasks.update(rows);
    empty.hidden = rows.length > 0;
    count.textContent = `${rows.length} of ${current.tasks.length} task executions`;
  }
  const changed = () => {
    state.failures = failures.checked;
    state.agent = agent.value;
    ctx.replaceParams({ failures: state.failures ? "1" : null, agent: state.agent });
    draw();
  };
  failures.addEventListener("change", changed);
  agent.addEventListener("change", changed);
  draw();

  ctx.repeat(() => LIVE_MS, async () => {
    if ((current.run[0] || {}).status !== "running") return;
    const next = await queryAll({
      run: ["run", params], agents: ["run_leaderboard", params], tasks: ["run_tasks", params], energy: ["run_task_energy", params],
    });
    if (ctx.alive()) {
      current = next;
      draw();
    }
  });
}
