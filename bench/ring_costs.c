/*
 * ring_costs.c - what each piece of a shared-memory ring costs a round trip,
 * measured outside colo bench and outside the library (issue 15's "measure
 * it against something written outside the bench"):
 *
 *   build/release/colo_ring_costs [BLOCKS [ROUND_TRIPS_PER_BLOCK [SIZE]]]
 *
 * Two processes pinned to CPUs 0 and 1 play ping-pong over a slot ring in a
 * shared anonymous mapping, in interleaved blocks of variants (so that every
 * variant sees the same drifts of the machine), each adding one thing to the
 * one before:
 *   0  the floor: slots of SIZE bytes (rounded up to 64), no header, a
 *      release store of one index per side (the bench's reference row);
 *   1  an 8-byte length header before the payload, as colo's records have
 *      (a 1 KiB message then spans 17 cache lines, not 16);
 *   2  colo's publish: a seq_cst fence and a load of the peer's sleep flag
 *      after each index store (the store-load barrier of the sleep protocol);
 *   3  a CLOCK_MONOTONIC_COARSE read per send (the liveness check's clock).
 * It prints each variant's p10, p50 and p90 round trip. Nothing here is
 * checked or timed by the tests: it is a measuring tool (docs/bench.md).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NV 4
#define NSLOTS 64
#define MAX_SIZE (64u << 10)

typedef struct ctrl {
  _Alignas(64) _Atomic uint64_t tail;
  _Alignas(64) _Atomic uint64_t head;
  _Alignas(64) _Atomic uint32_t flag;
} ctrl_t;

typedef struct ring {
  ctrl_t *c;
  uint8_t *slots;
  uint64_t stride;
} ring_t;

static size_t size;
static volatile uint64_t sink;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  if (sched_setaffinity(0, sizeof s, &s) != 0) perror("sched_setaffinity");
}

static void publish(_Atomic uint64_t *w, uint64_t v, _Atomic uint32_t *flag, int variant) {
  atomic_store_explicit(w, v, memory_order_release);
  if (variant >= 2) {
    atomic_thread_fence(memory_order_seq_cst);
    sink = atomic_load_explicit(flag, memory_order_relaxed);
  }
}

static void send_msg(ring_t *r, uint64_t *self, const uint8_t *buf, int variant) {
  if (variant >= 3) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    sink = (uint64_t)t.tv_nsec;
  }
  uint8_t *s = r->slots + (*self % NSLOTS) * r->stride;
  if (variant == 0) {
    memcpy(s, buf, size);
  } else {
    uint32_t h[2] = {(uint32_t)size, 0};
    memcpy(s + 8, buf, size);
    memcpy(s, h, sizeof h);
  }
  ++*self;
  publish(&r->c->tail, *self, &r->c->flag, variant);
}

static void recv_msg(ring_t *r, uint64_t *self, uint8_t *buf, int variant) {
  while (atomic_load_explicit(&r->c->tail, memory_order_acquire) == *self) __builtin_ia32_pause();
  const uint8_t *s = r->slots + (*self % NSLOTS) * r->stride;
  if (variant == 0) {
    memcpy(buf, s, size);
  } else {
    uint32_t h;
    memcpy(&h, s, sizeof h);
    if (h > size) abort();
    memcpy(buf, s + 8, h);
  }
  ++*self;
  publish(&r->c->head, *self, &r->c->flag, variant);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  long blocks = argc > 1 ? atol(argv[1]) : 20, per = argc > 2 ? atol(argv[2]) : 10000;
  size = argc > 3 ? (size_t)atol(argv[3]) : 1024;
  if (blocks < 1 || per < 10 || size < 1 || size > MAX_SIZE) {
    fprintf(stderr, "usage: colo_ring_costs [BLOCKS [ROUND_TRIPS_PER_BLOCK (>= 10) [SIZE (1..65536)]]]\n");
    return 2;
  }
  uint64_t stride = (size + 8 + 63) & ~(uint64_t)63; /* room for the header variants */
  size_t bytes = 2 * sizeof(ctrl_t) + 2 * NSLOTS * stride;
  uint8_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return perror("mmap"), 1;
  ring_t ring[2];
  for (int d = 0; d < 2; d++) {
    ring[d].c = (ctrl_t *)(void *)(m + d * sizeof(ctrl_t));
    ring[d].slots = m + 2 * sizeof(ctrl_t) + (size_t)d * NSLOTS * stride;
    ring[d].stride = stride;
  }
  uint8_t *buf = calloc(1, size);
  uint64_t *samples[NV];
  size_t n[NV] = {0};
  for (int v = 0; v < NV; v++)
    if (!(samples[v] = malloc(sizeof(uint64_t) * (size_t)(blocks * per)))) return perror("malloc"), 1;
  if (!buf) return perror("calloc"), 1;
  long total = blocks * NV * per;
  pid_t child = fork();
  if (child < 0) return perror("fork"), 1;
  if (child == 0) {
    pin(1);
    uint64_t rs = 0, ss = 0;
    for (long i = 0; i < total; i++) {
      int v = (int)((i / per) % NV);
      recv_msg(&ring[0], &rs, buf, v);
      send_msg(&ring[1], &ss, buf, v);
    }
    _exit(0);
  }
  pin(0);
  uint64_t rs = 0, ss = 0;
  for (long i = 0; i < total; i++) {
    int v = (int)((i / per) % NV);
    uint64_t t0 = now_ns();
    send_msg(&ring[0], &ss, buf, v);
    recv_msg(&ring[1], &rs, buf, v);
    uint64_t t1 = now_ns();
    if (i % per >= per / 10) samples[v][n[v]++] = t1 - t0; /* each block's first tenth warms up */
  }
  waitpid(child, NULL, 0);
  static const char *const name[NV] = {"floor (no header)", "+ 8-byte record header", "+ publish fence",
                                        "+ coarse clock per send"};
  printf("%zu-byte ping-pong, %ld blocks of %ld round trips per variant, interleaved\n", size, blocks, per);
  for (int v = 0; v < NV; v++) {
    qsort(samples[v], n[v], sizeof(uint64_t), cmp_u64);
    printf("%-26s p10 %6llu ns  p50 %6llu ns  p90 %6llu ns\n", name[v], (unsigned long long)samples[v][n[v] / 10],
           (unsigned long long)samples[v][n[v] / 2], (unsigned long long)samples[v][n[v] * 9 / 10]);
  }
  return 0;
}
