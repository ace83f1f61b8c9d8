// An interactive session on a VM: what a REPL needs, as an embedding API (the `vecvm repl` command is
// a thin terminal front end on it). Each input is compiled incrementally against everything earlier
// inputs defined and run as one main task of the VM's scheduler; the tasks it spawns keep running
// between inputs.
//
//     let session = Session(vm: VM(configuration: .init(output: CapturedOutput())))
//     session.evaluate("let x = 20")
//     session.evaluate("x * 2 + 2")          // prints 42
//
// How inputs build on each other:
// - Every top-level `let`/`var` is a global of the VM (the compiler's interactive mode); the checker
//   sees earlier inputs' globals, functions and externs through its CheckerEnvironment.
// - Functions get table indices after those of earlier inputs (CheckerEnvironment.firstFunctionIndex)
//   and each input's program carries the earlier Function objects unchanged, so a task an earlier
//   input spawned keeps running the code it started with.
// - Names bind statically, as at an ML or Lua prompt: a new `let x` or `fn f` replaces the old one for
//   later inputs; code compiled earlier keeps the definition it was compiled against. An array that
//   only a replaced global held is released.
// - An input with a compile error changes nothing. An input stopped by a runtime error keeps what it
//   did up to the error (its definitions exist; globals whose declaration did not run yet are
//   uninitialized and reading them is a runtime error).
//
// Runs go through VM.runScheduled (Execution.swift) as instances that are not standalone: they share
// the session's globals (the VM's own store), leave their tasks running, and obey the VM's limits,
// host functions and `VM.cancel`. A Session owns its VM's globals: do not also `run` standalone programs on that VM.
// Not thread-safe: call one method at a time, and never from inside a task.

import CJITStubs
import Synchronization
import VMRuntime

public final class Session {
    /// What came of one input.
    public struct Outcome: Sendable {
        /// What stopped the input: a compile error (nothing of it ran), or a runtime error, deadlock or
        /// cancellation (its effects up to that point stay). nil: it ran to the end.
        public var error: VMError?
        /// A task an earlier input left running failed while the session was idle. Such a failure
        /// ends the scheduler's tasks; it is reported once, with the next input, which then runs.
        public var backgroundError: VMError?
        /// What in the input compiles but is probably a mistake (Frontend/Warnings.swift); variables of
        /// the session's top level are not checked for use, since a later input may use them.
        public var warnings: [Diagnostic]
        /// Whether the input ran to the end.
        public var succeeded: Bool { error == nil }

        public init(error: VMError? = nil, backgroundError: VMError? = nil, warnings: [Diagnostic] = []) {
            self.error = error
            self.backgroundError = backgroundError
            self.warnings = warnings
        }
    }

    public let vm: VM
    /// Names defined so far (globals, functions, externs), for the checker of the next input.
    private var environment: CheckerEnvironment
    private var layout = GlobalLayout()
    /// The function table so far: index 0 is the last input's main chunk, then every function of every
    /// input at the index the checker gave it.
    private var functions: [Function] = []
    /// Every extern of every input, by extern index.
    private var externs: [ExternDecl] = []
    private var inputCount = 0
    private var lastMain: Function?
    /// The session's compiled code and kept sources, charged to the VM's memory limit (issue 15.1:
    /// a session that compiles for ever runs into the limit, not out of memory).
    private var charges: [MemoryCharge] = []

    public init(vm: VM) {
        self.vm = vm
        environment = CheckerEnvironment()
        environment.isInteractive = true
        environment.allowExtern = vm.configuration.allowForeignFunctions
        environment.allowFileAccess = vm.configuration.allowFileAccess
    }

    // MARK: - Evaluating

    /// Compiles and runs one input (a line, or several when a construct spans lines). The value of each
    /// top-level expression statement that has one is printed to the VM's output, as `print` would
    /// except that a str is quoted (`"hi"`), and becomes the value of the global `_`, as in Python's
    /// REPL. Errors are returned, not printed: render them with `describe(_:)`.
    @discardableResult
    public func evaluate(_ input: String) -> Outcome {
        inputCount += 1
        return run(input, fileName: "<input-\(inputCount)>", echoValues: true)
    }

    /// Runs a whole program into the session (a REPL's `:load`): its definitions stay, as if typed;
    /// values of expression statements are not echoed. `fileName` appears in error messages.
    @discardableResult
    public func load(source: String, fileName: String) -> Outcome {
        run(source, fileName: fileName, echoValues: false)
    }

    /// Whether `input` is unfinished and a REPL should read another line: a bracket, brace or
    /// parenthesis is still open, a block comment is unterminated, or the last token continues the
    /// line (a binary operator, `,`, `=`, `->`, ...). Brackets inside strings and comments do not
    /// count; an unterminated string is an error, not an unfinished input (strings are one line).
    public func isIncomplete(_ input: String) -> Bool {
        let file = SourceFile(name: "", text: input)
        var lexer = Lexer(file: file)
        var open: [TokenKind] = []
        var last: TokenKind?
        while true {
            let t = lexer.next()
            if t.kind == .eof { break }
            switch t.kind {
            case .lparen, .lbracket, .lbrace:
                open.append(t.kind)
            case .rparen, .rbracket, .rbrace:
                let expected: TokenKind = t.kind == .rparen ? .lparen : t.kind == .rbracket ? .lbracket : .lbrace
                // A stray or mismatched closer can never be completed: let the parser report it.
                guard open.popLast() == expected else { return false }
            default:
                break
            }
            if t.kind != .newline { last = t.kind }
        }
        // A string cannot span lines: more input cannot fix it, so let the error show now.
        if lexer.diagnostics.contains(where: { $0.message.hasPrefix("unterminated string") }) { return false }
        if lexer.diagnostics.contains(where: { $0.message.hasPrefix("unterminated block comment") }) { return true }
        if !open.isEmpty { return true }
        return last?.continuesLine ?? false
    }

    // MARK: - Inspecting

    /// The bytecode of a function defined in the session (its current definition), or nil.
    public func disassemble(function name: String) -> String? {
        guard let f = environment.functions[name], f.index > 0, f.index < functions.count else { return nil }
        return Disassembler.function(functions[f.index])
    }

    /// The bytecode of the last input that compiled (its main chunk), or nil before the first.
    public var lastInputDisassembly: String? { lastMain.map(Disassembler.function) }

    /// The session's definitions, one per line: `let x: int`, `var v: [f32]`, `fn f(int) -> int`,
    /// `extern fn cbrt(float) -> float`, sorted by name.
    public var definitions: [String] {
        var items: [(String, String)] = []
        for (name, v) in environment.globals where name != "_" {
            items.append((name, "\(v.isMutable ? "var" : "let") \(name): \(v.type)"))
        }
        for (name, f) in environment.functions {
            items.append((name, "fn " + signature(name, f.parameterTypes, f.resultType)))
        }
        for (name, x) in environment.externs {
            items.append((name, "extern fn " + signature(name, x.parameterTypes, x.resultType)))
        }
        return items.sorted { $0.0 < $1.0 }.map(\.1)
    }

    private func signature(_ name: String, _ parameters: [VType], _ result: VType) -> String {
        "\(name)(" + parameters.map(\.description).joined(separator: ", ") + ")"
            + (result == .void ? "" : " -> \(result)")
    }

    /// Names that start with `prefix`: the session's definitions, built-in functions and keywords.
    public func completions(for prefix: String) -> [String] {
        var names = Set(TokenKind.keywords.keys)
        names.formUnion(Builtin.allCases.map(\.rawValue))
        names.formUnion(environment.globals.keys)
        names.formUnion(environment.functions.keys)
        names.formUnion(environment.externs.keys)
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// An error as a user should see it: compile and runtime errors with the source line and a caret
    /// (a runtime error quotes the input it happened in, with its traceback and task), other errors as
    /// `VMError.description`.
    public func describe(_ error: VMError) -> String { describe(error, colour: false) }

    /// `describe(_:)`, with ANSI colours where `colour` (a terminal that allows them).
    public func describe(_ error: VMError, colour: Bool) -> String {
        if case .compile(let e) = error { return e.rendered(colour: colour) }
        return error.runtimeError?.rendered(colour: colour) ?? error.description
    }

    // MARK: - Compiling

    private func run(_ text: String, fileName: String, echoValues: Bool) -> Outcome {
        // From inside a task, the probe run below would wait for the scheduler the caller runs on.
        if vm_current_m() != nil {
            return Outcome(
                error: .invalidCall("a Session cannot evaluate from inside a VM task (a host function, for one)"))
        }
        do {
            try CompileError.checkSize(text, fileName: fileName)
        } catch {
            return Outcome(error: .compile(error))
        }
        let file = SourceFile(name: fileName, text: text)
        let (unit, parseErrors) = Parser.parse(file)
        if !parseErrors.isEmpty { return Outcome(error: .compile(CompileError(diagnostics: parseErrors))) }

        var env = environment
        env.libraryDirectory = SourceFile.directory(of: fileName)
        let hosts = vm.hostFunctionsForCompile()
        env.hostFunctions = hosts.environment
        env.firstFunctionIndex = max(1, functions.count)
        env.firstExternIndex = externs.count
        var checker = Checker(file: file, environment: env)
        checker.check(unit)
        if !checker.diagnostics.isEmpty {
            return Outcome(
                error: .compile(CompileError(diagnostics: Diagnostic.capped(checker.diagnostics, file: file))))
        }

        var echoed: [Variable] = []
        let statements =
            echoValues ? unit.statements.flatMap { Self.echoingValue($0, &echoed) } : unit.statements
        let compiler = Compiler(file: file, layout: layout, interactive: true)
        compiler.hostArgumentSlots = hosts.functions.map { Verifier.argumentSlots($0.parameters) }
        let program: Program
        do {
            program = try compiler.compile(
                SourceUnit(file: file, statements: statements), functions: checker.functions,
                externs: externs + checker.externs, existing: functions)
        } catch {
            return Outcome(error: .compile(CompileError(diagnostics: error.diagnostics)))
        }
        // Lowered by the session's VM's engine, as every earlier input, whose functions it shares.
        program.jit = vm.jit
        let bytes =
            file.bytes.count + checker.functions.count * 64 + program.main.footprint
            + program.functions.suffix(checker.functions.count).reduce(0) { $0 + $1.footprint }
        guard let charge = MemoryCharge(bytes, on: vm.memory) else {
            return Outcome(
                error: .memoryLimit(
                    RuntimeError(
                        message: "out of memory (the session's compiled code needs \(bytes) more bytes)",
                        fileName: fileName, location: .unknown, taskID: 0, taskName: "compile")))
        }
        charges.append(charge)

        // The input compiled: from here on its definitions are the session's, whatever happens when
        // it runs. Globals it replaces (and those it declares twice) may be released after the run.
        var replaced: [Variable] = []
        for v in checker.topLevelOrder {
            if let old = environment.globals[v.name] { replaced.append(old) }
            environment.globals[v.name] = v
            environment.functions[v.name] = nil
            environment.externs[v.name] = nil
        }
        for f in checker.functions {
            if let old = environment.globals.removeValue(forKey: f.name) { replaced.append(old) }
            environment.functions[f.name] = f
            environment.externs[f.name] = nil
        }
        for x in checker.externs {
            if let old = environment.globals.removeValue(forKey: x.name) { replaced.append(old) }
            environment.externs[x.name] = x
            environment.functions[x.name] = nil
        }
        for v in echoed {
            if let old = environment.globals[v.name] { replaced.append(old) }
            environment.globals[v.name] = v
            environment.functions[v.name] = nil
            environment.externs[v.name] = nil
        }
        layout = compiler.layout
        functions = program.functions
        externs += checker.externs
        lastMain = program.main

        var outcome = execute(program, hostFunctions: hosts.functions)
        outcome.warnings = checker.warnings
        releaseReplaced(replaced)
        return outcome
    }

    /// `e` at the top level, with a value, becomes `let _ = e` and the display of `_` (a str quoted);
    /// a spawn's task handle is not echoed. The new `_` variables go to `echoed`.
    private static func echoingValue(_ s: Stmt, _ echoed: inout [Variable]) -> [Stmt] {
        guard let e = s as? ExprStmt, !(e.expr is SpawnExpr) else { return [s] }
        switch e.expr.type {
        case .void, .error, .untypedInt, .untypedFloat: return [s]
        default: break
        }
        let loc = e.expr.location
        let v = Variable(name: "_", type: e.expr.type, isMutable: false, declaration: loc, isTopLevel: true)
        let declaration = VarDecl(name: "_", nameLocation: loc, isMutable: false, annotation: nil, value: e.expr, loc)
        declaration.variable = v
        let value = NameExpr("_", loc)
        value.variable = v
        value.type = v.type
        let display = CallExpr("_", loc, [value], loc)
        display.target = .echo
        display.type = .void
        echoed.append(v)
        return [declaration, ExprStmt(display)]
    }

    /// Drops the arrays (and other objects) held by globals no code can reach any more: replaced by a
    /// later declaration and never used by a function (only main chunks, which have finished, read them).
    private func releaseReplaced(_ variables: [Variable]) {
        for v in variables where v.isGlobal && !v.usedByFunction && v.type.storage == .reference && v.slot >= 0 {
            if environment.globals[v.name] === v { continue }
            vm.globals.storeObject(v.slot, nil)
        }
    }

    // MARK: - Running

    /// Set by the probe's main task when it starts (see `takeBackgroundFailure`).
    private final class StartFlag: Sendable {
        let started = Atomic<Bool>(false)
    }

    private func execute(_ program: Program, hostFunctions: [HostFunction]) -> Outcome {
        var outcome = Outcome(backgroundError: takeBackgroundFailure())
        // Not standalone: the run keeps the session's globals and leaves the tasks it spawns running
        // (Execution.swift), and it has the VM's limits (fuel, time limit) and VM.cancel.
        let compiled = CompiledProgram(program: program, layout: layout, hostFunctions: hostFunctions)
        let instance = InstanceState(
            program: program, layout: layout, hostFunctions: hostFunctions, globals: vm.globals, memory: vm.memory,
            limits: vm.defaultLimits, vm: vm, compiled: compiled, isStandalone: false)
        do {
            _ = try withExtendedLifetime(compiled) { () throws(VMError) in
                try vm.runScheduled(instance, 0, [], limits: vm.defaultLimits, control: RunControl(owner: instance))
            }
        } catch {
            outcome.error = error
        }
        return outcome
    }

    /// A task left running by an earlier input that failed while the session was idle: the scheduler
    /// holds that failure for the next run, which it reports instead of starting (and VM's runs then
    /// retry silently). An empty run collects it, so that the session can say what happened.
    private func takeBackgroundFailure() -> VMError? {
        let flag = StartFlag()
        let result = vm.currentScheduler().run { flag.started.store(true, ordering: .releasing) }
        guard case .terminated(let reason) = result, !flag.started.load(ordering: .acquiring),
            let box = reason as? RuntimeErrorBox
        else { return nil }
        return .runtime(box.error)
    }
}
