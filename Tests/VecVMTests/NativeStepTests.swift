// Native functions that run kernels, builtins, strings, prints, globals and object moves through the
// runtime (JIT/FunctionLowering+Steps.swift): they must be native, print what the interpreter prints,
// fail with the interpreter's error, location and traceback, and give objects back to their callers
// and to the tasks that wait for them; and the functions of programs/ are native but for the few
// whose reason is named here.

import Foundation
import Testing

@testable import VecVM

@Suite("native steps", .serialized, .enabled(if: JITSupport.available, "no JIT here (compiled out, or no AVX2+FMA)"))
struct NativeStepTests {
    /// Runs `source` with the JIT (2 Ps, async preemption, `quantum`) and without it; both must agree.
    func agree(_ source: String, quantum: Int64 = 10_000_000, sourceLocation: Testing.SourceLocation = #_sourceLocation)
        -> RunResult
    {
        runAgreeing(source, quantum: quantum, into: jitRuns, sourceLocation: sourceLocation)
    }

    /// What the JIT made of this test's programs.
    let jitRuns = JITRuns()
    func isNative(_ name: String) -> Bool { jitRuns.isNative(name) }

    @Test func kernelsBuiltinsStringsAndGlobalsRunInsideNativeFunctions() {
        let r = agree(
            """
            let limit = 3
            let weights = [0.5, 0.25, 0.125]
            fn stepNorm(x: [float]) -> float { return sqrt(dot(x, x)) }
            fn stepScaled(x: [float], k: float) -> [float] { return x * k }
            fn stepSquares(n: int) -> [int] {
                var out = fill(n, 0)
                for i in 0..n { out[i] = i * i }
                return out
            }
            fn stepLabel(n: int) -> str { return "n=" + str(n) }
            fn stepTail(x: [float], k: int) -> float {
                let t = x[k..len(x)]
                var s = 0.0
                for i in 0..len(t) { s += t[i] }
                return s + sum(t)
            }
            fn stepShow(v: f32x8, m: int) {
                let big = v > splat(f32(2))
                print(v, m, big, now() > 0)
            }
            fn stepWeighted(x: [float]) -> float {
                var s = 0.0
                for i in 0..limit { s += weights[i] * x[i] }
                return s
            }
            fn stepBits(n: int) -> int {
                let b = iota(n) % 2 == 0
                var c = 0
                for i in 0..n { if b[i] { c += 1 } }
                return c
            }
            fn stepChurn(n: int) -> float {
                var s = 0.0
                for i in 0..n {
                    let t = fill(100, float(i))
                    s += sum(t * 0.5) + t[i % 100]
                }
                return s
            }
            let xs = [3.0, 4.0, 12.0]
            print(stepNorm(xs), stepScaled(xs, 2.0), stepSquares(5), stepLabel(7), stepTail(xs, 1))
            stepShow(vload(f32([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), 0), 3)
            print(stepWeighted(xs), stepBits(9), stepChurn(20000))
            let t = spawn stepSquares(4)
            print(wait(t))
            """, quantum: 200_000)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(
            r.output == """
                13.0 [6.0, 8.0, 24.0] [0, 1, 4, 9, 16] n=7 32.0
                <1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0> 3 <false, false, true, true, true, true, true, true> true
                4.0 5 10199490000.0
                [0, 1, 4, 9]

                """)
        for name in [
            "stepNorm", "stepScaled", "stepSquares", "stepLabel", "stepTail", "stepShow", "stepWeighted", "stepBits",
            "stepChurn",
        ] {
            #expect(isNative(name), "\(name): \(jitRuns.interpreted)")
        }
        #expect(jitRuns.steps.contains { $0.hasPrefix("stepScaled: runs kernel, retRef") })
    }

    @Test func errorsOfStepsHaveTheInterpretersLocationAndTraceback() {
        let slice = agree(
            """
            fn stepCut(a: [int], lo: int) -> int { return sum(a[lo..len(a)]) }
            print(stepCut(iota(5), 2))
            print(stepCut(iota(5), 7))
            """)
        #expect(slice.output == "9\n")
        #expect(
            slice.errorText.hasPrefix("test.vec:1:52: runtime error: slice 7..5 out of bounds for array of length 5"))
        #expect(slice.errorText.contains("in stepCut"))
        let lengths = agree(
            """
            fn stepAdd(a: [float], b: [float]) -> [float] {
                var s = 0.0
                for i in 0..len(a) { s += a[i] }
                return a + b * s
            }
            print(stepAdd([1.0], [2.0]))
            print(stepAdd(fill(3, 1.0), fill(4, 2.0)))
            """)
        #expect(lengths.output == "[3.0]\n")
        #expect(lengths.errorText.hasPrefix("test.vec:4:14: runtime error: array length mismatch: 3 vs 4"))
        let global = agree(
            """
            fn stepEarly() -> float { return g * 2.0 }
            print(stepEarly())
            let g = 1.5
            """)
        #expect(global.errorText.hasPrefix("test.vec:1:34: runtime error: global variable 'g' is used before"))
        #expect(isNative("stepCut") && isNative("stepAdd") && isNative("stepEarly"))
    }

    @Test func channelsTasksAndSleepsInsideNativeFunctions() {
        // Producers and consumers on unbuffered and buffered channels, a `for v in c` loop, a wait, a
        // sleep and a spawn, all inside native functions; values made before a task parks (ints,
        // floats, SIMD values, an array) are there after it is woken. Both with few tasks and with
        // more than a scheduler keeps stacks for, when a parked task gives its stack back.
        let r = agree(
            """
            fn chProduce(out: chan<int>, n: int) {
                for i in 1..n + 1 { send(out, i * i) }
                close(out)
            }
            fn chFilter(inp: chan<int>, out: chan<int>) {
                let keep = fill(3, 0)
                var v8 = splat(f32(0.5))
                var f = 0.25
                for v in inp {
                    keep[v % 3] += 1
                    v8 = v8 + splat(f32(v % 5))
                    f = f * 1.5 + float(v % 7)
                    if v % 2 == 1 { send(out, v) }
                }
                send(out, keep[0] * 100 + keep[1] * 10 + keep[2])
                send(out, int(sum(v8)) + int(f) % 1000)
                close(out)
            }
            fn chSum(inp: chan<int>) -> int {
                var s = 0
                for v in inp { s += v }
                return s
            }
            fn chNap(x: int) -> int {
                sleep(2)
                return 2 * x
            }
            fn chFan(n: int) -> int {
                let tasks = chan<task<int>>(n)
                for i in 0..n { send(tasks, spawn chNap(i)) }
                close(tasks)
                var total = 0
                for t in tasks { total += wait(t) }
                return total
            }
            fn chRound(k: int) -> int {
                let a = chan<int>(0)
                let b = chan<int>(4)
                spawn chProduce(a, k)
                spawn chFilter(a, b)
                return chSum(b)
            }
            fn chTell(c: chan<int>, j: int) {
                let a = fill(4, float(j))
                var s = 0
                for i in 0..j % 3 { s += i }
                send(c, int(sum(a)) + s)
            }
            print(chRound(50), chRound(500), chFan(20))
            var many = 0
            let results = chan<int>(0)
            for j in 0..1500 { spawn chTell(results, j) }
            for j in 0..1500 { many += recv(results) }
            print(many)
            """, quantum: 100_000)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "23590 20860386 380\n4497500\n")
        for name in ["chProduce", "chFilter", "chSum", "chNap", "chFan", "chRound", "chTell"] {
            #expect(isNative(name), "\(name): \(jitRuns.interpreted)")
        }
    }

    @Test func errorsOfChannelStepsHaveTheInterpretersLocation() {
        let closed = agree(
            """
            fn chLate(c: chan<int>, n: int) {
                for i in 0..n { send(c, i) }
            }
            let c = chan<int>(8)
            close(c)
            chLate(c, 3)
            """)
        #expect(closed.errorText.hasPrefix("test.vec:2:21: runtime error: send on a closed channel"))
        let drained = agree(
            """
            fn chTake(c: chan<int>, n: int) -> int {
                var s = 0
                for i in 0..n { s += recv(c) }
                return s
            }
            let c = chan<int>(8)
            send(c, 5)
            close(c)
            print(chTake(c, 2))
            """)
        #expect(drained.errorText.hasPrefix("test.vec:3:26: runtime error: receive from a closed and drained channel"))
        #expect(isNative("chLate") && isNative("chTake"))
    }

    /// What still keeps a function of programs/ interpreted, by program/function; every other function there is
    /// native. Shrink this list as native code learns more (issue 11).
    static let stillInterpreted: [String: String] = [:]

    @Test func theFunctionsOfProgramsAreNative() throws {
        let scratch = try ScratchDirectory()
        for name in TestPaths.programNames() {
            let source = try String(
                contentsOf: TestPaths.programs.appendingPathComponent(name + ".vec"), encoding: .utf8)
            let arguments = [TestPaths.programs.appendingPathComponent("data").path, scratch.path("\(name).out.npy")]
            let r = jitRuns.add(
                run(source, file: name + ".vec", mode: Mode.all[2], arguments: arguments, files: true))
            #expect(r.error == nil, "\(name): \(r.errorText)")
            let defined = source.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("fn ") else { return nil }
                return line.dropFirst(3).split(separator: "(").first.map(String.init)
            }
            for f in defined {
                if let why = NativeStepTests.stillInterpreted["\(name)/\(f)"] {
                    #expect(
                        jitRuns.interpreted.contains("\(f): \(why)"),
                        "\(name): \(f) is no longer interpreted for '\(why)': \(jitRuns.interpreted.filter { $0.hasPrefix(f) })"
                    )
                } else {
                    #expect(
                        isNative(f), "\(name): \(f): \(jitRuns.interpreted.filter { $0.hasPrefix(f) })")
                }
            }
        }
    }
}
