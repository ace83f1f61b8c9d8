// Support.swift — the serialized root suite of VMRuntime's tests and the helpers they share:
// host threads, logs, run outcomes (the helpers PreemptionTests needs too are in
// SchedulerTestSupport, re-exported here to every file of the target).
//
// Every suite is nested in `RuntimeTests`, which is `.serialized`: these tests start worker
// threads, install a signal handler, fork, and time things; running them in parallel on a
// 2-core machine would make the timing assertions meaningless. `.exclusiveTiming` keeps it apart
// from PreemptionTests' suite as well.
import CJITStubs
@_exported import SchedulerTestSupport
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

@Suite(.serialized, .exclusiveTiming) struct RuntimeTests {}

/// An append-only log several Ms may write (the lock is never held across a switch).
final class Log: @unchecked Sendable {
    private let entries = Mutex<[String]>([])
    func append(_ s: String) { entries.withLock { $0.append(s) } }
    var all: [String] { entries.withLock { $0 } }
}

/// Counts deinits, to check that Message objects are neither leaked nor over-released.
final class Tracked {
    static let live = Atomic<Int>(0)
    let n: Int
    init(_ n: Int) {
        self.n = n
        Tracked.live.wrappingAdd(1, ordering: .relaxed)
    }
    deinit { Tracked.live.wrappingSubtract(1, ordering: .relaxed) }
}

final class Reason: CustomStringConvertible {
    let text: String
    init(_ text: String) { self.text = text }
    var description: String { text }
}

func isDeadlock(_ o: RunOutcome) -> Bool {
    if case .deadlock = o { return true }
    return false
}

func terminationReason(_ o: RunOutcome) -> AnyObject? {
    if case .terminated(let r) = o { return r }
    return nil
}

/// Spins the calling task for `nanoseconds`, polling its preempt flag like the interpreter.
func spin(nanoseconds: Int64) {
    let flag = Scheduler.preemptFlag()
    let end = now() + nanoseconds
    while now() < end {
        if Scheduler.isPreemptRequested(flag) { Scheduler.preemptPoint() }
    }
}

// MARK: - Host threads

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a plain pthread (not an M) running `body`.
func startHostThread(_ body: @escaping () -> Void) -> pthread_t {
    var t = pthread_t()
    let arg = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    let rc = vm_thread_start(
        &t,
        { raw in
            let b = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            b.body()
            return nil
        }, arg)
    precondition(rc == 0)
    return t
}

func joinHostThread(_ t: pthread_t) { _ = vm_thread_join(t) }

func sleepHost(milliseconds: Int) {
    var ts = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
    var rest = timespec()
    while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
}

/// CPU time consumed by a thread, in nanoseconds.
func threadCPUTime(_ t: pthread_t) -> Int64 {
    var clock = clockid_t()
    guard pthread_getcpuclockid(t, &clock) == 0 else { return 0 }
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
