/*
 * os_base.c - errors, clocks, sleeping, randomness and a shared futex for the
 * colo command on POSIX (see tools/os.h). A few lines each: the command
 * cannot borrow libcolo's (they are internal to the library), and must not
 * need to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#  include <linux/futex.h>
#  include <sys/syscall.h>
#endif

#include "posix.h"

/* ---- errors -------------------------------------------------------------------------- */

static _Thread_local char last_error[1024];

const char *tos_last_error(void) { return last_error; }

int tos_err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return code;
}

int tos_posix_err(int e, const char *what, const char *obj) {
  int code;
  switch (e) {
  case EACCES: case EPERM: case EROFS: code = COLO_EPERM; break;
  case ENOENT: case ENOTDIR: case ECONNREFUSED: code = COLO_ENOENT; break;
  case EEXIST: case EADDRINUSE: code = COLO_EEXIST; break;
  case ECONNRESET: case EPIPE: case ENOTCONN: code = COLO_EPEERDEAD; break;
  case EADDRNOTAVAIL: case EAFNOSUPPORT: case EPROTONOSUPPORT: code = COLO_ENOTSUP; break;
  case ENOSPC: case EFBIG: case EDQUOT: code = COLO_ENOSPC; break;
  case ENOMEM: code = COLO_ENOMEM; break;
  case EINVAL: case ENAMETOOLONG: code = COLO_EINVAL; break;
  case EOPNOTSUPP: case ENOLCK: code = COLO_ENOTSUP; break;
  default: code = COLO_EIO; break;
  }
  if (!obj) return tos_err(code, "%s: %s", what, strerror(e));
  return tos_err(code, "%s %s: %s", what, obj, strerror(e));
}

/* ---- clocks, sleeping, randomness ------------------------------------------------------ */

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tos_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

void tos_sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  nanosleep(&ts, NULL);
}

void tos_random(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len) {
    ssize_t n = getrandom(p, len, GRND_NONBLOCK);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    p += n, len -= (size_t)n;
  }
  /* No entropy available: mix clocks (the tools use it for seeds and nonces
   * that only tell runs apart). */
  for (uint64_t x = tos_now_ns() ^ clock_ns(CLOCK_REALTIME); len; len--) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    *p++ = (unsigned char)x;
  }
}

/* ---- the futex ------------------------------------------------------------------------------ */

/* The same calls as libcolo's shims/posix/os_wait.c (a shared FUTEX_WAIT and
 * FUTEX_WAKE, keyed by the kernel on the backing file and offset): the probe
 * tests with them whether a channel's block mode can wake across this medium,
 * so they must stay the library's system calls. */
int tos_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
  long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expect, &ts, NULL, 0);
  if (r == -1 && errno == ETIMEDOUT) return COLO_ETIMEDOUT;
  return 0;
}

void tos_wake(_Atomic uint32_t *word) { syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0); }

/* ---- directories ------------------------------------------------------------------------------ */

int tos_posix_make_parents(const char *path) {
  char buf[TOS_PATH_MAX + 1];
  size_t n = strlen(path);
  if (n > TOS_PATH_MAX) return tos_err(COLO_EINVAL, "path too long: %.64s...", path);
  memcpy(buf, path, n + 1);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return 0;
  *slash = 0;
  for (char *p = buf + 1; ; p++) {
    if (*p != '/' && *p) continue;
    char c = *p;
    *p = 0;
    struct stat st;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return tos_posix_err(errno, "mkdir", buf);
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return tos_err(COLO_EINVAL, "%s: not a directory", buf);
    *p = c;
    if (!c) break;
  }
  return 0;
}
