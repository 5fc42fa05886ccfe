#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh machine:
# installs the Debian packages the tests use when they are missing, then `npm ci` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package
declare -A packages=(
  [skopeo]=skopeo
  [umoci]=umoci
  [podman]=podman
  [buildah]=buildah
  [docker-registry]=docker-registry
  [curl]=curl
  [openssl]=openssl
  [ceph-mon]=ceph-mon
  [ceph-osd]=ceph-osd
  [radosgw]=radosgw
  [ceph]=ceph-common
)
missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
# The PostgreSQL server binaries are not on PATH (the tests run initdb/pg_ctl from /usr/lib/postgresql/N/bin).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "test.sh: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

npm ci --no-audit --no-fund
npm test
