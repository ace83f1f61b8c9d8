// X86Assembler+AVX.swift — typed methods for the VEX-encoded AVX, AVX2 and FMA instructions. Packed
// instructions are generic over `V: X86.VectorRegister` (XMM or YMM), so operands of one instruction must agree in
// length at compile time; scalar ones take XMM. Each method only forwards to `emit`; the table in X86Encoding.swift
// holds the encodings. Intel operand order: destination first (`vfmadd231ps(d, a, b)` is d += a*b).

extension X86Assembler {
    // MARK: Moves

    mutating func vmovups<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vmovups, d.operand, s.operand) }
    mutating func vmovups<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vmovups, d.operand, .mem(s)) }
    mutating func vmovups<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovups, .mem(d), s.operand) }
    mutating func vmovupd<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vmovupd, d.operand, s.operand) }
    mutating func vmovupd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vmovupd, d.operand, .mem(s)) }
    mutating func vmovupd<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovupd, .mem(d), s.operand) }
    mutating func vmovaps<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vmovaps, d.operand, s.operand) }
    mutating func vmovaps<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vmovaps, d.operand, .mem(s)) }
    mutating func vmovaps<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovaps, .mem(d), s.operand) }
    mutating func vmovapd<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vmovapd, d.operand, s.operand) }
    mutating func vmovapd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vmovapd, d.operand, .mem(s)) }
    mutating func vmovapd<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovapd, .mem(d), s.operand) }
    mutating func vmovdqu<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vmovdqu, d.operand, s.operand) }
    mutating func vmovdqu<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vmovdqu, d.operand, .mem(s)) }
    mutating func vmovdqu<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovdqu, .mem(d), s.operand) }
    mutating func vmovdqa<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vmovdqa, d.operand, s.operand) }
    mutating func vmovdqa<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vmovdqa, d.operand, .mem(s)) }
    mutating func vmovdqa<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovdqa, .mem(d), s.operand) }
    /// Non-temporal stores: bypass the caches (follow a run of them with `sfence`).
    mutating func vmovntps<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovntps, .mem(d), s.operand) }
    mutating func vmovntpd<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovntpd, .mem(d), s.operand) }
    mutating func vmovntdq<V: X86.VectorRegister>(_ d: X86.Mem, _ s: V) { emit(.vmovntdq, .mem(d), s.operand) }
    mutating func vmovntdqa<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vmovntdqa, d.operand, .mem(s)) }
    /// Scalar loads zero the upper lanes; the three-register form merges `b`'s low lane into `a`.
    mutating func vmovss(_ d: X86.XMM, _ s: X86.Mem) { emit(.vmovss, d.operand, .mem(s)) }
    mutating func vmovss(_ d: X86.Mem, _ s: X86.XMM) { emit(.vmovss, .mem(d), s.operand) }
    mutating func vmovss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vmovss, d.operand, a.operand, b.operand) }
    mutating func vmovsd(_ d: X86.XMM, _ s: X86.Mem) { emit(.vmovsd, d.operand, .mem(s)) }
    mutating func vmovsd(_ d: X86.Mem, _ s: X86.XMM) { emit(.vmovsd, .mem(d), s.operand) }
    mutating func vmovsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vmovsd, d.operand, a.operand, b.operand) }
    /// 32 bits between a GPR (32-bit) or memory and the low lane of an XMM register.
    mutating func vmovd(_ d: X86.XMM, _ s: X86.GPR) { emit(.vmovd, d.operand, .gpr(s)) }
    mutating func vmovd(_ d: X86.GPR, _ s: X86.XMM) { emit(.vmovd, .gpr(d), s.operand) }
    mutating func vmovd(_ d: X86.XMM, _ s: X86.Mem) { emit(.vmovd, d.operand, .mem(s)) }
    mutating func vmovd(_ d: X86.Mem, _ s: X86.XMM) { emit(.vmovd, .mem(d), s.operand) }
    /// 64 bits between a GPR (64-bit), memory or XMM register and the low lane of an XMM register.
    mutating func vmovq(_ d: X86.XMM, _ s: X86.GPR) { emit(.vmovq, d.operand, .gpr(s)) }
    mutating func vmovq(_ d: X86.GPR, _ s: X86.XMM) { emit(.vmovq, .gpr(d), s.operand) }
    mutating func vmovq(_ d: X86.XMM, _ s: X86.XMM) { emit(.vmovq, d.operand, s.operand) }
    mutating func vmovq(_ d: X86.XMM, _ s: X86.Mem) { emit(.vmovq, d.operand, .mem(s)) }
    mutating func vmovq(_ d: X86.Mem, _ s: X86.XMM) { emit(.vmovq, .mem(d), s.operand) }

    // MARK: Broadcasts (memory source: AVX; register source: AVX2)

    mutating func vbroadcastss<V: X86.VectorRegister>(_ d: V, _ s: X86.XMM) {
        emit(.vbroadcastss, d.operand, s.operand)
    }
    mutating func vbroadcastss<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vbroadcastss, d.operand, .mem(s)) }
    mutating func vpbroadcastd<V: X86.VectorRegister>(_ d: V, _ s: X86.XMM) {
        emit(.vpbroadcastd, d.operand, s.operand)
    }
    mutating func vpbroadcastd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vpbroadcastd, d.operand, .mem(s)) }
    mutating func vpbroadcastq<V: X86.VectorRegister>(_ d: V, _ s: X86.XMM) {
        emit(.vpbroadcastq, d.operand, s.operand)
    }
    mutating func vpbroadcastq<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vpbroadcastq, d.operand, .mem(s)) }
    mutating func vbroadcastsd(_ d: X86.YMM, _ s: X86.XMM) { emit(.vbroadcastsd, d.operand, s.operand) }
    mutating func vbroadcastsd(_ d: X86.YMM, _ s: X86.Mem) { emit(.vbroadcastsd, d.operand, .mem(s)) }
    mutating func vbroadcastf128(_ d: X86.YMM, _ s: X86.Mem) { emit(.vbroadcastf128, d.operand, .mem(s)) }

    // MARK: Packed floating-point arithmetic

    mutating func vaddps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vaddps, d.operand, a.operand, b.operand)
    }
    mutating func vaddps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vaddps, d.operand, a.operand, .mem(b))
    }
    mutating func vaddpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vaddpd, d.operand, a.operand, b.operand)
    }
    mutating func vaddpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vaddpd, d.operand, a.operand, .mem(b))
    }
    mutating func vsubps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vsubps, d.operand, a.operand, b.operand)
    }
    mutating func vsubps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vsubps, d.operand, a.operand, .mem(b))
    }
    mutating func vsubpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vsubpd, d.operand, a.operand, b.operand)
    }
    mutating func vsubpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vsubpd, d.operand, a.operand, .mem(b))
    }
    mutating func vmulps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vmulps, d.operand, a.operand, b.operand)
    }
    mutating func vmulps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vmulps, d.operand, a.operand, .mem(b))
    }
    mutating func vmulpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vmulpd, d.operand, a.operand, b.operand)
    }
    mutating func vmulpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vmulpd, d.operand, a.operand, .mem(b))
    }
    mutating func vdivps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vdivps, d.operand, a.operand, b.operand)
    }
    mutating func vdivps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vdivps, d.operand, a.operand, .mem(b))
    }
    mutating func vdivpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vdivpd, d.operand, a.operand, b.operand)
    }
    mutating func vdivpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vdivpd, d.operand, a.operand, .mem(b))
    }
    mutating func vminps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vminps, d.operand, a.operand, b.operand)
    }
    mutating func vminps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vminps, d.operand, a.operand, .mem(b))
    }
    mutating func vminpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vminpd, d.operand, a.operand, b.operand)
    }
    mutating func vminpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vminpd, d.operand, a.operand, .mem(b))
    }
    mutating func vmaxps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vmaxps, d.operand, a.operand, b.operand)
    }
    mutating func vmaxps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vmaxps, d.operand, a.operand, .mem(b))
    }
    mutating func vmaxpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vmaxpd, d.operand, a.operand, b.operand)
    }
    mutating func vmaxpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vmaxpd, d.operand, a.operand, .mem(b))
    }
    mutating func vhaddps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vhaddps, d.operand, a.operand, b.operand)
    }
    mutating func vhaddps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vhaddps, d.operand, a.operand, .mem(b))
    }
    mutating func vhaddpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vhaddpd, d.operand, a.operand, b.operand)
    }
    mutating func vhaddpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vhaddpd, d.operand, a.operand, .mem(b))
    }
    mutating func vhsubps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vhsubps, d.operand, a.operand, b.operand)
    }
    mutating func vhsubps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vhsubps, d.operand, a.operand, .mem(b))
    }
    mutating func vhsubpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vhsubpd, d.operand, a.operand, b.operand)
    }
    mutating func vhsubpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vhsubpd, d.operand, a.operand, .mem(b))
    }

    mutating func vsqrtps<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vsqrtps, d.operand, s.operand) }
    mutating func vsqrtps<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vsqrtps, d.operand, .mem(s)) }
    mutating func vsqrtpd<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vsqrtpd, d.operand, s.operand) }
    mutating func vsqrtpd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vsqrtpd, d.operand, .mem(s)) }
    mutating func vrcpps<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vrcpps, d.operand, s.operand) }
    mutating func vrcpps<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vrcpps, d.operand, .mem(s)) }
    mutating func vrsqrtps<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vrsqrtps, d.operand, s.operand) }
    mutating func vrsqrtps<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vrsqrtps, d.operand, .mem(s)) }

    /// `mode`: an `X86.Rounding` constant.
    mutating func vroundps<V: X86.VectorRegister>(_ d: V, _ s: V, _ mode: UInt8) {
        emit(.vroundps, d.operand, s.operand, .imm(Int64(mode)))
    }
    mutating func vroundps<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem, _ mode: UInt8) {
        emit(.vroundps, d.operand, .mem(s), .imm(Int64(mode)))
    }
    mutating func vroundpd<V: X86.VectorRegister>(_ d: V, _ s: V, _ mode: UInt8) {
        emit(.vroundpd, d.operand, s.operand, .imm(Int64(mode)))
    }
    mutating func vroundpd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem, _ mode: UInt8) {
        emit(.vroundpd, d.operand, .mem(s), .imm(Int64(mode)))
    }

    // MARK: Scalar floating-point arithmetic (upper lanes of d come from a)

    mutating func vaddss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vaddss, d.operand, a.operand, b.operand) }
    mutating func vaddss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vaddss, d.operand, a.operand, .mem(b)) }
    mutating func vaddsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vaddsd, d.operand, a.operand, b.operand) }
    mutating func vaddsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vaddsd, d.operand, a.operand, .mem(b)) }
    mutating func vsubss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vsubss, d.operand, a.operand, b.operand) }
    mutating func vsubss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vsubss, d.operand, a.operand, .mem(b)) }
    mutating func vsubsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vsubsd, d.operand, a.operand, b.operand) }
    mutating func vsubsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vsubsd, d.operand, a.operand, .mem(b)) }
    mutating func vmulss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vmulss, d.operand, a.operand, b.operand) }
    mutating func vmulss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vmulss, d.operand, a.operand, .mem(b)) }
    mutating func vmulsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vmulsd, d.operand, a.operand, b.operand) }
    mutating func vmulsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vmulsd, d.operand, a.operand, .mem(b)) }
    mutating func vdivss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vdivss, d.operand, a.operand, b.operand) }
    mutating func vdivss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vdivss, d.operand, a.operand, .mem(b)) }
    mutating func vdivsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vdivsd, d.operand, a.operand, b.operand) }
    mutating func vdivsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vdivsd, d.operand, a.operand, .mem(b)) }
    mutating func vminss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vminss, d.operand, a.operand, b.operand) }
    mutating func vminss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vminss, d.operand, a.operand, .mem(b)) }
    mutating func vminsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vminsd, d.operand, a.operand, b.operand) }
    mutating func vminsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vminsd, d.operand, a.operand, .mem(b)) }
    mutating func vmaxss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vmaxss, d.operand, a.operand, b.operand) }
    mutating func vmaxss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vmaxss, d.operand, a.operand, .mem(b)) }
    mutating func vmaxsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vmaxsd, d.operand, a.operand, b.operand) }
    mutating func vmaxsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vmaxsd, d.operand, a.operand, .mem(b)) }
    mutating func vsqrtss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vsqrtss, d.operand, a.operand, b.operand) }
    mutating func vsqrtss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vsqrtss, d.operand, a.operand, .mem(b)) }
    mutating func vsqrtsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vsqrtsd, d.operand, a.operand, b.operand) }
    mutating func vsqrtsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vsqrtsd, d.operand, a.operand, .mem(b)) }
    mutating func vrcpss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) { emit(.vrcpss, d.operand, a.operand, b.operand) }
    mutating func vrcpss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vrcpss, d.operand, a.operand, .mem(b)) }
    mutating func vrsqrtss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vrsqrtss, d.operand, a.operand, b.operand)
    }
    mutating func vrsqrtss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) { emit(.vrsqrtss, d.operand, a.operand, .mem(b)) }

    mutating func vroundss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM, _ mode: UInt8) {
        emit(.vroundss, d.operand, a.operand, b.operand, .imm(Int64(mode)))
    }
    mutating func vroundss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem, _ mode: UInt8) {
        emit(.vroundss, d.operand, a.operand, .mem(b), .imm(Int64(mode)))
    }
    mutating func vroundsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM, _ mode: UInt8) {
        emit(.vroundsd, d.operand, a.operand, b.operand, .imm(Int64(mode)))
    }
    mutating func vroundsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem, _ mode: UInt8) {
        emit(.vroundsd, d.operand, a.operand, .mem(b), .imm(Int64(mode)))
    }

    // MARK: Logic, compare, blend, test

    mutating func vandps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vandps, d.operand, a.operand, b.operand)
    }
    mutating func vandps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vandps, d.operand, a.operand, .mem(b))
    }
    mutating func vandpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vandpd, d.operand, a.operand, b.operand)
    }
    mutating func vandpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vandpd, d.operand, a.operand, .mem(b))
    }
    mutating func vandnps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vandnps, d.operand, a.operand, b.operand)
    }
    mutating func vandnps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vandnps, d.operand, a.operand, .mem(b))
    }
    mutating func vandnpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vandnpd, d.operand, a.operand, b.operand)
    }
    mutating func vandnpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vandnpd, d.operand, a.operand, .mem(b))
    }
    mutating func vorps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) { emit(.vorps, d.operand, a.operand, b.operand) }
    mutating func vorps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vorps, d.operand, a.operand, .mem(b))
    }
    mutating func vorpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) { emit(.vorpd, d.operand, a.operand, b.operand) }
    mutating func vorpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vorpd, d.operand, a.operand, .mem(b))
    }
    mutating func vxorps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vxorps, d.operand, a.operand, b.operand)
    }
    mutating func vxorps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vxorps, d.operand, a.operand, .mem(b))
    }
    mutating func vxorpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vxorpd, d.operand, a.operand, b.operand)
    }
    mutating func vxorpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vxorpd, d.operand, a.operand, .mem(b))
    }

    /// Lanes become all-ones where `a predicate b` holds, else zero.
    mutating func vcmpps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ predicate: X86.ComparePredicate) {
        emit(.vcmpps, d.operand, a.operand, b.operand, .imm(Int64(predicate.rawValue)))
    }
    mutating func vcmpps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ predicate: X86.ComparePredicate) {
        emit(.vcmpps, d.operand, a.operand, .mem(b), .imm(Int64(predicate.rawValue)))
    }
    mutating func vcmppd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ predicate: X86.ComparePredicate) {
        emit(.vcmppd, d.operand, a.operand, b.operand, .imm(Int64(predicate.rawValue)))
    }
    mutating func vcmppd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ predicate: X86.ComparePredicate) {
        emit(.vcmppd, d.operand, a.operand, .mem(b), .imm(Int64(predicate.rawValue)))
    }
    mutating func vcmpss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM, _ predicate: X86.ComparePredicate) {
        emit(.vcmpss, d.operand, a.operand, b.operand, .imm(Int64(predicate.rawValue)))
    }
    mutating func vcmpss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem, _ predicate: X86.ComparePredicate) {
        emit(.vcmpss, d.operand, a.operand, .mem(b), .imm(Int64(predicate.rawValue)))
    }
    mutating func vcmpsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM, _ predicate: X86.ComparePredicate) {
        emit(.vcmpsd, d.operand, a.operand, b.operand, .imm(Int64(predicate.rawValue)))
    }
    mutating func vcmpsd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem, _ predicate: X86.ComparePredicate) {
        emit(.vcmpsd, d.operand, a.operand, .mem(b), .imm(Int64(predicate.rawValue)))
    }
    /// Lane i of d is b's where bit i of `imm` is set, else a's.
    mutating func vblendps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ imm: UInt8) {
        emit(.vblendps, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vblendps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vblendps, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    mutating func vblendpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ imm: UInt8) {
        emit(.vblendpd, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vblendpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vblendpd, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    mutating func vpblendd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ imm: UInt8) {
        emit(.vpblendd, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vpblendd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vpblendd, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    /// Lane i of d is b's where the sign bit of lane i of `mask` is set, else a's (vpblendvb: per byte).
    mutating func vblendvps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ mask: V) {
        emit(.vblendvps, d.operand, a.operand, b.operand, mask.operand)
    }
    mutating func vblendvps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ mask: V) {
        emit(.vblendvps, d.operand, a.operand, .mem(b), mask.operand)
    }
    mutating func vblendvpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ mask: V) {
        emit(.vblendvpd, d.operand, a.operand, b.operand, mask.operand)
    }
    mutating func vblendvpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ mask: V) {
        emit(.vblendvpd, d.operand, a.operand, .mem(b), mask.operand)
    }
    mutating func vpblendvb<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ mask: V) {
        emit(.vpblendvb, d.operand, a.operand, b.operand, mask.operand)
    }
    mutating func vpblendvb<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ mask: V) {
        emit(.vpblendvb, d.operand, a.operand, .mem(b), mask.operand)
    }
    /// ZF ← (a AND b) == 0, CF ← (NOT a AND b) == 0.
    mutating func vptest<V: X86.VectorRegister>(_ a: V, _ b: V) { emit(.vptest, a.operand, b.operand) }
    mutating func vptest<V: X86.VectorRegister>(_ a: V, _ b: X86.Mem) { emit(.vptest, a.operand, .mem(b)) }
    /// Sign bits of the lanes (bytes for vpmovmskb) into the low bits of a 32-bit GPR (a 64-bit one is
    /// accepted and written as its 32-bit half, which zero-extends).
    mutating func vmovmskps<V: X86.VectorRegister>(_ d: X86.GPR, _ s: V) { emit(.vmovmskps, .gpr(d), s.operand) }
    mutating func vmovmskpd<V: X86.VectorRegister>(_ d: X86.GPR, _ s: V) { emit(.vmovmskpd, .gpr(d), s.operand) }
    mutating func vpmovmskb<V: X86.VectorRegister>(_ d: X86.GPR, _ s: V) { emit(.vpmovmskb, .gpr(d), s.operand) }

    // MARK: Shuffles, permutes, lane moves

    /// Low two lanes (of each 128-bit half) of d from a, high two from b, each chosen by 2 bits of `imm`.
    mutating func vshufps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ imm: UInt8) {
        emit(.vshufps, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vshufps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vshufps, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    mutating func vshufpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V, _ imm: UInt8) {
        emit(.vshufpd, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vshufpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vshufpd, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    mutating func vunpcklps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vunpcklps, d.operand, a.operand, b.operand)
    }
    mutating func vunpcklps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vunpcklps, d.operand, a.operand, .mem(b))
    }
    mutating func vunpcklpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vunpcklpd, d.operand, a.operand, b.operand)
    }
    mutating func vunpcklpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vunpcklpd, d.operand, a.operand, .mem(b))
    }
    mutating func vunpckhps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vunpckhps, d.operand, a.operand, b.operand)
    }
    mutating func vunpckhps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vunpckhps, d.operand, a.operand, .mem(b))
    }
    mutating func vunpckhpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vunpckhpd, d.operand, a.operand, b.operand)
    }
    mutating func vunpckhpd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vunpckhpd, d.operand, a.operand, .mem(b))
    }
    mutating func vpshufb<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpshufb, d.operand, a.operand, b.operand)
    }
    mutating func vpshufb<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpshufb, d.operand, a.operand, .mem(b))
    }

    /// d = (b's high 64 bits, a's high 64 bits) / (a's low 64 bits, b's low 64 bits).
    mutating func vmovhlps(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vmovhlps, d.operand, a.operand, b.operand)
    }
    mutating func vmovlhps(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vmovlhps, d.operand, a.operand, b.operand)
    }
    /// In-lane permutes by immediate.
    mutating func vpermilps<V: X86.VectorRegister>(_ d: V, _ s: V, _ imm: UInt8) {
        emit(.vpermilps, d.operand, s.operand, .imm(Int64(imm)))
    }
    mutating func vpermilps<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem, _ imm: UInt8) {
        emit(.vpermilps, d.operand, .mem(s), .imm(Int64(imm)))
    }
    mutating func vpermilpd<V: X86.VectorRegister>(_ d: V, _ s: V, _ imm: UInt8) {
        emit(.vpermilpd, d.operand, s.operand, .imm(Int64(imm)))
    }
    mutating func vpermilpd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem, _ imm: UInt8) {
        emit(.vpermilpd, d.operand, .mem(s), .imm(Int64(imm)))
    }
    mutating func vpshufd<V: X86.VectorRegister>(_ d: V, _ s: V, _ imm: UInt8) {
        emit(.vpshufd, d.operand, s.operand, .imm(Int64(imm)))
    }
    mutating func vpshufd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem, _ imm: UInt8) {
        emit(.vpshufd, d.operand, .mem(s), .imm(Int64(imm)))
    }
    /// Cross-lane permutes of 64-bit elements by immediate (AVX2).
    mutating func vpermq(_ d: X86.YMM, _ s: X86.YMM, _ imm: UInt8) {
        emit(.vpermq, d.operand, s.operand, .imm(Int64(imm)))
    }
    mutating func vpermq(_ d: X86.YMM, _ s: X86.Mem, _ imm: UInt8) {
        emit(.vpermq, d.operand, .mem(s), .imm(Int64(imm)))
    }
    mutating func vpermpd(_ d: X86.YMM, _ s: X86.YMM, _ imm: UInt8) {
        emit(.vpermpd, d.operand, s.operand, .imm(Int64(imm)))
    }
    mutating func vpermpd(_ d: X86.YMM, _ s: X86.Mem, _ imm: UInt8) {
        emit(.vpermpd, d.operand, .mem(s), .imm(Int64(imm)))
    }
    /// Cross-lane permutes of 32-bit elements: d[i] = b[indices[i]] (AVX2).
    mutating func vpermd(_ d: X86.YMM, _ indices: X86.YMM, _ b: X86.YMM) {
        emit(.vpermd, d.operand, indices.operand, b.operand)
    }
    mutating func vpermd(_ d: X86.YMM, _ indices: X86.YMM, _ b: X86.Mem) {
        emit(.vpermd, d.operand, indices.operand, .mem(b))
    }
    mutating func vpermps(_ d: X86.YMM, _ indices: X86.YMM, _ b: X86.YMM) {
        emit(.vpermps, d.operand, indices.operand, b.operand)
    }
    mutating func vpermps(_ d: X86.YMM, _ indices: X86.YMM, _ b: X86.Mem) {
        emit(.vpermps, d.operand, indices.operand, .mem(b))
    }
    /// 128-bit halves: insert into / extract from half `imm & 1`; vperm2f128 picks each half of d by a nibble.
    mutating func vinsertf128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.XMM, _ imm: UInt8) {
        emit(.vinsertf128, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vinsertf128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vinsertf128, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    mutating func vinserti128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.XMM, _ imm: UInt8) {
        emit(.vinserti128, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vinserti128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vinserti128, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    mutating func vextractf128(_ d: X86.XMM, _ s: X86.YMM, _ imm: UInt8) {
        emit(.vextractf128, d.operand, s.operand, .imm(Int64(imm)))
    }
    mutating func vextractf128(_ d: X86.Mem, _ s: X86.YMM, _ imm: UInt8) {
        emit(.vextractf128, .mem(d), s.operand, .imm(Int64(imm)))
    }
    mutating func vextracti128(_ d: X86.XMM, _ s: X86.YMM, _ imm: UInt8) {
        emit(.vextracti128, d.operand, s.operand, .imm(Int64(imm)))
    }
    mutating func vextracti128(_ d: X86.Mem, _ s: X86.YMM, _ imm: UInt8) {
        emit(.vextracti128, .mem(d), s.operand, .imm(Int64(imm)))
    }
    mutating func vperm2f128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.YMM, _ imm: UInt8) {
        emit(.vperm2f128, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vperm2f128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vperm2f128, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }
    mutating func vperm2i128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.YMM, _ imm: UInt8) {
        emit(.vperm2i128, d.operand, a.operand, b.operand, .imm(Int64(imm)))
    }
    mutating func vperm2i128(_ d: X86.YMM, _ a: X86.YMM, _ b: X86.Mem, _ imm: UInt8) {
        emit(.vperm2i128, d.operand, a.operand, .mem(b), .imm(Int64(imm)))
    }

    // MARK: Conversions

    mutating func vcvtdq2ps<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vcvtdq2ps, d.operand, s.operand) }
    mutating func vcvtdq2ps<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vcvtdq2ps, d.operand, .mem(s)) }
    mutating func vcvtps2dq<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vcvtps2dq, d.operand, s.operand) }
    mutating func vcvtps2dq<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vcvtps2dq, d.operand, .mem(s)) }
    mutating func vcvttps2dq<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vcvttps2dq, d.operand, s.operand) }
    mutating func vcvttps2dq<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vcvttps2dq, d.operand, .mem(s)) }

    /// Widening: 4 (YMM destination) or 2 (XMM) lanes from an XMM register or memory.
    mutating func vcvtps2pd<V: X86.VectorRegister>(_ d: V, _ s: X86.XMM) { emit(.vcvtps2pd, d.operand, s.operand) }
    mutating func vcvtps2pd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vcvtps2pd, d.operand, .mem(s)) }
    mutating func vcvtdq2pd<V: X86.VectorRegister>(_ d: V, _ s: X86.XMM) { emit(.vcvtdq2pd, d.operand, s.operand) }
    mutating func vcvtdq2pd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vcvtdq2pd, d.operand, .mem(s)) }
    /// Narrowing into an XMM register; the memory forms name the source size as AT&T does (x: 16 bytes,
    /// y: 32 bytes).
    mutating func vcvtpd2ps<V: X86.VectorRegister>(_ d: X86.XMM, _ s: V) { emit(.vcvtpd2ps, d.operand, s.operand) }
    mutating func vcvtpd2psx(_ d: X86.XMM, _ s: X86.Mem) { emit(.vcvtpd2ps, d.operand, .mem(s.sized(.xmmword))) }
    mutating func vcvtpd2psy(_ d: X86.XMM, _ s: X86.Mem) { emit(.vcvtpd2ps, d.operand, .mem(s.sized(.ymmword))) }
    mutating func vcvtpd2dq<V: X86.VectorRegister>(_ d: X86.XMM, _ s: V) { emit(.vcvtpd2dq, d.operand, s.operand) }
    mutating func vcvtpd2dqx(_ d: X86.XMM, _ s: X86.Mem) { emit(.vcvtpd2dq, d.operand, .mem(s.sized(.xmmword))) }
    mutating func vcvtpd2dqy(_ d: X86.XMM, _ s: X86.Mem) { emit(.vcvtpd2dq, d.operand, .mem(s.sized(.ymmword))) }
    mutating func vcvttpd2dq<V: X86.VectorRegister>(_ d: X86.XMM, _ s: V) { emit(.vcvttpd2dq, d.operand, s.operand) }
    mutating func vcvttpd2dqx(_ d: X86.XMM, _ s: X86.Mem) { emit(.vcvttpd2dq, d.operand, .mem(s.sized(.xmmword))) }
    mutating func vcvttpd2dqy(_ d: X86.XMM, _ s: X86.Mem) { emit(.vcvttpd2dq, d.operand, .mem(s.sized(.ymmword))) }
    mutating func vcvtss2sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vcvtss2sd, d.operand, a.operand, b.operand)
    }
    mutating func vcvtss2sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vcvtss2sd, d.operand, a.operand, .mem(b))
    }
    mutating func vcvtsd2ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vcvtsd2ss, d.operand, a.operand, b.operand)
    }
    mutating func vcvtsd2ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vcvtsd2ss, d.operand, a.operand, .mem(b))
    }

    /// Integer (32- or 64-bit GPR, or memory with `.dword`/`.qword` width) to float in the low lane.
    mutating func vcvtsi2ss(_ d: X86.XMM, _ a: X86.XMM, _ s: X86.GPR) {
        emit(.vcvtsi2ss, d.operand, a.operand, .gpr(s))
    }
    mutating func vcvtsi2ss(_ d: X86.XMM, _ a: X86.XMM, _ s: X86.Mem) {
        emit(.vcvtsi2ss, d.operand, a.operand, .mem(s))
    }
    mutating func vcvtsi2sd(_ d: X86.XMM, _ a: X86.XMM, _ s: X86.GPR) {
        emit(.vcvtsi2sd, d.operand, a.operand, .gpr(s))
    }
    mutating func vcvtsi2sd(_ d: X86.XMM, _ a: X86.XMM, _ s: X86.Mem) {
        emit(.vcvtsi2sd, d.operand, a.operand, .mem(s))
    }
    /// Float in the low lane to a 32- or 64-bit integer (tt: truncating; else MXCSR rounding).
    mutating func vcvttss2si(_ d: X86.GPR, _ s: X86.XMM) { emit(.vcvttss2si, .gpr(d), s.operand) }
    mutating func vcvttss2si(_ d: X86.GPR, _ s: X86.Mem) { emit(.vcvttss2si, .gpr(d), .mem(s)) }
    mutating func vcvttsd2si(_ d: X86.GPR, _ s: X86.XMM) { emit(.vcvttsd2si, .gpr(d), s.operand) }
    mutating func vcvttsd2si(_ d: X86.GPR, _ s: X86.Mem) { emit(.vcvttsd2si, .gpr(d), .mem(s)) }
    mutating func vcvtss2si(_ d: X86.GPR, _ s: X86.XMM) { emit(.vcvtss2si, .gpr(d), s.operand) }
    mutating func vcvtss2si(_ d: X86.GPR, _ s: X86.Mem) { emit(.vcvtss2si, .gpr(d), .mem(s)) }
    mutating func vcvtsd2si(_ d: X86.GPR, _ s: X86.XMM) { emit(.vcvtsd2si, .gpr(d), s.operand) }
    mutating func vcvtsd2si(_ d: X86.GPR, _ s: X86.Mem) { emit(.vcvtsd2si, .gpr(d), .mem(s)) }

    // MARK: Masked loads and stores (lanes whose mask sign bit is clear read as zero / are not written, and
    // do not fault)

    mutating func vmaskmovps<V: X86.VectorRegister>(_ d: V, _ mask: V, _ s: X86.Mem) {
        emit(.vmaskmovps, d.operand, mask.operand, .mem(s))
    }
    mutating func vmaskmovps<V: X86.VectorRegister>(_ d: X86.Mem, _ mask: V, _ s: V) {
        emit(.vmaskmovps, .mem(d), mask.operand, s.operand)
    }
    mutating func vmaskmovpd<V: X86.VectorRegister>(_ d: V, _ mask: V, _ s: X86.Mem) {
        emit(.vmaskmovpd, d.operand, mask.operand, .mem(s))
    }
    mutating func vmaskmovpd<V: X86.VectorRegister>(_ d: X86.Mem, _ mask: V, _ s: V) {
        emit(.vmaskmovpd, .mem(d), mask.operand, s.operand)
    }
    mutating func vpmaskmovd<V: X86.VectorRegister>(_ d: V, _ mask: V, _ s: X86.Mem) {
        emit(.vpmaskmovd, d.operand, mask.operand, .mem(s))
    }
    mutating func vpmaskmovd<V: X86.VectorRegister>(_ d: X86.Mem, _ mask: V, _ s: V) {
        emit(.vpmaskmovd, .mem(d), mask.operand, s.operand)
    }
    mutating func vpmaskmovq<V: X86.VectorRegister>(_ d: V, _ mask: V, _ s: X86.Mem) {
        emit(.vpmaskmovq, d.operand, mask.operand, .mem(s))
    }
    mutating func vpmaskmovq<V: X86.VectorRegister>(_ d: X86.Mem, _ mask: V, _ s: V) {
        emit(.vpmaskmovq, .mem(d), mask.operand, s.operand)
    }

    // MARK: Integer (128-bit: AVX, 256-bit: AVX2)

    mutating func vpaddd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpaddd, d.operand, a.operand, b.operand)
    }
    mutating func vpaddd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpaddd, d.operand, a.operand, .mem(b))
    }
    mutating func vpaddq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpaddq, d.operand, a.operand, b.operand)
    }
    mutating func vpaddq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpaddq, d.operand, a.operand, .mem(b))
    }
    mutating func vpsubd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpsubd, d.operand, a.operand, b.operand)
    }
    mutating func vpsubd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpsubd, d.operand, a.operand, .mem(b))
    }
    mutating func vpsubq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpsubq, d.operand, a.operand, b.operand)
    }
    mutating func vpsubq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpsubq, d.operand, a.operand, .mem(b))
    }
    mutating func vpmulld<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpmulld, d.operand, a.operand, b.operand)
    }
    mutating func vpmulld<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpmulld, d.operand, a.operand, .mem(b))
    }
    mutating func vpmuludq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpmuludq, d.operand, a.operand, b.operand)
    }
    mutating func vpmuludq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpmuludq, d.operand, a.operand, .mem(b))
    }
    mutating func vpmuldq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpmuldq, d.operand, a.operand, b.operand)
    }
    mutating func vpmuldq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpmuldq, d.operand, a.operand, .mem(b))
    }
    mutating func vpand<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) { emit(.vpand, d.operand, a.operand, b.operand) }
    mutating func vpand<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpand, d.operand, a.operand, .mem(b))
    }
    mutating func vpandn<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpandn, d.operand, a.operand, b.operand)
    }
    mutating func vpandn<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpandn, d.operand, a.operand, .mem(b))
    }
    mutating func vpor<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) { emit(.vpor, d.operand, a.operand, b.operand) }
    mutating func vpor<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpor, d.operand, a.operand, .mem(b))
    }
    mutating func vpxor<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) { emit(.vpxor, d.operand, a.operand, b.operand) }
    mutating func vpxor<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpxor, d.operand, a.operand, .mem(b))
    }
    mutating func vpcmpeqd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpcmpeqd, d.operand, a.operand, b.operand)
    }
    mutating func vpcmpeqd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpcmpeqd, d.operand, a.operand, .mem(b))
    }
    mutating func vpcmpeqq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpcmpeqq, d.operand, a.operand, b.operand)
    }
    mutating func vpcmpeqq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpcmpeqq, d.operand, a.operand, .mem(b))
    }
    mutating func vpcmpgtd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpcmpgtd, d.operand, a.operand, b.operand)
    }
    mutating func vpcmpgtd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpcmpgtd, d.operand, a.operand, .mem(b))
    }
    mutating func vpcmpgtq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpcmpgtq, d.operand, a.operand, b.operand)
    }
    mutating func vpcmpgtq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpcmpgtq, d.operand, a.operand, .mem(b))
    }
    mutating func vpminsd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpminsd, d.operand, a.operand, b.operand)
    }
    mutating func vpminsd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpminsd, d.operand, a.operand, .mem(b))
    }
    mutating func vpmaxsd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpmaxsd, d.operand, a.operand, b.operand)
    }
    mutating func vpmaxsd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpmaxsd, d.operand, a.operand, .mem(b))
    }
    mutating func vpminud<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpminud, d.operand, a.operand, b.operand)
    }
    mutating func vpminud<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpminud, d.operand, a.operand, .mem(b))
    }
    mutating func vpmaxud<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpmaxud, d.operand, a.operand, b.operand)
    }
    mutating func vpmaxud<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpmaxud, d.operand, a.operand, .mem(b))
    }

    mutating func vpabsd<V: X86.VectorRegister>(_ d: V, _ s: V) { emit(.vpabsd, d.operand, s.operand) }
    mutating func vpabsd<V: X86.VectorRegister>(_ d: V, _ s: X86.Mem) { emit(.vpabsd, d.operand, .mem(s)) }
    /// Shifts of every lane by an immediate, or by the count in the low 64 bits of an XMM register/memory.
    mutating func vpslld<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: UInt8) {
        emit(.vpslld, d.operand, s.operand, .imm(Int64(count)))
    }
    mutating func vpslld<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.XMM) {
        emit(.vpslld, d.operand, s.operand, count.operand)
    }
    mutating func vpslld<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.Mem) {
        emit(.vpslld, d.operand, s.operand, .mem(count))
    }
    mutating func vpsrld<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: UInt8) {
        emit(.vpsrld, d.operand, s.operand, .imm(Int64(count)))
    }
    mutating func vpsrld<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.XMM) {
        emit(.vpsrld, d.operand, s.operand, count.operand)
    }
    mutating func vpsrld<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.Mem) {
        emit(.vpsrld, d.operand, s.operand, .mem(count))
    }
    mutating func vpsrad<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: UInt8) {
        emit(.vpsrad, d.operand, s.operand, .imm(Int64(count)))
    }
    mutating func vpsrad<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.XMM) {
        emit(.vpsrad, d.operand, s.operand, count.operand)
    }
    mutating func vpsrad<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.Mem) {
        emit(.vpsrad, d.operand, s.operand, .mem(count))
    }
    mutating func vpsllq<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: UInt8) {
        emit(.vpsllq, d.operand, s.operand, .imm(Int64(count)))
    }
    mutating func vpsllq<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.XMM) {
        emit(.vpsllq, d.operand, s.operand, count.operand)
    }
    mutating func vpsllq<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.Mem) {
        emit(.vpsllq, d.operand, s.operand, .mem(count))
    }
    mutating func vpsrlq<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: UInt8) {
        emit(.vpsrlq, d.operand, s.operand, .imm(Int64(count)))
    }
    mutating func vpsrlq<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.XMM) {
        emit(.vpsrlq, d.operand, s.operand, count.operand)
    }
    mutating func vpsrlq<V: X86.VectorRegister>(_ d: V, _ s: V, _ count: X86.Mem) {
        emit(.vpsrlq, d.operand, s.operand, .mem(count))
    }
    /// Per-lane variable shifts (AVX2).
    mutating func vpsllvd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpsllvd, d.operand, a.operand, b.operand)
    }
    mutating func vpsllvd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpsllvd, d.operand, a.operand, .mem(b))
    }
    mutating func vpsllvq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpsllvq, d.operand, a.operand, b.operand)
    }
    mutating func vpsllvq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpsllvq, d.operand, a.operand, .mem(b))
    }
    mutating func vpsrlvd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpsrlvd, d.operand, a.operand, b.operand)
    }
    mutating func vpsrlvd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpsrlvd, d.operand, a.operand, .mem(b))
    }
    mutating func vpsrlvq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpsrlvq, d.operand, a.operand, b.operand)
    }
    mutating func vpsrlvq<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpsrlvq, d.operand, a.operand, .mem(b))
    }
    mutating func vpsravd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vpsravd, d.operand, a.operand, b.operand)
    }
    mutating func vpsravd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vpsravd, d.operand, a.operand, .mem(b))
    }

    // MARK: FMA (132: d = d*b + a, 213: d = a*d + b, 231: d = a*b + d; fmsub subtracts the addend, fnmadd
    // negates the product, fnmsub does both)

    mutating func vfmadd132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmadd132ps, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmadd132ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmadd132pd, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmadd132pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmadd213ps, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmadd213ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmadd213pd, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmadd213pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmadd231ps, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmadd231ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmadd231pd, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmadd231pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmsub132ps, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmsub132ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmsub132pd, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmsub132pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmsub213ps, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmsub213ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmsub213pd, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmsub213pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmsub231ps, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmsub231ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfmsub231pd, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfmsub231pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmadd132ps, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmadd132ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmadd132pd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmadd132pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmadd213ps, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmadd213ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmadd213pd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmadd213pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmadd231ps, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmadd231ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmadd231pd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmadd231pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmsub132ps, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub132ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmsub132ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmsub132pd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub132pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmsub132pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmsub213ps, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub213ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmsub213ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmsub213pd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub213pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmsub213pd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmsub231ps, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub231ps<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmsub231ps, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: V) {
        emit(.vfnmsub231pd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub231pd<V: X86.VectorRegister>(_ d: V, _ a: V, _ b: X86.Mem) {
        emit(.vfnmsub231pd, d.operand, a.operand, .mem(b))
    }

    mutating func vfmadd132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmadd132ss, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmadd132ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmadd132sd, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmadd132sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmadd213ss, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmadd213ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmadd213sd, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmadd213sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmadd231ss, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmadd231ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfmadd231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmadd231sd, d.operand, a.operand, b.operand)
    }
    mutating func vfmadd231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmadd231sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmsub132ss, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmsub132ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmsub132sd, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmsub132sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmsub213ss, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmsub213ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmsub213sd, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmsub213sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmsub231ss, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmsub231ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfmsub231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfmsub231sd, d.operand, a.operand, b.operand)
    }
    mutating func vfmsub231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfmsub231sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmadd132ss, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmadd132ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmadd132sd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmadd132sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmadd213ss, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmadd213ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmadd213sd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmadd213sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmadd231ss, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmadd231ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmadd231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmadd231sd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmadd231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmadd231sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmsub132ss, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub132ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmsub132ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmsub132sd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub132sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmsub132sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmsub213ss, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub213ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmsub213ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmsub213sd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub213sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmsub213sd, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmsub231ss, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub231ss(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmsub231ss, d.operand, a.operand, .mem(b))
    }
    mutating func vfnmsub231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.XMM) {
        emit(.vfnmsub231sd, d.operand, a.operand, b.operand)
    }
    mutating func vfnmsub231sd(_ d: X86.XMM, _ a: X86.XMM, _ b: X86.Mem) {
        emit(.vfnmsub231sd, d.operand, a.operand, .mem(b))
    }

    // MARK: State

    /// Clears the upper halves of all YMM registers: required before returning to SSE code (or C) after
    /// using YMM registers, to avoid the AVX→SSE transition penalty.
    mutating func vzeroupper() { emit(.vzeroupper) }
    mutating func vzeroall() { emit(.vzeroall) }
    mutating func vldmxcsr(_ s: X86.Mem) { emit(.vldmxcsr, .mem(s)) }
    mutating func vstmxcsr(_ d: X86.Mem) { emit(.vstmxcsr, .mem(d)) }
}
