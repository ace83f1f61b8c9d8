// runtime.c — the parts of the scheduler that must be C: the thread-local current M and its
// out-of-line getters, futex-based mutex and notes, the new-G frame, per-M thread set-up
// (alternate signal stack, timer slack), guard markers for task stacks, and the SIGSEGV
// handler that reports stack overflow.
//
// Everything here that can be interrupted by a signal retries on EINTR; the signal handler
// itself only reads plain fields and calls write/_exit.
//
// Platforms (vm_platform.h): futex waits on Linux, condition variables elsewhere (and in the
// VECVM_NO_JIT build, so that they are tested here); thread names, timer slack, kernel thread ids
// and guard markers are Linux's, with plain fallbacks; the new-G frame follows context_switch.S for
// x86-64 and arm64.
#define _GNU_SOURCE
#if defined(__APPLE__)
#define _XOPEN_SOURCE 700  // ucontext_t
#define _DARWIN_C_SOURCE
#endif
#include "vm_platform.h"
#include "vm_sched.h"

#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>  // malloc_trim
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

// ---- the current M ----------------------------------------------------------------------
// initial-exec so that assembly (the future asyncPreempt trampoline and the signal handler)
// can reach it as vm_tls_m@gottpoff(%rip) + %fs. Not static: the assembly names it.
__attribute__((tls_model("initial-exec"))) __thread vm_m *vm_tls_m;

// Runtime locks the thread holds (vm_locks_inc/dec in vm_sched.h; the SIGURG handler reads it).
// initial-exec for the same reason: the inline assembly names it with @gottpoff.
__attribute__((tls_model("initial-exec"))) __thread int32_t vm_tls_locks;

void vm_locks_add_portable(int32_t delta) { vm_tls_locks += delta; }
int32_t vm_locks_held(void) { return vm_tls_locks; }

// noinline and defined here, not in the header: Swift must call through, so every read after
// a switch observes the thread the G is on now (PLATFORM.md hazards 2 and 3).
__attribute__((noinline)) vm_m *vm_current_m(void) { return vm_tls_m; }
__attribute__((noinline)) vm_g *vm_current_g(void) {
    vm_m *m = vm_tls_m;
    return m ? m->curg : NULL;
}

// ---- sysmon's words ------------------------------------------------------------------------
vm_sysmon_words vm_sysmon_global = {.wake_at = INT64_MAX};

// ---- time and futex ---------------------------------------------------------------------
int64_t vm_nanotime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#if VM_HAS_FUTEX

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t bitset) {
    return syscall(SYS_futex, word, op, val, ts, NULL, bitset);
}

void vm_futex_wake(uint32_t *word, int32_t count) {
    // FUTEX_WAKE cannot fail with EINTR; nothing to retry.
    futex(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, (uint32_t)count, NULL, 0);
}

// Sleeps while *word == val, until woken or (deadline_ns != INT64_MAX) the monotonic deadline.
// Returns false at the deadline. Spurious returns are allowed: callers loop.
static bool vm_futex_wait(uint32_t *word, uint32_t val, int64_t deadline_ns) {
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != INT64_MAX) {
        ts.tv_sec = deadline_ns / 1000000000;
        ts.tv_nsec = deadline_ns % 1000000000;
        tsp = &ts;
    }
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a retry after EINTR or a
    // spurious wake-up does not stretch the wait.
    long r = futex(word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val, tsp, FUTEX_BITSET_MATCH_ANY);
    return !(r == -1 && errno == ETIMEDOUT);
}

#else  // !VM_HAS_FUTEX: a futex made of condition variables.

// Waiters sleep on the condition variable of a bucket chosen by the word's address; a wake
// broadcasts to the bucket and every waiter re-checks its own word, so words that share a bucket
// cost spurious wake-ups, never lost ones. A waiter checks its word under the bucket lock and a
// waker changes the word before it takes that lock: a change either comes before the check (the
// waiter does not sleep) or finds the waiter asleep. Not async-signal-safe (neither handler of this
// runtime wakes anything in such a build).
#define VM_WAIT_BUCKETS 64

typedef struct vm_wait_bucket {
    pthread_mutex_t lock;
    pthread_cond_t cond;
} vm_wait_bucket;

static vm_wait_bucket vm_wait_buckets[VM_WAIT_BUCKETS];
static pthread_once_t vm_wait_once = PTHREAD_ONCE_INIT;

static void vm_wait_bucket_init(vm_wait_bucket *b) {
    pthread_mutex_init(&b->lock, NULL);
#if defined(__APPLE__)
    pthread_cond_init(&b->cond, NULL);  // timed waits are relative there (vm_futex_wait)
#else
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cond, &attr);
    pthread_condattr_destroy(&attr);
#endif
}

// fork(): a bucket lock held by another thread at that moment would stay held in the child for
// ever. Take them all around the fork; the child starts with fresh ones.
static void vm_wait_prefork(void) {
    for (int i = 0; i < VM_WAIT_BUCKETS; i++) pthread_mutex_lock(&vm_wait_buckets[i].lock);
}
static void vm_wait_postfork_parent(void) {
    for (int i = VM_WAIT_BUCKETS - 1; i >= 0; i--) pthread_mutex_unlock(&vm_wait_buckets[i].lock);
}
static void vm_wait_postfork_child(void) {
    for (int i = 0; i < VM_WAIT_BUCKETS; i++) vm_wait_bucket_init(&vm_wait_buckets[i]);
}

static void vm_wait_init(void) {
    for (int i = 0; i < VM_WAIT_BUCKETS; i++) vm_wait_bucket_init(&vm_wait_buckets[i]);
    pthread_atfork(vm_wait_prefork, vm_wait_postfork_parent, vm_wait_postfork_child);
}

// Before main, so that these fork handlers are registered before any other that takes a runtime
// mutex (Sysmon's, registered on first use): prepare handlers run in the reverse order of
// registration and the others in order, so the buckets are locked last before fork() and freed
// first after it. Registered lazily (at the first wait) they ran innermost, and a handler's unlock
// of a contended vm_mutex in the parent waited for a bucket lock its own thread held: a deadlock,
// whenever a process forked while, say, sysmon waited for the stack pool's lock
// (Tests/PortableRuntime/task_switch.c pins it).
__attribute__((constructor)) static void vm_wait_init_before_main(void) { pthread_once(&vm_wait_once, vm_wait_init); }

static vm_wait_bucket *vm_wait_bucket_of(const uint32_t *word) {
    pthread_once(&vm_wait_once, vm_wait_init);
    uintptr_t a = (uintptr_t)word;
    return &vm_wait_buckets[((a >> 2) ^ (a >> 9)) % VM_WAIT_BUCKETS];
}

void vm_futex_wake(uint32_t *word, int32_t count) {
    (void)count;  // a bucket may hold waiters of other words: wake them all, each re-checks
    vm_wait_bucket *b = vm_wait_bucket_of(word);
    pthread_mutex_lock(&b->lock);
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static bool vm_futex_wait(uint32_t *word, uint32_t val, int64_t deadline_ns) {
    vm_wait_bucket *b = vm_wait_bucket_of(word);
    bool in_time = true;
    pthread_mutex_lock(&b->lock);
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == val) {
        if (deadline_ns == INT64_MAX) {
            pthread_cond_wait(&b->cond, &b->lock);
        } else {
#if defined(__APPLE__)
            int64_t left = deadline_ns - vm_nanotime();
            if (left < 0) left = 0;
            struct timespec rel = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
            in_time = pthread_cond_timedwait_relative_np(&b->cond, &b->lock, &rel) != ETIMEDOUT;
#else
            struct timespec abs = {.tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000};
            in_time = pthread_cond_timedwait(&b->cond, &b->lock, &abs) != ETIMEDOUT;
#endif
        }
    }
    pthread_mutex_unlock(&b->lock);
    return in_time;
}

#endif  // VM_HAS_FUTEX

void vm_mutex_lock_slow(vm_mutex *l) {
    // Critical sections are a few dozen instructions: spin briefly before sleeping. Kept short
    // because this machine has 2 shared cores and the holder may be descheduled.
    for (int i = 0; i < 64; i++) {
        uint32_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
        if (s == 0) {
            uint32_t expected = 0;
            if (__atomic_compare_exchange_n(&l->state, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
        }
        vm_cpu_relax();
    }
    // Mark contended (2) and sleep until the holder's unlock wakes us. EINTR and spurious
    // returns simply loop.
    while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0) vm_futex_wait(&l->state, 2, INT64_MAX);
}

void vm_mutex_unlock_slow(vm_mutex *l) { vm_futex_wake(&l->state, 1); }

bool vm_note_sleep(uint32_t *note, int64_t deadline_ns) {
    while (__atomic_load_n(note, __ATOMIC_ACQUIRE) == 0) {
        if (deadline_ns != INT64_MAX && vm_nanotime() >= deadline_ns) return false;
        if (!vm_futex_wait(note, 0, deadline_ns)) return __atomic_load_n(note, __ATOMIC_ACQUIRE) != 0;
    }
    return true;
}

void vm_note_wake(uint32_t *note) {
    __atomic_store_n(note, 1, __ATOMIC_RELEASE);
    vm_futex_wake(note, 1);
}

// ---- stack guards -------------------------------------------------------------------------
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // <linux/mman.h> from 6.13; older libc headers lack it
#endif

int vm_guard_install(uintptr_t addr, size_t len) {
#if !defined(__linux__)
    (void)addr;
    (void)len;
    return ENOSYS;  // no guard markers: the caller falls back to PROT_NONE
#endif
    for (;;) {
        if (madvise((void *)addr, len, MADV_GUARD_INSTALL) == 0) return 0;
        // EINTR: a signal arrived while the markers were installed; EAGAIN: a page-table race
        // the kernel asks us to retry. Installing markers again over existing ones is harmless.
        if (errno != EINTR && errno != EAGAIN) return errno;
    }
}

int vm_guard_install_strided(uintptr_t first, size_t stride, size_t count, size_t len) {
#if defined(SYS_process_madvise) && defined(SYS_pidfd_open)
    // A pidfd of our own process, opened per call: a cached one would name the parent after a
    // fork. (Two cheap system calls per arena of 64 stacks.)
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pidfd < 0) return errno;
    int rc = 0;
    size_t done = 0;
    while (done < count && rc == 0) {
        struct iovec iov[64];
        size_t n = count - done < 64 ? count - done : 64;
        for (size_t i = 0; i < n; i++) {
            iov[i].iov_base = (void *)(first + (done + i) * stride);
            iov[i].iov_len = len;
        }
        long r = syscall(SYS_process_madvise, pidfd, iov, n, MADV_GUARD_INSTALL, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;  // markers already in place are harmless
            rc = errno;
        } else {
            // A partial result (interrupted part-way) covers whole regions first; go on from
            // the first region not fully covered. None covered: give up, the caller falls back.
            if ((size_t)r < len) rc = EIO;
            done += (size_t)r / len;
        }
    }
    close(pidfd);
    return rc;
#else
    (void)first; (void)stride; (void)count; (void)len;
    return ENOSYS;
#endif
}

// ---- ThreadSanitizer fibers (vm_switch_to_g) ------------------------------------------------
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VM_TSAN 1
#endif
#endif
#ifdef VM_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
#endif

// Not instrumented (no __tsan_func_entry/exit): these functions start on one fiber and return on
// another, and an instrumented exit would pop a frame from the wrong fiber's shadow stack — from an
// empty one for a new G, writing below its start.
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define VM_NO_SANITIZER_INSTRUMENTATION __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef VM_NO_SANITIZER_INSTRUMENTATION
#define VM_NO_SANITIZER_INSTRUMENTATION
#endif

VM_NO_SANITIZER_INSTRUMENTATION void vm_tsan_switch_to_g(vm_m *m, vm_g *g) {
#ifdef VM_TSAN
    // Read each time: g0 is whatever fiber this thread is on now (a host thread may lend itself).
    m->tsan_g0 = __tsan_get_current_fiber();
    if (g->tsan_fiber == NULL) g->tsan_fiber = __tsan_create_fiber(0);
    __tsan_switch_to_fiber(g->tsan_fiber, 0);
#else
    (void)m; (void)g;
#endif
}

VM_NO_SANITIZER_INSTRUMENTATION void vm_tsan_switch_to_g0(vm_g *g, vm_m *m) {
#ifdef VM_TSAN
    (void)g;
    __tsan_switch_to_fiber(m->tsan_g0, 0);
#else
    (void)m; (void)g;
#endif
}

// ---- new G frame --------------------------------------------------------------------------
// The frame vm_ctx_switch pops (its layout is drawn in context_switch.S).
#if defined(__aarch64__)
void *vm_ctx_init(uintptr_t stack_hi, void (*entry)(void *), void *arg) {
    // 16 bytes of zeros at the very top: a null frame record for unwinders.
    uintptr_t top = (stack_hi & ~(uintptr_t)15) - 16;
    ((uint64_t *)top)[0] = 0;
    ((uint64_t *)top)[1] = 0;
    uint64_t *sp = (uint64_t *)(top - 176);
    memset(sp, 0, 176);
    sp[0] = (uint64_t)(uintptr_t)arg;                 // x19
    sp[1] = (uint64_t)(uintptr_t)entry;               // x20
    sp[11] = (uint64_t)(uintptr_t)vm_ctx_trampoline;  // x30: vm_ctx_switch's ret goes there
    sp[20] = 0;                                       // FPCR: round to nearest, no traps
    return sp;
}
#else
void *vm_ctx_init(uintptr_t stack_hi, void (*entry)(void *), void *arg) {
#ifdef VM_TSAN
    // `arg` is the G (startG). A G struct is reused for task after task, and a task's last frames
    // are never popped from its fiber's shadow stack: each new task gets a fresh fiber.
    vm_g *g = (vm_g *)arg;
    if (g->tsan_fiber != NULL) __tsan_destroy_fiber(g->tsan_fiber);
    g->tsan_fiber = __tsan_create_fiber(0);
#endif
    // 16 bytes of zeros at the very top: a null return address and frame pointer for unwinders.
    uintptr_t top = (stack_hi & ~(uintptr_t)15) - 16;
    uint64_t *sp = (uint64_t *)top;
    sp[0] = 0;
    sp[1] = 0;
    *--sp = (uint64_t)(uintptr_t)vm_ctx_trampoline;  // popped by vm_ctx_switch's ret; rsp = top
    *--sp = 0;                                       // rbp
    *--sp = 0;                                       // rbx
    *--sp = (uint64_t)(uintptr_t)arg;                // r12
    *--sp = (uint64_t)(uintptr_t)entry;              // r13
    *--sp = 0;                                       // r14
    *--sp = 0;                                       // r15
    *--sp = 0x1F80u | ((uint64_t)0x037Fu << 32);     // default MXCSR | default x87 CW
    return sp;
}
#endif

// ---- AddressSanitizer and reused stacks ----------------------------------------------------
// A G stack is handed to the next G without being unwound: a task that ended left the redzones
// of its last frames (gEntryPoint, exitCurrent, the switch helpers) poisoned, and an abandoned task
// all of its frames. ASan's shadow of those bytes would then flag the new G's own locals that
// happen to lie there ("stack-buffer-overflow ... wild pointer"). Clearing the shadow of the whole
// stack before a G starts on it is what a thread's exit does for an OS stack. Without ASan this
// compiles to nothing.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VM_ASAN 1
#endif
#endif
#ifdef VM_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
void *__asan_region_is_poisoned(void *beg, size_t size);
#endif

void vm_stack_sanitizer_reset(uintptr_t lo, uintptr_t hi) {
#ifdef VM_ASAN
    // Only from the lowest poisoned byte up: the shadow of a stack's untouched low end stays
    // unwritten (reading it maps no memory), so a fresh stack costs no shadow pages.
    char *first = __asan_region_is_poisoned((void *)lo, hi - lo);
    if (first) __asan_unpoison_memory_region(first, hi - (uintptr_t)first);
#else
    (void)lo; (void)hi;
#endif
}

// ---- threads --------------------------------------------------------------------------------
#define VM_ALTSTACK_SIZE (64 * 1024)

void vm_helper_thread_init(const char *name) {
#if defined(__linux__)
    // Timed futex waits are rounded up by the thread's timer slack (50 µs by default); the
    // scheduler's deadlines (sleep wake-ups, quantum checks) want better than that.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
    pthread_setname_np(name);  // the calling thread's, there
#else
    (void)name;
#endif
}

void vm_m_thread_init(vm_m *m, const char *name) {
    vm_tls_m = m;
#if defined(__linux__)
    m->tid = (int32_t)syscall(SYS_gettid);  // where preemption signals go (preempt.c)
#else
    m->tid = 0;  // no asynchronous preemption, no signal to address
#endif
    vm_helper_thread_init(name);
    // A new thread inherits the creator's signal mask, and the thread that starts the Ms may be a
    // host thread with most signals blocked (a Dispatch worker, a test runner). The preemption
    // signal must get through to the M.
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    pthread_sigmask(SIG_UNBLOCK, &urg, NULL);
    // An alternate signal stack: a G that overflows into its guard page has no stack left for
    // the SIGSEGV handler. One guard page below it as well.
    long page = sysconf(_SC_PAGESIZE);
    size_t size = VM_ALTSTACK_SIZE + (size_t)page;
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) return;  // no report on overflow, but the M still works
    mprotect(mem, (size_t)page, PROT_NONE);
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = (char *)mem + page;
    ss.ss_size = VM_ALTSTACK_SIZE;
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, size);
        return;
    }
    m->altstack = mem;
    m->altstack_size = size;
}

void vm_m_thread_exit(vm_m *m) {
    if (m->altstack) {
        stack_t ss;
        memset(&ss, 0, sizeof ss);
        ss.ss_flags = SS_DISABLE;
        sigaltstack(&ss, NULL);
        munmap(m->altstack, m->altstack_size);
        m->altstack = NULL;
    }
    vm_tls_m = NULL;
}

int vm_thread_start(pthread_t *out, void *(*entry)(void *), void *arg) {
    return pthread_create(out, NULL, entry, arg);
}

int vm_thread_join(pthread_t t) { return pthread_join(t, NULL); }

// ---- stack overflow -----------------------------------------------------------------------
static void write_all(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static size_t format_u64(char *buf, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

void vm_fatal_stack_overflow(const vm_g *g) {
    char buf[160];
    size_t n = 0;
    const char *a = "fatal error: stack overflow in task ";
    memcpy(buf, a, strlen(a));
    n += strlen(a);
    n += format_u64(buf + n, (uint64_t)g->id);
    const char *b = " (task stack size ";
    memcpy(buf + n, b, strlen(b));
    n += strlen(b);
    n += format_u64(buf + n, (uint64_t)(g->stack_hi - g->stack_lo));
    const char *c = " bytes)\n";
    memcpy(buf + n, c, strlen(c));
    n += strlen(c);
    write_all(buf, n);
    _exit(2);
}

static struct sigaction vm_previous_segv;

// The interrupted stack pointer of a signal's context.
static uintptr_t vm_context_sp(ucontext_t *uc) {
#if defined(__linux__) && defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__linux__) && defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#elif defined(__APPLE__) && defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext->__ss.__rsp;
#elif defined(__APPLE__) && defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext->__ss.__sp;
#else
#error "vm_context_sp: no stack pointer of a signal context for this platform"
#endif
}

static void vm_segv_handler(int sig, siginfo_t *info, void *context) {
    vm_m *m = vm_tls_m;
    vm_g *g = m ? m->curg : NULL;
    if (g != NULL && g->guard_lo != 0) {
        uintptr_t addr = (uintptr_t)info->si_addr;
        uintptr_t sp = vm_context_sp((ucontext_t *)context);
        // A fault in the guard region, or any fault below the stack while rsp itself has left
        // the stack for the guard region (a frame larger than the band), is an overflow.
        bool in_guard = addr >= g->guard_lo && addr < g->stack_lo;
        bool sp_out = sp < g->stack_lo && sp >= g->guard_lo && addr < g->stack_lo;
        if (in_guard || sp_out) vm_fatal_stack_overflow(g);
    }
    // Not a task stack overflow: behave as if we were not here.
    if (vm_previous_segv.sa_flags & SA_SIGINFO) {
        if (vm_previous_segv.sa_sigaction) {
            vm_previous_segv.sa_sigaction(sig, info, context);
            return;
        }
    } else if (vm_previous_segv.sa_handler != SIG_DFL && vm_previous_segv.sa_handler != SIG_IGN) {
        vm_previous_segv.sa_handler(sig);
        return;
    }
    // Default action: restore it and return; the faulting instruction runs again and the
    // kernel ends the process with the ordinary SIGSEGV.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGSEGV, &dfl, NULL);
}

static pthread_once_t vm_segv_once = PTHREAD_ONCE_INIT;

static void vm_install_segv_once(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = vm_segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &vm_previous_segv);
}

void vm_install_stack_overflow_handler(void) { pthread_once(&vm_segv_once, vm_install_segv_once); }

// ---- the reaper's lock ------------------------------------------------------------------------
// See vm_sched.h: a channel takes it before freeing its state, the reaper holds it while it reads
// the channels that stopped Gs wait on.
static vm_mutex vm_reap_mutex;
void vm_reap_lock(void) { vm_mutex_lock(&vm_reap_mutex); }
void vm_reap_unlock(void) { vm_mutex_unlock(&vm_reap_mutex); }

// ---- giving memory back -------------------------------------------------------------------------
// After many tasks ended at once (a run that stopped thousands), the C heap holds their freed
// state in its arenas; malloc_trim returns the free pages to the system (glibc only).
void vm_trim_heap(void) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

// glibc grows the heap of a thread's arena (each M allocates its tasks' state in its own) by
// exactly what an allocation needs, rounded up to a page, with an mprotect of the next page of its
// 64 MiB reservation: 100,000 parked tasks (about 1.1 KB each) made 22,600 mprotect calls, each a
// change of the mapping, about a third of the run's system time. A top pad as large as a heap makes
// each heap writable once, when it is created (and pads the main arena's sbrk); untouched pages
// stay unbacked. It also lets each arena keep up to that much free memory at its top instead of
// giving it back at once: sysmon trims the heap (vm_trim_heap) when the schedulers go idle.
static int heap_keeps_free_memory;

void vm_heap_grow_in_large_steps(void) {
#ifdef __GLIBC__
    mallopt(M_TOP_PAD, 64 << 20);
    __atomic_store_n(&heap_keeps_free_memory, 1, __ATOMIC_RELEASE);
#endif
}

bool vm_heap_keeps_free_memory(void) { return __atomic_load_n(&heap_keeps_free_memory, __ATOMIC_ACQUIRE) != 0; }
