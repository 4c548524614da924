/*
 * stream.c - the stream transports (unix://, pipe://, tcp://): colo's framing and
 * handshake (docs/protocol.md) over a byte stream from the shim.
 *
 * Buffers. Each channel has a receive buffer that holds at least one frame of
 * the largest size this side accepts (its own limit, allocated before the
 * handshake), and a send buffer that grows only as the frames this side's
 * application sends need it: the size a peer announces allocates nothing.
 *
 * Sending. colo_reserve() hands out room in the send buffer; colo_commit()
 * frames the message and hands it to the kernel within the reserve's
 * timeout. Its result says exactly where the message is: 0, all of it is in
 * the kernel (delivered unless the receiver dies); COLO_ETIMEDOUT or
 * COLO_EAGAIN, none of it went out and the channel dropped it (sending it
 * again is safe); COLO_EINPROGRESS, part of it went out, and the rest is held
 * and goes out first with the next call (colo_flush() waits for it). So at
 * most the rest of one frame is ever held in the channel.
 *
 * Every frame header from the peer is checked before it is used: a length
 * above what this side accepts, an unknown control code or a stream that ends
 * inside a frame is a protocol error (COLO_EPROTO) that ends the channel.
 *
 * The peer's end: a clean close sends a BYE control frame before the stream
 * ends (COLO_ECLOSED); a stream that ends without one means the peer died
 * (COLO_EPEERDEAD). Either is reported after every frame before it, and a
 * sender whose writes fail reads what is left to tell which.
 */
#include <stdio.h>
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"
#include "conn.h"
#include "frame.h"
#include "ring.h"

#define SLACK (64u * 1024u)                  /* room for several small frames per read */
#define TX_INITIAL (64u * 1024u)             /* the send buffer's first size */
#define TX_KEEP (1024u * 1024u)              /* an empty send buffer above this shrinks back */

typedef struct stream_chan {
  colo_chan_t base;
  colo__os_conn_t *conn;
  uint32_t max_rx;                   /* the largest payload this side accepts */
  uint8_t *rx;                       /* received bytes [rx_start, rx_end) */
  size_t rx_cap, rx_start, rx_end;
  int peeked;                        /* a frame at rx_start is handed out */
  size_t peek_len;
  uint8_t *tx;                       /* bytes not yet written [tx_start, tx_end) */
  size_t tx_cap, tx_start, tx_end;
  int reserved;                      /* room for a frame at tx_end is handed out */
  size_t reserve_len;
  int reserve_timeout_ms;            /* the reserve's timeout also bounds its commit */
  uint64_t reserve_deadline;
  _Atomic int ended;                 /* the stream from the peer ended (EOF or reset) */
  _Atomic int tx_dead;               /* the peer takes no more bytes (EPIPE, reset) */
  _Atomic int gone;                  /* sticky end of the channel: ECLOSED, EPEERDEAD, EPROTO */
  /* One thread may send while another receives (colo.h). Each half's state
   * is under its lock, held only across non-blocking steps, never while
   * waiting. A half helps the other (moving pending bytes out, reading what
   * arrived) only when it gets the other's lock at once; lock order: tx, rx. */
  atomic_flag tx_lock, rx_lock;
} stream_chan_t;

static const colo__chan_vt_t stream_vt;

static void lock(atomic_flag *f) {
  while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) colo__cpu_relax();
}
static int trylock(atomic_flag *f) { return !atomic_flag_test_and_set_explicit(f, memory_order_acquire); }
static void unlock(atomic_flag *f) { atomic_flag_clear_explicit(f, memory_order_release); }

/* ---- construction ----------------------------------------------------------------- */

static stream_chan_t *chan_new(colo__os_conn_t *conn, const colo__transport_t *t, const char *endpoint,
                               const colo_opts_t *o) {
  stream_chan_t *ch = colo__calloc(1, sizeof *ch);
  if (!ch) return NULL;
  ch->base.vt = &stream_vt;
  ch->base.t = t;
  snprintf(ch->base.endpoint, sizeof ch->base.endpoint, "%s", endpoint);
  ch->conn = conn;
  atomic_flag_clear(&ch->tx_lock);
  atomic_flag_clear(&ch->rx_lock);
  /* The ring's rule, so that ring_capacity means the same on every transport. */
  ch->max_rx = colo__ring_max_msg(o->ring_capacity);
  ch->rx_cap = COLO__FRAME_HDR + ch->max_rx + SLACK;
  ch->rx = colo__malloc(ch->rx_cap);
  if (!ch->rx) {
    colo__free(ch);
    return NULL;
  }
  return ch;
}

static void chan_free(stream_chan_t *ch) {
  colo__os_conn_close(ch->conn);
  colo__free(ch->rx);
  colo__free(ch->tx);
  colo__free(ch);
}

/* With tx_lock held: room for `more` bytes after the pending ones, which
 * move to the front. 0 or COLO_ENOMEM. */
static int tx_room(stream_chan_t *ch, size_t more) {
  size_t pending = ch->tx_end - ch->tx_start;
  if (ch->tx_start) {
    memmove(ch->tx, ch->tx + ch->tx_start, pending);
    ch->tx_start = 0, ch->tx_end = pending;
  }
  if (ch->tx_cap - pending >= more) return 0;
  size_t cap = ch->tx_cap ? ch->tx_cap : TX_INITIAL;
  while (cap - pending < more) cap *= 2;
  uint8_t *n = colo__malloc(cap);
  if (!n) return colo__err(COLO_ENOMEM, "%s: out of memory for a %zu-byte send buffer", ch->base.endpoint, cap);
  if (pending) memcpy(n, ch->tx, pending);
  colo__free(ch->tx);
  ch->tx = n, ch->tx_cap = cap;
  return 0;
}

/* ---- the byte pump ------------------------------------------------------------------ */

static int end_of_stream(stream_chan_t *ch, int rc) {
  ch->ended = 1;
  if (rc == COLO_ECLOSED) /* end of stream without a BYE: the peer died */
    return colo__err_gone(ch->base.endpoint, COLO_EPEERDEAD);
  if (rc == COLO_EPEERDEAD)
    return colo__err(COLO_EPEERDEAD, "%s: the connection was reset: the other side exited or was killed",
                     ch->base.endpoint);
  return rc;
}

/* Writes pending bytes until done or the socket is full. 0, COLO_EPEERDEAD
 * (the peer takes nothing more), or another error. */
static int pump_tx(stream_chan_t *ch) {
  while (ch->tx_start < ch->tx_end) {
    size_t put;
    int rc = colo__os_conn_write(ch->conn, ch->tx + ch->tx_start, ch->tx_end - ch->tx_start, &put);
    if (rc == COLO_EAGAIN) return 0;
    if (rc == COLO_EPEERDEAD) ch->tx_dead = 1;
    if (rc) return rc;
    ch->tx_start += put;
  }
  if (!ch->reserved && ch->tx_cap > TX_KEEP) { /* after one big message, not for ever */
    colo__free(ch->tx);
    ch->tx = NULL;
    ch->tx_cap = ch->tx_start = ch->tx_end = 0;
  }
  return 0;
}

/* Reads what the socket has into the receive buffer. 0 (maybe nothing new),
 * or the end of the stream. */
static int pump_rx(stream_chan_t *ch) {
  if (ch->rx_end == ch->rx_cap && ch->rx_start > 0 && !ch->peeked) {
    memmove(ch->rx, ch->rx + ch->rx_start, ch->rx_end - ch->rx_start);
    ch->rx_end -= ch->rx_start;
    ch->rx_start = 0;
  }
  if (ch->rx_end == ch->rx_cap) return 0; /* full of complete frames: read later */
  size_t got;
  int rc = colo__os_conn_read(ch->conn, ch->rx + ch->rx_end, ch->rx_cap - ch->rx_end, &got);
  if (rc == COLO_EAGAIN) return 0;
  if (rc) return end_of_stream(ch, rc);
  ch->rx_end += got;
  return 0;
}

/* From the receiving half: moves pending bytes out if the sending half is
 * not busy. 1 when bytes are still pending (worth waiting for POLL_OUT). */
static int assist_tx(stream_chan_t *ch) {
  if (!trylock(&ch->tx_lock)) return 0; /* the sender is at work and moves them itself */
  pump_tx(ch);
  int pending = ch->tx_start < ch->tx_end;
  unlock(&ch->tx_lock);
  return pending;
}

/* From the sending half: reads what arrived if the receiving half is not
 * busy, so that the peer's end is seen. 1 when there is room to read more
 * (worth waiting for POLL_IN). */
static int assist_rx(stream_chan_t *ch) {
  if (!trylock(&ch->rx_lock)) return 0;
  pump_rx(ch);
  int room = ch->rx_end < ch->rx_cap;
  unlock(&ch->rx_lock);
  return room;
}

/* With tx_lock held: hands pending bytes to the socket until none are left
 * or the deadline passes. Waits without the lock. 0 (what is left is still
 * pending), COLO_EPEERDEAD (the peer is gone), or another error. */
static int flush_until(stream_chan_t *ch, uint64_t deadline) {
  for (;;) {
    int rc = pump_tx(ch);
    if (rc) return rc;
    if (ch->tx_start == ch->tx_end) return 0;
    if (ch->ended) return COLO_EPEERDEAD;
    if (colo__remaining_ns(deadline) == 0) return 0;
    int rx_room = assist_rx(ch);
    if (ch->ended) return COLO_EPEERDEAD;
    unlock(&ch->tx_lock);
    int late = colo__conn_wait(ch->conn, COLO__POLL_OUT | (rx_room ? COLO__POLL_IN : 0), deadline);
    lock(&ch->tx_lock);
    if (late) return 0;
  }
}

/* One wait of a blocking receive, with rx_lock held: COLO_EAGAIN (no wait
 * allowed), COLO_ETIMEDOUT, or 0 after waiting for the socket (want) with
 * the lock let go meanwhile. */
static int wait_step(stream_chan_t *ch, int want, int timeout_ms, uint64_t deadline) {
  if (timeout_ms == 0) return COLO_EAGAIN;
  if (colo__remaining_ns(deadline) == 0)
    return colo__err(COLO_ETIMEDOUT, "%s: timed out after %d ms waiting for a message", ch->base.endpoint, timeout_ms);
  unlock(&ch->rx_lock);
  colo__conn_wait(ch->conn, want, deadline);
  lock(&ch->rx_lock);
  return 0;
}

/* ---- frames in ------------------------------------------------------------------------ */

static int gone_err(stream_chan_t *ch) {
  if (ch->gone == COLO_ECLOSED || ch->gone == COLO_EPEERDEAD) return colo__err_gone(ch->base.endpoint, ch->gone);
  return colo__err(ch->gone, "%s: the peer broke the stream protocol earlier", ch->base.endpoint);
}

/* Ends the channel: the peer broke the protocol (what, with a number). */
static int protocol_error(stream_chan_t *ch, const char *what, uint32_t n) {
  ch->gone = COLO_EPROTO;
  return colo__err(COLO_EPROTO, "%s: %s (%u)", ch->base.endpoint, what, n);
}

/* Looks at the buffered bytes: 1 and the payload length when a whole data
 * frame is there, 0 when more bytes are needed, or an error / the end. */
static int next_frame(stream_chan_t *ch, size_t *len) {
  size_t have = ch->rx_end - ch->rx_start;
  uint32_t n;
  const char *why = "";
  switch (colo__frame_parse(ch->rx + ch->rx_start, have, ch->max_rx, &n, &why)) {
  case COLO__FRAME_DATA: *len = n; return 1;
  case COLO__FRAME_BYE:
    ch->rx_start += COLO__FRAME_HDR;
    ch->gone = COLO_ECLOSED;
    return gone_err(ch);
  case COLO__FRAME_BAD: return protocol_error(ch, why, n);
  case COLO__FRAME_NEED:
    /* Make sure the whole frame will fit from rx_start. */
    if (have >= COLO__FRAME_HDR && ch->rx_cap - ch->rx_start < COLO__FRAME_HDR + (size_t)n) {
      memmove(ch->rx, ch->rx + ch->rx_start, have);
      ch->rx_start = 0;
      ch->rx_end = have;
    }
    return 0;
  }
  return 0;
}

static int stream_peek(colo_chan_t *base, const void **buf, size_t *len, int timeout_ms) {
  stream_chan_t *ch = (stream_chan_t *)base;
  lock(&ch->rx_lock);
  if (ch->peeked) {
    *buf = ch->rx + ch->rx_start + COLO__FRAME_HDR;
    *len = ch->peek_len;
    unlock(&ch->rx_lock);
    return 0;
  }
  uint64_t deadline = colo__deadline(timeout_ms);
  int rc;
  for (;;) {
    if (ch->gone) {
      rc = gone_err(ch);
      break;
    }
    rc = next_frame(ch, len);
    if (rc == 1) {
      ch->peeked = 1;
      ch->peek_len = *len;
      *buf = ch->rx + ch->rx_start + COLO__FRAME_HDR;
      rc = 0;
      break;
    }
    if (rc) break;
    if (ch->ended) {
      /* The stream ended: before a BYE, or inside a frame. */
      if (ch->rx_end > ch->rx_start) {
        rc = protocol_error(ch, "the stream ended inside a frame, bytes of it received",
                            (uint32_t)(ch->rx_end - ch->rx_start));
        break;
      }
      ch->gone = COLO_EPEERDEAD;
      rc = gone_err(ch);
      break;
    }
    size_t before = ch->rx_end;
    int tx_pending = assist_tx(ch);
    rc = pump_rx(ch);
    if (rc == COLO_EPEERDEAD) continue; /* deliver what came before the end */
    if (rc) break;
    if (ch->rx_end != before) continue;
    rc = wait_step(ch, COLO__POLL_IN | (tx_pending ? COLO__POLL_OUT : 0), timeout_ms, deadline);
    if (rc) break;
  }
  unlock(&ch->rx_lock);
  return rc;
}

static int stream_release(colo_chan_t *base) {
  stream_chan_t *ch = (stream_chan_t *)base;
  lock(&ch->rx_lock);
  int rc = 0;
  if (!ch->peeked) {
    rc = colo__err(COLO_ESTATE, "release without a peeked message");
  } else {
    ch->rx_start += COLO__FRAME_HDR + ch->peek_len;
    ch->peeked = 0;
    if (ch->rx_start == ch->rx_end) ch->rx_start = ch->rx_end = 0;
  }
  unlock(&ch->rx_lock);
  return rc;
}

/* ---- frames out ----------------------------------------------------------------------- */

/* Why nothing can be sent any more: the peer closed (a BYE is among the
 * frames still to be received) or it died. The peer's BYE may still be in
 * the socket behind frames not yet read: what fits the receive buffer is
 * read first. The frames stay for colo_recv(). */
static int tx_end_err(stream_chan_t *ch) {
  if (ch->gone) return gone_err(ch);
  int bye = 0;
  lock(&ch->rx_lock); /* held by the receiver only for moments */
  for (int i = 0; i < 64 && !ch->ended && ch->rx_end < ch->rx_cap; i++) {
    size_t before = ch->rx_end;
    if (pump_rx(ch) != 0 || ch->rx_end == before) break;
  }
  for (size_t at = ch->rx_start;;) {
    uint32_t n;
    const char *why;
    colo__frame_kind_t k = colo__frame_parse(ch->rx + at, ch->rx_end - at, ch->max_rx, &n, &why);
    if (k != COLO__FRAME_DATA) {
      bye = k == COLO__FRAME_BYE;
      break;
    }
    at += COLO__FRAME_HDR + n;
  }
  unlock(&ch->rx_lock);
  return colo__err_gone(ch->base.endpoint, bye || ch->gone == COLO_ECLOSED ? COLO_ECLOSED : COLO_EPEERDEAD);
}

static int stream_reserve(colo_chan_t *base, size_t len, void **buf, int timeout_ms) {
  stream_chan_t *ch = (stream_chan_t *)base;
  if (ch->gone) return gone_err(ch);
  if (len > ch->base.max_msg)
    return colo__err(COLO_EMSGSIZE, "%s: message of %zu bytes, the maximum is %zu", ch->base.endpoint, len,
                     ch->base.max_msg);
  lock(&ch->tx_lock);
  ch->reserved = 0;
  /* Move what is pending on first: a peer that is gone is seen here. */
  int rc = pump_tx(ch);
  if (rc == COLO_EPEERDEAD || ch->tx_dead || ch->ended) {
    unlock(&ch->tx_lock);
    return tx_end_err(ch);
  }
  /* At most the rest of one frame is pending: room is made, never waited for. */
  if (!rc) rc = tx_room(ch, COLO__FRAME_HDR + len);
  if (!rc) {
    ch->reserved = 1;
    ch->reserve_len = len;
    ch->reserve_timeout_ms = timeout_ms;
    ch->reserve_deadline = colo__deadline(timeout_ms);
    *buf = ch->tx + ch->tx_end + COLO__FRAME_HDR;
  }
  unlock(&ch->tx_lock);
  return rc;
}

static int stream_commit(colo_chan_t *base, size_t len) {
  stream_chan_t *ch = (stream_chan_t *)base;
  lock(&ch->tx_lock);
  int rc;
  if (!ch->reserved) {
    rc = colo__err(COLO_ESTATE, "commit without a reservation");
  } else if (len > ch->reserve_len) {
    rc = colo__err(COLO_EINVAL, "commit of %zu bytes exceeds the %zu reserved", len, ch->reserve_len);
  } else {
    size_t start = ch->tx_end, end = start + COLO__FRAME_HDR + len;
    colo__put_u32(ch->tx + start, (uint32_t)len);
    ch->tx_end = end;
    ch->reserved = 0;
    /* The frame goes to the kernel now, within the reserve's timeout. */
    rc = flush_until(ch, ch->reserve_deadline);
    if (rc == 0 && ch->tx_start < end) {
      int t = ch->reserve_timeout_ms;
      if (ch->tx_start <= start) {
        /* Not a byte of it went out (the one before it was still going):
         * it was never sent, and the channel holds nothing of it. */
        ch->tx_end = start;
        rc = t == 0 ? COLO_EAGAIN
                    : colo__err(COLO_ETIMEDOUT, "%s: timed out after %d ms: the message was not sent (the other side "
                                "is not reading)", ch->base.endpoint, t);
      } else {
        rc = colo__err(COLO_EINPROGRESS, "%s: %zu of the message's %zu bytes went out before the timeout; the rest "
                       "goes out first with the next call (colo_flush waits for it)", ch->base.endpoint,
                       ch->tx_start - start, end - start);
      }
    }
  }
  unlock(&ch->tx_lock);
  return rc == COLO_EPEERDEAD ? tx_end_err(ch) : rc;
}

static int stream_flush(colo_chan_t *base, int timeout_ms) {
  stream_chan_t *ch = (stream_chan_t *)base;
  if (ch->gone) return gone_err(ch);
  lock(&ch->tx_lock);
  int rc = flush_until(ch, colo__deadline(timeout_ms));
  size_t pending = ch->tx_end - ch->tx_start;
  unlock(&ch->tx_lock);
  if (rc) return rc == COLO_EPEERDEAD ? tx_end_err(ch) : rc;
  if (pending == 0) return 0;
  return timeout_ms == 0 ? COLO_EAGAIN
                         : colo__err(COLO_ETIMEDOUT, "%s: timed out after %d ms flushing %zu bytes", ch->base.endpoint,
                                     timeout_ms, pending);
}

static int stream_os_handle(colo_chan_t *base, colo_os_handle_t *out) {
  return colo__os_conn_handle(((stream_chan_t *)base)->conn, out);
}

static void stream_close(colo_chan_t *base) {
  stream_chan_t *ch = (stream_chan_t *)base;
  if (!ch->ended && !ch->tx_dead) {
    /* Say goodbye after what is pending, and give it a bounded time to go. */
    ch->reserved = 0;
    if (tx_room(ch, COLO__FRAME_HDR) == 0) {
      colo__put_u32(ch->tx + ch->tx_end, COLO__FRAME_CONTROL | COLO__CTRL_BYE);
      ch->tx_end += COLO__FRAME_HDR;
    }
    uint64_t deadline = colo__os_now_ns() + COLO__LINGER_NS;
    while (ch->tx_start < ch->tx_end && !ch->ended && pump_tx(ch) == 0 && ch->tx_start < ch->tx_end)
      if (colo__conn_wait(ch->conn, COLO__POLL_OUT, deadline)) break;
  }
  chan_free(ch);
}

static const colo__chan_vt_t stream_vt = {
    .reserve = stream_reserve,
    .commit = stream_commit,
    .peek = stream_peek,
    .release = stream_release,
    .flush = stream_flush,
    .os_handle = stream_os_handle,
    .close = stream_close,
};

/* ---- the connector's handshake ------------------------------------------------------------ */

/* The listener closed or reset the connection before the handshake ended: it
 * refused us (SO_PEERCRED, a full backlog) or is not colo. Whether our HELLO
 * was still in flight (a write sees EPIPE) or its answer was awaited (a read
 * sees the end or a reset) is a race, so both say the same. */
static int handshake_cut(stream_chan_t *ch) {
  return colo__err(COLO_EPROTO, "%s: the listener closed the connection during the handshake (not a colo peer, "
                   "or one that does not accept this user)", ch->base.endpoint);
}

static int send_all(stream_chan_t *ch, const uint8_t *p, size_t n, uint64_t deadline) {
  while (n) {
    size_t put;
    int rc = colo__os_conn_write(ch->conn, p, n, &put);
    if (rc == COLO_EAGAIN) {
      if (colo__conn_wait(ch->conn, COLO__POLL_OUT, deadline))
        return colo__err(COLO_ETIMEDOUT, "%s: timed out in the handshake", ch->base.endpoint);
      continue;
    }
    if (rc == COLO_ECLOSED || rc == COLO_EPEERDEAD) return handshake_cut(ch);
    if (rc) return rc;
    p += put, n -= put;
  }
  return 0;
}

/* Reads and checks the listener's hello from the start of the stream. */
static int recv_hello(stream_chan_t *ch, uint64_t deadline, uint32_t *peer_max, unsigned *minor) {
  while (ch->rx_end < COLO__HELLO_SIZE) {
    size_t got;
    int rc = colo__os_conn_read(ch->conn, ch->rx + ch->rx_end, COLO__HELLO_SIZE - ch->rx_end, &got);
    if (rc == COLO_EAGAIN) {
      if (colo__conn_wait(ch->conn, COLO__POLL_IN, deadline))
        return colo__err(COLO_ETIMEDOUT, "%s: no colo handshake from the peer in time", ch->base.endpoint);
      continue;
    }
    if (rc == COLO_ECLOSED || rc == COLO_EPEERDEAD) return handshake_cut(ch);
    if (rc) return rc;
    ch->rx_end += got;
  }
  int rc = colo__hello_parse(ch->rx, peer_max, minor);
  if (rc) return colo__with_endpoint(rc, ch->base.endpoint);
  ch->rx_start = ch->rx_end = 0;
  return 0;
}

/* ---- listener ------------------------------------------------------------------------ */

/* The listener's side of the stream handshake (conn.h): the client's HELLO,
 * ours, then (version 1.1 clients) the client's ACK, which proves it is still
 * there: a connection its client gave up on is never handed out. */
static int stream_hs_step(colo__hs_t *h, colo_chan_t **out) {
  colo__conn_listener_t *l = (colo__conn_listener_t *)h->l;
  unsigned minor;
  int rc;
  switch (h->phase++) {
  case 0:
    h->in_want = COLO__HELLO_SIZE;
    return COLO__HS_MORE;
  case 1:
    if ((rc = colo__hello_parse(h->in, &h->peer_max, &minor)) != 0) return rc;
    h->flag = minor >= 1; /* it will ACK */
    colo__hello_write(h->out, colo__ring_max_msg(l->base.opts.ring_capacity));
    h->out_len = COLO__HELLO_SIZE;
    h->in_have = 0;
    h->in_want = h->flag ? COLO__FRAME_HDR : 0;
    return COLO__HS_MORE;
  case 2:
    if (h->flag && colo__get_u32(h->in) != (COLO__FRAME_CONTROL | COLO__CTRL_ACK))
      return colo__err(COLO_EPROTO, "the client did not confirm the handshake");
    rc = colo__stream_adopt(h->conn, colo__transport_of(l->kind), l->base.endpoint, &l->base.opts, h->peer_max, out);
    if (!rc) h->conn = NULL;
    return rc;
  }
  return colo__err(COLO_EIO, "stream handshake: phase %d", h->phase);
}

static int stream_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out) {
  return colo__conn_listen(ep, ep->kind, o, stream_hs_step, out);
}

/* ---- adopting a connection -------------------------------------------------------------- */

int colo__stream_adopt(colo__os_conn_t *conn, const colo__transport_t *t, const char *endpoint, const colo_opts_t *o,
                       uint32_t peer_max, colo_chan_t **out) {
  stream_chan_t *ch = chan_new(conn, t, endpoint, o);
  if (!ch) return colo__err_nomem();
  ch->base.max_msg = peer_max; /* the send buffer grows to what is sent, not to this */
  *out = &ch->base;
  return 0;
}

/* ---- connect ------------------------------------------------------------------------- */

static int stream_connect(const colo__endpoint_t *ep, const colo_opts_t *o, colo__dial_t *d, colo_chan_t **out) {
  char endpoint[COLO__PATH_MAX + 16];
  colo__endpoint_format(ep, endpoint, sizeof endpoint);
  uint64_t deadline = d->deadline;
  colo__os_conn_t *conn;
  int rc = colo__dial_conn(ep, d, &conn);
  if (rc) return rc;
  stream_chan_t *ch = chan_new(conn, colo__transport_of(ep->kind), endpoint, o);
  if (!ch) {
    colo__os_conn_close(conn);
    return colo__err_nomem();
  }
  /* The listener answers once its application accepts; a connect with no
   * deadline still waits for that. Our ACK is the last step: once it is
   * sent the connection is ours, and the listener hands it out only then. */
  uint8_t h[COLO__HELLO_SIZE];
  colo__hello_write(h, ch->max_rx);
  uint32_t peer_max = 0;
  unsigned minor = 0;
  rc = send_all(ch, h, sizeof h, deadline);
  if (!rc) rc = recv_hello(ch, deadline, &peer_max, &minor);
  if (!rc && minor >= 1) {
    uint8_t ack[COLO__FRAME_HDR];
    colo__put_u32(ack, COLO__FRAME_CONTROL | COLO__CTRL_ACK);
    rc = send_all(ch, ack, sizeof ack, deadline);
  }
  if (rc) {
    chan_free(ch);
    return rc;
  }
  ch->base.max_msg = peer_max;
  colo__os_conn_settle(conn);
  *out = &ch->base;
  return 0;
}

/* colo_info_endpoint: the listener is reached, and the connection closed
 * before the handshake, so that none is taken from its application. */
static int stream_probe(const colo__endpoint_t *ep, const char *endpoint, colo__dial_t *d, colo_info_t *info) {
  (void)endpoint;
  colo__os_conn_t *conn;
  int rc = colo__dial_conn(ep, d, &conn);
  if (rc) return rc;
  colo__os_conn_close(conn);
  colo__transport_how(colo__transport_of(ep->kind), "; a listener accepts connections (the handshake is not run, so "
                      "that no connection is taken from its application)", info->how, sizeof info->how);
  return 0;
}

const colo__transport_t colo__unix_transport = {
    .kind = COLO__EP_UNIX,
    .name = "unix",
    .how = "a local socket with colo's stream framing",
    .listen = stream_listen,
    .connect = stream_connect,
    .probe = stream_probe,
};

const colo__transport_t colo__pipe_transport = {
    .kind = COLO__EP_PIPE,
    .name = "pipe",
    .how = "named pipes with colo's stream framing",
    .listen = stream_listen,
    .connect = stream_connect,
    .probe = stream_probe,
};

const colo__transport_t colo__tcp_transport = {
    .kind = COLO__EP_TCP,
    .name = "tcp",
    .how = "a TCP connection with colo's stream framing",
    .listen = stream_listen,
    .connect = stream_connect,
    .probe = stream_probe,
};
