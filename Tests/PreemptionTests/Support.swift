// Support.swift — what the asynchronous-preemption tests share: the serialized root suite, a small
// code heap of their own (pages written while RW, then made RX, inside one range registered with
// AsyncPreemption, as the JIT's CodeHeap does) and an unregistered twin, calling machine code,
// timing helpers (counters, flags and child processes come from SchedulerTestSupport).
//
// Every suite here nests in `AsyncPreemptionSuite`, which is `.serialized`: these tests install a
// signal handler, start schedulers with 100 µs quanta and time things; running them in parallel on
// a 2-core machine would starve each other's measurements.
import CJITStubs
@_exported import SchedulerTestSupport
import Synchronization
import Testing

@testable import VMRuntime
@testable import VecVM

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite(
    .serialized, .exclusiveTiming,
    .enabled(
        if: AsyncPreemption.isSupported,
        "asynchronous preemption is compiled out (built with VECVM_NO_JIT, or not x86-64 Linux)"))
struct AsyncPreemptionSuite {}

/// Long runs (1M preemptions, the benchmarks) only when asked: `VECVM_LONG_TESTS=1`.
let longTestsEnabled = getenv("VECVM_LONG_TESTS") != nil

// MARK: - Code heaps

/// A range of address space for test routines. Each routine gets whole pages: mapped read-write,
/// filled, then switched to read-execute (never writable and executable at once). `registered`
/// heaps are registered with AsyncPreemption once, for the life of the process.
final class TestCodeHeap: @unchecked Sendable {
    // @unchecked Sendable: `next` is guarded by `lock`; the mapping itself is immutable.
    static let registered = TestCodeHeap(registered: true)
    static let unregistered = TestCodeHeap(registered: false)

    let base: UnsafeMutableRawPointer
    let size = 4 << 20
    private let lock = Mutex<Int>(0)  // offset of the next free page

    private init(registered: Bool) {
        // Reserved without access; pages become RW then RX as routines are installed.
        guard let mapped = mmap(nil, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            mapped != MAP_FAILED
        else { fatalError("test code heap: mmap failed (errno \(errno))") }
        base = mapped
        if registered {
            precondition(AsyncPreemption.registerCodeRegion(start: base, length: size))
        }
    }

    var end: UnsafeRawPointer { UnsafeRawPointer(base + size) }

    /// Copies `bytes` into fresh pages and returns their (executable) address.
    func install(_ bytes: [UInt8]) -> UnsafeRawPointer {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = max(page, (bytes.count + page - 1) / page * page)
        let offset = lock.withLock { next -> Int in
            let o = next
            next += length
            return o
        }
        precondition(offset + length <= size, "test code heap is full")
        let at = base + offset
        precondition(mprotect(at, length, PROT_READ | PROT_WRITE) == 0)
        bytes.withUnsafeBytes { at.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        precondition(mprotect(at, length, PROT_READ | PROT_EXEC) == 0)
        return UnsafeRawPointer(at)
    }
}

/// Assembles `build` and installs the code in `heap`.
func installRoutine(in heap: TestCodeHeap = .registered, _ build: (inout X86Assembler) -> Void) -> UnsafeRawPointer {
    var a = X86Assembler()
    build(&a)
    let bytes: [UInt8]
    do { bytes = try a.finalize() } catch { fatalError("test routine does not assemble: \(error)") }
    precondition(a.requiredAlignment <= 4096)
    return heap.install(bytes)
}

typealias Routine3 = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int) -> Void

func routine3(_ code: UnsafeRawPointer) -> Routine3 { unsafeBitCast(code, to: Routine3.self) }

// MARK: - Shared state between Ms

/// Polls the calling task's preempt flag, as the interpreter does at its back-edges.
@inline(__always)
func pollPreempt(_ flag: UnsafeMutablePointer<UInt32>) {
    if Scheduler.isPreemptRequested(flag) { Scheduler.preemptPoint() }
}

/// A 64-byte aligned buffer of `bytes` zero bytes, freed with the object.
final class AlignedBuffer: @unchecked Sendable {
    // @unchecked Sendable: used by one task at a time, or read after the tasks are joined.
    let pointer: UnsafeMutableRawPointer
    let count: Int
    init(bytes: Int) {
        var raw: UnsafeMutableRawPointer? = nil
        precondition(posix_memalign(&raw, 64, max(bytes, 64)) == 0)
        pointer = raw!
        count = bytes
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(bytes, 64))
    }
    deinit { free(pointer) }
    subscript(qword i: Int) -> UInt64 {
        get { pointer.load(fromByteOffset: 8 * i, as: UInt64.self) }
        set { pointer.storeBytes(of: newValue, toByteOffset: 8 * i, as: UInt64.self) }
    }
}

/// splitmix64: patterns that differ in every lane, per task and per call.
@inline(__always)
func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Percentile of sorted values.
func percentile(_ sorted: [Int64], _ q: Double) -> Int64 {
    sorted[min(sorted.count - 1, Int(q * Double(sorted.count - 1)))]
}

func milliseconds(_ ns: Int64) -> String {
    let v = Double(ns) / 1e6
    return String(Int(v * 1000) / 1000) + "." + String(format3(Int(v * 1000) % 1000))
}

private func format3(_ n: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, 3 - s.count)) + s
}
