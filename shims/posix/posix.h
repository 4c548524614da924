/*
 * posix.h - private to shims/posix: the system calls a test build may
 * replace to make them fail on purpose (SQLite's aSyscall[] idea). Production
 * code calls them only through colo__posix_sys.
 */
#ifndef COLO_SHIMS_POSIX_H
#define COLO_SHIMS_POSIX_H

#include <sys/types.h>

typedef struct colo__posix_sys {
  /* open(2) / shm_open(3) with O_CREAT semantics as given; return fd or -1/errno */
  int (*open)(const char *path, int flags, mode_t mode);
  int (*shm_open)(const char *name, int flags, mode_t mode);
  /* posix_fallocate(3): returns 0 or an error number */
  int (*fallocate)(int fd, off_t off, off_t len);
} colo__posix_sys_t;

extern colo__posix_sys_t colo__posix_sys;

/* errno -> COLO_E* with "what obj: strerror" as the detail. */
int colo__posix_err(int e, const char *what, const char *obj);

#define COLO__SHM_DIR "/dev/shm"
#define COLO__SHM_PREFIX "colo."

#endif
