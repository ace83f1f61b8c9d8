// The accuracy of the vector math library (MathLibrary), measured: the maximum error in ulps of each
// function and type over a million arguments each (random across the whole range, random in the
// ranges that matter, every special and hard case; deterministic seeds) against the Float80 / f64
// functions of glibc, asserted to be at most 1 ulp, and the special values of C99 Annex F asserted
// exactly. The measuring is in MathAccuracyHarness.swift; each test takes the evaluation as a closure
// over a batch, so that other paths (the JIT's kernels) are measured by the same code.
// Offline, longer runs: bench/tools/math_accuracy.sh (every f32 argument, 10^8 f64 ones).

import Testing

@testable import VecVM

#if canImport(Glibc)
    import Glibc
#endif

/// The interpreter's path: the library through ScalarLanes, one value at a time.
enum ScalarLanesPath {
    static func unary(_ f: MathFunction) -> ([Double]) -> [Double] { { $0.map { MathLibrary.scalar(f, $0) } } }
    static func unary(_ f: MathFunction) -> ([Float]) -> [Float] { { $0.map { MathLibrary.scalar(f, $0) } } }
    static func pow(_ x: [Double], _ y: [Double]) -> [Double] { zip(x, y).map { MathLibrary.scalarPow($0, $1) } }
    static func pow(_ x: [Float], _ y: [Float]) -> [Float] { zip(x, y).map { MathLibrary.scalarPow($0, $1) } }
}

@Suite struct MathAccuracyTests {
    /// Arguments per function and type: a million, or VECVM_MATH_INPUTS (to run more, or to run the
    /// suite quickly while developing; a debug build measures about 14 CPU-microseconds per argument).
    static let count: Int = {
        if let v = getenv("VECVM_MATH_INPUTS"), let n = Int(String(cString: v)), n > 0 { return n }
        return 1_000_000
    }()
    static let seed: UInt64 = 0x5EED_0001
    static let approximated: [MathFunction] = [.exp, .log, .sin, .cos, .tanh]

    static func report(_ r: MathAccuracy.Result) {
        print("math accuracy: \(r)")
    }

    @Test(arguments: approximated)
    func f64(_ f: MathFunction) {
        let r = MathAccuracy.measure(
            f, MathAccuracy.inputs64(f, count: Self.count, seed: Self.seed), ScalarLanesPath.unary(f))
        Self.report(r)
        #expect(r.count >= Self.count)
        #expect(r.maxUlps <= 1.0, "\(r)")
    }

    @Test(arguments: approximated)
    func f32(_ f: MathFunction) {
        let r = MathAccuracy.measure(
            f, MathAccuracy.inputs32(f, count: Self.count, seed: Self.seed), ScalarLanesPath.unary(f))
        Self.report(r)
        #expect(r.count >= Self.count)
        #expect(r.maxUlps <= 1.0, "\(r)")
    }

    @Test func powF64() {
        let (x, y) = MathAccuracy.inputsPow64(count: Self.count, seed: Self.seed)
        let r = MathAccuracy.measurePow(x, y, ScalarLanesPath.pow)
        Self.report(r)
        #expect(r.count >= Self.count)
        #expect(r.maxUlps <= 1.0, "\(r)")
    }

    @Test func powF32() {
        let (x, y) = MathAccuracy.inputsPow32(count: Self.count, seed: Self.seed)
        let r = MathAccuracy.measurePow(x, y, ScalarLanesPath.pow)
        Self.report(r)
        #expect(r.count >= Self.count)
        #expect(r.maxUlps <= 1.0, "\(r)")
    }

    /// floor, ceil and round are exact: no error at all (fewer arguments: they are single primitives
    /// or a handful of exact operations).
    @Test(arguments: [MathFunction.floor, .ceil, .round])
    func exact(_ f: MathFunction) {
        let r64 = MathAccuracy.measure(
            f, MathAccuracy.inputs64(f, count: 100_000, seed: Self.seed), ScalarLanesPath.unary(f))
        let r32 = MathAccuracy.measure(
            f, MathAccuracy.inputs32(f, count: 100_000, seed: Self.seed), ScalarLanesPath.unary(f))
        Self.report(r64)
        Self.report(r32)
        #expect(r64.maxUlps == 0, "\(r64)")
        #expect(r32.maxUlps == 0, "\(r32)")
    }

    @Test func annexFSpecialValues() {
        let f64 = MathAccuracy.checkAnnexF("f64") { f, a in
            f == .pow ? MathLibrary.scalarPow(a[0], a[1]) : MathLibrary.scalar(f, a[0])
        }
        let f32 = MathAccuracy.checkAnnexF("f32") { f, a in
            Double(f == .pow ? MathLibrary.scalarPow(Float(a[0]), Float(a[1])) : MathLibrary.scalar(f, Float(a[0])))
        }
        #expect(f64.isEmpty, "\(f64.joined(separator: "\n"))")
        #expect(f32.isEmpty, "\(f32.joined(separator: "\n"))")
    }

    /// The ulp measure itself, on values whose error is known.
    @Test func ulpDefinition() {
        let one = Double(1)
        #expect(MathAccuracy.ulps(one, exact: Float80(1)) == 0)
        #expect(MathAccuracy.ulps(one.nextUp, exact: Float80(1)) == 1)
        #expect(MathAccuracy.ulps(one.nextDown, exact: Float80(1)) == 0.5)  // the binade below 1 is finer
        #expect(MathAccuracy.ulps(Double(0x1p-1074), exact: Float80(0)) == 1)  // subnormal spacing
        #expect(MathAccuracy.ulps(Double(0), exact: Float80(0x1p-1075)) == 0.5)
        #expect(MathAccuracy.ulps(Double.infinity, exact: Float80(Double.greatestFiniteMagnitude)) == 1)
        #expect(MathAccuracy.ulps(Double.infinity, exact: Float80(0x1p1100)) == 0)
        #expect(MathAccuracy.ulps(Double.nan, exact: Float80.nan) == 0)
        #expect(MathAccuracy.ulps(Double.nan, exact: Float80(1)) == .infinity)
        #expect(MathAccuracy.ulps(Float(1).nextUp, exact: Double(1)) == 1)
        #expect(MathAccuracy.ulps(Float(0x1p-149), exact: Double(0)) == 1)
        #expect(MathAccuracy.ulps(Float.infinity, exact: Double(Float.greatestFiniteMagnitude)) == 1)
    }
}
