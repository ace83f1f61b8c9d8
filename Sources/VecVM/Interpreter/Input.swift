// Where `read_line()` and `eof()` read. The CLI reads standard input (StandardInput.shared, which the
// REPL also reads its own lines from, so the two never steal each other's buffered bytes); an
// embedding app or a test passes TextInput or its own source.
//
// A task waiting for input must not hold its processor: the interpreter asks `isReady` first and,
// while the answer is no, sleeps as a task (other tasks run, and a cancelled run ends the wait), then
// calls `readLine()`/`isAtEnd()`, which by then return at once or after a short blocking read.

import Synchronization
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

public protocol InputSource: AnyObject, Sendable {
    /// Whether `readLine()` and `isAtEnd()` would return without waiting for more input. Called from
    /// any thread; must not block. The default is true (an input that never waits).
    var isReady: Bool { get }
    /// The next line without its line end (`\n` or `\r\n`), or nil when the input has ended. A last
    /// line without a newline is still a line.
    func readLine() throws -> String?
    /// Whether the input has ended: no line is left.
    func isAtEnd() throws -> Bool
}

extension InputSource {
    public var isReady: Bool { true }
}

/// Lines from a string (tests, embedding).
public final class TextInput: InputSource {
    private let lines: VMMutex<[String]>

    /// `text` split at newlines; a final newline does not start another line.
    public init(_ text: String) {
        // Split the bytes: in Swift "\r\n" is one Character, which a split at "\n" would not see.
        let bytes = Array(text.utf8)
        var parts = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
            String(decoding: $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0, as: UTF8.self)
        }
        if bytes.isEmpty || bytes.last == UInt8(ascii: "\n") { parts.removeLast() }
        lines = VMMutex(Array(parts.reversed()))
    }

    public func readLine() -> String? { lines.withLock { $0.popLast() } }
    public func isAtEnd() -> Bool { lines.withLock { $0.isEmpty } }
}

/// An input that has ended before it began: `read_line()` fails and `eof()` is true.
public final class NoInput: InputSource {
    public init() {}
    public func readLine() -> String? { nil }
    public func isAtEnd() -> Bool { true }
}

/// A read error of standard input, with the system's reason.
public struct InputError: Error, CustomStringConvertible {
    public let description: String
}

/// Standard input (file descriptor 0), buffered. There is one per process: `StandardInput.shared`.
public final class StandardInput: InputSource {
    public static let shared = StandardInput(fileDescriptor: 0)

    private struct State {
        var buffer: [UInt8] = []
        /// Bytes of `buffer` already handed out.
        var start = 0
        var ended = false
    }
    private let state = VMMutex(State())
    private let fd: Int32

    init(fileDescriptor: Int32) { fd = fileDescriptor }

    public var isReady: Bool {
        let buffered = state.withLock { s in
            s.ended || s.buffer[s.start...].contains(UInt8(ascii: "\n"))
        }
        if buffered { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // Readable, at its end (POLLHUP) or broken (POLLERR, POLLNVAL): read() will not wait.
        return poll(&p, 1, 0) != 0
    }

    public func readLine() throws -> String? {
        try state.withLock { s throws -> String? in
            while true {
                if let nl = s.buffer[s.start...].firstIndex(of: UInt8(ascii: "\n")) {
                    var end = nl
                    if end > s.start && s.buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                    let line = String(decoding: s.buffer[s.start..<end], as: UTF8.self)
                    s.start = nl + 1
                    return line
                }
                if s.ended {
                    guard s.start < s.buffer.count else { return nil }
                    let line = String(decoding: s.buffer[s.start...], as: UTF8.self)
                    s.start = s.buffer.count
                    return line
                }
                try fill(&s)
            }
        }
    }

    public func isAtEnd() throws -> Bool {
        try state.withLock { s throws -> Bool in
            while s.start == s.buffer.count && !s.ended { try fill(&s) }
            return s.start == s.buffer.count
        }
    }

    /// Everything left, to the end of input (`vecvm run -` reads its program this way).
    public func readAll() throws -> String {
        try state.withLock { s throws -> String in
            while !s.ended { try fill(&s) }
            let text = String(decoding: s.buffer[s.start...], as: UTF8.self)
            s.start = s.buffer.count
            return text
        }
    }

    /// Reads once more into the buffer (blocking); sets `ended` at the end of input.
    private func fill(_ s: inout State) throws {
        if s.start > 0 && s.start == s.buffer.count {
            s.buffer.removeAll(keepingCapacity: true)
            s.start = 0
        } else if s.start >= 1 << 16 {
            s.buffer.removeFirst(s.start)
            s.start = 0
        }
        let chunk = 1 << 16
        let old = s.buffer.count
        s.buffer.append(contentsOf: repeatElement(0, count: chunk))
        while true {
            let n = s.buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old, chunk) }
            if n > 0 {
                s.buffer.removeLast(chunk - n)
                return
            }
            if n == 0 {
                s.buffer.removeLast(chunk)
                s.ended = true
                return
            }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK {
                // Someone made the descriptor non-blocking: wait for it like a blocking read would.
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, -1)
                continue
            }
            s.buffer.removeLast(chunk)
            throw InputError(description: "cannot read standard input: \(String(cString: strerror(e)))")
        }
    }
}
