#!/usr/bin/env bash
# Builds the LVM disk of make live-test's lvm step: GPT with one LVM partition holding the VG "lilive" with two LVs,
# "root" (ext4, in two segments with the start of "data" between them) and "data" (XFS), and free extents at the end.
# This host has no device-mapper, so the LVs are never activated here: lvm writes only metadata (--activate n
# --zero n), and each filesystem is built in a file of its own and written at the PV offsets that lvs reports.
# Next to it writes OUT.manifest/{root,data}.sha256 (every file's sum, paths relative to the LV's root) for the
# guest to check the activated LVs with sha256sum -c.
#
# usage: make-lvm-disk.sh OUT.img      (root: loop devices and an XFS mount)
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUT.img" >&2; exit 2; }
out=$1
manifest=$out.manifest
mib=$((1024 * 1024))
for tool in lvm sfdisk losetup mkfs.ext4 mkfs.xfs sha256sum jq; do
  command -v "$tool" >/dev/null || { echo "make-lvm-disk: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/make-lvm-disk.XXXXXX")
loop=
config=
built=none
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -s "$work/lvm.log" ]; then tail -5 "$work/lvm.log" >&2; fi
  if mountpoint -q "$work/mnt" 2>/dev/null; then umount "$work/mnt"; fi
  if [ -n "$loop" ]; then
    lvm vgremove --config "$config" --driverloaded n -f lilive >/dev/null 2>&1 || true
    losetup -d "$loop" 2>/dev/null || true
  fi
  rm -rf "$work"
  if [ "$built" = partly ]; then rm -rf "$out" "$manifest"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 512 MiB: mkfs.xfs makes no filesystem under 300 MiB. The partition starts at 1 MiB and leaves the backup GPT room.
built=partly
rm -rf "$out" "$manifest"
truncate -s 512M "$out"
printf 'label: gpt\nstart=2048, size=%d, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name="lvm"\n' $((510 * 2048)) |
  sfdisk -q "$out"
mkdir -p "$manifest" "$work/mnt"

# The PV is the partition, seen through a loop device at its offset: lvm's private configuration sees only it and
# neither backs up nor talks to udev or device-mapper.
loop=$(losetup -f --show --offset "$mib" --sizelimit $((510 * mib)) "$out")
config="devices { filter = [ \"a|^$loop\$|\", \"r|.*|\" ] global_filter = [ \"a|^$loop\$|\", \"r|.*|\" ] use_devicesfile = 0 obtain_device_list_from_udev = 0 hints = \"none\" } backup { backup = 0 archive = 0 } activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }"
# lvm's chatter (no device-mapper, no backup) goes to a log that is shown only when the build fails.
export LVM_SUPPRESS_FD_WARNINGS=1
lvmq() { lvm "$@" --config "$config" --driverloaded n 2>>"$work/lvm.log"; }
lv() { lvmq "$@" >/dev/null; }
lv pvcreate --norestorefile "$loop"
lv vgcreate -s 4m lilive "$loop"
lv lvcreate --activate n --zero n -y -l 12 -n root lilive
lv lvcreate --activate n --zero n -y -l 80 -n data lilive
lv lvextend -l +6 lilive/root

# Fills DIR with /usr files and random data of about MIB MiB, then lists every file's sum into SUMS.
fill() {
  local dir=$1 mib_budget=$2 sums=$3 i
  mkdir -p "$dir/usr" "$dir/random"
  cp -r /usr/share/doc/e2fsprogs /usr/share/doc/lvm2 /usr/lib/os-release "$dir/usr/" 2>/dev/null || true
  for i in $(seq 1 "$mib_budget"); do head -c $(( (i % 3 + 1) * 1024 * 340 )) /dev/urandom >"$dir/random/r$i.bin"; done
  (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$sums"
}

# Writes the filesystem in FILE into LV's place: one dd per segment (seg_start_pe and seg_size_pe in extents, the
# segment's first physical extent from seg_pe_ranges, pe_start in bytes; all whole MiB here).
place() {
  local lv=$1 file=$2 extent pe_start start size range first
  extent=$(lvmq vgs --noheadings --units b --nosuffix -o vg_extent_size lilive | tr -d ' ')
  pe_start=$(lvmq pvs --noheadings --units b --nosuffix -o pe_start "$loop" | tr -d ' ')
  while IFS=';' read -r start size range; do
    first=${range##*:}; first=${first%%-*}
    dd if="$file" of="$loop" bs=1M skip=$((start * extent / mib)) seek=$(((pe_start + first * extent) / mib)) \
       count=$((size * extent / mib)) conv=notrunc,fsync status=none
  done < <(lvmq lvs --noheadings --separator ';' -o seg_start_pe,seg_size_pe,seg_pe_ranges "lilive/$lv" | tr -d ' ')
}

# root: ext4 of 18 extents (72 MiB) filled by mkfs.ext4 -d, no mount needed.
fill "$work/root" 24 "$manifest/root.sha256"
truncate -s $((18 * 4 * mib)) "$work/root.img"
mkfs.ext4 -q -F -L lvroot -d "$work/root" "$work/root.img"
place root "$work/root.img"

# data: XFS of 80 extents (320 MiB) filled through the kernel's own XFS.
fill "$work/data" 20 "$manifest/data.sha256"
truncate -s $((80 * 4 * mib)) "$work/data.img"
mkfs.xfs -q -f -L lvdata "$work/data.img"
mount -o loop "$work/data.img" "$work/mnt"
cp -a "$work/data/." "$work/mnt/"
umount "$work/mnt"
place data "$work/data.img"

lvmq lvs -o lv_name,lv_size,seg_pe_ranges lilive >"$manifest/lvs.txt"
losetup -d "$loop"
loop=
built=done
echo "make-lvm-disk: $out: VG lilive, LVs root (ext4, 2 segments) and data (XFS), manifest in $manifest"
