// The view's shell: a router over the URL's hash (#/page/id?state), so that every page and its state
// (sort, filters, selected span) is a link that can be shared; keyboard shortcuts; the status line.

import { forgetToken, QueryError, resetTimings, timings } from "./api.js";
import { clear, h, message } from "./dom.js";
import * as compare from "./pages/compare.js";
import * as gpu from "./pages/gpu.js";
import * as leaderboard from "./pages/leaderboard.js";
import * as run from "./pages/run.js";
import * as runs from "./pages/runs.js";
import * as task from "./pages/task.js";

const PAGES = { runs, leaderboard, run, task, compare, gpu };
const main = document.getElementById("main");
const status = document.getElementById("status");

let generation = 0;
let timers = [];

function parseHash() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = hash.split("?");
  const [page, ...rest] = path.split("/");
  return {
    page: page || "runs",
    id: rest.length ? decodeURIComponent(rest.join("/")) : null,
    params: new URLSearchParams(search),
  };
}

/** What a page gets: where to draw, its URL state, and timers that stop when the user navigates. */
function context(route, mine) {
  return {
    main,
    id: route.id,
    get params() {
      return route.params; // the URL's state, as replaceParams last left it
    },
    alive: () => mine === generation,
    /** Update the URL's state (sort, filters) without a navigation or a new history entry. */
    replaceParams(values) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(values)) {
        if (value !== null && value !== undefined && value !== "" && value !== false) params.set(name, value);
      }
      const path = location.hash.split("?")[0] || "#/runs";
      const search = params.toString();
      history.replaceState(null, "", search ? `${path}?${search}` : path);
      route.params = params;
    },
    /** Call fn after delay() ms, again and again, while this page is shown. */
    repeat(delay, fn) {
      const tick = async () => {
        if (mine !== generation) return;
        try {
          await fn();
        } catch (error) {
          showStatus(`refresh failed: ${error.message}`);
        }
        if (mine === generation) timers.push(setTimeout(tick, delay()));
      };
      timers.push(setTimeout(tick, delay()));
    },
    loaded(startedAt) {
      if (mine !== generation) return;
      const ms = performance.now() - startedAt;
      status.dataset.ms = ms.toFixed(1);
      status.dataset.queries = String(timings.length);
      status.textContent = `data in ${ms.toFixed(0)} ms (${timings.length} queries)`;
    },
  };
}

function showStatus(text) {
  status.textContent = text;
}

async function route() {
  generation += 1;
  const mine = generation;
  timers.forEach(clearTimeout);
  timers = [];
  resetTimings();
  const current = parseHash();
  const page = PAGES[current.page];
  for (const link of document.querySelectorAll("nav a")) {
    const here = link.dataset.page === current.page;
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clear(main);
  status.textContent = "loading…";
  delete status.dataset.ms;
  main.dataset.page = current.page;
  main.dataset.route = location.hash;
  main.dataset.ready = "";
  if (!page) {
    main.append(h("h1", { text: "Not found" }), message(`There is no page called “${current.page}”.`));
    status.textContent = "";
    main.dataset.ready = "1";
    return;
  }
  const startedAt = performance.now();
  try {
    await page.render(context(current, mine));
    if (mine === generation) context(current, mine).loaded(startedAt);
  } catch (error) {
    if (mine !== generation) return;
    const text = error instanceof QueryError ? error.message : `${error.name}: ${error.message}`;
    main.append(h("div", { class: "error", role: "alert" }, h("strong", { text: "Could not load this page. " }), text));
    status.textContent = "error";
  }
  if (mine === generation) main.dataset.ready = "1";
}

// -- keyboard ------------------------------------------------------------------------------------

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
}

/** Every row of the page's tables, in reading order: j/k walk through them, table after table. */
function moveFocus(step) {
  const rows = [...main.querySelectorAll("table.rows-nav > tbody > tr[tabindex]")].filter((tr) => tr.offsetParent !== null);
  const active = document.activeElement;
  const row = active && active.closest ? active.closest("table.rows-nav > tbody > tr") : null;
  const at = row ? rows.indexOf(row) : -1;
  const next = at < 0 ? rows[0] : rows[at + step];
  if (next) next.focus();
}

const SHORTCUTS = {
  r: () => (location.hash = "#/runs"),
  l: () => (location.hash = "#/leaderboard"),
  c: () => (location.hash = "#/compare"),
  j: () => moveFocus(1),
  k: () => moveFocus(-1),
  ArrowDown: () => moveFocus(1),
  ArrowUp: () => moveFocus(-1),
  f: () => main.querySelector("[data-key-f]")?.click(),
  "/": () => main.querySelector("select, input")?.focus(),
};

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if (document.getElementById("token-dialog").open) return;
  if (event.key === "Escape") {
    main.querySelector("[data-key-escape]")?.click();
    return;
  }
  const row = event.target.closest ? event.target.closest("table.rows-nav tbody > tr") : null;
  if (event.key === "Enter" && row && event.target === row) {
    event.preventDefault();
    if (row.dataset.href) location.hash = row.dataset.href;
    else row.click();
    return;
  }
  if (typing(event.target)) return;
  const action = SHORTCUTS[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

// A click on a row (not on a control in it) opens it, like Enter.
main.addEventListener("click", (event) => {
  const row = event.target.closest("table.rows-nav tbody > tr[data-href]");
  if (row && !event.target.closest("a, button, input, select, summary")) location.hash = row.dataset.href;
});

document.getElementById("forget-token").addEventListener("click", (event) => {
  forgetToken();
  event.target.hidden = true;
  route();
});

document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault(); // the hash holds the route: focus the content instead of jumping to #main
  main.focus();
});

window.addEventListener("hashchange", route);
route();
