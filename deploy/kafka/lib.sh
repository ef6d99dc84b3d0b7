# shellcheck shell=bash disable=SC2154
# Functions of cluster.sh (sourced, not run). They read and set the globals cluster.sh
# declares: here, state, env_file, mode, and the cluster.env keys.

# Small heaps: three JVMs share a 2-core test machine with the tests themselves.
heap=${PHOENIX_KAFKA_HEAP:-256m}
java_bin=${PHOENIX_JAVA:-$(find /usr/lib/jvm -maxdepth 3 -path '*java-17-openjdk-*/bin/java' 2>/dev/null | head -n 1)}
java_bin=${java_bin:-java}

log() { echo "cluster.sh: $*" >&2; }
die() {
  log "$*"
  exit 1
}
usage() {
  sed -n '2,20p' "$here/cluster.sh" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

load_env() {
  # shellcheck disable=SC1090
  source "$env_file"
}

write_env() {
  local i
  {
    echo "MODE=$MODE"
    echo "BOOTSTRAP=$BOOTSTRAP"
    echo "CLIENTS=$CLIENTS"
    echo "DATA_DIR=$DATA_DIR"
    for i in 1 2 3; do
      echo "PID_$i=$(node_var PID "$i")"
      echo "BROKER_PORT_$i=$(node_var BROKER_PORT "$i")"
      echo "CONTROLLER_PORT_$i=$(node_var CONTROLLER_PORT "$i")"
    done
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
}

node_var() { # name node -> value of ${name}_${node}
  local v="$1_$2"
  echo "${!v:-}"
}

# True if node's PID is a live JVM running this cluster's node (a recycled PID is not).
node_alive() {
  local pid
  pid=$(node_var PID "$1")
  [ -n "$pid" ] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null |
    grep -qF "$DATA_DIR/node-$1/server.properties"
}

# Ready: all three JVMs alive and the metadata an admin client gets lists 3 brokers.
cluster_ready() {
  local i
  for i in 1 2 3; do node_alive "$i" || return 1; done
  kcat -F "$CLIENTS/admin.properties" -L -m 5 2>/dev/null | grep -q ' 3 brokers:'
}

wait_ready() { # seconds
  local deadline=$((SECONDS + $1)) i
  while [ $SECONDS -lt $deadline ]; do
    for i in 1 2 3; do
      if ! node_alive "$i"; then
        log "node $i exited during start"
        START_FAILURE=${START_FAILURE:-"a node exited"}
        return 1
      fi
    done
    if kcat -F "$CLIENTS/admin.properties" -L -m 5 2>/dev/null | grep -q ' 3 brokers:'; then
      return 0
    fi
    sleep 1
  done
  log "no metadata with 3 brokers within $1 s"
  return 1
}

# The first consumer-group lookup creates __consumer_offsets, and until its partitions
# are led every FindCoordinator for a group fails. librdkafka 2.0.2 gives up on those
# retries inside send_offsets_to_transaction() and then blocks past its timeout, so a
# cluster is only ready once the group coordinators are: a throwaway group member
# (kcat -G) triggers the creation, and we wait until every partition has a leader.
warm_group_coordinator() {
  kcat -F "$CLIENTS/admin.properties" -G phoenix-cluster-warmup phoenix-cluster-warmup \
    >/dev/null 2>&1 &
  local member=$! deadline=$((SECONDS + 60)) md rc=1
  while [ $SECONDS -lt $deadline ]; do
    md=$(kcat -F "$CLIENTS/admin.properties" -L -t __consumer_offsets -m 5 2>/dev/null) || true
    if grep -q 'with 6 partitions' <<<"$md" && ! grep -q 'leader -1' <<<"$md"; then
      rc=0
      break
    fi
    sleep 0.25
  done
  kill "$member" 2>/dev/null || true
  wait "$member" 2>/dev/null || true
  [ $rc -eq 0 ] || log "__consumer_offsets has partitions without a leader after 60 s"
  return $rc
}

stop_cluster() {
  local i pid pids=()
  for i in 1 2 3; do
    if node_alive "$i"; then pids+=("$(node_var PID "$i")"); fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    # The data is thrown away, so a controlled shutdown (which waits for the quorum and
    # takes seconds while all three nodes leave at once) buys nothing.
    kill -KILL "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 100); do
      local alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.1
    done
  fi
  case ${DATA_DIR:-} in
    "${TMPDIR:-/tmp}"/phoenix-kafka-data.*) rm -rf "$DATA_DIR" ;;
  esac
  rm -f "$env_file"
}

# PORTS: $1 distinct TCP ports in 20000-31999 (below the kernel's ephemeral range) that no
# socket on this machine uses now.
pick_ports() {
  local used p
  used=" $(ss -Htan | awk '{n = split($4, a, ":"); print a[n]}' | sort -u | tr '\n' ' ') "
  PORTS=()
  while [ ${#PORTS[@]} -lt "$1" ]; do
    p=$((20000 + RANDOM % 12000))
    case "$used ${PORTS[*]} " in *" $p "*) continue ;; esac
    PORTS+=("$p")
  done
}

run_tool() { # libs class args...
  local libs=$1
  shift
  "$java_bin" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j.configuration="file:$here/tools-log4j.properties" -cp "$libs/*" "$@"
}

wait_all() {
  local pid rc=0
  for pid in $(jobs -p); do wait "$pid" || rc=1; done
  return $rc
}

start_node() { # libs node
  local libs=$1 i=$2 dir="$DATA_DIR/node-$2"
  # setsid: the JVM outlives this script and the test runner's process group; its
  # output goes to files so that nobody waits on an inherited pipe.
  setsid "$java_bin" -Xms"$heap" -Xmx"$heap" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true -Dkafka.logs.dir="$dir" \
    -Dlog4j.configuration="file:$here/log4j.properties" \
    -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$dir/server.out" 2>&1 &
  eval "PID_$i=$!"
}

write_server_properties() { # node
  local i=$1 dir="$DATA_DIR/node-$1" j voters=""
  mkdir -p "$dir/log"
  for j in 1 2 3; do
    voters+="${voters:+,}$j@127.0.0.1:$(node_var CONTROLLER_PORT "$j")"
  done
  local proto=PLAINTEXT
  [ "$MODE" = tls ] && proto=SSL
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=CLIENT://127.0.0.1:$(node_var BROKER_PORT "$i"),CONTROLLER://127.0.0.1:$(node_var CONTROLLER_PORT "$i")
advertised.listeners=CLIENT://127.0.0.1:$(node_var BROKER_PORT "$i")
listener.security.protocol.map=CLIENT:$proto,CONTROLLER:$proto
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER
log.dirs=$dir/log
# Durability as production: every topic replicated 3 times, 2 in sync to acknowledge.
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=6
# Tests create their topics; a typo must not create one.
auto.create.topics.enable=false
# Test groups use session timeouts of a few seconds and must not wait to rebalance.
group.min.session.timeout.ms=1000
group.initial.rebalance.delay.ms=0
# Few threads: three nodes share two cores.
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=2
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
EOF
  if [ "$MODE" = tls ]; then
    cat >>"$dir/server.properties" <<EOF
ssl.keystore.type=PEM
ssl.keystore.location=$DATA_DIR/certs/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$DATA_DIR/certs/ca.crt
ssl.client.auth=required
# Principals are the certificate's CN: User:phoenix-node, User:reader, ...
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9._-]+),.*$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:admin
EOF
  fi
}

# Client settings per identity: <id>.properties (librdkafka, kcat -F) and <id>.toml
# (a phoenix config with only [kafka]); admin-java.properties for Kafka's own tools.
write_clients() {
  mkdir -p "$CLIENTS"
  local id
  if [ "$MODE" != tls ]; then
    for id in admin phoenix-node; do
      write_client "$id" "bootstrap.servers=$BOOTSTRAP"
    done
    return
  fi
  local certs="$DATA_DIR/certs"
  for id in admin phoenix-node reader intruder; do
    write_client "$id" "bootstrap.servers=$BOOTSTRAP" security.protocol=ssl \
      "ssl.ca.location=$certs/ca.crt" "ssl.certificate.location=$certs/$id.crt" \
      "ssl.key.location=$certs/$id.key"
  done
  # TLS without a client certificate: the handshake must fail.
  write_client anonymous "bootstrap.servers=$BOOTSTRAP" security.protocol=ssl \
    "ssl.ca.location=$certs/ca.crt"
  cat >"$DATA_DIR/admin-java.properties" <<EOF
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=$certs/admin.pem
ssl.truststore.type=PEM
ssl.truststore.location=$certs/ca.crt
EOF
}

write_client() { # id key=value...
  local id=$1 kv
  shift
  printf '%s\n' "$@" >"$CLIENTS/$id.properties"
  {
    echo "[kafka]"
    for kv in "$@"; do echo "\"${kv%%=*}\" = \"${kv#*=}\""; done
  } >"$CLIENTS/$id.toml"
}

# phoenix-node may do everything on every topic, group and transactional id (not on the
# cluster: it cannot change ACLs). reader and intruder get nothing.
grant_node_acls() { # libs
  run_tool "$1" kafka.admin.AclCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$DATA_DIR/admin-java.properties" --add \
    --allow-principal User:phoenix-node --operation All \
    --topic '*' --group '*' --transactional-id '*' >/dev/null
}
