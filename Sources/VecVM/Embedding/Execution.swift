// How the embedding API runs code. A run is one function of an instance (0: its top level) under
// limits (fuel, a time limit; the memory cap is the instance's account), cancellable from any
// thread; afterwards the typed VMError says what stopped it and the instance's report says what it
// used. A run goes one of two ways (InstanceState.swift says which functions can go which way):
//
// - direct (DirectCall.swift): on the calling thread, no scheduler, for functions that need no
//   task. This is what makes a call of a small function cost well under a microsecond.
// - scheduled (here): as the main task of a run on the VM's scheduler; the calling thread waits.
//   One scheduled run at a time per VM (`EmbeddingState.runLock`); never from inside a VM task.
//
// Rules this file keeps:
// - Tasks a program's run spawned and left running are stopped when it ends (the language's
//   "abandoned"): the scheduler unwinds them, which releases what they hold; the next run first
//   waits for that. A REPL input's tasks go on.
// - A cancellation names its run (RunControl): a late timer or `cancel` never hits the next run.
// - From inside a VM task (a host function called by a task), only direct runs are possible:
//   they nest on that task's thread.

import CJITStubs
import Synchronization
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the embedding layer keeps per VM (one stored property of VM).
final class EmbeddingState: Sendable {
    struct Locked {
        /// Every host function registered, in registration order; a program keeps the list it was
        /// compiled against (a later registration of the same name appends, never replaces).
        var hostFunctions: [HostFunction] = []
        /// The newest registration of each name: index into `hostFunctions`.
        var hostFunctionIndex: [String: Int] = [:]
        /// The scheduled run in progress, if the embedding layer started it.
        var activeRun: RunControl?
        /// Direct runs in progress on any thread with a control of their own (async calls).
        var directRuns: [RunControl] = []
        /// Every direct-call frame of this VM's instances (DirectCall.swift), for `VM.cancel`.
        var directFrames: [WeakFrame] = []
        /// What the last run or call made through the VM's own methods used.
        var lastReport: RunReport?
    }

    let state = VMMutex(Locked())
    /// Held for the whole of a scheduled run, so that runs from several threads take turns.
    let runLock = VMMutex(())
}

struct WeakFrame {
    weak var frame: InstanceState.DirectFrame?
}

/// What one run or call used.
public struct RunReport: Sendable, Equatable {
    /// Fuel (loop iterations and calls) the run spent, or nil when it ran without a fuel budget
    /// (nothing is counted then). Exact when the run ended normally; a run stopped by an error
    /// may count up to 10,000 more per task (what the task had drawn from the budget).
    public let fuelUsed: Int?
    /// The fuel budget the run had (nil: none).
    public let fuelBudget: Int?
    /// Whether it ran on the calling thread (a direct call) rather than on the VM's scheduler.
    public let ranOnCallingThread: Bool
}

/// One run or call: what may stop it, and why it was stopped.
final class RunControl: @unchecked Sendable {
    // @unchecked: `stopWord` is written only atomically (vm_store_u32) and freed in deinit.
    enum Stop: Sendable {
        case host(String)
        case timeLimit(Duration)
    }

    /// A direct call's stop word (ExecutionContext.directStop), which is also the request's state:
    /// 0 no stop requested; 1 a request is writing `reason`; 2 `reason` is set for good. The
    /// interpreter stops at any nonzero value.
    let stopWord: UnsafeMutablePointer<UInt32>
    /// Written once, by the request that moved the stop word from 0 to 1, before it stores 2. Boxed:
    /// a Duration inline would make every RunControl 16-byte aligned, which malloc serves slower.
    nonisolated(unsafe) private var reason: StopBox?
    private final class StopBox {
        let stop: Stop
        init(_ stop: Stop) { self.stop = stop }
    }
    /// The instance it runs code of (for `Instance.cancel`); nil for runs of no instance. Weak: an
    /// instance's pooled frames hold their controls.
    weak var owner: InstanceState?

    init(owner: InstanceState? = nil) {
        self.owner = owner
        stopWord = .allocate(capacity: 1)
        stopWord.initialize(to: 0)
    }

    deinit { stopWord.deallocate() }

    /// Records why the run must stop and raises the stop word; the first request wins.
    func request(_ why: Stop) {
        guard vm_cas_u32(stopWord, 0, 1) else { return }
        reason = StopBox(why)
        vm_store_u32(stopWord, 2)
    }

    /// Clears a stop requested while no call ran on the control (a frame's own control, reused by
    /// call after call; nothing else can reach it between calls but `VM.cancel`).
    func reset() {
        var phase = vm_load_u32(stopWord)
        while phase != 0 {
            // Phase 2 is this control's for good: nobody else writes `reason` then.
            if phase == 2 {
                reason = nil
                if vm_cas_u32(stopWord, 2, 0) { return }
            }
            phase = vm_load_u32(stopWord)  // 1: a request is writing its reason
        }
    }

    /// Why the run must stop, if a stop was requested. A request still writing its reason is
    /// waited for (a few instructions), so that whoever saw the stop word also sees a reason.
    var requested: Stop? {
        var phase = vm_load_u32(stopWord)
        while phase == 1 { phase = vm_load_u32(stopWord) }
        return phase == 2 ? reason?.stop : nil
    }

    /// The reason object handed to the scheduler.
    func reasonObject() -> CancelReason {
        switch requested {
        case .host(let text): CancelReason(text)
        case .timeLimit: CancelReason("time limit exceeded")
        case nil: CancelReason("cancelled")
        }
    }

    var error: VMError? {
        switch requested {
        case .host(let text): .cancelled(text)
        case .timeLimit(let limit): .timeLimit(limit)
        case nil: nil
        }
    }
}

/// Set by the main task when it starts: a run that ends without it started reports the failure of
/// a task left from an earlier run (the scheduler reports it at the next run and skips that run).
private final class StartFlag: Sendable {
    let started = Atomic<Bool>(false)
}

extension VM {
    // MARK: - Choosing the way

    /// Runs function `index` of `instance` (0: the top level) with `arguments` (already checked
    /// against its parameter types), directly when it needs no task, else on the scheduler.
    func runFunction(
        _ instance: InstanceState, _ index: Int, _ arguments: [Value], limits: Limits, control: RunControl?,
        reportToVM: Bool = false
    ) throws(VMError) -> Value {
        if !instance.needsTask[index] {
            return try runDirect(instance, index, arguments, limits: limits, control: control, reportToVM: reportToVM)
        }
        if vm_current_m() != nil {
            let name = index == 0 ? "the top level" : "'\(instance.program.functions[index].name)'"
            throw .invalidCall(
                "\(name) spawns tasks or uses channels, which a call from inside a VM task (a host function) cannot do"
            )
        }
        return try runScheduled(
            instance, index, arguments, limits: limits, control: control ?? RunControl(owner: instance),
            reportToVM: reportToVM)
    }

    /// The arguments of a call of `name`, checked (and its result type, when `result` is given);
    /// returns the function's index.
    func checkCall(_ name: String, in compiled: CompiledProgram, _ arguments: [Value], result: ValueType? = nil)
        throws(VMError) -> Int
    {
        guard let index = compiled.index(ofFunction: name) else {
            throw .invalidCall("the program \(compiled.fileName) has no function '\(name)'")
        }
        let function = compiled.signatures[index]
        let parameters = function.parameters
        guard arguments.count == parameters.count else {
            throw .invalidCall(
                "'\(name)' takes \(parameters.count) argument\(parameters.count == 1 ? "" : "s"), not \(arguments.count)"
            )
        }
        for i in 0..<arguments.count where !arguments[i].matches(parameters[i]) {
            throw .invalidCall(
                "argument \(i + 1) of '\(name)' must be \(parameters[i].withArticle), not \(arguments[i].type.vType.withArticle)"
            )
        }
        if let result, function.result != result.vType {
            throw .invalidCall(
                "'\(name)' returns \(function.result == .void ? "no value" : function.result.withArticle), not \(result.vType.withArticle)"
            )
        }
        return index
    }

    /// Scheduled runs block their thread until the scheduler's tasks finish: never from a task.
    func ensureNotInTask() throws(VMError) {
        if vm_current_m() != nil {
            throw .invalidCall("a VM cannot run a program from inside a VM task (a host function, for one)")
        }
    }

    // MARK: - Scheduled runs

    /// One run of function `index` as the main task of a run on the VM's scheduler.
    func runScheduled(
        _ instance: InstanceState, _ index: Int, _ arguments: [Value], limits: Limits, control: RunControl,
        reportToVM: Bool = false
    ) throws(VMError) -> Value {
        try ensureNotInTask()
        return try embedding.runLock.withLock { _ throws(VMError) -> Value in
            let ctx = instance.makeContext(
                fuel: limits.fuel, directStop: nil,
                taskStates: TaskStatePool(procs: configuration.procs, table: instance.table))
            // The references to the context that the run's finished tasks left with its pool
            // (TaskStatePool.retire); `ctx` holds one of its own meanwhile.
            defer {
                if let n = ctx.taskStates?.retire() { for _ in 0..<n { Unmanaged.passUnretained(ctx).release() } }
            }
            // Large kernels may run their chunks as tasks on every P (KernelRunner); a direct call,
            // which has no scheduler, runs them one after the other (procs 1).
            ctx.procs = configuration.procs
            defer {
                let report = RunReport(
                    fuelUsed: ctx.fuel?.used, fuelBudget: ctx.fuel?.budget, ranOnCallingThread: false)
                instance.report.withLock { $0 = report }
                if reportToVM { embedding.state.withLock { $0.lastReport = report } }
            }
            let task = try execute(
                instance, ctx, function: index, arguments: arguments, limits: limits, control: control)
            if index == 0 { instance.topLevelCompleted.store(true, ordering: .releasing) }
            return Value(result: task, type: instance.program.functions[index].resultType)
        }
    }

    /// The scheduled run itself; runLock held; returns the finished main task (its result is in
    /// `result`/`resultObject`).
    private func execute(
        _ instance: InstanceState, _ ctx: ExecutionContext, function index: Int, arguments: [Value], limits: Limits,
        control: RunControl
    ) throws(VMError) -> VMTask {
        let scheduler = currentScheduler()
        // Tasks an earlier run left are stopped by now, but may still be unwinding: let them
        // finish, so that the memory they held is back before this run counts it.
        scheduler.waitForStoppedTasks()

        // Registered before the run starts, so that a cancel from now on finds it (see `stop`).
        try embedding.state.withLock { s throws(VMError) in
            if let e = control.error { throw e }
            s.activeRun = control
        }
        defer { embedding.state.withLock { s in if s.activeRun === control { s.activeRun = nil } } }
        let timer = limits.timeLimit.map { limit in
            Deadlines.shared.arm(after: limit) { [weak self] in self?.stop(control, .timeLimit(limit)) }
        }
        defer { if let timer { Deadlines.shared.disarm(timer) } }

        // A task left from an earlier run may fail between runs; the scheduler then reports that
        // failure instead of starting this run. Retry: the failure ended those tasks.
        for _ in 0..<4 {
            let table = instance.table
            let function = instance.program.functions[index]
            let task = VMTask(id: 1, functionName: index == 0 ? "main" : function.name)
            let state: TaskState
            do {
                state = try TaskState(
                    table: table, task: task, initialSlots: table.entries[index].frameSize,
                    account: instance.memory, maxTasks: configuration.maxTasks)
            } catch {
                let e = RuntimeError(
                    message: error.message, fileName: instance.program.fileName, location: function.location, taskID: 1,
                    taskName: task.functionName)
                throw error.message.hasPrefix("out of memory") ? .memoryLimit(e) : .runtime(e)
            }
            var slot = 0
            for (value, type) in zip(arguments, function.parameterTypes) {
                value.store(into: state.registers, state.objects, at: slot)
                slot += max(1, type.storage.slots)
            }
            _ = state.pushFrame(Frame(function: index, pc: 0, base: 0))
            let started = StartFlag()
            let outcome = withExtendedLifetime(arguments) {
                scheduler.run {
                    started.started.store(true, ordering: .releasing)
                    // A stop requested before the run became active would otherwise be lost.
                    let me = Scheduler.current
                    task.handle = me
                    task.standFor(id: me.id)
                    if control.requested != nil {
                        Scheduler.endRun(control.reasonObject())
                        return
                    }
                    TaskRunner.run(state, ctx)
                }
            }
            configuration.output.flush()
            switch outcome {
            case .completed:
                if instance.isStandalone { scheduler.cancel(CancelReason("the run ended")) }
                return task
            case .deadlock:
                if instance.isStandalone { scheduler.cancel(CancelReason("the run ended")) }
                throw .deadlock
            case .terminated(let reason):
                if let box = reason as? RuntimeErrorBox {
                    if !started.started.load(ordering: .acquiring) { continue }
                    throw Self.classify(box.error, fuel: ctx.fuel)
                }
                if let e = control.error { throw e }
                if let c = reason as? CancelReason { throw .cancelled(c.text) }
                if reason is TaskStacksExhausted {
                    throw .memoryLimit(
                        RuntimeError(
                            message: "out of memory (the system refused memory for the stack of a new task)",
                            fileName: instance.program.fileName, location: .unknown, taskID: 0, taskName: "spawn"))
                }
                throw .cancelled(String(describing: reason))
            }
        }
        throw .cancelled("tasks of earlier runs kept failing")
    }

    /// A runtime error as the VMError case that says what stopped the run.
    static func classify(_ e: RuntimeError, fuel: FuelTank?) -> VMError {
        if fuel != nil && e.message.hasPrefix("fuel exhausted") { return .fuelExhausted(e) }
        if e.message.hasPrefix("out of memory") { return .memoryLimit(e) }
        return .runtime(e)
    }

    // MARK: - Stopping

    /// Stops the run of `control` (now, or as soon as it starts); no effect once it has ended.
    func stop(_ control: RunControl, _ why: RunControl.Stop) {
        control.request(why)
        // Under the state lock: the run cannot end (and the next begin) between the check and the
        // cancel, so the cancel never reaches another run.
        embedding.state.withLock { s in
            if s.activeRun === control { lock.withLock { _ in scheduler }?.cancel(control.reasonObject()) }
        }
    }

    /// `cancel(reason:)`: every run of this VM in progress (the scheduled one and direct calls on any
    /// thread), else whatever runs on the scheduler.
    func cancelCurrentRun(reason: String) {
        let handled = embedding.state.withLock { s -> Bool in
            var any = false
            for control in s.directRuns {
                control.request(.host(reason))
                any = true
            }
            for weak in s.directFrames {
                guard let frame = weak.frame, frame.active.load(ordering: .sequentiallyConsistent) else { continue }
                frame.control.request(.host(reason))
                any = true
            }
            guard let control = s.activeRun else { return any }
            control.request(.host(reason))
            lock.withLock { _ in scheduler }?.cancel(control.reasonObject())
            return true
        }
        if !handled { lock.withLock { _ in scheduler }?.cancel(CancelReason(reason)) }
    }
}

extension VM {
    /// Lists a new direct-call frame (and forgets those that are gone).
    func registerDirectFrame(_ frame: InstanceState.DirectFrame) {
        embedding.state.withLock { s in
            s.directFrames.removeAll { $0.frame == nil }
            s.directFrames.append(WeakFrame(frame: frame))
        }
    }
}

// MARK: - Threads

/// A closure to run on a new thread.
private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Runs `body` on a new detached OS thread (not a VM task, not a Swift concurrency thread).
func startDetachedThread(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    #if canImport(Darwin)
        var thread: pthread_t?
    #else
        var thread = pthread_t()
    #endif
    let rc = pthread_create(
        &thread, &attributes,
        { arg in
            #if canImport(Darwin)
                Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue().body()
            #else
                Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().body()
            #endif
            return nil
        }, box)
    if rc != 0 { fatalError("VecVM: cannot start a thread (pthread_create: \(rc))") }
}
