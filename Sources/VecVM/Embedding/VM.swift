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
    /// Bytes of array memory the program may hold at once.
    public var memoryLimit: Int
    /// Whether `extern fn` declarations may bind C functions (off by default: scripts stay sandboxed).
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

    public init(
        procs: Int? = nil, quantumNanoseconds: Int64 = 10_000_000, jit: Bool = true, asyncPreemption: Bool = true,
        output: OutputSink = StandardOutput(), memoryLimit: Int? = nil, allowForeignFunctions: Bool = false,
        fuel: Int? = nil, timeLimit: Duration? = nil, arguments: [String] = [],
        input: any InputSource = NoInput(), allowFileAccess: Bool = false
    ) {
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
    let tasksSpawned = Atomic<Int>(0)
    let kernelsRun = Atomic<Int>(0)
}

/// A reason passed to Scheduler.cancel.
final class CancelReason {
    let text: String
    init(_ text: String) { self.text = text }
}

/// A virtual machine: a scheduler for the tasks of the program it runs, that program's globals,
/// the host functions scripts may call, and the limits of `VMConfiguration`. Compile with
/// `compile(source:fileName:)`, then `run(_:)` a program or `call(_:in:with:)` its functions (both
/// also `async`). One run at a time: calls from several threads take turns.
public final class VM: @unchecked Sendable {
    public let configuration: VMConfiguration
    let globals = GlobalStore()
    let memory: MemoryAccount
    let stats = VMStats()
    var scheduler: Scheduler?
    let lock = Mutex(())
    /// Host functions, the run in progress, who owns the globals (Embedding/Execution.swift).
    let embedding = EmbeddingState()

    public init(configuration: VMConfiguration = VMConfiguration()) {
        self.configuration = configuration
        self.memory = MemoryAccount(limit: configuration.memoryLimit)
    }

    deinit { scheduler?.shutdown() }

    /// Compiles a program without running it.
    public func compile(source: String, fileName: String) throws(CompileError) -> CompiledProgram {
        let file = SourceFile(name: fileName, text: source)
        let (unit, parseErrors) = Parser.parse(file)
        if !parseErrors.isEmpty { throw CompileError(diagnostics: parseErrors) }
        var environment = CheckerEnvironment(allowExtern: configuration.allowForeignFunctions)
        environment.allowFileAccess = configuration.allowFileAccess
        let hosts = hostFunctionsForCompile()
        environment.hostFunctions = hosts.environment
        var checker = Checker(file: file, environment: environment)
        checker.check(unit)
        if !checker.diagnostics.isEmpty {
            throw CompileError(
                diagnostics: checker.diagnostics.sorted {
                    ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
                })
        }
        let compiler = Compiler(file: file, layout: GlobalLayout(), interactive: false)
        do {
            let program = try compiler.compile(unit, functions: checker.functions, externs: checker.externs)
            return CompiledProgram(
                program: program, layout: compiler.layout, hostFunctions: hosts.functions, isStandalone: true,
                warnings: checker.warnings)
        } catch {
            throw CompileError(diagnostics: error.diagnostics)
        }
    }

    /// Compiles and runs a program; returns when its main task ends.
    public func run(source: String, fileName: String) throws(VMError) {
        let program: CompiledProgram
        do {
            program = try compile(source: source, fileName: fileName)
        } catch {
            throw .compile(error)
        }
        try run(program)
    }

    func currentScheduler() -> Scheduler {
        lock.withLock { _ in
            if let s = scheduler { return s }
            let s = Scheduler(
                configuration: SchedulerConfiguration(
                    procs: configuration.procs, quantumNanoseconds: configuration.quantumNanoseconds,
                    asyncPreemption: configuration.asyncPreemption))
            scheduler = s
            return s
        }
    }

    /// Runs a compiled program's top level (its main task) on this VM's scheduler, from fresh
    /// globals; returns when the main task ends. Tasks it spawned and left running are stopped.
    /// Throws what stopped it: a runtime error, a limit, a deadlock or a cancellation.
    public func run(_ compiled: CompiledProgram) throws(VMError) {
        try runTopLevel(compiled, control: RunControl())
    }

    /// Stops the current run or call from any thread; it throws `.cancelled(reason)`. No effect
    /// when nothing runs (a later run is not affected).
    public func cancel(reason: String = "cancelled by the host") {
        cancelCurrentRun(reason: reason)
    }

    /// Whether kernels run as native code: asked for, and possible on this CPU (AVX2 + FMA).
    public var usesJIT: Bool { configuration.jit && JITSupport.available }

    /// The scheduler's and the VM's counters as `key=value` pairs.
    public var statistics: String {
        var parts: [String] = []
        if let s = lock.withLock({ _ in scheduler }) { parts.append(s.stats.description) }
        parts.append("vm.tasks.spawned=\(stats.tasksSpawned.load(ordering: .relaxed))")
        parts.append("memory.peak=\(memory.peak.load(ordering: .relaxed))")
        parts.append("jit=\(usesJIT ? "on" : "off")")
        if usesJIT {
            parts.append("jit.kernels=\(JITCache.shared.compiled.count)")
            parts.append("jit.bytes=\(JITCache.shared.codeBytes)")
            parts.append("jit.fallbacks=\(JITCache.shared.fallbacks.count)")
            parts.append("jit.functions=\(NativeFunctions.shared.compiledNames.count)")
            let interpreted = NativeFunctions.shared.interpreted
            parts.append("jit.functions.interpreted=\(interpreted.count)")
            if !interpreted.isEmpty {
                // Which functions stayed interpreted, and why (no spaces inside the value).
                let names = interpreted.map { $0.split(separator: ":").first.map(String.init) ?? $0 }
                parts.append("jit.interpreted=\(names.joined(separator: ","))")
            }
        }
        return parts.joined(separator: " ")
    }

    /// Kernels compiled to native code so far (in this process), for `vecvm jit-dump`.
    public var nativeKernels: [NativeKernelInfo] {
        JITCache.shared.compiled.map {
            NativeKernelInfo(
                number: $0.number, elementType: $0.element.name, program: $0.program, machineCode: $0.bytes)
        }
    }

    /// Functions compiled whole to native code, and those left to the interpreter ("name: reason").
    public var nativeFunctions: (compiled: [String], interpreted: [String]) {
        (NativeFunctions.shared.compiledNames, NativeFunctions.shared.interpreted)
    }

    /// The machine code of each function compiled whole, by name (for `vecvm jit-dump`).
    public var nativeFunctionCode: [(name: String, machineCode: [UInt8])] {
        NativeFunctions.shared.machineCode.map { (name: $0.0, machineCode: $0.1) }
    }

    /// Kernels that could not be lowered and run in the interpreter, with the reason.
    public var kernelFallbacks: [String] { JITCache.shared.fallbacks }

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

/// A compiled program, ready to run (any number of times).
public final class CompiledProgram: @unchecked Sendable {
    let program: Program
    let layout: GlobalLayout
    /// The host functions registered when it was compiled, by the indices its `callHost`s use.
    let hostFunctions: [HostFunction]
    /// Compiled by `VM.compile`: it owns the VM's globals while it runs (Embedding/Execution.swift).
    let isStandalone: Bool
    /// What compiles but is probably a mistake (an unused variable, code after a `return`), in source
    /// order; rendered like errors, with `warning:` (Frontend/Warnings.swift).
    public let warnings: [Diagnostic]
    init(
        program: Program, layout: GlobalLayout, hostFunctions: [HostFunction] = [], isStandalone: Bool = false,
        warnings: [Diagnostic] = []
    ) {
        self.program = program
        self.layout = layout
        self.hostFunctions = hostFunctions
        self.isStandalone = isStandalone
        self.warnings = warnings
    }
    public var fileName: String { program.fileName }
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
