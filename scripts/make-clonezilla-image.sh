#!/usr/bin/env bash
# Saves a disk (image file or block device) as Clonezilla's ocs-sr "savedisk" lays it out (ocs-functions of
# Clonezilla's source): disk, parts, DISK-pt.sf (sfdisk -d), DISK-mbr (first sector), and for MBR disks
# DISK-hidden-data-after-mbr (sector 1 up to the first partition); for GPT disks DISK-gpt-1st (34 sectors),
# DISK-gpt-2nd (the last 33), DISK-gpt.gdisk (sgdisk -b) and DISK-gpt.sgdisk (sgdisk -p); per partition
# PART.FS-ptcl-img.COMP made by partclone.FS -c piped into the compressor, or swappt-PART.info for swap, or
# PART.dd-ptcl-img.COMP (raw bytes) for a filesystem partclone does not know. No root needed for image files:
# each partition is copied out to a scratch file first, partclone reads that.
#
# usage: make-clonezilla-image.sh DISK OUTDIR [options]
#   --name sda          the disk's device name in the image (default sda)
#   --compress zst|gz|xz|bz2|lz4|uncomp   (default zst)
#   --split SIZE        split each partition image into SIZE pieces (.aa, .ab…), as ocs-sr -i does
#   --checksum N        partclone -a N (0 none, 1 CRC32; default: partclone's default, CRC32)
#   --blocks-per-checksum N   partclone -k N;  --no-reseed  partclone -K
set -euo pipefail

usage() { echo "usage: $0 DISK OUTDIR [--name sda] [--compress zst|gz|xz|bz2|lz4|uncomp] [--split SIZE] [--checksum N] [--blocks-per-checksum N] [--no-reseed]" >&2; exit 2; }
[ $# -ge 2 ] || usage
disk=$1 out=$2
shift 2
name=sda compress=zst split= pc_opts=()
while [ $# -gt 0 ]; do
  case $1 in
    --name) name=$2; shift ;;
    --compress) compress=$2; shift ;;
    --split) split=$2; shift ;;
    --checksum) pc_opts+=("-a" "$2"); shift ;;
    --blocks-per-checksum) pc_opts+=("-k" "$2"); shift ;;
    --no-reseed) pc_opts+=("-K") ;;
    *) usage ;;
  esac
  shift
done
case $compress in
  zst) compressor=(zstd -q -c -T0) ;;
  gz) compressor=(gzip -c) ;;
  xz) compressor=(xz -c -T0) ;;
  bz2) compressor=(bzip2 -c) ;;
  lz4) compressor=(lz4 -q -c) ;;
  uncomp) compressor=(cat) ;;
  *) usage ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/make-clonezilla-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Writes standard input to PREFIX, or to PREFIX.aa, PREFIX.ab… with --split.
store() {
  if [ -n "$split" ]; then split -b "$split" - "$1."; else cat >"$1"; fi
}

sfdisk -d "$disk" | sed -E "s#^(device: ).*#\1/dev/$name#; s#^[^ :]*[^0-9 :]([0-9]+) :#/dev/$name\1 :#" >"$out/$name-pt.sf"
dd if="$disk" of="$out/$name-mbr" bs=512 count=1 status=none
label=$(sed -n 's/^label: //p' "$out/$name-pt.sf")
first=$(grep -oE 'start= *[0-9]+' "$out/$name-pt.sf" | grep -oE '[0-9]+' | sort -n | head -1)
if [ "$label" = gpt ]; then
  sectors=$(( $(blockdev --getsize64 "$disk" 2>/dev/null || stat -c %s "$disk") / 512 ))
  dd if="$disk" of="$out/$name-gpt-1st" bs=512 count=34 status=none
  dd if="$disk" of="$out/$name-gpt-2nd" bs=512 skip=$((sectors - 33)) count=33 status=none
  sgdisk -b "$out/$name-gpt.gdisk" "$disk" >/dev/null
  sgdisk -p "$disk" >"$out/$name-gpt.sgdisk"
else
  dd if="$disk" of="$out/$name-hidden-data-after-mbr" bs=512 skip=1 count=$((first - 1)) status=none
fi

parts=()
while read -r number start size type; do
  part=$name$number
  # The extended partition holds the EBRs; Clonezilla saves no image of it.
  case ${type,,} in 5|f|85) continue ;; esac
  dd if="$disk" of="$work/part" bs=512 skip="$start" count="$size" status=none
  fs=$(blkid -p -o value -s TYPE "$work/part" || true)
  parts+=("$part")
  case $fs in
    swap)
      { echo "UUID=\"$(blkid -p -o value -s UUID "$work/part" || true)\""; echo "LABEL=\"$(blkid -p -o value -s LABEL "$work/part" || true)\""; } >"$out/swappt-$part.info"
      continue ;;
    ext2|ext3|ext4) tool=extfs ;;
    vfat) tool=fat ;;
    ntfs) tool=ntfs ;;
    exfat) tool=exfat ;;
    *) tool= ;;
  esac
  if [ -n "$tool" ]; then
    partclone.$tool -c -s "$work/part" -o - -L "$work/partclone.log" -f 0 "${pc_opts[@]}" 2>/dev/null |
      "${compressor[@]}" | store "$out/$part.$fs-ptcl-img.$compress"
  else
    "${compressor[@]}" <"$work/part" | store "$out/$part.dd-ptcl-img.$compress"
  fi
  rm -f "$work/part"
done < <(sed -nE 's/^[^ ]*[^0-9 ]([0-9]+) : start= *([0-9]+), size= *([0-9]+), type=([^, ]+).*/\1 \2 \3 \4/p' "$out/$name-pt.sf")

echo "$name" >"$out/disk"
echo "${parts[*]}" >"$out/parts"
echo "This image was saved by make-clonezilla-image.sh in Clonezilla's layout" >"$out/clonezilla-img"
