// vm_vector_math.h — elementwise square roots for the interpreter's kernel evaluator.
//
// Swift's squareRoot() in a loop compiles to one scalar sqrtss per element (the C library's
// sqrt sets errno, so compilers do not vectorize it); these use SSE2's sqrtps/sqrtpd, which every
// x86-64 CPU has and which are correctly rounded, so the results equal the scalar ones bit for bit.
#pragma once
#include <stdint.h>

void vm_sqrt_f32(float *dst, const float *src, int64_t n);
void vm_sqrt_f64(double *dst, const double *src, int64_t n);
