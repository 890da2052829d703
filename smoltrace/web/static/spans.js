// Reading OpenInference (and OTel GenAI) span attributes: what a span is, an LLM call's messages, its
// output and the tools it asked for. The attributes are flattened keys, e.g.
// llm.input_messages.1.message.contents.0.message_content.text.

const GENAI_KINDS = {
  chat: "LLM", text_completion: "LLM", generate_content: "LLM",
  execute_tool: "TOOL", invoke_agent: "AGENT", create_agent: "AGENT",
};

export function spanKind(span) {
  const attributes = span.attributes || {};
  if (span.name === "smoltrace.task") return "TASK";
  return attributes["openinference.span.kind"] || GENAI_KINDS[attributes["gen_ai.operation.name"]] || "SPAN";
}

const MESSAGE_KEY = /^llm\.(input|output)_messages\.(\d+)\.message\.(.+)$/;
const CONTENT_KEY = /^contents\.(\d+)\.message_content\.text$/;
const TOOL_CALL_KEY = /^tool_calls\.(\d+)\.tool_call\.function\.(name|arguments)$/;
const GENAI_KEY = /^gen_ai\.(prompt|completion)\.(\d+)\.(role|content)$/;

function collect(attributes) {
  const found = { input: new Map(), output: new Map() };
  const entry = (side, index) => {
    const messages = found[side];
    if (!messages.has(index)) messages.set(index, { role: null, parts: new Map(), toolCalls: new Map() });
    return messages.get(index);
  };
  for (const [key, value] of Object.entries(attributes)) {
    let match = key.match(MESSAGE_KEY);
    if (match) {
      const message = entry(match[1], Number(match[2]));
      const rest = match[3];
      let part;
      if (rest === "role") message.role = value;
      else if (rest === "content") message.parts.set(-1, value);
      else if ((part = rest.match(CONTENT_KEY))) message.parts.set(Number(part[1]), value);
      else if ((part = rest.match(TOOL_CALL_KEY))) {
        const index = Number(part[1]);
        if (!message.toolCalls.has(index)) message.toolCalls.set(index, {});
        message.toolCalls.get(index)[part[2]] = value;
      }
      continue;
    }
    match = key.match(GENAI_KEY);
    if (match) {
      const message = entry(match[1] === "prompt" ? "input" : "output", Number(match[2]));
      if (match[3] === "role") message.role = value;
      else message.parts.set(-1, value);
    }
  }
  const ordered = (messages) =>
    [...messages.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => ({
      role: m.role,
      text: [...m.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, text]) => String(text ?? "")).join("\n"),
      toolCalls: [...m.toolCalls.entries()].sort((a, b) => a[0] - b[0]).map(([, call]) => call),
    }));
  return { input: ordered(found.input), output: ordered(found.output) };
}

/** An LLM span's input (or output) messages: [{role, text, toolCalls}], or the raw input.value. */
export function messagesOf(attributes, side) {
  const messages = collect(attributes)[side];
  if (messages.length) return messages;
  const raw = attributes[`${side}.value`];
  return raw === undefined ? [] : [{ role: `${side}.value`, text: String(raw), toolCalls: [] }];
}

/** An LLM span's output: its text and the tool calls it asked for. */
export function outputOf(attributes) {
  const messages = messagesOf(attributes, "output");
  return {
    text: messages.map((m) => m.text).filter(Boolean).join("\n"),
    toolCalls: messages.flatMap((m) => m.toolCalls),
  };
}

/** Tool arguments as readable JSON: smolagents records {"args": [], "kwargs": {...}}; show the kwargs. */
export function prettyArguments(value) {
  if (value === null || value === undefined) return "—";
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch (_) {
      return value;
    }
  }
  if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && "kwargs" in parsed) {
    const args = Array.isArray(parsed.args) && parsed.args.length ? { args: parsed.args, ...parsed.kwargs } : parsed.kwargs;
    parsed = args;
  }
  return typeof parsed === "string" ? parsed : JSON.stringify(parsed, null, 2);
}
