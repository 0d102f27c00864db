# Shared by the bench/ scripts; sourced, not run, from the repository root.

# Settings every script takes from the environment. RECORDS defaults to DEFAULT_RECORDS when
# the script set one before sourcing this file.
BIN=${ESPYMETRICS_BIN:-.build-release/release/espymetrics}
RECORDS=${RECORDS:-${DEFAULT_RECORDS:-1000000}}
DURATION=${DURATION:-10}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# wrk's "Requests/sec" and latency percentiles (wrk --latency output in $1), in ms.
wrk_summary() {
  awk '/Requests\/sec/ {rps=$2}
       function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
       $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)}
       END {printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms\n", rps, p50, p99}' "$1"
}

# Waits (up to 120 s) until no node of the 6-node local cluster on 127.0.0.11-16 is catching up:
# benchmarks measure a settled cluster, every node caught up and last copies landed.
wait_until_caught_up() {
  local busy ip c
  for _ in $(seq 120); do
    busy=0
    for ip in 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14 127.0.0.15 127.0.0.16; do
      c=$(curl -s "http://$ip:8888/v1/cluster/partitions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["handoff"]["catching_up"]["partitions"])' 2>/dev/null || echo 1)
      [ "$c" = 0 ] || busy=1
    done
    [ $busy = 0 ] && return
    sleep 1
  done
}

# The release binary must exist; the generated data set is made once per record count.
require_binary() { [ -x "$1" ] || { echo "no release binary at $1; build it first" >&2; exit 1; }; }
profiles_file() {  # out_dir records
  local data="$1/profiles-$2.ndjson"
  [ -s "$data" ] || python3 bench/gen_profiles.py --count "$2" --seed 1 > "$data"
  echo "$data"
}

# Stops the given node processes as a stop that keeps their data (SIGINT; SIGTERM would hand
# every partition off first), then SIGKILLs those still up after $1 seconds.
stop_nodes() { # seconds pid...
  local seconds=$1 pid alive; shift
  for pid in "$@"; do kill -INT "$pid" 2>/dev/null || true; done
  for _ in $(seq $((seconds * 10))); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}
