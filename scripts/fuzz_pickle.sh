#!/usr/bin/env bash
# Builds merc_pickle_fuzzer (clang, libFuzzer + ASan + UBSan) in build-fuzz/ and fuzzes the pickle
# reader for SECONDS seconds. New corpus entries go to $FUZZ_SCRATCH/corpus (default
# fuzz/corpus-work/, git-ignored), crash/leak/timeout reproducers to $FUZZ_SCRATCH/artifacts/.
# The committed seeds in fuzz/corpus/pickle/ are read, never written.
#
#   scripts/fuzz_pickle.sh 60                      # one minute
#   scripts/fuzz_pickle.sh 1900 -jobs=1 -workers=1 # extra args go to libFuzzer
#   build-fuzz/fuzz/merc_pickle_fuzzer crash-...   # re-run one reproducer
set -euo pipefail
secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
scratch=${FUZZ_SCRATCH:-$root/fuzz/corpus-work}
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
cc=${CC_FUZZ:-$(command -v clang-14 || command -v clang)}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
  -DMERC_BUILD_FUZZERS=ON -DMERC_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target merc_pickle_fuzzer -j2

mkdir -p "$scratch/corpus" "$scratch/artifacts"
exec "$build/fuzz/merc_pickle_fuzzer" "$scratch/corpus" "$root/fuzz/corpus/pickle" \
  -dict="$root/fuzz/pickle.dict" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" "$@"
