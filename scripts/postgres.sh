#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: nothing depends on a
# database already running.
#   scripts/postgres.sh start DIR   creates a cluster in DIR (a new, empty
#                                   temporary directory), listening on a Unix
#                                   socket in DIR only, starts it, creates the
#                                   role and the database of the tests and
#                                   prints their libpq URI
#   scripts/postgres.sh env DIR     prints `export CLUSTERACCESS_TEST_POSTGRES=<uri>`
#   scripts/postgres.sh stop DIR    stops the cluster (fast shutdown) and
#                                   removes DIR
#   scripts/postgres.sh crash DIR   stops the server at once, as a crash would
#                                   (pg_ctl -m immediate: no checkpoint)
#   scripts/postgres.sh resume DIR  starts the server of DIR again (it
#                                   recovers from its write-ahead log)
# initdb refuses to run as root: as root, the cluster belongs to the
# `postgres` user (created by the Debian package). fsync stays on: durability
# is part of the contract (docs/contract.md, Storage backends).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DATABASE=clusteraccess_test
ROLE=clusteraccess

usage() { echo "usage: $0 start|stop|env|crash|resume DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
command=$1
dir=$2

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

uri() { echo "postgresql:///$DATABASE?host=$dir&user=$ROLE"; }

case "$command" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    chmod 0700 "$dir"
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 200
CONF
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    as_owner "$PG_BIN/psql" -q -h "$dir" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE $ROLE LOGIN CREATEDB" -c "CREATE DATABASE $DATABASE OWNER $ROLE"
    uri
    ;;
  env)
    echo "export CLUSTERACCESS_TEST_POSTGRES='$(uri)'"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  crash)
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null
    ;;
  resume)
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    ;;
  *) usage ;;
esac
