// AVX2 gathers (vgatherdpd, vgatherqpd, vgatherdps): their memory operand has a vector register as its
// index (VSIB addressing), which X86.Mem cannot express, so the bytes are made here and placed with
// `embed`. Only the forms the JIT uses: [base + index*scale] with no displacement. Tested against
// llvm-mc in AssemblerTests.

extension X86Assembler {
    /// `vgather… destination, [base + index*scale], mask` (destination, index and mask are vector register
    /// numbers and must differ). `wide`: the destination is a YMM register (VEX.L), which also sets the
    /// index width (an XMM for dpd, a YMM for qpd and dps).
    static func gatherBytes(
        _ kind: GatherKind, destination: Int, index: Int, mask: Int, base: X86.GPR, wide: Bool
    ) -> [UInt8] {
        precondition(destination != index && destination != mask && index != mask, "gather registers must differ")
        let opcode: UInt8 = kind == .qpd ? 0x93 : 0x92
        let w: UInt8 = kind == .dps ? 0 : 1
        let scale: UInt8 = kind == .dps ? 0b10 : 0b11
        let r = UInt8(destination >> 3) ^ 1
        let x = UInt8(index >> 3) ^ 1
        let b = (base.high) ^ 1
        let byte1: UInt8 = r << 7 | x << 6 | b << 5 | 0b00010  // map 0F38
        let byte2: UInt8 = w << 7 | UInt8(~mask & 0xF) << 3 | (wide ? 1 : 0) << 2 | 0b01  // pp = 66
        var bytes: [UInt8] = [0xC4, byte1, byte2, opcode]
        // base r13 / rbp (low bits 101) needs mod 01 with a zero displacement.
        let needsDisp = base.low3 == 0b101
        let mod: UInt8 = needsDisp ? 0b01 : 0b00
        bytes.append(mod << 6 | UInt8(destination & 7) << 3 | 0b100)
        bytes.append(scale << 6 | UInt8(index & 7) << 3 | base.low3)
        if needsDisp { bytes.append(0) }
        return bytes
    }
}
