#!/usr/bin/env bash
# A local EspyMetrics cluster on loopback addresses: start N nodes across 3 datacenters, show
# their membership, stop them again. `deploy/local-cluster.sh --help` explains.
set -euo pipefail

readonly DEFAULT_NODES=6
readonly MAX_NODES=244 # node i listens on 127.0.0.(10+i), so i ≤ 244
readonly DATACENTERS=3
readonly HTTP_PORT=8888
readonly GOSSIP_PORT=7946
readonly JOIN_TIMEOUT_SECONDS=30
# A node drains in-flight requests for up to http.shutdown_grace_ms (10 s) and gossips its leave
# for up to 3 s; past this it is killed.
readonly STOP_TIMEOUT_SECONDS=30

program=$(basename "$0")
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
cluster_dir=${ESPY_CLUSTER_DIR:-./local-cluster}

usage() {
    cat <<EOF
Usage: $program start [N]    start N nodes (default $DEFAULT_NODES) and wait until they all see each other
       $program stop         SIGINT every node (stop, keeping its data), wait for each to exit
       $program status       which nodes run, and \`espymetrics members\` from node 1
       $program --help

Node i (n1, n2, ...) runs in datacenter dc((i-1)%$DATACENTERS+1) on 127.0.0.(10+i): HTTP on port
$HTTP_PORT, gossip (UDP and TCP) on port $GOSSIP_PORT. n1 is the join seed of the others. Each node
keeps its shard, log and pid file in \$ESPY_CLUSTER_DIR/nI (default ./local-cluster/nI):

  nI/data/      the node's data directory (shard.sqlite)
  nI/node.log   standard output and error (one line per request, membership events)
  nI/node.pid   the process id, while it runs

start waits up to ${JOIN_TIMEOUT_SECONDS} s for every node's /v1/cluster/members to list N alive
members, then prints the nodes. It reuses data directories left by an earlier run: nodes come back
to their data. A record lives only on the nodes that owned its partition when it was written, so
after changing N, data moves: new nodes catch up from the others, and nodes no longer listed keep
their partitions until the failure timeout (24 h) or \`espymetrics remove\`; to start over, stop
and remove \$ESPY_CLUSTER_DIR. To take one node out with its data handed off, run
\`espymetrics leave --http 127.0.0.(10+i):$HTTP_PORT\`.

Environment:
  ESPYMETRICS_BIN   the espymetrics binary; otherwise the first of
                    $repo_root/.build-release/release/espymetrics,
                    $repo_root/.build/debug/espymetrics, espymetrics on PATH
  ESPY_CLUSTER_DIR  where the nodes' directories go (default ./local-cluster)
  ESPY_NODE_CONFIG  a cluster.toml every node also reads (flags above still win)

Linux routes all of 127.0.0.0/8 to the loopback interface, so no setup is needed. On macOS add
the addresses first: sudo ifconfig lo0 alias 127.0.0.11 up (and so on for each node).

Examples:
  $program start && curl -s 127.0.0.12:$HTTP_PORT/v1/count
  ESPY_CLUSTER_DIR=/tmp/espy $program start 9
  $program status
  $program stop
EOF
}

fail() {
    printf '%s: %s\n' "$program" "$*" >&2
    exit 1
}

note() {
    printf '%s\n' "$*"
}

# The binary to run, checked to be one with cluster support (the `members` command); a stale
# build found by the automatic search is skipped with a warning.
find_binary() {
    local candidate
    if [[ -n ${ESPYMETRICS_BIN:-} ]]; then
        [[ -x $ESPYMETRICS_BIN ]] || fail "ESPYMETRICS_BIN=$ESPYMETRICS_BIN is not an executable file"
        supports_cluster "$ESPYMETRICS_BIN" \
            || fail "ESPYMETRICS_BIN=$ESPYMETRICS_BIN has no 'members' command: it predates the cluster; rebuild it"
        printf '%s\n' "$ESPYMETRICS_BIN"
        return
    fi
    for candidate in "$repo_root/.build-release/release/espymetrics" "$repo_root/.build/debug/espymetrics" \
        "$(command -v espymetrics || true)"; do
        [[ -n $candidate && -x $candidate ]] || continue
        if supports_cluster "$candidate"; then
            printf '%s\n' "$candidate"
            return
        fi
        printf "%s: skipping %s: it has no 'members' command (built before the cluster); rebuild it\n" \
            "$program" "$candidate" >&2
    done
    fail "no espymetrics binary found: set ESPYMETRICS_BIN, or build one (swift build -c release --build-path .build-release)"
}

supports_cluster() {
    "$1" --help 2>/dev/null | grep -qE '^[[:space:]]+members[[:space:]]'
}

# Absolute, so the paths in pid files, process arguments and messages do not depend on the
# directory the script is run from.
absolute_cluster_dir() {
    mkdir -p "$cluster_dir"
    cluster_dir=$(cd "$cluster_dir" && pwd)
}

node_ip() { printf '127.0.0.%d' $((10 + $1)); }
node_datacenter() { printf 'dc%d' $((($1 - 1) % DATACENTERS + 1)); }
node_dir() { printf '%s/n%d' "$cluster_dir" "$1"; }

# The node numbers that have a pid file, ascending.
nodes_with_pid_files() {
    local file number
    for file in "$cluster_dir"/n*/node.pid; do
        [[ -e $file ]] || continue
        number=${file%/node.pid}
        number=${number##*/n}
        [[ $number =~ ^[0-9]+$ ]] && printf '%d\n' "$number"
    done | sort -n
}

# The pid of node i if it is running (and really is that node), else nothing; status 1 if not.
running_pid() {
    local i=$1 file pid args
    file="$(node_dir "$i")/node.pid"
    [[ -r $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: the process must be this node's `serve`.
    args=$(ps -p "$pid" -o args= 2>/dev/null || true)
    [[ $args == *" serve "*"--name n$i "* ]] || return 1
    printf '%s\n' "$pid"
}

# How many members node i's /v1/cluster/members lists as alive; empty if it did not answer.
alive_seen_by() {
    local i=$1 answer
    answer=$("$binary" members --http "$(node_ip "$i"):$HTTP_PORT" --format json 2>/dev/null) || return 0
    { grep -o '"status":"alive"' <<<"$answer" || true; } | wc -l | tr -d ' '
}

start_cluster() {
    local count=${1:-$DEFAULT_NODES} i pid dir ip datacenter
    if ! [[ $count =~ ^[0-9]{1,3}$ ]] || ((10#$count < 1 || 10#$count > MAX_NODES)); then
        fail "the node count must be a whole number from 1 to $MAX_NODES, got '$count'"
    fi
    count=$((10#$count))
    binary=$(find_binary)
    absolute_cluster_dir
    for i in $(nodes_with_pid_files); do
        if pid=$(running_pid "$i"); then
            fail "a local cluster is already running in $cluster_dir (n$i, pid $pid); run '$program stop' first"
        fi
        rm -f "$(node_dir "$i")/node.pid"
    done

    note "starting $count nodes with $binary"
    # Interrupted while starting: stop what was started rather than leave it behind.
    trap abort_start INT TERM
    local seed
    seed="$(node_ip 1):$GOSSIP_PORT"
    started=()
    for ((i = 1; i <= count; i++)); do
        dir=$(node_dir "$i")
        ip=$(node_ip "$i")
        datacenter=$(node_datacenter "$i")
        mkdir -p "$dir/data"
        local arguments=(serve --name "n$i" --datacenter "$datacenter" --http "$ip:$HTTP_PORT"
            --gossip "$ip:$GOSSIP_PORT" --data-dir "$dir/data")
        ((i > 1)) && arguments+=(--join "$seed")
        [[ -n ${ESPY_NODE_CONFIG:-} ]] && arguments+=(--config "$ESPY_NODE_CONFIG")
        printf '\n=== %s: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$binary" "${arguments[*]}" >>"$dir/node.log"
        # nohup: the nodes outlive the terminal this was started from.
        nohup "$binary" "${arguments[@]}" </dev/null >>"$dir/node.log" 2>&1 &
        printf '%d\n' "$!" >"$dir/node.pid"
        started+=("$i")
    done

    wait_for_membership "$count"
    trap - INT TERM

    note ""
    printf '%-5s %-4s %-8s %-24s %-17s %s\n' node dc pid http gossip directory
    for ((i = 1; i <= count; i++)); do
        printf '%-5s %-4s %-8s %-24s %-17s %s\n' "n$i" "$(node_datacenter "$i")" "$(running_pid "$i" || printf '-')" \
            "http://$(node_ip "$i"):$HTTP_PORT" "$(node_ip "$i"):$GOSSIP_PORT" "$(node_dir "$i")"
    done
    note ""
    note "every node sees $count alive members. Try:"
    note "  curl -s http://$(node_ip 1):$HTTP_PORT/v1/cluster/partitions"
    note "  curl -s 'http://$(node_ip "$count"):$HTTP_PORT/v1/count?group_by=python.version_info.0'"
    note "  $program status"
    note "  $program stop"
}

# Polls every node until each lists `count` alive members; on a node exiting or the timeout,
# explains, stops what was started and fails.
wait_for_membership() {
    local count=$1 i seen deadline=$((SECONDS + JOIN_TIMEOUT_SECONDS)) all_ready
    local -a report
    while true; do
        all_ready=1
        report=()
        for ((i = 1; i <= count; i++)); do
            if ! running_pid "$i" >/dev/null; then
                printf '%s: n%d exited during start; the end of %s:\n' "$program" "$i" "$(node_dir "$i")/node.log" >&2
                tail -n 5 "$(node_dir "$i")/node.log" | sed 's/^/    /' >&2
                abort_start
            fi
            seen=$(alive_seen_by "$i")
            report+=("n$i sees ${seen:-no answer (HTTP not up)}${seen:+ of $count alive}")
            [[ ${seen:-0} -eq $count ]] || all_ready=0
        done
        ((all_ready)) && return 0
        if ((SECONDS >= deadline)); then
            printf '%s: the nodes did not all see %d alive members within %d s:\n' \
                "$program" "$count" "$JOIN_TIMEOUT_SECONDS" >&2
            printf '    %s\n' "${report[@]}" >&2
            printf '%s: logs: %s/n*/node.log\n' "$program" "$cluster_dir" >&2
            abort_start
        fi
        sleep 0.5
    done
}

abort_start() {
    printf '%s: stopping the nodes this command started\n' "$program" >&2
    stop_nodes "${started[@]}" >&2 || true
    exit 1
}

# SIGINT to every listed node at once (a stop without handoff: with every node going, there is
# no one to hand partitions to), then waits for each; SIGKILL past the timeout.
# Status 1 if some node had to be killed.
stop_nodes() {
    local i pid dir log status=0
    local -A pids=()
    for i in "$@"; do
        if pid=$(running_pid "$i"); then
            kill -INT "$pid" 2>/dev/null || true
            pids[$i]=$pid
        else
            note "n$i: not running (pid file removed)"
            rm -f "$(node_dir "$i")/node.pid"
        fi
    done
    local deadline=$((SECONDS + STOP_TIMEOUT_SECONDS))
    for i in "$@"; do
        [[ -n ${pids[$i]:-} ]] || continue
        pid=${pids[$i]}
        dir=$(node_dir "$i")
        log="$dir/node.log"
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            note "n$i (pid $pid): still running after ${STOP_TIMEOUT_SECONDS} s; killed with SIGKILL (see $log)"
            status=1
        elif tail -n 3 "$log" 2>/dev/null | grep -q 'node stopped'; then
            note "n$i (pid $pid): stopped cleanly (shard closed)"
        else
            note "n$i (pid $pid): exited, but its log does not end with 'node stopped'; see $log"
            status=1
        fi
        rm -f "$dir/node.pid"
    done
    return "$status"
}

stop_cluster() {
    [[ -d $cluster_dir ]] || {
        note "no local cluster in $cluster_dir"
        return 0
    }
    absolute_cluster_dir
    local -a nodes
    mapfile -t nodes < <(nodes_with_pid_files)
    if ((${#nodes[@]} == 0)); then
        note "no node of $cluster_dir is running"
        return 0
    fi
    note "stopping ${#nodes[@]} nodes (SIGINT: each stops and keeps its data)"
    stop_nodes "${nodes[@]}"
}

status_cluster() {
    [[ -d $cluster_dir ]] || fail "no local cluster in $cluster_dir"
    absolute_cluster_dir
    local -a nodes
    mapfile -t nodes < <(nodes_with_pid_files)
    ((${#nodes[@]} > 0)) || fail "no node of $cluster_dir is running (start one with '$program start')"
    local i pid asked=""
    printf '%-5s %-4s %-8s %s\n' node dc pid http
    for i in "${nodes[@]}"; do
        if pid=$(running_pid "$i"); then
            [[ -n $asked ]] || asked=$i
        else
            pid="stopped"
        fi
        printf '%-5s %-4s %-8s %s\n' "n$i" "$(node_datacenter "$i")" "$pid" "http://$(node_ip "$i"):$HTTP_PORT"
    done
    [[ -n $asked ]] || fail "none of the nodes is running"
    note ""
    note "members as n$asked sees them:"
    binary=$(find_binary)
    "$binary" members --http "$(node_ip "$asked"):$HTTP_PORT"
}

main() {
    local command=${1:-}
    case $command in
    start)
        (($# <= 2)) || fail "start takes at most one argument, the node count; see --help"
        start_cluster "${2:-$DEFAULT_NODES}"
        ;;
    stop)
        (($# == 1)) || fail "stop takes no arguments"
        stop_cluster
        ;;
    status)
        (($# == 1)) || fail "status takes no arguments"
        status_cluster
        ;;
    -h | --help | help)
        usage
        ;;
    "")
        usage >&2
        exit 2
        ;;
    *)
        fail "unknown command '$command'; use start, stop, status or --help"
        ;;
    esac
}

binary=""
started=()
main "$@"
