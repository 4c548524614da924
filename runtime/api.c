/*
 * api.c - the public channel API: argument checks, options, and dispatch to
 * the transport behind each endpoint (chan.h).
 */
#include <stdio.h>
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"
#include "conn.h"
#include "layout.h"
#include "ring.h"
#include "segment.h"

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
  o->peer_user = NULL;
  o->handle_sigbus = 1;
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

uint64_t colo__remaining_ns(uint64_t deadline) {
  if (deadline == UINT64_MAX) return UINT64_MAX;
  uint64_t now = colo__os_now_ns();
  return now >= deadline ? 0 : deadline - now;
}

void colo__connect_backoff(uint64_t *backoff_ns, uint64_t deadline) {
  uint64_t now = colo__os_now_ns(), nap = *backoff_ns;
  if (deadline != UINT64_MAX) nap = now >= deadline ? 0 : deadline - now < nap ? deadline - now : nap;
  if (nap) colo__os_sleep_ns(nap);
  *backoff_ns = *backoff_ns * 2 < 20000000u ? *backoff_ns * 2 : 20000000u;
}

int colo__with_endpoint(int rc, const char *endpoint) {
  if (rc && rc != COLO_EAGAIN && endpoint && strncmp(colo_last_error(), endpoint, strlen(endpoint)) != 0)
    colo__err_prefix(endpoint);
  return rc;
}

const char *colo__err_detail(const char *endpoint) {
  const char *e = colo_last_error();
  size_t n = strlen(endpoint);
  return strncmp(e, endpoint, n) == 0 && e[n] == ':' && e[n + 1] == ' ' ? e + n + 2 : e;
}

static int is_shared_memory(colo__ep_kind_t k) { return k == COLO__EP_SHM || k == COLO__EP_FILE; }

/* ---- how a channel was chosen ------------------------------------------------------ */

colo_info_t *colo__route(colo_info_t **route) {
  if (!*route && !(*route = colo__calloc(1, sizeof **route))) colo__err(COLO_ENOMEM, "out of memory");
  return *route;
}

int colo__route_skip(colo_info_t **route, const char *what, const char *why) {
  colo_info_t *r = colo__route(route);
  if (!r) return COLO_ENOMEM;
  unsigned i = r->skipped_count < COLO_INFO_SKIPPED_MAX ? r->skipped_count++ : COLO_INFO_SKIPPED_MAX - 1;
  snprintf(r->skipped[i].what, sizeof r->skipped[i].what, "%s", what);
  snprintf(r->skipped[i].why, sizeof r->skipped[i].why, "%s", why);
  return 0;
}

const char *colo__route_join(const colo_info_t *route, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (unsigned i = 0; route && i < route->skipped_count && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s: %s", i ? "; " : "", route->skipped[i].what, route->skipped[i].why);
  return buf;
}

void colo__route_merge(colo_info_t **dst, colo_info_t *src) {
  if (!src) return;
  if (!*dst) {
    *dst = src;
    return;
  }
  for (unsigned i = 0; i < src->skipped_count; i++)
    colo__route_skip(dst, src->skipped[i].what, src->skipped[i].why);
  (*dst)->rung = src->rung;
  memcpy((*dst)->how, src->how, sizeof src->how);
  colo__free(src);
}

static const char *default_how(const char *transport) {
  static const struct {
    const char *t, *how;
  } h[] = {
      {"shm", "a ring pair in a named POSIX shared-memory segment"},
      {"file", "a ring pair in a file-backed shared mapping"},
      {"memfd", "a ring pair in a memfd"},
      {"unix", "a unix socket with colo's stream framing"},
      {"pipe", "a pair of FIFOs (named pipes) with colo's stream framing"},
      {"tcp", "a TCP connection (TCP_NODELAY) with colo's stream framing"},
  };
  for (size_t i = 0; i < sizeof h / sizeof *h; i++)
    if (strcmp(h[i].t, transport) == 0) return h[i].how;
  return "";
}

int colo_info(const colo_chan_t *ch, colo_info_t *out) {
  if (!ch || !out) return colo__err(COLO_EINVAL, "colo_info: NULL argument");
  if (ch->route) *out = *ch->route;
  else memset(out, 0, sizeof *out);
  snprintf(out->transport, sizeof out->transport, "%s", ch->vt->transport);
  snprintf(out->endpoint, sizeof out->endpoint, "%s", ch->endpoint);
  if (!out->how[0]) snprintf(out->how, sizeof out->how, "%s", default_how(ch->vt->transport));
  out->max_message = ch->max_msg;
  out->ring_capacity = ch->ring_capacity;
  return 0;
}

/* What listen and connect both check first. */
static int prepare(const colo_opts_t *opts, const char *endpoint, colo_opts_t *o, colo__endpoint_t *ep) {
  int rc = opts_resolve(opts, o);
  return rc ? rc : colo__endpoint_parse(endpoint, ep);
}

/* A segment is a read-write medium: whoever may read it but not write it
 * gains nothing from it but the power to interfere (a read lock on a
 * presence byte), so each class gets both or neither. */
static int segment_perm_ok(uint32_t perm) {
  for (int shift = 0; shift <= 6; shift += 3) {
    uint32_t rw = (perm >> shift) & 06;
    if (rw != 0 && rw != 06) return 0;
  }
  return (perm & 0600) == 0600;
}

/* ---- listeners ------------------------------------------------------------------- */

int colo_listen(colo_listener_t **out, const char *endpoint, const colo_opts_t *opts) {
  if (!out) return colo__err(COLO_EINVAL, "colo_listen: out is NULL");
  *out = NULL;
  if (endpoint && strchr(endpoint, ','))
    return colo__err(COLO_EINVAL, "%s: a listener takes one endpoint (a comma separates a connector's alternatives)",
                     endpoint);
  colo_opts_t o;
  colo__endpoint_t ep;
  colo__os_peers_t peers;
  int rc = prepare(opts, endpoint, &o, &ep);
  if (!rc) rc = colo__os_peers_parse(o.peer_user, &peers);
  if (!rc && is_shared_memory(ep.kind) && !segment_perm_ok(o.perm))
    rc = colo__err(COLO_EINVAL, "permission bits %04o: a segment needs read and write for its owner, and both or "
                   "neither for group and others (0600, 0660, 0606, 0666): whoever may only read it could fake "
                   "presence on it", o.perm);
  if (rc) return colo__with_endpoint(rc, endpoint);
  o.peer_user = NULL; /* the caller's string is not ours to keep */
  rc = is_shared_memory(ep.kind)       ? colo__shm_listen(&ep, &o, out)
       : ep.kind == COLO__EP_COLO ? colo__rdv_listen(&ep, &o, out)
                                       : colo__stream_listen(&ep, &o, out);
  if (!rc) (*out)->peers = peers;
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

/* An endpoint list: each alternative parsed. */
#define ALT_MAX 8
typedef struct alts {
  int n;
  colo__endpoint_t ep[ALT_MAX];
  char str[ALT_MAX][COLO__PATH_MAX + 16];
} alts_t;

static int parse_alts(const char *endpoint, alts_t *a) {
  a->n = 0;
  if (!endpoint) return colo__err(COLO_EINVAL, "endpoint is NULL");
  for (const char *p = endpoint;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (a->n == ALT_MAX) return colo__err(COLO_EINVAL, "%s: at most %d alternatives", endpoint, ALT_MAX);
    if (len >= sizeof a->str[0]) return colo__err(COLO_EINVAL, "%s: an alternative is too long", endpoint);
    if (len == 0)
      return colo__err(COLO_EINVAL, "%s: an empty alternative (endpoints are separated by single commas)", endpoint);
    memcpy(a->str[a->n], p, len);
    a->str[a->n][len] = '\0';
    int rc = colo__endpoint_parse(a->str[a->n], &a->ep[a->n]);
    if (rc) return rc;
    a->n++;
    if (!comma) return 0;
    p = comma + 1;
  }
}

/* colo_info_endpoint for one direct endpoint: reach it, take nothing. */
static int probe_direct(const colo__endpoint_t *ep, const char *endpoint, const colo__dial_t *d, colo_info_t *info) {
  memset(info, 0, sizeof *info);
  snprintf(info->endpoint, sizeof info->endpoint, "%s", endpoint);
  if (is_shared_memory(ep->kind)) {
    colo_seg_info_t si;
    colo__os_seg_t *os = NULL;
    int rc = colo__seg_inspect(ep, &si, &os);
    /* Whose it is, as a connect would ask first. */
    if (!rc && os) rc = colo__os_seg_check_owner(os, &d->peers);
    colo__os_seg_close(os);
    if (rc) return rc;
    if (si.status) return colo__err(si.status, "%s: %s", endpoint, si.status_detail);
    if (si.listener != COLO_PROC_ALIVE) return colo__err(COLO_EPEERDEAD, "%s: its listener is gone", endpoint);
    if (si.connector != COLO_PROC_NONE)
      return colo__err(COLO_EBUSY, "%s: it already serves a connection", endpoint);
    snprintf(info->transport, sizeof info->transport, "%s", ep->kind == COLO__EP_SHM ? "shm" : "file");
    info->ring_capacity = si.capacity[1];
    info->max_message = colo__ring_max_msg(si.capacity[1]);
    snprintf(info->how, sizeof info->how, "%s; a listener waits for its one connection",
             default_how(info->transport));
    return 0;
  }
  colo__os_conn_t *conn;
  int rc = colo__dial_conn(ep, d, endpoint, &conn);
  if (rc) return rc;
  colo__os_conn_close(conn);
  snprintf(info->transport, sizeof info->transport, "%s",
           ep->kind == COLO__EP_UNIX ? "unix" : ep->kind == COLO__EP_PIPE ? "pipe" : "tcp");
  snprintf(info->how, sizeof info->how, "%s; a listener accepts connections (the handshake is not run, so that "
           "no connection is taken from its application)", default_how(info->transport));
  return 0;
}

static int connect_one(const colo__endpoint_t *ep, const char *endpoint, const colo_opts_t *o, const colo__dial_t *d,
                       colo_chan_t **out, colo_info_t *info) {
  int rc;
  if (d->probe && ep->kind != COLO__EP_COLO) return probe_direct(ep, endpoint, d, info);
  if (is_shared_memory(ep->kind)) rc = colo__shm_connect(ep, o, d, out);
  else if (ep->kind == COLO__EP_COLO) rc = colo__rdv_connect(ep, o, d, out);
  else rc = colo__stream_connect(ep, o, d, out);
  if (!rc && d->probe) {
    colo_info(*out, info);
    colo_close(*out);
    *out = NULL;
  }
  return colo__with_endpoint(rc, endpoint);
}

/* Puts the skips in route before those already in info. */
static void prepend_skips(colo_info_t *info, const colo_info_t *route) {
  colo_info_skip_t mine[COLO_INFO_SKIPPED_MAX];
  unsigned n = info->skipped_count;
  memcpy(mine, info->skipped, sizeof mine);
  info->skipped_count = 0;
  for (unsigned k = 0; k < route->skipped_count; k++) info->skipped[info->skipped_count++] = route->skipped[k];
  for (unsigned k = 0; k < n && info->skipped_count < COLO_INFO_SKIPPED_MAX; k++)
    info->skipped[info->skipped_count++] = mine[k];
}

/*
 * Tries the alternatives in order. With more than one, each attempt reaches
 * for its listener once; when none was there yet (COLO_ENOENT), the round is
 * repeated until the deadline. The reason each one failed is kept.
 */
static int connect_list(colo_chan_t **out, const char *endpoint, const colo_opts_t *opts, int timeout_ms,
                        int probe, colo_info_t *info) {
  colo_opts_t o;
  int rc = opts_resolve(opts, &o);
  if (rc) return rc;
  alts_t *a = colo__malloc(sizeof *a);
  if (!a) return colo__err(COLO_ENOMEM, "out of memory");
  if ((rc = parse_alts(endpoint, a)) != 0) {
    colo__free(a);
    return rc;
  }
  colo__dial_t d = {timeout_ms, colo__deadline(timeout_ms), a->n > 1, probe, {0}};
  if ((rc = colo__os_peers_parse(o.peer_user, &d.peers)) != 0) {
    colo__free(a);
    return rc;
  }
  o.peer_user = NULL;
  colo_info_t *route = NULL;
  uint64_t backoff = 1000000u;
  for (;;) {
    if (route) route->skipped_count = 0; /* each round: only its own reasons count */
    int retry = 1;
    for (int i = 0; i < a->n; i++) {
      rc = connect_one(&a->ep[i], a->str[i], &o, &d, out, info);
      if (!rc) {
        if (*out) {
          colo__route_merge(&route, (*out)->route);
          (*out)->route = route;
        } else if (route) {
          prepend_skips(info, route);
          colo__free(route);
        }
        colo__free(a);
        return 0;
      }
      if (a->n == 1) break;
      if (rc != COLO_ENOENT && rc != COLO_ENOTREADY && rc != COLO_EAGAIN) retry = 0;
      colo__route_skip(&route, a->str[i], colo__err_detail(a->str[i]));
    }
    if (a->n == 1 || !retry || timeout_ms == 0 || colo__remaining_ns(d.deadline) == 0) break;
    colo__connect_backoff(&backoff, d.deadline);
  }
  if (a->n > 1) {
    char why[2048];
    colo__err(rc, "no alternative could be reached: %s", colo__route_join(route, why, sizeof why));
  }
  colo__free(route);
  colo__free(a);
  return rc;
}

int colo_connect(colo_chan_t **out, const char *endpoint, const colo_opts_t *opts, int timeout_ms) {
  if (!out) return colo__err(COLO_EINVAL, "colo_connect: out is NULL");
  *out = NULL;
  return connect_list(out, endpoint, opts, timeout_ms, 0, NULL);
}

int colo_info_endpoint(const char *endpoint, const colo_opts_t *opts, int timeout_ms, colo_info_t *out) {
  if (!out) return colo__err(COLO_EINVAL, "colo_info_endpoint: out is NULL");
  memset(out, 0, sizeof *out);
  colo_chan_t *ch = NULL;
  return connect_list(&ch, endpoint, opts, timeout_ms, 1, out);
}

void colo_close(colo_chan_t *ch) {
  if (!ch) return;
  colo_info_t *route = ch->route;
  ch->vt->close(ch);
  colo__free(route);
}

size_t colo_max_message(const colo_chan_t *ch) { return ch ? ch->max_msg : 0; }
const char *colo_endpoint(const colo_chan_t *ch) { return ch ? ch->endpoint : ""; }
const char *colo_transport(const colo_chan_t *ch) { return ch ? ch->vt->transport : ""; }

int colo_sigbus_repair(void *fault_addr) { return colo__os_sigbus_repair(fault_addr); }

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
