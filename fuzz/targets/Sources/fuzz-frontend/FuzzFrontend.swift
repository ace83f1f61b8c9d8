// libFuzzer target: the front end (lexer, parser, checker, compiler and disassembler). Any bytes
// must give a compiled program or a compile error whose every diagnostic has a location in the
// file; a crash, a trap, a hang or a sanitizer report is a finding. Built by fuzz/libfuzzer.sh.

import FuzzSupport
import VecVM

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrontend(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let vm = VM(configuration: VMConfiguration(procs: 1, output: CapturedOutput(), allowForeignFunctions: false))
    do {
        if let program = try Sandbox.compile(vm, source, fileName: "fuzz.vec") {
            _ = vm.disassemble(program)
        }
    } catch {
        fatalError("fuzz-frontend: \(error)")
    }
    return 0
}
