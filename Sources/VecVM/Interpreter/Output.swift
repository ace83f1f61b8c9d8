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

/// Buffered standard output.
public final class StandardOutput: OutputSink {
    private struct State {
        var buffer: [UInt8] = []
    }
    private let state = Mutex(State())
    private let lineBuffered: Bool

    public init() {
        lineBuffered = isatty(1) != 0
    }

    public func write(_ text: String) {
        state.withLock { s in
            s.buffer.append(contentsOf: text.utf8)
            if lineBuffered || s.buffer.count >= 1 << 16 { StandardOutput.drain(&s.buffer) }
        }
    }

    public func flush() {
        state.withLock { s in StandardOutput.drain(&s.buffer) }
    }

    private static func drain(_ buffer: inout [UInt8]) {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    break  // a closed pipe: drop the output rather than die
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
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
