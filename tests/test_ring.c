/*
 * test_ring.c - the SPSC record ring on its own, in heap memory sized exactly
 * (so ASan sees any access outside it), including a hostile peer, index wrap
 * points and a two-thread stream through the sleep protocol (run under TSan).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../shims/shim.h"
#include "ring.h"
#include "testutil.h"

typedef struct rig {
  colo__seg_ring_ctrl_t *ctrl;
  uint8_t *data;
  uint64_t cap;
  colo__ring_t p, c;
} rig_t;

/* spins: which sides declare that they never sleep (1 producer, 2 consumer). */
static void rig_init_spin(rig_t *r, uint64_t cap, uint64_t start, int cks, int spins) {
  r->ctrl = tu_aligned_alloc(64, sizeof *r->ctrl);
  r->data = malloc(cap);
  cr_assert_not_null(r->ctrl);
  cr_assert_not_null(r->data);
  memset(r->data, 0xAB, cap);
  r->cap = cap;
  colo__ring_format(r->ctrl, start);
  cr_assert_eq(colo__ring_attach(&r->p, COLO__RING_PRODUCER, r->ctrl, r->data, cap, cks, spins & 1), 0);
  cr_assert_eq(colo__ring_attach(&r->c, COLO__RING_CONSUMER, r->ctrl, r->data, cap, cks, (spins & 2) != 0), 0);
}

static void rig_init(rig_t *r, uint64_t cap, uint64_t start, int cks) { rig_init_spin(r, cap, start, cks, 0); }

static void rig_free(rig_t *r) {
  tu_aligned_free(r->ctrl);
  free(r->data);
}

static int put(rig_t *r, const void *buf, size_t len) {
  void *dst;
  int wake, rc = colo__ring_reserve(&r->p, len, &dst);
  if (rc) return rc;
  if (len) memcpy(dst, buf, len);
  return colo__ring_commit(&r->p, len, &wake);
}

static int get(rig_t *r, void *buf, size_t cap, size_t *len) {
  const void *src;
  int wake, rc = colo__ring_peek(&r->c, &src, len);
  if (rc) return rc;
  cr_assert_geq((const uint8_t *)src, r->data, "payload starts inside the data area");
  cr_assert_leq((const uint8_t *)src + *len, r->data + r->cap, "payload ends inside the data area");
  if (*len > cap) return COLO_ENOBUFS;
  memcpy(buf, src, *len);
  if ((rc = colo__ring_verify(&r->c, buf, *len)) != 0) return rc;
  return colo__ring_release(&r->c, &wake);
}

Test(ring, empty_ring_peeks_eagain) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  const void *p;
  size_t n;
  cr_assert_eq(colo__ring_peek(&r.c, &p, &n), COLO_EAGAIN);
  _Atomic uint32_t *word;
  uint32_t expect;
  cr_assert_eq(colo__ring_prepare_wait(&r.c, &word, &expect), 1, "an empty ring lets the consumer sleep");
  cr_assert_eq(word, colo__lo32(&r.ctrl->tail));
  cr_assert_eq(expect, 0u);
  colo__ring_finish_wait(&r.c);
  rig_free(&r);
}

Test(ring, zero_length_messages_keep_their_boundaries) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  /* A zero-length record takes 8 bytes: exactly cap/8 of them fill the ring. */
  for (int i = 0; i < 4096 / 8; i++) cr_assert_eq(put(&r, NULL, 0), 0, "message %d", i);
  cr_assert_eq(put(&r, NULL, 0), COLO_EAGAIN, "the ring is full");
  uint8_t buf[1];
  size_t n = 99;
  for (int i = 0; i < 4096 / 8; i++) {
    cr_assert_eq(get(&r, buf, sizeof buf, &n), 0);
    cr_assert_eq(n, 0u);
  }
  cr_assert_eq(get(&r, buf, sizeof buf, &n), COLO_EAGAIN);
  rig_free(&r);
}

Test(ring, full_ring_refuses_until_the_consumer_releases) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  uint8_t msg[1000] = {1}, out[1000];
  int sent = 0;
  while (put(&r, msg, sizeof msg) == 0) sent++;
  cr_assert_eq(sent, 4, "4 records of 1008 bytes fit 4096");
  cr_assert_eq(put(&r, msg, sizeof msg), COLO_EAGAIN);
  size_t n;
  cr_assert_eq(get(&r, out, sizeof out, &n), 0);
  cr_assert_eq(put(&r, msg, sizeof msg), 0, "released space is reused");
  rig_free(&r);
}

Test(ring, maximum_message_fits_from_every_offset) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  uint32_t max = colo__ring_max_msg(4096);
  cr_assert_eq(max, 2048u - 8u);
  uint8_t *big = malloc(max + 1), *out = malloc(max + 1);
  for (uint32_t i = 0; i < max + 1; i++) big[i] = (uint8_t)(i * 7);
  cr_assert_eq(put(&r, big, max + 1), COLO_EMSGSIZE);
  /* Advance the indices 8 bytes at a time over a whole lap, sending the
   * largest message from each position. */
  for (int step = 0; step < 4096 / 8 + 3; step++) {
    size_t n;
    cr_assert_eq(put(&r, big, max), 0, "step %d", step);
    cr_assert_eq(get(&r, out, max, &n), 0);
    cr_assert_eq(n, max);
    cr_assert_eq(memcmp(out, big, max), 0);
    cr_assert_eq(put(&r, NULL, 0), 0);
    cr_assert_eq(get(&r, out, max, &n), 0);
  }
  free(big);
  free(out);
  rig_free(&r);
}

static void stream_across(uint64_t start) {
  rig_t r;
  rig_init(&r, 8192, start, 1);
  static uint8_t msg[4096], out[4096];
  uint64_t sent = 0, got = 0;
  while (got < 20000) {
    size_t len = tu_msg(7, sent, 3000, msg);
    int full = put(&r, msg, len) != 0;
    if (!full) sent++;
    size_t n;
    /* Drain irregularly so that the indices meet the wrap point at many
     * different fill levels, and always when the ring is full. */
    if (got < sent && (full || sent - got > 3 || (sent & 1))) {
      cr_assert_eq(get(&r, out, sizeof out, &n), 0);
      size_t want = tu_msg(7, got, 3000, msg);
      cr_assert_eq(n, want, "message %llu", (unsigned long long)got);
      cr_assert_eq(memcmp(out, msg, n), 0);
      got++;
    }
  }
  cr_assert(r.p.self - start > 1000000, "the indices went a long way past the start");
  rig_free(&r);
}

Test(ring, wraps_past_u32_max) { stream_across((1ull << 32) - 5000); }
Test(ring, wraps_past_u64_max) { stream_across(UINT64_MAX - 5000); }

Test(ring, commit_may_be_shorter_than_the_reservation) {
  rig_t r;
  rig_init(&r, 4096, 0, 1);
  void *dst;
  int wake;
  cr_assert_eq(colo__ring_reserve(&r.p, 1500, &dst), 0);
  memcpy(dst, "hello", 5);
  cr_assert_eq(colo__ring_commit(&r.p, 1501, &wake), COLO_EINVAL, "cannot commit more than reserved");
  cr_assert_eq(colo__ring_commit(&r.p, 5, &wake), 0);
  cr_assert_eq(colo__ring_commit(&r.p, 5, &wake), COLO_ESTATE, "nothing reserved any more");
  char out[16];
  size_t n;
  cr_assert_eq(get(&r, out, sizeof out, &n), 0);
  cr_assert_eq(n, 5u);
  cr_assert_eq(memcmp(out, "hello", 5), 0);
  cr_assert_eq(r.p.self, 16u, "a 5-byte record takes 16 bytes");
  rig_free(&r);
}

Test(ring, a_second_reserve_replaces_the_first) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  void *a, *b;
  int wake;
  cr_assert_eq(colo__ring_reserve(&r.p, 100, &a), 0);
  cr_assert_eq(colo__ring_reserve(&r.p, 10, &b), 0);
  cr_assert_eq(a, b);
  memcpy(b, "0123456789", 10);
  cr_assert_eq(colo__ring_commit(&r.p, 10, &wake), 0);
  char out[100];
  size_t n;
  cr_assert_eq(get(&r, out, sizeof out, &n), 0);
  cr_assert_eq(n, 10u);
  cr_assert_eq(get(&r, out, sizeof out, &n), COLO_EAGAIN, "only one message was committed");
  rig_free(&r);
}

Test(ring, peek_returns_the_same_message_until_release) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  int wake;
  cr_assert_eq(colo__ring_release(&r.c, &wake), COLO_ESTATE);
  cr_assert_eq(put(&r, "one", 3), 0);
  cr_assert_eq(put(&r, "two!", 4), 0);
  const void *p1, *p2;
  size_t n1, n2;
  cr_assert_eq(colo__ring_peek(&r.c, &p1, &n1), 0);
  cr_assert_eq(colo__ring_peek(&r.c, &p2, &n2), 0);
  cr_assert_eq(p1, p2);
  cr_assert_eq(n1, 3u);
  cr_assert_eq(colo__ring_release(&r.c, &wake), 0);
  cr_assert_eq(colo__ring_peek(&r.c, &p2, &n2), 0);
  cr_assert_eq(n2, 4u);
  cr_assert_eq(memcmp(p2, "two!", 4), 0);
  rig_free(&r);
}

Test(ring, record_that_would_wrap_goes_after_a_pad) {
  rig_t r;
  rig_init(&r, 4096, 0, 0); /* largest message: 2040 bytes */
  static uint8_t a[2040], b[1500], out[4096];
  memset(a, 'a', sizeof a);
  memset(b, 'b', sizeof b);
  size_t n;
  cr_assert_eq(put(&r, a, sizeof a), 0);
  cr_assert_eq(put(&r, a, 1000), 0);
  cr_assert_eq(get(&r, out, sizeof out, &n), 0);
  cr_assert_eq(get(&r, out, sizeof out, &n), 0);
  cr_assert_eq(put(&r, b, sizeof b), 0);
  /* 2048 + 1008 = 3056 bytes in, 1040 left before the end: the 1508-byte
   * record (1512 with alignment) goes to offset 0 after a pad. */
  cr_assert_eq(r.p.self, 3056u + 1040u + 1512u);
  uint32_t pad;
  memcpy(&pad, r.data + 3056, 4);
  cr_assert_eq(pad, COLO__REC_PAD);
  cr_assert_eq(get(&r, out, sizeof out, &n), 0);
  cr_assert_eq(n, sizeof b);
  cr_assert_eq(memcmp(out, b, n), 0);
  cr_assert_eq(r.c.self, r.p.self, "the consumer skipped the pad");
  rig_free(&r);
}

Test(ring, checksum_catches_a_changed_payload) {
  rig_t r;
  rig_init(&r, 4096, 0, 1);
  cr_assert_eq(put(&r, "payload", 7), 0);
  r.data[8 + 3] ^= 0x20;
  char out[16];
  size_t n;
  cr_assert_eq(get(&r, out, sizeof out, &n), COLO_ECORRUPT);
  rig_free(&r);
}

Test(ring, producer_index_beyond_capacity_is_corrupt) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  atomic_store(&r.ctrl->tail, 4096 + 8);
  const void *p;
  size_t n;
  cr_assert_eq(colo__ring_peek(&r.c, &p, &n), COLO_ECORRUPT);
  cr_assert(strstr(colo_last_error(), "producer index beyond capacity"), "%s", colo_last_error());
  cr_assert_eq(colo__ring_peek(&r.c, &p, &n), COLO_ECORRUPT, "broken stays broken");
  rig_free(&r);
}

Test(ring, producer_index_moving_back_is_corrupt) {
  rig_t r;
  rig_init(&r, 4096, 1000, 0);
  atomic_store(&r.ctrl->tail, 992);
  const void *p;
  size_t n;
  cr_assert_eq(colo__ring_peek(&r.c, &p, &n), COLO_ECORRUPT);
  cr_assert(strstr(colo_last_error(), "producer index moved backwards (992, 1000)"), "%s", colo_last_error());
  rig_free(&r);
}

Test(ring, consumer_index_beyond_producer_is_corrupt) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  uint8_t msg[1000] = {0};
  for (int i = 0; i < 4; i++) cr_assert_eq(put(&r, msg, sizeof msg), 0);
  atomic_store(&r.ctrl->head, 5000); /* past tail (4032) */
  cr_assert_eq(put(&r, msg, sizeof msg), COLO_ECORRUPT);
  cr_assert(strstr(colo_last_error(), "consumer index beyond producer index"), "%s", colo_last_error());
  rig_free(&r);
}

Test(ring, consumer_index_moving_back_is_corrupt) {
  rig_t r;
  rig_init(&r, 4096, 1000, 0);
  uint8_t msg[1000] = {0};
  int rc, sent = 0;
  while ((rc = put(&r, msg, sizeof msg)) == 0) sent++;
  cr_assert(sent >= 2 && rc == COLO_EAGAIN, "%d sent, then %s", sent, colo_errname(rc));
  atomic_store(&r.ctrl->head, 992); /* before where it started */
  cr_assert_eq(put(&r, msg, sizeof msg), COLO_ECORRUPT);
  cr_assert(strstr(colo_last_error(), "consumer index moved backwards (992, 1000)"), "%s", colo_last_error());
  rig_free(&r);
}

Test(ring, record_length_over_the_maximum_is_corrupt) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  cr_assert_eq(put(&r, "x", 1), 0);
  uint32_t bad = 3000;
  memcpy(r.data, &bad, 4);
  const void *p;
  size_t n;
  cr_assert_eq(colo__ring_peek(&r.c, &p, &n), COLO_ECORRUPT);
  rig_free(&r);
}

Test(ring, record_past_the_published_tail_is_corrupt) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  cr_assert_eq(put(&r, "x", 1), 0); /* 16 bytes published */
  uint32_t longer = 100;
  memcpy(r.data, &longer, 4);
  const void *p;
  size_t n;
  cr_assert_eq(colo__ring_peek(&r.c, &p, &n), COLO_ECORRUPT);
  rig_free(&r);
}

Test(ring, pad_at_offset_zero_is_corrupt) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  cr_assert_eq(put(&r, "x", 1), 0);
  uint32_t pad = COLO__REC_PAD;
  memcpy(r.data, &pad, 4);
  const void *p;
  size_t n;
  cr_assert_eq(colo__ring_peek(&r.c, &p, &n), COLO_ECORRUPT);
  rig_free(&r);
}

/* Format 1.1: a side that only spins says so at attach, and its peer then
 * publishes with a plain release store, without the fence and the flag
 * check of the wake-up rule; a side that says nothing (a 1.0 peer) keeps it. */
Test(ring, a_side_that_never_sleeps_declares_it_and_its_peer_skips_the_wake_up_rule) {
  rig_t r;
  rig_init_spin(&r, 4096, 0, 0, 2);
  cr_assert_eq(atomic_load(&r.ctrl->consumer_never_sleeps), 1u);
  cr_assert_eq(atomic_load(&r.ctrl->producer_never_sleeps), 0u);
  /* even a flag that says it sleeps (a peer that lied) is not looked at */
  atomic_store(&r.ctrl->consumer_waiting, 1u);
  void *dst;
  int wake;
  cr_assert_eq(colo__ring_reserve(&r.p, 1, &dst), 0);
  cr_assert_eq(colo__ring_commit(&r.p, 1, &wake), 0);
  cr_assert_eq(wake, 0, "a consumer that never sleeps is never woken");
  cr_assert_eq(atomic_load(&r.ctrl->tail), 16u, "the record (8 + 1 bytes, aligned to 8) is published all the same");
  /* the producer declared nothing: the consumer's release keeps the rule */
  atomic_store(&r.ctrl->producer_waiting, 1u);
  size_t n;
  uint8_t out[8];
  const void *src;
  cr_assert_eq(colo__ring_peek(&r.c, &src, &n), 0);
  cr_assert_eq(colo__ring_release(&r.c, &wake), 0);
  cr_assert_eq(wake, 1, "a producer that may sleep is woken");
  (void)out;
  rig_free(&r);
  /* a declaration of anything but 1 is none */
  rig_init(&r, 4096, 0, 0);
  atomic_store(&r.ctrl->consumer_never_sleeps, 7u);
  atomic_store(&r.ctrl->consumer_waiting, 1u);
  cr_assert_eq(colo__ring_reserve(&r.p, 1, &dst), 0);
  cr_assert_eq(colo__ring_commit(&r.p, 1, &wake), 0);
  cr_assert_eq(wake, 1);
  rig_free(&r);
}

Test(ring, commit_wakes_only_a_sleeping_consumer) {
  rig_t r;
  rig_init(&r, 4096, 0, 0);
  void *dst;
  int wake;
  cr_assert_eq(colo__ring_reserve(&r.p, 1, &dst), 0);
  cr_assert_eq(colo__ring_commit(&r.p, 1, &wake), 0);
  cr_assert_eq(wake, 0, "nobody sleeps: no wake-up to pay for");
  size_t n;
  uint8_t out[8];
  cr_assert_eq(get(&r, out, sizeof out, &n), 0);
  _Atomic uint32_t *word;
  uint32_t expect;
  cr_assert_eq(colo__ring_prepare_wait(&r.c, &word, &expect), 1);
  cr_assert_eq(colo__ring_reserve(&r.p, 1, &dst), 0);
  cr_assert_eq(colo__ring_commit(&r.p, 1, &wake), 0);
  cr_assert_eq(wake, 1, "the consumer announced it sleeps");
  cr_assert_neq(atomic_load(word), expect, "the word it sleeps on changed");
  colo__ring_finish_wait(&r.c);
  cr_assert_eq(colo__ring_prepare_wait(&r.c, &word, &expect), 0, "data is there: do not sleep");
  rig_free(&r);
}

/* A hostile peer writes random bytes anywhere in the control block and data
 * area between our operations. We may report COLO_ECORRUPT, but every call
 * returns, and nothing is read or written outside the ring's memory (ASan). */
Test(ring, random_scribbling_never_escapes_the_ring, .timeout = 120) {
  uint64_t x = 0x12345678abcdefull;
  static uint8_t msg[2100], out[2100];
  memset(msg, 'm', sizeof msg);
  unsigned corrupt = 0, ok = 0;
  for (int round = 0; round < 200; round++) {
    rig_t r;
    rig_init(&r, 4096, (uint64_t)round << 40, round & 1);
    for (int op = 0; op < 2000; op++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      int rc;
      size_t n;
      switch (x % 4) {
      case 0: rc = put(&r, msg, (size_t)((x >> 8) % 2100)); break;
      case 1: rc = get(&r, out, sizeof out, &n); break;
      case 2: {
        uint8_t *ctrl = (uint8_t *)r.ctrl;
        size_t off = (size_t)((x >> 16) % sizeof *r.ctrl);
        ctrl[off] = (uint8_t)(x >> 40);
        rc = 0;
        break;
      }
      default:
        r.data[(x >> 16) % r.cap] = (uint8_t)(x >> 40);
        rc = 0;
        break;
      }
      cr_assert(rc == 0 || rc == COLO_EAGAIN || rc == COLO_ECORRUPT || rc == COLO_EMSGSIZE || rc == COLO_ENOBUFS,
                "unexpected %s", colo_errname(rc));
      if (rc == COLO_ECORRUPT) {
        corrupt++;
        break;
      }
      ok += rc == 0;
    }
    rig_free(&r);
  }
  cr_assert_gt(corrupt, 0u, "the scribbling was noticed");
  cr_assert_gt(ok, 0u);
}

/* ---- two threads, the sleep protocol -------------------------------------------- */

typedef struct thr {
  rig_t *r;
  uint64_t count;
  int sleepy;            /* sleep (futex) instead of spinning when blocked */
  unsigned lost_wakeups; /* a sleep that timed out although the peer had moved */
  unsigned sleeps;
  int failed;
} thr_t;

/* Waits until the ring's peer index moves (sleep protocol), bounded. */
static void block_on(colo__ring_t *ring, thr_t *t) {
  if (!t->sleepy) return;
  _Atomic uint32_t *word;
  uint32_t expect;
  if (!colo__ring_prepare_wait(ring, &word, &expect)) return;
  t->sleeps++;
  int rc = colo__os_wait(NULL, 0, word, expect, 2000000000ull);
  if (rc == COLO_ETIMEDOUT && atomic_load(word) != expect) t->lost_wakeups++;
  colo__ring_finish_wait(ring);
}

static void *producer(void *arg) {
  thr_t *t = arg;
  static uint8_t msg[4096];
  for (uint64_t i = 0; i < t->count;) {
    size_t len = tu_msg(11, i, 3000, msg);
    void *dst;
    int wake, rc = colo__ring_reserve(&t->r->p, len, &dst);
    if (rc == COLO_EAGAIN) {
      block_on(&t->r->p, t);
      continue;
    }
    if (rc) {
      t->failed = 1;
      break;
    }
    memcpy(dst, msg, len);
    colo__ring_commit(&t->r->p, len, &wake);
    if (wake) colo__os_wake(NULL, 0, colo__lo32(&t->r->ctrl->tail));
    i++;
  }
  return NULL;
}

static void *consumer(void *arg) {
  thr_t *t = arg;
  static uint8_t want[4096];
  for (uint64_t i = 0; i < t->count;) {
    const void *p;
    size_t n;
    int wake, rc = colo__ring_peek(&t->r->c, &p, &n);
    if (rc == COLO_EAGAIN) {
      block_on(&t->r->c, t);
      continue;
    }
    size_t len = tu_msg(11, i, 3000, want);
    if (rc || n != len || memcmp(p, want, n) != 0) {
      t->failed = 1;
      break;
    }
    colo__ring_release(&t->r->c, &wake);
    if (wake) colo__os_wake(NULL, 0, colo__lo32(&t->r->ctrl->head));
    i++;
  }
  return NULL;
}

static void two_threads(int sleepy, uint64_t count) {
  rig_t r;
  rig_init(&r, 16384, (1ull << 32) - 100000, 0);
  thr_t pt = {&r, count, sleepy, 0, 0, 0}, ct = {&r, count, sleepy, 0, 0, 0};
  uint8_t warm[4096];
  tu_msg(11, 0, 3000, warm); /* build the pattern pool before the threads share it */
  tu_thread_t a, b;
  tu_thread_start(&a, producer, &pt);
  tu_thread_start(&b, consumer, &ct);
  tu_thread_join(&a);
  tu_thread_join(&b);
  cr_assert_eq(pt.failed + ct.failed, 0, "every message arrived intact and in order");
  cr_assert_eq(pt.lost_wakeups + ct.lost_wakeups, 0u, "no wake-up was lost");
  if (sleepy) cr_assert_gt(pt.sleeps + ct.sleeps, 0u, "the sleep path was exercised");
  rig_free(&r);
}

Test(ring, two_threads_stream_spinning, .timeout = 300) { two_threads(0, tu_env_u64("COLO_TEST_RING_COUNT", 1000000)); }
Test(ring, two_threads_stream_sleeping, .timeout = 300) { two_threads(1, tu_env_u64("COLO_TEST_RING_COUNT", 1000000) / 4); }
