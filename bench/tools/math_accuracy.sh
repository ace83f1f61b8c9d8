#!/usr/bin/env bash
# Offline accuracy runs of the vector math library: builds bench/tools/math_accuracy_main.swift with the
# library's math sources and the test's harness (swiftc -O, one static binary), runs it as J processes
# (default: the number of CPUs), one slice of the work each, and merges their results.
#   bench/tools/math_accuracy.sh exhaustive exp          # all 2^32 f32 arguments
#   bench/tools/math_accuracy.sh exhaustive exp 64       # every 64th bit pattern (a quick look)
#   bench/tools/math_accuracy.sh random64 sin 100000000  # 10^8 random f64 arguments
#   bench/tools/math_accuracy.sh pow64 100000000
#   bench/tools/math_accuracy.sh pow32 100000000
#   bench/tools/math_accuracy.sh annexf
#   J=2 bench/tools/math_accuracy.sh ...                 # fewer processes
# Prints: function, type, max ulps, the number of inputs, the worst case, and the wall time.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/math-accuracy
mkdir -p "$out"
bin="${MATH_ACCURACY_BIN:-$out/math_accuracy}"
# The math library without MathDispatch.swift (it maps the VM's opcodes onto the library, and needs
# the rest of VecVM).
srcs=($(ls Sources/VecVM/Math/*.swift | grep -v /MathDispatch.swift) Tests/VecVMTests/MathAccuracyHarness.swift Tests/VecVMTests/SplitMix.swift bench/tools/math_accuracy_main.swift)
if [ -z "${MATH_ACCURACY_BIN:-}" ] && { [ ! -x "$bin" ] || [ -n "$(find "${srcs[@]}" -newer "$bin")" ]; }; then
    # With FMA and AVX2 where the CPU has them: fma and rounding become instructions instead of libm
    # calls (4 times faster; the results are the same, both being correctly rounded).
    cpu=()
    if grep -q -w fma /proc/cpuinfo && grep -q -w avx2 /proc/cpuinfo; then cpu=(-target-cpu haswell); fi
    swiftc -O -wmo -parse-as-library -static-stdlib "${cpu[@]}" -module-name MathAccuracy "${srcs[@]}" -o "$bin"
fi
if [ "${1:-}" = annexf ]; then exec "$bin" annexf 0 1; fi
jobs="${J:-$(nproc)}"
start=$(date +%s)
tmp=$(mktemp -d)
for ((i = 0; i < jobs; i++)); do "$bin" "$@" "$i" "$jobs" > "$tmp/$i" & done
wait
# The slice with the largest error gives the worst case; the counts add up.
total=$(awk '/^RESULT/ { n += $3 } END { print n }' "$tmp"/*)
worst=$(grep -h '^RESULT' "$tmp"/* | sort -g -k2 | tail -n 1 | cut -d' ' -f4-)
rm -rf "$tmp"
echo "$worst" | sed -E "s/over [0-9]+ inputs/over $total inputs/"
echo "  ($(($(date +%s) - start)) s, $jobs processes)"
