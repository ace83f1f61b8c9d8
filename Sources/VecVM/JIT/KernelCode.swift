// A kernel program's native code as the JIT engine keeps it (KernelCode: the code, or why there is
// none, held by the kernel sites that use it; JITEngine.swift makes and caches it), and the call of
// that code from the interpreter's kernel path (NativeKernel.run, for KernelRunner).
//
// Instruction set: kernels are lowered for the engine's `kernelISA` (JITSupport.kernelISA: AVX-512
// where the machine has it, unless VECVM_JIT_ISA=avx2); tests ask for either with `X86JIT.entry(for:isa:)`,
// so the cache is keyed by program and ISA. A kernel the 512-bit lowering does not cover keeps its
// AVX2 code; each such kernel is counted and its reason kept (`JITStatistics.avx512Fallbacks`, shown
// by --stats and jit-dump), never silently.

/// The native entry point (see KernelLowering.swift for the ABI).
typealias NativeKernelEntry =
    @convention(c) (
        UnsafePointer<UnsafeRawPointer>, UnsafePointer<UInt64>, Int, UnsafeMutableRawPointer?,
        UnsafeMutablePointer<UInt64>, Int
    ) -> Int

/// One kernel as jit-dump lists it (a live one: its code is read back from the code heap).
struct CompiledKernel: Sendable {
    let number: Int
    let program: String
    let element: ElementKind
    let bytes: [UInt8]
    let address: UInt
}

/// A kernel program's native code, or why it has none. Held by the kernel sites that use it.
final class KernelCode: Sendable {
    let program: KernelProgram
    /// Numbered in order of compilation by its engine (jit-dump's kernel-N.bin).
    let number: Int
    let native: NativeCode?
    let fallback: String?
    /// The ISA the native code is for (AVX2 for a kernel asked for at 512 bits that kept AVX2 code).
    let isa: KernelISA

    init(program: KernelProgram, number: Int, native: NativeCode?, fallback: String?, isa: KernelISA) {
        self.program = program
        self.number = number
        self.native = native
        self.fallback = fallback
        self.isa = isa
    }

    /// The site's `nativeEntry` value: the code's address, or 1 when it is interpreted.
    var entry: UInt { native.map { UInt(bitPattern: $0.address) } ?? 1 }
}

/// Calling a kernel's native code.
enum NativeKernel {
    /// Outputs at least this large are written with non-temporal stores (they would only evict the
    /// inputs from the caches). Only at a 64-byte aligned output: a ZMM non-temporal store needs it.
    static let nonTemporalBytes = 1 << 20

    /// Runs `entry`, the native code of `site`'s kernel, over `count` elements; throws the runtime
    /// error the kernel stopped with (integer division by zero).
    @inline(__always)
    static func run(
        _ entry: NativeKernelEntry, _ site: KernelSite, inputs: UnsafePointer<UnsafeRawPointer>,
        scalars: UnsafePointer<UInt64>, count: Int, output: UnsafeMutableRawPointer?, result: inout UInt64
    ) throws(Trap) {
        var flags = 0
        if let out = output, count * site.program.element.size >= NativeKernel.nonTemporalBytes,
            UInt(bitPattern: out) % 64 == 0
        {
            flags |= 1
        }
        let status = withUnsafeMutablePointer(to: &result) { r in
            entry(inputs, scalars, count, output, r, flags)
        }
        if status == 1 { throw Trap("integer division by zero") }
    }
}
