// Source positions and diagnostics shared by every front-end stage.
// A diagnostic renders as `FILE:LINE:COL: error: MESSAGE`, then the source line and a caret
// under the column (shared/LANGUAGE.md, "Errors").
//
// Bad input must cost time and memory linear in its size (issue 16.3): a compilation reports at
// most `Diagnostic.limit` errors and then stops (as clang's -ferror-limit and rustc's "aborting
// due to previous errors" do), and a diagnostic quotes at most `SourceFile.quotedColumns` columns
// of its line, around the column, so that an error in a 10 MB line does not copy the line.

/// A 1-based line and column in a source file. Columns count Unicode scalars, so the caret lines up
/// under the character even when the line holds multi-byte UTF-8.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var line: Int32
    public var column: Int32

    public init(line: Int, column: Int) {
        self.line = Int32(clamping: line)
        self.column = Int32(clamping: column)
    }

    public static let unknown = SourceLocation(line: 0, column: 0)

    public var description: String { "\(line):\(column)" }
}

/// The text of one program, kept so that diagnostics can quote the offending line.
public final class SourceFile: Sendable {
    public let name: String
    /// The program text, without the UTF-8 byte order mark some editors put at its start.
    public let text: String
    /// Byte offsets where each line starts.
    let lineStarts: [Int]
    let bytes: [UInt8]

    /// The largest program accepted, in bytes of UTF-8 (32 MiB): far beyond any real source file
    /// (and room for 10 MB of arbitrary bytes, whose invalid UTF-8 decodes to 3 bytes a byte),
    /// small enough that compiling it takes seconds and memory linear in it.
    public static let maxBytes = 32 << 20

    /// Columns of a line that a diagnostic quotes; a longer line is shown around the column.
    static let quotedColumns = 120

    public init(name: String, text: String) {
        self.name = name
        var bytes = Array(text.utf8)
        // A byte order mark is not part of the program (editors on Windows write one).
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.removeFirst(3)
            self.text = String(decoding: bytes, as: UTF8.self)
        } else {
            self.text = text
        }
        self.bytes = bytes
        var starts = [0]
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<b.count where b[i] == UInt8(ascii: "\n") { starts.append(i + 1) }
        }
        self.lineStarts = starts
    }

    /// What a diagnostic at `line`:`column` quotes: the whole line when it is short, else at most
    /// `quotedColumns` columns around the column, with "..." where text was left out; and the
    /// column of the caret in that text. Costs O(column), never O(line length) beyond that.
    func excerpt(line n: Int, column: Int) -> (text: String, caretColumn: Int) {
        guard n >= 1, n <= lineStarts.count else { return ("", column) }
        let start = lineStarts[n - 1]
        var end = n < lineStarts.count ? lineStarts[n] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end > start else { return ("", column) }
        if end - start <= SourceFile.quotedColumns { return (SourceFile.printable(bytes[start..<end]), column) }
        let first = max(1, column - SourceFile.quotedColumns / 2)
        let last = first + SourceFile.quotedColumns - 1
        var from = end
        var to = end
        var col = 1
        var i = start
        while i < end {
            if bytes[i] & 0xC0 != 0x80 {  // the first byte of the scalar at column `col`
                if col == first { from = i }
                if col == last + 1 {
                    to = i
                    break
                }
                col += 1
            }
            i += 1
        }
        let head = from > start ? "..." : ""
        let tail = to < end ? "..." : ""
        let text = head + SourceFile.printable(bytes[min(from, to)..<to]) + tail
        return (text, column - first + 1 + head.count)
    }

    /// The text of `bytes` with control characters (but tabs) shown as '?': a quoted line must
    /// not send escape sequences to the user's terminal. One scalar each, so columns still match.
    private static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let v = scalar.value
            s.append((v < 0x20 && v != 9) || (v >= 0x7F && v < 0xA0) ? "?" : scalar)
        }
        return String(s)
    }

    /// The text of a 1-based line without its newline, or "" when out of range.
    public func line(_ n: Int) -> String {
        guard n >= 1, n <= lineStarts.count else { return "" }
        let start = lineStarts[n - 1]
        var end = n < lineStarts.count ? lineStarts[n] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end > start else { return "" }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// How bad a diagnostic is: an error stops the compilation; a warning does not (the exit status of a
/// run is unchanged by warnings).
public enum Severity: Sendable {
    case error, warning

    var label: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        }
    }

    /// ANSI colour of the label and the caret: bold red, bold yellow (as rustc).
    var colour: String {
        switch self {
        case .error: "\u{1B}[1;31m"
        case .warning: "\u{1B}[1;33m"
        }
    }
}

/// One compile-time error or warning.
public struct Diagnostic: Error, Sendable, CustomStringConvertible {
    /// Errors one compilation reports at most; then it stops (the last diagnostic says so).
    public static let limit = 20

    public var fileName: String
    public var location: SourceLocation
    public var message: String
    /// The quoted source line (around the column when the line is long: see
    /// `SourceFile.excerpt`), kept so the diagnostic can be rendered without the source file.
    public var sourceLine: String
    public var severity: Severity
    /// The column of `sourceLine` the caret goes under (`location.column` unless the line was cut).
    public var caretColumn: Int32

    public init(file: SourceFile, location: SourceLocation, message: String, severity: Severity = .error) {
        self.fileName = file.name
        self.location = location
        self.message = message
        let (text, caret) = file.excerpt(line: Int(location.line), column: Int(location.column))
        self.sourceLine = text
        self.caretColumn = Int32(clamping: caret)
        self.severity = severity
    }

    /// `FILE:LINE:COL: error: MESSAGE` (or `warning:`), the source line and a caret under the column.
    /// An error about the whole file (`SourceLocation.unknown`) is `FILE: error: MESSAGE`.
    public var description: String { rendered(colour: false) }

    /// The text of `description`; with `colour`, the location and message in bold and the label and
    /// caret in the severity's colour (for a terminal; callers honour NO_COLOR).
    public func rendered(colour: Bool) -> String {
        let head = location.line > 0 ? "\(fileName):\(location.line):\(location.column): " : "\(fileName): "
        var out =
            colour
            ? TextStyle.bold + head + severity.colour + severity.label + ":" + TextStyle.reset + TextStyle.bold + " "
                + message + TextStyle.reset
            : head + severity.label + ": " + message
        if location.line > 0 {
            out +=
                "\n"
                + quoteSourceLine(
                    sourceLine, caretAt: Int(caretColumn), caretColour: colour ? severity.colour : nil)
        }
        return out
    }

    /// `diagnostics` in source order, at most `limit` of them; when there were more (or a stage
    /// stopped early, `truncated`), a last one at the first error left out says that it stopped.
    static func capped(_ diagnostics: [Diagnostic], file: SourceFile, truncated: Bool = false) -> [Diagnostic] {
        let sorted = diagnostics.sorted {
            ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
        }
        guard truncated || sorted.count > limit else { return sorted }
        var kept = Array(sorted.prefix(limit))
        let at = sorted.count > limit ? sorted[limit].location : (kept.last?.location ?? .unknown)
        kept.append(
            Diagnostic(
                file: file, location: at,
                message: "too many errors (\(limit) shown); stopping here: fix these and compile again"))
        return kept
    }
}

/// ANSI text attributes used by the renderings of diagnostics and runtime errors.
enum TextStyle {
    static let bold = "\u{1B}[1m"
    static let reset = "\u{1B}[0m"
}

/// The source line (tabs shown as four spaces) and, under it, a caret under `column` (1-based, in
/// Unicode scalars), optionally coloured.
func quoteSourceLine(_ line: String, caretAt column: Int, caretColour: String? = nil) -> String {
    var caret = ""
    var col = 1
    for ch in line.unicodeScalars {
        if col >= column { break }
        caret += ch == "\t" ? "    " : " "
        col += 1
    }
    let mark = caretColour.map { $0 + "^" + TextStyle.reset } ?? "^"
    return line.replacingTabsForDisplay() + "\n" + caret + mark
}

extension String {
    /// Tabs become four spaces so that the caret line, built the same way, stays aligned.
    func replacingTabsForDisplay() -> String {
        var s = ""
        for ch in unicodeScalars { if ch == "\t" { s += "    " } else { s.unicodeScalars.append(ch) } }
        return s
    }

    /// The line (tabs as four spaces), a newline, and a caret under `column` (1-based scalars).
    func quotedWithCaret(at column: Int) -> String {
        var caret = ""
        var col = 1
        for ch in unicodeScalars {
            if col >= column { break }
            caret += ch == "\t" ? "    " : " "
            col += 1
        }
        return replacingTabsForDisplay() + "\n" + caret + "^"
    }
}

/// All the errors of one compilation, in source order.
public struct CompileError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public var description: String { rendered(colour: false) }
    public func rendered(colour: Bool) -> String {
        diagnostics.map { $0.rendered(colour: colour) }.joined(separator: "\n")
    }

    public init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    /// A source larger than `SourceFile.maxBytes` is refused before anything reads it.
    static func checkSize(_ source: String, fileName: String) throws(CompileError) {
        let size = source.utf8.count
        guard size > SourceFile.maxBytes else { return }
        let file = SourceFile(name: fileName, text: "")
        throw CompileError(diagnostics: [
            Diagnostic(
                file: file, location: .unknown,
                message:
                    "the program is \(size) bytes long; a program may have at most \(SourceFile.maxBytes) bytes (32 MiB)"
            )
        ])
    }
}
