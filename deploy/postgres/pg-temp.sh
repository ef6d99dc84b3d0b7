#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests, in a directory of its own, on a free
# loopback port.
#
#   pg-temp.sh start DIR    initialise DIR if new, start the server (if not running)
#                           and print its DSN on stdout; the port is kept in DIR/port,
#                           so a start after a stop comes back on the same address
#   pg-temp.sh stop DIR     fast shutdown, if running
#   pg-temp.sh destroy DIR  stop, then delete DIR
#
# Every command is idempotent. postgres refuses to run as root, so as root the server
# runs as the `postgres` user of Debian's postgresql-15 package (runuser). Trust
# authentication on 127.0.0.1 only; the superuser is `postgres`.
set -euo pipefail

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
temp_server_name=pg-temp
# shellcheck source=../temp-server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../temp-server.sh"
temp_server_args "$@"
close_leaked_fds

as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [ -f "$dir/data/PG_VERSION" ] && as_server "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

print_dsn() {
  echo "host=127.0.0.1 port=$(cat "$dir/port") user=postgres dbname=postgres"
}

start() {
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_server "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if running; then
    print_dsn
    return 0
  fi
  [ -f "$dir/port" ] || pick_port >"$dir/port"
  for attempt in 1 2 3 4 5; do
    if as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1" start >/dev/null; then
      print_dsn
      return 0
    fi
    # Someone took the port between the check and the bind: take another one.
    if grep -q "could not bind" "$dir/server.log" 2>/dev/null && [ "$attempt" -lt 5 ]; then
      pick_port >"$dir/port"
      continue
    fi
    break
  done
  echo "pg-temp: server did not start; log follows" >&2
  tail -n 20 "$dir/server.log" >&2 || true
  exit 1
}

stop() {
  if running; then
    as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  fi
}

temp_server_run
