#!/bin/bash
# mmdebstrap customize hook for the base layer: runs on the build host after the packages are installed, with the
# root file system's directory as $1. Installs overlay/base, decides which services start at boot, and drops what a
# live system never uses. Everything it reads is part of the base layer's cache key.
set -euo pipefail
root=$1
here=$(cd "$(dirname "$0")/.." && pwd)

cp -a --no-preserve=ownership "$here/overlay/base/." "$root/"

# Networking: systemd-networkd with the match-all DHCP file, resolved for DNS. Nothing waits for the network at
# boot: a machine without a cable must reach the TUI as fast as one with.
chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1
chroot "$root" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

# Services the packages enable that a live imaging system does not want running.
for unit in smartd.service smartmontools.service e2scrub_all.timer e2scrub_reap.service fstrim.timer \
            apt-daily.timer apt-daily-upgrade.timer rpcbind.service rpcbind.socket nfs-client.target; do
  chroot "$root" systemctl disable "$unit" >/dev/null 2>&1 || true
done

# Kernel modules for hardware an imaging PC does not need (sound, cameras and TV, wireless, InfiniBand, big GPU
# drivers: the console uses the firmware's frame buffer). Saves about half of /lib/modules.
kver=$(ls "$root/lib/modules")
for dir in sound drivers/media drivers/net/wireless drivers/infiniband drivers/gpu/drm/amd drivers/gpu/drm/nouveau \
           drivers/gpu/drm/radeon drivers/gpu/drm/i915 drivers/staging drivers/bluetooth net/bluetooth \
           drivers/iio drivers/isdn net/mac80211 net/wireless; do
  rm -rf "$root/lib/modules/$kver/kernel/$dir"
done
chroot "$root" depmod "$kver"

# The initramfs was made while the packages were installed, before overlay/base was copied in: make it again, so that
# it holds the overlay's /etc/lvm/lvmlocal.conf. Its udev rules run "vgchange -aay" for every complete VG they find,
# and only that file's empty auto-activation list keeps them from holding the disks of every VG at boot.
chroot "$root" update-initramfs -u -k "$kver" >/dev/null

rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
       "$root/var/log/"*.log "$root/var/log/apt" "$root/tmp/"*
: >"$root/etc/machine-id"
