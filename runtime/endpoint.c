/*
 * endpoint.c - endpoint strings (colo.h, colo_listen()): the grammar of each
 * kind of endpoint; the schemes come from the transport table, and whether a
 * path suits this system is the shim's question (colo__os_path_check).
 */
#include <stdio.h>
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"

static int name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

/* tcp://HOST:PORT, HOST a name, a dotted IPv4 address or [IPv6]. */
static int parse_tcp(const char *s, const char *h, colo__endpoint_t *ep) {
  const char *colon;
  size_t hlen;
  if (*h == '[') {
    const char *end = strchr(h, ']');
    if (!end || end[1] != ':') return colo__err(COLO_EINVAL, "%s: expected tcp://[IPv6]:PORT", s);
    h++;
    hlen = (size_t)(end - h);
    colon = end + 1;
  } else {
    colon = strrchr(h, ':');
    if (!colon) return colo__err(COLO_EINVAL, "%s: expected tcp://HOST:PORT", s);
    hlen = (size_t)(colon - h);
    if (memchr(h, ':', hlen)) return colo__err(COLO_EINVAL, "%s: an IPv6 address goes in brackets: tcp://[::1]:PORT", s);
  }
  if (hlen == 0 || hlen > 255) return colo__err(COLO_EINVAL, "%s: the host has 1 to 255 characters", s);
  for (size_t i = 0; i < hlen; i++) {
    char c = h[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
          c == ':' || c == '%' || c == '_'))
      return colo__err(COLO_EINVAL, "%s: bad character in the host", s);
  }
  const char *p = colon + 1;
  unsigned long port = 0;
  if (!*p) return colo__err(COLO_EINVAL, "%s: the port is missing", s);
  for (; *p; p++) {
    if (*p < '0' || *p > '9' || port > 65535) return colo__err(COLO_EINVAL, "%s: the port is 0 to 65535", s);
    port = port * 10 + (unsigned long)(*p - '0');
  }
  if (port > 65535) return colo__err(COLO_EINVAL, "%s: the port is 0 to 65535", s);
  ep->kind = COLO__EP_TCP;
  memcpy(ep->name, h, hlen);
  ep->name[hlen] = '\0';
  ep->port = (uint16_t)port;
  return 0;
}

int colo__endpoint_parse(const char *s, colo__endpoint_t *ep) {
  if (!s) return colo__err(COLO_EINVAL, "endpoint is NULL");
  memset(ep, 0, sizeof *ep);
  const char *rest;
  const colo__transport_t *t = colo__transport_by_scheme(s, &rest);
  if (!t) {
    const char *sep = strstr(s, "://");
    char known[128];
    if (sep)
      return colo__err(COLO_EINVAL, "%s: unknown transport '%.*s' (this build knows %s)", s, (int)(sep - s), s,
                       colo__transport_schemes(known, sizeof known));
    return colo__err(COLO_EINVAL, "%s: not an endpoint (expected colo:///PATH, shm://NAME, file:///PATH, "
                     "unix:///PATH, pipe:///PATH or tcp://HOST:PORT)", s);
  }
  if (t->kind == COLO__EP_TCP) return parse_tcp(s, rest, ep);
  size_t len = strlen(rest);
  if (t->kind == COLO__EP_SHM) {
    if (len == 0 || len > COLO__NAME_MAX)
      return colo__err(COLO_EINVAL, "%s: a shm:// name has 1 to %d characters", s, COLO__NAME_MAX);
    if (rest[0] == '.') return colo__err(COLO_EINVAL, "%s: a shm:// name must not start with '.'", s);
    for (size_t i = 0; i < len; i++)
      if (!name_char_ok(rest[i]))
        return colo__err(COLO_EINVAL, "%s: a shm:// name may hold only letters, digits, '.', '_' and '-'", s);
  } else {
    /* A path: what this system accepts is the shim's to say. */
    int rc = colo__os_path_check(t->kind, rest);
    if (rc) {
      colo__err_prefix(s);
      return rc;
    }
  }
  ep->kind = t->kind;
  memcpy(ep->name, rest, len + 1);
  return 0;
}

void colo__endpoint_format(const colo__endpoint_t *ep, char *buf, size_t cap) {
  const char *scheme = colo__transport_of(ep->kind)->name;
  if (ep->kind == COLO__EP_TCP)
    snprintf(buf, cap, strchr(ep->name, ':') ? "%s://[%s]:%u" : "%s://%s:%u", scheme, ep->name, (unsigned)ep->port);
  else
    snprintf(buf, cap, "%s://%s", scheme, ep->name);
}
