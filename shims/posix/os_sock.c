/*
 * os_sock.c - byte streams over AF_UNIX and TCP sockets (shim.h).
 *
 * Every descriptor is non-blocking and close-on-exec; waiting is poll(2).
 * Writes use MSG_NOSIGNAL, so a vanished peer is an error code, not SIGPIPE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../shim.h"
#include "posix.h"

/* poll(2) timeout for a ns timeout: rounded up, capped, -1 for no limit. */
int colo__posix_poll_ms(uint64_t timeout_ns) {
  if (timeout_ns == UINT64_MAX) return -1;
  uint64_t ms = (timeout_ns + 999999u) / 1000000u;
  return ms > 3600000u ? 3600000 : (int)ms;
}

/* The address of the socket file at path, reached through its directory
 * opened by the safe walk (*dirfd, O_PATH; *leaf in path): the magic link
 * /proc/self/fd/N/LEAF names that very directory, so no link on the way is
 * followed again after the walk checked it. (Without /proc, or when that
 * name is too long, the path itself, which the walk just checked.) */
static int unix_addr(const char *path, struct sockaddr_un *sa, int *dirfd, const char **leaf) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len >= sizeof sa->sun_path) return colo__err(COLO_EINVAL, "%s: socket path too long", path);
  int rc = colo__posix_open_dir(path, 0, dirfd, leaf);
  if (rc) return rc;
  int n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", *dirfd, *leaf);
  struct stat st;
  if (n < 0 || (size_t)n >= sizeof sa->sun_path || stat("/proc/self/fd", &st) != 0) memcpy(sa->sun_path, path, len + 1);
  return 0;
}

static int resolve(const colo__endpoint_t *ep, int passive, struct addrinfo **res) {
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)ep->port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  int rc = getaddrinfo(ep->name, port, &hints, res);
  if (rc == EAI_SYSTEM) return colo__posix_err(errno, "cannot resolve", ep->name);
  if (rc) return colo__err(rc == EAI_NONAME ? COLO_ENOENT : COLO_EIO, "cannot resolve %s: %s", ep->name,
                           gai_strerror(rc));
  return 0;
}

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

colo__os_conn_t *colo__posix_conn_new(int rfd, int wfd) {
  colo__os_conn_t *c = colo__calloc(1, sizeof *c);
  if (c) {
    c->rfd = rfd;
    c->wfd = wfd;
    /* A child after fork() must not keep the parent's end open. */
    c->held = colo__posix_held_add(NULL, 0, 0, &c->rfd, &c->wfd, NULL);
  }
  if (!c || !c->held) {
    colo__free(c);
    close(rfd);
    if (wfd != rfd) close(wfd);
    return NULL;
  }
  return c;
}

static colo__os_conn_t *conn_new(int fd, int is_unix) {
  colo__os_conn_t *c = colo__posix_conn_new(fd, fd);
  if (c) c->is_unix = is_unix;
  return c;
}

/* ---- listening ------------------------------------------------------------------ */

/* The socket file leaf in dirfd itself, never a link: an O_PATH descriptor
 * of it (*pfd) and the address /proc/self/fd/N that names exactly that
 * inode, so that nothing swapped in at the name afterwards is reached. */
static int sock_file(int dirfd, const char *leaf, const char *path, int *pfd, struct stat *st, struct sockaddr_un *sa) {
  *pfd = openat(dirfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (*pfd < 0) return colo__posix_err(errno, "cannot open", path);
  int rc = fstat(*pfd, st) != 0 ? colo__posix_err(errno, "cannot stat", path)
           : S_ISLNK(st->st_mode) ? colo__err(COLO_EINVAL, "%s is a symbolic link (colo never follows one)", path)
           : !S_ISSOCK(st->st_mode) ? colo__err(COLO_EINVAL, "%s is not a socket (%s)", path, colo__posix_type_name(st->st_mode))
                                    : 0;
  if (!rc && sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d", *pfd);
    struct stat pst;
    if (stat(sa->sun_path, &pst) != 0 || pst.st_ino != st->st_ino) rc = colo__err(COLO_ENOTSUP, "%s: /proc is needed to reach a socket file without following links", path);
  }
  if (rc) {
    close(*pfd);
    *pfd = -1;
  }
  return rc;
}

/* 1 when a process accepts connections on the socket file (its address).
 * Without blocking: a listener whose queue is full (EAGAIN) is alive, and
 * cannot hold us up by never accepting. */
static int unix_alive(const struct sockaddr_un *sa) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 1; /* cannot tell: assume alive, replace nothing */
  int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
  int e = errno;
  close(fd);
  return rc == 0 || (e != ECONNREFUSED && e != ENOENT);
}

/* 1 when the socket file at leaf is a dead listener's: it refuses
 * connections, and keeps refusing for a while, since a live listener
 * between its bind and its listen refuses too (for microseconds). */
static int unix_dead(int dirfd, const char *leaf, const char *path, uid_t *owner, struct stat *seen) {
  int pfd;
  struct stat st;
  struct sockaddr_un sa;
  *owner = (uid_t)-1;
  if (sock_file(dirfd, leaf, path, &pfd, &st, &sa) != 0) return 0;
  *owner = st.st_uid;
  *seen = st;
  int dead = 1;
  for (int i = 0; i < 5 && dead; i++) {
    if (unix_alive(&sa)) dead = 0;
    else if (i < 4) colo__os_sleep_ns(10000000u);
  }
  close(pfd);
  return dead;
}

static int same_inode(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Puts this listener's socket (linked at tmp) at leaf in place of the dead
 * inode found there: the two names are exchanged atomically, and what came
 * out of leaf is looked at under tmp. The dead one is removed: 1, leaf is
 * ours. Anything else (another listener replaced the dead one first) is
 * exchanged back at once: 0, leaf is as it was. No name is ever left
 * without its socket, and only the dead inode or this listener's own is
 * ever removed, however many listeners race. Where the filesystem cannot
 * exchange names, the dead name is moved to a private grave and looked at
 * there (put back, unless another took the name meanwhile).
 */
static int swap_out_dead(int dirfd, const char *tmp, const char *leaf, const struct stat *dead) {
  struct stat st;
  if (renameat2(dirfd, tmp, dirfd, leaf, RENAME_EXCHANGE) == 0) {
    if (fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&st, dead)) {
      unlinkat(dirfd, tmp, 0);
      return 1;
    }
    renameat2(dirfd, tmp, dirfd, leaf, RENAME_EXCHANGE);
    return 0;
  }
  uint32_t r;
  colo__os_random(&r, sizeof r);
  char grave[48];
  snprintf(grave, sizeof grave, ".colo-dead.%ld.%08x", (long)getpid(), (unsigned)r);
  if (renameat(dirfd, leaf, dirfd, grave) != 0) return 0;
  if (fstatat(dirfd, grave, &st, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&st, dead)) {
    unlinkat(dirfd, grave, 0);
    return 0; /* the name is free: the caller links it */
  }
  if (renameat2(dirfd, grave, dirfd, leaf, RENAME_NOREPLACE) != 0) unlinkat(dirfd, grave, 0);
  return 0;
}

/* Why the name leaf cannot be ours (it exists): COLO_EEXIST with who. */
static int name_taken(int dirfd, const char *leaf, const char *path, uid_t owner) {
  struct stat st;
  int there = fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (there && !S_ISSOCK(st.st_mode))
    return colo__err(COLO_EEXIST, "%s exists and is not a socket (%s)", path, colo__posix_type_name(st.st_mode));
  char who[96] = "?";
  colo__posix_user_desc(there ? st.st_uid : owner, who, sizeof who);
  return colo__err(COLO_EEXIST, "%s exists and a live process listens on it (the file is of %s)", path, who);
}

/* 0 when the socket file at address self is the listening socket lfd's
 * own: a connection made to it arrives in lfd's queue, from this process. */
static int proves_ours(int lfd, const char *self, const char *path) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", self);
  int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c < 0) return colo__posix_err(errno, "cannot create a socket for", path);
  int ok = 0;
  if (connect(c, (struct sockaddr *)&sa, sizeof sa) == 0) {
    /* A few tries: other clients may know the fresh name; ours is from this pid. */
    for (int i = 0; i < 8 && !ok; i++) {
      int a = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (a < 0) break;
      struct ucred cr;
      socklen_t cl = sizeof cr;
      ok = getsockopt(a, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid == getpid();
      close(a);
    }
  }
  close(c);
  return ok ? 0 : colo__err(COLO_EPERM, "%s: the socket file made for it was replaced by another process before "
                            "it got its name (another user may write its directory)", path);
}


/* 1 with *seen when leaf is a socket file nobody listens on (a dead
 * listener's); 0 when there is none, or a live one, or something else. */
static int dead_socket_at(int dirfd, const char *leaf, const char *path, uid_t *owner, struct stat *seen) {
  struct stat lst;
  *owner = (uid_t)-1;
  /* Never anything that is not a socket. */
  return fstatat(dirfd, leaf, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(lst.st_mode) &&
         unix_dead(dirfd, leaf, path, owner, seen);
}

/*
 * The socket is bound at a fresh name in the directory, listens, gets its
 * mode, and only then takes the endpoint's name with linkat(), which fails
 * when the name exists: so the name is never a socket that is bound but not
 * yet listening (which would look dead to a second listener starting at the
 * same moment), and two listeners starting at once never both win. A file
 * there that refuses connections (and keeps refusing: an older listener
 * binds at the name itself) is a dead listener's and is replaced once, only
 * while it is the inode that was found dead. That check (about 40 ms) runs
 * before the fresh name exists, which then lives for microseconds: a
 * process killed in between leaves a .colo-bind.PID.HEX socket (never
 * reused: the next name is random).
 */
static int listen_unix(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm) {
  struct sockaddr_un sa;
  const char *leaf;
  int rc = unix_addr(ep->name, &sa, &l->dir_fd, &leaf);
  if (rc) return rc;
  uid_t owner;
  struct stat dead;
  memset(&dead, 0, sizeof dead);
  int found_dead = dead_socket_at(l->dir_fd, leaf, ep->name, &owner, &dead);
  uint32_t r;
  colo__os_random(&r, sizeof r);
  char tmp[48];
  snprintf(tmp, sizeof tmp, ".colo-bind.%ld.%08x", (long)getpid(), (unsigned)r);
  struct sockaddr_un tsa;
  memset(&tsa, 0, sizeof tsa);
  tsa.sun_family = AF_UNIX;
  int n = snprintf(tsa.sun_path, sizeof tsa.sun_path, "/proc/self/fd/%d/%s", l->dir_fd, tmp);
  if (n < 0 || (size_t)n >= sizeof tsa.sun_path || strncmp(sa.sun_path, "/proc/", 6) != 0)
    return colo__err(COLO_ENOTSUP, "%s: /proc is needed to bind a socket without following links", ep->name);
  l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l->fd < 0) return colo__posix_err(errno, "cannot create a socket for", ep->name);
  if (bind(l->fd, (struct sockaddr *)&tsa, sizeof tsa) != 0) return colo__posix_err(errno, "cannot bind", ep->name);
  int pfd = -1, have_st = 0;
  struct stat st;
  char self[64];
  memset(&st, 0, sizeof st);
  if (listen(l->fd, 128) != 0) {
    rc = colo__posix_err(errno, "cannot listen on", ep->name);
    goto out;
  }
  /* From here on the socket file is one descriptor (O_PATH), proven to be
   * this listener's own: another user who may write the directory could
   * have put something else at the fresh name. The mode is set and the name
   * linked through that descriptor, never through a name. */
  if ((rc = sock_file(l->dir_fd, tmp, ep->name, &pfd, &st, NULL)) != 0) goto out;
  have_st = 1;
  snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
  if ((rc = proves_ours(l->fd, self, ep->name)) != 0) goto out;
  if (chmod(self, perm) != 0) {
    rc = colo__posix_err(errno, "cannot set the mode of", ep->name);
    goto out;
  }
  for (int attempt = 0;; attempt++) {
    if (linkat(AT_FDCWD, self, l->dir_fd, leaf, AT_SYMLINK_FOLLOW) == 0) break;
    int e = errno;
    if (e != EEXIST) {
      rc = colo__posix_err(e, "cannot bind", ep->name);
      goto out;
    }
    if (attempt == 0 && found_dead) {
      if (swap_out_dead(l->dir_fd, tmp, leaf, &dead)) break; /* leaf is ours now */
      continue;
    }
    rc = name_taken(l->dir_fd, leaf, ep->name, owner);
    goto out;
  }
  l->dev = st.st_dev, l->ino = st.st_ino;
  snprintf(l->path, sizeof l->path, "%s", ep->name);
out:
  if (pfd >= 0) close(pfd);
  /* The fresh name, while it is still ours. */
  struct stat tst;
  if (!have_st ||
      (fstatat(l->dir_fd, tmp, &tst, AT_SYMLINK_NOFOLLOW) == 0 && tst.st_dev == st.st_dev && tst.st_ino == st.st_ino))
    unlinkat(l->dir_fd, tmp, 0);
  return rc;
}

static int listen_tcp(colo__os_lsock_t *l, const colo__endpoint_t *ep, colo__endpoint_t *actual) {
  struct addrinfo *res;
  int rc = resolve(ep, 1, &res);
  if (rc) return rc;
  int e = 0;
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      e = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) {
      l->fd = fd;
      break;
    }
    e = errno;
    close(fd);
  }
  freeaddrinfo(res);
  if (l->fd < 0) {
    char what[300];
    snprintf(what, sizeof what, "%.255s port %u", ep->name, (unsigned)ep->port);
    return e == EADDRINUSE ? colo__err(COLO_EEXIST, "%s is taken by another listener", what)
                           : colo__posix_err(e, "cannot listen on", what);
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0)
    actual->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

int colo__os_listen(colo__os_lsock_t **out, const colo__endpoint_t *ep, uint32_t perm, colo__endpoint_t *actual) {
  colo__os_lsock_t *l = colo__calloc(1, sizeof *l);
  if (!l) return colo__err_nomem();
  l->fd = l->keep_fd = l->dir_fd = -1;
  l->kind = ep->kind;
  *actual = *ep;
  int rc = ep->kind == COLO__EP_UNIX   ? listen_unix(l, ep, perm)
           : ep->kind == COLO__EP_PIPE ? colo__posix_pipe_listen(l, ep, perm)
                                       : listen_tcp(l, ep, actual);
  if (!rc && !(l->held = colo__posix_held_add(NULL, 0, 0, &l->fd, &l->keep_fd, &l->dir_fd))) {
    colo__os_listen_close(l);
    return colo__err_nomem();
  }
  if (rc) {
    if (l->fd >= 0) close(l->fd);
    if (l->keep_fd >= 0) close(l->keep_fd);
    if (l->dir_fd >= 0) close(l->dir_fd);
    colo__free(l);
    return rc;
  }
  *out = l;
  return 0;
}

int colo__os_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns) {
  if (l->fd < 0) return colo__posix_forked_err(l->path[0] ? l->path : "the listener");
  if (l->kind == COLO__EP_PIPE) return colo__posix_pipe_accept(l, out, timeout_ns);
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  for (;;) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (l->kind == COLO__EP_TCP) set_nodelay(fd);
      *out = conn_new(fd, l->kind != COLO__EP_TCP);
      return *out ? 0 : colo__err_nomem();
    }
    int e = errno;
    if (e == EINTR || e == ECONNABORTED) continue;
    if (e != EAGAIN && e != EWOULDBLOCK) return colo__posix_err(e, "accept on", l->path[0] ? l->path : "tcp");
    if (timeout_ns == 0) return COLO_EAGAIN;
    uint64_t now = colo__os_now_ns();
    if (now >= deadline) return COLO_ETIMEDOUT;
    struct pollfd p = {l->fd, POLLIN, 0};
    poll(&p, 1, colo__posix_poll_ms(deadline == UINT64_MAX ? UINT64_MAX : deadline - now));
  }
}

void colo__os_listen_close(colo__os_lsock_t *l) {
  if (!l) return;
  colo__posix_held_remove(l->held);
  struct stat st;
  /* (A child after fork() has no descriptor, and leaves its parent's file.) */
  const char *leaf = l->path[0] ? strrchr(l->path, '/') + 1 : NULL;
  if (l->fd >= 0 && leaf && l->dir_fd >= 0 && fstatat(l->dir_fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == l->dev && st.st_ino == l->ino)
    unlinkat(l->dir_fd, leaf, 0);
  if (l->fd >= 0) close(l->fd);
  if (l->keep_fd >= 0) close(l->keep_fd);
  if (l->dir_fd >= 0) close(l->dir_fd);
  colo__free(l);
}

/* ---- connecting ------------------------------------------------------------------ */

/* Non-blocking connect of fd to sa, finished within deadline. */
static int connect_wait(int fd, const struct sockaddr *sa, socklen_t len, uint64_t deadline, const char *name) {
  if (connect(fd, sa, len) == 0) return 0;
  int e = errno;
  /* An AF_UNIX connect never is in progress: EAGAIN is a full accept queue,
   * a busy listener, not a connection on its way. */
  if (e == EAGAIN && sa->sa_family == AF_UNIX)
    return colo__err(COLO_EAGAIN, "%s: the listener's queue of connections is full (it is busy)", name);
  if (e != EINPROGRESS) return colo__posix_err(e, "cannot connect to", name);
  for (;;) {
    uint64_t now = colo__os_now_ns();
    struct pollfd p = {fd, POLLOUT, 0};
    int r = poll(&p, 1, colo__posix_poll_ms(deadline == UINT64_MAX ? UINT64_MAX : now >= deadline ? 0 : deadline - now));
    if (r > 0) break;
    if (colo__os_now_ns() >= deadline) return colo__err(COLO_ETIMEDOUT, "connecting to %s timed out", name);
  }
  int err = 0;
  socklen_t el = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
  return err ? colo__posix_err(err, "cannot connect to", name) : 0;
}

int colo__os_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                     const colo__os_peers_t *peers) {
  if (ep->kind == COLO__EP_PIPE) return colo__posix_pipe_connect(out, ep, timeout_ns, peers);
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  if (ep->kind == COLO__EP_UNIX) {
    struct sockaddr_un sa;
    int dirfd;
    const char *leaf;
    int rc = unix_addr(ep->name, &sa, &dirfd, &leaf);
    if (rc) return rc;
    /* The socket file itself: a link at its name is refused, not followed. */
    int pfd = -1, fd = -1;
    struct stat st;
    rc = sock_file(dirfd, leaf, ep->name, &pfd, &st, &sa);
    close(dirfd);
    if (rc) return rc; /* (COLO_ENOENT: not there yet, retried) */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) rc = colo__posix_err(errno, "cannot create a socket for", ep->name);
    else rc = connect_wait(fd, (struct sockaddr *)&sa, sizeof sa, deadline, ep->name);
    close(pfd);
    if (rc) {
      if (fd >= 0) close(fd);
      return rc;
    }
    *out = conn_new(fd, 1);
    if (!*out) return colo__err_nomem();
    /* Who listens there, before a byte goes to it. */
    char what[COLO__PATH_MAX + 32];
    snprintf(what, sizeof what, "the process listening on %s", ep->name);
    if ((rc = colo__os_conn_check_peer(*out, peers, what)) != 0) {
      colo__os_conn_close(*out);
      *out = NULL;
    }
    return rc;
  }
  struct addrinfo *res;
  int rc = resolve(ep, 0, &res);
  if (rc) return rc;
  char name[300];
  snprintf(name, sizeof name, "%.255s port %u", ep->name, (unsigned)ep->port);
  rc = COLO_ENOENT;
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      rc = colo__posix_err(errno, "cannot create a socket for", name);
      continue;
    }
    rc = connect_wait(fd, a->ai_addr, a->ai_addrlen, deadline, name);
    if (rc == 0) {
      set_nodelay(fd);
      freeaddrinfo(res);
      *out = conn_new(fd, 0);
      return *out ? 0 : colo__err_nomem();
    }
    close(fd);
  }
  freeaddrinfo(res);
  return rc;
}

/* ---- data ------------------------------------------------------------------------- */

int colo__os_conn_read(colo__os_conn_t *c, void *buf, size_t n, size_t *got) {
  if (c->rfd < 0) return colo__posix_forked_err("the connection");
  if (c->pending) colo__posix_pipe_check_pending(c);
  for (;;) {
    ssize_t r = read(c->rfd, buf, n);
    if (r > 0) {
      *got = (size_t)r;
      return 0;
    }
    if (r == 0) return COLO_ECLOSED;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return COLO_EAGAIN;
    return colo__posix_err(errno, "receive from", "the peer");
  }
}

/* write(2) to a FIFO without SIGPIPE: a library must not kill its process,
 * nor change its signal dispositions. Block SIGPIPE in this thread for the
 * call, and consume the one the write raised (unless one was pending
 * already, which stays for the application). */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t n) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE);
  ssize_t r = write(fd, buf, n);
  int e = errno;
  if (r < 0 && e == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return r;
}

int colo__os_conn_write(colo__os_conn_t *c, const void *buf, size_t n, size_t *put) {
  if (c->wfd < 0) return colo__posix_forked_err("the connection");
  for (;;) {
    ssize_t r = c->wfd == c->rfd ? send(c->wfd, buf, n, MSG_NOSIGNAL) : write_nosigpipe(c->wfd, buf, n);
    if (r >= 0) {
      *put = (size_t)r;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return COLO_EAGAIN;
    return colo__posix_err(errno, "send to", "the peer");
  }
}

/* ---- descriptor passing ------------------------------------------------------------ */

#define FDS_MAX 4 /* room for a few: a peer that sends more gets the extras closed */

int colo__os_conn_write_seg(colo__os_conn_t *c, const void *buf, size_t n, size_t *put, colo__os_seg_t *seg) {
  union {
    struct cmsghdr h;
    char space[CMSG_SPACE(sizeof(int))];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {(void *)(uintptr_t)buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space, .msg_controllen = sizeof ctl.space};
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  int fd = colo__posix_seg_fd(seg);
  memcpy(CMSG_DATA(h), &fd, sizeof fd);
  for (;;) {
    ssize_t r = colo__posix_sys.sendmsg(c->wfd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) {
      *put = (size_t)r;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return COLO_EAGAIN;
    return colo__posix_err(errno, "cannot pass a descriptor to", "the peer");
  }
}

int colo__os_conn_read_seg(colo__os_conn_t *c, void *buf, size_t n, size_t *got, colo__os_seg_t **seg,
                           int *seg_err) {
  *seg = NULL;
  *seg_err = 0;
  union {
    struct cmsghdr h;
    char space[CMSG_SPACE(FDS_MAX * sizeof(int))];
  } ctl;
  struct iovec iov = {buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space, .msg_controllen = sizeof ctl.space};
  ssize_t r;
  do r = colo__posix_sys.recvmsg(c->rfd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return COLO_EAGAIN;
    return colo__posix_err(errno, "receive from", "the peer");
  }
  if (r == 0) return COLO_ECLOSED;
  *got = (size_t)r;
  int fd = -1;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int f;
      memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof f);
      if (fd < 0) fd = f;
      else close(f); /* one segment per message: drop the rest */
    }
  }
  if (m.msg_flags & MSG_CTRUNC) {
    if (fd >= 0) close(fd);
    *seg_err = colo__err(COLO_EPERM, "the system dropped the descriptor the peer passed (no room was enough, or a "
                         "security module forbids passing it)");
    return 0;
  }
  if (fd >= 0) *seg_err = colo__posix_seg_from_fd(fd, seg);
  return 0;
}

int colo__os_conn_poll(colo__os_conn_t *c, int want, uint64_t timeout_ns) {
  if (c->rfd < 0 || c->wfd < 0) return want; /* (inherited across fork: the next call says so) */
  /* One descriptor for a socket; a read and a write end for a pipe pair. */
  struct pollfd p[2];
  int n = 0, in = -1, outi = -1;
  if (c->rfd == c->wfd) {
    p[n] = (struct pollfd){c->rfd, (short)((want & COLO__POLL_IN ? POLLIN : 0) | (want & COLO__POLL_OUT ? POLLOUT : 0)), 0};
    in = outi = n++;
  } else {
    if (want & COLO__POLL_IN) p[in = n++] = (struct pollfd){c->rfd, POLLIN, 0};
    if (want & COLO__POLL_OUT) p[outi = n++] = (struct pollfd){c->wfd, POLLOUT, 0};
  }
  /* A pending pipe client wakes now and then to see whether its
   * placeholder ends can go (os_pipe.c). */
  if (c->pending && timeout_ns > COLO__POSIX_PENDING_POLL_NS) timeout_ns = COLO__POSIX_PENDING_POLL_NS;
  int r = poll(p, (nfds_t)n, colo__posix_poll_ms(timeout_ns));
  if (r <= 0) return 0;
  int mask = 0;
  /* An error or hang-up counts as ready: the next read or write reports
   * what happened. */
  if (in >= 0 && (p[in].revents & (POLLIN | POLLHUP | POLLERR))) mask |= COLO__POLL_IN;
  if (outi >= 0 && (p[outi].revents & (POLLOUT | POLLHUP | POLLERR))) mask |= COLO__POLL_OUT;
  return mask & want ? mask & want : want;
}

int colo__os_poll_many(colo__os_pollitem_t *items, size_t n, uint64_t timeout_ns) {
  /* Up to two descriptors an item: a pipe pair's read and write ends. */
  struct pollfd stack[64], *p = n <= 32 ? stack : colo__malloc(2 * n * sizeof *p);
  if (!p) {
    colo__os_sleep_ns(timeout_ns < 1000000u ? timeout_ns : 1000000u);
    return 0;
  }
  nfds_t k = 0;
  for (size_t i = 0; i < n; i++) {
    colo__os_pollitem_t *it = &items[i];
    it->ready = 0;
    if (it->lsock) {
      p[k++] = (struct pollfd){it->lsock->fd, POLLIN, 0};
    } else if (it->conn->rfd == it->conn->wfd) {
      p[k++] = (struct pollfd){it->conn->rfd,
                               (short)((it->want & COLO__POLL_IN ? POLLIN : 0) | (it->want & COLO__POLL_OUT ? POLLOUT : 0)), 0};
    } else {
      p[k++] = (struct pollfd){it->want & COLO__POLL_IN ? it->conn->rfd : -1, POLLIN, 0};
      p[k++] = (struct pollfd){it->want & COLO__POLL_OUT ? it->conn->wfd : -1, POLLOUT, 0};
    }
  }
  int r = poll(p, k, colo__posix_poll_ms(timeout_ns)), count = 0;
  k = 0;
  for (size_t i = 0; r > 0 && i < n; i++) {
    colo__os_pollitem_t *it = &items[i];
    /* An error or hang-up counts as ready: the next call says what it is. */
    const short any = POLLIN | POLLOUT | POLLHUP | POLLERR | POLLNVAL;
    if (it->lsock) {
      if (p[k++].revents & any) it->ready = COLO__POLL_IN;
    } else if (it->conn->rfd == it->conn->wfd) {
      if (p[k].revents & (POLLIN | POLLHUP | POLLERR)) it->ready |= COLO__POLL_IN;
      if (p[k].revents & (POLLOUT | POLLHUP | POLLERR)) it->ready |= COLO__POLL_OUT;
      if (p[k++].revents & POLLNVAL) it->ready = it->want;
      it->ready &= it->want;
    } else {
      if (p[k++].revents & any) it->ready |= COLO__POLL_IN;
      if (p[k++].revents & any) it->ready |= COLO__POLL_OUT;
      it->ready &= it->want;
    }
    count += it->ready != 0;
  }
  if (p != stack) colo__free(p);
  return count;
}

int colo__os_conn_handle(const colo__os_conn_t *c, colo_os_handle_t *out) {
  if (c->rfd < 0) return colo__posix_forked_err("the connection");
  *out = c->rfd;
  return 0;
}

int colo__os_conn_can_pass_seg(const colo__os_conn_t *c) { return c->is_unix && !c->has_pipe_peer && c->rfd >= 0; }

/* The user at the other end of a unix socket, or of a pipe pair. */
static int peer_uid(colo__os_conn_t *c, uid_t *uid) {
  if (c->has_pipe_peer) {
    *uid = c->pipe_peer;
    return 0;
  }
  if (!c->is_unix || c->rfd < 0) return -1;
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(c->rfd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) return -1;
  *uid = cr.uid;
  return 0;
}

int colo__os_conn_check_peer(colo__os_conn_t *c, const colo__os_peers_t *p, const char *relation) {
  uid_t uid;
  if (!c->is_unix && !c->has_pipe_peer) return 0; /* tcp: nothing to go by */
  if (peer_uid(c, &uid) != 0) return colo__posix_err(errno, "cannot tell who is", relation);
  return colo__posix_check_uid(p, uid, relation, c->has_pipe_peer ? "is of" : "runs as");
}

int colo__os_conn_peer_is_self_or_root(colo__os_conn_t *c) {
  uid_t uid;
  return c->is_unix && !c->has_pipe_peer && peer_uid(c, &uid) == 0 && (uid == geteuid() || uid == 0);
}

void colo__os_conn_close(colo__os_conn_t *c) {
  if (!c) return;
  colo__os_conn_settle(c);
  colo__posix_held_remove(c->held);
  if (c->rfd >= 0) close(c->rfd);
  if (c->wfd >= 0 && c->wfd != c->rfd) close(c->wfd);
  colo__free(c);
}
