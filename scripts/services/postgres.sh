#!/usr/bin/env bash
# A private PostgreSQL server for tests (and for trying out a scale-out setup), owned by one directory.
#
#   scripts/services/postgres.sh start DIR   # initdb DIR/data, start it; prints KEY='VALUE' lines (sh-sourceable) when it answers
#   scripts/services/postgres.sh stop DIR    # stop it (fast shutdown, then immediate, then SIGKILL) and leave DIR in place
#   scripts/services/postgres.sh restart DIR # stop and start it again with the same data, port and password
#
# The server listens on 127.0.0.1 only (and a Unix socket in DIR). Superuser `wharf` with a random password
# (scram-sha-256 over TCP); local socket connections are trusted. Database `postgres` exists; create your own.
# It runs with fsync=off: a test server that loses nothing unless the machine itself crashes, and much faster
# on a busy machine. Never use these settings for a real registry.
#
# Prints:
#   PG_URL='postgres://wharf:PASSWORD@127.0.0.1:PORT/postgres'
#   PG_PORT, PG_USER, PG_PASSWORD, PG_SOCKET_DIR
#
# Environment:
#   PG_PORT            TCP port on 127.0.0.1 (default 54329)
#   PG_START_TIMEOUT   seconds to wait for it to answer (default 60)
#   PG_BIN             directory holding initdb and pg_ctl (default: the newest /usr/lib/postgresql/*/bin)
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (Debian's package creates
# it) and DIR is handed to that user. Installs nothing: the Debian package is `postgresql`.
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
CMD=$1
D=$(realpath -m -- "$2")
PORT=${PG_PORT:-54329}
TIMEOUT=${PG_START_TIMEOUT:-60}
DATA=$D/data
LOG=$D/postgres.log

log() { echo "postgres: $*" >&2; }

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$newest" ] && echo "$newest"
}

BIN=$(find_bin || true)

# Runs a command as the user that owns the server: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The postmaster's PID, only if it is a postgres process serving DATA (a reused PID is left alone).
our_pid() {
  local p
  [ -s "$DATA/postmaster.pid" ] || return 1
  p=$(head -n 1 "$DATA/postmaster.pid" | tr -dc 0-9)
  [ -n "$p" ] && [ -d /proc/"$p" ] || return 1
  [ "$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null)" != Z ] || return 1
  local cl
  cl=$(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null || true)
  [[ $cl == *postgres* || $cl == *postmaster* ]] || return 1
  echo "$p"
}

stop() {
  local p
  p=$(our_pid) || return 0
  if [ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ]; then
    as_owner "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 20 >/dev/null 2>&1 ||
      as_owner "$BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 10 >/dev/null 2>&1 || true
  fi
  if our_pid >/dev/null; then
    kill -9 "$p" 2>/dev/null || true
    for _ in $(seq 50); do our_pid >/dev/null || break; sleep 0.1; done
  fi
}

# Starts the server on DATA and waits until it answers.
launch() {
  if ! as_owner "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t "$TIMEOUT" \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $D -c fsync=off -c full_page_writes=off -c max_connections=200" >/dev/null 2>&1; then
    log "FAILED: not ready on 127.0.0.1:$PORT after ${TIMEOUT}s (or it exited); log:"
    tail -n 40 "$LOG" >&2
    stop
    exit 1
  fi
  log "ready: 127.0.0.1:$PORT (pid $(our_pid || echo ?), dir $D)"
}

# Stops and starts the server of an earlier `start` in DIR, keeping its data, port and password.
restart() {
  [ -s "$D/port" ] && [ -d "$DATA" ] || { log "FAILED: no server was started in $D"; exit 1; }
  stop
  PORT=$(cat "$D/port")
  launch
}

start() {
  if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
    log "FAILED: no initdb/pg_ctl found (looked in ${PG_BIN:-/usr/lib/postgresql/*/bin}): install the Debian package postgresql"
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    log "FAILED: running as root but there is no postgres user to run the server as (the Debian package postgresql creates it)"
    exit 1
  fi
  mkdir -p "$D"
  stop # a stale one from an earlier run in this DIR
  rm -rf "$DATA"
  local password
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$D/pwfile"
  : >"$LOG"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$D"
    if ! runuser -u postgres -- test -w "$D"; then
      log "FAILED: the postgres user cannot reach $D: every parent directory must be searchable by it (e.g. use a dir directly under /tmp)"
      exit 1
    fi
  fi
  chmod 700 "$D"
  if ! as_owner "$BIN/initdb" -D "$DATA" -U wharf --pwfile="$D/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >>"$LOG" 2>&1; then
    log "FAILED: initdb; log:"
    tail -n 40 "$LOG" >&2
    exit 1
  fi
  rm -f "$D/pwfile"
  echo "$PORT" >"$D/port"
  launch
  echo "PG_URL='postgres://wharf:$password@127.0.0.1:$PORT/postgres'"
  echo "PG_PORT='$PORT'"
  echo "PG_USER='wharf'"
  echo "PG_PASSWORD='$password'"
  echo "PG_SOCKET_DIR='$D'"
}

case $CMD in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  *) usage ;;
esac
