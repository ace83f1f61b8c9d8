// StressTests.swift — races that need many tasks on several Ps to show: short-lived tasks spawned
// faster than they finish (ring overflow to the global queue while the other P steals, free-list
// reuse of G structs and stacks). Run in a child process: the failures these guard against end
// in a crash or a hang, which a child turns into a readable report.
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
    @Suite struct Stress {
        /// The .vec program `for i in 0..n { spawn w(i, done) }` with `w` sending on a buffered
        /// channel, repeated on 2 Ps for a few seconds. It used to crash in a few per cent of runs:
        /// runqPutSlow linked the Gs it was about to move to the global queue through `schedlink`
        /// before claiming them, so a G a thief had meanwhile stolen, run and freed had its
        /// free-list link overwritten — a queued G ended up on a free list too, and ran twice.
        @Test func manyShortLivedTasksOnTwoPs() {
            let r = runInChild(timeoutSeconds: 90) {
                let s = Scheduler(configuration: .init(procs: 2))
                let n = 20_000
                let end = now() + 3_000_000_000
                var rounds = 0
                while rounds < 3 || now() < end {
                    let done = Channel(capacity: n)
                    var total = 0
                    let outcome = s.run {
                        for i in 0..<n { Scheduler.spawn { try! done.send(Message(w0: UInt64(i))) } }
                        for _ in 0..<n { total += Int(try! done.receive().w0) }
                    }
                    if !isCompleted(outcome) || total != n * (n - 1) / 2 {
                        report("round \(rounds): \(outcome) total \(total)\n")
                        _exit(1)
                    }
                    rounds += 1
                }
                report("rounds \(rounds)\n")
                s.shutdown()
                _exit(0)
            }
            #expect(r.exitStatus == 0, "signal \(r.signal ?? 0): \(r.stderr.prefix(2_000))")
        }
    }
}

/// Writes to the child's stderr (captured by runInChild); retries on EINTR.
private func report(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return
        }
        bytes = bytes.dropFirst(n)
    }
}
