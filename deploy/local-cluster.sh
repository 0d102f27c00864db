#!/usr/bin/env bash
# A local EspyMetrics cluster on loopback addresses: start N nodes across 3 datacenters (or add
# nodes to a running one), put HAProxy in front of them, show their membership and readiness,
# stop them again.
# `deploy/local-cluster.sh --help` explains.
set -euo pipefail

readonly DEFAULT_NODES=6
readonly DATACENTERS=3
readonly DEFAULT_BASE_ADDRESS=127.0.0.10
readonly DEFAULT_HTTP_PORT=8888
readonly DEFAULT_GOSSIP_PORT=7946
readonly DEFAULT_LB_PORT=8080
# Debug builds on a busy machine take a while to find each other and reconcile every partition.
readonly DEFAULT_READY_TIMEOUT_SECONDS=120
# A node drains in-flight requests for up to http.shutdown_grace_ms (10 s) and gossips its leave
# for up to 3 s; past this it is killed.
readonly STOP_TIMEOUT_SECONDS=30
# HAProxy starts in well under a second; then the first health checks (rise 2, 1 s apart at
# most) must pass before it forwards anything.
readonly LB_READY_TIMEOUT_SECONDS=30

program=$(basename "$0")
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
cluster_dir=${ESPY_CLUSTER_DIR:-./local-cluster}

usage() {
    cat <<EOF
Usage: $program start [N]     start nodes 1..N (default $DEFAULT_NODES) that are not running, wait until all are ready
       $program haproxy [N]   start HAProxy in front of nodes 1..N (default: up to the highest running node),
                              or reload it with a configuration for them if it runs; wait until it answers
       $program haproxy stop  stop HAProxy only
       $program stop          stop HAProxy, SIGINT every node (stop, keeping its data), wait for each to exit
       $program status        which nodes run and whether they are ready, HAProxy, \`espymetrics members\` from one
       $program --help

Node i (n1, n2, ...) runs in datacenter dc((i-1)%$DATACENTERS+1) on the base address plus i in its
last byte (127.0.0.(10+i) by default): HTTP on port $DEFAULT_HTTP_PORT, gossip (UDP and TCP) on port
$DEFAULT_GOSSIP_PORT, unless set otherwise (below). Every node is given all the others as join seeds,
so any of them finds the cluster, in whatever order they start or restart. Each node keeps its
shard, log and pid file in \$ESPY_CLUSTER_DIR/nI (default ./local-cluster/nI):

  nI/data/      the node's data directory (shard.sqlite)
  nI/node.log   standard output and error (one line per request, membership events)
  nI/node.pid   the process id, while it runs

The addresses and ports a cluster was started with are kept in \$ESPY_CLUSTER_DIR/cluster.settings;
later commands use them unless the environment names others, which start and status refuse
while nodes run.

start returns once every node of 1..N lists N alive members and answers GET /v1/ready with 200
(GET /v1/health on nodes without /v1/ready), or fails after ESPY_CLUSTER_READY_TIMEOUT seconds
saying what each node lacks. On a running cluster, start with a larger N adds the missing nodes
and leaves the running ones alone (a smaller N is refused: take nodes out with
\`espymetrics leave --http ADDRESS:PORT\`, which hands their data off, or stop everything).
Data directories left by an earlier run are reused: nodes come back to their data. A record
lives on the nodes that owned its partition when it was written, so when N changes, data moves:
new nodes catch up from the others, and nodes no longer started keep their partitions until the
failure timeout (24 h) or \`espymetrics remove\`. To start over, stop and remove \$ESPY_CLUSTER_DIR
(also the way to change the addresses or ports of a cluster: a member cannot come back from
another gossip address).

Environment:
  ESPYMETRICS_BIN             the espymetrics binary; otherwise the first of
                              $repo_root/.build/release/espymetrics (what README builds),
                              $repo_root/.build-release/release/espymetrics (what bench/ builds),
                              espymetrics on PATH, $repo_root/.build/debug/espymetrics
  ESPY_CLUSTER_DIR            where the nodes' directories go (default ./local-cluster)
  ESPYMETRICS_CLUSTER_KEYS    the cluster keyring the nodes sign internal requests with
                              (default: \$ESPY_CLUSTER_DIR/cluster.key, made on first start;
                              set and empty: no key)
  ESPY_CLUSTER_BASE_ADDRESS   IPv4 address of node 0: node i adds i to its last byte (default $DEFAULT_BASE_ADDRESS)
  ESPY_CLUSTER_HTTP_PORT      every node's HTTP port (default $DEFAULT_HTTP_PORT)
  ESPY_CLUSTER_GOSSIP_PORT    every node's gossip port, UDP and TCP (default $DEFAULT_GOSSIP_PORT)
  ESPY_CLUSTER_READY_TIMEOUT  seconds start waits for every node to be ready (default $DEFAULT_READY_TIMEOUT_SECONDS)
  ESPY_CLUSTER_LB_PORT        HAProxy's port on the base address (default $DEFAULT_LB_PORT)
  ESPY_NODE_CONFIG            a cluster.toml every node also reads (the flags above still win)

Linux routes all of 127.0.0.0/8 to the loopback interface, so no setup is needed. On macOS add
the addresses first: sudo ifconfig lo0 alias 127.0.0.11 up (and so on for each node).

HAProxy (Debian: apt-get install haproxy) listens on the base address itself, port
$DEFAULT_LB_PORT (127.0.0.10:$DEFAULT_LB_PORT by default), and sends each request to a node that answers
GET /v1/ready with 200, retrying on another node a request whose node refused the connection,
closed it without answering, timed out or answered 503 (docs/operations.md, "Behind a load
balancer"). Its configuration is written from $script_dir/haproxy.cfg
for the cluster's addresses, ports and nodes:

  haproxy.cfg   what HAProxy runs (rewritten by \`haproxy\`, and by \`start\` when the nodes change)
  haproxy.log   HAProxy's messages and one line per request
  haproxy.pid   its master process id, while it runs
  haproxy.sock  its runtime API: echo 'show stat' | socat stdio unix:\$ESPY_CLUSTER_DIR/haproxy.sock

haproxy returns once a request through HAProxy (GET /v1/ready) is answered 200, or fails after
$LB_READY_TIMEOUT_SECONDS s. While HAProxy runs, start reloads it when the nodes it should list change
(\`start 7\` adds n7 to it); a reload keeps the connections it has.

Examples:
  $program start && curl -s 127.0.0.12:$DEFAULT_HTTP_PORT/v1/count
  $program start 7                      # one more node, in dc1
  $program haproxy && curl -s '127.0.0.10:$DEFAULT_LB_PORT/v1/count?group_by=uname.system'
  ESPY_CLUSTER_DIR=/tmp/espy ESPY_CLUSTER_BASE_ADDRESS=127.0.1.0 ESPY_CLUSTER_HTTP_PORT=9888 $program start 9
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

# "1 node", "2 nodes".
plural() {
    if (($1 == 1)); then printf '1 %s' "$2"; else printf '%d %ss' "$1" "$2"; fi
}

# The binary to run, checked to be one with cluster support (the `members` command); a stale
# build found by the automatic search is skipped with a warning. README's release build comes
# first: a debug build left from development is slower and may be older.
find_binary() {
    local candidate
    if [[ -n ${ESPYMETRICS_BIN:-} ]]; then
        [[ -x $ESPYMETRICS_BIN ]] || fail "ESPYMETRICS_BIN=$ESPYMETRICS_BIN is not an executable file"
        supports_cluster "$ESPYMETRICS_BIN" \
            || fail "ESPYMETRICS_BIN=$ESPYMETRICS_BIN has no 'members' command: it predates the cluster; rebuild it"
        printf '%s\n' "$ESPYMETRICS_BIN"
        return
    fi
    for candidate in "$repo_root/.build/release/espymetrics" "$repo_root/.build-release/release/espymetrics" \
        "$(command -v espymetrics || true)" "$repo_root/.build/debug/espymetrics"; do
        [[ -n $candidate && -x $candidate ]] || continue
        if supports_cluster "$candidate"; then
            printf '%s\n' "$candidate"
            return
        fi
        printf "%s: skipping %s: it has no 'members' command (built before the cluster); rebuild it\n" \
            "$program" "$candidate" >&2
    done
    fail "no espymetrics binary found: set ESPYMETRICS_BIN, or build one (swift build -c release --static-swift-stdlib)"
}

supports_cluster() {
    "$1" --help 2>/dev/null | grep -qE '^[[:space:]]+members[[:space:]]'
}

# "0.1.0", or "unknown" for builds from before --version.
binary_version() {
    "$1" --version 2>/dev/null | head -n 1 || true
}

# Absolute, so the paths in pid files, process arguments and messages do not depend on the
# directory the script is run from.
absolute_cluster_dir() {
    mkdir -p "$cluster_dir"
    cluster_dir=$(cd "$cluster_dir" && pwd)
}

# MARK: Addresses and ports

base_address=""
http_port=""
gossip_port=""
settings_file() { printf '%s/cluster.settings' "$cluster_dir"; }

# The value of `key` in the settings file, if it has one.
saved_setting() {
    local file
    file=$(settings_file)
    [[ -r $file ]] || return 0
    sed -n "s/^$1=//p" "$file" | head -n 1
}

# The addresses and ports to use: the environment's, else the ones saved by the last start,
# else the defaults. `strict` (start with nodes running) refuses an environment that disagrees
# with the running nodes' settings instead of quietly using other addresses.
resolve_settings() {
    local strict=${1:-} key variable default saved value
    for key in base_address http_port gossip_port; do
        case $key in
        base_address) variable=ESPY_CLUSTER_BASE_ADDRESS default=$DEFAULT_BASE_ADDRESS ;;
        http_port) variable=ESPY_CLUSTER_HTTP_PORT default=$DEFAULT_HTTP_PORT ;;
        gossip_port) variable=ESPY_CLUSTER_GOSSIP_PORT default=$DEFAULT_GOSSIP_PORT ;;
        esac
        saved=$(saved_setting "$key")
        value=${!variable:-${saved:-$default}}
        if [[ -n $strict && -n $saved && $value != "$saved" ]]; then
            fail "$variable=$value, but the running nodes of $cluster_dir use $saved; stop them first ('$program stop')"
        fi
        printf -v "$key" '%s' "$value"
    done
    [[ $base_address =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] \
        || fail "ESPY_CLUSTER_BASE_ADDRESS must be an IPv4 address such as $DEFAULT_BASE_ADDRESS, got '$base_address'"
    local part
    for part in "${BASH_REMATCH[@]:1}"; do
        ((10#$part <= 255)) || fail "ESPY_CLUSTER_BASE_ADDRESS must be an IPv4 address, got '$base_address'"
    done
    check_port ESPY_CLUSTER_HTTP_PORT "$http_port"
    check_port ESPY_CLUSTER_GOSSIP_PORT "$gossip_port"
    ((10#$http_port != 10#$gossip_port)) || fail "the HTTP and gossip ports must differ (both are $http_port)"
}

check_port() {
    [[ $2 =~ ^[0-9]{1,5}$ ]] && ((10#$2 >= 1 && 10#$2 <= 65535)) || fail "$1 must be a port from 1 to 65535, got '$2'"
}

# Keeps the other keys (HAProxy's port), which outlive the nodes.
save_settings() {
    local file kept=""
    file=$(settings_file)
    [[ -r $file ]] && kept=$(grep -vE '^(base_address|http_port|gossip_port)=' "$file" || true)
    {
        printf 'base_address=%s\nhttp_port=%s\ngossip_port=%s\n' "$base_address" "$http_port" "$gossip_port"
        [[ -z $kept ]] || printf '%s\n' "$kept"
    } >"$file"
}

# Sets one key of the settings file, keeping the others.
save_setting() {
    local file
    file=$(settings_file)
    {
        [[ -r $file ]] && grep -v "^$1=" "$file" || true
        printf '%s=%s\n' "$1" "$2"
    } >"$file.new"
    mv "$file.new" "$file"
}

# Node i's address: the base address with i added to its last byte.
node_ip() { printf '%s.%d' "${base_address%.*}" $((10#${base_address##*.} + $1)); }
max_nodes() { printf '%d' $((254 - 10#${base_address##*.})); }
node_http() { printf '%s:%d' "$(node_ip "$1")" "$http_port"; }
node_gossip() { printf '%s:%d' "$(node_ip "$1")" "$gossip_port"; }
node_datacenter() { printf 'dc%d' $((($1 - 1) % DATACENTERS + 1)); }
node_dir() { printf '%s/n%d' "$cluster_dir" "$1"; }

# MARK: Processes

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

# MARK: Asking nodes

http_status=""
http_body=""

# GET http://ADDRESS:PORT/PATH into http_status and http_body; status 000 when nothing answered
# within 5 s. curl when there is one; bash's /dev/tcp otherwise.
http_get() {
    local address=$1 path=$2 response
    http_status=000
    http_body=""
    if command -v curl >/dev/null 2>&1; then
        response=$(curl -s -m 5 -w '\n%{http_code}' "http://$address$path" 2>/dev/null) || true
        http_status=${response##*$'\n'}
        [[ $http_status =~ ^[0-9]{3}$ ]] || http_status=000
        http_body=${response%$'\n'*}
        [[ $response == *$'\n'* ]] || http_body=""
        return 0
    fi
    local line
    # In braces, so that silencing a refused connection's message does not silence the script.
    { exec 3<>"/dev/tcp/${address%:*}/${address##*:}"; } 2>/dev/null || return 0
    printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$address" >&3
    if IFS= read -r -t 5 line <&3 && [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]]; then
        http_status=${BASH_REMATCH[1]}
        while IFS= read -r -t 5 line <&3 && [[ $line != $'\r' && -n $line ]]; do :; done
        while IFS= read -r -t 5 line <&3; do http_body+=$line$'\n'; done
        http_body+=$line
    fi
    exec 3<&-
}

# How many members node i lists as alive; empty if it did not answer.
alive_seen_by() {
    http_get "$(node_http "$1")" /v1/cluster/members
    [[ $http_status == 200 ]] || return 0
    { grep -o '"status":"alive"' <<<"$http_body" || true; } | wc -l | tr -d ' '
}

# Whether node i is ready for reads: GET /v1/ready answers 200. A build without /v1/ready (404)
# is ready once /v1/health answers 200. Otherwise prints why not, in a few words.
ready_state() {
    http_get "$(node_http "$1")" /v1/ready
    if [[ $http_status == 404 ]]; then
        http_get "$(node_http "$1")" /v1/health
    fi
    case $http_status in
    200) printf 'ready' ;;
    000) printf 'no answer (HTTP not up)' ;;
    *) printf 'not ready (%s %s)' "$http_status" "$(tr -d '\n' <<<"$http_body" | cut -c1-160)" ;;
    esac
}

# MARK: HAProxy

lb_port=""
haproxy_binary=""
haproxy_config() { printf '%s/haproxy.cfg' "$cluster_dir"; }
haproxy_pid_file() { printf '%s/haproxy.pid' "$cluster_dir"; }
haproxy_log() { printf '%s/haproxy.log' "$cluster_dir"; }
haproxy_socket() { printf '%s/haproxy.sock' "$cluster_dir"; }
# HAProxy listens on node 0's address, which no node uses.
lb_http() { printf '%s:%d' "$(node_ip 0)" "$lb_port"; }

# Debian installs haproxy in /usr/sbin, which is not on a normal user's PATH.
find_haproxy() {
    local candidate
    for candidate in "$(command -v haproxy || true)" /usr/sbin/haproxy /usr/local/sbin/haproxy; do
        if [[ -n $candidate && -x $candidate ]]; then
            printf '%s\n' "$candidate"
            return
        fi
    done
    fail "haproxy is not installed (Debian: apt-get install haproxy); only '$program haproxy' needs it"
}

# "2.6.12-1+deb12u4".
haproxy_version() {
    "$haproxy_binary" -v 2>/dev/null | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p' | head -n 1
}

# HAProxy's port: the environment's, else the one it was last started with, else the default. A
# running HAProxy (its pid given) keeps its port: another one in the environment is refused.
resolve_lb_port() {
    local running=${1:-} saved
    saved=$(saved_setting lb_port)
    lb_port=${ESPY_CLUSTER_LB_PORT:-${saved:-$DEFAULT_LB_PORT}}
    check_port ESPY_CLUSTER_LB_PORT "$lb_port"
    lb_port=$((10#$lb_port))
    if [[ -n $running && -n $saved && $lb_port != "$saved" ]]; then
        fail "ESPY_CLUSTER_LB_PORT=$lb_port, but HAProxy of $cluster_dir (pid $running) listens on port $saved;" \
            "stop it first ('$program haproxy stop')"
    fi
}

# HAProxy's master pid if it runs (and really is this cluster's), else nothing; status 1 if not.
running_haproxy_pid() {
    local file pid args
    file=$(haproxy_pid_file)
    [[ -r $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid. A reload re-executes the master with more arguments, -f kept.
    args=$(ps -p "$pid" -o args= 2>/dev/null || true)
    [[ $args == *haproxy*" -f $(haproxy_config)"* ]] || return 1
    printf '%s\n' "$pid"
}

# Writes haproxy.cfg.new for nodes 1..count: deploy/haproxy.cfg with its `bind` address, its
# `server` lines and its ./local-cluster/ paths made this cluster's, and checks it with
# haproxy -c. Comments are copied as they are.
write_haproxy_config() {
    local count=$1 template="$script_dir/haproxy.cfg" new i servers="" status=0 check
    new="$(haproxy_config).new"
    [[ -r $template ]] || fail "$template is missing: HAProxy's configuration is made from it"
    # HAProxy's configuration splits words on white space and expands "$VAR"; it takes socket
    # paths of up to 97 bytes (sun_path's 108, less room for the temporary name it binds first).
    [[ $cluster_dir != *[[:space:]\"\'\\\$#]* ]] \
        || fail "HAProxy cannot be given paths in $cluster_dir: choose an ESPY_CLUSTER_DIR without spaces, quotes, \\, \$ or #"
    local socket
    socket=$(haproxy_socket)
    ((${#socket} <= 97)) \
        || fail "HAProxy takes socket paths of up to 97 bytes, and $socket is longer; choose a shorter ESPY_CLUSTER_DIR"
    for ((i = 1; i <= count; i++)); do
        servers+="    server n$i $(node_http "$i")"$'\n'
    done
    {
        printf '# Written by %s from %s for nodes n1..n%d; rewritten by\n' "$program" "$template" "$count"
        printf '# `%s haproxy` and by `start` while HAProxy runs: edit the template instead.\n\n' "$program"
        LB_BIND=$(lb_http) LB_SERVERS=$servers LB_DIR="$cluster_dir/" awk '
            function replace_all(text, from, to, out, at) {
                out = ""
                while ((at = index(text, from)) > 0) {
                    out = out substr(text, 1, at - 1) to
                    text = substr(text, at + length(from))
                }
                return out text
            }
            /^[ \t]*#/ { print; next }
            /^[ \t]*bind[ \t]/ { binds++; sub(/bind[ \t]+[^ \t]+/, "bind " ENVIRON["LB_BIND"]); print; next }
            /^[ \t]*server[ \t]/ { if (!servers++) printf "%s", ENVIRON["LB_SERVERS"]; next }
            { print replace_all($0, "./local-cluster/", ENVIRON["LB_DIR"]) }
            END { if (binds != 1 || !servers) exit 3 }
        ' "$template"
    } >"$new" || status=$?
    if ((status != 0)); then
        rm -f "$new"
        fail "$template does not have the one 'bind' line and the 'server' lines that are rewritten for the cluster"
    fi
    if ! check=$("$haproxy_binary" -c -f "$new" 2>&1); then
        printf '%s: haproxy -c refuses the configuration made from %s (kept in %s):\n' "$program" "$template" "$new" >&2
        printf '    %s\n' "$check" >&2
        exit 1
    fi
}

# Starts HAProxy with haproxy.cfg.new, in the foreground of its own (master-worker, so that a
# reload keeps the master's pid and the listening socket), as a daemon like the nodes.
start_haproxy() {
    local count=$1 config log
    config=$(haproxy_config)
    log=$(haproxy_log)
    mv "$config.new" "$config"
    save_setting lb_port "$lb_port"
    note "starting HAProxy $(haproxy_version) on http://$(lb_http) in front of n1..n$count"
    printf '\n=== %s: %s -W -db -f %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$haproxy_binary" "$config" >>"$log"
    trap 'stop_haproxy >&2 || true; exit 1' INT TERM
    (
        for fd in /dev/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec nohup "$haproxy_binary" -W -db -f "$config" </dev/null >>"$log" 2>&1
    ) &
    printf '%d\n' "$!" >"$(haproxy_pid_file)"
    wait_until_lb_answers started
    trap - INT TERM
}

# Reloads a running HAProxy with haproxy.cfg.new if it differs from what it runs: SIGUSR2 to the
# master, which starts new workers on the same listening socket and lets the old ones finish
# their requests. A reload forgets which nodes were down (they are checked again within a
# second; retries cover the meantime), so an unchanged configuration is not reloaded.
reload_haproxy() {
    local pid=$1 count=$2 config log before deadline
    config=$(haproxy_config)
    log=$(haproxy_log)
    if cmp -s "$config.new" "$config"; then
        rm -f "$config.new"
        note "HAProxy (pid $pid) already runs on http://$(lb_http) in front of n1..n$count"
    else
        mv "$config.new" "$config"
        # The master says how the reload went in its log, after what is there now.
        before=$(wc -l <"$log")
        note "reloading HAProxy (pid $pid) on http://$(lb_http): now in front of n1..n$count"
        kill -USR2 "$pid"
        deadline=$((SECONDS + 10))
        while ! logged_since "$before" 'Loading success'; do
            if logged_since "$before" 'Loading failure' || ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
                printf '%s: HAProxy (pid %s) did not load the new configuration; the end of %s:\n' "$program" "$pid" "$log" >&2
                tail -n 5 "$log" | sed 's/^/    /' >&2
                exit 1
            fi
            sleep 0.1
        done
    fi
    wait_until_lb_answers
}

# Whether HAProxy's log has `text` after its first `lines` lines. (Not grep -q: with pipefail, tail
# killed by the pipe grep closed early would fail the test.)
logged_since() {
    tail -n "+$(($1 + 1))" "$(haproxy_log)" | grep -F -- "$2" >/dev/null
}

# Polls GET /v1/ready through HAProxy until a node answers it with 200; on HAProxy exiting or
# the timeout, explains and fails, stopping HAProxy if this command `started` it.
wait_until_lb_answers() {
    local started=${1:-} deadline=$((SECONDS + LB_READY_TIMEOUT_SECONDS)) log
    log=$(haproxy_log)
    while true; do
        if ! running_haproxy_pid >/dev/null; then
            printf '%s: HAProxy exited; the end of %s:\n' "$program" "$log" >&2
            tail -n 5 "$log" | sed 's/^/    /' >&2
            rm -f "$(haproxy_pid_file)"
            exit 1
        fi
        http_get "$(lb_http)" /v1/ready
        [[ $http_status == 200 ]] && break
        if ((SECONDS >= deadline)); then
            printf '%s: no node answered GET /v1/ready with 200 through HAProxy on %s within %d s (last answer: %s %s); see %s\n' \
                "$program" "$(lb_http)" "$LB_READY_TIMEOUT_SECONDS" "$http_status" "$(tr -d '\n' <<<"$http_body" | cut -c1-160)" \
                "$log" >&2
            [[ -z $started ]] || stop_haproxy >&2 || true
            exit 1
        fi
        sleep 0.25
    done
    local node=""
    [[ $http_body =~ \"node\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]] && node=${BASH_REMATCH[1]}
    note "HAProxy answers on http://$(lb_http) (GET /v1/ready went to ${node:-a node}); logs: $log"
}

# SIGUSR1 to HAProxy's master: it stops listening, lets the requests in flight finish and exits;
# SIGTERM, then SIGKILL, past the timeout. Status 1 if it had to be forced.
stop_haproxy() {
    local pid deadline
    if ! pid=$(running_haproxy_pid); then
        rm -f "$(haproxy_pid_file)"
        return 0
    fi
    kill -USR1 "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT_SECONDS))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    rm -f "$(haproxy_pid_file)"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
        note "HAProxy (pid $pid): still running after ${STOP_TIMEOUT_SECONDS} s; killed (see $(haproxy_log))"
        return 1
    fi
    note "HAProxy (pid $pid): stopped"
}

# Each server's state as HAProxy sees it ("n1 UP L7OK 200", "n2 DOWN L7STS 503"), through its
# runtime API, which takes socat (bash cannot open a UNIX socket).
haproxy_server_states() {
    if ! command -v socat >/dev/null 2>&1; then
        note "  (install socat to see each node's state as HAProxy sees it)"
        return 0
    fi
    printf 'show stat\n' | socat -t 2 stdio "unix-connect:$(haproxy_socket)" 2>/dev/null | awk -F, '
        NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) column[$i] = i; next }
        $column["pxname"] == "espymetrics_nodes" && $column["svname"] != "BACKEND" {
            printf "  %-5s %s %s\n", $column["svname"], $column["status"], $column["check_status"] " " $column["check_code"]
        }'
}

# MARK: Commands

start_cluster() {
    local count=${1:-$DEFAULT_NODES} i pid
    binary=$(find_binary)
    absolute_cluster_dir
    local -a running=()
    for i in $(nodes_with_pid_files); do
        if running_pid "$i" >/dev/null; then
            running+=("$i")
        else
            rm -f "$(node_dir "$i")/node.pid"
        fi
    done
    # While nodes run, their addresses are the cluster's: a different environment is refused.
    if ((${#running[@]} > 0)); then resolve_settings strict; else resolve_settings; fi
    if ! [[ $count =~ ^[0-9]{1,3}$ ]] || ((10#$count < 1 || 10#$count > $(max_nodes))); then
        fail "the node count must be a whole number from 1 to $(max_nodes) (the base address $base_address leaves room for that many), got '$count'"
    fi
    count=$((10#$count))
    for i in "${running[@]}"; do
        ((i <= count)) || fail "n$i is running, so the cluster has more than $count nodes; start only adds nodes" \
            "(take n$i out with 'espymetrics leave --http $(node_http "$i")', or '$program stop' everything)"
    done
    ((${#running[@]} > 0)) || save_settings

    local -a missing=()
    for ((i = 1; i <= count; i++)); do
        running_pid "$i" >/dev/null || missing+=("$i")
    done
    if ((${#missing[@]} == 0)); then
        note "all $count nodes already run; checking that they are ready"
    elif ((${#running[@]} > 0)); then
        note "adding $(plural ${#missing[@]} node) to the ${#running[@]} running, with $binary ($(binary_version "$binary"))"
    else
        note "starting $(plural "$count" node) with $binary ($(binary_version "$binary"))"
    fi
    # Interrupted while starting: stop what was started rather than leave it behind.
    trap abort_start INT TERM
    started=()
    for i in "${missing[@]}"; do start_node "$i" "$count"; done

    wait_until_ready "$count"
    trap - INT TERM
    # HAProxy in front of this cluster lists the nodes of the last start: n7 joins it after `start 7`.
    local lb_pid
    if lb_pid=$(running_haproxy_pid); then
        haproxy_binary=$(find_haproxy)
        resolve_lb_port "$lb_pid"
        write_haproxy_config "$count"
        reload_haproxy "$lb_pid" "$count"
    fi

    note ""
    printf '%-5s %-4s %-8s %-28s %-21s %s\n' node dc pid http gossip directory
    for ((i = 1; i <= count; i++)); do
        printf '%-5s %-4s %-8s %-28s %-21s %s\n' "n$i" "$(node_datacenter "$i")" "$(running_pid "$i" || printf '-')" \
            "http://$(node_http "$i")" "$(node_gossip "$i")" "$(node_dir "$i")"
    done
    note ""
    note "every node sees $count alive members and is ready. Try:"
    note "  curl -s http://$(node_http 1)/v1/cluster/partitions"
    note "  curl -s 'http://$(node_http "$count")/v1/count?group_by=python.version_info.0'"
    note "  $program status"
    note "  $program stop"
}

# The cluster key the nodes sign their requests to each other with: ESPYMETRICS_CLUSTER_KEYS if
# set (set and empty: no key, unsigned), else the cluster directory's own, made on first use
# and readable by its owner only.
cluster_keys() {
    if [[ -n ${ESPYMETRICS_CLUSTER_KEYS+set} ]]; then
        printf '%s' "$ESPYMETRICS_CLUSTER_KEYS"
        return
    fi
    local file="$cluster_dir/cluster.key"
    if [[ ! -s $file ]]; then
        (umask 077 && "$binary" keygen >"$file") || fail "could not make a cluster key in $file"
    fi
    cat "$file"
}

# Starts node i of a cluster of `count`, with every other node of it as a seed: whichever of them
# runs lets it (re)join, so no node is ever started believing it is alone.
start_node() {
    local i=$1 count=$2 dir j
    dir=$(node_dir "$i")
    mkdir -p "$dir/data"
    local arguments=(serve --name "n$i" --datacenter "$(node_datacenter "$i")" --http "$(node_http "$i")"
        --gossip "$(node_gossip "$i")" --data-dir "$dir/data")
    for ((j = 1; j <= count; j++)); do
        ((j == i)) || arguments+=(--join "$(node_gossip "$j")")
    done
    [[ -n ${ESPY_NODE_CONFIG:-} ]] && arguments+=(--config "$ESPY_NODE_CONFIG")
    local keys
    keys=$(cluster_keys)
    printf '\n=== %s: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$binary" "${arguments[*]}" >>"$dir/node.log"
    # The node is a daemon: nohup, so it outlives the terminal this was started from, and no
    # descriptor of the caller's but the three redirected ones, or a caller waiting for a pipe
    # or socket it passed this script to close would wait as long as the node runs.
    (
        for fd in /dev/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        ESPYMETRICS_CLUSTER_KEYS=$keys exec nohup "$binary" "${arguments[@]}" </dev/null >>"$dir/node.log" 2>&1
    ) &
    printf '%d\n' "$!" >"$dir/node.pid"
    started+=("$i")
}

# Polls every node until each lists `count` alive members and is ready for reads; on a node
# exiting or the timeout, explains, stops what this command started and fails.
wait_until_ready() {
    local count=$1 i seen state all_ready timeout
    timeout=${ESPY_CLUSTER_READY_TIMEOUT:-$DEFAULT_READY_TIMEOUT_SECONDS}
    [[ $timeout =~ ^[0-9]+$ ]] || fail "ESPY_CLUSTER_READY_TIMEOUT must be a whole number of seconds, got '$timeout'"
    local deadline=$((SECONDS + 10#$timeout))
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
            if [[ ${seen:-0} -ne $count ]]; then
                all_ready=0
                report+=("n$i sees ${seen:-no answer (HTTP not up)}${seen:+ of $count alive}")
                continue
            fi
            state=$(ready_state "$i")
            [[ $state == ready ]] || all_ready=0
            report+=("n$i sees $count of $count alive, $state")
        done
        ((all_ready)) && return 0
        if ((SECONDS >= deadline)); then
            printf '%s: the nodes were not all ready with %d alive members within %d s:\n' "$program" "$count" "$timeout" >&2
            printf '    %s\n' "${report[@]}" >&2
            printf '%s: logs: %s/n*/node.log\n' "$program" "$cluster_dir" >&2
            abort_start
        fi
        sleep 0.5
    done
}

abort_start() {
    if ((${#started[@]} > 0)); then
        printf '%s: stopping the nodes this command started\n' "$program" >&2
        stop_nodes "${started[@]}" >&2 || true
    fi
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
    local status=0
    # HAProxy first, so that no request is sent to the nodes as they stop.
    if running_haproxy_pid >/dev/null; then
        note "stopping HAProxy (the requests it is forwarding finish first)"
        stop_haproxy || status=1
    fi
    rm -f "$(haproxy_pid_file)"
    local -a nodes
    mapfile -t nodes < <(nodes_with_pid_files)
    if ((${#nodes[@]} == 0)); then
        note "no node of $cluster_dir is running"
        return "$status"
    fi
    note "stopping $(plural ${#nodes[@]} node) (SIGINT: each stops and keeps its data)"
    stop_nodes "${nodes[@]}" || status=1
    return "$status"
}

# `haproxy [N]`: HAProxy in front of nodes 1..N of the running cluster, started or reloaded.
haproxy_command() {
    local count=${1:-} i
    [[ -d $cluster_dir ]] || fail "no local cluster in $cluster_dir (start one with '$program start')"
    absolute_cluster_dir
    haproxy_binary=$(find_haproxy)
    local -a running=()
    for i in $(nodes_with_pid_files); do
        if running_pid "$i" >/dev/null; then running+=("$i"); fi
    done
    ((${#running[@]} > 0)) || fail "no node of $cluster_dir is running (start them with '$program start')"
    resolve_settings strict
    if [[ -z $count ]]; then
        count=${running[-1]}
    elif ! [[ $count =~ ^[0-9]{1,3}$ ]] || ((10#$count < 1 || 10#$count > $(max_nodes))); then
        fail "the node count must be a whole number from 1 to $(max_nodes), got '$count'"
    fi
    count=$((10#$count))
    local pid=""
    pid=$(running_haproxy_pid) || pid=""
    resolve_lb_port "$pid"
    write_haproxy_config "$count"
    if [[ -n $pid ]]; then
        reload_haproxy "$pid" "$count"
    else
        start_haproxy "$count"
    fi
}

haproxy_stop_command() {
    [[ -d $cluster_dir ]] || fail "no local cluster in $cluster_dir"
    absolute_cluster_dir
    if running_haproxy_pid >/dev/null; then
        stop_haproxy
    else
        rm -f "$(haproxy_pid_file)"
        note "HAProxy of $cluster_dir is not running"
    fi
}

status_cluster() {
    [[ -d $cluster_dir ]] || fail "no local cluster in $cluster_dir"
    absolute_cluster_dir
    resolve_settings strict
    local -a nodes
    mapfile -t nodes < <(nodes_with_pid_files)
    ((${#nodes[@]} > 0)) || fail "no node of $cluster_dir is running (start one with '$program start')"
    local i pid state asked=""
    printf '%-5s %-4s %-8s %-28s %s\n' node dc pid http state
    for i in "${nodes[@]}"; do
        if pid=$(running_pid "$i"); then
            [[ -n $asked ]] || asked=$i
            state=$(ready_state "$i")
        else
            pid="stopped"
            state="-"
        fi
        printf '%-5s %-4s %-8s %-28s %s\n' "n$i" "$(node_datacenter "$i")" "$pid" "http://$(node_http "$i")" "$state"
    done
    [[ -n $asked ]] || fail "none of the nodes is running"
    local lb_pid
    if lb_pid=$(running_haproxy_pid); then
        resolve_lb_port "$lb_pid"
        http_get "$(lb_http)" /v1/ready
        note ""
        note "HAProxy (pid $lb_pid) on http://$(lb_http): GET /v1/ready through it: $http_status $(tr -d '\n' <<<"$http_body" | cut -c1-120)"
        haproxy_server_states
    fi
    note ""
    note "members as n$asked sees them:"
    binary=$(find_binary)
    "$binary" members --http "$(node_http "$asked")"
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
    haproxy)
        (($# <= 2)) || fail "haproxy takes at most one argument, the node count or stop; see --help"
        if [[ ${2:-} == stop ]]; then haproxy_stop_command; else haproxy_command "${2:-}"; fi
        ;;
    -h | --help | help)
        usage
        ;;
    "")
        usage >&2
        exit 2
        ;;
    *)
        fail "unknown command '$command'; use start, haproxy, stop, status or --help"
        ;;
    esac
}

binary=""
started=()
main "$@"
