/*
 * worker.c - one side of a colo bench row, in its own process:
 *   colo __bench-worker a|b transport=T mode=M api=A pattern=P size=N count=N
 *                           warmup=N interval_us=N seed=N endpoint=E [ref=H]
 * Side b listens and prints "ready ENDPOINT"; side a connects. Each side
 * ends with one line, "result key=value..." or "error TEXT".
 *
 * Every transport goes through the same loop (send, receive, check) behind
 * the channel below, so that rows differ by transport (and API) only.
 *
 * Checking stays off the timed path. In a round trip every payload is
 * checked, its length and its XXH3 against the payload the sender was due to
 * send (one of BENCH_PAYLOADS, by sequence): side A after it took the round
 * trip's time, side B after it sent the echo. In a stream the receiver checks
 * every message's length and sequence number (the sender writes it into the
 * payload's first bytes) in the loop, and the XXH3 of a sample
 * (bench_stream_hashes). Each side counts what it checked; the driver
 * compares the counts with what was due, and a mismatch fails the run.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "bench.h"
#include "colo.h"
#include "ref_ring.h"

#define REF_RING_BYTES (1u << 20) /* the library's default ring capacity */

typedef struct wresult {
  tos_usage_t u0, u1;
  uint64_t verified, seq_checked, hashed, elapsed_ns;
  uint64_t *samples;
  uint64_t floor_verified, *floor_samples; /* paired: the floor's series */
} wresult_t;


typedef struct wargs {
  int side_a;
  bench_transport_t transport;
  int mode;
  bench_api_t api;
  bench_pattern_t pattern;
  uint64_t size, count, warmup, interval_us, seed;
  const char *endpoint, *ref;
  int paired; /* a ring row that also runs the floor, in alternating blocks */
} wargs_t;

/* The channel the loops see: the library's, or the reference ring. */
typedef struct bchan {
  colo_chan_t *ch;
  colo_listener_t *l;
  tos_shmem_t *mem;
  ref_ring_t tx, rx;
  int use_ref; /* the calls below go to the reference ring */
} bchan_t;

static int bsend(bchan_t *b, const void *p, size_t n) {
  return b->use_ref ? ref_send(&b->tx, p, n, BENCH_OP_TIMEOUT_MS) : colo_send(b->ch, p, n, BENCH_OP_TIMEOUT_MS);
}

static int brecv(bchan_t *b, void *p, size_t cap, size_t *n) {
  return b->use_ref ? ref_recv(&b->rx, p, cap, n, BENCH_OP_TIMEOUT_MS) : colo_recv(b->ch, p, cap, n, BENCH_OP_TIMEOUT_MS);
}

static int bflush(bchan_t *b) { return b->use_ref ? 0 : colo_flush(b->ch, BENCH_OP_TIMEOUT_MS); }

/* The zero-copy calls (ring transports): a message written in place, and one
 * read in place until its release. */
static int zsend(bchan_t *b, const void *p, size_t n) {
  void *dst;
  int rc = colo_reserve(b->ch, n, &dst, BENCH_OP_TIMEOUT_MS);
  if (rc) return rc;
  memcpy(dst, p, n);
  return colo_commit(b->ch, n);
}

static int zpeek(bchan_t *b, const void **p, size_t *n) { return colo_peek(b->ch, p, n, BENCH_OP_TIMEOUT_MS); }

typedef struct payloads {
  uint8_t *buf[BENCH_PAYLOADS];
  XXH64_hash_t hash[BENCH_PAYLOADS];
} payloads_t;

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int payloads_make(payloads_t *pl, uint64_t size, uint64_t seed) {
  for (int k = 0; k < BENCH_PAYLOADS; k++) {
    pl->buf[k] = malloc(size ? size : 1);
    if (!pl->buf[k]) return -1;
    uint64_t s = seed * BENCH_PAYLOADS + (uint64_t)k;
    for (uint64_t i = 0; i < size; i += 8) {
      uint64_t v = splitmix(&s);
      memcpy(pl->buf[k] + i, &v, size - i < 8 ? size - i : 8);
    }
    pl->hash[k] = XXH3_64bits(pl->buf[k], size);
  }
  return 0;
}

static int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("error ", stdout);
  vfprintf(stdout, fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  fflush(stdout);
  return 1;
}

static int fail_detail(const char *what, int rc, const char *d) {
  return fail("%s: %s%s%s", what, colo_strerror(rc), d[0] ? ": " : "", d);
}
static int fail_colo(const char *what, int rc) { return fail_detail(what, rc, colo_last_error()); }
static int fail_os(const char *what, int rc) { return fail_detail(what, rc, tos_last_error()); }

static int check_len(const wargs_t *w, size_t n, uint64_t i) {
  if (n == w->size) return 0;
  fail("payload of message %llu is %zu bytes, %llu were sent", (unsigned long long)i, n, (unsigned long long)w->size);
  return 3;
}

/* Checks message i; 0 when it is the payload the sender was due to send. */
static int check(const payloads_t *pl, const wargs_t *w, const void *got, size_t n, uint64_t i) {
  if (check_len(w, n, i)) return 3;
  XXH64_hash_t h = XXH3_64bits(got, n), want = pl->hash[i % BENCH_PAYLOADS];
  if (h != want) {
    fail("payload of message %llu does not match what was sent (XXH3 %016llx, sent %016llx)",
         (unsigned long long)i, (unsigned long long)h, (unsigned long long)want);
    return 3;
  }
  return 0;
}

/* A stream's message i carries i in its first bytes (up to 8, little-endian). */
static size_t seq_bytes(const wargs_t *w) { return w->size < 8 ? (size_t)w->size : 8; }

static void seq_put(uint8_t *p, const wargs_t *w, uint64_t i) {
  for (size_t k = 0; k < seq_bytes(w); k++) p[k] = (uint8_t)(i >> (8 * k));
}

/* The receiver's check of stream message i in the loop: its length and
 * sequence number, and for a sampled one its XXH3 (against the payload the
 * sender was due to send, with the number in it; scratch holds that copy). */
static int check_stream(const payloads_t *pl, const wargs_t *w, const uint8_t *got, size_t n, uint64_t i,
                        uint64_t total, uint8_t *scratch, wresult_t *r);

/* ---- setting up ------------------------------------------------------------------- */

static const char *expected_transport(bench_transport_t t) {
  switch (t) {
  case BT_TCP: case BT_TCP_NETNS: return "tcp";
  case BT_UNIX: return "unix";
  case BT_FIFO: return "pipe";
  case BT_SHM: return "shm";
  case BT_MEMFD: return "memfd";
  default: return "reference";
  }
}

static int attach_ref(const wargs_t *w, bchan_t *b) {
  int rc = tos_shmem_attach(w->ref ? w->ref : "", ref_mem_size(w->size, REF_RING_BYTES), &b->mem);
  if (rc) return fail_os("reference ring", rc);
  void *base = tos_shmem_base(b->mem);
  ref_attach(&b->tx, base, w->side_a ? 0 : 1, w->size, REF_RING_BYTES);
  ref_attach(&b->rx, base, w->side_a ? 1 : 0, w->size, REF_RING_BYTES);
  return 0;
}

static int open_chan(const wargs_t *w, bchan_t *b) {
  if (w->paired && attach_ref(w, b)) return 1;
  if (w->transport == BT_REFERENCE) {
    if (attach_ref(w, b)) return 1;
    b->use_ref = 1;
    if (!w->side_a) {
      printf("ready reference\n");
      fflush(stdout);
    }
    return 0;
  }
  colo_opts_t o;
  colo_opts_init(&o);
  if (w->mode >= 0) o.wait_mode = (colo_wait_mode_t)w->mode;
  int rc;
  if (w->side_a) {
    rc = colo_connect(&b->ch, w->endpoint, &o, BENCH_OP_TIMEOUT_MS);
    if (rc) return fail_colo("connect", rc);
  } else {
    rc = colo_listen(&b->l, w->endpoint, &o);
    if (rc) return fail_colo("listen", rc);
    printf("ready %s\n", colo_listener_endpoint(b->l));
    fflush(stdout);
    rc = colo_accept(b->l, &b->ch, BENCH_OP_TIMEOUT_MS);
    if (rc) return fail_colo("accept", rc);
  }
  const char *want = expected_transport(w->transport), *got = colo_transport(b->ch);
  if (strcmp(want, got) != 0) return fail("%s landed on %s, not %s", w->endpoint, got, want);
  return 0;
}

static void close_chan(bchan_t *b) {
  colo_close(b->ch);
  colo_listener_close(b->l);
  tos_shmem_free(b->mem);
}

static int check_stream(const payloads_t *pl, const wargs_t *w, const uint8_t *got, size_t n, uint64_t i,
                        uint64_t total, uint8_t *scratch, wresult_t *r) {
  if (check_len(w, n, i)) return 3;
  uint64_t seq = 0;
  for (size_t k = 0; k < seq_bytes(w); k++) seq |= (uint64_t)got[k] << (8 * k);
  uint64_t want = seq_bytes(w) == 8 ? i : i & ((1ull << (8 * seq_bytes(w))) - 1);
  if (seq != want) {
    fail("message %llu arrived carrying sequence number %llu: lost, repeated or reordered", (unsigned long long)i,
         (unsigned long long)seq);
    return 3;
  }
  r->seq_checked += seq_bytes(w) > 0;
  if (bench_stream_hashes(i, total)) {
    memcpy(scratch, pl->buf[i % BENCH_PAYLOADS], n);
    seq_put(scratch, w, i);
    XXH64_hash_t h = XXH3_64bits(got, n), exp = XXH3_64bits(scratch, n);
    if (h != exp) {
      fail("payload of message %llu does not match what was sent (XXH3 %016llx, sent %016llx)", (unsigned long long)i,
           (unsigned long long)h, (unsigned long long)exp);
      return 3;
    }
    r->hashed++;
  }
  r->verified++;
  return 0;
}

/* ---- the patterns --------------------------------------------------------------------- */

/* The cost of one reading of the clock the loops use, on average. */
static uint64_t clock_cost(void) {
  enum { N = 20000 };
  uint64_t t0 = tos_now_ns();
  for (int i = 0; i < N; i++) (void)tos_now_ns();
  return (tos_now_ns() - t0 + N / 2) / N;
}


/* A paired row's schedule, the same on both sides: blocks of PAIR_BLOCK round
 * trips, the library's and the floor's in turn, so that both series see the
 * same states of the machine (this VM changes state from one second to the
 * next). Returns the series (0 the library, 1 the floor) of turn k; next
 * holds how many each has had. */
#define PAIR_BLOCK 64
static int next_series(const wargs_t *w, uint64_t k, const uint64_t next[2]) {
  if (!w->paired) return 0;
  uint64_t total = w->warmup + w->count;
  int s = (int)((k / PAIR_BLOCK) & 1);
  return next[s] < total ? s : 1 - s;
}

/* Turn k: its series, *i its message number there, and the channel pointed at it. */
static int take_turn(const wargs_t *w, bchan_t *b, uint64_t k, uint64_t next[2], uint64_t *i) {
  int s = next_series(w, k, next);
  *i = next[s]++;
  b->use_ref = s == 1 || w->transport == BT_REFERENCE;
  return s;
}

/* Side a of pingpong and idle: send, wait for the echo, time it; then check
 * it. A round trip ends when the echo is the application's to read: copied
 * out (colo_recv), or in place (colo_peek; its release follows the check). */
static int round_trips(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count, t_start = 0, next[2] = {0, 0};
  uint64_t i;
  for (uint64_t k = 0; next[0] < total || next[1] < (w->paired ? total : 0); k++) {
    int s = take_turn(w, b, k, next, &i);
    int zc = w->api == BAPI_ZEROCOPY && !b->use_ref;
    if (s == 0 && i == w->warmup) tos_usage(&r->u0), t_start = tos_now_ns();
    if (w->pattern == BP_IDLE && i) tos_sleep_ns(w->interval_us * 1000u);
    size_t n;
    const void *got = rbuf;
    uint64_t t0 = tos_now_ns();
    int rc = zc ? zsend(b, pl->buf[i % BENCH_PAYLOADS], w->size) : bsend(b, pl->buf[i % BENCH_PAYLOADS], w->size);
    if (!rc) rc = zc ? zpeek(b, &got, &n) : brecv(b, rbuf, w->size, &n);
    uint64_t t1 = tos_now_ns();
    if (rc) return fail_colo("round trip", rc);
    if (i >= w->warmup) (s ? r->floor_samples : r->samples)[i - w->warmup] = t1 - t0;
    if ((rc = check(pl, w, got, n, i)) != 0) return rc;
    if (zc && (rc = colo_release(b->ch)) != 0) return fail_colo("release", rc);
    if (s) r->floor_verified++;
    else r->verified++, r->hashed++;
  }
  r->elapsed_ns = tos_now_ns() - t_start;
  return 0;
}

/* Test hooks (tests/bench_smoke.sh), as a broken transport would do:
 * COLO_TEST_BENCH_CORRUPT=N flips a byte in the middle of message N (side b
 * before echoing it; in a stream, side a as it sends it);
 * COLO_TEST_BENCH_RENUMBER=N makes stream message N carry N + 1. */
static uint64_t hook_at(const char *name) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 10) : UINT64_MAX;
}
static uint64_t corrupt_at(void) { return hook_at("COLO_TEST_BENCH_CORRUPT"); }

/* Side b of pingpong and idle: send each message back, then check it. The
 * zero-copy echo forwards in place: from the received message straight into
 * the reserved one. */
static int echo(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count, bad = corrupt_at(), next[2] = {0, 0};
  uint64_t i;
  for (uint64_t k = 0; next[0] < total || next[1] < (w->paired ? total : 0); k++) {
    int s = take_turn(w, b, k, next, &i);
    int zc = w->api == BAPI_ZEROCOPY && !b->use_ref;
    if (s == 0 && i == w->warmup) tos_usage(&r->u0);
    size_t n;
    int rc;
    if (zc) {
      const void *got;
      void *dst;
      if ((rc = zpeek(b, &got, &n)) != 0) return fail_colo("receive", rc);
      if ((rc = colo_reserve(b->ch, n, &dst, BENCH_OP_TIMEOUT_MS)) != 0) return fail_colo("echo", rc);
      memcpy(dst, got, n);
      if (i == bad && n) ((uint8_t *)dst)[n / 2] ^= 0x20;
      if ((rc = colo_commit(b->ch, n)) != 0) return fail_colo("echo", rc);
      if ((rc = check(pl, w, got, n, i)) != 0) return rc;
      if ((rc = colo_release(b->ch)) != 0) return fail_colo("release", rc);
    } else {
      if ((rc = brecv(b, rbuf, w->size, &n)) != 0) return fail_colo("receive", rc);
      /* the corruption test hook flips a byte of what goes back, and this
       * side checks what it received: restore that byte for the check */
      int flip = i == bad && n;
      if (flip) rbuf[n / 2] ^= 0x20;
      if ((rc = bsend(b, rbuf, n)) != 0) return fail_colo("echo", rc);
      if (flip) rbuf[n / 2] ^= 0x20;
      if ((rc = check(pl, w, rbuf, n, i)) != 0) return rc;
    }
    if (s) r->floor_verified++;
    else r->verified++, r->hashed++;
  }
  return 0;
}

/* Side a of stream: send everything, each message numbered, then wait for
 * side b's ack (a message of the row's size, which any channel of it carries). */
static int stream_send(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count, bad = corrupt_at(), renumber = hook_at("COLO_TEST_BENCH_RENUMBER");
  int zc = w->api == BAPI_ZEROCOPY;
  for (uint64_t i = 0; i < total; i++) {
    if (i == w->warmup) tos_usage(&r->u0);
    uint8_t *src = pl->buf[i % BENCH_PAYLOADS];
    int flip = i == bad && w->size;
    seq_put(src, w, i == renumber ? i + 1 : i);
    if (flip) src[w->size / 2] ^= 0x20;
    int rc = zc ? zsend(b, src, w->size) : bsend(b, src, w->size);
    if (flip) src[w->size / 2] ^= 0x20;
    if (rc) return fail_colo("send", rc);
  }
  int rc = bflush(b);
  size_t n;
  if (!rc) rc = brecv(b, rbuf, w->size, &n);
  if (rc) return fail_colo("waiting for the receiver's ack", rc);
  return 0;
}

/* Side b of stream: receive and check everything; time from the last warm-up
 * message to the last one. */
static int stream_recv(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count, t_start = 0;
  int zc = w->api == BAPI_ZEROCOPY;
  uint8_t *scratch = malloc(w->size ? w->size : 1);
  if (!scratch) return fail("out of memory");
  if (!w->warmup) tos_usage(&r->u0), t_start = tos_now_ns();
  for (uint64_t i = 0; i < total; i++) {
    size_t n;
    const void *got = rbuf;
    int rc = zc ? zpeek(b, &got, &n) : brecv(b, rbuf, w->size, &n);
    if (rc) return free(scratch), fail_colo("receive", rc);
    if ((rc = check_stream(pl, w, got, n, i, total, scratch, r)) != 0) return free(scratch), rc;
    if (zc && (rc = colo_release(b->ch)) != 0) return free(scratch), fail_colo("release", rc);
    if (i + 1 == w->warmup) tos_usage(&r->u0), t_start = tos_now_ns();
  }
  r->elapsed_ns = tos_now_ns() - t_start;
  free(scratch);
  int rc = bsend(b, rbuf, w->size);
  if (!rc) rc = bflush(b);
  if (rc) return fail_colo("ack", rc);
  return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, wargs_t *w) {
  memset(w, 0, sizeof *w);
  w->mode = -1;
  if (argc < 2 || (strcmp(argv[1], "a") && strcmp(argv[1], "b"))) return fail("usage: __bench-worker a|b key=value...");
  w->side_a = argv[1][0] == 'a';
  int t = -1;
  for (int i = 2; i < argc; i++) {
    const char *eq = strchr(argv[i], '=');
    if (!eq) return fail("bad argument '%s'", argv[i]);
    const char *v = eq + 1;
    size_t k = (size_t)(eq - argv[i]);
#define KEY(s) (k == sizeof(s) - 1 && !strncmp(argv[i], s, k))
    if (KEY("transport")) t = bench_transport_parse(v, strlen(v));
    else if (KEY("mode")) w->mode = atoi(v);
    else if (KEY("api")) w->api = atoi(v) == BAPI_ZEROCOPY ? BAPI_ZEROCOPY : BAPI_COPY;
    else if (KEY("pattern")) w->pattern = (bench_pattern_t)atoi(v);
    else if (KEY("size")) w->size = strtoull(v, NULL, 10);
    else if (KEY("count")) w->count = strtoull(v, NULL, 10);
    else if (KEY("warmup")) w->warmup = strtoull(v, NULL, 10);
    else if (KEY("interval_us")) w->interval_us = strtoull(v, NULL, 10);
    else if (KEY("seed")) w->seed = strtoull(v, NULL, 10);
    else if (KEY("endpoint")) w->endpoint = v;
    else if (KEY("ref")) w->ref = v;
    else if (KEY("paired")) w->paired = atoi(v) != 0;
    else return fail("unknown key in '%s'", argv[i]);
#undef KEY
  }
  if (t < 0) return fail("no transport");
  w->transport = (bench_transport_t)t;
  if (w->paired && (!bench_transport_has_mode(w->transport) || w->pattern == BP_STREAM))
    return fail("only a ring row's round trips can be paired with the floor");
  if (w->api == BAPI_ZEROCOPY && !bench_transport_has_zerocopy(w->transport))
    return fail("%s has no zero-copy calls", bench_transport_name(w->transport));
  if (!w->endpoint) w->endpoint = "";
  if (w->count == 0) return fail("count must be at least 1");
  return 0;
}

int bench_worker_main(int argc, char **argv) {
  wargs_t w;
  if (parse_args(argc, argv, &w)) return 2;
  payloads_t pl;
  uint8_t *rbuf = malloc(w.size ? w.size : 1);
  wresult_t r;
  memset(&r, 0, sizeof r);
  if (!rbuf || payloads_make(&pl, w.size, w.seed) != 0) return fail("out of memory");
  int timer = w.side_a && w.pattern != BP_STREAM;
  if (timer && !(r.samples = malloc(w.count * sizeof *r.samples))) return fail("out of memory for %llu samples", (unsigned long long)w.count);
  if (timer && w.paired && !(r.floor_samples = malloc(w.count * sizeof *r.floor_samples)))
    return fail("out of memory for %llu samples", (unsigned long long)w.count);
  uint64_t clk = w.side_a ? clock_cost() : 0;

  bchan_t b;
  memset(&b, 0, sizeof b);
  int rc = open_chan(&w, &b);
  if (!rc) {
    if (w.pattern == BP_STREAM) rc = w.side_a ? stream_send(&w, &b, &pl, rbuf, &r) : stream_recv(&w, &b, &pl, rbuf, &r);
    else rc = w.side_a ? round_trips(&w, &b, &pl, rbuf, &r) : echo(&w, &b, &pl, rbuf, &r);
  }
  tos_usage(&r.u1);
  if (!rc) {
    printf("result verified=%llu seq_checked=%llu hashed=%llu cpu_ns=%llu rss=%llu transport=%s",
           (unsigned long long)r.verified, (unsigned long long)r.seq_checked, (unsigned long long)r.hashed,
           (unsigned long long)((r.u1.user_ns + r.u1.sys_ns) - (r.u0.user_ns + r.u0.sys_ns)),
           (unsigned long long)r.u1.peak_rss, b.ch ? colo_transport(b.ch) : "reference");
    if (r.elapsed_ns) printf(" elapsed_ns=%llu", (unsigned long long)r.elapsed_ns);
    if (w.paired) printf(" floor_verified=%llu", (unsigned long long)r.floor_verified);
    if (timer && w.paired) {
      bench_sort_u64(r.floor_samples, w.count);
      printf(" floor_p50=%llu floor_p99=%llu", (unsigned long long)bench_pct(r.floor_samples, w.count, 0.50),
             (unsigned long long)bench_pct(r.floor_samples, w.count, 0.99));
    }
    if (timer) {
      double sum = 0;
      for (uint64_t i = 0; i < w.count; i++) sum += (double)r.samples[i];
      bench_sort_u64(r.samples, w.count);
      printf(" clock_ns=%llu min=%llu p50=%llu p90=%llu p99=%llu p999=%llu max=%llu mean=%.1f",
             (unsigned long long)clk, (unsigned long long)r.samples[0],
             (unsigned long long)bench_pct(r.samples, w.count, 0.50), (unsigned long long)bench_pct(r.samples, w.count, 0.90),
             (unsigned long long)bench_pct(r.samples, w.count, 0.99), (unsigned long long)bench_pct(r.samples, w.count, 0.999),
             (unsigned long long)r.samples[w.count - 1], sum / (double)w.count);
      printf(" pcts=");
      for (int k = 0; k < BENCH_NPCT; k++)
        printf("%s%llu", k ? "," : "", (unsigned long long)bench_pct(r.samples, w.count, bench_pcts[k]));
    }
    printf("\n");
    fflush(stdout);
  }
  close_chan(&b);
  free(r.samples);
  free(r.floor_samples);
  free(rbuf);
  for (int k = 0; k < BENCH_PAYLOADS; k++) free(pl.buf[k]);
  return rc;
}
