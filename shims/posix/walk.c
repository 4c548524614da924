/*
 * walk.c - reaching a file by a path without letting another local user
 * choose where it lands, and opening it without blocking. One implementation
 * compiled twice (walk.h): into libcolo's posix shim and into the colo
 * command's tools layer, which must walk as carefully (rootfs and probe
 * write into directories other users may share).
 *
 * The path is walked from "/" one component at a time, each directory
 * opened with O_PATH | O_NOFOLLOW. A symbolic link on the way is followed
 * only when it belongs to root or to this process's user: the rule the
 * kernel's fs.protected_symlinks applies in sticky directories (which this
 * machine may not have switched on), applied to every directory, since
 * another user's link could send a root listener into a directory of that
 * user's choosing. The last component is never followed: colo never opens a
 * symbolic link, and checks what it opened with fstat on the descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk.h"
#ifndef COLO_WALK_FOR_TOOLS
#  include "posix.h" /* colo__posix_sys */
#endif

#define HOPS_MAX 40 /* the kernel's own limit on links in one lookup */

const char *COLO__WALK(type_name)(mode_t m) {
  return S_ISREG(m)    ? "a regular file"
         : S_ISDIR(m)  ? "a directory"
         : S_ISLNK(m)  ? "a symbolic link"
         : S_ISFIFO(m) ? "a FIFO"
         : S_ISSOCK(m) ? "a socket"
         : S_ISCHR(m)  ? "a character device"
         : S_ISBLK(m)  ? "a block device"
                       : "not a regular file";
}

int COLO__WALK(link_trusted)(uid_t owner) { return owner == 0 || owner == geteuid(); }

/* A directory whose links may be followed: nobody but root or this user can
 * put a link in it (its owner is one of them, and it is not writable by
 * group or others unless sticky, where only a link's owner may replace it).
 * So a link of root's that another user hard-linked into a directory of
 * theirs (possible where fs.protected_hardlinks is off) is not followed. */
int COLO__WALK(dir_trusted)(const struct stat *dir) {
  return COLO__WALK(link_trusted)(dir->st_uid) && (!(dir->st_mode & 022) || (dir->st_mode & S_ISVTX));
}

int COLO__WALK(open_dir)(const char *path, int mkdirs, int *dirfd, const char **leaf) {
  *dirfd = -1;
  /* (The library's endpoints are absolute; the command's own paths may be
   * relative to the working directory.) */
  const char *slash = strrchr(path, '/');
  if ((slash && !slash[1]) || !path[0]) return COLO__WALK_ERR(COLO_EINVAL, "%s: not a path to a file", path);
  *leaf = slash ? slash + 1 : path;
  if (strlen(*leaf) > NAME_MAX) return COLO__WALK_ERR(COLO_EINVAL, "%s: the name %s is longer than %d bytes", path, *leaf, NAME_MAX);
  /* What is left to walk, rewritten when a link is followed. */
  char work[2 * PATH_MAX];
  size_t dlen = slash ? (size_t)(slash - path) : 0;
  if (dlen >= sizeof work) return COLO__WALK_ERR(COLO_EINVAL, "%s: path too long", path);
  memcpy(work, path, dlen);
  work[dlen] = '\0';
  int fd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return COLO__WALK_ERRNO(errno, "cannot open", path[0] == '/' ? "/" : "the working directory");
  int hops = 0;
  char *p = work;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) break;
    char *end = strchr(p, '/');
    char keep = end ? *end : '\0';
    if (end) *end = '\0';
    int rc = 0, next = -1;
    if (strcmp(p, ".") == 0) {
      next = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    } else {
      next = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT && mkdirs && (mkdirat(fd, p, 0777) == 0 || errno == EEXIST))
        next = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      int e = errno;
      struct stat st, dst;
      /* The link itself, as one descriptor: its owner, and the target read
       * from that very inode (by name, another user who may write the
       * directory could swap it between the two looks). */
      int lfd = (e == ELOOP || e == ENOTDIR) ? openat(fd, p, O_PATH | O_NOFOLLOW | O_CLOEXEC) : -1;
      if (lfd >= 0 && fstat(lfd, &st) == 0 && S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(lfd, "", target, sizeof target - 1);
        int dir_ok = fstat(fd, &dst) == 0 && COLO__WALK(dir_trusted)(&dst);
        close(lfd);
        lfd = -1;
        if (!COLO__WALK(link_trusted)(st.st_uid))
          rc = COLO__WALK_ERR(COLO_EPERM, "%s: the directory %s on its way is a symbolic link of uid %u, who could point it "
                         "anywhere (colo follows only links of root or of its own user)", path, p, (unsigned)st.st_uid);
        else if (!dir_ok)
          rc = COLO__WALK_ERR(COLO_EPERM, "%s: the directory %s on its way is a symbolic link in a directory of uid %u "
                         "(mode %04o), who could put another there (colo follows links only in directories of root or "
                         "of its own user that others cannot write, or that are sticky)", path, p,
                         (unsigned)dst.st_uid, (unsigned)(dst.st_mode & 07777));
        else if (++hops > HOPS_MAX)
          rc = COLO__WALK_ERR(COLO_EINVAL, "%s: more than %d symbolic links on the way", path, HOPS_MAX);
        else if (n <= 0)
          rc = COLO__WALK_ERRNO(n < 0 ? errno : ENOENT, "cannot read the symbolic link", p);
        else {
          /* Walk the link's target, then the rest. */
          target[n] = '\0';
          char rest[sizeof work];
          size_t rlen = end ? strlen(end + 1) : 0;
          if ((size_t)n + 1 + rlen + 1 > sizeof work) {
            rc = COLO__WALK_ERR(COLO_EINVAL, "%s: path too long once its links are followed", path);
          } else {
            if (rlen) memcpy(rest, end + 1, rlen + 1);
            memcpy(work, target, (size_t)n);
            work[n] = '/';
            memcpy(work + n + 1, rlen ? rest : "", rlen + 1);
            p = work;
            if (target[0] == '/') {
              close(fd);
              if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) return COLO__WALK_ERRNO(errno, "cannot open", "/");
            }
            continue;
          }
        }
      } else if (e == ENOTDIR || e == ELOOP) {
        rc = COLO__WALK_ERR(COLO_EINVAL, "%s: %s on its way is not a directory", path, p);
      } else {
        rc = COLO__WALK_ERRNO(e, mkdirs ? "cannot create or open the directory" : "cannot open the directory", p);
        if (e == ENOENT) COLO__WALK_ERR(COLO_ENOENT, "%s: the directory %s does not exist", path, p);
      }
      if (lfd >= 0) close(lfd);
      close(fd);
      return rc;
    }
    close(fd);
    fd = next;
    if (!end) break;
    *end = keep;
    p = end;
  }
  *dirfd = fd;
  return 0;
}

int COLO__WALK(open_leaf)(int dirfd, const char *leaf, const char *path, int flags, mode_t mode, int *out,
                          struct stat *st) {
  *out = -1;
  /* A look before the open, so that a FIFO or a device is not even opened
   * (opening some has effects); the fstat after it is what counts. */
  if (!(flags & O_CREAT)) {
    if (fstatat(dirfd, leaf, st, AT_SYMLINK_NOFOLLOW) != 0) return COLO__WALK_ERRNO(errno, "cannot open", path);
    if (!S_ISREG(st->st_mode))
      return COLO__WALK_ERR(COLO_EINVAL, "%s is %s, not " COLO__WALK_WHAT " (it is left alone)", path,
                       COLO__WALK(type_name)(st->st_mode));
  }
  int fd = COLO__WALK_OPENAT(dirfd, leaf, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == ELOOP) return COLO__WALK_ERR(COLO_EINVAL, "%s is a symbolic link (colo never opens one)", path);
    return COLO__WALK_ERRNO(errno, flags & O_CREAT ? "cannot create" : "cannot open", path);
  }
  int rc = fstat(fd, st) != 0 ? COLO__WALK_ERRNO(errno, "cannot stat", path)
           : !S_ISREG(st->st_mode)
               ? COLO__WALK_ERR(COLO_EINVAL, "%s is %s, not " COLO__WALK_WHAT " (it is left alone)", path,
                           COLO__WALK(type_name)(st->st_mode))
               : 0;
  if (rc) {
    close(fd);
    return rc;
  }
  /* Blocking was only refused for the open itself. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  *out = fd;
  return 0;
}

int COLO__WALK(make_parents)(const char *path) {
  int dirfd;
  const char *leaf;
  int rc = COLO__WALK(open_dir)(path, 1, &dirfd, &leaf);
  if (!rc) close(dirfd);
  return rc;
}

int COLO__WALK(unlink)(const char *path) {
  int dirfd;
  const char *leaf;
  int rc = COLO__WALK(open_dir)(path, 0, &dirfd, &leaf);
  if (rc) return rc == COLO_ENOENT ? 0 : rc;
  rc = unlinkat(dirfd, leaf, 0) == 0 || errno == ENOENT ? 0 : COLO__WALK_ERRNO(errno, "cannot remove", path);
  close(dirfd);
  return rc;
}

int COLO__WALK(rename_in_dir)(const char *from, const char *to) {
  int dirfd;
  const char *leaf;
  const char *tleaf = strrchr(to, '/') ? strrchr(to, '/') + 1 : to;
  int rc = COLO__WALK(open_dir)(from, 0, &dirfd, &leaf);
  if (rc) return rc;
  if ((size_t)(leaf - from) != (size_t)(tleaf - to) || strncmp(from, to, (size_t)(leaf - from)) != 0)
    rc = COLO__WALK_ERR(COLO_EINVAL, "rename %s to %s: not within one directory", from, to);
  else if (renameat(dirfd, leaf, dirfd, tleaf) != 0)
    rc = COLO__WALK_ERRNO(errno, "cannot rename", from);
  close(dirfd);
  return rc;
}

