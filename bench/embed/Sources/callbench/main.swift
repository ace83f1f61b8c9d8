// callbench: the cost of one call from Swift into a small .vec function, through each form of the
// embedding API, and of one call from .vec back into Swift. Beside it, lua_call.c does the same
// with Lua 5.4's C API; bench/bench.py's `embedding` group runs both in one run and prints the
// ratio. Usage: callbench [CALLS [TRIALS [CASE]]]; prints one line per case,
// `bench case=NAME ns_per_call=MEDIAN calls=N trials=T`, the median over the trials. A third
// argument runs only the case of that name (for callgrind).

import VecVM

let calls = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20_000 : 20_000
let trials = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 5 : 5
/// A case name to run alone (for profiling), or all of them.
let only = CommandLine.arguments.count > 3 ? CommandLine.arguments[3] : nil

let vm = VM(configuration: VMConfiguration(procs: 1))
vm.register("hostId") { (x: Int) -> Int in x }
let program = try vm.compile(
    source: """
        fn id(x: int) -> int { return x }
        fn add(a: float, b: float) -> float { return a + b }
        fn viaHost(x: int) -> int { return hostId(x) }
        """, fileName: "calls.vec")
let instance = try vm.instantiate(program)

/// Runs `body` `calls` times per trial; prints the median time per call.
func measure(_ name: String, _ body: (Int) throws -> Int) rethrows {
    if let only, only != name { return }
    var check = 0
    for i in 0..<1000 { check &+= try body(i) }  // warm-up (first call makes the default instance)
    let clock = ContinuousClock()
    var perCall: [Double] = []
    for _ in 0..<trials {
        let start = clock.now
        for i in 0..<calls { check &+= try body(i) }
        let d = (clock.now - start).components
        perCall.append((Double(d.seconds) * 1e9 + Double(d.attoseconds) / 1e9) / Double(calls))
    }
    perCall.sort()
    let median = perCall[perCall.count / 2]
    print("bench case=\(name) ns_per_call=\(median) calls=\(calls) trials=\(trials) check=\(check)")
}

// The case: `vm.call("id")`, the VM-level API on the program's default instance.
try measure("vm_call_id") { i in try vm.call("id", in: program, with: [.int(i)], as: Int.self) }
try measure("instance_call_id") { i in try instance.call("id", with: [.int(i)], as: Int.self) }
try measure("instance_call_id_value") { i in
    let v = try instance.call("id", with: [.int(i)])
    return v.intValue ?? 0
}
try measure("instance_call_add") { i in
    Int(try instance.call("add", with: [.float(Double(i)), .float(0.5)], as: Double.self))
}
// Swift → .vec → Swift → .vec: the host function's round trip included.
try measure("instance_call_via_host") { i in try instance.call("viaHost", with: [.int(i)], as: Int.self) }
vm.shutdown()
