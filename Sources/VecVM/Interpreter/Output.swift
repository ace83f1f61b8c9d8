// Where `print` goes. The default sink writes through C's `stdout` stream, the very buffer Swift's
// own `print` fills, so that a program's lines and the host app's keep their order in a pipe or a
// file (a buffer of our own, flushed at the end of each run, put the program's lines after the
// host's or before them, whatever the order they were printed in). stdio buffers by line on a
// terminal and fully otherwise; a run flushes it when it ends. An embedding app or a test may pass
// its own sink. Tasks on several threads print at once, so a sink serializes whole pieces.

import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    @preconcurrency import Darwin
#endif

public protocol OutputSink: AnyObject, Sendable {
    /// Writes one complete piece of text (a printed line with its newline). Called from any thread.
    func write(_ text: String)
    /// Pushes buffered text out; called before an error message and at the end of a run.
    func flush()
}

/// Standard output, through C's `stdout` stream: the buffer Swift's `print` uses too, so that what
/// the program and the host print stays in the order it was printed.
public final class StandardOutput: OutputSink {
    public init() {}

    public func write(_ text: String) {
        var text = text
        // One fwrite per piece: stdio locks the stream for the call, so a line is never split by
        // another thread's output (Swift's print holds the same lock for its line).
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            _ = fwrite(base, 1, bytes.count, stdout)
        }
    }

    public func flush() { fflush(stdout) }
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
