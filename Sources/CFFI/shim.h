// CFFI: libffi for VecVM's `extern fn` calls. Swift 6 rejects C global variables such as
// ffi_type_double, so the ffi_type objects are reached through static inline getters.
#pragma once
#if defined(__APPLE__)
#include <ffi/ffi.h>  // the SDK's copy (macOS ships libffi)
#else
#include <ffi.h>
#endif

static inline ffi_type *vecvm_ffi_type_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *vecvm_ffi_type_double(void) { return &ffi_type_double; }
static inline ffi_type *vecvm_ffi_type_float(void) { return &ffi_type_float; }
static inline ffi_type *vecvm_ffi_type_pointer(void) { return &ffi_type_pointer; }
static inline ffi_type *vecvm_ffi_type_void(void) { return &ffi_type_void; }
