// One instruction of a native function run by the interpreter's code (JIT/FunctionLowering+Steps.swift):
// the kernels, builtins, strings, prints and object moves that native code calls NativeStepHelper
// for. Each case is the dispatch loop's own code for the opcode (or the function it calls), on the
// frame whose registers native code passed; the objects are the task's object registers of that
// frame, as for the interpreter.

import VMRuntime

extension Interpreter {
    /// What a step answers native code (FunctionLowering+Steps.swift reads these numbers).
    enum StepAnswer: Int32 {
        case done = 0
        /// The instruction failed: its error is in `state.pendingStepError`.
        case failed = 1
        /// The task is parked without its stack (a send, receive or wait of a spawned task).
        case parked = 2
        /// A `recvOrJump` found its channel closed and drained: take the jump.
        case jump = 3
    }

    /// Runs the instruction at `pc` of function `function` on the frame whose registers start at
    /// `regs`. An array it leaves in its destination register gets its (data, count) written to the
    /// frame's array `table` (when the native code has one), where the code reads it. When the
    /// instruction fails, its error is left in `state.pendingStepError`, for the interpreter to throw
    /// at that pc (see `throwPendingStepError`). A send, receive or wait that must wait parks a task
    /// that can park without its stack (TaskState.parksWithoutStack) as the interpreter would, and
    /// blocks any other where it is (its native frames wait on its stack).
    static func runStep(
        _ state: TaskState, _ ctx: ExecutionContext, entry: UnsafePointer<FunctionEntry>, function: Int, pc: Int,
        regs: UnsafeMutablePointer<UInt64>, table: UnsafeMutableRawPointer?
    ) -> StepAnswer {
        let w = entry.pointee.code[pc]
        let a = fieldA(w)
        let objs = state.objects + (regs - state.registers)
        let op = unsafeBitCast(UInt8(truncatingIfNeeded: w), to: Opcode.self)
        do throws(Trap) {
            switch op {
            case .moveRef:
                objs[a] = objs[fieldB(w)]
            case .loadString:
                objs[a] = entry.pointee.function._withUnsafeGuaranteedRef { $0.strings[fieldBx(w)] }
            case .clearRefs:
                releaseObjects(objs + a, fieldB(w))
            case .getGlobal:
                let g = fieldBx(w)
                if ctx.globals.scalarInitialized[g] == 0 { throw Trap(uninitializedGlobal(ctx, w, scalar: true)) }
                regs[a] = ctx.globals.scalars[g]
            case .getGlobal4:
                let g = fieldBx(w)
                if ctx.globals.scalarInitialized[g] == 0 { throw Trap(uninitializedGlobal(ctx, w, scalar: true)) }
                (regs + a).update(from: ctx.globals.scalars + g, count: 4)
            case .getGlobalRef:
                let g = fieldBx(w)
                if ctx.globals.objectInitialized[g] == 0 { throw Trap(uninitializedGlobal(ctx, w, scalar: false)) }
                objs[a] = ctx.globals.loadObject(g)
            case .setGlobalRef:
                ctx.globals.storeObject(fieldBx(w), objs[a])
            case .setGlobal:
                let g = fieldBx(w)
                ctx.globals.scalars[g] = regs[a]
                ctx.globals.scalarInitialized[g] = 1
            case .setGlobal4:
                let g = fieldBx(w)
                (ctx.globals.scalars + g).update(from: regs + a, count: 4)
                ctx.globals.scalarInitialized[g] = 1
            case .kernel:
                try runKernel(entry, fieldB(w), a, regs, objs, state, ctx)
            case .print:
                printSite(entry, fieldBx(w), regs, objs, ctx)
            case .slice, .arrayLiteral, .builtin, .concat, .format, .getBool, .setBool, .checkLengths:
                try slowInstruction(w, entry, regs, objs, ctx)
            case .compare:
                regs[a] = compare(fieldK(w), regs, objs, fieldB(w), fieldC(w)) ? 1 : 0
            case .makeChan, .now, .sleep, .yield, .close:
                _ = try taskInstruction(w, regs, objs, state, ctx)
            case .send, .recv:
                if state.parksWithoutStack {
                    if try sendOrReceiveOrPark(w, regs, objs) { return .parked }
                } else {
                    _ = try taskInstruction(w, regs, objs, state, ctx)
                }
            case .recvOrJump:
                switch receiveOrJump(w, regs, objs, state) {
                case .received: break
                case .none:
                    if Scheduler.isStopping { throw Trap.stopped }
                    return .jump
                case .parked: return .parked
                }
            case .wait:
                if try taskInstruction(w, regs, objs, state, ctx) { return .parked }
            case .spawn:
                // The new task records where it was spawned from the top frame (TaskRunner.spawn):
                // this instruction's, whatever frames native code has above the interpreter's.
                let top = state.frameCount - 1
                let saved = state.frames[top]
                state.frames[top] = Frame(function: function, pc: pc + 1, base: saved.base)
                defer { state.frames[top] = saved }
                _ = try taskInstruction(w, regs, objs, state, ctx)
            case .retRef:
                // The result goes where the caller finds it, the frame's first object register, its
                // table entry with it; the rest of the frame is released, as by the interpreter's return.
                let result = objs[a]
                releaseObjects(objs + 1, entry.pointee.frameSize - 1)
                objs[0] = result
                if let table, let array = result as? VMArray {
                    table.storeBytes(of: UInt(bitPattern: array.data), toByteOffset: 0, as: UInt.self)
                    table.storeBytes(of: array.count, toByteOffset: 8, as: Int.self)
                }
                return .done
            case .ret, .ret0, .ret4:
                releaseObjects(objs, entry.pointee.frameSize)
                return .done
            default:
                throw Trap("instruction \(op.name) does not run as a step of native code")
            }
        } catch {
            state.pendingStepError = error.message
            return .failed
        }
        if let table, writesObject(op), let array = objs[a] as? VMArray {
            table.storeBytes(of: UInt(bitPattern: array.data), toByteOffset: a * 16, as: UInt.self)
            table.storeBytes(of: array.count, toByteOffset: a * 16 + 8, as: Int.self)
        }
        return .done
    }

    /// Whether a step's opcode writes an object to register A.
    private static func writesObject(_ op: Opcode) -> Bool {
        switch op {
        case .moveRef, .getGlobalRef, .kernel, .slice, .arrayLiteral, .builtin, .recv, .recvOrJump, .wait: return true
        default: return false
        }
    }

    /// Throws the error a step of native code met (runStep), if any, at the pc where the native code
    /// left it: called where the interpreter takes over from native code that did not return.
    @inline(never)
    static func throwPendingStepError(_ state: TaskState, function: Int, pc: Int) throws(Fault) {
        if let message = state.pendingStepError {
            state.pendingStepError = nil
            throw Fault(message: message, function: function, pc: pc)
        }
    }
}
