// Kernel programs: the IR of a fused elementwise array expression or reduction. The compiler turns an
// expression tree such as `select(x > 0.0, exp(x) * 0.5, 0.0)` into ONE `kernel` instruction referring
// to a KernelProgram: per-lane operations in SSA order, each value with a lane type (int, float, f32 or
// bool), with array inputs, broadcast scalar inputs, and one output (a new array) or one reduction. The
// interpreter evaluates it in one pass over the data (Interpreter/KernelEvaluator.swift); the JIT lowers
// exactly the same program to AVX2 (JIT/KernelLowering.swift). Both must agree bit for bit, so the
// semantics of every operation are fixed here:
//
// - add, sub, mul, div, sqrt: IEEE-754 in the element type, each rounded once. `a * b + c` is a mul
//   then an add; only `fma` fuses (one rounding). Integers wrap; integer division truncates, `%` takes
//   the sign of the dividend, division (or `%`) by zero is a runtime error, `min / -1` wraps to `min`
//   and `min % -1` is 0.
// - min(a, b) = a < b ? a : b and max(a, b) = a > b ? a : b, exactly x86's MINPS/MAXPS: with a NaN or
//   two zeros the second operand wins.
// - abs clears the sign bit (floats) or negates negatives with wrapping (int); neg flips the sign bit.
// - exp log sin cos tanh pow round: Math/MathLibrary (one algorithm, run lane by lane in the interpreter
//   and as vector code in the JIT, LaneBuilder.swift); floor and ceil are exact roundings.
// - compare eq ne lt le: IEEE (a NaN compares false except with ne) or integer; the result is a bool
//   lane. not, and, or: on bool lanes (both operands are always evaluated). select(m, a, b): m ? a : b.
// - Reductions accumulate in a fixed number of lanes, `reductionLanes` (32 for f32: four YMM registers
//   of 8; 16 for float and int: four of 4), element i going to lane i % lanes, starting from the
//   identity (+0.0 / 0, +inf / -inf / Int.max / Int.min for min / max). The lanes are then combined in
//   one fixed order (`combineLanes`): the four accumulator vectors pairwise ((A0∘A1)∘(A2∘A3)), then
//   the halves of the result vector, then its quarters, then the last pair — the order AVX code gets
//   from vextractf128 / vmovhlps / vshufps. NaN payloads and signs are not part of the contract.
//   count, any and all of bool lanes are exact whatever the order.

import Synchronization
import VMRuntime

/// The elementwise math functions of one argument (LANGUAGE.md "Vector math").
enum ElementwiseMath: UInt8, Hashable, CaseIterable {
    case exp, log, sin, cos, tanh, floor, ceil, round

    var name: String { String(describing: self) }

    static func from(_ op: SimdOp) -> ElementwiseMath {
        switch op {
        case .exp: .exp
        case .log: .log
        case .sin: .sin
        case .cos: .cos
        case .tanh: .tanh
        case .floor: .floor
        case .ceil: .ceil
        default: .round
        }
    }

    static func from(_ b: Builtin) -> ElementwiseMath {
        switch b {
        case .exp: .exp
        case .log: .log
        case .sin: .sin
        case .cos: .cos
        case .tanh: .tanh
        case .floor: .floor
        case .ceil: .ceil
        default: .round
        }
    }
}

enum KernelOp: Hashable {
    case load(Int)  // array input k, element i
    case scalar(Int)  // scalar input k, broadcast
    case neg(Int)
    case abs(Int)
    case sqrt(Int)
    case math(ElementwiseMath, Int)
    case add(Int, Int)
    case sub(Int, Int)
    case mul(Int, Int)
    case div(Int, Int)
    case mod(Int, Int)  // int only
    case min(Int, Int)
    case max(Int, Int)
    case pow(Int, Int)
    case fma(Int, Int, Int)  // a * b + c, one rounding
    case compare(CompareOp, Int, Int)  // -> bool
    case not(Int)  // bool
    case and(Int, Int)  // bool
    case or(Int, Int)  // bool
    case select(Int, Int, Int)  // bool mask, a, b

    var operands: [Int] {
        switch self {
        case .load, .scalar: []
        case .neg(let a), .abs(let a), .sqrt(let a), .math(_, let a), .not(let a): [a]
        case .add(let a, let b), .sub(let a, let b), .mul(let a, let b), .div(let a, let b), .mod(let a, let b),
            .min(let a, let b), .max(let a, let b), .pow(let a, let b), .compare(_, let a, let b), .and(let a, let b),
            .or(let a, let b):
            [a, b]
        case .fma(let a, let b, let c), .select(let a, let b, let c): [a, b, c]
        }
    }

    var description: String {
        switch self {
        case .load(let k): "load a\(k)"
        case .scalar(let k): "splat s\(k)"
        case .neg(let a): "neg v\(a)"
        case .abs(let a): "abs v\(a)"
        case .sqrt(let a): "sqrt v\(a)"
        case .math(let f, let a): "\(f.name) v\(a)"
        case .add(let a, let b): "add v\(a) v\(b)"
        case .sub(let a, let b): "sub v\(a) v\(b)"
        case .mul(let a, let b): "mul v\(a) v\(b)"
        case .div(let a, let b): "div v\(a) v\(b)"
        case .mod(let a, let b): "mod v\(a) v\(b)"
        case .min(let a, let b): "min v\(a) v\(b)"
        case .max(let a, let b): "max v\(a) v\(b)"
        case .pow(let a, let b): "pow v\(a) v\(b)"
        case .fma(let a, let b, let c): "fma v\(a) v\(b) v\(c)"
        case .compare(let op, let a, let b): "\(op.name) v\(a) v\(b)"
        case .not(let a): "not v\(a)"
        case .and(let a, let b): "and v\(a) v\(b)"
        case .or(let a, let b): "or v\(a) v\(b)"
        case .select(let m, let a, let b): "select v\(m) v\(a) v\(b)"
        }
    }
}

enum KernelOutput: Hashable {
    case store(Int)
    case reduce(ReductionOp, Int)

    var value: Int {
        switch self {
        case .store(let v), .reduce(_, let v): v
        }
    }
}

struct KernelProgram: Hashable, CustomStringConvertible {
    /// Element types of the array inputs and of the broadcast scalar inputs.
    var arrayInputs: [ElementKind]
    var scalarInputs: [ElementKind]
    var ops: [KernelOp]
    /// The lane type of each op's value.
    var types: [ElementKind]
    var output: KernelOutput

    /// The type of the output value: the stored array's elements, or what the reduction reduces.
    var element: ElementKind { types[output.value] }

    /// The type of a reduction's result (count: int; any, all: bool; else the element type).
    var resultKind: ElementKind {
        switch output {
        case .store: element
        case .reduce(let r, _):
            switch r {
            case .sum, .min, .max: element
            case .count: .int
            case .any, .all: .bool
            }
        }
    }

    var isReduction: Bool { if case .reduce = output { return true } else { return false } }

    /// Lanes a reduction accumulates in: four AVX registers' worth.
    var reductionLanes: Int { element == .f32 || element == .bool ? 32 : 16 }

    /// One line: `f32 a=[f32,f32] s=[]: v0=load a0; v1=load a1; v2=mul v0 v1; ... -> store v6`.
    var description: String {
        let body = ops.enumerated().map { "v\($0.offset)=\($0.element.description)" }.joined(separator: "; ")
        let out: String
        switch output {
        case .store(let v): out = "store v\(v)"
        case .reduce(let r, let v): out = "\(r.name) v\(v)"
        }
        let inputs =
            "a=[\(arrayInputs.map(\.name).joined(separator: ","))] s=[\(scalarInputs.map(\.name).joined(separator: ","))]"
        return "\(element.name) \(inputs): \(body) -> \(out)"
    }

    /// Checks the program's invariants (SSA order, operand and result types); the compiler only builds
    /// valid programs, and the JIT and the evaluator rely on this. Returns the first violation.
    func validate() -> String? {
        guard ops.count == types.count, !ops.isEmpty else { return "ops and types differ in length" }
        for (i, op) in ops.enumerated() {
            for o in op.operands where o < 0 || o >= i { return "v\(i) uses v\(o) out of SSA order" }
            let t = types[i]
            func same(_ xs: [Int]) -> Bool { xs.allSatisfy { types[$0] == t } }
            switch op {
            case .load(let k): if k >= arrayInputs.count || arrayInputs[k] != t { return "v\(i): bad load" }
            case .scalar(let k): if k >= scalarInputs.count || scalarInputs[k] != t { return "v\(i): bad scalar" }
            case .neg(let a), .abs(let a): if !same([a]) || t == .bool { return "v\(i): bad \(op.description)" }
            case .sqrt(let a), .math(_, let a): if !same([a]) || !t.isFloat { return "v\(i): bad \(op.description)" }
            case .add(let a, let b), .sub(let a, let b), .mul(let a, let b), .div(let a, let b), .min(let a, let b),
                .max(let a, let b):
                if !same([a, b]) || t == .bool { return "v\(i): bad \(op.description)" }
            case .mod(let a, let b): if !same([a, b]) || t != .int { return "v\(i): bad mod" }
            case .pow(let a, let b): if !same([a, b]) || !t.isFloat { return "v\(i): bad pow" }
            case .fma(let a, let b, let c): if !same([a, b, c]) || t == .bool { return "v\(i): bad fma" }
            case .compare(let c, let a, let b):
                if t != .bool || types[a] != types[b] { return "v\(i): bad compare" }
                if types[a] == .bool && c != .eq && c != .ne { return "v\(i): bools only compare for equality" }
            case .not(let a): if t != .bool || types[a] != .bool { return "v\(i): bad not" }
            case .and(let a, let b), .or(let a, let b):
                if t != .bool || types[a] != .bool || types[b] != .bool { return "v\(i): bad \(op.description)" }
            case .select(let m, let a, let b):
                if types[m] != .bool || !same([a, b]) { return "v\(i): bad select" }
            }
        }
        if case .reduce(let r, let v) = output {
            switch r {
            case .sum, .min, .max: if types[v] == .bool { return "\(r.name) of bools" }
            case .count, .any, .all: if types[v] != .bool { return "\(r.name) of numbers" }
            }
        }
        return nil
    }
}

/// A use of a kernel in a function: where its inputs live in the frame.
/// - Note: @unchecked Sendable: every stored property is immutable after init except `nativeEntry`,
///   which is atomic; the chunks of a parallel kernel read it from several tasks.
final class KernelSite: @unchecked Sendable {
    let program: KernelProgram
    /// Object registers holding the array inputs, in input order.
    let arrayRegisters: [Int]
    /// Scalar registers holding the broadcast inputs.
    let scalarRegisters: [Int]
    let location: SourceLocation
    /// The JIT's code for this site: 0 until first tried, 1 when it cannot be lowered, else the address.
    let nativeEntry = Atomic<UInt>(0)
    /// What keeps that code alive: the site holds it as long as its function lives (its program's
    /// engine caches it weakly: JIT/JITEngine.swift).
    private let nativeCode = VMMutex<AnyObject?>(nil)

    /// Holds `code` (the first one offered, if several tasks race) and publishes its entry.
    func holdNativeCode(_ code: KernelCode) -> UInt {
        nativeCode.withLock { held -> UInt in
            let kept = (held as? KernelCode) ?? code
            held = kept
            nativeEntry.store(kept.entry, ordering: .releasing)
            return kept.entry
        }
    }

    init(program: KernelProgram, arrayRegisters: [Int], scalarRegisters: [Int], location: SourceLocation) {
        self.program = program
        self.arrayRegisters = arrayRegisters
        self.scalarRegisters = scalarRegisters
        self.location = location
    }
}
