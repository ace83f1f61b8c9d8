// Where `print` goes. The CLI writes to a buffered standard output (flushed at exit, when the buffer
// fills, and after every line when stdout is a terminal); an embedding app or a test passes its own
// sink. Tasks on several threads print at once, so a sink serializes whole lines.

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

public protocol OutputSink: AnyObject, Sendable {
    /// Writes one complete piece of text (a printed line with its newline). Called from any thread.
    func write(_ text: String)
    /// Pushes buffered text out; called before an error message and at the end of a run.
    func flush()
}

/// Buffered standard output. A failed write (a full disk, `>/dev/full`, a closed descriptor) is
/// remembered, the output from then on dropped; `writeError` says what failed, for the host to
/// report (the CLI exits non-zero). A reader that closed the pipe ends the process by SIGPIPE first,
/// as for any Unix filter, unless SIGPIPE is ignored.
public final class StandardOutput: OutputSink {
    private struct State {
        var buffer: [UInt8] = []
        var error: Int32 = 0
    }
    private let state = Mutex(State())
    private let lineBuffered: Bool

    public init() {
        lineBuffered = isatty(1) != 0
    }

    public func write(_ text: String) {
        state.withLock { s in
            if s.error != 0 { return }
            s.buffer.append(contentsOf: text.utf8)
            if lineBuffered || s.buffer.count >= 1 << 16 { StandardOutput.drain(&s) }
        }
    }

    public func flush() {
        state.withLock { s in StandardOutput.drain(&s) }
    }

    /// `flush()` for a signal's last moments: gives up (false) if the output lock stays taken for
    /// `attempts` tries 10 ms apart (a task may be blocked writing to a full pipe).
    public func flushIfAvailable(attempts: Int = 100) -> Bool {
        for _ in 0..<attempts {
            if state.withLockIfAvailable({ s in StandardOutput.drain(&s) }) != nil { return true }
            usleep(10_000)
        }
        return false
    }

    /// The first write that failed, as strerror's text ("No space left on device"), or nil.
    public var writeError: String? {
        let e = state.withLock { $0.error }
        return e == 0 ? nil : String(cString: strerror(e))
    }

    private static func drain(_ s: inout State) {
        var offset = 0
        var failed: Int32 = 0
        s.buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = errno
                    break
                }
                offset += n
            }
        }
        if failed != 0 && s.error == 0 { s.error = failed }
        s.buffer.removeAll(keepingCapacity: true)
    }
}

/// Collects output in memory (tests, embedding).
public final class CapturedOutput: OutputSink {
    private let state = Mutex("")

    public init() {}

    public func write(_ text: String) { state.withLock { $0 += text } }
    public func flush() {}

    /// Everything written so far.
    public var text: String { state.withLock { $0 } }
}

/// Calls a closure with each piece of output.
public final class ClosureOutput: OutputSink {
    private let body: @Sendable (String) -> Void
    public init(_ body: @escaping @Sendable (String) -> Void) { self.body = body }
    public func write(_ text: String) { body(text) }
    public func flush() {}
}
