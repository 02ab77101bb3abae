#!/usr/bin/env bash
# Builds a realistic test disk image file: GPT, a FAT32 EFI partition, ext4, NTFS, swap and unpartitioned garbage,
# filled with real files from /usr plus random data, with deleted files leaving stale data in free space.
# Next to it writes OUT.img.manifest/ (the partition table and per-file sha256 sums per partition) that
# scripts/check-test-disk.sh compares a disk against. No root needed: mkfs tools write into the file at offsets,
# mtools fills FAT (this kernel has no vfat driver), debugfs deletes on ext4, and NTFS is filled through an
# ntfs-3g FUSE mount of a separate file that is then copied into place.
#
# usage: make-test-disk.sh OUT.img [SIZE]      SIZE like 256M (default) or 2G, at least 128M
# env:   TEST_DISK_EXT4_FILL=55  TEST_DISK_NTFS_FILL=50  TEST_DISK_FAT_FILL=20   percent of each filesystem
#        filled with files;  TEST_DISK_DELETED=10   percent of each filesystem written then deleted;
#        TEST_DISK_SWAP=1  TEST_DISK_TAIL=1         0 leaves out the swap partition / the unpartitioned garbage.
set -euo pipefail

usage() { echo "usage: $0 OUT.img [SIZE]   (SIZE like 256M or 2G, default 256M)" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
out=$1
size_bytes=$(numfmt --from=iec "${2:-256M}") || usage
mib=$((1024 * 1024))
size_mib=$((size_bytes / mib))
[ "$size_mib" -ge 128 ] || { echo "make-test-disk: SIZE must be at least 128M" >&2; exit 2; }
ext4_fill=${TEST_DISK_EXT4_FILL:-55}
ntfs_fill=${TEST_DISK_NTFS_FILL:-50}
fat_fill=${TEST_DISK_FAT_FILL:-20}
deleted_pct=${TEST_DISK_DELETED:-10}
with_swap=${TEST_DISK_SWAP:-1}
with_tail=${TEST_DISK_TAIL:-1}
manifest=$out.manifest

for tool in sfdisk sgdisk mkfs.fat mcopy mdel mkfs.ext4 debugfs mkntfs ntfs-3g mkswap blkid sha256sum numfmt; do
  command -v "$tool" >/dev/null || { echo "make-test-disk: $tool is missing (run scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/make-test-disk.XXXXXX")
ntfs_mnt=$work/ntfs-mnt
cleanup() {
  if mountpoint -q "$ntfs_mnt" 2>/dev/null; then
    fusermount -u "$ntfs_mnt" 2>/dev/null || umount "$ntfs_mnt"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export MTOOLS_SKIP_CHECK=1
started=$SECONDS

# Runs a tool that chats on success; shows what it said only when it fails.
quietly() {
  "$@" >"$work/tool.log" 2>&1 || {
    local rc=$?
    cat "$work/tool.log" >&2
    echo "make-test-disk: failed ($rc): $*" >&2
    return "$rc"
  }
}

clamp() { local v=$1 lo=$2 hi=$3; ((v < lo)) && v=$lo; ((v > hi)) && v=$hi; echo "$v"; }

# Layout in MiB: 1 MiB of GPT and boot loader gap, EFI, ext4, NTFS, swap, garbage, then room for the backup GPT.
efi_mib=$(clamp $((size_mib / 16)) 40 260)
swap_mib=0; [ "$with_swap" = 1 ] && swap_mib=$(clamp $((size_mib / 16)) 16 512)
tail_mib=0; [ "$with_tail" = 1 ] && tail_mib=$(clamp $((size_mib / 32)) 4 256)
rest_mib=$((size_mib - 2 - efi_mib - swap_mib - tail_mib))
ext4_mib=$((rest_mib * 58 / 100))
ntfs_mib=$((rest_mib - ext4_mib))
efi_start=1
ext4_start=$((efi_start + efi_mib))
ntfs_start=$((ext4_start + ext4_mib))
swap_start=$((ntfs_start + ntfs_mib))
tail_start=$((swap_start + swap_mib))

rm -rf "$out" "$manifest"
truncate -s "$size_bytes" "$out"
mkdir -p "$manifest"

{
  echo "label: gpt"
  echo "unit: sectors"
  echo "start=$((efi_start * 2048)), size=$((efi_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"EFI system partition\""
  echo "start=$((ext4_start * 2048)), size=$((ext4_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=\"linux\""
  echo "start=$((ntfs_start * 2048)), size=$((ntfs_mib * 2048)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=\"windows\""
  [ "$with_swap" = 1 ] && echo "start=$((swap_start * 2048)), size=$((swap_mib * 2048)), type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name=\"swap\""
  true
} | sfdisk -q "$out"

# Stand-in for a boot loader in the gap between the GPT entries (LBA 34) and the first partition, as GRUB's core.img
# sits on BIOS disks; an imager that drops it makes a disk that no longer boots.
head -c $((64 * 1024)) /dev/urandom | dd of="$out" bs=512 seek=34 conv=notrunc status=none

# Real files from /usr, listed once as "size<TAB>path"; names restricted to characters every filesystem here takes.
find /usr -xdev -type f -readable -size -16M -printf '%s\t%P\n' 2>/dev/null |
  grep -E $'\t[A-Za-z0-9_+][A-Za-z0-9._+/-]*$' | grep -vE '/[-.]' >"$work/usr-files" || true
[ -s "$work/usr-files" ] || { echo "make-test-disk: found no files under /usr to copy" >&2; exit 1; }

# Picks /usr files of at least MIN bytes (a different shuffle per seed) taking up at most BUDGET bytes in 4 KiB
# blocks, one relative path per line.
pick_usr_files() {
  local seed=$1 budget=$2 min=$3
  shuf --random-source=<(yes "$seed") "$work/usr-files" |
    awk -F '\t' -v budget="$budget" -v min="$min" '
      $1 >= min { a = int(($1 + 4095) / 4096) * 4096; if (sum + a <= budget) { sum += a; print $2 } }'
}

# Writes random files of mixed sizes (4 KiB to 8 MiB) totalling about BUDGET bytes into DIR.
write_random_files() {
  local dir=$1 budget=$2 prefix=$3 n=0 size
  mkdir -p "$dir"
  while [ "$budget" -gt 4096 ]; do
    size=$(( (RANDOM * 32768 + RANDOM) % (8 * mib) + 4096 ))
    ((size > budget)) && size=$budget
    head -c "$size" /dev/urandom >"$dir/$prefix-$n.bin"
    budget=$((budget - size))
    n=$((n + 1))
  done
}

# Fills DIR with BUDGET bytes: about two thirds real /usr files of at least MIN bytes under usr/, the rest random
# data under data/.
stage_files() {
  local dir=$1 budget=$2 seed=$3 min=$4
  mkdir -p "$dir/usr"
  pick_usr_files "$seed" $((budget * 2 / 3)) "$min" >"$work/pick-$seed"
  tar -C /usr -cf - --no-recursion -T "$work/pick-$seed" | tar -C "$dir/usr" -xf -
  local used
  used=$(du -sB1 "$dir" | cut -f1)
  write_random_files "$dir/data" $((budget - used)) file
}

# Writes the manifest of DIR's files as sha256sum lines with ./-relative paths, sorted.
write_sums() {
  local dir=$1 sums=$2
  (cd "$dir" && find . -type f -print0 | sort -z | xargs -0r sha256sum) >"$sums"
}

fill_budget() { echo $(($1 * mib * $2 / 100)); }

# --- EFI system partition: FAT32 written in place, filled and pruned with mtools.
efi_img="$out@@$((efi_start * mib))"
quietly mkfs.fat -F 32 -s 1 -n EFI --offset $((efi_start * 2048)) "$out" $((efi_mib * 1024))
efi_stage=$work/efi
efi_budget=$(fill_budget "$efi_mib" "$fat_fill")
mkdir -p "$efi_stage/EFI/BOOT" "$efi_stage/EFI/debian/doc"
head -c $((900 * 1024)) /dev/urandom >"$efi_stage/EFI/BOOT/BOOTX64.EFI"
head -c $((1500 * 1024)) /dev/urandom >"$efi_stage/EFI/debian/grubx64.efi"
echo "configfile \$prefix/grub.cfg" >"$efi_stage/EFI/debian/grub.cfg"
# FAT is case-insensitive: flatten the picked /usr files into one folder under numbered names so none collide.
n=0
while IFS= read -r f; do
  cp "/usr/$f" "$efi_stage/EFI/debian/doc/$n-$(basename "$f")"
  n=$((n + 1))
done < <(pick_usr_files fat $((efi_budget - 3 * mib)) 32768)
mkdir -p "$work/efi-trash"
write_random_files "$work/efi-trash" "$(fill_budget "$efi_mib" "$deleted_pct")" old
mcopy -s -i "$efi_img" "$work/efi-trash" "::/TRASH"
mcopy -s -i "$efi_img" "$efi_stage/EFI" "::/"
mdeltree -i "$efi_img" "::/TRASH"
write_sums "$efi_stage" "$manifest/p1.vfat.sha256"

# --- ext4: mkfs.ext4 -d writes the staged tree in place; then debugfs deletes the trash, leaving its data behind.
ext4_stage=$work/ext4
stage_files "$ext4_stage" "$(fill_budget "$ext4_mib" "$ext4_fill")" ext4 0
write_random_files "$ext4_stage/trash" "$(fill_budget "$ext4_mib" "$deleted_pct")" old
ext4_dev="$out?offset=$((ext4_start * mib))"
# Twice the inodes the tree needs: small disks filled with small /usr files run out at the default ratio.
ext4_inodes=$(($(find "$ext4_stage" | wc -l) * 2 + 1024))
quietly mkfs.ext4 -q -F -b 4096 -N "$ext4_inodes" -L linux -E "offset=$((ext4_start * mib)),nodiscard" \
  -d "$ext4_stage" "$out" "${ext4_mib}M"
for f in "$ext4_stage"/trash/*; do
  if [ -e "$f" ]; then echo "rm /trash/$(basename "$f")"; fi
done >"$work/ext4-rm"
echo "rmdir /trash" >>"$work/ext4-rm"
# debugfs exits 0 whatever happens; anything on stderr besides its banner is a failure.
debugfs -w -f "$work/ext4-rm" "$ext4_dev" 2>&1 >/dev/null | grep -v '^debugfs [0-9]' >&2 && exit 1
rm -rf "$ext4_stage/trash"
write_sums "$ext4_stage" "$manifest/p2.ext4.sha256"

# --- NTFS: mkntfs on a separate file, filled through ntfs-3g, trash deleted, then copied into place.
ntfs_file=$work/ntfs.img
ntfs_stage=$work/ntfs
truncate -s $((ntfs_mib * mib)) "$ntfs_file"
quietly mkntfs -q -F -Q -L windows -p $((ntfs_start * 2048)) -S 63 -H 255 "$ntfs_file"
# Larger files than on ext4: each file through FUSE costs milliseconds, and the default disk must build quickly.
stage_files "$ntfs_stage" "$(fill_budget "$ntfs_mib" "$ntfs_fill")" ntfs 16384
write_random_files "$work/ntfs-trash" "$(fill_budget "$ntfs_mib" "$deleted_pct")" old
mkdir -p "$ntfs_mnt"
ntfs-3g "$ntfs_file" "$ntfs_mnt"
cp -r "$work/ntfs-trash" "$ntfs_mnt/trash"
sync -f "$ntfs_mnt"
cp -r "$ntfs_stage/." "$ntfs_mnt/"
rm -rf "$ntfs_mnt/trash"
ntfs_use=$(df --output=pcent "$ntfs_mnt" | tail -1 | tr -d ' ')
fusermount -u "$ntfs_mnt" 2>/dev/null || umount "$ntfs_mnt"
dd if="$ntfs_file" of="$out" bs=1M seek="$ntfs_start" conv=notrunc,sparse status=none
rm -f "$ntfs_file"
write_sums "$ntfs_stage" "$manifest/p3.ntfs.sha256"

# --- swap: mkswap has no offset option, so it formats a small file whose header is copied into place.
if [ "$with_swap" = 1 ]; then
  truncate -s $((swap_mib * mib)) "$work/swap.img"
  quietly mkswap -L swap "$work/swap.img"
  dd if="$work/swap.img" of="$out" bs=1M seek="$swap_start" count=1 conv=notrunc status=none
  blkid -p -o value -s UUID "$work/swap.img" | sed 's/^/UUID=/' >"$manifest/p4.swap"
fi

# --- unpartitioned garbage: what a previous layout left behind; no imager needs to keep it.
if [ "$with_tail" = 1 ]; then
  head -c $((tail_mib * mib)) /dev/urandom | dd of="$out" bs=1M seek="$tail_start" conv=notrunc status=none
fi

sfdisk -d "$out" >"$manifest/layout.sfdisk"
dd if="$out" bs=512 skip=34 count=128 status=none | sha256sum | cut -d' ' -f1 >"$manifest/gap.sha256"
echo "$size_bytes" >"$manifest/size"

ext4_free=$(dumpe2fs -h "$ext4_dev" 2>/dev/null | awk -F: '/^Free blocks/ {f=$2} /^Block count/ {c=$2} END {printf "%d%%", 100 - 100 * f / c}')
printf 'make-test-disk: %s, %s MiB in %d s: EFI %d MiB, ext4 %d MiB (%s used), NTFS %d MiB (%s used), swap %d MiB, garbage %d MiB\n' \
  "$out" "$size_mib" $((SECONDS - started)) "$efi_mib" "$ext4_mib" "$ext4_free" "$ntfs_mib" "$ntfs_use" "$swap_mib" "$tail_mib"
printf 'make-test-disk: manifest %s/ (%d files)\n' "$manifest" "$(cat "$manifest"/*.sha256 | grep -c '  ./')"
