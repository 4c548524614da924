/*
 * ring.c - the SPSC record ring (see ring.h for the model).
 *
 * Trust: the peer can write anything into the control block and the data
 * area at any time. Every peer-written value (its index, a record header) is
 * read once into a local, checked against what a correct peer could have
 * written, and only then used. All data accesses are masked into [0, cap) and
 * every record's extent is checked to be contiguous and published, so a hostile
 * peer can at worst make the ring report COLO_ECORRUPT, never make us touch
 * memory outside the data area.
 */
#include "ring.h"

#include <string.h>

#include "internal.h"

#define ALIGN_REC(n) (((n) + (COLO__REC_ALIGN - 1)) & ~(uint64_t)(COLO__REC_ALIGN - 1))

static int broken(colo__ring_t *r, const char *what, uint64_t a, uint64_t b) {
  r->broken = 1;
  return colo__err(COLO_ECORRUPT, "ring: %s (%llu, %llu)", what, (unsigned long long)a,
                   (unsigned long long)b);
}

void colo__ring_format(colo__seg_ring_ctrl_t *ctrl, uint64_t start) {
  memset((void *)ctrl, 0, sizeof *ctrl);
  colo__store_relaxed(&ctrl->tail, start);
  colo__store_relaxed(&ctrl->head, start);
}

int colo__ring_attach(colo__ring_t *r, colo__ring_role_t role, colo__seg_ring_ctrl_t *ctrl,
                      uint8_t *data, uint64_t cap, int checksum, int never_sleeps) {
  memset(r, 0, sizeof *r);
  r->ctrl = ctrl;
  r->data = data;
  r->cap = cap;
  r->mask = cap - 1;
  r->max_msg = colo__ring_max_msg(cap);
  r->checksum = checksum != 0;
  r->role = role;
  _Atomic uint32_t *self_never_sleeps;
  if (role == COLO__RING_PRODUCER) {
    r->self_word = &ctrl->tail, r->peer_word = &ctrl->head;
    r->self_flag = &ctrl->producer_waiting, r->peer_flag = &ctrl->consumer_waiting;
    self_never_sleeps = &ctrl->producer_never_sleeps, r->peer_never_sleeps = &ctrl->consumer_never_sleeps;
  } else {
    r->self_word = &ctrl->head, r->peer_word = &ctrl->tail;
    r->self_flag = &ctrl->consumer_waiting, r->peer_flag = &ctrl->producer_waiting;
    self_never_sleeps = &ctrl->consumer_never_sleeps, r->peer_never_sleeps = &ctrl->producer_never_sleeps;
  }
  /* Published to the peer with the attach itself (the segment's state, or
   * the claim): a peer that reads it before then only keeps its fence. */
  colo__store_relaxed(self_never_sleeps, never_sleeps ? 1u : 0u);
  /* pairs with: the creator's release store of the segment state */
  uint64_t head = colo__load_acquire(&ctrl->head);
  uint64_t tail = colo__load_acquire(&ctrl->tail);
  if (tail - head > cap) return broken(r, "attach: indices further apart than capacity", head, tail);
  r->self = role == COLO__RING_PRODUCER ? tail : head;
  r->peer = role == COLO__RING_PRODUCER ? head : tail;
  return 0;
}

/*
 * Re-reads the peer's index and validates it against what the peer can have
 * done since we last looked: a consumer's head moves forward, never past our
 * tail; a producer's tail moves forward, never more than cap past our head.
 */
static int refresh_peer(colo__ring_t *r) {
  /* pairs with: the peer's seq_cst store in publish() (acquire side of it) */
  uint64_t v = colo__load_acquire(r->peer_word);
  uint64_t moved = v - r->peer;
  /* (Indices only grow: a move of more than 2^63 is one backwards.) */
  if (r->role == COLO__RING_PRODUCER) {
    if (moved > r->self - r->peer)
      return broken(r, moved >> 63 ? "consumer index moved backwards" : "consumer index beyond producer index",
                    v, moved >> 63 ? r->peer : r->self);
  } else {
    if (moved > r->cap - (r->peer - r->self))
      return broken(r, moved >> 63 ? "producer index moved backwards" : "producer index beyond capacity", v,
                    moved >> 63 ? r->peer : r->self);
  }
  r->peer = v;
  return 0;
}

/* Publishes my index; returns 1 when the peer sleeps and needs a wake-up.
 * The fence is the store-load barrier of the sleep protocol (C11 7.17.3, seq_cst fences:
 * either the peer's seq_cst index load comes after the fence in the total
 * order and sees the new index, or its seq_cst flag store came before the
 * fence and the flag load below sees it).
 * pairs with: the seq_cst flag store and index load in colo__ring_prepare_wait.
 * Not a seq_cst store of the index: a locked RMW on the line the peer is
 * polling cost 200 ns per round trip here (15%), a fence on nothing shared
 * costs about nothing (docs/bench.md). */
static int publish(colo__ring_t *r) {
  /* A peer that declared it never sleeps (format 1.1: it only spins) has no
   * flag to look at, and needs no barrier: the release store is all. It
   * never takes the declaration back; a peer that lies about it only misses
   * its own wake-ups (its sleeps end at their slice). */
  if (!r->peer_spins) r->peer_spins = colo__load_relaxed(r->peer_never_sleeps) == 1u;
  int spins = r->peer_spins;
#if COLO__TSAN
  colo__store_seq_cst(r->self_word, r->self);
  return !spins && colo__load_seq_cst(r->peer_flag) != 0;
#else
  colo__store_release(r->self_word, r->self);
  if (spins) return 0;
  colo__fence_seq_cst();
  return colo__load_relaxed(r->peer_flag) != 0;
#endif
}

int colo__ring_reserve(colo__ring_t *r, size_t len, void **buf) {
  if (COLO__UNLIKELY(r->broken)) return colo__err(COLO_ECORRUPT, "ring: broken earlier by the peer");
  if (len > r->max_msg)
    return colo__err(COLO_EMSGSIZE, "message of %zu bytes, the maximum is %u", len, r->max_msg);
  uint64_t rec = ALIGN_REC(COLO__REC_HEADER_SIZE + (uint64_t)len);
  uint64_t pos = r->self & r->mask;
  uint64_t contig = r->cap - pos;
  /* A record never wraps: when it does not fit before the end, a pad record
   * fills the rest and the record starts at 0. rec <= cap/2 makes contig + rec
   * < cap, so a reservation always fits an empty ring. */
  uint64_t need = rec <= contig ? rec : contig + rec;
  if (r->cap - (r->self - r->peer) < need) {
    int rc = refresh_peer(r);
    if (rc) return rc;
    if (r->cap - (r->self - r->peer) < need) return COLO_EAGAIN;
  }
  uint64_t at = pos;
  if (need != rec) {
    uint32_t pad[2] = {COLO__REC_PAD, 0};
    memcpy(r->data + pos, pad, sizeof pad);
    at = 0;
  }
  r->pending = need;
  r->pend_pos = at;
  r->pend_len = (uint32_t)len;
  *buf = r->data + at + COLO__REC_HEADER_SIZE;
  return 0;
}

int colo__ring_commit(colo__ring_t *r, size_t len, int *wake) {
  *wake = 0;
  if (!r->pending) return colo__err(COLO_ESTATE, "commit without a reservation");
  if (len > r->pend_len)
    return colo__err(COLO_EINVAL, "commit of %zu bytes exceeds the %u reserved", len, r->pend_len);
  uint64_t pad = r->pending - ALIGN_REC(COLO__REC_HEADER_SIZE + (uint64_t)r->pend_len);
  uint32_t hdr[2] = {(uint32_t)len, 0};
  if (r->checksum)
    hdr[1] = (uint32_t)colo__hash64(r->data + r->pend_pos + COLO__REC_HEADER_SIZE, len);
  memcpy(r->data + r->pend_pos, hdr, sizeof hdr);
  r->self += pad + ALIGN_REC(COLO__REC_HEADER_SIZE + (uint64_t)len);
  r->pending = 0;
  *wake = publish(r);
  return 0;
}

int colo__ring_peek(colo__ring_t *r, const void **buf, size_t *len) {
  if (COLO__UNLIKELY(r->broken)) return colo__err(COLO_ECORRUPT, "ring: broken earlier by the peer");
  if (r->pending) {
    *buf = r->data + r->pend_pos + COLO__REC_HEADER_SIZE;
    *len = r->pend_len;
    return 0;
  }
  uint64_t avail = r->peer - r->self;
  if (avail == 0) {
    int rc = refresh_peer(r);
    if (rc) return rc;
    avail = r->peer - r->self;
    if (avail == 0) return COLO_EAGAIN;
  }
  uint64_t pos = r->self & r->mask;
  uint64_t skip = 0;
  uint32_t hdr = colo__read_once_u32(r->data + pos);
  if (hdr & COLO__REC_PAD) {
    skip = r->cap - pos;
    if (hdr != COLO__REC_PAD || pos == 0) return broken(r, "bad pad record", hdr, pos);
    if (skip >= avail) return broken(r, "pad record not followed by a record", skip, avail);
    pos = 0;
    hdr = colo__read_once_u32(r->data);
  }
  if (hdr > r->max_msg) return broken(r, "record length over the maximum", hdr, r->max_msg);
  uint64_t rec = ALIGN_REC(COLO__REC_HEADER_SIZE + (uint64_t)hdr);
  if (rec > avail - skip) return broken(r, "record extends past the published tail", rec, avail - skip);
  if (rec > r->cap - pos) return broken(r, "record wraps the end of the ring", rec, pos);
  r->pending = skip + rec;
  r->pend_pos = pos;
  r->pend_len = hdr;
  *buf = r->data + pos + COLO__REC_HEADER_SIZE;
  *len = hdr;
  return 0;
}

int colo__ring_verify(const colo__ring_t *r, const void *payload, size_t len) {
  if (!r->checksum) return 0;
  uint32_t want = colo__read_once_u32(r->data + r->pend_pos + 4);
  uint32_t got = (uint32_t)colo__hash64(payload, len);
  if (want != got)
    return colo__err(COLO_ECORRUPT, "message checksum mismatch (record says %08x, payload hashes to %08x)",
                     want, got);
  return 0;
}

int colo__ring_release(colo__ring_t *r, int *wake) {
  *wake = 0;
  if (!r->pending) return colo__err(COLO_ESTATE, "release without a peeked message");
  r->self += r->pending;
  r->pending = 0;
  *wake = publish(r);
  return 0;
}

int colo__ring_prepare_wait(colo__ring_t *r, _Atomic uint32_t **word, uint32_t *expect) {
  /* pairs with: publish() on the peer's side */
  colo__store_seq_cst(r->self_flag, 1u);
  uint64_t v = colo__load_seq_cst(r->peer_word);
  if (v != r->peer) {
    colo__store_relaxed(r->self_flag, 0u);
    return 0;
  }
  *word = colo__lo32(r->peer_word);
  *expect = (uint32_t)v;
  return 1;
}

void colo__ring_finish_wait(colo__ring_t *r) { colo__store_relaxed(r->self_flag, 0u); }
