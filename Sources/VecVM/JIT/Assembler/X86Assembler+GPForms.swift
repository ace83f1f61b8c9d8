// X86Assembler+GPForms.swift — the general-purpose encoding classes of X86Encoding.swift (`gpALU`, `gpMov`,
// `gpShift`, `gpJcc`, …): each routine checks its operands, picks the opcode variant (byte or wider,
// immediate sizes, the accumulator and rel8 short forms) and writes it with `legacy`; some also spell their
// listing line (`movslq`, `cmovlq`, `jne`).

extension X86Assembler {
    mutating func encodeALU(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        let group = entry.ext
        guard operands.count == 2 else { throw invalid(instruction, "takes two operands") }
        switch (operands.o0, operands.o1) {
        case (.gpr(let destination), .gpr(let source)):
            guard destination.width == source.width else { throw invalid(instruction, "operand widths differ") }
            let byte: UInt8 = destination.width == .byte ? 0 : 1
            try legacy(
                width: destination.width, opcode: group * 8 + byte, reg: source.number,
                rm: .register(destination.number), byteRegisters: [destination, source])
            suffix = Self.suffix(destination.width)
        case (.gpr(let destination), .mem(let memory)):
            try checkMemoryWidth(memory, destination.width, instruction)
            let byte: UInt8 = destination.width == .byte ? 0 : 1
            try legacy(
                width: destination.width, opcode: group * 8 + 2 + byte, reg: destination.number, rm: .memory(memory),
                byteRegisters: [destination])
            suffix = Self.suffix(destination.width)
        case (.mem(let memory), .gpr(let source)):
            try checkMemoryWidth(memory, source.width, instruction)
            let byte: UInt8 = source.width == .byte ? 0 : 1
            try legacy(
                width: source.width, opcode: group * 8 + byte, reg: source.number, rm: .memory(memory),
                byteRegisters: [source])
            suffix = Self.suffix(source.width)
        case (.gpr, .imm(let value)), (.mem, .imm(let value)):
            let width = try width(of: operands.o0, instruction)
            let imm = try immediate(value, width, instruction)
            let target = rm(operands.o0)!
            let accumulator = operands.o0 == .gpr(X86.GPR(number: 0, width: width)!)
            let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
            if width == .byte {
                if accumulator {
                    try legacy(width: width, opcode: group * 8 + 4, immediate: imm, immediateSize: 1)
                } else {
                    try legacy(
                        width: width, opcode: 0x80, reg: group, rm: target, byteRegisters: byteRegisters,
                        immediate: imm, immediateSize: 1)
                }
            } else if Int8(exactly: imm) != nil {
                try legacy(width: width, opcode: 0x83, reg: group, rm: target, immediate: imm, immediateSize: 1)
            } else if accumulator {
                // The accumulator form saves the ModRM byte; LLVM picks it too.
                try legacy(width: width, opcode: group * 8 + 5, immediate: imm, immediateSize: immediateSize(width))
            } else {
                try legacy(
                    width: width, opcode: 0x81, reg: group, rm: target, immediate: imm,
                    immediateSize: immediateSize(width))
            }
            suffix = Self.suffix(width)
        default:
            throw invalid(instruction, "expects (reg, reg), (reg, mem), (mem, reg), (reg, imm) or (mem, imm)")
        }
    }

    private func checkMemoryWidth(
        _ memory: X86.Mem, _ width: X86.Width, _ instruction: X86.Instruction
    ) throws(X86AssemblerError) {
        if let given = memory.width, given != width {
            throw invalid(instruction, "the memory operand's width differs from the register's")
        }
    }

    mutating func encodeTest(_ instruction: X86.Instruction, _ operands: Operands) throws(X86AssemblerError) {
        guard operands.count == 2 else { throw invalid(instruction, "takes two operands") }
        switch (operands.o0, operands.o1) {
        case (.gpr, .gpr(let source)), (.mem, .gpr(let source)):
            if case .gpr(let destination) = operands.o0, destination.width != source.width {
                throw invalid(instruction, "operand widths differ")
            }
            if case .mem(let memory) = operands.o0 { try checkMemoryWidth(memory, source.width, instruction) }
            let byteRegisters: [X86.GPR] =
                if case .gpr(let register) = operands.o0 { [register, source] } else { [source] }
            try legacy(
                width: source.width, opcode: source.width == .byte ? 0x84 : 0x85, reg: source.number,
                rm: rm(operands.o0)!, byteRegisters: byteRegisters)
            suffix = Self.suffix(source.width)
        case (.gpr, .imm(let value)), (.mem, .imm(let value)):
            let width = try width(of: operands.o0, instruction)
            let imm = try immediate(value, width, instruction)
            let byte: UInt8 = width == .byte ? 0 : 1
            if operands.o0 == .gpr(X86.GPR(number: 0, width: width)!) {
                try legacy(width: width, opcode: 0xA8 + byte, immediate: imm, immediateSize: immediateSize(width))
            } else {
                let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
                try legacy(
                    width: width, opcode: 0xF6 + byte, reg: 0, rm: rm(operands.o0)!, byteRegisters: byteRegisters,
                    immediate: imm, immediateSize: immediateSize(width))
            }
            suffix = Self.suffix(width)
        default:
            throw invalid(instruction, "expects (reg, reg), (mem, reg), (reg, imm) or (mem, imm)")
        }
    }

    mutating func encodeMov(_ instruction: X86.Instruction, _ operands: Operands) throws(X86AssemblerError) {
        guard operands.count == 2 else { throw invalid(instruction, "takes two operands") }
        switch (operands.o0, operands.o1) {
        case (.gpr(let destination), .gpr(let source)):
            guard destination.width == source.width else { throw invalid(instruction, "operand widths differ") }
            try legacy(
                width: source.width, opcode: source.width == .byte ? 0x88 : 0x89, reg: source.number,
                rm: .register(destination.number), byteRegisters: [destination, source])
            suffix = Self.suffix(source.width)
        case (.gpr(let destination), .mem(let memory)):
            try checkMemoryWidth(memory, destination.width, instruction)
            try legacy(
                width: destination.width, opcode: destination.width == .byte ? 0x8A : 0x8B,
                reg: destination.number, rm: .memory(memory), byteRegisters: [destination])
            suffix = Self.suffix(destination.width)
        case (.mem(let memory), .gpr(let source)):
            try checkMemoryWidth(memory, source.width, instruction)
            try legacy(
                width: source.width, opcode: source.width == .byte ? 0x88 : 0x89, reg: source.number,
                rm: .memory(memory), byteRegisters: [source])
            suffix = Self.suffix(source.width)
        case (.gpr(let destination), .imm(let value)):
            if destination.width == .qword {
                if (0...0xFFFF_FFFF).contains(value) {
                    // Writing the 32-bit register zero-extends: same result, no REX.W, 4-byte immediate.
                    try legacy(
                        width: .dword, opcode: 0xB8, plusRegister: destination.number, immediate: value,
                        immediateSize: 4)
                    if recordsListing { spelling = "movl $\(value), \(destination.r32)" }
                } else if Int32(exactly: value) != nil {
                    try legacy(
                        width: .qword, opcode: 0xC7, reg: 0, rm: .register(destination.number), immediate: value,
                        immediateSize: 4)
                    suffix = "q"
                } else {
                    try legacy(
                        width: .qword, opcode: 0xB8, plusRegister: destination.number, immediate: value,
                        immediateSize: 8)
                    if recordsListing { spelling = "movabsq $\(value), \(destination)" }
                }
                return
            }
            let imm = try immediate(value, destination.width, instruction)
            try legacy(
                width: destination.width, opcode: destination.width == .byte ? 0xB0 : 0xB8,
                plusRegister: destination.number, byteRegisters: [destination], immediate: imm,
                immediateSize: immediateSize(destination.width))
            suffix = Self.suffix(destination.width)
        case (.mem(let memory), .imm(let value)):
            let width = try width(of: .mem(memory), instruction)
            let imm = try immediate(value, width, instruction)
            try legacy(
                width: width, opcode: width == .byte ? 0xC6 : 0xC7, reg: 0, rm: .memory(memory), immediate: imm,
                immediateSize: immediateSize(width))
            suffix = Self.suffix(width)
        default:
            throw invalid(instruction, "expects (reg, reg), (reg, mem), (mem, reg), (reg, imm) or (mem, imm)")
        }
    }

    mutating func encodeMovabs(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 2, case .gpr(let destination) = operands.o0, destination.width == .qword,
            case .imm(let value) = operands.o1
        else { throw invalid(instruction, "expects (64-bit reg, imm64)") }
        try legacy(
            width: .qword, opcode: entry.opcode, plusRegister: destination.number, immediate: value, immediateSize: 8)
        suffix = "q"
    }

    /// reg ← r/m: lea, popcnt/tzcnt/lzcnt, cmovcc.
    mutating func encodeRegisterFromRM(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands, _ condition: X86.Condition?
    ) throws(X86AssemblerError) {
        guard operands.count == 2, case .gpr(let destination) = operands.o0, destination.width != .byte,
            let source = rm(operands.o1), !operands.o1.isVector
        else { throw invalid(instruction, "expects (16/32/64-bit reg, reg or mem)") }
        if case .gpr(let register) = operands.o1, register.width != destination.width {
            throw invalid(instruction, "operand widths differ")
        }
        if entry.flags.contains(.memoryOnly), case .register = source {
            throw invalid(instruction, "the source must be a memory operand")
        }
        var opcode = entry.opcode
        if entry.form == .gpCmovcc {
            guard let condition else { throw invalid(instruction, "needs a condition") }
            opcode += condition.rawValue
            if recordsListing { suffix = condition.suffix + Self.suffix(destination.width) }
        } else {
            suffix = Self.suffix(destination.width)
        }
        try legacy(
            width: destination.width, prefix: entry.prefix, map: entry.map, opcode: opcode, reg: destination.number,
            rm: source)
        if entry.form == .gpCmovcc && recordsListing {
            spelling = "cmov\(suffix) \(Self.att(operands.o1)), \(destination)"
        }
    }

    mutating func encodeIMul(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        if operands.count == 1 {
            // imul r/m: rdx:rax = rax * r/m, signed, in the F7 group as mul is (F7 /5; F6 /5 for a byte).
            try encodeUnary(instruction, operands, opcode: 0xF7, ext: 5)
            return
        }
        guard operands.count == 2 || operands.count == 3, case .gpr(let destination) = operands.o0,
            destination.width != .byte, let source = rm(operands.o1), !operands.o1.isVector
        else { throw invalid(instruction, "expects (16/32/64-bit reg, reg or mem[, imm])") }
        if case .gpr(let register) = operands.o1, register.width != destination.width {
            throw invalid(instruction, "operand widths differ")
        }
        suffix = Self.suffix(destination.width)
        if operands.count == 2 {
            try legacy(
                width: destination.width, map: entry.map, opcode: entry.opcode, reg: destination.number, rm: source)
            return
        }
        guard case .imm(let value) = operands.o2 else {
            throw invalid(instruction, "the third operand must be an immediate")
        }
        let imm = try immediate(value, destination.width, instruction)
        let short = Int8(exactly: imm) != nil
        try legacy(
            width: destination.width, opcode: short ? entry.opcode2 : entry.opcode2 - 2, reg: destination.number,
            rm: source, immediate: imm, immediateSize: short ? 1 : immediateSize(destination.width))
    }

    /// movzx/movsx (source byte or word) and movsxd (source dword).
    mutating func encodeExtend(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 2, case .gpr(let destination) = operands.o0, let source = rm(operands.o1),
            !operands.o1.isVector
        else { throw invalid(instruction, "expects (reg, reg or mem)") }
        // movsxd's source can only be a dword, so an unsized memory operand is unambiguous.
        let sourceWidth =
            entry.form == .gpExtendDword && operands.o1.memoryValue?.width == nil
            ? .dword : try width(of: operands.o1, instruction)
        let sourceRegisters: [X86.GPR] = if case .gpr(let register) = operands.o1 { [register] } else { [] }
        if entry.form == .gpExtendDword {
            guard destination.width == .qword, sourceWidth == .dword else {
                throw invalid(instruction, "extends a 32-bit source into a 64-bit register")
            }
            try legacy(width: .qword, opcode: entry.opcode, reg: destination.number, rm: source)
            if recordsListing { spelling = "movslq \(Self.att(operands.o1)), \(destination)" }
            return
        }
        guard sourceWidth == .byte || sourceWidth == .word, destination.width.rawValue > sourceWidth.rawValue else {
            throw invalid(instruction, "extends a byte or word source into a wider register")
        }
        try legacy(
            width: destination.width, map: entry.map, opcode: entry.opcode + (sourceWidth == .word ? 1 : 0),
            reg: destination.number, rm: source, byteRegisters: sourceRegisters)
        if recordsListing {
            let stem = instruction == .movzx ? "movz" : "movs"
            spelling =
                stem + Self.suffix(sourceWidth) + Self.suffix(destination.width)
                + " \(Self.att(operands.o1)), \(destination)"
        }
    }

    mutating func encodeUnary(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        try encodeUnary(instruction, operands, opcode: entry.opcode, ext: entry.ext)
    }

    /// One register or memory operand in the ModRM.reg extension `ext` of `opcode` (its byte form
    /// at `opcode - 1`: FE/FF, F6/F7).
    mutating func encodeUnary(
        _ instruction: X86.Instruction, _ operands: Operands, opcode: UInt8, ext: UInt8
    ) throws(X86AssemblerError) {
        guard operands.count == 1, let target = rm(operands.o0), !operands.o0.isVector else {
            throw invalid(instruction, "expects one register or memory operand")
        }
        let width = try width(of: operands.o0, instruction)
        let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
        try legacy(
            width: width, opcode: width == .byte ? opcode - 1 : opcode, reg: ext, rm: target,
            byteRegisters: byteRegisters)
        suffix = Self.suffix(width)
    }

    mutating func encodeShift(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 2, let target = rm(operands.o0), !operands.o0.isVector else {
            throw invalid(instruction, "expects (reg or mem, imm or cl)")
        }
        let width = try width(of: operands.o0, instruction)
        let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
        let byte: UInt8 = width == .byte ? 0 : 1
        suffix = Self.suffix(width)
        switch operands.o1 {
        case .imm(1):
            try legacy(width: width, opcode: 0xD0 + byte, reg: entry.ext, rm: target, byteRegisters: byteRegisters)
            // LLVM spells the by-one form without its implicit count.
            if recordsListing { spelling = "\(instruction.mnemonic)\(suffix) \(Self.att(operands.o0))" }
        case .imm(let count):
            guard (0..<Int64(width.bits)).contains(count) else {
                throw .immediateOutOfRange(instruction: instruction.mnemonic, value: count, offset: code.count)
            }
            try legacy(
                width: width, opcode: 0xC0 + byte, reg: entry.ext, rm: target, byteRegisters: byteRegisters,
                immediate: count, immediateSize: 1)
        case .gpr(.cl):
            try legacy(width: width, opcode: 0xD2 + byte, reg: entry.ext, rm: target, byteRegisters: byteRegisters)
        default:
            throw invalid(instruction, "the count must be an immediate or cl")
        }
    }

    mutating func encodeSetcc(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands, _ condition: X86.Condition?
    ) throws(X86AssemblerError) {
        guard let condition else { throw invalid(instruction, "needs a condition") }
        guard operands.count == 1, let target = rm(operands.o0), !operands.o0.isVector,
            (try? width(of: operands.o0, instruction)) ?? .byte == .byte
        else { throw invalid(instruction, "expects a byte register or memory operand") }
        let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
        try legacy(
            width: nil, map: entry.map, opcode: entry.opcode + condition.rawValue, reg: 0, rm: target,
            byteRegisters: byteRegisters)
        if recordsListing { spelling = "set\(condition.suffix) \(Self.att(operands.o0))" }
    }

    mutating func encodeBranch(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands, _ condition: X86.Condition?,
        _ short: Bool
    ) throws(X86AssemblerError) {
        guard operands.count == 1 else { throw invalid(instruction, "takes one operand") }
        if entry.form == .gpJcc && condition == nil { throw invalid(instruction, "needs a condition") }
        // Only for the listing: the mnemonic is String(describing:) of the case, some 17,000
        // instructions, which every branch paid before.
        var name: String { condition.map { "j" + $0.suffix } ?? instruction.mnemonic }
        guard case .label(let label) = operands.o0 else {
            // Indirect: FF /4 (jmp) or FF /2 (call); 64-bit operand size is the default, no REX.W.
            guard entry.form != .gpJcc, let target = rm(operands.o0), !operands.o0.isVector,
                (try? width(of: operands.o0, instruction)) ?? .qword == .qword
            else { throw invalid(instruction, "expects a label, or a 64-bit register or memory operand") }
            try legacy(width: nil, opcode: 0xFF, reg: entry.form == .gpJmp ? 4 : 2, rm: target)
            if recordsListing { spelling = "\(name)q *\(Self.att(operands.o0))" }
            return
        }
        guard owns(label) else { throw .foreignLabel(offset: code.count) }
        let shortOpcode: [UInt8]
        let longOpcode: [UInt8]
        switch entry.form {
        case .gpJmp: (shortOpcode, longOpcode) = ([0xEB], [0xE9])
        case .gpJcc: (shortOpcode, longOpcode) = ([0x70 + condition!.rawValue], [0x0F, 0x80 + condition!.rawValue])
        default: (shortOpcode, longOpcode) = ([], [0xE8])
        }
        var useShort = short && !shortOpcode.isEmpty
        if let target = labelOffsets[label.id], !shortOpcode.isEmpty {
            let distance = target - (code.count + 2)
            if Int8(exactly: distance) != nil {
                useShort = true
            } else if short {
                throw .branchOutOfRange(label: label.id, at: code.count + 1, distance: distance)
            }
        }
        if useShort {
            code += shortOpcode
            fixups.append(Fixup(label: label, at: code.count, size: 1, addend: 0, end: 0))
            code.append(0)
        } else {
            code += longOpcode
            fixups.append(Fixup(label: label, at: code.count, size: 4, addend: 0, end: 0))
            code += [0, 0, 0, 0]
        }
        if recordsListing {
            // {disp32} keeps llvm-mc/GNU as from relaxing to rel8 what this assembler emitted as rel32.
            let pseudoPrefix = !useShort && !shortOpcode.isEmpty ? "{disp32} " : ""
            spelling = pseudoPrefix + (entry.form == .gpCall ? "callq" : name) + " \(label)"
        }
    }

    mutating func encodePushPop(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 1, case .gpr(let register) = operands.o0, register.width == .qword else {
            throw invalid(instruction, "expects a 64-bit register")
        }
        try legacy(width: nil, opcode: entry.opcode, plusRegister: register.number)
        suffix = "q"
    }

    mutating func encodeFixed(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 0 else { throw invalid(instruction, "takes no operands") }
        try legacy(width: entry.w == .w1 ? .qword : nil, prefix: entry.prefix, map: entry.map, opcode: entry.opcode)
        if entry.ext != 0 { code.append(entry.ext) }
        if recordsListing {
            switch instruction {
            case .ret: spelling = "retq"
            case .cqo: spelling = "cqto"
            case .cdq: spelling = "cltd"
            default: break
            }
        }
    }

    mutating func encodePrefetch(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 1, case .mem(let memory) = operands.o0 else {
            throw invalid(instruction, "expects a memory operand")
        }
        try legacy(width: nil, map: entry.map, opcode: entry.opcode, reg: entry.ext, rm: .memory(memory))
    }
}
