// Where `print` goes. The default sink writes through C's `stdout` stream, the very buffer Swift's
// own `print` fills, so that a program's lines and the host app's keep their order in a pipe or a
// file (a buffer of our own, flushed at the end of each run, put the program's lines after the
// host's or before them, whatever the order they were printed in). stdio buffers by line on a
// terminal and fully otherwise; a run flushes it when it ends. An embedding app or a test may pass
// its own sink. Tasks on several threads print at once, so a sink serializes whole pieces.

import Synchronization
import VMRuntime

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
/// the program and the host print stays in the order it was printed. A failed write (a full disk,
/// `>/dev/full`, a closed descriptor) is remembered and the output from then on dropped;
/// `writeError` says what failed, for the host to report (the CLI exits non-zero). A reader that
/// closed the pipe ends the process by SIGPIPE first, as for any Unix filter, unless SIGPIPE is
/// ignored.
public final class StandardOutput: OutputSink {
    /// errno of the first failed write or flush; 0 while none failed.
    private let error = Atomic<Int32>(0)

    public init() {}

    public func write(_ text: String) {
        if error.load(ordering: .relaxed) != 0 { return }
        var text = text
        // One fwrite per piece: stdio locks the stream for the call, so a line is never split by
        // another thread's output (Swift's print holds the same lock for its line).
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            if fwrite(base, 1, bytes.count, stdout) < bytes.count { record(errno) }
        }
    }

    public func flush() {
        if fflush(stdout) != 0 { record(errno) }
    }

    /// `flush()` for a signal's last moments: gives up (false) if the stream stays locked for
    /// `attempts` tries 10 ms apart (a task may be blocked writing to a full pipe).
    public func flushIfAvailable(attempts: Int = 100) -> Bool {
        for _ in 0..<attempts {
            if ftrylockfile(stdout) == 0 {
                // stdio's lock is recursive: fflush takes it again from this thread.
                flush()
                funlockfile(stdout)
                return true
            }
            usleep(10_000)
        }
        return false
    }

    /// The first write that failed, as strerror's text ("No space left on device"), or nil.
    public var writeError: String? {
        let e = error.load(ordering: .relaxed)
        return e == 0 ? nil : String(cString: strerror(e))
    }

    private func record(_ code: Int32) {
        _ = error.compareExchange(expected: 0, desired: code == 0 ? EIO : code, ordering: .relaxed)
    }
}

/// Collects output in memory (tests, embedding).
public final class CapturedOutput: OutputSink {
    private let state = VMMutex("")

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
