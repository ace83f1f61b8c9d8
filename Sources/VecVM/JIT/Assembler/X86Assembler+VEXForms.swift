// X86Assembler+VEXForms.swift — the VEX encoding classes of X86Encoding.swift (`vexRVM`, `vexMov`, `vexShift`,
// …), for the AVX, AVX2 and FMA instructions: operand checks, VEX.L from the operands' length, VEX.W where a
// GPR's width decides it, the store and swapped-register forms of the moves, the CPU features that depend on
// the operands, and the AT&T spellings that depend on them (`vcmpltps`, `vcvtpd2psx`).

extension X86Assembler {
    mutating func encodeVEX(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) -> X86.Features {
        var entry = entry
        let all = operands.all
        // GPR operands only where the instruction moves between the register files.
        let takesGPR = entry.w == .fromGPR || entry.flags.contains(.dwordDestination) || instruction == .vmovq
        if !takesGPR, all.contains(where: \.isGPR) {
            throw invalid(instruction, "does not take general-purpose registers")
        }
        if all.contains(where: { $0.gprValue.map { $0.width != .dword && $0.width != .qword } ?? false }) {
            throw invalid(instruction, "takes 32- or 64-bit general-purpose registers")
        }
        if instruction == .vmovq, all.contains(where: \.isGPR) {
            // vmovq between an XMM and a GPR is vmovd's encoding with W=1.
            guard all.allSatisfy({ $0.gprValue.map { $0.width == .qword } ?? true }) else {
                throw invalid(instruction, "moves to or from a 64-bit register")
            }
            entry = X86.Instruction.vmovd.encoding
        } else if instruction == .vmovd, let register = all.lazy.compactMap(\.gprValue).first,
            register.width != .dword
        {
            throw invalid(instruction, "moves to or from a 32-bit register (vmovq for 64-bit)")
        }

        let l: UInt8 =
            switch entry.l {
            case .l1: 1
            case .fromOperands: all.contains(where: \.isWide) ? 1 : 0
            default: 0
            }
        let w: UInt8 =
            switch entry.w {
            case .w1: 1
            case .fromGPR:
                // The GPR's width; for vcvtsi2ss/sd a memory source's width stands in for the GPR's.
                if let register = all.lazy.compactMap(\.gprValue).first {
                    register.width == .qword ? 1 : 0
                } else if entry.flags.contains(.memorySuffix) {
                    all.contains(where: { $0.memoryValue?.width == .qword }) ? 1 : 0
                } else {
                    0
                }
            default: 0
            }
        if entry.w == .fromGPR && entry.flags.contains(.memorySuffix), let memory = operands.o2.memoryValue,
            memory.width != .dword && memory.width != .qword
        {
            throw invalid(instruction, "the memory source needs a width (.dword or .qword)")
        }
        if entry.flags.contains(.memoryOnly), !all.contains(where: { $0.memoryValue != nil }) {
            throw invalid(instruction, "needs a memory operand")
        }

        let prefix = entry.prefix
        let map = entry.map
        func register(_ operand: X86.Operand) throws(X86AssemblerError) -> UInt8 {
            guard let number = operand.registerNumber else {
                throw invalid(instruction, "expected a register operand")
            }
            return number
        }
        func vector(_ operand: X86.Operand) throws(X86AssemblerError) -> UInt8 {
            guard operand.isVector, let number = operand.registerNumber else {
                throw invalid(instruction, "expected an XMM or YMM register")
            }
            return number
        }
        func source(_ operand: X86.Operand) throws(X86AssemblerError) -> RM {
            guard operand != .none, !operand.isImmediate, let value = rm(operand) else {
                throw invalid(instruction, "expected a register or memory operand")
            }
            return value
        }
        func imm8(_ operand: X86.Operand) throws(X86AssemblerError) -> UInt8 {
            guard case .imm(let value) = operand else { throw invalid(instruction, "expected an 8-bit immediate") }
            guard (-0x80...0xFF).contains(value) else {
                throw .immediateOutOfRange(instruction: instruction.mnemonic, value: value, offset: code.count)
            }
            return UInt8(truncatingIfNeeded: value)
        }
        func expect(_ count: Int) throws(X86AssemblerError) {
            guard operands.count == count else { throw invalid(instruction, "takes \(count) operands") }
        }

        switch entry.form {
        case .vexRVM:
            try expect(3)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: register(operands.o0),
                vvvv: vector(operands.o1), rm: source(operands.o2))
        case .vexRM:
            try expect(2)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: register(operands.o0), vvvv: 0,
                rm: source(operands.o1))
        case .vexMR:
            try expect(2)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: register(operands.o1), vvvv: 0,
                rm: source(operands.o0))
        case .vexMov:
            try expect(2)
            let toMemoryOrGPR = operands.o0.memoryValue != nil || operands.o0.isGPR
            let fromMemoryOrGPR = operands.o1.memoryValue != nil || operands.o1.isGPR
            if (instruction == .vmovd || entry.w == .fromGPR) && toMemoryOrGPR == fromMemoryOrGPR {
                throw invalid(instruction, "moves between an XMM register and a GPR or memory")
            }
            let swap =
                !fromMemoryOrGPR && entry.flags.contains(.swappable) && (operands.o0.registerNumber ?? 0) < 8
                && (operands.o1.registerNumber ?? 0) >= 8
            if toMemoryOrGPR || swap {
                try vex(
                    prefix: entry.prefix2 ?? prefix, map: map, opcode: entry.opcode2, w: w, l: l,
                    reg: vector(operands.o1), vvvv: 0, rm: source(operands.o0))
            } else {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0), vvvv: 0,
                    rm: source(operands.o1))
            }
        case .vexMovScalar:
            if operands.count == 3 {
                let (destination, merged, moved) = try (vector(operands.o0), vector(operands.o1), vector(operands.o2))
                if destination < 8 && moved >= 8 {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: moved, vvvv: merged,
                        rm: .register(destination))
                } else {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: destination, vvvv: merged,
                        rm: .register(moved))
                }
            } else {
                try expect(2)
                if let memory = operands.o0.memoryValue {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: vector(operands.o1),
                        vvvv: 0, rm: .memory(memory))
                } else if let memory = operands.o1.memoryValue {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                        vvvv: 0, rm: .memory(memory))
                } else {
                    throw invalid(instruction, "expects (xmm, mem), (mem, xmm) or (xmm, xmm, xmm)")
                }
            }
        case .vexRVMI:
            try expect(4)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                vvvv: vector(operands.o1), rm: source(operands.o2), imm8: imm8(operands.o3))
        case .vexRMI:
            try expect(3)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0), vvvv: 0,
                rm: source(operands.o1), imm8: imm8(operands.o2))
        case .vexMRI:
            try expect(3)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o1), vvvv: 0,
                rm: source(operands.o0), imm8: imm8(operands.o2))
        case .vexRVMR:
            try expect(4)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                vvvv: vector(operands.o1), rm: source(operands.o2), imm8: vector(operands.o3) << 4)
        case .vexMaskMov:
            try expect(3)
            if let memory = operands.o0.memoryValue {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: vector(operands.o2),
                    vvvv: vector(operands.o1), rm: .memory(memory))
            } else if let memory = operands.o2.memoryValue {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                    vvvv: vector(operands.o1), rm: .memory(memory))
            } else {
                throw invalid(instruction, "expects (reg, mask, mem) or (mem, mask, reg)")
            }
        case .vexShift:
            try expect(3)
            if case .imm = operands.o2 {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: entry.ext,
                    vvvv: vector(operands.o0), rm: .register(vector(operands.o1)), imm8: imm8(operands.o2))
            } else {
                if case .ymm = operands.o2 { throw invalid(instruction, "the shift count is an XMM register") }
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                    vvvv: vector(operands.o1), rm: source(operands.o2))
            }
        case .vexM:
            try expect(1)
            guard let memory = operands.o0.memoryValue else { throw invalid(instruction, "expects a memory operand") }
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: entry.ext, vvvv: 0, rm: .memory(memory)
            )
        case .vexNone:
            try expect(0)
            try vex(prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: 0, vvvv: 0, rm: nil)
        default:
            throw invalid(instruction, "is not a VEX instruction")
        }

        if recordsListing { spelling = vexSpelling(instruction, entry, operands) }
        var features = entry.features
        if entry.flags.contains(.ymmNeedsAVX2) && l == 1 { features.insert(.avx2) }
        if entry.flags.contains(.registerSourceNeedsAVX2) && operands.o1.isVector { features.insert(.avx2) }
        return features
    }

    /// The AT&T spelling of VEX instructions whose mnemonic depends on the operands.
    private func vexSpelling(_ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands) -> String? {
        var mnemonic = instruction.mnemonic
        var shown = operands.all
        if entry.flags.contains(.comparePredicate), case .imm(let value) = operands.o3,
            let predicate = X86.ComparePredicate(rawValue: UInt8(truncatingIfNeeded: value)), value < 32
        {
            mnemonic = "vcmp" + predicate.attName + mnemonic.dropFirst(4)
            shown.removeLast()
        } else if entry.flags.contains(.memorySuffix), let memory = shown.lazy.compactMap(\.memoryValue).first {
            switch memory.width {
            case .xmmword: mnemonic += "x"
            case .ymmword: mnemonic += "y"
            case .dword: mnemonic += "l"
            case .qword: mnemonic += "q"
            default: break
            }
        } else if entry.flags.contains(.dwordDestination), let register = operands.o0.gprValue {
            shown[0] = .gpr(register.r32)
        } else {
            return nil
        }
        return mnemonic + " " + shown.reversed().map(Self.att).joined(separator: ", ")
    }
}
