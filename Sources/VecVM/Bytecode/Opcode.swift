// The opcode table: the single source of truth for the register bytecode (Lua's lopcodes.h habit).
// The compiler emits these, the interpreter executes them, and the disassembler and the verifier read
// the operand layout from `Opcode.info`. Add an opcode here first.
//
// An instruction is one 64-bit word:
//
//    63          48 47          32 31    24 23          8 7      0
//   +--------------+--------------+--------+-------------+--------+
//   |      C       |      B       |   K    |      A      |   op   |
//   +--------------+--------------+--------+-------------+--------+
//   |             Bx / sBx        |
//   +-----------------------------+
//
// A, B, C are 16-bit register numbers (or, where the format says so, a signed 16-bit immediate or
// jump offset: sB, sC); K is an 8-bit sub-operation, type code or flag byte; Bx is 32 bits unsigned
// (constant, global, function index) and sBx 32 bits signed (jump offset). Jump offsets count
// instructions from the instruction after the jump. R[x] is the 64-bit scalar register x of the
// current frame, O[x] its object register (str, arrays, tasks, channels), V[x] the SIMD value in
// R[x..x+3]. A backward jump polls the task's preemption flag; nothing else does, except calls.

enum Opcode: UInt8, CaseIterable {
    case nop
    case move, moveRef, move4, loadInt, loadConst, loadConst4, loadString, clearRefs
    case getGlobal, getGlobal4, getGlobalRef, setGlobal, setGlobal4, setGlobalRef
    case addInt, subInt, mulInt, divInt, modInt, addIntImm, negInt
    case addFloat, subFloat, mulFloat, divFloat, negFloat
    case addF32, subF32, mulF32, divF32, negF32
    case scalarMath, scalarFma
    case ltInt, leInt, eqInt, neInt, compare, not
    case jump, jumpIfTrue, jumpIfFalse
    case jumpIfLtInt, jumpIfLeInt, jumpIfEqInt, jumpIfNeInt
    case jumpIfLtImm, jumpIfLeImm, jumpIfGtImm, jumpIfGeImm, jumpIfEqImm, jumpIfNeImm
    case forPrep, forLoop
    case convert
    case call, callExtern, callHost, ret0, ret, retRef, ret4
    case getInt, getFloat, getF32, getBool, setInt, setFloat, setF32, setBool, length, slice, arrayLiteral
    case kernel, checkLengths, builtin, print, concat, format
    case simdBinary, simdUnary, simdFma, splat, vload, vstore, lane, simdReduce
    case simdCompare, simdMask, simdSelect
    case spawn, wait, makeChan, send, recv, recvOrJump, close, yield, sleep, now
    /// Input and output (Interpreter/IOBuiltins.swift), one opcode with the operation in K.
    case io

    /// How the disassembler shows the operands.
    enum Format {
        case none, a, ab, abc, aBx, asBx, sBx, abk, abck, aSBsC, absC, abSCk, ak
    }

    struct Info {
        let format: Format
        let semantics: String
    }

    var info: Info {
        switch self {
        case .nop: Info(format: .none, semantics: "no operation")
        case .move: Info(format: .ab, semantics: "R[A] = R[B]")
        case .moveRef: Info(format: .ab, semantics: "O[A] = O[B]")
        case .move4: Info(format: .ab, semantics: "V[A] = V[B]")
        case .loadInt: Info(format: .asBx, semantics: "R[A] = sBx")
        case .loadConst:
            Info(format: .aBx, semantics: "R[A] = K[Bx] (K: the constant's element kind, 0 int 1 float 2 f32)")
        case .loadConst4: Info(format: .aBx, semantics: "V[A] = K[Bx..Bx+3]")
        case .loadString: Info(format: .aBx, semantics: "O[A] = STR[Bx]")
        case .clearRefs: Info(format: .ab, semantics: "O[A..<A+B] = nil (temporaries released)")
        case .getGlobal:
            Info(format: .aBx, semantics: "R[A] = G[Bx] (error if not yet initialized; K: its element kind)")
        case .getGlobal4:
            Info(format: .aBx, semantics: "V[A] = G[Bx..Bx+3] (error if not yet initialized; K: 1 for f64 lanes)")
        case .getGlobalRef:
            Info(
                format: .aBx,
                semantics: "O[A] = GO[Bx] (error if not yet initialized; K: 1 + element kind of an array, else 0)")
        case .setGlobal: Info(format: .aBx, semantics: "G[Bx] = R[A]; marks it initialized")
        case .setGlobal4: Info(format: .aBx, semantics: "G[Bx..Bx+3] = V[A]; marks it initialized")
        case .setGlobalRef: Info(format: .aBx, semantics: "GO[Bx] = O[A]; marks it initialized")
        case .addInt: Info(format: .abc, semantics: "R[A] = R[B] &+ R[C] (int, wraps)")
        case .subInt: Info(format: .abc, semantics: "R[A] = R[B] &- R[C]")
        case .mulInt: Info(format: .abc, semantics: "R[A] = R[B] &* R[C]")
        case .divInt:
            Info(format: .abc, semantics: "R[A] = R[B] / R[C] (truncates; error if R[C] == 0; min / -1 wraps)")
        case .modInt: Info(format: .abc, semantics: "R[A] = R[B] % R[C] (sign of the dividend; error if R[C] == 0)")
        case .addIntImm: Info(format: .aSBsC, semantics: "R[A] = R[B] &+ sC")
        case .negInt: Info(format: .ab, semantics: "R[A] = 0 &- R[B]")
        case .addFloat: Info(format: .abc, semantics: "R[A] = R[B] + R[C] (float)")
        case .subFloat: Info(format: .abc, semantics: "R[A] = R[B] - R[C] (float)")
        case .mulFloat: Info(format: .abc, semantics: "R[A] = R[B] * R[C] (float)")
        case .divFloat: Info(format: .abc, semantics: "R[A] = R[B] / R[C] (float)")
        case .negFloat: Info(format: .ab, semantics: "R[A] = -R[B] (float)")
        case .addF32: Info(format: .abc, semantics: "R[A] = R[B] + R[C] (f32)")
        case .subF32: Info(format: .abc, semantics: "R[A] = R[B] - R[C] (f32)")
        case .mulF32: Info(format: .abc, semantics: "R[A] = R[B] * R[C] (f32)")
        case .divF32: Info(format: .abc, semantics: "R[A] = R[B] / R[C] (f32)")
        case .negF32: Info(format: .ab, semantics: "R[A] = -R[B] (f32)")
        case .scalarMath:
            Info(
                format: .abck, semantics: "R[A] = MathOp(K)(R[B], R[C]) (min max abs sqrt exp log ... pow on K's type)")
        case .scalarFma:
            Info(format: .abk, semantics: "R[A] = fma(R[B], R[B+1], R[B+2]) on type K (int: wrapping a*b+c)")
        case .ltInt: Info(format: .abc, semantics: "R[A] = R[B] < R[C] (int)")
        case .leInt: Info(format: .abc, semantics: "R[A] = R[B] <= R[C] (int)")
        case .eqInt: Info(format: .abc, semantics: "R[A] = R[B] == R[C] (int, bool)")
        case .neInt: Info(format: .abc, semantics: "R[A] = R[B] != R[C] (int, bool)")
        case .compare: Info(format: .abck, semantics: "R[A] = Compare(K)(B, C) (float, f32 on R; str on O)")
        case .not: Info(format: .ab, semantics: "R[A] = !R[B]")
        case .jump: Info(format: .sBx, semantics: "pc += sBx")
        case .jumpIfTrue: Info(format: .asBx, semantics: "if R[A] { pc += sBx }")
        case .jumpIfFalse: Info(format: .asBx, semantics: "if !R[A] { pc += sBx }")
        case .jumpIfLtInt: Info(format: .absC, semantics: "if R[A] < R[B] { pc += sC }")
        case .jumpIfLeInt: Info(format: .absC, semantics: "if R[A] <= R[B] { pc += sC }")
        case .jumpIfEqInt: Info(format: .absC, semantics: "if R[A] == R[B] { pc += sC }")
        case .jumpIfNeInt: Info(format: .absC, semantics: "if R[A] != R[B] { pc += sC }")
        case .jumpIfLtImm: Info(format: .aSBsC, semantics: "if R[A] < sB { pc += sC }")
        case .jumpIfLeImm: Info(format: .aSBsC, semantics: "if R[A] <= sB { pc += sC }")
        case .jumpIfGtImm: Info(format: .aSBsC, semantics: "if R[A] > sB { pc += sC }")
        case .jumpIfGeImm: Info(format: .aSBsC, semantics: "if R[A] >= sB { pc += sC }")
        case .jumpIfEqImm: Info(format: .aSBsC, semantics: "if R[A] == sB { pc += sC }")
        case .jumpIfNeImm: Info(format: .aSBsC, semantics: "if R[A] != sB { pc += sC }")
        case .forPrep: Info(format: .asBx, semantics: "if !(R[A] < R[A+1]) { pc += sBx } (range loop entry)")
        case .forLoop:
            Info(format: .asBx, semantics: "R[A] += 1; if R[A] < R[A+1] { pc += sBx } (range loop back-edge)")
        case .convert: Info(format: .abk, semantics: "R[A] = Conversion(K)(R[B]) (int/float/f32 scalars)")
        case .call:
            Info(
                format: .aBx, semantics: "call function Bx with its frame at R[A] (arguments in place); result in R[A]")
        case .callExtern:
            Info(format: .aBx, semantics: "call extern Bx (C, through libffi) with arguments at A; result in R[A]")
        case .callHost: Info(format: .aBx, semantics: "call host function Bx with arguments at A; result at A")
        case .ret0: Info(format: .none, semantics: "return (no value)")
        case .ret: Info(format: .a, semantics: "return R[A]")
        case .retRef: Info(format: .a, semantics: "return O[A]")
        case .ret4: Info(format: .a, semantics: "return V[A]")
        case .getInt: Info(format: .abc, semantics: "R[A] = O[B][R[C]] ([int]; bounds checked)")
        case .getFloat: Info(format: .abc, semantics: "R[A] = O[B][R[C]] ([float])")
        case .getF32: Info(format: .abc, semantics: "R[A] = O[B][R[C]] ([f32])")
        case .getBool: Info(format: .abc, semantics: "R[A] = O[B][R[C]] ([bool]: 0 or 1)")
        case .setInt: Info(format: .abc, semantics: "O[A][R[B]] = R[C] ([int]; bounds checked)")
        case .setFloat: Info(format: .abc, semantics: "O[A][R[B]] = R[C] ([float])")
        case .setF32: Info(format: .abc, semantics: "O[A][R[B]] = R[C] ([f32])")
        case .setBool: Info(format: .abc, semantics: "O[A][R[B]] = R[C] ([bool])")
        case .length: Info(format: .ab, semantics: "R[A] = len(O[B])")
        case .slice: Info(format: .abc, semantics: "O[A] = copy of O[B][R[C] ..< R[C+1]]")
        case .arrayLiteral: Info(format: .abck, semantics: "O[A] = new [K] array of the C values R[B..<B+C]")
        case .kernel:
            Info(
                format: .abk,
                semantics: "run kernel site B; result in O[A] (array) or R[A] (reduction); K&1: may reuse O[A]'s buffer"
            )
        case .checkLengths:
            Info(format: .ab, semantics: "error unless the arrays O[A..<A+B] have one length (a fused let's check)")
        case .builtin: Info(format: .abck, semantics: "R/O[A] = Builtin(K)(arguments from B, C of them)")
        case .print: Info(format: .aBx, semantics: "print the values of print site Bx")
        case .concat: Info(format: .abc, semantics: "O[A] = O[B] + O[C] (str)")
        case .format: Info(format: .abc, semantics: "O[A] = str(value at B of type TYPES[C])")
        case .simdBinary: Info(format: .abck, semantics: "V[A] = SimdOp(K)(V[B], V[C])")
        case .simdUnary: Info(format: .abk, semantics: "V[A] = SimdOp(K)(V[B])")
        case .simdFma: Info(format: .abk, semantics: "V[A] = fma(V[B], V[B+4], V[B+8]) (type K)")
        case .splat: Info(format: .abk, semantics: "V[A] = all lanes R[B] (K: 0 f32x8, 1 f64x4)")
        case .vload: Info(format: .abck, semantics: "V[A] = lanes of O[B] from index R[C] (bounds checked)")
        case .vstore: Info(format: .abck, semantics: "lanes of O[A] from index R[B] = V[C] (bounds checked)")
        case .lane:
            Info(format: .abck, semantics: "R[A] = lane R[C] of V[B] (checked; K: 0 f32x8, 1 f64x4, 2 m32x8, 3 m64x4)")
        case .simdReduce:
            Info(format: .abk, semantics: "R[A] = Reduction(K)(V[B]) (fixed pairwise order; count/any/all of masks)")
        case .simdCompare: Info(format: .abck, semantics: "V[A] = mask of Compare(K)(V[B], V[C]) (K = op << 1 | f64)")
        case .simdMask: Info(format: .abck, semantics: "V[A] = MaskOp(K)(V[B], V[C]) (not, and, or: bitwise)")
        case .simdSelect: Info(format: .abc, semantics: "V[A] = mask V[B] ? V[C] : V[C+4], lane by lane")
        case .spawn: Info(format: .abc, semantics: "O[A] = spawn function C with arguments copied from R[B..]")
        case .wait: Info(format: .abk, semantics: "A = result of task O[B] (storage K), after it ends")
        case .makeChan: Info(format: .ab, semantics: "O[A] = channel with capacity R[B]")
        case .send: Info(format: .abk, semantics: "send the value at B (storage K) on channel O[A]")
        case .recv:
            Info(format: .abk, semantics: "A = receive from channel O[B] (storage K); error if closed and drained")
        case .recvOrJump:
            Info(format: .abSCk, semantics: "A = receive from O[B] (storage K); if closed and drained { pc += sC }")
        case .close: Info(format: .a, semantics: "close channel O[A]")
        case .yield: Info(format: .none, semantics: "let other tasks run")
        case .sleep: Info(format: .a, semantics: "block this task for R[A] milliseconds")
        case .now: Info(format: .a, semantics: "R[A] = monotonic clock in nanoseconds")
        case .io:
            Info(
                format: .abck,
                semantics: "A = IOOp(K)(operands from B; C: element kind or type index), see IOOp")
        }
    }

    var name: String { String(describing: self) }

    /// The array element read and write of an element kind.
    static func get(_ kind: ElementKind) -> Opcode {
        switch kind {
        case .int: .getInt
        case .float: .getFloat
        case .f32: .getF32
        case .bool: .getBool
        }
    }
    static func set(_ kind: ElementKind) -> Opcode {
        switch kind {
        case .int: .setInt
        case .float: .setFloat
        case .f32: .setF32
        case .bool: .setBool
        }
    }
}

/// One encoded instruction.
struct Instruction: Equatable {
    var word: UInt64

    init(word: UInt64) { self.word = word }

    init(_ op: Opcode, a: Int = 0, b: Int = 0, c: Int = 0, k: Int = 0) {
        word =
            UInt64(op.rawValue) | UInt64(UInt16(truncatingIfNeeded: a)) << 8 | UInt64(UInt8(truncatingIfNeeded: k))
            << 24
            | UInt64(UInt16(truncatingIfNeeded: b)) << 32 | UInt64(UInt16(truncatingIfNeeded: c)) << 48
    }

    init(_ op: Opcode, a: Int = 0, bx: Int, k: Int = 0) {
        word =
            UInt64(op.rawValue) | UInt64(UInt16(truncatingIfNeeded: a)) << 8 | UInt64(UInt8(truncatingIfNeeded: k))
            << 24
            | UInt64(UInt32(truncatingIfNeeded: bx)) << 32
    }

    var opcode: Opcode { Opcode(rawValue: UInt8(truncatingIfNeeded: word)) ?? .nop }
    var a: Int { Int(UInt16(truncatingIfNeeded: word >> 8)) }
    var k: Int { Int(UInt8(truncatingIfNeeded: word >> 24)) }
    var b: Int { Int(UInt16(truncatingIfNeeded: word >> 32)) }
    var c: Int { Int(UInt16(truncatingIfNeeded: word >> 48)) }
    var sB: Int { Int(Int16(truncatingIfNeeded: word >> 32)) }
    var sC: Int { Int(Int16(truncatingIfNeeded: word >> 48)) }
    var bx: Int { Int(UInt32(truncatingIfNeeded: word >> 32)) }
    var sBx: Int { Int(Int32(truncatingIfNeeded: word >> 32)) }

    /// The jump offset of a jump instruction, if it is one.
    var jumpOffset: Int? {
        switch opcode {
        case .jump, .jumpIfTrue, .jumpIfFalse, .forPrep, .forLoop: sBx
        case .jumpIfLtInt, .jumpIfLeInt, .jumpIfEqInt, .jumpIfNeInt, .jumpIfLtImm, .jumpIfLeImm, .jumpIfGtImm,
            .jumpIfGeImm, .jumpIfEqImm, .jumpIfNeImm, .recvOrJump:
            sC
        default: nil
        }
    }
}

/// Sub-operations carried in K.
enum MathOp: UInt8 {
    case min = 0
    case max = 1
    case abs = 2
    case sqrt = 3
    case exp, log, sin, cos, tanh, floor, ceil, round
    /// pow(R[B], R[C])
    case pow

    init(_ f: ElementwiseMath) {
        switch f {
        case .exp: self = .exp
        case .log: self = .log
        case .sin: self = .sin
        case .cos: self = .cos
        case .tanh: self = .tanh
        case .floor: self = .floor
        case .ceil: self = .ceil
        case .round: self = .round
        }
    }
    /// K = op << 2 | element kind
    static func pack(_ op: MathOp, _ kind: ElementKind) -> Int { Int(op.rawValue) << 2 | Int(kind.rawValue) }
}

enum CompareOp: UInt8, Hashable {
    case eq = 0
    case ne = 1
    case lt = 2
    case le = 3

    var name: String {
        switch self {
        case .eq: "eq"
        case .ne: "ne"
        case .lt: "lt"
        case .le: "le"
        }
    }
}

/// K of `compare`: op << 3 | operand class (0 float, 1 f32, 2 str, 3 int/bool).
enum CompareClass: UInt8 {
    case float = 0
    case f32 = 1
    case str = 2
    case int = 3
}

/// K of `convert`: from << 4 | to (element kinds).
enum Conversion {
    static func pack(from: ElementKind, to: ElementKind) -> Int { Int(from.rawValue) << 4 | Int(to.rawValue) }
}

/// K of SIMD instructions: op << 1 | (0 f32x8, 1 f64x4).
enum SimdOp: UInt8 {
    case add = 0
    case sub, mul, div, min, max, sqrt, abs, neg
    case exp, log, sin, cos, tanh, floor, ceil, round
    case pow

    init(_ f: ElementwiseMath) {
        switch f {
        case .exp: self = .exp
        case .log: self = .log
        case .sin: self = .sin
        case .cos: self = .cos
        case .tanh: self = .tanh
        case .floor: self = .floor
        case .ceil: self = .ceil
        case .round: self = .round
        }
    }
    static func pack(_ op: SimdOp, isF64: Bool) -> Int { Int(op.rawValue) << 1 | (isF64 ? 1 : 0) }
}

enum ReductionOp: UInt8, Hashable {
    case sum = 0
    case min = 1
    case max = 2
    /// Of bool lanes: the number of true lanes (int), whether any / all are true (bool).
    case count = 3
    case any = 4
    case all = 5
    var name: String {
        switch self {
        case .sum: "sum"
        case .min: "min"
        case .max: "max"
        case .count: "count"
        case .any: "any"
        case .all: "all"
        }
    }
}

/// K of `simdMask`.
enum MaskOp: UInt8 {
    case not = 0
    case and = 1
    case or = 2
}

/// Built-in operations dispatched through the `builtin` opcode (K).
enum BuiltinOp: UInt8 {
    case iota, fill, convertArray, lengthStr
}

/// K of `io`: the input and output built-ins (Interpreter/IOBuiltins.swift).
enum IOOp: UInt8 {
    /// R[A] = number of program arguments
    case argc
    /// O[A] = argument R[B] (error when out of range)
    case arg
    /// O[A] = next line of input (error at its end)
    case readLine
    /// R[A] = whether the input has ended
    case eof
    /// O[A] = text of the file named O[B]
    case readFile
    /// file O[B] = text O[B+1] (through a temporary file)
    case writeFile
    /// O[A] = 1-D .npy array of element kind C from file O[B]
    case load
    /// .npy file O[B] = array O[B+1] (through a temporary file)
    case save
    /// R[A] = the str O[B] parsed as element kind C (error if it is not a number)
    case parseNumber
    /// prints the value at B of type TYPES[C], a str quoted (the REPL's display of a value)
    case echo
}
