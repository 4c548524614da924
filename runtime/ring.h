/*
 * ring.h - one direction of a channel: a single-producer single-consumer byte
 * ring of variable-size records, in memory shared with an untrusted peer.
 *
 * A colo__ring_t is one side's private view of a ring: the producer's or the
 * consumer's. Both views of one ring point at the same colo__seg_ring_ctrl_t
 * and data area. The ring knows nothing of processes, clocks or the OS: the
 * channel layer waits and wakes (shm_chan.c), the ring only says when a wait is
 * needed and on which word.
 *
 * Indices are free-running 64-bit byte counts, masked on use; used = tail - head;
 * no spare slot. Each side keeps its own index privately as the truth (the
 * shared copy is only a publication), and a cached, validated copy of the
 * peer's index, refreshed only when the cached one says "empty" or "full".
 */
#ifndef COLO_RUNTIME_RING_H
#define COLO_RUNTIME_RING_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

typedef enum colo__ring_role { COLO__RING_PRODUCER = 0, COLO__RING_CONSUMER = 1 } colo__ring_role_t;

typedef struct colo__ring {
  colo__seg_ring_ctrl_t *ctrl;
  uint8_t *data;
  uint64_t cap, mask;
  uint32_t max_msg;   /* cap / 2 - COLO__REC_HEADER_SIZE */
  uint32_t checksum;  /* records carry XXH3 checks */
  colo__ring_role_t role;
  _Atomic uint64_t *self_word, *peer_word;      /* my published index, the peer's */
  _Atomic uint32_t *self_flag, *peer_flag;      /* my waiting flag, the peer's */
  _Atomic uint32_t *peer_never_sleeps;          /* the peer's declaration (format 1.1) */
  int peer_spins;     /* it was seen to declare so: never taken back, never read again */
  uint64_t self;      /* my index: the truth */
  uint64_t peer;      /* the peer's index, last seen and validated */
  uint64_t pending;   /* reserved or peeked bytes, pad included; 0 = none */
  uint64_t pend_pos;  /* offset of the pending record's header in data */
  uint32_t pend_len;  /* payload bytes reserved or peeked */
  int broken;         /* sticky: the peer broke the ring (COLO_ECORRUPT) */
} colo__ring_t;

/* Largest payload a ring of this capacity carries. */
static inline uint32_t colo__ring_max_msg(uint64_t cap) {
  return (uint32_t)(cap / 2 - COLO__REC_HEADER_SIZE);
}

/* Creator: zeroes the control block and sets both indices to start (tests use
 * starts near 2^32 and 2^64 to cross the wrap points). */
void colo__ring_format(colo__seg_ring_ctrl_t *ctrl, uint64_t start);

/* Attaches a view. cap must be a validated power of two; the current indices
 * are read from ctrl and validated. never_sleeps: this side only ever spins
 * (COLO_WAIT_SPIN), which it declares in the block, so that the peer skips the
 * wake-up rule's fence (format 1.1). @return 0 or COLO_ECORRUPT. */
int colo__ring_attach(colo__ring_t *r, colo__ring_role_t role, colo__seg_ring_ctrl_t *ctrl,
                      uint8_t *data, uint64_t cap, int checksum, int never_sleeps);

/* Producer. reserve: COLO_EAGAIN when full, COLO_EMSGSIZE, COLO_ECORRUPT.
 * commit: publishes; returns 1 when the consumer is asleep and must be woken. */
int colo__ring_reserve(colo__ring_t *r, size_t len, void **buf);
int colo__ring_commit(colo__ring_t *r, size_t len, int *wake);

/* Consumer. peek: COLO_EAGAIN when empty, COLO_ECORRUPT. release: returns 1 in
 * *wake when the producer is asleep waiting for space. */
int colo__ring_peek(colo__ring_t *r, const void **buf, size_t *len);
int colo__ring_release(colo__ring_t *r, int *wake);
/* Verifies a payload against the pending record's check (checksum rings only). */
int colo__ring_verify(const colo__ring_t *r, const void *payload, size_t len);

/*
 * Sleep protocol, as io_uring's NEED_WAKEUP: the waiter sets its flag, then
 * (seq_cst) re-reads the peer's index. If it moved, the waiter must not sleep:
 * returns 0. Otherwise returns 1 with the 32-bit word to sleep on and the value
 * it must still hold; the caller sleeps (bounded) and then calls finish_wait.
 * The peer publishes its index, then (seq_cst) reads the flag and wakes us if
 * set (commit/release report that in *wake), so no wake-up is lost.
 */
int colo__ring_prepare_wait(colo__ring_t *r, _Atomic uint32_t **word, uint32_t *expect);
void colo__ring_finish_wait(colo__ring_t *r);

/* Bytes the consumer could read now without refreshing (tests, stats). */
static inline uint64_t colo__ring_cached_used(const colo__ring_t *r) {
  return r->role == COLO__RING_PRODUCER ? r->self - r->peer : r->peer - r->self;
}

#endif
