/*
 * cmd_ctr.c - the subcommands for containers: `colo rootfs DIR` (a root
 * filesystem that runs this colo) and `colo __idle` (the first process of a
 * container colo bench runs its workers in).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "tools/os.h"
#include "util.h"

int cmd_idle(int argc, char **argv) {
  (void)argc, (void)argv;
  cli_catch_stop();
  while (!cli_stop) tos_sleep_ns(1000000000u);
  return CLI_OK;
}

/* ---- colo rootfs DIR ------------------------------------------------------------------------- */

static const char rootfs_help[] =
    "Usage: colo rootfs DIR [--busybox]\n"
    "\n"
    "Makes DIR a minimal root filesystem that runs this colo in a container,\n"
    "without an image or a registry: the colo executable as /colo, the shared\n"
    "libraries it has loaded (at their own paths), and empty mount points.\n"
    "\n"
    "Options:\n"
    "  --busybox   add the host's static /bin/busybox and /bin/sh (a shell to\n"
    "              look around; Debian package busybox-static)\n"
    "  -h, --help  show this help\n"
    "\n"
    "Use it with:\n"
    "  podman run --rm --rootfs DIR:O /colo probe /dev/shm\n"
    "  tar -C DIR -c . | docker import - colo:local\n"
    "  tar -C DIR -c . | podman import - colo:local\n"
    "(docs/containers.md has the arrangements colo bench measures.)\n";

static void print_file(void *ctx, const char *path) {
  (void)ctx;
  printf("  %s\n", path);
}

int cmd_rootfs(int argc, char **argv) {
  int busybox = 0;
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(rootfs_help, stdout);
      return CLI_OK;
    }
    if (!strcmp(argv[i], "--busybox")) busybox = 1;
    else if (argv[i][0] == '-') return cli_usage("rootfs", "unknown option '%s'", argv[i]);
    else if (dir) return cli_usage("rootfs", "one DIR only");
    else dir = argv[i];
  }
  if (!dir) return cli_usage("rootfs", "expected DIR");
  printf("colo rootfs: %s:\n", dir);
  int rc = tos_rootfs(dir, busybox, print_file, NULL);
  if (rc) return cli_fail_os("rootfs", rc);
  return CLI_OK;
}
