// CJITStubs — C and assembly only where Swift cannot go (shared/DESIGN.md):
// the context switch, the scheduler's C-visible G/M/P layouts with their pinned offsets,
// futex-based locks and notes, thread and signal set-up, atomics on raw memory, CPU features,
// and asynchronous preemption (SIGURG handler, code regions, asyncPreempt trampoline).
#pragma once
#include "vm_atomic.h"
#include "vm_sched.h"
#include "vm_cpu.h"
#include "vm_preempt.h"
#include "vm_vector_math.h"
#include "vm_embed.h"
