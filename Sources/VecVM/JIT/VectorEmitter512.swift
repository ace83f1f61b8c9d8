// The 512-bit emitter: writes an allocated VectorCode body (built at 16 lanes of 32 bits, see
// VectorBuilder.swift) as AVX-512 instructions on ZMM registers (a half-width value on the YMM view).
// Each VInst names the AVX2 instruction whose lane semantics it has; here that name is read as the
// AVX-512 instruction with the same per-lane result (vaddps → EVEX vaddps on 16 lanes, vroundps →
// vrndscaleps with the same imm8, vpand → vpandd, ...), so a 512-bit kernel computes exactly what the
// AVX2 kernel and the interpreter compute, lane for lane.
//
// Masks stay vectors of all-ones / all-zeros lanes, as in the AVX2 code (the math library's `select` and
// `whereAny` take them as values): a compare writes k1 and `vpmovm2d/q` makes the vector; a blend, a
// masked load or store and a lane test turn the vector back into k1 with `vpmovd2m/q2m` (the sign bit,
// as vblendv and vmaskmov read it). Masked loads and stores under k1 suppress faults on the masked-out
// lanes, as vmaskmov does.
//
// Registers: the allocator may use zmm0–12 and zmm16–31; zmm13–15 are scratch as in VectorEmitter; k1
// is the mask scratch and k2 the gather mask. All of them are saved by the asynchronous-preemption
// trampoline's AVX-512 path (zmm0–31, k0–7), which is the path the process uses whenever the 512-bit
// kernels are chosen (CPU.swift). GPRs clobbered: rax, rdx, r11 (as VectorEmitter).
//
// Integer division and `%` (`intDivide`) go lane by lane through idiv, as in the AVX2 code, over the
// 8 lanes of a ZMM through 128 bytes of the frame. Anything `unsupported` names would keep the
// kernel's AVX2 code (counted by `--stats`); no form the lowering makes today is.

struct VectorEmitter512 {
    static let scratch = [13, 14, 15]
    /// The registers the allocator may use.
    static let allocatable = Array(0..<13) + Array(16..<32)
    /// Opmask scratch registers.
    static let maskK = 1
    static let gatherK = 2

    /// As VectorEmitter's: the element count and index GPRs, where division by zero jumps, and the
    /// frame's lane-by-lane area (128 bytes here).
    let count: X86.GPR
    let index: X86.GPR
    let divideError: X86.Label
    let temp: X86.Mem

    /// Why a body cannot be emitted at 512 bits, or nil.
    static func unsupported(_ code: VectorCode) -> String? {
        for inst in code.insts {
            switch inst.form {
            case .rvm, .rm:
                if opcode(inst.inst) == nil && compareOpcode(inst.inst) == nil && shift(inst.inst) == nil {
                    return "no AVX-512 form of \(inst.inst.mnemonic)"
                }
            case .intDivide, .fma, .blend, .extractHigh, .insertHigh, .store, .maskedStore, .maskedLoad, .gather,
                .skipUnlessAny, .endRegion, .accumulate, .countBools, .storeBools, .narrowQD:
                break
            }
        }
        return nil
    }

    /// The AVX-512 instruction with the lane semantics of an AVX2 one (plain forms).
    static func opcode(_ inst: X86.Instruction) -> X86.EVEXOpcode? {
        switch inst {
        case .vaddps: .vaddps
        case .vaddpd: .vaddpd
        case .vsubps: .vsubps
        case .vsubpd: .vsubpd
        case .vmulps: .vmulps
        case .vmulpd: .vmulpd
        case .vdivps: .vdivps
        case .vdivpd: .vdivpd
        case .vminps: .vminps
        case .vminpd: .vminpd
        case .vmaxps: .vmaxps
        case .vmaxpd: .vmaxpd
        case .vsqrtps: .vsqrtps
        case .vsqrtpd: .vsqrtpd
        case .vroundps: .vrndscaleps
        case .vroundpd: .vrndscalepd
        case .vpaddd: .vpaddd
        case .vpaddq: .vpaddq
        case .vpsubd: .vpsubd
        case .vpsubq: .vpsubq
        case .vpmulld: .vpmulld
        case .vpmuludq: .vpmuludq
        case .vpand: .vpandd
        case .vpor: .vpord
        case .vpxor: .vpxord
        case .vpandn: .vpandnd
        case .vmovups, .vmovupd, .vmovdqu: .vmovupsLoad
        case .vcvtps2pd: .vcvtps2pd
        case .vcvtpd2ps: .vcvtpd2ps
        case .vcvtdq2pd: .vcvtdq2pd
        case .vcvttpd2dq: .vcvttpd2dq
        case .vcvtdq2ps: .vcvtdq2ps
        case .vcvttps2dq: .vcvttps2dq
        case .vpmovsxdq: .vpmovsxdq
        case .vpmovzxbd: .vpmovzxbd
        case .vpmovzxbq: .vpmovzxbq
        default: nil
        }
    }

    /// Compares: the instruction writing k1, and whether its lanes are 64-bit.
    static func compareOpcode(_ inst: X86.Instruction) -> (X86.EVEXOpcode, Bool)? {
        switch inst {
        case .vcmpps: (.vcmpps, false)
        case .vcmppd: (.vcmppd, true)
        case .vpcmpeqd: (.vpcmpeqd, false)
        case .vpcmpeqq: (.vpcmpeqq, true)
        case .vpcmpgtd: (.vpcmpgtd, false)
        case .vpcmpgtq: (.vpcmpgtq, true)
        default: nil
        }
    }

    /// Shifts by an immediate: the opcode group and its ModRM.reg extension.
    static func shift(_ inst: X86.Instruction) -> (X86.EVEXOpcode, Int)? {
        switch inst {
        case .vpsllq: (.vpsxxqImm, 6)
        case .vpsrlq: (.vpsxxqImm, 2)
        case .vpslld: (.vpsxxdImm, 6)
        case .vpsrld: (.vpsxxdImm, 2)
        case .vpsrad: (.vpsxxdImm, 4)
        default: nil
        }
    }

    /// Bytes read from memory by the source of `inst` relative to the destination's register size
    /// (widening conversions read half, byte extensions a quarter or an eighth).
    private static func sourceFraction(_ inst: X86.Instruction) -> Int {
        switch inst {
        case .vcvtps2pd, .vcvtdq2pd, .vpmovsxdq: 2
        case .vpmovzxbd: 4
        case .vpmovzxbq: 8
        default: 1
        }
    }

    /// Narrowing conversions: their vector length is the (full) source's.
    private static func narrows(_ inst: X86.Instruction) -> Bool { inst == .vcvtpd2ps || inst == .vcvttpd2dq }

    private func bits(_ half: Bool) -> Int { half ? 256 : 512 }

    func emit(_ code: VectorCode, into a: inout X86Assembler) {
        var regionEnds: [X86.Label] = []
        for _ in 0..<code.regionCount { regionEnds.append(a.newLabel()) }
        for inst in code.insts { emit(inst, code, regionEnds, &a) }
    }

    /// A source as an operand: its register, or its memory when `memoryOK`; otherwise loaded into `scratch`.
    private func source(
        _ r: VReg, _ code: VectorCode, _ a: inout X86Assembler, memoryOK: Bool, scratch: Int, half: Bool? = nil
    ) -> X86.EVEXRM {
        switch code.homes[r.id]! {
        case .register(let p): return .register(p)
        case .memory(let m):
            if memoryOK { return .memory(m) }
            let h = half ?? r.isXMM
            a.evex(.vmovupsLoad, reg: scratch, rm: .memory(m), bits: bits(h), disp8Scale: bits(h) / 8)
            return .register(scratch)
        }
    }

    private func sourceRegister(_ r: VReg, _ code: VectorCode, _ a: inout X86Assembler, scratch: Int) -> Int {
        guard case .register(let p) = source(r, code, &a, memoryOK: false, scratch: scratch) else {
            preconditionFailure("a register source")
        }
        return p
    }

    private func finish(_ d: VReg, _ p: Int, _ store: X86.Mem?, _ a: inout X86Assembler) {
        if let m = store {
            a.evex(.vmovupsStore, reg: p, rm: .memory(m), bits: bits(d.isXMM), disp8Scale: bits(d.isXMM) / 8)
        }
    }

    /// k ← the sign bits of the mask `m`'s lanes (32- or 64-bit).
    private func toK(_ k: Int, _ m: Int, wide64: Bool, half: Bool, _ a: inout X86Assembler) {
        a.evex(wide64 ? .vpmovq2m : .vpmovd2m, reg: k, rm: .register(m), bits: bits(half))
    }

    private func emit(_ inst: VInst, _ code: VectorCode, _ regionEnds: [X86.Label], _ a: inout X86Assembler) {
        let s0 = Self.scratch[0]
        let s1 = Self.scratch[1]
        let s2 = Self.scratch[2]
        let k = Self.maskK
        switch inst.form {
        case .rvm(let commutative):
            let d = inst.dst!
            var l = inst.sources[0]
            var r = inst.sources[1]
            if commutative, code.register(l) == nil, code.register(r) != nil { swap(&l, &r) }
            let lo = sourceRegister(l, code, &a, scratch: s0)
            let ro = source(r, code, &a, memoryOK: true, scratch: s1)
            let (p, store) = code.destination(d, scratch: s2)
            let n = bits(d.isXMM)
            if let (op, is64) = Self.compareOpcode(inst.inst) {
                a.evex(op, reg: k, vvvv: lo, rm: ro, bits: n, disp8Scale: n / 8, imm8: inst.imm.map { UInt8($0) })
                a.evex(is64 ? .vpmovm2q : .vpmovm2d, reg: p, rm: .register(k), bits: n)
            } else {
                let op = Self.opcode(inst.inst)!
                a.evex(op, reg: p, vvvv: lo, rm: ro, bits: n, disp8Scale: n / 8, imm8: inst.imm.map { UInt8($0) })
            }
            finish(d, p, store, &a)
        case .rm(let registerSource):
            let d = inst.dst!
            if let (op, ext) = Self.shift(inst.inst) {
                let so = sourceRegister(inst.sources[0], code, &a, scratch: s0)
                let (p, store) = code.destination(d, scratch: s2)
                a.evex(op, reg: ext, vvvv: p, rm: .register(so), bits: bits(d.isXMM), imm8: UInt8(inst.imm!))
                finish(d, p, store, &a)
                return
            }
            let narrows = Self.narrows(inst.inst)
            let n = narrows ? 512 : bits(d.isXMM)
            let fraction = Self.sourceFraction(inst.inst)
            let so = source(
                inst.sources[0], code, &a, memoryOK: !registerSource, scratch: s0,
                half: narrows ? false : fraction == 2 ? true : nil)
            let (p, store) = code.destination(d, scratch: s2)
            a.evex(
                Self.opcode(inst.inst)!, reg: p, rm: so, bits: n, disp8Scale: n / 8 / fraction,
                imm8: inst.imm.map { UInt8($0) })
            finish(d, p, store, &a)
        case .fma(let single):
            emitFMA(inst, code, &a, single: single)
        case .blend(let single):
            // d = mask ? t : f.
            let d = inst.dst!
            let m = sourceRegister(inst.sources[0], code, &a, scratch: s0)
            toK(k, m, wide64: !single, half: d.isXMM, &a)
            let t = source(inst.sources[1], code, &a, memoryOK: true, scratch: s1)
            let f = sourceRegister(inst.sources[2], code, &a, scratch: s2)
            let (p, store) = code.destination(d, scratch: s2)
            let n = bits(d.isXMM)
            a.evex(single ? .vblendmps : .vblendmpd, reg: p, vvvv: f, rm: t, bits: n, mask: k, disp8Scale: n / 8)
            finish(d, p, store, &a)
        case .extractHigh:
            let d = inst.dst!
            let so = sourceRegister(inst.sources[0], code, &a, scratch: s0)
            let (p, store) = code.destination(d, scratch: s2)
            a.evex(.vextractf64x4, reg: so, rm: .register(p), bits: 512, imm8: 1)
            finish(d, p, store, &a)
        case .insertHigh:
            let d = inst.dst!
            let lo = sourceRegister(inst.sources[0], code, &a, scratch: s0)
            let hi = source(inst.sources[1], code, &a, memoryOK: true, scratch: s1, half: true)
            let (p, store) = code.destination(d, scratch: s2)
            a.evex(.vinsertf64x4, reg: p, vvvv: lo, rm: hi, bits: 512, disp8Scale: 32, imm8: 1)
            finish(d, p, store, &a)
        case .narrowQD:
            let d = inst.dst!
            let so = sourceRegister(inst.sources[0], code, &a, scratch: s0)
            let (p, store) = code.destination(d, scratch: s2)
            a.evex(.vpmovqd, reg: so, rm: .register(p), bits: 512)
            finish(d, p, store, &a)
        case .store(let m):
            let v = inst.sources[0]
            let so = sourceRegister(v, code, &a, scratch: s0)
            let op: X86.EVEXOpcode
            switch inst.inst {
            case .vmovntps: op = .vmovntps
            case .vmovntpd: op = .vmovntpd
            case .vmovntdq: op = .vmovntdq
            default: op = .vmovupsStore
            }
            a.evex(op, reg: so, rm: .memory(m), bits: bits(v.isXMM), disp8Scale: bits(v.isXMM) / 8)
        case .maskedStore(let m):
            let v = inst.sources[1]
            let mask = sourceRegister(inst.sources[0], code, &a, scratch: s0)
            let wide64 = inst.inst != .vmaskmovps
            toK(k, mask, wide64: wide64, half: v.isXMM, &a)
            let so = sourceRegister(v, code, &a, scratch: s1)
            // (The opmask selects lanes of the instruction's element size: vmovupd for 64-bit lanes.)
            a.evex(
                wide64 ? .vmovupdStore : .vmovupsStore, reg: so, rm: .memory(m), bits: bits(v.isXMM), mask: k,
                disp8Scale: bits(v.isXMM) / 8)
        case .maskedLoad(let m):
            let d = inst.dst!
            let mask = sourceRegister(inst.sources[0], code, &a, scratch: s0)
            let wide64 = inst.inst != .vmaskmovps
            toK(k, mask, wide64: wide64, half: d.isXMM, &a)
            let (p, store) = code.destination(d, scratch: s2)
            let n = bits(d.isXMM)
            a.evex(
                wide64 ? .vmovupdLoad : .vmovupsLoad, reg: p, rm: .memory(m), bits: n, mask: k, zeroing: true,
                disp8Scale: n / 8)
            finish(d, p, store, &a)
        case .gather(let table, let kind):
            emitGather(inst, table, kind, code, &a)
        case .intDivide(let remainder, let lane0):
            emitDivide(inst, remainder: remainder, lane0: lane0, code, &a)
        case .skipUnlessAny(let region, let parts, let single):
            for (n, part) in parts.enumerated() {
                let so = sourceRegister(part, code, &a, scratch: s0)
                toK(k, so, wide64: !single, half: part.isXMM, &a)
                a.kmovw(n == 0 ? .eax : .edx, k: k)
                if n > 0 { a.emit(.or, .gpr(.eax), .gpr(.edx)) }
            }
            a.emit(.test, .gpr(.eax), .gpr(.eax))
            a.j(.e, regionEnds[region])
        case .endRegion(let region):
            a.bind(regionEnds[region])
        case .accumulate(let acc, let how, let mask):
            emitAccumulate(inst.sources[0], acc, how, mask, code, &a)
        case .countBools(let counter, let single, let tailBits):
            let v = inst.sources[0]
            let so = sourceRegister(v, code, &a, scratch: s0)
            toK(k, so, wide64: !single, half: v.isXMM, &a)
            a.kmovw(.eax, k: k)
            if let bits = tailBits { a.emit(.and, .gpr(.rax), .mem(bits.qword)) }
            a.emit(.popcnt, .gpr(.rax), .gpr(.rax))
            a.emit(.add, .mem(counter.qword), .gpr(.rax))
        case .storeBools(let m, let single, let table):
            // 16 lanes (32-bit) or 8 (64-bit): a byte of the lane bits gives 8 bytes through the table.
            let v = inst.sources[0]
            let so = sourceRegister(v, code, &a, scratch: s0)
            toK(k, so, wide64: !single, half: v.isXMM, &a)
            a.kmovw(.eax, k: k)
            a.lea(.rdx, X86.ptr(table))
            a.mov(.r11, .rax)
            a.emit(.and, .gpr(.eax), .imm(0xFF))
            a.mov(.rax, X86.ptr(.rdx, index: .rax, scale: 8))
            a.mov(m, .rax)
            if single {
                a.emit(.shr, .gpr(.r11), .imm(8))
                a.mov(.r11, X86.ptr(.rdx, index: .r11, scale: 8))
                var high = m
                high.displacement += 8
                a.mov(high, .r11)
            }
        }
    }

    /// acc ∘= v (the accumulator a ZMM register); with a tail mask only the lanes that exist change.
    private func emitAccumulate(
        _ v: VReg, _ acc: Int, _ how: Accumulation, _ mask: VReg?, _ code: VectorCode, _ a: inout X86Assembler
    ) {
        let s0 = Self.scratch[0]
        let s1 = Self.scratch[1]
        var k = 0
        if let mask {
            let m = sourceRegister(mask, code, &a, scratch: s1)
            toK(Self.maskK, m, wide64: how.lane.is64, half: false, &a)
            k = Self.maskK
        }
        // Integers: acc < v ? acc : v and acc > v ? acc : v, AVX-512's signed min and max (equal values are
        // equal); the others are the AVX2 instruction's EVEX form.
        let op: X86.EVEXOpcode =
            how.isIntegerMinMax
            ? (how.step == .min ? .vpminsq : .vpmaxsq) : Self.opcode(VectorOps.binary(how.step, how.lane))!
        let so = source(v, code, &a, memoryOK: true, scratch: s0, half: false)
        a.evex(op, reg: acc, vvvv: acc, rm: so, bits: 512, mask: k)
    }

    /// dst = x * y + z, as VectorEmitter.emitFMA with the EVEX forms.
    private func emitFMA(_ inst: VInst, _ code: VectorCode, _ a: inout X86Assembler, single: Bool) {
        let d = inst.dst!
        let (xv, yv, zv) = (inst.sources[0], inst.sources[1], inst.sources[2])
        let s0 = Self.scratch[0]
        let s1 = Self.scratch[1]
        let s2 = Self.scratch[2]
        let f231: X86.EVEXOpcode = single ? .vfmadd231ps : .vfmadd231pd
        let f213: X86.EVEXOpcode = single ? .vfmadd213ps : .vfmadd213pd
        let n = bits(d.isXMM)
        let m = n / 8
        if let p = code.register(d) {
            if code.register(zv) == p {
                let xo = sourceRegister(xv, code, &a, scratch: s0)
                let yo = source(yv, code, &a, memoryOK: true, scratch: s1)
                a.evex(f231, reg: p, vvvv: xo, rm: yo, bits: n, disp8Scale: m)
                return
            }
            if code.register(xv) == p || code.register(yv) == p {
                let other = code.register(xv) == p ? yv : xv
                let oo = sourceRegister(other, code, &a, scratch: s0)
                let zo = source(zv, code, &a, memoryOK: true, scratch: s1)
                a.evex(f213, reg: p, vvvv: oo, rm: zo, bits: n, disp8Scale: m)
                return
            }
            let xo = sourceRegister(xv, code, &a, scratch: s0)
            let yo = source(yv, code, &a, memoryOK: true, scratch: s1)
            let zo = source(zv, code, &a, memoryOK: true, scratch: s2)
            a.evex(.vmovupsLoad, reg: p, rm: zo, bits: n, disp8Scale: m)
            a.evex(f231, reg: p, vvvv: xo, rm: yo, bits: n, disp8Scale: m)
            return
        }
        let xo = sourceRegister(xv, code, &a, scratch: s0)
        let yo = source(yv, code, &a, memoryOK: true, scratch: s1)
        let zo = source(zv, code, &a, memoryOK: true, scratch: s2)
        if zo != .register(s2) { a.evex(.vmovupsLoad, reg: s2, rm: zo, bits: n, disp8Scale: m) }
        a.evex(f231, reg: s2, vvvv: xo, rm: yo, bits: n, disp8Scale: m)
        if case .memory(let mem) = code.homes[d.id]! {
            a.evex(.vmovupsStore, reg: s2, rm: .memory(mem), bits: n, disp8Scale: m)
        }
    }

    /// 64-bit integer division lane by lane (VectorEmitter.emitDivide at 8 lanes): both vectors to the
    /// frame, each lane that exists divided with idiv (by zero: jump to `divideError`; by -1: negate, or
    /// 0 for `%`, since idiv would fault on min / -1), the results back as a vector.
    private func emitDivide(
        _ inst: VInst, remainder: Bool, lane0: Int, _ code: VectorCode, _ a: inout X86Assembler
    ) {
        let d = inst.dst!
        let s0 = Self.scratch[0]
        let xo = sourceRegister(inst.sources[0], code, &a, scratch: s0)
        a.evex(.vmovupsStore, reg: xo, rm: .memory(temp))
        let yo = sourceRegister(inst.sources[1], code, &a, scratch: s0)
        var divisorArea = temp
        divisorArea.displacement += 64
        a.evex(.vmovupsStore, reg: yo, rm: .memory(divisorArea))
        a.emitLaneDivisions(
            lanes: 8, dividends: temp, divisors: divisorArea, lane0: lane0, count: count, index: index,
            remainder: remainder, divideError: divideError)
        let (p, store) = code.destination(d, scratch: s0)
        a.evex(.vmovupsLoad, reg: p, rm: .memory(temp))
        finish(d, p, store, &a)
    }

    /// A gather under an all-ones k2 (the instruction clears it), the table's address in r11, the index
    /// in a scratch register (the destination must differ from it).
    private func emitGather(
        _ inst: VInst, _ table: UInt, _ kind: GatherKind, _ code: VectorCode, _ a: inout X86Assembler
    ) {
        let d = inst.dst!
        let s1 = Self.scratch[1]
        let s2 = Self.scratch[2]
        let indexHalf: Bool
        let op: X86.EVEXOpcode
        switch kind {
        case .qpd: (indexHalf, op) = (false, .vgatherqpd)
        case .dps: (indexHalf, op) = (inst.sources[0].isXMM, .vgatherdps)
        case .dpd: (indexHalf, op) = (true, .vgatherdpd)
        }
        let io = source(inst.sources[0], code, &a, memoryOK: true, scratch: s1, half: indexHalf)
        if io != .register(s1) {
            a.evex(.vmovupsLoad, reg: s1, rm: io, bits: bits(indexHalf), disp8Scale: bits(indexHalf) / 8)
        }
        a.kxnorwAllOnes(k: Self.gatherK)
        a.mov(.r11, Int64(bitPattern: UInt64(table)))
        let scale = kind == .dps ? 4 : 8
        a.evex(
            op, reg: s2, rm: .vsib(base: .r11, index: s1, scale: scale), bits: bits(d.isXMM), mask: Self.gatherK,
            disp8Scale: scale)
        let (p, store) = code.destination(d, scratch: s2)
        if p != s2 { a.evex(.vmovupsLoad, reg: p, rm: .register(s2), bits: bits(d.isXMM)) }
        finish(d, p, store, &a)
    }
}
