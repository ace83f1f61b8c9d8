// SchedulerTestSupport.swift — what the two test targets that run schedulers for real share
// (VMRuntimeTests and PreemptionTests): the trait that keeps their timing suites apart, counters
// and flags safe to share between Ms, run outcomes, and child processes for fatal paths.
import CJITStubs
import Synchronization
import Testing
import VMRuntime
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Held by the root suite of every test target that times things or starts schedulers with short
/// quanta (VMRuntimeTests' RuntimeTests, PreemptionTests' AsyncPreemptionSuite): `.serialized` only
/// orders the tests inside one suite, and Swift Testing runs the two targets' suites side by side,
/// where one's 100 µs-quantum stress starves the other's timing assertions on a 2-core machine.
/// The lock is a flock on the test binary itself: every open file description of it conflicts,
/// within this process and with another run of the same binary, and nothing is left behind.
/// Waiting polls with Task.sleep, so no cooperative thread is blocked.
public struct ExclusiveTiming: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(
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
    public static var exclusiveTiming: Self { ExclusiveTiming() }
}

// MARK: - Shared state between Ms

/// A counter several Ms may bump.
public final class Counter: @unchecked Sendable {
    public let value = Atomic<Int>(0)
    public init() {}
    public func add(_ n: Int = 1) { value.wrappingAdd(n, ordering: .relaxed) }
    public var load: Int { value.load(ordering: .relaxed) }
}

/// A flag several Ms may read.
public final class Flag: @unchecked Sendable {
    public let value = Atomic<Bool>(false)
    public init() {}
    public func set() { value.store(true, ordering: .releasing) }
    public var isSet: Bool { value.load(ordering: .acquiring) }
}

public func now() -> Int64 { vm_nanotime() }

/// The id of the M the calling task runs on (re-read after every switch).
public func currentM() -> Int64 { vm_current_m()!.pointee.id }

public func isCompleted(_ o: RunOutcome) -> Bool {
    if case .completed = o { return true }
    return false
}

// MARK: - Child processes (fatal paths, handler chaining, races that end in a crash)

public struct ChildResult {
    public var exitStatus: Int32?  // nil if killed by a signal
    public var signal: Int32?
    public var stderr: String
}

/// Forks; the child runs `body` (which must end the process) with stderr captured, and is killed
/// if it has not closed stderr after `timeoutSeconds`. The child has only the forking thread;
/// VMRuntime's fork handlers let it start new schedulers.
public func runInChild(timeoutSeconds: Int = 60, _ body: () -> Void) -> ChildResult {
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
        var ts = timespec(tv_sec: 0, tv_nsec: 5_000_000)
        nanosleep(&ts, nil)
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) != pid && errno == EINTR {}
    let exited = (status & 0x7f) == 0
    return ChildResult(
        exitStatus: exited ? (status >> 8) & 0xff : nil,
        signal: exited ? nil : status & 0x7f,
        stderr: String(decoding: output, as: UTF8.self))
}
