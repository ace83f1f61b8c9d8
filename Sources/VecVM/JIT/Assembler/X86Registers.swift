// X86Registers.swift — the operand vocabulary of the x86-64 assembler (X86Assembler): general-purpose
// registers of each width, XMM/YMM registers, memory operands, labels, condition codes and compare predicates.
// Plain values only; which bytes they become is decided by X86Encoding.swift and the X86Assembler files.

/// Namespace of the x86-64 assembler, so that short names such as `GPR` or `Mem` cannot clash with the rest of
/// the VecVM module.
enum X86 {}

extension X86 {
    /// Size of a general-purpose operand, or of a memory operand whose size no register operand implies
    /// (AT&T size suffix `b`/`w`/`l`/`q`, Intel `byte ptr`…`ymmword ptr`).
    enum Width: UInt8, Sendable, Hashable {
        case byte = 1
        case word = 2
        case dword = 4
        case qword = 8
        case xmmword = 16
        case ymmword = 32

        var bits: Int { Int(rawValue) * 8 }
    }

    /// A general-purpose register: hardware number 0…15 plus the width the instruction operates on.
    /// `spl`/`bpl`/`sil`/`dil` are the byte forms of 4…7 (the legacy `ah`…`bh` are not offered: they cannot be
    /// mixed with REX prefixes and nothing in a JIT needs them).
    struct GPR: Hashable, Sendable, CustomStringConvertible {
        let number: UInt8
        let width: Width

        private init(_ number: UInt8, _ width: Width) {
            self.number = number
            self.width = width
        }

        /// Register `number` (0…15) of the given width; nil when either is out of range, so that a register
        /// allocator's bug becomes a nil rather than a wrong encoding.
        init?(number: Int, width: Width = .qword) {
            guard (0..<16).contains(number), width.rawValue <= 8 else { return nil }
            self.init(UInt8(number), width)
        }

        var r64: GPR { GPR(number, .qword) }
        var r32: GPR { GPR(number, .dword) }
        var r16: GPR { GPR(number, .word) }
        var r8: GPR { GPR(number, .byte) }

        /// Bits 0–2 of the number: the part that goes into ModRM/SIB/opcode.
        var low3: UInt8 { number & 7 }
        /// Bit 3 of the number: the part that goes into REX/VEX.
        var high: UInt8 { number >> 3 }

        /// Byte registers 4…7 mean ah/ch/dh/bh unless a REX prefix is present.
        var needsREX: Bool { width == .byte && (4...7).contains(number) }

        var name: String { X86.gprNames[Int(width.rawValue.trailingZeroBitCount)][Int(number)] }
        var description: String { "%" + name }

        static let rax = GPR(0, .qword), rcx = GPR(1, .qword), rdx = GPR(2, .qword), rbx = GPR(3, .qword)
        static let rsp = GPR(4, .qword), rbp = GPR(5, .qword), rsi = GPR(6, .qword), rdi = GPR(7, .qword)
        static let r8 = GPR(8, .qword), r9 = GPR(9, .qword), r10 = GPR(10, .qword), r11 = GPR(11, .qword)
        static let r12 = GPR(12, .qword), r13 = GPR(13, .qword), r14 = GPR(14, .qword), r15 = GPR(15, .qword)

        static let eax = GPR(0, .dword), ecx = GPR(1, .dword), edx = GPR(2, .dword), ebx = GPR(3, .dword)
        static let esp = GPR(4, .dword), ebp = GPR(5, .dword), esi = GPR(6, .dword), edi = GPR(7, .dword)
        static let r8d = GPR(8, .dword), r9d = GPR(9, .dword), r10d = GPR(10, .dword), r11d = GPR(11, .dword)
        static let r12d = GPR(12, .dword), r13d = GPR(13, .dword), r14d = GPR(14, .dword), r15d = GPR(15, .dword)

        static let ax = GPR(0, .word), cx = GPR(1, .word), dx = GPR(2, .word), bx = GPR(3, .word)
        static let sp = GPR(4, .word), bp = GPR(5, .word), si = GPR(6, .word), di = GPR(7, .word)
        static let r8w = GPR(8, .word), r9w = GPR(9, .word), r10w = GPR(10, .word), r11w = GPR(11, .word)
        static let r12w = GPR(12, .word), r13w = GPR(13, .word), r14w = GPR(14, .word), r15w = GPR(15, .word)

        static let al = GPR(0, .byte), cl = GPR(1, .byte), dl = GPR(2, .byte), bl = GPR(3, .byte)
        static let spl = GPR(4, .byte), bpl = GPR(5, .byte), sil = GPR(6, .byte), dil = GPR(7, .byte)
        static let r8b = GPR(8, .byte), r9b = GPR(9, .byte), r10b = GPR(10, .byte), r11b = GPR(11, .byte)
        static let r12b = GPR(12, .byte), r13b = GPR(13, .byte), r14b = GPR(14, .byte), r15b = GPR(15, .byte)

        /// The sixteen 64-bit registers in hardware order, for register allocators.
        static let all64: [GPR] = (0..<16).map { GPR(UInt8($0), .qword) }
    }

    fileprivate static let gprNames: [[String]] = [
        ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"] + (8..<16).map { "r\($0)b" },
        ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"] + (8..<16).map { "r\($0)w" },
        ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] + (8..<16).map { "r\($0)d" },
        ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + (8..<16).map { "r\($0)" },
    ]

    /// XMM and YMM registers share one protocol so that each packed instruction is written once, generic over
    /// the vector length, while `vaddps(ymm, ymm, xmm)` still fails to type-check.
    protocol VectorRegister: Hashable, Sendable, CustomStringConvertible {
        var number: UInt8 { get }
        /// VEX.L selected by this register size: 0 for XMM, 1 for YMM.
        static var vexL: UInt8 { get }
        /// All sixteen in hardware order, for register allocators.
        static var all: [Self] { get }
        var operand: Operand { get }
    }

    struct XMM: VectorRegister {
        let number: UInt8
        static let vexL: UInt8 = 0

        fileprivate init(_ number: UInt8) { self.number = number }
        init?(number: Int) {
            guard (0..<16).contains(number) else { return nil }
            self.number = UInt8(number)
        }

        var ymm: YMM { YMM(number) }
        var operand: Operand { .xmm(self) }
        var description: String { "%xmm\(number)" }

        static let all: [XMM] = (0..<16).map { XMM(UInt8($0)) }
    }

    struct YMM: VectorRegister {
        let number: UInt8
        static let vexL: UInt8 = 1

        fileprivate init(_ number: UInt8) { self.number = number }
        init?(number: Int) {
            guard (0..<16).contains(number) else { return nil }
            self.number = UInt8(number)
        }

        var xmm: XMM { XMM(number) }
        var operand: Operand { .ymm(self) }
        var description: String { "%ymm\(number)" }

        static let all: [YMM] = (0..<16).map { YMM(UInt8($0)) }
    }
}

// The named registers live here rather than as statics of XMM/YMM so that `.ymm3` also works where a generic
// `V: X86.VectorRegister` is expected (SE-0299); `X86.YMM.ymm3` works as well.
extension X86.VectorRegister where Self == X86.XMM {
    static var xmm0: Self { .all[0] }
    static var xmm1: Self { .all[1] }
    static var xmm2: Self { .all[2] }
    static var xmm3: Self { .all[3] }
    static var xmm4: Self { .all[4] }
    static var xmm5: Self { .all[5] }
    static var xmm6: Self { .all[6] }
    static var xmm7: Self { .all[7] }
    static var xmm8: Self { .all[8] }
    static var xmm9: Self { .all[9] }
    static var xmm10: Self { .all[10] }
    static var xmm11: Self { .all[11] }
    static var xmm12: Self { .all[12] }
    static var xmm13: Self { .all[13] }
    static var xmm14: Self { .all[14] }
    static var xmm15: Self { .all[15] }
}

extension X86.VectorRegister where Self == X86.YMM {
    static var ymm0: Self { .all[0] }
    static var ymm1: Self { .all[1] }
    static var ymm2: Self { .all[2] }
    static var ymm3: Self { .all[3] }
    static var ymm4: Self { .all[4] }
    static var ymm5: Self { .all[5] }
    static var ymm6: Self { .all[6] }
    static var ymm7: Self { .all[7] }
    static var ymm8: Self { .all[8] }
    static var ymm9: Self { .all[9] }
    static var ymm10: Self { .all[10] }
    static var ymm11: Self { .all[11] }
    static var ymm12: Self { .all[12] }
    static var ymm13: Self { .all[13] }
    static var ymm14: Self { .all[14] }
    static var ymm15: Self { .all[15] }
}

extension X86 {
    /// A position in the code, or a constant of the data section. Created by `X86Assembler.newLabel()` (or
    /// `constant(…)`), bound once with `bind(_:)`; may be referenced before it is bound.
    struct Label: Hashable, Sendable, CustomStringConvertible {
        let id: Int
        /// Identifies the assembler that made the label, so that a label used with another assembler is reported
        /// instead of silently resolving to an unrelated position.
        let owner: UInt64

        var description: String { ".L\(id)" }
    }

    /// A memory operand `[base + index*scale + displacement]`, or `[rip + label + displacement]`.
    /// Build one with `X86.ptr(…)`; an operand the assembler cannot encode (rsp as index, a scale of 3, a 32-bit
    /// base) is reported by `X86Assembler.finalize()`, not trapped.
    struct Mem: Hashable, Sendable {
        var base: GPR?
        var index: GPR?
        var scale: Int
        var displacement: Int32
        /// When set, the operand is rip-relative to this label and `base`/`index` must be nil.
        var label: Label?
        /// Operand size, needed only where no register operand implies it (`add qword [rdi], 1`,
        /// `movzx eax, byte [rsi]`, `vcvtsi2sd xmm0, xmm0, qword [rdi]`).
        var width: Width?

        var byte: Mem { sized(.byte) }
        var word: Mem { sized(.word) }
        var dword: Mem { sized(.dword) }
        var qword: Mem { sized(.qword) }

        func sized(_ width: Width) -> Mem {
            var copy = self
            copy.width = width
            return copy
        }

        /// `[base + displacement]`
        static func ptr(_ base: GPR, _ displacement: Int32 = 0) -> Mem {
            Mem(base: base, index: nil, scale: 1, displacement: displacement, label: nil, width: nil)
        }

        /// `[base + index*scale + displacement]`; scale 1, 2, 4 or 8.
        static func ptr(_ base: GPR, index: GPR, scale: Int = 1, _ displacement: Int32 = 0) -> Mem {
            Mem(base: base, index: index, scale: scale, displacement: displacement, label: nil, width: nil)
        }

        /// `[index*scale + disp32]`, no base register.
        static func ptr(index: GPR, scale: Int = 1, _ displacement: Int32 = 0) -> Mem {
            Mem(base: nil, index: index, scale: scale, displacement: displacement, label: nil, width: nil)
        }

        /// `[disp32]`, an absolute address in the low 2 GiB (sign-extended).
        static func ptr(absolute address: Int32) -> Mem {
            Mem(base: nil, index: nil, scale: 1, displacement: address, label: nil, width: nil)
        }

        /// `[rip + label + displacement]`: how code reaches the constants of its data section.
        static func ptr(_ label: Label, _ displacement: Int32 = 0) -> Mem {
            Mem(base: nil, index: nil, scale: 1, displacement: displacement, label: label, width: nil)
        }
    }

    /// `X86.ptr(…)` is `X86.Mem.ptr(…)`; inside an argument list that expects a `Mem`, `.ptr(…)` works as well.
    static func ptr(_ base: GPR, _ displacement: Int32 = 0) -> Mem { .ptr(base, displacement) }
    static func ptr(_ base: GPR, index: GPR, scale: Int = 1, _ displacement: Int32 = 0) -> Mem {
        .ptr(base, index: index, scale: scale, displacement)
    }
    static func ptr(index: GPR, scale: Int = 1, _ displacement: Int32 = 0) -> Mem {
        .ptr(index: index, scale: scale, displacement)
    }
    static func ptr(absolute address: Int32) -> Mem { .ptr(absolute: address) }
    static func ptr(_ label: Label, _ displacement: Int32 = 0) -> Mem { .ptr(label, displacement) }

    /// Any operand of any instruction, for the table-driven `X86Assembler.emit(_:_:_:_:_:condition:short:)`.
    enum Operand: Hashable, Sendable {
        case none
        case gpr(GPR)
        case xmm(XMM)
        case ymm(YMM)
        case mem(Mem)
        case imm(Int64)
        case label(Label)

        /// A vcmp predicate as the imm8 it is encoded in.
        static func predicate(_ predicate: ComparePredicate) -> Operand { .imm(Int64(predicate.rawValue)) }
    }

    /// Condition codes in hardware order (the low nibble of Jcc/SETcc/CMOVcc); aliases as static members.
    enum Condition: UInt8, Sendable, CaseIterable {
        case o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g

        static let c = Condition.b, nae = Condition.b, nb = Condition.ae, nc = Condition.ae
        static let z = Condition.e, nz = Condition.ne, na = Condition.be, nbe = Condition.a
        static let pe = Condition.p, po = Condition.np, nge = Condition.l, nl = Condition.ge
        static let ng = Condition.le, nle = Condition.g

        /// The condition that holds exactly when this one does not (flips bit 0, as the hardware defines).
        var inverted: Condition { Condition(rawValue: rawValue ^ 1)! }

        /// The suffix LLVM prints (`jae`, `setne`, `cmovlq`).
        var suffix: String {
            ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"][Int(rawValue)]
        }
    }

    /// The imm8 predicate of vcmpps/pd/ss/sd (AVX's 32 predicates). O/U: ordered/unordered (NaN → false/true);
    /// Q/S: quiet/signalling on QNaN. The unsuffixed names are the common legacy ones.
    enum ComparePredicate: UInt8, Sendable, CaseIterable {
        case eq, lt, le, unord, neq, nlt, nle, ord
        case eqUQ, nge, ngt, falseOQ, neqOQ, ge, gt, trueUQ
        case eqOS, ltOQ, leOQ, unordS, neqUS, nltUQ, nleUQ, ordS
        case eqUS, ngeUQ, ngtUQ, falseOS, neqOS, geOQ, gtOQ, trueUS

        /// The name LLVM prints inside the alias mnemonic (`vcmp<name>ps`).
        var attName: String {
            [
                "eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord",
                "eq_uq", "nge", "ngt", "false", "neq_oq", "ge", "gt", "true",
                "eq_os", "lt_oq", "le_oq", "unord_s", "neq_us", "nlt_uq", "nle_uq", "ord_s",
                "eq_us", "nge_uq", "ngt_uq", "false_os", "neq_os", "ge_oq", "gt_oq", "true_us",
            ][Int(rawValue)]
        }
    }

    /// imm8 of vroundps/pd/ss/sd: rounding mode in bits 0–1, bit 2 selects MXCSR's mode instead, bit 3
    /// suppresses the precision exception (what floor/ceil/trunc want).
    enum Rounding {
        static let nearest: UInt8 = 0x08
        static let down: UInt8 = 0x09
        static let up: UInt8 = 0x0A
        static let towardZero: UInt8 = 0x0B
        static let current: UInt8 = 0x0C
    }
}
