// preempt.c — the C half of asynchronous preemption (vm_preempt.h): the SIGURG handler
// (doSigPreempt and isAsyncSafePoint), the code-region registry it consults, sending SIGURG to an
// M, save-path detection, and the hook into Swift.
//
// The handler runs on the M's alternate signal stack and may interrupt anything the M does,
// including the scheduler and malloc: it only reads plain fields of the current M, G and P, bumps
// counters that only this thread writes, and edits the interrupted context. It takes no lock and
// calls nothing but, for foreign signals, the previous handler.
#define _GNU_SOURCE
#include "vm_platform.h"
#include "vm_preempt.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#if VM_HAS_ASYNC_PREEMPT
#include <sys/syscall.h>
#include <ucontext.h>
#endif

#include "vm_cpu.h"

// The current M (runtime.c). Read directly here: a signal handler runs on the interrupted thread
// and cannot migrate.
extern __thread vm_m *vm_tls_m __attribute__((tls_model("initial-exec")));
extern __thread int32_t vm_tls_locks __attribute__((tls_model("initial-exec")));

// ---- save paths ---------------------------------------------------------------------------------

uint32_t vm_xregs_detect_path(void) {
    vm_cpu_feature_set f = vm_cpu_features();
    if (f.avx512f && f.avx512bw && f.os_zmm) return VM_XREGS_PATH_AVX512;
    if (f.avx && f.os_ymm) return VM_XREGS_PATH_AVX;
    return VM_XREGS_PATH_SSE;
}

bool vm_xregs_path_usable(uint32_t path) {
    switch (path) {
    case VM_XREGS_PATH_SSE: return true;  // x86-64 always has SSE2
    case VM_XREGS_PATH_AVX: return vm_xregs_detect_path() >= VM_XREGS_PATH_AVX;
    case VM_XREGS_PATH_AVX512: return vm_xregs_detect_path() == VM_XREGS_PATH_AVX512;
    default: return false;
    }
}

uint32_t vm_xregs_path_bytes(uint32_t path) {
    switch (path) {
    case VM_XREGS_PATH_SSE: return VM_XREGS_SSE_BYTES;
    case VM_XREGS_PATH_AVX: return VM_XREGS_AVX_BYTES;
    case VM_XREGS_PATH_AVX512: return VM_XREGS_AVX512_BYTES;
    default: return 0;
    }
}

const void *vm_xregs_save_code(uint32_t path) {
#if VM_HAS_ASYNC_PREEMPT
    switch (path) {
    case VM_XREGS_PATH_SSE: return (const void *)vm_xregs_save_sse;
    case VM_XREGS_PATH_AVX: return (const void *)vm_xregs_save_avx;
    case VM_XREGS_PATH_AVX512: return (const void *)vm_xregs_save_avx512;
    default: return 0;
    }
#else
    (void)path;
    return 0;
#endif
}

const void *vm_xregs_restore_code(uint32_t path) {
#if VM_HAS_ASYNC_PREEMPT
    switch (path) {
    case VM_XREGS_PATH_SSE: return (const void *)vm_xregs_restore_sse;
    case VM_XREGS_PATH_AVX: return (const void *)vm_xregs_restore_avx;
    case VM_XREGS_PATH_AVX512: return (const void *)vm_xregs_restore_avx512;
    default: return 0;
    }
#else
    (void)path;
    return 0;
#endif
}

const void *vm_async_preempt_code(void) {
#if VM_HAS_ASYNC_PREEMPT
    return (const void *)vm_async_preempt;
#else
    return 0;
#endif
}

// ---- code regions -----------------------------------------------------------------------------

typedef struct vm_code_region {
    uintptr_t start;
    uintptr_t end;  // == start once unregistered
} vm_code_region;

static vm_code_region vm_code_regions[VM_CODE_REGIONS_MAX];
static uint32_t vm_code_region_count;  // slots [0, count) are published; release/acquire
static vm_mutex vm_code_region_lock;   // serializes writers

bool vm_code_region_register(uintptr_t start, uintptr_t end) {
    if (end <= start) return false;
    vm_mutex_lock(&vm_code_region_lock);
    uint32_t n = __atomic_load_n(&vm_code_region_count, __ATOMIC_RELAXED);
    bool ok = n < VM_CODE_REGIONS_MAX;
    if (ok) {
        // The slot is complete before the count publishes it; slots are never reused.
        __atomic_store_n(&vm_code_regions[n].start, start, __ATOMIC_RELAXED);
        __atomic_store_n(&vm_code_regions[n].end, end, __ATOMIC_RELAXED);
        __atomic_store_n(&vm_code_region_count, n + 1, __ATOMIC_RELEASE);
    }
    vm_mutex_unlock(&vm_code_region_lock);
    return ok;
}

bool vm_code_region_unregister(uintptr_t start) {
    vm_mutex_lock(&vm_code_region_lock);
    uint32_t n = __atomic_load_n(&vm_code_region_count, __ATOMIC_RELAXED);
    bool found = false;
    for (uint32_t i = 0; i < n && !found; i++) {
        vm_code_region *r = &vm_code_regions[i];
        if (r->start == start && r->end != start) {
            // One store empties the range: a concurrent reader sees the old range or none.
            __atomic_store_n(&r->end, start, __ATOMIC_RELEASE);
            found = true;
        }
    }
    vm_mutex_unlock(&vm_code_region_lock);
    return found;
}

bool vm_code_region_contains(uintptr_t pc) {
    uint32_t n = __atomic_load_n(&vm_code_region_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t end = __atomic_load_n(&vm_code_regions[i].end, __ATOMIC_ACQUIRE);
        uintptr_t start = __atomic_load_n(&vm_code_regions[i].start, __ATOMIC_RELAXED);
        if (pc >= start && pc < end) return true;
    }
    return false;
}

// ---- the way into Swift -----------------------------------------------------------------------

static vm_async_preempt2_fn vm_async_preempt2_hook;

void vm_set_async_preempt2(vm_async_preempt2_fn fn) {
    __atomic_store_n(&vm_async_preempt2_hook, fn, __ATOMIC_RELEASE);
}

void vm_async_preempt2(void *frame) {
    // Set before any scheduler with asynchronous preemption starts, hence before any injection.
    __atomic_load_n(&vm_async_preempt2_hook, __ATOMIC_ACQUIRE)(frame);
}

// ---- the handler ------------------------------------------------------------------------------
#if VM_HAS_ASYNC_PREEMPT

static struct sigaction vm_previous_sigurg;

// Single-writer counters of the M's P: only this thread writes them outside the handler, and the
// handler writes only counters that the interrupted code never does, so no update is lost.
static inline void vm_handler_stat(vm_p *p, uint32_t i) { vm_bump_u64(&p->stats[i], 1); }

// isAsyncSafePoint: may asyncPreempt be injected at this point of `g`?
static bool vm_is_async_safe_point(vm_m *m, vm_g *g, const mcontext_t *mc) {
    uintptr_t pc = (uintptr_t)mc->gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)mc->gregs[REG_RSP];
    // The PC is in code where every instruction is a safe point (the JIT's code heap). Anywhere
    // else — Swift, the runtime, libc, a JIT helper — the cooperative flag is left to do the work.
    if (!vm_code_region_contains(pc)) return false;
    // The M holds no runtime lock (JIT code never takes one; this guards the contract).
    if (vm_tls_locks != 0) return false;
    // The G is a user G running on this M (not between a switch's halves).
    if (g->m != m || __atomic_load_n(&g->status, __ATOMIC_RELAXED) != VM_G_RUNNING) return false;
    // The G stack has room for the trampoline's frame and what asyncPreempt2 calls: sp is on the
    // G's stack and at least VM_ASYNC_PREEMPT_STACK above the band at its low end.
    if (sp > g->stack_hi || sp < g->stack_lo + VM_STACK_BAND + VM_ASYNC_PREEMPT_STACK) return false;
    return true;
}

// doSigPreempt: the handler's work for one of our SIGURGs (sent by sysmon or by cancellation, which
// set the G's preempt flag first).
static void vm_do_sig_preempt(vm_m *m, ucontext_t *uc) {
    vm_p *p = m->p;
    vm_sched *s = (vm_sched *)m->sched;
    vm_handler_stat(p, VM_STAT_PREEMPT_SIGNALS);
    vm_g *g = m->curg;
    if (g == NULL) return;  // on g0: the scheduler is choosing the next G anyway
    // Nothing asks for a preemption any more (the G that was marked has switched out since).
    if (__atomic_load_n(&g->preempt, __ATOMIC_ACQUIRE) == 0) return;
    if (!s->async_preempt) return;
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
    // ThreadSanitizer defers an asynchronous signal that arrives in uninstrumented code (JIT code)
    // until the thread next enters one of its interceptors, and then calls this handler with a
    // copy of the original context: editing the copy preempts nothing, and the interrupted rsp
    // the push below would write under may by then be in use by live frames. So TSan builds
    // never inject asyncPreempt; the cooperative flag set by sysmon stays the only path.
    vm_handler_stat(p, VM_STAT_PREEMPT_UNSAFE);
    return;
#endif
#endif
    mcontext_t *mc = &uc->uc_mcontext;
    if (!vm_is_async_safe_point(m, g, mc)) {
        // The flag stays set: the interpreter yields at its next back-edge or call, and sysmon
        // signals again while the G keeps its P.
        vm_handler_stat(p, VM_STAT_PREEMPT_UNSAFE);
        return;
    }
    // Inject a call to asyncPreempt: push the interrupted rip as a return address. JIT code keeps
    // nothing below rsp (no red zone), so the 8 bytes are free.
    uintptr_t sp = (uintptr_t)mc->gregs[REG_RSP] - 8;
    *(uint64_t *)sp = (uint64_t)mc->gregs[REG_RIP];
    mc->gregs[REG_RSP] = (greg_t)sp;
    mc->gregs[REG_RIP] = (greg_t)(uintptr_t)vm_async_preempt;
}

static void vm_pass_on(int sig, siginfo_t *info, void *context) {
    const struct sigaction *prev = &vm_previous_sigurg;
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction != NULL) prev->sa_sigaction(sig, info, context);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    }
    // SIG_DFL and SIG_IGN: SIGURG's default action is to ignore it.
}

static void vm_sigurg_handler(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno;
    vm_m *m = vm_tls_m;
    // Ours: an M's thread with a signal announced by signal_pending. Clearing the flag lets the
    // next one be sent.
    if (m != NULL && __atomic_exchange_n(&m->signal_pending, 0, __ATOMIC_ACQ_REL) != 0) {
        vm_do_sig_preempt(m, (ucontext_t *)context);
    } else {
        // Not ours (another thread, or a SIGURG someone else sent): as if we were not here. A
        // foreign SIGURG that coincides with one of ours merges with it (standard signals do not
        // queue) and is taken for ours: a documented limitation.
        vm_pass_on(sig, info, context);
    }
    errno = saved_errno;
}

static vm_mutex vm_sigurg_install_lock;

void vm_preempt_install_handler(void) {
    vm_mutex_lock(&vm_sigurg_install_lock);
    struct sigaction current;
    sigaction(SIGURG, NULL, &current);
    // Idempotent: once ours is in place nothing changes. If someone replaced it since (a test
    // does, in a child process), ours goes back on top and theirs becomes the one passed on to.
    if (!((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == vm_sigurg_handler)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = vm_sigurg_handler;
        // SA_RESTART: system calls the signal interrupts are restarted where the kernel can; the
        // runtime's own waits retry on EINTR anyway. SIGURG stays blocked while the handler runs.
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGURG, &sa, &vm_previous_sigurg);
    }
    vm_mutex_unlock(&vm_sigurg_install_lock);
}

bool vm_preempt_signal_m(vm_m *m) {
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(&m->signal_pending, &expected, 1, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED))
        return false;  // one is already on its way; the handler clears the flag
    // Not into foreign code: the signal would interrupt the callee's system calls (EINTR). Go
    // treats a goroutine in a syscall the same way. With vm_foreign_call_begin, a Dekker pair:
    // each side stores its flag (seq_cst) and then reads the other's, so either we see `incall`
    // and send nothing, or the M sees our pending flag and waits for the signal to land before
    // it calls out.
    if (__atomic_load_n(&m->incall, __ATOMIC_SEQ_CST) != 0) {
        __atomic_store_n(&m->signal_pending, 0, __ATOMIC_RELEASE);
        return false;
    }
    // tgkill with the M's kernel tid rather than pthread_kill: sysmon may race with the M's exit
    // and join, and a stale pthread_t is undefined behaviour, while a stale tid at worst reaches
    // another thread, whose handler finds no pending flag and passes the signal on.
    long r;
    do {
        r = syscall(SYS_tgkill, (long)getpid(), (long)m->tid, (long)SIGURG);
    } while (r == -1 && errno == EINTR);
    if (r != 0) {
        __atomic_store_n(&m->signal_pending, 0, __ATOMIC_RELEASE);
        return false;
    }
    return true;
}

#else  // !VM_HAS_ASYNC_PREEMPT: no handler, no signal (vm_platform.h). Every scheduler preempts
       // cooperatively only (VMRuntime never turns asynchronous preemption on in such a build).

void vm_preempt_install_handler(void) {}

bool vm_preempt_signal_m(vm_m *m) {
    (void)m;
    return false;  // nothing sent: the G's preempt flag alone asks it to yield
}

#endif
