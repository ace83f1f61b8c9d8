// AssemblerDifferentialTests.swift — assembles one long program holding every instruction form X86Assembler
// supports (a spread of registers, including r8–r15/ymm8–15 in every position, and every addressing mode), then
// checks it against an independent assembler:
//   1. per instruction: the AT&T listing goes through `llvm-mc --show-encoding`; every byte must match (bytes that
//      llvm-mc leaves to a fix-up are compared by length only) and so must the spelling llvm-mc prints back;
//   2. whole program: the listing is assembled to an object (llvm-mc, else GNU as) and its .text, with labels
//      resolved, alignment and data section, must equal `finalize()`'s bytes.
// Without llvm-mc nor GNU as + objcopy the external comparisons are skipped (the trait's comment says why); the
// corpus checks that need no tool still run.

import Foundation
import Testing

@testable import VecVM

private typealias Op1<A> = (inout X86Assembler, A) -> Void
private typealias Op2<A, B> = (inout X86Assembler, A, B) -> Void
private typealias Op3<A, B, C> = (inout X86Assembler, A, B, C) -> Void
private typealias Op4<A, B, C, D> = (inout X86Assembler, A, B, C, D) -> Void

/// Builds the corpus and checks, as it goes, that each named method emitted the instruction it is named after
/// (a method forwarding to the wrong table row would otherwise agree with llvm-mc, listing and all).
private struct AssemblerCorpus {
    var assembler = X86Assembler(listing: true)
    var misnamed: [String] = []
    private var counter = 0
    let data: X86.Label
    let start: X86.Label
    let end: X86.Label

    init() {
        data = assembler.constant(float32: [1, 2, 3, 4, 5, 6, 7, 8])
        start = assembler.newLabel()
        end = assembler.newLabel()
        assembler.bind(start)
    }

    /// Emits with `body` and checks that the listing line it added spells `mnemonic` (a prefix of it).
    mutating func add(_ mnemonic: String, _ body: (inout X86Assembler) -> Void) {
        let before = assembler.listing.count
        body(&assembler)
        let added = assembler.listing[before...].filter { $0.kind == .instruction }
        guard added.count == 1, let line = added.first else {
            misnamed.append(
                "\(mnemonic): emitted \(added.count) instructions (error: \(String(describing: assembler.firstError)))")
            return
        }
        let spelled = line.text.split(separator: " ").first { !$0.hasPrefix("{") } ?? ""
        if !spelled.hasPrefix(mnemonic) { misnamed.append("\(mnemonic) emitted \(line.text)") }
    }

    /// Memory operands covering the ModRM/SIB special cases, taken in turn.
    mutating func memory() -> X86.Mem {
        let all: [X86.Mem] = [
            .ptr(.rax), .ptr(.rsp), .ptr(.rbp), .ptr(.r12), .ptr(.r13), .ptr(.r15, 8), .ptr(.rbx, -8),
            .ptr(.rcx, 127), .ptr(.rdx, 128), .ptr(.rsi, -128), .ptr(.rdi, -129), .ptr(.r8, 0x1234_5678),
            .ptr(.r9, Int32.min), .ptr(.rsp, 16), .ptr(.r12, -32), .ptr(.rbp, 64), .ptr(.r13, -1000),
            .ptr(.rax, index: .rbx), .ptr(.rsp, index: .rbp, scale: 2, 4), .ptr(.rbp, index: .r12, scale: 4),
            .ptr(.r13, index: .r14, scale: 8, -4), .ptr(.r12, index: .rax, scale: 8, 1000),
            .ptr(.r11, index: .r15, scale: 1, -100_000), .ptr(.rdi, index: .rcx, scale: 4, 32),
            .ptr(index: .rcx, scale: 8, 16), .ptr(index: .r10, scale: 2, -8), .ptr(absolute: 0x1000),
            .ptr(data), .ptr(data, 16), .ptr(start, -8), .ptr(end), .ptr(end, 4),
        ]
        counter += 1
        return all[counter % all.count]
    }

    static func build() -> AssemblerCorpus {
        var corpus = AssemblerCorpus()
        corpus.generalPurpose()
        corpus.controlFlow()
        corpus.vector(X86.XMM.self)
        corpus.vector(X86.YMM.self)
        corpus.vectorOddForms()
        corpus.assembler.bind(corpus.end)
        corpus.add("retq") { $0.ret() }
        return corpus
    }

    private static func suffix(_ width: X86.Width) -> String {
        [.byte: "b", .word: "w", .dword: "l", .qword: "q"][width]!
    }

    private static func immediates(_ width: X86.Width) -> [Int64] {
        switch width {
        case .byte: [0, 1, -1, 127, -128, 255]
        case .word: [0, 1, -1, 127, 128, -128, -129, 0x7FFF, -0x8000, 0xFFFF]
        case .dword: [0, 1, -1, 127, 128, -129, 0x1234_5678, -0x8000_0000, 0xFFFF_FFFF]
        default: [0, 1, -1, 127, 128, -128, -129, 0x1234_5678, -0x8000_0000, 0x7FFF_FFFF]
        }
    }

    mutating func generalPurpose() {
        for width in [X86.Width.qword, .dword, .word, .byte] {
            let r = { (i: Int) in X86.GPR(number: i % 16, width: width)! }
            let s = Self.suffix(width)
            for (name, rr, rm, mr, ri, mi) in Self.arithmetic() {
                for i in [0, 3, 4, 5, 8, 12, 13, 15] { add(name + s) { rr(&$0, r(i), r(i + 7)) } }
                for i in [1, 6, 9, 14] {
                    let (m1, m2, m3) = (memory(), memory(), memory())
                    add(name + s) { rm(&$0, r(i), m1) }
                    add(name + s) { mr(&$0, m2, r(i + 3)) }
                    add(name + s) { mi(&$0, m3.sized(width), 5) }
                }
                for value in Self.immediates(width) {
                    add(name + s) { ri(&$0, r(0), value) }
                    add(name + s) { ri(&$0, r(Int(value & 15)), value) }
                }
                add(name + s) { mi(&$0, .ptr(.rsp, 8).sized(width), -2) }
            }
            for i in [0, 2, 5, 7, 8, 13] {
                let m = memory()
                add("test" + s) { $0.test(r(i), r(i + 9)) }
                add("test" + s) { $0.test(m, r(i)) }
                add("test" + s) { $0.test(r(i), 0x41) }
                add("test" + s) { $0.test(m.sized(width), -1) }
                add("mov" + s) { $0.mov(r(i), r(i + 9)) }
                add("mov" + s) { $0.mov(r(i), m) }
                add("mov" + s) { $0.mov(m, r(i + 4)) }
                add("mov" + s) { $0.mov(m.sized(width), 0x12) }
            }
            for (name, register, memoryForm) in Self.unary() {
                for i in [0, 4, 6, 11] {
                    let m = memory()
                    add(name + s) { register(&$0, r(i)) }
                    add(name + s) { memoryForm(&$0, m.sized(width)) }
                }
            }
            for (name, byImmediate, byCL) in Self.shifts() {
                for (i, count) in [(0, 1), (5, 0), (9, 3), (15, Int64(width.bits - 1))] {
                    add(name + s) { byImmediate(&$0, r(i), count) }
                }
                add(name + s) { byCL(&$0, r(12), .cl) }
            }
            let m = memory()
            add("shl" + s) { $0.shl(m.sized(width), 1) }
            add("shr" + s) { $0.shr(m.sized(width), 7) }
            add("sar" + s) { $0.sar(m.sized(width), .cl) }
            guard width != .byte else { continue }
            for (name, register, memoryForm) in Self.bitCounts() {
                for i in [0, 5, 9, 12] {
                    let m = memory()
                    add(name + s) { register(&$0, r(i), r(i + 3)) }
                    add(name + s) { memoryForm(&$0, r(i + 1), m) }
                }
            }
            for (i, value) in [(0, Int64(3)), (4, -128), (9, 127), (13, 128), (15, -0x7000)] {
                let m = memory()
                add("imul" + s) { $0.imul(r(i), r(i + 5), value) }
                add("imul" + s) { $0.imul(r(i + 2), m, value) }
            }
            for i in [0, 3, 8, 13] {
                let m = memory()
                add("lea" + s) { $0.lea(r(i), m) }
            }
            for condition in X86.Condition.allCases {
                let m = memory()
                add("cmov" + condition.suffix + s) {
                    $0.cmov(condition, r(Int(condition.rawValue)), r(15 - Int(condition.rawValue)))
                }
                add("cmov" + condition.suffix + s) { $0.cmov(condition, r(Int(condition.rawValue) + 3), m) }
            }
            for source in [X86.Width.byte, .word] where source.rawValue < width.rawValue {
                let from = Self.suffix(source)
                for i in [0, 4, 7, 9, 14] {
                    let m = memory()
                    let narrow = X86.GPR(number: i + 1 == 16 ? 0 : i + 1, width: source)!
                    add("movz" + from + s) { $0.movzx(r(i), narrow) }
                    add("movs" + from + s) { $0.movsx(r(i + 3), narrow) }
                    add("movz" + from + s) { $0.movzx(r(i), m.sized(source)) }
                    add("movs" + from + s) { $0.movsx(r(i), m.sized(source)) }
                }
            }
        }
        for i in [0, 5, 8, 13] {
            let m = memory()
            add("movslq") { $0.movsxd(X86.GPR.all64[i], X86.GPR(number: 15 - i, width: .dword)!) }
            add("movslq") { $0.movsxd(X86.GPR.all64[i], m) }
        }
        for (i, value) in [Int64(0), 1, -1, 0xFFFF_FFFF, 0x8000_0000, -0x8000_0000, 0x1_2345_6789, .min, .max]
            .enumerated()
        {
            let register = X86.GPR.all64[(i * 5) % 16]
            add("mov") { $0.mov(register, value) }
            add("movabsq") { $0.movabs(register, value) }
            let store = memoryForStore(i).qword
            add("movq") { $0.mov(store, Int64(Int32.min) + Int64(i)) }
        }
        for i in 0..<16 {
            add("pushq") { $0.push(X86.GPR.all64[i]) }
            add("popq") { $0.pop(X86.GPR.all64[15 - i]) }
        }
        for register in [X86.GPR.al, .cl, .spl, .bpl, .sil, .dil, .r8b, .r12b, .r15b] {
            for condition in [X86.Condition.e, .ne, .b, .a, .l, .ge] {
                add("set" + condition.suffix) { $0.set(condition, register) }
            }
        }
        for condition in X86.Condition.allCases {
            let m = memory()
            add("set" + condition.suffix) { $0.set(condition, m) }
        }
        add("cqto") { $0.cqo() }
        add("cltd") { $0.cdq() }
        add("stc") { $0.stc() }
        add("nop") { $0.nop() }
        add("int3") { $0.int3() }
        add("ud2") { $0.ud2() }
        add("sfence") { $0.sfence() }
        add("lfence") { $0.lfence() }
        add("mfence") { $0.mfence() }
        for _ in 0..<3 {
            let m = memory()
            add("prefetcht0") { $0.prefetcht0(m) }
            add("prefetcht1") { $0.prefetcht1(m) }
            add("prefetcht2") { $0.prefetcht2(m) }
            add("prefetchnta") { $0.prefetchnta(m) }
        }
    }

    private func memoryForStore(_ i: Int) -> X86.Mem {
        [X86.Mem.ptr(.rsp, 8), .ptr(.r13), .ptr(.rax, index: .r9, scale: 8, -16), .ptr(end)][i % 4]
    }

    mutating func controlFlow() {
        let back = assembler.newLabel()
        let forward = assembler.newLabel()
        let far = assembler.newLabel()
        assembler.bind(far)
        assembler.embed(Array(repeating: 0x90, count: 130))
        assembler.bind(back)
        for condition in X86.Condition.allCases {
            add("j" + condition.suffix) { $0.j(condition, back) }
            add("j" + condition.suffix) { $0.j(condition, forward) }
            add("j" + condition.suffix) { $0.j(condition, far) }
        }
        add("jmp") { $0.jmp(back) }
        add("jmp") { $0.jmp(forward) }
        add("jmp") { $0.jmp(far) }
        let end = self.end
        add("jmp") { $0.jmp(end) }
        add("callq") { $0.call(back) }
        add("callq") { $0.call(forward) }
        for i in [0, 5, 8, 13, 15] {
            let m = memory()
            add("jmpq") { $0.jmp(X86.GPR.all64[i]) }
            add("jmpq") { $0.jmp(m) }
            add("callq") { $0.call(X86.GPR.all64[i]) }
            add("callq") { $0.call(m) }
        }
        let near = assembler.newLabel()
        for condition in X86.Condition.allCases {
            add("j" + condition.suffix) { $0.j(condition, near, short: true) }
        }
        add("jmp") { $0.jmp(near, short: true) }
        assembler.bind(near)
        assembler.bind(forward)
        for alignment in [2, 4, 8, 16, 32, 64] {
            assembler.embed([0xCC])
            assembler.align(alignment)
        }
        assembler.embed([0xCC, 0xCC])
        assembler.align(16)
    }

    mutating func vector<V: X86.VectorRegister>(_ type: V.Type) {
        let v = { (i: Int) in V.all[i % 16] }
        let x = { (i: Int) in X86.XMM.all[i % 16] }
        for (name, register, memoryForm) in Self.packedThreeOperand(type) {
            for i in [0, 3, 8, 13] { add(name) { register(&$0, v(i), v(i + 5), v(i + 11)) } }
            for i in [2, 10] {
                let m = memory()
                add(name) { memoryForm(&$0, v(i), v(i + 7), m) }
            }
        }
        for (name, register, memoryForm) in Self.packedTwoOperand(type) {
            for i in [0, 7, 8, 15] { add(name) { register(&$0, v(i), v(i + 9)) } }
            for i in [4, 12] {
                let m = memory()
                add(name) { memoryForm(&$0, v(i), m) }
            }
        }
        for (name, register, memoryForm) in Self.packedImmediate(type) {
            for (i, imm) in [(0, UInt8(0)), (9, 0x1B), (6, 0xFF)] { add(name) { register(&$0, v(i), v(i + 5), imm) } }
            let m = memory()
            add(name) { memoryForm(&$0, v(11), m, 3) }
        }
        for (name, register, memoryForm) in Self.packedThreeImmediate(type) {
            for (i, imm) in [(0, UInt8(0)), (9, 0x1B), (6, 0xFF)] {
                add(name) { register(&$0, v(i), v(i + 5), v(i + 11), imm) }
            }
            let m = memory()
            add(name) { memoryForm(&$0, v(11), v(3), m, 0xAA) }
        }
        for (name, register, memoryForm) in Self.packedBlendVariable(type) {
            for i in [0, 3, 8, 12] { add(name) { register(&$0, v(i), v(i + 5), v(i + 11), v(i + 14)) } }
            let m = memory()
            add(name) { memoryForm(&$0, v(9), v(1), m, v(15)) }
        }
        for (name, store, load) in Self.packedStore(type) {
            for i in [0, 9] {
                let (m1, m2) = (memory(), memory())
                add(name) { store(&$0, m1, v(i)) }
                add(name) { load(&$0, v(i + 4), m2) }
            }
        }
        for (name, load, store) in Self.maskedMoves(type) {
            for i in [0, 9] {
                let (m1, m2) = (memory(), memory())
                add(name) { load(&$0, v(i), v(i + 3), m1) }
                add(name) { store(&$0, m2, v(i + 7), v(i + 12)) }
            }
        }
        for (name, byImmediate, byRegister) in Self.vectorShifts(type) {
            for i in [0, 9] {
                add(name) { byImmediate(&$0, v(i), v(i + 10), 7) }
                add(name) { byRegister(&$0, v(i + 1), v(i + 4), x(i + 8)) }
            }
        }
        let m = memory()
        add("vpslld") { $0.vpslld(v(3), v(12), m) }
        add("vpsrlq") { $0.vpsrlq(v(13), v(2), .ptr(.r13)) }
        for predicate in X86.ComparePredicate.allCases {
            let i = Int(predicate.rawValue)
            add("vcmp" + predicate.attName + "ps") { $0.vcmpps(v(i), v(i + 3), v(i + 9), predicate) }
            add("vcmp" + predicate.attName + "pd") { $0.vcmppd(v(i + 1), v(i + 2), v(i + 8), predicate) }
        }
        let (m1, m2) = (memory(), memory())
        add("vcmpleps") { $0.vcmpps(v(1), v(9), m1, .le) }
        add("vcmpneq_oqpd") { $0.vcmppd(v(10), v(2), m2, .neqOQ) }
        for (i, register) in [X86.GPR.eax, .r9d, .rcx, .r15].enumerated() {
            add("vmovmskps") { $0.vmovmskps(register, v(i * 5)) }
            add("vmovmskpd") { $0.vmovmskpd(register, v(i * 5 + 1)) }
            add("vpmovmskb") { $0.vpmovmskb(register, v(i * 5 + 2)) }
        }
        for i in [0, 8] {
            let (m1, m2, m3) = (memory(), memory(), memory())
            add("vbroadcastss") { $0.vbroadcastss(v(i), x(i + 9)) }
            add("vbroadcastss") { $0.vbroadcastss(v(i + 1), m1) }
            add("vpbroadcastd") { $0.vpbroadcastd(v(i + 2), x(i + 10)) }
            add("vpbroadcastd") { $0.vpbroadcastd(v(i + 3), m2) }
            add("vpbroadcastq") { $0.vpbroadcastq(v(i + 4), x(i + 11)) }
            add("vpbroadcastq") { $0.vpbroadcastq(v(i + 5), m3) }
            add("vcvtps2pd") { $0.vcvtps2pd(v(i), x(i + 9)) }
            add("vcvtps2pd") { $0.vcvtps2pd(v(i + 9), m1) }
            add("vcvtdq2pd") { $0.vcvtdq2pd(v(i + 2), x(i + 1)) }
            add("vcvtdq2pd") { $0.vcvtdq2pd(v(i + 3), m2) }
            add("vpmovsxdq") { $0.emit(.vpmovsxdq, v(i).operand, x(i + 9).operand) }
            add("vpmovsxdq") { $0.emit(.vpmovsxdq, v(i + 9).operand, .mem(m1)) }
            add("vpmovzxbd") { $0.emit(.vpmovzxbd, v(i + 2).operand, x(i + 1).operand) }
            add("vpmovzxbd") { $0.emit(.vpmovzxbd, v(i + 3).operand, .mem(m2)) }
            add("vpmovzxbq") { $0.emit(.vpmovzxbq, v(i + 4).operand, x(i + 12).operand) }
            add("vpmovzxbq") { $0.emit(.vpmovzxbq, v(i + 5).operand, .mem(m3)) }
            add("vcvtpd2ps") { $0.vcvtpd2ps(x(i), v(i + 9)) }
            add("vcvtpd2dq") { $0.vcvtpd2dq(x(i + 9), v(i)) }
            add("vcvttpd2dq") { $0.vcvttpd2dq(x(i + 4), v(i + 12)) }
            add("vmovntps") { $0.vmovntps(m1, v(i)) }
            add("vmovntpd") { $0.vmovntpd(m2, v(i + 9)) }
            add("vmovntdq") { $0.vmovntdq(m3, v(i + 3)) }
            add("vmovntdqa") { $0.vmovntdqa(v(i + 11), m1) }
        }
    }

    mutating func vectorOddForms() {
        let x = { (i: Int) in X86.XMM.all[i % 16] }
        let y = { (i: Int) in X86.YMM.all[i % 16] }
        for (name, register, memoryForm) in Self.scalarThreeOperand() {
            for i in [0, 3, 8, 13] { add(name) { register(&$0, x(i), x(i + 5), x(i + 11)) } }
            let m = memory()
            add(name) { memoryForm(&$0, x(10), x(1), m) }
        }
        for (a, b, c) in [(0, 1, 8), (8, 1, 0), (0, 8, 9), (9, 3, 4), (2, 3, 4), (15, 15, 15)] {
            add("vmovss") { $0.vmovss(x(a), x(b), x(c)) }
            add("vmovsd") { $0.vmovsd(x(c), x(a), x(b)) }
        }
        for i in [0, 9] {
            let (m1, m2) = (memory(), memory())
            add("vmovss") { $0.vmovss(x(i), m1) }
            add("vmovss") { $0.vmovss(m2, x(i + 3)) }
            add("vmovsd") { $0.vmovsd(x(i + 8), m2) }
            add("vmovsd") { $0.vmovsd(m1, x(i + 1)) }
            add("vmovd") { $0.vmovd(x(i), X86.GPR(number: i + 1, width: .dword)!) }
            add("vmovd") { $0.vmovd(X86.GPR(number: 15 - i, width: .dword)!, x(i + 7)) }
            add("vmovd") { $0.vmovd(x(i + 2), m1) }
            add("vmovd") { $0.vmovd(m2, x(i + 11)) }
            add("vmovq") { $0.vmovq(x(i), X86.GPR.all64[i + 1]) }
            add("vmovq") { $0.vmovq(X86.GPR.all64[15 - i], x(i + 7)) }
            add("vmovq") { $0.vmovq(x(i + 2), m1) }
            add("vmovq") { $0.vmovq(m2, x(i + 11)) }
            add("vbroadcastsd") { $0.vbroadcastsd(y(i), x(i + 10)) }
            add("vbroadcastsd") { $0.vbroadcastsd(y(i + 1), m1) }
            add("vbroadcastf128") { $0.vbroadcastf128(y(i + 2), m2) }
            add("vcvtpd2psx") { $0.vcvtpd2psx(x(i), m1) }
            add("vcvtpd2psy") { $0.vcvtpd2psy(x(i + 9), m2) }
            add("vcvtpd2dqx") { $0.vcvtpd2dqx(x(i + 3), m1) }
            add("vcvtpd2dqy") { $0.vcvtpd2dqy(x(i + 4), m2) }
            add("vcvttpd2dqx") { $0.vcvttpd2dqx(x(i + 5), m1) }
            add("vcvttpd2dqy") { $0.vcvttpd2dqy(x(i + 6), m2) }
            add("vroundss") { $0.vroundss(x(i), x(i + 4), x(i + 8), X86.Rounding.down) }
            add("vroundsd") { $0.vroundsd(x(i + 1), x(i + 9), m1, X86.Rounding.towardZero) }
            add("vmovhlps") { $0.vmovhlps(x(i), x(i + 5), x(i + 10)) }
            add("vmovlhps") { $0.vmovlhps(x(i + 10), x(i), x(i + 5)) }
            add("vpermq") { $0.vpermq(y(i), y(i + 9), 0x1B) }
            add("vpermq") { $0.vpermq(y(i + 1), m1, 0x4E) }
            add("vpermpd") { $0.vpermpd(y(i + 9), y(i), 0xB1) }
            add("vpermpd") { $0.vpermpd(y(i + 2), m2, 0) }
            add("vpermd") { $0.vpermd(y(i), y(i + 3), y(i + 9)) }
            add("vpermd") { $0.vpermd(y(i + 9), y(i), m1) }
            add("vpermps") { $0.vpermps(y(i + 4), y(i + 12), y(i + 1)) }
            add("vpermps") { $0.vpermps(y(i + 1), y(i + 2), m2) }
            add("vinsertf128") { $0.vinsertf128(y(i), y(i + 9), x(i + 3), 1) }
            add("vinsertf128") { $0.vinsertf128(y(i + 9), y(i), m1, 0) }
            add("vinserti128") { $0.vinserti128(y(i + 1), y(i + 8), x(i + 12), 1) }
            add("vinserti128") { $0.vinserti128(y(i + 2), y(i + 3), m2, 1) }
            add("vextractf128") { $0.vextractf128(x(i), y(i + 9), 1) }
            add("vextractf128") { $0.vextractf128(m1, y(i + 10), 1) }
            add("vextracti128") { $0.vextracti128(x(i + 9), y(i), 0) }
            add("vextracti128") { $0.vextracti128(m2, y(i + 3), 1) }
            add("vperm2f128") { $0.vperm2f128(y(i), y(i + 9), y(i + 3), 0x21) }
            add("vperm2f128") { $0.vperm2f128(y(i + 5), y(i + 9), m1, 0x30) }
            add("vperm2i128") { $0.vperm2i128(y(i + 9), y(i), y(i + 12), 0x13) }
            add("vperm2i128") { $0.vperm2i128(y(i + 6), y(i + 1), m2, 0x02) }
        }
        for predicate in [X86.ComparePredicate.eq, .lt, .unordS, .trueUS] {
            let m = memory()
            add("vcmp" + predicate.attName + "ss") { $0.vcmpss(x(3), x(9), x(12), predicate) }
            add("vcmp" + predicate.attName + "sd") { $0.vcmpsd(x(11), x(1), m, predicate) }
        }
        for register in [X86.GPR.eax, .rax, .r12, .r13d] {
            let m = memory()
            add("vcvtsi2ss") { $0.vcvtsi2ss(x(1), x(9), register) }
            add("vcvtsi2sd") { $0.vcvtsi2sd(x(10), x(2), register) }
            add("vcvtsi2ssl") { $0.vcvtsi2ss(x(3), x(3), m.dword) }
            add("vcvtsi2sdq") { $0.vcvtsi2sd(x(12), x(13), m.qword) }
            add("vcvttss2si") { $0.vcvttss2si(register, x(8)) }
            add("vcvttsd2si") { $0.vcvttsd2si(register, x(1)) }
            add("vcvtss2si") { $0.vcvtss2si(register, m) }
            add("vcvtsd2si") { $0.vcvtsd2si(register, x(15)) }
            add("vcvttsd2si") { $0.vcvttsd2si(register, m) }
        }
        add("vzeroupper") { $0.vzeroupper() }
        add("vzeroall") { $0.vzeroall() }
        add("vldmxcsr") { $0.vldmxcsr(.ptr(.rsp, 4)) }
        add("vstmxcsr") { $0.vstmxcsr(.ptr(.r12, -4)) }
    }
}

// MARK: - Closure tables: each method named once, so a forwarding slip shows up as a misnamed instruction.

extension AssemblerCorpus {
    static func arithmetic() -> [(
        String, Op2<X86.GPR, X86.GPR>, Op2<X86.GPR, X86.Mem>, Op2<X86.Mem, X86.GPR>, Op2<X86.GPR, Int64>,
        Op2<X86.Mem, Int64>
    )] {
        [
            ("add", { $0.add($1, $2) }, { $0.add($1, $2) }, { $0.add($1, $2) }, { $0.add($1, $2) }, { $0.add($1, $2) }),
            ("or", { $0.or($1, $2) }, { $0.or($1, $2) }, { $0.or($1, $2) }, { $0.or($1, $2) }, { $0.or($1, $2) }),
            ("adc", { $0.adc($1, $2) }, { $0.adc($1, $2) }, { $0.adc($1, $2) }, { $0.adc($1, $2) }, { $0.adc($1, $2) }),
            ("sbb", { $0.sbb($1, $2) }, { $0.sbb($1, $2) }, { $0.sbb($1, $2) }, { $0.sbb($1, $2) }, { $0.sbb($1, $2) }),
            ("and", { $0.and($1, $2) }, { $0.and($1, $2) }, { $0.and($1, $2) }, { $0.and($1, $2) }, { $0.and($1, $2) }),
            ("sub", { $0.sub($1, $2) }, { $0.sub($1, $2) }, { $0.sub($1, $2) }, { $0.sub($1, $2) }, { $0.sub($1, $2) }),
            ("xor", { $0.xor($1, $2) }, { $0.xor($1, $2) }, { $0.xor($1, $2) }, { $0.xor($1, $2) }, { $0.xor($1, $2) }),
            ("cmp", { $0.cmp($1, $2) }, { $0.cmp($1, $2) }, { $0.cmp($1, $2) }, { $0.cmp($1, $2) }, { $0.cmp($1, $2) }),
        ]
    }

    static func unary() -> [(String, Op1<X86.GPR>, Op1<X86.Mem>)] {
        [
            ("inc", { $0.inc($1) }, { $0.inc($1) }),
            ("dec", { $0.dec($1) }, { $0.dec($1) }),
            ("not", { $0.not($1) }, { $0.not($1) }),
            ("neg", { $0.neg($1) }, { $0.neg($1) }),
            ("mul", { $0.mul($1) }, { $0.mul($1) }),
            ("div", { $0.div($1) }, { $0.div($1) }),
            ("idiv", { $0.idiv($1) }, { $0.idiv($1) }),
            ("imul", { $0.imul($1) }, { $0.imul($1) }),
        ]
    }

    static func shifts() -> [(String, Op2<X86.GPR, Int64>, Op2<X86.GPR, X86.GPR>)] {
        [
            ("shl", { $0.shl($1, $2) }, { $0.shl($1, $2) }),
            ("shr", { $0.shr($1, $2) }, { $0.shr($1, $2) }),
            ("sar", { $0.sar($1, $2) }, { $0.sar($1, $2) }),
            ("rol", { $0.rol($1, $2) }, { $0.rol($1, $2) }),
            ("ror", { $0.ror($1, $2) }, { $0.ror($1, $2) }),
        ]
    }

    static func bitCounts() -> [(String, Op2<X86.GPR, X86.GPR>, Op2<X86.GPR, X86.Mem>)] {
        [
            ("popcnt", { $0.popcnt($1, $2) }, { $0.popcnt($1, $2) }),
            ("tzcnt", { $0.tzcnt($1, $2) }, { $0.tzcnt($1, $2) }),
            ("lzcnt", { $0.lzcnt($1, $2) }, { $0.lzcnt($1, $2) }),
            ("imul", { $0.imul($1, $2) }, { $0.imul($1, $2) }),
        ]
    }

    static func packedThreeOperand<V: X86.VectorRegister>(_: V.Type) -> [(String, Op3<V, V, V>, Op3<V, V, X86.Mem>)] {
        [
            ("vaddps", { $0.vaddps($1, $2, $3) }, { $0.vaddps($1, $2, $3) }),
            ("vaddpd", { $0.vaddpd($1, $2, $3) }, { $0.vaddpd($1, $2, $3) }),
            ("vsubps", { $0.vsubps($1, $2, $3) }, { $0.vsubps($1, $2, $3) }),
            ("vsubpd", { $0.vsubpd($1, $2, $3) }, { $0.vsubpd($1, $2, $3) }),
            ("vmulps", { $0.vmulps($1, $2, $3) }, { $0.vmulps($1, $2, $3) }),
            ("vmulpd", { $0.vmulpd($1, $2, $3) }, { $0.vmulpd($1, $2, $3) }),
            ("vdivps", { $0.vdivps($1, $2, $3) }, { $0.vdivps($1, $2, $3) }),
            ("vdivpd", { $0.vdivpd($1, $2, $3) }, { $0.vdivpd($1, $2, $3) }),
            ("vminps", { $0.vminps($1, $2, $3) }, { $0.vminps($1, $2, $3) }),
            ("vminpd", { $0.vminpd($1, $2, $3) }, { $0.vminpd($1, $2, $3) }),
            ("vmaxps", { $0.vmaxps($1, $2, $3) }, { $0.vmaxps($1, $2, $3) }),
            ("vmaxpd", { $0.vmaxpd($1, $2, $3) }, { $0.vmaxpd($1, $2, $3) }),
            ("vhaddps", { $0.vhaddps($1, $2, $3) }, { $0.vhaddps($1, $2, $3) }),
            ("vhaddpd", { $0.vhaddpd($1, $2, $3) }, { $0.vhaddpd($1, $2, $3) }),
            ("vhsubps", { $0.vhsubps($1, $2, $3) }, { $0.vhsubps($1, $2, $3) }),
            ("vhsubpd", { $0.vhsubpd($1, $2, $3) }, { $0.vhsubpd($1, $2, $3) }),
            ("vandps", { $0.vandps($1, $2, $3) }, { $0.vandps($1, $2, $3) }),
            ("vandpd", { $0.vandpd($1, $2, $3) }, { $0.vandpd($1, $2, $3) }),
            ("vandnps", { $0.vandnps($1, $2, $3) }, { $0.vandnps($1, $2, $3) }),
            ("vandnpd", { $0.vandnpd($1, $2, $3) }, { $0.vandnpd($1, $2, $3) }),
            ("vorps", { $0.vorps($1, $2, $3) }, { $0.vorps($1, $2, $3) }),
            ("vorpd", { $0.vorpd($1, $2, $3) }, { $0.vorpd($1, $2, $3) }),
            ("vxorps", { $0.vxorps($1, $2, $3) }, { $0.vxorps($1, $2, $3) }),
            ("vxorpd", { $0.vxorpd($1, $2, $3) }, { $0.vxorpd($1, $2, $3) }),
            ("vunpcklps", { $0.vunpcklps($1, $2, $3) }, { $0.vunpcklps($1, $2, $3) }),
            ("vunpcklpd", { $0.vunpcklpd($1, $2, $3) }, { $0.vunpcklpd($1, $2, $3) }),
            ("vunpckhps", { $0.vunpckhps($1, $2, $3) }, { $0.vunpckhps($1, $2, $3) }),
            ("vunpckhpd", { $0.vunpckhpd($1, $2, $3) }, { $0.vunpckhpd($1, $2, $3) }),
            ("vpshufb", { $0.vpshufb($1, $2, $3) }, { $0.vpshufb($1, $2, $3) }),
            ("vpaddd", { $0.vpaddd($1, $2, $3) }, { $0.vpaddd($1, $2, $3) }),
            ("vpaddq", { $0.vpaddq($1, $2, $3) }, { $0.vpaddq($1, $2, $3) }),
            ("vpsubd", { $0.vpsubd($1, $2, $3) }, { $0.vpsubd($1, $2, $3) }),
            ("vpsubq", { $0.vpsubq($1, $2, $3) }, { $0.vpsubq($1, $2, $3) }),
            ("vpmulld", { $0.vpmulld($1, $2, $3) }, { $0.vpmulld($1, $2, $3) }),
            ("vpmuludq", { $0.vpmuludq($1, $2, $3) }, { $0.vpmuludq($1, $2, $3) }),
            ("vpmuldq", { $0.vpmuldq($1, $2, $3) }, { $0.vpmuldq($1, $2, $3) }),
            ("vpand", { $0.vpand($1, $2, $3) }, { $0.vpand($1, $2, $3) }),
            ("vpandn", { $0.vpandn($1, $2, $3) }, { $0.vpandn($1, $2, $3) }),
            ("vpor", { $0.vpor($1, $2, $3) }, { $0.vpor($1, $2, $3) }),
            ("vpxor", { $0.vpxor($1, $2, $3) }, { $0.vpxor($1, $2, $3) }),
            ("vpcmpeqd", { $0.vpcmpeqd($1, $2, $3) }, { $0.vpcmpeqd($1, $2, $3) }),
            ("vpcmpeqq", { $0.vpcmpeqq($1, $2, $3) }, { $0.vpcmpeqq($1, $2, $3) }),
            ("vpcmpgtd", { $0.vpcmpgtd($1, $2, $3) }, { $0.vpcmpgtd($1, $2, $3) }),
            ("vpcmpgtq", { $0.vpcmpgtq($1, $2, $3) }, { $0.vpcmpgtq($1, $2, $3) }),
            ("vpminsd", { $0.vpminsd($1, $2, $3) }, { $0.vpminsd($1, $2, $3) }),
            ("vpmaxsd", { $0.vpmaxsd($1, $2, $3) }, { $0.vpmaxsd($1, $2, $3) }),
            ("vpminud", { $0.vpminud($1, $2, $3) }, { $0.vpminud($1, $2, $3) }),
            ("vpmaxud", { $0.vpmaxud($1, $2, $3) }, { $0.vpmaxud($1, $2, $3) }),
            ("vpsllvd", { $0.vpsllvd($1, $2, $3) }, { $0.vpsllvd($1, $2, $3) }),
            ("vpsllvq", { $0.vpsllvq($1, $2, $3) }, { $0.vpsllvq($1, $2, $3) }),
            ("vpsrlvd", { $0.vpsrlvd($1, $2, $3) }, { $0.vpsrlvd($1, $2, $3) }),
            ("vpsrlvq", { $0.vpsrlvq($1, $2, $3) }, { $0.vpsrlvq($1, $2, $3) }),
            ("vpsravd", { $0.vpsravd($1, $2, $3) }, { $0.vpsravd($1, $2, $3) }),
            ("vfmadd132ps", { $0.vfmadd132ps($1, $2, $3) }, { $0.vfmadd132ps($1, $2, $3) }),
            ("vfmadd132pd", { $0.vfmadd132pd($1, $2, $3) }, { $0.vfmadd132pd($1, $2, $3) }),
            ("vfmadd213ps", { $0.vfmadd213ps($1, $2, $3) }, { $0.vfmadd213ps($1, $2, $3) }),
            ("vfmadd213pd", { $0.vfmadd213pd($1, $2, $3) }, { $0.vfmadd213pd($1, $2, $3) }),
            ("vfmadd231ps", { $0.vfmadd231ps($1, $2, $3) }, { $0.vfmadd231ps($1, $2, $3) }),
            ("vfmadd231pd", { $0.vfmadd231pd($1, $2, $3) }, { $0.vfmadd231pd($1, $2, $3) }),
            ("vfmsub132ps", { $0.vfmsub132ps($1, $2, $3) }, { $0.vfmsub132ps($1, $2, $3) }),
            ("vfmsub132pd", { $0.vfmsub132pd($1, $2, $3) }, { $0.vfmsub132pd($1, $2, $3) }),
            ("vfmsub213ps", { $0.vfmsub213ps($1, $2, $3) }, { $0.vfmsub213ps($1, $2, $3) }),
            ("vfmsub213pd", { $0.vfmsub213pd($1, $2, $3) }, { $0.vfmsub213pd($1, $2, $3) }),
            ("vfmsub231ps", { $0.vfmsub231ps($1, $2, $3) }, { $0.vfmsub231ps($1, $2, $3) }),
            ("vfmsub231pd", { $0.vfmsub231pd($1, $2, $3) }, { $0.vfmsub231pd($1, $2, $3) }),
            ("vfnmadd132ps", { $0.vfnmadd132ps($1, $2, $3) }, { $0.vfnmadd132ps($1, $2, $3) }),
            ("vfnmadd132pd", { $0.vfnmadd132pd($1, $2, $3) }, { $0.vfnmadd132pd($1, $2, $3) }),
            ("vfnmadd213ps", { $0.vfnmadd213ps($1, $2, $3) }, { $0.vfnmadd213ps($1, $2, $3) }),
            ("vfnmadd213pd", { $0.vfnmadd213pd($1, $2, $3) }, { $0.vfnmadd213pd($1, $2, $3) }),
            ("vfnmadd231ps", { $0.vfnmadd231ps($1, $2, $3) }, { $0.vfnmadd231ps($1, $2, $3) }),
            ("vfnmadd231pd", { $0.vfnmadd231pd($1, $2, $3) }, { $0.vfnmadd231pd($1, $2, $3) }),
            ("vfnmsub132ps", { $0.vfnmsub132ps($1, $2, $3) }, { $0.vfnmsub132ps($1, $2, $3) }),
            ("vfnmsub132pd", { $0.vfnmsub132pd($1, $2, $3) }, { $0.vfnmsub132pd($1, $2, $3) }),
            ("vfnmsub213ps", { $0.vfnmsub213ps($1, $2, $3) }, { $0.vfnmsub213ps($1, $2, $3) }),
            ("vfnmsub213pd", { $0.vfnmsub213pd($1, $2, $3) }, { $0.vfnmsub213pd($1, $2, $3) }),
            ("vfnmsub231ps", { $0.vfnmsub231ps($1, $2, $3) }, { $0.vfnmsub231ps($1, $2, $3) }),
            ("vfnmsub231pd", { $0.vfnmsub231pd($1, $2, $3) }, { $0.vfnmsub231pd($1, $2, $3) }),
        ]
    }

    static func scalarThreeOperand() -> [(String, Op3<X86.XMM, X86.XMM, X86.XMM>, Op3<X86.XMM, X86.XMM, X86.Mem>)] {
        [
            ("vaddss", { $0.vaddss($1, $2, $3) }, { $0.vaddss($1, $2, $3) }),
            ("vaddsd", { $0.vaddsd($1, $2, $3) }, { $0.vaddsd($1, $2, $3) }),
            ("vsubss", { $0.vsubss($1, $2, $3) }, { $0.vsubss($1, $2, $3) }),
            ("vsubsd", { $0.vsubsd($1, $2, $3) }, { $0.vsubsd($1, $2, $3) }),
            ("vmulss", { $0.vmulss($1, $2, $3) }, { $0.vmulss($1, $2, $3) }),
            ("vmulsd", { $0.vmulsd($1, $2, $3) }, { $0.vmulsd($1, $2, $3) }),
            ("vdivss", { $0.vdivss($1, $2, $3) }, { $0.vdivss($1, $2, $3) }),
            ("vdivsd", { $0.vdivsd($1, $2, $3) }, { $0.vdivsd($1, $2, $3) }),
            ("vminss", { $0.vminss($1, $2, $3) }, { $0.vminss($1, $2, $3) }),
            ("vminsd", { $0.vminsd($1, $2, $3) }, { $0.vminsd($1, $2, $3) }),
            ("vmaxss", { $0.vmaxss($1, $2, $3) }, { $0.vmaxss($1, $2, $3) }),
            ("vmaxsd", { $0.vmaxsd($1, $2, $3) }, { $0.vmaxsd($1, $2, $3) }),
            ("vsqrtss", { $0.vsqrtss($1, $2, $3) }, { $0.vsqrtss($1, $2, $3) }),
            ("vsqrtsd", { $0.vsqrtsd($1, $2, $3) }, { $0.vsqrtsd($1, $2, $3) }),
            ("vrcpss", { $0.vrcpss($1, $2, $3) }, { $0.vrcpss($1, $2, $3) }),
            ("vrsqrtss", { $0.vrsqrtss($1, $2, $3) }, { $0.vrsqrtss($1, $2, $3) }),
            ("vcvtss2sd", { $0.vcvtss2sd($1, $2, $3) }, { $0.vcvtss2sd($1, $2, $3) }),
            ("vcvtsd2ss", { $0.vcvtsd2ss($1, $2, $3) }, { $0.vcvtsd2ss($1, $2, $3) }),
            ("vfmadd132ss", { $0.vfmadd132ss($1, $2, $3) }, { $0.vfmadd132ss($1, $2, $3) }),
            ("vfmadd132sd", { $0.vfmadd132sd($1, $2, $3) }, { $0.vfmadd132sd($1, $2, $3) }),
            ("vfmadd213ss", { $0.vfmadd213ss($1, $2, $3) }, { $0.vfmadd213ss($1, $2, $3) }),
            ("vfmadd213sd", { $0.vfmadd213sd($1, $2, $3) }, { $0.vfmadd213sd($1, $2, $3) }),
            ("vfmadd231ss", { $0.vfmadd231ss($1, $2, $3) }, { $0.vfmadd231ss($1, $2, $3) }),
            ("vfmadd231sd", { $0.vfmadd231sd($1, $2, $3) }, { $0.vfmadd231sd($1, $2, $3) }),
            ("vfmsub132ss", { $0.vfmsub132ss($1, $2, $3) }, { $0.vfmsub132ss($1, $2, $3) }),
            ("vfmsub132sd", { $0.vfmsub132sd($1, $2, $3) }, { $0.vfmsub132sd($1, $2, $3) }),
            ("vfmsub213ss", { $0.vfmsub213ss($1, $2, $3) }, { $0.vfmsub213ss($1, $2, $3) }),
            ("vfmsub213sd", { $0.vfmsub213sd($1, $2, $3) }, { $0.vfmsub213sd($1, $2, $3) }),
            ("vfmsub231ss", { $0.vfmsub231ss($1, $2, $3) }, { $0.vfmsub231ss($1, $2, $3) }),
            ("vfmsub231sd", { $0.vfmsub231sd($1, $2, $3) }, { $0.vfmsub231sd($1, $2, $3) }),
            ("vfnmadd132ss", { $0.vfnmadd132ss($1, $2, $3) }, { $0.vfnmadd132ss($1, $2, $3) }),
            ("vfnmadd132sd", { $0.vfnmadd132sd($1, $2, $3) }, { $0.vfnmadd132sd($1, $2, $3) }),
            ("vfnmadd213ss", { $0.vfnmadd213ss($1, $2, $3) }, { $0.vfnmadd213ss($1, $2, $3) }),
            ("vfnmadd213sd", { $0.vfnmadd213sd($1, $2, $3) }, { $0.vfnmadd213sd($1, $2, $3) }),
            ("vfnmadd231ss", { $0.vfnmadd231ss($1, $2, $3) }, { $0.vfnmadd231ss($1, $2, $3) }),
            ("vfnmadd231sd", { $0.vfnmadd231sd($1, $2, $3) }, { $0.vfnmadd231sd($1, $2, $3) }),
            ("vfnmsub132ss", { $0.vfnmsub132ss($1, $2, $3) }, { $0.vfnmsub132ss($1, $2, $3) }),
            ("vfnmsub132sd", { $0.vfnmsub132sd($1, $2, $3) }, { $0.vfnmsub132sd($1, $2, $3) }),
            ("vfnmsub213ss", { $0.vfnmsub213ss($1, $2, $3) }, { $0.vfnmsub213ss($1, $2, $3) }),
            ("vfnmsub213sd", { $0.vfnmsub213sd($1, $2, $3) }, { $0.vfnmsub213sd($1, $2, $3) }),
            ("vfnmsub231ss", { $0.vfnmsub231ss($1, $2, $3) }, { $0.vfnmsub231ss($1, $2, $3) }),
            ("vfnmsub231sd", { $0.vfnmsub231sd($1, $2, $3) }, { $0.vfnmsub231sd($1, $2, $3) }),
        ]
    }

    static func packedTwoOperand<V: X86.VectorRegister>(_: V.Type) -> [(String, Op2<V, V>, Op2<V, X86.Mem>)] {
        [
            ("vsqrtps", { $0.vsqrtps($1, $2) }, { $0.vsqrtps($1, $2) }),
            ("vsqrtpd", { $0.vsqrtpd($1, $2) }, { $0.vsqrtpd($1, $2) }),
            ("vrcpps", { $0.vrcpps($1, $2) }, { $0.vrcpps($1, $2) }),
            ("vrsqrtps", { $0.vrsqrtps($1, $2) }, { $0.vrsqrtps($1, $2) }),
            ("vcvtdq2ps", { $0.vcvtdq2ps($1, $2) }, { $0.vcvtdq2ps($1, $2) }),
            ("vcvtps2dq", { $0.vcvtps2dq($1, $2) }, { $0.vcvtps2dq($1, $2) }),
            ("vcvttps2dq", { $0.vcvttps2dq($1, $2) }, { $0.vcvttps2dq($1, $2) }),
            ("vptest", { $0.vptest($1, $2) }, { $0.vptest($1, $2) }),
            ("vpabsd", { $0.vpabsd($1, $2) }, { $0.vpabsd($1, $2) }),
            ("vmovups", { $0.vmovups($1, $2) }, { $0.vmovups($1, $2) }),
            ("vmovupd", { $0.vmovupd($1, $2) }, { $0.vmovupd($1, $2) }),
            ("vmovaps", { $0.vmovaps($1, $2) }, { $0.vmovaps($1, $2) }),
            ("vmovapd", { $0.vmovapd($1, $2) }, { $0.vmovapd($1, $2) }),
            ("vmovdqu", { $0.vmovdqu($1, $2) }, { $0.vmovdqu($1, $2) }),
            ("vmovdqa", { $0.vmovdqa($1, $2) }, { $0.vmovdqa($1, $2) }),
        ]
    }

    static func packedImmediate<V: X86.VectorRegister>(_: V.Type) -> [(
        String, Op3<V, V, UInt8>, Op3<V, X86.Mem, UInt8>
    )] {
        [
            ("vroundps", { $0.vroundps($1, $2, $3) }, { $0.vroundps($1, $2, $3) }),
            ("vroundpd", { $0.vroundpd($1, $2, $3) }, { $0.vroundpd($1, $2, $3) }),
            ("vpermilps", { $0.vpermilps($1, $2, $3) }, { $0.vpermilps($1, $2, $3) }),
            ("vpermilpd", { $0.vpermilpd($1, $2, $3) }, { $0.vpermilpd($1, $2, $3) }),
            ("vpshufd", { $0.vpshufd($1, $2, $3) }, { $0.vpshufd($1, $2, $3) }),
        ]
    }

    static func packedThreeImmediate<V: X86.VectorRegister>(_: V.Type) -> [(
        String, Op4<V, V, V, UInt8>, Op4<V, V, X86.Mem, UInt8>
    )] {
        [
            ("vshufps", { $0.vshufps($1, $2, $3, $4) }, { $0.vshufps($1, $2, $3, $4) }),
            ("vshufpd", { $0.vshufpd($1, $2, $3, $4) }, { $0.vshufpd($1, $2, $3, $4) }),
            ("vblendps", { $0.vblendps($1, $2, $3, $4) }, { $0.vblendps($1, $2, $3, $4) }),
            ("vblendpd", { $0.vblendpd($1, $2, $3, $4) }, { $0.vblendpd($1, $2, $3, $4) }),
            ("vpblendd", { $0.vpblendd($1, $2, $3, $4) }, { $0.vpblendd($1, $2, $3, $4) }),
        ]
    }

    static func packedBlendVariable<V: X86.VectorRegister>(_: V.Type) -> [(
        String, Op4<V, V, V, V>, Op4<V, V, X86.Mem, V>
    )] {
        [
            ("vblendvps", { $0.vblendvps($1, $2, $3, $4) }, { $0.vblendvps($1, $2, $3, $4) }),
            ("vblendvpd", { $0.vblendvpd($1, $2, $3, $4) }, { $0.vblendvpd($1, $2, $3, $4) }),
            ("vpblendvb", { $0.vpblendvb($1, $2, $3, $4) }, { $0.vpblendvb($1, $2, $3, $4) }),
        ]
    }

    static func packedStore<V: X86.VectorRegister>(_: V.Type) -> [(String, Op2<X86.Mem, V>, Op2<V, X86.Mem>)] {
        [
            ("vmovups", { $0.vmovups($1, $2) }, { $0.vmovups($1, $2) }),
            ("vmovupd", { $0.vmovupd($1, $2) }, { $0.vmovupd($1, $2) }),
            ("vmovaps", { $0.vmovaps($1, $2) }, { $0.vmovaps($1, $2) }),
            ("vmovapd", { $0.vmovapd($1, $2) }, { $0.vmovapd($1, $2) }),
            ("vmovdqu", { $0.vmovdqu($1, $2) }, { $0.vmovdqu($1, $2) }),
            ("vmovdqa", { $0.vmovdqa($1, $2) }, { $0.vmovdqa($1, $2) }),
        ]
    }

    static func maskedMoves<V: X86.VectorRegister>(_: V.Type) -> [(String, Op3<V, V, X86.Mem>, Op3<X86.Mem, V, V>)] {
        [
            ("vmaskmovps", { $0.vmaskmovps($1, $2, $3) }, { $0.vmaskmovps($1, $2, $3) }),
            ("vmaskmovpd", { $0.vmaskmovpd($1, $2, $3) }, { $0.vmaskmovpd($1, $2, $3) }),
            ("vpmaskmovd", { $0.vpmaskmovd($1, $2, $3) }, { $0.vpmaskmovd($1, $2, $3) }),
            ("vpmaskmovq", { $0.vpmaskmovq($1, $2, $3) }, { $0.vpmaskmovq($1, $2, $3) }),
        ]
    }

    static func vectorShifts<V: X86.VectorRegister>(_: V.Type) -> [(String, Op3<V, V, UInt8>, Op3<V, V, X86.XMM>)] {
        [
            ("vpslld", { $0.vpslld($1, $2, $3) }, { $0.vpslld($1, $2, $3) }),
            ("vpsrld", { $0.vpsrld($1, $2, $3) }, { $0.vpsrld($1, $2, $3) }),
            ("vpsrad", { $0.vpsrad($1, $2, $3) }, { $0.vpsrad($1, $2, $3) }),
            ("vpsllq", { $0.vpsllq($1, $2, $3) }, { $0.vpsllq($1, $2, $3) }),
            ("vpsrlq", { $0.vpsrlq($1, $2, $3) }, { $0.vpsrlq($1, $2, $3) }),
        ]
    }

}

// MARK: - External tools

private enum ExternalAssembler {
    /// Set X86ASM_REFERENCE=gnu to check the GNU as fallback even where llvm-mc exists.
    static let preferGNU = ProcessInfo.processInfo.environment["X86ASM_REFERENCE"] == "gnu"
    static let llvmMC: String? =
        preferGNU ? nil : find(["llvm-mc"] + stride(from: 20, through: 10, by: -1).map { "llvm-mc-\($0)" })
    static let gnuAs: String? = find(["as"])
    static let objcopy: String? = find(["llvm-objcopy", "objcopy"])
    static var objectToolAvailable: Bool { (llvmMC != nil || gnuAs != nil) && objcopy != nil }

    static func find(_ names: [String]) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for name in names {
            for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
                return directory + "/" + name
            }
        }
        return nil
    }

    struct Output {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// Runs `tool` with output sent to files (a pipe could fill up and stall it).
    static func run(_ tool: String, _ arguments: [String], in directory: URL) throws -> Output {
        let stdout = directory.appendingPathComponent("stdout-\(UUID().uuidString)")
        let stderr = directory.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, standardOutput: try String(contentsOf: stdout, encoding: .utf8),
            standardError: try String(contentsOf: stderr, encoding: .utf8))
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("x86asm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

private func hex(_ bytes: some Sequence<UInt8>) -> String { X86TestSupport.hex(bytes) }

// MARK: - Tests

@Suite("Differential: X86Assembler against llvm-mc / GNU as")
struct AssemblerDifferentialTests {
    fileprivate static let corpus = AssemblerCorpus.build()

    private static func mnemonic(_ text: String) -> String {
        String(text.split(separator: " ").first { !$0.hasPrefix("{") } ?? "")
    }

    /// Whether `spelled` (an AT&T mnemonic from the listing) is a spelling of `instruction`.
    private static func isSpelling(_ spelled: String, of instruction: X86.Instruction) -> Bool {
        let suffixes = X86.Condition.allCases.map(\.suffix)
        let name = instruction.mnemonic
        switch instruction {
        case .jcc: return suffixes.contains { spelled == "j" + $0 }
        case .setcc: return suffixes.contains { spelled == "set" + $0 }
        case .cmovcc:
            return suffixes.contains { condition in ["w", "l", "q"].contains { spelled == "cmov" + condition + $0 } }
        case .movzx: return ["movzbw", "movzbl", "movzbq", "movzwl", "movzwq"].contains(spelled)
        case .movsx: return ["movsbw", "movsbl", "movsbq", "movswl", "movswq"].contains(spelled)
        case .movsxd: return spelled == "movslq"
        case .cqo: return spelled == "cqto"
        case .cdq: return spelled == "cltd"
        case .ret, .call, .jmp, .push, .pop: return spelled == name + "q" || spelled == name
        case .vcmpps, .vcmppd, .vcmpss, .vcmpsd:
            return spelled.hasPrefix("vcmp") && spelled.hasSuffix(name.suffix(2)) && spelled.count > 6
        default:
            guard spelled.hasPrefix(name) else { return false }
            let rest = spelled.dropFirst(name.count)
            return rest.isEmpty || (rest.count == 1 && "bwlqxy".contains(rest.first!))
        }
    }

    @Test func everyMethodEmitsTheInstructionItIsNamedAfter() {
        let corpus = Self.corpus
        #expect(corpus.assembler.firstError == nil)
        #expect(corpus.misnamed == [])
    }

    @Test func corpusCoversEveryInstruction() {
        let spelled = Set(
            Self.corpus.assembler.listing.filter { $0.kind == .instruction }.map { Self.mnemonic($0.text) })
        for instruction in X86.Instruction.allCases {
            #expect(spelled.contains { Self.isSpelling($0, of: instruction) }, "\(instruction) is not in the corpus")
        }
    }

    // A trait that is off records the test as skipped with this comment, visibly, instead of passing silently.
    @Test(.enabled(if: ExternalAssembler.llvmMC != nil, "llvm-mc is not installed: per-instruction comparison skipped"))
    func everyInstructionEncodesAsLLVMDoes() throws {
        var assembler = Self.corpus.assembler
        let bytes = try assembler.finalize()
        let directory = try ExternalAssembler.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("corpus.s")
        try assembler.listingText.write(to: source, atomically: true, encoding: .utf8)
        let output = try ExternalAssembler.run(
            ExternalAssembler.llvmMC!, ["--triple=x86_64", "--show-encoding", source.path], in: directory)
        #expect(output.status == 0, "llvm-mc failed: \(output.standardError.prefix(2000))")

        // llvm-mc prints each instruction back followed by "# encoding: [0x48,0x01,A,…]" (letters: fix-up bytes).
        let reference: [(text: String, bytes: [UInt8?])] = output.standardOutput.split(separator: "\n").compactMap {
            line in
            let parts = line.components(separatedBy: "# encoding: [")
            guard parts.count == 2 else { return nil }
            let bytes = parts[1].prefix { $0 != "]" }.split(separator: ",").map { UInt8($0.dropFirst(2), radix: 16) }
            return (Self.normalized(parts[0]), bytes)
        }
        let ours = assembler.listing.filter { $0.kind == .instruction }
        #expect(ours.count > 3000, "the corpus shrank to \(ours.count) instructions")
        #expect(reference.count == ours.count)

        var mismatches: [String] = []
        for (line, expected) in zip(ours, reference) {
            let actual = Array(bytes[line.offset..<line.offset + line.length])
            let same =
                actual.count == expected.bytes.count && zip(actual, expected.bytes).allSatisfy { $1 == nil || $0 == $1 }
            let expectedHex = expected.bytes.map { $0.map { String(format: "%02X", $0) } ?? "??" }.joined(
                separator: " ")
            if !same { mismatches.append("\(line.text): ours \(hex(actual)), llvm-mc \(expectedHex)") }
            if Self.normalized(line.text) != expected.text {
                mismatches.append("spelling: ours \"\(line.text)\", llvm-mc \"\(expected.text)\"")
            }
        }
        if !mismatches.isEmpty {
            Issue.record("\(mismatches.count) mismatches:\n\(mismatches.prefix(40).joined(separator: "\n"))")
        }
    }

    @Test(
        .enabled(
            if: ExternalAssembler.objectToolAvailable,
            "neither llvm-mc nor GNU as (with objcopy) is installed: whole-program comparison skipped"))
    func wholeProgramAssemblesIdentically() throws {
        var assembler = Self.corpus.assembler
        let bytes = try assembler.finalize()
        let directory = try ExternalAssembler.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("corpus.s")
        let object = directory.appendingPathComponent("corpus.o")
        let text = directory.appendingPathComponent("corpus.bin")
        try assembler.listingText.write(to: source, atomically: true, encoding: .utf8)
        let assembled =
            if let llvmMC = ExternalAssembler.llvmMC {
                try ExternalAssembler.run(
                    llvmMC, ["--triple=x86_64", "-filetype=obj", "-o", object.path, source.path], in: directory)
            } else {
                try ExternalAssembler.run(
                    ExternalAssembler.gnuAs!, ["--64", "-o", object.path, source.path], in: directory)
            }
        try #require(assembled.status == 0, "assembler failed: \(assembled.standardError.prefix(2000))")
        let copied = try ExternalAssembler.run(
            ExternalAssembler.objcopy!, ["-O", "binary", "--only-section=.text", object.path, text.path], in: directory)
        try #require(copied.status == 0, "objcopy failed: \(copied.standardError)")
        let theirs = [UInt8](try Data(contentsOf: text))

        #expect(theirs.count == bytes.count)
        if let first = (0..<min(bytes.count, theirs.count)).first(where: { bytes[$0] != theirs[$0] }) {
            let line = assembler.listing.last { $0.offset <= first && $0.kind != .label }
            Issue.record(
                """
                first difference at offset \(first), in "\(line?.text ?? "?")": \
                ours \(hex(bytes[first..<min(first + 12, bytes.count)])), \
                theirs \(hex(theirs[first..<min(first + 12, theirs.count)]))
                """)
        }
    }

    /// One space between tokens; call/ret/jmp without the `q` that LLVM ≥ 15 no longer prints.
    private static func normalized(_ text: some StringProtocol) -> String {
        var words = String(text).split { $0 == " " || $0 == "\t" }.map(String.init)
        if let index = words.firstIndex(where: { !$0.hasPrefix("{") }),
            ["callq", "retq", "jmpq"].contains(words[index])
        {
            words[index].removeLast()
        }
        return words.joined(separator: " ")
    }
}
