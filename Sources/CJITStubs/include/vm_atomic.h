// vm_atomic.h — atomic operations on raw memory for VMRuntime.
//
// Swift 6 has no atomics on memory it did not allocate as `Atomic<T>`, and the
// scheduler's state lives in C structs (the assembly reads them), so these
// static inline shims wrap the compiler's __atomic builtins. They compile into
// the Swift module through the Clang importer and inline like Swift code.
//
// Orders are chosen per use: `acq`/`rel` for publication (run queues, status
// hand-offs), `relaxed` for statistics, `seq_cst` only where a store must be
// ordered before a later load of another word (the idle-M / wakep handshake).
#pragma once
#include <stdint.h>
#include <stdbool.h>

#define VM_ATOMIC_INLINE static inline __attribute__((always_inline))

// ---- uint32_t ----
VM_ATOMIC_INLINE uint32_t vm_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
VM_ATOMIC_INLINE uint32_t vm_load_relaxed_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
VM_ATOMIC_INLINE void vm_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
VM_ATOMIC_INLINE void vm_store_relaxed_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
VM_ATOMIC_INLINE void vm_store_seqcst_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
VM_ATOMIC_INLINE bool vm_cas_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
VM_ATOMIC_INLINE uint32_t vm_xchg_u32(uint32_t *p, uint32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }

// ---- int32_t ----
VM_ATOMIC_INLINE int32_t vm_load_i32(const int32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
VM_ATOMIC_INLINE int32_t vm_add_i32(int32_t *p, int32_t d) { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }

// ---- int64_t / uint64_t ----
VM_ATOMIC_INLINE int64_t vm_load_i64(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
VM_ATOMIC_INLINE void vm_store_i64(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
VM_ATOMIC_INLINE void vm_store_seqcst_i64(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
VM_ATOMIC_INLINE int64_t vm_add_i64(int64_t *p, int64_t d) { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }
VM_ATOMIC_INLINE int64_t vm_xchg_i64(int64_t *p, int64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
VM_ATOMIC_INLINE uint64_t vm_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
VM_ATOMIC_INLINE uint64_t vm_load_relaxed_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
VM_ATOMIC_INLINE void vm_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
VM_ATOMIC_INLINE uint64_t vm_add_u64(uint64_t *p, uint64_t d) { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }
// Single-writer counter bump: the owner is the only writer, readers use a relaxed load, so a
// plain load + relaxed store is enough and costs no locked instruction.
VM_ATOMIC_INLINE void vm_bump_u64(uint64_t *p, uint64_t d) {
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

// ---- pointers ----
VM_ATOMIC_INLINE void *vm_load_ptr(void *const *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
VM_ATOMIC_INLINE void *vm_load_relaxed_ptr(void *const *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
VM_ATOMIC_INLINE void vm_store_ptr(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
VM_ATOMIC_INLINE void vm_store_relaxed_ptr(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
VM_ATOMIC_INLINE bool vm_cas_ptr(void **p, void *expected, void *desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
VM_ATOMIC_INLINE void *vm_xchg_ptr(void **p, void *v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }

// A full fence. On x86 a locked no-op RMW on the stack is cheaper than MFENCE and orders
// earlier stores before later loads just the same (Intel SDM 8.2.2: locked instructions
// have a total order and are not reordered with loads or stores).
VM_ATOMIC_INLINE void vm_fence(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("lock; orl $0, (%%rsp)" ::: "memory", "cc");
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

// Spin-wait hint.
VM_ATOMIC_INLINE void vm_cpu_relax(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("pause" ::: "memory");
#endif
}
