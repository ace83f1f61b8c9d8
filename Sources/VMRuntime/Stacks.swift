// Stacks.swift — the process-wide allocator of task stacks.
//
// Stacks are carved from arenas: one anonymous mmap (MAP_NORESERVE, no transparent huge
// pages) holding 64 slots of [guard | stack]. Pages are committed by the kernel on first
// touch, so a parked task costs the pages its frames touched (one, typically), not the
// configured size.
//
// Guard pages and vm.max_map_count. Making a slot's guard PROT_NONE splits the arena's
// mapping: each guarded stack costs 2 VMAs, and the kernel refuses mappings beyond
// vm.max_map_count (65,530 here) — 100,000 guarded stacks cannot exist. As folly's fiber
// GuardPageAllocator does, guards are therefore capped: at first use we read the limit and the
// VMAs already in use, and let guards take half of the remaining headroom (2 VMAs each,
// ~16,000 stacks here). Stacks beyond the cap are unguarded: their guard region is ordinary
// memory ("slack"), and the lowest VM_STACK_BAND bytes of the stack form a canary band that
// the scheduler checks, with the saved sp, at every switch (Machine.execute). A smashed band
// is the same fatal "stack overflow in task N" as a guard-page fault.
//
// Why a zero band instead of a magic canary word: writing a magic value would commit the
// stack's lowest page — a second 4 KiB per parked task — while checking that an untouched
// page is still zero maps the kernel's shared zero page and costs no resident memory. Any
// frame crossing the band stores a return address into it, which is never zero.
//
// Freed stacks live with their G on per-P and per-scheduler free lists (Task.swift). Beyond
// those lists' limits they come back here: MADV_DONTNEED releases their pages (and re-zeroes
// the band), and they wait, unmapped from RAM but still reserved, for the next allocation of
// the same size. Arenas are never unmapped.
import CJITStubs
import Glibc

final class StackPool: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is guarded by `lock`.

    static let shared = StackPool()

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Size of the guard (or slack) region below each stack. 16 KiB rather than one page:
    /// Swift does not probe large frames, and a frame bigger than the guard could jump over it.
    static let guardSize = 16 << 10
    static let slotsPerArena = 64

    static func roundedStackSize(_ requested: Int) -> Int {
        let minimum = 16 << 10
        let size = max(requested, minimum)
        return (size + pageSize - 1) / pageSize * pageSize
    }

    private let lock: UnsafeMutablePointer<vm_mutex>
    private var pools: [Int: SizePool] = [:]
    private(set) var guardLimit: Int
    private(set) var guardedCount = 0
    private(set) var unguardedCount = 0
    private(set) var pooledCount = 0

    private struct SizePool {
        var free: UnsafeMutablePointer<vm_stack>? = nil
        var arena: UInt = 0
        var nextSlot = StackPool.slotsPerArena
    }

    private init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: vm_mutex())
        guardLimit = StackPool.computeGuardLimit()
    }

    /// Half of the VMA headroom, 2 VMAs per guarded stack.
    static func computeGuardLimit() -> Int {
        let maxMapCount = readInteger("/proc/sys/vm/max_map_count") ?? 65530
        let inUse = countLines("/proc/self/maps") ?? 1000
        return max(0, (maxMapCount - inUse) / 2) / 2
    }

    /// A stack of `size` bytes (a multiple of the page size), reused or carved.
    func allocate(size: Int) -> UnsafeMutablePointer<vm_stack> {
        vm_mutex_lock(lock)
        defer { vm_mutex_unlock(lock) }
        if let st = pools[size]?.free {
            pools[size]!.free = st.pointee.next
            st.pointee.next = nil
            pooledCount -= 1
            st.pointee.resident = 1
            return st
        }
        var pool = pools[size] ?? SizePool()
        let slotSize = StackPool.guardSize + size
        if pool.nextSlot == StackPool.slotsPerArena {
            pool.arena = mapArena(bytes: slotSize * StackPool.slotsPerArena)
            pool.nextSlot = 0
        }
        let slot = pool.arena + UInt(pool.nextSlot * slotSize)
        pool.nextSlot += 1
        pools[size] = pool

        let st = UnsafeMutablePointer<vm_stack>.allocate(capacity: 1)
        st.initialize(to: vm_stack())
        st.pointee.guard_lo = slot
        st.pointee.lo = slot + UInt(StackPool.guardSize)
        st.pointee.hi = st.pointee.lo + UInt(size)
        st.pointee.resident = 1
        if guardedCount < guardLimit {
            // mprotect does not fail with EINTR; ENOMEM means the map count ran out after all
            // (another part of the process took VMAs): stop guarding from here on.
            if mprotect(UnsafeMutableRawPointer(bitPattern: slot), StackPool.guardSize, PROT_NONE) == 0 {
                st.pointee.guarded = 1
                guardedCount += 1
                return st
            }
            guardLimit = guardedCount
        }
        unguardedCount += 1
        return st
    }

    /// Takes back a stack: its pages are released to the kernel.
    func release(_ st: UnsafeMutablePointer<vm_stack>) {
        release([st])
    }

    /// Takes back stacks of one size. Their pages are released with as few madvise calls as
    /// possible: each call costs a TLB shoot-down on every CPU running one of our threads, so
    /// stacks adjacent in their arena (the usual case: tasks spawned together end together) are
    /// released in one range, guard regions included (zeroing a guard or slack region is
    /// harmless: it holds nothing, and the band must be zero anyway).
    func release(_ stacks: [UnsafeMutablePointer<vm_stack>]) {
        guard let first = stacks.first else { return }
        let resident = stacks.filter { $0.pointee.resident != 0 }.sorted { $0.pointee.lo < $1.pointee.lo }
        var i = 0
        while i < resident.count {
            let start = resident[i].pointee.lo
            var end = resident[i].pointee.hi
            resident[i].pointee.resident = 0
            i += 1
            while i < resident.count && resident[i].pointee.guard_lo == end {
                end = resident[i].pointee.hi
                resident[i].pointee.resident = 0
                i += 1
            }
            // madvise does not fail with EINTR. Afterwards the pages read back as zeros.
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), MADV_DONTNEED)
        }
        let size = Int(first.pointee.hi - first.pointee.lo)
        vm_mutex_lock(lock)
        var pool = pools[size] ?? SizePool()
        for st in stacks {
            precondition(Int(st.pointee.hi - st.pointee.lo) == size, "StackPool.release: mixed stack sizes")
            st.pointee.next = pool.free
            pool.free = st
        }
        pools[size] = pool
        pooledCount += stacks.count
        vm_mutex_unlock(lock)
    }

    /// Counters under the lock.
    func snapshot() -> (guarded: Int, unguarded: Int, pooled: Int, guardLimit: Int) {
        vm_mutex_lock(lock)
        defer { vm_mutex_unlock(lock) }
        return (guardedCount, unguardedCount, pooledCount, guardLimit)
    }

    /// Test hook: lower (or restore) the guard budget, to exercise the canary path.
    func setGuardLimitForTesting(_ limit: Int?) {
        vm_mutex_lock(lock)
        guardLimit = limit ?? StackPool.computeGuardLimit()
        vm_mutex_unlock(lock)
    }

    func lockForFork() { vm_mutex_lock(lock) }
    func unlockAfterFork() { lock.pointee = vm_mutex() }

    private func mapArena(bytes: Int) -> UInt {
        // mmap does not fail with EINTR.
        guard
            let base = mmap(
                nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            base != MAP_FAILED
        else {
            fatalError("VMRuntime: cannot map \(bytes) bytes for task stacks (errno \(errno))")
        }
        // A huge page would make a parked task cost 2 MiB.
        _ = madvise(base, bytes, MADV_NOHUGEPAGE)
        return UInt(bitPattern: base)
    }
}

// MARK: - /proc helpers

/// Reads a whole small file; retries on EINTR.
func readSmallFile(_ path: String) -> [UInt8]? {
    var fd: Int32
    repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
    guard fd >= 0 else { return nil }
    defer { _ = close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

func readInteger(_ path: String) -> Int? {
    guard let bytes = readSmallFile(path) else { return nil }
    return Int(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n"))
}

func countLines(_ path: String) -> Int? {
    guard let bytes = readSmallFile(path) else { return nil }
    return bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let c = s.first, chars.contains(c) { s.removeFirst() }
        while let c = s.last, chars.contains(c) { s.removeLast() }
        return String(s)
    }
}
