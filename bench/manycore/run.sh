#!/usr/bin/env bash
# Scaling on a many-core machine (issue 12): the large kernels of kernels.vec and the 16 CPU-bound
# tasks of tasks.vec at --procs 1, 2, 4, 8, 16 (up to the CPUs there are), and a sleep(1) task's
# lateness beside a 16M-element kernel. The digits (`check` lines) must be the same for every
# --procs. Usage: bench/manycore/run.sh [VECVM] (default .build/release/vecvm; a binary built with
# --static-swift-stdlib runs on a machine without Swift).
set -uo pipefail
cd "$(dirname "$0")"
vecvm="${1:-../../.build/release/vecvm}"
cpus=$(nproc)
echo "machine: $cpus CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "avx512: $(grep -o -m1 -w 'avx512f' /proc/cpuinfo || echo no)"
for p in 1 2 4 8 16; do
    [ "$p" -le "$cpus" ] || continue
    echo "== kernels --procs $p"
    "$vecvm" run --procs "$p" kernels.vec | sed "s/^/procs=$p /"
done
for p in 1 16; do
    [ "$p" -le "$cpus" ] || continue
    echo "== tasks --procs $p"
    for k in 1 2 3; do "$vecvm" run --procs "$p" tasks.vec | sed "s/^/procs=$p /"; done
done
