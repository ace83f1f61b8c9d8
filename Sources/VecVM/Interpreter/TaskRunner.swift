// Runs .vec tasks as green threads of VMRuntime: the main task and every `spawn`. A task's VM state
// (TaskState) is heap memory; the G's native stack holds only the dispatch loop's frame. A runtime
// error in any task ends the whole run (Go's semantics) through Scheduler.terminate.

import VMRuntime

/// A runtime error with its source location and task, as the CLI prints it.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let fileName: String
    public let location: SourceLocation
    public let taskID: Int
    public let taskName: String

    /// `FILE:LINE:COL: runtime error: MESSAGE` and the task it happened in. Task 0 is none: a call
    /// from the host that ran on the host's own thread (taskName is then the function called).
    public var description: String {
        let origin = taskID == 0 ? "in \(taskName), called from the host" : "in task \(taskID) (\(taskName))"
        return "\(fileName):\(location.line):\(location.column): runtime error: \(message)\n    \(origin)"
    }
}

/// The reason object a failing task hands to Scheduler.terminate.
final class RuntimeErrorBox {
    let error: RuntimeError
    init(_ error: RuntimeError) { self.error = error }
}

enum TaskRunner {
    /// Runs a task's frames to completion on the current G; a runtime error ends the run.
    static func run(_ state: TaskState, _ ctx: ExecutionContext) {
        do {
            try Interpreter.execute(state, ctx)
        } catch {
            let f = state.table.functions[error.function]
            let loc = error.pc >= 0 && error.pc < f.locations.count ? f.locations[error.pc] : f.location
            let taskName = state.table.functions[state.frames[0].function].name
            let e = RuntimeError(
                message: error.message, fileName: ctx.fileName, location: loc,
                taskID: Scheduler.current.id, taskName: taskName)
            Scheduler.terminate(RuntimeErrorBox(e))
        }
    }

    /// `spawn f(args)`: a new task whose first frame is `function`, with the arguments copied from
    /// the caller's registers starting at `base`.
    static func spawn(
        function: Int, arguments base: Int, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>,
        _ table: FunctionTable, _ ctx: ExecutionContext
    ) -> VMTask {
        let entry = table.entries[function]
        let task = VMTask(id: 0, functionName: table.functions[function].name)
        let state = TaskState(table: table, task: task, initialSlots: entry.frameSize)
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
