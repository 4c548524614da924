/*
 * os_time.c - clocks, sleeping and random bytes on Windows (edge.h, which
 * the command's own layer shares). The coarse clock is GetTickCount64
 * (10-16 ms ticks).
 */
#include "win32.h"
#include "edge.h"

uint64_t colo__os_now_ns(void) { return colo__wedge_now_ns(); }

uint64_t colo__os_now_coarse_ns(void) { return GetTickCount64() * 1000000u; }

uint64_t colo__os_realtime_ns(void) {
  FILETIME ft;
  GetSystemTimePreciseAsFileTime(&ft);
  uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
  const uint64_t epoch_1970 = 116444736000000000ull;
  return t < epoch_1970 ? 0 : (t - epoch_1970) * 100u;
}

DWORD colo__win_ms(uint64_t timeout_ns) {
  if (timeout_ns == UINT64_MAX) return INFINITE;
  uint64_t ms = timeout_ns / 1000000u + (timeout_ns % 1000000u != 0);
  return ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
}

void colo__os_sleep_ns(uint64_t ns) { colo__wedge_sleep_ns(ns); }

void colo__os_random(void *buf, size_t len) { colo__wedge_random(buf, len); }
