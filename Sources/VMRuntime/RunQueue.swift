// RunQueue.swift — where runnable Gs wait: each P's lock-free ring and `runnext` slot, the
// scheduler's global list, and stealing between Ps.
//
// Who may touch what (the invariants the atomics below rely on):
// - Only the P's own M writes `runqtail` and the ring slots at and after the tail.
// - The owner and thieves consume at `runqhead`, each by a CAS that claims the slots it read.
// - `runnext` is set only by the owner (exchange); the owner and thieves take it by CAS.
// - The global list is guarded by vm_sched.lock; `runq_size` may be read without it.
import CJITStubs
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

typealias GPtr = UnsafeMutablePointer<vm_g>
typealias MPtr = UnsafeMutablePointer<vm_m>
typealias PPtr = UnsafeMutablePointer<vm_p>
typealias SchedPtr = UnsafeMutablePointer<vm_sched>

let runqCapacity = UInt32(VM_RUNQ_SIZE)

@inline(__always)
func statBump(_ p: PPtr, _ index: UInt32, _ n: UInt64 = 1) {
    vm_bump_u64(vm_p_stat(p, index), n)
}

@inline(__always)
func schedStatAdd(_ s: SchedPtr, _ index: UInt32, _ n: UInt64 = 1) {
    _ = vm_add_u64(vm_sched_stat(s, index), n)
}

/// Puts `g` on `p`'s local queue; with `next`, into `runnext`, kicking any previous occupant
/// to the tail. Owner only. Overflow moves half of the ring to the global queue; true when it did.
@inline(__always)
@discardableResult
func runqPut(_ p: PPtr, _ g: GPtr, next: Bool) -> Bool {
    var g = g
    if next {
        guard let old = runnextPut(p, g) else { return false }
        g = old
    }
    while true {
        let head = vm_load_u32(&p.pointee.runqhead)
        let tail = vm_load_relaxed_u32(&p.pointee.runqtail)
        if tail &- head < runqCapacity {
            vm_store_relaxed_g(vm_p_runq_slot(p, tail), g)
            vm_store_u32(&p.pointee.runqtail, tail &+ 1)  // publishes the slot to consumers
            return false
        }
        if runqPutSlow(p, g, head: head, tail: tail) { return true }
        // A consumer moved the head meanwhile: there is room now.
    }
}

/// Puts `g` in `p`'s runnext and returns the G it displaced, if any. Owner only. Thieves only
/// ever CAS a non-nil runnext to nil, so an empty slot can be filled with a plain store (the
/// common case: no locked instruction), and a full one is swapped by CAS — if that fails, a
/// thief just emptied it.
@inline(__always)
func runnextPut(_ p: PPtr, _ g: GPtr) -> GPtr? {
    guard let old = vm_load_g(&p.pointee.runnext) else {
        vm_store_g(&p.pointee.runnext, g)
        return nil
    }
    if vm_cas_g(&p.pointee.runnext, old, g) { return old }
    vm_store_g(&p.pointee.runnext, g)
    return nil
}

/// Moves half of a full ring plus `g` to the global queue in one locked operation.
@inline(never)
func runqPutSlow(_ p: PPtr, _ g: GPtr, head: UInt32, tail: UInt32) -> Bool {
    let n = (tail &- head) / 2
    precondition(n == runqCapacity / 2, "runqPutSlow: queue is not full")
    // Claim the slots first; if a consumer beat us, nothing was taken and the caller retries.
    // Only then link the Gs through `schedlink`: until the CAS succeeds they belong to the ring,
    // and a thief may take one, run it and free it meanwhile — its `schedlink` then links a free
    // list, and writing it would put a queued G on that list too (it would run twice).
    if !vm_cas_u32(&p.pointee.runqhead, head, head &+ n) { return false }
    // The claimed slots still hold what they held before the CAS: only the owner (this M)
    // writes slots, and it does so at the tail, which does not move while we are here.
    var first: GPtr? = nil
    var last: GPtr? = nil
    for i in 0..<n {
        let x = vm_load_relaxed_g(vm_p_runq_slot(p, head &+ i))!
        if let l = last { l.pointee.schedlink = x } else { first = x }
        last = x
    }
    g.pointee.schedlink = nil
    last!.pointee.schedlink = g
    let s = p.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    vm_mutex_lock(&s.pointee.lock)
    globalQueuePutBatch(s, first!, g, count: Int64(n) + 1)
    vm_mutex_unlock(&s.pointee.lock)
    statBump(p, VM_STAT_GLOBALQ, UInt64(n) + 1)
    return true
}

/// Takes the next G of `p`: `runnext` first (its time slice is inherited, so a pair of Gs
/// handing off to each other cannot starve the rest of the queue), then the ring's head.
@inline(__always)
func runqGet(_ p: PPtr) -> (g: GPtr, inheritTime: Bool)? {
    if let next = vm_load_g(&p.pointee.runnext), vm_cas_g(&p.pointee.runnext, next, nil) {
        return (next, true)
    }
    while true {
        let head = vm_load_u32(&p.pointee.runqhead)
        let tail = vm_load_relaxed_u32(&p.pointee.runqtail)
        if tail == head { return nil }
        let g = vm_load_relaxed_g(vm_p_runq_slot(p, head))!
        if vm_cas_u32(&p.pointee.runqhead, head, head &+ 1) { return (g, false) }
    }
}

/// Whether `p` has queued work (ring or runnext). Racy snapshot, for heuristics and re-checks.
@inline(__always)
func runqHasWork(_ p: PPtr, includingRunnext: Bool) -> Bool {
    let head = vm_load_u32(&p.pointee.runqhead)
    let tail = vm_load_u32(&p.pointee.runqtail)
    if tail != head { return true }
    return includingRunnext && vm_load_g(&p.pointee.runnext) != nil
}

/// Steals about half of `victim`'s ring into `p`'s (or, failing that and when allowed, its
/// runnext) and returns one G to run now. Runs on `p`'s own M.
func runqSteal(_ p: PPtr, from victim: PPtr, stealRunnext: Bool) -> GPtr? {
    let tail = vm_load_relaxed_u32(&p.pointee.runqtail)
    var n = runqGrab(victim, into: p, at: tail, stealRunnext: stealRunnext)
    if n == 0 { return nil }
    statBump(p, VM_STAT_STEALS)
    statBump(p, VM_STAT_STOLEN, UInt64(n))
    n -= 1
    let g = vm_load_relaxed_g(vm_p_runq_slot(p, tail &+ n))!
    if n == 0 { return g }
    let head = vm_load_u32(&p.pointee.runqhead)
    precondition(tail &- head &+ n < runqCapacity, "runqSteal: local queue overflow")
    vm_store_u32(&p.pointee.runqtail, tail &+ n)
    return g
}

/// Copies up to half of `victim`'s queued Gs into `p`'s ring starting at slot `at` (slots the
/// owner `p` alone may write) and claims them with a CAS on the victim's head.
private func runqGrab(_ victim: PPtr, into p: PPtr, at tail: UInt32, stealRunnext: Bool) -> UInt32 {
    while true {
        let head = vm_load_u32(&victim.pointee.runqhead)
        let vtail = vm_load_u32(&victim.pointee.runqtail)
        var n = vtail &- head
        n = n - n / 2
        if n == 0 {
            guard stealRunnext, let next = vm_load_g(&victim.pointee.runnext) else { return 0 }
            if vm_load_g(&victim.pointee.curg) != nil {
                // The victim is running a G that just readied `next` and is probably about to
                // block (a channel hand-off): give it a moment to run `next` itself rather than
                // bouncing the pair between threads.
                if runnextTaken(victim, next, withinNanoseconds: 3_000) { continue }
            }
            if !vm_cas_g(&victim.pointee.runnext, next, nil) { continue }
            vm_store_relaxed_g(vm_p_runq_slot(p, tail), next)
            return 1
        }
        if n > runqCapacity / 2 { continue }  // head and tail read at different times: retry
        for i in 0..<n {
            let g = vm_load_relaxed_g(vm_p_runq_slot(victim, head &+ i))
            vm_store_relaxed_g(vm_p_runq_slot(p, tail &+ i), g)
        }
        if vm_cas_u32(&victim.pointee.runqhead, head, head &+ n) { return n }
    }
}

// ---- global run queue (vm_sched.lock held) ----

@inline(__always)
func globalQueuePut(_ s: SchedPtr, _ g: GPtr) {
    globalQueuePutBatch(s, g, g, count: 1)
}

func globalQueuePutBatch(_ s: SchedPtr, _ first: GPtr, _ last: GPtr, count: Int64) {
    last.pointee.schedlink = nil
    if let tail = s.pointee.runq_tail { tail.pointee.schedlink = first } else { s.pointee.runq_head = first }
    s.pointee.runq_tail = last
    vm_store_i64(&s.pointee.runq_size, s.pointee.runq_size + count)
}

/// Takes a fair share of the global queue: one G to run, and (when `p` is given) up to half a
/// ring more moved into `p`'s local queue.
func globalQueueGet(_ s: SchedPtr, _ p: PPtr?, max: Int64) -> GPtr? {
    let size = s.pointee.runq_size
    if size == 0 { return nil }
    var n = min(size, size / Int64(s.pointee.nprocs) + 1)
    if max > 0 { n = min(n, max) }
    if let p {
        // Never more than the ring can take: runqPut must not spill back into the global
        // queue while we hold its lock.
        let used = vm_load_relaxed_u32(&p.pointee.runqtail) &- vm_load_u32(&p.pointee.runqhead)
        n = min(n, Int64(runqCapacity - used) / 2 + 1, Int64(runqCapacity / 2))
    } else {
        n = 1
    }
    vm_store_i64(&s.pointee.runq_size, size - n)
    let g = s.pointee.runq_head!
    s.pointee.runq_head = g.pointee.schedlink
    var rest = n - 1
    while rest > 0 {
        let x = s.pointee.runq_head!
        s.pointee.runq_head = x.pointee.schedlink
        runqPut(p!, x, next: false)
        rest -= 1
    }
    if s.pointee.runq_head == nil { s.pointee.runq_tail = nil }
    g.pointee.schedlink = nil
    return g
}

/// Waits up to `nanoseconds` for `victim`'s runnext to stop being `next`; true if it did.
/// Spins rather than sleeping: a 3 µs nanosleep costs far more than 3 µs here (arming a
/// high-resolution timer exits to the hypervisor; it was a tenth of the CPU time of spawning
/// 100k tasks), and the spin ends as soon as the victim takes its G.
private func runnextTaken(_ victim: PPtr, _ next: GPtr, withinNanoseconds nanoseconds: Int64) -> Bool {
    let end = vm_nanotime() + nanoseconds
    repeat {
        for _ in 0..<16 {
            if vm_load_g(&victim.pointee.runnext) != next { return true }
            vm_cpu_relax()
        }
    } while vm_nanotime() < end
    return vm_load_g(&victim.pointee.runnext) != next
}
