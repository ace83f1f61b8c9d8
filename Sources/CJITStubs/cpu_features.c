// cpu_features.c — vm_cpu_features(): what the JIT may emit on this machine (see vm_cpu.h).
#include "vm_cpu.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    // XGETBV with ECX = 0 reads XCR0. Only valid when CPUID reports OSXSAVE.
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

vm_cpu_feature_set vm_cpu_features(void) {
    vm_cpu_feature_set f = {0};
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.osxsave = (c >> 27) & 1;
    f.avx = (c >> 28) & 1;
    f.fma = (c >> 12) & 1;
    unsigned max_leaf = __get_cpuid_max(0, 0);
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = (b >> 5) & 1;
        f.avx512f = (b >> 16) & 1;
        f.avx512dq = (b >> 17) & 1;
        f.avx512bw = (b >> 30) & 1;
        f.avx512vl = (b >> 31) & 1;
    }
    if (f.osxsave) {
        f.xcr0 = read_xcr0();
        f.os_ymm = (f.xcr0 & 0x6) == 0x6;
        f.os_zmm = (f.xcr0 & 0xE0) == 0xE0;
    }
    return f;
}
#else
vm_cpu_feature_set vm_cpu_features(void) {
    vm_cpu_feature_set f = {0};
    return f;
}
#endif
