/*
 * util.h - what the colo command's subcommands in cli/ share.
 */
#ifndef COLO_CLI_UTIL_H
#define COLO_CLI_UTIL_H

#include "tools/common.h"
#include "colo.h"

/*
 * Runs op(arg, slice_ms) in slices until it returns something other than
 * COLO_ETIMEDOUT, the total timeout (-1: none) is spent, or a stop signal
 * arrived (COLO_ETIMEDOUT, without calling op when it arrived before; cli_stop
 * tells). Keeps Ctrl-C responsive without giving up bounded waits inside the
 * library.
 */
int cli_wait_sliced(int (*op)(void *arg, int slice_ms), void *arg, int timeout_ms);
/* cli_fail() for what cli_wait_sliced() returned: a timeout's detail, which
 * the library wrote for the last slice ("... within 250 ms"), names the whole
 * timeout instead ("... within 3 s"). */
int cli_fail_sliced(const char *cmd, int rc, int timeout_ms);

/* The shared options of recv and send, with their usage text. */
typedef struct cli_chan_opts {
  colo_opts_t opts;
  int timeout_ms; /* -1 when not given */
  int verbose;
} cli_chan_opts_t;

/* -v: "colo CMD: WHAT over TRANSPORT (how); largest message N bytes", then
 * one line per skipped rung or alternative with its reason. */
void cli_report_channel(const char *cmd, const char *what, const colo_chan_t *ch);
void cli_report_info(const char *cmd, const char *what, const colo_info_t *info);

int cmd_recv(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_rootfs(int argc, char **argv);
/* `colo __idle`: waits for SIGTERM or SIGINT, the first process of a
 * container that colo runs commands in (colo bench --containers). */
int cmd_idle(int argc, char **argv);

#endif
