// Golden bytecode tests (the habit of Lua's testes/code.lua): small programs and the exact opcode
// sequences the compiler must produce for them. A change here is a change of the compiler's output
// and should be deliberate.

import Testing

@testable import VecVM

@Suite("compiler golden bytecode")
struct CompilerGoldenTests {
    @Test func integerArithmeticUsesImmediates() throws {
        let ops = try opcodes(
            """
            fn f(n: int) -> int { return n + 1 - 2 }
            print(f(3))
            """, function: "f")
        #expect(ops == ["addIntImm 1 0 1", "addIntImm 2 1 -2", "ret 2", "ret0"])
    }

    @Test func literalsTakeTheirContextType() throws {
        // `let f: float = 7 / 2` divides floats (3.5, the 2.0 read from the constants: divFloatK);
        // untyped it would be an int division.
        let ops = try opcodes("let f: float = 7 / 2\nlet i = 7 / 2")
        #expect(
            ops == ["loadConst 1 1", "divFloatK 0 1 0", "loadInt 2 7", "loadInt 3 2", "divInt 1 2 3", "ret0"])
    }

    @Test func floatLiteralOperandsAreReadFromTheConstants() throws {
        // A literal on the right of + - * /, or on the left of the commutative + and *: a K form. On
        // the left of - and /, it is loaded into a register first.
        let ops = try opcodes(
            """
            fn f(x: float) -> float { return (x * 2.0 + 0.5) / 4.0 - (3.0 * x + 1.0) + (1.0 - x) }
            print(f(3.0))
            """, function: "f")
        #expect(
            ops == [
                "mulFloatK 1 0 2", "addFloatK 2 1 1", "divFloatK 3 2 0", "mulFloatK 4 0 4", "addFloatK 5 4 3",
                "subFloat 6 3 5", "loadConst 7 3", "subFloat 8 7 0", "addFloat 9 6 8", "ret 9", "ret0",
            ])
        // (6.5 / 4) - 10 + (-2), the same with the JIT (f is native: the constants become memory
        // operands) and without.
        let source =
            "fn f(x: float) -> float { return (x * 2.0 + 0.5) / 4.0 - (3.0 * x + 1.0) + (1.0 - x) }\nprint(f(3.0))"
        for mode in Mode.all { #expect(run(source, mode: mode).output == "-10.375\n", "\(mode)") }
    }

    @Test func rangeLoopIsForPrepForLoop() throws {
        let ops = try opcodes("var s = 0\nfor i in 0..10 { s += i }\nprint(s)")
        #expect(
            ops == [
                "loadInt 0 0", "loadInt 1 0", "loadInt 2 10", "forPrep 1 -> 6", "addInt 0 0 1", "forLoop 1 -> 4",
                "print 0 0", "ret0",
            ])
    }

    @Test func conditionsFuseCompareAndJump() throws {
        let ops = try opcodes(
            """
            fn fib(n: int) -> int {
                if n < 2 { return n }
                return fib(n - 1) + fib(n - 2)
            }
            print(fib(5))
            """, function: "fib")
        #expect(
            ops == [
                "jumpIfGeImm 0 2 -> 2", "ret 0", "addIntImm 1 0 -1", "call 1 1", "addIntImm 2 0 -2", "call 2 1",
                "addInt 3 1 2", "ret 3", "ret0",
            ])
    }

    @Test func whileLoopTestsAtTheBottom() throws {
        let ops = try opcodes("var w = 1\nwhile w < 1000 { w *= 3 }")
        #expect(ops == ["loadInt 0 1", "jump -> 4", "loadInt 1 3", "mulInt 0 0 1", "jumpIfLtImm 0 1000 -> 2", "ret0"])
    }

    @Test func elementwiseExpressionIsOneKernel() throws {
        let source = """
            let a = fill(8, f32(1))
            let b = fill(8, f32(2))
            let c = fill(8, f32(3))
            let d = fill(8, f32(4))
            let z = a * b + c * d
            """
        let ops = try opcodes(source)
        #expect(ops.filter { $0.hasPrefix("kernel") } == ["kernel 4 0 k0"])
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let program = try vm.compile(source: source, fileName: "k.vec", hostReadableGlobals: false).program
        let site = program.main.kernelSites[0]
        #expect(
            site.program.description
                == "f32 a=[f32,f32,f32,f32] s=[]: v0=load a0; v1=load a1; v2=mul v0 v1; v3=load a2; v4=load a3; v5=mul v3 v4; v6=add v2 v5 -> store v6"
        )
        #expect(site.arrayRegisters == [0, 1, 2, 3])
    }

    @Test func kernelsBroadcastScalarsAndShareLoads() throws {
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let program = try vm.compile(
            source: "let x = fill(4, 1.0)\nlet y = sqrt(x * x + 16.0) * 0.5", fileName: "k.vec",
            hostReadableGlobals: false
        ).program
        #expect(program.main.kernelSites.count == 1)
        #expect(
            program.main.kernelSites[0].program.description
                == "float a=[float] s=[float,float]: v0=load a0; v1=mul v0 v0; v2=splat s0; v3=add v1 v2; v4=sqrt v3; v5=splat s1; v6=mul v4 v5 -> store v6"
        )
    }

    @Test func reductionsAreKernelsToo() throws {
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let program = try vm.compile(
            source: "let x = fill(4, 1.0)\nprint(dot(x, x + 1.0), min(abs(x - 0.5)))", fileName: "k.vec",
            hostReadableGlobals: false
        ).program
        let kernels = program.main.kernelSites.map(\.program.description)
        #expect(
            kernels == [
                "float a=[float] s=[float]: v0=load a0; v1=splat s0; v2=add v0 v1; v3=mul v0 v2 -> sum v3",
                "float a=[float] s=[float]: v0=load a0; v1=splat s0; v2=sub v0 v1; v3=abs v2 -> min v3",
            ])
    }

    @Test func noFmaContraction() throws {
        // `a * b + c` stays a mul and an add; only fma() fuses.
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput()))
        let p = try vm.compile(
            source: "let a = fill(4, 1.0)\nlet x = a * a + a\nlet y = fma(a, a, a)", fileName: "k.vec",
            hostReadableGlobals: false
        ).program
        #expect(p.main.kernelSites[0].program.ops.contains(.mul(0, 0)))
        #expect(!p.main.kernelSites[0].program.ops.contains { if case .fma = $0 { return true } else { return false } })
        #expect(p.main.kernelSites[1].program.ops.contains(.fma(0, 0, 0)))
    }

    @Test func topLevelVariablesUsedByFunctionsAreGlobals() throws {
        let ops = try opcodes("let n = 5\nfn f() -> int { return n }\nlet local = 2\nprint(f() + local)")
        #expect(ops.first == "loadInt 0 5")
        #expect(ops.contains("setGlobal 0 0"))
        let fops = try opcodes("let n = 5\nfn f() -> int { return n }\nprint(f())", function: "f")
        #expect(fops == ["getGlobal 0 0", "ret 0", "ret0"])
    }

    @Test func callArgumentsAreConsecutive() throws {
        // Temporaries of one argument never sit between two argument slots.
        let ops = try opcodes(
            "fn g(a: int, b: int) -> int { return a + b }\nlet n = 4\nprint(g(n * n / 2, (n + 1) * n))")
        #expect(
            ops == [
                "loadInt 0 4", "mulInt 3 0 0", "loadInt 4 2", "divInt 1 3 4", "addIntImm 3 0 1", "mulInt 2 3 0",
                "call 1 1", "print 0 0", "ret0",
            ])
    }

    @Test func everyOpcodeHasSemantics() {
        for op in Opcode.allCases {
            #expect(!op.info.semantics.isEmpty, "\(op) lacks a semantics line")
        }
        #expect(Opcode.allCases.count < 256)
    }
}
