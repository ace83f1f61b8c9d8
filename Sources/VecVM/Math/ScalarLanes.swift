// The interpreter's LaneBuilder: one lane at a time, in Swift. A value is that lane's bits in a UInt64
// (an f32 or i32 in the low 32 bits, the high bits zero). Each primitive does exactly what the AVX2
// instruction the JIT emits for it does (LaneBuilder.swift), so MathLibrary run through this builder
// gives the native code's bits. Swift neither contracts `a * b + c` into an fma nor reassociates, and
// `addingProduct` is a correctly rounded fma.

struct ScalarLanes: LaneBuilder {
    typealias Value = UInt64

    @inline(__always) private static func d(_ v: UInt64) -> Double { Double(bitPattern: v) }
    @inline(__always) private static func f(_ v: UInt64) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: v)) }
    @inline(__always) private static func bits(_ x: Double) -> UInt64 { x.bitPattern }
    @inline(__always) private static func bits(_ x: Float) -> UInt64 { UInt64(x.bitPattern) }
    @inline(__always) private static func bits32(_ x: UInt32) -> UInt64 { UInt64(x) }
    @inline(__always) private static func i32(_ v: UInt64) -> Int32 { Int32(truncatingIfNeeded: v) }
    @inline(__always) private static func mask(_ c: Bool, _ lane: Lane) -> UInt64 {
        c ? (lane.is64 ? UInt64.max : UInt64(UInt32.max)) : 0
    }

    @inline(__always) func constant(_ bits: UInt64, _ lane: Lane) -> UInt64 {
        lane.is64 ? bits : bits & 0xFFFF_FFFF
    }

    @inline(__always) func unary(_ op: LaneUnary, _ lane: Lane, _ a: UInt64) -> UInt64 {
        let rule: FloatingPointRoundingRule
        switch op {
        case .sqrt:
            return lane == .f64 ? Self.bits(Self.d(a).squareRoot()) : Self.bits(Self.f(a).squareRoot())
        case .floor: rule = .down
        case .ceil: rule = .up
        case .trunc: rule = .towardZero
        case .roundEven: rule = .toNearestOrEven
        }
        return lane == .f64 ? Self.bits(Self.d(a).rounded(rule)) : Self.bits(Self.f(a).rounded(rule))
    }

    @inline(__always) func binary(_ op: LaneBinary, _ lane: Lane, _ a: UInt64, _ b: UInt64) -> UInt64 {
        switch op {
        case .and: return a & b
        case .or: return a | b
        case .xor: return a ^ b
        case .andNot: return a & ~b
        default: break
        }
        switch lane {
        case .f64:
            let x = Self.d(a)
            let y = Self.d(b)
            switch op {
            case .add: return Self.bits(x + y)
            case .sub: return Self.bits(x - y)
            case .mul: return Self.bits(x * y)
            case .div: return Self.bits(x / y)
            case .min: return x < y ? a : b
            case .max: return x > y ? a : b
            case .and, .or, .xor, .andNot: return 0  // handled above
            }
        case .f32:
            let x = Self.f(a)
            let y = Self.f(b)
            switch op {
            case .add: return Self.bits(x + y)
            case .sub: return Self.bits(x - y)
            case .mul: return Self.bits(x * y)
            case .div: return Self.bits(x / y)
            case .min: return x < y ? a : b
            case .max: return x > y ? a : b
            case .and, .or, .xor, .andNot: return 0
            }
        case .i64:
            switch op {
            case .add: return a &+ b
            case .sub: return a &- b
            case .mul, .div, .min, .max: preconditionFailure("no \(op) on i64 lanes (AVX2 has none)")
            case .and, .or, .xor, .andNot: return 0
            }
        case .i32:
            let x = UInt32(truncatingIfNeeded: a)
            let y = UInt32(truncatingIfNeeded: b)
            switch op {
            case .add: return Self.bits32(x &+ y)
            case .sub: return Self.bits32(x &- y)
            case .mul: return Self.bits32(x &* y)
            case .div, .min, .max: preconditionFailure("no \(op) on i32 lanes")
            case .and, .or, .xor, .andNot: return 0
            }
        }
    }

    @inline(__always) func fma(_ lane: Lane, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        lane == .f64
            ? Self.bits(Self.d(c).addingProduct(Self.d(a), Self.d(b)))
            : Self.bits(Self.f(c).addingProduct(Self.f(a), Self.f(b)))
    }

    @inline(__always) func compare(_ op: LaneCompare, _ lane: Lane, _ a: UInt64, _ b: UInt64) -> UInt64 {
        let r: Bool
        switch lane {
        case .f64:
            let x = Self.d(a)
            let y = Self.d(b)
            switch op {
            case .eq: r = x == y
            case .ne: r = x != y
            case .lt: r = x < y
            case .le: r = x <= y
            case .gt: r = x > y
            case .ge: r = x >= y
            case .unordered: r = x.isNaN || y.isNaN
            }
        case .f32:
            let x = Self.f(a)
            let y = Self.f(b)
            switch op {
            case .eq: r = x == y
            case .ne: r = x != y
            case .lt: r = x < y
            case .le: r = x <= y
            case .gt: r = x > y
            case .ge: r = x >= y
            case .unordered: r = x.isNaN || y.isNaN
            }
        case .i64:
            let x = Int64(bitPattern: a)
            let y = Int64(bitPattern: b)
            switch op {
            case .eq: r = x == y
            case .gt: r = x > y
            case .lt: r = x < y
            default: preconditionFailure("integer compare \(op)")
            }
        case .i32:
            let x = Self.i32(a)
            let y = Self.i32(b)
            switch op {
            case .eq: r = x == y
            case .gt: r = x > y
            case .lt: r = x < y
            default: preconditionFailure("integer compare \(op)")
            }
        }
        return Self.mask(r, lane)
    }

    @inline(__always) func select(_ lane: Lane, _ mask: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
        mask != 0 ? a : b
    }

    @inline(__always) func shift(_ op: LaneShift, _ lane: Lane, _ a: UInt64, _ count: Int) -> UInt64 {
        if lane.is64 {
            switch op {
            case .left: return a << UInt64(count)
            case .rightLogical: return a >> UInt64(count)
            case .rightArithmetic: preconditionFailure("no 64-bit arithmetic shift (AVX2 has none)")
            }
        }
        let x = UInt32(truncatingIfNeeded: a)
        switch op {
        case .left: return Self.bits32(x << UInt32(count))
        case .rightLogical: return Self.bits32(x >> UInt32(count))
        case .rightArithmetic: return Self.bits32(UInt32(bitPattern: Int32(bitPattern: x) >> Int32(count)))
        }
    }

    /// x86's cvttsd2si / cvttss2si into 32 bits: truncation, or Int32.min for NaN and out of range.
    @inline(__always) private static func truncate32(_ x: Double) -> UInt64 {
        guard x > -2_147_483_649.0, x < 2_147_483_648.0 else { return bits32(UInt32(bitPattern: Int32.min)) }
        return bits32(UInt32(bitPattern: Int32(x.rounded(.towardZero))))
    }

    @inline(__always) func convert(_ a: UInt64, from: Lane, to: Lane) -> UInt64 {
        switch (from, to) {
        case (.f32, .f64): return Self.bits(Double(Self.f(a)))
        case (.f64, .f32): return Self.bits(Float(Self.d(a)))
        case (.i32, .f64): return Self.bits(Double(Self.i32(a)))
        case (.i32, .f32): return Self.bits(Float(Self.i32(a)))
        case (.f64, .i32): return Self.truncate32(Self.d(a))
        case (.f32, .i32): return Self.truncate32(Double(Self.f(a)))
        case (.i32, .i64): return UInt64(bitPattern: Int64(Self.i32(a)))
        case (.i64, .i32): return a & 0xFFFF_FFFF
        default: preconditionFailure("no conversion from \(from) to \(to)")
        }
    }

    @inline(__always) func gather(_ table: LaneTable, _ index: UInt64, indexLane: Lane) -> UInt64 {
        let i = indexLane == .i64 ? Int(Int64(bitPattern: index)) : Int(Self.i32(index))
        return table.bits(at: i)
    }

    @inline(__always) func whereAny(_ mask: UInt64, _ lane: Lane, _ body: () -> UInt64, otherwise: UInt64) -> UInt64 {
        mask != 0 ? body() : otherwise
    }
}

extension ScalarLanes {
    /// Runs a one-argument f64 function of the library on one value.
    @inline(__always) static func run(_ x: Double, _ f: (F64<ScalarLanes>) -> F64<ScalarLanes>) -> Double {
        Double(bitPattern: f(F64(ScalarLanes(), x.bitPattern)).v)
    }
    @inline(__always) static func run(_ x: Float, _ f: (F32<ScalarLanes>) -> F32<ScalarLanes>) -> Float {
        Float(bitPattern: UInt32(truncatingIfNeeded: f(F32(ScalarLanes(), UInt64(x.bitPattern))).v))
    }
    @inline(__always) static func run(
        _ x: Double, _ y: Double, _ f: (F64<ScalarLanes>, F64<ScalarLanes>) -> F64<ScalarLanes>
    ) -> Double {
        let b = ScalarLanes()
        return Double(bitPattern: f(F64(b, x.bitPattern), F64(b, y.bitPattern)).v)
    }
    @inline(__always) static func run(
        _ x: Float, _ y: Float, _ f: (F32<ScalarLanes>, F32<ScalarLanes>) -> F32<ScalarLanes>
    ) -> Float {
        let b = ScalarLanes()
        return Float(
            bitPattern: UInt32(truncatingIfNeeded: f(F32(b, UInt64(x.bitPattern)), F32(b, UInt64(y.bitPattern))).v))
    }
}
