// The hand-encoded AVX2 gathers (X86Assembler+Gather.swift) against llvm-mc's bytes for the same
// instructions (AT&T: `vgatherqpd %mask, (%base,%index,scale), %dst`), including extended registers
// on every field and a base that needs a displacement byte (r13).

import Testing

@testable import VecVM

@Suite struct GatherEncodingTests {
    @Test func gathersEncodeAsLLVMDoes() {
        func bytes(_ kind: GatherKind, _ d: Int, _ i: Int, _ m: Int, _ base: X86.GPR, wide: Bool = true) -> String {
            X86TestSupport.hex(
                X86Assembler.gatherBytes(kind, destination: d, index: i, mask: m, base: base, wide: wide))
        }
        // vgatherqpd %ymm13, (%r11,%ymm14,8), %ymm15
        #expect(bytes(.qpd, 15, 14, 13, .r11) == "C4 02 95 93 3C F3")
        // vgatherdpd %ymm15, (%r11,%xmm14,8), %ymm13
        #expect(bytes(.dpd, 13, 14, 15, .r11) == "C4 02 85 92 2C F3")
        // vgatherdps %ymm15, (%r11,%ymm14,4), %ymm13
        #expect(bytes(.dps, 13, 14, 15, .r11) == "C4 02 05 92 2C B3")
        // vgatherdps %xmm15, (%r11,%xmm14,4), %xmm13
        #expect(bytes(.dps, 13, 14, 15, .r11, wide: false) == "C4 02 01 92 2C B3")
        // vgatherqpd %ymm1, (%rax,%ymm2,8), %ymm3
        #expect(bytes(.qpd, 3, 2, 1, .rax) == "C4 E2 F5 93 1C D0")
        // vgatherdpd %ymm0, (%r13,%xmm9,8), %ymm8
        #expect(bytes(.dpd, 8, 9, 0, .r13) == "C4 02 FD 92 44 CD 00")
    }
}
