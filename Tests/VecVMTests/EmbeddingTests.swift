// The embedding API as a Swift app uses it: compile once and run many times, call .vec functions
// with Swift values, register Swift functions, share arrays without copies, limits (fuel, time,
// memory), cancellation from another thread and from Swift concurrency, output capture.

import Foundation
import Testing
import VecVM

/// A VM writing into a CapturedOutput, with 2 processors (the machines have 2 cores).
private func makeVM(fuel: Int? = nil, timeLimit: Duration? = nil, memoryLimit: Int? = nil, jit: Bool = true)
    -> (VM, CapturedOutput)
{
    let out = CapturedOutput()
    let vm = VM(
        configuration: VMConfiguration(
            procs: 2, jit: jit, output: out, memoryLimit: memoryLimit, fuel: fuel, timeLimit: timeLimit))
    return (vm, out)
}

private let library = """
    let bias = 0.5
    print("library loaded")
    fn add(a: int, b: int) -> int { return a + b }
    fn scale(x: float, k: float) -> float { return x * k + bias }
    fn half(x: f32) -> f32 { return x / 2 }
    fn both(a: bool, b: bool) -> bool { return a && b }
    fn greet(name: str) -> str { return "hello, " + name }
    fn norm(x: [f32], p: f32) -> f32 { return sqrt(sum(x * x)) * p }
    fn twice(x: [float]) -> [float] { return x * 2.0 }
    fn ramp(n: int) -> [int] { return iota(n) }
    fn addv(a: f32x8, b: f32x8) -> f32x8 { return a + b }
    fn sqrtv(a: f64x4) -> f64x4 { return sqrt(a) }
    fn fillIn(out: [f32], v: f32) { for i in 0..len(out) { out[i] = v * f32(i) } }
    fn nothing() { }
    fn worker(n: int) -> int { return n * n }
    fn start(n: int) -> task<int> { return spawn worker(n) }
    """

@Suite("Embedding API", .serialized)
struct EmbeddingTests {
    // MARK: Compile once, run many

    @Test func compileOnceRunMany() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        let program = try vm.compile(
            source: "var n = 0\nn += 1\nfn get() -> int { return n }\nprint(n, get())", fileName: "many.vec")
        for _ in 0..<3 { try vm.run(program) }
        // Each run starts from fresh globals.
        #expect(out.text == "1 1\n1 1\n1 1\n")
        #expect(program.fileName == "many.vec")
        #expect(program.functions.map(\.description) == ["get() -> int"])
    }

    @Test func compileErrorsAreTyped() {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        #expect(throws: CompileError.self) { try vm.compile(source: "let x: int = 1.5", fileName: "bad.vec") }
        do {
            try vm.run(source: "print(nosuch(1))", fileName: "bad.vec")
            Issue.record("expected a compile error")
        } catch {
            guard case .compile(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.description.contains("unknown function 'nosuch'"))
            #expect(error.exitStatus == 1)
        }
    }

    // MARK: Calls

    @Test func callScalarsStringsAndGlobals() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        let p = try vm.compile(source: library, fileName: "lib.vec")
        #expect(try vm.call("add", in: p, with: [.int(2), .int(40)]) == .int(42))
        #expect(try vm.call("add", in: p, with: [2, 40], as: Int.self) == 42)
        // `scale` reads the global `bias`: the top level ran once, before the first call.
        #expect(try vm.call("scale", in: p, with: [.float(3), .float(2)], as: Double.self) == 6.5)
        #expect(try vm.call("half", in: p, with: [.f32(5)], as: Float.self) == 2.5)
        #expect(try vm.call("both", in: p, with: [true, false], as: Bool.self) == false)
        #expect(try vm.call("greet", in: p, with: ["swift"], as: String.self) == "hello, swift")
        #expect(try vm.call("nothing", in: p) == .void)
        #expect(out.text == "library loaded\n")
        #expect(p.signature(of: "norm")?.description == "norm([f32], f32) -> f32")
    }

    @Test(arguments: [true, false])
    func callWithArraysAndSIMD(jit: Bool) throws {
        let (vm, _) = makeVM(jit: jit)
        defer { vm.shutdown() }
        let p = try vm.compile(source: library, fileName: "lib.vec")
        let x: [Float] = [3, 4]
        #expect(try vm.call("norm", in: p, with: [.array(x), .f32(2)], as: Float.self) == 10)
        #expect(try vm.call("twice", in: p, with: [.array([1.0, 2.5])], as: [Double].self) == [2, 5])
        #expect(try vm.call("ramp", in: p, with: [4], as: [Int].self) == [0, 1, 2, 3])
        let a = SIMD8<Float>(0, 1, 2, 3, 4, 5, 6, 7)
        #expect(try vm.call("addv", in: p, with: [.f32x8(a), .f32x8(a)], as: SIMD8<Float>.self) == a * 2)
        #expect(try vm.call("sqrtv", in: p, with: [Value(SIMD4<Double>(1, 4, 9, 16))]) == .f64x4(SIMD4(1, 2, 3, 4)))
        // A task handle crosses as an opaque value and comes back.
        let t = try vm.call("start", in: p, with: [7])
        guard case .task(let handle) = t else {
            Issue.record("got \(t)")
            return
        }
        #expect(handle.type == .task(.int))
    }

    @Test func badCallsAreInvalidCallErrors() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        let p = try vm.compile(source: library, fileName: "lib.vec")
        let cases: [(String, [Value], String)] = [
            ("nosuch", [], "has no function 'nosuch'"),
            ("add", [1], "'add' takes 2 arguments, not 1"),
            ("scale", [1, 2], "argument 1 of 'scale' must be a float, not an int"),
            ("norm", [.array([1.0]), .f32(1)], "argument 1 of 'norm' must be an [f32], not an [float]"),
        ]
        for (name, args, message) in cases {
            do {
                _ = try vm.call(name, in: p, with: args)
                Issue.record("expected an invalid call for \(name)")
            } catch {
                guard case .invalidCall(let why) = error else {
                    Issue.record("got \(error)")
                    continue
                }
                #expect(why.contains(message), "got: \(why)")
            }
        }
        #expect(throws: VMError.self) { try vm.call("add", in: p, with: [1, 2], as: Double.self) }
        #expect(out.text == "")  // nothing ran
    }

    @Test func programsKeepTheirOwnGlobals() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        let a = try vm.compile(source: "let k = 10\nprint(\"a\")\nfn get() -> int { return k }", fileName: "a.vec")
        let b = try vm.compile(
            source: "let s = \"text\"\nprint(\"b\")\nfn get() -> str { return s }", fileName: "b.vec")
        #expect(try vm.call("get", in: a) == .int(10))
        #expect(try vm.call("get", in: b) == .string("text"))
        #expect(try vm.call("get", in: a) == .int(10))
        #expect(try vm.call("get", in: a) == .int(10))
        // Each program has its own default instance: calling b neither reset a's globals nor made a's
        // top level run again.
        #expect(out.text == "a\nb\n")
        // `run` starts a program afresh (its top level runs again); the other program is untouched.
        try vm.run(a)
        #expect(try vm.call("get", in: b) == .string("text"))
        #expect(out.text == "a\nb\na\n")
    }

    // MARK: Host functions

    @Test func typedHostFunctions() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        let log = CapturedOutput()
        vm.register("scale") { (x: Double, k: Double) -> Double in x * k }
        vm.register("shout") { (s: String) -> String in s.uppercased() }
        vm.register("total") { (xs: [Float]) -> Float in xs.reduce(0, +) }
        vm.register("series") { (n: Int) -> [Double] in (0..<n).map { Double($0) / 2 } }
        vm.register("note") { (s: String, n: Int) in log.write("\(s)=\(n)\n") }
        vm.register("answer") { () -> Int in 42 }
        try vm.run(
            source: """
                print(scale(2.0, 3.5), shout("hi"), total([1.5, 2.5]), series(3), answer())
                note("k", 7)
                """, fileName: "host.vec")
        #expect(out.text == "7.0 HI 4.0 [0.0, 0.5, 1.0] 42\n")
        #expect(log.text == "k=7\n")
        #expect(vm.hostFunctions["scale"]?.description == "scale(float, float) -> float")
    }

    @Test func hostFunctionTypeMismatchIsACompileError() {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        vm.register("scale") { (x: Double, k: Double) -> Double in x * k }
        do {
            _ = try vm.compile(source: "let y = scale(2, \"three\")", fileName: "host.vec")
            Issue.record("expected a compile error")
        } catch {
            #expect(error.description.contains("host.vec:1:"), "\(error)")
            #expect(error.description.contains("str"), "\(error)")
        }
        do {
            _ = try vm.compile(source: "let y: int = scale(1.0, 2.0)", fileName: "host.vec")
            Issue.record("expected a compile error")
        } catch {}
    }

    @Test func throwingHostFunctionIsARuntimeError() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "the host said no" } }
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        vm.register("check") { (x: Int) throws -> Int in
            if x > 2 { throw Refused() }
            return x
        }
        do {
            try vm.run(source: "for i in 0..5 { print(check(i)) }", fileName: "host.vec")
            Issue.record("expected a runtime error")
        } catch {
            guard case .runtime(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.message == "host function 'check' failed: the host said no")
            #expect(e.location.line == 1)
            #expect(error.exitStatus == 2)
        }
        #expect(out.text == "0\n1\n2\n")
        // The VM still works.
        try vm.run(source: "print(check(1))", fileName: "ok.vec")
        #expect(out.text.hasSuffix("2\n1\n"))
    }

    @Test func untypedHostFunctionSeesArraysWithoutACopy() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        // Doubles every element in place: the .vec array and the host share the memory.
        vm.register("doubleInPlace", parameters: [.array(.float)], result: .void) { args in
            args[0].arrayValue?.withUnsafeMutableBufferPointer(of: Double.self) { buffer in
                for i in buffer.indices { buffer[i] *= 2 }
            }
            return .void
        }
        try vm.run(source: "let a = [1.0, 2.0, 3.0]\ndoubleInPlace(a)\nprint(a)", fileName: "inplace.vec")
        #expect(out.text == "[2.0, 4.0, 6.0]\n")
    }

    @Test func hostFunctionsRegisteredLaterDoNotChangeCompiledPrograms() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        vm.register("k") { () -> Int in 1 }
        let old = try vm.compile(source: "print(k())", fileName: "old.vec")
        vm.register("k") { () -> String in "two" }
        let new = try vm.compile(source: "print(k())", fileName: "new.vec")
        try vm.run(old)
        try vm.run(new)
        #expect(out.text == "1\ntwo\n")
    }

    @Test func aHostFunctionCannotRunTheVM() throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        vm.register("reenter") { () -> String in
            do {
                try vm.run(source: "print(1)", fileName: "inner.vec")
                return "ran"
            } catch {
                guard case .invalidCall? = error as? VMError else { return "other" }
                return "refused"
            }
        }
        try vm.run(source: "print(reenter())", fileName: "outer.vec")
        #expect(out.text == "refused\n")
    }

    // MARK: Arrays without copies

    @Test func hostBufferIsWrittenInPlace() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let p = try vm.compile(source: library, fileName: "lib.vec")
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 5)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: -1)
        _ = try vm.call("fillIn", in: p, with: [.buffer(buffer), .f32(1.5)])
        #expect(Array(buffer) == [0, 1.5, 3, 4.5, 6])

        // A VecArray made by the host is shared too, and a result array comes back without a copy.
        let shared = VecArray(zeros: 3, of: .f32)
        _ = try vm.call("fillIn", in: p, with: [.array(shared), .f32(2)])
        #expect(shared.toArray(of: Float.self) == [0, 2, 4])
        let r = try vm.call("twice", in: p, with: [.array([1.0, 2.0])])
        #expect(r.arrayValue?.toArray(of: Double.self) == [2, 4])
        #expect(r.arrayValue?.toArray(of: Float.self) == nil)
    }

    // MARK: Limits

    @Test func fuelStopsAnEndlessLoopAndTheVMGoesOn() throws {
        let (vm, out) = makeVM(fuel: 200_000)
        defer { vm.shutdown() }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try vm.run(source: "var i = 0\nwhile true { i += 1 }", fileName: "spin.vec")
            Issue.record("expected fuel exhaustion")
        } catch {
            guard case .fuelExhausted(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.message.hasPrefix("fuel exhausted"))
            #expect(e.fileName == "spin.vec")
            #expect(error.exitStatus == 2)
        }
        #expect(clock.now - start < .seconds(5))
        // Recursion spends fuel too (calls).
        do {
            try vm.run(
                source: "fn f(n: int) -> int {\n if n == 0 { return 1 }\n return f(n - 1) + f(n - 1)\n}\nprint(f(40))",
                fileName: "rec.vec")
            Issue.record("expected fuel exhaustion")
        } catch {
            guard case .fuelExhausted = error else {
                Issue.record("got \(error)")
                return
            }
        }
        // Each run has the whole budget again.
        try vm.run(source: "var s = 0\nfor i in 0..1000 { s += i }\nprint(s)", fileName: "ok.vec")
        #expect(out.text == "499500\n")
    }

    @Test func timeLimitStopsAnEndlessLoop() throws {
        let (vm, out) = makeVM(timeLimit: .milliseconds(200))
        defer { vm.shutdown() }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try vm.run(source: "var i = 0\nwhile true { i += 1 }", fileName: "spin.vec")
            Issue.record("expected the time limit")
        } catch {
            guard case .timeLimit(let limit) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(limit == .milliseconds(200))
        }
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(5), "took \(elapsed)")
        // A quick run afterwards is unaffected, also by the expired timer of the last one.
        try vm.run(source: "print(1)", fileName: "ok.vec")
        let p = try vm.compile(source: "fn spin() { while true { } }", fileName: "f.vec")
        #expect(throws: VMError.self) { try vm.call("spin", in: p) }
        try vm.run(source: "print(2)", fileName: "ok.vec")
        #expect(out.text == "1\n2\n")
    }

    @Test func memoryLimitStopsAnAllocation() throws {
        let (vm, out) = makeVM(memoryLimit: 1 << 20)
        defer { vm.shutdown() }
        do {
            try vm.run(
                source: "let a = fill(100_000, 1.0)\nlet b = fill(100_000, 2.0)\nprint(a[0] + b[0])",
                fileName: "big.vec")
            Issue.record("expected the memory limit")
        } catch {
            guard case .memoryLimit(let e) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(e.message.hasPrefix("out of memory"))
            #expect(e.location.line == 2)
        }
        // The arrays of the failed run are released: a smaller program fits.
        try vm.run(source: "let a = fill(100_000, 1.0)\nprint(sum(a))", fileName: "ok.vec")
        #expect(out.text == "100000.0\n")
    }

    @Test func cancelFromAnotherThread() throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        // Cancelling when nothing runs does not affect a later run.
        vm.cancel(reason: "too early")
        try vm.run(source: "print(1)", fileName: "ok.vec")

        let done = DoneFlag()
        let canceller = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            while !done.isSet {
                vm.cancel(reason: "user pressed stop")
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        canceller.start()
        defer { done.set() }
        do {
            try vm.run(source: "var i = 0\nwhile true { i += 1 }", fileName: "spin.vec")
            Issue.record("expected a cancellation")
        } catch {
            guard case .cancelled(let why) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(why == "user pressed stop")
        }
    }

    // MARK: async

    @Test func asyncRunAndCall() async throws {
        let (vm, out) = makeVM()
        defer { vm.shutdown() }
        try await vm.run(source: "print(\"async hello\")", fileName: "a.vec")
        let p = try vm.compile(source: library, fileName: "lib.vec")
        let sum = try await vm.call("add", in: p, with: [20, 22], as: Int.self)
        #expect(sum == 42)
        let v = try await vm.call("greet", in: p, with: ["async"])
        #expect(v == .string("hello, async"))
        #expect(out.text == "async hello\nlibrary loaded\n")
    }

    @Test func cancellingTheSwiftTaskCancelsTheRun() async throws {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        let program = try vm.compile(source: "var i = 0\nwhile true { i += 1 }", fileName: "spin.vec")
        let task = Task { try await vm.run(program) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result, case .cancelled(let why)? = error as? VMError else {
            Issue.record("got \(result)")
            return
        }
        #expect(why == "the Swift task was cancelled")
        // A task cancelled before it starts never runs the program.
        let (vm2, out2) = makeVM()
        defer { vm2.shutdown() }
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await vm2.run(source: "print(\"ran\")", fileName: "x.vec")
        }
        let earlyResult = await early.result
        guard case .failure(let earlyError) = earlyResult, case .cancelled? = earlyError as? VMError else {
            Issue.record("got \(earlyResult)")
            return
        }
        #expect(out2.text == "")
    }

    // MARK: Output and concurrency

    @Test func outputGoesToTheConfiguredSink() throws {
        let lines = LineCollector()
        let vm = VM(configuration: VMConfiguration(procs: 2, output: ClosureOutput { lines.append($0) }))
        defer { vm.shutdown() }
        try vm.run(source: "for i in 0..3 { print(\"line\", i) }", fileName: "out.vec")
        #expect(lines.all == ["line 0\n", "line 1\n", "line 2\n"])
    }

    @Test func twoVMsRunConcurrently() async throws {
        let source = """
            fn work(n: int) -> int {
                var s = 0
                for i in 0..n { s += i % 7 }
                return s
            }
            """
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 1...2 {
                group.addTask {
                    let (vm, _) = makeVM()
                    defer { vm.shutdown() }
                    let p = try vm.compile(source: source, fileName: "w\(k).vec")
                    return try await vm.call("work", in: p, with: [.int(200_000 * k)], as: Int.self)
                }
            }
            var all: [Int] = []
            for try await r in group { all.append(r) }
            return all.sorted()
        }
        let expected = [1, 2].map { k in (0..<(200_000 * k)).reduce(0) { $0 + $1 % 7 } }
        #expect(results == expected)
    }

    @Test func foreignFunctionsAreOffByDefault() {
        let (vm, _) = makeVM()
        defer { vm.shutdown() }
        do {
            _ = try vm.compile(source: "extern fn cbrt(x: float) -> float from \"libm.so.6\"", fileName: "ffi.vec")
            Issue.record("expected a compile error")
        } catch {
            #expect(error.description.contains("extern functions are disabled in this VM"))
        }
    }

    // MARK: The documentation's examples (Sources/VecVM/VecVM.docc), verbatim

    @Test func gettingStartedExamples() throws {
        let out = CapturedOutput()
        // Embedding a VM
        let vm = VM(configuration: VMConfiguration(output: out))
        defer { vm.shutdown() }
        try vm.run(source: "print(\"hello from vec\")", fileName: "hello.vec")

        // Compiling once, calling many times
        let program = try vm.compile(
            source: """
                fn norm(x: [f32]) -> f32 { return sqrt(sum(x * x)) }
                fn scaled(x: [float], k: float) -> [float] { return x * k }
                """, fileName: "math.vec")
        let math = try vm.instantiate(program)
        let n = try math.call("norm", with: [.array([3, 4] as [Float])], as: Float.self)
        let xs = try math.call("scaled", with: [.array([1.0, 2.0]), .float(10)], as: [Double].self)
        #expect(n == 5)
        #expect(xs == [10, 20])
        #expect(try vm.call("norm", in: program, with: [.array([3, 4] as [Float])], as: Float.self) == 5)

        // Registering a Swift function
        vm.register("clamp01") { (x: Double) -> Double in min(max(x, 0), 1) }
        try vm.run(source: "print(clamp01(1.7), clamp01(0.25))", fileName: "host.vec")

        // A host function with a context
        vm.register("twice") { (context: HostContext, x: Double) -> Double in
            let offset = context.instance["offset", as: Double.self] ?? 0
            return try context.instance.call("scale", with: [.float(x)], as: Double.self) * 2 + offset
        }
        let scaler = try vm.instantiate(
            try vm.compile(
                source:
                    "var offset = 0.5\nfn scale(x: float) -> float { return x * 10.0 }\nfn f(x: float) -> float { return twice(x) }",
                fileName: "twice.vec"))
        #expect(try scaler.call("f", with: [.float(1)], as: Double.self) == 20.5)

        // Sharing memory
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 0)
        let writer = try vm.compile(
            source: "fn ramp(out: [f32]) { for i in 0..len(out) { out[i] = f32(i) } }", fileName: "w.vec")
        _ = try vm.call("ramp", in: writer, with: [.buffer(buffer)])
        #expect(Array(buffer) == [0, 1, 2, 3])

        // Limits
        let sandbox = VM(
            configuration: VMConfiguration(memoryLimit: 64 << 20, fuel: 10_000_000, timeLimit: .seconds(2)))
        defer { sandbox.shutdown() }
        let untrusted = try sandbox.instantiate(
            try sandbox.compile(source: "fn spin() { while true { } }", fileName: "u.vec"))
        do {
            _ = try untrusted.call("spin", limits: Limits(fuel: 1_000))
            Issue.record("expected fuel exhaustion")
        } catch .fuelExhausted(let e) {
            #expect(e.message.hasPrefix("fuel exhausted"))
        } catch {
            Issue.record("got \(error)")
        }
        #expect(out.text == "hello from vec\n1.0 0.25\n")
    }

    @Test func gettingStartedAsyncExample() async throws {
        let out = CapturedOutput()
        let vm = VM(configuration: VMConfiguration(output: out))
        defer { vm.shutdown() }
        // async
        let stats = try await vm.instantiate(
            try vm.compile(
                source: "fn mean(x: [float]) -> float { return sum(x) / float(len(x)) }", fileName: "stats.vec"))
        let m = try await stats.call("mean", with: [.array([1.0, 2.0, 6.0])], as: Double.self)
        let program = try vm.compile(
            source: "fn mean(x: [float]) -> float { return sum(x) / float(len(x)) }", fileName: "stats.vec")
        let m2 = try await vm.call("mean", in: program, with: [.array([1.0, 2.0, 6.0])], as: Double.self)
        try await vm.run(source: "print(\"from async code\")", fileName: "async.vec")
        #expect(m == 3)
        #expect(m2 == 3)
        #expect(out.text == "from async code\n")
    }

    @Test func readmeExample() throws {
        let vm = VM(configuration: VMConfiguration(fuel: 10_000_000, timeLimit: .seconds(2)))
        defer { vm.shutdown() }
        vm.register("clamp01") { (x: Double) -> Double in min(max(x, 0), 1) }
        let program = try vm.compile(
            source: """
                var calls = 0
                fn norm(x: [f32]) -> f32 { calls += 1
                    return sqrt(sum(x * x)) }
                fn level(x: float) -> float { return clamp01(x / 10.0) }
                """, fileName: "lib.vec")
        let lib = try vm.instantiate(program)
        let n = try lib.call("norm", with: [.array([3, 4] as [Float])], as: Float.self)
        let l = try lib.call("level", with: [.float(4)], limits: Limits(fuel: 1_000), as: Double.self)
        let calls = lib["calls", as: Int.self]
        #expect(n == 5)
        #expect(l == 0.4)
        #expect(calls == 1)
    }

    @Test func instancesArticleExamples() throws {
        let out = CapturedOutput()
        let vm = VM(configuration: VMConfiguration(output: out))
        defer { vm.shutdown() }
        let program = try vm.compile(
            source: """
                var count = 0
                let step = 2
                fn bump(by: int) -> int {
                    count += by * step
                    return count
                }
                """, fileName: "counter.vec")
        let a = try vm.instantiate(program)
        let b = try vm.instantiate(program, limits: Limits(fuel: 100_000))
        #expect(try a.call("bump", with: [5]) == .int(10))
        #expect(try b.call("bump", with: [1]) == .int(2))
        #expect(a["count", as: Int.self] == 10)

        let count: Int? = a["count", as: Int.self]
        #expect(count == 10)
        a["count"] = 40
        try a.setGlobal("count", to: 41)
        #expect(a.globals.map(\.description) == ["var count: int", "let step: int"])
        #expect(a["count"] == .int(41))

        let untrusted = try vm.instantiate(
            program, limits: Limits(fuel: 1_000_000, timeLimit: .seconds(1)), memoryLimit: 16 << 20)
        _ = try untrusted.call("bump", with: [1], limits: Limits(fuel: 500))
        #expect(untrusted.lastRun?.fuelUsed == 0)  // no loop, no call: nothing to count

        vm.register("audit") { (context: HostContext, what: String) -> Int in
            let count = context.instance["count", as: Int.self] ?? 0
            out.write("[\(context.task?.description ?? "host thread")] \(what): count = \(count)\n")
            return try context.instance.call("bump", with: [0], as: Int.self)
        }
        let audited = try vm.instantiate(
            try vm.compile(
                source:
                    "var count = 3\nfn bump(by: int) -> int {\n count += by\n return count\n}\nfn check() -> int { return audit(\"check\") }",
                fileName: "audit.vec"))
        #expect(try audited.call("check", as: Int.self) == 3)
        #expect(out.text == "[host thread] check: count = 3\n")
    }
}

final class DoneFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.withLock { lines.append(s) } }
    var all: [String] { lock.withLock { lines } }
}
