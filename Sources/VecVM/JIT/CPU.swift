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
    static let features = vm_cpu_features()

    /// The CPU and OS allow AVX2 + FMA code.
    static let hardware: Bool = features.avx && features.avx2 && features.fma && features.os_ymm

    /// `VECVM_ISA=none` forces the interpreter (for tests and comparisons).
    static let forcedOff: Bool = {
        guard let v = getenv("VECVM_ISA") else { return false }
        let s = String(cString: v).lowercased()
        return s == "none" || s == "interp" || s == "interpreter"
    }()

    static var available: Bool { hardware && !forcedOff }

    static var description: String {
        var parts: [String] = []
        if features.avx2 { parts.append("avx2") }
        if features.fma { parts.append("fma") }
        if features.avx512f { parts.append("avx512f") }
        if !features.os_ymm { parts.append("no-os-ymm") }
        return parts.joined(separator: ",")
    }
}
