// LayoutTests.swift — the C layouts the assembly reads, seen from Swift: the offsets #defined
// in vm_sched.h (and pinned there by _Static_assert) must be what Swift's importer computes,
// and a Message must fit the G's hand-off slot. Also CPU feature detection.
import CJITStubs
import Testing

@testable import VMRuntime

extension RuntimeTests {
    @Suite struct Layout {
        @Test func gOffsetsMatchTheAssembly() {
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.sp) == Int(VM_G_OFF_SP))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.stack_lo) == Int(VM_G_OFF_STACK_LO))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.stack_hi) == Int(VM_G_OFF_STACK_HI))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.guard_lo) == Int(VM_G_OFF_GUARD_LO))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.preempt) == Int(VM_G_OFF_PREEMPT))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.status) == Int(VM_G_OFF_STATUS))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.xregs_state) == Int(VM_G_OFF_XREGS_STATE))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.m) == Int(VM_G_OFF_M))
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.id) == Int(VM_G_OFF_ID))
        }

        @Test func mAndPOffsetsMatchTheAssembly() {
            #expect(MemoryLayout<vm_m>.offset(of: \vm_m.g0_sp) == Int(VM_M_OFF_G0_SP))
            #expect(MemoryLayout<vm_m>.offset(of: \vm_m.curg) == Int(VM_M_OFF_CURG))
            #expect(MemoryLayout<vm_m>.offset(of: \vm_m.p) == Int(VM_M_OFF_P))
            #expect(MemoryLayout<vm_m>.offset(of: \vm_m.signal_pending) == Int(VM_M_OFF_SIGNAL_PENDING))
            #expect(MemoryLayout<vm_p>.offset(of: \vm_p.m) == Int(VM_P_OFF_M))
            #expect(MemoryLayout<vm_p>.offset(of: \vm_p.curg) == Int(VM_P_OFF_CURG))
            #expect(MemoryLayout<vm_p>.offset(of: \vm_p.xregs_scratch) == Int(VM_P_OFF_XREGS_SCRATCH))
            #expect(MemoryLayout<vm_p>.offset(of: \vm_p.xregs_cache) == Int(VM_P_OFF_XREGS_CACHE))
        }

        @Test func messageFitsTheHandOffSlot() {
            #expect(MemoryLayout<Message>.size <= Int(VM_G_MSG_BYTES))
            #expect(MemoryLayout<Message>.alignment <= 8)
            #expect(MemoryLayout<vm_g>.offset(of: \vm_g.msg)! % MemoryLayout<Message>.alignment == 0)
        }

        @Test func cpuFeaturesAreConsistent() {
            let f = vm_cpu_features()
            // Implications that hold on every x86-64 CPU.
            if f.avx2 { #expect(f.avx) }
            if f.avx512bw || f.avx512vl || f.avx512dq { #expect(f.avx512f) }
            if f.os_zmm { #expect(f.os_ymm) }
            if f.osxsave { #expect(f.xcr0 & 1 == 1) } else { #expect(f.xcr0 == 0) }
            // This project's machines (PLATFORM.md): AVX2 and FMA, usable.
            #expect(f.avx2 && f.fma && f.os_ymm)
        }
    }
}
