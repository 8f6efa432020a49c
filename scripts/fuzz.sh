#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ with the toolchain's own libFuzzer and AddressSanitizer,
# and runs one of them (or all, one after another) for a fixed time.
#
#   scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags...]
#
# Targets: Stack TCPOptions IPv4Header Reassembly ARP ControlRequest (Fuzz/<TARGET>Fuzzer.swift).
# The package's modules are built by SwiftPM with coverage instrumentation and -enable-testing
# (so the targets reach internal state with @testable import) in .build-fuzz-libfuzzer; each
# target is then one swiftc invocation linked against those objects. Seeds come from
# Fuzz/Corpus/TARGET, which runs never write to: new inputs go to the scratch corpus
# .build-fuzz-libfuzzer/corpus/TARGET, crash, leak and timeout inputs to
# .build-fuzz-libfuzzer/artifacts/TARGET/. Exits non-zero when any run found a crash, a leak,
# a timeout or ran out of memory; prints each run's executions, coverage and corpus size.
#
# Environment: FUZZ_BUILD (build folder), FUZZ_FRESH=1 (start from the seeds alone).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(Stack TCPOptions IPv4Header Reassembly ARP ControlRequest)
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET|all SECONDS [libFuzzer flags...]; targets: ${all_targets[*]}" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
if [ "$target" = all ]; then
    targets=("${all_targets[@]}")
elif [ -f "Fuzz/${target}Fuzzer.swift" ]; then
    targets=("$target")
else
    echo "unknown target '$target'; targets: ${all_targets[*]}" >&2
    exit 2
fi

build=${FUZZ_BUILD:-.build-fuzz-libfuzzer}
release=$build/release
mkdir -p "$build/bin" "$build/logs"

# 1. The package's modules, instrumented (TCPIP brings TCPIPCore, TCPIPDrivers and
#    swift-collections along).
echo "== building the instrumented modules in $build"
if ! swift build --scratch-path "$build" -c release --target TCPIP \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing >"$build/logs/build.log" 2>&1; then
    cat "$build/logs/build.log" >&2
    exit 1
fi

# The object files of the library modules (test bundles and executables have their own main).
core_objects=()
runtime_objects=()
for dir in "$release"/*.build; do
    module=$(basename "$dir" .build)
    case "$module" in
    *Tests* | TCPIPTool | ArgumentParser* | generate_* | swift_tcpip*) continue ;;
    TCPIP | TCPIPDrivers | CTunTap) list=runtime_objects ;;
    *) list=core_objects ;;
    esac
    for object in "$dir"/*.o; do
        [ -e "$object" ] && eval "$list+=(\"\$object\")"
    done
done

# 2. One executable per target; rebuilt when a fuzz source or a module object is newer.
for t in "${targets[@]}"; do
    binary=$build/bin/$t
    objects=("${core_objects[@]}")
    [ "$t" = ControlRequest ] && objects+=("${runtime_objects[@]}")
    if [ -x "$binary" ] && [ -z "$(find Fuzz -name '*.swift' -newer "$binary")" ] &&
        [ -z "$(find "${objects[@]}" -newer "$binary")" ]; then
        continue
    fi
    echo "== compiling $t"
    swiftc -O -parse-as-library -sanitize=fuzzer,address -use-ld=lld -module-name "${t}Fuzzer" \
        -I "$release/Modules" -Xcc -fmodule-map-file="$release/CTunTap.build/module.modulemap" \
        "Fuzz/${t}Fuzzer.swift" Fuzz/Support/*.swift "${objects[@]}" -o "$binary"
done

# 3. The runs, one after another. The Swift runtime's backtracer would race AddressSanitizer's
#    report of a trap; libFuzzer's own report is enough.
export SWIFT_BACKTRACE=enable=no
failed=()
summary=()
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t
    artifacts=$build/artifacts/$t
    [ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts" "Fuzz/Corpus/$t"
    log=$build/logs/$t.log
    echo "== fuzzing $t for ${seconds}s (log: $log)"
    dict=()
    [ -f "Fuzz/Dictionaries/$t.dict" ] && dict=(-dict="Fuzz/Dictionaries/$t.dict")
    status=0
    started=$(date +%s)
    "$build/bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$@" \
        "$corpus" "Fuzz/Corpus/$t" >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - started))
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$last")
    grep '^stat::' "$log" | sed "s/^/   $t /" || true
    line="$t: status $status, execs ${execs:-?}, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, ${elapsed}s"
    summary+=("$line")
    if [ "$status" != 0 ]; then
        failed+=("$t")
        echo "!! $t failed (exit $status); inputs in $artifacts/" >&2
        grep -E -A40 'ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|Fatal error|invariant violated|ALARM|out-of-memory' \
            "$log" | head -80 >&2 || tail -40 "$log" >&2
    fi
done

echo "== summary"
printf '   %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]}" >&2
    exit 1
fi
