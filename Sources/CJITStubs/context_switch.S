// context_switch.S — switching between a G's stack and its M's scheduler stack (g0), for x86-64
// (Linux and macOS) and arm64 (Linux and macOS: see the arm64 frame further down).
//
// x86-64:
// Frame that vm_ctx_switch leaves on the stack it switches away from (and that vm_ctx_init
// fabricates for a new G), addresses growing upward from the saved sp:
//
//   sp+0   MXCSR (4 bytes) | x87 control word (2 bytes) | pad (2)
//   sp+8   r15
//   sp+16  r14
//   sp+24  r13        new G: entry function
//   sp+32  r12        new G: entry argument
//   sp+40  rbx
//   sp+48  rbp
//   sp+56  return address   new G: vm_ctx_trampoline
//
// MXCSR (SSE rounding/exception masks) and the x87 control word are callee-saved in the
// SysV ABI, so a task that changes its rounding mode keeps it and does not leak it to the
// next task on the same thread. Everything else is caller-saved: the compiler has already
// spilled what it needs before calling here.

#include "vm_platform.h"

#if defined(__x86_64__)

    .text

// void vm_ctx_switch(void **save_sp /* rdi */, void *load_sp /* rsi */)
    .globl VM_SYMBOL(vm_ctx_switch)
    VM_FUNCTION_TYPE(vm_ctx_switch)
    .p2align 4
VM_SYMBOL(vm_ctx_switch):
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)       // the old stack is complete: from here it may be resumed elsewhere
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    VM_FUNCTION_SIZE(vm_ctx_switch)

// First instructions of a new G, reached by vm_ctx_switch's `ret`. rsp is 16-byte aligned
// here (vm_ctx_init arranges it), so the call below enters entry(arg) with the ABI alignment.
// The CFI marks the end of the call chain for unwinders and debuggers.
    .globl VM_SYMBOL(vm_ctx_trampoline)
    VM_FUNCTION_TYPE(vm_ctx_trampoline)
    .p2align 4
VM_SYMBOL(vm_ctx_trampoline):
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %r12, %rdi
    callq *%r13
    ud2                     // entry never returns: a G ends by switching to g0 for good
    .cfi_endproc
    VM_FUNCTION_SIZE(vm_ctx_trampoline)

#elif defined(__aarch64__)

// arm64: the frame vm_ctx_switch leaves on the stack it switches away from (and that vm_ctx_init
// fabricates for a new G), 176 bytes, addresses growing upward from the saved sp (16-byte aligned,
// as sp must always be on arm64):
//
//   sp+0    x19    new G: entry argument        sp+96   d8    sp+104  d9
//   sp+8    x20    new G: entry function        sp+112  d10   sp+120  d11
//   sp+16   x21 … sp+72  x28                     sp+128  d12   sp+136  d13
//   sp+80   x29 (frame pointer)                  sp+144  d14   sp+152  d15
//   sp+88   x30 (link register)  new G: vm_ctx_trampoline
//   sp+160  FPCR (rounding mode and trap enables)           sp+168  pad
//
// x19–x28, x29, x30, sp and the low halves of v8–v15 are callee-saved in AAPCS64 (and on Apple's
// arm64); FPCR is kept so that a task's rounding mode stays its own, as MXCSR is on x86-64. x18 is
// the platform register on Apple systems and is left alone.

    .text

// void vm_ctx_switch(void **save_sp /* x0 */, void *load_sp /* x1 */)
    .globl VM_SYMBOL(vm_ctx_switch)
    VM_FUNCTION_TYPE(vm_ctx_switch)
    .p2align 4
VM_SYMBOL(vm_ctx_switch):
    .cfi_startproc
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]            // the old stack is complete: from here it may be resumed elsewhere
    mov sp, x1
    ldr x9, [sp, #160]
    msr fpcr, x9
    ldp d14, d15, [sp, #144]
    ldp d12, d13, [sp, #128]
    ldp d10, d11, [sp, #112]
    ldp d8, d9, [sp, #96]
    ldp x29, x30, [sp, #80]
    ldp x27, x28, [sp, #64]
    ldp x25, x26, [sp, #48]
    ldp x23, x24, [sp, #32]
    ldp x21, x22, [sp, #16]
    ldp x19, x20, [sp, #0]
    add sp, sp, #176
    ret
    .cfi_endproc
    VM_FUNCTION_SIZE(vm_ctx_switch)

// First instructions of a new G, reached by vm_ctx_switch's `ret` (x30 = here). sp is 16-byte
// aligned (vm_ctx_init arranges it); entry(arg) never returns.
    .globl VM_SYMBOL(vm_ctx_trampoline)
    VM_FUNCTION_TYPE(vm_ctx_trampoline)
    .p2align 4
VM_SYMBOL(vm_ctx_trampoline):
    .cfi_startproc
    .cfi_undefined x30
    mov x29, #0
    mov x0, x19
    blr x20
    brk #0                  // entry never returns: a G ends by switching to g0 for good
    .cfi_endproc
    VM_FUNCTION_SIZE(vm_ctx_trampoline)

#else
#error "VecVM's task switch (context_switch.S) is written for x86-64 and arm64 only"
#endif

#if defined(__ELF__)
    .section .note.GNU-stack,"",@progbits
#endif
