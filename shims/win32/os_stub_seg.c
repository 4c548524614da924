/*
 * os_stub_seg.c - PLACEHOLDER while shims/win32 is written: the stub shim's entries for
 * everything but streams, each saying it is not implemented. Removed entry by entry as the real
 * ones land.
 */
#include <string.h>

#include "../shim.h"

#define STUB(entry) colo__err(COLO_ENOTSUP, "%s: not implemented on Windows yet", entry)

const colo__os_caps_t colo__os_caps = {
    .persistent_names = 0, .listable_names = 0, .xproc_addr_wait = 0, .rdv_kind = COLO__EP_UNIX};

/* ---- segments ---- */

int colo__os_seg_create(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, uint64_t size,
                        uint32_t perm, int hold_slot, const void *mark, size_t mark_len, int flags) {
  (void)kind, (void)name, (void)size, (void)perm, (void)hold_slot, (void)mark, (void)mark_len, (void)flags;
  *out = NULL;
  return STUB("colo__os_seg_create");
}

int colo__os_seg_open(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, int flags) {
  (void)kind, (void)name, (void)flags;
  *out = NULL;
  return STUB("colo__os_seg_open");
}

int colo__os_seg_create_anon(colo__os_seg_t **out, uint64_t size) {
  (void)size;
  *out = NULL;
  return STUB("colo__os_seg_create_anon");
}

void *colo__os_seg_base(const colo__os_seg_t *s) {
  (void)s;
  return NULL;
}

uint64_t colo__os_seg_size(const colo__os_seg_t *s) {
  (void)s;
  return 0;
}

int colo__os_seg_read(colo__os_seg_t *s, uint64_t off, void *buf, size_t len, size_t *got) {
  (void)s, (void)off, (void)buf, (void)len;
  *got = 0;
  return STUB("colo__os_seg_read");
}

static const _Atomic int never_lost = 0;

const _Atomic int *colo__os_seg_lost(const colo__os_seg_t *s) {
  (void)s;
  return &never_lost;
}

int colo__os_seg_check_owner(const colo__os_seg_t *s, const colo__os_peers_t *p) {
  (void)s, (void)p;
  return STUB("colo__os_seg_check_owner");
}

int colo__os_seg_hold(colo__os_seg_t *s, int slot) {
  (void)s, (void)slot;
  return STUB("colo__os_seg_hold");
}

void colo__os_seg_drop(colo__os_seg_t *s, int slot) { (void)s, (void)slot; }

int colo__os_seg_probe(colo__os_seg_t *s, int slot) {
  (void)s, (void)slot;
  return STUB("colo__os_seg_probe");
}

int colo__os_seg_unlink(colo__os_seg_t *s) {
  (void)s;
  return STUB("colo__os_seg_unlink");
}

void colo__os_seg_close(colo__os_seg_t *s) { (void)s; }

void colo__os_sigbus_install(void) {}

int colo__os_sigbus_repair(void *addr) {
  (void)addr;
  return 0;
}

/* ---- waiting ---- */

int colo__os_wait(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  (void)s, (void)wait_id, (void)word, (void)expect, (void)timeout_ns;
  return STUB("colo__os_wait");
}

void colo__os_wake(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word) { (void)s, (void)wait_id, (void)word; }

/* ---- segment administration ---- */

int colo__os_seg_stat(colo__ep_kind_t kind, const char *name, colo__os_stat_t *st) {
  (void)kind, (void)name;
  memset(st, 0, sizeof *st);
  return STUB("colo__os_seg_stat");
}

void colo__os_seg_fstat(const colo__os_seg_t *s, colo__os_stat_t *st) {
  (void)s;
  memset(st, 0, sizeof *st);
}

int colo__os_seg_remove(colo__ep_kind_t kind, const char *name) {
  (void)kind, (void)name;
  return STUB("colo__os_seg_remove");
}

int colo__os_seg_list(int (*cb)(const char *name, void *ctx), void *ctx) {
  (void)cb, (void)ctx;
  return STUB("colo__os_seg_list");
}
