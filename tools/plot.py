#!/usr/bin/python3
"""Plots for cardsim reports and sweep results (matplotlib, Agg backend).

  plot.py REPORT.json -o DIR   -> DIR/layers.{png,svg} (per-layer cycles, coloured by bound),
                                  DIR/roofline.{png,svg} (every layer on the card's roofline),
                                  DIR/energy.{png,svg} (energy by component)
  plot.py TRACE.json -o DIR    -> DIR/trace.{png,svg} (timeline of a --trace file, a row per track)
  plot.py RESULTS.csv -o DIR   -> DIR/pareto.{png,svg} (scatter, Pareto front highlighted),
                                  DIR/trend-<axis>.{png,svg} (each metric against each swept axis)
"""
import argparse
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BOUND_COLOURS = {"compute": "#4C72B0", "dram": "#DD8452", "sram": "#55A868", "pcie": "#C44E52",
                 "sync": "#8172B3", "host": "#937860", "vector": "#64B5CD"}


def save(fig, out_dir, name):
    for ext in ("png", "svg"):
        # Fixed metadata so the same input gives byte-identical SVGs.
        meta = {"Date": None} if ext == "svg" else {"Software": "cardsim"}
        fig.savefig(os.path.join(out_dir, f"{name}.{ext}"), dpi=120, bbox_inches="tight", metadata=meta)
    plt.close(fig)


def plot_report(report, out_dir):
    layers = report.get("layers", [])
    if not layers:
        sys.exit("plot.py: the report has no layers")
    names = [l["name"] for l in layers]
    cycles = [l.get("cycles", 0) for l in layers]
    bounds = [l.get("bound", "compute") for l in layers]

    fig, ax = plt.subplots(figsize=(max(8, len(layers) * 0.12), 4.5))
    ax.bar(range(len(layers)), cycles, color=[BOUND_COLOURS.get(b, "#999999") for b in bounds], width=0.85)
    ax.set_xlabel("layer")
    ax.set_ylabel("cycles")
    ax.set_title(f"Per-layer cycles — {os.path.basename(os.path.dirname(report.get('model', '')))} on {report.get('config', {}).get('name', '')}")
    if len(layers) <= 60:
        ax.set_xticks(range(len(layers)))
        ax.set_xticklabels(names, rotation=90, fontsize=6)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for b, c in BOUND_COLOURS.items() if b in bounds]
    ax.legend(handles, [b for b in BOUND_COLOURS if b in bounds], title="bound by", fontsize=8)
    save(fig, out_dir, "layers")

    total = report.get("total", {})
    peak_ops = float(total.get("peak_tops", 0)) * 1e12  # 2 ops per MAC, like the achieved figures below
    peak_bw = float(report.get("bandwidth", {}).get("dram", {}).get("peak_gbps", 0)) * 1e9
    if not peak_bw:
        peak_bw = float(total.get("dram_peak_gbps", 0)) * 1e9
    clock_hz = float(report.get("config", {}).get("clock_ghz", 1.0)) * 1e9
    fig, ax = plt.subplots(figsize=(7, 5))
    pts = []
    for l in layers:
        macs = l.get("macs", 0)
        byts = l.get("dram_read_bytes", 0) + l.get("dram_write_bytes", 0)
        cyc = l.get("cycles", 0)
        if macs <= 0 or cyc <= 0:
            continue
        intensity = 2 * macs / max(byts, 1)
        perf = 2 * macs / (cyc / clock_hz)
        pts.append((intensity, perf, l.get("bound", "compute")))
    if pts:
        xs = [p[0] for p in pts]
        lo, hi = min(xs) / 2, max(xs) * 2
        if peak_bw and peak_ops:
            grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
            ax.plot(grid, [min(peak_ops, peak_bw * x) for x in grid], color="black", lw=1.5, label="roofline")
        for b in sorted(set(p[2] for p in pts)):
            sel = [p for p in pts if p[2] == b]
            ax.scatter([p[0] for p in sel], [p[1] for p in sel], s=14, color=BOUND_COLOURS.get(b, "#999"), label=b)
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (ops / DRAM byte)")
    ax.set_ylabel("achieved ops / s")
    ax.set_title("Roofline: every layer")
    ax.legend(fontsize=8)
    save(fig, out_dir, "roofline")

    comp = report.get("energy", {}).get("by_component", {})
    fig, ax = plt.subplots(figsize=(7, 4))
    comp = {k: (v.get("energy_j", 0) if isinstance(v, dict) else v) for k, v in comp.items()}
    items = sorted(((k, v) for k, v in comp.items() if v > 0), key=lambda kv: -kv[1])
    ax.barh([k for k, _ in items][::-1], [v * 1e3 for _, v in items][::-1], color="#4C72B0")
    ax.set_xlabel("energy (mJ)")
    ax.set_title(f"Energy by component — total {report.get('total', {}).get('energy_j', 0) * 1e3:.3f} mJ")
    save(fig, out_dir, "energy")


def plot_trace(trace, out_dir, max_us=None):
    """Timeline of a cardsim Chrome/Perfetto trace: one row per track (engine queue, PCIe
    direction, DRAM channel), a bar per span coloured by opcode or layer, as a viewer shows it."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names, procs = {}, {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
        if e.get("ph") == "M" and e.get("name") == "process_name":
            procs[e["pid"]] = e["args"]["name"]
    spans = [e for e in events if e.get("ph") == "X"]
    if not spans:
        sys.exit("plot.py: the trace has no spans")
    tracks = sorted({(e["pid"], e["tid"]) for e in spans})
    row = {t: i for i, t in enumerate(tracks)}
    keys = sorted({e["name"] for e in spans})
    colour = {k: f"C{i % 10}" for i, k in enumerate(keys)}
    t0 = min(e["ts"] for e in spans)
    fig, ax = plt.subplots(figsize=(12, 0.45 * len(tracks) + 1.5))
    for k in keys:
        sel = [e for e in spans if e["name"] == k and (max_us is None or e["ts"] - t0 <= max_us)]
        for e in sel:
            ax.broken_barh([(e["ts"] - t0, max(e.get("dur", 0), 1e-3))], (row[(e["pid"], e["tid"])] - 0.4, 0.8),
                           color=colour[k], linewidth=0)
    ax.set_yticks(range(len(tracks)))
    ax.set_yticklabels([f"{procs.get(p, p)}/{names.get((p, t), t)}" for p, t in tracks], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time (us)")
    ax.set_title("Trace timeline (one row per track)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[k]) for k in keys[:12]]
    ax.legend(handles, keys[:12], fontsize=7, loc="upper right", ncol=2)
    save(fig, out_dir, "trace")


def as_float(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return math.nan


def plot_sweep(rows, header, out_dir, minimize):
    objs = [m for m in minimize.split(",") if m]
    if len(objs) < 2 or any(o not in header for o in objs[:2]):
        sys.exit(f"plot.py: sweep plots need two metric columns to minimise among {header}")
    x_col, y_col = objs[0], objs[1]
    ok = [r for r in rows if r.get("status") == "ok"]
    pts = [(as_float(r[x_col]), as_float(r[y_col]), r) for r in ok]
    pts = [p for p in pts if not (math.isnan(p[0]) or math.isnan(p[1]))]
    front = [p for p in pts if not any(q[0] <= p[0] and q[1] <= p[1] and (q[0] < p[0] or q[1] < p[1]) for q in pts)]
    fig, ax = plt.subplots(figsize=(7, 5))
    nets = sorted(set(p[2]["network"] for p in pts))
    for i, n in enumerate(nets):
        sel = [p for p in pts if p[2]["network"] == n]
        ax.scatter([p[0] for p in sel], [p[1] for p in sel], s=16, alpha=0.6, label=n, color=f"C{i}")
    front.sort()
    ax.plot([p[0] for p in front], [p[1] for p in front], "k-o", ms=5, lw=1.2, label="Pareto front")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(x_col)
    ax.set_ylabel(y_col)
    ax.legend(fontsize=8)
    ax.set_title("Design points")
    save(fig, out_dir, "pareto")

    fixed = {"id", "network", "precision", "status", "error"}
    report_sections = ("total.", "engines.", "energy.", "bandwidth.", "latency_histograms.")
    metrics = [h for h in header if h.startswith(report_sections)]
    axes = [h for h in header if h not in fixed and h not in metrics]
    for axis in axes:
        vals = sorted(set(r[axis] for r in ok), key=lambda v: (as_float(v), v))
        if len(vals) < 2:
            continue
        fig, subs = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.6), squeeze=False)
        for m, sub in zip(metrics, subs[0]):
            for i, n in enumerate(nets):
                for prec in sorted(set(r["precision"] for r in ok)):
                    sel = [r for r in ok if r["network"] == n and r["precision"] == prec]
                    # Average over the other axes at each value of this axis.
                    ys = []
                    for v in vals:
                        g = [as_float(r[m]) for r in sel if r[axis] == v]
                        g = [x for x in g if not math.isnan(x)]
                        ys.append(sum(g) / len(g) if g else math.nan)
                    sub.plot(range(len(vals)), ys, "-o", ms=3, color=f"C{i}", label=f"{n} {prec}")
            sub.set_xticks(range(len(vals)))
            sub.set_xticklabels(vals, rotation=45, fontsize=7)
            sub.set_yscale("log")
            sub.set_title(m, fontsize=9)
            sub.set_xlabel(axis)
        subs[0][0].legend(fontsize=7)
        save(fig, out_dir, f"trend-{axis.replace('/', '_')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--minimize", default="total.latency_s,total.energy_j")
    a = ap.parse_args()
    plt.rcParams["svg.hashsalt"] = "cardsim"
    os.makedirs(a.output, exist_ok=True)
    if a.input.endswith(".json"):
        with open(a.input) as f:
            doc = json.load(f)
        if isinstance(doc, list) or "traceEvents" in doc:
            plot_trace(doc, a.output)
        else:
            plot_report(doc, a.output)
    elif a.input.endswith(".csv"):
        with open(a.input, newline="") as f:
            reader = csv.DictReader(f)
            plot_sweep(list(reader), reader.fieldnames or [], a.output, a.minimize)
    else:
        sys.exit(f"plot.py: {a.input}: expected a report .json or a results .csv")
    print(f"plots written to {a.output}")


if __name__ == "__main__":
    main()
