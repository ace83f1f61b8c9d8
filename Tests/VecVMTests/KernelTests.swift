// Kernel evaluation checked against a naive element-by-element reference on random kernel programs
// (property style: random shapes, element types, lengths including every tail, random inputs).
// The reference is written independently here from the semantics in Bytecode/Kernel.swift.

import Testing

@testable import VecVM

extension KernelProgram {
    /// A program whose value types follow from its inputs and ops (tests build programs by hand).
    static func typed(arrays: [ElementKind], scalars: [ElementKind], ops: [KernelOp], output: KernelOutput)
        -> KernelProgram
    {
        var types: [ElementKind] = []
        for op in ops {
            switch op {
            case .load(let k): types.append(arrays[k])
            case .scalar(let k): types.append(scalars[k])
            case .compare, .not, .and, .or: types.append(.bool)
            case .select(_, let a, _): types.append(types[a])
            default: types.append(types[op.operands[0]])
            }
        }
        return KernelProgram(arrayInputs: arrays, scalarInputs: scalars, ops: ops, types: types, output: output)
    }

    /// Every value of one element type.
    init(element: ElementKind, arrayInputs: Int, scalarInputs: Int, ops: [KernelOp], output: KernelOutput) {
        self = .typed(
            arrays: Array(repeating: element, count: arrayInputs),
            scalars: Array(repeating: element, count: scalarInputs),
            ops: ops, output: output)
    }
}

/// Random kernel programs and inputs: typed SSA over int, float, f32 and bool values, with every op of
/// the IR (math functions and pow included), any output.
struct KernelCase {
    var program: KernelProgram
    var arrays: [[UInt64]]
    var scalars: [UInt64]
    var count: Int

    static func value(_ kind: ElementKind, _ rng: inout SplitMix) -> UInt64 {
        // Mostly ordinary numbers, sometimes the special ones.
        if kind != .int && kind != .bool && rng.int(16) == 0 {
            let specials: [Double] = [
                .nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, 1e300,
                -Double(bitPattern: 0x1_2688_b70e_62b), 0.5, -2.5,
            ]
            let d = specials[rng.int(specials.count)]
            return kind == .f32 ? UInt64(Float(d).bitPattern) : d.bitPattern
        }
        switch kind {
        case .int: return UInt64(bitPattern: Int64(rng.int(2001)) - 1000)
        case .float: return ((rng.double() - 0.3) * 100).bitPattern
        case .f32: return UInt64(Float((rng.double() - 0.3) * 100).bitPattern)
        case .bool: return UInt64(rng.int(2))
        }
    }

    static func random(_ rng: inout SplitMix, count: Int, math: Bool = true) -> KernelCase {
        let numeric: [ElementKind] = [.int, .float, .f32]
        let main = numeric[rng.int(3)]
        // Sometimes a second numeric type (compared, then selected into the main one).
        let second = rng.int(3) == 0 ? numeric[rng.int(3)] : main
        var arrays: [ElementKind] = [main]
        for _ in 0..<rng.int(3) { arrays.append([main, second, .bool][rng.int(3)]) }
        var scalars: [ElementKind] = []
        for _ in 0..<rng.int(3) { scalars.append([main, second, .bool][rng.int(3)]) }
        var ops: [KernelOp] = arrays.indices.map { .load($0) } + scalars.indices.map { .scalar($0) }
        var types: [ElementKind] = arrays + scalars
        func pick(_ kind: ElementKind) -> Int? {
            let candidates = types.indices.filter { types[$0] == kind }
            return candidates.isEmpty ? nil : candidates[rng.int(candidates.count)]
        }
        let extra = 1 + rng.int(7)
        var added = 0
        while added < extra {
            let kind = [main, second, .bool][rng.int(3)]
            var choices: [(KernelOp, ElementKind)] = []
            if kind == .bool {
                if let a = pick(.bool), let b = pick(.bool) {
                    choices += [(.not(a), .bool), (.and(a, b), .bool), (.or(a, b), .bool)]
                    choices += [(.compare([.eq, .ne][rng.int(2)], a, b), .bool)]
                }
                let k = [main, second][rng.int(2)]
                if let a = pick(k), let b = pick(k) {
                    choices.append((.compare([.eq, .ne, .lt, .le][rng.int(4)], a, b), .bool))
                }
            } else if let a = pick(kind), let b = pick(kind), let c = pick(kind) {
                choices += [
                    (.add(a, b), kind), (.sub(a, b), kind), (.mul(a, b), kind), (.min(a, b), kind),
                    (.max(a, b), kind), (.neg(a), kind), (.abs(a), kind), (.fma(a, b, c), kind),
                ]
                if let m = pick(.bool) { choices.append((.select(m, a, b), kind)) }
                if kind == .int {
                    choices += [(.div(a, b), kind), (.mod(a, b), kind)]
                } else {
                    choices += [(.div(a, b), kind), (.sqrt(a), kind)]
                    if math {
                        let f = ElementwiseMath.allCases[rng.int(ElementwiseMath.allCases.count)]
                        choices += [(.math(f, a), kind), (.pow(a, b), kind)]
                    }
                }
            }
            if choices.isEmpty { continue }
            let (op, t) = choices[rng.int(choices.count)]
            ops.append(op)
            types.append(t)
            added += 1
        }
        let last = ops.count - 1
        let outputs: [KernelOutput]
        if types[last] == .bool {
            outputs = [.store(last), .reduce(.count, last), .reduce(.any, last), .reduce(.all, last)]
        } else {
            outputs =
                count == 0
                ? [.store(last), .reduce(.sum, last)]
                : [.store(last), .reduce(.sum, last), .reduce(.min, last), .reduce(.max, last)]
        }
        let output = outputs[rng.int(outputs.count)]
        let arrayValues = arrays.map { k in (0..<count).map { _ in value(k, &rng) } }
        let scalarValues = scalars.map { value($0, &rng) }
        return KernelCase(
            program: KernelProgram(arrayInputs: arrays, scalarInputs: scalars, ops: ops, types: types, output: output),
            arrays: arrayValues, scalars: scalarValues, count: count)
    }
}

/// The reference: one element at a time, from the semantics written in Bytecode/Kernel.swift; math
/// functions through MathDispatch (their vector forms are checked by the JIT tests and their accuracy by
/// the math accuracy tests).
enum ReferenceKernel {
    struct DivisionByZero: Error {}

    enum V {
        case i(Int64)
        case d(Double)
        case f(Float)
        case b(Bool)

        var bits: UInt64 {
            switch self {
            case .i(let x): UInt64(bitPattern: x)
            case .d(let x): x.bitPattern
            case .f(let x): UInt64(x.bitPattern)
            case .b(let x): x ? 1 : 0
            }
        }

        static func from(_ bits: UInt64, _ kind: ElementKind) -> V {
            switch kind {
            case .int: .i(Int64(bitPattern: bits))
            case .float: .d(Double(bitPattern: bits))
            case .f32: .f(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
            case .bool: .b(bits != 0)
            }
        }
    }

    static func lane(_ op: KernelOp, _ v: [V], arrays: [V], scalars: [V]) throws -> V {
        func un(_ a: Int, _ i: (Int64) -> Int64, _ d: (Double) -> Double, _ f: (Float) -> Float) -> V {
            switch v[a] {
            case .i(let x): .i(i(x))
            case .d(let x): .d(d(x))
            case .f(let x): .f(f(x))
            case .b: v[a]
            }
        }
        func bin(
            _ a: Int, _ b: Int, _ i: (Int64, Int64) throws -> Int64, _ d: (Double, Double) -> Double,
            _ f: (Float, Float) -> Float
        ) rethrows -> V {
            switch (v[a], v[b]) {
            case (.i(let x), .i(let y)): .i(try i(x, y))
            case (.d(let x), .d(let y)): .d(d(x, y))
            case (.f(let x), .f(let y)): .f(f(x, y))
            default: preconditionFailure("mixed operand types")
            }
        }
        func lt(_ a: V, _ b: V) -> Bool {
            switch (a, b) {
            case (.i(let x), .i(let y)): x < y
            case (.d(let x), .d(let y)): x < y
            case (.f(let x), .f(let y)): x < y
            default: false
            }
        }
        switch op {
        case .load(let k): return arrays[k]
        case .scalar(let k): return scalars[k]
        case .neg(let a):
            return un(
                a, { 0 &- $0 }, { Double(bitPattern: $0.bitPattern ^ (1 << 63)) },
                { Float(bitPattern: $0.bitPattern ^ 0x8000_0000) })
        case .abs(let a):
            return un(
                a, { $0 < 0 ? 0 &- $0 : $0 }, { Double(bitPattern: $0.bitPattern & ~(1 << 63)) },
                { Float(bitPattern: $0.bitPattern & 0x7FFF_FFFF) })
        case .sqrt(let a): return un(a, { $0 }, { $0.squareRoot() }, { $0.squareRoot() })
        case .math(let fn, let a):
            return un(a, { $0 }, { MathDispatch.apply(fn, $0) }, { MathDispatch.apply(fn, $0) })
        case .add(let a, let b): return bin(a, b, { $0 &+ $1 }, +, +)
        case .sub(let a, let b): return bin(a, b, { $0 &- $1 }, -, -)
        case .mul(let a, let b): return bin(a, b, { $0 &* $1 }, *, *)
        case .div(let a, let b):
            return try bin(
                a, b,
                { x, y in
                    if y == 0 { throw DivisionByZero() }
                    return y == -1 ? 0 &- x : x / y
                }, /, /)
        case .mod(let a, let b):
            return try bin(
                a, b,
                { x, y in
                    if y == 0 { throw DivisionByZero() }
                    return y == -1 ? 0 : x % y
                }, { x, _ in x }, { x, _ in x })
        case .min(let a, let b): return lt(v[a], v[b]) ? v[a] : v[b]
        case .max(let a, let b): return lt(v[b], v[a]) ? v[a] : v[b]
        case .pow(let a, let b): return bin(a, b, { x, _ in x }, MathDispatch.pow, MathDispatch.pow)
        case .fma(let a, let b, let c):
            switch (v[a], v[b], v[c]) {
            case (.i(let x), .i(let y), .i(let z)): return .i(x &* y &+ z)
            case (.d(let x), .d(let y), .d(let z)): return .d(z.addingProduct(x, y))
            case (.f(let x), .f(let y), .f(let z)): return .f(z.addingProduct(x, y))
            default: preconditionFailure("mixed fma")
            }
        case .compare(let c, let a, let b):
            let r: Bool
            switch (v[a], v[b]) {
            case (.i(let x), .i(let y)): r = c == .eq ? x == y : c == .ne ? x != y : c == .lt ? x < y : x <= y
            case (.d(let x), .d(let y)): r = c == .eq ? x == y : c == .ne ? x != y : c == .lt ? x < y : x <= y
            case (.f(let x), .f(let y)): r = c == .eq ? x == y : c == .ne ? x != y : c == .lt ? x < y : x <= y
            case (.b(let x), .b(let y)): r = c == .eq ? x == y : x != y
            default: preconditionFailure("mixed compare")
            }
            return .b(r)
        case .not(let a):
            guard case .b(let x) = v[a] else { preconditionFailure() }
            return .b(!x)
        case .and(let a, let b):
            guard case .b(let x) = v[a], case .b(let y) = v[b] else { preconditionFailure() }
            return .b(x && y)
        case .or(let a, let b):
            guard case .b(let x) = v[a], case .b(let y) = v[b] else { preconditionFailure() }
            return .b(x || y)
        case .select(let m, let a, let b):
            guard case .b(let x) = v[m] else { preconditionFailure() }
            return x ? v[a] : v[b]
        }
    }

    /// Lanes: element i goes to lane i % L; then (A0∘A1)∘(A2∘A3) per vector lane, then halves.
    static func reduce<T>(_ values: [T], lanes: Int, identity: T, _ op: (T, T) -> T) -> T {
        var acc = [T](repeating: identity, count: lanes)
        for (i, x) in values.enumerated() { acc[i % lanes] = op(acc[i % lanes], x) }
        let w = lanes / 4
        var v = (0..<w).map { l in op(op(acc[l], acc[w + l]), op(acc[2 * w + l], acc[3 * w + l])) }
        var width = w
        while width > 1 {
            width /= 2
            for j in 0..<width { v[j] = op(v[j], v[j + width]) }
        }
        return v[0]
    }

    /// The output elements or the reduction's bits; nil for an integer division by zero.
    static func evaluate(_ c: KernelCase) -> [UInt64]? {
        let p = c.program
        var values: [V] = []
        do {
            for i in 0..<c.count {
                let arrays = zip(c.arrays, p.arrayInputs).map { V.from($0[i], $1) }
                let scalars = zip(c.scalars, p.scalarInputs).map { V.from($0, $1) }
                var v: [V] = []
                for op in p.ops { v.append(try lane(op, v, arrays: arrays, scalars: scalars)) }
                values.append(v[p.output.value])
            }
        } catch {
            return nil
        }
        guard case .reduce(let r, _) = p.output else { return values.map(\.bits) }
        switch p.element {
        case .float:
            let xs = values.map { v -> Double in if case .d(let x) = v { return x } else { return 0 } }
            return [finish(r, xs, lanes: 16, zero: 0.0, minId: .infinity, maxId: -.infinity, +).bitPattern]
        case .f32:
            let xs = values.map { v -> Float in if case .f(let x) = v { return x } else { return 0 } }
            return [UInt64(finish(r, xs, lanes: 32, zero: Float(0), minId: .infinity, maxId: -.infinity, +).bitPattern)]
        case .int:
            let xs = values.map { v -> Int64 in if case .i(let x) = v { return x } else { return 0 } }
            return [UInt64(bitPattern: finish(r, xs, lanes: 16, zero: Int64(0), minId: .max, maxId: .min, &+))]
        case .bool:
            let n = values.filter { v -> Bool in if case .b(true) = v { return true } else { return false } }.count
            switch r {
            case .count: return [UInt64(n)]
            case .any: return [n > 0 ? 1 : 0]
            default: return [n == c.count ? 1 : 0]
            }
        }
    }

    static func finish<T: Comparable>(
        _ r: ReductionOp, _ values: [T], lanes: Int, zero: T, minId: T, maxId: T, _ add: @escaping (T, T) -> T
    ) -> T {
        switch r {
        case .min: reduce(values, lanes: lanes, identity: minId) { $0 < $1 ? $0 : $1 }
        case .max: reduce(values, lanes: lanes, identity: maxId) { $1 < $0 ? $0 : $1 }
        default: reduce(values, lanes: lanes, identity: zero, add)
        }
    }
}

/// Runs a case through the interpreter's evaluator; returns the output elements or the reduction, or
/// nil when it stopped with an integer division by zero.
func evaluateWithInterpreter(_ c: KernelCase) throws -> [UInt64]? {
    let buffers = try zip(c.arrays, c.program.arrayInputs).map { a, kind -> VMArray in
        let arr = try VMArray.allocate(count: c.count, kind: kind, account: nil)
        for (i, v) in a.enumerated() { arr.setBits(i, v) }
        return arr
    }
    let inputs = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: max(1, buffers.count))
    defer { inputs.deallocate() }
    for (i, b) in buffers.enumerated() { inputs[i] = UnsafeRawPointer(b.data) }
    let scalars = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, c.scalars.count))
    defer { scalars.deallocate() }
    for (i, s) in c.scalars.enumerated() { scalars[i] = s }
    let out = try VMArray.allocate(count: c.count, kind: c.program.element, account: nil)
    let r: UInt64
    do {
        r = try KernelEvaluator.run(
            c.program, inputs: inputs, scalars: scalars, count: c.count,
            output: c.program.isReduction ? nil : out.data, scratch: KernelScratch())
    } catch {
        guard error.message.contains("division by zero") else { throw error }
        return nil
    }
    if c.program.isReduction { return [r] }
    return (0..<c.count).map { out.bits($0) }
}

/// NaN payloads and signs are not part of the contract: all NaNs compare equal.
func sameBits(_ a: [UInt64]?, _ b: [UInt64]?, _ kind: ElementKind) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) where x != y {
        switch kind {
        case .float: if !(Double(bitPattern: x).isNaN && Double(bitPattern: y).isNaN) { return false }
        case .f32: if !(Float(bitPattern: UInt32(x)).isNaN && Float(bitPattern: UInt32(y)).isNaN) { return false }
        case .int, .bool: return false
        }
    }
    return true
}

@Suite("kernels")
struct KernelTests {
    @Test("random kernels match the element-by-element reference", arguments: 0..<8)
    func randomKernels(seed: Int) throws {
        var rng = SplitMix(state: UInt64(seed) &* 7919 &+ 17)
        let lengths = Array(0...40) + [255, 256, 257, 511, 1000, 1023, 1029]
        for n in lengths {
            let c = KernelCase.random(&rng, count: n)
            let got = try evaluateWithInterpreter(c)
            let want = ReferenceKernel.evaluate(c)
            #expect(sameBits(got, want, c.program.resultKind), "seed \(seed) n \(n): \(c.program)")
        }
    }

    @Test func integerDivisionByZeroInAKernelIsAnError() {
        let r = run("let a = iota(10)\nlet b = a / (a - 5)")
        #expect(r.status == 2)
        #expect(r.errorText.contains("integer division by zero"))
    }

    @Test func minMaxFollowX86OperandOrder() {
        // min(a, b) = a < b ? a : b: with a NaN or two zeros, the second operand wins.
        let r = run(
            """
            let nan = 0.0 / 0.0
            print(min(nan, 1.0), min(1.0, nan), max(nan, 1.0), max(1.0, nan))
            print(min(0.0, -0.0), min(-0.0, 0.0), max(0.0, -0.0), max(-0.0, 0.0))
            let a = [0.0, 1.0]
            let b = [-0.0, nan]
            print(min(a, b), max(a, b))
            """)
        #expect(r.output == "1.0 nan 1.0 nan\n-0.0 0.0 -0.0 0.0\n[-0.0, nan] [-0.0, nan]\n")
    }

    @Test func buffersAreReusedInPlace() throws {
        // `x = x * 2.0` reuses x's buffer when nothing else refers to it, and never when something does.
        let r = run(
            """
            var x = fill(4, 1.0)
            let keep = x
            x = x * 2.0
            print(keep, x)
            var y = fill(4, 1.0)
            for i in 0..3 { y = y * 2.0 + 1.0 }
            print(y)
            """)
        #expect(r.output == "[1.0, 1.0, 1.0, 1.0] [2.0, 2.0, 2.0, 2.0]\n[15.0, 15.0, 15.0, 15.0]\n")
    }

    @Test func reductionLaneOrderIsFixed() {
        // 1e16 + 1 + ... + 1 - 1e16 depends on the order of additions; this pins ours.
        let r = run("var a = fill(64, 1.0)\na[0] = 1e16\na[32] = -1e16\nprint(sum(a))\nlet f = f32(a)\nprint(sum(f))")
        #expect(r.output == "61.0\n62.0\n")
    }
}
