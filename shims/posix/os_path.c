/*
 * os_path.c - which paths this system can use as endpoints
 * (colo__os_path_check). The safe walk itself is walk.c.
 */
#include <string.h>

#include "../shim.h"

/* sun_path holds 108 bytes with the terminator. */
#define UNIX_PATH_MAX_LEN 107
/* A pipe:// path gets ".<16 hex>.c2s" appended for its pairs. */
#define PIPE_SUFFIX_ROOM 32

const char *colo__os_kind_how(colo__ep_kind_t kind) {
  switch (kind) {
  case COLO__EP_SHM: return "POSIX shared memory in /dev/shm";
  case COLO__EP_FILE: return "a file mapped MAP_SHARED";
  case COLO__EP_UNIX: return "a unix socket";
  case COLO__EP_PIPE: return "a pair of FIFOs per connection";
  case COLO__EP_TCP: return "TCP with TCP_NODELAY";
  case COLO__EP_COLO: return "a unix socket rendezvous";
  default: return "";
  }
}

int colo__os_path_check(colo__ep_kind_t kind, const char *path) {
  size_t len = strlen(path);
  int sock = kind == COLO__EP_UNIX || kind == COLO__EP_COLO;
  if (path[0] != '/')
    return colo__err(COLO_EINVAL, "an absolute path is needed (%s)",
                     kind == COLO__EP_FILE ? "file:///dir/seg" : kind == COLO__EP_PIPE ? "pipe:///dir/name"
                     : kind == COLO__EP_COLO                    ? "colo:///dir/sock"
                                                                : "unix:///dir/sock");
  if (sock && len > UNIX_PATH_MAX_LEN)
    return colo__err(COLO_EINVAL, "a socket path has at most %d bytes", UNIX_PATH_MAX_LEN);
  if (len > (kind == COLO__EP_PIPE ? COLO__PATH_MAX - PIPE_SUFFIX_ROOM : COLO__PATH_MAX))
    return colo__err(COLO_EINVAL, "path too long");
  if (path[len - 1] == '/') return colo__err(COLO_EINVAL, "the path names a directory");
  return 0;
}
