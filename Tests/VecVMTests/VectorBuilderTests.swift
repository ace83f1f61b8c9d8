// The JIT's LaneBuilder (JIT/VectorBuilder.swift) against the interpreter's (Math/ScalarLanes.swift),
// primitive by primitive, at both step widths (4 and 8 elements: 64-bit values in one or two
// registers, 32-bit values in an XMM or a YMM register), on random and special inputs: each primitive
// must give ScalarLanes' bits in every lane. Then the math library's functions, whole, the same way.

import Testing

@testable import VecVM

/// Compiles `body` over one step of `width` lanes into a native function (in, out) and runs it.
struct VectorHarness {
    typealias Body = (VectorBuilder, [[VReg]]) -> [VReg]

    let width: Int
    let inputs: [Lane]
    let output: Lane
    let entry: @convention(c) (UnsafeRawPointer, UnsafeMutableRawPointer) -> Void

    init?(width: Int, inputs: [Lane], output: Lane, _ body: Body) throws {
        final class AssemblerBox { var a = X86Assembler() }
        let box = AssemblerBox()
        let b = VectorBuilder(width: width) { bits, _ in
            X86.ptr(box.a.constant(int64: Array(repeating: Int64(bitPattern: bits), count: 4)))
        }
        // Inputs: each lane type's values for `width` lanes, 64 bytes apart; read in place (memory homes).
        var values: [[VReg]] = []
        for (k, lane) in inputs.enumerated() {
            let parts = b.parts(lane)
            values.append(
                (0..<parts).map { p in
                    b.code.memoryValue(X86.ptr(.rdi, Int32(64 * k + 32 * p)), xmm: b.isXMM(lane))
                })
        }
        let result = body(b, values)
        for (p, r) in result.enumerated() {
            b.code.effect(.store(X86.ptr(.rsi, Int32(32 * p))), b.isXMM(output) ? .vmovups : .vmovups, [r])
        }
        b.code.allocate(available: Array(0..<13), spillBase: 64)
        var a = box.a
        a.push(.rbp)
        a.mov(.rbp, .rsp)
        a.emit(.and, .gpr(.rsp), .imm(-32))
        a.sub(.rsp, Int64(64 + 32 * b.code.spillSlots + 32))
        let error = a.newLabel()
        VectorEmitter(count: .r10, index: .r9, divideError: error, temp: X86.ptr(.rsp, 0)).emit(b.code, into: &a)
        a.bind(error)
        a.emit(.vzeroupper)
        a.mov(.rsp, .rbp)
        a.pop(.rbp)
        a.ret()
        let bytes = try a.finalize()
        guard let heap = CodeHeap.shared, let (address, _) = heap.install(bytes) else { return nil }
        self.width = width
        self.inputs = inputs
        self.output = output
        self.entry = unsafeBitCast(
            address, to: (@convention(c) (UnsafeRawPointer, UnsafeMutableRawPointer) -> Void).self)
    }

    /// Runs the code on `width` lanes of each input (bits, one UInt64 per lane); returns the output lanes.
    func callAsFunction(_ lanes: [[UInt64]]) -> [UInt64] {
        let input = UnsafeMutableRawPointer.allocate(byteCount: 64 * inputs.count + 64, alignment: 64)
        let out = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 64)
        defer {
            input.deallocate()
            out.deallocate()
        }
        for (k, lane) in inputs.enumerated() {
            for l in 0..<width {
                if lane.is64 {
                    input.storeBytes(of: lanes[k][l], toByteOffset: 64 * k + 8 * l, as: UInt64.self)
                } else {
                    input.storeBytes(
                        of: UInt32(truncatingIfNeeded: lanes[k][l]), toByteOffset: 64 * k + 4 * l, as: UInt32.self)
                }
            }
        }
        entry(UnsafeRawPointer(input), out)
        return (0..<width).map { l in
            output.is64
                ? out.load(fromByteOffset: 8 * l, as: UInt64.self)
                : UInt64(out.load(fromByteOffset: 4 * l, as: UInt32.self))
        }
    }
}

@Suite("vector builder", .enabled(if: JITSupport.available, "no AVX2+FMA here"))
struct VectorBuilderTests {
    static func samples(_ lane: Lane, _ rng: inout SplitMix, count: Int) -> [UInt64] {
        let specials: [Double] = [
            .nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, 1e300, -Double(bitPattern: 0x1_2688_b70e_62b),
            0.5, -2.5, 1, -1, 3, 1e10, 2e9,
        ]
        return (0..<count).map { _ in
            let pick = rng.int(4)
            switch lane {
            case .f64:
                if pick == 0 { return specials[rng.int(specials.count)].bitPattern }
                if pick == 1 { return rng.next() }
                return ((rng.double() - 0.5) * 200).bitPattern
            case .f32:
                if pick == 0 { return UInt64(Float(specials[rng.int(specials.count)]).bitPattern) }
                if pick == 1 { return rng.next() & 0xFFFF_FFFF }
                return UInt64(Float((rng.double() - 0.5) * 200).bitPattern)
            case .i64:
                return pick == 0 ? UInt64(bitPattern: Int64(rng.int(64)) - 32) : rng.next()
            case .i32:
                return pick == 0 ? UInt64(UInt32(bitPattern: Int32(rng.int(64)) - 32)) : rng.next() & 0xFFFF_FFFF
            }
        }
    }

    /// Checks a primitive: the harness's lanes against ScalarLanes lane by lane.
    func check(
        _ name: String, inputs: [Lane], output: Lane, vector: VectorHarness.Body,
        scalar: ([UInt64]) -> UInt64, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        for width in [4, 8] {
            guard let h = try VectorHarness(width: width, inputs: inputs, output: output, vector) else { continue }
            var rng = SplitMix(state: UInt64(name.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) }) &+ UInt64(width))
            var mismatches: [String] = []
            for _ in 0..<64 {
                let lanes = inputs.map { Self.samples($0, &rng, count: width) }
                let got = h(lanes)
                for l in 0..<width {
                    let want = scalar(lanes.map { $0[l] })
                    let g = got[l]
                    let bothNaN =
                        output == .f64
                        ? Double(bitPattern: g).isNaN && Double(bitPattern: want).isNaN
                        : output == .f32
                            ? Float(bitPattern: UInt32(truncatingIfNeeded: g)).isNaN
                                && Float(bitPattern: UInt32(truncatingIfNeeded: want)).isNaN : false
                    if g != want && !bothNaN && mismatches.count < 3 {
                        mismatches.append("lane \(l) of \(lanes.map { $0[l] }): \(g) vs \(want)")
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(name) at width \(width): \(mismatches)", sourceLocation: sourceLocation)
        }
    }

    @Test func arithmeticAndRounding() throws {
        let s = ScalarLanes()
        for lane in [Lane.f64, .f32] {
            for op in [LaneBinary.add, .sub, .mul, .div, .min, .max, .and, .or, .xor, .andNot] {
                try check(
                    "\(op) \(lane)", inputs: [lane, lane], output: lane,
                    vector: { b, v in b.binary(op, lane, v[0], v[1]) }, scalar: { s.binary(op, lane, $0[0], $0[1]) })
            }
            for op in [LaneUnary.sqrt, .floor, .ceil, .trunc, .roundEven] {
                try check(
                    "\(op) \(lane)", inputs: [lane], output: lane, vector: { b, v in b.unary(op, lane, v[0]) },
                    scalar: { s.unary(op, lane, $0[0]) })
            }
            try check(
                "fma \(lane)", inputs: [lane, lane, lane], output: lane,
                vector: { b, v in b.fma(lane, v[0], v[1], v[2]) }, scalar: { s.fma(lane, $0[0], $0[1], $0[2]) })
            for op in [LaneCompare.eq, .ne, .lt, .le, .gt, .ge, .unordered] {
                let m: Lane = lane == .f64 ? .i64 : .i32
                try check(
                    "compare \(op) \(lane)", inputs: [lane, lane], output: m,
                    vector: { b, v in b.compare(op, lane, v[0], v[1]) }, scalar: { s.compare(op, lane, $0[0], $0[1]) })
            }
        }
        for lane in [Lane.i64, .i32] {
            let ops: [LaneBinary] =
                lane == .i64 ? [.add, .sub, .and, .or, .xor, .andNot] : [.add, .sub, .mul, .and, .or, .xor, .andNot]
            for op in ops {
                try check(
                    "\(op) \(lane)", inputs: [lane, lane], output: lane,
                    vector: { b, v in b.binary(op, lane, v[0], v[1]) }, scalar: { s.binary(op, lane, $0[0], $0[1]) })
            }
            for op in [LaneCompare.eq, .gt, .lt] {
                try check(
                    "compare \(op) \(lane)", inputs: [lane, lane], output: lane,
                    vector: { b, v in b.compare(op, lane, v[0], v[1]) }, scalar: { s.compare(op, lane, $0[0], $0[1]) })
            }
            let shifts: [LaneShift] = lane == .i64 ? [.left, .rightLogical] : [.left, .rightLogical, .rightArithmetic]
            for op in shifts {
                for n in [1, 20, 31] {
                    try check(
                        "shift \(op) \(n) \(lane)", inputs: [lane], output: lane,
                        vector: { b, v in b.shift(op, lane, v[0], n) }, scalar: { s.shift(op, lane, $0[0], n) })
                }
            }
        }
    }

    @Test func selectConvertAndGather() throws {
        let s = ScalarLanes()
        for (lane, mask) in [(Lane.f64, Lane.i64), (.f32, .i32), (.i64, .i64), (.i32, .i32)] {
            try check(
                "select \(lane)", inputs: [lane, lane, lane], output: lane,
                vector: { b, v in
                    b.select(
                        lane,
                        b.compare(.eq, mask, b.binary(.and, mask, v[0], b.constant(1, mask)), b.constant(1, mask)),
                        v[1], v[2])
                },
                scalar: { x in
                    s.select(lane, s.compare(.eq, mask, s.binary(.and, mask, x[0], 1), 1), x[1], x[2])
                })
        }
        for (from, to) in [
            (Lane.f32, Lane.f64), (.f64, .f32), (.i32, .f64), (.i32, .f32), (.f64, .i32), (.f32, .i32), (.i32, .i64),
            (.i64, .i32),
        ] {
            try check(
                "convert \(from) \(to)", inputs: [from], output: to,
                vector: { b, v in b.convert(v[0], from: from, to: to) },
                scalar: { s.convert($0[0], from: from, to: to) })
        }
        let table64 = LaneTable(lane: .f64, bits: (0..<64).map { (Double($0) * 1.5 + 0.25).bitPattern })
        let table32 = LaneTable(lane: .f32, bits: (0..<64).map { UInt64((Float($0) * 1.5 + 0.25).bitPattern) })
        try check(
            "gather qpd", inputs: [.i64], output: .f64,
            vector: { b, v in
                b.gather(table64, b.binary(.and, .i64, v[0], b.constant(63, .i64)), indexLane: .i64)
            }, scalar: { s.gather(table64, $0[0] & 63, indexLane: .i64) })
        try check(
            "gather dpd", inputs: [.i32], output: .f64,
            vector: { b, v in
                b.gather(table64, b.binary(.and, .i32, v[0], b.constant(63, .i32)), indexLane: .i32)
            }, scalar: { s.gather(table64, $0[0] & 63, indexLane: .i32) })
        try check(
            "gather dps", inputs: [.i32], output: .f32,
            vector: { b, v in
                b.gather(table32, b.binary(.and, .i32, v[0], b.constant(63, .i32)), indexLane: .i32)
            }, scalar: { s.gather(table32, $0[0] & 63, indexLane: .i32) })
        try check(
            "whereAny f64", inputs: [.f64, .f64], output: .f64,
            vector: { b, v in
                b.whereAny(
                    b.compare(.gt, .f64, v[0], b.constant(10.0.bitPattern, .f64)), .f64,
                    { b.binary(.mul, .f64, v[0], v[1]) }, otherwise: v[1])
            },
            scalar: { x in
                s.whereAny(
                    s.compare(.gt, .f64, x[0], 10.0.bitPattern), .f64, { s.binary(.mul, .f64, x[0], x[1]) },
                    otherwise: x[1])
            })
    }

    @Test func mathFunctionsWhole() throws {
        for f in ElementwiseMath.allCases {
            try check(
                "\(f) f64", inputs: [.f64], output: .f64,
                vector: { b, v in
                    KernelLowering.math(b, f, .float, v[0])
                },
                scalar: {
                    Double(bitPattern: $0[0]).bitPattern == $0[0]
                        ? MathDispatch.apply(f, Double(bitPattern: $0[0])).bitPattern : 0
                })
            try check(
                "\(f) f32", inputs: [.f32], output: .f32,
                vector: { b, v in
                    KernelLowering.math(b, f, .f32, v[0])
                },
                scalar: {
                    UInt64(MathDispatch.apply(f, Float(bitPattern: UInt32(truncatingIfNeeded: $0[0]))).bitPattern)
                })
        }
        try check(
            "pow f64", inputs: [.f64, .f64], output: .f64,
            vector: { b, v in
                MathLibrary.pow(F64(b, v[0]), F64(b, v[1])).v
            }, scalar: { MathDispatch.pow(Double(bitPattern: $0[0]), Double(bitPattern: $0[1])).bitPattern })
        try check(
            "pow f32", inputs: [.f32, .f32], output: .f32,
            vector: { b, v in
                MathLibrary.pow(F32(b, v[0]), F32(b, v[1])).v
            },
            scalar: {
                UInt64(
                    MathDispatch.pow(
                        Float(bitPattern: UInt32(truncatingIfNeeded: $0[0])),
                        Float(bitPattern: UInt32(truncatingIfNeeded: $0[1]))
                    ).bitPattern)
            })
    }
}
