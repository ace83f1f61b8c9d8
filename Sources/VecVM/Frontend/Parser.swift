// Parser: tokens → AST, by recursive descent for statements and precedence climbing (Pratt) for
// expressions. Every node carries the exact line:column of its first token (binary operators: of the
// operator). Nesting is bounded (`maxNesting`) so that no input, however deep, overflows the native
// stack of this or any later recursive pass. After an error the parser skips to the next statement
// and goes on, so that one run reports several independent mistakes.

struct Parser {
    /// Deepest nesting of blocks and expressions accepted (Lua's LUAI_MAXCCALLS is 200 for the same reason).
    static let maxNesting = 200

    private let file: SourceFile
    private let tokens: [Token]
    private var index = 0
    private var nesting = 0
    private(set) var diagnostics: [Diagnostic] = []

    private struct Abort: Error {}

    init(file: SourceFile, tokens: [Token]) {
        self.file = file
        self.tokens = tokens
    }

    static func parse(_ file: SourceFile) -> (SourceUnit, [Diagnostic]) {
        let (tokens, lexErrors) = Lexer.tokenize(file)
        var parser = Parser(file: file, tokens: tokens)
        let statements = parser.parseProgram()
        let all = (lexErrors + parser.diagnostics).sorted {
            ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
        }
        return (SourceUnit(file: file, statements: statements), all)
    }

    // MARK: Token helpers

    private var current: Token { tokens[index] }
    private var kind: TokenKind { tokens[index].kind }
    private func peekKind(_ n: Int) -> TokenKind { index + n < tokens.count ? tokens[index + n].kind : .eof }

    private mutating func advance() -> Token {
        let t = tokens[index]
        if t.kind != .eof { index += 1 }
        return t
    }

    private mutating func accept(_ k: TokenKind) -> Bool {
        if kind == k {
            _ = advance()
            return true
        }
        return false
    }

    private mutating func expect(_ k: TokenKind, _ context: String) throws(Abort) -> Token {
        if kind == k { return advance() }
        throw fail("expected \(k.spelling) \(context), found \(describe(current))", at: current.location)
    }

    private func describe(_ t: Token) -> String {
        switch t.kind {
        case .identifier: "'\(t.text)'"
        case .intLiteral, .floatLiteral: "'\(t.text)'"
        case .stringLiteral: "string literal"
        default: t.kind.spelling
        }
    }

    private mutating func fail(_ message: String, at loc: SourceLocation) -> Abort {
        // One message per place: recovery can reach the same bad token twice.
        if !diagnostics.contains(where: { $0.location == loc }) {
            diagnostics.append(Diagnostic(file: file, location: loc, message: message))
        }
        return Abort()
    }

    private mutating func enter(_ loc: SourceLocation) throws(Abort) {
        nesting += 1
        if nesting > Parser.maxNesting {
            throw fail("nesting is too deep (the limit is \(Parser.maxNesting) levels)", at: loc)
        }
    }
    private mutating func leave() { nesting -= 1 }

    private mutating func checkDepth(_ e: Expr) throws(Abort) -> Expr {
        if e.depth > Parser.maxNesting {
            throw fail("expression is too deeply nested (the limit is \(Parser.maxNesting) levels)", at: e.location)
        }
        return e
    }

    // MARK: Statements

    private var atStatementEnd: Bool {
        kind == .newline || kind == .semicolon || kind == .rbrace || kind == .eof
    }

    private mutating func skipSeparators() {
        while kind == .newline || kind == .semicolon { _ = advance() }
    }

    /// After an error: skip to the end of the current statement, balancing brackets.
    private mutating func recover() {
        var depth = 0
        while kind != .eof {
            switch kind {
            case .lbrace, .lparen, .lbracket: depth += 1
            case .rbrace, .rparen, .rbracket:
                if depth == 0 { return }
                depth -= 1
            case .newline, .semicolon:
                if depth == 0 { return }
            default: break
            }
            _ = advance()
        }
    }

    /// After an error in a function's header or body: skip to the end of its body, so that the rest
    /// of the declaration does not produce errors of its own.
    private mutating func skipFunctionRest() {
        var parens = 0
        while kind != .eof && !(kind == .lbrace && parens == 0) {
            if kind == .lparen { parens += 1 } else if kind == .rparen { parens = max(0, parens - 1) }
            if kind == .kwFn && parens == 0 && index > 0 && tokens[index - 1].kind == .newline { return }
            _ = advance()
        }
        var depth = 0
        while kind != .eof {
            if kind == .lbrace {
                depth += 1
            } else if kind == .rbrace {
                depth -= 1
                if depth <= 0 {
                    _ = advance()
                    return
                }
            }
            _ = advance()
        }
    }

    mutating func parseProgram() -> [Stmt] {
        var out: [Stmt] = []
        skipSeparators()
        while kind != .eof {
            let start = index
            do throws(Abort) {
                let statement = try parseStatement(topLevel: true)
                out.append(statement)
                try endStatement(after: statement)
            } catch {
                nesting = 0
                if tokens[start].kind == .kwFn {
                    skipFunctionRest()
                } else {
                    recover()
                    // A stray closing bracket at the top level: skip it; and always make progress.
                    if kind == .rbrace || kind == .rparen || kind == .rbracket || index == start { _ = advance() }
                }
            }
            skipSeparators()
            if diagnostics.count >= 50 { break }
        }
        return out
    }

    private mutating func endStatement(after statement: Stmt) throws(Abort) {
        if atStatementEnd { return }
        if let (word, keyword, loc) = misspelledKeyword(after: statement) {
            throw fail("'\(word)' is not a keyword (did you mean '\(keyword)'?)", at: loc)
        }
        throw fail("expected end of statement (a new line or ';'), found \(describe(current))", at: current.location)
    }

    /// A statement that does not end where it should often began with a misspelled keyword
    /// (`whille i < 3 {`, `retrun x`, `fro i in a`, `whille (c) {`) or is followed by one
    /// (`} esle {`): the word, the keyword it is closest to, and where the word is.
    private func misspelledKeyword(after statement: Stmt) -> (String, String, SourceLocation)? {
        let keywords = TokenKind.keywords.keys
        var words: [Token] = []
        if index > 0, tokens[index - 1].kind == .identifier { words.append(tokens[index - 1]) }
        if let e = statement as? ExprStmt, let call = e.expr as? CallExpr, kind == .lbrace {
            words.append(Token(kind: .identifier, location: call.calleeLocation, text: call.callee))
        }
        if kind == .identifier { words.append(current) }
        // A one-letter word is more likely a variable than a keyword typo.
        for w in words where w.text.count > 1 {
            if let k = Suggestions.closest(to: w.text, among: keywords) { return (w.text, k, w.location) }
        }
        return nil
    }

    private mutating func parseBlock() throws(Abort) -> BlockStmt {
        let open = try expect(.lbrace, "to open a block")
        try enter(open.location)
        defer { leave() }
        var out: [Stmt] = []
        skipSeparators()
        while kind != .rbrace {
            if kind == .eof {
                throw fail("expected '}' to close the block opened at \(open.location)", at: current.location)
            }
            let start = index
            do throws(Abort) {
                let statement = try parseStatement(topLevel: false)
                out.append(statement)
                try endStatement(after: statement)
            } catch {
                if nesting > Parser.maxNesting { throw error }
                recover()
                if kind == .eof { throw error }
                if kind == .rparen || kind == .rbracket || (index == start && kind != .rbrace) { _ = advance() }
            }
            skipSeparators()
        }
        _ = advance()
        return BlockStmt(out, open.location)
    }

    private mutating func parseStatement(topLevel: Bool) throws(Abort) -> Stmt {
        let loc = current.location
        switch kind {
        case .kwFn:
            if !topLevel { throw fail("functions are declared at the top level of a file", at: loc) }
            return try parseFunction()
        case .kwExtern:
            if !topLevel { throw fail("extern functions are declared at the top level of a file", at: loc) }
            return try parseExtern()
        case .kwLet, .kwVar:
            let isVar = advance().kind == .kwVar
            let name = try expect(.identifier, "after '\(isVar ? "var" : "let")'")
            var annotation: TypeSyntax?
            if accept(.colon) { annotation = try parseType() }
            if kind != .assign {
                throw fail(
                    "'\(name.text)' needs an initial value ('\(isVar ? "var" : "let") \(name.text) = ...')",
                    at: current.location)
            }
            _ = advance()
            let value = try parseExpression()
            return VarDecl(
                name: name.text, nameLocation: name.location, isMutable: isVar, annotation: annotation, value: value,
                loc)
        case .kwIf:
            return try parseIf()
        case .kwWhile:
            _ = advance()
            let cond = try parseExpression()
            let body = try parseBlock()
            return WhileStmt(cond, body, loc)
        case .kwFor:
            _ = advance()
            let name = try expect(.identifier, "after 'for'")
            _ = try expect(.kwIn, "after the loop variable")
            let lower = try parseExpression()
            var upper: Expr?
            if accept(.dotDot) { upper = try parseExpression() }
            let body = try parseBlock()
            return ForStmt(name: name.text, nameLocation: name.location, lower: lower, upper: upper, body: body, loc)
        case .kwBreak:
            _ = advance()
            return BreakStmt(loc)
        case .kwContinue:
            _ = advance()
            return ContinueStmt(loc)
        case .kwReturn:
            _ = advance()
            if atStatementEnd { return ReturnStmt(nil, loc) }
            return ReturnStmt(try parseExpression(), loc)
        case .lbrace:
            return try parseBlock()
        case .kwElse:
            throw fail("'else' without a matching 'if'", at: loc)
        default:
            let target = try parseExpression()
            let op: AssignOp
            switch kind {
            case .assign: op = .plain
            case .plusAssign: op = .add
            case .minusAssign: op = .sub
            case .starAssign: op = .mul
            case .slashAssign: op = .div
            default: return ExprStmt(target)
            }
            let opLoc = advance().location
            let value = try parseExpression()
            return AssignStmt(target, op, value, opLoc)
        }
    }

    private mutating func parseIf() throws(Abort) -> IfStmt {
        let loc = advance().location
        try enter(loc)
        defer { leave() }
        let cond = try parseExpression()
        let then = try parseBlock()
        var otherwise: Stmt?
        if accept(.kwElse) {
            if kind == .kwIf {
                otherwise = try parseIf()
            } else {
                otherwise = try parseBlock()
            }
        }
        return IfStmt(cond, then, otherwise, loc)
    }

    private mutating func parseParameters() throws(Abort) -> [Parameter] {
        _ = try expect(.lparen, "to open the parameter list")
        var params: [Parameter] = []
        if !accept(.rparen) {
            repeat {
                let name = try expect(.identifier, "as a parameter name")
                _ = try expect(.colon, "after parameter '\(name.text)' (parameters need a type: '\(name.text): int')")
                let type = try parseType()
                params.append(Parameter(name: name.text, type: type, location: name.location))
            } while accept(.comma)
            _ = try expect(.rparen, "to close the parameter list")
        }
        return params
    }

    private mutating func parseFunction() throws(Abort) -> FunctionDecl {
        let loc = advance().location
        let name = try expect(.identifier, "after 'fn'")
        let params = try parseParameters()
        var result: TypeSyntax?
        if accept(.arrow) { result = try parseType() }
        let body = try parseBlock()
        return FunctionDecl(
            name: name.text, nameLocation: name.location, parameters: params, result: result, body: body, loc)
    }

    private mutating func parseExtern() throws(Abort) -> ExternDecl {
        let loc = advance().location
        _ = try expect(.kwFn, "after 'extern'")
        let name = try expect(.identifier, "after 'extern fn'")
        let params = try parseParameters()
        var result: TypeSyntax?
        if accept(.arrow) { result = try parseType() }
        _ = try expect(.kwFrom, "and a library name ('from \"libm.so.6\"')")
        let lib = try expect(.stringLiteral, "naming the library after 'from'")
        return ExternDecl(
            name: name.text, nameLocation: name.location, parameters: params, result: result, library: lib.text,
            libraryLocation: lib.location, loc)
    }

    private mutating func parseType() throws(Abort) -> TypeSyntax {
        let loc = current.location
        try enter(loc)
        defer { leave() }
        if accept(.lbracket) {
            let elem = try parseType()
            _ = try expect(.rbracket, "to close the array type")
            return .array(elem, loc)
        }
        let name = try expect(.identifier, "as a type")
        if (name.text == "task" || name.text == "chan") && accept(.less) {
            let arg = try parseType()
            _ = try expect(.greater, "to close '\(name.text)<'")
            return .generic(name.text, arg, loc)
        }
        return .named(name.text, loc)
    }

    // MARK: Expressions

    private static func binaryPrecedence(_ k: TokenKind) -> (Int, BinaryOp)? {
        switch k {
        case .orOr: (1, .or)
        case .andAnd: (2, .and)
        case .equal: (3, .eq)
        case .notEqual: (3, .ne)
        case .less: (3, .lt)
        case .lessEqual: (3, .le)
        case .greater: (3, .gt)
        case .greaterEqual: (3, .ge)
        case .plus: (4, .add)
        case .minus: (4, .sub)
        case .star: (5, .mul)
        case .slash: (5, .div)
        case .percent: (5, .mod)
        default: nil
        }
    }

    private mutating func parseExpression(_ minPrecedence: Int = 1) throws(Abort) -> Expr {
        try enter(current.location)
        defer { leave() }
        var lhs = try parseUnary()
        while let (prec, op) = Parser.binaryPrecedence(kind), prec >= minPrecedence {
            let opLoc = advance().location
            let rhs = try parseExpression(prec + 1)
            let node = BinaryExpr(op, lhs, rhs, opLoc)
            node.depth = max(lhs.depth, rhs.depth) + 1
            lhs = try checkDepth(node)
        }
        return lhs
    }

    private mutating func parseUnary() throws(Abort) -> Expr {
        let loc = current.location
        if accept(.minus) || accept(.bang) {
            let op: UnaryOp = tokens[index - 1].kind == .minus ? .negate : .not
            try enter(loc)
            defer { leave() }
            let operand = try parseUnary()
            let node = UnaryExpr(op, operand, loc)
            node.depth = operand.depth + 1
            return try checkDepth(node)
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(Abort) -> Expr {
        let start = index
        var e = try parsePrimary()
        while kind == .lbracket {
            let loc = advance().location
            let idx = try parseExpression()
            if accept(.dotDot) {
                let upper = try parseExpression()
                _ = try expect(.rbracket, "to close the slice")
                let node = SliceExpr(e, idx, upper, loc)
                node.depth = max(e.depth, idx.depth, upper.depth) + 1
                e = try checkDepth(node)
            } else {
                _ = try expect(.rbracket, "to close the index")
                let node = IndexExpr(e, idx, loc)
                node.depth = max(e.depth, idx.depth) + 1
                e = try checkDepth(node)
            }
        }
        if kind == .lparen {
            throw fail("only a named function can be called", at: current.location)
        }
        if kind == .dot { throw memberSyntax(after: e, startingAt: start) }
        return e
    }

    /// `a.f(x)`, `p.x`, `1.`: .vec has no member syntax; say what to write instead. `start` is the
    /// index of the first token of `base`.
    private mutating func memberSyntax(after base: Expr, startingAt start: Int) -> Abort {
        let baseText = sourceText(from: start, to: index - 1) ?? "a"
        let dot = advance()
        guard kind == .identifier else {
            if let lit = base as? IntLiteral, tokens[index - 2].kind == .intLiteral {
                return fail("a float literal needs a digit after the dot: '\(lit.text).0'", at: dot.location)
            }
            return fail("unexpected '.' (.vec has no member syntax)", at: dot.location)
        }
        let member = advance()
        var call = "\(member.text)(\(baseText))"
        if kind == .lparen {
            let open = index
            let arguments = (try? parseArguments()) ?? []
            if !arguments.isEmpty {
                call = "\(member.text)(\(baseText), \(sourceText(from: open + 1, to: index - 2) ?? "..."))"
            }
        } else if Builtin(rawValue: member.text) == nil {
            return fail(
                "'.' member syntax does not exist in .vec: values have no fields or methods", at: dot.location)
        }
        let advice: String
        switch member.text {
        case "push", "append", "add", "insert", "extend", "pop", "remove":
            advice =
                "arrays have a fixed length (there is no '\(member.text)'): make one of the length you need with "
                + "'fill(n, x)' and set its elements with '\(baseText)[i] = x'"
        case "length", "size", "count": advice = "the length is 'len(\(baseText))'"
        default: advice = "functions take the value as an argument: write '\(call)'"
        }
        return fail("'.' member syntax does not exist in .vec: \(advice)", at: dot.location)
    }

    /// The source text from token `first` to the end of token `last` (inclusive), when both are on
    /// one line; nil otherwise.
    private func sourceText(from first: Int, to last: Int) -> String? {
        guard first <= last, first >= 0, last < tokens.count else { return nil }
        let a = tokens[first].location
        let b = tokens[last].location
        guard a.line == b.line else { return nil }
        let line = Array(file.line(Int(a.line)).unicodeScalars)
        let lower = Int(a.column) - 1
        // The end of the last token: scan to where the next token starts, trimming blanks.
        var upper =
            last + 1 < tokens.count && tokens[last + 1].location.line == b.line
            ? Int(tokens[last + 1].location.column) - 1 : line.count
        upper = min(max(upper, lower), line.count)
        var text = String(String.UnicodeScalarView(line[lower..<upper]))
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text.isEmpty ? nil : text
    }

    private mutating func parseArguments() throws(Abort) -> [Expr] {
        _ = try expect(.lparen, "to open the argument list")
        var args: [Expr] = []
        if !accept(.rparen) {
            repeat { args.append(try parseExpression()) } while accept(.comma)
            _ = try expect(.rparen, "to close the argument list")
        }
        return args
    }

    private mutating func parsePrimary() throws(Abort) -> Expr {
        let t = current
        switch t.kind {
        case .intLiteral:
            _ = advance()
            return IntLiteral(t.text, t.location)
        case .floatLiteral:
            _ = advance()
            return FloatLiteral(t.text, t.location)
        case .stringLiteral:
            _ = advance()
            return StringLiteral(t.text, t.location)
        case .kwTrue, .kwFalse:
            _ = advance()
            return BoolLiteral(t.kind == .kwTrue, t.location)
        case .identifier:
            _ = advance()
            if t.text == "chan" && kind == .less {
                _ = advance()
                let elem = try parseType()
                _ = try expect(.greater, "to close 'chan<'")
                let args = try parseArguments()
                let node = CallExpr("chan", t.location, args, typeArgument: elem, t.location)
                node.depth = (args.map(\.depth).max() ?? 0) + 1
                return try checkDepth(node)
            }
            if kind == .lparen {
                let args = try parseArguments()
                let node = CallExpr(t.text, t.location, args, t.location)
                node.depth = (args.map(\.depth).max() ?? 0) + 1
                return try checkDepth(node)
            }
            return NameExpr(t.text, t.location)
        case .lparen:
            _ = advance()
            let e = try parseExpression()
            _ = try expect(.rparen, "to close the parenthesis")
            return e
        case .lbracket:
            _ = advance()
            var elements: [Expr] = []
            if !accept(.rbracket) {
                repeat {
                    if kind == .rbracket { break }  // trailing comma
                    elements.append(try parseExpression())
                } while accept(.comma)
                _ = try expect(.rbracket, "to close the array literal")
            }
            let node = ArrayLiteral(elements, t.location)
            node.depth = (elements.map(\.depth).max() ?? 0) + 1
            return try checkDepth(node)
        case .kwSpawn:
            _ = advance()
            let name = try expect(.identifier, "after 'spawn' (spawn a function call: 'spawn f(x)')")
            let args = try parseArguments()
            let call = CallExpr(name.text, name.location, args, name.location)
            call.depth = (args.map(\.depth).max() ?? 0) + 1
            let node = SpawnExpr(call, t.location)
            node.depth = call.depth + 1
            return try checkDepth(node)
        default:
            throw fail("expected an expression, found \(describe(t))", at: t.location)
        }
    }
}
