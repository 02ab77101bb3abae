#!/usr/bin/env bash
# usage: network-cases.sh SOURCE_DEV TARGET_DEV OUT_DIR [SERVER_IP=10.0.2.2] [SMB_PASSWORD_FILE=OUT_DIR/../smb-password]
#
# Runs INSIDE the live system (liveimager on PATH, cifs-utils, nfs-common, a kernel with cifs and nfs), against the
# host's servers from scripts/live-test/servers.sh (Samba on SERVER_IP:4450, nfs-ganesha NFSv4 on SERVER_IP:20490;
# SMB_PORT / NFS_PORT override). SOURCE_DEV is captured (only read); TARGET_DEV is overwritten by a restore, for the
# host to check afterwards (scripts/check-test-disk.sh). SMB_PASSWORD_FILE holds the SMB password of user liveimager
# (servers.sh writes it to STATE_DIR/smb-password).
#
# Each case appends "ok CASE" or "fail CASE: reason" to OUT_DIR/network-cases.result (started afresh); every
# command and its output go to OUT_DIR/network-cases.log. Exits 0 only when every case passed.
set -uo pipefail

if [ $# -lt 3 ] || [ $# -gt 5 ]; then
  sed -n 2p "$0" >&2
  exit 2
fi
source_dev=$1
target_dev=$2
out=$3
server=${4:-10.0.2.2}
password_file=${5:-$out/../smb-password}
smb_port=${SMB_PORT:-4450}
nfs_port=${NFS_PORT:-20490}

mkdir -p "$out"
result=$out/network-cases.result
log=$out/network-cases.log
: >"$result"
: >"$log"
unset LIVEIMAGER_PASSWORD

smb=smb://liveimager@$server:$smb_port
nfs=nfs://$server:$nfs_port
failures=0

# case NAME EXPECTED_EXIT TEXT [with-password] COMMAND...: runs COMMAND (at most 5 minutes), passes when it exits
# with EXPECTED_EXIT and its output (standard output and error together) holds TEXT (a fixed string). With
# "with-password", COMMAND gets the SMB password in LIVEIMAGER_PASSWORD: in its environment, never in an argument
# list or this log.
case_() {
  local name=$1 expected=$2 text=$3 password=
  shift 3
  if [ "$1" = with-password ]; then
    shift
    password=$(head -n 1 "$password_file")
  fi
  local output rc
  {
    echo "=== $name"
    echo "\$ ${password:+LIVEIMAGER_PASSWORD=*** }$*"
  } >>"$log"
  if [ -n "$password" ]; then
    output=$(LIVEIMAGER_PASSWORD=$password timeout 300 "$@" 2>&1)
  else
    output=$(timeout 300 "$@" 2>&1)
  fi
  rc=$?
  printf '%s\n(exit %d)\n' "$output" "$rc" >>"$log"
  if [ "$rc" -ne "$expected" ]; then
    fail "$name" "exit $rc, expected $expected: $(printf '%s' "$output" | tail -n 1)"
  elif ! printf '%s' "$output" | grep -qF -- "$text"; then
    fail "$name" "the output does not say '$text': $(printf '%s' "$output" | tail -n 1)"
  else
    echo "ok $name" | tee -a "$result"
  fi
}

fail() {
  echo "fail $1: $2" | tee -a "$result"
  failures=$((failures + 1))
}

for tool in liveimager mount.cifs mount.nfs timeout; do
  command -v "$tool" >/dev/null || fail "setup" "$tool is not on PATH"
done
[ -r "$password_file" ] || fail "setup" "no SMB password file at $password_file"
[ -b "$source_dev" ] || [ -f "$source_dev" ] || fail "setup" "no source disk $source_dev"
[ -b "$target_dev" ] || [ -f "$target_dev" ] || fail "setup" "no target disk $target_dev"
if [ "$failures" -ne 0 ]; then
  exit 1
fi

# Round trips: SMB → NFS and NFS → SMB, each image read back through the other protocol.
case_ "capture to smb" 0 "$smb/images/net-smb.lim:" \
  liveimager capture "$source_dev" "$smb/images/net-smb.lim" --password-file "$password_file" --force
case_ "images lists it via smb (LIVEIMAGER_PASSWORD)" 0 "net-smb.lim" \
  with-password liveimager images "$smb/images"
case_ "images says it is complete" 0 "complete" \
  with-password liveimager images "$smb/images"
case_ "verify via nfs against the source" 0 "matches the image" \
  liveimager verify "$nfs/images/net-smb.lim" --against "$source_dev"
case_ "restore from nfs" 0 "$target_dev: ok" \
  liveimager restore "$nfs/images/net-smb.lim" "$target_dev" --yes
case_ "capture to nfs" 0 "$nfs/images/net-nfs.lim:" \
  liveimager capture "$source_dev" "$nfs/images/net-nfs.lim" --force
case_ "verify via smb against the source" 0 "matches the image" \
  liveimager verify "$smb/images/net-nfs.lim" --against "$source_dev" --password-file "$password_file"

# Refusals: exit 1 and the plain-words message (src/LiveImager.Engine/Targets/MountErrors.cs, MountedStore.cs).
wrong=$(mktemp)
echo "not-the-password" >"$wrong"
case_ "wrong smb password" 1 "refused the login as liveimager" \
  liveimager images "$smb/images" --password-file "$wrong"
rm -f "$wrong"
case_ "capture into the smb read-only share" 1 "may not write to $smb/readonly" \
  liveimager capture "$source_dev" "$smb/readonly/net-ro.lim" --password-file "$password_file"
case_ "capture into the nfs read-only export" 1 "may not write to $nfs/readonly" \
  liveimager capture "$source_dev" "$nfs/readonly/net-ro.lim"
case_ "unreachable smb port" 1 "cannot reach $server on port 1" \
  liveimager images "smb://liveimager@$server:1/images" --password-file "$password_file"
case_ "unreachable nfs port" 1 "cannot reach $server on port 1" \
  liveimager images "nfs://$server:1/images"

# Nothing of ours may stay mounted, whatever failed.
if grep -qE ' (cifs|nfs4?) ' /proc/mounts; then
  fail "no store left mounted" "$(grep -E ' (cifs|nfs4?) ' /proc/mounts | tr '\n' ';')"
else
  echo "ok no store left mounted" | tee -a "$result"
fi

echo "$failures network case(s) failed" | tee -a "$log"
[ "$failures" -eq 0 ]
