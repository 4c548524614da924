/*
 * local.c - colo probe's checks of PATH alone, made by every role: the
 * filesystem and its room, what a segment needs there, a socket there, and
 * /dev/shm.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "probe.h"

/* What the filesystem type means for sharing memory between containers. */
static const char *fs_note(const char *fs) {
  if (!strcmp(fs, "tmpfs") || !strcmp(fs, "ramfs")) return "memory-backed: the best medium, if the other side mounts the same one";
  if (!strcmp(fs, "overlay")) return "a container's own layered root: files here are private to it unless a volume is mounted";
  if (!strcmp(fs, "9p") || !strcmp(fs, "virtiofs"))
    return "shared with a VM's host: a socket cannot cross that boundary and mappings may not be coherent";
  if (!strncmp(fs, "fuse", 4)) return "a FUSE filesystem: shared mappings depend on the driver";
  if (!strcmp(fs, "nfs") || !strcmp(fs, "cifs") || !strcmp(fs, "smb2") || !strcmp(fs, "ceph") || !strcmp(fs, "lustre"))
    return "a network filesystem: no coherent shared mapping between hosts";
  return "disk-backed: works on one host; pages are written back to disk";
}

/* A segment's needs here: h1 is the free space, h3 the size, in words. */
static void segment_checks(probe_t *p, const tos_fsinfo_t *fi, const char *h1, const char *h3) {
  /*
   * What only the probe asks of a segment's file (tools/posix/os_probe.c):
   * whether a --size segment can be reserved here (free space, and no SIGBUS
   * later), and whether a MAP_SHARED mapping is coherent with read(2). The
   * rest of what a segment needs (exclusive creation, reserving, mapping,
   * the presence lock) the library's own file:// listener proves below, so
   * the probe does not make those calls a second time.
   */
  char f[4200];
  int rc;
  snprintf(f, sizeof f, "%s/.colo-probe-%u.tmp", p->path, (unsigned)p->me.pid);
  tos_pfile_t *pf = NULL;
  void *base = NULL;
  if ((rc = tos_pfile_create(f, &pf)) != 0) {
    probe_check(p, "backing", 0, "%s", tos_last_error());
  } else {
    if (fi->avail < p->size) {
      /* Reserving would fail, or, where the filesystem cannot reserve and the
       * C library writes the blocks instead, take long to fail. */
      rc = COLO_ENOSPC;
      probe_check(p, "backing", 0, "%s cannot be reserved: only %s free", h3, h1);
    } else if ((rc = tos_pfile_reserve(pf, p->size)) != 0)
      probe_check(p, "backing", 0, "%s cannot be reserved: %s (a mapping would fault with SIGBUS)", h3, tos_last_error());
    else probe_check(p, "backing", 1, "%s reserved up front: no SIGBUS later", h3);
    if (tos_pfile_map(pf, PROBE_PAGE, &base) != 0 && rc == 0) {
      probe_check(p, "mapping", 0, "%s", tos_last_error());
    } else if (rc == 0) {
      static const char text[] = "colo probe: written through a MAP_SHARED mapping";
      memcpy(base, text, sizeof text);
      int same = tos_pfile_coherent(pf, base, sizeof text);
      probe_check(p, "mapping", same, "MAP_SHARED, read and write%s",
                  same ? ", coherent with read(2)" : ": what it wrote did not read back");
    }
    tos_pfile_close(pf);
    tos_remove(f);
    /* The presence lock of a file:// segment is an open-file-description
     * lock: a listener here works only where those locks do. Its ring is the
     * smallest there is; closing it removes the file. */
    snprintf(f, sizeof f, "file://%s/.colo-probe-%u.ring", p->path, (unsigned)p->me.pid);
    colo_listener_t *fl = NULL;
    colo_opts_t o;
    colo_opts_init(&o);
    o.ring_capacity = 4096;
    int lk = colo_listen(&fl, f, &o);
    probe_check(p, "locks", lk == 0, lk == 0 ? "open-file-description locks work (colo sees a dead peer by its lock)" : "%s",
                colo_last_error());
    colo_listener_close(fl);
  }
}

void probe_local(probe_t *p) {
  tos_fsinfo_t fi;
  char h1[32], h2[32], h3[32];
  int rc = tos_fsinfo(p->path, &fi);
  if (rc) {
    probe_check(p, "directory", 0, "%s", tos_last_error());
    return;
  }
  cli_human_size(fi.avail, h1, sizeof h1);
  cli_human_size(fi.total, h2, sizeof h2);
  probe_check(p, "filesystem", 1, "%s (%s), mounted at %s from %s: %s", fi.fstype, fi.options, fi.mount_point, fi.source,
        fs_note(fi.fstype));
  if (!fi.is_dir) probe_check(p, "directory", 0, "%s is not a directory", p->path);
  else if (fi.read_only) probe_check(p, "directory", 0, "%s is on a read-only mount", p->path);
  else if (!fi.writable) probe_check(p, "directory", 0, "this process (uid %u) may not create files in %s (mode %04o, owner %u:%u)",
                               (unsigned)p->me.uid, p->path, fi.mode, fi.uid, fi.gid);
  else {
    const char *note = (fi.mode & 0002) && !fi.sticky ? "; world-writable without the sticky bit: anyone may remove another's segment"
                       : fi.sticky                      ? "; sticky: only a file's owner removes it"
                       : !(fi.mode & 0022)              ? "; a peer running under another uid cannot create files here"
                                                        : "";
    probe_check(p, "directory", 1, "mode %04o, owner %u:%u%s", fi.mode, fi.uid, fi.gid, note);
  }
  cli_human_size(p->size, h3, sizeof h3);
  probe_check(p, "space", fi.avail >= p->size, "%s free of %s; a %s segment %s", h1, h2, h3,
        fi.avail >= p->size ? "fits" : "does not fit");

  segment_checks(p, &fi, h1, h3);
  /* The library's own unix:// listener, and a connect to it that takes
   * nothing from it (colo_info_endpoint); closing it removes the socket. */
  char f[4200];
  snprintf(f, sizeof f, "unix://%s/.colo-probe-%u.sock", p->path, (unsigned)p->me.pid);
  colo_listener_t *l = NULL;
  colo_info_t in = {.struct_size = sizeof in};
  rc = colo_listen(&l, f, NULL);
  if (rc == 0) rc = colo_info_endpoint(f, NULL, PROBE_STEP_MS, &in);
  probe_check(p, "unix socket", rc == 0, rc == 0 ? "a Unix socket binds and connects here" : "%s", colo_last_error());
  colo_listener_close(l);

  tos_fsinfo_t shm;
  if (tos_fsinfo("/dev/shm", &shm) != 0) {
    probe_check(p, "/dev/shm", 0, "none here: shm:// cannot work (%s)", tos_last_error());
  } else {
    cli_human_size(shm.total, h1, sizeof h1);
    cli_human_size(shm.total - shm.avail, h2, sizeof h2);
    probe_check(p, "/dev/shm", !strcmp(shm.fstype, "tmpfs") && shm.avail >= p->size && shm.writable,
          "%s, %s, %s used%s", shm.fstype, h1, h2,
          shm.avail < p->size ? "; too small for the segment (--shm-size=256m raises it)" : "");
  }
}

