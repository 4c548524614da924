/*
 * endpoint.c - endpoint strings (colo.h, colo_listen()).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

/* tcp://HOST:PORT, HOST a name, a dotted IPv4 address or [IPv6]. */
static int parse_tcp(const char *s, colo__endpoint_t *ep) {
  const char *h = s + 6, *colon;
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
  int colo = strncmp(s, "colo://", 7) == 0;
  if (colo || strncmp(s, "unix://", 7) == 0) {
    const char *p = s + 7, *scheme = colo ? "colo" : "unix";
    size_t len = strlen(p);
    if (p[0] != '/')
      return colo__err(COLO_EINVAL, "%s: a %s:// endpoint needs an absolute path (%s:///dir/sock)", s, scheme, scheme);
    if (len > COLO__UNIX_PATH_MAX)
      return colo__err(COLO_EINVAL, "%s: a socket path has at most %d bytes", s, COLO__UNIX_PATH_MAX);
    if (p[len - 1] == '/') return colo__err(COLO_EINVAL, "%s: the path names a directory", s);
    ep->kind = colo ? COLO__EP_COLO : COLO__EP_UNIX;
    memcpy(ep->name, p, len + 1);
    return 0;
  }
  if (strncmp(s, "tcp://", 6) == 0) return parse_tcp(s, ep);
  if (strncmp(s, "pipe://", 7) == 0) {
    const char *p = s + 7;
    size_t len = strlen(p);
    if (p[0] != '/')
      return colo__err(COLO_EINVAL, "%s: a pipe:// endpoint needs an absolute path (pipe:///dir/name)", s);
    if (len > COLO__PATH_MAX - 32) return colo__err(COLO_EINVAL, "%s: path too long", s);
    if (p[len - 1] == '/') return colo__err(COLO_EINVAL, "%s: the path names a directory", s);
    ep->kind = COLO__EP_PIPE;
    memcpy(ep->name, p, len + 1);
    return 0;
  }
  const char *sep = strstr(s, "://");
  if (sep)
    return colo__err(COLO_EINVAL, "%s: unknown transport '%.*s' (this build knows colo://, shm://, file://, unix://, pipe:// and tcp://)", s,
                     (int)(sep - s), s);
  return colo__err(COLO_EINVAL, "%s: not an endpoint (expected colo:///PATH, shm://NAME, file:///PATH, unix:///PATH, pipe:///PATH or tcp://HOST:PORT)", s);
}

void colo__endpoint_format(const colo__endpoint_t *ep, char *buf, size_t cap) {
  switch (ep->kind) {
  case COLO__EP_SHM: snprintf(buf, cap, "shm://%s", ep->name); break;
  case COLO__EP_FILE: snprintf(buf, cap, "file://%s", ep->name); break;
  case COLO__EP_UNIX: snprintf(buf, cap, "unix://%s", ep->name); break;
  case COLO__EP_PIPE: snprintf(buf, cap, "pipe://%s", ep->name); break;
  case COLO__EP_COLO: snprintf(buf, cap, "colo://%s", ep->name); break;
  case COLO__EP_TCP:
    snprintf(buf, cap, strchr(ep->name, ':') ? "tcp://[%s]:%u" : "tcp://%s:%u", ep->name, (unsigned)ep->port);
    break;
  }
}
