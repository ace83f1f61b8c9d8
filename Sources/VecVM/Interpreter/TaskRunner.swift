// Runs .vec tasks as green threads of VMRuntime: the main task and every `spawn`. A task's VM state
// (TaskState) is heap memory; the G's native stack holds only the dispatch loop's frame. A runtime
// error in any task ends the whole run (Go's semantics) through Scheduler.endRun. When a run ends
// its tasks are stopped: the scheduler unwinds them (SchedulerConfiguration.unwindsStoppedTasks),
// the interpreter throws `Fault.stopped` from the blocking call that told it, and the task returns
// here, releasing its registers and everything they hold.

import VMRuntime

/// A runtime error with its source location and task, as the CLI prints it.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let fileName: String
    public let location: SourceLocation
    public let taskID: Int
    public let taskName: String

    /// `FILE:LINE:COL: runtime error: MESSAGE` and the task it happened in.
    public var description: String {
        "\(fileName):\(location.line):\(location.column): runtime error: \(message)\n    in task \(taskID) (\(taskName))"
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
            let f = state.table.functions[error.function]
            let loc = error.pc >= 0 && error.pc < f.locations.count ? f.locations[error.pc] : f.location
            let taskName = state.table.functions[state.frames[0].function].name
            let e = RuntimeError(
                message: error.message, fileName: ctx.fileName, location: loc,
                taskID: Scheduler.current.id, taskName: taskName)
            Scheduler.endRun(RuntimeErrorBox(e))
        }
    }

    /// `spawn f(args)`: a new task whose first frame is `function`, with the arguments copied from
    /// the caller's registers starting at `base`. Fails when the VM's task limit or memory limit
    /// would be passed.
    static func spawn(
        function: Int, arguments base: Int, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>,
        _ table: FunctionTable, _ ctx: ExecutionContext
    ) throws(Trap) -> VMTask {
        let entry = table.entries[function]
        let task = VMTask(id: 0, functionName: table.functions[function].name)
        let state = try TaskState(
            table: table, task: task, initialSlots: entry.frameSize, account: ctx.memory, maxTasks: ctx.maxTasks)
        for i in 0..<entry.parameterSlots {
            state.registers[i] = regs[base + i]
            state.objects[i] = objs[base + i]
        }
        _ = state.pushFrame(Frame(function: function, pc: 0, base: 0))
        ctx.stats.tasksSpawned.add(1, ordering: .relaxed)
        let handle = Scheduler.spawn { run(state, ctx) }
        task.handle = handle
        task.id = handle.id
        return task
    }
}
