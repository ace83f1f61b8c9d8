// KernelTests.swift — real kernels under asynchronous preemption: `sqrt(x*x + y*y)` and an FMA dot
// product with four accumulators, run by 16 tasks on 2 Ps with a 100 µs quantum, must give results
// bit-identical to the same kernels run on a plain thread, with asynchronous preemption on and off.
import CJITStubs
import Testing
@testable import VMRuntime
@testable import VecVM
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Inputs, and per task its outputs, of the kernel runs.
private final class KernelData: @unchecked Sendable {
    // @unchecked Sendable: inputs are written before any task starts; each task writes only its
    // own output buffers; the checker reads them after joining.
    static let n = 1 << 19
    let x = AlignedBuffer(bytes: 4 * n)
    let y = AlignedBuffer(bytes: 4 * n)
    let hypotRef = AlignedBuffer(bytes: 4 * n)
    let dotRef = AlignedBuffer(bytes: 128)
    let hypot = makeHypotKernel()
    let dot = makeDotKernel()

    init() {
        var state: UInt64 = 12345
        for i in 0..<KernelData.n {
            state = mix(state)
            // Values from 1e-3 to 1e3, both signs: rounding differences would show.
            let a = Float(Double(state & 0xFFFF) / 65.536 - 500) * 2
            state = mix(state)
            let b = Float(Double(state & 0xFFFF) / 6553.6 + 0.001)
            x.pointer.storeBytes(of: a, toByteOffset: 4 * i, as: Float.self)
            y.pointer.storeBytes(of: b, toByteOffset: 4 * i, as: Float.self)
        }
        run(hypot, out: hypotRef)
        run(dot, out: dotRef)
    }

    func run(_ kernel: UnsafeRawPointer, out: AlignedBuffer) {
        let params = AlignedBuffer(bytes: 32)
        params[qword: 0] = UInt64(UInt(bitPattern: x.pointer))
        params[qword: 1] = UInt64(UInt(bitPattern: y.pointer))
        params[qword: 2] = UInt64(UInt(bitPattern: out.pointer))
        params[qword: 3] = UInt64(KernelData.n)
        routine3(kernel)(params.pointer, nil, 0)
    }
}

extension AsyncPreemptionSuite {
    @Suite struct Kernels {
        /// Runs both kernels `repetitions` times in each of `tasks` tasks; returns the number of
        /// results that differ from the reference in any bit.
        private func mismatches(_ data: KernelData, async: Bool, tasks: Int = 16, repetitions: Int = 20)
            -> (Int, SchedulerStats)
        {
            let s = Scheduler(configuration: .init(procs: 2, quantumNanoseconds: 100_000, asyncPreemption: async))
            defer { s.shutdown() }
            let bad = Counter()
            _ = s.run {
                let hs = (0..<tasks).map { _ in
                    Scheduler.spawn {
                        let out = AlignedBuffer(bytes: 4 * KernelData.n)
                        let dotOut = AlignedBuffer(bytes: 128)
                        let flag = Scheduler.preemptFlag()
                        for _ in 0..<repetitions {
                            data.run(data.hypot, out: out)
                            if memcmp(out.pointer, data.hypotRef.pointer, 4 * KernelData.n) != 0 { bad.add() }
                            pollPreempt(flag)
                            data.run(data.dot, out: dotOut)
                            if memcmp(dotOut.pointer, data.dotRef.pointer, 128) != 0 { bad.add() }
                            pollPreempt(flag)
                        }
                    }
                }
                for h in hs { h.join() }
            }
            return (bad.load, s.stats)
        }

        @Test func kernelsGiveBitIdenticalResultsWithAsyncPreemptionOnAndOff() {
            let data = KernelData()
            let (offBad, offStats) = mismatches(data, async: false)
            #expect(offBad == 0)
            #expect(offStats.preemptAsync == 0)
            // The kernels must really be interrupted, many times, and resume on either M: on a loaded
            // machine one round may see few signals, so rounds repeat (up to a deadline) until they have.
            var preemptions = 0
            var migrations = 0
            var rounds = 0
            let deadline = ContinuousClock.now + .seconds(60)
            repeat {
                let (onBad, onStats) = mismatches(data, async: true)
                #expect(onBad == 0, "\(onStats)")
                preemptions += onStats.preemptAsync
                migrations += onStats.migrations
                rounds += 1
            } while (preemptions < 100 || migrations < 1) && ContinuousClock.now < deadline
            #expect(preemptions >= 100, "\(preemptions) asynchronous preemptions in \(rounds) rounds")
            #expect(migrations >= 1, "\(migrations) migrations in \(rounds) rounds")
        }
    }
}
