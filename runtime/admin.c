/*
 * admin.c - looking at segments from outside: what `colo ls`, `colo rm` and
 * `colo gc` are made of. Nothing here attaches to a segment or takes a
 * presence slot; it opens the object read-only and probes the slots.
 */
#include <stdio.h>
#include <string.h>

#include "segment.h"

static int inspect(colo__ep_kind_t kind, const char *name, colo_seg_info_t *info, colo__os_seg_t **keep) {
  memset(info, 0, sizeof *info);
  colo__endpoint_t ep = {.kind = kind};
  snprintf(ep.name, sizeof ep.name, "%s", name);
  colo__endpoint_format(&ep, info->endpoint, sizeof info->endpoint);
  colo__os_stat_t st;
  int rc = colo__os_seg_stat(kind, name, &st);
  if (rc) return rc;
  colo__os_seg_t *os;
  rc = colo__os_seg_open(&os, kind, name, 0);
  if (rc) {
    /* Exists but cannot be looked into (typically another user's 0600 segment). */
    info->size = st.size, info->perm = st.perm, info->uid = st.uid, info->age_s = st.age_s;
    snprintf(info->owner, sizeof info->owner, "%s", st.owner);
    info->status = rc;
    snprintf(info->status_detail, sizeof info->status_detail, "%s", colo_last_error());
    info->listener = info->connector = COLO_PROC_UNKNOWN;
    return 0;
  }
  colo__seg_describe(os, &st, info);
  if (keep) *keep = os;
  else colo__os_seg_close(os);
  return 0;
}

int colo_seg_inspect(const char *endpoint, colo_seg_info_t *info) {
  if (!info) return colo__err(COLO_EINVAL, "colo_seg_inspect: info is NULL");
  colo__endpoint_t ep;
  int rc = colo__endpoint_parse(endpoint, &ep);
  return rc ? rc : inspect(ep.kind, ep.name, info, NULL);
}

typedef struct list_ctx {
  int (*cb)(const colo_seg_info_t *, void *);
  void *ctx;
} list_ctx_t;

static int list_one(const char *name, void *p) {
  list_ctx_t *lc = p;
  colo_seg_info_t info;
  if (inspect(COLO__EP_SHM, name, &info, NULL) == COLO_ENOENT) return 0; /* vanished meanwhile */
  return lc->cb(&info, lc->ctx);
}

int colo_seg_list(int (*cb)(const colo_seg_info_t *info, void *ctx), void *ctx) {
  if (!cb) return colo__err(COLO_EINVAL, "colo_seg_list: cb is NULL");
  list_ctx_t lc = {cb, ctx};
  return colo__os_seg_list(list_one, &lc);
}

int colo_seg_remove(const char *endpoint, int force) {
  colo__endpoint_t ep;
  int rc = colo__endpoint_parse(endpoint, &ep);
  if (rc) return rc;
  colo_seg_info_t info;
  colo__os_seg_t *os = NULL;
  rc = inspect(ep.kind, ep.name, &info, &os);
  if (rc) return rc;
  if (!force) {
    if (info.listener == COLO_PROC_ALIVE || info.connector == COLO_PROC_ALIVE)
      rc = colo__err(COLO_EBUSY, "%s is in use by a live process (--force removes the name anyway)", endpoint);
    else if (!os)
      rc = colo__err(info.status, "%s: cannot tell whether it is in use: %s", endpoint, info.status_detail);
    else if (!info.magic_ok)
      rc = colo__err(COLO_ECORRUPT, "%s is not a colo segment; refusing to remove it (--force removes it anyway)",
                     endpoint);
  }
  if (!rc) {
    if (os) rc = colo__os_seg_unlink(os); /* only if the name still names what we inspected */
    else rc = colo__os_seg_remove(ep.kind, ep.name);
  }
  colo__os_seg_close(os);
  return rc;
}
