// The JIT: native kernels must give the interpreter's results bit for bit (random kernel programs,
// every length 0...40 and larger ones with every tail, unaligned inputs and outputs), code pages are
// never writable and executable at once, and what cannot be lowered falls back cleanly.

import Foundation
import Testing

@testable import VMRuntime
@testable import VecVM

/// The engine that lowers the kernel programs these tests call directly, without a VM (their code is
/// kept for the life of the process: `X86JIT.entry(for:isa:)`).
let kernelTestJIT = X86JIT()

/// Runs a case through the JIT; nil when it stopped with an integer division by zero. Fails the test
/// when the kernel is not lowered: every kernel program has native code.
func evaluateWithJIT(_ c: KernelCase, misalign: Int, isa: KernelISA = JITSupport.kernelISA) throws -> [UInt64]? {
    let entry = kernelTestJIT.entry(for: c.program, isa: isa)
    let address = try #require(UnsafeRawPointer(bitPattern: entry > 1 ? entry : 0), "not lowered: \(c.program)")
    let fn = unsafeBitCast(address, to: NativeKernelEntry.self)
    // Inputs and output start `misalign` elements into their buffers, so they are not 32-byte aligned.
    let buffers = try zip(c.arrays, c.program.arrayInputs).map { a, kind -> VMArray in
        let arr = try VMArray.allocate(count: c.count + misalign, kind: kind, account: nil)
        for (i, v) in a.enumerated() { arr.setBits(i + misalign, v) }
        return arr
    }
    let inputs = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: max(1, buffers.count))
    defer { inputs.deallocate() }
    for (i, b) in buffers.enumerated() { inputs[i] = UnsafeRawPointer(b.data + misalign * b.kind.size) }
    let scalars = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, c.scalars.count))
    defer { scalars.deallocate() }
    for (i, s) in c.scalars.enumerated() { scalars[i] = s }
    let kind = c.program.element
    let size = kind.size
    // A guard element after the output must survive (masked tail stores write nothing past the end).
    // Bools are written 8 or 4 bytes at a time within the padding (16 or 8 by the 512-bit kernels), so
    // their guard sits at the next 8 (16).
    let boolRound = isa == .avx512 ? 16 : 8
    let guardIndex = kind == .bool ? misalign + (c.count + boolRound - 1) & ~(boolRound - 1) : c.count + misalign
    let out = try VMArray.allocate(count: guardIndex + 1, kind: kind, account: nil)
    let guardBits: UInt64 = kind == .f32 ? 0x7FC0_1234 : kind == .bool ? 1 : 0x7FF0_0000_0000_1234
    out.setBits(guardIndex, guardBits)
    var result: UInt64 = 0
    let status = fn(inputs, scalars, c.count, c.program.isReduction ? nil : out.data + misalign * size, &result, 0)
    if status == 1 { return nil }
    #expect(status == 0)
    #expect(out.bits(guardIndex) == guardBits, "a store went past the end: \(c.program)")
    if c.program.isReduction { return [result] }
    return (0..<c.count).map { out.bits($0 + misalign) }
}

@Suite(
    "JIT",
    .enabled(
        if: JITSupport.available,
        "no JIT here (compiled out, a CPU without AVX2+FMA, or VECVM_ISA=none): the interpreter runs everything"))
struct JITTests {
    @Test("random kernels: JIT == interpreter bit for bit", arguments: 0..<24)
    func differential(seed: Int) throws {
        var rng = SplitMix(state: UInt64(seed) &* 104_729 &+ 3)
        let lengths = Array(0...40) + [63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 1024 + 15, 4096 + 7, 10_000]
        for n in lengths {
            let c = KernelCase.random(&rng, count: n)
            let want = try evaluateWithInterpreter(c)
            for misalign in [0, 1] {
                let got = try evaluateWithJIT(c, misalign: misalign)
                #expect(
                    sameBits(got, want, c.program.resultKind),
                    "seed \(seed) n \(n) misalign \(misalign): \(c.program)")
            }
        }
    }

    @Test func everyTailLengthOfEveryShape() throws {
        // One kernel of each output kind and element type over lengths 0...70 (every tail of every unroll).
        for kind in [ElementKind.f32, .float, .int] {
            let ops: [KernelOp] = [.load(0), .load(1), .mul(0, 1), .scalar(0), .add(2, 3), .max(4, 0)]
            for output in [KernelOutput.store(5), .reduce(.sum, 5), .reduce(.min, 5), .reduce(.max, 5)] {
                var rng = SplitMix(state: 42)
                for n in 0...70 {
                    var c = KernelCase.random(&rng, count: n)
                    c.program = KernelProgram(element: kind, arrayInputs: 2, scalarInputs: 1, ops: ops, output: output)
                    c.arrays = (0..<2).map { _ in (0..<n).map { _ in JITTests.value(kind, &rng) } }
                    c.scalars = [JITTests.value(kind, &rng)]
                    if n == 0, case .reduce(let r, _) = output, r != .sum { continue }
                    let want = try evaluateWithInterpreter(c)
                    let got = try evaluateWithJIT(c, misalign: n % 2)
                    #expect(sameBits(got, want, kind), "\(kind) \(output) n=\(n)")
                }
            }
        }
    }

    static func value(_ kind: ElementKind, _ rng: inout SplitMix) -> UInt64 {
        switch kind {
        case .int: return UInt64(bitPattern: Int64(rng.int(2_000_001)) - 1_000_000)
        case .float: return ((rng.double() - 0.5) * 1e6).bitPattern
        case .f32: return UInt64(Float((rng.double() - 0.5) * 1e3).bitPattern)
        case .bool: return UInt64(rng.int(2))
        }
    }

    @Test func specialValuesAgree() throws {
        // NaN, infinities, signed zeros, denormals through min/max/abs/neg/sqrt/fma.
        let specials: [Double] = [
            .nan, -.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1, -1, 1e308,
            2.5,
        ]
        let n = specials.count * specials.count
        let xs = (0..<n).map { specials[$0 % specials.count] }
        let ys = (0..<n).map { specials[$0 / specials.count] }
        let shapes: [[KernelOp]] = [
            [.load(0), .load(1), .min(0, 1)], [.load(0), .load(1), .max(0, 1)], [.load(0), .abs(0)],
            [.load(0), .neg(0)],
            [.load(0), .sqrt(0)], [.load(0), .load(1), .fma(0, 1, 0)], [.load(0), .load(1), .div(0, 1)],
        ]
        for kind in [ElementKind.float, .f32] {
            for ops in shapes {
                for output in [
                    KernelOutput.store(ops.count - 1), .reduce(.sum, ops.count - 1), .reduce(.min, ops.count - 1),
                    .reduce(.max, ops.count - 1),
                ] {
                    let arrays = [xs, ys].map { col in
                        col.map { kind == .f32 ? UInt64(Float($0).bitPattern) : $0.bitPattern }
                    }
                    let inputs = ops.contains(.load(1)) ? 2 : 1
                    let c = KernelCase(
                        program: KernelProgram(
                            element: kind, arrayInputs: inputs, scalarInputs: 0, ops: ops, output: output),
                        arrays: Array(arrays.prefix(inputs)), scalars: [], count: n)
                    let want = try evaluateWithInterpreter(c)
                    let got = try evaluateWithJIT(c, misalign: 0)
                    #expect(sameBits(got, want, kind), "\(kind) \(c.program)")
                }
            }
        }
    }

    @Test func integerDivisionIsNative() {
        let p = KernelProgram(
            element: .int, arrayInputs: 2, scalarInputs: 0, ops: [.load(0), .load(1), .div(0, 1)], output: .store(2))
        #expect(kernelTestJIT.entry(for: p) > 1)
        let jit = Mode(procs: 1, jit: true, asyncPreemption: true)
        let r = run("let a = iota(10) + 1\nprint(a / 3, a % 3, (0 - a) % 4, a / -1)", mode: jit)
        #expect(
            r.output
                == "[0, 0, 1, 1, 1, 2, 2, 2, 3, 3] [1, 2, 0, 1, 2, 0, 1, 2, 0, 1] [-1, -2, -3, 0, -1, -2, -3, 0, -1, -2] [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10]\n"
        )
        // By zero: the same runtime error as the interpreter's, at the same place.
        let z = run("let a = iota(13)\nlet b = a % (a - 11)", mode: jit)
        #expect(z.status == 2 && z.errorText.contains("integer division by zero"))
    }

    @Test func noPageIsWritableAndExecutable() throws {
        // Compile and run something, keeping the program (its kernels' code lives as long as it
        // does), then read this process's mappings: none may be rwx, and the kernel is in an r-x one.
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let program = try vm.compile(
            source: "let a = fill(100, 1.0)\nprint(sum(a * 2.0 + a * 3.5))", fileName: "rx.vec")
        try vm.run(program)
        // The VM's own kernels: live while the program is (other tests' VMs have their own engines).
        let kernels = vm.jit?.listing.kernels ?? []
        // Read with read(2) to the end: Foundation's String(contentsOfFile:) stops after the first
        // 4 KB of a /proc file (which reports its size as 0), so only the first ~40 mappings were
        // checked — and none of the code heap's under ThreadSanitizer, whose shadow comes first.
        let maps = String(decoding: try #require(readSmallFile("/proc/self/maps")), as: UTF8.self)
        let rwx = maps.split(separator: "\n").filter { line in
            let perms = line.split(separator: " ").dropFirst().first ?? ""
            return perms.hasPrefix("rwx")
        }
        #expect(rwx.isEmpty, "rwx mappings: \(rwx)")
        #expect(!kernels.isEmpty)
        for k in kernels {
            // The mapping may begin before the code heap: the kernel merges it with an adjacent
            // mapping of the same protection.
            let line = maps.split(separator: "\n").first { l in
                guard let dash = l.firstIndex(of: "-"), let space = l.firstIndex(of: " "),
                    let lo = UInt(l[..<dash], radix: 16), let hi = UInt(l[l.index(after: dash)..<space], radix: 16)
                else { return false }
                return lo <= k.address && k.address < hi
            }
            #expect(
                line.map { $0.split(separator: " ")[1].hasPrefix("r-x") } == true,
                "kernel \(k.number) at \(k.address): \(line ?? "no mapping")")
        }
        withExtendedLifetime(program) {}
    }

    @Test func largeOutputsUseNonTemporalStoresAndStayExact() {
        // 3M floats (24 MB) pass the non-temporal threshold; results must not change.
        let src =
            "let n = 3_000_000\nlet a = float(iota(n)) * 0.5\nlet b = sqrt(a * a + 1.0)\nprint(b[0], b[n - 1], sum(b))"
        let jit = run(src, mode: Mode(procs: 1, jit: true, asyncPreemption: true))
        let interp = run(src, mode: Mode(procs: 1, jit: false, asyncPreemption: false))
        #expect(jit.error == nil && interp.error == nil)
        #expect(jit.output == interp.output)
    }
}
