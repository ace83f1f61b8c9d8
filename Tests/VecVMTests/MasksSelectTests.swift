// LANGUAGE.md v1's comparisons, masks, [bool], select, any/all/count, % on [int] and conversions as
// literal contexts: exact output in every execution mode, and the compile and runtime errors.

import Testing

@testable import VecVM

@Suite("masks, select and [bool]")
struct MasksSelectTests {
    static let program = """
        let a = [3.5, -1.0, 0.0, 2.25, -7.5, 10.0]
        let b = [1.0, 2.0, 0.0, 3.0, -7.5, 0.0 / 0.0]
        print(a < b, a <= b, a == b, a != b, a > 0.0, 1.0 >= a)
        print(select(a > b, a, b), select(a > b, 1.0, b), select(true, a, b), select(false, 1, 2))
        let f = [true, false, true, true, false, true]
        print(f && (a > 0.0), f || false, !f, f == (a > 0.0), f != f, count(f), any(!f), all(f))
        var g = fill(3, false)
        g[1] = true
        print(g, g[1], len(g), g[0..2], fill(0, true), count(fill(1000, true)), all(fill(0, false)))
        for x in g { print(x) }
        let v: f64x4 = vload(a, 0)
        let w: f64x4 = vload(b, 0)
        let m = v > w
        print(m, !m, m && (v > 0.0), m || true, select(m, v, w), select(m, 1.0, w), any(m), all(m), count(m))
        print(lane(m, 0), lane(m, 1), str(m), -splat(f32(0.0)), -splat(0.0))
        let fv: f32x8 = vload(f32(iota(8)) - 3.5, 0)
        let fm = fv >= splat(f32(0.0))
        print(fm, count(fm), all(fm), select(fm, fv, splat(f32(0.0))), select(fm, fv, 9.0))
        let n = iota(7) - 3
        print(n % 3, n % -2, -9223372036854775807 - 1 + 0 * n % -1, count(n % 2 == 0), n / 2)
        print(float(9223372036854775807 % 4096), f32(4294967296 % 1000), float(7 % 4), float(7 / 2), f32(-0))
        let big = f32(iota(1000)) * 0.5
        print(count(big > 100.0), sum(select(big > 100.0, big, 0.0)), any(big < 0.0), all(big >= 0.0))
        print(sum(float(iota(100) % 7)), max(iota(100) % 13), min(select(iota(10) > 4, iota(10), 100)))
        """

    static let expected = """
        [false, true, false, true, false, false] [false, true, true, true, true, false] [false, false, true, false, true, false] [true, true, false, true, false, true] [true, false, false, true, false, true] [false, true, true, false, true, false]
        [3.5, 2.0, 0.0, 3.0, -7.5, nan] [1.0, 2.0, 0.0, 3.0, -7.5, nan] [3.5, -1.0, 0.0, 2.25, -7.5, 10.0] 2
        [true, false, false, true, false, true] [true, false, true, true, false, true] [false, true, false, false, true, false] [true, true, false, true, true, true] [false, false, false, false, false, false] 4 true false
        [false, true, false] true 3 [false, true] [] 1000 true
        false
        true
        false
        <true, false, false, false> <false, true, true, true> <true, false, false, false> <true, true, true, true> <3.5, 2.0, 0.0, 3.0> <1.0, 2.0, 0.0, 3.0> true false 1
        true false <true, false, false, false> <-0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0> <-0.0, -0.0, -0.0, -0.0>
        <false, false, false, false, true, true, true, true> 4 false <0.0, 0.0, 0.0, 0.0, 0.5, 1.5, 2.5, 3.5> <9.0, 9.0, 9.0, 9.0, 0.5, 1.5, 2.5, 3.5>
        [0, -2, -1, 0, 1, 2, 0] [-1, 0, -1, 0, 1, 0, 1] [-9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808] 3 [-1, -1, 0, 0, 0, 1, 1]
        4095.0 296.0 3.0 3.5 -0.0
        799 239700.0 false true
        295.0 12 5

        """

    @Test("the same output in every mode", arguments: Mode.all)
    func everyMode(_ mode: Mode) {
        let r = run(Self.program, mode: mode)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == Self.expected)
    }

    @Test func compileErrors() {
        let cases: [(String, String)] = [
            ("print(exp(iota(3)))", "exp needs float or f32 values, found [int]"),
            (
                "print(select([true], [1.0], [1]))",
                "'select' needs operands of one element type, found [float] and [int]"
            ),
            ("let s = \"a\"\nprint(s < 1)", "cannot apply '<' to a value of type str and a number"),
            ("let m = splat(1.0) > splat(0.0)\nprint(pow(m, 2.0))", "'pow' needs numbers"),
            ("print([true, false] < [false, true])", "does not order bools"),
            ("let m = splat(1.0) > splat(0.0)\nprint(m == m)", "cannot compare masks"),
            ("let m = splat(1.0) > splat(0.0)\nprint(select(m, [1.0], 0.0))", "select with a m64x4"),
            ("print(select([true], splat(1.0), 0.0))", "select with a [bool] picks between arrays or scalars"),
            ("print(sum([true]))", "count(m) counts the true lanes"),
            ("print(count([1, 2]))", "count needs a [bool] or a mask"),
            ("print([1.5] % 2.0)", "'%' is for integers"),
            ("let x: float = 7 % 4.5", "'%' is for integers"),
            ("print(floor(iota(3)))", "floor needs float or f32 values"),
        ]
        for (src, message) in cases {
            let d = diagnostics(src)
            #expect(d.contains { $0.message.contains(message) }, "\(src): \(d.map(\.message))")
        }
    }

    @Test func runtimeErrors() {
        for mode in [
            Mode(procs: 1, jit: true, asyncPreemption: true), Mode(procs: 1, jit: false, asyncPreemption: false),
        ] {
            let r = run("print(select([true, false], [1.0, 2.0, 3.0], 0.0))", mode: mode)
            #expect(r.errorText.contains("array length mismatch: 2 vs 3"), "\(r.errorText)")
            let z = run("let n = iota(20)\nprint(1)\nprint(n % (n - 13))", mode: mode)
            #expect(z.output == "1\n")
            #expect(z.errorText.contains("test.vec:3:9: runtime error: integer division by zero"), "\(z.errorText)")
        }
    }
}
