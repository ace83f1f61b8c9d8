// Compiler: checked AST → register bytecode (one `Function` per .vec function plus the main chunk).
//
// Registers are allocated like a stack (Lua's habit): each local gets the next free register(s) for the
// rest of its block; temporaries live above the locals and are reused after each statement. A scalar
// takes one slot, a SIMD value four consecutive slots, a reference one object slot. A call places its
// arguments in consecutive registers at the top of the caller's frame; the callee's frame starts there,
// so arguments are passed without copying, and the result comes back in the first of them.
//
// Every elementwise array expression becomes one `kernel` instruction (see Kernel.swift): the compiler
// walks the maximal tree of elementwise operations, evaluates its leaves (arrays and scalars) left to
// right into registers, and records a KernelProgram with the registers of its inputs.

struct CompileFailure: Error {
    var diagnostics: [Diagnostic]
}

/// Where a global lives and how many there are; kept across REPL compilations.
struct GlobalLayout {
    var scalarSlots = 0
    var objectSlots = 0
    var globals: [GlobalInfo] = []
    static let maxScalarSlots = 1 << 16
    static let maxObjectSlots = 1 << 16
}

final class Compiler {
    /// Whether elementwise lets and functions are fused into the kernels that use them (KernelFusion);
    /// tests turn it off to compare.
    @TaskLocal static var fusesKernels = true

    let file: SourceFile
    let program: Program
    var layout: GlobalLayout
    let interactive: Bool
    /// Registers the arguments of each host function take (the VM's, when the compiler is given them):
    /// for the verifier's check of `callHost`.
    var hostArgumentSlots: [Int]?
    private(set) var diagnostics: [Diagnostic] = []

    init(file: SourceFile, layout: GlobalLayout, interactive: Bool) {
        self.file = file
        self.program = Program(file: file)
        self.layout = layout
        self.interactive = interactive
    }

    func error(_ message: String, at loc: SourceLocation) {
        diagnostics.append(Diagnostic(file: file, location: loc, message: message))
    }

    /// Compiles a checked unit. `functions` are the file's functions in index order (1...).
    func compile(_ unit: SourceUnit, functions: [FunctionDecl], externs: [ExternDecl] = [], existing: [Function] = [])
        throws(CompileFailure) -> Program
    {
        program.externs = externs.compactMap(\.foreign)
        // Slots for the file's globals: top-level variables that functions use (all of them in a REPL).
        let mainDecl = unit.statements.filter { !($0 is FunctionDecl) && !($0 is ExternDecl) }
        program.functions = [Function(name: "main", index: 0, location: SourceLocation(line: 1, column: 1))]
        program.functions += existing.dropFirst()
        for f in functions where f.index >= program.functions.count {
            while program.functions.count < f.index {
                program.functions.append(Function(name: "?", index: program.functions.count, location: .unknown))
            }
            program.functions.append(Function(name: f.name, index: f.index, location: f.nameLocation))
        }
        for f in program.functions where f.index == 0 || f.index >= existing.count { f.file = file }
        let mainCompiler = FunctionCompiler(compiler: self, function: program.functions[0])
        mainCompiler.compileMain(mainDecl)
        for f in functions {
            let fc = FunctionCompiler(compiler: self, function: program.functions[f.index])
            fc.compileFunction(f)
        }
        program.globals = layout.globals
        if !diagnostics.isEmpty { throw CompileFailure(diagnostics: diagnostics) }
        try verify([program.functions[0]] + functions.map { program.functions[$0.index] })
        // Functions of earlier compilations (a REPL's `existing`) are finalized already and may be
        // running in tasks those inputs started: finalizing them again would free their code.
        for f in program.functions where f.index == 0 || f.index >= existing.count { f.finalize() }
        return program
    }

    /// Runs the verifier (Verifier.swift) over what this compilation made: the interpreter and the
    /// JIT trust it, so bytecode that fails is a compiler bug, reported as an internal error here
    /// rather than met as a crash at run time. It is cheap enough to run always: about 40 ns an
    /// instruction in a release build (0.09 ms for all of programs/, 2,184 instructions).
    private func verify(_ made: [Function]) throws(CompileFailure) {
        let tables = Verifier.Tables(program, hostArgumentSlots: hostArgumentSlots)
        do throws(VerificationError) {
            for f in made { try Verifier.verify(f, in: tables) }
        } catch {
            throw CompileFailure(diagnostics: [
                Diagnostic(
                    file: file, location: error.location,
                    message: "internal error: the compiler made invalid bytecode (\(error)); please report it")
            ])
        }
    }

    /// Assigns a global slot to a top-level variable.
    func allocateGlobal(_ v: Variable) {
        v.isGlobal = true
        if v.type.storage == .reference {
            v.slot = layout.objectSlots
            layout.objectSlots += 1
        } else {
            v.slot = layout.scalarSlots
            layout.scalarSlots += max(1, v.type.storage.slots)
        }
        if layout.scalarSlots > GlobalLayout.maxScalarSlots || layout.objectSlots > GlobalLayout.maxObjectSlots {
            error("too many global variables", at: v.declaration)
        }
        layout.globals.append(GlobalInfo(name: v.name, type: v.type, slot: v.slot))
    }
}

/// Compiles one function body.
final class FunctionCompiler {
    let compiler: Compiler
    let fn: Function

    var nextRegister = 0
    /// Registers below this hold live locals; temporaries are above.
    var localsTop = 0
    /// Highest temporary register that received a reference during the current statement.
    var refTempHigh = -1

    struct LabelState {
        var position: Int?
        var patches: [Int] = []
    }
    var labels: [LabelState] = []
    struct Loop {
        let breakLabel: Int
        let continueLabel: Int
    }
    var loops: [Loop] = []
    /// Fused compare-and-jump instructions have 16-bit offsets; if one does not fit, the function is
    /// compiled again without them.
    var shortJumps = true
    struct JumpTooFar: Error {}
    var jumpTooFar = false
    var location = SourceLocation.unknown
    /// Lets computed inside the kernels that use them (KernelFusion), by variable.
    var fused: [ObjectIdentifier: VarDecl] = [:]
    /// Index of each constant in `fn.constants` (a linear search made a literal of 65,535
    /// distinct floats quadratic).
    var constantIndex: [UInt64: Int] = [:]

    init(compiler: Compiler, function: Function) {
        self.compiler = compiler
        self.fn = function
    }

    /// A node the checker rejects reached the compiler: a compiler bug, reported as an internal error
    /// (as invalid bytecode is, Compiler.compile) rather than compiled to nothing.
    func internalError(_ problem: String, at loc: SourceLocation) {
        compiler.error("internal error: \(problem); please report it", at: loc)
    }

    // MARK: Entry points

    func compileMain(_ statements: [Stmt]) {
        compileBody {
            findFusedLets(statements)
            for s in statements { statement(s) }
            emit(Instruction(.ret0))
        }
    }

    func compileFunction(_ decl: FunctionDecl) {
        fn.parameterTypes = decl.parameterTypes
        fn.resultType = decl.resultType
        compileBody {
            for v in decl.parameterVariables {
                v.slot = nextRegister
                nextRegister += max(1, v.type.storage.slots)
                if v.type.storage == .reference { fn.usesReferences = true }
            }
            fn.parameterSlots = nextRegister
            localsTop = nextRegister
            fn.frameSize = max(fn.frameSize, nextRegister)
            findFusedLets(decl.body.statements)
            for s in decl.body.statements { statement(s) }
            location = decl.body.location
            emit(Instruction(.ret0))
        }
    }

    func compileBody(_ body: () -> Void) {
        for attempt in 0..<2 {
            fn.instructions = []
            fn.locations = []
            fn.constants = []
            constantIndex = [:]
            fn.strings = []
            fn.kernelSites = []
            fn.printSites = []
            fn.types = []
            fn.frameSize = 0
            fn.usesReferences = false
            nextRegister = 0
            localsTop = 0
            blockReferenceHigh = -1
            labels = []
            loops = []
            jumpTooFar = false
            shortJumps = attempt == 0
            body()
            resolveLabels()
            if !jumpTooFar { break }
        }
        if fn.frameSize > 65000 {
            compiler.error("function '\(fn.name)' needs more than 65000 registers", at: fn.location)
        }
    }

    // MARK: Emission

    @discardableResult
    func emit(_ ins: Instruction) -> Int {
        fn.instructions.append(ins)
        fn.locations.append(location)
        return fn.instructions.count - 1
    }

    func newLabel() -> Int {
        labels.append(LabelState())
        return labels.count - 1
    }

    func bind(_ label: Int) { labels[label].position = fn.instructions.count }

    func emitJump(_ ins: Instruction, to label: Int) {
        let at = emit(ins)
        labels[label].patches.append(at)
    }

    func resolveLabels() {
        for l in labels {
            guard let target = l.position else { continue }
            for at in l.patches {
                let offset = target - (at + 1)
                var ins = fn.instructions[at]
                let op = ins.opcode
                // The opcode table says where the offset goes: sBx (32 bits) or sC (16 bits).
                if op.info.jumpField == .bx {
                    ins = Instruction(op, a: ins.a, bx: offset, k: ins.k)
                } else {
                    guard offset >= Int(Int16.min) && offset <= Int(Int16.max) else {
                        jumpTooFar = true
                        continue
                    }
                    ins = Instruction(op, a: ins.a, b: ins.b, c: offset, k: ins.k)
                }
                fn.instructions[at] = ins
            }
        }
    }

    // MARK: Registers

    func allocate(_ type: VType) -> Int {
        let r = nextRegister
        nextRegister += max(1, type.storage.slots)
        fn.frameSize = max(fn.frameSize, nextRegister)
        if type.storage == .reference { fn.usesReferences = true }
        return r
    }

    func allocateSlots(_ n: Int) -> Int {
        let r = nextRegister
        nextRegister += n
        fn.frameSize = max(fn.frameSize, nextRegister)
        return r
    }

    /// Highest register that received a reference inside the innermost block being compiled.
    var blockReferenceHigh = -1

    func noteReference(_ r: Int) {
        fn.usesReferences = true
        if r >= localsTop { refTempHigh = max(refTempHigh, r) }
        blockReferenceHigh = max(blockReferenceHigh, r)
    }

    func constant(_ bits: UInt64) -> Int {
        if let i = constantIndex[bits] { return i }
        fn.constants.append(bits)
        constantIndex[bits] = fn.constants.count - 1
        return fn.constants.count - 1
    }

    func typeIndex(_ t: VType) -> Int {
        if let i = fn.types.firstIndex(of: t) { return i }
        fn.types.append(t)
        return fn.types.count - 1
    }

    /// Copies a value between registers of the given type.
    func move(_ type: VType, to dst: Int, from src: Int) {
        guard dst != src else { return }
        switch type.storage {
        case .scalar: emit(Instruction(.move, a: dst, b: src))
        case .simd: emit(Instruction(.move4, a: dst, b: src))
        case .reference:
            emit(Instruction(.moveRef, a: dst, b: src))
            noteReference(dst)
        case .none: break
        }
    }

}

extension Compiler {
    /// K of `recv`, `recvOrJump` and `wait`: the value's storage in bits 0-3 (what the interpreter
    /// reads), and in bits 4-7 what the value is, for the function JIT (FunctionLowering+Steps):
    /// 1 + the element kind of a scalar or an array, 1 for f32 lanes and 2 for f64 lanes of a SIMD
    /// value or mask, 0 for anything else.
    static func messageK(_ t: VType) -> Int {
        let code: Int
        switch t {
        case .f32x8, .m32x8: code = 1
        case .f64x4, .m64x4: code = 2
        default: code = t.elementKind.map { 1 + Int($0.rawValue) } ?? 0
        }
        return Int(t.storage.rawValue) | code << 4
    }
}
