// Integer `/` and `%` by a constant in native code (JIT/FunctionLowering+Division.swift): the
// multiply-and-shift sequence and the shifts for powers of two must give the truncated quotient and the dividend-signed remainder
// of LANGUAGE.md for every dividend and divisor, exactly as the interpreter's division does.

import Testing

@testable import VecVM

@Suite("division by constants")
struct DivisionByConstantTests {
    /// Divisors where the reciprocal's corner cases live: small, powers of two and their neighbours,
    /// both signs, the largest magnitudes and those whose reciprocal needs the add/subtract fix-up.
    static let divisors: [Int64] = {
        var d: [Int64] = Array(2...40) + [100, 641, 1000, 1_000_000_007, 3_037_000_499, 6_700_417]
        for k in 2...62 { d += [1 << k, (1 << k) - 1, (1 << k) + 1] }
        d += [Int64.max, Int64.max - 1, 3_074_457_345_618_258_602, 6_148_914_691_236_517_205]
        return d + d.map { -$0 }
    }()

    static let dividends: [Int64] = {
        var n: [Int64] = [0, 1, -1, 2, -2, 6, 7, 8, -6, -7, -8, .max, .min, .max - 1, .min + 1, 1 << 62, -(1 << 62)]
        var rng = SplitMix(state: 0x5EED)
        for _ in 0..<400 { n.append(Int64(bitPattern: rng.next())) }
        for _ in 0..<200 { n.append(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 63)) }
        return n
    }()

    /// What the emitted instructions compute, step for step (FunctionLowering.emitDivision).
    static func quotient(_ n: Int64, _ d: Int64, _ magic: (m: Int64, s: Int)) -> Int64 {
        var q = magic.m.multipliedFullWidth(by: n).high
        if d > 0 && magic.m < 0 { q &+= n }
        if d < 0 && magic.m > 0 { q &-= n }
        q >>= Int64(magic.s)
        return q &+ Int64(bitPattern: UInt64(bitPattern: q) >> 63)
    }

    /// The shift sequence for d = ±2^k (FunctionLowering.emitDivision(_:byPowerOfTwo:)): quotient
    /// and remainder, each as its instructions compute it.
    static func powerOfTwo(_ n: Int64, _ d: Int64) -> (Int64, Int64) {
        let k = Int64(d.magnitude.trailingZeroBitCount)
        // sar 63 (left out for k = 1, where the sign bit shifted down is the bias), shr 64 - k.
        let sign = k > 1 ? UInt64(bitPattern: n >> 63) : UInt64(bitPattern: n)
        let bias = Int64(bitPattern: sign >> UInt64(64 - k))
        let q = (n &+ bias) >> k
        let truncated = k < 32 ? (n &+ bias) & -(Int64(1) << k) : ((n &+ bias) >> k) << k
        return (d < 0 ? 0 &- q : q, n &- truncated)
    }

    @Test func theShiftSequenceIsExactForPowersOfTwo() {
        var wrong = 0
        for d in Self.divisors where d.magnitude.nonzeroBitCount == 1 {
            for n in Self.dividends where Self.powerOfTwo(n, d) != (n / d, n % d) {
                wrong += 1
                if wrong < 5 { Issue.record("\(n) / \(d): \(Self.powerOfTwo(n, d)), want \((n / d, n % d))") }
            }
        }
        #expect(wrong == 0)
    }

    @Test func theReciprocalSequenceIsExactForEveryDividend() {
        var wrong = 0
        for d in Self.divisors {
            guard let magic = FunctionLowering.divisionMagic(d) else {
                Issue.record("no reciprocal for \(d)")
                continue
            }
            for n in Self.dividends where Self.quotient(n, d, magic) != n / d {
                wrong += 1
                if wrong < 5 { Issue.record("\(n) / \(d): \(Self.quotient(n, d, magic)), want \(n / d)") }
            }
        }
        #expect(wrong == 0)
        for d: Int64 in [0, 1, -1, .min] { #expect(FunctionLowering.divisionMagic(d) == nil, "\(d)") }
    }

    /// Each divisor as a literal in a native function, over the dividends, with and without the JIT.
    @Test(.enabled(if: JITSupport.available, "no JIT here (compiled out, or no AVX2+FMA)"))
    func nativeCodeDividesAsTheInterpreterDoes() {
        let divisors = Self.divisors.filter { $0 != Int64.min }
        var source = ""
        for (i, d) in divisors.enumerated() {
            // A literal of Int64.max's magnitude parses; a negative one is a negation of it.
            let literal = d < 0 ? "(0 - \(d.magnitude))" : "\(d)"
            source += "fn f\(i)(xs: [int], out: [int]) {\n"
            source +=
                "    for j in 0..len(xs) { out[2 * j] = xs[j] / \(literal)\n out[2 * j + 1] = xs[j] % \(literal) }\n}\n"
        }
        let values = Self.dividends.map {
            $0 == .min ? "(0 - 9223372036854775807 - 1)" : $0 < 0 ? "(0 - \($0.magnitude))" : "\($0)"
        }
        source += "let xs = [\(values.joined(separator: ", "))]\n"
        source += "var out = fill(2 * len(xs), 0)\nvar check = 0\n"
        for i in divisors.indices {
            source +=
                "f\(i)(xs, out)\nfor j in 0..len(out) { check = check * 31 + out[j] }\nprint(\(i), check, out[0], out[3])\n"
        }
        let jit = run(source, mode: Mode(procs: 1, jit: true, asyncPreemption: true))
        let interp = run(source, mode: Mode(procs: 1, jit: false, asyncPreemption: false))
        #expect(jit.error == nil, "\(jit.errorText)")
        #expect(jit.output == interp.output)
        #expect(jit.output.split(separator: "\n").count == divisors.count)
        for i in divisors.indices { #expect(jit.jit?.functions.contains("f\(i)") == true, "f\(i)") }
    }

    /// A divisor set by a constant on one path only is not a constant: here the `%` is where the
    /// `if` lands, right after `d = 3` (the JIT used 3 for every iteration, and printed 10).
    @Test(.enabled(if: JITSupport.available, "no JIT here (compiled out, or no AVX2+FMA)"))
    func aDivisorSetOnOnePathIsNotAConstant() {
        let source = """
            fn f(n: int) -> int {
                var s = 0
                for i in 0..n {
                    let m = i * 1000 + 1
                    var d = 7
                    if i % 2 == 0 { d = 3 }
                    s += m % d
                    s += m / d
                }
                return s
            }
            print(f(10))
            """
        let jit = run(source, mode: Mode(procs: 1, jit: true, asyncPreemption: true))
        let interp = run(source, mode: Mode(procs: 1, jit: false, asyncPreemption: false))
        #expect(jit.output == interp.output)
        #expect(interp.output == "10256\n")
        #expect(jit.jit?.functions.contains("f") == true)
    }

    /// A constant divisor (a literal, a negated one, one from the constant table) leaves no `idiv`
    /// in the function's code; a divisor known only at run time keeps it.
    @Test func aConstantDivisorNeedsNoIdiv() throws {
        let source = """
            fn byConstants(x: int) -> int { return x / 7 + x % -3 + x / 9223372036854775807 + x % (0 - 1000) }
            fn byAParameter(x: int, d: int) -> int { return x / d }
            print(byConstants(5), byAParameter(5, 2))
            """
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let program = try vm.compile(source: source, fileName: "d.vec", hostReadableGlobals: false).program
        func hasIdiv(_ name: String) throws -> Bool {
            let f = try #require(program.function(named: name))
            let code = try FunctionLowering.lower(f, functions: program.functions, engine: X86JIT()).code
            // idiv r64: REX.W (48 or 49) F7 /7 with a register operand (ModRM F8-FF).
            return code.indices.dropLast(2).contains {
                (code[$0] == 0x48 || code[$0] == 0x49) && code[$0 + 1] == 0xF7 && code[$0 + 2] >= 0xF8
            }
        }
        #expect(try !hasIdiv("byConstants"))
        #expect(try hasIdiv("byAParameter"))
    }
}
