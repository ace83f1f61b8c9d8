// Golden diagnostics: every `Tests/Golden/diagnostics/NAME.vec` is run with `vecvm run NAME.vec` (from
// that folder, so messages name the file as a user wrote it) and what it prints is compared with
// `NAME.expected`: the exit status, standard output and standard error, exactly. They show what a user
// sees: suggestions, warnings, tracebacks, the source line and caret. To accept new output after a
// deliberate change, run the suite with VECVM_UPDATE_GOLDEN=1 and review the diff.

import Foundation
import Testing

private let goldenDirectory = repositoryRoot.appendingPathComponent("Tests/Golden/diagnostics")

private func goldenNames() -> [String] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: goldenDirectory.path)) ?? []
    return files.filter { $0.hasSuffix(".vec") }.map { String($0.dropLast(4)) }.sorted()
}

/// `vecvm run NAME.vec` from the golden folder; the text a `.expected` file holds.
private func transcript(_ name: String) throws -> String {
    let p = Process()
    p.executableURL = vecvmBinary
    p.arguments = ["run", "\(name).vec"]
    p.currentDirectoryURL = goldenDirectory
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = nil
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return "exit \(p.terminationStatus)\n--- stdout\n\(String(decoding: o, as: UTF8.self))--- stderr\n"
        + String(decoding: e, as: UTF8.self)
}

@Suite("golden diagnostics", .serialized)
struct GoldenDiagnosticsTests {
    @Test func thereAreGoldenFiles() {
        #expect(goldenNames().count >= 10)
    }

    @Test("golden", arguments: goldenNames())
    func matchesItsExpectedFile(_ name: String) throws {
        let got = try transcript(name)
        let expectedFile = goldenDirectory.appendingPathComponent("\(name).expected")
        if ProcessInfo.processInfo.environment["VECVM_UPDATE_GOLDEN"] == "1" {
            try got.write(to: expectedFile, atomically: true, encoding: .utf8)
            return
        }
        let want = (try? String(contentsOf: expectedFile, encoding: .utf8)) ?? "(no \(name).expected)"
        #expect(got == want, "\(name).vec printed:\n\(got)")
        // A pipe gets no colour.
        #expect(!got.contains("\u{1B}["))
    }
}
