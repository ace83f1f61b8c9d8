// Functions compiled whole to native code (JIT/FunctionLowering.swift): each program here runs with
// the JIT and without it and must print the same thing; the functions meant to be native must be,
// and errors raised inside native code must come out with the interpreter's message and location.

import Testing

@testable import VecVM

@Suite(
    "native functions", .serialized, .enabled(if: JITSupport.available, "no JIT here (compiled out, or no AVX2+FMA)"))
struct NativeFunctionTests {
    /// Runs `source` with and without the JIT; both must agree; returns the JIT run.
    func agree(_ source: String, quantum: Int64 = 10_000_000, sourceLocation: Testing.SourceLocation = #_sourceLocation)
        -> RunResult
    {
        runAgreeing(source, quantum: quantum, into: jitRuns, sourceLocation: sourceLocation)
    }

    /// What the JIT made of this test's programs.
    let jitRuns = JITRuns()
    func isNative(_ name: String) -> Bool { jitRuns.isNative(name) }

    @Test func masksAndSelectInNativeCode() {
        let r = agree(
            """
            fn clampCount(a: [f32], lo: f32, hi: f32) -> int {
                var n = 0
                var i = 0
                while i + 8 <= len(a) {
                    let v = vload(a, i)
                    let m = v >= splat(lo) && !(v > splat(hi))
                    vstore(a, i, select(m, v, splat(lo)))
                    n += count(m)
                    if any(m) { n += 1000 }
                    if all(m) { n += 100 }
                    i += 8
                }
                return n
            }
            fn mixed(x: f64x4) -> f64x4 {
                let nan = splat(0.0) / splat(0.0)
                let m = x != nan || x == x
                return select(m || x < splat(1.0), x * 2.0, splat(-1.0))
            }
            let a = f32(iota(64)) * 0.25 - 4.0
            print(clampCount(a, -1.0, 3.0), a)
            print(mixed(splat(0.5)), mixed(splat(0.0) / splat(0.0)))
            """)
        #expect(r.output.hasPrefix("3117 [-1.0"), "\(r.output)")
        #expect(isNative("clampCount"))
        #expect(isNative("mixed"))
    }

    @Test func explicitSimdDotProduct() {
        let r = agree(
            """
            fn dot8(a: [f32], b: [f32]) -> f32 {
                var acc = splat(f32(0))
                var i = 0
                while i + 8 <= len(a) {
                    acc = fma(vload(a, i), vload(b, i), acc)
                    i += 8
                }
                var s = sum(acc)
                while i < len(a) {
                    s += a[i] * b[i]
                    i += 1
                }
                return s
            }
            let a = f32(iota(1003)) * 0.5
            let b = fill(1003, f32(2)) - f32(iota(1003)) * 0.001
            print(dot8(a, b), dot(a, b))
            """)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(isNative("dot8"))
    }

    @Test func scalarArithmeticOfEveryKind() {
        let r = agree(
            """
            fn ints(n: int) -> int {
                var acc = 0
                for i in 0..n {
                    acc = acc * 31 + i / 3 - i % 7 + max(i, 5) - min(-i, 2) + abs(5 - i)
                    if i > 10 && i != 13 || i == 2 { acc -= 1 }
                }
                return acc
            }
            fn floats(n: int) -> float {
                var x = 0.5
                for i in 0..n {
                    x = sqrt(x * x + float(i)) - x / 3.0 + min(x, 2.0) - max(-x, 0.25) + abs(x - 1.5)
                    x = fma(x, 0.5, 1.0)
                }
                return x
            }
            fn singles(n: int) -> f32 {
                var x = f32(0.5)
                for i in 0..n {
                    x = sqrt(x * x + f32(i)) / f32(2) - f32(float(i) * 0.01)
                    if x < f32(0) { x = -x }
                }
                return x
            }
            fn conversions(x: float) -> int { return int(x) + int(f32(x) * f32(2)) }
            print(ints(1000), floats(200), singles(300))
            print(conversions(2.9), conversions(-2.9), conversions(0.0 / 0.0), conversions(1e300))
            """)
        #expect(r.error == nil, "\(r.errorText)")
        for name in ["ints", "floats", "singles", "conversions"] { #expect(isNative(name), "\(name)") }
    }

    /// Every register form of the two-address integer operations (FunctionLowering.emitIntBinary):
    /// the result in the left operand's register (`y = y - x`), in the right one's (`x = a - x`,
    /// which goes through rax, and `y = a * y`), in a third (`lea` for a sum), and `-`, `!`, `%`
    /// and `/` by constants into their own operand's register or another, with wrapping values; a
    /// constant divisor used again after its division keeps its load (`keep`).
    @Test func integerOperationsInEveryRegisterForm() {
        let r = agree(
            """
            fn mix(a: int, b: int, n: int) -> int {
                var x = b
                var y = a
                var s = 0
                for i in 0..n {
                    x = a - x
                    y = y - x
                    x = x * y
                    y = a * y
                    x = x + i
                    y = i + y
                    let z = x - y
                    let w = -z
                    y = -y
                    x = w + z * 3 - x % 5 + y / 4 + x % 8 - y / -16
                    s = s * 31 + x - y
                }
                return s
            }
            fn flip(b: bool, n: int) -> int {
                var c = b
                var k = 0
                for i in 0..n {
                    c = !c
                    let d = !c
                    if d { k = k + i } else { k = i - k }
                }
                return k
            }
            fn keep(n: int) -> int {
                var s = 0
                for i in 0..n {
                    let d = 7
                    s += (i - 50) % d + d
                    let e = 16
                    s += (i - 50) / e * e + (i - 50) % e
                }
                return s
            }
            print(mix(3, 5, 10), mix(-7, 11, 1000), mix(9223372036854775807, 2, 50))
            print(flip(true, 11), flip(false, 100), keep(100))
            """)
        #expect(r.output == "-3764699954929792554 4468891244130442092 7929964673336900906\n11 100 649\n")
        for name in ["mix", "flip", "keep"] { #expect(isNative(name), "\(name)") }
    }

    @Test func comparisonsWithNaN() {
        let r = agree(
            """
            fn cmp(a: float, b: float) -> int {
                var r = 0
                if a < b { r += 1 }
                if a <= b { r += 2 }
                if a > b { r += 4 }
                if a >= b { r += 8 }
                if a == b { r += 16 }
                if a != b { r += 32 }
                return r
            }
            let nan = 0.0 / 0.0
            print(cmp(1.0, 2.0), cmp(2.0, 2.0), cmp(3.0, 2.0), cmp(nan, 1.0), cmp(1.0, nan), cmp(nan, nan))
            """)
        #expect(r.output == "35 26 44 32 32 32\n", "\(r.output)")
        #expect(isNative("cmp"))
    }

    /// floor, ceil and round (half away from zero) in native code: scalars of both widths and SIMD
    /// values, at halves, just below a half, signed zeros, the largest non-integers, subnormals,
    /// infinities and NaN — the same values as the interpreter (the math library's algorithm).
    @Test func roundingInNativeCode() {
        let r = agree(
            """
            fn fl(x: float) -> float { return floor(x) }
            fn ce(x: float) -> float { return ceil(x) }
            fn ro(x: float) -> float { return round(x) }
            fn fl32(x: f32) -> f32 { return floor(x) }
            fn ce32(x: f32) -> f32 { return ceil(x) }
            fn ro32(x: f32) -> f32 { return round(x) }
            fn v64(v: f64x4) -> f64x4 { return round(v) + floor(v) * 0.5 - ceil(v) }
            fn v32(v: f32x8) -> f32x8 { return round(v) + floor(v) * f32(0.5) - ceil(v) }
            let nan = 0.0 / 0.0
            let inf = 1.0 / 0.0
            let xs = [0.5, -0.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994, 0.0, -0.0, -0.3, 0.7,
                1e300, -1e300, inf, -inf, nan, 4503599627370495.5, -4503599627370495.5, 1e-310, -1e-310, -2.7]
            for i in 0..len(xs) {
                let x = xs[i]
                let y = f32(x)
                print(fl(x), ce(x), ro(x), fl32(y), ce32(y), ro32(y))
            }
            let ys = f32(xs)
            var i = 0
            while i + 4 <= len(xs) {
                print(v64(vload(xs, i)))
                i += 4
            }
            i = 0
            while i + 8 <= len(ys) {
                print(v32(vload(ys, i)))
                i += 8
            }
            print(ro32(8388607.5), ro32(-8388607.5), ro32(0.49999997), ro(-0.5), ro(4503599627370495.5))
            """)
        let lines = r.output.split(separator: "\n")
        #expect(lines.first == "0.0 1.0 1.0 0.0 1.0 1.0")
        #expect(lines.dropFirst(5).first == "-1.0 -0.0 -0.0 -1.0 -0.0 -1.0")  // -0.49999999999999994
        #expect(lines.last == "8388608.0 -8388608.0 0.0 -1.0 4503599627370496.0")
        for name in ["fl", "ce", "ro", "fl32", "ce32", "ro32", "v64", "v32"] {
            #expect(isNative(name), "\(name) is not native")
        }
    }

    /// exp, log, sin, cos, tanh and pow in native code call the interpreter's math (NativeMathHelper)
    /// with every live value saved around the call: values of each kind live across the calls, special
    /// arguments, SIMD values of both widths, and a loop long enough, on a 50 µs quantum, that
    /// preemption signals land in the native code around the calls and in the helper.
    @Test func mathFunctionsInNativeCode() {
        let r = agree(
            """
            fn e64(x: float) -> float { return exp(x) + log(x) * sin(x) - cos(x) / tanh(x) + pow(x, 1.5) }
            fn e32(x: f32) -> f32 { return exp(x) + log(x) * sin(x) - cos(x) / tanh(x) + pow(x, f32(1.5)) }
            fn keep(n: int, x: float, y: f32) -> float {
                var s = 0.0
                var k = 0
                var t = y
                var v = splat(x)
                for i in 0..n {
                    s = s + exp(x * float(i) * 0.001) + float(k)
                    t = t + sin(t)
                    v = v + tanh(v) * 0.001
                    k = k + i % 3
                }
                return s + float(t) + sum(v) + float(k)
            }
            fn v64(v: f64x4) -> f64x4 { return exp(v) + pow(v, splat(0.5)) - sin(v) * cos(v) + tanh(v) + log(v) }
            fn v32(v: f32x8) -> f32x8 { return exp(v) + pow(v, splat(f32(0.5))) - sin(v) * cos(v) + tanh(v) + log(v) }
            let inf = 1.0 / 0.0
            let xs = [0.5, 1.0, 2.0, 1e-300, 700.0, -1.0, 0.0, -0.0, 1e300, 3.0e10, 0.0 / 0.0, -inf, inf, 1e-310, 0.001, 100.0]
            for i in 0..len(xs) { print(e64(xs[i]), e32(f32(xs[i]))) }
            print(keep(30000, 1.5, f32(0.25)), keep(7, -2.0, f32(3.0)))
            let ys = f32(xs)
            var i = 0
            while i + 4 <= len(xs) {
                print(v64(vload(xs, i)))
                i += 4
            }
            print(v32(vload(ys, 0)), v32(vload(ys, 8)))
            """, quantum: 50_000)
        #expect(r.output.hasPrefix("-0.22908557971871946 -0.2290856\n"), "\(r.output)")
        for name in ["e64", "e32", "keep", "v64", "v32"] {
            #expect(isNative(name), "\(name) is not native")
        }
    }

    @Test func simdValuesInAndOut() {
        let r = agree(
            """
            fn step(v: f64x4, w: f64x4, k: float) -> f64x4 {
                let s = splat(k)
                return sqrt(abs(v * s - w)) + min(v, w) - max(-v, w / s)
            }
            fn total(v: f32x8) -> f32 { return sum(v) + max(v) - min(v) + lane(v, 3) }
            var v = vload([1.0, 4.0, 9.0, 16.0], 0)
            for i in 0..5 { v = step(v, splat(2.0), 1.5) }
            print(v, total(vload(f32(iota(8)) * 0.25, 0)))
            """)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(isNative("step") && isNative("total"))
    }

    @Test func errorsInsideNativeCodeHaveTheirLocation() {
        let oob = agree(
            """
            fn get(a: [int], i: int) -> int { return a[i] }
            print(get(iota(4), 2))
            print(get(iota(4), 7))
            """)
        #expect(oob.output == "2\n")
        #expect(oob.errorText.hasPrefix("test.vec:1:43: runtime error: index 7 out of bounds for array of length 4"))
        let div = agree(
            "fn d(a: int, b: int) -> int { return a / b }\nprint(d(7, 2), d(-9223372036854775807 - 1, -1))\nprint(d(1, 0))"
        )
        #expect(div.output == "3 -9223372036854775808\n")
        #expect(div.errorText.contains("integer division by zero"))
        let lane = agree(
            "fn l(v: f32x8, k: int) -> f32 { return lane(v, k) }\nprint(l(splat(f32(1)), 7))\nprint(l(splat(f32(1)), 8))"
        )
        #expect(lane.output == "1.0\n")
        #expect(lane.errorText.contains("lane 8 out of range"))
        let vload = agree(
            "fn v(a: [float], i: int) -> f64x4 { return vload(a, i) }\nprint(v(fill(6, 1.0), 2))\nprint(v(fill(6, 1.0), 3))"
        )
        #expect(vload.errorText.contains("vload of 4 lanes at index 3 is out of bounds for array of length 6"))
        #expect(isNative("get") && isNative("d") && isNative("l") && isNative("v"))
    }

    /// A bounds check that an earlier one made in the same straight run of code is left out
    /// (FunctionLowering+Checks.swift), and only that one: a changed index, a check on one arm of an
    /// `if` only, or an access after a call still checks, and reports where the interpreter does.
    @Test func repeatedBoundsChecksAreLeftOutOnlyWhereTheyCannotFail() throws {
        let source = """
            fn bump(a: [float], i: int) { a[i] += 1.5 }
            fn shift(a: [int], i: int) -> int {
                let x = a[i]
                let j = i + 1
                a[j] = x
                return x
            }
            fn half(a: [int], i: int, c: bool) -> int {
                var s = 0
                if c { s = a[i] }
                a[i] = s + 1
                return s
            }
            fn count(n: int) -> int {
                var s = 0
                for k in 0..n { s += k }
                return s
            }
            fn afterCall(a: [int], i: int) -> int { return a[i] + count(3) + a[i] }
            let f = fill(3, 0.0)
            bump(f, 2)
            bump(f, 2)
            let xs = iota(4)
            print(f, shift(xs, 1), xs, half(xs, 0, true), half(xs, 3, false), afterCall(xs, 2), xs)
            ARG
            """
        for (arg, error) in [
            ("bump(f, 3)", "test.vec:1:32: runtime error: index 3 out of bounds for array of length 3"),
            ("print(shift(xs, 3))", "test.vec:5:10: runtime error: index 4 out of bounds for array of length 4"),
            ("print(half(xs, 4, false))", "test.vec:11:10: runtime error: index 4 out of bounds for array of length 4"),
        ] {
            let r = agree(source.replacingOccurrences(of: "ARG", with: arg))
            #expect(r.output == "[0.0, 0.0, 3.0] 1 [1, 1, 1, 1] 0 0 5 [1, 1, 1, 1]\n")
            #expect(r.errorText.hasPrefix(error), "\(arg): \(r.errorText)")
        }
        for name in ["bump", "shift", "half", "afterCall"] { #expect(isNative(name), "\(name)") }
        // bump's read and write of a[i] share one check: one jae (0F 83) in its code.
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let program = try vm.compile(
            source: source.replacingOccurrences(of: "ARG", with: ""), fileName: "t.vec", hostReadableGlobals: false
        ).program
        let f = try #require(program.function(named: "bump"))
        let code = try FunctionLowering.lower(f, functions: program.functions, engine: X86JIT()).code
        #expect(code.indices.dropLast().filter { code[$0] == 0x0F && code[$0 + 1] == 0x83 }.count == 1)
    }

    @Test func repeatedArithmeticIsComputedOnceAndAddsFuse() throws {
        // FunctionLowering+Peephole.swift: `a + b` again, with neither operand written in between,
        // is a move of the first result; after `a` is written it is computed again. `x + y + 1`
        // where the sum is read nowhere else is one lea.
        let source = """
            fn cseMix(p: int, q: int, r: float) -> float {
                var a = p
                let b = q
                let s1 = a + b
                let s2 = a + b
                a = a + 1
                let s3 = (a + b) * (a + b + 1) / 2 + a + 1
                let f1 = float(a) / (r + 1.0)
                let f2 = float(a) / (r + 1.0)
                return float(s1 * 1000000 + s2 * 1000 + s3) + f1 + f2
            }
            print(cseMix(3, 4, 0.5), cseMix(-7, 2, -3.25), cseMix(9223372036854775807, 1, 1.0e300))
            """
        let r = agree(source)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(isNative("cseMix"))
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let program = try vm.compile(source: source, fileName: "t.vec", hostReadableGlobals: false).program
        let f = try #require(program.function(named: "cseMix"))
        var l = FunctionLowering(function: f, functions: program.functions, engine: X86JIT())
        let before = l.code
        l.eliminateCommonSubexpressions()
        let changed = l.code.indices.filter { l.code[$0] != before[$0] }
        // s2 = a + b, the second (a + b) of s3, and f2's float(a). (f2's division is computed again:
        // the register that held f1's `1.0` was reused for float(a) in between, so the constant is
        // loaded again into another register, and the values are told apart by their registers.)
        #expect(changed.map { before[$0].opcode } == [.addInt, .addInt, .convert])
        #expect(changed.allSatisfy { l.code[$0].opcode == .move })
        // The first (a + b) after `a = a + 1` is computed again, not moved from s1.
        let adds = before.indices.filter { before[$0].opcode == .addInt }
        #expect(l.code[adds[2]].opcode == .addInt)
        // s3's `... / 2 + a + 1`: the sum is one lea with the 1.
        var lowering = FunctionLowering(function: f, functions: program.functions, engine: X86JIT())
        _ = try lowering.run()
        let fused = lowering.code.indices.filter { lowering.leaFusion(at: $0) != nil }
        #expect(fused.count == 1 && lowering.code[fused[0] + 1].opcode == .addIntImm)
    }

    @Test func longNativeLoopsYieldToOtherTasks() {
        // The native loop polls the preemption flag at its back-edge and re-enters after yielding.
        let r = agree(
            """
            fn spin(n: int) -> int {
                var s = 0
                for i in 0..n { s = (s + i * 7) % 1000003 }
                return s
            }
            fn ticker(c: chan<int>) {
                for i in 0..5 {
                    sleep(1)
                    send(c, i)
                }
                close(c)
            }
            let c = chan<int>(10)
            spawn ticker(c)
            let r = spin(3_000_000)
            var got = 0
            for v in c { got += v }
            print(r, got)
            """, quantum: 500_000)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(isNative("spin"))
    }

    @Test func aLoopRunsNativelyThenTheInterpreterTakesOver() {
        // Each function runs a native loop, then reaches an instruction outside native code (input:
        // `argc()`): the interpreter goes on there with every value the loop computed, ints, floats,
        // f32 and SIMD alike, and runs the rest of the call. A send, a print, a string or a kernel
        // does not leave: it runs through the runtime (NativeStepTests).
        let r = agree(
            """
            fn produce(n: int, out: chan<int>) {
                var s = 0
                var f = 0.5
                var h = f32(1)
                var v = splat(f32(0.25))
                for j in 0..n { s += (n + j) % 7; f = f * 1.5 + 0.25; h = h * f32(1.125); v = v * splat(f32(1.5)) }
                s += argc()
                send(out, s)
                print("produced", s, f, h, sum(v))
                let label = "n=" + str(n)
                print(label, sum(f32(iota(n)) * h))
            }
            fn consume(c: chan<int>, k: int) -> int {
                var t = 0
                for i in 0..k { t += i * i }
                for v in c { t += v }
                return t
            }
            fn tail(n: int) -> float {
                var x = 0.0
                var i = 0
                while i < n {
                    x += float(i) * 0.5
                    if i == 7 { print("at 7", x) }
                    i += 1
                }
                return x
            }
            let c = chan<int>(4)
            let d = chan<int>(4)
            let t = spawn consume(d, 100)
            print(tail(20))
            let p1 = spawn produce(40, c)
            let a = recv(c)
            wait(p1)
            let p2 = spawn produce(9, c)
            let b = recv(c)
            wait(p2)
            send(d, a)
            send(d, b)
            close(d)
            print(a + b, wait(t))
            """)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(isNative("produce") && isNative("consume") && isNative("tail"))
        // --stats and jit-dump say where each leaves.
        let partial = jitRuns.partial
        #expect(partial.contains("produce: leaves for the interpreter at io"), "\(partial)")
        #expect(!partial.contains { $0.hasPrefix("consume:") }, "\(partial)")
        #expect(!partial.contains { $0.hasPrefix("tail:") }, "\(partial)")
        #expect(jitRuns.steps.contains("tail: runs clearRefs, loadString, print through the runtime"))
    }

    @Test func aTaskWhoseBodyIsNativeReturnsItsResultAndItsErrors() {
        // A spawned function starts as native code (Interpreter.enterNatively): its result reaches
        // `wait` whatever its type, and an error in it has the task's location and traceback.
        let r = agree(
            """
            fn count(n: int) -> int {
                var s = 0
                for i in 0..n { s += i % 5 }
                return s
            }
            fn lanes(n: int) -> f64x4 {
                var v = splat(1.0)
                for i in 0..n { v = v * splat(1.25) + splat(float(i)) }
                return v
            }
            fn half(n: int) -> f32 {
                var x = f32(0)
                for i in 0..n { x += f32(i) * f32(0.5) }
                return x
            }
            fn nothing(n: int) {
                var s = 0
                for i in 0..n { s += i }
            }
            fn boom(n: int) -> int {
                var s = 0
                for i in 0..n { s += 100 / (n - 1 - i) }
                return s
            }
            let a = spawn count(1000)
            let b = spawn lanes(6)
            let c = spawn half(9)
            let d = spawn nothing(5)
            print(wait(a), wait(b), wait(c))
            wait(d)
            print(wait(spawn boom(4)))
            """)
        #expect(r.output == "2000 <24.849853515625, 24.849853515625, 24.849853515625, 24.849853515625> 18.0\n")
        #expect(r.errorText.contains("integer division by zero"), "\(r.errorText)")
        #expect(r.errorText.contains("test.vec:22:"), "\(r.errorText)")
        for name in ["count", "lanes", "half", "nothing", "boom"] { #expect(isNative(name), "\(name)") }
    }

    @Test func functionsOutsideTheSubsetStayInterpreted() {
        _ = agree(
            """
            fn hello(n: int) -> str { return "x" + str(n) }
            fn rec(n: int) -> int { if n < 2 { return n }
             return rec(n - 1) + 1 }
            fn tell(c: chan<int>, n: int) { send(c, n + argc()) }
            fn greet(n: int) -> int { return len(hello(n)) }
            fn laterRecv(c: chan<int>) -> int { tell(c, 1); return greet(recv(c)) }
            let c = chan<int>(1)
            tell(c, 5)
            print(hello(3), rec(10), recv(c), greet(12))
            """)
        // Strings and channels run through the runtime (NativeStepTests), objects pass between
        // native functions; input before any loop keeps a function interpreted, and so does a call of it.
        #expect(isNative("hello") && isNative("greet"))
        #expect(isNative("rec"))  // recursion is native since native calls (NativeCallTests)
        #expect(!isNative("tell") && !isNative("laterRecv"))
        #expect(jitRuns.interpreted.contains("tell: uses io"))
    }
    /// Runs `source` with the JIT on one P without timer preemption (a flag set at a call entry would
    /// hand a chain over too), checks its output against `--no-jit`'s (and `expected`), and returns
    /// the VM for its counters; the caller shuts it down.
    func runForChains(
        _ source: String, expecting expected: String? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> VM {
        let out = CapturedOutput()
        let vm = VM(
            configuration: VMConfiguration(
                procs: 1, quantumNanoseconds: 10_000_000_000, jit: true, asyncPreemption: false, output: out))
        #expect(throws: Never.self, sourceLocation: sourceLocation) {
            try vm.run(source: source, fileName: "chain.vec")
        }
        let interpreted = run(source, mode: Mode(procs: 1, jit: false, asyncPreemption: false)).output
        #expect(out.text == interpreted, sourceLocation: sourceLocation)
        if let expected { #expect(out.text == expected, sourceLocation: sourceLocation) }
        return vm
    }

    /// The first call down a chain of native functions finds the register stack large enough for
    /// all of them (runNative makes room for NativeFunction.reachExtent), so no call entry hands its
    /// frame to the interpreter — which used to run that whole call, loop included, interpreted (the
    /// task's register stack starts at the top level's frame size).
    @Test func theFirstCallDownANativeChainStaysNative() {
        let source = """
            fn leaf(i: int, j: int) -> float { return float(i * j % 7) }
            fn inner(n: int, v: [float]) -> float {
                var s = 0.0
                for j in 0..n { s += leaf(j, n) * v[j] }
                return s
            }
            fn middle(n: int, v: [float]) -> float { return inner(n, v) + inner(n - 1, v) }
            fn outer(n: int, v: [float]) -> float { return middle(n, v) * 2.0 }
            let v = fill(100, 0.5)
            print(outer(100, v))
            print(outer(50, v))
            """
        let vm = runForChains(source)
        defer { vm.shutdown() }
        #expect(vm.stats.nativeChainsLeft.load(ordering: .relaxed) == 0)
        #expect(vm.statistics.contains("jit.chains.left=0"))
        #expect(vm.nativeFunctions.compiled.contains("outer"))
    }
    /// A recursion deeper than the register stack hands its chain of native frames to the
    /// interpreter each time the stack grows (a recursion's reach counts one frame); the innermost
    /// frame then goes on as native code (Interpreter.resumableNative), not interpreted to the end of its call.
    @Test func aChainHandedOverGoesOnNatively() {
        let source = """
            fn down(n: int, acc: int) -> int {
                if n == 0 { return acc }
                var s = acc
                for i in 0..3 { s += i }
                return down(n - 1, s) + 1
            }
            print(down(3000, 0))
            """
        let vm = runForChains(source, expecting: "12000\n")
        defer { vm.shutdown() }
        let left = vm.stats.nativeChainsLeft.load(ordering: .relaxed)
        #expect(left > 0)
        #expect(vm.stats.nativeChainsResumed.load(ordering: .relaxed) == left)
        #expect(vm.statistics.contains("jit.chains.resumed=\(left)"))
    }
}
