#!/usr/bin/env bash
# A local Redis Cluster of 3 masters and 3 replicas on loopback, for tests, benchmarks and trying
# out a scale-out deployment (docs/scale-out.md). Needs redis-server and redis-cli (Debian:
# apt-get install redis-server).
#
#   scripts/redis-cluster.sh start [dir] [port]   6 nodes on port..port+5 (bus ports +10), data in dir
#   scripts/redis-cluster.sh stop  [dir]          stops the nodes started in dir
#   scripts/redis-cluster.sh node  [dir] <port>   restarts one node (it rejoins as a replica)
#
# Defaults: dir .redis-cluster, port 7100. Prints the seed list (host:port,host:port,...) once
# every slot is served and every replica is in sync; fails after 60 s otherwise.
# cluster-node-timeout 2000 makes a killed master's replica take over in ~4 s; replication starts
# without the default 5 s diskless delay.
set -euo pipefail

cmd=${1:-start}
dir=$(realpath -m "${2:-.redis-cluster}")
base=${3:-7100}

node_conf() {
  local port=$1
  mkdir -p "$dir/$port"
  cat >"$dir/$port/redis.conf" <<EOF
port $port
bind 127.0.0.1
protected-mode no
cluster-enabled yes
cluster-port $((port + 10))
cluster-config-file $dir/$port/nodes.conf
cluster-node-timeout 2000
appendonly no
save ""
repl-diskless-sync yes
repl-diskless-sync-delay 0
daemonize yes
pidfile $dir/$port/redis.pid
logfile $dir/$port/redis.log
dir $dir/$port
EOF
}

wait_until() {
  local what=$1
  shift
  for _ in $(seq 1 600); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "redis-cluster.sh: timed out waiting until $what" >&2
  exit 1
}

ports() { seq "$base" $((base + 5)); }

cluster_ready() {
  for port in $(ports); do
    redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' || return 1
    local role
    role=$(redis-cli -p "$port" role | head -1)
    if [ "$role" = slave ]; then
      redis-cli -p "$port" info replication | grep -q 'master_link_status:up' || return 1
      redis-cli -p "$port" info replication | grep -q 'master_sync_in_progress:0' || return 1
    fi
  done
}

case "$cmd" in
start)
  command -v redis-server >/dev/null || {
    echo "redis-cluster.sh: redis-server not found (apt-get install redis-server)" >&2
    exit 1
  }
  echo "$base" >"$(mkdir -p "$dir" && echo "$dir/base-port")"
  for port in $(ports); do
    rm -rf "${dir:?}/$port"
    node_conf "$port"
    redis-server "$dir/$port/redis.conf"
  done
  for port in $(ports); do wait_until "127.0.0.1:$port answers" redis-cli -p "$port" ping; done
  nodes=$(for port in $(ports); do printf '127.0.0.1:%s ' "$port"; done)
  # shellcheck disable=SC2086
  redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 || {
    cat "$dir/create.log" >&2
    exit 1
  }
  wait_until "every slot is served and every replica is in sync" cluster_ready
  ports | sed 's/^/127.0.0.1:/' | paste -sd, -
  ;;
stop)
  [ -f "$dir/base-port" ] && base=$(cat "$dir/base-port")
  # Read every pid before signalling: a node deletes its pidfile as it shuts down.
  pids=""
  for port in $(ports); do
    pid=$(cat "$dir/$port/redis.pid" 2>/dev/null) || continue
    pids="$pids $pid"
  done
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "${dir:?}"
  ;;
node)
  port=${3:?usage: redis-cluster.sh node <dir> <port>}
  redis-server "$dir/$port/redis.conf"
  wait_until "127.0.0.1:$port answers" redis-cli -p "$port" ping
  ;;
*)
  echo "usage: redis-cluster.sh start|stop|node [dir] [port]" >&2
  exit 2
  ;;
esac
