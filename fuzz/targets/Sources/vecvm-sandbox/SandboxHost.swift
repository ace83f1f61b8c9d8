// vecvm-sandbox: a host app that embeds VecVM to run programs it does not trust, one after the
// other in one long-lived process: each in a fresh VM with a time limit, a fuel limit, a memory
// limit and an output limit, with `extern` forbidden. It runs the programs it is given and, with
// --mutate N, N token-level mutants of each, and must survive all of them: every outcome has to be
// a clean one (FuzzSupport.Sandbox), and the process must not crash, hang or grow without bound.
//
//   vecvm-sandbox [--mutate N] [--seed S] [--time-limit SECONDS] [--verbose] FILE-OR-DIR...
//
// Prints a count per outcome, the resident memory, and every violation; exits 1 if there was one.

import FuzzSupport
import Foundation
import VecVM

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// Token-level edits that keep a program close to valid: swap numbers, operators, names, bounds;
/// delete, duplicate or move a token; insert a keyword or a bracket.
func mutate(_ source: String, _ rng: inout SplitMix) -> String {
    var tokens: [String] = []
    var current = ""
    func flush() {
        if !current.isEmpty { tokens.append(current) }
        current = ""
    }
    for ch in source {
        if ch.isLetter || ch.isNumber || ch == "_" || ch == "." {
            current.append(ch)
        } else {
            flush()
            tokens.append(String(ch))
        }
    }
    flush()
    if tokens.isEmpty { return source }
    let replacements = [
        "0", "1", "-1", "2", "7", "8", "9223372036854775807", "0.0", "-0.0", "1e308", "f32", "float", "int",
        "+", "-", "*", "/", "%", "<", ">=", "==", "!", "&&", "||", "..", "(", ")", "[", "]", "{", "}",
        "spawn", "wait", "recv", "send", "close", "yield()", "sleep", "fn", "return", "while", "for", "in",
        "let", "var", "if", "else", "break", "continue", "chan<int>", "[f32]", "f32x8", "f64x4", "splat",
        "vload", "vstore", "lane", "sum", "dot", "iota", "fill", "len", "sqrt", "fma", "min", "max",
        "\n", ";", ",", "\"", "true", "false", "1_000_000_000",
    ]
    for _ in 0..<(1 + rng.int(4)) {
        let i = rng.int(tokens.count)
        switch rng.int(6) {
        case 0: tokens[i] = replacements[rng.int(replacements.count)]
        case 1: tokens.remove(at: i)
        case 2: tokens.insert(tokens[i], at: i)
        case 3: tokens.insert(replacements[rng.int(replacements.count)], at: i)
        case 4:
            let j = rng.int(tokens.count)
            tokens.swapAt(i, j)
        default:
            // A number token becomes another number of the same shape.
            if let v = Int(tokens[i]) {
                tokens[i] = String([v &+ 1, v &- 1, 0, -v, v &* 1000, Int.max, Int.min][rng.int(7)])
            }
        }
        if tokens.isEmpty { break }
    }
    return tokens.joined()
}

/// Writes a line to standard output at once (unbuffered: a crash must not lose what came before).
func say(_ line: String) {
    FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!)
}

func residentKB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let parts = s.split(separator: " ")
    return parts.count > 1 ? (Int(parts[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024 : 0
}

func programFiles(_ paths: [String]) -> [String] {
    var out: [String] = []
    let fm = FileManager.default
    for p in paths {
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: p, isDirectory: &isDir) else {
            FileHandle.standardError.write("vecvm-sandbox: no such file: \(p)\n".data(using: .utf8)!)
            exit(64)
        }
        if isDir.boolValue {
            let names = (try? fm.subpathsOfDirectory(atPath: p)) ?? []
            out += names.filter { $0.hasSuffix(".vec") }.sorted().map { p + "/" + $0 }
        } else {
            out.append(p)
        }
    }
    return out
}

var args = Array(CommandLine.arguments.dropFirst())
var mutants = 0
var seed: UInt64 = 1
var limits = SandboxLimits()
var verbose = false
var paths: [String] = []
while let a = args.first {
    args.removeFirst()
    switch a {
    case "--mutate": mutants = Int(args.removeFirst()) ?? 0
    case "--seed": seed = UInt64(args.removeFirst()) ?? 1
    case "--time-limit": limits.timeLimit = .milliseconds(Int((Double(args.removeFirst()) ?? 2) * 1000))
    case "--no-jit": limits.jit = false
    case "--verbose": verbose = true
    case "--help", "-h":
        print("usage: vecvm-sandbox [--mutate N] [--seed S] [--time-limit SECONDS] [--no-jit] [--verbose] FILE-OR-DIR...")
        exit(0)
    default: paths.append(a)
    }
}

let files = programFiles(paths)
var counts: [SandboxOutcome: Int] = [:]
var violations: [String] = []
var rng = SplitMix(state: seed)
var runs = 0
let startKB = residentKB()
var peakKB = startKB
let start = ContinuousClock.now

for file in files {
    guard let original = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
    for k in 0...mutants {
        let source = k == 0 ? original : mutate(original, &rng)
        let name = k == 0 ? file : "\(file)#mutant\(k)"
        if verbose {
            // What runs now, where a crash leaves it (the crash is the finding: keep the program).
            try? source.write(toFile: "sandbox-current.vec", atomically: false, encoding: .utf8)
            say("\(name) ...")
        }
        do {
            let (outcome, _) = try Sandbox.run(source, fileName: "untrusted.vec", limits: limits)
            counts[outcome, default: 0] += 1
            if verbose { say("\(name): \(outcome.rawValue)") }
        } catch {
            violations.append("\(name): \(error)")
            say("VIOLATION \(name): \(error)")
            let path = "sandbox-violation-\(violations.count).vec"
            try? source.write(toFile: path, atomically: true, encoding: .utf8)
        }
        runs += 1
        peakKB = max(peakKB, residentKB())
    }
}

let elapsed = ContinuousClock.now - start
let summary = SandboxOutcome.allCases.map { "\($0.rawValue)=\(counts[$0, default: 0])" }.joined(separator: " ")
say(
    "vecvm-sandbox: \(runs) runs of \(files.count) files in \(elapsed); \(summary); violations=\(violations.count); "
        + "resident \(startKB / 1024) MB at start, \(residentKB() / 1024) MB at the end, \(peakKB / 1024) MB peak")
exit(violations.isEmpty ? 0 : 1)
