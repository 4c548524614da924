/*
 * colo.c - the colo command: dispatch, --help, --version.
 */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "tools/os.h"
#include "util.h"

static const char main_help[] =
    "Usage: colo COMMAND [options]\n"
    "\n"
    "colo gives co-located processes the fastest channel between them: a\n"
    "lock-free ring buffer in shared memory, or a socket where memory cannot\n"
    "be shared.\n"
    "\n"
    "Commands:\n"
    "  recv ENDPOINT   listen on ENDPOINT and print each message received\n"
    "  send ENDPOINT   connect to ENDPOINT and send each line of stdin\n"
    "  info ENDPOINT   what a connect to ENDPOINT would get, and why\n"
    "  ls [ENDPOINT]   list segments, with their owners and whether their\n"
    "                  processes are alive\n"
    "  rm ENDPOINT     remove a segment\n"
    "  gc              remove every segment whose processes are all dead\n"
    "  bench           how much latency shared memory saves over TCP, measured\n"
    "                  between two processes on this host (or two containers)\n"
    "  probe PATH      whether PATH can carry shared memory; 'probe serve PATH'\n"
    "                  and 'probe join PATH' in two containers: what works\n"
    "                  between them, and what to change when it does not\n"
    "  rootfs DIR      a minimal root filesystem that runs colo in a container\n"
    "\n"
    "Endpoints:\n"
    "  colo:///PATH    automatic: a rendezvous socket at PATH picks the fastest\n"
    "                  of memfd, named shared memory and the socket itself\n"
    "  shm://NAME      " TOS_SHM_WHAT "\n"
    "  file:///PATH    a file-backed mapping on any mount, such as a volume\n"
    "                  two containers share\n"
    "  unix:///PATH    an AF_UNIX socket (message framing: docs/protocol.md)\n"
    "  " TOS_PIPE_EP "    " TOS_PIPE_WHAT_LONG "\n"
    "  tcp://HOST:PORT TCP, IPv4 or [IPv6]\n"
    "  A connector may list alternatives: colo:///s/orders.sock,tcp://10.0.0.5:7000\n"
    "\n"
    "Options:\n"
    "  -h, --help      show this help; 'colo COMMAND --help' for a command\n"
    "  -V, --version   show the version\n"
    "\n"
    "Example:\n"
    "  colo recv shm://demo --count 3 > out &\n"
    "  printf 'a\\nbb\\nccc\\n' | colo send shm://demo\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(main_help, stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(main_help, stdout);
    return CLI_OK;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("colo %s (shared segment format %d.%d)\n", colo_version(), COLO_FORMAT_MAJOR, COLO_FORMAT_MINOR);
    return CLI_OK;
  }
  /* A subcommand whose OS layer this platform lacks (tools/os.h) is listed
   * with no function: it says so instead of being unknown. */
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } cmds[] = {{"recv", cmd_recv}, {"send", cmd_send}, {"info", cmd_info}, {"ls", cmd_ls}, {"rm", cmd_rm},
              {"gc", cmd_gc},
#ifdef TOS_HAVE_PROC
              {"bench", cmd_bench}, {"__bench-worker", bench_worker_main},
#else
              {"bench", NULL}, {"__bench-worker", NULL},
#endif
#ifdef TOS_HAVE_PROBE
              {"probe", cmd_probe},
#else
              {"probe", NULL},
#endif
#ifdef TOS_HAVE_CONTAINERS
              {"rootfs", cmd_rootfs}, {"__idle", cmd_idle}};
#else
              {"rootfs", NULL}, {"__idle", NULL}};
#endif
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    if (strcmp(cmd, cmds[i].name)) continue;
    if (!cmds[i].fn) {
      fprintf(stderr, "colo: %s is not available on this platform\n", cmd);
      return CLI_USAGE;
    }
    return cmds[i].fn(argc - 1, argv + 1);
  }
  fprintf(stderr, "colo: unknown command '%s'\nTry 'colo --help'.\n", cmd);
  return CLI_USAGE;
}
