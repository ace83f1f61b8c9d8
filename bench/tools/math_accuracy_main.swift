// The offline accuracy runs of the vector math library (bench/tools/math_accuracy.sh compiles this with
// the library's sources and Tests/VecVMTests/MathAccuracyHarness.swift, optimized):
//   exhaustive FUNCTION [STEP]   every one of the 2^32 f32 arguments (exp log sin cos tanh round floor ceil)
//   random64 FUNCTION COUNT      COUNT random f64 arguments (the test's generator, another seed)
//   pow64 COUNT, pow32 COUNT     COUNT random argument pairs
//   annexf                       the exact special values, both types
// Each prints the maximum error in ulps, the worst argument, and the run time.

import Dispatch
import Foundation

func function(_ name: String) -> MathFunction {
    guard let f = MathFunction.allCases.first(where: { "\($0)" == name }) else {
        fatalError("unknown function \(name)")
    }
    return f
}

func eval32(_ f: MathFunction) -> (Float) -> Float {
    switch f {
    case .exp: return { ScalarLanes.run($0) { MathLibrary.exp($0) } }
    case .log: return { ScalarLanes.run($0) { MathLibrary.log($0) } }
    case .sin: return { ScalarLanes.run($0) { MathLibrary.sin($0) } }
    case .cos: return { ScalarLanes.run($0) { MathLibrary.cos($0) } }
    case .tanh: return { ScalarLanes.run($0) { MathLibrary.tanh($0) } }
    case .round: return { ScalarLanes.run($0) { MathLibrary.round($0) } }
    case .floor, .ceil: return { MathLibrary.scalar(f, $0) }
    case .pow: fatalError("pow is binary")
    }
}

func eval64(_ f: MathFunction) -> (Double) -> Double {
    switch f {
    case .exp: return { ScalarLanes.run($0) { MathLibrary.exp($0) } }
    case .log: return { ScalarLanes.run($0) { MathLibrary.log($0) } }
    case .sin: return { ScalarLanes.run($0) { MathLibrary.sin($0) } }
    case .cos: return { ScalarLanes.run($0) { MathLibrary.cos($0) } }
    case .tanh: return { ScalarLanes.run($0) { MathLibrary.tanh($0) } }
    case .round: return { ScalarLanes.run($0) { MathLibrary.round($0) } }
    case .floor, .ceil: return { MathLibrary.scalar(f, $0) }
    case .pow: fatalError("pow is binary")
    }
}

/// Runs `chunks` pieces of work on all cores, merging their results.
func parallel(_ chunks: Int, _ work: @escaping @Sendable (Int) -> MathAccuracy.Result) -> MathAccuracy.Result {
    let lock = NSLock()
    nonisolated(unsafe) var total: MathAccuracy.Result? = nil
    DispatchQueue.concurrentPerform(iterations: chunks) { i in
        let r = work(i)
        lock.lock()
        if total == nil { total = r } else { total!.merge(r) }
        lock.unlock()
    }
    return total!
}

@main
enum Main {
    static func main() {
        let args = CommandLine.arguments
        let start = Date()
        var result: MathAccuracy.Result
        switch args.count > 1 ? args[1] : "" {
        case "exhaustive":
            let f = function(args[2])
            // An optional STEP tests every STEP-th bit pattern only (a quicker look while developing).
            let step = args.count > 3 ? Int(args[3])! : 1
            let per = 1 << 22
            result = parallel((1 << 32) / per / step) { chunk in
                let g = eval32(f)
                var r = MathAccuracy.Result(function: f, type: "f32")
                for i in 0..<per {
                    let x = Float(bitPattern: UInt32(truncatingIfNeeded: (chunk * per + i) * step + (i % step)))
                    let y = g(x)
                    r.record(MathAccuracy.ulps(y, exact: MathAccuracy.reference(f, x)), [Double(x)], Double(y))
                }
                return r
            }
        case "random64":
            let f = function(args[2])
            let count = Int(args[3])!
            let per = 1 << 20
            result = parallel((count + per - 1) / per) { chunk in
                let xs = MathAccuracy.inputs64(f, count: per, seed: 0xACC0_0000 &+ UInt64(chunk) &* 7919)
                return MathAccuracy.measure(f, xs) { $0.map(eval64(f)) }
            }
        case "pow64":
            let count = Int(args[2])!
            let per = 1 << 20
            result = parallel((count + per - 1) / per) { chunk in
                let (xs, ys) = MathAccuracy.inputsPow64(count: per, seed: 0xB0B0_0000 &+ UInt64(chunk) &* 7919)
                return MathAccuracy.measurePow(xs, ys) { a, b in zip(a, b).map { MathLibrary.scalarPow($0, $1) } }
            }
        case "pow32":
            let count = Int(args[2])!
            let per = 1 << 20
            result = parallel((count + per - 1) / per) { chunk in
                let (xs, ys) = MathAccuracy.inputsPow32(count: per, seed: 0xB1B1_0000 &+ UInt64(chunk) &* 7919)
                return MathAccuracy.measurePow(xs, ys) { a, b in zip(a, b).map { MathLibrary.scalarPow($0, $1) } }
            }
        case "annexf":
            let f64 = MathAccuracy.checkAnnexF("f64") { f, a in
                f == .pow ? MathLibrary.scalarPow(a[0], a[1]) : MathLibrary.scalar(f, a[0])
            }
            let f32 = MathAccuracy.checkAnnexF("f32") { f, a in
                Double(f == .pow ? MathLibrary.scalarPow(Float(a[0]), Float(a[1])) : MathLibrary.scalar(f, Float(a[0])))
            }
            for line in f64 + f32 { print("FAIL", line) }
            print(
                "annex F: \(MathAccuracy.annexF.count * 2 - f64.count - f32.count) of \(MathAccuracy.annexF.count * 2) hold"
            )
            exit(f64.isEmpty && f32.isEmpty ? 0 : 1)
        default:
            print(
                "usage: math_accuracy exhaustive FUNCTION | random64 FUNCTION COUNT | pow64 COUNT | pow32 COUNT | annexf"
            )
            exit(2)
        }
        print(result, String(format: "(%.0f s)", Date().timeIntervalSince(start)))
    }
}
