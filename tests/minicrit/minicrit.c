/*
 * minicrit.c - the runner behind minicrit's criterion.h. Prints Criterion's
 * synthesis line and exits non-zero when a test failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criterion/criterion.h"

#define MC_MAX 512

static struct {
  const char *suite, *name;
  void (*fn)(void);
  const struct criterion_test_extra_data *extra;
} tests[MC_MAX];
static int ntests;
static jmp_buf escape;
static enum { RUN, FAILED, SKIPPED } outcome;

void mc_register(const char *suite, const char *name, void (*fn)(void),
                 const struct criterion_test_extra_data *extra) {
  if (ntests == MC_MAX) {
    fprintf(stderr, "minicrit: more than %d tests\n", MC_MAX);
    abort();
  }
  tests[ntests].suite = suite, tests[ntests].name = name;
  tests[ntests].fn = fn, tests[ntests].extra = extra;
  ntests++;
}

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
  outcome = FAILED;
  longjmp(escape, 1);
}

void mc_skip(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("[SKIP] ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
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

int main(int argc, char **argv) {
  const char *filter = NULL;
  for (int i = 1; i < argc; i++)
    if (!strncmp(argv[i], "--filter=", 9)) filter = argv[i] + 9;
  int passed = 0, failed = 0, skipped = 0;
  for (int i = 0; i < ntests; i++) {
    char full[256];
    snprintf(full, sizeof full, "%s::%s", tests[i].suite, tests[i].name);
    if (filter && !strstr(full, filter)) continue;
    if (tests[i].extra->disabled) {
      skipped++;
      continue;
    }
    fprintf(stderr, "[RUN ] %s\n", full);
    int result = run_one(i);
    if (result == FAILED) failed++, fprintf(stderr, "[FAIL] %s\n", full);
    else if (result == SKIPPED) skipped++;
    else passed++, fprintf(stderr, "[PASS] %s\n", full);
  }
  fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: 0 | Skipped: %d\n",
          passed + failed, passed, failed, skipped);
  return failed ? 1 : 0;
}
