#!/usr/bin/env bash
# Boots the live medium (artifacts/liveimager.iso, artifacts/live/) in QEMU, one VM at a time, and checks what it
# does: an unattended capture from a USB stick under BIOS, an unattended restore under UEFI checked file by file on
# the host, the TUI on the serial line under UEFI and UEFI Secure Boot, the network cases against host-side SMB/NFS
# servers, an LVM disk whose restored VG the guest activates and fscks (then again through an encrypted image), a
# captured stick booted straight from liveimager serve's NBD export, and a rescue capture of a disk with an
# unreadable sector (QEMU's blkdebug). Serial logs and results stay in artifacts/live-test/; a report ends the run.
#
# usage: test-live-image.sh [STEP...]   steps: capture restore uefi secureboot bios-cd secureboot-cd network lvm
#                                        serve-boot rescue (default: all, in that order; restore needs capture's
#                                        image); also bios (the TUI on serial from a stick under BIOS, which capture's
#                                        boot covers)
# env:   LIVE_TEST_ACCEL=tcg|kvm (default: probe KVM, bounded), LIVE_TEST_BOOT_TIMEOUT (s, 420)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
artifacts=$repo/artifacts
iso=$artifacts/liveimager.iso
live=$artifacts/live
out=$artifacts/live-test
work=$out/disks
boot_timeout=${LIVE_TEST_BOOT_TIMEOUT:-420}
job_timeout=900
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_code_sb=/usr/share/OVMF/OVMF_CODE_4M.ms.fd
ovmf_vars_sb=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
store_offset=$((1024 * 1024))
tui_text="Capture a disk"

die() { echo "test-live-image: $*" >&2; exit 1; }
say() { echo "test-live-image: $*"; }

[ -f "$iso" ] || die "no $iso (make live)"
for tool in qemu-system-x86_64 mcopy sfdisk mkfs.ext4 debugfs jq blkid timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --live)"
done
medium=$(blkid -p -s UUID -o value "$iso")
[ -n "$medium" ] || die "$iso has no ISO 9660 UUID"

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(capture restore uefi secureboot bios-cd secureboot-cd network lvm serve-boot rescue)

mkdir -p "$out" "$work"
qemu_pid=
serial_reader=
servers_state=
serve_pid=
cleanup() {
  local status=$?
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  if [ -n "$serial_reader" ]; then kill "$serial_reader" 2>/dev/null || true; fi
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; fi
  if [ -n "$servers_state" ]; then "$repo/scripts/live-test/servers.sh" stop "$servers_state" >/dev/null 2>&1 || true; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

report=()
note() { report+=("$*"); say "$*"; }
failures=0
fail() { note "FAIL $*"; failures=$((failures + 1)); }

# KVM only if it really boots a kernel: on some hosts /dev/kvm opens but the guest hangs or QEMU aborts. A kernel
# without a root file system panics within seconds under working KVM.
pick_accel() {
  if [ -n "${LIVE_TEST_ACCEL:-}" ]; then echo "$LIVE_TEST_ACCEL"; return; fi
  if [ -w /dev/kvm ] && timeout 25 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nographic -no-reboot \
      -kernel "$live/vmlinuz" -append "console=ttyS0 panic=-1" </dev/null 2>/dev/null | grep -q 'Kernel panic'; then
    echo kvm
  else
    echo tcg
  fi
}
accel=$(pick_accel)
if [ "$accel" = kvm ]; then cpu=(-accel kvm -cpu host); else cpu=(-accel tcg -cpu max); fi
note "accelerator: $accel"

# --- disks: source (make-test-disk.sh), blank target, ext4 store (GPT, one partition, written by mkfs.ext4 -d)
source_img=$work/source.img
target_img=$work/target.img
store_img=$work/store.img
stick_img=$work/stick.img

make_source() {
  if [ ! -f "$source_img" ] || [ ! -d "$source_img.manifest" ]; then
    "$repo/scripts/make-test-disk.sh" "$source_img" 256M
  fi
}

# Makes the store disk from DIR: GPT with one Linux partition from 1 MiB holding ext4 with DIR's files.
make_store() {
  local dir=$1 size_mib=1024
  rm -f "$store_img"
  truncate -s "${size_mib}M" "$store_img"
  printf 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="store"\n' | sfdisk -q "$store_img"
  local sectors
  sectors=$(sfdisk -J "$store_img" | jq '.partitiontable.partitions[0].size')
  mkfs.ext4 -q -F -L store -E "offset=$store_offset" -d "$dir" "$store_img" "$((sectors / 2))k"
}

# Copies PATH out of the store's file system into DEST (debugfs rdump, no mount).
store_get() {
  mkdir -p "$2"
  debugfs -R "rdump $1 $2" "$store_img?offset=$store_offset" 2>&1 | grep -vE '^debugfs [0-9]' || true
}

# A USB stick: a copy of the ISO with FILE (if given) as liveimager.conf in the root of its FAT partition.
make_stick() {
  cp --sparse=always "$iso" "$stick_img"
  # The ISO is its own size; a stick is bigger. Room after the partitions is what a real stick has too.
  truncate -s +64M "$stick_img"
  if [ -n "${1:-}" ]; then
    local start
    start=$(sfdisk -J "$stick_img" | jq '.partitiontable.partitions[] | select(.type == "ef") | .start')
    [ -n "$start" ] || die "the ISO has no FAT (EFI) partition"
    MTOOLS_SKIP_CHECK=1 mcopy -o -i "$stick_img@@$((start * 512))" "$1" ::/liveimager.conf
  fi
}

# Starts QEMU in the background with the serial line on LOG and a pipe for keys. FIRMWARE is bios, uefi or
# secureboot; the rest are QEMU arguments.
start_vm() {
  local name=$1 firmware=$2
  shift 2
  serial_log=$out/$name.serial.log
  vm_name=$name
  local fifo=$work/serial-$name
  rm -f "$fifo.in" "$fifo.out" "$serial_log"
  mkfifo "$fifo.in" "$fifo.out"
  local fw=() machine=(-M pc)
  case $firmware in
    bios) ;;
    uefi)
      cp "$ovmf_vars" "$work/vars.fd"
      machine=(-M q35)
      fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code" -drive "if=pflash,format=raw,unit=1,file=$work/vars.fd") ;;
    secureboot)
      cp "$ovmf_vars_sb" "$work/vars.fd"
      machine=(-M q35,smm=on -global driver=cfi.pflash01,property=secure,value=on)
      fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code_sb" -drive "if=pflash,format=raw,unit=1,file=$work/vars.fd") ;;
  esac
  qemu-system-x86_64 "${cpu[@]}" "${machine[@]}" "${fw[@]}" -smp 2 -m 1536 -nographic -monitor none \
    -serial "pipe:$fifo" -nic user,model=virtio-net-pci "$@" </dev/null >"$out/$name.qemu.log" 2>&1 &
  qemu_pid=$!
  cat "$fifo.out" >"$serial_log" &
  serial_reader=$!
  # Read-write: opening a FIFO for writing only would wait for QEMU to open it, forever if QEMU failed to start.
  exec 7<>"$fifo.in"
  vm_started=$SECONDS
}

# Waits until the serial log holds TEXT (a fixed string), at most SECONDS; fails when QEMU exits first.
wait_serial() {
  local text=$1 limit=$2 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    if grep -qF -- "$text" "$serial_log" 2>/dev/null; then return 0; fi
    kill -0 "$qemu_pid" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

# Waits for QEMU to exit (the guest powered off), at most SECONDS; fails when QEMU itself failed.
wait_exit() {
  local deadline=$((SECONDS + $1)) rc=0
  while kill -0 "$qemu_pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 2
  done
  wait "$qemu_pid" 2>/dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "test-live-image: QEMU failed ($rc): $(head -3 "$out/$vm_name.qemu.log")" >&2
    return 1
  fi
}

stop_vm() {
  exec 7>&-
  if kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid" 2>/dev/null || true; fi
  wait "$qemu_pid" 2>/dev/null || true
  kill "$serial_reader" 2>/dev/null || true
  wait "$serial_reader" 2>/dev/null || true
  qemu_pid=
  serial_reader=
}

# Presses KEY in GRUB's menu on the serial line once the menu shows.
grub_hotkey() {
  wait_serial "GNU GRUB" 180 || return 1
  sleep 2
  printf '%s' "$1" >&7
}

disks=()
disk_args() {
  disks=(-drive "file=$source_img,format=raw,if=none,id=src,readonly=on" -device virtio-blk-pci,drive=src,serial=src
         -drive "file=$target_img,format=raw,if=none,id=target" -device virtio-blk-pci,drive=target,serial=target
         -drive "file=$store_img,format=raw,if=none,id=store" -device virtio-blk-pci,drive=store,serial=store)
}
# The stick boots first; with -kernel, QEMU's own loader takes boot index 0 and the stick is only the medium.
stick_args=(-device qemu-xhci -drive "file=$stick_img,format=raw,if=none,id=stick" -device usb-storage,drive=stick,bootindex=0)
medium_args=(-device qemu-xhci -drive "file=$stick_img,format=raw,if=none,id=stick" -device usb-storage,drive=stick)
store_url=dev:///dev/disk/by-id/virtio-store-part1
image_name=images/pc1.lim

# Reads the results JSON of the VERB job (written beside the image) from the store and notes its figures.
note_results() {
  local what=$1 dir=$work/results-$1
  rm -rf "$dir"
  store_get "/$(dirname "$image_name")/liveimager-results" "$dir" >/dev/null
  local json
  json=$(ls "$dir"/liveimager-results/*-"$what".json 2>/dev/null | tail -1 || true)
  if [ -z "$json" ]; then fail "$what: no results JSON on the store"; return; fi
  cp "$dir"/liveimager-results/* "$out/" 2>/dev/null || true
  note "$what: results $(basename "$json"): $(jq -c '{ok, exitCode, error, dataBytes, seconds, megabytesPerSecond}' "$json" 2>/dev/null || head -c 300 "$json")"
  ls "$dir"/liveimager-results/ | grep -qv '\.json$' || fail "$what: no job log next to the results JSON"
  jq -e .ok "$json" >/dev/null || fail "$what: the job failed: $(jq -r .error "$json")"
  # The VM's life minus the job's own time: boot to job start plus the power-off.
  note "$what: boot to job start + power-off: about $((vm_seconds - $(jq -r '.seconds | floor' "$json"))) s"
}

step_capture() {
  make_source
  truncate -s 0 "$target_img"; truncate -s 256M "$target_img"
  rm -rf "$work/store-tree"; mkdir -p "$work/store-tree/images"
  make_store "$work/store-tree"
  printf '# written by test-live-image.sh\nrun = capture /dev/disk/by-id/virtio-src %s/%s\nafter = poweroff\n' \
    "$store_url" "$image_name" >"$work/liveimager.conf"
  make_stick "$work/liveimager.conf"
  disk_args
  start_vm capture bios "${stick_args[@]}" "${disks[@]}"
  grub_hotkey u || { fail "capture: no GRUB menu on the serial line"; stop_vm; return; }
  note "capture: GRUB menu after $((SECONDS - vm_started)) s, unattended entry picked by hotkey u"
  if wait_exit "$job_timeout"; then
    vm_seconds=$((SECONDS - vm_started))
    note "capture: VM powered off $vm_seconds s after start"
  else
    fail "capture: VM still running after $job_timeout s"; stop_vm; return
  fi
  stop_vm
  rm -rf "$work/got-images"
  store_get /images "$work/got-images" >/dev/null
  if [ -s "$work/got-images/images/pc1.lim" ]; then
    note "capture: image on the store: $(du -m "$work/got-images/images/pc1.lim" | cut -f1) MiB"
  else
    fail "capture: no image on the store (serial log: $out/capture.serial.log)"
  fi
  note_results capture
}

step_restore() {
  [ -f "$store_img" ] || { fail "restore: no store disk (run the capture step first)"; return; }
  truncate -s 0 "$target_img"; truncate -s 256M "$target_img"
  make_stick
  disk_args
  local params="liveimager.run=\"restore $store_url/$image_name /dev/disk/by-id/virtio-target --yes\" liveimager.after=poweroff"
  start_vm restore uefi "${medium_args[@]}" "${disks[@]}" -kernel "$live/vmlinuz" -initrd "$live/initrd.img" \
    -append "boot=live liveimager.medium=$medium console=ttyS0,115200n8 loglevel=3 $params"
  if wait_exit "$job_timeout"; then
    vm_seconds=$((SECONDS - vm_started))
    note "restore: VM powered off $vm_seconds s after start"
  else
    fail "restore: VM still running after $job_timeout s"; stop_vm; return
  fi
  stop_vm
  if "$repo/scripts/check-test-disk.sh" "$target_img" "$source_img.manifest" >"$out/restore.check.log" 2>&1; then
    note "restore: check-test-disk.sh: $(tail -1 "$out/restore.check.log")"
  else
    fail "restore: check-test-disk.sh: $(grep '^FAIL' "$out/restore.check.log" | head -3 | tr '\n' ' ')"
  fi
  note_results restore
}

# Boots FIRMWARE from a USB stick (or, for MEDIUM cd, the ISO as a CD), picks the serial entry, and waits for the
# TUI's main menu on the serial line.
step_tui() {
  local name=$1 firmware=$2 medium=${3:-stick} boot
  if [ "$medium" = cd ]; then
    boot=(-drive "file=$iso,format=raw,if=none,id=cd,media=cdrom,readonly=on" -device ide-cd,drive=cd,bootindex=0)
  else
    make_stick
    boot=("${stick_args[@]}")
  fi
  start_vm "$name" "$firmware" "${boot[@]}"
  grub_hotkey s || { fail "$name: no GRUB menu on the serial line"; stop_vm; return; }
  local menu=$((SECONDS - vm_started))
  if wait_serial "$tui_text" "$boot_timeout"; then
    note "$name: GRUB menu after $menu s, TUI main menu ('$tui_text') on ttyS0 after $((SECONDS - vm_started)) s"
  else
    fail "$name: no '$tui_text' on the serial line within $boot_timeout s (log: $serial_log)"
  fi
  if grep -qa "Access Denied\|Verification failed" "$serial_log"; then fail "$name: firmware refused a loader"; fi
  if [ "$firmware" = secureboot ]; then
    if grep -qa "secureboot: Secure boot enabled" "$serial_log"; then note "$name: the kernel reports Secure Boot enabled"
    else fail "$name: the kernel does not report Secure Boot enabled"; fi
  fi
  stop_vm
}

step_network() {
  local servers=$repo/scripts/live-test/servers.sh guest=$repo/tests/live/network-cases.sh
  if [ ! -x "$servers" ] || [ ! -f "$guest" ]; then
    note "network: skipped: scripts/live-test/servers.sh or tests/live/network-cases.sh not on this branch yet"
    return
  fi
  make_source
  truncate -s 0 "$target_img"; truncate -s 256M "$target_img"
  servers_state=$work/servers
  rm -rf "$servers_state" "$work/shares"
  mkdir -p "$servers_state" "$work/shares"
  "$servers" start "$servers_state" "$work/shares" >"$out/servers.log" 2>&1 || {
    fail "network: servers.sh start failed: $(tail -2 "$out/servers.log" | tr '\n' ' ')"; return; }
  rm -rf "$work/store-tree"; mkdir -p "$work/store-tree/net"
  cp "$guest" "$work/store-tree/network-cases.sh"
  cp "$servers_state/smb-password" "$work/store-tree/smb-password"
  make_store "$work/store-tree"
  make_stick
  disk_args
  # systemd.run boots kernel-command-line.target, which starts no network: the script brings it up first.
  local run="/bin/sh -c 'systemctl start systemd-networkd systemd-resolved; /lib/systemd/systemd-networkd-wait-online --timeout=60; mkdir -p /mnt/store && mount /dev/disk/by-id/virtio-store-part1 /mnt/store && liveimager list --json >/mnt/store/net/list.json; bash /mnt/store/network-cases.sh /dev/disk/by-id/virtio-src /dev/disk/by-id/virtio-target /mnt/store/net 10.0.2.2 /mnt/store/smb-password; umount /mnt/store'"
  start_vm network uefi "${medium_args[@]}" "${disks[@]}" -kernel "$live/vmlinuz" -initrd "$live/initrd.img" \
    -append "boot=live toram liveimager.medium=$medium console=ttyS0,115200n8 loglevel=3 systemd.run=\"$run\" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
  if wait_exit 1800; then
    note "network: VM powered off $((SECONDS - vm_started)) s after start"
  else
    fail "network: VM still running after 1800 s"
  fi
  stop_vm
  "$servers" stop "$servers_state" >/dev/null 2>&1 || true
  servers_state=
  rm -rf "$work/net-results"
  store_get /net "$work/net-results" >/dev/null
  cp "$work/net-results/net/"* "$out/" 2>/dev/null || true
  if [ -s "$work/net-results/net/network-cases.result" ]; then
    note "network: $(grep -c '^ok' "$work/net-results/net/network-cases.result") cases ok, $(grep -c '^fail' "$work/net-results/net/network-cases.result" || true) failed"
    local line
    while read -r line; do fail "network: $line"; done < <(grep '^fail' "$work/net-results/net/network-cases.result" || true)
  else
    fail "network: no network-cases.result on the store"
  fi
  # This boot runs "to RAM": live-boot copies the system into memory and lets go of the stick, so only the ISO volume
  # id (liveimager.medium=) can still tell that the stick is the boot medium.
  local boot_disk
  boot_disk=$(jq -r '.[] | select((.inUseReason // "") | contains("boot medium (ISO volume")) | .name' "$work/net-results/net/list.json" 2>/dev/null || true)
  if [ "$boot_disk" = sda ]; then note "network: after a to-RAM boot, liveimager list marks sda (the stick) as the boot medium by its ISO volume id"
  else fail "network: after a to-RAM boot, liveimager list does not mark the stick as the boot medium by its ISO volume id (got '${boot_disk}')"; fi
  if "$repo/scripts/check-test-disk.sh" "$target_img" "$source_img.manifest" >"$out/network.check.log" 2>&1; then
    note "network: restored disk: $(tail -1 "$out/network.check.log")"
  else
    fail "network: restored disk: $(grep '^FAIL' "$out/network.check.log" | head -3 | tr '\n' ' ')"
  fi
}

# An image opened without restoring it (docs/opening-images.md): the stick (a copy of the ISO) is captured on the host
# from a loop device, served by liveimager serve on a Unix socket, and booted by QEMU straight from that NBD export
# (BIOS, a copy-on-write snapshot over the read-only export) until its GRUB menu shows on the serial line.
step_serve_boot() {
  local binary=$artifacts/liveimager image=$work/stick.lim sock=$work/serve.sock loop
  [ -x "$binary" ] || { fail "serve-boot: no $binary (make publish)"; return; }
  make_stick
  rm -f "$image" "$sock"
  loop=$(losetup -f --show "$stick_img")
  "$binary" capture "$loop" "$image" >"$out/serve-boot.capture.log" 2>&1 || true
  losetup -d "$loop"
  [ -s "$image" ] || { fail "serve-boot: capture of the stick failed: $(tail -2 "$out/serve-boot.capture.log" | tr '\n' ' ')"; return; }
  note "serve-boot: the stick ($(du -m --apparent-size "$stick_img" | cut -f1) MiB) captured to a $(du -m "$image" | cut -f1) MiB image"
  "$binary" serve "$image" --socket "$sock" >"$out/serve-boot.serve.log" 2>&1 &
  serve_pid=$!
  local waited=0
  while [ ! -S "$sock" ] && [ $waited -lt 30 ] && kill -0 "$serve_pid" 2>/dev/null; do sleep 1; waited=$((waited + 1)); done
  if [ ! -S "$sock" ]; then
    fail "serve-boot: serve made no socket within 30 s: $(tail -2 "$out/serve-boot.serve.log" | tr '\n' ' ')"
  else
    start_vm serve-boot bios -drive "file=nbd+unix:///disk?socket=$sock,format=raw,if=none,id=nbd,snapshot=on" \
      -device virtio-blk-pci,drive=nbd,bootindex=0
    if wait_serial "GNU GRUB" 180; then
      note "serve-boot: GRUB menu from the NBD export after $((SECONDS - vm_started)) s"
    else
      fail "serve-boot: no GRUB menu within 180 s of booting the export (log: $serial_log)"
    fi
    stop_vm
  fi
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=
  grep -qi "damaged\|error" "$out/serve-boot.serve.log" && fail "serve-boot: serve logged an error: $(grep -i -m1 'damaged\|error' "$out/serve-boot.serve.log")"
  [ -S "$sock" ] && fail "serve-boot: serve left its socket behind after SIGTERM"
  rm -f "$image"
}

# The LVM disk of scripts/live-test/make-lvm-disk.sh as the source: the guest captures it, restores it onto the
# target, activates the restored VG with device-mapper (which this host's kernel lacks) and checks both LVs with
# e2fsck, xfs_repair and the files' sums (tests/live/lvm-cases.sh).
step_lvm() {
  local lvm_img=$work/lvm.img guest=$repo/tests/live/lvm-cases.sh
  if [ ! -f "$lvm_img" ] || [ ! -d "$lvm_img.manifest" ]; then
    "$repo/scripts/live-test/make-lvm-disk.sh" "$lvm_img" >"$out/make-lvm-disk.log" 2>&1 ||
      { fail "lvm: make-lvm-disk.sh failed: $(tail -2 "$out/make-lvm-disk.log" | tr '\n' ' ')"; return; }
  fi
  truncate -s 0 "$target_img"; truncate -s 512M "$target_img"
  rm -rf "$work/store-tree"; mkdir -p "$work/store-tree/lvm"
  cp "$guest" "$work/store-tree/lvm-cases.sh"
  cp -r "$lvm_img.manifest" "$work/store-tree/lvm-manifest"
  make_store "$work/store-tree"
  make_stick
  local disks=(-drive "file=$lvm_img,format=raw,if=none,id=src,readonly=on" -device virtio-blk-pci,drive=src,serial=src
               -drive "file=$target_img,format=raw,if=none,id=target" -device virtio-blk-pci,drive=target,serial=target
               -drive "file=$store_img,format=raw,if=none,id=store" -device virtio-blk-pci,drive=store,serial=store)
  local run="/bin/sh -c 'mkdir -p /mnt/store && mount /dev/disk/by-id/virtio-store-part1 /mnt/store && bash /mnt/store/lvm-cases.sh /dev/disk/by-id/virtio-src /dev/disk/by-id/virtio-target /mnt/store/lvm /mnt/store/lvm-manifest; umount /mnt/store'"
  start_vm lvm uefi "${medium_args[@]}" "${disks[@]}" -kernel "$live/vmlinuz" -initrd "$live/initrd.img" \
    -append "boot=live liveimager.medium=$medium console=ttyS0,115200n8 loglevel=3 systemd.run=\"$run\" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
  if wait_exit "$job_timeout"; then
    note "lvm: VM powered off $((SECONDS - vm_started)) s after start"
  else
    fail "lvm: VM still running after $job_timeout s"
  fi
  stop_vm
  rm -rf "$work/lvm-results"
  store_get /lvm "$work/lvm-results" >/dev/null
  cp "$work/lvm-results/lvm/"lvm-cases.* "$out/" 2>/dev/null || true
  local result=$work/lvm-results/lvm/lvm-cases.result
  if [ -s "$result" ]; then
    note "lvm: $(grep -c '^ok' "$result") cases ok, $(grep -c '^fail' "$result" || true) failed; $(grep '^image bytes' "$result" || echo 'no image') of a 512 MiB disk"
    local line
    while read -r line; do fail "lvm: $line"; done < <(grep '^fail' "$result" || true)
    grep -q '^ok files of data' "$result" || fail "lvm: the guest did not get as far as the files of the XFS LV (see $out/lvm-cases.log)"
    grep -q '^ok the encrypted image restores' "$result" || fail "lvm: the guest did not get as far as the encrypted restore (see $out/lvm-cases.log)"
  else
    fail "lvm: no lvm-cases.result on the store (serial log: $out/lvm.serial.log)"
  fi
}

# A failing disk (docs/failing-disks.md): QEMU's blkdebug driver fails every read of one sector of the source, a
# sector inside an ext4 file; the guest's plain capture must stop there with the advice to use --rescue, its rescue
# capture must finish, and info must name the range and the file (tests/live/rescue-cases.sh).
step_rescue() {
  local guest=$repo/tests/live/rescue-cases.sh p2 fs file block bs sector
  make_source
  p2=$(sfdisk -J "$source_img" | jq '.partitiontable.partitions[1].start * 512')
  fs="$source_img?offset=$p2"
  file=$(sed -n 's|^[0-9a-f]*  \./\(data/.*\)$|\1|p' "$source_img.manifest/p2.ext4.sha256" | head -1)
  block=$(debugfs -R "bmap /$file 1" "$fs" 2>/dev/null | tr -d '[:space:]')
  bs=$(debugfs -R stats "$fs" 2>/dev/null | sed -n 's/^Block size: *//p')
  if [ -z "$file" ] || [ -z "$block" ] || [ -z "$bs" ]; then fail "rescue: no ext4 data file to damage in $source_img"; return; fi
  sector=$(( (p2 + block * bs) / 512 ))
  printf '[inject-error]\nevent = "read_aio"\nsector = "%s"\nonce = "off"\nerrno = "5"\n' "$sector" >"$work/bad-sector.conf"
  note "rescue: sector $sector (block $block of /$file in partition 2) fails every read"
  rm -rf "$work/store-tree"; mkdir -p "$work/store-tree/rescue"
  cp "$guest" "$work/store-tree/rescue-cases.sh"
  make_store "$work/store-tree"
  make_stick
  local disks=(-drive "if=none,id=src,driver=raw,read-only=on,file.driver=blkdebug,file.config=$work/bad-sector.conf,file.image.filename=$source_img"
               -device virtio-blk-pci,drive=src,serial=src
               -drive "file=$store_img,format=raw,if=none,id=store" -device virtio-blk-pci,drive=store,serial=store)
  local run="/bin/sh -c 'mkdir -p /mnt/store && mount /dev/disk/by-id/virtio-store-part1 /mnt/store && bash /mnt/store/rescue-cases.sh /dev/disk/by-id/virtio-src /mnt/store/rescue $sector $file; umount /mnt/store'"
  start_vm rescue uefi "${medium_args[@]}" "${disks[@]}" -kernel "$live/vmlinuz" -initrd "$live/initrd.img" \
    -append "boot=live liveimager.medium=$medium console=ttyS0,115200n8 loglevel=3 systemd.run=\"$run\" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
  if wait_exit "$job_timeout"; then
    note "rescue: VM powered off $((SECONDS - vm_started)) s after start"
  else
    fail "rescue: VM still running after $job_timeout s"
  fi
  stop_vm
  rm -rf "$work/rescue-results"
  store_get /rescue "$work/rescue-results" >/dev/null
  cp "$work/rescue-results/rescue/"rescue-cases.* "$out/" 2>/dev/null || true
  local result=$work/rescue-results/rescue/rescue-cases.result
  if [ -s "$result" ]; then
    note "rescue: $(grep -c '^ok' "$result") cases ok, $(grep -c '^fail' "$result" || true) failed"
    local line
    while read -r line; do fail "rescue: $line"; done < <(grep '^fail' "$result" || true)
    grep -q '^ok verify' "$result" || fail "rescue: the guest did not get as far as verify (see $out/rescue-cases.log)"
  else
    fail "rescue: no rescue-cases.result on the store (serial log: $out/rescue.serial.log)"
  fi
}

note "ISO $(du -m "$iso" | cut -f1) MiB ($(stat -c %s "$iso") bytes), medium $medium"
for step in "${steps[@]}"; do
  started=$SECONDS
  case $step in
    capture) step_capture ;;
    restore) step_restore ;;
    uefi) step_tui uefi uefi ;;
    secureboot) step_tui secureboot secureboot ;;
    bios) step_tui bios bios ;;
    bios-cd) step_tui bios-cd bios cd ;;
    secureboot-cd) step_tui secureboot-cd secureboot cd ;;
    network) step_network ;;
    lvm) step_lvm ;;
    serve-boot) step_serve_boot ;;
    rescue) step_rescue ;;
    *) die "unknown step $step (capture restore uefi secureboot bios bios-cd secureboot-cd network lvm serve-boot rescue)" ;;
  esac
  note "$step: step took $((SECONDS - started)) s"
done

echo
echo "=== test-live-image report"
printf '%s\n' "${report[@]}" | tee "$out/report.txt"
if [ "$failures" -gt 0 ]; then echo "test-live-image: $failures FAILED"; exit 1; fi
echo "test-live-image: all steps passed"
