// StopTests.swift — schedulers that unwind stopped tasks (SchedulerConfiguration
// .unwindsStoppedTasks, issue 16.4 / 12.3): when a run ends, each of its tasks is told at the
// blocking call it is in — parked on a channel or a join, asleep, yielding, preempted — and returns
// from its body, so that what its frames hold is released; waitForStoppedTasks waits for that.
// And foreign calls (ForeignCall, issue 16.6): no preemption signal interrupts them.
import CJITStubs
import Glibc
import Synchronization
import Testing

@testable import VMRuntime

extension RuntimeTests {
    @Suite struct Stopping {
        /// A task body that holds `Tracked` objects in its frame until its blocking call returns,
        /// and counts the tasks that returned from it.
        final class Returns: @unchecked Sendable {
            let count = Atomic<Int>(0)
        }

        @Test(arguments: [1, 2])
        func tasksOfAnEndedRunReturnFromTheirBodiesAndReleaseWhatTheyHold(procs: Int) {
            let s = Scheduler(configuration: .init(procs: procs, unwindsStoppedTasks: true))
            defer { s.shutdown() }
            let returned = Returns()
            let before = Tracked.live.load(ordering: .relaxed)
            let channel = Channel(capacity: 0)
            let outcome = s.run {
                let held = Tracked(0)
                // Parked on a channel (receiving and sending), on a join, asleep, and yielding.
                for _ in 0..<50 {
                    Scheduler.spawn {
                        let mine = Tracked(1)
                        _ = try? channel.receive()
                        withExtendedLifetime(mine) {}
                        returned.count.add(1, ordering: .relaxed)
                    }
                    Scheduler.spawn {
                        let mine = Tracked(2)
                        try? channel.send(Message(object: Tracked(3)))
                        withExtendedLifetime(mine) {}
                        returned.count.add(1, ordering: .relaxed)
                    }
                    Scheduler.spawn {
                        let mine = Tracked(4)
                        let forever = Scheduler.spawn {
                            _ = try? channel.receive()
                            returned.count.add(1, ordering: .relaxed)
                        }
                        forever.join()
                        withExtendedLifetime(mine) {}
                        returned.count.add(1, ordering: .relaxed)
                    }
                    Scheduler.spawn {
                        let mine = Tracked(5)
                        Scheduler.sleep(nanoseconds: 3_600_000_000_000)
                        withExtendedLifetime(mine) {}
                        returned.count.add(1, ordering: .relaxed)
                    }
                    Scheduler.spawn {
                        let mine = Tracked(6)
                        while !Scheduler.isStopping { Scheduler.yield() }
                        withExtendedLifetime(mine) {}
                        returned.count.add(1, ordering: .relaxed)
                    }
                }
                Scheduler.sleep(nanoseconds: 20_000_000)  // let them all start and block
                withExtendedLifetime(held) {}
                Scheduler.endRun(Reason("stop them"))
            }
            guard case .terminated(let why) = outcome else {
                Issue.record("expected terminated, got \(outcome)")
                return
            }
            #expect((why as? Reason)?.text == "stop them")
            s.waitForStoppedTasks()
            // Every task returned (those that never started are dropped with their closures) and
            // released what it held.
            let count = returned.count.load(ordering: .relaxed)
            let live = Tracked.live.load(ordering: .relaxed)
            #expect(count >= 250 && count <= 300)
            #expect(live == before)
            // And the scheduler runs the next program as usual.
            var ran = false
            #expect(isCompleted(s.run { ran = true }))
            #expect(ran)
        }

        @Test func aTaskThatIgnoresTheNoticeIsAbandonedAtItsNextBlockingCall() {
            let s = Scheduler(configuration: .init(procs: 1, unwindsStoppedTasks: true))
            defer { s.shutdown() }
            let after = Atomic<Int>(0)
            _ = s.run {
                Scheduler.spawn {
                    while true {
                        Scheduler.yield()  // told once (returns), then abandoned here
                        after.add(1, ordering: .relaxed)
                    }
                }
                Scheduler.yield()
                Scheduler.endRun(Reason("end"))
            }
            s.waitForStoppedTasks()
            usleep(20_000)
            let count = after.load(ordering: .relaxed)
            #expect(count <= 2)
        }

        @Test func withoutUnwindingTasksAreAbandonedAsBefore() {
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            let resumed = Atomic<Bool>(false)
            _ = s.run {
                Scheduler.spawn {
                    Scheduler.yield()
                    Scheduler.yield()
                    resumed.store(true, ordering: .relaxed)
                }
                Scheduler.yield()
                Scheduler.terminate(Reason("end"))
            }
            usleep(20_000)
            let didResume = resumed.load(ordering: .relaxed)
            #expect(!didResume)
        }

        /// Issue 16.6: `usleep` from a task beside a busy one on a single P, with a 1 ms quantum and
        /// asynchronous preemption: sysmon wants the P back every millisecond, yet sends no signal
        /// while the task is in foreign code.
        @Test func foreignCallsGetNoPreemptionSignal() {
            let s = Scheduler(configuration: .init(procs: 1, quantumNanoseconds: 1_000_000, asyncPreemption: true))
            defer { s.shutdown() }
            let stop = Atomic<Bool>(false)
            var results: [Int32] = []
            var errnos: [Int32] = []
            var elapsed: Int64 = 0
            _ = s.run {
                Scheduler.spawn {
                    while !stop.load(ordering: .relaxed) { Scheduler.preemptPoint() }
                }
                Scheduler.yield()
                let t0 = now()
                for _ in 0..<4 {
                    ForeignCall.begin("usleep (test)")
                    let r = usleep(50_000)
                    let e = errno
                    ForeignCall.end()
                    results.append(r)
                    errnos.append(r == 0 ? 0 : e)
                }
                elapsed = now() - t0
                stop.store(true, ordering: .relaxed)
            }
            #expect(results == [0, 0, 0, 0], "errno \(errnos)")
            #expect(elapsed >= 200_000_000)
        }
    }
}
