// Prints bytecode from the opcode table's operand layouts (`vecvm disasm FILE`, `:disasm` in the REPL,
// and the compiler's golden tests).

enum Disassembler {
    static func listing(_ program: Program) -> String {
        program.functions.map { function($0) }.joined(separator: "\n")
    }

    static func function(_ f: Function) -> String {
        var out = "function \(f.name)"
        if f.index != 0 {
            out += "(" + f.parameterTypes.map(\.description).joined(separator: ", ") + ")"
            if f.resultType != .void { out += " -> \(f.resultType)" }
        }
        out += "  ; \(f.instructions.count) instructions, \(f.frameSize) registers"
        if !f.kernelSites.isEmpty { out += ", \(f.kernelSites.count) kernel\(f.kernelSites.count == 1 ? "" : "s")" }
        out += "\n"
        for (i, ins) in f.instructions.enumerated() {
            let loc = i < f.locations.count ? f.locations[i] : .unknown
            var line = String(i).leftPadded(4) + "  " + ins.opcode.name.rightPadded(14) + operands(ins, at: i)
            line = line.rightPadded(44) + "; \(loc.line):\(loc.column)"
            if let note = annotation(ins, f) { line += "  " + note }
            out += "  " + line + "\n"
        }
        for (i, site) in f.kernelSites.enumerated() {
            let ins = site.arrayRegisters.map { "O\($0)" } + site.scalarRegisters.map { "R\($0)" }
            out += "  kernel \(i): \(site.program)  [inputs \(ins.joined(separator: " "))]\n"
        }
        return out
    }

    /// Opcode and operands only, one instruction a line: what golden tests compare.
    static func opcodes(_ f: Function) -> [String] {
        f.instructions.enumerated().map { (i, ins) in
            (ins.opcode.name + " " + operands(ins, at: i)).trimmingTrailingSpaces()
        }
    }

    /// The fields the opcode's format shows, each read as its operand says: a register, index or
    /// count unsigned, an immediate signed, a jump offset as its target (`-> pc`), K as `kK`.
    static func operands(_ ins: Instruction, at index: Int) -> String {
        let info = ins.opcode.info
        return info.format.fields.map { field -> String in
            if field == .k { return "k\(ins.k)" }
            let operand = info.operand(field)
            let value = ins.value(of: field, as: operand)
            return operand == .jump ? "-> \(index + 1 + value)" : "\(value)"
        }.joined(separator: " ")
    }

    private static func annotation(_ ins: Instruction, _ f: Function) -> String? {
        switch ins.opcode {
        case .loadConst:
            guard ins.bx < f.constants.count else { return nil }
            let bits = f.constants[ins.bx]
            return
                "K = \(Int64(bitPattern: bits)) / \(Double(bitPattern: bits)) / \(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))"
        case .addFloatK, .subFloatK, .mulFloatK, .divFloatK:
            guard ins.c < f.constants.count else { return nil }
            return "K[\(ins.c)] = \(Double(bitPattern: f.constants[ins.c]))"
        case .loadString:
            guard ins.bx < f.strings.count else { return nil }
            return "\"\(f.strings[ins.bx].value)\""
        case .kernel:
            guard ins.b < f.kernelSites.count else { return nil }
            let p = f.kernelSites[ins.b].program
            switch p.output {
            case .store(let v): return "kernel \(ins.b): \(p.element.name) store v\(v)"
            case .reduce(let r, let v): return "kernel \(ins.b): \(p.element.name) \(r.name) v\(v)"
            }
        case .io:
            return IOOp(rawValue: UInt8(ins.k)).map { "io: \($0)" }
        default:
            return nil
        }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func rightPadded(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
