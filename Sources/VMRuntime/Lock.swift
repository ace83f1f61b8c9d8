// VMMutex: the lock the Swift layers use for shared state (JIT caches, the code heap, a VM's run
// state, input and output buffers): a value reachable only through `withLock`, guarded by a POSIX
// mutex.
//
// Why not the standard library's `Synchronization.Mutex`: on Linux its contended path is futex
// calls inside the standard library, which is not built with ThreadSanitizer, so TSan sees no
// ordering between two threads that took the lock one after the other and reports every access in
// the critical section as a race (measured: four threads incrementing a dictionary under a
// `Mutex` give "Swift access race" reports; the same under this type give none, because TSan
// intercepts pthread_mutex_lock/unlock). With this type the TSan runs (fuzz/sanitizers.sh thread)
// check the Swift layers' locking instead of drowning in false reports.
//
// Not the scheduler's `vm_mutex` (CJITStubs): that one counts the runtime locks a thread holds, and
// the SIGURG handler never preempts a thread holding one; a host thread holds `runLock` for a
// whole run, which must stay preemptible. These locks are never held across a G switch either: a G
// that parked holding one would block its M's next G.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#elseif canImport(Android)
    import Android
#endif

public final class VMMutex<Value>: @unchecked Sendable {
    // @unchecked: `value` is read and written only between pthread_mutex_lock and _unlock of
    // `mutex`, whose memory is our own allocation (a pthread_mutex_t must not move once used, so
    // it is not a stored property of a class whose layout Swift controls).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ initial: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
        value = initial
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, the lock held; the lock is released however `body` ends.
    @inline(__always)
    public func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
