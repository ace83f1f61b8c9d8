// Regression tests of issue 16 through the `vecvm` binary: exit statuses, short crash reports and
// death by the right signal, output flushed on SIGINT/SIGTERM, write errors, garbage and endless
// input, and C calls beside the preemption signal. Every child is read with a deadline: a process
// left holding the pipes (the Swift backtracer's helper, before) would otherwise hang the test.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a child run produced; `signal` is set when a signal ended it.
struct RawOutcome {
    var status: Int32?
    var signal: Int32?
    var stdout: String
    var stderr: String
    var timedOut: Bool
}

/// A started `vecvm` whose output is read with deadlines.
final class Child {
    let pid: pid_t
    private let out: Int32
    private let err: Int32
    private(set) var stdout: [UInt8] = []
    private(set) var stderr: [UInt8] = []
    private var outOpen = true
    private var errOpen = true

    /// Starts vecvm with `arguments`; stdout goes to `stdoutPath` if given (e.g. /dev/full).
    init(_ arguments: [String], stdin stdinText: String? = nil, stdoutPath: String? = nil) throws {
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        var inPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0, pipe(&inPipe) == 0 else { throw POSIXError(.EMFILE) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        if let stdoutPath {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        }
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe + inPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv = ([vecvmBinary.path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, vecvmBinary.path, &actions, nil, argv, environ)
        close(outPipe[1])
        close(errPipe[1])
        close(inPipe[0])
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        pid = child
        out = outPipe[0]
        err = errPipe[0]
        if let stdinText { _ = stdinText.withCString { write(inPipe[1], $0, strlen($0)) } }
        close(inPipe[1])
        _ = fcntl(out, F_SETFL, O_NONBLOCK)
        _ = fcntl(err, F_SETFL, O_NONBLOCK)
        if stdoutPath != nil {
            close(out)
            outOpen = false
        }
    }

    /// Reads what is available; false once both pipes are at end of file.
    @discardableResult
    func pump() -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        func drain(_ fd: Int32, _ open: inout Bool, _ into: inout [UInt8]) {
            guard open else { return }
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    into.append(contentsOf: buf[0..<n])
                } else if n == 0 {
                    open = false
                    close(fd)
                    return
                } else {
                    return  // EAGAIN
                }
            }
        }
        drain(out, &outOpen, &stdout)
        drain(err, &errOpen, &stderr)
        return outOpen || errOpen
    }

    /// Waits (reading) until `condition` holds or `seconds` pass; returns whether it held.
    func wait(upTo seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            pump()
            if condition() { return true }
            usleep(5_000)
        }
        pump()
        return condition()
    }

    /// Reads both pipes to end of file and reaps the child, killing it after `seconds`.
    func finish(within seconds: Double) -> RawOutcome {
        let closed = wait(upTo: seconds) { !outOpen && !errOpen }
        if !closed { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) != pid && errno == EINTR {}
        if outOpen { close(out) }
        if errOpen { close(err) }
        let exited = (status & 0x7f) == 0
        return RawOutcome(
            status: exited ? (status >> 8) & 0xff : nil, signal: exited ? nil : status & 0x7f,
            stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self),
            timedOut: !closed)
    }
}

/// Writes `source` to a fresh temporary file and returns its path.
func temporaryProgram(_ source: String, name: String = "prog.vec") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-rel-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let file = dir.appendingPathComponent(name)
    try source.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

func runRaw(
    _ arguments: [String], source: String? = nil, stdin: String? = nil, stdoutPath: String? = nil,
    within seconds: Double = 120
)
    throws -> RawOutcome
{
    var args = arguments
    if let source { args.append(try temporaryProgram(source)) }
    return try Child(args, stdin: stdin, stdoutPath: stdoutPath).finish(within: seconds)
}

/// Writes "READY\n" to stderr from a .vec program (through libc's write), so that a test knows
/// the lines before it have been printed (into the output buffer).
private let readyDeclarations = """
    extern fn write(fd: int, bytes: [int], n: int) -> int from "libc.so.6"
    fn ready() { write(2, [383397217618], 5); write(2, [10], 1) }
    """

@Suite("vecvm reliability (issue 16)", .serialized)
struct ReliabilityCLITests {
    @Test func aTaskWaitingForItselfExitsTwoNamingIt() throws {
        let r = try runRaw(
            ["run"],
            source: """
                fn f(c: chan<task<int>>) -> int { return wait(recv(c)) }
                let c = chan<task<int>>(1)
                let t = spawn f(c)
                send(c, t)
                print(wait(t))
                """)
        #expect(r.status == 2)
        #expect(r.stderr.contains("runtime error: task 2 (f) waits for itself"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Backtrac"))
    }

    @Test func waitingForATaskStoppedByAnEarlierLineIsAnErrorAtOnce() throws {
        let r = try runRaw(
            [],
            stdin: """
                fn spinner() -> int { var i = 0; while true { i += 1 }; return i }
                let t = spawn spinner()
                print(1/0)
                print(wait(t))
                print("still here")

                """, within: 60)
        #expect(!r.timedOut)
        #expect(r.stderr.contains("integer division by zero"))
        #expect(r.stderr.contains("task 5 (spinner) was stopped when the run that spawned it ended"), "\(r.stderr)")
        #expect(r.stdout == "still here\n")
    }

    @Test func tenMegabytesOfGarbageGiveTwentyErrors() throws {
        var bytes = [UInt8](repeating: 0, count: 10 << 20)
        var x: UInt64 = 0x2545_F491_4F6C_DD1D
        bytes.withUnsafeMutableBufferPointer { b in
            for i in 0..<b.count {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
                b[i] = UInt8(truncatingIfNeeded: x >> 24)
            }
        }
        let path = try temporaryProgram("", name: "garbage.vec")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try runRaw(["run", path])
        #expect(r.status == 1)
        let errors = r.stderr.components(separatedBy: ": error: ").count - 1
        #expect(errors == 21, "\(errors) errors")
        #expect(r.stderr.contains("too many errors (20 shown); stopping here"))
        #expect(r.stderr.utf8.count < 20_000)
    }

    @Test func anEndlessSourceIsRefused() throws {
        let r = try runRaw(["run", "/dev/zero"], within: 60)
        #expect(!r.timedOut)
        #expect(r.status != 0)
        #expect(r.stderr.contains("/dev/zero is too large: a program may have at most 33554432 bytes"), "\(r.stderr)")
    }

    @Test func aByteOrderMarkIsAccepted() throws {
        let r = try runRaw(["run"], source: "\u{FEFF}print(42)\n")
        #expect(r.status == 0)
        #expect(r.stdout == "42\n")
    }

    @Test func anArrayLiteralOf65535Elements() throws {
        let elements = (0..<65_535).map(String.init).joined(separator: ", ")
        let r = try runRaw(["run"], source: "let a = [\(elements)]\nprint(len(a), a[65534])\n")
        #expect(r.status == 0, "\(r.stderr.prefix(300))")
        #expect(r.stdout == "65535 65534\n")
    }

    @Test func aFailedWriteIsReportedAndExitsTwo() throws {
        let r = try runRaw(["run"], source: "for i in 0..10 { print(i) }", stdoutPath: "/dev/full")
        #expect(r.status == 2)
        #expect(r.stderr.contains("cannot write the program's output to standard output: No space left on device"))
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func bufferedOutputIsFlushedBeforeDyingBy(signal: Int32) throws {
        let path = try temporaryProgram(
            readyDeclarations + """

                for i in 0..1000 { print(i) }
                ready()
                var j = 0
                while true { j += 1 }
                """)
        let child = try Child(["run", path])
        let ready = child.wait(upTo: 60) { String(decoding: child.stderr, as: UTF8.self).contains("READY") }
        #expect(ready, "\(String(decoding: child.stderr, as: UTF8.self))")
        kill(child.pid, signal)
        let r = child.finish(within: 30)
        #expect(r.signal == signal, "status \(String(describing: r.status)) signal \(String(describing: r.signal))")
        #expect(r.stdout.split(separator: "\n").count == 1000)
        #expect(r.stdout.hasSuffix("999\n"))
    }

    @Test func aCrashInAnExternFunctionIsShortNamesItAndDiesBySIGSEGV() throws {
        let r = try runRaw(
            ["run"],
            source: """
                extern fn strlen(p: int) -> int from "libc.so.6"
                print(strlen(0))
                """, within: 60)
        #expect(!r.timedOut, "a process kept the pipes open")
        #expect(r.signal == SIGSEGV)
        #expect(r.stderr.contains("vecvm: SIGSEGV (invalid memory access) at address 0x0"), "\(r.stderr)")
        #expect(r.stderr.contains("while running the C function 'strlen' (libc.so.6)"))
        #expect(r.stderr.split(separator: "\n").count <= 4, "\(r.stderr)")
        #expect(!r.stderr.contains("Backtrac") && !r.stderr.contains("Thread 0"))
    }

    @Test(arguments: [SIGSEGV, SIGBUS, SIGQUIT, SIGILL])
    func aFatalSignalEndsTheProcessWithAShortReport(signal: Int32) throws {
        let path = try temporaryProgram(readyDeclarations + "\nready()\nvar j = 0\nwhile true { j += 1 }\n")
        let child = try Child(["run", path])
        _ = child.wait(upTo: 60) { String(decoding: child.stderr, as: UTF8.self).contains("READY") }
        kill(child.pid, signal)
        let r = child.finish(within: 30)
        #expect(!r.timedOut, "a process kept the pipes open, or vecvm went on")
        #expect(r.signal == signal, "status \(String(describing: r.status)) signal \(String(describing: r.signal))")
        #expect(r.stderr.contains("sent by process"), "\(r.stderr)")
        // The report: what comes after READY (before it, the compiler's warnings).
        let report = r.stderr.components(separatedBy: "READY\n").last ?? r.stderr
        #expect(report.split(separator: "\n").count <= 3, "\(r.stderr)")
    }

    @Test func blockingCCallsBesideABusyKernelReturnTheirResults() throws {
        let r = try runRaw(
            ["run", "--procs", "1"],
            source: """
                extern fn sleep(s: int) -> int from "libc.so.6"
                extern fn usleep(us: int) -> int from "libc.so.6"
                fn busy(n: int) -> float {
                    let x = fill(4_000_000, 1.5)
                    var s = 0.0
                    for i in 0..n { s = s + sum(sqrt(x * x + x)) }
                    return s
                }
                let b = spawn busy(200)
                let t0 = now()
                let r1 = sleep(1)
                let t1 = now()
                let r2 = usleep(300000)
                let t2 = now()
                print(r1, r2, (t1 - t0) / 1000000 >= 999, (t2 - t1) / 1000000 >= 299)
                """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "0 0 true true\n")
    }

    @Test func memoryLimitsAreCleanErrors() throws {
        let cases: [(String, String)] = [
            (
                "fn park(c: chan<int>) -> int { return recv(c) }\nlet c = chan<int>(0)\nfor i in 0..500_000 { spawn park(c) }",
                "out of memory (a new task needs"
            ),
            ("let c = chan<int>(16_777_216)\nprint(1)", "out of memory (a channel of capacity 16777216"),
            ("var s = \"x\"\nwhile true { s = s + s }", "out of memory (a string of"),
            (
                "fn deep(n: int) -> int { if n == 0 { return 0 }; return deep(n - 1) + 1 }\nfn go(c: chan<int>) { send(c, deep(190_000)) }\nlet c = chan<int>(60)\nfor i in 0..60 { spawn go(c) }\nfor i in 0..60 { print(recv(c)) }",
                "out of memory (the task's"
            ),
        ]
        for (source, message) in cases {
            let r = try runRaw(["run", "--memory-limit", "100M"], source: source)
            #expect(r.status == 2, "\(message): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(r.stderr)")
        }
        let tasks = try runRaw(
            ["run", "--max-tasks", "100"],
            source:
                "fn park(c: chan<int>) -> int { return recv(c) }\nlet c = chan<int>(0)\nfor i in 0..1000 { spawn park(c) }"
        )
        #expect(tasks.status == 2)
        #expect(tasks.stderr.contains("too many tasks: the VM's limit is 100 tasks at once"))
    }

    #if os(Linux)
        /// Issue 12.4, memory returned to the system: the CLI grows the C heap in large steps
        /// (HeapGrowth.inLargeSteps), so freed task state stays in malloc's arenas until sysmon trims
        /// them when the program goes idle. Three waves of 100,000 parked tasks, then a sleep: the
        /// resident set while the program sleeps must fall below half its peak (without the trim it
        /// stayed at 172 of 178 MB; with it, 46).
        @Test func theHeapIsGivenBackWhenTheProgramGoesIdle() throws {
            let path = try temporaryProgram(
                """
                fn park(gate: chan<int>, done: chan<int>) { send(done, recv(gate)) }
                let N = 100_000
                let done = chan<int>(N)
                let gate = chan<int>(N)
                for w in 0..3 {
                    for i in 0..N { spawn park(gate, done) }
                    for i in 0..N { send(gate, 1) }
                    for i in 0..N { let _r = recv(done) }
                }
                sleep(60_000)
                """)
            let child = try Child(["run", path])
            func statusKB(_ field: String) -> Int? {
                guard let text = try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8) else {
                    return nil
                }
                for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
                    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
                }
                return nil
            }
            var peak = 0
            var resident = 0
            let given = child.wait(upTo: 90) {
                guard let hwm = statusKB("VmHWM"), let rss = statusKB("VmRSS") else { return false }
                (peak, resident) = (hwm, rss)
                // The waves take the heap past 100 MB; then the sleep lets it go.
                return hwm > 100 << 10 && rss < hwm / 2
            }
            kill(child.pid, SIGKILL)
            _ = child.finish(within: 10)
            #expect(given, "peak \(peak) KB, resident \(resident) KB")
        }
    #endif

    @Test func taskStacksRefusedByTheSystemAreOutOfMemory() throws {
        // An address-space limit: mapping task stacks fails. Before: SIGILL and a Swift backtrace.
        // The tasks sleep: a sleeping task keeps its stack (one waiting on a channel gives it back
        // once many tasks exist, StacklessParkTests), so 500,000 of them need more stacks than fit.
        let path = try temporaryProgram(
            "fn park(c: chan<int>) -> int { sleep(1_000_000); return 0 }\nlet c = chan<int>(0)\nfor i in 0..500_000 { spawn park(c) }\nprint(\"spawned\")"
        )
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -v 3000000 && exec \"$0\" run \"$1\"", vecvmBinary.path, path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 2, "\(text)")
        #expect(text.contains("out of memory"), "\(text)")
    }
}
