/*
 * os_probe.c - what a directory is as a medium, and who this process is, on
 * Linux (see shims/probe.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../probe.h"
#include "posix.h"

/* ---- the filesystem ------------------------------------------------------------------ */

static const struct {
  unsigned long magic;
  const char *name;
} fs_magic[] = {
    {0x01021994, "tmpfs"},    {0x858458f6, "ramfs"},     {0x794c7630, "overlay"}, {0x01021997, "9p"},
    {0x6a656a63, "virtiofs"}, {0x65735546, "fuse"},      {0x6969, "nfs"},         {0xef53, "ext4"},
    {0x58465342, "xfs"},      {0x9123683e, "btrfs"},     {0x2fc12fc1, "zfs"},     {0xff534d42, "cifs"},
    {0xfe534d42, "smb2"},     {0x958458f6, "hugetlbfs"}, {0x73717368, "squashfs"}, {0xf15f, "ecryptfs"},
    {0x5346544e, "ntfs"},     {0x4d44, "vfat"},          {0x62656572, "sysfs"},   {0x9fa0, "proc"},
    {0x1cd1, "devpts"},       {0x00c36400, "ceph"},      {0x47504653, "gpfs"},    {0x0bd00bd0, "lustre"}};

/* The mount the path is on, from /proc/self/mountinfo: the longest mount
 * point that is a prefix of the resolved path. */
static void mount_of(const char *real, colo__os_fsinfo_t *fi) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return;
  char line[4096], mtype[64] = "";
  size_t best = 0;
  while (fgets(line, sizeof line, f)) {
    /* id parent maj:min root mount_point options ... - fstype source super_options */
    char mp[1024], opts[512], fstype[64], source[256], super[512];
    if (sscanf(line, "%*s %*s %*s %*s %1023s %511s", mp, opts) != 2) continue;
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(dash + 3, "%63s %255s %511s", fstype, source, super) < 2) continue;
    size_t n = strlen(mp);
    int prefix = !strcmp(mp, "/") || (!strncmp(real, mp, n) && (real[n] == '/' || real[n] == 0));
    if (!prefix || (n < best && best)) continue;
    best = n;
    snprintf(fi->mount_point, sizeof fi->mount_point, "%.255s", mp);
    snprintf(fi->source, sizeof fi->source, "%.127s", source);
    snprintf(fi->options, sizeof fi->options, "%.120s,%.120s", opts, super);
    snprintf(mtype, sizeof mtype, "%s", fstype);
    fi->mount_is_path = !strcmp(mp, real);
  }
  fclose(f);
  /* The mount's own type where the magic number says little (fuse.sshfs) or nothing. */
  if (mtype[0] && (!fi->fstype[0] || fi->fstype[0] == '0' || !strcmp(fi->fstype, "fuse")))
    snprintf(fi->fstype, sizeof fi->fstype, "%.31s", mtype);
}

int colo__os_fsinfo(const char *path, colo__os_fsinfo_t *fi) {
  memset(fi, 0, sizeof *fi);
  struct stat st;
  if (stat(path, &st) != 0) return colo__posix_err(errno, "stat", path);
  fi->mode = st.st_mode & 07777, fi->uid = st.st_uid, fi->gid = st.st_gid;
  fi->is_dir = S_ISDIR(st.st_mode);
  fi->sticky = (st.st_mode & S_ISVTX) != 0;
  fi->writable = access(path, W_OK | X_OK) == 0;
  struct statfs sf;
  if (statfs(path, &sf) == 0) {
    for (size_t i = 0; i < sizeof fs_magic / sizeof fs_magic[0]; i++)
      if ((unsigned long)sf.f_type == fs_magic[i].magic) snprintf(fi->fstype, sizeof fi->fstype, "%s", fs_magic[i].name);
    if (!fi->fstype[0]) snprintf(fi->fstype, sizeof fi->fstype, "0x%lx", (unsigned long)sf.f_type);
  }
  struct statvfs sv;
  if (statvfs(path, &sv) == 0) {
    fi->total = (uint64_t)sv.f_blocks * sv.f_frsize;
    fi->avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    fi->read_only = (sv.f_flag & ST_RDONLY) != 0;
  }
  char real[4096];
  if (realpath(path, real)) mount_of(real, fi);
  return 0;
}

/* ---- a scratch file --------------------------------------------------------------------- */

/* The probe's files live in a directory another container shares, maybe a
 * hostile one: they get the care a segment gets (os_path.c, os_held.c): no
 * link followed, nothing but a regular file opened, and never blocking; a
 * page is mapped only when the file holds it, and guarded against a later
 * truncation (pfile_lost says so). */
struct colo__os_pfile {
  int fd;
  void *base;
  size_t mapped;
  colo__posix_held_t *held;
};

static int pfile_open_flags(const char *path, int flags, colo__os_pfile_t **out) {
  *out = NULL;
  int dirfd, fd;
  const char *leaf;
  struct stat st;
  int rc = colo__posix_open_dir(path, 0, &dirfd, &leaf);
  if (rc) return rc;
  rc = colo__posix_open_leaf(dirfd, leaf, path, flags, 0644, &fd, &st);
  close(dirfd);
  if (rc) return rc;
  colo__os_pfile_t *f = calloc(1, sizeof *f);
  if (f) f->fd = fd, f->held = colo__posix_held_add(NULL, 0, 0, &f->fd, NULL, NULL);
  if (!f || !f->held) {
    free(f);
    close(fd);
    return colo__err(COLO_ENOMEM, "out of memory");
  }
  *out = f;
  return 0;
}

int colo__os_pfile_create(const char *path, colo__os_pfile_t **out) {
  int rc = pfile_open_flags(path, O_RDWR | O_CREAT | O_EXCL, out);
  if (!rc) fchmod((*out)->fd, 0644);
  return rc;
}

int colo__os_pfile_open(const char *path, colo__os_pfile_t **out) { return pfile_open_flags(path, O_RDWR, out); }

int colo__os_pfile_reserve(colo__os_pfile_t *f, uint64_t size) {
  if (ftruncate(f->fd, (off_t)size) != 0) return colo__posix_err(errno, "ftruncate", NULL);
  int e = posix_fallocate(f->fd, 0, (off_t)size);
  if (e) return colo__posix_err(e, "reserving the blocks (posix_fallocate)", NULL);
  return 0;
}

int colo__os_pfile_map(colo__os_pfile_t *f, uint64_t size, void **base) {
  struct stat st;
  if (fstat(f->fd, &st) != 0) return colo__posix_err(errno, "fstat", NULL);
  if ((uint64_t)st.st_size < size)
    return colo__err(COLO_ECORRUPT, "the file holds %lld bytes, not the %llu of a page", (long long)st.st_size,
                     (unsigned long long)size);
  void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
  if (p == MAP_FAILED) return colo__posix_err(errno, "mmap MAP_SHARED", NULL);
  /* Truncated later by the other side: zero pages, and pfile_lost says so. */
  colo__posix_held_remove(f->held);
  f->held = colo__posix_held_add(p, (size_t)size, 1, &f->fd, NULL, NULL);
  if (!f->held) {
    munmap(p, (size_t)size);
    return colo__err(COLO_ENOMEM, "out of memory");
  }
  colo__os_sigbus_install();
  f->base = p, f->mapped = (size_t)size;
  *base = p;
  return 0;
}

int colo__os_pfile_lost(const colo__os_pfile_t *f) { return f && colo__load_acquire(colo__posix_held_lost(f->held)) != 0; }

int colo__os_pfile_coherent(colo__os_pfile_t *f, const void *base, size_t n) {
  char buf[512];
  if (n > sizeof buf) n = sizeof buf;
  return pread(f->fd, buf, n, 0) == (ssize_t)n && !memcmp(buf, base, n);
}

int colo__os_pfile_lock(colo__os_pfile_t *f, uint64_t off, uint64_t len) {
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)off, .l_len = (off_t)len};
  if (fcntl(f->fd, F_OFD_SETLK, &l) == 0) return 0;
  if (errno == EAGAIN || errno == EACCES) return colo__err(COLO_EBUSY, "another holds the lock");
  if (errno == EINVAL || errno == ENOLCK || errno == EOPNOTSUPP)
    return colo__err(COLO_ENOTSUP, "open-file-description locks: %s", strerror(errno));
  return colo__posix_err(errno, "F_OFD_SETLK", NULL);
}

int colo__os_pfile_locked(colo__os_pfile_t *f, uint64_t off, uint64_t len) {
  /* A query for a read lock sees only write locks: what a mere reader of
   * the file can take does not count. */
  struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = (off_t)off, .l_len = (off_t)len};
  if (fcntl(f->fd, F_OFD_GETLK, &l) != 0) return colo__posix_err(errno, "F_OFD_GETLK", NULL);
  return l.l_type != F_UNLCK;
}

void colo__os_pfile_id(const colo__os_pfile_t *f, uint64_t *dev, uint64_t *ino) {
  struct stat st;
  *dev = *ino = 0;
  if (fstat(f->fd, &st) == 0) *dev = (uint64_t)st.st_dev, *ino = (uint64_t)st.st_ino;
}

void colo__os_pfile_close(colo__os_pfile_t *f) {
  if (!f) return;
  colo__posix_held_remove(f->held);
  if (f->base) munmap(f->base, f->mapped);
  if (f->fd >= 0) close(f->fd);
  free(f);
}

int colo__os_remove(const char *path) {
  return colo__posix_unlink(path);
}

int colo__os_rename(const char *from, const char *to) { return colo__posix_rename_in_dir(from, to); }

/* ---- who we are ------------------------------------------------------------------------------- */

const char *const colo__ns_names[COLO__NS_COUNT] = {"ipc", "mnt", "pid", "net", "user", "uts", "cgroup"};

void colo__os_ids(colo__os_ids_t *ids) {
  memset(ids, 0, sizeof *ids);
  for (int i = 0; i < COLO__NS_COUNT; i++) {
    char p[64];
    struct stat st;
    snprintf(p, sizeof p, "/proc/self/ns/%s", colo__ns_names[i]);
    if (stat(p, &st) == 0) ids->ns[i] = (uint64_t)st.st_ino;
  }
  gethostname(ids->host, sizeof ids->host - 1);
  ids->pid = (uint32_t)getpid();
  ids->uid = (uint32_t)getuid();
}
