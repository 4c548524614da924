/*
 * worker.c - one side of a colo bench row, in its own process:
 *   colo __bench-worker a|b transport=T mode=M pattern=P size=N count=N
 *                           warmup=N interval_us=N seed=N endpoint=E [ref=H]
 * Side b listens and prints "ready ENDPOINT"; side a connects. Each side
 * ends with one line, "result key=value..." or "error TEXT".
 *
 * Every transport goes through the same loop (send, receive, check) behind
 * the two-function channel below, so that rows differ by transport only.
 * Every payload received is checked: its length and its XXH3 against the
 * payload the sender was due to send (one of BENCH_PAYLOADS, by sequence).
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

typedef struct wargs {
  int side_a;
  bench_transport_t transport;
  int mode;
  bench_pattern_t pattern;
  uint64_t size, count, warmup, interval_us, seed;
  const char *endpoint, *ref;
} wargs_t;

/* The channel the loops see: the library's, or the reference ring. */
typedef struct bchan {
  colo_chan_t *ch;
  colo_listener_t *l;
  tos_shmem_t *mem;
  ref_ring_t tx, rx;
} bchan_t;

static int bsend(bchan_t *b, const void *p, size_t n) {
  return b->mem ? ref_send(&b->tx, p, n, BENCH_OP_TIMEOUT_MS) : colo_send(b->ch, p, n, BENCH_OP_TIMEOUT_MS);
}

static int brecv(bchan_t *b, void *p, size_t cap, size_t *n) {
  return b->mem ? ref_recv(&b->rx, p, cap, n, BENCH_OP_TIMEOUT_MS) : colo_recv(b->ch, p, cap, n, BENCH_OP_TIMEOUT_MS);
}

static int bflush(bchan_t *b) { return b->mem ? 0 : colo_flush(b->ch, BENCH_OP_TIMEOUT_MS); }

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

/* Checks message i; 0 when it is the payload the sender was due to send. */
static int check(const payloads_t *pl, const wargs_t *w, const void *got, size_t n, uint64_t i) {
  if (n != w->size) {
    fail("payload of message %llu is %zu bytes, %llu were sent", (unsigned long long)i, n,
         (unsigned long long)w->size);
    return 3;
  }
  XXH64_hash_t h = XXH3_64bits(got, n), want = pl->hash[i % BENCH_PAYLOADS];
  if (h != want) {
    fail("payload of message %llu does not match what was sent (XXH3 %016llx, sent %016llx)",
         (unsigned long long)i, (unsigned long long)h, (unsigned long long)want);
    return 3;
  }
  return 0;
}

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

static int open_chan(const wargs_t *w, bchan_t *b) {
  if (w->transport == BT_REFERENCE) {
    int rc = tos_shmem_attach(w->ref ? w->ref : "", ref_mem_size(w->size, REF_RING_BYTES), &b->mem);
    if (rc) return fail_os("reference ring", rc);
    void *base = tos_shmem_base(b->mem);
    ref_attach(&b->tx, base, w->side_a ? 0 : 1, w->size, REF_RING_BYTES);
    ref_attach(&b->rx, base, w->side_a ? 1 : 0, w->size, REF_RING_BYTES);
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

/* ---- the patterns --------------------------------------------------------------------- */

/* The cost of one reading of the clock the loops use, on average. */
static uint64_t clock_cost(void) {
  enum { N = 20000 };
  uint64_t t0 = tos_now_ns();
  for (int i = 0; i < N; i++) (void)tos_now_ns();
  return (tos_now_ns() - t0 + N / 2) / N;
}

typedef struct wresult {
  tos_usage_t u0, u1;
  uint64_t verified, elapsed_ns;
  uint64_t *samples;
} wresult_t;

/* Side a of pingpong and idle: send, wait for the echo, time it. */
static int round_trips(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count, t_start = 0;
  for (uint64_t i = 0; i < total; i++) {
    if (i == w->warmup) tos_usage(&r->u0), t_start = tos_now_ns();
    if (w->pattern == BP_IDLE && i) tos_sleep_ns(w->interval_us * 1000u);
    size_t n;
    uint64_t t0 = tos_now_ns();
    int rc = bsend(b, pl->buf[i % BENCH_PAYLOADS], w->size);
    if (!rc) rc = brecv(b, rbuf, w->size, &n);
    uint64_t t1 = tos_now_ns();
    if (rc) return fail_colo("round trip", rc);
    if ((rc = check(pl, w, rbuf, n, i)) != 0) return rc;
    r->verified++;
    if (i >= w->warmup) r->samples[i - w->warmup] = t1 - t0;
  }
  r->elapsed_ns = tos_now_ns() - t_start;
  return 0;
}

/* Test hook: COLO_TEST_BENCH_CORRUPT=N makes side b flip a byte of message N
 * before echoing it, as a broken transport would (tests/bench_smoke.sh). */
static uint64_t corrupt_at(void) {
  const char *v = getenv("COLO_TEST_BENCH_CORRUPT");
  return v && *v ? strtoull(v, NULL, 10) : UINT64_MAX;
}

/* Side b of pingpong and idle: check each message and send it back. */
static int echo(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count, bad = corrupt_at();
  for (uint64_t i = 0; i < total; i++) {
    if (i == w->warmup) tos_usage(&r->u0);
    size_t n;
    int rc = brecv(b, rbuf, w->size, &n);
    if (rc) return fail_colo("receive", rc);
    if ((rc = check(pl, w, rbuf, n, i)) != 0) return rc;
    r->verified++;
    if (i == bad && n) rbuf[n / 2] ^= 0x20;
    if ((rc = bsend(b, rbuf, n)) != 0) return fail_colo("echo", rc);
  }
  return 0;
}

/* Side a of stream: send everything, then wait for side b's one-byte ack. */
static int stream_send(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count;
  for (uint64_t i = 0; i < total; i++) {
    if (i == w->warmup) tos_usage(&r->u0);
    int rc = bsend(b, pl->buf[i % BENCH_PAYLOADS], w->size);
    if (rc) return fail_colo("send", rc);
  }
  int rc = bflush(b);
  size_t n;
  if (!rc) rc = brecv(b, rbuf, w->size > 0 ? w->size : 1, &n);
  if (rc) return fail_colo("waiting for the receiver's ack", rc);
  return 0;
}

/* Side b of stream: receive and check everything; time from the last warm-up
 * message to the last one. */
static int stream_recv(const wargs_t *w, bchan_t *b, const payloads_t *pl, uint8_t *rbuf, wresult_t *r) {
  uint64_t total = w->warmup + w->count, t_start = 0;
  if (!w->warmup) tos_usage(&r->u0), t_start = tos_now_ns();
  for (uint64_t i = 0; i < total; i++) {
    size_t n;
    int rc = brecv(b, rbuf, w->size, &n);
    if (rc) return fail_colo("receive", rc);
    if ((rc = check(pl, w, rbuf, n, i)) != 0) return rc;
    r->verified++;
    if (i + 1 == w->warmup) tos_usage(&r->u0), t_start = tos_now_ns();
  }
  r->elapsed_ns = tos_now_ns() - t_start;
  uint8_t ack = 1;
  int rc = bsend(b, &ack, 1);
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
    else if (KEY("pattern")) w->pattern = (bench_pattern_t)atoi(v);
    else if (KEY("size")) w->size = strtoull(v, NULL, 10);
    else if (KEY("count")) w->count = strtoull(v, NULL, 10);
    else if (KEY("warmup")) w->warmup = strtoull(v, NULL, 10);
    else if (KEY("interval_us")) w->interval_us = strtoull(v, NULL, 10);
    else if (KEY("seed")) w->seed = strtoull(v, NULL, 10);
    else if (KEY("endpoint")) w->endpoint = v;
    else if (KEY("ref")) w->ref = v;
    else return fail("unknown key in '%s'", argv[i]);
#undef KEY
  }
  if (t < 0) return fail("no transport");
  w->transport = (bench_transport_t)t;
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
    printf("result verified=%llu cpu_ns=%llu rss=%llu transport=%s", (unsigned long long)r.verified,
           (unsigned long long)((r.u1.user_ns + r.u1.sys_ns) - (r.u0.user_ns + r.u0.sys_ns)),
           (unsigned long long)r.u1.peak_rss, b.ch ? colo_transport(b.ch) : "reference");
    if (r.elapsed_ns) printf(" elapsed_ns=%llu", (unsigned long long)r.elapsed_ns);
    if (timer) {
      double sum = 0;
      for (uint64_t i = 0; i < w.count; i++) sum += (double)r.samples[i];
      bench_sort_u64(r.samples, w.count);
      printf(" clock_ns=%llu min=%llu p50=%llu p90=%llu p99=%llu p999=%llu max=%llu mean=%.1f",
             (unsigned long long)clk, (unsigned long long)r.samples[0],
             (unsigned long long)bench_pct(r.samples, w.count, 0.50), (unsigned long long)bench_pct(r.samples, w.count, 0.90),
             (unsigned long long)bench_pct(r.samples, w.count, 0.99), (unsigned long long)bench_pct(r.samples, w.count, 0.999),
             (unsigned long long)r.samples[w.count - 1], sum / (double)w.count);
    }
    printf("\n");
    fflush(stdout);
  }
  close_chan(&b);
  free(r.samples);
  free(rbuf);
  for (int k = 0; k < BENCH_PAYLOADS; k++) free(pl.buf[k]);
  return rc;
}
