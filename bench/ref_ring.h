/*
 * ref_ring.h - the reference: the floor of a shared-memory channel, a minimal
 * single-producer single-consumer spin ring written in the benchmark itself,
 * not the library, so that a run shows the library's overhead as a ratio
 * against it.
 *
 * It does the least any ring must do to move a message of a known size from
 * one process to the other: copy it into a slot, publish one index, and on
 * the other side see that index move, copy the message out and publish its
 * own. Slots are exactly the message's size rounded up to a cache line (no
 * length word: every message of a row has the row's size, so nothing rides
 * along that a message does not need), a free-running slot index per side,
 * each on its own cache line, a cached copy of the peer's index (the shared
 * line is read only when the cached one says full or empty), release/acquire
 * ordering and nothing else: no wake-ups, no liveness, no validation of a
 * peer (both sides are this program). docs/bench.md says why nothing
 * cheaper could do the same work.
 */
#ifndef COLO_BENCH_REF_RING_H
#define COLO_BENCH_REF_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ref_ctrl {
  _Alignas(64) _Atomic uint64_t tail; /* written by: producer */
  _Alignas(64) _Atomic uint64_t head; /* written by: consumer */
} ref_ctrl_t;

typedef struct ref_ring {
  ref_ctrl_t *c;
  uint8_t *slots;
  uint64_t nslots, mask, stride, size;
  uint64_t self, peer; /* my index; the peer's, last seen */
} ref_ring_t;

/* Bytes of shared memory for two rings carrying messages of msg_size bytes
 * in ring_bytes of slots each. */
uint64_t ref_mem_size(uint64_t msg_size, uint64_t ring_bytes);
/* Ring i (0 or 1) of the memory at base. */
void ref_attach(ref_ring_t *r, void *base, int i, uint64_t msg_size, uint64_t ring_bytes);
/* 0, or COLO_ETIMEDOUT when the peer did not move within timeout_ms;
 * COLO_EMSGSIZE for a length other than the ring's message size. */
int ref_send(ref_ring_t *r, const void *buf, size_t len, int timeout_ms);
int ref_recv(ref_ring_t *r, void *buf, size_t cap, size_t *len, int timeout_ms);

#endif
