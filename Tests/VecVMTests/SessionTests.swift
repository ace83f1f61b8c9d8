// Session: the REPL's engine as an embedding API — incremental compilation against earlier inputs,
// echoed values, recovery after compile and runtime errors, tasks that outlive the input that
// spawned them.

import Foundation
import Testing

@testable import VecVM

/// A session on a fresh VM whose output is captured; `take()` returns what was printed since the last call.
final class SessionHarness {
    let output = CapturedOutput()
    let session: Session
    private var consumed = 0

    init(procs: Int = 2, jit: Bool = true) {
        session = Session(vm: VM(configuration: VMConfiguration(procs: procs, jit: jit, output: output)))
    }

    deinit { session.vm.shutdown() }

    /// Evaluates `input`, expecting it to run to the end, and returns what it printed.
    @discardableResult
    func ok(_ input: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
        let r = session.evaluate(input)
        #expect(r.error == nil, "\(input): \(r.error.map(session.describe) ?? "")", sourceLocation: sourceLocation)
        return take()
    }

    func take() -> String {
        let all = output.text
        let utf8 = Array(all.utf8)
        let new = String(decoding: utf8[consumed...], as: UTF8.self)
        consumed = utf8.count
        return new
    }
}

@Suite("Session")
struct SessionTests {
    @Test func definitionsPersistAcrossInputs() {
        let h = SessionHarness()
        #expect(h.ok("let x = 5") == "")
        #expect(h.ok("var total = 0.5") == "")
        #expect(h.ok("fn twice(n: int) -> int { return n * 2 }") == "")
        #expect(h.ok("print(twice(x), total)") == "10 0.5\n")
        h.ok("total += 1.0")
        #expect(h.ok("total") == "1.5\n")
        // A function of a later input calls one of an earlier input and reads its globals.
        h.ok("fn quad(n: int) -> int { return twice(twice(n)) + x - x }")
        #expect(h.ok("quad(3)") == "12\n")
        h.ok("let a = f32(iota(4)) * 0.5")
        #expect(h.ok("a") == "[0.0, 0.5, 1.0, 1.5]\n")
        #expect(h.ok("sum(a * a)") == "3.5\n")
    }

    @Test func expressionValuesAreEchoedInPrintFormat() {
        let h = SessionHarness()
        #expect(h.ok("1 + 2") == "3\n")
        #expect(h.ok("0.1 + 0.2") == "0.30000000000000004\n")
        #expect(h.ok("f32(1) / f32(3)") == "0.33333334\n")
        #expect(h.ok("\"a\" + \"b\"") == "\"ab\"\n")  // a str is shown quoted
        #expect(h.ok("1 < 2") == "true\n")
        #expect(h.ok("iota(20)") == "[0, 1, 2, 3, 4, 5, 6, 7, ..., 12, 13, 14, 15, 16, 17, 18, 19] (len 20)\n")
        #expect(h.ok("splat(1.5)") == "<1.5, 1.5, 1.5, 1.5>\n")
        // Declarations, assignments and calls without a value print nothing; `print` prints once.
        #expect(h.ok("var v = 1") == "")
        #expect(h.ok("v = 2") == "")
        #expect(h.ok("fn hello() { print(\"hi\") }") == "")
        #expect(h.ok("hello()") == "hi\n")
        #expect(h.ok("print(7)") == "7\n")
        // Each top-level expression statement of an input is echoed; nested ones are not.
        #expect(h.ok("1; 2") == "1\n2\n")
        #expect(h.ok("if true { 3 }") == "")
        // `:load`-style runs do not echo.
        #expect(h.session.load(source: "40 + 2\nprint(v)", fileName: "lib.vec").succeeded)
        #expect(h.take() == "2\n")
    }

    @Test func redefinitionReplacesForLaterInputs() {
        let h = SessionHarness()
        h.ok("let x = 5")
        h.ok("fn f() -> int { return x }")
        h.ok("let x = \"now a string\"")  // a new type is fine: it is a new variable
        #expect(h.ok("x") == "\"now a string\"\n")
        // Names bind statically: f was compiled against the first x.
        #expect(h.ok("f()") == "5\n")
        h.ok("fn f() -> str { return x + \"!\" }")
        #expect(h.ok("f()") == "\"now a string!\"\n")
        // A value and a function may take each other's name.
        h.ok("let f = 3")
        #expect(h.ok("f + 1") == "4\n")
        h.ok("fn f() -> int { return 9 }")
        #expect(h.ok("f()") == "9\n")
        // Redeclaring in one input is allowed at the prompt; the initializer sees the old value.
        h.ok("let n = 1; let n = n + 10")
        #expect(h.ok("n") == "11\n")
        #expect(h.session.definitions.contains("fn f() -> int"))
        #expect(h.session.definitions.contains("let n: int"))
        #expect(h.session.completions(for: "qu").isEmpty)
        #expect(h.session.completions(for: "pri") == ["print"])
    }

    @Test func replacedArraysAreReleased() {
        // 24 MB per array under a 64 MB limit: keeping the replaced ones would run out of memory.
        let output = CapturedOutput()
        let session = Session(vm: VM(configuration: VMConfiguration(procs: 1, output: output, memoryLimit: 64 << 20)))
        defer { session.vm.shutdown() }
        for i in 0..<6 {
            let r = session.evaluate("let big = fill(3_000_000, \(i).5)")
            #expect(r.succeeded, "\(r.error.map(session.describe) ?? "")")
        }
        #expect(session.evaluate("big[0]").succeeded)
        // A value of another type replaces it just as well.
        #expect(session.evaluate("let big = 0").succeeded)
        // Declared twice in one input: the first is released after the input ran.
        #expect(session.evaluate("let a = fill(3_000_000, 1.0); let a = fill(3_000_000, 2.0)").succeeded)
        #expect(session.evaluate("let b = fill(3_000_000, 1.0)").succeeded)
        #expect(session.evaluate("let a = 0; let b = 0").succeeded)
        // One a function uses stays: the function may still read it.
        #expect(session.evaluate("let kept = fill(3_000_000, 7.0)\nfn first() -> float { return kept[0] }").succeeded)
        #expect(session.evaluate("let kept = 1").succeeded)
        #expect(session.evaluate("first()").succeeded)
        #expect(output.text.hasSuffix("5.5\n7.0\n"))
    }

    @Test func compileErrorChangesNothingAndTheSessionGoesOn() {
        let h = SessionHarness()
        h.ok("let x = 1")
        h.ok("let z = 1.5")
        let r = h.session.evaluate("print(\"ran\")\nlet y = x + z")
        guard case .compile(let e)? = r.error else {
            Issue.record("expected a compile error, got \(String(describing: r.error))")
            return
        }
        // Nothing of the input ran, and its declarations do not exist.
        #expect(h.take() == "")
        let text = h.session.describe(r.error!)
        #expect(text.contains("<input-3>:2:11: error: cannot apply '+' to int and float"), "\(text)")
        #expect(text.contains("let y = x + z\n          ^"), "\(text)")
        #expect(e.diagnostics.count == 1)
        let unknown = h.session.evaluate("y")
        #expect(unknown.error.map(h.session.describe)?.contains("unknown name 'y'") == true)
        let parse = h.session.evaluate("let = 3")
        #expect(parse.error?.exitStatus == 1)
        #expect(h.ok("x + 1") == "2\n")
        // A failed redefinition leaves the old definition in place.
        #expect(!h.session.evaluate("fn g() -> int { return 1 }\nfn g() -> int { return 2 }").succeeded)
        #expect(h.session.evaluate("g()").error != nil)
    }

    @Test func runtimeErrorKeepsEarlierEffects() {
        let h = SessionHarness()
        h.ok("var a = iota(3)")
        let r = h.session.evaluate("let before = 1\nprint(\"partial\")\nlet bad = a[7]\nlet after = 3")
        guard case .runtime(let e)? = r.error else {
            Issue.record("expected a runtime error, got \(String(describing: r.error))")
            return
        }
        #expect(e.message.contains("out of bounds"))
        #expect(h.take() == "partial\n")
        let text = h.session.describe(r.error!)
        #expect(text.contains("<input-2>:3:12: runtime error:"), "\(text)")
        #expect(text.contains("let bad = a[7]\n           ^"), "\(text)")
        #expect(text.contains("in task"))
        // What ran before the error stays; a declaration the error skipped is uninitialized.
        #expect(h.ok("before + 1") == "2\n")
        #expect(h.session.evaluate("after").error.map { $0.exitStatus } == 2)
        #expect(h.ok("a[2] = 40; a") == "[0, 1, 40]\n")
        // Integer division by zero, then the session still works.
        #expect(h.session.evaluate("1 / (before - 1)").error != nil)
        #expect(h.ok("21 * 2") == "42\n")
    }

    @Test func spawnedTaskRunsBetweenInputs() {
        let h = SessionHarness()
        h.ok("let c = chan<int>(0)")
        h.ok(
            """
            fn worker(c: chan<int>) -> int {
                var total = 0
                for v in c { total += v }
                return total
            }
            """)
        #expect(h.ok("let t = spawn worker(c)") == "")
        // The worker is parked on the channel while no input runs; later inputs talk to it.
        h.ok("send(c, 20)")
        h.ok("send(c, 22)")
        h.ok("close(c)")
        #expect(h.ok("wait(t)") == "42\n")
        // A task that computes on its own while the session is idle.
        h.ok("fn count(n: int) -> int { var s = 0; for i in 0..n { s += i }; return s }")
        h.ok("let u = spawn count(1000)")
        h.ok("sleep(5)")
        #expect(h.ok("wait(u)") == "499500\n")
    }

    @Test func backgroundFailureIsReportedWithTheNextInput() {
        let h = SessionHarness()
        h.ok("fn boom() -> int { sleep(20); let a = iota(2); return a[5] }")
        h.ok("let t = spawn boom()")
        // The task fails while the session is idle (no input running).
        Thread.sleep(forTimeInterval: 0.3)
        let r = h.session.evaluate("1")
        guard let e = r.backgroundError else {
            Issue.record("the failing task was not reported: \(String(describing: r.error))")
            return
        }
        #expect(h.session.describe(e).contains("in task"))
        #expect(h.session.describe(e).contains("(boom)"))
        // The input itself ran anyway, and the session goes on.
        #expect(r.succeeded)
        #expect(h.take() == "1\n")
        #expect(h.ok("2") == "2\n")
    }

    @Test func cancelStopsAnInputAndTheSessionGoesOn() async throws {
        let h = SessionHarness()
        h.ok("var spins = 0")
        let vm = h.session.vm
        let canceller = Task.detached {
            try await Task.sleep(for: .milliseconds(150))
            vm.cancel(reason: "interrupted")
        }
        let r = h.session.evaluate("while true { spins += 1 }")
        try await canceller.value
        guard case .cancelled(let why)? = r.error else {
            Issue.record("expected cancellation, got \(String(describing: r.error))")
            return
        }
        #expect(why == "interrupted")
        #expect(h.ok("spins > 0") == "true\n")
    }

    @Test func waitOnATaskThatFailedEarlierGivesItsError() {
        let h = SessionHarness()
        // The sleep keeps the task from failing before the input that spawns it has ended (on a
        // loaded machine it could run on another P at once); it stays on line 2.
        h.ok("fn bad(n: int) -> int {\n    let a = iota(n); sleep(100)\n    return a[n]\n}")
        h.ok("let t = spawn bad(5)")
        // Let it fail while the session is idle; `wait` then ends with its error instead of hanging.
        Thread.sleep(forTimeInterval: 0.4)
        let r = h.session.evaluate("wait(t)")
        guard let e = r.error?.runtimeError else {
            Issue.record("expected the task's error, got \(String(describing: r.error))")
            return
        }
        #expect(e.message == "index 5 out of bounds for array of length 5")
        #expect(e.taskName == "bad")
        // Located in the input that defined `bad`, with its own line, not in the input that waited.
        #expect(e.fileName == "<input-1>")
        #expect(e.location == SourceLocation(line: 3, column: 13))
        let text = h.session.describe(r.error!)
        #expect(text.contains("<input-1>:3:13: runtime error: index 5 out of bounds"), "\(text)")
        #expect(text.contains("    return a[n]\n            ^"), "\(text)")
        #expect(text.contains("started by task"), "\(text)")
        #expect(r.error?.exitStatus == 2)
        // Asked again, the same answer; and the session goes on.
        #expect(h.session.evaluate("wait(t)").error?.runtimeError?.message == e.message)
        #expect(h.ok("1 + 1") == "2\n")
        // A task that fails during the input that waits for it: the same error, in one run.
        let same = h.session.evaluate("wait(spawn bad(2))")
        #expect(same.error?.runtimeError?.message == "index 2 out of bounds for array of length 2")
        #expect(same.error?.runtimeError?.fileName == "<input-1>")
    }

    @Test func underscoreHoldsTheLastValueShown() {
        let h = SessionHarness()
        #expect(h.ok("6 * 7") == "42\n")
        #expect(h.ok("_ + 1") == "43\n")
        #expect(h.ok("_") == "43\n")
        // Inputs that show nothing leave `_` as it was.
        h.ok("let s = \"a\\tb\"")
        #expect(h.ok("print(_)") == "43\n")
        #expect(h.ok("_ * 2") == "86\n")
        // A str value is shown quoted, with escapes; `_` holds the str itself.
        #expect(h.ok("s") == "\"a\\tb\"\n")
        #expect(h.ok("len(_)") == "3\n")
        #expect(h.ok("\"say \\\"hi\\\"\"") == "\"say \\\"hi\\\"\"\n")
        // `print` still prints a str as is; `_` takes any type, arrays included.
        #expect(h.ok("print(s)") == "a\tb\n")
        #expect(h.ok("iota(3)") == "[0, 1, 2]\n")
        #expect(h.ok("sum(_)") == "3\n")
        // `_` is not listed among the session's definitions.
        #expect(!h.session.definitions.contains { $0.contains(" _:") })
    }

    @Test func warningsOfAnInput() {
        let h = SessionHarness()
        let r = h.session.evaluate("fn f(unused: int) -> int {\n    return 1\n    print(2)\n}")
        #expect(r.succeeded)
        #expect(
            r.warnings.map(\.message) == [
                "unused parameter 'unused' (if that is intended, name it '_unused')",
                "this code will never run (it follows a 'return')",
            ])
        // Top-level variables of a session are not "unused": a later input may use them.
        #expect(h.session.evaluate("let later = 1").warnings.isEmpty)
    }

    @Test func disassemblesFunctionsAndTheLastInput() {
        let h = SessionHarness()
        h.ok("fn inc(n: int) -> int { return n + 1 }")
        h.ok("inc(1)")
        let f = h.session.disassemble(function: "inc")
        #expect(f?.hasPrefix("function inc(int) -> int") == true)
        #expect(h.session.lastInputDisassembly?.contains("io: echo") == true)
        #expect(h.session.disassemble(function: "nope") == nil)
    }

    @Test func incompleteInputs() {
        let s = Session(vm: VM(configuration: VMConfiguration(output: CapturedOutput())))
        #expect(s.isIncomplete("fn f() {"))
        #expect(s.isIncomplete("fn f() {\n  if x {\n  }"))
        #expect(!s.isIncomplete("fn f() {\n  if x {\n  }\n}"))
        #expect(s.isIncomplete("print(1,"))
        #expect(s.isIncomplete("let a = [1, 2,"))
        #expect(s.isIncomplete("let x = 1 +"))
        #expect(s.isIncomplete("/* a comment"))
        #expect(!s.isIncomplete("print(\"{\")"))
        #expect(!s.isIncomplete("print(\"(\") // {"))
        #expect(!s.isIncomplete("print(\"unterminated"))
        #expect(s.isIncomplete("print(\"ok\","))
        #expect(!s.isIncomplete("}"))
        #expect(!s.isIncomplete("(]"))
        #expect(!s.isIncomplete(""))
        #expect(!s.isIncomplete("let x = 1"))
    }
}
