/*
 * report.c - what colo bench prints and writes: the table, the savings
 * against the TCP rows, JSON, CSV and a gnuplot chart.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "bench.h"
#include "colo.h"

static void fmt_rate(double v, char *buf, size_t cap) {
  if (v >= 1e6) snprintf(buf, cap, "%.2fM", v / 1e6);
  else if (v >= 1e3) snprintf(buf, cap, "%.1fk", v / 1e3);
  else snprintf(buf, cap, "%.0f", v);
}

/* Prints s left-aligned in w terminal columns (µ is two bytes, one column). */
static void col(FILE *f, const char *s, int w) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) cols += (*p & 0xC0) != 0x80;
  fputs(s, f);
  for (; cols < w; cols++) fputc(' ', f);
}

static void col_ns(FILE *f, double ns, int w) {
  char b[32];
  bench_fmt_ns(ns, b, sizeof b);
  col(f, b, w);
}

/* The cost of one clock reading, as the first row that ran measured it; 0 if none ran. */
static uint64_t run_clock_ns(const bench_run_t *run) {
  for (int i = 0; i < run->nrows; i++)
    if (run->rows[i].clock_ns) return run->rows[i].clock_ns;
  return 0;
}

static int is_tcp(bench_transport_t t) { return t == BT_TCP || t == BT_TCP_NETNS; }

void bench_print_table(FILE *f, const bench_run_t *run) {
  tos_machine_t m;
  tos_machine(&m);
  int stream = run->nrows && run->rows[0].pattern == BP_STREAM;
  const bench_row_t *r0 = run->nrows ? &run->rows[0] : NULL;
  int ctr = run->engine[0] != 0;
  fprintf(f, "\ncolo bench: %s, two processes", r0 ? bench_pattern_name(r0->pattern) : "nothing");
  if (ctr) fprintf(f, " in two %s containers or on the host,", run->engine);
  if (run->cpu_a >= 0) fprintf(f, " pinned to CPUs %d (side A) and %d (side B)", run->cpu_a, run->cpu_b);
  else fprintf(f, " (not pinned)");
  if (r0) fprintf(f, ", %llu timed messages per row after %llu of warm-up", (unsigned long long)r0->count,
                  (unsigned long long)r0->warmup);
  if (run->rounds > 1)
    fprintf(f, "; each row is the median of %d rounds, taken in turn with the other rows", run->rounds);
  fprintf(f, "\n%s, %d CPUs, %s, virtualisation: %s\n", m.cpu_model, m.cpus_online, m.kernel, m.virt);
  if (r0 && !stream && run_clock_ns(run)) {
    char b[32];
    bench_fmt_ns((double)run_clock_ns(run), b, sizeof b);
    fprintf(f, "Each round trip includes one clock reading, which costs %s here.\n", b);
  }
  fputc('\n', f);
  if (ctr) col(f, "arrangement", 19);
  col(f, "transport", 27), col(f, "size", 6);
  if (stream) {
    col(f, "msgs/s", 10), col(f, "GB/s", 8), col(f, "cpu/msg A", 11), col(f, "cpu/msg B", 11);
  } else {
    col(f, "p50", 10), col(f, "p90", 10), col(f, "p99", 10), col(f, "p99.9", 10), col(f, "max", 10);
    col(f, "rt/s", 9), col(f, "cpu/rt A", 10), col(f, "cpu/rt B", 10);
  }
  col(f, "rss A", 7), col(f, "rss B", 7);
  fputs("checked\n", f);
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *r = &run->rows[i];
    char label[96], b[32];
    bench_row_label(r, 0, label, sizeof label);
    if (ctr) col(f, bench_arr_name(r->arr), 19);
    col(f, label, 27);
    cli_human_size(r->size, b, sizeof b);
    col(f, b, 6);
    if (!r->done) {
      fprintf(f, "failed: %s\n", r->error);
      continue;
    }
    double per = (double)r->count;
    if (stream) {
      fmt_rate(bench_msgs_per_s(r), b, sizeof b), col(f, b, 10);
      snprintf(b, sizeof b, "%.2f", bench_gb_per_s(r)), col(f, b, 8);
    } else {
      col_ns(f, (double)r->p50, 10), col_ns(f, (double)r->p90, 10), col_ns(f, (double)r->p99, 10);
      col_ns(f, (double)r->p999, 10), col_ns(f, (double)r->max, 10);
      fmt_rate(bench_msgs_per_s(r), b, sizeof b), col(f, b, 9);
    }
    col_ns(f, (double)r->a.cpu_ns / per, stream ? 11 : 10);
    col_ns(f, (double)r->b.cpu_ns / per, stream ? 11 : 10);
    cli_human_size(r->a.peak_rss, b, sizeof b), col(f, b, 7);
    cli_human_size(r->b.peak_rss, b, sizeof b), col(f, b, 7);
    fputs(r->ok ? "yes\n" : "NO\n", f);
  }
  for (int t = 0; t < BT_COUNT; t++)
    if (run->skipped[t][0]) fprintf(f, "%-27s skipped: %s\n", bench_transport_name((bench_transport_t)t), run->skipped[t]);
}

/* The row of arrangement arr, transport t and r's size (and mode, when
 * mode_too) that ran and verified; NULL if none. */
static const bench_row_t *find_row(const bench_run_t *run, const bench_row_t *r, bench_arr_t arr, bench_transport_t t,
                                   int mode_too) {
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *b = &run->rows[i];
    if (b->arr == arr && b->transport == t && b->size == r->size && b->done && b->ok &&
        (!mode_too || (b->mode == r->mode && b->api == r->api)))
      return b;
  }
  return NULL;
}

double bench_paired_ratio(const bench_run_t *run, const bench_row_t *a, const bench_row_t *b) {
  double q[BENCH_MAX_ROUNDS];
  int n = 0;
  for (int k = 0; k < run->rounds && k < BENCH_MAX_ROUNDS; k++) {
    if (a->round_figure[k] <= 0 || b->round_figure[k] <= 0) continue;
    double v = a->round_figure[k] / b->round_figure[k];
    int j = n++;
    while (j > 0 && q[j - 1] > v) q[j] = q[j - 1], j--;
    q[j] = v;
  }
  if (!n) return 0;
  return n % 2 ? q[n / 2] : (q[n / 2 - 1] + q[n / 2]) / 2;
}

/* The TCP row of the same size as r (loopback or netns); NULL if none. */
static const bench_row_t *baseline(const bench_run_t *run, const bench_row_t *r, bench_transport_t t) {
  return find_row(run, r, BA_HOST, t, 0);
}

static const char *baseline_name(bench_transport_t t) {
  return t == BT_TCP ? "TCP over loopback" : "TCP between network namespaces";
}

/* "saves 61.2 µs per round trip at p50 (118×) and 70.1 µs at p99" */
static void latency_vs(FILE *f, const bench_row_t *r, const bench_row_t *b) {
  char d50[32], d99[32];
  double s50 = (double)b->p50 - (double)r->p50, s99 = (double)b->p99 - (double)r->p99;
  bench_fmt_ns(s50 < 0 ? -s50 : s50, d50, sizeof d50);
  bench_fmt_ns(s99 < 0 ? -s99 : s99, d99, sizeof d99);
  double x = r->p50 ? (double)b->p50 / (double)r->p50 : 0;
  if (s50 >= 0) fprintf(f, "saves %s per round trip at p50 (%.1f× lower)", d50, x);
  else fprintf(f, "costs %s more per round trip at p50 (%.2f×)", d50, x);
  fprintf(f, " and %s %s at p99", s99 >= 0 ? "saves" : "costs", d99);
}

static void throughput_vs(FILE *f, const bench_row_t *r, const bench_row_t *b) {
  double x = bench_msgs_per_s(b) > 0 ? bench_msgs_per_s(r) / bench_msgs_per_s(b) : 0;
  fprintf(f, "moves %.1f× the messages per second (%.2f GB/s against %.2f GB/s)", x, bench_gb_per_s(r),
          bench_gb_per_s(b));
}

/* The verdict, per size: the fastest shared-memory row against the TCP
 * baseline, which is TCP over loopback, or with containers TCP between them
 * (and then only rows between containers compete). */
static void print_verdicts(FILE *f, const bench_run_t *run, int *any) {
  int ctr = run->engine[0] != 0;
  const char *base_name = ctr ? "TCP between the containers (bridge network)" : "TCP over loopback";
  for (int s = 0; s < run->nrows; s++) {
    const bench_row_t *r0 = &run->rows[s], *best = NULL;
    const bench_row_t *base = find_row(run, r0, ctr ? BA_CTR_BRIDGE : BA_HOST, BT_TCP, 0);
    if (!base || (s > 0 && run->rows[s - 1].size == r0->size)) continue;
    for (int i = 0; i < run->nrows; i++) {
      const bench_row_t *r = &run->rows[i];
      if (r->size != r0->size || (ctr && r->arr == BA_HOST) || !r->done || !r->ok ||
          !bench_transport_has_mode(r->transport))
        continue;
      int better = r->pattern == BP_STREAM ? !best || bench_msgs_per_s(r) > bench_msgs_per_s(best)
                                           : !best || r->p50 < best->p50;
      if (better) best = r;
    }
    if (!best) continue;
    char label[96], sz[16], a[32], b[32], d[32];
    bench_row_label(best, ctr, label, sizeof label);
    cli_human_size(best->size, sz, sizeof sz);
    if (!(*any)++) fputc('\n', f);
    if (best->pattern == BP_STREAM) {
      fprintf(f, "Verdict (%s messages): shared memory%s, %s, streams %.2f GB/s, %.1f× %s (%.2f GB/s).\n", sz,
              ctr ? " between containers" : "", label, bench_gb_per_s(best),
              bench_msgs_per_s(best) / bench_msgs_per_s(base), base_name, bench_gb_per_s(base));
    } else {
      bench_fmt_ns((double)best->p50, a, sizeof a);
      bench_fmt_ns((double)base->p50, b, sizeof b);
      bench_fmt_ns((double)base->p50 - (double)best->p50, d, sizeof d);
      fprintf(f, "Verdict (%s messages): a round trip over shared memory%s, %s, takes %s at p50 against %s with %s: "
                 "%.1f× lower latency, %s saved per round trip.\n",
              sz, ctr ? " between containers" : "", label, a, b, base_name, (double)base->p50 / (double)best->p50, d);
    }
  }
}

/* With containers: every row against TCP between the containers (ctr-bridge),
 * and each container row against the same transport between host processes. */
static void print_savings_containers(FILE *f, const bench_run_t *run) {
  int any = 0;
  print_verdicts(f, run, &any);
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *r = &run->rows[i];
    const bench_row_t *bridge = find_row(run, r, BA_CTR_BRIDGE, BT_TCP, 0);
    if (r->arr == BA_CTR_BRIDGE || !r->done || !r->ok || !bridge) continue;
    char label[96], sz[16];
    bench_row_label(r, 1, label, sizeof label);
    cli_human_size(r->size, sz, sizeof sz);
    if (!any++) fputc('\n', f);
    fprintf(f, "%s, %s: ", label, sz);
    if (r->pattern == BP_STREAM) throughput_vs(f, r, bridge);
    else latency_vs(f, r, bridge);
    fputs(" against TCP between containers", f);
    const bench_row_t *host = r->arr == BA_HOST ? NULL : find_row(run, r, BA_HOST, r->transport, 1);
    double x = host ? bench_paired_ratio(run, r, host) : 0;
    const char *paired = run->rounds > 1 ? " (median of the rounds' ratios)" : "";
    if (x > 0 && r->pattern != BP_STREAM) fprintf(f, "; p50 %.2f× that between host processes%s", x, paired);
    else if (x > 0) fprintf(f, "; %.2f× the rate between host processes%s", x, paired);
    fputs(".\n", f);
  }
}

void bench_print_savings(FILE *f, const bench_run_t *run) {
  if (run->engine[0]) {
    print_savings_containers(f, run);
    return;
  }
  int any = 0;
  print_verdicts(f, run, &any);
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *r = &run->rows[i];
    if (is_tcp(r->transport) || !r->done || !r->ok) continue;
    char label[96], sz[16];
    bench_row_label(r, 0, label, sizeof label);
    cli_human_size(r->size, sz, sizeof sz);
    int first = 1;
    for (bench_transport_t t = BT_TCP; t <= BT_TCP_NETNS; t++) {
      const bench_row_t *b = baseline(run, r, t);
      if (!b) continue;
      if (!any++) fputc('\n', f);
      if (first) fprintf(f, "%s, %s: ", label, sz);
      else fputs("; ", f);
      if (r->pattern == BP_STREAM) throughput_vs(f, r, b);
      else latency_vs(f, r, b);
      fprintf(f, " against %s", baseline_name(t));
      first = 0;
    }
    if (!first) fputs(".\n", f);
  }
}

/* Every file the report writes: a failure to create or to finish writing
 * it is one line on stderr and -1. */
static FILE *out_open(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) fprintf(stderr, "colo bench: cannot write %s\n", path);
  return f;
}

static int out_close(FILE *f, const char *path) {
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    fprintf(stderr, "colo bench: writing %s failed\n", path);
    return -1;
  }
  return 0;
}

/* ---- JSON and CSV ------------------------------------------------------------------------ */

static void json_u64_or_null(FILE *f, const char *key, uint64_t v, int have) {
  if (have) fprintf(f, "\"%s\": %llu", key, (unsigned long long)v);
  else fprintf(f, "\"%s\": null", key);
}

int bench_write_json(const char *path, const bench_run_t *run) {
  FILE *f = out_open(path);
  if (!f) return -1;
  tos_machine_t m;
  tos_machine(&m);
  uint64_t clk = run_clock_ns(run);
  fprintf(f, "{\n  \"machine\": {\"cpu_model\": ");
  cli_json_str(f, m.cpu_model);
  fprintf(f, ", \"cores\": %d, \"kernel\": ", m.cpus_online);
  cli_json_str(f, m.kernel);
  fprintf(f, ", \"virtualisation\": ");
  cli_json_str(f, m.virt);
  fprintf(f, ", \"host\": ");
  cli_json_str(f, m.host);
  fprintf(f, ", \"colo_version\": ");
  cli_json_str(f, colo_version());
  fprintf(f, ", \"clock_ns\": %llu},\n", (unsigned long long)clk);
  fprintf(f, "  \"config\": {\"cpus\": ");
  if (run->cpu_a >= 0) fprintf(f, "[%d, %d]", run->cpu_a, run->cpu_b);
  else fprintf(f, "null");
  fprintf(f, ", \"seed\": %llu, \"rounds\": %d, \"containers\": ", (unsigned long long)run->seed,
          run->rounds > 0 ? run->rounds : 1);
  if (run->engine[0]) cli_json_str(f, run->engine);
  else fputs("null", f);
  fprintf(f, "},\n  \"skipped\": [");
  int n = 0;
  for (int t = 0; t < BT_COUNT; t++)
    if (run->skipped[t][0]) {
      fprintf(f, "%s{\"transport\": \"%s\", \"why\": ", n++ ? ", " : "", bench_transport_name((bench_transport_t)t));
      cli_json_str(f, run->skipped[t]);
      fputc('}', f);
    }
  fprintf(f, "],\n  \"results\": [");
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *r = &run->rows[i];
    int lat = r->done && r->pattern != BP_STREAM;
    const char *mode = bench_mode_name(r->mode);
    fprintf(f, "%s\n    {\"arrangement\": \"%s\", \"transport\": \"%s\", \"mode\": ", i ? "," : "",
            bench_arr_name(r->arr), bench_transport_name(r->transport));
    if (mode) fprintf(f, "\"%s\"", mode);
    else fprintf(f, "null");
    fprintf(f, ", \"api\": \"%s\"", bench_api_name(r->api));
    fprintf(f, ", \"pattern\": \"%s\", \"size\": %llu, \"count\": %llu, \"warmup\": %llu, ",
            bench_pattern_name(r->pattern), (unsigned long long)r->size, (unsigned long long)r->count,
            (unsigned long long)r->warmup);
    if (r->pattern == BP_IDLE) fprintf(f, "\"interval_us\": %llu, ", (unsigned long long)r->interval_us);
    json_u64_or_null(f, "p50_ns", r->p50, lat), fputs(", ", f);
    json_u64_or_null(f, "p90_ns", r->p90, lat), fputs(", ", f);
    json_u64_or_null(f, "p99_ns", r->p99, lat), fputs(", ", f);
    json_u64_or_null(f, "p999_ns", r->p999, lat), fputs(", ", f);
    json_u64_or_null(f, "max_ns", r->max, lat), fputs(", ", f);
    json_u64_or_null(f, "min_ns", r->min, lat), fputs(", ", f);
    if (lat) fprintf(f, "\"mean_ns\": %.1f, ", r->mean);
    else fprintf(f, "\"mean_ns\": null, ");
    if (lat && r->paired && r->floor_p50)
      fprintf(f, "\"paired\": true, \"floor_p50_ns\": %llu, \"floor_p99_ns\": %llu, \"floor_ratio\": %.4f, ",
              (unsigned long long)r->floor_p50, (unsigned long long)r->floor_p99, (double)r->p50 / (double)r->floor_p50);
    else
      fprintf(f, "\"paired\": %s, \"floor_p50_ns\": null, \"floor_p99_ns\": null, \"floor_ratio\": null, ",
              r->paired ? "true" : "false");
    if (lat) {
      fputs("\"percentiles_ns\": {", f);
      for (int k = 0; k < BENCH_NPCT; k++)
        fprintf(f, "%s\"%g\": %llu", k ? ", " : "", bench_pcts[k] * 100, (unsigned long long)r->pct[k]);
      fputs("}, ", f);
    } else {
      fputs("\"percentiles_ns\": null, ", f);
    }
    if (r->done) fprintf(f, "\"msgs_per_s\": %.1f, ", bench_msgs_per_s(r));
    else fprintf(f, "\"msgs_per_s\": null, ");
    if (r->done && r->pattern == BP_STREAM) fprintf(f, "\"gb_per_s\": %.4f, ", bench_gb_per_s(r));
    else fprintf(f, "\"gb_per_s\": null, ");
    if (r->done)
      fprintf(f, "\"cpu_ns_per_op\": {\"a\": %.1f, \"b\": %.1f}, \"peak_rss_bytes\": {\"a\": %llu, \"b\": %llu}, ",
              (double)r->a.cpu_ns / (double)r->count, (double)r->b.cpu_ns / (double)r->count,
              (unsigned long long)r->a.peak_rss, (unsigned long long)r->b.peak_rss);
    else fprintf(f, "\"cpu_ns_per_op\": null, \"peak_rss_bytes\": null, ");
    fprintf(f, "\"checked_messages\": {\"a\": %llu, \"b\": %llu}, ", (unsigned long long)r->a.verified,
            (unsigned long long)r->b.verified);
    /* what was checked of them, and where: none of it is on the timed path
     * but a stream receiver's length and sequence comparisons */
    fprintf(f, "\"checks\": {\"length\": {\"a\": %llu, \"b\": %llu}, \"sequence\": {\"a\": %llu, \"b\": %llu}, "
               "\"xxh3\": {\"a\": %llu, \"b\": %llu}, \"where\": \"%s\"}, ",
            (unsigned long long)r->a.verified, (unsigned long long)r->b.verified, (unsigned long long)r->a.seq_checked,
            (unsigned long long)r->b.seq_checked, (unsigned long long)r->a.hashed, (unsigned long long)r->b.hashed,
            r->pattern == BP_STREAM ? "in the receive loop: length and sequence of every message, XXH3 of the first "
                                      "and last 1000 and every 64th"
                                    : "after the timing: side a once the round trip is timed, side b once the echo "
                                      "is sent; length and XXH3 of every message");
    json_u64_or_null(f, "elapsed_ns", r->elapsed_ns, r->done), fputs(", ", f);
    /* each round's figure in the order the rounds ran (null: failed); the
     * row's own figures are its median round's */
    fprintf(f, "\"%s\": [", r->pattern == BP_STREAM ? "round_msgs_per_s" : "round_p50_ns");
    for (int k = 0; k < run->rounds; k++) {
      if (k) fputs(", ", f);
      if (r->round_figure[k] > 0) fprintf(f, "%.0f", r->round_figure[k]);
      else fputs("null", f);
    }
    fputs("], ", f);
    fprintf(f, "\"verified\": %s, \"error\": ", r->done && r->ok ? "true" : "false");
    if (r->error[0]) cli_json_str(f, r->error);
    else fputs("null", f);
    fputc('}', f);
  }
  fprintf(f, "\n  ]\n}\n");
  return out_close(f, path);
}

int bench_write_csv(const char *path, const bench_run_t *run) {
  FILE *f = out_open(path);
  if (!f) return -1;
  fprintf(f, "arrangement,transport,mode,api,pattern,size,count,warmup,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,msgs_per_s,"
             "gb_per_s,cpu_ns_per_op_a,cpu_ns_per_op_b,peak_rss_a,peak_rss_b,verified\n");
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *r = &run->rows[i];
    const char *mode = bench_mode_name(r->mode);
    fprintf(f, "%s,%s,%s,%s,%s,%llu,%llu,%llu,", bench_arr_name(r->arr), bench_transport_name(r->transport),
            mode ? mode : "", bench_api_name(r->api), bench_pattern_name(r->pattern), (unsigned long long)r->size, (unsigned long long)r->count,
            (unsigned long long)r->warmup);
    if (r->done && r->pattern != BP_STREAM)
      fprintf(f, "%llu,%llu,%llu,%llu,%llu,", (unsigned long long)r->p50, (unsigned long long)r->p90,
              (unsigned long long)r->p99, (unsigned long long)r->p999, (unsigned long long)r->max);
    else fprintf(f, ",,,,,");
    if (r->done) {
      fprintf(f, "%.1f,", bench_msgs_per_s(r));
      if (r->pattern == BP_STREAM) fprintf(f, "%.4f", bench_gb_per_s(r));
      fprintf(f, ",%.1f,%.1f,%llu,%llu,", (double)r->a.cpu_ns / (double)r->count,
              (double)r->b.cpu_ns / (double)r->count, (unsigned long long)r->a.peak_rss,
              (unsigned long long)r->b.peak_rss);
    } else {
      fprintf(f, ",,,,,,");
    }
    fprintf(f, "%s\n", r->done && r->ok ? "true" : "false");
  }
  return out_close(f, path);
}

/* ---- the charts ------------------------------------------------------------------------------ */

/* Runs gnuplot on script; 0, or -1 with why on stderr. */
static int gnuplot(const char *script, const char *path) {
  char *argv[] = {"gnuplot", (char *)script, NULL};
  int rc = tos_run(argv, 1);
  if (rc == COLO_ENOENT) {
    fprintf(stderr, "colo bench: --plot needs gnuplot (Debian package gnuplot-nox)\n");
    return -1;
  }
  if (rc != 0) {
    fprintf(stderr, "colo bench: gnuplot failed (exit %d) drawing %s\n", rc, path);
    return -1;
  }
  return 0;
}

/* The round trips' latency distribution, as latency results are shared
 * (HdrHistogram's percentile plot): latency on a log axis against the
 * percentile, spread as 1/(1-p) so that 90%, 99%, 99.9%... are equally far
 * apart; one line per row, the maximum at the right end. */
static int write_pct_plot(const char *path, const bench_run_t *run) {
  char data[512], script[512];
  snprintf(data, sizeof data, "%s/pct.dat", run->dir);
  snprintf(script, sizeof script, "%s/pct.gp", run->dir);
  int sizes = 0;
  for (int i = 0; i < run->nrows; i++) sizes += i == 0 || run->rows[i].size != run->rows[i - 1].size;
  FILE *f = out_open(data);
  if (!f) return -1;
  int n = 0;
  char titles[BENCH_MAX_ROWS][112];
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *r = &run->rows[i];
    if (!r->done || !r->ok || r->pattern == BP_STREAM) continue;
    char label[96], sz[16];
    bench_row_label(r, run->engine[0] != 0, label, sizeof label);
    cli_human_size(r->size, sz, sizeof sz);
    if (sizes > 1) snprintf(titles[n], sizeof titles[n], "%s %s", label, sz);
    else snprintf(titles[n], sizeof titles[n], "%s", label);
    if (n) fputs("\n\n", f);
    for (int k = 0; k < BENCH_NPCT; k++) {
      double x = bench_pcts[k] >= 1.0 ? (double)r->count : 1.0 / (1.0 - bench_pcts[k]);
      if (x > (double)r->count) continue; /* a percentile finer than the samples */
      fprintf(f, "%.3f %.4f\n", x, (double)r->pct[k] / 1e3);
    }
    n++;
  }
  if (out_close(f, data) != 0) return -1;
  if (!n) return 0;
  tos_machine_t m;
  tos_machine(&m);
  int svg = strcmp(strrchr(path, '.'), ".svg") == 0;
  if (!(f = out_open(script))) return -1;
  fprintf(f, "set terminal %s size 1100,650 font 'sans,11' background rgb 'white'\n",
          svg ? "svg dynamic enhanced" : "pngcairo enhanced");
  fprintf(f, "set output '%s'\n", path);
  fprintf(f, "set title \"colo bench: round-trip latency by percentile (µs, log scale), %llu round trips per row\\n%s, "
             "%d CPUs, virtualisation %s\" noenhanced\n",
          (unsigned long long)run->rows[0].count, m.cpu_model, m.cpus_online, m.virt);
  fprintf(f, "set logscale xy\nset grid xtics ytics\nset key top left noenhanced\nset xlabel 'percentile'\n"
             "set ylabel 'round trip (µs)'\n"
             /* (a tic label is a format: %% in gnuplot for a percent sign) */
             "set xtics ('0%%%%' 1, '50%%%%' 2, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, '99.99%%%%' 10000, "
             "'99.999%%%%' 100000, '99.9999%%%%' 1000000)\n");
  fputs("plot ", f);
  for (int i = 0; i < n; i++) {
    fprintf(f, "%s'%s' index %d using 1:2 with linespoints pt 7 ps 0.5 title \"", i ? ", " : "", i ? "" : data, i);
    for (const char *c = titles[i]; *c; c++)
      if (*c != '"' && *c != '\\') fputc(*c, f);
    fputc('"', f);
  }
  fputc('\n', f);
  if (out_close(f, script) != 0) return -1;
  return gnuplot(script, path);
}

/* FILE.svg -> FILE-percentiles.svg */
static void pct_path(const char *path, char *buf, size_t cap) {
  const char *dot = strrchr(path, '.');
  snprintf(buf, cap, "%.*s-percentiles%s", (int)(dot - path), path, dot);
}

int bench_write_plot(const char *path, const bench_run_t *run) {
  char data[512], script[512];
  snprintf(data, sizeof data, "%s/plot.dat", run->dir);
  snprintf(script, sizeof script, "%s/plot.gp", run->dir);
  int stream = run->nrows && run->rows[0].pattern == BP_STREAM;
  int sizes = 0;
  for (int i = 0; i < run->nrows; i++) sizes += i == 0 || run->rows[i].size != run->rows[i - 1].size;
  FILE *f = out_open(data);
  if (!f) return -1;
  int n = 0, longest = 0;
  for (int i = 0; i < run->nrows; i++) {
    const bench_row_t *r = &run->rows[i];
    if (!r->done || !r->ok) continue;
    char label[96], sz[16];
    bench_row_label(r, run->engine[0] != 0, label, sizeof label);
    cli_human_size(r->size, sz, sizeof sz);
    int len = (int)strlen(label) + (sizes > 1 ? (int)strlen(sz) + 1 : 0);
    if (len > longest) longest = len;
    if (sizes > 1) fprintf(f, "\"%s %s\"", label, sz);
    else fprintf(f, "\"%s\"", label);
    if (stream) fprintf(f, " %.4f\n", bench_gb_per_s(r));
    else fprintf(f, " %.4f %.4f\n", (double)r->p50 / 1e3, (double)r->p99 / 1e3);
    n++;
  }
  if (out_close(f, data) != 0) return -1;
  if (!n) return fprintf(stderr, "colo bench: no row to plot\n"), -1;
  tos_machine_t m;
  tos_machine(&m);
  const bench_row_t *r0 = &run->rows[0];
  char sz[16];
  cli_human_size(r0->size, sz, sizeof sz);
  int svg = strcmp(strrchr(path, '.'), ".svg") == 0;
  if (!(f = out_open(script))) return -1;
  fprintf(f, "set terminal %s size 1100,%d font 'sans,11' background rgb 'white'\n", svg ? "svg dynamic enhanced" : "pngcairo enhanced",
          run->engine[0] ? 700 : 600);
  fprintf(f, "set output '%s'\n", path);
  if (stream)
    fprintf(f, "set title \"colo bench: one-way stream, %s messages (GB/s, log scale)\\n{/*0.8 %s, %d CPUs, %s}\" noenhanced\n",
            sizes > 1 ? "several" : sz, m.cpu_model, m.cpus_online, m.virt);
  else
    fprintf(f, "set title \"colo bench: round trip%s%s%s, %s messages, p50 and p99 (µs, log scale)\\n%s, %d CPUs, virtualisation %s\" noenhanced\n",
            run->engine[0] ? " between two " : "", run->engine, run->engine[0] ? " containers or host processes" : "",
            sizes > 1 ? "several" : sz, m.cpu_model, m.cpus_online, m.virt);
  fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
             "set style fill solid 0.85 border -1\nset logscale y\nset grid ytics\n"
             "set xtics rotate by -35 noenhanced\nset key top right\n");
  /* Room under the axis for the slanted labels (about 0.3 lines a character). */
  fprintf(f, "set bmargin %d\nset rmargin 8\n", 3 + (longest * 3) / 10);
  fprintf(f, "set ylabel '%s'\n", stream ? "GB/s" : "round trip (µs)");
  if (stream) fprintf(f, "plot '%s' using 2:xtic(1) title 'GB/s' lc rgb '#3a7ebf'\n", data);
  else
    fprintf(f, "plot '%s' using 2:xtic(1) title 'p50' lc rgb '#3a7ebf', '' using 3 title 'p99' lc rgb '#e07b39'\n",
            data);
  if (out_close(f, script) != 0) return -1;
  if (gnuplot(script, path) != 0) return -1;
  if (stream) return 0;
  char pp[1024];
  pct_path(path, pp, sizeof pp);
  return write_pct_plot(pp, run);
}
