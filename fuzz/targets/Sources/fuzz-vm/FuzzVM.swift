// libFuzzer target: the whole VM. Bytes that compile run under the embedding API's limits (time,
// fuel, memory, output; no `extern`) on 2 Ps with a short quantum, the JIT on for inputs of even
// length and off for odd ones; every outcome must be a clean one (Sandbox). Built by
// fuzz/libfuzzer.sh.

import FuzzSupport
import VecVM

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVM(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var limits = SandboxLimits()
    limits.timeLimit = .seconds(1)
    limits.fuel = 2_000_000
    limits.memoryBytes = 32 << 20
    limits.outputBytes = 64 << 10
    // The JIT and the interpreter both, chosen by the input (so each corpus entry keeps its mode).
    limits.jit = size % 2 == 0
    let source = String(decoding: bytes, as: UTF8.self)
    do {
        _ = try Sandbox.run(source, fileName: "fuzz.vec", limits: limits)
    } catch {
        fatalError("fuzz-vm: \(error)")
    }
    return 0
}
