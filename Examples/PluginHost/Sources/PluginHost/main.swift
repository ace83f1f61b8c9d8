// PluginHost: VecVM as the plugin engine of a Swift app. Each plugin (plugins/*.vec) is compiled
// once and instantiated for every user, with its own globals and limits; plugins call the app
// back through a host function that learns which instance called it; the app reads and writes
// the plugins' globals, gives a plugin its own buffer without a copy, and stops a runaway plugin
// with per-call limits. The app's own `print` and the plugins' `print` write to the same standard
// output, in order (CI compares a piped run with expected-output.txt).

import VecVM

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The plugins' folder, next to this package's Sources.
let pluginsFolder: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path + "/plugins"
}()

func readPlugin(_ name: String) throws -> String {
    guard let file = fopen(pluginsFolder + "/" + name, "r") else { throw PluginError.missing(name) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

enum PluginError: Error { case missing(String) }

/// Calls the runaway plugin twice, under a fuel budget and then under a time limit.
func stopRunaway(_ buggy: Instance) {
    do {
        _ = try buggy.call("run", limits: Limits(fuel: 100_000))
        print("app: the runaway plugin returned?")
    } catch {
        guard case .fuelExhausted = error else { return print("app: unexpected:", error) }
        print("app: runaway plugin stopped after", buggy.lastRun?.fuelUsed ?? -1, "units of fuel")
    }
    do {
        _ = try buggy.call("run", limits: Limits(timeLimit: .milliseconds(50)))
        print("app: the runaway plugin returned?")
    } catch {
        guard case .timeLimit(let limit) = error else { return print("app: unexpected:", error) }
        print("app: runaway plugin stopped by its time limit of", limit)
    }
}

// One VM for the app: the plugins' default limits, and the functions they may call.
let vm = VM(configuration: VMConfiguration(procs: 2, fuel: 5_000_000, timeLimit: .seconds(5)))
defer { vm.shutdown() }

/// Who each instance belongs to, for the alerts (the app's own state, keyed by instance). Written
/// before the plugins run, read by the host function.
nonisolated(unsafe) var owners: [Instance: String] = [:]

vm.register("alert") { (context: HostContext, what: String, value: Double) in
    // The context says which instance called, and from where (a call on the app's own thread has
    // no VM task); through it the app reads the plugin's state.
    let owner = owners[context.instance] ?? "?"
    let batches = context.instance["batches", as: Int.self] ?? 0
    let origin = context.task.map { "task \($0.id)" } ?? "the app's thread"
    let plugin = context.instance.program.fileName.split(separator: "/").last.map(String.init) ?? "?"
    print("  app: alert for \(owner) from \(plugin) (batch \(batches), on \(origin)): \(what) \(value)")
}

do {
    print("app: loading plugins")
    let scoring = try vm.compile(source: try readPlugin("scoring.vec"), fileName: pluginsFolder + "/scoring.vec")
    let smoothing = try vm.compile(
        source: try readPlugin("smoothing.vec"), fileName: pluginsFolder + "/smoothing.vec")
    let runaway = try vm.compile(source: try readPlugin("runaway.vec"), fileName: pluginsFolder + "/runaway.vec")

    // One scoring instance per user: each runs the plugin's top level and keeps its own state.
    let alice = try vm.instantiate(scoring)
    let bob = try vm.instantiate(scoring, limits: Limits(fuel: 10_000))
    owners[alice] = "alice"
    owners[bob] = "bob"
    print("app: alice scores", try alice.call("score", with: [.array([3.0, 4.0])], as: Double.self))
    print("app: alice scores", try alice.call("score", with: [.array([6.0, 8.0])], as: Double.self))
    print("app: bob scores", try bob.call("score", with: [.array([1.0, 0.0])], as: Double.self))
    print(
        "app: alice has", alice["batches", as: Int.self] ?? -1, "batches, best", alice["best", as: Double.self] ?? -1,
        "| bob has", bob["batches", as: Int.self] ?? -1, "batch, best", bob["best", as: Double.self] ?? -1)

    // The app may change a plugin's state: reset alice's best score.
    alice["best"] = 0.0
    try alice.setGlobal("batches", to: 0)
    print(
        "app: alice reset to", alice["batches"]?.description ?? "?", "batches, best", alice["best"]?.description ?? "?")
    do {
        try alice.setGlobal("threshold", to: 1.0)
    } catch {
        print("app: refused:", error)
    }

    // A plugin working in place on the app's own buffer; it spawns tasks, so it runs on the VM's
    // scheduler rather than on this thread.
    let signal: [Float] = [0, 3, 0, 3, 0, 3, 0, 3]
    let smoothed = UnsafeMutableBufferPointer<Float>.allocate(capacity: signal.count)
    defer { smoothed.deallocate() }
    smoothed.initialize(repeating: 0)
    let smoother = try vm.instantiate(smoothing)
    let changed = try smoother.call("smooth", with: [.buffer(smoothed), .array(signal)], as: Int.self)
    print("app: smoothed", changed, "samples:", Array(smoothed))
    print("app: that call ran on", smoother.lastRun?.ranOnCallingThread == true ? "this thread" : "the scheduler")

    // A runaway plugin: a fuel budget for this call stops it, then a time limit does.
    let buggy = try vm.instantiate(runaway)
    stopRunaway(buggy)
    print("app: the runaway plugin counted", (buggy["spins", as: Int.self] ?? 0) > 100_000 ? "past" : "to", "100000")
    print("app: done")
} catch {
    print("app: error:", error)
    exit(1)
}
