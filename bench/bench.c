/*
 * bench.c - `colo bench`: plans the rows, starts two worker processes per
 * row (pinned to two CPUs), collects what they measured and reports it.
 *
 * Everything that is compared is measured in this one run. Network
 * namespaces, containers, endpoints and segments the run creates are removed
 * at the end, also on failure or Ctrl-C: cmd_bench has one way out, and each
 * teardown it takes there is a no-op for what was never made. The parts are
 * in driver.h: opts.c, netns.c, pairs.c, plan.c, run.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "bench.h"
#include "colo.h"
#include "driver.h"

/* The namespaces and containers go first: the report needs only the run's directory. */
static void teardown(bench_ctx_t *c) {
  bench_netns_down(&c->netns);
  bench_ctrs_down(c);
}

/* The table and the savings on stdout, the files asked for; status, or CLI_FAIL
 * when a file could not be written (each says why). */
static int report(const bench_ctx_t *c, int status) {
  const bench_opts_t *o = c->o;
  if (!o->quiet) {
    bench_print_table(stdout, c->run);
    bench_print_savings(stdout, c->run);
  }
  if (o->json && bench_write_json(o->json, c->run) != 0) status = CLI_FAIL;
  if (o->csv && bench_write_csv(o->csv, c->run) != 0) status = CLI_FAIL;
  if (o->plot && bench_write_plot(o->plot, c->run) != 0) status = CLI_FAIL;
  return status;
}

/* The run's private directory, and the tag everything it makes is named after. */
static int make_dir(bench_ctx_t *c) {
  int rc = tos_tmpdir("colo-bench", c->dir, sizeof c->dir);
  if (rc) return cli_fail_os("bench", rc);
  snprintf(c->run->dir, sizeof c->run->dir, "%s", c->dir);
  snprintf(c->tag, sizeof c->tag, "colo-bench-%s", strrchr(c->dir, '.') + 1);
  for (char *p = c->tag; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a'); /* image names are lower case */
  return 0;
}

int cmd_bench(int argc, char **argv) {
  bench_opts_t o;
  int rc = bench_parse_opts(argc, argv, &o);
  if (rc) return rc < 0 ? CLI_OK : rc;
#ifndef TOS_HAVE_CONTAINERS
  if (o.containers) {
    fprintf(stderr, "colo: bench --containers is not available on this platform\n");
    return CLI_USAGE;
  }
#endif
  bench_ctx_t c;
  memset(&c, 0, sizeof c);
  c.o = &o;
  c.run = calloc(1, sizeof *c.run);
  if (!c.run) return cli_fail("bench", COLO_ENOMEM);
  bench_run_t *run = c.run;
  tos_random(&c.seed, sizeof c.seed);
  c.seed %= 1000000007u;
  run->seed = c.seed;
  c.progress = !o.quiet && tos_stderr_tty();
  int status = CLI_OK, interrupted = 0;
  if (o.containers && !tos_is_admin()) {
    fprintf(stderr, "colo bench: --containers needs root: it creates containers, a bridge network and volumes\n");
    status = CLI_FAIL;
    goto out;
  }
  if ((status = bench_pick_cpus(&c)) != 0) goto out;
  cli_catch_stop();
  if ((status = make_dir(&c)) != 0) goto out;
  if (o.want[BT_TCP_NETNS] && !o.containers) bench_netns_up(&c.netns, run->skipped[BT_TCP_NETNS], sizeof run->skipped[0]);
  bench_plan(&c);
  for (int t = 0; t < BT_COUNT; t++)
    if (o.want[t] && run->skipped[t][0] && !o.quiet)
      fprintf(stderr, "colo bench: %s skipped: %s\n", bench_transport_name((bench_transport_t)t), run->skipped[t]);
  if (!run->nrows) {
    status = cli_usage("bench", "nothing to measure: --containers runs tcp, unix, memfd, shm and reference");
    goto out;
  }
  if (o.containers) {
    snprintf(run->engine, sizeof run->engine, "%s", o.containers);
    if (bench_ctrs_up(&c) != 0 && !cli_stop) {
      fprintf(stderr, "colo bench: containers: %s\n", c.eng.why);
      status = CLI_FAIL;
      goto out;
    }
  }
  run->rounds = o.rounds;
  if (bench_run_rounds(&c) != 0) status = CLI_FAIL;
  teardown(&c);
  if (cli_stop) {
    interrupted = 1;
    status = CLI_INTERRUPTED;
    goto out;
  }
  status = report(&c, status);
out:
  teardown(&c);
  if (c.dir[0]) tos_tree_remove(c.dir);
  free(c.run);
  if (interrupted)
    fprintf(stderr, "\ncolo bench: interrupted; the %s, endpoints and processes it made are gone\n",
            o.containers ? "containers, network, volumes" : "namespaces");
  return status;
}
