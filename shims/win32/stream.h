/*
 * stream.h - private to shims/win32: the byte streams' shared structs.
 * os_sock.c has the entry points of shim.h (sockets inline, named pipes
 * handed to os_pipe.c) and poll_many, which mixes both.
 *
 * Sockets (tcp://, unix://) are non-blocking with an event from
 * WSAEventSelect (FD_READ | FD_CLOSE, FD_ACCEPT for listeners): the event
 * colo__os_conn_handle gives out and what a mixed poll waits on.
 *
 * Named pipes (pipe://) have no readiness, so it is emulated: a read is kept
 * in flight (overlapped) into `rbuf` whenever that buffer is empty, so the
 * read event is signalled exactly when a read would not block. A write goes
 * to the system at once or not at all (os_pipe.c: colo__win_pipe_write):
 * nothing signals that a full pipe has room again, so after a write found it
 * full the pipe reads as writable again on a short backoff.
 */
#ifndef COLO_SHIMS_WIN32_STREAM_H
#define COLO_SHIMS_WIN32_STREAM_H

#include "win32.h"

#define COLO__WIN_PIPE_BUF (64u * 1024u) /* each pipe buffer, ours and the system's */
/* \\.\pipe\ names have at most 256 characters. */
#define COLO__WIN_PIPE_NAME_MAX 256

struct colo__os_conn {
  int is_pipe;
  int is_unix;
  char desc[COLO__NAME_MAX + 120]; /* for messages: "pipe://NAME", "tcp://HOST port N", "the client" */
  /* ---- sockets ---- */
  SOCKET s;
  WSAEVENT sev; /* FD_READ | FD_CLOSE */
  /* ---- pipes ---- */
  HANDLE h;
  int server;          /* this end is a listener's instance */
  SRWLOCK rlock;       /* the read half: rov, rbuf, rpending, rhave, roff, rerr */
  OVERLAPPED rov;      /* its hEvent: manual-reset, signalled when a read would not block */
  unsigned char *rbuf; /* COLO__WIN_PIPE_BUF bytes */
  int rpending;        /* a ReadFile is in flight into rbuf */
  size_t rhave, roff;  /* bytes read into rbuf, bytes of them handed out */
  int rerr;            /* sticky end of the read half: COLO_ECLOSED or an error code */
  DWORD rerr_os;       /* its system error, for the message */
  SRWLOCK wlock;       /* the write half: wov, wfull*, werr */
  OVERLAPPED wov;      /* of the one write, which never outlives its call */
  int wfull;           /* the last write found the pipe full */
  uint64_t wfull_until, wfull_retry_ns; /* when to call it writable again; the backoff */
  int werr; /* sticky: COLO_EPEERDEAD or an error code */
  DWORD werr_os;
  /* The user at the other end, once known (a client learns it before it
   * sends anything; a listener's end asks when checked). */
  unsigned char peer_sid[SECURITY_MAX_SID_SIZE];
  int has_peer_sid;
};

struct colo__os_lsock {
  colo__ep_kind_t kind;
  char desc[COLO__PATH_MAX + 16];
  /* ---- sockets ---- */
  SOCKET s;
  WSAEVENT sev; /* FD_ACCEPT */
  wchar_t *file; /* unix: the socket file we made, removed on close if still it */
  DWORD file_vol, file_hi, file_lo; /* its identity */
  /* ---- pipes: one instance waits for a client (ConnectNamedPipe, overlapped) ---- */
  wchar_t pname[COLO__WIN_PIPE_NAME_MAX + 1];
  colo__win_sa_t sa; /* every instance gets it */
  HANDLE inst;       /* the waiting instance, INVALID_HANDLE_VALUE when none could be made */
  OVERLAPPED cov;    /* its hEvent: signalled when a client connected (or it failed) */
  int cpending;      /* ConnectNamedPipe is in flight */
  int connected;     /* a client is connected to inst, not yet accepted */
};

/* os_pipe.c */
int colo__win_pipe_listen(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm);
int colo__win_pipe_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns);
void colo__win_pipe_listen_close(colo__os_lsock_t *l);
int colo__win_pipe_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                           const colo__os_peers_t *peers);
int colo__win_pipe_read(colo__os_conn_t *c, void *buf, size_t n, size_t *got);
int colo__win_pipe_write(colo__os_conn_t *c, const void *buf, size_t n, size_t *put);
/* The ready mask (of want) now; when 0, the events that will say more are
 * added to evs (at most 1), and *retry_ns (0: none yet) is lowered to when
 * it may be writable again. */
int colo__win_pipe_ready(colo__os_conn_t *c, int want, HANDLE *evs, int *nev, uint64_t *retry_ns);
/* 1 when a client is connected to the waiting instance (or making one
 * failed: accept says why); else 0 with the event to wait on in *ev
 * (NULL when there is none to wait on). */
int colo__win_pipe_lready(colo__os_lsock_t *l, HANDLE *ev);
void colo__win_pipe_close(colo__os_conn_t *c);
/* The user a pipe's other end runs as: the client's for a listener's end. */
int colo__win_pipe_peer_sid(colo__os_conn_t *c, unsigned char sid[SECURITY_MAX_SID_SIZE]);

/* os_sock.c: the user process pid runs as (its token's). */
int colo__win_pid_sid(DWORD pid, unsigned char sid[SECURITY_MAX_SID_SIZE], const char *who);

#endif
