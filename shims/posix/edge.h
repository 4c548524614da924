/*
 * edge.h - the pieces of the POSIX edge that libcolo's posix shim and the
 * colo command's own posix layer (tools/posix) share: how an errno becomes a
 * COLO_E* code, the clocks, sleeping, random bytes, and the shared futex.
 *
 * The command cannot call libcolo's internals (it links the shared library,
 * whose colo__ symbols are hidden), yet must say the same thing for the same
 * failure, and the probe must test with the very system calls the library's
 * rings use (a futex that wakes across a mount is what block mode needs).
 * So both include this one header: header only, static inline, no state.
 * Include it after <errno.h>-using code may define _GNU_SOURCE.
 */
#ifndef COLO_SHIMS_POSIX_EDGE_H
#define COLO_SHIMS_POSIX_EDGE_H

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#  include <linux/futex.h>
#endif

#include "colo.h"

/* errno -> COLO_E*. */
static inline int colo__edge_errno_code(int e) {
  switch (e) {
  case EACCES: case EPERM: case EROFS: return COLO_EPERM;
  case ENOENT: case ENOTDIR: case ECONNREFUSED: return COLO_ENOENT;
  case EEXIST: case EADDRINUSE: return COLO_EEXIST;
  case ECONNRESET: case EPIPE: case ENOTCONN: return COLO_EPEERDEAD;
  case EADDRNOTAVAIL: case EAFNOSUPPORT: case EPROTONOSUPPORT: return COLO_ENOTSUP;
  case ENOSPC: case EFBIG: case EDQUOT: return COLO_ENOSPC;
  case ENOMEM: return COLO_ENOMEM;
  case EINVAL: case ENAMETOOLONG: return COLO_EINVAL;
  case EOPNOTSUPP: case ENOLCK: return COLO_ENOTSUP;
  default: return COLO_EIO;
  }
}

static inline uint64_t colo__edge_clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void colo__edge_sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  nanosleep(&ts, NULL);
}

/* Unpredictable bytes; without entropy, clock mixing (what colo uses them
 * for, nonces and seeds, only tells incarnations apart). */
static inline void colo__edge_random(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len) {
    ssize_t n = getrandom(p, len, GRND_NONBLOCK);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    p += n, len -= (size_t)n;
  }
  for (uint64_t x = colo__edge_clock_ns(CLOCK_MONOTONIC) ^ colo__edge_clock_ns(CLOCK_REALTIME); len; len--) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    *p++ = (unsigned char)x;
  }
}

#ifdef __linux__
/* A shared (not FUTEX_PRIVATE) futex, keyed by the kernel on the backing
 * object and offset: it works between processes mapping the word at
 * different addresses, and between containers. COLO_ETIMEDOUT when the time
 * ran out; 0 when woken, when the word already differs (EAGAIN) or on a
 * signal: the caller re-checks. */
static inline int colo__edge_futex_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
  long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expect, &ts, NULL, 0);
  return r == -1 && errno == ETIMEDOUT ? COLO_ETIMEDOUT : 0;
}

static inline void colo__edge_futex_wake(_Atomic uint32_t *word) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
#endif

#endif
