// What one instance of a compiled program owns (Wasmtime's Store + Instance): its globals, the
// memory account its arrays are charged to, the function table its tasks run from, and spare
// task states for direct calls. The public `Instance` (Instance.swift) is a handle on it; a
// program's default instance for the older `VM.call(_:in:with:)` is one too (CompiledProgram
// keeps it, per VM), and each REPL input runs as one that shares the session's globals.
//
// Two ways to run a function of an instance (Execution.swift, DirectCall.swift):
// - direct: on the caller's own thread, no scheduler involved — for a function that needs no
//   task (it and everything it calls neither spawns, waits, sleeps, yields nor uses a channel's
//   send, receive or close; `taskNeeds` decides it from the bytecode once per instance);
// - scheduled: as the main task of a run on the VM's scheduler, for everything else.

import Synchronization
import VMRuntime

final class InstanceState: @unchecked Sendable {
    // @unchecked: every stored property is immutable except `pool` and `report` (Mutexes) and the
    // weak references, which are set once at creation.
    let program: Program
    let layout: GlobalLayout
    let hostFunctions: [HostFunction]
    let globals: GlobalStore
    let memory: MemoryAccount
    let stats: VMStats
    let output: OutputSink
    /// The engine whose native code the program runs: the program's (the compiling VM's), unless
    /// this instance's VM has the JIT off; nil: interpret everything (JIT/JITEngine.swift).
    let jit: (any JITEngine)?
    /// The limits of calls that pass none.
    let limits: Limits
    /// `VMConfiguration.maxTasks`, and the program's arguments, input and file access.
    let maxTasks: Int?
    let io: IOEnvironment
    /// A program's instance: the tasks a run leaves running are stopped when it ends. Not
    /// standalone: a REPL input, whose tasks go on into the next input.
    let isStandalone: Bool
    /// Built once (native functions compiled then, when the JIT is on); shared by every run.
    let table: FunctionTable
    /// Per function index: whether it, or a function it calls, needs a VM task.
    let needsTask: [Bool]
    /// Per function index, its .vec signature (read on every call; `Function`'s are class `var`s).
    let signatures: [Signature]
    private let scalarGlobalNames: [Int: String]
    private let objectGlobalNames: [Int: String]
    /// The VM and program it belongs to, for host functions' contexts; weak because a program
    /// keeps its default instances (the caller of a run holds both while it runs).
    weak var vm: VM?
    weak var compiled: CompiledProgram?
    /// The VM's identity, compared before the (costlier) weak reference.
    let vmID: ObjectIdentifier
    /// Whether the top level ran to its end (a program's default instance reruns it otherwise).
    let topLevelCompleted = Atomic<Bool>(false)
    /// A task state and context of a finished direct call, for the next one (an unmanaged +1
    /// reference; one atomic exchange takes it), and a few more for calls from several threads.
    private let spare = Atomic<UnsafeMutableRawPointer?>(nil)
    private let pool = VMMutex<[DirectFrame]>([])
    /// What the last run or call on this instance used.
    let report = VMMutex<RunReport?>(nil)

    init(
        program: Program, layout: GlobalLayout, hostFunctions: [HostFunction], globals: GlobalStore,
        memory: MemoryAccount, limits: Limits, vm: VM, compiled: CompiledProgram?, isStandalone: Bool
    ) {
        self.limits = limits
        self.program = program
        self.layout = layout
        self.hostFunctions = hostFunctions
        self.globals = globals
        self.memory = memory
        self.stats = vm.stats
        self.output = vm.configuration.output
        self.jit = vm.jit == nil ? nil : program.jit
        self.maxTasks = vm.configuration.maxTasks
        self.io = IOEnvironment(
            arguments: vm.configuration.arguments, input: vm.configuration.input,
            fileAccess: vm.configuration.allowFileAccess)
        self.isStandalone = isStandalone
        self.vm = vm
        self.vmID = ObjectIdentifier(vm)
        self.compiled = compiled
        table = FunctionTable(program.functions, externs: program.externs, jit: jit)
        needsTask = Self.taskNeeds(program.functions)
        signatures = program.functions.map(Signature.init)
        var scalars: [Int: String] = [:]
        var objects: [Int: String] = [:]
        for g in layout.globals {
            if g.type.storage == .reference { objects[g.slot] = g.name } else { scalars[g.slot] = g.name }
        }
        scalarGlobalNames = scalars
        objectGlobalNames = objects
    }

    /// A context for one run: the instance's globals, memory and host functions; fuel as given.
    /// `directStop` is the stop word of a direct call (nil for a run on the scheduler).
    func makeContext(
        fuel: Int?, directStop: UnsafeMutablePointer<UInt32>?, taskStates: TaskStatePool? = nil
    ) -> ExecutionContext {
        let ctx = ExecutionContext(
            globals: globals, output: output, memory: memory, fileName: program.fileName, stats: stats,
            jit: jit, taskStates: taskStates)
        ctx.fuel = fuel.map { FuelTank(budget: max(0, $0)) }
        ctx.hostFunctions = hostFunctions
        ctx.scalarGlobalNames = scalarGlobalNames
        ctx.objectGlobalNames = objectGlobalNames
        ctx.directStop = directStop
        ctx.instance = self
        ctx.maxTasks = maxTasks
        ctx.io = io
        return ctx
    }

    // MARK: - Direct-call frames

    /// A task state, context and run control a direct call runs with; pooled so that a call
    /// allocates none of them. The VM lists every frame (weakly) for `VM.cancel`, which stops the
    /// active ones.
    final class DirectFrame: @unchecked Sendable {
        // @unchecked: a frame is used by one call at a time: taken from the pool, used, given back;
        // `control` and `active` are what other threads touch, and they synchronize themselves.
        let state: TaskState
        let ctx: ExecutionContext
        let control: RunControl
        /// Whether a call is running on the frame (VM.cancel and Instance.cancel stop only those).
        let active = Atomic<Bool>(false)
        init(state: TaskState, ctx: ExecutionContext, control: RunControl) {
            self.state = state
            self.ctx = ctx
            self.control = control
        }
    }

    func takeDirectFrame(function index: Int, vm: VM) throws(VMError) -> DirectFrame {
        if let p = spare.exchange(nil, ordering: .acquiring) {
            return Unmanaged<DirectFrame>.fromOpaque(p).takeRetainedValue()
        }
        if let frame = pool.withLock({ $0.popLast() }) { return frame }
        // Charged to the instance's memory like a task's state (not counted as a task), for as long
        // as the pool keeps it.
        let state: TaskState
        do {
            state = try TaskState(
                table: table, task: VMTask(id: 0, functionName: program.functions[index].name),
                initialSlots: table.entries[index].frameSize, account: memory)
        } catch {
            throw .memoryLimit(
                RuntimeError(
                    message: error.message, fileName: program.fileName, location: program.functions[index].location,
                    taskID: 0, taskName: program.functions[index].name))
        }
        let frame = DirectFrame(
            state: state, ctx: makeContext(fuel: nil, directStop: nil), control: RunControl(owner: self))
        vm.registerDirectFrame(frame)
        return frame
    }

    /// Takes back a frame whose call returned normally (its frames are popped, its registers hold no
    /// references but the result's, which the caller has cleared).
    func returnDirectFrame(_ frame: DirectFrame) {
        // The context keeps its last fuel tank and stop word until the next call sets both (class
        // properties cost an exclusivity check per write).
        let p = Unmanaged.passRetained(frame).toOpaque()
        if spare.compareExchange(expected: nil, desired: p, ordering: .releasing).exchanged { return }
        Unmanaged<DirectFrame>.fromOpaque(p).release()
        pool.withLock { if $0.count < 4 { $0.append(frame) } }
    }

    deinit {
        if let p = spare.exchange(nil, ordering: .acquiring) { Unmanaged<DirectFrame>.fromOpaque(p).release() }
    }

    // MARK: - Which functions need a task

    /// For each function, whether running it may need a VM task: it uses a task instruction, or
    /// calls (transitively) a function that does. `spawn` needs one itself, so the functions a
    /// task runs are not followed.
    static func taskNeeds(_ functions: [Function]) -> [Bool] {
        var needs = [Bool](repeating: false, count: functions.count)
        var callers = [[Int]](repeating: [], count: functions.count)
        for (i, f) in functions.enumerated() {
            for ins in f.instructions {
                guard let op = Opcode(rawValue: UInt8(truncatingIfNeeded: ins.word)) else { continue }
                if op.needsTask { needs[i] = true }
                if op == .call {
                    let callee = Int(truncatingIfNeeded: ins.word >> 32)
                    if callee >= 0 && callee < functions.count { callers[callee].append(i) }
                }
            }
        }
        var work = needs.indices.filter { needs[$0] }
        while let callee = work.popLast() {
            for caller in callers[callee] where !needs[caller] {
                needs[caller] = true
                work.append(caller)
            }
        }
        return needs
    }
}

/// A function's parameter and result types, copied out of the `Function` once.
struct Signature {
    let parameters: [VType]
    let result: VType
    let name: String

    init(_ f: Function) {
        parameters = f.parameterTypes
        result = f.resultType
        name = f.name
    }
}

extension Opcode {
    /// Whether the instruction needs to run in a VM task (it parks, yields or wakes tasks: the
    /// opcode table's `task:` column). A `kernel` does not: a large one runs its chunks as tasks only
    /// where it has a scheduler (KernelRunner; a direct call has procs 1). `io` does not: `read_line`
    /// waits on the host's thread in a direct call (IOBuiltins.waitForInput). `makeChan` and `now`
    /// touch no scheduler.
    var needsTask: Bool { info.needsTask }
}
