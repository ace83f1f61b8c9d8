// The syntax tree. The parser builds it; the checker fills in `type` on every expression and resolves
// names to `Variable`s and call targets, which the compiler then reads. Nodes are classes so that the
// checker can annotate them in place.
//
// Passes dispatch on a node's `kind` (ExprKind, StmtKind): an enum with one case per node class,
// carrying the node, switched over with no `default:`. A new node class gets a new case, and each
// pass fails to compile until it handles it; the `switch e { case let b as BinaryExpr: ...
// default: ... }` this replaced compiled a new node silently to nothing. A test for one shape
// (`e as? BoolLiteral`, a peephole) stays a cast: its answer for a new node, "no", is right.
// Rejected: a visitor protocol (the passes are a mutating checker, compiler methods with `into:`
// and `inout` builders, and a dozen small recursive predicates: a conforming type and a result type
// each, much ceremony for the same exhaustiveness), and an enum in place of the classes (the checker
// annotates nodes in place and later passes key on their identity). Swift cannot make a subclass
// override `kind`, so the base classes' is a fatal error naming the class; SyntaxKindTests parses
// a node of every class.

/// A type as written in the source: `int`, `[f32]`, `chan<task<int>>`.
indirect enum TypeSyntax {
    case named(String, SourceLocation)
    case array(TypeSyntax, SourceLocation)
    case generic(String, TypeSyntax, SourceLocation)

    var location: SourceLocation {
        switch self {
        case .named(_, let l), .array(_, let l), .generic(_, _, let l): l
        }
    }
}

enum UnaryOp { case negate, not }

enum BinaryOp: String {
    case add = "+"
    case sub = "-"
    case mul = "*"
    case div = "/"
    case mod = "%"
    case eq = "=="
    case ne = "!="
    case lt = "<"
    case le = "<="
    case gt = ">"
    case ge = ">="
    case and = "&&"
    case or = "||"

    var isArithmetic: Bool {
        switch self {
        case .add, .sub, .mul, .div, .mod: true
        case .eq, .ne, .lt, .le, .gt, .ge, .and, .or: false
        }
    }

    var isComparison: Bool {
        switch self {
        case .eq, .ne, .lt, .le, .gt, .ge: true
        case .add, .sub, .mul, .div, .mod, .and, .or: false
        }
    }
}

class Expr {
    let location: SourceLocation
    /// Filled in by the checker; `.error` until then (and after an error, to silence cascades).
    var type: VType = .error
    /// Height of this subtree; the parser bounds it so that no later recursive pass can exhaust the stack.
    var depth = 1
    init(_ location: SourceLocation) { self.location = location }

    /// What the node is, for an exhaustive `switch` (see the top of this file).
    var kind: ExprKind { fatalError("\(Swift.type(of: self)) does not override Expr.kind") }
}

/// One case per expression class, carrying the node.
enum ExprKind {
    case intLiteral(IntLiteral)
    case floatLiteral(FloatLiteral)
    case stringLiteral(StringLiteral)
    case boolLiteral(BoolLiteral)
    case name(NameExpr)
    case unary(UnaryExpr)
    case binary(BinaryExpr)
    case call(CallExpr)
    case spawn(SpawnExpr)
    case index(IndexExpr)
    case slice(SliceExpr)
    case arrayLiteral(ArrayLiteral)
}

final class IntLiteral: Expr {
    let text: String
    /// The magnitude, or nil when it does not fit in 64 bits.
    let magnitude: UInt64?
    init(_ text: String, _ loc: SourceLocation) {
        self.text = text
        if text.hasPrefix("0x") { magnitude = UInt64(text.dropFirst(2), radix: 16) } else { magnitude = UInt64(text) }
        super.init(loc)
    }

    override var kind: ExprKind { .intLiteral(self) }
}

final class FloatLiteral: Expr {
    let text: String
    init(_ text: String, _ loc: SourceLocation) {
        self.text = text
        super.init(loc)
    }

    override var kind: ExprKind { .floatLiteral(self) }
}

final class StringLiteral: Expr {
    let value: String
    init(_ value: String, _ loc: SourceLocation) {
        self.value = value
        super.init(loc)
    }

    override var kind: ExprKind { .stringLiteral(self) }
}

final class BoolLiteral: Expr {
    let value: Bool
    init(_ value: Bool, _ loc: SourceLocation) {
        self.value = value
        super.init(loc)
    }

    override var kind: ExprKind { .boolLiteral(self) }
}

final class NameExpr: Expr {
    let name: String
    var variable: Variable?
    init(_ name: String, _ loc: SourceLocation) {
        self.name = name
        super.init(loc)
    }

    override var kind: ExprKind { .name(self) }
}

final class UnaryExpr: Expr {
    let op: UnaryOp
    let operand: Expr
    init(_ op: UnaryOp, _ operand: Expr, _ loc: SourceLocation) {
        self.op = op
        self.operand = operand
        super.init(loc)
    }

    override var kind: ExprKind { .unary(self) }
}

final class BinaryExpr: Expr {
    let op: BinaryOp
    let lhs: Expr
    let rhs: Expr
    init(_ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, _ loc: SourceLocation) {
        self.op = op
        self.lhs = lhs
        self.rhs = rhs
        super.init(loc)
    }

    override var kind: ExprKind { .binary(self) }
}

/// What a call resolves to.
enum CallTarget {
    case unresolved
    /// Unowned: a recursive function's body calls the function itself, and a strong reference here
    /// made every recursive (or mutually recursive) function's AST a cycle that was never freed
    /// (about 1 KB per compile, which the REPL and long-lived hosts accumulated; found by
    /// fuzz-frontend's LeakSanitizer). A FunctionDecl is owned by its program's statements, or, for
    /// functions of earlier REPL inputs, by the session's environment, and functions cannot be
    /// redeclared: it outlives every call that names it.
    case function(FunctionLink)
    case external(ExternDecl)
    case host(Int)
    case builtin(Builtin)
    /// The REPL's display of a value (Session): print it, a str quoted. Never written in a program.
    case echo
}

/// A call's callee, held without keeping it alive (see CallTarget.function).
struct FunctionLink {
    unowned let decl: FunctionDecl
    init(_ decl: FunctionDecl) { self.decl = decl }
}

final class CallExpr: Expr {
    let callee: String
    let calleeLocation: SourceLocation
    let args: [Expr]
    /// `chan<T>(cap)` carries its element type here.
    let typeArgument: TypeSyntax?
    var target: CallTarget = .unresolved
    init(
        _ callee: String, _ calleeLoc: SourceLocation, _ args: [Expr], typeArgument: TypeSyntax? = nil,
        _ loc: SourceLocation
    ) {
        self.callee = callee
        self.calleeLocation = calleeLoc
        self.args = args
        self.typeArgument = typeArgument
        super.init(loc)
    }

    override var kind: ExprKind { .call(self) }
}

final class SpawnExpr: Expr {
    let call: CallExpr
    init(_ call: CallExpr, _ loc: SourceLocation) {
        self.call = call
        super.init(loc)
    }

    override var kind: ExprKind { .spawn(self) }
}

final class IndexExpr: Expr {
    let base: Expr
    let index: Expr
    init(_ base: Expr, _ index: Expr, _ loc: SourceLocation) {
        self.base = base
        self.index = index
        super.init(loc)
    }

    override var kind: ExprKind { .index(self) }
}

final class SliceExpr: Expr {
    let base: Expr
    let lower: Expr
    let upper: Expr
    init(_ base: Expr, _ lower: Expr, _ upper: Expr, _ loc: SourceLocation) {
        self.base = base
        self.lower = lower
        self.upper = upper
        super.init(loc)
    }

    override var kind: ExprKind { .slice(self) }
}

final class ArrayLiteral: Expr {
    let elements: [Expr]
    init(_ elements: [Expr], _ loc: SourceLocation) {
        self.elements = elements
        super.init(loc)
    }

    override var kind: ExprKind { .arrayLiteral(self) }
}

// MARK: - Statements

class Stmt {
    let location: SourceLocation
    init(_ location: SourceLocation) { self.location = location }

    /// What the statement is, for an exhaustive `switch` (see the top of this file).
    var kind: StmtKind { fatalError("\(type(of: self)) does not override Stmt.kind") }
}

/// One case per statement class, carrying the node; the cases are named after the keywords.
enum StmtKind {
    /// `let` or `var`.
    case varDecl(VarDecl)
    case assign(AssignStmt)
    case expression(ExprStmt)
    case block(BlockStmt)
    case `if`(IfStmt)
    case `while`(WhileStmt)
    case `for`(ForStmt)
    case `break`(BreakStmt)
    case `continue`(ContinueStmt)
    case `return`(ReturnStmt)
    case function(FunctionDecl)
    case extern(ExternDecl)
}

final class VarDecl: Stmt {
    let name: String
    let nameLocation: SourceLocation
    let isMutable: Bool
    let annotation: TypeSyntax?
    let value: Expr
    var variable: Variable?
    init(
        name: String, nameLocation: SourceLocation, isMutable: Bool, annotation: TypeSyntax?, value: Expr,
        _ loc: SourceLocation
    ) {
        self.name = name
        self.nameLocation = nameLocation
        self.isMutable = isMutable
        self.annotation = annotation
        self.value = value
        super.init(loc)
    }

    override var kind: StmtKind { .varDecl(self) }
}

enum AssignOp {
    case plain, add, sub, mul, div

    /// The operator of `x op= e`, which means `x = x op e`; nil for `=`.
    var arithmetic: BinaryOp? {
        switch self {
        case .plain: nil
        case .add: .add
        case .sub: .sub
        case .mul: .mul
        case .div: .div
        }
    }
}

final class AssignStmt: Stmt {
    let target: Expr  // NameExpr or IndexExpr
    let op: AssignOp
    let value: Expr
    init(_ target: Expr, _ op: AssignOp, _ value: Expr, _ loc: SourceLocation) {
        self.target = target
        self.op = op
        self.value = value
        super.init(loc)
    }

    override var kind: StmtKind { .assign(self) }
}

final class ExprStmt: Stmt {
    let expr: Expr
    init(_ expr: Expr) {
        self.expr = expr
        super.init(expr.location)
    }

    override var kind: StmtKind { .expression(self) }
}

final class BlockStmt: Stmt {
    let statements: [Stmt]
    init(_ statements: [Stmt], _ loc: SourceLocation) {
        self.statements = statements
        super.init(loc)
    }

    override var kind: StmtKind { .block(self) }
}

final class IfStmt: Stmt {
    let condition: Expr
    let then: BlockStmt
    let otherwise: Stmt?  // BlockStmt or IfStmt
    init(_ condition: Expr, _ then: BlockStmt, _ otherwise: Stmt?, _ loc: SourceLocation) {
        self.condition = condition
        self.then = then
        self.otherwise = otherwise
        super.init(loc)
    }

    override var kind: StmtKind { .if(self) }
}

final class WhileStmt: Stmt {
    let condition: Expr
    let body: BlockStmt
    init(_ condition: Expr, _ body: BlockStmt, _ loc: SourceLocation) {
        self.condition = condition
        self.body = body
        super.init(loc)
    }

    override var kind: StmtKind { .while(self) }
}

/// `for i in a..b { }` (range) or `for x in e { }` (array or channel, decided by the checker).
final class ForStmt: Stmt {
    let name: String
    let nameLocation: SourceLocation
    let lower: Expr  // the iterable for `for x in e`
    let upper: Expr?  // non-nil for a range
    let body: BlockStmt
    var variable: Variable?
    init(name: String, nameLocation: SourceLocation, lower: Expr, upper: Expr?, body: BlockStmt, _ loc: SourceLocation)
    {
        self.name = name
        self.nameLocation = nameLocation
        self.lower = lower
        self.upper = upper
        self.body = body
        super.init(loc)
    }

    override var kind: StmtKind { .for(self) }
}

final class BreakStmt: Stmt {
    override var kind: StmtKind { .break(self) }
}

final class ContinueStmt: Stmt {
    override var kind: StmtKind { .continue(self) }
}

final class ReturnStmt: Stmt {
    let value: Expr?
    init(_ value: Expr?, _ loc: SourceLocation) {
        self.value = value
        super.init(loc)
    }

    override var kind: StmtKind { .return(self) }
}

struct Parameter {
    let name: String
    let type: TypeSyntax
    let location: SourceLocation
}

final class FunctionDecl: Stmt {
    let name: String
    let nameLocation: SourceLocation
    let parameters: [Parameter]
    let resultSyntax: TypeSyntax?
    let body: BlockStmt
    // Filled in by the checker.
    var parameterTypes: [VType] = []
    var resultType: VType = .void
    var parameterVariables: [Variable] = []
    /// Whether calls may be inlined into kernels (KernelFusion.isElementwise; nil until asked).
    var isElementwise: Bool?
    /// Index in the program's function table (assigned by the checker).
    var index = -1
    init(
        name: String, nameLocation: SourceLocation, parameters: [Parameter], result: TypeSyntax?, body: BlockStmt,
        _ loc: SourceLocation
    ) {
        self.name = name
        self.nameLocation = nameLocation
        self.parameters = parameters
        self.resultSyntax = result
        self.body = body
        super.init(loc)
    }

    override var kind: StmtKind { .function(self) }
}

/// `extern fn cbrt(x: float) -> float from "libm.so.6"`
final class ExternDecl: Stmt {
    let name: String
    let nameLocation: SourceLocation
    let parameters: [Parameter]
    let resultSyntax: TypeSyntax?
    let library: String
    let libraryLocation: SourceLocation
    var parameterTypes: [VType] = []
    var resultType: VType = .void
    var index = -1
    /// The bound C function (set by the checker when the library and symbol resolve).
    var foreign: ForeignFunction?
    init(
        name: String, nameLocation: SourceLocation, parameters: [Parameter], result: TypeSyntax?, library: String,
        libraryLocation: SourceLocation, _ loc: SourceLocation
    ) {
        self.name = name
        self.nameLocation = nameLocation
        self.parameters = parameters
        self.resultSyntax = result
        self.library = library
        self.libraryLocation = libraryLocation
        super.init(loc)
    }

    override var kind: StmtKind { .extern(self) }
}

/// A parsed file: top-level statements in order, functions and externs among them.
struct SourceUnit {
    let file: SourceFile
    let statements: [Stmt]
}
