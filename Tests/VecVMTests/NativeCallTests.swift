// Native calls between JIT-compiled functions (FunctionLowering's call entry, NativeCallContext and
// the interpreter's materializeNativeChain): recursion runs natively, and everything that leaves the
// native code part-way — an error deep in a chain of calls, a machine stack at its budget, a register
// stack to grow, a yield — leaves the interpreter the same frames it would have built itself, so
// output, errors and tracebacks are those of `--no-jit`.

import Testing

@testable import VecVM

@Suite(
    "native calls", .serialized, .enabled(if: JITSupport.available, "no JIT here (compiled out, or no AVX2+FMA)"))
struct NativeCallTests {
    /// Runs `source` with the JIT (2 Ps, `quantum`) and without it; both must agree; returns the JIT
    /// run (NativeFunctionTests.agree).
    func agree(_ source: String, quantum: Int64 = 10_000_000, sourceLocation: Testing.SourceLocation = #_sourceLocation)
        -> RunResult
    {
        jitRuns.add(NativeFunctionTests().agree(source, quantum: quantum, sourceLocation: sourceLocation))
    }

    /// What the JIT made of this test's programs.
    let jitRuns = JITRuns()
    func isNative(_ name: String) -> Bool { jitRuns.isNative(name) }

    @Test func recursionRunsNatively() {
        let r = agree(
            """
            fn fibN(n: int) -> int {
                if n < 2 { return n }
                return fibN(n - 1) + fibN(n - 2)
            }
            fn ackN(m: int, n: int) -> int {
                if m == 0 { return n + 1 }
                if n == 0 { return ackN(m - 1, 1) }
                return ackN(m - 1, ackN(m, n - 1))
            }
            print(fibN(24), ackN(2, 3), ackN(3, 4))
            """)
        #expect(r.output == "46368 9 125\n")
        #expect(isNative("fibN") && isNative("ackN"))
    }

    @Test func callsPassEveryKindOfValue() {
        let r = agree(
            """
            fn scaleV(v: f64x4, k: float) -> f64x4 { return v * k }
            fn mixV(a: f32x8, b: f32x8, t: f32) -> f32x8 { return fma(b - a, splat(t), a) }
            fn half32(x: f32) -> f32 { return x * 0.5 }
            fn isOdd(n: int) -> bool { return n % 2 == 1 }
            fn nothing(n: int) { }
            fn caller(a: [float], n: int) -> float {
                var acc = splat(0.0)
                var m = splat(f32(0))
                var s = 0.0
                var c = 0
                var i = 0
                while i + 4 <= len(a) {
                    acc = acc + scaleV(vload(a, i), 0.5)
                    m = mixV(m, splat(f32(i)), half32(f32(0.5)))
                    if isOdd(i / 4) { c += 1 }
                    nothing(i)
                    i += 4
                }
                s = sum(acc) + float(sum(m)) + float(c)
                return s
            }
            print(caller(float(iota(64)) * 0.25, 3))
            """)
        #expect(r.error == nil, "\(r.errorText)")
        for name in ["scaleV", "mixV", "half32", "isOdd", "nothing", "caller"] {
            #expect(isNative(name), "\(name): \(jitRuns.interpreted)")
        }
    }

    @Test func deepRecursionPassesTheNativeStackBudget() {
        // 150,000 levels: far past one native chain's machine-stack budget (NativeCallContext), so
        // the chain goes back to the interpreter again and again, which rebuilds its frames and
        // calls natively from there; the register stack grows on the way.
        let r = agree(
            """
            fn down(n: int) -> int {
                if n == 0 { return 0 }
                return down(n - 1) + 1
            }
            fn downF(n: int, x: float) -> float {
                if n == 0 { return x }
                return downF(n - 1, x * 1.0000001) + 0.5
            }
            print(down(150000), downF(20000, 1.0))
            """)
        #expect(r.output.hasPrefix("150000 "), "\(r.output) \(r.errorText)")
        #expect(isNative("down") && isNative("downF"))
    }

    /// The math helper (NativeMathHelper) is Swift code that runs below the deepest native frame:
    /// it must fit in the stack the native calls leave (the reserve below their budget), with the
    /// largest arguments of sin and cos (Payne–Hanek reduction), in the main task and in tasks.
    @Test func theMathHelperRunsAtTheDeepestNativeFrame() {
        let r = agree(
            """
            fn deep(n: int, x: float) -> float {
                if n == 0 { return sin(x * 1e300) + pow(x, 0.5) + tanh(x) }
                return deep(n - 1, x) + sin(x * 1e22 + float(n)) * 0.0
            }
            fn deepv(n: int, v: f64x4) -> f64x4 {
                if n == 0 { return sin(v * 1e300) }
                return deepv(n - 1, v) + cos(v * 1e200) * 0.0
            }
            fn t(n: int) -> float { return deep(n, 0.75) }
            let a = spawn t(2000)
            print(deep(3000, 1.5), deepv(1500, splat(2.5)), wait(a))
            """)
        #expect(r.errorText.isEmpty, "\(r.errorText)")
        #expect(isNative("deep") && isNative("deepv"))
    }

    @Test func unboundedRecursionIsAStackOverflow() {
        let r = agree(
            """
            fn forever(n: int) -> int {
                return forever(n + 1) + 1
            }
            print(forever(0))
            """)
        #expect(r.status == 2)
        #expect(r.errorText.contains("test.vec:2:12: runtime error: stack overflow"), "\(r.errorText)")
        #expect(isNative("forever"))
    }

    @Test func errorsDeepInNativeCallsHaveTheInterpretersTraceback() {
        let r = agree(
            """
            fn leaf(a: [int], i: int) -> int { return a[i] }
            fn inner(n: int, d: int) -> int {
                if n == 0 { return 10 / d }
                return inner(n - 1, d) + 1
            }
            fn outer(k: int) -> int { return inner(k, k - 3) * 2 }
            print(outer(5), outer(4))
            print(outer(3))
            """)
        #expect(r.output == "20 28\n")
        #expect(r.errorText.contains("integer division by zero"), "\(r.errorText)")
        #expect(r.errorText.contains("in inner"), "\(r.errorText)")
        #expect(r.errorText.contains("in outer"), "\(r.errorText)")
        #expect(isNative("inner") && isNative("outer"))
    }

    @Test func recursionYieldsToOtherTasks() {
        // fib has no loop: its native code yields at calls (the call entry polls the flag). A tiny
        // quantum makes yields land everywhere in the recursion; the sleeper must still wake.
        let r = agree(
            """
            fn fibY(n: int) -> int {
                if n < 2 { return n }
                return fibY(n - 1) + fibY(n - 2)
            }
            fn work(k: int) -> int {
                var s = 0
                for i in 0..6 { s = s + fibY(17 + (k + i) % 4) }
                return s
            }
            fn ticker(c: chan<int>) {
                for i in 0..3 {
                    sleep(1)
                    send(c, i)
                }
                close(c)
            }
            let c = chan<int>(10)
            spawn ticker(c)
            let t1 = spawn work(1)
            let t2 = spawn work(2)
            let mine = work(3)
            var got = 0
            for v in c { got += v }
            print(wait(t1), wait(t2), mine, got)
            """, quantum: 50_000)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(isNative("fibY") && isNative("work"))
    }

    @Test func aTaskInDeepNativeRecursionIsStoppedWhenTheRunEnds() {
        // The main task ends while another task is deep in a recursion that would run for minutes:
        // it is stopped at a call (the flag) and unwinds; the run ends.
        let r = run(
            """
            fn spinR(n: int) -> int {
                if n < 2 { return n }
                return spinR(n - 1) + spinR(n - 2)
            }
            spawn spinR(60)
            sleep(20)
            print("done")
            """, mode: Mode(procs: 2, jit: true, asyncPreemption: true, quantumNanoseconds: 1_000_000))
        #expect(r.output == "done\n")
        #expect(r.error == nil)
    }

    @Test func mutualRecursionIsNative() {
        // isEvenM is lowered first; isOddM, lowered inside it, calls it through its cell (a call to
        // the interpreter until isEvenM is native, a native call after).
        let r = agree(
            """
            fn isEvenM(n: int) -> bool { if n == 0 { return true }
                return isOddM(n - 1) }
            fn isOddM(n: int) -> bool { if n == 0 { return false }
                return isEvenM(n - 1) }
            print(isEvenM(10), isOddM(7), isEvenM(3001), isOddM(3001))
            """)
        #expect(r.output == "true true false true\n")
        #expect(isNative("isEvenM") && isNative("isOddM"), "\(jitRuns.interpreted)")
    }

    @Test func cyclesOfThreeWithArraysErrorsAndPreemption() {
        // f -> g -> h -> f over an array, with a cycle member that also calls itself; an error deep in
        // the cycle has the interpreter's location and traceback; unbounded mutual recursion is a
        // clean stack overflow in both modes; a long cycle is preempted (asynchronously and at calls).
        let cycle = """
            fn cycF(a: [float], i: int, acc: float) -> float {
                if i >= len(a) { return acc }
                return cycG(a, i + 1, acc + a[i])
            }
            fn cycG(a: [float], i: int, acc: float) -> float {
                if i >= len(a) { return acc }
                return cycH(a, i + 1, acc * 0.5 + a[i])
            }
            fn cycH(a: [float], i: int, acc: float) -> float {
                if i >= len(a) { return acc }
                if i % 7 == 3 { return cycH(a, i + 1, acc - a[i]) }
                return cycF(a, i + 1, acc + a[i] / float(i))
            }
            fn pingM(n: int, d: int) -> int { if n == 0 { return 100 / d }
                return pongM(n - 1, d) + 1 }
            fn pongM(n: int, d: int) -> int { return pingM(n, d) * 1 }
            fn spinM(n: int) -> int { if n < 2 { return n }
                return spinN(n - 1) + spinN(n - 2) }
            fn spinN(n: int) -> int { return spinM(n) }
            fn forever(n: int) -> int { return foreverToo(n + 1) + 1 }
            fn foreverToo(n: int) -> int { return forever(n + 1) + 1 }
            let xs = fill(2000, 0.0)
            for i in 0..2000 { xs[i] = float(i) * 0.25 }
            print(cycF(xs, 0, 0.0), cycH(xs, 1, 1.0))
            print(spinM(24))
            print(pingM(50, 5))
            """
        var r = agree(cycle, quantum: 100_000)
        #expect(r.error == nil, "\(r.errorText)")
        for f in ["cycF", "cycG", "cycH", "pingM", "pongM", "spinM", "spinN"] {
            #expect(isNative(f), "\(f): \(jitRuns.interpreted)")
        }
        r = agree(cycle + "\nprint(pingM(40, 0))\n")
        #expect(r.errorText.contains("division by zero"), "\(r.errorText)")
        r = agree(cycle + "\nprint(forever(0))\n")
        #expect(r.errorText.contains("stack overflow"), "\(r.errorText)")
    }

    @Test func aCycleMemberThatStaysInterpretedIsCalledThroughTheInterpreter() {
        // readerM uses input before any loop, so it stays interpreted; callerM, lowered while it
        // was being tried, calls it through its cell, which sends every call to the interpreter.
        let r = agree(
            """
            fn readerM(n: int) -> int {
                if n <= 0 { return argc() }
                return callerM(n - 1) + 1
            }
            fn callerM(n: int) -> int { return readerM(n) * 2 }
            print(readerM(5), callerM(4))
            """)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(!isNative("readerM"))
        #expect(jitRuns.interpreted.contains { $0.hasPrefix("readerM: ") })
    }

    @Test func theContextLayoutIsWhatTheCodeReads() {
        // FunctionLowering reads these offsets; prepare and chainCount must write and read them.
        let c = NativeCallContext()
        let registers = UnsafeMutablePointer<UInt64>.allocate(capacity: 8)
        defer { registers.deallocate() }
        c.prepare(sp: 1 << 40, stackLow: 0, registersEnd: registers + 8)
        #expect(c.memory.load(fromByteOffset: NativeCallContext.stackLimitOffset, as: UInt.self) == (1 << 40) - 32768)
        #expect(
            c.memory.load(fromByteOffset: NativeCallContext.registersEndOffset, as: UInt.self)
                == UInt(bitPattern: registers + 8))
        #expect(
            c.memory.load(fromByteOffset: NativeCallContext.chainOffset, as: UInt.self) == UInt(bitPattern: c.chain))
        c.memory.storeBytes(of: 3, toByteOffset: NativeCallContext.chainCountOffset, as: Int.self)
        #expect(c.chainCount == 3)
        // A task's stack: the reserve above its bottom is never used, however close `sp` is.
        c.prepare(sp: 100_000, stackLow: 90_000, registersEnd: registers)
        #expect(c.memory.load(fromByteOffset: NativeCallContext.stackLimitOffset, as: UInt.self) == 100_000)
        #expect(c.chainCount == 0)
        #expect(NativeCallContext.chainCapacity * 40 > NativeCallContext.stackBudget)
    }
}

extension NativeCallTests {
    @Test func smallCalleesAreInlinedAndStillFailWhereTheyWould() {
        // half, fsq and lanes are small leaves: their bodies go into the loops that call them. An
        // error inside one leaves the interpreter the callee's frame above the caller's, as a call.
        let r = agree(
            """
            fn half(x: int, d: int) -> int { return x / d + 1 }
            fn fsq(x: float) -> float { if x < 0.0 { return -x * x } else { return x * x } }
            fn lanes(v: f64x4, k: int) -> float { return lane(v, k) * 2.0 }
            fn twice(v: f32x8) -> f32x8 { return v + v }
            fn loopI(n: int, d: int) -> float {
                var s = 0.0
                var t = 0
                var w = splat(f32(1))
                for i in 0..n {
                    t += half(i, d)
                    s += fsq(float(i) - 3.5) + lanes(splat(float(i)), i % 4)
                    w = twice(w) * 0.5
                }
                return s + float(t) + float(sum(w))
            }
            fn badLane(n: int) -> float {
                var s = 0.0
                for i in 0..n { s += lanes(splat(1.0), i) }
                return s
            }
            print(loopI(100, 3), badLane(4))
            print(loopI(10, 0))
            """)
        #expect(r.output == "306508.0 8.0\n", "\(r.output)")
        #expect(r.errorText.contains("test.vec:1:43: runtime error: integer division by zero"), "\(r.errorText)")
        #expect(r.errorText.contains("in loopI") && r.errorText.contains("in half"), "\(r.errorText)")
        let lane = agree(
            """
            fn lanes(v: f64x4, k: int) -> float { return lane(v, k) * 2.0 }
            fn badLane(n: int) -> float {
                var s = 0.0
                for i in 0..n { s += lanes(splat(1.0), i) }
                return s
            }
            print(badLane(9))
            """)
        #expect(lane.errorText.contains("lane 4 out of range"), "\(lane.errorText)")
        #expect(lane.errorText.contains("in badLane") && lane.errorText.contains("in lanes"), "\(lane.errorText)")
        #expect(isNative("loopI") && isNative("badLane"))
    }
}

extension NativeCallTests {
    @Test func directCallsFromTheHostRunRecursionNatively() throws {
        // A direct call runs on the host's thread (no task stack): the native chain's budget is
        // counted from the host's stack pointer; deep recursion and errors come back as in a task.
        let vm = VM(configuration: VMConfiguration(procs: 1, output: CapturedOutput()))
        defer { vm.shutdown() }
        let source = """
            fn fibD(n: int) -> int {
                if n < 2 { return n }
                return fibD(n - 1) + fibD(n - 2)
            }
            fn downD(n: int) -> int {
                if n == 0 { return 0 }
                return downD(n - 1) + 1
            }
            fn failD(n: int, d: int) -> int {
                if n == 0 { return 1 / d }
                return failD(n - 1, d) + 1
            }
            """
        let instance = try vm.instantiate(try vm.compile(source: source, fileName: "direct.vec"))
        #expect(try instance.call("fibD", with: [.int(22)], as: Int.self) == 17711)
        #expect(instance.lastRun?.ranOnCallingThread == true)
        #expect(try instance.call("downD", with: [.int(100_000)], as: Int.self) == 100_000)
        #expect(try instance.call("failD", with: [.int(50), .int(1)], as: Int.self) == 51)
        do {
            _ = try instance.call("failD", with: [.int(50), .int(0)])
            Issue.record("expected a runtime error")
        } catch {
            #expect(error.runtimeError?.message == "integer division by zero", "\(error)")
        }
        jitRuns.add(vm.jit?.statistics)
        #expect(isNative("fibD") && isNative("downD") && isNative("failD"))
    }
}
