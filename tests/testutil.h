/*
 * testutil.h - what the tests share: unique endpoints, scaled timeouts,
 * child processes with bounded waits, and the verified message pattern.
 */
#ifndef COLO_TESTS_TESTUTIL_H
#define COLO_TESTS_TESTUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "colo.h"

/* "shm://t.PID.N.tag": unique per process and call (Criterion runs tests in
 * parallel worker processes). */
const char *tu_endpoint(char *buf, size_t cap, const char *tag);
/* The file behind a shm:// (in /dev/shm), file://, unix://, pipe:// or colo:// endpoint; "" for
 * tcp://. */
const char *tu_shm_path(const char *endpoint, char *buf, size_t cap);

/* Timeouts are multiplied by COLO_TEST_TIMEOUT_SCALE (default 1; sanitizer
 * builds set more). */
int tu_ms(int ms);
uint64_t tu_now_ms(void);
int tu_is_root(void);
uint64_t tu_env_u64(const char *name, uint64_t dflt);

/* A child process with its stdout on a pipe. */
typedef struct tu_proc {
  pid_t pid;
  int out_fd;
} tu_proc_t;

/* Runs the test helper (COLO_TEST_HELPER) with argv (NULL-terminated, not
 * counting argv[0]). */
int tu_spawn_helper(tu_proc_t *p, const char *const *args);
/* Runs /bin/sh -c script; $COLO names the colo command. */
int tu_spawn_sh(tu_proc_t *p, const char *script);
/* Reads one line of the child's stdout (without the newline) within
 * timeout_ms. 0, or -1 on timeout or end of output. */
int tu_read_line(tu_proc_t *p, char *buf, size_t cap, int timeout_ms);
/* Waits for the child within timeout_ms: its exit code, 128+signal when a
 * signal ended it, or -1 on timeout (the child is then killed). */
int tu_wait(tu_proc_t *p, int timeout_ms);
/* Runs a shell script to completion within timeout_ms, capturing stdout and
 * stderr (NUL-terminated, truncated to cap). Returns what tu_wait returns. */
int tu_sh(const char *script, char *out, size_t outcap, char *err, size_t errcap, int timeout_ms);

/* Opens again, read-write, what a descriptor of this process refers to
 * when its /proc/self/fd link holds `what` (a memfd, an unlinked segment): a
 * test can then do to the object what another writer could. -1 if none. */
int tu_reopen_fd_to(const char *what);

/* Leaves a segment behind at ep the way a crash does: the helper listens and
 * SIGKILLs itself. 0 on success. */
int tu_leave_dead_listener(const char *ep);

/* A call on another thread that blocks until something happens to the
 * channel; the test then measures when it returned. */
typedef enum tu_block_op {
  TU_RECV_ONE,         /* colo_recv, forever */
  TU_SEND_ONE,         /* colo_send of one 2040-byte message, forever */
  TU_SEND_UNTIL_ERROR  /* colo_send of 2040-byte messages, forever, until one fails */
} tu_block_op_t;
typedef struct tu_blocked {
  colo_chan_t *ch;
  tu_block_op_t op;
  int rc;           /* what the call returned */
  size_t n;         /* TU_RECV_ONE: the message's length */
  uint64_t done_ms; /* tu_now_ms() when it returned */
  pthread_t thread;
} tu_blocked_t;
void tu_blocked_start(tu_blocked_t *b, colo_chan_t *ch, tu_block_op_t op);
void tu_blocked_join(tu_blocked_t *b);

/* The verified message pattern of the stream tests: message i of a stream
 * with seed has a pseudo-random size in [0, maxlen] and pseudo-random bytes,
 * its first 8 bytes (when it has them) holding i. Writes it to buf. */
size_t tu_msg(uint64_t seed, uint64_t i, size_t maxlen, uint8_t *buf);
uint64_t tu_xxh3(const void *p, size_t n);

/* Makes this process's shim drop every segment passed to it, as a security
 * module that forbids passing descriptors would (POSIX: the recvmsg of the
 * fault-injection table offers no room for them). -1 where there is no such
 * hook. */
int tu_refuse_seg_passing(int on);

#endif
