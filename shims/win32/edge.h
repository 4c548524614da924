/*
 * edge.h - the pieces of the Windows edge that libcolo's win32 shim and the
 * colo command's own Windows layer (tools/win32) share: how a Win32 error
 * becomes a COLO_E* code and the system's sentence for it, the clocks,
 * sleeping and random bytes (the counterpart of shims/posix/edge.h).
 *
 * The command cannot call libcolo's internals (colo.dll hides them), yet
 * must say the same thing for the same failure and time with the same
 * clock. So both include this header: header only, static inline, no state
 * but the counter frequency, which every reader computes alike.
 * Include it after <windows.h> (and <winsock2.h> before that).
 */
#ifndef COLO_SHIMS_WIN32_EDGE_H
#define COLO_SHIMS_WIN32_EDGE_H

#include <bcrypt.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "colo.h"

/* A Win32 error (GetLastError(), or a WSA error) as a COLO_E* code. */
static inline int colo__wedge_code(DWORD e) {
  switch (e) {
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_BAD_NETPATH:
  case ERROR_BAD_NET_NAME:
  case ERROR_PIPE_NOT_CONNECTED:
  case WSAECONNREFUSED:
  case WSAEHOSTUNREACH:
  case WSAENETUNREACH:
    return COLO_ENOENT;
  case ERROR_ACCESS_DENIED:
  case ERROR_PRIVILEGE_NOT_HELD:
  case ERROR_SHARING_VIOLATION:
  case ERROR_LOCK_VIOLATION:
  case ERROR_WRITE_PROTECT:
  case ERROR_NOT_OWNER:
  case WSAEACCES:
    return COLO_EPERM;
  case ERROR_FILE_EXISTS:
  case ERROR_ALREADY_EXISTS:
  case WSAEADDRINUSE:
    return COLO_EEXIST;
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
  case ERROR_COMMITMENT_LIMIT:
  case ERROR_COMMITMENT_MINIMUM:
  case ERROR_PAGEFILE_QUOTA:
  case ERROR_NO_SYSTEM_RESOURCES:
    return COLO_ENOSPC;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case WSAENOBUFS:
    return COLO_ENOMEM;
  case ERROR_PIPE_BUSY:
  case ERROR_IO_PENDING:
  case WSAEWOULDBLOCK:
  case WSAEINPROGRESS:
    return COLO_EAGAIN;
  case ERROR_TIMEOUT:
  case WAIT_TIMEOUT:
  case ERROR_SEM_TIMEOUT:
  case WSAETIMEDOUT:
    return COLO_ETIMEDOUT;
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_PIPE_LISTENING:
  case ERROR_NETNAME_DELETED:
  case WSAECONNRESET:
  case WSAECONNABORTED:
  case WSAESHUTDOWN:
    return COLO_EPEERDEAD;
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
  case ERROR_FILENAME_EXCED_RANGE:
  case ERROR_DIRECTORY:
  case ERROR_INVALID_PARAMETER:
  case WSAEINVAL:
  case WSAEAFNOSUPPORT:
  case WSAEADDRNOTAVAIL:
    return COLO_EINVAL;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
  case WSAEOPNOTSUPP:
  case WSAEPROTONOSUPPORT:
    return COLO_ENOTSUP;
  default:
    return COLO_EIO;
  }
}

/* The system's sentence for e, one line, without its final period. */
static inline void colo__wedge_message(DWORD e, char *msg, size_t cap) {
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e,
                           MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), msg, (DWORD)cap, NULL);
  if (n == 0) n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0, msg,
                                 (DWORD)cap, NULL);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' ' || msg[n - 1] == '.')) n--;
  if (n == 0) n = (DWORD)snprintf(msg, cap, "system error");
  else msg[n] = '\0';
}

/* Monotonic clock, ns: QueryPerformanceCounter (what Windows recommends for
 * intervals; a few ns through the TSC). */
static inline uint64_t colo__wedge_now_ns(void) {
  static _Atomic uint64_t freq;
  uint64_t f = atomic_load_explicit(&freq, memory_order_relaxed);
  if (f == 0) {
    LARGE_INTEGER li;
    QueryPerformanceFrequency(&li); /* never fails since Windows XP */
    f = (uint64_t)li.QuadPart;
    atomic_store_explicit(&freq, f, memory_order_relaxed);
  }
  LARGE_INTEGER li;
  QueryPerformanceCounter(&li);
  uint64_t t = (uint64_t)li.QuadPart;
  /* Split so that t * 1e9 cannot overflow. */
  return t / f * 1000000000u + t % f * 1000000000u / f;
}

/* Sleeps about ns: a high-resolution waitable timer (Windows 10 1803) sleeps
 * close to the time asked, where Sleep() rounds up to the 15.6 ms tick; an
 * older system has the plain timer; failing both, Sleep(). */
static inline void colo__wedge_sleep_ns(uint64_t ns) {
  if (ns == 0) return;
  HANDLE t = CreateWaitableTimerExW(NULL, NULL, 0x00000002 /* CREATE_WAITABLE_TIMER_HIGH_RESOLUTION */,
                                    TIMER_ALL_ACCESS);
  if (!t) t = CreateWaitableTimerExW(NULL, NULL, 0, TIMER_ALL_ACCESS);
  if (t) {
    LARGE_INTEGER due;
    uint64_t units = ns / 100u + (ns % 100u != 0); /* 100 ns units, relative (negative) */
    due.QuadPart = -(LONGLONG)(units > INT64_MAX ? INT64_MAX : units);
    int ok = SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE) && WaitForSingleObject(t, INFINITE) == WAIT_OBJECT_0;
    CloseHandle(t);
    if (ok) return;
  }
  uint64_t ms = ns / 1000000u + (ns % 1000000u != 0);
  Sleep(ms >= INFINITE ? INFINITE - 1 : (DWORD)ms);
}

/* Unpredictable bytes (never fails: falls back to clock mixing). */
static inline void colo__wedge_random(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ULONG n = len > 0x10000000u ? 0x10000000u : (ULONG)len;
    if (BCryptGenRandom(NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) break;
    p += n, len -= n;
  }
  uint64_t x = colo__wedge_now_ns() ^ ((uint64_t)GetCurrentProcessId() << 32) ^ (uintptr_t)buf;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = (unsigned char)x;
  }
}

#endif
