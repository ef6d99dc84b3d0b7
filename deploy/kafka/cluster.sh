#!/usr/bin/env bash
# A 3-node Apache Kafka cluster in KRaft mode on loopback, for development and Phoenix's
# system tests. Each node is a combined broker+controller JVM (java -cp <jars>
# kafka.Kafka) with a small heap; ports are picked free at start; everything the cluster
# writes lives in one temporary folder that `stop` removes.
#
#   cluster.sh start [--tls] [--state DIR]   start (or keep) a cluster, wait until ready
#   cluster.sh status [--state DIR]          nodes, bootstrap, readiness; exit 0 if ready
#   cluster.sh stop [--state DIR]            kill the JVMs, remove the temporary folder
#
# --tls: mTLS on every listener (ssl.client.auth=required), StandardAuthorizer with ACLs,
# client identities admin (super user), phoenix-node (ALL on every topic, group and
# transactional id), reader (no ACLs), intruder (certificate from an untrusted CA);
# see README.md. Without --tls: PLAINTEXT, no authorizer.
#
# The state folder (default ${TMPDIR:-/tmp}/phoenix-kafka-$(id -u), or
# $PHOENIX_KAFKA_STATE) holds cluster.env: MODE, BOOTSTRAP, CLIENTS (a folder with
# <identity>.properties for librdkafka/kcat -F and <identity>.toml for phoenix --config),
# DATA_DIR, and per node its PID and ports. Exit codes: 0 ok, 1 failure, 2 usage,
# 3 (status) no cluster.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

cmd=${1:-}
[ $# -gt 0 ] && shift
mode=plaintext
state=${PHOENIX_KAFKA_STATE:-${TMPDIR:-/tmp}/phoenix-kafka-$(id -u)}
while [ $# -gt 0 ]; do
  case $1 in
    --tls) mode=tls ;;
    --state) state=${2:?--state needs a folder}; shift ;;
    *) usage ;;
  esac
  shift
done
env_file="$state/cluster.env"
START_FAILURE=

start() {
  if [ -f "$env_file" ]; then
    load_env
    if cluster_ready; then
      if [ "$MODE" != "$mode" ]; then
        die "a $MODE cluster is running at $BOOTSTRAP; stop it first (cluster.sh stop)"
      fi
      log "already running ($MODE) at $BOOTSTRAP"
      return 0
    fi
    log "found a cluster that is not healthy; removing it"
    stop_cluster
  fi
  local libs
  libs=$("$here/fetch.sh") || die "cannot fetch Apache Kafka (see above)"
  mkdir -p "$state"
  # Whatever ends this script before the cluster is ready (an error, Ctrl-C) removes
  # what it started.
  trap 'abort_start' EXIT
  trap 'exit 1' INT TERM
  local attempt
  for attempt in 1 2 3; do
    if start_once "$libs"; then
      trap - EXIT INT TERM
      log "ready ($mode) at $BOOTSTRAP; clients in $CLIENTS"
      return 0
    fi
    abort_start
    # Another process may have taken a port between the pick and the bind (the tests
    # running meanwhile open ports all the time), or a node died while it started: retry
    # on fresh ports and a fresh data directory; anything else fails at once, loudly.
    if [ -z "$START_FAILURE" ] || [ $attempt -eq 3 ]; then
      trap - EXIT
      die "the cluster did not start"
    fi
    log "retrying on other ports ($START_FAILURE; attempt $attempt of 3 failed)"
  done
}

# Called in an `if`, where `set -e` does not apply: every step checks for itself.
start_once() {
  local libs=$1 i
  DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/phoenix-kafka-data.XXXXXX") || return 1
  MODE=$mode
  CLIENTS="$DATA_DIR/clients"
  START_FAILURE=
  pick_ports 6 || return 1
  for i in 1 2 3; do
    eval "BROKER_PORT_$i=${PORTS[$((i - 1))]} CONTROLLER_PORT_$i=${PORTS[$((i + 2))]}"
  done
  BOOTSTRAP="127.0.0.1:$BROKER_PORT_1,127.0.0.1:$BROKER_PORT_2,127.0.0.1:$BROKER_PORT_3"
  if [ "$mode" = tls ]; then
    "$here/certs.sh" "$DATA_DIR/certs" >/dev/null || return 1
  fi
  write_clients || return 1
  local cluster_id
  cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  for i in 1 2 3; do
    write_server_properties "$i" || return 1
    run_tool "$libs" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$DATA_DIR/node-$i/server.properties" --ignore-formatted >/dev/null &
  done
  wait_all || { log "formatting the storage failed"; return 1; }
  for i in 1 2 3; do
    start_node "$libs" "$i" || return 1
  done
  write_env || return 1
  wait_ready 180 || return 1
  warm_group_coordinator || return 1
  if [ "$mode" = tls ]; then
    grant_node_acls "$libs" || { log "granting phoenix-node's ACLs failed"; return 1; }
  fi
}

# Shows why the start failed, then removes what it started. Sets START_FAILURE to "a
# port was taken" when a node could not bind its port, or "a node exited" (set by
# wait_ready) for another death of a node; left empty for other failures.
abort_start() {
  log "start failed; cleaning up"
  local i dir
  for i in 1 2 3; do
    dir="${DATA_DIR:-/nonexistent}/node-$i"
    if grep -qsE 'BindException|Address already in use' "$dir/server.log" "$dir/server.out"; then
      START_FAILURE="a port was taken"
    fi
    if [ -s "$dir/server.out" ]; then
      log "node $i output (last lines):"
      tail -n 15 "$dir/server.out" >&2
    fi
    if grep -qsE '^\[[^]]*\] (ERROR|FATAL)' "$dir/server.log"; then
      log "node $i errors in server.log (last ones):"
      grep -E -A3 '^\[[^]]*\] (ERROR|FATAL)' "$dir/server.log" | tail -n 12 >&2
    fi
  done
  stop_cluster
}

stop() {
  if [ ! -f "$env_file" ]; then
    log "no cluster in $state"
    return 0
  fi
  load_env
  stop_cluster
  log "stopped"
}

status() {
  if [ ! -f "$env_file" ]; then
    log "no cluster in $state"
    exit 3
  fi
  load_env
  echo "mode: $MODE"
  echo "bootstrap: $BOOTSTRAP"
  echo "clients: $CLIENTS"
  local i pid
  for i in 1 2 3; do
    pid=$(node_var PID "$i")
    if node_alive "$i"; then
      echo "node $i: running (pid $pid, port $(node_var BROKER_PORT "$i"))"
    else
      echo "node $i: not running (pid $pid)"
    fi
  done
  if cluster_ready; then
    echo "ready: metadata lists 3 brokers"
  else
    echo "ready: no"
    exit 1
  fi
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
