// Kernel fusion across statements and calls (Bytecode/KernelFusion.swift): what fuses, what does not,
// errors keep their places, and fused programs print exactly what unfused ones print.

import Foundation
import Testing

@testable import VecVM

private func kernelCount(_ source: String, function: String = "main") throws -> Int {
    try opcodes(source, function: function).filter { $0.hasPrefix("kernel ") }.count
}

@Suite("kernel fusion")
struct FusionTests {
    @Test func aChainOfLetsIsOneKernel() throws {
        let src = """
            let a = fill(8, 1.5)
            let b = float(iota(8))
            let s = a * b
            let t = s + 1.0
            print(sum(t * t), t)
            """
        // `t` is printed (not a kernel operand), so it stays an array; `s` is fused into it.
        #expect(try kernelCount(src) == 2)
        let noPrint = src.replacingOccurrences(of: ", t)", with: ")")
        #expect(try kernelCount(noPrint) == 1)
    }

    @Test func elementwiseFunctionsAreInlined() throws {
        let src = """
            fn cnd(x: [float], k: float) -> [float] {
                let w = 1.0 / (1.0 + k * abs(x))
                return select(x < 0.0, 1.0 - w, w)
            }
            let i = float(iota(10))
            let x = i - 4.5
            print(sum(cnd(x, 0.25) * cnd(x * 2.0, 0.5)))
            """
        #expect(try kernelCount(src) == 1)
        // Compiled on its own, the function is one kernel too (its let fuses into the return).
        #expect(try kernelCount(src, function: "cnd") == 1)
        // Not elementwise: a reduction inside, a loop, a print.
        for body in ["return x * sum(x)", "print(1)\n return x", "var y = x\n return y"] {
            let f = "fn f(x: [float]) -> [float] {\n \(body)\n}\nlet x = fill(3, 1.0)\nprint(sum(f(x) + 1.0))"
            #expect(try kernelCount(f) == 1, "\(body)")
            #expect(run(f).error == nil, "\(body)")
        }
    }

    @Test func barriersKeepTheArray() throws {
        // An index assignment, a call of a user function, a use in a loop: the let is computed where it is.
        let cases = [
            "var a = fill(4, 1.0)\nlet t = a * 2.0\na[0] = 5.0\nprint(t + 1.0)",
            "fn g() { }\nlet a = fill(4, 1.0)\nlet t = a * 2.0\ng()\nprint(t + 1.0)",
            "let a = fill(4, 1.0)\nlet t = a * 2.0\nfor i in 0..2 { print(t + 1.0) }",
            "var a = fill(4, 1.0)\nlet t = a * 2.0\na = fill(4, 3.0)\nprint(t + 1.0)",
        ]
        for src in cases {
            #expect(try kernelCount(src) == 2, "\(src)")
            let fused = run(src)
            let unfused = Compiler.$fusesKernels.withValue(false) { run(src) }
            #expect(fused.output == unfused.output && fused.error == nil, "\(src)")
        }
        #expect(run(cases[0]).output == "[3.0, 3.0, 3.0, 3.0]\n")
    }

    @Test func aLengthMismatchIsReportedAtTheLet() {
        let src = "let a = fill(4, 1.0)\nlet b = fill(5, 1.0)\nlet t = a + b\nprint(1)\nprint(sum(t))"
        let r = run(src)
        #expect(r.output == "")
        #expect(r.errorText.contains("test.vec:3:11: runtime error: array length mismatch: 4 vs 5"), "\(r.errorText)")
        let unfused = Compiler.$fusesKernels.withValue(false) { run(src) }
        #expect(unfused.errorText == r.errorText)
    }

    @Test("fused and unfused programs print the same", arguments: TestPaths.programNames())
    func programsPrintTheSameFusedOrNot(_ name: String) throws {
        let src = try String(
            contentsOf: TestPaths.programs.appendingPathComponent(name + ".vec"), encoding: .utf8)
        let mode = Mode(procs: 1, jit: true, asyncPreemption: true)
        let fused = run(src, file: name + ".vec", mode: mode)
        let unfused = Compiler.$fusesKernels.withValue(false) { run(src, file: name + ".vec", mode: mode) }
        #expect(fused.output == unfused.output)
        #expect(fused.errorText == unfused.errorText)
    }
}
