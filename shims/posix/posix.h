/*
 * posix.h - private to shims/posix: the system calls a test build may
 * replace to make them fail on purpose (SQLite's aSyscall[] idea). Production
 * code calls them only through colo__posix_sys.
 */
#ifndef COLO_SHIMS_POSIX_H
#define COLO_SHIMS_POSIX_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../shim.h"

typedef struct colo__posix_sys {
  /* openat(2) of a segment (shm:// in /dev/shm, file:// anywhere); returns fd
   * or -1/errno */
  int (*openat)(int dirfd, const char *name, int flags, mode_t mode);
  /* posix_fallocate(3): returns 0 or an error number */
  int (*fallocate)(int fd, off_t off, off_t len);
  /* recvmsg(2) of a connection's bytes with the descriptors passed along
   * (colo__os_conn_read_seg); tests offer no room for them, so that the
   * kernel drops them as a security module forbidding them would */
  ssize_t (*recvmsg)(int fd, struct msghdr *m, int flags);
  /* sendmsg(2) of bytes with a segment attached (colo__os_conn_write_seg);
   * tests fail it as a security module that forbids passing descriptors
   * does (EPERM) */
  ssize_t (*sendmsg)(int fd, const struct msghdr *m, int flags);
} colo__posix_sys_t;

extern colo__posix_sys_t colo__posix_sys;

/* ---- paths (os_path.c) ---------------------------------------------------------- */

/* The safe walk to a file (walk.c, walk.h): colo__posix_open_dir,
 * colo__posix_open_leaf, colo__posix_make_parents, colo__posix_unlink,
 * colo__posix_rename_in_dir, colo__posix_type_name, colo__posix_link_trusted. */
#include "walk.h"

/* ---- what the library holds open (os_held.c) ---------------------------------------- */

/* An entry: a mapping (guarded against SIGBUS when guard is set) and the
 * descriptor fields of its owner, which an atfork child handler closes and
 * sets to -1 (the mapping is then replaced by private memory). NULL when out
 * of memory. */
typedef struct colo__posix_held colo__posix_held_t;
colo__posix_held_t *colo__posix_held_add(void *base, size_t len, int guard, int *fd0, int *fd1, int *fd2);
/* Removes the entry; after it returns no handler touches its mapping. */
void colo__posix_held_remove(colo__posix_held_t *h);
/* The entry's lost word (COLO__OS_LOST_*); a word that stays 0 for NULL. */
const _Atomic int *colo__posix_held_lost(const colo__posix_held_t *h);
/* The SIGBUS repair (async-signal-safe): 1 when addr was inside a guarded
 * mapping, which is now private zero pages and marked lost. */
int colo__posix_sigbus_repair(void *addr);

/* ---- users (os_peer.c) ------------------------------------------------------------ */

/* The error of a call on a handle that a child inherited across fork(). */
int colo__posix_forked_err(const char *what);

/* "alice (uid 1000)", or "uid 1000" for an unknown one. */
void colo__posix_user_desc(uid_t uid, char *buf, size_t cap);
/* 0 when uid is one the policy accepts, else COLO_EPERM with "what
 * <relation> USER; ..." as the detail (relation: "is owned by", "runs as"). */
int colo__posix_check_uid(const colo__os_peers_t *p, uid_t uid, const char *what, const char *relation);

/* errno -> COLO_E* with "what obj: strerror" as the detail ("what: strerror"
 * when obj is NULL). */
int colo__posix_err(int e, const char *what, const char *obj);

/* Byte streams: a socket (rfd == wfd), or a pair of FIFOs. */
struct colo__os_conn {
  int rfd, wfd;            /* -1 in a child after fork() */
  int is_unix;             /* an AF_UNIX socket: SO_PEERCRED tells who is there */
  uid_t pipe_peer;         /* pipe://: the owner of the FIFO pair (the client) */
  int has_pipe_peer;
  void *pending; /* pipe client until colo__os_conn_settle(): placeholder ends */
  colo__posix_held_t *held;
};
struct colo__os_lsock {
  int fd;                  /* the listening socket, or the request FIFO's read end; -1 after fork() */
  int keep_fd;             /* pipe: our own write end of the request FIFO, so it never reads EOF */
  int dir_fd;              /* pipe: the request FIFO's directory (O_PATH), where the pairs are */
  colo__ep_kind_t kind;
  char path[COLO__PATH_MAX + 1]; /* unix, pipe: the file we made */
  dev_t dev;                     /* its identity, to remove only our own */
  ino_t ino;
  colo__posix_held_t *held;
};

/* Takes ownership of the descriptors (closed on failure). */
colo__os_conn_t *colo__posix_conn_new(int rfd, int wfd);
int colo__posix_poll_ms(uint64_t timeout_ns);
/* pipe:// (os_pipe.c) */
/* A pipe client's connection before it settles: drops the placeholder ends
 * once the listener has taken (or dropped) the pair. */
void colo__posix_pipe_check_pending(colo__os_conn_t *c);
/* How often a pending pipe client looks for that while it waits. */
#define COLO__POSIX_PENDING_POLL_NS 5000000ull
int colo__posix_pipe_listen(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm);
int colo__posix_pipe_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns);
int colo__posix_pipe_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                             const colo__os_peers_t *peers);

/* Anonymous segments (os_seg.c): adopt a received descriptor (owned from
 * then on, closed on failure); the descriptor of a segment, for passing. */
int colo__posix_seg_from_fd(int fd, colo__os_seg_t **out);
int colo__posix_seg_fd(const colo__os_seg_t *s);

#define COLO__SHM_DIR "/dev/shm"
#define COLO__SHM_PREFIX "colo."

#endif
