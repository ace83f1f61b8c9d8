// Kernel programs: the IR of a fused elementwise array expression or reduction. The compiler turns an
// expression tree such as `sqrt(x*x + y*y) * 0.5` into ONE `kernel` instruction referring to a
// KernelProgram: per-lane operations in SSA order over one element type, with array inputs, broadcast
// scalar inputs, and one output (a new array) or one reduction. The interpreter evaluates it in one
// pass over the data (Interpreter/KernelEvaluator.swift); the JIT lowers exactly the same program to
// AVX2 (JIT/). Both must agree bit for bit, so the semantics of every operation are fixed here:
//
// - add, sub, mul, div, sqrt: IEEE-754 in the element type, each rounded once. `a * b + c` is a mul
//   then an add; only `fma` fuses (one rounding). Integers wrap; integer division truncates, division
//   by zero is a runtime error and `min / -1` wraps to `min`.
// - min(a, b) = a < b ? a : b and max(a, b) = a > b ? a : b, exactly x86's MINPS/MAXPS: with a NaN or
//   two zeros the second operand wins.
// - abs clears the sign bit (floats) or negates negatives with wrapping (int); neg flips the sign bit.
// - Reductions accumulate in a fixed number of lanes, `reductionLanes` (32 for f32: four YMM registers
//   of 8; 16 for float and int: four of 4), element i going to lane i % lanes, starting from the
//   identity (+0.0 / 0, +inf / -inf / Int.max / Int.min for min / max). The lanes are then combined in
//   one fixed order (`combineLanes`): the four accumulator vectors pairwise ((A0∘A1)∘(A2∘A3)), then
//   the halves of the result vector, then its quarters, then the last pair — the order AVX code gets
//   from vextractf128 / vmovhlps / vshufps. NaN payloads and signs are not part of the contract.

import Synchronization

enum KernelOp: Hashable {
    case load(Int)  // array input k, element i
    case scalar(Int)  // scalar input k, broadcast
    case neg(Int)
    case abs(Int)
    case sqrt(Int)
    case add(Int, Int)
    case sub(Int, Int)
    case mul(Int, Int)
    case div(Int, Int)
    case min(Int, Int)
    case max(Int, Int)
    case fma(Int, Int, Int)  // a * b + c, one rounding

    var operands: [Int] {
        switch self {
        case .load, .scalar: []
        case .neg(let a), .abs(let a), .sqrt(let a): [a]
        case .add(let a, let b), .sub(let a, let b), .mul(let a, let b), .div(let a, let b), .min(let a, let b),
            .max(let a, let b):
            [a, b]
        case .fma(let a, let b, let c): [a, b, c]
        }
    }

    var description: String {
        switch self {
        case .load(let k): "load a\(k)"
        case .scalar(let k): "splat s\(k)"
        case .neg(let a): "neg v\(a)"
        case .abs(let a): "abs v\(a)"
        case .sqrt(let a): "sqrt v\(a)"
        case .add(let a, let b): "add v\(a) v\(b)"
        case .sub(let a, let b): "sub v\(a) v\(b)"
        case .mul(let a, let b): "mul v\(a) v\(b)"
        case .div(let a, let b): "div v\(a) v\(b)"
        case .min(let a, let b): "min v\(a) v\(b)"
        case .max(let a, let b): "max v\(a) v\(b)"
        case .fma(let a, let b, let c): "fma v\(a) v\(b) v\(c)"
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
    var element: ElementKind
    var arrayInputs: Int
    var scalarInputs: Int
    var ops: [KernelOp]
    var output: KernelOutput

    var isReduction: Bool { if case .reduce = output { return true } else { return false } }

    /// Lanes a reduction accumulates in: four AVX registers' worth.
    var reductionLanes: Int { element == .f32 ? 32 : 16 }

    /// One line: `f32 a=4 s=0: v0=load a0; v1=load a1; v2=mul v0 v1; ... -> store v6`.
    var description: String {
        let body = ops.enumerated().map { "v\($0.offset)=\($0.element.description)" }.joined(separator: "; ")
        let out: String
        switch output {
        case .store(let v): out = "store v\(v)"
        case .reduce(let r, let v): out = "\(r.name) v\(v)"
        }
        return "\(element.name) a=\(arrayInputs) s=\(scalarInputs): \(body) -> \(out)"
    }
}

/// A use of a kernel in a function: where its inputs live in the frame.
final class KernelSite {
    let program: KernelProgram
    /// Object registers holding the array inputs, in input order.
    let arrayRegisters: [Int]
    /// Scalar registers holding the broadcast inputs.
    let scalarRegisters: [Int]
    let location: SourceLocation
    /// The JIT's code for this site: 0 until first tried, 1 when it cannot be lowered, else the address.
    let nativeEntry = Atomic<UInt>(0)
    /// What keeps that code alive: the site holds it as long as its function lives (JITKernels.swift).
    private let nativeCode = Mutex<AnyObject?>(nil)

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
