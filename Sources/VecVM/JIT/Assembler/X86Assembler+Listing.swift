// X86Assembler+Listing.swift — the AT&T spelling of an instruction and of its operands, for the optional
// listing (`X86Assembler(listing: true)`), which llvm-mc and GNU as reassemble to the same bytes.

extension X86Assembler {
    /// Default AT&T spelling: mnemonic plus size suffix, operands reversed.
    func format(_ instruction: X86.Instruction, _ operands: Operands) -> String {
        let mnemonic = instruction.mnemonic + suffix
        let all = operands.all
        return all.isEmpty ? mnemonic : mnemonic + " " + all.reversed().map(Self.att).joined(separator: ", ")
    }

    static func att(_ operand: X86.Operand) -> String {
        switch operand {
        case .none: return ""
        case .gpr(let register): return register.description
        case .xmm(let register): return register.description
        case .ymm(let register): return register.description
        case .imm(let value): return "$\(value)"
        case .label(let label): return label.description
        case .mem(let memory):
            let displacement = Int(memory.displacement)
            if let label = memory.label {
                let offset = displacement > 0 ? "+\(displacement)" : displacement < 0 ? "\(displacement)" : ""
                return "\(label)\(offset)(%rip)"
            }
            guard memory.base != nil || memory.index != nil else { return "\(displacement)" }
            var text = displacement != 0 ? "\(displacement)(" : "("
            if let base = memory.base { text += base.description }
            if let index = memory.index {
                text += ",\(index)"
                if memory.scale != 1 { text += ",\(memory.scale)" }
            }
            return text + ")"
        }
    }

    /// A `.byte` directive for raw bytes (embedded code, the data section's constants).
    static func byteDirective(_ bytes: [UInt8]) -> String {
        ".byte " + bytes.map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
    }
}
