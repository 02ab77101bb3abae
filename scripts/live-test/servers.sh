#!/usr/bin/env bash
# The host-side SMB and NFS servers that the live system's network cases (tests/live/network-cases.sh) talk to from
# inside QEMU, where user networking turns the guest's 10.0.2.2:PORT into the host's 127.0.0.1:PORT.
#
#   servers.sh start STATE_DIR SHARE_DIR   start Samba smbd and nfs-ganesha on 127.0.0.1; prints "smb-port N",
#                                          "nfs-port N" and "smb-password-file FILE", exits 0 once both answer
#   servers.sh stop STATE_DIR              stop both; nothing started by "start" is left running
#
# Ports: SMB_PORT (default 4450) and NFS_PORT (default 20490) in the environment. Needs root (smbd, ganesha and
# useradd do) and the packages of `scripts/install-deps.sh --live`.
#
# SMB: user "liveimager" (a system user, created when missing) with a random password written to
# STATE_DIR/smb-password; share "images" read-write on SHARE_DIR/images, share "readonly" read-only on
# SHARE_DIR/readonly. Files are created as root on the host (force user), so an image written over NFS (as root,
# no_root_squash) can be read and replaced over SMB and the other way round.
# NFS: NFSv4 only (no rpcbind, no mountd, no NLM: one TCP port), exports /images read-write and /readonly read-only
# (pseudo paths), no root squash.
# Everything the servers write (configs, databases, logs, pid files) is under STATE_DIR; logs: STATE_DIR/smbd.log,
# STATE_DIR/ganesha.log. The unix user stays after stop (created once, no home, no shell, no unix password).
# SHARE_DIR must be on a filesystem that gives out file handles (ext4, xfs, btrfs, tmpfs; not overlayfs): ganesha's
# VFS FSAL serves files by name_to_handle_at(2).
set -euo pipefail

usage() {
  echo "usage: $0 start STATE_DIR SHARE_DIR | stop STATE_DIR   (SMB_PORT=${SMB_PORT:-4450} NFS_PORT=${NFS_PORT:-20490})" >&2
  exit 2
}

smb_port=${SMB_PORT:-4450}
nfs_port=${NFS_PORT:-20490}
smb_user=liveimager
ready_timeout=30

# True once something accepts TCP connections on 127.0.0.1:$1.
answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts "$@" in a session of its own, so that stop can end it and every child it spawned (smbd forks one process
# per client and may start samba-dcerpcd) by that session's process group.
start_daemon() {
  local pid_file=$1 log=$2
  shift 2
  setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$pid_file"
}

# Ends the process group recorded in $1: TERM, up to 10 s to exit, then KILL.
stop_daemon() {
  local pid_file=$1 pid
  [ -f "$pid_file" ] || return 0
  pid=$(cat "$pid_file")
  if kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

# Waits up to $ready_timeout s for port $2 of the server whose pid is in $3; on failure prints its log $4 and stops all.
wait_ready() {
  local name=$1 port=$2 pid_file=$3 log=$4
  for _ in $(seq $((ready_timeout * 10))); do
    answers "$port" && return 0
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  echo "$0: $name did not answer on 127.0.0.1:$port within ${ready_timeout} s; its log ($log) ends:" >&2
  tail -n 30 "$log" >&2 || true
  stop_all
  exit 1
}

stop_all() {
  stop_daemon "$state/smbd.started.pid"
  stop_daemon "$state/ganesha.started.pid"
}

write_smb_conf() {
  mkdir -p "$state/samba/private" "$state/samba/lock" "$state/samba/state" "$state/samba/cache" "$state/samba/pid" \
    "$state/samba/ncalrpc" "$state/samba/binddns"
  chmod 0700 "$state/samba/private"
  cat >"$state/smb.conf" <<EOF
[global]
  server role = standalone server
  workgroup = WORKGROUP
  netbios name = LIVETEST
  disable netbios = yes
  smb ports = $smb_port
  interfaces = 127.0.0.1
  bind interfaces only = yes
  passdb backend = tdbsam
  map to guest = never
  private dir = $state/samba/private
  lock directory = $state/samba/lock
  state directory = $state/samba/state
  cache directory = $state/samba/cache
  pid directory = $state/samba/pid
  ncalrpc dir = $state/samba/ncalrpc
  binddns dir = $state/samba/binddns
  usershare path =
  log file = $state/smbd.log
  max log size = 0
  log level = 1
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes

[images]
  path = $share/images
  read only = no
  valid users = $smb_user
  force user = root
  force group = root

[readonly]
  path = $share/readonly
  read only = yes
  valid users = $smb_user
  force user = root
  force group = root
EOF
}

write_ganesha_conf() {
  mkdir -p "$state/ganesha/recovery"
  local plugins
  plugins=$(dirname "$(dpkg -L nfs-ganesha-vfs | grep -m1 '/libfsalvfs\.so$')")
  cat >"$state/ganesha.conf" <<EOF
NFS_CORE_PARAM {
  Bind_addr = 127.0.0.1;
  NFS_Port = $nfs_port;
  Protocols = 4;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
  Plugins_Dir = "$plugins";
}
NFSV4 {
  Graceless = true;
  RecoveryRoot = "$state/ganesha/recovery";
  Only_Numeric_Owners = true;
}
EXPORT_DEFAULTS {
  Squash = No_Root_Squash;
  SecType = sys;
  Protocols = 4;
  Transports = TCP;
  # QEMU's user networking connects from an ordinary host port, whatever port the guest's client used.
  PrivilegedPort = false;
}
EXPORT {
  Export_Id = 1;
  Path = "$share/images";
  Pseudo = /images;
  Access_Type = RW;
  FSAL { Name = VFS; }
}
EXPORT {
  Export_Id = 2;
  Path = "$share/readonly";
  Pseudo = /readonly;
  Access_Type = RO;
  FSAL { Name = VFS; }
}
EOF
}

start() {
  for tool in smbd smbpasswd ganesha.nfsd; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing; run scripts/install-deps.sh --live" >&2; exit 1; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (smbd, ganesha.nfsd and useradd need it)" >&2; exit 1; }
  for port in "$smb_port" "$nfs_port"; do
    if answers "$port"; then
      echo "$0: something already listens on 127.0.0.1:$port; stop it or set SMB_PORT/NFS_PORT" >&2
      exit 1
    fi
  done
  mkdir -p "$state" "$share/images" "$share/readonly"
  state=$(cd "$state" && pwd)
  share=$(cd "$share" && pwd)
  [ -e "$share/readonly/README" ] || echo "a read-only share: writing here must fail" >"$share/readonly/README"

  id "$smb_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$smb_user"
  write_smb_conf
  write_ganesha_conf
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$state/smb-password")
  local password
  password=$(cat "$state/smb-password")
  printf '%s\n%s\n' "$password" "$password" | smbpasswd -c "$state/smb.conf" -s -a "$smb_user" >"$state/smbpasswd.log" 2>&1 ||
    { cat "$state/smbpasswd.log" >&2; exit 1; }

  start_daemon "$state/smbd.started.pid" "$state/smbd.out" smbd --foreground --no-process-group -s "$state/smb.conf"
  start_daemon "$state/ganesha.started.pid" "$state/ganesha.out" ganesha.nfsd -F -f "$state/ganesha.conf" \
    -L "$state/ganesha.log" -p "$state/ganesha/ganesha.pid" -N NIV_EVENT
  wait_ready smbd "$smb_port" "$state/smbd.started.pid" "$state/smbd.log"
  wait_ready ganesha.nfsd "$nfs_port" "$state/ganesha.started.pid" "$state/ganesha.log"
  echo "smb-port $smb_port"
  echo "nfs-port $nfs_port"
  echo "smb-password-file $state/smb-password"
}

case "${1:-}" in
  start)
    [ $# -eq 3 ] || usage
    state=$2
    share=$3
    start
    ;;
  stop)
    [ $# -eq 2 ] || usage
    state=$2
    [ -d "$state" ] || exit 0
    stop_all
    ;;
  *) usage ;;
esac
