// Stats.swift — SchedulerStats: a snapshot of a scheduler's counters (per-P single-writer
// counters summed with the scheduler-wide ones) and of the process-wide stack pool.
import CJITStubs

public struct SchedulerStats: Sendable, CustomStringConvertible {
    /// Gs created (main tasks included).
    public var tasks: Int
    /// Gs switched in.
    public var switches: Int
    /// Successful steal operations, and the Gs they moved.
    public var steals: Int
    public var stolen: Int
    /// preemptPoint() yields, and sysmon's marks of preempt flags.
    public var preemptCoop: Int
    public var preemptMarks: Int
    /// Asynchronous preemption: tasks switched out by the injected trampoline; preemption signals
    /// handled; of those, signals that wanted a preemption but landed outside an async safe point
    /// (outside JIT code, mostly: the cooperative flag then does the work).
    public var preemptAsync: Int
    public var preemptSignals: Int
    public var preemptUnsafe: Int
    /// Saved vector states: blocks taken from the pool, and from the P's 1-element cache; blocks
    /// held now (by preempted tasks and P caches), the most ever held at once, and blocks carved.
    public var xregAlloc: Int
    public var xregCacheHit: Int
    public var xregLive: Int
    public var xregLiveMax: Int
    public var xregBlocks: Int
    /// Number of Ps.
    public var procs: Int
    /// Gs resumed on a different M than the one they last ran on.
    public var migrations: Int
    /// Sleep timers armed, and timers fired by an M other than their P's.
    public var timers: Int
    public var timersStolen: Int
    /// Gs blocked (channel, join, sleep).
    public var parks: Int
    /// Gs put on the global run queue.
    public var globalQueue: Int
    /// yield() calls, hand-offs into runnext, idle Ms woken.
    public var yields: Int
    public var handoffs: Int
    public var wakeups: Int
    /// Gs finished, and Gs dropped because their run ended.
    public var exits: Int
    public var abandoned: Int
    /// Live Gs (each holds a stack once it has started), and free stacks in this scheduler's
    /// per-P caches (resident).
    public var stacksLive: Int
    public var stacksCached: Int
    /// Process-wide: free stacks in the pool, those of them that still hold their pages (until
    /// the scavenger gives them back), stacks with a guard page, without.
    public var stacksPooled: Int
    public var stacksPooledResident: Int
    public var stacksGuarded: Int
    public var stacksUnguarded: Int

    init(_ scheduler: SchedulerCore) {
        let s = scheduler.sched
        func total(_ i: UInt32) -> Int {
            var sum = vm_load_relaxed_u64(vm_sched_stat(s, i))
            for p in scheduler.ps { sum &+= vm_load_relaxed_u64(vm_p_stat(p, i)) }
            return Int(sum)
        }
        tasks = total(VM_STAT_TASKS)
        switches = total(VM_STAT_SWITCHES)
        steals = total(VM_STAT_STEALS)
        stolen = total(VM_STAT_STOLEN)
        preemptCoop = total(VM_STAT_PREEMPT_COOP)
        preemptMarks = total(VM_STAT_PREEMPT_MARKS)
        preemptAsync = total(VM_STAT_PREEMPT_ASYNC)
        preemptSignals = total(VM_STAT_PREEMPT_SIGNALS)
        preemptUnsafe = total(VM_STAT_PREEMPT_UNSAFE)
        xregAlloc = total(VM_STAT_XREG_ALLOC)
        xregCacheHit = total(VM_STAT_XREG_CACHEHIT)
        let pool = XRegBlockPool.counts(vm_sched_xreg_pool(s))
        xregLive = pool.live
        xregLiveMax = pool.liveMax
        xregBlocks = pool.blocks
        procs = scheduler.procs
        migrations = total(VM_STAT_MIGRATIONS)
        timers = total(VM_STAT_TIMERS)
        timersStolen = total(VM_STAT_TIMERS_STOLEN)
        parks = total(VM_STAT_PARKS)
        globalQueue = total(VM_STAT_GLOBALQ)
        yields = total(VM_STAT_YIELDS)
        handoffs = total(VM_STAT_HANDOFFS)
        wakeups = total(VM_STAT_WAKEUPS)
        exits = total(VM_STAT_EXITS)
        abandoned = total(VM_STAT_ABANDONED)
        stacksLive = max(0, tasks - exits - abandoned)
        var cached = 0
        for p in scheduler.ps { cached += Int(vm_load_relaxed_u32(&p.pointee.nstackfree)) }
        stacksCached = cached
        let stacks = StackPool.shared.snapshot()
        stacksPooled = stacks.pooled
        stacksPooledResident = stacks.resident
        stacksGuarded = stacks.guarded
        stacksUnguarded = stacks.unguarded
    }

    /// Space-separated key=value pairs.
    public var description: String {
        [
            ("tasks", tasks), ("switches", switches), ("steals", steals), ("stolen", stolen),
            ("preempt.coop", preemptCoop), ("preempt.marks", preemptMarks), ("preempt.async", preemptAsync),
            ("preempt.signals", preemptSignals), ("preempt.unsafe", preemptUnsafe), ("xreg.alloc", xregAlloc),
            ("xreg.cachehit", xregCacheHit), ("xreg.live", xregLive), ("xreg.live.max", xregLiveMax),
            ("xreg.blocks", xregBlocks), ("procs", procs),
            ("migrations", migrations), ("timers", timers), ("timers.stolen", timersStolen),
            ("parks", parks), ("globalq", globalQueue), ("yields", yields), ("handoffs", handoffs),
            ("wakeups", wakeups), ("exits", exits), ("abandoned", abandoned),
            ("stacks.live", stacksLive), ("stacks.cached", stacksCached), ("stacks.pooled", stacksPooled),
            ("stacks.pooled.resident", stacksPooledResident),
            ("stacks.guarded", stacksGuarded), ("stacks.unguarded", stacksUnguarded),
        ].map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }
}
