#!/usr/bin/env bash
# The scan on one node: the analytics questions (bench/analytics_compare.py) against one node's
# records with the embedded defaults, side by side with DuckDB and SQLite's json_extract over the
# same records. With BASELINE_BIN, the same questions are then asked of that binary over the
# same data directory, so two builds compare in one run.
#
#   bench/scan.sh                                   # 1,000,000 records
#   BASELINE_BIN=/tmp/espymetrics-old RECORDS=200000 bench/scan.sh
#
# Needs the release binary and DuckDB's Python package (pip install duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
require_binary "$BIN"
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install -q duckdb

DATA=$(profiles_file "$OUT" "$RECORDS")
NODE=127.0.0.1:18895
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

serve() {  # binary
  "$1" serve --name scan --http "$NODE" --gossip 127.0.0.1:18896 --data-dir "$OUT/scan-node" 2>>"$OUT/scan-node.log" &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://$NODE/v1/health" >/dev/null && return; sleep 0.1; done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

echo "machine: $(nproc) cores; records: $RECORDS"
rm -rf "$OUT/scan-node" "$OUT/scan-node.log"
serve "$BIN"
echo "ingest: $(python3 bench/import_batches.py --http "$NODE" --batch 10000 --connections 2 "$DATA")"
curl -s "http://$NODE/v1/download/import" > "$OUT/scan-export.ndjson"
echo "== $BIN"
python3 bench/analytics_compare.py --repeat "${REPEAT:-5}" --http "$NODE" --export "$OUT/scan-export.ndjson" || echo "SOME ANSWERS DIFFER"
if [ -n "${BASELINE_BIN:-}" ]; then
  stop
  serve "$BASELINE_BIN"
  echo "== $BASELINE_BIN (baseline, same data)"
  python3 bench/analytics_compare.py --repeat "${REPEAT:-5}" --http "$NODE" --export "$OUT/scan-export.ndjson" || echo "SOME ANSWERS DIFFER"
fi
