#!/usr/bin/env bash
# /v1/health with the default configuration (access log on, written to a file) against nginx
# (its default worker count, and one worker like our one loop thread) and against the node with
# access_log = false, interleaved over ROUNDS rounds in one run, so that machine noise hits all
# four alike. Prints each round and the median ratios to nginx.
#
#   bench/health.sh                   # 3 rounds of 10 s each
#   ROUNDS=5 DURATION=5 bench/health.sh
#
# Needs the release build (see bench/run.sh) and wrk, nginx-light from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
NGINX_PORT=18880
NGINX1_PORT=18881
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk nginx-light >/dev/null; break; }
done
require_binary "$BIN"

PIDS=()
NGINX_PREFIX=$OUT/nginx
NGINX1_PREFIX=$OUT/nginx-one-worker
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for prefix in "$NGINX_PREFIX" "$NGINX1_PREFIX"; do
    [ -f "$prefix/nginx.pid" ] && kill "$(cat "$prefix/nginx.pid")" 2>/dev/null || true
  done
}
trap cleanup EXIT

start() { # name port config-file-or-empty
  rm -rf "$OUT/health-$1"
  local config=()
  [ -n "$3" ] && config=(--config "$3")
  "$BIN" serve "${config[@]}" --http "127.0.0.1:$2" --gossip "127.0.0.1:$(($2 + 1000))" --data-dir "$OUT/health-$1" --name "$1" \
    2>"$OUT/health-$1.log" &
  PIDS+=($!)
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$2/v1/health" >/dev/null && return; sleep 0.05; done
  echo "$1 did not start" >&2; exit 1
}
rps() { wrk -t2 -c64 -d"$DURATION" --latency "$1" > "$OUT/health.wrk" 2>&1; awk '/Requests\/sec/ {printf "%.0f", $2}' "$OUT/health.wrk"; }

mkdir -p "$NGINX_PREFIX" "$NGINX1_PREFIX"
sed -e "s|PREFIX|$NGINX_PREFIX|g" -e "s|PORT|$NGINX_PORT|g" bench/nginx.conf > "$NGINX_PREFIX/nginx.conf"
sed -e "s|PREFIX|$NGINX1_PREFIX|g" -e "s|PORT|$NGINX1_PORT|g" -e "s|worker_processes auto|worker_processes 1|" \
  bench/nginx.conf > "$NGINX1_PREFIX/nginx.conf"
nginx -c "$NGINX_PREFIX/nginx.conf" -p "$NGINX_PREFIX"
nginx -c "$NGINX1_PREFIX/nginx.conf" -p "$NGINX1_PREFIX"
printf '[http]\naccess_log = false\n' > "$OUT/health-quiet.toml"
start default 18891 ""
start quiet 18892 "$OUT/health-quiet.toml"

echo "machine: $(nproc) cores; $ROUNDS rounds of ${DURATION}s, 64 connections, wrk -t2"
ratios_default=(); ratios_quiet=(); ratios_one=()
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
for round in $(seq "$ROUNDS"); do
  n=$(rps "http://127.0.0.1:$NGINX_PORT/v1/health")
  d=$(rps "http://127.0.0.1:18891/v1/health")
  n1=$(rps "http://127.0.0.1:$NGINX1_PORT/v1/health")
  q=$(rps "http://127.0.0.1:18892/v1/health")
  rd=$(ratio "$d" "$n"); rq=$(ratio "$q" "$n"); r1=$(ratio "$d" "$n1")
  ratios_default+=("$rd"); ratios_quiet+=("$rq"); ratios_one+=("$r1")
  echo "round $round: nginx $n req/s, nginx one worker $n1, default config $d (${rd}x; ${r1}x one worker), access_log=false $q (${rq}x)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
echo "median ratio to nginx: default config $(median "${ratios_default[@]}")x, access_log=false $(median "${ratios_quiet[@]}")x;" \
  "default config to nginx with one worker $(median "${ratios_one[@]}")x"
kill -INT "${PIDS[0]}"; wait "${PIDS[0]}" || true
echo "access log lines written by the default node: $(grep -c '\[EspyNode\] request' "$OUT/health-default.log")"
