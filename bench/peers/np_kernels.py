# numpy peer for bench/bench.py: the f32 cases of /work/shared/peers/np_bench.py (same data, same
# lambdas, same passes rule, same bytes counting), restricted to chosen sizes so one repetition is short.
# np.hypot (an overflow-safe hypot, a different and far slower computation) and f64 are left out.
# Run as: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 python3 np_kernels.py TRIALS N [N...]
# Prints one line per case: numpy float32 N=... KERNEL [FORM] med_ms ... GBps ...
import sys, time
import numpy as np

trials = int(sys.argv[1])
sizes = [int(a) for a in sys.argv[2:]] or [1_000_000, 16_000_000]


def bench(f, passes):
    f()
    ts = []
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(passes):
            f()
        ts.append((time.perf_counter() - t0) / passes)
    ts.sort()
    return ts[len(ts) // 2], ts[0], ts[-1]


dt = np.float32
sz = np.dtype(dt).itemsize
for N in sizes:
    mk = lambda v: (v + (np.arange(N) % 7) * 0.125).astype(dt)
    a, b, c, d, z, t = mk(1), mk(2), mk(3), mk(4), mk(0), mk(0)
    x, y = a, b
    s = dt(1.5)
    passes = 3 if N >= 8_000_000 else max(1, int(200_000_000 / N / 4))

    def saxpy_out():
        np.multiply(x, s, out=z); np.add(z, y, out=z)

    def fused_out():
        np.multiply(a, b, out=z); np.multiply(c, d, out=t); np.add(z, t, out=z)

    def hypot_out():
        np.multiply(x, x, out=z); np.multiply(y, y, out=t); np.add(z, t, out=z); np.sqrt(z, out=z)

    cases = [
        ("saxpy", "naive", lambda: s * x + y, 3),
        ("saxpy", "out", saxpy_out, 3),
        ("fused", "naive", lambda: a * b + c * d, 5),
        ("fused", "out", fused_out, 5),
        ("sum", "naive", lambda: np.sum(x), 1),
        ("dot", "naive", lambda: np.dot(x, y), 2),
        ("hypot", "naive", lambda: np.sqrt(x * x + y * y), 3),
        ("hypot", "out", hypot_out, 3),
    ]
    for k, form, f, words in cases:
        m, lo, hi = bench(f, passes)
        print(f"numpy float32 N={N} {k} [{form}] med_ms {m*1e3:.4f} min_ms {lo*1e3:.4f} max_ms {hi*1e3:.4f} "
              f"GBps {words*N*sz/m/1e9:.2f}", flush=True)
    del a, b, c, d, z, t, x, y
