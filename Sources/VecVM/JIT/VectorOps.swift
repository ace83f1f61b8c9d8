// VectorOps.swift — which x86 instruction does a lane operation (LaneBuilder.swift's vocabulary: add, min,
// sqrt, a comparison, …) on which lane type (f32, f64, i32, i64) at which shape (every lane of the register,
// or lane 0 alone). Both lowerings read it: the kernels' (VectorBuilder, KernelLowering's reductions,
// VectorCode and VectorEmitter512's accumulations) and the function JIT's (FunctionLowering+Emit: scalar and
// SIMD arithmetic, min/max, sqrt, rounding, comparisons, fused multiply-add, reductions), so that the two
// cannot pick different instructions for the same operation. Operand placement, register views and the
// 512-bit encodings stay with each emitter.
//
// Every switch is exhaustive, without `default`: a new operation or lane type does not compile until it is
// given its instruction here, or a precondition saying why AVX2 has none.

enum VectorOps {
    /// Which lanes an instruction computes: all of the register (…ps, …pd and the integer forms), or lane 0
    /// alone with the other lanes taken from the first source (…ss, …sd: the function JIT's scalars).
    enum Shape: Sendable {
        case packed, scalar
    }

    /// The operand order of a fused multiply-add: 231 is d = a·b + d, 213 is d = a·d + b (VectorCode picks
    /// the one whose destination already holds an operand).
    enum FMAForm: Sendable {
        case form231, form213
    }

    // MARK: Arithmetic and bitwise operations

    /// The instruction of `op` on `lane`s. Bitwise operations have no scalar form: the packed one computes
    /// lane 0 the same way. They come in a floating-point form (vandps) and an integer one (vpand) that
    /// give the same bits; the float lanes here take the former, and the kernels, which do all their
    /// bitwise work in the integer forms (the ones VectorEmitter512 has EVEX encodings for), ask for
    /// the integer lane of the same width (`Lane.bits`).
    static func binary(_ op: LaneBinary, _ lane: Lane, _ shape: Shape = .packed) -> X86.Instruction {
        switch (op, lane, shape) {
        case (.add, .f32, .packed): .vaddps
        case (.add, .f64, .packed): .vaddpd
        case (.add, .f32, .scalar): .vaddss
        case (.add, .f64, .scalar): .vaddsd
        case (.sub, .f32, .packed): .vsubps
        case (.sub, .f64, .packed): .vsubpd
        case (.sub, .f32, .scalar): .vsubss
        case (.sub, .f64, .scalar): .vsubsd
        case (.mul, .f32, .packed): .vmulps
        case (.mul, .f64, .packed): .vmulpd
        case (.mul, .f32, .scalar): .vmulss
        case (.mul, .f64, .scalar): .vmulsd
        case (.div, .f32, .packed): .vdivps
        case (.div, .f64, .packed): .vdivpd
        case (.div, .f32, .scalar): .vdivss
        case (.div, .f64, .scalar): .vdivsd
        case (.min, .f32, .packed): .vminps
        case (.min, .f64, .packed): .vminpd
        case (.min, .f32, .scalar): .vminss
        case (.min, .f64, .scalar): .vminsd
        case (.max, .f32, .packed): .vmaxps
        case (.max, .f64, .packed): .vmaxpd
        case (.max, .f32, .scalar): .vmaxss
        case (.max, .f64, .scalar): .vmaxsd
        case (.and, .f32, _): .vandps
        case (.and, .f64, _): .vandpd
        case (.or, .f32, _): .vorps
        case (.or, .f64, _): .vorpd
        case (.xor, .f32, _): .vxorps
        case (.xor, .f64, _): .vxorpd
        case (.andNot, .f32, _): .vandnps
        case (.andNot, .f64, _): .vandnpd
        case (.add, .i32, .packed): .vpaddd
        case (.add, .i64, .packed): .vpaddq
        case (.sub, .i32, .packed): .vpsubd
        case (.sub, .i64, .packed): .vpsubq
        case (.mul, .i32, .packed): .vpmulld
        case (.and, .i32, .packed), (.and, .i64, .packed): .vpand
        case (.or, .i32, .packed), (.or, .i64, .packed): .vpor
        case (.xor, .i32, .packed), (.xor, .i64, .packed): .vpxor
        // vpandn d, x, y is ~x & y.
        case (.andNot, .i32, .packed), (.andNot, .i64, .packed): .vpandn
        case (.mul, .i64, .packed), (.div, .i32, .packed), (.div, .i64, .packed), (.min, .i32, .packed),
            (.min, .i64, .packed), (.max, .i32, .packed), (.max, .i64, .packed):
            preconditionFailure("no \(op) on \(lane) lanes in AVX2")
        case (_, .i32, .scalar), (_, .i64, .scalar):
            preconditionFailure("integer lanes have no scalar vector form (the function JIT keeps them in GPRs)")
        }
    }

    /// Whether `op` is bitwise (the same bits whatever the lanes hold).
    static func isBitwise(_ op: LaneBinary) -> Bool {
        switch op {
        case .and, .or, .xor, .andNot: true
        case .add, .sub, .mul, .div, .min, .max: false
        }
    }

    /// The operation a reduction folds its lanes with (count, any and all add up 0/1 lanes).
    static func reductionStep(_ r: ReductionOp) -> LaneBinary {
        switch r {
        case .sum, .count, .any, .all: .add
        case .min: .min
        case .max: .max
        }
    }

    // MARK: Square root and rounding

    /// The instruction of a unary operation on float lanes (sqrt, or vround with `roundingMode(op)`).
    static func unary(_ op: LaneUnary, _ lane: Lane, _ shape: Shape = .packed) -> X86.Instruction {
        switch (op, lane, shape) {
        case (.sqrt, .f32, .packed): .vsqrtps
        case (.sqrt, .f64, .packed): .vsqrtpd
        case (.sqrt, .f32, .scalar): .vsqrtss
        case (.sqrt, .f64, .scalar): .vsqrtsd
        case (.floor, .f32, .packed), (.ceil, .f32, .packed), (.trunc, .f32, .packed), (.roundEven, .f32, .packed):
            .vroundps
        case (.floor, .f64, .packed), (.ceil, .f64, .packed), (.trunc, .f64, .packed), (.roundEven, .f64, .packed):
            .vroundpd
        case (.floor, .f32, .scalar), (.ceil, .f32, .scalar), (.trunc, .f32, .scalar), (.roundEven, .f32, .scalar):
            .vroundss
        case (.floor, .f64, .scalar), (.ceil, .f64, .scalar), (.trunc, .f64, .scalar), (.roundEven, .f64, .scalar):
            .vroundsd
        case (_, .i32, _), (_, .i64, _):
            preconditionFailure("\(op) is for float lanes")
        }
    }

    /// vround's immediate for a rounding operation: the mode in bits 0–1 (X86.Rounding), bit 3 set so that
    /// an inexact result raises no flag; nil for the operations that are not roundings.
    static func roundingMode(_ op: LaneUnary) -> Int64? {
        switch op {
        case .sqrt: nil
        case .roundEven: Int64(X86.Rounding.nearest)
        case .floor: Int64(X86.Rounding.down)
        case .ceil: Int64(X86.Rounding.up)
        case .trunc: Int64(X86.Rounding.towardZero)
        }
    }

    // MARK: Comparisons

    /// A comparison of float lanes giving all-ones lanes where it holds: vcmp… and its predicate (the
    /// imm8). The predicates are ordered (a NaN compares false) except `ne`, and quiet (no invalid flag for
    /// a quiet NaN). `signalsOnNaN` takes < and <= as LT_OS and LE_OS instead, the two predicates of SSE's
    /// cmpss that signal, as the function JIT's scalar compares were encoded before this table (kept so
    /// that their machine code did not change); the results are the same, only MXCSR's invalid flag,
    /// masked and never read, differs.
    static func floatCompare(
        _ op: LaneCompare, _ lane: Lane, _ shape: Shape = .packed, signalsOnNaN: Bool = false
    ) -> (instruction: X86.Instruction, predicate: X86.ComparePredicate) {
        let instruction: X86.Instruction =
            switch (lane, shape) {
            case (.f32, .packed): .vcmpps
            case (.f64, .packed): .vcmppd
            case (.f32, .scalar): .vcmpss
            case (.f64, .scalar): .vcmpsd
            case (.i32, _), (.i64, _): preconditionFailure("integer lanes compare with integerCompare")
            }
        let predicate: X86.ComparePredicate =
            switch op {
            case .eq: .eq
            case .ne: .neq
            case .lt: signalsOnNaN ? .lt : .ltOQ
            case .le: signalsOnNaN ? .le : .leOQ
            case .gt: .gtOQ
            case .ge: .geOQ
            case .unordered: .unord
            }
        return (instruction, predicate)
    }

    /// A comparison of integer lanes giving all-ones lanes where it holds: eq, gt and lt (signed), the last
    /// as gt with the operands swapped.
    static func integerCompare(_ op: LaneCompare, _ lane: Lane) -> (instruction: X86.Instruction, swapsOperands: Bool) {
        switch (op, lane) {
        case (.eq, .i32): (.vpcmpeqd, false)
        case (.eq, .i64): (.vpcmpeqq, false)
        case (.gt, .i32): (.vpcmpgtd, false)
        case (.gt, .i64): (.vpcmpgtq, false)
        case (.lt, .i32): (.vpcmpgtd, true)
        case (.lt, .i64): (.vpcmpgtq, true)
        case (.ne, .i32), (.ne, .i64), (.le, .i32), (.le, .i64), (.ge, .i32), (.ge, .i64), (.unordered, .i32),
            (.unordered, .i64):
            preconditionFailure("integer compare \(op)")
        case (_, .f32), (_, .f64): preconditionFailure("float lanes compare with floatCompare")
        }
    }

    // MARK: Fused multiply-add, blends, masks, shifts, stores

    /// d = a·b + c with one rounding, in the operand order `form`.
    static func fma(_ lane: Lane, _ shape: Shape = .packed, form: FMAForm = .form231) -> X86.Instruction {
        switch (lane, shape, form) {
        case (.f32, .packed, .form231): .vfmadd231ps
        case (.f64, .packed, .form231): .vfmadd231pd
        case (.f32, .scalar, .form231): .vfmadd231ss
        case (.f64, .scalar, .form231): .vfmadd231sd
        case (.f32, .packed, .form213): .vfmadd213ps
        case (.f64, .packed, .form213): .vfmadd213pd
        case (.f32, .scalar, .form213): .vfmadd213ss
        case (.f64, .scalar, .form213): .vfmadd213sd
        case (.i32, _, _), (.i64, _, _): preconditionFailure("fma is for float lanes")
        }
    }

    /// d = mask ? b : a lane by lane, the mask's sign bits choosing (vblendv d, a, b, mask).
    static func blend(_ lane: Lane) -> X86.Instruction {
        switch lane {
        case .f32, .i32: .vblendvps
        case .f64, .i64: .vblendvpd
        }
    }

    /// The sign bit of each lane into the low bits of a GPR.
    static func moveMask(_ lane: Lane) -> X86.Instruction {
        switch lane {
        case .f32, .i32: .vmovmskps
        case .f64, .i64: .vmovmskpd
        }
    }

    /// Shift of integer lanes by an immediate.
    static func shift(_ op: LaneShift, _ lane: Lane) -> X86.Instruction {
        switch (op, lane) {
        case (.left, .i64): .vpsllq
        case (.left, .i32): .vpslld
        case (.rightLogical, .i64): .vpsrlq
        case (.rightLogical, .i32): .vpsrld
        case (.rightArithmetic, .i32): .vpsrad
        case (.rightArithmetic, .i64): preconditionFailure("no 64-bit arithmetic shift in AVX2")
        case (_, .f32), (_, .f64): preconditionFailure("shifts are for integer lanes")
        }
    }

    /// A store that bypasses the caches (streaming a large output).
    static func nonTemporalStore(_ lane: Lane) -> X86.Instruction {
        switch lane {
        case .f32: .vmovntps
        case .f64: .vmovntpd
        case .i32, .i64: .vmovntdq
        }
    }

    /// A load or store of the lanes whose mask lane has its sign bit set (the others read as 0, are not
    /// written, and do not fault).
    static func maskedMove(_ lane: Lane) -> X86.Instruction {
        switch lane {
        case .f32: .vmaskmovps
        case .f64: .vmaskmovpd
        case .i32: .vpmaskmovd
        case .i64: .vpmaskmovq
        }
    }
}

extension Lane {
    /// The integer lane of the same width (bitwise work on float lanes in the integer forms).
    var bits: Lane {
        switch self {
        case .f32, .i32: .i32
        case .f64, .i64: .i64
        }
    }
}

extension LaneCompare {
    /// The bytecode's comparisons (`a > b` and `a >= b` arrive as lt and le with the operands swapped).
    init(_ op: CompareOp) {
        switch op {
        case .eq: self = .eq
        case .ne: self = .ne
        case .lt: self = .lt
        case .le: self = .le
        }
    }
}
