// Compile errors and runtime errors: each checked for its message, line, column and exit status, and
// for the rendering LANGUAGE.md specifies (FILE:LINE:COL: error: MESSAGE, the line, a caret).

import Testing

@testable import VecVM

@Suite("diagnostics")
struct DiagnosticsTests {
    struct CompileCase: CustomStringConvertible, Sendable {
        let source: String
        let line: Int32
        let column: Int32
        let message: String
        var description: String { message }
    }

    static let compileCases: [CompileCase] = [
        CompileCase(
            source: "let a = 1\nlet b = 2.5\nprint(a + b)", line: 3, column: 9,
            message: "cannot apply '+' to int and float"),
        CompileCase(
            source: "let x = 1\nx = 2", line: 2, column: 1, message: "cannot assign to 'x': it is declared with 'let'"),
        CompileCase(source: "print(y)", line: 1, column: 7, message: "unknown name 'y'"),
        CompileCase(source: "let s = \"abc", line: 1, column: 9, message: "unterminated string literal"),
        CompileCase(source: "let x: int = 2.5", line: 1, column: 14, message: "cannot use float literal 2.5 as an int"),
        CompileCase(
            source: "let a = f32(1)\nlet b = 1.0\nlet c = a * b", line: 3, column: 11,
            message: "cannot apply '*' to f32 and float"),
        CompileCase(source: "fn f() -> int { }", line: 1, column: 4, message: "can reach its end without returning"),
        CompileCase(source: "break", line: 1, column: 1, message: "'break' outside a loop"),
        CompileCase(source: "let a = []", line: 1, column: 9, message: "empty array literal needs a declared type"),
        CompileCase(
            source: "let a = [1, 2.5]\nlet b = [\"x\"]", line: 2, column: 10,
            message: "arrays hold int, float, f32 or bool"),
        CompileCase(source: "fn f() { }\nlet x = f()", line: 2, column: 9, message: "produces no value"),
        CompileCase(source: "let x = 9223372036854775808", line: 1, column: 9, message: "does not fit in an int"),
        CompileCase(source: "let x = 5 % 2.0", line: 1, column: 11, message: "'%' is for integers"),
        CompileCase(
            source: "let c = chan<int>(1)\nsend(c, \"x\")", line: 2, column: 9,
            message: "cannot send a str on a chan<int>"),
        CompileCase(
            source: "let v = splat(f32(1))\nlet w = v + splat(1.0)", line: 2, column: 11,
            message: "cannot apply '+' to f32x8 and f64x4"),
        CompileCase(source: "let x = 1 +", line: 1, column: 12, message: "expected an expression"),
        CompileCase(source: "if 1 { }", line: 1, column: 4, message: "a condition must be a bool"),
        CompileCase(
            source: "let x = 1\nlet x = 2", line: 2, column: 5, message: "'x' is already declared in this scope"),
        CompileCase(
            source: "fn f(a: int) -> int { return a }\nprint(f(1, 2))", line: 2, column: 7,
            message: "'f' takes 1 argument, not 2"),
        CompileCase(source: "let q = 1 & 2", line: 1, column: 11, message: "unexpected character '&'"),
        CompileCase(
            source: "fn f() { fn g() { } }", line: 1, column: 10, message: "functions are declared at the top level"),
        CompileCase(
            source: "let n = 4\nlet x = sqrt(n)", line: 2, column: 14, message: "sqrt needs float or f32 values"),
        CompileCase(
            source: "let a = iota(3)\nlet b = a[1.5]", line: 2, column: 11,
            message: "cannot use float literal 1.5 as an int"),
        CompileCase(source: "/* never closed", line: 1, column: 1, message: "unterminated block comment"),
        CompileCase(source: "let x = 0x", line: 1, column: 9, message: "hexadecimal literal needs digits"),
        CompileCase(source: "let t: task = 1", line: 1, column: 8, message: "'task' needs an element type"),
    ]

    @Test("compile errors", arguments: compileCases)
    func compileError(_ c: CompileCase) {
        let ds = diagnostics(c.source, file: "case.vec")
        guard let d = ds.first else {
            Issue.record("expected an error containing \"\(c.message)\"")
            return
        }
        #expect(d.message.contains(c.message), "got: \(d.message)")
        #expect(d.location.line == c.line, "got: \(d)")
        #expect(d.location.column == c.column, "got: \(d)")
        let r = run(c.source, file: "case.vec")
        #expect(r.status == 1)
        #expect(r.output == "")
    }

    @Test func compileErrorRendering() {
        let r = run("let a = 1\nlet b = 2.5\nprint(a + b)", file: "err_type.vec")
        #expect(r.status == 1)
        let lines = r.errorText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines[0]
                == "err_type.vec:3:9: error: cannot apply '+' to int and float (no implicit conversion: use int(...) or float(...))"
        )
        #expect(lines[1] == "print(a + b)")
        #expect(lines[2] == "        ^")
    }

    @Test func severalErrorsAreAllReported() {
        let ds = diagnostics("let a = 1 + true\nlet b: str = 3\nprint(c)")
        #expect(ds.count == 3)
        #expect(ds.map(\.location.line) == [1, 2, 3])
    }

    struct RuntimeCase: CustomStringConvertible, Sendable {
        let source: String
        let line: Int32
        let column: Int32
        let message: String
        let output: String
        var description: String { message }
    }

    static let runtimeCases: [RuntimeCase] = [
        RuntimeCase(
            source: "let a = iota(4)\nprint(a[3])\nprint(a[4])", line: 3, column: 8,
            message: "index 4 out of bounds for array of length 4", output: "3\n"),
        RuntimeCase(
            source: "var z = 0\nprint(1 / z)", line: 2, column: 9, message: "integer division by zero", output: ""),
        RuntimeCase(
            source: "var z = 0\nprint(1 % z)", line: 2, column: 9, message: "integer division by zero", output: ""),
        RuntimeCase(
            source: "let a = fill(3, 1.0)\nlet b = fill(4, 1.0)\nlet c = a + b", line: 3, column: 11,
            message: "length mismatch: 3 vs 4", output: ""),
        RuntimeCase(
            source: "let a = iota(5)\nlet s = a[2..9]", line: 2, column: 10, message: "slice 2..9 out of bounds",
            output: ""),
        RuntimeCase(
            source: "let a = fill(7, f32(0))\nlet v = vload(a, 0)", line: 2, column: 9,
            message: "vload of 8 lanes at index 0 is out of bounds", output: ""),
        RuntimeCase(
            source: "let a = fill(4_000_000_000_000, 1.0)", line: 1, column: 9, message: "out of memory", output: ""),
        RuntimeCase(
            source: "fn f(n: int) -> int { return f(n + 1) + 1 }\nprint(f(0))", line: 1, column: 30,
            message: "stack overflow", output: ""),
        RuntimeCase(
            source: "let c = chan<int>(1)\nclose(c)\nsend(c, 1)", line: 3, column: 1,
            message: "send on a closed channel", output: ""),
        RuntimeCase(
            source: "let c = chan<int>(1)\nclose(c)\nprint(recv(c))", line: 3, column: 7,
            message: "receive from a closed and drained channel", output: ""),
        RuntimeCase(
            source: "let c = chan<int>(1)\nclose(c)\nclose(c)", line: 3, column: 1,
            message: "close of a closed channel", output: ""),
        RuntimeCase(
            source: "let e = fill(0, 1.0)\nprint(min(e))", line: 2, column: 7, message: "min of an empty array",
            output: ""),
        RuntimeCase(source: "print(iota(-1))", line: 1, column: 7, message: "iota of a negative count", output: ""),
        RuntimeCase(
            source: "fn f() -> int { return g }\nprint(f())\nlet g = 1", line: 1, column: 24,
            message: "global variable 'g' is used before its declaration has run", output: ""),
        RuntimeCase(
            source: "let v = splat(1.0)\nvar k = 4\nprint(lane(v, k))", line: 3, column: 7,
            message: "lane 4 out of range", output: ""),
    ]

    @Test("runtime errors", arguments: runtimeCases)
    func runtimeError(_ c: RuntimeCase) {
        let r = run(c.source, file: "rt.vec")
        // Out of memory comes as .memoryLimit, fuel as .fuelExhausted: all carry a RuntimeError.
        guard let e = r.error?.runtimeError else {
            Issue.record("expected a runtime error \"\(c.message)\", got \(r.errorText)")
            return
        }
        #expect(e.message.contains(c.message), "got: \(e.message)")
        #expect(e.location.line == c.line, "got: \(e)")
        #expect(e.location.column == c.column, "got: \(e)")
        #expect(r.status == 2)
        #expect(r.output == c.output)
        #expect(r.errorText.hasPrefix("rt.vec:\(c.line):\(c.column): runtime error: "))
        #expect(r.errorText.contains("in task 1 (main)"))
    }

    @Test func runtimeErrorInASpawnedTaskNamesIt() {
        let r = run("fn bad(n: int) -> int { return 10 / n }\nlet t = spawn bad(0)\nprint(wait(t))", file: "rt.vec")
        guard case .runtime(let e)? = r.error else {
            Issue.record("expected a runtime error, got \(r.errorText)")
            return
        }
        #expect(e.message == "integer division by zero")
        #expect(e.taskName == "bad")
        #expect(e.taskID != 1)
        #expect(r.errorText.contains("in task \(e.taskID) (bad)"))
    }

    @Test func floatComparisonsInConditionsAreFloatComparisons() {
        // Regression: a `case a, b where` guard once made `if x < y` on floats an int comparison.
        let r = run(
            "let nan = 0.0 / 0.0\nvar n = 0\nif nan < 1.0 { n += 1 }\nif 2.5 < 2.25 { n += 10 }\nif f32(1.5) > f32(-2) { n += 100 }\nprint(n)"
        )
        #expect(r.output == "100\n")
    }

    @Test func deadlockIsReported() {
        let r = run("let c = chan<int>(0)\nsend(c, 1)")
        #expect(r.status == 2)
        #expect(r.errorText == "deadlock: all tasks are blocked")
    }

    @Test func outputBeforeAnErrorIsKept() {
        let r = run("print(1)\nprint(2)\nlet z = 0\nprint(3 / z)")
        #expect(r.output == "1\n2\n")
        #expect(r.status == 2)
    }
}
