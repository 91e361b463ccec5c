#!/usr/bin/env python3
"""Prints the RoHyDR tables of docs/results.md (issue 16) from the runs of scripts/results.sh
rohydr_mosi / rohydr_ablations: per model and IMDer condition, the test metrics of the epoch
selected on validation (metrics.json), as mean ± population std over the seeds that finished.
Usage: scripts/rohydr_tables.py [RESULTS_DIR]"""
import glob
import json
import os
import statistics
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "runs/results"
CONDITIONS = ["complete"] + [f"imder-0.{i}" for i in range(1, 8)]
METRICS = ["acc2", "acc2_has0", "f1", "acc7", "mae", "corr"]
PERCENT = {"acc2", "acc2_has0", "f1", "acc7"}


def finished(sweep, condition):
    out = []
    for path in sorted(glob.glob(os.path.join(root, sweep, condition, "seed-*", "metrics.json"))):
        with open(path) as f:
            out.append(json.load(f))
    return out


def cell(values, metric):
    if not values:
        return "-"
    fmt = "{:.2f}" if metric in PERCENT else "{:.3f}"
    if len(values) == 1:
        return fmt.format(values[0])
    return (fmt + " ± " + fmt).format(statistics.mean(values), statistics.pstdev(values))


def table(title, sweeps):
    print(f"**{title}**\n")
    print("| model | condition | seeds | best epoch | " + " | ".join(METRICS) + " |")
    print("|" + "---|" * (4 + len(METRICS)))
    for label, sweep in sweeps:
        for cond in CONDITIONS:
            runs = finished(sweep, cond)
            if not runs:
                continue
            epochs = "/".join(str(r["best_epoch"]) for r in runs)
            cells = [cell([r["test"][m] for r in runs if m in r["test"]], m) for m in METRICS]
            print(f"| {label} | {cond.replace('-', ':')} | {len(runs)} | {epochs} | " + " | ".join(cells) + " |")
    print()


table("RoHyDR vs baselines, MOSI standard split, regression, IMDer protocol in training and test, validation selection",
      [(m, f"rohydr_cmp_{m}") for m in ["rohydr", "comp", "gcnet", "bc_lstm"]])
table("RoHyDR ablations (same protocol)",
      [("rohydr (full)", "rohydr_cmp_rohydr")] +
      [(name, f"rohydr_ablation_{name}") for name in ["generator_none", "adversarial_false", "generator_score_sde"]])
