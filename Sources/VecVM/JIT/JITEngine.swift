// What the VM asks of a JIT (`JITEngine`), and the engine that answers on x86-64 (`X86JIT`): the
// native code of a kernel and of a whole function, each an Optional — nil means "interpret it",
// and the engine keeps the reason — and the statistics and listings of `--stats` and `vecvm jit-dump`.
//
// Ownership: one engine per VM (`VM.jit`), made with it. A program is lowered by the engine of the
// VM that compiled it (`Program.jit`, set by `VM.compile` and by a Session for each input): its
// functions' `nativeState` and its kernel sites' code are that engine's, guarded by that engine's
// lock, and counted in that VM's statistics. An instance runs its program with the program's
// engine, or interpreted when its own VM has the JIT off (InstanceState.jit). So two VMs in one
// process keep separate caches and statistics, and no function is ever lowered by two engines.
// What stays process-wide is what the machine has once: the code heap (executable memory,
// CodeHeap.swift) and the CPU's features (CPU.swift).
//
// No JIT — compiled out, a CPU without AVX2+FMA, VECVM_ISA=none, `--no-jit` — is no engine: `VM.jit`
// is nil, and everything that would ask one interprets instead. A second, do-nothing implementation
// would only have to be kept answering nil in step with this one.
//
// One path for both kinds of code (`compile`): look in the cache; lower (KernelLowering,
// FunctionLowering) outside the lock; install the bytes in the code heap (NativeCode); then, under the
// lock, cache what came of it and record the reason when it stays interpreted. The cache holds code
// weakly: a kernel site holds its kernel's code (KernelSite.holdNativeCode), a Function its own
// (Function.nativeState), so code goes with the last program that can call it (issue 16.4: a
// process compiling programs for ever keeps only the code of the live ones). Dead entries are pruned
// once the cache has doubled since the last pruning; the reason logs are bounded.
//
// Kernels are cached by program and ISA, so a kernel is compiled once however many sites or
// programs of this VM use it at the same time, and a hot site pays one atomic load
// (KernelSite.nativeEntry). A function is lowered once, the first time a program containing it is
// instantiated, with the functions it calls (`lookup`: a call back into a function still being
// lowered is a cycle, called through a CallCell — NativeFunctions.swift).

import Synchronization
import VMRuntime

/// What the VM asks of a JIT. nil answers mean "interpret it"; the engine records why.
protocol JITEngine: AnyObject, Sendable {
    /// The native entry of `site`'s kernel program, lowered on the first use of the program by a
    /// site of this engine's programs; nil: the interpreter's evaluator runs it (the reason is in
    /// `statistics.kernelFallbacks`). The site holds the code for as long as its function lives.
    func kernelEntry(for site: KernelSite) -> NativeKernelEntry?

    /// The native code of `f`, one of `functions` (its program's table), lowered on first request
    /// with the functions it calls; nil: the interpreter runs it (the reason is in
    /// `statistics.interpreted`). `f` holds the code.
    func nativeFunction(_ f: Function, in functions: [Function]) -> NativeFunction?

    /// Counters and reasons so far (`--stats`).
    var statistics: JITStatistics { get }

    /// The live native code (`vecvm jit-dump`).
    var listing: JITListing { get }
}

/// What an engine made so far. The lists of names and reasons keep the most recent ones
/// (`X86JIT.logSize`, `X86JIT.kernelLogSize`), so that compiling programs for ever does not grow them.
struct JITStatistics: Sendable {
    /// What kernels are lowered to.
    var kernelISA: KernelISA
    /// Kernels given native code, those freed with their programs included.
    var kernelsCompiled = 0
    /// Bytes of live kernel code.
    var kernelBytes = 0
    /// "program: reason" of the kernels left to the interpreter's evaluator.
    var kernelFallbacks: [String] = []
    /// Kernels asked for at 512 bits that kept AVX2 code, and "program: reason" of the latest.
    var avx512FallbackCount = 0
    var avx512Fallbacks: [String] = []
    /// Names of the functions lowered whole.
    var functions: [String] = []
    /// "name: reason" of the functions left to the interpreter.
    var interpreted: [String] = []
    /// "name: leaves for the interpreter at op, ..." of native functions that run part of a call
    /// natively (a loop) and the rest in the interpreter.
    var partial: [String] = []
    /// "name: runs kernel, print through the runtime" of native functions that run instructions
    /// through NativeStepHelper (FunctionLowering+Steps.swift).
    var steps: [String] = []
    /// "name: 2 integers kept in their slots (r3, r5)" of native functions whose integers did not all
    /// fit in registers (FunctionLowering.allocateWithSpills).
    var spilled: [String] = []
}

/// The live native code of an engine, read back from the code heap.
struct JITListing: Sendable {
    /// Kernels with native code, in order of compilation.
    var kernels: [CompiledKernel] = []
    /// (name, machine code) of each lowered function.
    var functions: [(name: String, machineCode: [UInt8])] = []
}

/// The JIT engine of x86-64 (AVX2/FMA, AVX-512 where the machine has it): see the top of this file.
final class X86JIT: JITEngine {
    /// Reasons kept of kernels (the most recent ones).
    static let kernelLogSize = 256
    /// Names and reasons kept of functions (the most recent ones).
    static let logSize = 1024

    /// What kernels are lowered to (CPU.swift decides, once for the process).
    let kernelISA: KernelISA

    init(kernelISA: KernelISA = JITSupport.kernelISA) {
        self.kernelISA = kernelISA
        state = VMMutex(State(records: JITStatistics(kernelISA: kernelISA)))
    }

    /// A weak reference, for the cache.
    private final class Weak<Code: AnyObject>: @unchecked Sendable {
        // @unchecked Sendable: read and written under the engine's lock only.
        weak var code: Code?
        init(_ code: Code) { self.code = code }
    }

    private struct KernelKey: Hashable {
        let program: KernelProgram
        let isa: KernelISA
    }

    /// The cache and the records: everything the lock guards, with every Function's `nativeState`
    /// of this engine's programs.
    private struct State {
        var kernels: [KernelKey: Weak<KernelCode>] = [:]
        var functions: [Weak<NativeFunction>] = []
        /// Cache sizes at which dead entries are pruned next.
        var prunesKernelsAt = 64
        var prunesFunctionsAt = 64
        /// KernelCode objects made (jit-dump numbers kernels by it).
        var kernelCount = 0
        /// Kept for the engine's life (`entry(for:isa:)`, whose callers have no site to hold the code).
        var pinned: [KernelCode] = []
        var records: JITStatistics

        /// Adds `entry` to a bounded log.
        static func log(_ list: inout [String], _ entry: String, limit: Int = X86JIT.logSize) {
            list.append(entry)
            if list.count > limit { list.removeFirst(list.count - limit) }
        }
    }
    private let state: VMMutex<State>

    // MARK: - The one path: cache, lower, install, record

    /// What lowering and installing gave: the code with what else the lowering produced, or why
    /// there is none.
    private enum Made<Lowered> {
        case native(NativeCode, Lowered)
        case interpreted(String)
    }

    /// Answers from the cache if it can (`cached`, under the lock); else lowers outside the lock
    /// (`lower`: the machine code and what else its caller keeps), installs the code in the code heap
    /// and hands the outcome to `record`, under the lock, to cache it and log it. `record` may find
    /// that another thread made the same code meanwhile and answer with that one (ours is freed).
    private func compile<Answer, Lowered>(
        cached: (inout State) -> Answer?, lower: () throws -> (code: [UInt8], lowered: Lowered),
        record: (inout State, Made<Lowered>) -> Answer
    ) -> Answer {
        if let known = state.withLock({ cached(&$0) }) { return known }
        let made: Made<Lowered>
        do {
            let (bytes, lowered) = try lower()
            if let code = NativeCode(bytes) {
                made = .native(code, lowered)
            } else {
                made = .interpreted("the code heap is full or unavailable")
            }
        } catch {
            made = .interpreted("\(error)")
        }
        return state.withLock { record(&$0, made) }
    }

    // MARK: - Kernels

    func kernelEntry(for site: KernelSite) -> NativeKernelEntry? {
        var entry = site.nativeEntry.load(ordering: .acquiring)
        if entry == 0 {
            // The site holds the code for as long as its function lives; the entry is published
            // after it is held.
            entry = site.holdNativeCode(code(for: site.program))
        }
        guard entry > 1, let address = UnsafeRawPointer(bitPattern: entry) else { return nil }
        return unsafeBitCast(address, to: NativeKernelEntry.self)
    }

    /// The code of `program` lowered for `isa`, compiling it unless a live site of this engine's
    /// programs holds it. Its `native` is nil when the kernel stays interpreted (why: `fallback`).
    func code(for program: KernelProgram, isa requested: KernelISA? = nil) -> KernelCode {
        let key = KernelKey(program: program, isa: requested ?? kernelISA)
        // Set when the 512-bit lowering did not cover the kernel and AVX2 code was made instead.
        var notAt512: String?
        return compile(
            cached: { $0.kernels[key]?.code },
            lower: { () throws -> (code: [UInt8], lowered: KernelISA) in
                do {
                    return (try KernelLowering.lower(program, isa: key.isa), key.isa)
                } catch KernelLowering.Unsupported.notAt512(let why) {
                    notAt512 = "\(program): \(why)"
                    return (try KernelLowering.lower(program, isa: .avx2), .avx2)
                }
            },
            record: { s, made in
                // A kernel made by another thread meanwhile is taken instead of ours.
                if let c = s.kernels[key]?.code { return c }
                let c: KernelCode
                switch made {
                case .native(let native, let isa):
                    c = KernelCode(
                        program: program, number: s.kernelCount, native: native, fallback: nil, isa: isa)
                    s.records.kernelsCompiled += 1
                case .interpreted(let why):
                    c = KernelCode(
                        program: program, number: s.kernelCount, native: nil, fallback: "\(program): \(why)",
                        isa: key.isa)
                    State.log(&s.records.kernelFallbacks, "\(program): \(why)", limit: X86JIT.kernelLogSize)
                }
                s.kernelCount += 1
                if let notAt512 {
                    s.records.avx512FallbackCount += 1
                    State.log(&s.records.avx512Fallbacks, notAt512, limit: X86JIT.kernelLogSize)
                }
                if s.kernels.count >= s.prunesKernelsAt {
                    s.kernels = s.kernels.filter { $0.value.code != nil }
                    s.prunesKernelsAt = max(64, s.kernels.count * 2)
                }
                s.kernels[key] = Weak(c)
                return c
            })
    }

    /// The entry of `program` (KernelCode.entry: 1 when it stays interpreted), its code kept for the
    /// life of the engine: for callers without a kernel site (tests, tools).
    func entry(for program: KernelProgram, isa: KernelISA? = nil) -> UInt {
        let c = code(for: program, isa: isa)
        state.withLock { $0.pinned.append(c) }
        return c.entry
    }

    // MARK: - Functions

    func nativeFunction(_ f: Function, in functions: [Function]) -> NativeFunction? {
        if case .native(let n) = lookup(f, functions: functions) { return n }
        return nil
    }

    /// The native code of `f` (lowered on first request, with the functions it calls), why it stays
    /// interpreted, or — when `f` is being lowered further down this thread's stack, a cycle of
    /// calls — the cell to call it through (FunctionLowering.resolveCallees).
    func lookup(_ f: Function, functions: [Function]) -> NativeLookup {
        compile(
            cached: { _ -> NativeLookup? in
                switch f.nativeState {
                case .untried:
                    f.nativeState = .lowering(nil)
                    return nil
                case .lowering(let cell):
                    if let cell { return .pending(cell) }
                    let made = CallCell()
                    f.nativeState = .lowering(made)
                    return .pending(made)
                case .native(let n): return .native(n)
                case .interpreted(let why): return .interpreted(why)
                }
            },
            lower: { () throws -> (code: [UInt8], lowered: FunctionLowering.Lowered) in
                let l = try FunctionLowering.lower(f, functions: functions, engine: self)
                return (l.code, l)
            },
            record: { s, made -> NativeLookup in
                let code: NativeCode
                let l: FunctionLowering.Lowered
                switch made {
                case .native(let c, let lowered): (code, l) = (c, lowered)
                case .interpreted(let reason):
                    f.nativeState = .interpreted(reason)
                    State.log(&s.records.interpreted, "\(f.name): \(reason)")
                    return .interpreted(reason)
                }
                let n = NativeFunction(
                    name: f.name, code: code, arraySlots: l.arraySlots, entries: l.entries,
                    callEntryOffset: l.callEntryOffset, callees: l.callees, needsContext: l.needsContext,
                    makesCalls: l.makesCalls, usesArrayTable: l.usesArrayTable, hasSteps: l.hasSteps,
                    frameExtent: l.frameExtent, reachExtent: l.reachExtent, callCells: l.callCells)
                if case .lowering(let cell?) = f.nativeState {
                    // Functions lowered while this one was call it through its cell.
                    n.ownCell = cell
                    cell.install(n)
                }
                f.nativeState = .native(n)
                State.log(&s.records.functions, f.name)
                if !l.leaves.isEmpty {
                    State.log(
                        &s.records.partial,
                        "\(f.name): leaves for the interpreter at \(l.leaves.joined(separator: ", "))")
                }
                if !l.steps.isEmpty {
                    State.log(
                        &s.records.steps, "\(f.name): runs \(l.steps.joined(separator: ", ")) through the runtime")
                }
                if !l.spilled.isEmpty {
                    let slots = l.spilled.map { "r\($0)" }.joined(separator: ", ")
                    State.log(
                        &s.records.spilled, "\(f.name): \(l.spilled.count) integers kept in their slots (\(slots))")
                }
                if s.functions.count >= s.prunesFunctionsAt {
                    s.functions.removeAll { $0.code == nil }
                    s.prunesFunctionsAt = max(64, s.functions.count * 2)
                }
                s.functions.append(Weak(n))
                return .native(n)
            })
    }

    // MARK: - Statistics and listings

    var statistics: JITStatistics {
        // Weak loads make strong references: the code they keep is released after the lock.
        let (records, live) = state.withLock { s in (s.records, s.kernels.values.compactMap(\.code)) }
        var r = records
        r.kernelBytes = live.reduce(0) { $0 + ($1.native?.byteCount ?? 0) }
        return r
    }

    var listing: JITListing {
        let (kernels, functions) = state.withLock { s in
            (s.kernels.values.compactMap(\.code), s.functions.compactMap(\.code))
        }
        return JITListing(
            kernels: kernels.compactMap { c in
                c.native.map {
                    CompiledKernel(
                        number: c.number, program: c.program.description, element: c.program.element,
                        bytes: $0.machineCode, address: UInt(bitPattern: $0.address))
                }
            }.sorted { $0.number < $1.number },
            functions: functions.map { (name: $0.name, machineCode: $0.code.machineCode) })
    }
}
