#!/usr/bin/env bash
# .ci/watch.sh LIMIT_S LOG CMD [ARGS...]: runs CMD with its output in LOG and returns its status.
# Past LIMIT_S seconds it prints what hung instead of letting CI's own limit end the run silently:
# the tests that started and did not finish (swift-testing's "◇ Test ... started" lines), every
# thread's stack of the test processes (gdb), then kills the command and returns 124.
set -uo pipefail
limit=$1 log=$2
shift 2
# Its own session (setsid does not fork: a background job of a script leads no group), so that
# everything it started can be found and killed.
setsid "$@" > "$log" 2>&1 &
pid=$!
for ((t = 0; t < limit; t++)); do
    if ! kill -0 "$pid" 2> /dev/null; then
        wait "$pid"
        exit $?
    fi
    sleep 1
done
echo "TIMED OUT after $limit s: $*"
echo "-- tests that started and did not finish:"
python3 "$(dirname "$0")/unfinished.py" "$log" | head -n 40
for p in $(pgrep -s "$pid"); do
    case "$(cat "/proc/$p/comm" 2> /dev/null)" in
    *xctest* | *Tests* | *PackageTes* | vecvm)
        echo "-- threads of $p ($(tr '\0' ' ' < "/proc/$p/cmdline" | cut -c 1-160)):"
        if command -v gdb > /dev/null; then
            timeout 300 gdb -p "$p" -batch -ex "set pagination off" -ex "thread apply all bt 24" 2>&1 \
                | grep -E "^Thread |^#" | head -n 600
        else
            echo "(gdb is not installed)"
        fi
        ;;
    esac
done
kill -KILL -- "-$pid" 2> /dev/null
wait "$pid" 2> /dev/null || true
exit 124
