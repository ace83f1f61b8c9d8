// Native functions with more integers live at once than there are GPRs (JIT/FunctionLowering.swift,
// allocateWithSpills): some integers stay in their register slots, carried through each instruction
// by the two spill registers. Such a function must be native, say so in --stats, and print, fail and
// yield exactly as the interpreter does — with spilled loop counters, spilled division operands and
// spilled values live across calls, preemption polls and steps.

import Testing

@testable import VecVM

@Suite(
    "spilled integers", .serialized, .enabled(if: JITSupport.available, "no JIT here (compiled out, or no AVX2+FMA)"))
struct SpillTests {
    func agree(_ source: String, quantum: Int64 = 10_000_000, sourceLocation: Testing.SourceLocation = #_sourceLocation)
        -> RunResult
    {
        runAgreeing(source, quantum: quantum, into: jitRuns, sourceLocation: sourceLocation)
    }

    /// What the JIT made of this test's programs.
    let jitRuns = JITRuns()
    func spills(_ name: String) -> Bool { jitRuns.spilled.contains { $0.hasPrefix(name + ": ") } }

    /// Fourteen accumulators and three nested loop counters live at once: more than the GPRs. The outer
    /// counter is not read inside, so it is the cheapest to spill: its forLoop runs from its slot.
    static let pressure = """
        fn spillMix(n: int, d: int) -> int {
            var a = 1
            var b = 2
            var c = 3
            var e = 5
            var f = 7
            var g = 11
            var h = 13
            var k = 17
            var m = 19
            var p = 23
            var q = 29
            var r = 31
            var s = 37
            var t = 41
            for i in 0..n {
                for j in 0..3 {
                    for l in 0..2 {
                        a = a + j * 3 + l
                        b = b + (a + j) % 97
                        c = c + b % 7 - l
                        e = e * 3 + c / d
                        f = f + e % 1000 - l
                        g = g + f % 256
                        h = h - g / 3 + j
                        k = k + h % 11
                        m = m * 5 % 100003 + k
                        p = p + m / d - l
                        q = q + p % 3
                        r = r + q % 13 * j
                        s = s + r - j
                        t = t + s % 17 + a
                    }
                }
            }
            return a + b + c + e + f + g + h + k + m + p + q + r + s + t
        }
        """

    @Test func aFunctionWithMoreIntegersThanRegistersIsNativeAndAgrees() {
        let r = agree(
            SpillTests.pressure + """

                print(spillMix(50, 3))
                print(spillMix(0, 7))
                print(spillMix(1000, 9))
                """)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(jitRuns.compiled.contains("spillMix"))
        #expect(spills("spillMix"), "\(jitRuns.spilled)")
    }

    @Test func divisionByZeroWithSpilledOperandsFailsWhereTheInterpreterDoes() {
        let r = agree(
            SpillTests.pressure + """

                print(spillMix(3, 2))
                print(spillMix(3, 0))
                """)
        #expect(r.errorText.contains("division by zero"), "\(r.errorText)")
        #expect(spills("spillMix"))
    }

    @Test func spilledValuesLiveAcrossCallsPollsAndSteps() {
        // A long loop (preempted at its polls, asynchronously between them), a native call and a
        // step (print, str) with the spilled values live across each.
        let r = agree(
            SpillTests.pressure + """

                fn spillTwice(x: int) -> int { return x * 2 + 1 }
                fn spillAround(n: int) -> int {
                    var a = 1
                    var b = 2
                    var c = 3
                    var e = 5
                    var f = 7
                    var g = 11
                    var h = 13
                    var k = 17
                    var m = 19
                    var p = 23
                    var q = 29
                    var total = 0
                    for i in 0..n {
                        a = spillTwice(a + i) % 1009
                        b = b + a % 3
                        c = c + b % 5
                        e = e + c % 7
                        f = f + e % 11
                        g = g + f % 13
                        h = h + g % 17
                        k = k + h % 19
                        m = m + k % 23
                        p = p + m % 29
                        q = q + p % 31
                        if i % 100000 == 0 { print("at", i, str(a + b + c)) }
                        total = total + a + b + c + e + f + g + h + k + m + p + q
                    }
                    return total
                }
                print(spillAround(400000))
                print(spillMix(20000, 5))
                """, quantum: 200_000)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(spills("spillAround"), "\(jitRuns.spilled)")
    }
}
