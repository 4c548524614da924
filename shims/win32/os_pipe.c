/*
 * os_pipe.c - pipe://NAME on Windows: byte streams over the named pipe
 * \\.\pipe\colo.NAME, one pipe instance per connection (shim.h, stream.h).
 *
 * The listener creates the first instance with FILE_FLAG_FIRST_PIPE_INSTANCE:
 * a process that made the name first (a live listener, or a squatter waiting
 * to be joined) makes listen fail with COLO_EEXIST. Pipe names vanish with
 * their last handle, so there is never a dead listener's leftover to replace.
 * One instance at a time waits for a client (overlapped ConnectNamedPipe);
 * accept makes the next one before it hands the connected one out, so the
 * name never vanishes under a busy listener. Every instance gets the same
 * explicit security descriptor (colo__win_sa_make), in which users other
 * than this one may read and write but not create instances (which would
 * let them serve our clients). PIPE_REJECT_REMOTE_CLIENTS: local only.
 *
 * A client opens the pipe with SECURITY_IDENTIFICATION (the server may learn
 * who we are, never act as us), and checks who runs the server end (its
 * process's token; the pipe's owner when that process cannot be opened)
 * before anything is sent.
 *
 * Named pipes have no readiness; stream.h says how it is emulated. A
 * connection's other end closing, or its process dying, breaks the pipe at
 * once (ERROR_BROKEN_PIPE): reads give COLO_ECLOSED after every byte written
 * before (a pipe cannot tell a clean close from a death, as a FIFO cannot:
 * the stream's BYE frame does), writes give COLO_EPEERDEAD.
 */
#include <stdio.h>
#include <string.h>

#include "stream.h"

/* ---- names and security ---------------------------------------------------------------- */

static int pipe_wname(const char *name, wchar_t *out, char *desc, size_t desc_cap) {
  snprintf(desc, desc_cap, "pipe://%.*s", (int)(desc_cap > 8 ? desc_cap - 8 : 0), name);
  if (strchr(name, '\\')) return colo__err(COLO_EINVAL, "%s: a pipe name may not hold '\\'", desc);
  char full[COLO__WIN_PIPE_NAME_MAX + 2];
  int n = snprintf(full, sizeof full, "\\\\.\\pipe\\colo.%s", name);
  if (n < 0 || (size_t)n > COLO__WIN_PIPE_NAME_MAX)
    return colo__err(COLO_EINVAL, "%s: the pipe name \\\\.\\pipe\\colo.NAME would be longer than %d characters", desc,
                     COLO__WIN_PIPE_NAME_MAX);
  return colo__win_wide(full, out, COLO__WIN_PIPE_NAME_MAX + 1, "the pipe name");
}

/*
 * colo__win_sa_make's DACL grants other users GENERIC_READ | GENERIC_WRITE
 * when perm lets them in. On a pipe GENERIC_WRITE includes
 * FILE_CREATE_PIPE_INSTANCE: such a user could add an instance of our pipe
 * and be the server some of our clients reach. Their ACEs get the file
 * rights spelled out instead, without that one.
 */
static void no_instances_for_others(PSECURITY_DESCRIPTOR sd) {
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = NULL;
  PSID self = colo__win_self_sid();
  if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present || !dacl) return;
  for (DWORD i = 0; i < dacl->AceCount; i++) {
    ACCESS_ALLOWED_ACE *ace;
    if (!GetAce(dacl, i, (void **)&ace) || ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE) continue;
    if (self && EqualSid((PSID)&ace->SidStart, self)) continue;
    ACCESS_MASK m = ace->Mask, to = m & ~(ACCESS_MASK)(GENERIC_READ | GENERIC_WRITE | FILE_CREATE_PIPE_INSTANCE);
    if (m & GENERIC_READ) to |= FILE_GENERIC_READ;
    if (m & GENERIC_WRITE) to |= FILE_GENERIC_WRITE & ~(ACCESS_MASK)FILE_CREATE_PIPE_INSTANCE;
    ace->Mask = to;
  }
}


/* ---- connections -------------------------------------------------------------------------- */

static void rd_start(colo__os_conn_t *c);

static colo__os_conn_t *pipe_conn_new(HANDLE h, int server, const char *desc) {
  colo__os_conn_t *c = colo__calloc(1, sizeof *c);
  if (!c) goto fail;
  c->is_pipe = 1;
  c->server = server;
  c->h = h;
  c->s = INVALID_SOCKET;
  snprintf(c->desc, sizeof c->desc, "%s", desc);
  InitializeSRWLock(&c->rlock);
  InitializeSRWLock(&c->wlock);
  c->rbuf = colo__malloc(COLO__WIN_PIPE_BUF);
  c->rov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  c->wov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!c->rbuf || !c->rov.hEvent || !c->wov.hEvent) goto fail;
  /* From now on a read is in flight whenever nothing is buffered. */
  AcquireSRWLockExclusive(&c->rlock);
  rd_start(c);
  ReleaseSRWLockExclusive(&c->rlock);
  return c;
fail:
  if (c) {
    if (c->rov.hEvent) CloseHandle(c->rov.hEvent);
    if (c->wov.hEvent) CloseHandle(c->wov.hEvent);
    colo__free(c->rbuf);
    colo__free(c);
  }
  CloseHandle(h);
  return NULL;
}

/* ---- the read half (rlock held) ---- */

static void rd_fail(colo__os_conn_t *c, DWORD e) {
  /* The other end closed or its process died: the end of the stream. */
  c->rerr = e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED || e == ERROR_HANDLE_EOF ? COLO_ECLOSED
                                                                                              : colo__win_code(e);
  c->rerr_os = e;
  SetEvent(c->rov.hEvent); /* a read would not block: it reports the end */
}

/* Takes in a read that completed. */
static void rd_settle(colo__os_conn_t *c) {
  if (!c->rpending) return;
  DWORD got = 0;
  if (GetOverlappedResult(c->h, &c->rov, &got, FALSE)) {
    c->rpending = 0;
    c->rhave = got, c->roff = 0;
    return;
  }
  DWORD e = GetLastError();
  if (e == ERROR_IO_INCOMPLETE) return;
  c->rpending = 0;
  if (e == ERROR_OPERATION_ABORTED) {
    /* Windows cancels the I/O a thread started when that thread exits: the
     * read is ours to start again, with what it got kept. */
    c->rhave = got, c->roff = 0;
    return;
  }
  rd_fail(c, e);
}

/* Starts a read when nothing is buffered (ReadFile resets the event). */
static void rd_start(colo__os_conn_t *c) {
  if (c->rpending || c->rerr || c->roff < c->rhave) return;
  c->rhave = c->roff = 0;
  if (ReadFile(c->h, c->rbuf, COLO__WIN_PIPE_BUF, NULL, &c->rov)) {
    c->rpending = 1; /* done at once: the count comes from the overlapped result */
    rd_settle(c);
    return;
  }
  DWORD e = GetLastError();
  if (e == ERROR_IO_PENDING) c->rpending = 1;
  else rd_fail(c, e);
}

static int rd_report(colo__os_conn_t *c) {
  if (c->rerr == COLO_ECLOSED) return COLO_ECLOSED;
  return colo__win_err(c->rerr_os, "receive from", c->desc);
}

int colo__win_pipe_read(colo__os_conn_t *c, void *buf, size_t n, size_t *got) {
  int rc = COLO_EAGAIN;
  AcquireSRWLockExclusive(&c->rlock);
  /* A read that completes with 0 bytes (a peer's empty write) is started
   * again, a few times at most. */
  for (int i = 0; i < 4; i++) {
    rd_settle(c);
    if (c->roff < c->rhave) {
      size_t k = c->rhave - c->roff < n ? c->rhave - c->roff : n;
      memcpy(buf, c->rbuf + c->roff, k);
      c->roff += k;
      *got = k;
      rd_start(c); /* when that emptied the buffer */
      rc = 0;
      break;
    }
    if (c->rerr) {
      rc = rd_report(c);
      break;
    }
    if (c->rpending) break;
    rd_start(c);
  }
  ReleaseSRWLockExclusive(&c->rlock);
  return rc;
}

/* ---- the write half (wlock held) ---- */

static void wr_fail(colo__os_conn_t *c, DWORD e) {
  c->werr = e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA || e == ERROR_PIPE_NOT_CONNECTED ? COLO_EPEERDEAD
                                                                                           : colo__win_code(e);
  c->werr_os = e;
}

static int wr_report(colo__os_conn_t *c) { return colo__win_err(c->werr_os, "send to", c->desc); }

/* A full pipe is looked at again after this long (then twice as long, up
 * to WR_RETRY_MAX_NS): nothing signals that a pipe has room again. */
#define WR_RETRY_FIRST_NS (1000 * 1000ull)
#define WR_RETRY_MAX_NS (8 * 1000 * 1000ull)

/*
 * A write is reported written only once the system holds its bytes: a
 * WriteFile that completes at once (the pipe's buffer had room) leaves them
 * in the system, where they outlive this process, as bytes in a POSIX pipe
 * do; so a message whose send returned 0 reaches the peer even when the
 * sender is killed right after. A WriteFile that would wait (the buffer is
 * full) is cancelled at once: what went out of it before the cancel is
 * reported (Windows may pass part of a write on), none is COLO_EAGAIN. The
 * caller's bytes are never kept, and nothing is left in flight when the
 * call returns (Windows cancels the I/O of a thread that exits).
 * Writability after COLO_EAGAIN is a guess, retried on a backoff.
 */
int colo__win_pipe_write(colo__os_conn_t *c, const void *buf, size_t n, size_t *put) {
  int rc = 0;
  AcquireSRWLockExclusive(&c->wlock);
  /* A pipe whose read half saw the end is broken both ways: say so now
   * rather than take bytes that cannot go anywhere. */
  if (!c->werr && TryAcquireSRWLockExclusive(&c->rlock)) {
    if (c->rerr == COLO_ECLOSED) wr_fail(c, c->rerr_os);
    ReleaseSRWLockExclusive(&c->rlock);
  }
  if (c->werr) {
    rc = wr_report(c);
    goto out;
  }
  DWORD k = n < COLO__WIN_PIPE_BUF ? (DWORD)n : COLO__WIN_PIPE_BUF, t = 0;
  ResetEvent(c->wov.hEvent);
  if (!WriteFile(c->h, buf, k, NULL, &c->wov) && GetLastError() != ERROR_IO_PENDING) {
    wr_fail(c, GetLastError());
    rc = wr_report(c);
    goto out;
  }
  if (!GetOverlappedResult(c->h, &c->wov, &t, FALSE)) {
    DWORD e = GetLastError();
    if (e == ERROR_IO_INCOMPLETE) {
      CancelIoEx(c->h, &c->wov);
      if (!GetOverlappedResult(c->h, &c->wov, &t, TRUE)) e = GetLastError();
      else e = 0;
    }
    if (e && e != ERROR_OPERATION_ABORTED && e != ERROR_IO_INCOMPLETE) {
      wr_fail(c, e);
      rc = wr_report(c);
      goto out;
    }
  }
  if (t == 0) {
    uint64_t now = colo__os_now_ns();
    c->wfull_retry_ns = c->wfull ? (c->wfull_retry_ns * 2 > WR_RETRY_MAX_NS ? WR_RETRY_MAX_NS : c->wfull_retry_ns * 2)
                                 : WR_RETRY_FIRST_NS;
    c->wfull = 1;
    c->wfull_until = now + c->wfull_retry_ns;
    rc = COLO_EAGAIN;
  } else {
    c->wfull = 0;
    *put = t;
  }
out:
  ReleaseSRWLockExclusive(&c->wlock);
  return rc;
}

int colo__win_pipe_ready(colo__os_conn_t *c, int want, HANDLE *evs, int *nev, uint64_t *retry_ns) {
  int m = 0;
  if (want & COLO__POLL_IN) {
    AcquireSRWLockExclusive(&c->rlock);
    rd_settle(c);
    if (c->roff >= c->rhave && !c->rerr) rd_start(c);
    if (c->roff < c->rhave || c->rerr || !c->rpending) m |= COLO__POLL_IN;
    else evs[(*nev)++] = c->rov.hEvent;
    ReleaseSRWLockExclusive(&c->rlock);
  }
  if (want & COLO__POLL_OUT) {
    AcquireSRWLockExclusive(&c->wlock);
    /* Writable unless the last write found the pipe full; then again once
     * its retry time has come (the next write tells). */
    uint64_t now = colo__os_now_ns();
    if (c->werr || !c->wfull || now >= c->wfull_until) m |= COLO__POLL_OUT;
    else if (!*retry_ns || c->wfull_until - now < *retry_ns) *retry_ns = c->wfull_until - now;
    ReleaseSRWLockExclusive(&c->wlock);
  }
  return m;
}

void colo__win_pipe_close(colo__os_conn_t *c) {
  DWORD x;
  /* No write is ever left in flight (colo__win_pipe_write): what was
   * reported written is in the system's buffer already. */
  if (c->rpending) {
    CancelIoEx(c->h, &c->rov);
    GetOverlappedResult(c->h, &c->rov, &x, TRUE);
  }
  /* Not DisconnectNamedPipe: it would throw away what the client has not
   * read yet. Closing leaves it readable, then the pipe is broken. */
  CloseHandle(c->h);
  CloseHandle(c->rov.hEvent);
  CloseHandle(c->wov.hEvent);
  colo__free(c->rbuf);
}

/* ---- who is at the other end ---- */

static int token_sid(HANDLE tok, unsigned char sid[SECURITY_MAX_SID_SIZE], const char *who) {
  union {
    TOKEN_USER tu;
    unsigned char buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } u;
  DWORD len = 0;
  if (!GetTokenInformation(tok, TokenUser, &u, sizeof u, &len)) return colo__win_last("cannot read the user of", who);
  if (!CopySid(SECURITY_MAX_SID_SIZE, (PSID)sid, u.tu.User.Sid)) return colo__win_last("cannot copy the user of", who);
  return 0;
}

int colo__win_pid_sid(DWORD pid, unsigned char sid[SECURITY_MAX_SID_SIZE], const char *who) {
  HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (!p) return colo__win_last("cannot open the process of", who);
  HANDLE tok;
  int rc;
  if (!OpenProcessToken(p, TOKEN_QUERY, &tok)) {
    rc = colo__win_last("cannot open the token of", who);
  } else {
    rc = token_sid(tok, sid, who);
    CloseHandle(tok);
  }
  CloseHandle(p);
  return rc;
}

/* The client's user, on a listener's end: its token, seen by impersonating
 * it at identification level (which it allowed); the token of its process
 * where that is refused (Windows lets a server impersonate only once it read
 * from the pipe). */
static int client_sid(colo__os_conn_t *c, unsigned char sid[SECURITY_MAX_SID_SIZE]) {
  if (ImpersonateNamedPipeClient(c->h)) {
    HANDLE tok;
    BOOL ok = OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &tok);
    /* A thread that cannot stop acting as the client must not run on. */
    if (!RevertToSelf()) abort();
    if (ok) {
      int rc = token_sid(tok, sid, "the client");
      CloseHandle(tok);
      if (!rc) return 0;
    }
  }
  ULONG pid = 0;
  if (!GetNamedPipeClientProcessId(c->h, &pid)) return colo__win_last("cannot tell who is", "the client");
  return colo__win_pid_sid(pid, sid, "the client");
}

/* The server's user, on a client's end: its process's token, or the pipe's
 * owner when that process cannot be opened (another user's). */
static int server_sid(HANDLE h, unsigned char sid[SECURITY_MAX_SID_SIZE], const char *desc) {
  ULONG pid = 0;
  if (GetNamedPipeServerProcessId(h, &pid) && colo__win_pid_sid(pid, sid, desc) == 0) return 0;
  PSID owner;
  PSECURITY_DESCRIPTOR sd;
  int rc = colo__win_owner(h, 1, &owner, &sd);
  if (rc) return rc;
  if (!CopySid(SECURITY_MAX_SID_SIZE, (PSID)sid, owner)) rc = colo__win_last("cannot copy the owner of", desc);
  LocalFree(sd);
  return rc;
}

int colo__win_pipe_peer_sid(colo__os_conn_t *c, unsigned char sid[SECURITY_MAX_SID_SIZE]) {
  if (!c->has_peer_sid) {
    int rc = c->server ? client_sid(c, c->peer_sid) : server_sid(c->h, c->peer_sid, c->desc);
    if (rc) return rc;
    c->has_peer_sid = 1;
  }
  memcpy(sid, c->peer_sid, SECURITY_MAX_SID_SIZE);
  return 0;
}

/* ---- the listener ------------------------------------------------------------------------- */

static HANDLE new_instance(colo__os_lsock_t *l, int first) {
  DWORD open = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
  DWORD mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
  return CreateNamedPipeW(l->pname, open, mode, PIPE_UNLIMITED_INSTANCES, COLO__WIN_PIPE_BUF, COLO__WIN_PIPE_BUF, 0,
                          &l->sa.sa);
}

/* Lets l->inst wait for a client. */
static void start_connect(colo__os_lsock_t *l) {
  l->cpending = l->connected = 0;
  ResetEvent(l->cov.hEvent);
  if (ConnectNamedPipe(l->inst, &l->cov)) {
    l->connected = 1;
  } else {
    DWORD e = GetLastError();
    if (e == ERROR_IO_PENDING) l->cpending = 1;
    else if (e == ERROR_PIPE_CONNECTED) l->connected = 1; /* a client came between create and connect */
    else l->connected = 1; /* (ERROR_NO_DATA: it came and left) accept hands it out; its read sees the end */
  }
  if (l->connected) SetEvent(l->cov.hEvent);
}

/* A fresh waiting instance; 0 or the error (l->inst stays invalid). */
static int next_instance(colo__os_lsock_t *l) {
  l->inst = new_instance(l, 0);
  if (l->inst == INVALID_HANDLE_VALUE) return colo__win_last("cannot create another instance of", l->desc);
  start_connect(l);
  return 0;
}

int colo__win_pipe_listen(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm) {
  l->inst = INVALID_HANDLE_VALUE;
  int rc = pipe_wname(ep->name, l->pname, l->desc, sizeof l->desc);
  if (rc) return rc;
  if ((rc = colo__win_sa_make(&l->sa, perm)) != 0) return rc;
  no_instances_for_others(l->sa.sd);
  l->cov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!l->cov.hEvent) return colo__win_last("cannot create an event for", l->desc);
  l->inst = new_instance(l, 1);
  if (l->inst == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    /* FILE_FLAG_FIRST_PIPE_INSTANCE refuses a name that exists: a live
     * listener's, or a squatter's who would serve our clients. */
    if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY)
      return colo__err(COLO_EEXIST, "%s exists: another process (a live listener, or one that took the name "
                       "first) has the pipe \\\\.\\pipe\\colo.%s", l->desc, ep->name);
    return colo__win_err(e, "cannot create the pipe", l->desc);
  }
  /* Where the flag is not honoured (Wine 8 ignores it) the new instance
   * joined the squatter's pipe: then it is not the only instance. */
  DWORD cur = 0;
  if (GetNamedPipeHandleStateW(l->inst, NULL, &cur, NULL, NULL, NULL, 0) && cur > 1)
    return colo__err(COLO_EEXIST, "%s exists: another process (a live listener, or one that took the name "
                     "first) has %lu instance(s) of the pipe \\\\.\\pipe\\colo.%s", l->desc, (unsigned long)(cur - 1),
                     ep->name);
  start_connect(l);
  return 0;
}

/* Takes in a wait for a client that ended. */
static void l_settle(colo__os_lsock_t *l) {
  for (int i = 0; i < 4 && l->cpending && HasOverlappedIoCompleted(&l->cov); i++) {
    DWORD x;
    if (GetOverlappedResult(l->inst, &l->cov, &x, FALSE)) {
      l->cpending = 0, l->connected = 1;
      return;
    }
    DWORD e = GetLastError();
    if (e == ERROR_IO_INCOMPLETE) return;
    l->cpending = 0;
    /* Cancelled as the thread that started it exited: wait again (a client
     * that came meanwhile is seen as ERROR_PIPE_CONNECTED). Else the client
     * left before it was accepted: let it go, wait for the next one. */
    if (e != ERROR_OPERATION_ABORTED) DisconnectNamedPipe(l->inst);
    start_connect(l);
  }
}

int colo__win_pipe_lready(colo__os_lsock_t *l, HANDLE *ev) {
  *ev = NULL;
  if (l->inst == INVALID_HANDLE_VALUE || l->connected) return 1;
  l_settle(l);
  if (l->connected || !l->cpending) return 1;
  *ev = l->cov.hEvent;
  return 0;
}

int colo__win_pipe_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns) {
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  for (;;) {
    if (l->inst == INVALID_HANDLE_VALUE) {
      int rc = next_instance(l);
      if (rc) return rc;
    }
    l_settle(l);
    if (l->connected) {
      HANDLE h = l->inst;
      l->inst = INVALID_HANDLE_VALUE;
      l->connected = 0;
      /* The next instance first, so that clients keep finding the name; if
       * it cannot be made now, the next accept tries again. */
      next_instance(l);
      *out = pipe_conn_new(h, 1, "the client");
      return *out ? 0 : colo__err_nomem();
    }
    if (timeout_ns == 0) return COLO_EAGAIN;
    uint64_t now = colo__os_now_ns();
    if (now >= deadline) return COLO_ETIMEDOUT;
    WaitForSingleObject(l->cov.hEvent, colo__win_ms(deadline == UINT64_MAX ? UINT64_MAX : deadline - now));
  }
}

void colo__win_pipe_listen_close(colo__os_lsock_t *l) {
  if (l->inst != INVALID_HANDLE_VALUE) {
    DWORD x;
    if (l->cpending) {
      CancelIoEx(l->inst, &l->cov);
      GetOverlappedResult(l->inst, &l->cov, &x, TRUE);
    }
    CloseHandle(l->inst);
  }
  if (l->cov.hEvent) CloseHandle(l->cov.hEvent);
  colo__win_sa_free(&l->sa);
}

/* ---- the client ---------------------------------------------------------------------------- */

int colo__win_pipe_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                           const colo__os_peers_t *peers) {
  wchar_t wn[COLO__WIN_PIPE_NAME_MAX + 1];
  char desc[COLO__PATH_MAX + 16];
  int rc = pipe_wname(ep->name, wn, desc, sizeof desc);
  if (rc) return rc;
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  HANDLE h;
  for (;;) {
    /* Identification only: a hostile server may learn who we are, not act as us. */
    h = CreateFileW(wn, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    if (h != INVALID_HANDLE_VALUE) break;
    DWORD e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND) return colo__err(COLO_ENOENT, "%s: nobody listens on it (yet)", desc);
    if (e != ERROR_PIPE_BUSY) return colo__win_err(e, "cannot open", desc);
    if (timeout_ns == 0)
      return colo__err(COLO_EAGAIN, "%s: no instance of the pipe is free (the listener is busy)", desc);
    uint64_t now = colo__os_now_ns();
    if (now >= deadline)
      return colo__err(COLO_ETIMEDOUT, "connecting to %s timed out: no instance of the pipe became free", desc);
    /* Returns when an instance is free (or the time is up, or the name is
     * gone): the open above tells which. */
    WaitNamedPipeW(wn, colo__win_ms(deadline == UINT64_MAX ? UINT64_MAX : deadline - now));
  }
  char what[COLO__PATH_MAX + 48];
  snprintf(what, sizeof what, "the process listening on %s", desc);
  unsigned char sid[SECURITY_MAX_SID_SIZE];
  /* Who serves the pipe, before a byte goes to it. */
  if ((rc = server_sid(h, sid, desc)) != 0 || (rc = colo__win_check_sid(peers, (PSID)sid, what, "runs as")) != 0) {
    CloseHandle(h);
    return rc;
  }
  *out = pipe_conn_new(h, 0, desc);
  if (!*out) return colo__err_nomem();
  memcpy((*out)->peer_sid, sid, sizeof sid);
  (*out)->has_peer_sid = 1;
  return 0;
}
