/*
 * test_segment.h - what the segment tests' two halves share. test_segment.c
 * holds the cases that need only colo.h, the runtime's segment format and
 * testutil.h (every platform); test_segment_posix.c those that drive POSIX
 * directly (FIFOs, links, /dev/shm paths, modes and umask, another user, the
 * posix shim's syscall table, a file resized under a reader).
 */
#ifndef COLO_TESTS_TEST_SEGMENT_H
#define COLO_TESTS_TEST_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "colo.h"
#include "segment.h"
#include "testutil.h"

/* A validated in-memory image (heap, sized exactly: ASan watches). */
typedef struct image {
  uint8_t *base;
  uint64_t size;
  colo__seg_layout_t lay;
} image_t;
void image_make(image_t *im, uint64_t cap);

/* colo_seg_list callback: 1 (stop) at the endpoint ctx names. */
int count_cb(const colo_seg_info_t *info, void *ctx);

#endif
