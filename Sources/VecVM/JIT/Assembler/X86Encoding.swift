// X86Encoding.swift — the instruction table of the x86-64 assembler: one line per mnemonic giving its encoding
// class and the opcode, mandatory prefix, opcode map, VEX.W/VEX.L and ModRM extension that class needs. The few
// emit routines (X86Assembler+GPForms.swift, X86Assembler+VEXForms.swift) read these entries; nothing else knows
// an opcode byte.
//
// Layout of what the entries describe (Intel SDM vol. 2, ch. 2):
//
//   legacy:  [66] [F2|F3] [REX 0100WRXB] [0F [38|3A]] opcode ModRM [SIB] [disp8|disp32] [imm]
//   VEX2:    C5 [R̄ v̄v̄v̄v̄ L pp]                               opcode ModRM [SIB] [disp] [imm8|is4]
//   VEX3:    C4 [R̄ X̄ B̄ mmmmm] [W v̄v̄v̄v̄ L pp]                   opcode ModRM [SIB] [disp] [imm8|is4]
//   ModRM:   mod(2) reg(3) rm(3)        SIB: scale(2) index(3) base(3)
//
// Operand letters in the class names follow the SDM's "Op/En" column, in Intel operand order:
// R = ModRM.reg, M = ModRM.rm (register or memory), V = VEX.vvvv, I = imm8, R at the end of RVMR = is4 (imm8[7:4]).

extension X86 {
    /// Mandatory prefix; the raw value is VEX.pp.
    enum Prefix: UInt8, Sendable {
        case none = 0
        case p66 = 1
        case pF3 = 2
        case pF2 = 3

        var byte: UInt8? { [nil, 0x66, 0xF3, 0xF2][Int(rawValue)] }
    }

    /// Opcode map; the raw value is VEX.mmmmm.
    enum OpcodeMap: UInt8, Sendable {
        case legacy = 0
        case x0F = 1
        case x0F38 = 2
        case x0F3A = 3

        var escape: [UInt8] { [[], [0x0F], [0x0F, 0x38], [0x0F, 0x3A]][Int(rawValue)] }
    }

    /// VEX.W: fixed, ignored (encoded 0, as LLVM does), or 1 exactly when the GPR/memory operand is 64-bit
    /// (vcvtsi2sd, vcvttsd2si).
    enum VexW: Sendable { case w0, w1, ignored, fromGPR }

    /// VEX.L: fixed, ignored (encoded 0), or 1 exactly when some operand is a YMM register or 32-byte memory.
    enum VexL: Sendable { case l0, l1, ignored, fromOperands }

    /// CPU features an instruction needs beyond baseline x86-64; `X86Assembler.requiredFeatures` is their union
    /// over all emitted instructions, for the JIT to check against CPUID before installing code. Every VEX
    /// instruction lists `.avx` too: VEX needs the OS to have enabled YMM state, which the AVX check covers.
    struct Features: OptionSet, Sendable, Hashable {
        let rawValue: UInt8
        static let avx = Features(rawValue: 1 << 0)
        static let avx2 = Features(rawValue: 1 << 1)
        static let fma = Features(rawValue: 1 << 2)
        static let popcnt = Features(rawValue: 1 << 3)
        static let lzcnt = Features(rawValue: 1 << 4)
        static let bmi1 = Features(rawValue: 1 << 5)
    }

    struct EncodingFlags: OptionSet, Sendable {
        let rawValue: UInt16
        /// A register-to-register move may use the store opcode instead, so that an extended source register
        /// lands in ModRM.reg (VEX.R, available in the 2-byte VEX) rather than ModRM.rm (VEX.B, 3-byte VEX only).
        /// LLVM does the same, which keeps the differential test byte-exact.
        static let swappable = EncodingFlags(rawValue: 1 << 0)
        /// AVX for 128-bit operands, AVX2 for 256-bit ones (the integer instructions).
        static let ymmNeedsAVX2 = EncodingFlags(rawValue: 1 << 1)
        /// The register-source form needs AVX2 though the memory-source form is AVX (vbroadcastss).
        static let registerSourceNeedsAVX2 = EncodingFlags(rawValue: 1 << 2)
        /// The ModRM.rm operand must be memory.
        static let memoryOnly = EncodingFlags(rawValue: 1 << 3)
        /// AT&T spells the memory-source form with a size suffix (`vcvtpd2psx`/`y`, `vcvtsi2sdl`/`q`).
        static let memorySuffix = EncodingFlags(rawValue: 1 << 4)
        /// The immediate is a vcmp predicate, spelled into the mnemonic (`vcmpltps`).
        static let comparePredicate = EncodingFlags(rawValue: 1 << 5)
        /// The GPR destination is written as 32 bits whatever its given width (vmovmskps, vpmovmskb).
        static let dwordDestination = EncodingFlags(rawValue: 1 << 6)
    }

    /// Encoding classes: each names one emit routine in X86Assembler and fixes which operand goes where.
    enum EncodingClass: Sendable {
        /// add/or/adc/sbb/and/sub/xor/cmp: `ext` is the group number g; opcodes 8g+0…8g+5, 80/81/83 /g.
        case gpALU
        /// test: 84/85 (r/m, r), A8/A9 (accumulator, imm), F6/F7 /0 (r/m, imm).
        case gpTest
        /// mov: 88/89, 8A/8B, C6/C7 /0, B0+r/B8+r.
        case gpMov
        /// movabs r64, imm64: REX.W B8+r io.
        case gpMovabs
        /// reg ← r/m with `opcode` in `map` after `prefix`; 16/32/64-bit only (lea, popcnt, tzcnt, lzcnt).
        case gpRM
        /// imul r, r/m (0F `opcode`) and imul r, r/m, imm (`opcode2` 6B with imm8, `opcode2` - 2 = 69 with
        /// imm16/32).
        case gpIMul
        /// movzx/movsx: `opcode` for a byte source, `opcode` + 1 for a word source.
        case gpExtend
        /// movsxd r64, r/m32 (REX.W 63).
        case gpExtendDword
        /// Single r/m operand with /`ext`: `opcode` is the 16/32/64-bit form, `opcode` - 1 the byte form.
        case gpUnary
        /// Shift/rotate group /`ext`: D0/D1 (by 1), C0/C1 ib, D2/D3 (by cl).
        case gpShift
        /// setcc r/m8: 0F 90+cc /0.
        case gpSetcc
        /// cmovcc r, r/m: 0F 40+cc.
        case gpCmovcc
        /// jmp rel8 (EB) / rel32 (E9) / r/m64 (FF /4).
        case gpJmp
        /// jcc rel8 (70+cc) / rel32 (0F 80+cc).
        case gpJcc
        /// call rel32 (E8) / r/m64 (FF /2).
        case gpCall
        /// push/pop r64: `opcode`+r.
        case gpPushPop
        /// No operands: [prefix] [REX.W when w1] map opcode [ModRM `ext` when nonzero].
        case gpFixed
        /// Memory-only hint with /`ext` (prefetch).
        case gpPrefetch

        /// dst(R), src1(V), src2(M).
        case vexRVM
        /// dst(R), src(M).
        case vexRM
        /// dst(M), src(R).
        case vexMR
        /// Moves: load and register forms RM with `opcode`; store (and swapped register) forms MR with
        /// `opcode2` (after `prefix2` when set). A GPR destination also takes the MR form (vmovd r32, xmm).
        case vexMov
        /// vmovss/vmovsd: 2-operand load (RM) and store (MR, `opcode2`), 3-operand register merge (RVM).
        case vexMovScalar
        /// dst(R), src1(V), src2(M), imm8.
        case vexRVMI
        /// dst(R), src(M), imm8.
        case vexRMI
        /// dst(M), src(R), imm8.
        case vexMRI
        /// dst(R), src1(V), src2(M), src3 in imm8[7:4] (vblendvps).
        case vexRVMR
        /// vmaskmov: load dst(R), mask(V), mem(M) with `opcode`; store mem(M), mask(V), src(R) with `opcode2`.
        case vexMaskMov
        /// Packed shifts: by xmm/m128 count RVM with `opcode`; by imm8 as dst(V), src(M), /`ext` with `opcode2`.
        case vexShift
        /// Memory operand only, /`ext` (vldmxcsr).
        case vexM
        /// No operands (vzeroupper).
        case vexNone
    }

    /// One row of the instruction table.
    struct Encoding: Sendable {
        var form: EncodingClass
        var prefix: Prefix = .none
        var map: OpcodeMap = .legacy
        var opcode: UInt8
        var opcode2: UInt8 = 0
        var prefix2: Prefix? = nil
        var ext: UInt8 = 0
        var w: VexW = .ignored
        var l: VexL = .fromOperands
        var features: Features = []
        var flags: EncodingFlags = []
    }
}

extension X86 {
    /// Every mnemonic the assembler knows. Conditional instructions take their condition as a separate argument
    /// of `X86Assembler.emit`, so `jcc` covers `je`, `jne`, … .
    enum Instruction: CaseIterable, Sendable {
        // General purpose
        case add, or, adc, sbb, and, sub, xor, cmp, test
        case mov, movabs, lea, movzx, movsx, movsxd
        case inc, dec, not, neg, mul, div, idiv, imul
        case shl, shr, sar, rol, ror
        case jmp, jcc, call, ret, push, pop
        case setcc, cmovcc
        case nop, int3, ud2, cqo, cdq, stc
        case popcnt, tzcnt, lzcnt
        case sfence, lfence, mfence, prefetcht0, prefetcht1, prefetcht2, prefetchnta
        // AVX moves and broadcasts
        case vmovups, vmovupd, vmovaps, vmovapd, vmovdqu, vmovdqa
        case vmovntps, vmovntpd, vmovntdq, vmovntdqa
        case vmovss, vmovsd, vmovd, vmovq
        case vbroadcastss, vbroadcastsd, vbroadcastf128, vpbroadcastd, vpbroadcastq
        // AVX floating-point arithmetic
        case vaddps, vaddpd, vaddss, vaddsd, vsubps, vsubpd, vsubss, vsubsd
        case vmulps, vmulpd, vmulss, vmulsd, vdivps, vdivpd, vdivss, vdivsd
        case vminps, vminpd, vminss, vminsd, vmaxps, vmaxpd, vmaxss, vmaxsd
        case vsqrtps, vsqrtpd, vsqrtss, vsqrtsd, vrcpps, vrcpss, vrsqrtps, vrsqrtss
        case vroundps, vroundpd, vroundss, vroundsd
        case vhaddps, vhaddpd, vhsubps, vhsubpd
        // AVX logic, compare, blend
        case vandps, vandpd, vandnps, vandnpd, vorps, vorpd, vxorps, vxorpd
        case vcmpps, vcmppd, vcmpss, vcmpsd
        case vblendps, vblendpd, vblendvps, vblendvpd, vptest
        case vmovmskps, vmovmskpd
        // AVX shuffles and lane moves
        case vshufps, vshufpd, vunpcklps, vunpcklpd, vunpckhps, vunpckhpd, vmovhlps, vmovlhps
        case vpermilps, vpermilpd, vinsertf128, vextractf128, vperm2f128
        // AVX conversions
        case vcvtdq2ps, vcvtps2dq, vcvttps2dq, vcvtps2pd, vcvtpd2ps, vcvtdq2pd, vcvtpd2dq, vcvttpd2dq
        case vcvtss2sd, vcvtsd2ss, vcvtsi2ss, vcvtsi2sd, vcvttss2si, vcvttsd2si, vcvtss2si, vcvtsd2si
        // AVX masked moves, state
        case vmaskmovps, vmaskmovpd, vzeroupper, vzeroall, vldmxcsr, vstmxcsr
        // AVX (128-bit) / AVX2 (256-bit) integer
        case vpaddd, vpaddq, vpsubd, vpsubq, vpmulld, vpmuludq, vpmuldq
        case vpand, vpandn, vpor, vpxor
        case vpcmpeqd, vpcmpeqq, vpcmpgtd, vpcmpgtq
        case vpabsd, vpminsd, vpmaxsd, vpminud, vpmaxud
        case vpmovsxdq, vpmovzxbd, vpmovzxbq
        case vpslld, vpsrld, vpsrad, vpsllq, vpsrlq
        case vpshufd, vpshufb, vpblendvb, vpmovmskb
        // AVX2 only
        case vpsllvd, vpsllvq, vpsrlvd, vpsrlvq, vpsravd
        case vpblendd, vpermd, vpermps, vpermq, vpermpd, vperm2i128, vinserti128, vextracti128
        case vpmaskmovd, vpmaskmovq
        // FMA
        case vfmadd132ps, vfmadd132pd, vfmadd132ss, vfmadd132sd
        case vfmadd213ps, vfmadd213pd, vfmadd213ss, vfmadd213sd
        case vfmadd231ps, vfmadd231pd, vfmadd231ss, vfmadd231sd
        case vfmsub132ps, vfmsub132pd, vfmsub132ss, vfmsub132sd
        case vfmsub213ps, vfmsub213pd, vfmsub213ss, vfmsub213sd
        case vfmsub231ps, vfmsub231pd, vfmsub231ss, vfmsub231sd
        case vfnmadd132ps, vfnmadd132pd, vfnmadd132ss, vfnmadd132sd
        case vfnmadd213ps, vfnmadd213pd, vfnmadd213ss, vfnmadd213sd
        case vfnmadd231ps, vfnmadd231pd, vfnmadd231ss, vfnmadd231sd
        case vfnmsub132ps, vfnmsub132pd, vfnmsub132ss, vfnmsub132sd
        case vfnmsub213ps, vfnmsub213pd, vfnmsub213ss, vfnmsub213sd
        case vfnmsub231ps, vfnmsub231pd, vfnmsub231ss, vfnmsub231sd

        /// The Intel/AT&T base mnemonic (AT&T size suffixes and condition codes are added by the listing).
        var mnemonic: String { String(describing: self) }
    }
}

// Shorthands that keep each table row on one line.
private typealias E = X86.Encoding

private func gp(
    _ form: X86.EncodingClass, _ prefix: X86.Prefix = .none, _ map: X86.OpcodeMap = .legacy, _ opcode: UInt8 = 0,
    ext: UInt8 = 0, opcode2: UInt8 = 0, w: X86.VexW = .ignored, features: X86.Features = [],
    flags: X86.EncodingFlags = []
) -> E {
    E(
        form: form, prefix: prefix, map: map, opcode: opcode, opcode2: opcode2, ext: ext, w: w, features: features,
        flags: flags)
}

private func avx(
    _ form: X86.EncodingClass, _ prefix: X86.Prefix, _ map: X86.OpcodeMap, _ opcode: UInt8,
    _ opcode2: UInt8 = 0, prefix2: X86.Prefix? = nil, ext: UInt8 = 0, w: X86.VexW = .ignored,
    l: X86.VexL = .fromOperands, features: X86.Features = .avx, flags: X86.EncodingFlags = []
) -> E {
    E(
        form: form, prefix: prefix, map: map, opcode: opcode, opcode2: opcode2, prefix2: prefix2, ext: ext, w: w,
        l: l, features: features, flags: flags)
}

/// AVX for XMM, AVX2 for YMM: the integer instructions.
private func avxInt(
    _ form: X86.EncodingClass, _ map: X86.OpcodeMap, _ opcode: UInt8, _ opcode2: UInt8 = 0, ext: UInt8 = 0,
    w: X86.VexW = .ignored
) -> E {
    avx(form, .p66, map, opcode, opcode2, ext: ext, w: w, flags: .ymmNeedsAVX2)
}

private func avx2(
    _ form: X86.EncodingClass, _ map: X86.OpcodeMap, _ opcode: UInt8, _ opcode2: UInt8 = 0, w: X86.VexW = .w0,
    l: X86.VexL = .fromOperands
) -> E {
    avx(form, .p66, map, opcode, opcode2, w: w, l: l, features: [.avx, .avx2])
}

/// FMA3: all VEX.66.0F38; W selects double precision; scalar forms ignore L.
private func fma(_ opcode: UInt8, double: Bool, scalar: Bool) -> E {
    avx(
        .vexRVM, .p66, .x0F38, opcode, w: double ? .w1 : .w0, l: scalar ? .ignored : .fromOperands,
        features: [.avx, .fma])
}

extension X86.Instruction {
    /// The table. Row format: encoding class, mandatory prefix (VEX.pp), map, opcode[, second opcode], W, L.
    var encoding: X86.Encoding {
        switch self {
        case .add: gp(.gpALU, ext: 0)
        case .or: gp(.gpALU, ext: 1)
        case .adc: gp(.gpALU, ext: 2)
        case .sbb: gp(.gpALU, ext: 3)
        case .and: gp(.gpALU, ext: 4)
        case .sub: gp(.gpALU, ext: 5)
        case .xor: gp(.gpALU, ext: 6)
        case .cmp: gp(.gpALU, ext: 7)
        case .test: gp(.gpTest)
        case .mov: gp(.gpMov)
        case .movabs: gp(.gpMovabs, .none, .legacy, 0xB8)
        case .lea: gp(.gpRM, .none, .legacy, 0x8D, flags: .memoryOnly)
        case .movzx: gp(.gpExtend, .none, .x0F, 0xB6)
        case .movsx: gp(.gpExtend, .none, .x0F, 0xBE)
        case .movsxd: gp(.gpExtendDword, .none, .legacy, 0x63)
        case .inc: gp(.gpUnary, .none, .legacy, 0xFF, ext: 0)
        case .dec: gp(.gpUnary, .none, .legacy, 0xFF, ext: 1)
        case .not: gp(.gpUnary, .none, .legacy, 0xF7, ext: 2)
        case .neg: gp(.gpUnary, .none, .legacy, 0xF7, ext: 3)
        case .mul: gp(.gpUnary, .none, .legacy, 0xF7, ext: 4)
        case .div: gp(.gpUnary, .none, .legacy, 0xF7, ext: 6)
        case .idiv: gp(.gpUnary, .none, .legacy, 0xF7, ext: 7)
        case .imul: gp(.gpIMul, .none, .x0F, 0xAF, opcode2: 0x6B)
        case .rol: gp(.gpShift, ext: 0)
        case .ror: gp(.gpShift, ext: 1)
        case .shl: gp(.gpShift, ext: 4)
        case .shr: gp(.gpShift, ext: 5)
        case .sar: gp(.gpShift, ext: 7)
        case .jmp: gp(.gpJmp)
        case .jcc: gp(.gpJcc)
        case .call: gp(.gpCall)
        case .ret: gp(.gpFixed, .none, .legacy, 0xC3)
        case .push: gp(.gpPushPop, .none, .legacy, 0x50)
        case .pop: gp(.gpPushPop, .none, .legacy, 0x58)
        case .setcc: gp(.gpSetcc, .none, .x0F, 0x90)
        case .cmovcc: gp(.gpCmovcc, .none, .x0F, 0x40)
        case .nop: gp(.gpFixed, .none, .legacy, 0x90)
        case .int3: gp(.gpFixed, .none, .legacy, 0xCC)
        case .ud2: gp(.gpFixed, .none, .x0F, 0x0B)
        case .cqo: gp(.gpFixed, .none, .legacy, 0x99, w: .w1)
        case .cdq: gp(.gpFixed, .none, .legacy, 0x99)
        case .stc: gp(.gpFixed, .none, .legacy, 0xF9)
        case .popcnt: gp(.gpRM, .pF3, .x0F, 0xB8, features: .popcnt)
        case .tzcnt: gp(.gpRM, .pF3, .x0F, 0xBC, features: .bmi1)
        case .lzcnt: gp(.gpRM, .pF3, .x0F, 0xBD, features: .lzcnt)
        case .sfence: gp(.gpFixed, .none, .x0F, 0xAE, ext: 0xF8)
        case .lfence: gp(.gpFixed, .none, .x0F, 0xAE, ext: 0xE8)
        case .mfence: gp(.gpFixed, .none, .x0F, 0xAE, ext: 0xF0)
        case .prefetchnta: gp(.gpPrefetch, .none, .x0F, 0x18, ext: 0)
        case .prefetcht0: gp(.gpPrefetch, .none, .x0F, 0x18, ext: 1)
        case .prefetcht1: gp(.gpPrefetch, .none, .x0F, 0x18, ext: 2)
        case .prefetcht2: gp(.gpPrefetch, .none, .x0F, 0x18, ext: 3)

        case .vmovups: avx(.vexMov, .none, .x0F, 0x10, 0x11, flags: .swappable)
        case .vmovupd: avx(.vexMov, .p66, .x0F, 0x10, 0x11, flags: .swappable)
        case .vmovaps: avx(.vexMov, .none, .x0F, 0x28, 0x29, flags: .swappable)
        case .vmovapd: avx(.vexMov, .p66, .x0F, 0x28, 0x29, flags: .swappable)
        case .vmovdqu: avx(.vexMov, .pF3, .x0F, 0x6F, 0x7F, flags: .swappable)
        case .vmovdqa: avx(.vexMov, .p66, .x0F, 0x6F, 0x7F, flags: .swappable)
        case .vmovntps: avx(.vexMR, .none, .x0F, 0x2B, flags: .memoryOnly)
        case .vmovntpd: avx(.vexMR, .p66, .x0F, 0x2B, flags: .memoryOnly)
        case .vmovntdq: avx(.vexMR, .p66, .x0F, 0xE7, flags: .memoryOnly)
        case .vmovntdqa: avx(.vexRM, .p66, .x0F38, 0x2A, flags: [.memoryOnly, .ymmNeedsAVX2])
        case .vmovss: avx(.vexMovScalar, .pF3, .x0F, 0x10, 0x11, l: .ignored)
        case .vmovsd: avx(.vexMovScalar, .pF2, .x0F, 0x10, 0x11, l: .ignored)
        // vmovd and the GPR forms of vmovq share 66 0F 6E/7E and differ only in W (see X86Assembler.vmovq).
        case .vmovd: avx(.vexMov, .p66, .x0F, 0x6E, 0x7E, w: .fromGPR, l: .l0)
        case .vmovq: avx(.vexMov, .pF3, .x0F, 0x7E, 0xD6, prefix2: .p66, l: .l0, flags: .swappable)
        case .vbroadcastss: avx(.vexRM, .p66, .x0F38, 0x18, w: .w0, flags: .registerSourceNeedsAVX2)
        case .vbroadcastsd: avx(.vexRM, .p66, .x0F38, 0x19, w: .w0, l: .l1, flags: .registerSourceNeedsAVX2)
        case .vbroadcastf128: avx(.vexRM, .p66, .x0F38, 0x1A, w: .w0, l: .l1, flags: .memoryOnly)
        case .vpbroadcastd: avx2(.vexRM, .x0F38, 0x58)
        case .vpbroadcastq: avx2(.vexRM, .x0F38, 0x59)

        case .vaddps: avx(.vexRVM, .none, .x0F, 0x58)
        case .vaddpd: avx(.vexRVM, .p66, .x0F, 0x58)
        case .vaddss: avx(.vexRVM, .pF3, .x0F, 0x58, l: .ignored)
        case .vaddsd: avx(.vexRVM, .pF2, .x0F, 0x58, l: .ignored)
        case .vsubps: avx(.vexRVM, .none, .x0F, 0x5C)
        case .vsubpd: avx(.vexRVM, .p66, .x0F, 0x5C)
        case .vsubss: avx(.vexRVM, .pF3, .x0F, 0x5C, l: .ignored)
        case .vsubsd: avx(.vexRVM, .pF2, .x0F, 0x5C, l: .ignored)
        case .vmulps: avx(.vexRVM, .none, .x0F, 0x59)
        case .vmulpd: avx(.vexRVM, .p66, .x0F, 0x59)
        case .vmulss: avx(.vexRVM, .pF3, .x0F, 0x59, l: .ignored)
        case .vmulsd: avx(.vexRVM, .pF2, .x0F, 0x59, l: .ignored)
        case .vdivps: avx(.vexRVM, .none, .x0F, 0x5E)
        case .vdivpd: avx(.vexRVM, .p66, .x0F, 0x5E)
        case .vdivss: avx(.vexRVM, .pF3, .x0F, 0x5E, l: .ignored)
        case .vdivsd: avx(.vexRVM, .pF2, .x0F, 0x5E, l: .ignored)
        case .vminps: avx(.vexRVM, .none, .x0F, 0x5D)
        case .vminpd: avx(.vexRVM, .p66, .x0F, 0x5D)
        case .vminss: avx(.vexRVM, .pF3, .x0F, 0x5D, l: .ignored)
        case .vminsd: avx(.vexRVM, .pF2, .x0F, 0x5D, l: .ignored)
        case .vmaxps: avx(.vexRVM, .none, .x0F, 0x5F)
        case .vmaxpd: avx(.vexRVM, .p66, .x0F, 0x5F)
        case .vmaxss: avx(.vexRVM, .pF3, .x0F, 0x5F, l: .ignored)
        case .vmaxsd: avx(.vexRVM, .pF2, .x0F, 0x5F, l: .ignored)
        case .vsqrtps: avx(.vexRM, .none, .x0F, 0x51)
        case .vsqrtpd: avx(.vexRM, .p66, .x0F, 0x51)
        case .vsqrtss: avx(.vexRVM, .pF3, .x0F, 0x51, l: .ignored)
        case .vsqrtsd: avx(.vexRVM, .pF2, .x0F, 0x51, l: .ignored)
        case .vrcpps: avx(.vexRM, .none, .x0F, 0x53)
        case .vrcpss: avx(.vexRVM, .pF3, .x0F, 0x53, l: .ignored)
        case .vrsqrtps: avx(.vexRM, .none, .x0F, 0x52)
        case .vrsqrtss: avx(.vexRVM, .pF3, .x0F, 0x52, l: .ignored)
        case .vroundps: avx(.vexRMI, .p66, .x0F3A, 0x08)
        case .vroundpd: avx(.vexRMI, .p66, .x0F3A, 0x09)
        case .vroundss: avx(.vexRVMI, .p66, .x0F3A, 0x0A, l: .ignored)
        case .vroundsd: avx(.vexRVMI, .p66, .x0F3A, 0x0B, l: .ignored)
        case .vhaddps: avx(.vexRVM, .pF2, .x0F, 0x7C)
        case .vhaddpd: avx(.vexRVM, .p66, .x0F, 0x7C)
        case .vhsubps: avx(.vexRVM, .pF2, .x0F, 0x7D)
        case .vhsubpd: avx(.vexRVM, .p66, .x0F, 0x7D)

        case .vandps: avx(.vexRVM, .none, .x0F, 0x54)
        case .vandpd: avx(.vexRVM, .p66, .x0F, 0x54)
        case .vandnps: avx(.vexRVM, .none, .x0F, 0x55)
        case .vandnpd: avx(.vexRVM, .p66, .x0F, 0x55)
        case .vorps: avx(.vexRVM, .none, .x0F, 0x56)
        case .vorpd: avx(.vexRVM, .p66, .x0F, 0x56)
        case .vxorps: avx(.vexRVM, .none, .x0F, 0x57)
        case .vxorpd: avx(.vexRVM, .p66, .x0F, 0x57)
        case .vcmpps: avx(.vexRVMI, .none, .x0F, 0xC2, flags: .comparePredicate)
        case .vcmppd: avx(.vexRVMI, .p66, .x0F, 0xC2, flags: .comparePredicate)
        case .vcmpss: avx(.vexRVMI, .pF3, .x0F, 0xC2, l: .ignored, flags: .comparePredicate)
        case .vcmpsd: avx(.vexRVMI, .pF2, .x0F, 0xC2, l: .ignored, flags: .comparePredicate)
        case .vblendps: avx(.vexRVMI, .p66, .x0F3A, 0x0C)
        case .vblendpd: avx(.vexRVMI, .p66, .x0F3A, 0x0D)
        case .vblendvps: avx(.vexRVMR, .p66, .x0F3A, 0x4A, w: .w0)
        case .vblendvpd: avx(.vexRVMR, .p66, .x0F3A, 0x4B, w: .w0)
        case .vptest: avx(.vexRM, .p66, .x0F38, 0x17)
        case .vmovmskps: avx(.vexRM, .none, .x0F, 0x50, flags: .dwordDestination)
        case .vmovmskpd: avx(.vexRM, .p66, .x0F, 0x50, flags: .dwordDestination)

        case .vshufps: avx(.vexRVMI, .none, .x0F, 0xC6)
        case .vshufpd: avx(.vexRVMI, .p66, .x0F, 0xC6)
        case .vunpcklps: avx(.vexRVM, .none, .x0F, 0x14)
        case .vunpcklpd: avx(.vexRVM, .p66, .x0F, 0x14)
        case .vunpckhps: avx(.vexRVM, .none, .x0F, 0x15)
        case .vunpckhpd: avx(.vexRVM, .p66, .x0F, 0x15)
        case .vmovhlps: avx(.vexRVM, .none, .x0F, 0x12, l: .l0)
        case .vmovlhps: avx(.vexRVM, .none, .x0F, 0x16, l: .l0)
        case .vpermilps: avx(.vexRMI, .p66, .x0F3A, 0x04, w: .w0)
        case .vpermilpd: avx(.vexRMI, .p66, .x0F3A, 0x05, w: .w0)
        case .vinsertf128: avx(.vexRVMI, .p66, .x0F3A, 0x18, w: .w0, l: .l1)
        case .vextractf128: avx(.vexMRI, .p66, .x0F3A, 0x19, w: .w0, l: .l1)
        case .vperm2f128: avx(.vexRVMI, .p66, .x0F3A, 0x06, w: .w0, l: .l1)

        case .vcvtdq2ps: avx(.vexRM, .none, .x0F, 0x5B)
        case .vcvtps2dq: avx(.vexRM, .p66, .x0F, 0x5B)
        case .vcvttps2dq: avx(.vexRM, .pF3, .x0F, 0x5B)
        case .vcvtps2pd: avx(.vexRM, .none, .x0F, 0x5A)
        case .vcvtpd2ps: avx(.vexRM, .p66, .x0F, 0x5A, flags: .memorySuffix)
        case .vcvtdq2pd: avx(.vexRM, .pF3, .x0F, 0xE6)
        case .vcvtpd2dq: avx(.vexRM, .pF2, .x0F, 0xE6, flags: .memorySuffix)
        case .vcvttpd2dq: avx(.vexRM, .p66, .x0F, 0xE6, flags: .memorySuffix)
        case .vcvtss2sd: avx(.vexRVM, .pF3, .x0F, 0x5A, l: .ignored)
        case .vcvtsd2ss: avx(.vexRVM, .pF2, .x0F, 0x5A, l: .ignored)
        case .vcvtsi2ss: avx(.vexRVM, .pF3, .x0F, 0x2A, w: .fromGPR, l: .ignored, flags: .memorySuffix)
        case .vcvtsi2sd: avx(.vexRVM, .pF2, .x0F, 0x2A, w: .fromGPR, l: .ignored, flags: .memorySuffix)
        case .vcvttss2si: avx(.vexRM, .pF3, .x0F, 0x2C, w: .fromGPR, l: .ignored)
        case .vcvttsd2si: avx(.vexRM, .pF2, .x0F, 0x2C, w: .fromGPR, l: .ignored)
        case .vcvtss2si: avx(.vexRM, .pF3, .x0F, 0x2D, w: .fromGPR, l: .ignored)
        case .vcvtsd2si: avx(.vexRM, .pF2, .x0F, 0x2D, w: .fromGPR, l: .ignored)

        case .vmaskmovps: avx(.vexMaskMov, .p66, .x0F38, 0x2C, 0x2E, w: .w0)
        case .vmaskmovpd: avx(.vexMaskMov, .p66, .x0F38, 0x2D, 0x2F, w: .w0)
        case .vzeroupper: avx(.vexNone, .none, .x0F, 0x77, l: .l0)
        case .vzeroall: avx(.vexNone, .none, .x0F, 0x77, l: .l1)
        case .vldmxcsr: avx(.vexM, .none, .x0F, 0xAE, ext: 2, l: .l0)
        case .vstmxcsr: avx(.vexM, .none, .x0F, 0xAE, ext: 3, l: .l0)

        case .vpaddd: avxInt(.vexRVM, .x0F, 0xFE)
        case .vpaddq: avxInt(.vexRVM, .x0F, 0xD4)
        case .vpsubd: avxInt(.vexRVM, .x0F, 0xFA)
        case .vpsubq: avxInt(.vexRVM, .x0F, 0xFB)
        case .vpmulld: avxInt(.vexRVM, .x0F38, 0x40)
        case .vpmuludq: avxInt(.vexRVM, .x0F, 0xF4)
        case .vpmuldq: avxInt(.vexRVM, .x0F38, 0x28)
        case .vpand: avxInt(.vexRVM, .x0F, 0xDB)
        case .vpandn: avxInt(.vexRVM, .x0F, 0xDF)
        case .vpor: avxInt(.vexRVM, .x0F, 0xEB)
        case .vpxor: avxInt(.vexRVM, .x0F, 0xEF)
        case .vpcmpeqd: avxInt(.vexRVM, .x0F, 0x76)
        case .vpcmpeqq: avxInt(.vexRVM, .x0F38, 0x29)
        case .vpcmpgtd: avxInt(.vexRVM, .x0F, 0x66)
        case .vpcmpgtq: avxInt(.vexRVM, .x0F38, 0x37)
        case .vpabsd: avxInt(.vexRM, .x0F38, 0x1E)
        case .vpmovsxdq: avxInt(.vexRM, .x0F38, 0x25)
        case .vpmovzxbd: avxInt(.vexRM, .x0F38, 0x31)
        case .vpmovzxbq: avxInt(.vexRM, .x0F38, 0x32)
        case .vpminsd: avxInt(.vexRVM, .x0F38, 0x39)
        case .vpmaxsd: avxInt(.vexRVM, .x0F38, 0x3D)
        case .vpminud: avxInt(.vexRVM, .x0F38, 0x3B)
        case .vpmaxud: avxInt(.vexRVM, .x0F38, 0x3F)
        case .vpslld: avxInt(.vexShift, .x0F, 0xF2, 0x72, ext: 6)
        case .vpsrld: avxInt(.vexShift, .x0F, 0xD2, 0x72, ext: 2)
        case .vpsrad: avxInt(.vexShift, .x0F, 0xE2, 0x72, ext: 4)
        case .vpsllq: avxInt(.vexShift, .x0F, 0xF3, 0x73, ext: 6)
        case .vpsrlq: avxInt(.vexShift, .x0F, 0xD3, 0x73, ext: 2)
        case .vpshufd: avxInt(.vexRMI, .x0F, 0x70)
        case .vpshufb: avxInt(.vexRVM, .x0F38, 0x00)
        case .vpblendvb: avxInt(.vexRVMR, .x0F3A, 0x4C, w: .w0)
        case .vpmovmskb: avx(.vexRM, .p66, .x0F, 0xD7, flags: [.ymmNeedsAVX2, .dwordDestination])

        case .vpsllvd: avx2(.vexRVM, .x0F38, 0x47)
        case .vpsllvq: avx2(.vexRVM, .x0F38, 0x47, w: .w1)
        case .vpsrlvd: avx2(.vexRVM, .x0F38, 0x45)
        case .vpsrlvq: avx2(.vexRVM, .x0F38, 0x45, w: .w1)
        case .vpsravd: avx2(.vexRVM, .x0F38, 0x46)
        case .vpblendd: avx2(.vexRVMI, .x0F3A, 0x02)
        case .vpermd: avx2(.vexRVM, .x0F38, 0x36, l: .l1)
        case .vpermps: avx2(.vexRVM, .x0F38, 0x16, l: .l1)
        case .vpermq: avx2(.vexRMI, .x0F3A, 0x00, w: .w1, l: .l1)
        case .vpermpd: avx2(.vexRMI, .x0F3A, 0x01, w: .w1, l: .l1)
        case .vperm2i128: avx2(.vexRVMI, .x0F3A, 0x46, l: .l1)
        case .vinserti128: avx2(.vexRVMI, .x0F3A, 0x38, l: .l1)
        case .vextracti128: avx2(.vexMRI, .x0F3A, 0x39, l: .l1)
        case .vpmaskmovd: avx2(.vexMaskMov, .x0F38, 0x8C, 0x8E)
        case .vpmaskmovq: avx2(.vexMaskMov, .x0F38, 0x8C, 0x8E, w: .w1)

        // FMA opcode = order base (132: 98, 213: A8, 231: B8) + kind (fmadd 0, fmsub 2, fnmadd 4, fnmsub 6)
        // + 1 for scalar.
        case .vfmadd132ps: fma(0x98, double: false, scalar: false)
        case .vfmadd132pd: fma(0x98, double: true, scalar: false)
        case .vfmadd132ss: fma(0x99, double: false, scalar: true)
        case .vfmadd132sd: fma(0x99, double: true, scalar: true)
        case .vfmadd213ps: fma(0xA8, double: false, scalar: false)
        case .vfmadd213pd: fma(0xA8, double: true, scalar: false)
        case .vfmadd213ss: fma(0xA9, double: false, scalar: true)
        case .vfmadd213sd: fma(0xA9, double: true, scalar: true)
        case .vfmadd231ps: fma(0xB8, double: false, scalar: false)
        case .vfmadd231pd: fma(0xB8, double: true, scalar: false)
        case .vfmadd231ss: fma(0xB9, double: false, scalar: true)
        case .vfmadd231sd: fma(0xB9, double: true, scalar: true)
        case .vfmsub132ps: fma(0x9A, double: false, scalar: false)
        case .vfmsub132pd: fma(0x9A, double: true, scalar: false)
        case .vfmsub132ss: fma(0x9B, double: false, scalar: true)
        case .vfmsub132sd: fma(0x9B, double: true, scalar: true)
        case .vfmsub213ps: fma(0xAA, double: false, scalar: false)
        case .vfmsub213pd: fma(0xAA, double: true, scalar: false)
        case .vfmsub213ss: fma(0xAB, double: false, scalar: true)
        case .vfmsub213sd: fma(0xAB, double: true, scalar: true)
        case .vfmsub231ps: fma(0xBA, double: false, scalar: false)
        case .vfmsub231pd: fma(0xBA, double: true, scalar: false)
        case .vfmsub231ss: fma(0xBB, double: false, scalar: true)
        case .vfmsub231sd: fma(0xBB, double: true, scalar: true)
        case .vfnmadd132ps: fma(0x9C, double: false, scalar: false)
        case .vfnmadd132pd: fma(0x9C, double: true, scalar: false)
        case .vfnmadd132ss: fma(0x9D, double: false, scalar: true)
        case .vfnmadd132sd: fma(0x9D, double: true, scalar: true)
        case .vfnmadd213ps: fma(0xAC, double: false, scalar: false)
        case .vfnmadd213pd: fma(0xAC, double: true, scalar: false)
        case .vfnmadd213ss: fma(0xAD, double: false, scalar: true)
        case .vfnmadd213sd: fma(0xAD, double: true, scalar: true)
        case .vfnmadd231ps: fma(0xBC, double: false, scalar: false)
        case .vfnmadd231pd: fma(0xBC, double: true, scalar: false)
        case .vfnmadd231ss: fma(0xBD, double: false, scalar: true)
        case .vfnmadd231sd: fma(0xBD, double: true, scalar: true)
        case .vfnmsub132ps: fma(0x9E, double: false, scalar: false)
        case .vfnmsub132pd: fma(0x9E, double: true, scalar: false)
        case .vfnmsub132ss: fma(0x9F, double: false, scalar: true)
        case .vfnmsub132sd: fma(0x9F, double: true, scalar: true)
        case .vfnmsub213ps: fma(0xAE, double: false, scalar: false)
        case .vfnmsub213pd: fma(0xAE, double: true, scalar: false)
        case .vfnmsub213ss: fma(0xAF, double: false, scalar: true)
        case .vfnmsub213sd: fma(0xAF, double: true, scalar: true)
        case .vfnmsub231ps: fma(0xBE, double: false, scalar: false)
        case .vfnmsub231pd: fma(0xBE, double: true, scalar: false)
        case .vfnmsub231ss: fma(0xBF, double: false, scalar: true)
        case .vfnmsub231sd: fma(0xBF, double: true, scalar: true)
        }
    }
}
