// Stacks.swift — the process-wide allocator of task stacks.
//
// Stacks are carved from arenas: one anonymous mmap (MAP_NORESERVE, no transparent huge
// pages) holding 64 slots of [guard | stack]. Pages are committed by the kernel on first
// touch, so a parked task costs the pages its frames touched (one, typically), not the
// configured size.
//
// Guard regions. Where the kernel has guard markers (MADV_GUARD_INSTALL, Linux 6.13; this
// machine has them), every stack gets one: markers live in the page tables and use no VMA.
// They are installed for a whole arena at once when it is mapped (process_madvise: ~0.7 µs a
// guard and one mmap-lock acquisition per 64 stacks; one madvise per stack costs 1.2 µs and,
// with 100k tasks starting, contends for the lock with malloc growing its heaps), else one
// stack at a time (a PROT_NONE mprotect costs 3.9 µs). Elsewhere guards are PROT_NONE mprotects,
// and those split the arena's mapping: each guarded stack costs 2 VMAs, and the kernel refuses
// mappings beyond vm.max_map_count (65,530 here) — 100,000 guarded stacks cannot exist. As
// folly's fiber GuardPageAllocator does, mprotect guards are therefore capped: at first use we
// read the limit and the VMAs already in use, and let guards take half of the remaining
// headroom (2 VMAs each, ~16,000 stacks here). Stacks beyond the cap are unguarded: their
// guard region is ordinary memory ("slack"), and the lowest VM_STACK_BAND bytes of the stack
// form a canary band that the scheduler checks, with the saved sp, at every switch
// (Machine.execute). A smashed band is the same fatal "stack overflow in task N" as a
// guard-page fault.
//
// Why a zero band instead of a magic canary word: writing a magic value would commit the
// stack's lowest page — a second 4 KiB per parked task — while checking that an untouched
// page is still zero maps the kernel's shared zero page and costs no resident memory (but one
// page fault, ~1.1 µs here, per fresh stack: another reason to prefer guard markers). Any
// frame crossing the band stores a return address into it, which is never zero.
//
// Where free stacks wait. A G takes a stack when it first runs (Machine.execute), on the M
// that runs it, and gives it back when it finishes; in between stacks sit in a small per-P
// cache (Task.swift), so a P whose tasks start and end keeps reusing the same few warm stacks
// whoever spawned them. Beyond that cache, stacks come here in batches and keep their pages:
// giving pages back (MADV_DONTNEED) costs a TLB shoot-down on every CPU running one of our
// threads — 15–20 µs a call here with two busy Ms, against 2 µs without — and the next task
// to get the stack then takes a page fault (~2.5 µs on this VM) to bring a zeroed page back.
// Doing that on the spawn and exit paths cost 100k short tasks about half of their time.
// So pages are given back lazily, by a scavenger that sysmon runs: a stack that has waited
// here a full scavenge period (100 ms) without being reused is released with its neighbours,
// in as few madvise calls as the arena layout allows (adjacent stacks in one range: ~0.5 µs a
// stack instead of one shoot-down each). Stacks keep their addresses (arenas are never
// unmapped once a stack is carved from them) and are handed out warm ones first.
//
// Free stacks are never zeroed on reuse: an old frame left on a stack is dead data. The band
// of an unguarded stack is zero when it comes back (Machine.execute checked it at the G's last
// switch) and stays zero after MADV_DONTNEED.
import CJITStubs
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

final class StackPool: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is guarded by `lock`; `scavengeAt` is atomic.

    static let shared = StackPool()

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Size of the guard (or slack) region below each stack. 16 KiB rather than one page:
    /// Swift does not probe large frames, and a frame bigger than the guard could jump over it.
    static let guardSize = 16 << 10
    static let slotsPerArena = 64
    /// How long a free stack keeps its pages here before the scavenger gives them back: one
    /// to two periods (stacks freed during one period are released at the end of the next).
    static let scavengePeriodNanoseconds: Int64 = 100_000_000
    /// Stacks carved per allocation when the pool is empty (many tasks starting at once on
    /// both Ms: one lock round trip per batch, not per task).
    static let carveBatch = 16

    /// How guard regions are made (detected once per process): markers for a whole arena at
    /// once (process_madvise), markers one stack at a time, or PROT_NONE.
    enum GuardKind { case arenaMarkers, markers, mprotect }
    static let guardKind: GuardKind = {
        // Try on scratch pages: EINVAL/ENOSYS mean a kernel without these.
        guard let pages = mmap(nil, 2 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            pages != MAP_FAILED
        else { return .mprotect }
        defer { munmap(pages, 2 * pageSize) }
        let base = UInt(bitPattern: pages)
        if vm_guard_install_strided(base, pageSize, 2, pageSize) == 0 { return .arenaMarkers }
        return vm_guard_install(base, pageSize) == 0 ? .markers : .mprotect
    }()

    /// The default number of guarded stacks: all of them with markers, else the VMA budget.
    static func defaultGuardLimit() -> Int { guardKind == .mprotect ? computeGuardLimit() : Int.max }

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
    private(set) var residentCount = 0  // pooled stacks that still hold their pages
    /// When sysmon should next run `scavenge` (Int64.max: nothing resident is waiting). Written
    /// under `lock`, read by sysmon without it.
    let scavengeAt = Atomic<Int64>(Int64.max)

    /// One mapping of `slotsPerArena` slots; `guarded`: every slot has its guard markers.
    private struct Arena {
        var base: UInt
        var guarded: Bool
    }

    /// Free stacks of one size, linked through vm_stack.next.
    private struct SizePool {
        var young: UnsafeMutablePointer<vm_stack>? = nil  // resident, freed this period
        var old: UnsafeMutablePointer<vm_stack>? = nil  // resident, freed last period: released next
        var clean: UnsafeMutablePointer<vm_stack>? = nil  // pages given back
        var arena = Arena(base: 0, guarded: false)  // where stacks are carved now
        var nextSlot = StackPool.slotsPerArena
        var spare: Arena? = nil  // mapped for when `arena` is used up

        mutating func pop() -> (UnsafeMutablePointer<vm_stack>, resident: Bool)? {
            if let st = young {
                young = st.pointee.next
                return (st, true)
            }
            if let st = old {
                old = st.pointee.next
                return (st, true)
            }
            if let st = clean {
                clean = st.pointee.next
                return (st, false)
            }
            return nil
        }
    }

    /// The process has one pool (`shared`); tests make private ones.
    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: vm_mutex())
        guardLimit = StackPool.defaultGuardLimit()
    }

    /// Half of the VMA headroom, 2 VMAs per guarded stack.
    static func computeGuardLimit() -> Int {
        let maxMapCount = readInteger("/proc/sys/vm/max_map_count") ?? 65530
        let inUse = countLines("/proc/self/maps") ?? 1000
        return max(0, (maxMapCount - inUse) / 2) / 2
    }

    /// Up to `count` pooled stacks of `size` bytes, warm ones first, linked through `next`; when
    /// none is pooled, up to `carveBatch` freshly carved ones. Returns the list and its length.
    func allocate(size: Int, upTo count: Int) -> (UnsafeMutablePointer<vm_stack>?, Int) {
        vm_mutex_lock(lock)
        var pool = pools[size] ?? SizePool()
        var head: UnsafeMutablePointer<vm_stack>? = nil
        var n = 0
        while n < count, let (st, resident) = pool.pop() {
            if resident { residentCount -= 1 }
            st.pointee.resident = 1  // pessimistic: it will be touched
            st.pointee.next = head
            head = st
            n += 1
        }
        if n > 0 {
            pooledCount -= n
            pools[size] = pool
            vm_mutex_unlock(lock)
            return (head, n)
        }
        if pool.nextSlot == StackPool.slotsPerArena && pool.spare == nil {
            // The arena is used up: map the next one without the lock (an mmap and the guards of
            // 64 stacks, ~50 µs, while the other M may want a stack too).
            let guards = StackPool.guardKind == .arenaMarkers && guardLimit == Int.max
            vm_mutex_unlock(lock)
            guard let fresh = mapArena(size: size, guards: guards) else {
                // The system refused the memory (RLIMIT_AS, overcommit): no stack. The caller makes
                // it the run's "out of memory" (startG).
                return (nil, 0)
            }
            vm_mutex_lock(lock)
            pool = pools[size] ?? SizePool()
            if pool.spare == nil {
                pool.spare = fresh
            } else {
                // Another thread mapped one meanwhile; nobody has seen ours. munmap does not
                // fail with EINTR.
                let bytes = StackPool.slotsPerArena * (StackPool.guardSize + size)
                munmap(UnsafeMutableRawPointer(bitPattern: fresh.base), bytes)
            }
        }
        var toGuard: [UnsafeMutablePointer<vm_stack>] = []
        while n < min(count, StackPool.carveBatch) {
            if pool.nextSlot == StackPool.slotsPerArena {
                guard let spare = pool.spare else { break }  // not on the first round (see above)
                pool.arena = spare
                pool.spare = nil
                pool.nextSlot = 0
            }
            let (st, guarded) = carve(&pool, size: size)
            if guarded { toGuard.append(st) }
            st.pointee.next = head
            head = st
            n += 1
        }
        pools[size] = pool
        vm_mutex_unlock(lock)
        // Outside the lock: system calls, and both Ms carve when many tasks start at once. The
        // slots are ours alone until we return them.
        for st in toGuard { installGuard(st) }
        return (head, n)
    }

    /// Protects the guard region of a freshly carved stack, already counted as guarded.
    private func installGuard(_ st: UnsafeMutablePointer<vm_stack>) {
        let ok: Bool
        switch StackPool.guardKind {
        case .arenaMarkers, .markers:
            ok = vm_guard_install(st.pointee.guard_lo, StackPool.guardSize) == 0
        case .mprotect:
            // mprotect does not fail with EINTR; ENOMEM means the map count ran out after all
            // (another part of the process took VMAs).
            ok = mprotect(UnsafeMutableRawPointer(bitPattern: st.pointee.guard_lo), StackPool.guardSize, PROT_NONE) == 0
        }
        if ok {
            st.pointee.guarded = 1
            return
        }
        // Stop guarding from here on; this stack relies on its band.
        vm_mutex_lock(lock)
        guardedCount -= 1
        guardLimit = guardedCount
        unguardedCount += 1
        vm_mutex_unlock(lock)
    }

    /// A new stack from the current arena (which has a free slot), and whether the caller is to
    /// install its guard (counted as guarded already). Lock held.
    private func carve(_ pool: inout SizePool, size: Int) -> (UnsafeMutablePointer<vm_stack>, guard: Bool) {
        let slotSize = StackPool.guardSize + size
        let slot = pool.arena.base + UInt(pool.nextSlot * slotSize)
        pool.nextSlot += 1

        let st = UnsafeMutablePointer<vm_stack>.allocate(capacity: 1)
        st.initialize(to: vm_stack())
        st.pointee.guard_lo = slot
        st.pointee.lo = slot + UInt(StackPool.guardSize)
        st.pointee.hi = st.pointee.lo + UInt(size)
        st.pointee.resident = 1
        if pool.arena.guarded {
            st.pointee.guarded = 1
            guardedCount += 1
            return (st, false)
        }
        if guardedCount < guardLimit {
            guardedCount += 1
            return (st, true)
        }
        unguardedCount += 1
        return (st, false)
    }

    /// Takes back stacks of one size, linked through `next`. Their pages stay until the
    /// scavenger gives them back (a stack reused before then costs no page fault).
    func release(list: UnsafeMutablePointer<vm_stack>) {
        let size = Int(list.pointee.hi - list.pointee.lo)
        var last = list
        var n = 1
        var resident = last.pointee.resident != 0 ? 1 : 0
        while let next = last.pointee.next {
            precondition(Int(next.pointee.hi - next.pointee.lo) == size, "StackPool.release: mixed stack sizes")
            resident += next.pointee.resident != 0 ? 1 : 0
            last = next
            n += 1
        }
        vm_mutex_lock(lock)
        var pool = pools[size] ?? SizePool()
        last.pointee.next = pool.young
        pool.young = list
        pools[size] = pool
        pooledCount += n
        residentCount += resident
        var armed: Int64 = Int64.max
        if scavengeAt.load(ordering: .relaxed) == Int64.max {
            armed = vm_nanotime() + StackPool.scavengePeriodNanoseconds
            scavengeAt.store(armed, ordering: .releasing)
        }
        vm_mutex_unlock(lock)
        // Sysmon may be asleep without a deadline (an idle scheduler): make it keep this one.
        if armed != Int64.max { Sysmon.deadlineArmed(armed) }
    }

    /// Sysmon, when `scavengeAt` has passed: gives back the pages of the stacks that waited a
    /// whole period (all of them with `all`, or when no scheduler is left to run sysmon) and
    /// ages the rest.
    func scavenge(now: Int64, all: Bool = false) {
        var victims: [UnsafeMutablePointer<vm_stack>] = []
        vm_mutex_lock(lock)
        if !all && now < scavengeAt.load(ordering: .relaxed) {
            vm_mutex_unlock(lock)
            return
        }
        var waiting = false
        for size in Array(pools.keys) {
            var pool = pools[size]!
            var list = pool.old
            pool.old = pool.young
            pool.young = nil
            if all {
                while let st = pool.old {
                    pool.old = st.pointee.next
                    st.pointee.next = list
                    list = st
                }
            }
            while let st = list {
                list = st.pointee.next
                victims.append(st)
            }
            if pool.old != nil { waiting = true }
            pools[size] = pool
        }
        // Taken out of the pool while their pages go: allocations meanwhile carve or use others.
        pooledCount -= victims.count
        residentCount -= victims.count
        scavengeAt.store(waiting ? now + StackPool.scavengePeriodNanoseconds : Int64.max, ordering: .releasing)
        vm_mutex_unlock(lock)
        if victims.isEmpty { return }
        StackPool.releasePages(&victims)
        vm_mutex_lock(lock)
        // One dictionary look-up per run of stacks of one size (there is one size in practice),
        // not two per stack: 100k tasks ending put 100k stacks back here.
        var i = 0
        while i < victims.count {
            let size = Int(victims[i].pointee.hi - victims[i].pointee.lo)
            var pool = pools[size]!
            while i < victims.count, Int(victims[i].pointee.hi - victims[i].pointee.lo) == size {
                let st = victims[i]
                st.pointee.next = pool.clean
                pool.clean = st
                i += 1
            }
            pools[size] = pool
        }
        pooledCount += victims.count
        vm_mutex_unlock(lock)
    }

    /// Gives back the pages of `stacks` (not in any list), with as few madvise calls as
    /// possible: stacks adjacent in their arena are released in one range, guard regions
    /// included (zeroing a guard or slack region is harmless: it holds nothing, and the band must
    /// be zero anyway). Sorts `stacks` by address.
    private static func releasePages(_ stacks: inout [UnsafeMutablePointer<vm_stack>]) {
        stacks.sort { $0.pointee.lo < $1.pointee.lo }
        var i = 0
        while i < stacks.count {
            guard stacks[i].pointee.resident != 0 else {
                i += 1
                continue
            }
            let start = stacks[i].pointee.lo
            var end = stacks[i].pointee.hi
            stacks[i].pointee.resident = 0
            i += 1
            while i < stacks.count && stacks[i].pointee.guard_lo == end && stacks[i].pointee.resident != 0 {
                end = stacks[i].pointee.hi
                stacks[i].pointee.resident = 0
                i += 1
            }
            // madvise does not fail with EINTR. Afterwards the pages read back as zeros.
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), MADV_DONTNEED)
        }
    }

    /// Counters under the lock.
    func snapshot() -> (guarded: Int, unguarded: Int, pooled: Int, resident: Int, guardLimit: Int) {
        vm_mutex_lock(lock)
        defer { vm_mutex_unlock(lock) }
        return (guardedCount, unguardedCount, pooledCount, residentCount, guardLimit)
    }

    /// Test hook: lower (or restore) the guard budget, to exercise the canary path.
    func setGuardLimitForTesting(_ limit: Int?) {
        vm_mutex_lock(lock)
        guardLimit = limit ?? StackPool.defaultGuardLimit()
        vm_mutex_unlock(lock)
    }

    /// fork(): taken before it (pthread_atfork's prepare), released normally in the parent (a
    /// thread that started waiting meanwhile must be woken: resetting the word would strand it),
    /// and reset in the child, where no other thread exists.
    func lockForFork() { vm_mutex_lock(lock) }
    func unlockInParentAfterFork() { vm_mutex_unlock(lock) }
    func resetInChildAfterFork() { lock.pointee = vm_mutex() }

    /// Maps an arena for stacks of `size` bytes; with `guards`, installs the guard markers of
    /// all its slots in one system call (guards not capped: the default with markers).
    /// nil when the system refuses the mapping.
    private func mapArena(size: Int, guards: Bool) -> Arena? {
        let slotSize = StackPool.guardSize + size
        let bytes = slotSize * StackPool.slotsPerArena
        // mmap does not fail with EINTR.
        guard
            let base = mmap(
                nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            base != MAP_FAILED
        else { return nil }
        // A huge page would make a parked task cost 2 MiB.
        #if os(Linux)
            _ = madvise(base, bytes, MADV_NOHUGEPAGE)
        #endif
        let start = UInt(bitPattern: base)
        let guarded =
            guards && vm_guard_install_strided(start, slotSize, StackPool.slotsPerArena, StackPool.guardSize) == 0
        return Arena(base: start, guarded: guarded)
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
