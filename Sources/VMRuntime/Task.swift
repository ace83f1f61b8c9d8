// Task.swift — a G's life: creation (free lists, slabs, stacks), its first instructions and
// its end, the switches a running G makes to its M's g0 (yield, park, exit, abandon), waking
// a parked G (ready), and GHandle with join.
//
// The rules of code that runs on a G stack are enforced here (see also Scheduler.swift):
// - A G reads its M only through vm_current_m()/vm_current_g(), which are out-of-line C
//   calls, and never uses an M or P pointer it read before a switch after that switch.
// - Nothing is borrowed across a switch: switch helpers are @inline(never) functions that take
//   only raw pointers, called outside of any Swift access to a class property or global.
import CJITStubs
import Glibc
import Synchronization

/// A task, as seen by the code that spawned it (and by the task itself: `Scheduler.current`).
public final class GHandle: @unchecked Sendable {
    // @unchecked Sendable: `body` is written once before the G is published to a run queue and
    // taken once by the G itself (the queue's release/acquire orders the two); `joinState` is
    // atomic.

    /// Task id: the main task of a scheduler's first run is 1, then increasing.
    public let id: Int

    /// 0: running, nobody joined; `finishedMark`: done; else the address of the first G
    /// waiting in join(), the rest linked through vm_g.waitlink.
    let joinState = Atomic<UInt>(0)
    static let finishedMark: UInt = 1

    nonisolated(unsafe) var body: (() -> Void)?

    init(id: Int, body: @escaping () -> Void) {
        self.id = id
        self.body = body
    }

    /// Parks the calling task until this task has finished (returned or been abandoned).
    public func join() {
        guard let m = vm_current_m(), let g = m.pointee.curg else { notInTask("GHandle.join") }
        var old = joinState.load(ordering: .acquiring)
        if old == GHandle.finishedMark { return }
        if g.pointee.handle == Unmanaged.passUnretained(self).toOpaque() {
            fatalError("task \(id) joins itself")
        }
        if isStale(g, m) { abandonCurrent(g, m) }
        vm_store_u32(&g.pointee.status, VM_G_PARKING)
        while true {
            if old == GHandle.finishedMark {
                vm_store_u32(&g.pointee.status, VM_G_RUNNING)  // never published: no waker saw us
                return
            }
            g.pointee.waitlink = GPtr(bitPattern: old)
            let (done, seen) = joinState.compareExchange(
                expected: old, desired: UInt(bitPattern: g), ordering: .acquiringAndReleasing)
            if done { break }
            old = seen
        }
        parkCurrent(g, m)
    }

    /// Whether the task has finished.
    public var isFinished: Bool { joinState.load(ordering: .acquiring) == GHandle.finishedMark }
}

// MARK: - Entry and exit

/// The C entry point of every G (called by vm_ctx_trampoline on the new stack).
let gEntryPoint: @convention(c) (UnsafeMutableRawPointer?) -> Void = { _ in
    runCurrentBody()
    exitCurrent()
}

/// Runs the body; returns with every Swift value it created released, so that nothing is
/// left to release on a stack that will never be returned to.
@inline(never)
private func runCurrentBody() {
    let body = takeBody()
    body()
}

/// The body, taken out of the handle; no reference to the handle stays on the G's stack (if the
/// G is abandoned inside the body, only what the body itself holds is never released).
@inline(never)
private func takeBody() -> () -> Void {
    let g = vm_current_g()!
    let handle = Unmanaged<GHandle>.fromOpaque(g.pointee.handle).takeUnretainedValue()
    let body = handle.body!
    handle.body = nil
    return body
}

@inline(never)
private func exitCurrent() -> Never {
    let m = vm_current_m()!
    let g = m.pointee.curg!
    m.pointee.reason = VM_REASON_EXIT
    vm_switch_to_g0(g, m)
    fatalError("VMRuntime: a finished task was resumed")
}

// MARK: - Switches from a running G

/// Whether the G's run has ended (its generation is no longer the scheduler's).
@inline(__always)
func isStale(_ g: GPtr, _ m: MPtr) -> Bool {
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    return g.pointee.gen != vm_load_u64(&s.pointee.gen)
}

/// yield / preempt: the G stays runnable. Abandons it instead if its run has ended.
/// After the switch the G may be on another M: `m` must not be used again (it is not).
@inline(never)
func switchOut(_ g: GPtr, _ m: MPtr, reason: UInt32) {
    if isStale(g, m) { abandonCurrent(g, m) }
    if reason == VM_REASON_YIELD { statBump(m.pointee.p, VM_STAT_YIELDS) }
    m.pointee.reason = reason
    vm_switch_to_g0(g, m)
}

/// Blocks the current G. The caller has set it PARKING and published it in a wait structure
/// whose lock it has released. After the switch the G may be on another M.
@inline(never)
func parkCurrent(_ g: GPtr, _ m: MPtr) {
    m.pointee.reason = VM_REASON_PARK
    vm_switch_to_g0(g, m)
}

/// Leaves the current G for good: its run is over. Its stack is reused without unwinding, so
/// values referenced only from it are never released (a bounded leak per abandoned task).
@inline(never)
func abandonCurrent(_ g: GPtr, _ m: MPtr) -> Never {
    m.pointee.reason = VM_REASON_ABANDON
    vm_switch_to_g0(g, m)
    fatalError("VMRuntime: an abandoned task was resumed")
}

/// Makes a blocked G runnable on `p` (the caller's own P). With `next`, it runs next on `p`
/// (hand-off); a lone runnext wakes nobody — the caller is expected to block soon, and sysmon
/// covers the case where it does not.
@inline(__always)
func ready(_ g: GPtr, _ p: PPtr, next: Bool) {
    while true {
        let status = vm_load_u32(&g.pointee.status)
        if status == VM_G_WAITING {
            // A WAITING G is switched out and was just removed from its wait structure by us,
            // the only waker: nobody else can change its status, so no CAS is needed.
            vm_store_u32(&g.pointee.status, VM_G_RUNNABLE)
            let s = p.pointee.sched.assumingMemoryBound(to: vm_sched.self)
            if next {
                statBump(p, VM_STAT_HANDOFFS)
                if let kicked = runnextPut(p, g) {
                    runqPut(p, kicked, next: false)
                    wakep(s)
                }
            } else {
                runqPut(p, g, next: false)
                wakep(s)
            }
            return
        }
        if status == VM_G_PARKING {
            // Its registers are not saved yet; its own M's g0 will queue it (Machine.execute).
            if vm_cas_u32(&g.pointee.status, VM_G_PARKING, VM_G_PARKING_WOKEN) { return }
            continue
        }
        fatalError("VMRuntime: waking task \(g.pointee.id) in status \(status)")
    }
}

// MARK: - Creation

/// Spawns a G from inside the G `parent` running on `m`.
func spawnG(_ m: MPtr, _ parent: GPtr, _ body: @escaping () -> Void) -> GHandle {
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    let p = m.pointee.p!
    let g = allocG(s, p)
    // The child belongs to the parent's generation: a child of an abandoned run is abandoned.
    let handle = prepareG(s, g, body: body, gen: parent.pointee.gen)
    statBump(p, VM_STAT_TASKS)
    if let kicked = runnextPut(p, g) { runqPut(p, kicked, next: false) }
    wakep(s)
    return handle
}

/// Gives `g` an id, a handle holding `body`, and a fresh frame on its stack.
@discardableResult
func prepareG(_ s: SchedPtr, _ g: GPtr, body: @escaping () -> Void, gen: UInt64) -> GHandle {
    let id = vm_add_i64(&s.pointee.next_gid, 1) - 1
    let handle = GHandle(id: Int(id), body: body)
    g.pointee.handle = Unmanaged.passRetained(handle).toOpaque()
    g.pointee.id = id
    g.pointee.gen = gen
    g.pointee.m = nil
    g.pointee.preempt = 0
    g.pointee.waitlink = nil
    g.pointee.schedlink = nil
    g.pointee.waitok = 0
    g.pointee.sp = vm_ctx_init(g.pointee.stack_hi, gEntryPoint, UnsafeMutableRawPointer(g))
    vm_store_u32(&g.pointee.status, VM_G_RUNNABLE)
    return handle
}

private let perPFreeLimit: UInt32 = 64
private let schedFreeWithStacksLimit: Int64 = 256

/// A free G with a stack: from `p`'s cache, the scheduler's lists, or a new slab.
func allocG(_ s: SchedPtr, _ p: PPtr?) -> GPtr {
    if let p, let g = p.pointee.gfree {
        p.pointee.gfree = g.pointee.schedlink
        p.pointee.ngfree -= 1
        g.pointee.schedlink = nil
        return g
    }
    return allocGSlow(s, p)
}

@inline(never)
private func allocGSlow(_ s: SchedPtr, _ p: PPtr?) -> GPtr {
    vm_mutex_lock(&s.pointee.lock)
    if let g = s.pointee.gfree {
        s.pointee.gfree = g.pointee.schedlink
        s.pointee.ngfree -= 1
        // Refill the P's cache with a batch while we hold the lock.
        if let p {
            while p.pointee.ngfree < perPFreeLimit / 2, let x = s.pointee.gfree {
                s.pointee.gfree = x.pointee.schedlink
                s.pointee.ngfree -= 1
                x.pointee.schedlink = p.pointee.gfree
                p.pointee.gfree = x
                p.pointee.ngfree += 1
            }
        }
        vm_mutex_unlock(&s.pointee.lock)
        g.pointee.schedlink = nil
        return g
    }
    var g = s.pointee.gfree_bare
    if let bare = g {
        s.pointee.gfree_bare = bare.pointee.schedlink
    } else {
        // A new slab of G structs; they live until the scheduler shuts down (as Go's do).
        let owner = Unmanaged<SchedulerCore>.fromOpaque(s.pointee.owner).takeUnretainedValue()
        let slab = GPtr.allocate(capacity: gSlabSize)
        slab.initialize(repeating: vm_g(), count: gSlabSize)
        owner.slabs.append(slab)
        for i in 1..<gSlabSize {
            slab[i].schedlink = s.pointee.gfree_bare
            s.pointee.gfree_bare = slab + i
        }
        g = slab
    }
    vm_mutex_unlock(&s.pointee.lock)
    let fresh = g!
    fresh.pointee.schedlink = nil
    attachStack(fresh, StackPool.shared.allocate(size: Int(s.pointee.stack_size)))
    return fresh
}

let gSlabSize = 128

func attachStack(_ g: GPtr, _ st: UnsafeMutablePointer<vm_stack>) {
    g.pointee.stack = st
    g.pointee.stack_lo = st.pointee.lo
    g.pointee.stack_hi = st.pointee.hi
    g.pointee.guard_lo = st.pointee.guard_lo
    g.pointee.stack_guarded = st.pointee.guarded
}

/// Returns a G and its stack to `p`'s cache; spills half to the scheduler when the cache is
/// full, and beyond the scheduler's limit gives stacks back to the process-wide pool (which
/// releases their pages).
private func gfPut(_ s: SchedPtr, _ p: PPtr, _ g: GPtr) {
    vm_store_u32(&g.pointee.status, VM_G_IDLE)
    g.pointee.schedlink = p.pointee.gfree
    p.pointee.gfree = g
    p.pointee.ngfree += 1
    if p.pointee.ngfree < perPFreeLimit { return }
    var toRelease: GPtr? = nil
    vm_mutex_lock(&s.pointee.lock)
    while p.pointee.ngfree > perPFreeLimit / 2, let x = p.pointee.gfree {
        p.pointee.gfree = x.pointee.schedlink
        p.pointee.ngfree -= 1
        if s.pointee.ngfree < schedFreeWithStacksLimit {
            x.pointee.schedlink = s.pointee.gfree
            s.pointee.gfree = x
            s.pointee.ngfree += 1
        } else {
            x.pointee.schedlink = toRelease
            toRelease = x
        }
    }
    vm_mutex_unlock(&s.pointee.lock)
    guard toRelease != nil else { return }
    // Outside the lock: madvise is a system call.
    var bareFirst: GPtr? = nil
    var bareLast: GPtr? = nil
    var stacks: [UnsafeMutablePointer<vm_stack>] = []
    stacks.reserveCapacity(Int(perPFreeLimit))
    while let x = toRelease {
        toRelease = x.pointee.schedlink
        stacks.append(x.pointee.stack)
        x.pointee.stack = nil
        x.pointee.stack_lo = 0
        x.pointee.stack_hi = 0
        x.pointee.guard_lo = 0
        x.pointee.schedlink = bareFirst
        if bareLast == nil { bareLast = x }
        bareFirst = x
    }
    StackPool.shared.release(stacks)
    vm_mutex_lock(&s.pointee.lock)
    bareLast!.pointee.schedlink = s.pointee.gfree_bare
    s.pointee.gfree_bare = bareFirst
    vm_mutex_unlock(&s.pointee.lock)
}

/// A G that was allocated but never published (run() bailing out).
func freeUnstartedG(_ s: SchedPtr, _ g: GPtr) {
    vm_mutex_lock(&s.pointee.lock)
    vm_store_u32(&g.pointee.status, VM_G_IDLE)
    g.pointee.schedlink = s.pointee.gfree
    s.pointee.gfree = g
    s.pointee.ngfree += 1
    vm_mutex_unlock(&s.pointee.lock)
}

// MARK: - The end of a G (on g0)

/// The G returned (`completed`) or is abandoned: wake its joiners, report the main G, release
/// the handle, recycle the G and its stack.
func finishG(_ s: SchedPtr, _ p: PPtr, _ g: GPtr, completed: Bool) {
    vm_store_u32(&g.pointee.status, VM_G_DEAD)
    // Abandoned while asynchronously preempted: its saved vector registers will never be restored.
    xRegDiscard(g, s)
    let handleRef = Unmanaged<GHandle>.fromOpaque(g.pointee.handle)
    g.pointee.handle = nil
    let handle = handleRef.takeUnretainedValue()
    handle.body = nil
    var waiter = GPtr(bitPattern: handle.joinState.exchange(GHandle.finishedMark, ordering: .acquiringAndReleasing))
    while let w = waiter {
        waiter = w.pointee.waitlink
        w.pointee.waitlink = nil
        ready(w, p, next: false)
    }
    if completed && s.pointee.main_g == g {
        vm_mutex_lock(&s.pointee.lock)
        if s.pointee.main_g == g && s.pointee.run_active != 0 && s.pointee.outcome_set == 0
            && g.pointee.gen == vm_load_u64(&s.pointee.gen)
        {
            let owner = Unmanaged<SchedulerCore>.fromOpaque(s.pointee.owner).takeUnretainedValue()
            owner.deliverOutcome(s, .completed)
        }
        vm_mutex_unlock(&s.pointee.lock)
    }
    handleRef.release()
    gfPut(s, p, g)
}

/// Abandons a G whose run has ended (dequeued stale, or switched out with ABANDON).
func dropG(_ s: SchedPtr, _ p: PPtr, _ g: GPtr) {
    statBump(p, VM_STAT_ABANDONED)
    finishG(s, p, g, completed: false)
}

extension SchedulerCore {
    /// At shutdown, after the Ms are joined: returns every stack to the pool, releases the
    /// handles of tasks that never finished, frees the slabs.
    func releaseAllGs() {
        var stacks: [UnsafeMutablePointer<vm_stack>] = []
        for slab in slabs {
            for i in 0..<gSlabSize {
                let g = slab + i
                if let h = g.pointee.handle {
                    let ref = Unmanaged<GHandle>.fromOpaque(h)
                    let handle = ref.takeUnretainedValue()
                    handle.body = nil
                    // Joiners of an abandoned task are abandoned too; mark it finished.
                    _ = handle.joinState.exchange(GHandle.finishedMark, ordering: .acquiringAndReleasing)
                    ref.release()
                    g.pointee.handle = nil
                    schedStatAdd(sched, VM_STAT_ABANDONED)
                }
                if let st = g.pointee.stack {
                    stacks.append(st)
                    g.pointee.stack = nil
                }
            }
            slab.deinitialize(count: gSlabSize)
            slab.deallocate()
        }
        slabs.removeAll()
        StackPool.shared.release(stacks)
    }
}
