// Whether this machine may run the JIT's native code: AVX2 and FMA implemented by the CPU (CPUID) and
// YMM state enabled by the OS (XGETBV). Without them, or with VECVM_ISA=none in the environment, the
// interpreter runs every kernel.
//
// Which instruction set the kernels are lowered to (`KernelISA`): AVX-512 (512-bit zmm code, 32 vector
// registers, opmask registers) where the CPU has AVX512F+DQ+VL+BW and the OS saves the opmask and ZMM
// state (XCR0 bits 5–7), else AVX2/FMA. AVX512BW is required too because the asynchronous-preemption
// trampoline saves zmm0–31 and k0–7 exactly under that condition (CJITStubs/preempt.c), and the 512-bit
// kernels use all of them. `VECVM_JIT_ISA=avx2` forces the AVX2 kernels (for tests and comparisons).

import CJITStubs

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

enum JITSupport {
    /// Whether this build has the JIT: x86-64 Linux, unless built with `VECVM_NO_JIT` (Package.swift).
    /// Without it the code below still compiles, but no native code is ever made or run.
    #if arch(x86_64) && os(Linux) && !VECVM_NO_JIT
        static let compiledIn = true
    #else
        static let compiledIn = false
    #endif

    static let features = vm_cpu_features()

    /// The CPU and OS allow AVX2 + FMA code.
    static let hardware: Bool = features.avx && features.avx2 && features.fma && features.os_ymm

    /// `VECVM_ISA=none` forces the interpreter (for tests and comparisons).
    static let forcedOff: Bool = {
        guard let v = getenv("VECVM_ISA") else { return false }
        let s = String(cString: v).lowercased()
        return s == "none" || s == "interp" || s == "interpreter"
    }()

    static var available: Bool { compiledIn && hardware && !forcedOff }

    /// Why kernels run in the interpreter when the JIT is not available (nil when it is).
    static var unavailableReason: String? {
        if !compiledIn { return "compiled-out" }
        if !hardware { return "cpu-lacks-avx2-fma" }
        if forcedOff { return "VECVM_ISA=none" }
        return nil
    }

    /// The CPU and OS allow the 512-bit kernels (see the top of this file).
    static let avx512Hardware: Bool =
        hardware && features.avx512f && features.avx512dq && features.avx512vl && features.avx512bw
        && features.os_zmm

    /// `VECVM_JIT_ISA=avx2` forces the AVX2 kernels on an AVX-512 machine; `avx512` (or unset) takes
    /// AVX-512 where the machine has it.
    static let forcedAVX2: Bool = {
        guard let v = getenv("VECVM_JIT_ISA") else { return false }
        return String(cString: v).lowercased() == "avx2"
    }()

    /// `VECVM_JIT_GPRS=N` (2 or more) lets native functions color their integers with at most N
    /// general registers, so that the rest are spilled (FunctionLowering.allocateWithSpills): the
    /// differential tests run every program so to check the spill path. Unset: all of them.
    static let gprLimit: Int? = {
        guard let v = getenv("VECVM_JIT_GPRS"), let n = Int(String(cString: v)), n >= 2 else { return nil }
        return n
    }()

    /// What kernels are lowered to in this process.
    static let kernelISA: KernelISA = avx512Hardware && !forcedAVX2 ? .avx512 : .avx2

    static var description: String {
        var parts: [String] = []
        if features.avx2 { parts.append("avx2") }
        if features.fma { parts.append("fma") }
        if features.avx512f { parts.append("avx512f") }
        if avx512Hardware { parts.append("avx512-kernels-possible") }
        if !features.os_ymm { parts.append("no-os-ymm") }
        return parts.joined(separator: ",")
    }
}

/// The instruction set a kernel is lowered to.
enum KernelISA: String, Sendable, Hashable, CaseIterable {
    case avx2
    case avx512
}
