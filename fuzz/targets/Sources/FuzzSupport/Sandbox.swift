// Sandbox: how an app runs a .vec program it does not trust, through VecVM's public embedding API
// only — a time limit, a fuel (instruction) limit, a memory limit, an output limit, no `extern` —
// and the checks that every outcome is a clean one (a program, a diagnostic with a location, or a
// typed VMError). Shared by the libFuzzer targets and the vecvm-sandbox host.

import Synchronization
import VecVM

/// The limits one untrusted run gets.
public struct SandboxLimits: Sendable {
    public var timeLimit: Duration = .seconds(2)
    public var fuel: Int? = 20_000_000
    public var memoryBytes: Int = 64 << 20
    public var outputBytes: Int = 1 << 20
    public var procs: Int = 2
    public var quantumNanoseconds: Int64 = 200_000
    public var jit: Bool = true
    public init() {}
}

/// How a run ended.
public enum SandboxOutcome: String, CaseIterable, Sendable {
    case ok, compileError, runtimeError, deadlock, fuel, timeLimit, memoryLimit, outputLimit, cancelled
}

/// A broken promise: the VM answered with something that is not a clean outcome.
public struct SandboxViolation: Error, CustomStringConvertible {
    public let description: String
}

/// Output that keeps at most `limit` bytes and asks the VM to stop past it (a script printing in
/// a loop must not exhaust the host's memory before its time limit).
final class BoundedOutput: OutputSink, @unchecked Sendable {
    // @unchecked: `vm` is set once, before the run starts, and only read afterwards.
    private let state = Mutex((bytes: 0, text: "", over: false))
    let limit: Int
    weak var vm: VM?
    init(limit: Int) { self.limit = limit }

    func write(_ text: String) {
        let cancel = state.withLock { s -> Bool in
            if s.over { return false }
            s.bytes += text.utf8.count
            if s.bytes > limit {
                s.over = true
                return true
            }
            s.text += text
            return false
        }
        if cancel { vm?.cancel(reason: "output limit") }
    }
    func flush() {}
    var overLimit: Bool { state.withLock { $0.over } }
    var text: String { state.withLock { $0.text } }
}

public enum Sandbox {
    /// Compiles `source` with `extern` forbidden; a compile error must be a list of diagnostics,
    /// each with a location inside the file (or just past its end) and a message.
    public static func compile(_ vm: VM, _ source: String, fileName: String) throws(SandboxViolation)
        -> CompiledProgram?
    {
        do {
            return try vm.compile(source: source, fileName: fileName)
        } catch {
            try checkDiagnostics(error, source: source, fileName: fileName)
            return nil
        }
    }

    static func checkDiagnostics(_ error: CompileError, source: String, fileName: String) throws(SandboxViolation) {
        if error.diagnostics.isEmpty { throw SandboxViolation(description: "a compile error without diagnostics") }
        // Lines as the front end counts them: "\n" ends a line (a "\r\n" or lone "\r" does not).
        let lines = source.utf8.reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
        for d in error.diagnostics {
            let l = Int(d.location.line)
            let c = Int(d.location.column)
            if l < 1 || l > lines || c < 1 || d.message.isEmpty || d.fileName != fileName {
                throw SandboxViolation(
                    description: "diagnostic out of place (\(lines) lines): \(d.description.debugDescription)")
            }
            if !d.description.hasPrefix("\(fileName):\(l):\(c): error: ") {
                throw SandboxViolation(description: "diagnostic in another format: \(d.description.debugDescription)")
            }
        }
    }

    /// Compiles and runs `source` under `limits` in a fresh VM.
    public static func run(
        _ source: String, fileName: String = "untrusted.vec", limits: SandboxLimits = SandboxLimits()
    )
        throws(SandboxViolation) -> (SandboxOutcome, String)
    {
        let output = BoundedOutput(limit: limits.outputBytes)
        let vm = VM(
            configuration: VMConfiguration(
                procs: limits.procs, quantumNanoseconds: limits.quantumNanoseconds, jit: limits.jit,
                output: output, memoryLimit: limits.memoryBytes, allowForeignFunctions: false, fuel: limits.fuel,
                timeLimit: limits.timeLimit))
        output.vm = vm
        defer { vm.shutdown() }
        guard let program = try compile(vm, source, fileName: fileName) else { return (.compileError, "") }
        do {
            try vm.run(program)
            return (.ok, output.text)
        } catch {
            let text = error.description
            switch error {
            case .compile(let e):
                try checkDiagnostics(e, source: source, fileName: fileName)
                throw SandboxViolation(description: "a compile error from run() after compile() succeeded: \(text)")
            case .runtime(let e):
                try checkRuntimeError(e, text, source: source, fileName: fileName)
                return (.runtimeError, text)
            case .fuelExhausted(let e):
                try checkRuntimeError(e, text, source: source, fileName: fileName)
                if limits.fuel == nil { throw SandboxViolation(description: "out of fuel without a fuel limit") }
                return (.fuel, text)
            case .memoryLimit(let e):
                try checkRuntimeError(e, text, source: source, fileName: fileName)
                return (.memoryLimit, text)
            case .deadlock:
                return (.deadlock, text)
            case .timeLimit:
                return (.timeLimit, text)
            case .cancelled:
                return (output.overLimit ? .outputLimit : .cancelled, text)
            case .invalidCall(let why):
                throw SandboxViolation(description: "run() of a compiled program: invalid call: \(why)")
            }
        }
    }

    static func checkRuntimeError(_ e: RuntimeError, _ text: String, source: String, fileName: String)
        throws(SandboxViolation)
    {
        let lines = source.utf8.reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
        let l = Int(e.location.line)
        guard e.fileName == fileName, l >= 1, l <= lines, e.location.column >= 1, !e.message.isEmpty,
            text.hasPrefix("\(fileName):\(l):\(e.location.column): runtime error: ")
        else {
            throw SandboxViolation(description: "a runtime error out of place or form: \(text.debugDescription)")
        }
    }
}
