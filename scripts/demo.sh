#!/usr/bin/env bash
# The main job on defaults, on files (no root needed): builds a test disk image with make-test-disk.sh, captures it,
# verifies the image, prints its metadata, restores it onto a blank file of the same size and checks the result with
# check-test-disk.sh (fsck and per-file sha256). Prints sizes and times; removes everything it made.
# Until the imaging verbs are built it shows the tool's version and the disks it sees, and says so.
#
# usage: demo.sh [BIN]     BIN defaults to artifacts/liveimager;  DEMO_SIZE=256M sets the test disk's size.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-artifacts/liveimager}
[ -x "$bin" ] || { echo "demo: $bin is not an executable (run make publish)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

"$bin" --version
if ! "$bin" capture --help >/dev/null 2>&1; then
  "$bin" list
  echo "demo: imaging (capture/restore/verify/info) is not built yet; this build only lists disks."
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/liveimager-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Runs a step under a heading and records its wall time in $elapsed (seconds, 2 decimals).
elapsed=0
step() {
  local title=$1 t0
  shift
  echo
  echo "== $title: $*"
  t0=$EPOCHREALTIME
  "$@"
  elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  echo "== $title took $elapsed s"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f MiB/s", b / 1048576 / s; else print "-" }'; }

disk=$work/source.img
image=$work/source.liveimg
target=$work/restored.img

step "build test disk" "$here/make-test-disk.sh" "$disk" "${DEMO_SIZE:-256M}"
disk_bytes=$(stat -c %s "$disk")
disk_used=$(du -B1 "$disk" | cut -f1)

step "capture" "$bin" capture "$disk" "$image"
capture_s=$elapsed
image_bytes=$(du -cb "$image"* | tail -1 | cut -f1)

step "verify" "$bin" verify "$image"
step "info" "$bin" info "$image"

truncate -s "$disk_bytes" "$target"
step "restore" "$bin" restore "$image" "$target" --yes
restore_s=$elapsed

step "check restored disk" "$here/check-test-disk.sh" "$target" "$disk.manifest"

echo
echo "source disk:   $(mib "$disk_bytes") ($(mib "$disk_used") allocated in the sparse file)"
echo "image:         $(mib "$image_bytes") ($(awk -v i="$image_bytes" -v d="$disk_bytes" 'BEGIN { printf "%.1f%%", 100 * i / d }') of the disk)"
echo "capture:       $capture_s s ($(rate "$disk_bytes" "$capture_s") of disk)"
echo "restore:       $restore_s s ($(rate "$disk_bytes" "$restore_s") of disk)"
echo "demo: the restored disk passed fsck and every file's sha256."
