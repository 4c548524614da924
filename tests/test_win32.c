/*
 * test_win32.c - what only Windows has: the security descriptors colo gives
 * every object it creates, read back from the system and checked ACE by ACE.
 *
 * The rule (shims/win32/os_peer.c, docs/windows.md): the owner is this user;
 * the DACL is explicit and protected (nothing inherited), never NULL; it
 * grants all access to this user, and nothing to anyone else unless perm has
 * group or other bits, which grant authenticated users read (044) and write
 * (022) and nothing more (no delete, no change of the DACL or owner).
 *
 * Checked for every kind of object: the section and its presence lock file
 * (shm://), the mapped file (file://), the wait events named after the nonce,
 * a pipe listener's instance (pipe://); through the shim, and a section and
 * lock file made by colo_listen() through the public API.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../shims/win32/stream.h"
#include "../shims/win32/win32.h"
#include <aclapi.h>
#include <sddl.h>

#include "testutil.h"

static const char MARK[8] = {'c', 'o', 'l', 'o', '-', 't', 'w', 'n'};

/* An object type's rights: all of them, and the read and write rights the
 * generic ones map to (the system may keep either form in the DACL). */
typedef struct kind {
  const char *what;
  SE_OBJECT_TYPE type;
  DWORD all, read, write;
} kind_t;
static const kind_t SECTION = {"section", SE_KERNEL_OBJECT, SECTION_ALL_ACCESS, SECTION_MAP_READ, SECTION_MAP_WRITE};
static const kind_t EVENT = {"event", SE_KERNEL_OBJECT, EVENT_ALL_ACCESS, SYNCHRONIZE, EVENT_MODIFY_STATE};
static const kind_t FILE_ = {"file", SE_FILE_OBJECT, FILE_ALL_ACCESS, FILE_READ_DATA, FILE_WRITE_DATA};
static const kind_t PIPE = {"pipe", SE_KERNEL_OBJECT, FILE_ALL_ACCESS, FILE_READ_DATA, FILE_WRITE_DATA};

static int has_all(const kind_t *k, DWORD m) { return (m & GENERIC_ALL) || (m & k->all) == k->all; }
static int can_read(const kind_t *k, DWORD m) { return (m & (GENERIC_READ | GENERIC_ALL)) || (m & k->read) == k->read; }
static int can_write(const kind_t *k, DWORD m) {
  return (m & (GENERIC_WRITE | GENERIC_ALL)) || (m & k->write) == k->write;
}

static PSID well_known(WELL_KNOWN_SID_TYPE t, BYTE *buf) {
  DWORD n = SECURITY_MAX_SID_SIZE;
  cr_assert(CreateWellKnownSid(t, NULL, buf, &n), "CreateWellKnownSid: %lu", GetLastError());
  return (PSID)buf;
}

static void sid_str(PSID sid, char *buf, size_t cap) {
  char *s = NULL;
  if (ConvertSidToStringSidA(sid, &s)) {
    snprintf(buf, cap, "%s", s);
    LocalFree(s);
  } else {
    snprintf(buf, cap, "?");
  }
}

/*
 * Reads the owner and DACL of what (a handle, or a name when h is NULL) and
 * checks them against perm: the owner is this user; the DACL is present and
 * protected; one ACE grants this user all of k's rights; when perm & 066,
 * one more grants authenticated users read (when 044) and write (when 022),
 * and nothing else; no other ACE.
 */
static void check_sd(const kind_t *k, HANDLE h, const wchar_t *name, uint32_t perm, const char *label) {
  PSID owner = NULL;
  PACL dacl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  DWORD e = h ? GetSecurityInfo(h, k->type, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner, NULL,
                                &dacl, NULL, &sd)
              : GetNamedSecurityInfoW(name, k->type, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                                      NULL, &dacl, NULL, &sd);
  cr_assert_eq(e, ERROR_SUCCESS, "%s (%s): GetSecurityInfo: error %lu", label, k->what, e);
  PSID self = colo__win_self_sid();
  cr_assert(self, "this process's user");
  char got[200], want[200];
  cr_assert(owner, "%s (%s) has no owner", label, k->what);
  sid_str(owner, got, sizeof got), sid_str(self, want, sizeof want);
  cr_assert(EqualSid(owner, self), "%s (%s): owner %s, not this user %s", label, k->what, got, want);
  cr_assert(dacl, "%s (%s) has a NULL DACL: anyone may do anything with it", label, k->what);
  SECURITY_DESCRIPTOR_CONTROL ctl = 0;
  DWORD rev = 0;
  cr_assert(GetSecurityDescriptorControl(sd, &ctl, &rev));
  cr_assert(ctl & SE_DACL_PROTECTED, "%s (%s): its DACL is not protected (it would inherit ACEs): control %#x",
            label, k->what, (unsigned)ctl);

  BYTE aub[SECURITY_MAX_SID_SIZE];
  PSID au = well_known(WinAuthenticatedUserSid, aub);
  int want_au = (perm & 0066) != 0, saw_self = 0, saw_au = 0;
  ACL_SIZE_INFORMATION info;
  cr_assert(GetAclInformation(dacl, &info, sizeof info, AclSizeInformation));
  for (DWORD i = 0; i < info.AceCount; i++) {
    ACE_HEADER *ace = NULL;
    cr_assert(GetAce(dacl, i, (void **)&ace));
    cr_assert_eq(ace->AceType, ACCESS_ALLOWED_ACE_TYPE, "%s (%s): ACE %lu is of type %d, not an allow", label,
                 k->what, i, ace->AceType);
    cr_assert_not(ace->AceFlags & INHERITED_ACE, "%s (%s): ACE %lu was inherited", label, k->what, i);
    ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)ace;
    PSID who = (PSID)&a->SidStart;
    DWORD m = a->Mask;
    sid_str(who, got, sizeof got);
    if (EqualSid(who, self)) {
      cr_assert(has_all(k, m), "%s (%s): this user has %#lx, not all of %#lx", label, k->what, m, k->all);
      saw_self++;
    } else if (EqualSid(who, au)) {
      cr_assert(want_au, "%s (%s): perm %o grants authenticated users %#lx", label, k->what, perm, m);
      cr_assert_eq(can_read(k, m), (perm & 0044) != 0, "%s (%s): perm %o: authenticated users %s read (%#lx)", label,
                   k->what, perm, can_read(k, m) ? "may" : "may not", m);
      cr_assert_eq(can_write(k, m), (perm & 0022) != 0, "%s (%s): perm %o: authenticated users %s write (%#lx)",
                   label, k->what, perm, can_write(k, m) ? "may" : "may not", m);
      cr_assert_not(m & (GENERIC_ALL | DELETE | WRITE_DAC | WRITE_OWNER),
                    "%s (%s): authenticated users may delete it or change who may use it (%#lx)", label, k->what, m);
      saw_au++;
    } else {
      cr_assert_fail("%s (%s): ACE %lu grants %#lx to %s, whom colo never names", label, k->what, i, m, got);
    }
  }
  cr_assert_eq(saw_self, 1, "%s (%s): %d ACEs for this user, not 1", label, k->what, saw_self);
  cr_assert_eq(saw_au, want_au, "%s (%s): perm %o: %d ACEs for authenticated users, not %d", label, k->what, perm,
               saw_au, want_au);
  LocalFree(sd);
}

static const uint32_t PERMS[] = {0600, 0640, 0660, 0606, 0666};
#define NPERMS (sizeof PERMS / sizeof PERMS[0])

/* Wine makes a file's security descriptor up from its Unix mode bits and
 * keeps none of what it was created with: there, what a file's DACL says
 * cannot be read back. */
#define NEED_FILE_SDS()                                                                                 \
  do {                                                                                                  \
    if (tu_is_wine()) {                                                                                 \
      cr_skip_test("Wine keeps no security descriptor for a file (it shows one made from the Unix mode " \
                   "bits), so a file's DACL can be read back only on Windows");                        \
      return;                                                                                           \
    }                                                                                                   \
  } while (0)

static void check_events(colo__os_seg_t *s, uint32_t perm, const char *label) {
  colo__os_seg_name_waits(s, 0x5eedf00d12345678ull ^ (uint64_t)perm);
  cr_assert_str_eq(colo__os_seg_wait_how(s), "named events", "%s", label);
  for (int i = 0; i < COLO__WIN_WAITS; i++) check_sd(&EVENT, s->ev[i], NULL, perm, label);
}

/* Makes a segment of kind with perm; its label in label. */
static colo__os_seg_t *seg_make(colo__ep_kind_t kind, uint32_t perm, char *name, size_t cap, char *label,
                                size_t lcap) {
  if (kind == COLO__EP_SHM) tu_shm_name(name, cap, "sd");
  else tu_tmp_path(name, cap, "sd.seg");
  colo__os_seg_t *s = NULL;
  int rc = colo__os_seg_create(&s, kind, name, 65536, perm, 0, MARK, sizeof MARK, 0);
  cr_assert_eq(rc, 0, "create %s: %s", name, colo_last_error());
  snprintf(label, lcap, "%s %s, perm %o", kind == COLO__EP_SHM ? "shm" : "file", name, perm);
  return s;
}

static void seg_done(colo__os_seg_t *s, colo__ep_kind_t kind, const char *name) {
  colo__os_seg_close(s);
  if (kind == COLO__EP_FILE) colo__os_seg_remove(kind, name);
}

Test(sd, a_section_and_its_events_grant_this_user_alone_unless_perm_says_more) {
  for (size_t i = 0; i < NPERMS; i++) {
    char name[300], label[400];
    colo__os_seg_t *s = seg_make(COLO__EP_SHM, PERMS[i], name, sizeof name, label, sizeof label);
    check_sd(&SECTION, s->map, NULL, PERMS[i], label);
    check_events(s, PERMS[i], label);
    seg_done(s, COLO__EP_SHM, name);
  }
}

Test(sd, a_mapped_files_events_grant_this_user_alone_unless_perm_says_more) {
  for (size_t i = 0; i < NPERMS; i++) {
    char name[300], label[400];
    colo__os_seg_t *s = seg_make(COLO__EP_FILE, PERMS[i], name, sizeof name, label, sizeof label);
    check_events(s, PERMS[i], label);
    seg_done(s, COLO__EP_FILE, name);
  }
}

Test(sd, a_sections_lock_file_and_a_mapped_file_grant_this_user_alone_unless_perm_says_more) {
  NEED_FILE_SDS();
  for (size_t i = 0; i < NPERMS; i++) {
    char name[300], label[400];
    colo__os_seg_t *s = seg_make(COLO__EP_SHM, PERMS[i], name, sizeof name, label, sizeof label);
    check_sd(&FILE_, s->lockf, NULL, PERMS[i], label);
    seg_done(s, COLO__EP_SHM, name);
    s = seg_make(COLO__EP_FILE, PERMS[i], name, sizeof name, label, sizeof label);
    check_sd(&FILE_, s->file, NULL, PERMS[i], label);
    /* By name too: what a new open of the path finds. */
    wchar_t wpath[600];
    cr_assert_eq(colo__win_path(name, wpath, sizeof wpath / sizeof wpath[0]), 0);
    check_sd(&FILE_, NULL, wpath, PERMS[i], label);
    seg_done(s, COLO__EP_FILE, name);
  }
}

Test(sd, a_pipe_listeners_instance_grants_this_user_alone_unless_perm_says_more) {
  for (size_t i = 0; i < NPERMS; i++) {
    char label[200];
    colo__endpoint_t ep, actual;
    memset(&ep, 0, sizeof ep);
    ep.kind = COLO__EP_PIPE;
    tu_pipe_name(ep.name, sizeof ep.name, "sd");
    colo__os_lsock_t *l = NULL;
    int rc = colo__os_listen(&l, &ep, PERMS[i], &actual);
    cr_assert_eq(rc, 0, "listen pipe://%s: %s", ep.name, colo_last_error());
    cr_assert_neq(l->inst, INVALID_HANDLE_VALUE, "the listener has an instance waiting");
    snprintf(label, sizeof label, "pipe://%s, perm %o", ep.name, PERMS[i]);
    check_sd(&PIPE, l->inst, NULL, PERMS[i], label);
    colo__os_listen_close(l);
  }
}

/* Through the public API, by the names a stranger would open: the default
 * perm (0600) and 0660. */
static colo_listener_t *listen_shm(int group, char *name, size_t cap, uint32_t *perm, char *label, size_t lcap) {
  char ep[200];
  tu_shm_name(name, cap, "sdapi");
  snprintf(ep, sizeof ep, "shm://%s", name);
  colo_opts_t o;
  colo_opts_init(&o);
  if (group) o.perm = 0660;
  *perm = o.perm;
  colo_listener_t *l = NULL;
  int rc = colo_listen(&l, ep, &o);
  cr_assert_eq(rc, 0, "colo_listen %s: %s", ep, colo_last_error());
  snprintf(label, lcap, "%s, perm %o", ep, *perm);
  return l;
}

Test(sd, colo_listen_makes_a_section_for_this_user_alone_by_default) {
  for (int group = 0; group < 2; group++) {
    char name[128], label[300];
    uint32_t perm;
    colo_listener_t *l = listen_shm(group, name, sizeof name, &perm, label, sizeof label);
    cr_assert_eq(perm, group ? 0660u : 0600u, "the default perm is 0600, not %o", perm);
    wchar_t wname[200];
    swprintf(wname, sizeof wname / sizeof wname[0], L"Local\\colo.%hs", name);
    HANDLE m = OpenFileMappingW(READ_CONTROL, FALSE, wname);
    cr_assert(m, "OpenFileMapping %ls: error %lu", wname, GetLastError());
    check_sd(&SECTION, m, NULL, perm, label);
    CloseHandle(m);
    colo_listener_close(l);
  }
}

Test(sd, colo_listen_makes_a_lock_file_for_this_user_alone_by_default) {
  NEED_FILE_SDS();
  for (int group = 0; group < 2; group++) {
    char name[128], label[300];
    uint32_t perm;
    colo_listener_t *l = listen_shm(group, name, sizeof name, &perm, label, sizeof label);
    wchar_t lock[600];
    DWORD n = GetEnvironmentVariableW(L"ProgramData", lock, 400);
    cr_assert(n > 0 && n < 400, "%%ProgramData%%");
    DWORD session = 0;
    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    swprintf(lock + n, 600 - n, L"\\colo\\colo.s%lu.%hs.lock", (unsigned long)session, name);
    check_sd(&FILE_, NULL, lock, perm, label);
    colo_listener_close(l);
  }
}

/* ---- the shm:// lock files ------------------------------------------------------------- */

static void lock_file_of(const char *name, wchar_t *out, size_t cap) {
  DWORD n = GetEnvironmentVariableW(L"ProgramData", out, (DWORD)cap);
  cr_assert(n > 0 && n + 64 < cap, "%%ProgramData%%");
  DWORD session = 0;
  ProcessIdToSessionId(GetCurrentProcessId(), &session);
  swprintf(out + n, cap - n, L"\\colo\\colo.s%lu.%hs.lock", (unsigned long)session, name);
}

static int exists(const wchar_t *path) { return GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES; }

Test(lock, the_last_handle_of_a_section_removes_its_lock_file_and_none_before) {
  char name[128];
  tu_shm_name(name, sizeof name, "lockrm");
  wchar_t lock[600];
  lock_file_of(name, lock, 600);
  colo__os_seg_t *c = NULL, *o = NULL, *r = NULL;
  cr_assert_eq(colo__os_seg_create(&c, COLO__EP_SHM, name, 65536, 0600, 0, MARK, sizeof MARK, 0), 0, "%s",
               colo_last_error());
  cr_assert(exists(lock), "the listener made %ls", lock);
  cr_assert_eq(colo__os_seg_open(&o, COLO__EP_SHM, name, COLO__SEG_MAP), 0, "%s", colo_last_error());
  cr_assert_eq(colo__os_seg_hold(o, 1), 0, "%s", colo_last_error());
  cr_assert_eq(colo__os_seg_open(&r, COLO__EP_SHM, name, 0), 0, "a read-only look: %s", colo_last_error());
  colo__os_seg_close(r);
  cr_assert(exists(lock), "a look does not remove it from under the two sides");
  colo__os_seg_close(c);
  cr_assert(exists(lock), "the peer still holds it");
  cr_assert_eq(colo__os_seg_probe(o, 0), 0, "and sees the listener gone");
  colo__os_seg_close(o);
  cr_assert_not(exists(lock), "the last one out removed %ls", lock);
}

typedef struct churn {
  char name[128];
  volatile LONG stop;
  int opens, bad_open;
  char why[300];
} churn_t;

static void *opener(void *arg) {
  churn_t *c = arg;
  while (!c->stop) {
    colo__os_seg_t *s = NULL;
    int rc = colo__os_seg_open(&s, COLO__EP_SHM, c->name, COLO__SEG_MAP);
    if (rc == 0) {
      c->opens++;
      colo__os_seg_hold(s, 1);
      colo__os_seg_close(s);
    } else if (rc != COLO_ENOENT && !c->bad_open) {
      c->bad_open = rc;
      snprintf(c->why, sizeof c->why, "%s", colo_last_error());
    }
  }
  return NULL;
}

/* The last one out opens the lock file sharing nothing, for an instant, to
 * see whether it may remove it: whoever opens it then waits that out. */
Test(lock, listeners_and_openers_racing_the_last_close_never_fail_for_it) {
  churn_t c = {0};
  tu_shm_name(c.name, sizeof c.name, "lockrace");
  tu_thread_t t;
  cr_assert_eq(tu_thread_start(&t, opener, &c), 0);
  int made = 0, bad = 0;
  char why[300] = "";
  for (int i = 0; i < 400; i++) {
    colo__os_seg_t *s = NULL;
    int rc = colo__os_seg_create(&s, COLO__EP_SHM, c.name, 65536, 0600, 0, MARK, sizeof MARK, 0);
    if (rc == 0) {
      made++;
      colo__os_seg_close(s);
    } else if (rc != COLO_EEXIST && !bad) { /* EEXIST: the opener holds the last one still */
      bad = rc;
      snprintf(why, sizeof why, "%s", colo_last_error());
    }
  }
  c.stop = 1;
  tu_thread_join(&t);
  cr_assert_eq(bad, 0, "a listener failed: %s: %s", colo_errname(bad), why);
  cr_assert_eq(c.bad_open, 0, "an opener failed: %s: %s", colo_errname(c.bad_open), c.why);
  cr_assert_gt(made, 100, "%d of 400 listens", made);
  cr_assert_gt(c.opens, 0, "the opener met a listener");
  wchar_t lock[600];
  lock_file_of(c.name, lock, 600);
  cr_assert_not(exists(lock), "nothing is left once both are done");
}
