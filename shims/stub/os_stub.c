/*
 * os_stub.c - the OS layer of a platform colo does not support (yet): every
 * entry of shims/shim.h, each saying that it is not implemented.
 *
 * It exists to prove the contract complete: libcolo builds against it with
 * no other OS code (CMake -DCOLO_SHIM=stub, `make test-stub`), and
 * tests/test_os.c, which asks the shim for what each case needs first, then
 * skips every case. It is also where a port starts (iceoryx2 keeps a stub
 * platform for the same reason).
 *
 * Entries that return an error give COLO_ENOTSUP with the detail "ENTRY: not
 * implemented on this platform (stub shim)". Entries that return no error
 * give their documented "cannot" value: clocks 0, polls 0 (nothing ready), a
 * lost word that stays 0, random bytes all zero, a repair that repairs
 * nothing. No object is ever made, so the accessors of one are never called
 * with a real handle.
 */
#include <string.h>

#include "../shim.h"

#define STUB(entry) colo__err(COLO_ENOTSUP, "%s: not implemented on this platform (stub shim)", entry)

const colo__os_caps_t colo__os_caps = {
    .persistent_names = 0, .listable_names = 0, .xproc_addr_wait = 0, .rdv_kind = COLO__EP_UNIX,
    .pipe_is_file = 0, .perm_one_class = 0};

/* ---- paths ---- */

const char *colo__os_kind_how(colo__ep_kind_t kind) {
  (void)kind;
  return "nothing (stub shim)";
}

int colo__os_path_check(colo__ep_kind_t kind, const char *path) {
  (void)kind, (void)path;
  return STUB("colo__os_path_check");
}

/* ---- time ---- */

uint64_t colo__os_now_ns(void) { return 0; }
uint64_t colo__os_now_coarse_ns(void) { return 0; }
uint64_t colo__os_realtime_ns(void) { return 0; }
void colo__os_sleep_ns(uint64_t ns) { (void)ns; }
void colo__os_random(void *buf, size_t len) { memset(buf, 0, len); }

/* ---- who may be on the other side ---- */

int colo__os_peers_parse(const char *spec, colo__os_peers_t *out) {
  (void)spec;
  memset(out, 0, sizeof *out);
  return STUB("colo__os_peers_parse");
}

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
void colo__os_seg_unmap(colo__os_seg_t *s) { (void)s; }

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

void colo__os_seg_name_waits(colo__os_seg_t *s, uint64_t key) { (void)s, (void)key; }
const char *colo__os_seg_wait_how(const colo__os_seg_t *s) {
  (void)s;
  return "none (stub shim)";
}

/* ---- byte streams ---- */

int colo__os_listen(colo__os_lsock_t **out, const colo__endpoint_t *ep, uint32_t perm, colo__endpoint_t *actual) {
  (void)perm;
  *out = NULL;
  *actual = *ep;
  return STUB("colo__os_listen");
}

int colo__os_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns) {
  (void)l, (void)timeout_ns;
  *out = NULL;
  return STUB("colo__os_accept");
}

void colo__os_listen_close(colo__os_lsock_t *l) { (void)l; }

int colo__os_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                     const colo__os_peers_t *peers) {
  (void)ep, (void)timeout_ns, (void)peers;
  *out = NULL;
  return STUB("colo__os_connect");
}

int colo__os_conn_read(colo__os_conn_t *c, void *buf, size_t n, size_t *got) {
  (void)c, (void)buf, (void)n;
  *got = 0;
  return STUB("colo__os_conn_read");
}

int colo__os_conn_write(colo__os_conn_t *c, const void *buf, size_t n, size_t *put) {
  (void)c, (void)buf, (void)n;
  *put = 0;
  return STUB("colo__os_conn_write");
}

int colo__os_conn_poll(colo__os_conn_t *c, int want, uint64_t timeout_ns) {
  (void)c, (void)want, (void)timeout_ns;
  return 0;
}

int colo__os_conn_write_seg(colo__os_conn_t *c, const void *buf, size_t n, size_t *put, colo__os_seg_t *seg) {
  (void)c, (void)buf, (void)n, (void)seg;
  *put = 0;
  return STUB("colo__os_conn_write_seg");
}

int colo__os_conn_read_seg(colo__os_conn_t *c, void *buf, size_t n, size_t *got, colo__os_seg_t **seg,
                           int *seg_err) {
  (void)c, (void)buf, (void)n;
  *got = 0;
  *seg = NULL;
  *seg_err = 0;
  return STUB("colo__os_conn_read_seg");
}

int colo__os_conn_check_peer(colo__os_conn_t *c, const colo__os_peers_t *p, const char *relation) {
  (void)c, (void)p, (void)relation;
  return STUB("colo__os_conn_check_peer");
}

int colo__os_conn_peer_is_self_or_root(colo__os_conn_t *c) {
  (void)c;
  return 0;
}

void colo__os_conn_settle(colo__os_conn_t *c) { (void)c; }

int colo__os_poll_many(colo__os_pollitem_t *items, size_t n, uint64_t timeout_ns) {
  (void)timeout_ns;
  for (size_t i = 0; i < n; i++) items[i].ready = 0;
  return 0;
}

int colo__os_conn_can_pass_seg(const colo__os_conn_t *c) {
  (void)c;
  return 0;
}

int colo__os_conn_handle(const colo__os_conn_t *c, colo_os_handle_t *out) {
  (void)c, (void)out;
  return STUB("colo__os_conn_handle");
}

void colo__os_conn_close(colo__os_conn_t *c) { (void)c; }

/* ---- segment administration ---- */

int colo__os_seg_stat(colo__ep_kind_t kind, const char *name, int flags, colo__os_stat_t *st) {
  (void)kind, (void)name, (void)flags;
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
