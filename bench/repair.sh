#!/usr/bin/env bash
# Repair benchmark (issue #6), in one run: a 6-node, 3-datacenter cluster on 127.0.0.11-16
# (deploy/local-cluster.sh) loaded with RECORDS records, then n6 (dc3) is replaced by a node with
# an empty disk (kill -9, data directory removed, restarted under the same name and addresses).
#
#   bench/repair.sh                       # 2,000,000 records (n6 holds ~1,000,000), 10 s per load
#   RECORDS=200000 DURATION=5 bench/repair.sh
#
# Prints: the time and bytes to bring n6 back to full replication (every partition caught up and
# its record count what it was before the kill), and count latency p50/p99 at 16 clients on n1
# while that runs, against idle. Each node holds half of all records (one of the two owners in
# its datacenter), so RECORDS=2000000 gives the replaced node about 1,000,000. Bytes moved are
# what n6 pulled plus what its peers pushed to it in their own anti-entropy rounds. "Idle" is
# measured once the load's repair traffic has stopped; "during" covers the first DURATION seconds
# of the rebuild.
#
# Repair runs with the defaults ([repair] interval_ms = 60000, max_records_per_second = 20000).
# Waits time out after WAIT_TIMEOUT seconds (default 1200) with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_RECORDS=2000000
. bench/lib.sh
WAIT_TIMEOUT=${WAIT_TIMEOUT:-1200}

if [ -z "${ESPYMETRICS_BIN:-}" ] && [ ! -x "$BIN" ]; then
  echo "building the release binary (several minutes)..." >&2
  swift build -c release --static-swift-stdlib --scratch-path .build-release >&2
fi
require_binary "$BIN"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
"$BIN" --help 2>/dev/null | grep -qE '^[[:space:]]+partitions[[:space:]]' \
  || { echo "$BIN has no 'partitions' command: it predates repair; rebuild it" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

DATA=$(profiles_file "$OUT" "$RECORDS")
CONFIG=$OUT/repair-bench.toml
printf '[http]\naccess_log = false\n' > "$CONFIG"
export ESPY_CLUSTER_DIR=$OUT/repair-cluster
NODES=6
QUERY='/v1/count?group_by=python$version_info$0'
ip() { echo "127.0.0.$((10 + $1))"; }

# SIGINT to every node: a stop that keeps its data (SIGTERM is a graceful leave that first hands
# every partition to the others, which takes long when all nodes go at once).
WRK_PID=""
cleanup() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
  local i pids=()
  for i in $(seq $NODES); do
    [ -f "$ESPY_CLUSTER_DIR/n$i/node.pid" ] || continue
    pids+=("$(cat "$ESPY_CLUSTER_DIR/n$i/node.pid")")
  done
  stop_nodes 10 "${pids[@]}"
  rm -f "$ESPY_CLUSTER_DIR"/n*/node.pid
}
trap cleanup EXIT

fail() { echo "repair.sh: $*" >&2; exit 1; }
# One field of a node's JSON answer; empty if the node does not answer.
json() { # ip path python-expression-of-d
  curl -sf --max-time 5 "http://$1:8888$2" 2>/dev/null | python3 -c "import json, sys; d = json.load(sys.stdin); print($3)" 2>/dev/null || true
}
records_of() { json "$(ip "$1")" /v1/health 'd["records"]'; }
catching_up_of() { json "$(ip "$1")" /v1/cluster/partitions 'd["handoff"]["catching_up"]["partitions"]'; }
hints_of() { json "$(ip "$1")" /v1/cluster/partitions 'sum(d["pending_hints"].values())'; }
# Sum of a Prometheus counter (all label sets) in node $1's /metrics.
metric() { { curl -sf --max-time 5 "http://$(ip "$1"):8888/metrics" || true; } | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $NF} END {printf "%.0f\n", s}'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); records: $RECORDS"

for i in $(seq $NODES); do
  [ -f "$ESPY_CLUSTER_DIR/n$i/node.pid" ] && kill -0 "$(cat "$ESPY_CLUSTER_DIR/n$i/node.pid")" 2>/dev/null \
    && { trap - EXIT; fail "a cluster from an earlier run is still running in $ESPY_CLUSTER_DIR (n$i)"; }
done
rm -rf "$ESPY_CLUSTER_DIR"
ESPY_NODE_CONFIG=$CONFIG ESPYMETRICS_BIN=$BIN deploy/local-cluster.sh start $NODES >/dev/null

echo "ingest, routed through n1 into 6 nodes x 3 replicas: $(python3 bench/import_batches.py --http "$(ip 1):8888" --batch 10000 --connections 2 "$DATA")"

# Fully replicated: nothing catching up, no hints waiting, every record on its 3 owners.
deadline=$((SECONDS + WAIT_TIMEOUT))
while true; do
  total=0 settled=1
  for i in $(seq $NODES); do
    r=$(records_of "$i"); c=$(catching_up_of "$i"); h=$(hints_of "$i")
    total=$((total + ${r:-0}))
    [ "${c:-x}" = 0 ] && [ "${h:-x}" = 0 ] || settled=0
  done
  [ $settled = 1 ] && [ $total -eq $((3 * RECORDS)) ] && break
  ((SECONDS < deadline)) || fail "after loading, the cluster was not fully replicated within ${WAIT_TIMEOUT} s (records on all nodes: $total of $((3 * RECORDS)))"
  sleep 1
done

# Idle: the anti-entropy rounds that ran during the load still reconcile the partitions whose
# digests differed while writes were in flight (bucket diffs, fetches, pushes). Wait until no
# node has served a repair diff, fetch or push for QUIET seconds, so that "idle" is idle.
QUIET=${QUIET:-10}
repair_requests() {
  local i
  for i in $(seq $NODES); do
    { curl -sf --max-time 5 "http://$(ip "$i"):8888/metrics" || true; } \
      | awk '/^espymetrics_http_requests_total\{route="\/internal\/v1\/(repair\/diff|repair\/fetch|records)"/ {s += $NF} END {printf "%.0f\n", s}'
  done | awk '{s += $1} END {print s}'
}
settled_at=$SECONDS last=$(repair_requests) quiet_since=$SECONDS
while ((SECONDS - quiet_since < QUIET)); do
  ((SECONDS < deadline)) || fail "repair did not go quiet within ${WAIT_TIMEOUT} s of the load"
  sleep 2
  now=$(repair_requests)
  [ "$now" = "$last" ] || { last=$now; quiet_since=$SECONDS; }
done
echo "after the load: fully replicated, and repair quiet ${QUIET} s, $((quiet_since - settled_at)) s after"

wrk -t2 -c16 -d"$DURATION" --latency "http://$(ip 1):8888$QUERY" > "$OUT/repair-count-idle.wrk"

# Replace n6: a disk replacement, same name, datacenter and addresses, empty shard.
N6=$ESPY_CLUSTER_DIR/n6
HELD=$(records_of 6)
[ -n "$HELD" ] || fail "n6 did not answer /v1/health"
echo "replaced node n6 held: $HELD records"
# The peers' repair counters before: they push what n6 lacks in their own rounds, so the bytes
# moved into n6 are its pulls plus the growth of the peers' pushes (a push is counted by the
# sender only).
declare -A PUSHED0 PEER_BYTES0
for i in $(seq $((NODES - 1))); do
  PUSHED0[$i]=$(metric "$i" espymetrics_repair_records_pushed_total)
  PEER_BYTES0[$i]=$(metric "$i" espymetrics_repair_bytes_total)
done
kill -9 "$(cat "$N6/node.pid")"
while kill -0 "$(cat "$N6/node.pid")" 2>/dev/null; do sleep 0.05; done
rm -rf "$N6/data"
mkdir -p "$N6/data"
args=(serve --name n6 --datacenter dc3 --http "$(ip 6):8888" --gossip "$(ip 6):7946" --data-dir "$N6/data"
  --join "$(ip 1):7946" --config "$CONFIG")
printf '\n=== %s: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BIN" "${args[*]}" >> "$N6/node.log"
START=$(date +%s.%N)
nohup "$BIN" "${args[@]}" </dev/null >>"$N6/node.log" 2>&1 &
echo $! > "$N6/node.pid"
for _ in $(seq 200); do curl -sf "http://$(ip 6):8888/v1/health" >/dev/null && break; sleep 0.05; done
curl -sf "http://$(ip 6):8888/v1/health" >/dev/null || fail "the new n6 did not answer /v1/health within 10 s; see $N6/node.log"

wrk -t2 -c16 -d"$DURATION" --latency "http://$(ip 1):8888$QUERY" > "$OUT/repair-count-during.wrk" &
WRK_PID=$!

# Rebuilt: every partition n6 owns caught up, and it holds what it held before.
deadline=$((SECONDS + WAIT_TIMEOUT))
while true; do
  c=$(catching_up_of 6); r=$(records_of 6)
  [ "${c:-x}" = 0 ] && [ "${r:-0}" = "$HELD" ] && break
  ((SECONDS < deadline)) || fail "n6 was not rebuilt within ${WAIT_TIMEOUT} s (catching up: ${c:-no answer}, records: ${r:-no answer} of $HELD)"
  kill -0 "$(cat "$N6/node.pid")" 2>/dev/null || fail "n6 exited while rebuilding; see $N6/node.log"
  sleep 0.5
done
END=$(date +%s.%N)
REBUILD_DONE_DURING_WRK=0
kill -0 "$WRK_PID" 2>/dev/null && REBUILD_DONE_DURING_WRK=1
wait "$WRK_PID"
WRK_PID=""

BYTES=$(metric 6 espymetrics_repair_bytes_total)
PULLED=$(metric 6 espymetrics_repair_records_pulled_total)
PUSHED=0 PEER_BYTES=0 HINTS=0
for i in $(seq $((NODES - 1))); do
  PUSHED=$((PUSHED + $(metric "$i" espymetrics_repair_records_pushed_total) - PUSHED0[$i]))
  PEER_BYTES=$((PEER_BYTES + $(metric "$i" espymetrics_repair_bytes_total) - PEER_BYTES0[$i]))
done
for i in $(seq $NODES); do HINTS=$((HINTS + $(metric "$i" espymetrics_cluster_hints_delivered_total))); done
python3 - "$START" "$END" "$HELD" "$PULLED" "$BYTES" "$PUSHED" "$PEER_BYTES" <<'PY'
import sys
start, end = float(sys.argv[1]), float(sys.argv[2])
held, pulled, pulled_bytes, pushed, pushed_bytes = map(int, sys.argv[3:8])
seconds, moved = end - start, pulled_bytes + pushed_bytes
print(f"rebuild: {seconds:.1f} s, {held} records rebuilt ({held / seconds:,.0f} records/s), "
      f"{moved} bytes ({moved / 1e6:.1f} MB, {moved / held:.0f} bytes/record)")
print(f"moved into n6: {pulled} records pulled by n6 ({pulled_bytes / 1e6:.1f} MB, espymetrics_repair_records_pulled_total "
      f"and espymetrics_repair_bytes_total on n6), {pushed} pushed by its peers ({pushed_bytes / 1e6:.1f} MB, growth of "
      f"their espymetrics_repair_records_pushed_total and _bytes_total); {pulled + pushed - held} more than rebuilt")
PY
echo "repair rate limit: max_records_per_second = 20000 (default); hints delivered, all nodes: $HINTS"
echo "n6 shard on disk after rebuild: $(du -cb "$N6"/data/shard.sqlite* | awk '{sub(/.*\//, "", $2); printf "%s%s %.1f MB", (NR > 1 ? ", " : ""), $2, $1/1e6}')"
echo "count on n1, idle, 16 clients: $(wrk_summary "$OUT/repair-count-idle.wrk")"
echo "count on n1 during rebuild, 16 clients: $(wrk_summary "$OUT/repair-count-during.wrk")"
[ $REBUILD_DONE_DURING_WRK = 1 ] && echo "note: the rebuild finished before the ${DURATION} s load did; part of that load ran after it"

# Exactness: n1 and the rebuilt n6 answer the same counts, over all RECORDS records.
A1=$(curl -sf "http://$(ip 1):8888$QUERY") || fail "n1 did not answer the count"
A6=$(curl -sf "http://$(ip 6):8888$QUERY") || fail "n6 did not answer the count"
python3 - "$A1" "$A6" "$RECORDS" <<'PY' || fail "the counts are not exact (see above)"
import json, sys
answers, records = [json.loads(a) for a in sys.argv[1:3]], int(sys.argv[3])
for node, a in zip(("n1", "n6"), answers):
    print(f"{node} answers: record_count {a.get('record_count')}, counts {json.dumps(a.get('counts'), sort_keys=True)}, error_count {a.get('error_count')}")
same = [{k: a.get(k) for k in ("counts", "record_count", "error_count")} for a in answers]
sys.exit(0 if same[0] == same[1] and same[0]["record_count"] == records else 1)
PY
echo "counts exact: n1 and n6 agree, $RECORDS records"
echo "done; raw outputs in $OUT (repair-count-*.wrk, repair-cluster/n*/node.log)"
