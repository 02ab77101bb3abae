#!/usr/bin/env bash
# Checks a disk (image file or block device) against the manifest make-test-disk.sh wrote: the partition table
# (sgdisk -v, and the same partitions as the original), the boot loader gap, each filesystem's own checker
# (fsck.fat -n, e2fsck -fn, ntfsfix -n), every file's sha256 with no file missing or extra, and the swap signature.
# Prints one line per check; exits 1 if any failed, naming each failure on a line that starts with FAIL.
#
# usage: check-test-disk.sh DISK MANIFEST_DIR
# env:   CHECK_TEST_DISK_RESIZED=1   the disk was restored with --fit: partitions may start and end elsewhere, so the
#        table check compares everything but their starts and sizes.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 DISK MANIFEST_DIR" >&2; exit 2; }
disk=$1
manifest=$2
[ -e "$disk" ] || { echo "check-test-disk: no such disk: $disk" >&2; exit 2; }
[ -f "$manifest/layout.sfdisk" ] || { echo "check-test-disk: not a manifest directory: $manifest" >&2; exit 2; }
for tool in sgdisk sfdisk jq e2fsck debugfs fsck.fat mcopy ntfsfix ntfs-3g blkid sha256sum; do
  command -v "$tool" >/dev/null || { echo "check-test-disk: $tool is missing (run scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/check-test-disk.XXXXXX")
mnt=$work/mnt
cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then
    fusermount -u "$mnt" 2>/dev/null || umount "$mnt"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export MTOOLS_SKIP_CHECK=1

failures=0
ok() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# Partition lines of an `sfdisk -d` dump without the device names, which differ between the original and a copy.
partition_lines() {
  grep -E '^[^#].* : start=' "$1" | sed -E 's/^[^:]*: //' |
    if [ "${CHECK_TEST_DISK_RESIZED:-0}" = 1 ]; then sed -E 's/^start= *[0-9]+, size= *[0-9]+, //'; else cat; fi
}

sfdisk -d "$disk" >"$work/layout.sfdisk" 2>"$work/sfdisk.err" || true
if sgdisk -v "$disk" >"$work/sgdisk.out" 2>&1 && grep -q '^No problems found' "$work/sgdisk.out"; then
  ok "table: sgdisk -v clean"
else
  fail "table: sgdisk -v: $(grep -vE '^\s*$' "$work/sgdisk.out" | head -3 | tr '\n' ' ')"
fi
if diff <(partition_lines "$manifest/layout.sfdisk") <(partition_lines "$work/layout.sfdisk") >"$work/table.diff"; then
  ok "table: $(partition_lines "$work/layout.sfdisk" | wc -l) partitions as in the original"
else
  fail "table: partitions differ from the original: $(grep -E '^[<>]' "$work/table.diff" | head -2 | tr '\n' ' ')"
fi
if [ "$(grep -E '^label-id:' "$work/layout.sfdisk")" = "$(grep -E '^label-id:' "$manifest/layout.sfdisk")" ]; then
  ok "table: disk GUID as in the original"
else
  fail "table: disk GUID differs: $(grep -E '^label-id:' "$work/layout.sfdisk" || echo none)"
fi
if [ "$(dd if="$disk" bs=512 skip=34 count=128 status=none | sha256sum | cut -d' ' -f1)" = "$(cat "$manifest/gap.sha256")" ]; then
  ok "gap: boot loader gap (LBA 34-161) intact"
else
  fail "gap: boot loader gap (LBA 34-161) differs from the original"
fi

# Compares the files under DIR with a sha256sum manifest: every listed file present with its sum, and no other file
# (a deleted file that came back is as wrong as a lost one). IGNORE is a find -path pattern for the filesystem's own
# entries (lost+found). Prints a summary; returns 1 on any difference.
compare_files() {
  local dir=$1 sums=$2 ignore=$3 what=$4 bad
  if ! bad=$(cd "$dir" && sha256sum --quiet -c "$sums" 2>&1); then
    fail "$what: $(echo "$bad" | grep -c 'FAILED') of $(wc -l <"$sums") files differ or are missing, first: $(echo "$bad" | head -1)"
    return 1
  fi
  local extra
  extra=$(cd "$dir" && comm -13 <(sed -E 's/^[0-9a-f]{64}  //' "$sums" | LC_ALL=C sort) \
    <(find . -path "$ignore" -prune -o -type f -print | LC_ALL=C sort))
  if [ -n "$extra" ]; then
    fail "$what: $(echo "$extra" | wc -l) files not in the original, first: $(echo "$extra" | head -1)"
    return 1
  fi
  ok "$what: all $(wc -l <"$sums") files match"
}

manifest_abs=$(cd "$manifest" && pwd)
sfdisk -J "$disk" >"$work/layout.json" 2>/dev/null || echo '{"partitiontable":{"partitions":[]}}' >"$work/layout.json"
sector=$(jq -r '.partitiontable.sectorsize // 512' "$work/layout.json")

for entry in "$manifest_abs"/p*.*; do
  name=$(basename "$entry")
  nr=${name%%.*}; nr=${nr#p}
  fs=${name#*.}; fs=${fs%%.*}
  read -r start size < <(jq -r --argjson i "$((nr - 1))" \
    '.partitiontable.partitions[$i] // {} | "\(.start // "") \(.size // "")"' "$work/layout.json")
  if [ -z "$start" ]; then
    fail "p$nr $fs: no partition $nr on the disk"
    continue
  fi
  part=$work/p$nr
  # A sparse copy of the partition: fsck tools and ntfs-3g take no offset, and a block device may have no nodes.
  dd if="$disk" of="$part" bs=1M iflag=skip_bytes,count_bytes skip=$((start * sector)) count=$((size * sector)) \
    conv=sparse status=none
  case $fs in
    vfat)
      if fsck.fat -n "$part" >"$work/fsck.out" 2>&1; then ok "p$nr vfat: fsck.fat -n clean"
      else fail "p$nr vfat: fsck.fat -n: $(tail -n +2 "$work/fsck.out" | head -2 | tr '\n' ' ')"; fi
      mkdir -p "$work/p$nr.d"
      if mcopy -s -n -i "$part" '::/*' "$work/p$nr.d/" 2>"$work/mcopy.err"; then
        compare_files "$work/p$nr.d" "$entry" './-' "p$nr vfat" || true
      else
        fail "p$nr vfat: mcopy could not read the files: $(head -1 "$work/mcopy.err")"
      fi
      ;;
    ext4)
      if e2fsck -fn "$part" >"$work/fsck.out" 2>&1; then ok "p$nr ext4: e2fsck -fn clean"
      else fail "p$nr ext4: e2fsck -fn: $(grep -vE '^(e2fsck|Pass [0-9])' "$work/fsck.out" | head -2 | tr '\n' ' ')"; fi
      mkdir -p "$work/p$nr.d"
      # Without root rdump cannot chown what it writes; that costs nothing here, any other complaint does.
      debugfs -R "rdump / $work/p$nr.d" "$part" >/dev/null 2>"$work/debugfs.err" || true
      if grep -vE '^debugfs [0-9]|while changing ownership' "$work/debugfs.err" >"$work/debugfs.bad"; then
        fail "p$nr ext4: debugfs could not read the files: $(head -1 "$work/debugfs.bad")"
      else
        compare_files "$work/p$nr.d" "$entry" './lost+found' "p$nr ext4" || true
      fi
      ;;
    ntfs)
      if ntfsfix -n "$part" >"$work/fsck.out" 2>&1; then ok "p$nr ntfs: ntfsfix -n clean"
      else fail "p$nr ntfs: ntfsfix -n: $(grep -iE 'error|fail|corrupt|inconsist' "$work/fsck.out" | head -2 | tr '\n' ' ')"; fi
      mkdir -p "$mnt"
      if ntfs-3g -o ro "$part" "$mnt" 2>"$work/ntfs.err"; then
        compare_files "$mnt" "$entry" './-' "p$nr ntfs" || true
        fusermount -u "$mnt" 2>/dev/null || umount "$mnt"
      else
        fail "p$nr ntfs: ntfs-3g could not mount it: $(head -1 "$work/ntfs.err")"
      fi
      ;;
    swap)
      want=$(cat "$entry")
      got=$(blkid -p -o export "$part" | grep -E '^(TYPE|UUID)=' | sort | tr '\n' ' ')
      if [ "$got" = "TYPE=swap $want " ]; then ok "p$nr swap: signature and $want"
      else fail "p$nr swap: want TYPE=swap $want, found: ${got:-no signature}"; fi
      ;;
    *)
      fail "p$nr: manifest names an unknown filesystem '$fs'"
      ;;
  esac
  rm -rf "$part" "$work/p$nr.d"
done

if [ "$failures" -gt 0 ]; then
  echo "check-test-disk: $disk: $failures checks FAILED"
  exit 1
fi
echo "check-test-disk: $disk: all checks passed"
