/*
 * fuzz_rdv.c - the colo:// rendezvous handshake against arbitrary bytes.
 *
 * One input is: one byte choosing the side under test, then the bytes its
 * peer sends. Even: a client (colo__rdv_client) reads them as its listener's
 * records; odd: a listener (colo__rdv_serve) reads them as its client's.
 * They go through a socket pair that then ends, so every handshake ends; a
 * channel that comes out of it is drained. Before that, the record parser
 * alone walks the bytes. Whatever the bytes, every call must return a
 * documented code and touch no memory it should not (the sanitizers watch).
 *
 * Built two ways, as fuzz_stream.c is: libFuzzer (make test-fuzz), and a
 * replay of tests/fuzz/corpus-rdv in make test.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shims/posix/posix.h"
#include "../../shims/shim.h"
#include "chan.h"
#include "feed.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static void parse_all(const uint8_t *p, size_t size) {
  size_t at = 0, n;
  while (size - at >= COLO__RDV_HDR) {
    int rc = colo__rdv_header(p + at, &n);
    check(rc == 0 || rc == COLO_EPROTO);
    if (rc) return;
    check(n <= COLO__RDV_MAX_BODY);
    if (n > size - at - COLO__RDV_HDR) return;
    colo__rdv_rec_t r;
    rc = colo__rdv_parse(p + at, COLO__RDV_HDR + n, &r);
    check(rc == 0 || rc == COLO_EPROTO || rc == COLO_EVERSION);
    if (rc == 0) {
      check(r.type >= COLO__RDV_REQ && r.type <= COLO__RDV_DONE);
      check(r.rung <= COLO__RUNG_COUNT && r.max_rx <= COLO__MAX_FRAME_LIMIT);
      for (size_t i = 0; r.text[i]; i++) check(r.text[i] >= 0x20 && r.text[i] < 0x7f);
      /* What we write, we read back the same. */
      uint8_t again[COLO__RDV_HDR + COLO__RDV_MAX_BODY];
      colo__rdv_rec_t r2;
      size_t len = colo__rdv_write(again, &r);
      check(colo__rdv_parse(again, len, &r2) == 0 && memcmp(&r, &r2, sizeof r) == 0);
    }
    at += COLO__RDV_HDR + n;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int listener = data[0] & 1;
  data++, size--;
  parse_all(data, size);
  int peer;
  colo__os_conn_t *conn = fuzz_feed(data, size, &peer);
  if (!conn) return 0;
  colo_opts_t o;
  colo_opts_init(&o);
  o.ring_capacity = 4096;
  colo_chan_t *ch = NULL;
  int rc;
  if (listener) {
    rc = colo__rdv_serve(conn, "colo:///fuzz", &o, &ch);
  } else {
    colo__dial_t d = {.timeout_ms = 1000, .deadline = colo__os_now_ns() + 1000000000ull};
    rc = colo__rdv_client(conn, "colo:///fuzz", &o, &d, &ch);
  }
  check(rc == 0 || rc == COLO_EPROTO || rc == COLO_EVERSION || rc == COLO_EPEERDEAD || rc == COLO_ENOTSUP ||
        rc == COLO_ETIMEDOUT);
  if (rc == 0) {
    static uint8_t buf[4096];
    size_t n;
    while ((rc = colo_recv(ch, buf, sizeof buf, &n, 1000)) == 0) check(n <= 2040);
    check(rc == COLO_EPROTO || rc == COLO_ECLOSED || rc == COLO_EPEERDEAD);
    colo_close(ch);
  }
  close(peer);
  return 0;
}
