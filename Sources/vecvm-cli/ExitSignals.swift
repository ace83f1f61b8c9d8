// SIGINT, SIGTERM and SIGHUP while a program runs: the program's buffered output is written out,
// then vecvm dies by the signal (its parent sees "killed by SIGINT", as for any Unix tool). A
// handler cannot take the output's lock safely, so the signals are blocked in every thread and one
// thread waits for them with sigwait (the REPL handles SIGINT its own way and does not use this).

import VecVM

#if canImport(Glibc)
    import Glibc
#endif

enum ExitSignals {
    private static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    nonisolated(unsafe) private static var output: StandardOutput?

    private static func set() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        return set
    }

    /// Call before any other thread starts (they inherit the blocked mask), from the main thread.
    static func install(flushing output: StandardOutput) {
        ExitSignals.output = output
        var mask = set()
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { _ in
                var mask = ExitSignals.set()
                var received: Int32 = 0
                while sigwait(&mask, &received) != 0 {}
                _ = ExitSignals.output?.flushIfAvailable()
                // Die by it: default action, unblocked here, raised to this thread.
                signal(received, SIG_DFL)
                var one = sigset_t()
                sigemptyset(&one)
                sigaddset(&one, received)
                pthread_sigmask(SIG_UNBLOCK, &one, nil)
                raise(received)
                _exit(128 + received)  // not reached
            }, nil)
        if rc == 0 { pthread_detach(thread) }
    }
}
