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

#endif
