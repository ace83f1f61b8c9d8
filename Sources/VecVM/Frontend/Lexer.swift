// Lexer: UTF-8 bytes → tokens with exact 1-based line:column positions.
// Newlines are statement separators except where LANGUAGE.md says a line continues: after a binary
// operator, `,` or an open bracket, before `else`, and (an extension) anywhere inside `( )` or `[ ]`.

enum TokenKind: UInt8, Sendable {
    case identifier, intLiteral, floatLiteral, stringLiteral
    // keywords
    case kwFn, kwLet, kwVar, kwIf, kwElse, kwWhile, kwFor, kwIn, kwBreak, kwContinue, kwReturn
    case kwSpawn, kwExtern, kwFrom, kwTrue, kwFalse
    // punctuation
    case lparen, rparen, lbracket, rbracket, lbrace, rbrace, comma, colon, semicolon, arrow, dotDot
    /// A lone `.`: not part of the language; the parser reports what to write instead of `a.f(...)`.
    case dot
    // operators
    case plus, minus, star, slash, percent, bang
    case assign, plusAssign, minusAssign, starAssign, slashAssign
    case equal, notEqual, less, lessEqual, greater, greaterEqual, andAnd, orOr
    case newline, eof

    static let keywords: [String: TokenKind] = [
        "fn": .kwFn, "let": .kwLet, "var": .kwVar, "if": .kwIf, "else": .kwElse, "while": .kwWhile,
        "for": .kwFor, "in": .kwIn, "break": .kwBreak, "continue": .kwContinue, "return": .kwReturn,
        "spawn": .kwSpawn, "extern": .kwExtern, "from": .kwFrom, "true": .kwTrue, "false": .kwFalse,
    ]

    /// A line ending with one of these continues on the next line.
    var continuesLine: Bool {
        switch self {
        case .plus, .minus, .star, .slash, .percent, .assign, .plusAssign, .minusAssign, .starAssign, .slashAssign,
            .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .andAnd, .orOr, .comma, .lparen,
            .lbracket, .lbrace, .arrow, .colon, .dotDot, .bang, .newline:
            return true
        default:
            return false
        }
    }

    var spelling: String {
        switch self {
        case .identifier: "identifier"
        case .intLiteral: "integer literal"
        case .floatLiteral: "float literal"
        case .stringLiteral: "string literal"
        case .kwFn: "'fn'"
        case .kwLet: "'let'"
        case .kwVar: "'var'"
        case .kwIf: "'if'"
        case .kwElse: "'else'"
        case .kwWhile: "'while'"
        case .kwFor: "'for'"
        case .kwIn: "'in'"
        case .kwBreak: "'break'"
        case .kwContinue: "'continue'"
        case .kwReturn: "'return'"
        case .kwSpawn: "'spawn'"
        case .kwExtern: "'extern'"
        case .kwFrom: "'from'"
        case .kwTrue: "'true'"
        case .kwFalse: "'false'"
        case .lparen: "'('"
        case .rparen: "')'"
        case .lbracket: "'['"
        case .rbracket: "']'"
        case .lbrace: "'{'"
        case .rbrace: "'}'"
        case .comma: "','"
        case .colon: "':'"
        case .semicolon: "';'"
        case .arrow: "'->'"
        case .dotDot: "'..'"
        case .dot: "'.'"
        case .plus: "'+'"
        case .minus: "'-'"
        case .star: "'*'"
        case .slash: "'/'"
        case .percent: "'%'"
        case .bang: "'!'"
        case .assign: "'='"
        case .plusAssign: "'+='"
        case .minusAssign: "'-='"
        case .starAssign: "'*='"
        case .slashAssign: "'/='"
        case .equal: "'=='"
        case .notEqual: "'!='"
        case .less: "'<'"
        case .lessEqual: "'<='"
        case .greater: "'>'"
        case .greaterEqual: "'>='"
        case .andAnd: "'&&'"
        case .orOr: "'||'"
        case .newline: "end of line"
        case .eof: "end of file"
        }
    }
}

struct Token: Sendable {
    var kind: TokenKind
    var location: SourceLocation
    /// Identifier name, literal digits (without `_`), or the decoded string value.
    var text: String
}

struct Lexer {
    let file: SourceFile
    private let bytes: [UInt8]
    private var pos = 0
    private var line = 1
    private var column = 1
    private(set) var diagnostics: [Diagnostic] = []

    init(file: SourceFile) {
        self.file = file
        self.bytes = file.bytes
    }

    /// Lexes the whole file. Lexical errors are collected; the offending characters are skipped.
    static func tokenize(_ file: SourceFile) -> (tokens: [Token], diagnostics: [Diagnostic]) {
        var lexer = Lexer(file: file)
        var raw: [Token] = []
        while true {
            let t = lexer.next()
            raw.append(t)
            if t.kind == .eof { break }
        }
        return (filterNewlines(raw), lexer.diagnostics)
    }

    /// Drops the newlines that do not end a statement.
    static func filterNewlines(_ raw: [Token]) -> [Token] {
        var out: [Token] = []
        out.reserveCapacity(raw.count)
        var brackets: [TokenKind] = []  // open brackets: `(`, `[` suppress newlines; `{` does not
        for (i, t) in raw.enumerated() {
            switch t.kind {
            case .lparen, .lbracket, .lbrace: brackets.append(t.kind)
            case .rparen, .rbracket, .rbrace: if !brackets.isEmpty { brackets.removeLast() }
            default: break
            }
            if t.kind == .newline {
                if let top = brackets.last, top != .lbrace { continue }
                guard let prev = out.last else { continue }  // leading newlines
                if prev.kind.continuesLine || prev.kind == .semicolon { continue }
                // `else` may start a line: look past further newlines.
                var j = i + 1
                while j < raw.count, raw[j].kind == .newline { j += 1 }
                if j < raw.count, raw[j].kind == .kwElse { continue }
            }
            out.append(t)
        }
        return out
    }

    private var atEnd: Bool { pos >= bytes.count }
    private func peek(_ offset: Int = 0) -> UInt8 { pos + offset < bytes.count ? bytes[pos + offset] : 0 }

    private mutating func advance() {
        let b = bytes[pos]
        pos += 1
        if b == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {  // count scalars, not UTF-8 continuation bytes
            column += 1
        }
    }

    private mutating func error(_ message: String, at loc: SourceLocation) {
        diagnostics.append(Diagnostic(file: file, location: loc, message: message))
    }

    private var here: SourceLocation { SourceLocation(line: line, column: column) }

    mutating func next() -> Token {
        while true {
            // Skip blanks and comments.
            while !atEnd {
                let c = peek()
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
                    advance()
                } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                    while !atEnd && peek() != UInt8(ascii: "\n") { advance() }
                } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                    let start = here
                    advance()
                    advance()
                    var closed = false
                    while !atEnd {
                        if peek() == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") {
                            advance()
                            advance()
                            closed = true
                            break
                        }
                        advance()
                    }
                    if !closed { error("unterminated block comment", at: start) }
                } else {
                    break
                }
            }
            let loc = here
            guard !atEnd else { return Token(kind: .eof, location: loc, text: "") }
            let c = peek()
            if c == UInt8(ascii: "\n") {
                advance()
                return Token(kind: .newline, location: loc, text: "")
            }
            if isIdentStart(c) {
                let start = pos
                while !atEnd && isIdentContinue(peek()) { advance() }
                let name = String(decoding: bytes[start..<pos], as: UTF8.self)
                return Token(kind: TokenKind.keywords[name] ?? .identifier, location: loc, text: name)
            }
            if isDigit(c) { return lexNumber(at: loc) }
            if c == UInt8(ascii: "\"") {
                if let t = lexString(at: loc) { return t }
                continue
            }
            advance()
            func op(_ k: TokenKind) -> Token { Token(kind: k, location: loc, text: "") }
            func match(_ ch: Character) -> Bool {
                if peek() == ch.asciiValue! {
                    advance()
                    return true
                }
                return false
            }
            switch c {
            case UInt8(ascii: "("): return op(.lparen)
            case UInt8(ascii: ")"): return op(.rparen)
            case UInt8(ascii: "["): return op(.lbracket)
            case UInt8(ascii: "]"): return op(.rbracket)
            case UInt8(ascii: "{"): return op(.lbrace)
            case UInt8(ascii: "}"): return op(.rbrace)
            case UInt8(ascii: ","): return op(.comma)
            case UInt8(ascii: ":"): return op(.colon)
            case UInt8(ascii: ";"): return op(.semicolon)
            case UInt8(ascii: "+"): return op(match("=") ? .plusAssign : .plus)
            case UInt8(ascii: "-"): return op(match(">") ? .arrow : match("=") ? .minusAssign : .minus)
            case UInt8(ascii: "*"): return op(match("=") ? .starAssign : .star)
            case UInt8(ascii: "/"): return op(match("=") ? .slashAssign : .slash)
            case UInt8(ascii: "%"): return op(.percent)
            case UInt8(ascii: "!"): return op(match("=") ? .notEqual : .bang)
            case UInt8(ascii: "="): return op(match("=") ? .equal : .assign)
            case UInt8(ascii: "<"): return op(match("=") ? .lessEqual : .less)
            case UInt8(ascii: ">"): return op(match("=") ? .greaterEqual : .greater)
            case UInt8(ascii: "&"):
                if match("&") { return op(.andAnd) }
                error("unexpected character '&' (did you mean '&&'?)", at: loc)
            case UInt8(ascii: "|"):
                if match("|") { return op(.orOr) }
                error("unexpected character '|' (did you mean '||'?)", at: loc)
            case UInt8(ascii: "."):
                if match(".") { return op(.dotDot) }
                if isDigit(peek()) {
                    error("unexpected character '.' (a float literal needs a digit before the dot: '0.5')", at: loc)
                } else {
                    return op(.dot)  // member syntax (`a.len()`) or `1.`: the parser explains
                }
            default:
                // Skip the rest of a multi-byte character so that one bad character is one error.
                while !atEnd && peek() & 0xC0 == 0x80 { advance() }
                let shown =
                    c >= 0x20 && c < 0x7F
                    ? "'\(Character(UnicodeScalar(c)))'"
                    : c >= 0x80
                        ? "non-ASCII character"
                        : "byte 0x\(String(c, radix: 16))"
                error("unexpected \(shown)", at: loc)
            }
        }
    }

    private func isIdentStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || c == UInt8(ascii: "_")
    }
    private func isIdentContinue(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private func isHexDigit(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
            || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"))
    }

    /// `42`, `1_000`, `0x1F`, `1.5`, `1e3`, `2.5e-7`. The token text keeps the digits without `_`
    /// (and the `0x` prefix), so that the checker can convert it exactly in the type the context asks for.
    private mutating func lexNumber(at loc: SourceLocation) -> Token {
        var text = ""
        if peek() == UInt8(ascii: "0") && (peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X")) {
            advance()
            advance()
            text = "0x"
            while !atEnd && (isHexDigit(peek()) || peek() == UInt8(ascii: "_")) {
                if peek() != UInt8(ascii: "_") { text.append(Character(UnicodeScalar(peek()))) }
                advance()
            }
            if text == "0x" { error("hexadecimal literal needs digits after '0x'", at: loc) }
            if !atEnd && isIdentContinue(peek()) { badSuffix(loc) }
            return Token(kind: .intLiteral, location: loc, text: text == "0x" ? "0" : text)
        }
        func digits() {
            while !atEnd && (isDigit(peek()) || peek() == UInt8(ascii: "_")) {
                if peek() != UInt8(ascii: "_") { text.append(Character(UnicodeScalar(peek()))) }
                advance()
            }
        }
        digits()
        var isFloat = false
        // A dot is a decimal point only when a digit follows (`0..10` is a range).
        if peek() == UInt8(ascii: ".") && isDigit(peek(1)) {
            isFloat = true
            text.append(".")
            advance()
            digits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            let signed = peek(1) == UInt8(ascii: "+") || peek(1) == UInt8(ascii: "-")
            if isDigit(peek(signed ? 2 : 1)) {
                isFloat = true
                text.append("e")
                advance()
                if signed {
                    text.append(Character(UnicodeScalar(peek())))
                    advance()
                }
                digits()
            } else {
                error("exponent needs digits", at: here)
                advance()
                return Token(kind: .floatLiteral, location: loc, text: "0")
            }
        }
        if !atEnd && isIdentContinue(peek()) { badSuffix(loc) }
        return Token(kind: isFloat ? .floatLiteral : .intLiteral, location: loc, text: text)
    }

    private mutating func badSuffix(_ loc: SourceLocation) {
        let start = pos
        while !atEnd && isIdentContinue(peek()) { advance() }
        error("invalid suffix '\(String(decoding: bytes[start..<pos], as: UTF8.self))' on number literal", at: loc)
    }

    private mutating func lexString(at loc: SourceLocation) -> Token? {
        advance()  // opening quote
        var value: [UInt8] = []
        while true {
            guard !atEnd, peek() != UInt8(ascii: "\n") else {
                error("unterminated string literal", at: loc)
                return Token(kind: .stringLiteral, location: loc, text: String(decoding: value, as: UTF8.self))
            }
            let c = peek()
            if c == UInt8(ascii: "\"") {
                advance()
                break
            }
            if c == UInt8(ascii: "\\") {
                let escLoc = here
                advance()
                guard !atEnd else { continue }
                let e = peek()
                advance()
                switch e {
                case UInt8(ascii: "n"): value.append(10)
                case UInt8(ascii: "t"): value.append(9)
                case UInt8(ascii: "\""): value.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): value.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "r"): value.append(13)
                case UInt8(ascii: "0"): value.append(0)
                default:
                    error("unknown escape sequence in string literal (use \\n \\t \\\" \\\\)", at: escLoc)
                }
                continue
            }
            value.append(c)
            advance()
        }
        return Token(kind: .stringLiteral, location: loc, text: String(decoding: value, as: UTF8.self))
    }
}
