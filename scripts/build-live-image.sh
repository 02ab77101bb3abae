#!/usr/bin/env bash
# Builds the LiveImager live medium from the recipe in live-image/: a Debian bookworm base layer (mmdebstrap
# minbase, zstd squashfs; cached), a small app layer zz-app.squashfs (the AOT binary and the live system's own
# files), and a hybrid ISO that boots BIOS and UEFI (also with Secure Boot, through Debian's signed shim and GRUB)
# from a CD or a USB stick. Writes artifacts/liveimager.iso and, for PXE, artifacts/live/.
#
# usage: build-live-image.sh                 full build (root; the base layer is reused from the cache when its
#                                            recipe, the package list and the apt sources are unchanged)
#        build-live-image.sh --check OUTDIR  no root, no network: checks the recipe and writes the app layer's tree
#                                            (and zz-app.squashfs when mksquashfs exists), grub.cfg and the early
#                                            GRUB config into OUTDIR with a fixed build ID, for the fast tests
# env:   LIVEIMAGER_BINARY (artifacts/liveimager), LIVE_CACHE (/var/cache/liveimager-live),
#        LIVE_SOURCES (the host's apt sources file), ARTIFACTS (artifacts)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
recipe=$repo/live-image
artifacts=${ARTIFACTS:-$repo/artifacts}
binary=${LIVEIMAGER_BINARY:-$artifacts/liveimager}
cache_root=${LIVE_CACHE:-/var/cache/liveimager-live}
suite=bookworm
efi_image_kib=8192

die() { echo "build-live-image: $*" >&2; exit 1; }
log() { echo "build-live-image: $*"; }

# The apt sources this machine uses; their mirror is the live system's mirror.
host_sources() {
  if [ -n "${LIVE_SOURCES:-}" ]; then echo "$LIVE_SOURCES"; return; fi
  local f
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ] && grep -qE '^[^#]*(URIs:|deb ) *[a-z]+://' "$f"; then echo "$f"; return; fi
  done
  die "no Debian apt sources found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
}

# Package names from packages.list, one per line, without comments.
package_list() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$recipe/packages.list" | grep -v '^$'; }

# Boot entries as "id|hotkey|title|parameters" lines, trimmed.
boot_entries() {
  sed -e 's/#.*//' "$recipe/boot-entries" | grep -v '^[[:space:]]*$' |
    awk -F '|' '{ for (i = 1; i <= NF; i++) gsub(/^[ \t]+|[ \t]+$/, "", $i); print $1 "|" $2 "|" $3 "|" $4 }'
}

# Checks what the recipe promises before anything is built: every entry complete with a unique id and hotkey, the
# entries the contract needs, and the packages the live system cannot work without.
check_recipe() {
  local entries ids hotkeys p
  entries=$(boot_entries)
  [ -n "$entries" ] || die "live-image/boot-entries has no entries"
  awk -F '|' 'NF != 4 || $1 == "" || length($2) != 1 || $3 == "" { exit 1 }' <<<"$entries" ||
    die "live-image/boot-entries: every line needs id | one-letter hotkey | title | parameters"
  ids=$(cut -d'|' -f1 <<<"$entries" | sort | uniq -d)
  hotkeys=$(cut -d'|' -f2 <<<"$entries" | sort | uniq -d)
  [ -z "$ids$hotkeys" ] || die "live-image/boot-entries: duplicate id or hotkey: $ids $hotkeys"
  grep -qE '^(c|e)$' <(cut -d'|' -f2 <<<"$entries") && die "live-image/boot-entries: GRUB keeps the keys c and e"
  for p in default serial toram unattended; do
    grep -q "^$p|" <<<"$entries" || die "live-image/boot-entries: no '$p' entry"
  done
  for p in linux-image-amd64 live-boot systemd-sysv udev; do
    package_list | grep -qx "$p" || die "live-image/packages.list lacks $p"
  done
}

# Writes grub.cfg for medium ID into FILE: the menu head, then one menuentry per boot entry.
write_grub_cfg() {
  local id=$1 file=$2 entry_id hotkey title params
  sed "s/@MEDIUM@/$id/g" "$recipe/grub/grub.cfg.head" >"$file"
  while IFS='|' read -r entry_id hotkey title params; do
    printf '\nmenuentry "%s" --hotkey=%s --id=%s {\n' "$title" "$hotkey" "$entry_id"
    printf '  linux /live/vmlinuz boot=live liveimager.medium=%s %s\n' "$id" "$params"
    printf '  initrd /live/initrd.img\n}\n'
  done < <(boot_entries) >>"$file"
}

# Stages the app layer's tree in DIR: overlay/app and the binary.
stage_app_layer() {
  local dir=$1
  [ -x "$binary" ] || die "no binary at $binary (make publish)"
  rm -rf "$dir"
  mkdir -p "$dir/usr/bin"
  cp -a --no-preserve=ownership "$recipe/overlay/app/." "$dir/"
  install -m 0755 "$binary" "$dir/usr/bin/liveimager"
}

make_squashfs() { mksquashfs "$1" "$2" -noappend -all-root -comp zstd -b 1M -quiet -no-progress >/dev/null; }

# The base layer's cache key: everything that goes into it.
base_key() {
  local sources=$1
  {
    echo "suite=$suite"
    package_list
    cat "$sources" "$recipe/hooks/base.sh"
    sed -n '/^mmdebstrap_base()/,/^}/p' "$0"
    (cd "$recipe/overlay/base" && find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a %F' &&
      find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

# Builds the base root file system into DIR (mmdebstrap, root mode, the host's apt sources).
mmdebstrap_base() {
  local dir=$1 sources=$2
  mmdebstrap --mode=root --variant=minbase --quiet \
    --include="$(package_list | paste -sd,)" \
    --aptopt='Acquire::Languages "none"' \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook="\"$recipe/hooks/base.sh\" \"\$1\"" \
    "$suite" "$dir" "$sources"
}

# Makes sure the cache holds the base layer for the current recipe; prints its directory.
ensure_base() {
  local sources key dir work started
  sources=$(host_sources)
  key=$(base_key "$sources")
  dir=$cache_root/base-$key
  if [ -s "$dir/filesystem.squashfs" ] && [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.img" ]; then
    log "base layer cached: $dir" >&2
    echo "$dir"
    return
  fi
  log "building the base layer $key from $sources (mmdebstrap, a few minutes)" >&2
  started=$SECONDS
  mkdir -p "$cache_root"
  work=$(mktemp -d "$cache_root/work.XXXXXX")
  mmdebstrap_base "$work/rootfs" "$sources" >&2
  local kver
  kver=$(ls "$work/rootfs/lib/modules")
  cp "$work/rootfs/boot/vmlinuz-$kver" "$work/vmlinuz"
  cp "$work/rootfs/boot/initrd.img-$kver" "$work/initrd.img"
  rm -f "$work/rootfs/boot/"{vmlinuz,initrd.img,System.map}-*
  chroot "$work/rootfs" dpkg-query -W -f='${Package} ${Version}\n' >"$work/packages.txt"
  make_squashfs "$work/rootfs" "$work/filesystem.squashfs"
  rm -rf "$work/rootfs"
  rm -rf "$dir"
  mv "$work" "$dir"
  # Older bases are never used again; keep the cache to the current one.
  find "$cache_root" -mindepth 1 -maxdepth 1 -name 'base-*' ! -name "base-$key" -exec rm -rf {} +
  log "base layer built in $((SECONDS - started)) s: $(du -m "$dir/filesystem.squashfs" | cut -f1) MiB" >&2
  echo "$dir"
}

# The El Torito BIOS boot image (GRUB core for CDs, also started by boot_hybrid.img's MBR from a stick).
make_bios_image() {
  local id=$1 out=$2 work=$3
  sed "s/@MEDIUM@/$id/g" "$recipe/grub/early.cfg" >"$work/early.cfg"
  grub-mkimage -O i386-pc-eltorito -p /boot/grub -c "$work/early.cfg" -o "$out" \
    biosdisk iso9660 part_msdos part_gpt fat search search_fs_file configfile normal linux echo test \
    serial terminal sleep boot gzio minicmd
}

# The EFI partition: Debian's signed shim as the removable-media loader, the signed GRUB for CDs behind it, and the
# early config where that GRUB looks for it.
make_efi_image() {
  local id=$1 out=$2 work=$3
  rm -f "$out"
  mkfs.fat -C -n LIVEIMAGER "$out" "$efi_image_kib" >/dev/null
  sed "s/@MEDIUM@/$id/g" "$recipe/grub/early.cfg" >"$work/efi-grub.cfg"
  export MTOOLS_SKIP_CHECK=1
  mmd -i "$out" ::/EFI ::/EFI/BOOT ::/EFI/debian
  mcopy -i "$out" /usr/lib/shim/shimx64.efi.signed ::/EFI/BOOT/BOOTX64.EFI
  mcopy -i "$out" /usr/lib/shim/mmx64.efi.signed ::/EFI/BOOT/mmx64.efi
  mcopy -i "$out" /usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed ::/EFI/BOOT/grubx64.efi
  mcopy -i "$out" "$work/efi-grub.cfg" ::/EFI/BOOT/grub.cfg
  mcopy -i "$out" "$work/efi-grub.cfg" ::/EFI/debian/grub.cfg
  mcopy -i "$out" "$recipe/liveimager.conf.example" ::/liveimager.conf.example
}

# The initrd: a tiny uncompressed cpio with live-boot's conf/uuid.conf, so live-boot only takes a medium that
# carries this build's .disk/live-uuid file, then Debian's. The kernel unpacks an uncompressed archive before a
# compressed one (as with early microcode), not after it.
make_initrd() {
  local base_initrd=$1 id=$2 out=$3 work=$4
  mkdir -p "$work/uuid/conf"
  echo "$id" >"$work/uuid/conf/uuid.conf"
  (cd "$work/uuid" && find conf | cpio -o -H newc --quiet) >"$out"
  cat "$base_initrd" >>"$out"
}

check_mode() {
  local out=$1 id=2000-01-01-00-00-00-00
  check_recipe
  mkdir -p "$out"
  stage_app_layer "$out/app"
  write_grub_cfg "$id" "$out/grub.cfg"
  sed "s/@MEDIUM@/$id/g" "$recipe/grub/early.cfg" >"$out/early.cfg"
  if command -v mksquashfs >/dev/null; then make_squashfs "$out/app" "$out/zz-app.squashfs"; fi
  log "recipe ok; app layer, grub.cfg and early.cfg in $out"
}

full_build() {
  local started=$SECONDS base stamp id iso
  [ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap --mode=root, chroot); run as root or through sudo"
  for tool in mmdebstrap mksquashfs xorriso grub-mkimage mkfs.fat mmd mcopy cpio; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --live)"
  done
  for f in /usr/lib/shim/shimx64.efi.signed /usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed \
           /usr/lib/grub/i386-pc/boot_hybrid.img; do
    [ -f "$f" ] || die "$f is missing (scripts/install-deps.sh --live)"
  done
  check_recipe
  base=$(ensure_base)

  # Global: the EXIT trap removes it.
  work=$(mktemp -d "${TMPDIR:-/tmp}/build-live-image.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # The ISO's volume date is its UUID: unique per build, the medium's identity on the kernel command line.
  stamp=$(date -u +%Y%m%d%H%M%S)00
  id="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}-${stamp:8:2}-${stamp:10:2}-${stamp:12:2}-${stamp:14:2}"
  local tree=$work/iso
  mkdir -p "$tree/live" "$tree/.disk" "$tree/boot/grub/i386-pc"
  cp "$base/vmlinuz" "$tree/live/vmlinuz"
  make_initrd "$base/initrd.img" "$id" "$tree/live/initrd.img" "$work"
  ln "$base/filesystem.squashfs" "$tree/live/filesystem.squashfs" 2>/dev/null ||
    cp "$base/filesystem.squashfs" "$tree/live/filesystem.squashfs"
  stage_app_layer "$work/app"
  make_squashfs "$work/app" "$tree/live/zz-app.squashfs"
  echo "LiveImager $("$binary" --version 2>/dev/null | head -1) (Debian $suite) $id" >"$tree/.disk/info"
  echo "$id" >"$tree/.disk/live-uuid-$id"
  cp "$base/packages.txt" "$tree/live/packages.txt"
  write_grub_cfg "$id" "$tree/boot/grub/grub.cfg"
  make_bios_image "$id" "$tree/boot/grub/i386-pc/eltorito.img" "$work"
  make_efi_image "$id" "$work/efi.img" "$work"

  mkdir -p "$artifacts"
  iso=$artifacts/liveimager.iso
  xorriso -as mkisofs -quiet -iso-level 3 -r -J -joliet-long -V LIVEIMAGER \
    --modification-date="$stamp" \
    --grub2-mbr /usr/lib/grub/i386-pc/boot_hybrid.img -partition_offset 16 --mbr-force-bootable \
    -append_partition 2 0xef "$work/efi.img" \
    -c boot/boot.cat -b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table \
    --grub2-boot-info \
    -eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot \
    -o "$iso.partial" "$tree"
  mv "$iso.partial" "$iso"

  # PXE / direct kernel boot: the same kernel, initrd and layers.
  rm -rf "$artifacts/live"
  mkdir -p "$artifacts/live"
  cp "$tree/live/vmlinuz" "$tree/live/initrd.img" "$tree/live/zz-app.squashfs" "$artifacts/live/"
  ln "$base/filesystem.squashfs" "$artifacts/live/filesystem.squashfs" 2>/dev/null ||
    cp "$base/filesystem.squashfs" "$artifacts/live/filesystem.squashfs"
  cp -r "$tree/.disk" "$artifacts/live/.disk"
  echo "$id" >"$artifacts/live/medium-id"

  log "$iso: $(du -m "$iso" | cut -f1) MiB, medium $id, built in $((SECONDS - started)) s"
}

case "${1:-}" in
  --check) [ $# -eq 2 ] || die "usage: $0 --check OUTDIR"; check_mode "$2" ;;
  "") full_build ;;
  *) echo "usage: $0 [--check OUTDIR]" >&2; exit 2 ;;
esac
