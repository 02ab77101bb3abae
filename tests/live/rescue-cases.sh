#!/usr/bin/env bash
# usage: rescue-cases.sh SOURCE_DEV OUT_DIR SECTOR FILE
#
# Runs INSIDE the live system, on a source disk whose SECTOR (512-byte units from the disk's start) QEMU's blkdebug
# driver fails with EIO on every read; FILE is the ext4 file (path inside partition 2) that holds that sector. Checks
# that a plain capture stops at the sector with the advice to use --rescue and keeps no image, that a rescue capture
# finishes, and that info lists the unreadable range and names FILE.
#
# Each case appends "ok CASE" or "fail CASE: reason" to OUT_DIR/rescue-cases.result (started afresh); every command
# and its output go to OUT_DIR/rescue-cases.log. Exits 0 only when every case passed.
set -uo pipefail

if [ $# -ne 4 ]; then
  sed -n 2p "$0" >&2
  exit 2
fi
source_dev=$1
out=$2
sector=$3
file=$4

mkdir -p "$out"
result=$out/rescue-cases.result
log=$out/rescue-cases.log
: >"$result"
: >"$log"
failures=0

ok() { echo "ok $1" >>"$result"; }
fail() { echo "fail $1: $2" >>"$result"; failures=$((failures + 1)); }

# run NAME COMMAND...: runs COMMAND (at most 10 minutes) with its output in the log and in $output; sets $rc.
run() {
  local name=$1
  shift
  echo "=== $name: $*" >>"$log"
  rc=0
  output=$(timeout 600 "$@" 2>&1) || rc=$?
  printf '%s\n(exit %s)\n' "$output" "$rc" >>"$log"
}

run "plain capture" liveimager capture "$source_dev" "$out/plain.lim"
if [ "$rc" -eq 1 ] && grep -q "sector $sector" <<<"$output" && grep -q -- "--rescue" <<<"$output"; then
  ok "a plain capture stops at sector $sector with the advice to use --rescue"
else
  fail "plain capture" "exit $rc, expected 1 naming sector $sector and --rescue"
fi
if ls "$out"/plain.lim* >/dev/null 2>&1; then fail "plain capture" "left $(ls "$out"/plain.lim*)"; else ok "a stopped capture keeps no image"; fi

run "rescue capture" liveimager capture --rescue "$source_dev" "$out/rescue.lim"
if [ "$rc" -eq 0 ] && [ -s "$out/rescue.lim" ]; then ok "a rescue capture finishes"; else fail "rescue capture" "exit $rc"; fi

run "info" liveimager info "$out/rescue.lim"
if grep -q "(sector $sector" <<<"$output"; then ok "info lists the unreadable sector $sector"; else fail "info" "no unreadable range at sector $sector"; fi
if grep -q "lost file: .*$file" <<<"$output"; then ok "info names the lost file $file"; else fail "info" "does not name $file"; fi

run "verify" liveimager verify "$out/rescue.lim"
if [ "$rc" -eq 0 ] && grep -qi "unreadable" <<<"$output"; then ok "verify passes and reports the unreadable range"; else fail "verify" "exit $rc"; fi

echo "cases: $(grep -c '^ok' "$result") ok, $failures failed" >>"$log"
[ "$failures" -eq 0 ]
