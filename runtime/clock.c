/*
 * clock.c - deadlines and the one retry policy of a connect.
 */
#include "../shims/shim.h"
#include "internal.h"

uint64_t colo__deadline(int timeout_ms) {
  if (timeout_ms < 0) return UINT64_MAX;
  return colo__os_now_ns() + (uint64_t)timeout_ms * COLO__MS;
}

uint64_t colo__remaining_ns(uint64_t deadline) {
  if (deadline == UINT64_MAX) return UINT64_MAX;
  uint64_t now = colo__os_now_ns();
  return now >= deadline ? 0 : deadline - now;
}

void colo__retry_sleep(colo__retry_t *r, uint64_t deadline) {
  uint64_t nap = r->backoff_ns, left = colo__remaining_ns(deadline);
  if (nap > left) nap = left;
  if (nap) colo__os_sleep_ns(nap);
  r->backoff_ns = r->backoff_ns * 2 < COLO__BACKOFF_MAX_NS ? r->backoff_ns * 2 : COLO__BACKOFF_MAX_NS;
}
