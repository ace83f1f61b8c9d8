// Scheduler.swift — VMRuntime's public face: the M:N scheduler of green threads ("tasks")
// that VecVM's interpreter runs on. This file holds the design notes, the configuration,
// and the public API; the machinery is in the files named below.
//
// # Glossary (Go's vocabulary, kept on purpose)
//
// G  a task: a Swift closure with its own stack (Task.swift). The unit of scheduling.
// M  a machine: an OS thread (pthread) that runs Gs (Machine.swift). Its own pthread stack
//    is called g0; the scheduler loop runs there.
// P  a processor: the right to run Gs, with a local run queue, a `runnext` slot, a timer
//    heap and caches. There are `procs` Ps; each is bound for life to one M.
// sysmon  one process-wide monitor thread (Sysmon.swift) that asks long-running Gs to
//    yield and makes sure due timers and queued work find a thread.
//
// G, M and P are C structs (CJITStubs/include/vm_sched.h) because assembly reads them at
// fixed offsets (the context switch, the asynchronous-preemption trampoline) and so does the
// signal handler. The logic that manipulates them is here, in Swift, through raw pointers.
//
// Files: Scheduler.swift (this: design, configuration, public API), SchedulerCore.swift
// (one scheduler's state, runs, start-up and shutdown), Machine.swift (an M's loop, idle
// and wake-up, deadlock), RunQueue.swift (local rings, runnext, global queue, stealing),
// Task.swift (a G's life, switches, ready, join), Channel.swift, Timers.swift, Sysmon.swift
// (monitor thread, process set-up), Preemption.swift (asynchronous preemption: the JIT's API,
// asyncPreempt2), XRegs.swift (saved vector registers and their pool), Stacks.swift (arenas,
// guards, band), Stats.swift.
//
// # G status and who owns the stack (vm_sched.h has the authoritative list)
//
//   IDLE           on a free list of G structs; it has no stack
//   RUNNABLE       on exactly one run queue; the queue owns it (and its stack, once it has one:
//                  a G gets its stack when it first runs), whoever dequeues may run it
//   RUNNING        curg of one M; that M owns it
//   PARKING        still running on its M (which owns the stack) but already listed in a
//                  wait structure; a waker must not queue it, only mark it PARKING_WOKEN
//   PARKING_WOKEN  woken while PARKING; its M's g0 queues it once the switch is complete
//   WAITING        switched out and listed in exactly one wait structure; nobody owns the
//                  stack until the waker that removes it from that structure queues it
//   DEAD           finished or abandoned; its M's g0 returns its stack to the P's stack cache
//                  and the G struct to a free list
//
// Parking without a stack. A G whose body can run again from its start (the interpreter's
// spawned tasks: their whole state is on the heap) may wait in a channel operation or a join
// without keeping its stack (Channel.receiveOrPark / sendOrPark, GHandle.joinOrPark), once its
// scheduler has more than `SchedulerConfiguration.stacklessParkThreshold` Gs alive: it is queued PARKING as usual, its
// body returns, and g0 puts the stack back in the P's cache before the G can be seen WAITING
// (vm_g.stackless = 2, sp nil). Woken, it is started like a new G, on any stack, and its body
// finishes the operation (Channel.finishParked*; a join is simply made again). A parked task then
// costs its heap state, not a 4 KiB stack page.
//
// # The approach
//
// Switching. A G never switches directly to another G. It switches to its M's g0
// (vm_ctx_switch in context_switch.S: callee-saved registers, rsp, MXCSR, x87 CW), leaving a
// reason in m.reason; g0 then finishes what the G started (requeue it, mark it parked, free
// it) on a stack nobody else can touch, picks the next G and switches to it. Two switches per
// hand-off (~13 ns each here) buy a simple ownership rule: a G's stack is only ever used by
// the one M whose curg it is, and its saved sp is complete before anyone can dequeue it.
//
// Run queues. Each P has a 256-entry ring (lock-free: owner pushes at the tail, owner and
// thieves CAS the head) and a `runnext` slot. The scheduler has a global queue under its
// lock. A G woken by a channel operation goes into the waker's runnext (Go's hand-off: the
// waker usually blocks next, so the partner runs at once on the same thread, caches warm);
// runnext inherits the current time slice, so a ping-pong pair cannot starve the ring. New
// Gs also start in runnext. A G preempted by the quantum, and one that yields, go to the
// global queue (as Go's Gosched does): spinners spread over Ps, and a G yielding in a loop
// cannot starve Gs that overflowed there. Every 61st fresh slice a P looks at the global
// queue first, so nothing there starves.
//
// Idle Ms and stealing. An M whose P has nothing runs due timers, takes from the global
// queue, then "spins": up to four passes over the other Ps in random order, stealing half a
// ring (the last pass may take a victim's runnext, after giving the victim up to 3 µs, in
// a spin, to run it itself), and firing their due timers. Then it registers as idle under the scheduler lock,
// re-checks every ring (a G queued by someone who saw no idle M must not be stranded), and
// sleeps on a futex note until woken or until its P's earliest timer. Publishing work calls
// wakep(): when some M is idle and none is spinning, it pops one and wakes it. Readying a
// lone G into runnext does not wake anyone: the waker is about to block and will run it;
// should it keep running instead, sysmon sees queued work beside an idle M within a tick
// and wakes one. An idle scheduler has every M asleep without timeout and sysmon asleep
// without timeout: 0% CPU.
//
// Blocking. Channels, join and sleep put the G in a wait structure (channel queue, join
// list, timer heap) under that structure's lock, set the G PARKING, unlock, and switch to
// g0. No lock is held across a switch. A waker that finds the G WAITING makes it RUNNABLE
// and queues it; one that finds it still PARKING (its registers not yet saved) CASes it to
// PARKING_WOKEN and walks away; g0, after the switch completes, sees that and queues the G
// itself. That status handshake is what lets the channel lock be dropped before switching.
//
// Timers. sleep() pushes (deadline, G) on the current P's heap. A P's M runs its due timers
// each time it schedules and sleeps no later than its earliest deadline when idle. When the
// P is busy (a G that computes), sysmon sleeps exactly until the earliest deadline of the
// busy Ps (a new, earlier timer wakes it), then marks the running G's preempt flag — the G
// yields at its next poll (or, in a JIT kernel, at once, by asynchronous preemption) and its P
// fires the timer — and wakes an idle M, which fires the timer by stealing it. So a due timer gets the CPU within sysmon's wake-up latency plus one
// poll interval, not a quantum later.
//
// Preemption. Two paths, one decision. Sysmon marks a G that has had its P longer than the
// quantum. The switch path reads no clock (clock_gettime was a third of a yield here): a P
// bumps `schedtick` when it starts a fresh slice, sysmon times the slice from when it first
// sees the new value and, while anything runs, looks at least every millisecond — so a mark
// comes within a quantum plus a millisecond. Cooperative: the interpreter polls the flag at
// back-edges and calls, and then calls preemptPoint(). Asynchronous (Preemption.swift, XRegs.swift,
// CJITStubs/preempt.c and the generated async_preempt.S; shared/DESIGN.md): with
// `asyncPreemption` on, sysmon also sends the M a SIGURG; if the G is in JIT code (a registered
// code region) the handler makes it call the asyncPreempt trampoline, which saves its registers
// (vector ones to p.xRegs.scratch, then to a block that travels with the G) and yields it like
// preemptPoint(). Anywhere else the signal only leaves the flag set. Swift code is never
// interrupted asynchronously.
//
// Stacks (Stacks.swift). Carved from large mmap'd arenas, 256 KiB by default, committed
// lazily by the kernel. Each has a guard region below it: page-table guard markers where the
// kernel has them (Linux 6.13+), else PROT_NONE. vm.max_map_count is 65530 here and every
// PROT_NONE guard splits its arena into 2 more VMAs, so those are capped at a share of that
// budget (as folly's GuardPageAllocator does); stacks beyond the cap are unguarded and rely on
// a zero band at their low end, checked with the saved sp at every switch. A guard fault is reported
// by a SIGSEGV handler on the M's alternate signal stack; either way the program ends with
// "fatal error: stack overflow in task N". A G gets its stack when it first runs, from its P's
// cache of free stacks, and gives it back there when it finishes: spawning touches no stack,
// and a P whose tasks start and end recycles the same warm stacks whoever spawned them. Beyond
// the cache, stacks go back to the process-wide pool, still resident; sysmon's scavenger gives
// back (MADV_DONTNEED) the pages of those unused for a scavenge period, in coalesced ranges —
// an madvise on the exit path cost a TLB shoot-down per call (Stacks.swift has the numbers).
//
// Runs and generations. run() queues a main G and sleeps on a note. The run ends when the
// main G returns (.completed), when an M going idle finds every M idle, no work queued
// and no timer pending (.deadlock), or on cancel()/terminate() (.terminated). A run that
// ends any other way than .completed bumps the scheduler's generation: every G of the old
// generation is abandoned — a running one at its next preempt poll or scheduling point,
// a queued or parked one when it is next dequeued — and never resumes. Gs spawned by a
// completed run keep running into the next run (a REPL's background tasks).
//
// # Rejected
//
// - Direct G-to-G switches (one switch per hand-off instead of two): the switching G would
//   have to hand its own unlock work to the G it switches to, and the status handshake
//   would move onto foreign stacks. Measured round trips stay within budget without it.
// - Holding the channel lock across the switch and releasing it on g0 (Go's gopark with
//   an unlock function): forbidden here, and the PARKING/PARKING_WOKEN handshake is cheaper
//   than a lock hand-over.
// - A pthread per task or Swift concurrency: a parked task must cost a few KiB and switch
//   in nanoseconds; async/await would also colour every interpreter call.
// - Handing Ps between Ms (Go's syscall hand-off): tasks here do not make blocking system
//   calls through the runtime, so one M per P for life keeps idle/wake logic and the
//   migration of a G (stealing, global queue) the only sources of thread changes.
// - PROT_NONE guard pages on every stack: 100,000 tasks would need 200,000 VMAs (limit
//   65,530). Guard markers need no VMA, and every stack gets one where the kernel has them.
// - Stacks from malloc or one mapping per stack: no guard, or one VMA per stack.
// - A fixed sysmon tick for timers: with 10 ms ticks a sleeper beside a busy task is up to
//   10 ms late (Go's measured median here is 19 ms); sysmon sleeps to exact deadlines.
// - Per-M kernel timers (timer_create + SIGEV_THREAD_ID) as the source of preemption signals:
//   built and measured against sysmon's tgkill (Preemption.swift has the numbers). They
//   delivered no more preemptions on this 2-core VM and sent 2–5 times the signals, at 20–50 µs
//   of CPU per signal here, ticking even when nothing overstays its quantum.
//
// Stopping (SchedulerConfiguration.unwindsStoppedTasks, what VecVM uses). Abandoning a G
// reuses its stack without unwinding it, so whatever its frames hold — for a VM task, its
// registers and the arrays in them — is never released, and a G parked for good on a channel
// or a join keeps its stack and G for ever. An unwinding scheduler tells its Gs instead: a G
// whose run has ended gets, at its next switch (or on waking), a switch that *returns* —
// preemptPoint says so, a channel operation throws .taskStopped, join and sleep return with
// `isStopping` true — and returns from its body, which releases everything as ordinary Swift
// code does. Queued Gs that had started are run so that they can unwind (unstarted ones are
// dropped: their body closure is released with the handle). Parked Gs are woken by the reaper
// (SchedulerCore.wakeStoppedWaiters), run when a run ends: it scans the G slabs for stale Gs
// whose `waitkind` names a channel queue or a join queue, takes each such structure's lock,
// removes every stale waiter from it and readies them. A G publishes `waitkind`/`waitobj` under
// that lock before it reads the generation (and the reaper bumps the generation before it reads
// them: a Dekker pair), so a G parking as its run ends is either seen by the reaper or sees the
// new generation itself. A channel's memory is read by the reaper without a reference to it:
// vm_reap_lock, which a channel takes before freeing its state, keeps it alive meanwhile; a
// joined G's struct lives in a slab until shutdown. A G told once that makes another switch is
// abandoned there (a body that ignores the notice cannot spin). Before its next run a host
// calls waitForStoppedTasks(), which waits until the stopped Gs have returned (not those inside
// foreign code, which cannot be told until it returns).
//
// # Limits (known, accepted)
//
// - Only JIT code in a registered region is preempted asynchronously: a task that never polls
//   its flag in Swift code, or in machine code outside those regions, keeps its P (and cannot be
//   stopped by cancel/terminate or joined by shutdown).
// - In a scheduler that does not unwind stopped tasks, an abandoned task's stack is reused
//   without unwinding: references held only by its frames are never released. A task parked
//   forever on a channel or join when its run was killed keeps its G and stack until something
//   wakes it or the scheduler shuts down (sleepers are dropped at once: their timers are the
//   runtime's own wait structure).
// - A task inside foreign code (ForeignCall) keeps its P for the length of the call (no P
//   hand-off as Go does for system calls), and is not sent preemption signals meanwhile.
// - A task that blocks its thread in a system call (reading a terminal) blocks its P; there
//   is no P hand-off.
// - A guard-page overflow is reported from a signal handler, which cannot flush stdio
//   buffers: buffered output of the program is lost in that case (not on a band overflow).
//
// # Rules for code that runs on a G (enforced where the switches are: Task.swift)
//
// - Read the current M and P only through vm_current_m()/vm_current_g() (out of line), and
//   re-read them after every call that may switch: the G may come back on another thread.
// - No Swift exclusivity access (inout of a class property, withUnsafe… on a class or
//   global, a `modify` coroutine) may be open across a switch: the access is recorded in a
//   thread-local list and ending it on another thread crashes (PLATFORM.md hazard 1).
// - No lock is held across a switch.
import CJITStubs

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scheduler settings.
public struct SchedulerConfiguration: Sendable {
    /// Number of Ps (and of worker threads). Default: the number of online CPUs.
    public var procs: Int
    /// How long a task may keep its P before it is asked to yield (default 10 ms, as Go).
    public var quantumNanoseconds: Int64
    /// Virtual size of each task stack (default 256 KiB); pages are committed on first touch.
    public var stackSize: Int
    /// Preempt tasks running JIT code (a region registered with `AsyncPreemption`) with a signal
    /// when their quantum ends or a sleeper's timer falls due (default on). Off: only the
    /// cooperative flag remains, as Go's `asyncpreemptoff=1` (a long kernel keeps its P).
    public var asyncPreemption: Bool

    /// How the tasks of a run that ended (cancelled, terminated, deadlocked, or shut down) are
    /// stopped. Off (the default): each is abandoned at its next scheduling point, and its stack is
    /// reused without unwinding, so whatever its frames referenced is never released; a task
    /// parked for good keeps its stack. On: each is *told* instead — the blocking call it is in, or
    /// makes next, returns early (`Scheduler.isStopping` is then true, a channel operation throws
    /// `ChannelError.taskStopped`), parked ones are taken out of their channel or join queue and
    /// woken, and the task is expected to return from its body promptly, releasing what it holds
    /// (a task that makes another blocking call instead is abandoned there). See "Stopping" in
    /// the notes at the top of this file.
    public var unwindsStoppedTasks: Bool

    /// Tasks alive above which a task waiting in a channel operation or a join that can do so
    /// (`Channel.receiveOrPark`, `sendOrPark`, `GHandle.joinOrPark`: VecVM's spawned tasks) gives its
    /// stack back while it waits (default 1,024). Below, waiting tasks keep their stacks — one 4 KiB
    /// page each, typically — and a wait costs less (a stackless one, about 60 ns more here); above,
    /// a waiting task costs only its heap state. 0: every such wait parks without its stack (tests
    /// and fuzzing use it to cover that path). The environment variable
    /// VECVM_STACKLESS_PARK_THRESHOLD sets the default.
    public var stacklessParkThreshold: Int

    /// The default `stacklessParkThreshold`: VECVM_STACKLESS_PARK_THRESHOLD, else 1,024.
    public static let defaultStacklessParkThreshold: Int = {
        if let v = getenv("VECVM_STACKLESS_PARK_THRESHOLD"), let n = Int(String(cString: v)), n >= 0 {
            return min(n, Int(UInt32.max))
        }
        return 1024
    }()

    /// Tests only: the vector registers the trampoline saves (nil: the best the CPU allows). A
    /// narrower set is valid only for code that uses no register outside it.
    var vectorRegistersOverride: AsyncPreemption.VectorRegisterSet?

    public init(
        procs: Int = SchedulerConfiguration.onlineCPUs,
        quantumNanoseconds: Int64 = 10_000_000,
        stackSize: Int = 256 << 10,
        asyncPreemption: Bool = true,
        unwindsStoppedTasks: Bool = false,
        stacklessParkThreshold: Int = SchedulerConfiguration.defaultStacklessParkThreshold
    ) {
        self.procs = procs
        self.quantumNanoseconds = quantumNanoseconds
        self.stackSize = stackSize
        self.asyncPreemption = asyncPreemption
        self.unwindsStoppedTasks = unwindsStoppedTasks
        self.stacklessParkThreshold = max(0, min(stacklessParkThreshold, Int(UInt32.max)))
    }

    /// The number of online CPUs.
    public static var onlineCPUs: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// How a `Scheduler.run` ended.
public enum RunOutcome {
    /// The main task returned.
    case completed
    /// Every task was blocked and no timer was pending.
    case deadlock
    /// `cancel(_:)` or `Scheduler.terminate(_:)` ended the run with this reason.
    case terminated(AnyObject)
}

/// The reason a run reports when a task could not start because the system refused memory for
/// its stack (an address-space limit, for one): the run ends as `.terminated` with it.
public final class TaskStacksExhausted: Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "out of memory: the system refused memory for task stacks" }
}

/// The reason a run reports when `shutdown()` interrupts it.
public final class SchedulerShutdown: Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "scheduler shut down" }
}

/// An M:N scheduler of green threads. See the notes at the top of this file.
///
/// A thin handle on a `SchedulerCore`, which its worker threads keep alive while they run: the
/// last reference to a Scheduler may be dropped anywhere — even by one of its own tasks — and
/// the threads still stop cleanly.
public final class Scheduler: @unchecked Sendable {
    // @unchecked Sendable: immutable; the core synchronizes itself.

    public let configuration: SchedulerConfiguration
    let core: SchedulerCore

    public init(configuration: SchedulerConfiguration = SchedulerConfiguration()) {
        precondition(configuration.procs >= 1, "SchedulerConfiguration.procs must be at least 1")
        precondition(
            configuration.quantumNanoseconds > 0, "SchedulerConfiguration.quantumNanoseconds must be positive")
        self.configuration = configuration
        core = SchedulerCore(configuration)
    }

    deinit { core.shutdown() }

    /// Runs `main` as a new task and blocks the calling thread — any thread that is not one of
    /// this runtime's tasks — until it returns, every task blocks (deadlock), or the run is
    /// cancelled or terminated. Tasks it spawned keep running afterwards if it completed.
    /// One run at a time: concurrent calls wait for each other.
    ///
    /// If a task called `terminate` while no run was active, this run reports that
    /// termination at once and does not start `main`.
    public func run(_ main: @escaping () -> Void) -> RunOutcome { core.run(main) }

    /// Ends the current run as `.terminated(reason)`, from any thread. Running tasks stop at
    /// their next preempt poll or scheduling point; queued and parked ones are dropped when
    /// next dequeued. With no run active, the tasks left running by earlier runs are stopped
    /// the same way and nothing is reported.
    public func cancel(_ reason: AnyObject) {
        core.endGeneration(reason: reason, reportIfIdle: false)
    }

    /// Stops and joins all worker threads; remaining tasks are abandoned. A run in progress
    /// returns `.terminated(SchedulerShutdown)`. Threads of a task that never reaches a preempt
    /// poll or scheduling point cannot be joined, and shutdown waits for them. Called from one
    /// of this scheduler's own tasks, it cannot wait for its own thread: it stops everything
    /// and returns, and a helper thread joins the workers; the caller is abandoned at its next
    /// scheduling point.
    public func shutdown() { core.shutdown() }

    /// Counters since this scheduler was created.
    public var stats: SchedulerStats { SchedulerStats(core) }

    // MARK: - Task API (called from inside a task)

    /// Starts `body` as a new task of the calling task's scheduler. New tasks run next on the
    /// calling task's P; idle Ps steal them.
    @discardableResult
    public static func spawn(_ body: @escaping () -> Void) -> GHandle {
        guard let m = vm_current_m(), let parent = m.pointee.curg else { notInTask("Scheduler.spawn") }
        let handle = GHandle(id: 0)
        spawnG(m, parent, body, handle: handle)
        return handle
    }

    /// `spawn`, with `handle` (a subclass instance that names no task yet: `GHandle.init(id:)`)
    /// as the new task's handle, so that the spawn allocates no handle of its own.
    public static func spawn(_ handle: GHandle, _ body: consuming @escaping () -> Void) {
        guard let m = vm_current_m(), let parent = m.pointee.curg else { notInTask("Scheduler.spawn") }
        spawnG(m, parent, consume body, handle: handle)
    }

    /// A handle that a finished task left for reuse on the calling task's P (`GHandle.reusable`:
    /// nothing referenced it any more), ready to be passed to `spawn(_:_:)`, or nil.
    public static func reusableHandle() -> GHandle? { takeReusableHandle() }

    /// Gives the P to the other runnable tasks; the caller goes to the back of the global queue.
    public static func yield() {
        guard let m = vm_current_m(), let g = m.pointee.curg else { notInTask("Scheduler.yield") }
        switchOut(g, m, reason: VM_REASON_YIELD)
    }

    /// Parks the calling task for at least `nanoseconds` (a yield when not positive).
    public static func sleep(nanoseconds: Int64) {
        guard let m = vm_current_m(), let g = m.pointee.curg else { notInTask("Scheduler.sleep") }
        if nanoseconds <= 0 {
            switchOut(g, m, reason: VM_REASON_YIELD)
            return
        }
        sleepG(g, m, nanoseconds)
    }

    /// Ends the run as `.terminated(reason)` (the VM's runtime-error path). Every other task of
    /// the run stops at its next preempt poll or scheduling point; this one never resumes. When
    /// no run is active, the next `run` reports the termination.
    public static func terminate(_ reason: AnyObject) -> Never {
        guard let m = vm_current_m(), let g = m.pointee.curg else { notInTask("Scheduler.terminate") }
        endGenerationFromTask(m, reason)
        abandonCurrent(g, m)
    }

    /// Separate so that the strong reference to the Scheduler it takes is released before the
    /// caller abandons its stack (a reference left there would never be released).
    @inline(never)
    private static func endGenerationFromTask(_ m: MPtr, _ reason: AnyObject) {
        schedulerCore(m).endGeneration(reason: reason, reportIfIdle: true)
    }

    /// The calling task.
    public static var current: GHandle {
        @inline(never) get {
            guard let g = vm_current_g() else { notInTask("Scheduler.current") }
            return Unmanaged<GHandle>.fromOpaque(g.pointee.handle).takeUnretainedValue()
        }
    }

    /// The calling task's preempt flag: nonzero means "please call preemptPoint()". The
    /// address is stable for the task's life. Poll it with `isPreemptRequested(_:)` (an atomic
    /// load that the optimizer cannot hoist out of a loop) or from code with opaque calls.
    @inline(never)
    public static func preemptFlag() -> UnsafeMutablePointer<UInt32> {
        guard let g = vm_current_g() else { notInTask("Scheduler.preemptFlag") }
        return vm_g_preempt_ptr(g)
    }

    /// The index (0 ..< procs) of the P the calling task runs on; nil outside a task. It stays
    /// the same until the task next yields, parks, blocks or calls out: Swift code in between runs
    /// on one P (an asynchronous preemption interrupts only JIT code), so per-P data indexed by it
    /// needs no lock there.
    public static var currentProcessor: Int? {
        guard let m = vm_current_m(), m.pointee.curg != nil, let p = m.pointee.p else { return nil }
        return Int(p.pointee.id)
    }

    /// The lowest usable byte of the calling task's stack (below it: the guard), or 0 when the
    /// caller is not a task (a host thread). Stable for the task's life: its stack is attached
    /// when it first runs and stays until it ends.
    public static var currentStackLow: UInt {
        @inline(never) get {
            guard let g = vm_current_g() else { return 0 }
            return UInt(g.pointee.stack_lo)
        }
    }

    /// Reads a flag returned by `preemptFlag()`.
    @inline(__always)
    public static func isPreemptRequested(_ flag: UnsafeMutablePointer<UInt32>) -> Bool {
        vm_load_relaxed_u32(flag) != 0
    }

    /// Called when the preempt flag is nonzero: clears it and yields (to the global queue, so
    /// a long-running task can move to another P). If the run was cancelled or terminated
    /// meanwhile it never returns — or, in a scheduler that `unwindsStoppedTasks`, returns true:
    /// the task must return from its body.
    @discardableResult
    public static func preemptPoint() -> Bool {
        guard let m = vm_current_m(), let g = m.pointee.curg else { notInTask("Scheduler.preemptPoint") }
        vm_store_relaxed_u32(&g.pointee.preempt, 0)
        statBump(m.pointee.p, VM_STAT_PREEMPT_COOP)
        switchOut(g, m, reason: VM_REASON_PREEMPT)
        return isStopping
    }

    /// Whether the calling task's run has ended (it was cancelled, terminated, deadlocked or shut
    /// down): in a scheduler that `unwindsStoppedTasks`, a task that finds this true after a
    /// blocking call (yield, sleep, join, preemptPoint) must return from its body.
    public static var isStopping: Bool {
        @inline(never) get {
            guard let m = vm_current_m(), let g = m.pointee.curg else { return false }
            return isStale(g, m)
        }
    }

    /// `terminate` for a scheduler that `unwindsStoppedTasks`: ends the run as
    /// `.terminated(reason)` in the same way, but returns; the caller is stopping and must return
    /// from its body (a blocking call it makes now abandons it).
    public static func endRun(_ reason: AnyObject) {
        guard let m = vm_current_m(), let g = m.pointee.curg else { notInTask("Scheduler.endRun") }
        endGenerationFromTask(m, reason)
        g.pointee.stopping = 1
    }

    /// Blocks the calling thread (not a task) until every task of the runs that ended has
    /// returned from its body — except tasks inside foreign code (`ForeignCall`), which cannot be
    /// told, and waiting at most `limit`. Unwinding schedulers only (a no-op otherwise). A host
    /// that starts a run right after another ended calls this first, so that what the stopped
    /// tasks held (memory charged to a limit, for one) has been released.
    public func waitForStoppedTasks(limit: Duration = .seconds(5)) { core.waitForStoppedTasks(limit: limit) }
}

/// Foreign code called from a task (an `extern` C function): while it runs, the task's thread is
/// sent no preemption signal — a signal would cut the callee's system calls short (`sleep`
/// returning early, `read` failing with EINTR), as Go's runtime avoids for a goroutine in a
/// system call. The task keeps its processor meanwhile (there is no hand-off). Also names the
/// call in crash reports (`CrashReport`).
public enum ForeignCall {
    /// Marks the calling thread as running foreign code; `description` (e.g. "strlen (libc.so.6)")
    /// must stay valid until `end()`. The callee must not switch tasks (C code cannot).
    @inline(__always)
    public static func begin(_ description: UnsafePointer<CChar>?) { vm_foreign_call_begin(description) }

    @inline(__always)
    public static func end() { vm_foreign_call_end() }
}

/// Fatal signals, for executables (a library leaves signal handling to its host).
public enum CrashReport {
    /// Replaces the handlers of SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS and
    /// SIGQUIT (and so the Swift runtime's backtracer) with one that writes a short report to
    /// standard error — the signal, the address, the task, the `extern` C function that was
    /// running — and ends the process by that signal. Call it early, before any scheduler starts:
    /// a task-stack overflow is still reported as such (that handler chains to this one).
    public static func install(programName: String) {
        // Kept for the life of the process: the handler reads it.
        let name = strdup(programName)
        vm_crash_handlers_install(name)
    }
}

/// The C heap's growth, for executables (a library leaves the allocator's settings to its host).
public enum HeapGrowth {
    /// Makes glibc's malloc grow each arena heap in one step (M_TOP_PAD of 64 MiB) instead of a page
    /// at a time with an mprotect each: the Ms allocate their tasks' state in arenas of their own,
    /// and 100,000 parked tasks cost 22,600 such calls. Untouched pages stay unbacked; each arena may
    /// keep up to 64 MiB of free memory until the process's schedulers go idle, when sysmon trims the
    /// heap (Sysmon.swift). Call it before any scheduler starts (arenas made before keep their page
    /// steps). Does nothing elsewhere.
    public static func inLargeSteps() { vm_heap_grow_in_large_steps() }
}

/// The SchedulerCore an M belongs to (alive while the M runs: see SchedulerCore).
@inline(__always)
func schedulerCore(_ m: MPtr) -> SchedulerCore {
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    return Unmanaged<SchedulerCore>.fromOpaque(s.pointee.owner).takeUnretainedValue()
}

func notInTask(_ what: String) -> Never {
    fatalError("\(what) must be called from inside a task (a closure run by Scheduler.run or Scheduler.spawn)")
}
