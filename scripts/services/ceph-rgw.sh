#!/usr/bin/env bash
# A throw-away single-node Ceph cluster with radosgw (S3) for tests.
#
#   scripts/services/ceph-rgw.sh start DIR   # start a fresh cluster in DIR; prints KEY='VALUE' lines (sh-sourceable) when S3 is ready
#   scripts/services/ceph-rgw.sh stop DIR    # SIGKILL this cluster's daemons (by the PIDs in DIR/run); keeps DIR (logs)
#
# 1 mon, 1 OSD on memstore (all data in RAM, so every start is an empty cluster), auth none, radosgw (beast)
# on 127.0.0.1. S3 credentials rgwaccess / rgwsecret (env RGW_ACCESS_KEY / RGW_SECRET_KEY), region us-east-1.
# Creates the S3 user and nothing else: buckets are the tests' job.
#
# Environment:
#   RGW_PORT              S3 port on 127.0.0.1 (default 7480)
#   CEPH_MON_PORT         monitor port on 127.0.0.1 (default 6789). Give each concurrent cluster its own.
#                         (The OSD takes free ports in 6800-7300 by itself, so it never collides.)
#   RGW_MEMSTORE_BYTES    size of the in-RAM OSD device (default 8 GiB; RAM is only used for what is stored)
#   RGW_START_TIMEOUT     seconds for each wait (mon, OSD, radosgw) before failing (default 60)
#
# Needs the Debian packages ceph-mon ceph-osd radosgw ceph-common (and curl); this script installs nothing.
#
# Stop uses SIGKILL on purpose: after SIGTERM radosgw can hang for good once the mon and OSD are gone, and a
# leftover daemon of an old cluster must not talk to the next one. The data is throw-away anyway.
#
# Ceph 16 with auth none has a start-up race: a client whose first mon command goes out before it has the
# monmap sends fsid 0 and is refused ('wrong fsid'; the mon log says "handle_command on fsid 00000000-...").
# It made about one OSD start in three fail on a busy 2-core machine. So the daemons run with --no-mon-config
# (they then take the fsid from ceph.conf at once), and the one-shot commands are retried.
#
# `start` on a DIR that holds an old cluster first kills that cluster's daemons and wipes DIR. To keep a typo
# from wiping a real folder, it refuses a non-empty DIR that it did not create (no .wharf-ceph-rgw marker).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
CMD=$1
D=$(realpath -m -- "$2")
[ "$D" != / ] || { echo "ceph-rgw: refusing DIR=/" >&2; exit 2; }
C=$D/ceph.conf
MARKER=$D/.wharf-ceph-rgw
DAEMONS=(client.rgw.gw osd.0 mon.a)

RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${CEPH_MON_PORT:-6789}
MEM_BYTES=${RGW_MEMSTORE_BYTES:-8589934592}
TIMEOUT=${RGW_START_TIMEOUT:-60}
ACCESS_KEY=${RGW_ACCESS_KEY:-rgwaccess}
SECRET_KEY=${RGW_SECRET_KEY:-rgwsecret}

log() { echo "ceph-rgw: $*" >&2; }

# The process in a pid file, only if it is still one of ours (a ceph daemon): a reused PID is left alone.
pid_of() {
  local f=$D/run/$1.pid p
  [ -s "$f" ] || return 1
  p=$(tr -dc 0-9 <"$f")
  [ -n "$p" ] && [ -d /proc/"$p" ] || return 1
  # Its command line must name this cluster's config file: a PID reused by anything else is not ours.
  tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | grep -qF -- "$C" || return 1
  echo "$p"
}

kill_all() {
  local n p pids=()
  for n in "${DAEMONS[@]}"; do
    if p=$(pid_of "$n"); then pids+=("$p"); fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -9 "${pids[@]}" 2>/dev/null || true
  # Bounded wait until they are gone (a killed daemon may take a moment to release its memory and ports).
  for _ in $(seq 100); do
    local alive=0
    for p in "${pids[@]}"; do [ -d /proc/"$p" ] && [ "$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null)" != Z ] && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for n in "${DAEMONS[@]}"; do rm -f "$D/run/$n.pid"; done
}

fail() {
  log "FAILED: $*"
  local f
  for f in "$D"/log/*.log; do
    [ -s "$f" ] || continue
    echo "----- tail of $f -----" >&2
    tail -n 40 "$f" >&2
  done
  kill_all
  exit 1
}

# wait_until SECONDS DESCRIPTION COMMAND...: run COMMAND every 0.2 s until it succeeds; fail after SECONDS.
# Fails early if one of the daemons named in $WATCH died (its PID is gone, or it wrote no pid file within 5 s).
wait_until() {
  local secs=$1 what=$2 n
  shift 2
  local deadline=$((SECONDS + secs)) grace=$((SECONDS + 5))
  until "$@" >/dev/null 2>&1; do
    for n in $WATCH; do
      if ! pid_of "$n" >/dev/null && { [ -s "$D/run/$n.pid" ] || [ $SECONDS -ge $grace ]; }; then
        fail "$n died while waiting for $what"
      fi
    done
    [ $SECONDS -lt $deadline ] || fail "$what not ready after ${secs}s"
    sleep 0.2
  done
}

# retry N WHAT COMMAND...: run COMMAND (output to the logs) up to N times, 0.5 s apart; fail after the last.
# Needed because a Ceph client's first mon command can race its monmap under auth none and be refused with
# 'wrong fsid' (the mon log says "handle_command on fsid 00000000-..."); a second try works.
retry() {
  local n=$1 what=$2 i
  shift 2
  for ((i = 1; i <= n; i++)); do
    "$@" >>"$D/log/daemons.log" 2>&1 && return 0
    echo "ceph-rgw: $what failed (try $i of $n)" >>"$D/log/daemons.log"
    sleep 0.5
  done
  fail "$what failed $n times"
}

start_osd() {
  local p
  if p=$(pid_of osd.0); then kill -9 "$p"; sleep 0.2; fi # a half-started one from a failed try
  ceph-osd -c "$C" --no-mon-config -i 0
}

create_user() {
  radosgw-admin -c "$C" --no-mon-config user info --uid=test >/dev/null 2>&1 ||
    radosgw-admin -c "$C" --no-mon-config user create --uid=test --display-name=test \
      --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null
}

ceph_cli() { timeout 10 ceph -c "$C" --connect-timeout 5 "$@"; }
osd_up() { ceph_cli osd stat 2>/dev/null | grep -q ' 1 up'; }
rgw_up() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$RGW_PORT/")" = 200 ]; }

start() {
  local t0=$SECONDS
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
    command -v "$b" >/dev/null || { log "missing '$b': apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl"; exit 1; }
  done
  # admin sockets are unix sockets: their path must fit in 107 bytes
  [ ${#D} -le 80 ] || { log "DIR path too long for unix sockets (${#D} > 80 chars): $D"; exit 1; }

  if [ -e "$D" ]; then
    if [ -e "$MARKER" ]; then
      kill_all
      rm -rf -- "$D"
    elif [ -n "$(ls -A -- "$D")" ]; then
      log "refusing to wipe non-empty $D: it was not made by this script (no $MARKER)"
      exit 1
    fi
  fi
  mkdir -p "$D"/mon "$D"/osd0 "$D"/run "$D"/log "$D"/rgw
  : >"$MARKER"

  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$C" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail crit = 1
mon data avail warn = 2
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
[mon]
mon data = $D/mon
[osd]
osd data = $D/osd0
osd objectstore = memstore
memstore device bytes = $MEM_BYTES
[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $D/rgw
rgw enable usage log = false
# Reclaim deleted objects within seconds (the default keeps them, in the OSD's RAM, for two hours).
rgw gc obj min wait = 5
rgw gc processor period = 5
CONF

  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "v1:127.0.0.1:$MON_PORT" --fsid "$fsid" "$D/monmap" >/dev/null
  ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >>"$D/log/mkfs.log" 2>&1 || fail "ceph-mon --mkfs"
  ceph-mon -c "$C" -i a >>"$D/log/daemons.log" 2>&1 || fail "ceph-mon did not start (is port $MON_PORT taken?)"
  WATCH="mon.a"
  wait_until "$TIMEOUT" "mon on port $MON_PORT" ceph_cli mon stat

  retry 10 "ceph osd new" ceph_cli osd new "$osd_uuid"
  ceph-osd -c "$C" --no-mon-config -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$D/log/mkfs.log" 2>&1 || fail "ceph-osd --mkfs"
  retry 3 "ceph-osd start" start_osd
  WATCH="mon.a osd.0"
  wait_until "$TIMEOUT" "osd.0 up" osd_up

  radosgw -c "$C" --no-mon-config -n client.rgw.gw >>"$D/log/daemons.log" 2>&1 || fail "radosgw did not start (is port $RGW_PORT taken?)"
  WATCH="mon.a osd.0 client.rgw.gw"
  wait_until "$TIMEOUT" "radosgw on port $RGW_PORT" rgw_up

  retry 5 "radosgw-admin user create" create_user

  log "ready in $((SECONDS - t0))s: http://127.0.0.1:$RGW_PORT (mon port $MON_PORT, dir $D)"
  echo "RGW_ENDPOINT='http://127.0.0.1:$RGW_PORT'"
  echo "RGW_ACCESS_KEY='$ACCESS_KEY'"
  echo "RGW_SECRET_KEY='$SECRET_KEY'"
  echo "RGW_REGION='us-east-1'"
}

case $CMD in
  start) start ;;
  stop) kill_all ;;
  *) usage ;;
esac
