// `vecvm repl` (and `vecvm` with no arguments): the interactive front end of VecVM's `Session`. This
// file only reads input, runs commands, prints results and handles Ctrl-C; compiling and running the
// inputs is the library's Session.
//
// On a terminal (stdin and stdout both TTYs) lines are read with LineEditor (prompts, editing,
// history in ~/.vecvm_history); otherwise plain lines are read and no prompt or banner is printed,
// so that `echo 'print(1)' | vecvm` prints exactly `1`. Input continues on further lines while
// Session.isIncomplete says so (an open bracket, a trailing operator).
//
// Ctrl-C: while a line is edited it is a key (raw mode) that abandons the line. While an input runs
// the terminal is cooked, Ctrl-C is SIGINT, and the handler (async-signal-safe: one write to a pipe)
// wakes a watcher thread that calls VM.cancel; the input ends as `.cancelled` and the prompt comes
// back. A third Ctrl-C during one input quits, for a program stuck where cancellation cannot reach
// it (a C function called through `extern`). In plain mode SIGINT keeps its default action.

import ArgumentParser
import Synchronization
import VecVM

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

struct Repl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start an interactive session (also what `vecvm` with no arguments does).",
        discussion: """
            Definitions stay from line to line; an expression's value is printed. Type :help inside for \
            the commands. Without a terminal, lines are read from standard input with no prompts, and the \
            exit status is that of the last input that failed (1: compile error, 2: runtime error).
            """)
    @OptionGroup var options: RunOptions
    @Option(help: "History file (default: $VECVM_HISTORY, else ~/.vecvm_history; \"\" for none).")
    var history: String?

    func run() throws {
        let interactive = isatty(0) != 0 && isatty(1) != 0
        var config = options.settings.configuration()
        var display: TerminalDisplay?
        if interactive {
            let d = TerminalDisplay()
            config.output = TerminalOutput(d)
            display = d
        }
        let vm = VM(configuration: config)
        let driver = ReplDriver(session: Session(vm: vm), display: display, historyPath: historyPath())
        let status = driver.run()
        if options.stats { printError(vm.statistics) }
        config.output.flush()
        // As with `vecvm run`, tasks still running are abandoned.
        CLibrary.exit(status)
    }

    private func historyPath() -> String? {
        if let history { return history.isEmpty ? nil : history }
        if let env = getenv("VECVM_HISTORY") {
            let path = String(cString: env)
            return path.isEmpty ? nil : path
        }
        if let home = getenv("HOME"), home.pointee != 0 { return String(cString: home) + "/.vecvm_history" }
        return nil
    }
}

/// Program output on a terminal: through the display, so that what background tasks print while a line
/// is being edited appears above that line.
final class TerminalOutput: OutputSink {
    let display: TerminalDisplay
    init(_ display: TerminalDisplay) { self.display = display }
    func write(_ text: String) { display.writeOutput(text) }
    func flush() {}
}

final class ReplDriver {
    let session: Session
    let display: TerminalDisplay?
    let editor: LineEditor?
    let interrupts: InterruptWatcher?
    /// Exit status in plain mode: that of the last input that failed.
    private var status: Int32 = 0

    static let prompt = "vec> "
    static let continuationPrompt = "...> "

    init(session: Session, display: TerminalDisplay?, historyPath: String?) {
        self.session = session
        self.display = display
        if let display {
            let editor = LineEditor(display: display, history: LineHistory(path: historyPath))
            editor.completer = { [session] prefix in session.completions(for: prefix) }
            self.editor = editor
            interrupts = InterruptWatcher.start(vm: session.vm)
        } else {
            editor = nil
            interrupts = nil
        }
    }

    /// Reads and runs inputs until the end of input or `:quit`; returns the exit status.
    func run() -> Int32 {
        if editor != nil {
            output("vecvm \(VecVMVersion.string) interactive: :help for help, Ctrl-D to quit")
        }
        var lines: [String] = []
        while true {
            let read = readLine(prompt: lines.isEmpty ? Self.prompt : Self.continuationPrompt)
            switch read {
            case .endOfInput:
                // A pipe that ends inside a construct: run it anyway, so that the error is reported.
                if editor == nil && !lines.isEmpty { evaluate(lines.joined(separator: "\n")) }
                return editor == nil ? status : 0
            case .interrupted:
                lines = []
            case .line(let line):
                if lines.isEmpty, let command = Self.command(in: line) {
                    if !runCommand(command.name, command.argument) { return editor == nil ? status : 0 }
                    continue
                }
                lines.append(line)
                let text = lines.joined(separator: "\n")
                if session.isIncomplete(text) { continue }
                lines = []
                if text.allSatisfy(\.isWhitespace) { continue }
                evaluate(text)
            }
        }
    }

    private func readLine(prompt: String) -> LineRead {
        if let editor {
            let read = editor.readLine(prompt: prompt)
            if case .line(let l) = read { editor.history.add(l) }
            return read
        }
        // Through the same buffer as the programs' read_line(), so that neither steals the other's lines.
        guard let line = try? StandardInput.shared.readLine() else { return .endOfInput }
        return .line(line)
    }

    // MARK: Running inputs

    private func evaluate(_ text: String, fileName: String? = nil) {
        interrupts?.begin()
        let outcome = fileName.map { session.load(source: text, fileName: $0) } ?? session.evaluate(text)
        interrupts?.end()
        for w in outcome.warnings { report(w.rendered(colour: colourDiagnostics)) }
        // `wait` on a task that failed while the session was idle ends the input with that failure:
        // report it once, as the input's error.
        if let e = outcome.backgroundError, !Self.sameFailure(e, outcome.error) {
            report(
                "a task started earlier failed (the tasks left running were stopped):\n"
                    + session.describe(e, colour: colourDiagnostics))
        }
        if let e = outcome.error {
            if case .cancelled(let why) = e, why == InterruptWatcher.reason {
                // After the terminal's echo of ^C.
                report("\ninterrupted (the tasks left running were stopped)")
            } else {
                report(session.describe(e, colour: colourDiagnostics))
            }
            status = e.exitStatus
        }
    }

    /// Whether two errors are the same task's runtime error.
    private static func sameFailure(_ a: VMError, _ b: VMError?) -> Bool {
        guard let x = a.runtimeError, let y = b?.runtimeError else { return false }
        return x.taskID == y.taskID && x.message == y.message && x.fileName == y.fileName
            && x.location == y.location
    }

    /// Prints an error on standard error, after the program's output so far.
    private func report(_ text: String) {
        session.vm.configuration.output.flush()
        printError(text)
    }

    /// Prints a command's output where program output goes.
    private func output(_ text: String) {
        let out = session.vm.configuration.output
        out.write(text.hasSuffix("\n") ? text : text + "\n")
        out.flush()
    }

    // MARK: Commands

    static func command(in line: String) -> (name: String, argument: String)? {
        let trimmed = line.drop(while: \.isWhitespace)
        guard trimmed.first == ":" else { return nil }
        let body = trimmed.dropFirst()
        let name = body.prefix(while: { !$0.isWhitespace })
        var argument = String(body.dropFirst(name.count).drop(while: \.isWhitespace))
        while argument.last?.isWhitespace == true { argument.removeLast() }
        return (String(name), argument)
    }

    static let help = """
        Type statements and expressions of the .vec language; the value of an expression is printed (a
        str quoted) and kept in _.
        Definitions (let, var, fn, extern fn) stay for the lines that follow; defining a name again
        replaces it for later lines (code compiled earlier keeps the old one). An open (, [ or { or a
        trailing operator continues the input on the next line. Spawned tasks keep running between lines.

          :help             this text
          :defs             the definitions of this session
          :disasm [NAME]    the bytecode of function NAME, or of the last input
          :load FILE        run FILE into the session (its definitions stay)
          :stats            scheduler and VM counters
          :quit             leave (also Ctrl-D on an empty line)

        Keys: arrows, Home/End, Ctrl-A/E, Ctrl-K/U/W/Y, Up/Down for history, Ctrl-R to search it,
        Tab to complete a name. Ctrl-C abandons the line, or interrupts a running input (which stops
        every task of the session). History is kept in ~/.vecvm_history.
        """

    /// Runs a `:command`; false when the session should end.
    private func runCommand(_ name: String, _ argument: String) -> Bool {
        switch name {
        case "help", "h", "?":
            output(Self.help)
        case "quit", "q", "exit":
            return false
        case "defs":
            let defs = session.definitions
            output(defs.isEmpty ? "(nothing defined yet)" : defs.joined(separator: "\n"))
        case "disasm":
            if argument.isEmpty {
                if let text = session.lastInputDisassembly {
                    output(text)
                } else {
                    report(":disasm: no input has run yet")
                }
            } else if let text = session.disassemble(function: argument) {
                output(text)
            } else {
                report(":disasm: no function named '\(argument)' (see :defs)")
            }
        case "stats":
            output(session.vm.statistics.split(separator: " ").joined(separator: "\n"))
        case "load":
            guard !argument.isEmpty else {
                report(":load needs a file name")
                return true
            }
            do {
                let source = try readSource(argument)
                evaluate(source, fileName: argument)
            } catch {
                report("\(error)")
                status = 1
            }
        default:
            report("unknown command ':\(name)' (:help lists the commands)")
        }
        return true
    }
}

// MARK: - Ctrl-C while an input runs

/// The write end of the pipe the SIGINT handler writes to (a C handler captures nothing).
nonisolated(unsafe) private var interruptPipeWrite: Int32 = -1

/// Turns SIGINT into VM.cancel. The handler only writes a byte to a pipe; this thread reads it and
/// cancels the run in progress (an idle session ignores SIGINT: Ctrl-C at the prompt is a key).
final class InterruptWatcher: @unchecked Sendable {
    // @unchecked Sendable: the VM is Sendable and the counters are atomics.
    static let reason = "interrupted"
    let vm: VM
    private let readEnd: Int32
    private let running = Atomic<Bool>(false)
    private let count = Atomic<Int>(0)

    private init(vm: VM, readEnd: Int32) {
        self.vm = vm
        self.readEnd = readEnd
    }

    static func start(vm: VM) -> InterruptWatcher? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        interruptPipeWrite = fds[1]
        let watcher = InterruptWatcher(vm: vm, readEnd: fds[0])
        var thread = pthread_t()
        let context = Unmanaged.passRetained(watcher).toOpaque()
        let created = pthread_create(
            &thread, nil,
            { arg in
                Unmanaged<InterruptWatcher>.fromOpaque(arg!).takeRetainedValue().loop()
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<InterruptWatcher>.fromOpaque(context).release()
            return nil
        }
        pthread_detach(thread)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(interruptPipeWrite, &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        // A parent may have started us with SIGINT blocked (test runners, some daemons): unblock it in
        // this thread, and so in the scheduler's threads, which start later and inherit the mask.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        return watcher
    }

    func begin() {
        count.store(0, ordering: .relaxed)
        running.store(true, ordering: .releasing)
    }

    func end() { running.store(false, ordering: .releasing) }

    private func loop() {
        var byte: UInt8 = 0
        while true {
            let n = read(readEnd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            guard running.load(ordering: .acquiring) else { continue }
            let k = count.add(1, ordering: .relaxed).newValue
            if k == 1 {
                vm.cancel(reason: InterruptWatcher.reason)
            } else if k == 2 {
                printError("\nvecvm: still stopping; Ctrl-C once more quits")
            } else {
                printError("\nvecvm: interrupted three times; quitting")
                _exit(130)
            }
        }
    }
}
