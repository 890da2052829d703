// A small SVG line chart: time on x, one line per series, shaded bands (the tasks) behind the lines,
// and a readout of the nearest samples under the pointer. Written here rather than vendored: four
// line charts are ~150 lines, and SVG keeps every mark in the DOM (inspectable, testable, escaped).

import { format, h, svg } from "./dom.js";

const WIDTH = 760;
const HEIGHT = 190;
const MARGIN = { left: 58, right: 12, top: 10, bottom: 26 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const MAX_MARKERS = 150;
const AXIS = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 }); // the unit is in the title // sample dots per series; beyond that the line alone

/** The smallest "nice" number (1, 2, 5 × 10^k) × 4 ticks covering max. */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return step * 4;
}

/**
 * series: [{label, points: [[t_ms, value or null], ...]}] sorted by time; bands: [{start, end, label, ok}];
 * start/end: the time axis in ms; kind: the value format (dom.js FORMATS).
 */
export function lineChart({ id, title, kind, series, bands = [], start, end, yMax = null }) {
  const span = Math.max(end - start, 1);
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter((v) => typeof v === "number"));
  const top = niceMax(Math.max(yMax ?? 0, ...values, 0));
  const x = (t) => MARGIN.left + ((t - start) / span) * PLOT_W;
  const y = (v) => MARGIN.top + PLOT_H - (v / top) * PLOT_H;

  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img", "aria-label": `${title} over time` });
  const grid = svg("g", { class: "grid" });
  for (let i = 0; i <= 4; i += 1) {
    const value = (top / 4) * i;
    grid.append(svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, AXIS.format(value)));
  }
  for (let i = 0; i <= 5; i += 1) {
    const t = start + (span / 5) * i;
    grid.append(svg("text", { x: x(t), y: HEIGHT - 8, "text-anchor": i === 0 ? "start" : i === 5 ? "end" : "middle" },
      `${((t - start) / 1000).toFixed(span < 10000 ? 2 : 1)} s`));
  }
  chart.append(grid);

  const bandLayer = svg("g", { class: "bands" });
  for (const band of bands) {
    const left = x(Math.max(band.start, start));
    const right = x(Math.min(band.end, end));
    bandLayer.append(svg("rect", { x: left, y: MARGIN.top, width: Math.max(right - left, 1), height: PLOT_H,
      class: `band ${band.ok ? "ok" : "failed"}`, "data-task": band.label },
    svg("title", {}, `${band.label} (${band.ok ? "succeeded" : "failed"})`)));
  }
  chart.append(bandLayer);

  series.forEach((s, index) => {
    let d = "";
    let pen = false;
    for (const [t, v] of s.points) {
      if (typeof v !== "number") {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x(t).toFixed(2)},${y(v).toFixed(2)}`;
      pen = true;
    }
    const group = svg("g", { class: `series series-${index % 8}`, "data-series": s.label });
    if (d) group.append(svg("path", { d }));
    if (s.points.length <= MAX_MARKERS) {
      for (const [t, v] of s.points) {
        if (typeof v === "number") group.append(svg("circle", { cx: x(t).toFixed(2), cy: y(v).toFixed(2), r: 2.5 }));
      }
    }
    chart.append(group);
  });

  const cursor = svg("line", { class: "cursor", y1: MARGIN.top, y2: MARGIN.top + PLOT_H, visibility: "hidden" });
  chart.append(cursor);
  const readout = h("p", { class: "readout", "aria-hidden": "true", text: "\u00a0" });
  chart.addEventListener("mousemove", (event) => {
    const box = chart.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * WIDTH;
    const t = start + ((px - MARGIN.left) / PLOT_W) * span;
    const parts = [];
    let at = null;
    for (const s of series) {
      const nearest = nearestPoint(s.points, t);
      if (!nearest) continue;
      at = at ?? nearest[0];
      parts.push(`${s.label}: ${format(kind, nearest[1])}`);
    }
    if (at === null) return;
    cursor.setAttribute("x1", x(at));
    cursor.setAttribute("x2", x(at));
    cursor.setAttribute("visibility", "visible");
    readout.textContent = `${((at - start) / 1000).toFixed(1)} s · ${parts.join(" · ")}`;
  });
  chart.addEventListener("mouseleave", () => cursor.setAttribute("visibility", "hidden"));

  const legend = h("ul", { class: "legend" }, series.map((s, index) =>
    h("li", { class: `series-${index % 8}` }, h("span", { class: "swatch", "aria-hidden": "true" }), s.label)));
  return h("figure", { id, class: "chart-box" }, h("figcaption", { text: title }), chart, legend, readout);
}

function nearestPoint(points, t) {
  let best = null;
  for (const point of points) {
    if (best === null || Math.abs(point[0] - t) < Math.abs(best[0] - t)) best = point;
  }
  return best;
}
