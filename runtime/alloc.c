/*
 * alloc.c - the runtime's own heap: mimalloc when the build found it, the C
 * library's allocator otherwise (a build without the mimalloc package, or a
 * cross build for which none is installed).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef COLO_HAVE_MIMALLOC
#  include <mimalloc.h>
#  define RAW_MALLOC mi_malloc
#  define RAW_CALLOC mi_calloc
#  define RAW_FREE mi_free
#else
#  define RAW_MALLOC malloc
#  define RAW_CALLOC calloc
#  define RAW_FREE free
#endif

void *colo__malloc(size_t n) { return RAW_MALLOC(n ? n : 1); }
void *colo__calloc(size_t count, size_t n) { return RAW_CALLOC(count ? count : 1, n ? n : 1); }
void colo__free(void *p) { RAW_FREE(p); }

char *colo__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = colo__malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
