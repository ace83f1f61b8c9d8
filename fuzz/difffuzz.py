#!/usr/bin/env python3
"""difffuzz: differential testing of vecvm with generated programs (fuzz/vecgen.py).

Every program runs in three modes, which must print the same standard output and standard error
and exit with the same status:
    jit      vecvm run --procs 1                    (kernels and functions as native code)
    nojit    vecvm run --no-jit --procs 1           (everything interpreted)
    procs2   vecvm run --procs 2 --quantum 50us     (JIT, 2 Ps, a tiny quantum: asynchronous
                                                    preemption lands everywhere; and every wait of
                                                    a spawned task parks without its stack)
Besides a mismatch, a run that crashes (a signal, a Swift trap or backtrace, a sanitizer report),
hangs (past --timeout) or exits with a status other than 0/2 is a finding; so is a compile error
(exit 1), which means the generator made an ill-typed program.

A finding is saved to --out (the program, what each mode printed) and, with --reduce, reduced by
hierarchical delta debugging (brace-balanced line groups, then lines, then tokens) to a small
program that still fails the same way. --save-regression NAME turns a reduced finding into a test
of Tests/FuzzRegressions (see fuzz/README.md).

    python3 fuzz/difffuzz.py --vecvm .build/release/vecvm --seed 1 --count 300
    python3 fuzz/difffuzz.py --vecvm .build/release/vecvm --seed 1000 --time 3600 --jobs 2 --reduce
    python3 fuzz/difffuzz.py --vecvm ... --reduce-file prog.vec     # reduce a failing program
"""

import argparse
import concurrent.futures
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vecgen  # noqa: E402

# Every mode runs under one memory limit: a generated program that doubles a string in a loop
# would otherwise grow to the default limit (3/4 of the machine's memory) and take the machine
# with it; under the limit it ends with the same "out of memory" runtime error in every mode.
MEMORY_LIMIT = ["--memory-limit", "1G"]
MODES = [
    ("jit", ["run", "--procs", "1"] + MEMORY_LIMIT),
    ("nojit", ["run", "--no-jit", "--procs", "1"] + MEMORY_LIMIT),
    ("procs2", ["run", "--procs", "2", "--quantum", "50us"] + MEMORY_LIMIT),
]
# The environment of each mode: procs2 also makes every wait of a spawned task in a send, a receive
# or a wait park without its stack (generated programs have far fewer tasks than the default
# threshold of 1,024), so that path is compared with the stackful waits of the other two modes.
MODE_ENV = {"procs2": {"VECVM_STACKLESS_PARK_THRESHOLD": "0"}}


def mode_env(name):
    extra = MODE_ENV.get(name)
    return dict(os.environ, **extra) if extra else None
CRASH_PATTERNS = re.compile(
    r"Fatal error|Swift runtime failure|Stack dump|Current stack trace|AddressSanitizer|ThreadSanitizer|"
    r"LeakSanitizer|UndefinedBehaviorSanitizer|Segmentation fault|Illegal instruction|Assertion failed|"
    r"Crash|0x[0-9a-f]{8,} in |💣"
)
FILE_NAME = "prog.vec"


class Outcome:
    def __init__(self, rc, out, err, timed_out):
        self.rc = rc
        self.out = out
        self.err = err
        self.timed_out = timed_out

    def key(self):
        return (self.rc, self.out, self.err, self.timed_out)

    def crashed(self):
        return (not self.timed_out) and (self.rc not in (0, 1, 2) or CRASH_PATTERNS.search(self.err) is not None)


def run_mode(vecvm, args, source, timeout, env=None):
    """Runs one program in one mode in a fresh directory (the file is always prog.vec, so error
    messages name the same file in every mode)."""
    with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
        path = os.path.join(d, FILE_NAME)
        with open(path, "w") as f:
            f.write(source)
        try:
            p = subprocess.run(
                [vecvm] + args + [FILE_NAME], cwd=d, capture_output=True, timeout=timeout, env=env
            )
            return Outcome(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), False)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace")
            err = (e.stderr or b"").decode("utf-8", "replace")
            return Outcome(-9, out, err, True)


def run_all(vecvm, source, timeout, modes=MODES, confirm_timeouts=True):
    results = {name: run_mode(vecvm, args, source, timeout, mode_env(name)) for (name, args) in modes}
    if confirm_timeouts:
        # On a loaded machine a run can take far longer than usual: a timeout counts only if the
        # run times out again with five times the time.
        for (name, args) in modes:
            if results[name].timed_out:
                results[name] = run_mode(vecvm, args, source, timeout * 5, mode_env(name))
    return results


def classify(results):
    """(kind, signature): kind is ok, invalid, crash, timeout or mismatch; the signature says which
    modes failed (or how the modes split into groups with the same output), the reducer keeps it."""
    crashed = sorted(n for n, o in results.items() if o.crashed())
    if crashed:
        return "crash", ("crash", tuple(crashed))
    timed = sorted(n for n, o in results.items() if o.timed_out)
    if timed:
        return "timeout", ("timeout", tuple(timed))
    groups = {}
    for n, o in results.items():
        groups.setdefault(o.key(), []).append(n)
    if len(groups) > 1:
        return "mismatch", ("mismatch", tuple(sorted(tuple(sorted(g)) for g in groups.values())))
    only = next(iter(results.values()))
    if only.rc == 1:
        return "invalid", ("invalid",)
    return "ok", ("ok",)


def describe(results):
    parts = []
    for n, o in results.items():
        parts.append("==== %s: exit %s%s\n---- stdout\n%s---- stderr\n%s" % (
            n, o.rc, " (timed out)" if o.timed_out else "", o.out, o.err))
    return "\n".join(parts)


# ---- reduction -----------------------------------------------------------------------------------


def ddmin(units, test, budget):
    """Zeller's ddmin (complements only): a smaller list of units for which test() still holds."""
    n = 2
    while len(units) >= 2 and budget[0] > 0:
        chunk = (len(units) + n - 1) // n
        reduced = False
        for i in range(0, len(units), chunk):
            cand = units[:i] + units[i + chunk:]
            budget[0] -= 1
            if test(cand):
                units = cand
                n = max(n - 1, 2)
                reduced = True
                break
            if budget[0] <= 0:
                break
        if not reduced:
            if n >= len(units):
                break
            n = min(len(units), n * 2)
    if len(units) == 1 and budget[0] > 0:
        budget[0] -= 1
        if test([]):
            return []
    return units


def parse_tree(lines):
    """Lines into nested groups by braces: {'line': s} or {'head': s, 'kids': [...], 'foot': s}.
    A line like `} else {` stays a leaf among the kids (removing it merges the two branches)."""
    root = {"head": None, "kids": [], "foot": None}
    stack = [root]
    for line in lines:
        opens = line.count("{")
        closes = line.count("}")
        stripped = line.strip()
        if opens > closes and not stripped.startswith("}"):
            node = {"head": line, "kids": [], "foot": None}
            stack[-1]["kids"].append(node)
            stack.append(node)
        elif closes > opens and len(stack) > 1 and stripped.startswith("}"):
            node = stack.pop()
            node["foot"] = line
        else:
            stack[-1]["kids"].append({"line": line})
    while len(stack) > 1:  # unbalanced: keep the text as it was
        node = stack.pop()
        node["foot"] = ""
    return root


def render(node, out):
    if "line" in node:
        out.append(node["line"])
        return
    if node["head"] is not None:
        out.append(node["head"])
    for k in node["kids"]:
        render(k, out)
    if node["foot"]:
        out.append(node["foot"])


def text_of(root):
    out = []
    render(root, out)
    return "\n".join(out) + "\n"


TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|0x[0-9A-Fa-f_]+|[0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|\.\.|->|[-+*/%<>=!&|]=?|&&|\|\||\s+|.')


def reduce_program(source, interesting, max_tests=4000, log=None):
    budget = [max_tests]

    def say(msg):
        if log:
            log(msg)

    # 1. Brace groups, outermost first (hierarchical delta debugging).
    root = parse_tree(source.rstrip("\n").split("\n"))

    def hdd(node):
        if "line" in node:
            return

        def test(kids):
            saved = node["kids"]
            node["kids"] = kids
            ok = interesting(text_of(root))
            node["kids"] = saved if not ok else kids
            return ok

        node["kids"] = ddmin(node["kids"], test, budget)
        for k in list(node["kids"]):
            hdd(k)

    hdd(root)
    text = text_of(root)
    say("after groups: %d lines" % text.count("\n"))
    # 2. Lines.
    lines = text.rstrip("\n").split("\n")
    lines = ddmin(lines, lambda ls: interesting("\n".join(ls) + "\n"), budget)
    text = "\n".join(lines) + "\n"
    say("after lines: %d lines" % len(lines))
    # 3. Tokens (whitespace is kept with the token before it).
    toks = TOKEN.findall(text)
    units = []
    for t in toks:
        if t.isspace() and units and "\n" not in t:
            units[-1] += t
        else:
            units.append(t)
    units = ddmin(units, lambda us: interesting("".join(us)), budget)
    text = "".join(units)
    if not text.endswith("\n"):
        text += "\n"
    say("after tokens: %d lines, %d characters (%d tests left)" % (text.count("\n"), len(text), budget[0]))
    return text


def make_interesting(vecvm, signature, timeout):
    def interesting(src):
        r = run_all(vecvm, src, timeout, confirm_timeouts=False)
        if classify(r)[1] != signature:
            return False
        # Confirm once more: a candidate whose outputs vary from run to run (a race the reduction
        # introduced, e.g. by deleting a wait) must not steer the reduction.
        return classify(run_all(vecvm, src, timeout, confirm_timeouts=False))[1] == signature

    return interesting


# ---- regression files ----------------------------------------------------------------------------


def save_regression(root, name, source, results, reference, note):
    """Tests/FuzzRegressions/NAME.vec with NAME.out (the reference mode's stdout) and, when it does
    not exit 0, NAME.status (exit status; a regular expression the error output must match)."""
    d = os.path.join(root, "Tests", "FuzzRegressions")
    os.makedirs(d, exist_ok=True)
    ref = results[reference]
    header = "// fuzz regression: %s\n" % note
    with open(os.path.join(d, name + ".vec"), "w") as f:
        f.write(header + source)
    with open(os.path.join(d, name + ".out"), "w") as f:
        f.write(ref.out)
    status = os.path.join(d, name + ".status")
    if ref.rc != 0:
        first = ref.err.strip().split("\n")[0] if ref.err.strip() else ""
        msg = re.sub(r"^[^:]*:\d+:\d+: ", "", first)
        with open(status, "w") as f:
            f.write("%d\n%s\n" % (ref.rc, re.escape(msg)))
    elif os.path.exists(status):
        os.remove(status)
    return os.path.join(d, name + ".vec")


# ---- campaign ------------------------------------------------------------------------------------


class Campaign:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.counts = {"ok": 0, "invalid": 0, "crash": 0, "timeout": 0, "mismatch": 0}
        self.programs = 0
        self.runs = 0
        self.findings = []
        os.makedirs(a.out, exist_ok=True)

    @staticmethod
    def cpu_seconds():
        """CPU time of every vecvm run so far (user + system, children that have ended)."""
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    def log(self, msg):
        with self.lock:
            print(msg, flush=True)

    def one(self, seed):
        a = self.a
        source = vecgen.generate(seed, v1=a.v1, size=a.size)
        results = run_all(a.vecvm, source, a.timeout)
        kind, sig = classify(results)
        with self.lock:
            self.programs += 1
            self.runs += len(results)
            self.counts[kind] += 1
        if kind == "ok":
            return
        if kind == "invalid" and not a.keep_invalid:
            first = results["nojit"].err.strip().split("\n")[0]
            self.log("seed %d: INVALID (generator bug): %s" % (seed, first))
            path = os.path.join(a.out, "invalid-%d.vec" % seed)
            with open(path, "w") as f:
                f.write(source)
            return
        base = os.path.join(a.out, "%s-%d" % (kind, seed))
        with open(base + ".vec", "w") as f:
            f.write(source)
        with open(base + ".txt", "w") as f:
            f.write("%s %s\n\n%s" % (kind, sig, describe(results)))
        self.log("seed %d: %s %s -> %s.vec" % (seed, kind.upper(), sig, base))
        self.findings.append((seed, kind, sig, base))
        if a.reduce and kind not in ("invalid", "timeout"):
            small = reduce_program(source, make_interesting(a.vecvm, sig, a.timeout), log=lambda m: self.log("  reduce %d: %s" % (seed, m)))
            with open(base + ".min.vec", "w") as f:
                f.write(small)
            with open(base + ".min.txt", "w") as f:
                f.write("%s %s\n\n%s" % (kind, sig, describe(run_all(a.vecvm, small, a.timeout))))
            self.log("seed %d: reduced to %s.min.vec (%d lines)" % (seed, base, small.count("\n")))

    def run(self):
        a = self.a
        start = time.time()
        seeds = iter(range(a.seed, a.seed + (a.count if a.count else 10 ** 12)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            pending = set()
            while True:
                while len(pending) < a.jobs * 2:
                    if a.time and time.time() - start > a.time:
                        break
                    if a.cpu and self.cpu_seconds() > a.cpu:
                        break
                    s = next(seeds, None)
                    if s is None:
                        break
                    pending.add(ex.submit(self.one, s))
                if not pending:
                    break
                done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for f in done:
                    f.result()
                if a.progress and self.programs % a.progress == 0:
                    self.log("... %d programs, %s" % (self.programs, self.counts))
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = ru.ru_utime + ru.ru_stime
        wall = time.time() - start
        self.log("difffuzz: %d programs (%d runs), seeds %d..%d, %s; %.0f s wall, %.0f s CPU of the runs" % (
            self.programs, self.runs, a.seed, a.seed + self.programs - 1, self.counts, wall, cpu))
        bad = self.counts["crash"] + self.counts["timeout"] + self.counts["mismatch"] + self.counts["invalid"]
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vecvm", default=".build/release/vecvm")
    ap.add_argument("--seed", type=int, default=1, help="first seed (programs use seed, seed+1, ...)")
    ap.add_argument("--count", type=int, default=0, help="number of programs (0: until --time)")
    ap.add_argument("--time", type=float, default=0, help="stop starting programs after this many seconds")
    ap.add_argument("--cpu", type=float, default=0, help="... or once the runs have used this much CPU time")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30, help="seconds one run may take (a timeout is confirmed with 5x)")
    ap.add_argument("--v1", action="store_true", help="generate LANGUAGE.md v1's additions too")
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--reduce", action="store_true", help="reduce each finding")
    ap.add_argument("--out", default="fuzz/findings")
    ap.add_argument("--keep-invalid", action="store_true")
    ap.add_argument("--progress", type=int, default=100)
    ap.add_argument("--reduce-file", help="reduce this program (it must fail) and print the result")
    ap.add_argument("--save-regression", metavar="NAME", help="with --reduce-file or --file: save as a test")
    ap.add_argument("--file", help="run one program in the three modes and report (exit 1 unless they agree)")
    ap.add_argument("--reference", default="nojit", help="mode whose output a saved regression expects")
    ap.add_argument("--note", default="", help="what the regression is about (its first line)")
    a = ap.parse_args()
    a.vecvm = os.path.abspath(a.vecvm)
    if not a.count and not a.time and not a.cpu and not a.reduce_file and not a.file:
        a.count = 100
    if a.reduce_file or a.file:
        src = open(a.reduce_file or a.file).read()
        r = run_all(a.vecvm, src, a.timeout)
        kind, sig = classify(r)
        print("%s %s" % (kind, sig), file=sys.stderr)
        if a.reduce_file:
            if kind in ("ok", "invalid"):
                print("the program does not fail: nothing to reduce", file=sys.stderr)
                return 1
            src = reduce_program(src, make_interesting(a.vecvm, sig, a.timeout), log=lambda m: print(m, file=sys.stderr))
            r = run_all(a.vecvm, src, a.timeout)
            sys.stdout.write(src)
        print(describe(r), file=sys.stderr)
        if a.save_regression:
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            path = save_regression(root, a.save_regression, src, r, a.reference, a.note or kind)
            print("saved %s (check its .out and .status by hand)" % path, file=sys.stderr)
        # --file: the exit status says whether the three modes agreed (CI runs saved programs so).
        return 0 if a.reduce_file or kind == "ok" else 1
    return Campaign(a).run()


if __name__ == "__main__":
    sys.exit(main())
