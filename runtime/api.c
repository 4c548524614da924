/*
 * api.c - the public channel API: argument checks, options, and dispatch to
 * the transport behind each endpoint (chan.h).
 */
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"
#include "layout.h"

void colo_opts_init(colo_opts_t *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->ring_capacity = 1u << 20;
  o->wait_mode = COLO_WAIT_HYBRID;
  o->spin_us = 50;
  o->perm = 0600;
  o->msg_checksum = 0;
  o->reclaim_stale = 1;
}

/* Copies the caller's options over the defaults, honouring an older, smaller
 * struct, and checks them. */
static int opts_resolve(const colo_opts_t *in, colo_opts_t *out) {
  colo_opts_init(out);
  if (in) {
    size_t n = in->struct_size;
    if (n < offsetof(colo_opts_t, ring_capacity) || n > sizeof *out)
      return colo__err(COLO_EINVAL, "options: struct_size %zu is not valid (call colo_opts_init first)", n);
    memcpy(out, in, n);
  }
  if (!colo__seg_capacity_ok(out->ring_capacity))
    return colo__err(COLO_EINVAL, "options: ring capacity %u: must be a power of two from %u to %u bytes",
                     out->ring_capacity, COLO_SEG_MIN_CAPACITY, COLO_SEG_MAX_CAPACITY);
  if ((unsigned)out->wait_mode > COLO_WAIT_BLOCK)
    return colo__err(COLO_EINVAL, "options: unknown wait mode %d", (int)out->wait_mode);
  if (out->perm & ~0777u) return colo__err(COLO_EINVAL, "options: permission bits %o out of range", out->perm);
  if (out->spin_us > 10u * 1000 * 1000) return colo__err(COLO_EINVAL, "options: spin_us above 10 s");
  return 0;
}

uint64_t colo__deadline(int timeout_ms) {
  if (timeout_ms < 0) return UINT64_MAX;
  return colo__os_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

void colo__connect_backoff(uint64_t *backoff_ns, uint64_t deadline) {
  uint64_t now = colo__os_now_ns(), nap = *backoff_ns;
  if (deadline != UINT64_MAX) nap = now >= deadline ? 0 : deadline - now < nap ? deadline - now : nap;
  if (nap) colo__os_sleep_ns(nap);
  *backoff_ns = *backoff_ns * 2 < 20000000u ? *backoff_ns * 2 : 20000000u;
}

int colo__with_endpoint(int rc, const char *endpoint) {
  if (rc && rc != COLO_EAGAIN && strncmp(colo_last_error(), endpoint, strlen(endpoint)) != 0)
    colo__err_prefix(endpoint);
  return rc;
}

static int is_shared_memory(colo__ep_kind_t k) { return k == COLO__EP_SHM || k == COLO__EP_FILE; }

/* What listen and connect both check first. */
static int prepare(const colo_opts_t *opts, const char *endpoint, colo_opts_t *o, colo__endpoint_t *ep) {
  int rc = opts_resolve(opts, o);
  return rc ? rc : colo__endpoint_parse(endpoint, ep);
}

/* ---- listeners ------------------------------------------------------------------- */

int colo_listen(colo_listener_t **out, const char *endpoint, const colo_opts_t *opts) {
  if (!out) return colo__err(COLO_EINVAL, "colo_listen: out is NULL");
  *out = NULL;
  colo_opts_t o;
  colo__endpoint_t ep;
  int rc = prepare(opts, endpoint, &o, &ep);
  if (rc) return rc;
  rc = is_shared_memory(ep.kind) ? colo__shm_listen(&ep, &o, out) : colo__stream_listen(&ep, &o, out);
  return colo__with_endpoint(rc, endpoint);
}

int colo_accept(colo_listener_t *l, colo_chan_t **out, int timeout_ms) {
  if (!l || !out) return colo__err(COLO_EINVAL, "colo_accept: NULL argument");
  *out = NULL;
  return colo__with_endpoint(l->vt->accept(l, out, timeout_ms), l->endpoint);
}

void colo_listener_close(colo_listener_t *l) {
  if (l) l->vt->close(l);
}

const char *colo_listener_endpoint(const colo_listener_t *l) { return l ? l->endpoint : ""; }

/* ---- channels -------------------------------------------------------------------- */

int colo_connect(colo_chan_t **out, const char *endpoint, const colo_opts_t *opts, int timeout_ms) {
  if (!out) return colo__err(COLO_EINVAL, "colo_connect: out is NULL");
  *out = NULL;
  colo_opts_t o;
  colo__endpoint_t ep;
  int rc = prepare(opts, endpoint, &o, &ep);
  if (rc) return rc;
  rc = is_shared_memory(ep.kind) ? colo__shm_connect(&ep, &o, timeout_ms, out)
                                 : colo__stream_connect(&ep, &o, timeout_ms, out);
  return colo__with_endpoint(rc, endpoint);
}

void colo_close(colo_chan_t *ch) {
  if (ch) ch->vt->close(ch);
}

size_t colo_max_message(const colo_chan_t *ch) { return ch ? ch->max_msg : 0; }
const char *colo_endpoint(const colo_chan_t *ch) { return ch ? ch->endpoint : ""; }
const char *colo_transport(const colo_chan_t *ch) { return ch ? ch->vt->transport : ""; }

int colo_fd(colo_chan_t *ch) {
  if (!ch) return colo__err(COLO_EINVAL, "colo_fd: NULL channel");
  if (!ch->vt->fd)
    return colo__err(COLO_ENOTSUP, "%s: a %s:// channel has no file descriptor to poll in this version",
                     ch->endpoint, ch->vt->transport);
  return ch->vt->fd(ch);
}

int colo_flush(colo_chan_t *ch, int timeout_ms) {
  if (!ch) return colo__err(COLO_EINVAL, "colo_flush: NULL channel");
  return ch->vt->flush ? ch->vt->flush(ch, timeout_ms) : 0;
}

int colo_reserve(colo_chan_t *ch, size_t len, void **buf, int timeout_ms) {
  if (!ch || !buf) return colo__err(COLO_EINVAL, "colo_reserve: NULL argument");
  return ch->vt->reserve(ch, len, buf, timeout_ms);
}

int colo_commit(colo_chan_t *ch, size_t len) {
  if (!ch) return colo__err(COLO_EINVAL, "colo_commit: NULL channel");
  return ch->vt->commit(ch, len);
}

int colo_send(colo_chan_t *ch, const void *buf, size_t len, int timeout_ms) {
  if (!ch) return colo__err(COLO_EINVAL, "colo_send: NULL channel");
  if (len && !buf) return colo__err(COLO_EINVAL, "colo_send: NULL buffer");
  void *dst;
  int rc = ch->vt->reserve(ch, len, &dst, timeout_ms);
  if (rc) return rc;
  if (len) memcpy(dst, buf, len);
  return ch->vt->commit(ch, len);
}

int colo_peek(colo_chan_t *ch, const void **buf, size_t *len, int timeout_ms) {
  if (!ch || !buf || !len) return colo__err(COLO_EINVAL, "colo_peek: NULL argument");
  return ch->vt->peek(ch, buf, len, timeout_ms);
}

int colo_release(colo_chan_t *ch) {
  if (!ch) return colo__err(COLO_EINVAL, "colo_release: NULL channel");
  return ch->vt->release(ch);
}

int colo_recv(colo_chan_t *ch, void *buf, size_t cap, size_t *len, int timeout_ms) {
  if (!ch || !len || (cap && !buf)) return colo__err(COLO_EINVAL, "colo_recv: NULL argument");
  if (ch->vt->recv) return ch->vt->recv(ch, buf, cap, len, timeout_ms);
  const void *p;
  size_t n;
  int rc = ch->vt->peek(ch, &p, &n, timeout_ms);
  if (rc) return rc;
  *len = n;
  if (n > cap)
    return colo__err(COLO_ENOBUFS, "%s: a %zu-byte message does not fit the %zu-byte buffer", ch->endpoint, n,
                     cap);
  if (n) memcpy(buf, p, n);
  return ch->vt->release(ch);
}
