// Programs reduced from what the fuzzers found (fuzz/README.md): each Tests/FuzzRegressions/NAME.vec
// must print NAME.out and end with the status in NAME.status (absent: 0; its second line, if any, a
// regular expression the error message must match), identically in every execution mode.

import Foundation
import Testing

@testable import VecVM

@Suite("fuzz regressions", .serialized)
struct FuzzRegressionTests {
    static var directory: URL { TestPaths.root.appendingPathComponent("Tests/FuzzRegressions") }

    static func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".vec") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// The modes of `Mode.all`, and 2 Ps with the tiny quantum difffuzz uses.
    static let modes = Mode.all + [Mode(procs: 2, jit: true, asyncPreemption: true, quantumNanoseconds: 50_000)]

    @Test("every saved finding stays fixed", arguments: names())
    func regression(_ name: String) throws {
        let dir = Self.directory
        let source = try String(contentsOf: dir.appendingPathComponent(name + ".vec"), encoding: .utf8)
        let expected = try String(contentsOf: dir.appendingPathComponent(name + ".out"), encoding: .utf8)
        var status: Int32 = 0
        var pattern: String?
        if let s = try? String(contentsOf: dir.appendingPathComponent(name + ".status"), encoding: .utf8) {
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
            status = Int32(lines[0]) ?? 0
            pattern = lines.count > 1 && !lines[1].isEmpty ? String(lines[1]) : nil
        }
        for mode in Self.modes {
            let r = run(source, file: name + ".vec", mode: mode)
            #expect(r.status == status, "\(name) [\(mode)]: \(r.errorText)")
            #expect(r.output == expected, "\(name) [\(mode)] printed something else")
            if let p = pattern {
                #expect(
                    r.errorText.range(of: p, options: .regularExpression) != nil, "\(name): \(r.errorText) !~ /\(p)/")
            }
        }
    }

    @Test("every saved finding has its expected output")
    func filesArePaired() {
        for n in Self.names() {
            let out = Self.directory.appendingPathComponent(n + ".out").path
            #expect(FileManager.default.fileExists(atPath: out), "\(n).out is missing")
        }
    }
}
