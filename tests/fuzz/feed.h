/*
 * feed.h - what both fuzz targets do first: the input bytes become what a
 * peer sent on a connection that then ends.
 */
#ifndef COLO_FUZZ_FEED_H
#define COLO_FUZZ_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shims/posix/posix.h"

/* A connection whose peer (*peer_fd, for the caller to close) wrote data and
 * shut its sending side. Inputs stay far below a socket's buffer, so one
 * write takes them all. NULL when the system refused. */
static inline colo__os_conn_t *fuzz_feed(const uint8_t *data, size_t size, int *peer_fd) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return NULL;
  if (size && write(sv[1], data, size) != (ssize_t)size) {
    close(sv[0]), close(sv[1]);
    return NULL;
  }
  shutdown(sv[1], SHUT_WR);
  colo__os_conn_t *conn = colo__posix_conn_new(sv[0], sv[0]);
  if (!conn) close(sv[1]);
  else *peer_fd = sv[1];
  return conn;
}

#endif
