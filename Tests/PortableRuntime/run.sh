#!/usr/bin/env bash
# Builds and runs task_switch.c against CJITStubs' C and assembly: on this machine's architecture,
# with and without VECVM_NO_JIT (futex waits and condition-variable waits), and for arm64 under
# qemu-aarch64 when aarch64-linux-gnu-gcc and qemu-aarch64 are installed (Debian:
# gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=Sources/CJITStubs
out=.build/portable-runtime
mkdir -p "$out"
files=("$src/runtime.c" "$src/preempt.c" "$src/cpu_features.c" "$src/context_switch.S" "$src/async_preempt.S")
status=0
run() {  # name, compiler, runner, defines...
    local name=$1 cc=$2 runner=$3
    shift 3
    if ! "$cc" -O2 -Wall -Werror "$@" -I"$src/include" -I"$src" Tests/PortableRuntime/task_switch.c \
        "${files[@]}" -lpthread -lm ${STATIC:+-static} -o "$out/$name" 2> "$out/$name.log"; then
        echo "FAIL $name: does not build"
        cat "$out/$name.log"
        status=1
        return
    fi
    if $runner "$out/$name" > "$out/$name.out"; then
        echo "ok   $name: $(tr '\n' ';' < "$out/$name.out")"
    else
        echo "FAIL $name"
        cat "$out/$name.out"
        status=1
    fi
}
run host-futex cc ""
run host-condvar cc "" -DVECVM_NO_JIT
if command -v aarch64-linux-gnu-gcc > /dev/null && command -v qemu-aarch64 > /dev/null; then
    STATIC=1 run arm64-futex aarch64-linux-gnu-gcc qemu-aarch64
    STATIC=1 run arm64-condvar aarch64-linux-gnu-gcc qemu-aarch64 -DVECVM_NO_JIT
else
    echo "skip arm64: aarch64-linux-gnu-gcc or qemu-aarch64 is not installed"
fi
exit $status
