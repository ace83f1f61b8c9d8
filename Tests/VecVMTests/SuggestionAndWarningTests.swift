// "Did you mean" suggestions (edit distance within scope), warnings (unused, never assigned, never
// read, unreachable), the two diagnostics that used to be wrong, and the coloured rendering.

import Testing

@testable import VecVM

/// The warnings of a program that compiles.
func warnings(_ source: String) throws -> [String] {
    let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
    return try vm.compile(source: source, fileName: "w.vec").warnings.map {
        "\($0.location.line):\($0.location.column) \($0.message)"
    }
}

@Suite("suggestions and warnings")
struct SuggestionAndWarningTests {
    @Test func editDistance() {
        func d(_ a: String, _ b: String) -> Int {
            Suggestions.distance(Array(a.unicodeScalars), Array(b.unicodeScalars))
        }
        #expect(d("squre", "square") == 1)
        #expect(d("whille", "while") == 1)
        #expect(d("retrun", "return") == 1)  // a swap of neighbours is one edit
        #expect(d("flaot", "float") == 1)
        #expect(d("kitten", "sitting") == 3)
        #expect(d("", "abc") == 3)
        #expect(Suggestions.closest(to: "squre", among: ["sqrt", "square", "sum"]) == "square")
        #expect(Suggestions.closest(to: "Print", among: ["print"]) == "print")  // case alone always qualifies
        #expect(Suggestions.closest(to: "xyzzy", among: ["print", "len"]) == nil)
        #expect(Suggestions.closest(to: "lenght", among: ["len"]) == nil)  // 3 edits; 6 letters allow 2
        // Ties go to the alphabetically first, whatever the order of the candidates.
        #expect(Suggestions.closest(to: "cat", among: ["hat", "bat"]) == "bat")
        #expect(Suggestions.closest(to: "cat", among: ["bat", "hat"]) == "bat")
    }

    @Test func suggestionsComeFromWhatIsInScope() {
        func message(_ source: String) -> String { diagnostics(source).first?.message ?? "(compiled)" }
        #expect(
            message("fn square(x: int) -> int { return x * x }\nprint(squre(2))")
                == "unknown function 'squre' (did you mean 'square'?)")
        #expect(message("print(lenn(iota(3)))") == "unknown function 'lenn' (did you mean 'len'?)")
        #expect(message("let total = 1\nprint(totl)") == "unknown name 'totl' (did you mean 'total'?)")
        // A local of another function is not in scope: no suggestion.
        #expect(message("fn f() { let counter = 1; print(counter) }\nprint(countr)") == "unknown name 'countr'")
        // A function body sees the file's top-level variables, wherever they are declared.
        #expect(
            message("fn f() -> int { return limt }\nlet limit = 3") == "unknown name 'limt' (did you mean 'limit'?)")
        #expect(message("let b = fasle") == "unknown name 'fasle' (did you mean 'false'?)")
        #expect(message("let x: innt = 1") == "unknown type 'innt' (did you mean 'int'?)")
        #expect(message("let c = chan<flot>(1)") == "unknown type 'flot' (did you mean 'float'?)")
        #expect(message("fn w() {}\nspawn ww()") == "unknown function 'ww' (did you mean 'w'?)")
        #expect(message("fro i in 0..3 { }") == "'fro' is not a keyword (did you mean 'for'?)")
        #expect(message("lett x = 1") == "'lett' is not a keyword (did you mean 'let'?)")
        #expect(message("whille (true) { }") == "'whille' is not a keyword (did you mean 'while'?)")
        // Not every unexpected word is a keyword typo.
        #expect(message("print 1") == "expected end of statement (a new line or ';'), found '1'")
    }

    @Test func theTwoDiagnosticsThatWereWrong() {
        // The end of `f` cannot be reached: no "can reach its end" error, a warning for the dead code.
        #expect(diagnostics("fn f() -> int { return 1; let y = 1 }\nprint(f())").isEmpty)
        #expect(run("fn f() -> int { return 1; let y = 1 }\nprint(f())").output == "1\n")
        // `.` is member syntax, which .vec does not have: say so, and what to write.
        let d = diagnostics("var a = [1.0, 2.0]\na.push(3.0)")
        #expect(d.count == 1)
        #expect(d.first?.location == SourceLocation(line: 2, column: 2))
        #expect(
            d.first?.message
                == "'.' member syntax does not exist in .vec: arrays have a fixed length (there is no 'push'): make one of the length you need with 'fill(n, x)' and set its elements with 'a[i] = x'"
        )
        #expect(
            diagnostics("let a = iota(3)\nprint(a.len())").first?.message
                == "'.' member syntax does not exist in .vec: functions take the value as an argument: write 'len(a)'")
        #expect(
            diagnostics("let v = [1.0]\nprint(v[0].max(2.0, 3.0))").first?.message
                == "'.' member syntax does not exist in .vec: functions take the value as an argument: write 'max(v[0], 2.0, 3.0)'"
        )
        #expect(
            diagnostics("let x = 2.\nprint(x)").first?.message == "a float literal needs a digit after the dot: '2.0'")
        #expect(
            diagnostics("let x = .5").first?.message
                == "unexpected character '.' (a float literal needs a digit before the dot: '0.5')")
        // Still an error where the end is reachable.
        #expect(
            diagnostics("fn f(n: int) -> int {\n if n > 0 { return 1 }\n}").first?.message
                == "function 'f' can reach its end without returning an int")
    }

    @Test func warningsAndWhatIsExempt() throws {
        #expect(
            try warnings(
                """
                fn f(a: int, unused: int, _skip: int) -> int {
                    let b = 2
                    var c = 3
                    var d = 0
                    d = a
                    var e = 1
                    e += 1
                    let _quiet = 4
                    return a * c
                }
                print(f(1, 2, 3))
                """) == [
                    "1:14 unused parameter 'unused' (if that is intended, name it '_unused')",
                    "2:9 unused variable 'b' (if that is intended, name it '_b')",
                    "3:9 variable 'c' is declared with 'var' but never assigned: use 'let'",
                    "4:9 variable 'd' is assigned but its value is never read",
                    "6:9 variable 'e' is assigned but its value is never read",
                ])
        // An array or channel `var` whose contents change is not asked to be `let`; loop variables are
        // not checked; a top-level variable read by a function is used.
        #expect(
            try warnings(
                """
                var out = fill(3, 0)
                out[1] = 2
                var c = chan<int>(1)
                send(c, 1)
                let limit = 3
                fn get() -> int { return limit }
                for i in 0..2 { print(get()) }
                print(out, recv(c))
                """
            ).isEmpty)
        #expect(
            try warnings("let top = 1\nwhile true { break\n print(top) }\nfor i in 0..3 { continue; print(i) }") == [
                "3:2 this code will never run (it follows a 'break')",
                "4:27 this code will never run (it follows a 'continue')",
            ])
        #expect(
            try warnings("fn f(x: int) -> int {\n if x > 0 { return 1 } else { return 2 }\n print(x)\n}\nprint(f(1))")
                == [
                    "3:2 this code will never run (every branch of the 'if' before it leaves)"
                ])
        #expect(
            try warnings("fn spin() {\n while true { }\n print(1)\n}\nspawn spin()") == [
                "3:2 this code will never run (the loop before it never ends)"
            ])
        // A program with an error gets no warnings (they would often be its consequences).
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        #expect(throws: CompileError.self) { try vm.compile(source: "let unused = nope", fileName: "e.vec") }
    }

    @Test func colourOnlyWhenAsked() throws {
        let d = diagnostics("print(nope)", file: "c.vec")[0]
        #expect(d.description == "c.vec:1:7: error: unknown name 'nope'\nprint(nope)\n      ^")
        let coloured = d.rendered(colour: true)
        #expect(coloured.contains("\u{1B}[1;31merror:\u{1B}[0m"))
        #expect(coloured.hasSuffix("      \u{1B}[1;31m^\u{1B}[0m"))
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let w = try vm.compile(source: "let unused = 1", fileName: "c.vec").warnings[0]
        #expect(w.rendered(colour: true).contains("\u{1B}[1;33mwarning:\u{1B}[0m"))
        #expect(!w.description.contains("\u{1B}"))
        let r = run("let a = iota(2)\nprint(a[2])", file: "c.vec")
        let e = try #require(r.error?.runtimeError)
        #expect(e.rendered(colour: true).contains("\u{1B}[1;31mruntime error:\u{1B}[0m"))
        #expect(
            e.description
                == "c.vec:2:8: runtime error: index 2 out of bounds for array of length 2\nprint(a[2])\n       ^\n    in task 1 (main)"
        )
    }

    @Test func tracebacksListTheCallsInnermostLast() throws {
        let r = run(
            "fn a(n: int) -> int { return b(n) }\nfn b(n: int) -> int { return 10 / n }\nlet t = spawn a(0)\nprint(wait(t))",
            file: "t.vec")
        let e = try #require(r.error?.runtimeError)
        #expect(e.traceback.frames.map(\.function) == ["a", "b"])
        #expect(
            e.traceback.frames.map(\.location) == [
                SourceLocation(line: 1, column: 30), SourceLocation(line: 2, column: 33),
            ])
        #expect(e.spawnSite?.location == SourceLocation(line: 3, column: 9))
        #expect(e.spawnSite?.parentName == "main")
        // Deep recursion: one frame with a repeat count; very deep alternation: the ends only.
        let deep = run("fn down(n: int) -> int { return down(n + 1) + 1 }\nprint(down(0))")
        let d = try #require(deep.error?.runtimeError)
        #expect(d.message == "stack overflow")
        #expect(d.traceback.frames.count == 2)
        #expect(d.traceback.frames[1].repeats > 1000)
        let mutual = run(
            "fn p(n: int) -> int { return q(n + 1) }\nfn q(n: int) -> int { return p(n + 1) }\nprint(p(0))")
        let m = try #require(mutual.error?.runtimeError)
        #expect(m.traceback.frames.count == 2 * TaskRunner.tracebackEnds)
        #expect(m.traceback.omitted > 1000)
        #expect(m.description.contains("\n  ... \(m.traceback.omitted) more frames ...\n"))
    }
}
