/*
 * chan.h - what every transport implements behind the public channel API.
 *
 * A transport's channel embeds colo_chan_t as its first member, and its
 * listener embeds colo_listener_t; api.c dispatches the public calls through
 * their tables. The contract of each entry is that of the public function of
 * the same name in colo.h; api.c checks the arguments first, so entries never
 * see a NULL channel or pointer argument.
 */
#ifndef COLO_RUNTIME_CHAN_H
#define COLO_RUNTIME_CHAN_H

#include "../shims/shim.h"
#include "internal.h"

typedef struct colo__chan_vt {
  const char *transport; /* "shm", "file", "memfd", "unix", "pipe", "tcp" */
  int (*reserve)(colo_chan_t *ch, size_t len, void **buf, int timeout_ms);
  int (*commit)(colo_chan_t *ch, size_t len);
  int (*peek)(colo_chan_t *ch, const void **buf, size_t *len, int timeout_ms);
  int (*release)(colo_chan_t *ch);
  /* Optional: a transport that must check its private copy (checksums). NULL:
   * api.c does peek, copy, release. */
  int (*recv)(colo_chan_t *ch, void *buf, size_t cap, size_t *len, int timeout_ms);
  /* Optional: NULL means nothing is ever held back (shared memory). */
  int (*flush)(colo_chan_t *ch, int timeout_ms);
  /* Optional: NULL means COLO_ENOTSUP. */
  int (*fd)(colo_chan_t *ch);
  void (*close)(colo_chan_t *ch);
} colo__chan_vt_t;

struct colo_chan {
  const colo__chan_vt_t *vt;
  size_t max_msg;                    /* the largest message this side may send */
  uint64_t ring_capacity;            /* ring transports: bytes of the ring each way */
  colo_info_t *route;                /* how this channel was chosen (rung, how, skipped); NULL: directly */
  char endpoint[COLO__PATH_MAX + 16];
};

/* *route, allocated (zeroed) on first use; NULL when out of memory. */
colo_info_t *colo__route(colo_info_t **route);
/* Adds a skipped alternative or rung to *route (allocated on first use);
 * beyond COLO_INFO_SKIPPED_MAX the last entry is overwritten. 0 or ENOMEM. */
int colo__route_skip(colo_info_t **route, const char *what, const char *why);
/* Writes "what: why; what: why" into buf; returns buf. */
const char *colo__route_join(const colo_info_t *route, char *buf, size_t cap);
/* Appends the skips of src to *dst, then frees src. */
void colo__route_merge(colo_info_t **dst, colo_info_t *src);

typedef struct colo__listener_vt {
  int (*accept)(colo_listener_t *l, colo_chan_t **out, int timeout_ms);
  void (*close)(colo_listener_t *l);
} colo__listener_vt_t;

struct colo_listener {
  const colo__listener_vt_t *vt;
  colo_opts_t opts;                   /* resolved; peer_user is NULL here (see peers) */
  colo__os_peers_t peers;             /* who may connect (opts.peer_user, parsed) */
  char endpoint[COLO__PATH_MAX + 16]; /* canonical; a tcp port 0 shows the port chosen */
};

/* How a connect goes. */
typedef struct colo__dial {
  int timeout_ms;    /* the caller's (for messages; 0: one attempt, no waiting) */
  uint64_t deadline; /* of the whole connect, handshake included */
  int once;          /* one attempt to reach a listener: do not wait for one to appear */
  int probe;         /* colo:// handshake only; the listener keeps the connection to itself */
  colo__os_peers_t peers; /* who may own the endpoint or listen on it (opts.peer_user) */
} colo__dial_t;

/* Transports: listen and connect, given the parsed endpoint and the resolved
 * options. On success *out is set; on failure it is left alone. */
int colo__shm_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out);
int colo__shm_connect(const colo__endpoint_t *ep, const colo_opts_t *o, const colo__dial_t *d, colo_chan_t **out);
int colo__stream_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out);
int colo__stream_connect(const colo__endpoint_t *ep, const colo_opts_t *o, const colo__dial_t *d, colo_chan_t **out);
int colo__rdv_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out);
int colo__rdv_connect(const colo__endpoint_t *ep, const colo_opts_t *o, const colo__dial_t *d, colo_chan_t **out);
/* The two sides of a colo:// handshake on a connection (endpoint:
 * "colo:///PATH"): own conn (on success the channel does, else closed).
 * serve (the listener's side, one client to the end) leaves *out NULL for a
 * client that only probes. */
int colo__rdv_serve(colo__os_conn_t *conn, const char *endpoint, const colo_opts_t *o, colo_chan_t **out);
int colo__rdv_client(colo__os_conn_t *conn, const char *endpoint, const colo_opts_t *o, const colo__dial_t *d,
                     colo_chan_t **out);


/* A ring channel over a segment (shm_chan.c), for the colo:// transport:
 * transport is "memfd" or "shm". Owns seg on success. */
typedef struct colo__seg colo__seg_t;
int colo__shm_chan_new(colo__seg_t *seg, const colo_opts_t *o, const char *transport, colo_chan_t **out);
/* From now on the channel sees its peer's end on conn (owned from then on)
 * rather than on the segment's presence slots. */
void colo__shm_chan_lifeline(colo_chan_t *ch, colo__os_conn_t *conn);

/* Makes a stream channel of a connection whose handshake is done (by the
 * caller: the rendezvous transport, or a test), the peer accepting payloads
 * of at most peer_max bytes. Owns conn on success only. */
int colo__stream_adopt(colo__os_conn_t *conn, colo__ep_kind_t kind, const char *endpoint, const colo_opts_t *o,
                       uint32_t peer_max, colo_chan_t **out);

#endif
