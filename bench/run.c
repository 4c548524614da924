/*
 * run.c - running the rows: two worker processes per row (`colo
 * __bench-worker b|a ...`), side b first (it listens and says where), then
 * side a; their report lines parsed into the row; every row measured
 * --rounds times and its median round kept.
 *
 * The driver only sleeps while a row runs: it waits for the workers' report
 * lines, so it takes no CPU from them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "colo.h"
#include "driver.h"
#include "ref_ring.h"

static void endpoint_of(const bench_ctx_t *c, const bench_row_t *r, int idx, char *ep, size_t cap) {
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
  field(line, "seq_checked", &s->seq_checked);
  field(line, "hashed", &s->hashed);
  field(line, "floor_verified", &s->floor_verified);
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

/* A worker's key=value arguments for row r, in arg[0..10] (600 bytes each). */
static void worker_args(const bench_ctx_t *c, const bench_row_t *r, const char *ep, const char *handle, char arg[][600]) {
  snprintf(arg[0], 600, "transport=%s", bench_transport_name(r->transport));
  snprintf(arg[1], 600, "mode=%d", r->mode);
  snprintf(arg[2], 600, "pattern=%d", (int)r->pattern);
  snprintf(arg[3], 600, "size=%llu", (unsigned long long)r->size);
  snprintf(arg[4], 600, "count=%llu", (unsigned long long)r->count);
  snprintf(arg[5], 600, "warmup=%llu", (unsigned long long)r->warmup);
  snprintf(arg[6], 600, "interval_us=%llu", (unsigned long long)r->interval_us);
  snprintf(arg[7], 600, "seed=%llu", (unsigned long long)c->seed);
  snprintf(arg[8], 600, "ref=%s", handle);
  snprintf(arg[9], 600, "endpoint=%s", ep);
  snprintf(arg[10], 600, "api=%d", (int)r->api);
  snprintf(arg[11], 600, "paired=%d", r->paired);
}

/* Both sides' result lines (la: side a's, lb: side b's) into r. */
static void take_results(bench_row_t *r, const char *la, const char *lb) {
  parse_side(la, &r->a);
  parse_side(lb, &r->b);
  const char *timed = r->pattern == BP_STREAM ? lb : la;
  field(timed, "elapsed_ns", &r->elapsed_ns);
  field(la, "clock_ns", &r->clock_ns);
  field(la, "p50", &r->p50), field(la, "p90", &r->p90), field(la, "p99", &r->p99);
  field(la, "p999", &r->p999), field(la, "max", &r->max), field(la, "min", &r->min);
  field(la, "floor_p50", &r->floor_p50), field(la, "floor_p99", &r->floor_p99);
  const char *mean = cli_kv(la, "mean");
  if (mean) r->mean = strtod(mean, NULL);
  const char *p = cli_kv(la, "pcts");
  for (int k = 0; p && k < BENCH_NPCT; k++) {
    char *end;
    r->pct[k] = strtoull(p, &end, 10);
    p = *end == ',' ? end + 1 : NULL;
  }
  uint64_t want = r->warmup + r->count;
  r->done = 1;
  /* What each side was due to check: a round trip, every message on both
   * sides, XXH3 included; a stream, every message's length and sequence
   * number on side b (none with empty messages) and XXH3 of its sample. */
  int stream = r->pattern == BP_STREAM;
  uint64_t a_due = stream ? 0 : want, b_hash = stream ? bench_stream_hashed(want) : want;
  uint64_t b_seq = stream && r->size ? want : 0;
  r->ok = r->a.verified == a_due && r->a.hashed == a_due && r->b.verified == want && r->b.hashed == b_hash &&
          r->b.seq_checked == b_seq && r->a.seq_checked == 0 &&
          (!r->paired || (r->a.floor_verified == want && r->b.floor_verified == want));
  if (!r->ok) snprintf(r->error, sizeof r->error, "not every payload was checked");
}

/* One row: side b started and its "ready ENDPOINT" awaited (the endpoint it
 * really listens on: a tcp port 0 becomes the port it got), then side a told
 * that endpoint; both report once. idx makes the row's endpoint names unique
 * in the run. 0, or an error with r->error saying why. */
static int run_row(bench_ctx_t *c, bench_row_t *r, int idx) {
  char ep[512], arg[13][600], line[1024];
  endpoint_of(c, r, idx, ep, sizeof ep);
  tos_shmem_t *mem = NULL;
  char handle[32] = "";
  if (r->transport == BT_REFERENCE || r->paired) {
    int rc = tos_shmem_create(ref_mem_size(r->size, 1u << 20), &mem, handle, sizeof handle);
    if (rc) {
      snprintf(r->error, sizeof r->error, "reference ring: %s", tos_last_error());
      return rc;
    }
  }
  worker_args(c, r, ep, handle, arg);
  char *argv[] = {"colo", "__bench-worker", "b", arg[0], arg[1], arg[2], arg[3], arg[4], arg[5], arg[6], arg[7],
                  arg[8], arg[9], arg[10], arg[11], NULL};
  int netns = r->transport == BT_TCP_NETNS, ctr = r->arr != BA_HOST;
  /* In a container, the container is pinned (--cpuset-cpus) and the engine runs the worker. */
  char name[2][128], *prefix[2][CTR_PREFIX];
#ifdef TOS_HAVE_CONTAINERS
  for (int s = 0; s < 2 && ctr; s++) {
    bench_ctr_name(c, bench_pair_of(r->arr), s ? 'b' : 'a', name[s], sizeof name[s]);
    ctr_exec_prefix(&c->eng, name[s], prefix[s]);
  }
#else
  (void)name, (void)prefix; /* no container rows are planned here */
#endif
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
  char la[1400];
  if ((rc = report_line(pa, "a", la, sizeof la, budget, r)) != 0) {
    /* In a stream the receiver is the side that checks: when the sender
     * failed because the receiver gave up, the receiver's reason is the one. */
    char why[sizeof r->error];
    snprintf(why, sizeof why, "%s", r->error);
    if (r->pattern != BP_STREAM || cli_stop || report_line(pb, "b", line, sizeof line, 5000, r) == 0)
      snprintf(r->error, sizeof r->error, "%s", why);
    goto out;
  }
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
  take_results(r, la, line);
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

int bench_run_rounds(bench_ctx_t *c) {
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
        while (j > 0 && bench_row_figure(ok[j - 1]) > bench_row_figure(r)) ok[j] = ok[j - 1], j--;
        ok[j] = r;
      } else if (!first_bad) {
        first_bad = r;
      }
    }
    run->rows[i] = nok ? *ok[nok / 2] : first_bad ? *first_bad : run->rows[i];
    run->rows[i].rounds_ok = nok;
    for (int k = 0; k < rounds; k++) {
      const bench_row_t *r = &all[i * rounds + k];
      run->rows[i].round_figure[k] = r->done && r->ok ? bench_row_figure(r) : 0;
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

