/*
 * test_conform.c - one conformance suite, written once and run over every
 * transport: shm://, file://, unix://, pipe://, tcp:// and memfd (colo://, rung 1).
 * Each test below becomes one Criterion test per transport (suite = transport
 * name); a transport this platform lacks is skipped with the reason
 * (have_transport). The cases that drive POSIX directly are in
 * test_conform_posix.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_conform.h"

const char *const tname[] = {"shm", "file", "unix", "pipe", "tcp", "memfd"};

int is_stream(transport_t t) { return t == T_UNIX || t == T_PIPE || t == T_TCP; }
int is_multi(transport_t t) { return is_stream(t) || t == T_MEMFD; }

void endpoint_for(transport_t t, char *buf, size_t cap, const char *tag) {
  char path[256], name[128];
  switch (t) {
  case T_SHM: tu_endpoint(buf, cap, tag); break;
  case T_FILE: {
    /* In a directory of its own that the first listener makes: missing
     * parents are created. */
    tu_tmp_path(path, sizeof path, tag);
    char *base = strrchr(path, '/');
    *base = '\0';
    char dir_path[300];
    snprintf(dir_path, sizeof dir_path, "%s/colo-test-files/%s", path, base + 1);
    tu_file_endpoint(buf, cap, dir_path);
    break;
  }
  case T_UNIX: snprintf(buf, cap, "unix://%s", tu_tmp_path(path, sizeof path, "conform.sock")); break;
  case T_PIPE: snprintf(buf, cap, "pipe://%s", tu_pipe_name(name, sizeof name, "conform.pipe")); break;
  case T_TCP: snprintf(buf, cap, "tcp://127.0.0.1:0"); break;
  case T_MEMFD: snprintf(buf, cap, "colo://%s", tu_tmp_path(path, sizeof path, "conform.rdv")); break;
  }
}

colo_opts_t small_opts(void) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.ring_capacity = 16384; /* largest message 8184 on every transport */
  return o;
}

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

void listen_on(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o) {
  char ep[256];
  endpoint_for(t, ep, sizeof ep, tag);
  cr_assert_eq(colo_listen(&p->l, ep, o), 0, "%s: %s", ep, colo_last_error());
  snprintf(p->ep, sizeof p->ep, "%s", colo_listener_endpoint(p->l));
}

colo_chan_t *connect_one(pair_t *p, const colo_opts_t *o, colo_chan_t **srv) {
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

void pair_open(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o) {
  listen_on(t, p, tag, o);
  p->cli = connect_one(p, o, &p->srv);
  cr_assert_str_eq(colo_transport(p->cli), tname[t]);
  cr_assert_str_eq(colo_transport(p->srv), tname[t]);
}

void pair_close(pair_t *p) {
  colo_close(p->cli);
  colo_close(p->srv);
  colo_listener_close(p->l);
}

colo_chan_t *accept_helper(transport_t t, pair_t *p, const char *tag, const colo_opts_t *o, const char *role,
                           const char *arg, tu_proc_t *h) {
  listen_on(t, p, tag, o);
  const char *args[] = {role, p->ep, arg, NULL};
  cr_assert_eq(tu_spawn_helper(h, args), 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(p->l, &ch, tu_ms(10000)), 0, "%s", colo_last_error());
  return ch;
}

int have_transport(transport_t t) {
  char ep[300];
  endpoint_for(t, ep, sizeof ep, "have");
  colo_opts_t o = small_opts();
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, &o);
  if (rc == COLO_ENOTSUP) {
    cr_skip_test("no %s transport here: %s", tname[t], colo_last_error());
    return 0;
  }
  if (rc) return 1; /* the case fails, saying why */
  if (t == T_MEMFD) {
    /* colo:// picks the best transport both ends can use; the suite's memfd
     * is its shared-memory rung on Linux. */
    pair_t p = {.l = l};
    snprintf(p.ep, sizeof p.ep, "%s", colo_listener_endpoint(l));
    colo_chan_t *srv = NULL, *cli = connect_one(&p, &o, &srv);
    int other = strcmp(colo_transport(cli), tname[t]) != 0;
    char got[32];
    snprintf(got, sizeof got, "%s", colo_transport(cli));
    colo_close(cli), colo_close(srv);
    colo_listener_close(l);
    if (other) {
      cr_skip_test("colo:// gives %s here, not memfd", got);
      return 0;
    }
    return 1;
  }
  colo_listener_close(l);
  return 1;
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
  cr_assert_eq(tu_wait(&h, tu_ms(10000)), TU_KILLED);
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
  tu_sleep_ms(200);
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

CONFORM(order_and_boundaries)
CONFORM(info_needs_its_struct_size)
CONFORM(maximum_size)
CONFORM(zero_length_and_zero_copy)
CONFORM(timeouts)
CONFORM(clean_close)
CONFORM(peer_killed_after_sending)
CONFORM(blocked_receiver_sees_a_kill)
CONFORM(many_clients)
CONFORM(two_threads_on_one_channel)

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
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), TU_KILLED);
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

void *late_conn_main(void *arg) {
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

CONFORM(a_send_that_returned_0_is_delivered_and_one_that_timed_out_is_not)
CONFORM(a_sender_learns_the_receiver_closed_rather_than_died)
CONFORM(a_client_that_gave_up_is_never_handed_out)
