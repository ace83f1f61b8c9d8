// Regression tests of issue 16 (and 15.1, 12.3–12.4) through the embedding API: memory a run's
// stopped tasks held comes back, everything a program allocates is charged to the memory limit, a
// task limit, waits that could never finish are errors, garbage input stays cheap, and C calls are
// not interrupted by the preemption signal. RSS is measured in a forked child (one thread, nothing
// else allocating), so that other suites running in parallel cannot disturb it.

import Foundation
import SchedulerTestSupport
import Testing

@testable import VMRuntime
@testable import VecVM

/// Resident set size of this process, bytes.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// RSS once free task stacks have given their pages back (they keep them for one to two 100 ms
/// periods, Stacks.swift): the least of samples taken over 1.2 seconds.
func settledResidentBytes() -> Int {
    var least = residentBytes()
    for _ in 0..<12 {
        usleep(100_000)
        least = min(least, residentBytes())
    }
    return least
}

/// Writes `line` to stderr (the channel `runInChild` captures).
func report(_ line: String) {
    let s = line + "\n"
    _ = s.withCString { write(2, $0, strlen($0)) }
}

/// The numbers a child reported as `key=value` lines.
func reported(_ r: ChildResult, _ key: String) -> [Int] {
    r.stderr.split(separator: "\n").compactMap { line in
        line.hasPrefix(key + "=") ? Int(line.dropFirst(key.count + 1)) : nil
    }
}

private func makeVM(memoryLimit: Int? = nil, maxTasks: Int? = nil, procs: Int = 2, timeLimit: Duration? = nil)
    -> (VM, CapturedOutput)
{
    let out = CapturedOutput()
    let vm = VM(
        configuration: VMConfiguration(
            procs: procs, output: out, memoryLimit: memoryLimit, timeLimit: timeLimit, maxTasks: maxTasks))
    return (vm, out)
}

/// A task of each kind that outlives its run, holding a 64 MB array (8M floats, every page touched).
private let holders: [(name: String, body: String)] = [
    ("spins", "var i = 0\n    while true { i += 1 }"),
    ("parks on a channel", "let c = chan<int>(0)\n    recv(c)"),
    ("sleeps", "sleep(100_000)"),
    ("waits for a task", "let t = spawn forever()\n    wait(t)"),
    ("runs kernels", "var s = 0.0\n    while true { s = s + sum(a * a) }"),
]

private func holderProgram(_ body: String) -> String {
    """
    fn forever() -> int { let c = chan<int>(0); return recv(c) }
    fn hold(n: int) {
        let a = fill(n, 1.5)
        \(body)
    }
    let t = spawn hold(8_000_000)
    sleep(20)
    print("main done")
    """
}

// Exclusive with the other suites that time things or load the CPU (they run in the same process):
// these start hundreds of thousands of tasks.
@Suite("reliability (issue 16)", .serialized, .exclusiveTiming)
struct ReliabilityTests {
    // MARK: 16.1, 16.2: waits that can never finish

    @Test func aTaskWaitingForItselfIsARuntimeError() {
        let r = run(
            """
            fn f(c: chan<task<int>>) -> int { return wait(recv(c)) }
            let c = chan<task<int>>(1)
            let t = spawn f(c)
            send(c, t)
            print(wait(t))
            """)
        guard case .runtime(let e) = r.error else {
            Issue.record("expected a runtime error, got \(String(describing: r.error))")
            return
        }
        #expect(e.message.contains("waits for itself"))
        #expect(e.message.contains("task \(e.taskID) (f)"))
        #expect(e.location.line == 1)
    }

    @Test func waitingForATaskStoppedByAnEarlierRunIsAnErrorAtOnce() throws {
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput(), fuel: 50_000_000))
        defer { vm.shutdown() }
        let session = Session(vm: vm)
        _ = session.evaluate("fn spinner() -> int { var i = 0; while true { i += 1 }; return i }")
        _ = session.evaluate("let t = spawn spinner()")
        let failed = session.evaluate("print(1/0)")
        #expect(failed.error?.runtimeError?.message.contains("division by zero") == true)
        let start = ContinuousClock.now
        let waited = session.evaluate("print(wait(t))")
        guard let e = waited.error?.runtimeError else {
            Issue.record("expected a runtime error, got \(String(describing: waited.error))")
            return
        }
        #expect(e.message.contains("was stopped when the run that spawned it ended"))
        // At once: not after the fuel of 50M iterations is spent.
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    // MARK: 16.4, 12.3: what stopped tasks held comes back

    @Test(arguments: holders.map(\.name))
    func memoryComesBackWhenARunEndsWhileATaskHoldsAnArray(holder: String) throws {
        let body = holders.first { $0.name == holder }!.body
        let (vm, out) = makeVM(memoryLimit: 100 << 20)
        defer { vm.shutdown() }
        let program = try vm.compile(source: holderProgram(body), fileName: "hold.vec")
        let compiled = vm.memory.used.load(ordering: .relaxed)  // the program's code is charged too
        for i in 0..<6 {
            // A run waits up to 5 s for the tasks an earlier one stopped; on a machine loaded far
            // past its CPUs unwinding can take longer, and what they hold still counts against this
            // run's 100 MB. The test is about what comes back, not how soon: wait as long as needed.
            vm.currentScheduler().waitForStoppedTasks(limit: .seconds(120))
            do {
                try vm.run(program)
            } catch {
                Issue.record("run \(i + 1): \(error)")
                return
            }
        }
        #expect(out.text == String(repeating: "main done\n", count: 6))
        vm.currentScheduler().waitForStoppedTasks()
        #expect(vm.memory.used.load(ordering: .relaxed) == compiled)
    }

    /// A parallel kernel's caller joins its worker tasks; a run that ends meanwhile makes the join
    /// return early while a worker may still be in a chunk. The caller used to carry on (its next
    /// kernel's join, a second switch after the stop, abandoned it with its 64 MB array: the next run
    /// was out of memory), and to free the buffers the workers were still writing. And a worker that
    /// never started, the last holder of the arrays, released them only after it counted as dead, so
    /// the next run could start before they were given back. Ending the run at 60 points spread over
    /// the kernels' life: every run fits in 100 MB, and everything comes back.
    @Test func aParallelKernelStoppedWhileItsCallerJoinsGivesEverythingBack() throws {
        let (vm, out) = makeVM(memoryLimit: 100 << 20, procs: 2)
        defer { vm.shutdown() }
        // The run ends after 1, 4, 7, ... 19 ms: in a kernel, in a join, between kernels. A task
        // spinning on the other P makes the joins long: the worker waits for a P while the caller,
        // done with the chunks, waits for the worker.
        let programs = try (0..<7).map { k in
            try vm.compile(
                source: """
                    fn hold(n: int) {
                        let a = fill(n, 1.5)
                        var s = 0.0
                        while true { s = s + sum(a * a) + max(a + s) }
                    }
                    fn spin() -> int { var i = 0; while true { i += 1 }; return i }
                    let busy = spawn spin()
                    let t = spawn hold(8_000_000)
                    sleep(\(1 + 3 * k))
                    print("main done")
                    """, fileName: "kernels.vec")
        }
        let compiled = vm.memory.used.load(ordering: .relaxed)  // the programs' code is charged too
        let runs = 60
        for i in 0..<runs {
            vm.currentScheduler().waitForStoppedTasks(limit: .seconds(120))
            do {
                try vm.run(programs[i % programs.count])
            } catch {
                Issue.record("run \(i + 1): \(error)")
                return
            }
        }
        #expect(out.text == String(repeating: "main done\n", count: runs))
        vm.currentScheduler().waitForStoppedTasks()
        #expect(vm.memory.used.load(ordering: .relaxed) == compiled)
    }

    @Test func memoryComesBackWhenARunHitsItsTimeLimitWhileATaskHoldsAnArray() throws {
        let (vm, _) = makeVM(memoryLimit: 100 << 20, timeLimit: .milliseconds(300))
        defer { vm.shutdown() }
        let source = """
            fn hold(n: int) { let a = fill(n, 1.5); let c = chan<int>(0); recv(c) }
            let t = spawn hold(8_000_000)
            var i = 0
            while true { i += 1 }
            """
        for i in 0..<4 {
            do {
                try vm.run(source: source, fileName: "limit.vec")
                Issue.record("run \(i + 1) was not stopped")
            } catch {
                guard case .timeLimit = error else {
                    Issue.record("run \(i + 1): \(error)")
                    return
                }
            }
        }
    }

    /// Issue 16.4: "with a new VM per run plus shutdown(), RSS grows 128-700 MB per run".
    @Test func rssStaysFlatOverManyVMsShutDownWhileTasksHeldArrays() {
        let r = runInChild(timeoutSeconds: 240) {
            for i in 0..<10 {
                let (vm, _) = makeVM()
                try? vm.run(source: holderProgram(holders[i % holders.count].body), fileName: "hold.vec")
                vm.shutdown()
                report("rss=\(residentBytes())")
            }
            _exit(0)
        }
        let rss = reported(r, "rss")
        #expect(r.exitStatus == 0, "\(r.stderr)")
        guard rss.count == 10 else { return }
        // Each run touched 64 MB; kept, 10 runs would add 640 MB. Allowed: one such array of slack.
        #expect(rss[9] - rss[1] < 64 << 20, "RSS after each run: \(rss)")
    }

    /// Issue 12.3: one VM whose runs abandon a million tasks in all does not grow.
    @Test func rssStaysFlatOverAMillionAbandonedTasks() {
        let r = runInChild(timeoutSeconds: 600) {
            let (vm, _) = makeVM()
            let program = try! vm.compile(
                source: """
                    fn parked(c: chan<int>, a: [f32]) -> int { return recv(c) + len(a) }
                    fn sleeping(a: [f32]) -> int { sleep(1_000_000); return len(a) }
                    fn spinning(a: [f32]) -> int { var i = 0; while true { i += len(a) }; return i }
                    let c = chan<int>(0)
                    spawn spinning(fill(64, f32(1)))
                    for i in 0..20_000 {
                        let a = fill(64, f32(i))
                        if i % 2 == 0 { spawn parked(c, a) } else { spawn sleeping(a) }
                    }
                    """, fileName: "abandon.vec")
            var afterFirst = 0
            for i in 0..<50 {  // 50 runs × 20,001 tasks
                try! vm.run(program)
                vm.currentScheduler().waitForStoppedTasks()
                if (1...5).contains(i) || i >= 45 { report("rss=\(settledResidentBytes())") }
                // The program's default instance keeps the last run's globals (the channel `c`).
                if i == 0 { afterFirst = vm.memory.used.load(ordering: .relaxed) }
            }
            report("used=\(vm.memory.used.load(ordering: .relaxed) - afterFirst)")
            _exit(0)
        }
        let rss = reported(r, "rss")
        #expect(r.exitStatus == 0, "\(r.stderr)")
        guard rss.count == 10 else { return }
        #expect(reported(r, "used") == [0])
        // After the first run has sized the scheduler's G structs: the runs 40 later hold no more
        // than a few MB more. The least of five runs on each side: growth would be in all of the
        // later five, while one settled sample stays ~10 MB high now and then (malloc's heaps after
        // 20,000 tasks, measured: 45.1, 56.5, 47.4, 46.9 ... 46.8 MB over one child's runs), and
        // under a loaded machine (the whole suite in parallel) one low early sample made a single
        // first-run reference fail by 16 MB.
        let early = rss[0..<5].min()!
        let late = rss[5...].min()!
        #expect(late - early < 8 << 20, "RSS after runs 2-6 and after runs 46-50: \(rss)")
    }

    /// Issue 12.4: a long run that spawns and ends tasks in waves plateaus.
    @Test func rssPlateausOverWavesOfTasks() {
        let r = runInChild(timeoutSeconds: 600) {
            let out = CapturedOutput()
            let vm = VM(configuration: VMConfiguration(output: out))
            vm.register("rss") { () -> Int in residentBytes() }
            // The runtime's own structures, exactly: G structs allocated, task stacks carved, bytes charged.
            vm.register("gs") { () -> Int in vm.currentScheduler().core.slabs.count * gSlabSize }
            vm.register("stacks") { () -> Int in
                let s = StackPool.shared.snapshot()
                return s.guarded + s.unguarded
            }
            vm.register("charged") { () -> Int in vm.memory.used.load(ordering: .relaxed) }
            do {
                try vm.run(
                    source: """
                        fn work(c: chan<int>, n: int) { let a = fill(n, 1.0); send(c, len(a)) }
                        for wave in 0..24 {
                            let c = chan<int>(100)
                            for i in 0..25_000 { spawn work(c, 32 + i % 64) }
                            var got = 0
                            for i in 0..25_000 { got += recv(c) }
                            sleep(1200)  // free task stacks give their pages back after 100-200 ms
                            print(rss(), gs(), stacks(), charged())
                        }
                        """, fileName: "waves.vec")
            } catch {
                report("error=\(error)")
            }
            for line in out.text.split(separator: "\n") {
                let f = line.split(separator: " ")
                report("rss=\(f[0])")
                report("gs=\(f[1])")
                report("stacks=\(f[2])")
                report("charged=\(f[3])")
            }
            _exit(0)
        }
        let rss = reported(r, "rss")
        let gs = reported(r, "gs")
        let stacks = reported(r, "stacks")
        let charged = reported(r, "charged")
        #expect(r.exitStatus == 0, "\(r.stderr)")
        guard rss.count == 24, gs.count == 24, stacks.count == 24, charged.count == 24 else {
            Issue.record("\(r.stderr)")
            return
        }
        // G structs never exceed one wave's worth: they are reused, not added (at most the wave's
        // 25,000 tasks and main, plus the per-P caches).
        #expect(gs.max()! <= 25_001 + 512, "G structs after each wave: \(gs)")
        // Task stacks are reused too, but a stack goes back to the pool only once its task has been
        // unwound and the pages scavenged, so the pool may hold a few waves' worth: it must stop
        // growing: the last eight waves carve no more than the first eight did, give or take the
        // per-P caches (a wave leaking its stacks would add thousands).
        #expect(stacks[16...].max()! <= stacks[..<8].max()! + 512, "task stacks carved after each wave: \(stacks)")
        // What the program holds between waves is back where it was after each of them.
        #expect(Set(charged[8...]).count == 1, "bytes charged after each wave: \(charged)")
        // RSS moves by tens of MB from wave to wave under load (free memory kept in malloc's arenas,
        // free stacks not yet scavenged; malloc's bytes in use measured flat at 7.7 MB), so this bound
        // only catches a steady climb of several MB a wave: means of eight waves, 64 MB apart at most
        // (12 waves apart: a leak of 250 bytes a task would pass it).
        func mean(_ r: ArraySlice<Int>) -> Int { r.reduce(0, +) / r.count }
        #expect(mean(rss[16..<24]) - mean(rss[4..<12]) < 64 << 20, "RSS after each wave: \(rss)")
    }

    /// Issue 16.4: JIT code was kept for the life of the process (the heap was full after 16,382
    /// functions). Now a function's and a kernel's code go with the last program using them.
    @Test(.enabled(if: JITSupport.available, "no AVX2+FMA here"))
    func nativeCodeIsFreedWithItsProgram() {
        let r = runInChild(timeoutSeconds: 600) {
            let vm = VM(configuration: VMConfiguration(procs: 1, output: CapturedOutput()))
            for i in 0..<20_000 {  // past the 16,382 functions that used to fill the heap
                // A native function, a pair of mutually recursive ones (a call through a cell) and
                // a kernel of their own (the constant count of the kernel's terms makes its program
                // differ) per program.
                let terms = (0...(i % 7)).map { _ in "x" }.joined(separator: " * ")
                let source = """
                    fn work\(i)(n: int) -> int { var s = 0; for k in 0..n { s += k * \(i) }; return s }
                    fn even\(i)(n: int) -> bool { if n == 0 { return true }; return odd\(i)(n - 1) }
                    fn odd\(i)(n: int) -> bool { if n == 0 { return false }; return even\(i)(n - 1) }
                    let x = fill(64, f32(1.5))
                    print(work\(i)(10), sum(\(terms) + f32(\(i))), even\(i)(\(i % 9)))
                    """
                try! vm.run(source: source, fileName: "jit\(i).vec")
                if i == 99 || i == 19_999 {
                    report("heap=\(CodeHeap.shared?.bytesUsed ?? -1)")
                    report("rss=\(residentBytes())")
                    let names = vm.jit?.statistics.functions.suffix(3) ?? []
                    report("native=\(Set(names) == ["work\(i)", "even\(i)", "odd\(i)"] ? 1 : 0)")
                }
            }
            _exit(0)
        }
        #expect(r.exitStatus == 0, "\(r.stderr)")
        let heap = reported(r, "heap")
        let rss = reported(r, "rss")
        #expect(reported(r, "native") == [1, 1], "the last program's functions were not compiled: \(r.stderr)")
        guard heap.count == 2, rss.count == 2 else { return }
        // What is live is the last program's code: a few pages, not 20,000 functions' worth.
        #expect(heap[1] <= heap[0] + 64 << 10, "code heap bytes after 100 and 20,000 programs: \(heap)")
        #expect(rss[1] - rss[0] < 16 << 20, "RSS after 100 and 20,000 programs: \(rss)")
    }

    // MARK: 15.1, 16.5: every allocation is charged to the memory limit

    private func expectOutOfMemory(_ source: String, limit: Int, _ what: String, maxTasks: Int? = nil) {
        let (vm, _) = makeVM(memoryLimit: limit, maxTasks: maxTasks)
        defer { vm.shutdown() }
        do {
            try vm.run(source: source, fileName: "oom.vec")
            Issue.record("\(what): expected out of memory")
        } catch {
            guard case .memoryLimit(let e) = error else {
                Issue.record("\(what): expected out of memory, got \(error)")
                return
            }
            #expect(e.message.hasPrefix("out of memory"), "\(what)")
            #expect(vm.memory.peak.load(ordering: .relaxed) <= limit, "\(what)")
        }
        // The host goes on: the same VM runs the next program, with its memory back (but for the
        // failed program's code, kept with the VM's globals until the next run).
        vm.currentScheduler().waitForStoppedTasks()
        #expect(vm.memory.used.load(ordering: .relaxed) < 64 << 10, "\(what)")
        #expect((try? vm.run(source: "print(1)", fileName: "ok.vec")) != nil, "\(what)")
    }

    @Test func stringsAreCharged() {
        expectOutOfMemory("var s = \"x\"\nwhile true { s = s + s }", limit: 16 << 20, "strings")
    }

    @Test func arraysAreCharged() {
        expectOutOfMemory("var k = 0\nlet a = fill(50_000_000, 1.0)\nprint(len(a))", limit: 100 << 20, "arrays")
    }

    @Test func channelBuffersAreCharged() {
        expectOutOfMemory("let c = chan<int>(16_777_216)\nprint(1)", limit: 100 << 20, "a channel buffer")
    }

    @Test func tasksAndTheirStacksAreCharged() {
        expectOutOfMemory(
            "fn park(c: chan<int>) -> int { return recv(c) }\nlet c = chan<int>(0)\nfor i in 0..500_000 { spawn park(c) }",
            limit: 100 << 20, "parked tasks")
    }

    @Test func callFramesAreCharged() {
        expectOutOfMemory(
            """
            fn deep(n: int) -> int { if n == 0 { return 0 }; return deep(n - 1) + 1 }
            fn run() -> int { return deep(190_000) }
            var ts: [int] = []
            let c = chan<int>(60)
            fn go(c: chan<int>) { send(c, run()) }
            for i in 0..60 { spawn go(c) }
            var total = 0
            for i in 0..60 { total += recv(c) }
            print(total)
            """, limit: 100 << 20, "call frames")
    }

    @Test func compiledCodeIsCharged() {
        let (vm, _) = makeVM(memoryLimit: 1 << 20)
        defer { vm.shutdown() }
        let big = (0..<60_000).map { "let v\($0) = \($0)" }.joined(separator: "\n")
        do {
            _ = try vm.compile(source: big, fileName: "big.vec")
            Issue.record("expected out of memory")
        } catch {
            #expect(error.diagnostics.first?.message.hasPrefix("out of memory (the compiled program needs") == true)
        }
        // A session's inputs add up.
        let session = Session(vm: vm)
        var failed: VMError?
        for i in 0..<5_000 {
            let o = session.evaluate("fn h\(i)(x: int) -> int { return x * \(i) + 1 }")
            if let e = o.error {
                failed = e
                break
            }
        }
        guard case .memoryLimit(let e) = failed else {
            Issue.record("expected out of memory, got \(String(describing: failed))")
            return
        }
        // Its code filled the limit: the next input's code, or the task that would run it, is refused.
        #expect(e.message.hasPrefix("out of memory"))
        #expect(vm.memory.used.load(ordering: .relaxed) > 900 << 10)
    }

    @Test func theTaskLimitStopsSpawning() {
        let (vm, _) = makeVM(maxTasks: 100)
        defer { vm.shutdown() }
        do {
            try vm.run(
                source:
                    "fn park(c: chan<int>) -> int { return recv(c) }\nlet c = chan<int>(0)\nfor i in 0..1000 { spawn park(c) }",
                fileName: "tasks.vec")
            Issue.record("expected the task limit")
        } catch {
            guard case .runtime(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.message == "too many tasks: the VM's limit is 100 tasks at once")
        }
        // The stopped tasks are gone: the next run may spawn again.
        #expect((try? vm.run(source: "fn f() -> int { return 1 }\nprint(wait(spawn f()))", fileName: "ok.vec")) != nil)
    }

    /// Task states recycled for later spawns (TaskStatePool) serve them exactly as new ones: the
    /// results, the task limit (a wave of 40 under a limit of 50, 25 waves) and the memory account
    /// (what a run leaves charged, and its count of tasks, are the same after a second run) hold,
    /// and with one P every wave after the first runs on the states of the one before.
    @Test func recycledTaskStatesKeepTheLimitsAndTheAccountExact() throws {
        let source = """
            fn work(i: int, done: chan<int>) {
                var s = 0
                for j in 0..100 { s += (i + j) % 7 }
                send(done, s)
            }
            let done = chan<int>(40)
            var total = 0
            for wave in 0..25 {
                for i in 0..40 { spawn work(wave * 40 + i, done) }
                for i in 0..40 { total += recv(done) }
            }
            print(total)
            """
        // A run returns when its main task ends; a worker that sent its last result may still be
        // leaving its G (its state goes then): what the account holds once no task is left.
        func settled(_ vm: VM) -> (used: Int, tasks: Int) {
            for _ in 0..<2000 where vm.memory.tasks.load(ordering: .relaxed) != 0 { usleep(1000) }
            return (vm.memory.used.load(ordering: .relaxed), vm.memory.tasks.load(ordering: .relaxed))
        }
        for procs in [1, 2] {
            let (vm, out) = makeVM(maxTasks: 50, procs: procs)
            defer { vm.shutdown() }
            try vm.run(source: source, fileName: "waves.vec")
            let first = settled(vm)
            try vm.run(source: source, fileName: "waves.vec")
            let second = settled(vm)
            #expect(out.text == "300000\n300000\n")
            #expect(first.tasks == 0 && second.tasks == 0, "procs \(procs)")
            #expect(second.used == first.used, "procs \(procs)")
            let recycled = vm.statistics.split(separator: " ").first { $0.hasPrefix("vm.tasks.recycled=") }
            let count = recycled.flatMap { Int($0.dropFirst("vm.tasks.recycled=".count)) } ?? 0
            #expect(count >= (procs == 1 ? 2 * 24 * 40 : 1), "procs \(procs): \(String(describing: recycled))")
        }
    }

    /// A task that spawns faster than its P starts what it spawns yields when its P's run queue
    /// overflows (spawnG), so the tasks queued at once stay about a queue's worth, not the whole
    /// loop's. The quantum here is 10 s: before, nothing stopped the loop, and all 50,000 tasks
    /// were queued (and charged, about 8.6 KB each) before the first of them ran.
    @Test func aSpawningLoopDoesNotRunAheadOfItsProcessors() throws {
        for procs in [1, 2] {
            let out = CapturedOutput()
            let vm = VM(
                configuration: VMConfiguration(procs: procs, quantumNanoseconds: 10_000_000_000, output: out))
            defer { vm.shutdown() }
            try vm.run(
                source: """
                    fn work(i: int, done: chan<int>) { send(done, i % 3) }
                    let done = chan<int>(50_000)
                    for i in 0..50_000 { spawn work(i, done) }
                    var total = 0
                    for i in 0..50_000 { total += recv(done) }
                    print(total)
                    """, fileName: "ahead.vec")
            #expect(out.text == "49999\n")
            let peak = vm.memory.peak.load(ordering: .relaxed)
            #expect(peak < 20 << 20, "procs \(procs): \(peak) bytes charged at the peak")
        }
    }

    /// A finished task hands its reference to the run's context to the context's pool, which
    /// releases such references in batches, and all of them when the run ends
    /// (TaskStatePool.oweContext, retire). Tasks that outlive their run keep the context until the
    /// last of them ends; then it goes, on any number of Ps.
    @Test func aRunsContextGoesWhenItsLastTaskEnds() throws {
        for procs in [1, 2] {
            let (vm, out) = makeVM(procs: procs)
            defer { vm.shutdown() }
            let live = { vm.stats.runContextsLive.load(ordering: .relaxed) }
            for run in 0..<3 {
                // 130 tasks finish during the run (two batches and some owed when it ends), 200 after it.
                try vm.run(
                    source: """
                        fn quick(c: chan<int>, i: int) { send(c, i) }
                        fn late(i: int) -> int { sleep(20 + i % 7); return i }
                        let c = chan<int>(130)
                        for i in 0..130 { spawn quick(c, i) }
                        var got = 0
                        for i in 0..130 { got += recv(c) }
                        for i in 0..200 { spawn late(i) }
                        print(got)
                        """, fileName: "late.vec")
                #expect(live() == 1, "procs \(procs), run \(run): the late tasks still run")
                for _ in 0..<5000 where live() != 0 { usleep(1000) }
                #expect(live() == 0, "procs \(procs), run \(run)")
            }
            #expect(out.text == String(repeating: "8385\n", count: 3))
        }
    }

    /// A spawned task's state is made when it first runs; until then its VMTask holds the spawn's
    /// arguments and charge (TaskRunner.startSpawned). Tasks that never run — queued when their run
    /// fails — give both back: the arrays they were given are freed, the account counts no task.
    @Test func tasksThatNeverRanGiveBackTheirArgumentsAndCharge() throws {
        for procs in [1, 2] {
            let (vm, _) = makeVM(memoryLimit: 64 << 20, procs: procs)
            defer { vm.shutdown() }
            // 2,000 queued tasks, each given a 16 KB array: about 50 MB with their charges. The main
            // task fails before it could be preempted; on 2 Ps the other P runs some of them first.
            let program = try vm.compile(
                source: """
                    fn hold(a: [f32], c: chan<int>) { send(c, len(a)) }
                    let c = chan<int>(0)
                    for i in 0..2000 { spawn hold(fill(4000, f32(i)), c) }
                    let zero = len([1]) - 1
                    print(1 / zero)
                    """, fileName: "unstarted.vec")
            let compiled = vm.memory.used.load(ordering: .relaxed)
            for run in 0..<3 {  // in a 64 MB limit: what a run does not give back, the next cannot spawn
                vm.currentScheduler().waitForStoppedTasks()
                do {
                    try vm.run(program)
                    Issue.record("procs \(procs), run \(run): expected a division by zero")
                } catch {
                    guard case .runtime(let e) = error, e.message.contains("division by zero") else {
                        Issue.record("procs \(procs), run \(run): \(error)")
                        return
                    }
                }
            }
            vm.currentScheduler().waitForStoppedTasks()
            for _ in 0..<2000 where vm.memory.tasks.load(ordering: .relaxed) != 0 { usleep(1000) }
            #expect(vm.memory.tasks.load(ordering: .relaxed) == 0, "procs \(procs)")
            // The default instance keeps the last run's globals: the channel `c` and `zero`.
            #expect(vm.memory.used.load(ordering: .relaxed) - compiled < 4096, "procs \(procs)")
        }
    }

    /// A task that fails on a recycled state reports its own location and task, as on a new one.
    @Test func aTaskOnARecycledStateFailsWithItsOwnError() {
        let (vm, _) = makeVM(procs: 1)
        defer { vm.shutdown() }
        let source = """
            fn work(i: int, done: chan<int>) { send(done, 100 / (i - 70)) }
            let done = chan<int>(10)
            var total = 0
            for wave in 0..10 {
                for i in 0..10 { spawn work(wave * 10 + i, done) }
                for i in 0..10 { total += recv(done) }
            }
            print(total)
            """
        do {
            try vm.run(source: source, fileName: "fail.vec")
            Issue.record("expected a division by zero")
        } catch {
            guard case .runtime(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.message == "integer division by zero")
            #expect(e.location.line == 1 && e.location.column == 51)
            #expect(e.taskID == 72)
            #expect(e.taskName == "work")
            #expect(e.spawnSite?.location.line == 5)
        }
    }

    // MARK: 16.3: garbage input

    @Test func garbageCostsAtMostTheErrorLimit() {
        // 1 MB of pseudo-random bytes (the CLI test feeds 10 MB to a release build).
        var words = [UInt64](repeating: 0, count: 1 << 17)
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        words.withUnsafeMutableBufferPointer { w in
            for i in 0..<w.count {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
                w[i] = x
            }
        }
        let text = words.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let d = diagnostics(text, file: "random.vec")
        #expect(d.count == Diagnostic.limit + 1)
        #expect(d.last?.message.hasPrefix("too many errors") == true)
        for e in d { #expect(e.sourceLine.unicodeScalars.count <= SourceFile.quotedColumns + 6) }
    }

    @Test func aLongLineIsQuotedAroundTheColumn() {
        let line = String(repeating: "#", count: 30_000)
        let d = diagnostics(line)
        #expect(d.count == 1)
        #expect(d.first?.message == "unexpected '#' (and 29999 more characters that cannot start a token)")
        let far = diagnostics(String(repeating: "a + ", count: 10_000) + "@")
        #expect(far.first?.location.column == 40_001)
        let text = far.first?.description ?? ""
        #expect(text.count < 400)
        #expect(text.hasSuffix("@\n" + String(repeating: " ", count: 63) + "^"))
    }

    @Test func controlCharactersAreNotQuotedRaw() {
        let d = diagnostics("let x = 1 \u{1B}[31m")
        #expect(d.first?.sourceLine.contains("\u{1B}") == false)
    }

    @Test func aByteOrderMarkIsAccepted() {
        let r = run("\u{FEFF}print(42)")
        #expect(r.error == nil)
        #expect(r.output == "42\n")
        let e = diagnostics("\u{FEFF}let x = y")
        #expect(e.first?.location == SourceLocation(line: 1, column: 9))
    }

    @Test func aProgramOverTheSizeLimitIsRefused() {
        let d = diagnostics(String(repeating: " ", count: SourceFile.maxBytes + 1))
        #expect(d.count == 1)
        #expect(d.first?.message.contains("at most \(SourceFile.maxBytes) bytes") == true)
    }

    @Test func aLiteralOf65535ElementsCompilesAndRuns() {
        let n = 65_535
        let floats = (0..<n).map { "\($0).5" }.joined(separator: ", ")
        let r = run("let a = [\(floats)]\nprint(len(a))\nprint(a[\(n - 1)])")
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "\(n)\n\(n - 1).5\n")
    }

    // MARK: 16.6: C calls beside the preemption signal

    @Test func blockingCCallsAreNotInterruptedByPreemption() {
        let out = CapturedOutput()
        let vm = VM(
            configuration: VMConfiguration(
                procs: 1, quantumNanoseconds: 1_000_000, output: out, allowForeignFunctions: true))
        defer { vm.shutdown() }
        let source = """
            extern fn usleep(us: int) -> int from "libc.so.6"
            extern fn sleep(s: int) -> int from "libc.so.6"
            fn busy(n: int) -> float {
                let x = fill(1_000_000, 1.5)
                var s = 0.0
                for i in 0..n { s = s + sum(sqrt(x * x + x)) }
                return s
            }
            let b = spawn busy(2_000)
            let t0 = now()
            var failures = 0
            for i in 0..5 { if usleep(100_000) != 0 { failures += 1 } }
            let t1 = now()
            print(failures)
            print((t1 - t0) / 1_000_000 >= 499)
            print(sleep(1))
            print((now() - t1) / 1_000_000 >= 999)
            """
        do {
            try vm.run(source: source, fileName: "ccalls.vec")
        } catch {
            Issue.record("\(error)")
        }
        #expect(out.text == "0\ntrue\n0\ntrue\n")
    }
}
