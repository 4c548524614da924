/*
 * test_proto.c - the stream protocol (docs/protocol.md) against a hostile or
 * foreign peer on a raw socket: bad handshakes, oversized, truncated and
 * unknown frames. Each gives COLO_EPROTO (or is dropped, on the listener's
 * side), never a crash or an allocation sized by the peer.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* A fresh socket path and its unix:// endpoint. */
static void sock_path(char path[100], char ep[160]) {
  static unsigned n;
  snprintf(path, 100, "/tmp/colo-proto-%d.%u.sock", (int)getpid(), n++);
  snprintf(ep, 160, "unix://%s", path);
}

/* A colo listener on a fresh socket path. */
static colo_listener_t *listen_fresh(char path[100], char ep[160]) {
  sock_path(path, ep);
  colo_listener_t *l = NULL;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  return l;
}

static int raw_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* A unix socket bound at path (whatever was there removed), not listening. */
static int raw_bind(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  unlink(path);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

static int raw_listen(const char *path) {
  int fd = raw_bind(path);
  cr_assert_eq(listen(fd, 4), 0);
  return fd;
}

static void hello(uint8_t h[16], uint16_t major, uint32_t max) {
  memcpy(h, "colo-str", 8);
  memcpy(h + 8, &major, 2);
  memset(h + 10, 0, 2);
  memcpy(h + 12, &max, 4);
}

static void write_all(int fd, const void *p, size_t n) { cr_assert_eq(write(fd, p, n), (ssize_t)n); }

/* ---- a foreign listener ----------------------------------------------------------- */

typedef struct fake_server {
  int lfd;
  uint8_t reply[64];
  size_t reply_len;
  uint8_t after[64]; /* sent after the reply */
  size_t after_len;
  int at_once; /* hangs up without reading the client's hello */
} fake_server_t;

static void *fake_main(void *arg) {
  fake_server_t *s = arg;
  int fd = accept(s->lfd, NULL, NULL);
  if (s->at_once) {
    close(fd);
    return NULL;
  }
  uint8_t in[16];
  ssize_t got = read(fd, in, sizeof in); /* the client's hello */
  (void)got;
  if (s->reply_len) write(fd, s->reply, s->reply_len);
  if (s->after_len) write(fd, s->after, s->after_len);
  usleep(100000);
  close(fd);
  return NULL;
}

/* Connects to a fake listener that answers `reply` and then `after`; returns
 * what connect returned and, when it succeeded, what the first recv did. */
static int against_fake_at(int at_once, const uint8_t *reply, size_t rn, const uint8_t *after, size_t an,
                           int *recv_rc) {
  char path[100], ep[160];
  sock_path(path, ep);
  fake_server_t s = {.lfd = raw_listen(path), .reply_len = rn, .after_len = an, .at_once = at_once};
  if (rn) memcpy(s.reply, reply, rn);
  if (an) memcpy(s.after, after, an);
  tu_thread_t t;
  tu_thread_start(&t, fake_main, &s);
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, NULL, tu_ms(2000));
  if (rc == 0) {
    uint8_t buf[64];
    size_t n;
    *recv_rc = colo_recv(ch, buf, sizeof buf, &n, tu_ms(2000));
    colo_close(ch);
  }
  tu_thread_join(&t);
  close(s.lfd);
  unlink(path);
  return rc;
}

static int against_fake(const uint8_t *reply, size_t rn, const uint8_t *after, size_t an, int *recv_rc) {
  return against_fake_at(0, reply, rn, after, an, recv_rc);
}

Test(proto, a_listener_that_does_not_speak_colo_is_eproto) {
  const char *http = "HTTP/1.1 400 Bad Request\r\n\r\n";
  int r;
  int rc = against_fake((const uint8_t *)http, strlen(http), NULL, 0, &r);
  cr_assert_eq(rc, COLO_EPROTO, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert(strstr(colo_last_error(), "does not speak colo"), "%s", colo_last_error());
}

Test(proto, a_listener_that_hangs_up_in_the_handshake_is_eproto) {
  int r;
  cr_assert_eq(against_fake(NULL, 0, NULL, 0, &r), COLO_EPROTO);
}

/* A listener that refuses at accept (SO_PEERCRED) hangs up before it reads
 * our hello: the client's write of it meets EPIPE, or its read a reset,
 * whichever the race gives. Both are the same refusal. */
Test(proto, a_listener_that_hangs_up_before_reading_the_hello_is_eproto) {
  for (int i = 0; i < 100; i++) {
    int r;
    int rc = against_fake_at(1, NULL, 0, NULL, 0, &r);
    cr_assert_eq(rc, COLO_EPROTO, "try %d: %s: %s", i, colo_errname(rc), colo_last_error());
    cr_assert(strstr(colo_last_error(), "closed the connection during the handshake"), "%s", colo_last_error());
  }
}

Test(proto, another_major_version_is_eversion) {
  uint8_t h[16];
  hello(h, 2, 1000);
  int r;
  cr_assert_eq(against_fake(h, 16, NULL, 0, &r), COLO_EVERSION);
}

Test(proto, an_absurd_maximum_is_eproto) {
  uint8_t h[16];
  hello(h, 1, 0xFFFFFFFFu);
  int r;
  cr_assert_eq(against_fake(h, 16, NULL, 0, &r), COLO_EPROTO);
}

Test(proto, a_maximum_below_what_a_colo_peer_announces_is_eproto) {
  uint32_t tiny[] = {0, 1, 2039};
  for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
    uint8_t h[16];
    hello(h, 1, tiny[i]);
    int r;
    int rc = against_fake(h, 16, NULL, 0, &r);
    cr_assert_eq(rc, COLO_EPROTO, "max %u: %s", tiny[i], colo_errname(rc));
    cr_assert(strstr(colo_last_error(), "the least a colo peer announces is 2040"), "%s", colo_last_error());
  }
  uint8_t h[16];
  hello(h, 1, 2040);
  int r = 0;
  cr_assert_eq(against_fake(h, 16, NULL, 0, &r), 0, "2040 is what the smallest ring carries: %s", colo_last_error());
}

Test(proto, a_listener_drops_a_client_announcing_a_tiny_maximum) {
  char path[100], ep[160];
  colo_listener_t *l = listen_fresh(path, ep);
  int fd = raw_connect(path);
  uint8_t h[16];
  hello(h, 1, 0);
  write_all(fd, h, sizeof h);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, 500), COLO_ETIMEDOUT, "a client that may be sent nothing is no channel");
  char b;
  struct timeval tv = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  cr_assert_eq(read(fd, &b, 1), 0, "it was disconnected, not answered");
  close(fd);
  colo_listener_close(l);
}

Test(proto, a_frame_over_the_maximum_is_eproto) {
  uint8_t h[16], f[8];
  hello(h, 1, 4096);
  uint32_t len = 0x7FFFFFF0u; /* far over what we accept; nothing is allocated for it */
  memcpy(f, &len, 4);
  int r = 0;
  cr_assert_eq(against_fake(h, 16, f, 4, &r), 0);
  cr_assert_eq(r, COLO_EPROTO, "%s", colo_errname(r));
  cr_assert(strstr(colo_last_error(), "exceeds"), "%s", colo_last_error());
}

Test(proto, a_stream_that_ends_inside_a_frame_is_eproto) {
  uint8_t h[16], f[8];
  hello(h, 1, 4096);
  uint32_t len = 10;
  memcpy(f, &len, 4);
  memcpy(f + 4, "abcd", 4); /* 4 of 10 bytes, then the end */
  int r = 0;
  cr_assert_eq(against_fake(h, 16, f, 8, &r), 0);
  cr_assert_eq(r, COLO_EPROTO, "%s", colo_errname(r));
  cr_assert(strstr(colo_last_error(), "inside a frame"), "%s", colo_last_error());
}

Test(proto, an_unknown_control_frame_is_eproto) {
  uint8_t h[16], f[4];
  hello(h, 1, 4096);
  uint32_t ctl = 0x80000007u;
  memcpy(f, &ctl, 4);
  int r = 0;
  cr_assert_eq(against_fake(h, 16, f, 4, &r), 0);
  cr_assert_eq(r, COLO_EPROTO, "%s", colo_errname(r));
}

Test(proto, an_end_without_goodbye_is_a_dead_peer_and_goodbye_is_a_close) {
  uint8_t h[16], f[4];
  hello(h, 1, 4096);
  int r = 0;
  cr_assert_eq(against_fake(h, 16, NULL, 0, &r), 0);
  cr_assert_eq(r, COLO_EPEERDEAD, "%s", colo_errname(r));
  uint32_t bye = 0x80000001u;
  memcpy(f, &bye, 4);
  cr_assert_eq(against_fake(h, 16, f, 4, &r), 0);
  cr_assert_eq(r, COLO_ECLOSED, "%s", colo_errname(r));
}

/* ---- a foreign client --------------------------------------------------------------- */

Test(proto, the_listener_drops_foreign_clients_and_serves_the_next) {
  char path[100], ep[160];
  colo_listener_t *l = listen_fresh(path, ep);
  /* garbage, a wrong version, and a client that says nothing and leaves */
  int a = raw_connect(path), b = raw_connect(path), c = raw_connect(path);
  write_all(a, "GET / HTTP/1.0\r\n\r\n", 18);
  uint8_t h[16];
  hello(h, 9, 100);
  write_all(b, h, 16);
  close(c);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, 300), COLO_ETIMEDOUT, "none of them is a channel");
  /* a real client still gets through */
  tu_proc_t p;
  const char *args[] = {"send-then-die", ep, "3", NULL};
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  cr_assert_eq(colo_accept(l, &ch, tu_ms(5000)), 0, "%s", colo_last_error());
  uint64_t v;
  size_t n;
  for (uint64_t i = 0; i < 3; i++) {
    cr_assert_eq(colo_recv(ch, &v, sizeof v, &n, tu_ms(2000)), 0);
    cr_assert_eq(v, i);
  }
  cr_assert_eq(colo_recv(ch, &v, sizeof v, &n, tu_ms(2000)), COLO_EPEERDEAD);
  tu_wait(&p, tu_ms(5000));
  close(a), close(b);
  colo_close(ch);
  colo_listener_close(l);
  cr_assert_neq(access(path, F_OK), 0, "the listener removed its socket file");
}

Test(proto, a_stale_socket_file_is_replaced_and_a_live_one_refused) {
  char path[100], ep[160];
  sock_path(path, ep);
  int fd = raw_listen(path);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), COLO_EEXIST, "somebody listens there");
  close(fd); /* the file stays, nobody listens: a dead listener's */
  cr_assert_eq(access(path, F_OK), 0);
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  colo_listener_close(l);
  FILE *f = fopen(path, "w"); /* not a socket: never removed */
  fclose(f);
  cr_assert_eq(colo_listen(&l, ep, NULL), COLO_EEXIST);
  cr_assert(strstr(colo_last_error(), "not a socket"), "%s", colo_last_error());
  unlink(path);
}

/* ---- pipe:// against other local users (issue 12) -------------------------------------- */

static void pipe_dir(char *dir, size_t cap) {
  static unsigned n;
  snprintf(dir, cap, "/tmp/colo-proto-pipe-%d.%u", (int)getpid(), n++);
  cr_assert_eq(mkdir(dir, 01777), 0);
  chmod(dir, 01777);
}

/* Writes a request naming nonce into the request FIFO at path. */
static void pipe_request(const char *path, const char *nonce) {
  char rec[32] = "colo-pip";
  memcpy(rec + 8, nonce, 16);
  int fd = open(path, O_WRONLY | O_NONBLOCK);
  cr_assert_geq(fd, 0);
  write_all(fd, rec, sizeof rec);
  close(fd);
}

Test(proto, a_pipe_listener_never_follows_a_link_to_a_clients_fifo) {
  char dir[128], ep[200], req[160], link[240], c2s[240], s2c[240];
  pipe_dir(dir, sizeof dir);
  snprintf(req, sizeof req, "%s/p", dir);
  snprintf(ep, sizeof ep, "pipe://%s", req);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  /* FIFOs elsewhere that the links point at, with our own ends on them: a
   * client HELLO waiting in one, and a reader on the other to catch what a
   * fooled listener would write. */
  snprintf(c2s, sizeof c2s, "%s/victim.c2s", dir);
  snprintf(s2c, sizeof s2c, "%s/victim.s2c", dir);
  cr_assert_eq(mkfifo(c2s, 0600), 0);
  cr_assert_eq(mkfifo(s2c, 0600), 0);
  int in = open(c2s, O_RDWR | O_NONBLOCK), out = open(s2c, O_RDONLY | O_NONBLOCK);
  uint8_t h[16];
  hello(h, 1, 4096);
  write_all(in, h, sizeof h);
  const char *nonce = "0123456789abcdef";
  snprintf(link, sizeof link, "%s.%s.c2s", req, nonce);
  cr_assert_eq(symlink(c2s, link), 0);
  snprintf(link, sizeof link, "%s.%s.s2c", req, nonce);
  cr_assert_eq(symlink(s2c, link), 0);
  pipe_request(req, nonce);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, 500), COLO_ETIMEDOUT, "the request was dropped");
  cr_assert_leq(read(out, h, sizeof h), 0, "nothing was written where the link points");
  struct stat st;
  cr_assert_neq(lstat(link, &st), 0, "the links are removed");
  close(in), close(out);
  unlink(c2s), unlink(s2c);
  colo_listener_close(l);
  rmdir(dir);
}

Test(proto, a_pipe_listener_refuses_a_pair_others_could_open) {
  char dir[128], ep[200], req[160], c2s[240], s2c[240];
  pipe_dir(dir, sizeof dir);
  snprintf(req, sizeof req, "%s/p", dir);
  snprintf(ep, sizeof ep, "pipe://%s", req);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  const char *nonce = "fedcba9876543210";
  snprintf(c2s, sizeof c2s, "%s.%s.c2s", req, nonce);
  snprintf(s2c, sizeof s2c, "%s.%s.s2c", req, nonce);
  mode_t old = umask(0);
  cr_assert_eq(mkfifo(c2s, 0666), 0);
  cr_assert_eq(mkfifo(s2c, 0666), 0);
  umask(old);
  int a = open(c2s, O_RDWR | O_NONBLOCK), b = open(s2c, O_RDWR | O_NONBLOCK);
  pipe_request(req, nonce);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, 500), COLO_ETIMEDOUT, "a pair any user may open is refused");
  cr_assert_neq(access(c2s, F_OK), 0, "and its names removed");
  close(a), close(b);
  colo_listener_close(l);
  rmdir(dir);
}

typedef struct pconn {
  const char *ep;
  colo_chan_t *ch;
  int rc;
} pconn_t;

static void *pconn_main(void *arg) {
  pconn_t *c = arg;
  c->rc = colo_connect(&c->ch, c->ep, NULL, tu_ms(5000));
  return NULL;
}

Test(proto, a_third_user_cannot_open_a_pipe_connections_fifos) {
  if (!tu_is_root()) cr_skip_test("needs root to run a third user (uid 65534)");
  char dir[128], ep[200], req[160], line[128];
  pipe_dir(dir, sizeof dir);
  snprintf(req, sizeof req, "%s/p", dir);
  snprintf(ep, sizeof ep, "pipe://%s", req);
  colo_opts_t o;
  colo_opts_init(&o);
  o.perm = 0666;
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, &o), 0, "%s", colo_last_error());
  pconn_t c = {ep, NULL, 0};
  tu_thread_t th;
  tu_thread_start(&th, pconn_main, &c);
  /* The client's pair waits by name for the listener to accept it. */
  char fifo[512] = "";
  for (uint64_t end = tu_now_ms() + 2000; !fifo[0] && tu_now_ms() < end; usleep(1000)) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (strstr(e->d_name, ".c2s")) snprintf(fifo, sizeof fifo, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
  }
  cr_assert(fifo[0], "the client made its pair");
  struct stat st;
  cr_assert_eq(stat(fifo, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600, "only its owner (and root) may open it");
  tu_proc_t h;
  const char *args[] = {"as-nobody", "try-open", fifo, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
  tu_wait(&h, tu_ms(5000));
  if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
  cr_assert_str_eq(line, "EACCES EACCES", "a third user can neither read nor write it");
  colo_chan_t *srv;
  cr_assert_eq(colo_accept(l, &srv, tu_ms(5000)), 0, "%s", colo_last_error());
  tu_thread_join(&th);
  cr_assert_eq(c.rc, 0, "%s", colo_errname(c.rc));
  colo_close(c.ch);
  colo_close(srv);
  colo_listener_close(l);
  rmdir(dir);
}

/* ---- what a peer announces allocates nothing (issue 12) ------------------------------ */

static size_t vm_size_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

Test(proto, a_peers_announced_maximum_allocates_nothing) {
  char path[100], ep[160];
  colo_listener_t *l = listen_fresh(path, ep);
  size_t before = vm_size_kb();
  /* A client that announces the largest maximum the protocol allows. */
  int fd = raw_connect(path);
  uint8_t h[16];
  hello(h, 1, 1u << 29);
  write_all(fd, h, sizeof h);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, tu_ms(2000)), 0, "%s", colo_last_error());
  cr_assert_eq(colo_max_message(ch), 1u << 29, "it may be sent that much");
  cr_assert_eq(colo_send(ch, "small", 5, tu_ms(1000)), 0);
  size_t after = vm_size_kb();
  cr_assert_lt(after - before, 64u * 1024, "no 512 MiB send buffer: %zu kB more", after - before);
  colo_close(ch);
  close(fd);
  colo_listener_close(l);
}

/* A socket file at path that refuses connections: a dead listener's. */
static void plant_dead_socket(const char *path) {
  close(raw_bind(path)); /* bound, never listening, closed: it refuses */
}

/* No .colo-bind.* or .colo-dead.* name is left in dir. */
static int temp_names_in(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    n += !strncmp(e->d_name, ".colo-bind.", 11) || !strncmp(e->d_name, ".colo-dead.", 11);
  if (d) closedir(d);
  return n;
}

/* A listener whose queue is full and who never accepts holds the name: a
 * new listener says so at once instead of waiting on it for ever. */
Test(proto, a_squatter_that_never_accepts_does_not_hold_up_a_new_listener) {
  char path[100], ep[160];
  sock_path(path, ep);
  int fd = raw_listen(path);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int fill[8], nfill = 0;
  for (; nfill < 8; nfill++) { /* fill its queue */
    fill[nfill] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(fill[nfill], (struct sockaddr *)&sa, sizeof sa) != 0) {
      nfill++;
      break;
    }
  }
  uint64_t t0 = tu_now_ms();
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), COLO_EEXIST, "%s", colo_last_error());
  cr_assert_lt(tu_now_ms() - t0, 2000, "answered in %llu ms", (unsigned long long)(tu_now_ms() - t0));
  cr_assert(strstr(colo_last_error(), "live process"), "%s", colo_last_error());
  for (int i = 0; i < nfill; i++) close(fill[i]);
  close(fd);
  unlink(path);
  cr_assert_eq(temp_names_in("/tmp"), 0, "no temporary name is left");
}

/* Two listeners starting on one path at once: one of them, never both;
 * also when both find a dead listener's socket there to replace. */
Test(proto, two_listeners_starting_at_once_never_both_win) {
  const char *kinds[] = {"unix", "pipe", "colo"};
  for (int k = 0; k < 3; k++) {
    char ep[160];
    snprintf(ep, sizeof ep, "%s:///tmp/colo-proto-%d.dual.%s", kinds[k], (int)getpid(), kinds[k]);
    int both = 0;
    for (int round = 0; round < 150; round++) {
      if (k != 1 && round % 2) plant_dead_socket(ep + 7); /* unix, colo: a dead one's file */
      int go[2], res[2], done[2];
      cr_assert_eq(pipe(go), 0);
      cr_assert_eq(pipe(res), 0);
      cr_assert_eq(pipe(done), 0);
      for (int c = 0; c < 2; c++)
        if (fork() == 0) {
          char x;
          if (read(go[0], &x, 1) != 1) _exit(1);
          colo_listener_t *l;
          int rc = colo_listen(&l, ep, NULL);
          char r = rc == 0 ? 'Y' : 'n';
          if (write(res[1], &r, 1) != 1) _exit(1);
          /* A winner listens until both have tried (a loaded machine may
           * start the other one late): else the later one rightly wins. */
          if (read(done[0], &x, 1) != 1) _exit(1);
          if (!rc) colo_listener_close(l);
          _exit(0);
        }
      write_all(go[1], "xx", 2);
      char a = 0, b = 0;
      cr_assert_eq(read(res[0], &a, 1), 1);
      cr_assert_eq(read(res[0], &b, 1), 1);
      both += a == 'Y' && b == 'Y';
      write_all(done[1], "xx", 2);
      wait(NULL), wait(NULL);
      close(go[0]), close(go[1]), close(res[0]), close(res[1]), close(done[0]), close(done[1]);
    }
    cr_assert_eq(both, 0, "%s: both listeners won in %d of 150 rounds", kinds[k], both);
    unlink(ep + 7);
    cr_assert_eq(temp_names_in("/tmp"), 0, "%s: a listener left a temporary name in /tmp", kinds[k]);
  }
}
