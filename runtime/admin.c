/*
 * admin.c - looking at segments from outside: what `colo ls`, `colo rm` and
 * `colo gc` are made of. Nothing here attaches to a segment, maps it or takes
 * a presence slot: it opens the object read-only without blocking, reads its
 * header and probes the slots (segment.c, colo__seg_inspect).
 */
#include <stdio.h>
#include <string.h>

#include "chan.h"
#include "segment.h"

/* The endpoint of a segment: shm:// or file://. */
static int parse_seg_endpoint(const char *endpoint, colo__endpoint_t *ep) {
  int rc = colo__endpoint_parse(endpoint, ep);
  if (!rc && !colo__transport_of(ep->kind)->segment)
    rc = colo__err(COLO_EINVAL, "%s: only shm:// and file:// endpoints have segments", endpoint);
  return rc;
}

int colo_seg_inspect(const char *endpoint, colo_seg_info_t *info) {
  if (!info) return colo__err(COLO_EINVAL, "colo_seg_inspect: info is NULL");
  if (info->struct_size < sizeof *info)
    return colo__err(COLO_EINVAL, "colo_seg_inspect: info->struct_size is %u; set it to sizeof(colo_seg_info_t) first",
                     (unsigned)info->struct_size);
  uint32_t size = info->struct_size;
  colo__endpoint_t ep;
  int rc = parse_seg_endpoint(endpoint, &ep);
  if (rc) return rc;
  colo_seg_info_t *full = colo__calloc(1, sizeof *full);
  if (!full) return colo__err_nomem();
  rc = colo__seg_inspect(&ep, 0, full, NULL);
  if (!rc) {
    size_t n = size < sizeof *full ? size : sizeof *full;
    memcpy(info, full, n);
    info->struct_size = (uint32_t)n;
  }
  colo__free(full);
  return colo__with_endpoint(rc, endpoint);
}

typedef struct list_ctx {
  int (*cb)(const colo_seg_info_t *, void *);
  void *ctx;
  colo__endpoint_t ep;
  colo_seg_info_t info;
} list_ctx_t;

static int list_one(const char *name, void *p) {
  list_ctx_t *lc = p;
  colo_seg_info_t *info = &lc->info;
  char endpoint[COLO__PATH_MAX + 16];
  int n = snprintf(endpoint, sizeof endpoint, "shm://%s", name);
  if (n > 0 && (size_t)n < sizeof endpoint && colo__endpoint_parse(endpoint, &lc->ep) == 0) {
    if (colo__seg_inspect(&lc->ep, 0, info, NULL) == COLO_ENOENT) return 0; /* vanished meanwhile */
    return lc->cb(info, lc->ctx);
  }
  /* A name colo cannot make (another user's file with our prefix): shown as
   * it is, opened by nobody, never removed but by hand. */
  memset(info, 0, sizeof *info);
  info->struct_size = sizeof *info;
  snprintf(info->endpoint, sizeof info->endpoint, "shm://%s", name);
  colo__os_stat_t st;
  memset(&st, 0, sizeof st);
  colo__os_seg_stat(COLO__EP_SHM, name, 0, &st); /* may fail for such a name: the fields stay 0 */
  info->size = st.size, info->perm = st.perm, info->uid = st.uid, info->age_s = st.age_s;
  snprintf(info->owner, sizeof info->owner, "%s", st.owner);
  info->status = COLO_EINVAL;
  snprintf(info->status_detail, sizeof info->status_detail,
           "not a name colo makes (1 to %d of letters, digits, '.', '_', '-'): left alone", COLO__NAME_MAX);
  info->listener = info->connector = COLO_PROC_NONE;
  return lc->cb(info, lc->ctx);
}

int colo_seg_list(int (*cb)(const colo_seg_info_t *info, void *ctx), void *ctx) {
  if (!cb) return colo__err(COLO_EINVAL, "colo_seg_list: cb is NULL");
  if (!colo__os_caps.listable_names)
    return colo__err(COLO_ENOTSUP, "this system's shared-memory names cannot be listed (they vanish with their last "
                     "handle, so nothing is ever left to collect); name the segment: colo info shm://NAME");
  list_ctx_t *lc = colo__malloc(sizeof *lc);
  if (!lc) return colo__err_nomem();
  lc->cb = cb, lc->ctx = ctx;
  int rc = colo__os_seg_list(list_one, lc);
  colo__free(lc);
  return rc;
}

int colo_seg_remove(const char *endpoint, int force) {
  colo__endpoint_t ep;
  int rc = parse_seg_endpoint(endpoint, &ep);
  if (rc) return rc;
  if (ep.kind == COLO__EP_SHM && !colo__os_caps.persistent_names)
    return colo__err(COLO_ENOTSUP, "%s: nothing to remove: on this system a shm:// segment vanishes with the last "
                     "process that has it open", endpoint);
  colo_seg_info_t *info = colo__calloc(1, sizeof *info);
  if (!info) return colo__err_nomem();
  colo__os_seg_t *os = NULL;
  rc = colo__seg_inspect(&ep, 0, info, &os);
  if (!rc && !force) rc = colo__seg_verdict_err(info, colo__seg_verdict(info), " (--force removes the name anyway)");
  if (!rc) {
    if (os) rc = colo__os_seg_unlink(os); /* only if the name still names what we inspected */
    else rc = colo__os_seg_remove(ep.kind, ep.name);
  }
  colo__os_seg_close(os);
  colo__free(info);
  return colo__with_endpoint(rc, endpoint);
}
