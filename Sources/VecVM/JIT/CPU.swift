// Whether this machine may run the JIT's native code: AVX2 and FMA implemented by the CPU (CPUID) and
// YMM state enabled by the OS (XGETBV). Without them, or with VECVM_ISA=none in the environment, the
// interpreter runs every kernel.

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

    static var description: String {
        var parts: [String] = []
        if features.avx2 { parts.append("avx2") }
        if features.fma { parts.append("fma") }
        if features.avx512f { parts.append("avx512f") }
        if !features.os_ymm { parts.append("no-os-ymm") }
        return parts.joined(separator: ",")
    }
}
