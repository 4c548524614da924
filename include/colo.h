/*
 * colo.h - the one public header of libcolo.
 *
 * colo gives two co-located processes a duplex, message-oriented channel over a
 * lock-free ring buffer in named shared memory.
 *
 *   colo_listener_t *l; colo_chan_t *ch;
 *   colo_listen(&l, "shm://orders", NULL);          // creates /dev/shm/colo.orders
 *   colo_accept(l, &ch, COLO_FOREVER);              // waits for the peer
 *   colo_recv(ch, buf, sizeof buf, &len, 1000);     // 1 s timeout
 *
 *   colo_connect(&ch, "shm://orders", NULL, 5000);  // the other process
 *   colo_send(ch, "hello", 5, COLO_FOREVER);
 *
 * Every function that can fail returns 0 or a negative COLO_E* code;
 * colo_strerror() turns a code into a sentence and colo_last_error() gives the
 * detail of the last failure in the calling thread (paths, values, OS errors).
 *
 * Thread safety, call by call:
 *  - a channel has a sending half (colo_send, colo_reserve, colo_commit,
 *    colo_flush) and a receiving half (colo_recv, colo_peek, colo_release).
 *    One thread may use the sending half while another uses the receiving
 *    half, on every transport; each half must not be used by two threads at
 *    once (a reservation or a peeked message belongs to its half);
 *  - colo_max_message, colo_endpoint, colo_transport, colo_info and
 *    colo_os_handle (colo_fd) may be
 *    called from any thread at any time before colo_close;
 *  - colo_close must not run concurrently with any other call on the channel;
 *  - a listener: colo_accept from one thread at a time; colo_listener_close
 *    not concurrently with colo_accept; channels it returned are independent
 *    of it and of each other;
 *  - colo_opts_init, colo_strerror, colo_errname, colo_version and the
 *    colo_seg_* functions are safe from any thread; colo_last_error is per
 *    thread.
 * Process safety: exactly two processes (or two handles) share a channel, the
 * listener's side and the connector's side.
 *
 * fork(): a channel or listener belongs to the process that opened it. In a
 * child made by fork() (without exec), the library's descriptors are closed
 * at once (an atfork handler) and its shared mappings turn into private
 * memory, so the child keeps none of its parent's presence locks, sockets or
 * FIFOs alive (a parent that dies is seen dead by its peers, even while the
 * child lives) and cannot write into the parent's channels. Every call on an
 * inherited channel or listener returns COLO_ESTATE; colo_close() and
 * colo_listener_close() only free the child's copy and leave the parent's
 * endpoint alone. A child that calls clone() directly, skipping the atfork
 * handlers, is not covered: it shares its parent's presence until it execs or
 * exits. Descriptors are close-on-exec.
 */
#ifndef COLO_H
#define COLO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COLO_VERSION_MAJOR 0
#define COLO_VERSION_MINOR 2
#define COLO_VERSION_PATCH 0
#define COLO_VERSION_STRING "0.2.0"

/** The shared-segment format this library writes and reads (docs/layout.md). */
#define COLO_FORMAT_MAJOR 1
#define COLO_FORMAT_MINOR 1

#if defined(_WIN32) && !defined(COLO_STATIC)
#  ifdef COLO_BUILDING
#    define COLO_API __declspec(dllexport)
#  else
#    define COLO_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define COLO_API __attribute__((visibility("default")))
#else
#  define COLO_API
#endif

/*
 * Error codes. Values are stable: they are part of the ABI and may be stored
 * or sent. XX(name, value, sentence).
 */
#define COLO_ERRNO_MAP(XX)                                                                   \
  XX(EINVAL, -1, "invalid argument")                                                         \
  XX(ENOMEM, -2, "out of memory")                                                            \
  XX(EAGAIN, -3, "the operation would block")                                                \
  XX(ETIMEDOUT, -4, "timed out")                                                             \
  XX(ECLOSED, -5, "the peer closed the channel")                                             \
  XX(EPEERDEAD, -6, "the peer process died")                                                 \
  XX(ECORRUPT, -7, "the shared segment is corrupt")                                          \
  XX(EVERSION, -8, "the shared segment has an incompatible format version")                  \
  XX(ENOTREADY, -9, "the shared segment is still being initialised by its creator")          \
  XX(ENOSPC, -10, "not enough space to back the shared segment")                             \
  XX(EPERM, -11, "permission denied")                                                        \
  XX(ENOENT, -12, "no such endpoint")                                                        \
  XX(EEXIST, -13, "the endpoint already exists")                                             \
  XX(EBUSY, -14, "the endpoint already has a peer")                                          \
  XX(EMSGSIZE, -15, "the message is larger than the channel's maximum message size")        \
  XX(ENOBUFS, -16, "the receive buffer is too small for the message")                        \
  XX(EIO, -17, "an operating system call failed")                                            \
  XX(ENOTSUP, -18, "the operation is not supported")                                         \
  XX(ESTATE, -19, "the call is out of sequence")                                             \
  XX(EPROTO, -20, "the peer broke the stream protocol")                                      \
  XX(EINPROGRESS, -21, "the message is partly sent; the rest goes out first with the next call")

typedef enum colo_errno {
  COLO_OK = 0,
#define COLO__XX(name, value, msg) COLO_##name = (value),
  COLO_ERRNO_MAP(COLO__XX)
#undef COLO__XX
} colo_errno_t;

/** Timeouts are in milliseconds. */
#define COLO_NOWAIT 0   /**< try once; COLO_EAGAIN when the call would block */
#define COLO_FOREVER -1 /**< wait without a deadline (peer death still ends the wait) */

/** How a blocked call waits. */
typedef enum colo_wait_mode {
  COLO_WAIT_HYBRID = 0, /**< spin for opts.spin_us, then sleep (the default) */
  COLO_WAIT_SPIN = 1,   /**< busy-poll; lowest latency, burns a CPU while waiting */
  COLO_WAIT_BLOCK = 2   /**< sleep in the kernel at once (futex on the shared word) */
} colo_wait_mode_t;

/**
 * Options, filled with defaults by colo_opts_init(). Pass NULL to any function
 * taking options to get the defaults. The struct may grow in later versions;
 * always call colo_opts_init() first.
 */
typedef struct colo_opts {
  uint32_t struct_size;       /**< set by colo_opts_init() */
  uint32_t ring_capacity;     /**< listener: bytes per direction, a power of two from
                                   4 KiB to 1 GiB; default 1 MiB. The maximum message is
                                   ring_capacity / 2 - 8 bytes. */
  colo_wait_mode_t wait_mode; /**< default COLO_WAIT_HYBRID */
  uint32_t spin_us;           /**< hybrid mode: spin this long before sleeping; default 50 */
  uint32_t perm;              /**< listener: who may use the endpoint, as read (4) and write
                                   (2) bits for its owner, group and others, written as
                                   the octal digits of a POSIX mode (0600: the owner only;
                                   the default). POSIX applies them as the mode of the
                                   segment, socket or FIFO file; Windows maps them onto the
                                   object's security descriptor (owner: the creating user;
                                   group and others: authenticated users). Execute bits
                                   (0111) mean nothing to colo and are passed on as they are
                                   on POSIX. A segment (shm://, file://) takes read and write
                                   together for each class, or neither: 0600, 0660, 0606 or
                                   0666 (someone who may only read a segment could fake
                                   presence on it) */
  int msg_checksum;           /**< listener: XXH3 check of every message; default 0 */
  int reclaim_stale;          /**< listener: replace a leftover segment whose processes
                                   are all dead; default 1 */
  const char *peer_user;      /**< who may be at the other end, besides this process's own
                                   user and root: NULL (default: nobody else), a user name
                                   or numeric uid, or "*" (anyone). A connector checks the
                                   owner of a shm:// or file:// segment and of a pipe://
                                   request FIFO, and the user of the process listening on a
                                   unix:// or colo:// socket (SO_PEERCRED), before it sends
                                   anything (COLO_EPERM otherwise); a listener checks its
                                   unix://, colo:// (SO_PEERCRED) and pipe:// (the owner of
                                   the FIFO pair) clients and drops others. tcp:// carries no
                                   credentials and checks nothing. Read during the call only. */
  int handle_sigbus;          /**< 1 (default): the first shm:// or file:// channel installs a
                                   SIGBUS handler, once per process, so that a segment whose
                                   file is truncated under it (by the peer, or anyone who may
                                   write the file) makes the channel fail with COLO_ECORRUPT
                                   instead of killing the process. It acts only on faults in
                                   colo's own mappings and hands every other signal to the
                                   handler installed before it. 0: colo installs nothing; an
                                   application that owns SIGBUS calls colo_sigbus_repair()
                                   from its handler, or a truncated segment kills it. */
  int shm_global;             /**< Windows: shm://NAME is the section Global\colo.NAME, seen
                                   from every session (services), instead of this session's
                                   Local\colo.NAME; creating one needs SeCreateGlobalPrivilege
                                   (COLO_EPERM says so). Both sides must ask for it. Ignored on
                                   POSIX, which has one namespace. Default 0. (0.2.0) */
} colo_opts_t;

typedef struct colo_listener colo_listener_t;
typedef struct colo_chan colo_chan_t;

/**
 * The operating system's handle an event loop waits on (colo_os_handle()):
 * a file descriptor on POSIX, a HANDLE on Windows (libuv's uv_os_fd_t).
 */
#ifdef _WIN32
typedef void *colo_os_handle_t;
#  define COLO_OS_HANDLE_IS_FD 0
#else
typedef int colo_os_handle_t;
/** 1 where colo_os_handle_t is a file descriptor (and colo_fd() exists). */
#  define COLO_OS_HANDLE_IS_FD 1
#endif

/** Fills *opts with the defaults. */
COLO_API void colo_opts_init(colo_opts_t *opts);

/**
 * Creates the endpoint and listens on it.
 *
 * Endpoints:
 *  - "shm://NAME": a POSIX shared-memory object, /dev/shm/colo.NAME on Linux
 *    (NAME: 1-200 of [A-Za-z0-9._-], not starting with '.');
 *  - "file:///PATH": a file-backed mapping at the absolute PATH, on any mount
 *    (missing parent directories are created);
 *  - "unix:///PATH": an AF_UNIX stream socket at PATH (at most 107 bytes), with
 *    colo's framing (docs/protocol.md); a socket file left by a dead listener
 *    is replaced;
 *  - "pipe:///PATH": FIFOs with the same framing: a request FIFO at PATH and a
 *    pair of FIFOs per connection next to it;
 *  - "tcp://HOST:PORT": TCP with TCP_NODELAY and the same framing; HOST is a
 *    name, an IPv4 address or [IPv6]; port 0 picks a free port (see
 *    colo_listener_endpoint());
 *  - "colo:///PATH": automatic. PATH is a rendezvous AF_UNIX socket (at most
 *    107 bytes), typically in a directory two containers both mount. Each
 *    connection gets the fastest medium that passes a proof (a nonce sent
 *    through it and echoed back): (1) a pair of rings in a memfd passed over
 *    the socket (shared memory without a shared /dev/shm; nothing is left
 *    behind after a crash), (2) a pair of rings in a named segment, (3) the
 *    socket itself, framed as unix://. The socket stays open as the lifeline
 *    that tells either side when the other closed or died. colo_info() says
 *    which rung was taken and why each faster one was skipped.
 *
 * colo_connect() also takes a comma-separated list of endpoints, tried in
 * order: "colo:///shared/orders.sock,tcp://10.0.0.5:7000" uses TCP when the
 * socket cannot be reached (the peers are on different hosts).
 *
 * A shared-memory segment is created exclusively with opts->perm and its memory
 * reserved up front, so a filesystem that cannot back it fails here with
 * COLO_ENOSPC rather than with SIGBUS later. A unix socket file gets opts->perm.
 *
 * @return 0; COLO_EINVAL (bad endpoint or options), COLO_ENOTSUP (a transport this
 *         version lacks), COLO_EEXIST (in use by a live process, or a leftover and
 *         reclaim_stale is off; for tcp, the port is taken), COLO_ENOSPC, COLO_EPERM,
 *         COLO_ENOENT (parent directory cannot be created), COLO_EIO, COLO_ENOMEM.
 */
COLO_API int colo_listen(colo_listener_t **out, const char *endpoint, const colo_opts_t *opts);

/**
 * Waits until a peer has connected and returns the channel to it. A shared-memory
 * endpoint carries one connection: a second call returns COLO_EBUSY. A socket
 * endpoint (unix://, pipe://, tcp://) accepts any number of clients, one channel each; a
 * client that does not complete colo's handshake is dropped and the wait goes on.
 * The listener and the channels may be closed in any order.
 *
 * @return 0; COLO_EAGAIN (timeout 0 and no peer yet), COLO_ETIMEDOUT, COLO_EBUSY,
 *         COLO_EINVAL, COLO_ENOMEM.
 */
COLO_API int colo_accept(colo_listener_t *l, colo_chan_t **out, int timeout_ms);

/** Closes the listener. Before colo_accept() returned, this removes the endpoint. */
COLO_API void colo_listener_close(colo_listener_t *l);

/** The listener's endpoint in canonical form; for "tcp://HOST:0", with the port
 *  the system chose. Valid until colo_listener_close(). */
COLO_API const char *colo_listener_endpoint(const colo_listener_t *l);

/**
 * Connects to a listening endpoint, retrying until it exists and is ready or
 * the timeout expires. The segment header is validated before anything in it
 * is used.
 *
 * @return 0; COLO_ETIMEDOUT (no listener appeared in time), COLO_ENOENT (timeout 0
 *         and no listener), COLO_ECORRUPT, COLO_EVERSION, COLO_ENOTREADY (the creator
 *         never finished initialising), COLO_EPERM, COLO_EBUSY (already has a peer),
 *         COLO_EPEERDEAD (only a dead listener's leftover is there), COLO_EPROTO (the
 *         socket's listener does not speak colo), COLO_EINVAL, COLO_EIO, COLO_ENOMEM.
 */
COLO_API int colo_connect(colo_chan_t **out, const char *endpoint, const colo_opts_t *opts,
                          int timeout_ms);

/**
 * Closes the channel. The peer reads every message sent before this, then gets
 * COLO_ECLOSED. When both sides have closed, the endpoint is removed.
 */
COLO_API void colo_close(colo_chan_t *ch);

/**
 * Sends one message of len bytes (0 allowed), waiting at most timeout_ms for
 * room. What the result says about the message, on every transport:
 *  - 0: all of it is in the ring, or (sockets, FIFOs) in the kernel: it is
 *    delivered even if this process dies right after, unless the receiver
 *    dies first;
 *  - COLO_EAGAIN (timeout 0) or COLO_ETIMEDOUT: none of it was sent, and the
 *    channel keeps nothing of it: sending it again is safe;
 *  - COLO_EINPROGRESS (sockets and FIFOs only): part of it went out before
 *    the time ran out. The rest is held by the channel and goes out first
 *    with the next send, colo_flush() or colo_close(); do not send it again.
 *    It is delivered unless this process dies or the peer goes before the
 *    rest is out. At most one message is ever held so.
 * @return those, COLO_EMSGSIZE, COLO_ECLOSED, COLO_EPEERDEAD, COLO_ECORRUPT
 *         (the peer broke the ring, or the segment's file was truncated: the
 *         channel is unusable), COLO_ESTATE (the channel was inherited across
 *         fork(): see colo_close()).
 */
COLO_API int colo_send(colo_chan_t *ch, const void *buf, size_t len, int timeout_ms);

/**
 * Waits until the rest of a message that went out only in part
 * (COLO_EINPROGRESS from colo_send() or colo_commit()) is in the kernel too.
 * Shared memory never holds a message back (always 0). colo_close() waits
 * for it at most one second.
 * @return 0 (nothing is held); COLO_EAGAIN (timeout 0) or COLO_ETIMEDOUT (it
 *         is still held); COLO_ECLOSED, COLO_EPEERDEAD.
 */
COLO_API int colo_flush(colo_chan_t *ch, int timeout_ms);

/**
 * Receives the next message into buf. On success *len is its size. When cap is
 * too small, returns COLO_ENOBUFS, sets *len to the size needed and leaves the
 * message in the channel. Messages the peer committed before it closed or died
 * are all delivered before COLO_ECLOSED or COLO_EPEERDEAD.
 * @return 0; COLO_ENOBUFS, COLO_EAGAIN, COLO_ETIMEDOUT, COLO_ECLOSED, COLO_EPEERDEAD,
 *         COLO_ECORRUPT.
 */
COLO_API int colo_recv(colo_chan_t *ch, void *buf, size_t cap, size_t *len, int timeout_ms);

/**
 * Zero-copy send, step 1: reserves room for a message of up to len bytes and
 * sets *buf to where it is written in place. A second reserve before the commit
 * replaces the first. On a ring this waits (timeout_ms) for room; a socket
 * channel makes room at once and its colo_commit() waits instead.
 * Returns the codes of colo_send() but COLO_EINPROGRESS.
 */
COLO_API int colo_reserve(colo_chan_t *ch, size_t len, void **buf, int timeout_ms);

/**
 * Zero-copy send, step 2: sends the reserved message with its final size
 * (at most the reserved size), within the reserve's timeout; its result
 * means what colo_send()'s does.
 * @return those of colo_send(); COLO_ESTATE (nothing reserved), COLO_EINVAL
 *         (len too large).
 */
COLO_API int colo_commit(colo_chan_t *ch, size_t len);

/**
 * Zero-copy receive, step 1: sets *buf and *len to the next message, in place in
 * shared memory (or in the channel's receive buffer for socket transports). The
 * bytes stay valid until colo_release(); the bounds are validated, but a
 * shared-memory peer can still write into them, so copy what must not change.
 * A second peek before the release returns the same message.
 * Returns the same codes as colo_recv() except COLO_ENOBUFS.
 */
COLO_API int colo_peek(colo_chan_t *ch, const void **buf, size_t *len, int timeout_ms);

/**
 * Zero-copy receive, step 2: gives the peeked message's space back to the sender.
 * @return 0; COLO_ESTATE (nothing peeked).
 */
COLO_API int colo_release(colo_chan_t *ch);

/** The largest message this side may send, in bytes. */
COLO_API size_t colo_max_message(const colo_chan_t *ch);

/** The transport under the channel: "shm", "file", "memfd", "unix", "pipe" or
 *  "tcp" (a colo:// endpoint gives one of memfd, shm or unix). */
COLO_API const char *colo_transport(const colo_chan_t *ch);

/** How many skipped rungs and alternatives a colo_info_t holds at most. */
#define COLO_INFO_SKIPPED_MAX 8

/** One rung or alternative that was not taken, and why. */
typedef struct colo_info_skip {
  char what[128]; /**< "memfd", "shm" or "unix" (a colo:// rung), or an endpoint */
  char why[320];  /**< one sentence */
} colo_info_skip_t;

/**
 * What carries a channel, and why. Filled into the caller's memory, so it
 * can grow in later versions: set struct_size to sizeof(colo_info_t) before
 * the call (colo_info_t info = {sizeof info};). The library fills at most
 * struct_size bytes and sets struct_size to what it filled.
 */
typedef struct colo_info {
  uint32_t struct_size;  /**< set by the caller, see above */
  char transport[16];    /**< as colo_transport() */
  char endpoint[4112];   /**< the endpoint in use (of a list: the one that answered) */
  char how[256];         /**< one sentence: what carries the messages */
  int rung;              /**< colo://: the rung taken, 1 (memfd), 2 (shm) or 3 (unix); else 0 */
  uint64_t max_message;  /**< the largest message this side may send */
  uint64_t ring_capacity; /**< ring transports: bytes each way; 0 for streams */
  unsigned skipped_count; /**< entries in skipped[], in the order they were tried */
  colo_info_skip_t skipped[COLO_INFO_SKIPPED_MAX];
} colo_info_t;

/**
 * Fills *out with the channel's transport and the reasons every faster rung
 * or earlier alternative was skipped. Same thread rules as colo_transport().
 * @return 0; COLO_EINVAL (also when out->struct_size is not set: smaller than
 *         the colo_info_t of version 0.2).
 */
COLO_API int colo_info(const colo_chan_t *ch, colo_info_t *out);

/**
 * Learns what a connect to endpoint would get, without opening a channel:
 * a colo:// endpoint runs the whole handshake (every rung is proven) against
 * a listener that is in colo_accept(), which keeps that connection to itself;
 * a unix://, pipe:// or tcp:// endpoint is only reached (a listener accepts
 * connections there); shm:// and file:// are inspected (a listener waits
 * there). A list of endpoints is tried in order, as colo_connect() does.
 * @return 0; the codes of colo_connect().
 */
COLO_API int colo_info_endpoint(const char *endpoint, const colo_opts_t *opts, int timeout_ms, colo_info_t *out);

/**
 * The handle an event loop waits on (poll, epoll, libuv's uv_poll_t): it
 * becomes readable when data from the peer arrives, or when the peer closes
 * or dies. Edge semantics: after it polls readable, call colo_recv() or
 * colo_peek() with COLO_NOWAIT until COLO_EAGAIN before polling again;
 * messages already read into the channel's buffer do not make it readable
 * again. Do not read from it, write to it or close it; it is valid until
 * colo_close().
 * @return 0 with *out set; COLO_ENOTSUP for ring transports (shm, file,
 *         memfd), which have none in this version; COLO_EINVAL.
 */
COLO_API int colo_os_handle(colo_chan_t *ch, colo_os_handle_t *out);

#if COLO_OS_HANDLE_IS_FD
/**
 * The POSIX spelling of colo_os_handle(): the descriptor (>= 0), or
 * COLO_ENOTSUP / COLO_EINVAL as colo_os_handle() returns them.
 */
COLO_API int colo_fd(colo_chan_t *ch);
#endif

/** The endpoint string the channel was opened with. */
COLO_API const char *colo_endpoint(const colo_chan_t *ch);

/** A sentence for any code (unknown codes get a generic sentence). Never NULL. */
COLO_API const char *colo_strerror(int err);

/**
 * For an application that installs its own SIGBUS handler (opts.handle_sigbus
 * = 0, or a handler installed after colo's that does not chain to it): call
 * this first in the handler with the fault address (siginfo_t.si_addr). When
 * the address lies in one of colo's shared-memory mappings whose file was
 * truncated, the mapping is replaced by private zero pages, the channel on it
 * will fail with COLO_ECORRUPT, and this returns 1: return from the handler
 * (the access is retried, harmlessly). 0 otherwise: the fault is not colo's.
 * Async-signal-safe.
 */
COLO_API int colo_sigbus_repair(void *fault_addr);

/** The symbolic name of a code, such as "COLO_EPEERDEAD". Never NULL. */
COLO_API const char *colo_errname(int err);

/**
 * The detail of the last failure in the calling thread, such as
 * "shm://demo: header checksum mismatch". Valid after a call returned an error,
 * until the next failing call in the same thread. Never NULL.
 */
COLO_API const char *colo_last_error(void);

/** The library's version, COLO_VERSION_STRING at build time. */
COLO_API const char *colo_version(void);

/* ------------------------------------------------------------------------ */
/* Segment administration: what `colo ls`, `colo rm` and `colo gc` use.       */

/** Who holds one side of a segment. */
typedef enum colo_proc_state {
  COLO_PROC_NONE = 0,    /**< that side never attached */
  COLO_PROC_ALIVE = 1,   /**< a live process holds that side */
  COLO_PROC_DEAD = 2,    /**< it attached and is gone */
  COLO_PROC_UNKNOWN = 3  /**< could not tell (for example no permission) */
} colo_proc_state_t;

/**
 * What colo_seg_inspect() learns of a segment without attaching to it. It can
 * grow in later versions: the caller of colo_seg_inspect() sets struct_size
 * to sizeof(colo_seg_info_t) first (colo_seg_info_t si = {sizeof si};); the
 * library fills at most that much and sets struct_size to what it filled. The
 * info colo_seg_list() hands its callback is the library's own, struct_size
 * set.
 */
typedef struct colo_seg_info {
  uint32_t struct_size;     /**< see above */
  char endpoint[4112];      /**< "shm://NAME" or "file:///PATH" (as it is: a name listed in
                                 /dev/shm may hold any bytes) */
  char owner[64];           /**< user name, or the numeric uid */
  uint64_t size;            /**< bytes of the backing object */
  uint32_t perm;            /**< permission bits */
  uint32_t uid;
  int64_t age_s;            /**< seconds since the object last changed status */
  int status;               /**< 0 when the header validated, else the COLO_E* it gave */
  int magic_ok;             /**< the object starts with the colo magic */
  char status_detail[160];  /**< why status is not 0 */
  uint32_t version_major, version_minor;
  uint64_t capacity[2];     /**< ring bytes: [0] listener to connector, [1] back */
  colo_proc_state_t listener, connector;
} colo_seg_info_t;

/** Inspects the segment behind an endpoint. @return 0 (see info->status), or
 *  COLO_ENOENT, COLO_EINVAL (also: info->struct_size not set), COLO_EIO for a
 *  segment that cannot be looked at. */
COLO_API int colo_seg_inspect(const char *endpoint, colo_seg_info_t *info);

/** Calls cb for every colo segment in the shared-memory namespace (/dev/shm).
 *  Stops early when cb returns non-zero. Where the system's names cannot be
 *  listed (Windows sections), COLO_ENOTSUP with the reason. @return what cb returned when it
 *  stopped the walk, 0 after the last segment, or a COLO_E* code when the
 *  namespace cannot be listed. */
COLO_API int colo_seg_list(int (*cb)(const colo_seg_info_t *info, void *ctx), void *ctx);

/** 1 when the object is ours and dead: it starts with the colo magic (a
 *  creator writes it before it sizes the object) or it is an empty shm://
 *  object (a creator died before writing it), no live process holds it, and
 *  it is not being created right now (a segment not yet ready gets 5 seconds).
 *  An info whose struct_size is not set is never dead.
 *  A file that is not a colo segment is never dead. colo_seg_remove() without
 *  force, colo gc and a listener's reclaim_stale all follow this one rule. */
COLO_API int colo_seg_is_dead(const colo_seg_info_t *info);

/**
 * Removes the endpoint's segment. Without force, removes only what
 * colo_seg_is_dead() says is dead, and refuses with COLO_EBUSY when a live
 * process holds it or it is being created, COLO_ECORRUPT when it is not a
 * colo segment, COLO_EPERM when it cannot be told. Nothing is followed: a symbolic
 * link or a FIFO at the name is never opened (force removes the name itself).
 * Processes that still map it keep their mapping.
 */
COLO_API int colo_seg_remove(const char *endpoint, int force);

#ifdef __cplusplus
}
#endif
#endif /* COLO_H */
