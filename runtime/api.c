/*
 * api.c - the public channel API: argument checks, options, the endpoint
 * list and its retries, and dispatch through the transport table (chan.h).
 * It names no transport.
 */
#include <stdio.h>
#include <string.h>

#include "../shims/shim.h"
#include "chan.h"
#include "layout.h"
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
                     out->ring_capacity, COLO__SEG_MIN_CAPACITY, COLO__SEG_MAX_CAPACITY);
  if ((unsigned)out->wait_mode > COLO_WAIT_BLOCK)
    return colo__err(COLO_EINVAL, "options: unknown wait mode %d", (int)out->wait_mode);
  if (out->perm & ~0777u) return colo__err(COLO_EINVAL, "options: permission bits %o out of range", out->perm);
  if (out->spin_us > 10u * 1000 * 1000) return colo__err(COLO_EINVAL, "options: spin_us above 10 s");
  return 0;
}

/* The caller's colo_info_t: at least the size of version 0.2's (the first
 * with struct_size), filled up to its struct_size. */
#define INFO_V02_SIZE sizeof(colo_info_t)

static int info_out(const colo_info_t *full, colo_info_t *out, uint32_t size) {
  size_t n = size < sizeof *full ? size : sizeof *full;
  memcpy(out, full, n);
  out->struct_size = (uint32_t)n;
  return 0;
}

static int info_size_ok(const colo_info_t *out, const char *fn) {
  if (out->struct_size < INFO_V02_SIZE)
    return colo__err(COLO_EINVAL, "%s: out->struct_size is %u; set it to sizeof(colo_info_t) first", fn,
                     (unsigned)out->struct_size);
  return 0;
}

int colo_info(const colo_chan_t *ch, colo_info_t *out) {
  if (!ch || !out) return colo__err(COLO_EINVAL, "colo_info: NULL argument");
  int rc = info_size_ok(out, "colo_info");
  if (rc) return rc;
  colo_info_t full;
  colo__info_of(ch, &full);
  return info_out(&full, out, out->struct_size);
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
  const colo__transport_t *t = rc ? NULL : colo__transport_of(ep.kind);
  if (!rc && t->segment && !segment_perm_ok(o.perm))
    rc = colo__err(COLO_EINVAL, "permission bits %04o: a segment needs read and write for its owner, and both or "
                   "neither for group and others (0600, 0660, 0606, 0666): whoever may only read it could fake "
                   "presence on it", o.perm);
  if (rc) return colo__with_endpoint(rc, endpoint);
  o.peer_user = NULL; /* the caller's string is not ours to keep */
  rc = t->listen(&ep, &o, out);
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
  uint64_t not_ready_since[ALT_MAX]; /* when it began to answer COLO_ENOTREADY (0: it does not) */
  int given_up[ALT_MAX];             /* not READY for COLO__READY_WAIT_NS: tried no more */
  char why[ALT_MAX][sizeof(((colo_info_skip_t *)0)->why)];
} alts_t;

static int parse_alts(const char *endpoint, alts_t *a) {
  memset(a, 0, sizeof *a);
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

static int connect_one(const colo__endpoint_t *ep, const char *endpoint, const colo_opts_t *o, colo__dial_t *d,
                       colo_chan_t **out, colo_info_t *info) {
  const colo__transport_t *t = colo__transport_of(ep->kind);
  int rc;
  d->again = 0;
  if (d->probe && t->probe) {
    memset(info, 0, sizeof *info);
    snprintf(info->endpoint, sizeof info->endpoint, "%s", endpoint);
    snprintf(info->transport, sizeof info->transport, "%s", t->name);
    return colo__with_endpoint(t->probe(ep, endpoint, d, info), endpoint);
  }
  rc = t->connect(ep, o, d, out);
  if (!rc && d->probe) {
    colo__info_of(*out, info);
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

/* Alternative i is tried no more: its reason (the current detail) is kept
 * for every later round, and skipped in this one. */
static void give_up(alts_t *a, int i, colo_info_t **route) {
  a->given_up[i] = 1;
  snprintf(a->why[i], sizeof a->why[i], "%s", colo__err_detail(a->str[i]));
  colo__route_skip(route, a->str[i], a->why[i]);
}

/* The error of a connect whose time ran out with a single endpoint still
 * not there: rc is what its last attempt said. */
static int ran_out(int rc, const char *endpoint, int timeout_ms) {
  if (rc == COLO_EPEERDEAD) return rc; /* only a dead listener's leftover is there: its detail says so */
  if (rc == COLO_EAGAIN)
    return colo__err(COLO_ETIMEDOUT, "%s: the listener stayed too busy to take a connection for %d ms", endpoint,
                     timeout_ms);
  if (rc == COLO_ENOTREADY)
    return colo__err(COLO_ETIMEDOUT, "%s: its creator did not finish initialising it within %d ms", endpoint,
                     timeout_ms);
  return colo__err(COLO_ETIMEDOUT, "%s: no listener appeared within %d ms", endpoint, timeout_ms);
}

/*
 * Tries the alternatives in order, each with one attempt; while one that
 * failed may still appear (d.again: nobody listens yet, busy, not READY, a
 * dead listener's leftover that a new one may reclaim), the round is
 * repeated until the deadline, with the one backoff of colo__retry_t. In a
 * list, an alternative that cannot succeed by waiting (refused, not READY
 * for COLO__READY_WAIT_NS) is given up on and the others are still tried.
 * The reason each alternative failed is kept.
 */
static int connect_list(colo_chan_t **out, const char *endpoint, const colo_opts_t *opts, int timeout_ms,
                        int probe, colo_info_t *info) {
  colo_opts_t o;
  int rc = opts_resolve(opts, &o);
  if (rc) return rc;
  alts_t *a = colo__malloc(sizeof *a);
  if (!a) return colo__err_nomem();
  if ((rc = parse_alts(endpoint, a)) != 0) {
    colo__free(a);
    return rc;
  }
  colo__dial_t d = {.timeout_ms = timeout_ms, .deadline = colo__deadline(timeout_ms), .probe = probe,
                    .seg_flags = colo__seg_ns_flags(&o)};
  if ((rc = colo__os_peers_parse(o.peer_user, &d.peers)) != 0) {
    colo__free(a);
    return rc;
  }
  o.peer_user = NULL;
  colo_info_t *route = NULL;
  colo__retry_t retry = COLO__RETRY_INIT;
  for (;;) {
    if (route) route->skipped_count = 0; /* each round: only its own reasons count */
    int again = 1, live = 0;
    for (int i = 0; i < a->n; i++) {
      if (a->given_up[i]) {
        colo__route_skip(&route, a->str[i], a->why[i]);
        continue;
      }
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
      if (rc == COLO_ENOTREADY && d.again) {
        uint64_t now = colo__os_now_ns();
        if (!a->not_ready_since[i]) {
          a->not_ready_since[i] = now;
        } else if (now - a->not_ready_since[i] >= COLO__READY_WAIT_NS) {
          rc = colo__err(COLO_ENOTREADY, "%s: its creator did not finish initialising it within %llu ms", a->str[i],
                         (unsigned long long)(COLO__READY_WAIT_NS / COLO__MS));
          give_up(a, i, &route);
          continue;
        }
      } else {
        a->not_ready_since[i] = 0;
      }
      if (!d.again && a->n > 1) {
        /* It will not change by waiting (refused, another user's, broken):
         * given up, and the others are still waited for, so that no local
         * user can take a list's fallbacks away by spoiling one of them. */
        give_up(a, i, &route);
        continue;
      }
      if (a->n > 1) colo__route_skip(&route, a->str[i], colo__err_detail(a->str[i]));
      live++;
      again &= d.again;
    }
    if (!live || !again || timeout_ms == 0) break;
    if (colo__remaining_ns(d.deadline) == 0) {
      /* A list whose alternatives may all still appear ran out of time,
       * as a single endpoint does: COLO_ETIMEDOUT, each reason kept. */
      rc = a->n == 1 ? ran_out(rc, a->str[0], timeout_ms) : COLO_ETIMEDOUT;
      break;
    }
    colo__retry_sleep(&retry, d.deadline);
  }
  if (a->n > 1) {
    char why[2048];
    if (rc == COLO_ETIMEDOUT)
      colo__err(rc, "no alternative could be reached within %d ms: %s", timeout_ms,
                colo__route_join(route, why, sizeof why));
    else
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
  int rc = info_size_ok(out, "colo_info_endpoint");
  if (rc) return rc;
  uint32_t size = out->struct_size;
  colo_info_t *full = colo__calloc(1, sizeof *full);
  if (!full) return colo__err_nomem();
  colo_chan_t *ch = NULL;
  rc = connect_list(&ch, endpoint, opts, timeout_ms, 1, full);
  if (!rc) {
    full->struct_size = sizeof *full;
    info_out(full, out, size);
  }
  colo__free(full);
  return rc;
}

void colo_close(colo_chan_t *ch) {
  if (!ch) return;
  colo_info_t *route = ch->route;
  ch->vt->close(ch);
  colo__free(route);
}

size_t colo_max_message(const colo_chan_t *ch) { return ch ? ch->max_msg : 0; }
const char *colo_endpoint(const colo_chan_t *ch) { return ch ? ch->endpoint : ""; }
const char *colo_transport(const colo_chan_t *ch) { return ch ? ch->t->name : ""; }

int colo_sigbus_repair(void *fault_addr) { return colo__os_sigbus_repair(fault_addr); }

int colo_os_handle(colo_chan_t *ch, colo_os_handle_t *out) {
  if (!ch || !out) return colo__err(COLO_EINVAL, "colo_os_handle: NULL argument");
  if (!ch->vt->os_handle)
    return colo__err(COLO_ENOTSUP, "%s: a %s channel has no handle to poll in this version", ch->endpoint,
                     ch->t->name);
  return ch->vt->os_handle(ch, out);
}

#if COLO_OS_HANDLE_IS_FD /* (colo.h: POSIX, where the handle is a descriptor) */
int colo_fd(colo_chan_t *ch) {
  colo_os_handle_t h;
  int rc = colo_os_handle(ch, &h);
  return rc ? rc : h;
}
#endif

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
