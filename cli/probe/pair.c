/*
 * pair.c - colo probe serve and join: the two sides find each other through
 * PATH and prove each medium with data that crosses it. The control protocol
 * (every message, its fields and order, the version and the timeouts) is
 * specified in docs/protocol.md, "The probe's serve/join protocol"; change
 * it there first, and raise PROBE_VERSION.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

/* Why the last step failed: the library's words, or ours for a peer that
 * broke the probe's own protocol. */
static char proto_why[200];
static int proto_err(const char *why) {
  snprintf(proto_why, sizeof proto_why, "%s", why);
  return COLO_EPROTO;
}
static const char *why_of(int rc) { return rc == COLO_EPROTO && proto_why[0] ? proto_why : colo_last_error(); }

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
  colo_info_t in = {.struct_size = sizeof in};
  if (colo_info(ch, &in) != 0) return;
  int n = snprintf(p->rung, sizeof p->rung, "%s", in.how);
  const char *memfd_why = "";
  for (unsigned i = 0; i < in.skipped_count && n > 0 && (size_t)n < sizeof p->rung; i++) {
    n += snprintf(p->rung + n, sizeof p->rung - (size_t)n, "; %s skipped: %s", in.skipped[i].what, in.skipped[i].why);
    if (!strcmp(in.skipped[i].what, "memfd")) memfd_why = in.skipped[i].why;
  }
  p->media[M_COLO].what = in.rung == 1 ? "memfd ring over the socket" : in.rung == 2 ? "named shared memory" : "the socket";
  if (!checks) return;
  probe_check(p, "socket", 1, "a Unix socket on the path connects (colo-probe.sock)");
  if (in.rung == 1) probe_check(p, "memfd", 1, "a memfd passed across the socket, mapped by both sides, proven with a nonce");
  else probe_check(p, "memfd", 0, "no memfd crossed: %s", memfd_why[0] ? memfd_why : "the rendezvous did not try it");
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
    probe_check(p, "shared file", 1, "each side saw the other's nonce through its own mapping of colo-probe.seg (%s)",
          p->dev[0] == p->dev[1] && p->ino[0] == p->ino[1] ? "the same inode"
                                                           : "the same file, reached through different mounts");
  else probe_check(p, "shared file", 0, "the other side's nonce never appeared in %s/colo-probe.seg: %s", p->path,
             mine_seen || theirs_seen ? "the mapping is not coherent between the two" : "the path is not the same directory for both");
}

/* The page read as zeros once its file shrank (os_probe.c guards it). */
static void page_lost(probe_t *p, const char *page) {
  probe_check(p, "shared file", 0, "%s shrank under this side's mapping (the other side, or another writer, truncated it): "
        "what was read there is not to be believed", page);
}

static void ns_check(probe_t *p) {
  char same[128] = "", diff[128] = "";
  for (int i = 0; i < TOS_NS_COUNT; i++) {
    char *to = p->me.ns[i] && p->me.ns[i] == p->them.ns[i] ? same : diff;
    if (to[0]) strcat(to, ",");
    strcat(to, tos_ns_names[i]);
  }
  probe_check(p, "namespaces", 1, "shared: %s; separate: %s; hosts '%s' and '%s'%s", same[0] ? same : "none",
        diff[0] ? diff : "none", p->me.host, p->them.host,
        !strcmp(p->me.host, p->them.host) ? "" : " (different: these are two containers or hosts)");
}

/* ---- what both sides do ------------------------------------------------------------------ */

/* The page both sides map (PATH/colo-probe.seg), and the file behind it. */
typedef struct page {
  char path[4200], tmp[4200]; /* tmp: where the serving side writes it before the rename */
  tos_pfile_t *pf;
  probe_page_t *pg;           /* NULL while there is none (or it is not to be believed) */
} page_t;

static void page_init(page_t *g, const probe_t *p) {
  memset(g, 0, sizeof *g);
  snprintf(g->path, sizeof g->path, "%s/colo-probe.seg", p->path);
  snprintf(g->tmp, sizeof g->tmp, "%s/colo-probe.seg.%u", p->path, (unsigned)p->me.pid);
}

static void page_close(page_t *g) {
  tos_pfile_close(g->pf);
  g->pf = NULL, g->pg = NULL;
}

/* Waits up to --timeout for the other side: reach(arg, &ctl, ms) tries once
 * for at most ms (the serving side accepts, the joining side connects: a
 * short try keeps Ctrl-C prompt). On success, what colo:// chose for the
 * control channel is recorded with its checks. */
typedef int (*reach_fn)(void *arg, colo_chan_t **ctl, int ms);
static int find_peer(probe_t *p, reach_fn reach, void *arg, colo_chan_t **ctl) {
  uint64_t t0 = tos_now_ns();
  int rc = COLO_ETIMEDOUT;
  while (!cli_stop && rc == COLO_ETIMEDOUT && tos_now_ns() - t0 < (uint64_t)p->timeout_ms * 1000000u)
    rc = reach(arg, ctl, 200);
  if (rc == 0) {
    p->found_s = (double)(tos_now_ns() - t0) / 1e9;
    describe_colo(p, *ctl, 1);
  }
  return rc;
}

/* This side's hello: the version, then fields (nonce=... and what the side
 * adds), then who this side is. */
static int hello_send(const probe_t *p, colo_chan_t *ctl, const char *fields) {
  char ids[1024];
  tos_fsinfo_t fi;
  tos_fsinfo(p->path, &fi);
  ids_line(p, ids, sizeof ids, fi.fstype);
  return ctl_send(ctl, "hello version=%d %s %s", PROBE_VERSION, fields, ids);
}

/* The other side's hello: 0 when it is one, of this version (then read_ids
 * took who it is); COLO_EPROTO otherwise, with p->bad_version set when only
 * the version differs. */
static int hello_recv(probe_t *p, colo_chan_t *ctl, char *line, size_t cap, const char *who) {
  int rc = ctl_recv(ctl, line, cap, PROBE_STEP_MS);
  if (rc) return rc;
  if (strncmp(line, "hello ", 6)) {
    snprintf(proto_why, sizeof proto_why, "%s did not say hello", who);
    return COLO_EPROTO;
  }
  /* The other side is there, whatever it speaks: who it is is worth saying. */
  p->peer = 1;
  read_ids(p, line);
  uint64_t v = field_u64(line, "version");
  if (v != PROBE_VERSION) {
    p->bad_version = 1;
    if (v) snprintf(proto_why, sizeof proto_why, "%s speaks version %llu of the probe's protocol, this side %d: "
                    "run the same colo on both sides", who, (unsigned long long)v, PROBE_VERSION);
    else snprintf(proto_why, sizeof proto_why, "%s is an older colo whose probe names no protocol version (this "
                  "side speaks %d): run the same colo on both sides", who, PROBE_VERSION);
    return COLO_EPROTO;
  }
  return 0;
}

/* After the exchange: why it ended early, or what the namespaces say. */
static void exchange_done(probe_t *p, int rc, const char *who) {
  if (rc && p->bad_version) probe_check(p, "version", 0, "%s", proto_why);
  else if (rc) probe_check(p, "exchange", 0, "%s stopped answering: %s", who, why_of(rc));
  else ns_check(p);
}

/* ---- serve ------------------------------------------------------------------------------------ */

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

/* The page, published whole by a rename (over a dead serving side's: a live
 * one would hold the rendezvous socket, and listen would have failed). The
 * lock on its first bytes tells a joining side it is a live side's page. */
static void page_publish(probe_t *p, page_t *g, uint64_t nonce) {
  void *base = NULL;
  tos_remove(g->tmp);
  if (tos_pfile_create(g->tmp, &g->pf) == 0 && tos_pfile_reserve(g->pf, PROBE_PAGE) == 0 &&
      tos_pfile_map(g->pf, PROBE_PAGE, &base) == 0) {
    g->pg = base;
    g->pg->magic = PROBE_MAGIC;
    tos_pfile_lock(g->pf, 0, 8);
    atomic_store(&g->pg->serve.nonce, nonce);
    tos_pfile_id(g->pf, &p->dev[0], &p->ino[0]);
    if (tos_rename(g->tmp, g->path) != 0) g->pg = NULL;
  }
  if (!g->pg) probe_check(p, "shared file", 0, "cannot make %s: %s", g->path, tos_last_error());
}

static int accept_ctl(void *l, colo_chan_t **ctl, int ms) { return colo_accept(l, ctl, ms); }

/* The hellos (this side first: the joining side opens the page only once it
 * knows which nonce to look for, so a stale page cannot mislead it), and
 * what the joining side's says about the page and the lock. */
static int serve_hello(probe_t *p, page_t *g, colo_chan_t *ctl, uint64_t nonce) {
  char line[2048], mine[64];
  snprintf(mine, sizeof mine, "nonce=%llu", (unsigned long long)nonce);
  int rc = hello_send(p, ctl, mine);
  if (rc == 0) rc = hello_recv(p, ctl, line, sizeof line, "the joining side");
  if (rc) return rc;
  probe_page_t *pg = g->pg;
  uint64_t seen = pg ? atomic_load(&pg->join.nonce) : 0;
  int theirs = seen && seen == field_u64(line, "nonce");
  if (pg && seen) atomic_store(&pg->serve.echo, seen);
  int mine_seen = field_u64(line, "saw") == nonce;
  if (pg && tos_pfile_lost(g->pf)) page_lost(p, g->path);
  else if (pg) page_checks(p, mine_seen, theirs);
  int lock = field_u64(line, "lock") == 1;
  probe_check(p, "lock", lock, lock ? "the joining side sees this side's lock on the file" : "the joining side does not see this side's lock");
  return 0;
}

/* The futex: the joining side wakes this one, blocked on the page. */
static int serve_futex(probe_t *p, page_t *g, colo_chan_t *ctl) {
  char line[2048];
  int rc = ctl_send(ctl, "futex");
  if (rc) return rc;
  uint64_t w0 = tos_now_ns();
  while (atomic_load(&g->pg->futex) == 0 && tos_now_ns() - w0 < 2000000000u)
    tos_wait(&g->pg->futex, 0, 2000000000u - (tos_now_ns() - w0));
  int woke = atomic_load(&g->pg->futex) != 0;
  if ((rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS)) != 0) return rc;
  int ok = woke && field_u64(line, "woken") >= 1;
  probe_check(p, "futex", ok, ok ? "a wake from the joining side ended this side's futex wait"
                                 : "no wake crossed (colo's block mode would wait out its timeouts)");
  return ctl_send(ctl, "futexed ok=%d", ok);
}

/* One medium: skipped (no listener here), or tried: the joining side
 * connects and times a sample that this side echoes, then says how it went. */
static int serve_medium(probe_t *p, colo_listener_t *l, colo_chan_t *ctl, int m) {
  char line[2048];
  if (!l) return ctl_send(ctl, "skip m=%d why=%s", m, p->media[m].why);
  int rc = ctl_send(ctl, "try m=%d", m);
  if (rc) return rc;
  colo_chan_t *ch = serve_accept(p, l, ctl, m);
  if (!ch) return 0;
  int src = sample(ch, 0, &p->media[m]);
  colo_close(ch);
  if ((rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS * 2)) != 0) return rc;
  p->media[m].state = !strncmp(line, "result ", 7) && src == 0;
  p->media[m].p50 = field_u64(line, "p50"), p->media[m].p99 = field_u64(line, "p99");
  if (!p->media[m].state) field(line, "why", p->media[m].why, sizeof p->media[m].why);
  return 0;
}

/* Last, the control channel itself carries a sample. */
static int serve_sample(probe_t *p, colo_chan_t *ctl) {
  char line[2048];
  int rc;
  if ((rc = ctl_send(ctl, "sample")) == 0 && (rc = sample(ctl, 0, &p->media[M_COLO])) == 0 &&
      (rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS)) == 0) {
    p->media[M_COLO].state = 1;
    p->media[M_COLO].p50 = field_u64(line, "p50"), p->media[M_COLO].p99 = field_u64(line, "p99");
  }
  return rc;
}

void probe_serve(probe_t *p) {
  page_t g;
  page_init(&g, p);
  uint64_t nonce = 0;
  while (!nonce) tos_random(&nonce, sizeof nonce);
  media_init(p, nonce);
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
    probe_check(p, "socket", 0, "%s", p->media[M_COLO].why);
    return;
  }
  page_publish(p, &g, nonce);
  colo_chan_t *ctl = NULL;
  int rc = find_peer(p, accept_ctl, l[M_COLO], &ctl);
  if (rc == 0) {
    rc = serve_hello(p, &g, ctl, nonce);
    if (rc == 0 && g.pg) rc = serve_futex(p, &g, ctl);
    for (int m = M_FILE; m < M_COUNT && rc == 0 && !cli_stop; m++) rc = serve_medium(p, l[m], ctl, m);
    if (rc == 0) rc = serve_sample(p, ctl);
    exchange_done(p, rc, "the joining side");
    colo_close(ctl);
  } else if (!cli_stop) {
    int seen = g.pg && atomic_load(&g.pg->join.nonce) != 0;
    probe_check(p, "peer", 0, "nobody joined through %s within %d s%s", p->path, p->timeout_ms / 1000,
                seen ? ", though a joining side wrote into the shared file: its socket could not connect" : "");
    if (seen) p->peer = 1;
  }
  for (int m = 0; m < M_COUNT; m++) colo_listener_close(l[m]);
  /* A joining side that died attached leaves the ring segments: ours to
   * remove when they are dead colo segments (whatever else is there, such
   * as another container's FIFO, is left alone and never opened). */
  colo_seg_remove(p->media[M_FILE].ep, 0);
  colo_seg_remove(p->media[M_SHM].ep, 0);
  page_close(&g);
  tos_remove(g.path);
  tos_remove(g.tmp);
}

/* ---- join ---------------------------------------------------------------------------------------- */

/* Opens and maps the serving side's page afresh; NULL unless it is a probe
 * page and, when want is not 0, holds that nonce. */
static probe_page_t *page_open(page_t *g, uint64_t want) {
  void *base = NULL;
  page_close(g);
  if (tos_pfile_open(g->path, &g->pf) != 0) return NULL;
  if (tos_pfile_map(g->pf, PROBE_PAGE, &base) == 0) {
    probe_page_t *pg = base;
    uint64_t n = atomic_load(&pg->serve.nonce);
    if (pg->magic == PROBE_MAGIC && n && (!want || n == want)) return g->pg = pg;
  }
  page_close(g);
  return NULL;
}

typedef struct dial {
  const char *ep;
  colo_opts_t o;
} dial_t;

static int connect_ctl(void *arg, colo_chan_t **ctl, int ms) {
  dial_t *d = arg;
  return colo_connect(ctl, d->ep, &d->o, ms);
}

/* No control channel: say why, and whether the page says the serving side is
 * there all the same (then leave our nonce in it, so it can say so too). */
static void join_not_found(probe_t *p, page_t *g, int rc, uint64_t my_nonce) {
  p->media[M_COLO].state = 0;
  snprintf(p->media[M_COLO].why, sizeof p->media[M_COLO].why, "%s", colo_last_error());
  if (page_open(g, 0) != NULL) {
    if (tos_pfile_locked(g->pf, 0, 8) == 1) atomic_store(&g->pg->join.nonce, my_nonce);
    else g->pg = NULL; /* a page nobody holds: a dead serving side's leftover */
  }
  if (rc == COLO_ETIMEDOUT || rc == COLO_ENOENT)
    probe_check(p, "peer", 0, "no serving side appeared at %s within %d s%s", p->path, p->timeout_ms / 1000,
                g->pg ? ", though its shared file is there: its socket does not connect" : "");
  else probe_check(p, "peer", 0, "the serving side's socket at %s: %s", p->path, p->media[M_COLO].why);
  p->peer = g->pg != NULL;
}

/* The hellos (the serving side's first), then the page: its nonce read and
 * echoed, ours written, its lock looked at. */
static int join_hello(probe_t *p, page_t *g, colo_chan_t *ctl, uint64_t my_nonce) {
  char line[2048], mine[128];
  int rc = hello_recv(p, ctl, line, sizeof line, "the serving side");
  if (rc) {
    /* Another version: say ours, so that the serving side can say so too. */
    if (p->bad_version) hello_send(p, ctl, "nonce=0 saw=0 lock=-1");
    return rc;
  }
  uint64_t serve_nonce = field_u64(line, "nonce");
  media_init(p, serve_nonce);
  describe_colo(p, ctl, 0);
  uint64_t saw = 0;
  int lock = -1;
  if (page_open(g, serve_nonce) != NULL) {
    saw = atomic_load(&g->pg->serve.nonce);
    atomic_store(&g->pg->join.echo, saw);
    atomic_store(&g->pg->join.nonce, my_nonce);
    lock = tos_pfile_locked(g->pf, 0, 8) == 1;
    tos_pfile_id(g->pf, &p->dev[0], &p->ino[0]);
  }
  snprintf(mine, sizeof mine, "nonce=%llu saw=%llu lock=%d", (unsigned long long)my_nonce, (unsigned long long)saw, lock);
  if ((rc = hello_send(p, ctl, mine)) != 0) return rc;
  if (g->pg) {
    /* The serving side echoes our nonce into its half once it saw it. */
    uint64_t w0 = tos_now_ns();
    while (atomic_load(&g->pg->serve.echo) != my_nonce && tos_now_ns() - w0 < 1000000000u) tos_sleep_ns(1000000u);
    if (tos_pfile_lost(g->pf)) page_lost(p, g->path);
    else page_checks(p, atomic_load(&g->pg->serve.echo) == my_nonce, saw == serve_nonce);
  } else {
    probe_check(p, "shared file", 0, "the serving side's %s is not here: the path is not the same directory for both", g->path);
  }
  probe_check(p, "lock", lock == 1, lock == 1 ? "the serving side's lock on the file is seen here" : "the serving side's lock is not seen here");
  return 0;
}

/* "try m=M": connect to the medium, time a sample, say how it went. */
static int join_try(probe_t *p, colo_chan_t *ctl, int m) {
  medium_t *md = &p->media[m];
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
    return ctl_send(ctl, "fail m=%d why=%s", m, md->why);
  }
  return ctl_send(ctl, "result m=%d p50=%llu p99=%llu", m, (unsigned long long)md->p50, (unsigned long long)md->p99);
}

/* One message of the serving side's and this side's answer; *done after the
 * last one ("sample"). */
static int join_step(probe_t *p, page_t *g, colo_chan_t *ctl, int *done) {
  char line[2048];
  int rc = ctl_recv(ctl, line, sizeof line, PROBE_STEP_MS * 3);
  if (rc) return rc;
  if (!strcmp(line, "futex")) {
    int woken = 0;
    if (g->pg) {
      tos_sleep_ns(100000000u); /* let the serving side block first */
      atomic_store(&g->pg->futex, 1);
      tos_wake(&g->pg->futex);
      woken = 1;
    }
    return ctl_send(ctl, "futex woken=%d", woken);
  }
  if (!strncmp(line, "futexed ", 8)) {
    int ok = field_u64(line, "ok") == 1;
    probe_check(p, "futex", ok, ok ? "this side's wake ended the serving side's futex wait"
                                   : "no wake crossed (colo's block mode would wait out its timeouts)");
    return 0;
  }
  if (!strncmp(line, "skip ", 5) || !strncmp(line, "try ", 4)) {
    int m = (int)field_u64(line, "m");
    if (m <= M_COLO || m >= M_COUNT) return proto_err("a medium out of range");
    if (line[0] == 't') return join_try(p, ctl, m);
    p->media[m].state = 0;
    field(line, "why", p->media[m].why, sizeof p->media[m].why);
    return 0;
  }
  if (!strcmp(line, "sample")) {
    *done = 1;
    if ((rc = sample(ctl, 1, &p->media[M_COLO])) != 0) return rc;
    p->media[M_COLO].state = 1;
    return ctl_send(ctl, "result p50=%llu p99=%llu", (unsigned long long)p->media[M_COLO].p50,
                    (unsigned long long)p->media[M_COLO].p99);
  }
  return proto_err("unexpected control message");
}

void probe_join(probe_t *p) {
  page_t g;
  page_init(&g, p);
  media_init(p, 0);
  uint64_t my_nonce = 0;
  while (!my_nonce) tos_random(&my_nonce, sizeof my_nonce);
  /* The rendezvous socket first: colo_connect waits for it to appear. */
  dial_t d = {p->media[M_COLO].ep, {0}};
  colo_opts_init(&d.o);
  colo_chan_t *ctl = NULL;
  int rc = find_peer(p, connect_ctl, &d, &ctl);
  if (cli_stop) return;
  if (rc) {
    join_not_found(p, &g, rc, my_nonce);
    page_close(&g);
    return;
  }
  rc = join_hello(p, &g, ctl, my_nonce);
  for (int done = 0; rc == 0 && !done && !cli_stop;) rc = join_step(p, &g, ctl, &done);
  exchange_done(p, rc, "the serving side");
  colo_close(ctl);
  page_close(&g);
}
