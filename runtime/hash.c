/*
 * hash.c - XXH3 for segment-header checksums and per-message checks.
 * xxHash is used header-only (XXH_INLINE_ALL), so libcolo has no runtime
 * dependency on libxxhash and the same code builds for Windows.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"

uint64_t colo__hash64(const void *p, size_t n) { return (uint64_t)XXH3_64bits(p, n); }
