// Kernel lowering: a KernelProgram (Bytecode/Kernel.swift) becomes one AVX2/FMA loop of machine code
// that computes exactly what the interpreter's KernelEvaluator computes, bit for bit.
//
// The native entry point follows the SysV ABI:
//
//     int64_t kernel(const void **inputs,      // rdi: data of the array inputs, in input order
//                    const uint64_t *scalars,  // rsi: bits of the scalar inputs
//                    int64_t count,            // rdx: elements
//                    void *output,             // rcx: the output array (storing kernels)
//                    uint64_t *result,         // r8:  the reduction's result bits (reductions)
//                    int64_t flags)            // r9:  bit 0: use non-temporal stores
//     returns 0, or 1 when an integer division (or %) by zero stopped it
//
// A step handles W elements: 8 when the kernel has f32 values, else 4 (VectorBuilder.swift: how values
// of 32- and 64-bit lanes occupy registers at each width). A bool value is a mask of W lanes: 32-bit
// lanes at W = 8, 64-bit lanes at W = 4. Each op becomes vector code on virtual registers (VectorCode);
// the math functions come from MathLibrary through VectorBuilder, so they are the interpreter's
// algorithm instruction for instruction. Each loop body is allocated on its own (its live intervals colored
// by RegisterAllocator, spilling to the frame).
//
// Frame (rsp 32-byte aligned after the pushes; rbp keeps the caller's rsp):
//
//     [rsp + 0]          64 bytes   lane-by-lane integer division (dividends, divisors)
//     [rsp + 64]         32 bytes   the result pointer; the bool count of count/any/all reductions
//     [rsp + 96]         32·k       tail masks: 32-bit lanes, then 64-bit lanes (one or two), tail bits
//     [rsp + …]          32·s       broadcast scalar inputs, one slot each
//     [rsp + …]          32·n       spill slots of the bodies
//
// Layout of the code:
//
//     prologue   push rbp and the callee-saved GPRs it uses; align rsp; broadcast the scalars into the
//                frame; load the input pointers into GPRs (at most 7 inputs)
//     main loop  U steps per iteration (U = 4, 2 or 1: the most that need no spill), interleaved op by
//                op; storing kernels have a second copy with non-temporal stores, chosen by `flags`
//     tail       single steps, then one partial step with masked loads and stores (vmaskmov*:
//                masked-out lanes are neither read nor written; bools are read and written 8 or 4 bytes
//                at a time, within the array's padding to a 64-byte multiple)
//     reduction  four accumulator registers take vectors 0..3 of each group of 4 vectors, so element i
//                lands in lane i % lanes as in the evaluator; a partial vector is merged with a blend;
//                then (A0∘A1)∘(A2∘A3), halves, quarters, last pair — the evaluator's `combineLanes`.
//                count/any/all of bools add popcounts of vmovmsk into the frame
//     epilogue   sfence after non-temporal stores, vzeroupper, pops, ret
//
// Invariants the asynchronous-preemption path relies on (DESIGN.md): the code calls nothing, takes
// no lock, touches no memory below rsp (no red zone: the signal handler pushes a return address
// there), and keeps every value in registers or in its own frame. So every instruction is an async
// safe point.
//
// The 512-bit lowering (KernelISA.avx512): the same program at twice the width (16 elements per step
// for f32 kernels, else 8), bodies built by the same VectorBuilder at 16 lanes of 32 bits and written by
// VectorEmitter512 (ZMM registers 0–31, opmask k1/k2). Vector slots of the frame are 64 bytes, and the
// frame 64-byte aligned. The reduction keeps the AVX2 association order exactly: two ZMM accumulators
// hold the four YMM accumulators side by side ([A0 | A1], [A2 | A3]), so element i still lands in lane
// i % L of accumulator (i / L) % 4 (L the AVX2 lanes); a partial step is merged under an opmask; the
// combine first folds each ZMM's high half onto its low half (A0∘A1, A2∘A3) and then runs the AVX2
// combine unchanged. A kernel the 512-bit path cannot lower would keep its AVX2 code,
// counted and named by `--stats` (JITStatistics.avx512Fallbacks); today there is none such.

final class KernelLowering {
    enum Unsupported: Error, CustomStringConvertible {
        case tooManyInputs(Int)
        case invalid(String)
        case assembler(String)
        /// Only for the 512-bit lowering: the kernel needs what it does not lower (AVX2 code instead).
        case notAt512(String)

        var description: String {
            switch self {
            case .notAt512(let why): "not lowered at 512 bits: \(why)"
            case .tooManyInputs(let n): "\(n) array inputs (at most 7 fit in registers)"
            case .invalid(let why): "invalid kernel program: \(why)"
            case .assembler(let e): "assembler: \(e)"
            }
        }
    }

    let program: KernelProgram
    var a = X86Assembler()
    /// Elements per step.
    let width: Int
    let isa: KernelISA
    /// The 512-bit lowering.
    let wide: Bool
    /// 32-bit lanes of a full vector register (8: YMM, 16: ZMM), and its bytes.
    let lanes32: Int
    let vectorBytes: Int32

    // GPRs.
    let index = X86.GPR.r9
    let count = X86.GPR.r10
    let limit = X86.GPR.r8
    let output = X86.GPR.rcx
    static let inputRegisterOrder: [X86.GPR] = [.rsi, .rbx, .r12, .r13, .r14, .r15, .rdi]
    static let calleeSaved: Set<X86.GPR> = [.rbx, .r12, .r13, .r14, .r15]
    let inputRegisters: [X86.GPR]

    // Frame.
    // (At 512 bits: 128 bytes of lane-by-lane division, the result pointer at 128, the bool count at 136.)
    let tempArea = X86.ptr(.rsp, 0)
    var resultSlot: X86.Mem { X86.ptr(.rsp, wide ? 128 : 64) }
    var boolCountSlot: X86.Mem { X86.ptr(.rsp, wide ? 136 : 72) }
    // (At 512 bits: tail masks at 192, 256 and 320, tail bits at 384, scalars from 448.)
    var tailMask32Slot: X86.Mem { X86.ptr(.rsp, wide ? 192 : 96) }
    func tailMask64Slot(_ part: Int) -> X86.Mem {
        X86.ptr(.rsp, wide ? Int32(256 + 64 * part) : Int32(128 + 32 * part))
    }
    var tailBitsSlot: X86.Mem { X86.ptr(.rsp, wide ? 384 : 192) }
    var scalarBase: Int32 { wide ? 448 : 224 }
    var spillBase: Int32 { scalarBase + vectorBytes * Int32(program.scalarInputs.count) }
    var frameSize = 0

    let divideError: X86.Label
    /// Reduction accumulators (pinned registers): four YMM, or two ZMM holding two YMM each.
    var accumulators: [Int] { wide ? [9, 10] : [9, 10, 11, 12] }
    /// 256 × 8 bytes: entry m holds byte k = bit k of m (bool stores from vmovmsk).
    lazy var boolTable: X86.Label = {
        var bytes: [UInt8] = []
        for m in 0..<256 { for k in 0..<8 { bytes.append(UInt8((m >> k) & 1)) } }
        return a.constant(bytes: bytes, alignment: 64)
    }()

    init(program: KernelProgram, isa: KernelISA) {
        self.program = program
        self.isa = isa
        wide = isa == .avx512
        lanes32 = wide ? 16 : 8
        vectorBytes = wide ? 64 : 32
        let hasF32 = program.types.contains(.f32)
        let allBool = program.types.allSatisfy { $0 == .bool }
        width = (hasF32 || allBool ? 8 : 4) * (wide ? 2 : 1)
        inputRegisters = Array(Self.inputRegisterOrder.prefix(program.arrayInputs.count))
        divideError = a.newLabel()
    }

    static func lower(_ program: KernelProgram, isa: KernelISA = .avx2) throws(Unsupported) -> [UInt8] {
        if let problem = program.validate() { throw .invalid(problem) }
        guard program.arrayInputs.count <= inputRegisterOrder.count else {
            throw .tooManyInputs(program.arrayInputs.count)
        }
        return try KernelLowering(program: program, isa: isa).run()
    }

    // MARK: - Lanes and shapes

    func lane(_ k: ElementKind) -> Lane {
        switch k {
        case .f32: .f32
        case .float: .f64
        case .int: .i64
        case .bool: width == lanes32 ? .i32 : .i64
        }
    }

    func parts(_ k: ElementKind) -> Int { (k == .float || k == .int) && width == lanes32 ? 2 : 1 }

    // MARK: - Driver

    func run() throws(Unsupported) -> [UInt8] {
        switch program.output {
        case .store:
            // Plan the bodies first: the frame size depends on their spills.
            let single = storingBody(steps: 1, tail: false, nonTemporal: false)
            let (unroll, main) = bestStoringBody(single)
            let kind = program.element
            let mainNT = main.withStores(VectorOps.nonTemporalStore(lane(kind)))
            let tail = storingBody(steps: 1, tail: true, nonTemporal: false)
            try check([main, single, tail])
            reserveFrame([main, mainNT, single, tail])
            emitPrologue()
            let nt = a.newLabel()
            let done = a.newLabel()
            a.test(.r9, 1)
            a.mov(index, 0)
            a.j(.ne, nt)
            emitStoreLoops(unroll: unroll, main: main, single: single, tail: tail, nonTemporal: false, done: done)
            a.bind(nt)
            emitStoreLoops(unroll: unroll, main: mainNT, single: single, tail: tail, nonTemporal: true, done: done)
            a.bind(done)
            if program.element != .bool { a.sfence() }
        case .reduce(let r, _):
            if program.element == .bool {
                let single = boolCountBody(steps: 1, tail: false)
                let (unroll, main) = bestBoolCountBody(single)
                let tail = boolCountBody(steps: 1, tail: true)
                try check([main, single, tail])
                reserveFrame([main, single, tail])
                emitPrologue()
                a.mov(index, 0)
                emitBoolCount(r, unroll: unroll, main: main, single: single, tail: tail)
            } else {
                let stepsPerGroup = accumulators.count / parts(program.element)
                let parts = parts(program.element)
                // Step k of a group differs from step 0 only in its accumulators (pinned registers).
                func retarget(_ c: VectorCode, _ k: Int) -> VectorCode {
                    c.withAccumulators(
                        Dictionary(
                            uniqueKeysWithValues: (0..<parts).map { (accumulators[$0], accumulators[k * parts + $0]) }))
                }
                let single = reductionBody(r, steps: [0], tail: false, atIndex: true)
                let tail = reductionBody(r, steps: [0], tail: true, atIndex: true)
                // One group of 4 accumulator vectors per iteration, in chunks of interleaved steps: 4 or 2
                // when the single step leaves room, else one at a time.
                var chunk = 1
                if !single.spilled && !Self.hasRegions(single) {
                    for c in [4, 2] where c <= stepsPerGroup && chunk == 1 {
                        if !reductionBody(r, steps: Array(0..<c), tail: false).spilled { chunk = c }
                    }
                }
                let singles = (0..<stepsPerGroup).map { retarget(single, $0) }
                let tails = (0..<stepsPerGroup).map { retarget(tail, $0) }
                var mains: [VectorCode] = []
                var k = 0
                while k < stepsPerGroup && chunk > 1 {
                    mains.append(reductionBody(r, steps: Array(k..<min(k + chunk, stepsPerGroup)), tail: false))
                    k += chunk
                }
                try check(mains + singles + tails)
                reserveFrame(mains + singles + tails)
                emitPrologue()
                a.mov(index, 0)
                emitReduction(r, mains: mains, singles: singles, tails: tails)
            }
        }
        emitEpilogue()
        do {
            return try a.finalize()
        } catch {
            throw .assembler(error.description)
        }
    }

    /// The storing body with the most interleaved steps (4, 2, 1) that needs no spill; a single step
    /// that already spills or branches (math slow paths) is not interleaved at all.
    func bestStoringBody(_ single: VectorCode) -> (Int, VectorCode) {
        if single.spilled || Self.hasRegions(single) { return (1, single) }
        for u in [4, 2] {
            let b = storingBody(steps: u, tail: false, nonTemporal: false)
            if !b.spilled { return (u, b) }
        }
        return (1, single)
    }

    func bestBoolCountBody(_ single: VectorCode) -> (Int, VectorCode) {
        if single.spilled || Self.hasRegions(single) { return (1, single) }
        for u in [4, 2] {
            let b = boolCountBody(steps: u, tail: false)
            if !b.spilled { return (u, b) }
        }
        return (1, single)
    }

    static func hasRegions(_ c: VectorCode) -> Bool {
        c.regionCount > 0
    }

    func reserveFrame(_ bodies: [VectorCode]) {
        let spills = bodies.map(\.spillSlots).max() ?? 0
        frameSize = Int(spillBase) + Int(vectorBytes) * spills
    }

    /// At 512 bits, throws when a body needs what VectorEmitter512 does not lower.
    func check(_ bodies: [VectorCode]) throws(Unsupported) {
        guard wide else { return }
        for b in bodies { if let why = VectorEmitter512.unsupported(b) { throw .notAt512(why) } }
    }

    var availableRegisters: [Int] { wide ? VectorEmitter512.allocatable : Array(0..<13) }

    // MARK: - Bodies

    /// A builder whose constants go to this assembler's data section.
    func makeBuilder() -> VectorBuilder {
        let copies = Int(vectorBytes) / 8
        let alignment = Int(vectorBytes)
        return VectorBuilder(
            width: width, lanes32: lanes32,
            constant: { [unowned self] bits, _ in
                X86.ptr(
                    a.constant(int64: Array(repeating: Int64(bitPattern: bits), count: copies), alignment: alignment))
            })
    }

    /// `steps` steps of a storing kernel, step u at elements index + u·W.
    func storingBody(steps: Int, tail: Bool, nonTemporal: Bool) -> VectorCode {
        let b = makeBuilder()
        let values = compute(b, steps: Array(0..<steps), tail: tail)
        for (u, v) in values.enumerated() { store(b, v, step: u, tail: tail, nonTemporal: nonTemporal) }
        b.code.allocate(available: availableRegisters, spillBase: spillBase, slotBytes: vectorBytes)
        return b.code
    }

    /// Steps of a numeric reduction: step s of the group goes to accumulators s·parts ..< (s+1)·parts.
    /// Step k is at elements index + k·W, or at index itself with `atIndex` (the one-step tails).
    func reductionBody(_ r: ReductionOp, steps: [Int], tail: Bool, atIndex: Bool = false) -> VectorCode {
        let b = makeBuilder()
        let offsets = atIndex ? steps.map { _ in 0 } : steps
        let values = compute(b, steps: offsets, tail: tail)
        let kind = program.element
        for (k, v) in values.enumerated() {
            for p in 0..<v.count {
                let acc = accumulators[steps[k] * v.count + p]
                let mask: VReg? = tail ? tailMask(b, kind, part: p) : nil
                b.code.effect(.accumulate(acc, Self.accumulation(r, kind), mask: mask), .nop, [v[p]])
            }
        }
        b.code.allocate(
            available: availableRegisters.filter { !accumulators.contains($0) }, spillBase: spillBase,
            slotBytes: vectorBytes)
        return b.code
    }

    static func accumulation(_ r: ReductionOp, _ kind: ElementKind) -> Accumulation {
        let lane: Lane =
            switch kind {
            case .f32: .f32
            case .float: .f64
            case .int, .bool: .i64
            }
        return Accumulation(step: VectorOps.reductionStep(r), lane: lane)
    }

    /// count/any/all: popcounts of the masks of `steps` steps added to the frame's counter.
    func boolCountBody(steps: Int, tail: Bool) -> VectorCode {
        let b = makeBuilder()
        let values = compute(b, steps: Array(0..<steps), tail: tail)
        for v in values {
            b.code.effect(
                .countBools(boolCountSlot, single: width == lanes32, tailBits: tail ? tailBitsSlot : nil), .nop,
                [v[0]])
        }
        b.code.allocate(available: availableRegisters, spillBase: spillBase, slotBytes: vectorBytes)
        return b.code
    }

    func tailMask(_ b: VectorBuilder, _ kind: ElementKind, part: Int) -> VReg {
        kind == .f32 || (kind == .bool && width == lanes32)
            ? b.code.memoryValue(tailMask32Slot) : b.code.memoryValue(tailMask64Slot(part))
    }

    // MARK: - Stores

    func store(_ b: VectorBuilder, _ v: [VReg], step: Int, tail: Bool, nonTemporal: Bool) {
        let kind = program.element
        if kind == .bool {
            // W bytes from vmovmsk through the 0/1 byte table (the tail writes into the padding too).
            b.code.effect(
                .storeBools(
                    X86.ptr(output, index: index, scale: 1, Int32(step * width)), single: width == lanes32,
                    table: boolTable), .nop, [v[0]])
            return
        }
        for p in 0..<v.count {
            let mem = element(output, kind, step: step, part: p)
            if tail {
                b.code.effect(.maskedStore(mem), VectorOps.maskedMove(lane(kind)), [tailMask(b, kind, part: p), v[p]])
            } else if nonTemporal {
                b.code.effect(.store(mem), VectorOps.nonTemporalStore(lane(kind)), [v[p]])
            } else {
                b.code.effect(.store(mem), .vmovups, [v[p]])
            }
        }
    }

    // MARK: - Prologue and epilogue

    var pushed: [X86.GPR] { inputRegisters.filter { Self.calleeSaved.contains($0) } }

    func emitPrologue() {
        a.push(.rbp)
        a.mov(.rbp, .rsp)
        for r in pushed { a.push(r) }
        a.emit(.and, .gpr(.rsp), .imm(-Int64(vectorBytes)))
        a.sub(.rsp, Int64((frameSize + Int(vectorBytes) - 1) & ~(Int(vectorBytes) - 1)))
        a.mov(resultSlot, .r8)
        a.emit(.mov, .mem(boolCountSlot.qword), .imm(0))
        a.mov(count, .rdx)
        // Scalars, broadcast into their frame slots (a bool becomes an all-ones or all-zeros mask).
        for (k, kind) in program.scalarInputs.enumerated() {
            let slot = scalarBase + vectorBytes * Int32(k)
            a.mov(.rax, X86.ptr(.rsi, Int32(8 * k)))
            switch kind {
            case .f32:
                a.emit(.mov, .gpr(.eax), .gpr(.eax))  // zero the high half
                a.mov(.rdx, .rax)
                a.emit(.shl, .gpr(.rdx), .imm(32))
                a.emit(.or, .gpr(.rax), .gpr(.rdx))
            case .bool:
                a.neg(.rax)
            case .int, .float:
                break
            }
            for q in 0..<Int(vectorBytes) / 8 { a.mov(X86.ptr(.rsp, slot + Int32(8 * q)), .rax) }
        }
        // Input pointers; rdi (the inputs array) and rsi are overwritten last.
        for (k, r) in inputRegisters.enumerated() where r != .rdi && r != .rsi {
            a.mov(r, X86.ptr(.rdi, Int32(k * 8)))
        }
        if let k = inputRegisters.firstIndex(of: .rsi) { a.mov(.rsi, X86.ptr(.rdi, Int32(k * 8))) }
        if let k = inputRegisters.firstIndex(of: .rdi) { a.mov(.rdi, X86.ptr(.rdi, Int32(k * 8))) }
    }

    func emitEpilogue() {
        let exit = a.newLabel()
        a.xor(.eax, .eax)
        a.bind(exit)
        a.emit(.vzeroupper)
        a.lea(.rsp, X86.ptr(.rbp, Int32(-8 * pushed.count)))
        for r in pushed.reversed() { a.pop(r) }
        a.pop(.rbp)
        a.ret()
        // Integer division by zero: return 1 (the interpreter reports the error).
        a.bind(divideError)
        a.mov(.rax, 1)
        a.jmp(exit)
    }

    var emitter: VectorEmitter {
        VectorEmitter(count: count, index: index, divideError: divideError, temp: tempArea)
    }

    /// Writes a body with the emitter of this kernel's instruction set.
    func emitBody(_ c: VectorCode) {
        if wide {
            VectorEmitter512(count: count, index: index, divideError: divideError, temp: tempArea).emit(c, into: &a)
        } else {
            emitter.emit(c, into: &a)
        }
    }

    // MARK: - Loops

    func emitStoreLoops(
        unroll: Int, main: VectorCode, single: VectorCode, tail: VectorCode, nonTemporal: Bool, done: X86.Label
    ) {
        emitUnrolledLoop(main, step: unroll * width)
        // Non-temporal stores are weakly ordered: fence them before anything else is stored.
        if nonTemporal { a.sfence() }
        emitSingleSteps(single, tail, end: done)
    }

    /// The main loop: `main` (unrolled steps) while a whole `step` of elements is left, up to the count
    /// rounded down to a multiple of the step (in `limit`).
    func emitUnrolledLoop(_ main: VectorCode, step: Int) {
        let mainLoop = a.newLabel()
        let mainDone = a.newLabel()
        a.mov(limit, count)
        a.emit(.and, .gpr(limit), .imm(Int64(-step)))
        a.cmp(index, limit)
        a.j(.ge, mainDone)
        a.align(16)
        a.bind(mainLoop)
        emitBody(main)
        a.add(index, Int64(step))
        a.cmp(index, limit)
        a.j(.l, mainLoop)
        a.bind(mainDone)
    }

    /// Whole steps while index <= count - W, then 1 ..< W elements under the tail masks (or none).
    func emitSingleSteps(_ single: VectorCode, _ tail: VectorCode, end: X86.Label) {
        let loop = a.newLabel()
        let partial = a.newLabel()
        a.mov(limit, count)
        a.sub(limit, Int64(width))
        a.bind(loop)
        a.cmp(index, limit)
        a.j(.g, partial)
        emitBody(single)
        a.add(index, Int64(width))
        a.jmp(loop)
        a.bind(partial)
        a.mov(limit, count)
        a.sub(limit, index)
        a.j(.le, end)
        emitTailMasks()
        emitBody(tail)
        a.jmp(end)
    }

    /// The tail masks for `limit` (1 ..< W) elements left: lanes below it, as 32-bit lanes and as 64-bit
    /// lanes (one or two registers), and as the low bits of a vmovmsk result.
    func emitTailMasks() {
        if wide { return emitTailMasks512() }
        let ymm13 = X86.Operand.ymm(X86.YMM(number: 13)!)
        let ymm14 = X86.Operand.ymm(X86.YMM(number: 14)!)
        let xmm15 = X86.Operand.xmm(X86.XMM(number: 15)!)
        a.emit(.vmovq, xmm15, .gpr(limit))
        a.emit(.vpbroadcastd, ymm14, xmm15)
        a.emit(.vpcmpgtd, ymm13, ymm14, .mem(X86.ptr(a.constant(int32: (0..<8).map { Int32($0) }))))
        a.emit(.vmovups, .mem(tailMask32Slot), ymm13)
        a.emit(.vpbroadcastq, ymm14, xmm15)
        for p in 0..<(width == 8 ? 2 : 1) {
            a.emit(.vpcmpgtq, ymm13, ymm14, .mem(X86.ptr(a.constant(int64: (0..<4).map { Int64(4 * p + $0) }))))
            a.emit(.vmovups, .mem(tailMask64Slot(p)), ymm13)
        }
        // (1 << limit) - 1, through rcx's low byte (rcx is saved in rdx around it).
        a.mov(.rdx, .rcx)
        a.mov(.rcx, limit)
        a.mov(.rax, 1)
        a.emit(.shl, .gpr(.rax), .gpr(.cl))
        a.mov(.rcx, .rdx)
        a.sub(.rax, 1)
        a.mov(tailBitsSlot, .rax)
    }

    /// emitTailMasks at 512 bits: lane compares into k1, made vectors by vpmovm2d/q.
    func emitTailMasks512() {
        let xmm15 = X86.Operand.xmm(X86.XMM(number: 15)!)
        a.emit(.vmovq, xmm15, .gpr(limit))
        a.evex(.vpbroadcastd, reg: 14, rm: .register(15), disp8Scale: 4)
        let laneNumbers = a.constant(int32: (0..<16).map { Int32($0) }, alignment: 64)
        a.evex(.vpcmpgtd, reg: 1, vvvv: 14, rm: .memory(X86.ptr(laneNumbers)))
        a.evex(.vpmovm2d, reg: 13, rm: .register(1))
        a.evex(.vmovupsStore, reg: 13, rm: .memory(tailMask32Slot))
        a.evex(.vpbroadcastq, reg: 14, rm: .register(15), disp8Scale: 8)
        for p in 0..<(width == lanes32 ? 2 : 1) {
            let lanes64 = a.constant(int64: (0..<8).map { Int64(8 * p + $0) }, alignment: 64)
            a.evex(.vpcmpgtq, reg: 1, vvvv: 14, rm: .memory(X86.ptr(lanes64)))
            a.evex(.vpmovm2q, reg: 13, rm: .register(1))
            a.evex(.vmovupsStore, reg: 13, rm: .memory(tailMask64Slot(p)))
        }
        a.mov(.rdx, .rcx)
        a.mov(.rcx, limit)
        a.mov(.rax, 1)
        a.emit(.shl, .gpr(.rax), .gpr(.cl))
        a.mov(.rcx, .rdx)
        a.sub(.rax, 1)
        a.mov(tailBitsSlot, .rax)
    }

    // MARK: - Reductions

    func emitBoolCount(_ r: ReductionOp, unroll: Int, main: VectorCode, single: VectorCode, tail: VectorCode) {
        let done = a.newLabel()
        emitUnrolledLoop(main, step: unroll * width)
        emitSingleSteps(single, tail, end: done)
        a.bind(done)
        // count, any, all from the number of true lanes.
        a.mov(.rax, boolCountSlot)
        switch r {
        case .any:
            a.xor(.edx, .edx)
            a.test(.rax, .rax)
            a.set(.ne, .dl)
            a.mov(.rax, .rdx)
        case .all:
            a.xor(.edx, .edx)
            a.cmp(.rax, count)
            a.set(.e, .dl)
            a.mov(.rax, .rdx)
        case .count, .sum, .min, .max:
            break
        }
        a.mov(.r8, resultSlot)
        a.mov(X86.ptr(.r8), .rax)
    }

    func emitReduction(_ r: ReductionOp, mains: [VectorCode], singles: [VectorCode], tails: [VectorCode]) {
        let combine = a.newLabel()
        emitIdentity(r)
        let stepsPerGroup = singles.count
        let groupElements = stepsPerGroup * width
        let mainLoop = a.newLabel()
        let mainDone = a.newLabel()
        a.mov(limit, count)
        a.emit(.and, .gpr(limit), .imm(Int64(-groupElements)))
        a.cmp(index, limit)
        a.j(.ge, mainDone)
        a.align(16)
        a.bind(mainLoop)
        if mains.isEmpty {
            // One step at a time (math-heavy steps): the single steps, each at the index it advances.
            for m in singles {
                emitBody(m)
                a.add(index, Int64(width))
            }
        } else {
            for m in mains { emitBody(m) }
            a.add(index, Int64(groupElements))
        }
        a.cmp(index, limit)
        a.j(.l, mainLoop)
        a.bind(mainDone)
        // Fewer than a group left: step k of the group goes to its accumulators.
        for k in 0..<stepsPerGroup {
            let partial = a.newLabel()
            let next = a.newLabel()
            a.mov(limit, count)
            a.sub(limit, index)
            a.j(.le, combine)
            a.cmp(limit, Int64(width))
            a.j(.l, partial)
            emitBody(singles[k])
            a.add(index, Int64(width))
            a.jmp(next)
            a.bind(partial)
            emitTailMasks()
            emitBody(tails[k])
            a.jmp(combine)
            a.bind(next)
        }
        a.bind(combine)
        emitCombine(r)
    }

    func y(_ r: Int) -> X86.Operand { .ymm(X86.YMM(number: r)!) }
    func x(_ r: Int) -> X86.Operand { .xmm(X86.XMM(number: r)!) }

    func emitIdentity(_ r: ReductionOp) {
        let bits: UInt64
        switch (r, program.element) {
        case (.min, .f32): bits = UInt64(Float.infinity.bitPattern) * 0x1_0000_0001
        case (.max, .f32): bits = UInt64((-Float.infinity).bitPattern) * 0x1_0000_0001
        case (.min, .float): bits = Double.infinity.bitPattern
        case (.max, .float): bits = (-Double.infinity).bitPattern
        case (.min, .int): bits = UInt64(bitPattern: Int64.max)
        case (.max, .int): bits = UInt64(bitPattern: Int64.min)
        default: bits = 0
        }
        if wide {
            for acc in accumulators {
                let c = a.constant(int64: Array(repeating: Int64(bitPattern: bits), count: 8), alignment: 64)
                a.evex(.vmovupsLoad, reg: acc, rm: .memory(X86.ptr(c)))
            }
            return
        }
        for acc in accumulators {
            if bits == 0 {
                a.emit(.vpxor, y(acc), y(acc), y(acc))
            } else {
                let c = a.constant(int64: Array(repeating: Int64(bitPattern: bits), count: 4))
                a.emit(.vmovups, y(acc), .mem(X86.ptr(c)))
            }
        }
    }

    /// d = p ∘ q for the numeric reductions (int min/max through a compare and a blend).
    func combineStep(_ r: ReductionOp, _ d: Int, _ p: Int, _ q: Int, xmm: Bool, scalarOnly: Bool) {
        let narrow = xmm || scalarOnly
        func reg(_ n: Int) -> X86.Operand { narrow ? x(n) : y(n) }
        if program.element == .int {
            let greater = VectorOps.integerCompare(.gt, .i64).instruction
            switch r {
            case .sum, .count, .any, .all: a.emit(VectorOps.binary(.add, .i64), reg(d), reg(p), reg(q))
            case .min:
                a.emit(greater, reg(15), reg(q), reg(p))  // q > p, i.e. p < q
                a.emit(VectorOps.blend(.i64), reg(d), reg(q), reg(p), reg(15))
            case .max:
                a.emit(greater, reg(15), reg(p), reg(q))
                a.emit(VectorOps.blend(.i64), reg(d), reg(q), reg(p), reg(15))
            }
            return
        }
        let lane: Lane = program.element == .f32 ? .f32 : .f64
        a.emit(
            VectorOps.binary(VectorOps.reductionStep(r), lane, scalarOnly ? .scalar : .packed), reg(d), reg(p), reg(q))
    }

    /// (A0∘A1)∘(A2∘A3), then halves, quarters, last pair; the result goes to *result.
    func emitCombine(_ r: ReductionOp) {
        let isInt = program.element == .int
        if wide {
            // zmm9 = [A0 | A1], zmm10 = [A2 | A3]: ymm9 = A0∘A1, ymm11 = A2∘A3, then as AVX2.
            a.evex(.vextractf64x4, reg: 9, rm: .register(12), imm8: 1)
            combineStep(r, 9, 9, 12, xmm: false, scalarOnly: false)
            a.evex(.vextractf64x4, reg: 10, rm: .register(12), imm8: 1)
            a.emit(.vmovdqa, y(11), y(10))
            combineStep(r, 11, 11, 12, xmm: false, scalarOnly: false)
        } else {
            let acc = accumulators
            combineStep(r, acc[0], acc[0], acc[1], xmm: false, scalarOnly: false)
            combineStep(r, acc[2], acc[2], acc[3], xmm: false, scalarOnly: false)
        }
        combineStep(r, 9, 9, 11, xmm: false, scalarOnly: false)
        let v = 9
        let hi = 10
        let t = 11
        a.emit(isInt ? .vextracti128 : .vextractf128, x(hi), y(v), .imm(1))
        combineStep(r, v, v, hi, xmm: true, scalarOnly: false)  // w[j] = v[j] ∘ v[j + W/2]
        a.mov(.r8, resultSlot)
        if program.element == .f32 {
            a.emit(.vmovhlps, x(t), x(v), x(v))  // t[0..1] = w[2..3]
            combineStep(r, v, v, t, xmm: true, scalarOnly: false)  // x[j] = w[j] ∘ w[j + 2]
            a.emit(.vshufps, x(t), x(v), x(v), .imm(0x55))  // t[0] = x[1]
            combineStep(r, v, v, t, xmm: false, scalarOnly: true)
            a.emit(.vmovss, .mem(X86.ptr(.r8).dword), x(v))
        } else {
            if isInt {
                a.emit(.vpshufd, x(t), x(v), .imm(0xEE))  // t[0] = w[1]
                combineStep(r, v, v, t, xmm: true, scalarOnly: false)
            } else {
                a.emit(.vunpckhpd, x(t), x(v), x(v))  // t[0] = w[1]
                combineStep(r, v, v, t, xmm: false, scalarOnly: true)
            }
            a.emit(.vmovq, .mem(X86.ptr(.r8).qword), x(v))
        }
    }
}
