/*
 * test_rdv.c - the colo:// transport: the ladder of rungs and the reasons it
 * gives, alternatives, colo_info_endpoint(), and hostile rendezvous peers
 * (records written by hand from docs/protocol.md, not with the library's
 * encoder).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

static void rdv_endpoint(char *buf, size_t cap, const char *tag) {
  static unsigned n;
  snprintf(buf, cap, "colo:///tmp/colo-rdv-%d.%u.%s", (int)getpid(), n++, tag);
}

typedef struct acceptor {
  colo_listener_t *l;
  colo_chan_t *ch;
  int rc, timeout_ms;
  tu_thread_t th;
} acceptor_t;

static void *accept_main(void *arg) {
  acceptor_t *a = arg;
  a->rc = colo_accept(a->l, &a->ch, a->timeout_ms);
  return NULL;
}

static void accept_start(acceptor_t *a, colo_listener_t *l, int timeout_ms) {
  a->l = l, a->ch = NULL, a->rc = 1, a->timeout_ms = timeout_ms;
  tu_thread_start(&a->th, accept_main, a);
}

static void echo_once(colo_chan_t *from, colo_chan_t *to) {
  char buf[16];
  size_t n;
  cr_assert_eq(colo_send(from, "ping", 4, tu_ms(1000)), 0, "%s", colo_last_error());
  cr_assert_eq(colo_recv(to, buf, sizeof buf, &n, tu_ms(1000)), 0, "%s", colo_last_error());
  cr_assert_eq(n, 4u);
  cr_assert_eq(memcmp(buf, "ping", 4), 0);
}

/* Connects to ep (a list allowed) while l accepts; checks both ends ride
 * the same transport, and that a message goes through. */
static colo_chan_t *connect_pair(colo_listener_t *l, const char *ep, colo_chan_t **srv, const char *want) {
  acceptor_t a;
  accept_start(&a, l, tu_ms(5000));
  colo_chan_t *cli;
  int rc = colo_connect(&cli, ep, NULL, tu_ms(5000));
  tu_thread_join(&a.th);
  cr_assert_eq(rc, 0, "connect %s: %s", ep, colo_last_error());
  cr_assert_eq(a.rc, 0, "accept: %s", colo_errname(a.rc));
  cr_assert_str_eq(colo_transport(cli), want);
  cr_assert_str_eq(colo_transport(a.ch), want);
  echo_once(cli, a.ch);
  echo_once(a.ch, cli);
  *srv = a.ch;
  return cli;
}

static int rdv_names_in_dev_shm(void) {
  DIR *d = opendir("/dev/shm");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) n += strncmp(e->d_name, "colo.rdv.", 9) == 0;
  if (d) closedir(d);
  return n;
}

/* ---- the ladder ------------------------------------------------------------------ */

Test(ladder, memfd_first_and_both_sides_say_so) {
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "memfd");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  colo_chan_t *srv, *cli = connect_pair(l, ep, &srv, "memfd");
  colo_info_t in = {.struct_size = sizeof in};
  for (int side = 0; side < 2; side++) {
    cr_assert_eq(colo_info(side ? srv : cli, &in), 0);
    cr_assert_eq(in.rung, 1);
    cr_assert_str_eq(in.transport, "memfd");
    cr_assert_str_eq(in.endpoint, ep);
    cr_assert_eq(in.skipped_count, 0u, "%s: %s", in.skipped[0].what, in.skipped[0].why);
    cr_assert_eq(in.ring_capacity, 1u << 20);
    cr_assert(strstr(in.how, "memfd"), "%s", in.how);
  }
  colo_close(cli);
  colo_close(srv);
  colo_listener_close(l);
}

Test(ladder, refused_descriptor_passing_lands_on_named_shm_and_removes_the_name) {
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "shm");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  int before = rdv_names_in_dev_shm();
  cr_assert_eq(tu_fault(TU_REFUSE_SEG_PASSING, 1), 0);
  colo_chan_t *srv, *cli = connect_pair(l, ep, &srv, "shm");
  tu_fault(TU_REFUSE_SEG_PASSING, 0);
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info(cli, &in), 0);
  cr_assert_eq(in.rung, 2);
  cr_assert_eq(in.skipped_count, 1u);
  cr_assert_str_eq(in.skipped[0].what, "memfd");
  cr_assert(strstr(in.skipped[0].why, "dropped the descriptor"), "%s", in.skipped[0].why);
  cr_assert_eq(colo_info(srv, &in), 0);
  cr_assert_eq(in.rung, 2);
  cr_assert_str_eq(in.skipped[0].what, "memfd", "the listener knows the client's reason too");
  cr_assert_eq(rdv_names_in_dev_shm(), before, "the segment's name is removed once both sides mapped it");
  /* The lifeline works on this rung too. */
  colo_close(cli);
  char c;
  size_t n;
  cr_assert_eq(colo_recv(srv, &c, 1, &n, tu_ms(1000)), COLO_ECLOSED, "%s", colo_last_error());
  colo_close(srv);
  colo_listener_close(l);
}

/* The listener's system refuses to send the memfd: that rung is skipped with
 * the reason (not the whole handshake), and the client lands on the next. */
Test(ladder, a_segment_the_system_will_not_send_skips_the_memfd_rung_with_the_reason) {
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "nosend");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  cr_assert_eq(tu_fault(TU_FORBID_SEG_SENDING, 1), 0);
  colo_chan_t *srv, *cli = connect_pair(l, ep, &srv, "shm");
  tu_fault(TU_FORBID_SEG_SENDING, 0);
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info(srv, &in), 0);
  cr_assert_eq(in.rung, 2);
  cr_assert_str_eq(in.skipped[0].what, "memfd");
  cr_assert(strstr(in.skipped[0].why, "could not be passed"), "%s", in.skipped[0].why);
  cr_assert_eq(colo_info(cli, &in), 0);
  cr_assert_eq(in.rung, 2, "the client was told and took the next rung");
  cr_assert(strstr(in.skipped[0].why, "could not be passed"), "the client knows why: %s", in.skipped[0].why);
  cr_assert_eq(colo_send(cli, "x", 1, tu_ms(1000)), 0);
  char c;
  size_t n;
  cr_assert_eq(colo_recv(srv, &c, 1, &n, tu_ms(1000)), 0, "%s", colo_last_error());
  colo_close(cli);
  colo_close(srv);
  colo_listener_close(l);
}

/* The peer in its own mount namespace with its own /dev/shm (as root). */
static void private_dev_shm(int refuse_fdpass, const char *want) {
  if (!tu_is_root()) {
    cr_skip_test("needs root for a mount namespace");
    return;
  }
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "ns");
  if (refuse_fdpass) cr_assert_eq(tu_fault(TU_REFUSE_SEG_PASSING, 1), 0);
  tu_proc_t h;
  const char *args[] = {"refuse-fdpass", "serve-private-shm", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&h, refuse_fdpass ? args : args + 1), 0);
  char line[256];
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(10000)), 0);
  if (strncmp(line, "SKIP", 4) == 0) {
    tu_wait(&h, tu_ms(5000));
    cr_skip_test("%s", line);
    return;
  }
  cr_assert_str_eq(line, "ready");
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, NULL, tu_ms(5000));
  tu_fault(TU_REFUSE_SEG_PASSING, 0);
  cr_assert_eq(rc, 0, "%s", colo_last_error());
  cr_assert_str_eq(colo_transport(ch), want);
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_str_eq(line, want, "the listener rides the same rung");
  char buf[16];
  size_t n;
  cr_assert_eq(colo_send(ch, "hello", 5, tu_ms(1000)), 0);
  cr_assert_eq(colo_recv(ch, buf, sizeof buf, &n, tu_ms(5000)), 0, "%s", colo_last_error());
  cr_assert_eq(n, 5u);
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info(ch, &in), 0);
  if (refuse_fdpass) {
    cr_assert_eq(in.rung, 3);
    cr_assert_eq(in.skipped_count, 2u);
    cr_assert_str_eq(in.skipped[1].what, "shm");
    cr_assert(strstr(in.skipped[1].why, "different /dev/shm mounts"), "%s", in.skipped[1].why);
  } else {
    cr_assert_eq(in.rung, 1, "a memfd needs no shared /dev/shm");
  }
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), 0);
  colo_close(ch);
}

Test(ladder, private_dev_shm_without_descriptor_passing_lands_on_the_socket) { private_dev_shm(1, "unix"); }
Test(ladder, private_dev_shm_still_gets_memfd) { private_dev_shm(0, "memfd"); }

Test(ladder, missing_socket_path_falls_back_to_the_tcp_alternative) {
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, "tcp://127.0.0.1:0", NULL), 0);
  char ep[256], missing[128];
  rdv_endpoint(missing, sizeof missing, "missing");
  snprintf(ep, sizeof ep, "%s,%s", missing, colo_listener_endpoint(l));
  colo_chan_t *srv, *cli = connect_pair(l, ep, &srv, "tcp");
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info(cli, &in), 0);
  cr_assert_str_eq(in.endpoint, colo_listener_endpoint(l));
  cr_assert_eq(in.skipped_count, 1u);
  cr_assert_str_eq(in.skipped[0].what, missing);
  cr_assert(strstr(in.skipped[0].why, "No such file"), "%s", in.skipped[0].why);
  colo_close(cli);
  colo_close(srv);
  colo_listener_close(l);
}

Test(ladder, a_list_where_nothing_answers_says_why_for_each) {
  char ep[256], a[128], b[128];
  rdv_endpoint(a, sizeof a, "none1");
  snprintf(b, sizeof b, "unix:///tmp/colo-rdv-%d.none2.sock", (int)getpid());
  snprintf(ep, sizeof ep, "%s,%s", a, b);
  colo_chan_t *ch;
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(colo_connect(&ch, ep, NULL, 300), COLO_ETIMEDOUT, "as a single endpoint: %s", colo_last_error());
  cr_assert_geq(tu_now_ms() - t0, 250u, "the list is retried until the timeout");
  cr_assert(strstr(colo_last_error(), a) && strstr(colo_last_error(), b), "%s", colo_last_error());
  cr_assert(strstr(colo_last_error(), "within 300 ms"), "%s", colo_last_error());
  cr_assert_eq(colo_connect(&ch, ep, NULL, 0), COLO_ENOENT, "timeout 0: one try, its own code: %s",
               colo_last_error());
  cr_assert_eq(colo_connect(&ch, "colo:///tmp/x,bogus://y", NULL, 0), COLO_EINVAL);
  cr_assert_eq(colo_connect(&ch, "colo:///tmp/x,,tcp://127.0.0.1:1", NULL, 0), COLO_EINVAL);
  cr_assert(strstr(colo_last_error(), "an empty alternative"), "%s", colo_last_error());
}

/* A listener that appears late, on another thread. */
typedef struct late {
  char ep[128];
  int after_ms;
  colo_listener_t *l;
  acceptor_t a;
  tu_thread_t th;
} late_t;

static void *late_main(void *arg) {
  late_t *lt = arg;
  tu_sleep_ms(lt->after_ms);
  if (colo_listen(&lt->l, lt->ep, NULL) == 0) {
    lt->a.l = lt->l, lt->a.timeout_ms = tu_ms(10000);
    accept_main(&lt->a);
  }
  return NULL;
}

/* Connects to "first,unix://LATE" where a unix listener appears on LATE
 * after after_ms; checks the channel went over it, skipping `first` for a
 * reason that contains why, and echoes once. Returns how long it took. */
static uint64_t list_reaches_a_late_listener(const char *first, int after_ms, const char *why) {
  late_t lt = {.after_ms = after_ms};
  snprintf(lt.ep, sizeof lt.ep, "unix:///tmp/colo-rdv-%d.late.sock", (int)getpid());
  lt.a.rc = 1;
  char list[400];
  snprintf(list, sizeof list, "%s,%s", first, lt.ep);
  tu_thread_start(&lt.th, late_main, &lt);
  uint64_t t0 = tu_now_ms();
  colo_chan_t *cli = NULL;
  int rc = colo_connect(&cli, list, NULL, tu_ms(10000));
  uint64_t took = tu_now_ms() - t0;
  tu_thread_join(&lt.th);
  cr_assert_eq(rc, 0, "after %llu ms: %s", (unsigned long long)took, colo_last_error());
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info(cli, &in), 0);
  cr_assert_str_eq(in.transport, "unix");
  cr_assert_eq(in.skipped_count, 1u);
  cr_assert_str_eq(in.skipped[0].what, first);
  cr_assert(strstr(in.skipped[0].why, why), "%s", in.skipped[0].why);
  cr_assert_eq(lt.a.rc, 0, "%s", colo_last_error());
  echo_once(cli, lt.a.ch);
  colo_close(cli);
  colo_close(lt.a.ch);
  colo_listener_close(lt.l);
  return took;
}

/* One alternative whose segment never becomes READY (a creator killed while
 * sizing it) is given up after 2 s; the others are still tried, and the
 * listener that appears later is reached. */
Test(ladder, a_segment_stuck_not_ready_in_a_list_does_not_stop_the_other_alternatives) {
  char stuck[128], path[160], first[160];
  tu_shm_name(stuck, sizeof stuck, "stuck");
  snprintf(path, sizeof path, "/dev/shm/colo.%s", stuck);
  FILE *f = fopen(path, "w"); /* empty: being created, as far as anyone can tell */
  cr_assert(f != NULL);
  fclose(f);
  snprintf(first, sizeof first, "shm://%s", stuck);
  uint64_t took = list_reaches_a_late_listener(first, 3000, "did not finish initialising");
  unlink(path);
  cr_assert_geq(took, 2500u, "the unix listener appeared after 3 s");
}

/* An alternative that cannot succeed by waiting (here a file that is not a
 * colo segment; another user could plant one) is given up on, and the
 * listener that appears later on the next alternative is still reached. */
Test(ladder, an_alternative_that_fails_for_good_does_not_stop_the_list) {
  char junk[128], first[160];
  snprintf(junk, sizeof junk, "/tmp/colo-rdv-%d.junk", (int)getpid());
  FILE *f = fopen(junk, "w");
  cr_assert(f != NULL);
  fputs("not a colo segment, just some bytes of a file that is long enough to be looked at..............\n", f);
  fclose(f);
  snprintf(first, sizeof first, "file://%s", junk);
  list_reaches_a_late_listener(first, 1500, "truncated");
  unlink(junk);
}

/* ---- colo_info_endpoint ------------------------------------------------------------- */

Test(probe, runs_the_handshake_without_taking_a_connection_from_the_application) {
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "probe");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info_endpoint(ep, NULL, 200, &in), COLO_ETIMEDOUT, "nobody accepts yet: %s",
               colo_last_error());
  cr_assert(strstr(colo_last_error(), "colo_accept"), "%s", colo_last_error());
  acceptor_t a;
  accept_start(&a, l, tu_ms(5000));
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(colo_info_endpoint(ep, NULL, tu_ms(5000), &in), 0, "%s", colo_last_error());
    cr_assert_str_eq(in.transport, "memfd");
    cr_assert_eq(in.rung, 1);
  }
  colo_chan_t *cli;
  cr_assert_eq(colo_connect(&cli, ep, NULL, tu_ms(5000)), 0, "%s", colo_last_error());
  tu_thread_join(&a.th);
  cr_assert_eq(a.rc, 0, "the real client, not a probe, is accepted");
  echo_once(cli, a.ch);
  colo_close(cli);
  colo_close(a.ch);
  colo_listener_close(l);
}

Test(probe, direct_endpoints_are_reached_not_taken) {
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, "tcp://127.0.0.1:0", NULL), 0);
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info_endpoint(colo_listener_endpoint(l), NULL, tu_ms(2000), &in), 0, "%s", colo_last_error());
  cr_assert_str_eq(in.transport, "tcp");
  cr_assert(strstr(in.how, "accepts connections"), "%s", in.how);
  colo_chan_t *srv, *cli = connect_pair(l, colo_listener_endpoint(l), &srv, "tcp");
  colo_close(cli);
  colo_close(srv);
  colo_listener_close(l);
  char ep[128];
  tu_endpoint(ep, sizeof ep, "probe");
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  cr_assert_eq(colo_info_endpoint(ep, NULL, 0, &in), 0, "%s", colo_last_error());
  cr_assert_str_eq(in.transport, "shm");
  cr_assert_eq(in.ring_capacity, 1u << 20);
  colo_listener_close(l);
}

/* ---- hostile peers ------------------------------------------------------------------ */

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

static int raw_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

Test(hostile, a_garbage_client_is_dropped_and_the_next_one_served) {
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "garbage");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  acceptor_t a;
  accept_start(&a, l, tu_ms(8000));
  /* A record type that does not exist; a request with a body of 65535 bytes;
   * a request with the wrong magic. */
  static const uint8_t bad[][8] = {{9, 0, 0, 0}, {1, 0, 0xff, 0xff}, {1, 0, 4, 0, 'c', 'o', 'l', 'x'}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int fd = raw_connect(ep + 7);
    cr_assert_eq(write(fd, bad[i], sizeof bad[i]), (ssize_t)sizeof bad[i]);
    char c;
    cr_assert_leq(read(fd, &c, 1), 0, "the listener drops it without an answer");
    close(fd);
  }
  colo_chan_t *cli;
  cr_assert_eq(colo_connect(&cli, ep, NULL, tu_ms(5000)), 0, "%s", colo_last_error());
  tu_thread_join(&a.th);
  cr_assert_eq(a.rc, 0);
  echo_once(cli, a.ch);
  colo_close(cli);
  colo_close(a.ch);
  colo_listener_close(l);
}

/* A fake listener on path: accepts one client, reads its request, then
 * sends what the script says. */
typedef struct fake {
  int lfd;
  int unsealed_memfd; /* offer rung 1 with a memfd that is not sealed */
  const uint8_t *raw; /* else: these bytes */
  size_t raw_len;
  tu_thread_t th;
} fake_t;

static void *fake_main(void *arg) {
  fake_t *f = arg;
  int c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
  uint8_t req[24];
  if (c < 0 || read(c, req, sizeof req) != (ssize_t)sizeof req) return NULL;
  if (f->unsealed_memfd) {
    int mfd = memfd_create("not-sealed", MFD_CLOEXEC);
    if (ftruncate(mfd, 1 << 16) != 0) return NULL;
    uint8_t offer[4 + 24] = {0};
    put16(offer, 2), put16(offer + 2, 24);
    offer[4] = 1;
    offer[4 + 4 + 16 + 1] = 0x10; /* max_rx 4096 */
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(int))];
    } u;
    struct iovec iov = {offer, sizeof offer};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET, h->cmsg_type = SCM_RIGHTS, h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &mfd, sizeof mfd);
    if (sendmsg(c, &m, MSG_NOSIGNAL) != (ssize_t)sizeof offer) return NULL;
    close(mfd);
    /* The client's SKIP for rung 1, then: nothing left. */
    uint8_t skip[4 + 4 + 400];
    if (read(c, skip, 4) != 4) return NULL;
    size_t len = (size_t)(skip[2] | skip[3] << 8);
    if (len > sizeof skip - 4 || read(c, skip + 4, len) != (ssize_t)len) return NULL;
    uint8_t none[8] = {3, 0, 4, 0, 0, 0, 0, 0};
    if (write(c, none, sizeof none) != (ssize_t)sizeof none) return NULL;
  } else {
    if (write(c, f->raw, f->raw_len) != (ssize_t)f->raw_len) return NULL;
    shutdown(c, SHUT_WR);
  }
  char drain[64];
  while (read(c, drain, sizeof drain) > 0) {
  }
  close(c);
  return NULL;
}

static void fake_start(fake_t *f, const char *ep) {
  f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", ep + 7);
  unlink(sa.sun_path);
  cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(f->lfd, 4), 0);
  tu_thread_start(&f->th, fake_main, f);
}

static void fake_end(fake_t *f, const char *ep) {
  tu_thread_join(&f->th);
  close(f->lfd);
  unlink(ep + 7);
}

Test(hostile, an_unsealed_memfd_is_refused_with_its_reason) {
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "unsealed");
  fake_t f = {.unsealed_memfd = 1};
  fake_start(&f, ep);
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, NULL, tu_ms(5000));
  fake_end(&f, ep);
  cr_assert_eq(rc, COLO_ENOTSUP, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert(strstr(colo_last_error(), "not a memory object sealed against resizing"), "%s", colo_last_error());
}

Test(hostile, bad_records_from_a_listener_are_protocol_errors) {
  static const struct {
    uint8_t b[32];
    size_t n;
  } cases[] = {
      {{2, 0, 0xff, 0x7f}, 4},                                     /* an offer of 32767 bytes */
      {{2, 0, 24, 0, 9, 0, 0, 0}, 28},                             /* rung 9 */
      {{2, 0, 24, 0, 3, 0, 0, 0, [24] = 0xff, 0xff, 0xff, 0xff}, 28}, /* max message 4 GiB */
      {{5, 0, 4, 0, 3, 0, 0, 0}, 8},                               /* DONE before any offer */
      {{4, 0, 1}, 3},                                              /* a truncated record, then EOF */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char ep[128];
    rdv_endpoint(ep, sizeof ep, "badrec");
    fake_t f = {.raw = cases[i].b, .raw_len = cases[i].n};
    fake_start(&f, ep);
    colo_chan_t *ch;
    int rc = colo_connect(&ch, ep, NULL, tu_ms(5000));
    fake_end(&f, ep);
    cr_assert(rc == COLO_EPROTO || rc == COLO_EPEERDEAD, "case %zu: %s: %s", i, colo_errname(rc), colo_last_error());
  }
}

/* ---- the named rung and other users (issue 12) ------------------------------------ */

/* The descriptor of the rung-2 segment this process maps (its name is gone). */
static int rung2_fd(struct stat *st) {
  int fd = tu_reopen_fd_to("/dev/shm/colo.rdv.");
  if (fd >= 0) fstat(fd, st);
  return fd;
}

Test(hostile, the_named_rung_is_private_to_the_user_even_on_an_open_socket) {
  char ep[128];
  rdv_endpoint(ep, sizeof ep, "priv");
  colo_opts_t o;
  colo_opts_init(&o);
  o.perm = 0666; /* a socket clients of any user may reach */
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, &o), 0, "%s", colo_last_error());
  cr_assert_eq(tu_fault(TU_REFUSE_SEG_PASSING, 1), 0);
  colo_chan_t *srv, *cli = connect_pair(l, ep, &srv, "shm");
  tu_fault(TU_REFUSE_SEG_PASSING, 0);
  struct stat st;
  int fd = rung2_fd(&st);
  cr_assert_geq(fd, 0, "the rung-2 segment is mapped");
  cr_assert_eq(st.st_mode & 0777, 0600, "owner only, not the socket's %o", 0666);
  /* A truncated named rung fails the channel; nobody dies of SIGBUS. */
  cr_assert_eq(ftruncate(fd, 0), 0);
  close(fd);
  cr_assert_eq(colo_send(cli, "x", 1, 0), COLO_ECORRUPT, "%s", colo_last_error());
  char c;
  size_t n;
  cr_assert_eq(colo_recv(srv, &c, 1, &n, tu_ms(1000)), COLO_ECORRUPT, "%s", colo_last_error());
  colo_close(cli);
  colo_close(srv);
  colo_listener_close(l);
}

Test(hostile, a_client_of_another_user_skips_the_named_rung_with_the_reason) {
  if (!tu_is_root()) cr_skip_test("needs root to run the client as another user (uid 65534)");
  char ep[128], line[512];
  rdv_endpoint(ep, sizeof ep, "other");
  colo_opts_t o;
  colo_opts_init(&o);
  o.perm = 0666;
  o.peer_user = "*";
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, &o), 0, "%s", colo_last_error());
  cr_assert_eq(tu_fault(TU_REFUSE_SEG_PASSING, 1), 0); /* (and the helper, told so: no memfd) */
  tu_proc_t h;
  const char *args[] = {"refuse-fdpass", "as-nobody", "connect-echo", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  tu_fault(TU_REFUSE_SEG_PASSING, 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, tu_ms(5000)), 0, "%s", colo_last_error());
  colo_info_t in = {.struct_size = sizeof in};
  cr_assert_eq(colo_info(ch, &in), 0);
  cr_assert_eq(in.rung, 3, "the socket carries it");
  cr_assert_eq(in.skipped_count, 2u);
  cr_assert_str_eq(in.skipped[1].what, "shm");
  cr_assert(strstr(in.skipped[1].why, "another user"), "%s", in.skipped[1].why);
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
  if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
  cr_assert_str_eq(line, "COLO_OK unix");
  char buf[16];
  size_t n;
  cr_assert_eq(colo_recv(ch, buf, sizeof buf, &n, tu_ms(2000)), 0);
  cr_assert_eq(colo_send(ch, buf, n, tu_ms(2000)), 0);
  tu_wait(&h, tu_ms(5000));
  colo_close(ch);
  colo_listener_close(l);
}

Test(hostile, junk_on_the_lifeline_ends_the_channel_at_once) {
  char ep[128], line[64];
  rdv_endpoint(ep, sizeof ep, "junk");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  tu_proc_t h;
  const char *args[] = {"connect-junk-die", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, tu_ms(5000)), 0, "%s", colo_last_error());
  cr_assert_str_eq(colo_transport(ch), "memfd");
  cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_str_eq(line, "ready");
  tu_wait(&h, tu_ms(5000));
  uint64_t t0 = tu_now_ms();
  char c;
  size_t n;
  int rc = colo_recv(ch, &c, 1, &n, tu_ms(10000));
  cr_assert_eq(rc, COLO_EPROTO, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert(strstr(colo_last_error(), "rendezvous connection"), "%s", colo_last_error());
  cr_assert_lt(tu_now_ms() - t0, 1000u, "16 KiB of junk do not hide the end");
  cr_assert_eq(colo_send(ch, "x", 1, 0), COLO_EPROTO, "sticky");
  colo_close(ch);
  colo_listener_close(l);
}
