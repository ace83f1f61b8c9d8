// Warnings: what compiles but is probably a mistake, as rustc reports it. An unused `let`, `var` or
// parameter; a `var` that is never assigned (a `let` would do); a variable assigned but never read;
// code that can never run because it follows a `return`, `break` or `continue`. A warning never
// changes what a program does or its exit status. The checker records declarations, reads and
// assignments while it checks (Variable.isRead / isAssigned) and asks `WarningLog` for the messages at
// the end; names that start with `_` are exempt, as in Rust and Swift. Warnings are reported only for a
// program that compiles: after an error, "unused" is often a consequence of the error itself.

struct WarningLog {
    enum Role {
        /// A `let`/`var` inside a function or a block.
        case local
        case parameter
        /// A `let`/`var` at the top level of a file (not tracked in a REPL, where a later input may use it).
        case topLevel
    }

    private var declared: [(variable: Variable, role: Role)] = []
    private var unreachable: [(location: SourceLocation, reason: String)] = []

    mutating func declare(_ v: Variable, _ role: Role) { declared.append((v, role)) }

    mutating func unreachable(at location: SourceLocation, reason: String) {
        unreachable.append((location, reason))
    }

    /// The warnings, in source order.
    func warnings(file: SourceFile) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for (v, role) in declared where !v.name.hasPrefix("_") && v.type != .error {
            let message: String
            if !v.isRead && !v.isAssigned {
                message =
                    role == .parameter
                    ? "unused parameter '\(v.name)' (if that is intended, name it '_\(v.name)')"
                    : "unused variable '\(v.name)' (if that is intended, name it '_\(v.name)')"
            } else if !v.isRead {
                message = "variable '\(v.name)' is assigned but its value is never read"
            } else if v.isMutable && !v.isAssigned && role != .parameter && !holdsChangingContents(v.type) {
                message = "variable '\(v.name)' is declared with 'var' but never assigned: use 'let'"
            } else {
                continue
            }
            out.append(Diagnostic(file: file, location: v.declaration, message: message, severity: .warning))
        }
        for (location, reason) in unreachable {
            out.append(
                Diagnostic(
                    file: file, location: location, message: "this code will never run (\(reason))",
                    severity: .warning))
        }
        return out.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }

    /// Arrays and channels: a `var` of one says that its contents change (`out[i] = x`, `send(c, v)`),
    /// though `let` allows that too; no "use 'let'" for them.
    private func holdsChangingContents(_ t: VType) -> Bool {
        if case .array = t { return true }
        if case .chan = t { return true }
        return false
    }

    /// Why the statements after `s` in the same block can never run, or nil when they can.
    static func reasonNothingRunsAfter(_ s: Stmt) -> String? {
        switch s.kind {
        case .return: return "it follows a 'return'"
        case .break: return "it follows a 'break'"
        case .continue: return "it follows a 'continue'"
        case .block(let b):
            return b.statements.lazy.compactMap(reasonNothingRunsAfter).first
        case .if(let i):
            guard let e = i.otherwise, reasonNothingRunsAfter(i.then) != nil, reasonNothingRunsAfter(e) != nil
            else { return nil }
            return "every branch of the 'if' before it leaves"
        case .while(let w):
            if let c = w.condition as? BoolLiteral, c.value, !Checker.containsBreak(w.body) {
                return "the loop before it never ends"
            }
            return nil
        case .varDecl, .assign, .expression, .for, .function, .extern:
            return nil
        }
    }
}
