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
        // Functions of earlier compilations (a REPL's `existing`) are finalized already and may be
        // running in tasks those inputs started: finalizing them again would free their code.
        for f in program.functions where f.index == 0 || f.index >= existing.count { f.finalize() }
        return program
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

    private var nextRegister = 0
    /// Registers below this hold live locals; temporaries are above.
    private var localsTop = 0
    /// Highest temporary register that received a reference during the current statement.
    private var refTempHigh = -1

    private struct LabelState {
        var position: Int?
        var patches: [Int] = []
    }
    private var labels: [LabelState] = []
    private struct Loop {
        let breakLabel: Int
        let continueLabel: Int
    }
    private var loops: [Loop] = []
    /// Fused compare-and-jump instructions have 16-bit offsets; if one does not fit, the function is
    /// compiled again without them.
    private var shortJumps = true
    private struct JumpTooFar: Error {}
    private var jumpTooFar = false
    private var location = SourceLocation.unknown
    /// Lets computed inside the kernels that use them (KernelFusion), by variable.
    private var fused: [ObjectIdentifier: VarDecl] = [:]
    /// Index of each constant in `fn.constants` (a linear search made a literal of 65,535
    /// distinct floats quadratic).
    private var constantIndex: [UInt64: Int] = [:]

    init(compiler: Compiler, function: Function) {
        self.compiler = compiler
        self.fn = function
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

    private func compileBody(_ body: () -> Void) {
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
    private func emit(_ ins: Instruction) -> Int {
        fn.instructions.append(ins)
        fn.locations.append(location)
        return fn.instructions.count - 1
    }

    private func newLabel() -> Int {
        labels.append(LabelState())
        return labels.count - 1
    }

    private func bind(_ label: Int) { labels[label].position = fn.instructions.count }

    private func emitJump(_ ins: Instruction, to label: Int) {
        let at = emit(ins)
        labels[label].patches.append(at)
    }

    private func resolveLabels() {
        for l in labels {
            guard let target = l.position else { continue }
            for at in l.patches {
                let offset = target - (at + 1)
                var ins = fn.instructions[at]
                let op = ins.opcode
                switch op {
                case .jump, .jumpIfTrue, .jumpIfFalse, .forPrep, .forLoop:
                    ins = Instruction(op, a: ins.a, bx: offset, k: ins.k)
                default:
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

    private func allocate(_ type: VType) -> Int {
        let r = nextRegister
        nextRegister += max(1, type.storage.slots)
        fn.frameSize = max(fn.frameSize, nextRegister)
        if type.storage == .reference { fn.usesReferences = true }
        return r
    }

    private func allocateSlots(_ n: Int) -> Int {
        let r = nextRegister
        nextRegister += n
        fn.frameSize = max(fn.frameSize, nextRegister)
        return r
    }

    /// Highest register that received a reference inside the innermost block being compiled.
    private var blockReferenceHigh = -1

    private func noteReference(_ r: Int) {
        fn.usesReferences = true
        if r >= localsTop { refTempHigh = max(refTempHigh, r) }
        blockReferenceHigh = max(blockReferenceHigh, r)
    }

    private func constant(_ bits: UInt64) -> Int {
        if let i = constantIndex[bits] { return i }
        fn.constants.append(bits)
        constantIndex[bits] = fn.constants.count - 1
        return fn.constants.count - 1
    }

    private func typeIndex(_ t: VType) -> Int {
        if let i = fn.types.firstIndex(of: t) { return i }
        fn.types.append(t)
        return fn.types.count - 1
    }

    /// Copies a value between registers of the given type.
    private func move(_ type: VType, to dst: Int, from src: Int) {
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

    // MARK: Statements

    private func statement(_ s: Stmt) {
        location = s.location
        let mark = nextRegister
        refTempHigh = -1
        statementBody(s)
        nextRegister = max(mark, localsTop)
        if refTempHigh >= localsTop {
            emit(Instruction(.clearRefs, a: localsTop, b: refTempHigh - localsTop + 1))
        }
        refTempHigh = -1
    }

    private func isGlobal(_ v: Variable) -> Bool {
        v.isTopLevel && fn.index == 0 && (v.usedByFunction || compiler.interactive) || v.isGlobal
    }

    private func findFusedLets(_ statements: [Stmt]) {
        guard Compiler.fusesKernels else { return }
        fused.merge(KernelFusion.fusableLets(statements, isGlobal: isGlobal)) { a, _ in a }
    }

    private func statementBody(_ s: Stmt) {
        switch s {
        case let d as VarDecl where d.variable.map { fused[ObjectIdentifier($0)] != nil } ?? false:
            // Computed where it is used; only the length check of its arrays stays here.
            var leaves: [Expr] = []
            for e in KernelFusion.arrayLeaves(d.value, fused) {
                let v = (e as? NameExpr)?.variable
                if !leaves.contains(where: { ($0 as? NameExpr)?.variable === v }) { leaves.append(e) }
            }
            if leaves.count > 1 {
                let base = consecutiveArguments(leaves)
                location = d.value.location
                emit(Instruction(.checkLengths, a: base, b: leaves.count))
            }
        case let d as VarDecl:
            guard let v = d.variable, v.type != .error else { return }
            if v.isTopLevel && fn.index == 0 && (v.usedByFunction || compiler.interactive) {
                compiler.allocateGlobal(v)
                let r = expr(d.value)
                location = d.location
                storeGlobal(v, from: r)
            } else {
                let r = allocate(v.type)
                v.slot = r
                v.isGlobal = false
                _ = expr(d.value, into: r)
                nextRegister = r + max(1, v.type.storage.slots)
                localsTop = nextRegister
            }
        case let a as AssignStmt:
            assignment(a)
        case let e as ExprStmt:
            _ = expr(e.expr, discard: true)
        case let b as BlockStmt:
            block(b)
        case let i as IfStmt:
            ifStatement(i)
        case let w as WhileStmt:
            let body = newLabel()
            let cond = newLabel()
            let end = newLabel()
            let isForever = (w.condition as? BoolLiteral)?.value == true
            if !isForever { emitJump(Instruction(.jump), to: cond) }
            bind(body)
            loops.append(Loop(breakLabel: end, continueLabel: cond))
            let bodyMark = nextRegister
            let outer = beginBlockReferences()
            blockContents(w.body)
            loops.removeLast()
            bind(cond)
            location = w.location
            if isForever {
                emitJump(Instruction(.jump), to: body)
            } else {
                branch(w.condition, jumpWhen: true, to: body)
            }
            bind(end)
            clearBlockReferences(from: bodyMark, outer: outer)
        case let f as ForStmt:
            forStatement(f)
        case is BreakStmt:
            if let l = loops.last { emitJump(Instruction(.jump), to: l.breakLabel) }
        case is ContinueStmt:
            if let l = loops.last { emitJump(Instruction(.jump), to: l.continueLabel) }
        case let r as ReturnStmt:
            if let v = r.value {
                let reg = expr(v)
                location = r.location
                switch v.type.storage {
                case .scalar: emit(Instruction(.ret, a: reg))
                case .simd: emit(Instruction(.ret4, a: reg))
                case .reference: emit(Instruction(.retRef, a: reg))
                case .none: emit(Instruction(.ret0))
                }
            } else {
                emit(Instruction(.ret0))
            }
        default:
            break
        }
    }

    private func block(_ b: BlockStmt) {
        let mark = nextRegister
        let outer = beginBlockReferences()
        blockContents(b)
        clearBlockReferences(from: mark, outer: outer)
    }

    /// Compiles the statements of a block; its locals are released (registers) at the end, but their
    /// object slots are cleared by the caller, so that a loop body's arrays survive to the next
    /// iteration (where a kernel may reuse their buffers) and are released when the loop ends.
    private func blockContents(_ b: BlockStmt) {
        let savedTop = localsTop
        let savedNext = nextRegister
        findFusedLets(b.statements)
        for s in b.statements { statement(s) }
        localsTop = savedTop
        nextRegister = savedNext
    }

    /// Registers at and above `mark` belonged to a block that has ended: release the references they
    /// may still hold (those noted since `beginBlock`).
    private func clearBlockReferences(from mark: Int, outer: Int) {
        if blockReferenceHigh >= mark {
            emit(Instruction(.clearRefs, a: mark, b: blockReferenceHigh - mark + 1))
        }
        blockReferenceHigh = max(outer, min(blockReferenceHigh, mark - 1))
    }

    /// Starts tracking the references of a new block; returns the enclosing block's high-water mark.
    private func beginBlockReferences() -> Int {
        let outer = blockReferenceHigh
        blockReferenceHigh = -1
        return outer
    }

    private func ifStatement(_ i: IfStmt) {
        let elseLabel = newLabel()
        let end = newLabel()
        branch(i.condition, jumpWhen: false, to: elseLabel)
        block(i.then)
        if let o = i.otherwise {
            emitJump(Instruction(.jump), to: end)
            bind(elseLabel)
            location = o.location
            if let b = o as? BlockStmt { block(b) } else { statementBody(o) }
            bind(end)
        } else {
            bind(elseLabel)
        }
    }

    private func forStatement(_ f: ForStmt) {
        guard let v = f.variable else { return }
        let savedTop = localsTop
        let mark = nextRegister
        let outer = beginBlockReferences()
        let body = newLabel()
        let cont = newLabel()
        let end = newLabel()
        if let upper = f.upper {
            // R[i] = lower, R[i+1] = upper; the loop variable is the counter (it is immutable).
            let counter = allocateSlots(2)
            v.slot = counter
            v.isGlobal = false
            _ = expr(f.lower, into: counter)
            nextRegister = counter + 2
            _ = expr(upper, into: counter + 1)
            nextRegister = counter + 2
            localsTop = nextRegister
            location = f.location
            emitJump(Instruction(.forPrep, a: counter), to: end)
            bind(body)
            loops.append(Loop(breakLabel: end, continueLabel: cont))
            blockContents(f.body)
            loops.removeLast()
            bind(cont)
            location = f.location
            emitJump(Instruction(.forLoop, a: counter), to: body)
            bind(end)
        } else if case .array(let kind) = f.lower.type {
            let arrayReg = allocate(f.lower.type)
            _ = expr(f.lower, into: arrayReg)
            nextRegister = arrayReg + 1
            let counter = allocateSlots(2)
            emit(Instruction(.loadInt, a: counter, bx: 0))
            emit(Instruction(.length, a: counter + 1, b: arrayReg))
            let x = allocate(v.type)
            v.slot = x
            v.isGlobal = false
            localsTop = nextRegister
            location = f.location
            emitJump(Instruction(.forPrep, a: counter), to: end)
            bind(body)
            emit(Instruction(Opcode.get(kind), a: x, b: arrayReg, c: counter))
            loops.append(Loop(breakLabel: end, continueLabel: cont))
            blockContents(f.body)
            loops.removeLast()
            bind(cont)
            location = f.location
            emitJump(Instruction(.forLoop, a: counter), to: body)
            bind(end)
        } else {
            let chanReg = allocate(f.lower.type)
            _ = expr(f.lower, into: chanReg)
            nextRegister = chanReg + 1
            let x = allocate(v.type)
            v.slot = x
            v.isGlobal = false
            localsTop = nextRegister
            location = f.location
            bind(body)
            bind(cont)
            emitJump(Instruction(.recvOrJump, a: x, b: chanReg, k: Compiler.messageK(v.type)), to: end)
            if v.type.storage == .reference { noteReference(x) }
            loops.append(Loop(breakLabel: end, continueLabel: cont))
            let bodyLabel = newLabel()
            bind(bodyLabel)
            blockContents(f.body)
            loops.removeLast()
            location = f.location
            emitJump(Instruction(.jump), to: body)
            bind(end)
        }
        localsTop = savedTop
        nextRegister = mark
        clearBlockReferences(from: mark, outer: outer)
    }

    private func storeGlobal(_ v: Variable, from r: Int) {
        switch v.type.storage {
        case .scalar: emit(Instruction(.setGlobal, a: r, bx: v.slot))
        case .simd: emit(Instruction(.setGlobal4, a: r, bx: v.slot))
        case .reference: emit(Instruction(.setGlobalRef, a: r, bx: v.slot))
        case .none: break
        }
    }

    private func assignment(_ a: AssignStmt) {
        // `x op= e` is compiled as `x = x op e`.
        var value = a.value
        if a.op != .plain {
            let op: BinaryOp = a.op == .add ? .add : a.op == .sub ? .sub : a.op == .mul ? .mul : .div
            if let ix = a.target as? IndexExpr {
                indexedCompoundAssignment(ix, op, a.value, a.location)
                return
            }
            let combined = BinaryExpr(op, a.target, a.value, a.location)
            combined.type = a.target.type
            value = combined
        }
        switch a.target {
        case let n as NameExpr:
            guard let v = n.variable else { return }
            if v.isGlobal {
                let r = expr(value)
                location = a.location
                storeGlobal(v, from: r)
            } else {
                _ = expr(value, into: v.slot)
            }
        case let ix as IndexExpr:
            guard case .array(let kind) = ix.base.type else { return }
            let base = expr(ix.base)
            let index = expr(ix.index)
            let val = expr(value)
            location = a.location
            emit(Instruction(Opcode.set(kind), a: base, b: index, c: val))
        default:
            break
        }
    }

    private func indexedCompoundAssignment(_ ix: IndexExpr, _ op: BinaryOp, _ value: Expr, _ loc: SourceLocation) {
        guard case .array(let kind) = ix.base.type else { return }
        let base = expr(ix.base)
        let index = expr(ix.index)
        let t = kind.scalarType
        let current = allocate(t)
        location = ix.location
        emit(Instruction(Opcode.get(kind), a: current, b: base, c: index))
        let v = expr(value)
        location = loc
        scalarArithmetic(op, t, dst: current, lhs: current, rhs: v)
        emit(Instruction(Opcode.set(kind), a: base, b: index, c: current))
    }

    // MARK: Conditions

    /// Emits a jump to `label` taken when `e` evaluates to `jumpWhen`.
    private func branch(_ e: Expr, jumpWhen: Bool, to label: Int) {
        if let lit = e as? BoolLiteral {
            if lit.value == jumpWhen { emitJump(Instruction(.jump), to: label) }
            return
        }
        if let u = e as? UnaryExpr, u.op == .not {
            branch(u.operand, jumpWhen: !jumpWhen, to: label)
            return
        }
        if let b = e as? BinaryExpr {
            switch b.op {
            case .and:
                if jumpWhen {
                    let skip = newLabel()
                    branch(b.lhs, jumpWhen: false, to: skip)
                    branch(b.rhs, jumpWhen: true, to: label)
                    bind(skip)
                } else {
                    branch(b.lhs, jumpWhen: false, to: label)
                    branch(b.rhs, jumpWhen: false, to: label)
                }
                return
            case .or:
                if jumpWhen {
                    branch(b.lhs, jumpWhen: true, to: label)
                    branch(b.rhs, jumpWhen: true, to: label)
                } else {
                    let skip = newLabel()
                    branch(b.lhs, jumpWhen: true, to: skip)
                    branch(b.rhs, jumpWhen: false, to: label)
                    bind(skip)
                }
                return
            case .lt, .le, .gt, .ge, .eq, .ne:
                // (A `where` clause would bind to the last pattern only: test the types here.)
                if shortJumps && b.lhs.type == .int && b.rhs.type == .int {
                    fusedIntBranch(b, jumpWhen: jumpWhen, to: label)
                    return
                }
            default:
                break
            }
        }
        let mark = nextRegister
        let r = expr(e)
        location = e.location
        emitJump(Instruction(jumpWhen ? .jumpIfTrue : .jumpIfFalse, a: r), to: label)
        nextRegister = max(mark, localsTop)
    }

    private func smallImmediate(_ e: Expr) -> Int? {
        if let lit = e as? IntLiteral, e.type == .int, let m = lit.magnitude, m <= UInt64(Int16.max) { return Int(m) }
        if let u = e as? UnaryExpr, u.op == .negate, let lit = u.operand as? IntLiteral, e.type == .int,
            let m = lit.magnitude, m <= UInt64(Int16.max)
        {
            return -Int(m)
        }
        return nil
    }

    private func fusedIntBranch(_ b: BinaryExpr, jumpWhen: Bool, to label: Int) {
        // The condition under which we jump, as one of lt le gt ge eq ne on (lhs, rhs).
        var op = b.op
        if !jumpWhen {
            switch op {
            case .lt: op = .ge
            case .le: op = .gt
            case .gt: op = .le
            case .ge: op = .lt
            case .eq: op = .ne
            case .ne: op = .eq
            default: break
            }
        }
        let mark = nextRegister
        if let imm = smallImmediate(b.rhs) {
            let l = expr(b.lhs)
            location = b.location
            let code: Opcode
            switch op {
            case .lt: code = .jumpIfLtImm
            case .le: code = .jumpIfLeImm
            case .gt: code = .jumpIfGtImm
            case .ge: code = .jumpIfGeImm
            case .eq: code = .jumpIfEqImm
            default: code = .jumpIfNeImm
            }
            emitJump(Instruction(code, a: l, b: imm, c: 0), to: label)
        } else {
            let l = expr(b.lhs)
            let r = expr(b.rhs)
            location = b.location
            switch op {
            case .lt: emitJump(Instruction(.jumpIfLtInt, a: l, b: r), to: label)
            case .le: emitJump(Instruction(.jumpIfLeInt, a: l, b: r), to: label)
            case .gt: emitJump(Instruction(.jumpIfLtInt, a: r, b: l), to: label)
            case .ge: emitJump(Instruction(.jumpIfLeInt, a: r, b: l), to: label)
            case .eq: emitJump(Instruction(.jumpIfEqInt, a: l, b: r), to: label)
            default: emitJump(Instruction(.jumpIfNeInt, a: l, b: r), to: label)
            }
        }
        nextRegister = max(mark, localsTop)
    }

    // MARK: Expressions

    /// Compiles `e`; returns the register holding its value (`into` when given). With `discard`, a
    /// value-less call is fine and the result may go anywhere.
    @discardableResult
    private func expr(_ e: Expr, into target: Int? = nil, discard: Bool = false) -> Int {
        let saved = location
        location = e.location
        defer { location = saved }
        let r = exprBody(e, into: target)
        if e.type.storage == .reference && r >= 0 { noteReference(r) }
        return r
    }

    private func destination(_ target: Int?, _ type: VType) -> Int { target ?? allocate(type) }

    private func loadConstantBits(_ bits: UInt64, _ type: VType, into target: Int?) -> Int {
        let r = destination(target, type)
        let asInt = Int64(bitPattern: bits)
        if type == .int || type == .bool, asInt >= Int64(Int32.min), asInt <= Int64(Int32.max) {
            emit(Instruction(.loadInt, a: r, bx: Int(asInt)))
        } else {
            // K records the constant's type (an element kind) for the function JIT.
            emit(Instruction(.loadConst, a: r, bx: constant(bits), k: Int((type.elementKind ?? .int).rawValue)))
        }
        return r
    }

    /// The bits of a numeric literal (possibly negated) in its resolved type.
    private func literalBits(_ e: Expr) -> UInt64? {
        var negate = false
        var node = e
        if let u = e as? UnaryExpr, u.op == .negate, u.operand is IntLiteral || u.operand is FloatLiteral {
            negate = true
            node = u.operand
        }
        switch (node, e.type) {
        case (let lit as IntLiteral, .int):
            guard let m = lit.magnitude else { return nil }
            let v = Int64(bitPattern: m)
            return UInt64(bitPattern: negate ? 0 &- v : v)
        case (let lit as IntLiteral, .float):
            guard let m = lit.magnitude else { return nil }
            let d = Double(m)
            return (negate ? -d : d).bitPattern
        case (let lit as IntLiteral, .f32):
            guard let m = lit.magnitude else { return nil }
            let f = Float(m)
            return UInt64((negate ? -f : f).bitPattern)
        case (let lit as FloatLiteral, .float):
            let d = Double(lit.text) ?? .nan
            return (negate ? -d : d).bitPattern
        case (let lit as FloatLiteral, .f32):
            let f = Float(lit.text) ?? .nan
            return UInt64((negate ? -f : f).bitPattern)
        default:
            return nil
        }
    }

    private func exprBody(_ e: Expr, into target: Int?) -> Int {
        if let bits = literalBits(e) { return loadConstantBits(bits, e.type, into: target) }
        switch e {
        case let b as BoolLiteral:
            return loadConstantBits(b.value ? 1 : 0, .bool, into: target)
        case let s as StringLiteral:
            let r = destination(target, .str)
            fn.strings.append(VMString(s.value))
            emit(Instruction(.loadString, a: r, bx: fn.strings.count - 1))
            return r
        case let n as NameExpr:
            guard let v = n.variable else { return destination(target, e.type) }
            if v.isGlobal {
                let r = destination(target, v.type)
                switch v.type.storage {
                // K: what the value is, for the function JIT (Opcode.getGlobal's semantics).
                case .scalar:
                    emit(Instruction(.getGlobal, a: r, bx: v.slot, k: Int(v.type.elementKind?.rawValue ?? 0)))
                case .simd:
                    emit(Instruction(.getGlobal4, a: r, bx: v.slot, k: v.type == .f64x4 || v.type == .m64x4 ? 1 : 0))
                case .reference:
                    let k = v.type.isArray ? 1 + Int(v.type.elementKind?.rawValue ?? 0) : 0
                    emit(Instruction(.getGlobalRef, a: r, bx: v.slot, k: k))
                case .none: break
                }
                return r
            }
            if let t = target {
                move(v.type, to: t, from: v.slot)
                return t
            }
            return v.slot
        case let u as UnaryExpr:
            return unary(u, into: target)
        case let b as BinaryExpr:
            return binary(b, into: target)
        case let c as CallExpr:
            return call(c, into: target)
        case let s as SpawnExpr:
            return spawn(s, into: target)
        case let ix as IndexExpr:
            guard case .array(let kind) = ix.base.type else { return destination(target, e.type) }
            let base = expr(ix.base)
            let index = expr(ix.index)
            let r = destination(target, e.type)
            location = ix.location
            emit(Instruction(Opcode.get(kind), a: r, b: base, c: index))
            return r
        case let s as SliceExpr:
            let base = expr(s.base)
            let bounds = allocateSlots(2)
            _ = expr(s.lower, into: bounds)
            _ = expr(s.upper, into: bounds + 1)
            let r = destination(target, e.type)
            location = s.location
            emit(Instruction(.slice, a: r, b: base, c: bounds))
            return r
        case let a as ArrayLiteral:
            guard case .array(let kind) = a.type else { return destination(target, e.type) }
            if a.elements.count > FunctionCompiler.registerLiteralLimit {
                return largeArrayLiteral(a, kind, into: target)
            }
            let first = consecutiveArguments(a.elements)
            let r = destination(target, e.type)
            location = a.location
            emit(Instruction(.arrayLiteral, a: r, b: first, c: a.elements.count, k: Int(kind.rawValue)))
            return r
        default:
            return destination(target, e.type)
        }
    }

    /// Array literals up to this many elements take one register per element and one instruction;
    /// longer ones are filled element by element in a few registers (`largeArrayLiteral`).
    static let registerLiteralLimit = 256

    /// `[e0, e1, ...]` of any length: a zeroed array (`fill(n, 0)`), then one store per element, in
    /// order, through three registers — a function's 65,000 registers no longer bound a literal.
    private func largeArrayLiteral(_ a: ArrayLiteral, _ kind: ElementKind, into target: Int?) -> Int {
        let r = destination(target, a.type)
        let base = allocateSlots(2)
        let saved = nextRegister
        location = a.location
        _ = loadConstantBits(UInt64(a.elements.count), .int, into: base)
        _ = loadConstantBits(0, .int, into: base + 1)  // zero bits: 0, 0.0, f32 0 and false alike
        emit(Instruction(.builtin, a: r, b: base, c: Int(kind.rawValue), k: Int(BuiltinOp.fill.rawValue)))
        noteReference(r)
        let (store, elementType): (Opcode, VType) =
            switch kind {
            case .int: (.setInt, .int)
            case .float: (.setFloat, .float)
            case .f32: (.setF32, .f32)
            case .bool: (.setBool, .bool)
            }
        for (i, element) in a.elements.enumerated() {
            nextRegister = saved
            let index = loadConstantBits(UInt64(i), .int, into: nil)
            let value = expr(element, into: allocate(elementType))
            location = element.location
            emit(Instruction(store, a: r, b: index, c: value))
        }
        nextRegister = saved
        return r
    }

    private func unary(_ u: UnaryExpr, into target: Int?) -> Int {
        if u.op == .not && u.type.isArray { return kernel(u, into: target) }
        if u.op == .not && u.type.isMask {
            let v = expr(u.operand)
            let r = destination(target, u.type)
            emit(Instruction(.simdMask, a: r, b: v, c: v, k: Int(MaskOp.not.rawValue)))
            return r
        }
        if u.op == .not {
            let v = expr(u.operand)
            let r = destination(target, .bool)
            emit(Instruction(.not, a: r, b: v))
            return r
        }
        switch u.type {
        case .array:
            return kernel(u, into: target)
        case .f32x8, .f64x4:
            let v = expr(u.operand)
            let r = destination(target, u.type)
            emit(Instruction(.simdUnary, a: r, b: v, k: SimdOp.pack(.neg, isF64: u.type == .f64x4)))
            return r
        default:
            let v = expr(u.operand)
            let r = destination(target, u.type)
            let op: Opcode = u.type == .int ? .negInt : u.type == .float ? .negFloat : .negF32
            emit(Instruction(op, a: r, b: v))
            return r
        }
    }

    private func scalarArithmetic(_ op: BinaryOp, _ t: VType, dst: Int, lhs: Int, rhs: Int) {
        let code: Opcode
        switch (t, op) {
        case (.int, .add): code = .addInt
        case (.int, .sub): code = .subInt
        case (.int, .mul): code = .mulInt
        case (.int, .div): code = .divInt
        case (.int, .mod): code = .modInt
        case (.float, .add): code = .addFloat
        case (.float, .sub): code = .subFloat
        case (.float, .mul): code = .mulFloat
        case (.float, .div): code = .divFloat
        case (.f32, .add): code = .addF32
        case (.f32, .sub): code = .subF32
        case (.f32, .mul): code = .mulF32
        case (.f32, .div): code = .divF32
        default: return
        }
        emit(Instruction(code, a: dst, b: lhs, c: rhs))
    }

    private func binary(_ b: BinaryExpr, into target: Int?) -> Int {
        if b.type.isArray && (b.op == .and || b.op == .or || b.op.isComparison) { return kernel(b, into: target) }
        if b.type.isMask && (b.op == .and || b.op == .or) {
            let l = maskOperand(b.lhs, b.type)
            let rr = maskOperand(b.rhs, b.type)
            let r = destination(target, b.type)
            let op: MaskOp = b.op == .and ? .and : .or
            emit(Instruction(.simdMask, a: r, b: l, c: rr, k: Int(op.rawValue)))
            return r
        }
        if b.type.isMask {
            // A comparison of SIMD values (a scalar side is splatted); a > b is b < a, a >= b is b <= a.
            let simd = b.type.maskedSIMDType!
            let l = simdOperand(b.lhs, simd)
            let rr = simdOperand(b.rhs, simd)
            let r = destination(target, b.type)
            let swapped = b.op == .gt || b.op == .ge
            let cmp: CompareOp = b.op == .eq ? .eq : b.op == .ne ? .ne : (b.op == .lt || b.op == .gt) ? .lt : .le
            let (x, y) = swapped ? (rr, l) : (l, rr)
            emit(Instruction(.simdCompare, a: r, b: x, c: y, k: Int(cmp.rawValue) << 1 | (simd == .f64x4 ? 1 : 0)))
            return r
        }
        switch b.op {
        case .and, .or:
            let r = destination(target, .bool)
            let falseLabel = newLabel()
            let end = newLabel()
            branch(b, jumpWhen: false, to: falseLabel)
            emit(Instruction(.loadInt, a: r, bx: 1))
            emitJump(Instruction(.jump), to: end)
            bind(falseLabel)
            emit(Instruction(.loadInt, a: r, bx: 0))
            bind(end)
            return r
        case .eq, .ne, .lt, .le, .gt, .ge:
            let l = expr(b.lhs)
            let rr = expr(b.rhs)
            let r = destination(target, .bool)
            location = b.location
            // a > b is b < a; a >= b is b <= a (also with NaN).
            let swapped = b.op == .gt || b.op == .ge
            let (x, y) = swapped ? (rr, l) : (l, rr)
            let cmp: CompareOp = b.op == .eq ? .eq : b.op == .ne ? .ne : (b.op == .lt || b.op == .gt) ? .lt : .le
            switch b.lhs.type {
            case .int, .bool:
                let code: Opcode = cmp == .eq ? .eqInt : cmp == .ne ? .neInt : cmp == .lt ? .ltInt : .leInt
                emit(Instruction(code, a: r, b: x, c: y))
            default:
                let cls: CompareClass = b.lhs.type == .float ? .float : b.lhs.type == .f32 ? .f32 : .str
                emit(Instruction(.compare, a: r, b: x, c: y, k: Int(cmp.rawValue) << 3 | Int(cls.rawValue)))
            }
            return r
        default:
            break
        }
        switch b.type {
        case .array:
            return kernel(b, into: target)
        case .str:
            let l = expr(b.lhs)
            let rr = expr(b.rhs)
            let r = destination(target, .str)
            location = b.location
            emit(Instruction(.concat, a: r, b: l, c: rr))
            return r
        case .f32x8, .f64x4:
            let l = simdOperand(b.lhs, b.type)
            let rr = simdOperand(b.rhs, b.type)
            let r = destination(target, b.type)
            let op: SimdOp = b.op == .add ? .add : b.op == .sub ? .sub : b.op == .mul ? .mul : .div
            emit(Instruction(.simdBinary, a: r, b: l, c: rr, k: SimdOp.pack(op, isF64: b.type == .f64x4)))
            return r
        default:
            // `i + 1`, `n - 2`: add an immediate.
            if b.type == .int, b.op == .add || b.op == .sub, let imm = smallImmediate(b.rhs) {
                let l = expr(b.lhs)
                let r = destination(target, .int)
                location = b.location
                emit(Instruction(.addIntImm, a: r, b: l, c: b.op == .add ? imm : -imm))
                return r
            }
            let l = expr(b.lhs)
            let rr = expr(b.rhs)
            let r = destination(target, b.type)
            location = b.location
            scalarArithmetic(b.op, b.type, dst: r, lhs: l, rhs: rr)
            return r
        }
    }

    /// A SIMD operand; a scalar is splatted into a temporary vector.
    private func simdOperand(_ e: Expr, _ simdType: VType) -> Int {
        if e.type.isSIMD { return expr(e) }
        let s = expr(e)
        let r = allocate(simdType)
        emit(Instruction(.splat, a: r, b: s, k: simdType == .f64x4 ? 1 : 0))
        return r
    }

    /// A mask operand; a bool scalar becomes all-true or all-false lanes (0 - b in every lane).
    private func maskOperand(_ e: Expr, _ maskType: VType) -> Int {
        if e.type.isMask { return expr(e) }
        let s = expr(e)
        let t = allocate(.int)
        emit(Instruction(.negInt, a: t, b: s))
        let r = allocate(maskType)
        // The bits of -1 (or 0) splatted as f64 lanes are all-ones (or zero) lanes of either width.
        emit(Instruction(.splat, a: r, b: t, k: 1))
        return r
    }

    // MARK: Kernels

    private struct KernelBuilder {
        var ops: [KernelOp] = []
        var types: [ElementKind] = []
        var arrayRegisters: [Int] = []
        var arrayTypes: [ElementKind] = []
        var scalarRegisters: [Int] = []
        var scalarTypes: [ElementKind] = []
        var loadForRegister: [Int: Int] = [:]
        var scalarForRegister: [Int: Int] = [:]
        /// Fused lets, inlined parameters and lets already computed in this kernel (by variable), and
        /// lets of an inlined function not computed yet.
        var bound: [ObjectIdentifier: Int] = [:]
        var pending: [ObjectIdentifier: Expr] = [:]

        mutating func add(_ op: KernelOp, _ type: ElementKind) -> Int {
            ops.append(op)
            types.append(type)
            return ops.count - 1
        }
    }

    /// Whether `e` is an elementwise array operation that becomes part of a kernel (its operands then
    /// become kernel operations or inputs): arithmetic, comparisons, elementwise builtins, and calls of
    /// elementwise functions (inlined, KernelFusion).
    private func isKernelNode(_ e: Expr) -> Bool {
        if let c = e as? CallExpr, case .function = c.target, !Compiler.fusesKernels { return false }
        return KernelFusion.isKernelNode(e)
    }

    private func kernelNode(_ e: Expr, _ kb: inout KernelBuilder) -> Int {
        // A name bound in this kernel: a fused let, an inlined function's parameter or let.
        if let n = e as? NameExpr, let v = n.variable {
            let id = ObjectIdentifier(v)
            if let op = kb.bound[id] { return op }
            if let value = kb.pending[id] ?? fused[id]?.value {
                let op = kernelNode(value, &kb)
                kb.bound[id] = op
                return op
            }
        }
        if let c = e as? CallExpr, case .function(let f) = c.target, isKernelNode(c) {
            return inline(f.decl, c, &kb)
        }
        if isKernelNode(e), let kind = e.type.elementKind {
            switch e {
            case let b as BinaryExpr:
                let l = kernelNode(b.lhs, &kb)
                let r = kernelNode(b.rhs, &kb)
                switch b.op {
                case .add: return kb.add(.add(l, r), kind)
                case .sub: return kb.add(.sub(l, r), kind)
                case .mul: return kb.add(.mul(l, r), kind)
                case .div: return kb.add(.div(l, r), kind)
                case .mod: return kb.add(.mod(l, r), kind)
                case .and: return kb.add(.and(l, r), .bool)
                case .or: return kb.add(.or(l, r), .bool)
                // a > b is b < a, a >= b is b <= a (NaN included).
                case .eq: return kb.add(.compare(.eq, l, r), .bool)
                case .ne: return kb.add(.compare(.ne, l, r), .bool)
                case .lt: return kb.add(.compare(.lt, l, r), .bool)
                case .le: return kb.add(.compare(.le, l, r), .bool)
                case .gt: return kb.add(.compare(.lt, r, l), .bool)
                case .ge: return kb.add(.compare(.le, r, l), .bool)
                }
            case let u as UnaryExpr:
                let a = kernelNode(u.operand, &kb)
                switch u.op {
                case .negate: return kb.add(.neg(a), kind)
                case .not: return kb.add(.not(a), .bool)
                }
            case let c as CallExpr:
                let args = c.args.map { kernelNode($0, &kb) }
                guard case .builtin(let bi) = c.target else { break }
                switch bi {
                case .sqrt: return kb.add(.sqrt(args[0]), kind)
                case .abs: return kb.add(.abs(args[0]), kind)
                case .fma: return kb.add(.fma(args[0], args[1], args[2]), kind)
                case .min: return kb.add(.min(args[0], args[1]), kind)
                case .max: return kb.add(.max(args[0], args[1]), kind)
                case .pow: return kb.add(.pow(args[0], args[1]), kind)
                case .select: return kb.add(.select(args[0], args[1], args[2]), kind)
                case .exp: return kb.add(.math(.exp, args[0]), kind)
                case .log: return kb.add(.math(.log, args[0]), kind)
                case .sin: return kb.add(.math(.sin, args[0]), kind)
                case .cos: return kb.add(.math(.cos, args[0]), kind)
                case .tanh: return kb.add(.math(.tanh, args[0]), kind)
                case .floor: return kb.add(.math(.floor, args[0]), kind)
                case .ceil: return kb.add(.math(.ceil, args[0]), kind)
                case .round: return kb.add(.math(.round, args[0]), kind)
                default: break
                }
            default:
                break
            }
        }
        // A leaf: an array input, or a scalar broadcast to every lane.
        let r = expr(e)
        let kind = e.type.elementKind ?? .int
        if e.type.isArray {
            if let op = kb.loadForRegister[r] { return op }
            kb.arrayRegisters.append(r)
            kb.arrayTypes.append(kind)
            let op = kb.add(.load(kb.arrayRegisters.count - 1), kind)
            kb.loadForRegister[r] = op
            return op
        }
        if let op = kb.scalarForRegister[r] { return op }
        kb.scalarRegisters.append(r)
        kb.scalarTypes.append(kind)
        let op = kb.add(.scalar(kb.scalarRegisters.count - 1), kind)
        kb.scalarForRegister[r] = op
        return op
    }

    /// An elementwise function's body, computed inside the caller's kernel: array parameters are bound
    /// to the arguments' kernel values, number parameters to registers holding the arguments.
    private func inline(_ f: FunctionDecl, _ c: CallExpr, _ kb: inout KernelBuilder) -> Int {
        guard let (lets, result) = KernelFusion.elementwiseBody(f) else { return -1 }
        var saved: [(Variable, Int, Bool)] = []
        var bound: [ObjectIdentifier] = []
        var values: [(ObjectIdentifier, Int)] = []
        for (p, arg) in zip(f.parameterVariables, c.args) {
            if p.type.isArray {
                values.append((ObjectIdentifier(p), kernelNode(arg, &kb)))
            } else {
                let r = expr(arg)
                saved.append((p, p.slot, p.isGlobal))
                p.slot = r
                p.isGlobal = false
            }
        }
        // Bound after all arguments are compiled: an argument may inline the same function.
        let outer = kb.bound
        let outerPending = kb.pending
        for (id, op) in values {
            kb.bound[id] = op
            bound.append(id)
        }
        for d in lets { kb.pending[ObjectIdentifier(d.variable!)] = d.value }
        let r = kernelNode(result, &kb)
        kb.bound = outer
        kb.pending = outerPending
        for (p, slot, isGlobal) in saved.reversed() {
            p.slot = slot
            p.isGlobal = isGlobal
        }
        return r
    }

    private func emitKernel(
        _ kb: KernelBuilder, output: KernelOutput, resultType: VType, into target: Int?, at loc: SourceLocation
    )
        -> Int
    {
        let program = KernelProgram(
            arrayInputs: kb.arrayTypes, scalarInputs: kb.scalarTypes, ops: kb.ops, types: kb.types, output: output)
        if let problem = program.validate() {
            compiler.error("internal error: invalid kernel (\(problem)): \(program)", at: loc)
        }
        let site = KernelSite(
            program: program, arrayRegisters: kb.arrayRegisters, scalarRegisters: kb.scalarRegisters, location: loc)
        fn.kernelSites.append(site)
        let r = destination(target, resultType)
        location = loc
        emit(Instruction(.kernel, a: r, b: fn.kernelSites.count - 1))
        return r
    }

    /// An elementwise array expression: one kernel storing a new array.
    private func kernel(_ e: Expr, into target: Int?) -> Int {
        var kb = KernelBuilder()
        let root = kernelNode(e, &kb)
        return emitKernel(kb, output: .store(root), resultType: e.type, into: target, at: e.location)
    }

    /// `sum`, `min`, `max`, `count`, `any`, `all` of an array expression, or `dot(a, b)`: one kernel with a
    /// reduction.
    private func reduction(
        _ op: ReductionOp, _ args: [Expr], resultType: VType, into target: Int?, at loc: SourceLocation
    )
        -> Int
    {
        var kb = KernelBuilder()
        var root = kernelNode(args[0], &kb)
        if args.count == 2 {
            let other = kernelNode(args[1], &kb)
            root = kb.add(.mul(root, other), kb.types[root])
        }
        return emitKernel(kb, output: .reduce(op, root), resultType: resultType, into: target, at: loc)
    }

    // MARK: Calls

    /// Evaluates arguments left to right into consecutive registers starting at the current top;
    /// all slots are reserved first, so that temporaries of one argument never sit between two slots.
    private func consecutiveArguments(_ args: [Expr]) -> Int {
        let base = nextRegister
        var slots: [Int] = []
        for a in args { slots.append(allocate(a.type)) }
        let end = nextRegister
        for (a, slot) in zip(args, slots) {
            _ = expr(a, into: slot)
            nextRegister = end
        }
        return base
    }

    private func callUser(_ c: CallExpr, _ index: Int, resultType: VType, into target: Int?) -> Int {
        let base = consecutiveArguments(c.args)
        // The callee's frame starts at `base`; make sure the result fits where the arguments were.
        nextRegister = base
        _ = allocateSlots(max(1, resultType.storage.slots))
        location = c.location
        emit(Instruction(.call, a: base, bx: index))
        if resultType.storage == .reference { noteReference(base) }
        if let t = target, resultType.storage != .none {
            move(resultType, to: t, from: base)
            return t
        }
        return base
    }

    private func call(_ c: CallExpr, into target: Int?) -> Int {
        if case .function = c.target, isKernelNode(c) { return kernel(c, into: target) }
        switch c.target {
        case .function(let f):
            return callUser(c, f.decl.index, resultType: f.decl.resultType, into: target)
        case .builtin(let b):
            return builtinCall(b, c, into: target)
        case .host(let index):
            let base = consecutiveArguments(c.args)
            nextRegister = max(nextRegister, base + 1)
            fn.frameSize = max(fn.frameSize, nextRegister)
            location = c.location
            emit(Instruction(.callHost, a: base, bx: index))
            if c.type.storage == .reference { noteReference(base) }
            if let t = target, c.type.storage != .none {
                move(c.type, to: t, from: base)
                return t
            }
            return base
        case .external(let x):
            let base = consecutiveArguments(c.args)
            nextRegister = max(nextRegister, base + 1)
            fn.frameSize = max(fn.frameSize, nextRegister)
            location = c.location
            emit(Instruction(.callExtern, a: base, bx: x.index))
            if let t = target, x.resultType.storage != .none {
                move(x.resultType, to: t, from: base)
                return t
            }
            return base
        case .echo:
            return echo(c)
        default:
            compiler.error("this call cannot be compiled yet", at: c.location)
            return destination(target, c.type)
        }
    }

    private func spawn(_ s: SpawnExpr, into target: Int?) -> Int {
        guard case .function(let f) = s.call.target else { return destination(target, s.type) }
        let base = consecutiveArguments(s.call.args)
        let r = destination(target, s.type)
        location = s.location
        emit(Instruction(.spawn, a: r, b: base, c: f.decl.index))
        return r
    }

    private func builtinCall(_ b: Builtin, _ c: CallExpr, into target: Int?) -> Int {
        let args = c.args
        let loc = c.location
        switch b {
        case .print:
            var regs: [Int] = []
            for a in args { regs.append(expr(a)) }
            fn.printSites.append(PrintSite(registers: regs, types: args.map(\.type)))
            location = loc
            emit(Instruction(.print, a: 0, bx: fn.printSites.count - 1))
            return -1
        case .len:
            let a = expr(args[0])
            let r = destination(target, .int)
            location = loc
            if args[0].type == .str {
                emit(Instruction(.builtin, a: r, b: a, c: 0, k: Int(BuiltinOp.lengthStr.rawValue)))
            } else {
                emit(Instruction(.length, a: r, b: a))
            }
            return r
        case .iota:
            let n = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.builtin, a: r, b: n, c: 0, k: Int(BuiltinOp.iota.rawValue)))
            return r
        case .fill:
            let base = allocateSlots(2)
            _ = expr(args[0], into: base)
            _ = expr(args[1], into: base + 1)
            let r = destination(target, c.type)
            location = loc
            emit(
                Instruction(
                    .builtin, a: r, b: base, c: Int(c.type.elementKind!.rawValue), k: Int(BuiltinOp.fill.rawValue)))
            return r
        case .sqrt, .abs:
            if isKernelNode(c) { return kernel(c, into: target) }
            let v = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            if c.type.isSIMD {
                emit(
                    Instruction(
                        .simdUnary, a: r, b: v, k: SimdOp.pack(b == .sqrt ? .sqrt : .abs, isF64: c.type == .f64x4)))
            } else {
                emit(
                    Instruction(
                        .scalarMath, a: r, b: v, c: 0, k: MathOp.pack(b == .sqrt ? .sqrt : .abs, c.type.elementKind!)))
            }
            return r
        case .min, .max:
            if args.count == 1 {
                let op: ReductionOp = b == .min ? .min : .max
                if args[0].type.isSIMD {
                    let v = expr(args[0])
                    let r = destination(target, c.type)
                    location = loc
                    emit(
                        Instruction(
                            .simdReduce, a: r, b: v, k: Int(op.rawValue) << 1 | (args[0].type == .f64x4 ? 1 : 0)))
                    return r
                }
                return reduction(op, args, resultType: c.type, into: target, at: loc)
            }
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let l = simdOperand(args[0], c.type)
                let rr = simdOperand(args[1], c.type)
                let r = destination(target, c.type)
                location = loc
                emit(
                    Instruction(
                        .simdBinary, a: r, b: l, c: rr, k: SimdOp.pack(b == .min ? .min : .max, isF64: c.type == .f64x4)
                    ))
                return r
            }
            let l = expr(args[0])
            let rr = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            emit(
                Instruction(
                    .scalarMath, a: r, b: l, c: rr, k: MathOp.pack(b == .min ? .min : .max, c.type.elementKind!)))
            return r
        case .fma:
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let base = allocateSlots(12)
                for (i, a) in args.enumerated() {
                    if a.type.isSIMD {
                        _ = expr(a, into: base + 4 * i)
                    } else {
                        let s = expr(a)
                        emit(Instruction(.splat, a: base + 4 * i, b: s, k: c.type == .f64x4 ? 1 : 0))
                    }
                }
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdFma, a: r, b: base, k: c.type == .f64x4 ? 1 : 0))
                return r
            }
            let base = allocateSlots(3)
            for (i, a) in args.enumerated() { _ = expr(a, into: base + i) }
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.scalarFma, a: r, b: base, k: Int(c.type.elementKind!.rawValue)))
            return r
        case .sum:
            if args[0].type.isSIMD {
                let v = expr(args[0])
                let r = destination(target, c.type)
                location = loc
                emit(
                    Instruction(
                        .simdReduce, a: r, b: v,
                        k: Int(ReductionOp.sum.rawValue) << 1 | (args[0].type == .f64x4 ? 1 : 0)))
                return r
            }
            return reduction(.sum, args, resultType: c.type, into: target, at: loc)
        case .dot:
            if args[0].type.isSIMD {
                let l = expr(args[0])
                let rr = expr(args[1])
                let isF64 = args[0].type == .f64x4
                let prod = allocate(args[0].type)
                location = loc
                emit(Instruction(.simdBinary, a: prod, b: l, c: rr, k: SimdOp.pack(.mul, isF64: isF64)))
                let r = destination(target, c.type)
                emit(Instruction(.simdReduce, a: r, b: prod, k: Int(ReductionOp.sum.rawValue) << 1 | (isF64 ? 1 : 0)))
                return r
            }
            return reduction(.sum, args, resultType: c.type, into: target, at: loc)
        case .splat:
            let s = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.splat, a: r, b: s, k: c.type == .f64x4 ? 1 : 0))
            return r
        case .vload:
            let a = expr(args[0])
            let i = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.vload, a: r, b: a, c: i, k: c.type == .f64x4 ? 1 : 0))
            return r
        case .vstore:
            let a = expr(args[0])
            let i = expr(args[1])
            let v = expr(args[2])
            location = loc
            emit(Instruction(.vstore, a: a, b: i, c: v, k: args[2].type == .f64x4 ? 1 : 0))
            return -1
        case .lane:
            let v = expr(args[0])
            let k = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            let shape: Int
            switch args[0].type {
            case .f64x4: shape = 1
            case .m32x8: shape = 2
            case .m64x4: shape = 3
            default: shape = 0
            }
            emit(Instruction(.lane, a: r, b: v, c: k, k: shape))
            return r
        case .wait:
            let t = expr(args[0])
            let storage = c.type.storage
            let r = storage == .none ? -1 : destination(target, c.type)
            location = loc
            emit(Instruction(.wait, a: max(r, 0), b: t, k: Compiler.messageK(c.type)))
            return r
        case .chanMake:
            let cap = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.makeChan, a: r, b: cap))
            return r
        case .send:
            let ch = expr(args[0])
            let v = expr(args[1])
            location = loc
            emit(Instruction(.send, a: ch, b: v, k: Int(args[1].type.storage.rawValue)))
            return -1
        case .recv:
            let ch = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.recv, a: r, b: ch, k: Compiler.messageK(c.type)))
            return r
        case .close:
            let ch = expr(args[0])
            location = loc
            emit(Instruction(.close, a: ch))
            return -1
        case .yield:
            emit(Instruction(.yield))
            return -1
        case .sleep:
            let ms = expr(args[0])
            location = loc
            emit(Instruction(.sleep, a: ms))
            return -1
        case .now:
            let r = destination(target, .int)
            emit(Instruction(.now, a: r))
            return r
        case .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round:
            if isKernelNode(c) { return kernel(c, into: target) }
            let f = ElementwiseMath.from(b)
            let v = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            if c.type.isSIMD {
                emit(Instruction(.simdUnary, a: r, b: v, k: SimdOp.pack(SimdOp(f), isF64: c.type == .f64x4)))
            } else {
                emit(Instruction(.scalarMath, a: r, b: v, c: 0, k: MathOp.pack(MathOp(f), c.type.elementKind!)))
            }
            return r
        case .pow:
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let l = simdOperand(args[0], c.type)
                let rr = simdOperand(args[1], c.type)
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdBinary, a: r, b: l, c: rr, k: SimdOp.pack(.pow, isF64: c.type == .f64x4)))
                return r
            }
            let l = expr(args[0])
            let rr = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.scalarMath, a: r, b: l, c: rr, k: MathOp.pack(.pow, c.type.elementKind!)))
            return r
        case .select:
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let m = maskOperand(args[0], c.type.maskType!)
                let pair = allocateSlots(8)
                for (i, a) in args.dropFirst().enumerated() {
                    if a.type.isSIMD {
                        _ = expr(a, into: pair + 4 * i)
                    } else {
                        let s = expr(a)
                        emit(Instruction(.splat, a: pair + 4 * i, b: s, k: c.type == .f64x4 ? 1 : 0))
                    }
                }
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdSelect, a: r, b: m, c: pair))
                return r
            }
            // Scalars: both values are evaluated (left to right), then one is picked.
            let m = expr(args[0])
            let x = expr(args[1])
            let y = expr(args[2])
            let r = destination(target, c.type)
            let pickX = newLabel()
            let end = newLabel()
            emitJump(Instruction(.jumpIfTrue, a: m), to: pickX)
            move(c.type, to: r, from: y)
            emitJump(Instruction(.jump), to: end)
            bind(pickX)
            move(c.type, to: r, from: x)
            bind(end)
            return r
        case .any, .all, .count:
            let op: ReductionOp = b == .any ? .any : b == .all ? .all : .count
            if args[0].type.isMask {
                let v = expr(args[0])
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdReduce, a: r, b: v, k: Int(op.rawValue) << 1 | (args[0].type == .m64x4 ? 1 : 0)))
                return r
            }
            return reduction(op, args, resultType: c.type, into: target, at: loc)
        case .toInt, .toFloat, .toF32:
            let from = args[0].type
            if from == .str { return parseNumber(c, into: target) }
            if case .array(let fromKind) = from {
                let a = expr(args[0])
                let r = destination(target, c.type)
                location = loc
                emit(
                    Instruction(
                        .builtin, a: r, b: a, c: Conversion.pack(from: fromKind, to: c.type.elementKind!),
                        k: Int(BuiltinOp.convertArray.rawValue)))
                return r
            }
            if from == c.type { return expr(args[0], into: target) }
            let v = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(
                Instruction(.convert, a: r, b: v, k: Conversion.pack(from: from.elementKind!, to: c.type.elementKind!)))
            return r
        case .toStr:
            let v = expr(args[0])
            let r = destination(target, .str)
            location = loc
            emit(Instruction(.format, a: r, b: v, c: typeIndex(args[0].type)))
            return r
        case .argc, .arg, .eof, .save, .readLine, .readFile, .writeFile, .loadF32, .loadFloat, .loadInt:
            return ioBuiltinCall(b, c, into: target)
        }
    }

    // MARK: Input and output (Interpreter/IOBuiltins.swift)

    /// A call of an input or output built-in: its arguments in consecutive registers, one `io`.
    private func ioBuiltinCall(_ b: Builtin, _ c: CallExpr, into target: Int?) -> Int {
        guard let signature = IOSignature.table[b] else {
            compiler.error("'\(c.callee)' is not an input or output built-in", at: c.location)
            return destination(target, c.type)
        }
        let base = consecutiveArguments(c.args)
        let r = signature.result == .void ? -1 : destination(target, signature.result)
        location = c.location
        let kind = signature.result.elementKind.map { Int($0.rawValue) } ?? 0
        emit(Instruction(.io, a: max(r, 0), b: base, c: kind, k: Int(signature.operation.rawValue)))
        return r
    }

    /// `int(s)`, `float(s)`, `f32(s)` of a str.
    private func parseNumber(_ c: CallExpr, into target: Int?) -> Int {
        let s = expr(c.args[0])
        let r = destination(target, c.type)
        location = c.location
        emit(
            Instruction(
                .io, a: r, b: s, c: Int(c.type.elementKind!.rawValue), k: Int(IOOp.parseNumber.rawValue)))
        return r
    }

    /// The REPL's display of a value (CallTarget.echo, made by Session): one `io echo`.
    private func echo(_ c: CallExpr) -> Int {
        let v = expr(c.args[0])
        location = c.location
        emit(Instruction(.io, a: 0, b: v, c: typeIndex(c.args[0].type), k: Int(IOOp.echo.rawValue)))
        return -1
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
