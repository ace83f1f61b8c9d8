// The examples of docs/language.md, run: every ```vec block that a ```text block follows must print
// exactly that text (standard output, then standard error), with the JIT and without it, and exit
// with status 0 or the one a `<!-- exit N -->` line before the example gives. `<!-- not run -->`
// before an example skips it (examples that need input, files or timing). The docs stay true.

import Foundation
import Testing

struct DocExample: CustomStringConvertible {
    var line: Int
    var source: String
    var expected: String
    var status: Int32

    var description: String { "docs/language.md:\(line)" }

    static func all() throws -> [DocExample] {
        let text = try String(
            contentsOf: repositoryRoot.appendingPathComponent("docs/language.md"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        var examples: [DocExample] = []
        var i = 0
        var status: Int32 = 0
        var skip = false
        func block(from start: Int) -> (String, Int)? {
            var j = start + 1
            var body: [String] = []
            while j < lines.count, lines[j] != "```" {
                body.append(lines[j])
                j += 1
            }
            return j < lines.count ? (body.joined(separator: "\n") + "\n", j) : nil
        }
        while i < lines.count {
            let l = lines[i]
            if l.hasPrefix("<!-- exit "), let n = Int32(l.dropFirst(10).prefix { $0.isNumber }) { status = n }
            if l == "<!-- not run -->" { skip = true }
            if l == "```vec", let (source, end) = block(from: i) {
                var k = end + 1
                while k < lines.count, lines[k].isEmpty { k += 1 }
                if k < lines.count, lines[k] == "```text", let (output, outEnd) = block(from: k) {
                    if !skip {
                        examples.append(DocExample(line: i + 1, source: source, expected: output, status: status))
                    }
                    i = outEnd
                }
                status = 0
                skip = false
            }
            i += 1
        }
        return examples
    }
}

@Suite("docs/language.md examples")
struct DocsTests {
    @Test func thereAreExamples() throws {
        #expect(try DocExample.all().count > 40)
    }

    @Test("each example prints what the docs show", arguments: try DocExample.all())
    func example(_ e: DocExample) throws {
        // Run as `vecvm run example.vec` in the file's folder, so that messages show `example.vec:`.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try e.source.write(to: dir.appendingPathComponent("example.vec"), atomically: true, encoding: .utf8)
        for flags in [["run"], ["run", "--no-jit"]] {
            let p = Process()
            p.executableURL = vecvmBinary
            p.arguments = flags + ["example.vec"]
            p.currentDirectoryURL = dir
            let out = Pipe()
            let err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let r = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let printed = String(decoding: o, as: UTF8.self) + String(decoding: r, as: UTF8.self)
            #expect(printed == e.expected, "\(e) \(flags)")
            #expect(p.terminationStatus == e.status, "\(e) \(flags)")
        }
    }
}
