#!/usr/bin/env bash
# A throwaway Redis 7 server for tests (Debian's redis-server), in a directory of its
# own, on a free loopback port, without persistence.
#
#   redis-temp.sh start DIR    start the server (if not running) and print its address
#                              (host:port) on stdout; the port is kept in DIR/port, so a
#                              start after a stop comes back on the same address
#   redis-temp.sh stop DIR     shut the server down (nothing saved), if running
#   redis-temp.sh destroy DIR  stop, then delete DIR
#
# Every command is idempotent.
set -euo pipefail

server=${REDIS_SERVER:-/usr/bin/redis-server}
cli=${REDIS_CLI:-/usr/bin/redis-cli}
temp_server_name=redis-temp
# shellcheck source=../temp-server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../temp-server.sh"
temp_server_args "$@"
close_leaked_fds

running() {
  [ -f "$dir/port" ] && "$cli" -h 127.0.0.1 -p "$(cat "$dir/port")" ping 2>/dev/null | grep -q PONG
}

start() {
  mkdir -p "$dir"
  if running; then
    echo "127.0.0.1:$(cat "$dir/port")"
    return 0
  fi
  [ -f "$dir/port" ] || pick_port >"$dir/port"
  for attempt in 1 2 3 4 5; do
    "$server" --bind 127.0.0.1 --port "$(cat "$dir/port")" --dir "$dir" --save "" \
      --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      >/dev/null
    for _ in $(seq 1 100); do
      if running; then
        echo "127.0.0.1:$(cat "$dir/port")"
        return 0
      fi
      sleep 0.05
    done
    # Someone took the port between the check and the bind: take another one.
    if grep -q "Address already in use" "$dir/redis.log" 2>/dev/null && [ "$attempt" -lt 5 ]; then
      pick_port >"$dir/port"
      continue
    fi
    break
  done
  echo "redis-temp: server did not start; log follows" >&2
  tail -n 20 "$dir/redis.log" >&2 || true
  exit 1
}

stop() {
  if running; then
    "$cli" -h 127.0.0.1 -p "$(cat "$dir/port")" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do
      running || return 0
      sleep 0.05
    done
    echo "redis-temp: server did not stop" >&2
    exit 1
  fi
}

temp_server_run
