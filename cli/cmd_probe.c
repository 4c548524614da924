/*
 * cmd_probe.c - `colo probe`: can this directory, or this pair of
 * containers, carry shared memory, and what would make it?
 *
 *   colo probe PATH        checks PATH as a medium, alone
 *   colo probe serve PATH  \  run one in each container (either first): they
 *   colo probe join PATH   /  find each other through PATH and try every medium
 *
 * serve and join prove each medium with data that crosses it: a nonce
 * through a shared mapping of a file on PATH, a futex wake, a lock, then a
 * channel of each transport (colo:// over a socket on PATH, a file:// ring on
 * PATH, a shm:// segment in /dev/shm, unix:// on PATH) carrying a short
 * latency sample. Nothing is taken on trust: a file both can open is not a
 * shared one until each side has seen the other's nonce in it.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "util.h"

static const char probe_help[] =
    "Usage: colo probe PATH [options]\n"
    "       colo probe serve PATH [options]\n"
    "       colo probe join PATH [options]\n"
    "\n"
    "colo probe PATH checks a directory as a medium for shared memory: its\n"
    "filesystem (tmpfs, overlay, 9p, virtiofs, fuse, nfs, ext4 ...), free space\n"
    "and whether a segment can really be backed (no SIGBUS later), a MAP_SHARED\n"
    "mapping, permissions and the sticky bit, open-file-description locks, a\n"
    "Unix socket there; and the size and use of /dev/shm.\n"
    "\n"
    "Between two containers, run 'colo probe serve PATH' in one and 'colo probe\n"
    "join PATH' in the other, in either order: each waits for the other (see\n"
    "--timeout). They check that a nonce written through a file on PATH is seen\n"
    "by the other (the same file, a coherent mapping), that a futex wake and a\n"
    "lock cross, that a Unix socket on PATH connects and passes a memfd, compare\n"
    "their namespaces and hostnames, and run a short latency sample through\n"
    "every transport that works. The verdict names the fastest, and for a\n"
    "faster one that is blocked, the change that would enable it.\n"
    "\n"
    "Options:\n"
    "  -t, --timeout SECONDS  serve, join: wait this long for the other side\n"
    "                         (default 60)\n"
    "  -s, --size SIZE        the segment to try backing (default 4M)\n"
    "      --json             one JSON object on stdout, for scripts\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 shared memory works, 1 only sockets (or pipes) do, 2\n"
    "nothing does (or usage error: the message says which), 130 interrupted.\n"
    "\n"
    "Examples (docs/containers.md has the container command lines):\n"
    "  colo probe /dev/shm\n"
    "  colo probe serve /shared      # in container A\n"
    "  colo probe join /shared       # in container B\n";

#define PROBE_MAGIC 0x31425250424f4c43ull /* "CLOBPRB1" */
#define PROBE_PAGE 4096
#define PROBE_SAMPLE 2000       /* round trips per transport, the first 200 untimed */
#define PROBE_STEP_MS 5000      /* any one step once both sides are there */
#define PROBE_MAX_CHECKS 20

enum { M_COLO, M_FILE, M_SHM, M_UNIX, M_COUNT };

/* The shared page in PATH/colo-probe.seg: each side writes only its half. */
typedef struct probe_half {
  _Atomic uint64_t nonce; /* written last: the rest of the half is valid once it is not 0 */
  _Atomic uint64_t echo;  /* the other side's nonce, as seen here */
} probe_half_t;
typedef struct probe_page {
  uint64_t magic;
  probe_half_t serve, join;
  _Atomic uint32_t futex;
} probe_page_t;

typedef struct check {
  const char *name;
  int state; /* 1 yes, 0 no, -1 not tried */
  char detail[600];
} check_t;

typedef struct medium {
  const char *name, *what;
  char ep[512];
  int state; /* 1 works, 0 does not, -1 not tried */
  uint64_t p50, p99;
  char why[600];
} medium_t;

typedef struct probe {
  int role; /* 0 PATH alone, 1 serve, 2 join */
  const char *path;
  int timeout_ms, json;
  uint64_t size;
  check_t checks[PROBE_MAX_CHECKS];
  int nchecks;
  /* serve, join */
  int peer;                /* the other side was found */
  double found_s;
  tos_ids_t me, them;
  char their_fs[32];
  uint64_t dev[2], ino[2]; /* of the shared page: mine, theirs */
  medium_t media[M_COUNT];
  char rung[600];          /* what colo:// said about its rungs */
  char fixes[6][400];
  int nfixes;
} probe_t;

/* Why the last step failed: the library's words, or ours for a peer that
 * broke the probe's own protocol. */
static char proto_why[200];
static int proto_err(const char *why) {
  snprintf(proto_why, sizeof proto_why, "%s", why);
  return COLO_EPROTO;
}
static const char *why_of(int rc) { return rc == COLO_EPROTO && proto_why[0] ? proto_why : colo_last_error(); }

static check_t *check(probe_t *p, const char *name, int state, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#include <stdarg.h>
static check_t *check(probe_t *p, const char *name, int state, const char *fmt, ...) {
  if (p->nchecks == PROBE_MAX_CHECKS) return &p->checks[PROBE_MAX_CHECKS - 1];
  check_t *c = &p->checks[p->nchecks++];
  c->name = name, c->state = state;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->detail, sizeof c->detail, fmt, ap);
  va_end(ap);
  return c;
}

static const check_t *find_check(const probe_t *p, const char *name) {
  for (int i = 0; i < p->nchecks; i++)
    if (!strcmp(p->checks[i].name, name)) return &p->checks[i];
  return NULL;
}

static void add_fix(probe_t *p, const char *fix) {
  for (int i = 0; i < p->nfixes; i++)
    if (!strcmp(p->fixes[i], fix)) return;
  if (p->nfixes < 6) snprintf(p->fixes[p->nfixes++], sizeof p->fixes[0], "%s", fix);
}

/* ---- PATH alone ----------------------------------------------------------------------------- */

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

static void local_checks(probe_t *p) {
  tos_fsinfo_t fi;
  char h1[32], h2[32], h3[32];
  int rc = tos_fsinfo(p->path, &fi);
  if (rc) {
    check(p, "directory", 0, "%s", tos_last_error());
    return;
  }
  cli_human_size(fi.avail, h1, sizeof h1);
  cli_human_size(fi.total, h2, sizeof h2);
  check(p, "filesystem", 1, "%s (%s), mounted at %s from %s: %s", fi.fstype, fi.options, fi.mount_point, fi.source,
        fs_note(fi.fstype));
  if (!fi.is_dir) check(p, "directory", 0, "%s is not a directory", p->path);
  else if (fi.read_only) check(p, "directory", 0, "%s is on a read-only mount", p->path);
  else if (!fi.writable) check(p, "directory", 0, "this process (uid %u) may not create files in %s (mode %04o, owner %u:%u)",
                               (unsigned)p->me.uid, p->path, fi.mode, fi.uid, fi.gid);
  else {
    const char *note = (fi.mode & 0002) && !fi.sticky ? "; world-writable without the sticky bit: anyone may remove another's segment"
                       : fi.sticky                      ? "; sticky: only a file's owner removes it"
                       : !(fi.mode & 0022)              ? "; a peer running under another uid cannot create files here"
                                                        : "";
    check(p, "directory", 1, "mode %04o, owner %u:%u%s", fi.mode, fi.uid, fi.gid, note);
  }
  cli_human_size(p->size, h3, sizeof h3);
  check(p, "space", fi.avail >= p->size, "%s free of %s; a %s segment %s", h1, h2, h3,
        fi.avail >= p->size ? "fits" : "does not fit");

  /* A segment the way colo makes one: created, reserved, mapped, locked. */
  char f[4200];
  snprintf(f, sizeof f, "%s/.colo-probe-%u.tmp", p->path, (unsigned)p->me.pid);
  tos_pfile_t *pf = NULL;
  void *base = NULL;
  if ((rc = tos_pfile_create(f, &pf)) != 0) {
    check(p, "backing", 0, "%s", tos_last_error());
  } else {
    if (fi.avail < p->size) {
      /* Reserving would fail, or, where the filesystem cannot reserve and the
       * C library writes the blocks instead, take long to fail. */
      rc = COLO_ENOSPC;
      check(p, "backing", 0, "%s cannot be reserved: only %s free", h3, h1);
    } else if ((rc = tos_pfile_reserve(pf, p->size)) != 0)
      check(p, "backing", 0, "%s cannot be reserved: %s (a mapping would fault with SIGBUS)", h3, tos_last_error());
    else check(p, "backing", 1, "%s reserved up front: no SIGBUS later", h3);
    if (tos_pfile_map(pf, PROBE_PAGE, &base) != 0 && rc == 0) {
      check(p, "mapping", 0, "%s", tos_last_error());
    } else if (rc == 0) {
      static const char text[] = "colo probe: written through a MAP_SHARED mapping";
      memcpy(base, text, sizeof text);
      int same = tos_pfile_coherent(pf, base, sizeof text);
      check(p, "mapping", same, "MAP_SHARED, read and write%s",
            same ? ", coherent with read(2)" : ": what it wrote did not read back");
    }
    int lk = tos_pfile_lock(pf, 0, 8);
    check(p, "locks", lk == 0, lk == 0 ? "open-file-description locks work (colo sees a dead peer by its lock)" : "%s",
          tos_last_error());
    tos_pfile_close(pf);
    tos_remove(f);
  }
  /* The library's own unix:// listener, and a connect to it that takes
   * nothing from it (colo_info_endpoint); closing it removes the socket. */
  snprintf(f, sizeof f, "unix://%s/.colo-probe-%u.sock", p->path, (unsigned)p->me.pid);
  colo_listener_t *l = NULL;
  colo_info_t in;
  rc = colo_listen(&l, f, NULL);
  if (rc == 0) rc = colo_info_endpoint(f, NULL, PROBE_STEP_MS, &in);
  check(p, "unix socket", rc == 0, rc == 0 ? "a Unix socket binds and connects here" : "%s", colo_last_error());
  colo_listener_close(l);

  tos_fsinfo_t shm;
  if (tos_fsinfo("/dev/shm", &shm) != 0) {
    check(p, "/dev/shm", 0, "none here: shm:// cannot work (%s)", tos_last_error());
  } else {
    cli_human_size(shm.total, h1, sizeof h1);
    cli_human_size(shm.total - shm.avail, h2, sizeof h2);
    check(p, "/dev/shm", !strcmp(shm.fstype, "tmpfs") && shm.avail >= p->size && shm.writable,
          "%s, %s, %s used%s", shm.fstype, h1, h2,
          shm.avail < p->size ? "; too small for the segment (--shm-size=256m raises it)" : "");
  }
}

/* ---- serve and join -------------------------------------------------------------------------------- */

/* key=value from a control line; the value runs to the next space, or to the
 * end of the line for "why". */
static int field(const char *line, const char *key, char *out, size_t cap) {
  const char *v = cli_kv(line, key);
  size_t n = !v ? 0 : strcmp(key, "why") ? strcspn(v, " ") : strlen(v);
  if (n >= cap) n = cap - 1;
  if (v) memcpy(out, v, n);
  out[n] = 0;
  return v != NULL;
}

static uint64_t field_u64(const char *line, const char *key) {
  const char *v = cli_kv(line, key);
  return v ? strtoull(v, NULL, 0) : 0;
}

static int ctl_send(colo_chan_t *ch, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int ctl_send(colo_chan_t *ch, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return COLO_EINVAL;
  return colo_send(ch, line, strlen(line), PROBE_STEP_MS);
}

static int ctl_recv(colo_chan_t *ch, char *line, size_t cap, int timeout_ms) {
  size_t len;
  int rc = colo_recv(ch, line, cap - 1, &len, timeout_ms);
  if (rc) return rc;
  line[len] = 0;
  if (strlen(line) != len) return proto_err("a control message with a NUL byte");
  return 0;
}

static void ids_line(const probe_t *p, char *out, size_t cap, const char *fs) {
  int n = snprintf(out, cap, "pid=%u uid=%u host=%s fs=%s dev=%llu ino=%llu", (unsigned)p->me.pid, (unsigned)p->me.uid,
                   p->me.host[0] ? p->me.host : "-", fs, (unsigned long long)p->dev[0], (unsigned long long)p->ino[0]);
  for (int i = 0; i < TOS_NS_COUNT && n > 0 && (size_t)n < cap; i++)
    n += snprintf(out + n, cap - (size_t)n, " ns_%s=%llu", tos_ns_names[i], (unsigned long long)p->me.ns[i]);
}

static void read_ids(probe_t *p, const char *line) {
  p->them.pid = (uint32_t)field_u64(line, "pid");
  p->them.uid = (uint32_t)field_u64(line, "uid");
  field(line, "host", p->them.host, sizeof p->them.host);
  field(line, "fs", p->their_fs, sizeof p->their_fs);
  p->dev[1] = field_u64(line, "dev"), p->ino[1] = field_u64(line, "ino");
  for (int i = 0; i < TOS_NS_COUNT; i++) {
    char k[16];
    snprintf(k, sizeof k, "ns_%s", tos_ns_names[i]);
    p->them.ns[i] = field_u64(line, k);
  }
}

/* join: PROBE_SAMPLE timed round trips of 64 bytes; serve: echoes them. */
static int sample(colo_chan_t *ch, int timer, medium_t *m) {
  static uint64_t t[PROBE_SAMPLE];
  char msg[64], back[64];
  memset(msg, 'c', sizeof msg);
  for (int i = 0; i < PROBE_SAMPLE; i++) {
    size_t len;
    int rc;
    if (timer) {
      uint64_t t0 = tos_now_ns();
      memcpy(msg, &i, sizeof i);
      if ((rc = colo_send(ch, msg, sizeof msg, PROBE_STEP_MS)) != 0 ||
          (rc = colo_recv(ch, back, sizeof back, &len, PROBE_STEP_MS)) != 0)
        return rc;
      if (len != sizeof msg || memcmp(back, msg, len)) return proto_err("a round trip came back changed");
      t[i] = tos_now_ns() - t0;
    } else {
      if ((rc = colo_recv(ch, back, sizeof back, &len, PROBE_STEP_MS)) != 0 ||
          (rc = colo_send(ch, back, len, PROBE_STEP_MS)) != 0)
        return rc;
    }
  }
  if (timer) { /* the first tenth warms up */
    uint64_t *timed = t + PROBE_SAMPLE / 10, n = PROBE_SAMPLE - PROBE_SAMPLE / 10;
    bench_sort_u64(timed, n);
    m->p50 = bench_pct(timed, n, 0.50);
    m->p99 = bench_pct(timed, n, 0.99);
  }
  return 0;
}

/* What colo:// chose for the control channel, and why; with checks, the
 * socket and descriptor-passing checks it proves. */
static void describe_colo(probe_t *p, colo_chan_t *ch, int checks) {
  colo_info_t in;
  if (colo_info(ch, &in) != 0) return;
  int n = snprintf(p->rung, sizeof p->rung, "%s", in.how);
  const char *memfd_why = "";
  for (unsigned i = 0; i < in.skipped_count && n > 0 && (size_t)n < sizeof p->rung; i++) {
    n += snprintf(p->rung + n, sizeof p->rung - (size_t)n, "; %s skipped: %s", in.skipped[i].what, in.skipped[i].why);
    if (!strcmp(in.skipped[i].what, "memfd")) memfd_why = in.skipped[i].why;
  }
  p->media[M_COLO].what = in.rung == 1 ? "memfd ring over the socket" : in.rung == 2 ? "named shared memory" : "the socket";
  if (!checks) return;
  check(p, "socket", 1, "a Unix socket on the path connects (colo-probe.sock)");
  if (in.rung == 1) check(p, "memfd", 1, "a memfd passed across the socket, mapped by both sides, proven with a nonce");
  else check(p, "memfd", 0, "no memfd crossed: %s", memfd_why[0] ? memfd_why : "the rendezvous did not try it");
}

typedef struct endpoints {
  char page[4200], tmp[4200];
} endpoints_t;

static void media_init(probe_t *p, uint64_t serve_nonce) {
  static const char *const names[M_COUNT] = {"colo", "file", "shm", "unix"};
  static const char *const what[M_COUNT] = {"rendezvous on a socket", "a ring in a file on the path",
                                            "a ring in /dev/shm", "a Unix socket"};
  for (int m = 0; m < M_COUNT; m++) {
    p->media[m].name = names[m], p->media[m].what = what[m], p->media[m].state = -1;
  }
  snprintf(p->media[M_COLO].ep, sizeof p->media[0].ep, "colo://%s/colo-probe.sock", p->path);
  snprintf(p->media[M_FILE].ep, sizeof p->media[0].ep, "file://%s/colo-probe.ring", p->path);
  snprintf(p->media[M_SHM].ep, sizeof p->media[0].ep, "shm://colo-probe-%016llx", (unsigned long long)serve_nonce);
  snprintf(p->media[M_UNIX].ep, sizeof p->media[0].ep, "unix://%s/colo-probe-u.sock", p->path);
}

/* The page's coherence: each side saw the other's nonce through its own mapping. */
static void page_checks(probe_t *p, int mine_seen, int theirs_seen) {
  if (mine_seen && theirs_seen)
    check(p, "shared file", 1, "each side saw the other's nonce through its own mapping of colo-probe.seg (%s)",
          p->dev[0] == p->dev[1] && p->ino[0] == p->ino[1] ? "the same inode"
                                                           : "the same file, reached through different mounts");
  else check(p, "shared file", 0, "the other side's nonce never appeared in %s/colo-probe.seg: %s", p->path,
             mine_seen || theirs_seen ? "the mapping is not coherent between the two" : "the path is not the same directory for both");
}

/* The page read as zeros once its file shrank (os_probe.c guards it). */
static void page_lost(probe_t *p, const char *page) {
  check(p, "shared file", 0, "%s shrank under this side's mapping (the other side, or another writer, truncated it): "
        "what was read there is not to be believed", page);
}

static void ns_check(probe_t *p) {
  char same[128] = "", diff[128] = "";
  for (int i = 0; i < TOS_NS_COUNT; i++) {
    char *to = p->me.ns[i] && p->me.ns[i] == p->them.ns[i] ? same : diff;
    if (to[0]) strcat(to, ",");
    strcat(to, tos_ns_names[i]);
  }
  check(p, "namespaces", 1, "shared: %s; separate: %s; hosts '%s' and '%s'%s", same[0] ? same : "none",
        diff[0] ? diff : "none", p->me.host, p->them.host,
        !strcmp(p->me.host, p->them.host) ? "" : " (different: these are two containers or hosts)");
}

/* serve: waits for a connection on medium m while watching the control
 * channel for join's report that it could not connect. */
static colo_chan_t *serve_accept(probe_t *p, colo_listener_t *l, colo_chan_t *ctl, int m) {
  uint64_t end = tos_now_ns() + (uint64_t)PROBE_STEP_MS * 2000000u;
  char line[2048];
  while (!cli_stop && tos_now_ns() < end) {
    colo_chan_t *ch = NULL;
    int rc = colo_accept(l, &ch, 100);
    if (rc == 0) return ch;
    if (rc != COLO_ETIMEDOUT) {
      p->media[m].state = 0;
      snprintf(p->media[m].why, sizeof p->media[m].why, "accept: %s", colo_last_error());
      return NULL;
    }
    if (ctl_recv(ctl, line, sizeof line, 0) == 0 && !strncmp(line, "fail ", 5)) {
      p->media[m].state = 0;
      field(line, "why", p->media[m].why, sizeof p->media[m].why);
      return NULL;
    }
  }
  p->media[m].state = 0;
  snprintf(p->media[m].why, sizeof p->media[m].why, "no connection arrived");
  return NULL;
}

static int run_serve(probe_t *p) {
  endpoints_t e;
  uint64_t nonce = 0;
  while (!nonce) tos_random(&nonce, sizeof nonce);
  media_init(p, nonce);
  snprintf(e.page, sizeof e.page, "%s/colo-probe.seg", p->path);
  snprintf(e.tmp, sizeof e.tmp, "%s/colo-probe.seg.%u", p->path, (unsigned)p->me.pid);
  colo_listener_t *l[M_COUNT] = {NULL};
  colo_opts_t o;
  colo_opts_init(&o);
  o.ring_capacity = 64 << 10;
  o.perm = 0666; /* the peer may run as another uid */
  for (int m = 0; m < M_COUNT; m++)
    if (colo_listen(&l[m], p->media[m].ep, &o) != 0) {
      p->media[m].state = 0;
      snprintf(p->media[m].why, sizeof p->media[m].why, "cannot listen here: %s", colo_last_error());
    }
  if (!l[M_COLO]) {
    for (int m = 0; m < M_COUNT; m++) colo_listener_close(l[m]);
    check(p, "socket", 0, "%s", p->media[M_COLO].why);
    return 0;
  }
  /* The page, published whole by a rename (over a dead serving side's: a
   * live one would hold the rendezvous socket, and listen would have failed). */
  tos_pfile_t *pf = NULL;
  probe_page_t *pg = NULL;
  void *base = NULL;
  tos_remove(e.tmp);
  if (tos_pfile_create(e.tmp, &pf) == 0 && tos_pfile_reserve(pf, PROBE_PAGE) == 0 &&
      tos_pfile_map(pf, PROBE_PAGE, &base) == 0) {
    pg = base;
    pg->magic = PROBE_MAGIC;
    tos_pfile_lock(pf, 0, 8);
    atomic_store(&pg->serve.nonce, nonce);
    tos_pfile_id(pf, &p->dev[0], &p->ino[0]);
    if (tos_rename(e.tmp, e.page) != 0) pg = NULL;
  }
  if (!pg) check(p, "shared file", 0, "cannot make %s: %s", e.page, tos_last_error());

  uint64_t t0 = tos_now_ns();
  colo_chan_t *ctl = NULL;
  int rc = COLO_ETIMEDOUT;
  while (!cli_stop && rc == COLO_ETIMEDOUT && tos_now_ns() - t0 < (uint64_t)p->timeout_ms * 1000000u)
    rc = colo_accept(l[M_COLO], &ctl, 200);
  char line[2048], ids[1024];
  if (rc == 0) {
    p->found_s = (double)(tos_now_ns() - t0) / 1e9;
    describe_colo(p, ctl, 1);
    tos_fsinfo_t fi;
    tos_fsinfo(p->path, &fi);
    /* This side speaks first: the joining side opens the page only once it
     * knows which nonce to look for, so a stale page cannot mislead it. */
    ids_line(p, ids, sizeof ids, fi.fstype);
    rc = ctl_send(ctl, "hello nonce=%llu %s", (unsigned long long)nonce, ids);
    if (rc == 0) rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS);
    if (rc == 0 && strncmp(line, "hello ", 6)) rc = proto_err("the joining side did not say hello");
    if (rc == 0) {
      p->peer = 1;
      read_ids(p, line);
      uint64_t seen = pg ? atomic_load(&pg->join.nonce) : 0;
      int theirs = seen && seen == field_u64(line, "nonce");
      if (pg && seen) atomic_store(&pg->serve.echo, seen);
      int mine = field_u64(line, "saw") == nonce;
      if (pg && tos_pfile_lost(pf)) page_lost(p, e.page);
      else if (pg) page_checks(p, mine, theirs);
      check(p, "lock", (int)field_u64(line, "lock") == 1,
            field_u64(line, "lock") == 1 ? "the joining side sees this side's lock on the file" : "the joining side does not see this side's lock");
    }
    /* The futex: the joining side wakes this one, blocked on the page. */
    if (rc == 0 && pg && (rc = ctl_send(ctl, "futex")) == 0) {
      uint64_t w0 = tos_now_ns();
      while (atomic_load(&pg->futex) == 0 && tos_now_ns() - w0 < 2000000000u)
        tos_wait(&pg->futex, 0, 2000000000u - (tos_now_ns() - w0));
      int woke = atomic_load(&pg->futex) != 0;
      if ((rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS)) == 0) {
        int ok = woke && field_u64(line, "woken") >= 1;
        check(p, "futex", ok, ok ? "a wake from the joining side ended this side's futex wait"
                                 : "no wake crossed (colo's block mode would wait out its timeouts)");
        rc = ctl_send(ctl, "futexed ok=%d", ok);
      }
    }
    for (int m = M_FILE; m < M_COUNT && rc == 0 && !cli_stop; m++) {
      if (!l[m]) {
        rc = ctl_send(ctl, "skip m=%d why=%s", m, p->media[m].why);
        continue;
      }
      if ((rc = ctl_send(ctl, "try m=%d", m)) != 0) break;
      colo_chan_t *ch = serve_accept(p, l[m], ctl, m);
      if (!ch) continue;
      int src = sample(ch, 0, &p->media[m]);
      colo_close(ch);
      if ((rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS * 2)) != 0) break;
      p->media[m].state = !strncmp(line, "result ", 7) && src == 0;
      p->media[m].p50 = field_u64(line, "p50"), p->media[m].p99 = field_u64(line, "p99");
      if (!p->media[m].state) field(line, "why", p->media[m].why, sizeof p->media[m].why);
    }
    if (rc == 0 && (rc = ctl_send(ctl, "sample")) == 0 && (rc = sample(ctl, 0, &p->media[M_COLO])) == 0 &&
        (rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS)) == 0) {
      p->media[M_COLO].state = 1;
      p->media[M_COLO].p50 = field_u64(line, "p50"), p->media[M_COLO].p99 = field_u64(line, "p99");
    }
    if (rc) check(p, "exchange", 0, "the joining side stopped answering: %s", why_of(rc));
    else ns_check(p);
    colo_close(ctl);
  } else if (!cli_stop) {
    int seen = pg && atomic_load(&pg->join.nonce) != 0;
    check(p, "peer", 0, "nobody joined through %s within %d s%s", p->path, p->timeout_ms / 1000,
          seen ? ", though a joining side wrote into the shared file: its socket could not connect" : "");
    if (seen) p->peer = 1;
  }
  for (int m = 0; m < M_COUNT; m++) colo_listener_close(l[m]);
  /* A joining side that died attached leaves the ring segments: ours to
   * remove when they are dead colo segments (whatever else is there, such
   * as another container's FIFO, is left alone and never opened). */
  colo_seg_remove(p->media[M_FILE].ep, 0);
  colo_seg_remove(p->media[M_SHM].ep, 0);
  tos_pfile_close(pf);
  tos_remove(e.page);
  tos_remove(e.tmp);
  return 0;
}

/* Opens and maps the serving side's page afresh; NULL unless it is a probe
 * page and, when want is not 0, holds that nonce. */
static probe_page_t *open_page(const char *path, tos_pfile_t **pf, uint64_t want) {
  void *base = NULL;
  tos_pfile_close(*pf);
  *pf = NULL;
  if (tos_pfile_open(path, pf) != 0) return NULL;
  if (tos_pfile_map(*pf, PROBE_PAGE, &base) == 0) {
    probe_page_t *pg = base;
    uint64_t n = atomic_load(&pg->serve.nonce);
    if (pg->magic == PROBE_MAGIC && n && (!want || n == want)) return pg;
  }
  tos_pfile_close(*pf);
  *pf = NULL;
  return NULL;
}

static int run_join(probe_t *p) {
  endpoints_t e;
  snprintf(e.page, sizeof e.page, "%s/colo-probe.seg", p->path);
  media_init(p, 0);
  uint64_t my_nonce = 0;
  while (!my_nonce) tos_random(&my_nonce, sizeof my_nonce);
  /* The rendezvous socket first: colo_connect waits for it to appear. */
  uint64_t t0 = tos_now_ns();
  colo_chan_t *ctl = NULL;
  colo_opts_t o;
  colo_opts_init(&o);
  int rc = COLO_ETIMEDOUT;
  while (!cli_stop && rc == COLO_ETIMEDOUT && tos_now_ns() - t0 < (uint64_t)p->timeout_ms * 1000000u)
    rc = colo_connect(&ctl, p->media[M_COLO].ep, &o, 200);
  if (cli_stop) return 0;
  tos_pfile_t *pf = NULL;
  probe_page_t *pg = NULL;
  char line[2048], ids[1024];
  if (rc) {
    p->media[M_COLO].state = 0;
    snprintf(p->media[M_COLO].why, sizeof p->media[M_COLO].why, "%s", colo_last_error());
    /* A page there means the directory is shared and only the socket failed:
     * leave our nonce in it, so that the serving side can say so too. */
    if ((pg = open_page(e.page, &pf, 0)) != NULL) {
      if (tos_pfile_locked(pf, 0, 8) == 1) atomic_store(&pg->join.nonce, my_nonce);
      else pg = NULL; /* a page nobody holds: a dead serving side's leftover */
    }
    if (rc == COLO_ETIMEDOUT || rc == COLO_ENOENT)
      check(p, "peer", 0, "no serving side appeared at %s within %d s%s", p->path, p->timeout_ms / 1000,
            pg ? ", though its shared file is there: its socket does not connect" : "");
    else check(p, "peer", 0, "the serving side's socket at %s: %s", p->path, colo_last_error());
    p->peer = pg != NULL;
    tos_pfile_close(pf);
    return 0;
  }
  p->found_s = (double)(tos_now_ns() - t0) / 1e9;
  describe_colo(p, ctl, 1);
  tos_fsinfo_t fi;
  tos_fsinfo(p->path, &fi);
  rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS);
  if (rc == 0 && strncmp(line, "hello ", 6)) rc = proto_err("the serving side did not say hello");
  if (rc == 0) {
    p->peer = 1;
    read_ids(p, line);
    uint64_t serve_nonce = field_u64(line, "nonce");
    media_init(p, serve_nonce);
    describe_colo(p, ctl, 0);
    uint64_t saw = 0;
    int lock = -1;
    if ((pg = open_page(e.page, &pf, serve_nonce)) != NULL) {
      saw = atomic_load(&pg->serve.nonce);
      atomic_store(&pg->join.echo, saw);
      atomic_store(&pg->join.nonce, my_nonce);
      lock = tos_pfile_locked(pf, 0, 8) == 1;
      tos_pfile_id(pf, &p->dev[0], &p->ino[0]);
    }
    ids_line(p, ids, sizeof ids, fi.fstype);
    rc = ctl_send(ctl, "hello nonce=%llu saw=%llu lock=%d %s", (unsigned long long)my_nonce, (unsigned long long)saw,
                  lock, ids);
    if (rc == 0 && pg) {
      /* The serving side echoes our nonce into its half once it saw it. */
      uint64_t w0 = tos_now_ns();
      while (atomic_load(&pg->serve.echo) != my_nonce && tos_now_ns() - w0 < 1000000000u) tos_sleep_ns(1000000u);
      if (tos_pfile_lost(pf)) page_lost(p, e.page);
      else page_checks(p, atomic_load(&pg->serve.echo) == my_nonce, saw == serve_nonce);
    } else if (rc == 0) {
      check(p, "shared file", 0, "the serving side's %s is not here: the path is not the same directory for both", e.page);
    }
    if (rc == 0)
      check(p, "lock", lock == 1, lock == 1 ? "the serving side's lock on the file is seen here" : "the serving side's lock is not seen here");
  }
  while (rc == 0 && !cli_stop) {
    if ((rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS * 3)) != 0) break;
    if (!strcmp(line, "futex")) {
      int woken = 0;
      if (pg) {
        tos_sleep_ns(100000000u); /* let the serving side block first */
        atomic_store(&pg->futex, 1);
        tos_wake(&pg->futex);
        woken = 1;
      }
      rc = ctl_send(ctl, "futex woken=%d", woken);
    } else if (!strncmp(line, "futexed ", 8)) {
      int ok = field_u64(line, "ok") == 1;
      check(p, "futex", ok, ok ? "this side's wake ended the serving side's futex wait"
                               : "no wake crossed (colo's block mode would wait out its timeouts)");
    } else if (!strncmp(line, "skip ", 5) || !strncmp(line, "try ", 4)) {
      int m = (int)field_u64(line, "m");
      if (m <= M_COLO || m >= M_COUNT) {
        rc = proto_err("a medium out of range");
        break;
      }
      medium_t *md = &p->media[m];
      if (line[0] == 's') {
        md->state = 0;
        field(line, "why", md->why, sizeof md->why);
        continue;
      }
      colo_chan_t *ch = NULL;
      colo_opts_t mo;
      colo_opts_init(&mo);
      /* The listener is there already: a short wait is enough to know it is not visible here. */
      int crc = colo_connect(&ch, md->ep, &mo, m == M_UNIX ? PROBE_STEP_MS : 1500);
      if (crc == 0) crc = sample(ch, 1, md);
      if (ch) colo_close(ch);
      md->state = crc == 0;
      if (crc) {
        snprintf(md->why, sizeof md->why, "%s", why_of(crc));
        rc = ctl_send(ctl, "fail m=%d why=%s", m, md->why);
      } else {
        rc = ctl_send(ctl, "result m=%d p50=%llu p99=%llu", m, (unsigned long long)md->p50, (unsigned long long)md->p99);
      }
    } else if (!strcmp(line, "sample")) {
      if ((rc = sample(ctl, 1, &p->media[M_COLO])) == 0) {
        p->media[M_COLO].state = 1;
        rc = ctl_send(ctl, "result p50=%llu p99=%llu", (unsigned long long)p->media[M_COLO].p50,
                      (unsigned long long)p->media[M_COLO].p99);
      }
      break;
    } else {
      rc = proto_err("unexpected control message");
    }
  }
  if (rc) check(p, "exchange", 0, "the serving side stopped answering: %s", why_of(rc));
  else ns_check(p);
  colo_close(ctl);
  tos_pfile_close(pf);
  return 0;
}

/* ---- the verdict -------------------------------------------------------------------------------------- */

static int is_shm(const probe_t *p, int m) {
  return m == M_FILE || m == M_SHM || (m == M_COLO && strcmp(p->media[M_COLO].what, "the socket"));
}

/* 0 shared memory, 1 sockets only, 2 nothing; *best: the fastest medium (-1). */
static int verdict(probe_t *p, int *best) {
  int shm = 0, sock = 0;
  *best = -1;
  if (p->role == 0) {
    const check_t *b = find_check(p, "backing"), *m = find_check(p, "mapping"), *u = find_check(p, "unix socket");
    shm = b && b->state == 1 && m && m->state == 1;
    sock = u && u->state == 1;
    if (!shm && sock) add_fix(p, "no segment can be backed here: use a memory-backed directory (a tmpfs; in Kubernetes an emptyDir with medium: Memory), or colo:// on this path passes a memfd over the socket");
    return shm ? 0 : sock ? 1 : 2;
  }
  for (int m = 0; m < M_COUNT; m++) {
    if (p->media[m].state != 1) continue;
    if (is_shm(p, m)) shm = 1;
    else sock = 1;
    if (*best < 0 || p->media[m].p50 < p->media[*best].p50) *best = m;
  }
  const check_t *shared = find_check(p, "shared file"), *exchange = find_check(p, "exchange");
  if (exchange && exchange->state == 0)
    add_fix(p, "run both sides again: the other side stopped answering before every check ran");
  if (!p->peer) {
    char fix[400];
    snprintf(fix, sizeof fix,
             "mount the same directory at %s in both: podman/docker run -v /srv/colo:%s (a host tmpfs, such as a "
             "directory in the host's /dev/shm, is fastest), or an emptyDir volume with medium: Memory mounted in both "
             "containers of a Kubernetes pod",
             p->path, p->path);
    add_fix(p, fix);
    tos_fsinfo_t fi;
    if (tos_fsinfo(p->path, &fi) == 0 && fi.mount_is_path && !strcmp(fi.fstype, "tmpfs"))
      add_fix(p, "this path is a tmpfs mounted for this container alone (a 'shared' memory volume that is private to each container): mount one host directory instead");
  } else if (!shm) {
    if (shared && shared->state == 0)
      add_fix(p, "the directory is not one shared medium: mount the same host directory (best a tmpfs) at this path in both");
    add_fix(p, "share /dev/shm: run the second container with --ipc=container:FIRST, or mount one host tmpfs at /dev/shm in both (-v /dev/shm/colo:/dev/shm)");
    if (strstr(p->media[M_COLO].why, "memfd") || strstr(p->rung, "memfd skipped"))
      add_fix(p, "allow memfd_create and descriptor passing (seccomp profile): colo:// then lands on a memfd ring");
  }
  if (p->media[M_FILE].state == 0 && strstr(p->media[M_FILE].why, "space"))
    add_fix(p, "give the volume room for a segment: a larger tmpfs (size=256m), or --shm-size=256m when it is /dev/shm");
  return shm ? 0 : sock ? 1 : 2;
}

static void print_text(probe_t *p, int code, int best) {
  static const char *const role[] = {"", "serve", "join"};
  char a[32], b[32];
  printf("colo probe%s%s %s", p->role ? " " : "", role[p->role], p->path);
  if (p->role && p->peer && p->found_s > 0) printf(": found the other side after %.1f s (pid %u, host '%s')", p->found_s,
                                                  (unsigned)p->them.pid, p->them.host);
  printf("\n");
  for (int i = 0; i < p->nchecks; i++) {
    const check_t *c = &p->checks[i];
    printf("  %-12s %-4s %s\n", c->name, c->state == 1 ? "ok" : c->state == 0 ? "NO" : "-", c->detail);
  }
  if (p->role && p->peer) {
    printf("\nTransports between the two:\n");
    for (int m = 0; m < M_COUNT; m++) {
      const medium_t *md = &p->media[m];
      printf("  %-44s %-30s ", md->ep, md->what);
      if (md->state == 1) {
        bench_fmt_ns((double)md->p50, a, sizeof a);
        bench_fmt_ns((double)md->p99, b, sizeof b);
        printf("works: p50 %s, p99 %s\n", a, b);
      } else {
        printf("%s\n", md->state == 0 ? "does not work" : "not tried");
        if (md->why[0]) printf("  %-44s %s\n", "", md->why);
      }
    }
    if (p->rung[0]) printf("  colo:// chose: %s\n", p->rung);
  }
  printf("\nVerdict: ");
  if (code == 0) printf("shared memory works");
  else if (code == 1) printf("only sockets work (no shared memory)");
  else printf(p->role ? "nothing is shared between the two" : "this path cannot carry a channel");
  if (best >= 0) {
    bench_fmt_ns((double)p->media[best].p50, a, sizeof a);
    printf("; fastest: %s (%s, p50 %s)", p->media[best].ep, p->media[best].what, a);
  }
  printf(".\n");
  for (int i = 0; i < p->nfixes; i++) printf("  To enable more: %s.\n", p->fixes[i]);
}

static void print_json(probe_t *p, int code, int best) {
  static const char *const role[] = {"path", "serve", "join"};
  printf("{\"role\":\"%s\",\"path\":", role[p->role]);
  cli_json_str(stdout, p->path);
  printf(",\"checks\":[");
  for (int i = 0; i < p->nchecks; i++) {
    printf("%s{\"name\":", i ? "," : "");
    cli_json_str(stdout, p->checks[i].name);
    printf(",\"ok\":%s,\"detail\":", p->checks[i].state == 1 ? "true" : p->checks[i].state == 0 ? "false" : "null");
    cli_json_str(stdout, p->checks[i].detail);
    printf("}");
  }
  printf("]");
  if (p->role) {
    printf(",\"peer\":");
    if (p->peer) {
      printf("{\"pid\":%u,\"uid\":%u,\"host\":", (unsigned)p->them.pid, (unsigned)p->them.uid);
      cli_json_str(stdout, p->them.host);
      printf(",\"found_after_s\":%.3f,\"namespaces\":{", p->found_s);
      for (int i = 0; i < TOS_NS_COUNT; i++)
        printf("%s\"%s\":\"%s\"", i ? "," : "", tos_ns_names[i],
               p->me.ns[i] && p->me.ns[i] == p->them.ns[i] ? "shared" : "separate");
      printf("}}");
    } else {
      printf("null");
    }
    printf(",\"transports\":[");
    for (int m = 0; m < M_COUNT; m++) {
      const medium_t *md = &p->media[m];
      printf("%s{\"name\":\"%s\",\"endpoint\":", m ? "," : "", md->name);
      cli_json_str(stdout, md->ep);
      printf(",\"what\":");
      cli_json_str(stdout, md->what);
      printf(",\"shared_memory\":%s,\"works\":%s", is_shm(p, m) ? "true" : "false",
             md->state == 1 ? "true" : md->state == 0 ? "false" : "null");
      if (md->state == 1) printf(",\"p50_ns\":%llu,\"p99_ns\":%llu", (unsigned long long)md->p50, (unsigned long long)md->p99);
      printf(",\"why\":");
      if (md->why[0]) cli_json_str(stdout, md->why);
      else printf("null");
      printf("}");
    }
    printf("],\"colo_rungs\":");
    cli_json_str(stdout, p->rung);
  }
  printf(",\"verdict\":{\"shared_memory\":%s,\"sockets\":%s,\"fastest\":", code == 0 ? "true" : "false",
         code <= 1 ? "true" : "false");
  if (best >= 0) cli_json_str(stdout, p->media[best].ep);
  else printf("null");
  printf(",\"fixes\":[");
  for (int i = 0; i < p->nfixes; i++) {
    if (i) printf(",");
    cli_json_str(stdout, p->fixes[i]);
  }
  printf("]},\"exit\":%d}\n", code);
}

int cmd_probe(int argc, char **argv) {
  static probe_t p;
  memset(&p, 0, sizeof p);
  p.timeout_ms = 60000;
  p.size = 4u << 20;
  static const struct option longs[] = {{"timeout", required_argument, 0, 't'}, {"size", required_argument, 0, 's'},
                                        {"json", no_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "t:s:h", longs, NULL)) != -1) {
    switch (c) {
    case 't':
      if (cli_parse_seconds(optarg, &p.timeout_ms) || p.timeout_ms <= 0)
        return cli_usage("probe", "--timeout: seconds, such as 30");
      break;
    case 's':
      if (cli_parse_size(optarg, &p.size) || p.size < 4096 || p.size > (1ull << 40))
        return cli_usage("probe", "--size: a size from 4K to 1T, such as 64M");
      break;
    case 'j': p.json = 1; break;
    case 'h': fputs(probe_help, stdout); return CLI_OK;
    default: return cli_usage("probe", "unknown option '%s'", argv[optind - 1]);
    }
  }
  int left = argc - optind;
  if (left == 2 && (!strcmp(argv[optind], "serve") || !strcmp(argv[optind], "join")))
    p.role = !strcmp(argv[optind], "serve") ? 1 : 2, p.path = argv[optind + 1];
  else if (left == 1) p.path = argv[optind];
  else return cli_usage("probe", "expected PATH, serve PATH or join PATH");
  if (p.path[0] != '/') return cli_usage("probe", "PATH must be absolute: %s", p.path);
  if (strlen(p.path) > 80) return cli_usage("probe", "PATH is too long for a Unix socket in it (at most 80 bytes)");
  tos_ids(&p.me);
  cli_catch_stop();
  local_checks(&p);
  if (p.role == 1) run_serve(&p);
  else if (p.role == 2) run_join(&p);
  if (cli_stop) {
    fprintf(stderr, "colo probe: interrupted\n");
    return CLI_INTERRUPTED;
  }
  int best, code = verdict(&p, &best);
  if (p.json) print_json(&p, code, best);
  else print_text(&p, code, best);
  return code;
}
