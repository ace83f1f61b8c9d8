// The `vecvm` command and the world outside the program: arguments after the program's path,
// `vecvm run -`, standard input for `read_line()`, files, warnings on standard error (without colour in a
// pipe), and runtime errors with the source line, a caret and a traceback.

import Foundation
import Testing

/// Runs vecvm with `arguments` and `input` on its standard input (a pipe), in `directory` if given.
func vecvm(_ arguments: [String], input: String, directory: URL? = nil, environment: [String: String] = [:]) throws
    -> Outcome
{
    let p = Process()
    p.executableURL = vecvmBinary
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    var env = ProcessInfo.processInfo.environment
    env["VECVM_HISTORY"] = ""
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let inPipe = Pipe()
    let out = Pipe()
    let err = Pipe()
    p.standardInput = inPipe
    p.standardOutput = out
    p.standardError = err
    try p.run()
    inPipe.fileHandleForWriting.write(Data(input.utf8))
    try inPipe.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Outcome(
        status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
        stderr: String(decoding: e, as: UTF8.self))
}

@Suite("vecvm input and output", .serialized)
struct InputOutputCLITests {
    @Test func argumentsAfterTheProgramArePassedToIt() throws {
        let source = "for i in 0..argc() { print(i, arg(i)) }"
        let r = try vecvm(["run"], source: source)
        #expect(r.stdout == "")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-args-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("args.vec").path
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        // vecvm's own options may come anywhere; after `--` everything is the program's.
        let a = try vecvm(["run", file, "one", "two words", "--no-jit", "3"], input: "")
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout == "0 one\n1 two words\n2 3\n")
        let b = try vecvm(["run", "--procs", "1", file, "--", "--stats", "-x", "--"], input: "")
        #expect(b.stdout == "0 --stats\n1 -x\n2 --\n")
        #expect(!b.stderr.contains("tasks="))
        // `vecvm FILE` (run is the default command) passes them too.
        #expect(try vecvm([file, "a"], input: "").stdout == "0 a\n")
    }

    @Test func programFromStandardInput() throws {
        let r = try vecvm(["run", "-", "x"], input: "print(\"from stdin\", argc(), arg(0))\n")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "from stdin 1 x\n")
        let bad = try vecvm(["run", "-"], input: "let a = iota(2)\nprint(a[2])\n")
        #expect(bad.status == 2)
        #expect(
            bad.stderr.hasPrefix(
                "<stdin>:2:8: runtime error: index 2 out of bounds for array of length 2\nprint(a[2])\n       ^"))
        let compile = try vecvm(["-"], input: "print(nope)")
        #expect(compile.status == 1)
        #expect(compile.stderr.hasPrefix("<stdin>:1:7: error: unknown name 'nope'"))
    }

    @Test func linesOfStandardInput() throws {
        let source = """
            print("numbers?")
            var total = 0.0
            var lines = 0
            while !eof() {
                let line = read_line()
                lines += 1
                total += float(line)
            }
            print(lines, total)
            """
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-stdin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("sum.vec").path
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try vecvm(["run", file], input: "1.5\n2.5\r\n  -1  \n40")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "numbers?\n4 43.0\n")
        let bad = try vecvm(["run", file], input: "1\nfour\n")
        #expect(bad.status == 2)
        #expect(bad.stdout == "numbers?\n")
        #expect(bad.stderr.contains("sum.vec:7:14: runtime error: cannot parse \"four\" as a float"))
        // Many lines, with a task computing beside the reader on the one processor.
        let reader = dir.appendingPathComponent("reader.vec").path
        try """
        fn spin(n: int) -> int {
            var s = 0
            for i in 0..n { s += i % 3 }
            return s
        }
        let t = spawn spin(3000000)
        var total = 0
        while !eof() { total += int(read_line()) }
        print(total, wait(t))
        """.write(toFile: reader, atomically: true, encoding: .utf8)
        let many = (1...20000).map(String.init).joined(separator: "\n") + "\n"
        let counted = try vecvm(["run", "--procs", "1", reader], input: many)
        #expect(counted.status == 0, "\(counted.stderr)")
        #expect(counted.stdout == "200010000 3000000\n")
    }

    @Test func readLineSharesStandardInputWithTheProgramText() throws {
        // `vecvm run -` consumes all of standard input as the program: read_line then sees its end.
        let r = try vecvm(["run", "-"], input: "print(eof())\n")
        #expect(r.stdout == "true\n")
    }

    @Test func filesFromTheCommandLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try vecvm(
            ["run", "-", "data.npy", "out.txt"],
            input: """
                save(arg(0), float(iota(4)) * 1.5)
                let a = load_float(arg(0))
                write_file(arg(1), str(sum(a)) + "\\n")
                print(read_file(arg(1)))
                """, directory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "9.0\n\n")
        #expect(try String(contentsOf: dir.appendingPathComponent("out.txt"), encoding: .utf8) == "9.0\n")
        let missing = try vecvm(["run", "-"], input: "print(load_f32(\"absent.npy\"))", directory: dir)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("runtime error: cannot read \"absent.npy\": No such file or directory"))
    }

    @Test func aFileSizeLimitIsAnErrorAndTheOldFileStays() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-fsize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "the old contents\n".write(to: dir.appendingPathComponent("keep.txt"), atomically: true, encoding: .utf8)
        // 64 KiB at most per file (ulimit -f counts 1024-byte blocks); the program writes 4 MB.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -f 64 && exec \"$0\" run - keep.txt", vecvmBinary.path]
        p.currentDirectoryURL = dir
        let inPipe = Pipe()
        let err = Pipe()
        p.standardInput = inPipe
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        inPipe.fileHandleForWriting.write(Data("save(arg(0), fill(1000000, f32(1)))\n".utf8))
        try inPipe.fileHandleForWriting.close()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 2, "\(e)")
        #expect(e.contains("runtime error: cannot write \"keep.txt\": File too large"), "\(e)")
        #expect(try String(contentsOf: dir.appendingPathComponent("keep.txt"), encoding: .utf8) == "the old contents\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.txt"])
    }

    @Test func warningsGoToStandardErrorAndKeepTheStatus() throws {
        let r = try vecvm(["run"], source: "fn f(x: int) -> int {\n    let y = 2\n    return x\n}\nprint(f(1))")
        #expect(r.status == 0)
        #expect(r.stdout == "1\n")
        #expect(
            r.stderr.hasSuffix(
                "prog.vec:2:9: warning: unused variable 'y' (if that is intended, name it '_y')\n    let y = 2\n        ^\n"
            ))
        #expect(!r.stderr.contains("\u{1B}["))  // no colour in a pipe
        // disasm shows them too; a program with an error shows only the error.
        #expect(try vecvm(["disasm"], source: "let unused = 1").stderr.contains("warning: unused variable 'unused'"))
        let both = try vecvm(["run"], source: "let unused = 1\nprint(nope)")
        #expect(!both.stderr.contains("warning"))
        #expect(both.status == 1)
    }
}
