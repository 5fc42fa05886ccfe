#!/usr/bin/env bash
# Azurite's Blob service (the Azure Storage emulator, npm package `azurite`) for tests.
#
#   scripts/services/azurite.sh start DIR   # start azurite-blob; prints KEY='VALUE' lines (sh-sourceable) when it answers
#   scripts/services/azurite.sh stop DIR    # stop it (SIGTERM, then SIGKILL after 5 s) by the PID in DIR/azurite.pid
#
# In-memory (nothing persists), 127.0.0.1 only, telemetry off. Account devstoreaccount1 with Azurite's
# well-known key; path-style URLs: http://127.0.0.1:PORT/devstoreaccount1/CONTAINER/BLOB.
#
# Environment:
#   AZURITE_PORT            blob port on 127.0.0.1 (default 10000)
#   AZURITE_START_TIMEOUT   seconds to wait for it to answer (default 30)
#
# Runs node_modules/.bin/azurite-blob of this repository (devDependency azurite, 3.35.x on Node 20) with `node`,
# so a bin without the exec bit still works. Installs nothing.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
CMD=$1
D=$(realpath -m -- "$2")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/node_modules/.bin/azurite-blob
PORT=${AZURITE_PORT:-10000}
TIMEOUT=${AZURITE_START_TIMEOUT:-30}
PIDFILE=$D/azurite.pid
LOG=$D/azurite.log
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

log() { echo "azurite: $*" >&2; }

# The PID in the pid file, only if that process is still our azurite-blob running in DIR (a reused PID is left alone).
our_pid() {
  local p
  [ -s "$PIDFILE" ] || return 1
  p=$(tr -dc 0-9 <"$PIDFILE")
  [ -n "$p" ] && [ -d /proc/"$p" ] || return 1
  [ "$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null)" != Z ] || return 1
  local cl
  cl=$(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null || true)
  [[ $cl == *azurite-blob* ]] && [ "$(readlink /proc/"$p"/cwd)" = "$D" ] || return 1
  echo "$p"
}

stop() {
  local p
  if p=$(our_pid); then
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do our_pid >/dev/null || break; sleep 0.1; done
    if our_pid >/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
    for _ in $(seq 50); do our_pid >/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PIDFILE"
}

start() {
  command -v node >/dev/null || { log "node not found"; exit 1; }
  [ -e "$BIN" ] || { log "missing $BIN: add the devDependency azurite (3.35.x) and run npm ci"; exit 1; }
  mkdir -p "$D"
  stop # a stale one from an earlier run in this DIR
  : >"$LOG"
  # Runs in DIR (that is how stop recognises it; --location cannot be combined with --inMemoryPersistence).
  (cd "$D" && exec node "$BIN" --blobHost 127.0.0.1 --blobPort "$PORT" --inMemoryPersistence \
    --disableTelemetry --skipApiVersionCheck --loose --silent </dev/null >>"$LOG" 2>&1) &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + TIMEOUT)) code
  for (( ; ; )); do
    # Any HTTP answer means it listens (an unsigned request gets 403/400 back).
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/$ACCOUNT?comp=list" || true)
    [ "$code" != 000 ] && [ -n "$code" ] && grep -q "successfully listens" "$LOG" && break
    if ! our_pid >/dev/null; then
      log "FAILED: azurite-blob exited before it answered on port $PORT; log:"
      tail -n 40 "$LOG" >&2
      rm -f "$PIDFILE"
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "FAILED: not ready on port $PORT after ${TIMEOUT}s; log:"
      tail -n 40 "$LOG" >&2
      stop
      exit 1
    fi
    sleep 0.1
  done
  local ep=http://127.0.0.1:$PORT/$ACCOUNT
  log "ready: $ep (pid $(cat "$PIDFILE"), dir $D)"
  echo "AZURITE_BLOB_ENDPOINT='$ep'"
  echo "AZURITE_ACCOUNT_NAME='$ACCOUNT'"
  echo "AZURITE_ACCOUNT_KEY='$KEY'"
  echo "AZURITE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=$ep;'"
}

case $CMD in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
