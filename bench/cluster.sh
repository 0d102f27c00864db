#!/usr/bin/env bash
# Cluster benchmarks, side by side in one run: a 6-node, 3-datacenter cluster on 127.0.0.11-16
# (deploy/local-cluster.sh) against one node holding the same records.
#
#   bench/cluster.sh                      # 1,000,000 records, 10 s per load
#   RECORDS=200000 DURATION=5 bench/cluster.sh
#
# Prints: routed ingest records/s (cluster, 3 replicas, write quorum majority) against one node,
# and count latency p50/p99 at 16 concurrent clients, cluster node against the single node, with
# read_consistency one (the default) and verified.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
require_binary "$BIN"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

DATA=$(profiles_file "$OUT" "$RECORDS")
CONFIG=$OUT/cluster-bench.toml
printf '[http]\naccess_log = false\n' > "$CONFIG"

SINGLE=127.0.0.1:18888
SINGLE_PID=""
cleanup() {
  [ -n "$SINGLE_PID" ] && kill "$SINGLE_PID" 2>/dev/null || true
  ESPY_CLUSTER_DIR=$OUT/cluster deploy/local-cluster.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT


echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); records: $RECORDS"

rm -rf "$OUT/single" "$OUT/cluster"
"$BIN" serve --config "$CONFIG" --name single --http "$SINGLE" --gossip 127.0.0.1:18946 --data-dir "$OUT/single" \
  2>"$OUT/single.log" &
SINGLE_PID=$!
for _ in $(seq 100); do curl -sf "http://$SINGLE/v1/health" >/dev/null && break; sleep 0.1; done
ESPY_CLUSTER_DIR=$OUT/cluster ESPY_NODE_CONFIG=$CONFIG ESPYMETRICS_BIN=$BIN deploy/local-cluster.sh start 6 >/dev/null

echo "ingest, one node: $(python3 bench/import_batches.py --http "$SINGLE" --batch 10000 --connections 2 "$DATA")"
echo "ingest, routed through n1 into 6 nodes x 3 replicas: $(python3 bench/import_batches.py --http 127.0.0.11:8888 --batch 10000 --connections 2 "$DATA")"
wait_until_caught_up
sleep 2

hedges() { curl -s http://127.0.0.11:8888/metrics | awk '$1=="espymetrics_cluster_hedged_subrequests_total" {print $2}'; }
# count NAME URL CONNECTIONS: wrk for DURATION; a request slower than 10 s counts as a timeout.
count() {
  local before; before=$(hedges)
  wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"$DURATION" --timeout 10s --latency "$2" > "$OUT/count-$1.wrk"
  echo "$(wrk_summary "$OUT/count-$1.wrk"), $(awk '/Non-2xx|Socket errors/' "$OUT/count-$1.wrk" | tr -s ' ' | tr '\n' ' ')hedged sub-requests at n1: $(( $(hedges) - before ))"
}
QUERY='/v1/count?group_by=python$version_info$0'
echo "count, one node, 16 clients: $(count single "http://$SINGLE$QUERY" 16)"
echo "count, cluster node n1 (fan-out to its peers), 16 clients: $(count cluster "http://127.0.0.11:8888$QUERY" 16)"
coverage() { curl -s -m 30 "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("coverage"))'; }
echo "one verified count first: $(coverage "http://127.0.0.11:8888$QUERY&read_consistency=verified")"
echo "count, cluster node n1, read_consistency=verified (digests of every replica first), 16 clients: $(count verified "http://127.0.0.11:8888$QUERY&read_consistency=verified" 16)"
echo "count, cluster node n1, 1 client: $(count cluster-1 "http://127.0.0.11:8888$QUERY" 1)"
echo "count, cluster node n1, read_consistency=verified, 1 client: $(count verified-1 "http://127.0.0.11:8888$QUERY&read_consistency=verified" 1)"
echo "one node answers: $(curl -s "http://$SINGLE$QUERY" | head -c 120)"
for ip in 127.0.0.11 127.0.0.14; do echo "$ip answers: $(curl -s "http://$ip:8888$QUERY" | head -c 120)"; done
