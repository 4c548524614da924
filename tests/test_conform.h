/*
 * test_conform.h - what the conformance suite's two halves share: the
 * transports, their endpoints, a connected pair, and CONFORM(fn), which makes
 * fn one test per transport (suite = transport name). test_conform.c holds
 * the cases that need only colo.h and testutil.h (every platform);
 * test_conform_posix.c those that drive POSIX directly (raw sockets, FIFOs,
 * poll on the descriptor, another user, fork, truncation).
 */
#ifndef COLO_TESTS_TEST_CONFORM_H
#define COLO_TESTS_TEST_CONFORM_H

#include <stddef.h>

#include "colo.h"
#include "testutil.h"

#undef unix /* a GNU predefined macro; here the name of a suite */

typedef enum { T_SHM, T_FILE, T_UNIX, T_PIPE, T_TCP, T_MEMFD } transport_t;
extern const char *const tname[];

int is_stream(transport_t t);
/* An endpoint that accepts any number of clients. */
int is_multi(transport_t t);
/* A fresh listening endpoint of transport t. */
void endpoint_for(transport_t t, char *buf, size_t cap, const char *tag);
colo_opts_t small_opts(void);

typedef struct pair {
  colo_listener_t *l;
  colo_chan_t *srv, *cli;
  char ep[256]; /* what a connector uses (tcp: the chosen port) */
} pair_t;

void listen_on(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o);
/* Socket transports answer the handshake in colo_accept(): accepts on a
 * thread while this one connects. */
colo_chan_t *connect_one(pair_t *p, const colo_opts_t *o, colo_chan_t **srv);
void pair_open(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o);
void pair_close(pair_t *p);
/* Listens on a fresh endpoint of t and accepts the test helper, run in
 * role (with the endpoint and arg) as the connecting process. */
colo_chan_t *accept_helper(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o, const char *role,
                           const char *arg, tu_proc_t *h);

/* A connect on another thread (late_conn_main(&c) as a tu_thread). */
typedef struct late_conn {
  const char *ep;
  const colo_opts_t *o;
  int timeout_ms, rc;
  colo_chan_t *ch;
} late_conn_t;
void *late_conn_main(void *arg);

/* 1 when this platform's libcolo has transport t, as the suite names it.
 * Otherwise 0 after skipping the case with the reason: the library
 * answered COLO_ENOTSUP (Windows: AF_UNIX under Wine; a shim not written
 * yet), or colo:// gave another transport than memfd. Any other failure is
 * the case's to report. */
int have_transport(transport_t t);

#define CONFORM_ONE(suite, fn, t) \
  Test(suite, fn) {               \
    if (have_transport(t)) fn(t); \
  }
#define CONFORM(fn)                \
  CONFORM_ONE(shm, fn, T_SHM)      \
  CONFORM_ONE(file, fn, T_FILE)    \
  CONFORM_ONE(unix, fn, T_UNIX)    \
  CONFORM_ONE(pipe, fn, T_PIPE)    \
  CONFORM_ONE(tcp, fn, T_TCP)      \
  CONFORM_ONE(memfd, fn, T_MEMFD)
#define RING_CONFORM(fn)        \
  CONFORM_ONE(shm, fn, T_SHM)   \
  CONFORM_ONE(file, fn, T_FILE) \
  CONFORM_ONE(memfd, fn, T_MEMFD)

#endif
