/*
 * cmd_info.c - `colo info ENDPOINT`: what a connect would get, without
 * opening a channel (colo_info_endpoint()).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define INFO_TIMEOUT_DEFAULT_MS 5000

static const char info_help[] =
    "Usage: colo info ENDPOINT [options]\n"
    "\n"
    "Tells what a connect to ENDPOINT would get, without sending anything and\n"
    "without taking a connection from the listener's application:\n"
    "  colo:///PATH  runs the whole handshake (each rung proven with a nonce)\n"
    "                and prints the rung taken and why each faster one was\n"
    "                skipped; the listener must be waiting in colo_accept;\n"
    "  unix://, pipe://, tcp://  checks that a listener accepts connections;\n"
    "  shm://, file://           checks that a listener waits there.\n"
    "A comma-separated list is tried in order, as colo send does.\n"
    "\n"
    "Options:\n"
    "  -t, --timeout SECONDS  give up after SECONDS (default 5)\n"
    "      --json             one JSON object, for scripts\n"
    "      --peer-user USER   an endpoint of USER (a name or uid; * for anyone) is\n"
    "                         fine too, not only this user's or root's\n"
    "      --global           shm:// in the machine-wide namespace (Windows:\n"
    "                         Global\\colo.NAME, which needs SeCreateGlobalPrivilege\n"
    "                         to create; POSIX has only one namespace)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 a listener answered, 1 none did (the message says why),\n"
    "2 usage error.\n";

static void print_json(const colo_info_t *in) {
  printf("{\"endpoint\":");
  cli_json_str(stdout, in->endpoint);
  printf(",\"transport\":");
  cli_json_str(stdout, in->transport);
  printf(",\"rung\":%d,\"how\":", in->rung);
  cli_json_str(stdout, in->how);
  printf(",\"max_message\":%llu,\"ring_capacity\":%llu,\"skipped\":[", (unsigned long long)in->max_message,
         (unsigned long long)in->ring_capacity);
  for (unsigned i = 0; i < in->skipped_count; i++) {
    printf("%s{\"what\":", i ? "," : "");
    cli_json_str(stdout, in->skipped[i].what);
    printf(",\"why\":");
    cli_json_str(stdout, in->skipped[i].why);
    printf("}");
  }
  printf("]}\n");
}

static void print_table(const colo_info_t *in) {
  static const char *const rung[] = {"", "1 of 3 (memfd)", "2 of 3 (named shared memory)", "3 of 3 (the socket)"};
  printf("endpoint     %s\n", in->endpoint);
  printf("transport    %s\n", in->transport);
  if (in->rung >= 1 && in->rung <= 3) printf("rung         %s\n", rung[in->rung]);
  printf("how          %s\n", in->how);
  if (in->ring_capacity) {
    char h[32];
    cli_human_size(in->ring_capacity, h, sizeof h);
    printf("ring         %s each way\n", h);
  }
  if (in->max_message) printf("max message  %llu bytes\n", (unsigned long long)in->max_message);
  if (in->skipped_count == 0) printf("skipped      none\n");
  for (unsigned i = 0; i < in->skipped_count; i++)
    printf("%s %s: %s\n", i ? "            " : "skipped     ", in->skipped[i].what, in->skipped[i].why);
}

int cmd_info(int argc, char **argv) {
  static const struct option longopts[] = {{"timeout", required_argument, 0, 't'},
                                            {"json", no_argument, 0, 'j'},
                                            {"peer-user", required_argument, 0, 'u'},
                                            {"global", no_argument, 0, 'g'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
  int json = 0, timeout_ms = INFO_TIMEOUT_DEFAULT_MS, o;
  colo_opts_t opts;
  colo_opts_init(&opts);
  opterr = 0;
  while ((o = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
    if (o == 'h') {
      fputs(info_help, stdout);
      return CLI_OK;
    }
    if (o == 'j') json = 1;
    else if (o == 'u') opts.peer_user = optarg;
    else if (o == 'g') opts.shm_global = 1;
    else if (o == 't') {
      if (cli_parse_seconds(optarg, &timeout_ms)) return cli_usage("info", "--timeout: not a number of seconds: '%s'", optarg);
    } else {
      return cli_usage("info", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cli_usage("info", optind == argc ? "ENDPOINT is missing" : "one ENDPOINT only");
  static colo_info_t info; /* 8 KiB: not on the stack */
  info.struct_size = sizeof info;
  int rc = colo_info_endpoint(argv[optind], &opts, timeout_ms, &info);
  if (rc) return cli_fail("info", rc);
  if (json) print_json(&info);
  else print_table(&info);
  return CLI_OK;
}
