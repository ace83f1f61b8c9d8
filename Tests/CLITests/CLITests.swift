// End-to-end tests of the `vecvm` command: what a user sees on stdout and stderr, and the exit
// status, for runs, errors, disasm, jit-dump and flags.

import Foundation
import Testing

/// The `vecvm` binary next to this test bundle (swift test builds it: this target depends on it).
let vecvmBinary: URL = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent("vecvm")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return dir.appendingPathComponent("vecvm")
}()

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs vecvm with `arguments`; `source`, if given, is written to a temporary FILE.vec appended last.
func vecvm(_ arguments: [String], source: String? = nil, name: String = "prog.vec", environment: [String: String] = [:])
    throws -> Outcome
{
    var args = arguments
    if let source {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent(name)
        try source.write(to: file, atomically: true, encoding: .utf8)
        args.append(file.path)
    }
    let p = Process()
    p.executableURL = vecvmBinary
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Outcome(
        status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
        stderr: String(decoding: e, as: UTF8.self))
}

@Suite("vecvm CLI", .serialized)
struct CLITests {
    @Test func runsAProgram() throws {
        let r = try vecvm(["run"], source: "print(1 + 2, \"ok\")")
        #expect(r.status == 0)
        #expect(r.stdout == "3 ok\n")
        #expect(r.stderr == "")
        let bare = try vecvm([], source: "print(7)")
        #expect(bare.stdout == "7\n")
    }

    @Test func compileErrorExitsOne() throws {
        let r = try vecvm(["run"], source: "let a = 1\nlet b = 2.5\nprint(a + b)", name: "err_type.vec")
        #expect(r.status == 1)
        #expect(r.stdout == "")
        #expect(r.stderr.contains("err_type.vec:3:9: error: cannot apply '+' to int and float"))
        #expect(r.stderr.contains("print(a + b)\n        ^"))
        #expect(!r.stderr.contains("Swift"))
    }

    @Test func runtimeErrorExitsTwoAfterFlushingOutput() throws {
        let r = try vecvm(["run"], source: "let a = iota(4)\nprint(a[3])\nprint(a[4])", name: "err_index.vec")
        #expect(r.status == 2)
        #expect(r.stdout == "3\n")
        #expect(r.stderr.hasPrefix("/"))
        #expect(r.stderr.contains("err_index.vec:3:8: runtime error: index 4 out of bounds for array of length 4"))
        #expect(r.stderr.contains("in task 1 (main)"))
    }

    @Test func deadlockExitsTwo() throws {
        let r = try vecvm(["run"], source: "let c = chan<int>(0)\nsend(c, 1)")
        #expect(r.status == 2)
        #expect(r.stderr.contains("deadlock: all tasks are blocked"))
    }

    @Test func missingFileIsAnError() throws {
        let r = try vecvm(["run", "/nonexistent/x.vec"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("cannot read /nonexistent/x.vec"))
    }

    @Test func versionAndHelp() throws {
        let v = try vecvm(["--version"])
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("vecvm "))
        for sub in ["run", "disasm", "jit-dump"] {
            let h = try vecvm([sub, "--help"])
            #expect(h.status == 0)
            #expect(h.stdout.contains("USAGE"), "\(sub) --help")
        }
    }

    @Test func disasmPrintsTheBytecode() throws {
        let r = try vecvm(["disasm"], source: "fn sq(x: int) -> int { return x * x }\nprint(sq(3))")
        #expect(r.status == 0)
        #expect(r.stdout.contains("function main"))
        #expect(r.stdout.contains("function sq(int) -> int"))
        #expect(r.stdout.contains("mulInt"))
        #expect(r.stdout.contains("call"))
    }

    @Test func statsLine() throws {
        let r = try vecvm(
            ["run", "--stats", "--procs", "2"], source: "let t = spawn f()\nfn f() -> int { return 1 }\nprint(wait(t))")
        #expect(r.status == 0)
        for key in ["tasks=", "switches=", "steals=", "preempt.coop=", "procs=2"] {
            #expect(r.stderr.contains(key), "stats lack \(key): \(r.stderr)")
        }
    }

    @Test func badFlagValuesAreRejected() throws {
        #expect(try vecvm(["run", "--procs", "0"], source: "print(1)").status != 0)
        #expect(try vecvm(["run", "--quantum", "fast"], source: "print(1)").status != 0)
        let ok = try vecvm(["run", "--quantum", "500us", "--procs", "1"], source: "print(1)")
        #expect(ok.status == 0 && ok.stdout == "1\n")
    }

    @Test func jitDumpWritesDecodableKernels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jitdump-\(UUID().uuidString)")
        let r = try vecvm(
            ["jit-dump", "--out", dir.path],
            source: "fn norm2(x: [f32]) -> f32 { return sum(x * x) }\nlet x = fill(100, f32(1))\n"
                + "print(sum(x * x + 1.0), max(sqrt(x)), norm2(x))")
        if r.status == 1 && r.stderr.contains("the JIT is off") { return }  // no AVX2 here
        #expect(r.status == 0, "\(r.stderr)")
        let listing = try String(contentsOf: dir.appendingPathComponent("kernels.txt"), encoding: .utf8)
        #expect(listing.contains("f32"))
        // The function is native, and runs its kernel through the runtime.
        #expect(listing.contains("# function native: norm2 (function-"), "\(listing)")
        #expect(listing.contains("# function steps: norm2: runs kernel through the runtime"), "\(listing)")
        let bin = dir.appendingPathComponent("kernel-0.bin")
        #expect(FileManager.default.fileExists(atPath: bin.path))
        // objdump must decode it with no (bad) instruction.
        let objdump = Process()
        objdump.executableURL = URL(fileURLWithPath: "/usr/bin/objdump")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/objdump") else { return }
        objdump.arguments = ["-D", "-b", "binary", "-m", "i386:x86-64", bin.path]
        let pipe = Pipe()
        objdump.standardOutput = pipe
        try objdump.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        objdump.waitUntilExit()
        // The code ends at `ret`; the data constants after it are not instructions.
        let code = text.components(separatedBy: "\tret").first ?? text
        #expect(code.contains("vmulps") || code.contains("vfmadd"))
        #expect(!code.contains("(bad)"))
    }

    @Test func noJitAndIsaNoneGiveTheSameOutput() throws {
        let src =
            "let x = float(iota(1000)) * 0.001\nprint(sum(sqrt(x * x + 1.0)), dot(x, x), min(x - 0.5), max(abs(x - 0.5)))"
        let jit = try vecvm(["run"], source: src)
        let interp = try vecvm(["run", "--no-jit"], source: src)
        let isaNone = try vecvm(["run"], source: src, environment: ["VECVM_ISA": "none"])
        #expect(jit.status == 0)
        #expect(jit.stdout == interp.stdout)
        #expect(jit.stdout == isaNone.stdout)
    }

    @Test func twentyThousandParkedTasksAreReleased() throws {
        // Every task parks on `gate` first, so all are alive at once; then main releases them.
        let r = try vecvm(
            ["run", "--stats"],
            source: """
                fn waiter(gate: chan<int>, done: chan<int>) {
                    let v = recv(gate)
                    send(done, v * 2)
                }
                let n = 20000
                let gate = chan<int>(0)
                let done = chan<int>(n)
                for i in 0..n { spawn waiter(gate, done) }
                for i in 0..n { send(gate, i) }
                var total = 0
                for i in 0..n { total += recv(done) }
                print(total)
                """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "399980000\n")
        #expect(r.stderr.contains("tasks=20001"), "\(r.stderr)")
    }

    @Test func anEndlessTaskDoesNotStarveMainWithOneProc() throws {
        let r = try vecvm(
            ["run", "--procs", "1", "--quantum", "2ms"],
            source: """
                fn spin() { var i = 0
                    while true { i += 1 } }
                spawn spin()
                sleep(20)
                print("main finished")
                """)
        #expect(r.status == 0)
        #expect(r.stdout == "main finished\n")
    }

    @Test func conformanceRunnerPasses() throws {
        let runner = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance/run.py")
        guard FileManager.default.fileExists(atPath: runner.path) else { return }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", runner.path, vecvmBinary.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains(" 0 failed"))
    }
}
