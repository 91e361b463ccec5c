#!/usr/bin/env bash
# Prints what the last CTest run skipped (the "[merc]" lines each test executable prints at its
# end, tests/support/test_main.cpp), so that a skipped test is counted where `make test` ends.
# Usage: scripts/test_summary.sh BUILD_DIR
set -uo pipefail
log="${1:?usage: test_summary.sh BUILD_DIR}/Testing/Temporary/LastTest.log"
[[ -f "$log" ]] || exit 0
skipped=$(grep -h '^\[merc\] .* test(s) SKIPPED' "$log" | awk '{s += $2} END {print s + 0}')
if [[ "$skipped" -gt 0 ]]; then
  echo "================================================================"
  echo "merc: $skipped test(s) SKIPPED (CI=true makes a missing prerequisite a failure):"
  grep -h '^\[merc\]   ' "$log" | sed 's/^\[merc\]  /  /'
  echo "================================================================"
else
  echo "merc: no test skipped"
fi
