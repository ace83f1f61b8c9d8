// The language the vector math library is written in: a small set of lane-wise primitives, each with
// exactly one IEEE / two's-complement meaning that both the interpreter (ScalarLanes.swift: one lane
// at a time, in Swift) and the JIT (JIT/VectorBuilder.swift: AVX2 instructions on whole registers)
// implement. The functions of MathLibrary are generic over the builder, so `exp` is written once and
// the interpreter and native code compute it with the same operations in the same order: bit for bit
// the same results, by construction (LANGUAGE.md: the same digits with and without the JIT).
//
// Rules for code written against it:
// - Every operation rounds once (IEEE-754 round to nearest even); `fma` is the only fused one.
// - Nothing depends on NaN payloads or the sign of a NaN: where a NaN may arise, the function picks its
//   result with `select` from an explicit test.
// - The operations are the ones AVX2 has. Deliberately absent, because AVX2 lacks them: 64-bit integer
//   multiply, 64-bit arithmetic right shift, conversions between f64 and i64. (Use the 2^52 + 2^51
//   "magic number" addition to turn an integral f64 into integer bits, as the library does.)
// - Masks are all-ones / all-zeros lanes of the width of the values compared (64 or 32 bits).

/// The type of a lane: the IEEE formats and the integers of the same widths (their bit patterns).
enum Lane: UInt8, Sendable {
    case f64, f32, i64, i32

    var is64: Bool { self == .f64 || self == .i64 }
    var isFloat: Bool { self == .f64 || self == .f32 }
}

enum LaneUnary: UInt8, Sendable {
    /// IEEE square root.
    case sqrt
    /// Round to an integral value: toward -inf, toward +inf, toward zero, to nearest even (vroundp* 9, 10, 11, 8).
    case floor, ceil, trunc, roundEven
}

enum LaneBinary: UInt8, Sendable {
    /// Floats: IEEE, one rounding. Integers: wrapping add and subtract; `mul` only for i32 (low 32 bits).
    case add, sub, mul, div
    /// Floats only: min(a, b) = a < b ? a : b, max(a, b) = a > b ? a : b (x86: with a NaN or equal
    /// values the second operand wins).
    case min, max
    /// Bitwise on any lane type; `andNot(a, b)` is a & ~b.
    case and, or, xor, andNot
}

enum LaneCompare: UInt8, Sendable {
    /// Floats: ordered and quiet, so a NaN compares false, except `ne` which is true for NaN.
    /// `unordered` is true when either operand is a NaN. Integers: `eq`, `gt` and `lt` (signed).
    case eq, ne, lt, le, gt, ge, unordered
}

enum LaneShift: UInt8, Sendable {
    /// Shifts by a constant count (0 ..< lane bits). `rightArithmetic` exists for i32 only.
    case left, rightLogical, rightArithmetic
}

/// A read-only table of lane values that `gather` indexes (for range reduction constants).
/// - Note: the memory is allocated once and never freed: JIT code embeds its address.
final class LaneTable: @unchecked Sendable {
    let lane: Lane
    let count: Int
    let base: UnsafeMutableRawPointer

    init(lane: Lane, bits: [UInt64]) {
        self.lane = lane
        count = bits.count
        let size = lane.is64 ? 8 : 4
        base = UnsafeMutableRawPointer.allocate(byteCount: max(64, bits.count * size), alignment: 64)
        for (i, b) in bits.enumerated() {
            if lane.is64 {
                base.storeBytes(of: b, toByteOffset: i * 8, as: UInt64.self)
            } else {
                base.storeBytes(of: UInt32(truncatingIfNeeded: b), toByteOffset: i * 4, as: UInt32.self)
            }
        }
    }

    @inline(__always) func bits(at index: Int) -> UInt64 {
        lane.is64
            ? base.load(fromByteOffset: index * 8, as: UInt64.self)
            : UInt64(base.load(fromByteOffset: index * 4, as: UInt32.self))
    }
}

/// What the math library is generic over. `Value` is one value in every lane: a UInt64 holding one
/// lane's bits in the interpreter, a vector register (or several) in the JIT. `SendableMetatype`:
/// the library passes its generic functions (`sinKernel`, ...) as closures, which capture `B.Type`.
protocol LaneBuilder: SendableMetatype {
    associatedtype Value

    /// `bits` in every lane (an f32 or i32 in the low 32 bits).
    func constant(_ bits: UInt64, _ lane: Lane) -> Value
    func unary(_ op: LaneUnary, _ lane: Lane, _ a: Value) -> Value
    func binary(_ op: LaneBinary, _ lane: Lane, _ a: Value, _ b: Value) -> Value
    /// a * b + c with one rounding (floats only).
    func fma(_ lane: Lane, _ a: Value, _ b: Value, _ c: Value) -> Value
    /// A mask of `lane`'s width.
    func compare(_ op: LaneCompare, _ lane: Lane, _ a: Value, _ b: Value) -> Value
    /// mask ? a : b, lane by lane (`mask` has `lane`'s width).
    func select(_ lane: Lane, _ mask: Value, _ a: Value, _ b: Value) -> Value
    func shift(_ op: LaneShift, _ lane: Lane, _ a: Value, _ count: Int) -> Value
    /// Conversions, x86's semantics:
    /// - f32 → f64 exact; f64 → f32 rounds to nearest even;
    /// - i32 → f64 exact; i32 → f32 rounds to nearest even;
    /// - f64 → i32, f32 → i32 truncate toward zero; NaN and values out of range give Int32.min;
    /// - i32 → i64 sign-extends; i64 → i32 keeps the low 32 bits.
    func convert(_ a: Value, from: Lane, to: Lane) -> Value
    /// table[index] in every lane; `index` is an i64 or i32 lane within 0 ..< table.count.
    func gather(_ table: LaneTable, _ index: Value, indexLane: Lane) -> Value
    /// select(mask, body(), otherwise), where `body` may be skipped when no lane of `mask` is set: a
    /// slow path (huge arguments, say). `body` must compute each lane from that lane's inputs only.
    func whereAny(_ mask: Value, _ lane: Lane, _ body: () -> Value, otherwise: Value) -> Value
}

// MARK: - Typed values
//
// Thin wrappers that give the library readable, type-checked arithmetic. They add no operations of
// their own beyond bit manipulations expressed in the primitives (neg and abs are sign-bit xor / and).

struct F64<B: LaneBuilder> {
    let b: B
    let v: B.Value
    init(_ b: B, _ v: B.Value) {
        self.b = b
        self.v = v
    }
    init(_ b: B, _ x: Double) {
        self.b = b
        self.v = b.constant(x.bitPattern, .f64)
    }
    func constant(_ x: Double) -> F64 { F64(b, x) }
    var bits: I64<B> { I64(b, v) }
    var toF32: F32<B> { F32(b, b.convert(v, from: .f64, to: .f32)) }
    /// Truncated toward zero; NaN and out of range give Int32.min.
    var truncToI32: I32<B> { I32(b, b.convert(v, from: .f64, to: .i32)) }
}

struct F32<B: LaneBuilder> {
    let b: B
    let v: B.Value
    init(_ b: B, _ v: B.Value) {
        self.b = b
        self.v = v
    }
    init(_ b: B, _ x: Float) {
        self.b = b
        self.v = b.constant(UInt64(x.bitPattern), .f32)
    }
    func constant(_ x: Float) -> F32 { F32(b, x) }
    var bits: I32<B> { I32(b, v) }
    var toF64: F64<B> { F64(b, b.convert(v, from: .f32, to: .f64)) }
    var truncToI32: I32<B> { I32(b, b.convert(v, from: .f32, to: .i32)) }
}

struct I64<B: LaneBuilder> {
    let b: B
    let v: B.Value
    init(_ b: B, _ v: B.Value) {
        self.b = b
        self.v = v
    }
    init(_ b: B, _ x: Int64) {
        self.b = b
        self.v = b.constant(UInt64(bitPattern: x), .i64)
    }
    func constant(_ x: Int64) -> I64 { I64(b, x) }
    var asF64: F64<B> { F64(b, v) }
    var lowI32: I32<B> { I32(b, b.convert(v, from: .i64, to: .i32)) }
}

struct I32<B: LaneBuilder> {
    let b: B
    let v: B.Value
    init(_ b: B, _ v: B.Value) {
        self.b = b
        self.v = v
    }
    init(_ b: B, _ x: Int32) {
        self.b = b
        self.v = b.constant(UInt64(UInt32(bitPattern: x)), .i32)
    }
    func constant(_ x: Int32) -> I32 { I32(b, x) }
    var asF32: F32<B> { F32(b, v) }
    var toF32: F32<B> { F32(b, b.convert(v, from: .i32, to: .f32)) }
    var toF64: F64<B> { F64(b, b.convert(v, from: .i32, to: .f64)) }
    var toI64: I64<B> { I64(b, b.convert(v, from: .i32, to: .i64)) }
}

/// A mask over 64-bit lanes (from comparing F64 or I64 values).
struct M64<B: LaneBuilder> {
    let b: B
    let v: B.Value
    init(_ b: B, _ v: B.Value) {
        self.b = b
        self.v = v
    }
    static func & (l: M64, r: M64) -> M64 { M64(l.b, l.b.binary(.and, .i64, l.v, r.v)) }
    static func | (l: M64, r: M64) -> M64 { M64(l.b, l.b.binary(.or, .i64, l.v, r.v)) }
    /// l and not r.
    func andNot(_ r: M64) -> M64 { M64(b, b.binary(.andNot, .i64, v, r.v)) }
    static prefix func ! (m: M64) -> M64 {
        M64(m.b, m.b.binary(.xor, .i64, m.v, m.b.constant(UInt64.max, .i64)))
    }
}

/// A mask over 32-bit lanes.
struct M32<B: LaneBuilder> {
    let b: B
    let v: B.Value
    init(_ b: B, _ v: B.Value) {
        self.b = b
        self.v = v
    }
    static func & (l: M32, r: M32) -> M32 { M32(l.b, l.b.binary(.and, .i32, l.v, r.v)) }
    static func | (l: M32, r: M32) -> M32 { M32(l.b, l.b.binary(.or, .i32, l.v, r.v)) }
    func andNot(_ r: M32) -> M32 { M32(b, b.binary(.andNot, .i32, v, r.v)) }
    static prefix func ! (m: M32) -> M32 {
        M32(m.b, m.b.binary(.xor, .i32, m.v, m.b.constant(UInt64(UInt32.max), .i32)))
    }
}

// MARK: F64 operations

extension F64 {
    static func + (l: F64, r: F64) -> F64 { F64(l.b, l.b.binary(.add, .f64, l.v, r.v)) }
    static func - (l: F64, r: F64) -> F64 { F64(l.b, l.b.binary(.sub, .f64, l.v, r.v)) }
    static func * (l: F64, r: F64) -> F64 { F64(l.b, l.b.binary(.mul, .f64, l.v, r.v)) }
    static func / (l: F64, r: F64) -> F64 { F64(l.b, l.b.binary(.div, .f64, l.v, r.v)) }
    static func + (l: F64, r: Double) -> F64 { l + l.constant(r) }
    static func - (l: F64, r: Double) -> F64 { l - l.constant(r) }
    static func * (l: F64, r: Double) -> F64 { l * l.constant(r) }
    static func / (l: F64, r: Double) -> F64 { l / l.constant(r) }
    static func + (l: Double, r: F64) -> F64 { r.constant(l) + r }
    static func - (l: Double, r: F64) -> F64 { r.constant(l) - r }
    static func * (l: Double, r: F64) -> F64 { r.constant(l) * r }
    static func / (l: Double, r: F64) -> F64 { r.constant(l) / r }
    /// Flips the sign bit (also of zeros and NaNs).
    static prefix func - (x: F64) -> F64 { (x.bits ^ x.bits.constant(Int64.min)).asF64 }

    static func .== (l: F64, r: F64) -> M64<B> { M64(l.b, l.b.compare(.eq, .f64, l.v, r.v)) }
    static func .!= (l: F64, r: F64) -> M64<B> { M64(l.b, l.b.compare(.ne, .f64, l.v, r.v)) }
    static func .< (l: F64, r: F64) -> M64<B> { M64(l.b, l.b.compare(.lt, .f64, l.v, r.v)) }
    static func .<= (l: F64, r: F64) -> M64<B> { M64(l.b, l.b.compare(.le, .f64, l.v, r.v)) }
    static func .> (l: F64, r: F64) -> M64<B> { M64(l.b, l.b.compare(.gt, .f64, l.v, r.v)) }
    static func .>= (l: F64, r: F64) -> M64<B> { M64(l.b, l.b.compare(.ge, .f64, l.v, r.v)) }
    static func .== (l: F64, r: Double) -> M64<B> { l .== l.constant(r) }
    static func .!= (l: F64, r: Double) -> M64<B> { l .!= l.constant(r) }
    static func .< (l: F64, r: Double) -> M64<B> { l .< l.constant(r) }
    static func .<= (l: F64, r: Double) -> M64<B> { l .<= l.constant(r) }
    static func .> (l: F64, r: Double) -> M64<B> { l .> l.constant(r) }
    static func .>= (l: F64, r: Double) -> M64<B> { l .>= l.constant(r) }
    var isNaN: M64<B> { M64(b, b.compare(.unordered, .f64, v, v)) }

    var abs: F64 { (bits & bits.constant(Int64.max)).asF64 }
    var sqrt: F64 { F64(b, b.unary(.sqrt, .f64, v)) }
    var floor: F64 { F64(b, b.unary(.floor, .f64, v)) }
    var ceil: F64 { F64(b, b.unary(.ceil, .f64, v)) }
    var trunc: F64 { F64(b, b.unary(.trunc, .f64, v)) }
    var roundEven: F64 { F64(b, b.unary(.roundEven, .f64, v)) }
    /// The magnitude of self with the sign of `sign`.
    func withSign(of sign: F64) -> F64 {
        let s = bits.constant(Int64.min)
        return ((bits.andNot(s)) | (sign.bits & s)).asF64
    }
}

/// a * b + c, rounded once.
func fma<B>(_ a: F64<B>, _ b: F64<B>, _ c: F64<B>) -> F64<B> { F64(a.b, a.b.fma(.f64, a.v, b.v, c.v)) }
func fma<B>(_ a: F64<B>, _ b: F64<B>, _ c: Double) -> F64<B> { fma(a, b, a.constant(c)) }
func fma<B>(_ a: F64<B>, _ b: Double, _ c: F64<B>) -> F64<B> { fma(a, a.constant(b), c) }
func fma<B>(_ a: F64<B>, _ b: Double, _ c: Double) -> F64<B> { fma(a, a.constant(b), a.constant(c)) }
func min<B>(_ a: F64<B>, _ b: F64<B>) -> F64<B> { F64(a.b, a.b.binary(.min, .f64, a.v, b.v)) }
func max<B>(_ a: F64<B>, _ b: F64<B>) -> F64<B> { F64(a.b, a.b.binary(.max, .f64, a.v, b.v)) }
func select<B>(_ m: M64<B>, _ a: F64<B>, _ b: F64<B>) -> F64<B> { F64(m.b, m.b.select(.f64, m.v, a.v, b.v)) }
func select<B>(_ m: M64<B>, _ a: F64<B>, _ b: Double) -> F64<B> { select(m, a, a.constant(b)) }
func select<B>(_ m: M64<B>, _ a: Double, _ b: F64<B>) -> F64<B> { select(m, b.constant(a), b) }
func select<B>(_ m: M64<B>, _ a: I64<B>, _ b: I64<B>) -> I64<B> { I64(m.b, m.b.select(.i64, m.v, a.v, b.v)) }
/// select(m, body(), otherwise), skipping `body` when no lane of `m` is set.
func whereAny<B>(_ m: M64<B>, _ body: () -> F64<B>, otherwise: F64<B>) -> F64<B> {
    F64(m.b, m.b.whereAny(m.v, .f64, { body().v }, otherwise: otherwise.v))
}

// MARK: F32 operations

extension F32 {
    static func + (l: F32, r: F32) -> F32 { F32(l.b, l.b.binary(.add, .f32, l.v, r.v)) }
    static func - (l: F32, r: F32) -> F32 { F32(l.b, l.b.binary(.sub, .f32, l.v, r.v)) }
    static func * (l: F32, r: F32) -> F32 { F32(l.b, l.b.binary(.mul, .f32, l.v, r.v)) }
    static func / (l: F32, r: F32) -> F32 { F32(l.b, l.b.binary(.div, .f32, l.v, r.v)) }
    static func + (l: F32, r: Float) -> F32 { l + l.constant(r) }
    static func - (l: F32, r: Float) -> F32 { l - l.constant(r) }
    static func * (l: F32, r: Float) -> F32 { l * l.constant(r) }
    static func / (l: F32, r: Float) -> F32 { l / l.constant(r) }
    static func + (l: Float, r: F32) -> F32 { r.constant(l) + r }
    static func - (l: Float, r: F32) -> F32 { r.constant(l) - r }
    static func * (l: Float, r: F32) -> F32 { r.constant(l) * r }
    static func / (l: Float, r: F32) -> F32 { r.constant(l) / r }
    static prefix func - (x: F32) -> F32 { (x.bits ^ x.bits.constant(Int32.min)).asF32 }

    static func .== (l: F32, r: F32) -> M32<B> { M32(l.b, l.b.compare(.eq, .f32, l.v, r.v)) }
    static func .!= (l: F32, r: F32) -> M32<B> { M32(l.b, l.b.compare(.ne, .f32, l.v, r.v)) }
    static func .< (l: F32, r: F32) -> M32<B> { M32(l.b, l.b.compare(.lt, .f32, l.v, r.v)) }
    static func .<= (l: F32, r: F32) -> M32<B> { M32(l.b, l.b.compare(.le, .f32, l.v, r.v)) }
    static func .> (l: F32, r: F32) -> M32<B> { M32(l.b, l.b.compare(.gt, .f32, l.v, r.v)) }
    static func .>= (l: F32, r: F32) -> M32<B> { M32(l.b, l.b.compare(.ge, .f32, l.v, r.v)) }
    static func .== (l: F32, r: Float) -> M32<B> { l .== l.constant(r) }
    static func .!= (l: F32, r: Float) -> M32<B> { l .!= l.constant(r) }
    static func .< (l: F32, r: Float) -> M32<B> { l .< l.constant(r) }
    static func .<= (l: F32, r: Float) -> M32<B> { l .<= l.constant(r) }
    static func .> (l: F32, r: Float) -> M32<B> { l .> l.constant(r) }
    static func .>= (l: F32, r: Float) -> M32<B> { l .>= l.constant(r) }
    var isNaN: M32<B> { M32(b, b.compare(.unordered, .f32, v, v)) }

    var abs: F32 { (bits & bits.constant(Int32.max)).asF32 }
    var sqrt: F32 { F32(b, b.unary(.sqrt, .f32, v)) }
    var floor: F32 { F32(b, b.unary(.floor, .f32, v)) }
    var ceil: F32 { F32(b, b.unary(.ceil, .f32, v)) }
    var trunc: F32 { F32(b, b.unary(.trunc, .f32, v)) }
    var roundEven: F32 { F32(b, b.unary(.roundEven, .f32, v)) }
    func withSign(of sign: F32) -> F32 {
        let s = bits.constant(Int32.min)
        return ((bits.andNot(s)) | (sign.bits & s)).asF32
    }
}

func fma<B>(_ a: F32<B>, _ b: F32<B>, _ c: F32<B>) -> F32<B> { F32(a.b, a.b.fma(.f32, a.v, b.v, c.v)) }
func fma<B>(_ a: F32<B>, _ b: F32<B>, _ c: Float) -> F32<B> { fma(a, b, a.constant(c)) }
func fma<B>(_ a: F32<B>, _ b: Float, _ c: F32<B>) -> F32<B> { fma(a, a.constant(b), c) }
func fma<B>(_ a: F32<B>, _ b: Float, _ c: Float) -> F32<B> { fma(a, a.constant(b), a.constant(c)) }
func min<B>(_ a: F32<B>, _ b: F32<B>) -> F32<B> { F32(a.b, a.b.binary(.min, .f32, a.v, b.v)) }
func max<B>(_ a: F32<B>, _ b: F32<B>) -> F32<B> { F32(a.b, a.b.binary(.max, .f32, a.v, b.v)) }
func select<B>(_ m: M32<B>, _ a: F32<B>, _ b: F32<B>) -> F32<B> { F32(m.b, m.b.select(.f32, m.v, a.v, b.v)) }
func select<B>(_ m: M32<B>, _ a: F32<B>, _ b: Float) -> F32<B> { select(m, a, a.constant(b)) }
func select<B>(_ m: M32<B>, _ a: Float, _ b: F32<B>) -> F32<B> { select(m, b.constant(a), b) }
func select<B>(_ m: M32<B>, _ a: I32<B>, _ b: I32<B>) -> I32<B> { I32(m.b, m.b.select(.i32, m.v, a.v, b.v)) }
func whereAny<B>(_ m: M32<B>, _ body: () -> F32<B>, otherwise: F32<B>) -> F32<B> {
    F32(m.b, m.b.whereAny(m.v, .f32, { body().v }, otherwise: otherwise.v))
}

// MARK: Integer operations

extension I64 {
    static func &+ (l: I64, r: I64) -> I64 { I64(l.b, l.b.binary(.add, .i64, l.v, r.v)) }
    static func &- (l: I64, r: I64) -> I64 { I64(l.b, l.b.binary(.sub, .i64, l.v, r.v)) }
    static func &+ (l: I64, r: Int64) -> I64 { l &+ l.constant(r) }
    static func &- (l: I64, r: Int64) -> I64 { l &- l.constant(r) }
    static func & (l: I64, r: I64) -> I64 { I64(l.b, l.b.binary(.and, .i64, l.v, r.v)) }
    static func | (l: I64, r: I64) -> I64 { I64(l.b, l.b.binary(.or, .i64, l.v, r.v)) }
    static func ^ (l: I64, r: I64) -> I64 { I64(l.b, l.b.binary(.xor, .i64, l.v, r.v)) }
    static func & (l: I64, r: Int64) -> I64 { l & l.constant(r) }
    static func | (l: I64, r: Int64) -> I64 { l | l.constant(r) }
    static func ^ (l: I64, r: Int64) -> I64 { l ^ l.constant(r) }
    func andNot(_ r: I64) -> I64 { I64(b, b.binary(.andNot, .i64, v, r.v)) }
    static func << (l: I64, n: Int) -> I64 { I64(l.b, l.b.shift(.left, .i64, l.v, n)) }
    /// Logical (zero-filling) right shift: AVX2 has no 64-bit arithmetic one.
    static func >> (l: I64, n: Int) -> I64 { I64(l.b, l.b.shift(.rightLogical, .i64, l.v, n)) }
    static func .== (l: I64, r: I64) -> M64<B> { M64(l.b, l.b.compare(.eq, .i64, l.v, r.v)) }
    static func .> (l: I64, r: I64) -> M64<B> { M64(l.b, l.b.compare(.gt, .i64, l.v, r.v)) }
    static func .< (l: I64, r: I64) -> M64<B> { M64(l.b, l.b.compare(.lt, .i64, l.v, r.v)) }
    static func .== (l: I64, r: Int64) -> M64<B> { l .== l.constant(r) }
    static func .> (l: I64, r: Int64) -> M64<B> { l .> l.constant(r) }
    static func .< (l: I64, r: Int64) -> M64<B> { l .< l.constant(r) }
}

extension I32 {
    static func &+ (l: I32, r: I32) -> I32 { I32(l.b, l.b.binary(.add, .i32, l.v, r.v)) }
    static func &- (l: I32, r: I32) -> I32 { I32(l.b, l.b.binary(.sub, .i32, l.v, r.v)) }
    static func &* (l: I32, r: I32) -> I32 { I32(l.b, l.b.binary(.mul, .i32, l.v, r.v)) }
    static func &+ (l: I32, r: Int32) -> I32 { l &+ l.constant(r) }
    static func &- (l: I32, r: Int32) -> I32 { l &- l.constant(r) }
    static func &* (l: I32, r: Int32) -> I32 { l &* l.constant(r) }
    static func & (l: I32, r: I32) -> I32 { I32(l.b, l.b.binary(.and, .i32, l.v, r.v)) }
    static func | (l: I32, r: I32) -> I32 { I32(l.b, l.b.binary(.or, .i32, l.v, r.v)) }
    static func ^ (l: I32, r: I32) -> I32 { I32(l.b, l.b.binary(.xor, .i32, l.v, r.v)) }
    static func & (l: I32, r: Int32) -> I32 { l & l.constant(r) }
    static func | (l: I32, r: Int32) -> I32 { l | l.constant(r) }
    static func ^ (l: I32, r: Int32) -> I32 { l ^ l.constant(r) }
    func andNot(_ r: I32) -> I32 { I32(b, b.binary(.andNot, .i32, v, r.v)) }
    static func << (l: I32, n: Int) -> I32 { I32(l.b, l.b.shift(.left, .i32, l.v, n)) }
    /// Logical right shift.
    static func >> (l: I32, n: Int) -> I32 { I32(l.b, l.b.shift(.rightLogical, .i32, l.v, n)) }
    /// Arithmetic (sign-filling) right shift.
    func shiftRightArithmetic(_ n: Int) -> I32 { I32(b, b.shift(.rightArithmetic, .i32, v, n)) }
    static func .== (l: I32, r: I32) -> M32<B> { M32(l.b, l.b.compare(.eq, .i32, l.v, r.v)) }
    static func .> (l: I32, r: I32) -> M32<B> { M32(l.b, l.b.compare(.gt, .i32, l.v, r.v)) }
    static func .< (l: I32, r: I32) -> M32<B> { M32(l.b, l.b.compare(.lt, .i32, l.v, r.v)) }
    static func .== (l: I32, r: Int32) -> M32<B> { l .== l.constant(r) }
    static func .> (l: I32, r: Int32) -> M32<B> { l .> l.constant(r) }
    static func .< (l: I32, r: Int32) -> M32<B> { l .< l.constant(r) }
}

/// table[index] for 64-bit tables (index i64 lanes) and 32-bit tables (index i32 lanes).
func gather<B>(_ table: LaneTable, _ index: I64<B>) -> F64<B> {
    F64(index.b, index.b.gather(table, index.v, indexLane: .i64))
}
func gather<B>(_ table: LaneTable, _ index: I32<B>) -> F32<B> {
    F32(index.b, index.b.gather(table, index.v, indexLane: .i32))
}
/// A 64-bit table indexed by i32 lanes (an f32 lane's exponent, say): table lane f64.
func gather64<B>(_ table: LaneTable, _ index: I32<B>) -> F64<B> {
    F64(index.b, index.b.gather(table, index.v, indexLane: .i32))
}
