/*
 * os_held.c - guarded mappings on Windows: a file:// segment whose file is
 * cut short under the view does not kill the process.
 *
 * Windows refuses to shrink a file that a local process maps
 * (ERROR_USER_MAPPED_FILE), but not every filesystem is local: a file on a
 * share, or under Wine any host process, can cut it, and a touch of a page
 * beyond the new end raises EXCEPTION_IN_PAGE_ERROR (Wine: an access
 * violation). As on Linux (shims/posix/os_held.c), a vectored handler looks
 * for the address among the guarded views: the view is replaced, at the
 * same address, by private zero-filled memory, the segment's lost word says
 * COLO__OS_LOST_TRUNCATED, and the instruction runs again. The core then
 * fails the channel with COLO_ECORRUPT. A fault anywhere else goes on to the
 * next handler.
 */
#include "win32.h"

#include <string.h>

#define GUARDS 64

typedef struct guard {
  void *_Atomic base; /* NULL: a free slot */
  size_t len;
  _Atomic int *lost;
  _Atomic int state; /* 0 mapped, 1 being replaced, 2 replaced by private memory */
} guard_t;

static guard_t guards[GUARDS];
static INIT_ONCE handler_once = INIT_ONCE_STATIC_INIT;

/* Replaces the view of g by zero pages: 1 when the address is usable now. */
static int repair(guard_t *g) {
  int expect = 0;
  if (atomic_compare_exchange_strong(&g->state, &expect, 1)) {
    void *base = atomic_load(&g->base);
    UnmapViewOfFile(base);
    /* (Another thread could take the range in between: then nothing can
     * be done, and the fault goes on as it would have.) */
    void *got = VirtualAlloc(base, g->len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    atomic_store(g->lost, COLO__OS_LOST_TRUNCATED);
    atomic_store(&g->state, got == base ? 2 : 3);
    return got == base;
  }
  while (atomic_load(&g->state) == 1) YieldProcessor(); /* another thread repairs it */
  return atomic_load(&g->state) == 2;
}

static guard_t *guard_of(const void *addr) {
  const char *a = addr;
  for (int i = 0; i < GUARDS; i++) {
    const char *b = atomic_load(&guards[i].base);
    if (b && a >= b && a < b + guards[i].len) return &guards[i];
  }
  return NULL;
}

int colo__os_sigbus_repair(void *addr) {
  guard_t *g = guard_of(addr);
  return g && repair(g);
}

static LONG CALLBACK on_fault(PEXCEPTION_POINTERS ep) {
  DWORD code = ep->ExceptionRecord->ExceptionCode;
  if ((code != EXCEPTION_IN_PAGE_ERROR && code != EXCEPTION_ACCESS_VIOLATION) ||
      ep->ExceptionRecord->NumberParameters < 2)
    return EXCEPTION_CONTINUE_SEARCH;
  void *addr = (void *)ep->ExceptionRecord->ExceptionInformation[1];
  return colo__os_sigbus_repair(addr) ? EXCEPTION_CONTINUE_EXECUTION : EXCEPTION_CONTINUE_SEARCH;
}

static BOOL CALLBACK add_handler(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  (void)once, (void)param, (void)ctx;
  AddVectoredExceptionHandler(1, on_fault);
  return TRUE;
}

void colo__os_sigbus_install(void) { InitOnceExecuteOnce(&handler_once, add_handler, NULL, NULL); }

int colo__win_guard_add(void *base, size_t len, _Atomic int *lost) {
  for (int i = 0; i < GUARDS; i++) {
    void *none = NULL;
    guards[i].len = len;
    guards[i].lost = lost;
    atomic_store(&guards[i].state, 0);
    /* len and lost are written before base publishes the slot. */
    if (atomic_compare_exchange_strong(&guards[i].base, &none, base)) return i;
  }
  return -1; /* more guarded views than slots: this one is left unguarded */
}

void colo__win_guard_unmap(int idx, void *base) {
  if (idx < 0 || idx >= GUARDS) {
    UnmapViewOfFile(base);
    return;
  }
  guard_t *g = &guards[idx];
  while (atomic_load(&g->state) == 1) YieldProcessor();
  int state = atomic_load(&g->state);
  atomic_store(&g->base, NULL);
  if (state == 2) VirtualFree(base, 0, MEM_RELEASE); /* private memory now */
  else if (state == 0) UnmapViewOfFile(base);
}
