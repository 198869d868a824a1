#!/usr/bin/env bash
# pg-cluster.sh: a private PostgreSQL 15 cluster for tests, the demo and the benchmark.
#
#   eval "$(scripts/pg-cluster.sh start [--no-fsync])"   # prints PGHOST PGPORT PGUSER PGDATABASE DIP_PG_DIR
#   scripts/pg-cluster.sh restart "$DIP_PG_DIR"           # fast stop + start on the same port
#   scripts/pg-cluster.sh stop "$DIP_PG_DIR"              # fast stop, removes the directory
#   eval "$(scripts/pg-cluster.sh failover "$DIP_PG_DIR" PORT)"  # the primary dies; its storage
#                                                         # comes up as a new primary on PORT
#   eval "$(scripts/pg-cluster.sh standby "$DIP_PG_DIR" PORT)"   # a streaming standby (slots copied)
#   scripts/pg-cluster.sh halt DIR [fast|immediate] | resume DIR | promote DIR
#
# DIP_PG_EXTRA_CONF: more postgresql.conf lines (profiling: pg_stat_statements, auto_explain).
#
# Everything lives under one unique temp directory (several helpers and test runs start
# clusters at the same time on this machine). initdb refuses to run as root, so the cluster
# belongs to the system user `dipdb` (created when missing) and runs through runuser.
# Listens on 127.0.0.1 only, on a free port, with trust auth on loopback and the unix
# socket inside the temp directory; wal_level=logical for sync-es.
# Durability: fsync stays on by default (benchmarks always use the default durable
# settings). --no-fsync turns fsync/synchronous_commit/full_page_writes off, for tests only.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DBUSER=${DIP_PG_OS_USER:-dipdb}

as_db() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$DBUSER" -- "$@"
  else
    "$@"
  fi
}

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  if ! id "$DBUSER" >/dev/null 2>&1; then
    # concurrent starts may race on useradd: tolerate "already exists"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$DBUSER" 2>/dev/null || true
    id "$DBUSER" >/dev/null
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

cmd_start() {
  local fsync=on
  for a in "$@"; do
    case "$a" in
      --no-fsync) fsync=off ;;
      *) echo "pg-cluster.sh: unknown option $a" >&2; exit 2 ;;
    esac
  done
  ensure_user
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dip-pg.XXXXXXXX")
  chmod 755 "$dir"
  mkdir -p "$dir/data" "$dir/sock"
  if [ "$(id -u)" = 0 ]; then chown -R "$DBUSER" "$dir"; fi
  as_db "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$dir/sock'"
    echo "wal_level = logical"
    echo "max_wal_senders = 10"
    echo "max_replication_slots = 10"
    echo "max_connections = 50"
    echo "shared_buffers = 256MB"
    echo "max_wal_size = 4GB"
    echo "log_min_messages = warning"
    if [ "$fsync" = off ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
    # more settings for a profiling run, e.g. "shared_preload_libraries = 'pg_stat_statements'"
    [ -n "${DIP_PG_EXTRA_CONF:-}" ] && printf '%s\n' "$DIP_PG_EXTRA_CONF"
  } >>"$dir/data/postgresql.conf"
  # trust on loopback only (initdb --auth=trust already writes host 127.0.0.1/32 trust lines)
  local port tries=0
  while :; do
    port=$(free_port)
    echo "port = $port" >"$dir/port.conf"
    if as_db "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port" start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ $tries -ge 5 ]; then
      echo "pg-cluster.sh: could not start PostgreSQL (see $dir/server.log)" >&2
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
  done
  echo "$port" >"$dir/port"
  echo "export PGHOST=127.0.0.1"
  echo "export PGPORT=$port"
  echo "export PGUSER=postgres"
  echo "export PGDATABASE=postgres"
  echo "export DIP_PG_DIR=$dir"
}

check_dir() {
  local dir=${1:-${DIP_PG_DIR:-}}
  if [ -z "$dir" ] || [ ! -f "$dir/port" ] || [ ! -d "$dir/data" ]; then
    echo "pg-cluster.sh: '$dir' is not a cluster directory made by pg-cluster.sh start" >&2
    exit 2
  fi
  echo "$dir"
}

cmd_stop() {
  local dir
  dir=$(check_dir "${1:-}")
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  case "$dir" in
    */dip-pg.*) rm -rf "$dir" ;;
  esac
}

cmd_restart() {
  local dir port
  dir=$(check_dir "${1:-}")
  port=$(cat "$dir/port")
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -m "${2:-fast}" -w -t 60 stop >/dev/null 2>&1 || true
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-p $port" start \
    >/dev/null
}

# kill -9 of the postmaster's backends is not what tests want; "crash" stops with
# immediate mode (no shutdown checkpoint, crash recovery at next start).
cmd_crash_restart() { cmd_restart "${1:-}" immediate; }

# failover DIR PORT: the primary in DIR dies (immediate stop: no shutdown checkpoint) and a new
# primary takes over its storage on another port, as a storage-level failover does (Amazon RDS
# Multi-AZ, a cloud disk re-attached to a standby host, shared storage): same data, same
# replication slots at their last persisted state, crash recovery at start, a new address.
# Prints the new cluster's exports like start; DIR (the dead host) is removed.
cmd_failover() {
  local dir port new
  dir=$(check_dir "${1:-}")
  port=${2:?usage: pg-cluster.sh failover DIR PORT}
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  new=$(mktemp -d "${TMPDIR:-/tmp}/dip-pg.XXXXXXXX")
  chmod 755 "$new"
  mkdir -p "$new/sock"
  cp -a "$dir/data" "$new/data"
  rm -f "$new/data/postmaster.pid"
  sed -i "s|^unix_socket_directories = .*|unix_socket_directories = '$new/sock'|" "$new/data/postgresql.conf"
  if [ "$(id -u)" = 0 ]; then chown -R "$DBUSER" "$new"; fi
  echo "port = $port" >"$new/port.conf"
  as_db "$PGBIN/pg_ctl" -D "$new/data" -l "$new/server.log" -w -t 120 -o "-p $port" start >/dev/null || {
    cat "$new/server.log" >&2; exit 1; }
  echo "$port" >"$new/port"
  case "$dir" in
    */dip-pg.*) rm -rf "$dir" ;;
  esac
  echo "export PGHOST=127.0.0.1"
  echo "export PGPORT=$port"
  echo "export PGUSER=postgres"
  echo "export PGDATABASE=postgres"
  echo "export DIP_PG_DIR=$new"
}

# standby DIR PORT: a streaming physical standby of the cluster in DIR, on PORT. Its data is a
# copy of DIR's taken while DIR's server is stopped (fast; started again at once), so the
# standby also holds DIR's replication slots as they were (what an HA manager that copies
# logical slots to its replicas gives); it then follows DIR by streaming replication.
# Prints the standby's exports like start.
cmd_standby() {
  local dir port new pport
  dir=$(check_dir "${1:-}")
  port=${2:?usage: pg-cluster.sh standby DIR PORT}
  pport=$(cat "$dir/port")
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  new=$(mktemp -d "${TMPDIR:-/tmp}/dip-pg.XXXXXXXX")
  chmod 755 "$new"
  mkdir -p "$new/sock"
  cp -a "$dir/data" "$new/data"
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-p $pport" start >/dev/null
  rm -f "$new/data/postmaster.pid"
  sed -i "s|^unix_socket_directories = .*|unix_socket_directories = '$new/sock'|" "$new/data/postgresql.conf"
  {
    echo "primary_conninfo = 'host=127.0.0.1 port=$pport user=postgres application_name=standby'"
    echo "hot_standby = on"
  } >>"$new/data/postgresql.conf"
  touch "$new/data/standby.signal"
  if [ "$(id -u)" = 0 ]; then chown -R "$DBUSER" "$new"; fi
  as_db "$PGBIN/pg_ctl" -D "$new/data" -l "$new/server.log" -w -t 120 -o "-p $port" start >/dev/null || {
    cat "$new/server.log" >&2; exit 1; }
  echo "$port" >"$new/port"
  echo "export PGHOST=127.0.0.1"
  echo "export PGPORT=$port"
  echo "export PGUSER=postgres"
  echo "export PGDATABASE=postgres"
  echo "export DIP_PG_DIR=$new"
}

# halt DIR [fast|immediate]: stops the server, keeps the directory (resume starts it again).
cmd_halt() {
  local dir
  dir=$(check_dir "${1:-}")
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -m "${2:-fast}" -w -t 60 stop >/dev/null 2>&1 || true
}

cmd_resume() {
  local dir
  dir=$(check_dir "${1:-}")
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 -o "-p $(cat "$dir/port")" start >/dev/null
}

# promote DIR: a standby becomes a primary on a new timeline (pg_ctl promote, waits).
cmd_promote() {
  local dir
  dir=$(check_dir "${1:-}")
  as_db "$PGBIN/pg_ctl" -D "$dir/data" -w -t 120 promote >/dev/null
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  standby) shift; cmd_standby "${1:-}" "${2:-}" ;;
  halt) shift; cmd_halt "${1:-}" "${2:-}" ;;
  resume) shift; cmd_resume "${1:-}" ;;
  promote) shift; cmd_promote "${1:-}" ;;
  stop) shift; cmd_stop "$@" ;;
  restart) shift; cmd_restart "${1:-}" ;;
  crash-restart) shift; cmd_crash_restart "${1:-}" ;;
  failover) shift; cmd_failover "${1:-}" "${2:-}" ;;
  *)
    echo "usage: $0 start [--no-fsync] | stop DIR | restart DIR | crash-restart DIR | failover DIR PORT | standby DIR PORT | halt DIR [MODE] | resume DIR | promote DIR" >&2
    exit 2
    ;;
esac
