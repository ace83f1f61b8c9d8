// vm_platform.h — what this build has, for C and assembly. Not part of the Swift module (Swift does
// not see the defines of the C target): the Swift side asks the same questions with the same
// conditions (AsyncPreemption.isSupported in VMRuntime, JITSupport.compiledIn in VecVM):
// `#if arch(x86_64) && os(Linux) && !VECVM_NO_JIT`.
//
// - Asynchronous preemption (a SIGURG handler that edits the interrupted x86-64 context, the
//   generated trampoline) and the JIT exist on x86-64 Linux only; `VECVM_NO_JIT` (Package.swift,
//   from the environment variable of the same name) compiles them out there too.
// - The scheduler's futex waits are Linux's; elsewhere, and in the VECVM_NO_JIT build so that this
//   path is compiled and tested here too, they are condition variables (runtime.c).
// - The task switch is assembly for x86-64 and arm64 (context_switch.S).
#pragma once

#if defined(__x86_64__) && defined(__linux__) && !defined(VECVM_NO_JIT)
#define VM_HAS_ASYNC_PREEMPT 1
#else
#define VM_HAS_ASYNC_PREEMPT 0
#endif

#if defined(__linux__) && !defined(VECVM_NO_JIT)
#define VM_HAS_FUTEX 1
#else
#define VM_HAS_FUTEX 0
#endif

// Symbol names in assembly: Mach-O prefixes C names with an underscore; ELF wants type and size.
#if defined(__APPLE__)
#define VM_SYMBOL(name) _##name
#define VM_FUNCTION_TYPE(name)
#define VM_FUNCTION_SIZE(name)
#else
#define VM_SYMBOL(name) name
#define VM_FUNCTION_TYPE(name) .type name, @function
#define VM_FUNCTION_SIZE(name) .size name, .-name
#endif
