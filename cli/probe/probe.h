/*
 * probe.h - what the parts of `colo probe` share (private to cli/probe):
 *
 *   probe.c    the command: options, help, the order of the steps
 *   local.c    PATH alone: its filesystem, room, a segment's primitives there,
 *              a socket there, and /dev/shm
 *   pair.c     serve and join: the two sides find each other through PATH
 *              and prove each medium with data that crosses it, over the
 *              control protocol of docs/protocol.md ("The probe's serve/join
 *              protocol")
 *   verdict.c  what the checks add up to, and the report (text or JSON)
 */
#ifndef COLO_CLI_PROBE_H
#define COLO_CLI_PROBE_H

#include <stdatomic.h>
#include <stdint.h>

#include "tools/os.h"
#include "../util.h"

/* The serve/join protocol's version, the first word after "hello" in each
 * side's first message (version=N). Raise it with any change to a message,
 * its fields or their order, or to the page (docs/protocol.md). */
#define PROBE_VERSION 1

#define PROBE_MAGIC 0x31425250424f4c43ull /* "CLOBPRB1" */
#define PROBE_PAGE 4096
#define PROBE_SAMPLE 2000       /* round trips per transport, the first 200 untimed */
#define PROBE_STEP_MS 5000      /* any one step once both sides are there */
#define PROBE_MAX_CHECKS 20

enum { M_COLO, M_FILE, M_SHM, M_UNIX, M_COUNT };

/* The shared page in PATH/colo-probe.seg: each side writes only its half. */
typedef struct probe_half {
  _Atomic uint64_t nonce; /* written last: the rest of the half is valid once it is not 0 */
  _Atomic uint64_t echo;  /* the other side's nonce, as seen here */
} probe_half_t;
typedef struct probe_page {
  uint64_t magic;
  probe_half_t serve, join;
  _Atomic uint32_t futex;
} probe_page_t;

typedef struct check {
  const char *name;
  int state; /* 1 yes, 0 no, -1 not tried */
  char detail[600];
} check_t;

typedef struct medium {
  const char *name, *what;
  char ep[512];
  int state; /* 1 works, 0 does not, -1 not tried */
  uint64_t p50, p99;
  char why[600];
} medium_t;

typedef struct probe {
  int role; /* 0 PATH alone, 1 serve, 2 join */
  const char *path;
  int timeout_ms, json;
  uint64_t size;
  check_t checks[PROBE_MAX_CHECKS];
  int nchecks;
  /* serve, join */
  int peer;                /* the other side was found */
  int bad_version;         /* it speaks another version of the serve/join protocol */
  double found_s;
  tos_ids_t me, them;
  char their_fs[32];
  uint64_t dev[2], ino[2]; /* of the shared page: mine, theirs */
  medium_t media[M_COUNT];
  char rung[600];          /* what colo:// said about its rungs */
  char fixes[6][400];
  int nfixes;
} probe_t;

/* Records a check (the last slot is reused once they are all taken). */
check_t *probe_check(probe_t *p, const char *name, int state, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
const check_t *probe_find_check(const probe_t *p, const char *name);
/* Adds a fix to the verdict, once. */
void probe_add_fix(probe_t *p, const char *fix);

/* local.c: the checks of PATH alone (every role makes them). */
void probe_local(probe_t *p);
/* pair.c: the serving and the joining side; they record checks and media. */
void probe_serve(probe_t *p);
void probe_join(probe_t *p);
/* verdict.c: 0 shared memory, 1 sockets only, 2 nothing; *best: the fastest
 * medium (-1); then the report of it. */
int probe_verdict(probe_t *p, int *best);
int probe_is_shm(const probe_t *p, int m);
void probe_print_text(probe_t *p, int code, int best);
void probe_print_json(probe_t *p, int code, int best);

#endif
