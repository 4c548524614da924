/*
 * endpoint.c - endpoint strings: "shm://NAME" and "file:///PATH".
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

int colo__endpoint_parse(const char *s, colo__endpoint_t *ep) {
  if (!s) return colo__err(COLO_EINVAL, "endpoint is NULL");
  memset(ep, 0, sizeof *ep);
  if (strncmp(s, "shm://", 6) == 0) {
    const char *n = s + 6;
    size_t len = strlen(n);
    if (len == 0 || len > COLO__NAME_MAX)
      return colo__err(COLO_EINVAL, "%s: a shm:// name has 1 to %d characters", s, COLO__NAME_MAX);
    if (n[0] == '.')
      return colo__err(COLO_EINVAL, "%s: a shm:// name must not start with '.'", s);
    for (size_t i = 0; i < len; i++)
      if (!name_char_ok(n[i]))
        return colo__err(COLO_EINVAL, "%s: a shm:// name may hold only letters, digits, '.', '_' and '-'",
                         s);
    ep->kind = COLO__EP_SHM;
    memcpy(ep->name, n, len + 1);
    return 0;
  }
  if (strncmp(s, "file://", 7) == 0) {
    const char *p = s + 7;
    size_t len = strlen(p);
    if (p[0] != '/')
      return colo__err(COLO_EINVAL, "%s: a file:// endpoint needs an absolute path (file:///dir/seg)", s);
    if (len > COLO__PATH_MAX) return colo__err(COLO_EINVAL, "%s: path too long", s);
    if (p[len - 1] == '/') return colo__err(COLO_EINVAL, "%s: the path names a directory", s);
    ep->kind = COLO__EP_FILE;
    memcpy(ep->name, p, len + 1);
    return 0;
  }
  static const char *const later[] = {"unix://", "pipe://", "tcp://", "colo://"};
  for (size_t i = 0; i < sizeof later / sizeof *later; i++)
    if (strncmp(s, later[i], strlen(later[i])) == 0)
      return colo__err(COLO_ENOTSUP, "%s: the %.*s transport is not in this version of colo (it knows shm:// and file://)",
                       s, (int)(strlen(later[i]) - 3), later[i]);
  const char *sep = strstr(s, "://");
  if (sep)
    return colo__err(COLO_EINVAL, "%s: unknown transport '%.*s' (this build knows shm:// and file://)", s,
                     (int)(sep - s), s);
  return colo__err(COLO_EINVAL, "%s: not an endpoint (expected shm://NAME or file:///PATH)", s);
}

void colo__endpoint_format(const colo__endpoint_t *ep, char *buf, size_t cap) {
  snprintf(buf, cap, "%s%s", ep->kind == COLO__EP_SHM ? "shm://" : "file://", ep->name);
}
