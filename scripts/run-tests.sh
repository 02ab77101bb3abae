#!/usr/bin/env bash
# Runs every test project and ends with one line a CI reader can count: "N passed, N failed, N skipped".
set -uo pipefail
config=${1:-Release}
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The screen renderer (make screenshots) is not a test: its category is left out, so it is neither run nor counted.
dotnet test LiveImager.sln -c "$config" --filter "Category!=Screenshots" --logger "console;verbosity=normal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Each project ends with either "Passed!  - Failed: F, Passed: P, Skipped: S, ..." or, at normal verbosity, a block
# of lines "     Passed: P", "     Failed: F", "    Skipped: S".
read -r passed failed skipped < <(awk '
  /^(Passed|Failed)! +- / { match($0, /Failed: *[0-9]+/); f += substr($0, RSTART + 7, RLENGTH - 7) + 0
                            match($0, /Passed: *[0-9]+/); p += substr($0, RSTART + 7, RLENGTH - 7) + 0
                            match($0, /Skipped: *[0-9]+/); s += substr($0, RSTART + 8, RLENGTH - 8) + 0; next }
  /^ +Passed: +[0-9]+$/ { p += $2 } /^ +Failed: +[0-9]+$/ { f += $2 } /^ +Skipped: +[0-9]+$/ { s += $2 }
  END { print p + 0, f + 0, s + 0 }' "$log")
# The failures again at the end, with their first message line, so the tail of a long log names them.
if [ "$failed" -gt 0 ]; then
  echo
  echo "failed tests:"
  grep -E -A3 '^  Failed [A-Za-z_.]+' "$log" | grep -v '^--$' | cut -c1-300
fi
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
