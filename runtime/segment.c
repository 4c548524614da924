/*
 * segment.c - the shared segment: plan, format, validate, create, open,
 * claim, close. The format itself is specified in docs/layout.md.
 */
#include "segment.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "chan.h"
#include "ring.h"

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

int colo__seg_plan(uint64_t capacity, int msg_checksum, colo__seg_layout_t *o) {
  if (!colo__seg_capacity_ok(capacity))
    return colo__err(COLO_EINVAL, "ring capacity %llu: must be a power of two from %u to %u bytes",
                     (unsigned long long)capacity, COLO__SEG_MIN_CAPACITY, COLO__SEG_MAX_CAPACITY);
  memset(o, 0, sizeof *o);
  o->major = COLO__SEG_MAJOR;
  o->minor = COLO__SEG_MINOR;
  o->incompat_flags = msg_checksum ? COLO__SEG_F_MSG_CHECKSUM : 0;
  o->control_offset = COLO__SEG_HEADER_SIZE;
  uint64_t at = o->control_offset + COLO__SEG_CONTROL_SIZE;
  for (int i = 0; i < 2; i++) {
    o->ctrl_offset[i] = at;
    at += COLO__SEG_RING_CTRL_SIZE;
  }
  at = align_up(at, COLO__SEG_DATA_ALIGN);
  for (int i = 0; i < 2; i++) {
    o->capacity[i] = capacity;
    o->data_offset[i] = at;
    at += capacity;
  }
  o->size = at;
  return 0;
}

void colo__seg_format(void *base, const colo__seg_layout_t *lay, uint64_t created_ns, uint64_t ring_start) {
  colo__seg_header_t h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, COLO__SEG_MAGIC, sizeof h.magic);
  h.version_major = lay->major;
  h.version_minor = lay->minor;
  h.header_size = COLO__SEG_HEADER_SIZE;
  h.incompat_flags = lay->incompat_flags;
  h.segment_size = lay->size;
  h.control_offset = (uint32_t)lay->control_offset;
  h.ring_count = COLO__SEG_RING_COUNT;
  for (int i = 0; i < 2; i++) {
    h.ring[i].ctrl_offset = lay->ctrl_offset[i];
    h.ring[i].data_offset = lay->data_offset[i];
    h.ring[i].capacity = lay->capacity[i];
  }
  h.record_header_size = COLO__REC_HEADER_SIZE;
  h.record_align = COLO__REC_ALIGN;
  h.created_ns = created_ns;
  h.nonce = lay->nonce;
  h.header_checksum = colo__hash64(&h, COLO__SEG_CHECKSUM_SPAN);
  /* Everything but the state word, which colo__seg_publish() stores last. */
  memcpy(base, &h, offsetof(colo__seg_header_t, state));
  uint8_t *b = base;
  memset(b + lay->control_offset, 0, COLO__SEG_CONTROL_SIZE);
  for (int i = 0; i < 2; i++)
    colo__ring_format((colo__seg_ring_ctrl_t *)(void *)(b + lay->ctrl_offset[i]), ring_start);
}

void colo__seg_publish(void *base) {
  colo__seg_header_t *h = base;
  /* pairs with: the acquire load of state in colo__seg_validate */
  colo__store_release(&h->state, COLO__SEG_READY);
}

/* What removes a segment left behind, as the user would type it: colo gc
 * only where the names can be listed. */
static const char *remover_hint(void) {
  return colo__os_caps.listable_names ? "colo gc or colo rm removes it" : "colo rm ENDPOINT removes it";
}

/* [off, off+len) lies inside [0, size), without overflow. */
static int inside(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }
static int disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  return a + alen <= b || b + blen <= a;
}

int colo__seg_validate(const void *base, uint64_t obj_size, colo__seg_layout_t *out) {
  if (obj_size == 0) return colo__err(COLO_ENOTREADY, "the segment has no size yet");
  /* A creator writes the magic, then sizes the object. */
  if (obj_size < COLO__SEG_HEADER_SIZE && obj_size >= sizeof(COLO__SEG_MAGIC) - 1 &&
      memcmp(base, COLO__SEG_MAGIC, sizeof(COLO__SEG_MAGIC) - 1) == 0)
    return colo__err(COLO_ENOTREADY, "the creator has not sized it yet (%llu bytes)", (unsigned long long)obj_size);
  if (obj_size < COLO__SEG_HEADER_SIZE)
    return colo__err(COLO_ECORRUPT, "truncated: %llu bytes, smaller than the %u-byte header",
                     (unsigned long long)obj_size, COLO__SEG_HEADER_SIZE);
  colo__seg_header_t *shared = (colo__seg_header_t *)(uintptr_t)base;
  /* pairs with: the release store in colo__seg_publish */
  uint32_t state = colo__load_acquire(&shared->state);
  if (state == COLO__SEG_INITIALISING)
    return colo__err(COLO_ENOTREADY, "the creator has not finished initialising the segment");
  if (state != COLO__SEG_READY) return colo__err(COLO_ECORRUPT, "bad state word %#x", state);

  /* One read of the header into private memory; everything below checks and
   * uses the copy only, so a peer writing concurrently cannot change a value
   * between its check and its use. */
  colo__seg_header_t h;
  memcpy(&h, base, offsetof(colo__seg_header_t, state));
  if (memcmp(h.magic, COLO__SEG_MAGIC, sizeof h.magic) != 0)
    return colo__err(COLO_ECORRUPT, "not a colo segment (bad magic)");
  if (h.version_major != COLO__SEG_MAJOR)
    return colo__err(COLO_EVERSION, "segment format %u.%u; this library reads %u.x", h.version_major,
                     h.version_minor, COLO__SEG_MAJOR);
  uint64_t sum = colo__hash64(&h, COLO__SEG_CHECKSUM_SPAN);
  if (sum != h.header_checksum)
    return colo__err(COLO_ECORRUPT, "header checksum mismatch (stored %016llx, computed %016llx)",
                     (unsigned long long)h.header_checksum, (unsigned long long)sum);
  if (h.incompat_flags & ~COLO__SEG_INCOMPAT_KNOWN)
    return colo__err(COLO_EVERSION, "segment uses format features %#x this library does not know",
                     h.incompat_flags & ~COLO__SEG_INCOMPAT_KNOWN);
  uint64_t size = h.segment_size;
  if (size > obj_size)
    return colo__err(COLO_ECORRUPT, "truncated: the header says %llu bytes, the object has %llu",
                     (unsigned long long)size, (unsigned long long)obj_size);
  if (h.header_size < COLO__SEG_HEADER_SIZE || h.header_size > size || size > COLO__SEG_MAX_SIZE)
    return colo__err(COLO_ECORRUPT, "bad header size %u or segment size %llu", h.header_size,
                     (unsigned long long)size);
  if (h.ring_count != COLO__SEG_RING_COUNT || h.record_header_size != COLO__REC_HEADER_SIZE ||
      h.record_align != COLO__REC_ALIGN)
    return colo__err(COLO_ECORRUPT, "bad ring count %u or record format %u/%u", h.ring_count,
                     h.record_header_size, h.record_align);

  /* Regions: header, control, two ring controls, two data areas. Each must be
   * aligned, inside the segment, and disjoint from every other. */
  uint64_t off[6], len[6];
  off[0] = 0, len[0] = h.header_size;
  off[1] = h.control_offset, len[1] = COLO__SEG_CONTROL_SIZE;
  for (int i = 0; i < 2; i++) {
    uint64_t cap = h.ring[i].capacity;
    if (!colo__seg_capacity_ok(cap))
      return colo__err(COLO_ECORRUPT, "ring %d: bad capacity %llu", i, (unsigned long long)cap);
    off[2 + i] = h.ring[i].ctrl_offset, len[2 + i] = COLO__SEG_RING_CTRL_SIZE;
    off[4 + i] = h.ring[i].data_offset, len[4 + i] = cap;
  }
  for (int a = 1; a < 6; a++) {
    if (off[a] % COLO__SEG_MIN_ALIGN != 0 || !inside(off[a], len[a], size))
      return colo__err(COLO_ECORRUPT, "region %d at %llu+%llu is misaligned or outside the %llu-byte segment",
                       a, (unsigned long long)off[a], (unsigned long long)len[a], (unsigned long long)size);
    for (int b = 0; b < a; b++)
      if (!disjoint(off[a], len[a], off[b], len[b]))
        return colo__err(COLO_ECORRUPT, "regions %d and %d overlap", a, b);
  }

  memset(out, 0, sizeof *out);
  out->major = h.version_major;
  out->minor = h.version_minor;
  out->incompat_flags = h.incompat_flags;
  out->size = size;
  out->control_offset = h.control_offset;
  for (int i = 0; i < 2; i++) {
    out->ctrl_offset[i] = h.ring[i].ctrl_offset;
    out->data_offset[i] = h.ring[i].data_offset;
    out->capacity[i] = h.ring[i].capacity;
  }
  out->nonce = h.nonce;
  return 0;
}

static colo__seg_t *seg_new(const char *endpoint, colo__ep_kind_t kind, int side) {
  colo__seg_t *s = colo__calloc(1, sizeof *s);
  if (!s) return NULL;
  s->side = side;
  s->kind = kind;
  atomic_init(&s->refs, 1);
  snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
  return s;
}

/* The creator's last steps on a freshly created object: format, publish. */
static void seg_init(colo__seg_t *s, colo__os_seg_t *os, const colo__seg_layout_t *lay) {
  s->os = os;
  s->base = colo__os_seg_base(os);
  s->lay = *lay;
  colo__seg_format(s->base, lay, colo__os_realtime_ns(), 0);
  colo__os_seg_name_waits(os, lay->nonce); /* before an opener can wait or wake */
  colo__seg_publish(s->base);
}

static int seg_plan(const colo_opts_t *o, colo__seg_layout_t *lay) {
  int rc = colo__seg_plan(o->ring_capacity, o->msg_checksum, lay);
  if (!rc) colo__os_random(&lay->nonce, sizeof lay->nonce);
  return rc;
}

/* A shm:// object is ours by its name (where names persist to be found
 * empty); a file:// one only by its magic. */
static int named_ours(const char *endpoint) {
  const char *rest;
  const colo__transport_t *t = colo__transport_by_scheme(endpoint, &rest);
  return t && t->kind == COLO__EP_SHM && colo__os_caps.persistent_names;
}

void colo__seg_describe(colo__os_seg_t *os, colo_seg_info_t *info) {
  colo__os_stat_t st;
  colo__os_seg_fstat(os, &st);
  info->size = st.size;
  info->perm = st.perm;
  info->uid = st.uid;
  info->age_s = st.age_s;
  snprintf(info->owner, sizeof info->owner, "%s", st.owner);
  /* Read, never mapped: the object may change size under us at any time (a
   * mapping would fault), and looking must not attach. */
  uint8_t head[COLO__SEG_HEADER_SIZE];
  size_t got = 0;
  int rc = colo__os_seg_read(os, 0, head, sizeof head, &got);
  if (rc) {
    info->status = rc;
    snprintf(info->status_detail, sizeof info->status_detail, "%s", colo_last_error());
    info->listener = info->connector = COLO_PROC_UNKNOWN;
    return;
  }
  size_t ml = sizeof(COLO__SEG_MAGIC) - 1;
  info->magic_ok = got >= ml && memcmp(head, COLO__SEG_MAGIC, ml) == 0;
  colo__seg_layout_t lay;
  /* What was read is the object as far as the header goes: a shorter read
   * means a shorter object, whatever the earlier size said. */
  uint64_t size = got < sizeof head ? got : st.size;
  info->status = colo__seg_validate(head, size, &lay);
  int claimed = 0;
  if (info->status == 0) {
    info->version_major = lay.major, info->version_minor = lay.minor;
    info->capacity[0] = lay.capacity[0], info->capacity[1] = lay.capacity[1];
    uint32_t claim = 0;
    if (colo__os_seg_read(os, lay.control_offset + offsetof(colo__seg_control_t, claim), &claim, sizeof claim, &got) ==
            0 &&
        got == sizeof claim)
      claimed = claim != 0;
  } else {
    snprintf(info->status_detail, sizeof info->status_detail, "%s", colo_last_error());
  }
  int l = colo__os_seg_probe(os, COLO__SIDE_LISTENER), c = colo__os_seg_probe(os, COLO__SIDE_CONNECTOR);
  info->listener = l < 0 ? COLO_PROC_UNKNOWN : l ? COLO_PROC_ALIVE : COLO_PROC_DEAD;
  info->connector = c < 0 ? COLO_PROC_UNKNOWN : c ? COLO_PROC_ALIVE : claimed ? COLO_PROC_DEAD : COLO_PROC_NONE;
}

colo__seg_verdict_t colo__seg_verdict(const colo_seg_info_t *info) {
  if (info->listener == COLO_PROC_ALIVE || info->connector == COLO_PROC_ALIVE) return COLO__SEG_LIVE;
  if (info->listener == COLO_PROC_UNKNOWN || info->connector == COLO_PROC_UNKNOWN) return COLO__SEG_UNKNOWN;
  /* Never somebody else's file. Ours: it has our magic (a creator writes it
   * before it sizes the object), or it is a shm:// object too short to hold
   * it, whose creator died before it wrote it (that name is ours). */
  int ours = info->magic_ok || (named_ours(info->endpoint) && info->size == 0 && info->status == COLO_ENOTREADY);
  if (!ours) return COLO__SEG_FOREIGN;
  /* A creator that died before READY leaves no holder either, but so does one
   * between its exclusive create and its lock: give it time to finish. */
  if (info->status == COLO_ENOTREADY && info->age_s < COLO__INIT_GRACE_S) return COLO__SEG_YOUNG;
  return COLO__SEG_DEAD;
}

int colo_seg_is_dead(const colo_seg_info_t *info) {
  return info && info->struct_size >= sizeof *info && colo__seg_verdict(info) == COLO__SEG_DEAD;
}

int colo__seg_verdict_err(const colo_seg_info_t *info, colo__seg_verdict_t v, const char *action) {
  switch (v) {
  case COLO__SEG_LIVE:
    return colo__err(COLO_EBUSY, "%s is in use by a live process (owner %s)%s", info->endpoint, info->owner, action);
  case COLO__SEG_UNKNOWN:
    return colo__err(COLO_EPERM, "%s: cannot tell whether a live process uses it (%s)%s", info->endpoint,
                     info->status_detail[0] ? info->status_detail : "no permission to look", action);
  case COLO__SEG_FOREIGN:
    return colo__err(COLO_ECORRUPT, "%s exists and is not a colo segment (%s; owner %s)%s", info->endpoint,
                     info->status_detail[0] ? info->status_detail : "bad magic", info->owner, action);
  case COLO__SEG_YOUNG:
    return colo__err(COLO_EBUSY, "%s is being created by another process right now (or its creator died less than "
                     "%d s ago)%s", info->endpoint, COLO__INIT_GRACE_S, action);
  case COLO__SEG_DEAD: break;
  }
  return 0;
}

/* Removes the endpoint's existing segment if it is ours and dead.
 * @return 1 when removed (or already gone), 0 when it stays; the detail says why. */
static int reclaim_if_dead(const colo__endpoint_t *ep) {
  colo_seg_info_t *info = colo__calloc(1, sizeof *info);
  if (!info) return colo__err_nomem(), 0;
  colo__os_seg_t *os = NULL;
  int rc = colo__seg_inspect(ep, 0, info, &os);
  int removed = rc == COLO_ENOENT; /* gone meanwhile: retry */
  if (!rc) {
    colo__seg_verdict_t v = colo__seg_verdict(info);
    if (v == COLO__SEG_DEAD) removed = colo__os_seg_unlink(os) == 0;
    else colo__seg_verdict_err(info, v, " (a listener replaces only a dead one's; see colo ls)");
  }
  colo__os_seg_close(os);
  colo__free(info);
  return removed;
}

int colo__seg_create(const colo__endpoint_t *ep, const colo_opts_t *o, colo__seg_t **out) {
  *out = NULL;
  colo__seg_layout_t lay;
  int rc = seg_plan(o, &lay);
  if (rc) return rc;
  char endpoint[COLO__PATH_MAX + 16];
  colo__endpoint_format(ep, endpoint, sizeof endpoint);
  colo__seg_t *s = seg_new(endpoint, ep->kind, COLO__SIDE_LISTENER);
  if (!s) return colo__err_nomem();
  if (o->handle_sigbus) colo__os_sigbus_install();
  colo__os_seg_t *os = NULL;
  for (int attempt = 0;; attempt++) {
    rc = colo__os_seg_create(&os, ep->kind, ep->name, lay.size, o->perm, COLO__SIDE_LISTENER, COLO__SEG_MAGIC,
                             sizeof(COLO__SEG_MAGIC) - 1, COLO__SEG_GUARD | colo__seg_ns_flags(o));
    if (rc != COLO_EEXIST) break;
    if (!o->reclaim_stale) {
      colo__err(COLO_EEXIST, "%s exists (reclaim_stale is off; %s)", ep->name, remover_hint());
      break;
    }
    /* Where a name dies with its last handle, an existing one is a live one's. */
    int persistent = ep->kind == COLO__EP_FILE || colo__os_caps.persistent_names;
    if (attempt == 0 && persistent && reclaim_if_dead(ep)) continue;
    rc = COLO_EEXIST;
    break;
  }
  if (rc) {
    colo__free(s);
    return rc;
  }
  s->held = 1; /* colo__os_seg_create took the listener's slot */
  seg_init(s, os, &lay);
  *out = s;
  return 0;
}

int colo__seg_create_anon(const colo_opts_t *o, const char *endpoint, colo__seg_t **out) {
  *out = NULL;
  colo__seg_layout_t lay;
  int rc = seg_plan(o, &lay);
  if (rc) return rc;
  colo__seg_t *s = seg_new(endpoint, 0, COLO__SIDE_LISTENER);
  if (!s) return colo__err_nomem();
  colo__os_seg_t *os;
  if ((rc = colo__os_seg_create_anon(&os, lay.size)) != 0) {
    colo__free(s);
    return rc;
  }
  seg_init(s, os, &lay);
  *out = s;
  return 0;
}

int colo__seg_inspect(const colo__endpoint_t *ep, int flags, colo_seg_info_t *info, colo__os_seg_t **keep) {
  memset(info, 0, sizeof *info);
  info->struct_size = sizeof *info;
  colo__endpoint_format(ep, info->endpoint, sizeof info->endpoint);
  colo__os_stat_t st;
  int rc = colo__os_seg_stat(ep->kind, ep->name, flags, &st);
  if (rc) return rc;
  colo__os_seg_t *os = NULL;
  rc = st.regular ? colo__os_seg_open(&os, ep->kind, ep->name, flags & COLO__SEG_GLOBAL) : colo__err(COLO_EINVAL, "it is %s", st.type);
  if (rc) {
    /* Exists but cannot be looked into: another user's 0600 segment, or not
     * a file at all (nothing of it is opened then). */
    info->size = st.size, info->perm = st.perm, info->uid = st.uid, info->age_s = st.age_s;
    snprintf(info->owner, sizeof info->owner, "%s", st.owner);
    info->status = rc;
    snprintf(info->status_detail, sizeof info->status_detail, "%s", colo_last_error());
    info->listener = info->connector = st.regular ? COLO_PROC_UNKNOWN : COLO_PROC_NONE;
    return 0;
  }
  colo__seg_describe(os, info);
  if (keep) *keep = os;
  else colo__os_seg_close(os);
  return 0;
}

int colo__seg_open(const colo__endpoint_t *ep, const colo__os_peers_t *peers, const colo_opts_t *o,
                   colo__seg_t **out) {
  *out = NULL;
  if (o->handle_sigbus) colo__os_sigbus_install();
  colo__os_seg_t *os;
  int rc = colo__os_seg_open(&os, ep->kind, ep->name,
                             COLO__SEG_MAP | COLO__SEG_GUARD | colo__seg_ns_flags(o));
  if (rc) return rc;
  /* Before anything in it is believed: who made it. */
  if ((rc = colo__os_seg_check_owner(os, peers)) != 0) {
    colo__os_seg_close(os);
    return rc;
  }
  char endpoint[COLO__PATH_MAX + 16];
  colo__endpoint_format(ep, endpoint, sizeof endpoint);
  rc = colo__seg_adopt(os, endpoint, out);
  if (!rc) (*out)->kind = ep->kind;
  return rc;
}

int colo__seg_adopt(colo__os_seg_t *os, const char *endpoint, colo__seg_t **out) {
  *out = NULL;
  int rc;
  colo__seg_layout_t lay;
  rc = colo__seg_validate(colo__os_seg_base(os), colo__os_seg_size(os), &lay);
  /* A header read off pages the file lost reads as zeros: not to be believed. */
  if (!rc && colo__load_acquire(colo__os_seg_lost(os)))
    rc = colo__err(COLO_ECORRUPT, "the file shrank while it was being opened");
  if (rc) {
    colo__os_seg_close(os);
    return rc;
  }
  colo__seg_t *s = seg_new(endpoint, 0, COLO__SIDE_CONNECTOR);
  if (!s) {
    colo__os_seg_close(os);
    return colo__err_nomem();
  }
  s->os = os;
  s->base = colo__os_seg_base(os);
  s->lay = lay;
  colo__os_seg_name_waits(os, lay.nonce);
  *out = s;
  return 0;
}

int colo__seg_claim(colo__seg_t *s) {
  /* A segment whose listener is gone will never be accepted: say so rather
   * than connect to nobody (and leave the claim for a listener that reclaims
   * the name). */
  if (colo__os_seg_probe(s->os, COLO__SIDE_LISTENER) == 0)
    return colo__err(COLO_EPEERDEAD, "its listener died and left the segment behind (a new listener reclaims it; %s)",
                     remover_hint());
  int rc = colo__os_seg_hold(s->os, COLO__SIDE_CONNECTOR);
  if (rc) return rc == COLO_EBUSY ? colo__err(COLO_EBUSY, "another process is connected to it") : rc;
  colo__seg_control_t *ctl = colo__seg_control(s);
  uint32_t expect = 0;
  /* pairs with: the acquire load of claim in colo_accept */
  if (!colo__cas_acq_rel(&ctl->claim, &expect, 1u)) {
    colo__os_seg_drop(s->os, COLO__SIDE_CONNECTOR);
    return colo__err(COLO_EBUSY, "it already served a connection");
  }
  s->held = 1;
  colo__os_wake(s->os, COLO__WAIT_CLAIM, &ctl->claim);
  return 0;
}

void colo__seg_close_side(colo__seg_t *s) {
  colo__seg_control_t *ctl = colo__seg_control(s);
  /* pairs with: the acquire loads of closed[] in the peer's liveness check */
  colo__store_seq_cst(&ctl->closed[s->side], 1u);
  /* The peer may sleep waiting for data on the ring I produce into (its tail
   * word), or for space in the ring I consume from (its head word). */
  int tx = s->side, rx = 1 - s->side;
  colo__os_wake(s->os, colo__wait_id(tx, 0), colo__lo32(&colo__seg_ring_ctrl(s, tx)->tail));
  colo__os_wake(s->os, colo__wait_id(rx, 1), colo__lo32(&colo__seg_ring_ctrl(s, rx)->head));
}

void colo__seg_unref(colo__seg_t *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) > 1) return;
  /* The last side to let go removes the name; a process that still maps the
   * segment keeps its mapping. Both sides may decide so at once: the unlink
   * checks the name still names this object. A handle that never held its
   * slot (a connect that failed) removes nothing. */
  if (s->held) {
    colo__os_seg_unmap(s->os); /* before the hold goes: a peer that sees us gone may remove the file */
    colo__os_seg_drop(s->os, s->side);
    if (colo__os_seg_probe(s->os, COLO__SIDE_LISTENER) == 0 && colo__os_seg_probe(s->os, COLO__SIDE_CONNECTOR) == 0)
      colo__os_seg_unlink(s->os);
  }
  colo__os_seg_close(s->os);
  colo__free(s);
}
