// The code heap: where native kernels live. One virtual range is reserved once (PROT_NONE); each
// piece of code gets fresh pages at the end of the used part, is written while those pages are
// read-write, then made read-execute and never written again. So no page is ever writable and
// executable at once (W^X), code that other threads are running is never touched, and adjacent
// read-execute pages merge into one mapping. The whole range is registered with VMRuntime as the
// region where asynchronous preemption may interrupt a task (DESIGN.md: every instruction of JIT
// code is an async safe point).

import Synchronization
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

final class CodeHeap: @unchecked Sendable {
    /// Reserved virtual bytes: room for thousands of kernels; only used pages cost memory.
    static let reservation = 64 << 20

    static let shared: CodeHeap? = CodeHeap()

    let base: UnsafeMutableRawPointer
    let size: Int
    private let pageSize: Int
    /// Bytes of the reservation handed out so far (guarded by `lock`).
    private var used = 0
    private let lock = Mutex(())

    private init?() {
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        size = CodeHeap.reservation
        let p = mmap(nil, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { return nil }
        base = p
        // Every instruction placed here is an async safe point (see KernelLowering / FunctionLowering):
        // tell the signal handler it may interrupt code in this range.
        registeredForPreemption = AsyncPreemption.registerCodeRegion(start: UnsafeRawPointer(p), length: size)
    }

    /// Whether the range is registered as asynchronously preemptible.
    private(set) var registeredForPreemption = false

    var range: Range<UInt> { UInt(bitPattern: base)..<UInt(bitPattern: base) + UInt(size) }

    func contains(_ address: UnsafeRawPointer) -> Bool { range.contains(UInt(bitPattern: address)) }

    /// Copies `bytes` into fresh pages and makes them executable. Returns the code's address, or nil
    /// when the heap is full or the kernel refuses a protection change.
    func install(_ bytes: [UInt8]) -> UnsafeRawPointer? {
        lock.withLock { _ -> UnsafeRawPointer? in
            let length = (bytes.count + pageSize - 1) / pageSize * pageSize
            guard length > 0, used + length <= size else { return nil }
            let start = base + used
            // Write while RW (not executable) ...
            guard mprotect(start, length, PROT_READ | PROT_WRITE) == 0 else { return nil }
            bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            // ... then RX (not writable), for good.
            guard mprotect(start, length, PROT_READ | PROT_EXEC) == 0 else {
                _ = mprotect(start, length, PROT_NONE)
                return nil
            }
            used += length
            return UnsafeRawPointer(start)
        }
    }

    var bytesUsed: Int { lock.withLock { _ in used } }
}
