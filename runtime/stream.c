/*
 * stream.c - the stream transports (unix://, pipe://, tcp://): colo's framing and
 * handshake (docs/protocol.md) over a byte stream from the shim.
 *
 * Buffers. Each channel has a receive buffer that holds at least one frame of
 * the largest size this side accepts, and a send buffer that holds at least
 * one frame of the largest size the peer accepts. colo_reserve() hands out
 * room in the send buffer; colo_commit() frames the message and writes what
 * the socket takes at once; bytes the socket did not take stay pending and
 * go out on every later call (a reserve waits, within its timeout, for room),
 * and at colo_close(), which lingers at most COLO__LINGER_NS for them.
 *
 * Every frame header from the peer is checked before it is used: a length
 * above what this side accepts, an unknown control code or a stream that ends
 * inside a frame is a protocol error (COLO_EPROTO) that ends the channel; no
 * allocation ever depends on a peer's value.
 *
 * The peer's end: a clean close sends a BYE control frame before the stream
 * ends (COLO_ECLOSED); a stream that ends without one means the peer died
 * (COLO_EPEERDEAD). Either is reported after every frame before it.
 */
#include <stdio.h>
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"
#include "frame.h"
#include "ring.h"

#define HELLO_SIZE COLO__HELLO_SIZE
#define FRAME_HDR COLO__FRAME_HDR
#define FRAME_CONTROL COLO__FRAME_CONTROL
#define CTRL_BYE COLO__CTRL_BYE
#define SLACK (64u * 1024u)                          /* room for several small frames per read */
#define COLO__HANDSHAKE_NS (2000ull * 1000000u)      /* a client's hello must arrive within */
#define COLO__LINGER_NS (1000ull * 1000000u)         /* close waits this long for pending bytes */

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
  uint64_t reserve_deadline;         /* the reserve's deadline also bounds its commit */
  _Atomic int ended;                 /* the stream from the peer ended (after bye or not) */
  _Atomic int gone;                  /* sticky end of the channel: ECLOSED, EPEERDEAD, EPROTO */
  /* One thread may send while another receives (colo.h). Each half's state
   * is under its lock, held only across non-blocking steps, never while
   * waiting. A half helps the other (moving pending bytes out, reading what
   * arrived) only when it gets the other's lock at once; lock order: tx, rx. */
  atomic_flag tx_lock, rx_lock;
} stream_chan_t;

typedef struct stream_listener {
  colo_listener_t base;
  colo__os_lsock_t *sock;
  colo__ep_kind_t kind;
} stream_listener_t;

static const colo__chan_vt_t unix_vt, tcp_vt, pipe_vt;
static const colo__listener_vt_t stream_listener_vt;


static void lock(atomic_flag *f) {
  while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) colo__cpu_relax();
}
static int trylock(atomic_flag *f) { return !atomic_flag_test_and_set_explicit(f, memory_order_acquire); }
static void unlock(atomic_flag *f) { atomic_flag_clear_explicit(f, memory_order_release); }


/* ---- construction ----------------------------------------------------------------- */

static stream_chan_t *chan_new(colo__os_conn_t *conn, colo__ep_kind_t kind, const char *endpoint,
                               const colo_opts_t *o) {
  stream_chan_t *ch = colo__calloc(1, sizeof *ch);
  if (!ch) return NULL;
  ch->base.vt = kind == COLO__EP_UNIX ? &unix_vt : kind == COLO__EP_PIPE ? &pipe_vt : &tcp_vt;
  snprintf(ch->base.endpoint, sizeof ch->base.endpoint, "%s", endpoint);
  ch->conn = conn;
  atomic_flag_clear(&ch->tx_lock);
  atomic_flag_clear(&ch->rx_lock);
  /* The ring's rule, so that ring_capacity means the same on every transport. */
  ch->max_rx = colo__ring_max_msg(o->ring_capacity);
  ch->rx_cap = FRAME_HDR + ch->max_rx + SLACK;
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

/* The peer's hello fixes what this side may send. */
static int set_peer_limit(stream_chan_t *ch, uint32_t peer_max) {
  ch->base.max_msg = peer_max;
  ch->tx_cap = FRAME_HDR + peer_max + SLACK;
  ch->tx = colo__malloc(ch->tx_cap);
  return ch->tx ? 0 : colo__err(COLO_ENOMEM, "out of memory");
}

/* ---- the byte pump ------------------------------------------------------------------ */

static int end_of_stream(stream_chan_t *ch, int rc) {
  ch->ended = 1;
  if (rc == COLO_ECLOSED) /* end of stream without a BYE: the peer died */
    return colo__err(COLO_EPEERDEAD, "%s: the other side exited or was killed without closing the channel",
                     ch->base.endpoint);
  if (rc == COLO_EPEERDEAD)
    return colo__err(COLO_EPEERDEAD, "%s: the connection was reset: the other side exited or was killed",
                     ch->base.endpoint);
  return rc;
}

/* Writes pending bytes until done or the socket is full. 0, or the end. */
static int pump_tx(stream_chan_t *ch) {
  while (ch->tx_start < ch->tx_end) {
    size_t put;
    int rc = colo__os_conn_write(ch->conn, ch->tx + ch->tx_start, ch->tx_end - ch->tx_start, &put);
    if (rc == COLO_EAGAIN) return 0;
    if (rc) return rc == COLO_EPEERDEAD ? end_of_stream(ch, rc) : rc;
    ch->tx_start += put;
  }
  if (!ch->reserved) ch->tx_start = ch->tx_end = 0;
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
 * or the deadline passes (bytes left then go out with later calls). Waits
 * without the lock. 0, or COLO_EPEERDEAD. */
static int flush_until(stream_chan_t *ch, uint64_t deadline) {
  for (;;) {
    int rc = pump_tx(ch);
    if (rc) return rc;
    if (ch->tx_start == ch->tx_end) return 0;
    uint64_t left = colo__remaining_ns(deadline);
    if (left == 0) return 0;
    int rx_room = assist_rx(ch);
    if (ch->ended) return COLO_EPEERDEAD;
    unlock(&ch->tx_lock);
    colo__os_conn_poll(ch->conn, COLO__POLL_OUT | (rx_room ? COLO__POLL_IN : 0), left);
    lock(&ch->tx_lock);
  }
}

/* One wait of a blocking call, with the half's lock `held` taken: COLO_EAGAIN
 * (no wait allowed), COLO_ETIMEDOUT (naming `what`), or 0 after waiting for
 * the socket (want) with the lock let go meanwhile. */
static int wait_step(stream_chan_t *ch, atomic_flag *held, int want, int timeout_ms, uint64_t deadline,
                     const char *what) {
  if (timeout_ms == 0) return COLO_EAGAIN;
  uint64_t left = colo__remaining_ns(deadline);
  if (left == 0)
    return colo__err(COLO_ETIMEDOUT, "%s: timed out after %d ms waiting for %s", ch->base.endpoint, timeout_ms,
                     what);
  unlock(held);
  colo__os_conn_poll(ch->conn, want, left);
  lock(held);
  return 0;
}

/* ---- frames in ------------------------------------------------------------------------ */

static int gone_err(stream_chan_t *ch) {
  if (ch->gone == COLO_ECLOSED) return colo__err(COLO_ECLOSED, "%s: the other side closed it", ch->base.endpoint);
  if (ch->gone == COLO_EPEERDEAD)
    return colo__err(COLO_EPEERDEAD, "%s: the other side exited or was killed without closing the channel",
                     ch->base.endpoint);
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
    ch->rx_start += FRAME_HDR;
    ch->gone = COLO_ECLOSED;
    return gone_err(ch);
  case COLO__FRAME_BAD: return protocol_error(ch, why, n);
  case COLO__FRAME_NEED:
    /* Make sure the whole frame will fit from rx_start. */
    if (have >= FRAME_HDR && ch->rx_cap - ch->rx_start < FRAME_HDR + (size_t)n) {
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
    *buf = ch->rx + ch->rx_start + FRAME_HDR;
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
      *buf = ch->rx + ch->rx_start + FRAME_HDR;
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
    rc = wait_step(ch, &ch->rx_lock, COLO__POLL_IN | (tx_pending ? COLO__POLL_OUT : 0), timeout_ms, deadline,
                   "a message");
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
    ch->rx_start += FRAME_HDR + ch->peek_len;
    ch->peeked = 0;
    if (ch->rx_start == ch->rx_end) ch->rx_start = ch->rx_end = 0;
  }
  unlock(&ch->rx_lock);
  return rc;
}

/* ---- frames out ----------------------------------------------------------------------- */

/* Why nothing can be sent any more: the peer closed (a BYE is among the
 * frames still buffered for the receiver) or it died. The frames stay for
 * colo_recv(). */
static int tx_end_err(stream_chan_t *ch) {
  if (ch->gone) return gone_err(ch);
  int bye = 0;
  lock(&ch->rx_lock); /* held by the receiver only for moments */
  for (size_t at = ch->rx_start;;) {
    uint32_t n;
    const char *why;
    colo__frame_kind_t k = colo__frame_parse(ch->rx + at, ch->rx_end - at, ch->max_rx, &n, &why);
    if (k != COLO__FRAME_DATA) {
      bye = k == COLO__FRAME_BYE;
      break;
    }
    at += FRAME_HDR + n;
  }
  unlock(&ch->rx_lock);
  if (bye || ch->gone == COLO_ECLOSED) return colo__err(COLO_ECLOSED, "%s: the other side closed it", ch->base.endpoint);
  return colo__err(COLO_EPEERDEAD, "%s: the other side exited or was killed without closing the channel",
                   ch->base.endpoint);
}

static int stream_reserve(colo_chan_t *base, size_t len, void **buf, int timeout_ms) {
  stream_chan_t *ch = (stream_chan_t *)base;
  if (ch->gone) return gone_err(ch);
  if (len > ch->base.max_msg)
    return colo__err(COLO_EMSGSIZE, "%s: message of %zu bytes, the maximum is %zu", ch->base.endpoint, len,
                     ch->base.max_msg);
  uint64_t deadline = colo__deadline(timeout_ms);
  size_t need = FRAME_HDR + len;
  lock(&ch->tx_lock);
  ch->reserved = 0;
  int rc;
  for (;;) {
    rc = pump_tx(ch);
    if (rc == COLO_EPEERDEAD || ch->ended) {
      rc = tx_end_err(ch);
      break;
    }
    if (rc) break;
    if (ch->tx_cap - ch->tx_end < need && ch->tx_start > 0) {
      memmove(ch->tx, ch->tx + ch->tx_start, ch->tx_end - ch->tx_start);
      ch->tx_end -= ch->tx_start;
      ch->tx_start = 0;
    }
    if (ch->tx_cap - ch->tx_end >= need) {
      ch->reserved = 1;
      ch->reserve_len = len;
      ch->reserve_deadline = deadline;
      *buf = ch->tx + ch->tx_end + FRAME_HDR;
      break;
    }
    /* Full: wait for the socket, and keep reading while there is room, so
     * that the peer's end is seen. */
    int rx_room = assist_rx(ch);
    if (ch->ended) {
      rc = tx_end_err(ch);
      break;
    }
    rc = wait_step(ch, &ch->tx_lock, COLO__POLL_OUT | (rx_room ? COLO__POLL_IN : 0), timeout_ms, deadline,
                   "room to send");
    if (rc) break;
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
    colo__put_u32(ch->tx + ch->tx_end, (uint32_t)len);
    ch->tx_end += FRAME_HDR + len;
    ch->reserved = 0;
    /* The frame goes to the kernel now, within the reserve's timeout: a
     * process that dies after colo_send() returned has its message delivered. */
    rc = flush_until(ch, ch->reserve_deadline);
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

static int stream_fd(colo_chan_t *base) { return colo__os_conn_fd(((stream_chan_t *)base)->conn); }

static void stream_close(colo_chan_t *base) {
  stream_chan_t *ch = (stream_chan_t *)base;
  if (!ch->ended && ch->tx) {
    /* Say goodbye after what is pending, and give it a bounded time to go. */
    ch->reserved = 0;
    if (ch->tx_cap - ch->tx_end < FRAME_HDR && ch->tx_start > 0) {
      memmove(ch->tx, ch->tx + ch->tx_start, ch->tx_end - ch->tx_start);
      ch->tx_end -= ch->tx_start;
      ch->tx_start = 0;
    }
    if (ch->tx_cap - ch->tx_end >= FRAME_HDR) {
      colo__put_u32(ch->tx + ch->tx_end, FRAME_CONTROL | CTRL_BYE);
      ch->tx_end += FRAME_HDR;
    }
    uint64_t deadline = colo__os_now_ns() + COLO__LINGER_NS;
    while (ch->tx_start < ch->tx_end && !ch->ended && pump_tx(ch) == 0 && ch->tx_start < ch->tx_end) {
      uint64_t left = colo__remaining_ns(deadline);
      if (left == 0) break;
      colo__os_conn_poll(ch->conn, COLO__POLL_OUT, left);
    }
  }
  chan_free(ch);
}

static const colo__chan_vt_t unix_vt = {"unix",    stream_reserve, stream_commit, stream_peek, stream_release,
                                        NULL,      stream_flush,   stream_fd,     stream_close};
static const colo__chan_vt_t tcp_vt = {"tcp",     stream_reserve, stream_commit, stream_peek, stream_release,
                                       NULL,      stream_flush,   stream_fd,     stream_close};
static const colo__chan_vt_t pipe_vt = {"pipe",    stream_reserve, stream_commit, stream_peek, stream_release,
                                        NULL,      stream_flush,   stream_fd,     stream_close};

/* ---- handshake ------------------------------------------------------------------------ */

static int send_all(stream_chan_t *ch, const uint8_t *p, size_t n, uint64_t deadline) {
  while (n) {
    size_t put;
    int rc = colo__os_conn_write(ch->conn, p, n, &put);
    if (rc == COLO_EAGAIN) {
      uint64_t left = colo__remaining_ns(deadline);
      if (left == 0) return colo__err(COLO_ETIMEDOUT, "%s: timed out in the handshake", ch->base.endpoint);
      colo__os_conn_poll(ch->conn, COLO__POLL_OUT, left);
      continue;
    }
    if (rc) return end_of_stream(ch, rc);
    p += put, n -= put;
  }
  return 0;
}

static int send_hello(stream_chan_t *ch, uint64_t deadline) {
  uint8_t h[HELLO_SIZE];
  colo__hello_write(h, ch->max_rx);
  return send_all(ch, h, sizeof h, deadline);
}

/* Reads and checks the peer's hello from the start of the stream. */
static int recv_hello(stream_chan_t *ch, uint64_t deadline) {
  while (ch->rx_end < HELLO_SIZE) {
    size_t got;
    int rc = colo__os_conn_read(ch->conn, ch->rx + ch->rx_end, HELLO_SIZE - ch->rx_end, &got);
    if (rc == COLO_EAGAIN) {
      uint64_t left = colo__remaining_ns(deadline);
      if (left == 0) return colo__err(COLO_ETIMEDOUT, "%s: no colo handshake from the peer in time", ch->base.endpoint);
      colo__os_conn_poll(ch->conn, COLO__POLL_IN, left);
      continue;
    }
    if (rc == COLO_ECLOSED || rc == COLO_EPEERDEAD)
      return colo__err(COLO_EPROTO, "%s: the peer closed the connection during the handshake (not a colo peer?)",
                       ch->base.endpoint);
    if (rc) return rc;
    ch->rx_end += got;
  }
  uint32_t peer_max;
  int rc = colo__hello_parse(ch->rx, &peer_max);
  if (rc) return colo__with_endpoint(rc, ch->base.endpoint);
  ch->rx_start = ch->rx_end = 0;
  return set_peer_limit(ch, peer_max);
}

/* ---- listener ------------------------------------------------------------------------ */

int colo__stream_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out) {
  stream_listener_t *l = colo__calloc(1, sizeof *l);
  if (!l) return colo__err(COLO_ENOMEM, "out of memory");
  l->base.vt = &stream_listener_vt;
  l->base.opts = *o;
  l->kind = ep->kind;
  colo__endpoint_t actual;
  int rc = colo__os_listen(&l->sock, ep, o->perm, &actual);
  if (rc) {
    colo__free(l);
    return rc;
  }
  colo__endpoint_format(&actual, l->base.endpoint, sizeof l->base.endpoint);
  *out = &l->base;
  return 0;
}

int colo__accept_conn(colo__os_lsock_t *sock, const char *endpoint, int timeout_ms, uint64_t deadline,
                      colo__os_conn_t **out) {
  int rc = colo__os_accept(sock, out, timeout_ms == 0 ? 0 : colo__remaining_ns(deadline));
  if (rc == COLO_ETIMEDOUT)
    return colo__err(COLO_ETIMEDOUT, "%s: no peer connected within %d ms", endpoint, timeout_ms);
  return rc;
}

int colo__accept_again(const char *endpoint, int timeout_ms, uint64_t deadline) {
  if (timeout_ms == 0) return COLO_EAGAIN;
  if (colo__remaining_ns(deadline) == 0)
    return colo__err(COLO_ETIMEDOUT, "%s: no peer completed the handshake within %d ms", endpoint, timeout_ms);
  return 0;
}

static int stream_accept(colo_listener_t *base, colo_chan_t **out, int timeout_ms) {
  stream_listener_t *l = (stream_listener_t *)base;
  uint64_t deadline = colo__deadline(timeout_ms);
  for (;;) {
    colo__os_conn_t *conn;
    int rc = colo__accept_conn(l->sock, base->endpoint, timeout_ms, deadline, &conn);
    if (rc) return rc;
    if (colo__os_conn_check_peer(conn, &base->peers, "the client") != 0) {
      colo__os_conn_close(conn); /* a user this listener does not accept: dropped */
      if ((rc = colo__accept_again(base->endpoint, timeout_ms, deadline)) != 0) return rc;
      continue;
    }
    stream_chan_t *ch = chan_new(conn, l->kind, base->endpoint, &base->opts);
    if (!ch) {
      colo__os_conn_close(conn);
      return colo__err(COLO_ENOMEM, "out of memory");
    }
    /* A client gets a bounded time for its hello, whatever our timeout: one
     * silent or foreign client must not hold up the others. */
    uint64_t hs = colo__os_now_ns() + COLO__HANDSHAKE_NS;
    rc = recv_hello(ch, hs);
    if (!rc) rc = send_hello(ch, hs);
    if (!rc) {
      *out = &ch->base;
      return 0;
    }
    chan_free(ch); /* dropped; wait for the next client */
    if ((rc = colo__accept_again(base->endpoint, timeout_ms, deadline)) != 0) return rc;
  }
}

static void stream_listener_close(colo_listener_t *base) {
  stream_listener_t *l = (stream_listener_t *)base;
  colo__os_listen_close(l->sock);
  colo__free(l);
}

static const colo__listener_vt_t stream_listener_vt = {stream_accept, stream_listener_close};

/* ---- adopting a connection -------------------------------------------------------------- */

int colo__stream_adopt(colo__os_conn_t *conn, colo__ep_kind_t kind, const char *endpoint, const colo_opts_t *o,
                       uint32_t peer_max, colo_chan_t **out) {
  stream_chan_t *ch = chan_new(conn, kind, endpoint, o);
  if (!ch) return colo__err(COLO_ENOMEM, "out of memory");
  int rc = set_peer_limit(ch, peer_max);
  if (rc) {
    ch->conn = NULL; /* the caller keeps it */
    chan_free(ch);
    return rc;
  }
  *out = &ch->base;
  return 0;
}

/* ---- connect ------------------------------------------------------------------------- */

int colo__dial_conn(const colo__endpoint_t *ep, const colo__dial_t *d, const char *endpoint, colo__os_conn_t **out) {
  uint64_t backoff = 1000000u;
  int rc;
  /* Retry while nobody listens yet, or the listener is too busy to queue us. */
  while ((rc = colo__os_connect(out, ep, d->timeout_ms == 0 ? 0 : colo__remaining_ns(d->deadline), &d->peers)) != 0) {
    if (rc != COLO_ENOENT && rc != COLO_EAGAIN) return rc;
    if (d->timeout_ms == 0 || d->once) return rc;
    if (colo__remaining_ns(d->deadline) == 0)
      return rc == COLO_EAGAIN
                 ? colo__err(COLO_ETIMEDOUT, "%s: the listener stayed too busy to take a connection for %d ms", endpoint,
                             d->timeout_ms)
                 : colo__err(COLO_ETIMEDOUT, "%s: no listener appeared within %d ms", endpoint, d->timeout_ms);
    colo__connect_backoff(&backoff, d->deadline);
  }
  return 0;
}

int colo__stream_connect(const colo__endpoint_t *ep, const colo_opts_t *o, const colo__dial_t *d, colo_chan_t **out) {
  char endpoint[COLO__PATH_MAX + 16];
  colo__endpoint_format(ep, endpoint, sizeof endpoint);
  uint64_t deadline = d->deadline;
  colo__os_conn_t *conn;
  int rc = colo__dial_conn(ep, d, endpoint, &conn);
  if (rc) return rc;
  stream_chan_t *ch = chan_new(conn, ep->kind, endpoint, o);
  if (!ch) {
    colo__os_conn_close(conn);
    return colo__err(COLO_ENOMEM, "out of memory");
  }
  /* The listener answers once its application accepts; a connect with no
   * deadline still waits for that. */
  rc = send_hello(ch, deadline);
  if (!rc) rc = recv_hello(ch, deadline);
  if (rc) {
    chan_free(ch);
    return rc;
  }
  colo__os_conn_settle(conn);
  *out = &ch->base;
  return 0;
}
