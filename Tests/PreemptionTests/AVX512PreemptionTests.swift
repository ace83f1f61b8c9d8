// AVX512PreemptionTests.swift — the 512-bit kernels (KernelISA.avx512) under asynchronous preemption.
// They use zmm0–31 and the opmask registers k1/k2, so the trampoline must save the AVX-512 state: the
// kernels are chosen only where its AVX-512 path is the detected one (checked here), a math-heavy
// kernel really allocates zmm16–31 (checked in its bytes), and a Black-Scholes-like program run by
// eight tasks on 2 Ps with a 100 µs quantum prints the same with asynchronous preemption on and off
// while its kernels are preempted by signal.
import CJITStubs
import Testing

@testable import VMRuntime
@testable import VecVM

extension AsyncPreemptionSuite {
    @Suite(
        .enabled(
            if: JITSupport.available && JITSupport.kernelISA == .avx512,
            "needs AVX-512 kernels (a CPU with AVX512F/DQ/VL/BW, VECVM_JIT_ISA not avx2)"))
    struct AVX512Kernels {
        static let source = """
            fn bs(seed: int) -> f32 {
                let n = 100_000
                let i = f32(iota(n) + seed)
                let s = (i - floor(i / f32(1000.0)) * f32(1000.0)) * f32(0.1) + f32(10.0)
                let k = (i - floor(i / f32(777.0)) * f32(777.0)) * f32(0.13) + f32(20.0)
                let t = (i - floor(i / f32(97.0)) * f32(97.0)) * f32(0.01) + f32(0.1)
                var total = f32(0.0)
                for r in 0..3 {
                    let d1 = (log(s / k) + f32(0.065) * t) / (f32(0.3) * sqrt(t))
                    let e = exp(f32(0.0) - d1 * d1 * f32(0.5))
                    total += sum(select(d1 > f32(0.0), s * e - k, k * e - s * tanh(d1)) + f32(r))
                }
                return total
            }
            var tasks = chan<task<f32>>(8)
            for k in 0..8 { send(tasks, spawn bs(k * 13)) }
            close(tasks)
            for t in tasks { print(wait(t)) }
            """

        func run(jit: Bool, async: Bool) throws -> (String, String) {
            let out = CapturedOutput()
            let vm = VM(
                configuration: .init(
                    procs: 2, quantumNanoseconds: 100_000, jit: jit, asyncPreemption: async, output: out))
            defer { vm.shutdown() }
            try vm.run(source: Self.source, fileName: "bs512.vec")
            return (out.text, vm.statistics)
        }

        @Test func theTrampolineSavesWhatTheKernelsUse() throws {
            // The 512-bit kernels are chosen only where preemption saves zmm0-31 and k0-7.
            #expect(AsyncPreemption.vectorRegisters == .avx512)
            // A math-heavy kernel allocates registers 16-31 (EVEX.R' = 0 in some instruction).
            let p = KernelProgram(
                arrayInputs: [.f32, .f32], scalarInputs: [],
                ops: [.load(0), .load(1), .math(.exp, 0), .math(.log, 1), .mul(2, 3), .math(.tanh, 4), .add(5, 2)],
                types: [.f32, .f32, .f32, .f32, .f32, .f32, .f32], output: .store(6))
            let bytes = try KernelLowering.lower(p, isa: .avx512)
            let highRegister = (0..<bytes.count - 5).contains { i in
                bytes[i] == 0x62 && bytes[i + 1] & 0x0C == 0 && bytes[i + 1] & 0x10 == 0 && bytes[i + 2] & 0x04 != 0
            }
            #expect(highRegister)
        }

        @Test func aBlackScholesProgramPrintsTheSameWithAsyncPreemptionOnAndOff() throws {
            // (Bit-identity with the interpreter and the AVX2 kernels: VecVMTests' AVX512KernelTests.)
            let (reference, offStats) = try run(jit: true, async: false)
            #expect(reference.split(separator: "\n").count == 8)
            #expect(offStats.contains("jit.isa=avx512"), "\(offStats)")
            #expect(statistic("preempt.async", in: offStats) == 0, "\(offStats)")
            // Preempted by signal inside the kernels: rounds repeat (up to a deadline) on a loaded machine.
            var preemptions = 0
            let deadline = ContinuousClock.now + .seconds(60)
            repeat {
                let (on, onStats) = try run(jit: true, async: true)
                #expect(on == reference, "\(onStats)")
                #expect(statistic("jit.avx512.fallbacks", in: onStats) == 0, "\(onStats)")
                preemptions += statistic("preempt.async", in: onStats) ?? 0
            } while preemptions < 20 && ContinuousClock.now < deadline
            #expect(preemptions >= 20, "\(preemptions) asynchronous preemptions")
        }
    }
}
