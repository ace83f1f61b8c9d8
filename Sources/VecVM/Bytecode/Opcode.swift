// The opcode table: the single source of truth for the register bytecode (Lua's lopcodes.h habit).
// The compiler emits these, the interpreter executes them; the disassembler, the verifier
// (Verifier.swift), the compiler's jump patching and `Instruction.jumpOffset` / `successors(at:)` read
// each opcode's modes from `Opcode.info`: its format (the fields it shows), what each field holds (a
// register of some class and span, an immediate, a table index, a jump offset: `Operand`), what K
// holds, whether it writes A, and where control goes after it (`Flow`). Add an opcode here first.
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
    case addFloatK, subFloatK, mulFloatK, divFloatK
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

    /// Which fields an instruction uses and the order the disassembler shows them in: A, then B and C
    /// (two 16-bit fields) or Bx (one 32-bit field, B and C together), then K. Lua's iABC and iABx, with
    /// K made explicit. How a shown field reads (a register, a signed immediate, a jump target, an
    /// index) is its operand's business (`Info.a`, `.b`, `.c`); a field a format leaves out may still
    /// carry something nobody needs to see (K's type tags).
    enum Format {
        case none, a, ab, abc, abk, abck, aBx, bx

        var fields: [Field] {
            switch self {
            case .none: []
            case .a: [.a]
            case .ab: [.a, .b]
            case .abc: [.a, .b, .c]
            case .abk: [.a, .b, .k]
            case .abck: [.a, .b, .c, .k]
            case .aBx: [.a, .bx]
            case .bx: [.bx]
            }
        }

        /// Whether B and C make one 32-bit field, Bx (the operand `Info.b` describes it).
        var usesBx: Bool {
            switch self {
            case .aBx, .bx: true
            case .none, .a, .ab, .abc, .abk, .abck: false
            }
        }
    }

    /// A field of the instruction word (see the diagram above).
    enum Field {
        case a, b, c, bx, k

        var name: String {
            switch self {
            case .a: "A"
            case .b: "B"
            case .c: "C"
            case .bx: "Bx"
            case .k: "K"
            }
        }
    }

    /// The registers R, O and V of the semantics lines. Scalar and object registers are numbered
    /// alike: register x of a frame has a scalar slot R[x] and an object slot O[x].
    enum RegisterClass {
        /// R[x]: a 64-bit scalar.
        case scalar
        /// O[x]: a reference (str, array, task, channel).
        case object
        /// V[x]: the SIMD value in R[x..x+3].
        case simd
        /// R[x] or O[x], as K says (`compare` of strs reads objects).
        case scalarOrObject

        /// Registers one value of the class takes.
        var slots: Int { self == .simd ? 4 : 1 }
    }

    /// The tables an index field points into: the function's own, the program's, the VM's.
    enum Table {
        case constants, strings, kernelSites, printSites, types
        case scalarGlobals, objectGlobals, functions, externs, hostFunctions
    }

    /// What one field holds (Lua's OpArgMask, with register classes and tables spelled out).
    enum Operand: Equatable {
        /// Nothing is read (zero by convention: `print` still shows its A).
        case unused
        /// `count` values of the class, one after the other (a V value takes 4 registers).
        case registers(RegisterClass, count: Int = 1)
        /// As many values of the class as field `lengthIn` says.
        case run(RegisterClass, lengthIn: Field)
        /// A value whose storage K's low 4 bits say (ValueStorage: none, R, V or O): messages of
        /// channels and results of tasks.
        case storedValue
        /// Registers that depend on K or on a table (a call's frame, a builtin's or an io operation's
        /// operands, a kernel's result, a formatted value): the verifier checks each such opcode its
        /// own way (Verifier.swift).
        case variable
        /// A signed immediate: sB, sC or sBx.
        case immediate
        /// An unsigned count or code (a run's length, an element kind).
        case count
        /// An index of `width` entries of a table.
        case index(Table, width: Int = 1)
        /// A jump offset (sC or sBx): the target is pc + 1 + offset.
        case jump

        static let scalar = Operand.registers(.scalar)
        static let object = Operand.registers(.object)
        static let simd = Operand.registers(.simd)

        /// Whether the field reads as a signed number.
        var isSigned: Bool { self == .immediate || self == .jump }
    }

    /// What K holds.
    enum KOperand: Equatable {
        /// Nothing (zero).
        case unused
        /// The value's element kind or lane type, for the function JIT; the interpreter does not read it.
        case typeTag
        /// An operation and the type it works on, packed (MathOp, CompareOp and CompareClass, SimdOp,
        /// Conversion, ReductionOp, MaskOp, a lane shape).
        case operation
        /// The ElementKind of the array it makes.
        case elementKind
        /// Flags (kernel: bit 0, the destination's buffer may be reused).
        case flags
        /// ValueStorage in bits 0-3: what a `storedValue` operand is.
        case storage
        /// A BuiltinOp.
        case builtin
        /// An IOOp.
        case io

        var name: String {
            switch self {
            case .unused: "unused"
            case .typeTag: "type tag"
            case .operation: "operation"
            case .elementKind: "element kind"
            case .flags: "flags"
            case .storage: "value storage"
            case .builtin: "builtin operation"
            case .io: "input or output operation"
            }
        }
    }

    /// Where control goes after the instruction (besides a runtime error).
    enum Flow {
        /// To the next instruction.
        case next
        /// To the jump target only.
        case jump
        /// To the next instruction or the jump target.
        case branch
        /// Out of the function.
        case returns
    }

    /// One row of the table: Lua's `opmodes` entry and the semantics line of `lopcodes.h` together.
    struct Info {
        let format: Format
        let flow: Flow
        /// Whether the registers A names are written (Lua's "sets register A"): all of them, except
        /// `forLoop`'s limit R[A+1], which it only reads; on the way to the next instruction (a
        /// `recvOrJump` that jumps writes nothing). A `.variable` or `.storedValue` A may name no
        /// register at all (a void call or wait, `write_file`).
        let writesA: Bool
        /// What A holds.
        let a: Operand
        /// What B holds, or Bx in the formats that have it.
        let b: Operand
        /// What C holds (unused in the formats with Bx).
        let c: Operand
        let k: KOperand
        /// Whether it must run in a VM task: it parks, yields or wakes tasks (Opcode.needsTask).
        let needsTask: Bool
        let semantics: String

        /// An instruction that only reads A (or has none).
        init(
            _ format: Format, flow: Flow = .next, a: Operand = .unused, b: Operand = .unused, c: Operand = .unused,
            k: KOperand = .unused, task: Bool = false, _ semantics: String
        ) {
            self.format = format
            self.flow = flow
            self.writesA = false
            self.a = a
            self.b = b
            self.c = c
            self.k = k
            self.needsTask = task
            self.semantics = semantics
        }

        /// An instruction that writes the registers A names.
        init(
            _ format: Format, flow: Flow = .next, setsA a: Operand, b: Operand = .unused, c: Operand = .unused,
            k: KOperand = .unused, task: Bool = false, _ semantics: String
        ) {
            self.format = format
            self.flow = flow
            self.writesA = true
            self.a = a
            self.b = b
            self.c = c
            self.k = k
            self.needsTask = task
            self.semantics = semantics
        }

        /// What a field holds.
        func operand(_ field: Field) -> Operand {
            switch field {
            case .a: a
            case .b, .bx: b
            case .c: c
            case .k: .unused
            }
        }

        /// The field holding the jump offset, if the instruction jumps: C (sC) or Bx (sBx).
        var jumpField: Field? {
            if b == .jump { return .bx }
            if c == .jump { return .c }
            return nil
        }
    }

    /// The opcode's row of the table (built once: the verifier and the JIT's analyses ask per instruction).
    var info: Info { Opcode.table[Int(rawValue)] }

    private static let table: [Info] = allCases.map(\.definition)

    /// The table. Every case lists its operands; `Verifier` and `Disassembler` read nothing else.
    private var definition: Info {
        switch self {
        case .nop: Info(.none, "no operation")
        case .move: Info(.ab, setsA: .scalar, b: .scalar, "R[A] = R[B]")
        case .moveRef: Info(.ab, setsA: .object, b: .object, "O[A] = O[B]")
        case .move4: Info(.ab, setsA: .simd, b: .simd, "V[A] = V[B]")
        case .loadInt: Info(.aBx, setsA: .scalar, b: .immediate, "R[A] = sBx")
        case .loadConst:
            Info(
                .aBx, setsA: .scalar, b: .index(.constants), k: .typeTag,
                "R[A] = K[Bx] (K: the constant's element kind, 0 int 1 float 2 f32)")
        case .loadConst4: Info(.aBx, setsA: .simd, b: .index(.constants, width: 4), "V[A] = K[Bx..Bx+3]")
        case .loadString: Info(.aBx, setsA: .object, b: .index(.strings), "O[A] = STR[Bx]")
        case .clearRefs:
            Info(.ab, setsA: .run(.object, lengthIn: .b), b: .count, "O[A..<A+B] = nil (temporaries released)")
        case .getGlobal:
            Info(
                .aBx, setsA: .scalar, b: .index(.scalarGlobals), k: .typeTag,
                "R[A] = G[Bx] (error if not yet initialized; K: its element kind)")
        case .getGlobal4:
            Info(
                .aBx, setsA: .simd, b: .index(.scalarGlobals, width: 4), k: .typeTag,
                "V[A] = G[Bx..Bx+3] (error if not yet initialized; K: 1 for f64 lanes)")
        case .getGlobalRef:
            Info(
                .aBx, setsA: .object, b: .index(.objectGlobals), k: .typeTag,
                "O[A] = GO[Bx] (error if not yet initialized; K: 1 + element kind of an array, else 0)")
        case .setGlobal: Info(.aBx, a: .scalar, b: .index(.scalarGlobals), "G[Bx] = R[A]; marks it initialized")
        case .setGlobal4:
            Info(
                .aBx, a: .simd, b: .index(.scalarGlobals, width: 4), "G[Bx..Bx+3] = V[A]; marks it initialized")
        case .setGlobalRef:
            Info(.aBx, a: .object, b: .index(.objectGlobals), "GO[Bx] = O[A]; marks it initialized")
        case .addInt: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] &+ R[C] (int, wraps)")
        case .subInt: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] &- R[C]")
        case .mulInt: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] &* R[C]")
        case .divInt:
            Info(
                .abc, setsA: .scalar, b: .scalar, c: .scalar,
                "R[A] = R[B] / R[C] (truncates; error if R[C] == 0; min / -1 wraps)")
        case .modInt:
            Info(
                .abc, setsA: .scalar, b: .scalar, c: .scalar,
                "R[A] = R[B] % R[C] (sign of the dividend; error if R[C] == 0)")
        case .addIntImm: Info(.abc, setsA: .scalar, b: .scalar, c: .immediate, "R[A] = R[B] &+ sC")
        case .negInt: Info(.ab, setsA: .scalar, b: .scalar, "R[A] = 0 &- R[B]")
        case .addFloat: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] + R[C] (float)")
        case .subFloat: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] - R[C] (float)")
        case .mulFloat: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] * R[C] (float)")
        case .divFloat: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] / R[C] (float)")
        // Lua 5.4's K forms: a float literal operand read from the constants, not loaded into a register.
        case .addFloatK: Info(.abc, setsA: .scalar, b: .scalar, c: .index(.constants), "R[A] = R[B] + K[C] (float)")
        case .subFloatK: Info(.abc, setsA: .scalar, b: .scalar, c: .index(.constants), "R[A] = R[B] - K[C] (float)")
        case .mulFloatK: Info(.abc, setsA: .scalar, b: .scalar, c: .index(.constants), "R[A] = R[B] * K[C] (float)")
        case .divFloatK: Info(.abc, setsA: .scalar, b: .scalar, c: .index(.constants), "R[A] = R[B] / K[C] (float)")
        case .negFloat: Info(.ab, setsA: .scalar, b: .scalar, "R[A] = -R[B] (float)")
        case .addF32: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] + R[C] (f32)")
        case .subF32: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] - R[C] (f32)")
        case .mulF32: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] * R[C] (f32)")
        case .divF32: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] / R[C] (f32)")
        case .negF32: Info(.ab, setsA: .scalar, b: .scalar, "R[A] = -R[B] (f32)")
        case .scalarMath:
            Info(
                .abck, setsA: .scalar, b: .scalar, c: .scalar, k: .operation,
                "R[A] = MathOp(K)(R[B], R[C]) (min max abs sqrt exp log ... pow on K's type)")
        case .scalarFma:
            Info(
                .abk, setsA: .scalar, b: .registers(.scalar, count: 3), k: .operation,
                "R[A] = fma(R[B], R[B+1], R[B+2]) on type K (int: wrapping a*b+c)")
        case .ltInt: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] < R[C] (int)")
        case .leInt: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] <= R[C] (int)")
        case .eqInt: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] == R[C] (int, bool)")
        case .neInt: Info(.abc, setsA: .scalar, b: .scalar, c: .scalar, "R[A] = R[B] != R[C] (int, bool)")
        case .compare:
            Info(
                .abck, setsA: .scalar, b: .registers(.scalarOrObject), c: .registers(.scalarOrObject),
                k: .operation, "R[A] = Compare(K)(B, C) (float, f32 on R; str on O)")
        case .not: Info(.ab, setsA: .scalar, b: .scalar, "R[A] = !R[B]")
        case .jump: Info(.bx, flow: .jump, b: .jump, "pc += sBx")
        case .jumpIfTrue: Info(.aBx, flow: .branch, a: .scalar, b: .jump, "if R[A] { pc += sBx }")
        case .jumpIfFalse: Info(.aBx, flow: .branch, a: .scalar, b: .jump, "if !R[A] { pc += sBx }")
        case .jumpIfLtInt: Info(.abc, flow: .branch, a: .scalar, b: .scalar, c: .jump, "if R[A] < R[B] { pc += sC }")
        case .jumpIfLeInt: Info(.abc, flow: .branch, a: .scalar, b: .scalar, c: .jump, "if R[A] <= R[B] { pc += sC }")
        case .jumpIfEqInt: Info(.abc, flow: .branch, a: .scalar, b: .scalar, c: .jump, "if R[A] == R[B] { pc += sC }")
        case .jumpIfNeInt: Info(.abc, flow: .branch, a: .scalar, b: .scalar, c: .jump, "if R[A] != R[B] { pc += sC }")
        case .jumpIfLtImm: Info(.abc, flow: .branch, a: .scalar, b: .immediate, c: .jump, "if R[A] < sB { pc += sC }")
        case .jumpIfLeImm: Info(.abc, flow: .branch, a: .scalar, b: .immediate, c: .jump, "if R[A] <= sB { pc += sC }")
        case .jumpIfGtImm: Info(.abc, flow: .branch, a: .scalar, b: .immediate, c: .jump, "if R[A] > sB { pc += sC }")
        case .jumpIfGeImm: Info(.abc, flow: .branch, a: .scalar, b: .immediate, c: .jump, "if R[A] >= sB { pc += sC }")
        case .jumpIfEqImm: Info(.abc, flow: .branch, a: .scalar, b: .immediate, c: .jump, "if R[A] == sB { pc += sC }")
        case .jumpIfNeImm: Info(.abc, flow: .branch, a: .scalar, b: .immediate, c: .jump, "if R[A] != sB { pc += sC }")
        case .forPrep:
            Info(
                .aBx, flow: .branch, a: .registers(.scalar, count: 2), b: .jump,
                "if !(R[A] < R[A+1]) { pc += sBx } (range loop entry)")
        case .forLoop:
            Info(
                .aBx, flow: .branch, setsA: .registers(.scalar, count: 2), b: .jump,
                "R[A] += 1; if R[A] < R[A+1] { pc += sBx } (range loop back-edge)")
        case .convert:
            Info(.abk, setsA: .scalar, b: .scalar, k: .operation, "R[A] = Conversion(K)(R[B]) (int/float/f32 scalars)")
        case .call:
            Info(
                .aBx, setsA: .variable, b: .index(.functions),
                "call function Bx with its frame at R[A] (arguments in place); result in R[A]")
        case .callExtern:
            Info(
                .aBx, setsA: .variable, b: .index(.externs),
                "call extern Bx (C, through libffi) with arguments at A; result in R[A]")
        case .callHost:
            Info(
                .aBx, setsA: .variable, b: .index(.hostFunctions),
                "call host function Bx with arguments at A; result at A")
        case .ret0: Info(.none, flow: .returns, "return (no value)")
        case .ret: Info(.a, flow: .returns, a: .scalar, "return R[A]")
        case .retRef: Info(.a, flow: .returns, a: .object, "return O[A]")
        case .ret4: Info(.a, flow: .returns, a: .simd, "return V[A]")
        case .getInt: Info(.abc, setsA: .scalar, b: .object, c: .scalar, "R[A] = O[B][R[C]] ([int]; bounds checked)")
        case .getFloat: Info(.abc, setsA: .scalar, b: .object, c: .scalar, "R[A] = O[B][R[C]] ([float])")
        case .getF32: Info(.abc, setsA: .scalar, b: .object, c: .scalar, "R[A] = O[B][R[C]] ([f32])")
        case .getBool: Info(.abc, setsA: .scalar, b: .object, c: .scalar, "R[A] = O[B][R[C]] ([bool]: 0 or 1)")
        case .setInt: Info(.abc, a: .object, b: .scalar, c: .scalar, "O[A][R[B]] = R[C] ([int]; bounds checked)")
        case .setFloat: Info(.abc, a: .object, b: .scalar, c: .scalar, "O[A][R[B]] = R[C] ([float])")
        case .setF32: Info(.abc, a: .object, b: .scalar, c: .scalar, "O[A][R[B]] = R[C] ([f32])")
        case .setBool: Info(.abc, a: .object, b: .scalar, c: .scalar, "O[A][R[B]] = R[C] ([bool])")
        case .length: Info(.ab, setsA: .scalar, b: .object, "R[A] = len(O[B])")
        case .slice:
            Info(
                .abc, setsA: .object, b: .object, c: .registers(.scalar, count: 2),
                "O[A] = copy of O[B][R[C] ..< R[C+1]]")
        case .arrayLiteral:
            Info(
                .abck, setsA: .object, b: .run(.scalar, lengthIn: .c), c: .count, k: .elementKind,
                "O[A] = new [K] array of the C values R[B..<B+C]")
        case .kernel:
            Info(
                .abk, setsA: .variable, b: .index(.kernelSites), k: .flags,
                "run kernel site B; result in O[A] (array) or R[A] (reduction); K&1: may reuse O[A]'s buffer")
        case .checkLengths:
            Info(
                .ab, a: .run(.object, lengthIn: .b), b: .count,
                "error unless the arrays O[A..<A+B] have one length (a fused let's check)")
        case .builtin:
            Info(
                .abck, setsA: .variable, b: .variable, c: .variable, k: .builtin,
                "R/O[A] = Builtin(K)(arguments from B, C of them)")
        case .print: Info(.aBx, b: .index(.printSites), "print the values of print site Bx")
        case .concat: Info(.abc, setsA: .object, b: .object, c: .object, "O[A] = O[B] + O[C] (str)")
        case .format:
            Info(.abc, setsA: .object, b: .variable, c: .index(.types), "O[A] = str(value at B of type TYPES[C])")
        case .simdBinary:
            Info(.abck, setsA: .simd, b: .simd, c: .simd, k: .operation, "V[A] = SimdOp(K)(V[B], V[C])")
        case .simdUnary: Info(.abk, setsA: .simd, b: .simd, k: .operation, "V[A] = SimdOp(K)(V[B])")
        case .simdFma:
            Info(
                .abk, setsA: .simd, b: .registers(.simd, count: 3), k: .operation,
                "V[A] = fma(V[B], V[B+4], V[B+8]) (type K)")
        case .splat:
            Info(.abk, setsA: .simd, b: .scalar, k: .operation, "V[A] = all lanes R[B] (K: 0 f32x8, 1 f64x4)")
        case .vload:
            Info(
                .abck, setsA: .simd, b: .object, c: .scalar, k: .operation,
                "V[A] = lanes of O[B] from index R[C] (bounds checked)")
        case .vstore:
            Info(
                .abck, a: .object, b: .scalar, c: .simd, k: .operation,
                "lanes of O[A] from index R[B] = V[C] (bounds checked)")
        case .lane:
            Info(
                .abck, setsA: .scalar, b: .simd, c: .scalar, k: .operation,
                "R[A] = lane R[C] of V[B] (checked; K: 0 f32x8, 1 f64x4, 2 m32x8, 3 m64x4)")
        case .simdReduce:
            Info(
                .abk, setsA: .scalar, b: .simd, k: .operation,
                "R[A] = Reduction(K)(V[B]) (fixed pairwise order; count/any/all of masks)")
        case .simdCompare:
            Info(
                .abck, setsA: .simd, b: .simd, c: .simd, k: .operation,
                "V[A] = mask of Compare(K)(V[B], V[C]) (K = op << 1 | f64)")
        case .simdMask:
            Info(
                .abck, setsA: .simd, b: .simd, c: .simd, k: .operation,
                "V[A] = MaskOp(K)(V[B], V[C]) (not, and, or: bitwise)")
        case .simdSelect:
            Info(
                .abc, setsA: .simd, b: .simd, c: .registers(.simd, count: 2),
                "V[A] = mask V[B] ? V[C] : V[C+4], lane by lane")
        case .spawn:
            Info(
                .abc, setsA: .object, b: .variable, c: .index(.functions), task: true,
                "O[A] = spawn function C with arguments moved from R[B..]")
        case .wait:
            Info(
                .abk, setsA: .storedValue, b: .object, k: .storage, task: true,
                "A = result of task O[B] (storage K), after it ends")
        case .makeChan: Info(.ab, setsA: .object, b: .scalar, "O[A] = channel with capacity R[B]")
        case .send:
            Info(
                .abk, a: .object, b: .storedValue, k: .storage, task: true,
                "send the value at B (storage K) on channel O[A]")
        case .recv:
            Info(
                .abk, setsA: .storedValue, b: .object, k: .storage, task: true,
                "A = receive from channel O[B] (storage K); error if closed and drained")
        case .recvOrJump:
            Info(
                .abck, flow: .branch, setsA: .storedValue, b: .object, c: .jump, k: .storage, task: true,
                "A = receive from O[B] (storage K); if closed and drained { pc += sC }")
        case .close: Info(.a, a: .object, task: true, "close channel O[A]")
        case .yield: Info(.none, task: true, "let other tasks run")
        case .sleep: Info(.a, a: .scalar, task: true, "block this task for R[A] milliseconds")
        case .now: Info(.a, setsA: .scalar, "R[A] = monotonic clock in nanoseconds")
        case .io:
            Info(
                .abck, setsA: .variable, b: .variable, c: .variable, k: .io,
                "A = IOOp(K)(operands from B; C: element kind or type index), see IOOp")
        }
    }

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

    /// The value of a field as its operand reads it: signed for immediates and jump offsets.
    func value(of field: Opcode.Field, as operand: Opcode.Operand) -> Int {
        switch field {
        case .a: a
        case .b: operand.isSigned ? sB : b
        case .c: operand.isSigned ? sC : c
        case .bx: operand.isSigned ? sBx : bx
        case .k: k
        }
    }

    /// The jump offset of a jump instruction, if it is one (from the field the table says: sC or sBx).
    var jumpOffset: Int? {
        switch opcode.info.jumpField {
        case .c: sC
        case .bx: sBx
        case .a, .b, .k, nil: nil
        }
    }

    /// Where control may go after this instruction at `pc`: the next instruction, the jump target, both,
    /// or nowhere (a return). Targets are not checked against the function (Verifier does that).
    func successors(at pc: Int) -> Successors {
        let info = opcode.info
        switch info.flow {
        case .next: return Successors(fallThrough: pc + 1, target: nil)
        case .jump: return Successors(fallThrough: nil, target: pc + 1 + (jumpOffset ?? 0))
        case .branch: return Successors(fallThrough: pc + 1, target: pc + 1 + (jumpOffset ?? 0))
        case .returns: return Successors(fallThrough: nil, target: nil)
        }
    }

    /// Up to two pcs, without an array: the fall-through first, then the jump target.
    struct Successors: Sequence, IteratorProtocol, Equatable {
        var fallThrough: Int?
        var target: Int?

        mutating func next() -> Int? {
            if let n = fallThrough {
                fallThrough = nil
                return n
            }
            defer { target = nil }
            return target
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
