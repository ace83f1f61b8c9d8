// X86Assembler+Emit.swift — the one entry point for instructions of the table: `emit` takes an instruction
// and up to four operands, hands them to the routine of the instruction's encoding class (X86Encoding.swift's
// `form`: X86Assembler+GPForms.swift, X86Assembler+VEXForms.swift), and on misuse takes back whatever the routine
// wrote and keeps the error. Also the small vocabulary the routines share: `Operands`, the ModRM.rm operand,
// and the operand tests.

extension X86Assembler {
    /// Emits one instruction from the table (`X86.Instruction.encoding`) with operands in Intel order.
    /// `condition` is required by jcc/setcc/cmovcc; `short` asks for a rel8 branch to a label that is not bound
    /// yet (a bound label within reach gets rel8 anyway). Misuse is recorded, not trapped; see `finalize()`.
    mutating func emit(
        _ instruction: X86.Instruction, _ o0: X86.Operand = .none, _ o1: X86.Operand = .none,
        _ o2: X86.Operand = .none, _ o3: X86.Operand = .none, condition: X86.Condition? = nil, short: Bool = false
    ) {
        guard finalizedBytes == nil else { return fail(.alreadyFinalized) }
        let start = code.count
        let fixupCount = fixups.count
        spelling = nil
        suffix = ""
        let operands = Operands(o0, o1, o2, o3)
        do throws(X86AssemblerError) {
            guard operands.isContiguous else {
                throw invalid(instruction, "operands must be given without gaps")
            }
            let features = try encode(instruction, operands, condition, short)
            requiredFeatures.formUnion(features)
        } catch {
            code.removeSubrange(start...)
            fixups.removeSubrange(fixupCount...)
            return fail(error)
        }
        for index in fixupCount..<fixups.count { fixups[index].end = code.count }
        if recordsListing {
            let text = spelling ?? format(instruction, operands)
            listing.append(ListingLine(offset: start, length: code.count - start, text: text, kind: .instruction))
        }
    }

    /// Up to four operands without an array allocation per instruction.
    struct Operands {
        let o0, o1, o2, o3: X86.Operand

        init(_ o0: X86.Operand, _ o1: X86.Operand, _ o2: X86.Operand, _ o3: X86.Operand) {
            (self.o0, self.o1, self.o2, self.o3) = (o0, o1, o2, o3)
        }

        var count: Int { o0 == .none ? 0 : o1 == .none ? 1 : o2 == .none ? 2 : o3 == .none ? 3 : 4 }
        var isContiguous: Bool {
            let all = [o0, o1, o2, o3]
            return all.dropFirst(count).allSatisfy { $0 == .none }
        }
        subscript(index: Int) -> X86.Operand { [o0, o1, o2, o3][index] }
        var all: [X86.Operand] { Array([o0, o1, o2, o3].prefix(count)) }
    }

    /// The ModRM.rm operand: a register number or a memory operand.
    enum RM {
        case register(UInt8)
        case memory(X86.Mem)
    }

    func invalid(_ instruction: X86.Instruction, _ reason: String) -> X86AssemblerError {
        .invalidOperands(instruction: instruction.mnemonic, reason: reason, offset: code.count)
    }

    private mutating func encode(
        _ instruction: X86.Instruction, _ operands: Operands, _ condition: X86.Condition?, _ short: Bool
    ) throws(X86AssemblerError) -> X86.Features {
        let entry = instruction.encoding
        switch entry.form {
        case .gpALU: try encodeALU(instruction, entry, operands)
        case .gpTest: try encodeTest(instruction, operands)
        case .gpMov: try encodeMov(instruction, operands)
        case .gpMovabs: try encodeMovabs(instruction, entry, operands)
        case .gpRM, .gpCmovcc: try encodeRegisterFromRM(instruction, entry, operands, condition)
        case .gpIMul: try encodeIMul(instruction, entry, operands)
        case .gpExtend, .gpExtendDword: try encodeExtend(instruction, entry, operands)
        case .gpUnary: try encodeUnary(instruction, entry, operands)
        case .gpShift: try encodeShift(instruction, entry, operands)
        case .gpSetcc: try encodeSetcc(instruction, entry, operands, condition)
        case .gpJmp, .gpJcc, .gpCall: try encodeBranch(instruction, entry, operands, condition, short)
        case .gpPushPop: try encodePushPop(instruction, entry, operands)
        case .gpFixed: try encodeFixed(instruction, entry, operands)
        case .gpPrefetch: try encodePrefetch(instruction, entry, operands)
        default: return try encodeVEX(instruction, entry, operands)
        }
        return entry.features
    }
}

extension X86.Operand {
    var isGPR: Bool { if case .gpr = self { true } else { false } }
    var isImmediate: Bool { if case .imm = self { true } else { false } }
    var isVector: Bool {
        switch self {
        case .xmm, .ymm: true
        default: false
        }
    }
    /// A YMM register or a 32-byte memory operand: what sets VEX.L for instructions of either length.
    var isWide: Bool {
        switch self {
        case .ymm: true
        case .mem(let memory): memory.width == .ymmword
        default: false
        }
    }
    var gprValue: X86.GPR? { if case .gpr(let register) = self { register } else { nil } }
    var memoryValue: X86.Mem? { if case .mem(let memory) = self { memory } else { nil } }
    var registerNumber: UInt8? {
        switch self {
        case .gpr(let register): register.number
        case .xmm(let register): register.number
        case .ymm(let register): register.number
        default: nil
        }
    }
}
