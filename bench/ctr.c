/*
 * ctr.c - real containers for colo bench (see ctr.h).
 *
 * podman runs rootful and daemonless from a plain directory (--rootfs); with
 * runc as the runtime and cgroupfs as the cgroup manager it works on hosts
 * whose cgroup layout crun refuses and without systemd. docker needs its
 * daemon and an image, which `docker import` makes from the same directory.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "tools/common.h"
#include "tools/os.h"
#include "colo.h"
#include "ctr.h"

#define CTR_TIMEOUT_MS 120000 /* any one engine command */

/* Runs the engine with args (NULL-terminated); 0 or -1 with why set to what
 * it said (the last line of its output). out, when not NULL, gets its output. */
static int engine(ctr_engine_t *e, char *const *args, const char *doing, char *out, size_t cap) {
  char *argv[64], buf[4096];
  int n = 0;
  for (int i = 0; i < e->nbase; i++) argv[n++] = e->base[i];
  for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
  argv[n] = NULL;
  int rc = tos_run_output(argv, CTR_TIMEOUT_MS, out ? out : buf, out ? cap : sizeof buf);
  if (rc == 0) return 0;
  const char *said = out ? out : buf;
  if (rc < 0) snprintf(e->why, sizeof e->why, "%s: %s", doing, tos_last_error());
  else {
    const char *last = strrchr(said, '\n');
    snprintf(e->why, sizeof e->why, "%s: %s exited with %d: %.700s", doing, e->name, rc, last ? last + 1 : said);
  }
  return -1;
}

int ctr_open(ctr_engine_t *e, const char *name, const char *workdir, const char *tag) {
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  if (!strcmp(name, "podman")) {
    static char *const podman[] = {"podman", "--runtime", "runc", "--cgroup-manager=cgroupfs", "--events-backend=file"};
    for (size_t i = 0; i < sizeof podman / sizeof podman[0]; i++) e->base[e->nbase++] = podman[i];
  } else if (!strcmp(name, "docker")) {
    e->base[e->nbase++] = "docker";
  } else {
    snprintf(e->why, sizeof e->why, "unknown container engine '%s' (podman or docker)", name);
    return -1;
  }
  char out[4096];
  char *probe[] = {!strcmp(name, "docker") ? "info" : "version", NULL};
  if (engine(e, probe, !strcmp(name, "docker") ? "reaching the docker daemon" : "running podman", out, sizeof out)) {
    if (strstr(e->why, "not installed"))
      snprintf(e->why, sizeof e->why, "%s is not installed (Debian package %s%s)", name,
               !strcmp(name, "docker") ? "docker.io" : "podman", !strcmp(name, "podman") ? ", with runc" : "");
    return -1;
  }
  snprintf(e->rootfs, sizeof e->rootfs, "%s/rootfs", workdir);
  if (tos_rootfs(e->rootfs, 0, NULL, NULL) != 0) {
    snprintf(e->why, sizeof e->why, "building the container root filesystem in %s: %s", e->rootfs, tos_last_error());
    return -1;
  }
  if (!strcmp(name, "docker")) {
    char tar[600];
    snprintf(tar, sizeof tar, "%s/rootfs.tar", workdir);
    char *targs[] = {"tar", "-C", e->rootfs, "-cf", tar, ".", NULL};
    int rc = tos_run_output(targs, CTR_TIMEOUT_MS, out, sizeof out);
    if (rc) {
      snprintf(e->why, sizeof e->why, "packing %s: %.300s", tar, rc < 0 ? tos_last_error() : out);
      return -1;
    }
    snprintf(e->image, sizeof e->image, "localhost/%s:latest", tag);
    char *iargs[] = {"import", tar, e->image, NULL};
    if (engine(e, iargs, "importing the root filesystem", NULL, 0)) {
      e->image[0] = 0;
      return -1;
    }
  }
  return 0;
}

int ctr_network(ctr_engine_t *e, const char *name, const char *subnet) {
  char *args[] = {"network", "create", "--subnet", (char *)subnet, (char *)name, NULL};
  if (engine(e, args, "creating the bridge network", NULL, 0)) return -1;
  snprintf(e->net, sizeof e->net, "%s", name);
  return 0;
}

int ctr_start(ctr_engine_t *e, const char *name, char *const *opts) {
  if (e->nctrs == CTR_MAX) {
    snprintf(e->why, sizeof e->why, "too many containers");
    return -1;
  }
  char *args[48];
  int n = 0;
  args[n++] = "run", args[n++] = "-d", args[n++] = "--name", args[n++] = (char *)name;
  /* podman's default limits need CAP_SYS_RESOURCE to set; these never do. */
  args[n++] = "--ulimit", args[n++] = "nofile=1024:1024";
  args[n++] = "--ulimit", args[n++] = "nproc=4096:4096";
  for (int i = 0; opts[i] && n < 40; i++) args[n++] = opts[i];
  if (e->image[0]) args[n++] = e->image;
  else args[n++] = "--rootfs", args[n++] = e->rootfs; /* the last option: podman reads the rest as the command */
  args[n++] = "/colo", args[n++] = "__idle", args[n] = NULL;
  /* Recorded first: a run that fails half way may still leave the container. */
  snprintf(e->ctrs[e->nctrs++], sizeof e->ctrs[0], "%s", name);
  char doing[160];
  snprintf(doing, sizeof doing, "starting container %s", name);
  return engine(e, args, doing, NULL, 0);
}

void ctr_exec_prefix(ctr_engine_t *e, const char *name, char *buf[CTR_PREFIX]) {
  int n = 0;
  for (int i = 0; i < e->nbase; i++) buf[n++] = e->base[i];
  buf[n++] = "exec", buf[n++] = (char *)name, buf[n++] = "/colo", buf[n] = NULL;
}

int ctr_close(ctr_engine_t *e) {
  char *args[CTR_MAX + 8], why[sizeof e->why] = "";
  int n = 0, bad = 0;
  if (e->nctrs) {
    args[n++] = "rm", args[n++] = "-f";
    if (!strcmp(e->name, "podman")) args[n++] = "--ignore", args[n++] = "-t", args[n++] = "0";
    /* The newest first: a container that joined another's namespace must
     * go before the one it joined, or the engine refuses to remove that. */
    for (int i = e->nctrs - 1; i >= 0; i--) args[n++] = e->ctrs[i];
    args[n] = NULL;
    /* The engine removes them in parallel, so the order alone does not
     * settle it: a container another one joined may need a second pass. */
    int pass = 0;
    while (engine(e, args, "removing the containers", NULL, 0) && ++pass < 3) {
    }
    if (pass == 3) bad = 1, memcpy(why, e->why, sizeof why);
    e->nctrs = 0;
  }
  if (e->net[0]) {
    char *nargs[] = {"network", "rm", e->net, NULL};
    if (engine(e, nargs, "removing the network", NULL, 0) && !bad++) memcpy(why, e->why, sizeof why);
    e->net[0] = 0;
  }
  if (e->image[0]) {
    char *iargs[] = {"rmi", e->image, NULL};
    if (engine(e, iargs, "removing the image", NULL, 0) && !bad++) memcpy(why, e->why, sizeof why);
    e->image[0] = 0;
  }
  if (e->rootfs[0] && tos_tree_remove(e->rootfs) != 0 && !bad++)
    snprintf(why, sizeof why, "removing %s: %s", e->rootfs, tos_last_error());
  e->rootfs[0] = 0;
  memcpy(e->why, why, sizeof why);
  return bad ? -1 : 0;
}
