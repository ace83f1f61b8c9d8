// SchedulerCore.swift — one scheduler's state behind the public `Scheduler` handle: the C
// structs (vm_sched, the Ps and Ms), the G slabs, the run protocol with the host thread,
// cancel/terminate, start-up and shutdown.
//
// Lifetime: the Ms reach this object through vm_sched.owner (unretained), so it must outlive
// them. Whoever shuts the scheduler down keeps it alive until every M is joined: the host
// thread calling shutdown() (through the Scheduler that references it), or — when shutdown is
// requested by one of the scheduler's own threads, which cannot join itself — a detached
// helper thread that holds a strong reference while it joins. The C memory is freed in deinit.
import CJITStubs
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

final class SchedulerCore: @unchecked Sendable {
    // @unchecked Sendable: mutable fields are guarded by `sched.lock` or `lifecycleLock`, as
    // marked; the C state is shared with the Ms by design.

    let sched: SchedPtr
    let procs: Int
    let stackSize: Int
    let ps: [PPtr]
    let ms: [MPtr]

    private let runLock: UnsafeMutablePointer<vm_mutex>  // one run() at a time
    private let lifecycleLock: UnsafeMutablePointer<vm_mutex>  // start / shutdown
    private var started = false  // lifecycleLock
    private var isShutDown = false  // lifecycleLock
    private var shutdownHandedOff = false  // lifecycleLock

    // Guarded by sched.lock:
    var outcome: RunOutcome?
    var pendingTermination: AnyObject?
    var slabs: [GPtr] = []

    init(_ configuration: SchedulerConfiguration) {
        procs = configuration.procs
        stackSize = StackPool.roundedStackSize(configuration.stackSize)
        runLock = .allocate(capacity: 1)
        runLock.initialize(to: vm_mutex())
        lifecycleLock = .allocate(capacity: 1)
        lifecycleLock.initialize(to: vm_mutex())

        sched = .allocate(capacity: 1)
        sched.initialize(to: vm_sched())
        sched.pointee.nprocs = Int32(procs)
        sched.pointee.gen = 1
        sched.pointee.next_gid = 1
        sched.pointee.quantum_ns = configuration.quantumNanoseconds
        sched.pointee.stack_size = UInt64(stackSize)
        // Asynchronous preemption: one save path for the whole scheduler, so that whichever P a
        // G resumes on restores exactly what the P it was preempted on saved.
        let asyncPreemption = configuration.asyncPreemption && AsyncPreemption.isSupported
        let path = configuration.vectorRegistersOverride?.path ?? AsyncPreemption.detectedPath
        precondition(vm_xregs_path_usable(path), "VMRuntime: this CPU cannot save the vector registers asked for")
        sched.pointee.async_preempt = asyncPreemption ? 1 : 0
        sched.pointee.unwind = configuration.unwindsStoppedTasks ? 1 : 0
        sched.pointee.stackless_threshold = UInt32(configuration.stacklessParkThreshold)
        sched.pointee.xregs_path = path
        XRegBlockPool.initialize(vm_sched_xreg_pool(sched), blockBytes: Int(vm_xregs_path_bytes(path)))

        var ps: [PPtr] = []
        var ms: [MPtr] = []
        let allp = UnsafeMutablePointer<PPtr?>.allocate(capacity: procs)
        for i in 0..<procs {
            let p = PPtr.allocate(capacity: 1)
            p.initialize(to: vm_p())
            p.pointee.id = Int32(i)
            p.pointee.timer0_when = Int64.max
            p.pointee.sched = UnsafeMutableRawPointer(sched)
            p.pointee.xregs_path = path
            if asyncPreemption { p.pointee.xregs_scratch = allocateScratchBlock() }
            let m = MPtr.allocate(capacity: 1)
            m.initialize(to: vm_m())
            m.pointee.id = Int64(i)
            m.pointee.p = p
            m.pointee.sched = UnsafeMutableRawPointer(sched)
            m.pointee.rand = UInt64(i + 7) &* 0xD6E8_FEB8_6659_FD93
            p.pointee.m = m
            allp[i] = p
            ps.append(p)
            ms.append(m)
        }
        sched.pointee.allp = allp
        self.ps = ps
        self.ms = ms
        sched.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        // shutdown() has joined every M (see the lifetime note above); `stats` stayed readable
        // until now.
        for p in ps {
            p.pointee.timers?.deallocate()
            free(p.pointee.xregs_scratch)
            p.deinitialize(count: 1)
            p.deallocate()
        }
        // Every block still held (P caches; Gs abandoned while preempted) goes with the chunks.
        XRegBlockPool.destroy(vm_sched_xreg_pool(sched))
        for m in ms {
            m.deinitialize(count: 1)
            m.deallocate()
        }
        sched.pointee.allp.deallocate()
        sched.deinitialize(count: 1)
        sched.deallocate()
        runLock.deallocate()
        lifecycleLock.deallocate()
    }

    // MARK: - Runs

    func run(_ main: @escaping () -> Void) -> RunOutcome {
        if vm_current_m() != nil {
            fatalError("Scheduler.run called from inside a task; run blocks its thread, use spawn/join")
        }
        vm_mutex_lock(runLock)
        defer { vm_mutex_unlock(runLock) }
        vm_mutex_lock(lifecycleLock)
        if isShutDown || shutdownHandedOff {
            vm_mutex_unlock(lifecycleLock)
            return .terminated(SchedulerShutdown())
        }
        startIfNeeded()
        vm_mutex_unlock(lifecycleLock)

        let s = sched
        let g = allocG(s, nil)
        vm_mutex_lock(&s.pointee.lock)
        if vm_load_u32(&s.pointee.stopping) != 0 {
            vm_mutex_unlock(&s.pointee.lock)
            freeUnstartedG(s, g)
            return .terminated(SchedulerShutdown())
        }
        if let reason = pendingTermination {
            pendingTermination = nil
            vm_mutex_unlock(&s.pointee.lock)
            freeUnstartedG(s, g)
            return .terminated(reason)
        }
        let genAtStart = vm_load_u64(&s.pointee.gen)
        prepareG(s, g, body: main, gen: genAtStart, handle: GHandle(id: 0))
        schedStatAdd(s, VM_STAT_TASKS)
        vm_sched_set_main_g(s, g)
        s.pointee.outcome_set = 0
        vm_store_u32(&s.pointee.run_note, 0)
        s.pointee.run_active = 1
        globalQueuePut(s, g)
        schedStatAdd(s, VM_STAT_GLOBALQ)
        vm_mutex_unlock(&s.pointee.lock)
        wakeIdleM(s)

        // This thread is not an M: it just waits for the outcome.
        _ = vm_note_sleep(&s.pointee.run_note, Int64.max)

        vm_mutex_lock(&s.pointee.lock)
        let result = outcome ?? .completed
        outcome = nil
        s.pointee.run_active = 0
        vm_sched_set_main_g(s, nil)
        vm_mutex_unlock(&s.pointee.lock)
        // A deadlock ends the generation under the scheduler lock, where the reaper cannot run.
        if vm_load_u64(&s.pointee.gen) != genAtStart { wakeStoppedWaiters() }
        return result
    }

    /// Decides the active run's outcome and wakes its host thread. sched.lock held.
    func deliverOutcome(_ s: SchedPtr, _ result: RunOutcome) {
        outcome = result
        s.pointee.outcome_set = 1
        vm_note_wake(&s.pointee.run_note)
    }

    /// cancel / terminate: ends the generation (all its tasks are abandoned) and reports.
    func endGeneration(reason: AnyObject, reportIfIdle: Bool) {
        let s = sched
        vm_mutex_lock(&s.pointee.lock)
        if s.pointee.run_active != 0 {
            if s.pointee.outcome_set == 0 { deliverOutcome(s, .terminated(reason)) }
        } else if reportIfIdle && pendingTermination == nil {
            pendingTermination = reason
        }
        _ = vm_add_u64(&s.pointee.gen, 1)
        markRunningGs(s)
        vm_mutex_unlock(&s.pointee.lock)
        dropStaleTimers(s)
        wakeStoppedWaiters()
    }

    // MARK: - Stopping (unwinding schedulers; see "Stopping" in Scheduler.swift)

    /// The reaper: takes every G of an ended run out of the channel or join queue it waits in and
    /// readies it, so that it returns from its body. No lock held by the caller; any thread.
    func wakeStoppedWaiters() {
        let s = sched
        guard s.pointee.unwind != 0 else { return }
        vm_mutex_lock(&s.pointee.lock)
        let slabs = self.slabs
        vm_mutex_unlock(&s.pointee.lock)
        // After the bump (the caller's): a G that publishes its wait later sees the new generation.
        vm_fence()
        let gen = vm_load_u64(&s.pointee.gen)
        var woken: [GPtr] = []
        vm_reap_lock()
        for slab in slabs {
            for i in 0..<gSlabSize {
                let g = slab + i
                let word = vm_load_uptr(&g.pointee.waitobj)
                if word == VM_WAIT_NONE || vm_load_u64(&g.pointee.gen) == gen { continue }
                guard let object = UnsafeMutableRawPointer(bitPattern: word & ~VM_WAIT_TAGS) else { continue }
                switch word & VM_WAIT_TAGS {
                case VM_WAIT_CHAN:
                    // Still allocated: a G is (or just was) in its queue, and a channel takes the
                    // reap lock, which we hold, before it frees its state.
                    Channel.evictStaleWaiters(object.assumingMemoryBound(to: vm_chan.self), gen: gen, into: &woken)
                case VM_WAIT_JOIN:
                    // A G struct: memory until shutdown.
                    evictStaleJoiners(object.assumingMemoryBound(to: vm_g.self), gen: gen, into: &woken)
                default:
                    break
                }
            }
        }
        vm_reap_unlock()
        for g in woken { readyAnywhere(s, g) }
    }

    /// Takes the joiners of `target` that belong to an ended run out of its join queue.
    private func evictStaleJoiners(_ target: GPtr, gen: UInt64, into woken: inout [GPtr]) {
        vm_mutex_lock(&target.pointee.joinlock)
        var prev: GPtr? = nil
        var x = target.pointee.joinq
        while let g = x {
            let next = g.pointee.waitlink
            x = next
            if g.pointee.gen == gen {
                prev = g
                continue
            }
            if let prev { prev.pointee.waitlink = next } else { target.pointee.joinq = next }
            g.pointee.waitlink = nil
            clearWait(g)
            woken.append(g)
        }
        vm_mutex_unlock(&target.pointee.joinlock)
    }

    /// Tasks of ended runs that have not returned yet, not counting those inside foreign code.
    func stoppedTasksLeft() -> Int {
        let s = sched
        vm_mutex_lock(&s.pointee.lock)
        let slabs = self.slabs
        vm_mutex_unlock(&s.pointee.lock)
        let gen = vm_load_u64(&s.pointee.gen)
        var n = 0
        for slab in slabs {
            for i in 0..<gSlabSize {
                let g = slab + i
                let status = vm_load_u32(&g.pointee.status)
                if status == VM_G_IDLE || status == VM_G_DEAD || vm_load_u64(&g.pointee.gen) == gen { continue }
                if status == VM_G_RUNNING, let m = g.pointee.m, vm_load_u32(&m.pointee.incall) != 0 { continue }
                n += 1
            }
        }
        return n
    }

    /// Stopped tasks at which waiting for them ends with the C heap trimmed: their freed state
    /// would otherwise stay in malloc's arenas (12.4: RSS must plateau, not climb).
    static let trimAfterStoppedTasks = 1000

    func waitForStoppedTasks(limit: Duration) {
        guard sched.pointee.unwind != 0 else { return }
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var pause: UInt32 = 20
        while stoppedTasksLeft() > 0 && clock.now < deadline {
            usleep(pause)
            pause = min(pause * 2, 2000)
        }
        let s = sched
        let finished = vm_load_u64(&s.pointee.stopped_finished)
        if finished &- s.pointee.stopped_trimmed >= UInt64(SchedulerCore.trimAfterStoppedTasks) {
            s.pointee.stopped_trimmed = finished  // host threads only: VM runs are serialized
            vm_trim_heap()
        }
    }

    /// Sets the preempt flag of every running G so that it reaches a scheduling point soon, and
    /// signals its M: a G inside a long JIT kernel never polls the flag.
    func markRunningGs(_ s: SchedPtr) {
        for p in ps {
            if let g = vm_load_g(&p.pointee.curg) {
                vm_store_u32(&g.pointee.preempt, 1)
                signalPreempt(s, p)
            }
        }
    }

    // MARK: - Start and shutdown

    /// Starts the Ms and registers with sysmon. lifecycleLock held.
    private func startIfNeeded() {
        if started { return }
        started = true
        if sched.pointee.async_preempt != 0 { _ = AsyncPreemption.processSetUp }
        Sysmon.register(sched)
        for m in ms {
            let rc = vm_thread_start(&m.pointee.thread, mThreadEntry, UnsafeMutableRawPointer(m))
            if rc != 0 { fatalError("VMRuntime: cannot start a worker thread (pthread_create: \(rc))") }
        }
    }

    func shutdown() {
        if let m = vm_current_m(), m.pointee.sched == UnsafeMutableRawPointer(sched) {
            shutdownFromOwnThread()
            return
        }
        vm_mutex_lock(lifecycleLock)
        defer { vm_mutex_unlock(lifecycleLock) }
        if isShutDown { return }
        isShutDown = true
        let s = sched
        if started && s.pointee.unwind != 0 {
            // Stop the tasks by unwinding them while the Ms still run, so that what they hold is
            // released; then stop the Ms.
            endGeneration(reason: SchedulerShutdown(), reportIfIdle: false)
            waitForStoppedTasks(limit: .seconds(5))
        }
        if started {
            stopEverything()
            for m in ms { _ = vm_thread_join(m.pointee.thread) }
        }
        releaseAllGs()
        // After the stacks went back: the last scheduler's sysmon gives back their pages as
        // it stops (nothing would scavenge them later).
        if started { Sysmon.unregister(s) }
        if started && s.pointee.unwind != 0 { vm_trim_heap() }
        for p in ps {
            p.pointee.timers?.deallocate()
            p.pointee.timers = nil
            p.pointee.ntimers = 0
            p.pointee.timers_cap = 0
            vm_store_i64(&p.pointee.timer0_when, Int64.max)
            p.pointee.gfree = nil
            p.pointee.ngfree = 0
        }
        s.pointee.gfree = nil
        s.pointee.ngfree = 0
        s.pointee.runq_head = nil
        s.pointee.runq_tail = nil
        s.pointee.runq_size = 0
    }

    /// Ends the run in progress, abandons every G, and wakes the idle Ms so they see
    /// `stopping` and exit. Idempotent.
    private func stopEverything() {
        let s = sched
        vm_mutex_lock(&s.pointee.lock)
        vm_store_u32(&s.pointee.stopping, 1)
        if s.pointee.run_active != 0 && s.pointee.outcome_set == 0 {
            deliverOutcome(s, .terminated(SchedulerShutdown()))
        }
        _ = vm_add_u64(&s.pointee.gen, 1)
        markRunningGs(s)
        vm_mutex_unlock(&s.pointee.lock)
        for m in ms { vm_note_wake(&m.pointee.note) }
    }

    /// On one of our own Ms (a task, or g0 releasing the last reference to the Scheduler): we
    /// cannot join our own thread. Stop everything now; a detached helper thread, holding this
    /// core alive, does the joining and the clean-up.
    private func shutdownFromOwnThread() {
        vm_mutex_lock(lifecycleLock)
        let first = !isShutDown && !shutdownHandedOff
        shutdownHandedOff = true
        vm_mutex_unlock(lifecycleLock)
        guard first else { return }
        stopEverything()
        let box = Unmanaged.passRetained(self).toOpaque()
        var helper = pthread_t()
        let rc = vm_thread_start(
            &helper,
            { raw in
                let core = Unmanaged<SchedulerCore>.fromOpaque(raw!).takeRetainedValue()
                core.shutdown()  // not an M: joins, then the last reference may go here
                return nil
            }, box)
        if rc != 0 { fatalError("VMRuntime: cannot start the shutdown helper thread (pthread_create: \(rc))") }
        pthread_detach(helper)
    }
}
