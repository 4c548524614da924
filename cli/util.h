/*
 * util.h - small helpers shared by the colo command's subcommands.
 */
#ifndef COLO_CLI_UTIL_H
#define COLO_CLI_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "colo.h"

/* Exit codes: conventional. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2
#define CLI_INTERRUPTED 130

/* Set by SIGINT, SIGTERM or SIGHUP once cli_catch_stop() was called. */
extern volatile sig_atomic_t cli_stop;
/* Catches SIGINT, SIGTERM and SIGHUP (they set cli_stop, and interrupt a
 * blocked read or write with EINTR), and ignores SIGPIPE: a closed stdout is
 * then a write failing with EPIPE, which the command handles like any other
 * end, so it always gets to close its channel and remove its endpoint. Call
 * it before creating anything that must be removed on the way out. */
void cli_catch_stop(void);

/* Prints "colo CMD: <sentence>: <detail>" on stderr, the detail escaped as
 * cli_term_str() does (it names paths, and shm names anyone may choose);
 * returns CLI_FAIL (CLI_INTERRUPTED when the failure was an interruption). */
int cli_fail(const char *cmd, int rc);
/* Prints "colo CMD: timed out: <what> within S seconds"; returns CLI_FAIL. */
int cli_fail_timeout(const char *cmd, const char *what, int timeout_ms);
/* Prints "colo CMD: <message>" and a hint to --help; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The value of key in a line of space-separated key=value words (the
 * reports of colo bench's workers, colo probe's control messages): a pointer
 * just past "key=", or NULL when the line has no such word. */
const char *cli_kv(const char *line, const char *key);

/* Writes s as a JSON string (RFC 8259) whatever its bytes: '"' and '\\'
 * escaped, control characters (C0, DEL and the C1 range U+0080-U+009F) as
 * \u00XX, well-formed UTF-8 passed through, and each byte that does not
 * start a well-formed UTF-8 sequence replaced by \ufffd. */
void cli_json_str(FILE *f, const char *s);

/* Writes s for a terminal: every byte outside printable ASCII (0x20-0x7e) as
 * \xNN and a backslash as \\, so a name cannot run escape sequences in the
 * viewer's terminal or forge a line. Then pads with spaces to width columns
 * (0: no padding). Returns the columns written before the padding. For
 * anything that comes from the filesystem or a peer: names, owners, details. */
int cli_term_str(FILE *f, const char *s, int width);

/* "1.5" -> 1500 ms. Accepts non-negative decimals. 0 on success. */
int cli_parse_seconds(const char *s, int *ms);
/* "4096", "64K", "1M", "1G" (binary multiples). 0 on success. */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_wait_mode(const char *s, colo_wait_mode_t *mode);
int cli_parse_uint(const char *s, uint64_t *out);
/* 2097152 -> "2.0M" */
void cli_human_size(uint64_t n, char *buf, size_t cap);

/*
 * Runs op(arg, slice_ms) in slices until it returns something other than
 * COLO_ETIMEDOUT, the total timeout (-1: none) is spent, or a stop signal
 * arrived (COLO_ETIMEDOUT, without calling op when it arrived before; cli_stop
 * tells). Keeps Ctrl-C responsive without giving up bounded waits inside the
 * library.
 */
int cli_wait_sliced(int (*op)(void *arg, int slice_ms), void *arg, int timeout_ms);

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
int cmd_bench(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_rootfs(int argc, char **argv);
/* `colo __idle`: waits for SIGTERM or SIGINT, the first process of a
 * container that colo runs commands in (colo bench --containers). */
int cmd_idle(int argc, char **argv);

#endif
