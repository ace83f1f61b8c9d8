// The task switch and the scheduler's waits of CJITStubs, in plain C, for every architecture and
// wait flavour this machine can run: x86-64 with the futex and with condition variables (the
// VECVM_NO_JIT build), and arm64 — both flavours — under qemu-aarch64 when a cross compiler is there.
// It checks that a switch keeps the callee-saved registers (general and floating-point) and the
// rounding mode, that a new task starts at its entry with its argument, that the runtime mutex
// excludes, that notes time out and wake, and that fork() with handlers that take a runtime mutex
// (as Sysmon's do) returns while that mutex is contended. Run by run.sh (from .ci/run).
#include "vm_sched.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <fenv.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *g0_sp, *g_sp;
static volatile long counter;

static void entry(void *arg) {
    long step = (long)arg;
    double acc = 1.0;
    for (;;) {
        counter += step;
        acc = acc * 1.5 + 1.0;
        if (acc > 1e9) acc = 1.0;
        vm_ctx_switch(&g_sp, g0_sp);
    }
}

static vm_mutex mu;
static long shared;
static uint32_t note;

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        vm_mutex_lock(&mu);
        shared++;
        vm_mutex_unlock(&mu);
    }
    return NULL;
}

static void *waker(void *arg) {
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    vm_note_wake(&note);
    return NULL;
}

// fork(): handlers registered, as Sysmon's are, before the runtime's first wait (in the
// condition-variable build that is when its wait buckets used to register their own handlers).
// Ours take `fork_mu` before the fork and give it back after, while `contender` waits for it, so
// the parent's unlock must wake a sleeper: the buckets must be free by then (the runtime registers
// its fork handlers before main, so they run outermost).
static vm_mutex fork_mu;
static volatile int contender_go;

static void *contender(void *arg) {
    (void)arg;
    while (!__atomic_load_n(&contender_go, __ATOMIC_ACQUIRE)) vm_cpu_relax();
    vm_mutex_lock(&fork_mu);
    vm_mutex_unlock(&fork_mu);
    return NULL;
}

static void fork_prepare(void) {
    vm_mutex_lock(&fork_mu);
    __atomic_store_n(&contender_go, 1, __ATOMIC_RELEASE);
    // The contender has marked the mutex contended (2) and is on its way to sleep.
    while (__atomic_load_n(&fork_mu.state, __ATOMIC_ACQUIRE) != 2) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
static void fork_parent(void) { vm_mutex_unlock(&fork_mu); }
static void fork_child(void) { fork_mu = (vm_mutex){0}; }

static void fork_deadlocked(int sig) {
    (void)sig;
    static const char msg[] = "fork: DEADLOCKED (a fork handler's unlock waited for a wait bucket)\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
}

int main(void) {
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_sp = vm_ctx_init((uintptr_t)(stack + size), entry, (void *)3);
    // Values the compiler keeps in callee-saved registers (x19-x28, d8-d15) across the switches.
    long a = 11, b = 22, c = 33, d = 44, e = 55, f = 66, g = 77, h = 88;
    double p = 1.25, q = 2.5, r = 3.75, s = 5.0;
    fesetround(FE_UPWARD);  // FPCR: must survive the switches (the task's is its own)
    for (int i = 0; i < 100000; i++) {
        vm_ctx_switch(&g0_sp, g_sp);
        a += 1; b += 2; c += 3; d += 4; e += 5; f += 6; g += 7; h += 8;
        p += 0.5; q += 0.25; r += 0.125; s += 1.0;
    }
    int round_ok = fegetround() == FE_UPWARD;
    fesetround(FE_TONEAREST);
    long n = 100000;
    int regs_ok = a == 11 + n && b == 22 + 2 * n && c == 33 + 3 * n && d == 44 + 4 * n && e == 55 + 5 * n &&
                  f == 66 + 6 * n && g == 77 + 7 * n && h == 88 + 8 * n && p == 1.25 + 0.5 * n &&
                  q == 2.5 + 0.25 * n && r == 3.75 + 0.125 * n && s == 5.0 + 1.0 * n;
    printf("switch: counter=%ld (want %ld) registers %s, rounding mode %s\n", counter, 3 * n,
           regs_ok ? "kept" : "LOST", round_ok ? "kept" : "LOST");

    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("mutex: %ld (want 80000)\n", shared);

    int64_t t0 = vm_nanotime();
    bool woken = vm_note_sleep(&note, t0 + 10 * 1000 * 1000);
    printf("note: timed out after %.1f ms: %s\n", (vm_nanotime() - t0) / 1e6, woken ? "NO (woken?)" : "yes");
    pthread_t w;
    pthread_create(&w, NULL, waker, NULL);
    woken = vm_note_sleep(&note, INT64_MAX);
    pthread_join(w, NULL);
    printf("note: woken %s after %.1f ms\n", woken ? "yes" : "NO", (vm_nanotime() - t0) / 1e6);

    signal(SIGALRM, fork_deadlocked);
    alarm(20);
    pthread_t ct;
    pthread_create(&ct, NULL, contender, NULL);
    pid_t child = fork();
    if (child == 0) {
        vm_mutex_lock(&fork_mu);  // the child's runtime waits work afresh
        vm_mutex_unlock(&fork_mu);
        _exit(0);
    }
    pthread_join(ct, NULL);
    int child_status = 0;
    bool forked = child > 0 && waitpid(child, &child_status, 0) == child && WIFEXITED(child_status) &&
                  WEXITSTATUS(child_status) == 0;
    alarm(0);
    printf("fork: with a contended runtime mutex in the handlers: %s\n", forked ? "returned" : "FAILED");
    return (counter == 3 * n && regs_ok && round_ok && shared == 80000 && woken && forked) ? 0 : 1;
}
