// Time limits of runs and calls: one process-wide timer thread that calls each armed closure when
// its deadline passes, unless it was disarmed first. Arming and disarming cost a lock and a clock
// read; the thread is woken only when a new deadline is earlier than the one it sleeps until, so
// a stream of calls with the same time limit wakes it about once per limit, not once per call (a
// thread per run, as before, cost a thread start per call).

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

final class Deadlines: @unchecked Sendable {
    // @unchecked: `entries`, `sleepingUntil`, `started` and `nextToken` are used only under `mutex`.
    static let shared = Deadlines()

    private struct Entry {
        let token: Int
        let deadline: Int64
        let fire: @Sendable () -> Void
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var entries: [Entry] = []
    /// The deadline the thread waits for (Int64.max: none).
    private var sleepingUntil = Int64.max
    private var started = false
    private var nextToken = 0
    /// The entry whose closure runs now (outside the lock); `disarm` of it waits until it returned.
    private var firing: Int?
    private let fired = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if !canImport(Darwin)
            // Darwin has no monotonic condition variables; it waits relative (see `wait`).
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        pthread_cond_init(fired, nil)
    }

    /// Nanoseconds on the monotonic clock.
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// Calls `fire` on the timer thread once `limit` has passed; returns a token for `disarm`.
    func arm(after limit: Duration, _ fire: @escaping @Sendable () -> Void) -> Int {
        let (seconds, attoseconds) = limit.components
        let ns =
            seconds >= Int64.max / 1_000_000_000
            ? Int64.max / 2 : max(0, seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
        let deadline = Self.now() &+ min(ns, Int64.max / 2)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        nextToken += 1
        entries.append(Entry(token: nextToken, deadline: deadline, fire: fire))
        if !started {
            started = true
            startDetachedThread { [self] in loop() }
        } else if deadline < sleepingUntil {
            pthread_cond_signal(condition)
        }
        return nextToken
    }

    /// Forgets an armed deadline. When it returns, its closure has either never been called or has
    /// returned (it waits for one that is running): nothing of the deadline is left to happen.
    func disarm(_ token: Int) {
        pthread_mutex_lock(mutex)
        if let i = entries.firstIndex(where: { $0.token == token }) { entries.remove(at: i) }
        while firing == token { pthread_cond_wait(fired, mutex) }
        pthread_mutex_unlock(mutex)
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            let now = Self.now()
            var due: [Entry] = []
            entries.removeAll { e in
                if e.deadline <= now {
                    due.append(e)
                    return true
                }
                return false
            }
            if !due.isEmpty {
                for e in due {
                    firing = e.token
                    pthread_mutex_unlock(mutex)
                    e.fire()
                    pthread_mutex_lock(mutex)
                    firing = nil
                    pthread_cond_broadcast(fired)
                }
                continue
            }
            sleepingUntil = entries.map(\.deadline).min() ?? Int64.max
            wait(until: sleepingUntil, now: now)
        }
    }

    /// Waits on the condition until `deadline` (monotonic ns) or a signal; mutex held.
    private func wait(until deadline: Int64, now: Int64) {
        if deadline == Int64.max {
            pthread_cond_wait(condition, mutex)
            return
        }
        #if canImport(Darwin)
            let delta = max(0, deadline - now)
            var relative = timespec(tv_sec: Int(delta / 1_000_000_000), tv_nsec: Int(delta % 1_000_000_000))
            _ = pthread_cond_timedwait_relative_np(condition, mutex, &relative)
        #else
            var absolute = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            _ = pthread_cond_timedwait(condition, mutex, &absolute)
        #endif
    }
}
