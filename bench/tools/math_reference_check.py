# Checks the reference functions of the accuracy harness (glibc's Float80 expl, logl, sinl, cosl, tanhl,
# powl and the f64 ones used for f32) against mpmath at 400 bits, at the points that
# math_reference_points.swift prints (see there for the commands).
import struct, sys
import mpmath
from mpmath import mp, mpf
mp.prec = 400
def d(bits): return mpf(struct.unpack('<d', struct.pack('<Q', int(bits)))[0])
F = {'exp': lambda a: mpmath.exp(a[0]), 'log': lambda a: mpmath.log(a[0]), 'sin': lambda a: mpmath.sin(a[0]),
     'cos': lambda a: mpmath.cos(a[0]), 'tanh': lambda a: mpmath.tanh(a[0]), 'pow': lambda a: mpmath.power(a[0], a[1])}
def ulp(v, p, emin):
    e = int(mpmath.floor(mpmath.log(abs(v), 2))) if v != 0 else emin
    return mpf(2) ** (max(e, emin) - (p - 1))
worst = {}
for line in open(sys.argv[1]):
    parts = line.split()
    name = parts[0]
    args = [d(b) for b in parts[1].split(',')]
    exact = F[name.rstrip('D')](args)
    if name.endswith('D'):
        v = d(parts[2])
        key = name
        err80 = None
        err64 = abs(v - exact) / ulp(exact, 53, -1022)
    else:
        sign, e, sig = int(parts[2]), int(parts[3]), int(parts[4])
        v = (-1 if sign else 1) * mpf(sig) * mpf(2) ** (e - 63)
        err80 = abs(v - exact) / ulp(exact, 64, -16382)
        err64 = abs(v - exact) / ulp(exact, 53, -1022)
        key = name + '80'
    w = worst.get(key, (0, 0, None))
    if err64 > w[1]: worst[key] = (err80, err64, [mpmath.nstr(a, 17) for a in args])
for k, (e80, e64, a) in sorted(worst.items()):
    print("%-7s max error %s ulp of Float80, %.2e ulp of f64, at %s" % (k, mpmath.nstr(e80, 3) if e80 is not None else '-', float(e64), a))
