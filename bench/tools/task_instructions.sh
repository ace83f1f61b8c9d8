#!/usr/bin/env bash
# Instructions per task and per channel round trip, counted by callgrind (stable on a noisy shared
# machine, unlike times). Each case runs at two sizes; the difference divided by the size difference
# is the cost of one more task (or round trip), start-up and compilation cancelled out.
#   bench/tools/task_instructions.sh [VECVM]      (default: .build/release/vecvm)
# Cases:
#   trivial  - a task whose body is one buffered send, spawned and finished (the task's life:
#              spawn, TaskState, first switch, exit, teardown; plus one spawn and one recv of main)
#   alive    - bench/vec/spawn.vec with ALIVE = true (the spawn row: 100 interpreted loop iterations,
#              report ready, park on a receive, be released, finish)
#   finish   - bench/vec/spawn.vec with ALIVE = false (the teardown row)
#   pingpong - bench/vec/pingpong.vec, one trial (instructions per round trip)
# valgrind 3.19 cannot read Swift's DWARF 5, so it runs a copy stripped with objcopy --strip-debug;
# async preemption is off (callgrind asserts on the preemption signal) and the quantum is 1 s, since
# under callgrind a 10 ms slice is a few hundred round trips and how many preemptions a run takes
# depends on the machine's load; sysmon and the stack scavenger still run by the clock, so counts
# move by a few percent between runs (ping-pong, with the smallest cost per item, the most: it runs
# 20,000 and 60,000 round trips).
set -euo pipefail
cd "$(dirname "$0")/../.."
exe=${1:-.build/release/vecvm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
objcopy --strip-debug "$exe" "$work/vecvm"
gen() {  # gen CASE N -> program path
    local c=$1 n=$2 f="$work/$1_$2.vec"
    case $c in
    trivial)
        printf 'fn w(done: chan<int>) { send(done, 1) }\nlet N = %s\nlet done = chan<int>(N)\n' "$n" >"$f"
        printf 'for i in 0..N { spawn w(done) }\nvar t = 0\nfor i in 0..N { t += recv(done) }\nprint(t)\n' >>"$f"
        ;;
    alive | finish)
        local a=true
        [ "$c" = finish ] && a=false
        sed -e "s/^let N = [0-9_]*/let N = $n/" -e "s/^let ALIVE = [a-z]*/let ALIVE = $a/" bench/vec/spawn.vec >"$f"
        ;;
    pingpong)
        sed -e "s/^let ROUNDS = [0-9_]*/let ROUNDS = $n/" -e "s/^let TRIALS = [0-9]*/let TRIALS = 1/" \
            bench/vec/pingpong.vec >"$f"
        ;;
    esac
    echo "$f"
}
count() {  # count PROGRAM -> instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$work/vecvm" run --procs 1 --no-async-preempt --quantum 1000ms "$1" \
        2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo "| case | instructions per task (or round trip) | sizes |"
echo "|---|---|---|"
for c in trivial alive finish pingpong; do
    n1=10000
    n2=20000
    if [ $c = pingpong ]; then
        n1=20000
        n2=60000
    fi
    i1=$(count "$(gen $c $n1)")
    i2=$(count "$(gen $c $n2)")
    echo "| $c | $(((i2 - i1) / (n2 - n1))) | $n1, $n2 |"
done
