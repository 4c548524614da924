/*
 * internal.h - helpers shared by the runtime's files (colo__ prefix).
 */
#ifndef COLO_RUNTIME_INTERNAL_H
#define COLO_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "colo.h"

#if defined(__GNUC__)
#  define COLO__PRINTF(f, a) __attribute__((format(printf, f, a)))
#  define COLO__LIKELY(x) __builtin_expect(!!(x), 1)
#  define COLO__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define COLO__PRINTF(f, a)
#  define COLO__LIKELY(x) (x)
#  define COLO__UNLIKELY(x) (x)
#endif

/* Records the detail of a failure for colo_last_error() and returns code. */
int colo__err(int code, const char *fmt, ...) COLO__PRINTF(2, 3);
/* Prefixes the current detail with "prefix: " (adds context on the way up). */
void colo__err_prefix(const char *prefix);

/* The runtime's own heap (mimalloc when built with it). */
void *colo__malloc(size_t n);
void *colo__calloc(size_t count, size_t n);
void colo__free(void *p);
char *colo__strdup(const char *s);

/* XXH3 64-bit, seed 0. */
uint64_t colo__hash64(const void *p, size_t n);

/* Endpoints. */
typedef enum colo__ep_kind {
  COLO__EP_SHM = 1,  /* shm://NAME */
  COLO__EP_FILE = 2, /* file:///PATH */
  COLO__EP_UNIX = 3, /* unix:///PATH */
  COLO__EP_TCP = 4,  /* tcp://HOST:PORT */
  COLO__EP_PIPE = 5, /* pipe:///PATH */
  COLO__EP_COLO = 6  /* colo:///PATH: a rendezvous unix socket (runtime/rdv.c) */
} colo__ep_kind_t;
#define COLO__NAME_MAX 200
#define COLO__PATH_MAX 4000
#define COLO__UNIX_PATH_MAX 107 /* sun_path holds 108 bytes with the terminator */
/* The largest object the library maps (a segment: layout.h checks it). */
#define COLO__OBJECT_MAX ((uint64_t)3 << 30)
typedef struct colo__endpoint {
  colo__ep_kind_t kind;
  char name[COLO__PATH_MAX + 1]; /* shm: NAME; file, unix, pipe: absolute PATH; tcp: HOST */
  uint16_t port;                 /* tcp */
} colo__endpoint_t;

/* Parses an endpoint string. @return 0, COLO_EINVAL (malformed) or
 * COLO_ENOTSUP (a transport this version lacks), with detail. */
int colo__endpoint_parse(const char *s, colo__endpoint_t *ep);
/* Writes the canonical endpoint string. */
void colo__endpoint_format(const colo__endpoint_t *ep, char *buf, size_t cap);

/* Adds the endpoint to the detail of an error from below, once. */
int colo__with_endpoint(int rc, const char *endpoint);
/* The detail of the last failure without its "endpoint: " prefix (for a
 * reader that already knows the endpoint). */
const char *colo__err_detail(const char *endpoint);

/* Sleeps before a connector's next attempt: backoff from 1 ms doubling to
 * 20 ms (start *backoff_ns at 1 ms), never past the deadline. */
void colo__connect_backoff(uint64_t *backoff_ns, uint64_t deadline);

/* Milliseconds timeout to an absolute deadline on colo__os_now_ns(); UINT64_MAX
 * for COLO_FOREVER (any negative value). */
uint64_t colo__deadline(int timeout_ms);
/* Nanoseconds left until deadline: 0 once passed, UINT64_MAX for none. */
uint64_t colo__remaining_ns(uint64_t deadline);

#endif
