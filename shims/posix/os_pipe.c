/*
 * os_pipe.c - pipe:///PATH on POSIX: byte streams over pairs of FIFOs.
 *
 * The listener makes a request FIFO at PATH and keeps both of its ends open
 * (its own write end means reads never see end-of-file between clients).
 * A client:
 *   1. makes two FIFOs, PATH.<nonce>.c2s and PATH.<nonce>.s2c (mode as the
 *      request FIFO's);
 *   2. opens s2c for reading, and a write end of it too, so that reading
 *      does not see end-of-file before the listener opens it;
 *   3. opens c2s for reading (a placeholder reader) and then for writing;
 *   4. writes a request record (PIPE_BUF-atomic) into PATH.
 * The listener reads the record and opens c2s for reading and s2c for
 * writing. The stream handshake then runs over the pair; once the client has
 * the listener's answer, it drops its placeholder ends and unlinks both names
 * (colo__os_pipe_settle). From then on each FIFO has exactly one reader and one
 * writer, so a side that dies gives the other end-of-file (or EPIPE): the
 * peer-death signal the stream layer needs.
 *
 * The request record names only a nonce; the listener builds the FIFO paths
 * from its own PATH and opens them non-blocking, refusing anything that is
 * not a FIFO, so a hostile writer of PATH can make it open nothing else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shim.h"
#include "posix.h"

#define REQ_MAGIC "colo-pip"
#define REQ_SIZE 32 /* magic(8) nonce(16 hex) reserved(8); < PIPE_BUF */

static int open_fifo(const char *path, int flags, int *fd) {
  *fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0) return errno;
  struct stat st;
  if (fstat(*fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return EINVAL;
  }
  return 0;
}

static void fifo_names(const char *base, const char *nonce, char *c2s, char *s2c, size_t cap) {
  snprintf(c2s, cap, "%s.%.16s.c2s", base, nonce);
  snprintf(s2c, cap, "%s.%.16s.s2c", base, nonce);
}

/* ---- listener ---------------------------------------------------------------------- */

int colo__posix_pipe_listen(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm) {
  for (int attempt = 0;; attempt++) {
    if (mkfifo(ep->name, 0600) == 0) break;
    int e = errno;
    struct stat st;
    if (e == EEXIST && lstat(ep->name, &st) == 0 && S_ISFIFO(st.st_mode)) {
      /* A request FIFO nobody reads is a dead listener's: replace it once. */
      int fd;
      int oe = open_fifo(ep->name, O_WRONLY, &fd);
      if (oe == 0) close(fd);
      if (oe == ENXIO && attempt == 0) {
        unlink(ep->name);
        continue;
      }
      return colo__err(COLO_EEXIST, "%s exists and a live process listens on it", ep->name);
    }
    if (e == EEXIST) return colo__err(COLO_EEXIST, "%s exists and is not a FIFO", ep->name);
    return colo__posix_err(e, "cannot make the FIFO", ep->name);
  }
  struct stat st;
  int e = chmod(ep->name, perm) != 0 || stat(ep->name, &st) != 0 ? errno : 0;
  if (!e) e = open_fifo(ep->name, O_RDONLY, &l->fd);
  if (!e) e = open_fifo(ep->name, O_WRONLY, &l->keep_fd);
  if (e) {
    unlink(ep->name);
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

int colo__posix_pipe_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns) {
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  for (;;) {
    char nonce[17], c2s[COLO__PATH_MAX + 32], s2c[COLO__PATH_MAX + 32];
    while (read_request(l, nonce)) {
      fifo_names(l->path, nonce, c2s, s2c, sizeof c2s);
      int w, r;
      /* The client holds a reader on s2c and a writer on c2s already; if it
       * does not (it gave up or died), drop the request and its names. */
      if (open_fifo(s2c, O_WRONLY, &w) != 0) {
        unlink(c2s), unlink(s2c);
        continue;
      }
      if (open_fifo(c2s, O_RDONLY, &r) != 0) {
        close(w);
        unlink(c2s), unlink(s2c);
        continue;
      }
      /* Both ends are open on both sides now: the names are not needed. */
      unlink(c2s), unlink(s2c);
      *out = colo__posix_conn_new(r, w);
      return *out ? 0 : colo__err(COLO_ENOMEM, "out of memory");
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
  int extra_r, extra_w;
  char c2s[COLO__PATH_MAX + 32], s2c[COLO__PATH_MAX + 32];
} pipe_pending_t;

int colo__posix_pipe_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns) {
  (void)timeout_ns; /* every step below is non-blocking; the caller retries */
  int req;
  int e = open_fifo(ep->name, O_WRONLY, &req);
  if (e == ENXIO) return colo__err(COLO_ENOENT, "%s: nobody listens on it (yet)", ep->name);
  if (e == EINVAL) return colo__err(COLO_EINVAL, "%s is not a FIFO", ep->name);
  if (e) return colo__posix_err(e, "cannot open", ep->name);
  struct stat st;
  fstat(req, &st);

  uint64_t rnd;
  colo__os_random(&rnd, sizeof rnd);
  char nonce[17];
  snprintf(nonce, sizeof nonce, "%016llx", (unsigned long long)rnd);
  pipe_pending_t *pp = colo__calloc(1, sizeof *pp);
  if (!pp) {
    close(req);
    return colo__err(COLO_ENOMEM, "out of memory");
  }
  fifo_names(ep->name, nonce, pp->c2s, pp->s2c, sizeof pp->c2s);
  int r = -1, w = -1, rc = 0;
  pp->extra_r = pp->extra_w = -1;
  mode_t mode = st.st_mode & 0777;
  if (mkfifo(pp->c2s, mode) != 0 || mkfifo(pp->s2c, mode) != 0 || chmod(pp->c2s, mode) != 0 ||
      chmod(pp->s2c, mode) != 0) {
    rc = colo__posix_err(errno, "cannot make FIFOs next to", ep->name);
    goto fail;
  }
  if ((e = open_fifo(pp->s2c, O_RDONLY, &r)) || (e = open_fifo(pp->s2c, O_WRONLY, &pp->extra_w)) ||
      (e = open_fifo(pp->c2s, O_RDONLY, &pp->extra_r)) || (e = open_fifo(pp->c2s, O_WRONLY, &w))) {
    rc = colo__posix_err(e, "cannot open the FIFOs of", ep->name);
    goto fail;
  }
  char rec[REQ_SIZE];
  memset(rec, 0, sizeof rec);
  memcpy(rec, REQ_MAGIC, 8);
  memcpy(rec + 8, nonce, 16);
  if (write(req, rec, sizeof rec) != (ssize_t)sizeof rec) {
    rc = errno == EAGAIN ? colo__err(COLO_EAGAIN, "%s: the listener's request queue is full", ep->name)
                         : colo__err(COLO_ENOENT, "%s: the listener went away", ep->name);
    goto fail;
  }
  close(req);
  req = -1;
  *out = colo__posix_conn_new(r, w);
  if (!*out) {
    r = w = -1;
    rc = colo__err(COLO_ENOMEM, "out of memory");
    goto fail_names;
  }
  (*out)->pending = pp;
  return 0;
fail:
  if (r >= 0) close(r);
  if (w >= 0) close(w);
fail_names:
  if (pp->extra_r >= 0) close(pp->extra_r);
  if (pp->extra_w >= 0) close(pp->extra_w);
  unlink(pp->c2s), unlink(pp->s2c);
  colo__free(pp);
  if (req >= 0) close(req);
  return rc;
}

void colo__os_conn_settle(colo__os_conn_t *c) {
  pipe_pending_t *pp = c->pending;
  if (!pp) return;
  close(pp->extra_r);
  close(pp->extra_w);
  unlink(pp->c2s);
  unlink(pp->s2c);
  colo__free(pp);
  c->pending = NULL;
}
