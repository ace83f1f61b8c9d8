// EVEX (AVX-512) encodings of the 512-bit kernels (Assembler/X86Assembler+EVEX.swift), pinned byte for
// byte. The expected bytes were produced by `llvm-mc --show-encoding
// -mattr=+avx512f,+avx512dq,+avx512vl,+avx512bw` from the AT&T text beside each case ({evex} where llvm-mc would pick VEX; llvm-mc is not
// needed to run these tests): registers 16–31 (EVEX.R', X, V'), opmasks with merging and zeroing,
// compressed disp8·N displacements, rsp/r12/r13 bases, VSIB gathers, and the VEX opmask instructions.

import Testing

@testable import VecVM

@Suite("EVEX encoding")
struct EVEXEncodingTests {
    typealias Case = (emit: @Sendable (inout X86Assembler) -> Void, att: String, bytes: [UInt8])

    static let cases: [Case] = [
        (
            { a in a.evex(.vaddps, reg: 2, vvvv: 1, rm: .memory(X86.ptr(.rsi, index: .r9, scale: 4, 128)), bits: 512) },
            "vaddps 128(%rsi,%r9,4), %zmm1, %zmm2", [0x62, 0xb1, 0x74, 0x48, 0x58, 0x54, 0x8e, 0x02]
        ),
        (
            { a in
                a.evex(
                    .vaddps, reg: 30, vvvv: 17, rm: .memory(X86.ptr(.rsi, index: .r9, scale: 4, 128)), bits: 512,
                    mask: 1)
            }, "vaddps 128(%rsi,%r9,4), %zmm17, %zmm30 {%k1}", [0x62, 0x21, 0x74, 0x41, 0x58, 0x74, 0x8e, 0x02]
        ),
        (
            { a in a.evex(.vaddpd, reg: 3, vvvv: 20, rm: .register(29), bits: 256) }, "vaddpd %ymm29, %ymm20, %ymm3",
            [0x62, 0x91, 0xdd, 0x20, 0x58, 0xdd]
        ),
        (
            { a in a.evex(.vsubps, reg: 12, vvvv: 8, rm: .memory(X86.ptr(.rsp, 100)), bits: 512) },
            "vsubps 100(%rsp), %zmm8, %zmm12", [0x62, 0x71, 0x3c, 0x48, 0x5c, 0xa4, 0x24, 0x64, 0x00, 0x00, 0x00]
        ),
        (
            { a in a.evex(.vsubpd, reg: 0, vvvv: 1, rm: .memory(X86.ptr(.rsp, -128)), bits: 512) },
            "vsubpd -128(%rsp), %zmm1, %zmm0", [0x62, 0xf1, 0xf5, 0x48, 0x5c, 0x44, 0x24, 0xfe]
        ),
        (
            { a in a.evex(.vmulps, reg: 16, vvvv: 31, rm: .memory(X86.ptr(.r13)), bits: 512) },
            "vmulps (%r13), %zmm31, %zmm16", [0x62, 0xc1, 0x04, 0x40, 0x59, 0x45, 0x00]
        ),
        (
            { a in a.evex(.vmulpd, reg: 7, vvvv: 7, rm: .memory(X86.ptr(.r12, 8192)), bits: 512) },
            "vmulpd 8192(%r12), %zmm7, %zmm7", [0x62, 0xd1, 0xc5, 0x48, 0x59, 0xbc, 0x24, 0x00, 0x20, 0x00, 0x00]
        ),
        (
            { a in a.evex(.vdivps, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vdivps %zmm3, %zmm2, %zmm1",
            [0x62, 0xf1, 0x6c, 0x48, 0x5e, 0xcb]
        ),
        (
            { a in a.evex(.vdivpd, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vdivpd %zmm3, %zmm2, %zmm1",
            [0x62, 0xf1, 0xed, 0x48, 0x5e, 0xcb]
        ),
        (
            { a in a.evex(.vminps, reg: 9, vvvv: 9, rm: .register(20), bits: 512, mask: 1) },
            "vminps %zmm20, %zmm9, %zmm9 {%k1}", [0x62, 0x31, 0x34, 0x49, 0x5d, 0xcc]
        ),
        (
            { a in a.evex(.vminpd, reg: 9, vvvv: 9, rm: .register(20), bits: 512) }, "vminpd %zmm20, %zmm9, %zmm9",
            [0x62, 0x31, 0xb5, 0x48, 0x5d, 0xcc]
        ),
        (
            { a in a.evex(.vmaxps, reg: 9, vvvv: 9, rm: .register(20), bits: 512) }, "vmaxps %zmm20, %zmm9, %zmm9",
            [0x62, 0x31, 0x34, 0x48, 0x5f, 0xcc]
        ),
        (
            { a in a.evex(.vmaxpd, reg: 9, vvvv: 9, rm: .register(20), bits: 256) }, "vmaxpd %ymm20, %ymm9, %ymm9",
            [0x62, 0x31, 0xb5, 0x28, 0x5f, 0xcc]
        ),
        (
            { a in a.evex(.vsqrtps, reg: 4, rm: .register(19), bits: 512) }, "vsqrtps %zmm19, %zmm4",
            [0x62, 0xb1, 0x7c, 0x48, 0x51, 0xe3]
        ),
        (
            { a in a.evex(.vsqrtpd, reg: 4, rm: .memory(X86.ptr(.rax, 64)), bits: 512) }, "vsqrtpd 64(%rax), %zmm4",
            [0x62, 0xf1, 0xfd, 0x48, 0x51, 0x60, 0x01]
        ),
        (
            { a in a.evex(.vrndscaleps, reg: 4, rm: .register(3), bits: 512, imm8: 9) }, "vrndscaleps $9, %zmm3, %zmm4",
            [0x62, 0xf3, 0x7d, 0x48, 0x08, 0xe3, 0x09]
        ),
        (
            { a in a.evex(.vrndscalepd, reg: 21, rm: .register(3), bits: 512, imm8: 11) },
            "vrndscalepd $11, %zmm3, %zmm21", [0x62, 0xe3, 0xfd, 0x48, 0x09, 0xeb, 0x0b]
        ),
        (
            { a in a.evex(.vfmadd231ps, reg: 5, vvvv: 6, rm: .register(7), bits: 512) },
            "vfmadd231ps %zmm7, %zmm6, %zmm5", [0x62, 0xf2, 0x4d, 0x48, 0xb8, 0xef]
        ),
        (
            { a in a.evex(.vfmadd231pd, reg: 25, vvvv: 6, rm: .memory(X86.ptr(.rsp, 448)), bits: 512) },
            "vfmadd231pd 448(%rsp), %zmm6, %zmm25", [0x62, 0x62, 0xcd, 0x48, 0xb8, 0x4c, 0x24, 0x07]
        ),
        (
            { a in a.evex(.vfmadd213ps, reg: 5, vvvv: 6, rm: .register(7), bits: 256) },
            "{evex} vfmadd213ps %ymm7, %ymm6, %ymm5", [0x62, 0xf2, 0x4d, 0x28, 0xa8, 0xef]
        ),
        (
            { a in a.evex(.vfmadd213pd, reg: 5, vvvv: 22, rm: .register(7), bits: 512) },
            "vfmadd213pd %zmm7, %zmm22, %zmm5", [0x62, 0xf2, 0xcd, 0x40, 0xa8, 0xef]
        ),
        (
            { a in a.evex(.vpaddd, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpaddd %zmm3, %zmm2, %zmm1",
            [0x62, 0xf1, 0x6d, 0x48, 0xfe, 0xcb]
        ),
        (
            { a in a.evex(.vpaddq, reg: 9, vvvv: 9, rm: .register(3), bits: 512, mask: 1) },
            "vpaddq %zmm3, %zmm9, %zmm9 {%k1}", [0x62, 0x71, 0xb5, 0x49, 0xd4, 0xcb]
        ),
        (
            { a in a.evex(.vpsubd, reg: 1, vvvv: 2, rm: .register(3), bits: 256) }, "{evex} vpsubd %ymm3, %ymm2, %ymm1",
            [0x62, 0xf1, 0x6d, 0x28, 0xfa, 0xcb]
        ),
        (
            { a in a.evex(.vpsubq, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpsubq %zmm3, %zmm2, %zmm1",
            [0x62, 0xf1, 0xed, 0x48, 0xfb, 0xcb]
        ),
        (
            { a in a.evex(.vpmulld, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpmulld %zmm3, %zmm2, %zmm1",
            [0x62, 0xf2, 0x6d, 0x48, 0x40, 0xcb]
        ),
        (
            { a in a.evex(.vpmuludq, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpmuludq %zmm3, %zmm2, %zmm1",
            [0x62, 0xf1, 0xed, 0x48, 0xf4, 0xcb]
        ),
        (
            { a in a.evex(.vpminsq, reg: 10, vvvv: 10, rm: .register(13), bits: 512) },
            "vpminsq %zmm13, %zmm10, %zmm10", [0x62, 0x52, 0xad, 0x48, 0x39, 0xd5]
        ),
        (
            { a in a.evex(.vpmaxsq, reg: 10, vvvv: 10, rm: .register(13), bits: 512, mask: 1) },
            "vpmaxsq %zmm13, %zmm10, %zmm10 {%k1}", [0x62, 0x52, 0xad, 0x49, 0x3d, 0xd5]
        ),
        (
            { a in a.evex(.vpandd, reg: 1, vvvv: 2, rm: .memory(X86.ptr(.rsp)), bits: 512) },
            "vpandd (%rsp), %zmm2, %zmm1", [0x62, 0xf1, 0x6d, 0x48, 0xdb, 0x0c, 0x24]
        ),
        (
            { a in a.evex(.vpord, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpord %zmm3, %zmm2, %zmm1",
            [0x62, 0xf1, 0x6d, 0x48, 0xeb, 0xcb]
        ),
        (
            { a in a.evex(.vpxord, reg: 1, vvvv: 2, rm: .register(3), bits: 256) }, "vpxord %ymm3, %ymm2, %ymm1",
            [0x62, 0xf1, 0x6d, 0x28, 0xef, 0xcb]
        ),
        (
            { a in a.evex(.vpandnd, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpandnd %zmm3, %zmm2, %zmm1",
            [0x62, 0xf1, 0x6d, 0x48, 0xdf, 0xcb]
        ),
        (
            { a in a.evex(.vpsxxqImm, reg: 6, vvvv: 21, rm: .register(20), bits: 512, imm8: 52) },
            "vpsllq $52, %zmm20, %zmm21", [0x62, 0xb1, 0xd5, 0x40, 0x73, 0xf4, 0x34]
        ),
        (
            { a in a.evex(.vpsxxqImm, reg: 2, vvvv: 21, rm: .register(20), bits: 512, imm8: 32) },
            "vpsrlq $32, %zmm20, %zmm21", [0x62, 0xb1, 0xd5, 0x40, 0x73, 0xd4, 0x20]
        ),
        (
            { a in a.evex(.vpsxxdImm, reg: 6, vvvv: 1, rm: .register(2), bits: 512, imm8: 23) },
            "vpslld $23, %zmm2, %zmm1", [0x62, 0xf1, 0x75, 0x48, 0x72, 0xf2, 0x17]
        ),
        (
            { a in a.evex(.vpsxxdImm, reg: 2, vvvv: 1, rm: .register(2), bits: 256, imm8: 23) },
            "{evex} vpsrld $23, %ymm2, %ymm1", [0x62, 0xf1, 0x75, 0x28, 0x72, 0xd2, 0x17]
        ),
        (
            { a in a.evex(.vpsxxdImm, reg: 4, vvvv: 1, rm: .register(2), bits: 512, imm8: 31) },
            "vpsrad $31, %zmm2, %zmm1", [0x62, 0xf1, 0x75, 0x48, 0x72, 0xe2, 0x1f]
        ),
        (
            { a in a.evex(.vcmpps, reg: 1, vvvv: 2, rm: .register(1), bits: 512, imm8: 0x11) },
            "vcmpps $0x11, %zmm1, %zmm2, %k1", [0x62, 0xf1, 0x6c, 0x48, 0xc2, 0xc9, 0x11]
        ),
        (
            { a in a.evex(.vcmppd, reg: 1, vvvv: 18, rm: .memory(X86.ptr(.rsp, 64)), bits: 512, imm8: 0x1E) },
            "vcmppd $0x1e, 64(%rsp), %zmm18, %k1", [0x62, 0xf1, 0xed, 0x40, 0xc2, 0x4c, 0x24, 0x01, 0x1e]
        ),
        (
            { a in a.evex(.vpcmpeqd, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpcmpeqd %zmm3, %zmm2, %k1",
            [0x62, 0xf1, 0x6d, 0x48, 0x76, 0xcb]
        ),
        (
            { a in a.evex(.vpcmpeqq, reg: 1, vvvv: 2, rm: .register(3), bits: 512) }, "vpcmpeqq %zmm3, %zmm2, %k1",
            [0x62, 0xf2, 0xed, 0x48, 0x29, 0xcb]
        ),
        (
            { a in a.evex(.vpcmpgtd, reg: 1, vvvv: 14, rm: .memory(X86.ptr(.rcx, 64)), bits: 512) },
            "vpcmpgtd 64(%rcx), %zmm14, %k1", [0x62, 0xf1, 0x0d, 0x48, 0x66, 0x49, 0x01]
        ),
        (
            { a in a.evex(.vpcmpgtq, reg: 1, vvvv: 14, rm: .register(3), bits: 512) }, "vpcmpgtq %zmm3, %zmm14, %k1",
            [0x62, 0xf2, 0x8d, 0x48, 0x37, 0xcb]
        ),
        (
            { a in a.evex(.vpmovm2d, reg: 20, rm: .register(1), bits: 512) }, "vpmovm2d %k1, %zmm20",
            [0x62, 0xe2, 0x7e, 0x48, 0x38, 0xe1]
        ),
        (
            { a in a.evex(.vpmovm2q, reg: 13, rm: .register(1), bits: 512) }, "vpmovm2q %k1, %zmm13",
            [0x62, 0x72, 0xfe, 0x48, 0x38, 0xe9]
        ),
        (
            { a in a.evex(.vpmovd2m, reg: 1, rm: .register(20), bits: 512) }, "vpmovd2m %zmm20, %k1",
            [0x62, 0xb2, 0x7e, 0x48, 0x39, 0xcc]
        ),
        (
            { a in a.evex(.vpmovq2m, reg: 1, rm: .register(13), bits: 512) }, "vpmovq2m %zmm13, %k1",
            [0x62, 0xd2, 0xfe, 0x48, 0x39, 0xcd]
        ),
        (
            { a in a.evex(.vpmovd2m, reg: 1, rm: .register(5), bits: 256) }, "vpmovd2m %ymm5, %k1",
            [0x62, 0xf2, 0x7e, 0x28, 0x39, 0xcd]
        ),
        (
            { a in a.evex(.vblendmps, reg: 3, vvvv: 4, rm: .register(5), bits: 512, mask: 1) },
            "vblendmps %zmm5, %zmm4, %zmm3 {%k1}", [0x62, 0xf2, 0x5d, 0x49, 0x65, 0xdd]
        ),
        (
            { a in a.evex(.vblendmpd, reg: 3, vvvv: 24, rm: .memory(X86.ptr(.rsp, 192)), bits: 512, mask: 1) },
            "vblendmpd 192(%rsp), %zmm24, %zmm3 {%k1}", [0x62, 0xf2, 0xbd, 0x41, 0x65, 0x5c, 0x24, 0x03]
        ),
        (
            { a in a.evex(.vcvtps2pd, reg: 3, rm: .register(4), bits: 512) }, "vcvtps2pd %ymm4, %zmm3",
            [0x62, 0xf1, 0x7c, 0x48, 0x5a, 0xdc]
        ),
        (
            { a in a.evex(.vcvtps2pd, reg: 3, rm: .memory(X86.ptr(.rsi, 32)), bits: 512, disp8Scale: 32) },
            "vcvtps2pd 32(%rsi), %zmm3", [0x62, 0xf1, 0x7c, 0x48, 0x5a, 0x5e, 0x01]
        ),
        (
            { a in a.evex(.vcvtpd2ps, reg: 3, rm: .register(4), bits: 512) }, "vcvtpd2ps %zmm4, %ymm3",
            [0x62, 0xf1, 0xfd, 0x48, 0x5a, 0xdc]
        ),
        (
            { a in a.evex(.vcvtdq2pd, reg: 3, rm: .register(4), bits: 512) }, "vcvtdq2pd %ymm4, %zmm3",
            [0x62, 0xf1, 0x7e, 0x48, 0xe6, 0xdc]
        ),
        (
            { a in a.evex(.vcvttpd2dq, reg: 3, rm: .register(4), bits: 512) }, "vcvttpd2dq %zmm4, %ymm3",
            [0x62, 0xf1, 0xfd, 0x48, 0xe6, 0xdc]
        ),
        (
            { a in a.evex(.vcvtdq2ps, reg: 3, rm: .register(4), bits: 512) }, "vcvtdq2ps %zmm4, %zmm3",
            [0x62, 0xf1, 0x7c, 0x48, 0x5b, 0xdc]
        ),
        (
            { a in a.evex(.vcvttps2dq, reg: 3, rm: .register(4), bits: 256) }, "{evex} vcvttps2dq %ymm4, %ymm3",
            [0x62, 0xf1, 0x7e, 0x28, 0x5b, 0xdc]
        ),
        (
            { a in a.evex(.vpmovsxdq, reg: 3, rm: .register(4), bits: 512) }, "vpmovsxdq %ymm4, %zmm3",
            [0x62, 0xf2, 0x7d, 0x48, 0x25, 0xdc]
        ),
        (
            { a in
                a.evex(
                    .vpmovzxbd, reg: 3, rm: .memory(X86.ptr(.rsi, index: .r9, scale: 1, 16)), bits: 512, disp8Scale: 16)
            }, "vpmovzxbd 16(%rsi,%r9), %zmm3", [0x62, 0xb2, 0x7d, 0x48, 0x31, 0x5c, 0x0e, 0x01]
        ),
        (
            { a in
                a.evex(
                    .vpmovzxbq, reg: 3, rm: .memory(X86.ptr(.rsi, index: .r9, scale: 1, 8)), bits: 512, disp8Scale: 8)
            }, "vpmovzxbq 8(%rsi,%r9), %zmm3", [0x62, 0xb2, 0x7d, 0x48, 0x32, 0x5c, 0x0e, 0x01]
        ),
        (
            { a in a.evex(.vpmovqd, reg: 3, rm: .register(4), bits: 512) }, "vpmovqd %zmm3, %ymm4",
            [0x62, 0xf2, 0x7e, 0x48, 0x35, 0xdc]
        ),
        (
            { a in a.evex(.vextractf64x4, reg: 9, rm: .register(11), bits: 512, imm8: 1) },
            "vextractf64x4 $1, %zmm9, %ymm11", [0x62, 0x53, 0xfd, 0x48, 0x1b, 0xcb, 0x01]
        ),
        (
            { a in a.evex(.vinsertf64x4, reg: 1, vvvv: 2, rm: .register(23), bits: 512, imm8: 1) },
            "vinsertf64x4 $1, %ymm23, %zmm2, %zmm1", [0x62, 0xb3, 0xed, 0x48, 0x1a, 0xcf, 0x01]
        ),
        (
            { a in
                a.evex(
                    .vinsertf64x4, reg: 1, vvvv: 2, rm: .memory(X86.ptr(.rsp, 64)), bits: 512, disp8Scale: 32, imm8: 1)
            }, "vinsertf64x4 $1, 64(%rsp), %zmm2, %zmm1", [0x62, 0xf3, 0xed, 0x48, 0x1a, 0x4c, 0x24, 0x02, 0x01]
        ),
        (
            { a in a.evex(.vpbroadcastd, reg: 14, rm: .register(15), bits: 512) }, "vpbroadcastd %xmm15, %zmm14",
            [0x62, 0x52, 0x7d, 0x48, 0x58, 0xf7]
        ),
        (
            { a in a.evex(.vpbroadcastq, reg: 14, rm: .register(15), bits: 512) }, "vpbroadcastq %xmm15, %zmm14",
            [0x62, 0x52, 0xfd, 0x48, 0x59, 0xf7]
        ),
        (
            { a in a.evex(.vmovupsLoad, reg: 17, rm: .memory(X86.ptr(.rsi, index: .r9, scale: 4, 64)), bits: 512) },
            "vmovups 64(%rsi,%r9,4), %zmm17", [0x62, 0xa1, 0x7c, 0x48, 0x10, 0x4c, 0x8e, 0x01]
        ),
        (
            { a in
                a.evex(
                    .vmovupsLoad, reg: 17, rm: .memory(X86.ptr(.rsi, index: .r9, scale: 8)), bits: 512, mask: 1,
                    zeroing: true)
            }, "vmovups (%rsi,%r9,8), %zmm17 {%k1} {z}", [0x62, 0xa1, 0x7c, 0xc9, 0x10, 0x0c, 0xce]
        ),
        (
            { a in a.evex(.vmovupsLoad, reg: 2, rm: .register(30), bits: 256) }, "vmovups %ymm30, %ymm2",
            [0x62, 0x91, 0x7c, 0x28, 0x10, 0xd6]
        ),
        (
            { a in
                a.evex(.vmovupsStore, reg: 2, rm: .memory(X86.ptr(.rcx, index: .r9, scale: 8, 64)), bits: 512, mask: 1)
            }, "vmovups %zmm2, 64(%rcx,%r9,8) {%k1}", [0x62, 0xb1, 0x7c, 0x49, 0x11, 0x54, 0xc9, 0x01]
        ),
        (
            { a in a.evex(.vmovupsStore, reg: 28, rm: .memory(X86.ptr(.rsp, 1024)), bits: 512) },
            "vmovups %zmm28, 1024(%rsp)", [0x62, 0x61, 0x7c, 0x48, 0x11, 0x64, 0x24, 0x10]
        ),
        (
            { a in a.evex(.vmovntps, reg: 2, rm: .memory(X86.ptr(.rcx, index: .r9, scale: 4)), bits: 512) },
            "vmovntps %zmm2, (%rcx,%r9,4)", [0x62, 0xb1, 0x7c, 0x48, 0x2b, 0x14, 0x89]
        ),
        (
            { a in a.evex(.vmovntpd, reg: 2, rm: .memory(X86.ptr(.rcx, index: .r9, scale: 8, 64)), bits: 512) },
            "vmovntpd %zmm2, 64(%rcx,%r9,8)", [0x62, 0xb1, 0xfd, 0x48, 0x2b, 0x54, 0xc9, 0x01]
        ),
        (
            { a in a.evex(.vmovntdq, reg: 2, rm: .memory(X86.ptr(.rcx, index: .r9, scale: 8)), bits: 512) },
            "vmovntdq %zmm2, (%rcx,%r9,8)", [0x62, 0xb1, 0x7d, 0x48, 0xe7, 0x14, 0xc9]
        ),
        (
            { a in a.evex(.vgatherdps, reg: 15, rm: .vsib(base: .r11, index: 14, scale: 4), bits: 512, mask: 2) },
            "vgatherdps (%r11,%zmm14,4), %zmm15 {%k2}", [0x62, 0x12, 0x7d, 0x4a, 0x92, 0x3c, 0xb3]
        ),
        (
            { a in a.evex(.vgatherdps, reg: 15, rm: .vsib(base: .r11, index: 14, scale: 4), bits: 256, mask: 2) },
            "vgatherdps (%r11,%ymm14,4), %ymm15 {%k2}", [0x62, 0x12, 0x7d, 0x2a, 0x92, 0x3c, 0xb3]
        ),
        (
            { a in a.evex(.vgatherdpd, reg: 15, rm: .vsib(base: .r11, index: 14, scale: 8), bits: 512, mask: 2) },
            "vgatherdpd (%r11,%ymm14,8), %zmm15 {%k2}", [0x62, 0x12, 0xfd, 0x4a, 0x92, 0x3c, 0xf3]
        ),
        (
            { a in a.evex(.vgatherqpd, reg: 15, rm: .vsib(base: .r11, index: 14, scale: 8), bits: 512, mask: 2) },
            "vgatherqpd (%r11,%zmm14,8), %zmm15 {%k2}", [0x62, 0x12, 0xfd, 0x4a, 0x93, 0x3c, 0xf3]
        ),
        (
            { a in a.evex(.vgatherqpd, reg: 20, rm: .vsib(base: .r13, index: 24, scale: 8), bits: 512, mask: 2) },
            "vgatherqpd (%r13,%zmm24,8), %zmm20 {%k2}", [0x62, 0x82, 0xfd, 0x42, 0x93, 0x64, 0xc5, 0x00]
        ),
        (
            { a in
                a.evex(
                    .vmovupdLoad, reg: 17, rm: .memory(X86.ptr(.rsi, index: .r9, scale: 8)), mask: 1, zeroing: true)
            }, "vmovupd (%rsi,%r9,8), %zmm17 {%k1} {z}", [0x62, 0xa1, 0xfd, 0xc9, 0x10, 0x0c, 0xce]
        ),
        (
            { a in a.evex(.vmovupdStore, reg: 2, rm: .memory(X86.ptr(.rcx, index: .r9, scale: 8, 64)), mask: 1) },
            "vmovupd %zmm2, 64(%rcx,%r9,8) {%k1}", [0x62, 0xb1, 0xfd, 0x49, 0x11, 0x54, 0xc9, 0x01]
        ),
        ({ a in a.kmovw(.eax, k: 1) }, "kmovw %k1, %eax", [0xc5, 0xf8, 0x93, 0xc1]),
        ({ a in a.kmovw(.edx, k: 1) }, "kmovw %k1, %edx", [0xc5, 0xf8, 0x93, 0xd1]),
        ({ a in a.kxnorwAllOnes(k: 2) }, "kxnorw %k0, %k0, %k2", [0xc5, 0xfc, 0x46, 0xd0]),
    ]

    @Test func everyInstructionMatchesLLVM() throws {
        for c in Self.cases {
            var a = X86Assembler()
            c.emit(&a)
            let bytes = try a.finalize()
            #expect(
                bytes == c.bytes,
                "\(c.att): \(bytes.map { String($0, radix: 16) }) expected \(c.bytes.map { String($0, radix: 16) })")
        }
    }

    @Test func ripRelativeConstantIsResolved() throws {
        // vaddps (%rip + constant), %zmm1, %zmm2: the disp32 counts from the instruction's end.
        var a = X86Assembler()
        let c = a.constant(int64: Array(repeating: 7, count: 8), alignment: 64)
        a.evex(.vaddps, reg: 2, vvvv: 1, rm: .memory(X86.ptr(c)))
        a.ret()
        let bytes = try a.finalize()
        #expect(Array(bytes[0..<6]) == [0x62, 0xF1, 0x74, 0x48, 0x58, 0x15])
        let disp = bytes[6..<10].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(disp == 64 - 10)
        #expect(bytes[64] == 7)
    }
}
