// One JIT engine per VM (JIT/JITEngine.swift): two VMs in one process keep their own caches and
// statistics — a kernel or a function one of them compiled is not listed by the other — and a
// program's code is lowered by the engine of the VM that compiled it.

import Testing

@testable import VecVM

@Suite(
    "JIT engine per VM",
    .enabled(if: JITSupport.available, "no JIT here (compiled out, a CPU without AVX2+FMA, or VECVM_ISA=none)"))
struct JITEngineTests {
    /// The `jit.*` counters of `--stats` (the scheduler's and memory counters move with any run).
    func jitCounters(_ vm: VM) -> [String] {
        vm.statistics.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init).filter {
            $0.hasPrefix("jit.")
        }
    }

    func makeVM() -> (VM, CapturedOutput) {
        let out = CapturedOutput()
        return (VM(configuration: VMConfiguration(procs: 1, output: out)), out)
    }

    @Test func twoVMsKeepSeparateStatistics() throws {
        let (a, outA) = makeVM()
        let (b, outB) = makeVM()
        defer {
            a.shutdown()
            b.shutdown()
        }
        // A float kernel and a function in one VM, an f32 kernel and another function in the other;
        // the programs are kept, so their code stays live for the listings.
        let programA = try a.compile(
            source: """
                fn onlyInA(n: int) -> int { var s = 0; for k in 0..n { s += k }; return s }
                let x = fill(100, 1.5)
                print(onlyInA(10), sum(x * 2.0 + 1.0))
                """, fileName: "a.vec", hostReadableGlobals: false)
        try a.run(programA)
        let countersA = jitCounters(a)
        let programB = try b.compile(
            source: """
                fn onlyInB(n: int) -> int { var p = 1; for k in 1..n { p *= k }; return p }
                let y = fill(100, f32(0.5))
                print(onlyInB(6), sum(y * y))
                """, fileName: "b.vec", hostReadableGlobals: false)
        try b.run(programB)
        #expect(outA.text == "45 400.0\n" && outB.text == "120 25.0\n", "\(outA.text) \(outB.text)")

        #expect(a.nativeFunctions.compiled == ["onlyInA"], "\(a.nativeFunctions)")
        #expect(b.nativeFunctions.compiled == ["onlyInB"], "\(b.nativeFunctions)")
        let kernelsA = a.nativeKernels
        let kernelsB = b.nativeKernels
        #expect(!kernelsA.isEmpty && kernelsA.allSatisfy { $0.elementType == "float" }, "\(kernelsA.map(\.program))")
        #expect(!kernelsB.isEmpty && kernelsB.allSatisfy { $0.elementType == "f32" }, "\(kernelsB.map(\.program))")
        // Each engine numbers its own kernels from 0 (jit-dump's kernel-N.bin).
        #expect(kernelsA.first?.number == 0 && kernelsB.first?.number == 0)
        // What B compiled changed nothing in A's --stats.
        #expect(jitCounters(a) == countersA)
        #expect(jitCounters(a).contains("jit.functions=1") && jitCounters(b).contains("jit.functions=1"))
        withExtendedLifetime((programA, programB)) {}
    }

    @Test func theSameKernelIsCompiledByEachVM() throws {
        let source = "let x = fill(64, 2.0)\nprint(sum(x * x + 3.0))"
        let (a, _) = makeVM()
        let (b, _) = makeVM()
        defer {
            a.shutdown()
            b.shutdown()
        }
        let programA = try a.compile(source: source, fileName: "same.vec", hostReadableGlobals: false)
        let programB = try b.compile(source: source, fileName: "same.vec", hostReadableGlobals: false)
        try a.run(programA)
        try b.run(programB)
        // Not shared through a process-wide cache: each VM's engine lowered and installed its own.
        let kernelsA = a.nativeKernels
        let kernelsB = b.nativeKernels
        #expect(kernelsA.map(\.program) == kernelsB.map(\.program) && !kernelsA.isEmpty)
        #expect(kernelsA.map(\.machineCode) == kernelsB.map(\.machineCode))
        #expect(jitCounters(a).first { $0.hasPrefix("jit.kernels=") } == "jit.kernels=\(kernelsA.count)")
        #expect(jitCounters(b).first { $0.hasPrefix("jit.kernels=") } == "jit.kernels=\(kernelsB.count)")
        withExtendedLifetime((programA, programB)) {}
    }

    @Test func aProgramIsLoweredByTheEngineOfTheVMThatCompiledIt() throws {
        let (a, _) = makeVM()
        let (b, outB) = makeVM()
        let interpreting = VM(configuration: VMConfiguration(procs: 1, jit: false, output: CapturedOutput()))
        defer {
            a.shutdown()
            b.shutdown()
            interpreting.shutdown()
        }
        let program = try a.compile(
            source: "fn twice(n: int) -> int { return n * 2 }\nprint(twice(21))", fileName: "p.vec",
            hostReadableGlobals: false)
        // Run by another VM: the native code is that of the compiling VM's engine, and counted there.
        try b.run(program)
        #expect(outB.text == "42\n")
        #expect(a.nativeFunctions.compiled == ["twice"], "\(a.nativeFunctions)")
        #expect(b.nativeFunctions.compiled.isEmpty, "\(b.nativeFunctions)")
        // A VM with the JIT off runs it interpreted, whatever compiled it.
        try interpreting.run(program)
        #expect(interpreting.nativeFunctions.compiled.isEmpty)
        #expect(a.nativeFunctions.compiled == ["twice"])
    }
}
