// The task switch and the scheduler's waits of CJITStubs, in plain C, for every architecture and
// wait flavour this machine can run: x86-64 with the futex and with condition variables (the
// VECVM_NO_JIT build), and arm64 — both flavours — under qemu-aarch64 when a cross compiler is there.
// It checks that a switch keeps the callee-saved registers (general and floating-point) and the
// rounding mode, that a new task starts at its entry with its argument, that the runtime mutex
// excludes, and that notes time out and wake. Run by run.sh (from .ci/run).
#include "vm_sched.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <fenv.h>

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

int main(void) {
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
    return (counter == 3 * n && regs_ok && round_ok && shared == 80000 && woken) ? 0 : 1;
}
