// vm_offsets.h — byte offsets of the vm_g, vm_m and vm_p fields that assembly reads (context_switch.S,
// the generated async_preempt.S) or the signal handler relies on. Plain #defines only, so that .S files
// can include this header; vm_sched.h pins every one with _Static_assert, and
// Tests/VMRuntimeTests/LayoutTests.swift checks them against Swift's view of the structs. The tables
// next to each struct in vm_sched.h say what the fields are for.
#pragma once

// vm_g
#define VM_G_OFF_SP 0
#define VM_G_OFF_STACK_LO 8
#define VM_G_OFF_STACK_HI 16
#define VM_G_OFF_GUARD_LO 24
#define VM_G_OFF_PREEMPT 32
#define VM_G_OFF_STATUS 36
#define VM_G_OFF_XREGS_STATE 40
#define VM_G_OFF_M 48
#define VM_G_OFF_ID 56
#define VM_G_MSG_BYTES 40

// vm_m
#define VM_M_OFF_G0_SP 0
#define VM_M_OFF_CURG 8
#define VM_M_OFF_P 16
#define VM_M_OFF_SIGNAL_PENDING 28

// vm_p
#define VM_P_OFF_M 8
#define VM_P_OFF_CURG 16
#define VM_P_OFF_XREGS_SCRATCH 32
#define VM_P_OFF_XREGS_CACHE 40
#define VM_P_OFF_XREGS_PATH 48
