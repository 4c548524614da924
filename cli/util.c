/*
 * util.c - helpers of the colo command's channel subcommands.
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_SLICE_MS 250

int cli_wait_sliced(int (*op)(void *arg, int slice_ms), void *arg, int timeout_ms) {
  int left = timeout_ms;
  for (;;) {
    if (cli_stop) return COLO_ETIMEDOUT;
    int slice = left < 0 || left > CLI_SLICE_MS ? CLI_SLICE_MS : left;
    int rc = op(arg, slice);
    /* A zero timeout is a poll: that it would have to wait is its timing out. */
    if (rc == COLO_EAGAIN && timeout_ms == 0) return COLO_ETIMEDOUT;
    if (rc != COLO_ETIMEDOUT) return rc;
    if (left >= 0) {
      left -= slice;
      if (left <= 0) return rc;
    }
  }
}

int cli_fail_sliced(const char *cmd, int rc, int timeout_ms) {
  const char *msg = colo_last_error();
  if (rc != COLO_ETIMEDOUT || timeout_ms < 0 || cli_stop) return cli_fail(cmd, rc);
  /* The last " within N ms" with N at most a slice: the library's wording. */
  const char *at = NULL;
  size_t tail = 0;
  for (const char *p = strstr(msg, " within "); p; p = strstr(p + 1, " within ")) {
    char *end;
    long ms = strtol(p + 8, &end, 10);
    if (end > p + 8 && ms >= 0 && ms <= CLI_SLICE_MS && strncmp(end, " ms", 3) == 0)
      at = p, tail = (size_t)(end + 3 - p);
  }
  if (!at) return cli_fail(cmd, rc);
  char detail[1024];
  snprintf(detail, sizeof detail, "%.*s within %g s%s", (int)(at - msg), msg, timeout_ms / 1000.0, at + tail);
  return cli_fail_detail(cmd, rc, detail);
}

void cli_report_info(const char *cmd, const char *what, const colo_info_t *info) {
  fprintf(stderr, "colo %s: %s over %s: %s; largest message %llu bytes\n", cmd, what, info->transport, info->how,
          (unsigned long long)info->max_message);
  for (unsigned i = 0; i < info->skipped_count; i++)
    fprintf(stderr, "colo %s:   skipped %s: %s\n", cmd, info->skipped[i].what, info->skipped[i].why);
}

void cli_report_channel(const char *cmd, const char *what, const colo_chan_t *ch) {
  static colo_info_t info; /* 8 KiB: not on the stack */
  info.struct_size = sizeof info;
  if (colo_info(ch, &info) == 0) cli_report_info(cmd, what, &info);
}

