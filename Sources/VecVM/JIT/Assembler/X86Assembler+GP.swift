// X86Assembler+GP.swift — typed shorthands for the general-purpose forms the JIT and the test routines emit
// (`a.add(.rcx, 8)` for `a.emit(.add, .gpr(.rcx), .imm(8))`). Each one only picks operand kinds and forwards to
// `emit`; encodings live in X86Encoding.swift. Only forms in use are here: every other form of every instruction
// in the table is reached with `emit(_:_:_:_:_:condition:short:)`, which vector code uses throughout (there is no
// typed vector layer: with the table it would be several hundred one-line forwarders that nothing calls).
// Intel operand order: destination first. Immediates are Int64 so that both signed and unsigned spellings of a
// 32-bit value fit; out-of-range values are reported by `finalize()`.

extension X86Assembler {
    // MARK: Arithmetic and logic

    mutating func add(_ d: X86.GPR, _ s: X86.GPR) { emit(.add, .gpr(d), .gpr(s)) }
    mutating func add(_ d: X86.GPR, _ imm: Int64) { emit(.add, .gpr(d), .imm(imm)) }

    mutating func or(_ d: X86.GPR, _ s: X86.GPR) { emit(.or, .gpr(d), .gpr(s)) }

    mutating func and(_ d: X86.GPR, _ imm: Int64) { emit(.and, .gpr(d), .imm(imm)) }

    mutating func sub(_ d: X86.GPR, _ s: X86.GPR) { emit(.sub, .gpr(d), .gpr(s)) }
    mutating func sub(_ d: X86.GPR, _ imm: Int64) { emit(.sub, .gpr(d), .imm(imm)) }

    mutating func xor(_ d: X86.GPR, _ s: X86.GPR) { emit(.xor, .gpr(d), .gpr(s)) }
    mutating func xor(_ d: X86.GPR, _ imm: Int64) { emit(.xor, .gpr(d), .imm(imm)) }

    mutating func cmp(_ d: X86.GPR, _ s: X86.GPR) { emit(.cmp, .gpr(d), .gpr(s)) }
    mutating func cmp(_ d: X86.GPR, _ s: X86.Mem) { emit(.cmp, .gpr(d), .mem(s)) }
    mutating func cmp(_ d: X86.GPR, _ imm: Int64) { emit(.cmp, .gpr(d), .imm(imm)) }
    mutating func cmp(_ d: X86.Mem, _ imm: Int64) { emit(.cmp, .mem(d), .imm(imm)) }

    mutating func test(_ d: X86.GPR, _ s: X86.GPR) { emit(.test, .gpr(d), .gpr(s)) }
    mutating func test(_ d: X86.GPR, _ imm: Int64) { emit(.test, .gpr(d), .imm(imm)) }

    // MARK: Moves

    mutating func mov(_ d: X86.GPR, _ s: X86.GPR) { emit(.mov, .gpr(d), .gpr(s)) }
    mutating func mov(_ d: X86.GPR, _ s: X86.Mem) { emit(.mov, .gpr(d), .mem(s)) }
    mutating func mov(_ d: X86.Mem, _ s: X86.GPR) { emit(.mov, .mem(d), .gpr(s)) }
    /// For a 64-bit register, picks the shortest exact encoding: `mov r32, imm32` (zero-extends) for
    /// 0…2³²−1, `mov r64, simm32` for other values that fit in 32 bits signed, else `movabs`.
    mutating func mov(_ d: X86.GPR, _ imm: Int64) { emit(.mov, .gpr(d), .imm(imm)) }
    /// Stores an immediate; the memory operand needs a width (`.qword` takes a sign-extended imm32).
    mutating func mov(_ d: X86.Mem, _ imm: Int64) { emit(.mov, .mem(d), .imm(imm)) }
    /// Always the 10-byte `REX.W B8+r imm64`, e.g. for an address to be patched later.
    mutating func movabs(_ d: X86.GPR, _ imm: Int64) { emit(.movabs, .gpr(d), .imm(imm)) }
    mutating func lea(_ d: X86.GPR, _ s: X86.Mem) { emit(.lea, .gpr(d), .mem(s)) }
    mutating func cmov(_ condition: X86.Condition, _ d: X86.GPR, _ s: X86.GPR) {
        emit(.cmovcc, .gpr(d), .gpr(s), condition: condition)
    }
    mutating func set(_ condition: X86.Condition, _ d: X86.GPR) { emit(.setcc, .gpr(d), condition: condition) }

    // MARK: Single-operand arithmetic, multiply, divide, flags

    mutating func inc(_ d: X86.GPR) { emit(.inc, .gpr(d)) }
    mutating func dec(_ d: X86.GPR) { emit(.dec, .gpr(d)) }
    mutating func neg(_ d: X86.GPR) { emit(.neg, .gpr(d)) }
    /// Signed division of rdx:rax (sign-extend with `cqo`/`cdq` first).
    mutating func idiv(_ s: X86.GPR) { emit(.idiv, .gpr(s)) }
    /// rdx:rax = rax * s, signed: the one-operand form (the high half of a product).
    mutating func imul(_ s: X86.GPR) { emit(.imul, .gpr(s)) }
    mutating func imul(_ d: X86.GPR, _ s: X86.GPR) { emit(.imul, .gpr(d), .gpr(s)) }
    mutating func imul(_ d: X86.GPR, _ s: X86.GPR, _ imm: Int64) { emit(.imul, .gpr(d), .gpr(s), .imm(imm)) }
    mutating func cqo() { emit(.cqo) }
    /// Sets the carry flag (the function JIT's "did not return" signal to a native caller).
    mutating func stc() { emit(.stc) }

    // MARK: Shifts (count: an immediate below the width)

    mutating func shl(_ d: X86.GPR, _ count: Int64) { emit(.shl, .gpr(d), .imm(count)) }
    mutating func shr(_ d: X86.GPR, _ count: Int64) { emit(.shr, .gpr(d), .imm(count)) }
    mutating func sar(_ d: X86.GPR, _ count: Int64) { emit(.sar, .gpr(d), .imm(count)) }

    // MARK: Control flow and stack

    /// Jumps to `label`: rel8 if the label is already bound within reach, else rel32. `short: true` forces rel8
    /// for a forward label; `finalize()` reports it if the label ends up out of reach.
    mutating func jmp(_ label: X86.Label, short: Bool = false) { emit(.jmp, .label(label), short: short) }
    /// Conditional jump (`j(.ne, loop)`), with `jmp`'s choice of rel8/rel32.
    mutating func j(_ condition: X86.Condition, _ label: X86.Label, short: Bool = false) {
        emit(.jcc, .label(label), condition: condition, short: short)
    }
    mutating func call(_ label: X86.Label) { emit(.call, .label(label)) }
    mutating func call(_ target: X86.GPR) { emit(.call, .gpr(target)) }
    mutating func call(_ target: X86.Mem) { emit(.call, .mem(target)) }
    mutating func ret() { emit(.ret) }
    mutating func push(_ register: X86.GPR) { emit(.push, .gpr(register)) }
    mutating func pop(_ register: X86.GPR) { emit(.pop, .gpr(register)) }

    // MARK: Miscellaneous

    mutating func sfence() { emit(.sfence) }
}
