# numpy peer of bench/vec/vmath.vec for bench/bench.py: np.exp, np.log, np.sin and np.tanh alone over
# N-element float32 and float64 arrays, and the softmax of an N-element float32 vector, on the same
# inputs as vmath.vec (u = (i * 7919 % N) / N over [0, 1) computed in float64, scaled to each function's
# natural range, rounded to float32 for the float32 cases) with the same trials and passes.
# Two forms per function: naive `z = np.exp(x)` (allocates the result) and `np.exp(x, out=z)`; softmax as
# a numpy user writes it: `e = np.exp(x - x.max()); e / e.sum()`.
# Run as: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 python3 np_vmath.py N PASSES TRIALS
# Prints one line per trial and one checksum per case:
#   bench fn=NAME type=f32|float form=naive|out n=N passes=P ns=ELAPSED_FOR_ALL_PASSES
#   check fn=NAME type=f32|float sum=SUM_OF_THE_RESULTS_AS_FLOAT64
import sys
import time

import numpy as np

n, passes, trials = (int(a) for a in sys.argv[1:4])

i = np.arange(n, dtype=np.int64)
u = (i * 7919 % n).astype(np.float64) / np.float64(n)          # [0, 1)
u1 = (i * 7919 % n + 1).astype(np.float64) / np.float64(n)     # (0, 1]
inputs = {
    "exp": -10.0 + 20.0 * u,
    "log": 1000.0 * u1,
    "sin": -100.0 + 200.0 * u,
    "tanh": -5.0 + 10.0 * u,
}
funcs = {"exp": np.exp, "log": np.log, "sin": np.sin, "tanh": np.tanh}


def timed(name, ty, form, f):
    f()     # untimed first pass, as vmath.vec does
    for _ in range(trials):
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            f()
        ns = time.perf_counter_ns() - t0
        print(f"bench fn={name} type={ty} form={form} n={n} passes={passes} ns={ns}", flush=True)


for ty, dt in (("f32", np.float32), ("float", np.float64)):
    for name, f in funcs.items():
        x = inputs[name].astype(dt)
        z = np.empty_like(x)
        timed(name, ty, "naive", lambda: f(x))
        timed(name, ty, "out", lambda: f(x, out=z))
        print(f"check fn={name} type={ty} sum={float(f(x).astype(np.float64).sum())!r}", flush=True)


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


x = inputs["exp"].astype(np.float32)
timed("softmax", "f32", "naive", lambda: softmax(x))
print(f"check fn=softmax type=f32 sum={float(softmax(x).astype(np.float64).sum())!r}", flush=True)
