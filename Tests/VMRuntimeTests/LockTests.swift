// LockTests.swift — VMMutex (Lock.swift): mutual exclusion under contention from several threads,
// the lock released when the body throws, and a value that is a class reference released with it.
import Foundation
import Testing

@testable import VMRuntime

extension RuntimeTests {
    @Suite struct Locks {
        @Test func incrementsFromFourThreadsAreNeverLost() {
            // A read-modify-write of a dictionary, which a torn update would corrupt or lose.
            let m = VMMutex([Int: Int]())
            let threads = 4
            let rounds = 20_000
            let done = DispatchGroup()
            for t in 0..<threads {
                done.enter()
                Thread {
                    for i in 0..<rounds { m.withLock { $0[i % 64, default: 0] += t + 1 } }
                    done.leave()
                }.start()
            }
            done.wait()
            let total = m.withLock { $0.values.reduce(0, +) }
            #expect(total == rounds * (1 + 2 + 3 + 4))
        }

        struct Refused: Error {}

        @Test func aThrowingBodyReleasesTheLock() throws {
            let m = VMMutex(0)
            #expect(throws: Refused.self) {
                try m.withLock { (v: inout Int) throws(Refused) in
                    v = 1
                    throw Refused()
                }
            }
            // Taken again at once: a lock left held would deadlock here.
            #expect(m.withLock { $0 } == 1)
        }

        final class Tracked {
            nonisolated(unsafe) static var live = 0
            init() { Tracked.live += 1 }
            deinit { Tracked.live -= 1 }
        }

        @Test func theValueIsReleasedWithTheLock() {
            do {
                let m = VMMutex(Tracked())
                #expect(Tracked.live == 1)
                m.withLock { _ in }
            }
            #expect(Tracked.live == 0)
        }
    }
}
