/*
 * shim.h - the contract every operating system implements for the runtime.
 *
 * The portable core (runtime/) includes no OS header; every call that reaches
 * the OS goes through a colo__os_* function declared here. shims/posix/
 * implements it for Linux, shims/win32/ for Windows. CMake puts
 * exactly one implementation in the build.
 *
 * Conventions
 *  - Functions return 0 or a negative COLO_E* code. An implementation
 *    translates OS errors at this edge (EACCES -> COLO_EPERM, ENOSPC ->
 *    COLO_ENOSPC, ...) and records the OS's own error text and the object's
 *    name with colo__err(), so the caller can add context without losing it.
 *  - Timeouts are relative nanoseconds; clocks are monotonic nanoseconds.
 *  - Semantics that really differ between systems are modelled, not emulated.
 *    What the core may rely on is stated per function and, where it varies,
 *    published as data in colo__os_caps.
 *
 * Segments
 *  A segment is a named, shareable memory object plus the handle that keeps it
 *  open. Two kinds of name exist: COLO__EP_SHM ("NAME", the system's
 *  shared-memory namespace: /dev/shm/colo.NAME on Linux, a "Local\colo.NAME"
 *  section on Windows) and COLO__EP_FILE (an absolute path on a filesystem,
 *  the backing file of the mapping).
 *  On Linux a name persists until unlinked, also after every process died; on
 *  Windows a pagefile-backed section vanishes with its last handle and there is
 *  nothing to unlink (caps.persistent_names says which).
 *
 * Presence
 *  Each side of a segment announces itself by holding a presence slot
 *  (slot 0: listener, slot 1: connector). The OS releases a hold when the
 *  holding process dies, however it dies, and a hold is visible to any process
 *  that can open the segment, across PID namespaces (containers). A hold
 *  belongs to the handle (not to a thread): two handles in one process are two
 *  holders, a hold taken on one thread is dropped on any other, and a thread
 *  that exits takes no hold with it. Only a process that may write the
 *  segment can take a hold, and a probe counts nothing a mere reader can do.
 *  Linux uses an open-file-description write lock on byte `slot` of the
 *  object (probed with F_OFD_GETLK for a read lock, which only a write lock
 *  answers). Windows uses a LockFileEx byte range on a file handle: on the
 *  mapped file itself for file://, and for shm:// on a small lock file in a
 *  per-user directory, named after the section. A named mutex does NOT fit:
 *  it belongs to the thread that took it (the listener would look dead when
 *  that thread exits, colo_close on another thread could not release it, and
 *  a probe from the owning thread would re-enter it and read "free").
 *  kill(pid, 0) and robust futexes are NOT used: PIDs do not cross namespaces.
 *
 * Faults and forks
 *  A named segment's backing file can be truncated under the mapping by the
 *  peer or by any writer of the file. With COLO__SEG_GUARD, an access to a
 *  vanished page does not kill the process: the mapping turns into private
 *  zero pages and the segment's lost word says COLO__OS_LOST_TRUNCATED (Linux:
 *  a SIGBUS handler, chained to the one installed before it; Windows: a
 *  vectored exception handler for a file:// view, whose file a share's other
 *  clients, or any host process under Wine, can cut; a section cannot
 *  shrink, so its word stays 0). After fork() the child has
 *  none of the library's descriptors, so it keeps no presence or socket of its
 *  parent alive, and its copies of the mappings are private memory: the lost
 *  word says COLO__OS_LOST_FORKED.
 *
 * Waiting
 *  A process sleeps until a 32-bit word in a segment changes: a futex on the
 *  shared word on Linux (keyed on the object and offset, so it works between
 *  processes that map the segment at different addresses, and across
 *  containers). Windows' WaitOnAddress does not cross processes, so the
 *  Windows shim will pair each wait word with a named event; `wait_id` names
 *  the word for that purpose (it is ignored on Linux).
 */
#ifndef COLO_SHIMS_SHIM_H
#define COLO_SHIMS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/atomics.h"
#include "../runtime/base.h"

/* ---- capabilities: data the core reads instead of asking "which OS?" ---------- */

typedef struct colo__os_caps {
  int persistent_names;     /* shm:// names outlive their processes: a dead one's leftover
                               exists, can be reclaimed and needs unlinking (admin.c, segment.c) */
  int listable_names;       /* the shm:// namespace can be listed (colo__os_seg_list, colo ls/gc) */
  int xproc_addr_wait;      /* a wait on an address is woken from another process */
  colo__ep_kind_t rdv_kind; /* the stream a colo:// rendezvous runs on (Linux: a unix socket;
                               Windows: a named pipe, which crosses process-isolated containers) */
  int pipe_is_file;         /* a pipe:// endpoint is a file in the filesystem (Linux: a request
                               FIFO; Windows: a name in the pipe namespace, \\.\pipe\) */
  int perm_one_class;       /* group and others are one class (Windows: authenticated users):
                               a perm with either reads back with both, as colo__os_perm_as_kept */
} colo__os_caps_t;

extern const colo__os_caps_t colo__os_caps;

/* perm as this system keeps it, and as colo__os_stat_t reads it back: as
 * given, or, where caps.perm_one_class, with group's and others' bits each
 * the union of the two. */
static inline uint32_t colo__os_perm_as_kept(uint32_t perm) {
  if (!colo__os_caps.perm_one_class) return perm;
  uint32_t go = ((perm >> 3) | perm) & 07;
  return (perm & ~077u) | go << 3 | go;
}

/* What carries an endpoint of this kind, in this system's words, for
 * colo_info()'s how: "POSIX shared memory in /dev/shm", "a pagefile-backed
 * section Local\\colo.NAME", ... */
const char *colo__os_kind_how(colo__ep_kind_t kind);

/* ---- paths ------------------------------------------------------------------ */

/*
 * pre:  path is the part of an endpoint after "scheme://" for a kind that
 *       names a path (file, unix, pipe, colo), NUL-terminated.
 * post: 0 when this system can use it as such an endpoint: absolute, short
 *       enough for the object it names (Linux: a socket path fits sun_path,
 *       107 bytes), not naming a directory; else COLO_EINVAL with the reason
 *       recorded, without the endpoint (the caller adds it).
 */
int colo__os_path_check(colo__ep_kind_t kind, const char *path);

/* ---- time ------------------------------------------------------------------ */

/* Monotonic clock, nanoseconds. Precise; vDSO on Linux. */
uint64_t colo__os_now_ns(void);
/* Monotonic clock at tick resolution (1-4 ms; 10 ms on a 100 Hz kernel), for
 * rate-limiting checks on hot paths: a few nanoseconds to read. Compared only
 * with its own readings, never with colo__os_now_ns(). */
uint64_t colo__os_now_coarse_ns(void);
/* Wall clock, nanoseconds since 1970, for information only. */
uint64_t colo__os_realtime_ns(void);
/* Sleeps about ns nanoseconds: not much less unless a signal ends it early;
 * the upper bound is the scheduler's. 0 returns at once. */
void colo__os_sleep_ns(uint64_t ns);
/* Fills buf with unpredictable bytes (never fails; falls back to clock mixing). */
void colo__os_random(void *buf, size_t len);

/* ---- who may be on the other side ------------------------------------------------ */

/* The users a channel accepts at its other end (colo_opts_t.peer_user): this
 * process's own user and the administrator always; one more user, or anyone. */
typedef struct colo__os_peers {
  int anyone;
  int has_extra;
  uint64_t extra; /* its id: a uid on POSIX */
  unsigned char sid[68]; /* Windows: its SID (at most SECURITY_MAX_SID_SIZE bytes) */
  char spec[64];  /* as given, for messages */
} colo__os_peers_t;

/* Parses a peer_user option: NULL or "" (nobody more), "*" (anyone), a user
 * name or a numeric id. COLO_EINVAL (with the reason) for an unknown user. */
int colo__os_peers_parse(const char *spec, colo__os_peers_t *out);

/* ---- segments ---------------------------------------------------------------- */

typedef struct colo__os_seg colo__os_seg_t;

#define COLO__SEG_MAP 1   /* open: map all of it, read/write (without: read-only, not mapped) */
#define COLO__SEG_GUARD 2 /* a fault on a page the file lost is repaired (see Faults above) */
#define COLO__SEG_GLOBAL 4 /* shm://: the machine-wide namespace (Windows: Global\ rather than
                              the session's Local\); ignored where there is one namespace */

#define COLO__OS_LOST_TRUNCATED 1 /* the backing object shrank under the mapping */
#define COLO__OS_LOST_FORKED 2    /* this process is a child that inherited the handle */

/*
 * Creates a segment exclusively (COLO_EEXIST if the name exists), with
 * permission bits perm exactly (not masked by umask), takes presence slot
 * hold_slot before anything else can see the object sized, writes the
 * mark_len bytes of mark at offset 0 (so that an object whose creator died
 * while sizing it can be told from a stranger's file), reserves size bytes of
 * backing store (COLO_ENOSPC now rather than SIGBUS on first touch), and maps
 * it read/write. Where an object has its size from the moment it exists
 * (a Windows section), an opener may see it sized and zero-filled, with the
 * hold taken, before the mark is written: zeros read as "being created"
 * (state 0 in docs/layout.md). flags: COLO__SEG_GUARD. On any failure nothing is left
 * behind. COLO_EINVAL when size cannot hold the mark; COLO_EEXIST also when
 * the name is a symbolic link (never followed, never replaced). For COLO__EP_FILE, missing parent directories are created; no
 * symbolic link is followed unless root or this user made it, and the object
 * itself is never one.
 */
int colo__os_seg_create(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, uint64_t size,
                        uint32_t perm, int hold_slot, const void *mark, size_t mark_len, int flags);

/*
 * Opens an existing segment without blocking and without following a link
 * (a FIFO, a device, a directory or a link there is refused with COLO_EINVAL
 * before it is opened). flags: COLO__SEG_MAP maps all of it read/write, with
 * COLO__SEG_GUARD as above; without COLO__SEG_MAP it is opened read-only and
 * not mapped (to look at it: colo__os_seg_read). While its creator is still
 * sizing it, the object may be empty or hold only the mark (create writes
 * the mark first): the mapping is then empty (base NULL, size 0) or that
 * short, and the caller treats it as not ready and retries. COLO_ENOENT when
 * absent (naming it), COLO_EPERM when not permitted (with COLO__SEG_MAP:
 * when this user may not write it), COLO_ECORRUPT with COLO__SEG_MAP when
 * larger than COLO__OBJECT_MAX (a read-only open of a larger object works:
 * it only reads).
 */
int colo__os_seg_open(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, int flags);

/*
 * Creates an anonymous segment of size bytes (backing store reserved, mapped
 * read/write) that has no name: it can only be handed to another process
 * with colo__os_conn_write_seg(), and vanishes with its last handle, so a
 * crash leaves nothing behind. Its size is sealed: neither side can shrink
 * or grow it (a shrunk mapping would fault the other side). Linux: a memfd.
 */
int colo__os_seg_create_anon(colo__os_seg_t **out, uint64_t size);

void *colo__os_seg_base(const colo__os_seg_t *s);
/* The object's size when it was opened (or created). */
uint64_t colo__os_seg_size(const colo__os_seg_t *s);
/* Reads up to len bytes at off without a mapping (*got: how many; fewer at
 * the end of the object). */
int colo__os_seg_read(colo__os_seg_t *s, uint64_t off, void *buf, size_t len, size_t *got);
/* 0 while the mapping is the segment; COLO__OS_LOST_* once it is not. The
 * word stays valid until colo__os_seg_close and is read without a call. */
const _Atomic int *colo__os_seg_lost(const colo__os_seg_t *s);
/* 0 when the segment's owner is one the policy accepts; COLO_EPERM naming
 * the owner otherwise. */
int colo__os_seg_check_owner(const colo__os_seg_t *s, const colo__os_peers_t *p);

/* Takes presence slot `slot` for this handle. 0 also when this handle holds
 * it already: the same hold, which one drop lets go. COLO_EBUSY when a
 * live process (or another handle) holds it; COLO_EPERM when a mere reader
 * blocks it, or when this handle was opened without COLO__SEG_MAP (only a
 * writer holds presence). */
int colo__os_seg_hold(colo__os_seg_t *s, int slot);
/* Gives up this handle's hold on `slot` (no effect if it holds none). */
void colo__os_seg_drop(colo__os_seg_t *s, int slot);
/* This handle's last use of the mapping is over: where a mapped view keeps
 * the segment's file from being removed (Windows), unmaps it now, so that a
 * peer that sees this side gone (its hold dropped next) can remove the name.
 * colo__os_seg_base is NULL after it there; elsewhere it may do nothing and
 * leave the unmapping to colo__os_seg_close. */
void colo__os_seg_unmap(colo__os_seg_t *s);
/* 1 when a handle other than s (in any live process, this one included)
 * holds `slot`, 0 when none does, or a negative COLO_E* code. */
int colo__os_seg_probe(colo__os_seg_t *s, int slot);

/* Removes the segment's name if it still names this very object (a newer
 * segment created under the same name is left alone). Returns 0 when removed,
 * when the name is gone already or names something else now; a COLO_E* code
 * when the system refused. Always 0 where names are not persistent, and in a child that
 * inherited the handle. */
int colo__os_seg_unlink(colo__os_seg_t *s);

/* Unmaps, drops every hold, closes. NULL is allowed. */
void colo__os_seg_close(colo__os_seg_t *s);

/* Installs the fault handler of COLO__SEG_GUARD, once per process (a no-op
 * where segments cannot shrink). Without it, guarded mappings are still
 * repaired by colo__os_sigbus_repair called from the application's handler. */
void colo__os_sigbus_install(void);
/* The repair itself, async-signal-safe: 1 when addr lies in a guarded
 * mapping (now private zero pages, marked lost), 0 otherwise (always 0 where
 * segments cannot shrink). */
int colo__os_sigbus_repair(void *addr);

/* ---- waiting ----------------------------------------------------------------- */

/*
 * Sleeps while *word == expect, at most timeout_ns. Returns 0 when woken or
 * when the word differs, COLO_ETIMEDOUT when the time ran out; spurious
 * returns are allowed, so callers re-check their condition.
 * wait_id is a small integer naming the word within the segment.
 */
int colo__os_wait(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word, uint32_t expect,
                  uint64_t timeout_ns);
/* Wakes every process sleeping on word. For both: s NULL means a word in
 * this process's private memory, waited on by its threads only. */
void colo__os_wake(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word);
/*
 * Names the segment's waits: key is its nonce (docs/layout.md), which only
 * those who can open the segment can read. The creator calls it after
 * formatting and before publishing the segment; an opener after validating
 * it. Linux needs no name (the futex is keyed on the object) and ignores it.
 * Windows creates (creator) or opens (opener) one event per wait word named
 * after key, so that nobody who cannot read the segment can make or steal
 * its wakes; an opener that finds no such event (another object namespace:
 * two process-isolated containers sharing a file://) waits by polling the
 * word instead, which colo__os_seg_wait_how says.
 */
void colo__os_seg_name_waits(colo__os_seg_t *s, uint64_t key);
/* How this handle waits: "futex", "named events", "polling (...)". */
const char *colo__os_seg_wait_how(const colo__os_seg_t *s);

/* ---- byte streams (unix://, tcp:// sockets; pipe:// FIFO pairs) -----------------------
 * The core drives streams by readiness: non-blocking read and write, and
 * poll to wait. Where the system has no readiness for a kind of stream
 * (Windows named pipes), the shim emulates it: a write may accept bytes into
 * a buffer the shim owns (and reports them written; a later write or poll
 * reports the peer's end), and poll may be answered by overlapped I/O the
 * shim keeps in flight. The core never assumes a stream is a descriptor. */

typedef struct colo__os_lsock colo__os_lsock_t; /* a listening socket */
typedef struct colo__os_conn colo__os_conn_t;   /* a connected byte stream */

/*
 * Listens on a COLO__EP_UNIX path, a COLO__EP_TCP host and port, or a
 * COLO__EP_PIPE path (a request FIFO; connections are FIFO pairs next to it,
 * see shims/posix/os_pipe.c; Windows will use \\.\pipe\ names). unix, pipe: a
 * file that nobody listens on any more (a dead listener's) is replaced, a
 * live one gives COLO_EEXIST; the file gets permission bits perm.
 * tcp: TCP_NODELAY on accepted connections; port 0 picks a free port.
 * *actual receives the endpoint as bound (the chosen port).
 */
int colo__os_listen(colo__os_lsock_t **out, const colo__endpoint_t *ep, uint32_t perm, colo__endpoint_t *actual);
/* Accepts one connection within timeout_ns (0: once, COLO_EAGAIN; UINT64_MAX:
 * no limit; COLO_ETIMEDOUT when the time ran out). */
int colo__os_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns);
/* Closes; a unix listener removes its socket file if the path still names it. */
void colo__os_listen_close(colo__os_lsock_t *l);

/* Connects within timeout_ns (COLO_ETIMEDOUT when it ran out). COLO_ENOENT
 * when nobody listens there (no such
 * socket file, or refused), COLO_EAGAIN when the listener is busy (its queue of
 * connections is full): both a caller may retry. Where the transport tells
 * who listens (unix: SO_PEERCRED; pipe: the owner of the request FIFO), a
 * listener peers does not accept is refused with COLO_EPERM before anything
 * is sent to it. No symbolic link in the path is followed unless root or
 * this user made it. */
int colo__os_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                     const colo__os_peers_t *peers);
/* Non-blocking: reads 1..n bytes into buf (*got), or returns COLO_EAGAIN,
 * COLO_ECLOSED (end of stream) or COLO_EPEERDEAD (connection reset). */
int colo__os_conn_read(colo__os_conn_t *c, void *buf, size_t n, size_t *got);
/* Non-blocking: writes 1..n bytes (*put), or returns COLO_EAGAIN or
 * COLO_EPEERDEAD (the peer is gone). Never raises SIGPIPE. */
int colo__os_conn_write(colo__os_conn_t *c, const void *buf, size_t n, size_t *put);
#define COLO__POLL_IN 1
#define COLO__POLL_OUT 2
/* Waits at most timeout_ns until the stream is readable (data, end of stream
 * or error) or writable, as asked in want. Returns the ready mask, 0 when the
 * time ran out or a signal interrupted the wait. Readiness may be spurious
 * (an error, a handle inherited across fork, an emulated poll): the next read
 * or write tells. */
int colo__os_conn_poll(colo__os_conn_t *c, int want, uint64_t timeout_ns);
/*
 * Passing a segment (where colo__os_conn_can_pass_seg says so). write_seg is conn_write with the
 * anonymous segment seg attached to the first byte; read_seg is conn_read
 * that also takes a segment the peer attached to these bytes: *seg is then
 * set, validated as an anonymous, size-sealed memory object and mapped
 * read/write. When a segment came but could not be taken (the system dropped
 * it in transit, it is not a sealed memory object, it is too large), *seg
 * stays NULL and *seg_err gets the code, with the detail recorded
 * (COLO_EPERM: the system dropped it; COLO_ECORRUPT: not a sealed anonymous
 * segment, or too large). Both leave *seg_err 0 and *seg NULL when nothing
 * was attached. Only on a connection that can carry a segment
 * (colo__os_conn_can_pass_seg); elsewhere write_seg fails and sends nothing.
 * (Tests make the system drop a segment in transit through the posix
 * shim's fault-injection table, shims/posix/posix.h.)
 */
int colo__os_conn_write_seg(colo__os_conn_t *c, const void *buf, size_t n, size_t *put, colo__os_seg_t *seg);
int colo__os_conn_read_seg(colo__os_conn_t *c, void *buf, size_t n, size_t *got, colo__os_seg_t **seg,
                           int *seg_err);
/* Who is at the other end, where the transport can tell (unix sockets:
 * SO_PEERCRED; pipe pairs: the owner of the FIFOs; tcp cannot, and passes):
 * 0, or COLO_EPERM naming that user. `relation` words it: "the listener",
 * "the client". */
int colo__os_conn_check_peer(colo__os_conn_t *c, const colo__os_peers_t *p, const char *relation);
/* 1 when the other end runs as this process's own user or as root, who can
 * open what only this user may (unix sockets), 0 otherwise or when the
 * transport cannot tell. */
int colo__os_conn_peer_is_self_or_root(colo__os_conn_t *c);
/* After the stream handshake: lets go of what only connecting needed (a
 * pipe client's placeholder ends and names). No effect on sockets. */
void colo__os_conn_settle(colo__os_conn_t *c);
/* Several streams and listening sockets at once. */
typedef struct colo__os_pollitem {
  colo__os_conn_t *conn;   /* a stream (want: COLO__POLL_IN and/or OUT), or */
  colo__os_lsock_t *lsock; /* a listener (COLO__POLL_IN: a connection to accept) */
  int want, ready;
} colo__os_pollitem_t;
/* Waits at most timeout_ns until one item is ready as it asks; sets every
 * item's ready mask. Returns how many are ready (0: time ran out, or a
 * signal came). */
int colo__os_poll_many(colo__os_pollitem_t *items, size_t n, uint64_t timeout_ns);
/* 1 when a segment can be passed over this connection (write_seg/read_seg
 * work on it: Linux unix sockets), 0 otherwise. The colo:// listener asks
 * before it offers the memfd rung, and skips the rung with the reason when
 * not. */
int colo__os_conn_can_pass_seg(const colo__os_conn_t *c);
/* The handle an event loop can wait on for COLO__POLL_IN (a descriptor on
 * POSIX, a HANDLE on Windows): 0, or COLO_ENOTSUP where there is none. */
int colo__os_conn_handle(const colo__os_conn_t *c, colo_os_handle_t *out);
/* Closes the stream; NULL is allowed. */
void colo__os_conn_close(colo__os_conn_t *c);

/* ---- segment administration ------------------------------------------------- */

typedef struct colo__os_stat {
  uint64_t size;
  uint32_t perm;
  uint32_t uid;
  int64_t age_s;    /* seconds since the object's status last changed */
  int regular;      /* a regular file (else type says what it is) */
  char type[24];    /* "a FIFO", "a symbolic link", ... */
  char owner[64];
} colo__os_stat_t;

/* Metadata of a segment by name, without following a link or opening it.
 * COLO_ENOENT when absent. flags: COLO__SEG_GLOBAL. */
int colo__os_seg_stat(colo__ep_kind_t kind, const char *name, int flags, colo__os_stat_t *st);
/* Metadata of an opened segment (its descriptor's). */
void colo__os_seg_fstat(const colo__os_seg_t *s, colo__os_stat_t *st);
/* Removes a segment by name (no identity check: the caller decided);
 * COLO_ENOENT when there is none. */
int colo__os_seg_remove(colo__ep_kind_t kind, const char *name);
/* Calls cb with the NAME of every colo segment in the shm namespace, as it
 * is there (any bytes; the caller checks it is a name colo can make). cb
 * returns 0 to go on, or a positive value to stop: that value is returned
 * (0 after the last name; a negative COLO_E* when the namespace cannot be
 * listed). Only where caps.listable_names; elsewhere COLO_ENOTSUP. */
int colo__os_seg_list(int (*cb)(const char *name, void *ctx), void *ctx); /* cb's stop value */

#endif
