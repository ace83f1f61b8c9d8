// X86Assembler+GP.swift — typed methods for the general-purpose instructions (what loops, prologues and
// epilogues need). Each one only picks operand kinds and forwards to `emit`; encodings live in X86Encoding.swift.
// Intel operand order: destination first. Immediates are Int64 so that both signed and unsigned spellings of a
// 32-bit value fit; out-of-range values are reported by `finalize()`.

extension X86Assembler {
    // MARK: Arithmetic and logic: add, or, adc, sbb, and, sub, xor, cmp

    mutating func add(_ d: X86.GPR, _ s: X86.GPR) { emit(.add, .gpr(d), .gpr(s)) }
    mutating func add(_ d: X86.GPR, _ s: X86.Mem) { emit(.add, .gpr(d), .mem(s)) }
    mutating func add(_ d: X86.Mem, _ s: X86.GPR) { emit(.add, .mem(d), .gpr(s)) }
    mutating func add(_ d: X86.GPR, _ imm: Int64) { emit(.add, .gpr(d), .imm(imm)) }
    mutating func add(_ d: X86.Mem, _ imm: Int64) { emit(.add, .mem(d), .imm(imm)) }

    mutating func or(_ d: X86.GPR, _ s: X86.GPR) { emit(.or, .gpr(d), .gpr(s)) }
    mutating func or(_ d: X86.GPR, _ s: X86.Mem) { emit(.or, .gpr(d), .mem(s)) }
    mutating func or(_ d: X86.Mem, _ s: X86.GPR) { emit(.or, .mem(d), .gpr(s)) }
    mutating func or(_ d: X86.GPR, _ imm: Int64) { emit(.or, .gpr(d), .imm(imm)) }
    mutating func or(_ d: X86.Mem, _ imm: Int64) { emit(.or, .mem(d), .imm(imm)) }

    mutating func adc(_ d: X86.GPR, _ s: X86.GPR) { emit(.adc, .gpr(d), .gpr(s)) }
    mutating func adc(_ d: X86.GPR, _ s: X86.Mem) { emit(.adc, .gpr(d), .mem(s)) }
    mutating func adc(_ d: X86.Mem, _ s: X86.GPR) { emit(.adc, .mem(d), .gpr(s)) }
    mutating func adc(_ d: X86.GPR, _ imm: Int64) { emit(.adc, .gpr(d), .imm(imm)) }
    mutating func adc(_ d: X86.Mem, _ imm: Int64) { emit(.adc, .mem(d), .imm(imm)) }

    mutating func sbb(_ d: X86.GPR, _ s: X86.GPR) { emit(.sbb, .gpr(d), .gpr(s)) }
    mutating func sbb(_ d: X86.GPR, _ s: X86.Mem) { emit(.sbb, .gpr(d), .mem(s)) }
    mutating func sbb(_ d: X86.Mem, _ s: X86.GPR) { emit(.sbb, .mem(d), .gpr(s)) }
    mutating func sbb(_ d: X86.GPR, _ imm: Int64) { emit(.sbb, .gpr(d), .imm(imm)) }
    mutating func sbb(_ d: X86.Mem, _ imm: Int64) { emit(.sbb, .mem(d), .imm(imm)) }

    mutating func and(_ d: X86.GPR, _ s: X86.GPR) { emit(.and, .gpr(d), .gpr(s)) }
    mutating func and(_ d: X86.GPR, _ s: X86.Mem) { emit(.and, .gpr(d), .mem(s)) }
    mutating func and(_ d: X86.Mem, _ s: X86.GPR) { emit(.and, .mem(d), .gpr(s)) }
    mutating func and(_ d: X86.GPR, _ imm: Int64) { emit(.and, .gpr(d), .imm(imm)) }
    mutating func and(_ d: X86.Mem, _ imm: Int64) { emit(.and, .mem(d), .imm(imm)) }

    mutating func sub(_ d: X86.GPR, _ s: X86.GPR) { emit(.sub, .gpr(d), .gpr(s)) }
    mutating func sub(_ d: X86.GPR, _ s: X86.Mem) { emit(.sub, .gpr(d), .mem(s)) }
    mutating func sub(_ d: X86.Mem, _ s: X86.GPR) { emit(.sub, .mem(d), .gpr(s)) }
    mutating func sub(_ d: X86.GPR, _ imm: Int64) { emit(.sub, .gpr(d), .imm(imm)) }
    mutating func sub(_ d: X86.Mem, _ imm: Int64) { emit(.sub, .mem(d), .imm(imm)) }

    mutating func xor(_ d: X86.GPR, _ s: X86.GPR) { emit(.xor, .gpr(d), .gpr(s)) }
    mutating func xor(_ d: X86.GPR, _ s: X86.Mem) { emit(.xor, .gpr(d), .mem(s)) }
    mutating func xor(_ d: X86.Mem, _ s: X86.GPR) { emit(.xor, .mem(d), .gpr(s)) }
    mutating func xor(_ d: X86.GPR, _ imm: Int64) { emit(.xor, .gpr(d), .imm(imm)) }
    mutating func xor(_ d: X86.Mem, _ imm: Int64) { emit(.xor, .mem(d), .imm(imm)) }

    mutating func cmp(_ d: X86.GPR, _ s: X86.GPR) { emit(.cmp, .gpr(d), .gpr(s)) }
    mutating func cmp(_ d: X86.GPR, _ s: X86.Mem) { emit(.cmp, .gpr(d), .mem(s)) }
    mutating func cmp(_ d: X86.Mem, _ s: X86.GPR) { emit(.cmp, .mem(d), .gpr(s)) }
    mutating func cmp(_ d: X86.GPR, _ imm: Int64) { emit(.cmp, .gpr(d), .imm(imm)) }
    mutating func cmp(_ d: X86.Mem, _ imm: Int64) { emit(.cmp, .mem(d), .imm(imm)) }

    mutating func test(_ d: X86.GPR, _ s: X86.GPR) { emit(.test, .gpr(d), .gpr(s)) }
    mutating func test(_ d: X86.Mem, _ s: X86.GPR) { emit(.test, .mem(d), .gpr(s)) }
    mutating func test(_ d: X86.GPR, _ imm: Int64) { emit(.test, .gpr(d), .imm(imm)) }
    mutating func test(_ d: X86.Mem, _ imm: Int64) { emit(.test, .mem(d), .imm(imm)) }

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
    /// Zero-extends a byte or word register (or `.byte`/`.word` memory) into a wider register.
    mutating func movzx(_ d: X86.GPR, _ s: X86.GPR) { emit(.movzx, .gpr(d), .gpr(s)) }
    mutating func movzx(_ d: X86.GPR, _ s: X86.Mem) { emit(.movzx, .gpr(d), .mem(s)) }
    mutating func movsx(_ d: X86.GPR, _ s: X86.GPR) { emit(.movsx, .gpr(d), .gpr(s)) }
    mutating func movsx(_ d: X86.GPR, _ s: X86.Mem) { emit(.movsx, .gpr(d), .mem(s)) }
    /// Sign-extends a 32-bit source into a 64-bit register.
    mutating func movsxd(_ d: X86.GPR, _ s: X86.GPR) { emit(.movsxd, .gpr(d), .gpr(s)) }
    mutating func movsxd(_ d: X86.GPR, _ s: X86.Mem) { emit(.movsxd, .gpr(d), .mem(s)) }
    mutating func cmov(_ condition: X86.Condition, _ d: X86.GPR, _ s: X86.GPR) {
        emit(.cmovcc, .gpr(d), .gpr(s), condition: condition)
    }
    mutating func cmov(_ condition: X86.Condition, _ d: X86.GPR, _ s: X86.Mem) {
        emit(.cmovcc, .gpr(d), .mem(s), condition: condition)
    }
    mutating func set(_ condition: X86.Condition, _ d: X86.GPR) { emit(.setcc, .gpr(d), condition: condition) }
    mutating func set(_ condition: X86.Condition, _ d: X86.Mem) { emit(.setcc, .mem(d), condition: condition) }

    // MARK: Single-operand arithmetic, multiply, divide

    mutating func inc(_ d: X86.GPR) { emit(.inc, .gpr(d)) }
    mutating func inc(_ d: X86.Mem) { emit(.inc, .mem(d)) }
    mutating func dec(_ d: X86.GPR) { emit(.dec, .gpr(d)) }
    mutating func dec(_ d: X86.Mem) { emit(.dec, .mem(d)) }
    mutating func not(_ d: X86.GPR) { emit(.not, .gpr(d)) }
    mutating func not(_ d: X86.Mem) { emit(.not, .mem(d)) }
    mutating func neg(_ d: X86.GPR) { emit(.neg, .gpr(d)) }
    mutating func neg(_ d: X86.Mem) { emit(.neg, .mem(d)) }
    /// rdx:rax ← rax × s, unsigned.
    mutating func mul(_ s: X86.GPR) { emit(.mul, .gpr(s)) }
    mutating func mul(_ s: X86.Mem) { emit(.mul, .mem(s)) }
    /// rax ← rdx:rax ÷ s, rdx ← remainder, unsigned (zero rdx first).
    mutating func div(_ s: X86.GPR) { emit(.div, .gpr(s)) }
    mutating func div(_ s: X86.Mem) { emit(.div, .mem(s)) }
    /// Signed division of rdx:rax (sign-extend with `cqo`/`cdq` first).
    mutating func idiv(_ s: X86.GPR) { emit(.idiv, .gpr(s)) }
    mutating func idiv(_ s: X86.Mem) { emit(.idiv, .mem(s)) }
    /// rdx:rax = rax * s, signed: the one-operand form (the high half of a product).
    mutating func imul(_ s: X86.GPR) { emit(.imul, .gpr(s)) }
    mutating func imul(_ s: X86.Mem) { emit(.imul, .mem(s)) }
    mutating func imul(_ d: X86.GPR, _ s: X86.GPR) { emit(.imul, .gpr(d), .gpr(s)) }
    mutating func imul(_ d: X86.GPR, _ s: X86.Mem) { emit(.imul, .gpr(d), .mem(s)) }
    mutating func imul(_ d: X86.GPR, _ s: X86.GPR, _ imm: Int64) { emit(.imul, .gpr(d), .gpr(s), .imm(imm)) }
    mutating func imul(_ d: X86.GPR, _ s: X86.Mem, _ imm: Int64) { emit(.imul, .gpr(d), .mem(s), .imm(imm)) }
    mutating func cqo() { emit(.cqo) }
    mutating func cdq() { emit(.cdq) }
    /// Sets the carry flag (the function JIT's "did not return" signal to a native caller).
    mutating func stc() { emit(.stc) }
    mutating func popcnt(_ d: X86.GPR, _ s: X86.GPR) { emit(.popcnt, .gpr(d), .gpr(s)) }
    mutating func popcnt(_ d: X86.GPR, _ s: X86.Mem) { emit(.popcnt, .gpr(d), .mem(s)) }
    mutating func tzcnt(_ d: X86.GPR, _ s: X86.GPR) { emit(.tzcnt, .gpr(d), .gpr(s)) }
    mutating func tzcnt(_ d: X86.GPR, _ s: X86.Mem) { emit(.tzcnt, .gpr(d), .mem(s)) }
    mutating func lzcnt(_ d: X86.GPR, _ s: X86.GPR) { emit(.lzcnt, .gpr(d), .gpr(s)) }
    mutating func lzcnt(_ d: X86.GPR, _ s: X86.Mem) { emit(.lzcnt, .gpr(d), .mem(s)) }

    // MARK: Shifts and rotates (count: an immediate below the width, or the register cl)

    mutating func shl(_ d: X86.GPR, _ count: Int64) { emit(.shl, .gpr(d), .imm(count)) }
    mutating func shl(_ d: X86.Mem, _ count: Int64) { emit(.shl, .mem(d), .imm(count)) }
    mutating func shl(_ d: X86.GPR, _ cl: X86.GPR) { emit(.shl, .gpr(d), .gpr(cl)) }
    mutating func shl(_ d: X86.Mem, _ cl: X86.GPR) { emit(.shl, .mem(d), .gpr(cl)) }
    mutating func shr(_ d: X86.GPR, _ count: Int64) { emit(.shr, .gpr(d), .imm(count)) }
    mutating func shr(_ d: X86.Mem, _ count: Int64) { emit(.shr, .mem(d), .imm(count)) }
    mutating func shr(_ d: X86.GPR, _ cl: X86.GPR) { emit(.shr, .gpr(d), .gpr(cl)) }
    mutating func shr(_ d: X86.Mem, _ cl: X86.GPR) { emit(.shr, .mem(d), .gpr(cl)) }
    mutating func sar(_ d: X86.GPR, _ count: Int64) { emit(.sar, .gpr(d), .imm(count)) }
    mutating func sar(_ d: X86.Mem, _ count: Int64) { emit(.sar, .mem(d), .imm(count)) }
    mutating func sar(_ d: X86.GPR, _ cl: X86.GPR) { emit(.sar, .gpr(d), .gpr(cl)) }
    mutating func sar(_ d: X86.Mem, _ cl: X86.GPR) { emit(.sar, .mem(d), .gpr(cl)) }
    mutating func rol(_ d: X86.GPR, _ count: Int64) { emit(.rol, .gpr(d), .imm(count)) }
    mutating func rol(_ d: X86.GPR, _ cl: X86.GPR) { emit(.rol, .gpr(d), .gpr(cl)) }
    mutating func ror(_ d: X86.GPR, _ count: Int64) { emit(.ror, .gpr(d), .imm(count)) }
    mutating func ror(_ d: X86.GPR, _ cl: X86.GPR) { emit(.ror, .gpr(d), .gpr(cl)) }

    // MARK: Control flow and stack

    /// Jumps to `label`: rel8 if the label is already bound within reach, else rel32. `short: true` forces rel8
    /// for a forward label; `finalize()` reports it if the label ends up out of reach.
    mutating func jmp(_ label: X86.Label, short: Bool = false) { emit(.jmp, .label(label), short: short) }
    mutating func jmp(_ target: X86.GPR) { emit(.jmp, .gpr(target)) }
    mutating func jmp(_ target: X86.Mem) { emit(.jmp, .mem(target)) }
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

    mutating func nop() { emit(.nop) }
    mutating func int3() { emit(.int3) }
    mutating func ud2() { emit(.ud2) }
    mutating func sfence() { emit(.sfence) }
    mutating func lfence() { emit(.lfence) }
    mutating func mfence() { emit(.mfence) }
    mutating func prefetcht0(_ m: X86.Mem) { emit(.prefetcht0, .mem(m)) }
    mutating func prefetcht1(_ m: X86.Mem) { emit(.prefetcht1, .mem(m)) }
    mutating func prefetcht2(_ m: X86.Mem) { emit(.prefetcht2, .mem(m)) }
    mutating func prefetchnta(_ m: X86.Mem) { emit(.prefetchnta, .mem(m)) }
}
