#!/usr/bin/env bash
# What signing node-to-node requests with the cluster key costs: the same 6-node, 3-datacenter
# local cluster (deploy/local-cluster.sh, as it starts by default: signed) against itself
# without a key, one after the other in one run, on the same records.
#
#   bench/signing.sh                      # 200,000 records, 10 s per load
#   RECORDS=50000 DURATION=5 bench/signing.sh
#
# Prints per setting: routed ingest records/s through n1 and count throughput and latency at
# 16 concurrent clients at n1. The access log is off (as in bench/cluster.sh); all else default.
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_RECORDS=200000
. bench/lib.sh
require_binary "$BIN"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

DATA=$(profiles_file "$OUT" "$RECORDS")
CONFIG=$OUT/signing-bench.toml
printf '[http]\naccess_log = false\n' > "$CONFIG"
CLUSTER=$OUT/signing-cluster
trap 'ESPY_CLUSTER_DIR=$CLUSTER deploy/local-cluster.sh stop >/dev/null 2>&1 || true' EXIT

# run LABEL KEYS: a fresh cluster with ESPYMETRICS_CLUSTER_KEYS=KEYS (empty: no key).
run() {
  rm -rf "$CLUSTER"
  ESPY_CLUSTER_DIR=$CLUSTER ESPY_NODE_CONFIG=$CONFIG ESPYMETRICS_BIN=$BIN ESPYMETRICS_CLUSTER_KEYS=$2 \
    deploy/local-cluster.sh start 6 >/dev/null
  echo "$1: ingest through n1: $(python3 bench/import_batches.py --http 127.0.0.11:8888 --batch 10000 --connections 2 "$DATA")"
  wait_until_caught_up
  sleep 2
  wrk -t2 -c16 -d"$DURATION" --timeout 10s --latency 'http://127.0.0.11:8888/v1/count?group_by=python$version_info$0' > "$OUT/signing-$1.wrk"
  refused=$(curl -s http://127.0.0.12:8888/metrics | awk '$1=="espymetrics_internal_requests_refused_total" {print $2}')
  echo "$1: count at n1, 16 clients: $(wrk_summary "$OUT/signing-$1.wrk"); refused internal requests at n2: ${refused:-0}"
  ESPY_CLUSTER_DIR=$CLUSTER deploy/local-cluster.sh stop >/dev/null
}

echo "machine: $(nproc) cores; records: $RECORDS"
run signed "$("$BIN" keygen)"
run unsigned ""
run signed-again "$("$BIN" keygen)"
