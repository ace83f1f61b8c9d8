#!/usr/bin/env bash
# bench/run.sh: run VecVM's side-by-side benchmarks in one go (builds vecvm in release, installs and builds
# the peers, runs everything interleaved, writes bench/results/latest.md and latest.json).
# Usage: bench/run.sh [--quick] [--only interpreter,kernels,vmath,runtime,preemption,io] [--reps N] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/bench.py "$@"
