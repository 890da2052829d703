// Task: one task execution. Why it failed (verdicts and their reasons), the trace as a waterfall (each
// span a bar on the trace's time axis, nested under its parent), the selected span's attributes and
// events, and each agent step: the LLM call's input messages and output, the tool calls with their
// arguments and results, and errors.

import { query, queryAll } from "../api.js";
import { facts, format, h, message, pageHref, section } from "../dom.js";
import { messagesOf, outputOf, prettyArguments, spanKind } from "../spans.js";

export async function render(ctx) {
  const traceId = ctx.id;
  const data = await queryAll({
    task: ["task", { trace_id: traceId }],
    spans: ["task_spans", { trace_id: traceId }],
    steps: ["task_steps", { trace_id: traceId }],
    llm: ["task_llm_calls", { trace_id: traceId }],
    tools: ["task_tool_calls", { trace_id: traceId }],
  });
  if (!ctx.alive()) return;
  const task = data.task[0];
  if (!task && !data.spans.length) {
    ctx.main.append(h("h1", { text: "Task not found" }), message(`No trace ${traceId} in this store.`));
    return;
  }
  const spans = new Map(data.spans.map((s) => [s.span_id, s]));
  if (task) {
    ctx.main.append(
      h("h1", {}, "Task ", h("span", { class: "mono", text: task.task_uid }), " ",
        h("span", { class: `badge ${task.success ? "yes" : "no"}`, text: task.success ? "succeeded" : "failed" })),
      h("p", { class: "links" }, "Run ", h("a", { href: pageHref("run", task.run_id), class: "mono", text: task.run_id }),
        " · ", h("a", { href: pageHref("run", task.run_id, { failures: "1" }), text: "failures of this run" })),
      verdict(task, data.spans),
      taskFacts(task),
    );
  } else {
    ctx.main.append(h("h1", {}, "Trace ", h("span", { class: "mono", text: traceId })),
      message("This trace has no smoltrace.task span: only its spans are shown."));
  }

  const detail = h("section", { id: "span-detail", class: "detail", "aria-label": "Selected span" });
  const waterfall = waterfallTable(data.spans, (spanId) => select(spanId));
  const trace = section(`Trace: ${data.spans.length} spans`, h("div", { class: "scroll" }, waterfall));
  trace.id = "trace";
  ctx.main.append(trace, detail);
  ctx.main.append(stepsSection(data.steps, data.llm, data.tools, spans));

  function select(spanId) {
    for (const row of waterfall.querySelectorAll("tbody tr")) row.setAttribute("aria-selected", String(row.dataset.spanId === spanId));
    ctx.replaceParams({ span: spanId });
    detail.replaceChildren();
    const span = spans.get(spanId);
    if (span) detail.append(...spanDetail(span, () => select(null)).flat().filter(Boolean));
  }
  if (ctx.params.get("span")) select(ctx.params.get("span"));

  if (task) {
    // energy needs the run's samples: asked after the page is drawn
    const [energy] = await query("task_energy", { run_id: task.run_id, trace_id: traceId });
    if (!ctx.alive()) return;
    const slot = document.getElementById("task-energy");
    if (slot && energy) {
      slot.dataset.value = JSON.stringify(energy.gpu_energy_wh);
      slot.textContent = format("wh", energy.gpu_energy_wh);
    }
  }
}

// -- why it failed ---------------------------------------------------------------------------------

export function failureReasons(task) {
  const reasons = [];
  if (!task.final_answer_called) {
    reasons.push(`It stopped without a final answer (stop reason: ${task.stop_reason ?? "unknown"}).`);
  }
  if (!task.response_correct) {
    const answer = String(task.response ?? "").toLowerCase();
    const missing = (task.expected_keywords || []).filter((k) => !answer.includes(String(k).toLowerCase()));
    reasons.push(`The answer lacks the expected keyword${missing.length === 1 ? "" : "s"}: ${missing.join(", ")}.`);
  }
  if (!task.correct_tool) {
    const times = task.expected_tool_calls ? ` at least ${task.expected_tool_calls}×` : "";
    const used = (task.tools_used || []).length ? task.tools_used.join(", ") : "none";
    reasons.push(`Expected tool ${task.expected_tool}${times}; tools called: ${used}.`);
  }
  if (task.error) reasons.push(`Error: ${task.error}`);
  return reasons;
}

function verdict(task, spanRows) {
  const box = h("div", { id: "verdict", class: `verdict ${task.success ? "yes" : "no"}`, role: "note" });
  if (task.success) {
    box.append(h("strong", { text: "Succeeded." }), ` Answer: ${task.response ?? ""}`);
  } else {
    box.append(h("strong", { text: "Why it failed" }));
    const list = h("ul");
    for (const reason of failureReasons(task)) list.append(h("li", { text: reason }));
    if (!list.children.length) list.append(h("li", { text: "Every verdict holds, yet success is false: see the run's scoring rules." }));
    box.append(list);
  }
  const errors = spanRows.filter((s) => s.status_code === "Error");
  if (errors.length) {
    const list = h("ul", { class: "span-errors" });
    for (const span of errors) {
      const exception = (span.events || []).find((e) => e.Name === "exception");
      const text = span.status_message || exception?.Attributes?.["exception.message"] || "(no message)";
      list.append(h("li", {}, h("span", { class: "mono", text: span.name }), `: ${text}`));
    }
    box.append(h("p", { text: `${errors.length} span${errors.length === 1 ? "" : "s"} ended in error:` }), list);
  }
  return box;
}

function taskFacts(task) {
  const list = facts([
    { label: "Success", kind: "bool", value: task.success, column: "success" },
    { label: "Tool called", kind: "bool", value: task.tool_called, column: "tool_called" },
    { label: "Correct tool", kind: "bool", value: task.correct_tool, column: "correct_tool" },
    { label: "Final answer", kind: "bool", value: task.final_answer_called, column: "final_answer_called" },
    { label: "Response correct", kind: "bool", value: task.response_correct, column: "response_correct" },
    { label: "Stop reason", kind: "text", value: task.stop_reason, column: "stop_reason" },
    { label: "Agent", kind: "text", value: task.agent_type, column: "agent_type" },
    { label: "Model", kind: "text", value: task.model, column: "model" },
    { label: "Difficulty", kind: "text", value: task.difficulty, column: "difficulty" },
    { label: "Expected tool", kind: "text", value: task.expected_tool, column: "expected_tool" },
    { label: "Expected keywords", kind: "list", value: task.expected_keywords, column: "expected_keywords" },
    { label: "Tools used", kind: "list", value: task.tools_used, column: "tools_used" },
    { label: "Steps", kind: "int", value: task.steps, column: "steps" },
    { label: "LLM calls", kind: "int", value: task.llm_calls, column: "llm_calls" },
    { label: "Prompt tokens", kind: "int", value: task.prompt_tokens, column: "prompt_tokens" },
    { label: "Completion tokens", kind: "int", value: task.completion_tokens, column: "completion_tokens" },
    { label: "Tokens", kind: "int", value: task.total_tokens, column: "total_tokens" },
    { label: "Duration", kind: "ms", value: task.execution_time_ms, column: "execution_time_ms" },
    { label: "Cost", kind: "usd", value: task.cost_usd, column: "cost_usd" },
    { label: "GPU energy", kind: "wh", value: null, column: "gpu_energy_wh" },
  ], "task-facts");
  list.querySelector('dd[data-col="gpu_energy_wh"]').id = "task-energy";
  return h("div", { class: "task-top" },
    h("div", { class: "texts" },
      h("h2", { text: "Prompt" }), h("pre", { class: "text", id: "task-prompt", text: task.prompt ?? "" }),
      h("h2", { text: "Answer" }), h("pre", { class: "text", id: "task-response", text: task.response === "" ? "(empty)" : task.response ?? "—" }),
      task.error ? [h("h2", { text: "Error" }), h("pre", { class: "text error", id: "task-error", text: task.error })] : null),
    list);
}

// -- waterfall -----------------------------------------------------------------------------------

/** Spans in tree order (each after its parent, siblings by start), with their depth. */
export function treeOrder(spanRows) {
  const ids = new Set(spanRows.map((s) => s.span_id));
  const children = new Map();
  const roots = [];
  for (const span of spanRows) {
    if (span.parent_span_id && ids.has(span.parent_span_id)) {
      if (!children.has(span.parent_span_id)) children.set(span.parent_span_id, []);
      children.get(span.parent_span_id).push(span);
    } else {
      roots.push(span);
    }
  }
  const ordered = [];
  const visit = (span, depth) => {
    ordered.push({ span, depth });
    for (const child of (children.get(span.span_id) || []).sort((a, b) => a.start_ms - b.start_ms)) visit(child, depth + 1);
  };
  roots.sort((a, b) => a.start_ms - b.start_ms).forEach((root) => visit(root, 0));
  return ordered;
}

function waterfallTable(spanRows, onSelect) {
  const total = Math.max(1e-6, ...spanRows.map((s) => s.start_ms + s.duration_ms));
  const axis = h("div", { class: "axis", "aria-hidden": "true" });
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    axis.append(h("span", { style: { left: `${fraction * 100}%` }, text: format("ms", total * fraction) }));
  }
  const body = h("tbody");
  for (const { span, depth } of treeOrder(spanRows)) {
    const kind = spanKind(span);
    const left = (span.start_ms / total) * 100;
    const width = Math.max((span.duration_ms / total) * 100, 0.2);
    const error = span.status_code === "Error";
    const row = h("tr", {
      tabindex: "0",
      class: `kind-${kind.toLowerCase()}${error ? " error" : ""}`,
      "aria-selected": "false",
      dataset: { spanId: span.span_id, parentSpanId: span.parent_span_id || "", depth: String(depth) },
      onclick: () => onSelect(span.span_id),
    },
      h("td", { class: "span-name", style: { paddingLeft: `${0.4 + depth * 1.1}em` } },
        h("span", { class: "kind", text: kind }), " ", h("span", { class: "name", text: span.name }),
        toolName(span) ? h("span", { class: "tool-name", text: ` · ${toolName(span)}` }) : null),
      h("td", { class: "span-bar" }, h("div", { class: "track" },
        h("div", { class: "bar", style: { left: `${left}%`, width: `${Math.min(width, 100 - left)}%` },
          title: `${span.name}: starts at ${format("ms", span.start_ms)}, lasts ${format("ms", span.duration_ms)}` }))),
      h("td", { class: "num", dataset: { col: "duration_ms", value: JSON.stringify(span.duration_ms) }, text: format("ms", span.duration_ms) }),
    );
    body.append(row);
  }
  return h("table", { id: "waterfall", class: "waterfall rows-nav" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Span" }), h("th", { scope: "col" }, axis), h("th", { scope: "col", text: "Duration" }))),
    body);
}

/** A tool span's tool name when its span name differs (smolagents names tool spans after the class). */
function toolName(span) {
  const attributes = span.attributes || {};
  const name = attributes["tool.name"] ?? attributes["gen_ai.tool.name"];
  return name && name !== span.name ? String(name) : null;
}

function spanDetail(span, close) {
  const attributes = span.attributes && typeof span.attributes === "object" ? span.attributes : {};
  const table = h("table", { class: "attributes", id: "span-attributes" });
  for (const key of Object.keys(attributes).sort()) {
    const value = attributes[key];
    table.append(h("tr", {}, h("th", { scope: "row", class: "mono", text: key }),
      h("td", {}, h("pre", { class: "text", text: typeof value === "string" ? value : JSON.stringify(value, null, 2) }))));
  }
  const events = (span.events || []).map((event) =>
    h("li", {}, h("strong", { text: event.Name }), ` at ${event.Timestamp}`,
      h("pre", { class: "text", text: JSON.stringify(event.Attributes ?? {}, null, 2) })));
  return [
    h("div", { class: "detail-head" },
      h("h2", {}, "Span ", h("span", { class: "mono", text: span.name })),
      h("button", { type: "button", "data-key-escape": "", text: "Close (Esc)", onclick: close })),
    facts([
      { label: "Span id", kind: "id", value: span.span_id, column: "span_id" },
      { label: "Parent", kind: "id", value: span.parent_span_id || null, column: "parent_span_id" },
      { label: "Kind", kind: "text", value: spanKind(span), column: "kind" },
      { label: "Status", kind: "text", value: span.status_code, column: "status_code" },
      { label: "Status message", kind: "text", value: span.status_message || null, column: "status_message" },
      { label: "Starts at", kind: "ms", value: span.start_ms, column: "start_ms" },
      { label: "Duration", kind: "ms", value: span.duration_ms, column: "duration_ms" },
      { label: "Scope", kind: "text", value: span.scope, column: "scope" },
    ]),
    h("h3", { text: "Attributes" }), table,
    events.length ? [h("h3", { text: "Events" }), h("ul", { class: "events" }, events)] : null,
  ];
}

// -- steps ---------------------------------------------------------------------------------------

function stepsSection(steps, llmCalls, toolCalls, spans) {
  const box = section(`Steps: ${steps.length}`);
  box.id = "steps";
  const byStep = (rows, stepId) => rows.filter((r) => (r.step_span_id ?? null) === stepId);
  for (const step of steps) {
    const stepLlm = byStep(llmCalls, step.span_id);
    const stepTools = byStep(toolCalls, step.span_id);
    const title = `Step ${step.step_number ?? "?"} · ${format("ms", step.duration_ms)} · ${format("int", step.total_tokens)} tokens` +
      (step.tools_called?.length ? ` · ${step.tools_called.join(", ")}` : "");
    const article = h("article", { class: `step${step.status_code === "Error" ? " error" : ""}`, dataset: { spanId: step.span_id } },
      h("h3", { text: title }));
    if (step.status_code === "Error" && step.status_message) article.append(h("pre", { class: "text error", text: step.status_message }));
    stepLlm.forEach((call) => article.append(llmBlock(call, spans.get(call.span_id))));
    stepTools.forEach((call) => article.append(toolBlock(call)));
    box.append(article);
  }
  const loose = [...byStep(llmCalls, null).map((c) => llmBlock(c, spans.get(c.span_id))), ...byStep(toolCalls, null).map(toolBlock)];
  if (loose.length) box.append(h("article", { class: "step" }, h("h3", { text: "Outside any step" }), loose));
  if (!steps.length && !loose.length) box.append(message("No agent steps were recorded for this task."));
  return box;
}

function llmBlock(call, span) {
  const attributes = span?.attributes || {};
  const input = messagesOf(attributes, "input");
  const output = outputOf(attributes);
  const block = h("div", { class: `llm${call.status_code === "Error" ? " error" : ""}`, dataset: { spanId: call.span_id } },
    h("h4", { text: `LLM ${call.span_name} · ${call.model_name ?? "?"} · ${format("int", call.prompt_tokens)} → ${format("int", call.completion_tokens)} tokens · ${format("ms", call.duration_ms)}` }));
  const inputs = h("div", { class: "messages" });
  input.forEach((m, i) => {
    const details = h("details", { open: i === input.length - 1 },
      h("summary", { text: `${m.role ?? "message"} · ${m.text.length} chars` }), h("pre", { class: "text", text: m.text }));
    inputs.append(details);
  });
  block.append(h("h5", { text: `Input: ${input.length} message${input.length === 1 ? "" : "s"}` }), inputs);
  block.append(h("h5", { text: "Output" }));
  if (output.text || !output.toolCalls.length) block.append(h("pre", { class: "text output", text: output.text || "(empty)" }));
  for (const toolCall of output.toolCalls) {
    block.append(h("p", { class: "requested" }, "Requests tool ", h("span", { class: "mono", text: toolCall.name ?? "?" }),
      h("pre", { class: "text", text: prettyArguments(toolCall.arguments) })));
  }
  if (span?.status_code === "Error") block.append(h("pre", { class: "text error", text: span.status_message || "error" }));
  return block;
}

function toolBlock(call) {
  const error = call.status_code === "Error";
  return h("div", { class: `tool${error ? " error" : ""}`, dataset: { spanId: call.span_id } },
    h("h4", { text: `Tool ${call.tool_name} · ${format("ms", call.duration_ms)}${error ? " · error" : ""}` }),
    h("h5", { text: "Arguments" }), h("pre", { class: "text arguments", text: prettyArguments(call.arguments) }),
    h("h5", { text: "Result" }), h("pre", { class: "text result", text: call.output ?? "—" }),
    error ? h("pre", { class: "text error", text: call.status_message || "error" }) : null);
}
