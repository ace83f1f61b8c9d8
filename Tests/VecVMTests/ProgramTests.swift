// Every program in programs/ prints exactly its .out file, in every execution mode
// (interpreter and JIT, 1 and 2 processors, asynchronous preemption on and off).

import Foundation
import Testing

@testable import VecVM

@Suite("programs/", .serialized)
struct ProgramTests {
    @Test("programs print their .out files", arguments: TestPaths.programNames())
    func program(_ name: String) throws {
        let source = try String(contentsOf: TestPaths.programs.appendingPathComponent(name + ".vec"), encoding: .utf8)
        let expected = try String(contentsOf: TestPaths.programs.appendingPathComponent(name + ".out"), encoding: .utf8)
        // A program that reads data finds it in programs/data (its first argument; from the repository
        // root, the CLI's default) and writes its result to its second argument.
        let scratch = try ScratchDirectory()
        let arguments = [TestPaths.programs.appendingPathComponent("data").path, scratch.path("\(name).out.npy")]
        for mode in Mode.all {
            let r = run(source, file: name + ".vec", mode: mode, arguments: arguments, files: true)
            #expect(r.error == nil, "\(name) [\(mode)]: \(r.errorText)")
            #expect(r.output == expected, "\(name) [\(mode)] printed something else")
        }
    }

    @Test("at least ten programs with expected output")
    func enoughPrograms() {
        let names = TestPaths.programNames()
        #expect(names.count >= 10)
        for n in names {
            #expect(
                FileManager.default.fileExists(atPath: TestPaths.programs.appendingPathComponent(n + ".out").path),
                "\(n).out is missing")
        }
    }
}

/// LANGUAGE.md's conformance programs (../shared/conformance), run through the API.
@Suite("conformance", .serialized)
struct ConformanceTests {
    static func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: TestPaths.conformance.path)) ?? []
        return files.filter { $0.hasSuffix(".vec") }.map { String($0.dropLast(4)) }.sorted()
    }

    @Test(
        "conformance programs", .enabled(if: !names().isEmpty, "../shared/conformance is not beside this checkout"),
        arguments: names())
    func conformance(_ name: String) throws {
        let dir = TestPaths.conformance
        let source = try String(contentsOf: dir.appendingPathComponent(name + ".vec"), encoding: .utf8)
        let expected = try String(contentsOf: dir.appendingPathComponent(name + ".out"), encoding: .utf8)
        var status: Int32 = 0
        var pattern: String?
        let statusFile = dir.appendingPathComponent(name + ".status")
        if let s = try? String(contentsOf: statusFile, encoding: .utf8) {
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
            status = Int32(lines[0]) ?? 0
            pattern = lines.count > 1 ? String(lines[1]) : nil
        }
        for mode in [
            Mode(procs: 1, jit: false, asyncPreemption: false), Mode(procs: 2, jit: true, asyncPreemption: true),
        ] {
            let r = run(source, file: name + ".vec", mode: mode)
            #expect(r.status == status, "\(name) [\(mode)]: \(r.errorText)")
            #expect(r.output == expected, "\(name) [\(mode)]")
            if let p = pattern {
                #expect(
                    r.errorText.range(of: p, options: .regularExpression) != nil,
                    "\(name): stderr \(r.errorText) lacks /\(p)/")
            }
        }
    }
}
