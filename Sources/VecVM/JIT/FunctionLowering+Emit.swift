// Function lowering, part 3: the machine code of one instruction (see FunctionLowering.swift).

extension FunctionLowering {
    // MARK: - One instruction

    /// d = l + r, l - r or l * r (`op` is addInt, subInt or mulInt), wrapping, in two-address form:
    /// in place where `d` is `l` (or `r` for the commutative two), `lea` for a sum into a third
    /// register, else a copy of `l` into `d` first — except for `d = l - d`, which goes through rax.
    /// (`d`, `l` and `r` are the slots' registers: two different slots may share one.)
    mutating func emitIntBinary(_ op: Opcode, _ d: X86.GPR, _ l: X86.GPR, _ r: X86.GPR) {
        func apply(_ d: X86.GPR, _ s: X86.GPR) {
            switch op {
            case .addInt: a.add(d, s)
            case .subInt: a.sub(d, s)
            case .mulInt: a.imul(d, s)
            default: preconditionFailure("emitIntBinary: \(op.name) is not an integer addition, subtraction or product")
            }
        }
        if d == l {
            apply(d, r)
        } else if d == r && op != .subInt {
            apply(d, l)
        } else if d == r {
            a.mov(.rax, l)
            a.sub(.rax, r)
            a.mov(d, .rax)
        } else if op == .addInt {
            a.lea(d, X86.ptr(l, index: r, scale: 1))
        } else {
            a.mov(d, l)
            apply(d, r)
        }
    }

    /// One instruction, with the spilled integers it reads loaded into the spill registers first
    /// and those it writes stored to their slots after (allocateWithSpills). Its definition may share
    /// a spill register with one of its operands: every emitter already allows a destination that
    /// is an operand's register (the coloring gives one to a value that dies there). Steps and calls
    /// read and write the slots themselves; forLoop stores its counter before its jump.
    mutating func emitSpilling(_ pc: Int) throws(Unsupported) {
        let ins = code[pc]
        guard !spilledInts.isEmpty, !isStep(ins), !FunctionLowering.leaves(ins), ins.opcode != .call else {
            try emit(pc)
            return
        }
        let e = effectsAt[pc]
        var uses: [Int] = []
        for (s, k) in e.uses where k == .int && spilledInts.contains(s) && !uses.contains(s) { uses.append(s) }
        let defs = Set(e.defs.filter { $0.1 == .int && spilledInts.contains($0.0) }.map(\.0))
        if uses.isEmpty && defs.isEmpty {
            try emit(pc)
            return
        }
        // A constant integer goes straight to its slot (also when its only reader is a division by
        // it, which emits no load: the slot is what a deopt's interpreter reads).
        if ins.opcode == .loadInt {
            a.mov(slotMem(ins.a).qword, Int64(ins.sBx))  // an imm32, sign-extended
            return
        }
        if ins.opcode == .loadConst {
            a.mov(.rax, Int64(bitPattern: constants[ins.bx]))
            a.mov(slotMem(ins.a).qword, .rax)
            return
        }
        let scratch = FunctionLowering.spillRegisters
        guard uses.count <= scratch.count else {
            throw Unsupported(reason: "\(ins.opcode.name) reads more than \(scratch.count) spilled integers")
        }
        for (i, s) in uses.enumerated() {
            a.mov(scratch[i], slotMem(s).qword)
            gprOf[s] = scratch[i]
        }
        for d in defs where gprOf[d] == nil { gprOf[d] = scratch[0] }
        try emit(pc)
        if ins.opcode != .forLoop {
            for d in defs.sorted() { a.mov(slotMem(d).qword, g(d)) }
        }
        for s in defs.union(uses) { gprOf[s] = nil }
    }

    mutating func emit(_ pc: Int) throws(Unsupported) {
        let ins = code[pc]
        let opA = ins.a
        let opB = ins.b
        let opC = ins.c
        let opK = ins.k
        let st = stateIn[pc]
        if isStep(ins) {
            try emitStep(pc)
            return
        }
        if FunctionLowering.leaves(ins) {
            a.jmp(try deopt(at: pc))
            return
        }
        switch ins.opcode {
        case .nop, .clearRefs:
            break
        case .call:
            try emitCall(pc)
        case .move:
            // Two slots may share a register (an inlined callee's result, moved to its window's first).
            if st[opB] == .int {
                if g(opA) != g(opB) { a.mov(g(opA), g(opB)) }
            } else if vecOf[opA] != vecOf[opB] {
                a.emit(.vmovaps, x(opA), x(opB))
            }
        case .move4:
            if vecOf[opA] != vecOf[opB] { a.emit(.vmovaps, y(opA), y(opB)) }
        case .loadInt:
            if !onlyFeedsConstantDivision(pc) { a.mov(g(opA), Int64(ins.sBx)) }
        case .loadConst:
            let bits = constants[ins.bx]
            switch ElementKind(rawValue: UInt8(opK)) ?? .int {
            case .int, .bool: if !onlyFeedsConstantDivision(pc) { a.mov(g(opA), Int64(bitPattern: bits)) }
            case .float:
                let c = a.constant(int64: [Int64(bitPattern: bits)], alignment: 8)
                a.emit(.vmovsd, x(opA), .mem(X86.ptr(c).qword))
            case .f32:
                let c = a.constant(int32: [Int32(bitPattern: UInt32(truncatingIfNeeded: bits))], alignment: 4)
                a.emit(.vmovss, x(opA), .mem(X86.ptr(c).dword))
            }
        case .addInt, .subInt, .mulInt:
            // An addInt whose result only feeds the next addIntImm is emitted there, as one lea.
            if leaFusion(at: pc) == nil { emitIntBinary(ins.opcode, g(opA), g(opB), g(opC)) }
        case .divInt, .modInt:
            if let d = knownInt(opC, before: pc), FunctionLowering.divisionMagic(d) != nil {
                emitDivision(ins, by: d)
                break
            }
            let fail = try deopt(at: pc)  // division by zero: the interpreter reports it
            let normal = a.newLabel()
            let done = a.newLabel()
            a.test(g(opC), g(opC))
            a.j(.e, fail)
            a.cmp(g(opC), -1)
            a.j(.ne, normal)
            // x / -1 wraps (min / -1 == min) and x % -1 == 0, without the hardware trap.
            if ins.opcode == .divInt {
                a.mov(.rax, g(opB))
                a.neg(.rax)
            } else {
                a.mov(.rax, 0)
            }
            a.jmp(done)
            a.bind(normal)
            a.mov(.rax, g(opB))
            a.cqo()
            a.idiv(g(opC))
            if ins.opcode == .modInt { a.mov(.rax, .rdx) }
            a.bind(done)
            a.mov(g(opA), .rax)
        case .addIntImm:
            if pc > 0, let (l, r) = leaFusion(at: pc - 1) {
                a.lea(g(opA), X86.ptr(g(l), index: g(r), scale: 1, Int32(ins.sC)))
            } else {
                a.lea(g(opA), X86.ptr(g(opB), Int32(ins.sC)))
            }
        case .negInt:
            if g(opA) != g(opB) { a.mov(g(opA), g(opB)) }
            a.neg(g(opA))
        case .not:
            if g(opA) != g(opB) { a.mov(g(opA), g(opB)) }
            a.xor(g(opA), 1)
        case .addFloat: a.emit(VectorOps.binary(.add, .f64, .scalar), x(opA), x(opB), x(opC))
        case .subFloat: a.emit(VectorOps.binary(.sub, .f64, .scalar), x(opA), x(opB), x(opC))
        case .mulFloat: a.emit(VectorOps.binary(.mul, .f64, .scalar), x(opA), x(opB), x(opC))
        case .divFloat: a.emit(VectorOps.binary(.div, .f64, .scalar), x(opA), x(opB), x(opC))
        case .addFloatK, .subFloatK, .mulFloatK, .divFloatK:
            // The constant as the instruction's memory operand (the code's data section).
            let op: LaneBinary =
                switch ins.opcode {
                case .addFloatK: .add
                case .subFloatK: .sub
                case .mulFloatK: .mul
                case .divFloatK: .div
                default: preconditionFailure("unreachable: \(ins.opcode.name) is not a K form")
                }
            let c = a.constant(int64: [Int64(bitPattern: constants[opC])], alignment: 8)
            a.emit(VectorOps.binary(op, .f64, .scalar), x(opA), x(opB), .mem(X86.ptr(c).qword))
        case .addF32: a.emit(VectorOps.binary(.add, .f32, .scalar), x(opA), x(opB), x(opC))
        case .subF32: a.emit(VectorOps.binary(.sub, .f32, .scalar), x(opA), x(opB), x(opC))
        case .mulF32: a.emit(VectorOps.binary(.mul, .f32, .scalar), x(opA), x(opB), x(opC))
        case .divF32: a.emit(VectorOps.binary(.div, .f32, .scalar), x(opA), x(opB), x(opC))
        case .negFloat, .negF32:
            let f32 = ins.opcode == .negF32
            let c =
                f32
                ? a.constant(int32: Array(repeating: Int32(bitPattern: 0x8000_0000), count: 4), alignment: 16)
                : a.constant(int64: Array(repeating: Int64.min, count: 2), alignment: 16)
            a.emit(VectorOps.binary(.xor, f32 ? .f32 : .f64, .scalar), x(opA), x(opB), .mem(X86.ptr(c)))
        case .scalarMath:
            try emitScalarMath(ins, pc)
        case .scalarFma:
            switch ElementKind(rawValue: UInt8(opK)) ?? .int {
            case .int, .bool:
                a.mov(.rax, g(opB))
                a.imul(.rax, g(opB + 1))
                a.add(.rax, g(opB + 2))
                a.mov(g(opA), .rax)
            case .float, .f32:
                let lane: Lane = ElementKind(rawValue: UInt8(opK)) == .f32 ? .f32 : .f64
                a.emit(.vmovaps, xr(scratchVec), x(opB + 2))
                a.emit(VectorOps.fma(lane, .scalar), xr(scratchVec), x(opB), x(opB + 1))
                a.emit(.vmovaps, x(opA), xr(scratchVec))
            }
        case .ltInt, .leInt, .eqInt, .neInt:
            let cond: X86.Condition =
                ins.opcode == .ltInt ? .l : ins.opcode == .leInt ? .le : ins.opcode == .eqInt ? .e : .ne
            a.xor(.eax, .eax)
            a.cmp(g(opB), g(opC))
            a.set(cond, .al)
            a.mov(g(opA), .rax)
        case .compare:
            let op = CompareOp(rawValue: UInt8(opK >> 3)) ?? .eq
            let cls = CompareClass(rawValue: UInt8(opK & 7)) ?? .int
            if cls == .int {
                let cond: X86.Condition = op == .eq ? .e : op == .ne ? .ne : op == .lt ? .l : .le
                a.xor(.eax, .eax)
                a.cmp(g(opB), g(opC))
                a.set(cond, .al)
                a.mov(g(opA), .rax)
            } else {
                // vcmpsd/ss give all-ones for true; NaN compares false except for != (IEEE, as Swift).
                let (compare, predicate) = VectorOps.floatCompare(
                    LaneCompare(op), cls == .f32 ? .f32 : .f64, .scalar, signalsOnNaN: true)
                a.emit(compare, xr(scratchVec), x(opB), x(opC), .predicate(predicate))
                a.emit(.vmovd, .gpr(.eax), xr(scratchVec))
                a.emit(.and, .gpr(.rax), .imm(1))
                a.mov(g(opA), .rax)
            }
        case .jump:
            try jump(from: pc, to: pc + 1 + ins.sBx, condition: nil)
        case .jumpIfTrue, .jumpIfFalse:
            a.test(g(opA), g(opA))
            try jump(from: pc, to: pc + 1 + ins.sBx, condition: ins.opcode == .jumpIfTrue ? .ne : .e)
        case .jumpIfLtInt, .jumpIfLeInt, .jumpIfEqInt, .jumpIfNeInt:
            a.cmp(g(opA), g(opB))
            let c: X86.Condition =
                ins.opcode == .jumpIfLtInt
                ? .l : ins.opcode == .jumpIfLeInt ? .le : ins.opcode == .jumpIfEqInt ? .e : .ne
            try jump(from: pc, to: pc + 1 + ins.sC, condition: c)
        case .jumpIfLtImm, .jumpIfLeImm, .jumpIfGtImm, .jumpIfGeImm, .jumpIfEqImm, .jumpIfNeImm:
            a.cmp(g(opA), Int64(ins.sB))
            let c: X86.Condition
            switch ins.opcode {
            case .jumpIfLtImm: c = .l
            case .jumpIfLeImm: c = .le
            case .jumpIfGtImm: c = .g
            case .jumpIfGeImm: c = .ge
            case .jumpIfEqImm: c = .e
            case .jumpIfNeImm: c = .ne
            default: preconditionFailure("unreachable: \(ins.opcode.name) is not a jump against an immediate")
            }
            try jump(from: pc, to: pc + 1 + ins.sC, condition: c)
        case .forPrep:
            a.cmp(g(opA), g(opA + 1))
            try jump(from: pc, to: pc + 1 + ins.sBx, condition: .ge)
        case .forLoop:
            a.add(g(opA), 1)
            if spilledInts.contains(opA) { a.mov(slotMem(opA).qword, g(opA)) }  // before the jump
            a.cmp(g(opA), g(opA + 1))
            try jump(from: pc, to: pc + 1 + ins.sBx, condition: .l)
        case .convert:
            let from = ElementKind(rawValue: UInt8(opK >> 4)) ?? .int
            let to = ElementKind(rawValue: UInt8(opK & 15)) ?? .int
            switch (from, to) {
            case (.int, .float):
                a.emit(.vxorps, x(opA), x(opA), x(opA))
                a.emit(.vcvtsi2sd, x(opA), x(opA), .gpr(g(opB)))
            case (.int, .f32):
                a.emit(.vxorps, x(opA), x(opA), x(opA))
                a.emit(.vcvtsi2ss, x(opA), x(opA), .gpr(g(opB)))
            // NaN and out of range give Int.min, as the interpreter's truncateToInt.
            case (.float, .int): a.emit(.vcvttsd2si, .gpr(g(opA)), x(opB))
            case (.f32, .int): a.emit(.vcvttss2si, .gpr(g(opA)), x(opB))
            case (.float, .f32): a.emit(.vcvtsd2ss, x(opA), x(opB), x(opB))
            case (.f32, .float): a.emit(.vcvtss2sd, x(opA), x(opB), x(opB))
            default:
                if st[opB] == .int { a.mov(g(opA), g(opB)) } else { a.emit(.vmovaps, x(opA), x(opB)) }
            }
        case .ret:
            switch st[opA] {
            case .int: a.mov(slotMem(0).qword, g(opA))
            case .f64: a.emit(.vmovsd, .mem(slotMem(0).qword), x(opA))
            case .f32:
                a.emit(.vmovd, .gpr(.eax), x(opA))
                a.mov(slotMem(0).qword, .rax)
            case .unknown, .v32, .v64, .array, .reference, .covered, .conflict:
                throw Unsupported(reason: "returns a value of kind \(st[opA]) from a scalar ret")
            }
            if hasSteps { emitReleaseBeforeReturn(pc) }
            if !needsContext { a.mov(.rax, -1) }
            emitEpilogue(returned: true)
        case .ret4:
            a.emit(.vmovups, .mem(slotMem(0)), y(opA))
            if hasSteps { emitReleaseBeforeReturn(pc) }
            if !needsContext { a.mov(.rax, -1) }
            emitEpilogue(returned: true)
        case .ret0:
            if hasSteps { emitReleaseBeforeReturn(pc) }
            if !needsContext { a.mov(.rax, -1) }
            emitEpilogue(returned: true)
        case .simdBinary:
            let isF64 = opK & 1 == 1
            let op = SimdOp(rawValue: UInt8(opK >> 1)) ?? .add
            let laneOp: LaneBinary
            switch op {
            case .add: laneOp = .add
            case .sub: laneOp = .sub
            case .mul: laneOp = .mul
            case .div: laneOp = .div
            case .min: laneOp = .min
            case .max: laneOp = .max
            case .pow:
                try emitMathHelperCall(
                    pc, code: UInt32(opK) | NativeMathHelper.simdBit, kind: isF64 ? .v64 : .v32, binary: true)
                return
            case .sqrt, .abs, .neg, .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round:
                throw Unsupported(reason: "\(op) is not a SIMD binary operation here")
            }
            a.emit(VectorOps.binary(laneOp, isF64 ? .f64 : .f32), y(opA), y(opB), y(opC))
        case .simdUnary:
            let isF64 = opK & 1 == 1
            let lane: Lane = isF64 ? .f64 : .f32
            switch SimdOp(rawValue: UInt8(opK >> 1)) ?? .neg {
            case .sqrt: a.emit(VectorOps.unary(.sqrt, lane), y(opA), y(opB))
            case .abs:
                let c =
                    isF64
                    ? a.constant(int64: Array(repeating: Int64.max, count: 4))
                    : a.constant(int32: Array(repeating: Int32.max, count: 8))
                a.emit(VectorOps.binary(.and, lane), y(opA), y(opB), .mem(X86.ptr(c)))
            case .neg:
                let c =
                    isF64
                    ? a.constant(int64: Array(repeating: Int64.min, count: 4))
                    : a.constant(int32: Array(repeating: Int32(bitPattern: 0x8000_0000), count: 8))
                a.emit(VectorOps.binary(.xor, lane), y(opA), y(opB), .mem(X86.ptr(c)))
            case .floor: emitRounding(.floor, f32: !isF64, packed: true, into: vecOf[opA]!, from: vecOf[opB]!)
            case .ceil: emitRounding(.ceil, f32: !isF64, packed: true, into: vecOf[opA]!, from: vecOf[opB]!)
            case .round: emitRounding(.round, f32: !isF64, packed: true, into: vecOf[opA]!, from: vecOf[opB]!)
            case .exp, .log, .sin, .cos, .tanh:
                try emitMathHelperCall(
                    pc, code: UInt32(opK) | NativeMathHelper.simdBit, kind: isF64 ? .v64 : .v32, binary: false)
            case .add, .sub, .mul, .div, .min, .max, .pow:
                throw Unsupported(reason: "SIMD unary operation \(ins.k >> 1) is not lowered here")
            }
        case .simdFma:
            let isF64 = opK & 1 == 1
            a.emit(.vmovaps, yr(scratchVec), y(opB + 8))
            a.emit(VectorOps.fma(isF64 ? .f64 : .f32), yr(scratchVec), y(opB), y(opB + 4))
            a.emit(.vmovaps, y(opA), yr(scratchVec))
        case .splat:
            if opK & 1 == 1 { a.emit(.vbroadcastsd, y(opA), x(opB)) } else { a.emit(.vbroadcastss, y(opA), x(opB)) }
        case .simdReduce:
            let op = ReductionOp(rawValue: UInt8(opK >> 1)) ?? .sum
            let isF64 = opK & 1 == 1
            switch op {
            case .sum, .min, .max:
                emitSimdReduce(opA: opA, opB: opB, opK: opK)
            case .count, .any, .all:
                a.emit(VectorOps.moveMask(isF64 ? .f64 : .f32), .gpr(.eax), y(opB))
                switch op {
                case .count: a.emit(.popcnt, .gpr(.eax), .gpr(.eax))
                case .any:
                    a.emit(.test, .gpr(.eax), .gpr(.eax))
                    a.set(.ne, .al)
                    a.emit(.movzx, .gpr(.eax), .gpr(.al))
                case .all:
                    a.emit(.cmp, .gpr(.eax), .imm(isF64 ? 0xF : 0xFF))
                    a.set(.e, .al)
                    a.emit(.movzx, .gpr(.eax), .gpr(.al))
                case .sum, .min, .max:
                    preconditionFailure("unreachable: \(op.name) is not a count of lanes")
                }
                a.mov(g(opA), .rax)
            }
        case .simdCompare:
            // a > b and a >= b arrive swapped as lt / le; NaN compares false except for !=.
            let op = LaneCompare(CompareOp(rawValue: UInt8(opK >> 1)) ?? .eq)
            let (compare, predicate) = VectorOps.floatCompare(op, opK & 1 == 1 ? .f64 : .f32)
            a.emit(compare, y(opA), y(opB), y(opC), .predicate(predicate))
        case .simdMask:
            switch MaskOp(rawValue: UInt8(opK)) ?? .not {
            case .not:
                a.emit(.vpcmpeqd, yr(scratchVec), yr(scratchVec), yr(scratchVec))
                a.emit(.vxorps, y(opA), y(opB), yr(scratchVec))
            case .and: a.emit(.vandps, y(opA), y(opB), y(opC))
            case .or: a.emit(.vorps, y(opA), y(opB), y(opC))
            }
        case .simdSelect:
            // Lane by lane: V[C] where the mask is set, else V[C+4].
            a.emit(.vblendvps, y(opA), y(opC + 4), y(opC), y(opB))
        case .lane:
            let isF64 = opK & 1 == 1
            let fail = try deopt(at: pc)
            a.cmp(g(opC), isF64 ? 4 : 8)
            a.j(.ae, fail)  // unsigned: negative indices too
            a.emit(.vmovups, .mem(X86.ptr(.rsp)), y(opB))
            if isF64 {
                a.emit(.vmovsd, x(opA), .mem(X86.ptr(.rsp, index: g(opC), scale: 8).qword))
            } else {
                a.emit(.vmovss, x(opA), .mem(X86.ptr(.rsp, index: g(opC), scale: 4).dword))
            }
        case .vload, .vstore:
            let isF64 = opK & 1 == 1
            let lanes = isF64 ? 4 : 8
            let arraySlot = ins.opcode == .vload ? opB : opA
            let indexSlot = ins.opcode == .vload ? opC : opB
            let fail = try deopt(at: pc)
            // 0 <= i && i <= count - lanes
            a.cmp(g(indexSlot), 0)
            a.j(.l, fail)
            a.mov(.rax, X86.ptr(arraysBase, Int32(arraySlot * 16 + 8)).qword)
            a.sub(.rax, Int64(lanes))
            a.cmp(g(indexSlot), .rax)
            a.j(.g, fail)
            a.mov(.rax, X86.ptr(arraysBase, Int32(arraySlot * 16)).qword)
            let mem = X86.Operand.mem(X86.ptr(.rax, index: g(indexSlot), scale: isF64 ? 8 : 4))
            if ins.opcode == .vload { a.emit(.vmovups, y(opA), mem) } else { a.emit(.vmovups, mem, y(opC)) }
        case .getInt, .getFloat, .getF32, .setInt, .setFloat, .setF32:
            let isGet = ins.opcode == .getInt || ins.opcode == .getFloat || ins.opcode == .getF32
            let arraySlot = isGet ? opB : opA
            let indexSlot = isGet ? opC : opB
            if needsBoundsCheck(array: arraySlot, index: indexSlot) {
                let fail = try deopt(at: pc)
                a.cmp(g(indexSlot), X86.ptr(arraysBase, Int32(arraySlot * 16 + 8)).qword)
                a.j(.ae, fail)  // unsigned: also catches negative indices
            }
            a.mov(.rax, X86.ptr(arraysBase, Int32(arraySlot * 16)).qword)
            switch ins.opcode {
            case .getInt: a.mov(g(opA), X86.ptr(.rax, index: g(opC), scale: 8).qword)
            case .getFloat: a.emit(.vmovsd, x(opA), .mem(X86.ptr(.rax, index: g(opC), scale: 8).qword))
            case .getF32: a.emit(.vmovss, x(opA), .mem(X86.ptr(.rax, index: g(opC), scale: 4).dword))
            case .setInt: a.mov(X86.ptr(.rax, index: g(opB), scale: 8).qword, g(opC))
            case .setFloat: a.emit(.vmovsd, .mem(X86.ptr(.rax, index: g(opB), scale: 8).qword), x(opC))
            case .setF32: a.emit(.vmovss, .mem(X86.ptr(.rax, index: g(opB), scale: 4).dword), x(opC))
            default: preconditionFailure("unreachable: \(ins.opcode.name) is not an element get or set")
            }
        case .length:
            a.mov(g(opA), X86.ptr(arraysBase, Int32(opB * 16 + 8)).qword)
        default:
            throw Unsupported(reason: "uses \(ins.opcode.name)")
        }
    }

    mutating func emitScalarMath(_ ins: Instruction, _ pc: Int) throws(Unsupported) {
        let opA = ins.a
        let opB = ins.b
        let opC = ins.c
        let opK = ins.k
        let op = MathOp(rawValue: UInt8(opK >> 2)) ?? .min
        switch ElementKind(rawValue: UInt8(opK & 3)) ?? .int {
        case .int, .bool:
            switch op {
            case .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round, .pow:
                throw Unsupported(reason: "\(op) of an int")
            case .min, .max:
                // a < b ? a : b, and a > b ? a : b
                a.mov(.rax, g(opC))
                a.cmp(g(opB), g(opC))
                a.cmov(op == .min ? .l : .g, .rax, g(opB))
                a.mov(g(opA), .rax)
            case .abs, .sqrt:
                a.mov(.rax, g(opB))
                a.neg(.rax)
                a.cmov(.l, .rax, g(opB))  // -x < 0 means x > 0 (or x == min, which stays min)
                a.mov(g(opA), .rax)
            }
        case .float, .f32:
            let f32 = (ElementKind(rawValue: UInt8(opK & 3)) ?? .int) == .f32
            let lane: Lane = f32 ? .f32 : .f64
            switch op {
            case .min: a.emit(VectorOps.binary(.min, lane, .scalar), x(opA), x(opB), x(opC))
            case .max: a.emit(VectorOps.binary(.max, lane, .scalar), x(opA), x(opB), x(opC))
            case .sqrt: a.emit(VectorOps.unary(.sqrt, lane, .scalar), x(opA), x(opB), x(opB))
            case .abs:
                let c =
                    f32
                    ? a.constant(int32: Array(repeating: Int32.max, count: 4), alignment: 16)
                    : a.constant(int64: Array(repeating: Int64.max, count: 2), alignment: 16)
                a.emit(VectorOps.binary(.and, lane, .scalar), x(opA), x(opB), .mem(X86.ptr(c)))
            case .floor, .ceil, .round:
                emitRounding(op, f32: f32, packed: false, into: vecOf[opA]!, from: vecOf[opB]!)
            case .exp, .log, .sin, .cos, .tanh, .pow:
                try emitMathHelperCall(pc, code: UInt32(opK), kind: f32 ? .f32 : .f64, binary: op == .pow)
            }
        }
    }

    /// floor, ceil and round of a scalar (`packed` false: XMM, lane 0) or of a SIMD value (YMM), the
    /// math library's algorithms (Math/MathLibrary.swift) instruction for instruction, so the bits are
    /// the interpreter's: floor and ceil are one vround; round is half away from zero,
    ///     t = trunc(x); one = (|x - t| >= 0.5 ? 1 : 0) with x's sign; x is NaN ? NaN : t + one
    /// using both scratch registers and the frame's 32 scratch bytes (t, while x's sign is taken).
    /// `into` may be `from`: x is read for the last time before the destination is written.
    mutating func emitRounding(_ op: MathOp, f32: Bool, packed: Bool, into d: Int, from x: Int) {
        func r(_ n: Int) -> X86.Operand { packed ? yr(n) : xr(n) }
        func broadcast(_ bits: UInt64) -> X86.Operand {
            let bytes = packed ? 32 : 16
            let label =
                f32
                ? a.constant(int32: Array(repeating: Int32(bitPattern: UInt32(bits)), count: bytes / 4))
                : a.constant(int64: Array(repeating: Int64(bitPattern: bits), count: bytes / 8))
            return .mem(X86.ptr(label))
        }
        let lane: Lane = f32 ? .f32 : .f64
        let shape: VectorOps.Shape = packed ? .packed : .scalar
        // floor, ceil and trunc are one vround (the inexact flag not raised); the packed form has one source.
        func vround(_ dst: Int, _ src: Int, _ rounding: LaneUnary) {
            let mode = X86.Operand.imm(VectorOps.roundingMode(rounding)!)
            if packed {
                a.emit(VectorOps.unary(rounding, lane, shape), r(dst), r(src), mode)
            } else {
                a.emit(VectorOps.unary(rounding, lane, shape), r(dst), r(src), r(src), mode)
            }
        }
        switch op {
        case .floor:
            vround(d, x, .floor)
            return
        case .ceil:
            vround(d, x, .ceil)
            return
        default:
            break
        }
        let s = scratchVec
        let s2 = scratchVec2
        let sub = VectorOps.binary(.sub, lane, shape)
        let add = VectorOps.binary(.add, lane, shape)
        let and = VectorOps.binary(.and, lane, shape)
        let or = VectorOps.binary(.or, lane, shape)
        let atLeastHalf = VectorOps.floatCompare(.ge, lane, shape)
        let isNaN = VectorOps.floatCompare(.unordered, lane, shape)
        let blend = VectorOps.blend(lane)
        let store: X86.Instruction = packed ? .vmovups : (f32 ? .vmovss : .vmovsd)
        let scratch = X86.ptr(.rsp, 0)
        let sign: UInt64 = f32 ? 0x8000_0000 : 0x8000_0000_0000_0000
        let half: UInt64 = f32 ? UInt64(Float(0.5).bitPattern) : (0.5 as Double).bitPattern
        let one: UInt64 = f32 ? UInt64(Float(1).bitPattern) : (1.0 as Double).bitPattern
        let nan: UInt64 = f32 ? UInt64(Float.nan.bitPattern) : Double.nan.bitPattern
        vround(s, x, .trunc)  // t = trunc(x)
        a.emit(sub, r(s2), r(x), r(s))  // x - t
        a.emit(and, r(s2), r(s2), broadcast(~sign & (f32 ? 0xFFFF_FFFF : ~0)))  // |x - t|
        // >= 0.5
        a.emit(atLeastHalf.instruction, r(s2), r(s2), broadcast(half), .predicate(atLeastHalf.predicate))
        a.emit(and, r(s2), r(s2), broadcast(one))  // +1 or +0
        a.emit(store, .mem(scratch), r(s))  // t, to the frame
        a.emit(and, r(s), r(x), broadcast(sign))  // x's sign
        a.emit(or, r(s2), r(s2), r(s))  // one, signed
        a.emit(add, r(s2), r(s2), .mem(scratch))  // t + one
        a.emit(isNaN.instruction, r(s), r(x), r(x), .predicate(isNaN.predicate))  // x is NaN
        a.emit(blend, r(d), r(s2), broadcast(nan), r(s))
    }

    /// exp, log, sin, cos, tanh and pow, of a scalar or a SIMD value: a call of NativeMathHelper,
    /// the interpreter's own math (inline vector code for them is the kernels' business today). The
    /// C ABI lets the helper clobber rax, rcx, rdx, rsi, rdi, r8-r11 and every vector register: the
    /// values live after the instruction in those are stored to their slots first and loaded after
    /// (integers in rbx, r12-r15 stay), the operands are stored for the helper to read, and the
    /// result is loaded from A's slot. rdi and rsi (this frame's registers and array table) are
    /// pushed; rsp is aligned to 16 for the call (a native function's frame is not: it depends on
    /// its caller) and put back from the copy kept on the stack. Nothing is written below rsp.
    mutating func emitMathHelperCall(_ pc: Int, code: UInt32, kind: Kind, binary: Bool) throws(Unsupported) {
        let ins = self.code[pc]
        let after = try liveKinds(at: pc + 1, state: stateOut[pc])
        let spilled = after.filter { s, k in
            s != ins.a && !inPreservedGPR(s, k)
        }
        emitStores(spilled)
        var operands: [Int: Kind] = [ins.b: kind]
        if binary { operands[ins.c] = kind }
        emitStores(operands)
        let regs = regsBase
        emitCCall(NativeMathHelper.address) { a in
            a.lea(.rcx, X86.ptr(regs, Int32((binary ? ins.c : ins.b) * 8)))
            a.lea(.rdx, X86.ptr(regs, Int32(ins.b * 8)))
            a.lea(.rsi, X86.ptr(regs, Int32(ins.a * 8)))
            a.mov(.edi, Int64(code))
        }
        emitLoads([ins.a: kind])
        emitLoads(spilled)
    }

    /// A call of the C function at `address` (a helper: NativeMathHelper, NativeStepHelper,
    /// NativeYieldHelper), its arguments set by `arguments` after rdi and rsi (this frame's registers
    /// and array table) are pushed; rsp is aligned to 16 for the call (a native function's frame is
    /// not: it depends on its caller) and put back from the copy kept on the stack, then rdi and rsi
    /// are popped. rax holds the helper's answer. The caller stores what the call may clobber.
    mutating func emitCCall(_ address: Int64, arguments: (inout X86Assembler) -> Void) {
        if usesYMM { a.emit(.vzeroupper) }
        a.push(.rdi)
        a.push(.rsi)
        a.mov(.rax, .rsp)
        a.and(.rsp, -16)
        a.sub(.rsp, 16)
        a.mov(X86.ptr(.rsp).qword, .rax)
        arguments(&a)
        a.mov(.rax, address)
        a.call(.rax)
        a.mov(.rsp, X86.ptr(.rsp).qword)
        a.pop(.rsi)
        a.pop(.rdi)
    }

    /// sum/min/max of a SIMD value in the evaluator's order: halves, quarters, last pair.
    mutating func emitSimdReduce(opA: Int, opB: Int, opK: Int) {
        let isF64 = opK & 1 == 1
        let op = ReductionOp(rawValue: UInt8(opK >> 1)) ?? .sum
        let s = scratchVec
        let t = scratchVec2
        let step = VectorOps.reductionStep(op)
        let lane: Lane = isF64 ? .f64 : .f32
        func packed(_ d: Int, _ p: Int, _ q: Int) { a.emit(VectorOps.binary(step, lane), xr(d), xr(p), xr(q)) }
        func scalar(_ d: Int, _ p: Int, _ q: Int) {
            a.emit(VectorOps.binary(step, lane, .scalar), xr(d), xr(p), xr(q))
        }
        let v = vecOf[opB]!
        a.emit(.vextractf128, xr(s), yr(v), .imm(1))
        packed(s, v, s)  // w[j] = v[j] ∘ v[j + half]
        if isF64 {
            a.emit(.vunpckhpd, xr(t), xr(s), xr(s))
            scalar(s, s, t)
        } else {
            a.emit(.vmovhlps, xr(t), xr(s), xr(s))
            packed(s, s, t)
            a.emit(.vshufps, xr(t), xr(s), xr(s), .imm(0x55))
            scalar(s, s, t)
        }
        a.emit(.vmovaps, x(opA), xr(s))
    }
}
