/*
 * os_sock.c - byte streams on Windows (shim.h): tcp:// over Winsock,
 * unix:// over AF_UNIX (Windows 10 1803 and later; afunix.h), the entry
 * points that hand pipe:// to os_pipe.c, and poll_many over all of them.
 *
 * Sockets are non-blocking and not inherited by child processes. Each has an
 * event from WSAEventSelect: FD_READ | FD_CLOSE for a connection (what
 * colo__os_conn_handle gives an event loop), FD_ACCEPT for a listener.
 * Waiting on sockets alone is WSAPoll (level-triggered: no edge to lose).
 * A wait that mixes sockets and pipes is WaitForMultipleObjects over the
 * events, each socket's level re-checked (WSAPoll, no wait) after its event
 * was reset and before the wait; a socket that waits to write has no event
 * there (FD_WRITE is an edge another thread's call could consume), so such a
 * wait is cut into 10 ms slices that re-check it.
 * Windows has no SIGPIPE: a write to a vanished peer is an error code.
 */
#include <stdio.h>
#include <string.h>
#include <ws2tcpip.h>
#include <afunix.h>
#include <aclapi.h>

#include "stream.h"

#define SLICE_MS 10u

/* ---- Winsock, once ---------------------------------------------------------------------- */

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_rc = -1;

static BOOL CALLBACK wsa_init(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  (void)once, (void)param, (void)ctx;
  WSADATA d;
  wsa_rc = WSAStartup(MAKEWORD(2, 2), &d);
  return TRUE;
}

static int wsa_ready(void) {
  InitOnceExecuteOnce(&wsa_once, wsa_init, NULL, NULL);
  return wsa_rc == 0 ? 0 : colo__win_err((DWORD)wsa_rc, "WSAStartup", NULL);
}

static int wsa_err(const char *what, const char *obj) { return colo__win_err((DWORD)WSAGetLastError(), what, obj); }

/* A new socket, not inherited by children (WSA_FLAG_NO_HANDLE_INHERIT where
 * the system knows the flag; else the handle's flag cleared). */
static SOCKET sock_new(int family, int proto) {
  SOCKET s = WSASocketW(family, SOCK_STREAM, proto, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
    s = WSASocketW(family, SOCK_STREAM, proto, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET) SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  }
  return s;
}

static int unix_missing(void) {
  return colo__err(COLO_ENOTSUP, "unix:// sockets: AF_UNIX is not available on this system (Windows has it from "
                   "Windows 10 1803 on; Wine has none): use pipe:// or tcp://");
}

/* AF_UNIX unknown to this system. */
static int no_af_unix(int e) { return e == WSAEAFNOSUPPORT || e == WSAEPROTONOSUPPORT || e == WSAESOCKTNOSUPPORT; }

static int set_nodelay(SOCKET s) {
  BOOL one = TRUE;
  return setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
}

/* Takes s (closed on failure). */
static colo__os_conn_t *sock_conn_new(SOCKET s, int is_unix, const char *desc) {
  colo__os_conn_t *c = colo__calloc(1, sizeof *c);
  if (c) {
    c->s = s;
    c->is_unix = is_unix;
    c->h = INVALID_HANDLE_VALUE;
    snprintf(c->desc, sizeof c->desc, "%s", desc);
    c->sev = WSACreateEvent();
    /* (An accepted socket inherits its listener's association: this
     * replaces it. It also makes the socket non-blocking.) */
    if (c->sev == WSA_INVALID_EVENT || WSAEventSelect(s, c->sev, FD_READ | FD_CLOSE) != 0) {
      if (c->sev != WSA_INVALID_EVENT) WSACloseEvent(c->sev);
      colo__free(c);
      c = NULL;
    }
  }
  if (!c) closesocket(s);
  return c;
}

/* The level state of a socket now (WSAPoll without waiting): the ready
 * mask of want; an error or hang-up counts as ready. */
static int sock_level(SOCKET s, int want, int listener) {
  WSAPOLLFD p;
  p.fd = s;
  p.events = (SHORT)(listener ? POLLRDNORM
                              : ((want & COLO__POLL_IN ? POLLRDNORM : 0) | (want & COLO__POLL_OUT ? POLLWRNORM : 0)));
  p.revents = 0;
  if (WSAPoll(&p, 1, 0) < 0) return want; /* the next call says what is wrong */
  if (listener) return p.revents ? COLO__POLL_IN : 0;
  int m = 0;
  if (p.revents & (POLLRDNORM | POLLHUP | POLLERR | POLLNVAL)) m |= COLO__POLL_IN;
  if (p.revents & (POLLWRNORM | POLLHUP | POLLERR | POLLNVAL)) m |= COLO__POLL_OUT;
  return m & want;
}

/* ---- addresses ---------------------------------------------------------------------------- */

static int resolve(const colo__endpoint_t *ep, int passive, ADDRINFOW **res) {
  wchar_t host[COLO__NAME_MAX + 64], port[8];
  int rc = colo__win_wide(ep->name, host, sizeof host / sizeof host[0], "the host name");
  if (rc) return rc;
  swprintf(port, sizeof port / sizeof port[0], L"%u", (unsigned)ep->port);
  ADDRINFOW hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  int e = GetAddrInfoW(host, port, &hints, res);
  if (e == WSAHOST_NOT_FOUND || e == WSANO_DATA)
    return colo__err(COLO_ENOENT, "cannot resolve %s: no such host", ep->name);
  if (e) return colo__win_err((DWORD)e, "cannot resolve", ep->name);
  return 0;
}

/* unix: "/C:/dir/s.sock" as sun_path "C:\dir\s.sock" (UTF-8), and as a
 * wide path for the file calls. */
static int unix_addr(const char *url_path, struct sockaddr_un *sa, wchar_t *wpath, size_t wcap) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  size_t len = strlen(url_path + 1);
  if (len >= sizeof sa->sun_path) return colo__err(COLO_EINVAL, "%s: socket path too long", url_path);
  memcpy(sa->sun_path, url_path + 1, len + 1);
  for (char *p = sa->sun_path; *p; p++)
    if (*p == '/') *p = '\\';
  return colo__win_path(url_path, wpath, wcap);
}

/* ---- listening ------------------------------------------------------------------------------ */

static int listen_tcp(colo__os_lsock_t *l, const colo__endpoint_t *ep, colo__endpoint_t *actual) {
  ADDRINFOW *res;
  int rc = resolve(ep, 1, &res);
  if (rc) return rc;
  int e = 0;
  for (ADDRINFOW *a = res; a; a = a->ai_next) {
    SOCKET s = sock_new(a->ai_family, a->ai_protocol);
    if (s == INVALID_SOCKET) {
      e = WSAGetLastError();
      continue;
    }
    /* Nobody may bind the same port beside us (Windows' SO_REUSEADDR would
     * let another socket take it over). */
    BOOL one = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one);
    if (bind(s, a->ai_addr, (int)a->ai_addrlen) == 0 && listen(s, SOMAXCONN) == 0) {
      l->s = s;
      break;
    }
    e = WSAGetLastError();
    closesocket(s);
  }
  FreeAddrInfoW(res);
  char what[300];
  snprintf(what, sizeof what, "%.255s port %u", ep->name, (unsigned)ep->port);
  snprintf(l->desc, sizeof l->desc, "tcp://%s", what);
  if (l->s == INVALID_SOCKET) {
    return e == WSAEADDRINUSE || e == WSAEACCES ? colo__err(COLO_EEXIST, "%s is taken by another listener", what)
                                                : colo__win_err((DWORD)e, "cannot listen on", what);
  }
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  if (getsockname(l->s, (struct sockaddr *)&ss, &sl) == 0)
    actual->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

/* 1 when a process accepts connections at sa (a live listener's file). */
static int unix_alive(const struct sockaddr_un *sa) {
  SOCKET s = sock_new(AF_UNIX, 0);
  if (s == INVALID_SOCKET) return 1; /* cannot tell: replace nothing */
  int rc = connect(s, (const struct sockaddr *)sa, sizeof *sa), e = WSAGetLastError();
  closesocket(s);
  return rc == 0 || (e != WSAECONNREFUSED && e != WSAENETDOWN && e != ERROR_FILE_NOT_FOUND);
}

/* The identity of the file at path (not following a reparse point). */
static int file_id(const wchar_t *path, DWORD access, HANDLE *keep, BY_HANDLE_FILE_INFORMATION *fi) {
  HANDLE h = CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                         FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
  if (h == INVALID_HANDLE_VALUE) return -1;
  int ok = GetFileInformationByHandle(h, fi);
  if (keep && ok) *keep = h;
  else CloseHandle(h);
  return ok ? 0 : -1;
}

/*
 * The socket file gets perm's security descriptor right after bind (the
 * socket only listens after that, so nobody connects before). A file there
 * that refuses connections for a while (40 ms: a live listener between its
 * bind and listen refuses too) is a dead listener's, and is replaced once.
 * Untested: Wine, where this was written, has no AF_UNIX.
 */
static int listen_unix(colo__os_lsock_t *l, const colo__endpoint_t *ep, uint32_t perm) {
  struct sockaddr_un sa;
  wchar_t wpath[COLO__PATH_MAX + 1];
  snprintf(l->desc, sizeof l->desc, "unix://%s", ep->name);
  int rc = unix_addr(ep->name, &sa, wpath, sizeof wpath / sizeof wpath[0]);
  if (rc) return rc;
  SOCKET s = sock_new(AF_UNIX, 0);
  if (s == INVALID_SOCKET) return no_af_unix(WSAGetLastError()) ? unix_missing() : wsa_err("cannot create a socket for", ep->name);
  for (int attempt = 0;; attempt++) {
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0) break;
    int e = WSAGetLastError();
    if (e == WSAEADDRINUSE && attempt == 0) {
      int dead = 1;
      for (int i = 0; i < 5 && dead; i++) {
        if (unix_alive(&sa)) dead = 0;
        else if (i < 4) Sleep(10);
      }
      if (dead && DeleteFileW(wpath)) continue;
      closesocket(s);
      return colo__err(COLO_EEXIST, "%s exists and a live process listens on it", ep->name);
    }
    closesocket(s);
    return e == WSAEADDRINUSE ? colo__err(COLO_EEXIST, "%s exists", ep->name)
                              : colo__win_err((DWORD)e, "cannot bind", ep->name);
  }
  /* The file itself (a reparse point, never followed): its identity, and
   * perm's DACL set through that handle. */
  colo__win_sa_t wsa;
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = NULL;
  BY_HANDLE_FILE_INFORMATION fi;
  HANDLE fh = INVALID_HANDLE_VALUE;
  if (file_id(wpath, READ_CONTROL | WRITE_DAC, &fh, &fi) != 0) {
    rc = colo__win_last("cannot open the socket file", ep->name);
  } else if ((rc = colo__win_sa_make(&wsa, perm)) == 0) {
    GetSecurityDescriptorDacl(wsa.sd, &present, &dacl, &defaulted);
    DWORD e = SetSecurityInfo(fh, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL,
                              NULL, dacl, NULL);
    colo__win_sa_free(&wsa);
    if (e != ERROR_SUCCESS) rc = colo__win_err(e, "cannot set the permissions of", ep->name);
  }
  if (fh != INVALID_HANDLE_VALUE) CloseHandle(fh);
  if (!rc && listen(s, SOMAXCONN) != 0) rc = wsa_err("cannot listen on", ep->name);
  if (!rc && !(l->file = colo__malloc((wcslen(wpath) + 1) * sizeof(wchar_t)))) rc = colo__err_nomem();
  if (rc) {
    closesocket(s);
    DeleteFileW(wpath);
    return rc;
  }
  wcscpy(l->file, wpath);
  l->file_vol = fi.dwVolumeSerialNumber, l->file_hi = fi.nFileIndexHigh, l->file_lo = fi.nFileIndexLow;
  l->s = s;
  return 0;
}

int colo__os_listen(colo__os_lsock_t **out, const colo__endpoint_t *ep, uint32_t perm, colo__endpoint_t *actual) {
  *out = NULL;
  *actual = *ep;
  colo__os_lsock_t *l = colo__calloc(1, sizeof *l);
  if (!l) return colo__err_nomem();
  l->kind = ep->kind;
  l->s = INVALID_SOCKET;
  l->sev = WSA_INVALID_EVENT;
  l->inst = INVALID_HANDLE_VALUE;
  int rc;
  if (ep->kind == COLO__EP_PIPE) {
    rc = colo__win_pipe_listen(l, ep, perm);
  } else if ((rc = wsa_ready()) == 0) {
    rc = ep->kind == COLO__EP_UNIX ? listen_unix(l, ep, perm) : listen_tcp(l, ep, actual);
    if (!rc) {
      l->sev = WSACreateEvent();
      if (l->sev == WSA_INVALID_EVENT || WSAEventSelect(l->s, l->sev, FD_ACCEPT) != 0)
        rc = wsa_err("cannot watch", l->desc);
    }
  }
  if (rc) {
    colo__os_listen_close(l);
    return rc;
  }
  *out = l;
  return 0;
}

int colo__os_accept(colo__os_lsock_t *l, colo__os_conn_t **out, uint64_t timeout_ns) {
  *out = NULL;
  if (l->kind == COLO__EP_PIPE) return colo__win_pipe_accept(l, out, timeout_ns);
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  for (;;) {
    SOCKET a = accept(l->s, NULL, NULL);
    if (a != INVALID_SOCKET) {
      SetHandleInformation((HANDLE)a, HANDLE_FLAG_INHERIT, 0);
      if (l->kind == COLO__EP_TCP) set_nodelay(a);
      *out = sock_conn_new(a, l->kind == COLO__EP_UNIX, "the client");
      return *out ? 0 : colo__err_nomem();
    }
    int e = WSAGetLastError();
    if (e == WSAECONNRESET || e == WSAEINTR) continue; /* that client gave up: the next one */
    if (e != WSAEWOULDBLOCK) return colo__win_err((DWORD)e, "accept on", l->desc);
    if (timeout_ns == 0) return COLO_EAGAIN;
    uint64_t now = colo__os_now_ns();
    if (now >= deadline) return COLO_ETIMEDOUT;
    WSAPOLLFD p = {l->s, POLLRDNORM, 0};
    DWORD ms = colo__win_ms(deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
    WSAPoll(&p, 1, ms == INFINITE ? -1 : ms > INT32_MAX ? INT32_MAX : (INT)ms);
  }
}

void colo__os_listen_close(colo__os_lsock_t *l) {
  if (!l) return;
  if (l->kind == COLO__EP_PIPE) {
    colo__win_pipe_listen_close(l);
    colo__free(l);
    return;
  }
  if (l->s != INVALID_SOCKET) closesocket(l->s);
  if (l->sev != WSA_INVALID_EVENT) WSACloseEvent(l->sev);
  if (l->file) {
    /* The socket file, if the path still names the one we made: deleted
     * through a handle that was checked to be it. */
    HANDLE h = INVALID_HANDLE_VALUE;
    BY_HANDLE_FILE_INFORMATION fi;
    if (file_id(l->file, DELETE, &h, &fi) == 0) {
      if (fi.dwVolumeSerialNumber == l->file_vol && fi.nFileIndexHigh == l->file_hi && fi.nFileIndexLow == l->file_lo) {
        FILE_DISPOSITION_INFO del = {TRUE};
        SetFileInformationByHandle(h, FileDispositionInfo, &del, sizeof del);
      }
      CloseHandle(h);
    }
    colo__free(l->file);
  }
  colo__free(l);
}

/* ---- connecting ----------------------------------------------------------------------------- */

/* Non-blocking connect of s to sa, finished by deadline. */
static int connect_wait(SOCKET s, const struct sockaddr *sa, int len, uint64_t deadline, const char *name) {
  u_long nb = 1;
  if (ioctlsocket(s, FIONBIO, &nb) != 0) return wsa_err("cannot make a socket non-blocking for", name);
  if (connect(s, sa, len) == 0) return 0;
  int e = WSAGetLastError();
  if (e != WSAEWOULDBLOCK && e != WSAEINPROGRESS) return colo__win_err((DWORD)e, "cannot connect to", name);
  for (;;) {
    uint64_t now = colo__os_now_ns();
    uint64_t left = deadline == UINT64_MAX ? UINT64_MAX : now >= deadline ? 0 : deadline - now;
    fd_set w, x;
    FD_ZERO(&w);
    FD_ZERO(&x);
    FD_SET(s, &w);
    FD_SET(s, &x);
    /* select() says a failed connect in the exception set. */
    struct timeval tv, *tvp = NULL;
    if (left != UINT64_MAX) {
      uint64_t us = (left + 999u) / 1000u;
      if (us > 3600000000ull) us = 3600000000ull;
      tv.tv_sec = (long)(us / 1000000u), tv.tv_usec = (long)(us % 1000000u);
      tvp = &tv;
    }
    int r = select(0, NULL, &w, &x, tvp);
    if (r < 0) return wsa_err("cannot wait for the connection to", name);
    if (r > 0) {
      int err = 0, el = sizeof err;
      if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &el) != 0) err = WSAGetLastError();
      if (!err && FD_ISSET(s, &x)) err = WSAECONNREFUSED;
      return err ? colo__win_err((DWORD)err, "cannot connect to", name) : 0;
    }
    if (colo__os_now_ns() >= deadline) return colo__err(COLO_ETIMEDOUT, "connecting to %s timed out", name);
  }
}

static int connect_unix(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t deadline,
                        const colo__os_peers_t *peers) {
  struct sockaddr_un sa;
  wchar_t wpath[COLO__PATH_MAX + 1];
  int rc = unix_addr(ep->name, &sa, wpath, sizeof wpath / sizeof wpath[0]);
  if (rc) return rc;
  SOCKET s = sock_new(AF_UNIX, 0);
  if (s == INVALID_SOCKET) return no_af_unix(WSAGetLastError()) ? unix_missing() : wsa_err("cannot create a socket for", ep->name);
  if ((rc = connect_wait(s, (struct sockaddr *)&sa, sizeof sa, deadline, ep->name)) != 0) {
    closesocket(s);
    return rc;
  }
  char desc[COLO__PATH_MAX + 16];
  snprintf(desc, sizeof desc, "unix://%s", ep->name);
  if (!(*out = sock_conn_new(s, 1, desc))) return colo__err_nomem();
  /* Who listens there, before a byte goes to it. */
  char what[COLO__PATH_MAX + 32];
  snprintf(what, sizeof what, "the process listening on %s", ep->name);
  if ((rc = colo__os_conn_check_peer(*out, peers, what)) != 0) {
    colo__os_conn_close(*out);
    *out = NULL;
  }
  return rc;
}

int colo__os_connect(colo__os_conn_t **out, const colo__endpoint_t *ep, uint64_t timeout_ns,
                     const colo__os_peers_t *peers) {
  *out = NULL;
  if (ep->kind == COLO__EP_PIPE) return colo__win_pipe_connect(out, ep, timeout_ns, peers);
  int rc = wsa_ready();
  if (rc) return rc;
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  if (ep->kind == COLO__EP_UNIX) return connect_unix(out, ep, deadline, peers);
  ADDRINFOW *res;
  if ((rc = resolve(ep, 0, &res)) != 0) return rc;
  char name[300];
  snprintf(name, sizeof name, "%.255s port %u", ep->name, (unsigned)ep->port);
  rc = COLO_ENOENT;
  for (ADDRINFOW *a = res; a; a = a->ai_next) {
    SOCKET s = sock_new(a->ai_family, a->ai_protocol);
    if (s == INVALID_SOCKET) {
      rc = wsa_err("cannot create a socket for", name);
      continue;
    }
    rc = connect_wait(s, a->ai_addr, (int)a->ai_addrlen, deadline, name);
    if (rc == 0) {
      set_nodelay(s);
      FreeAddrInfoW(res);
      char desc[320];
      snprintf(desc, sizeof desc, "tcp://%s", name);
      *out = sock_conn_new(s, 0, desc);
      return *out ? 0 : colo__err_nomem();
    }
    closesocket(s);
  }
  FreeAddrInfoW(res);
  return rc;
}

/* ---- data ----------------------------------------------------------------------------------- */

static int clamp_int(size_t n) { return n > INT32_MAX ? INT32_MAX : (int)n; }

int colo__os_conn_read(colo__os_conn_t *c, void *buf, size_t n, size_t *got) {
  if (c->is_pipe) return colo__win_pipe_read(c, buf, n, got);
  /* Reset before recv: data or an end that comes after it sets the event
   * again (recv re-enables FD_READ), so the event never misses one. */
  ResetEvent(c->sev);
  int r = recv(c->s, buf, clamp_int(n), 0);
  if (r > 0) {
    *got = (size_t)r;
    return 0;
  }
  int e = r == 0 ? 0 : WSAGetLastError();
  if (e == WSAEWOULDBLOCK) return COLO_EAGAIN;
  if (r == 0) {
    /* An end that was a reset (Wine reports some as an orderly end, with
     * the reset left in SO_ERROR). */
    int soerr = 0, len = sizeof soerr;
    if (getsockopt(c->s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &len) == 0 && soerr != 0) e = soerr, r = -1;
  }
  SetEvent(c->sev); /* the end stays readable: the next read says it again */
  if (r == 0) return COLO_ECLOSED;
  return colo__win_err((DWORD)e, "receive from", c->desc);
}

int colo__os_conn_write(colo__os_conn_t *c, const void *buf, size_t n, size_t *put) {
  if (c->is_pipe) return colo__win_pipe_write(c, buf, n, put);
  int r = send(c->s, buf, clamp_int(n), 0);
  if (r >= 0) {
    *put = (size_t)r;
    return 0;
  }
  int e = WSAGetLastError();
  if (e == WSAEWOULDBLOCK) return COLO_EAGAIN;
  return colo__win_err((DWORD)e, "send to", c->desc);
}

int colo__os_conn_poll(colo__os_conn_t *c, int want, uint64_t timeout_ns) {
  colo__os_pollitem_t it = {c, NULL, want, 0};
  colo__os_poll_many(&it, 1, timeout_ns);
  return it.ready;
}

/* ---- waiting on many ------------------------------------------------------------------------- */

static int item_is_pipe(const colo__os_pollitem_t *it) {
  return it->lsock ? it->lsock->kind == COLO__EP_PIPE : it->conn->is_pipe;
}

/* Sockets only: WSAPoll. */
static int poll_sockets(colo__os_pollitem_t *items, size_t n, uint64_t timeout_ns) {
  WSAPOLLFD stack[32], *p = n <= 32 ? stack : colo__malloc(n * sizeof *p);
  if (!p) {
    colo__os_sleep_ns(timeout_ns < 1000000u ? timeout_ns : 1000000u);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    colo__os_pollitem_t *it = &items[i];
    p[i].fd = it->lsock ? it->lsock->s : it->conn->s;
    p[i].events = (SHORT)(it->lsock ? POLLRDNORM
                                    : ((it->want & COLO__POLL_IN ? POLLRDNORM : 0) |
                                       (it->want & COLO__POLL_OUT ? POLLWRNORM : 0)));
    p[i].revents = 0;
  }
  DWORD ms = colo__win_ms(timeout_ns);
  int r = WSAPoll(p, (ULONG)n, ms == INFINITE ? -1 : ms > INT32_MAX ? INT32_MAX : (INT)ms), count = 0;
  for (size_t i = 0; i < n; i++) {
    colo__os_pollitem_t *it = &items[i];
    SHORT rv = r < 0 ? (SHORT)POLLERR : p[i].revents; /* a failed wait: every item is worth a try */
    if (it->lsock) {
      if (rv) it->ready = COLO__POLL_IN;
    } else {
      if (rv & (POLLRDNORM | POLLHUP | POLLERR | POLLNVAL)) it->ready |= COLO__POLL_IN;
      if (rv & (POLLWRNORM | POLLHUP | POLLERR | POLLNVAL)) it->ready |= COLO__POLL_OUT;
      it->ready &= it->want;
    }
    count += it->ready != 0;
  }
  if (p != stack) colo__free(p);
  return count;
}

int colo__os_poll_many(colo__os_pollitem_t *items, size_t n, uint64_t timeout_ns) {
  int pipes = 0;
  for (size_t i = 0; i < n; i++) {
    items[i].ready = 0;
    pipes |= item_is_pipe(&items[i]);
  }
  if (!pipes) return poll_sockets(items, n, timeout_ns);
  uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : colo__os_now_ns() + timeout_ns;
  for (;;) {
    HANDLE evs[MAXIMUM_WAIT_OBJECTS];
    int nev = 0, slice = 0, count = 0;
    uint64_t retry_ns = 0; /* a full pipe's next look */
    for (size_t i = 0; i < n; i++) {
      colo__os_pollitem_t *it = &items[i];
      HANDLE got[2];
      int ngot = 0;
      if (it->lsock && it->lsock->kind == COLO__EP_PIPE) {
        if (colo__win_pipe_lready(it->lsock, &got[0])) it->ready = COLO__POLL_IN;
        else if (got[0]) ngot = 1;
      } else if (it->lsock) {
        ResetEvent(it->lsock->sev); /* then the level: nothing after it is missed */
        if (sock_level(it->lsock->s, COLO__POLL_IN, 1)) it->ready = COLO__POLL_IN;
        else got[ngot++] = it->lsock->sev;
      } else if (it->conn->is_pipe) {
        it->ready = colo__win_pipe_ready(it->conn, it->want, got, &ngot, &retry_ns);
      } else {
        if (it->want & COLO__POLL_IN) ResetEvent(it->conn->sev);
        it->ready = sock_level(it->conn->s, it->want, 0);
        if (!it->ready && (it->want & COLO__POLL_IN)) got[ngot++] = it->conn->sev;
        if (!it->ready && (it->want & COLO__POLL_OUT)) slice = 1;
      }
      count += it->ready != 0;
      for (int k = 0; k < ngot; k++) {
        if (nev < MAXIMUM_WAIT_OBJECTS) evs[nev++] = got[k];
        else slice = 1; /* more than one wait can watch: the rest are re-checked each slice */
      }
    }
    if (count) return count;
    uint64_t now = colo__os_now_ns();
    if (now >= deadline) return 0;
    DWORD ms = colo__win_ms(deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
    if (slice && ms > SLICE_MS) ms = SLICE_MS;
    if (retry_ns && ms > colo__win_ms(retry_ns)) ms = colo__win_ms(retry_ns);
    if (nev == 0) Sleep(ms);
    else WaitForMultipleObjects((DWORD)nev, evs, FALSE, ms);
  }
}

/* ---- the rest of the contract --------------------------------------------------------------- */

int colo__os_conn_write_seg(colo__os_conn_t *c, const void *buf, size_t n, size_t *put, colo__os_seg_t *seg) {
  (void)c, (void)buf, (void)n, (void)seg;
  *put = 0;
  return colo__err(COLO_ENOTSUP, "passing a segment over a stream is not supported on Windows yet");
}

int colo__os_conn_read_seg(colo__os_conn_t *c, void *buf, size_t n, size_t *got, colo__os_seg_t **seg,
                           int *seg_err) {
  *seg = NULL;
  *seg_err = 0;
  return colo__os_conn_read(c, buf, n, got);
}

int colo__os_conn_can_pass_seg(const colo__os_conn_t *c) {
  (void)c;
  return 0;
}

/* The user at the other end: a pipe's (os_pipe.c), a unix socket's (its
 * process, SIO_AF_UNIX_GETPEERPID). */
static int peer_sid(colo__os_conn_t *c, unsigned char sid[SECURITY_MAX_SID_SIZE]) {
  if (c->is_pipe) return colo__win_pipe_peer_sid(c, sid);
  if (c->has_peer_sid) {
    memcpy(sid, c->peer_sid, SECURITY_MAX_SID_SIZE);
    return 0;
  }
  ULONG pid = 0;
  DWORD ret = 0;
  if (WSAIoctl(c->s, SIO_AF_UNIX_GETPEERPID, NULL, 0, &pid, sizeof pid, &ret, NULL, NULL) != 0)
    return wsa_err("cannot tell who is at the other end of", c->desc);
  int rc = colo__win_pid_sid(pid, c->peer_sid, c->desc);
  if (rc) return rc;
  c->has_peer_sid = 1;
  memcpy(sid, c->peer_sid, SECURITY_MAX_SID_SIZE);
  return 0;
}

int colo__os_conn_check_peer(colo__os_conn_t *c, const colo__os_peers_t *p, const char *relation) {
  if (!c->is_pipe && !c->is_unix) return 0; /* tcp: nothing to go by */
  if (p->anyone) return 0;
  unsigned char sid[SECURITY_MAX_SID_SIZE];
  int rc = peer_sid(c, sid);
  if (rc) return rc;
  return colo__win_check_sid(p, (PSID)sid, relation, "runs as");
}

int colo__os_conn_peer_is_self_or_root(colo__os_conn_t *c) {
  unsigned char sid[SECURITY_MAX_SID_SIZE];
  if ((!c->is_pipe && !c->is_unix) || peer_sid(c, sid) != 0) return 0; /* tcp cannot tell */
  return colo__win_sid_is_self_or_admin((PSID)sid);
}

void colo__os_conn_settle(colo__os_conn_t *c) { (void)c; /* nothing is held for connecting only */ }

int colo__os_conn_handle(const colo__os_conn_t *c, colo_os_handle_t *out) {
  *out = c->is_pipe ? (colo_os_handle_t)c->rov.hEvent : (colo_os_handle_t)c->sev;
  return 0;
}

void colo__os_conn_close(colo__os_conn_t *c) {
  if (!c) return;
  if (c->is_pipe) {
    colo__win_pipe_close(c);
  } else {
    closesocket(c->s);
    WSACloseEvent(c->sev);
  }
  colo__free(c);
}
