#!/usr/bin/env bash
# Fault benchmark (issue #13): a 6-node, 3-datacenter cluster of the release build on
# 127.0.0.41-46 with the default configuration (plus datacenters, seeds, a cluster key and
# gossip encryption, as the deploy examples have), taking imports and count polls throughout
# while, one after another:
#   disk       n2's data directory is a small tmpfs that fills during the imports; grown later
#   stop       n4 is stopped (SIGSTOP) for 20 s while counts are polled at the others
#   slowloris  2,000 connections to n5 that never finish a request, while a client times
#              /v1/health and /v1/count there
#   partition  dc3 (n3, n6) is cut off from the others with iptables for 60 s, then healed
# and at the end every acknowledged record is looked for in a download.
#
#   bench/faults.sh                         # all four, about 10 minutes on 2 cores
#   PHASES=stop,partition RATE=1000 bench/faults.sh
#
# Needs root (tmpfs, iptables, running nodes as other users) and iptables. Prints a table of
# figures; bench/out/faults/results.json has every figure, bench/out/faults/nI/node.log each
# node's log. Exits 1 if an acknowledged record was lost or a count said it was complete and was
# wrong, 2 if a fault could not be made as planned or no complete download could be taken at the
# end (then whether records were lost is not known).
#
# Settings from the environment: PHASES (default disk,stop,slowloris,partition; disk, if there,
# first), RATE (new records/s, default 2000), TMPFS_SIZE (n2's disk, default 40m, which fills in
# about 20 s at the default rate), TMPFS_GROWN (what it grows to, default 3g), RECORDS (the profiles file's
# size, the most any run can send; default 1,000,000), ESPYMETRICS_BIN, OUT, and FAULTS_OPTIONS:
# more options for bench/faults.py (`python3 bench/faults.py --help`), e.g. --cut-seconds 20.
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_RECORDS=1000000
. bench/lib.sh
require_binary "$BIN"
[ "$(id -u)" = 0 ] || { echo "faults.sh: needs root (tmpfs, iptables, nodes run as daemon and nobody)" >&2; exit 2; }
command -v iptables >/dev/null || { echo "faults.sh: needs iptables" >&2; exit 2; }

PHASES=${PHASES:-disk,stop,slowloris,partition}
RATE=${RATE:-2000}
TMPFS_SIZE=${TMPFS_SIZE:-40m}
# Big enough for everything n2 holds by the end of a run (about half of all records).
TMPFS_GROWN=${TMPFS_GROWN:-3g}
# Addresses no other bench or deploy script uses (they use 127.0.0.10-16 and 127.0.0.1).
BASE=127.0.0.4
HTTP_PORT=8888
GOSSIP_PORT=7946
NODES=6
# The side that is cut off runs as one user, the rest as another: a node's outgoing
# connections leave from 127.0.0.1 whatever it listens on, so iptables tells the sides apart
# by the sending socket's owner (as NetworkPartitionTests does).
CUT_DATACENTER=dc3
CUT_USER=nobody
REST_USER=daemon
DISK_NODE=2
# What the nodes use without a config file: faults.py reports the stop against it.
SUB_REQUEST_TIMEOUT_MS=3000
PARTITIONS=4096

DIR=$OUT/faults
RULES=$DIR/iptables.rules
node_ip() { echo "$BASE$1"; }
node_dc() { echo "dc$(( ($1 - 1) % 3 + 1 ))"; }
node_user() { [ "$(node_dc "$1")" = "$CUT_DATACENTER" ] && echo "$CUT_USER" || echo "$REST_USER"; }

# 2,000 slow connections on one node plus its peers and clients: the node and the client
# inherit this.
ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) >= 8192 )) || { echo "faults.sh: the open-files limit is $(ulimit -n); 2,000 slow connections need more" >&2; exit 2; }

PIDS=()
HELPER_PID=""
cleanup() {
  local status=$? rule i pid
  # Rules first: a node left cut off would mislead whatever runs next.
  if [ -f "$RULES" ]; then
    while read -r rule; do
      [ -n "$rule" ] || continue
      # shellcheck disable=SC2086  # a rule is words
      for _ in 1 2 3 4 5; do iptables -D $rule 2>/dev/null || break; done
    done < "$RULES"
    rm -f "$RULES"
  fi
  [ -n "$HELPER_PID" ] && kill "$HELPER_PID" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  stop_nodes 30 "${PIDS[@]}"
  rm -f "$DIR"/n*/node.pid
  mountpoint -q "$DIR/n$DISK_NODE/data" && umount -l "$DIR/n$DISK_NODE/data"
  exit $status
}

for i in $(seq $NODES); do
  if [ -f "$DIR/n$i/node.pid" ] && kill -0 "$(cat "$DIR/n$i/node.pid")" 2>/dev/null; then
    echo "faults.sh: n$i of an earlier run still runs (pid $(cat "$DIR/n$i/node.pid")); stop it first" >&2
    exit 2
  fi
done
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
mountpoint -q "$DIR/n$DISK_NODE/data" && umount -l "$DIR/n$DISK_NODE/data"
rm -rf "$DIR"
mkdir -p "$DIR/bin"
DATA=$(profiles_file "$OUT" "$RECORDS")
# A copy every user may run, which a rebuild during the run does not replace.
cp "$BIN" "$DIR/bin/espymetrics"
chmod 755 "$DIR" "$DIR/bin" "$DIR/bin/espymetrics"
NODE_BIN=$DIR/bin/espymetrics
echo "binary: $BIN ($("$NODE_BIN" --version | head -n 1))"

CLUSTER_KEY=$("$NODE_BIN" keygen)
GOSSIP_KEY=$("$NODE_BIN" keygen)
# The deploy examples encrypt gossip; the cluster key goes in the environment, as the systemd
# unit gives it. Nothing else differs from the defaults.
printf '[gossip]\nencrypt_keys = ["%s"]\n' "$GOSSIP_KEY" > "$DIR/node.toml"
chmod 644 "$DIR/node.toml"

for i in $(seq $NODES); do
  mkdir -p "$DIR/n$i/data"
  if [ "$i" = "$DISK_NODE" ]; then
    mount -t tmpfs -o "size=$TMPFS_SIZE,mode=0755" tmpfs "$DIR/n$i/data"
  fi
  chown "$(node_user "$i"):" "$DIR/n$i/data"
  chmod 755 "$DIR/n$i"
  args=(serve --name "n$i" --datacenter "$(node_dc "$i")" --http "$(node_ip "$i"):$HTTP_PORT"
        --gossip "$(node_ip "$i"):$GOSSIP_PORT" --data-dir "$DIR/n$i/data" --config "$DIR/node.toml")
  # One seed per datacenter, as in deploy/dc*.toml.
  for j in 1 2 3; do [ "$j" = "$i" ] || args+=(--join "$(node_ip "$j"):$GOSSIP_PORT"); done
  uid=$(id -u "$(node_user "$i")"); gid=$(id -g "$(node_user "$i")")
  ESPYMETRICS_CLUSTER_KEYS=$CLUSTER_KEY setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    "$NODE_BIN" "${args[@]}" </dev/null >"$DIR/n$i/node.log" 2>&1 &
  PIDS+=($!)
  echo $! > "$DIR/n$i/node.pid"
done

# Ready: every node lists 6 alive members and answers /v1/ready with 200.
deadline=$((SECONDS + 180))
while true; do
  ready=0
  for i in $(seq $NODES); do
    kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || { echo "faults.sh: n$i exited during start:" >&2; tail -n 5 "$DIR/n$i/node.log" >&2; exit 2; }
    alive=$(curl -s -m 5 "http://$(node_ip "$i"):$HTTP_PORT/v1/cluster/members" | grep -o '"status":"alive"' | wc -l || true)
    [ "$alive" = $NODES ] && curl -sf -m 5 -o /dev/null "http://$(node_ip "$i"):$HTTP_PORT/v1/ready" && ready=$((ready + 1))
  done
  [ $ready = $NODES ] && break
  ((SECONDS < deadline)) || { echo "faults.sh: the cluster was not ready within 180 s; logs in $DIR/n*/node.log" >&2; exit 2; }
  sleep 1
done
echo "cluster ready: n1-n$NODES on $(node_ip 1)-$(node_ip $NODES):$HTTP_PORT ($(node_user 3) for $CUT_DATACENTER, $(node_user 1) for the others), n$DISK_NODE on a $TMPFS_SIZE tmpfs"

python3 - "$DIR/cluster.json" <<EOF
import json, sys
nodes = []
pids = "${PIDS[*]}".split()
for i in range(1, $NODES + 1):
    nodes.append({"name": "n%d" % i, "datacenter": "dc%d" % ((i - 1) % 3 + 1), "http": "$BASE%d:$HTTP_PORT" % i,
                  "pid": int(pids[i - 1])})
json.dump({"nodes": nodes, "partitions": $PARTITIONS, "sub_request_timeout_ms": $SUB_REQUEST_TIMEOUT_MS,
           "cluster_key": "$CLUSTER_KEY", "iptables_rules_file": "$RULES",
           "partition_users": {"cut": "$CUT_USER", "rest": "$REST_USER"},
           "tmpfs": {"node": "n$DISK_NODE", "path": "$DIR/n$DISK_NODE/data", "size": "$TMPFS_SIZE", "grown_size": "$TMPFS_GROWN"}},
          open(sys.argv[1], "w"), indent=1)
EOF

echo "python3 bench/faults.py --phases $PHASES --rate $RATE ${FAULTS_OPTIONS:-}(profiles: $DATA)"
python3 bench/faults.py --cluster "$DIR/cluster.json" --profiles "$DATA" --results "$DIR/results.json" \
  --phases "$PHASES" --rate "$RATE" --cut-datacenter "$CUT_DATACENTER" ${FAULTS_OPTIONS:-} &
HELPER_PID=$!
status=0
wait "$HELPER_PID" || status=$?
HELPER_PID=""
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for i in $(seq $NODES); do
  kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || { echo "faults.sh: n$i is not running at the end (see $DIR/n$i/node.log)" >&2; status=1; }
done
exit $status
