// Sysmon.swift — the process-wide runtime: one monitor thread serving every live scheduler,
// started with the first and joined when the last one shuts down; the one-time process
// set-up (stack-overflow signal handler, fork handlers).
//
// Each pass, for every P that is running a G, sysmon:
// - marks the G's preempt flag once it has had the P for a quantum (timed from the pass that
//   first saw the P's schedtick change: the switch path itself reads no clock);
// - if the P has a due timer, marks the G (so its P fires the timer at the next poll), sends
//   its M the preemption signal when the scheduler preempts asynchronously (a G in a JIT kernel
//   never polls; Preemption.swift), and wakes an idle M (which fires it by stealing, without
//   waiting for the poll); while the timer stays due it looks again 200 µs later, then 400, 800,
//   up to a tick: a signal that landed outside a safe point (the G in runtime code on its way
//   into a kernel, where it polls no more) would otherwise wait for the next tick's;
// - if the P has queued work while an M is idle and none spins, wakes one (a waker that
//   handed a G to runnext and kept running).
// Each pass also runs the stack pool's scavenger when it is due (free stacks unused for a
// scavenge period give back their pages; Stacks.swift). Where the executable made the C heap grow
// in large steps (HeapGrowth.inLargeSteps: freed memory then stays in malloc's arenas), sysmon
// trims the heap once each time every P has been idle for the few ticks before its deep sleep.
// It then sleeps until the earliest of: a busy P's quantum deadline, a busy P's earliest
// timer, the scavenger's deadline, one tick (1 ms) while anything runs. A timed sleep wakes late
// (about 20 µs on this VM), and for a timer each late microsecond is the sleeper's: sysmon
// measures its oversleep and sleeps to a busy P's timer that much early, then spins the rest
// (at most 10 µs) rather than sleep again. With nothing running
// for a few ticks and no free stack waiting to be scavenged it sleeps without a deadline; an M
// that starts a G, a new timer earlier than sysmon's deadline, or the pool arming its
// deadline wakes it. (Idle Ps need no help: their Ms sleep with their own timer deadline.)
import CJITStubs
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

enum Sysmon {
    // The futex word, deadline and locks live in a C global (vm_sysmon_words) so that the
    // per-switch check in noteBusy is a plain load.
    static var note: UnsafeMutablePointer<UInt32> { @inline(__always) get { vm_sysmon_note() } }
    static var wakeAt: UnsafeMutablePointer<Int64> { @inline(__always) get { vm_sysmon_wake_at() } }
    static var stopFlag: UnsafeMutablePointer<UInt32> { @inline(__always) get { vm_sysmon_stop() } }
    static var registryLock: UnsafeMutablePointer<vm_mutex> { @inline(__always) get { vm_sysmon_registry_lock() } }
    static var lifecycleLock: UnsafeMutablePointer<vm_mutex> {
        @inline(__always) get { vm_sysmon_lifecycle_lock() }
    }

    nonisolated(unsafe) static var schedulers: [SchedPtr] = []  // registryLock
    nonisolated(unsafe) static var thread = pthread_t()  // lifecycleLock
    nonisolated(unsafe) static var running = false  // lifecycleLock

    static let tickNanoseconds: Int64 = 1_000_000
    /// The soonest sysmon looks again at a P it has just signalled (signals cost 20–50 µs of the
    /// M's time on this VM: a faster cadence would be a signal storm, PLATFORM.md).
    static let minimumRecheckNanoseconds: Int64 = 20_000
    static let idleTicksBeforeDeepSleep: Int64 = 5
    /// The first look again at a P whose due timer was signalled for. A signal that lands at a safe
    /// point has fired the timer well within this (median 25–35 µs, p99 under 100 µs on this
    /// machine: bench/ lateness row), so in the usual case no second signal is sent.
    static let firstTimerRetryNanoseconds: Int64 = 200_000
    /// How late sysmon's timed sleeps wake, smoothed (an eighth of each new measure, each capped at
    /// `maximumOversleepNanoseconds`); sysmon alone reads and writes it. Starts at what this VM
    /// measured: about 20 µs.
    nonisolated(unsafe) static var oversleep: Int64 = 20_000
    static let maximumOversleepNanoseconds: Int64 = 200_000
    /// The most sysmon spins (instead of sleeping) to reach a busy P's timer exactly.
    static let maximumSpinNanoseconds: Int64 = 10_000

    /// Folds one measured oversleep into `oversleep` and returns it.
    static func noteOversleep(_ late: Int64, into average: Int64) -> Int64 {
        (average * 7 + min(max(late, 0), maximumOversleepNanoseconds)) / 8
    }

    /// When to wake for a pass whose next deadline is `next`: a busy P's timer (`timerNext`) is
    /// slept to `oversleep` early, so that the wake lands on it rather than that much after it;
    /// other deadlines (a quantum, the tick, the scavenger) are slept to as they are, and no deadline
    /// (Int64.max, which noteBusy reads as "asleep without a deadline") stays none.
    static func sleepDeadline(next: Int64, timerNext: Int64, oversleep: Int64) -> Int64 {
        next == timerNext && next != Int64.max ? next - oversleep : next
    }

    /// When to look again at a P whose due timer was just signalled for, given the delay used for
    /// the previous signal (0: this is the first): 200 µs, doubling up to a tick.
    static func timerRetry(after previous: Int64) -> Int64 {
        previous == 0 ? firstTimerRetryNanoseconds : min(previous * 2, tickNanoseconds)
    }

    /// Adds a scheduler; starts sysmon and the process set-up on first use.
    static func register(_ s: SchedPtr) {
        _ = processSetUp
        vm_mutex_lock(lifecycleLock)
        vm_mutex_lock(registryLock)
        schedulers.append(s)
        vm_mutex_unlock(registryLock)
        if !running {
            vm_store_u32(stopFlag, 0)
            let rc = vm_thread_start(&thread, sysmonEntry, nil)
            if rc != 0 { fatalError("VMRuntime: cannot start the sysmon thread (pthread_create: \(rc))") }
            running = true
        }
        vm_mutex_unlock(lifecycleLock)
    }

    /// Removes a scheduler (after its Ms are joined); joins sysmon when it was the last.
    static func unregister(_ s: SchedPtr) {
        vm_mutex_lock(lifecycleLock)
        vm_mutex_lock(registryLock)
        schedulers.removeAll { $0 == s }
        let empty = schedulers.isEmpty
        vm_mutex_unlock(registryLock)
        if empty && running {
            vm_store_seqcst_u32(stopFlag, 1)
            wake()
            _ = vm_thread_join(thread)
            running = false
            // Nobody is left to scavenge later: give back the pages of every pooled stack now.
            StackPool.shared.scavenge(now: vm_nanotime(), all: true)
        }
        vm_mutex_unlock(lifecycleLock)
    }

    /// Wakes sysmon (at most one futex wake per sysmon pass).
    @inline(never)
    static func wake() {
        if vm_xchg_u32(note, 1) == 0 { vm_futex_wake(note, 1) }
    }

    /// An M is about to run a G: if sysmon sleeps without a deadline, it must start watching.
    @inline(__always)
    static func noteBusy() {
        if vm_load_i64(wakeAt) == Int64.max && vm_load_relaxed_u32(note) == 0 { wake() }
    }

    /// A timer was armed for `when` on a P that is running: wake sysmon if it would sleep
    /// past it. The fence orders the heap update (timer0_when) before reading wakeAt; sysmon
    /// orders its wakeAt store before its scan (seq_cst), so one of the two sees the other.
    @inline(__always)
    static func timerArmed(_ when: Int64) {
        vm_fence()
        if when < vm_load_i64(wakeAt) { wake() }
    }

    /// The stack pool's scavenge deadline was armed for `when` (Stacks.swift): the same
    /// handshake as timerArmed, with StackPool.scavengeAt in place of a P's timer0_when.
    @inline(never)
    static func deadlineArmed(_ when: Int64) { timerArmed(when) }

    private static let sysmonEntry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { _ in
        Sysmon.loop()
        return nil
    }

    private static func loop() {
        vm_helper_thread_init("vecvm-sysmon")
        var lastBusy = vm_nanotime()
        // Whether the heap was trimmed since anything last ran (see the file's first lines).
        var trimmedSinceBusy = true
        while true {
            vm_store_seqcst_u32(note, 0)
            vm_store_seqcst_i64(wakeAt, Int64.max)
            if vm_load_u32(stopFlag) != 0 { break }
            let now = vm_nanotime()
            var next = Int64.max
            var timerNext = Int64.max
            var busy = false
            vm_mutex_lock(registryLock)
            for s in schedulers { scan(s, now: now, next: &next, timerNext: &timerNext, busy: &busy) }
            vm_mutex_unlock(registryLock)
            // Free stacks that waited a whole period keep their pages no longer (Stacks.swift).
            let pool = StackPool.shared
            if pool.scavengeAt.load(ordering: .acquiring) <= now { pool.scavenge(now: now) }
            next = min(next, pool.scavengeAt.load(ordering: .acquiring))
            if busy {
                lastBusy = now
                trimmedSinceBusy = false
            }
            if busy || now - lastBusy < idleTicksBeforeDeepSleep * tickNanoseconds {
                next = min(next, now + tickNanoseconds)
            } else if !trimmedSinceBusy {
                trimmedSinceBusy = true
                if vm_heap_keeps_free_memory() { vm_trim_heap() }
            }
            if timerNext != Int64.max && timerNext == next && timerNext - now <= maximumSpinNanoseconds {
                // Due within the spin bound: wait it out here, unless woken (a new deadline).
                while vm_load_u32(note) == 0 && vm_nanotime() < timerNext { vm_cpu_relax() }
                continue
            }
            var until = sleepDeadline(next: next, timerNext: timerNext, oversleep: oversleep)
            if until <= now { until = next }  // too close to wake early for: as it is
            vm_store_seqcst_i64(wakeAt, until)
            if vm_load_u32(note) == 0 && !vm_note_sleep(note, until) && until != Int64.max && until > now {
                // Timed out: how late that was.
                oversleep = noteOversleep(vm_nanotime() - until, into: oversleep)
            }
        }
        vm_store_seqcst_i64(wakeAt, Int64.max)
    }

    /// One P at a time, as the file's first lines say; `timerNext` is the earliest timer of a busy
    /// P not yet due (its part of `next`).
    private static func scan(
        _ s: SchedPtr, now: Int64, next: inout Int64, timerNext: inout Int64, busy: inout Bool
    ) {
        if vm_load_u32(&s.pointee.stopping) != 0 { return }
        let quantum = s.pointee.quantum_ns
        var wantM = false
        for i in 0..<Int(s.pointee.nprocs) {
            let p = s.pointee.allp[i]!
            // The G may switch out right after this load; marking a G that already left only
            // costs it one early yield, and G structs are never freed while registered.
            guard let g = vm_load_g(&p.pointee.curg) else {
                clearTimerRetry(p)
                continue
            }
            busy = true
            // Sysmon alone writes sysmon_tick/sysmon_when.
            let tick = vm_load_relaxed_u64(&p.pointee.schedtick)
            if tick != p.pointee.sysmon_tick {
                p.pointee.sysmon_tick = tick
                p.pointee.sysmon_when = now
            }
            if now &- p.pointee.sysmon_when >= quantum {
                mark(g, s)  // and look again next tick, until it yields
                if s.pointee.async_preempt != 0 {
                    // A G in a JIT kernel never polls the flag: the signal preempts it there.
                    signalPreempt(s, p)
                    if p.pointee.sysmon_signal_tick != tick {
                        // The next slice starts as soon as the signal lands; look again within half
                        // a quantum, or that slice would be timed from the next 1 ms tick (with a
                        // 100 µs quantum: a preemption every 1.1 ms instead of every ~150 µs). A G
                        // still there at that look was not at a safe point: it gets a signal per
                        // tick from then on, not a storm.
                        p.pointee.sysmon_signal_tick = tick
                        next = min(next, now &+ max(quantum / 2, minimumRecheckNanoseconds))
                    }
                }
            } else {
                next = min(next, p.pointee.sysmon_when &+ quantum)
            }
            let due = vm_load_i64(&p.pointee.timer0_when)
            if due <= now {
                mark(g, s)
                // A G in a JIT kernel never polls: the signal gets the sleeper its CPU now.
                signalPreempt(s, p)
                wantM = true
                if s.pointee.async_preempt != 0 {
                    // Sysmon alone writes sysmon_timer_retry.
                    let retry = timerRetry(after: p.pointee.sysmon_timer_retry)
                    p.pointee.sysmon_timer_retry = retry
                    next = min(next, now &+ retry)
                }
            } else {
                clearTimerRetry(p)
                next = min(next, due)
                timerNext = min(timerNext, due)
            }
            if runqHasWork(p, includingRunnext: true) { wantM = true }
        }
        if wantM { wakep(s) }
    }

    /// Sysmon alone writes sysmon_timer_retry; only when set, since its cache line is the one the
    /// P's M writes as tasks finish (handlefree).
    @inline(__always)
    private static func clearTimerRetry(_ p: PPtr) {
        if p.pointee.sysmon_timer_retry != 0 { p.pointee.sysmon_timer_retry = 0 }
    }

    @inline(__always)
    private static func mark(_ g: GPtr, _ s: SchedPtr) {
        if vm_load_relaxed_u32(&g.pointee.preempt) == 0 {
            vm_store_u32(&g.pointee.preempt, 1)
            schedStatAdd(s, VM_STAT_PREEMPT_MARKS)
        }
    }

    // MARK: - Process set-up

    /// Installs the stack-overflow handler and the fork handlers, once.
    private static let processSetUp: Void = {
        vm_install_stack_overflow_handler()
        // fork(): the child has no sysmon or M threads. Take the runtime's process-wide locks
        // around fork so the child gets them in a consistent state, and let the child start
        // afresh (its inherited schedulers are unusable: their threads do not exist there).
        pthread_atfork(
            {
                vm_mutex_lock(Sysmon.lifecycleLock)
                vm_mutex_lock(Sysmon.registryLock)
                StackPool.shared.lockForFork()
            },
            {
                StackPool.shared.unlockInParentAfterFork()
                vm_mutex_unlock(Sysmon.registryLock)
                vm_mutex_unlock(Sysmon.lifecycleLock)
            },
            {
                StackPool.shared.resetInChildAfterFork()
                Sysmon.registryLock.pointee = vm_mutex()
                Sysmon.lifecycleLock.pointee = vm_mutex()
                Sysmon.schedulers = []
                Sysmon.running = false
                Sysmon.note.pointee = 0
                Sysmon.stopFlag.pointee = 0
                Sysmon.wakeAt.pointee = Int64.max
            })
    }()
}
