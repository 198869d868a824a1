#!/usr/bin/env bash
# Installs what dip's build, tests, demo and benchmarks need on Debian bookworm, if missing:
# Debian -dev packages (found by pkg-config), PostgreSQL 15, clang for fuzzers, node + the
# npm test tooling, from the lock file; skipped when node_modules was installed from this lock
stamp=node_modules/.dip-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
