/*
 * walk.h - reaching a file by a path without letting another local user
 * choose where it lands (walk.c).
 *
 * One implementation, compiled twice: into libcolo's posix shim (names
 * colo__posix_*, errors through colo__err) and into the colo command's own
 * posix layer (built with COLO_WALK_FOR_TOOLS: names tos_walk_*, errors
 * through tos_err), which cannot reach libcolo's internals (it links the
 * shared library) but writes into directories other users may share (colo
 * rootfs, colo probe) and must walk exactly as carefully.
 */
#ifndef COLO_SHIMS_POSIX_WALK_H
#define COLO_SHIMS_POSIX_WALK_H

#include <sys/stat.h>
#include <sys/types.h>

#ifdef COLO_WALK_FOR_TOOLS
#  include "../../tools/posix/posix.h" /* tos_err, tos_posix_err */
#  define COLO__WALK(name) tos_walk_##name
#  define COLO__WALK_ERR tos_err
#  define COLO__WALK_ERRNO tos_posix_err
#  define COLO__WALK_OPENAT openat
#  define COLO__WALK_WHAT "a regular file"
#else
#  include "../shim.h"
int colo__posix_err(int e, const char *what, const char *path);
#  define COLO__WALK(name) colo__posix_##name
#  define COLO__WALK_ERR colo__err
#  define COLO__WALK_ERRNO colo__posix_err
#  define COLO__WALK_OPENAT colo__posix_sys.openat /* the fault-injection table (posix.h) */
#  define COLO__WALK_WHAT "a colo segment"
#endif

/* Opens (O_PATH) the directory holding the last component of path, walking
 * from "/" (or from the working directory, for a relative path: the command's
 * own paths) without following a symbolic link that belongs to
 * anyone but root or this user; with mkdirs, missing directories are made
 * (0777 less the umask). *leaf points at the last component in path. */
int COLO__WALK(open_dir)(const char *path, int mkdirs, int *dirfd, const char **leaf);
/* Opens leaf in dirfd with flags plus O_NOFOLLOW, O_NONBLOCK and O_CLOEXEC
 * (blocking is cleared once open), and refuses anything that is not a
 * regular file, before opening it (no FIFO or device is opened) and after
 * (fstat on the descriptor, into *st). path names it in messages. */
int COLO__WALK(open_leaf)(int dirfd, const char *leaf, const char *path, int flags, mode_t mode, int *fd,
                          struct stat *st);
/* mkdir -p of path's directory, by open_dir. */
int COLO__WALK(make_parents)(const char *path);
/* unlink and rename of a file reached by open_dir (a missing file is 0 for
 * unlink); rename stays within one directory. */
int COLO__WALK(unlink)(const char *path);
int COLO__WALK(rename_in_dir)(const char *from, const char *to);
/* "a FIFO", "a symbolic link", ... for messages. */
const char *COLO__WALK(type_name)(mode_t mode);
/* 1 when a symbolic link of this owner may be followed (root, this user). */
int COLO__WALK(link_trusted)(uid_t owner);
/* 1 when links in this directory may be followed (see walk.c). */
int COLO__WALK(dir_trusted)(const struct stat *dir);

#endif
