/*
 * os_wait.c - cross-process sleep and wake-up on a shared 32-bit word: a
 * shared (not FUTEX_PRIVATE) futex, keyed by the kernel on the backing object
 * and offset, so it works between processes mapping the segment at different
 * addresses and between containers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../shim.h"

int colo__os_wait(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word, uint32_t expect,
                  uint64_t timeout_ns) {
  (void)s, (void)wait_id;
  struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
  long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expect, &ts, NULL, 0);
  if (r == -1 && errno == ETIMEDOUT) return COLO_ETIMEDOUT;
  /* woken, EAGAIN (the word already differs) or EINTR: the caller re-checks */
  return 0;
}

void colo__os_wake(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word) {
  (void)s, (void)wait_id;
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
