// Types of the input and output built-ins (docs/language.md, "Input and output"); they run in
// Interpreter/IOBuiltins.swift. File access is a compile error in a VM that forbids it, as `extern` is.

/// The signature of an input or output built-in.
struct IOSignature {
    /// Parameter types; `save`'s second parameter is any array (checked apart).
    let parameters: [VType]
    let result: VType
    /// The operation it compiles to (Opcode.swift).
    let operation: IOOp
    /// Reads or writes files: refused where the VM forbids file access.
    let touchesFiles: Bool

    /// Every input and output built-in (a computed table: VType is not Sendable).
    static var table: [Builtin: IOSignature] {
        [
            .argc: IOSignature(parameters: [], result: .int, operation: .argc, touchesFiles: false),
            .arg: IOSignature(parameters: [.int], result: .str, operation: .arg, touchesFiles: false),
            .readLine: IOSignature(parameters: [], result: .str, operation: .readLine, touchesFiles: false),
            .eof: IOSignature(parameters: [], result: .bool, operation: .eof, touchesFiles: false),
            .readFile: IOSignature(parameters: [.str], result: .str, operation: .readFile, touchesFiles: true),
            .writeFile: IOSignature(
                parameters: [.str, .str], result: .void, operation: .writeFile, touchesFiles: true),
            .loadF32: IOSignature(parameters: [.str], result: .array(.f32), operation: .load, touchesFiles: true),
            .loadFloat: IOSignature(parameters: [.str], result: .array(.float), operation: .load, touchesFiles: true),
            .loadInt: IOSignature(parameters: [.str], result: .array(.int), operation: .load, touchesFiles: true),
            .save: IOSignature(parameters: [.str, .error], result: .void, operation: .save, touchesFiles: true),
        ]
    }
}

extension Checker {
    /// Checks a call of an input or output built-in (`IOSignature.table` has it); returns its type.
    mutating func inferIOBuiltin(_ b: Builtin, _ c: CallExpr) -> VType {
        guard let signature = IOSignature.table[b] else {
            error("'\(c.callee)' is not an input or output built-in", at: c.calleeLocation)
            return .error
        }
        if signature.touchesFiles && !environment.allowFileAccess {
            error("\(c.callee): file access is disabled in this VM", at: c.calleeLocation)
        }
        let parameters = signature.parameters
        if c.args.count != parameters.count {
            error(
                "'\(c.callee)' takes \(parameters.count) argument\(parameters.count == 1 ? "" : "s"), not \(c.args.count)",
                at: c.location)
            for a in c.args { _ = check(a, expected: nil) }
            return signature.result
        }
        for (i, (a, want)) in zip(c.args, parameters).enumerated() {
            if signature.operation == .save && i == 1 {
                let t = check(a, expected: nil)
                if !t.isArray && t != .error {
                    error("save writes an array ([int], [float] or [f32]), found \(t)", at: a.location)
                }
                continue
            }
            let t = check(a, expected: want)
            if !t.matches(want) {
                error("argument \(i + 1) of '\(c.callee)' must be \(want), found \(t)", at: a.location)
            }
        }
        return signature.result
    }
}
