#!/usr/bin/env python3
# bench/bench.py: VecVM's side-by-side benchmark driver. Builds vecvm in release, builds/installs the
# peers (Lua 5.4, LuaJIT, numpy, C, Go), runs every VecVM benchmark and its peer interleaved in one run,
# takes medians over repetitions and writes Markdown tables (bench/results/latest.md) and raw numbers
# (bench/results/latest.json). A report, never a pass/fail test. Python 3 standard library only (numpy is
# used by the peer script, not here). Usage: bench/run.sh [--quick] [--only GROUP[,GROUP]] [--reps N]
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"            # git-ignored: generated programs, peer binaries
RESULTS = BENCH / "results"
SCRATCH = REPO / ".build-bench"
GROUPS = ["interpreter", "calls", "kernels", "vmath", "runtime", "preemption", "io", "embedding"]


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------
# Running processes: stdout/stderr to temporary files, peak RSS from wait4 (getrusage of the child).

class Result:
    def __init__(self, argv, code, out, err, wall, maxrss_kb, timed_out, cpu=0.0):
        self.argv, self.code, self.out, self.err = argv, code, out, err
        self.wall, self.maxrss_kb, self.timed_out, self.cpu = wall, maxrss_kb, timed_out, cpu
        self.stats = {}
        self.log = None

    @property
    def ok(self):
        return self.code == 0 and not self.timed_out

    def why(self):
        if self.timed_out:
            return "timed out"
        stats = lambda l: "tasks=" in l and "procs=" in l        # the --stats line, not an error
        lines = [l for l in self.err.strip().splitlines() if l.strip() and not stats(l)]
        lines = lines or self.out.strip().splitlines() or [""]
        # a Swift crash report or a VecVM error: its headline says more than its last line
        head = [l for l in lines if "Swift runtime failure" in l or "*** Signal" in l or "error:" in l]
        tail = head[-1].strip(" *") if head else lines[-1]
        where = f" (log: {self.log})" if self.log else ""
        status = f"signal {-self.code} ({signal.Signals(-self.code).name})" if self.code < 0 else f"exit {self.code}"
        return f"{status}: {tail[:120]}{where}"


def run(argv, env=None, timeout=300, cwd=None):
    argv = [str(a) for a in argv]
    full_env = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(argv, stdout=fo, stderr=fe, env=full_env, cwd=cwd, start_new_session=True)
        except OSError as e:
            return Result(argv, 127, "", str(e), 0.0, 0, False)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        fo.seek(0)
        fe.seek(0)
        out = fo.read().decode("utf-8", "replace")
        err = fe.read().decode("utf-8", "replace")
    return Result(argv, p.returncode, out, err, wall, ru.ru_maxrss, timed_out.is_set(),
                  ru.ru_utime + ru.ru_stime)


def kv_lines(text, tag):
    """Lines `TAG k=v k=v ...` as dicts."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == tag:
            rows.append(dict(p.split("=", 1) for p in parts[1:] if "=" in p))
    return rows


# ----------------------------------------------------------------------------------------------------
# Series of per-repetition values and their summaries.

class Series:
    def __init__(self, name, unit, higher_is_better):
        self.name, self.unit, self.hib = name, unit, higher_is_better
        self.values, self.errors, self.extra = [], [], {}

    def add(self, v):
        self.values.append(v)

    def fail(self, why):
        self.errors.append(why)

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None

    def spread_pct(self):
        if len(self.values) < 2 or not self.median or self.unit == "count":
            return None
        return 100.0 * (max(self.values) - min(self.values)) / 2 / abs(self.median)

    def cell(self):
        if not self.values:
            return "n/a (" + (self.errors[0] if self.errors else "not run") + ")"
        s = f"{self.median:.0f}" if self.unit == "count" else num(self.median)
        sp = self.spread_pct()
        if sp is not None:
            s += f" ±{sp:.0f}%"
        if self.errors:
            s += f" ({len(self.errors)} failed)"
        return s

    def to_json(self):
        return {"unit": self.unit, "higher_is_better": self.hib, "values": self.values, "median": self.median,
                "min": min(self.values) if self.values else None, "max": max(self.values) if self.values else None,
                "errors": self.errors, **self.extra}


def num(v):
    if v is None:
        return "n/a"
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def ratio(a, b):
    """a / b of two Series' medians (or numbers), as text."""
    va = a.median if isinstance(a, Series) else a
    vb = b.median if isinstance(b, Series) else b
    if va is None or vb is None or vb == 0:
        return "—"
    r = va / vb
    return f"{r:.2f}×" if abs(r) >= 0.1 else f"{r:.2g}×"


def best(*series):
    """The Series with the best median (for 'best numpy form', 'best AVX2 variant')."""
    have = [s for s in series if s is not None and s.median is not None]
    if not have:
        return None
    return max(have, key=lambda s: s.median if s.hib else -s.median)


class Group:
    def __init__(self, name):
        self.name = name
        self.series = {}
        self.tables = []    # (title, header, rows, notes)
        self.notes = []
        self.load = []
        self.extra_json = {}

    def s(self, key, unit, hib=False):
        if key not in self.series:
            self.series[key] = Series(key, unit, hib)
        return self.series[key]

    def table(self, title, header, rows, notes=()):
        self.tables.append((title, header, rows, list(notes)))

    def markdown(self):
        lines = [f"## {self.name}", ""]
        for n in self.notes:
            lines.append(n)
        if self.notes:
            lines.append("")
        failed = [(k, s) for k, s in self.series.items() if s.errors and s.values]
        if failed:
            lines.append("Failed runs (left out of the medians): " + "; ".join(
                f"`{k}`: {len(s.errors)} of {len(s.errors) + len(s.values)} — {s.errors[0]}" for k, s in failed))
            lines.append("")
        for title, header, rows, notes in self.tables:
            lines += [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for r in rows:
                lines.append("| " + " | ".join(str(c) for c in r) + " |")
            lines.append("")
            for n in notes:
                lines.append(n)
            if notes:
                lines.append("")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# Environment: vecvm build, peers.

class Env:
    def __init__(self, args):
        self.args = args
        self.vecvm = SCRATCH / "release" / "vecvm"
        self.peers_dir = None
        self.tools = {}       # name -> path or None
        self.missing = {}     # name -> reason
        self.versions = {}
        self.jit = None       # text about the JIT, from --stats
        self.failures = 0     # failed VecVM runs, logged under bench/out/failures/

    # .vec programs, with `let NAME = VALUE // param` lines rewritten
    def vec(self, name, **params):
        src = (BENCH / "vec" / f"{name}.vec").read_text()
        for k, v in params.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (list, tuple)):
                v = "[" + ", ".join(str(x) for x in v) + "]"
            pat = re.compile(rf"^let {re.escape(k)} = .*// param$", re.M)
            if not pat.search(src):
                raise SystemExit(f"bench/vec/{name}.vec has no `let {k} = ... // param` line")
            src = pat.sub(f"let {k} = {v} // param", src)
        if not params:
            return BENCH / "vec" / f"{name}.vec"
        tag = "_".join(f"{k}-{'+'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                       for k, v in sorted(params.items()))
        tag = re.sub(r"[^A-Za-z0-9_.+-]", "", tag)
        path = OUT / "gen" / f"{name}__{tag}.vec"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src)
        return path

    def vm(self, program, *flags, timeout=300, env=None):
        """Runs a .vec program with --stats; the counters (stderr, at exit) land in Result.stats."""
        r = run([self.vecvm, "run", program, *flags, "--stats"], timeout=timeout, env=env)
        for line in r.err.splitlines():
            if "tasks=" in line and "procs=" in line:
                r.stats = dict(p.split("=", 1) for p in line.split() if "=" in p)
        if not r.ok:
            # keep the whole story of a failed VecVM run (a crash prints a backtrace)
            self.failures += 1
            log_path = OUT / "failures" / f"{self.failures:03d}-{Path(program).stem}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(f"$ {' '.join(r.argv)}\nexit {r.code}{' (timed out)' if r.timed_out else ''}\n"
                                f"--- stdout (tail)\n{r.out[-4000:]}\n--- stderr\n{r.err[-20000:]}")
            r.log = str(log_path.relative_to(REPO))
            log(f"vecvm failed ({r.why()}); log in {r.log}")
        return r


def build_vecvm(env):
    if env.args.no_build:
        log(f"--no-build: using {env.vecvm}")
    else:
        # The binary as the README installs it: Swift's runtime linked in (start-up 3.6 ms, not 5.0).
        log("building vecvm (swift build -c release --product vecvm --static-swift-stdlib "
            "--scratch-path .build-bench) ...")
        for attempt in range(3):
            r = run(["swift", "build", "-c", "release", "--product", "vecvm", "--static-swift-stdlib",
                     "--scratch-path", SCRATCH], cwd=REPO, timeout=1800)
            # the working tree is shared with engineers who are editing it: retry a build that saw a file
            # change under it
            if r.ok or "modified during the build" not in r.out + r.err:
                break
            log("a source file changed during the build; building again")
        if not r.ok:
            sys.stderr.write(r.out[-4000:] + r.err[-4000:])
            raise SystemExit("vecvm build failed")
        log(f"built in {r.wall:.0f} s")
    if not env.vecvm.exists():
        raise SystemExit(f"no binary at {env.vecvm}")
    v = run([env.vecvm, "--version"])
    env.versions["vecvm"] = (v.out.strip() or v.err.strip()).splitlines()[0] if (v.out or v.err) else "?"


def find_peers_dir(args):
    cands = [Path(args.peers)] if args.peers else [REPO / "shared" / "peers", REPO.parent / "shared" / "peers"]
    for c in cands:
        if (c / "README.md").exists():
            return c
    return None


def apt_install(pkgs):
    """Best effort `apt-get install -y`, with one `apt-get update` retry. Returns error text or None."""
    if not shutil.which("apt-get"):
        return "apt-get not available"
    if os.geteuid() != 0:
        return "not root (cannot apt-get install)"
    log(f"installing {' '.join(pkgs)} with apt-get ...")
    envv = {"DEBIAN_FRONTEND": "noninteractive"}
    r = run(["apt-get", "install", "-y", *pkgs], env=envv, timeout=900)
    if r.ok:
        return None
    log("apt-get install failed; running apt-get update and retrying")
    run(["apt-get", "update"], env=envv, timeout=900)
    r = run(["apt-get", "install", "-y", *pkgs], env=envv, timeout=900)
    return None if r.ok else f"apt-get install {' '.join(pkgs)} failed: {r.why()}"


def setup_peers(env, groups):
    env.peers_dir = find_peers_dir(env.args)
    if env.peers_dir is None:
        env.missing["peers"] = "peer programs not found (" + (env.args.peers or "../shared/peers") + ")"
        log(env.missing["peers"] + ": peer columns will say so")
    need = {}   # tool -> apt package
    if "interpreter" in groups or "calls" in groups:
        need.update({"lua5.4": "lua5.4", "luajit": "luajit"})
    if "runtime" in groups or "preemption" in groups:
        need["go"] = "golang-go"
    if "kernels" in groups or "vmath" in groups:
        need["gcc"] = "gcc"
    missing = [t for t in need if not shutil.which(t)]
    if missing and not env.args.no_install:
        err = apt_install(sorted({need[t] for t in missing}))
        if err:
            # retry one by one so that one unavailable package does not block the others
            for t in missing:
                if not shutil.which(t):
                    apt_install([need[t]])
    for t in need:
        env.tools[t] = shutil.which(t)
        if not env.tools[t]:
            env.missing[t] = f"{t} not installed (apt-get install {need[t]} failed or was skipped)"
            log(f"peer tool missing: {env.missing[t]}")
    pd = env.peers_dir
    peers_out = OUT / "peers"
    peers_out.mkdir(parents=True, exist_ok=True)
    # versions
    if env.tools.get("lua5.4"):
        env.versions["lua5.4"] = " ".join(run(["lua5.4", "-v"]).out.split()[:2])
    if env.tools.get("luajit"):
        env.versions["luajit"] = " ".join(run(["luajit", "-v"]).out.split()[:2])
    # C peers
    if "kernels" in groups:
        if not env.tools.get("gcc"):
            env.missing["vec_c"] = env.missing["vec_avx"] = env.missing["stream"] = env.missing["gcc"]
        elif pd is None:
            env.missing["vec_c"] = env.missing["vec_avx"] = env.missing["stream"] = "peer sources not found"
        else:
            env.versions["gcc"] = run(["gcc", "--version"]).out.splitlines()[0]
            flags = ["-O3", "-march=native", "-fno-math-errno"]
            for name, src, extra in [("vec_c", "vec.c", []), ("vec_avx", "vec.c", ["-DUSE_AVX"]),
                                     ("stream", "stream.c", [])]:
                exe = peers_out / name
                r = run(["gcc", *flags, *extra, pd / src, "-o", exe, "-lm"], timeout=300)
                if r.ok:
                    env.tools[name] = str(exe)
                else:
                    env.missing[name] = f"gcc {src} failed: {r.why()}"
    if "vmath" in groups:
        # Black-Scholes in C, built exactly as bs.c's first line says (and as issue 10 measured it): strict
        # -O3 (scalar expf/logf), and -ffast-math (which vectorizes expf/logf through glibc's libmvec)
        for name, extra in (("bs_strict", []), ("bs_fast", ["-ffast-math"])):
            if not env.tools.get("gcc"):
                env.missing[name] = env.missing["gcc"]
            elif pd is None or not (pd / "bs.c").exists():
                env.missing[name] = "peer source bs.c not found"
            else:
                env.versions["gcc"] = run(["gcc", "--version"]).out.splitlines()[0]
                exe = peers_out / name
                r = run(["gcc", "-O3", "-mavx2", "-mfma", *extra, pd / "bs.c", "-o", exe, "-lm"], timeout=300)
                if r.ok:
                    env.tools[name] = str(exe)
                else:
                    env.missing[name] = f"gcc bs.c failed: {r.why()}"
    if "kernels" in groups or "vmath" in groups or "io" in groups:
        r = run([sys.executable, "-c", "import numpy; print(numpy.__version__)"])
        if r.ok:
            env.versions["numpy"] = "numpy " + r.out.strip()
            env.tools["numpy"] = sys.executable
        else:
            env.missing["numpy"] = "numpy not importable by " + sys.executable
    # Go peers
    if "go" in need:
        if not env.tools.get("go"):
            for n in ("pingpong", "spawn", "preempt"):
                env.missing["go_" + n] = env.missing["go"]
        elif pd is None:
            for n in ("pingpong", "spawn", "preempt"):
                env.missing["go_" + n] = "peer sources not found"
        else:
            env.versions["go"] = run(["go", "version"]).out.strip().removeprefix("go version ")
            for n in ("pingpong", "spawn", "preempt"):
                exe = peers_out / n
                r = run(["go", "build", "-o", exe, pd / f"{n}.go"], env={"GO111MODULE": "off"}, timeout=600,
                        cwd=peers_out)
                if r.ok:
                    env.tools["go_" + n] = str(exe)
                else:
                    env.missing["go_" + n] = f"go build {n}.go failed: {r.why()}"


def peer_missing_cell(env, tool):
    return "n/a (" + env.missing.get(tool, f"{tool} unavailable") + ")"


def interleave(reps, jobs):
    """Run every job once per repetition; reverse the order on odd repetitions so that slow drifts of
    machine load hit VecVM and its peers alike."""
    for rep in range(reps):
        order = jobs if rep % 2 == 0 else list(reversed(jobs))
        for name, fn in order:
            try:
                fn()
            except Exception as e:   # a parsing problem must not lose the whole run
                log(f"{name}: {type(e).__name__}: {e}")


def percentile(sorted_vals, q):
    """The index rule of preempt.go: lat[int(q*(n-1))]."""
    return sorted_vals[int(q * (len(sorted_vals) - 1))]


# ----------------------------------------------------------------------------------------------------
# Group 1: interpreter

def group_interpreter(env, cfg):
    g = Group("interpreter")
    prog = env.vec("interp")
    vm = {k: g.s(f"vecvm.{k}", "ms") for k in ("fib30", "loop1e8")}
    lua = {(p, k): g.s(f"{p}.{k}", "ms") for p in ("lua5.4", "luajit-joff") for k in ("fib30", "loop1e8")}
    # whole-process CPU time (user + sys, from wait4): robust to the CPU share other work leaves us
    vm["cpu"] = g.s("vecvm.process_cpu", "ms")
    for p in ("lua5.4", "luajit-joff"):
        lua[(p, "cpu")] = g.s(f"{p}.process_cpu", "ms")

    def j_vm():
        r = env.vm(prog)
        rows = {d.get("name"): d for d in kv_lines(r.out, "bench")}
        rows["cpu"] = {"ns": r.cpu * 1e9}
        for k, s in vm.items():
            if r.ok and k in rows:
                s.add(float(rows[k]["ns"]) / 1e6)
            else:
                s.fail(r.why() if not r.ok else "no output")

    def j_lua(peer, argv):
        def f():
            if not env.tools.get(argv[0]) or env.peers_dir is None:
                for k in ("fib30", "loop1e8", "cpu"):
                    lua[(peer, k)].fail(env.missing.get(argv[0], "peer sources not found"))
                return
            r = run([*argv, env.peers_dir / "bench.lua"])
            r.out += f"\ncpu {r.cpu:.6f} s\n"
            for k in ("fib30", "loop1e8", "cpu"):
                m = re.search(rf"^{k} ([0-9.]+) s", r.out, re.M)
                if r.ok and m:
                    lua[(peer, k)].add(float(m.group(1)) * 1e3)
                else:
                    lua[(peer, k)].fail(r.why() if not r.ok else "no output")
        return f

    interleave(cfg.reps, [("vecvm interp", j_vm), ("lua5.4", j_lua("lua5.4", ["lua5.4"])),
                          ("luajit -joff", j_lua("luajit-joff", ["luajit", "-joff"]))])
    rows = []
    for k, label in (("fib30", "fib(30)"), ("loop1e8", "loop 1e8 (`s += i`)"),
                     ("cpu", "whole program, process CPU time (both benchmarks + start-up)")):
        l54, ljt = lua[("lua5.4", k)], lua[("luajit-joff", k)]
        goal = "—"
        if vm[k].median is not None and l54.median is not None:
            goal = "met" if vm[k].median <= l54.median else "not met"
        rows.append([label, vm[k].cell(), l54.cell(), ljt.cell(), ratio(l54, vm[k]), ratio(ljt, vm[k]), goal])
    g.table("Interpreter: time in ms (median ±half-range over repetitions)",
            ["benchmark", "VecVM", "Lua 5.4", "LuaJIT -joff", "Lua 5.4 ÷ VecVM", "LuaJIT ÷ VecVM",
             "goal: no slower than Lua 5.4"], rows,
            ["Ratios are peer time ÷ VecVM time: above 1.00 VecVM is faster. Each program times each "
             "benchmark once per repetition (start-up and compilation excluded); bench.lua uses os.clock() "
             "(process CPU time), VecVM now() (wall time), so when other work takes CPU from us the first "
             "two rows favour Lua. The last row compares like with like: user + sys CPU time of the whole "
             "process from wait4(), start-up included (VecVM's runtime threads included too)."])
    return g


# ----------------------------------------------------------------------------------------------------
# Group: calls (issue 11): whole programs as a user runs them, beside Lua 5.4 and LuaJIT

# (key, label, VecVM program, Lua program, arguments, issue 11's goal for the JIT in ms)
CALLS = [
    ("startup", "start-up: `print(1)`", None, None, [], 3),
    ("fib", "fib(30), recursive", "bench/calls/fib.vec", "bench/calls/fib.lua", ["30"], 8),
    ("spectral", "spectral-norm n=1000", "programs/spectralnorm.vec", "bench/calls/spectralnorm.lua", ["1000"], 50),
    ("nbody", "n-body 200k steps", "bench/calls/nbody.vec", "bench/calls/nbody.lua", ["200000"], 35),
    ("fannkuch", "fannkuch-redux n=10", "programs/fannkuch.vec", "bench/calls/fannkuch.lua", ["10"], 300),
    ("mandel", "mandelbrot, scalar floats, 400x400", "programs/mandelscalar.vec", "bench/calls/mandelbrot.lua",
     ["400"], None),
]


def group_calls(env, cfg):
    g = Group("calls")
    one = OUT / "gen" / "print1.vec"
    one.parent.mkdir(parents=True, exist_ok=True)
    one.write_text("print(1)\n")
    one_lua = OUT / "gen" / "print1.lua"
    one_lua.write_text("print(1)\n")
    runners = [("vecvm", lambda p, a: [env.vecvm, "run", p, *a]),
               ("vecvm --no-jit", lambda p, a: [env.vecvm, "run", "--no-jit", p, *a]),
               ("lua5.4", lambda p, a: ["lua5.4", p, *a]),
               ("luajit", lambda p, a: ["luajit", p, *a]),
               ("luajit -joff", lambda p, a: ["luajit", "-joff", p, *a])]
    series = {(who, key): g.s(f"{who}.{key}", "ms") for who, _ in runners for key, *_ in CALLS}
    outputs = {}

    def sized(vec, size):
        """The .vec program with its `let NAME = VALUE // param` line set to `size` (Lua takes it as arg)."""
        src = (REPO / vec).read_text()
        src, n = re.subn(r"^let (\w+) = .*// param$", lambda m: f"let {m.group(1)} = {size} // param", src, flags=re.M)
        if n != 1:
            raise SystemExit(f"{vec} has no `let NAME = ... // param` line")
        path = OUT / "gen" / f"calls_{Path(vec).stem}_{size}.vec"
        path.write_text(src)
        return path

    def job(who, make, key, vec, lua, args):
        def f():
            tool = "lua5.4" if who == "lua5.4" else "luajit" if who.startswith("luajit") else None
            if tool and not env.tools.get(tool):
                series[(who, key)].fail(env.missing.get(tool, f"{tool} unavailable"))
                return
            if not vec:
                program, argv = (one_lua if tool else one), []
            elif tool:
                program, argv = REPO / lua, args
            else:
                program, argv = sized(vec, args[0]), []
            r = run(make(program, argv), timeout=600)
            if not r.ok:
                series[(who, key)].fail(r.why())
                return
            outputs.setdefault(key, {})[who] = r.out
            series[(who, key)].add(r.wall * 1e3)
        return f

    jobs = [(f"{who} {key}", job(who, make, key, vec, lua, args))
            for key, _, vec, lua, args, _ in CALLS for who, make in runners]
    interleave(cfg.reps, jobs)
    rows = []
    notes = []
    for key, label, _, _, _, goal in CALLS:
        vm, nojit = series[("vecvm", key)], series[("vecvm --no-jit", key)]
        l54, ljt, joff = series[("lua5.4", key)], series[("luajit", key)], series[("luajit -joff", key)]
        outs = outputs.get(key, {})
        if len(set(outs.values())) > 1:
            notes.append(f"{label}: the outputs differ: " + "; ".join(f"{w}: {o.strip()!r}" for w, o in outs.items()))
        met = "—"
        if goal is not None and vm.median is not None:
            met = f"≤ {goal} ms: " + ("met" if vm.median <= goal else "not met")
        rows.append([label, vm.cell(), nojit.cell(), l54.cell(), ljt.cell(), joff.cell(), ratio(ljt, vm),
                     ratio(l54, nojit), met])
    g.table("Calls and whole programs: wall time of the whole process in ms (median ±half-range)",
            ["program", "VecVM", "VecVM --no-jit", "Lua 5.4", "LuaJIT", "LuaJIT -joff", "LuaJIT ÷ VecVM",
             "Lua 5.4 ÷ VecVM --no-jit", "issue 11's goal (VecVM)"], rows,
            ["Whole-process wall time, start-up and compilation included, as a user sees it; each repetition "
             "runs every program under every runtime in turn (reversed on odd repetitions). Ratios above 1.00: "
             "VecVM is faster. The programs are in programs/ and bench/calls/; every runtime must print the "
             "same output (a difference is listed below)."] + notes)
    return g


# ----------------------------------------------------------------------------------------------------
# Group 2: kernels

KERNELS = [("saxpy", "`3*a+b` (saxpy)", 3), ("fused", "`a*b+c*d`", 5), ("sum", "`sum(a)`", 1),
           ("dot", "`dot(a, b)`", 2), ("hypot", "`sqrt(a*a+d*d)`", 3)]


def group_kernels(env, cfg):
    g = Group("kernels")
    sizes = cfg.sizes
    prog = env.vec("kernels", SIZES=sizes, TRIALS=cfg.ktrials)
    S = lambda impl, k, n: g.s(f"{impl}.{k}.{n}", "GB/s", True)
    jit_info = []
    checks = {}     # impl -> checksums printed by kernels.vec (JIT and interpreter must agree)

    def j_vm(impl, flags):
        def f():
            r = env.vm(prog, *flags, timeout=600)
            jit_info.append((impl, r.stats))
            m = re.search(r"^check (\S+)", r.out, re.M)
            if r.ok and m:
                checks.setdefault(impl, set()).add(m.group(1))
            rows = kv_lines(r.out, "bench")
            for k, _, words in KERNELS:
                for n in sizes:
                    sel = [d for d in rows if d.get("kernel") == k and int(d["n"]) == n]
                    s = S(impl, k, n)
                    if r.ok and sel:
                        ns_per_pass = statistics.median(int(d["ns"]) / int(d["passes"]) for d in sel)
                        s.add(words * n * 4 / ns_per_pass)        # bytes / ns == GB/s
                    else:
                        s.fail(r.why() if not r.ok else "no output")
        return f

    def j_np():
        if not env.tools.get("numpy"):
            for k, _, _ in KERNELS:
                for n in sizes:
                    for form in ("naive", "out"):
                        S("numpy_" + form, k, n).fail(env.missing["numpy"])
            return
        r = run([env.tools["numpy"], BENCH / "peers" / "np_kernels.py", cfg.ktrials, *sizes],
                env={"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None, "OPENBLAS_NUM_THREADS": "1"},
                timeout=600)
        for line in r.out.splitlines():
            m = re.match(r"numpy float32 N=(\d+) (\w+) \[(\w+)\] .* GBps ([0-9.]+)", line)
            if m:
                S("numpy_" + m.group(3), m.group(2), int(m.group(1))).add(float(m.group(4)))
        if not r.ok:
            for k, _, _ in KERNELS:
                for n in sizes:
                    S("numpy_naive", k, n).fail(r.why())

    def j_c(tool):
        def f():
            impls = ["c"] if tool == "vec_c" else ["avx", "avx_nt"]
            if not env.tools.get(tool):
                for k, _, _ in KERNELS:
                    for n in sizes:
                        for impl in impls:
                            S(impl, k, n).fail(env.missing.get(tool, "unavailable"))
                return
            for n in sizes:
                r = run([env.tools[tool], n, cfg.ktrials], timeout=600)
                for line in r.out.splitlines():
                    m = re.match(r"(C|AVX2|AVX2\+NT) f32 N=(\d+) (\w+) .* GBps ([0-9.]+)", line)
                    if m:
                        impl = {"C": "c", "AVX2": "avx", "AVX2+NT": "avx_nt"}[m.group(1)]
                        S(impl, m.group(3), int(m.group(2))).add(float(m.group(4)))
                if not r.ok:
                    for k, _, _ in KERNELS:
                        for impl in impls:
                            S(impl, k, n).fail(r.why())
        return f

    interleave(cfg.reps, [("vecvm", j_vm("vm_jit", [])), ("numpy", j_np), ("C -O3", j_c("vec_c")),
                          ("vecvm --no-jit", j_vm("vm_nojit", ["--no-jit"])), ("C AVX2", j_c("vec_avx"))])

    stats = {impl: st for impl, st in jit_info}
    st, st0 = stats.get("vm_jit", {}), stats.get("vm_nojit", {})
    if "jit.kernels" not in st and "jit" not in st:
        env.jit = "no JIT in this binary (`--stats` prints no `jit.kernels=`)"
    else:
        env.jit = (f"`--stats` of the kernels program: jit={st.get('jit', '?')} jit.kernels={st.get('jit.kernels', '?')} "
                   f"jit.fallbacks={st.get('jit.fallbacks', '?')} by default; jit={st0.get('jit', '?')} with --no-jit")
    allchecks = set().union(*checks.values()) if checks else set()
    if len(allchecks) > 1:
        g.notes.append(f"**Checksums of kernels.vec differ between runs/configurations: {checks}** "
                       "(the JIT and the interpreter should agree bit for bit).")
    g.extra_json = {"checksums": {k: sorted(v) for k, v in checks.items()}}
    g.notes.append(f"VecVM: {env.jit}. GB/s = bytes touched (reads + writes, words × N × 4 bytes) "
                   "÷ time per pass, as np_bench.py counts; median of the in-process trials, then median "
                   "±half-range over repetitions. Ratios are VecVM GB/s ÷ peer GB/s: above 1.00 VecVM is "
                   "faster. 'numpy best' is the faster of the naive and out= forms; 'AVX2 best' the faster "
                   "of plain and non-temporal stores.")
    for n in sizes:
        rows = []
        for k, label, words in KERNELS:
            jit, nojit = S("vm_jit", k, n), S("vm_nojit", k, n)
            npn, npo = S("numpy_naive", k, n), S("numpy_out", k, n)
            cc, av = S("c", k, n), S("avx", k, n)
            avnt = S("avx_nt", k, n) if k not in ("sum", "dot") else None
            npb, avb = best(npn, npo if npo.values else None), best(av, avnt)
            rows.append([label, words, jit.cell(), nojit.cell(), npn.cell(),
                         npo.cell() if k not in ("sum", "dot") else "—", cc.cell(), av.cell(),
                         avnt.cell() if avnt else "—",
                         ratio(jit, npb) if npb else "—", ratio(jit, cc), ratio(jit, avb) if avb else "—",
                         ratio(nojit, npb) if npb else "—"])
        g.table(f"Kernels, f32, N = {n:,}: GB/s (bytes touched per second)",
                ["kernel", "words", "VecVM", "VecVM --no-jit", "numpy naive", "numpy out=", "C -O3",
                 "C AVX2", "C AVX2+NT", "VecVM ÷ numpy best", "VecVM ÷ C -O3", "VecVM ÷ AVX2 best",
                 "--no-jit ÷ numpy best"], rows)
    # memory bandwidth reference, once
    if env.tools.get("stream") and cfg.stream:
        r = run([env.tools["stream"]], timeout=300)
        st = []
        for line in r.out.splitlines():
            m = re.match(r"(\w+)\s+median ([0-9.]+) GB/s\s+best ([0-9.]+)", line)
            if m:
                g.s(f"stream.{m.group(1)}", "GB/s", True).add(float(m.group(2)))
                st.append(f"{m.group(1)} {m.group(2)} GB/s")
        g.notes.append("Memory bandwidth reference (stream.c, f64, 320 MB arrays, run once, STREAM counting "
                       "without write-allocate): " + (", ".join(st) if st else "failed: " + r.why()) + ".")
    elif cfg.stream:
        g.notes.append("Memory bandwidth reference: " + peer_missing_cell(env, "stream") + ".")
    return g


# ----------------------------------------------------------------------------------------------------
# Group: vmath (vector math: Black-Scholes, exp/log/sin/tanh alone, softmax)

NUMPY_ENV = {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None, "OPENBLAS_NUM_THREADS": "1"}
# Forces VecVM's AVX2 kernels on a machine with AVX-512 (Sources/VecVM/JIT/CPU.swift).
AVX2_ENV = {"VECVM_JIT_ISA": "avx2"}
VMATH_FUNCS = ["exp", "log", "sin", "tanh"]
VMATH_RANGES = {"exp": "[-10, 10)", "log": "(0, 1000]", "sin": "[-100, 100)", "tanh": "[-5, 5)"}
VMATH_TYPES = [("f32", 4), ("float", 8)]


def checksum_agrees(a, b, asum_rel):
    """Whether two checksums agree within asum_rel of the larger magnitude (1.0 at least)."""
    return abs(a - b) <= asum_rel * max(1.0, abs(a), abs(b))


def fallback_reasons(env, programs):
    """Why the JIT left kernels to the interpreter: `vecvm jit-dump` of small versions of the programs
    (not timed), its `# kernel interpreted: PROGRAM: REASON` lines counted by reason."""
    if not programs:
        return ""
    parts = []
    for label, prog in programs:
        with tempfile.TemporaryDirectory() as d:
            r = run([env.vecvm, "jit-dump", "--out", d, prog], timeout=300)
            try:
                listing = (Path(d) / "kernels.txt").read_text()
            except OSError:
                parts.append(f"{label}: jit-dump failed ({r.why()})")
                continue
        reasons = {}
        for line in listing.splitlines():
            m = re.match(r"# kernel interpreted: .*?-> \S+ v\d+: (.*)$", line)
            if m:
                why = re.sub(r"\.L\d+", ".L…", m.group(1))
                reasons[why] = reasons.get(why, 0) + 1
        if reasons:
            parts.append(f"{label}: " + "; ".join(f"{k} kernel{'s' if k > 1 else ''}: \"{w}\""
                                                 for w, k in reasons.items()))
    return (" Interpreted kernels (`vecvm jit-dump` of the same programs at N = 4,096): " + "; ".join(parts) + "."
            if parts else "")


def group_vmath(env, cfg):
    g = Group("vmath")
    jobs = []
    n = cfg.vm_n
    stats = {}          # impl -> --stats of its last run
    checks = {}         # (case, impl) -> set of checksum texts

    def note_check(case, impl, text):
        checks.setdefault((case, impl), set()).add(text)

    # --- Black-Scholes: bs.vec (JIT and --no-jit), bs.py, bs.c strict and fast-math. Best of 7 per run.
    bs_prog = env.vec("bs", N=n, REPS=7)
    BS = {k: g.s(f"{k}.bs.ns_per_option", "ns", False)
          for k in ("vm_jit", "vm_p1", "vm_avx2", "vm_p1_avx2", "vm_nojit", "numpy", "c_strict", "c_fast")}

    def j_bs_vm(impl, flags):
        def f():
            r = env.vm(bs_prog, *flags, timeout=600, env=AVX2_ENV if impl.endswith("avx2") else None)
            stats[impl + ".bs"] = r.stats
            rows = kv_lines(r.out, "bench")
            m = re.search(r"^check (\S+)", r.out, re.M)
            if r.ok and rows and m:
                BS[impl].add(int(rows[0]["best_ns"]) / int(rows[0]["n"]))
                note_check("bs", impl, m.group(1))
            else:
                BS[impl].fail(r.why() if not r.ok else "no output")
        return f

    def parse_peer_bs(impl, r):
        t = re.search(r"bs_ns_per_option ([0-9.]+)", r.out)
        c = re.search(r"checksum (\S+)", r.out)
        if r.ok and t and c:
            BS[impl].add(float(t.group(1)))
            note_check("bs", impl, c.group(1))
        else:
            BS[impl].fail(r.why() if not r.ok else "no output")

    def j_bs_np():
        if not env.tools.get("numpy") or env.peers_dir is None:
            return BS["numpy"].fail(env.missing.get("numpy") or "peer sources not found")
        parse_peer_bs("numpy", run([env.tools["numpy"], env.peers_dir / "bs.py"], env=NUMPY_ENV, timeout=600))

    def j_bs_c(impl, tool):
        def f():
            if not env.tools.get(tool):
                return BS[impl].fail(env.missing.get(tool, "unavailable"))
            parse_peer_bs(impl, run([env.tools[tool]], timeout=600))
        return f

    jobs += [("vecvm bs", j_bs_vm("vm_jit", [])), ("numpy bs.py", j_bs_np), ("C bs strict", j_bs_c("c_strict", "bs_strict")),
             ("vecvm bs --procs 1", j_bs_vm("vm_p1", ["--procs", "1"])),
             ("vecvm bs --no-jit", j_bs_vm("vm_nojit", ["--no-jit"])), ("C bs fast-math", j_bs_c("c_fast", "bs_fast")),
             ("vecvm bs (AVX2 kernels)", j_bs_vm("vm_avx2", [])),
             ("vecvm bs --procs 1 (AVX2 kernels)", j_bs_vm("vm_p1_avx2", ["--procs", "1"]))]

    # --- exp/log/sin/tanh alone and softmax: vmath.vec (JIT and --no-jit), np_vmath.py.
    vm_prog = env.vec("vmath", N=n, PASSES=cfg.vm_passes, TRIALS=cfg.vm_trials)
    F = lambda impl, fn, ty: g.s(f"{impl}.{fn}.{ty}", "GB/s", True)
    SM = {k: g.s(f"{k}.softmax.f32.ms", "ms", False)
          for k in ("vm_jit", "vm_p1", "vm_avx2", "vm_p1_avx2", "vm_nojit", "numpy")}
    cases = [(fn, ty, size) for ty, size in VMATH_TYPES for fn in VMATH_FUNCS]

    def take(impl, r, rows, form=None):
        """Per case: the median of the in-process trials, as GB/s (functions) or ms (softmax)."""
        for fn, ty, size in cases + [("softmax", "f32", 4)]:
            sel = [d for d in rows if d.get("fn") == fn and d.get("type") == ty and d.get("form", form) == form]
            s = SM[impl] if fn == "softmax" else F(impl if form is None else f"{impl}_{form}", fn, ty)
            if fn == "softmax" and form not in (None, "naive"):
                continue
            if r.ok and sel:
                ns = statistics.median(int(d["ns"]) / int(d["passes"]) for d in sel)
                s.add(ns / 1e6 if fn == "softmax" else 2 * n * size / ns)   # read x, write z
            else:
                s.fail(r.why() if not r.ok else "no output")
        for d in kv_lines(r.out, "check"):
            note_check(f"{d['fn']}.{d['type']}", impl, d["sum"])

    def j_vm(impl, flags):
        def f():
            r = env.vm(vm_prog, *flags, timeout=900, env=AVX2_ENV if impl.endswith("avx2") else None)
            stats[impl + ".vmath"] = r.stats
            take(impl, r, kv_lines(r.out, "bench"))
        return f

    def j_np():
        if not env.tools.get("numpy"):
            for fn, ty, _ in cases:
                for form in ("naive", "out"):
                    F("numpy_" + form, fn, ty).fail(env.missing["numpy"])
            return SM["numpy"].fail(env.missing["numpy"])
        r = run([env.tools["numpy"], BENCH / "peers" / "np_vmath.py", n, cfg.vm_passes, cfg.vm_trials],
                env=NUMPY_ENV, timeout=900)
        rows = kv_lines(r.out, "bench")
        take("numpy", r, rows, "naive")
        for fn, ty, size in cases:      # the out= form (take() did naive and softmax)
            sel = [d for d in rows if d.get("fn") == fn and d.get("type") == ty and d.get("form") == "out"]
            s = F("numpy_out", fn, ty)
            if r.ok and sel:
                s.add(2 * n * size / statistics.median(int(d["ns"]) / int(d["passes"]) for d in sel))
            else:
                s.fail(r.why() if not r.ok else "no output")

    jobs += [("vecvm vmath", j_vm("vm_jit", [])), ("numpy np_vmath.py", j_np),
             ("vecvm vmath --procs 1", j_vm("vm_p1", ["--procs", "1"])),
             ("vecvm vmath --no-jit", j_vm("vm_nojit", ["--no-jit"])),
             ("vecvm vmath (AVX2 kernels)", j_vm("vm_avx2", [])),
             ("vecvm vmath --procs 1 (AVX2 kernels)", j_vm("vm_p1_avx2", ["--procs", "1"]))]
    interleave(cfg.reps, jobs)

    # --- notes: the JIT's view of each program, and checksum agreement
    def jit_text(st):
        if not st:
            return "no `--stats` line"
        return (f"jit={st.get('jit', '?')} jit.isa={st.get('jit.isa', '?')} jit.kernels={st.get('jit.kernels', '?')} "
                f"jit.fallbacks={st.get('jit.fallbacks', '?')} jit.avx512.fallbacks={st.get('jit.avx512.fallbacks', '-')}")
    if env.jit is None and stats.get("vm_jit.bs"):
        env.jit = "`--stats` of bs.vec: " + jit_text(stats["vm_jit.bs"]) + " by default"
    g.notes.append(f"`--stats` of the default runs: bs.vec {jit_text(stats.get('vm_jit.bs'))}; vmath.vec "
                   f"{jit_text(stats.get('vm_jit.vmath'))}. A kernel the JIT cannot lower runs in the "
                   "interpreter's evaluator (a fallback); `vecvm jit-dump --out DIR FILE` lists why." +
                   fallback_reasons(env, [("bs.vec", env.vec("bs", N=4096, REPS=1)),
                                          ("vmath.vec", env.vec("vmath", N=4096, PASSES=1, TRIALS=1))]
                                    if any(st.get("jit.fallbacks", "0") != "0" for st in stats.values()) else []))
    g.extra_json = {"checksums": {f"{case}/{impl}": sorted(v) for (case, impl), v in sorted(checks.items())},
                    "stats": stats}

    def first(case, impl):
        v = checks.get((case, impl))
        return sorted(v)[0] if v else None

    trouble = []
    for case in ["bs"] + [f"{fn}.{ty}" for fn, ty, _ in cases] + ["softmax.f32"]:
        mine = set().union(*(checks.get((case, i), set())
                             for i in ("vm_jit", "vm_p1", "vm_avx2", "vm_p1_avx2", "vm_nojit")))
        if len(mine) > 1:
            trouble.append(f"`{case}`: VecVM printed different checksums across runs or with and without the "
                           f"JIT or on one processor ({', '.join(sorted(mine))}); they must be bit-identical")
        ours, theirs = first(case, "vm_jit") or first(case, "vm_nojit"), first(case, "numpy")
        # f32 results may differ by an ulp or two per element from numpy's, float results by an ulp. A
        # softmax divides by an f32 sum of 1M terms, which VecVM adds in 32 lanes of ~31,000 sequential
        # additions each (the language's order) and numpy pairwise: its sum is off by ~1e-5 relative.
        tol = 1e-12 if case.endswith(".float") else 1e-4 if case.startswith("softmax") else 1e-5
        if ours and theirs and not checksum_agrees(float(ours), float(theirs), tol):
            trouble.append(f"`{case}`: VecVM's checksum {ours} differs from numpy's {theirs} by more than "
                           f"{tol:g} relative: the results are not the same function")
    if trouble:
        g.notes.append("**Checksum problems:** " + "; ".join(trouble) + ".")

    # --- tables
    ref, ref1 = BS["vm_jit"], BS["vm_p1"]
    rows = []
    for impl, label in (("vm_jit", "VecVM (`bs.vec`; kernels on both processors)"),
                        ("vm_p1", "VecVM `--procs 1` (one core, as every peer)"),
                        ("vm_avx2", "VecVM, AVX2 kernels (`VECVM_JIT_ISA=avx2`)"),
                        ("vm_p1_avx2", "VecVM `--procs 1`, AVX2 kernels"), ("vm_nojit", "VecVM `--no-jit`"),
                        ("numpy", "numpy (`bs.py`)"), ("c_strict", "C `gcc -O3 -mavx2 -mfma` (strict)"),
                        ("c_fast", "C `gcc -O3 -mavx2 -mfma -ffast-math` (libmvec)")):
        rows.append([label, BS[impl].cell(), first("bs", impl) or "—",
                     "—" if impl == "vm_jit" else ratio(BS[impl], ref),
                     "—" if impl == "vm_p1" else ratio(BS[impl], ref1)])
    goal = "not measured"
    fast = BS["c_fast"]
    isa = (stats.get("vm_jit.bs") or {}).get("jit.isa", "?")
    isa_note = (f"VecVM's default kernels here are `{isa}` (`--stats` jit.isa); the AVX2 rows force "
                f"`VECVM_JIT_ISA=avx2`: AVX2 time ÷ default time = {ratio(BS['vm_avx2'], ref)} on both processors, "
                f"{ratio(BS['vm_p1_avx2'], ref1)} on one core (above 1.00: the default kernels are faster).")
    if ref.median is not None:
        goal = (f"Goal (issue 10): ≤ 3.4 ns/option, as fast as the C fast-math build. Here VecVM takes "
                f"{num(ref.median)} ns/option by default ({'met' if ref.median <= 3.4 else 'not met'}) and "
                f"{num(ref1.median)} on one core ({'met' if (ref1.median or 1e9) <= 3.4 else 'not met'})")
        if fast.median is not None:
            goal += (f"; the C fast-math build, single-threaded, takes {num(fast.median)} in the same run: "
                     f"VecVM runs at {ratio(fast, ref)} of its speed by default and {ratio(fast, ref1)} on one "
                     "core (1.00× or more: as fast)")
    g.table(f"Black-Scholes, {n:,} f32 options: ns per option (best of 7 passes in each run, then median "
            "over runs)",
            ["implementation", "ns/option", "checksum (sum of prices)", "this ÷ VecVM (time)",
             "this ÷ VecVM `--procs 1` (time)"], rows,
            [goal + ".", isa_note,
             "Ratios above 1.00: VecVM is faster than that implementation. By default VecVM runs a kernel of "
             "more than 262,144 elements in chunks on all its processors (2 here); the peers use one core. "
             "Every implementation prices the same options with the same formula and order of operations "
             "(../shared/peers/bs.c, bs.py, bench/vec/bs.vec); the checksums differ in the last digits "
             "because the math functions round differently, gcc contracts `a*b+c` into FMAs (numpy and "
             "VecVM never do) and each adds the prices in its own order."])
    rows = []
    for fn, ty, _ in cases:
        jit, p1, nojit = F("vm_jit", fn, ty), F("vm_p1", fn, ty), F("vm_nojit", fn, ty)
        a2, p1a2 = F("vm_avx2", fn, ty), F("vm_p1_avx2", fn, ty)
        npn, npo = F("numpy_naive", fn, ty), F("numpy_out", fn, ty)
        npb = best(npn, npo)
        rows.append([f"`{fn}` {ty}", VMATH_RANGES[fn], jit.cell(), p1.cell(), a2.cell(), p1a2.cell(), nojit.cell(),
                     npn.cell(), npo.cell(), ratio(jit, npb) if npb else "—", ratio(p1, npb) if npb else "—",
                     ratio(p1a2, npb) if npb else "—", ratio(p1, p1a2), ratio(nojit, npb) if npb else "—"])
    g.table(f"Vector math alone, `z = f(x)` over {n:,} elements: GB/s (bytes read + written)",
            ["function", "inputs", "VecVM", "VecVM `--procs 1`", "VecVM AVX2", "VecVM `--procs 1` AVX2",
             "VecVM --no-jit", "numpy naive", "numpy out=", "VecVM ÷ numpy best", "`--procs 1` ÷ numpy best",
             "`--procs 1` AVX2 ÷ numpy best", "`--procs 1`: default ÷ AVX2 kernels", "--no-jit ÷ numpy best"], rows,
            ["GB/s = 2 × N × element size ÷ time per pass (read x, write z), the median of "
             f"{cfg.vm_trials} in-process trials of {cfg.vm_passes} passes, then the median over runs. Above "
             "1.00 VecVM is faster. numpy (one core) naive is `np.exp(x)` (allocates), out= is "
             "`np.exp(x, out=z)`; VecVM's `z = exp(x)` reuses z's buffer and by default runs on both "
             "processors. Inputs are a scrambled walk over the range (bench/vec/vmath.vec and "
             "bench/peers/np_vmath.py make the same numbers). \"AVX2\" columns force the AVX2 kernels "
             f"(`VECVM_JIT_ISA=avx2`); the default kernels here are `{isa}`."])
    g.table(f"Softmax of {n:,} f32 values: ms per softmax",
            ["VecVM", "VecVM `--procs 1`", "VecVM `--procs 1` AVX2", "VecVM --no-jit", "numpy", "numpy ÷ VecVM",
             "numpy ÷ VecVM `--procs 1`", "numpy ÷ VecVM `--procs 1` AVX2", "numpy ÷ VecVM --no-jit"],
            [[SM["vm_jit"].cell(), SM["vm_p1"].cell(), SM["vm_p1_avx2"].cell(), SM["vm_nojit"].cell(),
              SM["numpy"].cell(), ratio(SM["numpy"], SM["vm_jit"]), ratio(SM["numpy"], SM["vm_p1"]),
              ratio(SM["numpy"], SM["vm_p1_avx2"]), ratio(SM["numpy"], SM["vm_nojit"])]],
            ["VecVM: `fn softmax(x: [f32]) -> [f32] { let m = max(x); let e = exp(x - m); return e / sum(e) }` "
             "(three passes: `max`, `sum(exp(x - m))`, `exp(x - m) / s`; the fused `e` is computed twice "
             "instead of stored). numpy: `e = np.exp(x - x.max()); e / e.sum()`. Inputs on [-10, 10). "
             "Ratio above 1.00: VecVM is faster."])
    return g


# ----------------------------------------------------------------------------------------------------
# Group 3: runtime

def go_preempt_job(env, g, mode, samples, tag):
    keys = ("median", "p90", "p99", "max")
    ser = {k: g.s(f"{tag}.{k}", "ms") for k in keys}

    def f():
        if not env.tools.get("go_preempt"):
            for s in ser.values():
                s.fail(env.missing.get("go_preempt", "unavailable"))
            return
        r = run([env.tools["go_preempt"], mode, samples], env={"GOMAXPROCS": "1"}, timeout=600)
        m = re.search(r"median ([0-9.]+) p90 ([0-9.]+) p99 ([0-9.]+) max ([0-9.]+)", r.out)
        for i, k in enumerate(keys):
            if r.ok and m:
                ser[k].add(float(m.group(i + 1)))
            else:
                ser[k].fail(r.why() if not r.ok else "no output")
    return ser, f


def vm_lateness_job(env, g, tag, program, flags):
    keys = ("median", "p90", "p99", "max")
    ser = {k: g.s(f"{tag}.{k}", "ms") for k in keys}
    ser["async"] = g.s(f"{tag}.preempt_async", "count")

    def f():
        r = env.vm(program, "--procs", "1", *flags, timeout=600)
        if r.ok and "preempt.async" in r.stats:
            ser["async"].add(int(r.stats["preempt.async"]))
        lat = sorted(int(d["lat_ns"]) / 1e6 for d in kv_lines(r.out, "sample"))
        for k in keys:
            if r.ok and lat:
                q = {"median": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}[k]
                ser[k].add(percentile(lat, q))
            else:
                ser[k].fail(r.why() if not r.ok else "no output")
    return ser, f


def lat_row(label, ser, ref=None):
    row = [label] + [ser[k].cell() for k in ("median", "p90", "p99", "max")]
    row.append(ratio(ser["median"], ref["median"]) if ref else "—")
    return row


def group_runtime(env, cfg, shared):
    g = Group("runtime")
    jobs = []
    # ping-pong
    pp_prog = env.vec("pingpong", ROUNDS=cfg.pp_rounds, TRIALS=cfg.pp_trials)
    pp = {}
    for procs in ("1", "default"):
        vm_s = pp[("vm", procs)] = g.s(f"vecvm.pingpong.procs{procs}", "ns")
        go_s = pp[("go", procs)] = g.s(f"go.pingpong.gomaxprocs{procs}", "ns")

        def j_vm(procs=procs, s=vm_s):
            r = env.vm(pp_prog, *(["--procs", "1"] if procs == "1" else []))
            rows = kv_lines(r.out, "bench")
            if r.ok and rows:
                s.add(statistics.median(int(d["ns"]) / int(d["rounds"]) for d in rows))
            else:
                s.fail(r.why() if not r.ok else "no output")

        def j_go(procs=procs, s=go_s):
            if not env.tools.get("go_pingpong"):
                return s.fail(env.missing.get("go_pingpong", "unavailable"))
            r = run([env.tools["go_pingpong"]], env={"GOMAXPROCS": "1" if procs == "1" else None})
            m = re.search(r"median ([0-9.]+)", r.out)
            s.add(float(m.group(1))) if (r.ok and m) else s.fail(r.why() if not r.ok else "no output")
        jobs += [(f"vecvm pingpong {procs}", j_vm), (f"go pingpong {procs}", j_go)]

    # spawn 100k
    sp = {}
    for mode in ("alive", "finish"):
        prog = env.vec("spawn", N=cfg.spawn_n, ALIVE=(mode == "alive"))
        for who in ("vm", "go"):
            sp[(who, mode, "ms")] = g.s(f"{who}.spawn.{mode}.ms", "ms")
            sp[(who, mode, "rss")] = g.s(f"{who}.spawn.{mode}.peak_rss_mb", "MB")

        def j_vm(prog=prog, mode=mode):
            r = env.vm(prog)
            rows = kv_lines(r.out, "bench")
            if r.ok and rows:
                sp[("vm", mode, "ms")].add(int(rows[0]["ns"]) / 1e6)
                sp[("vm", mode, "rss")].add(r.maxrss_kb / 1024)
            else:
                for k in ("ms", "rss"):
                    sp[("vm", mode, k)].fail(r.why() if not r.ok else "no output")

        def j_go(mode=mode):
            if not env.tools.get("go_spawn"):
                for k in ("ms", "rss"):
                    sp[("go", mode, k)].fail(env.missing.get("go_spawn", "unavailable"))
                return
            r = run([env.tools["go_spawn"], mode])
            m = re.search(r"time_ms ([0-9.]+)", r.out)
            if r.ok and m:
                sp[("go", mode, "ms")].add(float(m.group(1)))
                sp[("go", mode, "rss")].add(r.maxrss_kb / 1024)
            else:
                for k in ("ms", "rss"):
                    sp[("go", mode, k)].fail(r.why() if not r.ok else "no output")
        jobs += [(f"vecvm spawn {mode}", j_vm), (f"go spawn {mode}", j_go)]
    base = g.s("vm.empty.peak_rss_mb", "MB")
    base_prog = env.vec("spawn", N=0, ALIVE=False)

    def j_base():
        r = env.vm(base_prog)
        base.add(r.maxrss_kb / 1024) if r.ok else base.fail(r.why())
    jobs.append(("vecvm empty", j_base))

    # CPU-bound tasks, --procs 1 vs 2
    cpu_prog = env.vec("cpu_tasks", TASKS=cfg.cpu_tasks, ITERS=cfg.cpu_iters)
    cpu = {p: g.s(f"vecvm.cpu_tasks.procs{p}", "ms") for p in ("1", "2")}
    for p in ("1", "2"):
        def j_cpu(p=p):
            r = env.vm(cpu_prog, "--procs", p)
            rows = kv_lines(r.out, "bench")
            cpu[p].add(int(rows[0]["ns"]) / 1e6) if (r.ok and rows) else cpu[p].fail(r.why())
        jobs.append((f"vecvm cpu procs {p}", j_cpu))

    # lateness beside a busy interpreted loop
    lat = {}
    for tag, spinner, flags in (("vm.lat.none", 0, []), ("vm.lat.loop", 1, []),
                                ("vm.lat.loop.q2ms", 1, ["--quantum", "2ms"])):
        prog = env.vec("lateness", SPINNER=spinner, SAMPLES=cfg.lat_samples)
        lat[tag], f = vm_lateness_job(env, g, tag, prog, flags)
        jobs.append((tag, f))
    for mode in ("none", "pure", "chunk"):
        tag = f"go.preempt.{mode}"
        lat[tag], f = go_preempt_job(env, g, mode, cfg.lat_samples, tag)
        jobs.append((tag, f))
        if mode == "pure":
            shared["go_pure"] = lat[tag]

    interleave(cfg.reps, jobs)

    g.table("Channel ping-pong: ns per round trip (unbuffered, 2 sends + 2 receives + 2 switches)",
            ["processors", "VecVM", "Go", "Go ÷ VecVM"],
            [["1 (`--procs 1` / GOMAXPROCS=1)", pp[("vm", "1")].cell(), pp[("go", "1")].cell(),
              ratio(pp[("go", "1")], pp[("vm", "1")])],
             ["default (2 CPUs)", pp[("vm", "default")].cell(), pp[("go", "default")].cell(),
              ratio(pp[("go", "default")], pp[("vm", "default")])]],
            ["Ratio above 1.00: VecVM is faster."])
    rows = []
    for mode, desc in (("alive", "alive: all parked on a channel at once"), ("finish", "finish: exit when done")):
        vms, gos = sp[("vm", mode, "ms")], sp[("go", mode, "ms")]
        vmr, gor = sp[("vm", mode, "rss")], sp[("go", mode, "rss")]
        per = lambda s: num(s.median * 1024 / cfg.spawn_n * 1024 / 1000) if s.median else "n/a"
        rows.append([desc, vms.cell(), gos.cell(), ratio(gos, vms), vmr.cell(), gor.cell(), per(vmr), per(gor)])
    g.table(f"Spawn {cfg.spawn_n:,} tasks: time in ms, peak RSS of the whole process",
            ["mode", "VecVM ms", "Go ms", "Go ÷ VecVM", "VecVM peak RSS MB", "Go peak RSS MB",
             "VecVM KB/task", "Go KB/task"], rows,
            [f"KB/task = peak RSS ÷ {cfg.spawn_n:,} (1 KB = 1000 bytes), runtime baseline included; "
             f"peak RSS from wait4() (getrusage of the child). An empty VecVM program peaks at "
             f"{base.cell()} MB. Time ratio above 1.00: VecVM is faster."])
    g.table(f"{cfg.cpu_tasks} CPU-bound tasks ({cfg.cpu_iters:,} interpreted iterations each): ms",
            ["`--procs 1`", "`--procs 2`", "speed-up (ideal 2.00 on 2 cores)"],
            [[cpu["1"].cell(), cpu["2"].cell(), ratio(cpu["1"], cpu["2"])]],
            ["No peer; the machine's 2 cores are shared with other work, so the speed-up is a lower bound."])
    pure = lat["go.preempt.pure"]
    g.table(f"sleep(1 ms) wake-up lateness in ms, {cfg.lat_samples} samples, one processor "
            "(`--procs 1` / GOMAXPROCS=1)",
            ["beside", "median", "p90", "p99", "max", "VecVM ÷ Go (median)"],
            [lat_row("VecVM: nothing (timer floor)", lat["vm.lat.none"], lat["go.preempt.none"]),
             lat_row("VecVM: busy interpreted loop, default quantum", lat["vm.lat.loop"], pure),
             lat_row("VecVM: busy interpreted loop, `--quantum 2ms`", lat["vm.lat.loop.q2ms"], pure),
             lat_row("Go: nothing (preempt.go none)", lat["go.preempt.none"]),
             lat_row("Go: call-free loop (preempt.go pure)", pure),
             lat_row("Go: 50 ms call-free chunks (preempt.go chunk)", lat["go.preempt.chunk"])],
            ["Percentiles as preempt.go computes them (sorted samples, index int(q·(n−1))), per run, then "
             "the median ±half-range over repetitions. The ratio compares VecVM's median with Go's in the "
             "same situation (nothing beside it: preempt.go none; a busy loop: preempt.go pure); below 1.00 "
             "VecVM wakes sooner."])
    return g


# ----------------------------------------------------------------------------------------------------
# Group 4: preemption

def group_preemption(env, cfg, shared):
    g = Group("preemption")
    jobs = []
    lat = {}
    prog = env.vec("lateness", SPINNER=2, SAMPLES=cfg.klat_samples, KERNEL_N=cfg.klat_n)
    for tag, flags in (("vm.klat.async", []), ("vm.klat.noasync", ["--no-async-preempt"])):
        lat[tag], f = vm_lateness_job(env, g, tag, prog, flags)
        jobs.append((tag, f))
    pure = shared.get("go_pure")
    if pure is None:
        pure, f = go_preempt_job(env, g, "pure", cfg.lat_samples, "go.preempt.pure")
        jobs.append(("go pure", f))
        pure_note = "measured in this group"
    else:
        pure_note = "the same runs as in the runtime group"
    thr = {}
    for ticker in (False, True):
        p = env.vec("kernel_throughput", N=cfg.kthr_n, PASSES=cfg.kthr_passes, TRIALS=cfg.kthr_trials,
                    TICKER=ticker)
        for mode, flags in (("async", []), ("noasync", ["--no-async-preempt"])):
            s = thr[(ticker, mode)] = g.s(f"vm.kthr.{'ticker' if ticker else 'alone'}.{mode}", "GB/s", True)
            thr[(ticker, mode, "async")] = g.s(f"vm.kthr.{'ticker' if ticker else 'alone'}.{mode}.preempt_async",
                                               "count")

            def f(p=p, flags=flags, s=s, sa=thr[(ticker, mode, "async")]):
                r = env.vm(p, "--procs", "1", *flags, timeout=600)
                if r.ok and "preempt.async" in r.stats:
                    sa.add(int(r.stats["preempt.async"]))
                rows = kv_lines(r.out, "bench")
                if r.ok and rows:
                    ns = statistics.median(int(d["ns"]) / int(d["passes"]) for d in rows)
                    s.add(3 * int(rows[0]["n"]) * 4 / ns)
                else:
                    s.fail(r.why() if not r.ok else "no output")
            jobs.append((f"kthr {ticker} {mode}", f))
    interleave(cfg.reps, jobs)

    # kernel duration, to read the lateness against
    kdur = ""
    alone = thr[(False, "noasync")]
    if alone.median:
        kdur = (f" One `sqrt(x*x+y*y)` pass over {cfg.klat_n:,} elements takes about "
                f"{3 * cfg.klat_n * 4 / alone.median / 1e6:.0f} ms at the throughput measured below.")
    g.table(f"sleep(1 ms) lateness in ms beside a task looping `z = sqrt(x*x + y*y)` over "
            f"{cfg.klat_n:,} f32 elements, `--procs 1`, default quantum, {cfg.klat_samples} samples",
            ["configuration", "median", "p90", "p99", "max", "VecVM ÷ Go pure (median)",
             "async preemptions per run"],
            [lat_row("VecVM, async preemption (default)", lat["vm.klat.async"], pure) +
             [lat["vm.klat.async"]["async"].cell()],
             lat_row("VecVM, `--no-async-preempt`", lat["vm.klat.noasync"], pure) +
             [lat["vm.klat.noasync"]["async"].cell()],
             lat_row(f"Go: call-free loop (preempt.go pure, {cfg.lat_samples} samples; {pure_note})", pure) + ["—"]],
            ["Ratio below 1.00: VecVM wakes sooner. Async preemptions: `preempt.async` from `--stats`." + kdur])
    rows = []
    for ticker, label in ((False, "alone"), (True, "beside a task doing sleep(1) in a loop")):
        a, n = thr[(ticker, "async")], thr[(ticker, "noasync")]
        rows.append([label, a.cell(), n.cell(), ratio(a, n), thr[(ticker, "async", "async")].cell()])
    g.table(f"Kernel throughput with and without async preemption: `z = sqrt(x*x + y*y)`, "
            f"{cfg.kthr_n:,} f32 elements, `--procs 1`, default quantum, GB/s",
            ["the kernel task runs", "async preemption (default)", "`--no-async-preempt`", "async ÷ no-async",
             "async preemptions per run (default)"],
            rows, ["GB/s counted as in the kernels group (3 words per element). Ratio below 1.00: async "
                   "preemption costs throughput."])
    return g


# ----------------------------------------------------------------------------------------------------
# Group 5: embedding (calls from Swift into .vec, beside Lua 5.4's C API)

EMBED = BENCH / "embed"
EMBED_CASES = [  # (callbench case, lua_call case, label)
    ("vm_call_id", "id", "`vm.call(\"id\", in: program, with: [.int(i)], as: Int.self)` · Lua `lua_getglobal` + "
     "`lua_pcall` of `id(x)`"),
    ("instance_call_id", "id", "`instance.call(\"id\", with: [.int(i)], as: Int.self)` · the same Lua call"),
    ("instance_call_id_value", "id", "`instance.call(\"id\", with: [.int(i)])` → `Value` · the same Lua call"),
    ("instance_call_add", "add", "`add(a: float, b: float)` · Lua `add(a, b)`"),
    ("instance_call_via_host", "via_host", "Swift → `viaHost(x)` → host function `hostId` → back · Lua function "
     "calling a C function"),
]


def setup_embedding(env):
    """Builds callbench (bench/embed, VecVM as a package dependency) and lua_call.c; returns the two argvs
    or None with env.missing set."""
    vm_argv = lua_argv = None
    if env.args.no_build and (EMBED / ".build" / "release" / "callbench").exists():
        log("--no-build: using bench/embed/.build/release/callbench")
    else:
        log("building bench/embed (swift build -c release --package-path bench/embed) ...")
        # DWARF 4: valgrind 3.19 (the callgrind table below) cannot read the toolchain's DWARF 5.
        r = run(["swift", "build", "-c", "release", "--package-path", EMBED, "-Xswiftc", "-dwarf-version=4",
                 "-Xcc", "-gdwarf-4"], cwd=REPO, timeout=1800)
        if not r.ok:
            env.missing["callbench"] = "swift build of bench/embed failed: " + r.why()
            sys.stderr.write(r.out[-3000:] + r.err[-3000:])
    if (EMBED / ".build" / "release" / "callbench").exists() and "callbench" not in env.missing:
        vm_argv = [EMBED / ".build" / "release" / "callbench"]
    # Lua's headers and library: liblua5.4-dev (Debian).
    if not Path("/usr/include/lua5.4/lua.h").exists() and not env.args.no_install:
        why = apt_install(["liblua5.4-dev"])
        if why:
            env.missing["liblua5.4"] = why
    if Path("/usr/include/lua5.4/lua.h").exists():
        exe = OUT / "lua_call"
        exe.parent.mkdir(parents=True, exist_ok=True)
        r = run(["gcc", "-O2", "-o", exe, EMBED / "lua_call.c", "-I/usr/include/lua5.4", "-llua5.4"])
        if r.ok:
            lua_argv = [exe]
            v = run(["sh", "-c", "dpkg-query -W -f='${Version}' liblua5.4-dev"])
            env.versions["liblua5.4"] = "Lua 5.4 C API (liblua5.4-dev " + (v.out.strip() or "?") + ", gcc -O2)"
        else:
            env.missing["lua_call"] = "gcc lua_call.c failed: " + r.why()
    elif "liblua5.4" not in env.missing:
        env.missing["liblua5.4"] = "liblua5.4-dev is not installed (--no-install)"
    return vm_argv, lua_argv


def group_embedding(env, cfg):
    g = Group("embedding")
    vm_argv, lua_argv = setup_embedding(env)
    calls, trials = str(cfg.embed_calls), str(cfg.embed_trials)
    vm = {c: g.s(f"vecvm.{c}", "ns") for c, _, _ in EMBED_CASES}
    lua = {c: g.s(f"lua.{c}", "ns") for c in sorted({l for _, l, _ in EMBED_CASES})}

    def j(argv, series, tool):
        def f():
            if argv is None:
                for s in series.values():
                    s.fail(env.missing.get(tool, f"{tool} unavailable"))
                return
            r = run([*argv, calls, trials], timeout=600)
            rows = {d.get("case"): d for d in kv_lines(r.out, "bench")}
            for k, s in series.items():
                if r.ok and k in rows:
                    s.add(float(rows[k]["ns_per_call"]))
                else:
                    s.fail(r.why() if not r.ok else "no output")
        return f

    interleave(cfg.reps, [("callbench", j(vm_argv, vm, "callbench")), ("lua_call", j(lua_argv, lua, "lua_call"))])

    # Instructions per call (callgrind): the same on a loaded machine as on a quiet one. The difference
    # between runs of 4,000 and 2,000 calls (one trial, after the 1,000 warm-up calls) ÷ 2,000.
    def instructions(argv, case):
        if argv is None or not shutil.which("valgrind"):
            return None
        totals = []
        for n in (2000, 4000):
            out = OUT / f"callgrind-{Path(argv[0]).name}-{case}-{n}.out"
            r = run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv, str(n), "1", case],
                    timeout=600)
            m = re.search(r"Collected : (\d+)", r.err)
            if not r.ok or not m:
                return None
            totals.append(int(m.group(1)))
        return (totals[1] - totals[0]) / 2000

    ins_rows = []
    for c, l, label in EMBED_CASES:
        vi, li = instructions(vm_argv, c), instructions(lua_argv, l)
        g.extra_json.setdefault("instructions_per_call", {})[c] = {"vecvm": vi, "lua": li}
        ins_rows.append([label, f"{vi:.0f}" if vi else "n/a", f"{li:.0f}" if li else "n/a",
                         f"{vi / li:.2f}×" if vi and li else "—"])
    rows = []
    for c, l, label in EMBED_CASES:
        goal = "—"
        if vm[c].median is not None:
            goal = "met" if vm[c].median <= 1000 else "not met"
        rows.append([label, vm[c].cell(), lua[l].cell(), ratio(lua[l], vm[c]), ratio(vm[c], lua[l]), goal])
    g.table("Embedding: one call from the host into a small function, ns per call (median ±half-range)",
            ["call", "VecVM (Swift)", "Lua 5.4 (C API)", "Lua ÷ VecVM", "VecVM ÷ Lua (times slower)",
             "goal: ≤ 1 µs"], rows,
            [f"Each process makes {cfg.embed_calls:,} calls per trial, {cfg.embed_trials} trials after 1,000 "
             "warm-up calls, and reports the median time per call; the cell is the median over repetitions. "
             "`id(x)` returns its argument. VecVM's calls of functions that need no task run on the calling "
             "thread (DirectCall.swift); the call checks the argument types, takes a pooled task state, "
             "runs the interpreter, and converts the result. Lua looks the function up by name too "
             "(`lua_getglobal`) and calls it with `lua_pcall`."])
    g.table("Embedding: instructions per call (callgrind; independent of machine load)",
            ["call", "VecVM", "Lua 5.4", "VecVM ÷ Lua"], ins_rows,
            ["`valgrind --tool=callgrind` over 2,000 and 4,000 calls of each case (one trial after 1,000 "
             "warm-up calls); the difference ÷ 2,000. Instructions are not cycles: VecVM's include atomic "
             "reference counting and a few locked instructions per call, which cost more cycles each than "
             "Lua's plain loads and stores."])
    return g


# ----------------------------------------------------------------------------------------------------

class Config:
    def __init__(self, quick, reps):
        self.quick = quick
        self.reps = reps or (2 if quick else 5)
        self.sizes = [1_000_000, 16_000_000]
        self.ktrials = 2 if quick else 5
        self.stream = not quick
        self.pp_rounds, self.pp_trials = (100_000, 5) if quick else (200_000, 7)
        self.spawn_n = 100_000
        self.cpu_tasks, self.cpu_iters = 4, (10_000_000 if quick else 20_000_000)
        self.lat_samples = 50 if quick else 200
        self.klat_samples, self.klat_n = (10, 48_000_000) if quick else (60, 48_000_000)
        self.kthr_n = 48_000_000
        self.kthr_passes, self.kthr_trials = (3, 2) if quick else (10, 3)
        self.vm_n = 1_000_000
        self.vm_passes, self.vm_trials = (2, 2) if quick else (5, 3)
        self.io_elements = 25_000_000          # 100 MB of f32
        self.io_trials = 3 if quick else 5
        self.embed_calls, self.embed_trials = (20_000, 3) if quick else (20_000, 7)


# ----------------------------------------------------------------------------------------------------
# Group 5: .npy input and output

def group_io(env, cfg):
    """load_f32 / sum / save of a 1-D float32 .npy file written by numpy, beside numpy.load / np.sum /
    numpy.save, and read() into a fresh buffer as the page-cache reference."""
    g = Group("io")
    ops = ("load", "sum", "save")
    S = lambda impl, op: g.s(f"{impl}.{op}", "GB/s", True)
    data = OUT / "io" / "data.npy"
    if not env.tools.get("numpy"):
        for op in ops:
            S("vecvm", op).fail(env.missing["numpy"])
        g.table("`.npy` input and output", ["operation", "VecVM", "numpy"], [["—", "n/a", env.missing["numpy"]]])
        return g
    data.parent.mkdir(parents=True, exist_ok=True)
    n = cfg.io_elements
    r = run([env.tools["numpy"], "-c",
             "import numpy as np, sys; np.save(sys.argv[1], np.linspace(-1, 1, int(sys.argv[2]), dtype='<f4'))",
             data, n])
    if not r.ok:
        raise SystemExit(f"cannot write {data}: {r.why()}")
    prog = env.vec("npy_io", TRIALS=cfg.io_trials)
    checks = {}

    def collect(impl, r, extra=()):
        rows = kv_lines(r.out, "bench")
        m = re.search(r"^check (\S+)", r.out, re.M)
        if r.ok and m:
            checks.setdefault(impl, set()).add(m.group(1))
        for op in (*ops, *extra):
            sel = [d for d in rows if d.get("op") == op]
            if r.ok and sel:
                S(impl, op).add(statistics.median(int(d["bytes"]) / int(d["ns"]) for d in sel))  # B/ns = GB/s
            else:
                S(impl, op).fail(r.why() if not r.ok else "no output")

    def j_vm():
        r = run([env.vecvm, "run", prog, data, OUT / "io" / "vecvm_out.npy"], timeout=600)
        collect("vecvm", r)

    def j_np():
        r = run([env.tools["numpy"], BENCH / "peers" / "np_io.py", data, OUT / "io" / "numpy_out.npy",
                 cfg.io_trials], env={"OPENBLAS_NUM_THREADS": "1"}, timeout=600)
        collect("numpy", r, extra=("read",))

    interleave(cfg.reps, [("vecvm npy_io", j_vm), ("numpy io", j_np)])
    labels = {"load": "`load_f32` / `numpy.load` (page cache warm)", "sum": "`sum` of the loaded array",
              "save": "`save` / `numpy.save`"}
    rows = [[labels[op], S("vecvm", op).cell(), S("numpy", op).cell(), ratio(S("vecvm", op), S("numpy", op))]
            for op in ops]
    rows.append(["reference: `read()` into a fresh buffer (numpy `readinto`)", "", S("numpy", "read").cell(),
                 ratio(S("vecvm", "load"), S("numpy", "read"))])
    sums = "; ".join(f"{impl} {', '.join(sorted(v))}" for impl, v in sorted(checks.items()))
    g.table(f"`.npy` of {n:,} f32 ({n * 4 / 1e6:.0f} MB): GB/s of array bytes (median ±half-range)",
            ["operation", "VecVM", "numpy", "VecVM ÷ numpy"], rows,
            [f"Above 1.00 VecVM is faster. The file is written by numpy and read from the page cache (one "
             f"warm-up load first); each process times {cfg.io_trials} trials of each operation itself and a "
             f"repetition's value is their median. `save` writes a temporary file and renames it over the "
             f"target (numpy writes in place). The last row's ratio compares VecVM's load with a plain "
             f"read() into fresh memory. Sums of the loaded array (f32, each adds in its own order): {sums}."])
    return g


def machine_info():
    info = {"host": platform.node(), "kernel": platform.release(), "python": platform.python_version(),
            "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    r = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    d = run(["git", "-C", REPO, "diff", "HEAD", "--", "Sources", "Package.swift"])
    u = run(["git", "-C", REPO, "ls-files", "--others", "--exclude-standard", "--", "Sources"])
    info["commit"] = r.out.strip()
    if d.out.strip() or u.out.strip():
        # identify the exact tree that was built: a hash of the diff and the untracked file names
        h = hashlib.sha1((d.out + u.out).encode()).hexdigest()[:10]
        info["commit"] += f" + uncommitted changes in Sources/ (diff hash {h})"
    return info


def main():
    ap = argparse.ArgumentParser(description="VecVM side-by-side benchmarks (see bench/README.md)")
    ap.add_argument("--quick", action="store_true", help="few repetitions and samples: a smoke run")
    ap.add_argument("--only", help="comma-separated groups: " + ", ".join(GROUPS))
    ap.add_argument("--reps", type=int, help="repetitions per benchmark (default 5, --quick 2)")
    ap.add_argument("--no-build", action="store_true", help="use the existing .build-bench/release/vecvm")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing peers")
    ap.add_argument("--peers", help="directory of the peer programs (default: ../shared/peers)")
    ap.add_argument("--out", help="Markdown output (default bench/results/latest.md; JSON beside it)")
    args = ap.parse_args()
    groups = GROUPS if not args.only else [x.strip() for x in args.only.split(",") if x.strip()]
    for x in groups:
        if x not in GROUPS:
            ap.error(f"unknown group {x!r}; groups: {', '.join(GROUPS)}")
    cfg = Config(args.quick, args.reps)
    t_start = time.monotonic()
    started = datetime.datetime.now().astimezone()
    env = Env(args)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(OUT / "failures", ignore_errors=True)
    if any(x != "embedding" for x in groups):  # the embedding group builds its own (bench/embed)
        build_vecvm(env)
    setup_peers(env, groups)
    info = machine_info()
    shared = {}
    done = []
    for name in groups:
        log(f"group {name}: {cfg.reps} repetitions ...")
        l0 = os.getloadavg()[0]
        t0 = time.monotonic()
        fn = {"interpreter": lambda: group_interpreter(env, cfg), "calls": lambda: group_calls(env, cfg),
              "kernels": lambda: group_kernels(env, cfg),
              "vmath": lambda: group_vmath(env, cfg),
              "runtime": lambda: group_runtime(env, cfg, shared),
              "preemption": lambda: group_preemption(env, cfg, shared), "io": lambda: group_io(env, cfg),
              "embedding": lambda: group_embedding(env, cfg)}[name]
        g = fn()
        g.load = [l0, os.getloadavg()[0]]
        g.seconds = time.monotonic() - t0
        g.notes.insert(0, f"_{g.seconds:.0f} s; 1-minute load average {l0:.2f} before, "
                          f"{g.load[1]:.2f} after (2 CPUs)._")
        done.append(g)
        log(f"group {name} done in {g.seconds:.0f} s")
        print("\n" + g.markdown(), flush=True)

    total = time.monotonic() - t_start
    command = f"bench/run.sh{' --quick' if cfg.quick else ''}{' --only ' + args.only if args.only else ''}"
    out_md = Path(args.out) if args.out else RESULTS / "latest.md"
    this_run = {"started": started.isoformat(), "command": command, "commit": info["commit"]}
    # A partial run (--only) into the default file keeps the other groups of the file it replaces, each
    # marked with the run it comes from, so that latest.md always has every group.
    kept = kept_groups(out_md, [g.name for g in done]) if args.only and not args.out else {}
    head = [
        "# VecVM benchmarks, side by side with their peers",
        "",
        f"Generated by `{command}` on {started:%Y-%m-%d %H:%M %Z}, "
        f"{total:.0f} s in all. {cfg.reps} repetitions per benchmark, interleaved with the peers; "
        "cells are the median ±half the min–max range, as a percentage of the median.",
    ]
    if kept:
        head[-1] += (f" This run measured {', '.join(g.name for g in done)}; the other groups "
                     f"({', '.join(kept)}) are kept from earlier runs, and each says which.")
    head += [
        "",
        f"- machine: {info.get('cpu', '?')}, {info['cpus']} CPUs, Linux {info['kernel']} (shared with "
        "other work: see the load averages)",
        f"- VecVM: {env.versions.get('vecvm', '?')}, commit {info['commit']}; JIT: {env.jit or 'not measured'}",
        "- peers: " + ("; ".join(v for k, v in env.versions.items() if k != "vecvm") or "none"),
    ]
    if env.missing:
        head.append("- unavailable: " + "; ".join(f"{k}: {v}" for k, v in env.missing.items()))
    sections = {g.name: g.markdown() for g in done}
    for name, k in kept.items():
        sections[name] = k["markdown"]
    order = [x for x in GROUPS if x in sections] + [x for x in sections if x not in GROUPS]
    md = "\n".join(head) + "\n\n" + "\n".join(sections[x] for x in order)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(md)
    groups_json = {g.name: {"run": this_run, "seconds": g.seconds, "load_avg_before_after": g.load,
                            **g.extra_json, "series": {k: s.to_json() for k, s in g.series.items()},
                            "markdown": sections[g.name]} for g in done}
    for name, k in kept.items():
        groups_json[name] = k["json"]
    raw = {"started": started.isoformat(), "seconds": total, "quick": cfg.quick, "reps": cfg.reps,
           "config": vars(cfg), "machine": info, "versions": env.versions, "jit": env.jit,
           "unavailable": env.missing, "groups": {x: groups_json[x] for x in order}}
    out_md.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
    log(f"wrote {out_md} and {out_md.with_suffix('.json')} ({total:.0f} s)")


def kept_groups(out_md, measured):
    """The groups of the previous out_md/.json that this run did not measure: {name: {markdown, json}}.
    Each group's JSON carries the run it was measured in ("run"); its Markdown gets a line saying so."""
    try:
        prev = json.loads(out_md.with_suffix(".json").read_text())
        prev_md = out_md.read_text()
    except (OSError, ValueError):
        return {}
    # sections of the old Markdown, for files written before each group's JSON kept its own Markdown
    parts = re.split(r"^## (\S+)\n", prev_md, flags=re.M)
    md_of = {parts[i]: "## " + parts[i] + "\n" + parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    kept = {}
    for name, gj in prev.get("groups", {}).items():
        if name in measured:
            continue
        run = gj.get("run") or {"started": prev.get("started"),
                                "command": "bench/run.sh" + (" --quick" if prev.get("quick") else ""),
                                "commit": prev.get("machine", {}).get("commit")}
        text = gj.get("markdown") or md_of.get(name)
        if not text:
            continue
        text = text.rstrip("\n") + "\n"
        if "_Kept from an earlier run" not in text:       # say where it comes from, under its heading
            lines = text.split("\n", 1)
            text = (lines[0] + "\n\n" + f"_Kept from an earlier run: `{run['command']}` started "
                    f"{run['started']} at commit {run['commit']}._\n" + lines[1])
        kept[name] = {"markdown": text, "json": {**gj, "run": run, "markdown": text}}
    return kept

if __name__ == "__main__":
    main()
