// SchedulerTests.swift — runs, tasks and their ids, join, yield, deadlock, terminate and
// cancel, runs that follow each other (the REPL), several schedulers and host threads,
// shutdown, idle CPU, stats.
import CJITStubs
import Synchronization
import Testing
@testable import VMRuntime
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension RuntimeTests {
    @Suite struct Scheduling {
        @Test func runCompletesAndIdsStartAtOne() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            var ids: [Int] = []
            let outcome = s.run {
                ids.append(Scheduler.current.id)
                let h = Scheduler.spawn { ids.append(Scheduler.current.id) }
                h.join()
                ids.append(h.id)
            }
            #expect(isCompleted(outcome))
            #expect(ids == [1, 2, 2])
            var next = 0
            #expect(isCompleted(s.run { next = Scheduler.current.id }))
            #expect(next == 3)
        }

        @Test func joinWaitsForTheTaskAndIsFinishedReportsIt() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            let log = Log()
            _ = s.run {
                let h = Scheduler.spawn {
                    Scheduler.sleep(nanoseconds: 2_000_000)
                    log.append("child")
                }
                #expect(!h.isFinished)
                h.join()
                log.append("joined")
                #expect(h.isFinished)
                h.join()  // a finished task joins at once
                // Many joiners of one task.
                let gate = Channel(capacity: 0)
                let target = Scheduler.spawn { _ = gate.receiveOrClosed() }
                let joiners = (0..<5).map { _ in Scheduler.spawn { target.join() } }
                Scheduler.sleep(nanoseconds: 1_000_000)
                try! gate.close()
                for j in joiners { j.join() }
                log.append("all joined")
            }
            #expect(log.all == ["child", "joined", "all joined"])
        }

        @Test func yieldInterleavesTasksOnOneP() {
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            var order: [String] = []
            _ = s.run {
                let a = Scheduler.spawn {
                    for i in 0..<3 {
                        order.append("a\(i)")
                        Scheduler.yield()
                    }
                }
                let b = Scheduler.spawn {
                    for i in 0..<3 {
                        order.append("b\(i)")
                        Scheduler.yield()
                    }
                }
                a.join()
                b.join()
            }
            // Both make progress in turns: neither runs all its steps before the other starts.
            #expect(order.count == 6)
            #expect(order.firstIndex(of: "b0")! < order.firstIndex(of: "a2")!)
            #expect(order.firstIndex(of: "a0")! < order.firstIndex(of: "b2")!)
        }

        @Test func swiftCodeSurvivesSwitchesAndMigration() {
            // ARC, arrays, strings and dictionaries live on task stacks across yields and moves
            // between Ms (PLATFORM.md: the hazards are exclusivity accesses and thread-locals,
            // which the runtime never holds across a switch).
            let s = Scheduler(configuration: .init(procs: 2, quantumNanoseconds: 1_000_000))
            defer { s.shutdown() }
            let total = Counter()
            _ = s.run {
                let hs = (0..<8).map { k in
                    Scheduler.spawn {
                        var words: [String: Int] = [:]
                        var objects: [Tracked] = []
                        for i in 0..<300 {
                            words["w\(i % 17)-\(k)", default: 0] += 1
                            objects.append(Tracked(i))
                            if i % 10 == 0 { Scheduler.yield() }
                            if i % 25 == 0 { Scheduler.sleep(nanoseconds: 50_000) }
                        }
                        total.add(words.values.reduce(0, +) + objects.count)
                    }
                }
                for h in hs { h.join() }
            }
            #expect(total.load == 8 * 600)
            #expect(Tracked.live.load(ordering: .relaxed) == 0)
        }

        @Test func mxcsrAndX87ControlWordArePerTask() {
            // <fenv.h> rounding modes on x86-64 (the Glibc names import ambiguously).
            let toNearest: Int32 = 0
            let upward: Int32 = 0x800
            let towardZero: Int32 = 0xC00
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            var seen: [Int32] = []
            _ = s.run {
                let a = Scheduler.spawn {
                    fesetround(towardZero)
                    Scheduler.yield()
                    seen.append(fegetround())  // still ours after others ran
                    fesetround(toNearest)
                }
                let b = Scheduler.spawn {
                    seen.append(fegetround())  // a's mode did not leak here
                    fesetround(upward)
                    Scheduler.yield()
                }
                a.join()
                b.join()
                seen.append(fegetround())
            }
            #expect(seen == [toNearest, towardZero, toNearest])
        }

        @Test func deadlockWhenEveryTaskIsBlocked() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            let ch = Channel(capacity: 0)
            #expect(isDeadlock(s.run { _ = ch.receiveOrClosed() }))
            // A blocked task joined by main.
            #expect(
                isDeadlock(
                    s.run {
                        let h = Scheduler.spawn { _ = Channel(capacity: 1).receiveOrClosed() }
                        h.join()
                    }))
            // Not a deadlock while a timer is pending.
            #expect(
                isCompleted(
                    s.run {
                        let c = Channel(capacity: 0)
                        Scheduler.spawn {
                            Scheduler.sleep(nanoseconds: 20_000_000)
                            try! c.send(Message(w0: 1))
                        }
                        _ = c.receiveOrClosed()
                    }))
            // The scheduler is usable after a deadlock.
            #expect(isCompleted(s.run {}))
        }

        @Test func deadlockWithOneP() {
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            let ch = Channel(capacity: 2)
            #expect(
                isDeadlock(
                    s.run {
                        try! ch.send(Message())
                        try! ch.send(Message())
                        try! ch.send(Message())  // full: blocks forever
                    }))
        }

        @Test func terminateInASpawnedTaskEndsTheRun() {
            let s = Scheduler(configuration: .init(procs: 2, quantumNanoseconds: 2_000_000))
            defer { s.shutdown() }
            let reason = Reason("index out of range at line 3")
            let spins = Counter()
            let afterTerminate = Flag()
            let outcome = s.run {
                Scheduler.spawn {  // another task, busy, polling like the interpreter
                    let flag = Scheduler.preemptFlag()
                    while true {
                        spins.add()
                        if Scheduler.isPreemptRequested(flag) { Scheduler.preemptPoint() }
                    }
                }
                Scheduler.spawn {  // one blocked on a channel
                    _ = Channel(capacity: 0).receiveOrClosed()
                }
                let failing = Scheduler.spawn {
                    Scheduler.sleep(nanoseconds: 1_000_000)
                    Scheduler.terminate(reason)
                }
                failing.join()
                afterTerminate.set()  // never reached: main is abandoned too
                _ = Channel(capacity: 0).receiveOrClosed()
            }
            #expect(terminationReason(outcome) === reason)
            // The spinner stops at its next poll, and stays stopped.
            sleepHost(milliseconds: 20)
            let a = spins.load
            sleepHost(milliseconds: 30)
            #expect(spins.load == a)
            #expect(!afterTerminate.isSet)
            // The scheduler runs the next program; ids keep increasing.
            var id = 0
            #expect(isCompleted(s.run { id = Scheduler.current.id }))
            #expect(id == 5)
            #expect(s.stats.abandoned >= 2)
        }

        @Test func abandonedTasksDoNotKeepTheSchedulerAlive() {
            weak var weakScheduler: Scheduler?
            do {
                let s = Scheduler(configuration: .init(procs: 2))
                weakScheduler = s
                let reason = Reason("boom")
                #expect(terminationReason(s.run { Scheduler.terminate(reason) }) === reason)
                #expect(isCompleted(s.run {}))
            }
            #expect(weakScheduler == nil)  // deinit ran (and shut the scheduler down)
        }

        @Test func terminateBetweenRunsIsReportedByTheNextRun() {
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            let reason = Reason("late failure")
            #expect(
                isCompleted(
                    s.run {
                        Scheduler.spawn {
                            Scheduler.sleep(nanoseconds: 5_000_000)
                            Scheduler.terminate(reason)
                        }
                    }))
            sleepHost(milliseconds: 30)
            var ran = false
            #expect(terminationReason(s.run { ran = true }) === reason)
            #expect(!ran)
            #expect(isCompleted(s.run { ran = true }))
            #expect(ran)
        }

        @Test func cancelFromAnotherThreadStopsAnEndlessLoop() {
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            let reason = Reason("interrupted")
            let started = Flag()
            let canceller = startHostThread {
                while !started.isSet { sleepHost(milliseconds: 1) }
                sleepHost(milliseconds: 20)
                s.cancel(reason)
            }
            let outcome = s.run {
                started.set()
                let flag = Scheduler.preemptFlag()
                while true {
                    if Scheduler.isPreemptRequested(flag) { Scheduler.preemptPoint() }
                }
            }
            joinHostThread(canceller)
            #expect(terminationReason(outcome) === reason)
            #expect(isCompleted(s.run {}))
        }

        @Test func spawnedTasksLiveOnBetweenRuns() {
            // A REPL runs one main task per input line; tasks spawned by earlier lines go on.
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            let requests = Channel(capacity: 0)
            let replies = Channel(capacity: 0)
            #expect(
                isCompleted(
                    s.run {
                        Scheduler.spawn {
                            while let m = requests.receiveOrClosed() {
                                try! replies.send(Message(w0: m.w0 * 2))
                            }
                        }
                    }))
            var got: UInt64 = 0
            #expect(
                isCompleted(
                    s.run {
                        try! requests.send(Message(w0: 21))
                        got = try! replies.receive().w0
                    }))
            #expect(got == 42)
            #expect(isCompleted(s.run { try! requests.close() }))
        }

        @Test func runFromDifferentHostThreadsAndTwoSchedulersAtOnce() {
            let s1 = Scheduler(configuration: .init(procs: 2))
            let s2 = Scheduler(configuration: .init(procs: 1))
            defer {
                s1.shutdown()
                s2.shutdown()
            }
            func pingPong(_ rounds: Int) -> UInt64 {
                let a = Channel(capacity: 0)
                let b = Channel(capacity: 0)
                Scheduler.spawn {
                    while let m = a.receiveOrClosed() { try! b.send(Message(w0: m.w0 + 1)) }
                }
                var v: UInt64 = 0
                for _ in 0..<rounds {
                    try! a.send(Message(w0: v))
                    v = try! b.receive().w0
                }
                try! a.close()
                return v
            }
            let r1 = Counter()
            let r2 = Counter()
            let t1 = startHostThread { _ = s1.run { r1.add(Int(pingPong(20_000))) } }
            let t2 = startHostThread { _ = s2.run { r2.add(Int(pingPong(20_000))) } }
            joinHostThread(t1)
            joinHostThread(t2)
            #expect(r1.load == 20_000)
            #expect(r2.load == 20_000)
            // The same scheduler from yet another thread, then from this one.
            let t3 = startHostThread { _ = s1.run { r1.add(1) } }
            joinHostThread(t3)
            _ = s1.run { r1.add(1) }
            #expect(r1.load == 20_002)
        }

        @Test func shutdownEndsARunInProgressAndJoinsTheThreads() {
            let s = Scheduler(configuration: .init(procs: 2))
            var outcome: RunOutcome = .completed
            let started = Flag()
            let host = startHostThread {
                outcome = s.run {
                    started.set()
                    Scheduler.spawn { spin(nanoseconds: 10_000_000_000) }
                    _ = Channel(capacity: 0).receiveOrClosed()
                }
            }
            while !started.isSet { sleepHost(milliseconds: 1) }
            sleepHost(milliseconds: 5)
            let tids = s.core.ms.map { $0.pointee.tid }
            s.shutdown()
            joinHostThread(host)
            #expect(terminationReason(outcome) is SchedulerShutdown)
            for tid in tids {
                #expect(access("/proc/self/task/\(tid)", F_OK) != 0, "M thread \(tid) still exists")
            }
            s.shutdown()  // idempotent
        }

        @Test func shutdownFromInsideATask() {
            let s = Scheduler(configuration: .init(procs: 2))
            let reached = Flag()
            let outcome = s.run {
                s.shutdown()  // cannot join its own thread: stops everything, a helper joins
                Scheduler.yield()  // a scheduling point: abandoned here
                reached.set()
            }
            #expect(terminationReason(outcome) is SchedulerShutdown)
            #expect(terminationReason(s.run {}) is SchedulerShutdown)
            s.shutdown()  // from the host: waits for the helper's join to finish
            #expect(!reached.isSet)
        }

        @Test func theLastReferenceDroppedByItsOwnTask() {
            // A task holds the only reference left; when it ends, the Scheduler is released on
            // one of its own threads, which shuts it down without joining itself.
            weak var weakCore: SchedulerCore?
            var tids: [Int32] = []
            do {
                let s = Scheduler(configuration: .init(procs: 2))
                weakCore = s.core
                _ = s.run {
                    Scheduler.spawn { [s] in
                        Scheduler.sleep(nanoseconds: 20_000_000)
                        _ = s.configuration
                    }
                }
                tids = s.core.ms.map { $0.pointee.tid }
            }
            let deadline = now() + 5_000_000_000
            while weakCore != nil && now() < deadline { sleepHost(milliseconds: 5) }
            #expect(weakCore == nil)
            for tid in tids {
                #expect(access("/proc/self/task/\(tid)", F_OK) != 0, "M thread \(tid) still exists")
            }
        }

        @Test func anIdleSchedulerUsesNoCPU() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            _ = s.run {
                for _ in 0..<10 { Scheduler.spawn { Scheduler.sleep(nanoseconds: 1_000_000) } }
            }
            sleepHost(milliseconds: 50)  // let the timers fire and sysmon go to deep sleep
            // Sysmon also gives back the pages of free stacks (Stacks.swift): real work, done
            // within two scavenge periods of a release. Other schedulers of this test process may
            // just have released thousands; wait until nothing is left to scavenge.
            let quiet = now() + 10_000_000_000
            while StackPool.shared.snapshot().resident > 0 && now() < quiet { sleepHost(milliseconds: 20) }
            // This scheduler's Ms, and sysmon when this is the only scheduler alive and no stack
            // waited to be scavenged meanwhile (it is process-wide; other test targets may be
            // running schedulers in this process).
            func sysmonIsOurs() -> Bool {
                vm_mutex_lock(Sysmon.registryLock)
                let alone = Sysmon.schedulers.count == 1
                vm_mutex_unlock(Sysmon.registryLock)
                return alone && StackPool.shared.snapshot().resident == 0
            }
            let ms = s.core.ms
            let aloneBefore = sysmonIsOurs()
            let msBefore = ms.reduce(Int64(0)) { $0 + threadCPUTime($1.pointee.thread) }
            let sysmonBefore = threadCPUTime(Sysmon.thread)
            sleepHost(milliseconds: 300)
            let msUsed = ms.reduce(Int64(0)) { $0 + threadCPUTime($1.pointee.thread) } - msBefore
            let sysmonUsed = threadCPUTime(Sysmon.thread) - sysmonBefore
            let used = msUsed + (aloneBefore && sysmonIsOurs() ? sysmonUsed : 0)
            #expect(
                used < 3_000_000, "idle scheduler used \(used) ns of CPU in 300 ms (Ms \(msUsed), sysmon \(sysmonUsed))"
            )
        }

        @Test func statsCountAndDescribe() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            _ = s.run {
                let c = Channel(capacity: 0)
                let h = Scheduler.spawn { for _ in 0..<10 { _ = c.receiveOrClosed() } }
                for i in 0..<10 { try! c.send(Message(w0: UInt64(i))) }
                h.join()
                Scheduler.sleep(nanoseconds: 100_000)
                Scheduler.yield()
            }
            let st = s.stats
            #expect(st.tasks == 2)
            #expect(st.procs == 2)
            #expect(st.switches >= 3)
            #expect(st.parks >= 1)
            #expect(st.timers == 1)
            #expect(st.yields == 1)
            #expect(st.exits == 2)
            #expect(st.stacksLive == 0)
            let keys = st.description.split(separator: " ").map { $0.split(separator: "=")[0] }
            for k in [
                "tasks", "switches", "steals", "preempt.coop", "procs", "migrations", "timers", "parks", "globalq",
                "stacks.live", "stacks.pooled",
            ] {
                #expect(keys.contains(Substring(k)), "missing \(k)")
            }
        }

        /// A reusable handle serves another spawn once its task has finished and nothing but its G
        /// referenced it (prepared for reuse, with a new id); one that is still referenced does not.
        @Test func finishedUnreferencedHandlesServeTheNextSpawns() {
            final class Reusable: GHandle, @unchecked Sendable {
                var value = 0
                init() { super.init(id: 0, reusable: true) }
                override func prepareForReuse() { value = -1 }
            }
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            var first: ObjectIdentifier?
            var firstID = 0
            var reused: (same: Bool, value: Int, id: Int, finished: Bool)?
            var keptIsReused = false
            _ = s.run {
                do {
                    let h = Reusable()
                    h.value = 7
                    Scheduler.spawn(h) {}
                    first = ObjectIdentifier(h)
                    firstID = h.id
                }
                // The task runs next on this P and ends while its G holds the only reference.
                Scheduler.yield()
                guard let r = Scheduler.reusableHandle() as? Reusable else { return }
                Scheduler.spawn(r) {}
                reused = (ObjectIdentifier(r) == first, r.value, r.id, r.isFinished)
                r.join()
                // `r` is still referenced here when its task ends: not reused.
                keptIsReused = Scheduler.reusableHandle() != nil
                withExtendedLifetime(r) {}
            }
            #expect(reused?.same == true)
            #expect(reused?.value == -1)
            #expect(reused.map { $0.id > firstID } == true)
            #expect(reused?.finished == false)
            #expect(!keptIsReused)
        }
    }
}
