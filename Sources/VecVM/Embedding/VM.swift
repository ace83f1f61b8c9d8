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

    public init(procs: Int? = nil, quantumNanoseconds: Int64 = 10_000_000, jit: Bool = true, asyncPreemption: Bool = true,
                output: OutputSink = StandardOutput(), memoryLimit: Int? = nil, allowForeignFunctions: Bool = false) {
        self.procs = max(1, procs ?? VMConfiguration.cpuCount)
        self.quantumNanoseconds = quantumNanoseconds
        self.jit = jit
        self.asyncPreemption = asyncPreemption
        self.output = output
        self.memoryLimit = memoryLimit ?? MemoryAccount.defaultLimit
        self.allowForeignFunctions = allowForeignFunctions
    }

    public static var cpuCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// Everything that can stop a run.
public enum VMError: Error, Sendable, CustomStringConvertible {
    case compile(CompileError)
    case runtime(RuntimeError)
    /// Every task is blocked and no timer is pending.
    case deadlock
    /// `VM.cancel` was called, or a limit stopped the run.
    case cancelled(String)

    public var description: String {
        switch self {
        case .compile(let e): e.description
        case .runtime(let e): e.description
        case .deadlock: "deadlock: all tasks are blocked"
        case .cancelled(let why): "cancelled: \(why)"
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

public final class VM: @unchecked Sendable {
    public let configuration: VMConfiguration
    let globals = GlobalStore()
    let memory: MemoryAccount
    let stats = VMStats()
    var scheduler: Scheduler?
    let lock = Mutex(())

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
        var checker = Checker(file: file, environment: CheckerEnvironment(allowExtern: configuration.allowForeignFunctions))
        checker.check(unit)
        if !checker.diagnostics.isEmpty {
            throw CompileError(diagnostics: checker.diagnostics.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) })
        }
        let compiler = Compiler(file: file, layout: GlobalLayout(), interactive: false)
        do {
            let program = try compiler.compile(unit, functions: checker.functions, externs: checker.externs)
            return CompiledProgram(program: program, layout: compiler.layout)
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
            let s = Scheduler(configuration: SchedulerConfiguration(procs: configuration.procs, quantumNanoseconds: configuration.quantumNanoseconds))
            scheduler = s
            return s
        }
    }

    /// Runs a compiled program's main task on this VM's scheduler.
    public func run(_ compiled: CompiledProgram) throws(VMError) {
        let program = compiled.program
        let ctx = ExecutionContext(globals: globals, output: configuration.output, memory: memory, fileName: program.fileName,
                                   stats: stats, kernels: usesJIT ? JITKernels() : NoNativeKernels())
        for g in compiled.layout.globals {
            if g.type.storage == .reference { ctx.objectGlobalNames[g.slot] = g.name } else { ctx.scalarGlobalNames[g.slot] = g.name }
        }
        let table = FunctionTable(program.functions, externs: program.externs)
        let task = VMTask(id: 1, functionName: "main")
        let state = TaskState(table: table, task: task, initialSlots: table.entries[0].frameSize)
        _ = state.pushFrame(Frame(function: 0, pc: 0, base: 0))
        let outcome = currentScheduler().run {
            task.id = Scheduler.current.id
            TaskRunner.run(state, ctx)
        }
        configuration.output.flush()
        switch outcome {
        case .completed: return
        case .deadlock: throw .deadlock
        case .terminated(let reason):
            if let box = reason as? RuntimeErrorBox { throw .runtime(box.error) }
            if let c = reason as? CancelReason { throw .cancelled(c.text) }
            throw .cancelled(String(describing: reason))
        }
    }

    /// Stops the current run from any thread; `run` throws `.cancelled(reason)`.
    public func cancel(reason: String = "cancelled by the host") {
        lock.withLock { _ in scheduler }?.cancel(CancelReason(reason))
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
        }
        return parts.joined(separator: " ")
    }

    /// Kernels compiled to native code so far (in this process), for `vecvm jit-dump`.
    public var nativeKernels: [NativeKernelInfo] {
        JITCache.shared.compiled.map {
            NativeKernelInfo(number: $0.number, elementType: $0.element.name, program: $0.program, machineCode: $0.bytes)
        }
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
    init(program: Program, layout: GlobalLayout) {
        self.program = program
        self.layout = layout
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
