/*
 * minicrit.c - the runner behind minicrit's criterion.h.
 *
 * All cases run one after another in this one process, in source order
 * (file, then line: constructors run in reverse on mingw). Each ends as
 * Criterion would report it: [PASS], [FAIL] (an assertion failed), [SKIP]
 * with its reason (not tested, not passing), or [CRASH]. Then Criterion's
 * synthesis line, and the exit code: 0 only when nothing failed or crashed.
 *
 * A crash (a fault, an abort) ends the whole run, since the process it
 * happened in is this one: the handler names the case and the signal or
 * exception code, prints the synthesis with that case as crashing and says
 * how many cases did not run, then ends the process with MC_CRASH_EXIT
 * (Windows: TerminateProcess, because a crashing program under Wine has
 * been seen to exit 0). An assertion failing on a thread other than the
 * runner's cannot unwind that thread: it is reported as the case's failure
 * and the run ends there, likewise.
 */
#ifndef _WIN32
#define _XOPEN_SOURCE 700 /* sigaction, SA_RESETHAND */
#endif
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "criterion/criterion.h"

#define MC_MAX 512
/* The exit code of a run that crashed: fixed, non-zero, and unlike 1 (a
 * failure) or what a signal gives a shell (128 + n). */
#define MC_CRASH_EXIT 70

static struct mc_test {
  const char *suite, *name, *file;
  int line, order, rank;
  void (*fn)(void);
  const struct criterion_test_extra_data *extra;
} tests[MC_MAX];
static int ntests;
static jmp_buf escape;
static enum { RUN, FAILED, SKIPPED } outcome;
static _Thread_local int on_runner; /* set on the thread that runs the cases */

/* The run so far, for the crash handler too. */
static char current[256];
static volatile int passed, failed, skipped, started, selected;

void mc_register(const char *suite, const char *name, const char *file, int line, void (*fn)(void),
                 const struct criterion_test_extra_data *extra) {
  if (ntests == MC_MAX) {
    fprintf(stderr, "minicrit: more than %d tests\n", MC_MAX);
    abort();
  }
  struct mc_test *t = &tests[ntests++];
  t->suite = suite, t->name = name, t->file = file, t->line = line;
  t->fn = fn, t->extra = extra;
}

static int by_place(const void *a, const void *b) {
  const struct mc_test *x = a, *y = b;
  int c = strcmp(x->file, y->file);
  return c ? c : x->line - y->line;
}

static int by_suite(const void *a, const void *b) {
  const struct mc_test *x = a, *y = b;
  return x->rank != y->rank ? x->rank - y->rank : x->order - y->order;
}

/* Criterion's synthesis: skipped cases are not tested. */
static void synthesis(int crashing) {
  fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d \n",
          passed + failed + crashing, passed, failed, crashing);
  if (skipped) fprintf(stderr, "[====] minicrit: %d skipped\n", skipped);
}

static void end_run(int code) {
  fflush(stderr);
#ifdef _WIN32
  TerminateProcess(GetCurrentProcess(), (UINT)code);
#endif
  _Exit(code);
}

/* ---- crashes -------------------------------------------------------------------------- */

/* Reports the crash of the current case and ends the run. From a signal or
 * exception handler: only formatting into a local buffer and one write. */
static void crashed(const char *what, unsigned long code) {
  char msg[512];
  int n = snprintf(msg, sizeof msg,
                   "[----] %s: CRASH: %s 0x%08lx\n[CRASH] %s\n"
                   "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: 1 \n"
                   "[====] minicrit: the run ended with the crash; %d selected case(s) did not run\n",
                   current, what, code, current, passed + failed + 1, passed, failed, selected - started);
  if (n > (int)sizeof msg - 1) n = (int)sizeof msg - 1;
#ifdef _WIN32
  DWORD put;
  WriteFile(GetStdHandle(STD_ERROR_HANDLE), msg, (DWORD)n, &put, NULL);
#else
  if (write(2, msg, (size_t)n) < 0) { /* nothing more to do */
  }
#endif
  end_run(MC_CRASH_EXIT);
}

static void on_signal(int sig) { crashed("signal", (unsigned long)sig); }

#ifdef _WIN32
static LONG WINAPI on_exception(EXCEPTION_POINTERS *e) {
  crashed("exception", e && e->ExceptionRecord ? (unsigned long)e->ExceptionRecord->ExceptionCode : 0ul);
  return EXCEPTION_EXECUTE_HANDLER;
}

static void catch_crashes(void) {
  /* No error dialog (Wine's winedbg, Windows Error Reporting): the report
   * is ours. */
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
  SetUnhandledExceptionFilter(on_exception);
  signal(SIGABRT, on_signal); /* abort() and assert() go through the C runtime's raise */
}
#else
/* Only where nothing else handles the signal: a sanitizer's handler reports
 * better, and the posix shim's SIGBUS handler chains to what was before. */
static void catch_crashes(void) {
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old, sa;
    if (sigaction(sigs[i], NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}
#endif

/* ---- what the tests call -------------------------------------------------------------- */

void mc_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...) {
  if (ok) return;
  fprintf(stderr, "[----] %s:%d: Assertion failed: %s", file, line, expr);
  if (fmt && fmt[0]) {
    va_list ap;
    va_start(ap, fmt);
    fputs(": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
  }
  fputc('\n', stderr);
  if (!on_runner) {
    /* Another thread of the case: its stack cannot be unwound to the runner's. */
    failed++;
    fprintf(stderr, "[FAIL] %s (on another thread: the run ends here; %d selected case(s) did not run)\n", current,
            selected - started);
    synthesis(0);
    end_run(1);
  }
  outcome = FAILED;
  longjmp(escape, 1);
}

void mc_skip(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[SKIP] %s: ", current);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  if (!on_runner) {
    fprintf(stderr, "minicrit: cr_skip_test on another thread of %s\n", current);
    abort();
  }
  outcome = SKIPPED;
  longjmp(escape, 1);
}

void mc_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("[----] ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- the run -------------------------------------------------------------------------- */

/* One test, with the setjmp in a frame of its own so that main's counters
 * are not live across the longjmp. */
static int run_one(int i) {
  outcome = RUN;
  if (setjmp(escape) == 0) {
    if (tests[i].extra->init) tests[i].extra->init();
    tests[i].fn();
  }
  if (tests[i].extra->fini) tests[i].extra->fini();
  return outcome;
}

static int wanted(int i, const char *filter, char *full, size_t cap) {
  snprintf(full, cap, "%s::%s", tests[i].suite, tests[i].name);
  return !filter || strstr(full, filter);
}

/* As Criterion's --list: "suite: N tests" and a tree of names. */
static void list(const char *filter) {
  char full[256];
  for (int i = 0; i < ntests;) {
    int j = i, n = 0;
    while (j < ntests && !strcmp(tests[j].suite, tests[i].suite)) n += wanted(j++, filter, full, sizeof full);
    if (n) printf("%s: %d test%s\n", tests[i].suite, n, n == 1 ? "" : "s");
    for (int k = i, shown = 0; k < j; k++)
      if (wanted(k, filter, full, sizeof full))
        printf("%s %s\n", ++shown == n ? "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80" : "\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80",
               tests[k].name);
    i = j;
  }
}

int main(int argc, char **argv) {
  const char *filter = NULL;
  int listing = 0;
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "--filter=", 9)) filter = argv[i] + 9;
    else if (!strcmp(argv[i], "--list")) listing = 1;
    /* --verbose, --jobs N: what Criterion's command lines pass; ignored. */
  }
  /* Suites in the order of their first case, cases in source order. */
  qsort(tests, (size_t)ntests, sizeof tests[0], by_place);
  for (int i = 0; i < ntests; i++) {
    tests[i].order = i;
    tests[i].rank = i;
    for (int j = 0; j < i; j++)
      if (!strcmp(tests[j].suite, tests[i].suite)) {
        tests[i].rank = tests[j].rank;
        break;
      }
  }
  qsort(tests, (size_t)ntests, sizeof tests[0], by_suite);
  if (listing) {
    list(filter);
    return 0;
  }
  on_runner = 1;
  catch_crashes();
  char full[256];
  for (int i = 0; i < ntests; i++) selected += wanted(i, filter, full, sizeof full);
  for (int i = 0; i < ntests; i++) {
    if (!wanted(i, filter, full, sizeof full)) continue;
    snprintf(current, sizeof current, "%s", full);
    started++;
    if (tests[i].extra->disabled) {
      fprintf(stderr, "[SKIP] %s: test is disabled\n", full);
      skipped++;
      continue;
    }
    fprintf(stderr, "[RUN ] %s\n", full);
    int result = run_one(i);
    if (result == FAILED) failed++, fprintf(stderr, "[FAIL] %s\n", full);
    else if (result == SKIPPED) skipped++;
    else passed++, fprintf(stderr, "[PASS] %s\n", full);
  }
  synthesis(0);
  return failed ? 1 : 0;
}
