/*
 * ref_ring.c - the benchmark's reference ring (see ref_ring.h).
 */
#include "ref_ring.h"

#include <string.h>

#include "tools/os.h"
#include "colo.h"

static uint64_t stride_of(uint64_t size) { return size ? (size + 63) & ~(uint64_t)63 : 64; }

static uint64_t slots_of(uint64_t max_msg, uint64_t ring_bytes) {
  uint64_t n = 1, want = ring_bytes / stride_of(max_msg);
  while (n * 2 <= want) n *= 2;
  return n;
}

uint64_t ref_mem_size(uint64_t max_msg, uint64_t ring_bytes) {
  return 2 * (sizeof(ref_ctrl_t) + slots_of(max_msg, ring_bytes) * stride_of(max_msg));
}

void ref_attach(ref_ring_t *r, void *base, int i, uint64_t max_msg, uint64_t ring_bytes) {
  memset(r, 0, sizeof *r);
  r->size = max_msg;
  r->stride = stride_of(max_msg);
  r->nslots = slots_of(max_msg, ring_bytes);
  r->mask = r->nslots - 1;
  uint8_t *p = base;
  r->c = (ref_ctrl_t *)(void *)(p + (uint64_t)i * sizeof(ref_ctrl_t));
  r->slots = p + 2 * sizeof(ref_ctrl_t) + (uint64_t)i * r->nslots * r->stride;
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* The clock is read every 4096 turns of a wait only: 0 to go on spinning,
 * COLO_ETIMEDOUT when the peer has not moved for timeout_ms. */
static int turn(unsigned *i, uint64_t *deadline, int timeout_ms) {
  relax();
  if ((++*i & 4095u) != 0) return 0;
  uint64_t now = tos_now_ns();
  if (!*deadline) *deadline = now + (uint64_t)timeout_ms * 1000000u;
  return now >= *deadline ? COLO_ETIMEDOUT : 0;
}

int ref_send(ref_ring_t *r, const void *buf, size_t len, int timeout_ms) {
  if (len != r->size) return COLO_EMSGSIZE;
  unsigned i = 0;
  uint64_t deadline = 0;
  while (r->self - r->peer >= r->nslots) {
    r->peer = atomic_load_explicit(&r->c->head, memory_order_acquire); /* pairs with: ref_recv's release */
    if (r->self - r->peer < r->nslots) break;
    if (turn(&i, &deadline, timeout_ms)) return COLO_ETIMEDOUT;
  }
  memcpy(r->slots + (r->self & r->mask) * r->stride, buf, len);
  atomic_store_explicit(&r->c->tail, ++r->self, memory_order_release);
  return 0;
}

int ref_recv(ref_ring_t *r, void *buf, size_t cap, size_t *len, int timeout_ms) {
  unsigned i = 0;
  uint64_t deadline = 0;
  while (r->peer == r->self) {
    r->peer = atomic_load_explicit(&r->c->tail, memory_order_acquire); /* pairs with: ref_send's release */
    if (r->peer != r->self) break;
    if (turn(&i, &deadline, timeout_ms)) return COLO_ETIMEDOUT;
  }
  if (cap < r->size) return COLO_ENOBUFS;
  memcpy(buf, r->slots + (r->self & r->mask) * r->stride, r->size);
  *len = r->size;
  atomic_store_explicit(&r->c->head, ++r->self, memory_order_release);
  return 0;
}
