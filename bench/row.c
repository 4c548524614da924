/*
 * row.c - the names of colo bench's transports, arrangements, patterns and
 * modes, and the figures derived from a row: what the driver, the workers and
 * the report all speak (see bench.h), in a file of its own so that none of
 * them depends on another for it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "colo.h"

static const char *const transport_names[BT_COUNT] = {"tcp", "tcp-netns", "unix", "fifo", "shm", "memfd", "reference"};
static const char *const arr_names[BA_COUNT] = {"host",           "ctr-bridge",     "ctr-volume-socket",
                                                "ctr-volume-auto", "ctr-shm-volume", "ctr-ipc-shared"};
static const bench_transport_t arr_transports[BA_COUNT] = {BT_COUNT, BT_TCP, BT_UNIX, BT_MEMFD, BT_SHM, BT_SHM};

const char *bench_arr_name(bench_arr_t a) { return arr_names[a]; }
bench_transport_t bench_arr_transport(bench_arr_t a) { return arr_transports[a]; }

const char *bench_transport_name(bench_transport_t t) { return transport_names[t]; }

int bench_transport_parse(const char *s, size_t n) {
  for (int t = 0; t < BT_COUNT; t++)
    if (strlen(transport_names[t]) == n && !strncmp(s, transport_names[t], n)) return t;
  return -1;
}

int bench_arr_parse(const char *s, size_t n) {
  for (int a = 0; a < BA_COUNT; a++)
    if (strlen(arr_names[a]) == n && !strncmp(s, arr_names[a], n)) return a;
  return -1;
}

int bench_transport_has_mode(bench_transport_t t) { return t == BT_SHM || t == BT_MEMFD; }
int bench_transport_has_zerocopy(bench_transport_t t) { return t == BT_SHM || t == BT_MEMFD; }

const char *bench_api_name(bench_api_t a) { return a == BAPI_ZEROCOPY ? "zerocopy" : "copy"; }

const double bench_pcts[BENCH_NPCT] = {0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999, 1.0};

int bench_stream_hashes(uint64_t i, uint64_t total) {
  return i < 1000 || i + 1000 >= total || i % 64 == 0;
}

uint64_t bench_stream_hashed(uint64_t total) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < total; i++) n += (uint64_t)bench_stream_hashes(i, total);
  return n;
}

const char *bench_pattern_name(bench_pattern_t p) {
  return p == BP_STREAM ? "stream" : p == BP_IDLE ? "idle" : "pingpong";
}

const char *bench_mode_name(int mode) {
  return mode == COLO_WAIT_SPIN ? "spin" : mode == COLO_WAIT_HYBRID ? "hybrid" : mode == COLO_WAIT_BLOCK ? "block" : NULL;
}

void bench_row_label(const bench_row_t *r, int with_arr, char *buf, size_t cap) {
  const char *m = bench_mode_name(r->mode);
  char arr[32] = "";
  if (with_arr) snprintf(arr, sizeof arr, "%s ", bench_arr_name(r->arr));
  if (m && r->api == BAPI_ZEROCOPY) snprintf(buf, cap, "%s%s (%s, zero-copy)", arr, bench_transport_name(r->transport), m);
  else if (m) snprintf(buf, cap, "%s%s (%s)", arr, bench_transport_name(r->transport), m);
  else snprintf(buf, cap, "%s%s", arr, bench_transport_name(r->transport));
}

double bench_msgs_per_s(const bench_row_t *r) {
  return r->elapsed_ns ? (double)r->count * 1e9 / (double)r->elapsed_ns : 0;
}

double bench_gb_per_s(const bench_row_t *r) { return bench_msgs_per_s(r) * (double)r->size / 1e9; }

double bench_row_figure(const bench_row_t *r) {
  return r->pattern == BP_STREAM ? bench_msgs_per_s(r) : (double)r->p50;
}
