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
    static func kMin(_ a: Self, _ b: Self) -> Self
    static func kMax(_ a: Self, _ b: Self) -> Self
    static func kNeg(_ a: Self) -> Self
    static func kAbs(_ a: Self) -> Self
    static func kFma(_ a: Self, _ b: Self, _ c: Self) -> Self
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
    @inline(__always) static func kMin(_ a: Float, _ b: Float) -> Float { a < b ? a : b }
    @inline(__always) static func kMax(_ a: Float, _ b: Float) -> Float { a > b ? a : b }
    @inline(__always) static func kNeg(_ a: Float) -> Float { -a }
    @inline(__always) static func kAbs(_ a: Float) -> Float { Float(bitPattern: a.bitPattern & 0x7FFF_FFFF) }
    @inline(__always) static func kFma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }
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
    @inline(__always) static func kMin(_ a: Double, _ b: Double) -> Double { a < b ? a : b }
    @inline(__always) static func kMax(_ a: Double, _ b: Double) -> Double { a > b ? a : b }
    @inline(__always) static func kNeg(_ a: Double) -> Double { -a }
    @inline(__always) static func kAbs(_ a: Double) -> Double {
        Double(bitPattern: a.bitPattern & 0x7FFF_FFFF_FFFF_FFFF)
    }
    @inline(__always) static func kFma(_ a: Double, _ b: Double, _ c: Double) -> Double { c.addingProduct(a, b) }
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
    @inline(__always) static func kMin(_ a: Int64, _ b: Int64) -> Int64 { a < b ? a : b }
    @inline(__always) static func kMax(_ a: Int64, _ b: Int64) -> Int64 { a > b ? a : b }
    @inline(__always) static func kNeg(_ a: Int64) -> Int64 { 0 &- a }
    @inline(__always) static func kAbs(_ a: Int64) -> Int64 { a < 0 ? 0 &- a : a }
    @inline(__always) static func kFma(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 { a &* b &+ c }
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
        switch program.element {
        case .f32: return try run(program, Float.self, inputs, scalars, count, output, scratch)
        case .float: return try run(program, Double.self, inputs, scalars, count, output, scratch)
        case .int: return try run(program, Int64.self, inputs, scalars, count, output, scratch)
        }
    }

    @inline(never)
    private static func run<T: KernelLane>(
        _ program: KernelProgram, _: T.Type, _ inputs: UnsafePointer<UnsafeRawPointer>,
        _ scalars: UnsafePointer<UInt64>, _ count: Int, _ output: UnsafeMutableRawPointer?,
        _ scratch: KernelScratch
    ) throws(Trap) -> UInt64 {
        let ops = program.ops
        let nOps = ops.count
        let block = blockSize
        let lanes = program.reductionLanes
        // Scratch layout: value pointers, one block buffer per op, reduction accumulators.
        let pointerBytes = (nOps * MemoryLayout<UnsafeMutablePointer<T>>.stride + 63) & ~63
        let bufferBytes = block * MemoryLayout<T>.stride
        let base = try scratch.reserve(pointerBytes + nOps * bufferBytes + lanes * MemoryLayout<T>.stride)
        let values = base.bindMemory(to: UnsafeMutablePointer<T>.self, capacity: nOps)
        let buffers = (base + pointerBytes).bindMemory(to: T.self, capacity: nOps * block)
        let acc = (base + pointerBytes + nOps * bufferBytes).bindMemory(to: T.self, capacity: lanes)

        // Broadcast scalars once.
        for (i, op) in ops.enumerated() {
            if case .scalar(let k) = op {
                let buf = buffers + i * block
                let v = T.fromBits(scalars[k])
                for j in 0..<block { buf[j] = v }
            }
        }
        var reduction: ReductionOp?
        var resultIndex = 0
        switch program.output {
        case .store(let v): resultIndex = v
        case .reduce(let r, let v):
            reduction = r
            resultIndex = v
            let identity: T = r == .sum ? .additiveIdentity : r == .min ? .minIdentity : .maxIdentity
            for l in 0..<lanes { acc[l] = identity }
        }
        let out = output?.bindMemory(to: T.self, capacity: count)

        var start = 0
        while start < count {
            let n = min(block, count - start)
            for (i, op) in ops.enumerated() {
                // The storing kernel's last value goes straight to the output array.
                let dst: UnsafeMutablePointer<T> =
                    (i == resultIndex && reduction == nil && out != nil) ? out! + start : buffers + i * block
                switch op {
                case .load(let k):
                    values[i] = UnsafeMutablePointer(mutating: inputs[k].assumingMemoryBound(to: T.self)) + start
                    continue
                case .scalar:
                    values[i] = buffers + i * block
                    continue
                case .neg(let a):
                    let x = values[a]
                    for j in 0..<n { dst[j] = T.kNeg(x[j]) }
                case .abs(let a):
                    let x = values[a]
                    for j in 0..<n { dst[j] = T.kAbs(x[j]) }
                case .sqrt(let a):
                    try sqrtBlock(values[a], dst, n)
                case .add(let a, let b):
                    let x = values[a]
                    let y = values[b]
                    for j in 0..<n { dst[j] = T.kAdd(x[j], y[j]) }
                case .sub(let a, let b):
                    let x = values[a]
                    let y = values[b]
                    for j in 0..<n { dst[j] = T.kSub(x[j], y[j]) }
                case .mul(let a, let b):
                    let x = values[a]
                    let y = values[b]
                    for j in 0..<n { dst[j] = T.kMul(x[j], y[j]) }
                case .div(let a, let b):
                    try divBlock(values[a], values[b], dst, n)
                case .min(let a, let b):
                    let x = values[a]
                    let y = values[b]
                    for j in 0..<n { dst[j] = T.kMin(x[j], y[j]) }
                case .max(let a, let b):
                    let x = values[a]
                    let y = values[b]
                    for j in 0..<n { dst[j] = T.kMax(x[j], y[j]) }
                case .fma(let a, let b, let c):
                    let x = values[a]
                    let y = values[b]
                    let z = values[c]
                    for j in 0..<n { dst[j] = T.kFma(x[j], y[j], z[j]) }
                }
                values[i] = dst
            }
            if let r = reduction {
                // Blocks start at multiples of `lanes`, so element start+j goes to lane j % lanes.
                accumulate(r, values[resultIndex], n, acc, lanes)
            } else if let out, values[resultIndex] != out + start {
                (out + start).update(from: values[resultIndex], count: n)
            }
            start += n
        }
        guard let r = reduction else { return 0 }
        return combineLanes(r, acc, lanes).bits
    }

    @inline(__always)
    private static func accumulate<T: KernelLane>(
        _ r: ReductionOp, _ v: UnsafeMutablePointer<T>, _ n: Int, _ acc: UnsafeMutablePointer<T>, _ lanes: Int
    ) {
        var j = 0
        while j < n {
            let m = min(lanes, n - j)
            let chunk = v + j
            switch r {
            case .sum: for l in 0..<m { acc[l] = T.kAdd(acc[l], chunk[l]) }
            case .min: for l in 0..<m { acc[l] = T.kMin(acc[l], chunk[l]) }
            case .max: for l in 0..<m { acc[l] = T.kMax(acc[l], chunk[l]) }
            }
            j += m
        }
    }

    /// The fixed combining order of the reduction lanes (Kernel.swift): accumulator vectors of
    /// `width` lanes pairwise, then halves, quarters, ... of the remaining vector.
    static func combineLanes<T: KernelLane>(_ r: ReductionOp, _ acc: UnsafeMutablePointer<T>, _ lanes: Int) -> T {
        @inline(__always) func op(_ a: T, _ b: T) -> T {
            switch r {
            case .sum: T.kAdd(a, b)
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
                case .sum: v[j] = T.kAdd(v[j], v[j + w])
                case .min: v[j] = T.kMin(v[j], v[j + w])
                case .max: v[j] = T.kMax(v[j], v[j + w])
                }
            }
        }
        return v[0]
    }

    @inline(__always)
    private static func sqrtBlock<T: KernelLane>(_ x: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>, _ n: Int)
        throws(Trap)
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
        } else {
            throw Trap(message: "sqrt of an int array")
        }
    }

    @inline(__always)
    private static func divBlock<T: KernelLane>(
        _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>, _ n: Int
    ) throws(Trap) {
        if T.self == Float.self {
            let xs = UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self)
            let ys = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
            let ds = UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Float.self)
            for j in 0..<n { ds[j] = xs[j] / ys[j] }
        } else if T.self == Double.self {
            let xs = UnsafeMutableRawPointer(x).assumingMemoryBound(to: Double.self)
            let ys = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self)
            let ds = UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Double.self)
            for j in 0..<n { ds[j] = xs[j] / ys[j] }
        } else {
            let xs = UnsafeMutableRawPointer(x).assumingMemoryBound(to: Int64.self)
            let ys = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Int64.self)
            let ds = UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Int64.self)
            for j in 0..<n {
                let d = ys[j]
                if d == 0 { throw Trap(message: "integer division by zero") }
                ds[j] = d == -1 ? 0 &- xs[j] : xs[j] / d
            }
        }
    }
}
