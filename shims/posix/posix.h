/*
 * posix.h - private to shims/posix: the system calls a test build may
 * replace to make them fail on purpose (SQLite's aSyscall[] idea). Production
 * code calls them only through colo__posix_sys.
 */
#ifndef COLO_SHIMS_POSIX_H
#define COLO_SHIMS_POSIX_H

#include <stdint.h>
#include <sys/types.h>

#include "../shim.h"

typedef struct colo__posix_sys {
  /* open(2) / shm_open(3) with O_CREAT semantics as given; return fd or -1/errno */
  int (*open)(const char *path, int flags, mode_t mode);
  int (*shm_open)(const char *name, int flags, mode_t mode);
  /* posix_fallocate(3): returns 0 or an error number */
  int (*fallocate)(int fd, off_t off, off_t len);
} colo__posix_sys_t;

extern colo__posix_sys_t colo__posix_sys;

/* Creates the missing parent directories of path (mode 0777 less the umask),
 * as mkdir -p would. */
int colo__posix_make_parents(const char *path);

/* errno -> COLO_E* with "what obj: strerror" as the detail ("what: strerror"
 * when obj is NULL). */
int colo__posix_err(int e, const char *what, const char *obj);

/* Byte streams: a socket (rfd == wfd), or a pair of FIFOs. */
struct colo__os_conn {
  int rfd, wfd;
  void *pending; /* pipe client until colo__os_conn_settle(): placeholder ends */
};
struct colo__os_lsock {
  int fd;                  /* the listening socket, or the request FIFO's read end */
  int keep_fd;             /* pipe: our own write end of the request FIFO, so it never reads EOF */
  colo__ep_kind_t kind;
  char path[COLO__PATH_MAX + 1]; /* unix, pipe: the file we made */
  dev_t dev;                     /* its identity, to remove only our own */
  ino_t ino;
};

/* Takes ownership of the descriptors (closed on failure). */
colo__os_conn_t *colo__posix_conn_new(int rfd, int wfd);
int colo__posix_poll_ms(uint64_t timeout_ns);
/* pipe:// (os_pipe.c) */
int colo__posix_pipe_listen(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm);
int colo__posix_pipe_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns);
int colo__posix_pipe_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns);

/* Anonymous segments (os_seg.c): adopt a received descriptor (owned from
 * then on, closed on failure); the descriptor of a segment, for passing. */
int colo__posix_seg_from_fd(int fd, colo__os_seg_t **out);
int colo__posix_seg_fd(const colo__os_seg_t *s);

#define COLO__SHM_DIR "/dev/shm"
#define COLO__SHM_PREFIX "colo."

#endif
