/*
 * common.h - what the colo command's parts (cli/, cli/probe, bench/) share:
 * exit codes, stop signals, failure messages, parsers, escaping for JSON and
 * terminals, and the figures both the bench and the probe print. Below both
 * cli/ and bench/, so neither includes the other for these. The cli_ and
 * bench_ prefixes are kept from where they were born.
 */
#ifndef COLO_TOOLS_COMMON_H
#define COLO_TOOLS_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "colo.h"

/* Exit codes: conventional. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2
#define CLI_INTERRUPTED 130

/* Set by SIGINT, SIGTERM or SIGHUP (Windows: Ctrl-C, Ctrl-Break, the console
 * closing) once cli_catch_stop() was called. */
extern volatile sig_atomic_t cli_stop;
/* Catches SIGINT, SIGTERM and SIGHUP, or their Windows counterparts
 * (tos_catch_stop: they set cli_stop, and interrupt a blocked read or write),
 * and ignores SIGPIPE: a closed stdout is then a write failing with EPIPE,
 * which the command handles like any other end, so it always gets to close
 * its channel and remove its endpoint. Call it before creating anything that
 * must be removed on the way out. */
void cli_catch_stop(void);

/* Prints "colo CMD: <sentence>: <detail>" on stderr, the detail escaped as
 * cli_term_str() does (it names paths, and shm names anyone may choose);
 * returns CLI_FAIL (CLI_INTERRUPTED when the failure was an interruption). */
int cli_fail(const char *cmd, int rc);
/* The same for a failure of the command's own OS layer (tools/os.h): its
 * detail is tos_last_error(). */
int cli_fail_os(const char *cmd, int rc);
/* The same with a detail of the caller's. */
int cli_fail_detail(const char *cmd, int rc, const char *detail);
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

/* Sorts v ascending; the nearest-rank percentile q (0..1] of sorted s[0..n). */
void bench_sort_u64(uint64_t *v, uint64_t n);
uint64_t bench_pct(const uint64_t *s, uint64_t n, double q);

/* "1.2 µs", "850 ns", "3.40 ms" */
void bench_fmt_ns(double ns, char *buf, size_t cap);

#endif
