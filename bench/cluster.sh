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
sleep 2  # let the last batch's third copies land

QUERY='/v1/count?group_by=python$version_info$0'
wrk -t2 -c16 -d"$DURATION" --latency "http://$SINGLE$QUERY" > "$OUT/count-single.wrk"
wrk -t2 -c16 -d"$DURATION" --latency "http://127.0.0.11:8888$QUERY" > "$OUT/count-cluster.wrk"
wrk -t2 -c16 -d"$DURATION" --latency "http://127.0.0.11:8888$QUERY&read_consistency=verified" > "$OUT/count-cluster-verified.wrk"
echo "count, one node, 16 clients: $(wrk_summary "$OUT/count-single.wrk")"
echo "count, cluster node n1 (fan-out to its peers), 16 clients: $(wrk_summary "$OUT/count-cluster.wrk")"
echo "count, cluster node n1, read_consistency=verified (digests of every replica first), 16 clients: $(wrk_summary "$OUT/count-cluster-verified.wrk")"
echo "one node answers: $(curl -s "http://$SINGLE$QUERY" | head -c 120)"
for ip in 127.0.0.11 127.0.0.14; do echo "$ip answers: $(curl -s "http://$ip:8888$QUERY" | head -c 120)"; done
