// X86Assembler+Encoder.swift — the bytes every encoding class is made of: the legacy prefixes and REX, the
// two- and three-byte VEX prefixes, ModRM, SIB and the displacement (with the rsp/r12 and rbp/r13 special
// cases and rip-relative fix-ups), immediates and the operand widths and suffixes they follow from.

extension X86Assembler {
    /// Checks `memory` and returns its REX/VEX X and B bits.
    private func checkedHighBits(_ rm: RM) throws(X86AssemblerError) -> (x: UInt8, b: UInt8) {
        guard case .memory(let memory) = rm else {
            if case .register(let number) = rm { return (0, number >> 3) }
            return (0, 0)
        }
        let problem = { (reason: String) in X86AssemblerError.invalidMemoryOperand(reason: reason, offset: code.count) }
        if let label = memory.label {
            guard memory.base == nil, memory.index == nil else {
                throw problem("a rip-relative operand cannot also have a base or index register")
            }
            guard owns(label) else { throw .foreignLabel(offset: code.count) }
            return (0, 0)
        }
        if let base = memory.base, base.width != .qword { throw problem("the base register must be 64-bit") }
        guard let index = memory.index else {
            guard memory.scale == 1 else { throw problem("a scale needs an index register") }
            return (0, memory.base?.high ?? 0)
        }
        guard index.width == .qword else { throw problem("the index register must be 64-bit") }
        // SIB.index 100 means "no index"; only with REX.X set (r12) is it a register.
        guard index.number != 4 else { throw problem("rsp cannot be an index register") }
        guard [1, 2, 4, 8].contains(memory.scale) else { throw problem("the scale must be 1, 2, 4 or 8") }
        return (index.high, memory.base?.high ?? 0)
    }

    /// Appends ModRM, SIB and displacement; `reg` is ModRM.reg (a register's low 3 bits or an opcode extension).
    /// Call only after `checkedHighBits`.
    private mutating func appendModRM(reg: UInt8, _ rm: RM) {
        let reg = (reg & 7) << 3
        switch rm {
        case .register(let number):
            code.append(0xC0 | reg | (number & 7))
        case .memory(let memory):
            if let label = memory.label {
                // mod 00, rm 101 is rip-relative in 64-bit mode.
                code.append(reg | 0b101)
                fixups.append(Fixup(label: label, at: code.count, size: 4, addend: Int(memory.displacement), end: 0))
                code += [0, 0, 0, 0]
                return
            }
            let scale = UInt8(memory.scale.trailingZeroBitCount) << 6
            let index = (memory.index?.low3 ?? 0b100) << 3
            guard let base = memory.base else {
                // No base: SIB with base 101 and mod 00 means disp32 only (rm 101 alone would be rip-relative).
                code += [reg | 0b100, scale | index | 0b101]
                appendLittleEndian(Int64(memory.displacement), size: 4)
                return
            }
            let displacement = memory.displacement
            // rbp/r13 (low bits 101) with mod 00 would mean rip/disp32, so they take an explicit disp8 of 0.
            let mod: UInt8 =
                displacement == 0 && base.low3 != 0b101 ? 0b00 : Int8(exactly: displacement) != nil ? 0b01 : 0b10
            if memory.index != nil || base.low3 == 0b100 {
                // rsp/r12 (low bits 100) in ModRM.rm means "a SIB follows", so they always need a SIB.
                code += [mod << 6 | reg | 0b100, scale | index | base.low3]
            } else {
                code.append(mod << 6 | reg | base.low3)
            }
            if mod == 0b01 { appendLittleEndian(Int64(displacement), size: 1) }
            if mod == 0b10 { appendLittleEndian(Int64(displacement), size: 4) }
        }
    }

    private mutating func appendLittleEndian(_ value: Int64, size: Int) {
        for i in 0..<size { code.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    /// A legacy (non-VEX) instruction: [66] [mandatory prefix] [REX] map opcode [ModRM…] [immediate].
    /// `width` decides 66 (word) and REX.W (qword); nil leaves the default operand size (push, jmp r/m).
    /// `plusRegister` is for the opcode+r forms, whose register goes into REX.B instead of ModRM.
    mutating func legacy(
        width: X86.Width?, prefix: X86.Prefix = .none, map: X86.OpcodeMap = .legacy, opcode: UInt8,
        reg: UInt8 = 0, rm: RM? = nil, plusRegister: UInt8? = nil, byteRegisters: [X86.GPR] = [],
        immediate: Int64 = 0, immediateSize: Int = 0
    ) throws(X86AssemblerError) {
        var (x, b) = (UInt8(0), UInt8(0))
        if let rm { (x, b) = try checkedHighBits(rm) }
        if let plusRegister { b = plusRegister >> 3 }
        if width == .word { code.append(0x66) }
        if let byte = prefix.byte { code.append(byte) }
        let w: UInt8 = width == .qword ? 1 : 0
        let rex = w << 3 | (reg >> 3) << 2 | x << 1 | b
        // spl/bpl/sil/dil exist only with a REX prefix (without one, 4–7 mean ah/ch/dh/bh).
        if rex != 0 || byteRegisters.contains(where: \.needsREX) { code.append(0x40 | rex) }
        code += map.escape
        code.append(opcode + ((plusRegister ?? 0) & 7))
        if let rm { appendModRM(reg: reg, rm) }
        appendLittleEndian(immediate, size: immediateSize)
    }

    /// A VEX instruction: C5/C4 prefix, opcode, ModRM…, optional imm8.
    mutating func vex(
        prefix: X86.Prefix, map: X86.OpcodeMap, opcode: UInt8, w: UInt8, l: UInt8, reg: UInt8, vvvv: UInt8,
        rm: RM?, imm8: UInt8? = nil
    ) throws(X86AssemblerError) {
        var (x, b) = (UInt8(0), UInt8(0))
        if let rm { (x, b) = try checkedHighBits(rm) }
        let r = reg >> 3
        let lowByte = (~vvvv & 0xF) << 3 | l << 2 | prefix.rawValue
        if x == 0 && b == 0 && w == 0 && map == .x0F {
            // The 2-byte form can only say R, vvvv, L, pp: X, B and W must be 0 and the map 0F.
            code += [0xC5, (r ^ 1) << 7 | lowByte]
        } else {
            code += [0xC4, (r ^ 1) << 7 | (x ^ 1) << 6 | (b ^ 1) << 5 | map.rawValue, w << 7 | lowByte]
        }
        code.append(opcode)
        if let rm { appendModRM(reg: reg, rm) }
        if let imm8 { code.append(imm8) }
    }

    /// The immediate as the signed `width`-bit value the CPU will see (what decides the imm8 short forms).
    /// Accepts signed or unsigned spellings up to 32 bits; a 64-bit operation takes a sign-extended imm32.
    func immediate(
        _ value: Int64, _ width: X86.Width, _ instruction: X86.Instruction
    ) throws(X86AssemblerError) -> Int64 {
        let fits: Bool
        switch width {
        case .byte: fits = (-0x80...0xFF).contains(value)
        case .word: fits = (-0x8000...0xFFFF).contains(value)
        case .dword: fits = (-0x8000_0000...0xFFFF_FFFF).contains(value)
        default: fits = Int32(exactly: value) != nil
        }
        guard fits else {
            throw .immediateOutOfRange(instruction: instruction.mnemonic, value: value, offset: code.count)
        }
        switch width {
        case .byte: return Int64(Int8(truncatingIfNeeded: value))
        case .word: return Int64(Int16(truncatingIfNeeded: value))
        default: return Int64(Int32(truncatingIfNeeded: value))
        }
    }

    func immediateSize(_ width: X86.Width) -> Int { min(Int(width.rawValue), 4) }

    /// Width of the r/m operand: the register's, or the memory operand's explicit one.
    func width(
        of operand: X86.Operand, _ instruction: X86.Instruction
    ) throws(X86AssemblerError) -> X86.Width {
        switch operand {
        case .gpr(let register): return register.width
        case .mem(let memory):
            guard let width = memory.width, width.rawValue <= 8 else {
                throw invalid(instruction, "the memory operand needs a width (.byte, .word, .dword or .qword)")
            }
            return width
        default: throw invalid(instruction, "expected a general-purpose register or memory operand")
        }
    }

    func rm(_ operand: X86.Operand) -> RM? {
        switch operand {
        case .gpr(let register): .register(register.number)
        case .xmm(let register): .register(register.number)
        case .ymm(let register): .register(register.number)
        case .mem(let memory): .memory(memory)
        default: nil
        }
    }

    static func suffix(_ width: X86.Width) -> String {
        switch width {
        case .byte: "b"
        case .word: "w"
        case .dword: "l"
        default: "q"
        }
    }
}
