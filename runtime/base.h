/*
 * base.h - the vocabulary the portable core and the OS shims share (colo__
 * prefix): error details, the runtime's heap, hashing, endpoints and their
 * limits, and every timing constant of the library in one block.
 *
 * shims/shim.h includes this and nothing else of runtime/ (but atomics.h):
 * what only the core uses (deadlines, retrying, the transport table) is in
 * internal.h and chan.h, above the shim.
 */
#ifndef COLO_RUNTIME_BASE_H
#define COLO_RUNTIME_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "colo.h"

#if defined(COLO_PRINTF_ARCHETYPE)
/* A toolchain whose "printf" is not C99's (mingw-w64's is msvcrt's: CMake
 * builds with its C99 stdio and names gnu_printf here). */
#  define COLO__PRINTF(f, a) __attribute__((format(COLO_PRINTF_ARCHETYPE, f, a)))
#elif defined(__GNUC__)
#  define COLO__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define COLO__PRINTF(f, a)
#endif
#if defined(__GNUC__)
#  define COLO__LIKELY(x) __builtin_expect(!!(x), 1)
#  define COLO__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define COLO__LIKELY(x) (x)
#  define COLO__UNLIKELY(x) (x)
#endif

/* Records the detail of a failure for colo_last_error() and returns code. */
int colo__err(int code, const char *fmt, ...) COLO__PRINTF(2, 3);
/* Prefixes the current detail with "prefix: " (adds context on the way up). */
void colo__err_prefix(const char *prefix);
/* COLO_ENOMEM with its one sentence. */
int colo__err_nomem(void);
/* The peer's end, in the one sentence each: COLO_ECLOSED ("the other side
 * closed it") or COLO_EPEERDEAD ("... exited or was killed without closing
 * the channel"). */
int colo__err_gone(const char *endpoint, int code);

/* The runtime's own heap (mimalloc when built with it). */
void *colo__malloc(size_t n);
void *colo__calloc(size_t count, size_t n);
void colo__free(void *p);
char *colo__strdup(const char *s);

/* XXH3 64-bit, seed 0. */
uint64_t colo__hash64(const void *p, size_t n);

/* ---- endpoints ---------------------------------------------------------------------- */

typedef enum colo__ep_kind {
  COLO__EP_SHM = 1,  /* shm://NAME */
  COLO__EP_FILE = 2, /* file:///PATH */
  COLO__EP_UNIX = 3, /* unix:///PATH */
  COLO__EP_TCP = 4,  /* tcp://HOST:PORT */
  COLO__EP_PIPE = 5, /* pipe:///PATH */
  COLO__EP_COLO = 6  /* colo:///PATH: a rendezvous socket (runtime/rdv.c) */
} colo__ep_kind_t;
#define COLO__NAME_MAX 200
#define COLO__PATH_MAX 4000
/* The largest object the library maps (a segment: layout.h checks it). */
#define COLO__OBJECT_MAX ((uint64_t)3 << 30)
typedef struct colo__endpoint {
  colo__ep_kind_t kind;
  char name[COLO__PATH_MAX + 1]; /* shm: NAME; file, unix, pipe, colo: PATH; tcp: HOST */
  uint16_t port;                 /* tcp */
} colo__endpoint_t;

/* ---- timing: every constant of the library's own waits --------------------------------
 * (docs/design.md explains each). The shim's own (the 40 ms a dead socket must
 * keep refusing before it is replaced, ...) are the shim's. */
#define COLO__MS (1000000ull)
#define COLO__HANDSHAKE_NS (2000 * COLO__MS)  /* a client's whole handshake, listener side */
#define COLO__READY_WAIT_NS (2000 * COLO__MS) /* how long a connector waits for a segment to be READY */
#define COLO__PEER_POLL_NS (100 * COLO__MS)   /* ring liveness probe period; the ring's sleep slice */
#define COLO__LINGER_NS (1000 * COLO__MS)     /* a stream's close waits this long for pending bytes */
#define COLO__BACKOFF_FIRST_NS (1 * COLO__MS) /* a connector's retries: from 1 ms, doubling, */
#define COLO__BACKOFF_MAX_NS (20 * COLO__MS)  /* to 20 ms */
#define COLO__INIT_GRACE_S 5                  /* a segment not READY is a dead creator's after this */

#endif
