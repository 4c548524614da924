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

#include "internal.h"

typedef struct colo__chan_vt {
  const char *transport; /* "shm", "file", "unix", "pipe", "tcp" */
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
  char endpoint[COLO__PATH_MAX + 16];
};

typedef struct colo__listener_vt {
  int (*accept)(colo_listener_t *l, colo_chan_t **out, int timeout_ms);
  void (*close)(colo_listener_t *l);
} colo__listener_vt_t;

struct colo_listener {
  const colo__listener_vt_t *vt;
  colo_opts_t opts;
  char endpoint[COLO__PATH_MAX + 16]; /* canonical; a tcp port 0 shows the port chosen */
};

/* Transports: listen and connect, given the parsed endpoint and the resolved
 * options. On success *out is set; on failure it is left alone. */
int colo__shm_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out);
int colo__shm_connect(const colo__endpoint_t *ep, const colo_opts_t *o, int timeout_ms, colo_chan_t **out);
int colo__stream_listen(const colo__endpoint_t *ep, const colo_opts_t *o, colo_listener_t **out);
int colo__stream_connect(const colo__endpoint_t *ep, const colo_opts_t *o, int timeout_ms, colo_chan_t **out);

/* Makes a stream channel of a connection whose handshake is done (by the
 * caller: the rendezvous transport, or a test), the peer accepting payloads
 * of at most peer_max bytes. Owns conn on success only. */
typedef struct colo__os_conn colo__os_conn_t;
int colo__stream_adopt(colo__os_conn_t *conn, colo__ep_kind_t kind, const char *endpoint, const colo_opts_t *o,
                       uint32_t peer_max, colo_chan_t **out);

#endif
