// The JIT's kernel backend: compiles each KernelProgram to native code on first use (KernelLowering),
// installs it in the CodeHeap, caches it process-wide by program (so a kernel is compiled once however
// many sites or programs use it) and per site (so a hot site pays one atomic load), and calls it.
// A kernel that cannot be lowered (integer division, too many registers) is recorded as a fallback
// and runs in the interpreter's evaluator.

import Synchronization

/// The native entry point (see KernelLowering.swift for the ABI).
typealias NativeKernelEntry =
    @convention(c) (
        UnsafePointer<UnsafeRawPointer>, UnsafePointer<UInt64>, Int, UnsafeMutableRawPointer?,
        UnsafeMutablePointer<UInt64>, Int
    ) -> Int

/// One compiled kernel, as `jit-dump` lists it.
struct CompiledKernel: Sendable {
    let number: Int
    let program: String
    let element: ElementKind
    let bytes: [UInt8]
    let address: UInt
}

/// Process-wide cache of compiled kernels.
final class JITCache: Sendable {
    static let shared = JITCache()

    private struct State {
        var entries: [KernelProgram: UInt] = [:]  // 1 = cannot be lowered
        var compiled: [CompiledKernel] = []
        var fallbacks: [String] = []
        var bytes = 0
    }
    private let state = Mutex(State())

    /// The entry for `program`, compiling it if needed; nil when it cannot be lowered.
    func entry(for program: KernelProgram) -> UInt {
        if let e = state.withLock({ $0.entries[program] }) { return e }
        let result: UInt
        var record: CompiledKernel?
        var fallback: String?
        do {
            let bytes = try KernelLowering.lower(program)
            if let heap = CodeHeap.shared, let address = heap.install(bytes) {
                result = UInt(bitPattern: address)
                record = CompiledKernel(
                    number: 0, program: program.description, element: program.element, bytes: bytes, address: result)
            } else {
                result = 1
                fallback = "\(program): the code heap is full or unavailable"
            }
        } catch {
            result = 1
            fallback = "\(program): \(error)"
        }
        return state.withLock { s in
            if let e = s.entries[program] { return e }  // another thread won the race
            s.entries[program] = result
            if let r = record {
                s.compiled.append(
                    CompiledKernel(
                        number: s.compiled.count, program: r.program, element: r.element, bytes: r.bytes,
                        address: r.address))
                s.bytes += r.bytes.count
            }
            if let f = fallback { s.fallbacks.append(f) }
            return result
        }
    }

    var compiled: [CompiledKernel] { state.withLock { $0.compiled } }
    var fallbacks: [String] { state.withLock { $0.fallbacks } }
    var codeBytes: Int { state.withLock { $0.bytes } }
}

final class JITKernels: KernelBackend {
    /// Outputs at least this large are written with non-temporal stores (they would only evict the
    /// inputs from the caches).
    static let nonTemporalBytes = 1 << 20

    func runNative(
        _ site: KernelSite, inputs: UnsafePointer<UnsafeRawPointer>, scalars: UnsafePointer<UInt64>, count: Int,
        output: UnsafeMutableRawPointer?, result: inout UInt64
    ) throws(Trap) -> Bool {
        var entry = site.nativeEntry.load(ordering: .acquiring)
        if entry == 0 {
            entry = JITCache.shared.entry(for: site.program)
            site.nativeEntry.store(entry, ordering: .releasing)
        }
        guard entry > 1, let address = UnsafeRawPointer(bitPattern: entry) else { return false }
        let function = unsafeBitCast(address, to: NativeKernelEntry.self)
        var flags = 0
        if let out = output, count * site.program.element.size >= JITKernels.nonTemporalBytes,
            UInt(bitPattern: out) % 32 == 0
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
