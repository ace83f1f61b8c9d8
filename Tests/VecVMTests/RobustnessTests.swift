// No input makes the VM crash, hang or print a Swift trace: random bytes, huge nesting, long chains,
// empty files and mutations of real programs all end in output or a clean error.

import Foundation
import Testing

@testable import VecVM

@Suite("robustness")
struct RobustnessTests {
    @Test func emptyAndBlankPrograms() {
        for source in ["", "\n\n", "// only a comment", "/* block */", ";;;", "  \t  "] {
            let r = run(source)
            #expect(r.error == nil, "\(source.debugDescription): \(r.errorText)")
            #expect(r.output == "")
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let parens = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        let ds = diagnostics("let x = " + parens)
        #expect(ds.first?.message.contains("nest") == true)
        let blocks = String(repeating: "{ ", count: 50_000) + String(repeating: "} ", count: 50_000)
        #expect(diagnostics(blocks).first?.message.contains("nest") == true)
        let chain = "let x = " + Array(repeating: "1", count: 50_000).joined(separator: " + ")
        #expect(diagnostics(chain).first?.message.contains("nested") == true)
        let unary = "let x = " + String(repeating: "-", count: 50_000) + "1"
        #expect(diagnostics(unary).first?.message.contains("nest") == true)
        let ifs = String(repeating: "if true { ", count: 20_000)
        #expect(!diagnostics(ifs).isEmpty)
    }

    @Test func moderateNestingCompilesAndRuns() {
        let depth = 150
        let e = String(repeating: "(", count: depth) + "1" + String(repeating: " + 1)", count: depth)
        let r = run("print(" + e + ")")
        #expect(r.output == "\(depth + 1)\n", "\(r.errorText)")
    }

    @Test("random bytes never crash the compiler", arguments: 0..<4)
    func randomBytes(seed: Int) {
        var rng = SplitMix(state: UInt64(seed) &+ 99)
        for _ in 0..<150 {
            let n = rng.int(200)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = diagnostics(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test("mutated programs compile or fail cleanly", arguments: TestPaths.programNames())
    func mutations(_ name: String) throws {
        let source = try String(contentsOf: TestPaths.programs.appendingPathComponent(name + ".vec"), encoding: .utf8)
        var rng = SplitMix(state: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let tokens = [
            "(", ")", "{", "}", "[", "]", "+", "*", "let", "fn", "\"", "0x", "1e", ",", "..", "\n", "/*", "chan<",
            "-> int",
        ]
        var chars = Array(source.unicodeScalars)
        for _ in 0..<40 {
            var mutated = chars
            let at = rng.int(max(1, mutated.count))
            switch rng.int(3) {
            case 0: if !mutated.isEmpty { mutated.remove(at: at) }
            case 1: mutated.insert(contentsOf: tokens[rng.int(tokens.count)].unicodeScalars, at: at)
            default: if at + 5 < mutated.count { mutated.removeSubrange(at..<(at + 5)) }
            }
            var s = String.UnicodeScalarView()
            s.append(contentsOf: mutated)
            _ = diagnostics(String(s))
            chars = rng.int(4) == 0 ? mutated : chars
        }
    }

    @Test("mutated programs that compile also run cleanly (fuel-bounded)", arguments: TestPaths.programNames())
    func mutatedProgramsRun(_ name: String) throws {
        let source = try String(contentsOf: TestPaths.programs.appendingPathComponent(name + ".vec"), encoding: .utf8)
        var rng = SplitMix(state: UInt64(name.utf8.reduce(7) { $0 &* 131 &+ UInt64($1) }))
        // Token-level edits that often keep a program well-typed: swap numbers, operators, bounds.
        let swaps: [(String, String)] = [
            ("1", "0"), ("2", "-3"), ("+", "-"), ("*", "/"), ("<", ">="), ("0..", "-2.."),
            ("[0]", "[-1]"), ("8", "7"), ("len(", "-len("), ("1.0", "0.0"), ("f32(2)", "f32(0)"),
        ]
        var runs = 0
        // VECVM_FUZZ_ITERATIONS=N runs longer campaigns by hand.
        let iterations = ProcessInfo.processInfo.environment["VECVM_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 8
        for _ in 0..<iterations {
            var mutated = source
            for _ in 0..<(1 + rng.int(3)) {
                let (from, to) = swaps[rng.int(swaps.count)]
                let ranges = mutated.ranges(of: from)
                guard !ranges.isEmpty else { continue }
                mutated.replaceSubrange(ranges[rng.int(ranges.count)], with: to)
            }
            let vm = VM(
                configuration: VMConfiguration(
                    procs: 2, output: CapturedOutput(), memoryLimit: 256 << 20,
                    fuel: 3_000_000, timeLimit: .seconds(3)))
            defer { vm.shutdown() }
            guard let program = try? vm.compile(source: mutated, fileName: name + ".vec") else { continue }
            runs += 1
            do {
                try vm.run(program)
            } catch {
                // Any typed error is fine; the point is that the process is still here.
                #expect(!error.description.isEmpty)
            }
        }
        _ = runs
    }

    @Test func integerEdgeCasesWrap() {
        let r = run(
            """
            let m = -9223372036854775807 - 1
            var n1 = -1
            print(m / n1, m % n1, m * n1, -m, abs(m))
            print(int(0.0 / 0.0), int(1e300), int(-1e300), int(2.9), int(-2.9))
            """)
        #expect(
            r.output
                == "-9223372036854775808 0 -9223372036854775808 -9223372036854775808 -9223372036854775808\n-9223372036854775808 -9223372036854775808 -9223372036854775808 2 -2\n",
            "\(r.errorText)")
    }

    @Test func deepRecursionIsAVMStackOverflow() {
        let r = run(
            "fn down(n: int) -> int { if n == 0 { return 0 }\n return 1 + down(n - 1) }\nprint(down(100000))\nprint(down(100000000))"
        )
        #expect(r.output == "100000\n")
        #expect(r.errorText.contains("stack overflow"))
        #expect(r.status == 2)
    }
}
