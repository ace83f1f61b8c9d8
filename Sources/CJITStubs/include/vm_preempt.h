// vm_preempt.h — asynchronous preemption, the parts that must be C (preempt.c) or assembly (the
// generated async_preempt.S): the SIGURG handler with its async-safe-point test, the registry of
// code regions where every instruction is a safe point (the JIT's code heap), sending a preemption
// signal to an M, the save-path detection, and the hook through which the trampoline enters Swift.
// The design is in VMRuntime/Preemption.swift and shared/DESIGN.md ("The preemption path").
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "vm_sched.h"

// ---- save paths ---------------------------------------------------------------------------------

// The widest path CPUID/XGETBV allow: AVX-512 when the CPU has AVX512F and AVX512BW (the 64-bit
// opmask moves need BW) and the OS saves ZMM/opmask state; else AVX when the OS saves YMM state;
// else SSE. Runs CPUID each call; the scheduler asks once.
uint32_t vm_xregs_detect_path(void);
// Whether `path` may be used here: it must not save registers the CPU or OS does not have.
bool vm_xregs_path_usable(uint32_t path);
// Bytes of one saved state of `path` (VM_XREGS_*_BYTES); 0 for an unknown path.
uint32_t vm_xregs_path_bytes(uint32_t path);

// The generated save/restore sequences (async_preempt.S). Each takes the block in rdi and changes
// nothing but the registers it loads, so C (and a test's machine code) may call them directly.
void vm_xregs_save_sse(void *block);
void vm_xregs_restore_sse(const void *block);
void vm_xregs_save_avx(void *block);
void vm_xregs_restore_avx(const void *block);
void vm_xregs_save_avx512(void *block);
void vm_xregs_restore_avx512(const void *block);
// The trampoline. Never called: the handler makes the interrupted code "call" it.
void vm_async_preempt(void);

// Addresses of the generated code, for tests that check its encoding byte by byte (Swift 6 cannot
// take the address of a C function declared without a body as a raw pointer portably). NULL in a
// build without asynchronous preemption (vm_platform.h), where the code does not exist. Defined in
// preempt.c, which is compiled with the build's defines (Swift's view of this header is not).
const void *vm_xregs_save_code(uint32_t path);
const void *vm_xregs_restore_code(uint32_t path);
const void *vm_async_preempt_code(void);

// ---- code regions -----------------------------------------------------------------------------

// Process-wide registry of [start, end) ranges of executable memory in which every instruction is
// an async safe point (the JIT's contract: no calls, no runtime locks, no red zone, every live value
// in registers or in the code's own frame on the G stack). A fixed array read lock-free by the
// signal handler: a slot is written completely before the count that publishes it is raised, and a
// slot is never reused, so the handler can never see a half-written range. Unregistering empties a
// slot's range with one store. Writers serialize on a lock.
#define VM_CODE_REGIONS_MAX 32
// False when the registry is full or the range is empty or wraps.
bool vm_code_region_register(uintptr_t start, uintptr_t end);
// Empties the registered range that starts at `start`; false if there is none.
bool vm_code_region_unregister(uintptr_t start);
// Whether `pc` lies in a registered range. Async-signal-safe.
bool vm_code_region_contains(uintptr_t pc);

// ---- the signal -------------------------------------------------------------------------------

// Stack the preemption path needs below the interrupted rsp: the trampoline's frame
// (VM_ASYNC_PREEMPT_PUSHED_BYTES, alignment, the return address of each call it makes) and the
// Swift frames of asyncPreempt2 down to the context switch, and on resumption xRegRestore with the
// pool's lock. Measured: 2,144 bytes in a debug build (PreemptionTests,
// thePathNeedsLessStackThanItReserves, which fails above half of this); 8 KiB leaves room for
// sanitizer builds and future Swift code on that path.
#define VM_ASYNC_PREEMPT_STACK 8192

// Installs the SIGURG handler (SA_SIGINFO | SA_ONSTACK | SA_RESTART) unless it is already the
// current one, keeping the handler that was installed before, to which every SIGURG that is not
// ours is passed. VMRuntime calls it once per process, before the first scheduler with
// asynchronous preemption starts its Ms.
void vm_preempt_install_handler(void);

// Asks `m` to preempt its G: unless a signal is already pending for it (at most one per M), marks
// one pending and sends SIGURG to its thread with tgkill. Returns whether a signal was sent.
// Callable from any thread (sysmon, cancel).
bool vm_preempt_signal_m(vm_m *m);

// ---- the way into Swift -----------------------------------------------------------------------

// The trampoline calls vm_async_preempt2(frame) with the G stack aligned, DF clear and the vector
// registers saved in p.xRegs.scratch; `frame` points at the pushed GP registers (layout in
// async_preempt.S). It forwards to the function VMRuntime registered at start-up, which parks the
// G and returns when the G is resumed (possibly on another M).
typedef void (*vm_async_preempt2_fn)(void *frame);
void vm_set_async_preempt2(vm_async_preempt2_fn fn);
void vm_async_preempt2(void *frame);
