// EmbedDemo: VecVM inside a Swift program. Compiles a small .vec library once, calls its functions
// with Swift arrays, lets the script call back into Swift, shares a buffer without copying, and
// stops a runaway script with a fuel limit — then exits 0.

import VecVM

#if canImport(Glibc)
    import Glibc
#endif

let source = """
    let gain = 2.0
    fn norm(x: [f32]) -> f32 { return sqrt(sum(x * x)) }
    fn amplify(x: [float]) -> [float] { return x * gain }
    fn smooth(out: [f32], x: [f32]) {
        for i in 1..len(x) - 1 { out[i] = (x[i - 1] + x[i] + x[i + 1]) / 3 }
    }
    fn report(values: [float]) { print("the script says: mean", sum(values) / float(len(values)), "max", max(values)) }
    fn celsius(f: float) -> float { return toCelsius(f) }
    """

// The script's `print` goes through Swift's `print`, so that both keep their order in a pipe.
let vm = VM(configuration: VMConfiguration(procs: 2, output: ClosureOutput { print($0, terminator: "") }))
defer { vm.shutdown() }

do {
    // A Swift function the script may call; its types come from the closure.
    vm.register("toCelsius") { (f: Double) -> Double in (f - 32) * 5 / 9 }

    let program = try vm.compile(source: source, fileName: "demo.vec")
    print("functions:", program.functions.map(\.description).joined(separator: ", "))

    let n = try vm.call("norm", in: program, with: [.array([3, 4] as [Float])], as: Float.self)
    print("norm([3, 4]) =", n)

    let loud = try vm.call("amplify", in: program, with: [.array([1.0, 2.5, 4.0])], as: [Double].self)
    print("amplify([1, 2.5, 4]) =", loud)

    print("celsius(212) =", try vm.call("celsius", in: program, with: [.float(212)], as: Double.self))

    // No copy: the script writes into this buffer.
    let signal: [Float] = [0, 3, 0, 3, 0, 3]
    let smoothed = UnsafeMutableBufferPointer<Float>.allocate(capacity: signal.count)
    defer { smoothed.deallocate() }
    smoothed.initialize(repeating: 0)
    _ = try vm.call("smooth", in: program, with: [.buffer(smoothed), .array(signal)])
    print("smooth(\(signal)) =", Array(smoothed))

    _ = try vm.call("report", in: program, with: [.array(loud)])

    // An untrusted script on a budget: it stops with a typed error and the app goes on.
    try runRunaway()
    print("done")
} catch {
    print("error:", error)
    exit(1)
}

/// Runs an endless loop in a sandboxed VM: fuel stops it.
func runRunaway() throws {
    let sandbox = VM(configuration: VMConfiguration(procs: 1, fuel: 1_000_000, timeLimit: .seconds(5)))
    defer { sandbox.shutdown() }
    do {
        try sandbox.run(source: "var i = 0\nwhile true { i += 1 }", fileName: "runaway.vec")
        print("the runaway script ended?")
    } catch {
        guard case .fuelExhausted(let e) = error else { throw error }
        print("runaway script stopped:", e.message)
    }
}
