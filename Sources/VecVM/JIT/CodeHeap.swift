// The code heap: where native kernels and functions live. One virtual range is reserved once
// (PROT_NONE); each piece of code gets whole pages of it, is written while those pages are
// read-write, then made read-execute and never written again while it lives. So no page is ever
// writable and executable at once (W^X), and code that other threads are running is never touched.
// The whole range is registered with VMRuntime as the region where asynchronous preemption may
// interrupt a task (DESIGN.md: every instruction of JIT code is an async safe point).
//
// Code is freed when nothing can call it any more (NativeCode's deinit: the last kernel site or
// function holding it went away with its program): its pages go back to PROT_NONE, their memory to
// the system (MADV_DONTNEED), and the range to a free list that later code reuses. A stale call
// into freed code faults instead of running something else. Before freeing existed, every function
// kept its pages for the life of the process and the heap was full after ~16,000 of them.

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
    /// Reserved virtual bytes: room for thousands of live kernels; only used pages cost memory.
    static let reservation = 64 << 20

    static let shared: CodeHeap? = CodeHeap()

    let base: UnsafeMutableRawPointer
    let size: Int
    let pageSize: Int
    private struct State {
        /// Pages of the reservation ever handed out (from the bottom up).
        var top = 0
        /// Free runs of pages below `top`, sorted by start, never adjacent (coalesced).
        var free: [(start: Int, count: Int)] = []
        /// Pages in use.
        var used = 0
    }
    private let state = VMMutex(State())

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

    /// Copies `bytes` into free pages and makes them executable. Returns the code's address and
    /// the bytes of pages it took, or nil when the heap is full or the kernel refuses a protection
    /// change. Give the pages back with `release` once nothing can call the code.
    func install(_ bytes: [UInt8]) -> (address: UnsafeRawPointer, length: Int)? {
        let pages = (bytes.count + pageSize - 1) / pageSize
        guard pages > 0 else { return nil }
        return state.withLock { s -> (UnsafeRawPointer, Int)? in
            var first = -1
            if let i = s.free.firstIndex(where: { $0.count >= pages }) {
                first = s.free[i].start
                if s.free[i].count == pages {
                    s.free.remove(at: i)
                } else {
                    s.free[i] = (s.free[i].start + pages, s.free[i].count - pages)
                }
            } else if (s.top + pages) * pageSize <= size {
                first = s.top
                s.top += pages
            } else {
                return nil
            }
            let start = base + first * pageSize
            let length = pages * pageSize
            // Write while RW (not executable) ...
            guard mprotect(start, length, PROT_READ | PROT_WRITE) == 0 else {
                CodeHeap.giveBack(&s, first, pages)
                return nil
            }
            bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            // ... then RX (not writable) for as long as the code lives.
            guard mprotect(start, length, PROT_READ | PROT_EXEC) == 0 else {
                _ = mprotect(start, length, PROT_NONE)
                CodeHeap.giveBack(&s, first, pages)
                return nil
            }
            s.used += pages
            return (UnsafeRawPointer(start), length)
        }
    }

    /// Frees the pages of code installed at `address` (`length` from install). Nothing may call
    /// the code any more: its pages become inaccessible and their memory goes back to the system.
    func release(_ address: UnsafeRawPointer, length: Int) {
        let start = UnsafeMutableRawPointer(mutating: address)
        _ = madvise(start, length, MADV_DONTNEED)
        _ = mprotect(start, length, PROT_NONE)
        state.withLock { s in
            let first = UnsafeRawPointer(base).distance(to: address) / pageSize
            s.used -= length / pageSize
            CodeHeap.giveBack(&s, first, length / pageSize)
        }
    }

    /// Puts a run of pages back on the free list, merged with its neighbours (and with the
    /// untouched space above `top`).
    private static func giveBack(_ s: inout State, _ start: Int, _ count: Int) {
        var run = (start: start, count: count)
        let i = s.free.firstIndex { $0.start > start } ?? s.free.count
        if i < s.free.count, run.start + run.count == s.free[i].start {
            run.count += s.free[i].count
            s.free.remove(at: i)
        }
        if i > 0, s.free[i - 1].start + s.free[i - 1].count == run.start {
            run = (s.free[i - 1].start, s.free[i - 1].count + run.count)
            s.free.remove(at: i - 1)
            s.free.insert(run, at: i - 1)
        } else {
            s.free.insert(run, at: i)
        }
        // A run that ends at the top shrinks the used part instead.
        if let last = s.free.last, last.start + last.count == s.top {
            s.top = last.start
            s.free.removeLast()
        }
    }

    /// Bytes of pages holding live code.
    var bytesUsed: Int { state.withLock { $0.used } * pageSize }
}

/// Machine code in the code heap, freed when this object goes (the kernel sites and functions
/// that may call it hold it; see NativeFunction and KernelCode).
final class NativeCode: @unchecked Sendable {
    // @unchecked Sendable: immutable; the heap synchronizes itself.
    let address: UnsafeRawPointer
    /// Bytes of code and data written; the pages taken are `length`.
    let byteCount: Int
    private let length: Int

    /// Installs `bytes`; nil when the heap is full or unavailable.
    init?(_ bytes: [UInt8]) {
        guard let heap = CodeHeap.shared, let (address, length) = heap.install(bytes) else { return nil }
        self.address = address
        self.byteCount = bytes.count
        self.length = length
    }

    deinit { CodeHeap.shared?.release(address, length: length) }

    /// A copy of the installed bytes (for `vecvm jit-dump`).
    var machineCode: [UInt8] { Array(UnsafeRawBufferPointer(start: address, count: byteCount)) }
}
