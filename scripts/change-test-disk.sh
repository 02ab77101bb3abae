#!/usr/bin/env bash
# Changes a disk that make-test-disk.sh built, as a week of use would, and writes the manifest of the disk as it is
# afterwards for scripts/check-test-disk.sh: on a loop device, the ext4 partition (kernel mount) and the NTFS one
# (ntfs-3g) each get new random files, lose some files and have others modified (appended to, overwritten in place).
# Needs root (a loop device and mounts); cleans up its loop device and mounts whatever happens.
#
# usage: change-test-disk.sh DISK.img MANIFEST_IN MANIFEST_OUT NEW_MIB
#        NEW_MIB of new random data is split between ext4 and NTFS; MANIFEST_OUT gets the rest of MANIFEST_IN as is.
# env:   CHANGE_TEST_DISK_EDITS=0   only add the new files (no file deleted or modified)
set -euo pipefail
usage() { echo "usage: $0 DISK.img MANIFEST_IN MANIFEST_OUT NEW_MIB" >&2; exit 2; }
[ $# -eq 4 ] || usage
disk=$1 manifest_in=$2 manifest_out=$3 new_mib=$4
[ "$(id -u)" -eq 0 ] || { echo "change-test-disk: needs root for a loop device and mounts" >&2; exit 2; }
[ -f "$disk" ] && [ -d "$manifest_in" ] || usage
mib=$((1024 * 1024))

work=$(mktemp -d)
loop=
cleanup() {
  for m in "$work/ext4" "$work/ntfs"; do
    mountpoint -q "$m" 2>/dev/null && umount "$m"
  done
  [ -n "$loop" ] && { partx -d "$loop" 2>/dev/null || true; losetup -d "$loop"; }
  rm -rf "$work"
}
trap cleanup EXIT

loop=$(losetup -f --show "$disk")
partx -a "$loop" 2>/dev/null || true
mkdir -p "$work/ext4" "$work/ntfs"
mount -t ext4 "${loop}p2" "$work/ext4"
ntfs-3g "${loop}p3" "$work/ntfs"

# Adds BYTES of random files under DIR/new-TAG, deletes every 7th file and modifies every 5th of the rest.
change() {
  local dir=$1 bytes=$2 tag=$3 n=0 size i=0
  mkdir -p "$dir/new-$tag"
  while [ "$bytes" -gt 0 ]; do
    size=$(( (RANDOM * 32768 + RANDOM) % (6 * mib) + 65536 ))
    ((size > bytes)) && size=$bytes
    head -c "$size" /dev/urandom >"$dir/new-$tag/$n.bin"
    bytes=$((bytes - size))
    n=$((n + 1))
  done
  [ "${CHANGE_TEST_DISK_EDITS:-1}" = 1 ] || return 0
  while IFS= read -r -d '' f; do
    i=$((i + 1))
    if ((i % 7 == 0)); then
      rm -f "$f"
    elif ((i % 5 == 0)); then
      head -c 20000 /dev/urandom >>"$f"
      printf 'changed %s\n' "$tag" | dd of="$f" conv=notrunc status=none
    fi
  done < <(find "$dir" -path "$dir/lost+found" -prune -o -path "$dir/new-$tag" -prune -o -type f -print0 | sort -z)
}

change "$work/ext4" $((new_mib * mib / 2)) "$(date +%s%N)"
change "$work/ntfs" $((new_mib * mib - new_mib * mib / 2)) "$(date +%s%N)"

mkdir -p "$manifest_out"
for f in "$manifest_in"/*; do
  case $(basename "$f") in
    p2.ext4.sha256 | p3.ntfs.sha256) ;;
    *) cp "$f" "$manifest_out/" ;;
  esac
done
(cd "$work/ext4" && find . -path ./lost+found -prune -o -type f -print0 | sort -z | xargs -0r sha256sum) >"$manifest_out/p2.ext4.sha256"
(cd "$work/ntfs" && find . -type f -print0 | sort -z | xargs -0r sha256sum) >"$manifest_out/p3.ntfs.sha256"
umount "$work/ext4"
umount "$work/ntfs"
echo "change-test-disk: $disk: ${new_mib} MiB of new files, some deleted and modified; manifest $manifest_out/"
