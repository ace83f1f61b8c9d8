// Helpers shared by the VecVM test suites: run source through the public API and capture what a user
// would see (output, error text, exit status).

import Foundation
import Testing
import VMRuntime

@testable import VecVM

enum TestPaths {
    /// The repository root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var programs: URL { root.appendingPathComponent("programs") }
    /// LANGUAGE.md's conformance programs, beside the checkout (absent outside the project's workspace).
    static var conformance: URL { root.deletingLastPathComponent().appendingPathComponent("shared/conformance") }

    static func programNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: programs.path)) ?? []
        return files.filter { $0.hasSuffix(".vec") }.map { String($0.dropLast(4)) }.sorted()
    }
}

/// What running a program produced.
struct RunResult {
    var output: String
    var error: VMError?
    /// The CLI's exit status for this outcome.
    var status: Int32 { error?.exitStatus ?? 0 }
    var errorText: String { error?.description ?? "" }
    /// What the JIT engine of the VM that ran it made (nil without the JIT).
    var jit: JITStatistics? = nil
}

/// The JIT statistics of the runs of one test, together: what a test asks of them (which functions
/// are native, which stayed interpreted and why) is about its own programs, which each ran on a VM
/// of its own. A suite keeps one as a stored property (Swift Testing makes a suite instance per test).
/// Runs `source` with the JIT (2 Ps, asynchronous preemption every `quantum` ns) and without it (1 P);
/// both must print the same and fail with the same text. Returns the JIT run, recorded in `runs`.
func runAgreeing(
    _ source: String, quantum: Int64, into runs: JITRuns, sourceLocation: Testing.SourceLocation
) -> RunResult {
    let jit = run(source, mode: Mode(procs: 2, jit: true, asyncPreemption: true, quantumNanoseconds: quantum))
    let interp = run(source, mode: Mode(procs: 1, jit: false, asyncPreemption: false))
    #expect(jit.output == interp.output, sourceLocation: sourceLocation)
    #expect(jit.errorText == interp.errorText, sourceLocation: sourceLocation)
    return runs.add(jit)
}

final class JITRuns: @unchecked Sendable {
    // @unchecked Sendable: one test's runs add to it one after another.
    private(set) var runs: [JITStatistics] = []

    /// Adds `result`'s statistics (none for a run without the JIT); returns `result`.
    @discardableResult
    func add(_ result: RunResult) -> RunResult {
        add(result.jit)
        return result
    }

    /// Adds what a VM's engine made (`vm.jit?.statistics`).
    func add(_ statistics: JITStatistics?) {
        if let statistics { runs.append(statistics) }
    }

    /// Names of the functions lowered whole.
    var compiled: [String] { runs.flatMap(\.functions) }
    /// "name: reason" of the functions left to the interpreter.
    var interpreted: [String] { runs.flatMap(\.interpreted) }
    var partial: [String] { runs.flatMap(\.partial) }
    var steps: [String] { runs.flatMap(\.steps) }
    var spilled: [String] { runs.flatMap(\.spilled) }

    func isNative(_ name: String) -> Bool { compiled.contains(name) }
}

/// The execution modes every program must behave identically in.
struct Mode: CustomStringConvertible, Sendable {
    var procs: Int
    var jit: Bool
    var asyncPreemption: Bool
    var quantumNanoseconds: Int64 = 10_000_000
    /// VMConfiguration.stacklessParkThreshold (nil: the default); 0 makes every wait of a spawned
    /// task in a send, a receive or a wait park without its stack.
    var stacklessParkThreshold: Int? = nil
    var description: String {
        "procs=\(procs) jit=\(jit) async=\(asyncPreemption) quantum=\(quantumNanoseconds)ns"
            + (stacklessParkThreshold.map { " stackless-above=\($0)" } ?? "")
    }

    static let all: [Mode] = [
        Mode(procs: 1, jit: false, asyncPreemption: false),
        Mode(procs: 2, jit: false, asyncPreemption: true),
        Mode(procs: 1, jit: true, asyncPreemption: true),
        Mode(procs: 2, jit: true, asyncPreemption: true, quantumNanoseconds: 200_000),
    ]
}

/// Runs `source` in `mode`; `arguments` are the program's (`arg(i)`), `files` allows file access.
func run(
    _ source: String, file: String = "test.vec", mode: Mode = Mode(procs: 2, jit: true, asyncPreemption: true),
    arguments: [String] = [], files: Bool = false
) -> RunResult {
    let out = CapturedOutput()
    let vm = VM(
        configuration: VMConfiguration(
            procs: mode.procs, quantumNanoseconds: mode.quantumNanoseconds, jit: mode.jit,
            asyncPreemption: mode.asyncPreemption, output: out, arguments: arguments, input: NoInput(),
            allowFileAccess: files,
            stacklessParkThreshold: mode.stacklessParkThreshold ?? SchedulerConfiguration.defaultStacklessParkThreshold)
    )
    defer { vm.shutdown() }
    do {
        try vm.run(source: source, fileName: file)
        return RunResult(output: out.text, error: nil, jit: vm.jit?.statistics)
    } catch {
        return RunResult(output: out.text, error: error, jit: vm.jit?.statistics)
    }
}

/// Compiles without running; returns the diagnostics (empty when it compiles).
func diagnostics(_ source: String, file: String = "test.vec") -> [Diagnostic] {
    let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
    do {
        _ = try vm.compile(source: source, fileName: file)
        return []
    } catch {
        return error.diagnostics
    }
}

/// The main chunk's (or a named function's) opcodes, one instruction a line.
func opcodes(_ source: String, function: String = "main") throws -> [String] {
    let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
    // As `vecvm run` compiles: top-level variables no function uses stay in registers (VM.compile's
    // public form makes every top-level variable a global the host can read).
    let compiled = try vm.compile(source: source, fileName: "golden.vec", hostReadableGlobals: false)
    guard let f = compiled.program.functions.first(where: { $0.name == function }) else { return [] }
    return Disassembler.opcodes(f)
}
