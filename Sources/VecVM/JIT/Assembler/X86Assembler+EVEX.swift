// X86Assembler+EVEX.swift — the EVEX (AVX-512) encodings the 512-bit kernels use (JIT/VectorEmitter512.swift):
// zmm/ymm/xmm registers 0–31, opmask registers k0–k7 (writemasks with merging or zeroing, compare
// destinations), VSIB gathers, and the compressed 8-bit displacement (disp8·N). Also the few VEX-encoded
// opmask instructions (kmovw, kxnorw). Only the instructions listed in `X86.EVEXOpcode` exist; their bytes
// are pinned against `llvm-mc --show-encoding` by EVEXEncodingTests.
//
//   EVEX:  62 [R X B R' 0 0 m m] [W v v v v 1 p p] [z L' L b V' a a a] opcode ModRM [SIB] [disp8·N|disp32] [imm8]
//
// (R, X, B, R', vvvv and V' are stored inverted.) R' extends ModRM.reg to 5 bits, X extends ModRM.rm to 5
// bits for a register operand (and the SIB index for memory), V' extends vvvv — or the VSIB index.
//
// The listing shows each EVEX instruction as its mnemonic with the bytes: these lines are not meant to
// be reassembled (kernels do not record listings; AssemblerDifferentialTests covers the VEX table).

extension X86 {
    /// One AVX-512 instruction's fixed encoding: mandatory prefix (pp), opcode map, opcode and EVEX.W.
    struct EVEXOpcode: Sendable, Equatable {
        let name: String
        let prefix: Prefix
        let map: OpcodeMap
        let opcode: UInt8
        let w: UInt8

        private init(_ name: String, _ prefix: Prefix, _ map: OpcodeMap, _ opcode: UInt8, w: UInt8) {
            self.name = name
            self.prefix = prefix
            self.map = map
            self.opcode = opcode
            self.w = w
        }

        // Moves (load: reg ← rm; store: rm ← reg).
        static let vmovupsLoad = EVEXOpcode("vmovups", .none, .x0F, 0x10, w: 0)
        static let vmovupsStore = EVEXOpcode("vmovups", .none, .x0F, 0x11, w: 0)
        /// The 64-bit-lane forms: an opmask selects qwords (vmovups's selects dwords).
        static let vmovupdLoad = EVEXOpcode("vmovupd", .p66, .x0F, 0x10, w: 1)
        static let vmovupdStore = EVEXOpcode("vmovupd", .p66, .x0F, 0x11, w: 1)
        static let vmovntps = EVEXOpcode("vmovntps", .none, .x0F, 0x2B, w: 0)
        static let vmovntpd = EVEXOpcode("vmovntpd", .p66, .x0F, 0x2B, w: 1)
        static let vmovntdq = EVEXOpcode("vmovntdq", .p66, .x0F, 0xE7, w: 0)
        // Floating-point arithmetic.
        static let vaddps = EVEXOpcode("vaddps", .none, .x0F, 0x58, w: 0)
        static let vaddpd = EVEXOpcode("vaddpd", .p66, .x0F, 0x58, w: 1)
        static let vsubps = EVEXOpcode("vsubps", .none, .x0F, 0x5C, w: 0)
        static let vsubpd = EVEXOpcode("vsubpd", .p66, .x0F, 0x5C, w: 1)
        static let vmulps = EVEXOpcode("vmulps", .none, .x0F, 0x59, w: 0)
        static let vmulpd = EVEXOpcode("vmulpd", .p66, .x0F, 0x59, w: 1)
        static let vdivps = EVEXOpcode("vdivps", .none, .x0F, 0x5E, w: 0)
        static let vdivpd = EVEXOpcode("vdivpd", .p66, .x0F, 0x5E, w: 1)
        static let vminps = EVEXOpcode("vminps", .none, .x0F, 0x5D, w: 0)
        static let vminpd = EVEXOpcode("vminpd", .p66, .x0F, 0x5D, w: 1)
        static let vmaxps = EVEXOpcode("vmaxps", .none, .x0F, 0x5F, w: 0)
        static let vmaxpd = EVEXOpcode("vmaxpd", .p66, .x0F, 0x5F, w: 1)
        static let vsqrtps = EVEXOpcode("vsqrtps", .none, .x0F, 0x51, w: 0)
        static let vsqrtpd = EVEXOpcode("vsqrtpd", .p66, .x0F, 0x51, w: 1)
        /// imm8 bits 0–3 as vroundps's (mode, MXCSR select, inexact suppression); bits 4–7 (scale) 0.
        static let vrndscaleps = EVEXOpcode("vrndscaleps", .p66, .x0F3A, 0x08, w: 0)
        static let vrndscalepd = EVEXOpcode("vrndscalepd", .p66, .x0F3A, 0x09, w: 1)
        static let vfmadd231ps = EVEXOpcode("vfmadd231ps", .p66, .x0F38, 0xB8, w: 0)
        static let vfmadd231pd = EVEXOpcode("vfmadd231pd", .p66, .x0F38, 0xB8, w: 1)
        static let vfmadd213ps = EVEXOpcode("vfmadd213ps", .p66, .x0F38, 0xA8, w: 0)
        static let vfmadd213pd = EVEXOpcode("vfmadd213pd", .p66, .x0F38, 0xA8, w: 1)
        // Integer arithmetic and logic.
        static let vpaddd = EVEXOpcode("vpaddd", .p66, .x0F, 0xFE, w: 0)
        static let vpaddq = EVEXOpcode("vpaddq", .p66, .x0F, 0xD4, w: 1)
        static let vpsubd = EVEXOpcode("vpsubd", .p66, .x0F, 0xFA, w: 0)
        static let vpsubq = EVEXOpcode("vpsubq", .p66, .x0F, 0xFB, w: 1)
        static let vpmulld = EVEXOpcode("vpmulld", .p66, .x0F38, 0x40, w: 0)
        static let vpmuludq = EVEXOpcode("vpmuludq", .p66, .x0F, 0xF4, w: 1)
        static let vpminsq = EVEXOpcode("vpminsq", .p66, .x0F38, 0x39, w: 1)
        static let vpmaxsq = EVEXOpcode("vpmaxsq", .p66, .x0F38, 0x3D, w: 1)
        static let vpandd = EVEXOpcode("vpandd", .p66, .x0F, 0xDB, w: 0)
        static let vpord = EVEXOpcode("vpord", .p66, .x0F, 0xEB, w: 0)
        static let vpxord = EVEXOpcode("vpxord", .p66, .x0F, 0xEF, w: 0)
        static let vpandnd = EVEXOpcode("vpandnd", .p66, .x0F, 0xDF, w: 0)
        /// Shifts by imm8: dst in vvvv, source in rm, the operation in ModRM.reg (/6 left, /2 logical right,
        /// /4 arithmetic right).
        static let vpsxxqImm = EVEXOpcode("vpsxxq", .p66, .x0F, 0x73, w: 1)
        static let vpsxxdImm = EVEXOpcode("vpsxxd", .p66, .x0F, 0x72, w: 0)
        // Compares into an opmask (imm8 predicate for vcmpps/pd), opmask ↔ vector.
        static let vcmpps = EVEXOpcode("vcmpps", .none, .x0F, 0xC2, w: 0)
        static let vcmppd = EVEXOpcode("vcmppd", .p66, .x0F, 0xC2, w: 1)
        static let vpcmpeqd = EVEXOpcode("vpcmpeqd", .p66, .x0F, 0x76, w: 0)
        static let vpcmpeqq = EVEXOpcode("vpcmpeqq", .p66, .x0F38, 0x29, w: 1)
        static let vpcmpgtd = EVEXOpcode("vpcmpgtd", .p66, .x0F, 0x66, w: 0)
        static let vpcmpgtq = EVEXOpcode("vpcmpgtq", .p66, .x0F38, 0x37, w: 1)
        /// Each lane all ones where its opmask bit is set (AVX512DQ).
        static let vpmovm2d = EVEXOpcode("vpmovm2d", .pF3, .x0F38, 0x38, w: 0)
        static let vpmovm2q = EVEXOpcode("vpmovm2q", .pF3, .x0F38, 0x38, w: 1)
        /// Each opmask bit from its lane's sign bit (AVX512DQ).
        static let vpmovd2m = EVEXOpcode("vpmovd2m", .pF3, .x0F38, 0x39, w: 0)
        static let vpmovq2m = EVEXOpcode("vpmovq2m", .pF3, .x0F38, 0x39, w: 1)
        /// dst = k ? rm : vvvv.
        static let vblendmps = EVEXOpcode("vblendmps", .p66, .x0F38, 0x65, w: 0)
        static let vblendmpd = EVEXOpcode("vblendmpd", .p66, .x0F38, 0x65, w: 1)
        // Conversions and lane moves.
        static let vcvtps2pd = EVEXOpcode("vcvtps2pd", .none, .x0F, 0x5A, w: 0)
        static let vcvtpd2ps = EVEXOpcode("vcvtpd2ps", .p66, .x0F, 0x5A, w: 1)
        static let vcvtdq2pd = EVEXOpcode("vcvtdq2pd", .pF3, .x0F, 0xE6, w: 0)
        static let vcvttpd2dq = EVEXOpcode("vcvttpd2dq", .p66, .x0F, 0xE6, w: 1)
        static let vcvtdq2ps = EVEXOpcode("vcvtdq2ps", .none, .x0F, 0x5B, w: 0)
        static let vcvttps2dq = EVEXOpcode("vcvttps2dq", .pF3, .x0F, 0x5B, w: 0)
        static let vpmovsxdq = EVEXOpcode("vpmovsxdq", .p66, .x0F38, 0x25, w: 0)
        static let vpmovzxbd = EVEXOpcode("vpmovzxbd", .p66, .x0F38, 0x31, w: 0)
        static let vpmovzxbq = EVEXOpcode("vpmovzxbq", .p66, .x0F38, 0x32, w: 0)
        /// Narrowing move: rm (the half-width destination) ← the low dwords of reg's qwords.
        static let vpmovqd = EVEXOpcode("vpmovqd", .pF3, .x0F38, 0x35, w: 0)
        /// rm (a ymm) ← the high 256 bits of reg (imm8 1).
        static let vextractf64x4 = EVEXOpcode("vextractf64x4", .p66, .x0F3A, 0x1B, w: 1)
        /// reg ← vvvv with rm (a ymm) as its high 256 bits (imm8 1).
        static let vinsertf64x4 = EVEXOpcode("vinsertf64x4", .p66, .x0F3A, 0x1A, w: 1)
        static let vpbroadcastd = EVEXOpcode("vpbroadcastd", .p66, .x0F38, 0x58, w: 0)
        static let vpbroadcastq = EVEXOpcode("vpbroadcastq", .p66, .x0F38, 0x59, w: 1)
        // Gathers (VSIB memory operand, opmask required).
        static let vgatherdps = EVEXOpcode("vgatherdps", .p66, .x0F38, 0x92, w: 0)
        static let vgatherdpd = EVEXOpcode("vgatherdpd", .p66, .x0F38, 0x92, w: 1)
        static let vgatherqpd = EVEXOpcode("vgatherqpd", .p66, .x0F38, 0x93, w: 1)
    }

    /// The ModRM.rm operand of an EVEX instruction.
    enum EVEXRM: Sendable, Equatable {
        /// A vector register 0–31 (or an opmask register / GPR where the instruction takes one).
        case register(Int)
        case memory(Mem)
        /// [base + vector index · scale] (gathers), no displacement.
        case vsib(base: GPR, index: Int, scale: Int)
    }
}

extension X86Assembler {
    /// Emits an EVEX instruction. `reg` is ModRM.reg (a register 0–31, or the opcode extension of the
    /// immediate shifts); `vvvv` the second source (nil: unused); `bits` the vector length (512, 256 or
    /// 128); `mask` the opmask k1–k7 (0: none), `zeroing` the {z} form; `disp8Scale` the N of the
    /// compressed displacement (the bytes of the memory operand).
    mutating func evex(
        _ op: X86.EVEXOpcode, reg: Int, vvvv: Int? = nil, rm: X86.EVEXRM, bits: Int = 512, mask: Int = 0,
        zeroing: Bool = false, disp8Scale: Int = 64, imm8: UInt8? = nil
    ) {
        precondition((0..<32).contains(reg) && (vvvv.map { (0..<32).contains($0) } ?? true) && (0..<8).contains(mask))
        let length: UInt8 = bits == 512 ? 2 : bits == 256 ? 1 : 0
        let r = UInt8(reg)
        let v = UInt8(vvvv ?? 0)
        var x: UInt8 = 0
        var b: UInt8 = 0
        var vHigh = v >> 4
        switch rm {
        case .register(let n):
            x = UInt8(n) >> 4
            b = (UInt8(n) >> 3) & 1
        case .memory(let m):
            x = m.index?.high ?? 0
            b = m.base?.high ?? 0
        case .vsib(let base, let index, _):
            x = (UInt8(index) >> 3) & 1
            b = base.high
            vHigh = UInt8(index) >> 4
        }
        let p0: UInt8 =
            (~(r >> 3) & 1) << 7 | (~x & 1) << 6 | (~b & 1) << 5 | (~(r >> 4) & 1) << 4 | op.map.rawValue
        let p1: UInt8 = op.w << 7 | (~v & 0xF) << 3 | 1 << 2 | op.prefix.rawValue
        let p2: UInt8 = (zeroing ? 1 : 0) << 7 | length << 5 | (~vHigh & 1) << 3 | UInt8(mask)
        var bytes: [UInt8] = [0x62, p0, p1, p2, op.opcode]
        var rip: (label: X86.Label, at: Int, addend: Int)?
        let regBits = (r & 7) << 3
        switch rm {
        case .register(let n):
            bytes.append(0xC0 | regBits | UInt8(n) & 7)
        case .vsib(let base, let index, let scale):
            let s = UInt8(scale.trailingZeroBitCount) << 6
            let needsDisp = base.low3 == 0b101
            bytes.append((needsDisp ? 0x40 : 0) | regBits | 0b100)
            bytes.append(s | (UInt8(index) & 7) << 3 | base.low3)
            if needsDisp { bytes.append(0) }
        case .memory(let m):
            if let label = m.label {
                bytes.append(regBits | 0b101)
                rip = (label, bytes.count, Int(m.displacement))
                bytes += [0, 0, 0, 0]
            } else {
                let scale = UInt8(m.scale.trailingZeroBitCount) << 6
                let index = (m.index?.low3 ?? 0b100) << 3
                if let base = m.base {
                    let d = m.displacement
                    let compressed: Int8? = d % Int32(disp8Scale) == 0 ? Int8(exactly: d / Int32(disp8Scale)) : nil
                    let mod: UInt8 = d == 0 && base.low3 != 0b101 ? 0 : compressed != nil ? 1 : 2
                    if m.index != nil || base.low3 == 0b100 {
                        bytes += [mod << 6 | regBits | 0b100, scale | index | base.low3]
                    } else {
                        bytes.append(mod << 6 | regBits | base.low3)
                    }
                    if mod == 1 { bytes.append(UInt8(bitPattern: compressed!)) }
                    if mod == 2 { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: d >> (8 * i))) } }
                } else {
                    bytes += [regBits | 0b100, scale | index | 0b101]
                    for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: m.displacement >> (8 * i))) }
                }
            }
        }
        if let imm8 { bytes.append(imm8) }
        let text =
            "\(op.name) /* EVEX \(bits) */ .byte " + bytes.map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
        appendInstruction(bytes, rip: rip, text: text)
    }

    /// kmovw r32, k (VEX.L0.0F.W0 93 /r).
    mutating func kmovw(_ gpr: X86.GPR, k: Int) {
        let r = gpr.high ^ 1
        appendInstruction(
            r == 1
                ? [0xC5, 0xF8, 0x93, 0xC0 | gpr.low3 << 3 | UInt8(k)]
                : [0xC4, 0x61, 0x78, 0x93, 0xC0 | gpr.low3 << 3 | UInt8(k)],
            rip: nil, text: "kmovw %k\(k), \(gpr)")
    }

    /// kxnorw k, k0, k0: every bit of k set (VEX.L1.0F.W0 46 /r).
    mutating func kxnorwAllOnes(k: Int) {
        appendInstruction([0xC5, 0xFC, 0x46, 0xC0 | UInt8(k) << 3], rip: nil, text: "kxnorw %k0, %k0, %k\(k)")
    }
}
