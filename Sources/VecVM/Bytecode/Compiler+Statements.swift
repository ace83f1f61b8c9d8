// The compiler, part 2: statements (blocks, if, loops, assignments) and conditions (branches on
// comparisons, fused compare-and-jump instructions). See Compiler.swift for the compiler's state.

extension FunctionCompiler {
    // MARK: Statements

    func statement(_ s: Stmt) {
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

    func isGlobal(_ v: Variable) -> Bool {
        v.isTopLevel && fn.index == 0 && (v.usedByFunction || compiler.interactive) || v.isGlobal
    }

    func findFusedLets(_ statements: [Stmt]) {
        guard Compiler.fusesKernels else { return }
        fused.merge(KernelFusion.fusableLets(statements, isGlobal: isGlobal)) { a, _ in a }
    }

    func statementBody(_ s: Stmt) {
        switch s.kind {
        case .varDecl(let d) where d.variable.map { fused[ObjectIdentifier($0)] != nil } ?? false:
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
        case .varDecl(let d):
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
        case .assign(let a):
            assignment(a)
        case .expression(let e):
            _ = expr(e.expr, discard: true)
        case .block(let b):
            block(b)
        case .if(let i):
            ifStatement(i)
        case .while(let w):
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
        case .for(let f):
            forStatement(f)
        case .break:
            if let l = loops.last { emitJump(Instruction(.jump), to: l.breakLabel) }
        case .continue:
            if let l = loops.last { emitJump(Instruction(.jump), to: l.continueLabel) }
        case .return(let r):
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
        case .function, .extern:
            // Compiler.compile compiles a file's functions apart from the code around them; the checker
            // rejects one declared anywhere but at the top level.
            internalError("a function declared inside a block", at: s.location)
        }
    }

    func block(_ b: BlockStmt) {
        let mark = nextRegister
        let outer = beginBlockReferences()
        blockContents(b)
        clearBlockReferences(from: mark, outer: outer)
    }

    /// Compiles the statements of a block; its locals are released (registers) at the end, but their
    /// object slots are cleared by the caller, so that a loop body's arrays survive to the next
    /// iteration (where a kernel may reuse their buffers) and are released when the loop ends.
    func blockContents(_ b: BlockStmt) {
        let savedTop = localsTop
        let savedNext = nextRegister
        findFusedLets(b.statements)
        for s in b.statements { statement(s) }
        localsTop = savedTop
        nextRegister = savedNext
    }

    /// Registers at and above `mark` belonged to a block that has ended: release the references they
    /// may still hold (those noted since `beginBlock`).
    func clearBlockReferences(from mark: Int, outer: Int) {
        if blockReferenceHigh >= mark {
            emit(Instruction(.clearRefs, a: mark, b: blockReferenceHigh - mark + 1))
        }
        blockReferenceHigh = max(outer, min(blockReferenceHigh, mark - 1))
    }

    /// Starts tracking the references of a new block; returns the enclosing block's high-water mark.
    func beginBlockReferences() -> Int {
        let outer = blockReferenceHigh
        blockReferenceHigh = -1
        return outer
    }

    func ifStatement(_ i: IfStmt) {
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

    func forStatement(_ f: ForStmt) {
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

    func storeGlobal(_ v: Variable, from r: Int) {
        switch v.type.storage {
        case .scalar: emit(Instruction(.setGlobal, a: r, bx: v.slot))
        case .simd: emit(Instruction(.setGlobal4, a: r, bx: v.slot))
        case .reference: emit(Instruction(.setGlobalRef, a: r, bx: v.slot))
        case .none: break
        }
    }

    func assignment(_ a: AssignStmt) {
        // `x op= e` is compiled as `x = x op e`.
        var value = a.value
        if let op = a.op.arithmetic {
            if let ix = a.target as? IndexExpr {
                indexedCompoundAssignment(ix, op, a.value, a.location)
                return
            }
            let combined = BinaryExpr(op, a.target, a.value, a.location)
            combined.type = a.target.type
            value = combined
        }
        switch a.target.kind {
        case .name(let n):
            guard let v = n.variable else { return }
            if v.isGlobal {
                let r = expr(value)
                location = a.location
                storeGlobal(v, from: r)
            } else {
                _ = expr(value, into: v.slot)
            }
        case .index(let ix):
            guard case .array(let kind) = ix.base.type else { return }
            let base = expr(ix.base)
            let index = expr(ix.index)
            let val = expr(value)
            location = a.location
            emit(Instruction(Opcode.set(kind), a: base, b: index, c: val))
        case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral, .unary, .binary, .call, .spawn, .slice,
            .arrayLiteral:
            internalError("an assignment to something other than a variable or an element", at: a.location)
        }
    }

    func indexedCompoundAssignment(_ ix: IndexExpr, _ op: BinaryOp, _ value: Expr, _ loc: SourceLocation) {
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
    func branch(_ e: Expr, jumpWhen: Bool, to label: Int) {
        switch e.kind {
        case .boolLiteral(let lit):
            if lit.value == jumpWhen { emitJump(Instruction(.jump), to: label) }
            return
        case .unary(let u) where u.op == .not:
            branch(u.operand, jumpWhen: !jumpWhen, to: label)
            return
        case .binary(let b):
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
            case .lt, .le, .gt, .ge, .eq, .ne, .add, .sub, .mul, .div, .mod:
                break
            }
            if let comparison = IntComparison(b.op), shortJumps && b.lhs.type == .int && b.rhs.type == .int {
                fusedIntBranch(b, comparison, jumpWhen: jumpWhen, to: label)
                return
            }
        // Computed into a register and tested.
        case .intLiteral, .floatLiteral, .stringLiteral, .name, .unary, .call, .spawn, .index, .slice,
            .arrayLiteral:
            break
        }
        let mark = nextRegister
        let r = expr(e)
        location = e.location
        emitJump(Instruction(jumpWhen ? .jumpIfTrue : .jumpIfFalse, a: r), to: label)
        nextRegister = max(mark, localsTop)
    }

    func smallImmediate(_ e: Expr) -> Int? {
        if let lit = e as? IntLiteral, e.type == .int, let m = lit.magnitude, m <= UInt64(Int16.max) { return Int(m) }
        if let u = e as? UnaryExpr, u.op == .negate, let lit = u.operand as? IntLiteral, e.type == .int,
            let m = lit.magnitude, m <= UInt64(Int16.max)
        {
            return -Int(m)
        }
        return nil
    }

    /// `b` compares two ints with `comparison`.
    func fusedIntBranch(_ b: BinaryExpr, _ comparison: IntComparison, jumpWhen: Bool, to label: Int) {
        // The condition under which we jump, on (lhs, rhs).
        let condition = jumpWhen ? comparison : comparison.negated
        let mark = nextRegister
        if let imm = smallImmediate(b.rhs) {
            let l = expr(b.lhs)
            location = b.location
            let code: Opcode
            switch condition {
            case .lt: code = .jumpIfLtImm
            case .le: code = .jumpIfLeImm
            case .gt: code = .jumpIfGtImm
            case .ge: code = .jumpIfGeImm
            case .eq: code = .jumpIfEqImm
            case .ne: code = .jumpIfNeImm
            }
            emitJump(Instruction(code, a: l, b: imm, c: 0), to: label)
        } else {
            let l = expr(b.lhs)
            let r = expr(b.rhs)
            location = b.location
            switch condition {
            case .lt: emitJump(Instruction(.jumpIfLtInt, a: l, b: r), to: label)
            case .le: emitJump(Instruction(.jumpIfLeInt, a: l, b: r), to: label)
            case .gt: emitJump(Instruction(.jumpIfLtInt, a: r, b: l), to: label)
            case .ge: emitJump(Instruction(.jumpIfLeInt, a: r, b: l), to: label)
            case .eq: emitJump(Instruction(.jumpIfEqInt, a: l, b: r), to: label)
            case .ne: emitJump(Instruction(.jumpIfNeInt, a: l, b: r), to: label)
            }
        }
        nextRegister = max(mark, localsTop)
    }
}

/// The six comparisons of a fused compare-and-jump (on two ints, or an int and an immediate).
enum IntComparison {
    case lt, le, gt, ge, eq, ne

    /// nil for an operator that is not a comparison.
    init?(_ op: BinaryOp) {
        switch op {
        case .lt: self = .lt
        case .le: self = .le
        case .gt: self = .gt
        case .ge: self = .ge
        case .eq: self = .eq
        case .ne: self = .ne
        case .add, .sub, .mul, .div, .mod, .and, .or: return nil
        }
    }

    /// The comparison that holds exactly when this one does not (on ints: no NaN).
    var negated: IntComparison {
        switch self {
        case .lt: .ge
        case .le: .gt
        case .gt: .le
        case .ge: .lt
        case .eq: .ne
        case .ne: .eq
        }
    }
}
