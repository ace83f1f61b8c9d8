// Large kernels run in chunks (Interpreter/KernelRunner.swift): the same digits for any number of Ps
// and with or without the JIT, the documented combining order of chunk results, errors from any
// chunk, and bool outputs whose chunks meet exactly.

import Testing

@testable import VecVM

@Suite("parallel kernels")
struct ParallelKernelTests {
    static let program = """
        let n = 300_007
        let x = float(iota(n)) * 0.001 - 100.0
        let y = f32(x) * f32(0.5)
        print(sum(x * x), sum(exp(y * f32(0.01))), min(x * 3.0), max(y))
        let z = select(x > 0.0, sqrt(x), -x)
        print(z[0], z[n / 2], z[n - 1], sum(z), count(x > 10.0), any(y > f32(100.0)), all(x < 700.0))
        let b = x * 2.0 > 1.0
        print(count(b), b[100_000], b[100_501], len(b))
        let i = iota(n) % 1000
        print(sum(i), max(i * i - 7), sum(float(i) * 1e-3))
        """

    @Test func sameDigitsForAnyNumberOfPs() {
        var outputs: [String] = []
        for procs in [1, 2, 4] {
            for jit in [true, false] {
                let r = run(Self.program, mode: Mode(procs: procs, jit: jit, asyncPreemption: true, quantumNanoseconds: 500_000))
                #expect(r.error == nil, "\(r.errorText)")
                outputs.append(r.output)
            }
        }
        #expect(Set(outputs).count == 1, "\(outputs)")
        #expect(outputs[0].split(separator: "\n").count == 4)
    }

    @Test func chunkResultsCombinePairwiseInAFixedOrder() {
        // 5 chunks: (((c0+c1)+(c2+c3))+c4). Chunk c holds 1e16 in its first element and ones elsewhere
        // (chunk 2: -2e16), so the order of additions shows in the digits.
        let c = KernelRunner.chunkElements
        let src = """
            let c = \(c)
            var a = fill(5 * c, 1.0)
            a[0] = 1e16
            a[c] = 1e16
            a[2 * c] = -2e16
            a[3 * c] = 3.0
            print(sum(a))
            """
        // Each chunk alone: lanes then combine (the lane order is pinned by KernelTests).
        func chunk(_ first: Double) -> Double {
            var values = [Double](repeating: 1.0, count: c)
            values[0] = first
            return ReferenceKernel.reduce(values, lanes: 16, identity: 0.0, +)
        }
        let parts = [chunk(1e16), chunk(1e16), chunk(-2e16), chunk(3.0), chunk(1.0)]
        let want = ((parts[0] + parts[1]) + (parts[2] + parts[3])) + parts[4]
        for procs in [1, 2] {
            let r = run(src, mode: Mode(procs: procs, jit: true, asyncPreemption: true))
            #expect(r.output == "\(want)\n", "procs \(procs)")
        }
    }

    @Test func anErrorInAnyChunkIsReported() {
        let src = "let n = 700_000\nlet a = iota(n)\nprint(1)\nprint(sum(a % (a - 650_000)))"
        for procs in [1, 2] {
            for jit in [true, false] {
                let r = run(src, mode: Mode(procs: procs, jit: jit, asyncPreemption: true))
                #expect(r.output == "1\n")
                #expect(r.errorText.contains("test.vec:4:7: runtime error: integer division by zero"), "\(r.errorText)")
            }
        }
    }
}
