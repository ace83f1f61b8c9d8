// The input and output built-ins through the embedding API: arguments, lines of input, numbers parsed
// from text, text files and 1-D .npy arrays; every failure a runtime error naming the path and the
// system's reason, nothing half-written, file access refused where the VM forbids it. The .npy round
// trips against NumPy itself run when `python3` with numpy is on the machine.

import Foundation
import Testing

@testable import VecVM

/// A scratch directory, removed when the value goes away.
final class ScratchDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-io-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    /// Names in the directory (a leftover temporary file would show here).
    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted() }
}

/// Runs `source` with the given arguments, input lines and file access.
func runIO(
    _ source: String, arguments: [String] = [], input: any InputSource = NoInput(), files: Bool = true,
    jit: Bool = true
) -> RunResult {
    let out = CapturedOutput()
    let vm = VM(
        configuration: VMConfiguration(
            procs: 2, jit: jit, output: out, arguments: arguments, input: input, allowFileAccess: files))
    defer { vm.shutdown() }
    do {
        try vm.run(source: source, fileName: "io.vec")
        return RunResult(output: out.text, error: nil)
    } catch {
        return RunResult(output: out.text, error: error)
    }
}

/// The message of the runtime error of `r` ("" if it has none).
func runtimeMessage(_ r: RunResult) -> String { r.error?.runtimeError?.message ?? "" }

/// `python3` when it can import numpy (checked once).
let numpyPython: String? = {
    for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] + pathCandidates("python3") {
        guard FileManager.default.isExecutableFile(atPath: candidate) else { continue }
        if (try? runPython(candidate, "import numpy"))?.status == 0 { return candidate }
    }
    return nil
}()

private func pathCandidates(_ name: String) -> [String] {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" }
}

/// Runs a Python script; returns its status and standard output (standard error appended).
@discardableResult
func runPython(_ python: String, _ script: String, _ arguments: [String] = []) throws -> (
    status: Int32, output: String
) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["-c", script] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("input and output")
struct IOTests {
    // MARK: Arguments and numbers

    @Test func argumentsAndNumbersFromText() {
        let r = runIO(
            """
            print(argc(), arg(0), arg(2))
            print(int(arg(1)) + 1, float(" 2.5e3 "), f32("0.1"), int("-0x1F"), int("+7"))
            print(int("-9223372036854775808"), float("-inf"), float("nan"), f32("16777217"))
            """, arguments: ["first", "41", "a b"])
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "3 first a b\n42 2500.0 0.1 -31 7\n-9223372036854775808 -inf nan 16777216.0\n")
    }

    @Test func textThatIsNotANumberIsARuntimeErrorQuotingIt() {
        let cases: [(String, String)] = [
            ("int(\"12a\")", "cannot parse \"12a\" as an int"),
            ("int(\"1.5\")", "cannot parse \"1.5\" as an int"),
            ("int(\"\")", "cannot parse \"\" as an int"),
            ("int(\"99999999999999999999\")", "\"99999999999999999999\" is out of the range of an int"),
            ("int(\"9223372036854775808\")", "\"9223372036854775808\" is out of the range of an int"),
            ("float(\"one\")", "cannot parse \"one\" as a float"),
            ("f32(\"1,5\")", "cannot parse \"1,5\" as an f32"),
            ("float(\"a\\tb\")", "cannot parse \"a\\tb\" as a float"),
        ]
        for (expression, message) in cases {
            let r = runIO("let s = 1\nprint(\(expression))")
            #expect(runtimeMessage(r) == message, "\(expression): \(r.errorText)")
            #expect(r.error?.runtimeError?.location == SourceLocation(line: 2, column: 7))
            #expect(r.status == 2)
        }
        let missing = runIO("print(arg(2))", arguments: ["only"])
        #expect(runtimeMessage(missing) == "arg(2) is out of range: the program was given 1 argument (argc() is 1)")
        #expect(runtimeMessage(runIO("print(arg(-1))")).hasPrefix("arg(-1) is out of range"))
    }

    // MARK: Standard input

    @Test func linesUntilTheEndOfInput() {
        let program = """
            var n = 0
            var total = 0
            while !eof() {
                let line = read_line()
                n += 1
                if line != "" { total += int(line) }
            }
            print(n, total, eof())
            """
        // Lines end with \n or \r\n; a last line without a newline is a line; an empty line is a line.
        let r = runIO(program, input: TextInput("1\n2\r\n\n39"))
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "4 42 true\n")
        #expect(runIO(program, input: TextInput("")).output == "0 0 true\n")
        let past = runIO("print(read_line())\nprint(read_line())", input: TextInput("only\n"))
        #expect(past.output == "only\n")
        #expect(runtimeMessage(past) == "read_line: the input has ended (test eof() before reading)")
        #expect(past.error?.runtimeError?.location.line == 2)
    }

    @Test func standardInputIsReadThroughOneBuffer() throws {
        // StandardInput on a pipe: lines, a final line without newline, then the end.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let input = StandardInput(fileDescriptor: fds[0])
        #expect(!input.isReady)
        let text = "first\r\nsecond\nlast"
        _ = text.withCString { write(fds[1], $0, strlen($0)) }
        close(fds[1])
        #expect(input.isReady)
        #expect(try input.readLine() == "first")
        #expect(try input.readLine() == "second")
        #expect(try !input.isAtEnd())
        #expect(try input.readLine() == "last")
        #expect(try input.isAtEnd())
        #expect(try input.readLine() == nil)
        close(fds[0])
    }

    // MARK: Files

    @Test func fileAccessIsACompileErrorWhereTheVMForbidsIt() {
        let r = runIO("let t = read_file(\"x.txt\")\nsave(\"a.npy\", iota(3))\nprint(argc())", files: false)
        guard case .compile(let e)? = r.error else {
            Issue.record("expected compile errors, got \(r.errorText)")
            return
        }
        #expect(
            e.diagnostics.map(\.message) == [
                "read_file: file access is disabled in this VM", "save: file access is disabled in this VM",
            ])
        #expect(
            e.diagnostics.map(\.location) == [SourceLocation(line: 1, column: 9), SourceLocation(line: 2, column: 1)])
        // Arguments and input stay available.
        #expect(runIO("print(argc(), eof())", files: false).output == "0 true\n")
    }

    @Test func textFilesAreWrittenWholeOrNotAtAll() throws {
        let dir = try ScratchDirectory()
        let path = dir.path("notes.txt")
        let r = runIO(
            """
            write_file(arg(0), "héllo\\nworld\\n")
            let t = read_file(arg(0))
            print(len(t), t == "héllo\\nworld\\n")
            write_file(arg(0), "replaced")
            print(read_file(arg(0)))
            """, arguments: [path])
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "12 true\nreplaced\n")
        #expect(dir.names == ["notes.txt"])  // no temporary file left behind
        // Permissions of an existing file are kept across a rewrite.
        chmod(path, 0o640)
        #expect(runIO("write_file(arg(0), \"again\")", arguments: [path]).error == nil)
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "again")
    }

    @Test func fileErrorsNameThePathAndTheReason() throws {
        let dir = try ScratchDirectory()
        let missing = dir.path("missing/out.txt")
        let cases: [(String, [String], String)] = [
            (
                "print(read_file(arg(0)))", [dir.path("nope.txt")],
                "cannot read \"\(dir.path("nope.txt"))\": No such file or directory"
            ),
            ("print(read_file(arg(0)))", [dir.url.path], "cannot read \"\(dir.url.path)\": Is a directory"),
            ("write_file(arg(0), \"x\")", [missing], "cannot write \"\(missing)\": No such file or directory"),
            ("write_file(arg(0), \"x\")", [dir.url.path], "cannot write \"\(dir.url.path)\": Is a directory"),
            ("write_file(arg(0), \"x\")", ["/dev/full"], "cannot write \"/dev/full\": No space left on device"),
            ("save(arg(0), iota(100))", ["/dev/full"], "cannot write \"/dev/full\": No space left on device"),
            (
                "print(load_int(arg(0)))", [dir.path("nope.npy")],
                "cannot read \"\(dir.path("nope.npy"))\": No such file or directory"
            ),
        ]
        for (source, arguments, message) in cases {
            let r = runIO(source, arguments: arguments)
            #expect(runtimeMessage(r) == message, "\(source) \(arguments): \(r.errorText)")
            #expect(r.status == 2)
        }
        #expect(dir.names.isEmpty)
    }

    @Test(.enabled(if: geteuid() != 0, "root may write anywhere"))
    func noPermission() throws {
        let dir = try ScratchDirectory()
        let locked = dir.path("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        try "secret".write(toFile: locked + "/old.txt", atomically: true, encoding: .utf8)
        chmod(locked, 0o500)
        defer { chmod(locked, 0o700) }
        let r = runIO("write_file(arg(0), \"x\")", arguments: [locked + "/old.txt"])
        #expect(runtimeMessage(r) == "cannot write \"\(locked)/old.txt\": Permission denied")
        #expect(try String(contentsOfFile: locked + "/old.txt", encoding: .utf8) == "secret")
        chmod(locked + "/old.txt", 0)
        defer { chmod(locked + "/old.txt", 0o600) }
        #expect(
            runtimeMessage(runIO("print(read_file(arg(0)))", arguments: [locked + "/old.txt"]))
                == "cannot read \"\(locked)/old.txt\": Permission denied")
    }

    // MARK: .npy

    @Test func npyRoundTripsEveryElementType() throws {
        let dir = try ScratchDirectory()
        let r = runIO(
            """
            let x = f32(iota(1000)) * 0.25 - 7.0
            let d = float(iota(5)) / 3.0
            let i = iota(4) * -3000000000
            let e: [float] = []
            save(arg(0), x)
            save(arg(1), d)
            save(arg(2), i)
            save(arg(3), e)
            let x2 = load_f32(arg(0))
            print(len(x2), sum(x2 * 2.0) == sum(x * 2.0), x2[999], load_float(arg(1)), load_int(arg(2)), load_float(arg(3)))
            """, arguments: ["x.npy", "d.npy", "i.npy", "e.npy"].map(dir.path))
        #expect(r.error == nil, "\(r.errorText)")
        #expect(
            r.output
                == "1000 true 242.75 [0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.3333333333333333] [0, -3000000000, -6000000000, -9000000000] []\n"
        )
        // The header is the one numpy.save writes (NEP 1 version 1.0, padded to 64 bytes with room to grow).
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path("d.npy")))
        let header = String(decoding: bytes[10..<128], as: UTF8.self)
        #expect(Array(bytes[0..<10]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 118, 0])
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }"
        #expect(header == dict + String(repeating: " ", count: 117 - dict.utf8.count) + "\n")
        #expect(bytes.count == 128 + 5 * 8)
    }

    /// Writes a .npy file with the given header dict and `dataBytes` bytes of data.
    private func writeNpy(_ path: String, _ dict: String, dataBytes: Int, version: UInt8 = 1) throws {
        var text = Array(dict.utf8)
        let prefix = version == 1 ? 10 : 12
        while (prefix + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        if version == 1 {
            bytes += [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
        } else {
            bytes += [UInt8(text.count & 0xFF), UInt8(text.count >> 8), 0, 0]
        }
        bytes += text + [UInt8](repeating: 0, count: dataBytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func npyFilesVecVMDoesNotReadAreErrorsNamingWhatTheyHold() throws {
        let dir = try ScratchDirectory()
        let p = dir.path("a.npy")
        func load(_ fn: String) -> String { runtimeMessage(runIO("print(\(fn)(arg(0)))", arguments: [p])) }

        try writeNpy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", dataBytes: 12)
        #expect(
            load("load_float")
                == "load_float: \"\(p)\" holds an array of dtype '<f4' and shape (3,); load_float reads a 1-D array of '<f8' (use load_f32 for '<f4')"
        )
        #expect(runIO("print(load_f32(arg(0)))", arguments: [p]).output == "[0.0, 0.0, 0.0]\n")
        try writeNpy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", dataBytes: 48)
        #expect(
            load("load_float")
                == "load_float: \"\(p)\" holds an array of dtype '<f8' and shape (2, 3); load_float reads a 1-D array of '<f8' (flatten it in numpy first: a.ravel())"
        )
        try writeNpy(p, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", dataBytes: 12)
        #expect(
            load("load_f32")
                == "load_f32: \"\(p)\" holds an array of dtype '>f4' and shape (3,); load_f32 reads a 1-D array of '<f4' (convert it in numpy first: a.astype('<f4'))"
        )
        try writeNpy(
            p, "{'descr': [('x', '<f4'), ('y', '<i8')], 'fortran_order': False, 'shape': (1,), }", dataBytes: 12)
        #expect(load("load_f32").contains("holds an array of dtype '[('x', '<f4'), ('y', '<i8')]' and shape (1,)"))
        try writeNpy(p, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", dataBytes: 8)
        #expect(load("load_int").contains("holds an array of dtype '<i8' and shape ()"))
        // Version 2.0 headers are read too.
        try writeNpy(p, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", dataBytes: 16, version: 2)
        #expect(runIO("print(load_int(arg(0)))", arguments: [p]).output == "[0, 0]\n")
        // Cut short, too long, not .npy at all.
        try writeNpy(p, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", dataBytes: 31)
        #expect(
            load("load_int")
                == "load_int: \"\(p)\" is cut short: its header promises 4 elements (32 bytes), the file holds 31 bytes of data"
        )
        try writeNpy(p, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", dataBytes: 40)
        #expect(load("load_int") == "load_int: \"\(p)\" has 8 bytes after the 4 elements its header promises")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: p))
        #expect(load("load_int") == "load_int: \"\(p)\": it is not a .npy file (it does not start with \\x93NUMPY)")
        try writeNpy(p, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,) ", dataBytes: 32)
        #expect(load("load_int").hasPrefix("load_int: \"\(p)\": its header is not a valid .npy header"))
        try writeNpy(
            p, "{'descr': '<i8', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 5000), dataBytes: 0)
        #expect(
            load("load_int") == "load_int: \"\(p)\": its header is not a valid .npy header (it nests too deeply)")
    }

    @Test(.enabled(if: numpyPython != nil, "needs python3 with numpy"))
    func npyRoundTripsAgainstNumpy() throws {
        let python = try #require(numpyPython)
        let dir = try ScratchDirectory()
        // numpy writes arrays with awkward values (NaN payloads, -0.0, infinities, subnormals, extremes).
        let made = try runPython(
            python,
            """
            import numpy as np, sys
            d = sys.argv[1]
            f = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, 3.4028235e38, 0.1, -7.5], dtype='<f4')
            f = np.concatenate([f, np.frombuffer(np.array([0x7fc00001, 0xffc12345], dtype='<u4').tobytes(), dtype='<f4'),
                                np.linspace(-3, 3, 1001, dtype='<f4')])
            g = np.concatenate([np.array([5e-324, -0.0, np.nan, 1.7976931348623157e308, 0.1]), np.arange(777) / 7.0])
            i = np.array([-2**63, 2**63 - 1, 0, -1, 42], dtype='<i8')
            np.save(d + '/f.npy', f); np.save(d + '/g.npy', g); np.save(d + '/i.npy', i)
            print(len(f), len(g), len(i))
            """, [dir.url.path])
        #expect(made.status == 0, "\(made.output)")
        // VecVM loads them, computes with kernels, and saves them back (and a result).
        let r = runIO(
            """
            let f = load_f32(arg(0) + "/f.npy")
            let g = load_float(arg(0) + "/g.npy")
            let i = load_int(arg(0) + "/i.npy")
            save(arg(0) + "/f2.npy", f)
            save(arg(0) + "/g2.npy", g)
            save(arg(0) + "/i2.npy", i)
            save(arg(0) + "/h.npy", g * 2.0 + 1.0)
            print(len(f), len(g), len(i), i[0], i[1])
            """, arguments: [dir.url.path])
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "1011 782 5 -9223372036854775808 9223372036854775807\n")
        let checked = try runPython(
            python,
            """
            import numpy as np, sys, io
            np.seterr(all='ignore')
            d = sys.argv[1]
            for name in ['f', 'g', 'i']:
                a, b = np.load(d + f'/{name}.npy'), np.load(d + f'/{name}2.npy')
                assert a.dtype == b.dtype and a.shape == b.shape, name
                assert a.view(np.uint8).tobytes() == b.view(np.uint8).tobytes(), name + ': bits differ'
                buf = io.BytesIO(); np.save(buf, b)
                assert buf.getvalue() == open(d + f'/{name}2.npy', 'rb').read(), name + ': not the bytes numpy.save writes'
            g = np.load(d + '/g.npy')
            h = np.load(d + '/h.npy')
            assert h.view(np.uint64).tobytes() == (g * 2.0 + 1.0).view(np.uint64).tobytes(), 'g * 2 + 1 differs'
            print('ok')
            """, [dir.url.path])
        #expect(checked.status == 0 && checked.output == "ok\n", "\(checked.output)")
    }
}
