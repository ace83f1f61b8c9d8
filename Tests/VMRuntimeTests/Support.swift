// Support.swift — the serialized root suite of VMRuntime's tests and the helpers they share:
// host threads, child processes (for fatal paths), counters safe to share between Ms.
//
// Every suite is nested in `RuntimeTests`, which is `.serialized`: these tests start worker
// threads, install a signal handler, fork, and time things; running them in parallel on a
// 2-core machine would make the timing assertions meaningless. `.exclusiveTiming` keeps it apart
// from PreemptionTests' suite as well.
import CJITStubs
import Glibc
import Synchronization
import Testing

@testable import VMRuntime

@Suite(.serialized, .exclusiveTiming) struct RuntimeTests {}

/// Held by the root suite of every test target that times things or starts schedulers with short
/// quanta (VMRuntimeTests' RuntimeTests, PreemptionTests' AsyncPreemptionSuite): `.serialized` only
/// orders the tests inside one suite, and Swift Testing runs the two targets' suites side by side,
/// where one's 100 µs-quantum stress starves the other's timing assertions on a 2-core machine.
/// The lock is a flock on the test binary itself: every open file description of it conflicts,
/// within this process and with another run of the same binary, and nothing is left behind.
/// Waiting polls with Task.sleep, so no cooperative thread is blocked.
struct ExclusiveTiming: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        if fd >= 0 {
            while flock(fd, LOCK_EX | LOCK_NB) != 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        try await function()
    }
}

extension Trait where Self == ExclusiveTiming {
    static var exclusiveTiming: Self { ExclusiveTiming() }
}

/// A counter several Ms may bump.
final class Counter: @unchecked Sendable {
    let value = Atomic<Int>(0)
    func add(_ n: Int = 1) { value.wrappingAdd(n, ordering: .relaxed) }
    var load: Int { value.load(ordering: .relaxed) }
}

/// A flag several Ms may read.
final class Flag: @unchecked Sendable {
    let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

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

func isCompleted(_ o: RunOutcome) -> Bool {
    if case .completed = o { return true }
    return false
}

func isDeadlock(_ o: RunOutcome) -> Bool {
    if case .deadlock = o { return true }
    return false
}

func terminationReason(_ o: RunOutcome) -> AnyObject? {
    if case .terminated(let r) = o { return r }
    return nil
}

func now() -> Int64 { vm_nanotime() }

/// Spins the calling task for `nanoseconds`, polling its preempt flag like the interpreter.
func spin(nanoseconds: Int64) {
    let flag = Scheduler.preemptFlag()
    let end = now() + nanoseconds
    while now() < end {
        if Scheduler.isPreemptRequested(flag) { Scheduler.preemptPoint() }
    }
}

/// The id of the M the calling task runs on.
func currentM() -> Int64 { vm_current_m()!.pointee.id }

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

// MARK: - Child processes

struct ChildResult {
    var exitStatus: Int32?  // nil if killed by a signal
    var signal: Int32?
    var stderr: String
}

/// Forks; the child runs `body` (which must end the process) with stderr captured. The child
/// has only the forking thread; VMRuntime's fork handlers let it start new schedulers.
func runInChild(timeoutSeconds: Int = 30, _ body: () -> Void) -> ChildResult {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    let pid = fork()
    if pid == 0 {
        close(fds[0])
        dup2(fds[1], 2)
        body()
        _exit(99)
    }
    close(fds[1])
    var output: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    let deadline = now() + Int64(timeoutSeconds) * 1_000_000_000
    var status: Int32 = 0
    var reaped = false
    // Read until EOF (non-blocking poll so that a hung child is killed at the deadline).
    _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n > 0 {
            output.append(contentsOf: buf[0..<n])
            continue
        }
        if n == 0 { break }
        if errno != EAGAIN && errno != EINTR { break }
        if now() > deadline {
            kill(pid, SIGKILL)
            break
        }
        sleepHost(milliseconds: 5)
    }
    close(fds[0])
    while !reaped {
        let r = waitpid(pid, &status, 0)
        if r == pid { reaped = true } else if errno != EINTR { break }
    }
    let exited = (status & 0x7f) == 0
    return ChildResult(
        exitStatus: exited ? (status >> 8) & 0xff : nil,
        signal: exited ? nil : status & 0x7f,
        stderr: String(decoding: output, as: UTF8.self))
}
