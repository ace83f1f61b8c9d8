// LineEditor: the REPL's line editing on a terminal in raw mode — a small editor in the manner of
// linenoise: one line with horizontal scrolling, emacs keys, history with a file, reverse
// incremental search and completion.
//
// Why our own editor rather than a library: readline is GPL, which would bind every binary that links
// it; libedit (BSD) is only present as its runtime (`libedit.so.2`, no headers), so it would be
// declared by hand and loaded with dlopen, its readline emulation's global variables and signal
// handling included — and its handling of Ctrl-C inside readline() (it installs its own SIGINT
// handler and re-raises) fights the REPL's own use of Ctrl-C to interrupt a running task. A raw-mode
// editor is a few hundred lines with no dependency, works the same on Linux and macOS, reads Ctrl-C
// as a key (ISIG is off while editing, so abandoning a line is not a signal), and lets output that
// background tasks print while the user types be drawn above the line being edited.
//
// Keys: Left/Right Ctrl-B/F, Ctrl/Alt-Left/Right Alt-B/F (words), Home/End Ctrl-A/E, Backspace,
// Delete, Ctrl-D (delete; at an empty line: end of input), Ctrl-K/U/W (kill to end / to start /
// word), Alt-D, Ctrl-Y (yank), Ctrl-T (transpose), Up/Down Ctrl-P/N (history), Ctrl-R (reverse
// search; Ctrl-R again: older match; Enter runs the match; Ctrl-G or Esc: cancel), Tab (complete),
// Ctrl-L (clear screen), Ctrl-C (abandon the line), Ctrl-Z (suspend).
// The terminal is in raw mode only inside `readLine`: between lines it is restored, so a running
// program's output is cooked and Ctrl-C there is a signal (the REPL's interrupt).

import Synchronization
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `LineEditor.readLine` returns.
enum LineRead {
    case line(String)
    /// Ctrl-C: the line was abandoned.
    case interrupted
    /// Ctrl-D on an empty line, or the terminal went away.
    case endOfInput
}

/// The terminal's output, shared by the editor and by program output arriving from other threads:
/// while a line is being edited, a printed text is written above it and the line is drawn again.
final class TerminalDisplay: @unchecked Sendable {
    // @unchecked Sendable: every field is behind `state`.
    private struct State {
        /// The escape sequence that draws the line being edited, or nil when no line is being edited.
        var line: String?
    }
    private let state = VMMutex(State())

    /// Draws (or redraws) the edited line with `sequence` and remembers it.
    func drawLine(_ sequence: String) {
        state.withLock { s in
            s.line = sequence
            Self.write(sequence)
        }
    }

    /// The edited line is finished: `trailer` (usually "\r\n") ends it and output goes straight out.
    func endLine(_ trailer: String) {
        state.withLock { s in
            s.line = nil
            Self.write(trailer)
        }
    }

    /// Writes text that is not part of the edited line (program output, messages).
    func writeOutput(_ text: String) {
        guard !text.isEmpty else { return }
        state.withLock { s in
            if let line = s.line {
                // Erase the edited line, write the text (ending it with a newline if it lacks one),
                // then draw the line again below it.
                var t = text
                if !t.hasSuffix("\n") { t += "\n" }
                Self.write("\r\u{1B}[0K" + t + line)
            } else {
                Self.write(text)
            }
        }
    }

    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { CLibrary.write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
        bytes.removeAll()
    }
}

/// Lines entered before, kept in a file (one entry a line), most recent last.
final class LineHistory {
    private(set) var entries: [String] = []
    let path: String?
    static let limit = 1000

    init(path: String?) {
        self.path = path
        guard let path, let f = fopen(path, "r") else { return }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        while getline(&line, &capacity, f) > 0 {
            var s = String(cString: line!)
            while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
            if !s.isEmpty { entries.append(s) }
        }
        free(line)
        fclose(f)
        if entries.count > LineHistory.limit {
            entries.removeFirst(entries.count - LineHistory.limit)
            rewrite()
        }
    }

    /// Adds a line (not blank, not a repeat of the last one) and appends it to the file at once, so
    /// that a REPL that is killed keeps its history.
    func add(_ line: String) {
        guard !line.allSatisfy(\.isWhitespace), entries.last != line else { return }
        entries.append(line)
        if entries.count > LineHistory.limit { entries.removeFirst(entries.count - LineHistory.limit) }
        guard let path else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { return }
        let text = line + "\n"
        _ = text.withCString { CLibrary.write(fd, $0, strlen($0)) }
        close(fd)
    }

    private func rewrite() {
        guard let path, let f = fopen(path, "w") else { return }
        for e in entries { fputs(e + "\n", f) }
        fclose(f)
    }
}

/// Keys the editor understands, decoded from the terminal's bytes.
private enum Key: Equatable {
    case text(Character)
    case control(UInt8)  // 0x00...0x1F and 0x7F (Backspace)
    case up, down, left, right, home, end, delete
    case wordLeft, wordRight, deleteWordRight, deleteWordLeft
    case escape
    case ignored
}

final class LineEditor {
    let display: TerminalDisplay
    let history: LineHistory
    /// Completions for the identifier before the cursor.
    var completer: ((String) -> [String])?

    private let input: Int32 = 0
    private var original = termios()
    private var isRaw = false
    /// Bytes read but not used yet: a paste of several lines arrives in one read.
    private var pending: [UInt8] = []
    private var pendingOffset = 0

    // The line being edited.
    private var prompt = ""
    private var buffer: [Character] = []
    private var cursor = 0
    private var killed: [Character] = []
    // History browsing: index into history.entries, or entries.count for the line being typed.
    private var historyIndex = 0
    private var scratch: [Character] = []
    private var lastKeyWasTab = false

    init(display: TerminalDisplay, history: LineHistory) {
        self.display = display
        self.history = history
    }

    /// Reads one line with `prompt`. The terminal is in raw mode only during this call.
    func readLine(prompt: String) -> LineRead {
        self.prompt = prompt
        buffer = []
        cursor = 0
        historyIndex = history.entries.count
        scratch = []
        lastKeyWasTab = false
        guard enableRawMode() else { return plainRead() }
        defer { disableRawMode() }
        refresh()
        while true {
            guard let key = readKey() else {
                display.endLine("\r\n")
                return .endOfInput
            }
            if case .control(9) = key {} else { lastKeyWasTab = false }
            switch key {
            case .control(13), .control(10):  // Enter
                cursor = buffer.count
                refresh()
                display.endLine("\r\n")
                return .line(String(buffer))
            case .control(3):  // Ctrl-C
                cursor = buffer.count
                refresh()
                display.endLine("^C\r\n")
                return .interrupted
            case .control(4):  // Ctrl-D
                if buffer.isEmpty {
                    display.endLine("\r\n")
                    return .endOfInput
                }
                deleteForward()
            case .control(18):  // Ctrl-R
                if let result = reverseSearch() { return result }
            default:
                edit(key)
            }
        }
    }

    /// Editing keys shared by the main loop and the end of a reverse search.
    private func edit(_ key: Key) {
        switch key {
        case .text(let c):
            buffer.insert(c, at: cursor)
            cursor += 1
        case .control(1), .home: cursor = 0
        case .control(5), .end: cursor = buffer.count
        case .control(2), .left: cursor = max(0, cursor - 1)
        case .control(6), .right: cursor = min(buffer.count, cursor + 1)
        case .wordLeft: cursor = wordStart(before: cursor)
        case .wordRight: cursor = wordEnd(after: cursor)
        case .control(127), .control(8):  // Backspace
            if cursor > 0 {
                buffer.remove(at: cursor - 1)
                cursor -= 1
            }
        case .delete: deleteForward()
        case .control(11):  // Ctrl-K
            killed = Array(buffer[cursor...])
            buffer.removeSubrange(cursor...)
        case .control(21):  // Ctrl-U
            killed = Array(buffer[..<cursor])
            buffer.removeSubrange(..<cursor)
            cursor = 0
        case .control(23):  // Ctrl-W: back to the previous blank
            var start = cursor
            while start > 0, buffer[start - 1].isWhitespace { start -= 1 }
            while start > 0, !buffer[start - 1].isWhitespace { start -= 1 }
            killed = Array(buffer[start..<cursor])
            buffer.removeSubrange(start..<cursor)
            cursor = start
        case .deleteWordLeft:
            let start = wordStart(before: cursor)
            killed = Array(buffer[start..<cursor])
            buffer.removeSubrange(start..<cursor)
            cursor = start
        case .deleteWordRight:
            let end = wordEnd(after: cursor)
            killed = Array(buffer[cursor..<end])
            buffer.removeSubrange(cursor..<end)
        case .control(25):  // Ctrl-Y
            buffer.insert(contentsOf: killed, at: cursor)
            cursor += killed.count
        case .control(20):  // Ctrl-T
            if cursor > 0, buffer.count >= 2 {
                let i = cursor == buffer.count ? cursor - 1 : cursor
                buffer.swapAt(i - 1, i)
                cursor = min(buffer.count, i + 1)
            }
        case .control(16), .up: browseHistory(-1)
        case .control(14), .down: browseHistory(1)
        case .control(9): complete()
        case .control(12):  // Ctrl-L
            TerminalDisplay.write("\u{1B}[H\u{1B}[2J")
        case .control(26): suspend()
        default:
            return
        }
        // A paste arrives as many keys at once: draw once they are all in, not after each one (a long
        // line would cost a redraw of its whole length per character).
        if !hasPendingInput { refresh() }
    }

    private var hasPendingInput: Bool { pendingOffset < pending.count }

    private func deleteForward() {
        if cursor < buffer.count {
            buffer.remove(at: cursor)
            if !hasPendingInput { refresh() }
        }
    }

    private func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    private func wordStart(before i: Int) -> Int {
        var j = i
        while j > 0, !isWordCharacter(buffer[j - 1]) { j -= 1 }
        while j > 0, isWordCharacter(buffer[j - 1]) { j -= 1 }
        return j
    }

    private func wordEnd(after i: Int) -> Int {
        var j = i
        while j < buffer.count, !isWordCharacter(buffer[j]) { j += 1 }
        while j < buffer.count, isWordCharacter(buffer[j]) { j += 1 }
        return j
    }

    private func browseHistory(_ step: Int) {
        let entries = history.entries
        let target = historyIndex + step
        guard target >= 0, target <= entries.count else { return }
        if historyIndex == entries.count { scratch = buffer }
        historyIndex = target
        buffer = target == entries.count ? scratch : Array(entries[target])
        cursor = buffer.count
    }

    // MARK: Completion

    private func complete() {
        var start = cursor
        while start > 0, isWordCharacter(buffer[start - 1]) { start -= 1 }
        let word = String(buffer[start..<cursor])
        if word.isEmpty || word.first!.isNumber {
            // Nothing to complete: Tab indents.
            buffer.insert(contentsOf: "    ", at: cursor)
            cursor += 4
            return
        }
        let candidates = completer?(word) ?? []
        if candidates.isEmpty {
            TerminalDisplay.write("\u{07}")
            return
        }
        var common = candidates[0]
        for c in candidates.dropFirst() {
            while !c.hasPrefix(common) { common.removeLast() }
        }
        if common.count > word.count {
            let rest = Array(common.dropFirst(word.count))
            buffer.insert(contentsOf: rest, at: cursor)
            cursor += rest.count
            lastKeyWasTab = false
            return
        }
        if candidates.count == 1 { return }
        if !lastKeyWasTab {
            lastKeyWasTab = true
            TerminalDisplay.write("\u{07}")
            return
        }
        // Second Tab: list the candidates under the line, in columns.
        let width = candidates.map(\.count).max()! + 2
        let perRow = max(1, terminalColumns() / width)
        var listing = ""
        for (i, c) in candidates.enumerated() {
            listing += c.padding(to: i % perRow == perRow - 1 || i == candidates.count - 1 ? 0 : width)
            if i % perRow == perRow - 1 || i == candidates.count - 1 { listing += "\r\n" }
        }
        display.endLine("\r\n" + listing)
    }

    // MARK: Reverse search

    /// Ctrl-R: searches the history backwards for lines containing what is typed. Returns a result when
    /// the search ends the line (Enter, Ctrl-C, end of input), nil when editing goes on.
    private func reverseSearch() -> LineRead? {
        let entries = history.entries
        let saved = (buffer, cursor)
        var query: [Character] = []
        var match = entries.count  // index of the shown match; entries.count: none yet
        var failed = false

        func search(from start: Int) {
            var i = min(start, entries.count - 1)
            let q = String(query)
            while i >= 0 {
                if q.isEmpty || entries[i].contains(q) {
                    match = i
                    buffer = Array(entries[i])
                    let line = String(buffer)
                    if let r = line.firstRange(of: q) {
                        cursor = line[..<r.lowerBound].count
                    } else {
                        cursor = buffer.count
                    }
                    failed = false
                    return
                }
                i -= 1
            }
            failed = true
        }

        func draw() {
            let label = failed ? "(failed reverse-i-search)`" : "(reverse-i-search)`"
            refresh(prompt: label + String(query) + "': ")
        }

        draw()
        while true {
            guard let key = readKey() else {
                display.endLine("\r\n")
                return .endOfInput
            }
            switch key {
            case .control(18):
                if !entries.isEmpty { search(from: match - 1) }
            case .text(let c):
                query.append(c)
                search(from: match)
            case .control(127), .control(8):
                if !query.isEmpty { query.removeLast() }
                match = entries.count
                if query.isEmpty {
                    (buffer, cursor) = saved
                    failed = false
                } else {
                    search(from: entries.count - 1)
                }
            case .control(7), .escape:  // Ctrl-G, Esc: back to the line as it was
                (buffer, cursor) = saved
                refresh()
                return nil
            case .control(3):
                refresh()
                display.endLine("^C\r\n")
                return .interrupted
            case .control(13), .control(10):
                refresh()
                display.endLine("\r\n")
                return .line(String(buffer))
            default:
                // Any other key keeps the match and edits it.
                historyIndex = match < entries.count ? match : entries.count
                refresh()
                edit(key)
                return nil
            }
            draw()
        }
    }

    // MARK: Drawing

    private func terminalColumns() -> Int {
        var w = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0 { return Int(w.ws_col) }
        return 80
    }

    /// Draws the prompt and the part of the line around the cursor that fits in the terminal's width.
    private func refresh(prompt override: String? = nil) {
        let prompt = override ?? self.prompt
        let columns = terminalColumns()
        let promptWidth = displayWidth(prompt.unicodeScalars)
        let room = max(1, columns - promptWidth - 1)
        // Scroll horizontally: the first shown character is the one that keeps the cursor in view.
        var first = 0
        var widthToCursor = buffer[..<cursor].reduce(0) { $0 + displayWidth($1.unicodeScalars) }
        while widthToCursor > room, first < cursor {
            widthToCursor -= displayWidth(buffer[first].unicodeScalars)
            first += 1
        }
        var shown = ""
        var width = 0
        for c in buffer[first...] {
            let w = displayWidth(c.unicodeScalars)
            if width + w > room { break }
            shown.append(c)
            width += w
        }
        var seq = "\r" + prompt + shown + "\u{1B}[0K\r"
        let column = promptWidth + widthToCursor
        if column > 0 { seq += "\u{1B}[\(column)C" }
        display.drawLine(seq)
    }

    // MARK: Terminal

    private func enableRawMode() -> Bool {
        guard isatty(input) != 0, tcgetattr(input, &original) == 0 else { return false }
        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_cflag |= tcflag_t(CS8)
        // OPOST stays on, so that "\n" written by other threads still starts a new line.
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        // TCSANOW, not TCSAFLUSH: lines typed or pasted ahead while a program ran must not be lost.
        guard tcsetattr(input, TCSANOW, &raw) == 0 else { return false }
        isRaw = true
        return true
    }

    func disableRawMode() {
        if isRaw {
            _ = tcsetattr(input, TCSANOW, &original)
            isRaw = false
        }
    }

    private func suspend() {
        disableRawMode()
        display.endLine("\r\n")
        kill(getpid(), SIGTSTP)
        _ = enableRawMode()
    }

    /// Without a terminal (should not happen: the REPL uses the editor only on one): a plain line.
    private func plainRead() -> LineRead {
        TerminalDisplay.write(prompt)
        guard let line = Swift.readLine(strippingNewline: true) else { return .endOfInput }
        return .line(line)
    }

    // MARK: Input

    /// The next byte; with a timeout (milliseconds), nil when none arrives in time. Without one, nil
    /// means the terminal is gone.
    private func readByte(timeout: Int32? = nil) -> UInt8? {
        if pendingOffset < pending.count {
            defer { pendingOffset += 1 }
            return pending[pendingOffset]
        }
        if let timeout {
            var p = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, timeout) > 0 else { return nil }
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            pending = Array(chunk[0..<n])
            pendingOffset = 1
            return pending[0]
        }
    }

    private func readKey() -> Key? {
        guard let b = readByte() else { return nil }
        switch b {
        case 0x1B: return readEscape()
        case 0..<0x20, 0x7F: return .control(b)
        case 0x20..<0x80: return .text(Character(Unicode.Scalar(b)))
        default:
            // UTF-8: the lead byte says how many continuation bytes follow.
            let count = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0
            var bytes = [b]
            for _ in 0..<count {
                guard let c = readByte(timeout: 100), c & 0xC0 == 0x80 else { return .ignored }
                bytes.append(c)
            }
            let s = String(decoding: bytes, as: UTF8.self)
            guard let c = s.first, s.unicodeScalars.first != "\u{FFFD}" else { return .ignored }
            return .text(c)
        }
    }

    /// After ESC: a CSI (`ESC [ params final`) or SS3 (`ESC O x`) key, an Alt key, or Esc itself.
    private func readEscape() -> Key {
        guard let b = readByte(timeout: 50) else { return .escape }
        switch b {
        case UInt8(ascii: "["):
            var parameters = ""
            while true {
                guard let c = readByte(timeout: 50) else { return .ignored }
                if c >= 0x40 && c <= 0x7E {
                    let modified = parameters.hasSuffix(";5") || parameters.hasSuffix(";3")
                    switch c {
                    case UInt8(ascii: "A"): return .up
                    case UInt8(ascii: "B"): return .down
                    case UInt8(ascii: "C"): return modified ? .wordRight : .right
                    case UInt8(ascii: "D"): return modified ? .wordLeft : .left
                    case UInt8(ascii: "H"): return .home
                    case UInt8(ascii: "F"): return .end
                    case UInt8(ascii: "~"):
                        switch parameters {
                        case "1", "7": return .home
                        case "4", "8": return .end
                        case "3": return .delete
                        default: return .ignored
                        }
                    default: return .ignored
                    }
                }
                parameters.append(Character(Unicode.Scalar(c)))
                if parameters.count > 16 { return .ignored }
            }
        case UInt8(ascii: "O"):
            switch readByte(timeout: 50) {
            case UInt8(ascii: "A"): return .up
            case UInt8(ascii: "B"): return .down
            case UInt8(ascii: "C"): return .right
            case UInt8(ascii: "D"): return .left
            case UInt8(ascii: "H"): return .home
            case UInt8(ascii: "F"): return .end
            default: return .ignored
            }
        case UInt8(ascii: "b"): return .wordLeft
        case UInt8(ascii: "f"): return .wordRight
        case UInt8(ascii: "d"): return .deleteWordRight
        case 0x7F, 0x08: return .deleteWordLeft
        default: return .ignored
        }
    }
}

/// Columns a piece of text takes on a terminal: 0 for combining marks and zero-width characters, 2
/// for East Asian wide characters and emoji, 1 otherwise (a table, not wcwidth, so that the result
/// does not depend on the locale).
func displayWidth<S: Sequence>(_ scalars: S) -> Int where S.Element == Unicode.Scalar {
    var width = 0
    for s in scalars {
        let v = s.value
        switch v {
        case 0..<0x20, 0x7F..<0xA0: continue  // control characters are not printed
        case 0x300...0x36F, 0x200B...0x200F, 0xFE00...0xFE0F, 0x20D0...0x20FF: continue
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
            0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            width += 2
        default:
            width += 1
        }
    }
    return width
}

extension String {
    /// Pads with spaces to at least `width` characters.
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
