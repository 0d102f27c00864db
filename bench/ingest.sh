#!/usr/bin/env bash
# Single-node batch ingest (POST /v1/import, batches of 10,000, 2 connections) of RECORDS
# generated profiles into a fresh data directory, with the embedded defaults (or CONFIG, a
# TOML file), for each binary of BINS in turn over ROUNDS rounds: builds compared in one run,
# so that machine noise hits them alike. Prints records/s per run and the medians.
#
#   bench/ingest.sh                                   # the release build, 3 rounds
#   BINS="/tmp/espy-before .build-release/release/espymetrics" ROUNDS=2 bench/ingest.sh
#   ADAPTIVE='uname$release' bench/ingest.sh   # asks a question on that undeclared path first, so
#                                              # that every write also counts it (adaptive dimension)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
BINS=${BINS:-$BIN}
CONFIG=${CONFIG:-}
ADAPTIVE=${ADAPTIVE:-}
DATA=$(profiles_file "$OUT" "$RECORDS")
PORT=18871
NODE_PID=
trap '[ -z "$NODE_PID" ] || kill "$NODE_PID" 2>/dev/null || true' EXIT

ingest() { # binary
  rm -rf "$OUT/ingest-data"
  local config=()
  [ -n "$CONFIG" ] && config=(--config "$CONFIG")
  "$1" serve "${config[@]}" --http "127.0.0.1:$PORT" --gossip "127.0.0.1:$((PORT + 1000))" \
    --data-dir "$OUT/ingest-data" --name ingest 2>"$OUT/ingest-node.log" &
  NODE_PID=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null && break; sleep 0.05; done
  if [ -n "$ADAPTIVE" ]; then
    curl -sf "http://127.0.0.1:$PORT/v1/count?group_by=$ADAPTIVE" >/dev/null
    for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT/v1/dimensions" | grep -q '"ready":true' && break; sleep 0.1; done
  fi
  python3 bench/import_batches.py --http "127.0.0.1:$PORT" --batch 10000 --connections 2 "$DATA" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_per_second"])'
  kill -INT "$NODE_PID"; wait "$NODE_PID" || true
  NODE_PID=
}

echo "$RECORDS records, batches of 10000, 2 connections, config: ${CONFIG:-embedded defaults}, adaptive: ${ADAPTIVE:-none}, $ROUNDS rounds"
declare -A results
for round in $(seq "$ROUNDS"); do
  for bin in $BINS; do
    rate=$(ingest "$bin")
    results[$bin]+="$rate "
    echo "round $round: $bin $rate records/s"
  done
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
for bin in $BINS; do echo "median $bin: $(median "${results[$bin]}") records/s"; done
