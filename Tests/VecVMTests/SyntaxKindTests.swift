// SyntaxKindTests.swift — every syntax node's `kind` carries the node itself. The passes switch over
// `kind` (Frontend/AST.swift); Swift cannot make a node class override it, so a class that forgot
// would be a fatal error in the first pass to meet it: this program has one node of every class.
import Testing

@testable import VecVM

@Suite struct SyntaxKindTests {
    @Test func everyNodeKindCarriesItsNode() {
        let file = SourceFile(
            name: "kinds.vec",
            text: """
                extern fn cbrt(x: float) -> float from "libm.so.6"
                fn f(a: [int], n: int) -> int { return a[0] + n }
                var xs = [1, 2, 3]
                let s = "text"
                xs[0] = -xs[1] * 2
                xs[1] += 1
                let t = spawn f(xs[0..2], 1)
                if !true && 1.5 < 2.0 { print(s) } else if false { } else { }
                while false { break }
                for i in 0..3 { continue }
                { let y = wait(t) }
                """)
        let (unit, errors) = Parser.parse(file)
        #expect(errors.isEmpty)
        var seen: Set<String> = []
        var notCarried: [String] = []
        func note(_ name: String, _ carried: AnyObject, _ node: AnyObject) {
            if ObjectIdentifier(carried) != ObjectIdentifier(node) { notCarried.append(name) }
            seen.insert(name)
        }
        func visit(_ e: Expr) {
            switch e.kind {
            case .intLiteral(let x): note("intLiteral", x, e)
            case .floatLiteral(let x): note("floatLiteral", x, e)
            case .stringLiteral(let x): note("stringLiteral", x, e)
            case .boolLiteral(let x): note("boolLiteral", x, e)
            case .name(let x): note("name", x, e)
            case .unary(let x):
                note("unary", x, e)
                visit(x.operand)
            case .binary(let x):
                note("binary", x, e)
                visit(x.lhs)
                visit(x.rhs)
            case .call(let x):
                note("call", x, e)
                x.args.forEach(visit)
            case .spawn(let x):
                note("spawn", x, e)
                visit(x.call)
            case .index(let x):
                note("index", x, e)
                visit(x.base)
                visit(x.index)
            case .slice(let x):
                note("slice", x, e)
                [x.base, x.lower, x.upper].forEach(visit)
            case .arrayLiteral(let x):
                note("arrayLiteral", x, e)
                x.elements.forEach(visit)
            }
        }
        func visit(_ s: Stmt) {
            switch s.kind {
            case .varDecl(let x):
                note("varDecl", x, s)
                visit(x.value)
            case .assign(let x):
                note("assign", x, s)
                visit(x.target)
                visit(x.value)
            case .expression(let x):
                note("expression", x, s)
                visit(x.expr)
            case .block(let x):
                note("block", x, s)
                x.statements.forEach(visit)
            case .if(let x):
                note("if", x, s)
                visit(x.condition)
                visit(x.then)
                if let o = x.otherwise { visit(o) }
            case .while(let x):
                note("while", x, s)
                visit(x.condition)
                visit(x.body)
            case .for(let x):
                note("for", x, s)
                visit(x.lower)
                if let u = x.upper { visit(u) }
                visit(x.body)
            case .break(let x): note("break", x, s)
            case .continue(let x): note("continue", x, s)
            case .return(let x):
                note("return", x, s)
                if let v = x.value { visit(v) }
            case .function(let x):
                note("function", x, s)
                visit(x.body)
            case .extern(let x): note("extern", x, s)
            }
        }
        unit.statements.forEach(visit)
        #expect(notCarried.isEmpty)
        #expect(
            seen == [
                "intLiteral", "floatLiteral", "stringLiteral", "boolLiteral", "name", "unary", "binary", "call",
                "spawn", "index", "slice", "arrayLiteral", "varDecl", "assign", "expression", "block", "if", "while",
                "for", "break", "continue", "return", "function", "extern",
            ])
    }
}
