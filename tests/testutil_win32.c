/*
 * testutil_win32.c - testutil.h's OS services on Windows: CreateProcessW with
 * stdout on an anonymous pipe, CreateThread, wide-character file calls,
 * CreateFileMapping, LockFileEx. What Windows has no counterpart for (fork,
 * FIFOs, chown, umask, becoming another user, the posix shim's syscall
 * table, sh scripts) returns -1 or NULL as testutil.h documents, and the
 * tests skip with the reason.
 *
 * Names and paths are UTF-8 on the tests' side and UTF-16 on the system's.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <winioctl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#ifdef COLO_TEST_SHIM_WIN32
#  include "../shims/win32/win32.h"
#endif

/* Where a presence slot's byte lies in a segment file's lock space.
 * PLACEHOLDER until the win32 segment shim publishes its convention (asked
 * of its owner): LockFileEx locks any 64-bit offset, so the slots can sit far
 * past the file's end, where no read or write of the data ever falls. */
#define TU_WIN_PRESENCE_OFFSET 0x7FFFFFFFFFFFFF00ull /* shims/win32/win32.h: COLO__WIN_PRESENCE_OFFSET */

#ifndef SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE
#define SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE 0x2
#endif

/* ---- UTF-8 <-> UTF-16 ----------------------------------------------------------------- */

/* A malloc'd UTF-16 copy of s, or NULL. */
static wchar_t *wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  if (n <= 0) return NULL;
  wchar_t *w = malloc((size_t)n * sizeof *w);
  if (w && MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) != n) free(w), w = NULL;
  return w;
}

/* A path as the tests give it, in URL form ("/C:/dir/f", what follows
 * file://, as the shim takes it) or plain ("C:/dir/f", "NUL"), as a
 * malloc'd UTF-16 Windows path with backslashes; NULL when it is not UTF-8. */
static wchar_t *wpath(const char *p) {
  if (p[0] == '/' && ((p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z')) && p[2] == ':') p++;
  wchar_t *w = wide(p);
  for (wchar_t *c = w; c && *c; c++)
    if (*c == L'/') *c = L'\\';
  return w;
}

/* w as UTF-8 into buf; 0 or -1 when it does not fit. */
static int narrow(const wchar_t *w, char *buf, size_t cap) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int)cap, NULL, NULL);
  return n > 0 ? 0 : -1;
}

/* ---- time, identity, environment ------------------------------------------------------ */

/* QueryPerformanceCounter: GetTickCount64 moves in steps (under Wine, a
 * 50 ms Sleep measured 36 ms with it). */
uint64_t tu_now_ms(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER now;
  if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (uint64_t)(now.QuadPart / freq.QuadPart) * 1000u +
         (uint64_t)(now.QuadPart % freq.QuadPart) * 1000u / (uint64_t)freq.QuadPart;
}

int tu_pid(void) { return (int)GetCurrentProcessId(); }

int tu_is_wine(void) {
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  return nt && GetProcAddress(nt, "wine_get_version") != NULL;
}

/* msvcrt has no aligned_alloc. */
void *tu_aligned_alloc(size_t align, size_t size) { return _aligned_malloc(size, align); }

void tu_aligned_free(void *p) { _aligned_free(p); }

void tu_sleep_ms(int ms) { Sleep(ms > 0 ? (DWORD)ms : 0); }

/* The administrator: a token that is elevated (an administrator's token under
 * UAC filtering is not). */
int tu_is_root(void) {
  HANDLE tok;
  TOKEN_ELEVATION el = {0};
  DWORD len = 0;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) return 0;
  BOOL ok = GetTokenInformation(tok, TokenElevation, &el, sizeof el, &len);
  CloseHandle(tok);
  return ok && el.TokenIsElevated;
}

/* The token's user name; Windows users have SIDs, not numbers, so the id is
 * 0. */
/* "DOMAIN\\name", as the shim names an owner. */
int tu_self_user(uint64_t *id, char *name, size_t cap) {
  *id = 0;
  HANDLE tok;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) return -1;
  union {
    TOKEN_USER tu;
    unsigned char buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } u;
  DWORD got = 0;
  int ok = GetTokenInformation(tok, TokenUser, &u, sizeof u, &got);
  CloseHandle(tok);
  if (!ok) return -1;
  char user[256], domain[256];
  DWORD ulen = sizeof user, dlen = sizeof domain;
  SID_NAME_USE use;
  if (!LookupAccountSidA(NULL, u.tu.User.Sid, user, &ulen, domain, &dlen, &use)) return -1;
  int n = domain[0] ? snprintf(name, cap, "%s\\%s", domain, user) : snprintf(name, cap, "%s", user);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

const char *tu_other_user(uint64_t *id) {
  *id = 0;
  return "S-1-5-7";
}

/* ---- names ---------------------------------------------------------------------------- */

/* Sections have no file behind them. */
const char *tu_shm_path_of(const char *name, char *buf, size_t cap) {
  (void)name;
  if (cap) buf[0] = '\0';
  return NULL;
}

/* Sections live in the paging file: no filesystem size to report. */
uint64_t tu_shm_fs_bytes(void) { return 0; }

/* "/C:/Users/me/AppData/Local/Temp/colo-t.PID.N.tag": the URL form the shim
 * takes for COLO__EP_FILE (what follows file://), with forward slashes, so
 * that a test appends "/sub" and makes file://PATH of it as on POSIX; the
 * tu_ file functions take it too. */
const char *tu_tmp_path(char *buf, size_t cap, const char *tag) {
  static unsigned n;
  wchar_t w[MAX_PATH + 1];
  char dir[3 * MAX_PATH + 1];
  DWORD len = GetTempPathW(MAX_PATH + 1, w);
  if (len == 0 || len > MAX_PATH || narrow(w, dir, sizeof dir) != 0) snprintf(dir, sizeof dir, "C:/Windows/Temp/");
  for (char *c = dir; *c; c++)
    if (*c == '\\') *c = '/';
  size_t dl = strlen(dir);
  if (dl && dir[dl - 1] == '/') dir[dl - 1] = '\0';
  /* Wine gives the same process ids run after run: a stamp of this process's
   * start keeps a leftover of an earlier run from meeting this one. */
  static unsigned long long stamp;
  if (!stamp) {
    LARGE_INTEGER li;
    QueryPerformanceCounter(&li);
    stamp = (unsigned long long)li.QuadPart & 0xffffffu;
  }
  snprintf(buf, cap, "/%s/colo-t.%d-%llx.%u.%s", dir, tu_pid(), stamp, n++, tag);
  return buf;
}

/* A pipe's NAME: \\.\pipe\colo.NAME, a flat namespace. */
const char *tu_pipe_name(char *buf, size_t cap, const char *tag) {
  static unsigned n;
  snprintf(buf, cap, "t.%d.p%u.%s", tu_pid(), n++, tag);
  return buf;
}

/* ---- threads -------------------------------------------------------------------------- */

typedef struct tu_win_thread {
  HANDLE h;
  void *(*fn)(void *);
  void *arg;
} tu_win_thread_t;

static DWORD WINAPI thread_main(LPVOID p) {
  tu_win_thread_t *t = p;
  t->fn(t->arg);
  return 0;
}

int tu_thread_start(tu_thread_t *t, void *(*fn)(void *), void *arg) {
  tu_win_thread_t *w = malloc(sizeof *w);
  t->impl = NULL;
  if (!w) return -1;
  w->fn = fn, w->arg = arg;
  w->h = CreateThread(NULL, 0, thread_main, w, 0, NULL);
  if (!w->h) {
    free(w);
    return -1;
  }
  t->impl = w;
  return 0;
}

void tu_thread_join(tu_thread_t *t) {
  tu_win_thread_t *w = t->impl;
  if (!w) return;
  WaitForSingleObject(w->h, INFINITE);
  CloseHandle(w->h);
  free(w);
  t->impl = NULL;
}

/* ---- processes ------------------------------------------------------------------------ */

/* Appends arg to the command line at *at, quoted as CommandLineToArgvW and
 * the C runtime's argv parser read it back. 0, or -1 when it does not fit. */
static int append_arg(char *cmd, size_t cap, size_t *at, const char *arg) {
  size_t n = *at;
#define PUT(ch)                   \
  do {                            \
    if (n + 1 >= cap) return -1;  \
    cmd[n++] = (ch);              \
  } while (0)
  if (n) PUT(' ');
  PUT('"');
  for (const char *p = arg;; p++) {
    size_t bs = 0;
    while (*p == '\\') p++, bs++;
    if (!*p) {
      for (size_t k = 0; k < 2 * bs; k++) PUT('\\'); /* before the closing quote */
      break;
    }
    if (*p == '"') {
      for (size_t k = 0; k < 2 * bs + 1; k++) PUT('\\');
    } else {
      for (size_t k = 0; k < bs; k++) PUT('\\');
    }
    PUT(*p);
  }
  PUT('"');
#undef PUT
  cmd[n] = '\0';
  *at = n;
  return 0;
}

/* An inheritable duplicate of h, or of NUL when h is missing. */
static HANDLE inheritable(HANDLE h, DWORD access) {
  HANDLE d = NULL;
  if (h && h != INVALID_HANDLE_VALUE &&
      DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, TRUE, DUPLICATE_SAME_ACCESS))
    return d;
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  d = CreateFileW(L"NUL", access, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
  return d == INVALID_HANDLE_VALUE ? NULL : d;
}

/* Starts exe with argv[0..] (argv[0] is the program's own name) and its
 * stdout on a pipe; its stdin is NUL, its stderr ours. */
static int spawn(tu_proc_t *p, const char *exe, const char *const *argv) {
  char cmd[8192];
  size_t at = 0;
  cmd[0] = '\0';
  for (int i = 0; argv[i]; i++)
    if (append_arg(cmd, sizeof cmd, &at, argv[i]) != 0) return -1;
  wchar_t *wexe = wide(exe), *wcmd = wide(cmd);
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd = NULL, wr = NULL, in = NULL, err = NULL;
  int rc = -1;
  if (!wexe || !wcmd || !CreatePipe(&rd, &wr, &sa, 0)) goto done;
  SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0); /* the child gets only the write end */
  in = inheritable(NULL, GENERIC_READ);
  err = inheritable(GetStdHandle(STD_ERROR_HANDLE), GENERIC_WRITE);
  STARTUPINFOW si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = in, si.hStdOutput = wr, si.hStdError = err;
  PROCESS_INFORMATION pi;
  if (!CreateProcessW(wexe, wcmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) goto done;
  CloseHandle(pi.hThread);
  p->pid = (int)pi.dwProcessId;
  p->out_fd = -1;
  p->os_proc = pi.hProcess;
  p->os_out = rd;
  rd = NULL;
  rc = 0;
done:
  if (rd) CloseHandle(rd);
  if (wr) CloseHandle(wr);
  if (in) CloseHandle(in);
  if (err) CloseHandle(err);
  free(wexe), free(wcmd);
  return rc;
}

int tu_spawn_helper(tu_proc_t *p, const char *const *args) {
  const char *argv[32];
  int n = 0;
  argv[n++] = COLO_TEST_HELPER;
  while (args[n - 1] && n < 31) argv[n] = args[n - 1], n++;
  argv[n] = NULL;
  return spawn(p, COLO_TEST_HELPER, argv);
}

/* The scripts are sh; cmd /c would not run them. */
int tu_spawn_sh(tu_proc_t *p, const char *script) {
  (void)p, (void)script;
  return -1;
}

int tu_sh(const char *script, char *out, size_t outcap, char *err, size_t errcap, int timeout_ms) {
  (void)script, (void)timeout_ms;
  if (out && outcap) out[0] = '\0';
  if (err && errcap) err[0] = '\0';
  return -1;
}

/* An anonymous pipe has no timed read: PeekNamedPipe says what is there (and
 * fails with ERROR_BROKEN_PIPE once the writer is gone), polled every
 * millisecond. */
int tu_read_line(tu_proc_t *p, char *buf, size_t cap, int timeout_ms) {
  size_t len = 0;
  uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
  if (!p->os_out) return -1;
  while (len + 1 < cap) {
    DWORD avail = 0;
    if (!PeekNamedPipe(p->os_out, NULL, 0, NULL, &avail, NULL)) return -1;
    if (avail == 0) {
      if (tu_now_ms() >= end) return -1;
      Sleep(1);
      continue;
    }
    char c;
    DWORD got = 0;
    if (!ReadFile(p->os_out, &c, 1, &got, NULL) || got != 1) return -1;
    if (c == '\n') break;
    if (c != '\r') buf[len++] = c; /* the child's C runtime may write CRLF */
  }
  buf[len] = '\0';
  return 0;
}

static void proc_close(tu_proc_t *p) {
  if (p->os_out) CloseHandle(p->os_out), p->os_out = NULL;
  if (p->os_proc) CloseHandle(p->os_proc), p->os_proc = NULL;
}

int tu_wait(tu_proc_t *p, int timeout_ms) {
  if (!p->os_proc) return -1;
  DWORD r = WaitForSingleObject(p->os_proc, timeout_ms < 0 ? 0 : (DWORD)timeout_ms);
  if (r != WAIT_OBJECT_0) {
    TerminateProcess(p->os_proc, TU_KILLED);
    WaitForSingleObject(p->os_proc, INFINITE);
    proc_close(p);
    return -1;
  }
  DWORD code = 0;
  int rc = GetExitCodeProcess(p->os_proc, &code) ? (int)code : -1;
  proc_close(p);
  return rc;
}

/* TerminateProcess with 128 + SIGKILL, so that tu_wait answers TU_KILLED as
 * it does on POSIX. */
int tu_kill(tu_proc_t *p) { return p->os_proc && TerminateProcess(p->os_proc, TU_KILLED) ? 0 : -1; }

int tu_kill_pid(int pid) {
  HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
  if (!h) return -1;
  BOOL ok = TerminateProcess(h, TU_KILLED);
  CloseHandle(h);
  return ok ? 0 : -1;
}

_Noreturn void tu_kill_self(void) {
  TerminateProcess(GetCurrentProcess(), TU_KILLED);
  _Exit(TU_KILLED); /* not reached */
}

/* No fork. */
int tu_fork_call(tu_proc_t *p, int (*fn)(void *), void *arg) {
  (void)p, (void)fn, (void)arg;
  return -1;
}

void tu_child_say(const char *line) {
  printf("%s\n", line);
  fflush(stdout);
}

/* No /proc/self/fd to find a handle by what it refers to. */
int tu_reopen_fd_to(const char *what) {
  (void)what;
  return -1;
}

/* ---- files ---------------------------------------------------------------------------- */

int tu_mkdir(const char *path) {
  wchar_t *w = wpath(path);
  int rc = w && CreateDirectoryW(w, NULL) ? 0 : -1;
  free(w);
  return rc;
}

/* Needs the privilege to create links, or developer mode (the unprivileged
 * flag); -1 otherwise, and under Wine 8, which makes none. */
int tu_symlink(const char *target, const char *path) {
  wchar_t *wt = wpath(target), *wp = wpath(path);
  int rc = -1;
  if (wt && wp) {
    DWORD a = GetFileAttributesW(wt);
    DWORD flags = a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY) ? SYMBOLIC_LINK_FLAG_DIRECTORY : 0;
    if (CreateSymbolicLinkW(wp, wt, flags | SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE) ||
        CreateSymbolicLinkW(wp, wt, flags))
      rc = 0;
    /* Wine 8's CreateSymbolicLinkW is a stub that returns TRUE and makes
     * nothing: a link is there only if its reparse point is. */
    DWORD la = GetFileAttributesW(wp);
    if (rc == 0 && (la == INVALID_FILE_ATTRIBUTES || !(la & FILE_ATTRIBUTE_REPARSE_POINT))) rc = -1;
  }
  free(wt), free(wp);
  return rc;
}

int tu_mkfifo(const char *path) {
  (void)path;
  return -1;
}

int tu_write_file(const char *path, const void *data, size_t len) {
  wchar_t *w = wpath(path);
  HANDLE h = w ? CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                             CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL)
               : INVALID_HANDLE_VALUE;
  free(w);
  if (h == INVALID_HANDLE_VALUE) return -1;
  DWORD put = 0;
  BOOL ok = len ? WriteFile(h, data, (DWORD)len, &put, NULL) : TRUE;
  CloseHandle(h);
  return ok && put == (DWORD)len ? 0 : -1;
}

/* Sparse when growing, where the filesystem can (FSCTL_SET_SPARSE; NTFS). */
int tu_truncate(const char *path, uint64_t size) {
  wchar_t *w = wpath(path);
  HANDLE h = w ? CreateFileW(w, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL)
               : INVALID_HANDLE_VALUE;
  free(w);
  if (h == INVALID_HANDLE_VALUE) return -1;
  DWORD ret;
  DeviceIoControl(h, FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &ret, NULL); /* best effort */
  LARGE_INTEGER at;
  at.QuadPart = (LONGLONG)size;
  BOOL ok = SetFilePointerEx(h, at, NULL, FILE_BEGIN) && SetEndOfFile(h);
  CloseHandle(h);
  return ok ? 0 : -1;
}

/* Files have SIDs for owners, and giving one away needs SeRestorePrivilege:
 * not offered. */
int tu_chown(const char *path, uint32_t uid) {
  (void)path, (void)uid;
  return -1;
}

/* A link (a reparse point) is removed itself, never followed. */
static void remove_tree_w(const wchar_t *w) {
  DWORD a = GetFileAttributesW(w);
  if (a == INVALID_FILE_ATTRIBUTES) return;
  if (a & FILE_ATTRIBUTE_READONLY) SetFileAttributesW(w, a & ~(DWORD)FILE_ATTRIBUTE_READONLY);
  if (!(a & FILE_ATTRIBUTE_DIRECTORY)) {
    DeleteFileW(w);
    return;
  }
  if (!(a & FILE_ATTRIBUTE_REPARSE_POINT)) {
    size_t n = wcslen(w);
    wchar_t *pat = malloc((n + 3) * sizeof *pat);
    if (pat) {
      memcpy(pat, w, n * sizeof *pat);
      memcpy(pat + n, L"\\*", 3 * sizeof *pat);
      WIN32_FIND_DATAW fd;
      HANDLE f = FindFirstFileW(pat, &fd);
      while (f != INVALID_HANDLE_VALUE) {
        if (wcscmp(fd.cFileName, L".") && wcscmp(fd.cFileName, L"..")) {
          size_t m = wcslen(fd.cFileName);
          wchar_t *sub = malloc((n + m + 2) * sizeof *sub);
          if (sub) {
            memcpy(sub, w, n * sizeof *sub);
            sub[n] = L'\\';
            memcpy(sub + n + 1, fd.cFileName, (m + 1) * sizeof *sub);
            remove_tree_w(sub);
            free(sub);
          }
        }
        if (!FindNextFileW(f, &fd)) {
          FindClose(f);
          break;
        }
      }
      free(pat);
    }
  }
  RemoveDirectoryW(w);
}

void tu_remove_tree(const char *path) {
  wchar_t *w = wpath(path);
  if (!w) return;
  remove_tree_w(w);
  free(w);
}

/* No file-creation mask: a file's access is its security descriptor. */
int tu_umask(int mask) {
  (void)mask;
  return -1;
}

/* NUL is a device any user can open, in every directory: "/C:/NUL" is C:\NUL
 * in the URL form. */
const char *tu_device_path(void) { return "/C:/NUL"; }

/* Another user's token needs that user's password (LogonUser): not here. */
int tu_become_other_user(void) {
  errno = ENOSYS;
  return -1;
}

/* ---- mappings and locks --------------------------------------------------------------- */

void *tu_map_file(const char *path, size_t *len) {
  *len = 0;
  wchar_t *w = wpath(path);
  HANDLE f = w ? CreateFileW(w, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL)
               : INVALID_HANDLE_VALUE;
  free(w);
  if (f == INVALID_HANDLE_VALUE) return NULL;
  LARGE_INTEGER size;
  void *m = NULL;
  if (GetFileSizeEx(f, &size) && size.QuadPart > 0) {
    HANDLE map = CreateFileMappingW(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    if (map) {
      m = MapViewOfFile(map, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
      CloseHandle(map); /* the view keeps the mapping */
    }
  }
  CloseHandle(f);
  if (m) *len = (size_t)size.QuadPart;
  return m;
}

void tu_unmap(void *p, size_t len) {
  (void)len;
  if (p) UnmapViewOfFile(p);
}

/* The handles tu_read_lock gives out are indices here. */
static HANDLE read_locks[64];

int tu_read_lock(const char *path, int byte) {
  int slot = 0;
  while (slot < 64 && read_locks[slot]) slot++;
  if (slot == 64) return -1;
  wchar_t *w = wpath(path);
  HANDLE h = w ? CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                             OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL)
               : INVALID_HANDLE_VALUE;
  free(w);
  if (h == INVALID_HANDLE_VALUE) return -1;
  uint64_t at = TU_WIN_PRESENCE_OFFSET + (uint64_t)byte;
  OVERLAPPED ov;
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)at, ov.OffsetHigh = (DWORD)(at >> 32);
  if (!LockFileEx(h, LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) { /* shared: no EXCLUSIVE flag */
    CloseHandle(h);
    return -1;
  }
  read_locks[slot] = h;
  return slot;
}

void tu_read_unlock(int handle) {
  if (handle < 0 || handle >= 64 || !read_locks[handle]) return;
  CloseHandle(read_locks[handle]); /* releases its locks */
  read_locks[handle] = NULL;
}

#ifdef COLO_TEST_SHIM_WIN32
static HANDLE WINAPI over_commit(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD protect, DWORD hi, DWORD lo,
                                 LPCWSTR name) {
  (void)file, (void)sa, (void)protect, (void)hi, (void)lo, (void)name;
  SetLastError(ERROR_COMMITMENT_LIMIT);
  return NULL;
}

static HANDLE WINAPI no_event(DWORD access, BOOL inherit, LPCWSTR name) {
  (void)access, (void)inherit, (void)name;
  SetLastError(ERROR_FILE_NOT_FOUND);
  return NULL;
}

/* Segments are not passed on Windows yet: nothing to refuse. */
int tu_fault(tu_fault_t f, int on) {
  switch (f) {
  case TU_FAIL_COMMIT: colo__win_sys.create_mapping = on ? over_commit : CreateFileMappingW; return 0;
  case TU_HIDE_WAIT_EVENTS: colo__win_sys.open_event = on ? no_event : OpenEventW; return 0;
  default: return -1;
  }
}
#else
int tu_fault(tu_fault_t f, int on) {
  (void)f, (void)on;
  return -1;
}
#endif
