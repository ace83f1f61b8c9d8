#!/usr/bin/env python3
"""vecgen: random, well-typed, terminating .vec programs for differential testing.

A program is generated from a seed (the same seed gives the same program). Every program:
  - type-checks (the generator tracks the static type of every expression, and the length of every
    array, so indices, slices, vload/vstore and lane numbers are in range by construction);
  - terminates quickly (loops have small constant trip counts or counters incremented first,
    recursion has a decreasing depth argument, a cost budget bounds nested loops and calls);
  - prints the same output whatever the scheduling: only one task prints at a time (a task that may
    print is waited for right after it is spawned), tasks running in the background never print,
    never fail and never write an array another task can read; channels either have one producer
    and one consumer (FIFO order) or several producers whose values are combined with a wrapping
    int sum (order-independent);
  - may end with a runtime error at a known place (index or slice out of bounds, division by zero,
    length mismatch, vload/vstore/lane out of range, negative counts, channel misuse, deadlock,
    stack overflow, a global read before its declaration, out of memory), in the main task or in a
    task the main task is waiting for.

    python3 fuzz/vecgen.py SEED [--v1] [--size N]     # print one program

`--v1` adds LANGUAGE.md v1's forms (vector math, comparisons on arrays and SIMD values giving [bool]
and masks, select, any/all/count, % on [int]); it stays off until the VM implements them.
"""

import random
import re
import sys

INT_LITS = [
    "0", "1", "2", "3", "5", "7", "8", "10", "16", "31", "100", "255", "1000", "4096", "65536",
    "1_000_000", "0x1F", "0xff", "0x7fffffff", "2147483647", "2147483648", "4294967295", "4294967296",
    "9223372036854775807", "4611686018427387904", "0x7FFF_FFFF_FFFF_FFFF", "123456789012345",
]
FLOAT_LITS = [
    "0.0", "1.0", "0.5", "0.1", "0.2", "2.5", "3.0", "10.0", "1e3", "1e-3", "2.5e-7", "123.456",
    "0.3333333333333333", "1.5", "16777217.0", "65504.0", "0.7", "1e-4", "9.9e-5", "0.25",
]
# Values at the edges (overflow, underflow, subnormals, precision limits): rare, since a NaN or an
# infinity spreads through everything computed from it and hides what came before.
FLOAT_EDGES = [
    "1e16", "1e300", "1e-300", "5e-324", "1e-310", "6.02e23", "9007199254740993.0", "3.4028235e38",
    "1e39", "1e-45", "1e-40", "2.0e38",
]
# Array lengths: the SIMD widths and their neighbours matter most (kernel heads and tails).
SMALL_LENS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33]
BIG_LENS = [63, 64, 65, 100, 127, 257, 1000, 1023, 4096, 10007]
HUGE_LENS = [65536, 100003, 250000]

NUM = ("int", "float", "f32")
FP = ("float", "f32")
ARR = {"int": "[int]", "float": "[float]", "f32": "[f32]", "bool": "[bool]"}
SIMD_OF = {"f32": "f32x8", "float": "f64x4"}
LANES = {"f32x8": 8, "f64x4": 4, "m32x8": 8, "m64x4": 4}
LANE_OF = {"f32x8": "f32", "f64x4": "float", "m32x8": "bool", "m64x4": "bool"}
MASK_OF = {"f32x8": "m32x8", "f64x4": "m64x4"}


def is_arr(t):
    return t.startswith("[")


def elem(t):
    return t[1:-1]


class Buffer:
    """The buffers an array variable may refer to (a union of aliases: `let b = a` merges them);
    frozen once another task may read it, after which the program writes no element of it."""

    def __init__(self):
        self.parent = None
        self._frozen = False

    def root(self):
        b = self
        while b.parent is not None:
            b = b.parent
        return b

    @property
    def frozen(self):
        return self.root()._frozen

    def freeze(self):
        self.root()._frozen = True


def merge(a, b):
    ra, rb = a.root(), b.root()
    if ra is not rb:
        rb.parent = ra
        ra._frozen = ra._frozen or rb._frozen


class Var:
    def __init__(self, name, ty, mutable, length=None, buf=None, fixed=False):
        self.name = name
        self.ty = ty
        self.mutable = mutable and not fixed  # loop counters and recursion depths stay as they are
        self.length = length
        self.buf = buf if buf is not None else (Buffer() if is_arr(ty) else None)


class Func:
    def __init__(self, name, params, result, kind):
        self.name = name
        self.params = params  # [(name, type, length or None)]
        self.result = result  # type or None
        self.result_len = None
        self.kind = kind  # "leaf" (native-function shaped), "general", "rec", "print", "err"
        self.prints = False
        self.writes_params = False
        self.cost = 1
        self.body = ""


class Ctx:
    """Where a statement is generated."""

    def __init__(self, func=None, in_loop=False, may_print=True, leaf=False, main=False, depth=0):
        self.func = func
        self.in_loop = in_loop
        self.may_print = may_print
        self.leaf = leaf
        self.main = main
        self.depth = depth
        self.mult = 1  # how many times this point runs per call (loops)

    def child(self, **kw):
        c = Ctx(self.func, self.in_loop, self.may_print, self.leaf, self.main, self.depth + 1)
        c.mult = self.mult
        for k, v in kw.items():
            setattr(c, k, v)
        return c


class Gen:
    def __init__(self, seed, v1=False, size=1.0):
        self.rng = random.Random(seed)
        # Draws of forms added later, which must not change what the main stream generates (the
        # seeds CI runs as regressions keep their programs, with those forms inserted).
        self.side = random.Random(seed ^ 0x5DEECE66D)
        self.seed = seed
        self.v1 = v1
        self.size = size
        self.counter = 0
        self.scopes = [[]]
        self.funcs = []
        self.cur_func = None
        self.lines = []
        self.indent = 0
        self.budget = 4_000_000  # element operations the whole program may cost (roughly)
        self.spent = 0
        self.in_conversion = 0
        self.bg_tasks = []  # (var name, result type, length) of background tasks not yet waited
        self.self_calls = 0

    # ---- helpers -------------------------------------------------------------------------------

    def r(self, n):
        return self.rng.randrange(n)

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, xs):
        return xs[self.rng.randrange(len(xs))]

    def fresh(self, prefix="v"):
        self.counter += 1
        return "%s%d" % (prefix, self.counter)

    def emit(self, line):
        self.lines.append("    " * self.indent + line)

    def push(self):
        self.scopes.append([])

    def pop(self):
        self.scopes.pop()

    def declare(self, v):
        self.scopes[-1].append(v)
        return v

    def visible(self):
        seen = {}
        for scope in self.scopes:
            for v in scope:
                seen[v.name] = v
        return list(seen.values())

    def vars_of(self, ty, length=None, mutable=None, unfrozen=False):
        out = []
        for v in self.visible():
            if v.ty != ty:
                continue
            if length is not None and v.length != length:
                continue
            if mutable is not None and v.mutable != mutable:
                continue
            if unfrozen and v.buf is not None and v.buf.frozen:
                continue
            out.append(v)
        return out

    def arrays_at_least(self, el, n, unfrozen=False):
        return [
            v for v in self.visible()
            if v.ty == ARR[el] and v.length is not None and v.length >= n and not (unfrozen and v.buf.frozen)
        ]

    def spend(self, ctx, n):
        self.spent += n * ctx.mult
        return self.spent < self.budget

    def cheap(self, ctx, n):
        return self.spent + n * ctx.mult < self.budget

    def array_len(self, ctx):
        k = self.r(100)
        if k < 70:
            return self.pick(SMALL_LENS)
        if k < 95 or not self.cheap(ctx, 300_000):
            return self.pick(BIG_LENS)
        return self.pick(HUGE_LENS)

    # ---- scalar expressions --------------------------------------------------------------------

    def int_lit(self):
        k = self.r(10)
        if k < 5:
            return str(self.r(20))
        if k < 9:
            return self.pick(INT_LITS)
        return "(-%s)" % self.pick(INT_LITS + ["9223372036854775808"])

    def float_lit(self):
        k = self.r(100)
        if k < 35:
            return self.pick(FLOAT_LITS)
        if k < 70:
            return "%d.%d" % (self.r(20), self.r(1000))
        if k < 90:
            return "(-%s)" % self.pick(FLOAT_LITS)
        if k < 95:
            return self.pick(FLOAT_EDGES)
        if k < 96:
            return "(-0.0)"
        if k < 97:
            return "(1.0 / 0.0)"
        if k < 98:
            return "(-1.0 / 0.0)"
        if k < 99:
            return "(-%s)" % self.pick(FLOAT_EDGES)
        return "(0.0 / 0.0)"

    def scalar_lit(self, ty):
        if ty == "int":
            return self.int_lit()
        if ty == "float":
            return self.float_lit()
        if ty == "f32":
            return "f32(%s)" % (self.float_lit() if self.chance(0.8) else self.int_lit())
        if ty == "bool":
            return self.pick(["true", "false"])
        return self.str_lit()

    def str_lit(self):
        return '"%s"' % self.pick(["", "a", "vec", "x y", "tab\\t", "q\\\"", "back\\\\", "nl\\n", "héllo", "∑"])

    def leaf_scalar(self, ty, ctx):
        vs = self.vars_of(ty)
        if vs and self.chance(0.6):
            return self.pick(vs).name
        return self.scalar_lit(ty)

    def expr(self, ty, ctx, d=0, length=None):
        if is_arr(ty):
            return self.arr_expr(elem(ty), length, ctx, d)
        if ty in LANES:
            if ty in MASK_OF.values():
                return self.mask_expr(ty, ctx, d)
            return self.simd_expr(ty, ctx, d)
        if ty == "int":
            return self.int_expr(ctx, d)
        if ty in FP:
            return self.fp_expr(ty, ctx, d)
        if ty == "bool":
            return self.bool_expr(ctx, d)
        if ty == "str":
            return self.str_expr(ctx, d)
        raise ValueError(ty)

    def call_of(self, ty, ctx, d, length=None):
        """A call of a generated function returning `ty`, or None."""
        cands = [
            f for f in self.callable_funcs(ctx)
            if f.result == ty and (length is None or f.result_len == length)
        ]
        if not cands:
            return None
        f = self.pick(cands)
        if not self.spend(ctx, f.cost):
            return None
        return "%s(%s)" % (f.name, self.call_args(f, ctx, False))

    def callable_funcs(self, ctx):
        if ctx.leaf:
            return []
        cur = self.cur_func
        out = []
        for f in self.funcs:
            if f is cur or f.kind == "err":
                continue
            if f.prints and not ctx.may_print:
                continue
            out.append(f)
        return out

    def int_expr(self, ctx, d=0):
        if d > 3 or self.chance(0.3):
            return self.leaf_int(ctx)
        k = self.r(22)
        if k < 6:
            op = self.pick(["+", "-", "*", "+", "-", "*"])
            return "(%s %s %s)" % (self.int_expr(ctx, d + 1), op, self.int_expr(ctx, d + 1))
        if k < 8:
            # Before v1 a conversion made int literals under % floats ('%' is for integers).
            op = "/" if self.in_conversion and not self.v1 else self.pick(["/", "%"])
            div = self.pick(["3", "7", "(-1)", "2", "1000", "(-5)", "nz(%s)" % self.int_expr(ctx, d + 1)])
            if ctx.leaf and div.startswith("nz"):
                div = "7"
            return "(%s %s %s)" % (self.int_expr(ctx, d + 1), op, div)
        if k == 8:
            return "(-%s)" % self.int_expr(ctx, d + 1)
        if k == 9:
            return "abs(%s)" % self.int_expr(ctx, d + 1)
        if k == 10:
            return "%s(%s, %s)" % (self.pick(["min", "max"]), self.int_expr(ctx, d + 1), self.int_expr(ctx, d + 1))
        if k == 11:
            return "int(%s)" % self.fp_expr(self.pick(FP), ctx, d + 1)
        if k == 12:
            arr = self.some_array(self.pick(NUM), ctx)
            if arr:
                return "len(%s)" % arr.name
        if k == 13:
            got = self.index_read("int", ctx, d)
            if got:
                return got
        if k == 14 and not ctx.leaf:
            return self.reduction("int", ctx, d)
        if k == 15 and not ctx.leaf:
            c = self.call_of("int", ctx, d)
            if c:
                return c
        if k == 16 and not ctx.leaf:
            return "len(%s)" % self.str_expr(ctx, d + 1)
        if k == 17 and self.v1 and not ctx.leaf:
            return "count(%s)" % self.boolish(ctx, d + 1)
        if k == 18:
            return "fma(%s, %s, %s)" % (self.int_expr(ctx, d + 1), self.int_expr(ctx, d + 1), self.int_expr(ctx, d + 1))
        return self.leaf_int(ctx)

    def leaf_int(self, ctx):
        return self.leaf_scalar("int", ctx)

    def some_array(self, el, ctx):
        vs = [v for v in self.visible() if v.ty == ARR[el] and v.length is not None]
        return self.pick(vs) if vs else None

    def index_read(self, el, ctx, d):
        vs = [v for v in self.visible() if v.ty == ARR[el] and v.length]
        if not vs:
            return None
        v = self.pick(vs)
        return "%s[%s]" % (v.name, self.index_in(v.length, ctx, d))

    def index_in(self, n, ctx, d):
        """An int expression in 0..<n (n > 0)."""
        k = self.r(4)
        if k < 2 or d > 2:
            return str(self.r(n))
        if k == 2:
            return "%d %% %d" % (self.r(1000), n)
        return "abs(%s %% %d)" % (self.int_expr(ctx, d + 2), n)

    def reduction(self, el, ctx, d):
        n = self.array_len(ctx)
        if not self.spend(ctx, n):
            n = self.pick(SMALL_LENS)
        k = self.r(5)
        if el == "bool":
            el = "int"
        if k < 2 or (k < 4 and n == 0):
            return "sum(%s)" % self.arr_expr(el, n, ctx, d + 1)
        if k < 4:
            return "%s(%s)" % (self.pick(["min", "max"]), self.arr_expr(el, n, ctx, d + 1))
        return "dot(%s, %s)" % (self.arr_expr(el, n, ctx, d + 1), self.arr_expr(el, n, ctx, d + 1))

    def fp_expr(self, ty, ctx, d=0):
        if d > 3 or self.chance(0.3):
            return self.leaf_scalar(ty, ctx)
        k = self.r(24)
        if k < 6:
            op = self.pick(["+", "-", "*", "/"])
            left = self.fp_expr(ty, ctx, d + 1)
            right = self.fp_expr(ty, ctx, d + 1)
            if self.chance(0.15):
                right = self.pick(["2", "3", "0.5", "1.5", "10"])  # a bare literal takes ty
            return "(%s %s %s)" % (left, op, right)
        if k == 6:
            return "(-%s)" % self.fp_expr(ty, ctx, d + 1)
        if k == 7:
            if self.chance(0.3):
                return "sqrt(%s)" % self.fp_expr(ty, ctx, d + 1)
            return "%s(abs(%s))" % (self.pick(["sqrt", "abs"]), self.fp_expr(ty, ctx, d + 1))
        if k == 8:
            return "%s(%s, %s)" % (self.pick(["min", "max"]), self.fp_expr(ty, ctx, d + 1), self.fp_expr(ty, ctx, d + 1))
        if k == 9:
            return "fma(%s, %s, %s)" % (self.fp_expr(ty, ctx, d + 1), self.fp_expr(ty, ctx, d + 1), self.fp_expr(ty, ctx, d + 1))
        if k == 10:
            src = self.pick(["int", "float", "f32"])
            self.in_conversion += 1
            e = self.expr(src, ctx, d + 1)
            self.in_conversion -= 1
            return "%s(%s)" % (ty, e)
        if k == 11:
            got = self.index_read(ty, ctx, d)
            if got:
                return got
        if k == 12:
            s = SIMD_OF[ty]
            return "lane(%s, %d)" % (self.simd_expr(s, ctx, d + 1), self.r(LANES[s]))
        if k == 13:
            s = SIMD_OF[ty]
            return "%s(%s)" % (self.pick(["sum", "min", "max"]), self.simd_expr(s, ctx, d + 1))
        if k == 14:
            s = SIMD_OF[ty]
            return "dot(%s, %s)" % (self.simd_expr(s, ctx, d + 1), self.simd_expr(s, ctx, d + 1))
        if k == 15 and not ctx.leaf:
            return self.reduction(ty, ctx, d)
        if k == 16 and not ctx.leaf:
            c = self.call_of(ty, ctx, d)
            if c:
                return c
        if k in (17, 18) and self.v1:
            fn = self.pick(["exp", "log", "sin", "cos", "tanh", "floor", "ceil", "round", "pow"])
            if fn == "pow":
                return "pow(%s, %s)" % (self.fp_expr(ty, ctx, d + 1), self.fp_expr(ty, ctx, d + 1))
            return "%s(%s)" % (fn, self.fp_expr(ty, ctx, d + 1))
        return self.leaf_scalar(ty, ctx)

    def bool_expr(self, ctx, d=0):
        if d > 3 or self.chance(0.25):
            return self.leaf_scalar("bool", ctx)
        k = self.r(12)
        if k < 5:
            ty = self.pick(["int", "int", "float", "f32"] + ([] if ctx.leaf else ["str"]))
            op = self.pick(["==", "!=", "<", "<=", ">", ">="])
            return "(%s %s %s)" % (self.expr(ty, ctx, d + 1), op, self.expr(ty, ctx, d + 1))
        if k < 7:
            op = self.pick(["&&", "||"])
            return "(%s %s %s)" % (self.bool_expr(ctx, d + 1), op, self.bool_expr(ctx, d + 1))
        if k == 7:
            return "!%s" % self.bool_expr(ctx, d + 1)
        if k == 8 and not ctx.leaf:
            c = self.call_of("bool", ctx, d)
            if c:
                return c
        if k == 9 and self.v1 and not ctx.leaf:
            return "%s(%s)" % (self.pick(["any", "all"]), self.boolish(ctx, d + 1))
        if k == 10 and self.v1:
            got = self.index_read("bool", ctx, d)
            if got:
                return got
        if k == 11 and self.v1:
            m = self.pick(["m32x8", "m64x4"])
            return "%s(%s)" % (self.pick(["any", "all"]), self.mask_expr(m, ctx, d + 1))
        return self.leaf_scalar("bool", ctx)

    def str_expr(self, ctx, d=0):
        if d > 2 or self.chance(0.3):
            return self.leaf_scalar("str", ctx)
        k = self.r(4)
        if k < 2:
            ty = self.pick(["int", "float", "f32", "bool", "f32x8", "f64x4", "[int]", "[float]", "[f32]"])
            length = self.pick(SMALL_LENS + [20]) if is_arr(ty) else None
            return "str(%s)" % self.expr(ty, ctx, d + 1, length)
        if k == 2:
            return "(%s + %s)" % (self.str_expr(ctx, d + 1), self.str_expr(ctx, d + 1))
        c = self.call_of("str", ctx, d)
        return c or self.leaf_scalar("str", ctx)

    # ---- arrays --------------------------------------------------------------------------------

    def arr_expr(self, el, n, ctx, d=0):
        """An expression of type [el] and length n."""
        if el == "bool":
            return self.bool_arr_expr(n, ctx, d)
        self.spend(ctx, n)
        vs = self.vars_of(ARR[el], n)
        if d > 3 or self.chance(0.25):
            if vs and self.chance(0.7):
                return self.pick(vs).name
            return self.arr_leaf(el, n, ctx, d)
        k = self.r(20)
        if k < 6:
            op = self.pick(["+", "-", "*"] + (["/"] if el != "int" else []))
            a = self.arr_expr(el, n, ctx, d + 1)
            if self.chance(0.3):
                b = self.expr(el, ctx, d + 2)
                return "(%s %s %s)" % ((a, op, b) if self.chance(0.5) else (b, op, a))
            return "(%s %s %s)" % (a, op, self.arr_expr(el, n, ctx, d + 1))
        if k == 6 and el == "int":
            return "(%s / %s)" % (self.arr_expr(el, n, ctx, d + 1), self.pick(["3", "(-2)", "7", "1"]))
        if k == 7:
            return "(-%s)" % self.arr_expr(el, n, ctx, d + 1)
        if k == 8:
            if el != "int" and self.chance(0.5):
                inner = self.arr_expr(el, n, ctx, d + 1)
                return "sqrt(abs(%s))" % inner if self.chance(0.7) else "sqrt(%s)" % inner
            return "abs(%s)" % self.arr_expr(el, n, ctx, d + 1)
        if k == 9:
            a = self.arr_expr(el, n, ctx, d + 1)
            b = self.arr_expr(el, n, ctx, d + 1) if self.chance(0.6) else self.expr(el, ctx, d + 2)
            if self.chance(0.5):
                a, b = b, a
            return "%s(%s, %s)" % (self.pick(["min", "max"]), a, b)
        if k == 10:
            parts = [self.arr_expr(el, n, ctx, d + 1)]
            parts += [self.arr_expr(el, n, ctx, d + 1) if self.chance(0.5) else self.expr(el, ctx, d + 2) for _ in range(2)]
            self.rng.shuffle(parts)
            return "fma(%s, %s, %s)" % tuple(parts)
        if k == 11:
            src = self.pick([e for e in NUM if e != el])
            self.in_conversion += 1
            e = self.arr_expr(src, n, ctx, d + 1)
            self.in_conversion -= 1
            return "%s(%s)" % (el, e)
        if k == 12:
            srcs = self.arrays_at_least(el, n)
            if srcs:
                s = self.pick(srcs)
                i = self.r(s.length - n + 1)
                return "%s[%d..%d]" % (s.name, i, i + n)
        if k == 13 and not ctx.leaf:
            c = self.call_of(ARR[el], ctx, d, n)
            if c:
                return c
        if k == 14 and self.v1 and el in FP:
            fn = self.pick(["exp", "log", "sin", "cos", "tanh", "floor", "ceil", "round", "pow"])
            if fn == "pow":
                a = self.arr_expr(el, n, ctx, d + 1)
                b = self.arr_expr(el, n, ctx, d + 1) if self.chance(0.5) else self.expr(el, ctx, d + 2)
                return "pow(%s, %s)" % ((a, b) if self.chance(0.5) else (b, a))
            return "%s(%s)" % (fn, self.arr_expr(el, n, ctx, d + 1))
        if k == 15 and self.v1:
            a = self.arr_expr(el, n, ctx, d + 1)
            b = self.arr_expr(el, n, ctx, d + 1) if self.chance(0.5) else self.expr(el, ctx, d + 2)
            if self.chance(0.5):
                a, b = b, a
            return "select(%s, %s, %s)" % (self.bool_arr_expr(n, ctx, d + 1), a, b)
        if k == 16 and self.v1 and el == "int":
            return "(%s %% %s)" % (self.arr_expr(el, n, ctx, d + 1), self.pick(["3", "(-2)", "7", "1"]))
        if vs:
            return self.pick(vs).name
        return self.arr_leaf(el, n, ctx, d)

    def arr_leaf(self, el, n, ctx, d):
        k = self.r(6)
        if k == 5:
            k = 2
        if k == 0:
            return "iota(%d)" % n if el == "int" else "%s(iota(%d))" % (el, n)
        if k == 1 and 0 < n <= 6:
            items = [self.expr(el, ctx, d + 2) for _ in range(n)]
            if el == "f32":
                items[0] = "f32(%s)" % self.float_lit()
            return "[%s]" % ", ".join(items)
        if k == 2:
            base = "iota(%d)" % n if el == "int" else "%s(iota(%d))" % (el, n)
            return "(%s * %s + %s)" % (base, self.scalar_lit(el), self.scalar_lit(el))
        return "fill(%d, %s)" % (n, self.expr(el, ctx, d + 2))

    def bool_arr_expr(self, n, ctx, d):
        """[bool] of length n (v1 only)."""
        vs = self.vars_of("[bool]", n)
        k = self.r(7)
        if vs and (k == 0 or d > 3):
            return self.pick(vs).name
        if k <= 2 or d > 3:
            el = self.pick(NUM)
            op = self.pick(["==", "!=", "<", "<=", ">", ">="])
            a = self.arr_expr(el, n, ctx, d + 1)
            b = self.arr_expr(el, n, ctx, d + 1) if self.chance(0.5) else self.expr(el, ctx, d + 2)
            if self.chance(0.3):
                a, b = b, a
            return "(%s %s %s)" % (a, op, b)
        if k == 3:
            return "(%s %s %s)" % (self.bool_arr_expr(n, ctx, d + 1), self.pick(["&&", "||"]), self.bool_arr_expr(n, ctx, d + 1))
        if k == 4:
            return "!%s" % self.bool_arr_expr(n, ctx, d + 1)
        if k == 5 and 0 < n <= 5:
            return "[%s]" % ", ".join(self.bool_expr(ctx, d + 2) for _ in range(n))
        return "fill(%d, %s)" % (n, self.bool_expr(ctx, d + 2))

    def boolish(self, ctx, d):
        if self.chance(0.5):
            return self.mask_expr(self.pick(["m32x8", "m64x4"]), ctx, d)
        return self.bool_arr_expr(self.pick(SMALL_LENS), ctx, d)

    # ---- SIMD ----------------------------------------------------------------------------------

    def simd_expr(self, ty, ctx, d=0):
        lane_ty = LANE_OF[ty]
        w = LANES[ty]
        vs = self.vars_of(ty)
        if d > 3 or self.chance(0.3):
            if vs and self.chance(0.6):
                return self.pick(vs).name
            return self.simd_leaf(ty, ctx, d)
        k = self.r(14)
        if k < 5:
            op = self.pick(["+", "-", "*", "/"])
            a = self.simd_expr(ty, ctx, d + 1)
            b = self.simd_expr(ty, ctx, d + 1) if self.chance(0.7) else self.fp_expr(lane_ty, ctx, d + 2)
            if self.chance(0.3):
                a, b = b, a
            return "(%s %s %s)" % (a, op, b)
        if k == 5:
            return "(-%s)" % self.simd_expr(ty, ctx, d + 1)
        if k == 6:
            if self.chance(0.5):
                return "sqrt(abs(%s))" % self.simd_expr(ty, ctx, d + 1)
            return "%s(%s)" % (self.pick(["sqrt", "abs"]), self.simd_expr(ty, ctx, d + 1))
        if k == 7:
            a = self.simd_expr(ty, ctx, d + 1)
            b = self.simd_expr(ty, ctx, d + 1) if self.chance(0.7) else self.fp_expr(lane_ty, ctx, d + 2)
            if self.chance(0.3):
                a, b = b, a
            return "%s(%s, %s)" % (self.pick(["min", "max"]), a, b)
        if k == 8:
            parts = [self.simd_expr(ty, ctx, d + 1)]
            parts += [self.simd_expr(ty, ctx, d + 1) if self.chance(0.6) else self.fp_expr(lane_ty, ctx, d + 2) for _ in range(2)]
            self.rng.shuffle(parts)
            return "fma(%s, %s, %s)" % tuple(parts)
        if k == 9 and not ctx.leaf:
            c = self.call_of(ty, ctx, d)
            if c:
                return c
        if k == 10 and self.v1:
            fn = self.pick(["exp", "log", "sin", "cos", "tanh", "floor", "ceil", "round", "pow"])
            if fn == "pow":
                return "pow(%s, %s)" % (self.simd_expr(ty, ctx, d + 1), self.simd_expr(ty, ctx, d + 1))
            return "%s(%s)" % (fn, self.simd_expr(ty, ctx, d + 1))
        if k == 11 and self.v1:
            a = self.simd_expr(ty, ctx, d + 1)
            b = self.simd_expr(ty, ctx, d + 1) if self.chance(0.6) else self.fp_expr(lane_ty, ctx, d + 2)
            if self.chance(0.5):
                a, b = b, a
            return "select(%s, %s, %s)" % (self.mask_expr(MASK_OF[ty], ctx, d + 1), a, b)
        return self.simd_leaf(ty, ctx, d)

    def simd_leaf(self, ty, ctx, d):
        lane_ty = LANE_OF[ty]
        w = LANES[ty]
        srcs = [v for v in self.visible() if v.ty == ARR[lane_ty] and v.length is not None and v.length >= w]
        if srcs and self.chance(0.5):
            s = self.pick(srcs)
            return "vload(%s, %s)" % (s.name, self.r(s.length - w + 1))
        if self.chance(0.5) and not ctx.leaf:
            n = w + self.r(12)
            return "vload(%s, %d)" % (self.arr_expr(lane_ty, n, ctx, d + 1), self.r(n - w + 1))
        return "splat(%s)" % self.fp_expr(lane_ty, ctx, d + 2)

    def mask_expr(self, ty, ctx, d=0):
        simd = "f32x8" if ty == "m32x8" else "f64x4"
        vs = self.vars_of(ty)
        k = self.r(6)
        if vs and (k == 0 or d > 3):
            return self.pick(vs).name
        if k <= 2 or d > 3:
            op = self.pick(["==", "!=", "<", "<=", ">", ">="])
            a = self.simd_expr(simd, ctx, d + 1)
            b = self.simd_expr(simd, ctx, d + 1) if self.chance(0.6) else self.fp_expr(LANE_OF[simd], ctx, d + 2)
            if self.chance(0.3):
                a, b = b, a
            return "(%s %s %s)" % (a, op, b)
        if k == 3:
            return "(%s %s %s)" % (self.mask_expr(ty, ctx, d + 1), self.pick(["&&", "||"]), self.mask_expr(ty, ctx, d + 1))
        return "!%s" % self.mask_expr(ty, ctx, d + 1)

    # ---- function arguments --------------------------------------------------------------------

    def args_for(self, f, ctx, d, background):
        """Arguments for f; with `background`, arrays the callee may write, or that main may write
        later, are passed as fresh copies, and shared ones are frozen."""
        out = []
        for (_, ty, n) in f.params:
            if is_arr(ty):
                vs = self.vars_of(ty, n)
                if vs and self.chance(0.6):
                    v = self.pick(vs)
                    if f.writes_params and (background or v.buf.frozen):
                        out.append("%s[0..%d]" % (v.name, n))
                    else:
                        if background:
                            v.buf.freeze()
                        out.append(v.name)
                else:
                    out.append(self.arr_expr(elem(ty), n, ctx, d))
            else:
                out.append(self.expr(ty, ctx, d))
        return ", ".join(out)

    # ---- statements ----------------------------------------------------------------------------

    def new_type(self, ctx):
        pool = ["int", "int", "float", "float", "f32", "f32", "bool", "[int]", "[float]", "[f32]", "[f32]", "f32x8", "f64x4"]
        if not ctx.leaf:
            pool += ["str"]
        else:
            pool = [t for t in pool if not is_arr(t)]
        if self.v1:
            pool += ["m32x8", "m64x4"] + ([] if ctx.leaf else ["[bool]"])
        return self.pick(pool)

    def stmt_decl(self, ctx):
        ty = self.new_type(ctx)
        name = self.fresh()
        mutable = self.chance(0.6)
        n = None
        if is_arr(ty):
            n = self.array_len(ctx)
            if not self.spend(ctx, n):
                n = self.pick(SMALL_LENS)
            if n == 0 and self.chance(0.5):
                self.emit("%s %s: %s = []" % ("var" if mutable else "let", name, ty))
                self.declare(Var(name, ty, mutable, 0))
                return
            init = self.arr_expr(elem(ty), n, ctx)
        else:
            init = self.expr(ty, ctx)
        src = self.var_named(init)
        if self.chance(0.15) and ty in ("int", "float", "f32", "f32x8", "f64x4"):
            self.emit("%s %s: %s = %s" % ("var" if mutable else "let", name, ty, init))
        else:
            self.emit("%s %s = %s" % ("var" if mutable else "let", name, init))
        v = self.declare(Var(name, ty, mutable, n))
        if src is not None and v.buf is not None:
            merge(src.buf, v.buf)

    def var_named(self, text):
        for v in self.visible():
            if v.name == text:
                return v
        return None

    def stmt_print(self, ctx):
        if not ctx.may_print:
            return self.stmt_assign(ctx)
        args = []
        for _ in range(1 + self.r(4)):
            ty = self.new_type(ctx)
            n = self.pick(SMALL_LENS + [20, 40]) if is_arr(ty) else None
            if is_arr(ty) and self.chance(0.4):
                vs = self.vars_of(ty)
                if vs:
                    args.append(self.pick(vs).name)
                    continue
            args.append(self.expr(ty, ctx, 0, n))
        self.emit("print(%s)" % ", ".join(args))

    def stmt_assign(self, ctx):
        vs = [v for v in self.visible() if v.mutable]
        if not vs:
            return self.stmt_decl(ctx)
        v = self.pick(vs)
        if is_arr(v.ty):
            # Rebinding (same length: lengths are tracked flow-insensitively). VecVM reuses the
            # buffer when nothing else holds it. The variable keeps its alias class (conservative).
            e = self.arr_expr(elem(v.ty), v.length, ctx)
            src = self.var_named(e)
            if src is not None:
                merge(src.buf, v.buf)
            elif self.chance(0.6) and v.ty != "[bool]":
                op = self.pick(["+", "-", "*"])
                e = "%s %s %s" % (v.name, op, e) if self.chance(0.5) else "%s %s %s" % (e, op, v.name)
            self.emit("%s = %s" % (v.name, e))
            return
        if v.ty in ("int", "float", "f32", "f32x8", "f64x4") and self.chance(0.5):
            ops = ["+=", "-=", "*="] + (["/="] if v.ty != "int" else [])
            rhs = self.expr(v.ty if v.ty in NUM else self.pick([v.ty, LANE_OF[v.ty]]), ctx)
            if v.ty == "int" and self.chance(0.2):
                self.emit("%s /= %s" % (v.name, self.pick(["3", "(-1)", "nz(%s)" % self.int_expr(ctx)] if not ctx.leaf else ["3", "(-1)"])))
                return
            self.emit("%s %s %s" % (v.name, self.pick(ops), rhs))
            return
        e = self.expr(v.ty, ctx)
        if v.ty == "str" and (ctx.in_loop or ctx.mult > 1):
            # A string fed back into itself in a loop grows exponentially (`s = s + (s + "x")`, 6
            # times, in a recursion) until "out of memory"; where two tasks run such code at once,
            # which of them fails first, and at which `+`, depends on the scheduling. The variable's
            # own uses become a literal (no randomness drawn: other programs stay as they were).
            e = re.sub(r"\b%s\b" % re.escape(v.name), '"s"', e)
        self.emit("%s = %s" % (v.name, e))

    def stmt_elem_write(self, ctx):
        vs = [v for v in self.visible() if is_arr(v.ty) and v.length and not v.buf.frozen and v.ty != "[bool]"]
        if not vs:
            return self.stmt_assign(ctx)
        v = self.pick(vs)
        el = elem(v.ty)
        if el in FP and v.length >= LANES[SIMD_OF[el]] and self.chance(0.3):
            w = LANES[SIMD_OF[el]]
            self.emit("vstore(%s, %d, %s)" % (v.name, self.r(v.length - w + 1), self.simd_expr(SIMD_OF[el], ctx)))
            return
        op = self.pick(["=", "=", "+=", "-=", "*="])
        self.emit("%s[%s] %s %s" % (v.name, self.index_in(v.length, ctx, 1), op, self.expr(el, ctx, 1)))

    def stmt_if(self, ctx):
        self.emit("if %s {" % self.bool_expr(ctx))
        self.block(ctx.child(), 1 + self.r(3))
        while self.chance(0.3):
            self.emit("} else if %s {" % self.bool_expr(ctx))
            self.block(ctx.child(), 1 + self.r(2))
        if self.chance(0.5):
            self.emit("} else {")
            self.block(ctx.child(), 1 + self.r(2))
        self.emit("}")

    def loop_body(self, ctx, trips):
        c = ctx.child(in_loop=True)
        c.mult = ctx.mult * max(1, trips)
        return c

    def stmt_for(self, ctx):
        k = self.r(3)
        if k == 0 or ctx.leaf:
            trips = self.r(9)
            i = self.fresh("i")
            lo = self.r(3)
            if ctx.leaf and self.chance(0.3):
                arrs = [v for v in self.visible() if is_arr(v.ty)]
                if arrs:
                    a = self.pick(arrs)
                    self.emit("for %s in 0..len(%s) {" % (i, a.name))
                    trips = a.length or 0
                else:
                    self.emit("for %s in %d..%d {" % (i, lo, lo + trips))
            else:
                self.emit("for %s in %d..%d {" % (i, lo, lo + trips))
            c = self.loop_body(ctx, trips)
            self.push()
            self.declare(Var(i, "int", False))
            self.block_inner(c, 1 + self.r(3))
            self.pop()
            self.emit("}")
            return
        if k == 1:
            el = self.pick(NUM + (("bool",) if self.v1 else ()))
            n = self.pick(SMALL_LENS[:12])
            x = self.fresh("x")
            vs = self.vars_of(ARR[el], n)
            src = self.pick(vs).name if vs and self.chance(0.5) else self.arr_expr(el, n, ctx, 1)
            self.emit("for %s in %s {" % (x, src))
            c = self.loop_body(ctx, n)
            self.push()
            self.declare(Var(x, el, False))
            self.block_inner(c, 1 + self.r(3))
            self.pop()
            self.emit("}")
            return
        # while with a counter incremented first (so `continue` cannot skip it)
        w = self.fresh("w")
        trips = self.r(8)
        self.emit("var %s = 0" % w)
        self.emit("while %s < %d {" % (w, trips))
        self.indent += 1
        self.emit("%s += 1" % w)
        self.indent -= 1
        c = self.loop_body(ctx, trips)
        self.push()
        self.declare(Var(w, "int", True, fixed=True))  # readable, never assigned by generated code
        self.block_inner(c, 1 + self.r(3))
        self.pop()
        self.emit("}")

    def stmt_break(self, ctx):
        self.emit("if %s {" % self.bool_expr(ctx))
        self.indent += 1
        self.emit(self.pick(["break", "continue"]))
        self.indent -= 1
        self.emit("}")

    def stmt_block(self, ctx):
        self.emit("{")
        self.push()
        # Shadow an outer name with a value of another type.
        outer = self.visible()
        if outer and self.chance(0.6):
            v = self.pick(outer)
            ty = self.new_type(ctx)
            n = self.pick(SMALL_LENS) if is_arr(ty) else None
            self.indent += 1
            self.emit("let %s = %s" % (v.name, self.expr(ty, ctx, 0, n)))
            self.indent -= 1
            self.declare(Var(v.name, ty, False, n))
        self.block_inner(ctx.child(), 1 + self.r(3))
        self.pop()
        self.emit("}")

    def stmt_call(self, ctx):
        cands = [f for f in self.callable_funcs(ctx) if f.result is None and self.cheap(ctx, f.cost)]
        if not cands:
            return self.stmt_print(ctx)
        f = self.pick(cands)
        self.spend(ctx, f.cost)
        self.emit("%s(%s)" % (f.name, self.call_args(f, ctx, False)))

    def stmt_simd_loop(self, ctx):
        """The explicit-SIMD style native functions are made for: acc = fma(vload(a, i), ..., acc)."""
        el = self.pick(FP)
        s = SIMD_OF[el]
        w = LANES[s]
        arrs = [v for v in self.visible() if v.ty == ARR[el] and v.length is not None and v.length >= w]
        if not arrs:
            return self.stmt_assign(ctx)
        a = self.pick(arrs)
        b = self.pick(arrs)
        acc = self.fresh("acc")
        i = self.fresh("k")
        self.emit("var %s = splat(%s)" % (acc, self.scalar_lit(el)))
        self.emit("var %s = 0" % i)
        self.emit("while %s + %d <= len(%s) {" % (i, w, a.name))
        self.indent += 1
        lhs = "vload(%s, %s)" % (a.name, i)
        if b is not a and b.length >= a.length:
            rhs = "vload(%s, %s)" % (b.name, i)
        else:
            # The expression runs once per iteration: its calls are charged that many times (a
            # call of a function with a 100,000-trip loop here made a program of 6e9 iterations).
            inner = ctx.child(in_loop=True)
            inner.mult = ctx.mult * max(1, a.length // w)
            rhs = self.fp_expr(el, inner, 2)
        form = self.r(3)
        if form == 0:
            self.emit("%s = fma(%s, %s, %s)" % (acc, lhs, rhs, acc))
        elif form == 1:
            self.emit("%s = %s + %s * %s" % (acc, acc, lhs, rhs))
        else:
            self.emit("%s = max(%s, %s - %s)" % (acc, acc, lhs, rhs))
        self.emit("%s += %d" % (i, w))
        self.indent -= 1
        self.emit("}")
        self.spend(ctx, a.length)
        self.declare(Var(acc, s, True))
        if ctx.may_print:
            self.emit("print(%s, sum(%s))" % (acc, acc))

    def statement(self, ctx):
        self.main_statement(ctx)
        if self.side.random() < 0.05:
            self.stmt_divisor_on_paths(ctx)

    def stmt_divisor_on_paths(self, ctx):
        """A divisor that is a different constant on each path into the division, the division
        where the paths meet (the function JIT once took the constant of the last path for all).
        Drawn from the side stream only; names from the counter."""
        ints = [v for v in self.visible() if v.ty == "int"]
        targets = [v for v in ints if v.mutable]
        if not ints or not targets:
            return
        divisors = ["2", "3", "7", "(-5)", "1000", "16", "(-8)", "9"]
        d = self.fresh("d")
        x = ints[self.side.randrange(len(ints))].name
        y = ints[self.side.randrange(len(ints))].name
        m = targets[self.side.randrange(len(targets))].name
        first, second = self.side.choice(divisors), self.side.choice(divisors)
        self.emit("var %s = %s" % (d, first))
        self.emit("if %s > %d { %s = %s }" % (x, self.side.randrange(-3, 10), d, second))
        self.emit("%s += %s %s %s" % (m, y, self.side.choice(["%", "/"]), d))

    def main_statement(self, ctx):
        k = self.r(100)
        if ctx.depth > 3:
            k = self.pick([0, 20, 40, 60])
        if k < 18:
            return self.stmt_decl(ctx)
        if k < 32:
            return self.stmt_print(ctx)
        if k < 46:
            return self.stmt_assign(ctx)
        if k < 54:
            return self.stmt_elem_write(ctx)
        if k < 62:
            return self.stmt_if(ctx)
        if k < 70:
            return self.stmt_for(ctx)
        if k < 74:
            return self.stmt_block(ctx)
        if k < 78 and ctx.in_loop:
            return self.stmt_break(ctx)
        if k < 84 and not ctx.leaf:
            return self.stmt_call(ctx)
        if k < 88:
            return self.stmt_simd_loop(ctx)
        if k < 90 and not ctx.leaf and self.cheap(ctx, 2000):
            self.spend(ctx, 2000)  # a yield costs about as much as 2000 elements
            return self.emit("yield()")
        if k < 91 and not ctx.leaf and self.cheap(ctx, 300_000):
            ms = self.r(2)
            self.spend(ctx, 5000 + ms * 300_000)  # and a 1 ms sleep as much as a long kernel
            return self.emit("sleep(%d)" % ms)
        if k < 95 and not ctx.leaf and ctx.main:
            return self.stmt_local_channel(ctx)
        return self.stmt_decl(ctx)

    def block_inner(self, ctx, n):
        self.indent += 1
        for _ in range(n):
            self.statement(ctx)
        self.indent -= 1

    def block(self, ctx, n):
        self.push()
        self.block_inner(ctx, n)
        self.pop()

    # ---- channels within one task --------------------------------------------------------------

    def chan_type(self, ctx):
        ty = self.pick(["int", "float", "f32", "str", "[int]", "[f32]", "f32x8", "f64x4", "bool"])
        n = self.pick(SMALL_LENS[:10]) if is_arr(ty) else None
        return ty, n

    def stmt_local_channel(self, ctx):
        ty, n = self.chan_type(ctx)
        c = self.fresh("c")
        cap = 1 + self.r(5)
        self.emit("let %s = chan<%s>(%d)" % (c, ty, cap))
        sends = self.r(cap + 1)
        for _ in range(sends):
            self.emit("send(%s, %s)" % (c, self.expr(ty, ctx, 1, n)))
        if sends and self.chance(0.5):
            self.emit("print(recv(%s))" % c)
            sends -= 1
        self.emit("close(%s)" % c)
        x = self.fresh("x")
        self.emit("for %s in %s {" % (x, c))
        self.indent += 1
        self.emit("print(%s)" % x)
        self.indent -= 1
        self.emit("}")

    # ---- functions -----------------------------------------------------------------------------

    def make_functions(self):
        self.emit("fn nz(x: int) -> int {")
        self.emit("    if x == 0 { return 1 }")
        self.emit("    return x")
        self.emit("}")
        count = int((2 + self.r(6)) * self.size) + 1
        for _ in range(count):
            kind = self.pick(["leaf", "leaf", "general", "general", "rec", "print"])
            self.make_function(kind)

    def param_types(self, leaf):
        out = []
        for _ in range(self.r(4)):
            ty = self.pick(["int", "float", "f32", "bool", "[int]", "[float]", "[f32]", "f32x8", "f64x4"]
                           + ([] if leaf else ["str"]))
            n = None
            if is_arr(ty):
                n = self.pick(SMALL_LENS[3:] + BIG_LENS[:4])
            out.append((self.fresh("p"), ty, n))
        return out

    def make_function(self, kind):
        leaf = kind == "leaf"
        name = self.fresh("fun")
        params = self.param_types(leaf)
        if kind == "rec":
            params = [(self.fresh("n"), "int", None)] + params
        result = None
        if kind != "print" or self.chance(0.5):
            result = self.pick(["int", "float", "f32", "bool", "f32x8", "f64x4"]
                               + ([] if leaf else ["str", "[int]", "[float]", "[f32]"]))
        f = Func(name, params, result, kind)
        if result and is_arr(result):
            f.result_len = self.pick(SMALL_LENS)
        f.writes_params = leaf and self.chance(0.4)
        f.prints = kind == "print"
        saved_lines, saved_indent, saved_scopes = self.lines, self.indent, self.scopes
        saved_spent, saved_budget = self.spent, self.budget
        self.lines, self.indent, self.scopes = [], 0, [[]]
        self.spent, self.budget = 0, 200_000
        self.cur_func = f
        self.self_calls = 0
        sig = ", ".join("%s: %s" % (p, t) for (p, t, _) in params)
        self.emit("fn %s(%s)%s {" % (name, sig, " -> %s" % result if result else ""))
        for i, (p, t, n) in enumerate(params):
            v = self.declare(Var(p, t, True, n, fixed=(kind == "rec" and i == 0)))
            if v.buf is not None and not f.writes_params:
                v.buf.freeze()
        ctx = Ctx(func=f, may_print=f.prints, leaf=leaf)
        self.indent += 1
        if kind == "rec":
            nparam = params[0][0]
            self.emit("if %s <= 0 {" % nparam)
            self.indent += 1
            self.emit("return %s" % self.result_expr(f, ctx) if result else "return")
            self.indent -= 1
            self.emit("}")
        if leaf and self.chance(0.5):
            # A hot loop: many iterations so that preemption lands inside native code.
            trips = self.pick([100, 1000, 20000, 100000])
            i = self.fresh("i")
            acc = self.fresh("a")
            ty = self.pick(["int", "float", "f32"])
            self.emit("var %s = %s" % (acc, self.scalar_lit(ty)))
            self.emit("for %s in 0..%d {" % (i, trips))
            self.indent += 1
            self.push()
            self.declare(Var(i, "int", False))
            inner = self.expr(ty, ctx.child(in_loop=True), 1)
            if ty == "int":
                self.emit("%s = %s * 31 + %s" % (acc, acc, inner))
            else:
                self.emit("%s = %s * 0.5 + %s" % (acc, acc, inner))
            self.pop()
            self.indent -= 1
            self.emit("}")
            self.declare(Var(acc, ty, True))
            self.spent += trips * 4
        for _ in range(1 + self.r(int(6 * self.size) + 1)):
            self.statement(ctx)
        if kind == "rec":
            self.rec_tail(f, ctx)
        elif result:
            self.emit("return %s" % self.result_expr(f, ctx))
        self.indent -= 1
        self.emit("}")
        f.body = "\n".join(self.lines)
        f.cost = max(1, self.spent)
        self.cur_func = None
        self.lines, self.indent, self.scopes = saved_lines, saved_indent, saved_scopes
        self.spent, self.budget = saved_spent, saved_budget
        if kind == "rec":
            f.cost *= 64
        self.funcs.append(f)
        self.lines.append(f.body)

    def result_expr(self, f, ctx):
        if is_arr(f.result):
            e = self.arr_expr(elem(f.result), f.result_len, ctx)
            if self.var_named(e) is not None:
                e = "%s[0..%d]" % (e, f.result_len)  # a copy: callers may write what they get
            return e
        return self.expr(f.result, ctx)

    def rec_tail(self, f, ctx):
        nparam = f.params[0][0]
        calls = 1 + self.r(2)
        args = []
        for _ in range(calls):
            rest = self.args_for(Func("", f.params[1:], None, "x"), ctx, 2, background=False)
            args.append("%s(%s - 1%s)" % (f.name, nparam, (", " + rest) if rest else ""))
        if f.result is None:
            for a in args:
                self.emit(a)
            return
        if f.result in ("int", "float", "f32", "f32x8", "f64x4"):
            self.emit("return %s" % (" + ".join(args) + " + " + self.expr(f.result, ctx, 2)))
        elif f.result == "bool":
            e = self.bool_expr(ctx, 2)
            for a in args:
                e = "(%s != %s)" % (a, e)
            self.emit("return %s" % e)
        elif f.result == "str":
            self.emit("return %s" % " + ".join(args))
        else:
            self.emit("return %s" % (" + ".join(args)))

    # ---- tasks and channels --------------------------------------------------------------------

    def pure_funcs(self, with_result=True):
        return [f for f in self.funcs if not f.prints and f.kind != "err" and (f.result is not None) == with_result]

    def rec_depth(self, f):
        return str(self.r(6))

    def call_args(self, f, ctx, background):
        if f.kind == "rec":
            rest = self.args_for(Func("", f.params[1:], None, "x"), ctx, 1, background)
            return self.rec_depth(f) + ((", " + rest) if rest else "")
        return self.args_for(f, ctx, 1, background)

    def sect_spawn_wait(self, ctx):
        """Background tasks of pure functions; waited for later (results printed in spawn order)."""
        fs = self.pure_funcs()
        if not fs:
            return
        handles = []
        for _ in range(1 + self.r(3)):
            f = self.pick(fs)
            if not self.spend(ctx, f.cost):
                break
            t = self.fresh("t")
            self.emit("let %s = spawn %s(%s)" % (t, f.name, self.call_args(f, ctx, True)))
            handles.append((t, f))
        for _ in range(self.r(3)):
            self.statement(ctx)
        for (t, f) in handles:
            self.emit("print(%s)" % ", ".join(["wait(%s)" % t] * (1 + self.r(2))))

    def sect_foreground(self, ctx):
        """A task that prints, spawned and waited for at once (main is blocked meanwhile)."""
        fs = [f for f in self.funcs if f.kind != "err"]
        if not fs:
            return
        f = self.pick(fs)
        if not self.spend(ctx, f.cost):
            return
        t = self.fresh("t")
        self.emit("let %s = spawn %s(%s)" % (t, f.name, self.call_args(f, ctx, True)))
        if f.result is not None:
            self.emit("print(wait(%s))" % t)
        else:
            self.emit("wait(%s)" % t)

    def producer_fn(self, ty, n, ctx):
        """fn(c: chan<ty>, k: int): sends k values computed from its arguments, then closes."""
        name = self.fresh("prod")
        saved = (self.lines, self.indent, self.scopes)
        self.lines, self.indent, self.scopes = [], 0, [[]]
        self.emit("fn %s(c: chan<%s>, k: int, seed: int) {" % (name, ty))
        self.indent += 1
        self.push()
        self.declare(Var("seed", "int", True))
        self.emit("for j in 0..k {")
        self.indent += 1
        self.declare(Var("j", "int", False))
        c = Ctx(func=None, may_print=False, leaf=False)
        c.mult = 8
        if self.chance(0.3):
            self.emit(self.pick(["yield()", "sleep(%d)" % self.r(2)]))
        if ty == "int":
            v = "seed * 31 + j * %s" % self.int_lit()
        else:
            v = self.expr(ty, c, 2, n)
        self.emit("send(c, %s)" % v)
        self.indent -= 1
        self.emit("}")
        if self.chance(0.8):
            self.emit("close(c)")
        self.indent -= 1
        self.emit("}")
        body = "\n".join(self.lines)
        self.lines, self.indent, self.scopes = saved
        self.lines.insert(0, body)
        return name

    def sect_pipeline(self, ctx):
        """One producer task, main consumes in order."""
        ty, n = self.chan_type(ctx)
        if ty == "bool":
            ty = "int"
        prod = self.producer_fn(ty, n, ctx)
        closes = "close(c)" in self.lines[0]
        c = self.fresh("c")
        k = self.r(8)
        self.emit("let %s = chan<%s>(%d)" % (c, ty, self.pick([0, 0, 1, 2, 16])))
        self.emit("spawn %s(%s, %d, %s)" % (prod, c, k, self.int_lit()))
        if closes and self.chance(0.7):
            x = self.fresh("x")
            self.emit("for %s in %s {" % (x, c))
            self.indent += 1
            self.emit("print(%s)" % x)
            self.indent -= 1
            self.emit("}")
        else:
            for _ in range(self.r(k + 1)):
                self.emit("print(recv(%s))" % c)

    def sect_fanin(self, ctx):
        """Several producers on one channel; main adds what it receives (order-independent)."""
        prod = self.producer_fn("int", None, ctx)
        closes = "close(c)" in self.lines[0]
        if closes:
            # Several producers closing one channel would race: use a non-closing one.
            self.lines[0] = self.lines[0].replace("    close(c)\n", "")
        c = self.fresh("c")
        producers = 1 + self.r(4)
        each = self.r(6)
        self.emit("let %s = chan<int>(%d)" % (c, self.pick([0, 1, 3, 64])))
        for _ in range(producers):
            self.emit("spawn %s(%s, %d, %s)" % (prod, c, each, self.int_lit()))
        total = self.fresh("total")
        self.emit("var %s = 0" % total)
        self.emit("for _r in 0..%d { %s += recv(%s) }" % (producers * each, total, c))
        self.emit("print(%s)" % total)

    def sect_workers(self, ctx):
        """Request/response through a worker task that applies a pure function."""
        fs = [f for f in self.pure_funcs() if f.result == "int" and len(f.params) >= 1 and f.params[0][1] == "int"]
        name = self.fresh("worker")
        body = ["fn %s(inp: chan<int>, out: chan<int>) {" % name, "    for x in inp {"]
        if fs:
            f = self.pick(fs)
            if f.kind == "rec":
                call = "%s(x %% 5%s)" % (f.name, "".join(", " + self.const_arg(t, n) for (_, t, n) in f.params[1:]))
            else:
                call = "%s(x%s)" % (f.name, "".join(", " + self.const_arg(t, n) for (_, t, n) in f.params[1:]))
            body.append("        send(out, %s)" % call)
            self.spend(ctx, f.cost * 8)
        else:
            body.append("        send(out, x * x - 1)")
        body += ["    }", "    close(out)", "}"]
        self.lines.insert(0, "\n".join(body))
        i, o = self.fresh("c"), self.fresh("c")
        k = self.r(8)
        self.emit("let %s = chan<int>(%d)" % (i, k))
        self.emit("let %s = chan<int>(%d)" % (o, self.pick([0, 1, k])))
        self.emit("spawn %s(%s, %s)" % (name, i, o))
        if self.chance(0.5):
            for j in range(k):
                self.emit("send(%s, %s)" % (i, self.int_lit()))
                self.emit("print(recv(%s))" % o)
            self.emit("close(%s)" % i)
        else:
            for j in range(k):
                self.emit("send(%s, %d)" % (i, j))
            self.emit("close(%s)" % i)
            x = self.fresh("x")
            self.emit("for %s in %s { print(%s) }" % (x, o, x))

    def const_arg(self, t, n):
        if is_arr(t):
            el = elem(t)
            return "iota(%d)" % n if el == "int" else "%s(iota(%d))" % (el, n)
        if t in LANES:
            return "splat(%s)" % self.scalar_lit(LANE_OF[t])
        return self.scalar_lit(t)

    def sect_heavy(self, ctx):
        """Background tasks running long kernels (asynchronous preemption lands inside them)."""
        if not self.cheap(ctx, 3_000_000):
            return
        name = self.fresh("heavy")
        el = self.pick(["f32", "float", "int"])
        n = self.pick([65536, 100003, 250000])
        reps = self.pick([2, 4, 8])
        c = Ctx(func=None, may_print=False, leaf=False)
        self.push()
        self.declare(Var("a", ARR[el], False, n))
        self.declare(Var("b", ARR[el], False, n))
        kernel = self.arr_expr(el, n, c, 1)
        red = self.pick(["sum", "min", "max"])
        self.pop()
        acc_init = "0" if el == "int" else ("0.0" if el == "float" else "f32(0)")
        body = [
            "fn %s(a: [%s], b: [%s], reps: int) -> %s {" % (name, el, el, el),
            "    var acc = %s" % acc_init,
            "    for r in 0..reps {",
            "        acc = acc + %s(%s)" % (red, kernel),
            "    }",
            "    return acc",
            "}",
        ]
        self.lines.insert(0, "\n".join(body))
        self.spent += n * reps * 3
        a = self.fresh("big")
        b = self.fresh("big")
        self.emit("let %s = %s" % (a, self.arr_leaf(el, n, ctx, 2)))
        self.emit("let %s = %s" % (b, self.arr_leaf(el, n, ctx, 2)))
        self.declare(Var(a, ARR[el], False, n))
        self.declare(Var(b, ARR[el], False, n))
        for v in self.vars_of(ARR[el], n):
            if v.name in (a, b):
                v.buf.freeze()
        ts = []
        for _ in range(1 + self.r(3)):
            t = self.fresh("t")
            self.emit("let %s = spawn %s(%s, %s, %d)" % (t, name, a, b, reps))
            ts.append(t)
        self.emit("print(%s)" % ", ".join("wait(%s)" % t for t in ts))

    def sect_deep(self, ctx):
        """Deep (not too deep) recursion, in a task: its stack grows."""
        name = self.fresh("deep")
        self.lines.insert(0, "\n".join([
            "fn %s(n: int) -> int {" % name,
            "    if n == 0 { return 0 }",
            "    return %s(n - 1) + n %% 7" % name,
            "}",
        ]))
        depth = self.pick([10, 100, 1000, 3000])
        if self.chance(0.5):
            self.emit("print(wait(spawn %s(%d)))" % (name, depth))
        else:
            self.emit("print(%s(%d))" % (name, depth))

    def sect_time(self, ctx):
        t0 = self.fresh("t")
        self.emit("let %s = now()" % t0)
        self.emit("sleep(%d)" % self.r(3))
        self.emit("print(now() - %s >= 0)" % t0)

    # ---- deliberate runtime errors -------------------------------------------------------------

    def error_stmt(self, ctx, in_task=False):
        """Statements that end in a runtime error (at a known place) or a deadlock."""
        k = self.r(19)
        if in_task and k == 16:
            k = 0
        n = self.pick([0, 1, 3, 8, 9, 17])
        e = self.pick(["int", "float", "f32"])
        arr = "iota(%d)" % n if e == "int" else "%s(iota(%d))" % (e, n)
        a = self.fresh("e")
        if k == 0:
            self.emit("let %s = %s" % (a, arr))
            self.emit("print(%s[%s])" % (a, self.pick([str(n), str(n + 5), "(-1)", "len(%s)" % a])))
        elif k == 1:
            self.emit("var %s = %s" % (a, arr))
            self.emit("%s[%s] = %s" % (a, self.pick([str(n), "(-1)", "9223372036854775807"]), self.scalar_lit(e)))
        elif k == 2:
            self.emit("let %s = %s" % (a, arr))
            i = self.r(n + 1)
            self.emit("print(%s[%d..%d])" % (a, i, n + 1 + self.r(3)))
        elif k == 3:
            m = n + 1 + self.r(20)
            self.emit("print(sum(%s + %s))" % (arr, "iota(%d)" % m if e == "int" else "%s(iota(%d))" % (e, m)))
        elif k == 4:
            self.emit("var %s = %d" % (a, 0))
            self.emit("print(%s %s %s)" % (self.int_expr(ctx, 2), self.pick(["/", "%"]), a))
        elif k == 5:
            self.emit("let %s = iota(%d) - %d" % (a, max(n, 1), self.r(max(n, 1))))
            self.emit("print(iota(%d) / %s)" % (max(n, 1), a))
        elif k == 6:
            emp = "iota(0)" if e == "int" else "%s(iota(0))" % e
            self.emit("print(%s(%s))" % (self.pick(["min", "max"]), emp))
        elif k == 7:
            el = self.pick(FP)
            w = LANES[SIMD_OF[el]]
            m = self.r(w + 4)
            self.emit("let %s = %s(iota(%d))" % (a, el, m))
            if self.chance(0.5):
                self.emit("print(vload(%s, %d))" % (a, self.r(3) if m < w else m - w + 1 + self.r(3)))
            else:
                self.emit("vstore(%s, %d, splat(%s))" % (a, self.r(3) if m < w else m - w + 1 + self.r(3), self.scalar_lit(el)))
        elif k == 8:
            s = self.pick(["f32x8", "f64x4"])
            self.emit("print(lane(%s, %s))" % (self.simd_expr(s, ctx, 2), self.pick([str(LANES[s]), "(-1)", "100"])))
        elif k == 9:
            self.emit("print(%s(%s))" % (self.pick(["iota", "fill"]) if False else "iota", "(-%d)" % (1 + self.r(5))))
        elif k == 10:
            self.emit("print(fill((-%d), %s))" % (1 + self.r(5), self.scalar_lit(e)))
        elif k == 11:
            self.emit("let %s = chan<int>(%s)" % (a, self.pick(["(-1)", "16777217", "9223372036854775807"])))
        elif k == 12:
            self.emit("let %s = chan<int>(%d)" % (a, self.r(3)))
            self.emit("close(%s)" % a)
            self.emit(self.pick(["send(%s, 1)" % a, "print(recv(%s))" % a, "close(%s)" % a]))
        elif k == 13:
            # deadlock: nobody will ever send
            self.emit("let %s = chan<int>(%d)" % (a, self.r(2)))
            self.emit("print(recv(%s))" % a)
        elif k == 14:
            self.emit("let %s = chan<int>(0)" % a)
            self.emit("send(%s, 1)" % a)
        elif k == 15:
            name = self.fresh("down")
            self.lines.insert(0, "fn %s(n: int) -> int { return %s(n + 1) + 1 }" % (name, name))
            self.emit("print(%s(0))" % name)
        elif k == 16:
            g = self.fresh("late")
            name = self.fresh("early")
            self.lines.insert(0, "fn %s() -> int { return %s + 1 }" % (name, g))
            self.emit("print(%s())" % name)
            self.emit("let %s = 5" % g)
        elif k == 17:
            self.emit("print(\"before\")")
            self.emit("let %s = fill(1_000_000_000_000, %s)" % (a, self.scalar_lit(e)))
        else:
            self.emit("var %s = %s" % (a, self.int_lit()))
            self.emit("print(%s %% (%s - %s))" % (self.int_lit(), a, a))

    def sect_error(self, ctx):
        if self.chance(0.35):
            # In a task the main task waits for.
            name = self.fresh("fail")
            saved = (self.lines, self.indent, self.scopes)
            self.lines, self.indent, self.scopes = [], 1, [[]]
            self.error_stmt(Ctx(func=None, may_print=True), in_task=True)
            inner = self.lines
            self.lines, self.indent, self.scopes = saved
            # Helper declarations made by error_stmt (top-level fns) stay top-level.
            helpers = [l for l in inner if l.startswith("fn ")]
            body = [l for l in inner if not l.startswith("fn ")]
            for h in helpers:
                self.lines.insert(0, h)
            self.lines.insert(0, "\n".join(["fn %s() {" % name] + body + ["}"]))
            t = self.fresh("t")
            self.emit("let %s = spawn %s()" % (t, name))
            self.emit("wait(%s)" % t)
            self.emit('print("not reached")')
        else:
            self.error_stmt(ctx)

    # ---- the program ---------------------------------------------------------------------------

    def program(self):
        self.emit("// vecgen seed %s%s" % (self.seed, " --v1" if self.v1 else ""))
        self.make_functions()
        ctx = Ctx(main=True)
        main_lines_start = len(self.lines)
        sections = int((8 + self.r(14)) * self.size) + 1
        for _ in range(sections):
            k = self.r(100)
            if k < 45:
                for _ in range(1 + self.r(4)):
                    self.statement(ctx)
            elif k < 55:
                self.sect_spawn_wait(ctx)
            elif k < 62:
                self.sect_foreground(ctx)
            elif k < 70:
                self.sect_pipeline(ctx)
            elif k < 75:
                self.sect_fanin(ctx)
            elif k < 80:
                self.sect_workers(ctx)
            elif k < 86:
                self.sect_heavy(ctx)
            elif k < 89:
                self.sect_deep(ctx)
            elif k < 91:
                self.sect_time(ctx)
            else:
                self.stmt_simd_loop(ctx)
        if self.chance(0.3):
            self.sect_error(ctx)
        return "\n".join(self.lines) + "\n"


def generate(seed, v1=False, size=1.0):
    return Gen(seed, v1=v1, size=size).program()


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(description="Print a random .vec program.")
    ap.add_argument("seed", type=int)
    ap.add_argument("--v1", action="store_true", help="use LANGUAGE.md v1's additions too")
    ap.add_argument("--size", type=float, default=1.0, help="scale the number of statements")
    a = ap.parse_args(argv)
    sys.stdout.write(generate(a.seed, v1=a.v1, size=a.size))


if __name__ == "__main__":
    main(sys.argv[1:])
