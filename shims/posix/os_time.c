/*
 * os_time.c - clocks, sleeping and randomness on POSIX.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../shim.h"

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t colo__os_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

uint64_t colo__os_now_coarse_ns(void) {
#ifdef CLOCK_MONOTONIC_COARSE
  return clock_ns(CLOCK_MONOTONIC_COARSE);
#else
  return clock_ns(CLOCK_MONOTONIC);
#endif
}

uint64_t colo__os_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }

void colo__os_sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  nanosleep(&ts, NULL);
}

void colo__os_random(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len) {
    ssize_t n = getrandom(p, len, GRND_NONBLOCK);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    p += n, len -= (size_t)n;
  }
  /* No entropy available: mix clocks (the nonce only tells incarnations apart). */
  for (uint64_t x = colo__os_now_ns() ^ colo__os_realtime_ns(); len; len--) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    *p++ = (unsigned char)x;
  }
}
