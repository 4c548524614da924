/*
 * os_stub_stream.c - PLACEHOLDER while shims/win32 is written: the stub shim's entries for
 * byte streams, each saying it is not implemented. Removed entry by entry as the real
 * ones land.
 */
#include <string.h>

#include "../shim.h"

#define STUB(entry) colo__err(COLO_ENOTSUP, "%s: not implemented on Windows yet", entry)

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

