#!/usr/bin/env python3
"""Prints the CADGL tables of docs/results.md (issue 15) from the runs of scripts/results.sh
cadgl_mosi / cadgl_ablations / cadgl_weights: per model, CADGL's scenario summary (complete,
1 missing, 2 missing, average; `merc eval --scenarios --json` saved as scenarios.json in each run)
as mean ± population std over seeds, and the loss-weight search on validation.
Usage: scripts/cadgl_tables.py [RESULTS_DIR]"""
import glob
import json
import os
import statistics
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "runs/results"
GROUPS = ["complete", "1 missing", "2 missing", "average"]
METRICS = {"regression": ["acc2", "f1", "mae", "corr"], "classification": ["accuracy", "weighted_f1", "macro_f1"]}


def runs(sweep):
    out = []
    for path in sorted(glob.glob(os.path.join(root, sweep, "*", "seed-*", "scenarios.json"))):
        with open(path) as f:
            out.append(json.load(f))
    return out


def cell(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.pstdev(values):.2f}"


def scenario_table(title, sweeps):
    """sweeps: [(row label, sweep dir)]; one row per (label, group)."""
    loaded = [(label, runs(d)) for label, d in sweeps]
    loaded = [(label, r) for label, r in loaded if r]
    if not loaded:
        print(f"({title}: not run)\n")
        return
    metrics = [m for m in METRICS["regression"] if m in loaded[0][1][0]["scenarios"]["summary"]["complete"]["metrics"]]
    if not metrics:
        metrics = METRICS["classification"]
    print(f"**{title}**\n")
    print("| model | seeds | scenarios | " + " | ".join(metrics) + " |")
    print("|---|---|---|" + "---|" * len(metrics))
    for label, rs in loaded:
        for g in GROUPS:
            vals = [cell([r["scenarios"]["summary"][g]["metrics"].get(m) for r in rs]) for m in metrics]
            print(f"| {label} | {len(rs)} | {rs[0]['scenarios']['summary'][g]['label']} | " + " | ".join(vals) + " |")
    print()


def weights_table():
    paths = sorted(glob.glob(os.path.join(root, "cadgl_weights", "*", "metrics.json")))
    if not paths:
        print("(cadgl_weights: not run)\n")
        return
    print("**CADGL loss weights, MOSI standard split, seed 1, validation under random:0.3**\n")
    print("| recon | align | consist | best epoch | valid MAE | valid corr | valid acc2 |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for p in paths:
        name = os.path.basename(os.path.dirname(p))
        r, a, c = (part.lstrip("reconaligst") for part in name.split("-"))
        with open(p) as f:
            m = json.load(f)
        rows.append((m["valid"]["mae"], r, a, c, m["best_epoch"], m["valid"]["corr"], m["valid"]["acc2"]))
    for mae, r, a, c, e, corr, acc in sorted(rows):
        print(f"| {r} | {a} | {c} | {e} | {mae:.4f} | {corr:.4f} | {acc:.2f} |")
    print()


models = ["cadgl", "bc_lstm", "gcnet", "momke", "comp"]
weights_table()
for split, title in [("standard", "MOSI standard split, regression"), ("poria", "MOSI Poria split, binary classification")]:
    scenario_table(f"CADGL vs baselines, {title}, trained under random:0.3, validation selection",
                   [(m, f"cadgl_cmp_{split}_{m}") for m in models])
ablations = ["discrete_steps", "imagination", "availability", "keywords", "align", "consist"]
scenario_table("CADGL ablations, MOSI standard split (random:0.3, validation selection)",
               [("cadgl (full)", "cadgl_cmp_standard_cadgl")] + [(f"no {a}" if a != "discrete_steps" else "no ODE (4 Euler layers)",
                                                                  f"cadgl_ablation_{a}") for a in ablations])
