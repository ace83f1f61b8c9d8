// vector_math.c — see include/vm_vector_math.h.
#include "vm_vector_math.h"
#include <math.h>

#if defined(__x86_64__)
#include <emmintrin.h>

void vm_sqrt_f32(float *dst, const float *src, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(dst + i, _mm_sqrt_ps(_mm_loadu_ps(src + i)));
    for (; i < n; i++) _mm_store_ss(dst + i, _mm_sqrt_ss(_mm_load_ss(src + i)));
}

void vm_sqrt_f64(double *dst, const double *src, int64_t n) {
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) _mm_storeu_pd(dst + i, _mm_sqrt_pd(_mm_loadu_pd(src + i)));
    for (; i < n; i++) _mm_store_sd(dst + i, _mm_sqrt_sd(_mm_setzero_pd(), _mm_load_sd(src + i)));
}
#else
void vm_sqrt_f32(float *dst, const float *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = __builtin_sqrtf(src[i]);
}
void vm_sqrt_f64(double *dst, const double *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = __builtin_sqrt(src[i]);
}
#endif
