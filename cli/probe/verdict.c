/*
 * verdict.c - what colo probe's checks and media add up to (shared memory,
 * sockets only, nothing), the fixes that would enable more, and the report
 * as text or as one JSON object.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "probe.h"

int probe_is_shm(const probe_t *p, int m) {
  return m == M_FILE || m == M_SHM || (m == M_COLO && strcmp(p->media[M_COLO].what, "the socket"));
}

int probe_verdict(probe_t *p, int *best) {
  int shm = 0, sock = 0;
  *best = -1;
  if (p->role == 0) {
    const check_t *b = probe_find_check(p, "backing"), *m = probe_find_check(p, "mapping"), *u = probe_find_check(p, "unix socket");
    shm = b && b->state == 1 && m && m->state == 1;
    sock = u && u->state == 1;
    if (!shm && sock) probe_add_fix(p, "no segment can be backed here: use a memory-backed directory (a tmpfs; in Kubernetes an emptyDir with medium: Memory), or colo:// on this path passes a memfd over the socket");
    return shm ? 0 : sock ? 1 : 2;
  }
  for (int m = 0; m < M_COUNT; m++) {
    if (p->media[m].state != 1) continue;
    if (probe_is_shm(p, m)) shm = 1;
    else sock = 1;
    if (*best < 0 || p->media[m].p50 < p->media[*best].p50) *best = m;
  }
  const check_t *shared = probe_find_check(p, "shared file"), *exchange = probe_find_check(p, "exchange");
  if (p->bad_version) {
    /* Nothing else was tried: nothing else to change yet. */
    probe_add_fix(p, "run the same version of colo on both sides");
    return shm ? 0 : sock ? 1 : 2;
  }
  if (exchange && exchange->state == 0)
    probe_add_fix(p, "run both sides again: the other side stopped answering before every check ran");
  if (!p->peer) {
    char fix[400];
    snprintf(fix, sizeof fix,
             "mount the same directory at %s in both: podman/docker run -v /srv/colo:%s (a host tmpfs, such as a "
             "directory in the host's /dev/shm, is fastest), or an emptyDir volume with medium: Memory mounted in both "
             "containers of a Kubernetes pod",
             p->path, p->path);
    probe_add_fix(p, fix);
    tos_fsinfo_t fi;
    if (tos_fsinfo(p->path, &fi) == 0 && fi.mount_is_path && !strcmp(fi.fstype, "tmpfs"))
      probe_add_fix(p, "this path is a tmpfs mounted for this container alone (a 'shared' memory volume that is private to each container): mount one host directory instead");
  } else if (!shm) {
    if (shared && shared->state == 0)
      probe_add_fix(p, "the directory is not one shared medium: mount the same host directory (best a tmpfs) at this path in both");
    probe_add_fix(p, "share /dev/shm: run the second container with --ipc=container:FIRST, or mount one host tmpfs at /dev/shm in both (-v /dev/shm/colo:/dev/shm)");
    if (strstr(p->media[M_COLO].why, "memfd") || strstr(p->rung, "memfd skipped"))
      probe_add_fix(p, "allow memfd_create and descriptor passing (seccomp profile): colo:// then lands on a memfd ring");
  }
  if (p->media[M_FILE].state == 0 && strstr(p->media[M_FILE].why, "space"))
    probe_add_fix(p, "give the volume room for a segment: a larger tmpfs (size=256m), or --shm-size=256m when it is /dev/shm");
  return shm ? 0 : sock ? 1 : 2;
}

void probe_print_text(probe_t *p, int code, int best) {
  static const char *const role[] = {"", "serve", "join"};
  char a[32], b[32];
  printf("colo probe%s%s %s", p->role ? " " : "", role[p->role], p->path);
  if (p->role && p->peer && p->found_s > 0) printf(": found the other side after %.1f s (pid %u, host '%s')", p->found_s,
                                                  (unsigned)p->them.pid, p->them.host);
  printf("\n");
  for (int i = 0; i < p->nchecks; i++) {
    const check_t *c = &p->checks[i];
    printf("  %-12s %-4s %s\n", c->name, c->state == 1 ? "ok" : c->state == 0 ? "NO" : "-", c->detail);
  }
  if (p->role && p->peer) {
    printf("\nTransports between the two:\n");
    for (int m = 0; m < M_COUNT; m++) {
      const medium_t *md = &p->media[m];
      printf("  %-44s %-30s ", md->ep, md->what);
      if (md->state == 1) {
        bench_fmt_ns((double)md->p50, a, sizeof a);
        bench_fmt_ns((double)md->p99, b, sizeof b);
        printf("works: p50 %s, p99 %s\n", a, b);
      } else {
        printf("%s\n", md->state == 0 ? "does not work" : "not tried");
        if (md->why[0]) printf("  %-44s %s\n", "", md->why);
      }
    }
    if (p->rung[0]) printf("  colo:// chose: %s\n", p->rung);
  }
  printf("\nVerdict: ");
  if (code == 0) printf("shared memory works");
  else if (code == 1) printf("only sockets work (no shared memory)");
  else printf(p->role ? "nothing is shared between the two" : "this path cannot carry a channel");
  if (best >= 0) {
    bench_fmt_ns((double)p->media[best].p50, a, sizeof a);
    printf("; fastest: %s (%s, p50 %s)", p->media[best].ep, p->media[best].what, a);
  }
  printf(".\n");
  for (int i = 0; i < p->nfixes; i++) printf("  To enable more: %s.\n", p->fixes[i]);
}

void probe_print_json(probe_t *p, int code, int best) {
  static const char *const role[] = {"path", "serve", "join"};
  printf("{\"role\":\"%s\",\"path\":", role[p->role]);
  cli_json_str(stdout, p->path);
  printf(",\"checks\":[");
  for (int i = 0; i < p->nchecks; i++) {
    printf("%s{\"name\":", i ? "," : "");
    cli_json_str(stdout, p->checks[i].name);
    printf(",\"ok\":%s,\"detail\":", p->checks[i].state == 1 ? "true" : p->checks[i].state == 0 ? "false" : "null");
    cli_json_str(stdout, p->checks[i].detail);
    printf("}");
  }
  printf("]");
  if (p->role) {
    printf(",\"peer\":");
    if (p->peer) {
      printf("{\"pid\":%u,\"uid\":%u,\"host\":", (unsigned)p->them.pid, (unsigned)p->them.uid);
      cli_json_str(stdout, p->them.host);
      printf(",\"found_after_s\":%.3f,\"namespaces\":{", p->found_s);
      for (int i = 0; i < TOS_NS_COUNT; i++)
        printf("%s\"%s\":\"%s\"", i ? "," : "", tos_ns_names[i],
               p->me.ns[i] && p->me.ns[i] == p->them.ns[i] ? "shared" : "separate");
      printf("}}");
    } else {
      printf("null");
    }
    printf(",\"transports\":[");
    for (int m = 0; m < M_COUNT; m++) {
      const medium_t *md = &p->media[m];
      printf("%s{\"name\":\"%s\",\"endpoint\":", m ? "," : "", md->name);
      cli_json_str(stdout, md->ep);
      printf(",\"what\":");
      cli_json_str(stdout, md->what);
      printf(",\"shared_memory\":%s,\"works\":%s", probe_is_shm(p, m) ? "true" : "false",
             md->state == 1 ? "true" : md->state == 0 ? "false" : "null");
      if (md->state == 1) printf(",\"p50_ns\":%llu,\"p99_ns\":%llu", (unsigned long long)md->p50, (unsigned long long)md->p99);
      printf(",\"why\":");
      if (md->why[0]) cli_json_str(stdout, md->why);
      else printf("null");
      printf("}");
    }
    printf("],\"colo_rungs\":");
    cli_json_str(stdout, p->rung);
  }
  printf(",\"verdict\":{\"shared_memory\":%s,\"sockets\":%s,\"fastest\":", code == 0 ? "true" : "false",
         code <= 1 ? "true" : "false");
  if (best >= 0) cli_json_str(stdout, p->media[best].ep);
  else printf("null");
  printf(",\"fixes\":[");
  for (int i = 0; i < p->nfixes; i++) {
    if (i) printf(",");
    cli_json_str(stdout, p->fixes[i]);
  }
  printf("]},\"exit\":%d}\n", code);
}

