// Machine.swift — an M's life: the scheduler loop on g0 (find a G, switch to it, finish what
// it started when it switches back), looking for work (local, global, timers, stealing),
// going idle and being woken (wakep), and deadlock detection.
//
// Everything in this file runs on an M's own pthread stack (g0), never on a G stack, so the
// `m` and `p` locals stay valid across vm_switch_to_g: g0 does not migrate.
import CJITStubs
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// pthread entry of an M.
let mThreadEntry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { arg in
    let m = arg!.assumingMemoryBound(to: vm_m.self)
    "vecvm-m\(m.pointee.id)".withCString { vm_m_thread_init(m, $0) }
    schedule(m)
    vm_m_thread_exit(m)
    return nil
}

/// The scheduler loop. Returns when the scheduler stops.
private func schedule(_ m: MPtr) {
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    let p = m.pointee.p!
    while let (g, inheritTime) = findRunnable(m, p, s) {
        if m.pointee.spinning != 0 { resetSpinning(m, p, s) }
        if g.pointee.gen != vm_load_u64(&s.pointee.gen) {
            // Its run was cancelled or terminated while it waited in a queue. Unwinding: a G that
            // has started runs once more, to return from its body (it finds out as its switch
            // returns); one that never ran has nothing to unwind.
            // A G parked without its stack has started: it runs again, from its body's start.
            let started = g.pointee.sp != nil || g.pointee.stackless == 2
            if s.pointee.unwind == 0 || !started || g.pointee.stopping != 0 {
                dropG(s, p, g)
                continue
            }
        }
        execute(m, p, s, g, inheritTime: inheritTime)
    }
}

/// Runs `g` until it switches back to g0, then completes the transition it asked for.
private func execute(_ m: MPtr, _ p: PPtr, _ s: SchedPtr, _ g: GPtr, inheritTime: Bool) {
    // Whoever dequeued a G owns it only if it was on exactly one queue: a G queued twice (or
    // queued and freed) would run on two Ms at once, or after it finished.
    let status = vm_load_u32(&g.pointee.status)
    if status != VM_G_RUNNABLE {
        fatalError("VMRuntime: task \(g.pointee.id) dequeued in status \(status): a G must be on exactly one run queue")
    }
    if g.pointee.sp == nil && !startG(s, p, g) {  // first run: attach a stack (Task.swift)
        // No memory for a stack: the task cannot start. It ends unstarted (its body is released)
        // and its run ends with the reason, like a runtime error in a task would.
        dropG(s, p, g)
        schedulerCore(m).endGeneration(reason: TaskStacksExhausted(), reportIfIdle: true)
        return
    }
    if let last = g.pointee.m, last != m { statBump(p, VM_STAT_MIGRATIONS) }
    g.pointee.m = m
    // A G run only to unwind (its run has ended) keeps the flag set: wherever it resumes, its
    // next poll stops it.
    vm_store_relaxed_u32(&g.pointee.preempt, g.pointee.gen != vm_load_u64(&s.pointee.gen) ? 1 : 0)
    vm_store_u32(&g.pointee.status, VM_G_RUNNING)
    m.pointee.curg = g
    if !inheritTime {
        // A fresh time slice. No clock read here (clock_gettime is most of a switch's cost on
        // this VM): sysmon times the slice from when it first sees the new schedtick.
        vm_bump_u64(&p.pointee.schedtick, 1)
    }
    vm_store_g(&p.pointee.curg, g)
    statBump(p, VM_STAT_SWITCHES)
    Sysmon.noteBusy()

    vm_switch_to_g(m, g)

    // Back on g0. `g` is switched out: its sp is saved and its stack is ours to inspect.
    vm_store_g(&p.pointee.curg, nil)
    m.pointee.curg = nil
    if g.pointee.stack_guarded == 0 && !vm_stack_band_intact(g) {
        // Unguarded stack (beyond the guard-page budget, see Stacks.swift): the zero band at
        // its low end was written or the saved sp is below it. Memory below may be damaged;
        // stdio is not (no G switches inside it), so buffered output is flushed first — which
        // the signal handler of a guard-page fault cannot do safely.
        fflush(nil)
        vm_fatal_stack_overflow(g)
    }
    let reason = m.pointee.reason
    m.pointee.reason = VM_REASON_NONE
    switch reason {
    case VM_REASON_YIELD, VM_REASON_PREEMPT:
        // Both go to the global queue (as Go's Gosched does): a yielding G on the local ring
        // would come back before anything on the global queue, so a G that yields in a loop
        // while waiting for others would starve the Gs that overflowed there.
        vm_store_u32(&g.pointee.status, VM_G_RUNNABLE)
        vm_mutex_lock(&s.pointee.lock)
        globalQueuePut(s, g)
        vm_mutex_unlock(&s.pointee.lock)
        statBump(p, VM_STAT_GLOBALQ)
        wakep(s)
    case VM_REASON_PARK, VM_REASON_PARK_STACKLESS:
        statBump(p, VM_STAT_PARKS)
        // Before a waker can see it WAITING: from then on another M may start it afresh.
        if reason == VM_REASON_PARK_STACKLESS { releaseStackOfParkedG(p, g) }
        if !vm_cas_u32(&g.pointee.status, VM_G_PARKING, VM_G_WAITING) {
            // A waker came between the G's publication and its switch (PARKING_WOKEN) and
            // left the queueing to us.
            precondition(vm_load_u32(&g.pointee.status) == VM_G_PARKING_WOKEN, "parked G in a bad state")
            vm_store_u32(&g.pointee.status, VM_G_RUNNABLE)
            runqPut(p, g, next: true)
        }
    case VM_REASON_EXIT:
        statBump(p, VM_STAT_EXITS)
        finishG(s, p, g, completed: true)
    case VM_REASON_ABANDON:
        dropG(s, p, g)
    default:
        fatalError("VMRuntime: task \(g.pointee.id) switched to the scheduler without a reason")
    }
}

/// Finds the next G for `p`, sleeping when there is none. Returns nil when the scheduler stops.
private func findRunnable(_ m: MPtr, _ p: PPtr, _ s: SchedPtr) -> (GPtr, Bool)? {
    while true {
        if vm_load_u32(&s.pointee.stopping) != 0 { return nil }
        var fired = 0
        if vm_load_i64(&p.pointee.timer0_when) != Int64.max {
            fired = runTimers(of: p, into: p, now: vm_nanotime())
        }
        // Every 61st fresh slice, the global queue first: otherwise two Gs that keep each
        // other busy through the local queue would starve it. Not when timers just fired:
        // their Gs are what sysmon preempted the last G for, and a preempted spinner sits on
        // the global queue.
        if fired == 0 && p.pointee.schedtick % 61 == 0 && vm_load_i64(&s.pointee.runq_size) > 0 {
            vm_mutex_lock(&s.pointee.lock)
            let g = globalQueueGet(s, p, max: 1)
            vm_mutex_unlock(&s.pointee.lock)
            if let g { return (g, false) }
        }
        if let (g, inherit) = runqGet(p) { return (g, inherit) }
        if vm_load_i64(&s.pointee.runq_size) > 0 {
            vm_mutex_lock(&s.pointee.lock)
            let g = globalQueueGet(s, p, max: 0)
            vm_mutex_unlock(&s.pointee.lock)
            if let g { return (g, false) }
        }

        // Spin: steal from the others. At most half of the busy Ps' worth of Ms spin at once.
        if m.pointee.spinning == 0 {
            let spinning = vm_load_i32(&s.pointee.nmspinning)
            let busy = s.pointee.nprocs - vm_load_i32(&s.pointee.nmidle)
            if 2 * spinning < busy {
                m.pointee.spinning = 1
                _ = vm_add_i32(&s.pointee.nmspinning, 1)
            }
        }
        if m.pointee.spinning != 0, s.pointee.nprocs > 1, let g = stealWork(m, p, s) {
            return (g, false)
        }

        // Nothing: go idle.
        vm_mutex_lock(&s.pointee.lock)
        if vm_load_u32(&s.pointee.stopping) != 0 {
            vm_mutex_unlock(&s.pointee.lock)
            return nil
        }
        if s.pointee.runq_size > 0 {
            let g = globalQueueGet(s, p, max: 0)
            vm_mutex_unlock(&s.pointee.lock)
            if let g { return (g, false) }
            continue
        }
        vm_store_u32(&m.pointee.note, 0)
        m.pointee.idle = 1
        m.pointee.idlelink = s.pointee.midle
        s.pointee.midle = m
        _ = vm_add_i32(&s.pointee.nmidle, 1)
        if m.pointee.spinning != 0 {
            m.pointee.spinning = 0
            _ = vm_add_i32(&s.pointee.nmspinning, -1)
        }
        checkDeadlock(s)
        vm_mutex_unlock(&s.pointee.lock)

        // Re-check the rings after becoming visible as idle: whoever queued a G before seeing
        // nmidle > 0 did not wake anyone (vm_fence pairs with the one in wakep). A lone
        // runnext is not such a case: its P's M runs it.
        vm_fence()
        var work = vm_load_i64(&s.pointee.runq_size) > 0
        if !work {
            for i in 0..<Int(s.pointee.nprocs) where runqHasWork(s.pointee.allp[i]!, includingRunnext: false) {
                work = true
                break
            }
        }
        if work {
            leaveIdle(m, s, spinning: true)
            continue
        }

        let deadline = vm_load_i64(&p.pointee.timer0_when)
        if !vm_note_sleep(&m.pointee.note, deadline) {
            // Timer deadline: take ourselves off the idle list (unless a waker just did).
            leaveIdle(m, s, spinning: false)
        }
        // Woken by wakep: it took us off the list and made us spinning.
    }
}

/// Leaves the idle list if still on it. If a waker popped us first, it set `spinning` for us.
private func leaveIdle(_ m: MPtr, _ s: SchedPtr, spinning: Bool) {
    vm_mutex_lock(&s.pointee.lock)
    if m.pointee.idle != 0 {
        if s.pointee.midle == m {
            s.pointee.midle = m.pointee.idlelink
        } else {
            var prev = s.pointee.midle!
            while prev.pointee.idlelink != m { prev = prev.pointee.idlelink! }
            prev.pointee.idlelink = m.pointee.idlelink
        }
        m.pointee.idlelink = nil
        m.pointee.idle = 0
        _ = vm_add_i32(&s.pointee.nmidle, -1)
        if spinning {
            m.pointee.spinning = 1
            _ = vm_add_i32(&s.pointee.nmspinning, 1)
        }
    }
    vm_mutex_unlock(&s.pointee.lock)
}

/// A spinning M found work: it stops spinning, and if it was the last spinner and more work
/// is queued, it wakes another M to look for it (so work is never queued with Ms idle and
/// nobody looking).
private func resetSpinning(_ m: MPtr, _ p: PPtr, _ s: SchedPtr) {
    m.pointee.spinning = 0
    if vm_add_i32(&s.pointee.nmspinning, -1) == 0,
        runqHasWork(p, includingRunnext: false) || vm_load_i64(&s.pointee.runq_size) > 0
    {
        wakep(s)
    }
}

/// Four passes over the other Ps in random order; fires their due timers and steals half
/// their rings (on the last pass, their runnext too).
private func stealWork(_ m: MPtr, _ p: PPtr, _ s: SchedPtr) -> GPtr? {
    let n = UInt64(s.pointee.nprocs)
    for pass in 0..<4 {
        var r = m.pointee.rand
        r ^= r << 13
        r ^= r >> 7
        r ^= r << 17
        m.pointee.rand = r
        let start = r % n
        for k in 0..<n {
            if vm_load_u32(&s.pointee.stopping) != 0 { return nil }
            let victim = s.pointee.allp[Int((start + k) % n)]!
            if victim == p { continue }
            let due = vm_load_i64(&victim.pointee.timer0_when)
            if due != Int64.max, due <= vm_nanotime() {
                if runTimers(of: victim, into: p, now: vm_nanotime()) > 0, let (g, _) = runqGet(p) {
                    return g
                }
            }
            if let g = runqSteal(p, from: victim, stealRunnext: pass == 3) { return g }
        }
        if let (g, _) = runqGet(p) { return g }
    }
    return nil
}

/// Wakes an idle M if there is one and no M is already spinning (a spinning M will find
/// whatever was just queued). Callable from any thread.
@inline(__always)
func wakep(_ s: SchedPtr) {
    // Pairs with the fence an M executes after registering as idle (findRunnable): either we
    // see nmidle > 0 here or it sees our queued G there.
    vm_fence()
    if vm_load_i32(&s.pointee.nmidle) == 0 || vm_load_i32(&s.pointee.nmspinning) != 0 { return }
    wakeIdleM(s)
}

/// Pops an idle M, makes it spinning and wakes it.
@inline(never)
func wakeIdleM(_ s: SchedPtr) {
    vm_mutex_lock(&s.pointee.lock)
    guard let m = s.pointee.midle else {
        vm_mutex_unlock(&s.pointee.lock)
        return
    }
    s.pointee.midle = m.pointee.idlelink
    m.pointee.idlelink = nil
    m.pointee.idle = 0
    _ = vm_add_i32(&s.pointee.nmidle, -1)
    m.pointee.spinning = 1
    _ = vm_add_i32(&s.pointee.nmspinning, 1)
    // The note is set under the lock so that it cannot land after the M's next registration
    // as idle (which clears it under the lock); the futex wake may then be spurious.
    vm_store_u32(&m.pointee.note, 1)
    vm_mutex_unlock(&s.pointee.lock)
    vm_futex_wake(&m.pointee.note, 1)
    schedStatAdd(s, VM_STAT_WAKEUPS)
}

/// Called under sched.lock by an M that just went idle. Deadlock: a run is waiting, every M
/// is idle, and no G is queued anywhere and no timer is pending. (A G in transit is always in
/// the hands of a non-idle M; a timer could still wake someone.)
private func checkDeadlock(_ s: SchedPtr) {
    if s.pointee.run_active == 0 || s.pointee.outcome_set != 0 { return }
    if vm_load_i32(&s.pointee.nmidle) != s.pointee.nprocs || s.pointee.runq_size != 0 { return }
    for i in 0..<Int(s.pointee.nprocs) {
        let p = s.pointee.allp[i]!
        if runqHasWork(p, includingRunnext: true) || vm_load_i64(&p.pointee.timer0_when) != Int64.max { return }
    }
    let owner = Unmanaged<SchedulerCore>.fromOpaque(s.pointee.owner).takeUnretainedValue()
    owner.deliverOutcome(s, .deadlock)
    // The blocked Gs belong to a finished program now.
    _ = vm_add_u64(&s.pointee.gen, 1)
}
