import VecVM
#if canImport(Glibc)
    import Glibc
#endif

let n = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 20_000
let vm = VM(configuration: VMConfiguration(procs: 1))
let program = try vm.compile(source: "fn id(x: int) -> int { return x }", fileName: "id.vec")
_ = try vm.call("id", in: program, with: [.int(0)])
let clock = ContinuousClock()
let start = clock.now
var acc = 0
for i in 0..<n {
    acc &+= try vm.call("id", in: program, with: [.int(i)], as: Int.self)
}
let elapsed = clock.now - start
let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print("bench calls=\(n) ns_per_call=\(ns / Double(n)) check=\(acc)")
vm.shutdown()
