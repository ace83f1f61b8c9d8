// The offline accuracy runs of the vector math library. bench/tools/math_accuracy.sh compiles this with
// the library's sources and Tests/VecVMTests/MathAccuracyHarness.swift (swiftc -O), runs it as several
// processes, one slice each, and merges their results:
//   exhaustive FUNCTION [STEP]   every f32 argument (every STEP-th bit pattern), for exp log sin cos tanh
//                                round floor ceil
//   random64 FUNCTION COUNT      COUNT random f64 arguments (the test's generator, other seeds)
//   pow64 COUNT, pow32 COUNT     COUNT random argument pairs
//   annexf                       the exact special values, both types
// This program runs slice SLICE of NSLICES (the last two arguments) and prints one line:
//   RESULT <max ulps> <inputs> <description of the worst case>
// It uses nothing but the C library, so that it can be built as one static binary.

#if canImport(Glibc)
    import Glibc
#endif

@main
enum Main {
    static func function(_ name: String) -> MathFunction {
        guard let f = MathFunction.allCases.first(where: { "\($0)" == name }) else {
            fatalError("unknown function \(name)")
        }
        return f
    }

    static func eval32(_ f: MathFunction) -> (Float) -> Float {
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

    static func eval64(_ f: MathFunction) -> (Double) -> Double {
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

    static func main() {
        var args = CommandLine.arguments
        guard args.count >= 4, let slice = Int(args[args.count - 2]), let slices = Int(args[args.count - 1]) else {
            print("usage: math_accuracy MODE ARGS... SLICE NSLICES (see bench/tools/math_accuracy.sh)")
            exit(2)
        }
        args.removeLast(2)
        var result: MathAccuracy.Result
        let chunk = 1 << 20
        switch args[1] {
        case "exhaustive":
            let f = function(args[2])
            let step = args.count > 3 ? Int(args[3])! : 1
            let g = eval32(f)
            result = MathAccuracy.Result(function: f, type: "f32")
            // Bit patterns slice, slice + slices, ... (every step-th of them).
            var i = UInt64(slice * step)
            while i < 1 << 32 {
                let x = Float(bitPattern: UInt32(i))
                let y = g(x)
                result.record(MathAccuracy.ulps(y, exact: MathAccuracy.reference(f, x)), [Double(x)], Double(y))
                i += UInt64(slices * step)
            }
        case "random64":
            let f = function(args[2])
            let count = Int(args[3])!
            result = MathAccuracy.Result(function: f, type: "f64")
            var c = slice
            while c * chunk < count {
                let xs = MathAccuracy.inputs64(f, count: chunk, seed: 0xACC0_0000 &+ UInt64(c) &* 7919)
                result.merge(MathAccuracy.measure(f, xs) { $0.map(eval64(f)) })
                c += slices
            }
        case "pow64", "pow32":
            let count = Int(args[2])!
            result = MathAccuracy.Result(function: .pow, type: args[1] == "pow64" ? "f64" : "f32")
            var c = slice
            while c * chunk < count {
                if args[1] == "pow64" {
                    let (xs, ys) = MathAccuracy.inputsPow64(count: chunk, seed: 0xB0B0_0000 &+ UInt64(c) &* 7919)
                    result.merge(
                        MathAccuracy.measurePow(xs, ys) { a, b in zip(a, b).map { MathLibrary.scalarPow($0, $1) } })
                } else {
                    let (xs, ys) = MathAccuracy.inputsPow32(count: chunk, seed: 0xB1B1_0000 &+ UInt64(c) &* 7919)
                    result.merge(
                        MathAccuracy.measurePow(xs, ys) { a, b in zip(a, b).map { MathLibrary.scalarPow($0, $1) } })
                }
                c += slices
            }
        case "annexf":
            let f64 = MathAccuracy.checkAnnexF("f64") { f, a in
                f == .pow ? MathLibrary.scalarPow(a[0], a[1]) : MathLibrary.scalar(f, a[0])
            }
            let f32 = MathAccuracy.checkAnnexF("f32") { f, a in
                Double(f == .pow ? MathLibrary.scalarPow(Float(a[0]), Float(a[1])) : MathLibrary.scalar(f, Float(a[0])))
            }
            for line in f64 + f32 { print("FAIL", line) }
            let total = MathAccuracy.annexF.count * 2
            print("annex F: \(total - f64.count - f32.count) of \(total) hold")
            exit(f64.isEmpty && f32.isEmpty ? 0 : 1)
        default:
            print("unknown mode \(args[1])")
            exit(2)
        }
        print("RESULT \(result.maxUlps) \(result.count) \(result)")
    }
}
