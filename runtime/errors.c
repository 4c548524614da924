/*
 * errors.c - error sentences, names, and the per-thread failure detail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char last_detail[8192]; /* room for a 4000-byte path and the reason after it */

const char *colo_strerror(int err) {
  switch (err) {
  case 0: return "success";
#define COLO__XX(name, value, msg) case COLO_##name: return msg;
    COLO_ERRNO_MAP(COLO__XX)
#undef COLO__XX
  default: return "unknown error";
  }
}

const char *colo_errname(int err) {
  switch (err) {
  case 0: return "COLO_OK";
#define COLO__XX(name, value, msg) case COLO_##name: return "COLO_" #name;
    COLO_ERRNO_MAP(COLO__XX)
#undef COLO__XX
  default: return "COLO_EUNKNOWN";
  }
}

const char *colo_last_error(void) { return last_detail; }

const char *colo_version(void) { return COLO_VERSION_STRING; }

int colo__err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_detail, sizeof last_detail, fmt, ap);
  va_end(ap);
  return code;
}

void colo__err_prefix(const char *prefix) {
  /* Shift the detail right and put the prefix in front, truncating the end. */
  size_t plen = strlen(prefix) + 2, cap = sizeof last_detail - 1;
  if (plen >= cap) plen = cap;
  size_t dlen = strlen(last_detail);
  if (dlen > cap - plen) dlen = cap - plen;
  memmove(last_detail + plen, last_detail, dlen);
  last_detail[plen + dlen] = '\0';
  memcpy(last_detail, prefix, plen - 2);
  memcpy(last_detail + plen - 2, ": ", 2);
}

int colo__err_nomem(void) { return colo__err(COLO_ENOMEM, "out of memory"); }

int colo__with_endpoint(int rc, const char *endpoint) {
  if (rc && rc != COLO_EAGAIN && endpoint && strncmp(colo_last_error(), endpoint, strlen(endpoint)) != 0)
    colo__err_prefix(endpoint);
  return rc;
}

const char *colo__err_detail(const char *endpoint) {
  const char *e = colo_last_error();
  size_t n = strlen(endpoint);
  return strncmp(e, endpoint, n) == 0 && e[n] == ':' && e[n + 1] == ' ' ? e + n + 2 : e;
}

int colo__err_gone(const char *endpoint, int code) {
  if (code == COLO_ECLOSED) return colo__err(code, "%s: the other side closed it", endpoint);
  return colo__err(COLO_EPEERDEAD, "%s: the other side exited or was killed without closing the channel", endpoint);
}
