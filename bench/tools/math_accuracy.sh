#!/usr/bin/env bash
# Offline accuracy runs of the vector math library: builds bench/tools/math_accuracy_main.swift with the
# library's math sources and the test's harness (swiftc -O, a few seconds), then runs it.
#   bench/tools/math_accuracy.sh exhaustive exp       # all 2^32 f32 arguments (a few minutes)
#   bench/tools/math_accuracy.sh random64 sin 100000000
#   bench/tools/math_accuracy.sh pow64 100000000
#   bench/tools/math_accuracy.sh annexf
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/math-accuracy
mkdir -p "$out"
bin="$out/math_accuracy"
srcs=(Sources/VecVM/Math/*.swift Tests/VecVMTests/MathAccuracyHarness.swift bench/tools/math_accuracy_main.swift)
if [ ! -x "$bin" ] || [ -n "$(find "${srcs[@]}" -newer "$bin" 2>/dev/null)" ]; then
    swiftc -O -wmo -parse-as-library -module-name MathAccuracy "${srcs[@]}" -o "$bin"
fi
exec "$bin" "$@"
