/*
 * plan.c - which rows a run measures, in which order, on which CPUs.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "colo.h"
#include "driver.h"

static bench_row_t *add_row(bench_ctx_t *c, bench_arr_t arr, int t, int mode, bench_api_t api, uint64_t size) {
  bench_opts_t *o = c->o;
  bench_run_t *run = c->run;
  if (run->nrows == BENCH_MAX_ROWS) return NULL;
  bench_row_t *r = &run->rows[run->nrows++];
  memset(r, 0, sizeof *r);
  r->arr = arr;
  r->transport = (bench_transport_t)t;
  r->mode = mode;
  r->api = api;
  r->paired = o->paired && bench_transport_has_mode((bench_transport_t)t) && o->pattern != BP_STREAM;
  r->pattern = o->pattern;
  r->size = size;
  r->count = o->count;
  r->warmup = o->warmup;
  r->interval_us = o->pattern == BP_IDLE ? o->interval_us : 0;
  return r;
}

/* With containers: per size, transport and mode, each arrangement that uses
 * the transport, then the same between host processes, side by side. */
static void plan_containers(bench_ctx_t *c) {
  bench_opts_t *o = c->o;
  static const bench_transport_t order[] = {BT_TCP, BT_UNIX, BT_MEMFD, BT_SHM};
  for (int s = 0; s < o->nsizes; s++) {
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
      bench_transport_t t = order[i];
      if (!o->want[t]) continue;
      int nm = bench_transport_has_mode(t) ? o->nmodes : 1, na = bench_transport_has_zerocopy(t) ? o->napis : 1;
      for (int m = 0; m < nm; m++)
        for (int k = 0; k < na; k++)
          for (int a = 1; a <= BA_COUNT; a++) {
            bench_arr_t arr = a == BA_COUNT ? BA_HOST : (bench_arr_t)a;
            if (o->arr_want[arr] && (arr == BA_HOST || bench_arr_transport(arr) == t))
              add_row(c, arr, t, bench_transport_has_mode(t) ? o->modes[m] : -1,
                      bench_transport_has_zerocopy(t) ? (bench_api_t)o->apis[k] : BAPI_COPY, o->sizes[s]);
          }
    }
    /* The minimal ring between host processes: the floor this machine sets
     * for any shared-memory row, measured in the same run. */
    if (o->want[BT_REFERENCE] && o->arr_want[BA_HOST] && !c->run->skipped[BT_REFERENCE][0])
      add_row(c, BA_HOST, BT_REFERENCE, COLO_WAIT_SPIN, BAPI_COPY, o->sizes[s]);
  }
}

void bench_plan(bench_ctx_t *c) {
  bench_opts_t *o = c->o;
  bench_run_t *run = c->run;
  if (o->containers) {
    plan_containers(c);
    return;
  }
  for (int s = 0; s < o->nsizes; s++)
    for (int t = 0; t < BT_COUNT; t++) {
      if (!o->want[t] || run->skipped[t][0]) continue;
      int nm = bench_transport_has_mode((bench_transport_t)t) ? o->nmodes : 1;
      int na = bench_transport_has_zerocopy((bench_transport_t)t) ? o->napis : 1;
      for (int m = 0; m < nm; m++)
        for (int k = 0; k < na; k++)
          add_row(c, BA_HOST, t,
                  bench_transport_has_mode((bench_transport_t)t) ? o->modes[m] : t == BT_REFERENCE ? COLO_WAIT_SPIN : -1,
                  bench_transport_has_zerocopy((bench_transport_t)t) ? (bench_api_t)o->apis[k] : BAPI_COPY, o->sizes[s]);
    }
}

int bench_pick_cpus(bench_ctx_t *c) {
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

