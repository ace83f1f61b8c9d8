// vm_sched.h — the scheduler's C-side data: G, M, P, the per-scheduler `vm_sched`, channels'
// raw state, locks, futex notes, the context switch, thread and signal set-up.
//
// Why C structs: the context switch (context_switch.S) and, later, the asynchronous
// preemption trampoline and signal handler read these fields at fixed offsets. The
// offsets the assembly uses are #defined below, pinned by _Static_assert here and by
// MemoryLayout tests in Tests/VMRuntimeTests/LayoutTests.swift. The scheduler logic that
// manipulates them is Swift (Sources/VMRuntime); see Scheduler.swift for the design.
//
// No field here is over-aligned: Swift cannot import records with _Alignas(32) or larger
// (PLATFORM.md); hot fields are kept apart by ordering, not by alignment attributes.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <pthread.h>
#include "vm_atomic.h"
#include "vm_offsets.h"
#include "vm_xregs_layout.h"

typedef struct vm_g vm_g;
typedef struct vm_m vm_m;
typedef struct vm_p vm_p;
typedef struct vm_stack vm_stack;

// ============================================================================================
// G status. Each says who owns the G's stack (may switch to it or reuse its memory).
// ============================================================================================
// Free: in a free list of G structs (per P or per scheduler); nothing on it is live and it has
// no stack (stacks have their own caches: a G gets one when it first runs, Machine.execute).
#define VM_G_IDLE ((uint32_t)0)
// On exactly one run queue (a P's ring, its runnext slot, or the global list). The queue owns
// the stack: `sp` is valid and whoever dequeues it may switch to it.
#define VM_G_RUNNABLE ((uint32_t)1)
// Executing on the M in `g->m` (m->curg == g). That M owns the stack.
#define VM_G_RUNNING ((uint32_t)2)
// Still executing on its M, but already listed in a wait structure (channel queue, join list,
// timer heap) and about to switch to g0. The M still owns the stack. A waker that finds this
// status must not enqueue the G (its registers are not saved yet): it CASes to PARKING_WOKEN.
#define VM_G_PARKING ((uint32_t)3)
// Woken while PARKING. The M that is switching it out owns the stack; its g0, once the switch
// is complete, makes the G runnable itself.
#define VM_G_PARKING_WOKEN ((uint32_t)4)
// Parked: switched out, `sp` valid, listed in exactly one wait structure. Nobody owns the
// stack until a waker CASes WAITING → RUNNABLE, which transfers it to a run queue.
#define VM_G_WAITING ((uint32_t)5)
// Finished or abandoned; the M's g0 is returning it (and its stack) to a free list.
#define VM_G_DEAD ((uint32_t)6)

// Why a G switched to g0 (vm_m.reason).
#define VM_REASON_NONE ((uint32_t)0)
#define VM_REASON_YIELD ((uint32_t)1)    // Scheduler.yield: back of the local run queue
#define VM_REASON_PREEMPT ((uint32_t)2)  // preemptPoint: global run queue (spreads spinners)
#define VM_REASON_PARK ((uint32_t)3)     // blocked; the G is already in a wait structure
#define VM_REASON_EXIT ((uint32_t)4)     // body returned
#define VM_REASON_ABANDON ((uint32_t)5)  // its run was cancelled or terminated: never resumes
#define VM_REASON_PARK_STACKLESS ((uint32_t)6)  // blocked, and its body returned: the stack goes back

// Statistics slots (vm_p.stats and vm_sched.stats use the same indices).
#define VM_STAT_SWITCHES ((uint32_t)0)        // G switched in
#define VM_STAT_STEALS ((uint32_t)1)          // successful steal operations
#define VM_STAT_STOLEN ((uint32_t)2)          // Gs moved by those steals
#define VM_STAT_PREEMPT_COOP ((uint32_t)3)    // preemptPoint yields
#define VM_STAT_MIGRATIONS ((uint32_t)4)      // G resumed on a different M than it last ran on
#define VM_STAT_PARKS ((uint32_t)5)           // G blocked (channel, join, sleep)
#define VM_STAT_TIMERS ((uint32_t)6)          // sleep timers armed
#define VM_STAT_TIMERS_STOLEN ((uint32_t)7)   // timers fired by an M other than their P's
#define VM_STAT_GLOBALQ ((uint32_t)8)         // Gs put on the global run queue
#define VM_STAT_TASKS ((uint32_t)9)           // Gs created
#define VM_STAT_EXITS ((uint32_t)10)          // Gs whose body returned
#define VM_STAT_YIELDS ((uint32_t)11)         // Scheduler.yield calls that switched
#define VM_STAT_HANDOFFS ((uint32_t)12)       // Gs made ready into runnext by a waker
#define VM_STAT_ABANDONED ((uint32_t)13)      // Gs dropped because their run ended
#define VM_STAT_WAKEUPS ((uint32_t)14)        // idle Ms woken
#define VM_STAT_PREEMPT_MARKS ((uint32_t)15)  // sysmon set a G's preempt flag
#define VM_STAT_PREEMPT_ASYNC ((uint32_t)16)  // Gs switched out by asyncPreempt (injected preemptions)
#define VM_STAT_PREEMPT_SIGNALS ((uint32_t)17) // our SIGURGs handled on this P's M (signal handler only)
#define VM_STAT_PREEMPT_UNSAFE ((uint32_t)18) // ... that wanted to preempt but found no async safe point
#define VM_STAT_XREG_ALLOC ((uint32_t)19)     // xRegSave took a block from the pool (cache empty)
#define VM_STAT_XREG_CACHEHIT ((uint32_t)20)  // xRegSave took the P's cached block
#define VM_STAT_COUNT 21

// ============================================================================================
// Locks and notes (futex based; runtime.c has the slow paths)
// ============================================================================================

// A mutex for short critical sections on Ms (and on host threads calling run/cancel).
// state: 0 free, 1 held, 2 held with sleepers. Never held across a G switch.
typedef struct vm_mutex {
    uint32_t state;
} vm_mutex;

void vm_mutex_lock_slow(vm_mutex *l);
void vm_mutex_unlock_slow(vm_mutex *l);

// Every thread counts the runtime locks it holds (vm_tls_locks, runtime.c): the SIGURG handler
// never injects a preemption into a thread that holds one (an async safe point needs "the M holds
// no runtime lock"). The count is kept with one %fs-relative instruction in inline assembly, so
// the thread-local's address is computed afresh at every use: a compiler-cached address would
// update the old thread's counter after a G migrates (PLATFORM.md hazard 3). One instruction is
// also atomic with respect to a signal on the same thread. The count goes up before the lock is
// taken and down after it is released (the asm is a compiler barrier), so it covers the whole
// critical section.
void vm_locks_add_portable(int32_t delta);
static inline __attribute__((always_inline)) void vm_locks_inc(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("movq vm_tls_locks@gottpoff(%%rip), %%rax\n\tincl %%fs:(%%rax)" ::: "rax", "cc", "memory");
#else
    vm_locks_add_portable(1);
#endif
}
static inline __attribute__((always_inline)) void vm_locks_dec(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("movq vm_tls_locks@gottpoff(%%rip), %%rax\n\tdecl %%fs:(%%rax)" ::: "rax", "cc", "memory");
#else
    vm_locks_add_portable(-1);
#endif
}

static inline __attribute__((always_inline)) void vm_mutex_lock(vm_mutex *l) {
    vm_locks_inc();
    uint32_t expected = 0;
    if (__builtin_expect(__atomic_compare_exchange_n(&l->state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                                     __ATOMIC_RELAXED), 1))
        return;
    vm_mutex_lock_slow(l);
}

static inline __attribute__((always_inline)) void vm_mutex_unlock(vm_mutex *l) {
    if (__builtin_expect(__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2, 0)) vm_mutex_unlock_slow(l);
    vm_locks_dec();
}

// The calling thread's count of held runtime locks (tests; the signal handler reads it directly).
int32_t vm_locks_held(void);

// A one-shot wake-up word: 0 = armed, nonzero = woken. vm_note_sleep returns true when woken,
// false when the absolute CLOCK_MONOTONIC deadline (ns; INT64_MAX = none) passed first.
// Spurious futex returns and EINTR are absorbed inside.
bool vm_note_sleep(uint32_t *note, int64_t deadline_ns);
void vm_note_wake(uint32_t *note);  // sets the word to 1 and wakes one sleeper

// Makes [addr, addr + len) a guard region without a VMA of its own (Linux 6.13's
// MADV_GUARD_INSTALL: page-table markers that fault on access, survive MADV_DONTNEED and fork,
// and, unlike a PROT_NONE mprotect, neither split the mapping nor count against
// vm.max_map_count). Returns 0, or the errno (EINVAL: this kernel has no guard markers).
// Retries on EINTR and EAGAIN.
int vm_guard_install(uintptr_t addr, size_t len);

// The same for `count` regions of `len` bytes, `stride` bytes apart from `first` (the guards of
// a whole stack arena), with one process_madvise call: one mmap-lock acquisition instead of
// one per guard, which matters while other threads fault pages in and grow malloc heaps (an
// mprotect, holding the lock for writing). Returns 0, or the errno (ENOSYS, EINVAL, EPERM:
// not available here; the caller falls back to vm_guard_install). Retries on EINTR and EAGAIN.
int vm_guard_install_strided(uintptr_t first, size_t stride, size_t count, size_t len);

// Raw futex wake (the word was already set by the caller).
void vm_futex_wake(uint32_t *word, int32_t count);

// CLOCK_MONOTONIC in nanoseconds (vDSO; ~20 ns).
int64_t vm_nanotime(void);

// ============================================================================================
// G, M, P
// ============================================================================================

// A stack carved from an arena (VMRuntime/Stacks.swift). Layout of one slot, low to high:
//
//   guard_lo            lo                                         hi
//   | guard (PROT_NONE) | band | ............ stack grows down ... |
//     or unprotected slack when !guarded
//
// `band` is VM_STACK_BAND zero bytes checked at every switch of an unguarded stack.
struct vm_stack {
    uintptr_t lo;
    uintptr_t hi;
    uintptr_t guard_lo;
    uint32_t guarded;
    uint32_t resident;  // may hold committed pages (not MADV_DONTNEED'd since last use)
    vm_stack *next;     // free list link
};

#define VM_STACK_BAND 64

// G: a task. Offsets marked [asm] are read by assembly or the signal handler.
//
//   off  field        owner / lifetime
//   ---  -----------  ------------------------------------------------------------------
//     0  sp           [asm] saved rsp while not RUNNING; written by vm_ctx_switch. NULL
//                     until the G first runs: its stack is attached then, by the M that runs it
//     8  stack_lo     [asm] lowest usable byte; below it the guard or slack
//    16  stack_hi     [asm] one past the highest byte
//    24  guard_lo     [asm] start of the guard region (signal handler range check)
//    32  preempt      [asm] nonzero = please yield; set by sysmon/cancel, cleared by the G
//    36  status       VM_G_* above, atomic
//    40  xregs_state  g.xRegs.state: the G's vector registers, saved by xRegSave when it is
//                     asynchronously preempted (a pool block, VMRuntime/XRegs.swift). Non-NULL
//                     exactly while the G is asynchronously preempted; xRegRestore moves it
//                     to its new P's xregs_cache before the trampoline reloads the registers.
//    48  m            [asm] the M running it, or the one it last ran on
//    56  id           task id shown in messages ("stack overflow in task N")
struct vm_g {
    void *sp;
    uintptr_t stack_lo;
    uintptr_t stack_hi;
    uintptr_t guard_lo;
    uint32_t preempt;
    uint32_t status;
    void *xregs_state;
    vm_m *m;
    int64_t id;
    // ---- scheduler-private below (not read by assembly) ----
    vm_g *schedlink;      // global run queue, free lists, timer batches
    vm_g *waitlink;       // channel or join wait queue
    uint64_t gen;         // program generation (vm_sched.gen when spawned); stale = abandoned
    void *handle;         // Unmanaged<GHandle>, retained while the G is live
    vm_stack *stack;      // attached stack: from the G's first run until it finishes
    uint32_t waitok;      // set by the waker: 1 = operation completed, 0 = woken by close
    uint32_t stack_guarded;
    uint64_t msg[5];      // a Message in flight between a blocked G and its partner
    // ---- stopping (unwinding schedulers: vm_sched.unwind; SchedulerCore.wakeStoppedWaiters) ----
    uint32_t stopping;    // told that its run ended (a switch returned instead of abandoning it);
                          // its next switch abandons it. Reset when the G struct is reused
    uint32_t stackless;   // parking without its stack (Task.swift, parkStacklessCurrent): 1 from the
                          // wait structure's publication until g0 takes the stack back; 2 while
                          // parked so (sp NULL, its body runs again when woken); 0 otherwise
    uintptr_t waitobj;    // the wait structure listing the G, tagged with a VM_WAIT_* kind in its
                          // low bits (one word, so the reaper reads kind and address together);
                          // 0 when none. Atomic: written under that structure's lock, read racily
    vm_g *joinq;          // Gs joining this G, linked by waitlink; guarded by joinlock
    vm_mutex joinlock;    // guards joinq and the finishing of this G's handle
    uint32_t pad2;
    void *tsan_fiber;     // ThreadSanitizer builds only: the G's TSan fiber (see vm_switch_to_g)
};

// vm_g.waitobj's tag: the wait structures a stopped run's waiters are taken out of.
#define VM_WAIT_NONE ((uintptr_t)0)
#define VM_WAIT_CHAN ((uintptr_t)1)  // in the sendq or recvq of that vm_chan
#define VM_WAIT_JOIN ((uintptr_t)2)  // in the joinq of that vm_g
#define VM_WAIT_TAGS ((uintptr_t)7)

// Offsets: VM_G_OFF_* in vm_offsets.h (the assembly includes that header, not this one).

// M: an OS thread that runs Gs. Its own pthread stack is "g0": the scheduler loop runs there
// and every G switches to g0 and back (never G to G directly).
//
//   off  field           owner / lifetime
//   ---  --------------  ---------------------------------------------------------------
//     0  g0_sp           [asm] saved rsp of the scheduler stack while a G runs
//     8  curg            [asm] the G running on this M; NULL while on g0
//    16  p               [asm] attached P (fixed for the M's life in this design)
//    24  reason          VM_REASON_* — why curg switched to g0
//    28  signal_pending  [asm] asynchronous preemption: 1 while a SIGURG sent by sysmon is in
//                        flight to this M (at most one per M); the handler clears it, which
//                        is also how it tells our SIGURGs from foreign ones
//    32  id
//    40  tid             kernel thread id (the target of sysmon's tgkill)
//    44  note            idle sleep word (vm_note_*)
struct vm_m {
    void *g0_sp;
    vm_g *curg;
    vm_p *p;
    uint32_t reason;
    uint32_t signal_pending;
    int64_t id;
    int32_t tid;
    uint32_t note;
    pthread_t thread;
    void *sched;          // vm_sched*
    vm_m *idlelink;       // idle list, guarded by vm_sched.lock
    uint32_t spinning;    // looking for work; counted in vm_sched.nmspinning
    uint32_t idle;        // on the idle list; guarded by vm_sched.lock
    uint64_t rand;        // steal-order randomness
    void *altstack;       // signal stack (stack-overflow reports and SIGURG handlers run here)
    size_t altstack_size;
    uint32_t incall;      // 1 while curg runs foreign code (an `extern` C function, a host
                          // function): no preemption signal is sent (it would interrupt a system
                          // call with EINTR); see vm_foreign_call_begin
    uint32_t pad0;
    void *tsan_g0;        // ThreadSanitizer builds only: the TSan fiber of this M's thread (g0)
};

// Offsets: VM_M_OFF_* in vm_offsets.h.

#define VM_RUNQ_SIZE 256

typedef struct vm_timer {
    int64_t when;  // CLOCK_MONOTONIC ns
    uint64_t seq;  // FIFO among equal deadlines
    vm_g *g;
} vm_timer;

// P: the right to run Gs, with its local run queue, timers and caches. One M per P, bound for
// the M's life.
//
//   off  field          owner / lifetime
//   ---  -------------  ---------------------------------------------------------------
//     0  id, ngfree
//     8  m              the M bound to this P
//    16  curg           G running on this P (sysmon reads it to mark it); NULL on g0
//    24  schedtick      count of Gs started with a fresh time slice (single writer; sysmon
//                       times a slice from the moment it first sees a new value, so the hot
//                       path reads no clock)
//    32  xregs_scratch  [asm] p.xRegs.scratch: where asyncPreempt stores the vector registers
//                       before entering Swift (the signal path may not allocate). Allocated
//                       with the P (VM_XREGS_MAX_BYTES, 64-byte aligned), freed with it; only
//                       the P's own M writes it, between the trampoline and xRegSave's copy
//    40  xregs_cache    [asm] p.xRegs.cache: a 1-element cache of state blocks. xRegSave takes
//                       it as its allocation; xRegRestore frees the old one and puts the
//                       resuming G's block here, where asyncPreempt reloads the registers
//                       from — so the block is only freed after it is back in registers
//    48  xregs_path     [asm] VM_XREGS_PATH_*: which registers the trampoline saves and
//                       restores; one value per scheduler, written before its Ms start
struct vm_p {
    int32_t id;
    uint32_t ngfree;      // free Gs cached in gfree (owner only; read racily for stats)
    vm_m *m;
    vm_g *curg;
    uint64_t schedtick;
    void *xregs_scratch;
    void *xregs_cache;
    uint32_t xregs_path;
    uint32_t pad0;
    void *sched;          // vm_sched*
    uint64_t sysmon_tick; // sysmon-private: the schedtick it saw last, and when it first saw it
    int64_t sysmon_when;
    uint64_t sysmon_signal_tick; // sysmon-private: the schedtick it last sent a preemption signal for
    // Run queue: a ring written at the tail by the owner only, consumed at the head by the
    // owner and by thieves (CAS on runqhead). runnext: the G a waker just made ready.
    uint32_t runqhead;
    uint32_t runqtail;
    vm_g *runnext;
    vm_g *runq[VM_RUNQ_SIZE];
    // Timers: a binary heap ordered by (when, seq), guarded by timer_lock (thieves fire due
    // timers of busy Ps). timer0_when mirrors the earliest deadline (INT64_MAX: none).
    vm_mutex timer_lock;
    uint32_t ntimers;
    int64_t timer0_when;
    vm_timer *timers;
    uint32_t timers_cap;
    uint64_t timer_seq;
    vm_g *gfree;          // free G structs, linked by schedlink (owner only); count in ngfree
    vm_stack *stackfree;  // free stacks (owner only), linked by vm_stack.next; resident
    uint32_t nstackfree;  // owner writes; read racily for stats
    uint64_t stats[VM_STAT_COUNT];  // single writer (the owner); readers use relaxed loads
    // Finished tasks' handles that nothing else referenced, kept for the next spawns on this P
    // (GHandle.reusable; Task.swift): Unmanaged<GHandle>, retained, linked by GHandle.nextFree.
    // Owner only (g0 in finishG pushes, the G running on the P pops).
    void *handlefree;
    uint32_t nhandlefree;
    uint32_t pad1;
    // sysmon-private: how long after signalling for this P's due timer sysmon looks again (0: no
    // signal sent for the timer due now). Doubles at each look that finds it still due.
    int64_t sysmon_timer_retry;
};

// Offsets: VM_P_OFF_* in vm_offsets.h.

// xRegAlloc: a fixed-size-block pool of saved vector states (g.xRegs.state, p.xRegs.cache), one per
// scheduler, every block `block_bytes` (the scheduler's path size rounded up to VM_XREGS_ALIGN).
// Blocks are carved from chunks that live until the scheduler is freed; a free block's first word
// links the free list. Everything is guarded by `lock`, a leaf lock taken on a G stack inside
// asyncPreempt2 (never while another runtime lock is held). Invariant, checked by tests:
// live <= number of asynchronously preempted Gs + number of Ps.
typedef struct vm_xreg_pool {
    vm_mutex lock;
    uint32_t block_bytes;
    void *free;           // free blocks
    void *chunks;         // every chunk, linked through its first word (blocks start 64 bytes in)
    int64_t blocks;       // carved so far (live + free)
    int64_t live;         // handed out: held by a preempted G or cached by a P
    int64_t live_max;
} vm_xreg_pool;

// One scheduler (one VM): Go's `schedt`. Guarded by `lock` unless noted.
typedef struct vm_sched {
    vm_mutex lock;
    uint32_t stopping;      // atomic; shutdown in progress
    vm_g *runq_head;        // global run queue (linked by schedlink)
    vm_g *runq_tail;
    int64_t runq_size;      // atomic reads without the lock
    vm_m *midle;            // idle Ms
    int32_t nmidle;         // atomic reads without the lock
    int32_t nmspinning;     // atomic
    int32_t nprocs;
    uint32_t run_active;    // a host thread is waiting in run()
    uint32_t outcome_set;   // that run's outcome is decided
    uint32_t run_note;      // the host thread sleeps on it
    uint64_t gen;           // atomic; live program generation (bumped when a run is killed)
    int64_t next_gid;       // atomic
    vm_g *main_g;           // main G of the active run; written under lock, read without it by
                            // finishG's fast path: both through vm_sched_main_g/set_main_g
    vm_g *gfree;            // free G structs (no stacks), linked by schedlink
    int64_t ngfree;
    void *handlefree;       // reusable handles the Ps' caches spilled (vm_p.handlefree), linked
    int64_t nhandlefree;    // by GHandle.nextFree
    int64_t quantum_ns;
    uint64_t stack_size;
    vm_p **allp;          // the Ps (each names its M)
    void *owner;            // Unmanaged<Scheduler> (unretained)
    uint32_t async_preempt; // SchedulerConfiguration.asyncPreemption; fixed before the Ms start
    uint32_t xregs_path;    // VM_XREGS_PATH_* of every P (fixed before the Ms start)
    vm_xreg_pool xregs;     // xRegAlloc: the pool of state blocks (VMRuntime/XRegs.swift)
    uint64_t stats[VM_STAT_COUNT];  // atomic adds (events not tied to a P)
    uint32_t unwind;        // SchedulerConfiguration.unwindsStoppedTasks; fixed before the Ms start
    uint32_t stackless_threshold;  // SchedulerConfiguration.stacklessParkThreshold; fixed before the Ms start
    uint64_t stopped_finished;  // atomic: Gs of ended runs that have finished (unwound or dropped)
    uint64_t stopped_trimmed;   // stopped_finished when the C heap was last trimmed (host side)
} vm_sched;

// vm_sched.main_g, atomically (relaxed: the reader re-checks under the lock before acting). A plain
// read without the lock raced with the host thread clearing it (ThreadSanitizer).
static inline vm_g *vm_sched_main_g(vm_sched *s) { return __atomic_load_n(&s->main_g, __ATOMIC_RELAXED); }
static inline void vm_sched_set_main_g(vm_sched *s, vm_g *g) { __atomic_store_n(&s->main_g, g, __ATOMIC_RELAXED); }

// The process-wide monitor's words (VMRuntime/Sysmon.swift). A C global so that the hot path
// (every G switch reads wake_at) reaches it with one PC-relative load; Swift 6 cannot name a C
// global, hence the inline getter.
typedef struct vm_sysmon_words {
    uint32_t note;            // futex word sysmon sleeps on
    uint32_t stop;            // set to make sysmon exit
    int64_t wake_at;          // deadline sysmon sleeps until; INT64_MAX while scanning or idle
    vm_mutex registry_lock;   // guards the list of schedulers sysmon scans
    vm_mutex lifecycle_lock;  // serializes register/unregister (thread start and join)
} vm_sysmon_words;

extern vm_sysmon_words vm_sysmon_global;
static inline uint32_t *vm_sysmon_note(void) { return &vm_sysmon_global.note; }
static inline uint32_t *vm_sysmon_stop(void) { return &vm_sysmon_global.stop; }
static inline int64_t *vm_sysmon_wake_at(void) { return &vm_sysmon_global.wake_at; }
static inline vm_mutex *vm_sysmon_registry_lock(void) { return &vm_sysmon_global.registry_lock; }
static inline vm_mutex *vm_sysmon_lifecycle_lock(void) { return &vm_sysmon_global.lifecycle_lock; }

// A wait queue of Gs linked through waitlink.
typedef struct vm_waitq {
    vm_g *head;
    vm_g *tail;
} vm_waitq;

// A channel's raw state; the element ring lives right after it in the same allocation
// (VMRuntime/Channel.swift). Guarded by `lock`, which is never held across a switch.
typedef struct vm_chan {
    vm_mutex lock;
    uint32_t closed;
    int64_t cap;
    int64_t count;
    int64_t sendx;
    int64_t recvx;
    vm_waitq sendq;
    vm_waitq recvq;
} vm_chan;

// ---- layout pins (also checked from Swift in LayoutTests) ----
_Static_assert(offsetof(vm_g, sp) == VM_G_OFF_SP, "vm_g.sp");
_Static_assert(offsetof(vm_g, stack_lo) == VM_G_OFF_STACK_LO, "vm_g.stack_lo");
_Static_assert(offsetof(vm_g, stack_hi) == VM_G_OFF_STACK_HI, "vm_g.stack_hi");
_Static_assert(offsetof(vm_g, guard_lo) == VM_G_OFF_GUARD_LO, "vm_g.guard_lo");
_Static_assert(offsetof(vm_g, preempt) == VM_G_OFF_PREEMPT, "vm_g.preempt");
_Static_assert(offsetof(vm_g, status) == VM_G_OFF_STATUS, "vm_g.status");
_Static_assert(offsetof(vm_g, xregs_state) == VM_G_OFF_XREGS_STATE, "vm_g.xregs_state");
_Static_assert(offsetof(vm_g, m) == VM_G_OFF_M, "vm_g.m");
_Static_assert(offsetof(vm_g, id) == VM_G_OFF_ID, "vm_g.id");
_Static_assert(sizeof(((vm_g *)0)->msg) == VM_G_MSG_BYTES, "vm_g.msg");
_Static_assert(offsetof(vm_m, g0_sp) == VM_M_OFF_G0_SP, "vm_m.g0_sp");
_Static_assert(offsetof(vm_m, curg) == VM_M_OFF_CURG, "vm_m.curg");
_Static_assert(offsetof(vm_m, p) == VM_M_OFF_P, "vm_m.p");
_Static_assert(offsetof(vm_m, signal_pending) == VM_M_OFF_SIGNAL_PENDING, "vm_m.signal_pending");
_Static_assert(offsetof(vm_p, m) == VM_P_OFF_M, "vm_p.m");
_Static_assert(offsetof(vm_p, curg) == VM_P_OFF_CURG, "vm_p.curg");
_Static_assert(offsetof(vm_p, xregs_scratch) == VM_P_OFF_XREGS_SCRATCH, "vm_p.xregs_scratch");
_Static_assert(offsetof(vm_p, xregs_cache) == VM_P_OFF_XREGS_CACHE, "vm_p.xregs_cache");
_Static_assert(offsetof(vm_p, xregs_path) == VM_P_OFF_XREGS_PATH, "vm_p.xregs_path");
_Static_assert(VM_XREGS_MAX_BYTES % VM_XREGS_ALIGN == 0, "scratch blocks keep their successors aligned");

// ---- field addresses Swift may keep (an inout-to-pointer conversion may not escape) ----
static inline uint32_t *vm_g_preempt_ptr(vm_g *g) { return &g->preempt; }
static inline void *vm_g_msg_slot(vm_g *g) { return (void *)g->msg; }
static inline vm_g **vm_p_runq_slot(vm_p *p, uint32_t i) { return &p->runq[i % VM_RUNQ_SIZE]; }
static inline uint64_t *vm_p_stat(vm_p *p, uint32_t i) { return &p->stats[i]; }
static inline uint64_t *vm_sched_stat(vm_sched *s, uint32_t i) { return &s->stats[i]; }

// Whether more than `s->stackless_threshold` Gs are alive (spawned, not yet finished or dropped),
// from the scheduler's and the Ps' counters read racily: a heuristic, not a count (Task.swift,
// manyGsAlive). On every wait that may park without its stack, so kept to a few loads.
static inline bool vm_sched_many_gs_alive(vm_sched *s) {
    uint64_t threshold = s->stackless_threshold;
    if (threshold == 0) return true;
    uint64_t alive = __atomic_load_n(&s->stats[VM_STAT_TASKS], __ATOMIC_RELAXED) -
                     __atomic_load_n(&s->stats[VM_STAT_EXITS], __ATOMIC_RELAXED) -
                     __atomic_load_n(&s->stats[VM_STAT_ABANDONED], __ATOMIC_RELAXED);
    for (int32_t i = 0; i < s->nprocs; i++) {
        const vm_p *p = s->allp[i];
        alive += __atomic_load_n(&p->stats[VM_STAT_TASKS], __ATOMIC_RELAXED) -
                 __atomic_load_n(&p->stats[VM_STAT_EXITS], __ATOMIC_RELAXED) -
                 __atomic_load_n(&p->stats[VM_STAT_ABANDONED], __ATOMIC_RELAXED);
    }
    return alive > threshold;
}
static inline vm_xreg_pool *vm_sched_xreg_pool(vm_sched *s) { return &s->xregs; }

// ---- typed atomics on G pointers ----
static inline __attribute__((always_inline)) vm_g *vm_load_g(vm_g *const *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline __attribute__((always_inline)) vm_g *vm_load_relaxed_g(vm_g *const *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline __attribute__((always_inline)) void vm_store_g(vm_g **p, vm_g *g) {
    __atomic_store_n(p, g, __ATOMIC_RELEASE);
}
static inline __attribute__((always_inline)) void vm_store_relaxed_g(vm_g **p, vm_g *g) {
    __atomic_store_n(p, g, __ATOMIC_RELAXED);
}
static inline __attribute__((always_inline)) bool vm_cas_g(vm_g **p, vm_g *expected, vm_g *desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline __attribute__((always_inline)) vm_g *vm_xchg_g(vm_g **p, vm_g *g) {
    return __atomic_exchange_n(p, g, __ATOMIC_ACQ_REL);
}

// ============================================================================================
// Context switch (context_switch.S)
// ============================================================================================

// Saves rbx, rbp, r12–r15, MXCSR and the x87 control word on the current stack, stores rsp in
// *save_sp, loads load_sp and restores the same set from there, then returns on the new stack.
// Everything else is caller-saved in the SysV ABI, so the compiler has already spilled it.
void vm_ctx_switch(void **save_sp, void *load_sp);

// First code a new G runs: calls entry(arg) with an aligned stack; entry must never return.
void vm_ctx_trampoline(void);

// Builds the initial frame at the top of [lo, hi) so that the first vm_ctx_switch into the
// returned sp "returns" into vm_ctx_trampoline, which calls entry(arg). Default MXCSR/FPU CW.
void *vm_ctx_init(uintptr_t stack_hi, void (*entry)(void *), void *arg);

// Before a G starts on the stack [lo, hi): clears AddressSanitizer's shadow of it (stale redzones
// of the previous G's frames, which were never unwound). A no-op unless built with ASan.
void vm_stack_sanitizer_reset(uintptr_t lo, uintptr_t hi);

// ThreadSanitizer follows the switches as fiber switches: every G is a TSan fiber (made by
// vm_ctx_init), and each switch tells TSan first, so that it keeps one shadow call stack and one
// clock per G instead of piling the frames of every G an M runs onto the M's own (which ends in a
// shadow-stack overflow and reports with other tasks' frames). `__tsan_switch_to_fiber` is a weak
// reference: null unless the TSan runtime is linked in (these functions are compiled into Swift by
// the Clang importer, which does not see -fsanitize=thread), so other builds pay one predicted
// branch per switch.
extern void __tsan_switch_to_fiber(void *fiber, unsigned flags) __attribute__((weak));
void vm_tsan_switch_to_g(vm_m *m, vm_g *g);
void vm_tsan_switch_to_g0(vm_g *g, vm_m *m);

// g0 → G. `m` must be the current thread's M; it stays valid afterwards because g0 never
// changes thread.
static inline __attribute__((always_inline)) void vm_switch_to_g(vm_m *m, vm_g *g) {
    if (__builtin_expect(__tsan_switch_to_fiber != 0, 0)) vm_tsan_switch_to_g(m, g);
    vm_ctx_switch(&m->g0_sp, g->sp);
}
// G → g0. After this returns the G may be on another thread: the caller must not use `m`
// again, and must re-read the current M through vm_current_m().
static inline __attribute__((always_inline)) void vm_switch_to_g0(vm_g *g, vm_m *m) {
    if (__builtin_expect(__tsan_switch_to_fiber != 0, 0)) vm_tsan_switch_to_g0(g, m);
    vm_ctx_switch(&g->sp, m->g0_sp);
}

// The stack-bound check done at every switch of an unguarded stack: the zero band at the
// low end is intact and the saved sp is above it.
static inline bool vm_stack_band_intact(const vm_g *g) {
    const uint64_t *w = (const uint64_t *)g->stack_lo;
    uint64_t acc = 0;
    for (int i = 0; i < VM_STACK_BAND / 8; i++) acc |= w[i];
    return acc == 0 && (uintptr_t)g->sp >= g->stack_lo + VM_STACK_BAND;
}

// ============================================================================================
// Threads, thread-locals, signals (runtime.c)
// ============================================================================================

// The current M, read through an out-of-line call on purpose: after a switch the G may be on
// another thread, and an inlined thread-local read (or a cached %fs-relative address) would
// return the old thread's value (PLATFORM.md hazards 2 and 3). Never mark these const/pure.
vm_m *vm_current_m(void);
vm_g *vm_current_g(void);

// Per-M thread set-up: sets the thread-local M, records the tid, lowers timer slack so timed
// futex waits wake on time, installs an alternate signal stack for stack-overflow reports,
// names the thread. vm_m_thread_exit undoes what must be undone.
void vm_m_thread_init(vm_m *m, const char *name);
void vm_m_thread_exit(vm_m *m);
// For the sysmon thread: timer slack and name only.
void vm_helper_thread_init(const char *name);

// Installs (once per process) the SIGSEGV handler that turns a fault in a G's guard region
// into "fatal error: stack overflow in task N" and chains every other fault to the previous
// handler.
void vm_install_stack_overflow_handler(void);

// Prints "fatal error: stack overflow in task N ..." and exits with status 2. Async-signal-safe.
__attribute__((noreturn)) void vm_fatal_stack_overflow(const vm_g *g);

// ---- foreign calls and crashes (runtime.c) ----

// Around a call into foreign code (an `extern` C function, a host function) from a G:
// `description` (a string that outlives the call, e.g. "strlen (libc.so.6)", or NULL) names it
// in crash reports, and the M is marked `incall` so that sysmon sends it no preemption signal — a
// SIGURG would interrupt the callee's system calls (sleep returns early, read fails with EINTR).
// begin waits, if one is already on its way, until it has been delivered (a Dekker handshake with
// vm_preempt_signal_m). From a thread that is not an M only the description is recorded. Calls
// do not nest.
void vm_foreign_call_begin(const char *description);
void vm_foreign_call_end(void);
// The description of the foreign call running on this thread, or NULL.
const char *vm_foreign_call_current(void);

// Installs (once per process) handlers for the fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
// SIGABRT, SIGTRAP, SIGSYS, SIGQUIT) that write a short report to stderr — the signal, the
// faulting address, the task, and the foreign call that was running if any — and then end the
// process by the same signal. They replace the Swift runtime's backtracer (which spawns a helper
// process that can outlive us holding our stdout and stderr). `program` prefixes each line. For
// executables: a library must leave the process's signal handling to its host.
void vm_crash_handlers_install(const char *program);

// The process-wide lock that keeps a channel's memory alive while the reaper reads it (see
// SchedulerCore.wakeStoppedWaiters): a channel takes it once before it frees its state.
void vm_reap_lock(void);
void vm_reap_unlock(void);

// Returns the C heap's free pages to the system (malloc_trim; nothing where libc has none).
void vm_trim_heap(void);
// Makes the C heap grow in steps of a whole arena heap (glibc: M_TOP_PAD 64 MiB; see runtime.c).
// Process-wide: for executables (MemoryTuning), before any other thread allocates.
void vm_heap_grow_in_large_steps(void);
// Whether vm_heap_grow_in_large_steps was called: the heap then keeps freed memory until trimmed
// (sysmon trims it once each time the process's schedulers go idle).
bool vm_heap_keeps_free_memory(void);

static inline __attribute__((always_inline)) uintptr_t vm_load_uptr(const uintptr_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline __attribute__((always_inline)) void vm_store_uptr(uintptr_t *p, uintptr_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

// pthread_create with a C entry point (Swift cannot name pthread_t portably on all libcs).
int vm_thread_start(pthread_t *out, void *(*entry)(void *), void *arg);
int vm_thread_join(pthread_t t);
