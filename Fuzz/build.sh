#!/usr/bin/env bash
# Builds every libFuzzer target of Fuzz/ into .build-fuzz/bin/<fuzzer>.
#
#   Fuzz/build.sh [fuzzer ...]        (default: every Fuzz/*Fuzzer.swift)
#
# swiftc directly, not SwiftPM: only the product modules a fuzzer reaches are compiled (with
# -sanitize=fuzzer,address, so libFuzzer sees their edges and ASan their memory), and no product
# is added to Package.swift, so `swift build --build-tests` does not change. The external
# packages (swift-crypto for record ids and gossip encryption, swift-log for the shard) are
# linked as SwiftPM built them, uninstrumented: from .build/debug when a `swift build` already
# ran there (CI), otherwise built once into .build-fuzz/deps. Modules rebuild only when one of
# their sources, or a module they import, changed.
#
# FUZZ_OPTIMIZATION=-Onone builds faster and fuzzes several times slower (default -O).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/.build-fuzz
optimization=${FUZZ_OPTIMIZATION:--O}
mkdir -p "$out/modules" "$out/obj" "$out/bin"

deps=${FUZZ_DEPS:-}
if [ -z "$deps" ]; then
    if [ -f .build/debug/Modules/Crypto.swiftmodule ] && [ -f .build/debug/Modules/Logging.swiftmodule ]; then
        deps=$root/.build/debug
    else
        deps=$out/deps/debug
        if [ ! -f "$deps/Modules/Crypto.swiftmodule" ] || [ ! -f "$deps/Modules/Logging.swiftmodule" ]; then
            echo "building swift-crypto and swift-log once into .build-fuzz/deps" >&2
            swift build --scratch-path "$out/deps" --target Crypto >&2
            swift build --scratch-path "$out/deps" --target Logging >&2
        fi
    fi
fi
checkouts=$(cd "$deps/.." && pwd)/checkouts  # logical: debug is a symlink beside checkouts
[ -d "$checkouts/swift-crypto" ] || { echo "no swift-crypto checkout beside $deps" >&2; exit 1; }

# Flags every compile shares: where modules are, and the C modules behind them.
common=(-parse-as-library -swift-version 5 "$optimization" -g -sanitize=fuzzer,address
    -I "$out/modules" -I "$deps/Modules" -module-cache-path "$out/module-cache")
for shim in CLibUV CHTTPParser CSQLite; do
    common+=(-Xcc "-fmodule-map-file=$root/Sources/$shim/module.modulemap" -I "$root/Sources/$shim")
done
for boring in CCryptoBoringSSL CCryptoBoringSSLShims; do
    common+=(-Xcc "-fmodule-map-file=$checkouts/swift-crypto/Sources/$boring/include/module.modulemap"
        -Xcc -I -Xcc "$checkouts/swift-crypto/Sources/$boring/include")
done

# Other flags (or another toolchain) invalidate everything built before.
configuration="$(swiftc --version 2>&1 | head -1) ${common[*]}"
if [ "$(cat "$out/configuration" 2>/dev/null)" != "$configuration" ]; then
    rm -f "$out"/obj/*.o "$out"/bin/*
    echo "$configuration" > "$out/configuration"
fi

# module: the product modules it imports (built before it).
declare -A imports=(
    [EspyCore]="" [EspyLoop]="" [EspyGossipWire]=""
    [EspyHTTP]="EspyCore" [EspyCluster]="EspyCore" [EspyStorage]="EspyCore EspyLoop"
    [EspyWire]="EspyCore EspyCluster EspyHTTP"
)

# True when $1 is missing or older than any of the rest.
stale() {
    local target=$1; shift
    [ -e "$target" ] || return 0
    [ -n "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]
}

build_module() {
    local name=$1 sources=("$root/Sources/$1"/*.swift) dependencies=()
    for dependency in ${imports[$name]}; do dependencies+=("$out/modules/$dependency.swiftmodule"); done
    stale "$out/obj/$name.o" "${sources[@]}" "${dependencies[@]}" || return 0
    echo "compiling $name" >&2
    swiftc "${common[@]}" -module-name "$name" -package-name main -wmo -emit-module \
        -emit-module-path "$out/modules/$name.swiftmodule" -c -o "$out/obj/$name.o" "${sources[@]}"
    # swiftc leaves an identical output untouched, which would look stale forever.
    touch "$out/obj/$name.o" "$out/modules/$name.swiftmodule"
}

# One wave per layer, its modules side by side: each WMO compile is a single process.
for wave in "EspyCore EspyLoop EspyGossipWire" "EspyHTTP EspyCluster EspyStorage" "EspyWire"; do
    pids=()
    for name in $wave; do build_module "$name" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid"; done
done

# A fuzzer's own file, plus the few product files it needs that live in modules too heavy to
# build whole (their internal types become reachable this way, without @testable builds).
extra_sources() {
    case $1 in
        HTTPConnectionFuzzer) printf '%s\n' "$root"/Sources/EspyHTTPServer/{HTTPConnectionAction,HTTPConnectionMachine,HTTPConnectionRules,HTTPServerSettings,ResponseQueue}.swift ;;
    esac
}

dependency_objects=$(find "$deps"/{Crypto,CryptoBoringWrapper,CCryptoBoringSSL,CCryptoBoringSSLShims,Logging}.build -name '*.o' | sort)
product_objects=("$out"/obj/*.o)

fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=($(cd Fuzz && ls *Fuzzer.swift | sed 's/\.swift$//'))
link_one() {
    local fuzzer=$1 sources
    mapfile -t sources < <(echo "$root/Fuzz/$fuzzer.swift"; ls "$root"/Fuzz/Support/*.swift; extra_sources "$fuzzer")
    stale "$out/bin/$fuzzer" "${sources[@]}" "${product_objects[@]}" || return 0
    echo "linking $fuzzer" >&2
    # shellcheck disable=SC2086  # one object path per word
    swiftc "${common[@]}" -use-ld=lld -module-name "$fuzzer" -o "$out/bin/$fuzzer" "${sources[@]}" \
        "${product_objects[@]}" $dependency_objects -lstdc++ -luv -lhttp_parser -lsqlite3
}
pids=()
for fuzzer in "${fuzzers[@]}"; do
    link_one "$fuzzer" & pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
