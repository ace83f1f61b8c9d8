// The JIT's LaneBuilder: each primitive of Math/LaneBuilder.swift becomes AVX2 instructions on virtual
// registers (VectorCode), so the math library, written once, runs as vector code with exactly the
// semantics ScalarLanes gives it in the interpreter.
//
// A step of a kernel handles `width` elements (8 when the kernel has f32 values, else 4). A value of
// 32-bit lanes is one YMM register at width 8 and an XMM register (the low half) at width 4; a value of
// 64-bit lanes is one YMM register at width 4 and two (elements 0–3, then 4–7) at width 8. Constants
// are memory operands in the code's data section, broadcast to 32 bytes.
//
// The 512-bit lowering (VectorEmitter512) uses the same builder with `lanes32` = 16: a step is then 16
// elements (f32 kernels) or 8, a full value a ZMM register and a half value (`isXMM`) its low YMM half;
// constants are broadcast to 64 bytes. The instructions named here are then read as the AVX-512
// operations with the same lane semantics (VectorEmitter512's table).

final class VectorBuilder: LaneBuilder {
    typealias Value = [VReg]

    var code: VectorCode
    let width: Int
    private let constantMemory: (UInt64, Lane) -> X86.Mem
    private var constants: [UInt64: VReg] = [:]

    /// 32-bit lanes of a full register: 8 (YMM) or 16 (ZMM, the 512-bit lowering).
    let lanes32: Int
    private var half: Int { lanes32 / 2 }

    init(
        width: Int, lanes32: Int = 8, code: VectorCode = VectorCode(),
        constant: @escaping (UInt64, Lane) -> X86.Mem
    ) {
        self.width = width
        self.lanes32 = lanes32
        self.code = code
        self.constantMemory = constant
    }

    /// Registers per value of this lane type.
    func parts(_ lane: Lane) -> Int { lane.is64 && width == lanes32 ? 2 : 1 }
    /// Whether values of this lane type are half-register-sized (XMM of a YMM, YMM of a ZMM).
    func isXMM(_ lane: Lane) -> Bool { !lane.is64 && width == half }

    private func each(_ lane: Lane, _ f: (Int) -> VReg) -> [VReg] { (0..<parts(lane)).map(f) }

    func constant(_ bits: UInt64, _ lane: Lane) -> [VReg] {
        // Broadcast to 32 bytes: the same memory serves XMM and YMM views.
        let pattern: UInt64 = lane.is64 ? bits : (bits & 0xFFFF_FFFF) | (bits & 0xFFFF_FFFF) << 32
        let r: VReg
        if let c = constants[pattern] {
            r = c
        } else {
            r = code.memoryValue(constantMemory(pattern, .i64))
            constants[pattern] = r
        }
        let v = isXMM(lane) ? VReg(id: r.id, isXMM: true) : r
        return Array(repeating: v, count: parts(lane))
    }

    func unary(_ op: LaneUnary, _ lane: Lane, _ a: [VReg]) -> [VReg] {
        let inst = VectorOps.unary(op, lane)
        let imm = VectorOps.roundingMode(op)
        return each(lane) { code.op(.rm(registerSource: false), inst, [a[$0]], imm: imm, xmm: isXMM(lane)) }
    }

    func binary(_ op: LaneBinary, _ lane: Lane, _ a: [VReg], _ b: [VReg]) -> [VReg] {
        // Bitwise work is done in the integer forms whatever the lanes hold (vpand, …; see VectorOps.binary).
        let inst = VectorOps.binary(op, VectorOps.isBitwise(op) ? lane.bits : lane)
        let commutative: Bool
        switch op {
        case .add, .mul, .and, .or, .xor: commutative = true
        // min and max are not: with a NaN or equal values the second operand wins.
        case .sub, .div, .min, .max, .andNot: commutative = false
        }
        // a & ~b is vpandn(b, a).
        let swapped = op == .andNot
        return each(lane) {
            code.op(.rvm(commutative: commutative), inst, swapped ? [b[$0], a[$0]] : [a[$0], b[$0]], xmm: isXMM(lane))
        }
    }

    func fma(_ lane: Lane, _ a: [VReg], _ b: [VReg], _ c: [VReg]) -> [VReg] {
        // The emitters choose the operand order (231 or 213) once registers are known.
        each(lane) { code.op(.fma(single: lane == .f32), .vfmadd231pd, [a[$0], b[$0], c[$0]], xmm: isXMM(lane)) }
    }

    func compare(_ op: LaneCompare, _ lane: Lane, _ a: [VReg], _ b: [VReg]) -> [VReg] {
        let symmetric = op == .eq || op == .ne || op == .unordered
        if lane.isFloat {
            let (inst, predicate) = VectorOps.floatCompare(op, lane)
            return each(lane) {
                code.op(
                    .rvm(commutative: symmetric), inst, [a[$0], b[$0]], imm: Int64(predicate.rawValue),
                    xmm: isXMM(lane))
            }
        }
        let (inst, swapped) = VectorOps.integerCompare(op, lane)
        return each(lane) {
            code.op(.rvm(commutative: symmetric), inst, swapped ? [b[$0], a[$0]] : [a[$0], b[$0]], xmm: isXMM(lane))
        }
    }

    func select(_ lane: Lane, _ mask: [VReg], _ a: [VReg], _ b: [VReg]) -> [VReg] {
        each(lane) { code.op(.blend(single: !lane.is64), .vblendvps, [mask[$0], a[$0], b[$0]], xmm: isXMM(lane)) }
    }

    func shift(_ op: LaneShift, _ lane: Lane, _ a: [VReg], _ count: Int) -> [VReg] {
        let inst = VectorOps.shift(op, lane.bits)
        return each(lane) { code.op(.rm(registerSource: true), inst, [a[$0]], imm: Int64(count), xmm: isXMM(lane)) }
    }

    /// From 32-bit lanes to 64-bit lanes (twice as many registers, or an XMM value to a YMM one).
    private func widen(_ a: [VReg], _ inst: X86.Instruction) -> [VReg] {
        if width == half { return [code.op(.rm(registerSource: false), inst, [a[0]])] }
        let lo = code.op(.rm(registerSource: false), inst, [a[0]], narrowSource: true)
        let high = code.op(.extractHigh, .vextractf128, [a[0]], xmm: true)
        let hi = code.op(.rm(registerSource: false), inst, [high])
        return [lo, hi]
    }

    /// From 64-bit lanes to 32-bit lanes, with an instruction that turns a YMM of 4 into an XMM of 4.
    private func narrow(_ a: [VReg], _ quarter: (VReg) -> VReg) -> [VReg] {
        if width == half { return [quarter(a[0])] }
        let lo = quarter(a[0])
        let hi = quarter(a[1])
        return [code.op(.insertHigh, .vinsertf128, [lo, hi])]
    }

    func convert(_ a: [VReg], from: Lane, to: Lane) -> [VReg] {
        switch (from, to) {
        case (.f32, .f64): return widen(a, .vcvtps2pd)
        case (.i32, .f64): return widen(a, .vcvtdq2pd)
        case (.i32, .i64): return widen(a, .vpmovsxdq)
        // (A register source: the memory form would need a 256-bit size the XMM destination cannot imply.)
        case (.f64, .f32):
            return narrow(a) { code.op(.rm(registerSource: true), .vcvtpd2ps, [$0], xmm: true) }
        case (.f64, .i32):
            return narrow(a) { code.op(.rm(registerSource: true), .vcvttpd2dq, [$0], xmm: true) }
        case (.i64, .i32):
            // The low dwords of the four qwords: [x0, x2] of the low half and of the high half.
            if lanes32 == 16 { return narrow(a) { code.op(.narrowQD, .nop, [$0], xmm: true) } }
            return narrow(a) { x in
                let high = code.op(.extractHigh, .vextractf128, [x], xmm: true)
                return code.op(.rvm(commutative: false), .vshufps, [x, high], imm: 0x88, xmm: true, narrowSource: true)
            }
        case (.i32, .f32):
            return [code.op(.rm(registerSource: false), .vcvtdq2ps, [a[0]], xmm: isXMM(.f32))]
        case (.f32, .i32):
            return [code.op(.rm(registerSource: false), .vcvttps2dq, [a[0]], xmm: isXMM(.f32))]
        default:
            preconditionFailure("no conversion from \(from) to \(to)")
        }
    }

    func gather(_ table: LaneTable, _ index: [VReg], indexLane: Lane) -> [VReg] {
        let address = UInt(bitPattern: table.base)
        switch (table.lane.is64, indexLane.is64) {
        case (true, true):
            return index.map { code.op(.gather(address, .qpd), .nop, [$0]) }
        case (true, false):
            // 32-bit indices, 64-bit results: each half of the index register feeds one result register.
            if width == half { return [code.op(.gather(address, .dpd), .nop, [index[0]])] }
            let high = code.op(.extractHigh, .vextractf128, [index[0]], xmm: true)
            let lowHalf = VReg(id: index[0].id, isXMM: true)
            return [
                code.op(.gather(address, .dpd), .nop, [lowHalf]),
                code.op(.gather(address, .dpd), .nop, [high]),
            ]
        case (false, false):
            return [code.op(.gather(address, .dps), .nop, [index[0]], xmm: isXMM(.f32))]
        case (false, true):
            preconditionFailure("a 32-bit table indexed by 64-bit lanes")
        }
    }

    func whereAny(_ mask: [VReg], _ lane: Lane, _ body: () -> [VReg], otherwise: [VReg]) -> [VReg] {
        let xmm = isXMM(lane)
        // The merge value starts as `otherwise`; the region blends the body's lanes into it.
        let merged = otherwise.map { code.op(.rm(registerSource: false), .vmovups, [$0], xmm: xmm) }
        let region = code.newRegion()
        code.effect(.skipUnlessAny(region: region, parts: mask, single: !lane.is64), .vmovmskps, [])
        let value = body()
        for p in 0..<merged.count {
            code.redefine(merged[p], .blend(single: !lane.is64), .vblendvps, [mask[p], value[p], merged[p]])
        }
        code.effect(.endRegion(region), .nop, [])
        return merged
    }
}
