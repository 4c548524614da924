/*
 * test_conform.c - one conformance suite, written once and run over every
 * transport: shm://, file://, unix://, pipe://, tcp:// and memfd (colo://, rung 1).
 * Each test below becomes one Criterion test per transport (suite = transport
 * name).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

#undef unix /* a GNU predefined macro; here the name of a suite */

typedef enum { T_SHM, T_FILE, T_UNIX, T_PIPE, T_TCP, T_MEMFD } transport_t;
static const char *const tname[] = {"shm", "file", "unix", "pipe", "tcp", "memfd"};

static int is_stream(transport_t t) { return t == T_UNIX || t == T_PIPE || t == T_TCP; }
/* An endpoint that accepts any number of clients. */
static int is_multi(transport_t t) { return is_stream(t) || t == T_MEMFD; }

/* A fresh listening endpoint of transport t. */
static void endpoint_for(transport_t t, char *buf, size_t cap, const char *tag) {
  static unsigned n;
  switch (t) {
  case T_SHM: tu_endpoint(buf, cap, tag); break;
  case T_FILE: snprintf(buf, cap, "file:///tmp/colo-test-files/%d.%u.%s", (int)getpid(), n++, tag); break;
  case T_UNIX: snprintf(buf, cap, "unix:///tmp/colo-conform-%d.%u.sock", (int)getpid(), n++); break;
  case T_PIPE: snprintf(buf, cap, "pipe:///tmp/colo-conform-%d.%u.pipe", (int)getpid(), n++); break;
  case T_TCP: snprintf(buf, cap, "tcp://127.0.0.1:0"); break;
  case T_MEMFD: snprintf(buf, cap, "colo:///tmp/colo-conform-%d.%u.rdv", (int)getpid(), n++); break;
  }
}

static colo_opts_t small_opts(void) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.ring_capacity = 16384; /* largest message 8184 on every transport */
  return o;
}

typedef struct pair {
  colo_listener_t *l;
  colo_chan_t *srv, *cli;
  char ep[256]; /* what a connector uses (tcp: the chosen port) */
} pair_t;

typedef struct acceptor {
  colo_listener_t *l;
  colo_chan_t *ch;
  int rc;
} acceptor_t;

static void *accept_main(void *arg) {
  acceptor_t *a = arg;
  a->rc = colo_accept(a->l, &a->ch, tu_ms(5000));
  return NULL;
}

static void listen_on(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o) {
  char ep[256];
  endpoint_for(t, ep, sizeof ep, tag);
  cr_assert_eq(colo_listen(&p->l, ep, o), 0, "%s: %s", ep, colo_last_error());
  snprintf(p->ep, sizeof p->ep, "%s", colo_listener_endpoint(p->l));
}

/* Socket transports answer the handshake in colo_accept(): accept on a thread
 * while this one connects. */
static colo_chan_t *connect_one(pair_t *p, const colo_opts_t *o, colo_chan_t **srv) {
  acceptor_t a = {p->l, NULL, 0};
  tu_thread_t th;
  tu_thread_start(&th, accept_main, &a);
  colo_chan_t *cli;
  int rc = colo_connect(&cli, p->ep, o, tu_ms(5000));
  tu_thread_join(&th);
  cr_assert_eq(rc, 0, "connect %s: %s", p->ep, colo_last_error());
  cr_assert_eq(a.rc, 0, "accept %s: %s", p->ep, colo_errname(a.rc));
  *srv = a.ch;
  return cli;
}

static void pair_open(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o) {
  listen_on(t, p, tag, o);
  p->cli = connect_one(p, o, &p->srv);
  cr_assert_str_eq(colo_transport(p->cli), tname[t]);
  cr_assert_str_eq(colo_transport(p->srv), tname[t]);
}

static void pair_close(pair_t *p) {
  colo_close(p->cli);
  colo_close(p->srv);
  colo_listener_close(p->l);
}

/* Listens on a fresh endpoint of t and accepts the test helper, run in
 * role (with the endpoint and arg) as the connecting process. */
static colo_chan_t *accept_helper(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o, const char *role,
                                  const char *arg, tu_proc_t *h) {
  listen_on(t, p, tag, o);
  const char *args[] = {role, p->ep, arg, NULL};
  cr_assert_eq(tu_spawn_helper(h, args), 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(p->l, &ch, tu_ms(10000)), 0, "%s", colo_last_error());
  return ch;
}

/* ---- the tests, once ------------------------------------------------------------- */

static void order_and_boundaries(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "order", &o);
  static uint8_t m[8192], got[8192];
  /* Interleaved both ways, sizes 0..8184, each direction checked in order. */
  uint64_t sent[2] = {0, 0}, recvd[2] = {0, 0};
  colo_chan_t *end[2] = {p.cli, p.srv};
  while (recvd[0] < 3000 || recvd[1] < 3000) {
    for (int d = 0; d < 2; d++) {
      if (sent[d] < 3000) {
        size_t n = tu_msg(40 + (uint64_t)d, sent[d], 8184, m);
        int rc = colo_send(end[d], m, n, COLO_NOWAIT);
        if (rc == 0) sent[d]++;
        else cr_assert_eq(rc, COLO_EAGAIN, "%s", colo_errname(rc));
      }
      size_t n;
      int rc;
      while ((rc = colo_recv(end[1 - d], got, sizeof got, &n, COLO_NOWAIT)) == 0) {
        size_t wn = tu_msg(40 + (uint64_t)d, recvd[d], 8184, m);
        cr_assert_eq(n, wn, "direction %d message %llu", d, (unsigned long long)recvd[d]);
        cr_assert_eq(memcmp(got, m, n), 0, "direction %d message %llu", d, (unsigned long long)recvd[d]);
        recvd[d]++;
      }
      cr_assert_eq(rc, COLO_EAGAIN, "%s", colo_errname(rc));
    }
  }
  cr_assert_eq(sent[0], 3000u);
  pair_close(&p);
}

static void maximum_size(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "max", &o);
  size_t max = colo_max_message(p.cli);
  cr_assert_eq(max, 8184u);
  cr_assert_eq(colo_max_message(p.srv), 8184u);
  static uint8_t m[8185], got[8185];
  for (size_t i = 0; i < sizeof m; i++) m[i] = (uint8_t)(i * 31 + 7);
  cr_assert_eq(colo_send(p.cli, m, max + 1, 0), COLO_EMSGSIZE);
  for (int k = 0; k < 5; k++) {
    cr_assert_eq(colo_send(p.cli, m, max, tu_ms(1000)), 0);
    size_t n;
    cr_assert_eq(colo_recv(p.srv, got, sizeof got, &n, tu_ms(1000)), 0, "%s", colo_last_error());
    cr_assert_eq(n, max);
    cr_assert_eq(memcmp(got, m, n), 0);
  }
  pair_close(&p);
}

static void zero_length_and_zero_copy(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "zero", &o);
  cr_assert_eq(colo_send(p.cli, NULL, 0, 0), 0);
  void *w;
  cr_assert_eq(colo_reserve(p.cli, 100, &w, 0), 0);
  memcpy(w, "in place", 8);
  cr_assert_eq(colo_commit(p.cli, 8), 0);
  cr_assert_eq(colo_commit(p.cli, 8), COLO_ESTATE);
  size_t n = 99;
  cr_assert_eq(colo_recv(p.srv, NULL, 0, &n, tu_ms(1000)), 0);
  cr_assert_eq(n, 0u);
  const void *r, *r2;
  size_t n2;
  cr_assert_eq(colo_peek(p.srv, &r, &n, tu_ms(1000)), 0);
  cr_assert_eq(n, 8u);
  cr_assert_eq(memcmp(r, "in place", 8), 0);
  cr_assert_eq(colo_peek(p.srv, &r2, &n2, 0), 0);
  cr_assert(r2 == r && n2 == n, "peek again gives the same message");
  char small[4];
  cr_assert_eq(colo_release(p.srv), 0);
  cr_assert_eq(colo_release(p.srv), COLO_ESTATE);
  cr_assert_eq(colo_send(p.cli, "0123456789", 10, 0), 0);
  cr_assert_eq(colo_recv(p.srv, small, sizeof small, &n, tu_ms(1000)), COLO_ENOBUFS);
  cr_assert_eq(n, 10u);
  char big[16];
  cr_assert_eq(colo_recv(p.srv, big, sizeof big, &n, 0), 0, "the message stayed");
  cr_assert_eq(n, 10u);
  pair_close(&p);
}

static void timeouts(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "timeouts", &o);
  char buf[16];
  size_t n;
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, COLO_NOWAIT), COLO_EAGAIN);
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, 100), COLO_ETIMEDOUT);
  uint64_t took = tu_now_ms() - t0;
  cr_assert(took >= 100 && took < (uint64_t)tu_ms(1000), "%llu ms", (unsigned long long)took);
  /* Fill every buffer on the way (ring, or socket and send buffer). */
  static uint8_t big[8184];
  int rc, sent = 0;
  while ((rc = colo_send(p.cli, big, sizeof big, COLO_NOWAIT)) == 0) sent++;
  if (rc == COLO_EINPROGRESS) {
    /* A stream took part of this one: it is sent, the rest goes out later;
     * the next finds no room even for its first byte, and is not sent. */
    cr_assert(is_stream(t), "only a stream sends part of a message");
    sent++;
    rc = colo_send(p.cli, big, sizeof big, COLO_NOWAIT);
  }
  cr_assert_eq(rc, COLO_EAGAIN, "%s", colo_errname(rc));
  cr_assert_gt(sent, 0);
  /* A timed send into full buffers times out within its bound. (TCP may
   * still grow its buffers meanwhile: then the send succeeds and we try
   * again.) */
  for (int tries = 0;; tries++) {
    t0 = tu_now_ms();
    rc = colo_send(p.cli, big, sizeof big, 100);
    took = tu_now_ms() - t0;
    cr_assert_lt(took, (uint64_t)tu_ms(1000), "%llu ms", (unsigned long long)took);
    if (rc == COLO_ETIMEDOUT) break;
    cr_assert(rc == 0 || (rc == COLO_EINPROGRESS && is_stream(t)), "%s", colo_errname(rc));
    cr_assert_lt(tries, 200, "the buffers never filled");
    sent++;
  }
  cr_assert_geq(took, 100u);
  /* Draining makes room again, and everything sent arrives: the receiver
   * reads, the sender flushes what it still holds. */
  static uint8_t got[8192];
  uint64_t end = tu_now_ms() + (uint64_t)tu_ms(5000);
  for (int i = 0; i < sent;) {
    rc = colo_recv(p.srv, got, sizeof got, &n, COLO_NOWAIT);
    if (rc == 0) {
      i++;
      continue;
    }
    cr_assert_eq(rc, COLO_EAGAIN, "%s", colo_errname(rc));
    rc = colo_flush(p.cli, 0);
    cr_assert(rc == 0 || rc == COLO_EAGAIN, "%s", colo_errname(rc));
    cr_assert_lt(tu_now_ms(), end, "message %d of %d never arrived", i, sent);
  }
  cr_assert_eq(colo_flush(p.cli, 0), 0, "nothing held back");
  cr_assert_eq(colo_send(p.cli, big, sizeof big, tu_ms(1000)), 0);
  pair_close(&p);
}

static void clean_close(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "close", &o);
  cr_assert_eq(colo_send(p.cli, "1", 1, 0), 0);
  cr_assert_eq(colo_send(p.cli, "22", 2, 0), 0);
  colo_close(p.cli);
  char buf[8];
  size_t n;
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, tu_ms(1000)), 0);
  cr_assert_eq(n, 1u);
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, tu_ms(1000)), 0);
  cr_assert_eq(n, 2u);
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, tu_ms(1000)), COLO_ECLOSED, "%s", colo_last_error());
  cr_assert_eq(colo_send(p.srv, "x", 1, tu_ms(1000)), COLO_ECLOSED, "%s", colo_last_error());
  colo_close(p.srv);
  colo_listener_close(p.l);
}

static void peer_killed_after_sending(transport_t t) {
  pair_t p;
  tu_proc_t h;
  colo_chan_t *ch = accept_helper(t, &p, "die", NULL, "send-then-die", "5000", &h);
  /* Read as they come (a socket buffers less than a ring): the helper kills
   * itself right after its last send returned. */
  uint64_t last = 0, v, expect = 0;
  size_t n;
  int rc;
  while ((rc = colo_recv(ch, &v, sizeof v, &n, tu_ms(5000))) == 0) {
    cr_assert_eq(v, expect, "message %llu", (unsigned long long)expect);
    expect++;
    last = tu_now_ms();
  }
  cr_assert_eq(rc, COLO_EPEERDEAD, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert_eq(expect, 5000u, "every message sent before the kill arrives");
  cr_assert_lt(tu_now_ms() - last, 1000u, "the death is reported within a second");
  cr_assert_eq(tu_wait(&h, tu_ms(10000)), 128 + SIGKILL);
  colo_close(ch);
  colo_listener_close(p.l);
}

static void blocked_receiver_sees_a_kill(transport_t t) {
  pair_t p;
  tu_proc_t h;
  colo_chan_t *ch = accept_helper(t, &p, "blocked", NULL, "connect-hold", NULL, &h);
  char line[32];
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(10000)), 0);
  tu_blocked_t b;
  tu_blocked_start(&b, ch, TU_RECV_ONE);
  usleep(200000);
  uint64_t k = tu_now_ms();
  tu_kill(&h);
  tu_blocked_join(&b);
  cr_assert_eq(b.rc, COLO_EPEERDEAD, "%s", colo_errname(b.rc));
  cr_assert_lt(b.done_ms - k, 1000u);
  tu_wait(&h, tu_ms(5000));
  colo_close(ch);
  colo_listener_close(p.l);
}

static void many_clients(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  listen_on(t, &p, "many", &o);
  enum { N = 4 };
  colo_chan_t *cli[N], *srv[N];
  if (!is_multi(t)) {
    /* A shared-memory endpoint carries one connection; the colo:// transport
     * gives it many. */
    cli[0] = connect_one(&p, &o, &srv[0]);
    colo_chan_t *c2;
    cr_assert_eq(colo_connect(&c2, p.ep, &o, 0), COLO_EBUSY);
    colo_close(cli[0]);
    colo_close(srv[0]);
    colo_listener_close(p.l);
    return;
  }
  for (int i = 0; i < N; i++) cli[i] = connect_one(&p, &o, &srv[i]);
  /* Each connection is its own channel: what client i says reaches server
   * channel i only, and the answer comes back on the same one. */
  for (int i = 0; i < N; i++) cr_assert_eq(colo_send(cli[i], &i, sizeof i, 0), 0);
  for (int i = N - 1; i >= 0; i--) {
    int v = -1;
    size_t n;
    cr_assert_eq(colo_recv(srv[i], &v, sizeof v, &n, tu_ms(1000)), 0);
    cr_assert_eq(v, i);
    v += 100;
    cr_assert_eq(colo_send(srv[i], &v, sizeof v, 0), 0);
  }
  for (int i = 0; i < N; i++) {
    int v;
    size_t n;
    cr_assert_eq(colo_recv(cli[i], &v, sizeof v, &n, tu_ms(1000)), 0);
    cr_assert_eq(v, i + 100);
  }
  /* One client leaving does not disturb the others. */
  colo_close(cli[0]);
  cr_assert_eq(colo_send(cli[1], "x", 1, 0), 0);
  char c;
  size_t n;
  cr_assert_eq(colo_recv(srv[1], &c, 1, &n, tu_ms(1000)), 0);
  cr_assert_eq(colo_recv(srv[0], &c, 1, &n, tu_ms(1000)), COLO_ECLOSED);
  for (int i = 0; i < N; i++) {
    if (i) colo_close(cli[i]);
    colo_close(srv[i]);
  }
  colo_listener_close(p.l);
}

/* colo_info_t is filled into the caller's memory: without its struct_size
 * the call is refused; with a larger one, only what the library knows is
 * written. */
static void info_needs_its_struct_size(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "isz", &o);
  colo_info_t in;
  memset(&in, 0, sizeof in);
  cr_assert_eq(colo_info(p.cli, &in), COLO_EINVAL, "struct_size not set");
  cr_assert(strstr(colo_last_error(), "struct_size"), "%s", colo_last_error());
  struct {
    colo_info_t now;
    char later[32];
  } big;
  memset(&big, 0x5a, sizeof big);
  big.now.struct_size = sizeof big;
  cr_assert_eq(colo_info(p.cli, &big.now), 0, "%s", colo_last_error());
  cr_assert_eq(big.now.struct_size, sizeof(colo_info_t));
  cr_assert_str_eq(big.now.transport, colo_transport(p.cli));
  cr_assert(big.now.how[0], "a sentence says what carries it");
  for (size_t i = 0; i < sizeof big.later; i++) cr_assert_eq((unsigned char)big.later[i], 0x5a, "byte %zu", i);
  pair_close(&p);
}

static void fd_polls_readable(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "fd", &o);
  int fd = colo_fd(p.srv);
  colo_os_handle_t h = -1;
  int hrc = colo_os_handle(p.srv, &h);
  if (!is_stream(t)) {
    cr_assert_eq(fd, COLO_ENOTSUP, "shared memory has no descriptor in this version");
    cr_assert_eq(hrc, COLO_ENOTSUP, "nor a handle");
    cr_assert(strstr(colo_last_error(), "no handle to poll"), "%s", colo_last_error());
    pair_close(&p);
    return;
  }
  cr_assert_geq(fd, 0);
  cr_assert_eq(hrc, 0, "%s", colo_last_error());
  cr_assert_eq(h, fd, "colo_fd is the POSIX spelling of colo_os_handle");
  struct pollfd pf = {fd, POLLIN, 0};
  cr_assert_eq(poll(&pf, 1, 50), 0, "nothing to read yet");
  for (int i = 0; i < 3; i++) cr_assert_eq(colo_send(p.cli, &i, sizeof i, 0), 0);
  cr_assert_eq(poll(&pf, 1, tu_ms(1000)), 1, "readable once data arrived");
  int v, got = 0;
  size_t n;
  while (colo_recv(p.srv, &v, sizeof v, &n, COLO_NOWAIT) == 0) cr_assert_eq(v, got++);
  cr_assert_eq(got, 3, "drained with COLO_NOWAIT");
  colo_close(p.cli);
  cr_assert_eq(poll(&pf, 1, tu_ms(1000)), 1, "readable when the peer closes");
  cr_assert_eq(colo_recv(p.srv, &v, sizeof v, &n, COLO_NOWAIT), COLO_ECLOSED);
  colo_close(p.srv);
  colo_listener_close(p.l);
}

/* One thread sends while another receives on the same channel (colo.h's
 * thread-safety promise); the other end echoes every message back. */
typedef struct duplex {
  colo_chan_t *ch;
  uint64_t count;
  int rc;
} duplex_t;

static void *duplex_sender(void *arg) {
  duplex_t *d = arg;
  static _Thread_local uint8_t m[2048];
  for (uint64_t i = 0; i < d->count && !d->rc; i++) {
    size_t n = tu_msg(77, i, 2000, m);
    d->rc = colo_send(d->ch, m, n, tu_ms(10000));
  }
  return NULL;
}

static void *duplex_echo(void *arg) {
  duplex_t *d = arg;
  static _Thread_local uint8_t m[8192];
  for (uint64_t i = 0; i < d->count && !d->rc; i++) {
    size_t n;
    d->rc = colo_recv(d->ch, m, sizeof m, &n, tu_ms(10000));
    if (!d->rc) d->rc = colo_send(d->ch, m, n, tu_ms(10000));
  }
  return NULL;
}

static void two_threads_on_one_channel(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "duplex", &o);
  uint64_t count = tu_env_u64("COLO_TEST_DUPLEX_COUNT", 20000);
  duplex_t snd = {p.cli, count, 0}, echo = {p.srv, count, 0};
  tu_thread_t ts, te;
  tu_thread_start(&te, duplex_echo, &echo);
  tu_thread_start(&ts, duplex_sender, &snd);
  static uint8_t got[8192], want[2048];
  for (uint64_t i = 0; i < count; i++) {
    size_t n;
    int rc = colo_recv(p.cli, got, sizeof got, &n, tu_ms(10000));
    cr_assert_eq(rc, 0, "echo %llu: %s: %s", (unsigned long long)i, colo_errname(rc), colo_last_error());
    size_t wn = tu_msg(77, i, 2000, want);
    cr_assert_eq(n, wn, "echo %llu", (unsigned long long)i);
    cr_assert_eq(memcmp(got, want, n), 0, "echo %llu", (unsigned long long)i);
  }
  tu_thread_join(&ts);
  tu_thread_join(&te);
  cr_assert_eq(snd.rc, 0, "%s", colo_errname(snd.rc));
  cr_assert_eq(echo.rc, 0, "%s", colo_errname(echo.rc));
  pair_close(&p);
}

/* ---- one test per transport ------------------------------------------------------- */

#define CONFORM(fn)                          \
  Test(shm, fn) { fn(T_SHM); }               \
  Test(file, fn) { fn(T_FILE); }             \
  Test(unix, fn) { fn(T_UNIX); }             \
  Test(pipe, fn) { fn(T_PIPE); }             \
  Test(tcp, fn) { fn(T_TCP); }               \
  Test(memfd, fn) { fn(T_MEMFD); }

CONFORM(order_and_boundaries)
CONFORM(info_needs_its_struct_size)
CONFORM(maximum_size)
CONFORM(zero_length_and_zero_copy)
CONFORM(timeouts)
CONFORM(clean_close)
CONFORM(peer_killed_after_sending)
CONFORM(blocked_receiver_sees_a_kill)
CONFORM(many_clients)
CONFORM(fd_polls_readable)
CONFORM(two_threads_on_one_channel)

/* ---- hostile users and odd events (issue 12) -------------------------------------- */

/* The descriptor this process has on the object behind a ring channel, for
 * a test to do to it what another writer of the file could. */
static int open_backing(transport_t t, const char *ep) {
  char path[600];
  if (t != T_MEMFD) return open(tu_shm_path(ep, path, sizeof path), O_RDWR);
  return tu_reopen_fd_to("/memfd:colo");
}

static void truncated_segment_fails_the_channel(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "trunc", &o);
  char buf[64];
  size_t n;
  cr_assert_eq(colo_send(p.cli, "before", 6, 0), 0);
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, tu_ms(1000)), 0);
  tu_blocked_t b;
  tu_blocked_start(&b, p.srv, TU_RECV_ONE); /* asleep on a word in the pages about to vanish */
  usleep(50000);
  int fd = open_backing(t, p.ep);
  cr_assert_geq(fd, 0, "%s", strerror(errno));
  if (t == T_MEMFD) {
    /* Sealed: nobody can shrink it, so nothing below can happen to it. */
    cr_assert_eq(ftruncate(fd, 0), -1);
    cr_assert_eq(errno, EPERM);
    close(fd);
    cr_assert_eq(colo_send(p.cli, "still", 5, 0), 0);
    tu_blocked_join(&b);
    cr_assert_eq(b.rc, 0);
    pair_close(&p);
    return;
  }
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(ftruncate(fd, 0), 0);
  close(fd);
  /* Both ends fail with a reason; neither dies of SIGBUS. */
  cr_assert_eq(colo_send(p.cli, "after", 5, 0), COLO_ECORRUPT, "%s", colo_last_error());
  cr_assert(strstr(colo_last_error(), "shrank"), "%s", colo_last_error());
  tu_blocked_join(&b);
  cr_assert_eq(b.rc, COLO_ECORRUPT, "%s", colo_errname(b.rc));
  cr_assert_lt(b.done_ms - t0, 1000u, "the sleeper noticed within its slice");
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, 0), COLO_ECORRUPT, "sticky");
  pair_close(&p);
  cr_assert(tu_shm_path(p.ep, buf, sizeof buf)[0] && access(buf, F_OK) != 0, "closing both removed it");
  /* A peer in another process that truncates the file: it fails, we fail. */
  listen_on(t, &p, "trunc2", &o);
  tu_proc_t h;
  const char *args[] = {"connect-truncate", p.ep, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  colo_chan_t *ch = NULL;
  /* Its truncation may come before our accept saw the claim: then the
   * accept is what fails. */
  int rc = colo_accept(p.l, &ch, tu_ms(5000));
  cr_assert(rc == 0 || rc == COLO_ECORRUPT, "%s: %s", colo_errname(rc), colo_last_error());
  char line[128];
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_str_eq(line, "COLO_ECORRUPT COLO_ECORRUPT");
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), 0);
  if (ch) {
    rc = colo_recv(ch, buf, sizeof buf, &n, tu_ms(2000));
    cr_assert(rc == COLO_ECORRUPT || rc == COLO_ECLOSED, "%s: %s", colo_errname(rc), colo_last_error());
    colo_close(ch);
  }
  colo_listener_close(p.l);
}

/* An endpoint another user can make: in /tmp (sticky, open to all) or
 * /dev/shm; file:// in a directory of mode 1777. */
static void shared_endpoint_for(transport_t t, char *buf, size_t cap, const char *tag) {
  if (t != T_FILE) {
    endpoint_for(t, buf, cap, tag);
    return;
  }
  mkdir("/tmp/colo-conform-shared", 01777);
  chmod("/tmp/colo-conform-shared", 01777);
  static unsigned n;
  snprintf(buf, cap, "file:///tmp/colo-conform-shared/%d.%u.%s", (int)getpid(), n++, tag);
}

static void skip_unless_root(void) {
  if (!tu_is_root()) cr_skip_test("needs root to run a second user (uid 65534)");
}

static void another_users_endpoint_is_refused_unless_named(transport_t t) {
  skip_unless_root();
  char ep[600], line[512];
  shared_endpoint_for(t, ep, sizeof ep, "squat");
  tu_proc_t h;
  const char *args[] = {"as-nobody", "listen-echo", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
  if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
  cr_assert(!strncmp(line, "ready ", 6), "%s", line);
  snprintf(ep, sizeof ep, "%s", line + 6);
  colo_chan_t *ch = NULL;
  uint64_t t0 = tu_now_ms();
  int rc = colo_connect(&ch, ep, NULL, tu_ms(3000));
  if (t == T_TCP) {
    cr_assert_eq(rc, 0, "tcp carries no credentials: nothing to refuse by (%s)", colo_last_error());
  } else {
    cr_assert_eq(rc, COLO_EPERM, "%s: %s", colo_errname(rc), colo_last_error());
    cr_assert(strstr(colo_last_error(), "uid 65534"), "%s", colo_last_error());
    cr_assert_lt(tu_now_ms() - t0, 1000u, "refused at once, not retried");
    colo_opts_t o;
    colo_opts_init(&o);
    o.peer_user = "nobody";
    cr_assert_eq(colo_connect(&ch, ep, &o, tu_ms(3000)), 0, "named, accepted: %s", colo_last_error());
  }
  char buf[16];
  size_t n;
  cr_assert_eq(colo_send(ch, "ping", 4, tu_ms(2000)), 0);
  cr_assert_eq(colo_recv(ch, buf, sizeof buf, &n, tu_ms(2000)), 0, "%s", colo_last_error());
  cr_assert_eq(n, 4u);
  colo_close(ch);
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_str_eq(line, "COLO_OK");
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), 0);
}

static void listener_refuses_clients_of_another_user_unless_named(transport_t t) {
  skip_unless_root();
  char line[512];
  for (int named = 0; named < 2; named++) {
    colo_opts_t o = small_opts();
    o.perm = 0666; /* the file lets the other user in: the check is the listener's own */
    o.peer_user = named ? "*" : NULL;
    pair_t p;
    char ep[256];
    shared_endpoint_for(t, ep, sizeof ep, "client");
    cr_assert_eq(colo_listen(&p.l, ep, &o), 0, "%s", colo_last_error());
    tu_proc_t h;
    const char *args[] = {"as-nobody", "connect-echo", colo_listener_endpoint(p.l), NULL};
    cr_assert_eq(tu_spawn_helper(&h, args), 0);
    colo_chan_t *ch = NULL;
    int rc = colo_accept(p.l, &ch, tu_ms(2000));
    /* shm:// and file:// have no credentials of a connector: the file mode
     * decides; tcp:// has none at all. */
    int checks = t == T_UNIX || t == T_PIPE || t == T_MEMFD;
    if (checks && !named) {
      cr_assert_eq(rc, COLO_ETIMEDOUT, "the other user's client was dropped: %s", colo_errname(rc));
      cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
      if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
      cr_assert(strncmp(line, "COLO_OK", 7) != 0, "%s", line);
    } else {
      cr_assert_eq(rc, 0, "%s: %s", colo_errname(rc), colo_last_error());
      char buf[16];
      size_t n;
      cr_assert_eq(colo_recv(ch, buf, sizeof buf, &n, tu_ms(2000)), 0);
      cr_assert_eq(colo_send(ch, buf, n, tu_ms(2000)), 0);
      cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
      cr_assert(!strncmp(line, "COLO_OK", 7), "%s", line);
      colo_close(ch);
    }
    tu_wait(&h, tu_ms(5000));
    colo_listener_close(p.l);
  }
}

static void a_forked_child_does_not_keep_a_dead_parent_alive(transport_t t) {
  pair_t p;
  tu_proc_t h;
  colo_chan_t *ch = accept_helper(t, &p, "forkdie", NULL, "connect-fork-die", NULL, &h);
  char line[64];
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(10000)), 0);
  int child = 0;
  cr_assert_eq(sscanf(line, "ready %d", &child), 1, "%s", line);
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), 128 + SIGKILL);
  char buf[8];
  size_t n;
  int rc = colo_recv(ch, buf, sizeof buf, &n, tu_ms(3000));
  tu_kill_pid(child);
  cr_assert_eq(rc, COLO_EPEERDEAD, "the child still lives, yet the parent is seen dead: %s", colo_errname(rc));
  cr_assert_lt(tu_now_ms() - t0, 1500u);
  colo_close(ch);
  colo_listener_close(p.l);
}

static int child_uses_parents_channel(void *arg) {
  pair_t *p = arg;
  int rc = colo_send(p->cli, "child", 5, 0);
  colo_close(p->cli);
  colo_close(p->srv);
  colo_listener_close(p->l);
  return rc == COLO_ESTATE ? 0 : 10 + (-rc);
}

static void a_child_can_neither_use_nor_close_its_parents_channel(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "forkuse", &o);
  tu_proc_t child;
  cr_assert_eq(tu_fork_call(&child, child_uses_parents_channel, &p), 0);
  int st = tu_wait(&child, tu_ms(10000));
  cr_assert_eq(st, 0, "the child's send said ESTATE (exit %d)", st);
  /* The parent's channel, listener and endpoint are as they were. */
  char buf[16], path[600];
  size_t n;
  cr_assert_eq(colo_send(p.cli, "parent", 6, 0), 0, "%s", colo_last_error());
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, tu_ms(1000)), 0, "%s", colo_last_error());
  cr_assert_eq(n, 6u, "only the parent's message");
  if (tu_shm_path(p.ep, path, sizeof path)[0] && t != T_MEMFD) cr_assert_eq(access(path, F_OK), 0, "%s stays", path);
  pair_close(&p);
}

CONFORM(another_users_endpoint_is_refused_unless_named)
CONFORM(listener_refuses_clients_of_another_user_unless_named)
CONFORM(a_forked_child_does_not_keep_a_dead_parent_alive)
CONFORM(a_child_can_neither_use_nor_close_its_parents_channel)

#define RING_CONFORM(fn)                     \
  Test(shm, fn) { fn(T_SHM); }               \
  Test(file, fn) { fn(T_FILE); }             \
  Test(memfd, fn) { fn(T_MEMFD); }

RING_CONFORM(truncated_segment_fails_the_channel)

/* What a send's result says is where the message is: the receiver gets
 * exactly the messages whose send returned 0, whole, then the end. */
static void a_send_that_returned_0_is_delivered_and_one_that_timed_out_is_not(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  tu_proc_t h;
  colo_chan_t *ch = accept_helper(t, &p, "short", &o, "send-until-short", NULL, &h);
  /* Nothing is read until the sender gave up on a message and was killed. */
  char line[128], code[64];
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(30000)), 0);
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), 128 + SIGKILL);
  unsigned long long sent;
  cr_assert_eq(sscanf(line, "sent %llu %63s", &sent, code), 2, "%s", line);
  int partial = !strcmp(code, "COLO_EINPROGRESS");
  cr_assert(partial ? is_stream(t) : !strcmp(code, "COLO_ETIMEDOUT"), "%s", line);
  static uint8_t m[8192];
  size_t n;
  int rc;
  uint64_t got = 0;
  while ((rc = colo_recv(ch, m, sizeof m, &n, tu_ms(5000))) == 0) {
    uint64_t i;
    memcpy(&i, m, sizeof i);
    cr_assert_eq(n, 4096u);
    cr_assert_eq(i, got, "message %llu", (unsigned long long)got);
    got++;
  }
  cr_assert_eq(got, sent, "every message whose send returned 0 arrived, and no other (%s)", line);
  /* A message that went out in part ends the stream inside its frame. */
  cr_assert_eq(rc, partial ? COLO_EPROTO : COLO_EPEERDEAD, "%s: %s", colo_errname(rc), colo_last_error());
  colo_close(ch);
  colo_listener_close(p.l);
}

static void a_sender_learns_the_receiver_closed_rather_than_died(transport_t t) {
  colo_opts_t o = small_opts();
  pair_t p;
  pair_open(t, &p, "closed", &o);
  static uint8_t m[4096];
  for (int i = 0; i < 3; i++) cr_assert_eq(colo_send(p.cli, m, sizeof m, 0), 0);
  colo_close(p.srv); /* unread messages and all */
  int rc;
  uint64_t end = tu_now_ms() + (uint64_t)tu_ms(5000);
  while ((rc = colo_send(p.cli, m, sizeof m, 100)) == 0 || rc == COLO_EINPROGRESS || rc == COLO_ETIMEDOUT)
    cr_assert_lt(tu_now_ms(), end, "the sender never learned of the close");
  cr_assert_eq(rc, COLO_ECLOSED, "%s: %s", colo_errname(rc), colo_last_error());
  colo_close(p.cli);
  colo_listener_close(p.l);
}

/* A connection this process holds open and never speaks on: a raw socket,
 * or for pipe:// a FIFO pair with its request, the way a client makes them.
 * Returns descriptors to close (-1 where none). */
static void silent_client(transport_t t, const char *ep, int fds[3]) {
  fds[0] = fds[1] = fds[2] = -1;
  if (t == T_UNIX || t == T_MEMFD) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", ep + 7);
    fds[0] = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_eq(connect(fds[0], (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
  } else if (t == T_TCP) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strrchr(ep, ':') + 1))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(fds[0], (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
  } else {
    static unsigned k;
    char nonce[17], c2s[300], s2c[300], rec[32] = "colo-pip";
    snprintf(nonce, sizeof nonce, "%08x%08x", (unsigned)getpid(), k++);
    snprintf(c2s, sizeof c2s, "%s.%s.c2s", ep + 7, nonce);
    snprintf(s2c, sizeof s2c, "%s.%s.s2c", ep + 7, nonce);
    cr_assert_eq(mkfifo(c2s, 0600), 0);
    cr_assert_eq(mkfifo(s2c, 0600), 0);
    fds[0] = open(c2s, O_RDWR | O_NONBLOCK), fds[1] = open(s2c, O_RDWR | O_NONBLOCK);
    memcpy(rec + 8, nonce, 16);
    fds[2] = open(ep + 7, O_WRONLY | O_NONBLOCK);
    cr_assert_eq(write(fds[2], rec, sizeof rec), (ssize_t)sizeof rec);
  }
}

static void silent_clients_hold_up_nobody(transport_t t) {
  if (!is_multi(t)) return; /* (one connection per segment: nothing to hold up) */
  colo_opts_t o = small_opts();
  pair_t p;
  listen_on(t, &p, "silent", &o);
  enum { N = 20 };
  int fds[N][3];
  for (int i = 0; i < N; i++) silent_client(t, p.ep, fds[i]);
  uint64_t t0 = tu_now_ms();
  colo_chan_t *srv, *cli = connect_one(&p, &o, &srv);
  cr_assert_lt(tu_now_ms() - t0, (uint64_t)tu_ms(1000), "served while %d silent clients wait", N);
  cr_assert_eq(colo_send(cli, "x", 1, 0), 0);
  char c;
  size_t n;
  cr_assert_eq(colo_recv(srv, &c, 1, &n, tu_ms(1000)), 0);
  /* With only silent ones left, a wait ends at its own deadline, not theirs. */
  colo_chan_t *none;
  t0 = tu_now_ms();
  cr_assert_eq(colo_accept(p.l, &none, 300), COLO_ETIMEDOUT);
  uint64_t took = tu_now_ms() - t0;
  cr_assert(took >= 290 && took < 600, "%llu ms", (unsigned long long)took);
  cr_assert(strstr(colo_last_error(), "still at it"), "%s", colo_last_error());
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 3; k++)
      if (fds[i][k] >= 0) close(fds[i][k]);
  colo_close(cli);
  colo_close(srv);
  colo_listener_close(p.l);
}

typedef struct late_conn {
  const char *ep;
  const colo_opts_t *o;
  int timeout_ms, rc;
  colo_chan_t *ch;
} late_conn_t;

static void *late_conn_main(void *arg) {
  late_conn_t *c = arg;
  c->rc = colo_connect(&c->ch, c->ep, c->o, c->timeout_ms);
  return NULL;
}

/* A connect that gave up (its slice of a retry loop ran out before the
 * listener accepted) leaves nothing the listener mistakes for a client. */
static void a_client_that_gave_up_is_never_handed_out(transport_t t) {
  if (!is_multi(t)) return;
  colo_opts_t o = small_opts();
  pair_t p;
  listen_on(t, &p, "gaveup", &o);
  colo_chan_t *stale;
  for (int i = 0; i < 3; i++) cr_assert_eq(colo_connect(&stale, p.ep, &o, 50), COLO_ETIMEDOUT, "%s", colo_last_error());
  late_conn_t c = {p.ep, &o, tu_ms(5000), 0, NULL};
  tu_thread_t th;
  tu_thread_start(&th, late_conn_main, &c);
  colo_chan_t *srv;
  cr_assert_eq(colo_accept(p.l, &srv, tu_ms(5000)), 0, "%s", colo_last_error());
  tu_thread_join(&th);
  cr_assert_eq(c.rc, 0, "%s", colo_errname(c.rc));
  cr_assert_eq(colo_send(c.ch, "live", 4, tu_ms(1000)), 0);
  char buf[8];
  size_t n;
  cr_assert_eq(colo_recv(srv, buf, sizeof buf, &n, tu_ms(1000)), 0, "the one handed out is the live one: %s",
               colo_last_error());
  colo_chan_t *phantom;
  cr_assert_eq(colo_accept(p.l, &phantom, 200), COLO_ETIMEDOUT, "no phantom is left to hand out");
  colo_close(c.ch);
  colo_close(srv);
  colo_listener_close(p.l);
}

/* A unix socket whose queue of connections is full answers EAGAIN: the
 * listener is busy, not dead, and the connect waits for it. */
static void a_busy_listener_is_waited_for_not_reported_dead(transport_t t) {
  if (t != T_UNIX && t != T_MEMFD) return; /* (the queue is the socket's: tcp takes SYNs, pipes have none) */
  colo_opts_t o = small_opts();
  pair_t p;
  listen_on(t, &p, "busy", &o);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", p.ep + 7);
  int fds[512], k = 0;
  for (; k < 512; k++) {
    fds[k] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(fds[k], (struct sockaddr *)&sa, sizeof sa) != 0) {
      cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
      close(fds[k]);
      break;
    }
  }
  cr_assert_lt(k, 512, "the queue filled");
  late_conn_t c = {p.ep, &o, tu_ms(5000), 0, NULL};
  tu_thread_t th;
  tu_thread_start(&th, late_conn_main, &c);
  usleep(300000); /* it finds the queue full for a while */
  for (int i = 0; i < k; i++) close(fds[i]);
  colo_chan_t *srv;
  cr_assert_eq(colo_accept(p.l, &srv, tu_ms(5000)), 0, "%s", colo_last_error());
  tu_thread_join(&th);
  cr_assert_eq(c.rc, 0, "waited for the busy listener: %s", colo_errname(c.rc));
  colo_close(c.ch);
  colo_close(srv);
  colo_listener_close(p.l);
}

CONFORM(a_send_that_returned_0_is_delivered_and_one_that_timed_out_is_not)
CONFORM(a_sender_learns_the_receiver_closed_rather_than_died)
CONFORM(silent_clients_hold_up_nobody)
CONFORM(a_client_that_gave_up_is_never_handed_out)
CONFORM(a_busy_listener_is_waited_for_not_reported_dead)

/* A link named like the socket: never followed (another user could point
 * root's client at any socket root or the client listens on). */
static void a_link_at_the_socket_name_is_not_followed(transport_t t) {
  if (t != T_UNIX && t != T_MEMFD) return; /* (a socket file: the others have their own tests) */
  pair_t p;
  listen_on(t, &p, "link", NULL);
  char link[300];
  snprintf(link, sizeof link, "%s.link", p.ep + 7);
  cr_assert_eq(symlink(p.ep + 7, link), 0);
  char ep[320];
  snprintf(ep, sizeof ep, "%.7s%s", p.ep, link);
  colo_chan_t *ch;
  cr_assert_eq(colo_connect(&ch, ep, NULL, tu_ms(1000)), COLO_EINVAL, "%s", colo_last_error());
  cr_assert(strstr(colo_last_error(), "symbolic link"), "%s", colo_last_error());
  unlink(link);
  colo_listener_close(p.l);
}

typedef struct flood {
  transport_t t;
  const char *ep;
  _Atomic int stop;
} flood_t;

/* Connects and hangs up at once, as fast as it can (without blocking on a
 * full queue of connections: then it tries again). */
static void *flood_main(void *arg) {
  flood_t *f = arg;
  struct sockaddr_un su = {.sun_family = AF_UNIX};
  struct sockaddr_in si = {.sin_family = AF_INET};
  if (f->t == T_TCP) {
    si.sin_port = htons((uint16_t)atoi(strrchr(f->ep, ':') + 1));
    si.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    snprintf(su.sun_path, sizeof su.sun_path, "%.100s", f->ep + 7);
  }
  while (!f->stop) {
    int fd = socket(f->t == T_TCP ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (f->t == T_TCP) connect(fd, (struct sockaddr *)&si, sizeof si);
    else connect(fd, (struct sockaddr *)&su, sizeof su);
    close(fd);
  }
  return NULL;
}

static void a_flood_of_connections_does_not_hold_accept_past_its_deadline(transport_t t) {
  if (!is_multi(t) || t == T_PIPE) return; /* (a pipe's flood is of requests: at most 256 are read a call) */
  colo_opts_t o = small_opts();
  pair_t p;
  listen_on(t, &p, "flood", &o);
  flood_t f = {t, p.ep, 0};
  enum { FLOODERS = 4 };
  tu_thread_t th[FLOODERS];
  for (int i = 0; i < FLOODERS; i++) tu_thread_start(&th[i], flood_main, &f);
  usleep(100000);
  for (int i = 0; i < 3; i++) {
    colo_chan_t *ch;
    uint64_t t0 = tu_now_ms();
    cr_assert_eq(colo_accept(p.l, &ch, 300), COLO_ETIMEDOUT);
    uint64_t took = tu_now_ms() - t0;
    cr_assert_lt(took, 450u, "accept(300 ms) took %llu ms", (unsigned long long)took);
  }
  f.stop = 1;
  for (int i = 0; i < FLOODERS; i++) tu_thread_join(&th[i]);
  colo_listener_close(p.l);
}

CONFORM(a_link_at_the_socket_name_is_not_followed)
CONFORM(a_flood_of_connections_does_not_hold_accept_past_its_deadline)
