#!/usr/bin/env bash
# Installs the Debian packages that the tests, the demo and the benchmark use. Needs root (as CI and the live
# system's build run); elsewhere it says what is missing instead of failing half-way.
# --live: also the packages that build the live medium and boot it in QEMU (make live, make live-test).
set -euo pipefail

packages=(udpcast e2fsprogs dosfstools exfatprogs exfat-fuse ntfs-3g mtools fdisk gdisk util-linux partclone zstd tmux jq xorriso
          openssh-server openssh-client sshfs fuse3 time cryptsetup-bin lvm2
          btrfs-progs xfsprogs libnbd-bin python3-libnbd qemu-utils fuse2fs xz-utils bzip2 lz4 xxhash
          nbdkit dnsmasq-base busybox ipxe)

# One package per line, so that further live-test cases can append theirs.
live_packages=(
  mmdebstrap
  squashfs-tools
  grub-pc-bin
  grub-efi-amd64-bin
  grub-common
  shim-signed
  grub-efi-amd64-signed
  mtools
  cpio
  dosfstools
  qemu-system-x86
  ovmf
  # the host-side servers of the live test's network cases (scripts/live-test/servers.sh)
  samba
  smbclient
  nfs-ganesha
  nfs-ganesha-vfs
  libnfs-utils
)

if [ "${1:-}" = --live ]; then packages+=("${live_packages[@]}"); fi

# The s3:// store tests' server (npm's s3rver); its own script, so a missing node only skips those tests.
"$(dirname "$0")/install-s3-server.sh" || echo "install-deps: the S3 test server could not be installed; the s3:// tests will skip" >&2

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
