// What an executable built on VecVM (the vecvm CLI) may set up for its whole process — never done
// by the library on its own: signal handling belongs to the host.

import VMRuntime

public enum CrashReporting {
    /// Replaces the fatal-signal handlers (and so the Swift runtime's backtracer, whose helper
    /// process can outlive a crashed parent while holding its output pipes) with a short report on
    /// standard error — the signal, the address, the task, and the `extern` C function that was
    /// running if any — after which the process ends by that signal. SIGQUIT included. Call it
    /// first thing in `main`.
    public static func install(programName: String) { CrashReport.install(programName: programName) }
}

public enum MemoryTuning {
    /// Makes the C heap grow by whole arena heaps rather than a page at a time (glibc): spawning
    /// many tasks then costs no system call per few tasks. Untouched memory stays unbacked, and up to
    /// 64 MiB a thread arena of freed memory is kept for reuse until every scheduler of the process
    /// goes idle, when sysmon trims the heap (3 waves of 100,000 tasks: 172 MB resident while the
    /// program then slept without this, 46 MB with it). Call it first thing in `main`, before any VM
    /// runs.
    public static func growHeapInLargeSteps() { HeapGrowth.inLargeSteps() }
}
