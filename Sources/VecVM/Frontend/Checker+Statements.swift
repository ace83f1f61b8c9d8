// The type checker, part 2: statements — blocks, declarations, assignments, if, loops, returns.
// See Checker.swift for the checker's state and scopes.

extension Checker {
    // MARK: - Statements

    mutating func checkBlockContents(_ statements: [Stmt]) {
        var nothingRunsBecause: String?
        var warned = false  // once per block
        for s in statements {
            if let why = nothingRunsBecause, !warned {
                warningLog.unreachable(at: s.location, reason: why)
                warned = true
            }
            checkStatement(s)
            if nothingRunsBecause == nil { nothingRunsBecause = WarningLog.reasonNothingRunsAfter(s) }
        }
    }

    mutating func checkBlock(_ b: BlockStmt) {
        scopes.append([:])
        checkBlockContents(b.statements)
        scopes.removeLast()
    }

    mutating func checkStatement(_ s: Stmt) {
        switch s.kind {
        case .varDecl(let d):
            var t: VType
            if let ann = d.annotation {
                t = resolveType(ann)
                let vt = check(d.value, expected: t)
                if !vt.matches(t) {
                    error("cannot initialize '\(d.name)' of type \(t) with a value of type \(vt)", at: d.value.location)
                }
            } else {
                t = check(d.value, expected: nil)
            }
            if t == .void { t = .error }
            let v = Variable(
                name: d.name, type: t, isMutable: d.isMutable, declaration: d.nameLocation, isTopLevel: atTopLevel)
            d.variable = v
            declare(v, at: d.nameLocation)
            if !v.isTopLevel {
                warningLog.declare(v, .local)
            } else if !environment.isInteractive {
                warningLog.declare(v, .topLevel)
            }
        case .assign(let a):
            checkAssign(a)
        case .expression(let e):
            _ = check(e.expr, expected: nil, allowVoid: true)
        case .block(let b):
            checkBlock(b)
        case .if(let i):
            checkCondition(i.condition)
            checkBlock(i.then)
            if let o = i.otherwise {
                if let b = o as? BlockStmt { checkBlock(b) } else { checkStatement(o) }
            }
        case .while(let w):
            checkCondition(w.condition)
            loopDepth += 1
            checkBlock(w.body)
            loopDepth -= 1
        case .for(let f):
            let elementType: VType
            if let upper = f.upper {
                let lt = check(f.lower, expected: .int)
                let ut = check(upper, expected: .int)
                if !lt.matches(.int) { error("a range bound must be an int, found \(lt)", at: f.lower.location) }
                if !ut.matches(.int) { error("a range bound must be an int, found \(ut)", at: upper.location) }
                elementType = .int
            } else {
                let it = check(f.lower, expected: nil)
                switch it {
                case .array(let e): elementType = e.scalarType
                case .chan(let t): elementType = t
                case .error: elementType = .error
                default:
                    error(
                        "'for \(f.name) in' needs a range 'a..b', an array or a channel, found \(it)",
                        at: f.lower.location)
                    elementType = .error
                }
            }
            scopes.append([:])
            let v = Variable(
                name: f.name, type: elementType, isMutable: false, declaration: f.nameLocation, isTopLevel: false)
            f.variable = v
            declare(v, at: f.nameLocation)
            loopDepth += 1
            checkBlock(f.body)
            loopDepth -= 1
            scopes.removeLast()
        case .break:
            if loopDepth == 0 { error("'break' outside a loop", at: s.location) }
        case .continue:
            if loopDepth == 0 { error("'continue' outside a loop", at: s.location) }
        case .return(let r):
            if let f = currentFunction {
                if let value = r.value {
                    if f.resultType == .void {
                        _ = check(value, expected: nil, allowVoid: true)
                        error("function '\(f.name)' returns no value", at: value.location)
                    } else {
                        let t = check(value, expected: f.resultType)
                        if !t.matches(f.resultType) {
                            error("function '\(f.name)' returns \(f.resultType), not \(t)", at: value.location)
                        }
                    }
                } else if f.resultType != .void && f.resultType != .error {
                    error("function '\(f.name)' must return \(f.resultType.withArticle)", at: r.location)
                }
            } else if let value = r.value {
                _ = check(value, expected: nil, allowVoid: true)
                error("the top level of a program returns no value", at: value.location)
            }
        case .function:
            error("functions are declared at the top level of a file", at: s.location)
        case .extern:
            error("extern functions are declared at the top level of a file", at: s.location)
        }
    }

    mutating func checkCondition(_ e: Expr) {
        let t = check(e, expected: .bool)
        if !t.matches(.bool) { error("a condition must be a bool, found \(t)", at: e.location) }
    }

    mutating func checkAssign(_ a: AssignStmt) {
        let targetType: VType
        switch a.target.kind {
        case .name(let n):
            guard let v = resolveName(n, reading: false) else {
                _ = check(a.value, expected: nil)
                return
            }
            v.isAssigned = true
            if !v.isMutable {
                error("cannot assign to '\(n.name)': it is declared with 'let' (use 'var')", at: n.location)
            }
            targetType = v.type
            n.type = v.type
        case .index(let ix):
            targetType = check(ix, expected: nil)
        case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral, .unary, .binary, .call, .spawn, .slice,
            .arrayLiteral:
            _ = check(a.target, expected: nil)
            error("cannot assign to this expression", at: a.target.location)
            _ = check(a.value, expected: nil)
            return
        }
        guard let op = a.op.arithmetic else {
            let vt = check(a.value, expected: targetType)
            if !vt.matches(targetType) {
                error("cannot assign a value of type \(vt) to a target of type \(targetType)", at: a.value.location)
            }
            return
        }
        var vt = infer(a.value)
        if vt.isUntyped {
            vt = resolveUntyped(a.value, to: targetType.numericLane ?? (vt == .untypedInt ? .int : .float))
        }
        if targetType == .error || vt == .error { return }
        let result = arithmeticResult(op, targetType, vt, at: a.location)
        if result != .error && result != targetType {
            error(
                "'\(op.rawValue)=' would change the type of the target from \(targetType) to \(result)", at: a.location)
        }
    }
}
