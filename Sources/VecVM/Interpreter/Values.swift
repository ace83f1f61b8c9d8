// Heap values of the VM: strings and arrays. Scalars and SIMD values live unboxed in registers; these
// live in the object registers and are reference counted by Swift.

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An immutable `str` value. Strings a program makes are charged to its VM's memory account (see
/// `make`); constants of a program (`init`) are part of the program.
final class VMString {
    let value: String
    private let account: MemoryAccount?
    private let charged: Int

    /// A constant: not charged.
    init(_ value: String) {
        self.value = value
        account = nil
        charged = 0
    }

    private init(_ value: String, account: MemoryAccount, charged: Int) {
        self.value = value
        self.account = account
        self.charged = charged
    }

    deinit { account?.release(charged) }

    /// Charged bytes of a string of `utf8Count` bytes: its bytes and this object.
    static func cost(utf8Count: Int) -> Int { utf8Count + 48 }

    /// A string the program made (concatenation, formatting, a host function's result), charged to
    /// `account`; "out of memory" when the account cannot cover it. Check the size with `admit`
    /// before building a large string, so that it is never built over the limit.
    static func make(_ value: String, _ account: MemoryAccount) throws(Trap) -> VMString {
        let bytes = cost(utf8Count: value.utf8.count)
        guard account.reserve(bytes) else { throw outOfMemory(bytes) }
        return VMString(value, account: account, charged: bytes)
    }

    /// Throws "out of memory" if a string of `utf8Count` bytes would not fit now.
    static func admit(utf8Count: Int, _ account: MemoryAccount) throws(Trap) {
        let bytes = cost(utf8Count: utf8Count)
        if account.used.load(ordering: .relaxed) + bytes > account.limit { throw outOfMemory(bytes) }
    }

    private static func outOfMemory(_ bytes: Int) -> Trap { Trap("out of memory (a string of \(bytes) bytes)") }
}

/// Bytes charged to a MemoryAccount for as long as the object lives (a channel's buffer).
final class MemoryCharge {
    let account: MemoryAccount
    let bytes: Int

    init?(_ bytes: Int, on account: MemoryAccount) {
        guard account.reserve(bytes) else { return nil }
        self.account = account
        self.bytes = bytes
    }

    deinit { account.release(bytes) }
}

/// Bytes of memory a VM's programs may hold at once — arrays, strings, channels, tasks with their
/// stacks and frames (VMConfiguration.memoryLimit); exceeding it is the runtime error "out of
/// memory". Also counts the VM's live tasks (VMConfiguration.maxTasks).
final class MemoryAccount: Sendable {
    let limit: Int
    let used = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
    /// Tasks whose state exists (TaskState), the main tasks included.
    let tasks = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Reserves `bytes`, or returns false when that would pass the limit.
    func reserve(_ bytes: Int) -> Bool {
        // wrappingAdd returns (oldValue, newValue): the check is on the new total.
        let (_, after) = used.wrappingAdd(bytes, ordering: .relaxed)
        if after > limit || after < 0 {
            used.wrappingSubtract(bytes, ordering: .relaxed)
            return false
        }
        var p = peak.load(ordering: .relaxed)
        while after > p {
            let (exchanged, original) = peak.compareExchange(expected: p, desired: after, ordering: .relaxed)
            if exchanged { break }
            p = original
        }
        return true
    }

    func release(_ bytes: Int) { used.wrappingSubtract(bytes, ordering: .relaxed) }

    enum TaskEntry { case entered, tooManyTasks, outOfMemory }

    /// Counts one more task (at most `maxTasks`) and reserves `bytes` for it; nothing is taken when
    /// either is refused. (Methods of the account, so that a task's spawn and end do not retain it
    /// to reach its counters: a retain is one more atomic operation on this shared object.)
    func enterTask(_ bytes: Int, maxTasks: Int?) -> TaskEntry {
        let n = tasks.wrappingAdd(1, ordering: .relaxed).newValue
        if let maxTasks, n > maxTasks {
            tasks.wrappingSubtract(1, ordering: .relaxed)
            return .tooManyTasks
        }
        if !reserve(bytes) {
            tasks.wrappingSubtract(1, ordering: .relaxed)
            return .outOfMemory
        }
        return .entered
    }

    /// A task's end (`enterTask`): gives back its `bytes` and its place among the tasks.
    func leaveTask(_ bytes: Int) {
        used.wrappingSubtract(bytes, ordering: .relaxed)
        tasks.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Default cap: three quarters of physical memory, so that a huge `fill` is a clean error rather
    /// than a visit from the kernel's OOM killer.
    static var defaultLimit: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return Int.max / 2 }
        return pages / 4 * 3 * size
    }
}

struct OutOfMemory: Error {}

/// An array: a 64-byte aligned buffer of `count` elements of one kind, shared by reference.
/// - Note: `data` stays valid for the object's lifetime; kernels and the JIT read it through raw
///   pointers taken while an object register keeps the array alive.
final class VMArray {
    let data: UnsafeMutableRawPointer
    let count: Int
    let kind: ElementKind
    private let account: MemoryAccount?
    /// Set when the memory belongs to someone else (a host buffer); `keepAlive` then owns it.
    private let keepAlive: AnyObject?
    private let ownsData: Bool

    var byteCount: Int { count * kind.size }

    private init(
        data: UnsafeMutableRawPointer, count: Int, kind: ElementKind, account: MemoryAccount?, owns: Bool,
        keepAlive: AnyObject?
    ) {
        self.data = data
        self.count = count
        self.kind = kind
        self.account = account
        self.ownsData = owns
        self.keepAlive = keepAlive
    }

    deinit {
        if ownsData {
            free(data)
            account?.release(count * kind.size)
        }
    }

    /// A new array of `count` elements; contents are unspecified unless `zeroed`.
    static func allocate(count: Int, kind: ElementKind, account: MemoryAccount?, zeroed: Bool = false)
        throws(OutOfMemory) -> VMArray
    {
        guard count >= 0 else { throw OutOfMemory() }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: kind.size)
        guard !overflow, bytes <= Int.max / 2 else { throw OutOfMemory() }
        if let account, !account.reserve(bytes) { throw OutOfMemory() }
        var p: UnsafeMutableRawPointer?
        // Round up to whole cache lines so that vector code may read the last line whole.
        let rounded = max(64, (bytes + 63) & ~63)
        guard posix_memalign(&p, 64, rounded) == 0, let data = p else {
            account?.release(bytes)
            throw OutOfMemory()
        }
        if zeroed { memset(data, 0, rounded) }
        return VMArray(data: data, count: count, kind: kind, account: account, owns: true, keepAlive: nil)
    }

    /// Wraps memory owned by the host (no copy); `owner` keeps it alive.
    static func wrapping(_ data: UnsafeMutableRawPointer, count: Int, kind: ElementKind, owner: AnyObject?) -> VMArray {
        VMArray(data: data, count: count, kind: kind, account: nil, owns: false, keepAlive: owner)
    }

    @inline(__always) func int(_ i: Int) -> Int64 { data.assumingMemoryBound(to: Int64.self)[i] }
    @inline(__always) func float(_ i: Int) -> Double { data.assumingMemoryBound(to: Double.self)[i] }
    @inline(__always) func f32(_ i: Int) -> Float { data.assumingMemoryBound(to: Float.self)[i] }
    @inline(__always) func bool(_ i: Int) -> Bool { data.load(fromByteOffset: i, as: UInt8.self) != 0 }

    /// Raw bits of element i as a register value (f32 in the low 32 bits, bool 0 or 1).
    @inline(__always) func bits(_ i: Int) -> UInt64 {
        switch kind {
        case .f32: UInt64(data.load(fromByteOffset: i * 4, as: UInt32.self))
        case .bool: UInt64(data.load(fromByteOffset: i, as: UInt8.self))
        case .int, .float: data.load(fromByteOffset: i * 8, as: UInt64.self)
        }
    }

    @inline(__always) func setBits(_ i: Int, _ v: UInt64) {
        switch kind {
        case .f32: data.storeBytes(of: UInt32(truncatingIfNeeded: v), toByteOffset: i * 4, as: UInt32.self)
        case .bool: data.storeBytes(of: v != 0 ? 1 : 0, toByteOffset: i, as: UInt8.self)
        case .int, .float: data.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self)
        }
    }
}
