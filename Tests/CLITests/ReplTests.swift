// End-to-end tests of `vecvm repl`: the interactive mode through a real pseudo-terminal (a private
// tmux server: keys are sent with send-keys and the screen read back with capture-pane), and the
// plain mode that reads lines from a pipe.

import Foundation
import Testing

/// Runs a program to the end with posix_spawn; returns its status and standard output. Not Foundation's
/// Process: its wait did not return for tmux (whose server, a daemon, outlives the client), and the
/// child must not inherit the test runner's blocked signals (vecvm and tmux must see SIGINT/SIGHUP).
@discardableResult
private func runTool(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-tool-\(UUID().uuidString)")
        .path
    defer { unlink(outputFile) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid = pid_t()
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    guard rc == 0 else { throw CocoaError(.executableLoad) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
    return ((status >> 8) & 0xFF, output)
}

private let tmuxPath: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/opt/homebrew/bin/tmux"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// `vecvm repl` in a tmux pane of 100 × 30 on a private server.
private final class TerminalSession {
    let directory: URL
    let socket: String
    var historyFile: URL { directory.appendingPathComponent("history") }

    init(arguments: [String] = ["repl"], history: String? = nil, environment: [String: String] = [:]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vecvm-repl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socket = directory.appendingPathComponent("tmux.sock").path
        if let history { try history.write(to: historyFile, atomically: true, encoding: .utf8) }
        // A shell records vecvm's exit status in a file (tmux may be slow to reap its pane's process,
        // so #{pane_dead_status} is not reliable). `trap : INT` keeps the shell alive through Ctrl-C;
        // vecvm, its child, starts with SIGINT at its default action.
        let command =
            // NO_COLOR comes only from `environment` (a test runner may set it for its own output).
            "trap : INT; /usr/bin/env -u NO_COLOR HOME='\(directory.path)' VECVM_HISTORY='\(historyFile.path)' TERM=xterm "
            + environment.sorted(by: { $0.key < $1.key }).map { "\($0.key)='\($0.value)' " }.joined()
            + ([vecvmBinary.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
            + "; echo $? > '\(statusFile.path)'"
        try runTool(
            tmuxPath!,
            [
                "-S", socket, "-f", "/dev/null", "new-session", "-d", "-s", "repl", "-x", "100", "-y", "30",
                "/bin/sh", "-c", command,
            ])
        pid =
            Int32(
                (try? tmux(["display-message", "-p", "-t", "repl", "#{pane_pid}"]))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    var statusFile: URL { directory.appendingPathComponent("status") }

    /// The pane's process (the shell), leader of the process group vecvm is in.
    private(set) var pid: Int32 = 0

    deinit {
        // Should vecvm still run (a failed test), do not leave it behind.
        if pid > 0 { kill(-pid, SIGKILL) }
        _ = try? tmux(["kill-server"])
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        try runTool(tmuxPath!, ["-S", socket] + arguments).output
    }

    /// Types text literally.
    func type(_ text: String) throws { try tmux(["send-keys", "-t", "repl", "-l", text]) }

    /// Presses keys by tmux name: Enter, Left, Up, C-a, C-c, DC (delete), ...
    func press(_ keys: String...) throws { try tmux(["send-keys", "-t", "repl"] + keys) }

    /// Types a line and presses Enter.
    func enter(_ line: String) throws {
        try type(line)
        try press("Enter")
    }

    var screen: String { (try? tmux(["capture-pane", "-p", "-t", "repl"])) ?? "" }

    /// The screen with its colours and attributes as escape sequences.
    var screenWithEscapes: String { (try? tmux(["capture-pane", "-p", "-e", "-t", "repl"])) ?? "" }

    /// The screen's lines without trailing blanks, empty lines at the end dropped.
    var lines: [String] {
        var ls = screen.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0.reversed().drop(while: { $0 == " " }).reversed())
        }
        while ls.last == "" { ls.removeLast() }
        return ls
    }

    /// Waits until the screen satisfies `condition` (at most `seconds`); records an issue otherwise.
    @discardableResult
    func waitFor(
        _ what: String, seconds: Double = 5, sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: ([String]) -> Bool
    ) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(lines) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Issue.record("timed out waiting for \(what); screen:\n\(screen)", sourceLocation: sourceLocation)
        return false
    }

    /// Waits for a line equal to `text` to appear at least `count` times.
    @discardableResult
    func waitForLine(_ text: String, count: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        waitFor("the line \"\(text)\" ×\(count)", sourceLocation: sourceLocation) {
            $0.filter { $0 == text }.count >= count
        }
    }

    /// Waits for an empty prompt on the last line.
    @discardableResult
    func waitForPrompt(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        waitFor("the prompt", sourceLocation: sourceLocation) { $0.last == "vec>" }
    }

    /// The exit status once vecvm has ended.
    func exitStatus(seconds: Double = 5, sourceLocation: SourceLocation = #_sourceLocation) -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let text = try? String(contentsOf: statusFile, encoding: .utf8), text.hasSuffix("\n") {
                return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Issue.record("vecvm did not exit; screen:\n\(screen)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Runs vecvm with `input` on its standard input (a pipe).
private func vecvmWithInput(_ arguments: [String], input: String) throws -> Outcome {
    let p = Process()
    p.executableURL = vecvmBinary
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["VECVM_HISTORY"] = ""
    p.environment = env
    let inPipe = Pipe()
    let out = Pipe()
    let err = Pipe()
    p.standardInput = inPipe
    p.standardOutput = out
    p.standardError = err
    try p.run()
    inPipe.fileHandleForWriting.write(Data(input.utf8))
    try inPipe.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Outcome(
        status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
        stderr: String(decoding: e, as: UTF8.self))
}

@Suite("vecvm repl", .serialized)
struct ReplTests {
    // MARK: Through a terminal

    @Test(.enabled(if: tmuxPath != nil, "needs tmux"))
    func editingHistoryAndSearch() throws {
        let t = try TerminalSession(history: "print(\"from an earlier session\")\n")
        t.waitForPrompt()
        #expect(t.lines.first?.hasPrefix("vecvm ") == true)
        // Type a typo, go back with Left, delete with Delete, insert: `pritn` becomes `print`.
        try t.type("pritn(1 + 2)")
        try t.press("Left", "Left", "Left", "Left", "Left", "Left", "Left", "Left", "Left")  // after "pri"
        try t.press("DC", "Right")
        try t.type("t")
        t.waitFor("the fixed line") { $0.last == "vec> print(1 + 2)" }
        try t.press("Enter")
        t.waitForLine("3")
        t.waitForPrompt()
        // Ctrl-A / Ctrl-E and Ctrl-K.
        try t.type("10 * 4 junk")
        try t.press("C-a")
        try t.type("2 + ")
        try t.press("C-e", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "Enter")
        t.waitForLine("42")
        // Up recalls the previous line; edit it and run it.
        t.waitForPrompt()
        try t.press("Up")
        t.waitFor("the recalled line") { $0.last == "vec> 2 + 10 * 4" }
        try t.press("Up")
        t.waitFor("the line before") { $0.last == "vec> print(1 + 2)" }
        try t.press("BSpace", "BSpace")
        try t.type("5)")
        try t.press("Enter")
        t.waitForLine("6")
        // Ctrl-R finds a line of an earlier session (read from the history file).
        t.waitForPrompt()
        try t.press("C-r")
        try t.type("earlier")
        t.waitFor("the search") {
            $0.last?.contains("(reverse-i-search)`earlier': print(\"from an earlier session\")") == true
        }
        try t.press("Enter")
        t.waitForLine("from an earlier session")
        // Ctrl-C abandons the line being typed.
        t.waitForPrompt()
        try t.type("print(999)")
        try t.press("C-c")
        t.waitFor("the abandoned line") { $0.contains("vec> print(999)^C") && $0.last == "vec>" }
        // Tab completes a name.
        try t.enter("let velocity = 3")
        t.waitForPrompt()
        try t.type("veloc")
        try t.press("Tab")
        t.waitFor("the completion") { $0.last == "vec> velocity" }
        try t.press("Enter")
        t.waitForLine("3", count: 2)
        t.waitForPrompt()
        // Ctrl-D on an empty line ends the session with status 0.
        try t.press("C-d")
        #expect(t.exitStatus() == 0)
        let history = try String(contentsOf: t.historyFile, encoding: .utf8)
        #expect(history.contains("print(1 + 2)\n"))
        #expect(history.contains("print(1 + 5)\n"))
        #expect(!history.contains("print(999)"))
    }

    @Test(.enabled(if: tmuxPath != nil, "needs tmux"))
    func multiLineErrorsInterruptsAndCommands() throws {
        let t = try TerminalSession()
        t.waitForPrompt()
        // An open brace continues the input with the continuation prompt.
        try t.enter("fn twice(n: int) -> int {")
        t.waitFor("the continuation prompt") { $0.last == "...>" }
        try t.enter("    return n * 2")
        try t.enter("}")
        t.waitForPrompt()
        try t.enter("twice(21)")
        t.waitForLine("42")
        // A compile error: the message, the typed line and a caret under the column; then a working line.
        try t.enter("let bad = twice(\"x\")")
        t.waitFor("the caret") { lines in
            guard
                let i = lines.firstIndex(where: { $0.contains("error: argument 1 of 'twice' must be int, found str") })
            else { return false }
            return i + 2 < lines.count && lines[i + 1] == "let bad = twice(\"x\")"
                && lines[i + 2] == "                ^"
        }
        try t.enter("twice(4)")
        t.waitForLine("8")
        // Ctrl-C interrupts a running loop; the session goes on, with its definitions.
        t.waitForPrompt()
        try t.enter("var spins = 0")
        t.waitForPrompt()
        try t.enter("while true { spins += 1 }")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(t.lines.last != "vec>")
        try t.press("C-c")
        t.waitFor("the interruption") { $0.contains { $0.hasPrefix("interrupted") } && $0.last == "vec>" }
        try t.enter("spins > 0")
        t.waitForLine("true")
        // :help, :disasm, :stats, :defs.
        t.waitForPrompt()
        try t.enter(":help")
        t.waitFor(":help") { $0.contains { $0.contains(":disasm [NAME]") } && $0.last == "vec>" }
        try t.press("C-l")
        t.waitFor("a cleared screen") { $0.count == 1 && $0.last == "vec>" }
        try t.enter(":disasm twice")
        t.waitFor(":disasm") { $0.contains { $0.hasPrefix("function twice(int) -> int") } && $0.last == "vec>" }
        try t.enter(":stats")
        t.waitFor(":stats") { $0.contains { $0.hasPrefix("vm.tasks.spawned=") } && $0.last == "vec>" }
        try t.enter(":defs")
        t.waitFor(":defs") { $0.contains("var spins: int") && $0.contains("fn twice(int) -> int") }
        try t.enter(":quit")
        #expect(t.exitStatus() == 0)
    }

    @Test(.enabled(if: tmuxPath != nil, "needs tmux"))
    func backgroundTasksPrintAboveTheEditedLine() throws {
        let t = try TerminalSession()
        t.waitForPrompt()
        try t.enter("fn later() { sleep(300); print(\"from the task\") }")
        t.waitForPrompt()
        try t.enter("spawn later()")
        t.waitForPrompt()
        // Start typing; the task's output appears above the line being edited, which stays intact.
        try t.type("1 + ")
        t.waitFor("the task's output") { $0.contains("from the task") && $0.last == "vec> 1 +" }
        try t.type("1")
        try t.press("Enter")
        t.waitForLine("2")
        try t.press("C-d")
        #expect(t.exitStatus() == 0)
    }

    @Test(.enabled(if: tmuxPath != nil, "needs tmux"))
    func waitOnAFailedTaskUnderscoreAndQuotedStrings() throws {
        let t = try TerminalSession()
        t.waitForPrompt()
        try t.enter("fn bad(n: int) -> int {")
        try t.enter("    let a = iota(n)")
        try t.enter("    return a[n]")
        try t.enter("}")
        t.waitForPrompt()
        try t.enter("let t = spawn bad(5)")
        t.waitForPrompt()
        Thread.sleep(forTimeInterval: 0.2)  // the task fails while the session is idle
        // `wait` gives the task's error, quoting the task's own input (not the line typed), and the
        // session goes on: no hang.
        try t.enter("wait(t)")
        t.waitFor("the task's error") { lines in
            guard
                let i = lines.lastIndex(where: {
                    $0 == "<input-1>:3:13: runtime error: index 5 out of bounds for array of length 5"
                })
            else { return false }
            return i + 2 < lines.count && lines[i + 1] == "    return a[n]" && lines[i + 2] == "            ^"
                && lines.last == "vec>"
        }
        #expect(t.lines.contains { $0.hasPrefix("    in task ") && $0.contains("(bad), started by task") })
        // `_` holds the last value shown; a str is shown quoted, `print` prints it as is.
        try t.enter("6 * 7")
        t.waitForLine("42")
        try t.enter("_ + 1")
        t.waitForLine("43")
        try t.enter("let s = \"hi\"")
        try t.enter("s")
        t.waitForLine("\"hi\"")
        try t.enter("print(s + \"!\")")
        t.waitForLine("hi!")
        t.waitForPrompt()
        try t.press("C-d")
        #expect(t.exitStatus() == 0)
    }

    @Test(.enabled(if: tmuxPath != nil, "needs tmux"))
    func readLineReadsTheTerminalAndErrorsAreColoured() throws {
        let t = try TerminalSession()
        t.waitForPrompt()
        // A running input reads a line typed at the terminal.
        try t.enter("let name = read_line()")
        Thread.sleep(forTimeInterval: 0.2)
        try t.enter("world")
        t.waitForPrompt()
        try t.enter("\"hello \" + name")
        t.waitForLine("\"hello world\"")
        // Diagnostics on a terminal are coloured: an error, then a warning.
        try t.enter("print(nope)")
        t.waitFor("the error") { $0.contains("<input-3>:1:7: error: unknown name 'nope'") && $0.last == "vec>" }
        try t.enter("fn f(x: int) { }")
        t.waitFor("the warning") { $0.contains { $0.contains("warning: unused parameter 'x'") } && $0.last == "vec>" }
        let coloured = t.screenWithEscapes.split(separator: "\n").filter {
            $0.contains("unknown name 'nope'") || $0.contains("unused parameter 'x'")
        }
        #expect(coloured.count == 2 && coloured.allSatisfy { $0.contains("\u{1B}[") }, "\(coloured)")
        try t.press("C-d")
        #expect(t.exitStatus() == 0)

        // NO_COLOR (set and not empty) turns colour off.
        let plain = try TerminalSession(environment: ["NO_COLOR": "1"])
        plain.waitForPrompt()
        try plain.enter("print(nope)")
        plain.waitFor("the error") { $0.contains("<input-1>:1:7: error: unknown name 'nope'") && $0.last == "vec>" }
        let line = plain.screenWithEscapes.split(separator: "\n").first { $0.contains("unknown name 'nope'") }
        #expect(line.map { !$0.contains("\u{1B}[") } == true, "\(String(describing: line))")
        try plain.press("C-d")
        #expect(plain.exitStatus() == 0)
    }

    // MARK: Through a pipe

    @Test func pipedWaitOnAFailedTaskEndsWithItsError() throws {
        let r = try vecvmWithInput(
            [],
            input: """
                fn bad(n: int) -> int {
                    let a = iota(n)
                    return a[n]
                }
                let t = spawn bad(5)
                sleep(50)
                wait(t)
                print("still here")
                "text"
                """)
        #expect(r.stdout == "still here\n\"text\"\n")
        #expect(
            r.stderr.contains(
                "<input-1>:3:13: runtime error: index 5 out of bounds for array of length 5\n    return a[n]\n            ^"
            ))
        #expect(r.status == 2)
    }

    @Test func pipedInputPrintsOnlyTheProgramsOutput() throws {
        let r = try vecvmWithInput([], input: "print(1)\n")
        #expect(r.stdout == "1\n")
        #expect(r.stderr == "")
        #expect(r.status == 0)

        let session = try vecvmWithInput(
            ["repl"],
            input: """
                let x = 2
                x * 21
                fn greet(who: str) {
                    print("hello " + who)
                }
                greet("pipe")
                :defs
                """)
        #expect(session.stdout == "42\nhello pipe\nfn greet(str)\nlet x: int\n")
        #expect(session.status == 0)
    }

    @Test func pipedErrorsGoToStderrAndSetTheStatus() throws {
        let r = try vecvmWithInput([], input: "let a = iota(2)\nprint(a[9])\nprint(\"still here\")\nlet b = nope\n")
        #expect(r.stdout == "still here\n")
        #expect(
            r.stderr.contains(
                "<input-2>:1:8: runtime error: index 9 out of bounds for array of length 2\nprint(a[9])\n       ^"))
        #expect(r.stderr.contains("<input-4>:1:9: error: unknown name 'nope'"))
        #expect(!r.stderr.contains("Swift"))
        #expect(r.status == 1)  // the last failure was a compile error
        let unfinished = try vecvmWithInput([], input: "fn f() {\n  print(1)\n")
        #expect(unfinished.status == 1)
        #expect(unfinished.stderr.contains("error:"))
    }

    @Test func loadRunsAFileIntoTheSession() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vecvm-load-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lib = dir.appendingPathComponent("lib.vec")
        try "fn square(x: float) -> float { return x * x }\nlet base = 3.0\nprint(\"loaded\")\n".write(
            to: lib, atomically: true, encoding: .utf8)
        let r = try vecvmWithInput([], input: ":load \(lib.path)\nsquare(base)\n:load /nonexistent.vec\n")
        #expect(r.stdout == "loaded\n9.0\n")
        #expect(r.stderr.contains("cannot read /nonexistent.vec"))
    }
}
