#!/usr/bin/env bash
# Checks scripts/live-test/servers.sh on the host, with the userspace clients smbclient and libnfs's nfs-* tools
# (the host kernel needs no cifs/nfs client): start in a scratch directory, SMB put/get, wrong password refused,
# write to the read-only share refused, NFSv4 list/read/write, write to the read-only export refused, stop, and
# nothing left running. Prints "ok CHECK" per check; exits 0 only when all pass. Needs root and
# `scripts/install-deps.sh --live`. SMB_PORT / NFS_PORT as for servers.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/liveimager-servers.XXXXXX)
state=$work/state
share=$work/share
failures=0

cleanup() {
  "$here/servers.sh" stop "$state" || true
  rm -rf "$work"
}
trap cleanup EXIT

check() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "ok $name"
  else
    echo "FAIL $name:"
    sed 's/^/    /' "$work/out"
    failures=$((failures + 1))
  fi
}

# Succeeds when "$@" fails and its output holds $1.
refused() {
  local expected=$1
  shift
  if "$@" >"$work/refused" 2>&1; then
    echo "succeeded, but should have been refused"
    cat "$work/refused"
    return 1
  fi
  [ -z "$expected" ] || grep -q -- "$expected" "$work/refused" || { echo "refused without '$expected':"; cat "$work/refused"; return 1; }
}

"$here/servers.sh" start "$state" "$share" | tee "$work/ports"
smb_port=$(awk '$1 == "smb-port" { print $2 }' "$work/ports")
nfs_port=$(awk '$1 == "nfs-port" { print $2 }' "$work/ports")
password=$(cat "$state/smb-password")
nfs="?version=4&nfsport=$nfs_port"

head -c 100000 /dev/urandom >"$work/payload"
# libnfs 5.0's NFSv4 client (Debian bookworm) fails writes of 4 KiB and more to ganesha ("Failed to write to dest
# file", the file left empty); the guest's kernel client is what the live test uses, so the host checks a small write.
head -c 1000 /dev/urandom >"$work/small"
cd "$work"
check "smb put and get" smbclient -p "$smb_port" //127.0.0.1/images -U "liveimager%$password" \
  -c "put payload smb-payload; get smb-payload smb-back"
check "smb round trip intact" cmp payload smb-back
check "smb file on the share" cmp payload "$share/images/smb-payload"
check "smb wrong password refused" refused NT_STATUS_LOGON_FAILURE \
  smbclient -p "$smb_port" //127.0.0.1/images -U "liveimager%not-$password" -c ls
check "smb read-only share refuses writes" refused NT_STATUS_ACCESS_DENIED \
  smbclient -p "$smb_port" //127.0.0.1/readonly -U "liveimager%$password" -c "put payload nope"
check "smb read-only share readable" smbclient -p "$smb_port" //127.0.0.1/readonly -U "liveimager%$password" -c "get README readme-smb"

check "nfs lists the smb file" grep -q smb-payload <(nfs-ls "nfs://127.0.0.1/images$nfs")
# As nobody, libnfs cannot bind a port below 1024: the way QEMU's user networking reaches the server.
check "nfs from an unprivileged port" grep -q README <(runuser -u nobody -- nfs-ls "nfs://127.0.0.1/readonly$nfs")
check "nfs write" nfs-cp small "nfs://127.0.0.1/images/nfs-small$nfs"
check "nfs file on the export" cmp small "$share/images/nfs-small"
check "nfs read" cmp payload <(nfs-cat "nfs://127.0.0.1/images/smb-payload$nfs")
check "nfs read-only export readable" cmp "$share/readonly/README" <(nfs-cat "nfs://127.0.0.1/readonly/README$nfs")
check "nfs read-only export refuses writes" refused NFS4ERR_ROFS nfs-cp small "nfs://127.0.0.1/readonly/nope$nfs"
check "nothing written to the read-only directory" test ! -e "$share/readonly/nope"

"$here/servers.sh" stop "$state"
check "stop leaves nothing running" refused "" pgrep -f -- "$state/"
check "smb port closed after stop" refused "" bash -c "exec 3<>/dev/tcp/127.0.0.1/$smb_port"
check "nfs port closed after stop" refused "" bash -c "exec 3<>/dev/tcp/127.0.0.1/$nfs_port"

[ "$failures" -eq 0 ] && echo "all server checks passed" && exit 0
echo "$failures server check(s) failed"
exit 1
