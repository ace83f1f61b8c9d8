// Thread-locals of the embedding layer (include/vm_embed.h). A direct call never switches threads
// while it runs (DirectCall.swift), so the depth it enters and leaves is one thread's.
#include "vm_embed.h"

static __thread int32_t vm_tls_embed_depth;

__attribute__((noinline)) int32_t vm_embed_depth(void) { return vm_tls_embed_depth; }
__attribute__((noinline)) void vm_embed_set_depth(int32_t depth) { vm_tls_embed_depth = depth; }
