// Kernel lowering: a KernelProgram (Bytecode/Kernel.swift) becomes one AVX2/FMA loop of machine code
// that computes exactly what the interpreter's KernelEvaluator computes, bit for bit.
//
// The native entry point follows the SysV ABI:
//
//     void kernel(const void **inputs,      // rdi: data of the array inputs, in input order
//                 const uint64_t *scalars,  // rsi: bits of the scalar inputs
//                 int64_t count,            // rdx: elements
//                 void *output,             // rcx: the output array (storing kernels)
//                 uint64_t *result,         // r8:  the reduction's result bits (reductions)
//                 int64_t flags)            // r9:  bit 0: use non-temporal stores
//
// Layout of the code:
//
//     prologue   push the callee-saved GPRs it uses, then the result pointer; broadcast the scalars
//                and constants into YMM registers; load the input pointers into GPRs
//     main loop  U vectors of W lanes per iteration (W = 8 for f32, 4 for float and int), the U
//                copies interleaved op by op for instruction-level parallelism; storing kernels have
//                a second copy of it with non-temporal stores, chosen by `flags`
//     tail       single vectors, then one partial vector with masked loads and stores (vmaskmov*:
//                masked-out lanes are neither read nor written, so no byte past the end is touched)
//     reduction  four accumulator registers A0..A3 take vectors 0..3 of each group of 4W elements,
//                so element i lands in lane i % 4W exactly as in the evaluator; a partial vector is
//                merged with a blend so that its masked-out lanes leave the accumulator unchanged;
//                then (A0∘A1)∘(A2∘A3), halves (vextractf128), quarters (vmovhlps / vunpckhpd),
//                last pair (vshufps) — the evaluator's `combineLanes`
//     epilogue   sfence after non-temporal stores, vzeroupper, pops, ret
//
// Invariants the asynchronous-preemption path relies on (DESIGN.md): the code calls nothing, takes
// no lock, touches no memory below rsp (no red zone: the signal handler pushes a return address
// there), and keeps every value in registers or in what it pushed. So every instruction is an async
// safe point.
//
// Operations and their AVX2 forms (all IEEE-exact, matching the evaluator):
//   add sub mul div sqrt   vaddp* vsubp* vmulp* vdivp* vsqrtp*; int add/sub: vpaddq/vpsubq
//   int mul                emulated with three vpmuludq (AVX2 has no 64-bit multiply)
//   min max                vminp*/vmaxp* (a < b ? a : b and a > b ? a : b, x86's own semantics);
//                          int: vpcmpgtq + vblendvpd
//   neg abs                xor / and with the sign bit; int: 0 - a, and a blend on a < 0
//   fma                    vfmadd231p* (one rounding, as Float.addingProduct)
//   int div                not lowered (no vector integer division): the evaluator runs it

struct KernelLowering {
    enum Unsupported: Error, CustomStringConvertible {
        case integerDivision
        case tooManyInputs(Int)
        case tooManyRegisters
        case assembler(String)

        var description: String {
            switch self {
            case .integerDivision: "integer division has no vector instruction"
            case .tooManyInputs(let n): "\(n) array inputs (at most 10 fit in registers)"
            case .tooManyRegisters: "needs more than 16 vector registers"
            case .assembler(let e): "assembler: \(e)"
            }
        }
    }

    let program: KernelProgram
    private var a = X86Assembler()

    private var elem: ElementKind { program.element }
    /// Lanes per vector.
    private var width: Int { elem == .f32 ? 8 : 4 }
    /// Bytes per lane.
    private var size: Int { elem.size }
    private var scale: Int { size }

    // GPR assignment.
    private let count = X86.GPR.rdx
    private let output = X86.GPR.rcx
    private let index = X86.GPR.r9
    private let limit = X86.GPR.r8
    private static let inputRegisters: [X86.GPR] = [.rax, .r10, .r11, .rsi, .rbx, .r12, .r13, .r14, .r15, .rdi]
    private static let calleeSaved: Set<X86.GPR> = [.rbx, .r12, .r13, .r14, .r15]

    // YMM assignment.
    private var scalarRegs: [Int: Int] = [:]  // scalar input k -> ymm
    private var signMask: Int?  // ymm holding the sign bit in every lane
    private var absMask: Int?
    private var accumulators: [Int] = []
    private var scratch: [Int] = []
    private var mask = -1
    /// Register of op i in copy u: `registers[u][i]`.
    private var registers: [[Int]] = []
    private var unroll = 1

    init(program: KernelProgram) {
        self.program = program
    }

    static func lower(_ program: KernelProgram) throws(Unsupported) -> [UInt8] {
        var l = KernelLowering(program: program)
        return try l.run()
    }

    // MARK: - Operand helpers

    private func y(_ r: Int) -> X86.Operand { .ymm(X86.YMM(number: r)!) }
    private func x(_ r: Int) -> X86.Operand { .xmm(X86.XMM(number: r)!) }
    private func element(_ base: X86.GPR, offsetVectors u: Int = 0) -> X86.Operand {
        .mem(X86.ptr(base, index: index, scale: scale, Int32(u * width * size)))
    }

    private var isF32: Bool { elem == .f32 }
    private var isInt: Bool { elem == .int }

    // MARK: - Driver

    private mutating func run() throws(Unsupported) -> [UInt8] {
        if program.ops.contains(where: { if case .div = $0 { return true } else { return false } }), isInt {
            throw .integerDivision
        }
        guard program.arrayInputs <= KernelLowering.inputRegisters.count else {
            throw .tooManyInputs(program.arrayInputs)
        }
        try planRegisters()
        emitPrologue()
        switch program.output {
        case .store:
            let nt = a.newLabel()
            let done = a.newLabel()
            a.test(.r9, 1)
            a.mov(index, 0)
            a.j(.ne, nt)
            emitStoreLoops(nonTemporal: false, done: done)
            a.bind(nt)
            emitStoreLoops(nonTemporal: true, done: done)
            a.bind(done)
        case .reduce(let r, _):
            a.mov(index, 0)
            emitReduction(r)
        }
        emitEpilogue()
        do {
            return try a.finalize()
        } catch {
            throw .assembler(error.description)
        }
    }

    // MARK: - Register planning

    /// Index of each op's last use (the output counts as a use at the end).
    private func lastUses() -> [Int] {
        var last = Array(repeating: -1, count: program.ops.count)
        for (i, op) in program.ops.enumerated() {
            for o in op.operands { last[o] = i }
        }
        last[program.output.value] = program.ops.count
        return last
    }

    /// Whether an op computes into a register of its own (scalars live in their broadcast register).
    private func needsRegister(_ op: KernelOp) -> Bool {
        if case .scalar = op { return false }
        return true
    }

    /// Peak number of body registers one copy needs, by linear scan over the SSA order: a result is
    /// allocated before its operands are released, so a destination never aliases an operand.
    private func peakLive() -> Int {
        let last = lastUses()
        var live = 0
        var peak = 0
        for (i, op) in program.ops.enumerated() {
            if needsRegister(op) {
                live += 1
                peak = max(peak, live)
            }
            for o in Set(op.operands) where last[o] == i && needsRegister(program.ops[o]) { live -= 1 }
        }
        return max(peak, 1)
    }

    private mutating func planRegisters() throws(Unsupported) {
        let scalarInputs = Set(
            program.ops.compactMap { op -> Int? in if case .scalar(let k) = op { return k } else { return nil } })
        let usesSign = program.ops.contains { if case .neg = $0 { return !isInt } else { return false } }
        let usesAbs = program.ops.contains { if case .abs = $0 { return !isInt } else { return false } }
        let needsScratch =
            isInt
            && (program.isReduction
                || program.ops.contains {
                    switch $0 {
                    case .mul, .min, .max, .abs, .neg, .fma: return true
                    default: return false
                    }
                })
        let fixed =
            scalarInputs.count + (usesSign ? 1 : 0) + (usesAbs ? 1 : 0) + (program.isReduction ? 4 : 0)
            + (needsScratch ? 2 : 0) + 1
        let peak = peakLive()
        guard fixed + peak <= 16 else { throw .tooManyRegisters }
        var free = Array(0..<16)
        func take() -> Int { free.removeFirst() }
        for k in scalarInputs.sorted() { scalarRegs[k] = take() }
        if usesSign { signMask = take() }
        if usesAbs { absMask = take() }
        if program.isReduction { accumulators = (0..<4).map { _ in take() } }
        if needsScratch { scratch = [take(), take()] }
        mask = take()
        // Prefer 4 interleaved copies, then 2, then 1.
        unroll = [4, 2, 1].first { $0 * peak <= free.count } ?? 1
        // Assign registers per copy by linear scan.
        let last = lastUses()
        registers = []
        var pool = free
        for _ in 0..<unroll {
            var mine = Array(pool.prefix(peak))
            pool.removeFirst(peak)
            var assigned = Array(repeating: -1, count: program.ops.count)
            for (i, op) in program.ops.enumerated() {
                if case .scalar(let k) = op {
                    assigned[i] = scalarRegs[k]!
                } else {
                    assigned[i] = mine.removeFirst()
                }
                for o in Set(op.operands) where last[o] == i && needsRegister(program.ops[o]) {
                    mine.append(assigned[o])
                }
            }
            registers.append(assigned)
        }
    }

    // MARK: - Prologue and epilogue

    private var usedInputRegisters: [X86.GPR] { Array(KernelLowering.inputRegisters.prefix(program.arrayInputs)) }

    private var pushed: [X86.GPR] {
        usedInputRegisters.filter { KernelLowering.calleeSaved.contains($0) }
    }

    private mutating func emitPrologue() {
        for r in pushed { a.push(r) }
        a.push(.r8)  // the result pointer; r8 becomes a loop limit
        // Scalars (through rsi) before rsi may be reused for an input pointer.
        for (k, r) in scalarRegs.sorted(by: { $0.key < $1.key }) {
            let src = X86.Operand.mem(X86.ptr(.rsi, Int32(k * 8)).qword)
            if isF32 {
                a.emit(.vbroadcastss, y(r), .mem(X86.ptr(.rsi, Int32(k * 8))))
            } else {
                a.emit(.vbroadcastsd, y(r), src)
            }
        }
        if let s = signMask {
            let c =
                isF32
                ? a.constant(int32: Array(repeating: Int32(bitPattern: 0x8000_0000), count: 8))
                : a.constant(bytes: Array(repeating: [0, 0, 0, 0, 0, 0, 0, 0x80] as [UInt8], count: 4).flatMap { $0 })
            a.emit(.vmovups, y(s), .mem(X86.ptr(c)))
        }
        if let m = absMask {
            let c =
                isF32
                ? a.constant(int32: Array(repeating: 0x7FFF_FFFF, count: 8))
                : a.constant(
                    bytes: Array(repeating: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] as [UInt8], count: 4)
                        .flatMap { $0 })
            a.emit(.vmovups, y(m), .mem(X86.ptr(c)))
        }
        // Input pointers; rdi (the inputs array) is overwritten last.
        for (k, r) in usedInputRegisters.enumerated() where r != .rdi {
            a.mov(r, X86.ptr(.rdi, Int32(k * 8)))
        }
        if let k = usedInputRegisters.firstIndex(of: .rdi) {
            a.mov(.rdi, X86.ptr(.rdi, Int32(k * 8)))
        }
    }

    private mutating func emitEpilogue() {
        a.emit(.vzeroupper)
        a.pop(.r8)
        for r in pushed.reversed() { a.pop(r) }
        a.ret()
    }

    // MARK: - Loads and stores

    private mutating func load(_ r: Int, input k: Int, vector u: Int, masked: Bool) {
        let p = usedInputRegisters[k]
        if masked {
            switch elem {
            case .f32: a.emit(.vmaskmovps, y(r), y(mask), element(p))
            case .float: a.emit(.vmaskmovpd, y(r), y(mask), element(p))
            case .int: a.emit(.vpmaskmovq, y(r), y(mask), element(p))
            }
        } else {
            a.emit(isInt ? .vmovdqu : (isF32 ? .vmovups : .vmovupd), y(r), element(p, offsetVectors: u))
        }
    }

    private mutating func store(_ r: Int, vector u: Int, masked: Bool, nonTemporal: Bool) {
        if masked {
            switch elem {
            case .f32: a.emit(.vmaskmovps, element(output), y(mask), y(r))
            case .float: a.emit(.vmaskmovpd, element(output), y(mask), y(r))
            case .int: a.emit(.vpmaskmovq, element(output), y(mask), y(r))
            }
        } else if nonTemporal {
            a.emit(isInt ? .vmovntdq : (isF32 ? .vmovntps : .vmovntpd), element(output, offsetVectors: u), y(r))
        } else {
            a.emit(isInt ? .vmovdqu : (isF32 ? .vmovups : .vmovupd), element(output, offsetVectors: u), y(r))
        }
    }

    /// mask = lanes below `limit` (the remaining element count, 1 ..< width).
    private mutating func emitTailMask() {
        a.emit(.vmovq, x(mask), .gpr(limit))
        let lanes: X86.Label
        if isF32 {
            a.emit(.vpbroadcastd, y(mask), x(mask))
            lanes = a.constant(int32: (0..<8).map { Int32($0) })
            a.emit(.vpcmpgtd, y(mask), y(mask), .mem(X86.ptr(lanes)))
        } else {
            a.emit(.vpbroadcastq, y(mask), x(mask))
            lanes = a.constant(int64: (0..<4).map { Int64($0) })
            a.emit(.vpcmpgtq, y(mask), y(mask), .mem(X86.ptr(lanes)))
        }
    }

    // MARK: - The body: one vector (or U interleaved vectors) of every op

    /// Emits every op for copies `copies` (copy u at vector offset `offsets[u]`).
    private mutating func emitBody(copies: Int, offsets: [Int], masked: Bool) {
        for (i, op) in program.ops.enumerated() {
            for u in 0..<copies {
                let regs = registers[u]
                let d = regs[i]
                switch op {
                case .load(let k): load(d, input: k, vector: offsets[u], masked: masked)
                case .scalar: break
                case .neg(let s): emitNeg(d, regs[s])
                case .abs(let s): emitAbs(d, regs[s])
                case .sqrt(let s): a.emit(isF32 ? .vsqrtps : .vsqrtpd, y(d), y(regs[s]))
                case .add(let p, let q): emitArith(.add, d, regs[p], regs[q])
                case .sub(let p, let q): emitArith(.sub, d, regs[p], regs[q])
                case .mul(let p, let q): emitArith(.mul, d, regs[p], regs[q])
                case .div(let p, let q): emitArith(.div, d, regs[p], regs[q])
                case .min(let p, let q): emitArith(.min, d, regs[p], regs[q])
                case .max(let p, let q): emitArith(.max, d, regs[p], regs[q])
                case .fma(let p, let q, let r):
                    if isInt {
                        emitArith(.mul, d, regs[p], regs[q])
                        a.emit(.vpaddq, y(d), y(d), y(regs[r]))
                    } else {
                        a.emit(isF32 ? .vmovaps : .vmovapd, y(d), y(regs[r]))
                        a.emit(isF32 ? .vfmadd231ps : .vfmadd231pd, y(d), y(regs[p]), y(regs[q]))
                    }
                }
            }
        }
    }

    private enum Arith { case add, sub, mul, div, min, max }

    /// d = p op q on full vectors (ymm) or, with `xmm`, on the low 128 bits; `scalarOnly` uses the
    /// ss/sd forms (the last step of a horizontal reduction).
    private mutating func emitArith(
        _ op: Arith, _ d: Int, _ p: Int, _ q: Int, xmm: Bool = false, scalarOnly: Bool = false
    ) {
        let narrow = xmm || scalarOnly
        func r(_ n: Int) -> X86.Operand { narrow ? .xmm(X86.XMM(number: n)!) : .ymm(X86.YMM(number: n)!) }
        if isInt {
            switch op {
            case .add: a.emit(.vpaddq, r(d), r(p), r(q))
            case .sub: a.emit(.vpsubq, r(d), r(p), r(q))
            case .mul:
                // lo(p)*lo(q) + ((hi(p)*lo(q) + lo(p)*hi(q)) << 32), each vpmuludq a 32x32->64 product.
                let s1 = scratch[0]
                let s2 = scratch[1]
                a.emit(.vpsrlq, r(s1), r(p), .imm(32))
                a.emit(.vpmuludq, r(s1), r(s1), r(q))
                a.emit(.vpsrlq, r(s2), r(q), .imm(32))
                a.emit(.vpmuludq, r(s2), r(s2), r(p))
                a.emit(.vpaddq, r(s1), r(s1), r(s2))
                a.emit(.vpsllq, r(s1), r(s1), .imm(32))
                a.emit(.vpmuludq, r(d), r(p), r(q))
                a.emit(.vpaddq, r(d), r(d), r(s1))
            case .min:
                a.emit(.vpcmpgtq, r(scratch[0]), r(q), r(p))  // q > p, i.e. p < q
                a.emit(.vblendvpd, r(d), r(q), r(p), r(scratch[0]))
            case .max:
                a.emit(.vpcmpgtq, r(scratch[0]), r(p), r(q))  // p > q
                a.emit(.vblendvpd, r(d), r(q), r(p), r(scratch[0]))
            case .div:
                break  // rejected in run()
            }
            return
        }
        let inst: X86.Instruction
        switch (op, isF32, scalarOnly) {
        case (.add, true, false): inst = .vaddps
        case (.add, false, false): inst = .vaddpd
        case (.sub, true, false): inst = .vsubps
        case (.sub, false, false): inst = .vsubpd
        case (.mul, true, false): inst = .vmulps
        case (.mul, false, false): inst = .vmulpd
        case (.div, true, false): inst = .vdivps
        case (.div, false, false): inst = .vdivpd
        case (.min, true, false): inst = .vminps
        case (.min, false, false): inst = .vminpd
        case (.max, true, false): inst = .vmaxps
        case (.max, false, false): inst = .vmaxpd
        case (.add, true, true): inst = .vaddss
        case (.add, false, true): inst = .vaddsd
        case (.min, true, true): inst = .vminss
        case (.min, false, true): inst = .vminsd
        case (.max, true, true): inst = .vmaxss
        case (.max, false, true): inst = .vmaxsd
        default: inst = .vaddss
        }
        a.emit(inst, r(d), r(p), r(q))
    }

    private mutating func emitNeg(_ d: Int, _ s: Int) {
        if isInt {
            a.emit(.vpxor, y(scratch[0]), y(scratch[0]), y(scratch[0]))
            a.emit(.vpsubq, y(d), y(scratch[0]), y(s))
        } else {
            a.emit(isF32 ? .vxorps : .vxorpd, y(d), y(s), y(signMask!))
        }
    }

    private mutating func emitAbs(_ d: Int, _ s: Int) {
        if isInt {
            let zero = scratch[0]
            let neg = scratch[1]
            a.emit(.vpxor, y(zero), y(zero), y(zero))
            a.emit(.vpsubq, y(neg), y(zero), y(s))
            a.emit(.vpcmpgtq, y(zero), y(zero), y(s))  // 0 > s
            a.emit(.vblendvpd, y(d), y(s), y(neg), y(zero))
        } else {
            a.emit(isF32 ? .vandps : .vandpd, y(d), y(s), y(absMask!))
        }
    }

    // MARK: - Storing kernels

    private mutating func emitStoreLoops(nonTemporal: Bool, done: X86.Label) {
        let result = program.output.value
        let step = unroll * width
        let mainLoop = a.newLabel()
        let mainDone = a.newLabel()
        let single = a.newLabel()
        let partial = a.newLabel()
        // limit = count rounded down to a multiple of the step.
        a.mov(limit, count)
        a.emit(.and, .gpr(limit), .imm(Int64(-step)))
        a.cmp(index, limit)
        a.j(.ge, mainDone)
        a.align(16)
        a.bind(mainLoop)
        emitBody(copies: unroll, offsets: Array(0..<unroll), masked: false)
        for u in 0..<unroll { store(registers[u][result], vector: u, masked: false, nonTemporal: nonTemporal) }
        a.add(index, Int64(step))
        a.cmp(index, limit)
        a.j(.l, mainLoop)
        a.bind(mainDone)
        // Non-temporal stores are weakly ordered: fence them before anything else is stored.
        if nonTemporal { a.sfence() }
        // Whole vectors left: while index <= count - width.
        a.mov(limit, count)
        a.sub(limit, Int64(width))
        a.bind(single)
        a.cmp(index, limit)
        a.j(.g, partial)
        emitBody(copies: 1, offsets: [0], masked: false)
        store(registers[0][result], vector: 0, masked: false, nonTemporal: false)
        a.add(index, Int64(width))
        a.jmp(single)
        a.bind(partial)
        // 1 ..< width elements left, or none.
        a.mov(limit, count)
        a.sub(limit, index)
        a.j(.le, done)
        emitTailMask()
        emitBody(copies: 1, offsets: [0], masked: true)
        store(registers[0][result], vector: 0, masked: true, nonTemporal: false)
        a.jmp(done)
    }

    // MARK: - Reductions

    private mutating func emitReduction(_ r: ReductionOp) {
        let value = program.output.value
        // Identity in every accumulator lane.
        for acc in accumulators {
            switch (r, elem) {
            case (.sum, _): a.emit(.vpxor, y(acc), y(acc), y(acc))
            case (.min, .f32):
                a.emit(.vbroadcastss, y(acc), .mem(X86.ptr(a.constant(float32: [.infinity], alignment: 4))))
            case (.max, .f32):
                a.emit(.vbroadcastss, y(acc), .mem(X86.ptr(a.constant(float32: [-.infinity], alignment: 4))))
            case (.min, .float):
                a.emit(.vbroadcastsd, y(acc), .mem(X86.ptr(a.constant(float64: [.infinity], alignment: 8))))
            case (.max, .float):
                a.emit(.vbroadcastsd, y(acc), .mem(X86.ptr(a.constant(float64: [-.infinity], alignment: 8))))
            case (.min, .int):
                a.emit(.vbroadcastsd, y(acc), .mem(X86.ptr(a.constant(int64: [Int64.max], alignment: 8))))
            case (.max, .int):
                a.emit(.vbroadcastsd, y(acc), .mem(X86.ptr(a.constant(int64: [Int64.min], alignment: 8))))
            }
        }
        let arith: Arith = r == .sum ? .add : r == .min ? .min : .max
        let group = 4 * width
        let mainLoop = a.newLabel()
        let mainDone = a.newLabel()
        let combine = a.newLabel()
        a.mov(limit, count)
        a.emit(.and, .gpr(limit), .imm(Int64(-group)))
        a.cmp(index, limit)
        a.j(.ge, mainDone)
        a.align(16)
        a.bind(mainLoop)
        // Vectors 0..3 of the group go to accumulators 0..3, `unroll` of them interleaved at a time.
        var k = 0
        while k < 4 {
            let n = min(unroll, 4 - k)
            emitBody(copies: n, offsets: Array(k..<(k + n)), masked: false)
            for u in 0..<n {
                let acc = accumulators[k + u]
                emitArith(arith, acc, acc, registers[u][value])
            }
            k += n
        }
        a.add(index, Int64(group))
        a.cmp(index, limit)
        a.j(.l, mainLoop)
        a.bind(mainDone)
        // Fewer than 4 vectors left: vector k of the group goes to accumulator k.
        for k in 0..<4 {
            let partial = a.newLabel()
            a.mov(limit, count)
            a.sub(limit, index)
            a.j(.le, combine)
            a.cmp(limit, Int64(width))
            a.j(.l, partial)
            emitBody(copies: 1, offsets: [0], masked: false)
            emitArith(arith, accumulators[k], accumulators[k], registers[0][value])
            a.add(index, Int64(width))
            let next = a.newLabel()
            a.jmp(next)
            a.bind(partial)
            emitTailMask()
            emitBody(copies: 1, offsets: [0], masked: true)
            // Only the lanes that exist change the accumulator.
            let t = registers[0][value]
            emitArith(arith, t, accumulators[k], t)
            a.emit(isF32 ? .vblendvps : .vblendvpd, y(accumulators[k]), y(accumulators[k]), y(t), y(mask))
            a.jmp(combine)
            a.bind(next)
        }
        a.bind(combine)
        emitCombine(arith)
    }

    /// (A0∘A1)∘(A2∘A3), then halves, quarters, last pair; the result goes to *result.
    private mutating func emitCombine(_ op: Arith) {
        let acc = accumulators
        emitArith(op, acc[0], acc[0], acc[1])
        emitArith(op, acc[2], acc[2], acc[3])
        emitArith(op, acc[0], acc[0], acc[2])
        let v = acc[0]
        let hi = acc[1]
        let t = acc[2]
        a.emit(isInt ? .vextracti128 : .vextractf128, x(hi), y(v), .imm(1))
        emitArith(op, v, v, hi, xmm: true)  // w[j] = v[j] ∘ v[j + W/2]
        if isF32 {
            a.emit(.vmovhlps, x(t), x(v), x(v))  // t[0..1] = w[2..3]
            emitArith(op, v, v, t, xmm: true)  // x[j] = w[j] ∘ w[j + 2]
            a.emit(.vshufps, x(t), x(v), x(v), .imm(0x55))  // t[0] = x[1]
            emitArith(op, v, v, t, scalarOnly: true)
            a.pop(.r8)
            a.push(.r8)
            a.emit(.vmovss, .mem(X86.ptr(.r8).dword), x(v))
        } else {
            if isInt {
                a.emit(.vpshufd, x(t), x(v), .imm(0xEE))  // t[0] = w[1]
                emitArith(op, v, v, t, xmm: true)
            } else {
                a.emit(.vunpckhpd, x(t), x(v), x(v))  // t[0] = w[1]
                emitArith(op, v, v, t, scalarOnly: true)
            }
            a.pop(.r8)
            a.push(.r8)
            a.emit(.vmovq, .mem(X86.ptr(.r8).qword), x(v))
        }
    }
}
