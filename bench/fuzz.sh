#!/usr/bin/env bash
# Builds the fuzzers of Fuzz/ and runs each for SECONDS (default 60), one after the other, on a
# copy of its seed corpus under bench/out/fuzz/<fuzzer>/ (grown there across runs; the seeds in
# Fuzz/corpus grow only by hand). Prints, per fuzzer: executions, exec/s, coverage (libFuzzer's
# final cov: edges and ft: features), corpus (inputs/bytes libFuzzer keeps) and crashes.
#
#   bench/fuzz.sh [SECONDS] [fuzzer ...]
#   RUNS=10000000 bench/fuzz.sh 1800    # each stops at 10 million executions, or 1800 s at most
#   FUZZ_OUT=bench/out/fuzz2 bench/fuzz.sh 600 RecordBatchFuzzer   # results and corpora elsewhere
#
# A crash, leak, timeout or out-of-memory stops that fuzzer, leaves its reproducer in
# bench/out/fuzz/<fuzzer>/ (replay: .build-fuzz/bin/<fuzzer> <file>; keep it by copying it into
# Fuzz/corpus/<fuzzer>/), and makes the script exit 1 after the others ran.
# One fuzzer process at a time per run (no -jobs/-workers): others benchmark on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
runs=${RUNS:--1}
shift || true
Fuzz/build.sh "$@" 2> >(grep -v "Cannot export local symbol" >&2)

fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=($(cd Fuzz && ls *Fuzzer.swift | sed 's/\.swift$//'))
out=${FUZZ_OUT:-bench/out/fuzz}  # another directory lets a second run go beside this one
mkdir -p "$out"
summary=$out/summary.md
{
    echo "fuzz run $(date -u +%Y-%m-%dT%H:%M:%SZ), $seconds s per fuzzer$([ "$runs" = -1 ] || echo " or $runs executions"), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "| fuzzer | executions | seconds | exec/s | cov | ft | corpus | crashes |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
} > "$summary"

failed=0
for fuzzer in "${fuzzers[@]}"; do
    work=$out/$fuzzer
    mkdir -p "$work/corpus"
    cp -n Fuzz/corpus/"$fuzzer"/* "$work/corpus/" 2>/dev/null || true
    find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -delete
    started=$(date +%s)
    status=0
    # The Swift backtracer would race ASan's report; libFuzzer prints the stack instead.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        .build-fuzz/bin/"$fuzzer" -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" > "$work/log.txt" 2>&1 || status=$?
    elapsed=$(( $(date +%s) - started ))
    stat() { grep -m1 "^stat::$1:" "$work/log.txt" | awk '{print $2}'; }
    final=$(grep -E '^#[0-9]+' "$work/log.txt" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")
    corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$final")  # inputs/bytes kept in memory
    reproducers=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    crashes=none
    if [ "$status" -ne 0 ] || [ -n "$reproducers" ]; then
        failed=1
        crashes="exit $status: ${reproducers:-no reproducer}"
        echo "$fuzzer FAILED (log: $work/log.txt)" >&2
        grep -m3 -E "Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY" "$work/log.txt" >&2 || true
    fi
    echo "| $fuzzer | $(stat number_of_executed_units) | $elapsed | $(stat average_exec_per_sec) | ${cov:-?} | ${ft:-?} | ${corpus:-?} | $crashes |" >> "$summary"
done
cat "$summary"
exit "$failed"
