#!/usr/bin/env python3
# Task costs of two vecvm binaries (A, B: e.g. before and after a change) beside Go, in one run:
# channel ping-pong on one processor, 100k spawned tasks that park (bench/vec/spawn.vec, ALIVE), and
# 100k that finish at once (the teardown row). Each repetition runs every program once, in an order
# reversed on every other repetition, so that the machine's load drifts hit all three alike; cells are
# medians over repetitions, with the min-max range. Peak RSS comes from wait4(), as in bench.py.
# Needs the Go peers that bench/run.sh builds (bench/out/peers/) and its generated programs
# (bench/out/gen/); run `bench/run.sh --only runtime` once first.
# Before each repetition, bench/tools/line_pingpong.c (built here) times a cache line's round trip
# between the first two CPUs: the host's placement of the vCPUs, which moves the cross-P rows
# (spawn, teardown) of VecVM and Go alike by 2-3x in phases of minutes on a shared machine. The
# repetitions are then also summarized by phase: near (round trip < 150 ns) and far.
#   python3 bench/tools/tasks_ab.py A_VECVM B_VECVM [--reps N]
import argparse
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEN = REPO / "bench/out/gen"
PEERS = REPO / "bench/out/peers"


def run(argv, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    t = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=e, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{argv} failed with status {status}")
    return out, ru.ru_maxrss / 1024, time.monotonic() - t


NEAR_NS = 150


def line_round_trip():
    src = REPO / "bench/tools/line_pingpong.c"
    exe = REPO / "bench/out/tools/line_pingpong"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        exe.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cc", "-O2", "-pthread", str(src), "-o", str(exe)], check=True)
    out, _, _ = run([str(exe)])
    return float(re.search(r"round_trip_ns=([\d.]+)", out).group(1))


def vm_cases(exe):
    def pingpong():
        out, _, _ = run([exe, "run", "--procs", "1", str(GEN / "pingpong__ROUNDS-200000_TRIALS-7.vec")])
        v = sorted(int(m.group(2)) / int(m.group(1)) for m in re.finditer(r"rounds=(\d+) ns=(\d+)", out))
        return {"pingpong ns": v[len(v) // 2]}

    def spawn(alive):
        out, rss, _ = run([exe, "run", str(GEN / f"spawn__ALIVE-{alive}_N-100000.vec")])
        ms = int(re.search(r" ns=(\d+)", out).group(1)) / 1e6
        mode = "alive" if alive else "finish"
        return {f"spawn {mode} ms": ms, f"spawn {mode} KB/task": rss * 1024 / 100_000 * 1024 / 1000}

    return [pingpong, lambda: spawn(True), lambda: spawn(False)]


def go_cases():
    def pingpong():
        out, _, _ = run([str(PEERS / "pingpong")], env={"GOMAXPROCS": "1"})
        return {"pingpong ns": float(re.search(r"median ([\d.]+)", out).group(1))}

    def spawn(mode):
        out, rss, _ = run([str(PEERS / "spawn"), mode])
        return {f"spawn {mode} ms": float(re.search(r"time_ms ([\d.]+)", out).group(1)),
                f"spawn {mode} KB/task": rss * 1024 / 100_000 * 1024 / 1000}

    return [pingpong, lambda: spawn("alive"), lambda: spawn("finish")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    who = {"A": vm_cases(args.a), "B": vm_cases(args.b), "Go": go_cases()}
    res = {w: {} for w in who}
    phase = {w: {} for w in who}  # the line round trip measured before each value's repetition
    jobs = [(w, c) for w in who for c in who[w]]
    load0 = os.getloadavg()[0]
    lines = []
    for rep in range(args.reps):
        line = line_round_trip()
        lines.append(line)
        for w, c in jobs if rep % 2 == 0 else list(reversed(jobs)):
            for k, v in c().items():
                res[w].setdefault(k, []).append(v)
                phase[w].setdefault(k, []).append(line)
    keys = list(res["A"].keys())
    near = sum(1 for x in lines if x < NEAR_NS)
    print(f"{args.reps} repetitions, 1-minute load {load0:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} CPUs); A = {args.a}, B = {args.b}")
    print(f"cache-line round trip between the CPUs before each repetition: "
          f"{', '.join(f'{x:.0f}' for x in lines)} ns ({near} near, {args.reps - near} far)\n")
    print("| measure | A | B | Go | A ÷ B | Go ÷ B |")
    print("|---|---|---|---|---|---|")
    for k in keys:
        med = {w: statistics.median(res[w][k]) for w in who}
        rng = {w: f"{min(res[w][k]):.3g}–{max(res[w][k]):.3g}" for w in who}
        print(f"| {k} | {med['A']:.3g} ({rng['A']}) | {med['B']:.3g} ({rng['B']}) | {med['Go']:.3g} ({rng['Go']}) "
              f"| {med['A'] / med['B']:.2f} | {med['Go'] / med['B']:.2f} |")
    if 0 < near < args.reps:
        print(f"\nBy phase, medians (near: round trip < {NEAR_NS} ns; far: the rest):\n")
        print("| measure | A near | B near | Go near | A far | B far | Go far |")
        print("|---|---|---|---|---|---|---|")
        for k in keys:
            cells = []
            for is_near in (True, False):
                for w in who:
                    vs = [v for v, x in zip(res[w][k], phase[w][k]) if (x < NEAR_NS) == is_near]
                    cells.append(f"{statistics.median(vs):.3g}")
            print(f"| {k} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
