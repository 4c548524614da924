/*
 * shm_chan.c - the shared-memory transport (shm://, file://): listen, accept,
 * connect, send/recv, zero-copy, waiting, peer liveness, close.
 *
 * Waiting. Every blocking call is a loop of "try the ring; if it would block,
 * take one wait step". A wait step spins (spin mode, or hybrid within its spin
 * budget) or sleeps on the peer's index word via the ring's sleep protocol,
 * for at most COLO__PEER_POLL_NS at a time, so that a deadline or a dead peer
 * is noticed even when nobody wakes us.
 *
 * Peer liveness. A peer that closes sets closed[side] in the control block
 * before it lets go of its presence slot; a peer that dies lets go without
 * setting it. A wait step reads the flag (cheap), and at most every
 * COLO__PEER_POLL_NS probes the peer's presence slot (a system call). A
 * receiver reads everything the peer committed before it reports
 * COLO_ECLOSED or COLO_EPEERDEAD. A colo:// channel has a lifeline instead,
 * the rendezvous connection: its end of stream is the peer letting go (the
 * probe polls it); a memfd has no presence slots at all.
 */
#include <stdio.h>
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"
#include "ring.h"
#include "segment.h"


enum { HALF_TX = 0, HALF_RX = 1 };

typedef struct shm_listener {
  colo_listener_t base;
  colo__seg_t *seg;
  int accepted;
} shm_listener_t;

typedef struct shm_chan {
  colo_chan_t base;
  colo__seg_t *seg;
  int side;                 /* COLO__SIDE_*: also the index of the ring I produce into */
  colo__ring_t tx, rx;
  colo_wait_mode_t mode;
  uint64_t spin_ns;
  _Atomic int gone;         /* sticky: 0, COLO_ECLOSED, COLO_EPEERDEAD, COLO_EPROTO (lifeline), COLO_ECORRUPT
                               or COLO_ESTATE (the mapping is lost: colo__os_seg_lost) */
  const _Atomic int *lost;  /* the segment's lost word (shim.h): read on every call, no system call */
  int rdv;                   /* a colo:// channel: liveness is the lifeline's */
  colo__os_conn_t *lifeline; /* colo://: the rendezvous connection, once the handshake is done */
  uint64_t next_check[2];   /* per half (each half has its own thread) */
} shm_chan_t;

typedef struct waiter {
  int timeout_ms;
  int started, spinning;
  unsigned iter;
  uint64_t deadline, spin_until;
} waiter_t;

/* ---- channel construction ---------------------------------------------------- */

static const colo__chan_vt_t shm_vt;
static const colo__listener_vt_t shm_listener_vt;

static int chan_new(colo__seg_t *seg, const colo_opts_t *o, const colo__transport_t *t, colo_chan_t **out) {
  shm_chan_t *ch = colo__calloc(1, sizeof *ch);
  if (!ch) return colo__err_nomem();
  ch->base.vt = &shm_vt;
  ch->base.t = t;
  snprintf(ch->base.endpoint, sizeof ch->base.endpoint, "%s", seg->endpoint);
  ch->seg = seg;
  ch->side = seg->side;
  ch->lost = colo__os_seg_lost(seg->os);
  ch->mode = o->wait_mode;
  ch->spin_ns = (uint64_t)o->spin_us * 1000u;
  int cks = (seg->lay.incompat_flags & COLO__SEG_F_MSG_CHECKSUM) != 0;
  int txi = ch->side, rxi = 1 - ch->side;
  int spins = ch->mode == COLO_WAIT_SPIN; /* never sleeps on a ring: says so (format 1.1) */
  int rc = colo__ring_attach(&ch->tx, COLO__RING_PRODUCER, colo__seg_ring_ctrl(seg, txi),
                             colo__seg_ring_data(seg, txi), seg->lay.capacity[txi], cks, spins);
  if (!rc)
    rc = colo__ring_attach(&ch->rx, COLO__RING_CONSUMER, colo__seg_ring_ctrl(seg, rxi),
                           colo__seg_ring_data(seg, rxi), seg->lay.capacity[rxi], cks, spins);
  if (rc) {
    colo__free(ch);
    return rc;
  }
  ch->base.max_msg = ch->tx.max_msg;
  ch->base.ring_capacity = seg->lay.capacity[txi];
  *out = &ch->base;
  return 0;
}

int colo__shm_chan_new(colo__seg_t *seg, const colo_opts_t *o, const colo__transport_t *t, colo_chan_t **out) {
  int rc = chan_new(seg, o, t, out);
  if (!rc) ((shm_chan_t *)*out)->rdv = 1;
  return rc;
}

void colo__shm_chan_lifeline(colo_chan_t *base, colo__os_conn_t *conn) { ((shm_chan_t *)base)->lifeline = conn; }

static int shm_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out) {
  shm_listener_t *l = colo__calloc(1, sizeof *l);
  if (!l) return colo__err_nomem();
  l->base.vt = &shm_listener_vt;
  l->base.opts = *o;
  colo__endpoint_format(ep, l->base.endpoint, sizeof l->base.endpoint);
  int rc = colo__seg_create(ep, o, &l->seg);
  if (rc) {
    colo__free(l);
    return rc;
  }
  *out = &l->base;
  return 0;
}

static int shm_accept(colo_listener_t *base, colo_chan_t **out, int timeout_ms) {
  shm_listener_t *l = (shm_listener_t *)base;
  colo__seg_t *seg = l->seg;
  if (l->accepted)
    return colo__err(COLO_EBUSY, "%s: a shared-memory endpoint carries one connection, already accepted",
                     seg->endpoint);
  colo__seg_control_t *ctl = colo__seg_control(seg);
  uint64_t deadline = colo__deadline(timeout_ms);
  /* pairs with: the CAS in colo__seg_claim */
  while (colo__load_acquire(&ctl->claim) == 0) {
    /* A file truncated under us reads as zeros: it would never be claimed. */
    if (colo__load_relaxed(colo__os_seg_lost(seg->os)))
      return colo__err(COLO_ECORRUPT, "%s: the segment's file shrank under the mapping while waiting for a peer",
                       seg->endpoint);
    if (timeout_ms == 0) return COLO_EAGAIN;
    uint64_t now = colo__os_now_ns();
    if (now >= deadline)
      return colo__err(COLO_ETIMEDOUT, "%s: no peer connected within %d ms", seg->endpoint, timeout_ms);
    uint64_t slice = deadline - now < COLO__PEER_POLL_NS ? deadline - now : COLO__PEER_POLL_NS;
    colo__os_wait(seg->os, COLO__WAIT_CLAIM, &ctl->claim, 0, slice);
  }
  int rc = chan_new(seg, &l->base.opts, colo__transport_of(seg->kind), out);
  if (rc) return rc;
  atomic_fetch_add(&seg->refs, 1);
  l->accepted = 1;
  return 0;
}

static void shm_listener_close(colo_listener_t *base) {
  shm_listener_t *l = (shm_listener_t *)base;
  if (!l->accepted) colo__seg_close_side(l->seg);
  colo__seg_unref(l->seg);
  colo__free(l);
}

static const colo__listener_vt_t shm_listener_vt = {shm_accept, shm_listener_close};

/* One attempt. d->again while the listener does not exist yet, is still
 * initialising, or is a dead one's leftover that a restarting listener may
 * reclaim. */
static int shm_connect(const colo__endpoint_t *ep, const colo_opts_t *o, colo__dial_t *d, colo_chan_t **out) {
  colo__seg_t *seg = NULL;
  int rc = colo__seg_open(ep, &d->peers, o, &seg);
  if (!rc && (rc = colo__seg_claim(seg)) != 0) colo__seg_unref(seg);
  if (!rc) {
    rc = chan_new(seg, o, colo__transport_of(ep->kind), out);
    if (rc) colo__seg_unref(seg);
    return rc;
  }
  d->again = rc == COLO_ENOENT || rc == COLO_ENOTREADY || rc == COLO_EPEERDEAD;
  return rc;
}

/* colo_info_endpoint: the segment is inspected, as a connect would find it,
 * and nothing is taken; it is not waited for. */
static int shm_probe(const colo__endpoint_t *ep, const char *endpoint, colo__dial_t *d, colo_info_t *info) {
  colo_seg_info_t *si = colo__calloc(1, sizeof *si);
  if (!si) return colo__err_nomem();
  colo__os_seg_t *os = NULL;
  int rc = colo__seg_inspect(ep, d->seg_flags, si, &os);
  /* Whose it is, as a connect would ask first. */
  if (!rc && os) rc = colo__os_seg_check_owner(os, &d->peers);
  colo__os_seg_close(os);
  if (!rc && si->status) rc = colo__err(si->status, "%s: %s", endpoint, si->status_detail);
  else if (!rc && si->listener != COLO_PROC_ALIVE) rc = colo__err(COLO_EPEERDEAD, "%s: its listener is gone", endpoint);
  else if (!rc && si->connector != COLO_PROC_NONE)
    rc = colo__err(COLO_EBUSY, "%s: it already serves a connection", endpoint);
  if (!rc) {
    info->ring_capacity = si->capacity[1];
    info->max_message = colo__ring_max_msg(si->capacity[1]);
    colo__transport_how(colo__transport_of(ep->kind), "; a listener waits for its one connection", info->how,
                        sizeof info->how);
  }
  colo__free(si);
  return rc;
}

static void shm_close(colo_chan_t *base) {
  shm_chan_t *ch = (shm_chan_t *)base;
  colo__seg_close_side(ch->seg); /* before the lifeline ends: the peer then reads a clean close */
  colo__seg_unref(ch->seg);
  colo__os_conn_close(ch->lifeline);
  colo__free(ch);
}

/* ---- waiting ------------------------------------------------------------------- */

/* The rendezvous connection carries nothing after the handshake: 0 while
 * that holds, COLO_EPEERDEAD once the peer's end is gone (a clean close sets
 * closed[] first), COLO_EPROTO as soon as the peer wrote anything on it. */
static int lifeline_state(colo__os_conn_t *c) {
  if (!(colo__os_conn_poll(c, COLO__POLL_IN, 0) & COLO__POLL_IN)) return 0;
  uint8_t b;
  size_t got;
  int rc = colo__os_conn_read(c, &b, 1, &got);
  return rc == 0 ? COLO_EPROTO : rc == COLO_EAGAIN ? 0 : COLO_EPEERDEAD;
}

/* 0 while the peer is there; once not, a sticky code: COLO_ECLOSED,
 * COLO_EPEERDEAD, COLO_EPROTO, or COLO_ECORRUPT / COLO_ESTATE when this
 * side's mapping is lost (the file was truncated; a child after fork). */
static int peer_gone(shm_chan_t *ch, int half) {
  int g = atomic_load_explicit(&ch->gone, memory_order_relaxed);
  if (g) return g;
  int lost = colo__load_relaxed(ch->lost);
  colo__seg_control_t *ctl = colo__seg_control(ch->seg);
  int peer = 1 - ch->side;
  if (COLO__UNLIKELY(lost)) {
    g = lost == COLO__OS_LOST_FORKED ? COLO_ESTATE : COLO_ECORRUPT;
  /* pairs with: the seq_cst store of closed[] in colo__seg_close_side */
  } else if (colo__load_acquire(&ctl->closed[peer])) {
    g = COLO_ECLOSED;
  } else {
    uint64_t now = colo__os_now_coarse_ns();
    if (now < ch->next_check[half]) return 0;
    ch->next_check[half] = now + COLO__PEER_POLL_NS;
    if (ch->lifeline) {
      if ((g = lifeline_state(ch->lifeline)) == 0) return 0;
    } else if (ch->rdv || colo__os_seg_probe(ch->seg->os, peer) != 0) {
      return 0; /* (colo://: the handshake, before the lifeline is set) */
    }
    /* The peer let go of its slot or its lifeline. A clean close sets closed[] first. */
    if (g != COLO_EPROTO) g = colo__load_acquire(&ctl->closed[peer]) ? COLO_ECLOSED : COLO_EPEERDEAD;
  }
  /* What was read above may have come off pages the file lost just then:
   * the loss is what ends the channel. */
  if ((lost = colo__load_relaxed(ch->lost)) != 0) g = lost == COLO__OS_LOST_FORKED ? COLO_ESTATE : COLO_ECORRUPT;
  atomic_store_explicit(&ch->gone, g, memory_order_relaxed);
  return g;
}

static int gone_err(const shm_chan_t *ch, int g) {
  const char *ep = ch->base.endpoint;
  switch (g) {
  case COLO_EPROTO:
    return colo__err(g, "%s: the other side wrote on the rendezvous connection after the handshake, which carries "
                     "nothing then (protocol error): the channel is closed", ep);
  case COLO_ECORRUPT:
    return colo__err(g, "%s: the segment's file shrank under the mapping (the peer or another process that may "
                     "write it truncated it): the channel is unusable", ep);
  case COLO_ESTATE:
    return colo__err(g, "%s: this process inherited the channel across fork(); only the process that opened it may "
                     "use it", ep);
  default: return colo__err_gone(ep, g);
  }
}

/* After a step that touched the rings: COLO_ECORRUPT (or ESTATE) when the
 * mapping turned out lost meanwhile, so that nothing read off zero pages
 * passes for data and nothing written there passes for sent. */
static int check_lost(shm_chan_t *ch, int rc) {
  if (COLO__LIKELY(!colo__load_relaxed(ch->lost))) return rc;
  return gone_err(ch, peer_gone(ch, HALF_TX));
}

/*
 * One step of waiting for ring r. Returns 0 to retry the ring, COLO_EAGAIN
 * (timeout 0), COLO_ETIMEDOUT, COLO_ECLOSED or COLO_EPEERDEAD.
 */
static int wait_step(shm_chan_t *ch, colo__ring_t *r, int wait_id, int half, waiter_t *w) {
  /* While spinning, look at clocks and liveness only every 16th turn. */
  if (w->spinning && (++w->iter & 15u)) {
    colo__cpu_relax();
    return 0;
  }
  int g = peer_gone(ch, half);
  if (g) return g;
  if (w->timeout_ms == 0) return COLO_EAGAIN;
  uint64_t now = colo__os_now_ns();
  if (!w->started) {
    w->started = 1;
    w->deadline = w->timeout_ms < 0 ? UINT64_MAX : now + (uint64_t)w->timeout_ms * COLO__MS;
    w->spin_until = ch->mode == COLO_WAIT_SPIN     ? UINT64_MAX
                    : ch->mode == COLO_WAIT_HYBRID ? now + ch->spin_ns
                                                   : now;
  }
  if (now >= w->deadline)
    return colo__err(COLO_ETIMEDOUT, "%s: timed out after %d ms waiting for %s", ch->base.endpoint,
                     w->timeout_ms, half == HALF_RX ? "a message" : "space in the ring");
  if (now < w->spin_until) {
    w->spinning = 1;
    colo__cpu_relax();
    return 0;
  }
  w->spinning = 0;
  _Atomic uint32_t *word;
  uint32_t expect;
  if (!colo__ring_prepare_wait(r, &word, &expect)) return 0;
  /* A close that happened since the check above would only be noticed after
   * the sleep slice: look once more, now that our waiting flag is up. */
  if (!colo__load_acquire(&colo__seg_control(ch->seg)->closed[1 - ch->side])) {
    uint64_t slice = w->deadline - now < COLO__PEER_POLL_NS ? w->deadline - now : COLO__PEER_POLL_NS;
    colo__os_wait(ch->seg->os, wait_id, word, expect, slice);
  }
  colo__ring_finish_wait(r);
  return 0;
}

/* ---- sending --------------------------------------------------------------------- */

static int shm_reserve(colo_chan_t *base, size_t len, void **buf, int timeout_ms) {
  shm_chan_t *ch = (shm_chan_t *)base;
  int g = peer_gone(ch, HALF_TX);
  if (g) return gone_err(ch, g);
  waiter_t w = {.timeout_ms = timeout_ms};
  for (;;) {
    int rc = colo__ring_reserve(&ch->tx, len, buf);
    /* (A success is checked by the commit, after the message is written.) */
    if (rc != COLO_EAGAIN) return rc ? check_lost(ch, colo__with_endpoint(rc, ch->base.endpoint)) : 0;
    rc = wait_step(ch, &ch->tx, colo__wait_id(ch->side, 1), HALF_TX, &w);
    if (rc == COLO_ECLOSED || rc == COLO_EPEERDEAD || rc == COLO_EPROTO || rc == COLO_ECORRUPT || rc == COLO_ESTATE)
      return gone_err(ch, rc);
    if (rc) return rc;
  }
}

static int shm_commit(colo_chan_t *base, size_t len) {
  shm_chan_t *ch = (shm_chan_t *)base;
  int wake;
  int rc = colo__ring_commit(&ch->tx, len, &wake);
  if (wake) colo__os_wake(ch->seg->os, colo__wait_id(ch->side, 0), colo__lo32(&ch->tx.ctrl->tail));
  return check_lost(ch, rc);
}

/* ---- receiving ------------------------------------------------------------------- */

/* Waits for the next message; leaves it pending in the ring. */
static int rx_next(shm_chan_t *ch, const void **p, size_t *n, int timeout_ms) {
  waiter_t w = {.timeout_ms = timeout_ms};
  int gone = 0;
  for (;;) {
    int rc = colo__ring_peek(&ch->rx, p, n);
    /* (A success is checked by the caller: after recv's copy, at peek's end.) */
    if (rc != COLO_EAGAIN) return rc ? check_lost(ch, colo__with_endpoint(rc, ch->base.endpoint)) : 0;
    if (gone) return gone_err(ch, gone);
    rc = wait_step(ch, &ch->rx, colo__wait_id(1 - ch->side, 0), HALF_RX, &w);
    if (rc == COLO_ECLOSED || rc == COLO_EPEERDEAD) {
      gone = rc; /* look at the ring once more: deliver what was committed first */
      continue;
    }
    if (rc == COLO_EPROTO || rc == COLO_ECORRUPT || rc == COLO_ESTATE) return gone_err(ch, rc);
    if (rc) return rc;
  }
}

static int rx_verify(shm_chan_t *ch, const void *p, size_t n) {
  int rc = colo__ring_verify(&ch->rx, p, n);
  if (rc) {
    ch->rx.broken = 1;
    return colo__with_endpoint(rc, ch->base.endpoint);
  }
  return 0;
}

static int shm_peek(colo_chan_t *base, const void **buf, size_t *len, int timeout_ms) {
  shm_chan_t *ch = (shm_chan_t *)base;
  int rc = rx_next(ch, buf, len, timeout_ms);
  return rc ? rc : check_lost(ch, rx_verify(ch, *buf, *len));
}

/* Gives the pending message's space back (publishes head). */
static int rx_release(shm_chan_t *ch) {
  int wake;
  int rc = colo__ring_release(&ch->rx, &wake);
  if (wake) colo__os_wake(ch->seg->os, colo__wait_id(1 - ch->side, 1), colo__lo32(&ch->rx.ctrl->head));
  return rc;
}

static int shm_release(colo_chan_t *base) { return check_lost((shm_chan_t *)base, rx_release((shm_chan_t *)base)); }

static int shm_recv(colo_chan_t *base, void *buf, size_t cap, size_t *len, int timeout_ms) {
  shm_chan_t *ch = (shm_chan_t *)base;
  const void *p;
  size_t n;
  int rc = rx_next(ch, &p, &n, timeout_ms);
  if (rc) return rc;
  *len = n;
  if (n > cap)
    return colo__err(COLO_ENOBUFS, "%s: a %zu-byte message does not fit the %zu-byte buffer",
                     ch->base.endpoint, n, cap);
  if (n) memcpy(buf, p, n);
  /* Verify the private copy: what we return is what was checked (and was
   * not read off pages the file lost). */
  if ((rc = check_lost(ch, rx_verify(ch, buf, n))) != 0) return rc;
  /* The copy was checked: a loss from here on is the next call's to say. */
  return rx_release(ch);
}

static void shm_describe(const colo_chan_t *base, char *buf, size_t cap) {
  const shm_chan_t *ch = (const shm_chan_t *)base;
  if (ch->mode == COLO_WAIT_SPIN) snprintf(buf, cap, "; a waiting side spins");
  else snprintf(buf, cap, "; a waiting side %s %s", ch->mode == COLO_WAIT_HYBRID ? "spins, then sleeps on" : "sleeps on",
                colo__os_seg_wait_how(ch->seg->os));
}

static const colo__chan_vt_t shm_vt = {
    .describe = shm_describe,
    .reserve = shm_reserve,
    .commit = shm_commit,
    .peek = shm_peek,
    .release = shm_release,
    .recv = shm_recv,
    .close = shm_close,
};

const colo__transport_t colo__shm_transport = {
    .kind = COLO__EP_SHM,
    .name = "shm",
    .how = "a ring pair in a named shared-memory segment",
    .segment = 1,
    .listen = shm_listen,
    .connect = shm_connect,
    .probe = shm_probe,
};

const colo__transport_t colo__file_transport = {
    .kind = COLO__EP_FILE,
    .name = "file",
    .how = "a ring pair in a file's shared mapping",
    .segment = 1,
    .listen = shm_listen,
    .connect = shm_connect,
    .probe = shm_probe,
};

/* Reached only through colo:// (rdv.c): no endpoint of its own. */
const colo__transport_t colo__memfd_transport = {
    .name = "memfd",
    .how = "a ring pair in a memfd",
};
