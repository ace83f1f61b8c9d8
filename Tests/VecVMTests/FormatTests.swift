// The print formats of LANGUAGE.md ("Output").

import Testing

@testable import VecVM

@Suite("print formats")
struct FormatTests {
    @Test func floats() {
        let cases: [(Double, String)] = [
            (3.0, "3.0"), (0.1, "0.1"), (1e-05, "1e-05"), (2.5e-07, "2.5e-07"), (1e20, "1e+20"),
            (0.1 + 0.2, "0.30000000000000004"),
            (9007199254740992.0, "9007199254740992.0"), (9007199254740994.0, "9.007199254740994e+15"), (1e-4, "0.0001"),
            (-0.0, "-0.0"), (.infinity, "inf"), (-.infinity, "-inf"), (.nan, "nan"), (-.nan, "nan"),
            (.leastNonzeroMagnitude, "5e-324"),
        ]
        for (d, s) in cases { #expect(ValueFormatter.float(d) == s) }
    }

    @Test func f32s() {
        let cases: [(Float, String)] = [
            (0.1, "0.1"), (1.0 / 3.0, "0.33333334"), (16_777_216, "16777216.0"), (16_777_218, "1.6777218e+07"),
            (1e-5, "1e-05"), (3, "3.0"),
        ]
        for (f, s) in cases { #expect(ValueFormatter.f32(f) == s) }
    }

    @Test func valuesThroughPrint() {
        let r = run(
            """
            print(42, -7, true, false, "text")
            print([1, 2, 3], [0.5, 1.5], f32([1.0, 2.0]))
            print(iota(17))
            print(iota(16))
            print(splat(f32(1.5)), splat(2.0))
            print()
            print(str(7) + "/" + str(0.25) + "/" + str(true) + "/" + str([1]))
            """)
        #expect(
            r.output == """
                42 -7 true false text
                [1, 2, 3] [0.5, 1.5] [1.0, 2.0]
                [0, 1, 2, 3, 4, 5, 6, 7, ..., 9, 10, 11, 12, 13, 14, 15, 16] (len 17)
                [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
                <1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5> <2.0, 2.0, 2.0, 2.0>

                7/0.25/true/[1]

                """)
    }

    @Test func sqrtOfALiteralIsAFloat() {
        #expect(run("print(sqrt(2), sqrt(f32(2)))").output == "1.4142135623730951 1.4142135\n")
    }

    @Test func literalsTypedByContext() {
        let r = run(
            """
            let f: float = 7 / 2
            let g = 7 / 2
            let h: f32 = 0.1 + 0.2
            print(f, g, h, 0.1 + 0.2, f32(0.1), -9223372036854775808)
            """)
        #expect(r.output == "3.5 3 0.3 0.30000000000000004 0.1 -9223372036854775808\n", "\(r.errorText)")
    }
}
