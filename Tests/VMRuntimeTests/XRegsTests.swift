// XRegsTests.swift — the bookkeeping of asynchronous preemption without any machine code: the
// xRegState pool (fixed-size blocks, chunks, live counts), xRegSave and xRegRestore on G and P
// structs of our own (the cache as allocation cache on save and delayed free on restore), the two
// fatal invariants in child processes, the per-thread count of runtime locks the signal handler
// relies on, and the save-path detection. (Code-heap-based tests: Tests/PreemptionTests.)
import CJITStubs
import Testing
@testable import VMRuntime
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension RuntimeTests {
    @Suite struct XRegs {
        /// A pool of AVX-sized blocks with its C struct, freed at the end of the test.
        final class PoolBox {
            let pool = UnsafeMutablePointer<vm_xreg_pool>.allocate(capacity: 1)
            init(bytes: Int = Int(VM_XREGS_AVX_BYTES)) { XRegBlockPool.initialize(pool, blockBytes: bytes) }
            deinit {
                XRegBlockPool.destroy(pool)
                pool.deallocate()
            }
        }

        @Test func thePoolHandsOutAlignedDistinctBlocksAndReusesFreedOnes() {
            let box = PoolBox(bytes: 500)
            #expect(box.pool.pointee.block_bytes == 512)  // rounded up to the alignment
            var blocks: [UnsafeMutableRawPointer] = []
            for _ in 0..<40 { blocks.append(XRegBlockPool.allocate(box.pool)) }
            #expect(Set(blocks).count == 40)
            #expect(blocks.allSatisfy { UInt(bitPattern: $0) % UInt(VM_XREGS_ALIGN) == 0 })
            // Blocks never overlap: fill each with its index and read all back.
            for (i, b) in blocks.enumerated() { b.initializeMemory(as: UInt8.self, repeating: UInt8(i), count: 512) }
            for (i, b) in blocks.enumerated() {
                #expect(UnsafeRawBufferPointer(start: b, count: 512).allSatisfy { $0 == UInt8(i) })
            }
            var counts = XRegBlockPool.counts(box.pool)
            #expect(counts.live == 40 && counts.liveMax == 40)
            #expect(counts.blocks == 48)  // three chunks of 16
            for b in blocks.prefix(30) { XRegBlockPool.free(box.pool, b) }
            counts = XRegBlockPool.counts(box.pool)
            #expect(counts.live == 10 && counts.liveMax == 40 && counts.blocks == 48)
            // Freed blocks come back before any new chunk is carved.
            for _ in 0..<30 { _ = XRegBlockPool.allocate(box.pool) }
            #expect(XRegBlockPool.counts(box.pool).blocks == 48)
        }

        /// A G and a P of our own, with what xRegSave/xRegRestore read.
        final class Fixture {
            let box = PoolBox()
            let g = GPtr.allocate(capacity: 1)
            let p1 = PPtr.allocate(capacity: 1)
            let p2 = PPtr.allocate(capacity: 1)
            init() {
                g.initialize(to: vm_g())
                g.pointee.id = 42
                for p in [p1, p2] {
                    p.initialize(to: vm_p())
                    p.pointee.xregs_path = UInt32(VM_XREGS_PATH_AVX)
                    p.pointee.xregs_scratch = allocateScratchBlock()
                }
            }
            deinit {
                for p in [p1, p2] {
                    free(p.pointee.xregs_scratch)
                    p.deallocate()
                }
                g.deallocate()
            }
            func fillScratch(_ p: PPtr, _ byte: UInt8) {
                p.pointee.xregs_scratch!.initializeMemory(
                    as: UInt8.self, repeating: byte, count: Int(VM_XREGS_AVX_BYTES))
            }
        }

        @Test func saveMovesScratchToTheGAndRestoreMovesItToTheNewPsCache() {
            let f = Fixture()
            // Preempted on p1 with an empty cache: a block from the pool, scratch copied into it.
            f.fillScratch(f.p1, 0xA1)
            xRegSave(f.g, f.p1, f.box.pool)
            let state = f.g.pointee.xregs_state!
            #expect(UnsafeRawBufferPointer(start: state, count: Int(VM_XREGS_AVX_BYTES)).allSatisfy { $0 == 0xA1 })
            #expect(vm_p_stat(f.p1, VM_STAT_XREG_ALLOC).pointee == 1)
            #expect(XRegBlockPool.counts(f.box.pool).live == 1)
            // Scratch is free for the next preemption on p1 at once.
            f.fillScratch(f.p1, 0x00)
            // Resumed on p2: the block becomes p2's cache (where the trampoline reloads from).
            xRegRestore(f.g, f.p2, f.box.pool)
            #expect(f.g.pointee.xregs_state == nil)
            #expect(f.p2.pointee.xregs_cache == state)
            // Preempted again on p2: the cached block is the allocation, no pool traffic.
            f.fillScratch(f.p2, 0xB2)
            xRegSave(f.g, f.p2, f.box.pool)
            #expect(f.g.pointee.xregs_state == state)
            #expect(f.p2.pointee.xregs_cache == nil)
            #expect(vm_p_stat(f.p2, VM_STAT_XREG_CACHEHIT).pointee == 1)
            #expect(UnsafeRawBufferPointer(start: state, count: Int(VM_XREGS_AVX_BYTES)).allSatisfy { $0 == 0xB2 })
            #expect(XRegBlockPool.counts(f.box.pool).live == 1)
        }

        @Test func restoreFreesTheBlockTheCacheHeldOnlyThen() {
            let f = Fixture()
            let g2 = GPtr.allocate(capacity: 1)
            defer { g2.deallocate() }
            g2.initialize(to: vm_g())
            // Two Gs preempted on p1: two blocks live.
            xRegSave(f.g, f.p1, f.box.pool)
            xRegSave(g2, f.p1, f.box.pool)
            #expect(XRegBlockPool.counts(f.box.pool).live == 2)
            // Both resume on p2 one after the other: the first one's block waits in the cache (it
            // was just reloaded into registers) until the second restore replaces and frees it.
            xRegRestore(f.g, f.p2, f.box.pool)
            #expect(XRegBlockPool.counts(f.box.pool).live == 2)
            xRegRestore(g2, f.p2, f.box.pool)
            #expect(XRegBlockPool.counts(f.box.pool).live == 1)  // live <= preempted Gs (0) + Ps
            // A G abandoned while preempted gives its block back.
            xRegSave(f.g, f.p1, f.box.pool)
            #expect(XRegBlockPool.counts(f.box.pool).live == 2)
            if let state = f.g.pointee.xregs_state {
                f.g.pointee.xregs_state = nil
                XRegBlockPool.free(f.box.pool, state)
            }
            #expect(XRegBlockPool.counts(f.box.pool).live == 1)
        }

        @Test func doublePreemptIsAFatalErrorNamingTheInvariant() {
            let result = runInChild {
                let f = Fixture()
                xRegSave(f.g, f.p1, f.box.pool)
                xRegSave(f.g, f.p1, f.box.pool)
                exit(0)
            }
            #expect(result.exitStatus != 0)
            #expect(result.stderr.contains("double preempt"), "\(result.stderr)")
            #expect(result.stderr.contains("non-nil exactly while the task is asynchronously preempted"))
        }

        @Test func returningWithoutStateIsAFatalErrorNamingTheInvariant() {
            let result = runInChild {
                let f = Fixture()
                xRegRestore(f.g, f.p1, f.box.pool)
                exit(0)
            }
            #expect(result.exitStatus != 0)
            #expect(result.stderr.contains("no state on return"), "\(result.stderr)")
            #expect(result.stderr.contains("non-nil exactly while the task is asynchronously preempted"))
        }

        @Test func runtimeLocksAreCountedPerThread() {
            let lock = UnsafeMutablePointer<vm_mutex>.allocate(capacity: 2)
            defer { lock.deallocate() }
            lock.initialize(repeating: vm_mutex(), count: 2)
            let base = vm_locks_held()
            vm_mutex_lock(lock)
            #expect(vm_locks_held() == base + 1)
            vm_mutex_lock(lock + 1)
            #expect(vm_locks_held() == base + 2)
            // Another thread's count is its own.
            var other: Int32 = -1
            let t = startHostThread { other = vm_locks_held() }
            joinHostThread(t)
            #expect(other == 0)
            vm_mutex_unlock(lock + 1)
            vm_mutex_unlock(lock)
            #expect(vm_locks_held() == base)
        }

        @Test func theDetectedPathIsUsableAndNarrowerOnesToo() {
            let path = vm_xregs_detect_path()
            #expect(vm_xregs_path_usable(path))
            #expect(vm_xregs_path_usable(UInt32(VM_XREGS_PATH_SSE)))
            if path == UInt32(VM_XREGS_PATH_AVX512) { #expect(vm_xregs_path_usable(UInt32(VM_XREGS_PATH_AVX))) }
            #expect(!vm_xregs_path_usable(7))
            let f = vm_cpu_features()
            // This project's machines (PLATFORM.md): AVX2 without AVX-512.
            if f.os_ymm && !f.os_zmm { #expect(AsyncPreemption.vectorRegisters == .avx) }
        }
    }
}
