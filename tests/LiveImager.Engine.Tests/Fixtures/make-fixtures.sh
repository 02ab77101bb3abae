#!/usr/bin/env bash
# Regenerates the sysfs/procfs fixture trees beside this script. Each tree copies the layout the kernel (6.x) gives
# real hardware: the /sys/block/NAME symlink into /sys/devices, the attribute files the scanner reads, holders
# symlinks, and /proc/self/mountinfo and /proc/swaps lines in the kernel's format. Values (models, serials, WWNs,
# sizes) are those of typical devices of each kind; see README.md.
set -euo pipefail
cd "$(dirname "$0")"

attr() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" >"$1"; }

# disk ROOT PARENT NAME MAJ:MIN SECTORS512 LOGICAL PHYSICAL ROTATIONAL REMOVABLE [DEVICE_LINK_TARGET]
# PARENT is the directory under /sys holding the disk: ".../block" for SCSI, virtio and mmc, the controller for NVMe.
disk() {
  local root=$1 parent=$2 name=$3 dev=$4 sectors=$5 lbs=$6 pbs=$7 rot=$8 rem=$9 device=${10:-}
  local dir="$root/sys/$parent/$name"
  attr "$dir/dev" "$dev"
  attr "$dir/size" "$sectors"
  attr "$dir/queue/logical_block_size" "$lbs"
  attr "$dir/queue/physical_block_size" "$pbs"
  attr "$dir/queue/rotational" "$rot"
  attr "$dir/removable" "$rem"
  attr "$dir/ro" 0
  mkdir -p "$dir/holders" "$root/sys/block"
  ln -sr "$dir" "$root/sys/block/$name"
  if [ -n "$device" ]; then ln -sr "$root/sys/$device" "$dir/device"; fi
}

# part ROOT DISK NAME NUMBER MAJ:MIN START512 SIZE512
part() {
  local dir; dir="$(readlink -f "$1/sys/block/$2")/$3"
  attr "$dir/dev" "$5"
  attr "$dir/partition" "$4"
  attr "$dir/start" "$6"
  attr "$dir/size" "$7"
  attr "$dir/ro" 0
  mkdir -p "$dir/holders"
}

# holder ROOT BLOCK_DIRECTORY_UNDER_SYS HOLDER_NAME: a holders/NAME symlink to the holder's /sys/devices/virtual entry
holder() { ln -sr "$1/sys/devices/virtual/block/$3" "$(readlink -f "$1/sys/$2")/holders/$3"; }

# virtual ROOT NAME MAJ:MIN SECTORS512: md/dm/zram/loop devices live under /sys/devices/virtual/block
virtual() { disk "$1" devices/virtual/block "$2" "$3" "$4" 512 512 0 0; }

mountinfo() { attr "$1/proc/self/mountinfo" "$2"; }
swaps() { attr "$1/proc/swaps" "$(printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n%s' "$2")"; }

rm -rf nvme-laptop live-usb sata-md vm-loop lvm

# An NVMe laptop disk: EFI system partition, root (also bind-mounted at a path with a space), swap; zram swap too.
r=nvme-laptop
ctrl=devices/pci0000:00/0000:00:1d.0/0000:03:00.0/nvme/nvme0
attr "$r/sys/$ctrl/model" "Samsung SSD 980 PRO 1TB                 "
attr "$r/sys/$ctrl/serial" "S5GXNF0R123456A     "
attr "$r/sys/$ctrl/firmware_rev" "5B2QGXA7"
disk $r "$ctrl" nvme0n1 259:0 1953525168 512 512 0 0 "$ctrl"
attr "$r/sys/$ctrl/nvme0n1/wwid" "eui.002538b111b2c3d4"
part $r nvme0n1 nvme0n1p1 1 259:1 2048 1048576
part $r nvme0n1 nvme0n1p2 2 259:2 1050624 1919918080
part $r nvme0n1 nvme0n1p3 3 259:3 1920968704 32555008
virtual $r zram0 252:0 16777216
mountinfo $r "21 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
22 21 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 21 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
24 21 0:5 / /dev rw,nosuid,relatime shared:8 - devtmpfs udev rw,size=8012345k,nr_inodes=2003086,mode=755
25 21 0:25 / /run rw,nosuid,nodev,noexec,relatime shared:13 - tmpfs tmpfs rw,size=1609176k,mode=755
40 21 259:1 / /boot/efi rw,relatime shared:35 - vfat /dev/nvme0n1p1 rw,fmask=0077,dmask=0077,codepage=437,iocharset=ascii,shortname=mixed,utf8,errors=remount-ro
41 21 259:2 /home/anna/shared /media/my\\040disk rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro"
swaps $r "/dev/nvme0n1p3                          partition	16277500	0		-2
/dev/zram0                              partition	8388604		0		100"

# The live system, booted from a USB stick (sdb, iso9660 on sdb1 at /run/live/medium); a second, idle USB stick
# (sdc); the machine's internal SATA SSD (sda), not mounted.
r=live-usb
ata=devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0
attr "$r/sys/$ata/vendor" "ATA     "
attr "$r/sys/$ata/model" "Samsung SSD 860 "
attr "$r/sys/$ata/wwid" "naa.5002538e40a1b2c3"
mkdir -p "$r/sys/$ata"
printf '\x00\x80\x00\x14S3Z9NB0K123456X     ' >"$r/sys/$ata/vpd_pg80"
disk $r "$ata/block" sda 8:0 976773168 512 512 0 0 "$ata"
part $r sda sda1 1 8:1 2048 1050624
part $r sda sda2 2 8:2 1052672 975718400
usb1=devices/pci0000:00/0000:00:14.0/usb2/2-1
attr "$r/sys/$usb1/idVendor" "0781"
attr "$r/sys/$usb1/idProduct" "5581"
attr "$r/sys/$usb1/manufacturer" " USB"
attr "$r/sys/$usb1/product" " SanDisk 3.2Gen1"
attr "$r/sys/$usb1/serial" "4C530001230518117042"
scsi1="$usb1/2-1:1.0/host6/target6:0:0/6:0:0:0"
attr "$r/sys/$scsi1/vendor" " USB    "
attr "$r/sys/$scsi1/model" " SanDisk 3.2Gen1"
disk $r "$scsi1/block" sdb 8:16 60063744 512 512 1 1 "$scsi1"
part $r sdb sdb1 1 8:17 64 2713600
part $r sdb sdb2 2 8:18 2713664 10240
usb2=devices/pci0000:00/0000:00:14.0/usb2/2-2
attr "$r/sys/$usb2/idVendor" "0951"
attr "$r/sys/$usb2/idProduct" "1666"
attr "$r/sys/$usb2/serial" "E0D55EA573F1E4B0A9A40B2C"
scsi2="$usb2/2-2:1.0/host7/target7:0:0/7:0:0:0"
attr "$r/sys/$scsi2/vendor" "Kingston"
attr "$r/sys/$scsi2/model" "DataTraveler 3.0"
disk $r "$scsi2/block" sdc 8:32 60437492 512 512 1 1 "$scsi2"
part $r sdc sdc1 1 8:33 2048 60435444
mountinfo $r "22 1 0:20 / / rw,noatime - overlay overlay rw,lowerdir=/run/live/rootfs/filesystem.squashfs/,upperdir=/run/live/overlay/rw,workdir=/run/live/overlay/work
29 22 0:25 / /run rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1609176k,mode=755
30 29 8:17 / /run/live/medium ro,noatime - iso9660 /dev/sdb1 ro,norock,nojoliet,check=s,map=n,blocksize=2048,iocharset=utf8
31 29 7:0 / /run/live/rootfs/filesystem.squashfs ro,noatime - squashfs /dev/loop0 ro,errors=continue"
virtual $r loop0 7:0 2588672
attr "$r/sys/devices/virtual/block/loop0/loop/backing_file" "/run/live/medium/live/filesystem.squashfs"
swaps $r ""

# A server: two SATA disks mirrored by md0 (raid1, mounted at /srv) and a 4Kn SATA disk, unused.
r=sata-md
a1=devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0
a2=devices/pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0
a3=devices/pci0000:00/0000:00:17.0/ata3/host2/target2:0:0/2:0:0:0
attr "$r/sys/$a1/vendor" "ATA     "
attr "$r/sys/$a1/model" "ST2000DM008-2FR1"
attr "$r/sys/$a1/wwid" "naa.5000c500a1b2c3d4"
printf '\x00\x80\x00\x14            ZFL0A1B2' >"$r/sys/$a1/vpd_pg80"
attr "$r/sys/$a2/vendor" "ATA     "
attr "$r/sys/$a2/model" "ST2000DM008-2FR1"
attr "$r/sys/$a2/wwid" "t10.ATA     ST2000DM008-2FR102                      ZFL0C3D4"
printf '\x00\x80\x00\x14            ZFL0C3D4' >"$r/sys/$a2/vpd_pg80"
attr "$r/sys/$a3/vendor" "ATA     "
attr "$r/sys/$a3/model" "HGST HUS726T4TAL"
attr "$r/sys/$a3/wwid" "naa.5000cca0bbc1d2e3"
printf '\x00\x80\x00\x14        V6G1ABCD    ' >"$r/sys/$a3/vpd_pg80"
disk $r "$a1/block" sda 8:0 3907029168 512 4096 1 0 "$a1"
disk $r "$a2/block" sdb 8:16 3907029168 512 4096 1 0 "$a2"
disk $r "$a3/block" sdc 8:32 7814037168 4096 4096 1 0 "$a3"
part $r sda sda1 1 8:1 2048 3907026944
part $r sdb sdb1 1 8:17 2048 3907026944
virtual $r md0 9:0 3906762752
attr "$r/sys/devices/virtual/block/md0/md/level" "raid1"
holder $r block/sda/sda1 md0
holder $r block/sdb/sdb1 md0
mountinfo $r "21 1 0:20 / / rw,relatime - tmpfs rootfs rw
45 21 9:0 / /srv rw,relatime shared:30 - ext4 /dev/md0 rw,stripe=256"
swaps $r ""

# A virtual machine: virtio root disk mounted whole (like this CI machine), a spare virtio disk, an attached loop
# device with a partition, an unattached loop device, and an SD card mounted by the desktop.
r=vm-loop
vd1=devices/pci0000:00/0000:00:02.0/virtio1
vd2=devices/pci0000:00/0000:00:05.0/virtio4
attr "$r/sys/$vd1/vendor" "0x1af4"
attr "$r/sys/$vd2/vendor" "0x1af4"
disk $r "$vd1/block" vda 254:0 536870912 512 4096 1 0 "$vd1"
attr "$r/sys/$vd1/block/vda/serial" "177663114587525"
disk $r "$vd2/block" vdb 254:16 20971520 512 512 1 0 "$vd2"
part $r vdb vdb1 1 254:17 2048 20969472
virtual $r loop0 7:0 65536
attr "$r/sys/devices/virtual/block/loop0/loop/backing_file" "/var/tmp/test disk.img"
part $r loop0 loop0p1 1 259:0 2048 63488
virtual $r loop1 7:1 0
mmc=devices/platform/soc/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa
attr "$r/sys/$mmc/name" "SC64G"
attr "$r/sys/$mmc/serial" "0x8a1b2c3d"
attr "$r/sys/$mmc/manfid" "0x000003"
disk $r "$mmc/block" mmcblk0 179:0 124735488 512 512 0 0 "$mmc"
part $r mmcblk0 mmcblk0p1 1 179:1 8192 124727296
virtual $r zram0 252:0 8388608
mountinfo $r "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
27 26 0:24 / /proc rw,relatime - proc proc rw
51 26 179:1 / /media/user/SC64G rw,nosuid,nodev,relatime - exfat /dev/mmcblk0p1 rw,fmask=0022,dmask=0022"
swaps $r "/dev/zram0                              partition	4194300		0		100"

# LVM: a SATA SSD whose second partition is an LVM physical volume with root (dm-0, mounted) and swap (dm-1) volumes.
r=lvm
ata=devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0
attr "$r/sys/$ata/vendor" "ATA     "
attr "$r/sys/$ata/model" "CT500MX500SSD1  "
attr "$r/sys/$ata/wwid" "naa.500a0751e1a2b3c4"
printf '\x00\x80\x00\x14        2034E4A1B2C3' >"$r/sys/$ata/vpd_pg80"
disk $r "$ata/block" sda 8:0 976773168 512 4096 0 0 "$ata"
part $r sda sda1 1 8:1 2048 1048576
part $r sda sda2 2 8:2 1050624 975720448
virtual $r dm-0 253:0 943718400
attr "$r/sys/devices/virtual/block/dm-0/dm/name" "vg0-root"
attr "$r/sys/devices/virtual/block/dm-0/dm/uuid" "LVM-Xq3T7kDx4Zb2Vn8Wc1Rm5Ls9Jp6Hf0Gd2Ae4Bc6Dd8Ef0Gh2Ij4Kl6Mn8"
virtual $r dm-1 253:1 31997952
attr "$r/sys/devices/virtual/block/dm-1/dm/name" "vg0-swap"
attr "$r/sys/devices/virtual/block/dm-1/dm/uuid" "LVM-Xq3T7kDx4Zb2Vn8Wc1Rm5Ls9Jp6Hf0Gd2Ae4Bc6Dd8Ef0Gh2Ij4Kl6Mn9"
holder $r block/sda/sda2 dm-0
holder $r block/sda/sda2 dm-1
mountinfo $r "21 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg0-root rw,errors=remount-ro
30 21 8:1 / /boot/efi rw,relatime shared:28 - vfat /dev/sda1 rw,fmask=0077,dmask=0077"
swaps $r "/dev/dm-1                               partition	15998972	0		-2"
