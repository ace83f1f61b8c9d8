// The bytecode verifier (Bytecode/Verifier.swift) and the opcode table it reads: every program of
// programs/, bench/ and the conformance suite verifies; hand-made bad functions are rejected with the
// right message; the table's formats, operands and control flow agree with each other and with what
// the disassembler prints; a verification failure in the compiler is an internal error, not a crash.

import Foundation
import Testing

@testable import VecVM

@Suite("bytecode verifier")
struct VerifierTests {
    /// The .vec files of programs/, bench/ (all folders) and ../shared/conformance, from the repository root.
    static func sourceFiles() -> [String] {
        let root = TestPaths.root
        var files = TestPaths.programNames().map { "programs/\($0).vec" }
        if let walk = FileManager.default.enumerator(atPath: root.appendingPathComponent("bench").path) {
            for case let path as String in walk where path.hasSuffix(".vec") { files.append("bench/" + path) }
        }
        let conformance = (try? FileManager.default.contentsOfDirectory(atPath: TestPaths.conformance.path)) ?? []
        files += conformance.filter { $0.hasSuffix(".vec") }.map { "../shared/conformance/" + $0 }
        return files.sorted()
    }

    static func compile(_ path: String, hostReadableGlobals: Bool = false) throws -> Program? {
        let url = TestPaths.root.appendingPathComponent(path)
        let source = try String(contentsOf: url, encoding: .utf8)
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput(), allowFileAccess: true))
        // Conformance programs that test compile errors do not compile: nothing to verify.
        return try? vm.compile(source: source, fileName: url.path, hostReadableGlobals: hostReadableGlobals).program
    }

    @Test("programs verify", arguments: sourceFiles())
    func programVerifies(_ path: String) throws {
        for hostReadable in [false, true] {
            guard let program = try Self.compile(path, hostReadableGlobals: hostReadable) else {
                #expect(path.contains("conformance"), "\(path) does not compile")
                return
            }
            #expect(throws: Never.self) { try Verifier.verify(program) }
        }
    }

    @Test func thereAreProgramsToVerify() {
        let files = Self.sourceFiles()
        #expect(files.filter { $0.hasPrefix("programs/") }.count >= 10)
        #expect(files.filter { $0.hasPrefix("bench/") }.count >= 10)
    }

    /// Verifying every program of programs/ should cost well under a millisecond (it runs on every
    /// compilation). Measured here in whatever build the tests run (debug: the slow case).
    @Test func verificationIsCheap() throws {
        let programs = try TestPaths.programNames().compactMap { try Self.compile("programs/\($0).vec") }
        let instructions = programs.reduce(0) { $0 + $1.functions.reduce(0) { $0 + $1.instructions.count } }
        let rounds = 20
        let clock = ContinuousClock()
        var best = Duration.seconds(1000)
        for _ in 0..<rounds {
            let elapsed = try clock.measure { for p in programs { try Verifier.verify(p) } }
            best = min(best, elapsed)
        }
        let microseconds = Double(best.components.attoseconds) / 1e12 + Double(best.components.seconds) * 1e6
        print(
            "verifier: \(programs.count) programs, \(instructions) instructions, \(microseconds) µs (best of \(rounds))"
        )
        #expect(instructions > 1000)
        // A generous bound (debug builds, a shared machine): the point is that it is linear and small.
        #expect(microseconds < 20_000)
    }

    // MARK: Hand-made bad functions

    static func function(
        _ name: String = "bad", frame: Int, _ instructions: [Instruction], constants: [UInt64] = []
    ) -> Function {
        let f = Function(name: name, index: 1, location: SourceLocation(line: 3, column: 1))
        f.instructions = instructions
        f.locations = instructions.indices.map { SourceLocation(line: 10 + $0, column: 5) }
        f.frameSize = frame
        f.constants = constants
        return f
    }

    /// The verifier's error for `f` (nil when it verifies), with `others` as the program's other functions.
    static func failure(_ f: Function, others: [Function] = []) -> VerificationError? {
        do {
            try Verifier.verify(f, in: Verifier.Tables(functions: [f] + others))
            return nil
        } catch {
            return error
        }
    }

    @Test func registerPastTheFrameIsRejected() throws {
        let f = Self.function(frame: 2, [Instruction(.addInt, a: 2, b: 0, c: 1), Instruction(.ret0)])
        let e = try #require(Self.failure(f))
        #expect(
            e.description
                == "function 'bad', pc 0 (addInt 2 0 1): operand A names register 2, outside the frame (2 registers)")
        #expect(e.pc == 0)
        #expect(e.location == SourceLocation(line: 10, column: 5))
        let read = Self.function(frame: 2, [Instruction(.addInt, a: 0, b: 1, c: 7), Instruction(.ret0)])
        #expect(Self.failure(read)?.message == "operand C names register 7, outside the frame (2 registers)")
        #expect(
            Self.failure(Self.function(frame: 3, [Instruction(.addInt, a: 2, b: 0, c: 1), Instruction(.ret0)])) == nil)
    }

    @Test func spansAreCounted() throws {
        // A SIMD value takes four registers: V[2] needs a frame of 6.
        let simd = Self.function(frame: 5, [Instruction(.move4, a: 0, b: 2), Instruction(.ret0)])
        #expect(Self.failure(simd)?.message == "operand B names registers 2..<6, outside the frame (5 registers)")
        // forPrep reads R[A] and R[A+1].
        let loop = Self.function(frame: 2, [Instruction(.forPrep, a: 1, bx: 0), Instruction(.ret0)])
        #expect(Self.failure(loop)?.message == "operand A names registers 1..<3, outside the frame (2 registers)")
        // clearRefs clears O[A..<A+B].
        let clear = Self.function(frame: 4, [Instruction(.clearRefs, a: 1, b: 4), Instruction(.ret0)])
        #expect(Self.failure(clear)?.message == "operand A names registers 1..<5, outside the frame (4 registers)")
        // A call's window: the callee's three parameter slots from A.
        let callee = Self.function("g", frame: 3, [Instruction(.ret0)])
        callee.parameterSlots = 3
        let call = Self.function(frame: 4, [Instruction(.call, a: 2, bx: 1), Instruction(.ret0)])
        #expect(
            Self.failure(call, others: [callee])?.message
                == "the call's arguments and result (operand A) names registers 2..<5, outside the frame (4 registers)")
        let fits = Self.function(frame: 5, [Instruction(.call, a: 2, bx: 1), Instruction(.ret0)])
        #expect(Self.failure(fits, others: [callee]) == nil)
    }

    @Test func jumpOutOfRangeIsRejected() {
        let forward = Self.function(frame: 1, [Instruction(.jump, bx: 5), Instruction(.ret0)])
        #expect(
            Self.failure(forward)?.description
                == "function 'bad', pc 0 (jump -> 6): operand Bx jumps to 6, outside the function's instructions 0..<2")
        let backward = Self.function(
            frame: 2, [Instruction(.ret0), Instruction(.jumpIfLtInt, a: 0, b: 1, c: -3), Instruction(.ret0)])
        #expect(
            Self.failure(backward)?.message == "operand C jumps to -1, outside the function's instructions 0..<3")
        let onTheEnd = Self.function(frame: 1, [Instruction(.jumpIfTrue, a: 0, bx: 1), Instruction(.ret0)])
        #expect(Self.failure(onTheEnd)?.message == "operand Bx jumps to 2, outside the function's instructions 0..<2")
    }

    @Test func indexOutOfRangeIsRejected() {
        let constant = Self.function(
            frame: 1, [Instruction(.loadConst, a: 0, bx: 1), Instruction(.ret0)], constants: [42])
        #expect(
            Self.failure(constant)?.message
                == "operand Bx refers to entry 1 of the function's constants, which has 1")
        let string = Self.function(frame: 1, [Instruction(.loadString, a: 0, bx: 0), Instruction(.ret0)])
        #expect(Self.failure(string)?.message == "operand Bx refers to entry 0 of the function's strings, which has 0")
        let global = Self.function(frame: 4, [Instruction(.getGlobal4, a: 0, bx: 0), Instruction(.ret0)])
        #expect(
            Self.failure(global)?.message
                == "operand Bx refers to entries 0..<4 of the scalar global slots, which has 0")
        let function = Self.function(frame: 1, [Instruction(.call, a: 0, bx: 3), Instruction(.ret0)])
        #expect(
            Self.failure(function)?.message == "operand Bx refers to entry 3 of the program's functions, which has 1")
        let print = Self.function(frame: 1, [Instruction(.print, a: 0, bx: 0), Instruction(.ret0)])
        #expect(
            Self.failure(print)?.message == "operand Bx refers to entry 0 of the function's print sites, which has 0")
    }

    @Test func fallingOffTheEndIsRejected() {
        let f = Self.function(frame: 1, [Instruction(.loadInt, a: 0, bx: 1)])
        #expect(
            Self.failure(f)?.description
                == "function 'bad', pc 0 (loadInt 0 1): the last instruction can fall off the end of the function (it is not a return or a jump)"
        )
        // A conditional jump falls through when it does not jump.
        let branch = Self.function(frame: 1, [Instruction(.ret0), Instruction(.jumpIfTrue, a: 0, bx: -2)])
        #expect(Self.failure(branch)?.pc == 1)
        let empty = Self.function(frame: 0, [])
        #expect(
            Self.failure(empty)?.description
                == "function 'bad': the function has no instructions (control runs off its end)")
        // A backward jump or a return may end a function.
        #expect(Self.failure(Self.function(frame: 0, [Instruction(.ret0), Instruction(.jump, bx: -2)])) == nil)
    }

    @Test func operandsThatDependOnKAreChecked() {
        let opcode = Self.function(frame: 1, [Instruction(word: 250), Instruction(.ret0)])
        #expect(Self.failure(opcode)?.message == "unknown opcode 250")
        let builtin = Self.function(frame: 2, [Instruction(.builtin, a: 0, b: 1, c: 0, k: 99), Instruction(.ret0)])
        #expect(Self.failure(builtin)?.message == "K 99 is not a valid builtin operation")
        // fill reads the count and the value: R[B], R[B+1].
        let fill = Self.function(
            frame: 2, [Instruction(.builtin, a: 0, b: 1, c: 0, k: Int(BuiltinOp.fill.rawValue)), Instruction(.ret0)])
        #expect(
            Self.failure(fill)?.message
                == "operand B (the count and the value) names registers 1..<3, outside the frame (2 registers)")
        // A message's storage (K): a SIMD value takes four registers.
        let recv = Self.function(
            frame: 4,
            [Instruction(.recv, a: 1, b: 0, k: Int(ValueStorage.simd.rawValue)), Instruction(.ret0)])
        #expect(Self.failure(recv)?.message == "operand A names registers 1..<5, outside the frame (4 registers)")
        let storage = Self.function(frame: 4, [Instruction(.send, a: 0, b: 1, k: 9), Instruction(.ret0)])
        #expect(Self.failure(storage)?.message == "K 9 is not a valid value storage")
        let site = Self.function(frame: 1, [Instruction(.print, a: 0, bx: 0), Instruction(.ret0)])
        site.printSites = [PrintSite(registers: [0, 3], types: [.int, .float])]
        #expect(
            Self.failure(site)?.message == "a value of print site 0 names register 3, outside the frame (1 register)")
    }

    /// The compiler reports a verification failure as an internal error: here the host function table
    /// it is given is empty, so the call of `answer` refers past it.
    @Test func compilerReportsAnInternalError() throws {
        let file = SourceFile(name: "host.vec", text: "print(answer())\n")
        let (unit, parseErrors) = Parser.parse(file)
        #expect(parseErrors.isEmpty)
        var environment = CheckerEnvironment()
        environment.hostFunctions = ["answer": (index: 0, parameters: [], result: .int)]
        var checker = Checker(file: file, environment: environment)
        checker.check(unit)
        #expect(checker.diagnostics.isEmpty)
        let compiler = Compiler(file: file, layout: GlobalLayout(), interactive: false)
        compiler.hostArgumentSlots = []
        do {
            _ = try compiler.compile(unit, functions: checker.functions)
            Issue.record("the compiler accepted a call of a host function it was not given")
        } catch {
            let message = try #require(error.diagnostics.first?.message)
            #expect(
                message
                    == "internal error: the compiler made invalid bytecode (function 'main', pc 0 (callHost 0 0): operand Bx refers to entry 0 of the host functions, which has 0); please report it"
            )
            #expect(error.diagnostics.first?.location == SourceLocation(line: 1, column: 7))
        }
        // With the host function it was compiled against, the same program verifies.
        let fine = Compiler(file: file, layout: GlobalLayout(), interactive: false)
        fine.hostArgumentSlots = [0]
        #expect(throws: Never.self) { _ = try fine.compile(unit, functions: checker.functions) }
    }

    // MARK: The opcode table

    /// The format shows exactly the fields the operands use (print's A aside: always 0, still shown),
    /// and K when it is more than a type tag.
    @Test("formats agree with operands", arguments: Opcode.allCases)
    func formatAgreesWithOperands(_ op: Opcode) {
        let info = op.info
        let fields = info.format.fields
        let hasBx = fields.contains(.bx)
        #expect(hasBx == info.format.usesBx, "\(op): Bx")
        #expect((info.a != .unused) == fields.contains(.a) || op == .print, "\(op): A")
        #expect((info.b != .unused) == (fields.contains(.b) || hasBx), "\(op): B/Bx")
        #expect((info.c != .unused) == fields.contains(.c), "\(op): C")
        #expect(!(hasBx && info.c != .unused), "\(op): C is part of Bx")
        #expect((info.k != .unused && info.k != .typeTag) == fields.contains(.k), "\(op): K")
        #expect(!info.writesA || info.a != .unused, "\(op) writes an A it does not have")
        // A jump offset exactly where control may jump, in a signed field: sC or sBx.
        let jumps = info.flow == .jump || info.flow == .branch
        #expect(jumps == (info.jumpField != nil), "\(op): flow and jump field")
        #expect(info.a != .jump && info.b != .jump || hasBx, "\(op): a jump in A or B")
        // A run's length is a count field.
        for operand in [info.a, info.b, info.c] {
            if case .run(_, let lengthIn) = operand {
                #expect(info.operand(lengthIn) == .count, "\(op): run length")
            }
            if operand == .storedValue { #expect(info.k == .storage, "\(op): stored value without storage") }
        }
        #expect(!info.semantics.isEmpty)
    }

    /// The disassembler prints one token per shown field, read as the operand says.
    @Test("disassembler follows the table", arguments: Opcode.allCases)
    func disassemblerFollowsTable(_ op: Opcode) {
        let info = op.info
        let hasBx = info.format.fields.contains(.bx)
        let ins =
            hasBx
            ? Instruction(op, a: 7, bx: -3, k: 5) : Instruction(op, a: 7, b: -2, c: -4, k: 5)
        let text = Disassembler.operands(ins, at: 10)
        let tokens = text.split(separator: " ").filter { $0 != "->" }.map(String.init)
        #expect(tokens.count == info.format.fields.count, "\(op): \(text)")
        for (field, token) in zip(info.format.fields, tokens) {
            let expected: String
            switch field {
            case .k: expected = "k5"
            case .a: expected = "7"
            case .b, .c, .bx:
                let operand = info.operand(field)
                let signed = field == .b ? -2 : field == .c ? -4 : -3
                let unsigned = field == .b ? 65534 : field == .c ? 65532 : Int(UInt32.max) - 2
                expected =
                    operand == .jump ? "\(11 + signed)" : operand.isSigned ? "\(signed)" : "\(unsigned)"
            }
            #expect(token == expected, "\(op) \(field): \(text)")
        }
        #expect(text.contains("->") == (info.jumpField != nil), "\(op): \(text)")
    }

    @Test func disassemblyOfSignedFields() {
        #expect(Disassembler.operands(Instruction(.addIntImm, a: 1, b: 0, c: -2), at: 0) == "1 0 -2")
        #expect(Disassembler.operands(Instruction(.jumpIfGeImm, a: 0, b: -5, c: 2), at: 0) == "0 -5 -> 3")
        #expect(Disassembler.operands(Instruction(.loadInt, a: 2, bx: -7), at: 0) == "2 -7")
        #expect(Disassembler.operands(Instruction(.forLoop, a: 1, bx: -2), at: 5) == "1 -> 4")
        #expect(Disassembler.operands(Instruction(.jump, bx: 3), at: 1) == "-> 5")
        #expect(Disassembler.operands(Instruction(.recvOrJump, a: 4, b: 2, c: 6, k: 1), at: 9) == "4 2 -> 16 k1")
        #expect(Disassembler.operands(Instruction(.ret0), at: 0) == "")
    }

    @Test func successorsComeFromTheTable() {
        #expect(Array(Instruction(.addInt, a: 0, b: 1, c: 2).successors(at: 4)) == [5])
        #expect(Array(Instruction(.jump, bx: -3).successors(at: 4)) == [2])
        #expect(Array(Instruction(.jumpIfLtInt, a: 0, b: 1, c: 6).successors(at: 4)) == [5, 11])
        #expect(Array(Instruction(.forLoop, a: 0, bx: -2).successors(at: 4)) == [5, 3])
        #expect(Array(Instruction(.recvOrJump, a: 0, b: 1, c: 1, k: 1).successors(at: 0)) == [1, 2])
        #expect(Array(Instruction(.ret, a: 0).successors(at: 4)).isEmpty)
        for op in Opcode.allCases {
            let ins = Instruction(op, a: 0, b: 0, c: 3)
            let jumps = op.info.flow == .jump || op.info.flow == .branch
            #expect((ins.jumpOffset != nil) == jumps, "\(op)")
        }
    }

    @Test func opcodeNamesAreTheCaseNames() {
        for op in Opcode.allCases { #expect(op.name == String(describing: op)) }
    }

    /// The `task:` column: what parks, yields or wakes tasks, and so keeps a function out of direct
    /// calls (InstanceState.taskNeeds); a channel made or the clock read needs no task.
    @Test func theOpcodesThatNeedATaskComeFromTheTable() {
        let needing = Opcode.allCases.filter(\.needsTask).map(\.name)
        #expect(needing == ["spawn", "wait", "send", "recv", "recvOrJump", "close", "yield", "sleep"])
    }
}
