// Function lowering, part 5: two small rewrites of the code before and while it is emitted (see
// FunctionLowering.swift). Both keep every value the interpreter could read bit for bit the same.
//
// - Common subexpressions: within a straight run of code, a scalar arithmetic instruction whose
//   operation and operands were computed before, into a register that still holds the result,
//   becomes a `move` from that register (and the allocator coalesces the move away). spectral-norm's
//   `(i + j) * (i + j + 1)` computes `i + j` once.
// - `lea` fusion: `addInt t a b` followed by `addIntImm d t k`, where t dies there, is one
//   `lea d, [a + b + k]`.

extension FunctionLowering {
    /// Whether `op` computes its register A from its operand fields alone, without side effects or
    /// failures, the same bits each time: what `eliminateCommonSubexpressions` may reuse.
    static func isPureScalar(_ op: Opcode) -> Bool {
        switch op {
        case .loadInt, .loadConst, .addInt, .subInt, .mulInt, .addIntImm, .negInt, .not, .ltInt, .leInt, .eqInt,
            .neInt, .addFloat, .subFloat, .mulFloat, .divFloat, .addF32, .subF32, .mulF32, .divF32, .negFloat,
            .negF32, .convert, .addFloatK, .subFloatK, .mulFloatK, .divFloatK:
            return true
        default:
            return false
        }
    }

    /// Which of an instruction's B and C fields are registers (the rest are immediates, indices or
    /// unused), for the pure ones.
    static func registerOperands(_ op: Opcode) -> (b: Bool, c: Bool) {
        switch op {
        case .loadInt, .loadConst: return (false, false)
        case .addIntImm, .negInt, .not, .negFloat, .negF32, .convert, .addFloatK, .subFloatK, .mulFloatK, .divFloatK:
            return (true, false)
        default: return (true, true)
        }
    }

    /// Replaces recomputations by moves (see the top of this file). A value is known by its
    /// instruction with A left out and its register operands named by the register they were first
    /// computed in (`copyOf`: a move, or a recomputation made a move, is a copy). The table is emptied
    /// at every jump target and at every instruction but the pure ones and moves; a value goes when
    /// the register holding it, or one it was computed from, is written.
    mutating func eliminateCommonSubexpressions() {
        struct Value: Hashable {
            let word: UInt64
            let b: Int
            let c: Int
        }
        var targets = Set<Int>()
        for (pc, ins) in code.enumerated() {
            if let off = ins.jumpOffset { targets.insert(pc + 1 + off) }
        }
        var available: [Value: Int] = [:]
        var copyOf: [Int: Int] = [:]
        let fieldsMask = UInt64(0xFF) | UInt64(0xFF) << 24  // the opcode and K
        for pc in code.indices {
            if targets.contains(pc) {
                available.removeAll()
                copyOf.removeAll()
            }
            let ins = code[pc]
            let op = ins.opcode
            guard FunctionLowering.isPureScalar(op) || op == .move else {
                available.removeAll()
                copyOf.removeAll()
                continue
            }
            func canonical(_ r: Int) -> Int { copyOf[r] ?? r }
            var source: Int? = op == .move ? canonical(ins.b) : nil
            var value: Value?
            if op != .move {
                let (rb, rc) = FunctionLowering.registerOperands(op)
                // The opcode and K; an immediate C (addIntImm's); all but A for the loads.
                let fields = rb || rc ? fieldsMask : ~(UInt64(0xFFFF) << 8)
                let immediate = rc ? 0 : ins.word & (0xFFFF << 48)
                let v = Value(
                    word: ins.word & fields | immediate, b: rb ? canonical(ins.b) : 0, c: rc ? canonical(ins.c) : 0)
                value = v
                if let r = available[v] {
                    if r != ins.a { code[pc] = Instruction(.move, a: ins.a, b: r) }
                    source = r
                }
            }
            // A is written: what was computed into it or from it, and the copies of it, are gone.
            let a = ins.a
            available = available.filter { v, r in r != a && v.b != a && v.c != a }
            copyOf = copyOf.filter { k, v in k != a && v != a }
            if let source, source != a {
                copyOf[a] = source
            } else if let value, value.b != a || !FunctionLowering.registerOperands(op).b,
                value.c != a || !FunctionLowering.registerOperands(op).c
            {
                available[value] = a
            }
        }
    }

    /// For `addInt` at `pc`: the registers (a, b) when the next instruction is an `addIntImm` of its
    /// result that fuses with it (the result read nowhere else, nothing spilled, no jump in between).
    func leaFusion(at pc: Int) -> (Int, Int)? {
        let ins = code[pc]
        guard ins.opcode == .addInt, pc + 2 < code.count, spilledInts.isEmpty else { return nil }
        let next = code[pc + 1]
        guard next.opcode == .addIntImm, next.b == ins.a, !branchTargets.contains(pc + 1),
            !entryPoints.contains(pc + 1), !stateIn[pc + 1].isEmpty,
            successors(pc + 1) == [pc + 2], !liveIn[pc + 2].contains(ins.a)
        else { return nil }
        return (ins.b, ins.c)
    }
}
