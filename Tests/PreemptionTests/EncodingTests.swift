// EncodingTests.swift — the generated save/restore sequences, checked like asmjit checks its
// encoder: the bytes linked into the binary against an independent encoding of the register table
// (EVEXEncoder, from the SDM), one group per path — the only check the AVX-512 path gets on a
// machine without AVX-512; then each path this CPU can run, executed: restore a pattern, save it
// back, compare; and the generator's committed output is current.
import CJITStubs
import Foundation
import Testing

@testable import VMRuntime
@testable import VecVM

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension AsyncPreemptionSuite {
    @Suite struct Encoding {
        /// The bytes a path's sequence must consist of: one move per register (block in rdi), ret.
        static func expected(path: UInt32, save: Bool) -> [UInt8] {
            let rdi: UInt8 = 7
            var bytes: [UInt8] = []
            switch path {
            case UInt32(VM_XREGS_PATH_SSE):
                for i in 0..<16 { bytes += EVEXEncoder.movdqu(load: !save, xmm: i, base: rdi, displacement: 16 * i) }
            case UInt32(VM_XREGS_PATH_AVX):
                for i in 0..<16 {
                    bytes += EVEXEncoder.vmovdquYMM(load: !save, ymm: i, base: rdi, displacement: 32 * i)
                }
            default:
                for i in 0..<32 {
                    bytes += EVEXEncoder.vmovdqu64(load: !save, zmm: i, base: rdi, displacement: 64 * i)
                }
                for k in 0..<8 {
                    bytes += EVEXEncoder.kmovq(
                        load: !save, k: k, base: rdi, displacement: Int(VM_XREGS_AVX512_MASK_OFFSET) + 8 * k)
                }
            }
            return bytes + [0xC3]
        }

        static let paths = [UInt32(VM_XREGS_PATH_SSE), UInt32(VM_XREGS_PATH_AVX), UInt32(VM_XREGS_PATH_AVX512)]

        @Test(arguments: paths)
        func theLinkedSequencesMatchTheRegisterTable(path: UInt32) {
            for save in [true, false] {
                let want = Encoding.expected(path: path, save: save)
                let code = (save ? vm_xregs_save_code(path) : vm_xregs_restore_code(path))!
                let got = Array(UnsafeRawBufferPointer(start: code, count: want.count))
                #expect(got == want, "path \(path) \(save ? "save" : "restore")")
            }
        }

        @Test func theLayoutHeaderAgreesWithThePaths() {
            #expect(vm_xregs_path_bytes(UInt32(VM_XREGS_PATH_SSE)) == 16 * 16)
            #expect(vm_xregs_path_bytes(UInt32(VM_XREGS_PATH_AVX)) == 16 * 32)
            #expect(vm_xregs_path_bytes(UInt32(VM_XREGS_PATH_AVX512)) == 32 * 64 + 8 * 8)
            #expect(Int(VM_XREGS_MAX_BYTES) == 32 * 64 + 8 * 8)
            #expect(Int(VM_XREGS_AVX512_MASK_OFFSET) == 32 * 64)
            #expect(Int(VM_ASYNC_PREEMPT_PUSHED_BYTES) == 16 * 8)
        }

        /// `roundTrip(src, dst, _)`: calls restore(src) then save(dst), through absolute addresses.
        private func roundTripRoutine(path: UInt32) -> Routine3 {
            let restore = Int64(Int(bitPattern: vm_xregs_restore_code(path)!))
            let save = Int64(Int(bitPattern: vm_xregs_save_code(path)!))
            let code = installRoutine { a in
                a.push(.rsi)  // also aligns rsp for the calls
                a.movabs(.rax, restore)
                a.call(.rax)
                a.pop(.rdi)
                a.push(.rdi)
                a.movabs(.rax, save)
                a.call(.rax)
                a.pop(.rdi)
                a.emit(.vzeroupper)
                a.ret()
            }
            return routine3(code)
        }

        @Test(arguments: paths)
        func eachUsablePathSavesWhatItRestores(path: UInt32) {
            guard vm_xregs_path_usable(path) else { return }  // AVX-512 needs the hardware
            let bytes = Int(vm_xregs_path_bytes(path))
            let src = AlignedBuffer(bytes: bytes)
            let dst = AlignedBuffer(bytes: bytes)
            for i in 0..<bytes / 8 { src[qword: i] = mix(UInt64(i) &+ UInt64(path) << 32) }
            roundTripRoutine(path: path)(src.pointer, dst.pointer, 0)
            #expect(memcmp(src.pointer, dst.pointer, bytes) == 0)
        }

        @Test func theGeneratedFilesAreCurrent() throws {
            // Tests/PreemptionTests/EncodingTests.swift → Sources/CJITStubs/mkpreempt.py
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let script = root.appendingPathComponent("Sources/CJITStubs/mkpreempt.py").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "--check"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            process.waitUntilExit()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(output)")
        }
    }
}
