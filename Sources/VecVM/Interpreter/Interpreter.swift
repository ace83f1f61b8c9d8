// The dispatch loop: runs one task's frames until the task's first frame returns.
//
// Performance rules (STYLE.md, "hot loop"): the loop keeps the program counter, the frame's register
// pointers and the function's constant pool in locals; scalars stay unboxed in 64-bit slots; no ARC
// traffic and no class-property access happen on the path of a scalar instruction; references are
// touched only by instructions that deal in them. Cold paths (errors, builtins, kernels, channels)
// live in separate functions. The loop polls the task's preemption flag on backward jumps and on
// calls only (Lua's lvm.c habit), never per instruction.

import CJITStubs
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A runtime error inside the loop, before it is given its source location.
struct Fault: Error {
    var message: String
    var function: Int
    var pc: Int

    /// Not an error: the task's run has ended (`Scheduler.isStopping`), and the task unwinds —
    /// its frames return nothing and release what they hold (TaskRunner). Thrown where a blocking
    /// call came back with the news.
    static let stoppedMessage = "(the task's run has ended)"
    static var stopped: Fault { Fault(message: stoppedMessage, function: -1, pc: -1) }
    var isStop: Bool { message == Fault.stoppedMessage }
}

extension Trap {
    /// See `Fault.stopped` (a Trap becomes a Fault with the same message).
    static var stopped: Trap { Trap(Fault.stoppedMessage) }
}

@inline(__always) func fieldA(_ w: UInt64) -> Int { Int(truncatingIfNeeded: (w >> 8) & 0xFFFF) }
@inline(__always) func fieldK(_ w: UInt64) -> Int { Int(truncatingIfNeeded: (w >> 24) & 0xFF) }
@inline(__always) func fieldB(_ w: UInt64) -> Int { Int(truncatingIfNeeded: (w >> 32) & 0xFFFF) }
@inline(__always) func fieldC(_ w: UInt64) -> Int { Int(truncatingIfNeeded: w >> 48) }
@inline(__always) func fieldSB(_ w: UInt64) -> Int { Int(Int16(truncatingIfNeeded: w >> 32)) }
@inline(__always) func fieldSC(_ w: UInt64) -> Int { Int(Int16(truncatingIfNeeded: w >> 48)) }
@inline(__always) func fieldBx(_ w: UInt64) -> Int { Int(truncatingIfNeeded: w >> 32) }
@inline(__always) func fieldSBx(_ w: UInt64) -> Int { Int(Int32(truncatingIfNeeded: w >> 32)) }

@inline(__always) func asFloat(_ b: UInt64) -> Double { Double(bitPattern: b) }
@inline(__always) func asF32(_ b: UInt64) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: b)) }
@inline(__always) func bitsF32(_ f: Float) -> UInt64 { UInt64(f.bitPattern) }

/// Everything tasks of one VM share while they run.
final class ExecutionContext: @unchecked Sendable {
    /// Keeps the fields below off the cache line of the object's header: the P that spawns a task
    /// retains the context for it (its reference count is in the header), while the P that runs the
    /// task reads the fields — on one line, each spawn took the line from the reading P.
    private let headerLine: (Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0)
    let globals: GlobalStore
    let output: OutputSink
    let memory: MemoryAccount
    let fileName: String
    let stats: VMStats
    /// The engine whose native code the program's kernels run (nil: the evaluator runs them all).
    let jit: (any JITEngine)?
    /// The VM's budget of loop iterations and calls, when it has one (untrusted scripts).
    var fuel: FuelTank?
    /// `VMConfiguration.maxTasks`.
    var maxTasks: Int?
    /// Swift functions registered by the host, by index.
    var hostFunctions: [HostFunction] = []
    /// Arguments, standard input and file access (Interpreter/IOBuiltins.swift).
    var io = IOEnvironment()
    /// The scheduler's number of Ps: how many tasks a large kernel's chunks may run on (KernelRunner).
    var procs = 1
    /// Finished tasks' states for the run's next spawns (a run on the scheduler's). A constant, so
    /// that a spawn and a task's end reach it without retaining it (an atomic operation on an
    /// object every P touches).
    let taskStates: TaskStatePool?
    /// Set for a direct call, which runs on the host's thread outside any task: the word a cancel or
    /// a time limit sets to stop it (polled where a task polls its preempt flag). nil in tasks.
    var directStop: UnsafeMutablePointer<UInt32>?
    /// The embedding layer's instance whose code this is (host functions get it in their context).
    /// Weak: the instance keeps contexts for its direct calls.
    weak var instance: AnyObject?
    /// Names of globals by slot, for error messages.
    var scalarGlobalNames: [Int: String] = [:]
    var objectGlobalNames: [Int: String] = [:]

    func globalName(slot: Int, isObject: Bool) -> String {
        (isObject ? objectGlobalNames[slot] : scalarGlobalNames[slot]) ?? "#\(slot)"
    }

    init(
        globals: GlobalStore, output: OutputSink, memory: MemoryAccount, fileName: String, stats: VMStats,
        jit: (any JITEngine)?, taskStates: TaskStatePool? = nil
    ) {
        self.taskStates = taskStates
        self.globals = globals
        self.output = output
        self.memory = memory
        self.fileName = fileName
        self.stats = stats
        self.jit = jit
        if taskStates != nil { stats.runContextsLive.wrappingAdd(1, ordering: .relaxed) }
    }

    deinit {
        if taskStates != nil { stats.runContextsLive.wrappingSubtract(1, ordering: .relaxed) }
    }
}

enum Interpreter {
    /// The index of the instruction `pc` points at in `code` (`pc - code`, without the signed
    /// division's rounding fix-up: pc is never before code).
    @inline(__always)
    static func offset(_ pc: UnsafeMutablePointer<UInt64>, _ code: UnsafeMutablePointer<UInt64>) -> Int {
        (Int(bitPattern: pc) &- Int(bitPattern: code)) &>> 3
    }

    /// Runs `state` from its top frame until the task's first frame returns.
    static func execute(_ state: TaskState, _ ctx: ExecutionContext) throws(Fault) {
        // The loop's state lives in locals (registers), never in captured or address-taken variables:
        // slow paths get the current function as a pointer to its table entry.
        let entries = state.table.entries
        let top = state.frames[state.frameCount - 1]
        var function = top.function
        var base = top.base
        var code = entries[function].code
        var consts = entries[function].constants
        var pc = code + top.pc
        var regs = state.registers + base
        var objs = state.objects + base
        // A direct call (Embedding/DirectCall.swift) runs on the host's thread, not in a task: its
        // flag is the run's stop word, which only a cancel or a time limit sets.
        let preempt = ctx.directStop ?? Scheduler.preemptFlag()
        // Fuel: the loop iterations and calls this task may still make before asking the VM's
        // budget for more (Int.max when the VM has no budget: the check then never fires).
        var fuel = ctx.fuel == nil ? Int.max : 0
        // A task's body (or a direct call) that is a native function starts as native code, as a call
        // of it would; a task woken where it parked goes on as native code too, where its function
        // has an entry point (FunctionLowering+Steps).
        var entersNative = state.frameCount == 1 && top.pc == 0
        if state.parked {
            // Woken after parking without its stack: the send or receive at the top frame's pc
            // completes now (Channel.finishParked*), then the loop goes on after it; a wait runs again.
            state.parked = false
            entersNative = true
            do throws(Trap) {
                switch try finishParked(code[top.pc], regs, objs) {
                case .next: pc += 1
                case .jump: pc += 1 + fieldSC(code[top.pc])
                case .again: break
                }
            } catch {
                throw Fault(message: error.message, function: function, pc: top.pc)
            }
        }
        if entersNative, let native = entries[function].native, ctx.fuel == nil,
            isNativeEntry(entries + function, pc - code)
        {
            state.frames[state.frameCount - 1].pc = pc - code
            switch try resumeNatively(state, entries, native, preempt, ctx, direct: ctx.directStop != nil) {
            case .finished, .parked: return
            case .interpret: break
            }
            let t = state.frames[state.frameCount - 1]
            function = t.function
            base = t.base
            code = entries[function].code
            consts = entries[function].constants
            pc = code + t.pc
            regs = state.registers + base
            objs = state.objects + base
        }

        // Poll point of backward jumps and calls (Lua's "allows signals to stop tight loops"): written
        // out at each site, because a local function capturing the loop's variables would force them
        // into memory on every instruction.

        while true {
            let w = pc.pointee
            pc += 1
            let a = fieldA(w)
            switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: Opcode.self) {
            case .nop:
                break
            case .move:
                regs[a] = regs[fieldB(w)]
            case .moveRef:
                objs[a] = objs[fieldB(w)]
            case .move4:
                let b = fieldB(w)
                if a != b { (regs + a).update(from: regs + b, count: 4) }
            case .loadInt:
                regs[a] = UInt64(bitPattern: Int64(fieldSBx(w)))
            case .loadConst:
                regs[a] = consts[fieldBx(w)]
            case .loadConst4:
                (regs + a).update(from: consts + fieldBx(w), count: 4)
            case .loadString:
                objs[a] = entries[function].function._withUnsafeGuaranteedRef { $0.strings[fieldBx(w)] }
            case .clearRefs:
                let n = fieldB(w)
                releaseObjects(objs + a, n)
            case .getGlobal:
                let g = fieldBx(w)
                if ctx.globals.scalarInitialized[g] == 0 {
                    throw Fault(
                        message: uninitializedGlobal(ctx, w, scalar: true), function: function, pc: pc - code - 1)
                }
                regs[a] = ctx.globals.scalars[g]
            case .getGlobal4:
                let g = fieldBx(w)
                if ctx.globals.scalarInitialized[g] == 0 {
                    throw Fault(
                        message: uninitializedGlobal(ctx, w, scalar: true), function: function, pc: pc - code - 1)
                }
                (regs + a).update(from: ctx.globals.scalars + g, count: 4)
            case .getGlobalRef:
                let g = fieldBx(w)
                if ctx.globals.objectInitialized[g] == 0 {
                    throw Fault(
                        message: uninitializedGlobal(ctx, w, scalar: false), function: function, pc: pc - code - 1)
                }
                let value = ctx.globals.loadObject(g)
                // A slot that holds nil needs no release: initializing it over nil loses nothing.
                if objs[a] == nil { (objs + a).initialize(to: value) } else { objs[a] = value }
            case .setGlobal:
                let g = fieldBx(w)
                ctx.globals.scalars[g] = regs[a]
                ctx.globals.scalarInitialized[g] = 1
            case .setGlobal4:
                let g = fieldBx(w)
                (ctx.globals.scalars + g).update(from: regs + a, count: 4)
                ctx.globals.scalarInitialized[g] = 1
            case .setGlobalRef:
                ctx.globals.storeObject(fieldBx(w), objs[a])

            case .addInt:
                regs[a] = regs[fieldB(w)] &+ regs[fieldC(w)]
            case .subInt:
                regs[a] = regs[fieldB(w)] &- regs[fieldC(w)]
            case .mulInt:
                regs[a] = UInt64(bitPattern: Int64(bitPattern: regs[fieldB(w)]) &* Int64(bitPattern: regs[fieldC(w)]))
            case .divInt, .modInt:
                let x = Int64(bitPattern: regs[fieldB(w)])
                let y = Int64(bitPattern: regs[fieldC(w)])
                if y == 0 { throw Fault(message: "integer division by zero", function: function, pc: pc - code - 1) }
                let isDiv = UInt8(truncatingIfNeeded: w) == Opcode.divInt.rawValue
                // min / -1 overflows in hardware; the language wraps it (and min % -1 is 0).
                let r: Int64 = y == -1 ? (isDiv ? 0 &- x : 0) : (isDiv ? x / y : x % y)
                regs[a] = UInt64(bitPattern: r)
            case .addIntImm:
                regs[a] = regs[fieldB(w)] &+ UInt64(bitPattern: Int64(fieldSC(w)))
            case .negInt:
                regs[a] = 0 &- regs[fieldB(w)]
            case .addFloat:
                regs[a] = (asFloat(regs[fieldB(w)]) + asFloat(regs[fieldC(w)])).bitPattern
            case .subFloat:
                regs[a] = (asFloat(regs[fieldB(w)]) - asFloat(regs[fieldC(w)])).bitPattern
            case .mulFloat:
                regs[a] = (asFloat(regs[fieldB(w)]) * asFloat(regs[fieldC(w)])).bitPattern
            case .divFloat:
                regs[a] = (asFloat(regs[fieldB(w)]) / asFloat(regs[fieldC(w)])).bitPattern
            case .addFloatK:
                regs[a] = (asFloat(regs[fieldB(w)]) + asFloat(consts[fieldC(w)])).bitPattern
            case .subFloatK:
                regs[a] = (asFloat(regs[fieldB(w)]) - asFloat(consts[fieldC(w)])).bitPattern
            case .mulFloatK:
                regs[a] = (asFloat(regs[fieldB(w)]) * asFloat(consts[fieldC(w)])).bitPattern
            case .divFloatK:
                regs[a] = (asFloat(regs[fieldB(w)]) / asFloat(consts[fieldC(w)])).bitPattern
            case .negFloat:
                regs[a] = (-asFloat(regs[fieldB(w)])).bitPattern
            case .addF32:
                regs[a] = bitsF32(asF32(regs[fieldB(w)]) + asF32(regs[fieldC(w)]))
            case .subF32:
                regs[a] = bitsF32(asF32(regs[fieldB(w)]) - asF32(regs[fieldC(w)]))
            case .mulF32:
                regs[a] = bitsF32(asF32(regs[fieldB(w)]) * asF32(regs[fieldC(w)]))
            case .divF32:
                regs[a] = bitsF32(asF32(regs[fieldB(w)]) / asF32(regs[fieldC(w)]))
            case .negF32:
                regs[a] = bitsF32(-asF32(regs[fieldB(w)]))
            case .scalarMath:
                regs[a] = scalarMath(fieldK(w), regs[fieldB(w)], regs[fieldC(w)])
            case .scalarFma:
                let b = fieldB(w)
                regs[a] = scalarFma(fieldK(w), regs[b], regs[b + 1], regs[b + 2])

            case .ltInt:
                regs[a] = Int64(bitPattern: regs[fieldB(w)]) < Int64(bitPattern: regs[fieldC(w)]) ? 1 : 0
            case .leInt:
                regs[a] = Int64(bitPattern: regs[fieldB(w)]) <= Int64(bitPattern: regs[fieldC(w)]) ? 1 : 0
            case .eqInt:
                regs[a] = regs[fieldB(w)] == regs[fieldC(w)] ? 1 : 0
            case .neInt:
                regs[a] = regs[fieldB(w)] != regs[fieldC(w)] ? 1 : 0
            case .compare:
                regs[a] = compare(fieldK(w), regs, objs, fieldB(w), fieldC(w)) ? 1 : 0
            case .not:
                regs[a] = regs[fieldB(w)] == 0 ? 1 : 0

            case .jump:
                let off = fieldSBx(w)
                pc += off
                if off < 0 {
                    if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                    fuel &-= 1
                    if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                }
            case .jumpIfTrue:
                if regs[a] != 0 {
                    let off = fieldSBx(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfFalse:
                if regs[a] == 0 {
                    let off = fieldSBx(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfLtInt:
                if Int64(bitPattern: regs[a]) < Int64(bitPattern: regs[fieldB(w)]) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfLeInt:
                if Int64(bitPattern: regs[a]) <= Int64(bitPattern: regs[fieldB(w)]) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfEqInt:
                if Int64(bitPattern: regs[a]) == Int64(bitPattern: regs[fieldB(w)]) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfNeInt:
                if Int64(bitPattern: regs[a]) != Int64(bitPattern: regs[fieldB(w)]) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfLtImm:
                if Int64(bitPattern: regs[a]) < Int64(fieldSB(w)) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfLeImm:
                if Int64(bitPattern: regs[a]) <= Int64(fieldSB(w)) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfGtImm:
                if Int64(bitPattern: regs[a]) > Int64(fieldSB(w)) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfGeImm:
                if Int64(bitPattern: regs[a]) >= Int64(fieldSB(w)) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfEqImm:
                if Int64(bitPattern: regs[a]) == Int64(fieldSB(w)) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .jumpIfNeImm:
                if Int64(bitPattern: regs[a]) != Int64(fieldSB(w)) {
                    let off = fieldSC(w)
                    pc += off
                    if off < 0 {
                        if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                        fuel &-= 1
                        if fuel < 0 { fuel = try refuel(ctx, function, pc - off - code - 1) }
                    }
                }
            case .forPrep:
                if !(Int64(bitPattern: regs[a]) < Int64(bitPattern: regs[a + 1])) { pc += fieldSBx(w) }
            case .forLoop:
                let i = Int64(bitPattern: regs[a]) &+ 1
                regs[a] = UInt64(bitPattern: i)
                if i < Int64(bitPattern: regs[a + 1]) {
                    pc += fieldSBx(w)
                    if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                    fuel &-= 1
                    if fuel < 0 { fuel = try refuel(ctx, function, pc - fieldSBx(w) - code - 1) }
                }
            case .convert:
                regs[a] = convertScalar(fieldK(w), regs[fieldB(w)])

            case .call:
                let callee = fieldBx(w)
                // Wrapping arithmetic on the call path: registers and frames are counted in the
                // thousands, far from overflow, and a checked add is an instruction and a branch more.
                let newBase = base &+ a
                if newBase &+ entries[callee].frameSize > state.capacity
                    && !state.ensureCapacity(newBase + entries[callee].frameSize)
                {
                    throw Fault(message: state.growthFailure, function: function, pc: pc - code - 1)
                }
                var resumeAt = 0
                // Whether native code of the callee ran and left for the interpreter: only then can a
                // chain of native frames, a step's error or a park be pending.
                var leftNative = false
                if let native = entries[callee].native, ctx.fuel == nil {
                    // The callee runs as native code on the new frame's registers. It returns -1 when
                    // it returned, or the pc where the interpreter must take over ("deopt").
                    switch runNative(
                        entries + callee, native, state, newBase, preempt, ctx, direct: ctx.directStop != nil)
                    {
                    case -2:
                        throw Fault.stopped
                    case -1:
                        if entries[callee].usesReferences {
                            // A returned object is in the frame's first object register (FunctionLowering+Steps).
                            let result = entries[callee].resultStorage == .reference ? 1 : 0
                            releaseObjects(state.objects + newBase + result, entries[callee].frameSize - result)
                        }
                        // ensureCapacity may have moved the register stacks.
                        regs = state.registers + base
                        objs = state.objects + base
                        continue
                    case let at:
                        resumeAt = at
                        leftNative = true
                    }
                }
                let depth = state.frameCount
                state.frames[depth &- 1].pc = offset(pc, code)
                if depth < state.frameCapacity {
                    (state.frames + depth).initialize(to: Frame(function: callee, pc: 0, base: newBase))
                    state.frameCount = depth &+ 1
                } else if !state.pushFrame(Frame(function: callee, pc: 0, base: newBase)) {
                    throw Fault(message: state.growthFailure, function: function, pc: pc - code - 1)
                }
                function = callee
                base = newBase
                if leftNative {
                    let handedChain = state.pendingNativeChain != nil
                    if let chain = state.pendingNativeChain {
                        // Native calls below the callee left their frames (materializeNativeChain).
                        try materializeNativeChain(state, entries, chain, innermostPc: resumeAt, ctx)
                        let top = state.frames[state.frameCount - 1]
                        function = top.function
                        base = top.base
                        resumeAt = top.pc
                    }
                    if state.pendingStepError != nil {
                        try throwPendingStepError(state, function: function, pc: resumeAt)
                    }
                    if state.parkedInNative {
                        // A step of the native code parked the task without its stack: leave, at the step.
                        state.parkedInNative = false
                        state.frames[state.frameCount - 1].pc = resumeAt
                        state.parked = true
                        return
                    }
                    if handedChain, let native = resumableNative(state, entries, ctx) {
                        // The chain's innermost frame goes on as native code (resumableNative).
                        switch try resumeNatively(state, entries, native, preempt, ctx, direct: ctx.directStop != nil) {
                        case .finished, .parked: return
                        case .interpret:
                            let top = state.frames[state.frameCount - 1]
                            function = top.function
                            base = top.base
                            resumeAt = top.pc
                        }
                    }
                }
                code = entries[function].code
                consts = entries[function].constants
                pc = code + resumeAt
                regs = state.registers + base
                objs = state.objects + base
                if vm_load_relaxed_u32(preempt) != 0 { try preemptPoint(ctx, function, pc - code - 1) }
                fuel &-= 1
                if fuel < 0 { fuel = try refuel(ctx, function, pc - code - 1) }
            case .ret:
                // The return of one scalar, the common one (fib's): as below, without SIMD lanes or an
                // object to carry.
                let r0 = regs[a]
                if entries[function].usesReferences { releaseObjects(objs, entries[function].frameSize) }
                regs[0] = r0
                state.frameCount &-= 1
                if state.frameCount == 0 {
                    finishTask(state, ctx, fuel: fuel, result: (r0, 0, 0, 0), object: nil)
                    return
                }
                let caller = state.frames[state.frameCount &- 1]
                function = caller.function
                base = caller.base
                code = entries[function].code
                consts = entries[function].constants
                pc = code + caller.pc
                regs = state.registers + base
                objs = state.objects + base
            case .ret0, .retRef, .ret4:
                // Save the result, release the frame's references, put the result in the frame's first
                // register (where the caller expects it), and resume the caller.
                let kind = UInt8(truncatingIfNeeded: w)
                var r0: UInt64 = 0
                var r1: UInt64 = 0
                var r2: UInt64 = 0
                var r3: UInt64 = 0
                var ro: AnyObject? = nil
                if kind == Opcode.ret4.rawValue {
                    r0 = regs[a]
                    r1 = regs[a + 1]
                    r2 = regs[a + 2]
                    r3 = regs[a + 3]
                } else if kind == Opcode.retRef.rawValue {
                    ro = objs[a]
                }
                if entries[function].usesReferences {
                    releaseObjects(objs, entries[function].frameSize)
                }
                regs[0] = r0
                if kind == Opcode.ret4.rawValue {
                    regs[1] = r1
                    regs[2] = r2
                    regs[3] = r3
                }
                if ro != nil { objs[0] = ro }
                state.frameCount -= 1
                if state.frameCount == 0 {
                    finishTask(state, ctx, fuel: fuel, result: (r0, r1, r2, r3), object: ro)
                    return
                }
                let caller = state.frames[state.frameCount - 1]
                function = caller.function
                base = caller.base
                code = entries[function].code
                consts = entries[function].constants
                pc = code + caller.pc
                regs = state.registers + base
                objs = state.objects + base

            case .getInt, .getFloat, .getF32:
                // Borrow the array without retaining it: the object register keeps it alive.
                let i = Int64(bitPattern: regs[fieldC(w)])
                let isF32 = UInt8(truncatingIfNeeded: w) == Opcode.getF32.rawValue
                guard let p = UnsafeRawPointer(objs + fieldB(w)).load(as: UnsafeRawPointer?.self),
                    let v = Unmanaged<VMArray>.fromOpaque(p)._withUnsafeGuaranteedRef({ arr -> UInt64? in
                        guard UInt64(bitPattern: i) < UInt64(arr.count) else { return nil }
                        return isF32
                            ? UInt64(arr.data.load(fromByteOffset: Int(i) << 2, as: UInt32.self))
                            : arr.data.load(fromByteOffset: Int(i) << 3, as: UInt64.self)
                    })
                else { throw Fault(message: indexError(objs[fieldB(w)], i), function: function, pc: pc - code - 1) }
                regs[a] = v
            case .setInt, .setFloat, .setF32:
                let i = Int64(bitPattern: regs[fieldB(w)])
                let v = regs[fieldC(w)]
                let isF32 = UInt8(truncatingIfNeeded: w) == Opcode.setF32.rawValue
                guard let p = UnsafeRawPointer(objs + a).load(as: UnsafeRawPointer?.self),
                    Unmanaged<VMArray>.fromOpaque(p)._withUnsafeGuaranteedRef({ arr -> Bool in
                        guard UInt64(bitPattern: i) < UInt64(arr.count) else { return false }
                        if isF32 {
                            arr.data.storeBytes(
                                of: UInt32(truncatingIfNeeded: v), toByteOffset: Int(i) << 2, as: UInt32.self)
                        } else {
                            arr.data.storeBytes(of: v, toByteOffset: Int(i) << 3, as: UInt64.self)
                        }
                        return true
                    })
                else { throw Fault(message: indexError(objs[a], i), function: function, pc: pc - code - 1) }
            case .length:
                regs[a] = UInt64(objs[fieldB(w)].map { unsafeDowncast($0, to: VMArray.self).count } ?? 0)

            case .kernel:
                do throws(Trap) {
                    try runKernel(entries + function, fieldB(w), a, regs, objs, state, ctx)
                } catch {
                    throw Fault(message: error.message, function: function, pc: pc - code - 1)
                }
            case .print:
                printSite(entries + function, fieldBx(w), regs, objs, ctx)
            case .callExtern:
                do throws(Trap) {
                    regs[a] = try state.table.externs[fieldBx(w)].call(regs, objs, base: a)
                } catch {
                    throw Fault(message: error.message, function: function, pc: pc - code - 1)
                }
            case .callHost:
                do throws(Trap) {
                    try HostFunction.call(ctx.hostFunctions[fieldBx(w)], regs, objs, base: a, ctx, state)
                } catch {
                    throw Fault(message: error.message, function: function, pc: pc - code - 1)
                }
            case .slice, .arrayLiteral, .builtin, .concat, .format, .getBool, .setBool, .checkLengths:
                do throws(Trap) {
                    try slowInstruction(w, entries + function, regs, objs, ctx)
                } catch {
                    throw Fault(message: error.message, function: function, pc: pc - code - 1)
                }

            case .simdBinary, .simdUnary, .simdFma, .splat, .simdReduce, .simdCompare, .simdMask, .simdSelect:
                simdInstruction(w, regs)
            case .vload, .vstore, .lane:
                do throws(Trap) {
                    try simdMemory(w, regs, objs)
                } catch {
                    throw Fault(message: error.message, function: function, pc: pc - code - 1)
                }

            case .spawn, .wait, .makeChan, .send, .recv, .close, .yield, .sleep, .now:
                // The top frame's pc is otherwise stale: a spawn records where it happened.
                state.frames[state.frameCount - 1].pc = pc - code
                do throws(Trap) {
                    let op = UInt8(truncatingIfNeeded: w)
                    let parked =
                        state.parksWithoutStack && (op == Opcode.send.rawValue || op == Opcode.recv.rawValue)
                        ? try sendOrReceiveOrPark(w, regs, objs) : try taskInstruction(w, regs, objs, state, ctx)
                    if parked {
                        state.frames[state.frameCount - 1].pc = pc - code - 1
                        state.parked = true
                        if fuel > 0 && fuel != Int.max { ctx.fuel?.refund(fuel) }
                        return
                    }
                } catch {
                    throw Fault(message: error.message, function: function, pc: pc - code - 1)
                }
            case .io:
                do throws(Trap) {
                    try IOBuiltins.execute(w, entries + function, regs, objs, ctx)
                } catch {
                    throw Fault(message: error.message, function: function, pc: pc - code - 1)
                }
            case .recvOrJump:
                switch receiveOrJump(w, regs, objs, state) {
                case .received: break
                case .none:
                    if Scheduler.isStopping { throw Fault.stopped }
                    pc += fieldSC(w)
                case .parked:
                    state.frames[state.frameCount - 1].pc = pc - code - 1
                    state.parked = true
                    if fuel > 0 && fuel != Int.max { ctx.fuel?.refund(fuel) }
                    return
                }
            }
        }
    }

    /// Slots of a channel's buffer, allocated up front by the runtime.
    static let maxChannelCapacity = 1 << 24

    // MARK: Kernels

    @inline(never)
    static func runKernel(
        _ entry: UnsafePointer<FunctionEntry>, _ siteIndex: Int, _ dest: Int, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>, _ state: TaskState, _ ctx: ExecutionContext
    ) throws(Trap) {
        let site = entry.pointee.function._withUnsafeGuaranteedRef { $0.kernelSites[siteIndex] }
        let program = site.program
        let nIn = site.arrayRegisters.count
        // Inputs: data pointers and a common length.
        var count = -1
        let inputs = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: max(1, nIn))
        defer { inputs.deallocate() }
        for (k, r) in site.arrayRegisters.enumerated() {
            guard let o = objs[r] else { throw Trap("array input is missing") }
            let arr = unsafeDowncast(o, to: VMArray.self)
            if count >= 0 && arr.count != count {
                throw Trap("array length mismatch: \(count) vs \(arr.count)")
            }
            count = arr.count
            inputs[k] = UnsafeRawPointer(arr.data)
        }
        if count < 0 { count = 0 }
        let nScalars = site.scalarRegisters.count
        let scalars = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, nScalars))
        defer { scalars.deallocate() }
        for (k, r) in site.scalarRegisters.enumerated() { scalars[k] = regs[r] }

        switch program.output {
        case .reduce(let op, _):
            if count == 0 && (op == .min || op == .max) {
                throw Trap("\(op.name) of an empty array")
            }
            regs[dest] = try KernelRunner.run(
                site, inputs: inputs, scalars: scalars, count: count, output: nil,
                owners: site.arrayRegisters.map { objs[$0]! }, scratch: state.scratch, ctx: ctx)
        case .store:
            // Reuse the destination's buffer when nothing else can see it (it is about to be overwritten).
            // The register may hold any other object from an earlier use (a string, a channel): a
            // checked cast, never unsafeDowncast, or a non-array would be written over as one.
            var out: VMArray?
            if isKnownUniquelyReferenced(&objs[dest]), let old = objs[dest] as? VMArray {
                if old.count == count && old.kind == program.element { out = old }
            }
            if out == nil {
                do {
                    out = try VMArray.allocate(count: count, kind: program.element, account: ctx.memory)
                } catch {
                    throw Trap("out of memory (an array of \(count) \(program.element.name) elements)")
                }
            }
            let o = out!
            _ = try KernelRunner.run(
                site, inputs: inputs, scalars: scalars, count: count, output: o.data,
                owners: site.arrayRegisters.map { objs[$0]! } + [o], scratch: state.scratch, ctx: ctx)
            objs[dest] = o
        }
    }
}
