// Function lowering, the analysis: what each instruction reads and writes, the forward analysis of the
// registers' kinds, liveness, and the re-entry points (see FunctionLowering.swift).

extension FunctionLowering {
    // MARK: - Instruction effects

    struct Effects {
        var uses: [(Int, Kind)] = []
        var defs: [(Int, Kind)] = []
        /// Slots whose values the instruction destroys (a call's callee window, past its result).
        var kills: Range<Int>? = nil
    }

    func kind(of t: VType) -> Kind {
        switch t {
        case .int, .bool: return .int
        case .float: return .f64
        case .f32: return .f32
        case .f32x8, .m32x8: return .v32  // a mask lives in a YMM register like the values it compares
        case .f64x4, .m64x4: return .v64
        case .array(let e): return .array(e)
        default: return .reference
        }
    }

    func scalarKind(_ e: ElementKind) -> Kind { e == .int || e == .bool ? .int : e == .float ? .f64 : .f32 }

    /// What an instruction reads and writes, with the kinds; `state` gives the kind of a moved register.
    func effects(_ ins: Instruction, _ state: [Kind]) throws(Unsupported) -> Effects {
        var e = Effects()
        let opA = ins.a
        let opB = ins.b
        let opC = ins.c
        let opK = ins.k
        func use(_ s: Int, _ k: Kind) { e.uses.append((s, k)) }
        func def(_ s: Int, _ k: Kind) { e.defs.append((s, k)) }
        if isStep(ins) { return try stepEffects(ins, state) }
        if FunctionLowering.leaves(ins) {
            // The interpreter runs this instruction and the rest of the call (see "Leaving for the
            // interpreter"): every value of the function's own frame that native code holds goes
            // back to `regs`, whether or not the interpreted rest reads it.
            for s in 0..<min(function.frameSize, state.count) where state[s].isMachine { use(s, state[s]) }
            return e
        }
        switch ins.opcode {
        case .nop, .clearRefs, .jump, .ret0:
            break
        case .call:
            guard callees[ins.bx] != nil else { throw Unsupported(reason: "calls an unresolved function") }
            let callee = functions[ins.bx]
            var slot = opA
            for t in callee.parameterTypes {
                // An object argument is in the window's object register, its table entry current
                // (FunctionLowering+Steps): nothing for native code to pass.
                if kind(of: t).isMachine { use(slot, kind(of: t)) }
                slot += max(1, t.storage.slots)
            }
            let resultSlots = callee.resultType == .void ? 0 : max(1, callee.resultType.storage.slots)
            if resultSlots > 0 { def(opA, kind(of: callee.resultType)) }
            e.kills = (opA + resultSlots)..<max(opA + resultSlots, state.count)
        case .move:
            let k = opB < state.count ? state[opB] : .unknown
            guard k == .int || k == .f32 || k == .f64 else { throw Unsupported(reason: "moves a \(k) register") }
            use(opB, k)
            def(opA, k)
        case .move4:
            let k = opB < state.count ? state[opB] : .unknown
            guard k == .v32 || k == .v64 else { throw Unsupported(reason: "moves a \(k) register") }
            use(opB, k)
            def(opA, k)
        case .loadInt: def(opA, .int)
        case .loadConst: def(opA, scalarKind(ElementKind(rawValue: UInt8(opK)) ?? .int))
        case .addInt, .subInt, .mulInt, .divInt, .modInt, .ltInt, .leInt, .eqInt, .neInt:
            use(opB, .int)
            use(opC, .int)
            def(opA, .int)
        case .addIntImm, .negInt, .not:
            use(opB, .int)
            def(opA, .int)
        case .addFloat, .subFloat, .mulFloat, .divFloat:
            use(opB, .f64)
            use(opC, .f64)
            def(opA, .f64)
        case .addFloatK, .subFloatK, .mulFloatK, .divFloatK:
            use(opB, .f64)
            def(opA, .f64)
        case .addF32, .subF32, .mulF32, .divF32:
            use(opB, .f32)
            use(opC, .f32)
            def(opA, .f32)
        case .negFloat:
            use(opB, .f64)
            def(opA, .f64)
        case .negF32:
            use(opB, .f32)
            def(opA, .f32)
        case .scalarMath:
            let k = scalarKind(ElementKind(rawValue: UInt8(opK & 3)) ?? .int)
            let op = MathOp(rawValue: UInt8(opK >> 2)) ?? .min
            switch op {
            case .min, .max, .abs, .sqrt, .floor, .ceil, .round, .exp, .log, .sin, .cos, .tanh, .pow: break
            }
            use(opB, k)
            if op == .min || op == .max || op == .pow { use(opC, k) }
            def(opA, k)
        case .scalarFma:
            let k = scalarKind(ElementKind(rawValue: UInt8(opK)) ?? .int)
            use(opB, k)
            use(opB + 1, k)
            use(opB + 2, k)
            def(opA, k)
        case .compare:
            let cls = CompareClass(rawValue: UInt8(opK & 7)) ?? .str
            let k: Kind
            switch cls {
            case .float: k = .f64
            case .f32: k = .f32
            case .int: k = .int
            case .str: throw Unsupported(reason: "compares strings")
            }
            use(opB, k)
            use(opC, k)
            def(opA, .int)
        case .jumpIfTrue, .jumpIfFalse:
            use(opA, .int)
        case .jumpIfLtInt, .jumpIfLeInt, .jumpIfEqInt, .jumpIfNeInt:
            use(opA, .int)
            use(opB, .int)
        case .jumpIfLtImm, .jumpIfLeImm, .jumpIfGtImm, .jumpIfGeImm, .jumpIfEqImm, .jumpIfNeImm:
            use(opA, .int)
        case .forPrep:
            use(opA, .int)
            use(opA + 1, .int)
        case .forLoop:
            use(opA, .int)
            use(opA + 1, .int)
            def(opA, .int)
        case .convert:
            let from = ElementKind(rawValue: UInt8(opK >> 4)) ?? .int
            let to = ElementKind(rawValue: UInt8(opK & 15)) ?? .int
            use(opB, scalarKind(from))
            def(opA, scalarKind(to))
        case .ret:
            let k = opA < state.count ? state[opA] : .unknown
            guard k == .int || k == .f32 || k == .f64 else { throw Unsupported(reason: "returns a \(k) value") }
            use(opA, k)
        case .ret4:
            let k = opA < state.count ? state[opA] : .unknown
            guard k == .v32 || k == .v64 else { throw Unsupported(reason: "returns a \(k) value") }
            use(opA, k)
        case .simdBinary, .simdUnary:
            let k: Kind = opK & 1 == 1 ? .v64 : .v32
            let op = SimdOp(rawValue: UInt8(opK >> 1)) ?? .add
            switch op {
            case .add, .sub, .mul, .div, .min, .max, .sqrt, .abs, .neg, .floor, .ceil, .round, .exp, .log, .sin,
                .cos, .tanh, .pow:
                break
            }
            use(opB, k)
            if ins.opcode == .simdBinary { use(opC, k) }
            def(opA, k)
        case .simdFma:
            let k: Kind = opK & 1 == 1 ? .v64 : .v32
            use(opB, k)
            use(opB + 4, k)
            use(opB + 8, k)
            def(opA, k)
        case .splat:
            use(opB, opK & 1 == 1 ? .f64 : .f32)
            def(opA, opK & 1 == 1 ? .v64 : .v32)
        case .simdReduce:
            let op = ReductionOp(rawValue: UInt8(opK >> 1)) ?? .sum
            use(opB, opK & 1 == 1 ? .v64 : .v32)
            switch op {
            case .sum, .min, .max: def(opA, opK & 1 == 1 ? .f64 : .f32)
            case .count, .any, .all: def(opA, .int)
            }
        case .simdCompare:
            // Masks live in YMM registers like the SIMD values they compare.
            let k: Kind = opK & 1 == 1 ? .v64 : .v32
            use(opB, k)
            use(opC, k)
            def(opA, k)
        case .simdMask:
            let k = opB < state.count ? state[opB] : .unknown
            guard k == .v32 || k == .v64 else { throw Unsupported(reason: "combines a \(k) register as a mask") }
            use(opB, k)
            if (MaskOp(rawValue: UInt8(opK)) ?? .not) != .not { use(opC, k) }
            def(opA, k)
        case .simdSelect:
            let k = opC < state.count ? state[opC] : .unknown
            guard k == .v32 || k == .v64 else { throw Unsupported(reason: "selects \(k) values") }
            use(opB, k)
            use(opC, k)
            use(opC + 4, k)
            def(opA, k)
        case .lane:
            if opK & 2 != 0 { throw Unsupported(reason: "lane of a mask is not lowered in whole functions yet") }
            use(opB, opK & 1 == 1 ? .v64 : .v32)
            use(opC, .int)
            def(opA, opK & 1 == 1 ? .f64 : .f32)
        case .vload:
            use(opB, .array(opK & 1 == 1 ? .float : .f32))
            use(opC, .int)
            def(opA, opK & 1 == 1 ? .v64 : .v32)
        case .vstore:
            use(opA, .array(opK & 1 == 1 ? .float : .f32))
            use(opB, .int)
            use(opC, opK & 1 == 1 ? .v64 : .v32)
        case .getInt, .getFloat, .getF32:
            let el: ElementKind = ins.opcode == .getInt ? .int : ins.opcode == .getFloat ? .float : .f32
            use(opB, .array(el))
            use(opC, .int)
            def(opA, scalarKind(el))
        case .setInt, .setFloat, .setF32:
            let el: ElementKind = ins.opcode == .setInt ? .int : ins.opcode == .setFloat ? .float : .f32
            use(opA, .array(el))
            use(opB, .int)
            use(opC, scalarKind(el))
        case .length:
            let k = opB < state.count ? state[opB] : .unknown
            guard case .array = k else { throw Unsupported(reason: "len of a non-parameter array") }
            use(opB, k)
            def(opA, .int)
        default:
            throw Unsupported(reason: "uses \(ins.opcode.name)")
        }
        return e
    }

    /// Applies definitions to a state: a SIMD value covers its next three slots, and writing a slot
    /// destroys any SIMD value covering it.
    func apply(_ defs: [(Int, Kind)], to state: inout [Kind]) {
        for (s, k) in defs {
            for back in 1...3 where s - back >= 0 && (state[s - back] == .v32 || state[s - back] == .v64) {
                // a SIMD value at s - back covered s: it is gone
                state[s - back] = .unknown
                for c in (s - back + 1)..<min(state.count, s - back + 4) where state[c] == .covered {
                    state[c] = .unknown
                }
            }
            if state[s] == .v32 || state[s] == .v64 {
                for c in (s + 1)..<min(state.count, s + 4) where state[c] == .covered { state[c] = .unknown }
            }
            state[s] = k
            if k == .v32 || k == .v64 {
                for c in (s + 1)..<min(state.count, s + 4) { state[c] = .covered }
            }
        }
    }

    /// Whether native code leaves for the interpreter at `ins` instead of running it: an instruction
    /// outside the subset (objects, strings, kernels, channels, tasks, input and output, globals).
    /// Never in an inlined body: `relocated` accepts only instructions of the subset.
    static func leaves(_ ins: Instruction) -> Bool {
        if FunctionLowering.runsThroughRuntime(ins) { return false }
        switch ins.opcode {
        case .nop, .clearRefs, .jump, .ret0, .call, .move, .move4, .loadInt, .loadConst, .addInt, .subInt, .mulInt,
            .divInt, .modInt, .ltInt, .leInt, .eqInt, .neInt, .addIntImm, .negInt, .not, .addFloat, .subFloat,
            .mulFloat, .divFloat, .addFloatK, .subFloatK, .mulFloatK, .divFloatK, .addF32, .subF32, .mulF32, .divF32,
            .negFloat, .negF32, .scalarMath, .scalarFma,
            .compare, .jumpIfTrue, .jumpIfFalse, .jumpIfLtInt, .jumpIfLeInt, .jumpIfEqInt, .jumpIfNeInt,
            .jumpIfLtImm, .jumpIfLeImm, .jumpIfGtImm, .jumpIfGeImm, .jumpIfEqImm, .jumpIfNeImm, .forPrep, .forLoop,
            .convert, .ret, .ret4, .simdBinary, .simdUnary, .simdFma, .splat, .simdReduce, .simdCompare, .simdMask,
            .simdSelect, .lane, .vload, .vstore, .getInt, .getFloat, .getF32, .setInt, .setFloat, .setF32, .length:
            return false
        default:
            return true
        }
    }

    /// Where the native code may go after `pc`: the opcode table's successors (Instruction.successors),
    /// or none after an instruction that leaves for the interpreter, which goes on from there.
    func successors(_ pc: Int) -> [Int] {
        FunctionLowering.leaves(code[pc]) ? [] : Array(code[pc].successors(at: pc))
    }

    // MARK: - Analysis

    mutating func analyze() throws(Unsupported) {
        let n = code.count
        let frame = frameExtent
        guard n > 0 else { throw Unsupported(reason: "empty") }
        // Initial state: the parameters.
        var initial = [Kind](repeating: .unknown, count: frame + 4)
        var slot = 0
        for t in function.parameterTypes {
            initial[slot] = kind(of: t)
            if t.isArray { arraySlots.append(slot) }
            if t.storage == .simd { for c in 1..<4 { initial[slot + c] = .covered } }
            slot += max(1, t.storage.slots)
        }
        // Forward dataflow of kinds.
        stateIn = Array(repeating: [], count: n)
        stateOut = Array(repeating: [], count: n)
        stateIn[0] = initial
        var work = [0]
        var visits = 0
        while let pc = work.popLast() {
            visits += 1
            if visits > 200 * n + 1000 { throw Unsupported(reason: "type analysis does not settle") }
            var st = stateIn[pc]
            let e = try effects(code[pc], st)
            apply(e.defs, to: &st)
            if let k = e.kills { for i in k where i < st.count { st[i] = .unknown } }
            stateOut[pc] = st
            for s in successors(pc) {
                guard s >= 0 && s < n else { throw Unsupported(reason: "jumps outside the function") }
                if s <= pc { backEdgeTargets.insert(s) }
                if s != pc + 1 { branchTargets.insert(s) }
                if stateIn[s].isEmpty {
                    stateIn[s] = st
                    work.append(s)
                } else {
                    var merged = stateIn[s]
                    var changed = false
                    for i in merged.indices where merged[i] != st[i] {
                        let m: Kind = merged[i] == .unknown ? st[i] : st[i] == .unknown ? merged[i] : .conflict
                        if m != merged[i] {
                            merged[i] = m
                            changed = true
                        }
                    }
                    if changed {
                        stateIn[s] = merged
                        work.append(s)
                    }
                }
            }
        }
        // The kinds have settled: each instruction's effects are computed once, for the passes after
        // this one (a call of `effects` from here copies the whole lowering state).
        effectsAt = Array(repeating: Effects(), count: n)
        for pc in 0..<n where !stateIn[pc].isEmpty { effectsAt[pc] = try effects(code[pc], stateIn[pc]) }
        // Every use must see the kind it needs.
        for pc in 0..<n where !stateIn[pc].isEmpty {
            let e = effectsAt[pc]
            for (s, k) in e.uses where stateIn[pc][s] != k {
                throw Unsupported(reason: "register \(s) holds a \(stateIn[pc][s]) where a \(k) is read (pc \(pc))")
            }
        }
        // Leaving for the interpreter pays only where native code ran a loop first; and every slot of
        // the frame must have one kind there, as the interpreted rest may read any.
        let exits = (0..<n).filter { !stateIn[$0].isEmpty && FunctionLowering.leaves(code[$0]) }
        if let first = exits.first {
            guard !backEdgeTargets.isEmpty else {
                throw Unsupported(reason: "uses \(code[first].opcode.name)")
            }
            for pc in exits {
                for s in 0..<min(function.frameSize, stateIn[pc].count) where stateIn[pc][s] == .conflict {
                    let op = code[pc].opcode.name
                    throw Unsupported(reason: "register \(s) has no single kind where \(op) leaves for the interpreter")
                }
            }
        }
        holdsArrays =
            stateOut.contains { $0.contains { isArray($0) } } || stateIn.contains { $0.contains { isArray($0) } }
        // Backward liveness of registers.
        liveIn = Array(repeating: RegisterSet(), count: n)
        var changed = true
        while changed {
            changed = false
            for pc in stride(from: n - 1, through: 0, by: -1) where !stateIn[pc].isEmpty {
                var out = RegisterSet()
                for s in successors(pc) { out.formUnion(liveIn[s]) }
                let e = effectsAt[pc]
                for (d, _) in e.defs { out.remove(d) }
                if let k = e.kills { out.remove(k) }
                for (u, _) in e.uses { out.insert(u) }
                if out != liveIn[pc] {
                    liveIn[pc] = out
                    changed = true
                }
            }
        }
        // Re-entry points: the start and every loop header whose live registers have known kinds.
        // And where the interpreter goes on after a step that parked the task (FunctionLowering+Steps):
        // after it (both ways for a `recvOrJump`), or at it for a `wait`, which runs again.
        var resumes: [Int] = []
        for pc in 0..<n where !stateIn[pc].isEmpty && isStep(code[pc]) && FunctionLowering.mayPark(code[pc].opcode) {
            resumes += code[pc].opcode == .wait ? [pc] : successors(pc)
        }
        entryPoints = [0]
        for t in Set(backEdgeTargets).union(resumes).sorted() where t != 0 && t < n && !stateIn[t].isEmpty {
            if liveIn[t].allSatisfy({
                stateIn[t][$0].isMachine || isArray(stateIn[t][$0]) || stateIn[t][$0] == .reference
            }) {
                entryPoints.append(t)
            }
        }
    }

    func isArray(_ k: Kind) -> Bool { if case .array = k { return true } else { return false } }

    /// The kinds of the registers live at `pc` (for a write-back), checked to be writable.
    func liveKinds(at pc: Int, state: [Kind]) throws(Unsupported) -> [Int: Kind] {
        var out: [Int: Kind] = [:]
        for s in liveIn[pc] {
            let k = state[s]
            switch k {
            case .int, .f32, .f64, .v32, .v64: out[s] = k
            case .array, .reference, .unknown: break
            case .covered, .conflict: throw Unsupported(reason: "register \(s) has no single kind at pc \(pc)")
            }
        }
        return out
    }
}
