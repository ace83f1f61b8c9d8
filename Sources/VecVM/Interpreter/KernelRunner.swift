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
    /// `owners`: the objects that `inputs` and `output` point into (the input arrays and the output
    /// array), needed only when `count >= parallelElements` (the parallel path keeps them alive for
    /// its workers); ignored otherwise.
    static func run(
        _ site: KernelSite, inputs: UnsafePointer<UnsafeRawPointer>, scalars: UnsafePointer<UInt64>, count: Int,
        output: UnsafeMutableRawPointer?, owners: @autoclosure () -> [AnyObject], scratch: KernelScratch,
        ctx: ExecutionContext
    ) throws(Trap) -> UInt64 {
        if count <= chunkElements {
            return try runChunk(site, inputs, scalars, count, output, scratch, ctx)
        }
        let chunks = (count + chunkElements - 1) / chunkElements
        let workers = count >= parallelElements ? min(ctx.procs, chunks) : 1
        if workers > 1 {
            return try runParallel(
                site, inputs: inputs, scalars: scalars, count: count, output: output, owners: owners(),
                chunks: chunks, workers: workers, scratch: scratch, ctx: ctx)
        }
        let results = UnsafeMutablePointer<UInt64>.allocate(capacity: chunks)
        defer { results.deallocate() }
        for c in 0..<chunks {
            results[c] = try runChunk(site, inputs, scalars, count, output, scratch, ctx, chunk: c)
        }
        guard case .reduce(let op, _) = site.program.output else { return 0 }
        return combine(op, site.program.resultKind, results, chunks)
    }

    /// The chunks on `workers` tasks: the caller and `workers - 1` tasks it spawns and joins.
    ///
    /// A run can end while the caller waits (a runtime error in another task, a cancellation): its
    /// join then returns early, with `Scheduler.isStopping` true, while the workers may still be in a
    /// chunk. So everything a worker touches belongs to the `ChunkJob`, which each worker holds — the
    /// results, the copies of the input pointers and scalars, and references to the arrays the
    /// pointers reach — and the caller stops the job (no chunk is handed out after that) and
    /// unwinds at once with `Trap.stopped`, as after any blocking call; the arrays are released when
    /// the last worker leaves its chunk. Joining again would abandon the caller (a stopped task's
    /// second switch), and with it every array its registers hold.
    private static func runParallel(
        _ site: KernelSite, inputs: UnsafePointer<UnsafeRawPointer>, scalars: UnsafePointer<UInt64>, count: Int,
        output: UnsafeMutableRawPointer?, owners: [AnyObject], chunks: Int, workers: Int, scratch: KernelScratch,
        ctx: ExecutionContext
    ) throws(Trap) -> UInt64 {
        // A task whose run has ended spawns nothing (a task spawned now would belong to the next run).
        if Scheduler.isStopping { throw Trap.stopped }
        let job = ChunkJob(
            chunks: chunks, inputs: inputs, inputCount: site.program.arrayInputs.count, scalars: scalars,
            scalarCount: site.program.scalarInputs.count, output: output, owners: owners)
        let work: @Sendable (KernelScratch) -> Void = { scratch in
            while let c = job.next() {
                do throws(Trap) {
                    job.results[c] = try runChunk(
                        site, job.inputs, job.scalars, count, job.output, scratch, ctx, chunk: c)
                } catch {
                    job.fail(c, error)
                }
                // Our run ended: the others stop at their next chunk too.
                if Scheduler.isStopping { job.stop() }
            }
        }
        var handles: [GHandle] = []
        for _ in 1..<workers { handles.append(Scheduler.spawn { work(KernelScratch()) }) }
        work(scratch)
        for h in handles {
            if Scheduler.isStopping {
                job.stop()
                throw Trap.stopped
            }
            h.join()
        }
        if Scheduler.isStopping {
            job.stop()
            throw Trap.stopped
        }
        if let error = job.firstError { throw error }
        guard case .reduce(let op, _) = site.program.output else { return 0 }
        return combine(op, site.program.resultKind, job.results, chunks)
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
        if let entry = ctx.jit?.kernelEntry(for: site) {
            try NativeKernel.run(
                entry, site, inputs: chunkInputs, scalars: scalars, count: n, output: chunkOutput, result: &result)
        } else {
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

/// The chunks of one parallel kernel: a counter handing them out, the first error by chunk number
/// (so that the error reported does not depend on which task met it first), and everything the
/// workers read and write, owned here so that it outlives a caller that unwinds before they finish.
private final class ChunkJob: @unchecked Sendable {
    // @unchecked: `inputs`, `scalars`, `output` and `owners` are written once, in init, before any
    // worker exists (Scheduler.spawn publishes them); each chunk's slot of `results` is written by
    // the one task that took that chunk number from `cursor`, and read by the caller only after it
    // joined every worker. The buffers are freed in deinit, after the last task let go of the job.
    let chunks: Int
    let results: UnsafeMutablePointer<UInt64>
    let inputs: UnsafePointer<UnsafeRawPointer>
    let scalars: UnsafePointer<UInt64>
    let output: UnsafeMutableRawPointer?
    /// The arrays `inputs` and `output` point into: alive while any worker may run a chunk.
    private let owners: [AnyObject]
    private let cursor = Atomic<Int>(0)
    private let failure = VMMutex<(Int, Trap)?>(nil)

    init(
        chunks: Int, inputs: UnsafePointer<UnsafeRawPointer>, inputCount: Int, scalars: UnsafePointer<UInt64>,
        scalarCount: Int, output: UnsafeMutableRawPointer?, owners: [AnyObject]
    ) {
        self.chunks = chunks
        results = .allocate(capacity: chunks)
        let i = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: max(1, inputCount))
        i.initialize(from: inputs, count: inputCount)
        self.inputs = UnsafePointer(i)
        let s = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, scalarCount))
        s.initialize(from: scalars, count: scalarCount)
        self.scalars = UnsafePointer(s)
        self.output = output
        self.owners = owners
    }

    deinit {
        results.deallocate()
        inputs.deallocate()
        scalars.deallocate()
    }

    func next() -> Int? {
        let c = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return c < chunks ? c : nil
    }

    /// No chunk is handed out after this (the ones being run finish).
    func stop() { cursor.store(chunks, ordering: .relaxed) }

    func fail(_ chunk: Int, _ error: Trap) {
        failure.withLock { f in
            if f == nil || chunk < f!.0 { f = (chunk, error) }
        }
    }

    var firstError: Trap? { failure.withLock { $0?.1 } }
}
