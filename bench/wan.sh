#!/usr/bin/env bash
# WAN benchmark (issue #13) on real processes: 9 nodes in 3 datacenters (n1-n3 dc1, n4-n6 dc2,
# n7-n9 dc3), each node in its own network namespace, every packet between them routed through
# a user-space router that delays it (INTRA_MS within a datacenter, INTER_MS ± JITTER_MS
# between them, in order per link) and drops LOSS of them, UDP and TCP alike: the kernel's TCP
# sees real round trips, losses and retransmissions. This machine's kernel has no `tc netem`, so
# the router stands in for it (a TUN device per namespace, the router in the root namespace).
#
#   bench/wan.sh                                  # defaults below
#   SAMPLES=100 SOAK=60 CUT=60 bench/wan.sh
#   ESPYMETRICS_BIN=/path/to/espymetrics bench/wan.sh
#
# Prints: count latency from one node per datacenter (p50/p99, and how many nodes each count
# asked), single-record write latency with write_quorum = majority, suspicions and failures
# during a SOAK-second soak under the loss, and, after dc1 is cut off for CUT seconds while
# both sides write, how long the replicas take to become identical (every datacenter's
# per-partition digests equal) and how many repair rounds that took.
#
# Needs root (network namespaces, /dev/net/tun), iproute2, curl and python3. Client requests
# are sent from inside the coordinator's namespace (a client next to it, as behind a load
# balancer in the same datacenter), so what is measured is the cluster's own fan-out.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
require_binary "$BIN"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ "$(id -u)" = 0 ] || { echo "wan.sh: needs root (network namespaces, /dev/net/tun)" >&2; exit 1; }
[ -c /dev/net/tun ] || { echo "wan.sh: no /dev/net/tun" >&2; exit 1; }

NODES_PER_DC=3
NODES=$((3 * NODES_PER_DC))
INTRA_MS=${INTRA_MS:-1}
INTER_MS=${INTER_MS:-40}
JITTER_MS=${JITTER_MS:-2}
LOSS=${LOSS:-0.005}
SAMPLES=${SAMPLES:-200}
SOAK=${SOAK:-120}
CUT=${CUT:-60}
HEAL_TIMEOUT=${HEAL_TIMEOUT:-300}
RUN=$OUT/wan
CONTROL=$RUN/router-control
PREFIX=espywan
mkdir -p "$RUN"
rm -rf "$RUN"/n*
: > "$CONTROL"

ip_of() { echo "10.77.0.$1"; }
dc_of() { echo $(( ($1 - 1) / NODES_PER_DC + 1 )); }
in_ns() { local i=$1; shift; ip netns exec "$PREFIX-n$i" "$@"; }
fail() { echo "wan.sh: $*" >&2; exit 1; }

ROUTER_PID=""
# SIGINT to every node (a stop that keeps its data), then SIGKILL to those still up after 15 s.
cleanup() {
  local i pids=()
  for i in $(seq $NODES); do
    [ -f "$RUN/n$i/node.pid" ] || continue
    pids+=("$(cat "$RUN/n$i/node.pid")")
  done
  stop_nodes 15 "${pids[@]}"
  rm -f "$RUN"/n*/node.pid
  [ -n "$ROUTER_PID" ] && kill "$ROUTER_PID" 2>/dev/null || true
  for i in $(seq $NODES); do ip netns del "$PREFIX-n$i" 2>/dev/null || true; done
}
trap cleanup EXIT

for i in $(seq $NODES); do
  ip netns list | grep -qw "$PREFIX-n$i" && fail "namespace $PREFIX-n$i exists: an earlier run is still going, or left it (ip netns del $PREFIX-n$i)"
done

# The router: one TUN device per node; a packet read from node i's device is written to the
# destination node's device when its delay has passed. Delays keep each link's order (a WAN
# link does not reorder), loss is drawn per packet, and "cut D" in the control file drops
# everything between datacenter D and the others until the file is emptied.
cat > "$RUN/router.py" <<'PYTHON'
import fcntl, heapq, os, random, select, struct, sys, time
nodes, per_dc, intra, inter, jitter, loss = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
control, prefix = sys.argv[7], sys.argv[8]
random.seed(13)
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
devices = {}
for node in range(1, nodes + 1):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", f"{prefix}{node}".encode(), IFF_TUN | IFF_NO_PI))
    devices[fd] = node
fd_of = {node: fd for fd, node in devices.items()}
dc = lambda node: (node - 1) // per_dc + 1
print("ready", flush=True)
queue, last_due, cut, next_control, sequence = [], {}, None, 0.0, 0
delivered = dropped = 0
while True:
    now = time.monotonic()
    if now >= next_control:
        next_control = now + 0.05
        try:
            words = open(control).read().split()
            cut = int(words[1]) if len(words) == 2 and words[0] == "cut" else None
        except (OSError, ValueError):
            cut = None
    timeout = max(0.0, min(next_control, queue[0][0] if queue else next_control) - now)
    readable, _, _ = select.select(list(devices), [], [], timeout)
    now = time.monotonic()
    for fd in readable:
        while True:
            try:
                packet = os.read(fd, 65535)
            except BlockingIOError:
                break
            if len(packet) < 20 or packet[0] >> 4 != 4 or packet[16:19] != bytes([10, 77, 0]):
                continue
            source, target = devices[fd], packet[19]
            if target not in fd_of:
                continue
            if cut is not None and (dc(source) == cut) != (dc(target) == cut):
                dropped += 1
                continue
            if random.random() < loss:
                dropped += 1
                continue
            delay = intra if dc(source) == dc(target) else inter + random.uniform(-jitter, jitter)
            due = max(now + delay / 1000, last_due.get((source, target), 0))
            last_due[(source, target)] = due
            sequence += 1
            heapq.heappush(queue, (due, sequence, target, packet))
    while queue and queue[0][0] <= now:
        _, _, target, packet = heapq.heappop(queue)
        try:
            os.write(fd_of[target], packet)
            delivered += 1
        except OSError:
            pass
PYTHON

python3 -u "$RUN/router.py" $NODES $NODES_PER_DC "$INTRA_MS" "$INTER_MS" "$JITTER_MS" "$LOSS" "$CONTROL" "$PREFIX" > "$RUN/router.log" 2>&1 &
ROUTER_PID=$!
for _ in $(seq 50); do grep -q ready "$RUN/router.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$RUN/router.log" || fail "the router did not start: $(cat "$RUN/router.log")"

for i in $(seq $NODES); do
  ip netns add "$PREFIX-n$i"
  ip link set "$PREFIX$i" netns "$PREFIX-n$i"
  in_ns "$i" ip link set lo up
  in_ns "$i" ip addr add "$(ip_of "$i")/24" dev "$PREFIX$i"
  in_ns "$i" ip link set "$PREFIX$i" up
done

printf '[http]\naccess_log = false\n' > "$RUN/node.toml"
for i in $(seq $NODES); do
  mkdir -p "$RUN/n$i/data"
  args=(serve --config "$RUN/node.toml" --name "n$i" --datacenter "dc$(dc_of "$i")" --http "$(ip_of "$i"):8888"
        --gossip "$(ip_of "$i"):7946" --data-dir "$RUN/n$i/data")
  for j in $(seq $NODES); do ((j == i)) || args+=(--join "$(ip_of "$j"):7946"); done
  in_ns "$i" "$BIN" "${args[@]}" > "$RUN/n$i/node.log" 2>&1 &
  echo $! > "$RUN/n$i/node.pid"
done

# One field of node $1's JSON answer to GET $2; empty if it does not answer.
json() { in_ns "$1" curl -sf --max-time 5 "http://$(ip_of "$1"):8888$2" 2>/dev/null \
  | python3 -c "import json, sys; d = json.load(sys.stdin); print($3)" 2>/dev/null || true; }
# Sum over every node of a Prometheus counter or gauge line starting with $1.
metric_sum() {
  local i s=0 v
  for i in $(seq $NODES); do
    v=$(in_ns "$i" curl -sf --max-time 5 "http://$(ip_of "$i"):8888/metrics" 2>/dev/null \
      | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {printf "%.0f", s}' || echo 0)
    s=$((s + ${v:-0}))
  done
  echo $s
}
alive_everywhere() {
  local i
  for i in $(seq $NODES); do
    [ "$(json "$i" /v1/cluster/members 'sum(1 for m in d["members"] if m["status"] == "alive")')" = "$NODES" ] || return 1
  done
}
ready_everywhere() {
  local i
  for i in $(seq $NODES); do
    [ "$(in_ns "$i" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$(ip_of "$i"):8888/v1/ready")" = 200 ] || return 1
  done
}
wait_for() { # seconds description command...
  local limit=$1 what=$2; shift 2
  for _ in $(seq "$limit"); do "$@" && return 0; sleep 1; done
  fail "$what not reached within $limit s (logs in $RUN/n*/node.log)"
}
# p50/p99 of the seconds on stdin, in ms.
percentiles() { python3 -c '
import sys
v = sorted(float(x) * 1000 for x in sys.stdin.read().split())
pick = lambda f: v[min(len(v) - 1, max(0, int(round(f * len(v) + 0.5)) - 1))]
print(f"p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {v[-1]:.1f} ms (n = {len(v)})")'; }
# The per-partition digests of every node of datacenter $1, merged: "partition count:hash" lines.
datacenter_digests() {
  local dc=$1 i all
  all=$(python3 -c 'print(",".join(map(str, range(4096))))')
  for i in $(seq $(( (dc - 1) * NODES_PER_DC + 1 )) $(( dc * NODES_PER_DC ))); do
    in_ns "$i" curl -sf --max-time 10 -X POST --data-binary "$all" "http://$(ip_of "$i"):8888/internal/v1/repair/digests" || echo "unreachable n$i"
  done | sort
}
replicas_identical() {
  local one
  one=$(datacenter_digests 1)
  [ -n "$one" ] && ! grep -q unreachable <<<"$one" && [ "$one" = "$(datacenter_digests 2)" ] && [ "$one" = "$(datacenter_digests 3)" ]
}

echo "machine: $(nproc) cores, $(uname -r); $NODES nodes; one way ${INTRA_MS} ms in a DC, ${INTER_MS} ± ${JITTER_MS} ms between DCs; loss $LOSS (UDP and TCP)"
started=$(date +%s)
wait_for 120 "all $NODES alive on every node" alive_everywhere
wait_for 120 "every node ready" ready_everywhere
echo "formed: all alive and ready after $(( $(date +%s) - started )) s"

# Warm the node-to-node connection pools, so that a sample is a request, not a TCP handshake.
for c in 1 4 7; do
  for _ in $(seq 5); do in_ns "$c" curl -s -o /dev/null "http://$(ip_of "$c"):8888/v1/count?group_by=uname.system"; done
done

: > "$RUN/writes"
for k in $(seq "$SAMPLES"); do
  c=$(( (k % 3) * NODES_PER_DC + 1 ))
  in_ns "$c" curl -s -o /dev/null -w '%{time_total} %{http_code}\n' -X POST "http://$(ip_of "$c"):8888/v1/on_import" \
    -d "{\"wan\": {\"sample\": $k, \"run\": $started}, \"uname\": {\"system\": \"Linux\"}}" >> "$RUN/writes"
done
echo "writes (one record, write_quorum = majority, from n1/n4/n7): $(awk '{print $1}' "$RUN/writes" | percentiles); status: $(awk '{print $2}' "$RUN/writes" | sort | uniq -c | xargs)"

: > "$RUN/counts"
for k in $(seq "$SAMPLES"); do
  c=$(( (k % 3) * NODES_PER_DC + 1 ))
  in_ns "$c" curl -s -w '\n%{time_total}\n' "http://$(ip_of "$c"):8888/v1/count?group_by=uname.system" \
    | python3 -c 'import json, sys; lines = [l for l in sys.stdin.read().split("\n") if l.strip()]; d = json.loads(lines[0]); print(lines[-1], d["coverage"]["nodes"]["queried"], d["coverage"]["partial"])' >> "$RUN/counts"
done
echo "counts (group_by uname.system, from n1/n4/n7): $(awk '{print $1}' "$RUN/counts" | percentiles); nodes asked per count: $(awk '{print $2}' "$RUN/counts" | sort | uniq -c | xargs); partial: $(awk '{print $3}' "$RUN/counts" | sort | uniq -c | xargs)"

suspicions_before=$(metric_sum espymetrics_gossip_suspicions_total)
worst_down=0
for _ in $(seq $((SOAK / 5))); do
  sleep 5
  down=$(( $(metric_sum 'espymetrics_gossip_members{status="suspect"}') + $(metric_sum 'espymetrics_gossip_members{status="dead"}') ))
  (( down > worst_down )) && worst_down=$down
done
suspicions=$(( $(metric_sum espymetrics_gossip_suspicions_total) - suspicions_before ))
echo "soak: ${SOAK} s under loss: $suspicions suspicions started ($(python3 -c "print(f'{$suspicions / ($NODES * $SOAK / 3600):.2f}')") per node-hour); at most $worst_down members suspect or dead in any node's view (sampled every 5 s)"

rounds_before=$(metric_sum espymetrics_repair_rounds_total)
echo "cut 1" > "$CONTROL"
cut_at=$(date +%s)
: > "$RUN/cut-writes"
k=0
while (( $(date +%s) - cut_at < CUT )); do
  k=$((k + 1))
  for c in 1 4; do
    echo "n$c $(in_ns "$c" curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "http://$(ip_of "$c"):8888/v1/on_import" \
      -d "{\"wan\": {\"cut\": $k, \"from\": $c, \"run\": $started}}")" >> "$RUN/cut-writes"
  done
done
# Each side wrote what the other lacks: the replicas differ now (or the heal would prove nothing).
replicas_identical && diverged=no || diverged=yes
: > "$CONTROL"
healed_at=$(date +%s)
echo "cut: dc1 cut off for $CUT s while n1 (dc1) and n4 (dc2) wrote; answers by coordinator and status: $(sort "$RUN/cut-writes" | uniq -c | xargs); replicas differed at the heal: $diverged"
for _ in $(seq "$HEAL_TIMEOUT"); do
  replicas_identical && break
  sleep 1
done
replicas_identical || fail "replicas still differ $HEAL_TIMEOUT s after the heal"
identical_after=$(( $(date +%s) - healed_at ))
wait_for "$HEAL_TIMEOUT" "all $NODES alive on every node after the heal" alive_everywhere
echo "heal: replicas identical (every datacenter's digests of every partition equal) $identical_after s after the heal, members all alive everywhere $(( $(date +%s) - healed_at )) s after it; repair rounds meanwhile: $(( $(metric_sum espymetrics_repair_rounds_total) - rounds_before )) over $NODES nodes"
