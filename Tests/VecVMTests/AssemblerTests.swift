// AssemblerTests.swift — expected-bytes tests of X86Assembler in the style of asmjit's
// asmjit_test_assembler_x64.cpp: the bytes sit next to the call that must produce them, one suite per ISA
// extension, with the ModRM/SIB/REX/VEX corner cases spelled out. The bytes were produced by llvm-mc from the AT&T
// text that is each check's second argument (also checked: it is the listing's spelling), not by this assembler.
// Label, alignment, data-section and error behaviour follow.

import Foundation
import Testing

@testable import VecVM

/// Helpers shared by the Assembler*Tests files (a namespace, so nothing clashes with other tests of the target).
enum X86TestSupport {
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02X", $0) }.joined(separator: " ")
    }

    /// "48 01 C8" → [0x48, 0x01, 0xC8]; anything but hex digits is ignored.
    static func parseHex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter(\.isHexDigit))
        return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }
}

private func hex(_ bytes: some Sequence<UInt8>) -> String { X86TestSupport.hex(bytes) }
private func parseHex(_ text: String) -> [UInt8] { X86TestSupport.parseHex(text) }

/// Assembles `body` alone and expects `hexBytes` (spaces ignored) and the AT&T `spelling` in the listing; a failure
/// points at the caller's line.
private func expectEncoding(
    _ hexBytes: String, _ spelling: String, sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ body: (inout X86Assembler) -> Void
) {
    var assembler = X86Assembler(listing: true)
    body(&assembler)
    do {
        let bytes = try assembler.finalize()
        #expect(hex(bytes) == hex(parseHex(hexBytes)), sourceLocation: sourceLocation)
        #expect(assembler.listing.map(\.text) == [spelling], sourceLocation: sourceLocation)
    } catch {
        Issue.record("\(error)", sourceLocation: sourceLocation)
    }
}

private let rax = X86.GPR.rax
private let rcx = X86.GPR.rcx
private let rdx = X86.GPR.rdx
private let rbx = X86.GPR.rbx
private let rsp = X86.GPR.rsp
private let rbp = X86.GPR.rbp
private let rsi = X86.GPR.rsi
private let rdi = X86.GPR.rdi
private let r8 = X86.GPR.r8
private let r9 = X86.GPR.r9
private let r10 = X86.GPR.r10
private let r11 = X86.GPR.r11
private let r12 = X86.GPR.r12
private let r13 = X86.GPR.r13
private let r15 = X86.GPR.r15
private func ptr(_ base: X86.GPR, _ displacement: Int32 = 0) -> X86.Mem { .ptr(base, displacement) }
private func ptr(_ base: X86.GPR, _ index: X86.GPR, _ scale: Int, _ displacement: Int32 = 0) -> X86.Mem {
    .ptr(base, index: index, scale: scale, displacement)
}

@Suite("Base: general-purpose instructions")
struct AssemblerBaseTests {
    @Test func movesAndREX() {
        expectEncoding("48 89 C8", "movq %rcx, %rax") { $0.mov(rax, rcx) }
        expectEncoding("49 89 C0", "movq %rax, %r8") { $0.mov(r8, rax) }
        expectEncoding("4C 89 F8", "movq %r15, %rax") { $0.mov(rax, r15) }
        expectEncoding("44 89 C8", "movl %r9d, %eax") { $0.mov(.eax, .r9d) }
        expectEncoding("66 44 89 E0", "movw %r12w, %ax") { $0.mov(.ax, .r12w) }
        expectEncoding("40 88 F0", "movb %sil, %al") { $0.mov(.al, .sil) }
        expectEncoding("44 88 C7", "movb %r8b, %dil") { $0.mov(.dil, .r8b) }
        expectEncoding("B8 00 00 00 00", "movl $0, %eax") { $0.mov(rax, 0) }
        expectEncoding("41 B9 FF FF FF FF", "movl $4294967295, %r9d") { $0.mov(r9, 0xFFFF_FFFF) }
        expectEncoding("48 C7 C1 FF FF FF FF", "movq $-1, %rcx") { $0.mov(rcx, -1) }
        expectEncoding("49 BF 89 67 45 23 01 00 00 00", "movabsq $4886718345, %r15") { $0.mov(r15, 0x1_2345_6789) }
        expectEncoding("48 B8 05 00 00 00 00 00 00 00", "movabsq $5, %rax") { $0.movabs(rax, 5) }
        expectEncoding("B9 FF FF FF FF", "movl $4294967295, %ecx") { $0.mov(.ecx, 0xFFFF_FFFF) }
        expectEncoding("41 B4 80", "movb $128, %r12b") { $0.mov(.r12b, 0x80) }
        expectEncoding("48 8B 47 08", "movq 8(%rdi), %rax") { $0.mov(rax, ptr(rdi, 8)) }
        expectEncoding("4C 89 64 24 F8", "movq %r12, -8(%rsp)") { $0.mov(ptr(rsp, -8), r12) }
        expectEncoding("48 C7 44 24 10 FE FF FF FF", "movq $-2, 16(%rsp)") { $0.mov(ptr(rsp, 16).qword, -2) }
        expectEncoding("41 C7 45 00 07 00 00 00", "movl $7, (%r13)") { $0.mov(ptr(r13).dword, 7) }
        expectEncoding("C6 00 FF", "movb $255, (%rax)") { $0.mov(ptr(rax).byte, 0xFF) }
        expectEncoding("48 8D 44 CF 10", "leaq 16(%rdi,%rcx,8), %rax") { $0.lea(rax, ptr(rdi, rcx, 8, 16)) }
        expectEncoding("8D 04 00", "leal (%rax,%rax), %eax") { $0.lea(.eax, ptr(rax, rax, 1)) }
        expectEncoding("40 0F B6 C6", "movzbl %sil, %eax") { $0.emit(.movzx, .gpr(.eax), .gpr(.sil)) }
        expectEncoding("48 0F B7 0E", "movzwq (%rsi), %rcx") { $0.emit(.movzx, .gpr(rcx), .mem(ptr(rsi).word)) }
        expectEncoding("4D 0F BE CA", "movsbq %r10b, %r9") { $0.emit(.movsx, .gpr(r9), .gpr(.r10b)) }
        expectEncoding("0F BE 47 FF", "movsbl -1(%rdi), %eax") { $0.emit(.movsx, .gpr(.eax), .mem(ptr(rdi, -1).byte)) }
        expectEncoding("49 63 C7", "movslq %r15d, %rax") { $0.emit(.movsxd, .gpr(rax), .gpr(.r15d)) }
        expectEncoding("4C 63 04 8E", "movslq (%rsi,%rcx,4), %r8") {
            $0.emit(.movsxd, .gpr(r8), .mem(ptr(rsi, rcx, 4)))
        }
    }

    @Test func addressingModes() {
        expectEncoding("48 8B 00", "movq (%rax), %rax") { $0.mov(rax, ptr(rax)) }
        expectEncoding("48 8B 04 24", "movq (%rsp), %rax") { $0.mov(rax, ptr(rsp)) }  // rsp base needs a SIB
        expectEncoding("49 8B 04 24", "movq (%r12), %rax") { $0.mov(rax, ptr(r12)) }  // so does r12
        expectEncoding("48 8B 45 00", "movq (%rbp), %rax") { $0.mov(rax, ptr(rbp)) }  // rbp base needs disp8 0
        expectEncoding("49 8B 45 00", "movq (%r13), %rax") { $0.mov(rax, ptr(r13)) }  // so does r13
        expectEncoding("4C 8B 44 24 7F", "movq 127(%rsp), %r8") { $0.mov(r8, ptr(rsp, 127)) }
        expectEncoding("4C 8B 45 80", "movq -128(%rbp), %r8") { $0.mov(r8, ptr(rbp, -128)) }
        expectEncoding("48 8B 8B 80 00 00 00", "movq 128(%rbx), %rcx") { $0.mov(rcx, ptr(rbx, 128)) }  // disp32
        expectEncoding("49 8B 8C 24 7F FF FF FF", "movq -129(%r12), %rcx") { $0.mov(rcx, ptr(r12, -129)) }
        expectEncoding("49 8B 95 00 00 00 80", "movq -2147483648(%r13), %rdx") { $0.mov(rdx, ptr(r13, Int32.min)) }
        // R12 is a valid index (REX.X).
        expectEncoding("4A 8B 14 60", "movq (%rax,%r12,2), %rdx") {
            $0.mov(rdx, ptr(rax, r12, 2))
        }
        // Rbp base with index: disp8 0.
        expectEncoding("48 8B 54 8D 00", "movq (%rbp,%rcx,4), %rdx") {
            $0.mov(rdx, ptr(rbp, rcx, 4))
        }
        expectEncoding("4B 8B 54 FD 00", "movq (%r13,%r15,8), %rdx") { $0.mov(rdx, ptr(r13, r15, 8)) }
        expectEncoding("4E 8B 7C 0C F8", "movq -8(%rsp,%r9), %r15") { $0.mov(r15, ptr(rsp, r9, 1, -8)) }
        // No base: SIB base 101, disp32.
        expectEncoding("48 8B 04 CD 10 00 00 00", "movq 16(,%rcx,8), %rax") {
            $0.mov(rax, .ptr(index: rcx, scale: 8, 16))
        }
        // Absolute needs a SIB in 64-bit mode.
        expectEncoding("48 8B 04 25 00 10 00 00", "movq 4096, %rax") {
            $0.mov(rax, .ptr(absolute: 0x1000))
        }
    }

    @Test func arithmeticForms() {
        expectEncoding("48 01 C8", "addq %rcx, %rax") { $0.add(rax, rcx) }
        expectEncoding("49 83 C0 01", "addq $1, %r8") { $0.add(r8, 1) }
        expectEncoding("48 05 E8 03 00 00", "addq $1000, %rax") { $0.add(rax, 1000) }  // accumulator form
        expectEncoding("48 81 C1 E8 03 00 00", "addq $1000, %rcx") { $0.add(rcx, 1000) }
        expectEncoding("04 01", "addb $1, %al") { $0.add(.al, 1) }
        expectEncoding("83 C0 FF", "addl $4294967295, %eax") { $0.add(.eax, 0xFFFF_FFFF) }  // -1 as imm8
        expectEncoding("48 83 EC 28", "subq $40, %rsp") { $0.sub(rsp, 40) }
        expectEncoding("48 81 6F 08 80 00 00 00", "subq $128, 8(%rdi)") {
            $0.emit(.sub, .mem(ptr(rdi, 8).qword), .imm(128))
        }
        expectEncoding("48 83 E1 F8", "andq $-8, %rcx") { $0.and(rcx, -8) }
        expectEncoding("44 0B 5C 24 04", "orl 4(%rsp), %r11d") { $0.emit(.or, .gpr(.r11d), .mem(ptr(rsp, 4))) }
        expectEncoding("31 C0", "xorl %eax, %eax") { $0.xor(.eax, .eax) }
        expectEncoding("4D 31 2C 24", "xorq %r13, (%r12)") { $0.emit(.xor, .mem(ptr(r12)), .gpr(r13)) }
        expectEncoding("48 39 D1", "cmpq %rdx, %rcx") { $0.cmp(rcx, rdx) }
        expectEncoding("66 81 F9 FF 7F", "cmpw $32767, %cx") { $0.cmp(.cx, 0x7FFF) }
        expectEncoding("80 38 FF", "cmpb $-1, (%rax)") { $0.cmp(ptr(rax).byte, -1) }
        expectEncoding("48 83 D2 00", "adcq $0, %rdx") { $0.emit(.adc, .gpr(rdx), .imm(0)) }
        expectEncoding("45 19 D1", "sbbl %r10d, %r9d") { $0.emit(.sbb, .gpr(.r9d), .gpr(.r10d)) }
        expectEncoding("48 85 C0", "testq %rax, %rax") { $0.test(rax, rax) }
        expectEncoding("A8 01", "testb $1, %al") { $0.test(.al, 1) }
        expectEncoding("48 F7 C1 00 01 00 00", "testq $256, %rcx") { $0.test(rcx, 0x100) }
        expectEncoding("F6 46 02 80", "testb $128, 2(%rsi)") { $0.emit(.test, .mem(ptr(rsi, 2).byte), .imm(0x80)) }
        expectEncoding("48 FF C0", "incq %rax") { $0.inc(rax) }
        expectEncoding("41 FF CE", "decl %r14d") { $0.dec(.r14d) }
        expectEncoding("49 F7 D9", "negq %r9") { $0.neg(r9) }
        expectEncoding("48 F7 10", "notq (%rax)") { $0.emit(.not, .mem(ptr(rax).qword)) }
        expectEncoding("48 0F AF C1", "imulq %rcx, %rax") { $0.imul(rax, rcx) }
        expectEncoding("4C 0F AF 44 24 08", "imulq 8(%rsp), %r8") { $0.emit(.imul, .gpr(r8), .mem(ptr(rsp, 8))) }
        expectEncoding("48 6B C1 0A", "imulq $10, %rcx, %rax") { $0.imul(rax, rcx, 10) }
        expectEncoding("45 69 EE E8 03 00 00", "imull $1000, %r14d, %r13d") { $0.imul(.r13d, .r14d, 1000) }
        expectEncoding("48 99", "cqto") { $0.cqo() }
        expectEncoding("48 F7 F9", "idivq %rcx") { $0.idiv(rcx) }
        expectEncoding("49 F7 E8", "imulq %r8") { $0.imul(r8) }
        expectEncoding("99", "cltd") { $0.emit(.cdq) }
        expectEncoding("F9", "stc") { $0.stc() }
        expectEncoding("41 F7 F0", "divl %r8d") { $0.emit(.div, .gpr(.r8d)) }
        expectEncoding("48 F7 23", "mulq (%rbx)") { $0.emit(.mul, .mem(ptr(rbx).qword)) }
        expectEncoding("F3 48 0F B8 C1", "popcntq %rcx, %rax") { $0.emit(.popcnt, .gpr(rax), .gpr(rcx)) }
        expectEncoding("F3 44 0F BC 0F", "tzcntl (%rdi), %r9d") { $0.emit(.tzcnt, .gpr(.r9d), .mem(ptr(rdi))) }
        expectEncoding("66 F3 41 0F BD C4", "lzcntw %r12w, %ax") { $0.emit(.lzcnt, .gpr(.ax), .gpr(.r12w)) }
    }

    @Test func shifts() {
        expectEncoding("48 D1 E0", "shlq %rax") { $0.shl(rax, 1) }
        expectEncoding("48 C1 E0 03", "shlq $3, %rax") { $0.shl(rax, 3) }
        expectEncoding("41 C1 EA 1F", "shrl $31, %r10d") { $0.shr(.r10d, 31) }
        expectEncoding("49 D3 FF", "sarq %cl, %r15") { $0.emit(.sar, .gpr(r15), .gpr(.cl)) }
        expectEncoding("C1 3C 24 02", "sarl $2, (%rsp)") { $0.emit(.sar, .mem(ptr(rsp).dword), .imm(2)) }
        expectEncoding("C0 C0 04", "rolb $4, %al") { $0.emit(.rol, .gpr(.al), .imm(4)) }
        expectEncoding("48 D3 CA", "rorq %cl, %rdx") { $0.emit(.ror, .gpr(rdx), .gpr(.cl)) }
    }

    @Test func conditionsStackAndMiscellaneous() {
        expectEncoding("0F 94 C0", "sete %al") { $0.set(.e, .al) }
        expectEncoding("40 0F 9C C6", "setl %sil") { $0.set(.l, .sil) }  // needs an empty REX
        expectEncoding("41 0F 93 C1", "setae %r9b") { $0.set(.ae, .r9b) }
        expectEncoding("0F 95 07", "setne (%rdi)") { $0.emit(.setcc, .mem(ptr(rdi).byte), condition: .ne) }
        expectEncoding("48 0F 4C C1", "cmovlq %rcx, %rax") { $0.cmov(.l, rax, rcx) }
        expectEncoding("4D 0F 42 45 08", "cmovbq 8(%r13), %r8") {
            $0.emit(.cmovcc, .gpr(r8), .mem(ptr(r13, 8)), condition: .nae)
        }
        expectEncoding("41 0F 4F C7", "cmovgl %r15d, %eax") { $0.cmov(.g, .eax, .r15d) }
        expectEncoding("55", "pushq %rbp") { $0.push(rbp) }
        expectEncoding("41 54", "pushq %r12") { $0.push(r12) }
        expectEncoding("41 5F", "popq %r15") { $0.pop(r15) }
        expectEncoding("5B", "popq %rbx") { $0.pop(rbx) }
        expectEncoding("FF D0", "callq *%rax") { $0.call(rax) }
        expectEncoding("41 FF D3", "callq *%r11") { $0.call(r11) }
        expectEncoding("FF 50 08", "callq *8(%rax)") { $0.call(ptr(rax, 8)) }
        expectEncoding("41 FF E1", "jmpq *%r9") { $0.emit(.jmp, .gpr(r9)) }
        expectEncoding("FF 24 24", "jmpq *(%rsp)") { $0.emit(.jmp, .mem(ptr(rsp))) }
        expectEncoding("C3", "retq") { $0.ret() }
        expectEncoding("90", "nop") { $0.emit(.nop) }
        expectEncoding("CC", "int3") { $0.emit(.int3) }
        expectEncoding("0F 0B", "ud2") { $0.emit(.ud2) }
        expectEncoding("0F AE F8", "sfence") { $0.sfence() }
        expectEncoding("0F AE F0", "mfence") { $0.emit(.mfence) }
        expectEncoding("0F AE E8", "lfence") { $0.emit(.lfence) }
        expectEncoding("0F 18 8F 00 01 00 00", "prefetcht0 256(%rdi)") { $0.emit(.prefetcht0, .mem(ptr(rdi, 256))) }
        expectEncoding("41 0F 18 04 8C", "prefetchnta (%r12,%rcx,4)") { $0.emit(.prefetchnta, .mem(ptr(r12, rcx, 4))) }
    }
}

@Suite("VEX scalar (SSE-form) instructions")
struct AssemblerScalarTests {
    @Test func arithmetic() {
        expectEncoding("C5 F2 58 C2", "vaddss %xmm2, %xmm1, %xmm0") {
            $0.emit(.vaddss, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2))
        }
        expectEncoding("C4 41 33 58 C2", "vaddsd %xmm10, %xmm9, %xmm8") {
            $0.emit(.vaddsd, .xmm(.xmm8), .xmm(.xmm9), .xmm(.xmm10))
        }
        expectEncoding("C5 EA 5C 4F 04", "vsubss 4(%rdi), %xmm2, %xmm1") {
            $0.emit(.vsubss, .xmm(.xmm1), .xmm(.xmm2), .mem(ptr(rdi, 4)))
        }
        expectEncoding("C4 41 7B 59 7D 00", "vmulsd (%r13), %xmm0, %xmm15") {
            $0.emit(.vmulsd, .xmm(.xmm15), .xmm(.xmm0), .mem(ptr(r13)))
        }
        expectEncoding("C5 9A 5E DD", "vdivss %xmm5, %xmm12, %xmm3") {
            $0.emit(.vdivss, .xmm(.xmm3), .xmm(.xmm12), .xmm(.xmm5))
        }
        expectEncoding("C5 FB 51 C1", "vsqrtsd %xmm1, %xmm0, %xmm0") {
            $0.emit(.vsqrtsd, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm1))
        }
        expectEncoding("C5 EA 5D 14 24", "vminss (%rsp), %xmm2, %xmm2") {
            $0.emit(.vminss, .xmm(.xmm2), .xmm(.xmm2), .mem(ptr(rsp)))
        }
        expectEncoding("C4 C1 23 5F E3", "vmaxsd %xmm11, %xmm11, %xmm4") {
            $0.emit(.vmaxsd, .xmm(.xmm4), .xmm(.xmm11), .xmm(.xmm11))
        }
        expectEncoding("C5 F2 C2 C2 01", "vcmpltss %xmm2, %xmm1, %xmm0") {
            $0.emit(.vcmpss, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2), .predicate(.lt))
        }
        expectEncoding("C5 73 C2 08 14", "vcmpneq_ussd (%rax), %xmm1, %xmm9") {
            $0.emit(.vcmpsd, .xmm(.xmm9), .xmm(.xmm1), .mem(ptr(rax)), .predicate(.neqUS))
        }
        expectEncoding("C4 E3 79 0B C1 09", "vroundsd $9, %xmm1, %xmm0, %xmm0") {
            $0.emit(.vroundsd, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm1), .imm(Int64(X86.Rounding.down)))
        }
        expectEncoding("C5 FA 5A C1", "vcvtss2sd %xmm1, %xmm0, %xmm0") {
            $0.emit(.vcvtss2sd, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm1))
        }
        expectEncoding("C5 3B 5A 06", "vcvtsd2ss (%rsi), %xmm8, %xmm8") {
            $0.emit(.vcvtsd2ss, .xmm(.xmm8), .xmm(.xmm8), .mem(ptr(rsi)))
        }
    }

    @Test func movesAndConversions() {
        expectEncoding("C5 FA 10 07", "vmovss (%rdi), %xmm0") { $0.emit(.vmovss, .xmm(.xmm0), .mem(ptr(rdi))) }
        expectEncoding("C5 7A 11 4E FC", "vmovss %xmm9, -4(%rsi)") { $0.emit(.vmovss, .mem(ptr(rsi, -4)), .xmm(.xmm9)) }
        expectEncoding("C5 F2 10 C2", "vmovss %xmm2, %xmm1, %xmm0") {
            $0.emit(.vmovss, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2))
        }
        // Store opcode keeps the 2-byte VEX.
        expectEncoding("C5 72 11 C0", "vmovss %xmm8, %xmm1, %xmm0") {
            $0.emit(.vmovss, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm8))
        }
        expectEncoding("C5 FB 10 4C 73 F0", "vmovsd -16(%rbx,%rsi,2), %xmm1") {
            $0.emit(.vmovsd, .xmm(.xmm1), .mem(ptr(rbx, rsi, 2, -16)))
        }
        expectEncoding("C5 FB 11 44 24 08", "vmovsd %xmm0, 8(%rsp)") {
            $0.emit(.vmovsd, .mem(ptr(rsp, 8)), .xmm(.xmm0))
        }
        expectEncoding("C5 F9 6E C0", "vmovd %eax, %xmm0") { $0.emit(.vmovd, .xmm(.xmm0), .gpr(.eax)) }
        expectEncoding("C4 41 79 7E C1", "vmovd %xmm8, %r9d") { $0.emit(.vmovd, .gpr(.r9d), .xmm(.xmm8)) }
        expectEncoding("C5 F9 6E 0F", "vmovd (%rdi), %xmm1") { $0.emit(.vmovd, .xmm(.xmm1), .mem(ptr(rdi))) }
        expectEncoding("C4 E1 F9 6E C0", "vmovq %rax, %xmm0") { $0.emit(.vmovq, .xmm(.xmm0), .gpr(rax)) }
        expectEncoding("C4 C1 F9 7E DC", "vmovq %xmm3, %r12") { $0.emit(.vmovq, .gpr(r12), .xmm(.xmm3)) }
        expectEncoding("C5 79 D6 C0", "vmovq %xmm8, %xmm0") { $0.emit(.vmovq, .xmm(.xmm0), .xmm(.xmm8)) }
        expectEncoding("C5 FA 7E 10", "vmovq (%rax), %xmm2") { $0.emit(.vmovq, .xmm(.xmm2), .mem(ptr(rax))) }
        expectEncoding("C5 F9 D6 10", "vmovq %xmm2, (%rax)") { $0.emit(.vmovq, .mem(ptr(rax)), .xmm(.xmm2)) }
        expectEncoding("C4 E1 FB 2A C0", "vcvtsi2sd %rax, %xmm0, %xmm0") {
            $0.emit(.vcvtsi2sd, .xmm(.xmm0), .xmm(.xmm0), .gpr(rax))
        }
        expectEncoding("C5 F2 2A C9", "vcvtsi2ss %ecx, %xmm1, %xmm1") {
            $0.emit(.vcvtsi2ss, .xmm(.xmm1), .xmm(.xmm1), .gpr(.ecx))
        }
        expectEncoding("C4 61 B3 2A 0F", "vcvtsi2sdq (%rdi), %xmm9, %xmm9") {
            $0.emit(.vcvtsi2sd, .xmm(.xmm9), .xmm(.xmm9), .mem(ptr(rdi).qword))
        }
        expectEncoding("C5 EA 2A 17", "vcvtsi2ssl (%rdi), %xmm2, %xmm2") {
            $0.emit(.vcvtsi2ss, .xmm(.xmm2), .xmm(.xmm2), .mem(ptr(rdi).dword))
        }
        expectEncoding("C4 E1 FB 2C C0", "vcvttsd2si %xmm0, %rax") { $0.emit(.vcvttsd2si, .gpr(rax), .xmm(.xmm0)) }
        expectEncoding("C4 41 7A 2C C7", "vcvttss2si %xmm15, %r8d") { $0.emit(.vcvttss2si, .gpr(.r8d), .xmm(.xmm15)) }
        expectEncoding("C4 61 FB 2C 54 24 08", "vcvttsd2si 8(%rsp), %r10") {
            $0.emit(.vcvttsd2si, .gpr(r10), .mem(ptr(rsp, 8)))
        }
        expectEncoding("C4 E1 FB 2D C9", "vcvtsd2si %xmm1, %rcx") { $0.emit(.vcvtsd2si, .gpr(rcx), .xmm(.xmm1)) }
        expectEncoding("C5 F8 AE 54 24 04", "vldmxcsr 4(%rsp)") { $0.emit(.vldmxcsr, .mem(ptr(rsp, 4))) }
        expectEncoding("C4 C1 78 AE 1C 24", "vstmxcsr (%r12)") { $0.emit(.vstmxcsr, .mem(ptr(r12))) }
    }
}

@Suite("AVX instructions")
struct AssemblerAVXTests {
    @Test func arithmeticAndTheThreeByteVEX() {
        expectEncoding("C5 F4 58 C2", "vaddps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 F0 58 C2", "vaddps %xmm2, %xmm1, %xmm0") {
            $0.emit(.vaddps, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2))
        }
        // R: 2-byte VEX still fits.
        expectEncoding("C5 75 58 C2", "vaddpd %ymm2, %ymm1, %ymm8") {
            $0.emit(.vaddpd, .ymm(.ymm8), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 B4 58 C2", "vaddps %ymm2, %ymm9, %ymm0") {
            $0.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm9), .ymm(.ymm2))
        }  // vvvv high
        // B: 3-byte VEX.
        expectEncoding("C4 C1 74 58 C2", "vaddps %ymm10, %ymm1, %ymm0") {
            $0.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm10))
        }
        expectEncoding("C4 41 0C 59 FD", "vmulps %ymm13, %ymm14, %ymm15") {
            $0.emit(.vmulps, .ymm(.ymm15), .ymm(.ymm14), .ymm(.ymm13))
        }
        // X: 3-byte VEX.
        expectEncoding("C4 A1 6D 5C 0C A0", "vsubpd (%rax,%r12,4), %ymm2, %ymm1") {
            $0.emit(.vsubpd, .ymm(.ymm1), .ymm(.ymm2), .mem(ptr(rax, r12, 4)))
        }
        expectEncoding("C4 C1 6C 5E 4D 20", "vdivps 32(%r13), %ymm2, %ymm1") {
            $0.emit(.vdivps, .ymm(.ymm1), .ymm(.ymm2), .mem(ptr(r13, 32)))
        }
        expectEncoding("C5 D9 5D 5C 24 C0", "vminpd -64(%rsp), %xmm4, %xmm3") {
            $0.emit(.vminpd, .xmm(.xmm3), .xmm(.xmm4), .mem(ptr(rsp, -64)))
        }
        expectEncoding("C5 BC 5F BD 00 04 00 00", "vmaxps 1024(%rbp), %ymm8, %ymm7") {
            $0.emit(.vmaxps, .ymm(.ymm7), .ymm(.ymm8), .mem(ptr(rbp, 1024)))
        }
        expectEncoding("C4 C1 7C 51 C4", "vsqrtps %ymm12, %ymm0") { $0.emit(.vsqrtps, .ymm(.ymm0), .ymm(.ymm12)) }
        expectEncoding("C5 F9 51 0F", "vsqrtpd (%rdi), %xmm1") { $0.emit(.vsqrtpd, .xmm(.xmm1), .mem(ptr(rdi))) }
        expectEncoding("C5 FC 52 D3", "vrsqrtps %ymm3, %ymm2") { $0.emit(.vrsqrtps, .ymm(.ymm2), .ymm(.ymm3)) }
        expectEncoding("C5 F8 53 D3", "vrcpps %xmm3, %xmm2") { $0.emit(.vrcpps, .xmm(.xmm2), .xmm(.xmm3)) }
        expectEncoding("C5 FF 7C C1", "vhaddps %ymm1, %ymm0, %ymm0") {
            $0.emit(.vhaddps, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm1))
        }
        expectEncoding("C5 F9 7C C1", "vhaddpd %xmm1, %xmm0, %xmm0") {
            $0.emit(.vhaddpd, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm1))
        }
        expectEncoding("C4 E3 7D 08 C1 0B", "vroundps $11, %ymm1, %ymm0") {
            $0.emit(.vroundps, .ymm(.ymm0), .ymm(.ymm1), .imm(Int64(X86.Rounding.towardZero)))
        }
        expectEncoding("C5 FC 54 C1", "vandps %ymm1, %ymm0, %ymm0") {
            $0.emit(.vandps, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm1))
        }
        expectEncoding("C4 C1 35 55 DF", "vandnpd %ymm15, %ymm9, %ymm3") {
            $0.emit(.vandnpd, .ymm(.ymm3), .ymm(.ymm9), .ymm(.ymm15))
        }
        expectEncoding("C5 F0 56 06", "vorps (%rsi), %xmm1, %xmm0") {
            $0.emit(.vorps, .xmm(.xmm0), .xmm(.xmm1), .mem(ptr(rsi)))
        }
        expectEncoding("C4 41 3C 57 C0", "vxorps %ymm8, %ymm8, %ymm8") {
            $0.emit(.vxorps, .ymm(.ymm8), .ymm(.ymm8), .ymm(.ymm8))
        }
        expectEncoding("C5 FD 57 C0", "vxorpd %ymm0, %ymm0, %ymm0") {
            $0.emit(.vxorpd, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm0))
        }
    }

    @Test func moves() {
        expectEncoding("C5 FC 10 07", "vmovups (%rdi), %ymm0") { $0.emit(.vmovups, .ymm(.ymm0), .mem(ptr(rdi))) }
        expectEncoding("C5 FC 11 4F 20", "vmovups %ymm1, 32(%rdi)") {
            $0.emit(.vmovups, .mem(ptr(rdi, 32)), .ymm(.ymm1))
        }
        // Swapped to the store opcode: 2-byte VEX.
        expectEncoding("C5 7C 29 C0", "vmovaps %ymm8, %ymm0") {
            $0.emit(.vmovaps, .ymm(.ymm0), .ymm(.ymm8))
        }
        expectEncoding("C5 7C 28 C0", "vmovaps %ymm0, %ymm8") { $0.emit(.vmovaps, .ymm(.ymm8), .ymm(.ymm0)) }
        expectEncoding("C4 41 7C 28 C1", "vmovaps %ymm9, %ymm8") { $0.emit(.vmovaps, .ymm(.ymm8), .ymm(.ymm9)) }
        expectEncoding("C5 F9 10 0C 24", "vmovupd (%rsp), %xmm1") { $0.emit(.vmovupd, .xmm(.xmm1), .mem(ptr(rsp))) }
        expectEncoding("C4 C1 7D 29 14 C8", "vmovapd %ymm2, (%r8,%rcx,8)") {
            $0.emit(.vmovapd, .mem(ptr(r8, rcx, 8)), .ymm(.ymm2))
        }
        expectEncoding("C5 FE 6F 5D 00", "vmovdqu (%rbp), %ymm3") { $0.emit(.vmovdqu, .ymm(.ymm3), .mem(ptr(rbp))) }
        expectEncoding("C4 41 79 7F 2C 24", "vmovdqa %xmm13, (%r12)") {
            $0.emit(.vmovdqa, .mem(ptr(r12)), .xmm(.xmm13))
        }
        expectEncoding("C5 FC 2B 07", "vmovntps %ymm0, (%rdi)") { $0.emit(.vmovntps, .mem(ptr(rdi)), .ymm(.ymm0)) }
        expectEncoding("C5 7D 2B 4F 40", "vmovntpd %ymm9, 64(%rdi)") {
            $0.emit(.vmovntpd, .mem(ptr(rdi, 64)), .ymm(.ymm9))
        }
        expectEncoding("C5 F9 E7 08", "vmovntdq %xmm1, (%rax)") { $0.emit(.vmovntdq, .mem(ptr(rax)), .xmm(.xmm1)) }
        expectEncoding("C4 E2 7D 18 07", "vbroadcastss (%rdi), %ymm0") {
            $0.emit(.vbroadcastss, .ymm(.ymm0), .mem(ptr(rdi)))
        }
        expectEncoding("C4 C2 79 18 6D 04", "vbroadcastss 4(%r13), %xmm5") {
            $0.emit(.vbroadcastss, .xmm(.xmm5), .mem(ptr(r13, 4)))
        }
        expectEncoding("C4 E2 7D 19 0E", "vbroadcastsd (%rsi), %ymm1") {
            $0.emit(.vbroadcastsd, .ymm(.ymm1), .mem(ptr(rsi)))
        }
        expectEncoding("C4 E2 7D 1A 10", "vbroadcastf128 (%rax), %ymm2") {
            $0.emit(.vbroadcastf128, .ymm(.ymm2), .mem(ptr(rax)))
        }
        expectEncoding("C4 E2 75 2C 07", "vmaskmovps (%rdi), %ymm1, %ymm0") {
            $0.emit(.vmaskmovps, .ymm(.ymm0), .ymm(.ymm1), .mem(ptr(rdi)))
        }
        expectEncoding("C4 E2 75 2E 07", "vmaskmovps %ymm0, %ymm1, (%rdi)") {
            $0.emit(.vmaskmovps, .mem(ptr(rdi)), .ymm(.ymm1), .ymm(.ymm0))
        }
        expectEncoding("C4 42 31 2D 02", "vmaskmovpd (%r10), %xmm9, %xmm8") {
            $0.emit(.vmaskmovpd, .xmm(.xmm8), .xmm(.xmm9), .mem(ptr(r10)))
        }
        expectEncoding("C4 E2 0D 2F 54 24 08", "vmaskmovpd %ymm2, %ymm14, 8(%rsp)") {
            $0.emit(.vmaskmovpd, .mem(ptr(rsp, 8)), .ymm(.ymm14), .ymm(.ymm2))
        }
    }

    @Test func compareBlendTest() {
        expectEncoding("C5 F4 C2 C2 00", "vcmpeqps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vcmpps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .predicate(.eq))
        }
        expectEncoding("C5 F4 C2 C2 01", "vcmpltps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vcmpps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .predicate(.lt))
        }
        expectEncoding("C5 31 C2 07 03", "vcmpunordpd (%rdi), %xmm9, %xmm8") {
            $0.emit(.vcmppd, .xmm(.xmm8), .xmm(.xmm9), .mem(ptr(rdi)), .predicate(.unord))
        }
        expectEncoding("C5 DC C2 DD 1E", "vcmpgt_oqps %ymm5, %ymm4, %ymm3") {
            $0.emit(.vcmpps, .ymm(.ymm3), .ymm(.ymm4), .ymm(.ymm5), .predicate(.gtOQ))
        }
        expectEncoding("C4 E3 75 4A C2 30", "vblendvps %ymm3, %ymm2, %ymm1, %ymm0") {
            $0.emit(.vblendvps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .ymm(.ymm3))
        }
        // Is4 register in imm8[7:4].
        expectEncoding("C4 63 35 4B 00 C0", "vblendvpd %ymm12, (%rax), %ymm9, %ymm8") {
            $0.emit(.vblendvpd, .ymm(.ymm8), .ymm(.ymm9), .mem(ptr(rax)), .ymm(.ymm12))
        }
        expectEncoding("C4 E3 75 0C C2 A5", "vblendps $165, %ymm2, %ymm1, %ymm0") {
            $0.emit(.vblendps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .imm(0xA5))
        }
        expectEncoding("C4 E2 7D 17 C1", "vptest %ymm1, %ymm0") { $0.emit(.vptest, .ymm(.ymm0), .ymm(.ymm1)) }
        expectEncoding("C5 FC 50 C0", "vmovmskps %ymm0, %eax") { $0.emit(.vmovmskps, .gpr(.eax), .ymm(.ymm0)) }
        expectEncoding("C4 41 79 50 CA", "vmovmskpd %xmm10, %r9d") { $0.emit(.vmovmskpd, .gpr(.r9d), .xmm(.xmm10)) }
        expectEncoding("C5 FC 50 CB", "vmovmskps %ymm3, %ecx") { $0.emit(.vmovmskps, .gpr(rcx), .ymm(.ymm3)) }
        expectEncoding("C5 F8 77", "vzeroupper") { $0.emit(.vzeroupper) }
        expectEncoding("C5 FC 77", "vzeroall") { $0.emit(.vzeroall) }
    }

    @Test func shufflesAndConversions() {
        expectEncoding("C5 F4 C6 C2 1B", "vshufps $27, %ymm2, %ymm1, %ymm0") {
            $0.emit(.vshufps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .imm(0x1B))
        }
        expectEncoding("C5 F1 C6 07 01", "vshufpd $1, (%rdi), %xmm1, %xmm0") {
            $0.emit(.vshufpd, .xmm(.xmm0), .xmm(.xmm1), .mem(ptr(rdi)), .imm(1))
        }
        expectEncoding("C5 F4 14 C2", "vunpcklps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vunpcklps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 75 15 C2", "vunpckhpd %ymm2, %ymm1, %ymm8") {
            $0.emit(.vunpckhpd, .ymm(.ymm8), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 F8 12 C8", "vmovhlps %xmm0, %xmm0, %xmm1") {
            $0.emit(.vmovhlps, .xmm(.xmm1), .xmm(.xmm0), .xmm(.xmm0))
        }
        expectEncoding("C4 41 28 16 CB", "vmovlhps %xmm11, %xmm10, %xmm9") {
            $0.emit(.vmovlhps, .xmm(.xmm9), .xmm(.xmm10), .xmm(.xmm11))
        }
        expectEncoding("C4 E3 7D 04 C1 B1", "vpermilps $177, %ymm1, %ymm0") {
            $0.emit(.vpermilps, .ymm(.ymm0), .ymm(.ymm1), .imm(0xB1))
        }
        expectEncoding("C4 E3 79 05 00 01", "vpermilpd $1, (%rax), %xmm0") {
            $0.emit(.vpermilpd, .xmm(.xmm0), .mem(ptr(rax)), .imm(1))
        }
        expectEncoding("C4 E3 7D 19 C1 01", "vextractf128 $1, %ymm0, %xmm1") {
            $0.emit(.vextractf128, .xmm(.xmm1), .ymm(.ymm0), .imm(1))
        }
        expectEncoding("C4 63 7D 19 0F 01", "vextractf128 $1, %ymm9, (%rdi)") {
            $0.emit(.vextractf128, .mem(ptr(rdi)), .ymm(.ymm9), .imm(1))
        }
        expectEncoding("C4 E3 75 18 C2 01", "vinsertf128 $1, %xmm2, %ymm1, %ymm0") {
            $0.emit(.vinsertf128, .ymm(.ymm0), .ymm(.ymm1), .xmm(.xmm2), .imm(1))
        }
        expectEncoding("C4 E3 7D 18 06 01", "vinsertf128 $1, (%rsi), %ymm0, %ymm0") {
            $0.emit(.vinsertf128, .ymm(.ymm0), .ymm(.ymm0), .mem(ptr(rsi)), .imm(1))
        }
        expectEncoding("C4 E3 75 06 C2 21", "vperm2f128 $33, %ymm2, %ymm1, %ymm0") {
            $0.emit(.vperm2f128, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .imm(0x21))
        }
        expectEncoding("C5 FC 5B C1", "vcvtdq2ps %ymm1, %ymm0") { $0.emit(.vcvtdq2ps, .ymm(.ymm0), .ymm(.ymm1)) }
        expectEncoding("C5 FE 5B 07", "vcvttps2dq (%rdi), %ymm0") { $0.emit(.vcvttps2dq, .ymm(.ymm0), .mem(ptr(rdi))) }
        expectEncoding("C5 F9 5B DC", "vcvtps2dq %xmm4, %xmm3") { $0.emit(.vcvtps2dq, .xmm(.xmm3), .xmm(.xmm4)) }
        expectEncoding("C5 FC 5A C1", "vcvtps2pd %xmm1, %ymm0") { $0.emit(.vcvtps2pd, .ymm(.ymm0), .xmm(.xmm1)) }
        expectEncoding("C5 F8 5A 07", "vcvtps2pd (%rdi), %xmm0") { $0.emit(.vcvtps2pd, .xmm(.xmm0), .mem(ptr(rdi))) }
        expectEncoding("C5 FD 5A C1", "vcvtpd2ps %ymm1, %xmm0") { $0.emit(.vcvtpd2ps, .xmm(.xmm0), .ymm(.ymm1)) }
        expectEncoding("C5 FD 5A 07", "vcvtpd2psy (%rdi), %xmm0") {
            $0.emit(.vcvtpd2ps, .xmm(.xmm0), .mem(ptr(rdi).sized(.ymmword)))
        }
        expectEncoding("C5 F9 5A 07", "vcvtpd2psx (%rdi), %xmm0") {
            $0.emit(.vcvtpd2ps, .xmm(.xmm0), .mem(ptr(rdi).sized(.xmmword)))
        }
        expectEncoding("C4 C1 7E E6 D1", "vcvtdq2pd %xmm9, %ymm2") { $0.emit(.vcvtdq2pd, .ymm(.ymm2), .xmm(.xmm9)) }
        expectEncoding("C4 C1 7D E6 D1", "vcvttpd2dq %ymm9, %xmm2") { $0.emit(.vcvttpd2dq, .xmm(.xmm2), .ymm(.ymm9)) }
    }
}

@Suite("AVX2 instructions")
struct AssemblerAVX2Tests {
    @Test func integer() {
        expectEncoding("C5 F5 FE C2", "vpaddd %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpaddd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 F1 FE C2", "vpaddd %xmm2, %xmm1, %xmm0") {
            $0.emit(.vpaddd, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2))
        }
        expectEncoding("C5 35 D4 07", "vpaddq (%rdi), %ymm9, %ymm8") {
            $0.emit(.vpaddq, .ymm(.ymm8), .ymm(.ymm9), .mem(ptr(rdi)))
        }
        expectEncoding("C4 C1 7D FA C7", "vpsubd %ymm15, %ymm0, %ymm0") {
            $0.emit(.vpsubd, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm15))
        }
        expectEncoding("C5 F5 FB C9", "vpsubq %ymm1, %ymm1, %ymm1") {
            $0.emit(.vpsubq, .ymm(.ymm1), .ymm(.ymm1), .ymm(.ymm1))
        }
        expectEncoding("C4 E2 75 40 C2", "vpmulld %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpmulld, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 DD F4 5C 24 20", "vpmuludq 32(%rsp), %ymm4, %ymm3") {
            $0.emit(.vpmuludq, .ymm(.ymm3), .ymm(.ymm4), .mem(ptr(rsp, 32)))
        }
        expectEncoding("C5 F5 DB C2", "vpand %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpand, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 41 25 EB D4", "vpor %ymm12, %ymm11, %ymm10") {
            $0.emit(.vpor, .ymm(.ymm10), .ymm(.ymm11), .ymm(.ymm12))
        }
        expectEncoding("C5 F9 EF C0", "vpxor %xmm0, %xmm0, %xmm0") {
            $0.emit(.vpxor, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm0))
        }
        expectEncoding("C5 F5 DF C2", "vpandn %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpandn, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 FD 76 C0", "vpcmpeqd %ymm0, %ymm0, %ymm0") {
            $0.emit(.vpcmpeqd, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm0))
        }
        expectEncoding("C4 E2 6D 29 CB", "vpcmpeqq %ymm3, %ymm2, %ymm1") {
            $0.emit(.vpcmpeqq, .ymm(.ymm1), .ymm(.ymm2), .ymm(.ymm3))
        }
        expectEncoding("C5 D5 66 20", "vpcmpgtd (%rax), %ymm5, %ymm4") {
            $0.emit(.vpcmpgtd, .ymm(.ymm4), .ymm(.ymm5), .mem(ptr(rax)))
        }
        expectEncoding("C4 62 55 37 E6", "vpcmpgtq %ymm6, %ymm5, %ymm12") {
            $0.emit(.vpcmpgtq, .ymm(.ymm12), .ymm(.ymm5), .ymm(.ymm6))
        }
        expectEncoding("C4 E2 7D 1E C1", "vpabsd %ymm1, %ymm0") { $0.emit(.vpabsd, .ymm(.ymm0), .ymm(.ymm1)) }
        expectEncoding("C4 E2 75 39 C2", "vpminsd %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpminsd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 C2 75 3D 45 00", "vpmaxsd (%r13), %ymm1, %ymm0") {
            $0.emit(.vpmaxsd, .ymm(.ymm0), .ymm(.ymm1), .mem(ptr(r13)))
        }
        expectEncoding("C4 E3 75 4C C2 30", "vpblendvb %ymm3, %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpblendvb, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .ymm(.ymm3))
        }
        expectEncoding("C4 E3 75 02 C2 F0", "vpblendd $240, %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpblendd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .imm(0xF0))
        }
        expectEncoding("C5 FD 72 F1 17", "vpslld $23, %ymm1, %ymm0") {
            $0.emit(.vpslld, .ymm(.ymm0), .ymm(.ymm1), .imm(23))
        }
        expectEncoding("C4 C1 35 73 D2 20", "vpsrlq $32, %ymm10, %ymm9") {
            $0.emit(.vpsrlq, .ymm(.ymm9), .ymm(.ymm10), .imm(32))
        }
        expectEncoding("C5 F5 E2 C2", "vpsrad %xmm2, %ymm1, %ymm0") {
            $0.emit(.vpsrad, .ymm(.ymm0), .ymm(.ymm1), .xmm(.xmm2))
        }
        expectEncoding("C4 E2 75 47 C2", "vpsllvd %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpsllvd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 F5 45 07", "vpsrlvq (%rdi), %ymm1, %ymm0") {
            $0.emit(.vpsrlvq, .ymm(.ymm0), .ymm(.ymm1), .mem(ptr(rdi)))
        }
        expectEncoding("C4 E2 71 46 C2", "vpsravd %xmm2, %xmm1, %xmm0") {
            $0.emit(.vpsravd, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2))
        }
    }

    @Test func broadcastsPermutesMaskedMoves() {
        expectEncoding("C4 E2 7D 18 C1", "vbroadcastss %xmm1, %ymm0") {
            $0.emit(.vbroadcastss, .ymm(.ymm0), .xmm(.xmm1))
        }
        expectEncoding("C4 C2 7D 19 C1", "vbroadcastsd %xmm9, %ymm0") {
            $0.emit(.vbroadcastsd, .ymm(.ymm0), .xmm(.xmm9))
        }
        expectEncoding("C4 E2 7D 58 C1", "vpbroadcastd %xmm1, %ymm0") {
            $0.emit(.vpbroadcastd, .ymm(.ymm0), .xmm(.xmm1))
        }
        expectEncoding("C4 62 7D 59 07", "vpbroadcastq (%rdi), %ymm8") {
            $0.emit(.vpbroadcastq, .ymm(.ymm8), .mem(ptr(rdi)))
        }
        expectEncoding("C4 E3 FD 00 C1 1B", "vpermq $27, %ymm1, %ymm0") {
            $0.emit(.vpermq, .ymm(.ymm0), .ymm(.ymm1), .imm(0x1B))
        }
        expectEncoding("C4 E3 FD 01 00 4E", "vpermpd $78, (%rax), %ymm0") {
            $0.emit(.vpermpd, .ymm(.ymm0), .mem(ptr(rax)), .imm(0x4E))
        }
        expectEncoding("C4 E2 75 36 C2", "vpermd %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpermd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 62 75 16 0E", "vpermps (%rsi), %ymm1, %ymm9") {
            $0.emit(.vpermps, .ymm(.ymm9), .ymm(.ymm1), .mem(ptr(rsi)))
        }
        expectEncoding("C4 E3 75 46 C2 20", "vperm2i128 $32, %ymm2, %ymm1, %ymm0") {
            $0.emit(.vperm2i128, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2), .imm(0x20))
        }
        expectEncoding("C4 E3 75 38 C2 01", "vinserti128 $1, %xmm2, %ymm1, %ymm0") {
            $0.emit(.vinserti128, .ymm(.ymm0), .ymm(.ymm1), .xmm(.xmm2), .imm(1))
        }
        expectEncoding("C4 E3 7D 39 C8 01", "vextracti128 $1, %ymm1, %xmm0") {
            $0.emit(.vextracti128, .xmm(.xmm0), .ymm(.ymm1), .imm(1))
        }
        expectEncoding("C4 E2 75 8C 07", "vpmaskmovd (%rdi), %ymm1, %ymm0") {
            $0.emit(.vpmaskmovd, .ymm(.ymm0), .ymm(.ymm1), .mem(ptr(rdi)))
        }
        expectEncoding("C4 E2 F5 8E 17", "vpmaskmovq %ymm2, %ymm1, (%rdi)") {
            $0.emit(.vpmaskmovq, .mem(ptr(rdi)), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 7D 2A 06", "vmovntdqa (%rsi), %ymm0") { $0.emit(.vmovntdqa, .ymm(.ymm0), .mem(ptr(rsi))) }
        expectEncoding("C5 FD 70 C1 4E", "vpshufd $78, %ymm1, %ymm0") {
            $0.emit(.vpshufd, .ymm(.ymm0), .ymm(.ymm1), .imm(0x4E))
        }
        expectEncoding("C4 E2 75 00 C2", "vpshufb %ymm2, %ymm1, %ymm0") {
            $0.emit(.vpshufb, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C5 FD D7 C3", "vpmovmskb %ymm3, %eax") { $0.emit(.vpmovmskb, .gpr(.eax), .ymm(.ymm3)) }
    }
}

@Suite("FMA instructions")
struct AssemblerFMATests {
    @Test func packedAndScalar() {
        expectEncoding("C4 E2 75 B8 C2", "vfmadd231ps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vfmadd231ps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 F5 B8 C2", "vfmadd231pd %ymm2, %ymm1, %ymm0") {
            $0.emit(.vfmadd231pd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 71 B8 04 8F", "vfmadd231ps (%rdi,%rcx,4), %xmm1, %xmm0") {
            $0.emit(.vfmadd231ps, .xmm(.xmm0), .xmm(.xmm1), .mem(ptr(rdi, rcx, 4)))
        }
        expectEncoding("C4 42 35 A8 C2", "vfmadd213ps %ymm10, %ymm9, %ymm8") {
            $0.emit(.vfmadd213ps, .ymm(.ymm8), .ymm(.ymm9), .ymm(.ymm10))
        }
        expectEncoding("C4 42 FD A8 7C 24 40", "vfmadd213pd 64(%r12), %ymm0, %ymm15") {
            $0.emit(.vfmadd213pd, .ymm(.ymm15), .ymm(.ymm0), .mem(ptr(r12, 64)))
        }
        expectEncoding("C4 E2 75 98 C2", "vfmadd132ps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vfmadd132ps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 D9 98 DD", "vfmadd132pd %xmm5, %xmm4, %xmm3") {
            $0.emit(.vfmadd132pd, .xmm(.xmm3), .xmm(.xmm4), .xmm(.xmm5))
        }
        expectEncoding("C4 E2 75 BC C2", "vfnmadd231ps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vfnmadd231ps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 8D BC 65 00", "vfnmadd231pd (%rbp), %ymm14, %ymm4") {
            $0.emit(.vfnmadd231pd, .ymm(.ymm4), .ymm(.ymm14), .mem(ptr(rbp)))
        }
        expectEncoding("C4 E2 75 BA C2", "vfmsub231ps %ymm2, %ymm1, %ymm0") {
            $0.emit(.vfmsub231ps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 F5 AE C2", "vfnmsub213pd %ymm2, %ymm1, %ymm0") {
            $0.emit(.vfnmsub213pd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
        }
        expectEncoding("C4 E2 71 B9 C2", "vfmadd231ss %xmm2, %xmm1, %xmm0") {
            $0.emit(.vfmadd231ss, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2))
        }
        expectEncoding("C4 E2 F1 B9 06", "vfmadd231sd (%rsi), %xmm1, %xmm0") {
            $0.emit(.vfmadd231sd, .xmm(.xmm0), .xmm(.xmm1), .mem(ptr(rsi)))
        }
        expectEncoding("C4 42 29 A9 CB", "vfmadd213ss %xmm11, %xmm10, %xmm9") {
            $0.emit(.vfmadd213ss, .xmm(.xmm9), .xmm(.xmm10), .xmm(.xmm11))
        }
        expectEncoding("C4 E2 E9 A9 CB", "vfmadd213sd %xmm3, %xmm2, %xmm1") {
            $0.emit(.vfmadd213sd, .xmm(.xmm1), .xmm(.xmm2), .xmm(.xmm3))
        }
        expectEncoding("C4 E2 E9 9D CB", "vfnmadd132sd %xmm3, %xmm2, %xmm1") {
            $0.emit(.vfnmadd132sd, .xmm(.xmm1), .xmm(.xmm2), .xmm(.xmm3))
        }
    }
}

@Suite("Labels, fix-ups, alignment, data section")
struct AssemblerLabelTests {
    @Test func backwardBranchesAreShortWhenTheyReach() throws {
        var a = X86Assembler()
        let top = a.newLabel()
        a.bind(top)
        a.dec(rcx)  // 48 FF C9
        a.j(.ne, top)  // rel8 = 0 - 5
        a.jmp(top)  // rel8 = 0 - 7
        #expect(hex(try a.finalize()) == "48 FF C9 75 FB EB F9")
        #expect(a.offset(of: top) == 0)
    }

    @Test func forwardBranchesAreRel32UnlessAskedShort() throws {
        var a = X86Assembler()
        let done = a.newLabel()
        a.j(.e, done)  // 0F 84 rel32 = 12 - 6
        a.jmp(done)  // E9 rel32 = 12 - 11
        a.jmp(done, short: true)  // EB rel8 = 12 - 13... bound below, after one nop
        a.call(done)
        a.emit(.nop)
        a.bind(done)
        a.ret()
        // j: 0..6, jmp: 6..11, jmp short: 11..13, call: 13..18, nop: 18, done = 19.
        #expect(hex(try a.finalize()) == "0F 84 0D 00 00 00 E9 08 00 00 00 EB 06 E8 01 00 00 00 90 C3")
        #expect(a.offset(of: done) == 19)
    }

    @Test func backwardBranchBeyondRel8UsesRel32() throws {
        var a = X86Assembler()
        let top = a.newLabel()
        a.bind(top)
        a.embed(Array(repeating: 0x90, count: 200))
        a.jmp(top)  // E9, rel32 = 0 - 205
        a.j(.l, top)  // 0F 8C, rel32 = 0 - 211
        let bytes = try a.finalize()
        #expect(hex(bytes[200...]) == "E9 33 FF FF FF 0F 8C 2D FF FF FF")
    }

    @Test func shortBranchOutOfReachIsReported() {
        var forward = X86Assembler()
        let far = forward.newLabel()
        forward.jmp(far, short: true)
        forward.embed(Array(repeating: 0x90, count: 128))
        forward.bind(far)
        #expect(throws: X86AssemblerError.branchOutOfRange(label: far.id, at: 1, distance: 128)) {
            try forward.finalize()
        }

        var backward = X86Assembler()
        let top = backward.newLabel()
        backward.bind(top)
        backward.embed(Array(repeating: 0x90, count: 127))
        backward.j(.ne, top, short: true)  // would need -129
        #expect(throws: X86AssemblerError.branchOutOfRange(label: top.id, at: 128, distance: -129)) {
            try backward.finalize()
        }
    }

    @Test func ripRelativeIsMeasuredFromTheEndOfTheInstruction() throws {
        var a = X86Assembler()
        let here = a.newLabel()
        a.bind(here)
        a.lea(rax, .ptr(here))  // 48 8D 05, disp = 0 - 7
        a.lea(r12, .ptr(here, 8))  // 4C 8D 25, disp = 8 - 14
        #expect(hex(try a.finalize()) == "48 8D 05 F9 FF FF FF 4C 8D 25 FA FF FF FF")
    }

    @Test func ripRelativeConstantWithTrailingImmediate() throws {
        var a = X86Assembler()
        let threshold = a.constant(float32: Array(repeating: 0.5, count: 8))
        // The displacement counts from after the imm8: 32 - 9.
        a.emit(.vcmpps, .ymm(.ymm0), .ymm(.ymm1), .mem(.ptr(threshold)), .predicate(.lt))
        a.ret()
        let bytes = try a.finalize()
        #expect(hex(bytes[0..<10]) == "C5 F4 C2 05 17 00 00 00 01 C3")
        #expect(bytes[10..<32].allSatisfy { $0 == 0xCC })  // int3 padding up to the 32-byte aligned constant
        #expect(hex(bytes[32..<36]) == "00 00 00 3F")  // 0.5f
        #expect(bytes.count == 64)
        #expect(a.offset(of: threshold) == 32)
        #expect(a.requiredAlignment == 32)
    }

    @Test func constantsAreDeduplicatedAndAlignedLargestFirst() throws {
        var a = X86Assembler()
        let small = a.constant(int32: [1, 2, 3, 4], alignment: 16)
        let again = a.constant(bytes: [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0], alignment: 16)
        let wide = a.constant(float64: [1, 2, 3, 4])
        let signMask = a.constant(int64: [Int64.max], alignment: 8)
        #expect(small == again)
        #expect(small != wide)
        a.ret()
        let bytes = try a.finalize()
        #expect(a.offset(of: wide) == 32)
        #expect(a.offset(of: small) == 64)
        #expect(a.offset(of: signMask) == 80)
        #expect(bytes.count == 88)
        #expect(hex(bytes[32..<40]) == "00 00 00 00 00 00 F0 3F")  // 1.0
        #expect(hex(bytes[80..<88]) == "FF FF FF FF FF FF FF 7F")
    }

    @Test func alignPadsWithLongNops() throws {
        var a = X86Assembler()
        a.emit(.int3)
        a.align(16)  // 15 bytes: a 9-byte and a 6-byte NOP
        a.ret()
        a.align(8)  // 7 bytes
        a.emit(.nop)
        a.align(4)  // 3
        a.emit(.nop)
        a.align(2)  // 1
        a.align(64)  // 34: three 9-byte NOPs and a 7-byte one
        let bytes = try a.finalize()
        let expected = """
            CC 66 0F 1F 84 00 00 00 00 00 66 0F 1F 44 00 00 C3 0F 1F 80 00 00 00 00 \
            90 0F 1F 00 90 90 \
            66 0F 1F 84 00 00 00 00 00 66 0F 1F 84 00 00 00 00 00 \
            66 0F 1F 84 00 00 00 00 00 0F 1F 80 00 00 00 00
            """
        #expect(hex(bytes) == hex(parseHex(expected)))
        #expect(bytes.count == 64)
        #expect(a.requiredAlignment == 64)
    }

    @Test func finalizeIsIdempotentAndFreezes() throws {
        var a = X86Assembler()
        a.ret()
        let first = try a.finalize()
        #expect(try a.finalize() == first)
        a.emit(.nop)
        #expect(throws: X86AssemblerError.alreadyFinalized) { try a.finalize() }
    }

    @Test func listingIsAssemblySource() throws {
        var a = X86Assembler(listing: true)
        let loop = a.newLabel()
        let one = a.constant(float32: [1], alignment: 4)
        a.bind(loop)
        a.emit(.vaddss, .xmm(.xmm0), .xmm(.xmm0), .mem(.ptr(one)))
        a.sub(rdi, 1)
        a.j(.ne, loop)
        a.ret()
        _ = try a.finalize()
        let expected = """
            .L0:
            \tvaddss .L1(%rip), %xmm0, %xmm0
            \tsubq $1, %rdi
            \tjne .L0
            \tretq
            \t.p2align 2, 0xcc
            .L1:
            \t.byte 0x0, 0x0, 0x80, 0x3f

            """
        #expect(a.listingText == expected)
        #expect(a.listing.map(\.offset) == [0, 0, 8, 12, 14, 15, 16, 16])
    }
}

@Suite("Misuse is reported, never trapped")
struct AssemblerErrorTests {
    /// Emits `body` into a fresh assembler and returns the error `finalize()` throws (nil if none), after checking
    /// that the failed instruction left no bytes behind.
    func error(_ body: (inout X86Assembler) -> Void) -> X86AssemblerError? {
        var a = X86Assembler(listing: true)
        body(&a)
        #expect(a.code.isEmpty)
        #expect(!a.listing.contains { $0.kind == .instruction })
        do {
            _ = try a.finalize()
            return nil
        } catch {
            return error
        }
    }

    @Test func invalidMemoryOperands() {
        #expect(
            error { $0.mov(rax, ptr(rax, rsp, 1)) }
                == .invalidMemoryOperand(reason: "rsp cannot be an index register", offset: 0))
        #expect(
            error { $0.mov(rax, ptr(rax, rcx, 3)) }
                == .invalidMemoryOperand(reason: "the scale must be 1, 2, 4 or 8", offset: 0))
        #expect(
            error { $0.mov(rax, ptr(.eax)) }
                == .invalidMemoryOperand(reason: "the base register must be 64-bit", offset: 0))
        #expect(
            error { $0.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm0), .mem(ptr(rax, .ecx, 4))) }
                == .invalidMemoryOperand(reason: "the index register must be 64-bit", offset: 0))
        var scaledWithoutIndex = X86.Mem.ptr(rax, 4)
        scaledWithoutIndex.scale = 2
        #expect(
            error { $0.mov(rax, scaledWithoutIndex) }
                == .invalidMemoryOperand(reason: "a scale needs an index register", offset: 0))
        #expect(
            error {
                let label = $0.newLabel()
                $0.bind(label)
                var memory = X86.Mem.ptr(label)
                memory.base = rax
                $0.mov(rax, memory)
            }
                == .invalidMemoryOperand(
                    reason: "a rip-relative operand cannot also have a base or index register", offset: 0))
    }

    @Test func invalidOperandCombinations() {
        #expect(
            error { $0.add(rax, .ecx) }
                == .invalidOperands(instruction: "add", reason: "operand widths differ", offset: 0))
        #expect(
            error { $0.emit(.add, .mem(ptr(rax)), .imm(1)) }
                == .invalidOperands(
                    instruction: "add", reason: "the memory operand needs a width (.byte, .word, .dword or .qword)",
                    offset: 0))
        #expect(
            error { $0.mov(ptr(rax).dword, rcx) }
                == .invalidOperands(
                    instruction: "mov", reason: "the memory operand's width differs from the register's", offset: 0))
        #expect(
            error { $0.emit(.movzx, .gpr(.eax), .gpr(.eax)) }
                == .invalidOperands(
                    instruction: "movzx", reason: "extends a byte or word source into a wider register", offset: 0))
        #expect(
            error { $0.set(.e, .eax) }
                == .invalidOperands(
                    instruction: "setcc", reason: "expects a byte register or memory operand", offset: 0))
        #expect(
            error { $0.emit(.shl, .gpr(rax), .gpr(.dl)) }
                == .invalidOperands(instruction: "shl", reason: "the count must be an immediate or cl", offset: 0))
        #expect(
            error { $0.push(.eax) }
                == .invalidOperands(instruction: "push", reason: "expects a 64-bit register", offset: 0))
        #expect(
            error { $0.emit(.lea, .gpr(rax), .gpr(rcx)) }
                == .invalidOperands(instruction: "lea", reason: "the source must be a memory operand", offset: 0))
        #expect(
            error { $0.imul(.al, .cl) }
                == .invalidOperands(
                    instruction: "imul", reason: "expects (16/32/64-bit reg, reg or mem[, imm])", offset: 0))
        #expect(
            error { $0.emit(.vmovd, .xmm(.xmm0), .gpr(rax)) }
                == .invalidOperands(
                    instruction: "vmovd", reason: "moves to or from a 32-bit register (vmovq for 64-bit)", offset: 0))
        #expect(
            error { $0.emit(.vmovq, .xmm(.xmm0), .gpr(.eax)) }
                == .invalidOperands(instruction: "vmovq", reason: "moves to or from a 64-bit register", offset: 0))
        #expect(
            error { $0.emit(.vcvtsi2ss, .xmm(.xmm0), .xmm(.xmm0), .gpr(.cl)) }
                == .invalidOperands(
                    instruction: "vcvtsi2ss", reason: "takes 32- or 64-bit general-purpose registers", offset: 0))
        #expect(
            error { $0.emit(.vmovmskps, .gpr(.ax), .ymm(.ymm0)) }
                == .invalidOperands(
                    instruction: "vmovmskps", reason: "takes 32- or 64-bit general-purpose registers", offset: 0))
        #expect(
            error { $0.emit(.vcvtsi2sd, .xmm(.xmm0), .xmm(.xmm0), .mem(ptr(rdi))) }
                == .invalidOperands(
                    instruction: "vcvtsi2sd", reason: "the memory source needs a width (.dword or .qword)", offset: 0))
        #expect(
            error { $0.emit(.vaddps, .gpr(rax), .ymm(.ymm0), .ymm(.ymm1)) }
                == .invalidOperands(instruction: "vaddps", reason: "does not take general-purpose registers", offset: 0)
        )
        #expect(
            error { $0.emit(.vmovntps, .ymm(.ymm0), .ymm(.ymm1)) }
                == .invalidOperands(instruction: "vmovntps", reason: "needs a memory operand", offset: 0))
        #expect(
            error { $0.emit(.vpslld, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2)) }
                == .invalidOperands(instruction: "vpslld", reason: "the shift count is an XMM register", offset: 0))
        #expect(
            error { $0.emit(.add, .gpr(rax), .none, .gpr(rcx)) }
                == .invalidOperands(instruction: "add", reason: "operands must be given without gaps", offset: 0))
        #expect(
            error { $0.emit(.jcc, .label($0.newLabel())) }
                == .invalidOperands(instruction: "jcc", reason: "needs a condition", offset: 0))
        #expect(
            error { $0.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm1)) }
                == .invalidOperands(instruction: "vaddps", reason: "takes 3 operands", offset: 0))
    }

    @Test func immediatesOutOfRange() {
        #expect(
            error { $0.add(rax, 0x1_0000_0000) }
                == .immediateOutOfRange(instruction: "add", value: 0x1_0000_0000, offset: 0))
        #expect(
            error { $0.add(rax, 0xFFFF_FFFF) }
                == .immediateOutOfRange(instruction: "add", value: 0xFFFF_FFFF, offset: 0))
        #expect(error { $0.add(.al, 256) } == .immediateOutOfRange(instruction: "add", value: 256, offset: 0))
        #expect(error { $0.mov(.cx, -0x8001) } == .immediateOutOfRange(instruction: "mov", value: -0x8001, offset: 0))
        #expect(
            error { $0.mov(ptr(rax).qword, 1 << 40) }
                == .immediateOutOfRange(instruction: "mov", value: 1 << 40, offset: 0))
        #expect(error { $0.shl(rax, 64) } == .immediateOutOfRange(instruction: "shl", value: 64, offset: 0))
        #expect(error { $0.shr(.eax, 32) } == .immediateOutOfRange(instruction: "shr", value: 32, offset: 0))
        #expect(
            error { $0.emit(.vshufps, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm0), .imm(256)) }
                == .immediateOutOfRange(instruction: "vshufps", value: 256, offset: 0))
    }

    @Test func labelMisuse() {
        var unbound = X86Assembler()
        let nowhere = unbound.newLabel()
        unbound.emit(.nop)
        unbound.jmp(nowhere)
        #expect(throws: X86AssemblerError.unboundLabel(label: nowhere.id, referencedAt: 2)) { try unbound.finalize() }

        var twice = X86Assembler()
        let label = twice.newLabel()
        twice.bind(label)
        twice.bind(label)
        #expect(throws: X86AssemblerError.labelAlreadyBound(label: label.id)) { try twice.finalize() }

        var constantBound = X86Assembler()
        let constant = constantBound.constant(bytes: [1])
        constantBound.bind(constant)
        #expect(throws: X86AssemblerError.labelAlreadyBound(label: constant.id)) { try constantBound.finalize() }

        var other = X86Assembler()
        let foreign = other.newLabel()
        #expect(error { $0.jmp(foreign) } == .foreignLabel(offset: 0))
        #expect(error { $0.emit(.vmovups, .ymm(.ymm0), .mem(.ptr(foreign))) } == .foreignLabel(offset: 0))
        #expect(error { $0.bind(foreign) } == .foreignLabel(offset: 0))
    }

    @Test func alignmentMisuse() {
        #expect(error { $0.align(3) } == .invalidAlignment(3))
        #expect(error { $0.align(8192) } == .invalidAlignment(8192))
        #expect(error { _ = $0.constant(bytes: [0], alignment: 24) } == .invalidAlignment(24))
    }

    @Test func firstErrorIsKeptAndLaterInstructionsStillEmit() {
        var a = X86Assembler()
        a.ret()
        a.add(rax, .ecx)
        a.shl(rax, 99)
        a.ret()
        #expect(a.code == [0xC3, 0xC3])
        #expect(a.firstError == .invalidOperands(instruction: "add", reason: "operand widths differ", offset: 1))
        #expect(throws: X86AssemblerError.self) { try a.finalize() }
    }
}

@Suite("Operands and required CPU features")
struct AssemblerOperandTests {
    @Test func registers() {
        #expect(X86.GPR(number: 16) == nil)
        #expect(X86.GPR(number: -1) == nil)
        #expect(X86.GPR(number: 3, width: .xmmword) == nil)
        #expect(X86.GPR(number: 12, width: .dword) == .r12d)
        #expect(X86.GPR.r9.r8 == .r9b)
        #expect(X86.GPR.sil.r64 == .rsi)
        #expect("\(X86.GPR.spl) \(X86.GPR.r10w) \(X86.GPR.eax) \(X86.GPR.r15)" == "%spl %r10w %eax %r15")
        #expect(X86.YMM(number: 16) == nil)
        #expect(X86.YMM.ymm9.xmm == .xmm9)
        #expect(X86.XMM.all.count == 16 && X86.YMM.all[15] == .ymm15)
        #expect(X86.Condition.e.inverted == .ne && X86.Condition.l.inverted == .ge && X86.Condition.a.inverted == .be)
        #expect(X86.Condition.z == .e && X86.Condition.nae == .b)
    }

    @Test func requiredFeatures() {
        func features(_ body: (inout X86Assembler) -> Void) -> X86.Features {
            var a = X86Assembler()
            body(&a)
            return a.requiredFeatures
        }
        #expect(features { $0.add(rax, rcx) } == [])
        #expect(features { $0.emit(.popcnt, .gpr(rax), .gpr(rcx)) } == .popcnt)
        #expect(features { $0.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2)) } == .avx)
        #expect(features { $0.emit(.vpaddd, .xmm(.xmm0), .xmm(.xmm1), .xmm(.xmm2)) } == .avx)
        #expect(features { $0.emit(.vpaddd, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2)) } == [.avx, .avx2])
        #expect(features { $0.emit(.vbroadcastss, .ymm(.ymm0), .mem(ptr(rdi))) } == .avx)
        #expect(features { $0.emit(.vbroadcastss, .ymm(.ymm0), .xmm(.xmm1)) } == [.avx, .avx2])
        #expect(features { $0.emit(.vpermq, .ymm(.ymm0), .ymm(.ymm1), .imm(0)) } == [.avx, .avx2])
        #expect(features { $0.emit(.vfmadd231ps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2)) } == [.avx, .fma])
        #expect(
            features {
                $0.emit(.vfmadd231ps, .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2))
                $0.emit(.lzcnt, .gpr(rax), .gpr(rax))
            } == [.avx, .fma, .lzcnt])
    }
}
