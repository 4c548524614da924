/*
 * os_base.c - errors, clocks, sleeping, randomness, a shared futex, the stop
 * signals and the standard streams of the colo command on POSIX (see
 * tools/os.h). The command cannot call libcolo's clocks, random and futex
 * (they are internal to the library): both take the system calls from one
 * header, shims/posix/edge.h, so they stay the same.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../shims/posix/edge.h" /* libcolo's own errno table, clocks, random and futex */
#include "posix.h"

/* ---- errors (the detail itself: tools/os_err.c) ------------------------------------------ */

int tos_posix_err(int e, const char *what, const char *obj) {
  int code = colo__edge_errno_code(e);
  if (!obj) return tos_err(code, "%s: %s", what, strerror(e));
  return tos_err(code, "%s %s: %s", what, obj, strerror(e));
}

/* ---- clocks, sleeping, randomness ------------------------------------------------------ */

uint64_t tos_now_ns(void) { return colo__edge_clock_ns(CLOCK_MONOTONIC); }

void tos_sleep_ns(uint64_t ns) { colo__edge_sleep_ns(ns); }

void tos_random(void *buf, size_t len) { colo__edge_random(buf, len); }

/* ---- stopping, and the standard streams ------------------------------------------------ */

static void (*stop_fn)(void);

static void on_signal(int sig) {
  (void)sig;
  stop_fn();
}

void tos_catch_stop(void (*on_stop)(void)) {
  stop_fn = on_stop;
  /* No SA_RESTART: a read of stdin blocked in colo send, or a write to a
   * full stdout in colo recv, returns EINTR. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* A closed terminal: the same clean stop, not a death that leaves the
   * endpoint behind. */
  sigaction(SIGHUP, &sa, NULL);
  /* colo recv | head -1: EPIPE from the write, handled as the end of the
   * output; the library never raises SIGPIPE for its own sockets and FIFOs. */
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
}

long tos_stdin_read(void *buf, size_t cap) { return (long)read(STDIN_FILENO, buf, cap); }

void tos_stdio_binary(void) {}

int tos_stdout_errno(void) { return errno; }

/* ---- the futex ------------------------------------------------------------------------------ */

/* The very calls of libcolo's shims/posix/os_wait.c (shims/posix/edge.h): the
 * probe tests with them whether a channel's block mode can wake across this
 * medium, so they must be the library's system calls. */
int tos_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  return colo__edge_futex_wait(word, expect, timeout_ns);
}

void tos_wake(_Atomic uint32_t *word) { colo__edge_futex_wake(word); }

/* ---- directories ------------------------------------------------------------------------------ */

