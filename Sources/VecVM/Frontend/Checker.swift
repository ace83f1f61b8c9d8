// Checker: resolves names, enforces the static types of shared/LANGUAGE.md and annotates the AST for
// the compiler. Numeric literals are typed from their context, as in Swift: an expression made only of
// literals stays "untyped" until a typed operand, a declared type, a parameter or a conversion fixes
// it, and otherwise defaults to `int` or `float`. Every error is reported with its location; after one,
// the offending expression gets the type `.error`, which matches anything, so one mistake is one message.

/// What a host application adds to the language's names (REPL sessions, embedding).
struct CheckerEnvironment {
    /// Globals defined by earlier compilations (REPL lines), by name.
    var globals: [String: Variable] = [:]
    /// Functions defined by earlier compilations.
    var functions: [String: FunctionDecl] = [:]
    var externs: [String: ExternDecl] = [:]
    /// Swift functions registered by the host: name → (index, parameter types, result type).
    var hostFunctions: [String: (index: Int, parameters: [VType], result: VType)] = [:]
    /// REPL: every top-level variable becomes a global and a later declaration may replace an earlier one.
    var isInteractive = false
    /// Whether `extern` declarations may bind C functions.
    var allowExtern = true
    /// Whether `read_file`, `write_file`, `load_*` and `save` may be called.
    var allowFileAccess = true
    /// The folder of the file being compiled: a relative library path of an `extern` (one with a
    /// `/`, such as "./libmine.so") is resolved against it (nil: the current directory).
    var libraryDirectory: String?
    /// Index the first function of this compilation gets in the function table (0 is the main chunk).
    /// A REPL session passes the size of its table: earlier inputs' functions keep their indices,
    /// since tasks they started may still be running them, and new ones come after them.
    var firstFunctionIndex = 1
    /// Likewise for the extern table.
    var firstExternIndex = 0
}

struct Checker {
    let file: SourceFile
    private(set) var diagnostics: [Diagnostic] = []
    var environment: CheckerEnvironment
    /// Declarations and unreachable code seen, for the warnings (Frontend/Warnings.swift).
    private var warningLog = WarningLog()

    /// Functions and externs of this file, in declaration order.
    private(set) var functions: [FunctionDecl] = []
    private(set) var externs: [ExternDecl] = []
    private var functionsByName: [String: FunctionDecl] = [:]
    private var externsByName: [String: ExternDecl] = [:]
    /// Every top-level variable of the file (and of earlier REPL lines), visible inside function bodies.
    private(set) var topLevelVariables: [String: Variable] = [:]
    /// Declared top-level variables in order (for the compiler's global layout).
    private(set) var topLevelOrder: [Variable] = []

    private var scopes: [[String: Variable]] = []
    /// Names declared by top-level `let`/`var` anywhere in the file (for "used before its declaration").
    private var laterTopLevelNames: Set<String> = []
    private var currentFunction: FunctionDecl?
    private var loopDepth = 0

    init(file: SourceFile, environment: CheckerEnvironment = CheckerEnvironment()) {
        self.file = file
        self.environment = environment
        self.topLevelVariables = environment.globals
    }

    mutating func error(_ message: String, at loc: SourceLocation) {
        if diagnostics.count < 100 { diagnostics.append(Diagnostic(file: file, location: loc, message: message)) }
    }

    /// The warnings of a file that checked without errors (none otherwise: see Warnings.swift).
    var warnings: [Diagnostic] { diagnostics.isEmpty ? warningLog.warnings(file: file) : [] }

    // MARK: - Program

    mutating func check(_ unit: SourceUnit) {
        // Pass 1: function signatures, so that functions are visible in the whole file.
        for stmt in unit.statements {
            if let f = stmt as? FunctionDecl {
                if functionsByName[f.name] != nil || externsByName[f.name] != nil {
                    error("function '\(f.name)' is already declared", at: f.nameLocation)
                    continue
                }
                f.parameterTypes = f.parameters.map { resolveType($0.type) }
                f.resultType = f.resultSyntax.map { resolveType($0) } ?? .void
                f.index = environment.firstFunctionIndex + functions.count  // 0 is the main chunk
                functions.append(f)
                functionsByName[f.name] = f
            } else if let x = stmt as? ExternDecl {
                if functionsByName[x.name] != nil || externsByName[x.name] != nil {
                    error("function '\(x.name)' is already declared", at: x.nameLocation)
                    continue
                }
                checkExtern(x)
                x.index = environment.firstExternIndex + externs.count
                externs.append(x)
                externsByName[x.name] = x
            }
        }
        for stmt in unit.statements {
            if let d = stmt as? VarDecl { laterTopLevelNames.insert(d.name) }
        }
        // Pass 2: top-level statements in order (they declare the globals), then function bodies.
        scopes = [[:]]
        checkBlockContents(unit.statements.filter { !($0 is FunctionDecl) && !($0 is ExternDecl) })
        scopes = []
        for f in functions { checkFunctionBody(f) }
    }

    private mutating func checkExtern(_ x: ExternDecl) {
        x.parameterTypes = x.parameters.map { resolveType($0.type) }
        x.resultType = x.resultSyntax.map { resolveType($0) } ?? .void
        for (p, t) in zip(x.parameters, x.parameterTypes) {
            switch t {
            case .int, .float, .f32, .array, .error: break
            default:
                error(
                    "extern parameter '\(p.name)' has type \(t); C functions take int, float, f32 or arrays",
                    at: p.location)
            }
        }
        switch x.resultType {
        case .int, .float, .f32, .void, .error: break
        default:
            error(
                "extern function '\(x.name)' returns \(x.resultType); C functions return int, float, f32 or nothing",
                at: x.nameLocation)
        }
        if !environment.allowExtern {
            error("extern functions are disabled in this VM", at: x.location)
            return
        }
        if x.parameterTypes.contains(.error) || x.resultType == .error { return }
        switch ForeignFunction.bind(
            name: x.name, library: environment.resolvedLibraryPath(x.library), parameters: x.parameterTypes,
            result: x.resultType)
        {
        case .success(let f): x.foreign = f
        case .failure(let e): error(e.message, at: x.libraryLocation)
        }
    }

    private mutating func checkFunctionBody(_ f: FunctionDecl) {
        currentFunction = f
        loopDepth = 0
        scopes = [[:]]
        f.parameterVariables = []
        for (p, t) in zip(f.parameters, f.parameterTypes) {
            if scopes[0][p.name] != nil { error("duplicate parameter '\(p.name)'", at: p.location) }
            let v = Variable(name: p.name, type: t, isMutable: true, declaration: p.location, isTopLevel: false)
            scopes[0][p.name] = v
            f.parameterVariables.append(v)
            warningLog.declare(v, .parameter)
        }
        checkBlockContents(f.body.statements)
        if f.resultType != .void && f.resultType != .error && !terminates(f.body) {
            error(
                "function '\(f.name)' can reach its end without returning \(f.resultType.withArticle)",
                at: f.nameLocation)
        }
        scopes = []
        currentFunction = nil
    }

    /// Whether control cannot fall off the end of this statement (Go's "terminating statement").
    private func terminates(_ s: Stmt) -> Bool {
        switch s {
        case is ReturnStmt: return true
        // Any statement that terminates ends the block: what follows it never runs (a warning).
        case let b as BlockStmt: return b.statements.contains(where: terminates)
        case let i as IfStmt:
            guard let e = i.otherwise else { return false }
            return terminates(i.then) && terminates(e)
        case let w as WhileStmt:
            if let c = w.condition as? BoolLiteral, c.value { return !containsBreak(w.body) }
            return false
        default: return false
        }
    }

    private func containsBreak(_ s: Stmt) -> Bool {
        switch s {
        case is BreakStmt: return true
        case let b as BlockStmt: return b.statements.contains(where: containsBreak)
        case let i as IfStmt: return containsBreak(i.then) || (i.otherwise.map(containsBreak) ?? false)
        default: return false  // a nested loop's break ends that loop
        }
    }

    // MARK: - Types

    mutating func resolveType(_ t: TypeSyntax) -> VType {
        switch t {
        case .named(let name, let loc):
            switch name {
            case "int": return .int
            case "float": return .float
            case "f32": return .f32
            case "bool": return .bool
            case "str": return .str
            case "f32x8": return .f32x8
            case "f64x4": return .f64x4
            case "m32x8": return .m32x8
            case "m64x4": return .m64x4
            case "task", "chan":
                error("'\(name)' needs an element type: '\(name)<int>'", at: loc)
                return .error
            default:
                error("unknown type '\(name)'" + Suggestions.hint(for: name, among: Suggestions.typeNames), at: loc)
                return .error
            }
        case .array(let elem, let loc):
            let e = resolveType(elem)
            switch e {
            case .int: return .array(.int)
            case .float: return .array(.float)
            case .f32: return .array(.f32)
            case .bool: return .array(.bool)
            case .error: return .error
            default:
                error("arrays hold int, float, f32 or bool, not \(e)", at: loc)
                return .error
            }
        case .generic(let name, let arg, _):
            let a = resolveType(arg)
            if a == .error { return .error }
            return name == "task" ? .task(a) : .chan(a)
        }
    }

    // MARK: - Scopes

    private func lookup(_ name: String) -> Variable? {
        for scope in scopes.reversed() {
            if let v = scope[name] { return v }
        }
        return nil
    }

    private var atTopLevel: Bool { currentFunction == nil && scopes.count == 1 }

    private mutating func declare(_ v: Variable, at loc: SourceLocation) {
        if let old = scopes[scopes.count - 1][v.name], !(environment.isInteractive && atTopLevel) {
            error("'\(v.name)' is already declared in this scope (at \(old.declaration))", at: loc)
            return
        }
        scopes[scopes.count - 1][v.name] = v
        if v.isTopLevel {
            topLevelVariables[v.name] = v
            topLevelOrder.append(v)
        }
    }

    // MARK: - Statements

    private mutating func checkBlockContents(_ statements: [Stmt]) {
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

    private mutating func checkBlock(_ b: BlockStmt) {
        scopes.append([:])
        checkBlockContents(b.statements)
        scopes.removeLast()
    }

    mutating func checkStatement(_ s: Stmt) {
        switch s {
        case let d as VarDecl:
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
        case let a as AssignStmt:
            checkAssign(a)
        case let e as ExprStmt:
            _ = check(e.expr, expected: nil, allowVoid: true)
        case let b as BlockStmt:
            checkBlock(b)
        case let i as IfStmt:
            checkCondition(i.condition)
            checkBlock(i.then)
            if let o = i.otherwise {
                if let b = o as? BlockStmt { checkBlock(b) } else { checkStatement(o) }
            }
        case let w as WhileStmt:
            checkCondition(w.condition)
            loopDepth += 1
            checkBlock(w.body)
            loopDepth -= 1
        case let f as ForStmt:
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
        case is BreakStmt:
            if loopDepth == 0 { error("'break' outside a loop", at: s.location) }
        case is ContinueStmt:
            if loopDepth == 0 { error("'continue' outside a loop", at: s.location) }
        case let r as ReturnStmt:
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
        case is FunctionDecl:
            error("functions are declared at the top level of a file", at: s.location)
        case is ExternDecl:
            error("extern functions are declared at the top level of a file", at: s.location)
        default:
            error("unsupported statement", at: s.location)
        }
    }

    private mutating func checkCondition(_ e: Expr) {
        let t = check(e, expected: .bool)
        if !t.matches(.bool) { error("a condition must be a bool, found \(t)", at: e.location) }
    }

    private mutating func checkAssign(_ a: AssignStmt) {
        let targetType: VType
        switch a.target {
        case let n as NameExpr:
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
        case let ix as IndexExpr:
            targetType = check(ix, expected: nil)
        default:
            _ = check(a.target, expected: nil)
            error("cannot assign to this expression", at: a.target.location)
            _ = check(a.value, expected: nil)
            return
        }
        if a.op == .plain {
            let vt = check(a.value, expected: targetType)
            if !vt.matches(targetType) {
                error("cannot assign a value of type \(vt) to a target of type \(targetType)", at: a.value.location)
            }
            return
        }
        let op: BinaryOp = a.op == .add ? .add : a.op == .sub ? .sub : a.op == .mul ? .mul : .div
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

    // MARK: - Expressions

    /// Checks `e` in a context that expects `expected` (or nothing). Returns a concrete type: untyped
    /// literals are fixed here, to `expected`'s lane type when it has one, else to `int`/`float`.
    @discardableResult
    mutating func check(_ e: Expr, expected: VType?, allowVoid: Bool = false) -> VType {
        var t = infer(e, expected: expected)
        if t.isUntyped {
            let target: VType
            if let exp = expected, exp.isNumericScalar {
                target = exp
            } else if let exp = expected, let lane = exp.laneType, exp.isArray || exp.isSIMD, e is ArrayLiteral {
                target = lane
            } else {
                target = t == .untypedInt ? .int : .float
            }
            t = resolveUntyped(e, to: target)
        }
        if t == .void && !allowVoid {
            error("this call produces no value", at: e.location)
            e.type = .error
            return .error
        }
        return t
    }

    /// Fixes the type of an untyped (literal-only) subtree to `target` (a numeric scalar type).
    @discardableResult
    mutating func resolveUntyped(_ e: Expr, to target: VType) -> VType {
        guard target.isNumericScalar else {
            e.type = .error
            return .error
        }
        switch e {
        case let lit as IntLiteral:
            if target == .int, (lit.magnitude ?? UInt64.max) > UInt64(Int64.max) {
                error("integer literal \(lit.text) does not fit in an int", at: lit.location)
                e.type = .error
                return .error
            }
            if lit.magnitude == nil {
                error("integer literal \(lit.text) is too large", at: lit.location)
                e.type = .error
                return .error
            }
        case let lit as FloatLiteral:
            if target == .int {
                error("cannot use float literal \(lit.text) as an int", at: lit.location)
                e.type = .error
                return .error
            }
        case let u as UnaryExpr:
            if let lit = u.operand as? IntLiteral, target == .int, lit.magnitude == UInt64(1) << 63 {
                lit.type = .int  // -9223372036854775808 is representable
            } else {
                resolveUntyped(u.operand, to: target)
            }
        case let b as BinaryExpr:
            if b.op == .mod && target != .int {
                error("'%' is for integers", at: b.location)
            }
            if b.op.isComparison {
                // The operands were already fixed when the comparison was inferred.
                e.type = .bool
                return .bool
            }
            resolveUntyped(b.lhs, to: target)
            resolveUntyped(b.rhs, to: target)
        default:
            break
        }
        e.type = target
        return target
    }

    /// The variable `n` names; `reading: false` for the target of an assignment (not a use of its value).
    private mutating func resolveName(_ n: NameExpr, reading: Bool = true) -> Variable? {
        if let v = lookup(n.name) {
            n.variable = v
            if reading { v.isRead = true }
            return v
        }
        // Function bodies see every top-level variable of the file; top-level code sees them in order
        // (through `scopes`), plus the globals of earlier REPL lines.
        if let v = topLevelVariables[n.name], currentFunction != nil || isEarlierGlobal(v) {
            if currentFunction != nil { v.usedByFunction = true }
            n.variable = v
            if reading { v.isRead = true }
            return v
        }
        if functionsByName[n.name] != nil || environment.functions[n.name] != nil || externsByName[n.name] != nil {
            error("'\(n.name)' is a function; call it with '\(n.name)(...)'", at: n.location)
        } else if let b = Builtin(rawValue: n.name), b != .chanMake {
            error("'\(n.name)' is a built-in function; call it with '\(n.name)(...)'", at: n.location)
        } else if topLevelVariables[n.name] != nil || laterTopLevelNames.contains(n.name) {
            error("'\(n.name)' is used before its declaration", at: n.location)
        } else {
            error(
                "unknown name '\(n.name)'" + Suggestions.hint(for: n.name, among: visibleVariableNames), at: n.location)
        }
        n.type = .error
        return nil
    }

    // MARK: - Names for "did you mean" (Frontend/Suggestions.swift)

    /// The variables visible where the checker is (and `true`/`false`, for a misspelled literal).
    private var visibleVariableNames: [String] {
        var names = scopes.flatMap(\.keys)
        names += currentFunction != nil ? Array(topLevelVariables.keys) : Array(environment.globals.keys)
        return names + ["true", "false"]
    }

    /// Functions declared with `fn` in this file and earlier compilations (what `spawn` accepts).
    private var declaredFunctionNames: [String] { Array(functionsByName.keys) + environment.functions.keys }

    /// Everything that can be called by name: functions, externs, host functions and built-ins.
    private var callableNames: [String] {
        declaredFunctionNames + externsByName.keys + environment.externs.keys + environment.hostFunctions.keys
            + Builtin.allCases.map(\.rawValue).filter { $0 != Builtin.chanMake.rawValue }
    }

    /// A global of an earlier REPL line (already compiled, so already has its slot).
    private func isEarlierGlobal(_ v: Variable) -> Bool { environment.globals[v.name] === v }

    /// The natural type of `e`, possibly untyped. `expected` only guides literals nested in calls and
    /// array literals; callers compare the result against what they need.
    mutating func infer(_ e: Expr, expected: VType? = nil) -> VType {
        let t = inferUncached(e, expected: expected)
        e.type = t
        return t
    }

    private mutating func inferUncached(_ e: Expr, expected: VType?) -> VType {
        switch e {
        case is IntLiteral: return .untypedInt
        case is FloatLiteral: return .untypedFloat
        case is StringLiteral: return .str
        case is BoolLiteral: return .bool
        case let n as NameExpr:
            return resolveName(n)?.type ?? .error
        case let u as UnaryExpr:
            switch u.op {
            case .not:
                let t = check(u.operand, expected: .bool)
                if t.isElementwiseBool { return t }
                if !t.matches(.bool) {
                    error("'!' needs a bool, a [bool] or a mask, found \(t)", at: u.location)
                    return .error
                }
                return .bool
            case .negate:
                let t = infer(u.operand, expected: expected)
                if t.isUntyped || t == .error { return t }
                if t.numericLane != nil { return t }
                error("cannot negate a value of type \(t)", at: u.location)
                return .error
            }
        case let b as BinaryExpr:
            return inferBinary(b, expected: expected)
        case let c as CallExpr:
            return inferCall(c, expected: expected)
        case let s as SpawnExpr:
            let c = s.call
            guard let f = functionsByName[c.callee] ?? environment.functions[c.callee] else {
                for a in c.args { _ = check(a, expected: nil) }
                if externsByName[c.callee] != nil || Builtin(rawValue: c.callee) != nil {
                    error(
                        "'spawn' starts a function declared with 'fn'; '\(c.callee)' is not one", at: c.calleeLocation)
                } else {
                    error(
                        "unknown function '\(c.callee)'"
                            + Suggestions.hint(for: c.callee, among: declaredFunctionNames),
                        at: c.calleeLocation)
                }
                return .error
            }
            checkArguments(c, f.name, f.parameterTypes)
            c.target = .function(FunctionLink(f))
            c.type = f.resultType
            return .task(f.resultType)
        case let ix as IndexExpr:
            let bt = check(ix.base, expected: nil)
            let it = check(ix.index, expected: .int)
            if !it.matches(.int) { error("an index must be an int, found \(it)", at: ix.index.location) }
            switch bt {
            case .array(let el): return el.scalarType
            case .error: return .error
            case .f32x8, .f64x4, .m32x8, .m64x4:
                error("use lane(v, k) to read a lane of a SIMD value", at: ix.location)
                return .error
            default:
                error("cannot index a value of type \(bt)", at: ix.location)
                return .error
            }
        case let s as SliceExpr:
            let bt = check(s.base, expected: nil)
            for bound in [s.lower, s.upper] {
                let t = check(bound, expected: .int)
                if !t.matches(.int) { error("a slice bound must be an int, found \(t)", at: bound.location) }
            }
            if bt.isArray || bt == .error { return bt }
            error("cannot slice a value of type \(bt)", at: s.location)
            return .error
        case let a as ArrayLiteral:
            return inferArrayLiteral(a, expected: expected)
        default:
            error("unsupported expression", at: e.location)
            return .error
        }
    }

    private mutating func inferArrayLiteral(_ a: ArrayLiteral, expected: VType?) -> VType {
        if case .array(let el)? = expected {
            for x in a.elements {
                let t = check(x, expected: el.scalarType)
                if !t.matches(el.scalarType) {
                    error("array element must be \(el.scalarType), found \(t)", at: x.location)
                }
            }
            return .array(el)
        }
        if a.elements.isEmpty {
            error("an empty array literal needs a declared type ('let a: [float] = []')", at: a.location)
            return .error
        }
        let types = a.elements.map { infer($0) }
        var concrete: VType?
        for (x, t) in zip(a.elements, types) where !t.isUntyped && t != .error {
            if !t.isNumericScalar && t != .bool {
                error("arrays hold int, float, f32 or bool, not \(t)", at: x.location)
                return .error
            }
            if let c = concrete, c != t {
                error("array elements must all have the same type: \(c) and \(t)", at: x.location)
                return .error
            }
            concrete = t
        }
        if types.contains(.error) { return .error }
        let el = concrete ?? (types.contains(.untypedFloat) ? .float : .int)
        if el == .bool, let x = zip(a.elements, types).first(where: { $0.1.isUntyped })?.0 {
            error("array elements must all have the same type: bool and \(x.type)", at: x.location)
            return .error
        }
        for (x, t) in zip(a.elements, types) where t.isUntyped { resolveUntyped(x, to: el) }
        return .array(el.elementKind!)
    }

    private mutating func inferBinary(_ b: BinaryExpr, expected: VType?) -> VType {
        if b.op == .and || b.op == .or {
            let types = [b.lhs, b.rhs].map { check($0, expected: .bool) }
            for (side, t) in zip([b.lhs, b.rhs], types) where !t.matches(.bool) && !t.isElementwiseBool {
                error("'\(b.op.rawValue)' needs bool operands (or [bool] / masks), found \(t)", at: side.location)
                return .error
            }
            // Elementwise on [bool] and masks (both sides evaluated); a bool scalar is broadcast.
            if let t = types.first(where: \.isElementwiseBool) {
                for u in types where u.isElementwiseBool && u != t {
                    error("cannot apply '\(b.op.rawValue)' to \(types[0]) and \(types[1])", at: b.location)
                    return .error
                }
                return t
            }
            return .bool
        }
        var lt = infer(b.lhs, expected: b.op.isComparison ? nil : expected)
        var rt = infer(b.rhs, expected: b.op.isComparison ? nil : expected)
        if lt == .void || rt == .void {
            error("this call produces no value", at: (lt == .void ? b.lhs : b.rhs).location)
            return .error
        }
        if lt == .error || rt == .error {
            if lt.isUntyped { resolveUntyped(b.lhs, to: lt == .untypedInt ? .int : .float) }
            if rt.isUntyped { resolveUntyped(b.rhs, to: rt == .untypedInt ? .int : .float) }
            return .error
        }
        if lt.isUntyped && rt.isUntyped {
            if b.op.isComparison {
                let t: VType = lt == .untypedFloat || rt == .untypedFloat ? .float : .int
                resolveUntyped(b.lhs, to: t)
                resolveUntyped(b.rhs, to: t)
                return .bool
            }
            return lt == .untypedFloat || rt == .untypedFloat ? .untypedFloat : .untypedInt
        }
        // One side untyped: it takes the lane type of the other side.
        if lt.isUntyped {
            guard let lane = rt.numericLane else {
                error("cannot apply '\(b.op.rawValue)' to a number and a value of type \(rt)", at: b.location)
                resolveUntyped(b.lhs, to: lt == .untypedInt ? .int : .float)
                return .error
            }
            lt = resolveUntyped(b.lhs, to: lane)
            if lt == .error { return .error }
        } else if rt.isUntyped {
            guard let lane = lt.numericLane else {
                error("cannot apply '\(b.op.rawValue)' to a value of type \(lt) and a number", at: b.location)
                resolveUntyped(b.rhs, to: rt == .untypedInt ? .int : .float)
                return .error
            }
            rt = resolveUntyped(b.rhs, to: lane)
            if rt == .error { return .error }
        }
        if b.op.isComparison { return comparisonResult(b.op, lt, rt, at: b.location) }
        return arithmeticResult(b.op, lt, rt, at: b.location)
    }

    private mutating func comparisonResult(_ op: BinaryOp, _ lt: VType, _ rt: VType, at loc: SourceLocation) -> VType {
        // Elementwise: arrays (with a broadcast scalar) give a [bool], SIMD values a mask.
        if lt.isArray || rt.isArray || lt.isSIMD || rt.isSIMD || lt.isMask || rt.isMask {
            return elementwiseComparison(op, lt, rt, at: loc)
        }
        if lt != rt {
            error("cannot compare \(lt) with \(rt)\(conversionHint(lt, rt))", at: loc)
            return .error
        }
        switch lt {
        case .int, .float, .f32, .str: return .bool
        case .bool:
            if op == .eq || op == .ne { return .bool }
            error("'\(op.rawValue)' does not order bools; only '==' and '!=' compare them", at: loc)
            return .error
        default:
            error("cannot compare values of type \(lt)", at: loc)
            return .error
        }
    }

    private mutating func elementwiseComparison(_ op: BinaryOp, _ lt: VType, _ rt: VType, at loc: SourceLocation)
        -> VType
    {
        guard let ll = lt.laneType, let rl = rt.laneType, ll == rl else {
            error("cannot compare \(lt) with \(rt)", at: loc)
            return .error
        }
        if lt.isMask || rt.isMask {
            error("cannot compare masks; combine them with '&&', '||' and '!'", at: loc)
            return .error
        }
        if ll == .bool && op != .eq && op != .ne {
            error("'\(op.rawValue)' does not order bools; only '==' and '!=' compare them", at: loc)
            return .error
        }
        if lt.isArray && rt.isArray && lt != rt || lt.isSIMD && rt.isSIMD && lt != rt || lt.isArray && rt.isSIMD
            || lt.isSIMD && rt.isArray
        {
            error("cannot compare \(lt) with \(rt)", at: loc)
            return .error
        }
        if lt.isSIMD || rt.isSIMD { return (lt.isSIMD ? lt : rt).maskType! }
        return .array(.bool)
    }

    private func conversionHint(_ a: VType, _ b: VType) -> String {
        if a.isNumericScalar && b.isNumericScalar { return " (no implicit conversion: use \(a)(...) or \(b)(...))" }
        return ""
    }

    /// The type of `l op r` for arithmetic, with the broadcasting rules of arrays and SIMD values.
    mutating func arithmeticResult(_ op: BinaryOp, _ lt: VType, _ rt: VType, at loc: SourceLocation) -> VType {
        if lt == .error || rt == .error { return .error }
        let name = "'\(op.rawValue)'"
        if lt == .str && rt == .str {
            if op == .add { return .str }
            error("\(name) does not apply to strings; only '+' joins them", at: loc)
            return .error
        }
        guard let ll = lt.numericLane, let rl = rt.numericLane else {
            error("cannot apply \(name) to \(lt) and \(rt)", at: loc)
            return .error
        }
        if ll != rl {
            error("cannot apply \(name) to \(lt) and \(rt)\(conversionHint(ll, rl))", at: loc)
            return .error
        }
        let result: VType
        switch (lt.isNumericScalar, rt.isNumericScalar) {
        case (true, true): result = lt
        case (true, false): result = rt
        case (false, true): result = lt
        case (false, false):
            if lt != rt {
                error("cannot apply \(name) to \(lt) and \(rt)", at: loc)
                return .error
            }
            result = lt
        }
        if op == .mod && ll != .int {
            error("'%' is for integers", at: loc)
            return .error
        }
        return result
    }

    // MARK: - Calls

    private mutating func checkArguments(_ c: CallExpr, _ name: String, _ params: [VType]) {
        if c.args.count != params.count {
            error(
                "'\(name)' takes \(params.count) argument\(params.count == 1 ? "" : "s"), not \(c.args.count)",
                at: c.location)
        }
        for (i, a) in c.args.enumerated() {
            let want: VType? = i < params.count ? params[i] : nil
            let t = check(a, expected: want)
            if let w = want, !t.matches(w) {
                error("argument \(i + 1) of '\(name)' must be \(w), found \(t)", at: a.location)
            }
        }
    }

    private mutating func inferCall(_ c: CallExpr, expected: VType?) -> VType {
        if let v = lookup(c.callee) ?? (currentFunction != nil ? topLevelVariables[c.callee] : nil) {
            _ = v
            error("'\(c.callee)' is a variable, not a function", at: c.calleeLocation)
            for a in c.args { _ = check(a, expected: nil) }
            return .error
        }
        if let f = functionsByName[c.callee] ?? environment.functions[c.callee] {
            checkArguments(c, f.name, f.parameterTypes)
            c.target = .function(FunctionLink(f))
            return f.resultType
        }
        if let x = externsByName[c.callee] ?? environment.externs[c.callee] {
            checkArguments(c, x.name, x.parameterTypes)
            c.target = .external(x)
            return x.resultType
        }
        if let h = environment.hostFunctions[c.callee] {
            checkArguments(c, c.callee, h.parameters)
            c.target = .host(h.index)
            return h.result
        }
        guard let b = Builtin(rawValue: c.callee) else {
            error(
                "unknown function '\(c.callee)'" + Suggestions.hint(for: c.callee, among: callableNames),
                at: c.calleeLocation)
            for a in c.args { _ = check(a, expected: nil) }
            return .error
        }
        c.target = .builtin(b)
        return inferBuiltin(b, c, expected: expected)
    }

    private mutating func arity(_ c: CallExpr, _ n: Int) -> Bool {
        if c.args.count == n { return true }
        error("'\(c.callee)' takes \(n) argument\(n == 1 ? "" : "s"), not \(c.args.count)", at: c.location)
        for a in c.args { _ = check(a, expected: nil) }
        return false
    }

    /// Checks an argument that may be a scalar, array or SIMD value of a numeric lane type.
    private mutating func numericOperand(_ e: Expr, expected: VType?, _ what: String) -> VType {
        let t = check(e, expected: expected?.numericLane ?? expected)
        if t == .error { return .error }
        if t.numericLane == nil {
            error("\(what) needs a number, an array or a SIMD value, found \(t)", at: e.location)
            return .error
        }
        return t
    }

    /// Infers several operands with broadcasting: untyped ones take the lane type of the typed ones.
    private mutating func broadcastOperands(_ args: [Expr], _ c: CallExpr, expected: VType?) -> VType {
        var types = args.map { infer($0, expected: expected) }
        if types.contains(.error) {
            for (a, t) in zip(args, types) where t.isUntyped { resolveUntyped(a, to: t == .untypedInt ? .int : .float) }
            return .error
        }
        if let bad = zip(args, types).first(where: { $0.1 == .void }) {
            error("this call produces no value", at: bad.0.location)
            return .error
        }
        let typed = types.first(where: { !$0.isUntyped })
        let lane: VType
        if let t = typed {
            guard let l = t.numericLane else {
                error("'\(c.callee)' needs numbers, arrays or SIMD values, found \(t)", at: c.location)
                return .error
            }
            lane = l
        } else if let exp = expected?.numericLane {
            lane = exp
        } else {
            lane = types.contains(.untypedFloat) ? .float : .int
        }
        for i in args.indices where types[i].isUntyped {
            types[i] = resolveUntyped(args[i], to: lane)
            if types[i] == .error { return .error }
        }
        var result = types[0]
        for t in types.dropFirst() {
            if let l = result.numericLane, let r = t.numericLane, l != r {
                error(
                    "'\(c.callee)' needs operands of one element type, found \(result) and \(t)\(conversionHint(l, r))",
                    at: c.location)
                return .error
            }
            result = arithmeticResult(.add, result, t, at: c.location)
            if result == .error { return .error }
        }
        return result
    }

    private mutating func inferBuiltin(_ b: Builtin, _ c: CallExpr, expected: VType?) -> VType {
        switch b {
        case .print:
            for a in c.args {
                let t = check(a, expected: nil)
                if t == .void { error("this call produces no value", at: a.location) }
            }
            return .void
        case .len:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if !t.isArray && t != .error && t != .str {
                error("len needs an array, found \(t)", at: c.args[0].location)
                return .error
            }
            return .int
        case .iota:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: .int)
            if !t.matches(.int) { error("iota needs an int count, found \(t)", at: c.args[0].location) }
            return .array(.int)
        case .fill:
            guard arity(c, 2) else { return .error }
            let nt = check(c.args[0], expected: .int)
            if !nt.matches(.int) { error("fill needs an int count, found \(nt)", at: c.args[0].location) }
            let xt = check(c.args[1], expected: expected?.laneType)
            if xt == .error { return .error }
            guard let k = xt.elementKind, xt.isNumericScalar || xt == .bool else {
                error("fill needs an int, float, f32 or bool value, found \(xt)", at: c.args[1].location)
                return .error
            }
            return .array(k)
        case .sqrt, .abs:
            guard arity(c, 1) else { return .error }
            // `sqrt(2)`: a literal argument of sqrt is a float unless the context says f32.
            var want = expected
            if b == .sqrt, want?.laneType == nil || want?.laneType == .int { want = .float }
            let t = numericOperand(c.args[0], expected: want, b.rawValue)
            if b == .sqrt && t.laneType == .int {
                error("sqrt needs float or f32 values, found \(t) (convert with float(...))", at: c.args[0].location)
                return .error
            }
            return t
        case .min, .max:
            if c.args.count == 1 {
                let t = check(c.args[0], expected: nil)
                if t == .error { return .error }
                guard t.isArray || t.isSIMD, let lane = t.numericLane else {
                    error(
                        "\(b.rawValue) of one value needs an array or a SIMD value, found \(t) (or pass two values)",
                        at: c.args[0].location)
                    return .error
                }
                return lane
            }
            guard arity(c, 2) else { return .error }
            return broadcastOperands(c.args, c, expected: expected)
        case .fma:
            guard arity(c, 3) else { return .error }
            return broadcastOperands(c.args, c, expected: expected)
        case .sum:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if t == .error { return .error }
            guard t.isArray || t.isSIMD, let lane = t.numericLane else {
                error(
                    "sum needs an array or a SIMD value of numbers, found \(t)\(t.isElementwiseBool ? " (count(m) counts the true lanes)" : "")",
                    at: c.args[0].location)
                return .error
            }
            return lane
        case .dot:
            guard arity(c, 2) else { return .error }
            let a = check(c.args[0], expected: nil)
            let bt = check(c.args[1], expected: nil)
            if a == .error || bt == .error { return .error }
            guard a == bt, a.isArray || a.isSIMD, let lane = a.numericLane else {
                error("dot needs two arrays (or SIMD values) of the same type, found \(a) and \(bt)", at: c.location)
                return .error
            }
            return lane
        case .splat:
            guard arity(c, 1) else { return .error }
            let lane: VType? = expected == .f32x8 ? .f32 : expected == .f64x4 ? .float : nil
            let t = check(c.args[0], expected: lane)
            switch t {
            case .f32: return .f32x8
            case .float: return .f64x4
            case .error: return .error
            default:
                error("splat needs an f32 (for f32x8) or a float (for f64x4), found \(t)", at: c.args[0].location)
                return .error
            }
        case .vload:
            guard arity(c, 2) else { return .error }
            let a = check(c.args[0], expected: nil)
            let i = check(c.args[1], expected: .int)
            if !i.matches(.int) { error("vload needs an int index, found \(i)", at: c.args[1].location) }
            switch a {
            case .array(.f32): return .f32x8
            case .array(.float): return .f64x4
            case .error: return .error
            default:
                error("vload needs an [f32] or [float] array, found \(a)", at: c.args[0].location)
                return .error
            }
        case .vstore:
            guard arity(c, 3) else { return .error }
            let a = check(c.args[0], expected: nil)
            let i = check(c.args[1], expected: .int)
            if !i.matches(.int) { error("vstore needs an int index, found \(i)", at: c.args[1].location) }
            let want: VType? = a == .array(.f32) ? .f32x8 : a == .array(.float) ? .f64x4 : nil
            let v = check(c.args[2], expected: want)
            if a == .error || v == .error { return .void }
            guard let w = want else {
                error("vstore needs an [f32] or [float] array, found \(a)", at: c.args[0].location)
                return .void
            }
            if v != w { error("vstore into \(a) needs a \(w) value, found \(v)", at: c.args[2].location) }
            return .void
        case .lane:
            guard arity(c, 2) else { return .error }
            let v = check(c.args[0], expected: nil)
            let k = check(c.args[1], expected: .int)
            if !k.matches(.int) { error("lane needs an int lane number, found \(k)", at: c.args[1].location) }
            if v == .error { return .error }
            guard v.isSIMD || v.isMask else {
                error("lane needs an f32x8, f64x4 or mask value, found \(v)", at: c.args[0].location)
                return .error
            }
            return v.laneType!
        case .wait:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if case .task(let r) = t { return r }
            if t != .error { error("wait needs a task, found \(t)", at: c.args[0].location) }
            return .error
        case .chanMake:
            guard let ta = c.typeArgument else {
                error("make a channel with 'chan<T>(capacity)'", at: c.location)
                for a in c.args { _ = check(a, expected: nil) }
                return .error
            }
            let el = resolveType(ta)
            if c.args.count != 1 {
                error("'chan<\(el)>' takes one argument, the capacity (0 for unbuffered)", at: c.location)
                for a in c.args { _ = check(a, expected: nil) }
                return el == .error ? .error : .chan(el)
            }
            let t = check(c.args[0], expected: .int)
            if !t.matches(.int) { error("a channel capacity must be an int, found \(t)", at: c.args[0].location) }
            return el == .error ? .error : .chan(el)
        case .send:
            guard arity(c, 2) else { return .void }
            let ct = check(c.args[0], expected: nil)
            guard case .chan(let el) = ct else {
                _ = check(c.args[1], expected: nil)
                if ct != .error { error("send needs a channel, found \(ct)", at: c.args[0].location) }
                return .void
            }
            let vt = check(c.args[1], expected: el)
            if !vt.matches(el) { error("cannot send a \(vt) on a chan<\(el)>", at: c.args[1].location) }
            return .void
        case .recv, .close:
            guard arity(c, 1) else { return b == .recv ? .error : .void }
            let ct = check(c.args[0], expected: nil)
            guard case .chan(let el) = ct else {
                if ct != .error { error("\(b.rawValue) needs a channel, found \(ct)", at: c.args[0].location) }
                return b == .recv ? .error : .void
            }
            return b == .recv ? el : .void
        case .yield:
            _ = arity(c, 0)
            return .void
        case .sleep:
            guard arity(c, 1) else { return .void }
            let t = check(c.args[0], expected: .int)
            if !t.matches(.int) {
                error("sleep needs an int number of milliseconds, found \(t)", at: c.args[0].location)
            }
            return .void
        case .now:
            _ = arity(c, 0)
            return .int
        case .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round:
            guard arity(c, 1) else { return .error }
            // A literal argument is a float unless the context says f32.
            var want = expected
            if want?.numericLane == nil || want?.numericLane == .int { want = .float }
            let t = numericOperand(c.args[0], expected: want, b.rawValue)
            if t.numericLane == .int {
                error(
                    "\(b.rawValue) needs float or f32 values, found \(t) (convert with float(...))",
                    at: c.args[0].location)
                return .error
            }
            return t
        case .pow:
            guard arity(c, 2) else { return .error }
            var want = expected
            if want?.numericLane == nil || want?.numericLane == .int { want = .float }
            let t = broadcastOperands(c.args, c, expected: want)
            if t.numericLane == .int {
                error("pow needs float or f32 values, found \(t) (convert with float(...))", at: c.location)
                return .error
            }
            return t
        case .select:
            guard arity(c, 3) else { return .error }
            return inferSelect(c, expected: expected)
        case .any, .all, .count:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if t == .error { return .error }
            guard t.isElementwiseBool else {
                error("\(b.rawValue) needs a [bool] or a mask, found \(t)", at: c.args[0].location)
                return .error
            }
            return b == .count ? .int : .bool
        case .toInt, .toFloat, .toF32:
            guard arity(c, 1) else { return .error }
            let target: VType = b == .toInt ? .int : b == .toFloat ? .float : .f32
            var t = infer(c.args[0], expected: nil)
            if t == .untypedInt && containsRemainder(c.args[0]) {
                // Integer literals under `%` stay int (LANGUAGE.md "Types"): `float(7 % 4)` is 3.0.
                t = resolveUntyped(c.args[0], to: .int)
            } else if t == .untypedInt {
                t = resolveUntyped(c.args[0], to: target)
            } else if t == .untypedFloat {
                t = resolveUntyped(c.args[0], to: target == .int ? .float : target)
            }
            switch t {
            case .int, .float, .f32: return target
            case .str: return target  // parses the text (a runtime error if it is not a number)
            case .array(let k) where k != .bool: return .array(target.elementKind!)
            case .error: return .error
            default:
                error("cannot convert \(t) to \(target)", at: c.args[0].location)
                return .error
            }
        case .toStr:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if t == .void { error("this call produces no value", at: c.args[0].location) }
            return .str
        case .argc, .arg, .eof, .save, .readLine, .readFile, .writeFile, .loadF32, .loadFloat, .loadInt:
            return inferIOBuiltin(b, c)
        }
    }

    /// `select(m, a, b)`: `m` a [bool], a mask or a bool; `a` and `b` arrays, SIMD values or broadcast
    /// scalars of one element type. The result has the shape of `m` (an array for a [bool], the SIMD type
    /// of the mask) and the element type of `a` and `b`.
    private mutating func inferSelect(_ c: CallExpr, expected: VType?) -> VType {
        let mt = check(c.args[0], expected: nil)
        var want = expected
        if let s = mt.maskedSIMDType { want = s }
        let vt = broadcastOperands(Array(c.args[1...]), c, expected: want)
        if mt == .error || vt == .error { return .error }
        guard let lane = vt.numericLane else { return .error }
        switch mt {
        case .array(.bool):
            if vt.isSIMD {
                error("select with a [bool] picks between arrays or scalars, not \(vt)", at: c.location)
                return .error
            }
            return .array(lane.elementKind!)
        case .m32x8, .m64x4:
            let simd = mt.maskedSIMDType!
            if vt.isArray || vt.laneType != simd.laneType {
                error(
                    "select with a \(mt) picks between \(simd) values (or \(simd.laneType!) scalars), not \(vt)",
                    at: c.location)
                return .error
            }
            return simd
        case .bool:
            return vt
        default:
            error("select needs a [bool], a mask or a bool as its first argument, found \(mt)", at: c.args[0].location)
            return .error
        }
    }

    /// Whether an untyped literal expression contains `%` (its literals then stay `int`).
    private func containsRemainder(_ e: Expr) -> Bool {
        switch e {
        case let b as BinaryExpr: b.op == .mod || containsRemainder(b.lhs) || containsRemainder(b.rhs)
        case let u as UnaryExpr: containsRemainder(u.operand)
        default: false
        }
    }
}
