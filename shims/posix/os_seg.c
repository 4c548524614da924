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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/layout.h"
#include "../shim.h"
#include "posix.h"

static int sys_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
static int sys_shm_open(const char *name, int flags, mode_t mode) { return shm_open(name, flags, mode); }
static int sys_fallocate(int fd, off_t off, off_t len) { return posix_fallocate(fd, off, len); }

colo__posix_sys_t colo__posix_sys = {sys_open, sys_shm_open, sys_fallocate};

const colo__os_caps_t colo__os_caps = {.persistent_names = 1, .xproc_addr_wait = 1};

struct colo__os_seg {
  int fd;
  void *base;
  uint64_t size;
  colo__ep_kind_t kind;
  dev_t dev;
  ino_t ino;
  char path[COLO__PATH_MAX + 32]; /* filesystem path: /dev/shm/colo.NAME or PATH */
  char shm_name[COLO__NAME_MAX + 8]; /* "/colo.NAME" for shm_open/shm_unlink */
};

int colo__posix_err(int e, const char *what, const char *path) {
  int code;
  switch (e) {
  case EACCES: case EPERM: case EROFS: code = COLO_EPERM; break;
  case ENOENT: case ENOTDIR: case ECONNREFUSED: code = COLO_ENOENT; break;
  case EEXIST: case EADDRINUSE: code = COLO_EEXIST; break;
  case ECONNRESET: case EPIPE: case ENOTCONN: code = COLO_EPEERDEAD; break;
  case EADDRNOTAVAIL: case EAFNOSUPPORT: case EPROTONOSUPPORT: code = COLO_ENOTSUP; break;
  case ENOSPC: case EFBIG: case EDQUOT: code = COLO_ENOSPC; break;
  case ENOMEM: code = COLO_ENOMEM; break;
  case EINVAL: case ENAMETOOLONG: code = COLO_EINVAL; break;
  case EOPNOTSUPP: case ENOLCK: code = COLO_ENOTSUP; break;
  default: code = COLO_EIO; break;
  }
  if (!path) return colo__err(code, "%s: %s", what, strerror(e));
  return colo__err(code, "%s %s: %s", what, path, strerror(e));
}

static void set_names(colo__os_seg_t *s, colo__ep_kind_t kind, const char *name) {
  s->kind = kind;
  if (kind == COLO__EP_SHM) {
    snprintf(s->shm_name, sizeof s->shm_name, "/" COLO__SHM_PREFIX "%s", name);
    snprintf(s->path, sizeof s->path, COLO__SHM_DIR "/" COLO__SHM_PREFIX "%s", name);
  } else {
    snprintf(s->path, sizeof s->path, "%s", name);
  }
}

static colo__os_seg_t *seg_new(colo__ep_kind_t kind, const char *name) {
  colo__os_seg_t *s = colo__calloc(1, sizeof *s);
  if (!s) return NULL;
  s->fd = -1;
  set_names(s, kind, name);
  return s;
}

int colo__posix_make_parents(const char *path) {
  char buf[COLO__PATH_MAX + 1];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
      int e = errno;
      *p = '/';
      return colo__posix_err(e, "cannot create directory", buf);
    }
    *p = '/';
  }
  return 0;
}

static int lock_op(int fd, int cmd, short type, int slot, struct flock *out) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = slot, .l_len = 1};
  int r;
  do r = fcntl(fd, cmd, &fl);
  while (r == -1 && errno == EINTR);
  if (out) *out = fl;
  return r;
}

int colo__os_seg_hold(colo__os_seg_t *s, int slot) {
  if (lock_op(s->fd, F_OFD_SETLK, F_WRLCK, slot, NULL) == 0) return 0;
  if (errno == EAGAIN || errno == EACCES)
    return colo__err(COLO_EBUSY, "%s: presence slot %d is held by a live process", s->path, slot);
  return colo__posix_err(errno, "cannot take a presence lock on", s->path);
}

void colo__os_seg_drop(colo__os_seg_t *s, int slot) {
  if (s && s->fd >= 0) lock_op(s->fd, F_OFD_SETLK, F_UNLCK, slot, NULL);
}

int colo__os_seg_probe(colo__os_seg_t *s, int slot) {
  struct flock fl;
  if (lock_op(s->fd, F_OFD_GETLK, F_WRLCK, slot, &fl) != 0)
    return colo__posix_err(errno, "cannot test the presence lock on", s->path);
  return fl.l_type != F_UNLCK;
}

static int map_fd(colo__os_seg_t *s, int writable) {
  struct stat st;
  if (fstat(s->fd, &st) != 0) return colo__posix_err(errno, "cannot stat", s->path);
  if (!S_ISREG(st.st_mode)) return colo__err(COLO_EINVAL, "%s is not a regular file", s->path);
  s->dev = st.st_dev, s->ino = st.st_ino;
  if ((uint64_t)st.st_size > COLO_SEG_MAX_SIZE)
    return colo__err(COLO_ECORRUPT, "%s is %lld bytes, larger than any colo segment", s->path,
                     (long long)st.st_size);
  s->size = (uint64_t)st.st_size;
  if (s->size == 0) return 0;
  void *p = mmap(NULL, s->size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, s->fd, 0);
  if (p == MAP_FAILED) return colo__posix_err(errno, "cannot map", s->path);
  s->base = p;
  return 0;
}

int colo__os_seg_create(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, uint64_t size,
                        uint32_t perm, int hold_slot) {
  *out = NULL;
  colo__os_seg_t *s = seg_new(kind, name);
  if (!s) return colo__err(COLO_ENOMEM, "out of memory");
  int rc;
  if (kind == COLO__EP_FILE && (rc = colo__posix_make_parents(s->path)) != 0) goto fail_free;
  int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;
  s->fd = kind == COLO__EP_SHM ? colo__posix_sys.shm_open(s->shm_name, flags, perm & 0777)
                               : colo__posix_sys.open(s->path, flags, perm & 0777);
  if (s->fd < 0) {
    rc = colo__posix_err(errno, "cannot create", s->path);
    goto fail_free;
  }
  /* Hold the presence slot before the object has a size, so that nobody sees
   * a sized segment without a live creator. */
  if ((rc = colo__os_seg_hold(s, hold_slot)) != 0) goto fail_unlink;
  if (fchmod(s->fd, perm & 07777) != 0) {
    rc = colo__posix_err(errno, "cannot set the permissions of", s->path);
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
  if ((rc = map_fd(s, 1)) != 0) goto fail_unlink;
  if (s->size != size) {
    rc = colo__err(COLO_EIO, "%s: size %llu after reserving %llu", s->path, (unsigned long long)s->size,
                   (unsigned long long)size);
    goto fail_unlink;
  }
  *out = s;
  return 0;

fail_unlink:
  if (kind == COLO__EP_SHM) shm_unlink(s->shm_name);
  else unlink(s->path);
  colo__os_seg_close(s);
  return rc;
fail_free:
  colo__free(s);
  return rc;
}

int colo__os_seg_open(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, int writable) {
  *out = NULL;
  colo__os_seg_t *s = seg_new(kind, name);
  if (!s) return colo__err(COLO_ENOMEM, "out of memory");
  int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  s->fd = kind == COLO__EP_SHM ? colo__posix_sys.shm_open(s->shm_name, flags, 0)
                               : colo__posix_sys.open(s->path, flags, 0);
  if (s->fd < 0) {
    int rc = colo__posix_err(errno, "cannot open", s->path);
    colo__free(s);
    return rc;
  }
  int rc = map_fd(s, writable);
  if (rc) {
    colo__os_seg_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* ---- anonymous segments (memfd) ---------------------------------------------------- */

#define ANON_LABEL "memfd:colo"
#define ANON_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

int colo__os_seg_create_anon(colo__os_seg_t **out, uint64_t size) {
  *out = NULL;
  colo__os_seg_t *s = seg_new((colo__ep_kind_t)0, ANON_LABEL);
  if (!s) return colo__err(COLO_ENOMEM, "out of memory");
  snprintf(s->path, sizeof s->path, ANON_LABEL);
  int rc;
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
  if ((rc = map_fd(s, 1)) != 0) goto fail;
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
  colo__os_seg_t *s = seg_new((colo__ep_kind_t)0, ANON_LABEL);
  if (!s) {
    close(fd);
    return colo__err(COLO_ENOMEM, "out of memory");
  }
  s->fd = fd;
  int seals = fcntl(fd, F_GET_SEALS);
  int rc;
  if (seals < 0 || (seals & ANON_SEALS) != ANON_SEALS)
    rc = colo__err(COLO_ECORRUPT, "the descriptor the peer passed is not a memory object sealed against resizing");
  else
    rc = map_fd(s, 1);
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
  struct stat st;
  if (stat(s->path, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino) return 0;
  int r = s->kind == COLO__EP_SHM ? shm_unlink(s->shm_name) : unlink(s->path);
  return r == 0 || errno == ENOENT ? 0 : colo__posix_err(errno, "cannot remove", s->path);
}

void colo__os_seg_close(colo__os_seg_t *s) {
  if (!s) return;
  if (s->base) munmap(s->base, s->size);
  if (s->fd >= 0) close(s->fd); /* releases this description's OFD locks */
  colo__free(s);
}

int colo__os_seg_stat(colo__ep_kind_t kind, const char *name, colo__os_stat_t *out) {
  colo__os_seg_t tmp;
  set_names(&tmp, kind, name);
  struct stat st;
  if (stat(tmp.path, &st) != 0) return colo__posix_err(errno, "cannot stat", tmp.path);
  memset(out, 0, sizeof *out);
  out->size = (uint64_t)st.st_size;
  out->perm = st.st_mode & 07777;
  out->uid = st.st_uid;
  int64_t age = (int64_t)time(NULL) - (int64_t)st.st_ctime;
  out->age_s = age < 0 ? 0 : age;
  struct passwd pw, *res = NULL;
  char buf[1024];
  if (getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &res) == 0 && res)
    snprintf(out->owner, sizeof out->owner, "%s", pw.pw_name);
  else
    snprintf(out->owner, sizeof out->owner, "%u", (unsigned)st.st_uid);
  return 0;
}

int colo__os_seg_remove(colo__ep_kind_t kind, const char *name) {
  colo__os_seg_t tmp;
  set_names(&tmp, kind, name);
  int r = kind == COLO__EP_SHM ? shm_unlink(tmp.shm_name) : unlink(tmp.path);
  return r == 0 ? 0 : colo__posix_err(errno, "cannot remove", tmp.path);
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
