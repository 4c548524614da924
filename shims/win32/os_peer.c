/*
 * os_peer.c - users on Windows: the security descriptors colo puts on what it
 * creates, who owns an object, and the peer_user policy (colo_opts_t).
 *
 * Users are SIDs. The administrator of the POSIX policy ("root") is the
 * Administrators group and LocalSystem here: an object they own, or a peer
 * running as them, is accepted as the user's own would be.
 */
#include "win32.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

/* ---- this process's user ---- */

static INIT_ONCE self_once = INIT_ONCE_STATIC_INIT;
static unsigned char self_sid[SECURITY_MAX_SID_SIZE];
static int self_known;

static BOOL CALLBACK read_self(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  (void)once, (void)param, (void)ctx;
  HANDLE tok;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) return TRUE;
  union {
    TOKEN_USER tu;
    unsigned char buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } u;
  DWORD got = 0;
  if (GetTokenInformation(tok, TokenUser, &u, sizeof u, &got) &&
      CopySid(sizeof self_sid, (PSID)self_sid, u.tu.User.Sid))
    self_known = 1;
  CloseHandle(tok);
  return TRUE;
}

PSID colo__win_self_sid(void) {
  InitOnceExecuteOnce(&self_once, read_self, NULL, NULL);
  return self_known ? (PSID)self_sid : NULL;
}

void colo__win_sid_desc(PSID sid, char *buf, size_t cap) {
  char name[256], domain[256];
  DWORD nlen = sizeof name, dlen = sizeof domain;
  SID_NAME_USE use;
  if (LookupAccountSidA(NULL, sid, name, &nlen, domain, &dlen, &use)) {
    if (domain[0])
      snprintf(buf, cap, "%s\\%s", domain, name);
    else
      snprintf(buf, cap, "%s", name);
    return;
  }
  char *str = NULL;
  if (ConvertSidToStringSidA(sid, &str)) {
    snprintf(buf, cap, "%s", str);
    LocalFree(str);
  } else {
    snprintf(buf, cap, "an unknown user");
  }
}

/* ---- security descriptors ---- */

int colo__win_sa_make(colo__win_sa_t *out, uint32_t perm) {
  memset(out, 0, sizeof *out);
  PSID self = colo__win_self_sid();
  if (!self) return colo__err(COLO_EIO, "cannot read this process's user from its token");
  char *me = NULL;
  if (!ConvertSidToStringSidA(self, &me)) return colo__win_last("ConvertSidToStringSid", NULL);
  /* O: owner; D:P a protected DACL (nothing inherited): GA for this user;
   * for authenticated users GR when group or others may read, GW when they
   * may write (Windows has no group of the object's own). */
  char sddl[256], au[32] = "";
  if (perm & 0066) snprintf(au, sizeof au, "(A;;%s%s;;;AU)", (perm & 0044) ? "GR" : "", (perm & 0022) ? "GW" : "");
  int n = snprintf(sddl, sizeof sddl, "O:%sD:P(A;;GA;;;%s)%s", me, me, au);
  LocalFree(me);
  if (n < 0 || (size_t)n >= sizeof sddl) return colo__err(COLO_EINVAL, "a security descriptor too long for its buffer");
  PSECURITY_DESCRIPTOR sd = NULL;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
    return colo__win_last("ConvertStringSecurityDescriptorToSecurityDescriptor", sddl);
  out->sd = sd;
  out->sa.nLength = sizeof out->sa;
  out->sa.lpSecurityDescriptor = sd;
  out->sa.bInheritHandle = FALSE;
  return 0;
}

void colo__win_sa_free(colo__win_sa_t *sa) {
  if (sa->sd) LocalFree(sa->sd);
  sa->sd = NULL;
}

int colo__win_owner(HANDLE h, int is_file, PSID *sid, PSECURITY_DESCRIPTOR *sd) {
  *sid = NULL, *sd = NULL;
  DWORD e = GetSecurityInfo(h, is_file ? SE_FILE_OBJECT : SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, sid, NULL,
                            NULL, NULL, sd);
  if (e != ERROR_SUCCESS) return colo__win_err(e, "GetSecurityInfo", NULL);
  if (!*sid) {
    LocalFree(*sd);
    *sd = NULL;
    return colo__err(COLO_EPERM, "the object has no owner");
  }
  return 0;
}

/* ---- the policy ---- */

int colo__win_sid_is_admin(PSID sid) {
  return IsWellKnownSid(sid, WinBuiltinAdministratorsSid) || IsWellKnownSid(sid, WinLocalSystemSid);
}

int colo__win_sid_is_self_or_admin(PSID sid) {
  PSID self = colo__win_self_sid();
  return (self && EqualSid(sid, self)) || colo__win_sid_is_admin(sid);
}

int colo__win_check_sid(const colo__os_peers_t *p, PSID sid, const char *what, const char *relation) {
  if (p->anyone || colo__win_sid_is_self_or_admin(sid)) return 0;
  if (p->has_extra && EqualSid(sid, (PSID)p->sid)) return 0;
  char desc[200];
  colo__win_sid_desc(sid, desc, sizeof desc);
  return colo__err(COLO_EPERM, "%s %s %s; refused (colo accepts this user, the administrators and SYSTEM; "
                   "name another with peer_user, or --peer-user)", what, relation, desc);
}

int colo__os_peers_parse(const char *spec, colo__os_peers_t *out) {
  memset(out, 0, sizeof *out);
  if (!spec || !*spec) return 0;
  if (strlen(spec) >= sizeof out->spec) return colo__err(COLO_EINVAL, "peer_user '%.40s...' is too long", spec);
  snprintf(out->spec, sizeof out->spec, "%s", spec);
  if (strcmp(spec, "*") == 0) {
    out->anyone = 1;
    return 0;
  }
  PSID sid = NULL;
  if (strncmp(spec, "S-1-", 4) == 0 && ConvertStringSidToSidA(spec, &sid)) {
    int ok = CopySid(sizeof out->sid, (PSID)out->sid, sid);
    LocalFree(sid);
    if (!ok) return colo__err(COLO_EINVAL, "peer_user %s: a SID too long", spec);
    out->has_extra = 1;
    return 0;
  }
  DWORD sidlen = sizeof out->sid;
  char domain[256];
  DWORD dlen = sizeof domain;
  SID_NAME_USE use;
  if (!LookupAccountNameA(NULL, spec, (PSID)out->sid, &sidlen, domain, &dlen, &use))
    return colo__err(COLO_EINVAL, "peer_user %s: no such user (give DOMAIN\\name, name, a SID S-1-... or *)", spec);
  out->has_extra = 1;
  return 0;
}
