// The interpreter's kernel evaluator: runs a KernelProgram over whole arrays in one pass, block by
// block (`blockSize` elements), with no temporary arrays: each operation fills a block-sized scratch
// buffer from its operands' buffers, loads read the input arrays in place, and the last operation of
// a storing kernel writes straight into the output. The exact semantics (and the reduction lane
// order the JIT must reproduce) are documented in Bytecode/Kernel.swift.

import CJITStubs

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A runtime error raised below the dispatch loop; the loop adds the location and task.
struct Trap: Error {
    var message: String
    init(_ message: String) { self.message = message }
    init(message: String) { self.message = message }
}

/// Lane arithmetic with the kernel semantics, for Float, Double and Int64.
protocol KernelLane {
    static var additiveIdentity: Self { get }
    static var minIdentity: Self { get }
    static var maxIdentity: Self { get }
    static func kAdd(_ a: Self, _ b: Self) -> Self
    static func kSub(_ a: Self, _ b: Self) -> Self
    static func kMul(_ a: Self, _ b: Self) -> Self
    static func kDiv(_ a: Self, _ b: Self) throws(Trap) -> Self
    static func kMod(_ a: Self, _ b: Self) throws(Trap) -> Self
    static func kMin(_ a: Self, _ b: Self) -> Self
    static func kMax(_ a: Self, _ b: Self) -> Self
    static func kNeg(_ a: Self) -> Self
    static func kAbs(_ a: Self) -> Self
    static func kFma(_ a: Self, _ b: Self, _ c: Self) -> Self
    static func kMath(_ f: ElementwiseMath, _ a: Self) -> Self
    static func kPow(_ a: Self, _ b: Self) -> Self
    static func kCompare(_ op: CompareOp, _ a: Self, _ b: Self) -> Bool
    static func fromBits(_ bits: UInt64) -> Self
    var bits: UInt64 { get }
}

extension Float: KernelLane {
    static var additiveIdentity: Float { 0 }
    static var minIdentity: Float { .infinity }
    static var maxIdentity: Float { -.infinity }
    @inline(__always) static func kAdd(_ a: Float, _ b: Float) -> Float { a + b }
    @inline(__always) static func kSub(_ a: Float, _ b: Float) -> Float { a - b }
    @inline(__always) static func kMul(_ a: Float, _ b: Float) -> Float { a * b }
    @inline(__always) static func kDiv(_ a: Float, _ b: Float) -> Float { a / b }
    @inline(__always) static func kMod(_ a: Float, _ b: Float) throws(Trap) -> Float { throw Trap("'%' of floats") }
    @inline(__always) static func kMin(_ a: Float, _ b: Float) -> Float { a < b ? a : b }
    @inline(__always) static func kMax(_ a: Float, _ b: Float) -> Float { a > b ? a : b }
    @inline(__always) static func kNeg(_ a: Float) -> Float { Float(bitPattern: a.bitPattern ^ 0x8000_0000) }
    @inline(__always) static func kAbs(_ a: Float) -> Float { Float(bitPattern: a.bitPattern & 0x7FFF_FFFF) }
    @inline(__always) static func kFma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }
    @inline(__always) static func kMath(_ f: ElementwiseMath, _ a: Float) -> Float { MathDispatch.apply(f, a) }
    @inline(__always) static func kPow(_ a: Float, _ b: Float) -> Float { MathDispatch.pow(a, b) }
    @inline(__always) static func kCompare(_ op: CompareOp, _ a: Float, _ b: Float) -> Bool {
        switch op {
        case .eq: a == b
        case .ne: a != b
        case .lt: a < b
        case .le: a <= b
        }
    }
    @inline(__always) static func fromBits(_ bits: UInt64) -> Float {
        Float(bitPattern: UInt32(truncatingIfNeeded: bits))
    }
    @inline(__always) var bits: UInt64 { UInt64(bitPattern) }
}

extension Double: KernelLane {
    static var additiveIdentity: Double { 0 }
    static var minIdentity: Double { .infinity }
    static var maxIdentity: Double { -.infinity }
    @inline(__always) static func kAdd(_ a: Double, _ b: Double) -> Double { a + b }
    @inline(__always) static func kSub(_ a: Double, _ b: Double) -> Double { a - b }
    @inline(__always) static func kMul(_ a: Double, _ b: Double) -> Double { a * b }
    @inline(__always) static func kDiv(_ a: Double, _ b: Double) -> Double { a / b }
    @inline(__always) static func kMod(_ a: Double, _ b: Double) throws(Trap) -> Double { throw Trap("'%' of floats") }
    @inline(__always) static func kMin(_ a: Double, _ b: Double) -> Double { a < b ? a : b }
    @inline(__always) static func kMax(_ a: Double, _ b: Double) -> Double { a > b ? a : b }
    @inline(__always) static func kNeg(_ a: Double) -> Double {
        Double(bitPattern: a.bitPattern ^ 0x8000_0000_0000_0000)
    }
    @inline(__always) static func kAbs(_ a: Double) -> Double {
        Double(bitPattern: a.bitPattern & 0x7FFF_FFFF_FFFF_FFFF)
    }
    @inline(__always) static func kFma(_ a: Double, _ b: Double, _ c: Double) -> Double { c.addingProduct(a, b) }
    @inline(__always) static func kMath(_ f: ElementwiseMath, _ a: Double) -> Double { MathDispatch.apply(f, a) }
    @inline(__always) static func kPow(_ a: Double, _ b: Double) -> Double { MathDispatch.pow(a, b) }
    @inline(__always) static func kCompare(_ op: CompareOp, _ a: Double, _ b: Double) -> Bool {
        switch op {
        case .eq: a == b
        case .ne: a != b
        case .lt: a < b
        case .le: a <= b
        }
    }
    @inline(__always) static func fromBits(_ bits: UInt64) -> Double { Double(bitPattern: bits) }
    @inline(__always) var bits: UInt64 { bitPattern }
}

extension Int64: KernelLane {
    static var additiveIdentity: Int64 { 0 }
    static var minIdentity: Int64 { .max }
    static var maxIdentity: Int64 { .min }
    @inline(__always) static func kAdd(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
    @inline(__always) static func kSub(_ a: Int64, _ b: Int64) -> Int64 { a &- b }
    @inline(__always) static func kMul(_ a: Int64, _ b: Int64) -> Int64 { a &* b }
    /// Truncating; by zero a runtime error; `min / -1` wraps to `min`.
    @inline(__always) static func kDiv(_ a: Int64, _ b: Int64) throws(Trap) -> Int64 {
        if b == 0 { throw Trap("integer division by zero") }
        return b == -1 ? 0 &- a : a / b
    }
    /// The sign of the dividend; by zero a runtime error; `min % -1` is 0.
    @inline(__always) static func kMod(_ a: Int64, _ b: Int64) throws(Trap) -> Int64 {
        if b == 0 { throw Trap("integer division by zero") }
        return b == -1 ? 0 : a % b
    }
    @inline(__always) static func kMin(_ a: Int64, _ b: Int64) -> Int64 { a < b ? a : b }
    @inline(__always) static func kMax(_ a: Int64, _ b: Int64) -> Int64 { a > b ? a : b }
    @inline(__always) static func kNeg(_ a: Int64) -> Int64 { 0 &- a }
    @inline(__always) static func kAbs(_ a: Int64) -> Int64 { a < 0 ? 0 &- a : a }
    @inline(__always) static func kFma(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 { a &* b &+ c }
    // Kernel programs never apply these to ints (KernelProgram.validate).
    @inline(__always) static func kMath(_ f: ElementwiseMath, _ a: Int64) -> Int64 { a }
    @inline(__always) static func kPow(_ a: Int64, _ b: Int64) -> Int64 { a }
    @inline(__always) static func kCompare(_ op: CompareOp, _ a: Int64, _ b: Int64) -> Bool {
        switch op {
        case .eq: a == b
        case .ne: a != b
        case .lt: a < b
        case .le: a <= b
        }
    }
    @inline(__always) static func fromBits(_ bits: UInt64) -> Int64 { Int64(bitPattern: bits) }
    @inline(__always) var bits: UInt64 { UInt64(bitPattern: self) }
}

/// Reusable scratch memory for kernel evaluation, owned by one task.
final class KernelScratch {
    private(set) var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    func reserve(_ bytes: Int) throws(Trap) -> UnsafeMutableRawPointer {
        if let p = pointer, bytes <= capacity { return p }
        free(pointer)
        pointer = nil
        capacity = 0
        var p: UnsafeMutableRawPointer?
        let size = max(bytes, 4096)
        guard posix_memalign(&p, 64, size) == 0, let q = p else {
            throw Trap("out of memory (kernel scratch of \(size) bytes)")
        }
        pointer = q
        capacity = size
        return q
    }

    deinit { free(pointer) }
}

enum KernelEvaluator {
    static let blockSize = 256

    /// Runs `program` over `count` elements. `inputs[k]` is the data of array input k, `scalars[k]` the
    /// bits of scalar input k. A storing kernel writes `output`; a reduction returns its bits.
    static func run(
        _ program: KernelProgram, inputs: UnsafePointer<UnsafeRawPointer>, scalars: UnsafePointer<UInt64>,
        count: Int, output: UnsafeMutableRawPointer?, scratch: KernelScratch
    ) throws(Trap) -> UInt64 {
        let ops = program.ops
        let types = program.types
        let nOps = ops.count
        let block = blockSize
        let lanes = program.reductionLanes
        // Scratch layout: value pointers, one block buffer (8 bytes a lane) per op, reduction accumulators.
        let pointerBytes = (nOps * MemoryLayout<UnsafeMutableRawPointer>.stride + 63) & ~63
        let bufferBytes = block * 8
        let base = try scratch.reserve(pointerBytes + nOps * bufferBytes + lanes * 8)
        let values = base.bindMemory(to: UnsafeMutableRawPointer.self, capacity: nOps)
        let buffers = base + pointerBytes
        let acc = base + pointerBytes + nOps * bufferBytes

        // Broadcast scalars once.
        for (i, op) in ops.enumerated() {
            if case .scalar(let k) = op {
                let buf = buffers + i * bufferBytes
                switch types[i] {
                case .f32:
                    buf.initializeMemory(
                        as: UInt32.self, repeating: UInt32(truncatingIfNeeded: scalars[k]), count: block)
                case .bool: buf.initializeMemory(as: UInt8.self, repeating: scalars[k] != 0 ? 1 : 0, count: block)
                case .int, .float: buf.initializeMemory(as: UInt64.self, repeating: scalars[k], count: block)
                }
            }
        }
        var reduction: ReductionOp?
        let resultIndex = program.output.value
        let resultKind = types[resultIndex]
        if case .reduce(let r, _) = program.output {
            reduction = r
            initialize(r, resultKind, acc, lanes)
        }

        var start = 0
        while start < count {
            let n = min(block, count - start)
            for (i, op) in ops.enumerated() {
                let t = types[i]
                // The storing kernel's last value goes straight to the output array.
                let dst: UnsafeMutableRawPointer =
                    (i == resultIndex && reduction == nil && output != nil)
                    ? output! + start * t.size : buffers + i * bufferBytes
                switch op {
                case .load(let k):
                    values[i] = UnsafeMutableRawPointer(mutating: inputs[k]) + start * t.size
                    continue
                case .scalar:
                    values[i] = buffers + i * bufferBytes
                    continue
                case .compare(let c, let a, let b):
                    switch types[a] {
                    case .f32: compareBlock(c, Float.self, values[a], values[b], dst, n)
                    case .float: compareBlock(c, Double.self, values[a], values[b], dst, n)
                    case .int: compareBlock(c, Int64.self, values[a], values[b], dst, n)
                    case .bool: compareBools(c, values[a], values[b], dst, n)
                    }
                case .not(let a):
                    let x = values[a].assumingMemoryBound(to: UInt8.self)
                    let d = dst.assumingMemoryBound(to: UInt8.self)
                    for j in 0..<n { d[j] = x[j] ^ 1 }
                case .and(let a, let b):
                    let x = values[a].assumingMemoryBound(to: UInt8.self)
                    let y = values[b].assumingMemoryBound(to: UInt8.self)
                    let d = dst.assumingMemoryBound(to: UInt8.self)
                    for j in 0..<n { d[j] = x[j] & y[j] }
                case .or(let a, let b):
                    let x = values[a].assumingMemoryBound(to: UInt8.self)
                    let y = values[b].assumingMemoryBound(to: UInt8.self)
                    let d = dst.assumingMemoryBound(to: UInt8.self)
                    for j in 0..<n { d[j] = x[j] | y[j] }
                case .select(let m, let a, let b) where t == .bool:
                    let mm = values[m].assumingMemoryBound(to: UInt8.self)
                    let x = values[a].assumingMemoryBound(to: UInt8.self)
                    let y = values[b].assumingMemoryBound(to: UInt8.self)
                    let d = dst.assumingMemoryBound(to: UInt8.self)
                    for j in 0..<n { d[j] = mm[j] != 0 ? x[j] : y[j] }
                default:
                    switch t {
                    case .f32: try numeric(op, Float.self, values, dst, n)
                    case .float: try numeric(op, Double.self, values, dst, n)
                    case .int: try numeric(op, Int64.self, values, dst, n)
                    case .bool: throw Trap("kernel: \(op.description) on bools")
                    }
                }
                values[i] = dst
            }
            if let r = reduction {
                // Blocks start at multiples of `lanes`, so element start+j goes to lane j % lanes.
                switch resultKind {
                case .f32: accumulate(r, Float.self, values[resultIndex], n, acc, lanes)
                case .float: accumulate(r, Double.self, values[resultIndex], n, acc, lanes)
                case .int: accumulate(r, Int64.self, values[resultIndex], n, acc, lanes)
                case .bool: accumulateBools(r, values[resultIndex], n, acc)
                }
            } else if let out = output, values[resultIndex] != out + start * resultKind.size {
                (out + start * resultKind.size).copyMemory(from: values[resultIndex], byteCount: n * resultKind.size)
            }
            start += n
        }
        guard let r = reduction else { return 0 }
        switch resultKind {
        case .f32: return combineLanes(r, acc.assumingMemoryBound(to: Float.self), lanes).bits
        case .float: return combineLanes(r, acc.assumingMemoryBound(to: Double.self), lanes).bits
        case .int: return combineLanes(r, acc.assumingMemoryBound(to: Int64.self), lanes).bits
        case .bool:
            let total = acc.load(as: Int64.self)
            switch r {
            case .count: return UInt64(total)
            case .any: return total > 0 ? 1 : 0
            case .all: return total == Int64(count) ? 1 : 0
            case .sum, .min, .max: return 0  // not a reduction of bools (validate)
            }
        }
    }

    /// One op of a numeric lane type over a block.
    @inline(__always)
    private static func numeric<T: KernelLane>(
        _ op: KernelOp, _: T.Type, _ values: UnsafeMutablePointer<UnsafeMutableRawPointer>,
        _ dst: UnsafeMutableRawPointer, _ n: Int
    ) throws(Trap) {
        @inline(__always) func v(_ k: Int) -> UnsafeMutablePointer<T> { values[k].assumingMemoryBound(to: T.self) }
        let d = dst.assumingMemoryBound(to: T.self)
        switch op {
        case .neg(let a):
            let x = v(a)
            for j in 0..<n { d[j] = T.kNeg(x[j]) }
        case .abs(let a):
            let x = v(a)
            for j in 0..<n { d[j] = T.kAbs(x[j]) }
        case .sqrt(let a):
            sqrtBlock(v(a), d, n)
        case .math(let f, let a):
            let x = v(a)
            for j in 0..<n { d[j] = T.kMath(f, x[j]) }
        case .add(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = T.kAdd(x[j], y[j]) }
        case .sub(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = T.kSub(x[j], y[j]) }
        case .mul(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = T.kMul(x[j], y[j]) }
        case .div(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = try T.kDiv(x[j], y[j]) }
        case .mod(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = try T.kMod(x[j], y[j]) }
        case .min(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = T.kMin(x[j], y[j]) }
        case .max(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = T.kMax(x[j], y[j]) }
        case .pow(let a, let b):
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = T.kPow(x[j], y[j]) }
        case .fma(let a, let b, let c):
            let x = v(a)
            let y = v(b)
            let z = v(c)
            for j in 0..<n { d[j] = T.kFma(x[j], y[j], z[j]) }
        case .select(let m, let a, let b):
            let mm = values[m].assumingMemoryBound(to: UInt8.self)
            let x = v(a)
            let y = v(b)
            for j in 0..<n { d[j] = mm[j] != 0 ? x[j] : y[j] }
        case .load, .scalar, .compare, .not, .and, .or:
            throw Trap("kernel: \(op.description) is not a numeric operation")
        }
    }

    @inline(__always)
    private static func compareBlock<T: KernelLane>(
        _ c: CompareOp, _: T.Type, _ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer,
        _ dst: UnsafeMutableRawPointer, _ n: Int
    ) {
        let x = a.assumingMemoryBound(to: T.self)
        let y = b.assumingMemoryBound(to: T.self)
        let d = dst.assumingMemoryBound(to: UInt8.self)
        switch c {
        case .eq: for j in 0..<n { d[j] = T.kCompare(.eq, x[j], y[j]) ? 1 : 0 }
        case .ne: for j in 0..<n { d[j] = T.kCompare(.ne, x[j], y[j]) ? 1 : 0 }
        case .lt: for j in 0..<n { d[j] = T.kCompare(.lt, x[j], y[j]) ? 1 : 0 }
        case .le: for j in 0..<n { d[j] = T.kCompare(.le, x[j], y[j]) ? 1 : 0 }
        }
    }

    private static func compareBools(
        _ c: CompareOp, _ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ dst: UnsafeMutableRawPointer,
        _ n: Int
    ) {
        let x = a.assumingMemoryBound(to: UInt8.self)
        let y = b.assumingMemoryBound(to: UInt8.self)
        let d = dst.assumingMemoryBound(to: UInt8.self)
        let flip: UInt8 = c == .eq ? 1 : 0
        for j in 0..<n { d[j] = (x[j] ^ y[j]) ^ flip }
    }

    private static func initialize(_ r: ReductionOp, _ kind: ElementKind, _ acc: UnsafeMutableRawPointer, _ lanes: Int)
    {
        func fill<T: KernelLane>(_: T.Type) {
            let identity: T = r == .sum ? .additiveIdentity : r == .min ? .minIdentity : .maxIdentity
            acc.initializeMemory(as: T.self, repeating: identity, count: lanes)
        }
        switch kind {
        case .f32: fill(Float.self)
        case .float: fill(Double.self)
        case .int: fill(Int64.self)
        case .bool: acc.storeBytes(of: Int64(0), as: Int64.self)
        }
    }

    @inline(__always)
    private static func accumulate<T: KernelLane>(
        _ r: ReductionOp, _: T.Type, _ raw: UnsafeMutableRawPointer, _ n: Int, _ accRaw: UnsafeMutableRawPointer,
        _ lanes: Int
    ) {
        let v = raw.assumingMemoryBound(to: T.self)
        let acc = accRaw.assumingMemoryBound(to: T.self)
        var j = 0
        while j < n {
            let m = min(lanes, n - j)
            let chunk = v + j
            switch r {
            case .sum: for l in 0..<m { acc[l] = T.kAdd(acc[l], chunk[l]) }
            case .min: for l in 0..<m { acc[l] = T.kMin(acc[l], chunk[l]) }
            case .max: for l in 0..<m { acc[l] = T.kMax(acc[l], chunk[l]) }
            case .count, .any, .all: break  // of bools only (validate)
            }
            j += m
        }
    }

    /// count, any and all keep the number of true lanes.
    private static func accumulateBools(
        _ r: ReductionOp, _ raw: UnsafeMutableRawPointer, _ n: Int, _ acc: UnsafeMutableRawPointer
    ) {
        let v = raw.assumingMemoryBound(to: UInt8.self)
        var c = acc.load(as: Int64.self)
        for j in 0..<n { c &+= Int64(v[j]) }
        acc.storeBytes(of: c, as: Int64.self)
    }

    /// The fixed combining order of the reduction lanes (Kernel.swift): accumulator vectors of
    /// `width` lanes pairwise, then halves, quarters, ... of the remaining vector.
    static func combineLanes<T: KernelLane>(_ r: ReductionOp, _ acc: UnsafeMutablePointer<T>, _ lanes: Int) -> T {
        @inline(__always) func op(_ a: T, _ b: T) -> T {
            switch r {
            case .sum, .count, .any, .all: T.kAdd(a, b)
            case .min: T.kMin(a, b)
            case .max: T.kMax(a, b)
            }
        }
        let width = lanes / 4  // lanes per accumulator vector: 8 for f32, 4 for float and int
        var v = [T](repeating: T.additiveIdentity, count: width)
        for l in 0..<width {
            v[l] = op(op(acc[l], acc[width + l]), op(acc[2 * width + l], acc[3 * width + l]))
        }
        return combineVector(r, &v)
    }

    /// Horizontal reduction of one vector: halves, then quarters, ... (also `sum(v)` of a SIMD value).
    static func combineVector<T: KernelLane>(_ r: ReductionOp, _ v: inout [T]) -> T {
        var w = v.count
        while w > 1 {
            w /= 2
            for j in 0..<w {
                switch r {
                case .sum, .count, .any, .all: v[j] = T.kAdd(v[j], v[j + w])
                case .min: v[j] = T.kMin(v[j], v[j + w])
                case .max: v[j] = T.kMax(v[j], v[j + w])
                }
            }
        }
        return v[0]
    }

    @inline(__always)
    private static func sqrtBlock<T: KernelLane>(_ x: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>, _ n: Int)
    {
        // SSE2 sqrtps/sqrtpd (CJITStubs): a Swift loop of squareRoot() stays scalar.
        if T.self == Float.self {
            vm_sqrt_f32(
                UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Int64(n))
        } else if T.self == Double.self {
            vm_sqrt_f64(
                UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Double.self),
                UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), Int64(n))
        }
    }
}
