// vm_embed.h — thread-local state of the embedding layer (VecVM/Embedding/DirectCall.swift): how
// deeply calls between the host and the VM are nested on the calling thread. A C thread-local, read
// and written out of line, because Swift has none (pthread keys cost several times more).
#pragma once
#include <stdint.h>

/// The nesting depth of direct calls on the calling thread (0 outside any).
int32_t vm_embed_depth(void);
/// Sets it.
void vm_embed_set_depth(int32_t depth);
