#!/usr/bin/env python3
"""AVX-512 vs AVX2 kernels vs numpy, one core, side by side in one run, robust to a loaded machine.

usage: python3 bench/tools/isa_compare.py [ROUNDS] [VECVM]   (default 7 rounds, .build-bench/release/vecvm)

Each round runs, in an order reversed every other round: bench/vec/bs.vec and bench/vec/vmath.vec
with `--procs 1` under VECVM_JIT_ISA=avx512 (the default where the CPU has it) and VECVM_JIT_ISA=avx2,
and the numpy peers (../shared/peers/bs.py, bench/peers/np_vmath.py, one thread). A cell is the
BEST over rounds (of each program's own best or per-trial times): on a machine shared with other
work the minimum is the estimate least disturbed by load (bench/run.sh reports medians). Prints a
Markdown report; the checksums of both ISAs must be identical (the kernels give the same bits).
"""
import os, re, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
VECVM = sys.argv[2] if len(sys.argv) > 2 else str(REPO / ".build-bench/release/vecvm")
PEERS = REPO.parent / "shared" / "peers"
NP_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
NP_ENV["OPENBLAS_NUM_THREADS"] = "1"
N, PASSES, TRIALS = 1_000_000, 5, 3


def kv(text, tag):
    return [dict(p.split("=", 1) for p in l.split()[1:] if "=" in p) for l in text.splitlines()
            if l.split()[:1] == [tag]]


def vm(prog, isa):
    env = dict(os.environ, VECVM_JIT_ISA=isa)
    r = subprocess.run([VECVM, "run", "--procs", "1", prog, "--stats"], capture_output=True, text=True,
                       env=env, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"{prog} ({isa}) failed: {r.stderr[-2000:]}")
    m = re.search(r"jit\.isa=(\S+)", r.stderr)
    return r.stdout, (m.group(1) if m else "?")


def main():
    vmath = REPO / "bench/out/isa_vmath.vec"
    vmath.parent.mkdir(parents=True, exist_ok=True)
    src = (REPO / "bench/vec/vmath.vec").read_text()
    for k, v in (("N", N), ("PASSES", PASSES), ("TRIALS", TRIALS)):
        src = re.sub(rf"^let {k} = .*// param$", f"let {k} = {v} // param", src, flags=re.M)
    vmath.write_text(src)
    bs = str(REPO / "bench/vec/bs.vec")
    best = {}     # (case, impl) -> best ns (per option / per pass)
    checks = {}   # (case, impl) -> set of checksums
    isas = {}

    def keep(case, impl, value):
        best[(case, impl)] = min(value, best.get((case, impl), float("inf")))

    def job_vm(isa):
        out, got = vm(bs, isa)
        isas[isa] = got
        row = kv(out, "bench")[0]
        keep("bs", isa, int(row["best_ns"]) / int(row["n"]))
        checks.setdefault(("bs", isa), set()).add(re.search(r"^check (\S+)", out, re.M).group(1))
        out, _ = vm(str(vmath), isa)
        for d in kv(out, "bench"):
            keep(f"{d['fn']}.{d['type']}", isa, int(d["ns"]) / int(d["passes"]))
        for d in kv(out, "check"):
            checks.setdefault((f"{d['fn']}.{d['type']}", isa), set()).add(d["sum"])

    def job_np():
        r = subprocess.run([sys.executable, PEERS / "bs.py"], capture_output=True, text=True, env=NP_ENV)
        keep("bs", "numpy", float(re.search(r"bs_ns_per_option ([0-9.]+)", r.stdout).group(1)))
        r = subprocess.run([sys.executable, REPO / "bench/peers/np_vmath.py", str(N), str(PASSES), str(TRIALS)],
                           capture_output=True, text=True, env=NP_ENV)
        for d in kv(r.stdout, "bench"):
            keep(f"{d['fn']}.{d['type']}", "numpy", int(d["ns"]) / int(d["passes"]))

    jobs = [lambda: job_vm("avx512"), lambda: job_vm("avx2"), job_np]
    for k in range(ROUNDS):
        for j in (jobs if k % 2 == 0 else jobs[::-1]):
            j()
    load = os.getloadavg()[0]
    print(f"# AVX-512 vs AVX2 kernels vs numpy, one core (best of {ROUNDS} rounds)\n")
    print(f"Command: `python3 bench/tools/isa_compare.py {ROUNDS}` (binary {Path(VECVM).relative_to(REPO) if VECVM.startswith(str(REPO)) else VECVM}); "
          f"`--stats` jit.isa: {isas}; 1-minute load average at the end {load:.1f} on {os.cpu_count()} CPUs.\n")
    print("| case | AVX-512 | AVX2 | numpy | AVX2 ÷ AVX-512 (time) | numpy ÷ AVX-512 (time) | numpy ÷ AVX2 (time) |")
    print("|---|---|---|---|---|---|---|")
    cases = ["bs"] + [f"{f}.{t}" for t in ("f32", "float") for f in ("exp", "log", "sin", "tanh")] + ["softmax.f32"]
    for c in cases:
        a5, a2, np_ = (best.get((c, i)) for i in ("avx512", "avx2", "numpy"))
        unit = "ns/option" if c == "bs" else "ms/pass" if c.startswith("softmax") else "GB/s"
        def cell(v):
            if v is None:
                return "—"
            if unit == "GB/s":
                size = 4 if c.endswith("f32") else 8
                return f"{2 * N * size / v:.1f} GB/s"
            return f"{v:.2f} ns/option" if unit == "ns/option" else f"{v / 1e6:.2f} ms"
        r = lambda x, y: f"{x / y:.2f}×" if x and y else "—"
        print(f"| {c} | {cell(a5)} | {cell(a2)} | {cell(np_)} | {r(a2, a5)} | {r(np_, a5)} | {r(np_, a2)} |")
    same = all(checks.get((c, "avx512")) == checks.get((c, "avx2")) for c in cases if (c, "avx512") in checks)
    print(f"\nChecksums identical under both ISAs (bit-identical kernels): {'yes' if same else 'NO'}. "
          "A ratio X ÷ Y is X's time over Y's: above 1.00, Y is faster. GB/s = 2 × N × element size ÷ time "
          "per pass (read x, write z), N = 1,000,000. Goal (issue 10): Black-Scholes ≤ 3.4 ns/option.")


main()
