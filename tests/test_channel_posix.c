/*
 * test_channel_posix.c - the channel cases that drive POSIX directly: SIGBUS
 * (a segment truncated under the channel, handlers installed before colo's,
 * a fault that is not colo's, fork). Windows has no signals: a file cut
 * short under a view is its vectored exception handler's (docs/windows.md),
 * and a section cannot shrink.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_channel.h"

/* ---- SIGBUS: a truncated segment, and faults that are not colo's (issue 12) ---- */

/* A foreign mapping: a file of ours, mapped, then truncated under it. */
static volatile uint8_t *foreign_map(int *fd) {
  char path[] = "/tmp/colo-test-foreign.XXXXXX";
  *fd = mkstemp(path);
  cr_assert_geq(*fd, 0);
  unlink(path);
  cr_assert_eq(ftruncate(*fd, 4096), 0);
  void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
  cr_assert_neq(m, MAP_FAILED);
  cr_assert_eq(ftruncate(*fd, 0), 0);
  return m;
}

static volatile void *app_fault_addr;
static volatile int app_calls, app_repaired;

/* The application's own handler, installed before colo's: it repairs its
 * own mapping (a zero page), as a program that owns SIGBUS would. */
static void app_handler(int sig, siginfo_t *si, void *ctx) {
  (void)sig, (void)ctx;
  app_calls++;
  if (colo_sigbus_repair(si->si_addr)) {
    app_repaired++;
    return;
  }
  app_fault_addr = si->si_addr;
  mmap((void *)((uintptr_t)si->si_addr & ~(uintptr_t)4095), 4096, PROT_READ | PROT_WRITE,
       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void install_app_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = app_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);
}

static void truncate_segment(const char *ep) {
  char path[600];
  cr_assert_eq(truncate(tu_shm_path(ep, path, sizeof path), 0), 0);
}

Test(sigbus, a_fault_outside_colo_reaches_the_handler_installed_before) {
  install_app_handler();
  pair_t p;
  pair_open(&p, "chain", NULL); /* installs colo's handler, chained to the application's */
  struct sigaction cur;
  sigaction(SIGBUS, NULL, &cur);
  cr_assert(cur.sa_sigaction != app_handler, "colo's handler is in front");
  int fd;
  volatile uint8_t *m = foreign_map(&fd);
  m[10] = 1; /* not colo's: colo passes it on */
  cr_assert_eq(app_calls, 1);
  cr_assert_eq(app_fault_addr, (void *)(m + 10));
  cr_assert_eq(colo_send(p.cli, "x", 1, 0), 0, "the channel was not touched");
  truncate_segment(p.ep);
  cr_assert_eq(colo_send(p.cli, "y", 1, 0), COLO_ECORRUPT, "colo's own fault, handled by colo");
  cr_assert_eq(app_calls, 1, "and not passed on");
  pair_close(&p);
  close(fd);
}

Test(sigbus, without_a_handler_before_colo_a_foreign_fault_still_kills) {
  pid_t pid = fork();
  if (pid == 0) {
    pair_t p;
    pair_open(&p, "dfl", NULL);
    int fd;
    volatile uint8_t *m = foreign_map(&fd);
    m[0] = 1;
    _exit(0);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer's own SIGBUS handler was there before colo's: it got
   * the fault, reported it and failed the process, as without colo. */
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "the handler before colo's ended it (status %x)", st);
#else
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "died of SIGBUS as it would without colo (status %x)", st);
#endif
}

Test(sigbus, an_application_that_owns_sigbus_repairs_through_colo_sigbus_repair) {
  install_app_handler();
  colo_opts_t o;
  colo_opts_init(&o);
  o.handle_sigbus = 0;
  pair_t p;
  pair_open(&p, "owned", &o);
  struct sigaction cur;
  sigaction(SIGBUS, NULL, &cur);
  cr_assert(cur.sa_sigaction == app_handler, "colo installed nothing");
  cr_assert_eq(colo_send(p.cli, "x", 1, 0), 0);
  truncate_segment(p.ep);
  cr_assert_eq(colo_send(p.cli, "y", 1, 0), COLO_ECORRUPT, "%s", colo_last_error());
  cr_assert_geq(app_repaired, 1, "the application's handler repaired it with colo_sigbus_repair");
  char buf[4];
  size_t n;
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, 0), COLO_ECORRUPT);
  cr_assert_eq(colo_sigbus_repair((void *)&n), 0, "an address outside colo's mappings is not colo's");
  pair_close(&p);
}

Test(sigbus, a_sent_sigbus_that_was_ignored_stays_ignored) {
  signal(SIGBUS, SIG_IGN);
  pair_t p;
  pair_open(&p, "ign", NULL); /* colo's handler goes in front of SIG_IGN */
  raise(SIGBUS);
  kill(getpid(), SIGBUS);
  cr_assert_eq(colo_send(p.cli, "x", 1, 0), 0, "still here, and the channel too");
  pair_close(&p);
}
