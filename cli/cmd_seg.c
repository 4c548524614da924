/*
 * cmd_seg.c - `colo ls`, `colo rm` and `colo gc`: segments seen from outside.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/os.h"
#include "util.h"

static const char ls_help[] =
    "Usage: colo ls [options] [ENDPOINT...]\n"
    "\n"
    "Lists colo segments: every shm:// segment in " TOS_SHM_PLACE ", or the endpoints\n"
    "given (file:///PATH segments are listed only when given). For each: size,\n"
    "permissions, owner, whether its listener and connector processes are\n"
    "alive, and whether its header is valid. Nothing is attached or changed.\n"
    "\n"
    "Options:\n"
    "      --json   one JSON object per segment in an array, for scripts\n"
    "  -h, --help   show this help\n"
    "\n"
    "Columns LISTENER and CONNECTOR: alive, dead, none (never attached) or\n"
    "? (not permitted to look). A byte of a name, owner or status outside\n"
    "printable ASCII is shown as \\xNN, a backslash as \\\\; --json keeps\n"
    "well-formed UTF-8 and writes an invalid byte as \\ufffd.\n"
    "Exit status: 0, 1 when a given endpoint does not exist, 2 usage error.\n";

static const char rm_help[] =
    "Usage: colo rm [options] ENDPOINT...\n"
    "\n"
    "Removes segments. ENDPOINT is shm://NAME, a bare NAME (meaning shm://NAME)\n"
    "or file:///PATH. Processes that still map a removed segment keep it until\n"
    "they close it; only the name goes.\n"
    "\n"
    "Options:\n"
    "  -f, --force    remove even when a live process holds it, or when the\n"
    "                 object is not a colo segment\n"
    "  -v, --verbose  say what was removed\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: 0 all removed, 1 some could not be, 2 usage error.\n";

static const char gc_help[] =
    "Usage: colo gc [options]\n"
    "\n"
    "Removes every colo segment in " TOS_SHM_PLACE " that no live process holds: what\n"
    "crashed or killed processes left behind. A segment still being created\n"
    "gets a grace period of a few seconds.\n"
    "\n"
    "Options:\n"
    "  -n, --dry-run  list what would be removed, remove nothing\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: 0, 1 when a dead segment could not be removed, 2 usage error.\n";

static const char *proc_name(colo_proc_state_t p) {
  switch (p) {
  case COLO_PROC_ALIVE: return "alive";
  case COLO_PROC_DEAD: return "dead";
  case COLO_PROC_NONE: return "none";
  default: return "?";
  }
}

/* The endpoint an argument names (a bare NAME means shm://NAME), in a
 * buffer of its own size: never cut short, so never another segment's name;
 * the library refuses a name that is too long. Free it; NULL when out of
 * memory (said on stderr). */
static char *to_endpoint(const char *cmd, const char *arg) {
  const char *prefix = strstr(arg, "://") ? "" : "shm://";
  size_t plen = strlen(prefix), len = strlen(arg);
  char *ep = malloc(plen + len + 1);
  if (!ep) {
    fprintf(stderr, "colo %s: out of memory\n", cmd);
    return NULL;
  }
  memcpy(ep, prefix, plen);
  memcpy(ep + plen, arg, len + 1);
  return ep;
}

typedef struct ls_ctx {
  int json, count;
} ls_ctx_t;

/* buf has room for the longest: sizeof i->status_detail + 64. */
static void status_text(const colo_seg_info_t *i, char *buf, size_t cap) {
  char c0[32];
  if (i->status == 0) {
    cli_human_size(i->capacity[0], c0, sizeof c0);
    snprintf(buf, cap, "ok v%u.%u, 2 rings of %s", i->version_major, i->version_minor, c0);
  } else {
    snprintf(buf, cap, "%s (%s)", colo_errname(i->status), i->status_detail);
  }
}

/* One row; ep is the endpoint to show (info->endpoint holds at most 511
 * bytes, a given file:// path may be longer). */
static void ls_row(const colo_seg_info_t *i, const char *ep, ls_ctx_t *c) {
  char status[sizeof i->status_detail + 64];
  status_text(i, status, sizeof status);
  if (c->json) {
    printf("%s\n  {\"endpoint\": ", c->count ? "," : "");
    cli_json_str(stdout, ep);
    printf(", \"size\": %llu, \"perm\": \"%04o\", \"uid\": %u, \"owner\": ", (unsigned long long)i->size, i->perm, i->uid);
    cli_json_str(stdout, i->owner);
    printf(", \"age_s\": %lld, \"listener\": \"%s\", \"connector\": \"%s\", \"dead\": %s, \"status\": \"%s\", \"detail\": ",
           (long long)i->age_s, proc_name(i->listener), proc_name(i->connector), colo_seg_is_dead(i) ? "true" : "false",
           i->status ? colo_errname(i->status) : "ok");
    cli_json_str(stdout, i->status ? i->status_detail : "");
    if (i->status == 0)
      printf(", \"version\": \"%u.%u\", \"capacity\": [%llu, %llu]", i->version_major, i->version_minor,
             (unsigned long long)i->capacity[0], (unsigned long long)i->capacity[1]);
    printf("}");
  } else {
    char size[32];
    cli_human_size(i->size, size, sizeof size);
    if (!c->count) printf("%-28s %7s %-5s %-10s %-8s %-9s %s\n", "ENDPOINT", "SIZE", "MODE", "OWNER", "LISTENER", "CONNECTOR", "STATUS");
    /* Names, owners and details come from the filesystem: escaped. */
    cli_term_str(stdout, ep, 28);
    printf(" %7s %04o  ", size, i->perm);
    cli_term_str(stdout, i->owner, 10);
    printf(" %-8s %-9s ", proc_name(i->listener), proc_name(i->connector));
    cli_term_str(stdout, status, 0);
    putchar('\n');
  }
  c->count++;
}

static int ls_one(const colo_seg_info_t *i, void *p) {
  ls_row(i, i->endpoint, p);
  return 0;
}

int cmd_ls(int argc, char **argv) {
  static const struct option longopts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  ls_ctx_t c = {0};
  optind = 1;
  opterr = 0;
  int o;
  while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (o == 'h') {
      fputs(ls_help, stdout);
      return CLI_OK;
    }
    if (o == 'j') c.json = 1;
    else return cli_usage("ls", "unknown option '%s'", argv[optind - 1]);
  }
  if (c.json) printf("[");
  int status = CLI_OK, unlistable = 0;
  if (optind == argc) {
    int rc = colo_seg_list(ls_one, &c);
    /* A system whose shared-memory names cannot be listed (Windows: the
     * library says why, and what to do instead): a feature this platform
     * lacks, as a subcommand it lacks, not a failure. */
    unlistable = rc == COLO_ENOTSUP;
    if (rc) status = cli_fail("ls", rc);
    if (unlistable) status = CLI_USAGE;
  }
  for (int a = optind; a < argc; a++) {
    colo_seg_info_t info = {.struct_size = sizeof info};
    char *ep = to_endpoint("ls", argv[a]);
    if (!ep) {
      status = CLI_FAIL;
      continue;
    }
    int rc = colo_seg_inspect(ep, &info);
    if (rc) {
      fflush(stdout);
      status = cli_fail("ls", rc);
    } else {
      ls_row(&info, ep, &c);
    }
    free(ep);
  }
  if (c.json) printf("%s]\n", c.count ? "\n" : "");
  else if (c.count == 0 && optind == argc && !unlistable) fprintf(stderr, "colo ls: no colo segments in " TOS_SHM_PLACE "\n");
  return status;
}

int cmd_rm(int argc, char **argv) {
  static const struct option longopts[] = {{"force", no_argument, 0, 'f'}, {"verbose", no_argument, 0, 'v'},
                                           {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int force = 0, verbose = 0, o;
  optind = 1;
  opterr = 0;
  while ((o = getopt_long(argc, argv, "fvh", longopts, NULL)) != -1) {
    switch (o) {
    case 'h': fputs(rm_help, stdout); return CLI_OK;
    case 'f': force = 1; break;
    case 'v': verbose = 1; break;
    default: return cli_usage("rm", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind == argc) return cli_usage("rm", "missing ENDPOINT (such as shm://demo)");
  int status = CLI_OK;
  for (int a = optind; a < argc; a++) {
    char *ep = to_endpoint("rm", argv[a]);
    if (!ep) {
      status = CLI_FAIL;
      continue;
    }
    int rc = colo_seg_remove(ep, force);
    if (rc) status = cli_fail("rm", rc);
    else if (verbose) {
      fputs("removed ", stdout);
      cli_term_str(stdout, ep, 0);
      putchar('\n');
    }
    free(ep);
  }
  return status;
}

typedef struct gc_ctx {
  int dry, removed, failed, seen;
} gc_ctx_t;

static int gc_one(const colo_seg_info_t *i, void *p) {
  gc_ctx_t *c = p;
  c->seen++;
  if (!colo_seg_is_dead(i)) return 0;
  int rc = c->dry ? 0 : colo_seg_remove(i->endpoint, 0);
  if (rc) {
    cli_fail("gc", rc);
    c->failed++;
    return 0;
  }
  fputs(c->dry ? "would remove " : "removed ", stdout);
  cli_term_str(stdout, i->endpoint, 0);
  printf(" (listener %s, connector %s)\n", proc_name(i->listener), proc_name(i->connector));
  c->removed++;
  return 0;
}

int cmd_gc(int argc, char **argv) {
  static const struct option longopts[] = {{"dry-run", no_argument, 0, 'n'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  gc_ctx_t c = {0};
  int o;
  optind = 1;
  opterr = 0;
  while ((o = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
    if (o == 'h') {
      fputs(gc_help, stdout);
      return CLI_OK;
    }
    if (o == 'n') c.dry = 1;
    else return cli_usage("gc", "unknown option '%s'", argv[optind - 1]);
  }
  if (optind < argc) return cli_usage("gc", "unexpected argument '%s'", argv[optind]);
  int rc = colo_seg_list(gc_one, &c);
  if (rc == COLO_ENOTSUP) {
    /* Nothing to collect where names cannot be listed (as in colo ls). */
    cli_fail("gc", rc);
    return CLI_USAGE;
  }
  if (rc) return cli_fail("gc", rc);
  fprintf(stderr, "colo gc: %s %d of %d segments\n", c.dry ? "would remove" : "removed", c.removed, c.seen);
  return c.failed ? CLI_FAIL : CLI_OK;
}
