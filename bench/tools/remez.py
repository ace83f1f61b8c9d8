"""Minimax polynomial fits for the vector math library (Sources/VecVM/Math), with mpmath.

A weighted Remez exchange: find coefficients c_i minimizing  max |w(x) * (g(x) - sum_i c_i * phi_i(x))|
over [a, b], for a basis phi_i (powers of x, usually) that forms a Chebyshev (Haar) system on the
interval. Then the coefficients are rounded to the target format one at a time, refitting the
remaining ones after each rounding, so that the rounding of the leading coefficients is compensated
by the others.

Used by math_coefficients.py; see that file for how to rerun.
"""

import mpmath
from mpmath import mp, mpf

mp.prec = 200


def _solve(g_ref, basis_ref, w_ref):
    """Solves sum_i c_i phi_i(x_k) + (-1)^k E / w(x_k) = g(x_k) for c and E."""
    n = len(basis_ref[0])
    m = n + 1
    A = mpmath.matrix(m, m)
    rhs = mpmath.matrix(m, 1)
    for k in range(m):
        for i in range(n):
            A[k, i] = basis_ref[k][i]
        A[k, n] = (-1) ** k / w_ref[k]
        rhs[k] = g_ref[k]
    sol = mpmath.lu_solve(A, rhs)
    return [sol[i] for i in range(n)], sol[n]


def _grid(a, b, count):
    """Chebyshev-distributed points of [a, b] (dense near the ends), endpoints included."""
    pts = []
    for k in range(count + 1):
        t = mpmath.cos(mp.pi * k / count)
        pts.append((a + b) / 2 + (b - a) / 2 * t)
    pts.sort()
    return pts


def remez(g, basis, w, a, b, grid=3000, iters=40, avoid=None, tol=mpf("1e-5")):
    """Returns (coefficients, max weighted error). `g`, `w`: functions of x; `basis`: list of functions.
    `avoid`: a point (such as 0) where g or w is singular; grid points within 1e-30 of it are skipped."""
    a = mpf(a)
    b = mpf(b)
    n = len(basis)
    xs = [x for x in _grid(a, b, grid) if avoid is None or abs(x - avoid) > mpf("1e-30")]
    G = [g(x) for x in xs]
    W = [w(x) for x in xs]
    P = [[phi(x) for phi in basis] for x in xs]
    # Points where every basis function (nearly) vanishes, such as x = 0 for powers, carry no
    # information and make the reference system singular: leave them out.
    keep = [k for k in range(len(xs)) if max(abs(v) for v in P[k]) > mpf("1e-60")]
    xs = [xs[k] for k in keep]
    G = [G[k] for k in keep]
    W = [W[k] for k in keep]
    P = [P[k] for k in keep]
    # Initial reference: n + 1 Chebyshev nodes, their angles shifted a little so that none falls on
    # the middle of the interval (where a basis of powers vanishes on a symmetric interval), each
    # snapped to the nearest grid point.
    ref = []
    for k in range(n + 1):
        t = mpmath.cos(mp.pi * (k + mpf("0.5")) / (n + 1) + mpf("0.01"))
        x = (a + b) / 2 - (b - a) / 2 * t
        j = min(range(len(xs)), key=lambda i: abs(xs[i] - x))
        while j in ref:
            j += 1
        ref.append(j)
    ref.sort()
    best = None
    for _ in range(iters):
        c, E = _solve([G[k] for k in ref], [P[k] for k in ref], [W[k] for k in ref])
        err = [W[k] * (G[k] - sum(ci * pi for ci, pi in zip(c, P[k]))) for k in range(len(xs))]
        maxerr = max(abs(e) for e in err)
        if best is None or maxerr < best[1]:
            best = (c, maxerr)
        if abs(E) > 0 and maxerr / abs(E) - 1 < tol:
            break
        # Local extrema of the error (by sign runs), the largest of each run.
        runs = []
        k = 0
        while k < len(err):
            s = err[k] >= 0
            j = k
            bestk = k
            while j < len(err) and (err[j] >= 0) == s:
                if abs(err[j]) > abs(err[bestk]):
                    bestk = j
                j += 1
            runs.append(bestk)
            k = j
        # Keep n + 1 alternating extrema: drop the smallest at the ends while there are too many.
        while len(runs) > n + 1:
            if abs(err[runs[0]]) < abs(err[runs[-1]]):
                runs.pop(0)
            else:
                runs.pop()
        if len(runs) < n + 1:
            break
        ref = runs
    return best


def round_to(x, fmt):
    """x rounded to nearest in the format ('f64' or 'f32'), as an mpf."""
    bits = 53 if fmt == "f64" else 24
    if x == 0:
        return mpf(0)
    e = mpmath.floor(mpmath.log(abs(x), 2))
    scale = mpf(2) ** (bits - 1 - e)
    return mpmath.nint(x * scale) / scale


def fit_rounded(g, basis, w, a, b, fmt, fixed=None, grid=3000, avoid=None):
    """Remez fit, then rounds the coefficients to `fmt` lowest index first, refitting the rest.
    Returns (rounded coefficients, max weighted error of the rounded polynomial, exact evaluation)."""
    n = len(basis)
    rounded = []
    for i in range(n):
        done = list(rounded)

        def g2(x, done=done):
            return g(x) - sum(c * basis[j](x) for j, c in enumerate(done))

        c, _ = remez(g2, basis[i:], w, a, b, grid=grid, avoid=avoid)
        rounded.append(round_to(c[0], fmt))
    xs = [x for x in _grid(mpf(a), mpf(b), grid * 2) if avoid is None or abs(x - avoid) > mpf("1e-30")]
    err = max(abs(w(x) * (g(x) - sum(c * phi(x) for c, phi in zip(rounded, basis)))) for x in xs)
    return rounded, err


def powers(first, step, count):
    return [(lambda x, p=first + step * i: x**p) for i in range(count)]
