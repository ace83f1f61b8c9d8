// Direct calls: a function that needs no VM task (InstanceState.needsTask) runs on the caller's
// own thread, with no hand-off to the scheduler. Before, every call was a scheduler run: the host
// thread queued a main task, woke an idle M, and slept until that M woke it again — two futex
// wake-ups and a thread switch each way (tens of µs on this machine, 48 µs on average over 20,000
// calls), plus ~11,500 instructions of set-up (a function table and a task state per call).
// Here a call costs a lookup, a pooled task state, the interpreter's own work and a result:
// ~2,000 instructions for `id(x)` (callgrind; bench/embed measures it beside Lua's C API).
//
// Nothing is allocated per call: the instance pools frames (InstanceState.DirectFrame), each with
// its task state, context and run control. A frame's control is reused call after call; it is safe
// because when a call ends nothing can reach it any more: its deadline is disarmed (Deadlines waits
// for a firing one) and its `active` flag, which `VM.cancel` and `Instance.cancel` test, is down. A
// stop requested between calls is cleared when the next call starts (RunControl.reset). An async
// call brings a control of its own (its Swift task's cancellation requests it), registered with the
// VM for that call only.
//
// What a direct call keeps of a run: the instance's globals, memory account and host functions;
// its own fuel and time limit; `VM.cancel`/`Instance.cancel` and time limits stop it at its next
// loop back-edge or call (its stop word takes the place of a task's preempt flag); a long native
// kernel is not interrupted (only tasks get asynchronous preemption). What it cannot have is
// anything that parks or yields, which is exactly what `needsTask` rules out.
//
// Direct calls nest: a host function called by one may call back into the VM on the same thread
// (NestingDepth bounds how deep). From inside a VM task, a host function's calls run the same way,
// nested on the task's own stack, with asynchronous preemption held off meanwhile.

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

extension VM {
    /// Runs function `index` of `instance` on this thread. The function needs no task.
    func runDirect(
        _ instance: InstanceState, _ index: Int, _ arguments: [Value], limits: Limits, control external: RunControl?,
        reportToVM: Bool
    ) throws(VMError) -> Value {
        let inTask = vm_current_m() != nil
        // Only code that calls host functions can nest another call inside this one: a program
        // without any adds at most one level and need not count.
        let counts = !instance.hostFunctions.isEmpty
        if counts {
            let limit = inTask ? NestingDepth.limitInTask : NestingDepth.limit
            guard NestingDepth.enter(limit: limit) else {
                throw .invalidCall("calls between the host and the VM are nested too deeply (more than \(limit))")
            }
        }
        defer { if counts { NestingDepth.leave() } }
        // On a task's stack, keep the signal path from preempting (and so moving) the task while it
        // runs a native kernel in this call: a direct call must not change threads (NestingDepth).
        // The SIGURG handler leaves a thread alone while it counts a held runtime lock.
        if inTask { vm_locks_inc() }
        defer { if inTask { vm_locks_dec() } }

        let frame = try instance.takeDirectFrame(function: index, vm: self)
        let state = frame.state
        let ctx = frame.ctx
        // The frame's own control, unless the caller brought one (an async call, whose Swift task's
        // cancellation requests it): that one is registered for `VM.cancel` for this call only.
        let control = external ?? frame.control
        if external == nil { control.reset() }
        let tank = limits.fuel.map { FuelTank(budget: max(0, $0)) }
        ctx.fuel = tank
        ctx.directStop = control.stopWord
        let function = instance.signatures[index]
        // A pooled state may come from a call of a smaller function.
        if !state.ensureCapacity(instance.table.entries[index].frameSize) {
            throw .invalidCall("'\(function.name)' needs more registers than a task may have")
        }
        var slot = 0
        for (value, type) in zip(arguments, function.parameters) {
            value.store(into: state.registers, state.objects, at: slot)
            slot += max(1, type.storage.slots)
        }
        _ = state.pushFrame(Frame(function: index, pc: 0, base: 0))

        // Active (and an outside control registered) before the check below, so that a stop
        // requested from now on reaches the run.
        if let external {
            embedding.state.withLock { $0.directRuns.append(external) }
        } else {
            frame.active.store(true, ordering: .sequentiallyConsistent)
        }
        let timer = limits.timeLimit.map { limit in
            Deadlines.shared.arm(after: limit) { control.request(.timeLimit(limit)) }
        }
        var fault: Fault?
        let started = control.requested == nil
        if started {
            do {
                try Interpreter.execute(state, ctx)
            } catch {
                fault = error
            }
        }
        // After these, nothing can reach the control any more (a timer that was firing has
        // returned): the frame's own control is safe to reuse.
        if let timer { Deadlines.shared.disarm(timer) }
        if let external {
            embedding.state.withLock { s in
                if let i = s.directRuns.lastIndex(where: { $0 === external }) { s.directRuns.remove(at: i) }
            }
        } else {
            frame.active.store(false, ordering: .sequentiallyConsistent)
        }
        let report = RunReport(fuelUsed: tank?.used, fuelBudget: tank?.budget, ranOnCallingThread: true)
        instance.report.withLock { $0 = report }
        if reportToVM { embedding.state.withLock { $0.lastReport = report } }

        // Stopped before it started, or at a poll: the frame is left mid-call and dropped, not pooled
        // (a stop requested after the call returned leaves its result be).
        if !started || fault != nil, let stop = control.error { throw stop }
        if let error = fault {
            // A runtime error: the frame is dropped too.
            let f = state.table.functions[error.function]
            let location = error.pc >= 0 && error.pc < f.locations.count ? f.locations[error.pc] : f.location
            let e = RuntimeError(
                message: error.message, fileName: instance.program.fileName, location: location, taskID: 0,
                taskName: function.name)
            throw Self.classify(e, fuel: tank)
        }
        let result = Value(result: state.task, type: function.result)
        if function.result.storage == .reference {
            state.task.resultObject = nil
            state.objects[0] = nil
        }
        instance.returnDirectFrame(frame)
        return result
    }
}

/// How deeply direct calls nest on this thread (host function → call → host function → …), kept
/// in a C thread-local (CJITStubs/embed.c). A direct call never yields, so the thread cannot change
/// under a nested call even on a VM task's stack.
enum NestingDepth {
    /// On a thread of the host's (stacks of 512 KiB and up).
    static let limit: Int32 = 64
    /// On a VM task's stack (256 KiB, shared with the task's own interpreter).
    static let limitInTask: Int32 = 8

    /// Enters one level; false (and nothing entered) past `limit`.
    static func enter(limit: Int32) -> Bool {
        let depth = vm_embed_depth()
        if depth >= limit { return false }
        vm_embed_set_depth(depth + 1)
        return true
    }

    static func leave() { vm_embed_set_depth(max(0, vm_embed_depth() - 1)) }
}
