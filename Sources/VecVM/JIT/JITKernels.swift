// The JIT's kernel backend: compiles each KernelProgram to native code on first use (KernelLowering),
// installs it in the CodeHeap, shares it process-wide by program (a kernel is compiled once however
// many sites or programs use it at the same time) and per site (a hot site pays one atomic load),
// and calls it. A kernel that cannot be lowered (integer division, too many registers) runs in the
// interpreter's evaluator, with the reason kept for --stats and jit-dump.
//
// Lifetime: each site that uses a kernel holds its KernelCode; the process-wide cache holds it only
// weakly. When the last program using a kernel goes, its code is freed (NativeCode) and its cache
// entry forgotten; a later program compiles it again. So a process that compiles programs for ever
// keeps only the code of those still alive (issue 16.4).
//
// Instruction set: kernels are lowered for JITSupport.kernelISA (AVX-512 where the machine has it, unless
// VECVM_JIT_ISA=avx2); tests ask for either with `entry(for:isa:)`, so the cache is keyed by program and
// ISA. A kernel the 512-bit lowering does not cover keeps its AVX2 code; each such kernel is counted and
// its reason kept (`avx512Fallbacks`, shown by --stats and jit-dump), never silently.

import Synchronization
import VMRuntime

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
    /// Numbered in order of compilation in this process (jit-dump's kernel-N.bin).
    let number: Int
    let native: NativeCode?
    let fallback: String?
    /// The ISA asked for (the cache key) and the one the native code is for.
    let requested: KernelISA
    let isa: KernelISA

    fileprivate init(
        program: KernelProgram, number: Int, native: NativeCode?, fallback: String?, requested: KernelISA,
        isa: KernelISA
    ) {
        self.program = program
        self.number = number
        self.native = native
        self.fallback = fallback
        self.requested = requested
        self.isa = isa
    }

    /// The site's `nativeEntry` value: the code's address, or 1 when it is interpreted.
    var entry: UInt { native.map { UInt(bitPattern: $0.address) } ?? 1 }

    deinit { JITCache.shared.forget(program, requested) }
}

/// Process-wide cache of compiled kernels, by program (weakly: see the top of this file).
final class JITCache: Sendable {
    static let shared = JITCache()
    /// Fallback reasons kept for --stats and tests (the most recent ones).
    static let fallbackLog = 256

    private final class Weak: @unchecked Sendable {
        weak var code: KernelCode?
        init(_ code: KernelCode) { self.code = code }
    }

    private struct Key: Hashable {
        let program: KernelProgram
        let isa: KernelISA
    }

    private struct State {
        var live: [Key: Weak] = [:]
        var fallbacks: [String] = []
        /// Kernels asked for at 512 bits that got AVX2 code, and why (the most recent ones).
        var avx512Fallbacks: [String] = []
        var avx512FallbackCount = 0
        var count = 0
        /// Kernels given native code in this process, freed ones included.
        var nativeCount = 0
        /// Kept for good (`entry(for:)`, which callers use without a site to hold the code).
        var pinned: [KernelCode] = []
    }
    private let state = VMMutex(State())

    /// The code for `program` lowered for `isa`, compiling it if no live program has it.
    func code(for program: KernelProgram, isa requested: KernelISA = JITSupport.kernelISA) -> KernelCode {
        let key = Key(program: program, isa: requested)
        if let c = state.withLock({ $0.live[key]?.code }) { return c }
        var native: NativeCode?
        var fallback: String?
        var isa = requested
        var notAt512: String?
        do {
            let bytes: [UInt8]
            do {
                bytes = try KernelLowering.lower(program, isa: requested)
            } catch .notAt512(let why) {
                notAt512 = "\(program): \(why)"
                isa = .avx2
                bytes = try KernelLowering.lower(program, isa: .avx2)
            }
            native = NativeCode(bytes)
            if native == nil { fallback = "\(program): the code heap is full or unavailable" }
        } catch {
            fallback = "\(program): \(error)"
        }
        // Ours, or the one another thread installed meanwhile (ours is then released after the
        // lock: its deinit takes the lock too).
        var mine: KernelCode?
        let chosen = state.withLock { s -> KernelCode in
            if let c = s.live[key]?.code { return c }
            s.count += 1
            if native != nil { s.nativeCount += 1 }
            let c = KernelCode(
                program: program, number: s.count - 1, native: native, fallback: fallback, requested: requested,
                isa: isa)
            s.live[key] = Weak(c)
            if let notAt512 {
                s.avx512FallbackCount += 1
                s.avx512Fallbacks.append(notAt512)
                if s.avx512Fallbacks.count > JITCache.fallbackLog { s.avx512Fallbacks.removeFirst() }
            }
            if let fallback {
                s.fallbacks.append(fallback)
                if s.fallbacks.count > JITCache.fallbackLog { s.fallbacks.removeFirst() }
            }
            mine = c
            return c
        }
        _ = mine
        return chosen
    }

    /// A dead entry's last holder went: forget it (unless a new one for the program replaced it).
    fileprivate func forget(_ program: KernelProgram, _ isa: KernelISA) {
        // A weak load makes a strong reference: it is dropped after the lock, or its release could
        // run a deinit (and so this function) inside it.
        let key = Key(program: program, isa: isa)
        var current: KernelCode?
        state.withLock { s in
            guard let w = s.live[key] else { return }
            current = w.code
            if current == nil { s.live[key] = nil }
        }
        _ = current
    }

    /// The entry for `program` (see KernelCode.entry), its code kept for the life of the process:
    /// for callers without a kernel site (tests, tools).
    func entry(for program: KernelProgram, isa: KernelISA = JITSupport.kernelISA) -> UInt {
        let c = code(for: program, isa: isa)
        state.withLock { $0.pinned.append(c) }
        return c.entry
    }

    /// Live kernels with native code, in order of compilation.
    var compiled: [CompiledKernel] {
        let codes = state.withLock { s in s.live.values.compactMap(\.code) }
        return codes.compactMap { c in
            c.native.map {
                CompiledKernel(
                    number: c.number, program: c.program.description, element: c.program.element,
                    bytes: $0.machineCode, address: UInt(bitPattern: $0.address))
            }
        }.sorted { $0.number < $1.number }
    }
    /// Kernels compiled to native code in this process so far, those freed with their programs
    /// included (`compiled` lists the live ones).
    var nativeTotal: Int { state.withLock { $0.nativeCount } }
    /// The most recent reasons kernels stayed interpreted.
    var fallbacks: [String] { state.withLock { $0.fallbacks } }
    /// Kernels asked for at 512 bits that kept AVX2 code in this process, and the most recent reasons.
    var avx512FallbackCount: Int { state.withLock { $0.avx512FallbackCount } }
    var avx512Fallbacks: [String] { state.withLock { $0.avx512Fallbacks } }
    /// Bytes of live kernel code.
    var codeBytes: Int {
        state.withLock { s in s.live.values.compactMap(\.code) }.reduce(0) { $0 + ($1.native?.byteCount ?? 0) }
    }
}

final class JITKernels: KernelBackend {
    /// Outputs at least this large are written with non-temporal stores (they would only evict the
    /// inputs from the caches). Only at a 64-byte aligned output: a ZMM non-temporal store needs it.
    static let nonTemporalBytes = 1 << 20

    func runNative(
        _ site: KernelSite, inputs: UnsafePointer<UnsafeRawPointer>, scalars: UnsafePointer<UInt64>, count: Int,
        output: UnsafeMutableRawPointer?, result: inout UInt64
    ) throws(Trap) -> Bool {
        var entry = site.nativeEntry.load(ordering: .acquiring)
        if entry == 0 {
            // The site holds the code for as long as its function lives; the entry is published
            // after it is held.
            let code = JITCache.shared.code(for: site.program)
            entry = site.holdNativeCode(code)
        }
        guard entry > 1, let address = UnsafeRawPointer(bitPattern: entry) else { return false }
        let function = unsafeBitCast(address, to: NativeKernelEntry.self)
        var flags = 0
        if let out = output, count * site.program.element.size >= JITKernels.nonTemporalBytes,
            UInt(bitPattern: out) % 64 == 0
        {
            flags |= 1
        }
        let status = withUnsafeMutablePointer(to: &result) { r in
            function(inputs, scalars, count, output, r, flags)
        }
        if status == 1 { throw Trap("integer division by zero") }
        return true
    }
}
