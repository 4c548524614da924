/*
 * test_channel.h - what the channel tests' two halves share, and the two
 * segment services the peer tests need too. test_channel.c holds the cases
 * that need only colo.h, the runtime's layout and testutil.h (every
 * platform); test_channel_posix.c those that drive POSIX directly (SIGBUS:
 * handlers, a truncated segment, fork).
 */
#ifndef COLO_TESTS_TEST_CHANNEL_H
#define COLO_TESTS_TEST_CHANNEL_H

#include <stddef.h>
#include <stdio.h>

#include "colo.h"
#include "testutil.h"

/* Two handles of one shm:// channel in this process. */
typedef struct pair {
  char ep[700];
  colo_listener_t *l;
  colo_chan_t *srv, *cli;
} pair_t;

/* Listens on ep (NULL: a fresh shm:// endpoint named after tag), checks that
 * nobody is there to accept yet, connects and accepts. */
void pair_open_at(pair_t *p, const char *ep, const char *tag, const colo_opts_t *o);
void pair_open(pair_t *p, const char *tag, const colo_opts_t *o);
void pair_close(pair_t *p);

/* An endpoint whose segment has a file this process can map (a test then
 * does to its bytes what a faulty peer could): shm:// where segments are
 * files (/dev/shm), file:// in the temporary directory where they are
 * sections, which have no file (Windows). */
static inline const char *mappable_endpoint(char *buf, size_t cap, const char *tag) {
  char name[128], path[600];
  if (tu_shm_path_of(tu_shm_name(name, sizeof name, tag), path, sizeof path)) return tu_endpoint(buf, cap, tag);
  return tu_file_endpoint(buf, cap, tu_tmp_path(path, sizeof path, tag));
}

/* 1 while the segment behind ep exists: its file where it has one, else (a
 * Windows section, which goes with its last handle) while it can be looked
 * at. */
static inline int segment_exists(const char *ep) {
  char path[600];
  if (!tu_shm_path(ep, path, sizeof path)[0]) {
    colo_seg_info_t info = {.struct_size = sizeof info};
    return colo_seg_inspect(ep, &info) != COLO_ENOENT;
  }
  /* stdio takes "/C:/x" (the URL form) as "C:/x". */
  int drive = ((path[1] >= 'A' && path[1] <= 'Z') || (path[1] >= 'a' && path[1] <= 'z')) && path[2] == ':';
  FILE *f = fopen(path[0] == '/' && drive ? path + 1 : path, "rb");
  if (f) {
    fclose(f);
    return 1;
  }
  /* Windows: a live segment's file is open for deletion, which stdio's share
   * mode does not allow; a mapping that shares everything gets in. */
  size_t n;
  void *m = tu_map_file(path, &n);
  if (m) tu_unmap(m, n);
  return m != NULL;
}

#endif
