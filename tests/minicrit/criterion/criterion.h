/*
 * minicrit - the subset of Criterion's API our tests use, with a small
 * in-process runner. It exists because Criterion cannot run under
 * ThreadSanitizer (Snaipe/Criterion#274: "Could not initialize inheritable
 * arena"), and has no mingw build for the Windows tests. Tests are written once
 * against <criterion/criterion.h> and compile against either.
 *
 * Differences: tests run one after another in one process (no fork), in
 * source order; .timeout is ignored (CTest's TIMEOUT bounds the whole
 * binary); a failed assertion ends its test with longjmp (on another thread
 * of the test: the whole run); a crash ends the run, reported as the case's
 * crash (see minicrit.c).
 */
#ifndef MINICRIT_CRITERION_H
#define MINICRIT_CRITERION_H

#include <stdbool.h>
#include <stddef.h>

struct criterion_test_extra_data {
  int sentinel_;
  double timeout;
  bool disabled;
  void (*init)(void);
  void (*fini)(void);
};

void mc_register(const char *suite, const char *name, const char *file, int line, void (*fn)(void),
                 const struct criterion_test_extra_data *extra);
/* mingw-w64 builds with its C99 stdio (__USE_MINGW_ANSI_STDIO), whose
 * formats are gnu_printf's (%zu, %llu), not msvcrt's. */
#if defined(__MINGW32__)
#define MC_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define MC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MC_PRINTF(f, a)
#endif
void mc_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...) MC_PRINTF(5, 6);
void mc_skip(const char *fmt, ...) MC_PRINTF(1, 2);
void mc_log(const char *fmt, ...) MC_PRINTF(1, 2);

#define Test(suite, name, ...)                                                               \
  static void suite##_##name(void);                                                         \
  static const struct criterion_test_extra_data suite##_##name##_extra = {0, __VA_ARGS__}; \
  __attribute__((constructor)) static void suite##_##name##_reg(void) {                     \
    mc_register(#suite, #name, __FILE__, __LINE__, suite##_##name, &suite##_##name##_extra); \
  }                                                                                         \
  static void suite##_##name(void)

#define cr_assert(cond, ...) mc_check(!!(cond), __FILE__, __LINE__, #cond, "" __VA_ARGS__)
#define cr_expect cr_assert
#define cr_assert_not(cond, ...) cr_assert(!(cond), __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) cr_assert(strcmp((a), (b)) != 0, __VA_ARGS__)
#define cr_assert_fail(...) mc_check(0, __FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_fail(...) mc_check(0, __FILE__, __LINE__, "cr_fail", "" __VA_ARGS__)
#define cr_skip_test(...) mc_skip("" __VA_ARGS__)
#define cr_log_info(...) mc_log(__VA_ARGS__)
#define cr_log_warn(...) mc_log(__VA_ARGS__)

#endif
