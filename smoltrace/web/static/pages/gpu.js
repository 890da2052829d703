// GPU: the run's GPU samples over time (utilization, memory, power, temperature), one line per GPU,
// with each task execution as a band (green succeeded, red failed) so that load lines up with work.

import { queryAll } from "../api.js";
import { h, message, pageHref, section } from "../dom.js";
import { lineChart } from "../charts.js";
import { DataTable } from "../table.js";

export const CHARTS = [
  { id: "chart-utilization", column: "gpu_utilization_percent", title: "Utilization (%)", kind: "pct", yMax: 100 },
  { id: "chart-memory", column: "gpu_memory_used_mib", title: "Memory used (MiB)", kind: "mib", yMaxColumn: "gpu_memory_total_mib" },
  { id: "chart-power", column: "gpu_power_watts", title: "Power (W)", kind: "watts" },
  { id: "chart-temperature", column: "gpu_temperature_celsius", title: "Temperature (°C)", kind: "celsius" },
];

export const GPU_COLUMNS = [
  { name: "gpu_index", label: "GPU", kind: "int" },
  { name: "gpu_name", label: "Name", kind: "text" },
  { name: "samples", label: "Samples", kind: "int" },
  { name: "avg_gpu_utilization_percent", label: "Avg utilization", kind: "pct" },
  { name: "max_gpu_utilization_percent", label: "Max utilization", kind: "pct" },
  { name: "max_gpu_memory_used_mib", label: "Max memory", kind: "mib" },
  { name: "gpu_memory_total_mib", label: "Memory", kind: "mib" },
  { name: "avg_gpu_power_watts", label: "Avg power", kind: "watts" },
  { name: "max_gpu_power_watts", label: "Max power", kind: "watts" },
  { name: "max_gpu_temperature_celsius", label: "Max temperature", kind: "celsius" },
  { name: "gpu_energy_wh", label: "Energy", kind: "wh" },
];

export const SAMPLE_COLUMNS = [
  { name: "timestamp", label: "Time (UTC)", kind: "text" },
  { name: "gpu_index", label: "GPU", kind: "int" },
  { name: "gpu_utilization_percent", label: "Utilization", kind: "pct" },
  { name: "gpu_memory_used_mib", label: "Memory used", kind: "mib" },
  { name: "gpu_memory_total_mib", label: "Memory total", kind: "mib" },
  { name: "gpu_power_watts", label: "Power", kind: "watts" },
  { name: "gpu_temperature_celsius", label: "Temperature", kind: "celsius" },
  { name: "gpu_energy_wh", label: "Energy (cumulative)", kind: "wh" },
];

export async function render(ctx) {
  const runId = ctx.id;
  const params = { run_id: runId };
  const data = await queryAll({ samples: ["gpu_samples", params], gpus: ["gpu_per_gpu", params], tasks: ["gpu_tasks", params] });
  if (!ctx.alive()) return;
  ctx.main.append(h("h1", {}, "GPU · run ", h("a", { href: pageHref("run", runId), class: "mono", text: runId })));
  if (!data.samples.length) {
    ctx.main.append(message("No GPU samples for this run (an API model, or no NVIDIA GPU where it ran)."));
    return;
  }
  const gpus = new DataTable({ id: "gpu-summary", columns: GPU_COLUMNS, key: (r) => r.gpu_index });
  gpus.update(data.gpus);
  ctx.main.append(section("GPUs", h("div", { class: "scroll" }, gpus.element)));

  const times = [...data.samples.map((s) => s.t_ms), ...data.tasks.flatMap((t) => [t.start_ms, t.start_ms + t.execution_time_ms])];
  const start = Math.min(...times);
  const end = Math.max(...times);
  const bands = data.tasks.map((t) => ({ start: t.start_ms, end: t.start_ms + t.execution_time_ms, label: t.task_uid, ok: t.success }));
  const byGpu = new Map();
  for (const sample of data.samples) {
    if (!byGpu.has(sample.gpu_index)) byGpu.set(sample.gpu_index, []);
    byGpu.get(sample.gpu_index).push(sample);
  }
  const charts = h("div", { class: "charts" });
  for (const chart of CHARTS) {
    const series = [...byGpu.entries()].map(([index, samples]) => ({
      label: `GPU ${index}`,
      points: samples.map((s) => [s.t_ms, s[chart.column]]),
    }));
    const yMax = chart.yMaxColumn ? Math.max(0, ...data.samples.map((s) => s[chart.yMaxColumn] ?? 0)) : chart.yMax;
    charts.append(lineChart({ id: chart.id, title: chart.title, kind: chart.kind, series, bands, start, end, yMax }));
  }
  ctx.main.append(section("Over time", h("p", { class: "legend" },
    h("span", { class: "band-key ok", "aria-hidden": "true" }), " task succeeded · ",
    h("span", { class: "band-key failed", "aria-hidden": "true" }), ` task failed · ${data.tasks.length} tasks`), charts));

  // every sample, as a table drawn when opened (a long run has thousands)
  const details = h("details", { id: "gpu-samples" }, h("summary", { text: `All ${data.samples.length} samples` }));
  details.addEventListener("toggle", () => {
    if (!details.open || details.querySelector("table")) return;
    const table = new DataTable({ id: "gpu-samples-table", columns: SAMPLE_COLUMNS, key: (r) => `${r.timestamp}|${r.gpu_index}` });
    table.update(data.samples);
    details.append(h("div", { class: "scroll" }, table.element));
  });
  ctx.main.append(section("Samples", details));
}
