// Task.swift — a G's life: creation (free lists, slabs, per-P stack caches, reusable handles),
// its first instructions and its end, the switches a running G makes to its M's g0 (yield, park, exit,
// abandon), waking a parked G (ready), and GHandle with join.
//
// The rules of code that runs on a G stack are enforced here (see also Scheduler.swift):
// - A G reads its M only through vm_current_m()/vm_current_g(), which are out-of-line C
//   calls, and never uses an M or P pointer it read before a switch after that switch.
// - Nothing is borrowed across a switch: switch helpers are @inline(never) functions that take
//   only raw pointers, called outside of any Swift access to a class property or global.
import CJITStubs
import Synchronization
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A task, as seen by the code that spawned it (and by the task itself: `Scheduler.current`).
///
/// Open so that a layer above can make its own task object the handle (`Scheduler.spawn(_:_:)`): a
/// spawn then allocates one object, not two. A subclass instance names no task until spawned.
open class GHandle: @unchecked Sendable {
    // @unchecked Sendable: `id`, `gStruct` and `body` are written once before the G is published to
    // a run queue (by prepareG) and `body` taken once by the G itself (the queue's release/acquire
    // orders them); `joinState` is atomic.

    /// Task id: the main task of a scheduler's first run is 1, then increasing. A handle made
    /// with `init(id:)` has the id given until it is spawned. (Written only before the handle is
    /// published, so no access needs checking at run time: a checked read cost a call.)
    @exclusivity(unchecked) public internal(set) var id: Int

    /// 0 while the task runs; `finishedMark` once it has finished. Set under the G's joinlock.
    let joinState = Atomic<UInt>(0)
    static let finishedMark: UInt = 1

    /// The task's G struct while it runs (its joiners wait in its `joinq`). Once the task has
    /// finished the struct may serve another task: a joiner locks its joinlock and re-checks
    /// `joinState` under it (G structs live in slabs until shutdown, so the lock stays memory).
    var gStruct: GPtr!

    nonisolated(unsafe) var body: (() -> Void)?

    /// Whether the handle may serve another spawn once its task has finished and nothing but its G
    /// references it (`Scheduler.reusableHandle`): the scheduler then keeps it, `prepareForReuse`d,
    /// in its P's cache instead of releasing it. Nobody can tell the difference (nobody holds it),
    /// and a spawn that takes it allocates nothing, nor does the task's end free anything.
    public final let reusable: Bool
    /// The next handle in a P's cache of reusable handles (`vm_p.handlefree`).
    var nextFree: Unmanaged<GHandle>?

    /// A handle of no task yet, for a subclass: `Scheduler.spawn(_:_:)` makes it a task's.
    /// `reusable`: see `reusable`.
    public init(id: Int, reusable: Bool = false) {
        self.id = id
        self.gStruct = nil
        self.body = nil
        self.reusable = reusable
    }

    /// Called on a scheduler thread when a finished task's handle goes to a cache for another spawn
    /// (`reusable`; nothing else references it): a subclass releases what it holds and resets
    /// what a new task expects. The handle's own task fields are reset by the scheduler.
    open func prepareForReuse() {}

    /// Whether the handle is a task's (made by a spawn), so that `join` may be called.
    public final var isTask: Bool { gStruct != nil }

    /// Gives a handle of no task the id of the task it stands for (a run's main task, whose own
    /// handle the scheduler made).
    public final func standFor(id: Int) {
        precondition(gStruct == nil, "a task's handle keeps its id")
        self.id = id
    }

    /// Parks the calling task until this task has finished (returned or been abandoned). In a
    /// scheduler that `unwindsStoppedTasks`, also returns early when the caller's run ends
    /// (`Scheduler.isStopping` is then true).
    public final func join() {
        _ = join(stackless: false)
    }

    /// `join` for a task body that can run again from its start (see Channel.receiveOrPark): where
    /// it would wait while many tasks exist, the caller is queued and true returned; its body must
    /// then return, and runs again from its start once this task has finished (joining again then
    /// returns at once).
    public final func joinOrPark() -> Bool {
        join(stackless: true)
    }

    @inline(__always)
    private func join(stackless: Bool) -> Bool {
        guard let m = vm_current_m(), let g = m.pointee.curg else { notInTask("GHandle.join") }
        if isFinished { return false }
        if g.pointee.handle == Unmanaged.passUnretained(self).toOpaque() {
            fatalError("task \(id) joins itself")
        }
        if isStale(g, m) {
            stopOrAbandon(g, m)
            return false
        }
        guard let target = gStruct else { fatalError("join of a GHandle that names no task") }
        vm_mutex_lock(&target.pointee.joinlock)
        if isFinished {
            vm_mutex_unlock(&target.pointee.joinlock)
            return false
        }
        vm_store_u32(&g.pointee.status, VM_G_PARKING)
        g.pointee.waitlink = target.pointee.joinq
        target.pointee.joinq = g
        publishWait(g, VM_WAIT_JOIN, UnsafeMutableRawPointer(target))
        if isStale(g, m) {
            // The run ended as we queued (see publishWait): we are at the head, and the lock is
            // ours, so nobody has seen us yet.
            target.pointee.joinq = g.pointee.waitlink
            g.pointee.waitlink = nil
            clearWait(g)
            vm_store_u32(&g.pointee.status, VM_G_RUNNING)
            vm_mutex_unlock(&target.pointee.joinlock)
            stopOrAbandon(g, m)
            return false
        }
        if stackless && manyGsAlive(m) {
            requestStacklessPark(g)
            vm_mutex_unlock(&target.pointee.joinlock)
            return true
        }
        vm_mutex_unlock(&target.pointee.joinlock)
        parkCurrent(g, m)
        noteStoppedAfterSwitch(g)
        return false
    }

    /// Whether the task has finished.
    public final var isFinished: Bool { joinState.load(ordering: .acquiring) == GHandle.finishedMark }
}

// MARK: - Entry and exit

/// The C entry point of every G (called by vm_ctx_trampoline on the new stack), also when a G
/// that parked without its stack is woken: its body runs again from the start.
let gEntryPoint: @convention(c) (UnsafeMutableRawPointer?) -> Void = { _ in
    if runCurrentBody() { parkStacklessCurrent() }
    exitCurrent()
}

/// Runs the body; returns with every Swift value it created released, so that nothing is
/// left to release on a stack that will never be returned to. True when the body returned to
/// park without its stack (Channel.receiveOrPark, sendOrPark): the body goes back into the handle,
/// to be run again when the G is woken. The body moves out of the handle and back (no retain or
/// release of its context but the last, when it has returned for good).
@inline(never)
private func runCurrentBody() -> Bool {
    let body = takeBody()
    body()
    let g = vm_current_g()!
    if g.pointee.stackless == 0 { return false }
    // The G is PARKING and nobody reads the handle's body before g0 has finished the switch (a
    // waker only changes the status; finishG runs for a dequeued or switched-out G).
    Unmanaged<GHandle>.fromOpaque(g.pointee.handle)._withUnsafeGuaranteedRef { $0.body = consume body }
    return true
}

/// The body, taken out of the handle; no reference to the handle stays on the G's stack (if the
/// G is abandoned inside the body, only what the body itself holds is never released).
@inline(never)
private func takeBody() -> () -> Void {
    let g = vm_current_g()!
    return Unmanaged<GHandle>.fromOpaque(g.pointee.handle)._withUnsafeGuaranteedRef { $0.body.take()! }
}

@inline(never)
private func exitCurrent() -> Never {
    leaveStackForGood(VM_REASON_EXIT, "a finished task was resumed")
}

/// Switches the current G to g0 with `reason`, never to come back on this stack (`broken`: what it
/// would mean if it did).
@inline(never)
private func leaveStackForGood(_ reason: UInt32, _ broken: StaticString) -> Never {
    let m = vm_current_m()!
    let g = m.pointee.curg!
    m.pointee.reason = reason
    vm_switch_to_g0(g, m)
    fatalError("VMRuntime: \(broken)")
}

// MARK: - Switches from a running G

/// Whether the G's run has ended (its generation is no longer the scheduler's).
@inline(__always)
func isStale(_ g: GPtr, _ m: MPtr) -> Bool {
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    return g.pointee.gen != vm_load_u64(&s.pointee.gen)
}

/// yield / preempt: the G stays runnable. If its run has ended: stopOrAbandon instead.
/// After the switch the G may be on another M: `m` must not be used again (it is not).
/// With `tell` false (a caller that cannot check `Scheduler.isStopping`: asyncPreempt2), a G that
/// finds its run ended when it resumes gets its preempt flag set instead, for its next poll.
@inline(never)
func switchOut(_ g: GPtr, _ m: MPtr, reason: UInt32, tell: Bool = true) {
    if isStale(g, m) {
        stopOrAbandon(g, m)
        return
    }
    if reason == VM_REASON_YIELD { statBump(m.pointee.p, VM_STAT_YIELDS) }
    m.pointee.reason = reason
    vm_switch_to_g0(g, m)
    if tell {
        noteStoppedAfterSwitch(g)
    } else if let now = vm_current_m(), isStale(g, now) {
        vm_store_relaxed_u32(&g.pointee.preempt, 1)
    }
}

/// A G whose run has ended, at a switch: in a scheduler that unwinds stopped tasks, told (the
/// switch returns at once and `Scheduler.isStopping` is true) the first time; otherwise, or
/// when it was told already, abandoned.
@inline(never)
func stopOrAbandon(_ g: GPtr, _ m: MPtr) {
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    if s.pointee.unwind != 0 && g.pointee.stopping == 0 {
        g.pointee.stopping = 1
        return
    }
    abandonCurrent(g, m)
}

/// Right after a switch returned (on whatever M the G is now): records that the G's run ended
/// while it was switched out — it was run, or woken by the reaper, to unwind. Returns whether so.
@inline(never)
@discardableResult
func noteStoppedAfterSwitch(_ g: GPtr) -> Bool {
    guard let m = vm_current_m() else { return false }
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    guard s.pointee.unwind != 0, isStale(g, m) else { return false }
    g.pointee.stopping = 1
    return true
}

/// Publishes where a parking G waits (its wait structure's lock held), then — after a full fence —
/// the caller reads the generation: with the reaper, which bumps the generation before it reads
/// `waitkind`, either the reaper finds the G or the G sees its run has ended.
@inline(__always)
func publishWait(_ g: GPtr, _ kind: UInt, _ object: UnsafeMutableRawPointer) {
    vm_store_uptr(&g.pointee.waitobj, UInt(bitPattern: object) | kind)
    vm_fence()
}

/// The G left its wait structure (that structure's lock held).
@inline(__always)
func clearWait(_ g: GPtr) {
    vm_store_uptr(&g.pointee.waitobj, VM_WAIT_NONE)
}

/// Blocks the current G. The caller has set it PARKING and published it in a wait structure
/// whose lock it has released. After the switch the G may be on another M.
@inline(never)
func parkCurrent(_ g: GPtr, _ m: MPtr) {
    m.pointee.reason = VM_REASON_PARK
    vm_switch_to_g0(g, m)
}

/// Asks for the current G to park without its stack: the caller (a channel operation that
/// returns `.parked`) has set it PARKING and published it in a wait structure whose lock it has
/// released; it then returns, and so must everything up to the G's body, which is run again from
/// the start on a fresh stack when the G is woken (the body must be written for that: the
/// interpreter's tasks resume at the instruction that parked, from their heap state). Nothing on
/// the stack is needed after this: `gEntryPoint` switches to g0, which takes the stack back.
@inline(__always)
func requestStacklessPark(_ g: GPtr) {
    g.pointee.stackless = 1
}

/// Whether the scheduler of `m` has more than its `stacklessParkThreshold` Gs alive (spawned and
/// not yet finished or dropped; the per-P counters, read racily: a heuristic, not a count). With
/// the default 1,024, the stack pages of waiting Gs are at most 4 MiB, and a few Gs that trade
/// values keep their stacks: giving a stack back and starting again on one makes each wait about
/// 30% dearer (channel ping-pong: 190 → 250 ns here).
@inline(__always)
func manyGsAlive(_ m: MPtr) -> Bool {
    vm_sched_many_gs_alive(m.pointee.sched.assumingMemoryBound(to: vm_sched.self))
}

/// The G's body has returned to park without its stack (see requestStacklessPark).
@inline(never)
private func parkStacklessCurrent() -> Never {
    leaveStackForGood(VM_REASON_PARK_STACKLESS, "a task that parked without its stack was resumed on it")
}

/// On g0, for a G that switched out with VM_REASON_PARK_STACKLESS: its stack goes back to `p`'s
/// cache and the G is left unstarted-looking (sp nil, `stackless` 2), so that its next run
/// attaches a stack and enters gEntryPoint. Before the G can be seen WAITING by a waker.
func releaseStackOfParkedG(_ p: PPtr, _ g: GPtr) {
    g.pointee.stackless = 2
    if let st = g.pointee.stack {
        g.pointee.stack = nil
        g.pointee.stack_lo = 0
        g.pointee.stack_hi = 0
        g.pointee.guard_lo = 0
        stackPut(p, st)
    }
    g.pointee.sp = nil
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

/// `ready` for a thread that owns no P (a host thread cancelling a run, or a G whose P must not
/// be assumed): a WAITING G goes to the global queue. The caller has just taken `g` out of its
/// wait structure, so it is the only waker, as in `ready`.
func readyAnywhere(_ s: SchedPtr, _ g: GPtr) {
    while true {
        let status = vm_load_u32(&g.pointee.status)
        if status == VM_G_WAITING {
            vm_store_u32(&g.pointee.status, VM_G_RUNNABLE)
            vm_mutex_lock(&s.pointee.lock)
            globalQueuePut(s, g)
            vm_mutex_unlock(&s.pointee.lock)
            schedStatAdd(s, VM_STAT_GLOBALQ)
            wakep(s)
            return
        }
        if status == VM_G_PARKING {
            // Its own M's g0 queues it once the switch is complete (Machine.execute).
            if vm_cas_u32(&g.pointee.status, VM_G_PARKING, VM_G_PARKING_WOKEN) { return }
            continue
        }
        fatalError("VMRuntime: waking task \(g.pointee.id) in status \(status)")
    }
}

// MARK: - Creation

/// Spawns a G from inside the G `parent` running on `m`. No stack yet: the M that first runs
/// the G attaches one (startG), so spawning touches no stack memory, and a P whose tasks start
/// and finish recycles its own warm stacks whichever P spawned them.
/// `handle` (a handle of no task yet, which the caller keeps) becomes the new G's.
func spawnG(_ m: MPtr, _ parent: GPtr, _ body: consuming @escaping () -> Void, handle: GHandle) {
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    let p = m.pointee.p!
    let g = allocG(s, p)
    // The child belongs to the parent's generation: a child of an abandoned run is abandoned.
    prepareG(s, g, body: consume body, gen: parent.pointee.gen, handle: handle)
    statBump(p, VM_STAT_TASKS)
    if let kicked = runnextPut(p, g), runqPut(p, kicked, next: false) {
        // The spawner filled its P's queue (half of it went to the global queue): it is asked to
        // yield at its next poll point, as at the end of its quantum, and its P runs what it
        // spawned. Go lets a spawning loop run on; but a task's first run and exit cost more than
        // its spawn, so the loop ran ahead of every P by tens of thousands of tasks until its
        // quantum ended, and they ran cold (100,000 spawns of a short task, 2 Ps: the tasks queued
        // at once charged 70-200 MB, now 11 MB; 13% faster; ReliabilityTests).
        vm_store_relaxed_u32(&parent.pointee.preempt, 1)
    }
    wakep(s)
}

/// Gives `g` (a free G struct, no stack) an id and `handle` (a handle of no task yet), which gets
/// `body`; the G takes its own reference to the handle (one retain: the handle is neither copied
/// nor returned). RUNNABLE, not started (sp nil).
func prepareG(_ s: SchedPtr, _ g: GPtr, body: consuming @escaping () -> Void, gen: UInt64, handle: GHandle) {
    let id = vm_add_i64(&s.pointee.next_gid, 1) - 1
    precondition(handle.gStruct == nil, "a GHandle can be spawned once (or again once reused)")
    handle.id = Int(id)
    handle.gStruct = g
    handle.body = consume body
    g.pointee.handle = Unmanaged.passRetained(handle).toOpaque()
    g.pointee.id = id
    g.pointee.gen = gen
    g.pointee.m = nil
    g.pointee.preempt = 0
    g.pointee.waitlink = nil
    g.pointee.schedlink = nil
    g.pointee.waitok = 0
    g.pointee.stopping = 0
    g.pointee.stackless = 0
    g.pointee.joinq = nil
    clearWait(g)
    g.pointee.sp = nil
    vm_store_u32(&g.pointee.status, VM_G_RUNNABLE)
}

/// On `p`'s M (g0), before `g` first runs: attaches a stack from `p`'s cache and builds the
/// frame that enters gEntryPoint.
/// False when no stack could be had (the system refused the memory): the G is then finished without
/// running, and its run ends as `.terminated(TaskStacksExhausted)`.
@inline(never)
func startG(_ s: SchedPtr, _ p: PPtr, _ g: GPtr) -> Bool {
    guard let st = stackGet(s, p) else { return false }
    g.pointee.stackless = 0
    g.pointee.stack = st
    g.pointee.stack_lo = st.pointee.lo
    g.pointee.stack_hi = st.pointee.hi
    g.pointee.guard_lo = st.pointee.guard_lo
    g.pointee.stack_guarded = st.pointee.guarded
    vm_stack_sanitizer_reset(st.pointee.lo, st.pointee.hi)
    g.pointee.sp = vm_ctx_init(st.pointee.hi, gEntryPoint, UnsafeMutableRawPointer(g))
    return true
}

private let perPFreeLimit: UInt32 = 64
private let perPStackLimit: UInt32 = 64

/// A free G struct: from `p`'s cache, the scheduler's list, or a new slab. Owner of `p` only
/// (or p nil: the host thread in run()).
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
    if s.pointee.gfree == nil {
        // A new slab of G structs; they live until the scheduler shuts down (as Go's do).
        let owner = Unmanaged<SchedulerCore>.fromOpaque(s.pointee.owner).takeUnretainedValue()
        let slab = GPtr.allocate(capacity: gSlabSize)
        slab.initialize(repeating: vm_g(), count: gSlabSize)
        owner.slabs.append(slab)
        for i in 0..<gSlabSize {
            slab[i].schedlink = s.pointee.gfree
            s.pointee.gfree = slab + i
        }
        s.pointee.ngfree += Int64(gSlabSize)
    }
    let g = s.pointee.gfree!
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

let gSlabSize = 128

/// Returns a G struct to `p`'s cache; spills half to the scheduler's list when it is full.
private func gfPut(_ s: SchedPtr, _ p: PPtr, _ g: GPtr) {
    vm_store_u32(&g.pointee.status, VM_G_IDLE)
    g.pointee.schedlink = p.pointee.gfree
    p.pointee.gfree = g
    p.pointee.ngfree += 1
    if p.pointee.ngfree < perPFreeLimit { return }
    vm_mutex_lock(&s.pointee.lock)
    while p.pointee.ngfree > perPFreeLimit / 2, let x = p.pointee.gfree {
        p.pointee.gfree = x.pointee.schedlink
        p.pointee.ngfree -= 1
        x.pointee.schedlink = s.pointee.gfree
        s.pointee.gfree = x
        s.pointee.ngfree += 1
    }
    vm_mutex_unlock(&s.pointee.lock)
}

/// A stack for a G starting on `p` (owner only): the P's cache first, else a batch from the
/// process-wide pool (warm stacks first; see Stacks.swift).
@inline(__always)
private func stackGet(_ s: SchedPtr, _ p: PPtr) -> UnsafeMutablePointer<vm_stack>? {
    if p.pointee.stackfree == nil {
        let (list, n) = StackPool.shared.allocate(size: Int(s.pointee.stack_size), upTo: Int(perPStackLimit / 2))
        p.pointee.stackfree = list
        vm_store_relaxed_u32(&p.pointee.nstackfree, UInt32(n))
    }
    guard let st = p.pointee.stackfree else { return nil }
    p.pointee.stackfree = st.pointee.next
    st.pointee.next = nil
    vm_store_relaxed_u32(&p.pointee.nstackfree, p.pointee.nstackfree - 1)
    return st
}

/// Takes back the stack of a finished G into `p`'s cache (owner only); when the cache is full,
/// half of it goes back to the pool in one batch. The pages stay: the next G to start here
/// reuses them without a page fault.
@inline(__always)
private func stackPut(_ p: PPtr, _ st: UnsafeMutablePointer<vm_stack>) {
    st.pointee.next = p.pointee.stackfree
    p.pointee.stackfree = st
    vm_store_relaxed_u32(&p.pointee.nstackfree, p.pointee.nstackfree + 1)
    if p.pointee.nstackfree < perPStackLimit { return }
    // Keep the most recently freed half (warmest in cache): hand back the tail of the list.
    var keep = st
    for _ in 1..<(perPStackLimit / 2) { keep = keep.pointee.next! }
    let spill = keep.pointee.next!
    keep.pointee.next = nil
    vm_store_relaxed_u32(&p.pointee.nstackfree, perPStackLimit / 2)
    StackPool.shared.release(list: spill)
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
    // The G's reference, moved here: the only other references are the program's, so that at the
    // end a handle nobody else holds is known to be unreferenced (releaseOrKeep).
    let handle = Unmanaged<GHandle>.fromOpaque(g.pointee.handle).takeRetainedValue()
    // The body of a task that never started is released before the G counts as dead: what it
    // holds (a parallel kernel's worker holds the kernel's arrays) is given back before
    // waitForStoppedTasks, which waits for the stopped Gs to be dead, lets the next run start.
    handle.body = nil
    vm_store_u32(&g.pointee.status, VM_G_DEAD)
    if g.pointee.gen != vm_load_u64(&s.pointee.gen) { _ = vm_add_u64(&s.pointee.stopped_finished, 1) }
    // Abandoned while asynchronously preempted: its saved vector registers will never be restored.
    xRegDiscard(g, s)
    g.pointee.handle = nil
    // Finished under the lock that joiners (and the reaper) take: a joiner that locks it later
    // sees the mark, even if this G struct serves another task by then.
    vm_mutex_lock(&g.pointee.joinlock)
    handle.joinState.store(GHandle.finishedMark, ordering: .releasing)
    var waiter = g.pointee.joinq
    g.pointee.joinq = nil
    var w = waiter
    while let x = w {
        clearWait(x)
        w = x.pointee.waitlink
    }
    vm_mutex_unlock(&g.pointee.joinlock)
    while let w = waiter {
        waiter = w.pointee.waitlink
        w.pointee.waitlink = nil
        ready(w, p, next: false)
    }
    if completed && vm_sched_main_g(s) == g {
        vm_mutex_lock(&s.pointee.lock)
        if s.pointee.main_g == g && s.pointee.run_active != 0 && s.pointee.outcome_set == 0
            && g.pointee.gen == vm_load_u64(&s.pointee.gen)
        {
            let owner = Unmanaged<SchedulerCore>.fromOpaque(s.pointee.owner).takeUnretainedValue()
            owner.deliverOutcome(s, .completed)
        }
        vm_mutex_unlock(&s.pointee.lock)
    }
    releaseOrKeep(s, p, consume handle)
    if let st = g.pointee.stack {
        // Detached before the G struct is free: a free G never owns a stack.
        g.pointee.stack = nil
        g.pointee.stack_lo = 0
        g.pointee.stack_hi = 0
        g.pointee.guard_lo = 0
        g.pointee.sp = nil
        stackPut(p, st)
    }
    gfPut(s, p, g)
}

// Reusable handles (GHandle.reusable) cached per P, and on the scheduler's list beyond that: as
// the G structs (allocG/gfPut), a P whose cache is full moves half of it to the list, and one
// whose cache is empty takes a batch from there, one lock a batch. Tasks often end on another P
// than the one that spawns (the spawning task keeps its P), so the handles travel that way.
private let perPHandleLimit: UInt32 = 64
private let schedHandleLimit: Int64 = 8192

/// The G's reference to the handle of a finished task (`handle`, moved in): the handle goes to
/// `p`'s cache for another spawn if it is `reusable` and nothing else references it (nobody can
/// then tell the difference); else the reference is dropped.
private func releaseOrKeep(_ s: SchedPtr, _ p: PPtr, _ handle: consuming GHandle) {
    guard handle.reusable && isKnownUniquelyReferenced(&handle) else { return }
    if p.pointee.nhandlefree >= perPHandleLimit && !spillHandles(s, p) { return }
    // Whoever released the handle last (on another thread, maybe) did so before we reset it.
    atomicMemoryFence(ordering: .acquiring)
    handle.joinState.store(0, ordering: .relaxed)
    handle.gStruct = nil
    handle.prepareForReuse()
    handle.nextFree = p.pointee.handlefree.map { Unmanaged<GHandle>.fromOpaque($0) }
    p.pointee.handlefree = Unmanaged.passRetained(handle).toOpaque()
    p.pointee.nhandlefree += 1
}

/// Moves half of `p`'s full cache of handles to the scheduler's list; false when that list is
/// full too (the caller then drops its handle).
@inline(never)
private func spillHandles(_ s: SchedPtr, _ p: PPtr) -> Bool {
    vm_mutex_lock(&s.pointee.lock)
    defer { vm_mutex_unlock(&s.pointee.lock) }
    if s.pointee.nhandlefree >= schedHandleLimit { return false }
    while p.pointee.nhandlefree > perPHandleLimit / 2, p.pointee.handlefree != nil {
        moveFirstHandle(&p.pointee.handlefree, to: &s.pointee.handlefree)
        p.pointee.nhandlefree -= 1
        s.pointee.nhandlefree += 1
    }
    return true
}

/// A handle from the cache of the P that the calling task runs on (see `releaseOrKeep`), refilled
/// from the scheduler's list when empty; nil when there is none.
func takeReusableHandle() -> GHandle? {
    guard let m = vm_current_m(), let p = m.pointee.p else { return nil }
    if p.pointee.handlefree == nil {
        let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
        if vm_load_i64(&s.pointee.nhandlefree) == 0 || !refillHandles(s, p) { return nil }
    }
    let ref = Unmanaged<GHandle>.fromOpaque(p.pointee.handlefree!)
    p.pointee.handlefree = ref._withUnsafeGuaranteedRef { h -> UnsafeMutableRawPointer? in
        let next = h.nextFree?.toOpaque()
        h.nextFree = nil
        return next
    }
    p.pointee.nhandlefree -= 1
    return ref.takeRetainedValue()
}

/// Takes a batch of handles from the scheduler's list into `p`'s empty cache; false when the list
/// was empty.
@inline(never)
private func refillHandles(_ s: SchedPtr, _ p: PPtr) -> Bool {
    vm_mutex_lock(&s.pointee.lock)
    defer { vm_mutex_unlock(&s.pointee.lock) }
    while p.pointee.nhandlefree < perPHandleLimit / 2, s.pointee.handlefree != nil {
        moveFirstHandle(&s.pointee.handlefree, to: &p.pointee.handlefree)
        s.pointee.nhandlefree -= 1
        p.pointee.nhandlefree += 1
    }
    return p.pointee.handlefree != nil
}

/// Moves the first handle of the list `from` (a non-empty list of handles linked through
/// GHandle.nextFree, each retained once by the list) to the front of the list `to`; the caller
/// adjusts the two counts.
@inline(__always)
private func moveFirstHandle(_ from: inout UnsafeMutableRawPointer?, to: inout UnsafeMutableRawPointer?) {
    let raw = from!
    Unmanaged<GHandle>.fromOpaque(raw)._withUnsafeGuaranteedRef { h in
        from = h.nextFree?.toOpaque()
        h.nextFree = to.map { Unmanaged<GHandle>.fromOpaque($0) }
    }
    to = raw
}

/// Abandons a G whose run has ended (dequeued stale, or switched out with ABANDON).
func dropG(_ s: SchedPtr, _ p: PPtr, _ g: GPtr) {
    statBump(p, VM_STAT_ABANDONED)
    finishG(s, p, g, completed: false)
}

extension SchedulerCore {
    /// At shutdown, after the Ms are joined: returns every stack (the Ps' caches and those of
    /// tasks that never finished) to the pool, releases the handles of those tasks and the Ps'
    /// caches of reusable handles, frees the slabs.
    func releaseAllGs() {
        var stacks: UnsafeMutablePointer<vm_stack>? = nil
        func releaseHandles(_ list: UnsafeMutableRawPointer?) {
            var next = list
            while let raw = next {
                let ref = Unmanaged<GHandle>.fromOpaque(raw)
                next = ref._withUnsafeGuaranteedRef { $0.nextFree?.toOpaque() }
                ref.release()
            }
        }
        releaseHandles(sched.pointee.handlefree)
        sched.pointee.handlefree = nil
        sched.pointee.nhandlefree = 0
        for p in ps {
            releaseHandles(p.pointee.handlefree)
            p.pointee.handlefree = nil
            p.pointee.nhandlefree = 0
            while let st = p.pointee.stackfree {
                p.pointee.stackfree = st.pointee.next
                st.pointee.next = stacks
                stacks = st
            }
            p.pointee.nstackfree = 0
        }
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
                    st.pointee.next = stacks
                    stacks = st
                    g.pointee.stack = nil
                }
            }
            slab.deinitialize(count: gSlabSize)
            slab.deallocate()
        }
        slabs.removeAll()
        if let stacks { StackPool.shared.release(list: stacks) }
    }
}
