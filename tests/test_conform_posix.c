/*
 * test_conform_posix.c - the conformance cases that drive POSIX directly:
 * poll on colo_fd, raw sockets and FIFOs that never speak, a full accept
 * queue, a symbolic link at the socket's name, another user (root, uid
 * 65534), fork, a segment file truncated under the channel. Run over every
 * transport as test_conform.c's are (see test_conform.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
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

#include "test_conform.h"

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

typedef struct accept_job {
  colo_listener_t *l;
  int timeout_ms, rc;
} accept_job_t;

static void *accept_main(void *arg) {
  accept_job_t *a = arg;
  colo_chan_t *ch = NULL;
  a->rc = colo_accept(a->l, &ch, a->timeout_ms);
  if (!a->rc) colo_close(ch);
  return NULL;
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
    /* shm:// and file:// have no credentials of a connector: the file mode
     * decides; tcp:// has none at all. */
    int checks = t == T_UNIX || t == T_PIPE || t == T_MEMFD;
    if (checks && !named) {
      /* The listener accepts in a thread: the client hears at once that it
       * was refused (the connection was cut in the handshake), long before
       * its own 5 s connect timeout or the listener's accept timeout. */
      accept_job_t a = {.l = p.l, .timeout_ms = tu_ms(3000)};
      tu_thread_t th;
      uint64_t t0 = tu_now_ms();
      tu_thread_start(&th, accept_main, &a);
      int got = tu_read_line(&h, line, sizeof line, tu_ms(5000));
      uint64_t took = tu_now_ms() - t0;
      tu_thread_join(&th);
      cr_assert_eq(got, 0);
      if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
      cr_assert_eq(a.rc, COLO_ETIMEDOUT, "the other user's client was dropped: %s", colo_errname(a.rc));
      cr_assert(!strncmp(line, "COLO_EPROTO", 11), "cut off in the handshake: %s", line);
      cr_assert(strstr(line, "does not accept this user"), "%s", line);
      cr_assert_lt(took, (uint64_t)tu_ms(1500), "the refused client knew at once, not at a deadline (%llu ms)",
                   (unsigned long long)took);
    } else {
      colo_chan_t *ch = NULL;
      int rc = colo_accept(p.l, &ch, tu_ms(2000));
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
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), TU_KILLED);
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

RING_CONFORM(truncated_segment_fails_the_channel)

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
CONFORM(fd_polls_readable)
CONFORM(silent_clients_hold_up_nobody)
CONFORM(a_busy_listener_is_waited_for_not_reported_dead)
