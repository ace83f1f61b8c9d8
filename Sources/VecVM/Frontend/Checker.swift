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
    var warningLog = WarningLog()

    /// Functions and externs of this file, in declaration order.
    private(set) var functions: [FunctionDecl] = []
    private(set) var externs: [ExternDecl] = []
    var functionsByName: [String: FunctionDecl] = [:]
    var externsByName: [String: ExternDecl] = [:]
    /// Every top-level variable of the file (and of earlier REPL lines), visible inside function bodies.
    private(set) var topLevelVariables: [String: Variable] = [:]
    /// Declared top-level variables in order (for the compiler's global layout).
    private(set) var topLevelOrder: [Variable] = []

    var scopes: [[String: Variable]] = []
    /// Names declared by top-level `let`/`var` anywhere in the file (for "used before its declaration").
    var laterTopLevelNames: Set<String> = []
    var currentFunction: FunctionDecl?
    var loopDepth = 0

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
            switch stmt.kind {
            case .function(let f):
                if functionsByName[f.name] != nil || externsByName[f.name] != nil {
                    error("function '\(f.name)' is already declared", at: f.nameLocation)
                    continue
                }
                f.parameterTypes = f.parameters.map { resolveType($0.type) }
                f.resultType = f.resultSyntax.map { resolveType($0) } ?? .void
                f.index = environment.firstFunctionIndex + functions.count  // 0 is the main chunk
                functions.append(f)
                functionsByName[f.name] = f
            case .extern(let x):
                if functionsByName[x.name] != nil || externsByName[x.name] != nil {
                    error("function '\(x.name)' is already declared", at: x.nameLocation)
                    continue
                }
                checkExtern(x)
                x.index = environment.firstExternIndex + externs.count
                externs.append(x)
                externsByName[x.name] = x
            case .varDecl, .assign, .expression, .block, .if, .while, .for, .break, .continue, .return:
                break  // not a declaration seen from the whole file: checked in order below
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

    mutating func checkExtern(_ x: ExternDecl) {
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

    mutating func checkFunctionBody(_ f: FunctionDecl) {
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
    func terminates(_ s: Stmt) -> Bool {
        switch s.kind {
        case .return: return true
        // Any statement that terminates ends the block: what follows it never runs (a warning).
        case .block(let b): return b.statements.contains(where: terminates)
        case .if(let i):
            guard let e = i.otherwise else { return false }
            return terminates(i.then) && terminates(e)
        case .while(let w):
            if let c = w.condition as? BoolLiteral, c.value { return !Checker.containsBreak(w.body) }
            return false
        // A `for` ends when its range, array or channel does; `break` and `continue` stay in the function.
        case .varDecl, .assign, .expression, .for, .break, .continue, .function, .extern: return false
        }
    }

    /// Whether `s` contains a `break` of the loop it is in (not one of a nested loop).
    static func containsBreak(_ s: Stmt) -> Bool {
        switch s.kind {
        case .break: return true
        case .block(let b): return b.statements.contains(where: containsBreak)
        case .if(let i): return containsBreak(i.then) || (i.otherwise.map(containsBreak) ?? false)
        case .while, .for: return false  // a nested loop's break ends that loop
        case .varDecl, .assign, .expression, .continue, .return, .function, .extern: return false
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

    func lookup(_ name: String) -> Variable? {
        for scope in scopes.reversed() {
            if let v = scope[name] { return v }
        }
        return nil
    }

    var atTopLevel: Bool { currentFunction == nil && scopes.count == 1 }

    mutating func declare(_ v: Variable, at loc: SourceLocation) {
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

}
