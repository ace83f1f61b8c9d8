// Function lowering: integer `/` and `%` by a constant without `idiv` (see FunctionLowering.swift).
// `(i + j) % 7` or `n * (n + 1) / 2` divides by a `loadInt` just before it. An idiv takes tens of
// cycles; a multiplication by a fixed-point reciprocal and a few shifts, or only shifts for a power
// of two, take a handful, and give the same quotient for every dividend (LANGUAGE.md: `/`
// truncates, `%` takes the dividend's sign).

extension FunctionLowering {
    /// The value of the int register `slot` just before `pc` when a constant sets it in the same
    /// straight run of code (`loadInt`, an int `loadConst`, or `addIntImm` / `negInt` of such a
    /// value: `-7` and `0 - 7`): no branch lands between there and `pc` and nothing in between
    /// writes `slot`. Nil otherwise (the value is then only known at run time).
    func knownInt(_ slot: Int, before pc: Int) -> Int64? {
        // Each step back from i + 1 to i needs every path into i + 1 to come through i: i + 1 is
        // no branch target and no re-entry point (`d = 7; if c { d = 3 }; m % d` lands on the %).
        var i = pc - 1
        while i >= 0, !stateIn[i].isEmpty, !branchTargets.contains(i + 1), !entryPoints.contains(i + 1) {
            let ins = code[i]
            if ins.a == slot {
                switch ins.opcode {
                case .loadInt: return Int64(ins.sBx)
                case .loadConst where ElementKind(rawValue: UInt8(ins.k)) == .int:
                    return Int64(bitPattern: constants[ins.bx])
                case .addIntImm: return knownInt(ins.b, before: i).map { $0 &+ Int64(ins.sC) }
                case .negInt: return knownInt(ins.b, before: i).map { 0 &- $0 }
                default: break
                }
            }
            guard let e = try? effects(ins, stateIn[i]) else { return nil }
            if let k = e.kills, k.contains(slot) { return nil }
            for (d, kind) in e.defs {
                let width = kind == .v32 || kind == .v64 ? 4 : 1
                if d <= slot && slot < d + width { return nil }
            }
            i -= 1
        }
        return nil
    }

    /// The reciprocal of `d` for a signed 64-bit division: (m, s) such that for every n,
    /// n / d == q + (q < 0 ? 1 : 0) with q = (hi64(m * n) [+ n when d > 0 and m < 0]
    /// [- n when d < 0 and m > 0]) >> s (arithmetic). The smallest s ≥ 0 for which
    /// m = ceil(2^(64+s) / |d|) is precise enough over every 64-bit n (the method of Granlund and
    /// Montgomery, "Division by invariant integers using multiplication", 1994, as Hacker's Delight
    /// 10-1 derives it). Nil for d in {-1, 0, 1} and Int64.min, which keep the general path.
    static func divisionMagic(_ d: Int64) -> (m: Int64, s: Int)? {
        guard d != 0 && d != 1 && d != -1 && d != .min else { return nil }
        let two63: UInt64 = 1 << 63
        let ad = d.magnitude
        let t = two63 + (d < 0 ? 1 : 0)
        let anc = t - 1 - t % ad  // |nc|: the largest dividend with n % |d| == |d| - 1, in magnitude
        var p = 63
        var q1 = two63 / anc
        var r1 = two63 - q1 * anc  // 2^p / |nc|, 2^p % |nc|
        var q2 = two63 / ad
        var r2 = two63 - q2 * ad  // 2^p / |d|, 2^p % |d|
        while true {
            p += 1
            q1 &*= 2
            r1 &*= 2
            if r1 >= anc {
                q1 &+= 1
                r1 &-= anc
            }
            q2 &*= 2
            r2 &*= 2
            if r2 >= ad {
                q2 &+= 1
                r2 &-= ad
            }
            let delta = ad - r2
            if !(q1 < delta || (q1 == delta && r1 == 0)) { break }
        }
        let m = Int64(bitPattern: q2 &+ 1)
        return (d < 0 ? 0 &- m : m, p - 64)
    }

    /// opA = opB / d or opB % d (`ins` is divInt or modInt) for a constant `d` that has a
    /// `divisionMagic`. Uses rax and rdx, like idiv; never traps, so it needs no deopt.
    mutating func emitDivision(_ ins: Instruction, by d: Int64) {
        let n = g(ins.b)
        if d.magnitude.nonzeroBitCount == 1 {
            emitDivision(ins, byPowerOfTwo: d)
            return
        }
        let (m, s) = FunctionLowering.divisionMagic(d)!
        a.mov(.rax, m)
        a.imul(n)  // rdx = the high half of m * n
        if d > 0 && m < 0 { a.add(.rdx, n) }
        if d < 0 && m > 0 { a.sub(.rdx, n) }
        if s > 0 { a.sar(.rdx, Int64(s)) }
        a.mov(.rax, .rdx)
        a.shr(.rax, 63)
        a.add(.rdx, .rax)  // rounds toward zero: +1 for a negative quotient
        if ins.opcode == .divInt {
            a.mov(g(ins.a), .rdx)
            return
        }
        // n % d = n - (n / d) * d, wrapping as the interpreter's does.
        if Int32(exactly: d) != nil {
            a.imul(.rdx, .rdx, d)
        } else {
            a.mov(.rax, d)
            a.imul(.rdx, .rax)
        }
        if g(ins.a) != n { a.mov(g(ins.a), n) }
        a.sub(g(ins.a), .rdx)
    }

    /// The same for d = ±2^k (k in 1...62): the dividend, plus 2^k - 1 when it is negative (so the
    /// shift rounds toward zero), shifted right by k; negated for a negative d. The remainder,
    /// whose sign is the dividend's whatever d's, is n - ((n + bias) with its low k bits cleared).
    /// No multiplication.
    mutating func emitDivision(_ ins: Instruction, byPowerOfTwo d: Int64) {
        let n = g(ins.b)
        let dst = g(ins.a)
        let k = Int64(d.magnitude.trailingZeroBitCount)
        a.mov(.rax, n)
        if k > 1 { a.sar(.rax, 63) }  // all ones for a negative n (for k = 1 the sign bit will do)
        a.shr(.rax, 64 - k)  // the bias: 2^k - 1 for a negative n, else 0
        if ins.opcode == .divInt {
            if dst == n { a.add(dst, .rax) } else { a.lea(dst, X86.ptr(.rax, index: n, scale: 1)) }
            a.sar(dst, k)  // n / |d|
            if d < 0 { a.neg(dst) }
            return
        }
        a.add(.rax, n)
        if k < 32 {
            a.and(.rax, -(Int64(1) << k))  // (n / |d|) << k: an imm32, sign-extended
        } else {
            a.sar(.rax, k)
            a.shl(.rax, k)
        }
        if dst != n { a.mov(dst, n) }
        a.sub(dst, .rax)
    }

    /// Whether the constant load at `pc` (`loadInt` or an int `loadConst`) only feeds the division
    /// by a constant right after it, which never reads the divisor's register (emitDivision) and
    /// never leaves for the interpreter: the register is dead after that division, so the load can
    /// be left out.
    func onlyFeedsConstantDivision(_ pc: Int) -> Bool {
        let slot = code[pc].a
        guard pc + 2 < code.count else { return false }
        let next = code[pc + 1]
        guard next.opcode == .divInt || next.opcode == .modInt, next.c == slot, next.b != slot,
            let d = knownInt(slot, before: pc + 1), FunctionLowering.divisionMagic(d) != nil
        else { return false }
        return !liveIn[pc + 2].contains(slot)
    }
}
