// The one door to the data: POST /api/query with a named query from queries.js and its parameters.
// The token (when the collector has one) is asked for once, kept in sessionStorage for this tab, and
// sent only in the Authorization header: never in a URL, never logged.

import { QUERIES } from "./queries.js";

const TOKEN_KEY = "smoltrace.token";

export class QueryError extends Error {}

let pendingToken = null; // one prompt at a time, shared by every query that got a 401
export const timings = []; // {name, ms, rows} of the current page's queries
const MAX_TIMINGS = 200;

export function resetTimings() {
  timings.length = 0;
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function askToken(wasWrong) {
  if (pendingToken) return pendingToken;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const error = document.getElementById("token-error");
  if (!dialog.dataset.ready) {
    dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing to show without it
    dialog.dataset.ready = "1";
  }
  error.hidden = !wasWrong;
  error.textContent = wasWrong ? "That token was refused. Try again." : "";
  input.value = "";
  pendingToken = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      form.removeEventListener("submit", submit);
      sessionStorage.setItem(TOKEN_KEY, token);
      input.value = "";
      dialog.close();
      pendingToken = null;
      resolve(token);
    };
    form.addEventListener("submit", submit);
  });
  dialog.showModal();
  input.focus();
  return pendingToken;
}

async function post(body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch("/api/query", { method: "POST", headers, body: JSON.stringify(body), cache: "no-store" });
}

/** Rows (objects) of the named query; params is an object for its $name placeholders. */
export async function query(name, params = {}) {
  const definition = QUERIES[name];
  if (!definition) throw new QueryError(`unknown query ${name}`);
  const body = { sql: definition.sql, params, format: "objects", limit: definition.limit ?? 10000 };
  const started = performance.now();
  let token = storedToken();
  let response = await post(body, token);
  while (response.status === 401) {
    token = await askToken(Boolean(token));
    response = await post(body, token);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error || message;
    } catch (_) {
      // not JSON: keep the status line
    }
    throw new QueryError(`${name}: ${message}`);
  }
  const rows = await response.json();
  timings.push({ name, ms: performance.now() - started, rows: rows.length });
  if (timings.length > MAX_TIMINGS) timings.shift(); // a live page keeps asking: keep the latest only
  document.getElementById("forget-token").hidden = !storedToken();
  return rows;
}

/** Several named queries at once: {key: [name, params]} -> {key: rows}. */
export async function queryAll(requests) {
  const keys = Object.keys(requests);
  const answers = await Promise.all(keys.map((key) => query(...requests[key])));
  return Object.fromEntries(keys.map((key, i) => [key, answers[i]]));
}
