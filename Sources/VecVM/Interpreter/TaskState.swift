// The VM state of one .vec task: its register stack (scalar slots and the parallel object slots) and
// its frame stack. The interpreter is non-recursive: a .vec call pushes a Frame here and the dispatch
// loop goes on, so deep .vec recursion never deepens the native stack; exceeding the limits below is
// the runtime error "stack overflow".

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

/// Sets `count` object slots from `slots` on to nil, calling into the runtime only for those that
/// hold a reference: a release of nil is still a call (about 10 instructions), and a frame's slots
/// are mostly nil (a native call's cleanup, `clearRefs` after the arguments moved out).
@inline(__always)
func releaseObjects(_ slots: UnsafeMutablePointer<AnyObject?>, _ count: Int) {
    for i in 0..<count where slots[i] != nil { slots[i] = nil }
}

struct Frame {
    var function: Int
    /// Index of the next instruction to run in `function`.
    var pc: Int
    /// First register of the frame in the task's register stack.
    var base: Int
}

/// A task as a .vec value (`task<T>`): its id and, once it has finished, its result. A spawned
/// task's VMTask is its G's handle too (Scheduler.spawn(_:_:): one object a spawn, not two); a run's
/// main task's stands for the handle the scheduler made (`handle`, `standFor(id:)`).
final class VMTask: GHandle, @unchecked Sendable {
    // @unchecked Sendable: the result fields are written by the task before its G ends and read
    // after a join (which orders the two), as they were before VMTask was a GHandle.
    /// The task's function (set again when the object serves another spawn: `prepareForReuse`).
    var functionName: String
    /// The handle to join: this object for a spawned task, the scheduler's for a run's main task,
    /// nil for a call from the host (which runs on the host's thread).
    var handle: GHandle? {
        get { isTask ? self : otherHandle }
        set { otherHandle = newValue }
    }
    private var otherHandle: GHandle?
    /// The result value: up to four slots of bits and one reference.
    var result: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var resultObject: AnyObject?
    /// Set when the task's function returned (written before the G ends, read after `join`).
    var finished = false
    /// The runtime error that ended the task (written before the G ends, read after `join`).
    /// Boxed: a `RuntimeError?` stored inline made every task carry (and destroy) its fields.
    var failure: RuntimeError? {
        get { failureBox?.error }
        set { failureBox = newValue.map { RuntimeErrorBox($0) } }
    }
    private var failureBox: RuntimeErrorBox?
    /// Where the task was spawned (nil for a run's main task), as indices into its function table;
    /// its RuntimeError.SpawnSite is made from them only if the task fails (TaskRunner.runtimeError).
    var spawnPoint: SpawnPoint?

    struct SpawnPoint {
        /// The function and pc of the `spawn` instruction.
        let function: Int32
        let pc: Int32
        /// The spawning task's function (its first frame's: 0 is the main task's top level).
        let parentFunction: Int32
        let parentID: Int
    }

    // A spawned task's start (TaskRunner.spawn, TaskRunner.startSpawned): the spawn leaves its
    // function, its arguments and what it charged here, and the task makes its TaskState when it
    // first runs, on the P that runs it — from that P's pool, where the states of the tasks that P
    // finished wait. The spawning P then never writes a state that another P runs and finishes
    // (measured: a state made at the spawn crossed from the P that finished it to the spawning P and
    // back, each of its cache lines, for every task). Set by the spawn; taken at the first run, or
    // given back (`dropStart`) if the task never runs.
    /// The context of the start (nil: none pending): a reference the spawn took, which moves to the
    /// task's state at the first run (TaskState.spawnContext).
    var startContext: Unmanaged<ExecutionContext>?
    /// The start's function table: unretained when it is the run's (TaskStatePool.table, kept by
    /// the context), else a reference the spawn took (`startTableRetained`).
    var startTable: Unmanaged<FunctionTable>?
    var startTableRetained = false
    var startFunction = 0
    /// What the spawn charged to the context's memory account, the task counted among its tasks.
    var startCharge = 0
    /// The arguments: bits and references of the first `startSlots` parameter slots (the references
    /// moved here from the spawning task's registers).
    static let startSlots = 6
    @exclusivity(unchecked) var startBits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    @exclusivity(unchecked) var startObjects: (AnyObject?, AnyObject?, AnyObject?, AnyObject?, AnyObject?, AnyObject?) =
        (nil, nil, nil, nil, nil, nil)
    /// The state of a started task until it ends: its body runs again after each park without its
    /// stack (Channel.receiveOrPark) and finds it here.
    var runningState: TaskState?

    /// A task as a value: reusable (GHandle.reusable) once its task has finished and nothing
    /// references it, by the next spawn on the P that finished it (TaskRunner.spawn).
    init(id: Int, functionName: String) {
        self.functionName = functionName
        super.init(id: id, reusable: true)
    }

    deinit { dropStart() }

    /// Gives back a start that never ran (its task was dropped unstarted when its run ended): the
    /// arguments' references and the charge.
    func dropStart() {
        guard let ctx = startContext.take() else { return }
        ctx._withUnsafeGuaranteedRef { $0.memory.leaveTask(startCharge) }
        startCharge = 0
        if let t = startTable.take(), startTableRetained { t.release() }
        startTableRetained = false
        withUnsafeMutableBytes(of: &startObjects) { b in
            releaseObjects(b.baseAddress!.assumingMemoryBound(to: AnyObject?.self), VMTask.startSlots)
        }
        ctx.release()
    }

    /// Back to the state `init` leaves, but for the name (set by the spawn that takes it): what the
    /// finished task left is released.
    override func prepareForReuse() {
        // References are cleared only where set: an assignment releases the old value, a call even
        // for nil.
        if otherHandle != nil { otherHandle = nil }
        result = (0, 0, 0, 0)
        if resultObject != nil { resultObject = nil }
        finished = false
        if failureBox != nil { failureBox = nil }
        spawnPoint = nil
        if startContext != nil { dropStart() }
        if runningState != nil { runningState = nil }
    }
}

/// What a task costs in memory, all of it charged to the VM's `MemoryAccount` (the sandbox counts
/// tasks, not only arrays): a fixed amount for the task itself — its G and the pages of its native
/// stack that the dispatch loop touches (a parked task measured about 5 KiB resident) — plus its
/// register stack (16 bytes a slot) and frame stack (24 bytes a frame) as they grow.
final class TaskState {
    /// Lua's LUAI_MAXSTACK: one million slots per task.
    static let maxSlots = 1 << 20
    static let maxFrames = 200_000
    /// A task starts small (a parked task should cost a few KiB) and grows on demand.
    static let initialSlots = 16
    static let initialFrames = 4
    /// Charged per task besides its register and frame stacks: the G, its native stack's touched
    /// pages, this object and its table of arrays.
    static let taskBytes = 8 << 10
    static let bytesPerSlot = MemoryLayout<UInt64>.stride + MemoryLayout<AnyObject?>.stride
    static let bytesPerFrame = MemoryLayout<Frame>.stride

    /// The account everything above is charged to (nil: not charged, e.g. tests); `charged` is
    /// what this task holds on it, given back when it ends.
    private let account: MemoryAccount?
    private var charged = 0
    /// Whether the charge and the place among the account's tasks were given back (`settle`): a
    /// recycled state waiting in a TaskStatePool holds neither.
    private var settled = false
    /// Why the last `ensureCapacity` or `pushFrame` failed: the runtime error's message.
    var growthFailure: String { outOfMemoryFailure ?? "stack overflow" }
    /// The message when that was the memory limit (nil: the stack's limit): a recycled state resets
    /// it only if set, without a string assignment (and its release) at every task's end.
    private var outOfMemoryFailure: String?

    /// The malloc block holding the initial stacks: `initialSlotCount` registers, as many object
    /// slots, then `initialFrames` frames. Freed when the task ends, whether or not the stacks
    /// moved out of it.
    private let block: UnsafeMutableRawPointer
    private let initialSlotCount: Int
    private(set) var registers: UnsafeMutablePointer<UInt64>
    private(set) var objects: UnsafeMutablePointer<AnyObject?>
    private(set) var capacity: Int
    private(set) var frames: UnsafeMutablePointer<Frame>
    var frameCount = 0
    private(set) var frameCapacity: Int
    /// The program's functions. A constant (a recycled state serves only spawns of the same table,
    /// `serves`), so that the spawn and dispatch code read it without retaining it.
    let table: FunctionTable
    /// The task this state runs. Unretained: a spawned task's VMTask is its G's handle, which the
    /// runtime keeps from the spawn until the G has finished, and the state runs only on that G (a
    /// recycled state waiting in a pool names a task that may be gone, and is not read until `reuse`
    /// names the next); any other state owns its task (`ownedTask`). Retaining it cost two atomic
    /// operations a spawn, and the placeholder that a pooled state named instead, one object for
    /// all, was retained on the P that finished a task and released on the P that spawned the next.
    private(set) unowned(unsafe) var task: VMTask
    /// The task of a state that is not a spawned task's (a run's main task, a direct call's frame).
    private let ownedTask: VMTask?
    /// The context a spawned task runs in, and a reference to it that the state holds (set by
    /// `TaskRunner.spawn` or `startSpawned`; nil for a run's main task and host calls, whose callers
    /// hold theirs). Managed by hand: a task's end hands it to the context's pool
    /// (TaskStatePool.oweContext) instead of releasing it.
    var spawnContext: Unmanaged<ExecutionContext>?
    /// Whether the task's body can run again from its start (a spawned task's: TaskRunner.spawn),
    /// so that a send, receive or wait that must wait parks it without its stack (Channel.receiveOrPark):
    /// `Interpreter.execute` returns with `parked` set and its top frame's pc at that instruction,
    /// and finishes the instruction when the body runs again.
    var parksWithoutStack = false
    var parked = false
    /// Scratch memory of the kernel evaluator, made on first use (most tasks never run a kernel).
    private var kernelScratch: KernelScratch?
    var scratch: KernelScratch {
        if let s = kernelScratch { return s }
        let s = KernelScratch()
        kernelScratch = s
        return s
    }
    /// What native calls between lowered functions need (JIT/NativeFunctions.swift), made on first
    /// use and charged.
    private var nativeCalls: NativeCallContext?

    /// The error a step of native code met (Interpreter.runStep), until the interpreter throws it.
    var pendingStepError: String?
    /// Set when native code left because a step parked the task without its stack: the interpreter
    /// leaves `execute` with the top frame at that step, which it completes when the task is woken.
    var parkedInNative = false

    /// The context, when a deopt of native calls left a chain of frames to rebuild.
    var pendingNativeChain: NativeCallContext? {
        if let c = nativeCalls, c.chainCount > 0 { return c }
        return nil
    }

    /// The native call context ready for an entry at stack pointer `sp`, or nil when the memory
    /// limit refuses it (the native code is then not entered: the interpreter runs the function).
    func nativeCallContext(sp: UInt, direct: Bool, chain: Bool) -> NativeCallContext? {
        let c: NativeCallContext
        if let existing = nativeCalls {
            c = existing
        } else {
            guard charge(NativeCallContext.bytes, "native call context") else { return nil }
            c = NativeCallContext()
            nativeCalls = c
        }
        if chain && c.chain == nil {
            guard charge(NativeCallContext.chainBytes, "native call chain") else { return nil }
            c.addChain()
        }
        // A direct call runs on the host's thread (whose stack is not a task's, and may differ
        // from one call to the next): only the budget below `sp` bounds it. The task's stack is read
        // each time, as a state may serve more than one G over its life (a session's inputs).
        let low: UInt = direct ? 0 : Scheduler.currentStackLow
        c.prepare(sp: sp, stackLow: low, registersEnd: registers + capacity)
        return c
    }

    /// (data, count) pairs of array registers, passed to native functions; made and grown on demand.
    private var arrayTableMemory: UnsafeMutableRawPointer?
    private var arrayTableSlots = 0

    /// The array table with room for `slots` registers (at most the register stack's size, which
    /// is charged; this table is 16 bytes a slot too, counted in `taskBytes` and the slots'). Native
    /// code uses one table at a time per task: runNative is not entered again while native frames
    /// of the task are live (a step never calls a function of the program).
    func arrayTable(slots: Int) -> UnsafeMutableRawPointer {
        if slots > arrayTableSlots || arrayTableMemory == nil {
            arrayTableMemory?.deallocate()
            arrayTableSlots = max(slots, arrayTableSlots * 2, 16)
            arrayTableMemory = .allocate(byteCount: arrayTableSlots * 16, alignment: 16)
        }
        return arrayTableMemory!
    }

    /// A task's state, counted as one of the account's tasks (at most `maxTasks`) and its first
    /// charge taken from the account; the Trap is the runtime error when either is refused.
    /// `spawned`: the task is a spawned G's handle, which keeps it alive for as long as the state
    /// runs (see `task`); otherwise the state keeps it.
    convenience init(
        table: FunctionTable, task: VMTask, initialSlots: Int, account: MemoryAccount?, maxTasks: Int? = nil,
        spawned: Bool = false
    ) throws(Trap) {
        let capacity = max(initialSlots, TaskState.initialSlots)
        let bytes = TaskState.firstCharge(slots: capacity)
        try TaskState.enter(account, bytes, maxTasks: maxTasks)
        self.init(table: table, task: task, capacity: capacity, account: account, charged: bytes, spawned: spawned)
    }

    /// The state of a spawned task at its first run, whose spawn charged `charged` and counted it
    /// among the account's tasks (TaskState.enterSpawn): `initialSlots` must be those of that charge.
    convenience init(table: FunctionTable, task: VMTask, initialSlots: Int, account: MemoryAccount?, charged: Int) {
        self.init(
            table: table, task: task, capacity: max(initialSlots, TaskState.initialSlots), account: account,
            charged: charged, spawned: true)
    }

    private init(
        table: FunctionTable, task: VMTask, capacity: Int, account: MemoryAccount?, charged bytes: Int, spawned: Bool
    ) {
        self.account = account
        charged = bytes
        self.table = table
        self.task = task
        ownedTask = spawned ? nil : task
        self.capacity = capacity
        initialSlotCount = capacity
        // One block for the initial register, object and frame stacks (one malloc and one free a
        // task instead of three of each). A stack that grows moves to a block of its own.
        let block = TaskState.allocateBlock(
            capacity * TaskState.bytesPerSlot + TaskState.initialFrames * TaskState.bytesPerFrame)
        self.block = block
        registers = block.bindMemory(to: UInt64.self, capacity: capacity)
        registers.initialize(repeating: 0, count: capacity)
        objects = (block + capacity * MemoryLayout<UInt64>.stride).bindMemory(to: AnyObject?.self, capacity: capacity)
        objects.initialize(repeating: nil, count: capacity)
        frameCapacity = TaskState.initialFrames
        frames = (block + capacity * TaskState.bytesPerSlot).bindMemory(to: Frame.self, capacity: frameCapacity)
    }

    /// Counts a spawned task among `account`'s tasks and charges it what a new state for a function
    /// of `slots` registers costs (the spawn's part of TaskState.init, for a state made when the
    /// task first runs); the charge, or the Trap when that is refused.
    static func enterSpawn(_ account: MemoryAccount, slots: Int, maxTasks: Int?) throws(Trap) -> Int {
        let bytes = firstCharge(slots: max(slots, initialSlots))
        try enter(account, bytes, maxTasks: maxTasks)
        return bytes
    }

    /// A recycled state (`recycle`) taken at the first run of a spawned task whose spawn charged
    /// `charged` (`enterSpawn`): what this state costs more than that (a larger register stack, a
    /// native call context) is reserved too; false when the memory limit refuses it (nothing is
    /// then taken; the caller makes a new state, which costs no more than the spawn charged).
    /// Registers zeroed as `init` leaves them.
    func adopt(task: VMTask, charged: Int) -> Bool {
        let more = reuseCharge - charged
        if more > 0, let account, !account.reserve(more) { return false }
        serve(task, charged: charged + max(more, 0))
        return true
    }

    /// The part of `reuse` and `adopt` after the charge: the state serves `task`, holding `bytes`.
    private func serve(_ task: VMTask, charged bytes: Int) {
        settled = false
        charged = bytes
        self.task = task
        registers.update(repeating: 0, count: capacity)
    }

    /// What a recycled state is charged when it serves a task again.
    private var reuseCharge: Int {
        TaskState.firstCharge(slots: capacity)
            + (nativeCalls.map { $0.chain == nil ? 0 : NativeCallContext.chainBytes } ?? 0)
            + (nativeCalls != nil ? NativeCallContext.bytes : 0)
    }

    /// What a new task of `slots` registers is charged.
    private static func firstCharge(slots: Int) -> Int {
        TaskState.taskBytes + slots * TaskState.bytesPerSlot + TaskState.initialFrames * TaskState.bytesPerFrame
    }

    /// Counts one more task on `account` and reserves `bytes` there; the Trap when the task limit
    /// or the memory limit refuses (nothing is then taken).
    private static func enter(_ account: MemoryAccount?, _ bytes: Int, maxTasks: Int?) throws(Trap) {
        switch account?.enterTask(bytes, maxTasks: maxTasks) {
        case nil, .entered?: return
        case .tooManyTasks?: throw Trap("too many tasks: the VM's limit is \(maxTasks ?? 0) tasks at once")
        case .outOfMemory?: throw Trap("out of memory (a new task needs \(bytes) bytes)")
        }
    }

    /// Gives back the charge and the place among the account's tasks, once.
    private func settle() {
        guard !settled else { return }
        settled = true
        account?.leaveTask(charged)
        charged = 0
    }

    /// Makes the state of a spawned task that returned ready to serve another (`reuse`), as `init`
    /// would make it: its references released, its charge and its place among the account's tasks
    /// given back. It keeps its function table and keeps no task alive (see `task`). False when its
    /// stacks grew out of the first block, or it owns its task: it is then not recycled and goes the
    /// usual way.
    func recycle() -> Bool {
        guard ownedTask == nil, UnsafeMutableRawPointer(registers) == block,
            UnsafeMutableRawPointer(frames) == block + TaskState.initialFrameOffset(initialSlotCount)
        else { return false }
        releaseObjects(objects, capacity)
        frameCount = 0
        parked = false
        parksWithoutStack = false
        // Each reference field is cleared only where set (a task's body takes the context out of its
        // state, most tasks never run a kernel or fail): an assignment releases the old value, a
        // call even for nil.
        spawnContext.take()?.release()
        if kernelScratch != nil { kernelScratch = nil }  // may be large
        nativeCalls?.chainCount = 0  // kept, like the array table: both are filled before each use
        if outOfMemoryFailure != nil { outOfMemoryFailure = nil }
        if pendingStepError != nil { pendingStepError = nil }
        parkedInNative = false
        settle()
        return true
    }

    /// A recycled state (`recycle`) taken for a new spawned task: counted and charged again (the Trap
    /// when that is refused, the state then staying recycled), registers zeroed as `init` leaves them.
    func reuse(task: VMTask, maxTasks: Int?) throws(Trap) {
        let bytes = reuseCharge
        try TaskState.enter(account, bytes, maxTasks: maxTasks)
        serve(task, charged: bytes)
    }

    /// Whether this state can serve a spawn of a task of `table` charged to `account` (a pool
    /// serves the spawns of one context's run, which have one table and one account).
    func serves(_ table: FunctionTable, _ account: MemoryAccount?) -> Bool {
        self.table === table && self.account === account
    }

    deinit {
        spawnContext?.release()
        arrayTableMemory?.deallocate()
        // Releases what the object slots hold, slot by slot: `deinitialize(count:)` on
        // `AnyObject?` goes through the runtime's generic array destroy (about 45 instructions a
        // slot); after this loop every slot is nil, which needs no deinitialization.
        releaseObjects(objects, capacity)
        // Frame is trivial: its memory needs no deinitialization.
        let registersRaw = UnsafeMutableRawPointer(registers)
        if registersRaw != block { free(registersRaw) }
        let framesRaw = UnsafeMutableRawPointer(frames)
        if framesRaw != block + TaskState.initialFrameOffset(initialSlotCount) { free(framesRaw) }
        free(block)
        settle()
    }

    /// Where the initial frames lie in `block`: after the registers and object slots of the
    /// initial capacity.
    private static func initialFrameOffset(_ capacity: Int) -> Int { capacity * bytesPerSlot }

    /// `bytes` of malloc memory (16-byte aligned, enough for every stack here). malloc rather
    /// than `UnsafeMutablePointer.allocate`, which goes through posix_memalign on this toolchain
    /// (about 250 instructions an allocation instead of about 100). Out of memory is fatal, as
    /// it is for Swift's own allocations.
    private static func allocateBlock(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard let p = malloc(bytes) else { fatalError("VecVM: out of memory (malloc of \(bytes) bytes failed)") }
        return p
    }

    /// Charges `bytes` more of growth; false (and `growthFailure` set) when the account refuses.
    private func charge(_ bytes: Int, _ what: String) -> Bool {
        if let account, !account.reserve(bytes) {
            outOfMemoryFailure =
                "out of memory (the task's \(what) needs \(bytes) more bytes than the memory limit allows)"
            return false
        }
        charged += bytes
        return true
    }

    /// Makes room for `slots` registers; false if that passes the limit (`growthFailure` says
    /// which). Moves the stacks, so the caller must re-derive any register pointers afterwards.
    func ensureCapacity(_ slots: Int) -> Bool {
        if slots <= capacity { return true }
        guard slots <= TaskState.maxSlots else {
            outOfMemoryFailure = nil
            return false
        }
        var newCapacity = capacity * 2
        while newCapacity < slots { newCapacity *= 2 }
        newCapacity = min(newCapacity, TaskState.maxSlots)
        guard charge((newCapacity - capacity) * TaskState.bytesPerSlot, "registers") else { return false }
        // Registers and object slots move together to one new block.
        let grown = TaskState.allocateBlock(newCapacity * TaskState.bytesPerSlot)
        let r = grown.bindMemory(to: UInt64.self, capacity: newCapacity)
        r.update(from: registers, count: capacity)
        (r + capacity).initialize(repeating: 0, count: newCapacity - capacity)
        let o = (grown + newCapacity * MemoryLayout<UInt64>.stride).bindMemory(
            to: AnyObject?.self, capacity: newCapacity)
        o.moveInitialize(from: objects, count: capacity)
        (o + capacity).initialize(repeating: nil, count: newCapacity - capacity)
        let old = UnsafeMutableRawPointer(registers)
        if old != block { free(old) }
        registers = r
        objects = o
        capacity = newCapacity
        return true
    }

    /// Pushes a frame; false when the frame stack is at its limit (`growthFailure` says which).
    func pushFrame(_ f: Frame) -> Bool {
        if frameCount == frameCapacity {
            guard frameCapacity < TaskState.maxFrames else {
                outOfMemoryFailure = nil
                return false
            }
            let newCapacity = min(frameCapacity * 2, TaskState.maxFrames)
            guard charge((newCapacity - frameCapacity) * TaskState.bytesPerFrame, "call frames") else { return false }
            let n = TaskState.allocateBlock(newCapacity * TaskState.bytesPerFrame).bindMemory(
                to: Frame.self, capacity: newCapacity)
            n.moveInitialize(from: frames, count: frameCount)
            let old = UnsafeMutableRawPointer(frames)
            if old != block + TaskState.initialFrameOffset(initialSlotCount) { free(old) }
            frames = n
            frameCapacity = newCapacity
        }
        (frames + frameCount).initialize(to: f)
        frameCount += 1
        return true
    }
}

/// States of finished tasks kept for the next spawns of a run (TaskState.recycle and reuse): such a
/// spawn allocates neither its state nor its stacks, and the task that finished frees neither —
/// which matters most when tasks finish on another P than the one that spawned them, where each
/// free would go back to the spawning thread's malloc arena under its lock.
///
/// As Go's free Gs: a small stack per P, which only the task running on P k touches, between two
/// points where it could switch tasks (Scheduler.currentProcessor), so without a lock; a P whose
/// stack is full moves half of it to a shared list, and one whose stack is empty takes a batch
/// from there, under a lock once a batch. Bounded (`perProcessor` a P, `sharedLimit` shared): what
/// does not fit is freed. The states waiting here are not charged to the VM's memory account
/// (at most about 0.6 KB each, `sharedLimit + procs · perProcessor` of them).
final class TaskStatePool: @unchecked Sendable {
    // @unchecked: each P's stack and count are read and written only by the task running on that
    // P (see above); `shared` only under its lock; the memory is this object's own.
    static let perProcessor = 64
    static let sharedLimit = 8192
    /// A count a cache line (8 words) apart from the next, so that two Ps never write one line.
    private static let countStride = 8

    private let procs: Int
    private let states: UnsafeMutablePointer<TaskState?>
    private let counts: UnsafeMutablePointer<Int>
    private let shared = VMMutex<[TaskState]>([])
    /// The shared list's length, as a hint read without the lock.
    private let sharedCount = Atomic<Int>(0)
    /// The function table of the run's instance, kept here for the whole run: a spawn of one of its
    /// functions leaves it in the VMTask unretained (VMTask.startTable), as the task keeps the
    /// context (and so this pool) alive until it has started.
    let table: FunctionTable?

    // The context's references that tasks finished on P k no longer need (`oweContext`), released
    // `owedBatch` at a time by that P, and all of them when the run ends (`retire`). A task holds a
    // reference to its context from its spawn to its end; the spawn's retain is on the spawning P,
    // and a release at every task's end on the P that ran it took the reference count's cache line
    // from the spawning P each time (measured: 100k short tasks on 2 Ps, 17% of their time). Each
    // count lives in its P's line of `counts` (index 1 of the P's stride), touched by others only
    // when the run ends.
    static let owedBatch = 64
    private let retired = Atomic<Bool>(false)

    init(procs: Int, table: FunctionTable? = nil) {
        self.procs = max(1, procs)
        self.table = table
        states = .allocate(capacity: self.procs * TaskStatePool.perProcessor)
        states.initialize(repeating: nil, count: self.procs * TaskStatePool.perProcessor)
        counts = .allocate(capacity: self.procs * TaskStatePool.countStride)
        counts.initialize(repeating: 0, count: self.procs * TaskStatePool.countStride)
    }

    /// P k's count of owed references to the context.
    private func owed(_ p: Int) -> UnsafeMutablePointer<Int64> {
        UnsafeMutableRawPointer(counts + p * TaskStatePool.countStride + 1).assumingMemoryBound(to: Int64.self)
    }

    /// `put`, then `oweContext`: what the end of a task that returned does with its state and its
    /// reference to the context (TaskRunner.handToPool).
    func putFinished(_ state: TaskState) -> Int {
        put(state)
        return oweContext()
    }

    /// Takes over a reference to the context that a task finished on this P held: how many the
    /// caller must release now (usually 0; a batch; or every owed one of this P once the run has
    /// ended). The caller releases them after its last use of the context and this pool.
    ///
    /// The count is added to, then `retired` read, both sequentially consistent; `retire` sets
    /// `retired`, then takes every count (a Dekker pair): a reference added before the take is
    /// `retire`'s to release, and one added after it sees `retired` and is released here.
    func oweContext() -> Int {
        guard let p = Scheduler.currentProcessor, p < procs else { return 1 }
        let slot = owed(p)
        let n = vm_add_i64(slot, 1)
        if n >= Int64(TaskStatePool.owedBatch) || retired.load(ordering: .sequentiallyConsistent) {
            return Int(vm_xchg_i64(slot, 0))
        }
        return 0
    }

    /// Ends the run of the context: every reference owed to it is handed to the caller (who holds
    /// one of its own) to release, and references owed from now on are released at once.
    func retire() -> Int {
        retired.store(true, ordering: .sequentiallyConsistent)
        var n = 0
        for p in 0..<procs { n += Int(vm_xchg_i64(owed(p), 0)) }
        return n
    }

    deinit {
        states.deinitialize(count: procs * TaskStatePool.perProcessor)
        states.deallocate()
        counts.deallocate()
    }

    /// A recycled state with room for `slots` registers, from the calling task's P (refilled from
    /// the shared list when empty), or nil.
    func take(slots: Int) -> TaskState? {
        guard let p = Scheduler.currentProcessor, p < procs else { return nil }
        let local = states + p * TaskStatePool.perProcessor
        var n = counts[p * TaskStatePool.countStride]
        if n == 0 {
            guard sharedCount.load(ordering: .relaxed) > 0 else { return nil }
            shared.withLock { list in
                while n < TaskStatePool.perProcessor / 2, let s = list.popLast() {
                    (local + n).pointee = s
                    n += 1
                }
                sharedCount.store(list.count, ordering: .relaxed)
            }
            if n == 0 { return nil }
        }
        let state = (local + n - 1).pointee!
        guard state.capacity >= slots else {
            counts[p * TaskStatePool.countStride] = n
            return nil
        }
        (local + n - 1).pointee = nil
        counts[p * TaskStatePool.countStride] = n - 1
        return state
    }

    /// Keeps the state of a task that returned, recycled, on the calling task's P. A full P first
    /// moves half of its states to the shared list; when that is full too, the state is not kept
    /// (it goes the usual way, when its task's G lets go of it).
    func put(_ state: TaskState) {
        guard let p = Scheduler.currentProcessor, p < procs else { return }
        let local = states + p * TaskStatePool.perProcessor
        var n = counts[p * TaskStatePool.countStride]
        if n == TaskStatePool.perProcessor {
            let half = TaskStatePool.perProcessor / 2
            guard sharedCount.load(ordering: .relaxed) + half <= TaskStatePool.sharedLimit else { return }
            let moved = shared.withLock { list -> Bool in
                guard list.count + half <= TaskStatePool.sharedLimit else { return false }
                for i in (n - half)..<n {
                    list.append((local + i).pointee!)
                    (local + i).pointee = nil
                }
                sharedCount.store(list.count, ordering: .relaxed)
                return true
            }
            guard moved else { return }
            n -= half
            counts[p * TaskStatePool.countStride] = n
        }
        guard state.recycle() else { return }
        (local + n).pointee = state
        counts[p * TaskStatePool.countStride] = n + 1
    }
}
