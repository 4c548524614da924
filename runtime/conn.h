/*
 * conn.h - socket listeners (unix://, pipe://, tcp://, colo://) with the
 * handshakes in progress on them side by side, and reaching a listener.
 *
 * A listener's side of a handshake is a small state machine (colo__hs_step_t)
 * that asks for bytes to be written and read; colo__conn_accept() does that
 * I/O without blocking for every connection at once, polls them all with the
 * listening socket, and returns the first channel whose handshake completed.
 * A client that says nothing, or too little, holds only its own slot: it is
 * dropped when its COLO__HANDSHAKE_NS ran out, and no call waits past its
 * caller's deadline (handshakes still in progress are kept for the next call).
 */
#ifndef COLO_RUNTIME_CONN_H
#define COLO_RUNTIME_CONN_H

#include "chan.h"
#include "frame.h"

#define COLO__HS_MAX 256                        /* handshakes in progress per listener */
#define COLO__HS_BUF (COLO__RDV_HDR + COLO__RDV_MAX_BODY) /* the largest record read or written whole */
#define COLO__HS_MORE 1

typedef struct colo__hs colo__hs_t;

/*
 * A protocol's listener side. Called when the handshake starts (nothing
 * asked yet) and again each time what it asked for is done: all of out
 * written, and in_want bytes in `in` (the protocol sets in_have back to 0 for
 * a new record). Returns COLO__HS_MORE having asked for more, 0 when done
 * (*out: the channel, or NULL when the client only probed and the connection
 * is closed), or a COLO_E* code: the client is dropped.
 */
typedef int (*colo__hs_step_t)(colo__hs_t *h, colo_chan_t **out);

struct colo__hs {
  colo__os_conn_t *conn; /* the protocol sets it NULL when a channel took it */
  colo_listener_t *l;
  uint64_t deadline;
  colo__hs_step_t step;
  int phase;                    /* the protocol's */
  void *state;                  /* the protocol's, freed by state_free when the handshake ends */
  void (*state_free)(void *state);
  uint32_t peer_max;            /* the protocol's scalars */
  int flag;
  uint8_t out[COLO__HS_BUF];
  size_t out_len, out_off;
  colo__os_seg_t *out_seg;      /* passed with out's first byte (not owned) */
  int out_seg_err;              /* the system refused to pass out_seg: nothing of out was sent,
                                   nothing is read, and the step is called to say what instead */
  uint8_t in[COLO__HS_BUF];
  size_t in_want, in_have;
  colo__hs_t *next;
};

/* The one listener of every socket transport (unix://, pipe://, tcp://,
 * colo://): a listening socket and the handshakes in progress on it; the
 * protocol is its step function. */
typedef struct colo__conn_listener {
  colo_listener_t base;
  colo__os_lsock_t *sock;
  colo__hs_step_t step;
  colo__hs_t *pending, *last; /* oldest first */
  unsigned npending;
  colo__ep_kind_t kind;       /* of its endpoint (colo:// listens on the shim's rendezvous kind) */
  unsigned held;              /* the protocol's count of handshakes holding a resource (colo://:
                                 the rings they were offered) */
} colo__conn_listener_t;

/* colo_listen() of a socket transport: listens on ep, as a socket of kind
 * sock_kind (ep->kind itself, or the shim's rendezvous kind for colo://),
 * each connection's handshake driven by step. The listener's endpoint is
 * ep as bound (a tcp port 0 shows the port chosen). */
int colo__conn_listen(const colo__endpoint_t *ep, colo__ep_kind_t sock_kind, const colo_opts_t *o,
                      colo__hs_step_t step, colo_listener_t **out);

/* Runs one handshake on h->conn to its end, waiting until h->deadline (the
 * fuzz target drives a listener's side so). Frees h. */
int colo__hs_run(colo__hs_t *h, colo_chan_t **out);

/* Reaches a listening socket (ep: unix, pipe or tcp) with one attempt;
 * d->again when nobody listens there yet or the listener is busy. */
int colo__dial_conn(const colo__endpoint_t *ep, colo__dial_t *d, colo__os_conn_t **out);

/* The one wait of a non-blocking step on a stream that would block: until c
 * is ready as asked (COLO__POLL_IN/OUT) or the deadline. 0: try the step
 * again (readiness may be spurious); COLO_ETIMEDOUT once the deadline passed,
 * with no detail recorded (the caller words it). */
int colo__conn_wait(colo__os_conn_t *c, int want, uint64_t deadline);

#endif
