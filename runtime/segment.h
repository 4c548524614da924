/*
 * segment.h - a mapped channel segment: creation, validation, lifetime.
 */
#ifndef COLO_RUNTIME_SEGMENT_H
#define COLO_RUNTIME_SEGMENT_H

#include <stdint.h>

#include "../shims/shim.h"
#include "internal.h"
#include "layout.h"

/* A segment's geometry, as planned by the creator or as validated by an
 * opener. Openers use only this private copy, never the shared header. */
typedef struct colo__seg_layout {
  uint16_t major, minor;
  uint32_t incompat_flags;
  uint64_t size;
  uint64_t control_offset;
  uint64_t ctrl_offset[2], data_offset[2], capacity[2];
  uint64_t nonce;
} colo__seg_layout_t;

typedef struct colo__seg {
  colo__os_seg_t *os;
  uint8_t *base;
  colo__seg_layout_t lay;
  int side;                 /* which side this handle is: COLO__SIDE_* */
  colo__ep_kind_t kind;     /* COLO__EP_SHM or _FILE; 0 for a nameless one (memfd) */
  int held;                 /* this handle holds its side's presence slot */
  _Atomic int refs;         /* listener + channel in one process */
  char endpoint[COLO__PATH_MAX + 16];
} colo__seg_t;

/* Wait-word ids within a segment (the Windows shim names its events by them). */
#define COLO__WAIT_CLAIM 0
static inline int colo__wait_id(int ring, int is_head) { return 1 + 2 * ring + is_head; }

/* Plans the layout for a ring capacity. @return 0 or COLO_EINVAL. */
int colo__seg_plan(uint64_t capacity, int msg_checksum, colo__seg_layout_t *out);
/* Writes header and control blocks of a planned layout into zeroed memory
 * (everything but the state word). ring_start: initial ring index (0; tests
 * use values near the wrap points). */
void colo__seg_format(void *base, const colo__seg_layout_t *lay, uint64_t created_ns, uint64_t ring_start);
/* Stores state = READY: the last write of the creator. */
void colo__seg_publish(void *base);

/*
 * Validates a segment image of obj_size bytes (obj_size may be 0) and fills
 * *out. Reads every shared field once. Pure: no OS calls, no allocation.
 * @return 0; COLO_ENOTREADY (still initialising), COLO_ECORRUPT, COLO_EVERSION;
 *         colo_last_error() says what failed.
 */
int colo__seg_validate(const void *base, uint64_t obj_size, colo__seg_layout_t *out);

/* Creates the endpoint's segment for the listener side, reclaiming a dead
 * leftover when allowed. */
int colo__seg_create(const colo__endpoint_t *ep, const colo_opts_t *o, colo__seg_t **out);
/* Opens and validates a ready segment for the connector side (one attempt);
 * its owner must be one peers accepts. */
int colo__seg_open(const colo__endpoint_t *ep, const colo__os_peers_t *peers, const colo_opts_t *o,
                   colo__seg_t **out);
/* Creates a nameless segment (colo__os_seg_create_anon) for the listener side
 * of a colo:// connection; it holds no presence slot (the rendezvous
 * connection is the lifeline). endpoint names it in messages. */
int colo__seg_create_anon(const colo_opts_t *o, const char *endpoint, colo__seg_t **out);
/* Validates an opened segment for the connector side and wraps it; owns os
 * (closed on failure). */
int colo__seg_adopt(colo__os_seg_t *os, const char *endpoint, colo__seg_t **out);

static inline colo__seg_control_t *colo__seg_control(const colo__seg_t *s) {
  return (colo__seg_control_t *)(void *)(s->base + s->lay.control_offset);
}
static inline colo__seg_ring_ctrl_t *colo__seg_ring_ctrl(const colo__seg_t *s, int ring) {
  return (colo__seg_ring_ctrl_t *)(void *)(s->base + s->lay.ctrl_offset[ring]);
}
static inline uint8_t *colo__seg_ring_data(const colo__seg_t *s, int ring) {
  return s->base + s->lay.data_offset[ring];
}

/* Connector: takes the connector's presence slot and claims the segment.
 * COLO_EBUSY when another connector holds it or it served a connection. */
int colo__seg_claim(colo__seg_t *s);
/* Fills info from a handle opened without a mapping (its header is read, not
 * mapped): validation status, geometry, who holds which side. */
void colo__seg_describe(colo__os_seg_t *os, colo_seg_info_t *info);
/* Looks at the endpoint's object without attaching (info->endpoint set);
 * *keep (if given) receives the handle when one could be opened. 0, or
 * COLO_ENOENT and the codes of a name that cannot be looked up. */
/* The namespace opts ask shm:// names in: COLO__SEG_GLOBAL or 0. */
static inline int colo__seg_ns_flags(const colo_opts_t *o) { return o->shm_global ? COLO__SEG_GLOBAL : 0; }
int colo__seg_inspect(const colo__endpoint_t *ep, int flags, colo_seg_info_t *info, colo__os_seg_t **keep);

/* The one rule for "ours and dead", used by colo ls, gc, rm and a
 * listener's reclaim alike. */
typedef enum colo__seg_verdict {
  COLO__SEG_DEAD = 0, /* ours, and no live process holds it: may be removed */
  COLO__SEG_LIVE,     /* a live process holds a side */
  COLO__SEG_YOUNG,    /* ours, not ready, and young: its creator may be at work */
  COLO__SEG_FOREIGN,  /* not a colo segment: never removed but by force */
  COLO__SEG_UNKNOWN   /* cannot tell (no permission to look) */
} colo__seg_verdict_t;
colo__seg_verdict_t colo__seg_verdict(const colo_seg_info_t *info);
/* The error saying why a segment of verdict v is not removed (0 for DEAD);
 * action is appended to the detail. */
int colo__seg_verdict_err(const colo_seg_info_t *info, colo__seg_verdict_t v, const char *action);

/* Marks this side closed cleanly and wakes the peer wherever it may sleep. */
void colo__seg_close_side(colo__seg_t *s);
/* Drops a reference; the last one releases this side's presence, removes the
 * endpoint when the peer holds none either, and unmaps. */
void colo__seg_unref(colo__seg_t *s);

#endif
