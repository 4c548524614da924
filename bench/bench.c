/*
 * bench.c - `colo bench`: plans the rows, starts two worker processes per
 * row (pinned to two CPUs), collects what they measured and reports it.
 *
 * The driver itself only sleeps: it waits for the workers' report lines, so
 * it takes no CPU from them. Everything that is compared is measured in this
 * one run. Network namespaces, endpoints and segments the run creates are
 * removed at the end, also on failure or Ctrl-C.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "bench.h"
#include "colo.h"
#include "ctr.h"
#include "ref_ring.h"

static const char bench_help[] =
    "Usage: colo bench [options]\n"
    "\n"
    "Measures the latency (and throughput) of every transport between two\n"
    "processes on this host, pinned to two CPUs, against TCP: how much shared\n"
    "memory saves over the TCP baseline. Each row runs in two fresh processes;\n"
    "every payload is checked with XXH3 on arrival.\n"
    "\n"
    "Options:\n"
    "  --size LIST        message sizes, such as 64,1K,64K (default 1K)\n"
    "  --count N          timed messages per row (default 100000; idle: 1000)\n"
    "  --warmup N         untimed messages first (default 10000; idle: 10)\n"
    "  --transports LIST  of tcp, tcp-netns, unix, fifo, shm, memfd, reference\n"
    "                     (default: all; tcp-netns needs root and iproute2)\n"
    "  --modes LIST       wait modes of shm and memfd: spin, hybrid, block\n"
    "                     (default: all three)\n"
    "  --pattern P        pingpong: round trips, one message each way (default)\n"
    "                     stream: one way as fast as possible, messages/s and GB/s\n"
    "                     idle: a round trip every --interval, after the peer\n"
    "                     has gone to sleep (the wake-up cost)\n"
    "  --interval MS      idle: pause between round trips (default 2)\n"
    "  --rounds N         measure every row N times (1-15), the rows of each round\n"
    "                     in turn, and report each row's median round: the rows\n"
    "                     compared then share the machine's drifts (default 1)\n"
    "  --cpus A,B         pin side A (the timer, or the sender) and side B\n"
    "                     (default: the first two CPUs this process may use)\n"
    "  --json FILE        write the machine and every row as JSON (docs/bench.md)\n"
    "  --csv FILE         write every row as CSV\n"
    "  --plot FILE        draw p50 and p99 per transport with gnuplot (.svg, .png)\n"
    "  --containers [ENGINE]  also between two real containers, one pinned to\n"
    "                     each CPU, with podman (the default) or docker: the\n"
    "                     arrangements below, next to the same transports\n"
    "                     between host processes; savings against TCP between\n"
    "                     the containers (needs root)\n"
    "  --arrangements LIST  with --containers: of host, ctr-bridge,\n"
    "                     ctr-volume-socket, ctr-volume-auto, ctr-shm-volume,\n"
    "                     ctr-ipc-shared (default: all)\n"
    "  -q, --quiet        print nothing but errors (with --json or --csv)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Rows: tcp over loopback (the baseline); tcp between two network namespaces\n"
    "joined by a veth pair (what two containers on a bridge pay); unix; fifo;\n"
    "shm (a named segment) and memfd (colo:// landing on its memfd rung), each\n"
    "in every wait mode; and the reference, a minimal spin ring written in the\n"
    "benchmark itself, so the library's own overhead shows as a ratio.\n"
    "\n"
    "Arrangements (--containers; docs/containers.md):\n"
    "  ctr-bridge         two network namespaces on a bridge network: tcp\n"
    "  ctr-volume-socket  a shared directory volume holding a Unix socket: unix\n"
    "  ctr-volume-auto    the same volume with colo://: the memfd ring\n"
    "  ctr-shm-volume     one host tmpfs mounted at /dev/shm in both: shm\n"
    "  ctr-ipc-shared     one IPC namespace (--ipc=container:): shm\n"
    "  host               the same transports between two host processes, and\n"
    "                     the reference ring (the floor this machine sets)\n"
    "\n"
    "Exit status: 0 when every row ran and every payload matched, 1 when a row\n"
    "failed, 2 on a usage error, 130 when interrupted.\n"
    "\n"
    "Examples:\n"
    "  colo bench --count 20000 --json r.json --plot r.svg\n"
    "  colo bench --containers podman --modes spin --json c.json\n";

/* ---- names ---------------------------------------------------------------------------- */

static const char *const transport_names[BT_COUNT] = {"tcp", "tcp-netns", "unix", "fifo", "shm", "memfd", "reference"};
static const char *const arr_names[BA_COUNT] = {"host",           "ctr-bridge",     "ctr-volume-socket",
                                                "ctr-volume-auto", "ctr-shm-volume", "ctr-ipc-shared"};
static const bench_transport_t arr_transports[BA_COUNT] = {BT_COUNT, BT_TCP, BT_UNIX, BT_MEMFD, BT_SHM, BT_SHM};

const char *bench_arr_name(bench_arr_t a) { return arr_names[a]; }
bench_transport_t bench_arr_transport(bench_arr_t a) { return arr_transports[a]; }

const char *bench_transport_name(bench_transport_t t) { return transport_names[t]; }

int bench_transport_parse(const char *s, size_t n) {
  for (int t = 0; t < BT_COUNT; t++)
    if (strlen(transport_names[t]) == n && !strncmp(s, transport_names[t], n)) return t;
  return -1;
}

int bench_transport_has_mode(bench_transport_t t) { return t == BT_SHM || t == BT_MEMFD; }

const char *bench_pattern_name(bench_pattern_t p) {
  return p == BP_STREAM ? "stream" : p == BP_IDLE ? "idle" : "pingpong";
}

const char *bench_mode_name(int mode) {
  return mode == COLO_WAIT_SPIN ? "spin" : mode == COLO_WAIT_HYBRID ? "hybrid" : mode == COLO_WAIT_BLOCK ? "block" : NULL;
}

void bench_row_label(const bench_row_t *r, int with_arr, char *buf, size_t cap) {
  const char *m = bench_mode_name(r->mode);
  char arr[32] = "";
  if (with_arr) snprintf(arr, sizeof arr, "%s ", bench_arr_name(r->arr));
  if (m) snprintf(buf, cap, "%s%s (%s)", arr, bench_transport_name(r->transport), m);
  else snprintf(buf, cap, "%s%s", arr, bench_transport_name(r->transport));
}

double bench_msgs_per_s(const bench_row_t *r) {
  return r->elapsed_ns ? (double)r->count * 1e9 / (double)r->elapsed_ns : 0;
}

double bench_gb_per_s(const bench_row_t *r) { return bench_msgs_per_s(r) * (double)r->size / 1e9; }

/* ---- options ------------------------------------------------------------------------------ */

typedef struct bopts {
  uint64_t sizes[BENCH_MAX_SIZES];
  int nsizes;
  uint64_t count, warmup, interval_us;
  int count_set, warmup_set;
  int want[BT_COUNT];
  int modes[3], nmodes;
  bench_pattern_t pattern;
  int cpu_a, cpu_b, cpus_set;
  int rounds;
  const char *json, *csv, *plot;
  int quiet;
  const char *containers; /* the engine, or NULL */
  int arr_want[BA_COUNT];
} bopts_t;

/* Calls fn(ctx, item, len) for each comma-separated item; stops at the first
 * nonzero return. An empty item is an error (-1). */
static int each_item(const char *list, int (*fn)(void *, const char *, size_t), void *ctx) {
  const char *p = list;
  for (;;) {
    size_t n = strcspn(p, ",");
    if (n == 0) return -1;
    int rc = fn(ctx, p, n);
    if (rc) return rc;
    if (!p[n]) return 0;
    p += n + 1;
  }
}

static int add_size(void *ctx, const char *s, size_t n) {
  bopts_t *o = ctx;
  char item[32];
  uint64_t v;
  if (n >= sizeof item || o->nsizes == BENCH_MAX_SIZES) return -1;
  memcpy(item, s, n), item[n] = 0;
  if (cli_parse_size(item, &v) || v > (256u << 10)) return -1;
  o->sizes[o->nsizes++] = v;
  return 0;
}

static int add_transport(void *ctx, const char *s, size_t n) {
  int t = bench_transport_parse(s, n);
  if (t < 0) return -1;
  ((bopts_t *)ctx)->want[t] = 1;
  return 0;
}

static int add_arr(void *ctx, const char *s, size_t n) {
  for (int a = 0; a < BA_COUNT; a++)
    if (strlen(arr_names[a]) == n && !strncmp(s, arr_names[a], n)) return ((bopts_t *)ctx)->arr_want[a] = 1, 0;
  return -1;
}

static int add_mode(void *ctx, const char *s, size_t n) {
  bopts_t *o = ctx;
  char item[16];
  colo_wait_mode_t m;
  if (n >= sizeof item || o->nmodes == 3) return -1;
  memcpy(item, s, n), item[n] = 0;
  if (cli_parse_wait_mode(item, &m)) return -1;
  for (int i = 0; i < o->nmodes; i++)
    if (o->modes[i] == (int)m) return 0;
  o->modes[o->nmodes++] = (int)m;
  return 0;
}

static int parse_opts(int argc, char **argv, bopts_t *o) {
  memset(o, 0, sizeof *o);
  o->interval_us = 2000;
  o->cpu_a = o->cpu_b = -1;
  o->rounds = 1;
  static const struct option longs[] = {
      {"size", required_argument, 0, 's'},       {"count", required_argument, 0, 'n'},
      {"warmup", required_argument, 0, 'w'},     {"transports", required_argument, 0, 't'},
      {"modes", required_argument, 0, 'm'},      {"pattern", required_argument, 0, 'p'},
      {"interval", required_argument, 0, 'i'},   {"cpus", required_argument, 0, 'c'},
      {"json", required_argument, 0, 'j'},       {"csv", required_argument, 0, 'C'},
      {"plot", required_argument, 0, 'P'},       {"quiet", no_argument, 0, 'q'},
      {"containers", optional_argument, 0, 'K'}, {"arrangements", required_argument, 0, 'A'},
      {"rounds", required_argument, 0, 'R'},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "qh", longs, NULL)) != -1) {
    switch (c) {
    case 's':
      o->nsizes = 0;
      if (each_item(optarg, add_size, o)) return cli_usage("bench", "--size: a list of sizes up to 256K, such as 64,1K,64K");
      break;
    case 'n':
      if (cli_parse_uint(optarg, &o->count) || o->count == 0 || o->count > 100000000u)
        return cli_usage("bench", "--count: a whole number from 1 to 100000000");
      o->count_set = 1;
      break;
    case 'w':
      if (cli_parse_uint(optarg, &o->warmup) || o->warmup > 100000000u)
        return cli_usage("bench", "--warmup: a whole number up to 100000000");
      o->warmup_set = 1;
      break;
    case 't':
      memset(o->want, 0, sizeof o->want);
      if (each_item(optarg, add_transport, o))
        return cli_usage("bench", "--transports: a list of tcp, tcp-netns, unix, fifo, shm, memfd, reference");
      break;
    case 'm':
      o->nmodes = 0;
      if (each_item(optarg, add_mode, o)) return cli_usage("bench", "--modes: a list of spin, hybrid, block");
      break;
    case 'p':
      if (!strcmp(optarg, "pingpong")) o->pattern = BP_PINGPONG;
      else if (!strcmp(optarg, "stream")) o->pattern = BP_STREAM;
      else if (!strcmp(optarg, "idle")) o->pattern = BP_IDLE;
      else return cli_usage("bench", "--pattern: pingpong, stream or idle");
      break;
    case 'i': {
      int ms;
      if (cli_parse_seconds(optarg, &ms) || ms <= 0 || ms > 60000000)
        return cli_usage("bench", "--interval: milliseconds between round trips, such as 2");
      /* It reads seconds into milliseconds: the same scaling takes --interval's
       * milliseconds to microseconds. */
      o->interval_us = (uint64_t)ms;
      break;
    }
    case 'c': {
      char *end;
      long a = strtol(optarg, &end, 10), b = -1;
      if (*end == ',') b = strtol(end + 1, &end, 10);
      if (*end || a < 0 || b < 0 || a == b || a > 4095 || b > 4095)
        return cli_usage("bench", "--cpus: two different CPU numbers, such as 0,1");
      o->cpu_a = (int)a, o->cpu_b = (int)b, o->cpus_set = 1;
      break;
    }
    case 'j': o->json = optarg; break;
    case 'C': o->csv = optarg; break;
    case 'P': {
      const char *dot = strrchr(optarg, '.');
      if (!dot || (strcmp(dot, ".svg") && strcmp(dot, ".png")))
        return cli_usage("bench", "--plot: a file name ending in .svg or .png");
      o->plot = optarg;
      break;
    }
    case 'q': o->quiet = 1; break;
    case 'R': {
      uint64_t v;
      if (cli_parse_uint(optarg, &v) || v < 1 || v > BENCH_MAX_ROUNDS)
        return cli_usage("bench", "--rounds: a whole number from 1 to %d", BENCH_MAX_ROUNDS);
      o->rounds = (int)v;
      break;
    }
    case 'K':
      /* --containers, --containers=ENGINE or --containers ENGINE */
      o->containers = optarg ? optarg : "podman";
      if (!optarg && optind < argc && argv[optind][0] != '-') o->containers = argv[optind++];
      if (strcmp(o->containers, "podman") && strcmp(o->containers, "docker"))
        return cli_usage("bench", "--containers: podman or docker");
      break;
    case 'A':
      memset(o->arr_want, 0, sizeof o->arr_want);
      if (each_item(optarg, add_arr, o))
        return cli_usage("bench", "--arrangements: a list of host, ctr-bridge, ctr-volume-socket, ctr-volume-auto, "
                                  "ctr-shm-volume, ctr-ipc-shared");
      break;
    case 'h': fputs(bench_help, stdout); return -1;
    default: return cli_usage("bench", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage("bench", "unexpected argument '%s'", argv[optind]);
  if (!o->nsizes) o->sizes[o->nsizes++] = 1024;
  int any = 0;
  for (int a = 0; a < BA_COUNT; a++) any |= o->arr_want[a];
  if (any && !o->containers) return cli_usage("bench", "--arrangements needs --containers");
  if (!any)
    for (int a = 0; a < BA_COUNT; a++) o->arr_want[a] = 1;
  any = 0;
  for (int t = 0; t < BT_COUNT; t++) any |= o->want[t];
  if (!any)
    for (int t = 0; t < BT_COUNT; t++) o->want[t] = 1;
  if (!o->nmodes) o->modes[0] = COLO_WAIT_SPIN, o->modes[1] = COLO_WAIT_HYBRID, o->modes[2] = COLO_WAIT_BLOCK, o->nmodes = 3;
  if (!o->count_set) o->count = o->pattern == BP_IDLE ? 1000 : 100000;
  if (!o->warmup_set) o->warmup = o->pattern == BP_IDLE ? 10 : 10000;
  return 0;
}

/* ---- network namespaces (tcp-netns) ---------------------------------------------------------- */

typedef struct netns {
  char ns[2][32], veth[2][16];
  int up;
} netns_t;

#define NETNS_ADDR_B "10.203.0.1" /* side b's end (the listener); side a is .2 */

/* Runs `ip ARGS...` quietly; its exit code, or COLO_ENOENT without iproute2. */
#define IP(...) tos_run((char *[]){"ip", __VA_ARGS__, NULL}, 0)

static void netns_down(netns_t *n) {
  if (!n->up) return;
  IP("link", "del", n->veth[0]); /* only while not yet moved */
  IP("netns", "del", n->ns[0]);
  IP("netns", "del", n->ns[1]);
  n->up = 0;
}

/* Two namespaces joined by a veth pair, as two containers on a bridge would
 * be (minus the bridge itself). 0, or fills why. */
static int netns_up(netns_t *n, char *why, size_t cap) {
  if (!tos_is_admin()) {
    snprintf(why, cap, "needs root, to create network namespaces");
    return -1;
  }
  unsigned id = (unsigned)(tos_now_ns() % 1000000u);
  for (int s = 0; s < 2; s++) {
    snprintf(n->ns[s], sizeof n->ns[s], "colo-bench-%u-%c", id, 'a' + s);
    snprintf(n->veth[s], sizeof n->veth[s], "cb%u%c", id, 'a' + s);
  }
  n->up = 1;
  char *addr[2] = {NETNS_ADDR_B "/30", "10.203.0.2/30"};
  int rc = IP("netns", "add", n->ns[0]);
  if (rc == COLO_ENOENT) {
    n->up = 0;
    snprintf(why, cap, "needs the ip command (Debian package iproute2)");
    return -1;
  }
  if (!rc) rc = IP("netns", "add", n->ns[1]);
  if (!rc) rc = IP("link", "add", n->veth[0], "type", "veth", "peer", "name", n->veth[1]);
  for (int s = 0; s < 2 && !rc; s++) {
    rc = IP("link", "set", n->veth[s], "netns", n->ns[s]);
    if (!rc) rc = IP("-n", n->ns[s], "addr", "add", addr[s], "dev", n->veth[s]);
    if (!rc) rc = IP("-n", n->ns[s], "link", "set", n->veth[s], "up");
    if (!rc) rc = IP("-n", n->ns[s], "link", "set", "lo", "up");
  }
  if (rc) {
    netns_down(n);
    snprintf(why, cap, "could not set up two network namespaces and a veth pair (ip exited with %d)", rc);
    return -1;
  }
  return 0;
}

typedef struct ctx {
  bopts_t *o;
  bench_run_t *run;
  char dir[256];
  netns_t netns;
  uint64_t seed;
  int progress;
  /* --containers */
  ctr_engine_t eng;
  char tag[64];       /* names everything the run creates: colo-bench-XXXXXX */
  char shm_dir[300];  /* the host tmpfs directory ctr-shm-volume mounts at /dev/shm */
  char b_ip[32];      /* side b's container on the bridge network */
} ctx_t;

/* ---- containers ------------------------------------------------------------------------------ */

/* The pair of containers an arrangement runs in: "net" (bridge network and a
 * directory volume), "shmv" (a host tmpfs at /dev/shm) or "ipc" (one IPC
 * namespace). */
static const char *pair_of(bench_arr_t a) {
  return a == BA_CTR_SHM_VOLUME ? "shmv" : a == BA_CTR_IPC_SHARED ? "ipc" : "net";
}

static void ctr_name(const ctx_t *c, const char *pair, char side, char *buf, size_t cap) {
  snprintf(buf, cap, "%s-%s-%c", c->tag, pair, side);
}

#define CTR_VOLUME "/colo-shared" /* where the directory volume appears in the net pair */

/* Starts the pairs the planned rows need. 0, or -1 with c->eng.why. */
static int ctrs_up(ctx_t *c) {
  ctr_engine_t *e = &c->eng;
  bench_run_t *run = c->run;
  int need[BA_COUNT] = {0};
  for (int i = 0; i < run->nrows; i++) need[run->rows[i].arr] = 1;
  if (c->progress) fprintf(stderr, "colo bench: preparing %s containers (root filesystem in %s/rootfs) ...\n", c->o->containers, c->dir);
  if (ctr_open(e, c->o->containers, c->dir, c->tag)) return -1;
  char cpus[2][32], vol[600], shm[600], name[2][128], ipc[160];
  for (int s = 0; s < 2; s++)
    snprintf(cpus[s], sizeof cpus[s], "--cpuset-cpus=%d", s ? run->cpu_b : run->cpu_a);
  int pinned = run->cpu_a >= 0;
  if (need[BA_CTR_BRIDGE] || need[BA_CTR_VOLUME_SOCKET] || need[BA_CTR_VOLUME_AUTO]) {
    snprintf(vol, sizeof vol, "%s/volume", c->dir);
    if (tos_mkdir(vol, 0777)) {
      snprintf(e->why, sizeof e->why, "making the volume directory: %s", tos_last_error());
      return -1;
    }
    snprintf(vol, sizeof vol, "%s/volume:" CTR_VOLUME, c->dir);
    /* A subnet nobody else uses: try a few. */
    char subnet[32], ip[2][40];
    int rc = -1;
    for (int attempt = 0; attempt < 4 && rc && !cli_stop; attempt++) {
      unsigned octet = 100 + (unsigned)((c->seed + (uint64_t)attempt * 37u) % 150u);
      snprintf(subnet, sizeof subnet, "10.203.%u.0/24", octet);
      snprintf(c->b_ip, sizeof c->b_ip, "10.203.%u.2", octet);
      snprintf(ip[0], sizeof ip[0], "--ip=10.203.%u.3", octet);
      snprintf(ip[1], sizeof ip[1], "--ip=%s", c->b_ip);
      rc = ctr_network(e, c->tag, subnet);
    }
    if (rc) return -1;
    for (int s = 1; s >= 0 && !cli_stop; s--) {
      char net[128];
      snprintf(net, sizeof net, "--network=%s", c->tag);
      ctr_name(c, "net", s ? 'b' : 'a', name[s], sizeof name[s]);
      char *opts[] = {net, ip[s], "-v", vol, pinned ? cpus[s] : NULL, NULL};
      if (ctr_start(e, name[s], opts)) return -1;
    }
  }
  if (need[BA_CTR_SHM_VOLUME] && !cli_stop) {
    /* A directory on the host's /dev/shm is a host tmpfs: no mount to make or undo. */
    snprintf(c->shm_dir, sizeof c->shm_dir, "/dev/shm/%s", c->tag);
    if (tos_mkdir(c->shm_dir, 01777)) {
      c->shm_dir[0] = 0;
      snprintf(e->why, sizeof e->why, "making the host tmpfs directory: %s", tos_last_error());
      return -1;
    }
    snprintf(shm, sizeof shm, "%s:/dev/shm", c->shm_dir);
    for (int s = 1; s >= 0 && !cli_stop; s--) {
      ctr_name(c, "shmv", s ? 'b' : 'a', name[s], sizeof name[s]);
      char *opts[] = {"--network=none", "-v", shm, pinned ? cpus[s] : NULL, NULL};
      if (ctr_start(e, name[s], opts)) return -1;
    }
  }
  if (need[BA_CTR_IPC_SHARED] && !cli_stop) {
    ctr_name(c, "ipc", 'b', name[1], sizeof name[1]);
    ctr_name(c, "ipc", 'a', name[0], sizeof name[0]);
    snprintf(ipc, sizeof ipc, "--ipc=container:%s", name[1]);
    char *ob[] = {"--network=none", "--ipc=shareable", pinned ? cpus[1] : NULL, NULL};
    char *oa[] = {"--network=none", ipc, pinned ? cpus[0] : NULL, NULL};
    if (ctr_start(e, name[1], ob) || (!cli_stop && ctr_start(e, name[0], oa))) return -1;
  }
  return 0;
}

static void ctrs_down(ctx_t *c) {
  if (!c->o->containers) return;
  if (c->eng.nctrs && c->progress) fprintf(stderr, "colo bench: removing the containers ...\n");
  if (ctr_close(&c->eng) != 0)
    fprintf(stderr, "colo bench: could not remove everything it made (%s): %s\n", c->tag, c->eng.why);
  if (c->shm_dir[0]) tos_tree_remove(c->shm_dir);
  c->shm_dir[0] = 0;
}

/* ---- running a row ------------------------------------------------------------------------------- */

static void endpoint_of(const ctx_t *c, const bench_row_t *r, int idx, char *ep, size_t cap) {
  switch (r->arr) {
  case BA_CTR_BRIDGE: snprintf(ep, cap, "tcp://%s:0", c->b_ip); return;
  case BA_CTR_VOLUME_SOCKET: snprintf(ep, cap, "unix://" CTR_VOLUME "/r%d.sock", idx); return;
  case BA_CTR_VOLUME_AUTO: snprintf(ep, cap, "colo://" CTR_VOLUME "/r%d.rdv", idx); return;
  case BA_CTR_SHM_VOLUME:
  case BA_CTR_IPC_SHARED: snprintf(ep, cap, "shm://colo-bench-r%d", idx); return;
  default: break;
  }
  switch (r->transport) {
  case BT_TCP: snprintf(ep, cap, "tcp://127.0.0.1:0"); break;
  case BT_TCP_NETNS: snprintf(ep, cap, "tcp://" NETNS_ADDR_B ":0"); break;
  case BT_UNIX: snprintf(ep, cap, "unix://%s/r%d.sock", c->dir, idx); break;
  case BT_FIFO: snprintf(ep, cap, "pipe://%s/r%d.pipe", c->dir, idx); break;
  case BT_SHM: snprintf(ep, cap, "shm://colo-bench-%s-r%d", strrchr(c->dir, '.') + 1, idx); break;
  case BT_MEMFD: snprintf(ep, cap, "colo://%s/r%d.rdv", c->dir, idx); break;
  default: snprintf(ep, cap, "reference"); break;
  }
}

/* Reads key=value from a worker's result line. */
static int field(const char *line, const char *key, uint64_t *v) {
  const char *s = cli_kv(line, key);
  if (s) *v = strtoull(s, NULL, 10);
  return s != NULL;
}

static void parse_side(const char *line, bench_side_t *s) {
  field(line, "cpu_ns", &s->cpu_ns);
  field(line, "rss", &s->peak_rss);
  field(line, "verified", &s->verified);
}

/* Waits for side's next line; "result ..." or "ready ..." is success. */
static int report_line(tos_proc_t *p, const char *side, char *line, size_t cap, int timeout_ms, bench_row_t *r) {
  int rc = tos_proc_line(p, line, cap, timeout_ms);
  if (cli_stop) return COLO_EAGAIN;
  if (rc == COLO_EAGAIN) rc = tos_proc_line(p, line, cap, timeout_ms); /* another signal */
  if (rc) {
    snprintf(r->error, sizeof r->error, "side %s: %s", side, tos_last_error());
    return rc;
  }
  if (!strncmp(line, "error ", 6)) {
    snprintf(r->error, sizeof r->error, "side %s: %s", side, line + 6);
    return COLO_EIO;
  }
  return 0;
}

static int run_row(ctx_t *c, bench_row_t *r, int idx) {
  char ep[512], arg[12][600], line[1024];
  endpoint_of(c, r, idx, ep, sizeof ep);
  tos_shmem_t *mem = NULL;
  char handle[32] = "";
  if (r->transport == BT_REFERENCE) {
    int rc = tos_shmem_create(ref_mem_size(r->size, 1u << 20), &mem, handle, sizeof handle);
    if (rc) {
      snprintf(r->error, sizeof r->error, "reference ring: %s", tos_last_error());
      return rc;
    }
  }
  snprintf(arg[0], sizeof arg[0], "transport=%s", bench_transport_name(r->transport));
  snprintf(arg[1], sizeof arg[1], "mode=%d", r->mode);
  snprintf(arg[2], sizeof arg[2], "pattern=%d", (int)r->pattern);
  snprintf(arg[3], sizeof arg[3], "size=%llu", (unsigned long long)r->size);
  snprintf(arg[4], sizeof arg[4], "count=%llu", (unsigned long long)r->count);
  snprintf(arg[5], sizeof arg[5], "warmup=%llu", (unsigned long long)r->warmup);
  snprintf(arg[6], sizeof arg[6], "interval_us=%llu", (unsigned long long)r->interval_us);
  snprintf(arg[7], sizeof arg[7], "seed=%llu", (unsigned long long)c->seed);
  snprintf(arg[8], sizeof arg[8], "ref=%s", handle);
  snprintf(arg[9], sizeof arg[9], "endpoint=%s", ep);
  char *argv[] = {"colo", "__bench-worker", "b", arg[0], arg[1], arg[2], arg[3], arg[4], arg[5], arg[6], arg[7],
                  arg[8], arg[9], NULL};
  int netns = r->transport == BT_TCP_NETNS, ctr = r->arr != BA_HOST;
  /* In a container, the container is pinned (--cpuset-cpus) and the engine runs the worker. */
  char name[2][128], *prefix[2][CTR_PREFIX];
  for (int s = 0; s < 2 && ctr; s++) {
    ctr_name(c, pair_of(r->arr), s ? 'b' : 'a', name[s], sizeof name[s]);
    ctr_exec_prefix(&c->eng, name[s], prefix[s]);
  }
  tos_proc_spec_t sb = {argv, ctr ? -1 : c->run->cpu_b, netns ? c->netns.ns[0] : NULL, ctr ? prefix[1] : NULL};
  tos_proc_t *pa = NULL, *pb = NULL;
  int rc = tos_proc_spawn(&sb, &pb);
  if (rc) {
    snprintf(r->error, sizeof r->error, "starting side b: %s", tos_last_error());
    goto out;
  }
  if ((rc = report_line(pb, "b", line, sizeof line, 30000, r)) != 0) goto out;
  if (strncmp(line, "ready ", 6)) {
    snprintf(r->error, sizeof r->error, "side b said '%.200s', not ready", line);
    rc = COLO_EPROTO;
    goto out;
  }
  snprintf(arg[9], sizeof arg[9], "endpoint=%.580s", line + 6);
  argv[2] = "a";
  tos_proc_spec_t sa = {argv, ctr ? -1 : c->run->cpu_a, netns ? c->netns.ns[1] : NULL, ctr ? prefix[0] : NULL};
  if ((rc = tos_proc_spawn(&sa, &pa)) != 0) {
    snprintf(r->error, sizeof r->error, "starting side a: %s", tos_last_error());
    goto out;
  }
  tos_shmem_free(mem); /* both children hold it now */
  mem = NULL;
  /* A watchdog far beyond any sane row: each operation has its own bound too. */
  uint64_t total = r->warmup + r->count;
  uint64_t budget_ms = 60000 + total * (2 + r->interval_us / 1000) + (r->size * total) / 20000;
  int budget = budget_ms > 3600000 ? 3600000 : (int)budget_ms;
  char la[1024];
  if ((rc = report_line(pa, "a", la, sizeof la, budget, r)) != 0) goto out;
  if ((rc = report_line(pb, "b", line, sizeof line, 30000, r)) != 0) goto out;
  int code;
  if (tos_proc_wait(pa, 10000, &code) == 0 && code != 0) {
    snprintf(r->error, sizeof r->error, "side a exited with %d", code);
    rc = COLO_EIO;
    goto out;
  }
  if (tos_proc_wait(pb, 10000, &code) == 0 && code != 0) {
    snprintf(r->error, sizeof r->error, "side b exited with %d", code);
    rc = COLO_EIO;
    goto out;
  }
  parse_side(la, &r->a);
  parse_side(line, &r->b);
  const char *timed = r->pattern == BP_STREAM ? line : la;
  field(timed, "elapsed_ns", &r->elapsed_ns);
  field(la, "clock_ns", &r->clock_ns);
  field(la, "p50", &r->p50), field(la, "p90", &r->p90), field(la, "p99", &r->p99);
  field(la, "p999", &r->p999), field(la, "max", &r->max), field(la, "min", &r->min);
  const char *mean = cli_kv(la, "mean");
  if (mean) r->mean = strtod(mean, NULL);
  uint64_t want = r->warmup + r->count;
  r->done = 1;
  r->ok = r->a.verified == (r->pattern == BP_STREAM ? 0 : want) && r->b.verified == want;
  if (!r->ok) snprintf(r->error, sizeof r->error, "not every payload was checked");
out:
  if (rc && !cli_stop) {
    /* The other side sees its peer's close or death and exits by itself:
     * give it a moment before killing it, so it can remove what it made
     * (not after Ctrl-C: then the user is waiting). */
    int ignored;
    if (pa) tos_proc_wait(pa, 2000, &ignored);
    if (pb) tos_proc_wait(pb, 2000, &ignored);
  }
  tos_proc_free(pa);
  tos_proc_free(pb);
  tos_shmem_free(mem);
  /* A listener killed above leaves its segment's name: remove it. */
  if (rc && r->transport == BT_SHM && !ctr) colo_seg_remove(ep, 1);
  return rc;
}

/* ---- the command -------------------------------------------------------------------------------------- */

static bench_row_t *add_row(ctx_t *c, bench_arr_t arr, int t, int mode, uint64_t size) {
  bopts_t *o = c->o;
  bench_run_t *run = c->run;
  if (run->nrows == BENCH_MAX_ROWS) return NULL;
  bench_row_t *r = &run->rows[run->nrows++];
  memset(r, 0, sizeof *r);
  r->arr = arr;
  r->transport = (bench_transport_t)t;
  r->mode = mode;
  r->pattern = o->pattern;
  r->size = size;
  r->count = o->count;
  r->warmup = o->warmup;
  r->interval_us = o->pattern == BP_IDLE ? o->interval_us : 0;
  return r;
}

/* With containers: per size, transport and mode, each arrangement that uses
 * the transport, then the same between host processes, side by side. */
static void plan_containers(ctx_t *c) {
  bopts_t *o = c->o;
  static const bench_transport_t order[] = {BT_TCP, BT_UNIX, BT_MEMFD, BT_SHM};
  for (int s = 0; s < o->nsizes; s++) {
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
      bench_transport_t t = order[i];
      if (!o->want[t]) continue;
      int nm = bench_transport_has_mode(t) ? o->nmodes : 1;
      for (int m = 0; m < nm; m++)
        for (int a = 1; a <= BA_COUNT; a++) {
          bench_arr_t arr = a == BA_COUNT ? BA_HOST : (bench_arr_t)a;
          if (o->arr_want[arr] && (arr == BA_HOST || arr_transports[arr] == t))
            add_row(c, arr, t, bench_transport_has_mode(t) ? o->modes[m] : -1, o->sizes[s]);
        }
    }
    /* The minimal ring between host processes: the floor this machine sets
     * for any shared-memory row, measured in the same run. */
    if (o->want[BT_REFERENCE] && o->arr_want[BA_HOST] && !c->run->skipped[BT_REFERENCE][0])
      add_row(c, BA_HOST, BT_REFERENCE, COLO_WAIT_SPIN, o->sizes[s]);
  }
}

static void plan(ctx_t *c) {
  bopts_t *o = c->o;
  bench_run_t *run = c->run;
  if (o->containers) {
    plan_containers(c);
    return;
  }
  for (int s = 0; s < o->nsizes; s++)
    for (int t = 0; t < BT_COUNT; t++) {
      if (!o->want[t] || run->skipped[t][0]) continue;
      int nm = bench_transport_has_mode((bench_transport_t)t) ? o->nmodes : 1;
      for (int m = 0; m < nm; m++)
        add_row(c, BA_HOST, t,
                bench_transport_has_mode((bench_transport_t)t) ? o->modes[m] : t == BT_REFERENCE ? COLO_WAIT_SPIN : -1,
                o->sizes[s]);
    }
}

/* Picks the CPUs; 0, or CLI_USAGE when --cpus names one we may not use. */
static int pick_cpus(ctx_t *c) {
  int cpus[1024], n = tos_cpus(cpus, 1024);
  bench_run_t *run = c->run;
  if (c->o->cpus_set) {
    int fa = 0, fb = 0;
    for (int i = 0; i < n; i++) fa |= cpus[i] == c->o->cpu_a, fb |= cpus[i] == c->o->cpu_b;
    if (!fa || !fb) return cli_usage("bench", "--cpus %d,%d: this process may only run on %d CPU(s)", c->o->cpu_a, c->o->cpu_b, n);
    run->cpu_a = c->o->cpu_a, run->cpu_b = c->o->cpu_b;
  } else if (n >= 2) {
    run->cpu_a = cpus[0], run->cpu_b = cpus[1];
  } else {
    run->cpu_a = run->cpu_b = -1;
    /* Two spinning processes on one CPU measure the scheduler's time slice. */
    snprintf(run->skipped[BT_REFERENCE], sizeof run->skipped[0], "a spin ring needs two CPUs; this process has one");
    for (int i = 0; i < c->o->nmodes; i++)
      if (c->o->modes[i] == COLO_WAIT_SPIN) c->o->modes[i--] = c->o->modes[--c->o->nmodes];
  }
  return 0;
}

/* A round's figure: what the median round is chosen by. */
static double row_figure(const bench_row_t *r) {
  return r->pattern == BP_STREAM ? bench_msgs_per_s(r) : (double)r->p50;
}

/* Runs every planned row o->rounds times, a whole round of rows at a time,
 * and keeps each row's median round (a failed round makes the run fail).
 * -1 when a row failed, 0 otherwise; stops at Ctrl-C. */
static int run_rounds(ctx_t *c) {
  bench_run_t *run = c->run;
  int n = run->nrows, rounds = c->o->rounds, failed = 0;
  bench_row_t *all = calloc((size_t)n * (size_t)rounds, sizeof *all);
  if (!all) return fprintf(stderr, "colo bench: out of memory\n"), -1;
  for (int k = 0; k < rounds && !cli_stop; k++)
    for (int i = 0; i < n && !cli_stop; i++) {
      bench_row_t *r = &all[i * rounds + k];
      *r = run->rows[i]; /* the plan */
      char label[96], sz[16], of[32] = "";
      bench_row_label(r, c->o->containers != NULL, label, sizeof label);
      cli_human_size(r->size, sz, sizeof sz);
      if (rounds > 1) snprintf(of, sizeof of, "round %d, ", k + 1);
      uint64_t t0 = tos_now_ns();
      if (c->progress)
        fprintf(stderr, "colo bench: [%d/%d] %s%s, %s, %s ... ", k * n + i + 1, n * rounds, of, label, sz,
                bench_pattern_name(r->pattern));
      run_row(c, r, k * n + i); /* the index names its endpoints: unique in the run */
      if (cli_stop) break;
      if (c->progress) fprintf(stderr, "%s in %.1f s\n", r->done && r->ok ? "done" : "FAILED", (tos_now_ns() - t0) / 1e9);
      if (!r->done || !r->ok) {
        fprintf(stderr, "colo bench: %s%s, %s: %s\n", of, label, sz, r->error);
        failed = 1;
      }
    }
  for (int i = 0; i < n && !cli_stop; i++) {
    /* The passing rounds in order of their figure; the row is the median one
     * (the first failed round when none passed). */
    bench_row_t *ok[BENCH_MAX_ROUNDS], *first_bad = NULL;
    int nok = 0;
    for (int k = 0; k < rounds; k++) {
      bench_row_t *r = &all[i * rounds + k];
      if (r->done && r->ok) {
        int j = nok++;
        while (j > 0 && row_figure(ok[j - 1]) > row_figure(r)) ok[j] = ok[j - 1], j--;
        ok[j] = r;
      } else if (!first_bad) {
        first_bad = r;
      }
    }
    run->rows[i] = nok ? *ok[nok / 2] : first_bad ? *first_bad : run->rows[i];
    run->rows[i].rounds_ok = nok;
    for (int k = 0; k < rounds; k++) {
      const bench_row_t *r = &all[i * rounds + k];
      run->rows[i].round_figure[k] = r->done && r->ok ? row_figure(r) : 0;
    }
    if (nok && first_bad) {
      /* a round failed: the row did too, whatever the others measured */
      run->rows[i].ok = 0;
      snprintf(run->rows[i].error, sizeof run->rows[i].error, "%s", first_bad->error);
    }
  }
  free(all);
  return failed ? -1 : 0;
}

int cmd_bench(int argc, char **argv) {
  bopts_t o;
  int rc = parse_opts(argc, argv, &o);
  if (rc) return rc < 0 ? CLI_OK : rc;
  bench_run_t *run = calloc(1, sizeof *run);
  if (!run) return cli_fail("bench", COLO_ENOMEM);
  ctx_t c;
  memset(&c, 0, sizeof c);
  c.o = &o, c.run = run;
  tos_random(&c.seed, sizeof c.seed);
  c.seed %= 1000000007u;
  run->seed = c.seed;
  c.progress = !o.quiet && tos_stderr_tty();
  int status = CLI_OK;
  if (o.containers && !tos_is_admin()) {
    free(run);
    fprintf(stderr, "colo bench: --containers needs root: it creates containers, a bridge network and volumes\n");
    return CLI_FAIL;
  }
  if ((rc = pick_cpus(&c)) != 0) {
    free(run);
    return rc;
  }
  cli_catch_stop();
  if ((rc = tos_tmpdir("colo-bench", c.dir, sizeof c.dir)) != 0) {
    free(run);
    return cli_fail_os("bench", rc);
  }
  snprintf(run->dir, sizeof run->dir, "%s", c.dir);
  /* Every container, network and directory the run makes is named after it. */
  snprintf(c.tag, sizeof c.tag, "colo-bench-%s", strrchr(c.dir, '.') + 1);
  for (char *p = c.tag; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a'); /* image names are lower case */
  if (o.want[BT_TCP_NETNS] && !o.containers) netns_up(&c.netns, run->skipped[BT_TCP_NETNS], sizeof run->skipped[0]);
  plan(&c);
  for (int t = 0; t < BT_COUNT; t++)
    if (o.want[t] && run->skipped[t][0] && !o.quiet)
      fprintf(stderr, "colo bench: %s skipped: %s\n", bench_transport_name((bench_transport_t)t), run->skipped[t]);
  if (!run->nrows) {
    tos_tree_remove(c.dir);
    free(run);
    return cli_usage("bench", "nothing to measure: --containers runs tcp, unix, memfd, shm and reference");
  }
  if (o.containers) {
    snprintf(run->engine, sizeof run->engine, "%s", o.containers);
    if (ctrs_up(&c) != 0 && !cli_stop) {
      fprintf(stderr, "colo bench: containers: %s\n", c.eng.why);
      ctrs_down(&c);
      tos_tree_remove(c.dir);
      free(run);
      return CLI_FAIL;
    }
  }

  run->rounds = o.rounds;
  if (run_rounds(&c) != 0) status = CLI_FAIL;
  netns_down(&c.netns);
  ctrs_down(&c);
  if (cli_stop) {
    tos_tree_remove(c.dir);
    free(run);
    fprintf(stderr, "\ncolo bench: interrupted; the %s, endpoints and processes it made are gone\n",
            o.containers ? "containers, network, volumes" : "namespaces");
    return CLI_INTERRUPTED;
  }
  if (!o.quiet) {
    bench_print_table(stdout, run);
    bench_print_savings(stdout, run);
  }
  if (o.json && bench_write_json(o.json, run) != 0) status = CLI_FAIL; /* each says why */
  if (o.csv && bench_write_csv(o.csv, run) != 0) status = CLI_FAIL;
  if (o.plot && bench_write_plot(o.plot, run) != 0) status = CLI_FAIL;
  tos_tree_remove(c.dir);
  free(run);
  return status;
}
