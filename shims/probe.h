/*
 * probe.h - the OS contract of `colo probe`: what a directory is as a medium
 * between two processes (filesystem, room, mappings, locks, sockets) and who
 * this process is (namespaces, host). Not part of libcolo. shims/posix/
 * os_probe.c implements it for Linux.
 *
 * Conventions as in shim.h: 0 or a negative COLO_E* code, whose detail
 * (colo_last_error()) carries the OS's own words.
 */
#ifndef COLO_SHIMS_PROBE_H
#define COLO_SHIMS_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "shim.h"

typedef struct colo__os_fsinfo {
  char fstype[32];        /* "tmpfs", "overlay", "9p", "virtiofs", "fuse", "nfs", "ext4"... or "0x…" */
  char mount_point[256];  /* the mount the path is on */
  char source[128];       /* what is mounted there */
  char options[256];      /* its mount options */
  uint64_t total, avail;  /* bytes; avail: for this user */
  uint32_t mode, uid, gid; /* of the path itself: permission bits, owner */
  int is_dir, writable, sticky, read_only;
  int mount_is_path;      /* the path itself is a mount point */
} colo__os_fsinfo_t;

int colo__os_fsinfo(const char *path, colo__os_fsinfo_t *fi);

/* A scratch file, to try a medium the way a segment would use it. */
typedef struct colo__os_pfile colo__os_pfile_t;
/* Creates path exclusively (0644, so a peer under another uid can read it). */
int colo__os_pfile_create(const char *path, colo__os_pfile_t **out);
/* Opens an existing one, read and write; COLO_ENOENT while it is not there.
 * Like a segment: no link is followed, a FIFO or device is refused unopened. */
int colo__os_pfile_open(const char *path, colo__os_pfile_t **out);
/* Sets the size and reserves the blocks (no SIGBUS later): COLO_ENOSPC... */
int colo__os_pfile_reserve(colo__os_pfile_t *f, uint64_t size);
/* Maps size bytes MAP_SHARED, read and write; unmapped by close. COLO_ECORRUPT
 * when the file is shorter (a page is never mapped past its end); a later
 * truncation does not fault the process: see colo__os_pfile_lost. */
int colo__os_pfile_map(colo__os_pfile_t *f, uint64_t size, void **base);
/* 1 when the mapped file shrank under the mapping (it reads as zeros now). */
int colo__os_pfile_lost(const colo__os_pfile_t *f);
/* 1 when bytes written through the mapping read back through read(2). */
int colo__os_pfile_coherent(colo__os_pfile_t *f, const void *base, size_t n);
/* An open-file-description write lock on [off, off+len): 0; COLO_EBUSY when
 * another holds one; COLO_ENOTSUP when the filesystem has no such locks. */
int colo__os_pfile_lock(colo__os_pfile_t *f, uint64_t off, uint64_t len);
/* 1 when another open file description holds a write lock there (what only
 * a writer of the file can take), 0 when none does. */
int colo__os_pfile_locked(colo__os_pfile_t *f, uint64_t off, uint64_t len);
void colo__os_pfile_id(const colo__os_pfile_t *f, uint64_t *dev, uint64_t *ino);
void colo__os_pfile_close(colo__os_pfile_t *f);

/* unlink; a missing file is 0. */
int colo__os_remove(const char *path);
/* rename within a directory (atomic publication). */
int colo__os_rename(const char *from, const char *to);
/* Who this process is, to compare with a peer. */
#define COLO__NS_COUNT 7
extern const char *const colo__ns_names[COLO__NS_COUNT]; /* ipc mnt pid net user uts cgroup */
typedef struct colo__os_ids {
  uint64_t ns[COLO__NS_COUNT]; /* namespace inode numbers; 0 when unknown */
  char host[65];
  uint32_t pid, uid;
} colo__os_ids_t;
void colo__os_ids(colo__os_ids_t *ids);

#endif
