#!/usr/bin/env bash
# Builds and runs one of the torch.save reader's libFuzzer targets (clang, ASan + UBSan) in
# build-fuzz/ for SECONDS seconds:
#   scripts/fuzz_torch.sh ckpt 1900     # whole files: zip and legacy containers
#   scripts/fuzz_torch.sh pickle 1900   # torch's data.pkl with persistent ids
# New corpus entries go to $FUZZ_SCRATCH/<target>/corpus (default fuzz/corpus-work/, git-ignored),
# reproducers to $FUZZ_SCRATCH/<target>/artifacts/. Committed seeds (fuzz/corpus/torch_<target>/) are
# read, never written. Extra arguments go to libFuzzer.
set -euo pipefail
which=${1:?usage: fuzz_torch.sh ckpt|pickle [SECONDS] [libFuzzer args]}
secs=${2:-60}
shift 2 || shift $#
case "$which" in ckpt|pickle) ;; *) echo "target must be ckpt or pickle" >&2; exit 2 ;; esac
target=merc_torch_${which}_fuzzer
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
scratch=${FUZZ_SCRATCH:-$root/fuzz/corpus-work}/$which
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
cc=${CC_FUZZ:-$(command -v clang-14 || command -v clang)}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
  -DMERC_BUILD_FUZZERS=ON -DMERC_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target "$target" -j2

mkdir -p "$scratch/corpus" "$scratch/artifacts"
exec "$build/fuzz/$target" "$scratch/corpus" "$root/fuzz/corpus/torch_$which" \
  -dict="$root/fuzz/pickle.dict" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" "$@"
