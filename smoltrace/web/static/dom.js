// Building elements from data. Text goes in through textContent only, never as HTML: prompts, model
// outputs and tool results are untrusted, and a "<script>" in them must show as those characters.

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  setProps(element, props);
  append(element, children);
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function setProps(element, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") element.textContent = String(value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "style") Object.assign(element.style, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "hidden" || name === "checked" || name === "selected" || name === "disabled") element[name] = true;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element) {
  while (element.firstChild) element.removeChild(element.firstChild);
  return element;
}

// -- formats: one function per kind of number; the tests mirror these exactly ----------------------

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export const FORMATS = {
  text: (v) => String(v),
  id: (v) => String(v),
  int: (v) => INTEGER.format(v),
  num: (v) => v.toFixed(2),
  pct: (v) => `${v.toFixed(2)}%`,
  p: (v) => (v < 0.001 ? "< 0.001" : v.toFixed(3)), // a p-value
  ms: (v) => (Math.abs(v) < 1000 ? `${v.toFixed(1)} ms` : `${(v / 1000).toFixed(2)} s`),
  usd: (v) => (Math.abs(v) >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(6)}`),
  wh: (v) => (Math.abs(v) >= 1 ? `${v.toFixed(3)} Wh` : `${(v * 1000).toFixed(3)} mWh`),
  g: (v) => `${v.toFixed(3)} g`,
  mib: (v) => `${INTEGER.format(v)} MiB`,
  watts: (v) => `${v.toFixed(1)} W`,
  celsius: (v) => `${v.toFixed(1)} °C`,
  bool: (v) => (v ? "✓" : "✗"),
  time: (v) => String(v).slice(0, 19).replace("T", " "),
  list: (v) => (Array.isArray(v) ? (v.length ? v.join(", ") : "none") : String(v)),
  progress: ([done, planned]) => `${done} / ${planned ?? "?"}`,
};

const NUMERIC = new Set(["int", "num", "pct", "p", "ms", "usd", "wh", "g", "mib", "watts", "celsius"]);

/** The text shown for a value of a kind: "—" for no value, a non-number (e.g. "NaN") as itself. */
export function format(kind, value) {
  if (value === null || value === undefined) return "—";
  if (NUMERIC.has(kind) && typeof value !== "number") return String(value);
  return FORMATS[kind](value);
}

export function isNumeric(kind) {
  return NUMERIC.has(kind);
}

/** A table cell holding one value: its text formatted, the exact value in data-value (JSON). */
export function valueCell(kind, value, column) {
  const cell = h("td", { dataset: { col: column, value: JSON.stringify(value ?? null) } });
  fillCell(cell, kind, value);
  return cell;
}

export function fillCell(cell, kind, value) {
  cell.className = [isNumeric(kind) || kind === "progress" ? "num" : "", kind === "bool" ? boolClass(value) : "", kind]
    .filter(Boolean)
    .join(" ");
  cell.textContent = format(kind, value);
  if (kind === "bool" && value !== null && value !== undefined) cell.title = value ? "yes" : "no";
}

function boolClass(value) {
  if (value === null || value === undefined) return "";
  return value ? "yes" : "no";
}

export function pageHref(page, id, params) {
  let href = `#/${page}`;
  if (id !== null && id !== undefined) href += `/${encodeURIComponent(id)}`;
  const query = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== "" && v !== undefined)).toString() : "";
  return query ? `${href}?${query}` : href;
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || ""}`.trim(), text });
}

export function statusBadge(status) {
  return badge(status ?? "unknown", `status-${status ?? "unknown"}`);
}

export function section(title, ...children) {
  return h("section", {}, h("h2", { text: title }), ...children);
}

export function message(text, kind = "note") {
  return h("p", { class: kind, text });
}

/** A definition list of label -> value (formatted), each value cell carrying data-col/data-value. */
export function facts(items, id) {
  const list = h("dl", { class: "facts", id });
  for (const { label, kind, value, column } of items) {
    const dd = h("dd", { dataset: { col: column, value: JSON.stringify(value ?? null) } });
    dd.textContent = format(kind, value);
    if (kind === "bool" && value !== null && value !== undefined) dd.className = value ? "yes" : "no";
    list.append(h("dt", { text: label }), dd);
  }
  return list;
}
