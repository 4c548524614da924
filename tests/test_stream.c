/*
 * test_stream.c - two processes stream COLO_TEST_STREAM_COUNT (default 10
 * million) messages of random sizes from 0 to 4 KiB through the default 1 MiB
 * ring, once per wait mode. The receiver (this process) regenerates each
 * expected message and compares XXH3 hashes and lengths, so loss,
 * duplication, reordering and corruption are all caught; it then sends its
 * count and combined hash back and the sender checks them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define MAXLEN 4096

static void stream(int mode) {
  uint64_t count = tu_env_u64("COLO_TEST_STREAM_COUNT", 10000000);
  uint64_t seed = 0xC0105EEDu + (uint64_t)mode;
  char ep[128], cnt[32], md[8], sd[32];
  tu_endpoint(ep, sizeof ep, "stream");
  colo_opts_t o;
  colo_opts_init(&o);
  o.wait_mode = (colo_wait_mode_t)mode;
  colo_listener_t *l;
  int lrc = colo_listen(&l, ep, &o);
  if (lrc == COLO_ENOTSUP) { /* a platform whose library has no shm:// (yet) */
    cr_skip_test("no shm transport here: %s", colo_last_error());
    return;
  }
  cr_assert_eq(lrc, 0, "%s", colo_last_error());
  snprintf(cnt, sizeof cnt, "%llu", (unsigned long long)count);
  snprintf(md, sizeof md, "%d", mode);
  snprintf(sd, sizeof sd, "%llu", (unsigned long long)seed);
  tu_proc_t h;
  const char *args[] = {"stream-send", ep, cnt, md, sd, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, tu_ms(10000)), 0, "%s", colo_last_error());

  static uint8_t got[MAXLEN], want[MAXLEN];
  uint64_t h_all = 0, t0 = tu_now_ms();
  for (uint64_t i = 0; i < count; i++) {
    size_t n;
    const void *p;
    int rc;
    if (i % 3 == 0) { /* zero-copy */
      rc = colo_peek(ch, &p, &n, tu_ms(30000));
    } else {
      rc = colo_recv(ch, got, sizeof got, &n, tu_ms(30000));
      p = got;
    }
    cr_assert_eq(rc, 0, "message %llu: %s: %s", (unsigned long long)i, colo_errname(rc), colo_last_error());
    size_t wn = tu_msg(seed, i, MAXLEN, want);
    uint64_t hv = tu_xxh3(p, n);
    if (n != wn || hv != tu_xxh3(want, wn)) {
      uint64_t idx = 0;
      if (n >= 8) memcpy(&idx, p, 8);
      cr_assert_fail("message %llu: %zu bytes (want %zu), hash mismatch; it carries index %llu",
                     (unsigned long long)i, n, wn, (unsigned long long)idx);
    }
    h_all ^= hv + i;
    if (i % 3 == 0) cr_assert_eq(colo_release(ch), 0);
  }
  uint64_t ms = tu_now_ms() - t0;
  /* Nothing more: the sender waits for our summary, so a duplicate or an
   * extra message would be sitting in the ring now. */
  size_t n;
  cr_assert_eq(colo_recv(ch, got, sizeof got, &n, 0), COLO_EAGAIN, "an extra message arrived");
  uint64_t summary[2] = {count, h_all};
  cr_assert_eq(colo_send(ch, summary, sizeof summary, tu_ms(5000)), 0);
  cr_assert_eq(tu_wait(&h, tu_ms(30000)), 0, "the sender checks our summary");
  colo_close(ch);
  colo_listener_close(l);
  fprintf(stderr, "stream %s: %llu messages in %llu ms\n",
          mode == 0 ? "hybrid" : mode == 1 ? "spin" : "block", (unsigned long long)count,
          (unsigned long long)ms);
}

Test(stream, ten_million_messages_hybrid, .timeout = 900) { stream(COLO_WAIT_HYBRID); }
Test(stream, ten_million_messages_spin, .timeout = 900) { stream(COLO_WAIT_SPIN); }
Test(stream, ten_million_messages_block, .timeout = 900) { stream(COLO_WAIT_BLOCK); }
