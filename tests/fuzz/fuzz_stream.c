/*
 * fuzz_stream.c - the stream protocol's parsers against arbitrary bytes.
 *
 * One input is: a HELLO (the first 16 bytes, through colo__hello_parse),
 * then the rest as the byte stream a peer sends after the handshake, fed
 * through a socket pair into a real stream channel and drained with
 * colo_recv() until the channel ends. Whatever the bytes, every call must
 * return a documented code, deliver no more bytes than came in, and touch
 * no memory it should not (the sanitizers watch).
 *
 * Built two ways: with clang's libFuzzer (make test-fuzz), and as a plain
 * program that replays the saved corpus (part of make test; replay.c).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shims/posix/posix.h"
#include "chan.h"
#include "feed.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= COLO__HELLO_SIZE) {
    uint32_t max = 0;
    unsigned minor;
    int rc = colo__hello_parse(data, &max, &minor);
    check(rc == 0 || rc == COLO_EPROTO || rc == COLO_EVERSION);
    if (rc == 0) check(max <= COLO__MAX_FRAME_LIMIT);
    data += COLO__HELLO_SIZE, size -= COLO__HELLO_SIZE;
  }
  /* The parser alone, frame by frame. */
  size_t at = 0;
  for (;;) {
    uint32_t len;
    const char *why;
    colo__frame_kind_t k = colo__frame_parse(data + at, size - at, 2040, &len, &why);
    if (k != COLO__FRAME_DATA) break;
    check(len <= 2040 && COLO__FRAME_HDR + (size_t)len <= size - at);
    at += COLO__FRAME_HDR + len;
  }
  /* The whole receive path, over a socket pair. */
  int peer;
  colo__os_conn_t *conn = fuzz_feed(data, size, &peer);
  if (!conn) return 0;
  colo_opts_t o;
  colo_opts_init(&o);
  o.ring_capacity = 4096; /* payloads up to 2040 */
  colo_chan_t *ch;
  if (colo__stream_adopt(conn, &colo__unix_transport, "unix:///fuzz", &o, 2040, &ch) != 0) {
    colo__os_conn_close(conn);
    close(peer);
    return 0;
  }
  static uint8_t buf[4096];
  size_t delivered = 0;
  for (;;) {
    size_t n;
    int rc = colo_recv(ch, buf, sizeof buf, &n, 1000);
    if (rc == 0) {
      check(n <= 2040);
      delivered += COLO__FRAME_HDR + n;
      continue;
    }
    check(rc == COLO_EPROTO || rc == COLO_ECLOSED || rc == COLO_EPEERDEAD);
    break;
  }
  check(delivered <= size);
  colo_close(ch);
  close(peer);
  return 0;
}
