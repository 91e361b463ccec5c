#!/usr/bin/env python3
"""Prints the Markdown tables of docs/results.md from runs/results/*/results.json
(written by scripts/results.sh). Usage: scripts/results_tables.py [RESULTS_DIR]"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "runs/results"


def load(name):
    path = os.path.join(root, name, "results.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cell(row, metric, scale=1.0, digits=2):
    mean, std = row["mean"].get(metric), row["std"].get(metric)
    if mean is None:
        return "-"
    if row["runs"] > 1:
        return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f}"


def table(name, metrics, title):
    r = load(name)
    if r is None:
        print(f"({name}: not run)\n")
        return
    print(f"**{title}** (selection: {r['selection'].split(' (')[0]}; `{root}/{name}`)\n")
    print("| protocol | runs | " + " | ".join(m for m, _ in metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for row in r["summary"]:
        vals = [cell(row, m, 1.0, d) for m, d in metrics]
        print(f"| {row['group']} | {row['runs']} | " + " | ".join(vals) + " |")
    print()


cls = [("accuracy", 2), ("weighted_f1", 2), ("macro_f1", 2), ("ua", 2)]
reg = [("acc2", 2), ("f1", 2), ("mae", 3), ("corr", 3), ("acc7", 2)]
table("mosi_poria_bc_lstm", cls, "bc_lstm, MOSI poria split, binary, validation selection, 3 seeds")
table("mosi_poria_bc_lstm_testmax", cls, "bc_lstm, MOSI poria split, binary, TEST-MAX selection (published protocol), 3 seeds")
for m in ["mlp", "bc_lstm"]:
    table(f"mosi_poria_sweep_{m}", cls, f"{m}, MOSI poria split, binary, random missing rate (train = test)")
for m in ["mlp", "dialogue_gcn", "bc_lstm"]:
    table(f"mosi_sweep_{m}", reg, f"{m}, MOSI standard split (contaminated test, see text), regression, random missing rate")
for m in ["mlp", "dialogue_gcn", "bc_lstm"]:
    table(f"meld_{m}", cls, f"{m}, MELD transcripts (dev as test)")
