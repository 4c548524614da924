/*
 * win32.h - private to shims/win32: what the Windows files of the shim
 * share. Error translation at the OS edge, UTF-8 <-> UTF-16 names, the
 * security descriptors colo gives every object it creates, and users (SIDs).
 *
 * Windows objects are named in UTF-16; colo's endpoints are UTF-8. Every
 * conversion is checked: a name that does not fit is COLO_EINVAL, never cut.
 */
#ifndef COLO_SHIMS_WIN32_H
#define COLO_SHIMS_WIN32_H

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#  define _WIN32_WINNT 0x0A00 /* Windows 10: AF_UNIX (1803), SetFileInformationByHandle */
#endif
#include <winsock2.h>
#include <windows.h>

#include "../shim.h"

/* ---- what a test build may make fail (SQLite's aSyscall[] idea) -------------------- */

typedef struct colo__win_sys {
  /* CreateFileMappingW of a section (shm://, anonymous): tests return NULL
   * with ERROR_COMMITMENT_LIMIT, as an exhausted pagefile does, which Wine
   * (whose commit limit is the host's memory) cannot be made to do. */
  HANDLE(WINAPI *create_mapping)(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD protect, DWORD size_hi, DWORD size_lo,
                                 LPCWSTR name);
  /* OpenEventW of a segment's wait events by an opener: tests fail it with
   * ERROR_FILE_NOT_FOUND, as a creator in another object namespace (another
   * process-isolated container) makes it, to force the polling fallback. */
  HANDLE(WINAPI *open_event)(DWORD access, BOOL inherit, LPCWSTR name);
} colo__win_sys_t;

extern colo__win_sys_t colo__win_sys;

/* ---- errors (os_err.c) ------------------------------------------------------------- */

/* A Win32 error (GetLastError(), or a WSA error) as a COLO_E* code. */
int colo__win_code(DWORD e);
/* Translates e, records "what obj: <the system's message> (error e)" as the
 * detail ("what: ..." when obj is NULL) and returns the code. */
int colo__win_err(DWORD e, const char *what, const char *obj);
/* The same for GetLastError(). */
int colo__win_last(const char *what, const char *obj);

/* ---- names ------------------------------------------------------------------------ */

/* UTF-8 -> UTF-16 into out (cap wide characters, NUL included). COLO_EINVAL
 * (recorded, naming `what`) when s is not valid UTF-8 or does not fit. */
int colo__win_wide(const char *s, wchar_t *out, size_t cap, const char *what);
/* UTF-16 -> UTF-8; the same rules. */
int colo__win_utf8(const wchar_t *s, char *out, size_t cap, const char *what);

/* A path endpoint's part after "scheme://" ("/C:/dir/seg", checked by
 * colo__os_path_check) as the Windows path "C:\\dir\\seg"; COLO_EINVAL when it
 * does not fit. */
int colo__win_path(const char *url_path, wchar_t *out, size_t cap);

/* 1 when the last part of path is a name Windows gives a device in every
 * directory (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also with an extension). */
int colo__win_reserved_leaf(const char *path);

/* ---- security (os_peer.c) ---------------------------------------------------------- */

/*
 * The security attributes colo gives an object it creates: an explicit DACL
 * (never a NULL DACL, which would let anyone in), owner = this user.
 *  - perm & 0077 == 0: full access for this user only (mode 0600's
 *    counterpart);
 *  - perm with group or other bits: full access for this user, read/write
 *    for every authenticated user as well (Windows has no group of the
 *    file's own; docs/windows.md says so).
 * SYSTEM and Administrators get nothing they do not already have by
 * privilege. Inheritance is off (bInheritHandle FALSE).
 */
typedef struct colo__win_sa {
  SECURITY_ATTRIBUTES sa;
  PSECURITY_DESCRIPTOR sd; /* LocalFree'd by colo__win_sa_free */
} colo__win_sa_t;
int colo__win_sa_make(colo__win_sa_t *out, uint32_t perm);
void colo__win_sa_free(colo__win_sa_t *sa);

/* This process's user (its token's), a static copy; NULL when unknown. */
PSID colo__win_self_sid(void);
/* 1 for the Administrators group or LocalSystem (the POSIX policy's root). */
int colo__win_sid_is_admin(PSID sid);
/* 1 for this process's own user or an administrator. */
int colo__win_sid_is_self_or_admin(PSID sid);
/* "DOMAIN\name", or the SID in S-1-... form when it has no name. */
void colo__win_sid_desc(PSID sid, char *buf, size_t cap);
/* 0 when an object or peer of user `sid` is one the policy accepts (this
 * user, an administrator or SYSTEM, the one extra user, anyone), else
 * COLO_EPERM with "what <relation> USER; ..." as the detail. */
int colo__win_check_sid(const colo__os_peers_t *p, PSID sid, const char *what, const char *relation);
/* The owner of a kernel object or file handle: 0 and *sid (LocalFree(*sd)
 * when done), or a COLO_E* code. */
int colo__win_owner(HANDLE h, int is_file, PSID *sid, PSECURITY_DESCRIPTOR *sd);

/* ---- segments (os_seg.c, os_wait.c) ---------------------------------------------- */

#define COLO__WIN_WAITS 5 /* wait words per segment (runtime/segment.h: claim, 2 per ring) */

/* Presence slot `slot` is a LockFileEx byte range far beyond any end of
 * file, so that it never covers bytes anyone reads or writes (Windows locks
 * are mandatory for ReadFile/WriteFile). */
#define COLO__WIN_PRESENCE_OFFSET 0x7FFFFFFFFFFFFF00ull

struct colo__os_seg {
  colo__ep_kind_t kind;   /* 0: anonymous */
  HANDLE file;            /* file://: the file; else INVALID_HANDLE_VALUE */
  HANDLE lockf;           /* the handle presence locks are taken on: the file itself
                             (file://), the section's lock file (shm://); or NULL */
  HANDLE map;             /* the section */
  void *base;             /* the view (also for a read-only open of a section) */
  uint64_t size;
  int writable, mapped;   /* opened with COLO__SEG_MAP */
  int held[2];
  _Atomic int lost;       /* a section cannot shrink under a view; a guarded file can (os_held.c) */
  int guard;              /* COLO__SEG_GUARD was asked (file:// only) */
  int guard_idx;          /* the view's guard slot, or -1 */
  int global;             /* Global\ namespace */
  uint32_t perm;          /* the creator's, for the events it makes */
  int creator;
  int unlink_at_close;    /* colo__os_seg_unlink while mapped */
  HANDLE volatile ev[COLO__WIN_WAITS]; /* named after the nonce (colo__os_seg_name_waits), or unnamed */
  int named;              /* colo__os_seg_name_waits ran: ev[] are the named events */
  char ident[COLO__NAME_MAX + 48]; /* the object's own name for waits before that: "s.NAME",
                                      "f.<volume>.<file index>"; "" for an anonymous one */
  int polling;            /* no events: waits poll the word */
  int peer_signals;       /* creator: the peer was seen holding the events (it can wake us) */
  const char *_Atomic how; /* colo__os_seg_wait_how: a string literal (set from any thread) */
  char name[COLO__PATH_MAX + 32]; /* for messages: Local\colo.NAME or the path */
  wchar_t lock_path[MAX_PATH + COLO__NAME_MAX + 64]; /* shm://: the lock file, removed by the last one out */
};

/* Guarded views (os_held.c): guard_add registers a view (its slot, or -1
 * when none is free: unguarded); guard_unmap releases it whether it is still
 * the view or was replaced by zero pages, and frees the slot. */
int colo__win_guard_add(void *base, size_t len, _Atomic int *lost);
void colo__win_guard_unmap(int idx, void *base);

/* ---- time (os_time.c) --------------------------------------------------------------- */

/* A relative timeout in ns as a WaitFor* timeout: rounded up to whole
 * milliseconds (never 0 for a non-zero wait), INFINITE for UINT64_MAX. */
DWORD colo__win_ms(uint64_t timeout_ns);

#endif
