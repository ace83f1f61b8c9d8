// crash.c — foreign calls and fatal signals: marking a G's M while it runs foreign code (so that
// no preemption signal interrupts the callee's system calls), and the fatal-signal handlers an
// executable installs to report a crash in a few lines and die by the same signal.
//
// The handlers run on whatever stack the signal finds (an M's alternate stack for task threads):
// they only read thread-locals and plain fields, format numbers by hand and call write, sigaction
// and raise, all async-signal-safe. They never return into the Swift runtime's own handlers,
// whose backtracer spawns a `swift-backtrace` process that outlives a killed parent while holding
// its stdout and stderr (a reader of our output then waits for ever).
#define _GNU_SOURCE
#include "vm_sched.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

extern __thread vm_m *vm_tls_m __attribute__((tls_model("initial-exec")));

// The foreign call running on this thread (vm_foreign_call_begin), read by the crash handler.
static __thread const char *vm_tls_foreign __attribute__((tls_model("initial-exec")));

void vm_foreign_call_begin(const char *description) {
    vm_tls_foreign = description;
    vm_m *m = vm_tls_m;
    if (m == NULL) return;  // not an M (a host thread): nothing sends it preemption signals
    __atomic_store_n(&m->incall, 1, __ATOMIC_SEQ_CST);
    // A SIGURG sent before the sender could see `incall` must land now, not in the callee. The
    // handler clears signal_pending; sched_yield enters the kernel, which delivers it on return.
    while (__atomic_load_n(&m->signal_pending, __ATOMIC_SEQ_CST) != 0) sched_yield();
}

void vm_foreign_call_end(void) {
    vm_m *m = vm_tls_m;
    if (m != NULL) __atomic_store_n(&m->incall, 0, __ATOMIC_RELEASE);
    vm_tls_foreign = NULL;
}

const char *vm_foreign_call_current(void) { return vm_tls_foreign; }

// ---- fatal signals ----------------------------------------------------------------------------

static const char *vm_crash_program = "vecvm";
static const int vm_fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGQUIT};

typedef struct vm_text {
    char buf[768];
    size_t n;
} vm_text;

static void text_add(vm_text *t, const char *s) {
    while (*s && t->n < sizeof t->buf) t->buf[t->n++] = *s++;
}

static void text_u64(vm_text *t, uint64_t v, int base) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % (uint64_t)base];
        v /= (uint64_t)base;
    } while (v);
    while (n > 0 && t->n < sizeof t->buf) t->buf[t->n++] = tmp[--n];
}

static void text_write(const vm_text *t) {
    size_t off = 0;
    while (off < t->n) {
        ssize_t w = write(2, t->buf + off, t->n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        off += (size_t)w;
    }
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGILL: return "SIGILL (illegal instruction)";
    case SIGFPE: return "SIGFPE (arithmetic exception)";
    case SIGABRT: return "SIGABRT (abort)";
    case SIGTRAP: return "SIGTRAP (trap)";
    case SIGSYS: return "SIGSYS (bad system call)";
    case SIGQUIT: return "SIGQUIT (quit)";
    default: return "a fatal signal";
    }
}

static void vm_crash_handler(int sig, siginfo_t *info, void *context) {
    (void)context;
    int saved_errno = errno;
    vm_text t = {.n = 0};
    const char *p = vm_crash_program;
    text_add(&t, p);
    text_add(&t, ": ");
    text_add(&t, signal_name(sig));
    bool sent = info != NULL && (info->si_code == SI_USER || info->si_code == SI_TKILL || info->si_code == SI_QUEUE);
    bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE;
    if (sent) {
        text_add(&t, " sent by process ");
        text_u64(&t, (uint64_t)info->si_pid, 10);
    } else if (fault && info != NULL) {
        text_add(&t, " at address 0x");
        text_u64(&t, (uint64_t)(uintptr_t)info->si_addr, 16);
    }
    text_add(&t, "\n");
    vm_m *m = vm_tls_m;
    vm_g *g = m != NULL ? m->curg : NULL;
    const char *foreign = vm_tls_foreign;
    if (foreign != NULL) {
        text_add(&t, p);
        text_add(&t, ": while running the C function ");
        text_add(&t, foreign);
        text_add(&t, ", called with `extern fn`");
        if (g != NULL) {
            text_add(&t, " by task ");
            text_u64(&t, (uint64_t)g->id, 10);
        }
        text_add(&t, "\n");
        text_add(&t, p);
        text_add(&t, ": foreign code runs outside the VM's sandbox; the fault is most likely in it or in "
                     "the arguments it was given\n");
    } else if (g != NULL) {
        text_add(&t, p);
        text_add(&t, ": in task ");
        text_u64(&t, (uint64_t)g->id, 10);
        text_add(&t, "\n");
    }
    text_write(&t);
    // Die by the same signal: default action, then re-raise. The signal is blocked while this
    // handler runs, so it is delivered as soon as the handler returns (a fault would otherwise
    // re-execute the faulting instruction and come back here).
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
    errno = saved_errno;
}

void vm_crash_handlers_install(const char *program) {
    if (program != NULL) vm_crash_program = program;
    sigset_t fatal;
    sigemptyset(&fatal);
    for (size_t i = 0; i < sizeof vm_fatal_signals / sizeof vm_fatal_signals[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = vm_crash_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(vm_fatal_signals[i], &sa, NULL);
        sigaddset(&fatal, vm_fatal_signals[i]);
    }
    // A mask inherited from the parent (a test runner, a service manager) may block some of them:
    // `kill -QUIT` would then do nothing. Threads started later inherit this thread's mask.
    pthread_sigmask(SIG_UNBLOCK, &fatal, NULL);
}
