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

/// Builds the corpus and checks, as it goes, that each entry emitted exactly one instruction, spelled as the entry
/// names it (an entry that emitted nothing, or something else, would otherwise pass the comparisons unnoticed).
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
            for instruction in Self.arithmetic {
                let name = instruction.mnemonic + s
                for i in [0, 3, 4, 5, 8, 12, 13, 15] { add(name) { $0.emit(instruction, .gpr(r(i)), .gpr(r(i + 7))) } }
                for i in [1, 6, 9, 14] {
                    let (m1, m2, m3) = (memory(), memory(), memory())
                    add(name) { $0.emit(instruction, .gpr(r(i)), .mem(m1)) }
                    add(name) { $0.emit(instruction, .mem(m2), .gpr(r(i + 3))) }
                    add(name) { $0.emit(instruction, .mem(m3.sized(width)), .imm(5)) }
                }
                for value in Self.immediates(width) {
                    add(name) { $0.emit(instruction, .gpr(r(0)), .imm(value)) }
                    add(name) { $0.emit(instruction, .gpr(r(Int(value & 15))), .imm(value)) }
                }
                add(name) { $0.emit(instruction, .mem(.ptr(.rsp, 8).sized(width)), .imm(-2)) }
            }
            for i in [0, 2, 5, 7, 8, 13] {
                let m = memory()
                add("test" + s) { $0.test(r(i), r(i + 9)) }
                add("test" + s) { $0.emit(.test, .mem(m), .gpr(r(i))) }
                add("test" + s) { $0.test(r(i), 0x41) }
                add("test" + s) { $0.emit(.test, .mem(m.sized(width)), .imm(-1)) }
                add("mov" + s) { $0.mov(r(i), r(i + 9)) }
                add("mov" + s) { $0.mov(r(i), m) }
                add("mov" + s) { $0.mov(m, r(i + 4)) }
                add("mov" + s) { $0.mov(m.sized(width), 0x12) }
            }
            for instruction in Self.unary {
                for i in [0, 4, 6, 11] {
                    let m = memory()
                    add(instruction.mnemonic + s) { $0.emit(instruction, .gpr(r(i))) }
                    add(instruction.mnemonic + s) { $0.emit(instruction, .mem(m.sized(width))) }
                }
            }
            for instruction in Self.shifts {
                for (i, count) in [(0, 1), (5, 0), (9, 3), (15, Int64(width.bits - 1))] {
                    add(instruction.mnemonic + s) { $0.emit(instruction, .gpr(r(i)), .imm(count)) }
                }
                add(instruction.mnemonic + s) { $0.emit(instruction, .gpr(r(12)), .gpr(.cl)) }
            }
            let m = memory()
            add("shl" + s) { $0.emit(.shl, .mem(m.sized(width)), .imm(1)) }
            add("shr" + s) { $0.emit(.shr, .mem(m.sized(width)), .imm(7)) }
            add("sar" + s) { $0.emit(.sar, .mem(m.sized(width)), .gpr(.cl)) }
            guard width != .byte else { continue }
            for instruction in Self.registerFromRM {
                for i in [0, 5, 9, 12] {
                    let m = memory()
                    add(instruction.mnemonic + s) { $0.emit(instruction, .gpr(r(i)), .gpr(r(i + 3))) }
                    add(instruction.mnemonic + s) { $0.emit(instruction, .gpr(r(i + 1)), .mem(m)) }
                }
            }
            for (i, value) in [(0, Int64(3)), (4, -128), (9, 127), (13, 128), (15, -0x7000)] {
                let m = memory()
                add("imul" + s) { $0.imul(r(i), r(i + 5), value) }
                add("imul" + s) { $0.emit(.imul, .gpr(r(i + 2)), .mem(m), .imm(value)) }
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
                add("cmov" + condition.suffix + s) {
                    $0.emit(.cmovcc, .gpr(r(Int(condition.rawValue) + 3)), .mem(m), condition: condition)
                }
            }
            for source in [X86.Width.byte, .word] where source.rawValue < width.rawValue {
                let from = Self.suffix(source)
                for i in [0, 4, 7, 9, 14] {
                    let m = memory()
                    let narrow = X86.GPR(number: i + 1 == 16 ? 0 : i + 1, width: source)!
                    add("movz" + from + s) { $0.emit(.movzx, .gpr(r(i)), .gpr(narrow)) }
                    add("movs" + from + s) { $0.emit(.movsx, .gpr(r(i + 3)), .gpr(narrow)) }
                    add("movz" + from + s) { $0.emit(.movzx, .gpr(r(i)), .mem(m.sized(source))) }
                    add("movs" + from + s) { $0.emit(.movsx, .gpr(r(i)), .mem(m.sized(source))) }
                }
            }
        }
        for i in [0, 5, 8, 13] {
            let m = memory()
            add("movslq") { $0.emit(.movsxd, .gpr(X86.GPR.all64[i]), .gpr(X86.GPR(number: 15 - i, width: .dword)!)) }
            add("movslq") { $0.emit(.movsxd, .gpr(X86.GPR.all64[i]), .mem(m)) }
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
            add("set" + condition.suffix) { $0.emit(.setcc, .mem(m), condition: condition) }
        }
        add("cqto") { $0.cqo() }
        add("cltd") { $0.emit(.cdq) }
        add("stc") { $0.stc() }
        add("nop") { $0.emit(.nop) }
        add("int3") { $0.emit(.int3) }
        add("ud2") { $0.emit(.ud2) }
        add("sfence") { $0.sfence() }
        add("lfence") { $0.emit(.lfence) }
        add("mfence") { $0.emit(.mfence) }
        for _ in 0..<3 {
            let m = memory()
            add("prefetcht0") { $0.emit(.prefetcht0, .mem(m)) }
            add("prefetcht1") { $0.emit(.prefetcht1, .mem(m)) }
            add("prefetcht2") { $0.emit(.prefetcht2, .mem(m)) }
            add("prefetchnta") { $0.emit(.prefetchnta, .mem(m)) }
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
            add("jmpq") { $0.emit(.jmp, .gpr(X86.GPR.all64[i])) }
            add("jmpq") { $0.emit(.jmp, .mem(m)) }
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
        let v = { (i: Int) in V.all[i % 16].operand }
        let x = { (i: Int) in X86.Operand.xmm(X86.XMM.all[i % 16]) }
        for instruction in Self.packedThreeOperand {
            let name = instruction.mnemonic
            for i in [0, 3, 8, 13] { add(name) { $0.emit(instruction, v(i), v(i + 5), v(i + 11)) } }
            for i in [2, 10] {
                let m = memory()
                add(name) { $0.emit(instruction, v(i), v(i + 7), .mem(m)) }
            }
        }
        for instruction in Self.packedTwoOperand {
            let name = instruction.mnemonic
            for i in [0, 7, 8, 15] { add(name) { $0.emit(instruction, v(i), v(i + 9)) } }
            for i in [4, 12] {
                let m = memory()
                add(name) { $0.emit(instruction, v(i), .mem(m)) }
            }
        }
        for instruction in Self.packedImmediate {
            let name = instruction.mnemonic
            for (i, imm) in [(0, Int64(0)), (9, 0x1B), (6, 0xFF)] {
                add(name) { $0.emit(instruction, v(i), v(i + 5), .imm(imm)) }
            }
            let m = memory()
            add(name) { $0.emit(instruction, v(11), .mem(m), .imm(3)) }
        }
        for instruction in Self.packedThreeImmediate {
            let name = instruction.mnemonic
            for (i, imm) in [(0, Int64(0)), (9, 0x1B), (6, 0xFF)] {
                add(name) { $0.emit(instruction, v(i), v(i + 5), v(i + 11), .imm(imm)) }
            }
            let m = memory()
            add(name) { $0.emit(instruction, v(11), v(3), .mem(m), .imm(0xAA)) }
        }
        for instruction in Self.packedBlendVariable {
            let name = instruction.mnemonic
            for i in [0, 3, 8, 12] { add(name) { $0.emit(instruction, v(i), v(i + 5), v(i + 11), v(i + 14)) } }
            let m = memory()
            add(name) { $0.emit(instruction, v(9), v(1), .mem(m), v(15)) }
        }
        for instruction in Self.packedMoves {
            for i in [0, 9] {
                let (m1, m2) = (memory(), memory())
                add(instruction.mnemonic) { $0.emit(instruction, .mem(m1), v(i)) }
                add(instruction.mnemonic) { $0.emit(instruction, v(i + 4), .mem(m2)) }
            }
        }
        for instruction in Self.maskedMoves {
            for i in [0, 9] {
                let (m1, m2) = (memory(), memory())
                add(instruction.mnemonic) { $0.emit(instruction, v(i), v(i + 3), .mem(m1)) }
                add(instruction.mnemonic) { $0.emit(instruction, .mem(m2), v(i + 7), v(i + 12)) }
            }
        }
        for instruction in Self.vectorShifts {
            for i in [0, 9] {
                add(instruction.mnemonic) { $0.emit(instruction, v(i), v(i + 10), .imm(7)) }
                add(instruction.mnemonic) { $0.emit(instruction, v(i + 1), v(i + 4), x(i + 8)) }
            }
        }
        let m = memory()
        add("vpslld") { $0.emit(.vpslld, v(3), v(12), .mem(m)) }
        add("vpsrlq") { $0.emit(.vpsrlq, v(13), v(2), .mem(.ptr(.r13))) }
        for predicate in X86.ComparePredicate.allCases {
            let i = Int(predicate.rawValue)
            add("vcmp" + predicate.attName + "ps") {
                $0.emit(.vcmpps, v(i), v(i + 3), v(i + 9), .imm(Int64(predicate.rawValue)))
            }
            add("vcmp" + predicate.attName + "pd") {
                $0.emit(.vcmppd, v(i + 1), v(i + 2), v(i + 8), .imm(Int64(predicate.rawValue)))
            }
        }
        let (m1, m2) = (memory(), memory())
        add("vcmpleps") { $0.emit(.vcmpps, v(1), v(9), .mem(m1), .predicate(.le)) }
        add("vcmpneq_oqpd") { $0.emit(.vcmppd, v(10), v(2), .mem(m2), .predicate(.neqOQ)) }
        for (i, register) in [X86.GPR.eax, .r9d, .rcx, .r15].enumerated() {
            add("vmovmskps") { $0.emit(.vmovmskps, .gpr(register), v(i * 5)) }
            add("vmovmskpd") { $0.emit(.vmovmskpd, .gpr(register), v(i * 5 + 1)) }
            add("vpmovmskb") { $0.emit(.vpmovmskb, .gpr(register), v(i * 5 + 2)) }
        }
        for i in [0, 8] {
            let (m1, m2, m3) = (memory(), memory(), memory())
            add("vbroadcastss") { $0.emit(.vbroadcastss, v(i), x(i + 9)) }
            add("vbroadcastss") { $0.emit(.vbroadcastss, v(i + 1), .mem(m1)) }
            add("vpbroadcastd") { $0.emit(.vpbroadcastd, v(i + 2), x(i + 10)) }
            add("vpbroadcastd") { $0.emit(.vpbroadcastd, v(i + 3), .mem(m2)) }
            add("vpbroadcastq") { $0.emit(.vpbroadcastq, v(i + 4), x(i + 11)) }
            add("vpbroadcastq") { $0.emit(.vpbroadcastq, v(i + 5), .mem(m3)) }
            add("vcvtps2pd") { $0.emit(.vcvtps2pd, v(i), x(i + 9)) }
            add("vcvtps2pd") { $0.emit(.vcvtps2pd, v(i + 9), .mem(m1)) }
            add("vcvtdq2pd") { $0.emit(.vcvtdq2pd, v(i + 2), x(i + 1)) }
            add("vcvtdq2pd") { $0.emit(.vcvtdq2pd, v(i + 3), .mem(m2)) }
            add("vpmovsxdq") { $0.emit(.vpmovsxdq, v(i), x(i + 9)) }
            add("vpmovsxdq") { $0.emit(.vpmovsxdq, v(i + 9), .mem(m1)) }
            add("vpmovzxbd") { $0.emit(.vpmovzxbd, v(i + 2), x(i + 1)) }
            add("vpmovzxbd") { $0.emit(.vpmovzxbd, v(i + 3), .mem(m2)) }
            add("vpmovzxbq") { $0.emit(.vpmovzxbq, v(i + 4), x(i + 12)) }
            add("vpmovzxbq") { $0.emit(.vpmovzxbq, v(i + 5), .mem(m3)) }
            add("vcvtpd2ps") { $0.emit(.vcvtpd2ps, x(i), v(i + 9)) }
            add("vcvtpd2dq") { $0.emit(.vcvtpd2dq, x(i + 9), v(i)) }
            add("vcvttpd2dq") { $0.emit(.vcvttpd2dq, x(i + 4), v(i + 12)) }
            add("vmovntps") { $0.emit(.vmovntps, .mem(m1), v(i)) }
            add("vmovntpd") { $0.emit(.vmovntpd, .mem(m2), v(i + 9)) }
            add("vmovntdq") { $0.emit(.vmovntdq, .mem(m3), v(i + 3)) }
            add("vmovntdqa") { $0.emit(.vmovntdqa, v(i + 11), .mem(m1)) }
        }
    }

    mutating func vectorOddForms() {
        let x = { (i: Int) in X86.Operand.xmm(X86.XMM.all[i % 16]) }
        let y = { (i: Int) in X86.Operand.ymm(X86.YMM.all[i % 16]) }
        for instruction in Self.scalarThreeOperand {
            let name = instruction.mnemonic
            for i in [0, 3, 8, 13] { add(name) { $0.emit(instruction, x(i), x(i + 5), x(i + 11)) } }
            let m = memory()
            add(name) { $0.emit(instruction, x(10), x(1), .mem(m)) }
        }
        for (a, b, c) in [(0, 1, 8), (8, 1, 0), (0, 8, 9), (9, 3, 4), (2, 3, 4), (15, 15, 15)] {
            add("vmovss") { $0.emit(.vmovss, x(a), x(b), x(c)) }
            add("vmovsd") { $0.emit(.vmovsd, x(c), x(a), x(b)) }
        }
        for i in [0, 9] {
            let (m1, m2) = (memory(), memory())
            add("vmovss") { $0.emit(.vmovss, x(i), .mem(m1)) }
            add("vmovss") { $0.emit(.vmovss, .mem(m2), x(i + 3)) }
            add("vmovsd") { $0.emit(.vmovsd, x(i + 8), .mem(m2)) }
            add("vmovsd") { $0.emit(.vmovsd, .mem(m1), x(i + 1)) }
            add("vmovd") { $0.emit(.vmovd, x(i), .gpr(X86.GPR(number: i + 1, width: .dword)!)) }
            add("vmovd") { $0.emit(.vmovd, .gpr(X86.GPR(number: 15 - i, width: .dword)!), x(i + 7)) }
            add("vmovd") { $0.emit(.vmovd, x(i + 2), .mem(m1)) }
            add("vmovd") { $0.emit(.vmovd, .mem(m2), x(i + 11)) }
            add("vmovq") { $0.emit(.vmovq, x(i), .gpr(X86.GPR.all64[i + 1])) }
            add("vmovq") { $0.emit(.vmovq, .gpr(X86.GPR.all64[15 - i]), x(i + 7)) }
            add("vmovq") { $0.emit(.vmovq, x(i + 2), .mem(m1)) }
            add("vmovq") { $0.emit(.vmovq, .mem(m2), x(i + 11)) }
            add("vbroadcastsd") { $0.emit(.vbroadcastsd, y(i), x(i + 10)) }
            add("vbroadcastsd") { $0.emit(.vbroadcastsd, y(i + 1), .mem(m1)) }
            add("vbroadcastf128") { $0.emit(.vbroadcastf128, y(i + 2), .mem(m2)) }
            add("vcvtpd2psx") { $0.emit(.vcvtpd2ps, x(i), .mem(m1.sized(.xmmword))) }
            add("vcvtpd2psy") { $0.emit(.vcvtpd2ps, x(i + 9), .mem(m2.sized(.ymmword))) }
            add("vcvtpd2dqx") { $0.emit(.vcvtpd2dq, x(i + 3), .mem(m1.sized(.xmmword))) }
            add("vcvtpd2dqy") { $0.emit(.vcvtpd2dq, x(i + 4), .mem(m2.sized(.ymmword))) }
            add("vcvttpd2dqx") { $0.emit(.vcvttpd2dq, x(i + 5), .mem(m1.sized(.xmmword))) }
            add("vcvttpd2dqy") { $0.emit(.vcvttpd2dq, x(i + 6), .mem(m2.sized(.ymmword))) }
            add("vroundss") { $0.emit(.vroundss, x(i), x(i + 4), x(i + 8), .imm(Int64(X86.Rounding.down))) }
            add("vroundsd") { $0.emit(.vroundsd, x(i + 1), x(i + 9), .mem(m1), .imm(Int64(X86.Rounding.towardZero))) }
            add("vmovhlps") { $0.emit(.vmovhlps, x(i), x(i + 5), x(i + 10)) }
            add("vmovlhps") { $0.emit(.vmovlhps, x(i + 10), x(i), x(i + 5)) }
            add("vpermq") { $0.emit(.vpermq, y(i), y(i + 9), .imm(0x1B)) }
            add("vpermq") { $0.emit(.vpermq, y(i + 1), .mem(m1), .imm(0x4E)) }
            add("vpermpd") { $0.emit(.vpermpd, y(i + 9), y(i), .imm(0xB1)) }
            add("vpermpd") { $0.emit(.vpermpd, y(i + 2), .mem(m2), .imm(0)) }
            add("vpermd") { $0.emit(.vpermd, y(i), y(i + 3), y(i + 9)) }
            add("vpermd") { $0.emit(.vpermd, y(i + 9), y(i), .mem(m1)) }
            add("vpermps") { $0.emit(.vpermps, y(i + 4), y(i + 12), y(i + 1)) }
            add("vpermps") { $0.emit(.vpermps, y(i + 1), y(i + 2), .mem(m2)) }
            add("vinsertf128") { $0.emit(.vinsertf128, y(i), y(i + 9), x(i + 3), .imm(1)) }
            add("vinsertf128") { $0.emit(.vinsertf128, y(i + 9), y(i), .mem(m1), .imm(0)) }
            add("vinserti128") { $0.emit(.vinserti128, y(i + 1), y(i + 8), x(i + 12), .imm(1)) }
            add("vinserti128") { $0.emit(.vinserti128, y(i + 2), y(i + 3), .mem(m2), .imm(1)) }
            add("vextractf128") { $0.emit(.vextractf128, x(i), y(i + 9), .imm(1)) }
            add("vextractf128") { $0.emit(.vextractf128, .mem(m1), y(i + 10), .imm(1)) }
            add("vextracti128") { $0.emit(.vextracti128, x(i + 9), y(i), .imm(0)) }
            add("vextracti128") { $0.emit(.vextracti128, .mem(m2), y(i + 3), .imm(1)) }
            add("vperm2f128") { $0.emit(.vperm2f128, y(i), y(i + 9), y(i + 3), .imm(0x21)) }
            add("vperm2f128") { $0.emit(.vperm2f128, y(i + 5), y(i + 9), .mem(m1), .imm(0x30)) }
            add("vperm2i128") { $0.emit(.vperm2i128, y(i + 9), y(i), y(i + 12), .imm(0x13)) }
            add("vperm2i128") { $0.emit(.vperm2i128, y(i + 6), y(i + 1), .mem(m2), .imm(0x02)) }
        }
        for predicate in [X86.ComparePredicate.eq, .lt, .unordS, .trueUS] {
            let m = memory()
            add("vcmp" + predicate.attName + "ss") {
                $0.emit(.vcmpss, x(3), x(9), x(12), .imm(Int64(predicate.rawValue)))
            }
            add("vcmp" + predicate.attName + "sd") {
                $0.emit(.vcmpsd, x(11), x(1), .mem(m), .imm(Int64(predicate.rawValue)))
            }
        }
        for register in [X86.GPR.eax, .rax, .r12, .r13d] {
            let m = memory()
            add("vcvtsi2ss") { $0.emit(.vcvtsi2ss, x(1), x(9), .gpr(register)) }
            add("vcvtsi2sd") { $0.emit(.vcvtsi2sd, x(10), x(2), .gpr(register)) }
            add("vcvtsi2ssl") { $0.emit(.vcvtsi2ss, x(3), x(3), .mem(m.dword)) }
            add("vcvtsi2sdq") { $0.emit(.vcvtsi2sd, x(12), x(13), .mem(m.qword)) }
            add("vcvttss2si") { $0.emit(.vcvttss2si, .gpr(register), x(8)) }
            add("vcvttsd2si") { $0.emit(.vcvttsd2si, .gpr(register), x(1)) }
            add("vcvtss2si") { $0.emit(.vcvtss2si, .gpr(register), .mem(m)) }
            add("vcvtsd2si") { $0.emit(.vcvtsd2si, .gpr(register), x(15)) }
            add("vcvttsd2si") { $0.emit(.vcvttsd2si, .gpr(register), .mem(m)) }
        }
        add("vzeroupper") { $0.emit(.vzeroupper) }
        add("vzeroall") { $0.emit(.vzeroall) }
        add("vldmxcsr") { $0.emit(.vldmxcsr, .mem(.ptr(.rsp, 4))) }
        add("vstmxcsr") { $0.emit(.vstmxcsr, .mem(.ptr(.r12, -4))) }
    }
}

// MARK: - Instruction groups, each emitted in the operand forms of its loop above

extension AssemblerCorpus {
    /// The ALU group: (reg, reg), (reg, mem), (mem, reg), (reg, imm), (mem, imm).
    static let arithmetic: [X86.Instruction] = [
        .add, .or, .adc, .sbb, .and, .sub, .xor, .cmp,
    ]

    /// One register or memory operand.
    static let unary: [X86.Instruction] = [
        .inc, .dec, .not, .neg, .mul, .div, .idiv, .imul,
    ]

    /// A register shifted by an immediate or by cl.
    static let shifts: [X86.Instruction] = [
        .shl, .shr, .sar, .rol, .ror,
    ]

    /// A register from a register or memory (16 to 64 bits).
    static let registerFromRM: [X86.Instruction] = [
        .popcnt, .tzcnt, .lzcnt, .imul,
    ]

    /// Vector destination, vector source, vector or memory source.
    static let packedThreeOperand: [X86.Instruction] = [
        .vaddps, .vaddpd, .vsubps, .vsubpd, .vmulps, .vmulpd, .vdivps, .vdivpd, .vminps, .vminpd, .vmaxps, .vmaxpd,
        .vhaddps, .vhaddpd, .vhsubps, .vhsubpd, .vandps, .vandpd, .vandnps, .vandnpd, .vorps, .vorpd, .vxorps, .vxorpd,
        .vunpcklps, .vunpcklpd, .vunpckhps, .vunpckhpd, .vpshufb, .vpaddd, .vpaddq, .vpsubd, .vpsubq, .vpmulld,
        .vpmuludq, .vpmuldq, .vpand, .vpandn, .vpor, .vpxor, .vpcmpeqd, .vpcmpeqq, .vpcmpgtd, .vpcmpgtq, .vpminsd,
        .vpmaxsd, .vpminud, .vpmaxud, .vpsllvd, .vpsllvq, .vpsrlvd, .vpsrlvq, .vpsravd, .vfmadd132ps, .vfmadd132pd,
        .vfmadd213ps, .vfmadd213pd, .vfmadd231ps, .vfmadd231pd, .vfmsub132ps, .vfmsub132pd, .vfmsub213ps, .vfmsub213pd,
        .vfmsub231ps, .vfmsub231pd, .vfnmadd132ps, .vfnmadd132pd, .vfnmadd213ps, .vfnmadd213pd, .vfnmadd231ps,
        .vfnmadd231pd, .vfnmsub132ps, .vfnmsub132pd, .vfnmsub213ps, .vfnmsub213pd, .vfnmsub231ps, .vfnmsub231pd,
    ]

    /// The same with XMM registers (scalar forms).
    static let scalarThreeOperand: [X86.Instruction] = [
        .vaddss, .vaddsd, .vsubss, .vsubsd, .vmulss, .vmulsd, .vdivss, .vdivsd, .vminss, .vminsd, .vmaxss, .vmaxsd,
        .vsqrtss, .vsqrtsd, .vrcpss, .vrsqrtss, .vcvtss2sd, .vcvtsd2ss, .vfmadd132ss, .vfmadd132sd, .vfmadd213ss,
        .vfmadd213sd, .vfmadd231ss, .vfmadd231sd, .vfmsub132ss, .vfmsub132sd, .vfmsub213ss, .vfmsub213sd, .vfmsub231ss,
        .vfmsub231sd, .vfnmadd132ss, .vfnmadd132sd, .vfnmadd213ss, .vfnmadd213sd, .vfnmadd231ss, .vfnmadd231sd,
        .vfnmsub132ss, .vfnmsub132sd, .vfnmsub213ss, .vfnmsub213sd, .vfnmsub231ss, .vfnmsub231sd,
    ]

    /// Vector destination, vector or memory source.
    static let packedTwoOperand: [X86.Instruction] = [
        .vsqrtps, .vsqrtpd, .vrcpps, .vrsqrtps, .vcvtdq2ps, .vcvtps2dq, .vcvttps2dq, .vptest, .vpabsd, .vmovups,
        .vmovupd, .vmovaps, .vmovapd, .vmovdqu, .vmovdqa,
    ]

    /// Vector destination, vector or memory source, imm8.
    static let packedImmediate: [X86.Instruction] = [
        .vroundps, .vroundpd, .vpermilps, .vpermilpd, .vpshufd,
    ]

    /// Vector destination, vector source, vector or memory source, imm8.
    static let packedThreeImmediate: [X86.Instruction] = [
        .vshufps, .vshufpd, .vblendps, .vblendpd, .vpblendd,
    ]

    /// Vector destination, vector source, vector or memory source, vector selector.
    static let packedBlendVariable: [X86.Instruction] = [
        .vblendvps, .vblendvpd, .vpblendvb,
    ]

    /// Whole-vector stores and loads.
    static let packedMoves: [X86.Instruction] = [
        .vmovups, .vmovupd, .vmovaps, .vmovapd, .vmovdqu, .vmovdqa,
    ]

    /// Masked loads (reg, mask, mem) and stores (mem, mask, reg).
    static let maskedMoves: [X86.Instruction] = [
        .vmaskmovps, .vmaskmovpd, .vpmaskmovd, .vpmaskmovq,
    ]

    /// Shifts by an imm8 or by an XMM register.
    static let vectorShifts: [X86.Instruction] = [
        .vpslld, .vpsrld, .vpsrad, .vpsllq, .vpsrlq,
    ]
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

    @Test func everyEntryEmitsTheInstructionItIsNamedAfter() {
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
