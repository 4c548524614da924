/*
 * common.c - what the colo command's parts share (see common.h).
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/os.h"

volatile sig_atomic_t cli_stop = 0;

/* Runs in a signal handler (POSIX) or a thread of its own (Windows). */
static void on_stop(void) { cli_stop = 1; }

void cli_catch_stop(void) { tos_catch_stop(on_stop); }

/* "colo CMD: <sentence>: <detail>", the detail from the layer that failed. */
static int fail_with(const char *cmd, int rc, const char *detail) {
  if (cli_stop) {
    fprintf(stderr, "colo %s: interrupted\n", cmd);
    return CLI_INTERRUPTED;
  }
  fprintf(stderr, "colo %s: %s", cmd, colo_strerror(rc));
  if (detail[0]) {
    fputs(": ", stderr);
    cli_term_str(stderr, detail, 0);
  }
  fputc('\n', stderr);
  return CLI_FAIL;
}

int cli_fail(const char *cmd, int rc) { return fail_with(cmd, rc, colo_last_error()); }

int cli_fail_os(const char *cmd, int rc) { return fail_with(cmd, rc, tos_last_error()); }

int cli_fail_detail(const char *cmd, int rc, const char *detail) { return fail_with(cmd, rc, detail); }

int cli_fail_timeout(const char *cmd, const char *what, int timeout_ms) {
  if (cli_stop) return cli_fail(cmd, COLO_ETIMEDOUT);
  fprintf(stderr, "colo %s: timed out: %s within %g s\n", cmd, what, timeout_ms / 1000.0);
  return CLI_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "colo %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry 'colo %s --help'.\n", cmd);
  va_end(ap);
  return CLI_USAGE;
}

int cli_parse_seconds(const char *s, int *ms) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0) || v > 2000000.0) return -1;
  *ms = (int)(v * 1000.0 + 0.5);
  return 0;
}

int cli_parse_uint(const char *s, uint64_t *out) {
  char *end;
  if (!s[0] || s[0] == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

int cli_parse_size(const char *s, uint64_t *out) {
  char *end;
  if (!s[0] || s[0] == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return -1;
  unsigned shift = 0;
  switch (*end) {
  case 0: break;
  case 'k': case 'K': shift = 10; break;
  case 'm': case 'M': shift = 20; break;
  case 'g': case 'G': shift = 30; break;
  default: return -1;
  }
  if (*end && end[1] && !((end[1] == 'i' || end[1] == 'B') && (!end[2] || (end[1] == 'i' && end[2] == 'B' && !end[3]))))
    return -1;
  if (v > (UINT64_MAX >> shift)) return -1;
  *out = (uint64_t)v << shift;
  return 0;
}

int cli_parse_wait_mode(const char *s, colo_wait_mode_t *mode) {
  if (!strcmp(s, "hybrid")) *mode = COLO_WAIT_HYBRID;
  else if (!strcmp(s, "spin")) *mode = COLO_WAIT_SPIN;
  else if (!strcmp(s, "block")) *mode = COLO_WAIT_BLOCK;
  else return -1;
  return 0;
}

void cli_human_size(uint64_t n, char *buf, size_t cap) {
  static const char units[] = "BKMGTP";
  double v = (double)n;
  int u = 0;
  while (v >= 1024.0 && u < 5) v /= 1024.0, u++;
  if (u == 0) snprintf(buf, cap, "%lluB", (unsigned long long)n);
  else snprintf(buf, cap, "%.1f%c", v, units[u]);
}

const char *cli_kv(const char *line, const char *key) {
  size_t k = strlen(key);
  for (const char *p = line; (p = strstr(p, key)); p += k)
    if ((p == line || p[-1] == ' ') && p[k] == '=') return p + k + 1;
  return NULL;
}

/* The length of the well-formed UTF-8 sequence at p (Unicode's table 3-7:
 * no overlong forms, no surrogates, nothing past U+10FFFF), its code point in
 * *cp; 0 when p does not start one. The string's NUL ends any sequence. */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp) {
  unsigned char b = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
  if (b >= 0xc2 && b <= 0xdf) n = 2, *cp = b & 0x1fu;
  else if (b >= 0xe0 && b <= 0xef) {
    n = 3, *cp = b & 0x0fu;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4, *cp = b & 0x07u;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else
    return 0;
  for (size_t i = 1; i < n; i++) {
    unsigned char c = p[i];
    if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xbf)) return 0;
    *cp = (*cp << 6) | (c & 0x3fu);
  }
  return n;
}

void cli_json_str(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  fputc('"', f);
  while (*p) {
    unsigned char ch = *p;
    if (ch < 0x80) {
      if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
      else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\u%04x", ch);
      else fputc(ch, f);
      p++;
      continue;
    }
    uint32_t cp;
    size_t n = utf8_seq(p, &cp);
    if (n == 0) {
      fputs("\\ufffd", f);
      p++;
    } else {
      if (cp <= 0x9f) fprintf(f, "\\u%04x", (unsigned)cp); /* C1 controls */
      else fwrite(p, 1, n, f);
      p += n;
    }
  }
  fputc('"', f);
}

int cli_term_str(FILE *f, const char *s, int width) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    /* Every backslash doubled, so that \xNN always means an escaped byte
     * (a Windows path prints as C:\\dir\\seg). */
    if (*p == '\\') fputs("\\\\", f), cols += 2;
    else if (*p < 0x20 || *p > 0x7e) fprintf(f, "\\x%02x", *p), cols += 4;
    else fputc(*p, f), cols++;
  }
  for (int i = cols; i < width; i++) fputc(' ', f);
  return cols;
}

/* ---- figures ------------------------------------------------------------------------- */

void bench_fmt_ns(double ns, char *buf, size_t cap) {
  if (ns < 1000) snprintf(buf, cap, "%.0f ns", ns);
  else if (ns < 10e3) snprintf(buf, cap, "%.2f µs", ns / 1e3);
  else if (ns < 1e6) snprintf(buf, cap, "%.1f µs", ns / 1e3);
  else if (ns < 1e9) snprintf(buf, cap, "%.2f ms", ns / 1e6);
  else snprintf(buf, cap, "%.2f s", ns / 1e9);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void bench_sort_u64(uint64_t *v, uint64_t n) { qsort(v, (size_t)n, sizeof *v, cmp_u64); }

uint64_t bench_pct(const uint64_t *s, uint64_t n, double q) {
  uint64_t k = (uint64_t)(q * (double)n + 0.999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return s[k - 1];
}
