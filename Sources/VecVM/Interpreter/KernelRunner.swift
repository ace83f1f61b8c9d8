// Running a kernel over its elements: in one pass, or in chunks spread over the Ps.
//
// A kernel over more than `chunkElements` elements is cut into chunks of exactly `chunkElements`
// (the last one shorter). The cut depends only on the element count, never on the number of Ps, so a
// program prints the same digits with `--procs 1`, `--procs 2` and `--procs 16` (LANGUAGE.md):
// - a storing kernel's chunks write disjoint parts of the output;
// - a reduction reduces each chunk on its own (lanes, then the fixed combining order of
//   Bytecode/Kernel.swift) and combines the chunks' results pairwise in a fixed tree:
//   ((c0∘c1)∘(c2∘c3))∘... level by level, an odd last one carried up. count/any/all are exact.
// With more than `parallelElements` elements and more than one P, the chunks run as tasks on the
// scheduler: `workers` tasks (the caller is one of them) take chunk numbers from a shared counter, and
// the caller parks until the others are done. Otherwise the caller runs the chunks in order. Chunks
// are ordinary JIT (or evaluator) code in ordinary tasks: asynchronous preemption interrupts them
// like any kernel, and their vector registers go through the xreg path.

import Synchronization
import VMRuntime

enum KernelRunner {
    /// Elements per chunk: a multiple of every reduction's lane count (32) and of 8, so that chunk
    /// boundaries fall on whole steps (bool stores write 8 bytes at a time).
    static let chunkElements = 1 << 16
    /// Kernels at least this long run their chunks on several Ps (smaller ones are not worth a task;
    /// measured in bench/: a task's spawn and join cost about as much as 20k elements of a simple
    /// kernel).
    static let parallelElements = 1 << 18

    /// Runs `site`'s program over `count` elements; returns the reduction's bits (0 for a store).
    static func run(
        _ site: KernelSite, inputs: UnsafePointer<UnsafeRawPointer>, scalars: UnsafePointer<UInt64>, count: Int,
        output: UnsafeMutableRawPointer?, scratch: KernelScratch, ctx: ExecutionContext
    ) throws(Trap) -> UInt64 {
        if count <= chunkElements {
            return try runChunk(site, inputs, scalars, count, output, scratch, ctx)
        }
        let chunks = (count + chunkElements - 1) / chunkElements
        let results = UnsafeMutablePointer<UInt64>.allocate(capacity: chunks)
        defer { results.deallocate() }
        let workers = count >= parallelElements ? min(ctx.procs, chunks) : 1
        if workers <= 1 {
            for c in 0..<chunks {
                results[c] = try runChunk(site, inputs, scalars, count, output, scratch, ctx, chunk: c)
            }
        } else {
            let job = ChunkJob(chunks: chunks)
            let nIn = site.program.arrayInputs.count
            // The pointers are copied for the other tasks: the caller's buffers live on its frame.
            let sharedInputs = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: max(1, nIn))
            sharedInputs.initialize(from: inputs, count: nIn)
            let nScalars = site.program.scalarInputs.count
            let sharedScalars = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, nScalars))
            sharedScalars.initialize(from: scalars, count: nScalars)
            defer {
                sharedInputs.deallocate()
                sharedScalars.deallocate()
            }
            let resultsAddress = UInt(bitPattern: results)
            let inputsAddress = UInt(bitPattern: sharedInputs)
            let scalarsAddress = UInt(bitPattern: sharedScalars)
            let outputAddress = UInt(bitPattern: output)
            let work: @Sendable (KernelScratch) -> Void = { scratch in
                let results = UnsafeMutablePointer<UInt64>(bitPattern: resultsAddress)!
                let inputs = UnsafePointer<UnsafeRawPointer>(bitPattern: inputsAddress)!
                let scalars = UnsafePointer<UInt64>(bitPattern: scalarsAddress)!
                let output = UnsafeMutableRawPointer(bitPattern: outputAddress)
                while let c = job.next() {
                    do throws(Trap) {
                        results[c] = try runChunk(site, inputs, scalars, count, output, scratch, ctx, chunk: c)
                    } catch {
                        job.fail(c, error)
                    }
                }
            }
            // Invariant: the arrays the pointers reach stay alive in the caller's registers, and the
            // caller does not return before every worker has finished (join).
            var handles: [GHandle] = []
            for _ in 1..<workers { handles.append(Scheduler.spawn { work(KernelScratch()) }) }
            work(scratch)
            for h in handles { h.join() }
            if let error = job.firstError { throw error }
        }
        guard case .reduce(let op, _) = site.program.output else { return 0 }
        return combine(op, site.program.resultKind, results, chunks)
    }

    /// One chunk (or the whole, for chunk nil with count <= chunkElements): natively when the JIT has
    /// the kernel, else in the evaluator.
    private static func runChunk(
        _ site: KernelSite, _ inputs: UnsafePointer<UnsafeRawPointer>, _ scalars: UnsafePointer<UInt64>,
        _ count: Int, _ output: UnsafeMutableRawPointer?, _ scratch: KernelScratch, _ ctx: ExecutionContext,
        chunk: Int? = nil
    ) throws(Trap) -> UInt64 {
        let program = site.program
        var chunkInputs = inputs
        var owned: UnsafeMutablePointer<UnsafeRawPointer>?
        var chunkOutput = output
        var n = count
        if let c = chunk {
            let start = c * chunkElements
            n = min(chunkElements, count - start)
            let nIn = program.arrayInputs.count
            let p = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: max(1, nIn))
            for k in 0..<nIn { p[k] = inputs[k] + start * program.arrayInputs[k].size }
            owned = p
            chunkInputs = UnsafePointer(p)
            chunkOutput = output.map { $0 + start * program.element.size }
        }
        defer { owned?.deallocate() }
        var result: UInt64 = 0
        if try !ctx.kernels.runNative(
            site, inputs: chunkInputs, scalars: scalars, count: n, output: chunkOutput, result: &result)
        {
            result = try KernelEvaluator.run(
                program, inputs: chunkInputs, scalars: scalars, count: n, output: chunkOutput, scratch: scratch)
        }
        return result
    }

    /// The chunks' results combined pairwise, level by level (an odd last one carried up).
    static func combine(_ op: ReductionOp, _ kind: ElementKind, _ r: UnsafeMutablePointer<UInt64>, _ n: Int) -> UInt64 {
        func pair(_ a: UInt64, _ b: UInt64) -> UInt64 {
            switch (op, kind) {
            case (.count, _): return a &+ b
            case (.any, _): return a | b
            case (.all, _): return a & b
            case (_, .f32): return lanes(op, Float.fromBits(a), Float.fromBits(b)).bits
            case (_, .float): return lanes(op, Double.fromBits(a), Double.fromBits(b)).bits
            case (_, .int), (_, .bool): return lanes(op, Int64.fromBits(a), Int64.fromBits(b)).bits
            }
        }
        var m = n
        while m > 1 {
            for j in 0..<(m / 2) { r[j] = pair(r[2 * j], r[2 * j + 1]) }
            if m % 2 == 1 { r[m / 2] = r[m - 1] }
            m = (m + 1) / 2
        }
        return r[0]
    }

    private static func lanes<T: KernelLane>(_ op: ReductionOp, _ a: T, _ b: T) -> T {
        switch op {
        case .sum, .count, .any, .all: T.kAdd(a, b)
        case .min: T.kMin(a, b)
        case .max: T.kMax(a, b)
        }
    }
}

/// The chunks of one parallel kernel: a counter handing them out, and the first error by chunk number
/// (so that the error reported does not depend on which task met it first).
private final class ChunkJob: Sendable {
    let chunks: Int
    private let cursor = Atomic<Int>(0)
    private let failure = VMMutex<(Int, Trap)?>(nil)

    init(chunks: Int) { self.chunks = chunks }

    func next() -> Int? {
        let c = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return c < chunks ? c : nil
    }

    func fail(_ chunk: Int, _ error: Trap) {
        failure.withLock { f in
            if f == nil || chunk < f!.0 { f = (chunk, error) }
        }
    }

    var firstError: Trap? { failure.withLock { $0?.1 } }
}
