/*
 * os_wait.c - cross-process sleep and wake-up on a shared 32-bit word: a
 * shared (not FUTEX_PRIVATE) futex, keyed by the kernel on the backing object
 * and offset, so it works between processes mapping the segment at different
 * addresses and between containers.
 */
#define _GNU_SOURCE

#include "../shim.h"
#include "edge.h"

int colo__os_wait(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word, uint32_t expect,
                  uint64_t timeout_ns) {
  (void)s, (void)wait_id;
  return colo__edge_futex_wait(word, expect, timeout_ns);
}

void colo__os_wake(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word) {
  (void)s, (void)wait_id;
  colo__edge_futex_wake(word);
}

/* The futex is keyed on the object and offset: no name needed. */
void colo__os_seg_name_waits(colo__os_seg_t *s, uint64_t key) { (void)s, (void)key; }

const char *colo__os_seg_wait_how(const colo__os_seg_t *s) {
  (void)s;
  return "a futex on the shared word";
}
