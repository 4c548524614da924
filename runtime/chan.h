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

typedef struct colo__transport colo__transport_t;

/* One table per implementation (shm_chan.c: every ring; stream.c: every
 * byte stream), written with designated initializers. */
typedef struct colo__chan_vt {
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
  int (*os_handle)(colo_chan_t *ch, colo_os_handle_t *out);
  /* Optional: words for colo_info()'s how, after the transport's own (a ring
   * says how it sleeps). */
  void (*describe)(const colo_chan_t *ch, char *buf, size_t cap);
  void (*close)(colo_chan_t *ch);
} colo__chan_vt_t;

struct colo_chan {
  const colo__chan_vt_t *vt;
  const colo__transport_t *t;        /* what carries it: colo_transport(), colo_info()'s how */
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
  int probe;         /* colo_info_endpoint: learn, take nothing */
  colo__os_peers_t peers; /* who may own the endpoint or listen on it (opts.peer_user) */
  int seg_flags;     /* COLO__SEG_GLOBAL (opts.shm_global) for what a segment transport opens */
  int again;         /* set by a transport that failed: 1 when a later attempt may succeed
                        (nobody listens yet, the listener is busy, a segment is not READY
                        or is a dead listener's leftover that a new one may reclaim) */
} colo__dial_t;

/*
 * The transport table (transport.c): one entry per transport, exported by
 * the file that implements it. An entry with a kind has an endpoint scheme;
 * memfd is reached only through colo:// and has none. api.c dispatches
 * through it and names no transport.
 */
struct colo__transport {
  colo__ep_kind_t kind; /* of its endpoints; 0: no endpoint of its own (memfd) */
  const char *name;     /* "shm": its scheme ("shm://") and what colo_transport() says */
  const char *how;      /* what carries the messages, for colo_info() */
  int segment;          /* a shared-memory segment: perm takes read and write together per class */
  /* Listen and connect, given the parsed endpoint and the resolved options.
   * On success *out is set; on failure it is left alone. connect makes ONE
   * attempt and sets d->again when another may succeed (api.c retries). */
  int (*listen)(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out);
  int (*connect)(const colo__endpoint_t *ep, const colo_opts_t *o, colo__dial_t *d, colo_chan_t **out);
  /* colo_info_endpoint: reach the endpoint and take nothing (one attempt, as
   * connect). NULL: connect with d->probe set, which hands back no channel. */
  int (*probe)(const colo__endpoint_t *ep, const char *endpoint, colo__dial_t *d, colo_info_t *info);
};

extern const colo__transport_t colo__shm_transport, colo__file_transport, colo__memfd_transport,
    colo__unix_transport, colo__pipe_transport, colo__tcp_transport, colo__colo_transport;

/* The transport of an endpoint kind (never NULL for a parsed endpoint). */
const colo__transport_t *colo__transport_of(colo__ep_kind_t kind);
/* The transport whose scheme starts s ("shm://..."), or NULL; *rest: after "://". */
const colo__transport_t *colo__transport_by_scheme(const char *s, const char **rest);
/* "colo://, shm://, file://, unix://, pipe:// and tcp://" into buf, for messages. */
const char *colo__transport_schemes(char *buf, size_t cap);
/* colo_info()'s how for transport t: its words, the system's for its object, then extra. */
void colo__transport_how(const colo__transport_t *t, const char *extra, char *buf, size_t cap);
/* colo_info() of a channel: its route, transport and limits, into a full
 * colo_info_t. */
void colo__info_of(const colo_chan_t *ch, colo_info_t *out);

/* The two sides of a colo:// handshake on a connection (endpoint:
 * "colo:///PATH"): own conn (on success the channel does, else closed).
 * serve (the listener's side, one client to the end) leaves *out NULL for a
 * client that only probes. */
int colo__rdv_serve(colo__os_conn_t *conn, const char *endpoint, const colo_opts_t *o, colo_chan_t **out);
int colo__rdv_client(colo__os_conn_t *conn, const char *endpoint, const colo_opts_t *o, colo__dial_t *d,
                     colo_chan_t **out);


/* A ring channel over a segment (shm_chan.c), for the colo:// transport:
 * t is colo__memfd_transport or colo__shm_transport. Owns seg on success. */
typedef struct colo__seg colo__seg_t;
int colo__shm_chan_new(colo__seg_t *seg, const colo_opts_t *o, const colo__transport_t *t, colo_chan_t **out);
/* From now on the channel sees its peer's end on conn (owned from then on)
 * rather than on the segment's presence slots. */
void colo__shm_chan_lifeline(colo_chan_t *ch, colo__os_conn_t *conn);

/* Makes a stream channel of a connection whose handshake is done (by the
 * caller: the rendezvous transport, or a test), the peer accepting payloads
 * of at most peer_max bytes. Owns conn on success only. */
int colo__stream_adopt(colo__os_conn_t *conn, const colo__transport_t *t, const char *endpoint, const colo_opts_t *o,
                       uint32_t peer_max, colo_chan_t **out);

#endif
