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


def runs_of(name):
    """{protocol: [test metrics of each finished seed]} from the run directories themselves, so a
    sweep that is still running (or was stopped) shows what has finished."""
    base = os.path.join(root, name)
    out = {}
    if not os.path.isdir(base):
        return out
    for proto in sorted(os.listdir(base)):
        pdir = os.path.join(base, proto)
        if not os.path.isdir(pdir):
            continue
        for seed in sorted(os.listdir(pdir)):
            m = os.path.join(pdir, seed, "metrics.json")
            if os.path.exists(m):
                with open(m) as f:
                    j = json.load(f)
                out.setdefault(j["protocol"]["test"], []).append(j["test"])
    return out


def mean_std(values):
    n = len(values)
    mu = sum(values) / n
    return mu, (sum((v - mu) ** 2 for v in values) / n) ** 0.5  # population std, as the sweep runner


def run_table(name, metrics, title):
    r = runs_of(name)
    if not r:
        print(f"({name}: not run)\n")
        return
    print(f"**{title}** (validation selection; `{root}/{name}`)\n")
    print("| protocol | seeds | " + " | ".join(m for m, _ in metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    key = lambda p: float(p.split(":")[1]) if ":" in p else -1.0
    for proto in sorted(r, key=key):
        rows = r[proto]
        vals = []
        for m, d in metrics:
            xs = [x[m] for x in rows if x.get(m) is not None]
            if not xs:
                vals.append("-")
                continue
            mu, sd = mean_std(xs)
            vals.append(f"{mu:.{d}f} ± {sd:.{d}f}" if len(xs) > 1 else f"{mu:.{d}f}")
        print(f"| {proto} | {len(rows)} | " + " | ".join(vals) + " |")
    print()


reg4 = [("acc2", 2), ("f1", 2), ("mae", 3), ("corr", 3), ("acc7", 2)]
for m in ["moed", "m3net", "graphsmile", "mmgcn"]:
    run_table(f"graph_mosi_{m}", reg4, f"{m}, MOSI standard split (contaminated test), regression, random missing rate")
for ds in ["meld", "emorynlp"]:
    for m in ["mlp", "moed", "m3net", "graphsmile", "mmgcn"]:
        run_table(f"text_{ds}_{m}", cls, f"{m}, {ds} transcripts (dev as test), text only")
# Issue 5 reports the IMER metrics as GCNet / MoMKE / ComP compute them: Acc-2, F1, MAE and Corr all
# on the utterances with a non-zero label (method_reference §2.2), plus Acc-7 over all.
imer = [("acc2", 2), ("f1", 2), ("mae_non0", 3), ("corr_non0", 3), ("acc7", 2)]
run_table("mosi_sweep_bc_lstm", imer, "bc_lstm, MOSI standard split (issue-5 baseline), random missing rate")
for m in ["gcnet", "momke", "comp"]:
    run_table(f"imer_mosi_{m}", imer, f"{m}, MOSI standard split (contaminated test), random missing rate")
