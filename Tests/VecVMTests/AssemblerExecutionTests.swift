// AssemblerExecutionTests.swift — runs code made by X86Assembler: the bytes are copied into a page mapped
// read-write, the page is switched to read-execute (never writable and executable at once), and the code is
// called through a @convention(c) function pointer following the SysV ABI. Besides showing that labels,
// fix-ups, rip-relative constants and masked tails work for real, the lane-semantics test pins the operand order
// of the emitted forms: a swapped operand agrees with llvm-mc (listing and bytes alike) but not with the CPU.

import Foundation
import Testing

@testable import VMRuntime
@testable import VecVM

#if canImport(Glibc)
    import Glibc
#endif

/// Machine code in its own pages: mapped RW, filled, then made RX; unmapped on deinit.
private final class ExecutableMemory {
    let address: UnsafeMutableRawPointer
    let size: Int

    struct MappingError: Error, CustomStringConvertible {
        let description: String
    }

    init(_ bytes: [UInt8]) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        size = max(page, (bytes.count + page - 1) / page * page)
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw MappingError(description: "mmap failed: errno \(errno)") }
        address = mapped
        bytes.withUnsafeBytes { address.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        guard mprotect(address, size, PROT_READ | PROT_EXEC) == 0 else {
            munmap(address, size)
            throw MappingError(description: "mprotect failed: errno \(errno)")
        }
    }

    deinit { munmap(address, size) }

    func function<Function>(_ type: Function.Type) -> Function { unsafeBitCast(address, to: type) }
}

private enum HostCPU {
    /// The kernels use AVX2 and FMA; read the kernel's view of CPUID rather than trusting the build machine.
    static let hasAVX2AndFMA: Bool = {
        // read(2) to the end (String(contentsOfFile:) reads only the first 4 KB of a /proc file).
        guard let bytes = readSmallFile("/proc/cpuinfo"), case let info = String(decoding: bytes, as: UTF8.self),
            let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let set = Set(flags.split(separator: " ").map(String.init))
        return set.contains("avx2") && set.contains("fma")
    }()
}

/// Assembles, checks the features, and maps the code.
private func load(_ assembler: inout X86Assembler) throws -> ExecutableMemory {
    let bytes = try assembler.finalize()
    #expect(assembler.requiredAlignment <= 4096)  // a fresh mapping is page aligned
    return try ExecutableMemory(bytes)
}

@Suite("Execution: assembled code runs", .enabled(if: HostCPU.hasAVX2AndFMA, "the host CPU lacks AVX2 or FMA"))
struct AssemblerExecutionTests {
    typealias SumFunction = @convention(c) (UnsafePointer<Float>?, Int) -> Float
    typealias MapFunction = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    typealias IntegerFunction = @convention(c) (Int64, Int64) -> Int64
    typealias LanesFunction = @convention(c) (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void

    /// float sum(const float *x, long n): an 8-wide vaddps loop, a horizontal reduction, a scalar tail.
    static func sumKernel() -> X86Assembler {
        var a = X86Assembler()
        let loop = a.newLabel()
        let reduce = a.newLabel()
        let tail = a.newLabel()
        let done = a.newLabel()
        a.emit(.vxorps, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm0))
        a.xor(.eax, .eax)
        a.mov(.rcx, .rsi)
        a.and(.rcx, -8)
        a.align(16)
        a.bind(loop)
        a.cmp(.rax, .rcx)
        a.j(.ge, reduce)
        a.emit(.vaddps, .ymm(.ymm0), .ymm(.ymm0), .mem(.ptr(.rdi, index: .rax, scale: 4)))
        a.add(.rax, 8)
        a.jmp(loop)
        a.bind(reduce)
        a.emit(.vextractf128, .xmm(.xmm1), .ymm(.ymm0), .imm(1))
        a.emit(.vaddps, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm1))
        a.emit(.vmovhlps, .xmm(.xmm1), .xmm(.xmm0), .xmm(.xmm0))
        a.emit(.vaddps, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm1))
        a.emit(.vpermilps, .xmm(.xmm1), .xmm(.xmm0), .imm(1))
        a.emit(.vaddss, .xmm(.xmm0), .xmm(.xmm0), .xmm(.xmm1))
        a.bind(tail)
        a.cmp(.rax, .rsi)
        a.j(.ge, done, short: true)
        a.emit(.vaddss, .xmm(.xmm0), .xmm(.xmm0), .mem(.ptr(.rdi, index: .rax, scale: 4)))
        a.inc(.rax)
        a.jmp(tail)
        a.bind(done)
        a.emit(.vzeroupper)
        a.ret()
        return a
    }

    @Test(arguments: [0, 1, 7, 8, 9, 100, 1003])
    func floatSum(count: Int) throws {
        var assembler = Self.sumKernel()
        let code = try load(&assembler)
        let sum = code.function(SumFunction.self)
        // Small integers: every partial sum is exact whatever the order of additions.
        let values = (0..<count).map { Float(($0 * 37) % 101) - 50 }
        let result = values.withUnsafeBufferPointer { sum($0.baseAddress, count) }
        #expect(result == values.reduce(0, +))
        #expect(assembler.requiredFeatures == .avx)
    }

    /// void map(const float *x, float *y, long n): y = 2.5·|x| + 1 with constants from the data section
    /// (rip-relative, the aligned load faults unless the section is 32-byte aligned) and a vmaskmovps tail.
    static func mapKernel() -> X86Assembler {
        var a = X86Assembler()
        let masks = a.constant(int32: Array(repeating: -1, count: 8) + Array(repeating: 0, count: 8))
        let scale = a.constant(float32: [2.5], alignment: 4)
        let ones = a.constant(float32: Array(repeating: 1, count: 8))
        let absolute = a.constant(int32: Array(repeating: 0x7FFF_FFFF, count: 8))
        let loop = a.newLabel()
        let tail = a.newLabel()
        let done = a.newLabel()
        a.lea(.r8, .ptr(masks))
        a.emit(.vbroadcastss, .ymm(.ymm5), .mem(.ptr(scale)))
        a.emit(.vmovaps, .ymm(.ymm6), .mem(.ptr(ones)))
        a.emit(.vmovaps, .ymm(.ymm7), .mem(.ptr(absolute)))
        a.xor(.eax, .eax)
        a.bind(loop)
        a.lea(.rcx, .ptr(.rax, 8))
        a.cmp(.rcx, .rdx)
        a.j(.g, tail)
        a.emit(.vandps, .ymm(.ymm0), .ymm(.ymm7), .mem(.ptr(.rdi, index: .rax, scale: 4)))
        a.emit(.vfmadd213ps, .ymm(.ymm0), .ymm(.ymm5), .ymm(.ymm6))
        a.emit(.vmovups, .mem(.ptr(.rsi, index: .rax, scale: 4)), .ymm(.ymm0))
        a.mov(.rax, .rcx)
        a.jmp(loop)
        a.bind(tail)
        a.mov(.rcx, .rdx)
        a.sub(.rcx, .rax)
        a.j(.e, done)
        // Lanes 0..<remaining active: the window of the mask table that starts 8 - remaining entries in.
        a.neg(.rcx)
        a.add(.rcx, 8)
        a.emit(.vmovups, .ymm(.ymm4), .mem(.ptr(.r8, index: .rcx, scale: 4)))
        a.emit(.vmaskmovps, .ymm(.ymm0), .ymm(.ymm4), .mem(.ptr(.rdi, index: .rax, scale: 4)))
        a.emit(.vandps, .ymm(.ymm0), .ymm(.ymm0), .ymm(.ymm7))
        a.emit(.vfmadd213ps, .ymm(.ymm0), .ymm(.ymm5), .ymm(.ymm6))
        a.emit(.vmaskmovps, .mem(.ptr(.rsi, index: .rax, scale: 4)), .ymm(.ymm4), .ymm(.ymm0))
        a.bind(done)
        a.emit(.vzeroupper)
        a.ret()
        return a
    }

    @Test(arguments: [0, 1, 5, 8, 13, 64, 67])
    func constantsAndMaskedTail(count: Int) throws {
        var assembler = Self.mapKernel()
        let code = try load(&assembler)
        let map = code.function(MapFunction.self)
        let input = (0..<count).map { Float($0) * (($0 & 1) == 0 ? 0.75 : -1.25) }
        var output = [Float](repeating: -7, count: count + 9)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { map(x.baseAddress, $0.baseAddress, count) }
        }
        #expect(Array(output[..<count]) == input.map { Float(1).addingProduct(abs($0), 2.5) })
        #expect(output[count...].allSatisfy { $0 == -7 })  // the masked store wrote nothing past the end
        #expect(assembler.requiredFeatures == [.avx, .fma])
    }

    /// long f(long a, long b) = 2·((a >> 2) + 3·(a / b) + 7·|a % b| + (a < b ? 100 : 0)), using callee-saved
    /// registers, cqo/idiv, three-operand imul, neg + cmov, setcc + movzx, sar/shl and lea.
    static func integerKernel() -> X86Assembler {
        var a = X86Assembler()
        a.push(.rbx)
        a.push(.r12)
        a.mov(.rax, .rdi)
        a.cqo()
        a.idiv(.rsi)
        a.imul(.rbx, .rax, 3)
        a.mov(.r12, .rdx)
        a.neg(.r12)
        a.cmov(.l, .r12, .rdx)
        a.imul(.r12, .r12, 7)
        a.add(.rbx, .r12)
        a.xor(.ecx, .ecx)
        a.cmp(.rdi, .rsi)
        a.set(.l, .cl)
        a.emit(.movzx, .gpr(.ecx), .gpr(.cl))
        a.imul(.rcx, .rcx, 100)
        a.add(.rbx, .rcx)
        a.mov(.rax, .rdi)
        a.sar(.rax, 2)
        a.lea(.rax, .ptr(.rax, index: .rbx, scale: 1))
        a.shl(.rax, 1)
        a.pop(.r12)
        a.pop(.rbx)
        a.ret()
        return a
    }

    @Test func integerArithmetic() throws {
        var assembler = Self.integerKernel()
        let code = try load(&assembler)
        let f = code.function(IntegerFunction.self)
        for (x, y) in [(100, 7), (-100, 7), (5, 9), (-9, -4), (1 << 40, 12345), (0, 3), (Int64.max, 2)]
            as [(Int64, Int64)]
        {
            let expected = 2 &* ((x >> 2) &+ 3 &* (x / y) &+ 7 &* abs(x % y) &+ (x < y ? 100 : 0))
            #expect(f(x, y) == expected, "f(\(x), \(y))")
        }
    }

    // MARK: Lane semantics

    /// Each case computes one result vector from a (ymm0), b (ymm1) and c (ymm2) into ymm3; `reference` is the
    /// same operation in Swift, on lanes given and returned as bit patterns.
    struct LaneCase: Sendable {
        let name: String
        let emit: @Sendable (inout X86Assembler) -> Void
        let reference: @Sendable (_ a: [UInt32], _ b: [UInt32], _ c: [UInt32]) -> [UInt32]
    }

    static let a: [Float] = [1.5, -2.25, 3, 4.75, -5.5, 6, -7.125, 8.5]
    static let b: [Float] = [0.5, 3, -1.5, 2, 2.5, -0.75, 4, -3]
    static let c: [Float] = [-1, 2, -3, 4, 5, -6, 7, -8]

    static func floats(_ bits: [UInt32]) -> [Float] { bits.map(Float.init(bitPattern:)) }
    static func bits(_ floats: [Float]) -> [UInt32] { floats.map(\.bitPattern) }
    static func lanes(_ f: @escaping @Sendable (Float, Float, Float) -> Float)
        -> @Sendable ([UInt32], [UInt32], [UInt32]) -> [UInt32]
    {
        { a, b, c in
            (0..<8).map { f(Float(bitPattern: a[$0]), Float(bitPattern: b[$0]), Float(bitPattern: c[$0])).bitPattern }
        }
    }
    static func intLanes(_ f: @escaping @Sendable (Int32, Int32) -> Int32)
        -> @Sendable ([UInt32], [UInt32], [UInt32]) -> [UInt32]
    {
        { a, b, _ in (0..<8).map { UInt32(bitPattern: f(Int32(bitPattern: a[$0]), Int32(bitPattern: b[$0]))) } }
    }
    /// Applies `f` to each 128-bit half (lanes 0–3, 4–7) independently.
    static func perHalf(_ f: @escaping @Sendable ([UInt32], [UInt32]) -> [UInt32])
        -> @Sendable ([UInt32], [UInt32], [UInt32]) -> [UInt32]
    {
        { a, b, _ in f(Array(a[0..<4]), Array(b[0..<4])) + f(Array(a[4..<8]), Array(b[4..<8])) }
    }

    static let laneCases: [LaneCase] = [
        LaneCase(
            name: "vsubps", emit: { $0.emit(.vsubps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: lanes { a, b, _ in a - b }),
        LaneCase(
            name: "vdivps", emit: { $0.emit(.vdivps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: lanes { a, b, _ in a / b }),
        LaneCase(
            name: "vmaxps", emit: { $0.emit(.vmaxps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: lanes { a, b, _ in a > b ? a : b }),
        LaneCase(
            name: "vminps (operands swapped)", emit: { $0.emit(.vminps, .ymm(.ymm3), .ymm(.ymm1), .ymm(.ymm0)) },
            reference: lanes { a, b, _ in b < a ? b : a }),
        LaneCase(
            name: "vfmadd132ps",
            emit: {
                $0.emit(.vmovaps, .ymm(.ymm3), .ymm(.ymm0))
                $0.emit(.vfmadd132ps, .ymm(.ymm3), .ymm(.ymm1), .ymm(.ymm2))
            },
            reference: lanes { a, b, c in b.addingProduct(a, c) }),
        LaneCase(
            name: "vfmadd213ps",
            emit: {
                $0.emit(.vmovaps, .ymm(.ymm3), .ymm(.ymm0))
                $0.emit(.vfmadd213ps, .ymm(.ymm3), .ymm(.ymm1), .ymm(.ymm2))
            },
            reference: lanes { a, b, c in c.addingProduct(b, a) }),
        LaneCase(
            name: "vfmadd231ps",
            emit: {
                $0.emit(.vmovaps, .ymm(.ymm3), .ymm(.ymm0))
                $0.emit(.vfmadd231ps, .ymm(.ymm3), .ymm(.ymm1), .ymm(.ymm2))
            },
            reference: lanes { a, b, c in a.addingProduct(b, c) }),
        LaneCase(
            name: "vfmsub231ps",
            emit: {
                $0.emit(.vmovaps, .ymm(.ymm3), .ymm(.ymm0))
                $0.emit(.vfmsub231ps, .ymm(.ymm3), .ymm(.ymm1), .ymm(.ymm2))
            },
            reference: lanes { a, b, c in (-a).addingProduct(b, c) }),
        LaneCase(
            name: "vfnmadd231ps",
            emit: {
                $0.emit(.vmovaps, .ymm(.ymm3), .ymm(.ymm0))
                $0.emit(.vfnmadd231ps, .ymm(.ymm3), .ymm(.ymm1), .ymm(.ymm2))
            },
            reference: lanes { a, b, c in a.addingProduct(-b, c) }),
        LaneCase(
            name: "vfnmsub213ps",
            emit: {
                $0.emit(.vmovaps, .ymm(.ymm3), .ymm(.ymm0))
                $0.emit(.vfnmsub213ps, .ymm(.ymm3), .ymm(.ymm1), .ymm(.ymm2))
            },
            reference: lanes { a, b, c in (-c).addingProduct(-b, a) }),
        LaneCase(
            name: "vblendvps", emit: { $0.emit(.vblendvps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1), .ymm(.ymm2)) },
            reference: lanes { a, b, c in c.sign == .minus ? b : a }),
        LaneCase(
            name: "vblendps", emit: { $0.emit(.vblendps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1), .imm(0b1010_0101)) },
            reference: { a, b, _ in (0..<8).map { (0b1010_0101 >> $0) & 1 == 1 ? b[$0] : a[$0] } }),
        LaneCase(
            name: "vcmpltps", emit: { $0.emit(.vcmpps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1), .predicate(.lt)) },
            reference: lanes { a, b, _ in Float(bitPattern: a < b ? ~0 : 0) }),
        LaneCase(
            name: "vshufps", emit: { $0.emit(.vshufps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1), .imm(0x1B)) },
            reference: perHalf { a, b in [a[3], a[2], b[1], b[0]] }),
        LaneCase(
            name: "vunpcklps", emit: { $0.emit(.vunpcklps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: perHalf { a, b in [a[0], b[0], a[1], b[1]] }),
        LaneCase(
            name: "vunpckhps", emit: { $0.emit(.vunpckhps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: perHalf { a, b in [a[2], b[2], a[3], b[3]] }),
        LaneCase(
            name: "vpermilps", emit: { $0.emit(.vpermilps, .ymm(.ymm3), .ymm(.ymm0), .imm(0xB1)) },
            reference: perHalf { a, _ in [a[1], a[0], a[3], a[2]] }),
        LaneCase(
            name: "vhaddps", emit: { $0.emit(.vhaddps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: perHalf { a, b in
                bits([
                    floats(a)[0] + floats(a)[1], floats(a)[2] + floats(a)[3], floats(b)[0] + floats(b)[1],
                    floats(b)[2] + floats(b)[3],
                ])
            }),
        LaneCase(
            name: "vperm2f128", emit: { $0.emit(.vperm2f128, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1), .imm(0x21)) },
            reference: { a, b, _ in Array(a[4..<8] + b[0..<4]) }),
        LaneCase(
            name: "vinsertf128", emit: { $0.emit(.vinsertf128, .ymm(.ymm3), .ymm(.ymm0), .xmm(.xmm1), .imm(1)) },
            reference: { a, b, _ in Array(a[0..<4] + b[0..<4]) }),
        LaneCase(
            name: "vextractf128", emit: { $0.emit(.vextractf128, .xmm(.xmm3), .ymm(.ymm0), .imm(1)) },
            reference: { a, _, _ in Array(a[4..<8]) + [0, 0, 0, 0] }),
        LaneCase(
            name: "vmovhlps", emit: { $0.emit(.vmovhlps, .xmm(.xmm3), .xmm(.xmm0), .xmm(.xmm1)) },
            reference: { a, b, _ in [b[2], b[3], a[2], a[3], 0, 0, 0, 0] }),
        LaneCase(
            name: "vpermq", emit: { $0.emit(.vpermq, .ymm(.ymm3), .ymm(.ymm0), .imm(0x1B)) },
            reference: { a, _, _ in [a[6], a[7], a[4], a[5], a[2], a[3], a[0], a[1]] }),
        LaneCase(
            name: "vroundps", emit: { $0.emit(.vroundps, .ymm(.ymm3), .ymm(.ymm0), .imm(Int64(X86.Rounding.down))) },
            reference: lanes { a, _, _ in a.rounded(.down) }),
        LaneCase(
            name: "vcvttps2dq+vcvtdq2ps",
            emit: {
                $0.emit(.vcvttps2dq, .ymm(.ymm3), .ymm(.ymm0))
                $0.emit(.vcvtdq2ps, .ymm(.ymm3), .ymm(.ymm3))
            },
            reference: lanes { a, _, _ in a.rounded(.towardZero) }),
        LaneCase(
            name: "vandnps", emit: { $0.emit(.vandnps, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: { a, b, _ in (0..<8).map { ~a[$0] & b[$0] } }),
        LaneCase(
            name: "vpsubd", emit: { $0.emit(.vpsubd, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: intLanes { $0 &- $1 }),
        LaneCase(
            name: "vpmulld", emit: { $0.emit(.vpmulld, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: intLanes { $0 &* $1 }),
        LaneCase(
            name: "vpcmpgtd", emit: { $0.emit(.vpcmpgtd, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm1)) },
            reference: intLanes { $0 > $1 ? -1 : 0 }),
        LaneCase(
            name: "vpsrad", emit: { $0.emit(.vpsrad, .ymm(.ymm3), .ymm(.ymm0), .imm(3)) },
            reference: intLanes { a, _ in a >> 3 }),
        LaneCase(
            name: "vpsllvd",
            emit: {
                $0.emit(.vpsrld, .ymm(.ymm4), .ymm(.ymm1), .imm(29))
                $0.emit(.vpsllvd, .ymm(.ymm3), .ymm(.ymm0), .ymm(.ymm4))
            }, reference: intLanes { a, b in a << (UInt32(bitPattern: b) >> 29) }),
        LaneCase(
            name: "vsubss", emit: { $0.emit(.vsubss, .xmm(.xmm3), .xmm(.xmm0), .xmm(.xmm1)) },
            reference: { a, b, _ in
                [(Float(bitPattern: a[0]) - Float(bitPattern: b[0])).bitPattern] + a[1..<4] + [0, 0, 0, 0]
            }),
        LaneCase(
            name: "vmovss", emit: { $0.emit(.vmovss, .xmm(.xmm3), .xmm(.xmm0), .xmm(.xmm1)) },
            reference: { a, b, _ in [b[0]] + a[1..<4] + [0, 0, 0, 0] }),
        LaneCase(
            name: "vfmadd231ss",
            emit: {
                $0.emit(.vmovaps, .xmm(.xmm3), .xmm(.xmm0))
                $0.emit(.vfmadd231ss, .xmm(.xmm3), .xmm(.xmm1), .xmm(.xmm2))
            },
            reference: { a, b, c in
                [Float(bitPattern: a[0]).addingProduct(Float(bitPattern: b[0]), Float(bitPattern: c[0])).bitPattern]
                    + a[1..<4] + [0, 0, 0, 0]
            }),
    ]

    @Test func laneSemanticsMatchSwift() throws {
        var a = X86Assembler()
        // rdi: a, b, c (8 floats each); rsi: one 8-float result per case.
        for (index, laneCase) in Self.laneCases.enumerated() {
            a.emit(.vmovups, .ymm(.ymm0), .mem(.ptr(.rdi)))
            a.emit(.vmovups, .ymm(.ymm1), .mem(.ptr(.rdi, 32)))
            a.emit(.vmovups, .ymm(.ymm2), .mem(.ptr(.rdi, 64)))
            a.emit(.vxorps, .ymm(.ymm3), .ymm(.ymm3), .ymm(.ymm3))
            laneCase.emit(&a)
            a.emit(.vmovups, .mem(.ptr(.rsi, Int32(index * 32))), .ymm(.ymm3))
        }
        a.emit(.vzeroupper)
        a.ret()
        let code = try load(&a)
        let computeLanes = code.function(LanesFunction.self)
        let input = Self.a + Self.b + Self.c
        var output = [Float](repeating: .nan, count: 8 * Self.laneCases.count)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { computeLanes(x.baseAddress!, $0.baseAddress!) }
        }
        for (index, laneCase) in Self.laneCases.enumerated() {
            let expected = laneCase.reference(Self.bits(Self.a), Self.bits(Self.b), Self.bits(Self.c))
            let actual = Self.bits(Array(output[index * 8..<index * 8 + 8]))
            #expect(actual == expected, "\(laneCase.name): got \(Self.floats(actual)), want \(Self.floats(expected))")
        }
    }
}
