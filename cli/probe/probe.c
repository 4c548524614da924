/*
 * probe.c - `colo probe`: can this directory, or this pair of
 * containers, carry shared memory, and what would make it?
 *
 *   colo probe PATH        checks PATH as a medium, alone
 *   colo probe serve PATH  \  run one in each container (either first): they
 *   colo probe join PATH   /  find each other through PATH and try every medium
 *
 * serve and join prove each medium with data that crosses it: a nonce
 * through a shared mapping of a file on PATH, a futex wake, a lock, then a
 * channel of each transport (colo:// over a socket on PATH, a file:// ring on
 * PATH, a shm:// segment in /dev/shm, unix:// on PATH) carrying a short
 * latency sample. Nothing is taken on trust: a file both can open is not a
 * shared one until each side has seen the other's nonce in it. The parts are
 * listed in probe.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static const char probe_help[] =
    "Usage: colo probe PATH [options]\n"
    "       colo probe serve PATH [options]\n"
    "       colo probe join PATH [options]\n"
    "\n"
    "colo probe PATH checks a directory as a medium for shared memory: its\n"
    "filesystem (tmpfs, overlay, 9p, virtiofs, fuse, nfs, ext4 ...), free space\n"
    "and whether a segment can really be backed (no SIGBUS later), a MAP_SHARED\n"
    "mapping, permissions and the sticky bit, open-file-description locks, a\n"
    "Unix socket there; and the size and use of /dev/shm.\n"
    "\n"
    "Between two containers, run 'colo probe serve PATH' in one and 'colo probe\n"
    "join PATH' in the other, in either order: each waits for the other (see\n"
    "--timeout). They check that a nonce written through a file on PATH is seen\n"
    "by the other (the same file, a coherent mapping), that a futex wake and a\n"
    "lock cross, that a Unix socket on PATH connects and passes a memfd, compare\n"
    "their namespaces and hostnames, and run a short latency sample through\n"
    "every transport that works. The verdict names the fastest, and for a\n"
    "faster one that is blocked, the change that would enable it.\n"
    "\n"
    "Options:\n"
    "  -t, --timeout SECONDS  serve, join: wait this long for the other side\n"
    "                         (default 60)\n"
    "  -s, --size SIZE        the segment to try backing (default 4M)\n"
    "      --json             one JSON object on stdout, for scripts\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 shared memory works, 1 only sockets (or pipes) do, 2\n"
    "nothing does (or usage error: the message says which), 130 interrupted.\n"
    "\n"
    "Examples (docs/containers.md has the container command lines):\n"
    "  colo probe /dev/shm\n"
    "  colo probe serve /shared      # in container A\n"
    "  colo probe join /shared       # in container B\n";

check_t *probe_check(probe_t *p, const char *name, int state, const char *fmt, ...) {
  if (p->nchecks == PROBE_MAX_CHECKS) return &p->checks[PROBE_MAX_CHECKS - 1];
  check_t *c = &p->checks[p->nchecks++];
  c->name = name, c->state = state;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->detail, sizeof c->detail, fmt, ap);
  va_end(ap);
  return c;
}

const check_t *probe_find_check(const probe_t *p, const char *name) {
  for (int i = 0; i < p->nchecks; i++)
    if (!strcmp(p->checks[i].name, name)) return &p->checks[i];
  return NULL;
}

void probe_add_fix(probe_t *p, const char *fix) {
  for (int i = 0; i < p->nfixes; i++)
    if (!strcmp(p->fixes[i], fix)) return;
  if (p->nfixes < 6) snprintf(p->fixes[p->nfixes++], sizeof p->fixes[0], "%s", fix);
}

int cmd_probe(int argc, char **argv) {
  static probe_t p;
  memset(&p, 0, sizeof p);
  p.timeout_ms = 60000;
  p.size = 4u << 20;
  static const struct option longs[] = {{"timeout", required_argument, 0, 't'}, {"size", required_argument, 0, 's'},
                                        {"json", no_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "t:s:h", longs, NULL)) != -1) {
    switch (c) {
    case 't':
      if (cli_parse_seconds(optarg, &p.timeout_ms) || p.timeout_ms <= 0)
        return cli_usage("probe", "--timeout: seconds, such as 30");
      break;
    case 's':
      if (cli_parse_size(optarg, &p.size) || p.size < 4096 || p.size > (1ull << 40))
        return cli_usage("probe", "--size: a size from 4K to 1T, such as 64M");
      break;
    case 'j': p.json = 1; break;
    case 'h': fputs(probe_help, stdout); return CLI_OK;
    default: return cli_usage("probe", "unknown option '%s'", argv[optind - 1]);
    }
  }
  int left = argc - optind;
  if (left == 2 && (!strcmp(argv[optind], "serve") || !strcmp(argv[optind], "join")))
    p.role = !strcmp(argv[optind], "serve") ? 1 : 2, p.path = argv[optind + 1];
  else if (left == 1) p.path = argv[optind];
  else return cli_usage("probe", "expected PATH, serve PATH or join PATH");
  if (p.path[0] != '/') return cli_usage("probe", "PATH must be absolute: %s", p.path);
  if (strlen(p.path) > 80) return cli_usage("probe", "PATH is too long for a Unix socket in it (at most 80 bytes)");
  tos_ids(&p.me);
  cli_catch_stop();
  probe_local(&p);
  if (p.role == 1) probe_serve(&p);
  else if (p.role == 2) probe_join(&p);
  if (cli_stop) {
    fprintf(stderr, "colo probe: interrupted\n");
    return CLI_INTERRUPTED;
  }
  int best, code = probe_verdict(&p, &best);
  if (p.json) probe_print_json(&p, code, best);
  else probe_print_text(&p, code, best);
  return code;
}
