#!/usr/bin/env bash
# The design's size, side by side in one run: N EspyMetrics nodes (default 200, 3 datacenters,
# default configuration) and then N stock Serf agents (Debian serf) the same way, on loopback.
#
#   bench/scale.sh                    # 200 nodes, 100,000 records
#   NODES=100 RECORDS=20000 bench/scale.sh
#
# Node i runs on 127.0.20.i (ours; HTTP :8888, gossip :7946) or 127.0.21.i (serf; :7946, RPC
# :7373), in datacenter dc((i-1)%3+1), joining nodes 1-3. Reported for both: convergence (time
# from the last start until every node has listed N alive), RSS mean/max, idle CPU of the whole
# cluster over 10 s, suspicions and refutations in the first minute after convergence, and the
# time until every survivor lists 10 kill -9'd members as failed. For ours also: routed ingest,
# exact counts from 10 random nodes against ground truth, count latency sequentially (also with
# read_consistency=verified) and at 8
# connections, cluster-wide CPU per count and per sub-request, counts after the kills, and how
# the nodes exit on SIGINT. Raw output lands in $OUT/scale (bench/out/scale).
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_RECORDS=100000
. bench/lib.sh
require_binary "$BIN"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v serf >/dev/null || { apt-get update -qq && apt-get install -y -qq serf >/dev/null; }

NODES=${NODES:-200}
KILLS=${KILLS:-10}
(( NODES >= 4 && NODES <= 254 )) || { echo "NODES must be 4..254" >&2; exit 1; }
(( KILLS < NODES - 3 )) || { echo "KILLS must leave the seeds and some survivors" >&2; exit 1; }
DIR=$OUT/scale
PROBE="python3 bench/scale_probe.py"
QUERY='/v1/count?group_by=python$version_info$0'
ESPY_PIDS=()
SERF_PIDS=()

stop_all() {
  for pid in "${ESPY_PIDS[@]}" "${SERF_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

espy_addr() { echo "127.0.20.$1"; }
serf_addr() { echo "127.0.21.$1"; }
datacenter() { echo "dc$(( ($1 - 1) % 3 + 1 ))"; }
report() { printf '%-58s %s\n' "$1" "$2" | tee -a "$DIR/summary.txt"; }
# Every node but the seeds, shuffled with a fixed seed, so both runs kill the same numbers.
victims() { seq 4 "$NODES" | python3 -c "import random,sys; v=sys.stdin.read().split(); random.Random(7).shuffle(v); print(' '.join(v[:$KILLS]))"; }
random_nodes() { seq 1 "$NODES" | python3 -c "import random,sys; v=[x for x in sys.stdin.read().split() if x not in '$1'.split()]; random.Random(3).shuffle(v); print(' '.join(v[:10]))"; }

rm -rf "$DIR"
mkdir -p "$DIR"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); nodes: $NODES; records: $RECORDS; $(serf version | head -1)" \
  | tee "$DIR/summary.txt"
DATA=$(profiles_file "$OUT" "$RECORDS")
TRUTH=$($PROBE truth "$DATA" 'python$version_info$0')

# ---------------------------------------------------------------- EspyMetrics
for i in $(seq 1 "$NODES"); do
  ip=$(espy_addr "$i")
  mkdir -p "$DIR/espy/s$i"
  "$BIN" serve --name "s$i" --datacenter "$(datacenter "$i")" --http "$ip:8888" --gossip "$ip:7946" \
    --join "$(espy_addr 1):7946" --join "$(espy_addr 2):7946" --join "$(espy_addr 3):7946" \
    --data-dir "$DIR/espy/s$i/data" > "$DIR/espy/s$i/node.log" 2>&1 &
  ESPY_PIDS+=($!)
done
espy_http=()
for i in $(seq 1 "$NODES"); do espy_http+=("$(espy_addr "$i"):8888"); done
report "ours: converged (last start → all list $NODES alive), s" "$($PROBE converge --kind espy --expect "$NODES" --timeout 300 "${espy_http[@]}")"
converged_at=$(date +%s)
suspicions0=$($PROBE metric espymetrics_gossip_suspicions_total "${espy_http[@]}")
refutations0=$($PROBE metric espymetrics_gossip_refutations_total "${espy_http[@]}")
cpu0=$($PROBE cpu "${ESPY_PIDS[@]}"); sleep 10; cpu1=$($PROBE cpu "${ESPY_PIDS[@]}")
report "ours: idle CPU of all $NODES nodes over 10 s, cores" "$(python3 -c "print(f'{($cpu1 - $cpu0) / 10:.3f}')")"
report "ours: RSS mean/max (PSS), MB" "$($PROBE rss "${ESPY_PIDS[@]}")"
report "ours: partition map rebuilds per node while forming" \
  "$(python3 -c "print(f'{$($PROBE metric espymetrics_cluster_placement_rebuilds_total "${espy_http[@]}") / $NODES:.1f}')")"

echo "ingest: $(python3 bench/import_batches.py --http "$(espy_addr 1):8888" --batch 10000 --connections 2 "$DATA")" | tee "$DIR/ingest.txt"
report "ours: routed ingest of $RECORDS records through s1" "$(tail -1 "$DIR/ingest.txt" | sed 's/^ingest: //')"
sleep 3
check=$(random_nodes "")
check_http=(); for i in $check; do check_http+=("$(espy_addr "$i"):8888"); done
report "ours: counts at 10 random nodes vs ground truth" "$($PROBE counts --truth "$TRUTH" --query "$QUERY" "${check_http[@]}" || true)"
report "ours: count from s$((NODES / 2)), sequential (200 after 20)" "$($PROBE latency --requests 200 "$(espy_addr $((NODES / 2))):8888" "$QUERY")"
report "ours: verified count from s$((NODES / 2)), sequential (200 after 20)" "$($PROBE latency --requests 200 "$(espy_addr $((NODES / 2))):8888" "$QUERY&read_consistency=verified")"
sub0=$($PROBE metric espymetrics_cluster_subrequests_total "${espy_http[@]}")
cpu0=$($PROBE cpu "${ESPY_PIDS[@]}")
wrk -t2 -c8 -d"$DURATION" --latency "http://$(espy_addr $((NODES / 2))):8888$QUERY" > "$DIR/count-8.wrk"
cpu1=$($PROBE cpu "${ESPY_PIDS[@]}")
sub1=$($PROBE metric espymetrics_cluster_subrequests_total "${espy_http[@]}")
requests=$(awk '/requests in/ {print $1}' "$DIR/count-8.wrk")
report "ours: count at 8 connections" "$(wrk_summary "$DIR/count-8.wrk")"
report "ours: cluster CPU per count / per sub-request, ms" \
  "$(python3 -c "c=($cpu1-$cpu0)*1000; r=$requests; s=max(1,$sub1-$sub0); print(f'{c/r:.2f} / {c/s:.3f} ({s/r:.1f} sub-requests per count)')")"
wait_until=$((converged_at + 60)); now=$(date +%s); (( now < wait_until )) && sleep $((wait_until - now))
suspicions1=$($PROBE metric espymetrics_gossip_suspicions_total "${espy_http[@]}")
refutations1=$($PROBE metric espymetrics_gossip_refutations_total "${espy_http[@]}")
report "ours: suspicions / refutations, first minute after convergence" "$((suspicions1 - suspicions0)) / $((refutations1 - refutations0))"

kill_list=$(victims)
survivors_http=(); for i in $(seq 1 "$NODES"); do [[ " $kill_list " == *" $i "* ]] || survivors_http+=("$(espy_addr "$i"):8888"); done
for i in $kill_list; do kill -9 "${ESPY_PIDS[$((i - 1))]}"; done
report "ours: every survivor lists the $KILLS killed as failed, s" "$($PROBE converge --kind espy --failed "$KILLS" --timeout 120 "${survivors_http[@]}")"
after=(); for i in $(random_nodes "$kill_list"); do after+=("$(espy_addr "$i"):8888"); done
report "ours: counts at 10 survivors after the kills" "$($PROBE counts --truth "$TRUTH" --query "$QUERY" "${after[@]}" || true)"
report "ours: count at 8 connections after the kills" "$(wrk -t2 -c8 -d5 --latency "http://${after[0]}$QUERY" > "$DIR/count-after.wrk"; wrk_summary "$DIR/count-after.wrk")"
false_failures=$(grep -h 'member failed' "$DIR"/espy/s*/node.log | grep -oE 'gossip/member=s[0-9]+' | sort -u \
  | grep -vxE "$(printf 'gossip/member=s%s|' $kill_list)nothing" | wc -l || true)
report "ours: live members ever declared failed" "$false_failures"
for i in $(seq 1 "$NODES"); do [[ " $kill_list " == *" $i "* ]] || kill -INT "${ESPY_PIDS[$((i - 1))]}" 2>/dev/null || true; done
codes=()
for i in $(seq 1 "$NODES"); do
  [[ " $kill_list " == *" $i "* ]] && continue
  code=0; wait "${ESPY_PIDS[$((i - 1))]}" || code=$?
  codes+=("$code")
done
report "ours: exit codes after SIGINT (code×count)" "$(printf '%s\n' "${codes[@]}" | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')"
ESPY_PIDS=()

# ---------------------------------------------------------------- Serf
for i in $(seq 1 "$NODES"); do
  ip=$(serf_addr "$i")
  mkdir -p "$DIR/serf"
  serf agent -node="s$i" -bind="$ip:7946" -rpc-addr="$ip:7373" -tag dc="$(datacenter "$i")" \
    -join="$(serf_addr 1):7946" -join="$(serf_addr 2):7946" -join="$(serf_addr 3):7946" > "$DIR/serf/s$i.log" 2>&1 &
  SERF_PIDS+=($!)
done
serf_rpc=(); for i in $(seq 1 "$NODES"); do serf_rpc+=("$(serf_addr "$i"):7373"); done
report "serf: converged (last start → all list $NODES alive), s" "$($PROBE converge --kind serf --expect "$NODES" --timeout 300 "${serf_rpc[@]}")"
converged_at=$(date +%s)
for i in $(seq 1 "$NODES"); do wc -l < "$DIR/serf/s$i.log" > "$DIR/serf/s$i.mark"; done
cpu0=$($PROBE cpu "${SERF_PIDS[@]}"); sleep 10; cpu1=$($PROBE cpu "${SERF_PIDS[@]}")
report "serf: idle CPU of all $NODES agents over 10 s, cores" "$(python3 -c "print(f'{($cpu1 - $cpu0) / 10:.3f}')")"
report "serf: RSS mean/max (PSS), MB" "$($PROBE rss "${SERF_PIDS[@]}")"
wait_until=$((converged_at + 60)); now=$(date +%s); (( now < wait_until )) && sleep $((wait_until - now))
for i in $(seq 1 "$NODES"); do tail -n +"$(( $(cat "$DIR/serf/s$i.mark") + 1 ))" "$DIR/serf/s$i.log"; done > "$DIR/serf/first-minute.log"
report "serf: suspicions / refutations, first minute after convergence" \
  "$(grep -c 'Suspect s' "$DIR/serf/first-minute.log" || true) / $(grep -c 'Refuting a suspect' "$DIR/serf/first-minute.log" || true)"
survivors_rpc=(); for i in $(seq 1 "$NODES"); do [[ " $kill_list " == *" $i "* ]] || survivors_rpc+=("$(serf_addr "$i"):7373"); done
for i in $kill_list; do kill -9 "${SERF_PIDS[$((i - 1))]}"; done
report "serf: every survivor lists the $KILLS killed as failed, s" "$($PROBE converge --kind serf --failed "$KILLS" --timeout 120 "${survivors_rpc[@]}")"
false_failures=$(grep -h 'EventMemberFailed' "$DIR"/serf/*.log | grep -oE 'EventMemberFailed: s[0-9]+' | awk '{print $2}' | sort -u \
  | grep -vxE "$(printf 's%s|' $kill_list)nothing" | wc -l || true)
report "serf: live members ever declared failed" "$false_failures"
echo "summary: $DIR/summary.txt"
