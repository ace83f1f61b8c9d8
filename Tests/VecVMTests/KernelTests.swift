// Kernel evaluation checked against a naive element-by-element reference on random kernel programs
// (property style: random shapes, element types, lengths including every tail, random inputs).
// The reference is written independently here from the semantics in Bytecode/Kernel.swift.

import Testing

@testable import VecVM

/// A small deterministic generator (SplitMix64), so that a failure can be replayed from its seed.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func double() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Random kernel programs and inputs.
struct KernelCase {
    var program: KernelProgram
    var arrays: [[UInt64]]
    var scalars: [UInt64]
    var count: Int

    static func random(_ rng: inout SplitMix, count: Int) -> KernelCase {
        let kind: ElementKind = [.int, .float, .f32][rng.int(3)]
        let nArrays = 1 + rng.int(3)
        let nScalars = rng.int(3)
        var ops: [KernelOp] = (0..<nArrays).map { .load($0) } + (0..<nScalars).map { .scalar($0) }
        let extra = 1 + rng.int(6)
        for _ in 0..<extra {
            let n = ops.count
            let a = rng.int(n)
            let b = rng.int(n)
            let c = rng.int(n)
            var choices: [KernelOp] = [
                .add(a, b), .sub(a, b), .mul(a, b), .min(a, b), .max(a, b), .neg(a), .abs(a), .fma(a, b, c),
            ]
            if kind != .int { choices += [.div(a, b), .sqrt(a)] }
            ops.append(choices[rng.int(choices.count)])
        }
        let last = ops.count - 1
        let outputs: [KernelOutput] = [.store(last), .reduce(.sum, last), .reduce(.min, last), .reduce(.max, last)]
        let output = outputs[rng.int(count == 0 ? 2 : 4)]
        func value(_ rng: inout SplitMix) -> UInt64 {
            switch kind {
            case .int: return UInt64(bitPattern: Int64(rng.int(2001)) - 1000)
            case .float: return ((rng.double() - 0.3) * 100).bitPattern
            case .f32: return UInt64(Float((rng.double() - 0.3) * 100).bitPattern)
            }
        }
        let arrays = (0..<nArrays).map { _ in (0..<count).map { _ in value(&rng) } }
        let scalars = (0..<nScalars).map { _ in value(&rng) }
        return KernelCase(
            program: KernelProgram(
                element: kind, arrayInputs: nArrays, scalarInputs: nScalars, ops: ops, output: output),
            arrays: arrays, scalars: scalars, count: count)
    }
}

/// The reference: one element at a time, in Double/Float/Int64, with the documented semantics.
enum ReferenceKernel {
    static func lane<T>(
        _ op: KernelOp, _ v: [T], _ arrays: [T], _ scalars: [T], add: (T, T) -> T, sub: (T, T) -> T, mul: (T, T) -> T,
        div: (T, T) -> T, lt: (T, T) -> Bool, neg: (T) -> T, abs: (T) -> T, sqrt: (T) -> T, fma: (T, T, T) -> T
    ) -> T {
        switch op {
        case .load(let k): return arrays[k]
        case .scalar(let k): return scalars[k]
        case .neg(let a): return neg(v[a])
        case .abs(let a): return abs(v[a])
        case .sqrt(let a): return sqrt(v[a])
        case .add(let a, let b): return add(v[a], v[b])
        case .sub(let a, let b): return sub(v[a], v[b])
        case .mul(let a, let b): return mul(v[a], v[b])
        case .div(let a, let b): return div(v[a], v[b])
        case .min(let a, let b): return lt(v[a], v[b]) ? v[a] : v[b]
        case .max(let a, let b): return lt(v[b], v[a]) ? v[a] : v[b]
        case .fma(let a, let b, let c): return fma(v[a], v[b], v[c])
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

    static func evaluate(_ c: KernelCase) -> [UInt64] {
        switch c.program.element {
        case .float:
            let arrays = c.arrays.map { $0.map { Double(bitPattern: $0) } }
            let scalars = c.scalars.map { Double(bitPattern: $0) }
            let values = (0..<c.count).map { i -> Double in
                var v: [Double] = []
                for op in c.program.ops {
                    v.append(
                        lane(
                            op, v, arrays.map { $0[i] }, scalars, add: +, sub: -, mul: *, div: /, lt: <, neg: { -$0 },
                            abs: { Double(bitPattern: $0.bitPattern & ~(1 << 63)) }, sqrt: { $0.squareRoot() },
                            fma: { $2.addingProduct($0, $1) }))
                }
                return v[c.program.output.value]
            }
            return finish(
                values, c.program, lanes: 16, bits: { $0.bitPattern }, zero: 0.0, minId: .infinity, maxId: -.infinity,
                add: +, lt: <)
        case .f32:
            let arrays = c.arrays.map { $0.map { Float(bitPattern: UInt32($0)) } }
            let scalars = c.scalars.map { Float(bitPattern: UInt32($0)) }
            let values = (0..<c.count).map { i -> Float in
                var v: [Float] = []
                for op in c.program.ops {
                    v.append(
                        lane(
                            op, v, arrays.map { $0[i] }, scalars, add: +, sub: -, mul: *, div: /, lt: <, neg: { -$0 },
                            abs: { Float(bitPattern: $0.bitPattern & 0x7FFF_FFFF) }, sqrt: { $0.squareRoot() },
                            fma: { $2.addingProduct($0, $1) }))
                }
                return v[c.program.output.value]
            }
            return finish(
                values, c.program, lanes: 32, bits: { UInt64($0.bitPattern) }, zero: 0, minId: .infinity,
                maxId: -.infinity, add: +, lt: <)
        case .int:
            let arrays = c.arrays.map { $0.map { Int64(bitPattern: $0) } }
            let scalars = c.scalars.map { Int64(bitPattern: $0) }
            let values = (0..<c.count).map { i -> Int64 in
                var v: [Int64] = []
                for op in c.program.ops {
                    v.append(
                        lane(
                            op, v, arrays.map { $0[i] }, scalars, add: &+, sub: &-, mul: &*, div: { $0 / $1 }, lt: <,
                            neg: { 0 &- $0 }, abs: { $0 < 0 ? 0 &- $0 : $0 }, sqrt: { $0 }, fma: { $0 &* $1 &+ $2 }))
                }
                return v[c.program.output.value]
            }
            return finish(
                values, c.program, lanes: 16, bits: { UInt64(bitPattern: $0) }, zero: 0, minId: .max, maxId: .min,
                add: &+, lt: <)
        }
    }

    static func finish<T>(
        _ values: [T], _ p: KernelProgram, lanes: Int, bits: (T) -> UInt64, zero: T, minId: T, maxId: T,
        add: @escaping (T, T) -> T, lt: @escaping (T, T) -> Bool
    ) -> [UInt64] {
        switch p.output {
        case .store: return values.map(bits)
        case .reduce(.sum, _): return [bits(reduce(values, lanes: lanes, identity: zero, add))]
        case .reduce(.min, _): return [bits(reduce(values, lanes: lanes, identity: minId) { lt($0, $1) ? $0 : $1 })]
        case .reduce(.max, _): return [bits(reduce(values, lanes: lanes, identity: maxId) { lt($1, $0) ? $0 : $1 })]
        }
    }
}

/// Runs a case through the interpreter's evaluator; returns the output elements or the reduction.
func evaluateWithInterpreter(_ c: KernelCase) throws -> [UInt64] {
    let size = c.program.element.size
    let buffers = try c.arrays.map { a -> VMArray in
        let arr = try VMArray.allocate(count: c.count, kind: c.program.element, account: nil)
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
    let r = try KernelEvaluator.run(
        c.program, inputs: inputs, scalars: scalars, count: c.count,
        output: c.program.isReduction ? nil : out.data, scratch: KernelScratch())
    _ = size
    if c.program.isReduction { return [r] }
    return (0..<c.count).map { out.bits($0) }
}

/// NaN payloads and signs are not part of the contract: all NaNs compare equal.
func sameBits(_ a: [UInt64], _ b: [UInt64], _ kind: ElementKind) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) where x != y {
        switch kind {
        case .float: if !(Double(bitPattern: x).isNaN && Double(bitPattern: y).isNaN) { return false }
        case .f32: if !(Float(bitPattern: UInt32(x)).isNaN && Float(bitPattern: UInt32(y)).isNaN) { return false }
        case .int: return false
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
            #expect(sameBits(got, want, c.program.element), "seed \(seed) n \(n): \(c.program)")
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
