// The 512-bit kernels (KernelLowering at KernelISA.avx512, VectorEmitter512) against the AVX2 kernels
// and the interpreter, bit for bit: random kernel programs (every op, the math functions, masks and
// select, every reduction), every tail length 0...33 and longer ones, unaligned buffers, and inputs full
// of special values (±0, ±inf, nan, subnormals, huge and tiny numbers). Runs only on a machine whose
// CPU and OS allow AVX-512 (the AVX2 kernels are tested everywhere by JITTests).

import Testing

@testable import VecVM

@Suite(
    "AVX-512 kernels",
    .enabled(
        if: JITSupport.available && JITSupport.avx512Hardware,
        "needs a CPU with AVX512F/DQ/VL/BW and the OS's ZMM state"))
struct AVX512KernelTests {
    static let lengths = Array(0...33) + [47, 48, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4096 + 13]

    /// Ordinary numbers mixed with many special values.
    static func specialValue(_ kind: ElementKind, _ rng: inout SplitMix) -> UInt64 {
        let f64: [Double] = [
            .nan, -.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
            .leastNormalMagnitude, Double(bitPattern: 0x000F_FFFF_FFFF_FFFF), .greatestFiniteMagnitude, 1e300, -1e-300,
            709.8, -745.2, 88.7, -103.9, 1, -1, 0.5, 1e22, 3.14159, -2.5e-8,
        ]
        let f32: [Float] = [
            .nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
            .leastNormalMagnitude, Float(bitPattern: 0x007F_FFFF), .greatestFiniteMagnitude, 88.72, -103.97, 1e30,
            -1e-30, 1, -1, 0.5, 3.1415927, 1e7,
        ]
        switch kind {
        case .float:
            return rng.int(3) == 0 ? ((rng.double() - 0.5) * 200).bitPattern : f64[rng.int(f64.count)].bitPattern
        case .f32:
            return rng.int(3) == 0
                ? UInt64(Float((rng.double() - 0.5) * 200).bitPattern) : UInt64(f32[rng.int(f32.count)].bitPattern)
        case .int:
            let ints: [Int64] = [0, 1, -1, .max, .min, 1 << 40, -(1 << 33)]
            return rng.int(2) == 0
                ? UInt64(bitPattern: ints[rng.int(ints.count)]) : UInt64(bitPattern: Int64(rng.int(2001)) - 1000)
        case .bool:
            return UInt64(rng.int(2))
        }
    }

    func check(_ c: KernelCase, _ label: String) throws {
        let want = try evaluateWithInterpreter(c)
        let code = kernelTestJIT.code(for: c.program, isa: .avx512)
        #expect(code.isa == .avx512, "kept AVX2 code: \(c.program)")
        for misalign in [0, 1] {
            let wide = try evaluateWithJIT(c, misalign: misalign, isa: .avx512)
            let narrow = try evaluateWithJIT(c, misalign: misalign, isa: .avx2)
            #expect(sameBits(wide, want, c.program.resultKind), "avx512 vs interpreter \(label): \(c.program)")
            #expect(sameBits(wide, narrow, c.program.resultKind), "avx512 vs avx2 \(label): \(c.program)")
        }
    }

    @Test("random kernels: AVX-512 == AVX2 == interpreter", arguments: 0..<12)
    func randomKernels(seed: Int) throws {
        var rng = SplitMix(state: UInt64(seed) &* 6_700_417 &+ 11)
        for n in Self.lengths {
            let c = KernelCase.random(&rng, count: n)
            try check(c, "seed \(seed) n \(n)")
        }
    }

    @Test("random kernels on special values", arguments: 0..<8)
    func specialInputs(seed: Int) throws {
        var rng = SplitMix(state: UInt64(seed) &* 1_000_003 &+ 5)
        for n in Self.lengths {
            var c = KernelCase.random(&rng, count: n)
            c.arrays = zip(c.arrays, c.program.arrayInputs).map { a, kind in
                a.map { _ in Self.specialValue(kind, &rng) }
            }
            c.scalars = c.program.scalarInputs.map { Self.specialValue($0, &rng) }
            try check(c, "specials seed \(seed) n \(n)")
        }
    }

    @Test func everyMathFunctionEveryTailAndReduction() throws {
        // f(x) for each function and float type, stored and reduced, over every tail length.
        var rng = SplitMix(state: 77)
        for kind in [ElementKind.f32, .float] {
            for f in ElementwiseMath.allCases {
                for output in [KernelOutput.store(1), .reduce(.sum, 1), .reduce(.min, 1), .reduce(.max, 1)] {
                    for n in 0...33 {
                        if n == 0, case .reduce(let r, _) = output, r != .sum { continue }
                        let p = KernelProgram(
                            element: kind, arrayInputs: 1, scalarInputs: 0, ops: [.load(0), .math(f, 0)],
                            output: output)
                        let c = KernelCase(
                            program: p, arrays: [(0..<n).map { _ in Self.specialValue(kind, &rng) }], scalars: [],
                            count: n)
                        try check(c, "\(f) \(kind) \(output) n \(n)")
                    }
                }
            }
        }
    }

    @Test func reductionOrderMatchesAVX2() throws {
        // Sums whose value depends on the association order: big values cancelling across lanes and
        // accumulators, every length up to four groups.
        for kind in [ElementKind.f32, .float] {
            for n in 0...140 {
                let xs: [Double] = (0..<n).map { (i: Int) -> Double in
                    if i % 5 == 0 { return i % 2 == 0 ? 1e16 : -1e16 }
                    return i % 7 == 0 ? 3e-3 : Double(i) + 0.1
                }
                let c = KernelCase(
                    program: KernelProgram(
                        element: kind, arrayInputs: 1, scalarInputs: 0, ops: [.load(0)], output: .reduce(.sum, 0)),
                    arrays: [xs.map { kind == .f32 ? UInt64(Float($0).bitPattern) : $0.bitPattern }], scalars: [],
                    count: n)
                try check(c, "sum order n \(n)")
            }
        }
    }

    @Test func integerDivisionIsLoweredAt512Bits() throws {
        // Lane by lane through idiv at 8 lanes, with every tail, by zero (an error), by -1 and of min.
        var rng = SplitMix(state: 9)
        for op in [KernelOp.div(0, 1), .mod(0, 1)] {
            let p = KernelProgram(
                element: .int, arrayInputs: 2, scalarInputs: 0, ops: [.load(0), .load(1), op], output: .store(2))
            #expect(kernelTestJIT.code(for: p, isa: .avx512).isa == .avx512)
            for n in 0...33 {
                let xs = (0..<n).map { _ in Self.specialValue(.int, &rng) }
                var ys = (0..<n).map { _ in UInt64(bitPattern: [-1, 1, 7, -3, .min][rng.int(5)]) }
                try check(KernelCase(program: p, arrays: [xs, ys], scalars: [], count: n), "\(op) n \(n)")
                if n > 0 {
                    ys[rng.int(n)] = 0
                    try check(KernelCase(program: p, arrays: [xs, ys], scalars: [], count: n), "\(op) by 0 n \(n)")
                }
            }
        }
    }
}
