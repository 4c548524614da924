/*
 * os_err.c - the detail of the last failing tos_ call, one per thread: the
 * same on every platform (tools/os.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "tools/os.h"

static _Thread_local char last_error[1024];

const char *tos_last_error(void) { return last_error; }

int tos_err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return code;
}
