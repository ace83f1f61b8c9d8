// `extern fn` through libffi: calls into libm and into a small C library built by the test, arrays
// passed as pointers (the callee writes through them), binding errors at the declaration, and the
// embedder's switch that forbids foreign functions.

import Foundation
import Testing

@testable import VecVM

/// Builds a shared library from C source with the system compiler; nil when there is none.
func buildCLibrary(_ source: String, name: String) throws -> String? {
    let cc = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let cc else { return nil }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vecvm-ffi-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let c = dir.appendingPathComponent(name + ".c")
    try source.write(to: c, atomically: true, encoding: .utf8)
    let lib = dir.appendingPathComponent("lib\(name).so").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: cc)
    p.arguments = ["-shared", "-fPIC", "-O2", c.path, "-o", lib]
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus == 0 ? lib : nil
}

func runFFI(_ source: String, allow: Bool = true) -> RunResult {
    let out = CapturedOutput()
    let vm = VM(configuration: VMConfiguration(procs: 1, output: out, allowForeignFunctions: allow))
    defer { vm.shutdown() }
    do {
        try vm.run(source: source, fileName: "ffi.vec")
        return RunResult(output: out.text, error: nil)
    } catch {
        return RunResult(output: out.text, error: error)
    }
}

@Suite("foreign functions", .serialized)
struct FFITests {
    @Test func libmScalars() {
        let r = runFFI(
            """
            extern fn cbrt(x: float) -> float from "libm.so.6"
            extern fn hypotf(x: f32, y: f32) -> f32 from "libm.so.6"
            extern fn llabs(x: int) -> int from "libc.so.6"
            print(cbrt(8.0), hypotf(f32(3), f32(4)), llabs(-42))
            """)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "2.0 5.0 42\n")
    }

    @Test func arraysArePointersTheCalleeMayWrite() throws {
        guard
            let lib = try buildCLibrary(
                """
                #include <stdint.h>
                void scale(float *p, int64_t n, float k) { for (int64_t i = 0; i < n; i++) p[i] *= k; }
                double sum(const double *p, int64_t n) { double s = 0; for (int64_t i = 0; i < n; i++) s += p[i]; return s; }
                int64_t mix(int64_t a, double b, float c, int64_t d) { return a * 1000 + (int64_t)b * 100 + (int64_t)c * 10 + d; }
                void fill_iota(int64_t *p, int64_t n) { for (int64_t i = 0; i < n; i++) p[i] = i * i; }
                """, name: "vecvmtest")
        else { return }
        let r = runFFI(
            """
            extern fn scale(p: [f32], n: int, k: f32) from "\(lib)"
            extern fn sum(p: [float], n: int) -> float from "\(lib)"
            extern fn mix(a: int, b: float, c: f32, d: int) -> int from "\(lib)"
            extern fn fill_iota(p: [int], n: int) from "\(lib)"
            let a = fill(5, f32(1.5))
            scale(a, len(a), f32(2))
            print(a)
            print(sum([1.0, 2.0, 3.5], 3), mix(1, 2.0, f32(3), 4))
            var b = fill(4, 0)
            fill_iota(b, len(b))
            print(b)
            """)
        #expect(r.error == nil, "\(r.errorText)")
        #expect(r.output == "[3.0, 3.0, 3.0, 3.0, 3.0]\n6.5 1234\n[0, 1, 4, 9]\n")
    }

    @Test func bindingErrorsAreCompileErrorsAtTheDeclaration() {
        let ds = diagnosticsFFI(
            """
            extern fn definitely_not_a_symbol(x: float) -> float from "libm.so.6"
            extern fn cbrt(x: float) -> float from "libno-such-library.so"
            """)
        #expect(ds.count == 2)
        #expect(ds[0].message.contains("symbol 'definitely_not_a_symbol' not found"))
        #expect(ds[0].location.line == 1)
        #expect(ds[0].location.column == 59)
        #expect(ds[1].message.contains("cannot load library \"libno-such-library.so\""))
        #expect(ds[1].location.line == 2)
    }

    @Test func unsupportedTypesAreRejected() {
        let ds = diagnosticsFFI("extern fn f(s: str) -> bool from \"libm.so.6\"")
        #expect(ds.contains { $0.message.contains("C functions take int, float, f32 or arrays") })
        #expect(ds.contains { $0.message.contains("C functions return int, float, f32 or nothing") })
    }

    @Test func embeddersCanForbidForeignFunctions() {
        let r = runFFI("extern fn cbrt(x: float) -> float from \"libm.so.6\"\nprint(cbrt(8.0))", allow: false)
        guard case .compile(let e)? = r.error else {
            Issue.record("expected a compile error, got \(r.errorText)")
            return
        }
        #expect(e.diagnostics.first?.message == "extern functions are disabled in this VM")
        #expect(VMConfiguration().allowForeignFunctions == false)
    }

    func diagnosticsFFI(_ source: String) -> [Diagnostic] {
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput(), allowForeignFunctions: true))
        do {
            _ = try vm.compile(source: source, fileName: "ffi.vec")
            return []
        } catch {
            return error.diagnostics
        }
    }
}
