#!/usr/bin/env bash
# The overhead table of docs/analysis/overhead.md: every registered model trained for one epoch on
# the embedded CMU-MOSI (standard split, its default config), then `merc eval --overhead --json` on
# its test partition (one dialogue per forward), formatted as a markdown table.
# Usage: scripts/overhead_table.sh [OUT_DIR] (default /tmp/merc_overhead); THREADS (default 1),
# REPEATS (default 10), MODELS (default: every model `merc list models` prints).
# One epoch of training is enough (two for ComP and MoMKE: one per stage, so that their final stage
# is the one measured): the cost of a forward does not depend on the weights' values
# (except an adaptive ODE solver's step count, CADGL). RoHyDR is trained and measured with the tiny
# settings of tests/app/rohydr_cli_test.cpp, two epochs (its full architecture samples 50 DDIM steps in
# every forward and takes far longer); its row says so.
set -euo pipefail
MERC=${MERC:-./build/merc}
OUT=${1:-/tmp/merc_overhead}
THREADS=${THREADS:-1}
REPEATS=${REPEATS:-10}
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
MODELS=${MODELS:-$("$MERC" list models | awk '/^[a-z]/ {print $1}')}
ROHYDR_TINY=(--set model.d_model=8 --set model.num_heads=2 --set model.layers=1 --set model.dit_hidden=8
  --set model.dit_depth=1 --set model.dit_heads=2 --set model.sampling_steps=3 --set model.rec_blocks=1
  --set model.rec_reduction=4 --set model.pretrain_epochs=1 --set train.epochs=2)
mkdir -p "$OUT"
for m in $MODELS; do
  extra=()
  [ "$m" = rohydr ] && extra=("${ROHYDR_TINY[@]}")
  # Two-stage models measure their final stage: one epoch of each.
  case "$m" in comp | momke) extra=(--set model.stage_epoch=1 --set train.epochs=2) ;; esac
  if [ ! -f "$OUT/$m/model.pt" ]; then
    rm -rf "${OUT:?}/$m"
    "$MERC" -q train --set model.name="$m" --set train.epochs=1 --set train.progress=none "${extra[@]}" \
      --threads "$THREADS" --out "$OUT/$m" > "$OUT/$m.train.log" 2>&1 || { echo "train $m failed" >&2; continue; }
  fi
  "$MERC" -q eval --run "$OUT/$m" --overhead --json --threads "$THREADS" --overhead-repeats "$REPEATS" \
    > "$OUT/$m.overhead.json" || echo "eval --overhead $m failed" >&2
done
/usr/bin/python3 - "$OUT" $MODELS <<'PY'
import json, os, sys
out, models = sys.argv[1], sys.argv[2:]
print("| model | params (trainable) | latency / dialogue ms, median (p95) | latency / utterance ms, median (p95) "
      "| peak RSS growth MiB | MMAC / utt. | MFLOP / utt. (2/MAC + elementwise) |")
print("|---|---|---|---|---|---|---|")
for m in models:
    path = os.path.join(out, m + ".overhead.json")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        print(f"| {m} | failed | | | | | |")
        continue
    j = json.load(open(path))
    p, lat, mem, fl = j["parameters"], j["latency"], j["memory"], j["flops"]
    name = m + (" (tiny settings)" if m == "rohydr" else "") + (f", stage {j['stage']}" if j["stage"] else "")
    d, u = lat["per_dialogue"], lat["per_utterance"]
    print(f"| {name} | {p['total']:,} ({p['trainable']:,}) | {d['median_ms']:.2f} ({d['p95_ms']:.2f}) "
          f"| {u['median_ms']:.3f} ({u['p95_ms']:.3f}) | {mem['growth_bytes'] / 2**20:.1f} "
          f"| {fl['macs_per_utterance'] / 1e6:.3f} | {fl['flops_per_utterance'] / 1e6:.3f} |")
s = json.load(open(os.path.join(out, models[0] + ".overhead.json")))["settings"] if models else {}
print(f"\nSettings: device {s.get('device')}, {s.get('threads')} thread(s), batch 1 dialogue, "
      f"{s.get('dialogues')} test dialogues ({s.get('utterances')} utterances), warm-up {s.get('warmup')}, "
      f"{s.get('repeats')} repeats.")
PY
