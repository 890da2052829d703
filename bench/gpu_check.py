"""Check the GPU sampler against nvidia-smi on a machine with a real NVIDIA GPU (about 30 s).

    python bench/gpu_check.py [--seconds 20] [--interval 1] [--no-load]

Runs the real sampler (NVML, background thread, OTLP/gRPC) into an embedded collector for ``--seconds``
while polling ``nvidia-smi --query-gpu=...`` at the same interval, then pairs every nvidia-smi reading
with the stored ``gpu_metrics`` row of the same GPU nearest in time and prints the differences:

- utilization %, memory used / total MiB, temperature °C and power W, per pair, against tolerances
  (NVML and nvidia-smi read the same counters, but not at the same instant: utilization and power are
  averages over a short window and move under load, so those pass when 80% of pairs are within
  tolerance; memory total must match on every pair);
- energy: the sampler's final cumulative energy per GPU against the trapezoid of nvidia-smi's power
  over the same time span. A ratio near 3.6 would be SMOLTRACE's kW·s-as-Wh error.

If PyTorch with CUDA is installed, a matmul load runs on every GPU through the middle of the window so
the numbers move (``--no-load`` to measure an idle GPU). Exit status: 0 PASS, 1 FAIL, 2 no GPU /
no nvidia-smi (printed as one clear line, never a traceback).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smoltrace.gpu import GpuSampler, gpu_metrics_available  # noqa: E402

SMI_FIELDS = "uuid,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw"

# metric: (gpu_metrics column, nvidia-smi field, unit, tolerance(smi value) -> allowed |diff|, share of pairs)
CHECKS = {
    "utilization": ("gpu_utilization_percent", "utilization.gpu", "%", lambda v: 10.0, 0.8),
    "memory used": ("gpu_memory_used_mib", "memory.used", "MiB", lambda v: max(64.0, 0.02 * v), 0.8),
    "memory total": ("gpu_memory_total_mib", "memory.total", "MiB", lambda v: 1.0, 1.0),
    "temperature": ("gpu_temperature_celsius", "temperature.gpu", "°C", lambda v: 3.0, 0.8),
    "power": ("gpu_power_watts", "power.draw", "W", lambda v: max(15.0, 0.10 * v), 0.8),
}
TOLERANCE_TEXT = {
    "utilization": "±10 pp", "memory used": "±max(64 MiB, 2%)", "memory total": "±1 MiB",
    "temperature": "±3 °C", "power": "±max(15 W, 10%)",
}  # fmt: skip
ENERGY_TOLERANCE = 0.15  # relative, or 50 J for a near-idle GPU


@dataclass
class SmiReading:
    time_ns: int
    values: dict[str, dict[str, float | None]]  # uuid -> field -> value


def _number(text: str) -> float | None:
    text = text.strip()
    try:
        return float(text)
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None


def read_nvidia_smi() -> SmiReading:
    """One nvidia-smi query; its time is the midpoint of the call."""
    before = time.time_ns()
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    after = time.time_ns()
    names = SMI_FIELDS.split(",")
    values = {}
    for line in out.strip().splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        values[cells[0]] = {name: _number(cell) for name, cell in zip(names[1:], cells[1:])}
    return SmiReading((before + after) // 2, values)


def start_load(stop: threading.Event, start_after_s: float, run_for_s: float) -> str:
    """Matmuls on every CUDA GPU from ``start_after_s`` for ``run_for_s``, if PyTorch has CUDA."""
    try:
        import torch
    except ImportError:
        return "no load (PyTorch not installed): idle GPU readings only"
    if not torch.cuda.is_available():
        return "no load (PyTorch has no CUDA): idle GPU readings only"

    def work(device: int) -> None:
        a = torch.randn(8192, 8192, device=f"cuda:{device}")
        if stop.wait(start_after_s):
            return
        deadline = time.monotonic() + run_for_s
        while time.monotonic() < deadline and not stop.is_set():
            a = (a @ a).clamp_(-1, 1)
            torch.cuda.synchronize(device)

    for device in range(torch.cuda.device_count()):
        threading.Thread(target=work, args=(device,), daemon=True).start()
    return f"matmul load on {torch.cuda.device_count()} GPU(s) from {start_after_s:.0f} s for {run_for_s:.0f} s"


def collect(seconds: float, interval: float, nvml, read_smi: Callable[[], SmiReading], load: bool, db_path: Path):
    """Sample for ``seconds`` and poll nvidia-smi alongside; return (gpu_metrics rows, smi readings, note)."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    from smoltrace.collector import Collector

    run_id = f"gpu-check-{uuid.uuid4().hex[:8]}"
    stop_load = threading.Event()
    note = start_load(stop_load, seconds / 4, seconds / 2) if load else "no load (--no-load)"
    smi: list[SmiReading] = []
    with Collector.embedded(db_path=db_path) as collector:
        exporter = OTLPMetricExporter(endpoint=collector.grpc_endpoint, insecure=True)
        sampler = GpuSampler(exporter, run_id, interval_s=interval, nvml=nvml)
        sampler.start()
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                smi.append(read_smi())
                time.sleep(interval)
        finally:
            stop_load.set()
            sampler.stop()
        cursor = collector.reader()
        result = cursor.execute(
            'SELECT *, epoch_ns("timestamp") AS t FROM gpu_metrics WHERE run_id = ? ORDER BY gpu_index, t', [run_id]
        )
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, row)) for row in result.fetchall()]
        summary = cursor.execute("SELECT * FROM gpu_run_summary WHERE run_id = ?", [run_id]).fetchall()
    note += f"; {sampler.samples_taken} samples, {sampler.export_failures} failed exports, {len(summary)} summary row"
    return rows, smi, note


def trapezoid_joules(points: list[tuple[int, float]]) -> float:
    """∫ P dt over (time ns, W) points, in J."""
    return sum((p0 + p1) / 2 * (t1 - t0) / 1e9 for (t0, p0), (t1, p1) in zip(points, points[1:]))


def interpolate(points: list[tuple[int, float]], t: int) -> float:
    """The value of a cumulative series at ``t`` (inside its span), linear between points."""
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def compare(rows: list[dict], smi: list[SmiReading], interval: float) -> tuple[list[list[str]], bool]:
    """Table rows and overall verdict."""
    table, ok = [], True
    by_gpu: dict[str, list[dict]] = {}
    for row in rows:
        by_gpu.setdefault(row["gpu_uuid"], []).append(row)
    if not by_gpu:
        return [["(no gpu_metrics rows stored)", "", "", "", "", "", "", "FAIL"]], False
    for gpu_uuid, gpu_rows in by_gpu.items():
        label = f"GPU {gpu_rows[0]['gpu_index']}"
        pairs = []
        for reading in smi:
            if gpu_uuid not in reading.values:
                continue
            nearest = min(gpu_rows, key=lambda r: abs(r["t"] - reading.time_ns))
            if abs(nearest["t"] - reading.time_ns) <= interval * 1e9:
                pairs.append((nearest, reading.values[gpu_uuid], abs(nearest["t"] - reading.time_ns) / 1e9))
        if not pairs:
            table.append([label, "pairing", "", "0", "", "", "no nvidia-smi reading near a sample", "FAIL"])
            ok = False
            continue
        for metric, (column, field, unit, tolerance, share) in CHECKS.items():
            diffs, within, mismatched_empty = [], 0, 0
            for row, values, _ in pairs:
                ours, theirs = row[column], values.get(field)
                if ours is None and theirs is None:  # e.g. no power sensor: empty on both sides agrees
                    within += 1
                    continue
                if ours is None or theirs is None:
                    mismatched_empty += 1
                    continue
                diffs.append(abs(ours - theirs))
                within += abs(ours - theirs) <= tolerance(theirs)
            passed = within >= share * len(pairs) and not mismatched_empty
            ok &= passed
            table.append([
                label, f"{metric} ({unit})", f"{within}/{len(pairs)}", f"{max(diffs):.2f}" if diffs else "-",
                f"{sum(diffs) / len(diffs):.2f}" if diffs else "-",
                f"{mismatched_empty}", f"{TOLERANCE_TEXT[metric]} on {share:.0%}", "PASS" if passed else "FAIL",
            ])  # fmt: skip
        # energy: the sampler's cumulative energy between the first and last nvidia-smi readings inside
        # its window (interpolated between samples) vs nvidia-smi's power integrated over the same span
        energy = [(r["t"], r["gpu_energy_wh"] * 3600) for r in gpu_rows if r["gpu_energy_wh"] is not None]
        smi_power = [(r.time_ns, r.values[gpu_uuid]["power.draw"]) for r in smi
                     if gpu_uuid in r.values and r.values[gpu_uuid]["power.draw"] is not None]  # fmt: skip
        if not energy and not smi_power:
            table.append([label, "energy (Wh)", "-", "-", "-", "0", "both empty (no power sensor)", "PASS"])
            continue
        window = [(t, p) for t, p in smi_power if energy and energy[0][0] <= t <= energy[-1][0]]
        if len(window) < 2:
            table.append([label, "energy (Wh)", "-", "-", "-", "1", "one side has no energy", "FAIL"])
            ok = False
            continue
        ours_j = interpolate(energy, window[-1][0]) - interpolate(energy, window[0][0])
        theirs_j = trapezoid_joules(window)
        diff = abs(ours_j - theirs_j)
        passed = diff <= max(50.0, ENERGY_TOLERANCE * theirs_j)
        ok &= passed
        ratio = f"ratio {ours_j / theirs_j:.3f}" if theirs_j else "smi energy 0"
        table.append([
            label, "energy (Wh)", "1/1" if passed else "0/1", f"{diff / 3600:.4f}", "-", "0",
            f"±max(50 J, 15%); ours {ours_j / 3600:.4f} vs smi {theirs_j / 3600:.4f} Wh, {ratio}",
            "PASS" if passed else "FAIL",
        ])  # fmt: skip
    return table, ok


def print_table(table: list[list[str]]) -> None:
    header = ["gpu", "metric", "within tol", "max |diff|", "mean |diff|", "empty mismatch", "tolerance", "result"]
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


def run_check(seconds: float = 20.0, interval: float = 1.0, *, load: bool = True, nvml=None,
              read_smi: Callable[[], SmiReading] = read_nvidia_smi, smi_required: bool = True) -> int:  # fmt: skip
    """The whole check; returns the exit status. ``nvml`` / ``read_smi`` are seams for a dry run."""
    available, reason = gpu_metrics_available(nvml)
    if not available:
        print(f"FAIL: no GPU metrics on this machine: {reason}")
        return 2
    if smi_required and shutil.which("nvidia-smi") is None:
        print("FAIL: nvidia-smi is not on PATH; it is the reference this check compares against")
        return 2
    print(f"GPU check: {reason}; sampling {seconds:.0f} s every {interval:g} s")
    with tempfile.TemporaryDirectory(prefix="smoltrace-gpu-check-") as tmp:
        try:
            rows, smi, note = collect(seconds, interval, nvml, read_smi, load, Path(tmp) / "gpu_check.duckdb")
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"FAIL: could not run the check: {exc}")
            return 2
    print(note)
    table, ok = compare(rows, smi, interval)
    print_table(table)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to sample (default 20)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples (default 1)")
    parser.add_argument("--no-load", action="store_true", help="do not put a matmul load on the GPUs")
    args = parser.parse_args()
    return run_check(args.seconds, args.interval, load=not args.no_load)


if __name__ == "__main__":
    sys.exit(main())
