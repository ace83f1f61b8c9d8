#!/usr/bin/env python3
"""The peer of bench/vec/npy_io.vec: numpy.load of a 1-D float32 .npy file, np.sum of it, numpy.save,
timed the same way (one warm-up load first), plus the reference for "page-cache speed": read() of the
data into a freshly allocated buffer (np.empty + readinto, what np.fromfile does for a file).
usage: np_io.py SOURCE.npy TARGET.npy TRIALS
Prints: bench op=load|sum|save|read bytes=B ns=T, and `check SUM`."""
import sys
import time

import numpy as np

source, target, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = np.load(source)
nbytes = a.nbytes
for _ in range(trials):
    t0 = time.perf_counter_ns()
    a = np.load(source)
    t1 = time.perf_counter_ns()
    print(f"bench op=load bytes={nbytes} ns={t1 - t0}")
total = None
for _ in range(trials):
    t0 = time.perf_counter_ns()
    total = np.sum(a)
    t1 = time.perf_counter_ns()
    print(f"bench op=sum bytes={nbytes} ns={t1 - t0}")
for _ in range(trials):
    t0 = time.perf_counter_ns()
    np.save(target, a)
    t1 = time.perf_counter_ns()
    print(f"bench op=save bytes={nbytes} ns={t1 - t0}")
for _ in range(trials):
    with open(source, "rb") as f:
        # the header's length is in bytes 8..9 (version 1.0)
        head = f.read(10)
        f.seek(10 + int.from_bytes(head[8:10], "little"))
        t0 = time.perf_counter_ns()
        buf = np.empty(len(a), dtype=np.float32)
        f.readinto(buf)
        t1 = time.perf_counter_ns()
    print(f"bench op=read bytes={nbytes} ns={t1 - t0}")
print("check", total)
