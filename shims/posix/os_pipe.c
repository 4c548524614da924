/*
 * os_pipe.c - pipe:///PATH on POSIX: byte streams over pairs of FIFOs.
 *
 * The listener makes a request FIFO at PATH and keeps both of its ends open
 * (its own write end means reads never see end-of-file between clients).
 * A client:
 *   1. makes two FIFOs, PATH.<nonce>.c2s and PATH.<nonce>.s2c, mode 0600, so
 *      that only its own user, the listener's and root can open them: owned by
 *      itself when the listener runs as the same user or as root, handed to the
 *      listener's user (fchown) when the client is root;
 *   2. opens s2c for reading, and a write end of it too, so that reading
 *      does not see end-of-file before the listener opens it;
 *   3. opens c2s for reading (a placeholder reader) and then for writing;
 *   4. writes a request record (PIPE_BUF-atomic) into PATH.
 * The listener reads the record and opens c2s for reading and s2c for
 * writing, in its own directory, never following a link, and only FIFOs
 * that no third user may open (no group or other bits); it removes both
 * names at once. The stream handshake then runs over the pair; once the
 * client has the listener's answer, it drops its placeholder ends
 * (colo__os_conn_settle). From then on each FIFO has exactly one reader and
 * one writer, so a side that dies gives the other end-of-file (or EPIPE): the
 * peer-death signal the stream layer needs.
 *
 * A FIFO by name can be kept private to two users only when they are the
 * same user or one of them is root: between two other users a client
 * refuses (unix:// tells users apart with SO_PEERCRED instead).
 *
 * The request record names only a nonce; the listener builds the FIFO names
 * from its own PATH, so a hostile writer of PATH can make it open nothing
 * else; whose the pair is (its owner) is what the listener checks the client
 * by (colo__os_conn_check_peer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shim.h"
#include "posix.h"

#define REQ_MAGIC "colo-pip"
#define REQ_SIZE 32 /* magic(8) nonce(16 hex) reserved(8); < PIPE_BUF */

/* Opens the FIFO leaf in dirfd without blocking or following a link; 0 or
 * an errno value (EINVAL: not a FIFO). */
static int open_fifo(int dirfd, const char *leaf, int flags, int *fd, struct stat *st) {
  *fd = openat(dirfd, leaf, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (*fd < 0) return errno == ELOOP ? EINVAL : errno;
  if (fstat(*fd, st) != 0 || !S_ISFIFO(st->st_mode)) {
    close(*fd);
    *fd = -1;
    return EINVAL;
  }
  return 0;
}

/* "LEAF.<nonce>.c2s" and ".s2c", exactly. */
static int fifo_names(const char *leaf, const char *nonce, char *c2s, char *s2c, size_t cap) {
  int a = snprintf(c2s, cap, "%s.%.16s.c2s", leaf, nonce), b = snprintf(s2c, cap, "%s.%.16s.s2c", leaf, nonce);
  return a > 0 && b > 0 && (size_t)a < cap && (size_t)b < cap ? 0 : -1;
}

static const char *leaf_of(const char *path) { return strrchr(path, '/') + 1; }

/* ---- listener ---------------------------------------------------------------------- */

int colo__posix_pipe_listen(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm) {
  const char *leaf;
  int rc = colo__posix_open_dir(ep->name, 0, &l->dir_fd, &leaf);
  if (rc) return rc;
  if (strlen(leaf) + 22 > NAME_MAX) return colo__err(COLO_EINVAL, "%s: the name is too long for its FIFO pairs", ep->name);
  struct stat st;
  for (int attempt = 0;; attempt++) {
    if (mkfifoat(l->dir_fd, leaf, 0600) == 0) break;
    int e = errno;
    if (e == EEXIST && fstatat(l->dir_fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode)) {
      /* A request FIFO nobody reads is a dead listener's: replace it once.
       * Nobody reads a live one either between its mkfifo and its open (for
       * microseconds): it must stay unread for a while. */
      int fd, oe = ENXIO;
      for (int i = 0; i < 5 && oe == ENXIO; i++) {
        if (i) colo__os_sleep_ns(10000000u);
        if ((oe = open_fifo(l->dir_fd, leaf, O_WRONLY, &fd, &st)) == 0) close(fd);
      }
      if (oe == ENXIO && attempt == 0) {
        unlinkat(l->dir_fd, leaf, 0);
        continue;
      }
      return colo__err(COLO_EEXIST, "%s exists and a live process listens on it", ep->name);
    }
    if (e == EEXIST)
      return colo__err(COLO_EEXIST, "%s exists and is %s", ep->name,
                       fstatat(l->dir_fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 ? colo__posix_type_name(st.st_mode)
                                                                              : "not a FIFO");
    return colo__posix_err(e, "cannot make the FIFO", ep->name);
  }
  int e = open_fifo(l->dir_fd, leaf, O_RDONLY, &l->fd, &st);
  if (!e && fchmod(l->fd, perm & 07777) != 0) e = errno;
  if (!e) e = open_fifo(l->dir_fd, leaf, O_WRONLY, &l->keep_fd, &st);
  if (e) {
    unlinkat(l->dir_fd, leaf, 0);
    return colo__posix_err(e, "cannot open the FIFO", ep->name);
  }
  l->dev = st.st_dev, l->ino = st.st_ino;
  snprintf(l->path, sizeof l->path, "%s", ep->name);
  return 0;
}

/* Reads one request record. 1 with the nonce, 0 when none is waiting. */
static int read_request(colo__os_lsock_t *l, char nonce[17]) {
  char rec[REQ_SIZE];
  ssize_t n = read(l->fd, rec, sizeof rec);
  if (n <= 0) return 0;
  if (n != REQ_SIZE || memcmp(rec, REQ_MAGIC, 8) != 0) {
    /* Not one of ours: whatever else is queued cannot be trusted to be
     * aligned, so drop it all. */
    char junk[4096];
    while (read(l->fd, junk, sizeof junk) > 0) {
    }
    return 0;
  }
  for (int i = 0; i < 16; i++) {
    char c = rec[8 + i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    nonce[i] = c;
  }
  nonce[16] = '\0';
  return 1;
}

/* A client's pair: both FIFOs of one owner, open to nobody else. */
static int private_pair(const struct stat *a, const struct stat *b) {
  return a->st_uid == b->st_uid && (a->st_mode & 077) == 0 && (b->st_mode & 077) == 0;
}

int colo__posix_pipe_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns) {
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  const char *leaf = leaf_of(l->path);
  for (;;) {
    char nonce[17], c2s[NAME_MAX + 1], s2c[NAME_MAX + 1];
    /* At most so many requests a call: a flood of them must not keep it. */
    for (int taken = 0; taken < 256 && read_request(l, nonce); taken++) {
      if (fifo_names(leaf, nonce, c2s, s2c, sizeof c2s) != 0) continue;
      int w, r;
      struct stat sw, sr;
      /* The client holds a reader on s2c and a writer on c2s already; if it
       * does not (it gave up or died), or the pair is not a private one,
       * drop the request and its names. */
      int ok = open_fifo(l->dir_fd, s2c, O_WRONLY, &w, &sw) == 0;
      if (ok && open_fifo(l->dir_fd, c2s, O_RDONLY, &r, &sr) != 0) close(w), ok = 0;
      if (ok && !private_pair(&sw, &sr)) close(w), close(r), ok = 0;
      /* Both ends are open on both sides now (or never will be): the names
       * are not needed. */
      unlinkat(l->dir_fd, c2s, 0), unlinkat(l->dir_fd, s2c, 0);
      if (!ok) continue;
      *out = colo__posix_conn_new(r, w);
      if (!*out) return colo__err_nomem();
      (*out)->has_pipe_peer = 1;
      (*out)->pipe_peer = sw.st_uid;
      return 0;
    }
    if (timeout_ns == 0) return COLO_EAGAIN;
    uint64_t now = colo__os_now_ns();
    if (now >= deadline) return COLO_ETIMEDOUT;
    struct pollfd p = {l->fd, POLLIN, 0};
    poll(&p, 1, colo__posix_poll_ms(deadline == UINT64_MAX ? UINT64_MAX : deadline - now));
  }
}

/* ---- client -------------------------------------------------------------------------- */

/* A pipe connection before the handshake holds extra ends (see the top). */
typedef struct pipe_pending {
  int dir_fd;
  int extra_r, extra_w;
  char c2s[NAME_MAX + 1], s2c[NAME_MAX + 1];
} pipe_pending_t;

static void pending_free(pipe_pending_t *pp) {
  if (pp->extra_r >= 0) close(pp->extra_r);
  if (pp->extra_w >= 0) close(pp->extra_w);
  unlinkat(pp->dir_fd, pp->c2s, 0), unlinkat(pp->dir_fd, pp->s2c, 0);
  close(pp->dir_fd);
  colo__free(pp);
}

/* Opens one FIFO of the pair (made by us just now), handing it to the
 * listener's user when that is who must open it and we may. */
static int pair_end(pipe_pending_t *pp, const char *name, int flags, uid_t give_to, int *fd) {
  struct stat st;
  int e = open_fifo(pp->dir_fd, name, flags, fd, &st);
  if (!e && give_to != (uid_t)-1 && st.st_uid != give_to && fchown(*fd, give_to, (gid_t)-1) != 0) e = errno;
  return e;
}

int colo__posix_pipe_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                             const colo__os_peers_t *peers) {
  (void)timeout_ns; /* every step below is non-blocking; the caller retries */
  pipe_pending_t *pp = colo__calloc(1, sizeof *pp);
  if (!pp) return colo__err_nomem();
  pp->extra_r = pp->extra_w = -1;
  const char *leaf;
  int rc = colo__posix_open_dir(ep->name, 0, &pp->dir_fd, &leaf);
  if (rc) {
    colo__free(pp);
    return rc;
  }
  int req = -1, r = -1, w = -1;
  struct stat st;
  int e = open_fifo(pp->dir_fd, leaf, O_WRONLY, &req, &st);
  if (e == ENXIO || e == ENOENT) rc = colo__err(COLO_ENOENT, "%s: nobody listens on it (yet)", ep->name);
  else if (e == EINVAL) rc = colo__err(COLO_EINVAL, "%s is not a FIFO", ep->name);
  else if (e) rc = colo__posix_err(e, "cannot open", ep->name);
  /* Who made the request FIFO is who listens: before a byte goes to it. */
  else rc = colo__posix_check_uid(peers, st.st_uid, ep->name, "is owned by");
  uid_t me = geteuid(), lsn = st.st_uid, give_to = (uid_t)-1;
  if (!rc && me != lsn && lsn != 0) {
    if (me == 0) give_to = lsn;
    else
      rc = colo__err(COLO_EPERM, "%s: the listener runs as uid %u and this process as uid %u: FIFOs by name cannot be "
                     "kept from third users between two users unless one is root; use unix:// or colo:// (which "
                     "check users with SO_PEERCRED)", ep->name, (unsigned)lsn, (unsigned)me);
  }
  if (rc) goto fail;

  uint64_t rnd;
  colo__os_random(&rnd, sizeof rnd);
  char nonce[17];
  snprintf(nonce, sizeof nonce, "%016llx", (unsigned long long)rnd);
  if (fifo_names(leaf, nonce, pp->c2s, pp->s2c, sizeof pp->c2s) != 0) {
    rc = colo__err(COLO_EINVAL, "%s: the name is too long for its FIFO pairs", ep->name);
    pp->c2s[0] = pp->s2c[0] = '\0';
    goto fail;
  }
  if (mkfifoat(pp->dir_fd, pp->c2s, 0600) != 0 || mkfifoat(pp->dir_fd, pp->s2c, 0600) != 0) {
    rc = colo__posix_err(errno, "cannot make FIFOs next to", ep->name);
    goto fail;
  }
  if ((e = pair_end(pp, pp->s2c, O_RDONLY, give_to, &r)) || (e = open_fifo(pp->dir_fd, pp->s2c, O_WRONLY, &pp->extra_w, &st)) ||
      (e = pair_end(pp, pp->c2s, O_RDONLY, give_to, &pp->extra_r)) || (e = open_fifo(pp->dir_fd, pp->c2s, O_WRONLY, &w, &st))) {
    rc = colo__posix_err(e, "cannot open the FIFOs of", ep->name);
    goto fail;
  }
  char rec[REQ_SIZE];
  memset(rec, 0, sizeof rec);
  memcpy(rec, REQ_MAGIC, 8);
  memcpy(rec + 8, nonce, 16);
  if (write(req, rec, sizeof rec) != (ssize_t)sizeof rec) {
    rc = errno == EAGAIN ? colo__err(COLO_EAGAIN, "%s: the listener's request queue is full (it is busy)", ep->name)
                         : colo__err(COLO_ENOENT, "%s: the listener went away", ep->name);
    goto fail;
  }
  close(req);
  *out = colo__posix_conn_new(r, w);
  if (!*out) {
    pending_free(pp);
    return colo__err_nomem();
  }
  (*out)->has_pipe_peer = 1;
  (*out)->pipe_peer = lsn;
  (*out)->pending = pp;
  return 0;
fail:
  if (r >= 0) close(r);
  if (w >= 0) close(w);
  if (req >= 0) close(req);
  pending_free(pp);
  return rc;
}

void colo__os_conn_settle(colo__os_conn_t *c) {
  pipe_pending_t *pp = c->pending;
  if (!pp) return;
  pending_free(pp);
  c->pending = NULL;
}

/* The listener removes a pair's names once it holds both of its ends, or
 * when it drops the request: either way the placeholder ends have done their
 * work, and without them a listener that hangs up (it refused this user, or
 * died) is end-of-file at once instead of silence until the deadline. A
 * third user who may remove names in the directory can only make this
 * client fail early, which removing the request FIFO does as well. */
void colo__posix_pipe_check_pending(colo__os_conn_t *c) {
  pipe_pending_t *pp = c->pending;
  struct stat st;
  if (!pp || fstatat(pp->dir_fd, pp->s2c, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
      fstatat(pp->dir_fd, pp->c2s, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return;
  pp->c2s[0] = pp->s2c[0] = '\0'; /* gone: never unlink a name someone may make anew */
  colo__os_conn_settle(c);
}
