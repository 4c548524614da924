/*
 * os_seg.c - shared segments on Linux: POSIX shared memory (shm_open, which
 * lives on the /dev/shm tmpfs) and plain files on any mount, mapped
 * MAP_SHARED; presence slots as open-file-description (OFD) locks.
 *
 * OFD locks belong to the open file description, not to the process: they are
 * released when the last descriptor for it closes, which the kernel does when
 * the process dies for any reason, SIGKILL included. They are visible to every
 * process that opens the same inode, whatever its PID namespace. Each handle
 * here opens the object itself, so two handles in one process are distinct
 * holders, as two processes would be.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../shim.h"
#include "edge.h"
#include "posix.h"

static int sys_openat(int dirfd, const char *name, int flags, mode_t mode) { return openat(dirfd, name, flags, mode); }
static int sys_fallocate(int fd, off_t off, off_t len) { return posix_fallocate(fd, off, len); }
static ssize_t sys_recvmsg(int fd, struct msghdr *m, int flags) { return recvmsg(fd, m, flags); }

static ssize_t sys_sendmsg(int fd, const struct msghdr *m, int flags) { return sendmsg(fd, m, flags); }
colo__posix_sys_t colo__posix_sys = {
    .openat = sys_openat, .fallocate = sys_fallocate, .recvmsg = sys_recvmsg, .sendmsg = sys_sendmsg};

const colo__os_caps_t colo__os_caps = {
    .persistent_names = 1, .listable_names = 1, .xproc_addr_wait = 1, .rdv_kind = COLO__EP_UNIX,
    .pipe_is_file = 1, .perm_one_class = 0};

struct colo__os_seg {
  int fd; /* -1 in a child after fork() */
  void *base;
  uint64_t size;
  colo__ep_kind_t kind; /* 0: anonymous (memfd) */
  struct stat st;       /* of the descriptor, when opened */
  colo__posix_held_t *held;
  char path[COLO__PATH_MAX + 32]; /* filesystem path: /dev/shm/colo.NAME or PATH */
};

int colo__posix_err(int e, const char *what, const char *path) {
  int code = colo__edge_errno_code(e);
  if (!path) return colo__err(code, "%s: %s", what, strerror(e));
  return colo__err(code, "%s %s: %s", what, path, strerror(e));
}

/* The filesystem path of a segment name, exactly (never cut short). */
static int seg_path(colo__ep_kind_t kind, const char *name, char *buf, size_t cap) {
  int n = kind == COLO__EP_SHM ? snprintf(buf, cap, COLO__SHM_DIR "/" COLO__SHM_PREFIX "%s", name)
                               : snprintf(buf, cap, "%s", name);
  if (n < 0 || (size_t)n >= cap) return colo__err(COLO_EINVAL, "%.64s...: the name is too long", name);
  return 0;
}

static colo__os_seg_t *seg_new(colo__ep_kind_t kind, const char *name, int *rc) {
  colo__os_seg_t *s = colo__calloc(1, sizeof *s);
  if (!s) {
    *rc = colo__err_nomem();
    return NULL;
  }
  s->fd = -1;
  s->kind = kind;
  if ((*rc = seg_path(kind, name, s->path, sizeof s->path)) != 0) {
    colo__free(s);
    return NULL;
  }
  return s;
}

static int lock_op(int fd, int cmd, short type, int slot, struct flock *out) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = slot, .l_len = 1};
  int r;
  do r = fcntl(fd, cmd, &fl);
  while (r == -1 && errno == EINTR);
  if (out) *out = fl;
  return r;
}

int colo__os_seg_probe(colo__os_seg_t *s, int slot) {
  if (s->fd < 0) return colo__posix_forked_err(s->path);
  /* Only a write lock answers a query for a read lock: a process that may
   * only read the object can take read locks, and must not look present. */
  struct flock fl;
  if (lock_op(s->fd, F_OFD_GETLK, F_RDLCK, slot, &fl) != 0)
    return colo__posix_err(errno, "cannot test the presence lock on", s->path);
  return fl.l_type != F_UNLCK;
}

int colo__os_seg_hold(colo__os_seg_t *s, int slot) {
  if (s->fd < 0) return colo__os_seg_probe(s, slot);
  if (lock_op(s->fd, F_OFD_SETLK, F_WRLCK, slot, NULL) == 0) return 0;
  if (errno == EBADF) /* a write lock needs a handle opened for writing */
    return colo__err(COLO_EPERM, "%s: a handle opened only to read it cannot hold presence", s->path);
  if (errno != EAGAIN && errno != EACCES) return colo__posix_err(errno, "cannot take a presence lock on", s->path);
  if (colo__os_seg_probe(s, slot) == 0)
    return colo__err(COLO_EPERM, "%s: a process that may only read it holds a read lock on presence byte %d, "
                     "which keeps anybody from taking it (its mode %04o lets someone read it who cannot write it)",
                     s->path, slot, (unsigned)(s->st.st_mode & 07777));
  return colo__err(COLO_EBUSY, "%s: presence slot %d is held by a live process", s->path, slot);
}

void colo__os_seg_drop(colo__os_seg_t *s, int slot) {
  if (s && s->fd >= 0) lock_op(s->fd, F_OFD_SETLK, F_UNLCK, slot, NULL);
}

/* A mapping keeps no name from being removed here: colo__os_seg_close unmaps. */
void colo__os_seg_unmap(colo__os_seg_t *s) { (void)s; }

/* Maps the descriptor's object (its size from s->st). */
static int map_fd(colo__os_seg_t *s, int writable, uint64_t max_size, int guard) {
  if ((uint64_t)s->st.st_size > max_size)
    return colo__err(COLO_ECORRUPT, "%s is %lld bytes, larger than any colo segment", s->path,
                     (long long)s->st.st_size);
  s->size = (uint64_t)s->st.st_size;
  if (s->size) {
    void *p = mmap(NULL, s->size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, s->fd, 0);
    if (p == MAP_FAILED) return colo__posix_err(errno, "cannot map", s->path);
    s->base = p;
  }
  s->held = colo__posix_held_add(s->base, s->size, guard, &s->fd, NULL, NULL);
  if (!s->held) return colo__err_nomem();
  return 0;
}

/* Opens the directory of a segment path: /dev/shm, or the file's own. */
static int seg_dir(const colo__os_seg_t *s, int mkdirs, int *dirfd, const char **leaf) {
  return colo__posix_open_dir(s->path, mkdirs && s->kind == COLO__EP_FILE, dirfd, leaf);
}

int colo__os_seg_create(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, uint64_t size,
                        uint32_t perm, int hold_slot, const void *mark, size_t mark_len, int flags) {
  *out = NULL;
  int rc;
  colo__os_seg_t *s = seg_new(kind, name, &rc);
  if (!s) return rc;
  int dirfd;
  const char *leaf;
  if ((rc = seg_dir(s, 1, &dirfd, &leaf)) != 0) {
    colo__free(s);
    return rc;
  }
  if ((rc = colo__posix_open_leaf(dirfd, leaf, s->path, O_RDWR | O_CREAT | O_EXCL, perm & 0777, &s->fd, &s->st)) !=
      0) {
    close(dirfd);
    colo__free(s);
    return rc;
  }
  /* Hold the presence slot before the object has a size, so that nobody sees
   * a sized segment without a live creator; then the mark, which tells an
   * object whose creator died while sizing it from a stranger's file. */
  if ((rc = colo__os_seg_hold(s, hold_slot)) != 0) goto fail_unlink;
  if (fchmod(s->fd, perm & 07777) != 0) {
    rc = colo__posix_err(errno, "cannot set the permissions of", s->path);
    goto fail_unlink;
  }
  if (mark_len && pwrite(s->fd, mark, mark_len, 0) != (ssize_t)mark_len) {
    rc = colo__posix_err(errno ? errno : ENOSPC, "cannot write to", s->path);
    goto fail_unlink;
  }
  /* Reserve the memory now: on tmpfs (shm) this allocates the pages, on a disk
   * filesystem the blocks. A later page fault can then not raise SIGBUS. */
  int e = colo__posix_sys.fallocate(s->fd, 0, (off_t)size);
  if (e != 0) {
    rc = colo__posix_err(e, "cannot reserve memory for", s->path);
    if (rc == COLO_ENOSPC)
      colo__err(COLO_ENOSPC, "cannot reserve %llu bytes for %s: %s", (unsigned long long)size, s->path,
                strerror(e));
    goto fail_unlink;
  }
  if (fstat(s->fd, &s->st) != 0) {
    rc = colo__posix_err(errno, "cannot stat", s->path);
    goto fail_unlink;
  }
  if ((rc = map_fd(s, 1, size, flags & COLO__SEG_GUARD)) != 0) goto fail_unlink;
  close(dirfd);
  *out = s;
  return 0;

fail_unlink:
  unlinkat(dirfd, leaf, 0); /* ours: made exclusively in this very directory */
  close(dirfd);
  colo__os_seg_close(s);
  return rc;
}

int colo__os_seg_open(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, int flags) {
  *out = NULL;
  int rc;
  colo__os_seg_t *s = seg_new(kind, name, &rc);
  if (!s) return rc;
  int dirfd;
  const char *leaf;
  if ((rc = seg_dir(s, 0, &dirfd, &leaf)) == 0) {
    rc = colo__posix_open_leaf(dirfd, leaf, s->path, flags & COLO__SEG_MAP ? O_RDWR : O_RDONLY, 0, &s->fd, &s->st);
    close(dirfd);
  }
  if (!rc) {
    if (flags & COLO__SEG_MAP) {
      rc = map_fd(s, 1, COLO__OBJECT_MAX, flags & COLO__SEG_GUARD);
    } else {
      s->size = (uint64_t)s->st.st_size;
      if (!(s->held = colo__posix_held_add(NULL, 0, 0, &s->fd, NULL, NULL))) rc = colo__err_nomem();
    }
  }
  if (rc) {
    colo__os_seg_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

int colo__os_seg_read(colo__os_seg_t *s, uint64_t off, void *buf, size_t len, size_t *got) {
  *got = 0;
  while (*got < len) {
    ssize_t r = pread(s->fd, (char *)buf + *got, len - *got, (off_t)(off + *got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return colo__posix_err(errno, "cannot read", s->path);
    if (r == 0) break;
    *got += (size_t)r;
  }
  return 0;
}

const _Atomic int *colo__os_seg_lost(const colo__os_seg_t *s) { return colo__posix_held_lost(s->held); }

int colo__os_seg_check_owner(const colo__os_seg_t *s, const colo__os_peers_t *p) {
  return colo__posix_check_uid(p, s->st.st_uid, s->path, "is owned by");
}

/* ---- anonymous segments (memfd) ---------------------------------------------------- */

#define ANON_LABEL "memfd:colo"
#define ANON_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

int colo__os_seg_create_anon(colo__os_seg_t **out, uint64_t size) {
  *out = NULL;
  int rc;
  colo__os_seg_t *s = seg_new((colo__ep_kind_t)0, ANON_LABEL, &rc);
  if (!s) return rc;
  s->fd = memfd_create("colo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (s->fd < 0) {
    rc = colo__posix_err(errno, "cannot create", "a memfd");
    goto fail;
  }
  int e = colo__posix_sys.fallocate(s->fd, 0, (off_t)size);
  if (e != 0) {
    rc = colo__err(e == ENOSPC || e == ENOMEM ? COLO_ENOSPC : COLO_EIO, "cannot reserve %llu bytes for a memfd: %s",
                   (unsigned long long)size, strerror(e));
    goto fail;
  }
  if (fstat(s->fd, &s->st) != 0) {
    rc = colo__posix_err(errno, "cannot stat", "a memfd");
    goto fail;
  }
  /* Sealed below: nobody can shrink it, so it needs no fault guard. */
  if ((rc = map_fd(s, 1, size, 0)) != 0) goto fail;
  /* The peer maps the same object: nobody may change its size any more. */
  if (fcntl(s->fd, F_ADD_SEALS, ANON_SEALS | F_SEAL_SEAL) != 0) {
    rc = colo__posix_err(errno, "cannot seal", "a memfd");
    goto fail;
  }
  *out = s;
  return 0;
fail:
  colo__os_seg_close(s);
  return rc;
}

int colo__posix_seg_from_fd(int fd, colo__os_seg_t **out) {
  *out = NULL;
  int rc;
  colo__os_seg_t *s = seg_new((colo__ep_kind_t)0, ANON_LABEL, &rc);
  if (!s) {
    close(fd);
    return rc;
  }
  s->fd = fd;
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & ANON_SEALS) != ANON_SEALS)
    rc = colo__err(COLO_ECORRUPT, "the descriptor the peer passed is not a memory object sealed against resizing");
  else if (fstat(fd, &s->st) != 0 || !S_ISREG(s->st.st_mode))
    rc = colo__err(COLO_ECORRUPT, "the descriptor the peer passed is not a memory object");
  else
    rc = map_fd(s, 1, COLO__OBJECT_MAX, 0);
  if (rc) {
    colo__os_seg_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

int colo__posix_seg_fd(const colo__os_seg_t *s) { return s->fd; }

void *colo__os_seg_base(const colo__os_seg_t *s) { return s->base; }
uint64_t colo__os_seg_size(const colo__os_seg_t *s) { return s->size; }

int colo__os_seg_unlink(colo__os_seg_t *s) {
  if (!s->kind || s->fd < 0) return 0; /* (-1: a child after fork: the name is its parent's) */
  int dirfd;
  const char *leaf;
  struct stat st;
  if (seg_dir(s, 0, &dirfd, &leaf) != 0) return 0; /* the path leads elsewhere now: not ours to remove */
  int rc = 0;
  if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == s->st.st_dev && st.st_ino == s->st.st_ino &&
      unlinkat(dirfd, leaf, 0) != 0 && errno != ENOENT)
    rc = colo__posix_err(errno, "cannot remove", s->path);
  close(dirfd);
  return rc;
}

void colo__os_seg_close(colo__os_seg_t *s) {
  if (!s) return;
  colo__posix_held_remove(s->held); /* no fault handler looks at the mapping after this */
  if (s->base) munmap(s->base, s->size);
  if (s->fd >= 0) close(s->fd); /* releases this description's OFD locks */
  colo__free(s);
}

static void fill_stat(const struct stat *st, colo__os_stat_t *out) {
  memset(out, 0, sizeof *out);
  out->size = (uint64_t)st->st_size;
  out->perm = st->st_mode & 07777;
  out->uid = st->st_uid;
  out->regular = S_ISREG(st->st_mode);
  snprintf(out->type, sizeof out->type, "%s", colo__posix_type_name(st->st_mode));
  int64_t age = (int64_t)time(NULL) - (int64_t)st->st_ctime;
  out->age_s = age < 0 ? 0 : age;
  struct passwd pw, *res = NULL;
  char buf[1024];
  if (getpwuid_r(st->st_uid, &pw, buf, sizeof buf, &res) == 0 && res)
    snprintf(out->owner, sizeof out->owner, "%s", pw.pw_name);
  else
    snprintf(out->owner, sizeof out->owner, "%u", (unsigned)st->st_uid);
}

void colo__os_seg_fstat(const colo__os_seg_t *s, colo__os_stat_t *out) { fill_stat(&s->st, out); }

int colo__os_seg_stat(colo__ep_kind_t kind, const char *name, int flags, colo__os_stat_t *out) {
  (void)flags; /* one namespace */
  char path[COLO__PATH_MAX + 32];
  int rc = seg_path(kind, name, path, sizeof path);
  int dirfd;
  const char *leaf;
  if (rc || (rc = colo__posix_open_dir(path, 0, &dirfd, &leaf)) != 0) return rc;
  struct stat st;
  rc = fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : colo__posix_err(errno, "cannot stat", path);
  close(dirfd);
  if (!rc) fill_stat(&st, out);
  return rc;
}

int colo__os_seg_remove(colo__ep_kind_t kind, const char *name) {
  char path[COLO__PATH_MAX + 32];
  int rc = seg_path(kind, name, path, sizeof path);
  int dirfd;
  const char *leaf;
  if (rc || (rc = colo__posix_open_dir(path, 0, &dirfd, &leaf)) != 0) return rc;
  rc = unlinkat(dirfd, leaf, 0) == 0 ? 0 : colo__posix_err(errno, "cannot remove", path);
  close(dirfd);
  return rc;
}

int colo__os_seg_list(int (*cb)(const char *name, void *ctx), void *ctx) {
  DIR *d = opendir(COLO__SHM_DIR);
  if (!d) return colo__posix_err(errno, "cannot list", COLO__SHM_DIR);
  const size_t plen = strlen(COLO__SHM_PREFIX);
  struct dirent *e;
  int stop = 0;
  while (!stop && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, COLO__SHM_PREFIX, plen) != 0 || e->d_name[plen] == '\0') continue;
    stop = cb(e->d_name + plen, ctx);
  }
  closedir(d);
  return stop;
}

int colo__os_sigbus_repair(void *addr) { return colo__posix_sigbus_repair(addr); }
