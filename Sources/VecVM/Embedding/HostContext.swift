// What a host function learns about its caller (Wasmtime's Caller, Lua's lua_State argument): the
// instance whose code called it and the task that made the call. Through the instance it may read
// and write globals and call back into the VM; the callback runs at once on the same thread,
// nested in the call that called the host function (DirectCall.swift), with its own limits.
//
//     vm.register("clampToRange") { (context: HostContext, x: Double) -> Double in
//         let top = context.instance["top", as: Double.self] ?? 1
//         return min(max(x, 0), top)
//     }

import VMRuntime

/// The calling task of a host function.
public struct TaskInfo: Sendable, Equatable, CustomStringConvertible {
    /// The task's id, as runtime errors show it (`in task 3 (worker)`).
    public let id: Int
    /// The function the task started with (`main` for a program's top level).
    public let functionName: String

    public var description: String { "task \(id) (\(functionName))" }
}

/// The context of one call of a host function.
public struct HostContext: @unchecked Sendable {
    // @unchecked: the state is used only while the host function runs, on the calling thread.
    private let site: HostCallSite

    init(site: HostCallSite) { self.site = site }

    /// The instance whose code called the host function. Its globals may be read and written, and
    /// its functions called: a call made from here runs at once on this thread, nested in the
    /// current one, with its own limits (`call(_:with:limits:)`); from a task it may not spawn
    /// tasks or use channels.
    public var instance: Instance {
        guard let state = site.ctx.instance as? InstanceState, let vm = state.vm, let program = state.compiled else {
            // Every run starts from a VM method (which holds the VM) on a program the caller holds.
            preconditionFailure("HostContext.instance: the VM or the program of a running call is gone")
        }
        return Instance(vm: vm, program: program, state: state)
    }

    /// The calling task, or nil when the host function was called by a direct call (one that runs
    /// on the host's own thread, not in a VM task).
    public var task: TaskInfo? {
        guard site.ctx.directStop == nil else { return nil }
        return TaskInfo(id: site.state.task.id, functionName: site.state.task.functionName)
    }

    /// Fuel the current run has left, or nil when it runs without a budget.
    public var fuelLeft: Int? { site.ctx.fuel?.left }
}
