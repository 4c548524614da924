/*
 * os_time.c - clocks, sleeping and randomness on POSIX.
 */
#define _GNU_SOURCE
#include <time.h>

#include "../shim.h"
#include "edge.h"

uint64_t colo__os_now_ns(void) { return colo__edge_clock_ns(CLOCK_MONOTONIC); }

uint64_t colo__os_now_coarse_ns(void) {
#ifdef CLOCK_MONOTONIC_COARSE
  return colo__edge_clock_ns(CLOCK_MONOTONIC_COARSE);
#else
  return colo__edge_clock_ns(CLOCK_MONOTONIC);
#endif
}

uint64_t colo__os_realtime_ns(void) { return colo__edge_clock_ns(CLOCK_REALTIME); }

void colo__os_sleep_ns(uint64_t ns) { colo__edge_sleep_ns(ns); }

void colo__os_random(void *buf, size_t len) { colo__edge_random(buf, len); }
