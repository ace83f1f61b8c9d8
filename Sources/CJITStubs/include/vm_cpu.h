// vm_cpu.h — CPU feature detection for the JIT (CPUID + XGETBV).
//
// A CPUID bit says the processor implements an extension; the OS must also have enabled the
// matching register state in XCR0, or the first instruction touching that state faults. The
// JIT may use AVX/AVX2/FMA when `os_ymm` is also set, and AVX-512 when `os_zmm` is also set.
#pragma once
#include <stdbool.h>
#include <stdint.h>

typedef struct vm_cpu_feature_set {
    bool osxsave;   // CPUID.1:ECX[27] — the OS uses XSAVE, so XGETBV is usable
    bool avx;       // CPUID.1:ECX[28]
    bool fma;       // CPUID.1:ECX[12]
    bool avx2;      // CPUID.(7,0):EBX[5]
    bool avx512f;   // CPUID.(7,0):EBX[16]
    bool avx512dq;  // CPUID.(7,0):EBX[17]
    bool avx512bw;  // CPUID.(7,0):EBX[30]
    bool avx512vl;  // CPUID.(7,0):EBX[31]
    bool os_ymm;    // XCR0 bits 1–2 (SSE and AVX state) both enabled
    bool os_zmm;    // XCR0 bits 5–7 (opmask, ZMM_Hi256, Hi16_ZMM) all enabled
    uint64_t xcr0;  // raw XCR0; 0 when OSXSAVE is off
} vm_cpu_feature_set;

// Runs CPUID/XGETBV each call (cheap enough: the JIT asks once).
vm_cpu_feature_set vm_cpu_features(void);
