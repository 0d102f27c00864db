#!/usr/bin/env bash
# Analytics questions (filters, several group_by paths, buckets, distinct, top, limit) on a
# 6-node, 3-datacenter cluster with the embedded defaults (access log on, as users run it),
# side by side with DuckDB (typed columns) and SQLite's json_extract (JSON bodies) over the same
# records in one run; plus what the combination rollup costs: its size and single-node batch ingest.
#
#   bench/analytics.sh                      # 1,000,000 records, 10 s per load
#   RECORDS=200000 DURATION=5 bench/analytics.sh
#
# Needs the release binary, wrk and DuckDB's Python package (pip install duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
require_binary "$BIN"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install -q duckdb

DATA=$(profiles_file "$OUT" "$RECORDS")
SINGLE=127.0.0.1:18890
SINGLE_PID=""
cleanup() {
  [ -n "$SINGLE_PID" ] && kill "$SINGLE_PID" 2>/dev/null || true
  ESPY_CLUSTER_DIR=$OUT/analytics-cluster deploy/local-cluster.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); records: $RECORDS"

# Ingest on one node, as bench/run.sh measures it (durability full, access log off), so the
# figure compares with that benchmark's.
rm -rf "$OUT/analytics-single"
printf '[http]\naccess_log = false\n[storage]\ndurability = "full"\n' > "$OUT/analytics-ingest.toml"
"$BIN" serve --config "$OUT/analytics-ingest.toml" --name single --http "$SINGLE" --gossip 127.0.0.1:18947 \
  --data-dir "$OUT/analytics-single" 2>"$OUT/analytics-single.log" &
SINGLE_PID=$!
for _ in $(seq 100); do curl -sf "http://$SINGLE/v1/health" >/dev/null && break; sleep 0.1; done
echo "ingest, one node, batches of 10000: $(python3 bench/import_batches.py --http "$SINGLE" --batch 10000 --connections 2 "$DATA")"
kill "$SINGLE_PID"; wait "$SINGLE_PID" 2>/dev/null || true; SINGLE_PID=""
SHARD=$OUT/analytics-single/shard.sqlite
sqlite3 "$SHARD" "SELECT 'combination rollup: ' || count(*) || ' rows (day x combination of declared values), ' ||
  (SELECT count(DISTINCT dims) FROM daily_combinations) || ' distinct combinations' FROM daily_combinations;"
echo "on disk, KiB: $(sqlite3 "$SHARD" "SELECT group_concat(name || ' ' || kib, ', ') FROM (SELECT name, sum(pgsize) / 1024 AS kib
  FROM dbstat WHERE name IN ('daily_combinations', 'daily_counts', 'records', 'records_by_time', 'records_by_partition')
  GROUP BY name ORDER BY kib DESC);" 2>/dev/null || echo "(this sqlite3 has no dbstat)")"

# The cluster, with the embedded defaults.
rm -rf "$OUT/analytics-cluster"
ESPY_CLUSTER_DIR=$OUT/analytics-cluster ESPYMETRICS_BIN=$BIN deploy/local-cluster.sh start 6 >/dev/null
echo "ingest, routed through n1 into 6 nodes x 3 replicas: $(python3 bench/import_batches.py --http 127.0.0.11:8888 --batch 10000 --connections 2 "$DATA")"
wait_until_caught_up
sleep 2
curl -s http://127.0.0.11:8888/v1/download/import > "$OUT/analytics-export.ndjson"

python3 bench/analytics_compare.py --repeat "${REPEAT:-10}" --http 127.0.0.11:8888 --export "$OUT/analytics-export.ndjson" || echo "SOME ANSWERS DIFFER"

# Throughput and latency at one and sixteen clients, against the node a load balancer picked.
load() {  # name target connections
  wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"$DURATION" --timeout 30s --latency "http://127.0.0.11:8888$2" > "$OUT/analytics-$1-$3.wrk"
  echo "$1, $3 client(s): $(wrk_summary "$OUT/analytics-$1-$3.wrk") $(awk '/Non-2xx|Socket errors/' "$OUT/analytics-$1-$3.wrk" | tr -s ' ' | tr '\n' ' ')"
}
# A scan outlives a client that gave up on it; before the next load, wait (up to 120 s) until a
# rollup count answers within a second again, so no load inherits the previous one's backlog.
drain() {
  for _ in $(seq 120); do
    curl -sf -m 1 'http://127.0.0.11:8888/v1/count?group_by=python$version_info$0' >/dev/null && return
    sleep 1
  done
}
for c in 1 16; do
  load "seed count (group_by major)" '/v1/count?group_by=python$version_info$0' "$c"
  load "major where Linux" '/v1/count?group_by=python$version_info$0&where=uname$system:Linux' "$c"
  load "major x minor per week" '/v1/count?group_by=python$version_info$0&group_by=python$version_info$1&bucket=week' "$c"
  load "top 5 distros" '/v1/count?group_by=linux_dist$name&top=5' "$c"
  load "openssl distinct hostname (distinct rollup)" '/v1/count?group_by=python$openssl_version&distinct=hostname' "$c"
done
# An undeclared path: analytics_compare.py asked it first, so its adaptive rollup answers now.
for c in 1 16; do
  drain
  load "UTC offset where Linux (adaptive rollup, 5 values)" '/v1/count?group_by=time$std_utc_offset&where=uname$system:Linux' "$c"
  drain
  load "release where Linux (adaptive rollup, 12,000 values)" '/v1/count?group_by=uname$release&where=uname$system:Linux' "$c"
done
