/*
 * os_rootfs.c - a directory tree that runs this program in a container with
 * no image and no registry (podman --rootfs, or a tarball for docker import),
 * and the tree removal that cleans it up again (see tools/os.h).
 *
 * The files come from what the running process has loaded (/proc/self/maps),
 * not from ldd: what runs here is exactly what will run there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <link.h> /* ElfW */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix.h"

/* Everything below writes into a directory another user may own or share
 * (a tree under /tmp): it is reached by the safe walk (shims/posix/walk.c,
 * the library's own: no symbolic link of another user is followed on the
 * way), and every last component is made fresh (O_EXCL after removing what
 * was there, never opened through a link), so nothing outside the tree is
 * ever written, truncated, chmodded or replaced. */

int tos_mkdir(const char *path, unsigned mode) {
  int dirfd;
  const char *leaf;
  int rc = tos_walk_open_dir(path, 1, &dirfd, &leaf);
  if (rc) return rc;
  if (mkdirat(dirfd, leaf, (mode_t)mode) != 0 && errno != EEXIST) rc = tos_posix_err(errno, "mkdir", path);
  int fd = rc ? -1 : openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (!rc && fd < 0) {
    struct stat st;
    if ((errno == ELOOP || errno == ENOTDIR) && fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
      rc = S_ISLNK(st.st_mode) ? tos_err(COLO_EPERM, "%s is a symbolic link (of uid %u): colo writes a tree only into a "
                                         "directory it reaches without following one", path, (unsigned)st.st_uid)
                               : tos_err(COLO_EINVAL, "%s exists and is %s, not a directory", path,
                                         tos_walk_type_name(st.st_mode));
    else
      rc = tos_posix_err(errno, "open", path);
  }
  if (!rc && fchmod(fd, (mode_t)mode) != 0) rc = tos_posix_err(errno, "chmod", path);
  if (fd >= 0) close(fd);
  close(dirfd);
  return rc;
}

/* The directory of path (made as needed, by the safe walk) and path's last
 * component in it, with whatever was there removed (not a directory), unless
 * that is the very file `keep` (a DIR that resolves to / would otherwise
 * remove the host's own files before copying them). */
static int fresh_leaf(const char *path, const struct stat *keep, int *dirfd, const char **leaf) {
  int rc = tos_walk_open_dir(path, 1, dirfd, leaf);
  if (rc) return rc;
  struct stat st;
  if (keep && fstatat(*dirfd, *leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == keep->st_dev &&
      st.st_ino == keep->st_ino)
    rc = tos_err(COLO_EINVAL, "%s is the very file it would be copied from: the tree must not be (or lie in) the "
                 "host's own directories", path);
  else if (unlinkat(*dirfd, *leaf, 0) != 0 && errno != ENOENT)
    rc = tos_posix_err(errno, "cannot replace", path);
  if (rc) close(*dirfd);
  return rc;
}

/* Copies src to dst (dst's directories made), keeping the mode bits. */
static int copy_file(const char *src, const char *dst) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) return tos_posix_err(errno, "open", src);
  struct stat st;
  if (fstat(in, &st) != 0) {
    int e = errno;
    close(in);
    return tos_posix_err(e, "stat", src);
  }
  int dirfd;
  const char *leaf;
  int rc = fresh_leaf(dst, &st, &dirfd, &leaf);
  if (rc) {
    close(in);
    return rc;
  }
  int out = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07755);
  int oe = errno;
  close(dirfd);
  if (out < 0) {
    close(in);
    return tos_posix_err(oe, "create", dst);
  }
  char buf[65536];
  ssize_t n;
  rc = 0;
  while ((n = read(in, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = tos_posix_err(errno, "read", src);
      break;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        rc = tos_posix_err(errno, "write", dst);
        break;
      }
      off += w;
    }
    if (rc) break;
  }
  if (fchmod(out, st.st_mode & 07755) != 0 && !rc) rc = tos_posix_err(errno, "chmod", dst);
  if (close(out) != 0 && !rc) rc = tos_posix_err(errno, "write", dst);
  close(in);
  return rc;
}

/* The ELF interpreter the executable names (PT_INTERP), such as
 * /lib64/ld-linux-x86-64.so.2; "" for a static executable. */
static int elf_interp(const char *exe, char *out, size_t cap) {
  out[0] = 0;
  int fd = open(exe, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tos_posix_err(errno, "open", exe);
  ElfW(Ehdr) eh;
  int rc = tos_err(COLO_EINVAL, "%s: not an ELF executable of this machine", exe);
  if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
      eh.e_phentsize == sizeof(ElfW(Phdr)) && eh.e_phnum < 512) {
    rc = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
      ElfW(Phdr) ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph) break;
      if (ph.p_type != PT_INTERP) continue;
      if (ph.p_filesz == 0 || ph.p_filesz >= cap ||
          pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz || out[0] != '/') {
        out[0] = 0;
        rc = tos_err(COLO_EINVAL, "%s: unreadable ELF interpreter path", exe);
      }
      out[cap - 1] = 0;
      break;
    }
  }
  close(fd);
  return rc;
}

/* The names the loader asks for are often links to the file that is mapped
 * (libmimalloc.so.2 -> libmimalloc.so.2.0): copy the file under each name in
 * its directory that resolves to it. */
static int place_aliases(const char *dir, const char *file, const char *at, void (*files)(void *, const char *),
                         void *ctx);

#ifndef TOS_BIN_TO_LIB
#  define TOS_BIN_TO_LIB "../lib" /* CMake sets it: the installed colo's RUNPATH is $ORIGIN/TOS_BIN_TO_LIB */
#endif

/* An installed colo finds libcolo through its RUNPATH, $ORIGIN/TOS_BIN_TO_LIB.
 * As /colo at the root of the tree it resolves that to /lib (a ".." above the
 * root stays there), so a library loaded from that directory of the host goes
 * there too. host: the directory on the host ("" when there is none); inside:
 * where it is in the tree. */
static void origin_libdir(const char *exe, char *host, size_t hcap, char *inside, size_t icap) {
  char p[PATH_MAX];
  const char *rel = TOS_BIN_TO_LIB;
  snprintf(p, sizeof p, "%s", exe);
  *strrchr(p, '/') = 0;
  size_t n = strlen(p);
  snprintf(p + n, sizeof p - n, "/%s", rel);
  host[0] = 0;
  if (strlen(p) < hcap && realpath(p, host) == NULL) host[0] = 0;
  while (!strncmp(rel, "../", 3)) rel += 3;
  snprintf(inside, icap, "/%s", rel);
}

/* Copies host file src to dir + dst. */
static int place(const char *dir, const char *src, const char *dst, void (*files)(void *, const char *), void *ctx) {
  char to[PATH_MAX];
  if (snprintf(to, sizeof to, "%s%s", dir, dst) > TOS_PATH_MAX) return tos_err(COLO_EINVAL, "path too long: %s%s", dir, dst);
  int rc = copy_file(src, to);
  if (!rc && files) files(ctx, dst);
  return rc;
}

/* libc.so.6, libmimalloc.so.2.0, ld-linux-x86-64.so.2: ".so" ends the name or precedes a version. */
static int is_shared_object(const char *path) {
  const char *base = strrchr(path, '/') + 1, *so = strstr(base, ".so");
  return so && (so[3] == 0 || so[3] == '.');
}

int tos_rootfs(const char *dir, int busybox, void (*files)(void *ctx, const char *path), void *ctx) {
  int rc = tos_mkdir(dir, 0755);
  static const char *const mounts[] = {"dev", "proc", "sys", "tmp", "etc", "run", "colo-shared"};
  char path[PATH_MAX];
  for (size_t i = 0; !rc && i < sizeof mounts / sizeof mounts[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, mounts[i]);
    rc = tos_mkdir(path, strcmp(mounts[i], "tmp") ? 0755 : 01777);
  }
  if (rc) return rc;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return tos_posix_err(errno, "readlink", "/proc/self/exe");
  exe[n] = 0;
  if ((rc = place(dir, "/proc/self/exe", "/colo", files, ctx)) != 0) return rc;
  char libdir[PATH_MAX], inside[PATH_MAX];
  origin_libdir(exe, libdir, sizeof libdir, inside, sizeof inside);
  /* Every file mapped into this process but the executable: its libraries
   * and the loader, at their real paths (which the loader's default search
   * covers on multiarch Debian). */
  FILE *maps = fopen("/proc/self/maps", "re");
  if (!maps) return tos_posix_err(errno, "open", "/proc/self/maps");
  char line[PATH_MAX + 128], done[32][PATH_MAX / 4];
  int ndone = 0;
  while (!rc && fgets(line, sizeof line, maps)) {
    char *file = strchr(line, '/');
    if (!file) continue;
    file[strcspn(file, "\n")] = 0;
    if (strstr(file, " (deleted)") || !strcmp(file, exe) || !is_shared_object(file)) continue;
    int seen = 0;
    for (int i = 0; i < ndone; i++) seen |= !strcmp(done[i], file);
    if (seen) continue;
    if (ndone == 32 || strlen(file) >= sizeof done[0]) {
      rc = tos_err(COLO_EINVAL, "too many or too long library paths (%s)", file);
      break;
    }
    snprintf(done[ndone++], sizeof done[0], "%s", file);
    rc = place(dir, file, file, files, ctx);
    if (!rc) rc = place_aliases(dir, file, NULL, files, ctx);
    size_t hl = strlen(libdir);
    if (!rc && hl && !strncmp(file, libdir, hl) && file[hl] == '/' && !strchr(file + hl + 1, '/') && strcmp(libdir, inside)) {
      char to[PATH_MAX];
      snprintf(to, sizeof to, "%s%s", inside, file + hl);
      rc = place(dir, file, to, files, ctx);
      if (!rc) rc = place_aliases(dir, file, inside, files, ctx);
    }
  }
  fclose(maps);
  if (rc) return rc;
  /* The interpreter again at the path the executable asks for, which is
   * often a symbolic link on the host (/lib64 -> usr/lib64 ...). */
  char interp[PATH_MAX];
  if ((rc = elf_interp("/proc/self/exe", interp, sizeof interp)) != 0) return rc;
  if (interp[0]) {
    char real[PATH_MAX];
    if (!realpath(interp, real)) return tos_posix_err(errno, "realpath", interp);
    if (strcmp(real, interp) && (rc = place(dir, real, interp, files, ctx)) != 0) return rc;
  }
  if (busybox) {
    struct stat st;
    if (stat("/bin/busybox", &st) != 0) return tos_err(COLO_ENOENT, "no /bin/busybox here (Debian package busybox-static)");
    if ((rc = place(dir, "/bin/busybox", "/bin/busybox", files, ctx)) != 0) return rc;
    snprintf(path, sizeof path, "%s/bin/sh", dir);
    int dirfd;
    const char *leaf;
    if ((rc = fresh_leaf(path, NULL, &dirfd, &leaf)) != 0) return rc;
    rc = symlinkat("busybox", dirfd, leaf) != 0 ? tos_posix_err(errno, "symlink", path) : 0;
    close(dirfd);
    if (rc) return rc;
  }
  return 0;
}

/* at: the directory of the tree to place them in; NULL: the file's own. */
static int place_aliases(const char *dir, const char *file, const char *at, void (*files)(void *, const char *),
                         void *ctx) {
  char parent[PATH_MAX], entry[PATH_MAX], real[PATH_MAX], to[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", file);
  *strrchr(parent, '/') = 0;
  DIR *d = opendir(parent[0] ? parent : "/");
  if (!d) return tos_posix_err(errno, "opendir", parent);
  struct dirent *de;
  int rc = 0;
  while (!rc && (de = readdir(d))) {
    struct stat st;
    if (snprintf(entry, sizeof entry, "%s/%s", parent, de->d_name) >= (int)sizeof entry) continue;
    if (lstat(entry, &st) != 0 || !S_ISLNK(st.st_mode) || !realpath(entry, real) || strcmp(real, file)) continue;
    if (at) snprintf(to, sizeof to, "%s/%s", at, de->d_name);
    rc = place(dir, file, at ? to : entry, files, ctx);
  }
  closedir(d);
  return rc;
}

/* ---- removal ------------------------------------------------------------------------- */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)ftw;
  if (type == FTW_DP) rmdir(path);
  else unlink(path);
  return 0;
}

int tos_tree_remove(const char *dir) {
  struct stat st;
  if (lstat(dir, &st) != 0) return errno == ENOENT ? 0 : tos_posix_err(errno, "stat", dir);
  /* FTW_PHYS: links are removed, never followed; FTW_MOUNT: stays on dir's filesystem. */
  if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) return tos_posix_err(errno, "remove", dir);
  if (lstat(dir, &st) == 0) return tos_err(COLO_EIO, "%s: could not remove everything in it (a mount inside?)", dir);
  return 0;
}
