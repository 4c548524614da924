/*
 * pairs.c - the pairs of containers the --containers arrangements run their
 * two sides in (docs/containers.md), started through ctr.c's engine before
 * the rows and removed after them. Everything is named after the run's tag.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "colo.h"
#include "driver.h"

const char *bench_pair_of(bench_arr_t a) {
  return a == BA_CTR_SHM_VOLUME ? "shmv" : a == BA_CTR_IPC_SHARED ? "ipc" : "net";
}

void bench_ctr_name(const bench_ctx_t *c, const char *pair, char side, char *buf, size_t cap) {
  snprintf(buf, cap, "%s-%s-%c", c->tag, pair, side);
}

int bench_ctrs_up(bench_ctx_t *c) {
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
      bench_ctr_name(c, "net", s ? 'b' : 'a', name[s], sizeof name[s]);
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
      bench_ctr_name(c, "shmv", s ? 'b' : 'a', name[s], sizeof name[s]);
      char *opts[] = {"--network=none", "-v", shm, pinned ? cpus[s] : NULL, NULL};
      if (ctr_start(e, name[s], opts)) return -1;
    }
  }
  if (need[BA_CTR_IPC_SHARED] && !cli_stop) {
    bench_ctr_name(c, "ipc", 'b', name[1], sizeof name[1]);
    bench_ctr_name(c, "ipc", 'a', name[0], sizeof name[0]);
    snprintf(ipc, sizeof ipc, "--ipc=container:%s", name[1]);
    char *ob[] = {"--network=none", "--ipc=shareable", pinned ? cpus[1] : NULL, NULL};
    char *oa[] = {"--network=none", ipc, pinned ? cpus[0] : NULL, NULL};
    if (ctr_start(e, name[1], ob) || (!cli_stop && ctr_start(e, name[0], oa))) return -1;
  }
  return 0;
}

void bench_ctrs_down(bench_ctx_t *c) {
  if (!c->o->containers) return;
  if (c->eng.nctrs && c->progress) fprintf(stderr, "colo bench: removing the containers ...\n");
  if (ctr_close(&c->eng) != 0)
    fprintf(stderr, "colo bench: could not remove everything it made (%s): %s\n", c->tag, c->eng.why);
  if (c->shm_dir[0]) tos_tree_remove(c->shm_dir);
  c->shm_dir[0] = 0;
}

