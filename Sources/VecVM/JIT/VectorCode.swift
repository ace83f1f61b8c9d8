// Vector code: straight-line AVX2 code over virtual registers, its register allocation (an interval
// graph colored by RegisterAllocator), and its emission into an X86Assembler. The kernel lowering (and
// through VectorBuilder the math library) writes a loop body as a list of `VInst`s whose operands are
// virtual registers; `allocate` gives every virtual register one home for its whole life — a YMM
// register, a stack slot (spilled), or the fixed memory it was created with (constants in the code's
// data section, broadcast scalars in the frame) — and `emit` writes the machine instructions, loading
// memory homes into scratch registers where an instruction needs a register.
//
// Registers: ymm0 ..< ymm13 are allocated (minus any the caller pins, such as reduction accumulators);
// ymm13, ymm14, ymm15 are the emitter's scratch registers. Spill slots are 32-byte slots at
// [rsp + spillBase + 32·k]; the caller reserves them (`spillSlots`) in its frame.
//
// Invariant the allocator relies on: a body is straight-line code, except `whereAny` regions (a
// branch over a block): no value defined inside a region is used after it, except the region's merge
// value, which is defined before the region and redefined inside it (its interval spans the region,
// so its home is the same on both paths).

/// A virtual vector register: one value of one step, in a whole YMM register or its low XMM half.
struct VReg: Hashable, CustomStringConvertible {
    let id: Int
    let isXMM: Bool
    var description: String { "%v\(id)\(isXMM ? "x" : "")" }
}

/// Where a value lives for its whole life.
enum VHome: Equatable {
    case register(Int)
    case memory(X86.Mem)
}

/// One instruction of a body.
struct VInst {
    enum Form {
        /// dst = inst(a, b [, imm]): VEX three-operand; `a` must be a register, `b` may be memory.
        /// `commutative`: a and b may be swapped to put a memory operand second.
        case rvm(commutative: Bool)
        /// dst = inst(a [, imm]): `a` may be memory unless `registerSource`.
        case rm(registerSource: Bool)
        /// dst = a * b + c with one rounding (vfmadd231/213/132 chosen by where the operands live).
        case fma(single: Bool)
        /// dst = mask ? a : b (vblendvps/pd): sources [mask, a, b].
        case blend(single: Bool)
        /// dst = the high 128 bits of a (vextractf128 imm 1): an XMM value.
        case extractHigh
        /// dst = a with b (an XMM value) as its high 128 bits (vinsertf128 imm 1).
        case insertHigh
        /// Stores the source to memory (`inst` is the store: vmovups, vmovntps, ...).
        case store(X86.Mem)
        /// Stores sources[1] to memory under sources[0] as a mask (vmaskmovps/pd, vpmaskmovq).
        case maskedStore(X86.Mem)
        /// dst = masked load from memory under sources[0] (vmaskmovps/pd, vpmaskmovq).
        case maskedLoad(X86.Mem)
        /// dst = gather from `table` (absolute address) indexed by sources[0] (see `GatherKind`).
        case gather(UInt, GatherKind)
        /// Integer division or remainder of 64-bit lanes, lane by lane through idiv (no vector divide):
        /// sources [dividend, divisor]; `lane0` is the element number of this register's first lane in
        /// the step, compared with the remaining element count so that lanes past the end are skipped.
        case intDivide(remainder: Bool, lane0: Int)
        /// If no lane of the parts is set (vmovmskp* of every part ORed), jump to the region's end. A
        /// region is a number of the body: each emission of the body makes its own labels.
        case skipUnlessAny(region: Int, parts: [VReg], single: Bool)
        /// The end of a `whereAny` region.
        case endRegion(Int)
        /// Accumulates sources[0] into the pinned register `acc`; with a tail mask only the lanes that
        /// exist change it.
        case accumulate(Int, Accumulation, mask: VReg?)
        /// Adds the number of set lanes of sources[0] (within `tailBits` when given) to a frame counter.
        case countBools(X86.Mem, single: Bool, tailBits: X86.Mem?)
        /// Stores sources[0] (a mask of 8 or 4 lanes) as bytes 0/1 through a 256-entry table.
        case storeBools(X86.Mem, single: Bool, table: X86.Label)
        /// dst (a half-width value) = the low dwords of the qwords of sources[0] (vpmovqd): only the
        /// 512-bit lowering makes it (AVX2 narrows with vextractf128 and vshufps).
        case narrowQD
    }

    var form: Form
    var inst: X86.Instruction
    var dst: VReg?
    var sources: [VReg]
    var imm: Int64?
    /// The first source is read through its XMM view (the low half: vcvtps2pd, vpmovsxdq, ...).
    var narrowSource = false
}

/// How a reduction combines a vector into its accumulator (the evaluator's kAdd, kMin, kMax): `step` is
/// add, min or max (VectorOps.reductionStep), of f32, f64 or i64 lanes.
struct Accumulation: Equatable {
    let step: LaneBinary
    let lane: Lane

    /// The signed min or max of 64-bit integers, which AVX2 has no instruction for.
    var isIntegerMinMax: Bool { lane == .i64 && (step == .min || step == .max) }
}

enum GatherKind {
    /// vgatherqpd: 64-bit table, 64-bit indices, scale 8.
    case qpd
    /// vgatherdpd: 64-bit table, 32-bit indices (an XMM value), scale 8.
    case dpd
    /// vgatherdps: 32-bit table, 32-bit indices, scale 4.
    case dps
}

/// A body under construction, and after `allocate`, its homes.
struct VectorCode {
    private(set) var insts: [VInst] = []
    private(set) var registerCount = 0
    /// Fixed memory homes (constants, scalars, input elements read in place).
    private var fixedHomes: [Int: X86.Mem] = [:]
    private(set) var homes: [Int: VHome] = [:]
    /// Spill slots used by the allocation.
    private(set) var spillSlots = 0
    private(set) var regionCount = 0

    mutating func newRegion() -> Int {
        regionCount += 1
        return regionCount - 1
    }

    mutating func newRegister(xmm: Bool = false) -> VReg {
        registerCount += 1
        return VReg(id: registerCount - 1, isXMM: xmm)
    }

    /// A value that lives in memory and is never written (a constant, a broadcast scalar).
    mutating func memoryValue(_ mem: X86.Mem, xmm: Bool = false) -> VReg {
        let r = newRegister(xmm: xmm)
        fixedHomes[r.id] = mem
        return r
    }

    func isMemory(_ r: VReg) -> Bool { fixedHomes[r.id] != nil }

    mutating func append(_ i: VInst) { insts.append(i) }

    @discardableResult
    mutating func op(
        _ form: VInst.Form, _ inst: X86.Instruction, _ sources: [VReg], imm: Int64? = nil, xmm: Bool = false,
        narrowSource: Bool = false
    ) -> VReg {
        let d = newRegister(xmm: xmm)
        insts.append(VInst(form: form, inst: inst, dst: d, sources: sources, imm: imm, narrowSource: narrowSource))
        return d
    }

    /// Redefines `dst` (the merge value of a `whereAny` region).
    mutating func redefine(_ dst: VReg, _ form: VInst.Form, _ inst: X86.Instruction, _ sources: [VReg]) {
        insts.append(VInst(form: form, inst: inst, dst: dst, sources: sources, imm: nil))
    }

    mutating func effect(_ form: VInst.Form, _ inst: X86.Instruction, _ sources: [VReg]) {
        insts.append(VInst(form: form, inst: inst, dst: nil, sources: sources, imm: nil))
    }

    // MARK: - Allocation

    /// Assigns homes by coloring the interference graph of the live intervals (RegisterAllocator): two
    /// values interfere when their intervals overlap, but not one whose last use is an operand of the
    /// instruction that defines the other. Colored in order of their starts, an interval graph takes
    /// no more registers than the most values live at one point, as a linear scan over the intervals
    /// (Poletto & Sarkar) does. A value prefers the register of an operand that dies at its defining
    /// instruction (its partner: the in-place forms need no copy), the last operand first (fma's
    /// addend: vfmadd231). When the registers run out, of the values live there the one whose
    /// interval ends last is spilled, and of those the one that starts first (measured on the kernels
    /// of the tests: fewer instructions than the one that starts last). `available` are the allocatable
    /// vector register numbers, preferred in their order (low numbers first: ymm0-7 as the r/m operand
    /// need no 3-byte VEX prefix); spill slots of `slotBytes` each are at `spillBase`.
    mutating func allocate(available: [Int], spillBase: Int32, slotBytes: Int32 = 32) {
        var start = [Int](repeating: -1, count: registerCount)
        var end = [Int](repeating: -1, count: registerCount)
        for (i, inst) in insts.enumerated() {
            for s in inst.sources + extraUses(inst) where fixedHomes[s.id] == nil {
                end[s.id] = max(end[s.id], i)
            }
            if let d = inst.dst, fixedHomes[d.id] == nil {
                if start[d.id] < 0 { start[d.id] = i }
                end[d.id] = max(end[d.id], i)
            }
        }
        let spans: [ClosedRange<Int>?] = (0..<registerCount).map { start[$0] >= 0 ? start[$0]...end[$0] : nil }
        let scale = Double(insts.count + 1)
        guard
            let (colors, spilled) = RegisterAllocator.colorIntervals(
                spans, touching: .share,
                // The operands of the defining instruction, the last first (fma's addend); a value
                // that redefines itself (a merge) has no color yet, so it is no partner of its own.
                partners: { id in self.insts[start[id]].sources.reversed().lazy.map(\.id) },
                prefer: { _ in available }, cost: { -Double(end[$0]) * scale + Double(start[$0]) })
        else { preconditionFailure("VectorCode.allocate: a value found neither a register nor a spill") }
        homes = [:]
        for (id, mem) in fixedHomes { homes[id] = .memory(mem) }
        for (id, r) in colors { homes[id] = .register(r) }
        // Spill slots, once the spilled values are known: a value is spilled for its whole interval, so
        // slots are colored over the complete intervals; a slot is taken again only after its last
        // occupant's interval has ended, so that no instruction reads and writes one slot. As many
        // slots as spilled values: a coloring always exists.
        guard
            let (slots, _) = RegisterAllocator.colorIntervals(
                spans.indices.map { spilled.contains($0) ? spans[$0] : nil }, touching: .interfere,
                partners: { _ in EmptyCollection<Int>() }, prefer: { _ in Array(0..<spilled.count) })
        else { preconditionFailure("VectorCode.allocate: \(spilled.count) spilled values found no slot among as many") }
        for (id, k) in slots { homes[id] = .memory(X86.ptr(.rsp, spillBase + slotBytes * Int32(k))) }
        spillSlots = (slots.values.max() ?? -1) + 1
    }

    /// Uses an instruction makes beyond its sources (the masks of masked accumulation).
    private func extraUses(_ inst: VInst) -> [VReg] {
        switch inst.form {
        case .accumulate(_, _, let mask?): [mask]
        case .skipUnlessAny(_, let parts, _): parts
        default: []
        }
    }

    var spilled: Bool { spillSlots > 0 }

    /// The same body (and allocation) with every plain store made by `inst` instead (non-temporal).
    func withStores(_ inst: X86.Instruction) -> VectorCode {
        var copy = self
        for i in copy.insts.indices {
            if case .store = copy.insts[i].form { copy.insts[i].inst = inst }
        }
        return copy
    }

    /// The same body (and allocation) accumulating into other pinned registers: `map[old] = new`.
    func withAccumulators(_ map: [Int: Int]) -> VectorCode {
        var copy = self
        for i in copy.insts.indices {
            if case .accumulate(let acc, let how, let mask) = copy.insts[i].form {
                copy.insts[i].form = .accumulate(map[acc] ?? acc, how, mask: mask)
            }
        }
        return copy
    }
}

// MARK: - Emission

/// Writes an allocated body into an assembler.
struct VectorEmitter {
    static let scratch = [13, 14, 15]
    /// GPRs the emitter may clobber: rax, rdx (idiv, vmovmsk) and r11.
    /// `count` and `index`: GPRs holding the element count and the step's first element (`intDivide`
    /// skips lanes past the end); `divideError`: where integer division by zero jumps; `temp`: 64 bytes
    /// of frame for lane loops.
    let count: X86.GPR
    let index: X86.GPR
    let divideError: X86.Label
    let temp: X86.Mem

    private static func y(_ r: Int) -> X86.Operand { .ymm(X86.YMM(number: r)!) }
    private static func x(_ r: Int) -> X86.Operand { .xmm(X86.XMM(number: r)!) }

    private func view(_ r: Int, _ xmm: Bool) -> X86.Operand { xmm ? Self.x(r) : Self.y(r) }

    func emit(_ code: VectorCode, into a: inout X86Assembler) {
        var regionEnds: [X86.Label] = []
        for _ in 0..<code.regionCount { regionEnds.append(a.newLabel()) }
        for inst in code.insts { emit(inst, code, regionEnds, &a) }
    }

    /// A source as an operand: its register, or its memory when `memoryOK`; otherwise it is loaded into
    /// the scratch register `scratch`.
    private func source(
        _ r: VReg, _ code: VectorCode, _ a: inout X86Assembler, memoryOK: Bool, scratch: Int, xmm: Bool? = nil
    ) -> X86.Operand {
        let asXMM = xmm ?? r.isXMM
        switch code.homes[r.id]! {
        case .register(let p): return view(p, asXMM)
        case .memory(let m):
            if memoryOK { return .mem(m) }
            a.emit(.vmovups, view(scratch, asXMM), .mem(m))
            return view(scratch, asXMM)
        }
    }

    private func finish(_ d: VReg, _ p: Int, _ store: X86.Mem?, _ a: inout X86Assembler) {
        if let m = store { a.emit(.vmovups, .mem(m), view(p, d.isXMM)) }
    }

    private func emit(_ inst: VInst, _ code: VectorCode, _ regionEnds: [X86.Label], _ a: inout X86Assembler) {
        let s0 = Self.scratch[0]
        let s1 = Self.scratch[1]
        let s2 = Self.scratch[2]
        switch inst.form {
        case .rvm(let commutative):
            let d = inst.dst!
            var l = inst.sources[0]
            var r = inst.sources[1]
            if commutative, code.register(l) == nil, code.register(r) != nil { swap(&l, &r) }
            let lo = source(l, code, &a, memoryOK: false, scratch: s0, xmm: inst.narrowSource ? true : nil)
            let ro = source(r, code, &a, memoryOK: true, scratch: s1)
            let (p, store) = code.destination(d, scratch: s2)
            if let imm = inst.imm {
                a.emit(inst.inst, view(p, d.isXMM), lo, ro, .imm(imm))
            } else {
                a.emit(inst.inst, view(p, d.isXMM), lo, ro)
            }
            finish(d, p, store, &a)
        case .rm(let registerSource):
            let d = inst.dst!
            let so = source(
                inst.sources[0], code, &a, memoryOK: !registerSource, scratch: s0,
                xmm: inst.narrowSource ? true : nil)
            let (p, store) = code.destination(d, scratch: s2)
            if let imm = inst.imm {
                a.emit(inst.inst, view(p, d.isXMM), so, .imm(imm))
            } else {
                a.emit(inst.inst, view(p, d.isXMM), so)
            }
            finish(d, p, store, &a)
        case .fma(let single):
            emitFMA(inst, code, &a, single: single)
        case .blend(let single):
            // vblendv d, b, a, mask: a where the mask's sign bit is set, else b.
            let d = inst.dst!
            let m = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0)
            let t = source(inst.sources[1], code, &a, memoryOK: true, scratch: s1)
            let f = source(inst.sources[2], code, &a, memoryOK: false, scratch: s2)
            let (p, store) = code.destination(d, scratch: s2)
            a.emit(VectorOps.blend(single ? .f32 : .f64), view(p, d.isXMM), f, t, m)
            finish(d, p, store, &a)
        case .extractHigh:
            let d = inst.dst!
            let so = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0, xmm: false)
            let (p, store) = code.destination(d, scratch: s2)
            a.emit(.vextractf128, Self.x(p), so, .imm(1))
            finish(d, p, store, &a)
        case .insertHigh:
            let d = inst.dst!
            let lo = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0, xmm: false)
            let hi = source(inst.sources[1], code, &a, memoryOK: true, scratch: s1, xmm: true)
            let (p, store) = code.destination(d, scratch: s2)
            a.emit(.vinsertf128, Self.y(p), lo, hi, .imm(1))
            finish(d, p, store, &a)
        case .store(let m):
            let so = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0)
            a.emit(inst.inst, .mem(m), so)
        case .maskedStore(let m):
            let mask = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0)
            let so = source(inst.sources[1], code, &a, memoryOK: false, scratch: s1)
            a.emit(inst.inst, .mem(m), mask, so)
        case .maskedLoad(let m):
            let d = inst.dst!
            let mask = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0)
            let (p, store) = code.destination(d, scratch: s2)
            a.emit(inst.inst, view(p, d.isXMM), mask, .mem(m))
            finish(d, p, store, &a)
        case .gather(let table, let kind):
            emitGather(inst, table, kind, code, &a)
        case .intDivide(let remainder, let lane0):
            emitDivide(inst, remainder: remainder, lane0: lane0, code, &a)
        case .skipUnlessAny(let region, let parts, let single):
            for (k, part) in parts.enumerated() {
                let so = source(part, code, &a, memoryOK: false, scratch: s0)
                let gpr: X86.GPR = k == 0 ? .eax : .edx
                a.emit(VectorOps.moveMask(single ? .i32 : .i64), .gpr(gpr), so)
                if k > 0 { a.emit(.or, .gpr(.eax), .gpr(.edx)) }
            }
            a.emit(.test, .gpr(.eax), .gpr(.eax))
            a.j(.e, regionEnds[region])
        case .endRegion(let region):
            a.bind(regionEnds[region])
        case .accumulate(let acc, let how, let mask):
            emitAccumulate(inst.sources[0], acc, how, mask, code, &a)
        case .countBools(let counter, let single, let tailBits):
            let so = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0)
            a.emit(VectorOps.moveMask(single ? .i32 : .i64), .gpr(.eax), so)
            if let bits = tailBits { a.emit(.and, .gpr(.rax), .mem(bits.qword)) }
            a.emit(.popcnt, .gpr(.rax), .gpr(.rax))
            a.emit(.add, .mem(counter.qword), .gpr(.rax))
        case .storeBools(let m, let single, let table):
            let so = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0)
            a.emit(VectorOps.moveMask(single ? .i32 : .i64), .gpr(.eax), so)
            a.lea(.rdx, X86.ptr(table))
            a.mov(.rax, X86.ptr(.rdx, index: .rax, scale: 8))
            if single {
                a.mov(m, .rax)
            } else {
                a.emit(.mov, .mem(m.dword), .gpr(.eax))
            }
        case .narrowQD:
            preconditionFailure("narrowQD is made only by the 512-bit lowering (VectorEmitter512)")
        }
    }

    /// acc ∘= v, where ∘ is the reduction's operation (ints: min/max by compare and blend); with a tail
    /// mask, the lanes outside it keep the accumulator.
    private func emitAccumulate(
        _ v: VReg, _ acc: Int, _ how: Accumulation, _ mask: VReg?, _ code: VectorCode, _ a: inout X86Assembler
    ) {
        let s0 = Self.scratch[0]
        let s1 = Self.scratch[1]
        let s2 = Self.scratch[2]
        let target = mask == nil ? acc : s2
        if how.isIntegerMinMax {
            // acc < v ? acc : v (min) and acc > v ? acc : v (max), as the evaluator's kMin / kMax.
            let so = source(v, code, &a, memoryOK: false, scratch: s0)
            let greater = VectorOps.integerCompare(.gt, .i64).instruction
            if how.step == .min {
                a.emit(greater, Self.y(s1), so, Self.y(acc))
            } else {
                a.emit(greater, Self.y(s1), Self.y(acc), so)
            }
            a.emit(VectorOps.blend(.i64), Self.y(target), so, Self.y(acc), Self.y(s1))
        } else {
            let so = source(v, code, &a, memoryOK: true, scratch: s0)
            a.emit(VectorOps.binary(how.step, how.lane), Self.y(target), Self.y(acc), so)
        }
        if let mask {
            let mo = source(mask, code, &a, memoryOK: false, scratch: s0)
            a.emit(VectorOps.blend(how.lane), Self.y(acc), Self.y(acc), Self.y(s2), mo)
        }
    }

    /// dst = x * y + z: vfmadd231 when dst is z's register, 213 when it is x's or y's, else a copy of z
    /// first. The last operand of each form may be memory.
    private func emitFMA(_ inst: VInst, _ code: VectorCode, _ a: inout X86Assembler, single: Bool) {
        let d = inst.dst!
        let (xv, yv, zv) = (inst.sources[0], inst.sources[1], inst.sources[2])
        let s0 = Self.scratch[0]
        let s1 = Self.scratch[1]
        let s2 = Self.scratch[2]
        let f231 = VectorOps.fma(single ? .f32 : .f64)
        let f213 = VectorOps.fma(single ? .f32 : .f64, form: .form213)
        let xmm = d.isXMM
        if let p = code.register(d) {
            if code.register(zv) == p {
                // d = x * y + d
                let xo = source(xv, code, &a, memoryOK: false, scratch: s0)
                let yo = source(yv, code, &a, memoryOK: true, scratch: s1)
                a.emit(f231, view(p, xmm), xo, yo)
                return
            }
            if code.register(xv) == p || code.register(yv) == p {
                // d = other * d + z
                let other = code.register(xv) == p ? yv : xv
                let oo = source(other, code, &a, memoryOK: false, scratch: s0)
                let zo = source(zv, code, &a, memoryOK: true, scratch: s1)
                a.emit(f213, view(p, xmm), oo, zo)
                return
            }
            // d is none of the operands: d = z, then d = x * y + d.
            let xo = source(xv, code, &a, memoryOK: false, scratch: s0)
            let yo = source(yv, code, &a, memoryOK: true, scratch: s1)
            let zo = source(zv, code, &a, memoryOK: true, scratch: s2)
            a.emit(.vmovups, view(p, xmm), zo)
            a.emit(f231, view(p, xmm), xo, yo)
            return
        }
        // Spilled destination: compute in a scratch register, then store.
        let xo = source(xv, code, &a, memoryOK: false, scratch: s0)
        let yo = source(yv, code, &a, memoryOK: true, scratch: s1)
        let zo = source(zv, code, &a, memoryOK: true, scratch: s2)
        if zo != view(s2, xmm) { a.emit(.vmovups, view(s2, xmm), zo) }
        a.emit(f231, view(s2, xmm), xo, yo)
        if case .memory(let m) = code.homes[d.id]! { a.emit(.vmovups, .mem(m), view(s2, xmm)) }
    }

    /// A gather: all-ones mask in a scratch register, the table's address in r11, the result in a
    /// register other than the index's (the instruction requires it), then moved to its home.
    private func emitGather(
        _ inst: VInst, _ table: UInt, _ kind: GatherKind, _ code: VectorCode, _ a: inout X86Assembler
    ) {
        let d = inst.dst!
        let s0 = Self.scratch[0]
        let s1 = Self.scratch[1]
        let s2 = Self.scratch[2]
        let indexXMM: Bool
        switch kind {
        case .qpd, .dps: indexXMM = inst.sources[0].isXMM
        case .dpd: indexXMM = true
        }
        // The index in s1 (a copy: the gather must not overwrite it, and its register may be d's).
        let io = source(inst.sources[0], code, &a, memoryOK: true, scratch: s1, xmm: indexXMM)
        if io != view(s1, indexXMM) { a.emit(.vmovups, view(s1, indexXMM), io) }
        a.emit(.vpcmpeqd, view(s0, d.isXMM), view(s0, d.isXMM), view(s0, d.isXMM))
        a.emit(.vpxor, view(s2, d.isXMM), view(s2, d.isXMM), view(s2, d.isXMM))
        a.mov(.r11, Int64(bitPattern: UInt64(table)))
        a.embed(
            X86Assembler.gatherBytes(
                kind, destination: s2, index: s1, mask: s0, base: .r11, wide: !d.isXMM))
        let (p, store) = code.destination(d, scratch: s2)
        if p != s2 { a.emit(.vmovups, view(p, d.isXMM), view(s2, d.isXMM)) }
        finish(d, p, store, &a)
    }

    /// 64-bit integer division lane by lane: both vectors go to the frame's temp area, each lane that
    /// exists is divided with idiv (by zero: jump to `divideError`; by -1: negate, or 0 for `%`, since
    /// idiv would fault on min / -1), and the results come back as a vector.
    private func emitDivide(_ inst: VInst, remainder: Bool, lane0: Int, _ code: VectorCode, _ a: inout X86Assembler) {
        let d = inst.dst!
        let s0 = Self.scratch[0]
        let xo = source(inst.sources[0], code, &a, memoryOK: false, scratch: s0)
        a.emit(.vmovdqu, .mem(temp), xo)
        let yo = source(inst.sources[1], code, &a, memoryOK: false, scratch: s0)
        var divisorArea = temp
        divisorArea.displacement += 32
        a.emit(.vmovdqu, .mem(divisorArea), yo)
        a.emitLaneDivisions(
            lanes: 4, dividends: temp, divisors: divisorArea, lane0: lane0, count: count, index: index,
            remainder: remainder, divideError: divideError)
        let (p, store) = code.destination(d, scratch: s0)
        a.emit(.vmovdqu, Self.y(p), .mem(temp))
        finish(d, p, store, &a)
    }
}

extension X86Assembler {
    /// The lanes of a 64-bit integer division, one by one (the AVX2 and AVX-512 kernels share it):
    /// `lanes` dividends at `dividends` and divisors at `divisors` in the frame; each lane that
    /// exists (lane0 + lane < count - index: the tail's masked-out lanes are left alone) is divided
    /// with idiv in place — by zero: a jump to `divideError`; by -1: negated, or 0 for `%`, since
    /// idiv would fault on min / -1.
    mutating func emitLaneDivisions(
        lanes: Int, dividends: X86.Mem, divisors: X86.Mem, lane0: Int, count: X86.GPR, index: X86.GPR,
        remainder: Bool, divideError: X86.Label
    ) {
        for lane in 0..<lanes {
            var x = dividends
            x.displacement += Int32(8 * lane)
            var y = divisors
            y.displacement += Int32(8 * lane)
            let next = newLabel()
            let notMinusOne = newLabel()
            mov(.rax, count)
            sub(.rax, index)
            cmp(.rax, Int64(lane0 + lane))
            j(.le, next)
            emit(.cmp, .mem(y.qword), .imm(0))
            j(.e, divideError)
            mov(.rax, x)
            emit(.cmp, .mem(y.qword), .imm(-1))
            j(.ne, notMinusOne)
            if remainder {
                mov(.rax, 0)
            } else {
                neg(.rax)
            }
            mov(x, .rax)
            jmp(next)
            bind(notMinusOne)
            emit(.cqo)
            emit(.idiv, .mem(y.qword))
            mov(x, remainder ? .rdx : .rax)
            bind(next)
        }
    }
}

extension VectorCode {
    /// The machine register of `r`'s home, or nil when it lives in memory (both emitters).
    func register(_ r: VReg) -> Int? {
        if case .register(let p) = homes[r.id]! { return p }
        return nil
    }

    /// The destination register of `d` (a scratch when its home is memory) and the store that
    /// completes it (both emitters).
    func destination(_ d: VReg, scratch: Int) -> (Int, X86.Mem?) {
        switch homes[d.id]! {
        case .register(let p): return (p, nil)
        case .memory(let m): return (scratch, m)
        }
    }
}
