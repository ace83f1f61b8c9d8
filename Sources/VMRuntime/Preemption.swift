// Preemption.swift — asynchronous preemption of JIT code: the public API the JIT's code heap uses
// (AsyncPreemption), asyncPreempt2 (the Swift half of the trampoline), and how the runtime asks an
// M to preempt its G. The path end to end (shared/DESIGN.md, "The preemption path"):
//
//   1. Sysmon finds a G that has had its P for a quantum, or a sleeper's timer due on a busy P, or
//      the run is cancelled: it sets the G's preempt flag and sends SIGURG to the G's M with
//      tgkill (vm_preempt_signal_m; at most one pending per M, announced by m.signal_pending).
//   2. The handler (CJITStubs/preempt.c, on the M's alternate signal stack) finds our signal and
//      checks the async safe point: the PC is in a registered code region, the G is a user G
//      running on this M, the M holds no runtime lock, the G stack has VM_ASYNC_PREEMPT_STACK to
//      spare. Then it injects a call: rsp -= 8; *rsp = rip; rip = vm_async_preempt. Otherwise it
//      leaves the flag for the cooperative path (counted as preempt.unsafe); sysmon signals again
//      at its next look while the G keeps its P.
//   3. vm_async_preempt (generated async_preempt.S) pushes flags and the 15 GP registers on the G
//      stack, finds the P through the M's thread-local, stores the vector registers in
//      p.xRegs.scratch on the scheduler's path (SSE, AVX or AVX-512, read once and reused for the
//      restore), and calls asyncPreempt2 below.
//   4. asyncPreempt2: xRegSave moves scratch into a block hung on the G; the G yields to the
//      global queue like a cooperative preemption. Later, on any M and P, it returns from the
//      switch; xRegRestore puts its block in the new P's cache.
//   5. Back in the trampoline: re-read M and P through the thread-local, reload the vector
//      registers from p.xRegs.cache, pop, popfq, ret to the interrupted instruction.
//
// Where the signals come from: sysmon, not per-M kernel timers. Both were built and measured on
// this 2-core VM (16 torture tasks on 2 Ps, 100 µs quantum, every core busy, 3 s per run, release):
// per-M timers (timer_create + SIGEV_THREAD_ID, ticking every half quantum) delivered 2,000–6,800
// asynchronous preemptions/s with 2.2–5.6 signals per preemption; sysmon, once it looked again
// half a quantum after each signal instead of at its next 1 ms tick, delivered 1,900–6,500/s —
// and more than the timers (3,300 vs 2,400/s) with two extra CPU hogs on the machine — with
// 1.0–1.3 signals per preemption. The starvation PLATFORM.md reports for a separate ticker thread
// did not show (EEVDF runs the waking sysmon within tens of µs here). What decided it is the price
// of a signal on this VM: 20–50 µs of the receiving thread's time even for an empty C handler
// (measured with a TSC-gap probe), so ticks that preempt nothing cost 0.35–0.7% per busy M at the
// default quantum, while sysmon sends a signal only to a G that has overstayed its quantum.
//
// Signals landing outside JIT code cost their handler and nothing else: Swift code is never
// interrupted asynchronously, it keeps polling the flag.
import CJITStubs
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Asynchronous preemption of JIT code. The JIT registers the executable range of its code heap
/// once; from then on a task running a long kernel there can be preempted by a signal, on any
/// scheduler whose `SchedulerConfiguration.asyncPreemption` is on.
///
/// The contract of code in a registered region, which makes every instruction in it an async safe
/// point:
/// - it never calls out (no libc, no Swift, no runtime) and never takes a runtime lock;
/// - it keeps every value it needs in registers or in its own frame on the task's stack, and never
///   stores below rsp (no red zone: the preemption pushes a return address there);
/// - it touches no vector register beyond `vectorRegisters` (on an AVX machine, YMM0–15: no ZMM,
///   no opmask), and leaves MXCSR and the x87 state alone;
/// - its pages are writable or executable, never both; code is complete before it can run.
/// A task running code outside every registered region (Swift, the interpreter, libc) is only
/// ever preempted cooperatively.
public enum AsyncPreemption {
    /// Whether this build has asynchronous preemption: x86-64 Linux (a signal handler that edits the
    /// interrupted x86-64 context), unless built with `VECVM_NO_JIT`, which compiles it out with the
    /// JIT (Package.swift). Without it every scheduler preempts cooperatively only.
    #if arch(x86_64) && os(Linux) && !VECVM_NO_JIT
        public static let isSupported = true
    #else
        public static let isSupported = false
    #endif

    /// Which vector registers the preemption trampoline saves and restores.
    public enum VectorRegisterSet: Sendable, CustomStringConvertible {
        /// XMM0–15.
        case sse
        /// YMM0–15.
        case avx
        /// ZMM0–31 and K0–7.
        case avx512

        init(path: UInt32) {
            switch path {
            case UInt32(VM_XREGS_PATH_AVX512): self = .avx512
            case UInt32(VM_XREGS_PATH_AVX): self = .avx
            default: self = .sse
            }
        }

        var path: UInt32 {
            switch self {
            case .sse: UInt32(VM_XREGS_PATH_SSE)
            case .avx: UInt32(VM_XREGS_PATH_AVX)
            case .avx512: UInt32(VM_XREGS_PATH_AVX512)
            }
        }

        public var description: String {
            switch self {
            case .sse: "sse"
            case .avx: "avx"
            case .avx512: "avx512"
            }
        }
    }

    /// The registers saved on this machine (chosen once from CPUID/XGETBV): JIT code must not use
    /// any other vector or opmask register.
    public static var vectorRegisters: VectorRegisterSet { VectorRegisterSet(path: detectedPath) }

    /// Registers `[start, start + length)` as code in which every instruction is an async safe
    /// point (see the contract above). Lock-free for the signal handler; at most 32 regions per
    /// process, and a slot is never reused, so register one large range once (the whole code
    /// heap reservation). Returns false when the registry is full or the range is empty.
    @discardableResult
    public static func registerCodeRegion(start: UnsafeRawPointer, length: Int) -> Bool {
        guard length > 0 else { return false }
        let base = UInt(bitPattern: start)
        let (end, overflow) = base.addingReportingOverflow(UInt(length))
        guard !overflow else { return false }
        return vm_code_region_register(base, end)
    }

    /// Stops treating the region that starts at `start` as safe. Call it before unmapping the
    /// region; its registry slot is not reused. Returns false if no such region is registered.
    @discardableResult
    public static func unregisterCodeRegion(start: UnsafeRawPointer) -> Bool {
        vm_code_region_unregister(UInt(bitPattern: start))
    }

    /// Whether `address` lies in a registered region.
    public static func isInCodeRegion(_ address: UnsafeRawPointer) -> Bool {
        vm_code_region_contains(UInt(bitPattern: address))
    }

    /// Bytes a task's stack must have free below the interrupted rsp for a preemption to be
    /// injected: a kernel running closer than this to the low end of its stack is left to the
    /// cooperative path.
    public static let stackRoom = Int(VM_ASYNC_PREEMPT_STACK)

    /// The best path this CPU and OS allow, detected once.
    static let detectedPath: UInt32 = vm_xregs_detect_path()

    /// Process set-up, once: the SIGURG handler and the trampoline's way into Swift.
    static let processSetUp: Void = {
        vm_set_async_preempt2(asyncPreempt2Entry)
        vm_preempt_install_handler()
    }()
}

// MARK: - asyncPreempt2

/// The trampoline's way into Swift (registered with vm_set_async_preempt2). `frame` points at the
/// pushed GP registers (layout in async_preempt.S): there for a debugger, unused here.
private let asyncPreempt2Entry: @convention(c) (UnsafeMutableRawPointer?) -> Void = { _ in
    asyncPreempt2()
}

/// Runs on the preempted G's stack, with its registers saved: parks the G on the global run
/// queue, and when it runs again (maybe on another M) readies its vector state for the
/// trampoline. The two halves are separate @inline(never) functions so that no M or P read
/// before the switch is used after it.
@inline(never)
func asyncPreempt2() {
    asyncPreemptPark()
    asyncPreemptResume()
}

@inline(never)
private func asyncPreemptPark() {
    let m = vm_current_m()!
    let g = m.pointee.curg!
    let p = m.pointee.p!
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    // A G of a cancelled run never resumes: nothing to save. Unless the scheduler unwinds stopped
    // tasks: then the G goes back to its JIT code at once, flag still set, and is told at its
    // next poll (the code in between is a kernel, which has no side effect but its output).
    let stale = isStale(g, m)
    if stale && s.pointee.unwind == 0 { abandonCurrent(g, m) }
    xRegSave(g, p, vm_sched_xreg_pool(s))
    if stale {
        vm_store_relaxed_u32(&g.pointee.preempt, 1)
        return
    }
    vm_store_relaxed_u32(&g.pointee.preempt, 0)
    statBump(p, VM_STAT_PREEMPT_ASYNC)
    // To the global queue, like preemptPoint(): a long kernel moves between Ps. JIT code cannot
    // be told that its run ended meanwhile: the flag is set again for its next poll instead.
    switchOut(g, m, reason: VM_REASON_PREEMPT, tell: false)
}

@inline(never)
private func asyncPreemptResume() {
    // Re-read: the G may be on another M and P now.
    let m = vm_current_m()!
    let s = m.pointee.sched.assumingMemoryBound(to: vm_sched.self)
    xRegRestore(m.pointee.curg!, m.pointee.p!, vm_sched_xreg_pool(s))
}

// MARK: - Asking an M to preempt

/// Sends the preemption signal to `p`'s M if its scheduler preempts asynchronously. The G's flag
/// must already be set (the handler only acts on a flagged G). Any thread.
@inline(__always)
func signalPreempt(_ s: SchedPtr, _ p: PPtr) {
    if s.pointee.async_preempt != 0 { _ = vm_preempt_signal_m(p.pointee.m) }
}
