// Routines.swift — the machine code the preemption tests run in their code heap, made with the
// project's assembler (X86Assembler): the register-torture routine (every vector register and
// every GP register but rsp/rcx set to a per-task, per-call pattern, a spin loop that keeps two of
// them evolving, then everything dumped for checking), an endless loop, and two real kernels.
// X86Assembler has no EVEX forms, so the AVX-512 variant adds the few it needs through
// `EVEXEncoder`, which the encoding tests also use as the independent encoder of the generated
// AVX-512 save/restore sequences.
import CJITStubs

@testable import VMRuntime
@testable import VecVM

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - Register torture

/// Which registers a torture routine sets and checks: one shape per save path.
enum TortureShape: Sendable, CustomStringConvertible {
    case xmm  // XMM0–15 (VEX.128): what the SSE path saves
    case ymm  // YMM0–15: the AVX path
    case zmm  // ZMM0–31 and K0–7: the AVX-512 path

    var vectorCount: Int { self == .zmm ? 32 : 16 }
    var vectorBytes: Int {
        switch self {
        case .xmm: 16
        case .ymm: 32
        case .zmm: 64
        }
    }
    var maskCount: Int { self == .zmm ? 8 : 0 }
    var description: String {
        switch self {
        case .xmm: "xmm"
        case .ymm: "ymm"
        case .zmm: "zmm"
        }
    }
}

/// Block layout shared by the pattern the routine loads and the dump it writes:
///   vectors      vectorCount × vectorBytes
///   masks        maskCount × 8
///   GP           `gpRegisters` in order (14 × 8), then rcx (the loop counter, 0 at the end)
struct TortureLayout {
    let shape: TortureShape
    static let gpRegisters: [X86.GPR] = [
        .rax, .rbx, .rdx, .rbp, .rsi, .rdi, .r8, .r9, .r10, .r11, .r12, .r13, .r14, .r15,
    ]
    var maskOffset: Int { shape.vectorCount * shape.vectorBytes }
    var gpOffset: Int { maskOffset + 8 * shape.maskCount }
    var rcxSlot: Int { gpOffset + 8 * TortureLayout.gpRegisters.count }
    var bytes: Int { rcxSlot + 8 }
    var vectorLanes: Int { shape.vectorCount * shape.vectorBytes / 8 }
}

/// `torture(pattern, dump, iterations)`: loads every register of `shape` and the GP registers
/// from `pattern`, runs `iterations` of { v15 += v14 (64-bit lanes); rax += rbx; rcx -= 1 }, then
/// stores everything into `dump`. A preemption anywhere in the loop must be invisible.
func makeTorture(_ shape: TortureShape, in heap: TestCodeHeap = .registered) -> UnsafeRawPointer {
    let layout = TortureLayout(shape: shape)
    let gp = TortureLayout.gpRegisters
    return installRoutine(in: heap) { a in
        for r in [X86.GPR.rbx, .rbp, .r12, .r13, .r14, .r15] { a.push(r) }
        a.push(.rsi)  // the dump pointer, reloaded at the end
        a.mov(.rcx, .rdx)
        loadVectors(&a, shape, base: .rdi)
        for (j, r) in gp.enumerated() where r != .rdi {
            a.mov(r, X86.ptr(.rdi, Int32(layout.gpOffset + 8 * j)))
        }
        a.mov(.rdi, X86.ptr(.rdi, Int32(layout.gpOffset + 8 * gp.firstIndex(of: .rdi)!)))
        a.align(16)
        let loop = a.newLabel()
        a.bind(loop)
        switch shape {
        case .xmm: a.emit(.vpaddq, .xmm(.xmm15), .xmm(.xmm15), .xmm(.xmm14))
        case .ymm: a.emit(.vpaddq, .ymm(.ymm15), .ymm(.ymm15), .ymm(.ymm14))
        case .zmm: a.embed(EVEXEncoder.vpaddqZMM(dest: 15, src1: 15, src2: 14))
        }
        a.add(.rax, .rbx)
        a.dec(.rcx)
        a.j(.nz, loop)
        a.push(.rax)  // rax's value to [rsp]; the dump pointer is at [rsp + 8]
        a.mov(.rax, X86.ptr(.rsp, 8))
        storeVectors(&a, shape, base: .rax)
        for (j, r) in gp.enumerated() where r != .rax {
            a.mov(X86.ptr(.rax, Int32(layout.gpOffset + 8 * j)), r)
        }
        a.mov(X86.ptr(.rax, Int32(layout.rcxSlot)), .rcx)
        a.mov(.rbx, X86.ptr(.rsp))
        a.mov(X86.ptr(.rax, Int32(layout.gpOffset)), .rbx)
        a.add(.rsp, 16)
        for r in [X86.GPR.r15, .r14, .r13, .r12, .rbp, .rbx] { a.pop(r) }
        a.emit(.vzeroupper)
        a.ret()
    }
}

private func loadVectors(_ a: inout X86Assembler, _ shape: TortureShape, base: X86.GPR) {
    for i in 0..<shape.vectorCount {
        let at = X86.ptr(base, Int32(i * shape.vectorBytes))
        switch shape {
        case .xmm: a.emit(.vmovdqu, .xmm(X86.XMM.all[i]), .mem(at))
        case .ymm: a.emit(.vmovdqu, .ymm(X86.YMM.all[i]), .mem(at))
        case .zmm: a.embed(EVEXEncoder.vmovdqu64(load: true, zmm: i, base: base.number, displacement: i * 64))
        }
    }
    let layout = TortureLayout(shape: shape)
    for k in 0..<shape.maskCount {
        a.embed(EVEXEncoder.kmovq(load: true, k: k, base: base.number, displacement: layout.maskOffset + 8 * k))
    }
}

private func storeVectors(_ a: inout X86Assembler, _ shape: TortureShape, base: X86.GPR) {
    for i in 0..<shape.vectorCount {
        let at = X86.ptr(base, Int32(i * shape.vectorBytes))
        switch shape {
        case .xmm: a.emit(.vmovdqu, .mem(at), .xmm(X86.XMM.all[i]))
        case .ymm: a.emit(.vmovdqu, .mem(at), .ymm(X86.YMM.all[i]))
        case .zmm: a.embed(EVEXEncoder.vmovdqu64(load: false, zmm: i, base: base.number, displacement: i * 64))
        }
    }
    let layout = TortureLayout(shape: shape)
    for k in 0..<shape.maskCount {
        a.embed(EVEXEncoder.kmovq(load: false, k: k, base: base.number, displacement: layout.maskOffset + 8 * k))
    }
}

/// One task's torture run: pattern and dump buffers, filled per call and checked after it.
struct TortureRun {
    let layout: TortureLayout
    let routine: Routine3
    let pattern: AlignedBuffer
    let dump: AlignedBuffer
    let seed: UInt64

    init(shape: TortureShape, code: UnsafeRawPointer, seed: UInt64) {
        layout = TortureLayout(shape: shape)
        routine = routine3(code)
        pattern = AlignedBuffer(bytes: layout.bytes)
        dump = AlignedBuffer(bytes: layout.bytes)
        self.seed = seed
    }

    /// Runs call number `call` and returns the number of 64-bit lanes that came back wrong.
    func runOnce(call: UInt64, iterations: Int) -> Int {
        let qwords = layout.bytes / 8
        for i in 0..<qwords { pattern[qword: i] = mix(seed &* 0x1_0000_0001 &+ call &* 4099 &+ UInt64(i)) }
        // Opmask registers keep 64 bits only: fine. rcx slot is an output.
        routine(pattern.pointer, dump.pointer, iterations)
        return corruptedLanes(call: call, iterations: iterations)
    }

    private func corruptedLanes(call: UInt64, iterations: Int) -> Int {
        let n = UInt64(iterations)
        let vb = layout.shape.vectorBytes / 8  // qwords per vector register
        var bad = 0
        for i in 0..<layout.vectorLanes {
            var want = pattern[qword: i]
            if i / vb == 15 { want = want &+ n &* pattern[qword: 14 * vb + i % vb] }
            if dump[qword: i] != want { bad += 1 }
        }
        let maskBase = layout.maskOffset / 8
        for k in 0..<layout.shape.maskCount where dump[qword: maskBase + k] != pattern[qword: maskBase + k] {
            bad += 1
        }
        let gpBase = layout.gpOffset / 8
        for j in 0..<TortureLayout.gpRegisters.count {
            var want = pattern[qword: gpBase + j]
            if j == 0 { want = want &+ n &* pattern[qword: gpBase + 1] }  // rax += rbx each iteration
            if dump[qword: gpBase + j] != want { bad += 1 }
        }
        if dump[qword: layout.rcxSlot / 8] != 0 { bad += 1 }
        return bad
    }
}

// MARK: - Endless loop

/// `spin()`: never returns. Only an asynchronous preemption can take its P away.
func makeEndlessLoop(in heap: TestCodeHeap = .registered) -> UnsafeRawPointer {
    installRoutine(in: heap) { a in
        let l = a.newLabel()
        a.bind(l)
        a.add(.rax, 1)
        a.jmp(l)
    }
}

// MARK: - Kernels

/// `hypot(params, _, _)`: params = {x, y, out, n}; out[i] = sqrt(x[i]*x[i] + y[i]*y[i]) for n a
/// multiple of 8, in f32 — the fused kernel of `sqrt(x*x + y*y)`.
func makeHypotKernel() -> UnsafeRawPointer {
    installRoutine { a in
        a.mov(.r8, X86.ptr(.rdi))
        a.mov(.r9, X86.ptr(.rdi, 8))
        a.mov(.r10, X86.ptr(.rdi, 16))
        a.mov(.rcx, X86.ptr(.rdi, 24))
        a.xor(.rax, .rax)
        let loop = a.newLabel()
        let done = a.newLabel()
        a.align(16)
        a.bind(loop)
        a.cmp(.rax, .rcx)
        a.j(.ae, done)
        a.emit(.vmovups, .ymm(.ymm0), .mem(X86.ptr(.r8, index: .rax, scale: 4)))
        a.emit(.vmovups, .ymm(.ymm1), .mem(X86.ptr(.r9, index: .rax, scale: 4)))
        a.emit(.vmulps, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm0))
        a.emit(.vmulps, .ymm(.ymm1), .ymm(.ymm1), .ymm(.ymm1))
        a.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm1))
        a.emit(.vsqrtps, .ymm(.ymm0), .ymm(.ymm0))
        a.emit(.vmovups, .mem(X86.ptr(.r10, index: .rax, scale: 4)), .ymm(.ymm0))
        a.add(.rax, 8)
        a.jmp(loop)
        a.bind(done)
        a.emit(.vzeroupper)
        a.ret()
    }
}

/// `dot(params, _, _)`: params = {x, y, out, n}; four YMM accumulators of x*y (FMA) over n a
/// multiple of 32, stored unreduced (32 floats) to out: every lane depends on every iteration's
/// register state, so a corrupted register shows in the bits.
func makeDotKernel() -> UnsafeRawPointer {
    installRoutine { a in
        a.mov(.r8, X86.ptr(.rdi))
        a.mov(.r9, X86.ptr(.rdi, 8))
        a.mov(.r10, X86.ptr(.rdi, 16))
        a.mov(.rcx, X86.ptr(.rdi, 24))
        a.xor(.rax, .rax)
        for k in 4..<8 { a.emit(.vpxor, .ymm(X86.YMM.all[k]), .ymm(X86.YMM.all[k]), .ymm(X86.YMM.all[k])) }
        let loop = a.newLabel()
        let done = a.newLabel()
        a.align(16)
        a.bind(loop)
        a.cmp(.rax, .rcx)
        a.j(.ae, done)
        for k in 0..<4 {
            a.emit(.vmovups, .ymm(X86.YMM.all[k]), .mem(X86.ptr(.r8, index: .rax, scale: 4, Int32(32 * k))))
            a.emit(
                .vfmadd231ps, .ymm(X86.YMM.all[4 + k]), .ymm(X86.YMM.all[k]),
                .mem(X86.ptr(.r9, index: .rax, scale: 4, Int32(32 * k))))
        }
        a.add(.rax, 32)
        a.jmp(loop)
        a.bind(done)
        for k in 0..<4 { a.emit(.vmovups, .mem(X86.ptr(.r10, Int32(32 * k))), .ymm(X86.YMM.all[4 + k])) }
        a.emit(.vzeroupper)
        a.ret()
    }
}

// MARK: - EVEX (AVX-512) encodings

/// Encodes the few AVX-512 instructions the tests need, from the Intel SDM's EVEX format: the
/// torture routine's ZMM/opmask moves and the expected bytes of the generated AVX-512 sequences.
/// Memory operands are [base + displacement] with a base other than rsp/rbp/r12/r13 (no SIB), and
/// the shortest displacement an assembler picks: none for 0, disp8 (scaled by N = 64 for a full
/// ZMM, unscaled for VEX) when it fits, else disp32.
enum EVEXEncoder {
    /// vmovdqu64 zmm, [base + d] (load: EVEX.512.F3.0F.W1 6F /r) or vmovdqu64 [base + d], zmm (7F).
    static func vmovdqu64(load: Bool, zmm: Int, base: UInt8, displacement: Int) -> [UInt8] {
        precondition(zmm < 32 && base & 7 != 4 && base & 7 != 5)
        let r = UInt8(zmm)
        let p0: UInt8 =
            ((r >> 3) & 1 == 0 ? 0x80 : 0) | 0x40 | ((base >> 3) & 1 == 0 ? 0x20 : 0)
            | ((r >> 4) & 1 == 0 ? 0x10 : 0) | 0x01
        let p1: UInt8 = 0x80 | 0x78 | 0x04 | 0x02  // W1, vvvv = 1111 (unused), F3
        let p2: UInt8 = 0x40 | 0x08  // L'L = 10 (512), V' = 1 (unused), no mask
        return [0x62, p0, p1, p2, load ? 0x6F : 0x7F] + modrm(reg: r & 7, base: base & 7, displacement, scale: 64)
    }

    /// kmovq k, [base + d] (VEX.L0.0F.W1 90 /r) or kmovq [base + d], k (91 /r).
    static func kmovq(load: Bool, k: Int, base: UInt8, displacement: Int) -> [UInt8] {
        precondition(k < 8 && base & 7 != 4 && base & 7 != 5)
        let b1: UInt8 = 0x80 | 0x40 | ((base >> 3) & 1 == 0 ? 0x20 : 0) | 0x01  // R̄ X̄ B̄, map 0F
        let b2: UInt8 = 0x80 | 0x78  // W1, vvvv = 1111, L0, pp none
        return [0xC4, b1, b2, load ? 0x90 : 0x91] + modrm(reg: UInt8(k), base: base & 7, displacement, scale: 1)
    }

    /// vpaddq zmm, zmm, zmm (EVEX.512.66.0F.W1 D4 /r).
    static func vpaddqZMM(dest: Int, src1: Int, src2: Int) -> [UInt8] {
        let d = UInt8(dest)
        let a = UInt8(src1)
        let b = UInt8(src2)
        let p0: UInt8 =
            ((d >> 3) & 1 == 0 ? 0x80 : 0) | ((b >> 4) & 1 == 0 ? 0x40 : 0)
            | ((b >> 3) & 1 == 0 ? 0x20 : 0) | ((d >> 4) & 1 == 0 ? 0x10 : 0) | 0x01
        let p1: UInt8 = 0x80 | ((~a & 0xF) << 3) | 0x04 | 0x01  // W1, vvvv = ~src1, 66
        let p2: UInt8 = 0x40 | ((a >> 4) & 1 == 0 ? 0x08 : 0)
        return [0x62, p0, p1, p2, 0xD4, 0xC0 | ((d & 7) << 3) | (b & 7)]
    }

    /// movdqu xmm, [base + d] (F3 0F 6F /r) or movdqu [base + d], xmm (F3 0F 7F /r): the SSE path.
    static func movdqu(load: Bool, xmm: Int, base: UInt8, displacement: Int) -> [UInt8] {
        let r = UInt8(xmm)
        var bytes: [UInt8] = [0xF3]
        let rex: UInt8 = 0x40 | ((r >> 3) & 1) << 2 | ((base >> 3) & 1)
        if rex != 0x40 { bytes.append(rex) }
        return bytes + [0x0F, load ? 0x6F : 0x7F] + modrm(reg: r & 7, base: base & 7, displacement, scale: 1)
    }

    /// vmovdqu ymm, [base + d] (VEX.256.F3.0F 6F /r) or the store (7F): the AVX path.
    static func vmovdquYMM(load: Bool, ymm: Int, base: UInt8, displacement: Int) -> [UInt8] {
        let r = UInt8(ymm)
        precondition(base < 8, "two-byte VEX: no VEX.B")
        let vex: UInt8 = ((r >> 3) & 1 == 0 ? 0x80 : 0) | 0x78 | 0x04 | 0x02  // R̄, vvvv = 1111, L1, F3
        return [0xC5, vex, load ? 0x6F : 0x7F] + modrm(reg: r & 7, base: base, displacement, scale: 1)
    }

    private static func modrm(reg: UInt8, base: UInt8, _ displacement: Int, scale: Int) -> [UInt8] {
        if displacement == 0 { return [(reg << 3) | base] }
        if displacement % scale == 0, let d8 = Int8(exactly: displacement / scale) {
            return [0x40 | (reg << 3) | base, UInt8(bitPattern: d8)]
        }
        let d32 = UInt32(bitPattern: Int32(displacement))
        return [0x80 | (reg << 3) | base] + (0..<4).map { UInt8(truncatingIfNeeded: d32 >> (8 * $0)) }
    }
}
