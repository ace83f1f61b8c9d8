// The embedding API: what a Swift app (and the vecvm CLI, a thin client of it) uses to compile and
// run .vec programs.
//
//     let vm = VM(configuration: .init(output: CapturedOutput()))
//     try vm.run(source: "print(1 + 2)", fileName: "demo.vec")

import Synchronization
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

public struct VMConfiguration: Sendable {
    /// Processors (Ps) running tasks in parallel; default: the number of CPUs.
    public var procs: Int
    /// How long a task runs before it is asked to yield.
    public var quantumNanoseconds: Int64
    /// Compile kernels to native code where the CPU allows (AVX2 + FMA).
    public var jit: Bool
    /// Interrupt long native kernels with a signal (else only the cooperative path preempts).
    public var asyncPreemption: Bool
    /// Where `print` writes.
    public var output: OutputSink
    /// Bytes of memory the program may hold at once: arrays, strings, channels and their buffers,
    /// tasks with their stacks and call frames (`extern` C code is outside: see
    /// `allowForeignFunctions`). Going over is the runtime error "out of memory"
    /// (`VMError.memoryLimit`); the host is not affected.
    public var memoryLimit: Int
    /// Tasks that may exist at once, the main task included (nil: no limit besides memory); one
    /// more `spawn` is the runtime error "too many tasks".
    public var maxTasks: Int?
    /// Whether `extern fn` declarations may bind C functions (off by default: scripts stay
    /// sandboxed). C code runs outside the sandbox: its memory is not counted in `memoryLimit`,
    /// fuel and time limits cannot stop it while it runs, and a crash in it ends the process.
    public var allowForeignFunctions: Bool
    /// Loop iterations and calls each run or call may make, all its tasks together (nil: no limit).
    /// Spent fuel stops the run with `VMError.fuelExhausted`. Tasks draw it in chunks of 10,000,
    /// so a run with several tasks may stop up to a chunk per task early.
    public var fuel: Int?
    /// Wall-clock time each run or call may take (nil: no limit); past it the run stops with
    /// `VMError.timeLimit`. A task stops at its next loop iteration, call or scheduling point; a
    /// long native (JIT) kernel only once asynchronous preemption interrupts it.
    public var timeLimit: Duration?
    /// What `argc()` and `arg(i)` give a program: for the CLI, the arguments after the program's path.
    public var arguments: [String]
    /// Where `read_line()` and `eof()` read: `NoInput()` by default (a script does not read the host's
    /// standard input unless given it); `StandardInput.shared` (the CLI's), `TextInput("...")` or your own.
    public var input: any InputSource
    /// Whether programs may read and write files (`read_file`, `write_file`, `load_f32`, `save`, ...);
    /// off by default, like `extern`: then such a call is the compile error "file access is disabled
    /// in this VM". The CLI allows it.
    public var allowFileAccess: Bool
    /// Tasks alive above which a task waiting in a send, a receive or a wait gives its stack back
    /// (`SchedulerConfiguration.stacklessParkThreshold`; default 1,024, or the environment variable
    /// VECVM_STACKLESS_PARK_THRESHOLD). Memory against speed: it changes no result.
    public var stacklessParkThreshold: Int

    public init(
        procs: Int? = nil, quantumNanoseconds: Int64 = 10_000_000, jit: Bool = true, asyncPreemption: Bool = true,
        output: OutputSink = StandardOutput(), memoryLimit: Int? = nil, allowForeignFunctions: Bool = false,
        fuel: Int? = nil, timeLimit: Duration? = nil, arguments: [String] = [],
        input: any InputSource = NoInput(), allowFileAccess: Bool = false, maxTasks: Int? = nil,
        stacklessParkThreshold: Int = SchedulerConfiguration.defaultStacklessParkThreshold
    ) {
        self.stacklessParkThreshold = stacklessParkThreshold
        self.procs = max(1, procs ?? VMConfiguration.cpuCount)
        self.quantumNanoseconds = quantumNanoseconds
        self.jit = jit
        self.asyncPreemption = asyncPreemption
        self.output = output
        self.memoryLimit = memoryLimit ?? MemoryAccount.defaultLimit
        self.allowForeignFunctions = allowForeignFunctions
        self.fuel = fuel
        self.timeLimit = timeLimit
        self.arguments = arguments
        self.input = input
        self.allowFileAccess = allowFileAccess
        self.maxTasks = maxTasks
    }

    public static var cpuCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// Everything that can stop a run.
public enum VMError: Error, Sendable, CustomStringConvertible {
    case compile(CompileError)
    case runtime(RuntimeError)
    /// Every task is blocked and no timer is pending.
    case deadlock
    /// `VM.cancel` was called, or the Swift task of an async run or call was cancelled.
    case cancelled(String)
    /// The run spent `VMConfiguration.fuel`; the error says where.
    case fuelExhausted(RuntimeError)
    /// The run passed `VMConfiguration.timeLimit`.
    case timeLimit(Duration)
    /// An allocation would have passed `VMConfiguration.memoryLimit` ("out of memory").
    case memoryLimit(RuntimeError)
    /// `VM.call` misused: no such function, arguments of the wrong number or types, a result of
    /// another type, or a run started from inside a VM task. Nothing ran.
    case invalidCall(String)

    public var description: String {
        switch self {
        case .compile(let e): e.description
        case .runtime(let e), .fuelExhausted(let e), .memoryLimit(let e): e.description
        case .deadlock: "deadlock: all tasks are blocked"
        case .cancelled(let why): "cancelled: \(why)"
        case .timeLimit(let limit): "time limit exceeded: the run took longer than \(limit)"
        case .invalidCall(let why): "invalid call: \(why)"
        }
    }

    /// The runtime error with its location, for the cases that have one.
    public var runtimeError: RuntimeError? {
        switch self {
        case .runtime(let e), .fuelExhausted(let e), .memoryLimit(let e): e
        default: nil
        }
    }

    /// The exit status the CLI uses (LANGUAGE.md: 1 for compile errors, 2 for runtime errors).
    public var exitStatus: Int32 {
        switch self {
        case .compile: 1
        default: 2
        }
    }
}

/// Counters of the VM layer (the scheduler keeps its own).
final class VMStats: Sendable {
    /// Counted by the spawning P.
    let tasksSpawned = Atomic<Int>(0)
    /// A cache line's worth of space, so that the P that spawns and the P that starts a task (which
    /// counts `tasksRecycled`) never write one line.
    private let spawnerLine: (Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0)
    /// Spawned tasks whose state was a finished task's, recycled (TaskStatePool), counted when the
    /// task first runs.
    let tasksRecycled = Atomic<Int>(0)
    let kernelsRun = Atomic<Int>(0)
    /// Contexts of runs on the scheduler that still exist: a run's context lives until its main
    /// task has ended and every task it spawned has too (TaskStatePool.retire).
    let runContextsLive = Atomic<Int>(0)
    /// Chains of native calls whose frames the interpreter took over (materializeNativeChain):
    /// a call entry found the machine or register stack short, the flag set, or a step left.
    let nativeChainsLeft = Atomic<Int>(0)
    /// Of those, the ones whose innermost frame went on as native code (Interpreter.resumableNative).
    let nativeChainsResumed = Atomic<Int>(0)
}

/// A reason passed to Scheduler.cancel.
final class CancelReason {
    let text: String
    init(_ text: String) { self.text = text }
}

/// A virtual machine (Wasmtime's Engine, with a Store's limits as defaults): the configuration, a
/// scheduler for the tasks of the programs it runs, the host functions scripts may call, and the
/// memory account its instances share unless they have their own. Compile with
/// `compile(source:fileName:)`, then `instantiate(_:limits:memoryLimit:)` the program as often as
/// you like and call the instances' functions; or `run(_:)` a program's top level and
/// `call(_:in:with:)` functions of its one default instance on this VM. Calls of functions that need
/// no task run on the calling thread, from any number of threads at once; runs on the scheduler
/// (functions that spawn tasks or use channels, and `run`) take turns.
public final class VM: @unchecked Sendable {
    public let configuration: VMConfiguration
    /// The globals of a REPL session on this VM (Session.swift); programs' instances have their own.
    let globals = GlobalStore()
    let memory: MemoryAccount
    let stats = VMStats()
    var scheduler: Scheduler?
    let lock = VMMutex(())
    /// Host functions, the runs in progress, the last report (Embedding/Execution.swift).
    let embedding = EmbeddingState()
    /// The limits of `configuration`, as a run's (kept: a call should not copy the configuration).
    let defaultLimits: Limits
    /// This VM's JIT engine: it lowers the programs this VM compiles and keeps their statistics
    /// (JIT/JITEngine.swift); nil when the JIT is off (asked for, or not possible here).
    let jit: (any JITEngine)?

    public init(configuration: VMConfiguration = VMConfiguration()) {
        self.configuration = configuration
        self.memory = MemoryAccount(limit: configuration.memoryLimit)
        self.defaultLimits = Limits(fuel: configuration.fuel, timeLimit: configuration.timeLimit)
        self.jit = configuration.jit && JITSupport.available ? X86JIT() : nil
    }

    deinit { scheduler?.shutdown() }

    /// Compiles a program without running it. Every top-level `let` and `var` is a global of the
    /// program's instances, which the host can read and write (`Instance.global(_:)`).
    /// A program of more than `SourceFile.maxBytes` is a compile error; otherwise compiling takes
    /// time and memory linear in the source, whatever it holds (at most `Diagnostic.limit` errors).
    public func compile(source: String, fileName: String) throws(CompileError) -> CompiledProgram {
        try compile(source: source, fileName: fileName, hostReadableGlobals: true)
    }

    /// `compile(source:fileName:)`; with `hostReadableGlobals` false, top-level variables that no
    /// function uses stay in registers of the top level (faster loops there), for programs the host
    /// only runs (the CLI, `run(source:fileName:)`): the host cannot read those.
    public func compile(source: String, fileName: String, hostReadableGlobals: Bool) throws(CompileError)
        -> CompiledProgram
    {
        try CompileError.checkSize(source, fileName: fileName)
        let file = SourceFile(name: fileName, text: source)
        let (unit, parseErrors) = Parser.parse(file)
        if !parseErrors.isEmpty { throw CompileError(diagnostics: parseErrors) }
        var environment = CheckerEnvironment(allowExtern: configuration.allowForeignFunctions)
        environment.allowFileAccess = configuration.allowFileAccess
        environment.libraryDirectory = SourceFile.directory(of: fileName)
        let hosts = hostFunctionsForCompile()
        environment.hostFunctions = hosts.environment
        var checker = Checker(file: file, environment: environment)
        checker.check(unit)
        if !checker.diagnostics.isEmpty {
            throw CompileError(diagnostics: Diagnostic.capped(checker.diagnostics, file: file))
        }
        // The compiler's interactive mode makes every top-level variable a global (and changes
        // nothing else); the checker stays in its ordinary, non-REPL mode.
        let compiler = Compiler(file: file, layout: GlobalLayout(), interactive: hostReadableGlobals)
        compiler.hostArgumentSlots = hosts.functions.map { Verifier.argumentSlots($0.parameters) }
        let program: Program
        do {
            program = try compiler.compile(unit, functions: checker.functions, externs: checker.externs)
        } catch {
            throw CompileError(diagnostics: error.diagnostics)
        }
        program.jit = jit
        // The compiled code counts against the memory limit for as long as the program lives.
        let bytes = program.functions.reduce(file.bytes.count) { $0 + $1.footprint }
        guard let charge = MemoryCharge(bytes, on: memory) else {
            throw CompileError(diagnostics: [
                Diagnostic(
                    file: file, location: .unknown,
                    message: "out of memory (the compiled program needs \(bytes) bytes beyond the VM's memory limit)")
            ])
        }
        return CompiledProgram(
            program: program, layout: compiler.layout, hostFunctions: hosts.functions,
            mutableGlobals: Set(checker.topLevelOrder.filter(\.isMutable).map(\.name)), warnings: checker.warnings,
            charge: charge)
    }

    /// Compiles and runs a program; returns when its main task ends.
    public func run(source: String, fileName: String) throws(VMError) {
        let program: CompiledProgram
        do {
            program = try compile(source: source, fileName: fileName, hostReadableGlobals: false)
        } catch {
            throw .compile(error)
        }
        try run(program)
    }

    func currentScheduler() -> Scheduler {
        lock.withLock { _ in
            if let s = scheduler { return s }
            // Tasks of a run that ended are unwound, so that what they hold is released.
            let s = Scheduler(
                configuration: SchedulerConfiguration(
                    procs: configuration.procs, quantumNanoseconds: configuration.quantumNanoseconds,
                    asyncPreemption: configuration.asyncPreemption, unwindsStoppedTasks: true,
                    stacklessParkThreshold: configuration.stacklessParkThreshold))
            scheduler = s
            return s
        }
    }

    /// Runs a compiled program's top level (its main task) on this VM's scheduler, from fresh
    /// globals; returns when the main task ends. Tasks it spawned and left running are stopped.
    /// Throws what stopped it: a runtime error, a limit, a deadlock or a cancellation. The program's
    /// default instance on this VM (the one `call(_:in:with:)` uses) is this run's afterwards.
    public func run(_ compiled: CompiledProgram) throws(VMError) {
        try runTopLevel(compiled, control: RunControl())
    }

    /// What the last run or call made with `run` or `call(_:in:with:)` used (nil before the first).
    public var lastRun: RunReport? { embedding.state.withLock { $0.lastReport } }

    /// Stops the current run or call from any thread; it throws `.cancelled(reason)`. No effect
    /// when nothing runs (a later run is not affected).
    public func cancel(reason: String = "cancelled by the host") {
        cancelCurrentRun(reason: reason)
    }

    /// Whether kernels run as native code: asked for, and possible on this CPU (AVX2 + FMA).
    public var usesJIT: Bool { jit != nil }

    /// The scheduler's and the VM's counters as `key=value` pairs.
    public var statistics: String {
        var parts: [String] = []
        if let s = lock.withLock({ _ in scheduler }) { parts.append(s.stats.description) }
        parts.append("vm.tasks.spawned=\(stats.tasksSpawned.load(ordering: .relaxed))")
        parts.append("vm.tasks.recycled=\(stats.tasksRecycled.load(ordering: .relaxed))")
        parts.append("memory.peak=\(memory.peak.load(ordering: .relaxed))")
        parts.append("jit=\(usesJIT ? "on" : "off")")
        // The mode in words: what runs kernels, and how tasks are preempted (docs: Platforms.md).
        let why = !configuration.jit && JITSupport.compiledIn ? "--no-jit" : JITSupport.unavailableReason
        parts.append("mode=\(usesJIT ? "native-kernels" : "interpreter(\(why ?? "off"))")")
        let async = configuration.asyncPreemption && AsyncPreemption.isSupported
        parts.append(
            "preemption="
                + (async
                    ? "async+cooperative"
                    : "cooperative(\(AsyncPreemption.isSupported ? "--no-async-preempt" : "async-compiled-out"))"))
        if let jit {
            let j = jit.statistics
            // Compiled by this VM (a program's kernels are freed with it, often before --stats
            // prints); the bytes are those of the live ones.
            parts.append("jit.kernels=\(j.kernelsCompiled)")
            parts.append("jit.bytes=\(j.kernelBytes)")
            parts.append("jit.fallbacks=\(j.kernelFallbacks.count)")
            // The kernels' instruction set, and the kernels asked for at 512 bits that kept AVX2 code
            // (why, as words joined by '-', no spaces inside the value).
            parts.append("jit.isa=\(j.kernelISA.rawValue)")
            if j.kernelISA == .avx512 {
                parts.append("jit.avx512.fallbacks=\(j.avx512FallbackCount)")
                let reasons = Set(
                    j.avx512Fallbacks.map {
                        ($0.split(separator: ":").last.map(String.init) ?? $0).split(separator: " ").joined(
                            separator: "-")
                    })
                if !reasons.isEmpty {
                    parts.append("jit.avx512.fallback-reasons=\(reasons.sorted().joined(separator: ","))")
                }
            }
            parts.append("jit.functions=\(j.functions.count)")
            parts.append("jit.functions.interpreted=\(j.interpreted.count)")
            parts.append("jit.functions.partial=\(j.partial.count)")
            // Native functions that run some instructions (kernels, builtins, strings) through the runtime.
            parts.append("jit.functions.steps=\(j.steps.count)")
            // Native functions some of whose integers live in their slots, not in registers.
            parts.append("jit.functions.spilled=\(j.spilled.count)")
            // Native call chains handed to the interpreter, and those whose innermost frame went on
            // as native code (the others finish that call interpreted).
            parts.append("jit.chains.left=\(stats.nativeChainsLeft.load(ordering: .relaxed))")
            parts.append("jit.chains.resumed=\(stats.nativeChainsResumed.load(ordering: .relaxed))")
            if !j.interpreted.isEmpty {
                // Which functions stayed interpreted (no spaces inside the value); why, on lines of
                // their own after the counters, then where partly native ones leave.
                let names = j.interpreted.map { $0.split(separator: ":").first.map(String.init) ?? $0 }
                parts.append("jit.interpreted=\(names.joined(separator: ","))")
            }
            return parts.joined(separator: " ") + j.interpreted.map { "\njit.interpreted: \($0)" }.joined()
                + j.partial.map { "\njit.partial: \($0)" }.joined() + j.steps.map { "\njit.steps: \($0)" }.joined()
                + j.spilled.map { "\njit.spilled: \($0)" }.joined()
        }
        return parts.joined(separator: " ")
    }

    /// Kernels this VM compiled to native code whose programs are still alive, for `vecvm jit-dump`.
    public var nativeKernels: [NativeKernelInfo] {
        (jit?.listing.kernels ?? []).map {
            NativeKernelInfo(
                number: $0.number, elementType: $0.element.name, program: $0.program, machineCode: $0.bytes)
        }
    }

    /// Functions compiled whole to native code, and those left to the interpreter ("name: reason").
    public var nativeFunctions: (compiled: [String], interpreted: [String]) {
        let j = jit?.statistics
        return (j?.functions ?? [], j?.interpreted ?? [])
    }

    /// Native functions that leave for the interpreter at some instructions ("name: leaves for the
    /// interpreter at send, print"): their loops run natively, the rest of such a call interpreted.
    public var partlyNativeFunctions: [String] { jit?.statistics.partial ?? [] }

    /// Native functions that run some instructions through the runtime ("name: runs kernel, print
    /// through the runtime"): kernels, builtins, strings, channels and tasks inside native code.
    public var nativeFunctionSteps: [String] { jit?.statistics.steps ?? [] }

    /// Native functions some of whose integers are kept in their register slots, not in machine
    /// registers ("name: 2 integers kept in their slots (r3, r5)").
    public var nativeFunctionSpills: [String] { jit?.statistics.spilled ?? [] }

    /// The machine code of each function compiled whole, by name (for `vecvm jit-dump`).
    public var nativeFunctionCode: [(name: String, machineCode: [UInt8])] { jit?.listing.functions ?? [] }

    /// Kernels that could not be lowered and run in the interpreter, with the reason.
    public var kernelFallbacks: [String] { jit?.statistics.kernelFallbacks ?? [] }

    /// Kernels asked for at 512 bits that kept their AVX2 code, with the reason.
    public var kernelAVX2Fallbacks: [String] { jit?.statistics.avx512Fallbacks ?? [] }

    /// Stops the scheduler's threads; the VM can still run programs afterwards (a new scheduler starts).
    public func shutdown() {
        let s: Scheduler? = lock.withLock { _ in
            let s = scheduler
            scheduler = nil
            return s
        }
        s?.shutdown()
    }

    /// Prints the bytecode of a program.
    public func disassemble(_ compiled: CompiledProgram) -> String { Disassembler.listing(compiled.program) }
}

/// A compiled program (Wasmtime's Module): code, ready to be instantiated or run any number of
/// times, on the VM that compiled it.
public final class CompiledProgram: @unchecked Sendable {
    // @unchecked: immutable, but for `defaults` (a Mutex).
    let program: Program
    let layout: GlobalLayout
    /// The host functions registered when it was compiled, by the indices its `callHost`s use.
    let hostFunctions: [HostFunction]
    /// What compiles but is probably a mistake (an unused variable, code after a `return`), in source
    /// order; rendered like errors, with `warning:` (Frontend/Warnings.swift).
    public let warnings: [Diagnostic]
    /// Its code's bytes, charged to the compiling VM's memory limit while it lives.
    private let charge: MemoryCharge?
    /// Function name → index (the top level is not callable by name); see `index(ofFunction:)`.
    private let functionIndex: [String: Int]
    private let functionNames: [(name: String, index: Int)]
    /// Per function index, its signature.
    let signatures: [Signature]
    /// Names of the top-level `var`s (the globals the host may set).
    let mutableGlobals: Set<String>
    /// The default instance on each VM that ran or called the program with `VM.run(_:)` or
    /// `VM.call(_:in:with:)` (Calls.swift), at most one per VM (a program is rarely used by more
    /// than one VM: a list is cheaper to search than a dictionary).
    let defaults = VMMutex<[InstanceState]>([])
    /// Held while a default instance is made and its top level runs, so that threads calling the
    /// program for the first time at once run its top level once.
    let defaultsLock = VMMutex(())

    init(
        program: Program, layout: GlobalLayout, hostFunctions: [HostFunction] = [], mutableGlobals: Set<String> = [],
        warnings: [Diagnostic] = [], charge: MemoryCharge? = nil
    ) {
        self.program = program
        self.layout = layout
        self.hostFunctions = hostFunctions
        self.mutableGlobals = mutableGlobals
        self.warnings = warnings
        self.charge = charge
        var index: [String: Int] = [:]
        for f in program.functions.dropFirst() where f.index != 0 { index[f.name] = f.index }
        functionIndex = index
        functionNames = index.map { (name: $0.key, index: $0.value) }
        signatures = program.functions.map(Signature.init)
    }
    public var fileName: String { program.fileName }

    /// The index of function `name`. A few names are compared one by one: a short name is a small
    /// string, compared in two words, where hashing it for the dictionary costs a few hundred
    /// instructions (a good part of a small function's call).
    func index(ofFunction name: String) -> Int? {
        if functionNames.count <= 16 {
            for entry in functionNames where entry.name == name { return entry.index }
            return nil
        }
        return functionIndex[name]
    }

    /// The default instance of this program on `vm`, if it has one.
    func defaultInstance(for vm: VM) -> InstanceState? {
        let id = ObjectIdentifier(vm)
        return defaults.withLock { list in
            for state in list where state.vmID == id && state.vm === vm { return state }
            return nil
        }
    }
}

/// One kernel compiled to native code.
public struct NativeKernelInfo: Sendable {
    public let number: Int
    /// `f32`, `float` or `int`.
    public let elementType: String
    /// The kernel program, one line (`f32 a=2 s=0: v0=load a0; ... -> store v2`).
    public let program: String
    /// The raw x86-64 machine code, data constants included after the code.
    public let machineCode: [UInt8]
}
