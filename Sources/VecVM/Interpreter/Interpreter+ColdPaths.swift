// The interpreter's cold paths (see Interpreter.swift): native functions entered and left, yields,
// fuel, error messages, scalar math and conversions, print sites.

import CJITStubs
import VMRuntime

extension Interpreter {
    // MARK: - Cold paths

    /// The array table passed to native functions that have no array parameters: a valid address
    /// (16 zero bytes, allocated once, never freed or written) that the code never reads.
    private static let noArrayTableAddress: UInt = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: 16)
        return UInt(bitPattern: p)
    }()
    static var noArrayTable: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: noArrayTableAddress)! }

    /// Runs a native function on the frame at `base` (JIT/FunctionLowering.swift) from its entry point
    /// `start` (0, or where a parked task goes on): -1 when it returned, -2 when the task's run ended
    /// at a yield (it must unwind), else the pc where the interpreter goes on —
    /// `state.parkedInNative` set when a step parked the task there. A yield at a loop back-edge
    /// comes back here only where there is no task to yield (a direct call) or the run has ended.
    @inline(never)
    static func runNative(
        _ entry: UnsafePointer<FunctionEntry>, _ native: UnsafeRawPointer, _ state: TaskState, _ base: Int,
        _ preempt: UnsafeMutablePointer<UInt32>, _ ctx: ExecutionContext, direct: Bool, start: Int = 0
    ) -> Int {
        let e = entry.pointee
        // Inlined and native callees use registers past the frame (their windows): room for them
        // first, or the interpreter runs the function.
        if base + e.nativeFrameExtent > state.capacity && !state.ensureCapacity(base + e.nativeFrameExtent) {
            return start
        }
        // A function without array parameters, steps or callees that have them never reads the
        // table (rsi is then one of its registers): no allocation for it, which a task whose body is
        // such a function would make. The table covers the register stack from this frame on, for
        // native callees' frames (each one's table is its caller's from the call's window on).
        let table =
            e.nativeUsesArrayTable
            ? state.arrayTable(slots: e.nativeMakesCalls ? state.capacity - base : e.frameSize)
            : Interpreter.noArrayTable
        let objs = state.objects + base
        if start != 0 && e.nativeUsesArrayTable {
            // Arrays the frame made before it parked, or received since: every array register's entry.
            for s in 0..<e.frameSize {
                if let o = objs[s], let arr = o as? VMArray {
                    table.storeBytes(of: UInt(bitPattern: arr.data), toByteOffset: s * 16, as: UInt.self)
                    table.storeBytes(of: arr.count, toByteOffset: s * 16 + 8, as: Int.self)
                }
            }
        }
        for j in 0..<e.nativeArrayCount {
            let s = e.nativeArraySlots![j]
            if let o = objs[s] {
                let arr = unsafeDowncast(o, to: VMArray.self)
                table.storeBytes(of: UInt(bitPattern: arr.data), toByteOffset: s * 16, as: UInt.self)
                table.storeBytes(of: arr.count, toByteOffset: s * 16 + 8, as: Int.self)
            } else {
                table.storeBytes(of: 0, toByteOffset: s * 16, as: UInt.self)
                table.storeBytes(of: 0, toByteOffset: s * 16 + 8, as: Int.self)
            }
        }
        let fn = unsafeBitCast(native, to: NativeFunctionEntry.self)
        // Native calls need the context: the machine stack they may use below this frame (the
        // address of a local is this frame's stack pointer, near enough), the register stack's end
        // and the chain a deopt leaves (see materializeNativeChain).
        var context: NativeCallContext?
        if e.nativeNeedsContext {
            var marker = 0
            let sp = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
            guard let c = state.nativeCallContext(sp: sp, direct: direct, chain: e.nativeMakesCalls) else {
                return start
            }
            c.bind(state: state, execution: ctx)
            context = c
        }
        var start = start
        while true {
            let r = fn(state.registers + base, UnsafeRawPointer(table), preempt, start, context?.memory)
            if r == -1 { return -1 }
            let at = Int(r & ~(FunctionLowering.preemptBit | FunctionLowering.parkedBit))
            if r & FunctionLowering.parkedBit != 0 {
                state.parkedInNative = true
                return at
            }
            if let context, context.chainCount > 0 {
                // Native callees left frames: yield if asked, and let the caller rebuild them. (A loop's
                // poll yields in place, NativeYieldHelper, and leaves with this bit only when the run
                // has ended: another yield now would abandon the task instead of unwinding it.)
                if r & FunctionLowering.preemptBit != 0 && !direct && (Scheduler.isStopping || Scheduler.preemptPoint())
                {
                    context.chainCount = 0
                    return -2
                }
                return at
            }
            guard r & FunctionLowering.preemptBit != 0 else { return at }
            // A direct call has no task to yield: the interpreter goes on at `at` and stops at its
            // next poll of the same flag.
            if direct { return at }
            if Scheduler.isStopping || Scheduler.preemptPoint() { return -2 }
            if !isNativeEntry(entry, at) { return at }
            start = at
        }
    }

    /// What became of a frame run as native code from `resumeNatively`.
    enum NativeOutcome {
        /// The task's first frame returned: the task's result is set and its frame gone.
        case finished
        /// The interpreter goes on at the top frame's pc (a deopt: the frames it left are rebuilt;
        /// or the frame returned to an interpreted caller, which goes on after its call).
        case interpret
        /// A step parked the task without its stack: the interpreter leaves `execute`.
        case parked
    }

    /// Runs the top frame, a native function's at one of its entry points (pc 0 of a task's first
    /// frame or a direct call, or where a parked task goes on), as native code; and again each time
    /// it hands a chain of native calls over at a native entry (resumableNative).
    @inline(never)
    static func resumeNatively(
        _ state: TaskState, _ entries: UnsafePointer<FunctionEntry>, _ native: UnsafeRawPointer,
        _ preempt: UnsafeMutablePointer<UInt32>, _ ctx: ExecutionContext, direct: Bool
    ) throws(Fault) -> NativeOutcome {
        var native = native
        while true {
            let top = state.frames[state.frameCount - 1]
            let entry = entries + top.function
            switch runNative(entry, native, state, top.base, preempt, ctx, direct: direct, start: top.pc) {
            case -2:
                throw Fault.stopped
            case -1:
                // runNative may have grown (moved) the register stacks.
                let regs = state.registers + top.base
                let objs = state.objects + top.base
                if state.frameCount > 1 {
                    // Back to an interpreted caller, which finds the result in the frame's first
                    // register, as after the interpreter's `ret`.
                    if entry.pointee.usesReferences {
                        let result = entry.pointee.resultStorage == .reference ? 1 : 0
                        releaseObjects(objs + result, entry.pointee.frameSize - result)
                    }
                    state.frameCount -= 1
                    return .interpret
                }
                switch entry.pointee.resultStorage {
                case .scalar: state.task.result = (regs[0], 0, 0, 0)
                case .simd: state.task.result = (regs[0], regs[1], regs[2], regs[3])
                case .reference:
                    state.task.result = (0, 0, 0, 0)
                    state.task.resultObject = objs[0]
                case .none: state.task.result = (0, 0, 0, 0)
                }
                if entry.pointee.usesReferences {
                    releaseObjects(objs, entry.pointee.frameSize)
                }
                state.frameCount = 0
                state.task.finished = true
                return .finished
            case let at:
                let chain = state.pendingNativeChain
                if let chain {
                    try materializeNativeChain(state, entries, chain, innermostPc: at, ctx)
                } else {
                    state.frames[state.frameCount - 1].pc = at
                }
                let t = state.frames[state.frameCount - 1]
                try throwPendingStepError(state, function: t.function, pc: t.pc)
                if state.parkedInNative {
                    state.parkedInNative = false
                    state.parked = true
                    return .parked
                }
                guard chain != nil, let next = resumableNative(state, entries, ctx) else { return .interpret }
                native = next
            }
        }
    }

    /// The native code the top frame goes on in after a chain of native calls was handed to the
    /// interpreter (materializeNativeChain), when that frame is at an entry point of its function's
    /// native code — a call entry found the machine or register stack short, or the flag set (the
    /// task has yielded since): rather than the rest of that call interpreted, a long loop in it run
    /// at the interpreter's speed to its end. Each hand-over materializes at least one frame more, so
    /// going on again each time ends (in a return, or the interpreter's own stack overflow error).
    static func resumableNative(
        _ state: TaskState, _ entries: UnsafePointer<FunctionEntry>, _ ctx: ExecutionContext
    ) -> UnsafeRawPointer? {
        let top = state.frames[state.frameCount - 1]
        guard ctx.fuel == nil, let native = entries[top.function].native, isNativeEntry(entries + top.function, top.pc)
        else { return nil }
        ctx.stats.nativeChainsResumed.wrappingAdd(1, ordering: .relaxed)
        return native
    }

    /// Whether `pc` is an entry point of the native code of `entry`'s function.
    static func isNativeEntry(_ entry: UnsafePointer<FunctionEntry>, _ pc: Int) -> Bool {
        // A plain loop: `(0..<n).contains { }` went through Range's generic index witnesses here
        // (about 70 instructions a call, and a task's body makes one or two).
        guard let entries = entry.pointee.nativeEntries else { return false }
        for i in 0..<entry.pointee.nativeEntryCount where entries[i] == pc { return true }
        return false
    }

    /// Rebuilds the interpreter frames of a chain of native calls that a deopt left (see
    /// FunctionLowering's native calls): the frame on top is the outermost native function's; each
    /// pc in the chain (innermost caller first) is a `call` whose callee gets a frame above its
    /// caller's, the innermost goes on at `innermostPc`. Growing the stacks as the interpreter's own
    /// `call` does, it fails where the interpreter would have: at that `call`, "stack overflow".
    @inline(never)
    static func materializeNativeChain(
        _ state: TaskState, _ entries: UnsafePointer<FunctionEntry>, _ chain: NativeCallContext, innermostPc: Int,
        _ ctx: ExecutionContext
    ) throws(Fault) {
        ctx.stats.nativeChainsLeft.wrappingAdd(1, ordering: .relaxed)
        let n = chain.chainCount
        chain.chainCount = 0
        for i in stride(from: n - 1, through: 0, by: -1) {
            let caller = state.frames[state.frameCount - 1]
            let callPc = Int(chain.chain![i])
            let ins = Instruction(word: entries[caller.function].code[callPc])
            let callee = ins.bx
            let newBase = caller.base + ins.a
            state.frames[state.frameCount - 1].pc = callPc + 1
            let size = entries[callee].frameSize
            guard newBase + size <= state.capacity || state.ensureCapacity(newBase + size),
                state.pushFrame(Frame(function: callee, pc: 0, base: newBase))
            else {
                throw Fault(message: state.growthFailure, function: caller.function, pc: callPc)
            }
        }
        state.frames[state.frameCount - 1].pc = innermostPc
    }

    /// A poll found the flag set: a task yields (and never resumes if its run was stopped); a direct
    /// call, which has no task, was stopped by the host or its time limit and ends here.
    @inline(never)
    static func preemptPoint(_ ctx: ExecutionContext, _ function: Int, _ pc: Int) throws(Fault) {
        if ctx.directStop != nil {
            throw Fault(message: "stopped by the host", function: function, pc: pc)
        }
        // An unwinding scheduler tells a task of a run that ended to return from its body.
        if Scheduler.preemptPoint() { throw Fault.stopped }
    }

    /// Takes the next chunk of the VM's fuel budget, or ends the task with "fuel exhausted".
    @inline(never)
    static func refuel(_ ctx: ExecutionContext, _ function: Int, _ pc: Int) throws(Fault) -> Int {
        guard let tank = ctx.fuel else { return Int.max }
        let chunk = tank.take(FuelTank.chunk)
        if chunk <= 0 {
            throw Fault(
                message: "fuel exhausted (the VM's budget of \(tank.budget) loop iterations and calls is spent)",
                function: function, pc: pc)
        }
        return chunk
    }

    @inline(never)
    static func uninitializedGlobal(_ ctx: ExecutionContext, _ w: UInt64, scalar: Bool) -> String {
        let name = ctx.globalName(slot: fieldBx(w), isObject: !scalar)
        return "global variable '\(name)' is used before its declaration has run"
    }

    @inline(never)
    static func indexError(_ o: AnyObject?, _ i: Int64) -> String {
        let n = o.map { unsafeDowncast($0, to: VMArray.self).count } ?? 0
        return "index \(i) out of bounds for array of length \(n)"
    }

    @inline(never)
    static func scalarMath(_ k: Int, _ x: UInt64, _ y: UInt64) -> UInt64 {
        let op = MathOp(rawValue: UInt8(k >> 2)) ?? .min
        switch ElementKind(rawValue: UInt8(k & 3)) ?? .int {
        case .int, .bool:
            let a = Int64(bitPattern: x)
            let b = Int64(bitPattern: y)
            switch op {
            case .min: return UInt64(bitPattern: Int64.kMin(a, b))
            case .max: return UInt64(bitPattern: Int64.kMax(a, b))
            // The checker allows only abs, min and max on ints.
            case .abs, .sqrt, .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round, .pow:
                return UInt64(bitPattern: Int64.kAbs(a))
            }
        case .float: return lanewise(op, asFloat(x), asFloat(y)).bitPattern
        case .f32: return bitsF32(lanewise(op, asF32(x), asF32(y)))
        }
    }

    @inline(__always)
    static func lanewise<T: KernelLane & BinaryFloatingPoint>(_ op: MathOp, _ a: T, _ b: T) -> T {
        switch op {
        case .min: T.kMin(a, b)
        case .max: T.kMax(a, b)
        case .abs: T.kAbs(a)
        case .sqrt: a.squareRoot()
        case .exp: T.kMath(.exp, a)
        case .log: T.kMath(.log, a)
        case .sin: T.kMath(.sin, a)
        case .cos: T.kMath(.cos, a)
        case .tanh: T.kMath(.tanh, a)
        case .floor: T.kMath(.floor, a)
        case .ceil: T.kMath(.ceil, a)
        case .round: T.kMath(.round, a)
        case .pow: T.kPow(a, b)
        }
    }

    @inline(never)
    static func scalarFma(_ k: Int, _ x: UInt64, _ y: UInt64, _ z: UInt64) -> UInt64 {
        switch ElementKind(rawValue: UInt8(k)) ?? .int {
        case .int, .bool: return Int64.kFma(Int64(bitPattern: x), Int64(bitPattern: y), Int64(bitPattern: z)).bits
        case .float: return Double.kFma(asFloat(x), asFloat(y), asFloat(z)).bits
        case .f32: return Float.kFma(asF32(x), asF32(y), asF32(z)).bits
        }
    }

    @inline(never)
    static func compare(
        _ k: Int, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, _ b: Int, _ c: Int
    ) -> Bool {
        let op = CompareOp(rawValue: UInt8(k >> 3)) ?? .eq
        switch CompareClass(rawValue: UInt8(k & 7)) ?? .int {
        case .float:
            let x = asFloat(regs[b])
            let y = asFloat(regs[c])
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .lt: return x < y
            case .le: return x <= y
            }
        case .f32:
            let x = asF32(regs[b])
            let y = asF32(regs[c])
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .lt: return x < y
            case .le: return x <= y
            }
        case .str:
            let x = (objs[b] as? VMString)?.value ?? ""
            let y = (objs[c] as? VMString)?.value ?? ""
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .lt: return x < y
            case .le: return x <= y
            }
        case .int:
            let x = Int64(bitPattern: regs[b])
            let y = Int64(bitPattern: regs[c])
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .lt: return x < y
            case .le: return x <= y
            }
        }
    }

    /// `int(x)` of a float truncates toward zero; NaN and values outside the int range give
    /// Int.min, the value x86's cvttsd2si produces, so that native code agrees.
    @inline(__always)
    static func truncateToInt(_ d: Double) -> Int64 {
        d.isNaN || !(d > -9.223372036854775808e18 - 1025 && d < 9.223372036854775808e18) ? Int64.min : Int64(d)
    }

    static func convertScalar(_ k: Int, _ x: UInt64) -> UInt64 {
        let from = ElementKind(rawValue: UInt8(k >> 4)) ?? .int
        let to = ElementKind(rawValue: UInt8(k & 15)) ?? .int
        switch (from, to) {
        case (.int, .float): return Double(Int64(bitPattern: x)).bitPattern
        case (.int, .f32): return bitsF32(Float(Int64(bitPattern: x)))
        case (.float, .int): return UInt64(bitPattern: truncateToInt(asFloat(x)))
        case (.float, .f32): return bitsF32(Float(asFloat(x)))
        case (.f32, .int): return UInt64(bitPattern: truncateToInt(Double(asF32(x))))
        case (.f32, .float): return Double(asF32(x)).bitPattern
        default: return x
        }
    }

    @inline(never)
    static func printSite(
        _ entry: UnsafePointer<FunctionEntry>, _ index: Int, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>, _ ctx: ExecutionContext
    ) {
        let site = entry.pointee.function._withUnsafeGuaranteedRef { $0.printSites[index] }
        var line = ""
        for (i, (r, t)) in zip(site.registers, site.types).enumerated() {
            if i > 0 { line += " " }
            line += ValueFormatter.value(regs, objs, r, t)
        }
        line += "\n"
        ctx.output.write(line)
    }

    /// The task's first frame returned: its result goes to the task, and what is left of the last
    /// chunk of fuel goes back, so that the fuel a run used is exact.
    static func finishTask(
        _ state: TaskState, _ ctx: ExecutionContext, fuel: Int, result: (UInt64, UInt64, UInt64, UInt64),
        object: AnyObject?
    ) {
        if fuel > 0 && fuel != Int.max { ctx.fuel?.refund(fuel) }
        state.task.result = result
        state.task.resultObject = object
        state.task.finished = true
    }
}
