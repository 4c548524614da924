/*
 * util.c - helpers of the colo command's channel subcommands.
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <stdio.h>

#define CLI_SLICE_MS 250

int cli_wait_sliced(int (*op)(void *arg, int slice_ms), void *arg, int timeout_ms) {
  int left = timeout_ms;
  for (;;) {
    if (cli_stop) return COLO_ETIMEDOUT;
    int slice = left < 0 || left > CLI_SLICE_MS ? CLI_SLICE_MS : left;
    int rc = op(arg, slice);
    if (rc != COLO_ETIMEDOUT) return rc;
    if (left >= 0) {
      left -= slice;
      if (left <= 0) return rc;
    }
  }
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

