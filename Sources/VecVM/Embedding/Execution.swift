// How the embedding API runs code: one run (a program's top level, or a call of one of its
// functions) is one main task on the VM's scheduler, under the VM's limits (fuel, a time limit, the
// memory cap), cancellable from any thread; afterwards the typed VMError says what stopped it.
//
// Rules this file keeps (VM.swift's public methods all come through here):
// - One run at a time per VM (`EmbeddingState.runLock`); a run never starts from inside a VM task.
// - A program compiled by `VM.compile` owns the VM's globals while it runs: its top level starts
//   from fresh globals, and a call runs the top level first unless that program's top level was the
//   last to complete on this VM (its globals are then still there).
// - Tasks a run spawned and left running are stopped when it ends (the language's "abandoned").
// - A cancellation names its run (RunControl): a late timer or `cancel` never hits the next run.

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
        /// The run in progress, if the embedding layer started it.
        var activeRun: RunControl?
        /// The program whose globals the VM holds, and whether its top level completed.
        var globalsOwner: CompiledProgram?
        var globalsReady = false
    }

    let state = Mutex(Locked())
    /// Held for the whole of a run (and of a call with its top-level run), so that runs from
    /// several threads take turns.
    let runLock = Mutex(())
}

/// One public run or call: what may stop it, and why it was stopped.
final class RunControl: Sendable {
    enum Stop: Sendable {
        case host(String)
        case timeLimit(Duration)
    }

    private let stop = Mutex<Stop?>(nil)

    /// Records why the run must stop; the first reason wins.
    func request(_ why: Stop) {
        stop.withLock { if $0 == nil { $0 = why } }
    }

    var requested: Stop? { stop.withLock { $0 } }

    /// The reason object handed to the scheduler.
    func reasonObject() -> CancelReason {
        switch requested {
        case .host(let text): CancelReason(text)
        case .timeLimit: CancelReason("time limit exceeded")
        case nil: CancelReason("cancelled")
        }
    }
}

/// Set by the main task when it starts: a run that ends without it started reports the failure of
/// a task left from an earlier run (the scheduler reports it at the next run and skips that run).
private final class StartFlag: Sendable {
    let started = Atomic<Bool>(false)
}

extension VM {
    // MARK: - Runs

    /// Runs the program's top level (a fresh set of globals).
    func runTopLevel(_ compiled: CompiledProgram, control: RunControl) throws(VMError) {
        try ensureNotInTask()
        try embedding.runLock.withLock { _ throws(VMError) in
            try topLevelLocked(compiled, control: control)
        }
    }

    /// Calls function `name` of `compiled` with `arguments`, after its top level if needed.
    func callFunction(_ name: String, in compiled: CompiledProgram, with arguments: [Value], control: RunControl)
        throws(VMError) -> Value
    {
        try ensureNotInTask()
        let program = compiled.program
        guard let function = program.function(named: name) else {
            throw .invalidCall("the program \(program.fileName) has no function '\(name)'")
        }
        guard arguments.count == function.parameterTypes.count else {
            throw .invalidCall(
                "'\(name)' takes \(function.parameterTypes.count) argument\(function.parameterTypes.count == 1 ? "" : "s"), not \(arguments.count)"
            )
        }
        for (i, (value, type)) in zip(arguments, function.parameterTypes).enumerated() where value.type.vType != type {
            throw .invalidCall(
                "argument \(i + 1) of '\(name)' must be \(type.withArticle), not \(value.type.vType.withArticle)")
        }
        return try embedding.runLock.withLock { _ throws(VMError) -> Value in
            if compiled.isStandalone {
                let ready = embedding.state.withLock { $0.globalsOwner === compiled && $0.globalsReady }
                if !ready { try topLevelLocked(compiled, control: control) }
            }
            let task = try execute(compiled, function: function.index, arguments: arguments, control: control)
            return Value(result: task, type: function.resultType)
        }
    }

    private func ensureNotInTask() throws(VMError) {
        if vm_current_m() != nil {
            throw .invalidCall("a VM cannot run or call code from inside a VM task (a host function, for one)")
        }
    }

    /// The top-level run; runLock held.
    private func topLevelLocked(_ compiled: CompiledProgram, control: RunControl) throws(VMError) {
        if compiled.isStandalone {
            // Fresh globals: forget the previous owner's (and this program's own earlier) values, so
            // that reading a global before its declaration runs is the runtime error it should be.
            let previous = embedding.state.withLock { s in
                let p = s.globalsOwner
                s.globalsOwner = compiled
                s.globalsReady = false
                return p
            }
            if let previous { globals.forget(previous.layout) }
            globals.forget(compiled.layout)
        } else {
            // A program built elsewhere (a REPL session) shares the globals in its own way.
            embedding.state.withLock {
                $0.globalsOwner = nil
                $0.globalsReady = false
            }
        }
        _ = try execute(compiled, function: 0, arguments: [], control: control)
        if compiled.isStandalone {
            embedding.state.withLock { s in if s.globalsOwner === compiled { s.globalsReady = true } }
        }
    }

    /// One run of function `index` (0: the top level) as the main task; returns the finished task
    /// (its result is in `result`/`resultObject`). runLock held; arguments already type-checked.
    private func execute(_ compiled: CompiledProgram, function index: Int, arguments: [Value], control: RunControl)
        throws(VMError) -> VMTask
    {
        let program = compiled.program
        let ctx = ExecutionContext(
            globals: globals, output: configuration.output, memory: memory, fileName: program.fileName,
            stats: stats, kernels: usesJIT ? JITKernels() : NoNativeKernels())
        ctx.fuel = configuration.fuel.map { FuelTank(budget: max(0, $0)) }
        ctx.hostFunctions = compiled.hostFunctions
        ctx.procs = configuration.procs
        ctx.io = IOEnvironment(
            arguments: configuration.arguments, input: configuration.input,
            fileAccess: configuration.allowFileAccess)
        for g in compiled.layout.globals {
            if g.type.storage == .reference {
                ctx.objectGlobalNames[g.slot] = g.name
            } else {
                ctx.scalarGlobalNames[g.slot] = g.name
            }
        }
        let scheduler = currentScheduler()

        // Registered before the run starts, so that a cancel from now on finds it (see `stop`).
        try embedding.state.withLock { s throws(VMError) in
            if let why = control.requested { throw error(for: why) }
            s.activeRun = control
        }
        defer { embedding.state.withLock { s in if s.activeRun === control { s.activeRun = nil } } }
        let watchdog = configuration.timeLimit.map { limit in
            Watchdog(after: limit) { [weak self] in self?.stop(control, .timeLimit(limit)) }
        }
        defer { watchdog?.disarm() }

        // A task left from an earlier run may fail between runs; the scheduler then reports that
        // failure instead of starting this run. Retry: the failure ended those tasks.
        for _ in 0..<4 {
            let table = FunctionTable(program.functions, externs: program.externs, native: usesJIT)
            let function = program.functions[index]
            let task = VMTask(id: 1, functionName: index == 0 ? "main" : function.name)
            let state = TaskState(table: table, task: task, initialSlots: table.entries[index].frameSize)
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
                    if control.requested != nil { Scheduler.terminate(control.reasonObject()) }
                    let me = Scheduler.current
                    task.handle = me
                    task.id = me.id
                    TaskRunner.run(state, ctx)
                }
            }
            configuration.output.flush()
            switch outcome {
            case .completed:
                if compiled.isStandalone { scheduler.cancel(CancelReason("the run ended")) }
                return task
            case .deadlock:
                if compiled.isStandalone { scheduler.cancel(CancelReason("the run ended")) }
                throw .deadlock
            case .terminated(let reason):
                releaseAbandonedRegisters(state)
                if let box = reason as? RuntimeErrorBox {
                    if !started.started.load(ordering: .acquiring) { continue }
                    let e = box.error
                    if ctx.fuel != nil && e.message.hasPrefix("fuel exhausted") { throw .fuelExhausted(e) }
                    if e.message.hasPrefix("out of memory") { throw .memoryLimit(e) }
                    throw .runtime(e)
                }
                if let why = control.requested { throw error(for: why) }
                if let c = reason as? CancelReason { throw .cancelled(c.text) }
                throw .cancelled(String(describing: reason))
            }
        }
        throw .cancelled("tasks of earlier runs kept failing")
    }

    /// An abandoned task's stack is never unwound, so what its registers hold is never released
    /// (VMRuntime's abandonCurrent): the arrays would stay charged to the memory limit for good.
    /// Once the main task has stopped for good (it does at its next preemption poll), drop its
    /// references here. A main task that does not finish soon (parked on a channel) is left be.
    /// - Note: tasks spawned by the run leak the same way; only the main task is reachable here.
    private func releaseAbandonedRegisters(_ state: TaskState) {
        guard let handle = state.task.handle else { return }  // never started
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(20)
        while !handle.isFinished && clock.now < deadline { usleep(100) }
        guard handle.isFinished else { return }
        for i in 0..<state.capacity { state.objects[i] = nil }
    }

    private func error(for why: RunControl.Stop) -> VMError {
        switch why {
        case .host(let text): .cancelled(text)
        case .timeLimit(let limit): .timeLimit(limit)
        }
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

    /// `cancel(reason:)`: the embedding layer's run in progress, else whatever runs on the scheduler.
    func cancelCurrentRun(reason: String) {
        let handled = embedding.state.withLock { s -> Bool in
            guard let control = s.activeRun else { return false }
            control.request(.host(reason))
            lock.withLock { _ in scheduler }?.cancel(control.reasonObject())
            return true
        }
        if !handled { lock.withLock { _ in scheduler }?.cancel(CancelReason(reason)) }
    }
}

extension GlobalStore {
    /// Marks the slots of `layout` uninitialized and releases the objects they hold (runs of the
    /// program's tasks have all ended or been stopped, so nothing else touches them).
    func forget(_ layout: GlobalLayout) {
        for slot in 0..<min(layout.objectSlots, GlobalLayout.maxObjectSlots) where objectInitialized[slot] != 0 {
            storeObject(slot, nil)
            objectInitialized[slot] = 0
        }
        for slot in 0..<min(layout.scalarSlots, GlobalLayout.maxScalarSlots) { scalarInitialized[slot] = 0 }
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
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, &attributes,
        { arg in
            Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
    if rc != 0 { fatalError("VecVM: cannot start a thread (pthread_create: \(rc))") }
}

/// Calls `fire` once `limit` has passed, unless disarmed first. One thread, which waits on a
/// condition variable of the monotonic clock and ends at once when disarmed.
final class Watchdog: @unchecked Sendable {
    // @unchecked: `disarmed` is read and written only under `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var disarmed = false

    init(after limit: Duration, _ fire: @escaping @Sendable () -> Void) {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)

        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = limit.components
        let total = Int64(now.tv_nsec) + attoseconds / 1_000_000_000
        let deadline = timespec(
            tv_sec: now.tv_sec + Int(max(0, min(seconds, Int64(Int32.max)))) + Int(total / 1_000_000_000),
            tv_nsec: Int(total % 1_000_000_000))
        startDetachedThread { [self] in
            pthread_mutex_lock(mutex)
            var expired = false
            while !disarmed && !expired {
                var d = deadline
                expired = pthread_cond_timedwait(condition, mutex, &d) == ETIMEDOUT
            }
            let shouldFire = !disarmed
            pthread_mutex_unlock(mutex)
            if shouldFire { fire() }
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func disarm() {
        pthread_mutex_lock(mutex)
        disarmed = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }
}
