// vecvm-sandbox: a host app that embeds VecVM to run programs it does not trust, one after the
// other in one long-lived process: each in a fresh VM with a time limit, a fuel limit, a memory
// limit and an output limit, with `extern` forbidden. It runs the programs it is given and, with
// --mutate N, N token-level mutants of each, and must survive all of them: every outcome has to be
// a clean one (FuzzSupport.Sandbox), and the process must not crash, hang or grow without bound.
//
//   vecvm-sandbox [--mutate N] [--seed S] [--time-limit SECONDS] [--verbose] FILE-OR-DIR...
//
// Prints a count per outcome, the resident memory, and every violation; exits 1 if there was one.

import Foundation
import FuzzSupport
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

/// Edits that keep a program close to valid, so that most mutants still compile and run: a number
/// becomes another (often a boundary), an identifier another of the program's, an operator another
/// of its class, a line is deleted or duplicated; and sometimes a raw token is inserted, deleted or
/// moved.
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
    let isNumber = { (t: String) in t.first.map { $0.isNumber } ?? false }
    let isName = { (t: String) in t.first.map { $0.isLetter || $0 == "_" } ?? false }
    let names = Array(Set(tokens.filter(isName)))
    let numbers = [
        "0", "1", "2", "3", "7", "8", "9", "15", "16", "17", "31", "32", "33", "255", "1000", "65536",
        "2147483647", "4294967296", "9223372036854775807", "0.0", "1.0", "0.5", "1e308", "5e-324", "1e-40",
    ]
    let operatorClasses = [["+", "-", "*", "/", "%"], ["<", ">"], ["&", "|"], ["(", "["]]
    let raw = [
        "(", ")", "[", "]", "{", "}", "-", "!", "..", ",", "\n", ";", "spawn", "yield()", "return", "break",
        "f32", "float", "int", "[f32]", "chan<int>", "splat", "vload", "lane", "iota", "fill", "sum", "len",
    ]
    for _ in 0..<(rng.int(3) == 0 ? 2 + rng.int(3) : 1) {
        if tokens.isEmpty { break }
        var i = rng.int(tokens.count)
        let kind = rng.int(20)
        if kind < 8 {
            // A number: a boundary value, or a neighbour of the old one.
            guard let j = (0..<tokens.count).map({ (i + $0) % tokens.count }).first(where: { isNumber(tokens[$0]) })
            else { continue }
            i = j
            if let v = Int(tokens[i]), rng.int(2) == 0 {
                tokens[i] = String([v &+ 1, v &- 1, v &* 2, v / 2, v &* 8][rng.int(5)])
            } else {
                tokens[i] = numbers[rng.int(numbers.count)]
            }
        } else if kind < 11 {
            guard !names.isEmpty,
                let j = (0..<tokens.count).map({ (i + $0) % tokens.count }).first(where: { isName(tokens[$0]) })
            else { continue }
            tokens[j] = names[rng.int(names.count)]
        } else if kind < 14 {
            guard
                let j = (0..<tokens.count).map({ (i + $0) % tokens.count }).first(where: { t in
                    operatorClasses.contains { $0.contains(tokens[t]) }
                }), let cls = operatorClasses.first(where: { $0.contains(tokens[j]) })
            else { continue }
            tokens[j] = cls[rng.int(cls.count)]
        } else if kind < 16 {
            // Delete or duplicate a line (from one newline token to the next).
            let newlines = tokens.indices.filter { tokens[$0] == "\n" }
            guard newlines.count >= 2 else { continue }
            let k = rng.int(newlines.count - 1)
            let line = Array(tokens[(newlines[k] + 1)...newlines[k + 1]])
            if rng.int(2) == 0 {
                tokens.removeSubrange((newlines[k] + 1)...newlines[k + 1])
            } else {
                let at = newlines[rng.int(newlines.count)] + 1
                tokens.insert(contentsOf: line, at: min(at, tokens.count))
            }
        } else if kind < 17 {
            tokens.remove(at: i)
        } else if kind < 19 {
            tokens.insert(raw[rng.int(raw.count)], at: i)
        } else {
            tokens.swapAt(i, rng.int(tokens.count))
        }
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

/// The process's thread count: a host that runs VMs one after the other must not accumulate threads.
func threadCount() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    let line = s.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
    return Int(line.split(separator: "\t").last ?? "") ?? 0
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
        print(
            "usage: vecvm-sandbox [--mutate N] [--seed S] [--time-limit SECONDS] [--no-jit] [--verbose] FILE-OR-DIR...")
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
        + "resident \(startKB / 1024) MB at start, \(residentKB() / 1024) MB at the end, \(peakKB / 1024) MB peak; "
        + "\(threadCount()) threads")
exit(violations.isEmpty ? 0 : 1)
