// context_switch.S — switching between a G's stack and its M's scheduler stack (g0).
//
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

    .text

// void vm_ctx_switch(void **save_sp /* rdi */, void *load_sp /* rsi */)
    .globl vm_ctx_switch
    .type vm_ctx_switch, @function
    .p2align 4
vm_ctx_switch:
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
    .size vm_ctx_switch, .-vm_ctx_switch

// First instructions of a new G, reached by vm_ctx_switch's `ret`. rsp is 16-byte aligned
// here (vm_ctx_init arranges it), so the call below enters entry(arg) with the ABI alignment.
// The CFI marks the end of the call chain for unwinders and debuggers.
    .globl vm_ctx_trampoline
    .type vm_ctx_trampoline, @function
    .p2align 4
vm_ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %r12, %rdi
    callq *%r13
    ud2                     // entry never returns: a G ends by switching to g0 for good
    .cfi_endproc
    .size vm_ctx_trampoline, .-vm_ctx_trampoline

    .section .note.GNU-stack,"",@progbits
