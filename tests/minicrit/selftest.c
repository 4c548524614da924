/*
 * selftest.c - cases for minicrit's own test (check_selftest.cmake), which
 * runs each alone and checks what minicrit reports and how it exits. The
 * crashing cases only crash when asked to (a --filter that names them).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"

static volatile int *volatile nowhere; /* NULL, and the compiler cannot know it */

Test(selftest, passing_case_passes) { cr_assert_eq(1 + 1, 2); }

Test(selftest, failing_case_fails) { cr_assert_eq(1 + 1, 3, "arithmetic is %s", "broken"); }

Test(selftest, skipping_case_skips_with_its_reason) {
  cr_skip_test("the reason %d", 42);
  cr_assert_fail("not reached after the skip");
}

Test(selftest, crashing_case_crashes) { *nowhere = 1; }

Test(selftest, aborting_case_crashes) { abort(); }

static void *fail_on_thread(void *arg) {
  (void)arg;
  cr_assert_eq(2, 3, "on the other thread");
  return NULL;
}

Test(selftest, failing_on_another_thread_fails) {
  tu_thread_t t;
  cr_assert_eq(tu_thread_start(&t, fail_on_thread, NULL), 0);
  tu_thread_join(&t);
}
