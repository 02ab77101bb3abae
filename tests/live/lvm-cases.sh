#!/usr/bin/env bash
# usage: lvm-cases.sh SOURCE_DEV TARGET_DEV OUT_DIR MANIFEST_DIR
#
# Runs INSIDE the live system (liveimager, lvm2, xfsprogs, a kernel with device-mapper), on the disk of
# scripts/live-test/make-lvm-disk.sh: VG "lilive" with LVs root (ext4, two segments) and data (XFS). Checks that the
# live system activated nothing at boot, captures SOURCE_DEV (only read) to OUT_DIR/lvm.lim, restores it onto
# TARGET_DEV, activates the restored VG with device-mapper, checks each LV with its filesystem's own checker, and
# compares every file with MANIFEST_DIR/{root,data}.sha256 through a read-only mount, and deactivates the VG. Then
# captures the disk again encrypted and restores it: a wrong passphrase writes nothing, the right one the same bytes.
#
# Each case appends "ok CASE" or "fail CASE: reason" to OUT_DIR/lvm-cases.result (started afresh); every command and
# its output go to OUT_DIR/lvm-cases.log. Exits 0 only when every case passed.
set -uo pipefail

if [ $# -ne 4 ]; then
  sed -n 2p "$0" >&2
  exit 2
fi
source_dev=$1
target_dev=$2
out=$3
manifest=$4

mkdir -p "$out"
result=$out/lvm-cases.result
log=$out/lvm-cases.log
: >"$result"
: >"$log"
failures=0
mnt=/run/lvm-cases-mnt
mkdir -p "$mnt"

ok() { echo "ok $1" >>"$result"; }
fail() { echo "fail $1: $2" >>"$result"; failures=$((failures + 1)); }

# check NAME COMMAND...: passes when COMMAND (at most 10 minutes) exits 0; its output goes to the log.
check() {
  local name=$1 rc=0
  shift
  echo "=== $name: $*" >>"$log"
  timeout 600 "$@" >>"$log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then ok "$name"; else fail "$name" "exit $rc (see lvm-cases.log)"; fi
  return "$rc"
}

# The live system must not activate the VGs of the disks it finds: an active LV holds its disk, which then cannot
# be captured or restored (live-image/overlay/base/etc/lvm/lvmlocal.conf).
udevadm settle
if dmsetup ls 2>>"$log" | grep -q '^lilive-'; then
  fail "nothing activated at boot" "$(dmsetup ls | tr '\n' ' ')"
else
  ok "nothing activated at boot"
fi

check capture liveimager capture "$source_dev" "$out/lvm.lim" || exit 1
echo "image bytes: $(stat -c %s "$out/lvm.lim")" >>"$result"
check info liveimager info "$out/lvm.lim"
check restore liveimager restore "$out/lvm.lim" "$target_dev" --yes || exit 1

# Only the restored PV: the source holds the same VG (same UUIDs), which LVM must not see twice.
udevadm settle
pv=$(readlink -f "$target_dev-part1")
echo "restored PV: $pv" >>"$log"
check "activate the restored VG" vgchange -ay --devices "$pv" lilive || exit 1
udevadm settle
check "lvs" lvs --devices "$pv" -o lv_name,lv_size,seg_pe_ranges lilive
check "e2fsck -fn root" e2fsck -fn /dev/mapper/lilive-root
check "xfs_repair -n data" xfs_repair -n /dev/mapper/lilive-data
for lv in root data; do
  if mount -o ro "/dev/mapper/lilive-$lv" "$mnt" >>"$log" 2>&1; then
    check "files of $lv" sh -c "cd '$mnt' && sha256sum --quiet -c '$manifest/$lv.sha256'"
    umount "$mnt"
  else
    fail "files of $lv" "mount failed"
  fi
done
check "deactivate" vgchange -an --devices "$pv" lilive

# The same disk through an encrypted image (docs/image-format.md, version 4): AES-256-GCM through the live system's
# OpenSSL and Argon2id in the NativeAOT binary. Both images are restored into files on the store, since the target
# disk has been activated and mounted since its restore: a wrong passphrase writes nothing, the right one the same
# bytes as the plain image.
plain_file=$out/plain-restored.img
encrypted_file=$out/encrypted-restored.img
: >"$plain_file"
: >"$encrypted_file"
printf 'a live-test passphrase\n' >/run/lvm-cases.passphrase
check "plain restore into a file" liveimager restore "$out/lvm.lim" "$plain_file" --yes
check "encrypted capture" liveimager capture --encrypt --passphrase-file /run/lvm-cases.passphrase "$source_dev" "$out/lvm-encrypted.lim"
echo "encrypted image bytes: $(stat -c %s "$out/lvm-encrypted.lim")" >>"$result"
echo "=== restore with a wrong passphrase" >>"$log"
rc=0
LIVEIMAGER_PASSPHRASE=wrong timeout 600 liveimager restore "$out/lvm-encrypted.lim" "$encrypted_file" --yes >>"$log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && [ ! -s "$encrypted_file" ]; then
  ok "a wrong passphrase is refused and writes nothing"
else
  fail "a wrong passphrase is refused and writes nothing" "exit $rc, or the file was written"
fi
check "encrypted restore into a file" liveimager restore --passphrase-file /run/lvm-cases.passphrase "$out/lvm-encrypted.lim" "$encrypted_file" --yes
if cmp -s "$plain_file" "$encrypted_file"; then
  ok "the encrypted image restores the same bytes as the plain one"
else
  fail "the encrypted image restores the same bytes as the plain one" "the two restored files differ"
fi
rm -f "$plain_file" "$encrypted_file"

echo "cases: $(grep -c '^ok' "$result") ok, $failures failed" >>"$log"
[ "$failures" -eq 0 ]
