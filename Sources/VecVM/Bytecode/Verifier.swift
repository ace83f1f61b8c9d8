// The bytecode verifier: checks what the interpreter and the function JIT take on trust, reading the
// operands of each opcode from the opcode table (Opcode.info). Every register an instruction names lies
// inside its function's frame, with its span (4 registers for a SIMD value, a run's length, a call's
// window); every jump lands on an instruction of the function; every index is inside its table; control
// cannot run off the end of a function. The compiler runs it on every function it makes
// (Compiler.compile): a failure is a compiler bug, reported as an internal error rather than found as a
// crash at run time. It reads functions and tables and changes nothing.
//
// Not checked: types (whether a register holds what the opcode expects; the JIT infers kinds itself),
// K's packed operations (every value the compiler makes is defined), fields an opcode does not use,
// and whether a register is written before it is read.

/// Why a function failed verification.
struct VerificationError: Error, CustomStringConvertible {
    var function: String
    /// The instruction at fault, or nil for the function as a whole.
    var pc: Int?
    /// The instruction's opcode and operands, as the disassembler shows them.
    var instruction: String?
    var message: String
    /// Where the instruction (or the function) came from.
    var location: SourceLocation

    var description: String {
        guard let pc, let instruction else { return "function '\(function)': \(message)" }
        return "function '\(function)', pc \(pc) (\(instruction)): \(message)"
    }
}

enum Verifier {
    /// What instructions refer to outside their own function.
    struct Tables {
        var functions: [Function]
        /// Registers the arguments of each extern function take.
        var externArgumentSlots: [Int]
        /// Registers the arguments of each host function take; nil where they are not known (then host
        /// indices are not checked, and a host call's window is its first register).
        var hostArgumentSlots: [Int]?
        var scalarGlobalSlots: Int
        var objectGlobalSlots: Int

        init(
            functions: [Function], externArgumentSlots: [Int] = [], hostArgumentSlots: [Int]? = nil,
            scalarGlobalSlots: Int = 0, objectGlobalSlots: Int = 0
        ) {
            self.functions = functions
            self.externArgumentSlots = externArgumentSlots
            self.hostArgumentSlots = hostArgumentSlots
            self.scalarGlobalSlots = scalarGlobalSlots
            self.objectGlobalSlots = objectGlobalSlots
        }

        init(_ program: Program, hostArgumentSlots: [Int]? = nil) {
            var scalars = 0
            var objects = 0
            for g in program.globals {
                if g.type.storage == .reference {
                    objects = max(objects, g.slot + 1)
                } else {
                    scalars = max(scalars, g.slot + max(1, g.type.storage.slots))
                }
            }
            self.init(
                functions: program.functions,
                externArgumentSlots: program.externs.map { Verifier.argumentSlots($0.parameterTypes) },
                hostArgumentSlots: hostArgumentSlots, scalarGlobalSlots: scalars, objectGlobalSlots: objects)
        }
    }

    /// Registers arguments of these types take, one after the other (as the compiler places them).
    static func argumentSlots(_ types: [VType]) -> Int { types.reduce(0) { $0 + max(1, $1.storage.slots) } }

    /// Verifies every function of `program`.
    static func verify(_ program: Program, hostArgumentSlots: [Int]? = nil) throws(VerificationError) {
        let tables = Tables(program, hostArgumentSlots: hostArgumentSlots)
        for f in program.functions { try verify(f, in: tables) }
    }

    /// Verifies one function against the tables it refers to.
    static func verify(_ function: Function, in tables: Tables) throws(VerificationError) {
        var checker = FunctionVerifier(function: function, tables: tables)
        try checker.run()
    }
}

/// The checks of one function, instruction by instruction.
private struct FunctionVerifier {
    let function: Function
    let tables: Verifier.Tables
    let frame: Int
    let count: Int
    var pc = 0
    var ins = Instruction(word: 0)

    init(function: Function, tables: Verifier.Tables) {
        self.function = function
        self.tables = tables
        frame = function.frameSize
        count = function.instructions.count
    }

    mutating func run() throws(VerificationError) {
        guard count > 0 else {
            throw VerificationError(
                function: function.name, pc: nil, instruction: nil,
                message: "the function has no instructions (control runs off its end)", location: function.location)
        }
        for at in 0..<count {
            pc = at
            ins = function.instructions[at]
            guard let op = Opcode(rawValue: UInt8(truncatingIfNeeded: ins.word)) else {
                throw failure("unknown opcode \(UInt8(truncatingIfNeeded: ins.word))")
            }
            let info = op.info
            try checkK(info.k)
            try check(info.a, in: .a)
            try check(info.b, in: info.format.usesBx ? .bx : .b)
            try check(info.c, in: .c)
            try checkVariableOperands(op)
        }
        switch function.instructions[count - 1].opcode.info.flow {
        case .jump, .returns: break
        case .next, .branch:
            throw failure("the last instruction can fall off the end of the function (it is not a return or a jump)")
        }
    }

    func failure(_ message: String) -> VerificationError {
        VerificationError(
            function: function.name, pc: pc,
            instruction: Opcode(rawValue: UInt8(truncatingIfNeeded: ins.word)) == nil
                ? "opcode \(UInt8(truncatingIfNeeded: ins.word))"
                : (ins.opcode.name + " " + Disassembler.operands(ins, at: pc)).trimmingTrailingSpaces(),
            message: message, location: pc < function.locations.count ? function.locations[pc] : function.location)
    }

    // MARK: Operands of the table

    func check(_ operand: Opcode.Operand, in field: Opcode.Field) throws(VerificationError) {
        let value = ins.value(of: field, as: operand)
        switch operand {
        case .unused, .immediate, .count, .variable:
            break
        case .registers(let registerClass, let n):
            try registers(value, slots: registerClass.slots * n, "operand \(field.name)")
        case .run(let registerClass, let lengthField):
            try registers(
                value, slots: registerClass.slots * ins.value(of: lengthField, as: .count), "operand \(field.name)")
        case .storedValue:
            try registers(value, slots: storage.slots, "operand \(field.name)")
        case .index(let table, let width):
            try index(value, width: width, of: table, "operand \(field.name)")
        case .jump:
            let target = pc + 1 + value
            guard target >= 0 && target < count else {
                throw failure(
                    "operand \(field.name) jumps to \(target), outside the function's instructions 0..<\(count)")
            }
        }
    }

    func checkK(_ k: Opcode.KOperand) throws(VerificationError) {
        let valid: Bool
        switch k {
        case .unused, .typeTag, .operation, .flags: valid = true
        case .elementKind: valid = ElementKind(rawValue: UInt8(ins.k)) != nil
        case .storage: valid = ValueStorage(rawValue: UInt8(ins.k & 15)) != nil
        case .builtin: valid = BuiltinOp(rawValue: UInt8(ins.k)) != nil
        case .io: valid = IOOp(rawValue: UInt8(ins.k)) != nil
        }
        if !valid { throw failure("K \(ins.k) is not a valid \(k.name)") }
    }

    /// The storage K names (checked by `checkK` first).
    var storage: ValueStorage { ValueStorage(rawValue: UInt8(ins.k & 15)) ?? .none }

    /// `slots` registers from `first` lie in the frame (nothing to check for none).
    func registers(_ first: Int, slots: Int, _ what: @autoclosure () -> String) throws(VerificationError) {
        guard slots > 0, first < 0 || first + slots > frame else { return }
        let named = slots == 1 ? "register \(first)" : "registers \(first)..<\(first + slots)"
        throw failure("\(what()) names \(named), outside the frame (\(frame) register\(frame == 1 ? "" : "s"))")
    }

    func index(_ i: Int, width: Int, of table: Opcode.Table, _ what: @autoclosure () -> String)
        throws(VerificationError)
    {
        let size: Int
        let name: String
        switch table {
        case .constants: (size, name) = (function.constants.count, "the function's constants")
        case .strings: (size, name) = (function.strings.count, "the function's strings")
        case .kernelSites: (size, name) = (function.kernelSites.count, "the function's kernel sites")
        case .printSites: (size, name) = (function.printSites.count, "the function's print sites")
        case .types: (size, name) = (function.types.count, "the function's types")
        case .scalarGlobals: (size, name) = (tables.scalarGlobalSlots, "the scalar global slots")
        case .objectGlobals: (size, name) = (tables.objectGlobalSlots, "the object global slots")
        case .functions: (size, name) = (tables.functions.count, "the program's functions")
        case .externs: (size, name) = (tables.externArgumentSlots.count, "the extern functions")
        case .hostFunctions:
            guard let host = tables.hostArgumentSlots else { return }
            (size, name) = (host.count, "the host functions")
        }
        guard i < 0 || i + width > size else { return }
        let entries = width == 1 ? "entry \(i)" : "entries \(i)..<\(i + width)"
        throw failure("\(what()) refers to \(entries) of \(name), which has \(size)")
    }

    func elementKind(_ code: Int, _ what: String) throws(VerificationError) {
        if ElementKind(rawValue: UInt8(truncatingIfNeeded: code)) == nil || code > 255 {
            throw failure("\(what) is \(code), not an element kind")
        }
    }

    // MARK: Operands that depend on K or on a table

    /// The registers of the `.variable` operands, opcode by opcode (indices are checked already).
    func checkVariableOperands(_ op: Opcode) throws(VerificationError) {
        switch op {
        case .call:
            let callee = tables.functions[ins.bx]
            let window = max(1, callee.parameterSlots, callee.resultType.storage.slots)
            try registers(ins.a, slots: window, "the call's arguments and result (operand A)")
        case .callExtern:
            try registers(ins.a, slots: max(1, tables.externArgumentSlots[ins.bx]), "the extern call's arguments (A)")
        case .callHost:
            let slots = tables.hostArgumentSlots.map { $0[ins.bx] } ?? 1
            try registers(ins.a, slots: max(1, slots), "the host call's arguments (A)")
        case .spawn:
            try registers(ins.b, slots: tables.functions[ins.c].parameterSlots, "the spawn's arguments (B)")
        case .kernel:
            try registers(ins.a, slots: 1, "operand A")
            let site = function.kernelSites[ins.b]
            for r in site.arrayRegisters { try registers(r, slots: 1, "an array input of kernel site \(ins.b)") }
            for r in site.scalarRegisters { try registers(r, slots: 1, "a scalar input of kernel site \(ins.b)") }
        case .print:
            for (r, type) in zip(function.printSites[ins.bx].registers, function.printSites[ins.bx].types) {
                try registers(r, slots: type.storage.slots, "a value of print site \(ins.bx)")
            }
        case .format:
            try registers(ins.b, slots: function.types[ins.c].storage.slots, "operand B")
        case .builtin:
            try checkBuiltin()
        case .io:
            try checkIO()
        case .nop, .move, .moveRef, .move4, .loadInt, .loadConst, .loadConst4, .loadString, .clearRefs,
            .getGlobal, .getGlobal4, .getGlobalRef, .setGlobal, .setGlobal4, .setGlobalRef,
            .addInt, .subInt, .mulInt, .divInt, .modInt, .addIntImm, .negInt,
            .addFloat, .subFloat, .mulFloat, .divFloat, .negFloat, .addFloatK, .subFloatK, .mulFloatK, .divFloatK,
            .addF32, .subF32, .mulF32, .divF32, .negF32, .scalarMath, .scalarFma,
            .ltInt, .leInt, .eqInt, .neInt, .compare, .not,
            .jump, .jumpIfTrue, .jumpIfFalse, .jumpIfLtInt, .jumpIfLeInt, .jumpIfEqInt, .jumpIfNeInt,
            .jumpIfLtImm, .jumpIfLeImm, .jumpIfGtImm, .jumpIfGeImm, .jumpIfEqImm, .jumpIfNeImm,
            .forPrep, .forLoop, .convert, .ret0, .ret, .retRef, .ret4,
            .getInt, .getFloat, .getF32, .getBool, .setInt, .setFloat, .setF32, .setBool, .length, .slice,
            .arrayLiteral, .checkLengths, .concat,
            .simdBinary, .simdUnary, .simdFma, .splat, .vload, .vstore, .lane, .simdReduce,
            .simdCompare, .simdMask, .simdSelect,
            .wait, .makeChan, .send, .recv, .recvOrJump, .close, .yield, .sleep, .now:
            break
        }
    }

    /// Interpreter+Builtins.swift's `builtin` cases.
    func checkBuiltin() throws(VerificationError) {
        guard let builtin = BuiltinOp(rawValue: UInt8(ins.k)) else { return }
        switch builtin {
        case .iota:
            try registers(ins.a, slots: 1, "operand A")
            try registers(ins.b, slots: 1, "operand B")
        case .fill:
            try registers(ins.a, slots: 1, "operand A")
            try registers(ins.b, slots: 2, "operand B (the count and the value)")
            try elementKind(ins.c, "operand C")
        case .convertArray:
            try registers(ins.a, slots: 1, "operand A")
            try registers(ins.b, slots: 1, "operand B")
            try elementKind(ins.c >> 4, "operand C's source kind")
            try elementKind(ins.c & 15, "operand C's result kind")
        case .lengthStr:
            try registers(ins.a, slots: 1, "operand A")
            try registers(ins.b, slots: 1, "operand B")
        }
    }

    /// IOBuiltins.execute's cases.
    func checkIO() throws(VerificationError) {
        guard let operation = IOOp(rawValue: UInt8(ins.k)) else { return }
        switch operation {
        case .argc, .eof, .readLine:
            try registers(ins.a, slots: 1, "operand A")
        case .arg, .readFile:
            try registers(ins.a, slots: 1, "operand A")
            try registers(ins.b, slots: 1, "operand B")
        case .writeFile, .save:
            try registers(ins.b, slots: 2, "operand B (the file name and what is written)")
        case .load, .parseNumber:
            try registers(ins.a, slots: 1, "operand A")
            try registers(ins.b, slots: 1, "operand B")
            try elementKind(ins.c, "operand C")
        case .echo:
            try index(ins.c, width: 1, of: .types, "operand C")
            try registers(ins.b, slots: function.types[ins.c].storage.slots, "operand B")
        }
    }
}
