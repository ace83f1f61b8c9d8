// Kernel lowering, part 2: the vector code of each kernel op (see KernelLowering.swift).

extension KernelLowering {
    // MARK: - Ops

    /// The output value of each step (its parts), ops interleaved across the steps.
    func compute(_ b: VectorBuilder, steps: [Int], tail: Bool) -> [[VReg]] {
        var values = Array(repeating: [[VReg]](), count: steps.count)
        for (i, op) in program.ops.enumerated() {
            for (u, step) in steps.enumerated() {
                values[u].append(lower(b, op, type: program.types[i], step: step, tail: tail, values: values[u]))
            }
        }
        return values.map { $0[program.output.value] }
    }

    func element(_ base: X86.GPR, _ kind: ElementKind, step: Int, part: Int) -> X86.Mem {
        X86.ptr(base, index: index, scale: kind.size, Int32(step * width * kind.size) + vectorBytes * Int32(part))
    }

    func lower(_ b: VectorBuilder, _ op: KernelOp, type: ElementKind, step: Int, tail: Bool, values: [[VReg]])
        -> [VReg]
    {
        let l = lane(type)
        func v(_ k: Int) -> [VReg] { values[k] }
        switch op {
        case .load(let k):
            let kind = program.arrayInputs[k]
            let p = inputRegisters[k]
            if kind == .bool {
                // Bytes 0/1 widened to lanes, then to all-ones masks (x > 0). Reading W bytes from a
                // multiple of W stays within the array's padding (VMArray rounds to 64 bytes).
                let bytes = b.code.memoryValue(element(p, .bool, step: step, part: 0))
                let wide = b.code.op(.rm(registerSource: false), width == lanes32 ? .vpmovzxbd : .vpmovzxbq, [bytes])
                return b.compare(.gt, l, [wide], b.constant(0, l))
            }
            return (0..<parts(kind)).map { part in
                let mem = element(p, kind, step: step, part: part)
                if !tail { return b.code.memoryValue(mem) }
                return b.code.op(.maskedLoad(mem), VectorOps.maskedMove(lane(kind)), [tailMask(b, kind, part: part)])
            }
        case .scalar(let k):
            let r = b.code.memoryValue(X86.ptr(.rsp, scalarBase + vectorBytes * Int32(k)))
            return Array(repeating: r, count: parts(type))
        case .neg(let x):
            if type == .int { return b.binary(.sub, .i64, b.constant(0, .i64), v(x)) }
            return b.binary(.xor, l, v(x), b.constant(l == .f32 ? 0x8000_0000 : 0x8000_0000_0000_0000, l))
        case .abs(let x):
            if type == .int {
                let negative = b.compare(.gt, .i64, b.constant(0, .i64), v(x))
                return b.select(.i64, negative, b.binary(.sub, .i64, b.constant(0, .i64), v(x)), v(x))
            }
            return b.binary(.and, l, v(x), b.constant(l == .f32 ? 0x7FFF_FFFF : 0x7FFF_FFFF_FFFF_FFFF, l))
        case .sqrt(let x):
            return b.unary(.sqrt, l, v(x))
        case .math(let f, let x):
            return Self.math(b, f, type, v(x))
        case .add(let x, let y):
            return b.binary(.add, l, v(x), v(y))
        case .sub(let x, let y):
            return b.binary(.sub, l, v(x), v(y))
        case .mul(let x, let y):
            if type == .int { return multiply(b, v(x), v(y)) }
            return b.binary(.mul, l, v(x), v(y))
        case .div(let x, let y):
            if type == .int { return divide(b, v(x), v(y), remainder: false, step: step) }
            return b.binary(.div, l, v(x), v(y))
        case .mod(let x, let y):
            return divide(b, v(x), v(y), remainder: true, step: step)
        case .min(let x, let y):
            if type == .int { return b.select(.i64, b.compare(.lt, .i64, v(x), v(y)), v(x), v(y)) }
            return b.binary(.min, l, v(x), v(y))
        case .max(let x, let y):
            if type == .int { return b.select(.i64, b.compare(.gt, .i64, v(x), v(y)), v(x), v(y)) }
            return b.binary(.max, l, v(x), v(y))
        case .pow(let x, let y):
            if type == .f32 { return MathLibrary.pow(F32(b, v(x)), F32(b, v(y))).v }
            return MathLibrary.pow(F64(b, v(x)), F64(b, v(y))).v
        case .fma(let x, let y, let z):
            if type == .int { return b.binary(.add, .i64, multiply(b, v(x), v(y)), v(z)) }
            return b.fma(l, v(x), v(y), v(z))
        case .compare(let c, let x, let y):
            return compare(b, c, program.types[x], v(x), v(y))
        case .not(let x):
            return b.binary(.xor, l, v(x), b.constant(UInt64.max, l))
        case .and(let x, let y):
            return b.binary(.and, l, v(x), v(y))
        case .or(let x, let y):
            return b.binary(.or, l, v(x), v(y))
        case .select(let m, let x, let y):
            return b.select(l, maskFor(b, type, v(m)), v(x), v(y))
        }
    }

    static func math(_ b: VectorBuilder, _ f: ElementwiseMath, _ type: ElementKind, _ x: [VReg]) -> [VReg] {
        if type == .f32 {
            let v = F32(b, x)
            switch f {
            case .exp: return MathLibrary.exp(v).v
            case .log: return MathLibrary.log(v).v
            case .sin: return MathLibrary.sin(v).v
            case .cos: return MathLibrary.cos(v).v
            case .tanh: return MathLibrary.tanh(v).v
            case .floor: return v.floor.v
            case .ceil: return v.ceil.v
            case .round: return MathLibrary.round(v).v
            }
        }
        let v = F64(b, x)
        switch f {
        case .exp: return MathLibrary.exp(v).v
        case .log: return MathLibrary.log(v).v
        case .sin: return MathLibrary.sin(v).v
        case .cos: return MathLibrary.cos(v).v
        case .tanh: return MathLibrary.tanh(v).v
        case .floor: return v.floor.v
        case .ceil: return v.ceil.v
        case .round: return MathLibrary.round(v).v
        }
    }

    /// 64-bit multiply from 32×32→64 products: lo(x)·lo(y) + ((hi(x)·lo(y) + lo(x)·hi(y)) << 32).
    func multiply(_ b: VectorBuilder, _ x: [VReg], _ y: [VReg]) -> [VReg] {
        (0..<x.count).map { p in
            let xh = b.code.op(.rm(registerSource: true), .vpsrlq, [x[p]], imm: 32)
            let t1 = b.code.op(.rvm(commutative: true), .vpmuludq, [xh, y[p]])
            let yh = b.code.op(.rm(registerSource: true), .vpsrlq, [y[p]], imm: 32)
            let t2 = b.code.op(.rvm(commutative: true), .vpmuludq, [yh, x[p]])
            let cross = b.code.op(.rvm(commutative: true), .vpaddq, [t1, t2])
            let high = b.code.op(.rm(registerSource: true), .vpsllq, [cross], imm: 32)
            let low = b.code.op(.rvm(commutative: true), .vpmuludq, [x[p], y[p]])
            return b.code.op(.rvm(commutative: true), .vpaddq, [low, high])
        }
    }

    func divide(_ b: VectorBuilder, _ x: [VReg], _ y: [VReg], remainder: Bool, step: Int) -> [VReg] {
        (0..<x.count).map { p in
            b.code.op(
                .intDivide(remainder: remainder, lane0: step * width + Int(vectorBytes) / 8 * p), .idiv, [x[p], y[p]])
        }
    }

    /// A comparison of values of `kind` as a bool of this kernel's shape.
    func compare(_ b: VectorBuilder, _ c: CompareOp, _ kind: ElementKind, _ x: [VReg], _ y: [VReg]) -> [VReg] {
        let l = lane(kind)
        let mask: [VReg]
        switch kind {
        case .f32, .float:
            switch c {
            case .eq: mask = b.compare(.eq, l, x, y)
            case .ne: mask = b.compare(.ne, l, x, y)
            case .lt: mask = b.compare(.lt, l, x, y)
            case .le: mask = b.compare(.le, l, x, y)
            }
        case .int:
            switch c {
            case .eq: mask = b.compare(.eq, .i64, x, y)
            case .ne: mask = b.binary(.xor, .i64, b.compare(.eq, .i64, x, y), b.constant(UInt64.max, .i64))
            case .lt: mask = b.compare(.lt, .i64, x, y)
            case .le: mask = b.binary(.xor, .i64, b.compare(.gt, .i64, x, y), b.constant(UInt64.max, .i64))
            }
        case .bool:
            let differ = b.binary(.xor, l, x, y)
            return c == .ne ? differ : b.binary(.xor, l, differ, b.constant(UInt64.max, l))
        }
        return boolFromMask(b, mask)
    }

    /// A mask of 64-bit lanes in two registers (width 8) as one register of 32-bit lanes.
    func boolFromMask(_ b: VectorBuilder, _ mask: [VReg]) -> [VReg] {
        guard mask.count == 2 else { return mask }
        if wide {
            // The low dwords of each ZMM's qwords, the second as the high half.
            let lo = b.code.op(.narrowQD, .nop, [mask[0]], xmm: true)
            let hi = b.code.op(.narrowQD, .nop, [mask[1]], xmm: true)
            return [b.code.op(.insertHigh, .vinsertf128, [lo, hi])]
        }
        // vshufps 0x88 takes dwords 0 and 2 of each 128-bit half of both: elements 0 1 4 5 | 2 3 6 7;
        // vpermpd 0xD8 puts the quadwords in order.
        let t = b.code.op(.rvm(commutative: false), .vshufps, mask, imm: 0x88)
        return [b.code.op(.rm(registerSource: false), .vpermpd, [t], imm: 0xD8)]
    }

    /// A bool of this kernel's shape as a mask for values of `kind`.
    func maskFor(_ b: VectorBuilder, _ kind: ElementKind, _ m: [VReg]) -> [VReg] {
        guard parts(kind) == 2 else { return m }
        let lo = b.code.op(.rm(registerSource: false), .vpmovsxdq, [m[0]], narrowSource: true)
        let high = b.code.op(.extractHigh, .vextractf128, [m[0]], xmm: true)
        let hi = b.code.op(.rm(registerSource: false), .vpmovsxdq, [high])
        return [lo, hi]
    }
}
