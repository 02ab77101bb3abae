#!/usr/bin/env bash
# Benchmark (not a test): LiveImager against `dd | zstd` and Clonezilla's way (`sfdisk -d` + `partclone.<fs> -c |
# zstd` per partition) on one realistic disk behind a read-only loop device. Each capture and each restore runs
# with the page cache dropped first; every restore goes to a fresh blank loop disk, which check-test-disk.sh then
# checks (fsck and per-file sha256). Last, the source is changed (5% of its size in new files: change-test-disk.sh)
# and captured in full and incrementally on LiveImager's first image, whose restore is checked
# against the changed disk's manifest. Prints a table and LiveImager's ratios against partclone | zstd. Then two rows
# for LiveImager alone: the I/O ceiling (incompressible data on a RAM-backed loop device, captured to /dev/null and
# restored from a RAM-backed image, against dd with O_DIRECT on the same devices), and the peak memory of capture,
# restore and verify of a 16 TiB sparse disk holding a small ext4.
# See docs/bench.md for how to run it and read it. Needs root (loop devices, partx, drop_caches, a tmpfs mount).
#
# usage: bench.sh [BIN]       BIN defaults to artifacts/liveimager; its row says "not built" until it has the
#                             capture and restore verbs
# env:   BENCH_SIZE=2G        size of the test disk
#        BENCH_DIR=/var/tmp   where the disks and images go (needs about 4 x BENCH_SIZE free)
#        BENCH_ZSTD_LEVEL=3   zstd level for dd and partclone;  BENCH_LIVEIMAGER_ARGS="" extra capture arguments
#        BENCH_IO_SIZE=1G     size of the RAM-backed device of the I/O ceiling row (RAM use: 3 x this)
#        BENCH_KEEP=1         keep the work directory (disks, images, logs) for a look afterwards
#        BENCH_ROWS="li enc"  only these rows (default all): dd, pc (partclone), li (liveimager), enc (liveimager
#                             encrypted), cz (liveimager <- clonezilla), inc (incremental, with li; changes the
#                             source, so it runs last), io (I/O ceiling), big (16 TiB memory)
#        BENCH_INC_EDITS=1    the incremental row's change also deletes every 7th file and modifies every 5th
#        BENCH_SCALE=1        instead: the same files on a 4 GiB and a 1 TiB ext4, LiveImager and partclone.extfs |
#                             zstd on each (BENCH_SCALE_DATA=512M of files; needs about 20 GiB free in BENCH_DIR)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-artifacts/liveimager}
size=${BENCH_SIZE:-2G}
level=${BENCH_ZSTD_LEVEL:-3}

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (loop devices, partx, drop_caches)" >&2; exit 1; }
for tool in losetup partx sfdisk sgdisk mkfs.ext4 blkid mkswap zstd partclone.vfat partclone.ext4 partclone.ntfs partclone.dd partclone.extfs mke2fs e2fsck; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/liveimager-bench.XXXXXX")
loops=()
ram=

# Detaches a loop device this run attached, after checking it still backs a file of ours: a number given back
# to the kernel may already belong to someone else.
detach() {
  local dev=$1 back kept=()
  back=$(losetup -n -O BACK-FILE "$dev" 2>/dev/null || true)
  if [[ $back == "$work"/* ]]; then
    partx -d "$dev" 2>/dev/null || true
    losetup -d "$dev"
  fi
  for d in "${loops[@]}"; do [ "$d" = "$dev" ] || kept+=("$d"); done
  loops=("${kept[@]}")
}
cleanup() {
  local status=$?
  for dir in "$work/mnt" "$work/big-mnt"; do if mountpoint -q "$dir"; then umount "$dir"; fi; done
  for dev in "${loops[@]}"; do detach "$dev"; done
  if [ -n "$ram" ] && grep -q " $ram tmpfs " /proc/self/mounts; then umount "$ram"; fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Attaches a file (losetup arguments, -r for read-only) and sets the variable named VAR to the loop device.
attach() {
  local var=$1 dev
  shift
  dev=$(losetup -f --show "$@")
  loops+=("$dev")
  printf -v "$var" '%s' "$dev"
}

# A blank disk of the source's size on a fresh loop device, in $target.
target=
new_target() {
  local file=$work/target-$1.img
  truncate -s "$disk_bytes" "$file"
  attach target "$file"
}
drop_target() {
  local file
  file=$(losetup -n -O BACK-FILE "$target")
  detach "$target"
  rm -f "$file"
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# Runs the exported function FUNC in a child shell with the page cache dropped first; sets $secs (wall time) and
# $rss (peak RSS of the largest process in the tree, KiB, as GNU time reports it). Output goes to LOG.
secs=0
rss=0
measure() {
  local log=$1 func=$2 t0
  drop_caches
  t0=$EPOCHREALTIME
  # shellcheck disable=SC2016 # "$1" is the child shell's own argument
  if ! /usr/bin/time -f '%M' -o "$work/rss" bash -euo pipefail -c '"$1"' _ "$func" >>"$log" 2>&1; then
    echo "bench: $func failed, see the end of $log:" >&2
    tail -5 "$log" >&2
    return 1
  fi
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  rss=$(tail -1 "$work/rss")
}

# Checks the restored disk in $target (against MANIFEST, by default the source's as made); sets $verdict to "pass" or the failed checks, keeping the full report in LOG.
verdict=
check_target() {
  local log=$1 manifest=${2:-$work/source.img.manifest}
  if "$here/check-test-disk.sh" "$target" "$manifest" >"$log" 2>&1; then
    verdict=pass
  else
    verdict="FAIL: $(grep '^FAIL' "$log" | sed -E 's/^FAIL +//; s/:.*//' | paste -sd, | sed 's/,/, /g')"
  fi
}

# The measured jobs. They run in child shells (see measure), so they read only exported variables.

# dd | zstd: every byte of the disk, compressed.
dd_capture() {
  dd if="$src" bs=4M iflag=direct status=none | zstd -q "-$level" -T0 -o "$work/dd.zst"
  sync "$work/dd.zst"
}
dd_restore() {
  zstd -q -d -c "$work/dd.zst" | dd of="$target" bs=4M iflag=fullblock oflag=direct status=none
  sync "$target"
}

# Clonezilla's way: the table (sfdisk -d), the first MiB (protective MBR, GPT and the boot loader gap, as Clonezilla
# keeps the "hidden data after the MBR"), one partclone image per filesystem piped through zstd, and for swap only
# its UUID and label, which Clonezilla recreates with mkswap. Partition nodes come from partx -a (see the callers).
pc_capture() {
  local part nr fs tool
  sfdisk -d "$src" >"$work/pc/table.sfdisk"
  dd if="$src" of="$work/pc/first-mib.img" bs=1M count=1 status=none
  for part in "$src"p*; do
    nr=${part##*p}
    fs=$(blkid -p -o value -s TYPE "$part" || true)
    case $fs in
      vfat | ext4 | ntfs) tool=partclone.$fs ;;
      swap)
        blkid -p -o export "$part" | grep -E '^(UUID|LABEL)=' >"$work/pc/p$nr.swap"
        continue
        ;;
      *) tool=partclone.dd ;;
    esac
    "$tool" -q -z 10485760 -L "$work/pc/p$nr.capture.log" -c -s "$part" -o - |
      zstd -q "-$level" -T0 -o "$work/pc/p$nr.$tool.zst"
  done
  sync "$work"/pc/*
}
pc_restore() {
  local image name nr tool swap UUID LABEL
  dd if="$work/pc/first-mib.img" of="$target" bs=1M conv=notrunc status=none
  sfdisk -q "$target" <"$work/pc/table.sfdisk"
  partx -a "$target"
  for image in "$work"/pc/p*.zst; do
    name=$(basename "$image" .zst)
    nr=${name%%.*}
    tool=${name#*.}
    zstd -q -d -c "$image" | "$tool" -q -z 10485760 -L "$work/pc/$nr.restore.log" -r -s - -o "$target$nr"
  done
  for swap in "$work"/pc/p*.swap; do
    [ -e "$swap" ] || continue
    nr=$(basename "$swap" .swap)
    UUID='' LABEL=''
    # shellcheck disable=SC1090 # written by pc_capture: UUID=... and LABEL=... lines from blkid -o export
    . "$swap"
    mkswap -U "$UUID" ${LABEL:+-L "$LABEL"} "$target$nr" >/dev/null
  done
  sync "$target"
}

li_capture() {
  # shellcheck disable=SC2086 # BENCH_LIVEIMAGER_ARGS is a list of words
  "$bin" capture "$src" "$work/li.img" ${BENCH_LIVEIMAGER_ARGS:-}
  sync "$work"/li.img*
}
li_restore() {
  "$bin" restore "$work/li.img" "$target" --yes
  sync "$target"
}
# The same, encrypted (issue #15): the passphrase from the environment, as a script gives it; the default Argon2id
# cost is paid once by each verb.
li_enc_capture() {
  # shellcheck disable=SC2086 # BENCH_LIVEIMAGER_ARGS is a list of words
  LIVEIMAGER_PASSPHRASE=bench-passphrase "$bin" capture "$src" "$work/li-enc.img" --encrypt ${BENCH_LIVEIMAGER_ARGS:-}
  sync "$work"/li-enc.img*
}
li_enc_restore() {
  LIVEIMAGER_PASSPHRASE=bench-passphrase "$bin" restore "$work/li-enc.img" "$target" --yes
  sync "$target"
}
# Incremental (issue #16): after the source changed, a full capture of it and one on the first image (li.img).
li_changed_capture() {
  "$bin" capture "$src" "$work/li-changed.img"
  sync "$work/li-changed.img"
}
li_inc_capture() {
  "$bin" capture "$src" "$work/li-inc.img" --base li.img
  sync "$work/li-inc.img"
}
li_inc_restore() {
  "$bin" restore "$work/li-inc.img" "$target" --yes
  sync "$target"
}
# The same disk saved in Clonezilla's own layout (make-clonezilla-image.sh: partclone | zstd per partition), restored
# by LiveImager: against partclone's own restore above (issue #18).
cz_restore() {
  "$bin" restore "$work/cz" "$target" --yes
  sync "$target"
}
# The I/O ceiling: incompressible bytes on a RAM-backed loop device ($io_src), so that neither the disk nor the
# compressor is the limit, only the read and write path itself.
io_dd_read() { dd if="$io_src" of=/dev/null bs=4M iflag=direct status=none; }
io_li_read() { "$bin" capture "$io_src" - >/dev/null; }
io_dd_write() {
  dd if="$ram/io-source.bin" of="$io_dst" bs=4M oflag=direct status=none
  sync "$io_dst"
}
io_li_write() {
  "$bin" restore "$ram/io.lim" "$io_dst" --yes
  sync "$io_dst"
}

# A 16 TiB sparse disk (a file on the tmpfs, which takes files of any size): GPT, one small ext4, nothing else.
big_capture() { "$bin" capture "$ram/big.img" "$ram/big.lim"; }
# A restore target is never created (docs/exit-codes.md): the file is made first.
big_restore() { touch "$ram/big-restored.img" && "$bin" restore "$ram/big.lim" "$ram/big-restored.img" --yes; }
big_verify() { "$bin" verify "$ram/big.lim" --against "$ram/big.img"; }
export -f dd_capture dd_restore pc_capture pc_restore li_capture li_restore li_enc_capture li_enc_restore li_changed_capture li_inc_capture li_inc_restore cz_restore io_dd_read io_li_read io_dd_write io_li_write \
  big_capture big_restore big_verify

# --- BENCH_SCALE=1: time and size should follow the data, not the filesystem's size (issue #11). The same files
# go onto a 4 GiB and a 1 TiB ext4 (sparse files; mke2fs -E lazy_itable_init=1,nodiscard, filled through a
# noinit_itable mount, so most inode tables are never written, as on a fresh install), each captured and restored
# by LiveImager and by partclone.extfs | zstd, each restore checked with e2fsck -fn.
scale_files() {
  local dir=$1 budget=$2 done=0 file size n=0
  mkdir -p "$dir/usr" "$dir/random"
  # Two thirds real files from /usr, in a fixed order, then a third random in files of 1-16 MiB.
  while IFS= read -r -d '' file; do
    size=$(stat -c %s "$file")
    [ $((done + size)) -le $((budget * 2 / 3)) ] || break
    cp --parents "$file" "$dir/usr" 2>/dev/null || continue
    done=$((done + size))
  done < <(find /usr/share /usr/lib -xdev -type f -size -64M -print0 2>/dev/null | sort -z)
  while [ "$done" -lt "$budget" ]; do
    size=$(((n % 16 + 1) << 20))
    head -c "$size" /dev/urandom >"$dir/random/file$n"
    done=$((done + size)) n=$((n + 1))
  done
}
scale_filesystem() {
  local file=$1 bytes=$2 fsdev status=0
  truncate -s "$bytes" "$file"
  mke2fs -q -F -t ext4 -E lazy_itable_init=1,nodiscard "$file"
  attach fsdev "$file"
  mkdir -p "$work/mnt"
  mount -o noinit_itable "$fsdev" "$work/mnt"
  cp -a "$work/files/." "$work/mnt/" || status=$?
  umount "$work/mnt"
  detach "$fsdev"
  return "$status"
}
li_scale_capture() {
  # shellcheck disable=SC2086 # BENCH_LIVEIMAGER_ARGS is a list of words
  "$bin" capture "$src" "$work/li-$scale.img" ${BENCH_LIVEIMAGER_ARGS:-}
  sync "$work"/li-"$scale".img*
}
li_scale_restore() {
  "$bin" restore "$work/li-$scale.img" "$target" --yes
  sync "$target"
}
pc_scale_capture() {
  partclone.extfs -q -z 10485760 -L "$work/pc-$scale.capture.log" -c -s "$src" -o - | zstd -q "-$level" -T0 -o "$work/pc-$scale.zst"
  sync "$work/pc-$scale.zst"
}
pc_scale_restore() {
  zstd -q -d -c "$work/pc-$scale.zst" | partclone.extfs -q -z 10485760 -L "$work/pc-$scale.restore.log" -r -s - -o "$target"
  sync "$target"
}
export -f li_scale_capture li_scale_restore pc_scale_capture pc_scale_restore
# Measures one method's capture and restore of the filesystem in $src and adds its row to $rows.
rows=()
scale_row() {
  local method=$1 tag=$2 capture=$3 restore=$4 image=$5 cap_s cap_rss fsck bytes
  measure "$work/scale.log" "$capture"
  cap_s=$secs cap_rss=$rss
  new_target "$tag-$scale"
  measure "$work/scale.log" "$restore"
  if e2fsck -fn "$target" >>"$work/scale.log" 2>&1; then fsck=pass; else fsck=FAIL; fi
  drop_target
  # shellcheck disable=SC2086 # $image may be a glob (split volumes)
  bytes=$(du -cb $image | tail -1 | cut -f1)
  rows+=("$(printf '%-6s %-22s %10s %10s %11s %8sM %8sM  %s' "$scale" "$method" "$cap_s" "$secs" \
    "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')" $((cap_rss / 1024)) $((rss / 1024)) "$fsck")")
  # shellcheck disable=SC2086
  rm -f $image
}
if [ "${BENCH_SCALE:-0}" = 1 ]; then
  [ -x "$bin" ] || { echo "bench: $bin is not built" >&2; exit 1; }
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  data=${BENCH_SCALE_DATA:-512M}
  echo "bench: $data of files in $work"
  scale_files "$work/files" "$(numfmt --from=iec "$data")"
  for scale in 4G 1T; do
    echo "bench: ext4 of $scale"
    scale_filesystem "$work/ext4-$scale.img" "$(numfmt --from=iec "$scale")"
    disk_bytes=$(stat -c %s "$work/ext4-$scale.img")
    attach src -r "$work/ext4-$scale.img"
    export bin src level work target scale
    scale_row liveimager li li_scale_capture li_scale_restore "$work/li-$scale.img*"
    scale_row "partclone | zstd -$level" pc pc_scale_capture pc_scale_restore "$work/pc-$scale.zst"
    detach "$src"
    rm -f "$work/ext4-$scale.img"
  done
  echo
  echo "the same $data of files on ext4 of each size, $(nproc) cores; page cache dropped before every capture and restore"
  printf '%-6s %-22s %10s %10s %11s %9s %9s  %s\n' size method "capture s" "restore s" "image MiB" "cap RSS" "rst RSS" "e2fsck -fn"
  printf '%s\n' "${rows[@]}"
  exit 0
fi

# Whether row $1 is to be measured (BENCH_ROWS).
want() { [[ " ${BENCH_ROWS:-dd pc li enc cz inc io big} " == *" $1 "* ]]; }

results=()
# One row per method, fields separated by tabs: name, capture s, restore s, image bytes, capture RSS, restore RSS, check.
record() { results+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$5"$'\t'"$6"$'\t'"$7"); }

echo "bench: building a $size test disk in $work"
TMPDIR=$work "$here/make-test-disk.sh" "$work/source.img" "$size"
disk_bytes=$(stat -c %s "$work/source.img")
src=
attach src -r "$work/source.img"
echo "bench: source $src (read-only), $(nproc) cores, zstd -$level"
export src level work target

if want dd; then
  echo "bench: dd | zstd"
  measure "$work/dd.log" dd_capture
  cap_s=$secs cap_rss=$rss
  new_target dd
  measure "$work/dd.log" dd_restore
  check_target "$work/dd.check"
  record "dd | zstd -$level" "$cap_s" "$secs" "$(stat -c %s "$work/dd.zst")" "$cap_rss" "$rss" "$verdict"
  drop_target
fi

if want pc; then
  echo "bench: partclone | zstd"
  mkdir -p "$work/pc"
  partx -a "$src"
  measure "$work/pc.log" pc_capture
  cap_s=$secs cap_rss=$rss
  partx -d "$src"
  pc_bytes=$(du -cb "$work"/pc/* | tail -1 | cut -f1)
  new_target pc
  measure "$work/pc.log" pc_restore
  partx -d "$target"
  check_target "$work/pc.check"
  record "partclone | zstd -$level" "$cap_s" "$secs" "$pc_bytes" "$cap_rss" "$rss" "$verdict"
  drop_target
fi

echo "bench: liveimager"
if [ -x "$bin" ] && "$here/has-verb.sh" "$bin" capture && "$here/has-verb.sh" "$bin" restore; then
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  export bin
  if want li; then
    measure "$work/li.log" li_capture
    cap_s=$secs cap_rss=$rss
    new_target li
    measure "$work/li.log" li_restore
    check_target "$work/li.check"
    record "liveimager" "$cap_s" "$secs" "$(du -cb "$work"/li.img* | tail -1 | cut -f1)" "$cap_rss" "$rss" "$verdict"
    drop_target
  fi
  if want enc; then
    echo "bench: liveimager, encrypted"
    measure "$work/li-enc.log" li_enc_capture
    cap_s=$secs cap_rss=$rss
    new_target li-enc
    measure "$work/li-enc.log" li_enc_restore
    check_target "$work/li-enc.check"
    record "liveimager encrypted" "$cap_s" "$secs" "$(du -cb "$work"/li-enc.img* | tail -1 | cut -f1)" "$cap_rss" "$rss" "$verdict"
    drop_target
    rm -f "$work"/li-enc.img*
  fi
  bin_ok=1
  if want cz && "$here/has-verb.sh" "$bin" convert; then
    echo "bench: liveimager restoring the Clonezilla image of the disk"
    "$here/make-clonezilla-image.sh" "$src" "$work/cz" --compress zst >>"$work/cz.log" 2>&1
    new_target cz
    if measure "$work/cz.log" cz_restore; then
      # Clonezilla saves no boot loader gap of a GPT disk: that one check fails from any Clonezilla image.
      check_target "$work/cz.check"
      record "liveimager <- clonezilla" "-" "$secs" "$(du -cb "$work"/cz/* | tail -1 | cut -f1)" 0 "$rss" "$verdict"
    else
      # A refused image (partclone.fat 0.3.23 can mark a block past the end of a FAT: docs/clonezilla.md) is a row, not
      # the end of the benchmark.
      record "liveimager <- clonezilla" "-" "refused" "$(du -cb "$work"/cz/* | tail -1 | cut -f1)" 0 0 \
        "FAIL: restore refused the image: $(grep -m1 '^restore:' "$work/cz.log" | cut -c1-120)"
    fi
    drop_target
  fi
  if want li && want inc && "$here/has-verb.sh" "$bin" consolidate; then
    # Last of the disk rows: the source changes. 5% of the disk in new files (BENCH_INC_EDITS=1: and every 7th file
    # deleted, every 5th modified), through change-test-disk.sh's own loop device; the page cache is dropped before
    # every capture.
    new_mib=$((disk_bytes / 1048576 / 20))
    echo "bench: liveimager, incremental after $new_mib MiB of new data"
    CHANGE_TEST_DISK_EDITS=${BENCH_INC_EDITS:-0} "$here/change-test-disk.sh" "$work/source.img" "$work/source.img.manifest" \
      "$work/changed.manifest" "$new_mib" >>"$work/li-inc.log" 2>&1
    measure "$work/li-inc.log" li_changed_capture
    record "liveimager, changed disk" "$secs" "-" "$(stat -c %s "$work/li-changed.img")" "$rss" 0 "(full capture, for the row below)"
    rm -f "$work/li-changed.img"
    measure "$work/li-inc.log" li_inc_capture
    cap_s=$secs cap_rss=$rss
    new_target li-inc
    measure "$work/li-inc.log" li_inc_restore
    check_target "$work/li-inc.check" "$work/changed.manifest"
    record "liveimager incremental" "$cap_s" "$secs" "$(stat -c %s "$work/li-inc.img")" "$cap_rss" "$rss" "$verdict"
    drop_target
    rm -f "$work"/li-inc.img
  fi
  rm -f "$work"/li.img*
else
  record "liveimager" "not built" "" "" "" "" ""
fi

# --- LiveImager alone: the I/O ceiling and memory at 16 TiB.
extra=()
if [ "${bin_ok:-0}" = 1 ] && want io; then
  io_size=${BENCH_IO_SIZE:-1G}
  io_bytes=$(numfmt --from=iec "$io_size")
  ram=$work/ram
  mkdir -p "$ram"
  mount -t tmpfs -o "size=$((3 * io_bytes + (1 << 30)))" liveimager-bench "$ram"
  echo "bench: I/O ceiling on a $io_size RAM-backed loop device"
  head -c "$io_bytes" /dev/urandom >"$ram/io-source.bin"
  truncate -s "$io_bytes" "$ram/io-target.bin"
  io_src='' io_dst=''
  attach io_src -r "$ram/io-source.bin"
  attach io_dst "$ram/io-target.bin"
  export io_src io_dst ram
  rate() { awk -v b="$io_bytes" -v s="$1" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
  measure "$work/io.log" io_dd_read
  dd_read=$(rate "$secs")
  measure "$work/io.log" io_li_read
  li_read=$(rate "$secs")
  "$bin" capture "$io_src" "$ram/io.lim" >>"$work/io.log" 2>&1
  measure "$work/io.log" io_dd_write
  dd_write=$(rate "$secs")
  measure "$work/io.log" io_li_write
  li_write=$(rate "$secs")
  io_check=pass
  cmp -s "$ram/io-source.bin" "$io_dst" || io_check="FAIL: the restored device differs from the data"
  detach "$io_src"
  detach "$io_dst"
  rm -f "$ram"/io-*
  extra+=("$(awk -v dr="$dd_read" -v lr="$li_read" -v dw="$dd_write" -v lw="$li_write" -v s="$io_size" -v c="$io_check" 'BEGIN {
    printf "I/O ceiling (%s of random bytes on a RAM-backed loop device):\n", s
    printf "  read   dd iflag=direct bs=4M %6d MiB/s   liveimager capture to /dev/null %6d MiB/s  (%3.0f%% of dd)\n", dr, lr, 100 * lr / dr
    printf "  write  dd oflag=direct bs=4M %6d MiB/s   liveimager restore from RAM     %6d MiB/s  (%3.0f%% of dd)  restored: %s\n", dw, lw, 100 * lw / dw, c }')")

  echo "bench: a 16 TiB sparse disk with a small ext4"
  big_bytes=$((16 << 40))
  mkdir -p "$work/big-files"
  cp -a /usr/share/doc "$work/big-files/doc" 2>/dev/null || true
  head -c 32M /dev/urandom >"$work/big-files/random.bin"
  truncate -s 256M "$ram/big-ext4.img"
  mkfs.ext4 -q -F -L big -d "$work/big-files" "$ram/big-ext4.img"
  truncate -s "$big_bytes" "$ram/big.img"
  sgdisk -o -n 1:2048:+256M -t 1:8300 "$ram/big.img" >/dev/null
  dd if="$ram/big-ext4.img" of="$ram/big.img" bs=1M seek=1 conv=notrunc,sparse status=none
  rm -f "$ram/big-ext4.img"
  big_used=$(du -sm "$work/big-files" | cut -f1)
  measure "$work/big.log" big_capture
  big_cap_s=$secs big_cap_rss=$rss
  measure "$work/big.log" big_restore
  big_rst_s=$secs big_rst_rss=$rss
  measure "$work/big.log" big_verify
  big_ver_s=$secs big_ver_rss=$rss
  # The GPT and its backup at the end come back byte for byte; the holes between are not read (16 TiB of them). The
  # ext4 comes back as a filesystem, not byte for byte: its never-used inode-table ends are not copied and the restore
  # clears their "zeroed" flag in the descriptors (ExtInodeTableFixup), so it is fscked and its files compared.
  big_check=pass
  if ! cmp -s -n $((1 << 20)) "$ram/big.img" "$ram/big-restored.img" ||
    ! cmp -s -i $((big_bytes - (1 << 20))) "$ram/big.img" "$ram/big-restored.img"; then
    big_check="FAIL: the restored partition table differs"
  else
    attach big_dst -r -o $((1 << 20)) --sizelimit $((256 << 20)) "$ram/big-restored.img"
    mkdir -p "$work/big-mnt"
    if ! e2fsck -fn "$big_dst" >"$work/big-fsck.log" 2>&1; then
      big_check="FAIL: e2fsck found errors in the restored ext4 ($work/big-fsck.log)"
    elif ! mount -o ro,noload "$big_dst" "$work/big-mnt"; then
      big_check="FAIL: the restored ext4 does not mount"
    else
      diff -r --no-dereference --exclude=lost+found "$work/big-files" "$work/big-mnt" >/dev/null ||
        big_check="FAIL: the restored files differ"
      umount "$work/big-mnt"
    fi
    detach "$big_dst"
  fi
  extra+=("$(awk -v u="$big_used" -v cs="$big_cap_s" -v cr="$big_cap_rss" -v rs="$big_rst_s" -v rr="$big_rst_rss" \
    -v vs="$big_ver_s" -v vr="$big_ver_rss" -v im="$(stat -c %s "$ram/big.lim")" -v c="$big_check" 'BEGIN {
    m = cr; if (rr > m) m = rr; if (vr > m) m = vr
    printf "16 TiB sparse disk (GPT, one 256 MiB ext4 holding %d MiB of files), image %.1f MiB:\n", u, im / 1048576
    printf "  capture %.2f s %d MiB RSS, restore %.2f s %d MiB RSS, verify --against %.2f s %d MiB RSS; peak %d MiB (%s 256 MiB)  restored: %s\n",
      cs, cr / 1024, rs, rr / 1024, vs, vr / 1024, m / 1024, m <= 262144 ? "within" : "OVER", c }')")
  rm -f "$ram"/big*
  umount "$ram"
  ram=
elif [ "${bin_ok:-0}" = 1 ] && want big; then
  echo "bench: the 16 TiB row runs with the io row (it uses its RAM disk); add io to BENCH_ROWS" >&2
fi

# --- Report.
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo
echo "disk: $(mib "$disk_bytes") MiB, $(nproc) cores; page cache dropped before every capture and restore"
printf '%-22s %10s %10s %11s %9s %9s  %s\n' method "capture s" "restore s" "image MiB" "cap RSS" "rst RSS" "restored disk"
for row in "${results[@]}"; do
  IFS=$'\t' read -r name cs rs bytes crss rrss check <<<"$row"
  if [ "$cs" = "not built" ]; then
    printf '%-22s %10s\n' "$name" "not built"
    continue
  fi
  if [ "$cs" = "-" ]; then
    printf '%-22s %10s %10s %11s %9s %8sM  %s\n' "$name" "-" "$rs" "$(mib "$bytes")" "-" $((rrss / 1024)) "$check"
    continue
  fi
  if [ "$rs" = "-" ]; then
    printf '%-22s %10s %10s %11s %8sM %9s  %s\n' "$name" "$cs" "-" "$(mib "$bytes")" $((crss / 1024)) "-" "$check"
    continue
  fi
  printf '%-22s %10s %10s %11s %8sM %8sM  %s\n' "$name" "$cs" "$rs" "$(mib "$bytes")" $((crss / 1024)) $((rrss / 1024)) "$check"
done

pc_row= li_row= enc_row= changed_row= inc_row=
for row in "${results[@]}"; do
  case $row in
    partclone*) pc_row=$row ;;
    liveimager$'\t'*) li_row=$row ;;
    "liveimager encrypted"$'\t'*) enc_row=$row ;;
    "liveimager, changed disk"$'\t'*) changed_row=$row ;;
    "liveimager incremental"$'\t'*) inc_row=$row ;;
  esac
done
if [ -n "$changed_row" ] && [ -n "$inc_row" ]; then
  IFS=$'\t' read -r _ ch_cs _ ch_b _ _ _ <<<"$changed_row"
  IFS=$'\t' read -r _ in_cs _ in_b _ _ _ <<<"$inc_row"
  echo
  awk -v cc="$ch_cs" -v cb="$ch_b" -v ic="$in_cs" -v ib="$in_b" 'BEGIN {
    printf "incremental against a full capture of the changed disk: capture %.2fx the time, image %.3fx the size\n", ic / cc, ib / cb }'
fi
if [ -n "$li_row" ] && [ -n "$enc_row" ]; then
  IFS=$'\t' read -r _ li_cs li_rs li_b _ _ _ <<<"$li_row"
  IFS=$'\t' read -r _ en_cs en_rs en_b _ _ _ <<<"$enc_row"
  echo
  awk -v lc="$li_cs" -v lr="$li_rs" -v lb="$li_b" -v ec="$en_cs" -v er="$en_rs" -v eb="$en_b" 'BEGIN {
    printf "encrypted against plain liveimager: capture %+.1f%%, restore %+.1f%%, image %+.3f%% (%d bytes)\n",
      100 * (ec / lc - 1), 100 * (er / lr - 1), 100 * (eb / lb - 1), eb - lb }'
fi
[ -n "$pc_row" ] && echo && echo "ratios against partclone | zstd -$level (speed-up = partclone's seconds / these seconds; size = these bytes / partclone's):"
IFS=$'\t' read -r _ pc_cs pc_rs pc_b _ _ _ <<<"${pc_row:-x}"
for row in "${results[@]}"; do
  [ -n "$pc_row" ] || break
  IFS=$'\t' read -r name cs rs bytes _ _ _ <<<"$row"
  case $name in partclone*) continue ;; esac
  if [ "$cs" = "not built" ]; then
    printf '  %-20s not built\n' "$name"
    continue
  fi
  if [ "$rs" = "-" ]; then
    awk -v n="$name" -v pcs="$pc_cs" -v pb="$pc_b" -v cs="$cs" -v b="$bytes" \
      'BEGIN { printf "  %-20s capture %.2fx faster, image %.2fx the size\n", n, pcs / cs, b / pb }'
    continue
  fi
  if [ "$rs" = "refused" ]; then
    printf '  %-20s restore refused the image\n' "$name"
    continue
  fi
  if [ "$cs" = "-" ]; then
    awk -v n="$name" -v prs="$pc_rs" -v rs="$rs" 'BEGIN { printf "  %-20s restore of the same partclone images %.2fx faster than partclone'"'"'s own\n", n, prs / rs }'
    continue
  fi
  awk -v n="$name" -v pcs="$pc_cs" -v prs="$pc_rs" -v pb="$pc_b" -v cs="$cs" -v rs="$rs" -v b="$bytes" \
    'BEGIN { printf "  %-20s capture %.2fx faster, image %.2fx the size, restore %.2fx faster\n", n, pcs / cs, b / pb, prs / rs }'
done
for row in "${extra[@]}"; do
  echo
  echo "$row"
done
echo
for check in "$work"/*.check; do
  grep -q '^FAIL' "$check" || continue
  echo "failed checks of $(basename "$check" .check):"
  grep '^FAIL' "$check" | sed 's/^/  /'
done
