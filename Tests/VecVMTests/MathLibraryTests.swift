// The cost of the vector math library in LaneBuilder primitives (what the JIT emits an instruction or so
// for), counted by a builder that wraps ScalarLanes; and the library's entry points agreeing with the
// generic functions. The counts are a design budget (Black-Scholes needs exp and log of f32 in a few
// dozen instructions per vector), asserted loosely so that a change that doubles a function shows.

import Testing

@testable import VecVM

/// ScalarLanes, counting the primitives it is asked for: those outside any `whereAny` body (the fast
/// path), those inside (the slow path, counted once whether taken or not, as the JIT emits it once),
/// and the `whereAny`s. Constants are not counted (memory operands in the JIT).
final class CountingLanes: LaneBuilder {
    typealias Value = UInt64
    let inner = ScalarLanes()
    var fast = 0
    var slow = 0
    var branches = 0
    var gathers = 0
    private var depth = 0

    private func count() {
        if depth == 0 { fast += 1 } else { slow += 1 }
    }

    func constant(_ bits: UInt64, _ lane: Lane) -> UInt64 { inner.constant(bits, lane) }
    func unary(_ op: LaneUnary, _ lane: Lane, _ a: UInt64) -> UInt64 {
        count()
        return inner.unary(op, lane, a)
    }
    func binary(_ op: LaneBinary, _ lane: Lane, _ a: UInt64, _ b: UInt64) -> UInt64 {
        count()
        return inner.binary(op, lane, a, b)
    }
    func fma(_ lane: Lane, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        count()
        return inner.fma(lane, a, b, c)
    }
    func compare(_ op: LaneCompare, _ lane: Lane, _ a: UInt64, _ b: UInt64) -> UInt64 {
        count()
        return inner.compare(op, lane, a, b)
    }
    func select(_ lane: Lane, _ mask: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
        count()
        return inner.select(lane, mask, a, b)
    }
    func shift(_ op: LaneShift, _ lane: Lane, _ a: UInt64, _ count: Int) -> UInt64 {
        self.count()
        return inner.shift(op, lane, a, count)
    }
    func convert(_ a: UInt64, from: Lane, to: Lane) -> UInt64 {
        count()
        return inner.convert(a, from: from, to: to)
    }
    func gather(_ table: LaneTable, _ index: UInt64, indexLane: Lane) -> UInt64 {
        count()
        gathers += 1
        return inner.gather(table, index, indexLane: indexLane)
    }
    func whereAny(_ mask: UInt64, _ lane: Lane, _ body: () -> UInt64, otherwise: UInt64) -> UInt64 {
        branches += 1
        depth += 1
        let v = body()
        depth -= 1
        return mask != 0 ? v : otherwise
    }

    var summary: String {
        "\(fast) primitives, \(branches) whereAny (slow path \(slow))" + (gathers > 0 ? ", \(gathers) gathers" : "")
    }
}

@Suite struct MathLibraryTests {
    static func count64(_ f: MathFunction) -> CountingLanes {
        let b = CountingLanes()
        if f == .pow {
            _ = MathLibrary.pow(F64(b, 1.5), F64(b, 2.5))
        } else {
            _ = MathLibrary.unary(f, F64(b, 0.75))
        }
        return b
    }

    static func count32(_ f: MathFunction) -> CountingLanes {
        let b = CountingLanes()
        if f == .pow {
            _ = MathLibrary.pow(F32(b, 1.5), F32(b, 2.5))
        } else {
            _ = MathLibrary.unary(f, F32(b, 0.75))
        }
        return b
    }

    /// Prints the primitive counts of every function; holds exp and log of f32 to their budget.
    @Test func primitiveCounts() {
        for f in MathFunction.allCases {
            print("math primitives: \(f) f64: \(Self.count64(f).summary)")
            print("math primitives: \(f) f32: \(Self.count32(f).summary)")
        }
        #expect(Self.count32(.exp).fast <= 22)
        #expect(Self.count32(.log).fast <= 26)
    }

    /// Counting (which evaluates every slow path) gives the bits ScalarLanes gives.
    @Test(arguments: MathFunction.allCases)
    func countingAgrees(_ f: MathFunction) {
        let xs: [Double] = [
            0.75, -3.5, Double(bitPattern: 0x1_2688_b70e_62b), 1e300, .infinity, .nan, -0.0, 700, -740, 2.5,
        ]
        for x in xs {
            for y in f == .pow ? [2.5, -3, 0.5] : [0.0] {
                let b = CountingLanes()
                let counted: UInt64 =
                    f == .pow ? MathLibrary.pow(F64(b, x), F64(b, y)).v : MathLibrary.unary(f, F64(b, x)).v
                let scalar = f == .pow ? MathLibrary.scalarPow(x, y) : MathLibrary.scalar(f, x)
                #expect(
                    counted == scalar.bitPattern || (Double(bitPattern: counted).isNaN && scalar.isNaN),
                    "\(f)(\(x)) f64")
                let b32 = CountingLanes()
                let counted32 =
                    f == .pow
                    ? MathLibrary.pow(F32(b32, Float(x)), F32(b32, Float(y))).v
                    : MathLibrary.unary(f, F32(b32, Float(x))).v
                let scalar32 = f == .pow ? MathLibrary.scalarPow(Float(x), Float(y)) : MathLibrary.scalar(f, Float(x))
                #expect(
                    UInt32(truncatingIfNeeded: counted32) == scalar32.bitPattern
                        || (Float(bitPattern: UInt32(truncatingIfNeeded: counted32)).isNaN && scalar32.isNaN),
                    "\(f)(\(x)) f32")
            }
        }
    }

    /// The Payne-Hanek tables: chunk i of entry E, summed with its neighbours, reproduces 2/pi's bits at
    /// the right place (entry 1023 + 60: the chunks start at bit 60 - 53 = 7).
    @Test func payneHanekTables() {
        let e = 1023 + 60 - MathTables.payneHanekBase
        let t = MathTables.payneHanek
        let scale = Double(sign: .plus, exponent: -MathTables.payneHanekScale, significand: 1)
        let c0 = Double(bitPattern: t[0].bits(at: e)) * scale
        let c1 = Double(bitPattern: t[1].bits(at: e)) * scale
        // Bits 7 ... 59 of 2/pi, then 60 ... 112: 2/pi - (bits 1 ... 6) = c0 + c1 + ... .
        let first6 = 40.0 / 64  // 2/pi = 0.101000 1011111001... in binary
        let twoOverPi = 0.63661977236758134
        #expect(abs((first6 + c0 + c1) - twoOverPi) < 1e-16)
        #expect(c0 < 0x1p-6 && c0 > 0)
    }
}
