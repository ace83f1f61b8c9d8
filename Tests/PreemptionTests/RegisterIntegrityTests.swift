// RegisterIntegrityTests.swift — Go's register-integrity test, translated: 16 tasks on 2 Ps with a
// 100 µs quantum each run the torture routine (every vector register and the GP registers set to a
// pattern unique to the task and the call, a spin loop, a full dump) over and over, so that they
// are preempted asynchronously mid-loop and resumed on either M, until enough preemptions have
// happened; not one 64-bit lane may come back wrong. Once per save path this machine can run: the
// detected one (AVX here), SSE forced, AVX-512 where the CPU has it. CI runs 50k preemptions per
// path; VECVM_LONG_TESTS=1 runs the 1,000,000 of the issue and checks the pool did not grow.
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

struct TortureOutcome {
    var corrupted = 0
    var calls = 0
    var stats: SchedulerStats
    var elapsed: Int64
}

/// Runs `tasks` torture tasks of `shape` until the scheduler has made `preemptions` asynchronous
/// preemptions (or `timeLimit` passes), then checks the counters.
func runTorture(
    shape: TortureShape, path: AsyncPreemption.VectorRegisterSet?, procs: Int = 2, tasks: Int = 16,
    quantum: Int64 = 100_000, preemptions: Int,
    timeLimit: Int64 = longTestsEnabled ? 1_200_000_000_000 : 120_000_000_000
) -> TortureOutcome {
    var config = SchedulerConfiguration(procs: procs, quantumNanoseconds: quantum)
    config.vectorRegistersOverride = path
    let s = Scheduler(configuration: config)
    defer { s.shutdown() }
    let code = makeTorture(shape)
    let corrupted = Counter()
    let calls = Counter()
    let stop = Flag()
    let t0 = now()
    let outcome = s.run {
        let hs = (0..<tasks).map { k in
            Scheduler.spawn {
                let run = TortureRun(shape: shape, code: code, seed: UInt64(k + 1))
                let flag = Scheduler.preemptFlag()
                var call: UInt64 = 0
                while !stop.isSet {
                    // ~0.3 ms of spinning per call: several quanta, so most preemptions land in
                    // the loop; between calls the task polls like interpreted code does.
                    let bad = run.runOnce(call: call, iterations: 300_000)
                    if bad != 0 { corrupted.add(bad) }
                    calls.add()
                    call += 1
                    pollPreempt(flag)
                }
            }
        }
        let flag = Scheduler.preemptFlag()
        // The main task watches the count; it sleeps, so it is woken by timers, not quanta.
        while s.stats.preemptAsync < preemptions && now() - t0 < timeLimit {
            Scheduler.sleep(nanoseconds: 20_000_000)
            pollPreempt(flag)
        }
        stop.set()
        for h in hs { h.join() }
    }
    #expect(isCompleted(outcome))
    return TortureOutcome(
        corrupted: corrupted.load, calls: calls.load, stats: s.stats, elapsed: now() - t0)
}

extension AsyncPreemptionSuite {
    @Suite struct RegisterIntegrity {
        static var preemptionTarget: Int { longTestsEnabled ? 1_000_000 : 50_000 }

        func check(_ o: TortureOutcome, tasks: Int = 16, procs: Int = 2, _ what: String) {
            let st = o.stats
            #expect(o.corrupted == 0, "\(what): \(o.corrupted) corrupted lanes in \(o.calls) calls; \(st)")
            #expect(st.preemptAsync >= RegisterIntegrity.preemptionTarget, "\(what): \(st)")
            // Many migrations: tasks preempted to the global queue resume on either M.
            #expect(st.migrations >= st.preemptAsync / 20, "\(what): \(st)")
            // The pool: never more blocks than Ps + tasks that can be preempted at once, and
            // nothing held once every task has finished but the P caches.
            #expect(st.xregLiveMax <= procs + tasks, "\(what): \(st)")
            #expect(
                st.xregBlocks <= XRegBlockPool.blocksPerChunk * ((procs + tasks) / XRegBlockPool.blocksPerChunk + 1))
            #expect(st.xregLive <= procs, "\(what): \(st)")
            // The cache does its job: most saves reuse the P's block.
            #expect(st.xregCacheHit > st.xregAlloc, "\(what): \(st)")
            print(
                "[integrity] \(what): \(st.preemptAsync) async preemptions in \(o.elapsed / 1_000_000) ms, "
                    + "\(o.calls) calls, migrations=\(st.migrations) signals=\(st.preemptSignals) "
                    + "unsafe=\(st.preemptUnsafe) xreg.alloc=\(st.xregAlloc) xreg.cachehit=\(st.xregCacheHit) "
                    + "xreg.live.max=\(st.xregLiveMax) xreg.blocks=\(st.xregBlocks)")
        }

        @Test func vectorAndGPRegistersSurviveAsyncPreemptionOnTheDetectedPath() {
            let shape: TortureShape = AsyncPreemption.vectorRegisters == .sse ? .xmm : .ymm
            let o = runTorture(shape: shape, path: nil, preemptions: RegisterIntegrity.preemptionTarget)
            check(o, "\(AsyncPreemption.vectorRegisters) path, \(shape) patterns")
        }

        @Test func registersSurviveWithTheSSEPathForced() {
            // The SSE path saves XMM0–15 only: code using just those is what it must protect.
            let o = runTorture(shape: .xmm, path: .sse, preemptions: RegisterIntegrity.preemptionTarget)
            check(o, "sse path forced, xmm patterns")
            #expect(o.stats.description.contains("preempt.async="))
        }

        @Test(.enabled(if: AsyncPreemption.vectorRegisters == .avx512, "needs a CPU with AVX-512"))
        func zmmAndOpmaskRegistersSurviveOnTheAVX512Path() {
            let o = runTorture(shape: .zmm, path: .avx512, preemptions: RegisterIntegrity.preemptionTarget)
            check(o, "avx512 path, zmm + k patterns")
        }

        @Test func oneTaskAloneIsPreemptedAndResumedOnItsOwnP() {
            // One P, one task: every preemption puts it on the global queue and the same M takes it
            // back at once, so save and restore run back to back through the P's cache.
            let o = runTorture(shape: .ymm, path: nil, procs: 1, tasks: 1, preemptions: 2_000)
            #expect(o.corrupted == 0)
            #expect(o.stats.preemptAsync >= 2_000)
            #expect(o.stats.xregLiveMax <= 2)
            #expect(o.stats.xregAlloc <= 1, "the P's cached block serves every save: \(o.stats)")
        }
    }
}
