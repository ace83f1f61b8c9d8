// Function lowering, part 2: native calls and inlining small callees (see FunctionLowering.swift
// for the native code's ABI).

extension FunctionLowering {
    // MARK: - Inlining
    //
    // A call of a small callee without calls or loops is replaced by the callee's instructions,
    // their registers moved up to the call's window (the callee's register r is the caller's A + r,
    // exactly where the interpreter would put its frame), `ret r` by a move to A and a jump past
    // the body. The code then has no call there at all: no stores and loads around it, and the
    // callee's values stay in machine registers. What the interpreter must see is unchanged: a
    // deopt inside the body leaves the callee's frame (its window written back, the call's pc in
    // the chain, as if the callee had been called natively), `origins` maps every instruction back.

    /// Where an instruction of `code` comes from: the function's own pc, or a pc of the callee
    /// inlined at the function's call `call`.
    enum Origin: Equatable {
        case own(Int)
        case inlined(call: Int, pc: Int)
    }

    /// The most instructions a callee may have to be inlined.
    static let inlineLimit = 40

    /// `ins` with its register operands moved up by `d` (and its constant index by `k`), or nil
    /// when it is not something an inlined body may contain.
    static func relocated(_ ins: Instruction, by d: Int, constantsBy k: Int) -> Instruction? {
        let op = ins.opcode
        func abc(_ ra: Bool, _ rb: Bool, _ rc: Bool) -> Instruction {
            Instruction(op, a: ins.a + (ra ? d : 0), b: ins.b + (rb ? d : 0), c: ins.c + (rc ? d : 0), k: ins.k)
        }
        func withA() -> Instruction {
            Instruction(word: (ins.word & ~(UInt64(0xFFFF) << 8)) | UInt64(UInt16(truncatingIfNeeded: ins.a + d)) << 8)
        }
        switch op {
        case .nop, .jump: return ins
        case .clearRefs: return abc(true, false, false)
        case .loadInt, .jumpIfTrue, .jumpIfFalse: return withA()
        case .loadConst: return Instruction(.loadConst, a: ins.a + d, bx: ins.bx + k, k: ins.k)
        case .move, .move4, .addIntImm, .negInt, .not, .negFloat, .negF32, .scalarFma, .convert, .simdUnary,
            .simdFma, .splat, .simdReduce:
            return abc(true, true, false)
        case .addFloatK, .subFloatK, .mulFloatK, .divFloatK:
            return Instruction(op, a: ins.a + d, b: ins.b + d, c: ins.c + k, k: ins.k)
        case .addInt, .subInt, .mulInt, .divInt, .modInt, .ltInt, .leInt, .eqInt, .neInt, .addFloat, .subFloat,
            .mulFloat, .divFloat, .addF32, .subF32, .mulF32, .divF32, .scalarMath, .compare, .simdBinary,
            .simdCompare, .simdMask, .simdSelect, .lane:
            return abc(true, true, true)
        case .jumpIfLtInt, .jumpIfLeInt, .jumpIfEqInt, .jumpIfNeInt: return abc(true, true, false)
        case .jumpIfLtImm, .jumpIfLeImm, .jumpIfGtImm, .jumpIfGeImm, .jumpIfEqImm, .jumpIfNeImm:
            return abc(true, false, false)
        default: return nil
        }
    }

    /// `ins` (a jump) with its offset set to `offset`.
    static func withJumpOffset(_ ins: Instruction, _ offset: Int) -> Instruction {
        switch ins.opcode {
        case .jump, .jumpIfTrue, .jumpIfFalse, .forPrep, .forLoop:
            return Instruction(word: (ins.word & 0xFFFF_FFFF) | UInt64(UInt32(bitPattern: Int32(offset))) << 32)
        default:
            return Instruction(
                word: (ins.word & 0x0000_FFFF_FFFF_FFFF) | UInt64(UInt16(bitPattern: Int16(offset))) << 48)
        }
    }

    /// Whether `callee` can be inlined: few instructions, no calls, no loops, only what relocates.
    static func inlinable(_ callee: Function) -> Bool {
        let body = callee.instructions
        guard body.count <= inlineLimit, callee.frameSize < 1024 else { return false }
        for (pc, ins) in body.enumerated() {
            switch ins.opcode {
            case .ret, .ret4, .ret0: continue
            case .forPrep, .forLoop, .call: return false
            default: break
            }
            if let off = ins.jumpOffset, off < 0 || pc + 1 + off >= body.count { return false }
            if relocated(ins, by: 0, constantsBy: 0) == nil { return false }
        }
        return true
    }

    /// Splices the bodies of the small callees into `code` (see Inlining).
    mutating func inlineSmallCallees() {
        let own = code
        var sites: [Int: Function] = [:]
        for (pc, ins) in own.enumerated() where ins.opcode == .call {
            guard case .native = callees[ins.bx], FunctionLowering.inlinable(functions[ins.bx]),
                ins.a + functions[ins.bx].frameSize < 60_000
            else { continue }
            sites[pc] = functions[ins.bx]
        }
        guard !sites.isEmpty else { return }
        enum Target {
            case own(Int)
            case callee(site: Int, pc: Int)
        }
        var out: [Instruction] = []
        var origin: [Origin] = []
        var targets: [Target?] = []
        var ownIndex = [Int](repeating: 0, count: own.count + 1)
        var calleeIndex: [Int: [Int]] = [:]
        for pc in own.indices {
            ownIndex[pc] = out.count
            let ins = own[pc]
            guard let callee = sites[pc] else {
                out.append(ins)
                origin.append(.own(pc))
                targets.append(ins.jumpOffset.map { .own(pc + 1 + $0) })
                continue
            }
            // The call's own place (jumps to the call land here; a deopt here re-runs the call).
            out.append(Instruction(.nop))
            origin.append(.own(pc))
            targets.append(nil)
            let window = ins.a
            let shift = constants.count
            constants += callee.constants
            frameExtent = max(frameExtent, window + max(callee.frameSize, 1))
            var map: [Int] = []
            for (cpc, cins) in callee.instructions.enumerated() {
                map.append(out.count)
                switch cins.opcode {
                case .ret, .ret4:
                    if cins.a != 0 {
                        out.append(Instruction(cins.opcode == .ret ? .move : .move4, a: window, b: window + cins.a))
                        origin.append(.inlined(call: pc, pc: cpc))
                        targets.append(nil)
                    }
                    out.append(Instruction(.jump, bx: 0))
                    origin.append(.inlined(call: pc, pc: cpc))
                    targets.append(.own(pc + 1))
                case .ret0:
                    out.append(Instruction(.jump, bx: 0))
                    origin.append(.inlined(call: pc, pc: cpc))
                    targets.append(.own(pc + 1))
                default:
                    out.append(FunctionLowering.relocated(cins, by: window, constantsBy: shift)!)
                    origin.append(.inlined(call: pc, pc: cpc))
                    targets.append(cins.jumpOffset.map { .callee(site: pc, pc: cpc + 1 + $0) })
                }
            }
            calleeIndex[pc] = map
        }
        ownIndex[own.count] = out.count
        for (i, t) in targets.enumerated() {
            guard let t else { continue }
            let to: Int
            switch t {
            case .own(let p): to = ownIndex[p]
            case .callee(let site, let p): to = calleeIndex[site]![p]
            }
            out[i] = FunctionLowering.withJumpOffset(out[i], to - i - 1)
        }
        code = out
        origins = origin
    }

    /// The function's own pc of an instruction of `code` (never inside an inlined body).
    func ownPc(_ pc: Int) -> Int {
        switch origins[pc] {
        case .own(let p): return p
        case .inlined(let call, _): return call
        }
    }

    /// Appends `pc` to the context's chain (rdx and r11 are free here; rax is kept).
    mutating func emitChainEntry(_ pc: Int) {
        a.mov(.r11, X86.ptr(context, Int32(NativeCallContext.chainOffset)).qword)
        a.mov(.rdx, X86.ptr(context, Int32(NativeCallContext.chainCountOffset)).qword)
        a.mov(X86.ptr(.r11, index: .rdx, scale: 4).dword, Int64(pc))
        a.add(.rdx, 1)
        a.mov(X86.ptr(context, Int32(NativeCallContext.chainCountOffset)).qword, .rdx)
    }

    // MARK: - Native calls
    //
    // `call A f` with the callee's window at regs + A: the values live after the call are stored to
    // their slots (every machine register is the caller's to save: the callee saves only rbx, rbp and
    // r12-r15, which it restores; rdi is fixed for the life of a function, rsi too in one with arrays,
    // reloaded after the call since the callee may allocate it), the
    // arguments are stored into the window, rdi moves to the window and back (rdx carries the flag's
    // address, rbp the context, which the caller keeps there anyway), and the result is
    // loaded from slot A. A callee that returns with the carry flag set (emitEpilogue) left its own
    // frame for the interpreter, rax the pc it goes on at (see `run`'s call exits); this frame's
    // values are in `regs` already.
    mutating func emitCall(_ pc: Int) throws(Unsupported) {
        let ins = code[pc]
        let window = ins.a
        let st = stateIn[pc]
        let after = try liveKinds(at: pc + 1, state: stateOut[pc])
        let callee = functions[ins.bx]
        let resultSlots = callee.resultType == .void ? 0 : max(1, callee.resultType.storage.slots)
        let kept = after.filter { $0.key < window }
        // Integers in registers the callee preserves stay there (stored only if the callee does not
        // return: see the call exits).
        let inPreserved = kept.filter { inPreservedGPR($0.key, $0.value) }
        let spilled = kept.filter { inPreserved[$0.key] == nil }
        emitStores(spilled)
        var args: [Int: Kind] = [:]
        var slot = window
        for t in callee.parameterTypes {
            args[slot] = st[slot]
            slot += max(1, t.storage.slots)
        }
        emitStores(args)
        a.lea(regsBase, X86.ptr(regsBase, Int32(window * 8)))
        // The callee's array table is this frame's from the window on, as its registers are.
        if usesArrayTable { a.lea(arraysBase, X86.ptr(arraysBase, Int32(window * 16))) }
        a.mov(.rdx, flagSlot)  // rbp holds the context, as the call entry expects
        switch callees[ins.bx]! {
        case .recursive:
            a.call(callEntry)
        case .native(let n):
            a.mov(.rax, Int64(Int(bitPattern: n.entry) + n.callEntryOffset))
            a.call(.rax)
        case .cell(let cell):
            a.mov(.rax, Int64(Int(bitPattern: cell.slot)))
            a.call(X86.ptr(.rax).qword)
        }
        a.lea(regsBase, X86.ptr(regsBase, Int32(-window * 8)))
        if usesArrayTable { a.mov(arraysBase, arraysSlot) }
        let exit = a.newLabel()
        callExits.append((exit, pc, inPreserved))
        a.j(.c, exit)  // the callee left for the interpreter (see emitEpilogue); rax is its answer
        if resultSlots > 0 { emitLoads([window: kind(of: callee.resultType)]) }
        emitLoads(spilled)
    }

    /// opA jump to `target`; a backward one polls the preemption flag first.
    mutating func jump(from pc: Int, to target: Int, condition: X86.Condition?) throws(Unsupported) {
        // A back-edge goes through the loop header's poll (emitLoopPoll), which falls into the header.
        let to = target <= pc ? pollLabels[target]! : labels[target]
        if let c = condition {
            a.j(c, to)
        } else if target <= pc || (pc + 1..<target).contains(where: { !stateIn[$0].isEmpty }) {
            a.jmp(to)  // not to the next code emitted (unreachable instructions emit none)
        }
    }

    /// The poll in front of loop header `pc`, where its back-edges jump: if the flag is set, write
    /// back and yield through the interpreter, which re-enters at the header (an entry point); else
    /// fall into the header. Code before it that falls through jumps over it, so a loop pays the
    /// poll once an iteration and no unconditional jump.
    mutating func emitLoopPoll(_ pc: Int) throws(Unsupported) {
        let stub = a.newLabel()
        stubs.append((stub, pc, try liveKinds(at: pc, state: stateIn[pc]), true))
        let before = pc > 0 ? code[pc - 1].opcode : .jump
        if before != .jump && before != .ret && before != .ret0 && before != .ret4 && before != .retRef {
            a.jmp(labels[pc])
        }
        a.bind(pollLabels[pc]!)
        if let flagRegister {
            a.cmp(X86.ptr(flagRegister).dword, 0)
        } else {
            a.mov(.r11, flagSlot)
            a.cmp(X86.ptr(.r11).dword, 0)
        }
        a.j(.ne, stub)
    }
}
