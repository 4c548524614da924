/*
 * conn.c - socket listeners with handshakes side by side, and dialing
 * (see conn.h).
 */
#include <stdio.h>
#include <string.h>

#include "conn.h"

static const colo__listener_vt_t conn_listener_vt;

int colo__conn_listen(const colo__endpoint_t *ep, colo__ep_kind_t sock_kind, const colo_opts_t *o,
                      colo__hs_step_t step, colo_listener_t **out) {
  colo__conn_listener_t *cl = colo__calloc(1, sizeof *cl);
  if (!cl) return colo__err_nomem();
  colo__endpoint_t sock = *ep, actual;
  sock.kind = sock_kind;
  int rc = colo__os_listen(&cl->sock, &sock, o->perm, &actual);
  if (rc) {
    colo__free(cl);
    return rc;
  }
  actual.kind = ep->kind;
  cl->base.vt = &conn_listener_vt;
  cl->base.opts = *o;
  cl->step = step;
  cl->kind = ep->kind;
  colo__endpoint_format(&actual, cl->base.endpoint, sizeof cl->base.endpoint);
  *out = &cl->base;
  return 0;
}

static void hs_free(colo__hs_t *h) {
  if (h->state_free) h->state_free(h->state);
  colo__os_conn_close(h->conn);
  colo__free(h);
}

/* Does the I/O h waits for, without blocking: 1 when all of it is done,
 * 0 when the socket must become ready first, or the error that ends it. */
static int hs_io(colo__hs_t *h) {
  while (h->out_off < h->out_len) {
    size_t put;
    int rc = h->out_seg && h->out_off == 0
                 ? colo__os_conn_write_seg(h->conn, h->out, h->out_len, &put, h->out_seg)
                 : colo__os_conn_write(h->conn, h->out + h->out_off, h->out_len - h->out_off, &put);
    if (rc == COLO_EAGAIN) return 0;
    if (rc && h->out_seg && h->out_off == 0 && rc != COLO_EPEERDEAD && rc != COLO_ECLOSED) {
      /* The connection works but the segment cannot go over it: the
       * protocol skips what needed it, with the reason. */
      h->out_seg_err = rc;
      h->out_seg = NULL;
      h->out_len = h->in_want = h->in_have = 0;
      return 1;
    }
    if (rc) return rc;
    h->out_off += put;
  }
  h->out_seg = NULL;
  /* Exactly what was asked: never a byte of what follows the handshake. */
  while (h->in_have < h->in_want) {
    size_t got;
    int rc = colo__os_conn_read(h->conn, h->in + h->in_have, h->in_want - h->in_have, &got);
    if (rc == COLO_EAGAIN) return 0;
    if (rc) return rc == COLO_ECLOSED ? colo__err(COLO_EPEERDEAD, "the client hung up during the handshake") : rc;
    h->in_have += got;
  }
  return 1;
}

/* Moves h on as far as it goes now: 0 when it waits for its socket, 1 when
 * done (*out: the channel, or NULL), or the error that drops it. */
static int hs_advance(colo__hs_t *h, colo_chan_t **out) {
  for (;;) {
    int rc = hs_io(h);
    if (rc <= 0) return rc;
    h->out_len = h->out_off = 0;
    *out = NULL;
    rc = h->step(h, out);
    if (rc != COLO__HS_MORE) return rc == 0 ? 1 : rc;
    if (h->out_len == 0 && h->in_have >= h->in_want)
      return colo__err(COLO_EIO, "handshake: the protocol asked for nothing"); /* a bug, not a hang */
  }
}

static int hs_want(const colo__hs_t *h) {
  return h->out_off < h->out_len ? COLO__POLL_OUT : COLO__POLL_IN;
}

static void unlink_hs(colo__conn_listener_t *cl, colo__hs_t *h, colo__hs_t *prev) {
  if (prev) prev->next = h->next;
  else cl->pending = h->next;
  if (cl->last == h) cl->last = prev;
  cl->npending--;
}

/* A new connection: checked, queued, and moved on at once. 1 with *out
 * when its handshake is already done (a probe never is: *out NULL is
 * dropped here). */
static int hs_begin(colo__conn_listener_t *cl, colo__os_conn_t *conn, colo_chan_t **out) {
  colo_listener_t *l = &cl->base;
  /* A user this listener does not accept gets nothing, not even a HELLO. */
  if (colo__os_conn_check_peer(conn, &l->peers, "the client") != 0) {
    colo__os_conn_close(conn);
    return 0;
  }
  colo__hs_t *h = colo__calloc(1, sizeof *h);
  if (!h) {
    colo__os_conn_close(conn);
    return colo__err_nomem();
  }
  h->conn = conn;
  h->l = l;
  h->step = cl->step;
  h->deadline = colo__os_now_ns() + COLO__HANDSHAKE_NS;
  if (cl->npending == COLO__HS_MAX) { /* the oldest makes room: every newcomer gets its chance */
    colo__hs_t *old = cl->pending;
    unlink_hs(cl, old, NULL);
    hs_free(old);
  }
  int rc = hs_advance(h, out);
  if (rc == 0) {
    h->next = NULL;
    if (cl->last) cl->last->next = h;
    else cl->pending = h;
    cl->last = h;
    cl->npending++;
    return 0;
  }
  hs_free(h);
  return rc == 1 && *out ? 1 : 0;
}

/* colo_accept(): takes every waiting connection of a user l->peers accepts,
 * moves every handshake on, and returns the first channel, within
 * timeout_ms. */
static int conn_accept(colo_listener_t *l, colo_chan_t **out, int timeout_ms) {
  colo__conn_listener_t *cl = (colo__conn_listener_t *)l;
  uint64_t deadline = colo__deadline(timeout_ms);
  colo__os_pollitem_t *items = NULL;
  unsigned cap = 0;
  int rc;
  for (;;) {
    /* The connections waiting in the kernel's queue: a queue that refills as
     * fast as it is emptied (a flood) must not keep us past our deadline. */
    for (int taken = 0; taken < COLO__HS_MAX; taken++) {
      if (taken && timeout_ms != 0 && colo__os_now_ns() >= deadline) break;
      colo__os_conn_t *conn;
      rc = colo__os_accept(cl->sock, &conn, 0);
      if (rc == COLO_EAGAIN) break;
      if (rc) goto done;
      if ((rc = hs_begin(cl, conn, out)) != 0) {
        if (rc == 1) rc = 0;
        goto done;
      }
    }
    /* Every handshake in progress, oldest first; the first done wins. */
    uint64_t now = colo__os_now_ns(), next = deadline;
    for (colo__hs_t *h = cl->pending, *prev = NULL, *nx; h; h = nx) {
      nx = h->next;
      int r = now >= h->deadline ? colo__err(COLO_ETIMEDOUT, "the client's handshake took too long") : hs_advance(h, out);
      if (r == 0) {
        if (h->deadline < next) next = h->deadline;
        prev = h;
        continue;
      }
      unlink_hs(cl, h, prev);
      colo_chan_t *ch = r == 1 ? *out : NULL;
      hs_free(h);
      if (ch) {
        rc = 0;
        goto done;
      }
    }
    if (timeout_ms == 0) {
      rc = COLO_EAGAIN;
      goto done;
    }
    now = colo__os_now_ns();
    if (now >= deadline) {
      rc = cl->npending
               ? colo__err(COLO_ETIMEDOUT, "%s: no peer completed the handshake within %d ms (%u still at it)",
                           l->endpoint, timeout_ms, cl->npending)
               : colo__err(COLO_ETIMEDOUT, "%s: no peer connected within %d ms", l->endpoint, timeout_ms);
      goto done;
    }
    /* Sleep until a socket is ready, a handshake's time is up, or ours. */
    if (cap < cl->npending + 1) {
      colo__free(items);
      cap = cl->npending + 16;
      if (!(items = colo__malloc(cap * sizeof *items))) {
        rc = colo__err_nomem();
        goto done;
      }
    }
    size_t n = 0;
    items[n++] = (colo__os_pollitem_t){NULL, cl->sock, COLO__POLL_IN, 0};
    for (colo__hs_t *h = cl->pending; h; h = h->next) items[n++] = (colo__os_pollitem_t){h->conn, NULL, hs_want(h), 0};
    colo__os_poll_many(items, n, next == UINT64_MAX ? UINT64_MAX : next > now ? next - now : 0);
  }
done:
  colo__free(items);
  if (rc) *out = NULL;
  return rc;
}

/* Drops every handshake in progress and closes the socket. */
static void conn_close(colo_listener_t *l) {
  colo__conn_listener_t *cl = (colo__conn_listener_t *)l;
  for (colo__hs_t *h = cl->pending, *nx; h; h = nx) {
    nx = h->next;
    hs_free(h);
  }
  cl->pending = cl->last = NULL;
  cl->npending = 0;
  colo__os_listen_close(cl->sock);
  colo__free(cl);
}

static const colo__listener_vt_t conn_listener_vt = {.accept = conn_accept, .close = conn_close};

int colo__conn_wait(colo__os_conn_t *c, int want, uint64_t deadline) {
  uint64_t left = colo__remaining_ns(deadline);
  if (left == 0) return COLO_ETIMEDOUT;
  colo__os_conn_poll(c, want, left);
  return 0;
}

int colo__hs_run(colo__hs_t *h, colo_chan_t **out) {
  for (;;) {
    int rc = hs_advance(h, out);
    if (rc) {
      hs_free(h);
      return rc == 1 ? 0 : rc;
    }
    if (colo__conn_wait(h->conn, hs_want(h), h->deadline)) {
      hs_free(h);
      return colo__err(COLO_ETIMEDOUT, "the client's handshake took too long");
    }
  }
}

int colo__dial_conn(const colo__endpoint_t *ep, colo__dial_t *d, colo__os_conn_t **out) {
  int rc = colo__os_connect(out, ep, d->timeout_ms == 0 ? 0 : colo__remaining_ns(d->deadline), &d->peers);
  /* Nobody listens yet, or the listener is too busy to queue us. */
  d->again = rc == COLO_ENOENT || rc == COLO_EAGAIN;
  return rc;
}
