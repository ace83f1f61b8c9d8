// Instances (compile once, instantiate many): their own globals and limits, typed global access from
// Swift, host functions with a context that call back into the VM, limits and fuel per call, direct
// calls on the caller's thread (stopped by cancel and time limits like any run), and `extern`
// libraries found next to the .vec file.

import Foundation
import Testing

@testable import VecVM

private let counter = """
    var count = 0
    let step = 2
    var name = "none"
    var samples: [float] = [1.0, 2.0]
    var lanes = splat(f32(1))
    print("top level", count)
    fn bump(by: int) -> int {
        count += by * step
        return count
    }
    fn rename(n: str) { name = n }
    fn total() -> float { return sum(samples) }
    fn spin() { while true { } }
    fn loop(n: int) -> int {
        var s = 0
        for i in 0..n { s += i }
        return s
    }
    fn big(n: int) -> float { return sum(fill(n, 1.0)) }
    fn fail(i: int) -> int { return 10 / i }
    fn worker(n: int) -> int { return n * n }
    fn viaTask(n: int) -> int { return wait(spawn worker(n)) }
    """

private func makeVM(fuel: Int? = nil, timeLimit: Duration? = nil) -> (VM, CapturedOutput) {
    let out = CapturedOutput()
    return (VM(configuration: VMConfiguration(procs: 2, output: out, fuel: fuel, timeLimit: timeLimit)), out)
}

@Suite("Instances", .serialized)
struct InstanceTests {
    // MARK: Instances and globals

    @Test func eachInstanceHasItsOwnGlobals() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        let program = try vm.compile(source: counter, fileName: "counter.vec")
        let a = try vm.instantiate(program)
        let b = try vm.instantiate(program)
        #expect(out.text == "top level 0\ntop level 0\n")  // each instance ran the top level once
        #expect(try a.call("bump", with: [5], as: Int.self) == 10)
        #expect(try a.call("bump", with: [1], as: Int.self) == 12)
        #expect(try b.call("bump", with: [1], as: Int.self) == 2)
        #expect(a["count", as: Int.self] == 12)
        #expect(b["count", as: Int.self] == 2)
        // The VM-level API has a default instance of its own; it does not touch a or b.
        #expect(try vm.call("bump", in: program, with: [100], as: Int.self) == 200)
        #expect(a["count", as: Int.self] == 12)
        // A fresh instance starts over.
        let c = try vm.instantiate(program)
        #expect(c["count", as: Int.self] == 0)
        #expect(out.text == "top level 0\ntop level 0\ntop level 0\ntop level 0\n")
    }

    @Test func globalsAreReadAndWrittenTyped() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let program = try vm.compile(source: counter, fileName: "counter.vec")
        let i = try vm.instantiate(program)
        #expect(
            i.globals.map(\.description) == [
                "var count: int", "let step: int", "var name: str", "var samples: [float]", "var lanes: f32x8",
            ])
        i["count"] = 40
        #expect(try i.call("bump", with: [1], as: Int.self) == 42)
        #expect(try i.global("count", as: Int.self) == 42)
        #expect(i["step"] == .int(2))
        try i.setGlobal("name", to: "ada")
        #expect(i["name", as: String.self] == "ada")
        _ = try i.call("rename", with: ["grace"])
        #expect(i["name"] == .string("grace"))
        // Arrays are shared, not copied: what the host writes into one the program reads.
        let samples = try #require(i["samples"]?.arrayValue)
        samples.withUnsafeMutableBufferPointer(of: Double.self) { $0[0] = 10 }
        #expect(try i.call("total", as: Double.self) == 12)
        i["samples", as: [Double].self] = [0.5, 0.25]
        #expect(try i.call("total", as: Double.self) == 0.75)
        i["lanes"] = .f32x8(SIMD8<Float>(repeating: 3))
        #expect(i["lanes", as: SIMD8<Float>.self] == SIMD8<Float>(repeating: 3))

        // Misuse is an error that names the problem.
        let misuses: [(String, Value, String)] = [
            ("nosuch", 1, "has no global variable 'nosuch'"),
            ("step", 3, "'step' is a let constant"),
            ("count", 1.5, "global variable 'count' is an int, not a float"),
        ]
        for (name, value, message) in misuses {
            do {
                try i.setGlobal(name, to: value)
                Issue.record("expected an error setting \(name)")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
        #expect(i["nosuch"] == nil)
        #expect(i["count", as: String.self] == nil)
        #expect(throws: VMError.self) { try i.global("count", as: Double.self) }
    }

    @Test func aGlobalWhoseDeclarationHasNotRunReadsAsNil() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let program = try vm.compile(
            source: "var first = 1\nfn peek() -> int { return later }\nlet x = 10 / (first - 1)\nvar later = 2",
            fileName: "half.vec")
        // The top level fails before `later`'s declaration: no instance is made.
        #expect(throws: VMError.self) { try vm.instantiate(program) }
        let ok = try vm.compile(source: "var a = 1\nvar b = a + 1", fileName: "ok.vec")
        let i = try vm.instantiate(ok)
        #expect(i["b", as: Int.self] == 2)
    }

    // MARK: Limits and fuel

    @Test func limitsPerInstanceAndPerCallAndFuelUsed() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let program = try vm.compile(source: counter, fileName: "counter.vec")
        let limited = try vm.instantiate(program, limits: Limits(fuel: 5_000))
        let free = try vm.instantiate(program)
        #expect(limited.limits.fuel == 5_000)
        #expect(free.limits == Limits.none)

        // Fuel used is exact for a run that ends normally: one unit per loop iteration or call.
        #expect(try limited.call("loop", with: [1000], as: Int.self) == 499_500)
        let used1000 = try #require(limited.lastRun?.fuelUsed)
        _ = try limited.call("loop", with: [2000])
        let used2000 = try #require(limited.lastRun?.fuelUsed)
        #expect(used2000 - used1000 == 1000)
        #expect(limited.lastRun?.fuelBudget == 5_000)
        #expect(limited.lastRun?.ranOnCallingThread == true)

        // The instance's budget stops a longer loop; a call's own limits replace it.
        do {
            _ = try limited.call("loop", with: [100_000])
            Issue.record("expected fuel exhaustion")
        } catch {
            guard case .fuelExhausted(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.fileName == "counter.vec")
        }
        #expect(limited.lastRun?.fuelUsed == 5_000)
        #expect(try limited.call("loop", with: [100_000], limits: Limits.none, as: Int.self) == 4_999_950_000)
        #expect(limited.lastRun?.fuelUsed == nil)  // no budget, nothing counted
        #expect(throws: VMError.self) { try free.call("loop", with: [100_000], limits: Limits(fuel: 10)) }

        // A time limit per call stops an endless loop running on the calling thread.
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try free.call("spin", limits: Limits(timeLimit: .milliseconds(100)))
            Issue.record("expected the time limit")
        } catch {
            guard case .timeLimit(let limit) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(limit == .milliseconds(100))
        }
        #expect(clock.now - start < .seconds(10))
        // The instance goes on, and the expired limit does not reach the next call.
        #expect(try free.call("bump", with: [1], as: Int.self) == 2)
    }

    @Test func theVMsLimitsAreTheDefault() throws {
        let (vm, _) = makeVM(fuel: 1_000, timeLimit: .seconds(30))
        defer { vm.shutdown() }
        let program = try vm.compile(source: counter, fileName: "counter.vec")
        let i = try vm.instantiate(program)
        #expect(i.limits == Limits(fuel: 1_000, timeLimit: .seconds(30)))
        #expect(throws: VMError.self) { try i.call("loop", with: [5_000]) }
        // The VM-level API reports what its last call used.
        #expect(try vm.call("loop", in: program, with: [10], as: Int.self) == 45)
        #expect(vm.lastRun?.fuelBudget == 1_000)
        #expect((vm.lastRun?.fuelUsed ?? 0) > 0)
    }

    @Test func memoryLimitPerInstance() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let program = try vm.compile(source: counter, fileName: "counter.vec")
        let small = try vm.instantiate(program, memoryLimit: 1 << 20)
        let other = try vm.instantiate(program)
        #expect(small.memoryLimit == 1 << 20)
        do {
            _ = try small.call("big", with: [1_000_000])
            Issue.record("expected the memory limit")
        } catch {
            guard case .memoryLimit = error else {
                Issue.record("got \(error)")
                return
            }
        }
        #expect(try other.call("big", with: [1_000_000], as: Double.self) == 1_000_000)
        #expect(try small.call("big", with: [1_000], as: Double.self) == 1_000)
    }

    // MARK: Direct calls

    @Test func smallFunctionsRunOnTheCallingThreadTaskFunctionsOnTheScheduler() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let i = try vm.instantiate(try vm.compile(source: counter, fileName: "counter.vec"))
        _ = try i.call("bump", with: [1])
        #expect(i.lastRun?.ranOnCallingThread == true)
        #expect(try i.call("viaTask", with: [7], as: Int.self) == 49)
        #expect(i.lastRun?.ranOnCallingThread == false)
    }

    @Test func runtimeErrorsInDirectCallsAndTheInstanceGoesOn() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let i = try vm.instantiate(try vm.compile(source: counter, fileName: "counter.vec"))
        do {
            _ = try i.call("fail", with: [0])
            Issue.record("expected a runtime error")
        } catch {
            guard case .runtime(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.message == "integer division by zero")
            #expect(e.location.line == 20)
            #expect(e.description.contains("counter.vec:20:"))
            #expect(e.taskID == 0)  // no task: the call ran on this thread
            #expect(e.description.hasSuffix("in fail, called from the host"))
        }
        #expect(try i.call("fail", with: [5], as: Int.self) == 2)
    }

    @Test func cancelStopsADirectCallFromAnotherThread() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let i = try vm.instantiate(try vm.compile(source: counter, fileName: "counter.vec"))
        let cancellers: [(String, @Sendable () -> Void)] = [
            ("instance", { i.cancel(reason: "stop it") }), ("vm", { vm.cancel(reason: "stop it") }),
        ]
        for (which, cancel) in cancellers {
            let done = DoneFlag()
            let canceller = Thread {
                Thread.sleep(forTimeInterval: 0.05)
                while !done.isSet {
                    cancel()
                    Thread.sleep(forTimeInterval: 0.02)
                }
            }
            canceller.start()
            defer { done.set() }
            do {
                _ = try i.call("spin")
                Issue.record("expected a cancellation (\(which))")
            } catch {
                guard case .cancelled(let why) = error else {
                    Issue.record("got \(error) (\(which))")
                    continue
                }
                #expect(why == "stop it")
            }
            done.set()
            Thread.sleep(forTimeInterval: 0.05)
        }
        // A cancel when nothing runs does not reach a later call.
        i.cancel(reason: "late")
        #expect(try i.call("bump", with: [1], as: Int.self) == 2)
    }

    @Test func severalThreadsCallOneInstance() async throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let i = try await vm.instantiate(try vm.compile(source: counter, fileName: "counter.vec"))
        let sums = try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 1...4 {
                group.addTask {
                    var s = 0
                    for n in 0..<200 { s += try i.call("loop", with: [.int(n + k)], as: Int.self) }
                    return s
                }
            }
            var all: [Int] = []
            for try await s in group { all.append(s) }
            return all.sorted()
        }
        let expected = (1...4).map { k in (0..<200).reduce(0) { $0 + ($1 + k) * ($1 + k - 1) / 2 } }.sorted()
        #expect(sums == expected)
        #expect(try await i.call("loop", with: [10], as: Int.self) == 45)
    }

    // MARK: Host functions with a context

    @Test func aHostFunctionGetsItsCallerAndCallsBack() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        let seen = LineCollector()
        vm.register("report") { (context: HostContext, label: String) -> Int in
            let count = context.instance["count", as: Int.self] ?? -1
            seen.append("\(label) count=\(count) task=\(context.task.map(\.description) ?? "none")")
            // A call back into the same instance, nested in this one.
            return try context.instance.call("double", with: [.int(count)], as: Int.self)
        }
        let program = try vm.compile(
            source: """
                var count = 0
                fn double(x: int) -> int { return x * 2 }
                fn step() -> int {
                    count += 1
                    return report("step")
                }
                fn inTask() -> int { return wait(spawn step()) }
                """, fileName: "ctx.vec")
        let i = try vm.instantiate(program)
        #expect(try i.call("step", as: Int.self) == 2)
        #expect(try i.call("step", as: Int.self) == 4)
        // Called from a task, the context names it; the callback still runs at once.
        #expect(try i.call("inTask", as: Int.self) == 6)
        let lines = seen.all
        #expect(lines.count == 3)
        #expect(lines[0] == "step count=1 task=none")
        #expect(lines[2].hasPrefix("step count=3 task=task "))
        #expect(lines[2].hasSuffix("(step)"))
        #expect(out.text == "")
    }

    @Test func callbacksFromTasksCannotNeedTasksAndDeepNestingIsAnError() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        vm.register("again") { (context: HostContext, n: Int) -> Int in
            try context.instance.call("down", with: [.int(n)], as: Int.self)
        }
        vm.register("tasky") { (context: HostContext) -> Int in
            try context.instance.call("viaTask", with: [3], as: Int.self)
        }
        let program = try vm.compile(
            source: """
                fn down(n: int) -> int {
                    if n == 0 { return 0 }
                    return again(n - 1) + 1
                }
                fn worker(n: int) -> int { return n * n }
                fn viaTask(n: int) -> int { return wait(spawn worker(n)) }
                fn fromTask() -> int { return wait(spawn callsTasky()) }
                fn callsTasky() -> int { return tasky() }
                """, fileName: "nest.vec")
        let i = try vm.instantiate(program)
        #expect(try i.call("down", with: [20], as: Int.self) == 20)
        // From the calling thread a callback may need tasks: it runs on the scheduler.
        #expect(try i.call("callsTasky", as: Int.self) == 9)
        // From a task it may not.
        do {
            _ = try i.call("fromTask")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("cannot do"), "\(error)")
        }
        // Host → VM → host → … past the limit is an error, not a crash.
        do {
            _ = try i.call("down", with: [10_000])
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("nested too deeply"), "\(error)")
        }
        #expect(try i.call("down", with: [3], as: Int.self) == 3)
    }

    // MARK: extern libraries next to the program

    @Test func aRelativeLibraryPathIsFoundNextToTheProgram() throws {
        guard
            let lib = try buildCLibrary(
                "#include <stdint.h>\nint64_t triple(int64_t x) { return 3 * x; }", name: "triple")
        else { return }  // no C compiler on this machine
        let folder = (lib as NSString).deletingLastPathComponent
        let source = "extern fn triple(x: int) -> int from \"./libtriple.so\"\nprint(triple(14))"
        let out = CapturedOutput()
        let vm = VM(configuration: VMConfiguration(procs: 1, output: out, allowForeignFunctions: true))
        defer { vm.shutdown() }
        // The current directory is elsewhere: the library is found next to the .vec file.
        #expect(FileManager.default.currentDirectoryPath != folder)
        try vm.run(source: source, fileName: folder + "/prog.vec")
        #expect(out.text == "42\n")
        // A file name without a folder keeps the current directory, where there is no such library.
        do {
            try vm.run(source: source, fileName: "prog.vec")
            Issue.record("expected a compile error")
        } catch {
            #expect(error.description.contains("cannot load library \"./libtriple.so\""), "\(error)")
        }
    }
}
