#!/usr/bin/env python3
# Whose are the sleep(1) wake-up outliers beside a long JIT kernel: ours or the host's?
#
# Runs bench/vec/lateness.vec (SPINNER 2: a task looping z = sqrt(x*x + y*y) over 48M f32 elements,
# `--procs 1`) RUNS times, each sample printed with its start time (the program is rewritten into a
# temporary file for that). While a run goes, every thread's /proc/PID/task/TID/schedstat (CPU time,
# time spent runnable on the host's run queue without running) is polled about every 0.5 ms. For
# each sample later than 1 ms, the run-queue wait of the M (vecvm-m0, which runs the kernel and the
# sleeping task) and of sysmon (which fires the timer and sends the preemption signal) between the
# due wake-up and the actual one says how much of the lateness the host's own scheduler took: a
# thread waiting on the host's run queue is runnable and not running, whatever VecVM does. Host
# steal time (/proc/stat) and load are recorded per run.
#
# Caveat: schedstat is updated at context switches and scheduler ticks (4 ms at HZ=250), so short
# windows read coarse; the poller itself competes for the CPUs, and a window it did not sample on
# both sides is counted as "incomplete", not guessed.
#
#   python3 bench/tools/lateness_host.py [--vecvm PATH] [--runs N] [--json OUT]
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def program() -> str:
    src = (REPO / "bench/vec/lateness.vec").read_text()
    subs = [
        (r"^let SPINNER = \d+", "let SPINNER = 2"),
        (r"^let SAMPLES = \d+", "let SAMPLES = 60"),
        (r"^var lat = fill\(SAMPLES, 0\)", "var lat = fill(SAMPLES, 0)\nvar ts = fill(SAMPLES, 0)"),
        (r"^    lat\[k\] = now\(\) - t0 - 1_000_000", "    lat[k] = now() - t0 - 1_000_000\n    ts[k] = t0"),
        (
            r'print\("sample", "lat_ns=" \+ str\(lat\[k\]\)\)',
            'print("sample", "t0=" + str(ts[k]), "lat_ns=" + str(lat[k]))',
        ),
    ]
    for pat, rep in subs:
        src, n = re.subn(pat, rep, src, flags=re.M)
        if n != 1:
            sys.exit(f"lateness_host.py: bench/vec/lateness.vec changed ({pat!r} not found once)")
    return src


def steal():
    f = open("/proc/stat").readline().split()
    return int(f[8]), sum(int(x) for x in f[1:9])


def read(path):
    try:
        return open(path).read()
    except OSError:
        return None


def one_run(exe, prog):
    st0, tot0 = steal()
    load0 = os.getloadavg()[0]
    p = subprocess.Popen(
        [exe, "run", "--procs", "1", prog], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    series, names = {}, {}
    while p.poll() is None:
        t = time.monotonic_ns()  # the clock of the program's now() (CLOCK_MONOTONIC)
        try:
            tids = os.listdir(f"/proc/{p.pid}/task")
        except OSError:
            break
        for tid in tids:
            s = read(f"/proc/{p.pid}/task/{tid}/schedstat")
            if s is None:
                continue
            a = s.split()
            series.setdefault(tid, []).append((t, int(a[0]), int(a[1])))
            if tid not in names:
                names[tid] = (read(f"/proc/{p.pid}/task/{tid}/comm") or "?").strip()
        time.sleep(0.0005)
    out = p.communicate()[0]
    st1, tot1 = steal()
    samples = [(int(m.group(1)), int(m.group(2))) for m in re.finditer(r"t0=(\d+) lat_ns=(-?\d+)", out)]
    lats = sorted(lat for _, lat in samples)
    watched = [tid for tid, n in names.items() if n.endswith("-m0") or n.endswith("sysmon")]
    late = []
    for t0, lat in samples:
        if lat <= 1_000_000:
            continue
        due, woke = t0 + 1_000_000, t0 + 1_000_000 + lat
        threads = {}
        for tid in watched:
            before = [x for x in series.get(tid, []) if x[0] <= due]
            after = [x for x in series.get(tid, []) if x[0] >= woke]
            if before and after:
                b, a = before[-1], after[0]
                threads[names[tid]] = dict(
                    window_ms=(a[0] - b[0]) / 1e6, runq_wait_ms=(a[2] - b[2]) / 1e6, cpu_ms=(a[1] - b[1]) / 1e6)
        late.append(dict(lat_ms=lat / 1e6, threads=threads))
    q = lambda f: lats[int(f * (len(lats) - 1))] / 1e6 if lats else None
    return dict(
        n=len(lats), median_ms=q(0.5), p99_ms=q(0.99), max_ms=q(1.0),
        steal_pct=100 * (st1 - st0) / max(1, tot1 - tot0), load=(load0, os.getloadavg()[0]), late=late)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vecvm", default=str(REPO / ".build/release/vecvm"))
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--json", help="write every run's data here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        prog = Path(d) / "lateness_host.vec"
        prog.write_text(program())
        runs = []
        for i in range(args.runs):
            r = one_run(args.vecvm, str(prog))
            runs.append(r)
            print(f"run {i}: median {r['median_ms']:.3f} p99 {r['p99_ms']:.3f} max {r['max_ms']:.3f} ms, "
                  f"steal {r['steal_pct']:.2f}%, load {r['load'][0]:.1f}/{r['load'][1]:.1f}, "
                  f"{len(r['late'])} samples > 1 ms", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(runs))
    total = host = unexplained = incomplete = 0
    for r in runs:
        for s in r["late"]:
            total += 1
            th = s["threads"]
            if not any(k.endswith("-m0") for k in th) or not any(k.endswith("sysmon") for k in th):
                incomplete += 1
                continue
            wait = max(v["runq_wait_ms"] for v in th.values())
            if wait >= 0.8 * s["lat_ms"]:
                host += 1
            else:
                unexplained += 1
    maxes = sorted(r["max_ms"] for r in runs)
    print(f"\n{len(runs)} runs; per-run max lateness: median {maxes[len(maxes) // 2]:.3f} ms, "
          f"worst {maxes[-1]:.3f} ms; runs with max <= 1 ms: {sum(m <= 1 for m in maxes)}")
    print(f"samples later than 1 ms: {total}; the M or sysmon waited on the host's run queue for >= 80% "
          f"of the lateness: {host}; less: {unexplained}; windows not sampled on both sides: {incomplete}")
    print(f"host steal per run: at most {max(r['steal_pct'] for r in runs):.2f}%; 1-minute load "
          f"{min(r['load'][0] for r in runs):.1f} to {max(r['load'][1] for r in runs):.1f} "
          f"({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
