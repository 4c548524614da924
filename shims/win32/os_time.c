/*
 * os_time.c - clocks, sleeping and random bytes on Windows.
 *
 * The monotonic clock is QueryPerformanceCounter (what Windows itself
 * recommends for intervals; a few ns through the TSC). The coarse clock is
 * GetTickCount64 (10-16 ms ticks).
 */
#include "win32.h"

#include <bcrypt.h>

static uint64_t qpc_freq(void) {
  static _Atomic uint64_t freq;
  uint64_t f = atomic_load_explicit(&freq, memory_order_relaxed);
  if (f == 0) {
    LARGE_INTEGER li;
    QueryPerformanceFrequency(&li); /* never fails since Windows XP */
    f = (uint64_t)li.QuadPart;
    atomic_store_explicit(&freq, f, memory_order_relaxed);
  }
  return f;
}

uint64_t colo__os_now_ns(void) {
  LARGE_INTEGER li;
  QueryPerformanceCounter(&li);
  uint64_t t = (uint64_t)li.QuadPart, f = qpc_freq();
  /* Split so that t * 1e9 cannot overflow. */
  return t / f * 1000000000u + t % f * 1000000000u / f;
}

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

void colo__os_sleep_ns(uint64_t ns) {
  if (ns == 0) return;
  /* A high-resolution waitable timer (Windows 10 1803) sleeps close to the
   * time asked; Sleep() rounds up to the 15.6 ms tick. */
  HANDLE t = CreateWaitableTimerExW(NULL, NULL, 0x00000002 /* CREATE_WAITABLE_TIMER_HIGH_RESOLUTION */,
                                    TIMER_ALL_ACCESS);
  if (!t) t = CreateWaitableTimerExW(NULL, NULL, 0, TIMER_ALL_ACCESS);
  if (t) {
    LARGE_INTEGER due;
    uint64_t units = ns / 100u + (ns % 100u != 0);
    due.QuadPart = -(LONGLONG)(units > INT64_MAX ? INT64_MAX : units);
    if (SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE)) {
      WaitForSingleObject(t, INFINITE);
      CloseHandle(t);
      return;
    }
    CloseHandle(t);
  }
  Sleep(colo__win_ms(ns));
}

void colo__os_random(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ULONG n = len > 0x10000000u ? 0x10000000u : (ULONG)len;
    if (BCryptGenRandom(NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) break;
    p += n, len -= n;
  }
  /* Never fails: mix the clock into what is left (as the POSIX shim does). */
  uint64_t x = colo__os_now_ns() ^ ((uint64_t)GetCurrentProcessId() << 32) ^ (uintptr_t)buf;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = (unsigned char)x;
  }
}
