/*
 * opts.c - colo bench's options: its help text, the parsers of its lists,
 * and the defaults that follow from what was given.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"
#include "colo.h"
#include "driver.h"

static const char bench_help[] =
    "Usage: colo bench [options]\n"
    "\n"
    "Measures the latency (and throughput) of every transport between two\n"
    "processes on this host, pinned to two CPUs, against TCP: how much shared\n"
    "memory saves over the TCP baseline. Each row runs in two fresh processes;\n"
    "every payload is checked, off the timed path: length and XXH3 of each in a\n"
    "round trip; length and sequence number of each, XXH3 of a sample, in a stream.\n"
    "\n"
    "Options:\n"
    "  --size LIST        message sizes, such as 64,1K,64K (default 1K)\n"
    "  --count N          timed messages per row (default 100000; idle: 1000)\n"
    "  --warmup N         untimed messages first (default 10000; idle: 10)\n"
    "  --transports LIST  of tcp, tcp-netns, unix, fifo, shm, memfd, reference\n"
    "                     (default: all; tcp-netns needs root and iproute2)\n"
    "  --modes LIST       wait modes of shm and memfd: spin, hybrid, block\n"
    "                     (default: all three)\n"
    "  --api API          of shm and memfd: copy (colo_send, colo_recv), zerocopy\n"
    "                     (colo_reserve/commit, colo_peek/release) or both (the\n"
    "                     default); the other transports have copy only\n"
    "  --paired           round trips of shm and memfd also run the floor (the\n"
    "                     reference ring) in the same two processes, in turns\n"
    "                     of 64 round trips, so both see the same drifts of the\n"
    "                     machine: floor_p50_ns and floor_ratio in the JSON\n"
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
    "  --plot FILE        draw p50 and p99 per transport with gnuplot (.svg, .png);\n"
    "                     round trips also draw their percentile distribution in\n"
    "                     FILE-percentiles.svg (or .png)\n"
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
    "in every wait mode and with both APIs; and the reference, the floor: the\n"
    "cheapest spin ring that moves the same messages (slots of the message's\n"
    "size, one index per side), written in the benchmark itself, so the\n"
    "library's own overhead shows as a ratio.\n"
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
  bench_opts_t *o = ctx;
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
  ((bench_opts_t *)ctx)->want[t] = 1;
  return 0;
}

static int add_arr(void *ctx, const char *s, size_t n) {
  int a = bench_arr_parse(s, n);
  if (a < 0) return -1;
  ((bench_opts_t *)ctx)->arr_want[a] = 1;
  return 0;
}

static int add_mode(void *ctx, const char *s, size_t n) {
  bench_opts_t *o = ctx;
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

/* "A,B": two different CPU numbers. */
static int parse_cpus(const char *s, bench_opts_t *o) {
  char *end;
  long a = strtol(s, &end, 10), b = -1;
  if (*end == ',') b = strtol(end + 1, &end, 10);
  if (*end || a < 0 || b < 0 || a == b || a > 4095 || b > 4095) return -1;
  o->cpu_a = (int)a, o->cpu_b = (int)b, o->cpus_set = 1;
  return 0;
}

/* The defaults of what was not given, once every option is read: they
 * depend on each other (the pattern sets the counts). */
static int finish(bench_opts_t *o) {
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
  if (!o->napis) o->apis[0] = BAPI_COPY, o->apis[1] = BAPI_ZEROCOPY, o->napis = 2;
  if (!o->nmodes) o->modes[0] = COLO_WAIT_SPIN, o->modes[1] = COLO_WAIT_HYBRID, o->modes[2] = COLO_WAIT_BLOCK, o->nmodes = 3;
  if (!o->count_set) o->count = o->pattern == BP_IDLE ? 1000 : 100000;
  if (!o->warmup_set) o->warmup = o->pattern == BP_IDLE ? 10 : 10000;
  return 0;
}

int bench_parse_opts(int argc, char **argv, bench_opts_t *o) {
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
      {"rounds", required_argument, 0, 'R'},     {"api", required_argument, 0, 'a'},
      {"paired", no_argument, 0, 'D'},
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
    case 'c':
      if (parse_cpus(optarg, o)) return cli_usage("bench", "--cpus: two different CPU numbers, such as 0,1");
      break;
    case 'a':
      if (!strcmp(optarg, "copy")) o->apis[0] = BAPI_COPY, o->napis = 1;
      else if (!strcmp(optarg, "zerocopy")) o->apis[0] = BAPI_ZEROCOPY, o->napis = 1;
      else if (!strcmp(optarg, "both")) o->apis[0] = BAPI_COPY, o->apis[1] = BAPI_ZEROCOPY, o->napis = 2;
      else return cli_usage("bench", "--api: copy, zerocopy or both");
      break;
    case 'D': o->paired = 1; break;
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
  return finish(o);
}

