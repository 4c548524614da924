/*
 * driver.h - what the parts of colo bench's driver share (private to bench/):
 * the options (opts.c), the places the two sides run (netns.c for network
 * namespaces, pairs.c for container pairs), the plan (plan.c) and running the
 * rows (run.c); bench.c ties them together in cmd_bench. The workers
 * (worker.c) and the report (report.c) need only bench.h.
 */
#ifndef COLO_BENCH_DRIVER_H
#define COLO_BENCH_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "ctr.h"

/* ---- options (opts.c) ---- */

typedef struct bench_opts {
  uint64_t sizes[BENCH_MAX_SIZES];
  int nsizes;
  uint64_t count, warmup, interval_us;
  int count_set, warmup_set;
  int want[BT_COUNT];
  int modes[3], nmodes;
  int apis[BAPI_COUNT], napis; /* of the ring transports */
  int paired;                  /* --paired */
  bench_pattern_t pattern;
  int cpu_a, cpu_b, cpus_set;
  int rounds;
  const char *json, *csv, *plot;
  int quiet;
  const char *containers; /* the engine, or NULL */
  int arr_want[BA_COUNT];
} bench_opts_t;

/* Parses colo bench's options into o, defaults filled in: 0; -1 after --help
 * (printed); otherwise the exit status of a usage error (printed). */
int bench_parse_opts(int argc, char **argv, bench_opts_t *o);

/* ---- network namespaces: tcp-netns (netns.c) ---- */

typedef struct bench_netns {
  char ns[2][32], veth[2][16];
  int up;
} bench_netns_t;

#define NETNS_ADDR_B "10.203.0.1" /* side b's end (the listener); side a is .2 */


/* ---- the run ---- */

typedef struct bench_ctx {
  bench_opts_t *o;
  bench_run_t *run;
  char dir[256];
  bench_netns_t netns;
  uint64_t seed;
  int progress;
  /* --containers */
  ctr_engine_t eng;
  char tag[64];       /* names everything the run creates: colo-bench-XXXXXX */
  char shm_dir[300];  /* the host tmpfs directory ctr-shm-volume mounts at /dev/shm */
  char b_ip[32];      /* side b's container on the bridge network */
} bench_ctx_t;

/* ---- where the platform has them (TOS_HAVE_CONTAINERS): network
 * namespaces for tcp-netns (netns.c), container pairs for --containers
 * (pairs.c); elsewhere they say they are not available ---- */

#define CTR_VOLUME "/colo-shared" /* where the directory volume appears in the net pair */

#ifdef TOS_HAVE_CONTAINERS
/* Two namespaces joined by a veth pair, as two containers on a bridge would
 * be (minus the bridge itself). 0, or -1 with why. */
int bench_netns_up(bench_netns_t *n, char *why, size_t cap);
/* Removes them again; nothing when they are not up. */
void bench_netns_down(bench_netns_t *n);
/* The pair of containers an arrangement runs in: "net" (bridge network and a
 * directory volume), "shmv" (a host tmpfs at /dev/shm) or "ipc" (one IPC
 * namespace). */
const char *bench_pair_of(bench_arr_t a);
/* A pair's container of side 'a' or 'b': TAG-PAIR-SIDE. */
void bench_ctr_name(const bench_ctx_t *c, const char *pair, char side, char *buf, size_t cap);
/* Starts the pairs the planned rows need. 0, or -1 with c->eng.why. */
int bench_ctrs_up(bench_ctx_t *c);
/* Removes every container, network and directory made; safe to call again. */
void bench_ctrs_down(bench_ctx_t *c);
#else
static inline int bench_netns_up(bench_netns_t *n, char *why, size_t cap) {
  (void)n;
  snprintf(why, cap, "network namespaces are not available on this platform");
  return -1;
}
static inline void bench_netns_down(bench_netns_t *n) { (void)n; }
static inline const char *bench_pair_of(bench_arr_t a) { return (void)a, ""; }
static inline void bench_ctr_name(const bench_ctx_t *c, const char *pair, char side, char *buf, size_t cap) {
  (void)c, (void)pair, (void)side, (void)cap;
  buf[0] = 0;
}
static inline int bench_ctrs_up(bench_ctx_t *c) {
  snprintf(c->eng.why, sizeof c->eng.why, "containers are not available on this platform");
  return -1;
}
static inline void bench_ctrs_down(bench_ctx_t *c) { (void)c; }
#endif

/* ---- the plan (plan.c) ---- */

/* Picks the CPUs; 0, or CLI_USAGE when --cpus names one we may not use. */
int bench_pick_cpus(bench_ctx_t *c);
/* Fills c->run->rows from the options (transports skipped left out). */
void bench_plan(bench_ctx_t *c);

/* ---- running (run.c) ---- */

/* Runs every planned row o->rounds times, a whole round of rows at a time,
 * and keeps each row's median round (a failed round makes the run fail).
 * -1 when a row failed, 0 otherwise; stops at Ctrl-C. */
int bench_run_rounds(bench_ctx_t *c);

#endif
