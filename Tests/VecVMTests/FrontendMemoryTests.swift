// FrontendMemoryTests.swift — the front end frees what it builds: a program's AST, recursive
// functions included, is released once the program is compiled (a long-lived host compiles many).
import Testing

@testable import VecVM

@Suite struct FrontendMemoryTests {
    /// A recursive call used to hold its callee strongly (CallTarget.function), making every
    /// recursive or mutually recursive function a reference cycle that leaked its AST on each compile
    /// (found by fuzz-frontend's LeakSanitizer).
    @Test func recursiveFunctionsAreFreedAfterCompiling() throws {
        weak var recursive: FunctionDecl?
        weak var mutual: FunctionDecl?
        weak var spawned: FunctionDecl?
        try {
            let file = SourceFile(
                name: "r.vec",
                text: """
                    fn f(n: int) -> int { if n < 1 { return 0 }; return f(n - 1) + g(n - 1) }
                    fn g(n: int) -> int { if n < 1 { return 1 }; return f(n - 1) }
                    fn h(n: int) -> int { if n < 1 { return 0 }; let t = spawn h(n - 1); return wait(t) + 1 }
                    print(f(5) + h(2))
                    """)
            let (unit, errors) = Parser.parse(file)
            #expect(errors.isEmpty)
            var checker = Checker(file: file)
            checker.check(unit)
            #expect(checker.diagnostics.isEmpty)
            let program = try Compiler(file: file, layout: GlobalLayout(), interactive: false)
                .compile(unit, functions: checker.functions, externs: checker.externs)
            #expect(program.functions.count >= 3)
            recursive = checker.functions.first { $0.name == "f" }
            mutual = checker.functions.first { $0.name == "g" }
            spawned = checker.functions.first { $0.name == "h" }
            #expect(recursive != nil && mutual != nil && spawned != nil)
        }()
        #expect(recursive == nil)
        #expect(mutual == nil)
        #expect(spawned == nil)
    }
}
