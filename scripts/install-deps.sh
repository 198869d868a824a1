#!/usr/bin/env bash
# Installs what dip's build, tests, demo and benchmarks need on Debian bookworm, if missing:
# Debian -dev packages (found by pkg-config), PostgreSQL 15, clang for fuzzers, node + the
# npm test tooling, from the lock file. Each part is skipped when already there: apt runs
# only when a package is missing (then `apt-get update` once, then `apt-get install`), and
# `npm ci` only when node_modules was not installed from this lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

# build tools and libraries (pkg-config names in CMakeLists.txt), the PostgreSQL 15 server
# the tests start privately, and what the test and bench scripts call
pkgs=(build-essential cmake pkg-config git
  libzstd-dev libsnappy-dev liblz4-dev zlib1g-dev libdeflate-dev libbrotli-dev libcurl4-openssl-dev
  libpq-dev libssl-dev libjansson-dev libxxhash-dev libcmocka-dev
  liblua5.4-dev libhiredis-dev redis-server python3-elasticsearch
  postgresql-15 postgresql-client-15
  clang libclang-rt-14-dev
  clang-format-14 cppcheck
  python3 time procps util-linux passwd ca-certificates curl coreutils man-db groff-base)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  # the Debian package starts a cluster of its own on 5432; dip's tests use private ones
  if command -v pg_lsclusters >/dev/null 2>&1; then
    "${SUDO[@]}" pg_ctlcluster 15 main stop 2>/dev/null || true
  fi
fi

stamp=node_modules/.dip-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
