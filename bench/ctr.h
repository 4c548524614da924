/*
 * ctr.h - real containers for colo bench and its tests: one engine (podman,
 * or docker when a daemon is reachable), a root filesystem holding this very
 * program (no image, no registry), and everything started through it
 * recorded, so that ctr_close() removes it all again, also after a failure
 * or Ctrl-C.
 */
#ifndef COLO_BENCH_CTR_H
#define COLO_BENCH_CTR_H

#include <stddef.h>

#define CTR_MAX 16

typedef struct ctr_engine {
  char name[16];             /* "podman" or "docker" */
  char *base[8];             /* the engine's command and its global options */
  int nbase;
  char rootfs[512];          /* podman runs it with --rootfs */
  char image[96];            /* docker: the image imported from it */
  char ctrs[CTR_MAX][96];    /* containers started, to remove */
  int nctrs;
  char net[96];              /* the network created, to remove ("" none) */
  char why[1024];            /* the last failure, with the engine's own words */
} ctr_engine_t;

/*
 * Checks that the engine runs here (podman: installed; docker: its daemon
 * answers), builds the root filesystem in workdir/rootfs (docker: imports it
 * as an image named after tag). 0, or -1 with e->why.
 */
int ctr_open(ctr_engine_t *e, const char *engine, const char *workdir, const char *tag);
/* A bridge network with this subnet ("10.203.77.0/24"). 0 or -1 (why). */
int ctr_network(ctr_engine_t *e, const char *name, const char *subnet);
/*
 * Starts a long-lived container called name that runs `colo __idle`, with
 * the engine options in opts (NULL-terminated: --network, --ip, -v, --ipc,
 * --cpuset-cpus ...). 0 or -1 (why).
 */
int ctr_start(ctr_engine_t *e, const char *name, char *const *opts);
/* The command prefix that runs /colo ARGS... inside container name (for
 * tos_proc_spec_t.prefix); valid while e is. buf holds CTR_PREFIX slots. */
#define CTR_PREFIX 16
void ctr_exec_prefix(ctr_engine_t *e, const char *name, char *buf[CTR_PREFIX]);
/* Removes every container, the network and the image it made, and the root
 * filesystem. Safe to call twice. -1 (why: the first failure) when something
 * could not be removed. */
int ctr_close(ctr_engine_t *e);

#endif
