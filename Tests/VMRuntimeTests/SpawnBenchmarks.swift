// SpawnBenchmarks.swift — what spawning costs at the runtime level, without the VM's per-task
// state: 100,000 tasks that park all at once and are then released (time, resident bytes per
// parked task, minor page faults), 100,000 that exit as soon as they have run, and the spawn
// calls alone. A report, not a test: nothing is asserted about time. Opt-in, in release, on a
// quiet machine (the first repetition is the one with fresh stacks; later ones reuse them):
//   VECVM_RUNTIME_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter SpawnBenchmarks
// Go 1.19's peer (shared/peers/spawn.go, "alive" / "finish") measured 310–530 / 33–100 ms here.
import CJITStubs
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
    @Suite(.enabled(if: getenv("VECVM_RUNTIME_BENCH") != nil, "VECVM_RUNTIME_BENCH=1 (release build)"))
    struct SpawnBenchmarks {
        static let n = 100_000

        /// Minor page faults of the process so far.
        func minorFaults() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_minflt
        }

        @Test func spawnParkedTasks() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            let n = SpawnBenchmarks.n
            for rep in 0..<3 {
                var elapsed: Int64 = 0
                var perTask = 0
                var faults = 0
                let rss0 = residentBytes()
                let faults0 = minorFaults()
                let outcome = s.run {
                    let t0 = now()
                    let gate = Channel(capacity: 0)
                    let ready = Channel(capacity: n)
                    let done = Channel(capacity: n)
                    for i in 0..<n {
                        Scheduler.spawn {
                            try! ready.send(Message(w0: 1))
                            _ = try! gate.receive()
                            try! done.send(Message(w0: UInt64(i)))
                        }
                    }
                    for _ in 0..<n { _ = try! ready.receive() }
                    perTask = (residentBytes() - rss0) / n
                    faults = minorFaults() - faults0
                    for _ in 0..<n { try! gate.send(Message(w0: 1)) }
                    for _ in 0..<n { _ = try! done.receive() }
                    elapsed = now() - t0
                }
                #expect(isCompleted(outcome))
                print(
                    "spawn+park+release \(n) tasks, rep \(rep): \(Double(elapsed) / 1e6) ms, "
                        + "\(perTask) bytes resident per parked task, \(faults) page faults while parking")
            }
        }

        @Test func spawnTasksThatExit() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            let n = SpawnBenchmarks.n
            for rep in 0..<3 {
                var elapsed: Int64 = 0
                var spawnOnly: Int64 = 0
                let outcome = s.run {
                    let t0 = now()
                    let done = Channel(capacity: n)
                    for i in 0..<n { Scheduler.spawn { try! done.send(Message(w0: UInt64(i))) } }
                    spawnOnly = now() - t0
                    for _ in 0..<n { _ = try! done.receive() }
                    elapsed = now() - t0
                }
                #expect(isCompleted(outcome))
                print(
                    "spawn \(n) tasks that exit, rep \(rep): \(Double(elapsed) / 1e6) ms "
                        + "(the spawn loop alone: \(Double(spawnOnly) / Double(n)) ns a spawn)")
            }
            print(s.stats)
        }
    }
}
