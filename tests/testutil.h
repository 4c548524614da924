/*
 * testutil.h - what the tests share: unique endpoints, scaled timeouts,
 * child processes with bounded waits, and the verified message pattern.
 */
#ifndef COLO_TESTS_TESTUTIL_H
#define COLO_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "colo.h"

/* "shm://t.PID.N.tag": unique per process and call (Criterion runs tests in
 * parallel worker processes). */
const char *tu_endpoint(char *buf, size_t cap, const char *tag);
/* The file behind a shm:// (in /dev/shm), file://, unix://, pipe:// or colo:// endpoint; "" for
 * tcp:// and for shm:// where segments have no file (Windows). For file:///C:/x it is /C:/x, the
 * URL form the shim and the tu_ file functions take. */
const char *tu_shm_path(const char *endpoint, char *buf, size_t cap);

/* Timeouts are multiplied by COLO_TEST_TIMEOUT_SCALE (default 1; sanitizer
 * builds set more). */
int tu_ms(int ms);
uint64_t tu_now_ms(void);
int tu_is_root(void);
/* 1 when this Windows build runs under Wine (which is more lenient than
 * Windows, and lacks some of it: a test may skip with the reason). */
int tu_is_wine(void);
uint64_t tu_env_u64(const char *name, uint64_t dflt);

/* Memory aligned to align (a power of two), of exactly size bytes where
 * the platform allows (so ASan sees any access past it); freed with
 * tu_aligned_free. NULL when out of memory. */
void *tu_aligned_alloc(size_t align, size_t size);
void tu_aligned_free(void *p);

/* Threads. */
typedef struct tu_thread {
  void *impl;
} tu_thread_t;
int tu_thread_start(tu_thread_t *t, void *(*fn)(void *), void *arg);
void tu_thread_join(tu_thread_t *t);

/* A child process with its stdout on a pipe. */
typedef struct tu_proc {
  int pid;    /* the process id */
  int out_fd; /* POSIX: the read end of the pipe (-1 once closed) */
  void *os_proc, *os_out; /* Windows: the process's handle, the pipe's read end */
} tu_proc_t;

/* Runs the test helper (COLO_TEST_HELPER) with argv (NULL-terminated, not
 * counting argv[0]). */
int tu_spawn_helper(tu_proc_t *p, const char *const *args);
/* Runs /bin/sh -c script; $COLO names the colo command. -1 on Windows (the
 * scripts are sh; cmd /c would not run them). */
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
  tu_thread_t thread;
} tu_blocked_t;
void tu_blocked_start(tu_blocked_t *b, colo_chan_t *ch, tu_block_op_t op);
void tu_blocked_join(tu_blocked_t *b);

/* The verified message pattern of the stream tests: message i of a stream
 * with seed has a pseudo-random size in [0, maxlen] and pseudo-random bytes,
 * its first 8 bytes (when it has them) holding i. Writes it to buf. */
size_t tu_msg(uint64_t seed, uint64_t i, size_t maxlen, uint8_t *buf);
uint64_t tu_xxh3(const void *p, size_t n);

/* ---- the OS services a portable test needs (tests/test_os.c) ----------------------
 * testutil_posix.c and testutil_win32.c implement them. A function that the
 * platform cannot do returns -1 (or NULL), and the test skips with the
 * reason. */

/* A unique segment NAME (no scheme) for shm: "t.PID.N.tag", which
 * tests/leftovers.sh recognises. */
const char *tu_shm_name(char *buf, size_t cap, const char *tag);
/* The file behind an shm segment NAME, or NULL where it has none. */
const char *tu_shm_path_of(const char *name, char *buf, size_t cap);
/* The size of the filesystem shm segments live on; 0 when unknown or
 * unlimited. */
uint64_t tu_shm_fs_bytes(void);
/* A unique absolute path in the temporary directory: ".../colo-t.PID.N.tag";
 * on Windows in URL form, "/C:/.../colo-t.PID.N.tag" (file://PATH is then an
 * endpoint, and the shim's COLO__EP_FILE name), which the tu_ file functions
 * accept as they accept "C:/...". */
const char *tu_tmp_path(char *buf, size_t cap, const char *tag);
/* "file://" + path: file:///C:/... for a drive-letter path in either form
 * ("C:/..." gets the leading slash), file:///tmp/... for a POSIX one. */
const char *tu_file_endpoint(char *buf, size_t cap, const char *path);
/* What a unique pipe:// endpoint names (after the scheme): a FIFO's path on
 * POSIX (as tu_tmp_path), a NAME on Windows (the pipe \\.\pipe\colo.NAME). */
const char *tu_pipe_name(char *buf, size_t cap, const char *tag);
int tu_pid(void);
void tu_sleep_ms(int ms);


/* Runs fn(arg) in a child process (POSIX: fork, without exec), which exits
 * with what fn returns; lines it writes with tu_child_say reach the parent's
 * tu_read_line. -1 where the platform has no fork. */
int tu_fork_call(tu_proc_t *p, int (*fn)(void *), void *arg);
/* In such a child: one line to the parent. */
void tu_child_say(const char *line);
/* Kills the child at once (SIGKILL; Windows: TerminateProcess with exit
 * code 128 + 9): tu_wait then returns 128 + 9. */
int tu_kill(tu_proc_t *p);
/* The same for a process known by its id only (a grandchild). */
int tu_kill_pid(int pid);
#define TU_KILLED (128 + 9)
/* Ends this process at once as tu_kill would (SIGKILL; Windows:
 * TerminateProcess with TU_KILLED): nothing flushed, nothing closed. */
_Noreturn void tu_kill_self(void);

/* Files, by path. 0 or -1 (errno-free: the test says what it tried). */
int tu_mkdir(const char *path);
int tu_symlink(const char *target, const char *path);
int tu_mkfifo(const char *path);
int tu_write_file(const char *path, const void *data, size_t len); /* creates or replaces */
int tu_truncate(const char *path, uint64_t size);                  /* sparse when growing */
int tu_chown(const char *path, uint32_t uid);
/* Removes a file, or a directory with everything in it. Missing is fine. */
void tu_remove_tree(const char *path);
/* Sets the file-creation mask; returns the previous one (-1: none here). */
int tu_umask(int mask);
/* A character device any user can open ("/dev/null"), or NULL. */
const char *tu_device_path(void);
/* In a child: becomes uid/gid 65534 (nobody), no supplementary groups.
 * -1 when this process may not (only the administrator can). */
int tu_become_other_user(void);
/* The process's effective user: its id and name (Windows: id 0; users have
 * SIDs). -1 when unknown. */
int tu_self_user(uint64_t *id, char *name, size_t cap);

/* A peer_user spec naming a user other than this process's, which
 * colo__os_peers_parse accepts: "65534" (nobody) on POSIX, with *id 65534;
 * a SID on Windows ("S-1-5-7", anonymous), with *id 0. */
const char *tu_other_user(uint64_t *id);

/* Maps the whole file at path read-write and shared, as another writer of
 * it could; *len: its size. NULL when it cannot. */
void *tu_map_file(const char *path, size_t *len);
/* An endpoint whose segment has a file this process can map (a test then does
 * to its bytes what a faulty peer could): shm:// where segments are files
 * (/dev/shm), file:// in the temporary directory where they are sections,
 * which have no file (Windows). */
const char *tu_mappable_endpoint(char *buf, size_t cap, const char *tag);
/* 1 while the segment behind ep exists: its file where it has one, else (a
 * Windows section, which goes with its last handle) while it can be looked at. */
int tu_segment_exists(const char *ep);
void tu_unmap(void *p, size_t len);

/* What a mere reader of a file can do to a presence slot: opens path
 * read-only and takes a shared (read) lock on byte `byte` (Windows: the
 * LockFileEx byte TU_WIN_PRESENCE_OFFSET + byte). A handle >= 0 (give it to
 * tu_read_unlock), or -1. */
int tu_read_lock(const char *path, int byte);
void tu_read_unlock(int handle);

/* Faults this process's shim can be made to meet, through its fault table
 * (shims/posix/posix.h, shims/win32/win32.h). */
typedef enum tu_fault {
  /* Every segment passed to it is dropped, as a security module that
   * forbids passing descriptors would (POSIX: the recvmsg of the table
   * offers no room for them). */
  TU_REFUSE_SEG_PASSING,
  /* The same for sending: a segment attached to bytes is refused (EPERM). */
  TU_FORBID_SEG_SENDING,
  /* Creating a section meets the system's commit limit (Windows:
   * CreateFileMappingW fails with ERROR_COMMITMENT_LIMIT, as an exhausted
   * pagefile makes it; Wine's limit is the host's memory and cannot be
   * reached). */
  TU_FAIL_COMMIT,
  /* Opening a segment another handle created finds no wait events, as an
   * opener in another object namespace does (Windows: two process-isolated
   * containers sharing a file://): it then polls. Linux waits need no names. */
  TU_HIDE_WAIT_EVENTS
} tu_fault_t;
/* Turns fault f on or off: 0, or -1 where this platform has no such fault. */
int tu_fault(tu_fault_t f, int on);

#endif
