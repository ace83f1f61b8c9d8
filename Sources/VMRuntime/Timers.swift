// Timers.swift — sleep(): a per-P binary heap of (deadline, sequence, G) under the P's timer
// lock, fired by the P's own M when it schedules, by idle Ms that steal due timers of busy Ps,
// and prompted by sysmon (which sleeps until the earliest deadline of a busy P). Equal
// deadlines fire in the order they were armed, and fired Gs go to the tail of the ring (not
// runnext) so that a batch of due timers keeps that order. When a run is cancelled or
// terminated, the timers of its sleepers are dropped at once (dropStaleTimers).
import CJITStubs

/// Parks `g` (running on `m`) for `nanoseconds` > 0.
func sleepG(_ g: GPtr, _ m: MPtr, _ nanoseconds: Int64) {
    if isStale(g, m) {
        stopOrAbandon(g, m)
        return
    }
    let p = m.pointee.p!
    let start = vm_nanotime()
    // Saturate: sleep(Int64.max) means "forever" (its timer still counts as pending, so the
    // sleeper is not reported as deadlocked, as in Go).
    let when = nanoseconds > Int64.max - start ? Int64.max - 1 : start + nanoseconds
    // PARKING before the timer is visible: a thief may fire it before we switch out.
    vm_store_u32(&g.pointee.status, VM_G_PARKING)
    vm_mutex_lock(&p.pointee.timer_lock)
    timerPush(p, when: when, g: g)
    vm_mutex_unlock(&p.pointee.timer_lock)
    statBump(p, VM_STAT_TIMERS)
    Sysmon.timerArmed(when)
    if isStale(g, m) {
        // The run ended since the check above, and its dropStaleTimers may have scanned this
        // heap before our timer was in it: drop it (and so ourselves, once parked) now.
        dropStaleTimers(m.pointee.sched.assumingMemoryBound(to: vm_sched.self))
    }
    parkCurrent(g, m)
    noteStoppedAfterSwitch(g)
}

/// Fires the due timers of `victim` into `p`'s run queue (`p` is the caller's own P).
/// Returns how many fired.
@discardableResult
func runTimers(of victim: PPtr, into p: PPtr, now: Int64) -> Int {
    var fired: GPtr? = nil
    var last: GPtr? = nil
    var n = 0
    vm_mutex_lock(&victim.pointee.timer_lock)
    while victim.pointee.ntimers > 0 && victim.pointee.timers[0].when <= now {
        let g = timerPop(victim)
        g.pointee.schedlink = nil
        if let l = last { l.pointee.schedlink = g } else { fired = g }
        last = g
        n += 1
    }
    vm_mutex_unlock(&victim.pointee.timer_lock)
    if n > 0 && victim != p { statBump(p, VM_STAT_TIMERS_STOLEN, UInt64(n)) }
    while let g = fired {
        fired = g.pointee.schedlink
        g.pointee.schedlink = nil
        ready(g, p, next: false)
    }
    return n
}

/// After a run was cancelled or terminated (the scheduler's generation was bumped): takes the
/// timers of the abandoned sleepers out of every P's heap and queues those Gs, which the
/// scheduler then drops (releasing their stacks) or, unwinding, runs to return from their sleep. Left in the heaps, the timers would keep a
/// later run from ever being reported as deadlocked (a pending timer could still wake
/// someone), and the sleepers' stacks would stay taken for as long as they were to sleep —
/// forever, for sleep(Int64.max). Any thread; takes no lock while holding another.
func dropStaleTimers(_ s: SchedPtr) {
    var stale: [GPtr] = []
    for i in 0..<Int(s.pointee.nprocs) {
        let p = s.pointee.allp[i]!
        vm_mutex_lock(&p.pointee.timer_lock)
        let n = Int(p.pointee.ntimers)
        if n > 0, let heap = p.pointee.timers {
            // Read under the lock, after the bump: a sleeper that armed its timer after this
            // scan sees the new generation itself (sleepG).
            let gen = vm_load_u64(&s.pointee.gen)
            var kept = 0
            for k in 0..<n {
                let t = heap[k]
                if t.g.pointee.gen == gen {
                    heap[kept] = t
                    kept += 1
                } else {
                    stale.append(t.g)
                }
            }
            if kept < n {
                p.pointee.ntimers = UInt32(kept)
                timerHeapify(p)
            }
        }
        vm_mutex_unlock(&p.pointee.timer_lock)
    }
    // Out of the heaps, each G is ours to wake (a sleeper has no other wait structure).
    for g in stale { readyAnywhere(s, g) }
}

// MARK: - The heap (timer_lock held)

/// Restores the heap order of all `ntimers` entries (after entries were removed in place).
private func timerHeapify(_ p: PPtr) {
    let n = Int(p.pointee.ntimers)
    if n > 1 {
        let heap = p.pointee.timers!
        var start = n / 2 - 1
        while start >= 0 {
            var i = start
            let t = heap[i]
            while true {
                var child = 2 * i + 1
                if child >= n { break }
                if child + 1 < n && timerLess(heap[child + 1], heap[child]) { child += 1 }
                if !timerLess(heap[child], t) { break }
                heap[i] = heap[child]
                i = child
            }
            heap[i] = t
            start -= 1
        }
    }
    vm_store_i64(&p.pointee.timer0_when, n > 0 ? p.pointee.timers![0].when : Int64.max)
}

@inline(__always)
private func timerLess(_ a: vm_timer, _ b: vm_timer) -> Bool {
    a.when < b.when || (a.when == b.when && a.seq < b.seq)
}

private func timerPush(_ p: PPtr, when: Int64, g: GPtr) {
    if p.pointee.ntimers == p.pointee.timers_cap {
        let newCap = max(16, Int(p.pointee.timers_cap) * 2)
        let fresh = UnsafeMutablePointer<vm_timer>.allocate(capacity: newCap)
        if let old = p.pointee.timers {
            fresh.moveInitialize(from: old, count: Int(p.pointee.ntimers))
            old.deallocate()
        }
        p.pointee.timers = fresh
        p.pointee.timers_cap = UInt32(newCap)
    }
    let heap = p.pointee.timers!
    let seq = p.pointee.timer_seq
    p.pointee.timer_seq &+= 1
    let t = vm_timer(when: when, seq: seq, g: g)
    var i = Int(p.pointee.ntimers)
    p.pointee.ntimers += 1
    (heap + i).initialize(to: t)
    while i > 0 {
        let parent = (i - 1) / 2
        if !timerLess(t, heap[parent]) { break }
        heap[i] = heap[parent]
        i = parent
    }
    heap[i] = t
    vm_store_i64(&p.pointee.timer0_when, heap[0].when)
}

private func timerPop(_ p: PPtr) -> GPtr {
    let heap = p.pointee.timers!
    let top = heap[0]
    let n = Int(p.pointee.ntimers) - 1
    p.pointee.ntimers = UInt32(n)
    if n > 0 {
        let t = heap[n]
        var i = 0
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && timerLess(heap[child + 1], heap[child]) { child += 1 }
            if !timerLess(heap[child], t) { break }
            heap[i] = heap[child]
            i = child
        }
        heap[i] = t
    }
    vm_store_i64(&p.pointee.timer0_when, n > 0 ? heap[0].when : Int64.max)
    return top.g
}
