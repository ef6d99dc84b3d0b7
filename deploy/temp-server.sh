# shellcheck shell=bash
# What the throwaway test servers (postgres/pg-temp.sh, redis/redis-temp.sh) share:
# sourced, not run. The caller sets `temp_server_name` (for messages), sources this,
# calls `temp_server_args "$@"`, defines `start` and `stop`, and ends with
# `temp_server_run`.

# Sets `cmd` and `dir` from `start|stop|destroy DIR`, or exits 2 with the usage.
temp_server_args() {
  cmd=${1:-}
  dir=${2:-}
  if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|destroy DIR" >&2
    exit 2
  fi
}

# Runs `cmd`: start, stop, or destroy (stop, then delete DIR).
temp_server_run() {
  case "$cmd" in
  start) start ;;
  stop) stop ;;
  destroy)
    stop
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop|destroy DIR" >&2
    exit 2
    ;;
  esac
}

# Descriptors a caller leaked to us (a test harness's pipes) must not live on in the
# server, or the caller would wait for their end as long as the server runs. 255 is
# bash's own handle on the script.
close_leaked_fds() {
  local fd
  for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then
      eval "exec $fd>&-" 2>/dev/null || true
    fi
  done
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free loopback port from 20000 to 59999 on stdout.
pick_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then
      echo "$p"
      return 0
    fi
  done
  echo "${temp_server_name:-temp-server}: no free port found" >&2
  return 1
}
