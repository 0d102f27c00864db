#!/usr/bin/env bash
# Single-node benchmarks, each side by side with its peer in the same run, on loopback only.
# Prints one "name: value" line per figure; docs/benchmarks.md records a run and the method.
#
#   bench/run.sh                      # 1,000,000 records, 10 s per load test
#   RECORDS=200000 DURATION=5 bench/run.sh
#
# Needs: a release build (swift build -c release --static-swift-stdlib --scratch-path .build-release), and
# wrk, nginx-light, hyperfine, sqlite3 from Debian (installed here if missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
NODE_PORT=18888
NGINX_PORT=18880
BASE=http://127.0.0.1:$NODE_PORT

for tool in wrk nginx hyperfine sqlite3; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk nginx-light hyperfine sqlite3 >/dev/null; break; }
done
require_binary "$BIN"

DATA=$(profiles_file "$OUT" "$RECORDS")

NODE_PID=""
NGINX_PREFIX=$OUT/nginx
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true
  [ -f "$NGINX_PREFIX/nginx.pid" ] && kill "$(cat "$NGINX_PREFIX/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

start_node() {
  "$BIN" serve --config "$OUT/bench.toml" --http 127.0.0.1:$NODE_PORT --gossip 127.0.0.1:17946 --data-dir "$OUT/data" --name bench "$@" \
    2>>"$OUT/node.log" &
  NODE_PID=$!
  for _ in $(seq 200); do curl -sf "$BASE/v1/health" >/dev/null && return; sleep 0.05; done
  echo "node did not start" >&2; exit 1
}
stop_node() { kill -TERM "$NODE_PID"; wait "$NODE_PID" || true; NODE_PID=""; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Highest RSS of $1 while the command after it runs.
with_peak_rss() {
  local pid=$1; shift
  local peak_file=$OUT/peak.rss; echo 0 > "$peak_file"
  ( peak=0; while kill -0 "$pid" 2>/dev/null; do r=$(rss_kib "$pid" || echo 0); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" > "$peak_file"; sleep 0.1; done ) &
  local sampler=$!
  "$@"
  kill "$sampler" 2>/dev/null || true
}
# wrk's "Requests/sec" and latency percentiles, in ms.
load() { # name, wrk args...
  local name=$1; shift
  wrk -t2 "$@" --latency > "$OUT/$name.wrk" 2>&1
  echo "$name: $(wrk_summary "$OUT/$name.wrk")"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "records: $RECORDS, duration per load: ${DURATION}s"

# The access log is off while measuring: a line per request on stderr would measure the terminal.
write_config() { printf '[http]\naccess_log = false\n[storage]\ndurability = "%s"\n' "$1" > "$OUT/bench.toml"; }
write_config full
rm -rf "$OUT/data" "$OUT/node.log"
start_node
sleep 1
echo "rss idle, empty shard: $(rss_kib "$NODE_PID") KiB"

# 1. /v1/health against nginx serving a fixed JSON body.
mkdir -p "$NGINX_PREFIX"
sed -e "s|PREFIX|$NGINX_PREFIX|g" -e "s|PORT|$NGINX_PORT|g" bench/nginx.conf > "$NGINX_PREFIX/nginx.conf"
nginx -c "$NGINX_PREFIX/nginx.conf" -p "$NGINX_PREFIX"
sleep 0.5
load health-nginx -c64 -d"$DURATION" "http://127.0.0.1:$NGINX_PORT/v1/health"
load health-espymetrics -c64 -d"$DURATION" "$BASE/v1/health"
# What users run: the embedded defaults, access log on (a line per request, to a file here).
"$BIN" serve --http 127.0.0.1:18889 --gossip 127.0.0.1:17947 --data-dir "$OUT/data-default" --name default \
  2>"$OUT/node-default.log" &
DEFAULT_PID=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:18889/v1/health" >/dev/null && break; sleep 0.05; done
load health-espymetrics-default-config -c64 -d"$DURATION" "http://127.0.0.1:18889/v1/health"
kill -INT "$DEFAULT_PID"; wait "$DEFAULT_PID" || true
echo "access log lines written: $(grep -c '\[EspyNode\] request' "$OUT/node-default.log")"

# 2. Batch ingest: 10,000 generated profiles per POST /v1/import; this also loads the data set.
echo "import batches of 10000: $(python3 bench/import_batches.py --http 127.0.0.1:$NODE_PORT --batch 10000 --connections 2 "$DATA")"

stop_node
start_node
sleep 1
echo "rss idle, $RECORDS records stored: $(rss_kib "$NODE_PID") KiB"

# 3. Counts by a declared dimension (answered from the per-day rollups).
with_peak_rss "$NODE_PID" load count-declared -c64 -d"$DURATION" "$BASE/v1/count?group_by=python\$version_info\$0"
echo "rss peak under count load: $(cat "$OUT/peak.rss") KiB"

# 4. The newest 100,000 records by a declared dimension (index-only scan of the time index).
load count-limit-100000 -c4 -d"$DURATION" "$BASE/v1/count?group_by=python\$version_info\$0&limit=100000"

# 5. An arbitrary path that is not precomputed, against sqlite3's json_extract on the same
#    records stored as plain JSON text, one query at a time.
PLAIN=$OUT/plain-$RECORDS.sqlite
if [ ! -s "$PLAIN" ]; then
  python3 - "$DATA" "$PLAIN" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("CREATE TABLE records (body TEXT NOT NULL)")
with open(sys.argv[1]) as source:
    db.executemany("INSERT INTO records VALUES (?)", ((line.rstrip("\n"),) for line in source))
db.commit()
PY
fi
hyperfine --warmup 1 --runs 5 --export-json "$OUT/arbitrary.json" \
  -n espymetrics "curl -sf '$BASE/v1/count?group_by=uname\$release' -o /dev/null" \
  -n sqlite3-json_extract "sqlite3 $PLAIN \"SELECT json_extract(body, '\$.uname.release') AS v, count(*) FROM records GROUP BY v\" >/dev/null" \
  > "$OUT/arbitrary.txt"
python3 - "$OUT/arbitrary.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
ours, peer = results["espymetrics"], results["sqlite3-json_extract"]
print(f"count arbitrary path: espymetrics {ours*1000:.0f} ms, sqlite3 json_extract {peer*1000:.0f} ms (median of 5), ratio {peer/ours:.2f}x")
PY

# 6. One record per POST /v1/on_import at 64 connections, each acknowledged after commit:
#    with durability "full" (fsync per group commit) and "normal" (commit survives a crash of
#    the process, not of the machine).
echo "fsync of 100 KB on this disk: $(python3 -c "
import os, time
fd = os.open('$OUT/fsync.probe', os.O_WRONLY | os.O_CREAT); samples = []
for _ in range(50):
    os.write(fd, b'x' * 100000); t = time.perf_counter(); os.fsync(fd); samples.append(time.perf_counter() - t)
print('%.2f ms median' % (sorted(samples)[25] * 1000))")"
load on-import-full -c64 -d"$DURATION" -s bench/on_import.lua "$BASE"
stop_node
write_config normal
start_node
load on-import-normal -c64 -d"$DURATION" -s bench/on_import.lua "$BASE"
grep -l "answered" "$OUT"/on-import-*.wrk 2>/dev/null && echo "on_import: some requests failed, see the files above"

stop_node
echo "done; raw outputs in $OUT"
