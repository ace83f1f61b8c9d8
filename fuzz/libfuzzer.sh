#!/usr/bin/env bash
# Builds and runs VecVM's libFuzzer targets (fuzz/targets): fuzz-frontend (any bytes → a program or
# a clean diagnostic) and fuzz-vm (programs run under the embedding API's limits), both built with
# Swift's -sanitize=fuzzer,address (`swift build --sanitize fuzzer --sanitize address`: Swift and C
# code both instrumented), in their own scratch folder, never by `swift test`.
#
#   fuzz/libfuzzer.sh build                         # release build of both targets
#   fuzz/libfuzzer.sh run frontend|vm SECONDS [LIBFUZZER FLAGS...]
#   fuzz/libfuzzer.sh repro frontend|vm FILE...      # run inputs once (a crash file, a corpus entry)
#
# Seeds: programs/, ../shared/conformance (and v1/), Tests/FuzzRegressions, the programs inside the
# tests' Swift sources and the docs (fuzz/corpus.py), kept in .build-fuzz/seeds; what libFuzzer
# learns goes to .build-fuzz/corpus-TARGET and survives between runs. Crashes are written to
# fuzz/findings/libfuzzer/ (crash-*, timeout-*, oom-*); reproduce one with `repro`.
#
# Leak detection: fuzz-frontend runs with LeakSanitizer on (compiling must not leak; suppressions,
# each with its reason, go in fuzz/lsan.supp: none today); fuzz-vm with it off, because a task the
# program abandons (the main task ended while it ran) keeps what its stack references by design (VMRuntime/Task.swift:
# "a bounded leak per abandoned task").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scratch="$root/.build-fuzz"
findings="$root/fuzz/findings/libfuzzer"

# Coverage: `-sanitize=fuzzer` links libFuzzer and instruments C code (clang's -fsanitize=fuzzer), but
# swiftc 6.3 adds no coverage instrumentation to Swift code with it (an object compiled with
# `swiftc -sanitize=fuzzer -c` has no __sancov_cntrs section), so without the flag below libFuzzer
# saw only CJITStubs' C code (415 counters): blind to the lexer, parser, checker, compiler and
# interpreter. With it every Swift module is instrumented the way clang's -fsanitize=fuzzer does C:
# edges as inline 8-bit counters with a PC table, and comparisons traced (libFuzzer learns the
# keywords and constants the front end compares against).
coverage=(-Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp)

build() {
    swift build -c release --package-path fuzz/targets --scratch-path "$scratch" \
        --sanitize fuzzer --sanitize address "${coverage[@]}" --product fuzz-frontend 2>&1 |
        grep -E "error|warning: unre|Compiling|Build" | tail -n 3
    swift build -c release --package-path fuzz/targets --scratch-path "$scratch" \
        --sanitize fuzzer --sanitize address "${coverage[@]}" --product fuzz-vm 2>&1 | grep -E "error|Build" | tail -n 2
    # Refuse a build whose Swift code is not instrumented (the fuzzer would run blind).
    local counters
    counters=$(objdump -h "$scratch/release/VecVM.build/Lexer.swift.o" 2>/dev/null | grep -c __sancov_cntrs || true)
    if [ "$counters" = 0 ]; then
        echo "libfuzzer.sh: VecVM's Swift code has no coverage counters (see 'coverage' in this script)" >&2
        exit 1
    fi
}

binary() {
    case "$1" in
    frontend) echo "$scratch/release/fuzz-frontend" ;;
    vm) echo "$scratch/release/fuzz-vm" ;;
    *) echo "unknown target $1 (frontend or vm)" >&2; exit 64 ;;
    esac
}

options() {
    case "$1" in
    frontend) echo "detect_leaks=1:allocator_may_return_null=1" ;;
    vm) echo "detect_leaks=0:allocator_may_return_null=1" ;;
    esac
}

case "${1:-}" in
build)
    build
    ;;
run)
    target="${2:?frontend or vm}"
    seconds="${3:?seconds}"
    shift 3
    bin="$(binary "$target")"
    [ -x "$bin" ] || build
    mkdir -p "$scratch/seeds" "$scratch/corpus-$target" "$findings"
    python3 fuzz/corpus.py "$scratch/seeds" --generated 200 >/dev/null
    # -timeout: an input running longer than this is a hang (the VM's own limit is 1 s of run time).
    # -rss_limit_mb: ASan's shadow and quarantine on top of the VM's 32 MB memory limit.
    LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp" ASAN_OPTIONS="$(options "$target")" "$bin" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=6144 -max_len=8192 \
        -dict=fuzz/vec.dict -artifact_prefix="$findings/$target-" -print_final_stats=1 \
        "$@" "$scratch/corpus-$target" "$scratch/seeds"
    ;;
repro)
    target="${2:?frontend or vm}"
    shift 2
    bin="$(binary "$target")"
    [ -x "$bin" ] || build
    LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp" ASAN_OPTIONS="$(options "$target")" "$bin" -runs=1 "$@"
    ;;
*)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
    ;;
esac
