/*
 * test_channel.c - the public channel API between two handles in one process
 * (and threads): message semantics, zero-copy, timeouts, wait modes, clean
 * close, checksums and the error strings. Every platform runs these; the
 * cases that drive POSIX directly (SIGBUS) are in test_channel_posix.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "test_channel.h"

void pair_open_at(pair_t *p, const char *ep, const char *tag, const colo_opts_t *o) {
  if (ep) snprintf(p->ep, sizeof p->ep, "%s", ep);
  else tu_endpoint(p->ep, sizeof p->ep, tag);
  cr_assert_eq(colo_listen(&p->l, p->ep, o), 0, "%s: %s", p->ep, colo_last_error());
  cr_assert_eq(colo_accept(p->l, &p->srv, COLO_NOWAIT), COLO_EAGAIN, "nobody connected yet");
  cr_assert_eq(colo_connect(&p->cli, p->ep, o, tu_ms(1000)), 0, "%s", colo_last_error());
  cr_assert_eq(colo_accept(p->l, &p->srv, tu_ms(1000)), 0, "%s", colo_last_error());
}

void pair_open(pair_t *p, const char *tag, const colo_opts_t *o) { pair_open_at(p, NULL, tag, o); }

void pair_close(pair_t *p) {
  colo_close(p->cli);
  colo_close(p->srv);
  colo_listener_close(p->l);
}

static colo_opts_t opts_cap(uint32_t cap) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.ring_capacity = cap;
  return o;
}

static void expect_msg(colo_chan_t *ch, const void *want, size_t n) {
  char buf[8192];
  size_t got = 12345;
  int rc = colo_recv(ch, buf, sizeof buf, &got, tu_ms(1000));
  cr_assert_eq(rc, 0, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert_eq(got, n);
  cr_assert_eq(memcmp(buf, want, n), 0);
}

Test(chan, both_directions_carry_messages_in_order) {
  pair_t p;
  pair_open(&p, "duplex", NULL);
  cr_assert_str_eq(colo_endpoint(p.cli), p.ep);
  for (int i = 0; i < 100; i++) {
    char m[32];
    int n = snprintf(m, sizeof m, "to server %d", i);
    cr_assert_eq(colo_send(p.cli, m, (size_t)n, 0), 0);
    n = snprintf(m, sizeof m, "to client %d", i);
    cr_assert_eq(colo_send(p.srv, m, (size_t)n, 0), 0);
  }
  for (int i = 0; i < 100; i++) {
    char m[32];
    int n = snprintf(m, sizeof m, "to server %d", i);
    expect_msg(p.srv, m, (size_t)n);
    n = snprintf(m, sizeof m, "to client %d", i);
    expect_msg(p.cli, m, (size_t)n);
  }
  pair_close(&p);
}

Test(chan, zero_length_messages_are_messages) {
  pair_t p;
  pair_open(&p, "zero", NULL);
  cr_assert_eq(colo_send(p.cli, NULL, 0, 0), 0);
  cr_assert_eq(colo_send(p.cli, "x", 0, 0), 0);
  cr_assert_eq(colo_send(p.cli, "y", 1, 0), 0);
  size_t n = 99;
  cr_assert_eq(colo_recv(p.srv, NULL, 0, &n, 0), 0, "a 0-byte message fits a 0-byte buffer");
  cr_assert_eq(n, 0u);
  expect_msg(p.srv, "", 0);
  expect_msg(p.srv, "y", 1);
  cr_assert_eq(colo_recv(p.srv, NULL, 0, &n, 0), COLO_EAGAIN);
  pair_close(&p);
}

Test(chan, largest_message_passes_and_one_more_byte_is_emsgsize) {
  colo_opts_t o = opts_cap(8192);
  pair_t p;
  pair_open(&p, "max", &o);
  size_t max = colo_max_message(p.cli);
  cr_assert_eq(max, 8192u / 2 - 8);
  cr_assert_eq(colo_max_message(p.srv), max);
  uint8_t *m = malloc(max + 1);
  for (size_t i = 0; i <= max; i++) m[i] = (uint8_t)(i * 13 + 1);
  cr_assert_eq(colo_send(p.cli, m, max + 1, 0), COLO_EMSGSIZE);
  cr_assert(strstr(colo_last_error(), "maximum"), "%s", colo_last_error());
  for (int k = 0; k < 10; k++) {
    cr_assert_eq(colo_send(p.cli, m, max, tu_ms(1000)), 0);
    expect_msg(p.srv, m, max);
  }
  free(m);
  pair_close(&p);
}

Test(chan, small_buffer_is_enobufs_and_keeps_the_message) {
  pair_t p;
  pair_open(&p, "nobufs", NULL);
  cr_assert_eq(colo_send(p.cli, "0123456789", 10, 0), 0);
  char small[4];
  size_t n = 0;
  cr_assert_eq(colo_recv(p.srv, small, sizeof small, &n, 0), COLO_ENOBUFS);
  cr_assert_eq(n, 10u, "len says how much room the message needs");
  expect_msg(p.srv, "0123456789", 10);
  pair_close(&p);
}

Test(chan, zero_copy_reserve_commit_and_peek_release) {
  pair_t p;
  pair_open(&p, "zc", NULL);
  void *w;
  cr_assert_eq(colo_reserve(p.cli, 100, &w, 0), 0);
  memcpy(w, "in place", 8);
  cr_assert_eq(colo_commit(p.cli, 8), 0, "commit may be shorter than the reservation");
  cr_assert_eq(colo_commit(p.cli, 8), COLO_ESTATE, "commit without a reservation");
  cr_assert_eq(colo_reserve(p.cli, 10, &w, 0), 0);
  cr_assert_eq(colo_commit(p.cli, 11), COLO_EINVAL, "commit beyond the reservation");
  cr_assert_eq(colo_commit(p.cli, 0), 0);

  const void *r, *r2;
  size_t n, n2;
  cr_assert_eq(colo_peek(p.srv, &r, &n, tu_ms(1000)), 0);
  cr_assert_eq(n, 8u);
  cr_assert_eq(memcmp(r, "in place", 8), 0);
  cr_assert_eq(colo_peek(p.srv, &r2, &n2, 0), 0, "peek again: the same message");
  cr_assert_eq(r2, r);
  cr_assert_eq(n2, n);
  cr_assert_eq(colo_release(p.srv), 0);
  cr_assert_eq(colo_peek(p.srv, &r, &n, 0), 0);
  cr_assert_eq(n, 0u);
  cr_assert_eq(colo_release(p.srv), 0);
  cr_assert_eq(colo_release(p.srv), COLO_ESTATE, "release without a peek");
  cr_assert_eq(colo_peek(p.srv, &r, &n, 0), COLO_EAGAIN);
  pair_close(&p);
}

Test(chan, nowait_is_eagain_and_a_timeout_is_bounded) {
  colo_opts_t o = opts_cap(4096);
  for (int mode = 0; mode <= 2; mode++) {
    o.wait_mode = (colo_wait_mode_t)mode;
    pair_t p;
    pair_open(&p, "timeouts", &o);
    char buf[16];
    size_t n;
    cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, COLO_NOWAIT), COLO_EAGAIN);
    uint64_t t0 = tu_now_ms();
    cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, 100), COLO_ETIMEDOUT);
    uint64_t took = tu_now_ms() - t0;
    cr_assert_geq(took, 100u, "mode %d", mode);
    cr_assert_lt(took, (uint64_t)tu_ms(1000), "mode %d: %llu ms", mode, (unsigned long long)took);
    cr_assert(strstr(colo_last_error(), "timed out"), "%s", colo_last_error());

    /* Fill the 4 KiB ring, then a send times out the same way. */
    static uint8_t big[2040];
    int sent = 0;
    while (colo_send(p.cli, big, sizeof big, COLO_NOWAIT) == 0) sent++;
    cr_assert_geq(sent, 1);
    cr_assert_eq(colo_send(p.cli, big, sizeof big, COLO_NOWAIT), COLO_EAGAIN);
    t0 = tu_now_ms();
    cr_assert_eq(colo_send(p.cli, big, sizeof big, 100), COLO_ETIMEDOUT);
    took = tu_now_ms() - t0;
    cr_assert_geq(took, 100u);
    cr_assert_lt(took, (uint64_t)tu_ms(1000));
    /* Draining one makes room again. */
    size_t got;
    cr_assert_eq(colo_recv(p.srv, big, sizeof big, &got, 0), 0);
    cr_assert_eq(colo_send(p.cli, big, sizeof big, COLO_NOWAIT), 0);
    pair_close(&p);
  }
}

/* ---- a thread blocked in a call is woken ---------------------------------- */

static const char *mode_name(int m) { return m == 0 ? "hybrid" : m == 1 ? "spin" : "block"; }

Test(chan, a_blocked_receiver_is_woken_by_a_send_in_every_mode) {
  colo_opts_t o;
  colo_opts_init(&o);
  for (int mode = 0; mode <= 2; mode++) {
    o.wait_mode = (colo_wait_mode_t)mode;
    pair_t p;
    pair_open(&p, "wakerx", &o);
    for (int round = 0; round < 20; round++) {
      tu_blocked_t b;
      tu_blocked_start(&b, p.srv, TU_RECV_ONE);
      tu_sleep_ms(round % 2 ? 20 : 1); /* asleep, or still spinning */
      uint64_t sent_ms = tu_now_ms();
      cr_assert_eq(colo_send(p.cli, "wake", 4, 0), 0);
      tu_blocked_join(&b);
      cr_assert_eq(b.rc, 0, "%s round %d: %s", mode_name(mode), round, colo_errname(b.rc));
      cr_assert_eq(b.n, 4u);
      /* Woken by the send, not by a 100 ms liveness slice. */
      cr_assert_lt(b.done_ms - sent_ms, 90u, "%s round %d: woke after %llu ms", mode_name(mode), round,
                   (unsigned long long)(b.done_ms - sent_ms));
    }
    pair_close(&p);
  }
}

Test(chan, a_blocked_sender_is_woken_when_space_frees_in_every_mode) {
  colo_opts_t o = opts_cap(4096);
  for (int mode = 0; mode <= 2; mode++) {
    o.wait_mode = (colo_wait_mode_t)mode;
    pair_t p;
    pair_open(&p, "waketx", &o);
    static uint8_t big[2040], buf[4096];
    for (int round = 0; round < 10; round++) {
      while (colo_send(p.cli, big, sizeof big, COLO_NOWAIT) == 0) {
      }
      tu_blocked_t b;
      tu_blocked_start(&b, p.cli, TU_SEND_ONE);
      tu_sleep_ms(20);
      uint64_t freed_ms = tu_now_ms();
      size_t n;
      cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, 0), 0);
      tu_blocked_join(&b);
      cr_assert_eq(b.rc, 0, "%s: %s", mode_name(mode), colo_errname(b.rc));
      cr_assert_lt(b.done_ms - freed_ms, 90u, "%s: woke after %llu ms", mode_name(mode),
                   (unsigned long long)(b.done_ms - freed_ms));
      while (colo_recv(p.srv, buf, sizeof buf, &n, 0) == 0) {
      }
    }
    pair_close(&p);
  }
}

/* ---- clean close ------------------------------------------------------------ */

Test(chan, close_delivers_what_was_sent_then_eclosed) {
  pair_t p;
  pair_open(&p, "close", NULL);
  cr_assert_eq(colo_send(p.cli, "1", 1, 0), 0);
  cr_assert_eq(colo_send(p.cli, "22", 2, 0), 0);
  colo_close(p.cli);
  expect_msg(p.srv, "1", 1);
  expect_msg(p.srv, "22", 2);
  char buf[8];
  size_t n;
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, tu_ms(1000)), COLO_ECLOSED);
  cr_assert(strstr(colo_last_error(), "closed"), "%s", colo_last_error());
  cr_assert_eq(colo_recv(p.srv, buf, sizeof buf, &n, 0), COLO_ECLOSED, "sticky");
  cr_assert_eq(colo_send(p.srv, "x", 1, 0), COLO_ECLOSED, "nobody to send to");
  colo_close(p.srv);
  colo_listener_close(p.l);
}

Test(chan, a_blocked_receiver_sees_the_close_at_once) {
  for (int mode = 0; mode <= 2; mode++) {
    colo_opts_t o;
    colo_opts_init(&o);
    o.wait_mode = (colo_wait_mode_t)mode;
    pair_t p;
    pair_open(&p, "closewake", &o);
    tu_blocked_t b;
    tu_blocked_start(&b, p.srv, TU_RECV_ONE);
    tu_sleep_ms(20);
    uint64_t closed_ms = tu_now_ms();
    colo_close(p.cli);
    tu_blocked_join(&b);
    cr_assert_eq(b.rc, COLO_ECLOSED, "%s: %s", mode_name(mode), colo_errname(b.rc));
    cr_assert_lt(b.done_ms - closed_ms, (uint64_t)tu_ms(200), "%s", mode_name(mode));
    colo_close(p.srv);
    colo_listener_close(p.l);
  }
}

Test(chan, the_last_close_removes_the_segment_in_any_order) {
  /* Linux: the last close unlinks /dev/shm's file. Windows: a section goes
   * with its last handle (nothing to unlink); it is looked at by name. */
  for (int order = 0; order < 3; order++) {
    pair_t p;
    pair_open(&p, "order", NULL);
    if (order == 0) {
      colo_listener_close(p.l);
      colo_close(p.srv);
      cr_assert(tu_segment_exists(p.ep), "the client still holds it");
      colo_close(p.cli);
    } else if (order == 1) {
      colo_close(p.cli);
      colo_close(p.srv);
      cr_assert(tu_segment_exists(p.ep), "the listener still holds it");
      colo_listener_close(p.l);
    } else {
      colo_close(p.srv);
      colo_listener_close(p.l);
      colo_close(p.cli);
    }
    cr_assert_not(tu_segment_exists(p.ep), "order %d", order);
  }
}

Test(chan, one_connection_per_shm_endpoint) {
  pair_t p;
  pair_open(&p, "busy", NULL);
  colo_chan_t *c2, *s2;
  cr_assert_eq(colo_connect(&c2, p.ep, NULL, 0), COLO_EBUSY);
  cr_assert_eq(colo_accept(p.l, &s2, 0), COLO_EBUSY);
  pair_close(&p);
}

Test(chan, connect_without_listener_times_out_bounded) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "nobody");
  colo_chan_t *c;
  cr_assert_eq(colo_connect(&c, ep, NULL, 0), COLO_ENOENT);
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(colo_connect(&c, ep, NULL, 150), COLO_ETIMEDOUT);
  uint64_t took = tu_now_ms() - t0;
  cr_assert_geq(took, 150u);
  cr_assert_lt(took, (uint64_t)tu_ms(1000));
}

/* The listener: the test helper, started on another thread 300 ms after
 * the connect began. */
typedef struct late_listener {
  const char *ep;
  tu_proc_t h;
  int rc;
} late_listener_t;

static void *late_listener_main(void *arg) {
  late_listener_t *ll = arg;
  tu_sleep_ms(300);
  const char *args[] = {"listen-echo", ll->ep, NULL};
  ll->rc = tu_spawn_helper(&ll->h, args);
  return NULL;
}

Test(chan, connect_waits_for_a_late_listener) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "late");
  late_listener_t ll = {.ep = ep, .rc = -1};
  tu_thread_t th;
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(tu_thread_start(&th, late_listener_main, &ll), 0);
  colo_chan_t *c;
  int rc = colo_connect(&c, ep, NULL, tu_ms(5000));
  uint64_t took = tu_now_ms() - t0;
  tu_thread_join(&th);
  cr_assert_eq(ll.rc, 0, "the helper did not start");
  cr_assert_eq(rc, 0, "%s", colo_last_error());
  cr_assert_geq(took, 300u, "connected before the listener started");
  char line[300];
  cr_assert_eq(tu_read_line(&ll.h, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_eq(strncmp(line, "ready ", 6), 0, "%s", line);
  cr_assert_eq(tu_read_line(&ll.h, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_str_eq(line, "COLO_OK", "the helper's accept");
  cr_assert_eq(colo_send(c, "hello", 5, tu_ms(1000)), 0);
  char buf[16];
  size_t n;
  cr_assert_eq(colo_recv(c, buf, sizeof buf, &n, tu_ms(5000)), 0, "%s", colo_last_error());
  cr_assert_eq(n, 5u);
  cr_assert_eq(memcmp(buf, "hello", 5), 0, "echoed by the listener");
  colo_close(c);
  cr_assert_eq(tu_wait(&ll.h, tu_ms(5000)), 0);
}

/* ---- per-message checksum ---------------------------------------------------- */

Test(chan, message_checksum_catches_a_changed_payload) {
  colo_opts_t o = opts_cap(4096);
  o.msg_checksum = 1;
  pair_t p;
  char ep[700];
  pair_open_at(&p, tu_mappable_endpoint(ep, sizeof ep, "cks"), NULL, &o);
  cr_assert_eq(colo_send(p.srv, "checked", 7, 0), 0);
  expect_msg(p.cli, "checked", 7);
  cr_assert_eq(colo_send(p.srv, "checked", 7, 0), 0);
  /* Change one payload byte in the shared mapping, as a faulty peer would. */
  char path[600];
  size_t len;
  uint8_t *m = tu_map_file(tu_shm_path(p.ep, path, sizeof path), &len);
  cr_assert_not_null(m);
  colo__seg_header_t h;
  memcpy(&h, m, sizeof h);
  cr_assert_eq(h.incompat_flags & COLO__SEG_F_MSG_CHECKSUM, COLO__SEG_F_MSG_CHECKSUM);
  m[h.ring[0].data_offset + 16 + 8 + 2] ^= 1; /* second record (the first takes 16 bytes): third byte */
  char buf[16];
  size_t n;
  cr_assert_eq(colo_recv(p.cli, buf, sizeof buf, &n, 0), COLO_ECORRUPT);
  cr_assert(strstr(colo_last_error(), "checksum"), "%s", colo_last_error());
  cr_assert_eq(colo_recv(p.cli, buf, sizeof buf, &n, 0), COLO_ECORRUPT, "a broken ring stays broken");
  tu_unmap(m, len);
  pair_close(&p);
}

/* ---- arguments and strings ----------------------------------------------------- */

Test(chan, null_arguments_and_bad_options_are_einval) {
  colo_opts_t o;
  colo_opts_init(&o);
  colo_listener_t *l;
  o.struct_size = 3;
  cr_assert_eq(colo_listen(&l, "shm://x", &o), COLO_EINVAL);
  colo_opts_init(&o);
  o.wait_mode = (colo_wait_mode_t)7;
  cr_assert_eq(colo_listen(&l, "shm://x", &o), COLO_EINVAL);
  size_t n;
  const void *r;
  void *w;
  cr_assert_eq(colo_send(NULL, "x", 1, 0), COLO_EINVAL);
  cr_assert_eq(colo_recv(NULL, NULL, 0, &n, 0), COLO_EINVAL);
  cr_assert_eq(colo_reserve(NULL, 1, &w, 0), COLO_EINVAL);
  cr_assert_eq(colo_peek(NULL, &r, &n, 0), COLO_EINVAL);
  cr_assert_eq(colo_commit(NULL, 0), COLO_EINVAL);
  cr_assert_eq(colo_release(NULL), COLO_EINVAL);
  cr_assert_eq(colo_accept(NULL, NULL, 0), COLO_EINVAL);
  colo_close(NULL);
  colo_listener_close(NULL);
  pair_t p;
  pair_open(&p, "nullbuf", NULL);
  cr_assert_eq(colo_send(p.cli, NULL, 5, 0), COLO_EINVAL);
  cr_assert_eq(colo_recv(p.srv, NULL, 5, &n, 0), COLO_EINVAL);
  pair_close(&p);
}

Test(chan, every_error_has_a_name_and_a_sentence) {
  int codes[] = {
#define X(name, value, msg) COLO_##name,
      COLO_ERRNO_MAP(X)
#undef X
  };
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    const char *s = colo_strerror(codes[i]);
    cr_assert_not_null(s);
    cr_assert_gt(strlen(s), 5u);
    cr_assert(strstr(s, "unknown") == NULL, "%d", codes[i]);
    cr_assert_eq(strncmp(colo_errname(codes[i]), "COLO_E", 6), 0);
  }
  cr_assert_str_eq(colo_errname(COLO_EPEERDEAD), "COLO_EPEERDEAD");
  cr_assert_str_eq(colo_strerror(COLO_EPEERDEAD), "the peer process died");
  cr_assert_str_eq(colo_errname(0), "COLO_OK");
  cr_assert(strstr(colo_strerror(-999), "unknown"), "%s", colo_strerror(-999));
  cr_assert(strstr(colo_errname(-999), "UNKNOWN") || strstr(colo_errname(-999), "unknown"));
  cr_assert_str_eq(colo_version(), COLO_VERSION_STRING);
}
