// Function lowering: bounds checks that an earlier one already made. In a straight run of code (no
// branch lands in it, no call), `vx[i] -= dx * mj` reads and writes the same element: once the read's
// check passed, the write's cannot fail, as neither the index register nor the array (nor its length,
// which only a call could change) moved in between. The second check is left out (see
// FunctionLowering.swift: an access's check is a cmp and a jae to a deopt stub).

extension FunctionLowering {
    /// An (array register, index register) pair whose bounds check passed on every path to here.
    struct CheckedAccess: Hashable {
        let array: Int
        let index: Int
    }

    /// Whether `array[index]` needs its bounds check here; records it as checked from here on.
    mutating func needsBoundsCheck(array: Int, index: Int) -> Bool {
        checkedAccesses.insert(CheckedAccess(array: array, index: index)).inserted
    }

    /// Before instruction `pc`: where branches or the interpreter land, nothing is known.
    mutating func forgetChecks(before pc: Int) {
        if branchTargets.contains(pc) || entryPoints.contains(pc) { checkedAccesses.removeAll() }
    }

    /// After instruction `pc`: a call or a step (FunctionLowering+Steps) may change any array; a register it writes (or destroys)
    /// no longer holds the value that was checked.
    mutating func forgetChecks(after pc: Int) {
        guard !checkedAccesses.isEmpty else { return }
        let ins = code[pc]
        guard ins.opcode != .call, !isStep(ins) else {
            checkedAccesses.removeAll()
            return
        }
        let e = effectsAt[pc]
        var written: [Range<Int>] = e.defs.map { d, kind in d..<(d + (kind == .v32 || kind == .v64 ? 4 : 1)) }
        if let k = e.kills { written.append(k) }
        guard !written.isEmpty else { return }
        checkedAccesses = checkedAccesses.filter { c in
            !written.contains { $0.contains(c.array) || $0.contains(c.index) }
        }
    }
}
