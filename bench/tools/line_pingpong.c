// line_pingpong: how long one cache line takes to go from one CPU to another and back (ns), the
// host fact that the cross-P task costs (bench/tools/tasks_ab.py) follow. Two threads, pinned to
// the first two CPUs this process may use, hand a counter back and forth through one 64-byte
// aligned word: each round trip is two transfers of the line. On the 2-vCPU machine this was
// written on the figure is bimodal in phases of minutes — about 75 ns and about 370 ns, by where
// the host places the two vCPUs — and the spawn and teardown rows of VecVM and of Go move with it.
//   cc -O2 -pthread bench/tools/line_pingpong.c -o line_pingpong && ./line_pingpong
// Prints: line_pingpong round_trip_ns=N cpus=A,B   (or cpus=- when fewer than two CPUs are usable)
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { ROUNDS = 200000 };
static _Alignas(64) atomic_long word;
static int cpu[2];

static void pin(int c) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(c, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *partner(void *unused) {
    (void)unused;
    pin(cpu[1]);
    for (long i = 0; i < ROUNDS; i++) {
        while (atomic_load_explicit(&word, memory_order_acquire) != 2 * i + 1) {}
        atomic_store_explicit(&word, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(void) {
    cpu_set_t allowed;
    int n = 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        for (int c = 0; c < CPU_SETSIZE && n < 2; c++) {
            if (CPU_ISSET(c, &allowed)) cpu[n++] = c;
        }
    }
    if (n < 2) {
        printf("line_pingpong round_trip_ns=0 cpus=-\n");
        return 0;
    }
    pin(cpu[0]);
    pthread_t t;
    if (pthread_create(&t, NULL, partner, NULL) != 0) return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < ROUNDS; i++) {
        atomic_store_explicit(&word, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&word, memory_order_acquire) != 2 * i + 2) {}
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / ROUNDS;
    printf("line_pingpong round_trip_ns=%.1f cpus=%d,%d\n", ns, cpu[0], cpu[1]);
    return 0;
}
