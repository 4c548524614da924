/*
 * rdv.c - the colo:// transport: a rendezvous unix socket on which every
 * connection settles on the fastest medium that passes a proof
 * (docs/protocol.md, "Rendezvous").
 *
 * The listener leads. For each rung, fastest first, it either says why it
 * cannot offer it (SKIP) or OFFERs it with a fresh nonce; for a ring rung
 * the nonce is already written into the ring it sends on. The client either
 * says why it cannot take the offer (SKIP) or echoes the nonce through the
 * medium and says so (ECHOED); the listener checks the echo and ends with
 * DONE, or with SKIP (the proof failed) and the next rung. The reasons of
 * every SKIP, from both sides, are kept for colo_info().
 *
 *   rung 1, memfd:  the ring pair in a memfd passed with SCM_RIGHTS (sealed
 *                   against resizing); nothing is left behind after a crash;
 *   rung 2, shm:    the ring pair in a named segment shm://rdv.<hex>, whose
 *                   name the listener removes once both sides mapped it;
 *   rung 3, unix:   the rendezvous connection itself, framed as unix://.
 *
 * On rungs 1 and 2 the connection stays open as the lifeline: its end tells
 * either side that the other closed or died (shm_chan.c).
 */
#include <stdio.h>
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"
#include "conn.h"
#include "frame.h"
#include "ring.h"
#include "segment.h"


static const char *const rung_name[] = {"", "memfd", "shm", "unix"};

/* What carries a channel on a ring rung. */
static const colo__transport_t *ring_transport(unsigned rung) {
  return rung == COLO__RUNG_MEMFD ? &colo__memfd_transport : &colo__shm_transport;
}
/* The rendezvous stream itself (rung 3), and what the socket is. */
static const colo__transport_t *sock_transport(void) { return colo__transport_of(colo__os_caps.rdv_kind); }

/* The PATH of "colo://PATH" (for messages). */
static const char *rdv_path(const char *endpoint, colo__endpoint_t *ep) {
  return colo__endpoint_parse(endpoint, ep) == 0 ? ep->name : endpoint;
}

/* Handshakes in progress that may hold an offered ring at once: a flood of
 * clients that stop after their request reserves no more than this many. */
#define RDV_OFFERS_MAX 32

static int rdv_hs_step(colo__hs_t *h, colo_chan_t **out);

/* One side of a handshake in progress. */
typedef struct link {
  colo__os_conn_t *conn;
  uint64_t deadline;
  const char *endpoint;
  const char *peer;       /* "listener" or "client", for messages */
  colo__os_seg_t *seg;    /* a segment that came with the last record */
  int seg_err;            /* or why the one that came could not be taken */
  const colo__os_peers_t *peers; /* client: who may own a named segment offered */
} link_t;

/* ---- records over the connection ------------------------------------------------------ */

/* The connector's side says what a stream connector says (stream.c): a
 * listener that hangs up before the handshake is done refused us or is no
 * colo listener. */
static int peer_left(const link_t *lk) {
  if (strcmp(lk->peer, "listener") == 0)
    return colo__err(COLO_EPROTO, "%s: the listener closed the rendezvous connection during the handshake (not a colo "
                     "peer, or one that does not accept this user)", lk->endpoint);
  return colo__err(COLO_EPEERDEAD, "%s: the %s closed the rendezvous connection during the handshake", lk->endpoint,
                   lk->peer);
}

static int timed_out(const link_t *lk) {
  return colo__err(COLO_ETIMEDOUT, "%s: the %s did not answer in time during the handshake%s", lk->endpoint, lk->peer,
                   strcmp(lk->peer, "listener") == 0 ? " (is it in colo_accept?)" : "");
}

static int link_send(link_t *lk, const colo__rdv_rec_t *r, colo__os_seg_t *attach) {
  uint8_t buf[COLO__RDV_HDR + COLO__RDV_MAX_BODY];
  size_t n = colo__rdv_write(buf, r), off = 0;
  while (off < n) {
    size_t put;
    int rc = attach && off == 0 ? colo__os_conn_write_seg(lk->conn, buf, n, &put, attach)
                                : colo__os_conn_write(lk->conn, buf + off, n - off, &put);
    if (rc == COLO_EAGAIN) {
      if (colo__conn_wait(lk->conn, COLO__POLL_OUT, lk->deadline)) return timed_out(lk);
      continue;
    }
    if (rc == COLO_EPEERDEAD) return peer_left(lk);
    if (rc) return colo__with_endpoint(rc, lk->endpoint);
    off += put;
  }
  return 0;
}

static void link_drop_seg(link_t *lk) {
  colo__os_seg_close(lk->seg);
  lk->seg = NULL;
  lk->seg_err = 0;
}

/* Reads exactly n bytes: never a byte of what follows the record. */
static int read_exact(link_t *lk, uint8_t *p, size_t n) {
  for (size_t have = 0; have < n;) {
    size_t got;
    colo__os_seg_t *seg;
    int seg_err;
    int rc = colo__os_conn_read_seg(lk->conn, p + have, n - have, &got, &seg, &seg_err);
    if (rc == COLO_EAGAIN) {
      if (colo__conn_wait(lk->conn, COLO__POLL_IN, lk->deadline)) return timed_out(lk);
      continue;
    }
    if (rc == COLO_ECLOSED || rc == COLO_EPEERDEAD) return peer_left(lk);
    if (rc) return colo__with_endpoint(rc, lk->endpoint);
    if (seg || seg_err) { /* one per record; the last one counts */
      link_drop_seg(lk);
      lk->seg = seg;
      lk->seg_err = seg_err;
    }
    have += got;
  }
  return 0;
}

static int link_recv(link_t *lk, colo__rdv_rec_t *r) {
  uint8_t buf[COLO__RDV_HDR + COLO__RDV_MAX_BODY];
  size_t n;
  link_drop_seg(lk);
  int rc = read_exact(lk, buf, COLO__RDV_HDR);
  if (!rc) rc = colo__rdv_header(buf, &n);
  if (!rc) rc = read_exact(lk, buf + COLO__RDV_HDR, n);
  if (!rc) rc = colo__rdv_parse(buf, COLO__RDV_HDR + n, r);
  return colo__with_endpoint(rc, lk->endpoint);
}

static int send_simple(link_t *lk, unsigned type, unsigned rung, const char *text) {
  colo__rdv_rec_t r;
  memset(&r, 0, sizeof r);
  r.type = type, r.rung = rung;
  if (text) snprintf(r.text, sizeof r.text, "%s", text);
  return link_send(lk, &r, NULL);
}

/*
 * Sends out (with attach), reads the answer for the same rung into *r. 0 when
 * the answer is of type want; 1 when it is the peer's SKIP (its reason is
 * recorded and ch closed); an error otherwise (ch closed).
 */
static int exchange(link_t *lk, const colo__rdv_rec_t *out, colo__os_seg_t *attach, unsigned want,
                    colo__rdv_rec_t *r, colo_info_t **route, colo_chan_t *ch) {
  int rc = link_send(lk, out, attach);
  if (!rc) rc = link_recv(lk, r);
  if (!rc && !((r->type == COLO__RDV_SKIP || r->type == want) && r->rung == out->rung))
    rc = colo__err(COLO_EPROTO, "%s: the %s answered record %u for rung %u with record %u for rung %u", lk->endpoint,
                   lk->peer, out->type, out->rung, r->type, r->rung);
  if (!rc && r->type == COLO__RDV_SKIP) {
    colo__route_skip(route, rung_name[out->rung], r->text);
    rc = 1;
  }
  if (rc) colo_close(ch);
  return rc;
}

/* ---- the proof through a ring ------------------------------------------------------------ */

static int ring_put_nonce(colo_chan_t *ch, const uint8_t *nonce) {
  void *p;
  int rc = ch->vt->reserve(ch, COLO__RDV_NONCE, &p, 0);
  if (rc) return rc;
  memcpy(p, nonce, COLO__RDV_NONCE);
  return ch->vt->commit(ch, COLO__RDV_NONCE);
}

/* 1 when the next message in the ring is the nonce (and takes it out). */
static int ring_take_nonce(colo_chan_t *ch, const uint8_t *nonce) {
  const void *p;
  size_t n;
  if (ch->vt->peek(ch, &p, &n, 0) != 0) return 0;
  int ok = n == COLO__RDV_NONCE && memcmp(p, nonce, COLO__RDV_NONCE) == 0;
  ch->vt->release(ch);
  return ok;
}

static void set_how(colo_chan_t *ch, colo_info_t **route, unsigned rung, const char *path, const char *seg_name) {
  colo_info_t *r = colo__route(route);
  if (!r) return;
  r->rung = (int)rung;
  if (rung == COLO__RUNG_MEMFD)
    snprintf(r->how, sizeof r->how, "a ring pair in a memfd passed over the rendezvous socket %s (the socket is the lifeline)",
             path);
  else if (rung == COLO__RUNG_SHM)
    snprintf(r->how, sizeof r->how, "a ring pair in the named segment shm://%s, its name removed once both sides "
             "mapped it (the rendezvous socket is the lifeline)", seg_name);
  else
    snprintf(r->how, sizeof r->how, "the rendezvous socket %s itself, with colo's stream framing", path);
  ch->route = *route;
  *route = NULL;
}

/* ---- listener ----------------------------------------------------------------------------- */

/* The rendezvous socket is of the shim's kind (a unix socket on Linux). */
static int rdv_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out) {
  return colo__conn_listen(ep, colo__os_caps.rdv_kind, o, rdv_hs_step, out);
}

/* Prepares the medium of a ring rung: the segment, a channel on it, and the
 * nonce in the ring the listener sends on. */
static int offer_ring(const char *endpoint, const colo_opts_t *o, colo__rdv_rec_t *offer, colo__seg_t **segp,
                      colo_chan_t **chp) {
  colo__seg_t *seg;
  int rc;
  if (offer->rung == COLO__RUNG_MEMFD) {
    rc = colo__seg_create_anon(o, endpoint, &seg);
  } else {
    colo__endpoint_t ep;
    memset(&ep, 0, sizeof ep);
    ep.kind = COLO__EP_SHM;
    uint64_t tag;
    memcpy(&tag, offer->nonce, sizeof tag);
    snprintf(offer->text, sizeof offer->text, "rdv.%016llx", (unsigned long long)tag);
    memcpy(ep.name, offer->text, strlen(offer->text) + 1);
    colo_opts_t oo = *o;
    oo.reclaim_stale = 0;
    /* Owner only, whatever the rendezvous socket's mode: the name lives
     * until both sides mapped it, and no third user may map it meanwhile.
     * (It is offered only to a client of this very user, or root.) */
    oo.perm = 0600;
    rc = colo__seg_create(&ep, &oo, &seg);
  }
  if (rc) return rc;
  colo_chan_t *ch;
  if ((rc = colo__shm_chan_new(seg, o, ring_transport(offer->rung), &ch)) != 0) {
    colo__seg_unref(seg);
    return rc;
  }
  if ((rc = ring_put_nonce(ch, offer->nonce)) != 0) {
    colo_close(ch);
    return rc;
  }
  *segp = seg;
  *chp = ch;
  return 0;
}

/*
 * The listener's side of the rendezvous, a step at a time (conn.h): it
 * reads the REQ, then for each rung sends an OFFER (or a SKIP) and reads the
 * client's answer, and ends with DONE. Handshakes of many clients proceed
 * side by side, so a silent one holds up nobody.
 */
typedef struct rdv_hs {
  colo__rdv_rec_t req, offer;
  unsigned rung;
  colo__seg_t *seg;
  colo_chan_t *ch;    /* the ring rung being proven (counted in the listener's offers) */
  colo__conn_listener_t *l; /* its held: the handshakes holding an offered ring */
  colo_info_t *route; /* every reason a rung was skipped */
  int end;            /* after the record being sent: the error to drop with */
} rdv_hs_t;

enum { P_START, P_REQ_BODY, P_REQ, P_ANS_BODY, P_ANS, P_SENT_SKIP, P_SENT_DONE, P_SENT_END };

/* Lets go of the ring on offer: closed, or (keep) handed to the caller. */
static colo_chan_t *offer_end(rdv_hs_t *r, int keep) {
  colo_chan_t *ch = r->ch;
  if (!ch) return NULL;
  r->ch = NULL;
  r->l->held--;
  if (keep) return ch;
  colo_close(ch);
  return NULL;
}

static void rdv_hs_free(void *p) {
  rdv_hs_t *r = p;
  offer_end(r, 0);
  colo__free(r->route);
  colo__free(r);
}

/* Asks for the next record: its header, then (P_*_BODY) its body. */
static int want_record(colo__hs_t *h, int body_phase) {
  h->in_have = 0;
  h->in_want = COLO__RDV_HDR;
  h->phase = body_phase;
  return COLO__HS_MORE;
}

/* The header is in: asks for the body. */
static int want_body(colo__hs_t *h, int next_phase) {
  size_t n;
  int rc = colo__rdv_header(h->in, &n);
  if (rc) return rc;
  h->in_want = COLO__RDV_HDR + n;
  h->phase = next_phase;
  return COLO__HS_MORE;
}

static int send_rec(colo__hs_t *h, unsigned type, unsigned rung, const char *text, int next_phase) {
  colo__rdv_rec_t r;
  memset(&r, 0, sizeof r);
  r.type = type, r.rung = rung;
  if (text) snprintf(r.text, sizeof r.text, "%s", text);
  h->out_len = colo__rdv_write(h->out, &r);
  h->phase = next_phase;
  return COLO__HS_MORE;
}

/* Offers the next rung the client tries, or sends why it cannot (then the
 * one after: P_SENT_SKIP), or that none is left. */
static int next_rung(colo__hs_t *h, rdv_hs_t *r) {
  const char *endpoint = h->l->endpoint;
  const colo_opts_t *o = &h->l->opts;
  while (++r->rung <= COLO__RUNG_COUNT) {
    unsigned rung = r->rung;
    if (!(r->req.flags & COLO__RDV_F_RUNG(rung))) {
      colo__route_skip(&r->route, rung_name[rung], "the connecting side does not try it");
      continue;
    }
    memset(&r->offer, 0, sizeof r->offer);
    r->offer.type = COLO__RDV_OFFER;
    r->offer.rung = rung;
    r->offer.max_rx = colo__ring_max_msg(o->ring_capacity);
    colo__os_random(r->offer.nonce, sizeof r->offer.nonce);
    int rc = 0;
    if (rung == COLO__RUNG_MEMFD && !colo__os_conn_can_pass_seg(h->conn))
      rc = colo__err(COLO_ENOTSUP, "%s: this connection cannot carry a segment (the system passes none over it)",
                     endpoint);
    else if (rung == COLO__RUNG_SHM && !colo__os_conn_peer_is_self_or_root(h->conn))
      rc = colo__err(COLO_EPERM, "%s: the client runs as another user, who could open a named segment only if every "
                     "user could (a memfd or the socket carries it instead)", endpoint);
    else if (rung != COLO__RUNG_SOCKET && r->l->held >= RDV_OFFERS_MAX)
      rc = colo__err(COLO_EBUSY, "%s: %u other handshakes hold the shared memory they were offered (a flood of "
                     "clients that stop halfway?): this one gets the socket", endpoint, r->l->held);
    else if (rung != COLO__RUNG_SOCKET && (rc = offer_ring(endpoint, o, &r->offer, &r->seg, &r->ch)) == 0)
      r->l->held++;
    if (rc) {
      char why[COLO__RDV_TEXT_MAX + 1];
      snprintf(why, sizeof why, "%s", colo__err_detail(endpoint));
      colo__route_skip(&r->route, rung_name[rung], why);
      return send_rec(h, COLO__RDV_SKIP, rung, why, P_SENT_SKIP);
    }
    h->out_len = colo__rdv_write(h->out, &r->offer);
    h->out_seg = rung == COLO__RUNG_MEMFD ? r->seg->os : NULL;
    return want_record(h, P_ANS_BODY);
  }
  r->end = colo__err(COLO_ENOTSUP, "%s: no transport passed its proof with this client", endpoint);
  return send_rec(h, COLO__RDV_SKIP, 0, "no rung is left", P_SENT_END);
}

/* DONE went out: the channel on the rung, with how it was chosen. */
static int finish(colo__hs_t *h, rdv_hs_t *r, colo_chan_t **out) {
  const char *endpoint = h->l->endpoint;
  colo_chan_t *ch = offer_end(r, 1);
  int rc;
  if (r->rung == COLO__RUNG_SOCKET) {
    if ((rc = colo__stream_adopt(h->conn, sock_transport(), endpoint, &h->l->opts, r->req.max_rx, &ch)) != 0)
      return rc;
  } else {
    if (r->rung == COLO__RUNG_SHM) colo__os_seg_unlink(r->seg->os); /* both sides hold it now */
    colo__shm_chan_lifeline(ch, h->conn);
    snprintf(ch->endpoint, sizeof ch->endpoint, "%s", endpoint);
  }
  h->conn = NULL; /* the channel's now */
  colo__endpoint_t ep;
  set_how(ch, &r->route, r->rung, rdv_path(endpoint, &ep), r->offer.text);
  /* A probe (colo_info_endpoint) is answered and closed: it never reaches
   * the application. */
  if (r->req.flags & COLO__RDV_F_PROBE) colo_close(ch);
  else *out = ch;
  return 0;
}

static int rdv_hs_step(colo__hs_t *h, colo_chan_t **out) {
  const char *endpoint = h->l->endpoint;
  rdv_hs_t *r = h->state;
  colo__rdv_rec_t rec;
  int rc;
  switch (h->phase) {
  case P_START:
    if (!(r = h->state = colo__calloc(1, sizeof *r))) return colo__err_nomem();
    r->l = (colo__conn_listener_t *)h->l;
    h->state_free = rdv_hs_free;
    return want_record(h, P_REQ_BODY);
  case P_REQ_BODY: return want_body(h, P_REQ);
  case P_REQ:
    if ((rc = colo__rdv_parse(h->in, h->in_have, &r->req)) != 0) return rc;
    if (r->req.type != COLO__RDV_REQ)
      return colo__err(COLO_EPROTO, "%s: the client did not start with a request", endpoint);
    return next_rung(h, r);
  case P_ANS_BODY:
    if (h->out_seg_err) { /* the offer never went out: the system would not pass the segment */
      char why[COLO__RDV_TEXT_MAX + 1];
      snprintf(why, sizeof why, "the segment could not be passed over the connection: %s",
               colo__err_detail(endpoint));
      h->out_seg_err = 0;
      colo__route_skip(&r->route, rung_name[r->rung], why);
      offer_end(r, 0);
      return send_rec(h, COLO__RDV_SKIP, r->rung, why, P_SENT_SKIP);
    }
    return want_body(h, P_ANS);
  case P_ANS:
    if ((rc = colo__rdv_parse(h->in, h->in_have, &rec)) != 0) return rc;
    if (!((rec.type == COLO__RDV_SKIP || rec.type == COLO__RDV_ECHOED) && rec.rung == r->rung))
      return colo__err(COLO_EPROTO, "%s: the client answered the offer of rung %u with record %u for rung %u", endpoint,
                       r->rung, rec.type, rec.rung);
    if (rec.type == COLO__RDV_SKIP) {
      colo__route_skip(&r->route, rung_name[r->rung], rec.text);
      offer_end(r, 0);
      return next_rung(h, r);
    }
    if (!(r->ch ? ring_take_nonce(r->ch, r->offer.nonce) : memcmp(rec.nonce, r->offer.nonce, COLO__RDV_NONCE) == 0)) {
      const char *why = r->ch ? "the proof failed: the nonce did not come back through the ring"
                              : "the proof failed: the nonce did not come back through the socket";
      colo__route_skip(&r->route, rung_name[r->rung], why);
      offer_end(r, 0);
      return send_rec(h, COLO__RDV_SKIP, r->rung, why, P_SENT_SKIP);
    }
    return send_rec(h, COLO__RDV_DONE, r->rung, NULL, P_SENT_DONE);
  case P_SENT_SKIP: return next_rung(h, r);
  case P_SENT_DONE: return finish(h, r, out);
  case P_SENT_END: return r->end;
  }
  return colo__err(COLO_EIO, "rendezvous handshake: phase %d", h->phase);
}

int colo__rdv_serve(colo__os_conn_t *conn, const char *endpoint, const colo_opts_t *o, colo_chan_t **out) {
  colo__conn_listener_t *l = colo__calloc(1, sizeof *l);
  colo__hs_t *h = colo__calloc(1, sizeof *h);
  if (!l || !h) {
    colo__free(l), colo__free(h);
    colo__os_conn_close(conn);
    return colo__err_nomem();
  }
  l->base.opts = *o;
  snprintf(l->base.endpoint, sizeof l->base.endpoint, "%s", endpoint);
  h->conn = conn;
  h->l = &l->base;
  h->step = rdv_hs_step;
  h->deadline = colo__os_now_ns() + COLO__HANDSHAKE_NS;
  *out = NULL;
  int rc = colo__hs_run(h, out);
  colo__free(l);
  return rc;
}

/* ---- client ------------------------------------------------------------------------------- */

/* Takes a ring rung's offer: maps the medium, echoes the nonce through it.
 * On failure the detail says why (sent to the listener as the reason). */
static int take_ring(link_t *lk, const colo_opts_t *o, const colo__rdv_rec_t *offer, colo_chan_t **out) {
  colo__seg_t *seg;
  int rc;
  if (offer->rung == COLO__RUNG_MEMFD) {
    if (lk->seg_err) return lk->seg_err;
    if (!lk->seg)
      return colo__err(COLO_EPERM, "no descriptor arrived with the offer (descriptor passing is not possible here)");
    colo__os_seg_t *os = lk->seg;
    lk->seg = NULL;
    rc = colo__seg_adopt(os, lk->endpoint, &seg);
  } else {
    char name[COLO__RDV_TEXT_MAX + 8];
    colo__endpoint_t ep;
    snprintf(name, sizeof name, "shm://%s", offer->text);
    if ((rc = colo__endpoint_parse(name, &ep)) != 0 || strncmp(offer->text, "rdv.", 4) != 0)
      return colo__err(COLO_EPROTO, "the listener offered a bad segment name");
    rc = colo__seg_open(&ep, lk->peers, o, &seg);
    if (rc == COLO_ENOENT)
      return colo__err(COLO_ENOENT, "named shared memory: the segment %s is not visible here (the two sides "
                                    "have different /dev/shm mounts)", name);
    if (!rc && (rc = colo__seg_claim(seg)) != 0) colo__seg_unref(seg);
  }
  if (rc) return rc;
  colo_chan_t *ch;
  if ((rc = colo__shm_chan_new(seg, o, ring_transport(offer->rung), &ch)) != 0) {
    colo__seg_unref(seg);
    return rc;
  }
  if (!ring_take_nonce(ch, offer->nonce)) {
    colo_close(ch);
    return colo__err(COLO_ECORRUPT, "the proof failed: the nonce the listener wrote is not in the ring");
  }
  if ((rc = ring_put_nonce(ch, offer->nonce)) != 0) {
    colo_close(ch);
    return rc;
  }
  *out = ch;
  return 0;
}

/* The error when every rung was skipped: each reason, in order. */
static int no_rung_left(const char *endpoint, const colo_info_t *route) {
  char why[2048];
  return colo__err(COLO_ENOTSUP, "%s: no transport passed its proof (%s)", endpoint,
                   colo__route_join(route, why, sizeof why));
}

static int rdv_connect(const colo__endpoint_t *ep, const colo_opts_t *o, colo__dial_t *d, colo_chan_t **out) {
  char endpoint[COLO__PATH_MAX + 16];
  colo__endpoint_format(ep, endpoint, sizeof endpoint);
  colo__endpoint_t sock = *ep;
  sock.kind = colo__os_caps.rdv_kind;
  colo__os_conn_t *conn;
  int rc = colo__dial_conn(&sock, d, &conn);
  if (rc) return rc;
  /* The listener answers once its application accepts; a connect with no
   * deadline waits for that. */
  return colo__rdv_client(conn, endpoint, o, d, out);
}

/* A colo:// channel's transport is its rung's: this entry only listens and
 * connects. A probe runs the whole handshake (every rung is proven). */
const colo__transport_t colo__colo_transport = {
    .kind = COLO__EP_COLO,
    .name = "colo",
    .how = "the fastest rung that passed its proof",
    .listen = rdv_listen,
    .connect = rdv_connect,
};

int colo__rdv_client(colo__os_conn_t *conn, const char *endpoint, const colo_opts_t *o, colo__dial_t *d,
                     colo_chan_t **out) {
  colo__endpoint_t ep;
  const char *path = rdv_path(endpoint, &ep);
  int rc;
  link_t lk = {conn, d->deadline, endpoint, "listener", NULL, 0, &d->peers};
  colo_info_t *route = NULL;
  colo__rdv_rec_t req;
  memset(&req, 0, sizeof req);
  req.type = COLO__RDV_REQ;
  req.flags = COLO__RDV_F_RUNG(1) | COLO__RDV_F_RUNG(2) | COLO__RDV_F_RUNG(3) | (d->probe ? COLO__RDV_F_PROBE : 0);
  req.max_rx = colo__ring_max_msg(o->ring_capacity);
  if ((rc = link_send(&lk, &req, NULL)) != 0) goto fail;
  for (;;) {
    colo__rdv_rec_t offer, r;
    if ((rc = link_recv(&lk, &offer)) != 0) goto fail;
    if (offer.type == COLO__RDV_SKIP && offer.rung == 0) {
      rc = no_rung_left(endpoint, route);
      goto fail;
    }
    if (offer.type == COLO__RDV_SKIP) {
      colo__route_skip(&route, rung_name[offer.rung], offer.text);
      continue;
    }
    if (offer.type != COLO__RDV_OFFER) {
      rc = colo__err(COLO_EPROTO, "%s: the listener sent record %u where an offer belongs", endpoint, offer.type);
      goto fail;
    }
    unsigned rung = offer.rung;
    colo_chan_t *ch = NULL;
    if (rung != COLO__RUNG_SOCKET && take_ring(&lk, o, &offer, &ch) != 0) {
      char why[COLO__RDV_TEXT_MAX + 1];
      snprintf(why, sizeof why, "%s", colo__err_detail(endpoint));
      colo__route_skip(&route, rung_name[rung], why);
      if ((rc = send_simple(&lk, COLO__RDV_SKIP, rung, why)) != 0) goto fail;
      continue;
    }
    link_drop_seg(&lk);
    colo__rdv_rec_t echo = {.type = COLO__RDV_ECHOED, .rung = rung};
    memcpy(echo.nonce, offer.nonce, sizeof echo.nonce);
    rc = exchange(&lk, &echo, NULL, COLO__RDV_DONE, &r, &route, ch);
    if (rc == 1) continue;
    if (rc) goto fail;
    if (rung == COLO__RUNG_SOCKET) {
      if ((rc = colo__stream_adopt(conn, sock_transport(), endpoint, o, offer.max_rx, &ch)) != 0) goto fail;
    } else {
      colo__shm_chan_lifeline(ch, conn);
      snprintf(ch->endpoint, sizeof ch->endpoint, "%s", endpoint);
    }
    set_how(ch, &route, rung, path, offer.text);
    colo__free(route);
    *out = ch;
    return 0;
  }
fail:
  link_drop_seg(&lk);
  colo__free(route);
  colo__os_conn_close(conn);
  return rc;
}
