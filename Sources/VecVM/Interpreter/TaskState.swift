// The VM state of one .vec task: its register stack (scalar slots and the parallel object slots) and
// its frame stack. The interpreter is non-recursive: a .vec call pushes a Frame here and the dispatch
// loop goes on, so deep .vec recursion never deepens the native stack; exceeding the limits below is
// the runtime error "stack overflow".

import VMRuntime

struct Frame {
    var function: Int
    /// Index of the next instruction to run in `function`.
    var pc: Int
    /// First register of the frame in the task's register stack.
    var base: Int
}

/// A spawned task as a .vec value (`task<T>`): its id and, once it has finished, its result.
final class VMTask {
    /// The G's id (set right after the spawn).
    var id: Int
    let functionName: String
    var handle: GHandle?
    /// The result value: up to four slots of bits and one reference.
    var result: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var resultObject: AnyObject?
    /// Set when the task's function returned (written before the G ends, read after `join`).
    var finished = false
    /// The runtime error that ended the task (written before the G ends, read after `join`).
    var failure: RuntimeError?
    /// Where the task was spawned (nil for a run's main task).
    var spawnSite: RuntimeError.SpawnSite?

    init(id: Int, functionName: String) {
        self.id = id
        self.functionName = functionName
    }
}

final class TaskState {
    /// Lua's LUAI_MAXSTACK: one million slots per task.
    static let maxSlots = 1 << 20
    static let maxFrames = 200_000
    /// A task starts small (a parked task should cost a few KiB) and grows on demand.
    static let initialSlots = 16

    private(set) var registers: UnsafeMutablePointer<UInt64>
    private(set) var objects: UnsafeMutablePointer<AnyObject?>
    private(set) var capacity: Int
    private(set) var frames: UnsafeMutablePointer<Frame>
    var frameCount = 0
    private(set) var frameCapacity: Int
    let table: FunctionTable
    let task: VMTask
    /// Scratch memory of the kernel evaluator, made on first use (most tasks never run a kernel).
    private var kernelScratch: KernelScratch?
    var scratch: KernelScratch {
        if let s = kernelScratch { return s }
        let s = KernelScratch()
        kernelScratch = s
        return s
    }
    /// (data, count) pairs of array registers, passed to native functions; made and grown on demand.
    private var arrayTableMemory: UnsafeMutableRawPointer?
    private var arrayTableSlots = 0

    /// The array table with room for `slots` registers.
    func arrayTable(slots: Int) -> UnsafeMutableRawPointer {
        if slots > arrayTableSlots || arrayTableMemory == nil {
            arrayTableMemory?.deallocate()
            arrayTableSlots = max(slots, arrayTableSlots * 2, 16)
            arrayTableMemory = .allocate(byteCount: arrayTableSlots * 16, alignment: 16)
        }
        return arrayTableMemory!
    }

    init(table: FunctionTable, task: VMTask, initialSlots: Int) {
        self.table = table
        self.task = task
        capacity = max(initialSlots, TaskState.initialSlots)
        registers = .allocate(capacity: capacity)
        registers.initialize(repeating: 0, count: capacity)
        objects = .allocate(capacity: capacity)
        objects.initialize(repeating: nil, count: capacity)
        frameCapacity = 4
        frames = .allocate(capacity: frameCapacity)
    }

    deinit {
        arrayTableMemory?.deallocate()
        registers.deallocate()
        objects.deinitialize(count: capacity)
        objects.deallocate()
        frames.deallocate()
    }

    /// Makes room for `slots` registers; false if that passes the limit. Moves the stacks, so the
    /// caller must re-derive any register pointers afterwards.
    func ensureCapacity(_ slots: Int) -> Bool {
        if slots <= capacity { return true }
        guard slots <= TaskState.maxSlots else { return false }
        var newCapacity = capacity * 2
        while newCapacity < slots { newCapacity *= 2 }
        newCapacity = min(newCapacity, TaskState.maxSlots)
        let r = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
        r.update(from: registers, count: capacity)
        (r + capacity).initialize(repeating: 0, count: newCapacity - capacity)
        registers.deallocate()
        registers = r
        let o = UnsafeMutablePointer<AnyObject?>.allocate(capacity: newCapacity)
        o.moveInitialize(from: objects, count: capacity)
        (o + capacity).initialize(repeating: nil, count: newCapacity - capacity)
        objects.deallocate()
        objects = o
        capacity = newCapacity
        return true
    }

    /// Pushes a frame; false when the frame stack is at its limit.
    func pushFrame(_ f: Frame) -> Bool {
        if frameCount == frameCapacity {
            guard frameCapacity < TaskState.maxFrames else { return false }
            let newCapacity = min(frameCapacity * 2, TaskState.maxFrames)
            let n = UnsafeMutablePointer<Frame>.allocate(capacity: newCapacity)
            n.moveInitialize(from: frames, count: frameCount)
            frames.deallocate()
            frames = n
            frameCapacity = newCapacity
        }
        (frames + frameCount).initialize(to: f)
        frameCount += 1
        return true
    }
}
