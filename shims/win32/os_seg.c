/*
 * os_seg.c - shared segments on Windows: pagefile-backed sections for
 * shm://NAME (Local\colo.NAME, the session's namespace), mappings of real
 * files for file://, unnamed sections for anonymous segments; presence slots
 * as LockFileEx byte ranges.
 *
 * Windows semantics, modelled (shims/shim.h):
 *  - A section vanishes with its last handle: nothing to unlink, nothing left
 *    after a crash (caps.persistent_names = 0), and the namespace cannot be
 *    listed (caps.listable_names = 0).
 *  - The commit charge of a section is taken when it is created
 *    (SEC_COMMIT): an exhausted pagefile is COLO_ENOSPC at create, never an
 *    access violation later. A file mapped by anyone cannot be shrunk
 *    (ERROR_USER_MAPPED_FILE), so the lost word stays 0.
 *  - Presence: a byte-range lock belongs to the file handle (two handles in
 *    one process are two holders; any thread may take or drop it) and the OS
 *    releases it when the process dies, however it dies. A file:// segment
 *    locks bytes of its own file, beyond any end of file. A section has no
 *    file, so shm:// locks a lock file, %ProgramData%\colo\colo.<where>.NAME.lock,
 *    where <where> is the session (Local\) or "global": a machine-wide
 *    directory, so that a peer of another user (perm, peer_user) finds it too.
 *    The lock file must be owned by the section's owner (or an
 *    administrator): a squatter's lock file is refused.
 *  - A mere reader can take a shared lock; probing counts only exclusive
 *    locks (a reader's shared lock reads as free), and a hold that a shared
 *    lock blocks is COLO_EPERM, as on Linux.
 */
#include "win32.h"

#include <aclapi.h>
#include <stdio.h>
#include <string.h>

colo__win_sys_t colo__win_sys = {.create_mapping = CreateFileMappingW, .open_event = OpenEventW};

const colo__os_caps_t colo__os_caps = {
    .persistent_names = 0, .listable_names = 0, .xproc_addr_wait = 0, .rdv_kind = COLO__EP_PIPE,
    .pipe_is_file = 0, .perm_one_class = 1};

#define SHM_PREFIX "colo."

static colo__os_seg_t *seg_new(colo__ep_kind_t kind, int *rc) {
  colo__os_seg_t *s = colo__calloc(1, sizeof *s);
  if (!s) {
    *rc = colo__err_nomem();
    return NULL;
  }
  s->kind = kind;
  s->file = INVALID_HANDLE_VALUE;
  s->guard_idx = -1;
  atomic_init(&s->lost, 0);
  atomic_init(&s->how, "events of this process (the waits are not named)");
  return s;
}

/* ---- names ---- */

/* "Local\colo.NAME" (or Global\), exactly. */
static int section_name(const char *name, int global, wchar_t *out, size_t cap, char *u8, size_t u8cap) {
  int n = snprintf(u8, u8cap, "%s\\" SHM_PREFIX "%s", global ? "Global" : "Local", name);
  if (n < 0 || (size_t)n >= u8cap) return colo__err(COLO_EINVAL, "%.64s...: the name is too long", name);
  return colo__win_wide(u8, out, cap, "the section name");
}

/* %ProgramData%\colo, created when missing. */
static int lock_dir(wchar_t *out, size_t cap) {
  DWORD n = GetEnvironmentVariableW(L"ProgramData", out, (DWORD)cap);
  if (n == 0 || n >= cap) n = GetWindowsDirectoryW(out, (UINT)cap) > 0 ? (DWORD)wcslen(out) : 0;
  if (n == 0 || n + 8 >= cap) return colo__err(COLO_EIO, "cannot find %%ProgramData%% for the presence lock files");
  wcscpy(out + n, L"\\colo");
  /* Inherits ProgramData's ACL: every user may create files in it, each
   * owning what they create (like a sticky /tmp). */
  if (!CreateDirectoryW(out, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
    return colo__win_last("cannot create the presence directory", "%ProgramData%\\colo");
  DWORD attr = GetFileAttributesW(out);
  if (attr == INVALID_FILE_ATTRIBUTES || !(attr & FILE_ATTRIBUTE_DIRECTORY) || (attr & FILE_ATTRIBUTE_REPARSE_POINT))
    return colo__err(COLO_EPERM, "%%ProgramData%%\\colo is not a plain directory (a link?); refused");
  return 0;
}

static int lock_path(const char *name, int global, wchar_t *out, size_t cap) {
  int rc = lock_dir(out, cap);
  if (rc) return rc;
  char leaf[COLO__NAME_MAX + 64];
  DWORD session = 0;
  ProcessIdToSessionId(GetCurrentProcessId(), &session);
  int n = global ? snprintf(leaf, sizeof leaf, "\\colo.global.%s.lock", name)
                 : snprintf(leaf, sizeof leaf, "\\colo.s%lu.%s.lock", (unsigned long)session, name);
  if (n < 0 || (size_t)n >= sizeof leaf) return colo__err(COLO_EINVAL, "%.64s...: the name is too long", name);
  size_t used = wcslen(out);
  return colo__win_wide(leaf, out + used, cap - used, "the lock file's name");
}

/* ---- presence ---- */

static int lock_try(HANDLE h, int slot, int exclusive) {
  OVERLAPPED ov;
  memset(&ov, 0, sizeof ov);
  uint64_t off = COLO__WIN_PRESENCE_OFFSET + (uint64_t)slot;
  ov.Offset = (DWORD)off, ov.OffsetHigh = (DWORD)(off >> 32);
  DWORD flags = LOCKFILE_FAIL_IMMEDIATELY | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
  if (LockFileEx(h, flags, 0, 1, 0, &ov)) return 1;
  DWORD e = GetLastError();
  if (e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING) return 0;
  return colo__win_err(e, "LockFileEx", NULL);
}

static void lock_undo(HANDLE h, int slot) {
  OVERLAPPED ov;
  memset(&ov, 0, sizeof ov);
  uint64_t off = COLO__WIN_PRESENCE_OFFSET + (uint64_t)slot;
  ov.Offset = (DWORD)off, ov.OffsetHigh = (DWORD)(off >> 32);
  UnlockFileEx(h, 0, 1, 0, &ov);
}

/* 1 when some handle holds `slot` exclusively, 0 when none (a shared lock, a
 * mere reader's, does not count), negative on error. The probe takes the
 * lock for an instant: a hold racing it retries (seg_hold). */
static int lock_held_by_other(HANDLE h, int slot) {
  int got = lock_try(h, slot, 1);
  if (got < 0) return got;
  if (got) {
    lock_undo(h, slot);
    return 0;
  }
  got = lock_try(h, slot, 0);
  if (got < 0) return got;
  if (got) {
    lock_undo(h, slot); /* only shared locks there: readers */
    return 0;
  }
  return 1;
}

int colo__os_seg_hold(colo__os_seg_t *s, int slot) {
  if (slot < 0 || slot > 1) return colo__err(COLO_EINVAL, "no presence slot %d", slot);
  if (s->held[slot]) return 0;
  if (!s->writable || !s->lockf) return colo__err(COLO_EPERM, "%s: opened read-only, it cannot hold presence", s->name);
  /* A probe (ours or colo info's) holds the range for an instant: look a few
   * times before calling it taken. */
  for (int attempt = 0; attempt < 4; attempt++) {
    int got = lock_try(s->lockf, slot, 1);
    if (got < 0) return got;
    if (got) {
      s->held[slot] = 1;
      return 0;
    }
    got = lock_try(s->lockf, slot, 0);
    if (got < 0) return got;
    if (got) {
      lock_undo(s->lockf, slot);
      if (attempt == 3)
        return colo__err(COLO_EPERM, "%s: a reader of the segment holds a shared lock on presence slot %d", s->name,
                         slot);
    } else if (attempt == 3) {
      return colo__err(COLO_EBUSY, "%s: presence slot %d is held by a live process", s->name, slot);
    }
    Sleep(1);
  }
  return colo__err(COLO_EBUSY, "%s: presence slot %d is held", s->name, slot);
}

void colo__os_seg_drop(colo__os_seg_t *s, int slot) {
  if (slot < 0 || slot > 1 || !s->held[slot]) return;
  lock_undo(s->lockf, slot);
  s->held[slot] = 0;
}

int colo__os_seg_probe(colo__os_seg_t *s, int slot) {
  if (slot < 0 || slot > 1) return colo__err(COLO_EINVAL, "no presence slot %d", slot);
  if (s->held[slot]) return 0; /* ours: nobody else can hold it */
  if (!s->lockf) return colo__err(COLO_EIO, "%s: no presence lock file", s->name);
  return lock_held_by_other(s->lockf, slot);
}

/* ---- owners ---- */

static int owner_of(HANDLE h, int is_file, PSID *sid, PSECURITY_DESCRIPTOR *sd, const char *name) {
  int rc = colo__win_owner(h, is_file, sid, sd);
  if (rc) colo__err_prefix(name);
  return rc;
}

int colo__os_seg_check_owner(const colo__os_seg_t *s, const colo__os_peers_t *p) {
  PSID sid;
  PSECURITY_DESCRIPTOR sd;
  HANDLE h = s->kind == COLO__EP_FILE ? s->file : s->map;
  int rc = owner_of(h, s->kind == COLO__EP_FILE, &sid, &sd, s->name);
  if (rc) return rc;
  rc = colo__win_check_sid(p, sid, s->name, "is owned by");
  LocalFree(sd);
  return rc;
}

/* The shm:// lock file must belong to whoever owns the section (or an
 * administrator): else a squatter made it, and its locks mean nothing. */
static int lock_file_trusted(colo__os_seg_t *s) {
  PSID lsid, msid;
  PSECURITY_DESCRIPTOR lsd, msd;
  int rc = owner_of(s->lockf, 1, &lsid, &lsd, "the presence lock file");
  if (rc) return rc;
  if ((rc = owner_of(s->map, 0, &msid, &msd, s->name)) != 0) {
    LocalFree(lsd);
    return rc;
  }
  if (!EqualSid(lsid, msid) && !colo__win_sid_is_admin(lsid)) {
    char who[200];
    colo__win_sid_desc(lsid, who, sizeof who);
    rc = colo__err(COLO_EPERM, "%s: its presence lock file in %%ProgramData%%\\colo is owned by %s, not by the "
                   "section's owner; refused (remove it)", s->name, who);
  }
  LocalFree(lsd);
  LocalFree(msd);
  return rc;
}

/* Opens (or creates) the lock file of shm:// NAME. */
static int open_lock_file(colo__os_seg_t *s, const char *name, int create, int writable, uint32_t perm) {
  wchar_t path[MAX_PATH + COLO__NAME_MAX + 64];
  int rc = lock_path(name, s->global, path, sizeof path / sizeof path[0]);
  if (rc) return rc;
  colo__win_sa_t sa;
  if (create && (rc = colo__win_sa_make(&sa, perm)) != 0) return rc;
  /* No FILE_SHARE_DELETE: while anyone has it open, nobody can remove or
   * replace it under them. */
  DWORD access = GENERIC_READ | (writable ? GENERIC_WRITE : 0) | (create ? WRITE_DAC : 0);
  HANDLE h;
  /* A sharing violation is the last one out of the name looking whether it
   * may remove the file (release_lock_file: an open that shares nothing, for
   * an instant): wait it out, boundedly. */
  for (int tries = 0;; tries++) {
    SetLastError(0);
    h = CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, create ? &sa.sa : NULL,
                    create ? OPEN_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_SHARING_VIOLATION || tries == 200) break;
    Sleep(1);
  }
  int existed = GetLastError() == ERROR_ALREADY_EXISTS;
  if (h == INVALID_HANDLE_VALUE) {
    if (create) colo__win_sa_free(&sa);
    return colo__win_last("cannot open the presence lock file of", s->name);
  }
  if (create && existed) {
    /* Left by an earlier listener of the name: ours only if this user (or
     * an administrator) made it; then it takes this listener's perm (the
     * security given at creation applies to a new file only). */
    PSID owner;
    PSECURITY_DESCRIPTOR osd;
    rc = colo__win_owner(h, 1, &owner, &osd);
    if (!rc && !colo__win_sid_is_self_or_admin(owner)) {
      char who[200];
      colo__win_sid_desc(owner, who, sizeof who);
      rc = colo__err(COLO_EPERM, "%s: its presence lock file in %%ProgramData%%\\colo belongs to %s, not to this "
                     "user; refused (whoever made it, or an administrator, can remove it)", s->name, who);
    }
    if (!rc) {
      BOOL present = FALSE, dflt = FALSE;
      PACL dacl = NULL;
      if (GetSecurityDescriptorDacl(sa.sd, &present, &dacl, &dflt) && present) {
        DWORD e = SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                  NULL, NULL, dacl, NULL);
        if (e != ERROR_SUCCESS) rc = colo__win_err(e, "cannot set the security of the presence lock file of", s->name);
      }
    }
    if (osd) LocalFree(osd);
    if (rc) {
      colo__win_sa_free(&sa);
      CloseHandle(h);
      return rc;
    }
  }
  if (create) colo__win_sa_free(&sa);
  BY_HANDLE_FILE_INFORMATION fi;
  if (!GetFileInformationByHandle(h, &fi) || (fi.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) ||
      GetFileType(h) != FILE_TYPE_DISK) {
    CloseHandle(h);
    return colo__err(COLO_EPERM, "%s: its presence lock file is not a plain file (a link?); refused", s->name);
  }
  s->lockf = h;
  wcscpy(s->lock_path, path);
  return 0;
}

/*
 * Closes the shm:// lock file, and removes it when this was the last handle
 * of it: an open that shares nothing succeeds only when no other handle is
 * open (every colo open shares read and write, never delete), and only this
 * user's own file is removed. Whoever opens it in that instant gets a
 * sharing violation, which open_lock_file waits out. Leaves colo's last
 * error alone (this runs on error paths too).
 */
static void release_lock_file(colo__os_seg_t *s) {
  CloseHandle(s->lockf);
  s->lockf = NULL;
  if (!s->lock_path[0]) return;
  HANDLE h = CreateFileW(s->lock_path, DELETE | READ_CONTROL | FILE_READ_ATTRIBUTES, 0, NULL, OPEN_EXISTING,
                         FILE_FLAG_OPEN_REPARSE_POINT, NULL);
  if (h == INVALID_HANDLE_VALUE) return; /* someone else has it open, or it is gone */
  PSID owner = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  BY_HANDLE_FILE_INFORMATION fi;
  if (GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL, &sd) ==
          ERROR_SUCCESS &&
      owner && EqualSid(owner, colo__win_self_sid()) && GetFileInformationByHandle(h, &fi) &&
      !(fi.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY))) {
    FILE_DISPOSITION_INFO d = {.DeleteFile = TRUE};
    SetFileInformationByHandle(h, FileDispositionInfo, &d, sizeof d);
  }
  if (sd) LocalFree(sd);
  CloseHandle(h);
}

/* ---- opening and creating ---- */

static void seg_free(colo__os_seg_t *s) {
  for (int i = 0; i < COLO__WIN_WAITS; i++)
    if (s->ev[i]) CloseHandle(s->ev[i]);
  if (s->base) colo__win_guard_unmap(s->guard_idx, s->base);
  if (s->map) CloseHandle(s->map);
  if (s->lockf && s->lockf != s->file) release_lock_file(s);
  if (s->file != INVALID_HANDLE_VALUE) CloseHandle(s->file);
  colo__free(s);
}

/* The end of an open or create: the handle is the caller's, or nothing is. */
static int seg_done(colo__os_seg_t *s, int rc, colo__os_seg_t **out) {
  if (!rc && s->kind == COLO__EP_FILE) {
    BY_HANDLE_FILE_INFORMATION fi;
    if (GetFileInformationByHandle(s->file, &fi))
      snprintf(s->ident, sizeof s->ident, "f.%08lx.%08lx%08lx", (unsigned long)fi.dwVolumeSerialNumber,
               (unsigned long)fi.nFileIndexHigh, (unsigned long)fi.nFileIndexLow);
  }
  if (rc) {
    seg_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* Maps all of the section (read-write, or read-only). */
static int map_view(colo__os_seg_t *s, int writable) {
  s->base = MapViewOfFile(s->map, FILE_MAP_READ | (writable ? FILE_MAP_WRITE : 0), 0, 0, 0);
  if (!s->base) return colo__win_last("cannot map", s->name);
  MEMORY_BASIC_INFORMATION mbi;
  if (VirtualQuery(s->base, &mbi, sizeof mbi) == 0) return colo__win_last("VirtualQuery", s->name);
  if (s->size == 0) s->size = mbi.RegionSize; /* a section: its size, in whole pages */
  /* A file can be cut short by someone Windows does not stop (a share's
   * other clients; any host process under Wine): guard its view. */
  if (s->guard && s->kind == COLO__EP_FILE) s->guard_idx = colo__win_guard_add(s->base, (size_t)s->size, &s->lost);
  return 0;
}

static const char *file_type_name(DWORD attr, DWORD ftype) {
  if (attr & FILE_ATTRIBUTE_REPARSE_POINT) return "a symbolic link or junction";
  if (attr & FILE_ATTRIBUTE_DIRECTORY) return "a directory";
  if (ftype == FILE_TYPE_CHAR) return "a character device";
  if (ftype == FILE_TYPE_PIPE) return "a pipe";
  if (ftype != FILE_TYPE_DISK) return "not a file";
  return NULL;
}

/* Opens a file:// path without following a link; refuses what is not a
 * plain file. */
static int open_file(colo__os_seg_t *s, const char *path, DWORD access, DWORD disposition, SECURITY_ATTRIBUTES *sa) {
  wchar_t wpath[COLO__PATH_MAX + 8];
  int rc = colo__win_path(path, wpath, sizeof wpath / sizeof wpath[0]);
  if (rc) return rc;
  /* A device is refused before it is opened: opening one may block. */
  if (colo__win_reserved_leaf(path)) return colo__err(COLO_EINVAL, "%s: not a colo segment (it is a device)", s->name);
  if (disposition == OPEN_EXISTING) {
    /* A directory or a link is refused before it is opened. */
    DWORD attr = GetFileAttributesW(wpath);
    if (attr == INVALID_FILE_ATTRIBUTES) return colo__win_last("cannot open", s->name);
    const char *t = file_type_name(attr, FILE_TYPE_DISK);
    if (t) return colo__err(COLO_EINVAL, "%s: not a colo segment (it is %s)", s->name, t);
  }
  HANDLE h = CreateFileW(wpath, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, sa, disposition,
                         FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    if (e == ERROR_FILE_EXISTS || e == ERROR_ALREADY_EXISTS)
      return colo__err(COLO_EEXIST, "%s exists", s->name);
    return colo__win_err(e, disposition == CREATE_NEW ? "cannot create" : "cannot open", s->name);
  }
  s->file = h;
  if (disposition == CREATE_NEW) s->creator = 1; /* from now on, a failure deletes it */
  BY_HANDLE_FILE_INFORMATION fi;
  if (!GetFileInformationByHandle(h, &fi)) return colo__win_last("cannot stat", s->name);
  const char *t = file_type_name(fi.dwFileAttributes, GetFileType(h));
  if (t) return colo__err(COLO_EINVAL, "%s: not a colo segment (it is %s)", s->name, t);
  return 0;
}

/* Creates the missing parent directories of a file:// path. */
static int make_parents(const char *path, const char *name) {
  wchar_t w[COLO__PATH_MAX + 8];
  int rc = colo__win_path(path, w, sizeof w / sizeof w[0]);
  if (rc) return rc;
  for (wchar_t *p = w + 3; *p; p++) {
    if (*p != L'\\') continue;
    *p = 0;
    DWORD attr = GetFileAttributesW(w);
    if (attr == INVALID_FILE_ATTRIBUTES) {
      if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
        return colo__win_last("cannot create the directories of", name);
    } else if (!(attr & FILE_ATTRIBUTE_DIRECTORY)) {
      return colo__err(COLO_EINVAL, "%s: a part of the path is not a directory", name);
    }
    *p = L'\\';
  }
  return 0;
}

/* Deletes the file behind this very handle (not whatever the name means now). */
static BOOL delete_by_handle(HANDLE h) { /* a handle opened with DELETE, no view mapped */
  FILE_DISPOSITION_INFO d = {.DeleteFile = TRUE};
  return SetFileInformationByHandle(h, FileDispositionInfo, &d, sizeof d);
}

static int set_size(HANDLE h, uint64_t size, const char *name) {
  FILE_END_OF_FILE_INFO eof;
  eof.EndOfFile.QuadPart = (LONGLONG)size;
  if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof eof))
    return colo__win_last("cannot reserve the segment's size for", name);
  return 0;
}

static int write_at(HANDLE h, uint64_t off, const void *buf, size_t len, const char *name) {
  OVERLAPPED ov;
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)off, ov.OffsetHigh = (DWORD)(off >> 32);
  DWORD put = 0;
  if (!WriteFile(h, buf, (DWORD)len, &put, &ov) || put != len) return colo__win_last("cannot write", name);
  return 0;
}

static int create_file_seg(colo__os_seg_t *s, const char *path, uint64_t size, uint32_t perm, int hold_slot,
                           const void *mark, size_t mark_len) {
  int rc = make_parents(path, s->name);
  if (rc) return rc;
  colo__win_sa_t sa;
  if ((rc = colo__win_sa_make(&sa, perm)) != 0) return rc;
  rc = open_file(s, path, GENERIC_READ | GENERIC_WRITE | DELETE, CREATE_NEW, &sa.sa);
  colo__win_sa_free(&sa);
  if (rc) return rc;
  s->lockf = s->file;
  s->writable = 1;
  if ((rc = colo__os_seg_hold(s, hold_slot)) != 0 || (rc = write_at(s->file, 0, mark, mark_len, s->name)) != 0 ||
      (rc = set_size(s->file, size, s->name)) != 0)
    return rc;
  s->map = CreateFileMappingW(s->file, NULL, PAGE_READWRITE, 0, 0, NULL);
  if (!s->map) return colo__win_last("cannot create a mapping of", s->name);
  s->size = size;
  return map_view(s, 1);
}

static int create_section(colo__os_seg_t *s, const char *name, uint64_t size, uint32_t perm, int hold_slot,
                          const void *mark, size_t mark_len) {
  wchar_t wname[COLO__NAME_MAX + 32];
  int rc = section_name(name, s->global, wname, sizeof wname / sizeof wname[0], s->name, sizeof s->name);
  if (rc) return rc;
  snprintf(s->ident, sizeof s->ident, "s.%s", name);
  /* Presence first: a live holder of slot 0 means the name is in use. */
  if ((rc = open_lock_file(s, name, 1, 1, perm)) != 0) return rc;
  s->writable = 1;
  if ((rc = colo__os_seg_hold(s, hold_slot)) != 0) {
    if (rc != COLO_EBUSY) return rc;
    HANDLE there = OpenFileMappingW(FILE_MAP_READ, FALSE, wname);
    if (there || GetLastError() != ERROR_FILE_NOT_FOUND) {
      if (there) CloseHandle(there);
      return colo__err(COLO_EEXIST, "%s exists, and its listener is alive", s->name);
    }
    return colo__err(COLO_EBUSY, "%s: a process holds the presence lock file %%ProgramData%%\\colo\\colo.*.%s.lock "
                     "but has no such section (not a colo listener); refused", s->name, name);
  }
  colo__win_sa_t sa;
  if ((rc = colo__win_sa_make(&sa, perm)) != 0) return rc;
  SetLastError(0);
  s->map = colo__win_sys.create_mapping(INVALID_HANDLE_VALUE, &sa.sa, PAGE_READWRITE | SEC_COMMIT,
                                        (DWORD)(size >> 32), (DWORD)size, wname);
  DWORD e = GetLastError();
  colo__win_sa_free(&sa);
  if (!s->map) {
    if (e == ERROR_INVALID_HANDLE) return colo__err(COLO_EEXIST, "%s: another kind of object has this name", s->name);
    if (e == ERROR_ACCESS_DENIED && s->global)
      return colo__err(COLO_EPERM, "%s: creating a Global\\ section needs the SeCreateGlobalPrivilege "
                       "(services and administrators have it)", s->name);
    rc = colo__win_err(e, "cannot create the section", s->name);
    if (rc == COLO_ENOSPC || rc == COLO_ENOMEM)
      rc = colo__err(COLO_ENOSPC, "%s: the system's commit limit cannot take %llu more bytes (%s)", s->name,
                     (unsigned long long)size, colo_last_error());
    return rc;
  }
  if (e == ERROR_ALREADY_EXISTS) return colo__err(COLO_EEXIST, "%s exists", s->name);
  if ((rc = lock_file_trusted(s)) != 0) return rc;
  s->creator = 1;
  s->size = size;
  if ((rc = map_view(s, 1)) != 0) return rc;
  memcpy(s->base, mark, mark_len);
  return 0;
}

int colo__os_seg_create(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, uint64_t size,
                        uint32_t perm, int hold_slot, const void *mark, size_t mark_len, int flags) {
  *out = NULL;
  if (size < mark_len || size == 0) return colo__err(COLO_EINVAL, "a segment of %llu bytes cannot hold its mark",
                                                     (unsigned long long)size);
  if (size > COLO__OBJECT_MAX) return colo__err(COLO_EINVAL, "a segment of %llu bytes is larger than colo maps",
                                                (unsigned long long)size);
  int rc;
  colo__os_seg_t *s = seg_new(kind, &rc);
  if (!s) return rc;
  s->perm = perm;
  s->mapped = 1;
  s->guard = (flags & COLO__SEG_GUARD) != 0;
  s->global = (flags & COLO__SEG_GLOBAL) != 0;
  if (kind == COLO__EP_FILE) {
    snprintf(s->name, sizeof s->name, "%s", name);
    rc = create_file_seg(s, name, size, perm, hold_slot, mark, mark_len);
    if (rc && s->creator) { /* nothing left behind (no view may be mapped for that) */
      if (s->base) colo__win_guard_unmap(s->guard_idx, s->base), s->base = NULL;
      if (s->map) CloseHandle(s->map), s->map = NULL;
      delete_by_handle(s->file);
    }
  } else if (kind == COLO__EP_SHM) {
    rc = create_section(s, name, size, perm, hold_slot, mark, mark_len);
  } else {
    rc = colo__err(COLO_EINVAL, "not a segment endpoint");
  }
  return seg_done(s, rc, out);
}

int colo__os_seg_open(colo__os_seg_t **out, colo__ep_kind_t kind, const char *name, int flags) {
  *out = NULL;
  int rc;
  colo__os_seg_t *s = seg_new(kind, &rc);
  if (!s) return rc;
  int map = (flags & COLO__SEG_MAP) != 0;
  s->writable = s->mapped = map;
  s->guard = (flags & COLO__SEG_GUARD) != 0;
  s->global = (flags & COLO__SEG_GLOBAL) != 0;
  if (kind == COLO__EP_FILE) {
    snprintf(s->name, sizeof s->name, "%s", name);
    rc = open_file(s, name, GENERIC_READ | (map ? GENERIC_WRITE : 0), OPEN_EXISTING, NULL);
    LARGE_INTEGER sz;
    if (!rc && !GetFileSizeEx(s->file, &sz)) rc = colo__win_last("cannot stat", s->name);
    if (!rc) {
      s->lockf = s->file;
      if (map && (uint64_t)sz.QuadPart > COLO__OBJECT_MAX)
        rc = colo__err(COLO_ECORRUPT, "%s: %lld bytes, larger than a colo segment can be", s->name,
                       (long long)sz.QuadPart);
    }
    if (!rc && map && sz.QuadPart > 0) {
      /* Once mapped, nobody can shrink the file: its size is read after. */
      s->map = CreateFileMappingW(s->file, NULL, PAGE_READWRITE, 0, 0, NULL);
      if (!s->map) rc = colo__win_last("cannot create a mapping of", s->name);
      if (!rc && !GetFileSizeEx(s->file, &sz)) rc = colo__win_last("cannot stat", s->name);
      if (!rc) {
        s->size = (uint64_t)sz.QuadPart;
        rc = map_view(s, 1);
      }
    } else if (!rc) {
      s->size = (uint64_t)sz.QuadPart; /* empty (being created), or read-only: no view */
    }
  } else if (kind == COLO__EP_SHM) {
    wchar_t wname[COLO__NAME_MAX + 32];
    rc = section_name(name, s->global, wname, sizeof wname / sizeof wname[0], s->name, sizeof s->name);
    snprintf(s->ident, sizeof s->ident, "s.%s", name);
    if (!rc) {
      s->map = OpenFileMappingW(FILE_MAP_READ | READ_CONTROL | (map ? FILE_MAP_WRITE : 0), FALSE, wname);
      if (!s->map) {
        DWORD e = GetLastError();
        rc = e == ERROR_FILE_NOT_FOUND ? colo__err(COLO_ENOENT, "%s: no such segment", s->name)
                                       : colo__win_err(e, "cannot open", s->name);
      }
    }
    if (!rc) rc = map_view(s, map);
    if (!rc) {
      /* Presence: the lock file beside it, which must be the owner's. */
      int lrc = open_lock_file(s, name, 0, map, 0);
      if (lrc == 0) lrc = lock_file_trusted(s);
      if (lrc && map) rc = lrc;
      else if (lrc && s->lockf) release_lock_file(s);
    }
  } else {
    rc = colo__err(COLO_EINVAL, "not a segment endpoint");
  }
  return seg_done(s, rc, out);
}

int colo__os_seg_create_anon(colo__os_seg_t **out, uint64_t size) {
  *out = NULL;
  if (size == 0 || size > COLO__OBJECT_MAX) return colo__err(COLO_EINVAL, "an anonymous segment of %llu bytes",
                                                             (unsigned long long)size);
  int rc;
  colo__os_seg_t *s = seg_new(0, &rc);
  if (!s) return rc;
  snprintf(s->name, sizeof s->name, "an anonymous section");
  colo__win_sa_t sa;
  if ((rc = colo__win_sa_make(&sa, 0600)) == 0) {
    s->map = colo__win_sys.create_mapping(INVALID_HANDLE_VALUE, &sa.sa, PAGE_READWRITE | SEC_COMMIT,
                                          (DWORD)(size >> 32), (DWORD)size, NULL);
    colo__win_sa_free(&sa);
    if (!s->map) rc = colo__win_last("cannot create", s->name);
  }
  s->writable = s->mapped = s->creator = 1;
  s->size = size;
  if (!rc) rc = map_view(s, 1);
  return seg_done(s, rc, out);
}

void *colo__os_seg_base(const colo__os_seg_t *s) { return s->mapped ? s->base : NULL; }
uint64_t colo__os_seg_size(const colo__os_seg_t *s) { return s->size; }
const _Atomic int *colo__os_seg_lost(const colo__os_seg_t *s) { return &s->lost; }

int colo__os_seg_read(colo__os_seg_t *s, uint64_t off, void *buf, size_t len, size_t *got) {
  *got = 0;
  if (off >= s->size) return 0;
  if (len > s->size - off) len = (size_t)(s->size - off);
  if (s->base) {
    memcpy(buf, (const char *)s->base + off, len);
    *got = len;
    return 0;
  }
  if (s->file == INVALID_HANDLE_VALUE) return colo__err(COLO_EIO, "%s: nothing to read from", s->name);
  OVERLAPPED ov;
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)off, ov.OffsetHigh = (DWORD)(off >> 32);
  DWORD n = 0;
  if (!ReadFile(s->file, buf, len > 0x40000000u ? 0x40000000u : (DWORD)len, &n, &ov)) {
    DWORD e = GetLastError();
    if (e == ERROR_HANDLE_EOF) return 0;
    return colo__win_err(e, "cannot read", s->name);
  }
  *got = n;
  return 0;
}

/* Marks the file of this very handle for deletion (a newer file under the
 * same name is left alone). Windows refuses to delete a file while a view
 * of it is mapped, so the mark is set once our view and section are gone. */
static int delete_file_of(colo__os_seg_t *s) {
  HANDLE h = ReOpenFile(s->file, DELETE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND || e == ERROR_DELETE_PENDING) return 0; /* gone, or going */
    return colo__win_err(e, "cannot remove", s->name);
  }
  int rc = delete_by_handle(h) ? 0 : colo__win_last("cannot remove", s->name);
  CloseHandle(h);
  return rc;
}

/* Windows will not delete a file while any process maps a view of it: the
 * last side to close removes a file:// segment only if its peer unmapped
 * before it let go of its presence (colo__seg_unref does it in that order). */
void colo__os_seg_unmap(colo__os_seg_t *s) {
  if (!s) return;
  if (s->base) colo__win_guard_unmap(s->guard_idx, s->base), s->base = NULL;
  if (s->map) CloseHandle(s->map), s->map = NULL;
}

int colo__os_seg_unlink(colo__os_seg_t *s) {
  /* Sections have no name to remove. */
  if (s->kind != COLO__EP_FILE || s->file == INVALID_HANDLE_VALUE) return 0;
  if (!s->base && !s->map) return delete_file_of(s);
  s->unlink_at_close = 1; /* colo__os_seg_close unmaps, then removes */
  return 0;
}

void colo__os_seg_close(colo__os_seg_t *s) {
  if (!s) return;
  colo__os_seg_drop(s, 0);
  colo__os_seg_drop(s, 1);
  if (s->unlink_at_close) {
    colo__os_seg_unmap(s);
    delete_file_of(s);
  }
  seg_free(s);
}

/* ---- administration ---- */

/* perm as POSIX bits: 0600, plus 044 when the DACL lets authenticated users,
 * users or everyone read, 022 when it lets them write
 * (colo__os_perm_as_kept). */
static uint32_t perm_of(HANDLE h, int is_file) {
  PACL dacl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  if (GetSecurityInfo(h, is_file ? SE_FILE_OBJECT : SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
                      NULL, &sd) != ERROR_SUCCESS)
    return 0;
  uint32_t perm = 0600;
  if (!dacl) perm = 0666; /* a NULL DACL: anyone (never colo's) */
  for (DWORD i = 0; dacl && i < dacl->AceCount; i++) {
    ACE_HEADER *ace;
    if (!GetAce(dacl, i, (void **)&ace) || ace->AceType != ACCESS_ALLOWED_ACE_TYPE) continue;
    PSID sid = (PSID)&((ACCESS_ALLOWED_ACE *)ace)->SidStart;
    if (!IsWellKnownSid(sid, WinAuthenticatedUserSid) && !IsWellKnownSid(sid, WinWorldSid) &&
        !IsWellKnownSid(sid, WinBuiltinUsersSid))
      continue;
    ACCESS_MASK m = ((ACCESS_ALLOWED_ACE *)ace)->Mask;
    if (m & (GENERIC_READ | GENERIC_ALL | FILE_MAP_READ | FILE_READ_DATA)) perm |= 0044;
    if (m & (GENERIC_WRITE | GENERIC_ALL | FILE_MAP_WRITE | FILE_WRITE_DATA)) perm |= 0022;
  }
  LocalFree(sd);
  return perm;
}

static void stat_handle(HANDLE h, int is_file, colo__os_stat_t *out) {
  PSID sid;
  PSECURITY_DESCRIPTOR sd;
  if (colo__win_owner(h, is_file, &sid, &sd) == 0) {
    colo__win_sid_desc(sid, out->owner, sizeof out->owner);
    LocalFree(sd);
  } else {
    snprintf(out->owner, sizeof out->owner, "unknown");
  }
  out->perm = perm_of(h, is_file);
}

static int64_t file_age_s(HANDLE h) {
  FILE_BASIC_INFO bi;
  if (!GetFileInformationByHandleEx(h, FileBasicInfo, &bi, sizeof bi)) return 0;
  FILETIME now;
  GetSystemTimeAsFileTime(&now);
  int64_t t = (int64_t)(((uint64_t)now.dwHighDateTime << 32) | now.dwLowDateTime);
  int64_t d = t - bi.ChangeTime.QuadPart;
  return d > 0 ? d / 10000000 : 0;
}

void colo__os_seg_fstat(const colo__os_seg_t *s, colo__os_stat_t *out) {
  memset(out, 0, sizeof *out);
  out->size = s->size;
  out->regular = 1;
  if (s->kind == COLO__EP_FILE) {
    LARGE_INTEGER sz;
    if (GetFileSizeEx(s->file, &sz)) out->size = (uint64_t)sz.QuadPart;
    out->age_s = file_age_s(s->file);
    stat_handle(s->file, 1, out);
  } else {
    stat_handle(s->map, 0, out);
  }
}

int colo__os_seg_stat(colo__ep_kind_t kind, const char *name, int flags, colo__os_stat_t *out) {
  memset(out, 0, sizeof *out);
  if (kind == COLO__EP_SHM) {
    /* A section exists while it is open; reading its size means mapping it. */
    colo__os_seg_t *s;
    int rc = colo__os_seg_open(&s, kind, name, flags & COLO__SEG_GLOBAL);
    if (rc == COLO_EPERM) {
      out->regular = 1;
      snprintf(out->owner, sizeof out->owner, "another user");
      return 0;
    }
    if (rc) return rc;
    colo__os_seg_fstat(s, out);
    colo__os_seg_close(s);
    return 0;
  }
  if (kind != COLO__EP_FILE) return colo__err(COLO_EINVAL, "not a segment endpoint");
  if (colo__win_reserved_leaf(name)) { /* described without opening it */
    snprintf(out->type, sizeof out->type, "a device");
    snprintf(out->owner, sizeof out->owner, "the system");
    return 0;
  }
  wchar_t w[COLO__PATH_MAX + 8];
  int rc = colo__win_path(name, w, sizeof w / sizeof w[0]);
  if (rc) return rc;
  /* The entry itself: a link is described, never followed. */
  HANDLE h = CreateFileW(w, READ_CONTROL | FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
  if (h == INVALID_HANDLE_VALUE) return colo__win_last("cannot stat", name);
  BY_HANDLE_FILE_INFORMATION fi;
  if (!GetFileInformationByHandle(h, &fi)) {
    rc = colo__win_last("cannot stat", name);
    CloseHandle(h);
    return rc;
  }
  const char *t = file_type_name(fi.dwFileAttributes, GetFileType(h));
  out->regular = t == NULL;
  snprintf(out->type, sizeof out->type, "%s", t ? t : "a regular file");
  out->size = ((uint64_t)fi.nFileSizeHigh << 32) | fi.nFileSizeLow;
  out->age_s = file_age_s(h);
  stat_handle(h, 1, out);
  CloseHandle(h);
  return 0;
}

int colo__os_seg_remove(colo__ep_kind_t kind, const char *name) {
  if (kind == COLO__EP_SHM)
    return colo__err(COLO_ENOTSUP, "a Windows section vanishes with its last handle: there is nothing to remove");
  if (kind != COLO__EP_FILE) return colo__err(COLO_EINVAL, "not a segment endpoint");
  wchar_t w[COLO__PATH_MAX + 8];
  int rc = colo__win_path(name, w, sizeof w / sizeof w[0]);
  if (rc) return rc;
  /* DeleteFileW removes a link itself, never its target. */
  if (!DeleteFileW(w)) return colo__win_last("cannot remove", name);
  return 0;
}

int colo__os_seg_list(int (*cb)(const char *name, void *ctx), void *ctx) {
  (void)cb, (void)ctx;
  return colo__err(COLO_ENOTSUP, "Windows cannot list its sections: a shm:// segment is seen by its name only "
                   "(and vanishes with its last handle)");
}
