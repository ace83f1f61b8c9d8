// Source positions and diagnostics shared by every front-end stage.
// A diagnostic renders as `FILE:LINE:COL: error: MESSAGE`, then the source line and a caret
// under the column (shared/LANGUAGE.md, "Errors").

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
    public let text: String
    /// Byte offsets where each line starts.
    let lineStarts: [Int]
    let bytes: [UInt8]

    public init(name: String, text: String) {
        self.name = name
        self.text = text
        let bytes = Array(text.utf8)
        self.bytes = bytes
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
        self.lineStarts = starts
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
    public var fileName: String
    public var location: SourceLocation
    public var message: String
    /// The quoted source line, kept so the diagnostic can be rendered without the source file.
    public var sourceLine: String
    public var severity: Severity

    public init(file: SourceFile, location: SourceLocation, message: String, severity: Severity = .error) {
        self.fileName = file.name
        self.location = location
        self.message = message
        self.sourceLine = file.line(Int(location.line))
        self.severity = severity
    }

    /// `FILE:LINE:COL: error: MESSAGE` (or `warning:`), the source line and a caret under the column.
    public var description: String { rendered(colour: false) }

    /// The text of `description`; with `colour`, the location and message in bold and the label and
    /// caret in the severity's colour (for a terminal; callers honour NO_COLOR).
    public func rendered(colour: Bool) -> String {
        let head = "\(fileName):\(location.line):\(location.column): "
        var out =
            colour
            ? TextStyle.bold + head + severity.colour + severity.label + ":" + TextStyle.reset + TextStyle.bold + " "
                + message + TextStyle.reset
            : head + severity.label + ": " + message
        if location.line > 0 {
            out +=
                "\n"
                + quoteSourceLine(
                    sourceLine, caretAt: Int(location.column), caretColour: colour ? severity.colour : nil)
        }
        return out
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
}

/// All the errors of one compilation, in source order.
public struct CompileError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public var description: String { rendered(colour: false) }
    public func rendered(colour: Bool) -> String {
        diagnostics.map { $0.rendered(colour: colour) }.joined(separator: "\n")
    }
}
