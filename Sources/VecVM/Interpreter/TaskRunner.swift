// Runs .vec tasks as green threads of VMRuntime: the main task and every `spawn`. A task's VM state
// (TaskState) is heap memory; the G's native stack holds only the dispatch loop's frame. A runtime
// error in any task ends the whole run (Go's semantics) through Scheduler.endRun; the error carries
// the task's traceback of .vec frames (its frame stack at the fault) and where the task was spawned.
// When a run ends its tasks are stopped: the scheduler unwinds them
// (SchedulerConfiguration.unwindsStoppedTasks), the interpreter throws `Fault.stopped` from the
// blocking call that told it, and the task returns here, releasing its registers and everything
// they hold.

import VMRuntime

/// A runtime error with its source location, its traceback and its task, as the CLI prints it:
///
///     prog.vec:2:13: runtime error: index 5 out of bounds for array of length 3
///         return a[i]
///                 ^
///     traceback (most recent call last):
///       prog.vec:8:12 in worker
///         return outer(iota(n))
///       prog.vec:2:13 in inner
///         return a[i]
///         in task 2 (worker), started by task 1 (main) at prog.vec:10:9
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// Where it happened: the file of the function that was running (each REPL input is a file).
    public let fileName: String
    public let location: SourceLocation
    public let taskID: Int
    /// The function the task started with (`main` for a run's main task).
    public let taskName: String
    /// The text of the line at `location` ("" when unknown).
    public let sourceLine: String
    /// The .vec calls that were active, outermost first; the last is where the error happened.
    public let traceback: Traceback
    /// Where the task was started, for a spawned task.
    public let spawnSite: SpawnSite?

    /// One active call.
    public struct TraceFrame: Sendable {
        /// The function, or `<top level>` for a program's (or a REPL input's) top-level code.
        public let function: String
        public let fileName: String
        public let location: SourceLocation
        public let sourceLine: String
        /// How many more times this same frame comes right after it (deep recursion), shown once.
        public let repeats: Int
    }

    /// The frames of a traceback; a very deep one keeps its outermost and innermost frames only.
    public struct Traceback: Sendable {
        public let frames: [TraceFrame]
        /// Frames left out between `frames[omittedAfter - 1]` and `frames[omittedAfter]` (0: none).
        public let omitted: Int
        public let omittedAfter: Int
    }

    /// The spawn that started a task.
    public struct SpawnSite: Sendable {
        public let fileName: String
        public let location: SourceLocation
        public let parentID: Int
        public let parentName: String
    }

    init(
        message: String, fileName: String, location: SourceLocation, taskID: Int, taskName: String,
        sourceLine: String = "", traceback: Traceback = Traceback(frames: [], omitted: 0, omittedAfter: 0),
        spawnSite: SpawnSite? = nil
    ) {
        self.message = message
        self.fileName = fileName
        self.location = location
        self.taskID = taskID
        self.taskName = taskName
        self.sourceLine = sourceLine
        self.traceback = traceback
        self.spawnSite = spawnSite
    }

    public var description: String { rendered(colour: false) }

    /// `description`, with the location and message in bold and the label and caret in red when
    /// `colour` (a terminal).
    public func rendered(colour: Bool) -> String {
        let head = "\(fileName):\(location.line):\(location.column): "
        var out =
            colour
            ? TextStyle.bold + head + Severity.error.colour + "runtime error:" + TextStyle.reset + TextStyle.bold
                + " " + message + TextStyle.reset
            : head + "runtime error: " + message
        if location.line > 0 && !sourceLine.isEmpty {
            let caretColour = colour ? Severity.error.colour : nil
            out += "\n" + quoteSourceLine(sourceLine, caretAt: Int(location.column), caretColour: caretColour)
        }
        if traceback.frames.count > 1 || traceback.omitted > 0 || (traceback.frames.first?.repeats ?? 0) > 0 {
            out += "\ntraceback (most recent call last):"
            for (i, f) in traceback.frames.enumerated() {
                if traceback.omitted > 0 && i == traceback.omittedAfter {
                    out += "\n  ... \(traceback.omitted) more frame\(traceback.omitted == 1 ? "" : "s") ..."
                }
                out += "\n  \(f.fileName):\(f.location.line):\(f.location.column) in \(f.function)"
                let code = f.sourceLine.drop(while: { $0 == " " || $0 == "\t" })
                if !code.isEmpty { out += "\n    " + code }
                if f.repeats > 0 {
                    out += "\n  [the frame above repeats \(f.repeats) more time\(f.repeats == 1 ? "" : "s")]"
                }
            }
        }
        // Task 0 is none: a call from the host that ran on the host's own thread (taskName is then
        // the function called).
        out += taskID == 0 ? "\n    in \(taskName), called from the host" : "\n    in task \(taskID) (\(taskName))"
        if let s = spawnSite {
            out +=
                ", started by task \(s.parentID) (\(s.parentName)) at "
                + "\(s.fileName):\(s.location.line):\(s.location.column)"
        }
        return out
    }
}

/// The reason object a failing task hands to Scheduler.endRun.
final class RuntimeErrorBox {
    let error: RuntimeError
    init(_ error: RuntimeError) { self.error = error }
}

enum TaskRunner {
    /// Runs a task's frames to completion on the current G; a runtime error ends the run; a stopped
    /// run (Fault.stopped) just returns. Either way the task's state is released when the caller's
    /// closure lets go of it.
    static func run(_ state: TaskState, _ ctx: ExecutionContext) {
        do {
            try Interpreter.execute(state, ctx)
        } catch {
            if error.isStop { return }
            let e = runtimeError(error, state, ctx)
            // Read by `wait` in a later run (a REPL input): it reports this error instead of hanging.
            state.task.failure = e
            Scheduler.endRun(RuntimeErrorBox(e))
        }
    }

    /// Frames kept at each end of a very deep traceback.
    static let tracebackEnds = 10

    /// The error of `fault` with its location, the task's traceback and where the task was started.
    static func runtimeError(_ fault: Fault, _ state: TaskState, _ ctx: ExecutionContext) -> RuntimeError {
        let functions = state.table.functions
        func place(_ function: Int, _ pc: Int) -> (file: String, location: SourceLocation, line: String) {
            TaskRunner.place(functions[function], pc, ctx)
        }
        // (function, pc) of every active call, outermost first: a caller's frame holds the pc after its
        // call instruction; the innermost frame is where the fault happened.
        var calls: [(function: Int, pc: Int)] = []
        let depth = state.frameCount
        for i in 0..<depth {
            let frame = state.frames[i]
            calls.append(i == depth - 1 ? (fault.function, fault.pc) : (frame.function, frame.pc - 1))
        }
        if calls.isEmpty { calls.append((fault.function, fault.pc)) }
        // A run of one frame (recursion from one line) becomes that frame with a repeat count.
        var runs: [(function: Int, pc: Int, repeats: Int)] = []
        for c in calls {
            if let last = runs.last, last.function == c.function, last.pc == c.pc {
                runs[runs.count - 1].repeats += 1
            } else {
                runs.append((c.function, c.pc, 0))
            }
        }
        var omitted = 0
        var omittedAfter = 0
        if runs.count > 2 * tracebackEnds {
            omitted = runs[tracebackEnds..<(runs.count - tracebackEnds)].reduce(0) { $0 + 1 + $1.repeats }
            runs = Array(runs.prefix(tracebackEnds) + runs.suffix(tracebackEnds))
            omittedAfter = tracebackEnds
        }
        let frames = runs.map { r -> RuntimeError.TraceFrame in
            let p = place(r.function, r.pc)
            return RuntimeError.TraceFrame(
                function: r.function == 0 ? "<top level>" : functions[r.function].name, fileName: p.file,
                location: p.location, sourceLine: p.line, repeats: r.repeats)
        }
        let p = place(fault.function, fault.pc)
        return RuntimeError(
            message: fault.message, fileName: p.file, location: p.location, taskID: Scheduler.current.id,
            taskName: functions[state.frames[0].function].name, sourceLine: p.line,
            traceback: RuntimeError.Traceback(frames: frames, omitted: omitted, omittedAfter: omittedAfter),
            spawnSite: state.task.spawnPoint.map { spawnSite($0, functions, ctx) })
    }

    /// The file, location and source line of instruction `pc` of `f` (the function's own location
    /// when `pc` is outside it).
    static func place(_ f: Function, _ pc: Int, _ ctx: ExecutionContext)
        -> (file: String, location: SourceLocation, line: String)
    {
        let loc = pc >= 0 && pc < f.locations.count ? f.locations[pc] : f.location
        return (f.file?.name ?? ctx.fileName, loc, f.file?.line(Int(loc.line)) ?? "")
    }

    /// The spawn site that `point` names in the table of `functions`.
    static func spawnSite(_ point: VMTask.SpawnPoint, _ functions: [Function], _ ctx: ExecutionContext)
        -> RuntimeError.SpawnSite
    {
        let p = place(functions[Int(point.function)], Int(point.pc), ctx)
        let parent = Int(point.parentFunction)
        return RuntimeError.SpawnSite(
            fileName: p.file, location: p.location, parentID: point.parentID,
            parentName: parent == 0 ? "main" : functions[parent].name)
    }

    /// `spawn f(args)`: a new task whose first frame is `function`, with the arguments taken from
    /// the caller's registers starting at `base`. `parent` is the spawning task; its top frame's pc is
    /// that of the instruction after the spawn. Fails when the VM's task limit or memory limit would
    /// be passed.
    ///
    /// The task's state is made when it first runs (`startSpawned`), on the P that runs it, from the
    /// arguments and charge the spawn leaves in its VMTask; a function of more parameter slots than
    /// VMTask.startSlots (or a run without a pool of states) gets its state here.
    ///
    /// The arguments' references move to the new task (the caller's registers are left nil), as a
    /// call's move to its callee: the compiler evaluates a spawn's arguments into registers of their
    /// own (Compiler.consecutiveArguments), which nothing reads after the spawn but the statement's
    /// `clearRefs`. A copy was a retain of each argument here and its release by that `clearRefs`,
    /// atomic operations on objects (the channels a task is given) that every task shares.
    static func spawn(
        function: Int, arguments base: Int, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>,
        _ table: FunctionTable, _ ctx: ExecutionContext, parent: TaskState
    ) throws(Trap) -> VMTask {
        // Every reference here is borrowed where it can be (the table's entry, the function's name,
        // the parent's task): a retain or release is an atomic operation, and the objects a spawn
        // touches are shared with the Ps that run and finish the tasks.
        let entry = table.entries + function
        let task = newTask(entry.pointee.function._withUnsafeGuaranteedRef { $0.name })
        let top = parent.frames[parent.frameCount - 1]
        task.spawnPoint = VMTask.SpawnPoint(
            function: Int32(top.function), pc: Int32(top.pc - 1), parentFunction: Int32(parent.frames[0].function),
            parentID: parent.task.id)
        let slots = entry.pointee.parameterSlots
        if slots <= VMTask.startSlots, ctx.taskStates != nil {
            task.startCharge = try TaskState.enterSpawn(
                ctx.memory, slots: entry.pointee.frameSize, maxTasks: ctx.maxTasks)
            task.startFunction = function
            if table === ctx.taskStates?.table {
                task.startTable = Unmanaged.passUnretained(table)
            } else {
                task.startTable = Unmanaged.passRetained(table)
                task.startTableRetained = true
            }
            task.startContext = Unmanaged.passRetained(ctx)
            withUnsafeMutableBytes(of: &task.startBits) { b in
                let bits = b.baseAddress!.assumingMemoryBound(to: UInt64.self)
                for i in 0..<slots { bits[i] = regs[base + i] }
            }
            withUnsafeMutableBytes(of: &task.startObjects) { b in
                // Moved, over nil (a new or reused VMTask's start slots are all nil).
                let o = b.baseAddress!.assumingMemoryBound(to: AnyObject?.self)
                for i in 0..<slots where objs[base + i] != nil { o[i] = objs[base + i].take() }
            }
            ctx.stats.tasksSpawned.wrappingAdd(1, ordering: .relaxed)
            // A body without captures: no closure context to allocate or retain.
            Scheduler.spawn(task) { startSpawned() }
            return task
        }
        let state = try stateForSpawn(task, entry.pointee.frameSize, table, ctx)
        for i in 0..<slots {
            state.registers[i] = regs[base + i]
            // Over nil (a new or recycled state's slots are all nil): nothing to release there.
            if objs[base + i] != nil { (state.objects + i).initialize(to: objs[base + i].take()) }
        }
        _ = state.pushFrame(Frame(function: function, pc: 0, base: 0))
        ctx.stats.tasksSpawned.wrappingAdd(1, ordering: .relaxed)
        // The body captures only `state` (which holds the context): a closure whose one capture is
        // a native object uses that object as its context, so the spawn allocates no closure box.
        state.spawnContext = Unmanaged.passRetained(ctx)
        state.parksWithoutStack = true
        Scheduler.spawn(task) { [state = consume state] in runSpawned(state) }
        return task
    }

    /// A new spawn's task object: a finished task's that nobody references, if this P has one (no
    /// allocation here, and none was freed when that task ended), else a new one.
    @inline(__always)
    private static func newTask(_ name: String) -> VMTask {
        if let reused = Scheduler.reusableHandle() as? VMTask {
            reused.functionName = name
            return reused
        }
        return VMTask(id: 0, functionName: name)
    }

    /// The state of a new spawned task: a recycled one from the pool of this P, or a new one.
    private static func stateForSpawn(
        _ task: VMTask, _ frameSize: Int, _ table: FunctionTable, _ ctx: ExecutionContext
    ) throws(Trap) -> TaskState {
        if let recycled = ctx.taskStates?.take(slots: frameSize), recycled.serves(table, ctx.memory) {
            try recycled.reuse(task: task, maxTasks: ctx.maxTasks)
            ctx.stats.tasksRecycled.wrappingAdd(1, ordering: .relaxed)
            return recycled
        }
        return try TaskState(
            table: table, task: task, initialSlots: frameSize, account: ctx.memory, maxTasks: ctx.maxTasks,
            spawned: true)
    }

    /// The body of a task whose spawn left its start in its VMTask (`spawn`): the first run makes
    /// the state — a recycled one from this P's pool where it has one — with the arguments, and
    /// keeps it in the VMTask for the runs after a park without the stack.
    @inline(never)
    static func startSpawned() {
        let task = unsafeDowncast(Scheduler.current, to: VMTask.self)
        if let state = task.runningState {
            runStarted(state, task)
            return
        }
        // The start moves out of the task: its references into the state (the context, the
        // arguments), its charge to the state's account.
        guard let context = task.startContext.take(), let table = task.startTable.take() else {
            fatalError("VecVM: a spawned task started without its start")
        }
        let state = context._withUnsafeGuaranteedRef { ctx in
            table._withUnsafeGuaranteedRef { makeStartedState(task, ctx, $0) }
        }
        if task.startTableRetained {
            task.startTableRetained = false
            table.release()  // the state holds the table (TaskState.table)
        }
        state.spawnContext = context
        state.parksWithoutStack = true
        task.runningState = state
        runStarted(state, task)
    }

    /// The state of a task at its first run (`startSpawned`), its arguments and first frame in it.
    @inline(__always)
    private static func makeStartedState(_ task: VMTask, _ ctx: ExecutionContext, _ table: FunctionTable)
        -> TaskState
    {
        let function = task.startFunction
        let charged = task.startCharge
        task.startCharge = 0
        let entry = table.entries + function
        let s: TaskState
        if let r = ctx.taskStates?.take(slots: entry.pointee.frameSize), r.serves(table, ctx.memory),
            r.adopt(task: task, charged: charged)
        {
            ctx.stats.tasksRecycled.wrappingAdd(1, ordering: .relaxed)
            s = r
        } else {
            s = TaskState(
                table: table, task: task, initialSlots: entry.pointee.frameSize, account: ctx.memory, charged: charged)
        }
        let slots = entry.pointee.parameterSlots
        withUnsafeMutableBytes(of: &task.startBits) { b in
            let bits = b.baseAddress!.assumingMemoryBound(to: UInt64.self)
            for i in 0..<slots { s.registers[i] = bits[i] }
        }
        withUnsafeMutableBytes(of: &task.startObjects) { b in
            let o = b.baseAddress!.assumingMemoryBound(to: AnyObject?.self)
            for i in 0..<slots where o[i] != nil { (s.objects + i).initialize(to: o[i].take()) }
        }
        _ = s.pushFrame(Frame(function: function, pc: 0, base: 0))
        return s
    }

    /// A started task's run (`startSpawned`): parked without its stack, it keeps its state for the
    /// next run; returned, it hands the state to this P's pool (as `runSpawned`).
    @inline(__always)
    private static func runStarted(_ state: TaskState, _ task: VMTask) {
        state.spawnContext.unsafelyUnwrapped._withUnsafeGuaranteedRef { run(state, $0) }
        if state.parked { return }
        task.runningState = nil
        guard task.finished else { return }
        handToPool(state)
    }

    /// Hands the state of a task that returned to its context's pool for the next task on this P,
    /// and the state's reference to the context to the pool too (TaskStatePool.oweContext), which
    /// releases such references in batches. The context must outlive `put`: the references owed
    /// are released last.
    @inline(__always)
    private static func handToPool(_ state: TaskState) {
        guard let context = state.spawnContext.take() else { return }
        // Through optional chaining on the constant: a `let pool` would retain the pool, an object
        // every P touches.
        let release = context._withUnsafeGuaranteedRef { $0.taskStates?.putFinished(state) ?? 1 }
        for _ in 0..<release { context.release() }
    }

    /// The body of a spawned task (run again from here when it was woken after parking without its
    /// stack). The context is borrowed from the state, which keeps it for as long as the task runs;
    /// a task that returned hands its state and its reference to the context to the pool of this P
    /// (`handToPool`).
    @inline(never)
    static func runSpawned(_ state: TaskState) {
        state.spawnContext.unsafelyUnwrapped._withUnsafeGuaranteedRef { run(state, $0) }
        // Returned (not parked to run again, not failed or stopped): the state can serve the next
        // spawn on this P.
        guard state.task.finished && !state.parked else { return }
        handToPool(state)
    }
}
