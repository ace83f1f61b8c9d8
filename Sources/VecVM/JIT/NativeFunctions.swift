// Functions compiled whole to native code (FunctionLowering), kept on the Function object: a function
// is lowered once by the JIT engine of its program (JITEngine.swift: X86JIT.lookup), the first time a
// program that contains it runs with the JIT on, whatever the number of runs, and its code is freed
// with it (NativeCode). This file holds what that code needs at run time: the task's
// NativeCallContext, the NativeFunction with its tables, the CallCells of cycles of calls, and the
// helpers native code calls (math, steps, yields).

import VMRuntime

/// The native entry of a function (see FunctionLowering.swift for the ABI).
typealias NativeFunctionEntry =
    @convention(c) (
        UnsafeMutablePointer<UInt64>, UnsafeRawPointer, UnsafePointer<UInt32>, Int, UnsafeMutableRawPointer?
    )
    -> Int64

/// What native calls between lowered functions need of their task, in raw memory that the code
/// reads at fixed offsets (pinned by NativeCallTests):
///
///     +0  stackLimit     lowest rsp at which a native call may start a frame
///     +8  registersEnd   one past the end of the task's register stack
///     +16 chain          UInt32 pcs of the native calls a deopt left, innermost caller first
///     +24 chainCount
///
/// The chain cannot overflow: a native frame takes at least 40 bytes of machine stack (its return
/// address and 32 bytes of scratch), the calls stop at `stackLimit`, at most `stackBudget` below
/// where the interpreter entered the native code, so there are at most `stackBudget / 40` levels.
final class NativeCallContext {
    static let stackLimitOffset = 0
    static let registersEndOffset = 8
    static let chainOffset = 16
    static let chainCountOffset = 24
    /// The task's state and the run's ExecutionContext, unretained, for NativeStepHelper: the state
    /// owns this context, and the execution context outlives every run of native code on it.
    static let taskStateOffset = 32
    static let executionOffset = 40
    /// The task's function table's entries (TaskState.table, which the state keeps alive).
    static let entriesOffset = 48
    static let size = 56
    /// Machine stack a chain of native calls may use below the interpreter's frame. Deeper
    /// recursion goes back to the interpreter, which rebuilds the frames and calls natively again
    /// from the top of the stack.
    static let stackBudget = 32 << 10
    /// Stack kept free below the limit of a task's stack: the asynchronous preemption trampoline
    /// (which saves the vector state there) and the scheduler code it runs.
    static let stackReserve = 16 << 10
    static let chainCapacity = stackBudget / 40 + 2
    /// Bytes this costs a task (charged to its memory account by TaskState): the context, and the
    /// chain once a function that calls natively runs (`withChain`).
    static let bytes = size
    static let chainBytes = chainCapacity * 4

    let memory: UnsafeMutableRawPointer
    /// The chain of call pcs a deopt leaves (nil until native code that calls runs on this context:
    /// a task whose native code only runs steps needs none, and is spared its 3 KB).
    private(set) var chain: UnsafeMutablePointer<UInt32>?

    init() {
        memory = .allocate(byteCount: NativeCallContext.size, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: NativeCallContext.size)
    }

    /// Allocates the chain (once).
    func addChain() {
        guard chain == nil else { return }
        let c = UnsafeMutablePointer<UInt32>.allocate(capacity: NativeCallContext.chainCapacity)
        chain = c
        memory.storeBytes(of: UInt(bitPattern: c), toByteOffset: NativeCallContext.chainOffset, as: UInt.self)
    }

    deinit {
        memory.deallocate()
        chain?.deallocate()
    }

    /// Records the task's state and the run's ExecutionContext for the steps of the native code
    /// about to run (unretained: see `taskStateOffset`).
    func bind(state: TaskState, execution: ExecutionContext) {
        memory.storeBytes(
            of: Unmanaged.passUnretained(state).toOpaque(), toByteOffset: NativeCallContext.taskStateOffset,
            as: UnsafeMutableRawPointer.self)
        memory.storeBytes(
            of: Unmanaged.passUnretained(execution).toOpaque(), toByteOffset: NativeCallContext.executionOffset,
            as: UnsafeMutableRawPointer.self)
        memory.storeBytes(
            of: UnsafeMutableRawPointer(state.table.entries), toByteOffset: NativeCallContext.entriesOffset,
            as: UnsafeMutableRawPointer.self)
    }

    var chainCount: Int {
        get { memory.load(fromByteOffset: NativeCallContext.chainCountOffset, as: Int.self) }
        set { memory.storeBytes(of: newValue, toByteOffset: NativeCallContext.chainCountOffset, as: Int.self) }
    }

    /// Sets the limits for an entry from the interpreter at stack pointer `sp`: the calls may use
    /// `stackBudget` bytes below it, and never the last `stackReserve` bytes above `stackLow` (the
    /// task's lowest usable byte; 0 when not on a task's stack).
    func prepare(sp: UInt, stackLow: UInt, registersEnd: UnsafeMutablePointer<UInt64>) {
        var limit = sp &- UInt(NativeCallContext.stackBudget)
        if stackLow != 0 { limit = max(limit, stackLow + UInt(NativeCallContext.stackReserve)) }
        if limit > sp { limit = sp }
        memory.storeBytes(of: limit, toByteOffset: NativeCallContext.stackLimitOffset, as: UInt.self)
        memory.storeBytes(
            of: UInt(bitPattern: registersEnd), toByteOffset: NativeCallContext.registersEndOffset, as: UInt.self)
        chainCount = 0
    }
}

/// One lowered function; its code and tables go with it.
final class NativeFunction: @unchecked Sendable {
    // @unchecked Sendable: immutable after init.
    let name: String
    let code: NativeCode
    var entry: UnsafeRawPointer { code.address }
    let arraySlots: UnsafeMutablePointer<Int>
    let arraySlotCount: Int
    let entries: UnsafeMutablePointer<Int>
    let entryCount: Int
    /// Offset of the entry for native callers (FunctionLowering's call entry).
    let callEntryOffset: Int
    /// The lowered functions this one calls: their code must live as long as this code.
    let callees: [NativeFunction]
    /// Whether the code calls or runs steps (and so needs a NativeCallContext).
    let needsContext: Bool
    /// Whether it calls natively (its context needs a chain, and its array table, if it has one,
    /// must cover its callees' frames).
    let makesCalls: Bool
    /// Whether the code reads the array table (array parameters, or arrays its steps make).
    let usesArrayTable: Bool
    /// Whether it runs instructions through the runtime (FunctionLowering+Steps): never called natively.
    let hasSteps: Bool
    /// Registers from the frame's start the code may touch (more than the frame when a callee is
    /// inlined): the register stack must have them before the code runs.
    let frameExtent: Int
    /// Registers from the frame's start that the code and the native functions it calls may touch,
    /// down every chain of calls that does not recurse (a recursive call counts its callee's frame
    /// once): what the interpreter makes room for before it enters the code (runNative). Each call
    /// entry checks only its own frameExtent and, when the register stack is short, leaves for the
    /// interpreter at the callee's pc 0 — which then ran that callee's whole call interpreted, loops
    /// included (spectral-norm's first multiplyAv: a million iterations, a fifth of the run).
    let reachExtent: Int
    /// The cells of functions this one calls that were lowered after it (a cycle of calls).
    let callCells: [CallCell]
    /// The cell that callers lowered before this function call it through, if any: pointed back
    /// at the interpreter when this code is freed. Set once, under its engine's lock, before the
    /// function is published.
    var ownCell: CallCell?

    init(
        name: String, code: NativeCode, arraySlots: [Int], entries: [Int], callEntryOffset: Int = 0,
        callees: [NativeFunction] = [], needsContext: Bool = false, makesCalls: Bool = false,
        usesArrayTable: Bool = false, hasSteps: Bool = false, frameExtent: Int = 0, reachExtent: Int = 0,
        callCells: [CallCell] = []
    ) {
        self.callCells = callCells
        self.name = name
        self.code = code
        self.callEntryOffset = callEntryOffset
        self.callees = callees
        self.needsContext = needsContext
        self.makesCalls = makesCalls
        self.usesArrayTable = usesArrayTable || !arraySlots.isEmpty
        self.hasSteps = hasSteps
        self.frameExtent = frameExtent
        self.reachExtent = max(reachExtent, frameExtent)
        self.arraySlots = .allocate(capacity: max(1, arraySlots.count))
        for (i, s) in arraySlots.enumerated() { self.arraySlots[i] = s }
        arraySlotCount = arraySlots.count
        self.entries = .allocate(capacity: max(1, entries.count))
        for (i, e) in entries.enumerated() { self.entries[i] = e }
        entryCount = entries.count
    }

    deinit {
        ownCell?.reset()
        arraySlots.deallocate()
        entries.deallocate()
    }
}

/// What the JIT made of a function (Function.nativeState).
enum NativeFunctionState {
    case untried
    /// Being lowered. A call back to it from a callee's lowering is a cycle (mutual recursion): the
    /// callee calls it through its `CallCell`, made then.
    case lowering(CallCell?)
    case native(NativeFunction)
    case interpreted(String)
}

/// What `X86JIT.lookup` found.
enum NativeLookup {
    case native(NativeFunction)
    /// The function is being lowered further down the stack (a cycle of calls): call it through
    /// its cell, which holds its call entry once it is native.
    case pending(CallCell)
    case interpreted(String)
}

/// The address native callers call a function through when they were lowered before it: in a cycle
/// of calls (f calls g calls f), g is lowered while f is, so g's code calls f with
/// `mov rax, cell; call [rax]`. Until f is native, and again once f's code is freed, the cell holds
/// the address of a stub that answers "go on in the interpreter at pc 0" (rax = 0, carry set), as
/// the call entry's own checks do: the caller records its call in the chain and the interpreter
/// runs f from its start, so a call through the cell is always right, and native once f is.
/// Native code keeps the cells it calls through (NativeFunction.callCells); a cell keeps nothing,
/// so a cycle of functions holds no cycle of references.
final class CallCell: @unchecked Sendable {
    // @unchecked Sendable: `slot` is one aligned word, written by `install` and `reset` (under
    // the engine's lock, and from NativeFunction.deinit) and read by native code; x86-64
    // stores and loads of an aligned word are atomic.
    let slot: UnsafeMutablePointer<UInt>

    init() {
        slot = .allocate(capacity: 1)
        slot.pointee = CallCell.interpretStubAddress
    }

    deinit { slot.deallocate() }

    /// Points the cell at `f`'s call entry.
    func install(_ f: NativeFunction) {
        slot.pointee = UInt(bitPattern: f.entry) + UInt(f.callEntryOffset)
    }

    /// Points the cell back at the stub (`f`'s code is being freed).
    func reset() { slot.pointee = CallCell.interpretStubAddress }

    /// `xor eax, eax; stc; ret`: the answer of a callee that goes on in the interpreter at pc 0.
    /// Kept for the life of the process (a few bytes of the code heap). 0 where there is no code
    /// heap: then no function is native and no cell is called.
    static let interpretStub: NativeCode? = {
        var a = X86Assembler()
        a.xor(.eax, .eax)
        a.stc()
        a.ret()
        guard let bytes = try? a.finalize() else { return nil }
        return NativeCode(bytes)
    }()

    static var interpretStubAddress: UInt { interpretStub.map { UInt(bitPattern: $0.address) } ?? 0 }
}

/// The one function native code calls that is not native code: the math functions (exp, log, sin,
/// cos, tanh, pow) of a scalar or a SIMD value, computed by the interpreter's own code
/// (`Interpreter.scalarMath`, `Interpreter.simdMath`), so a native function gives the bits
/// `--no-jit` gives. Native code writes the operands to their register slots and calls `entry`
/// (FunctionLowering.emitMathHelperCall); a signal that lands inside it finds no JIT code under
/// the pc and leaves the preemption to the code's next poll, as in any Swift code.
enum NativeMathHelper {
    /// `code`: the instruction's K field, with `simdBit` set for a SIMD instruction (K = op << 1 |
    /// isF64) and clear for a scalar one (K = op << 2 | element kind). `x`, `y`, `out`: register
    /// slots (one for a scalar, four for a SIMD value); `y` is read by pow only.
    typealias Entry =
        @convention(c) (UInt32, UnsafeMutablePointer<UInt64>, UnsafePointer<UInt64>, UnsafePointer<UInt64>) -> Void

    static let simdBit: UInt32 = 1 << 31

    static let entry: Entry = { code, out, x, y in
        if code & NativeMathHelper.simdBit != 0 {
            let k = Int(code & ~NativeMathHelper.simdBit)
            Interpreter.simdMath(SimdOp(rawValue: UInt8(k >> 1)) ?? .exp, isF64: k & 1 == 1, x, y, into: out)
        } else {
            out.pointee = Interpreter.scalarMath(Int(code), x.pointee, y.pointee)
        }
    }

    static var address: Int64 { Int64(Int(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self))) }
}

/// The runtime's side of the instructions native code runs through it (FunctionLowering+Steps.swift):
/// native code calls `entry` with its context (rbp), the frame's registers, its array table (or
/// nil), the instruction's pc and the function's index; the helper runs the interpreter's code for
/// that one instruction (Interpreter.runStep) and answers 0, 1 when the instruction failed (the
/// error is left in the task's state for the interpreter to throw), 2 when it parked the task
/// without its stack, 3 when a `recvOrJump` takes its jump (Interpreter.StepAnswer). Like the math helper, it is
/// Swift code: a preemption signal that lands in it is left to the native code's next poll. A
/// kernel may park the task (a parallel kernel's chunks): the native frames below wait on the
/// task's stack, as the interpreter's would.
enum NativeStepHelper {
    typealias Entry =
        @convention(c) (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt64>, UnsafeMutableRawPointer?, UInt32, UInt32)
        -> Int32

    static let entry: Entry = { context, regs, table, pc, function in
        // Borrowed, not retained: the state owns this context, and the execution context outlives it.
        let entries = context.load(fromByteOffset: NativeCallContext.entriesOffset, as: UnsafeMutableRawPointer.self)
            .assumingMemoryBound(to: FunctionEntry.self)
        return Unmanaged<TaskState>.fromOpaque(
            context.load(fromByteOffset: NativeCallContext.taskStateOffset, as: UnsafeRawPointer.self)
        )._withUnsafeGuaranteedRef { state in
            Unmanaged<ExecutionContext>.fromOpaque(
                context.load(fromByteOffset: NativeCallContext.executionOffset, as: UnsafeRawPointer.self)
            )._withUnsafeGuaranteedRef { execution in
                Interpreter.runStep(
                    state, execution, entry: entries + Int(function), function: Int(function), pc: Int(pc), regs: regs,
                    table: table
                ).rawValue
            }
        }
    }

    static var address: Int64 { Int64(Int(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self))) }
}

/// The yield of a native loop whose poll found the preemption flag set (FunctionLowering.run's poll
/// stubs): the task yields where it is, its native frames waiting on its stack, and the code goes on
/// at the loop header. Before this, such a loop left for the interpreter, which rebuilt the frames of
/// every native caller and ran the rest of each of their calls interpreted. Answers 1 (leave for the
/// interpreter) outside a task (a direct call on the host's thread: the flag is its stop word) and
/// when the task's run has ended (it must unwind).
enum NativeYieldHelper {
    typealias Entry = @convention(c) () -> Int32

    static let entry: Entry = {
        guard Scheduler.currentProcessor != nil else { return 1 }
        return Scheduler.preemptPoint() ? 1 : 0
    }

    static var address: Int64 { Int64(Int(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self))) }
}
