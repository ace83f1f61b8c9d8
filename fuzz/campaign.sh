#!/usr/bin/env bash
# Long fuzzing campaigns, at nice 10 (the machine is shared). Each prints what it ran and the CPU
# time it took; findings go to fuzz/findings/ (see fuzz/README.md).
#
#   fuzz/campaign.sh all SECONDS [SEED]          # every campaign below, SECONDS each
#   fuzz/campaign.sh diff SECONDS [SEED]         # difffuzz against the release build, reducing
#   fuzz/campaign.sh diff-debug SECONDS [SEED]   # difffuzz against the debug build (Swift's checks on)
#   fuzz/campaign.sh diff-v1 SECONDS [SEED]      # with LANGUAGE.md v1's additions (once implemented)
#   fuzz/campaign.sh frontend SECONDS            # libFuzzer: the front end
#   fuzz/campaign.sh vm SECONDS                  # libFuzzer: the whole VM under limits
#   fuzz/campaign.sh sandbox SECONDS [SEED]      # vecvm-sandbox over generated and mutated programs
#
# SECONDS is CPU time for the difffuzz campaigns (the runs' own, measured) and wall-clock time for
# the others; each prints the CPU time it used. SEED defaults to one derived from the clock; it is
# printed, so that a campaign can be repeated.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
what="${1:-}"
seconds="${2:-}"
seed="${3:-$(( $(date +%s) % 1000000 * 1000 ))}"
findings="$root/fuzz/findings"
mkdir -p "$findings"
jobs="${FUZZ_JOBS:-2}"

timed() {
    # Runs "$@" at nice 10 and reports its CPU time (children included).
    local name="$1"
    shift
    /usr/bin/time -f "campaign $name: %e s wall, %U s user + %S s system CPU" nice -n 10 "$@"
}

diff_campaign() {
    local config="$1" extra="${2:-}"
    if [ "$config" = release ]; then
        swift build -c release --product vecvm 2>&1 | tail -n 1
        bin=.build/release/vecvm
        timeout=30
    else
        swift build --product vecvm 2>&1 | tail -n 1
        bin=.build/debug/vecvm
        timeout=120
    fi
    echo "== difffuzz ($config$extra), seeds from $seed, $seconds s"
    # shellcheck disable=SC2086
    timed "diff-$config$extra" python3 fuzz/difffuzz.py --vecvm "$bin" --seed "$seed" --cpu "$seconds" \
        --jobs "$jobs" --timeout "$timeout" --reduce --out "$findings/diff-$config" --progress 500 $extra || true
}

sandbox_campaign() {
    swift build -c release --package-path fuzz/targets --product vecvm-sandbox 2>&1 | tail -n 1
    local bin=fuzz/targets/.build/release/vecvm-sandbox
    local dir
    dir="$(mktemp -d)"
    local end=$(( $(date +%s) + seconds ))
    local round=0 s="$seed"
    echo "== vecvm-sandbox, seeds from $seed, $seconds s"
    local started
    started="$(date +%s)"
    while [ "$(date +%s)" -lt "$end" ]; do
        rm -f "$dir"/*.vec
        for i in $(seq 0 49); do python3 fuzz/vecgen.py $((s + i)) > "$dir/g$((s + i)).vec"; done
        extra=""
        if [ $round = 0 ]; then
            extra="programs Tests/FuzzRegressions"
            [ -d ../shared/conformance ] && extra="$extra ../shared/conformance"
        fi
        # shellcheck disable=SC2086
        (cd "$findings" && timed "sandbox-round-$round" "$root/$bin" --mutate 10 --seed "$s" \
            "$dir" $(for e in $extra; do echo "$root/$e"; done)) || echo "sandbox round $round: VIOLATIONS (see above)"
        s=$((s + 50))
        round=$((round + 1))
    done
    rm -rf "$dir"
    echo "sandbox: $round rounds, seeds $seed..$((s - 1)), $(( $(date +%s) - started )) s"
}

case "$what" in
diff) diff_campaign release ;;
diff-debug) diff_campaign debug ;;
diff-v1) diff_campaign release " --v1" ;;
frontend | vm)
    echo "== libFuzzer $what, $seconds s"
    timed "libfuzzer-$what" fuzz/libfuzzer.sh run "$what" "$seconds" || true
    ;;
sandbox) sandbox_campaign ;;
all)
    for c in diff diff-debug frontend vm sandbox; do "$0" "$c" "$seconds" "$seed"; done
    ;;
*)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
    ;;
esac
