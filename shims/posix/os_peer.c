/*
 * os_peer.c - who may be at the other end of a channel (colo_opts_t.peer_user):
 * this process's own user, root, and one more user or anyone.
 *
 * Other local users share /dev/shm and /tmp: whoever makes an endpoint first
 * owns it. A connector therefore checks who owns the segment, the FIFO or the
 * process listening on the socket before it sends anything, and a listener
 * checks who is connecting where the transport tells (SO_PEERCRED, the owner
 * of a pipe pair).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../shim.h"
#include "posix.h"

int colo__os_peers_parse(const char *spec, colo__os_peers_t *out) {
  memset(out, 0, sizeof out[0]);
  if (!spec || !spec[0]) return 0;
  if (strlen(spec) >= sizeof out->spec)
    return colo__err(COLO_EINVAL, "options: peer_user '%.32s...' is too long", spec);
  snprintf(out->spec, sizeof out->spec, "%s", spec);
  if (strcmp(spec, "*") == 0) {
    out->anyone = 1;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long v = strtoul(spec, &end, 10);
  if (spec[0] >= '0' && spec[0] <= '9' && !*end && !errno && v <= 0xfffffffeul) {
    out->has_extra = 1, out->extra = v;
    return 0;
  }
  struct passwd pw, *res = NULL;
  char buf[2048];
  if (getpwnam_r(spec, &pw, buf, sizeof buf, &res) != 0 || !res)
    return colo__err(COLO_EINVAL, "options: peer_user '%s' is no user of this system (a name, a numeric uid or *)", spec);
  out->has_extra = 1, out->extra = pw.pw_uid;
  return 0;
}

void colo__posix_user_desc(uid_t uid, char *buf, size_t cap) {
  struct passwd pw, *res = NULL;
  char tmp[1024];
  if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
    snprintf(buf, cap, "%s (uid %u)", pw.pw_name, (unsigned)uid);
  else
    snprintf(buf, cap, "uid %u", (unsigned)uid);
}

int colo__posix_check_uid(const colo__os_peers_t *p, uid_t uid, const char *what, const char *relation) {
  uid_t me = geteuid();
  if (p->anyone || uid == me || uid == 0 || (p->has_extra && uid == (uid_t)p->extra)) return 0;
  char who[96], self[96];
  colo__posix_user_desc(uid, who, sizeof who);
  colo__posix_user_desc(me, self, sizeof self);
  return colo__err(COLO_EPERM, "%s %s %s; refused: this process accepts its own user (%s)%s%s and root, as any local "
                   "user can make an endpoint (opts.peer_user, colo --peer-user, names a user to accept; * anyone)",
                   what, relation, who, self, p->has_extra ? ", " : "", p->has_extra ? p->spec : "");
}

int colo__posix_forked_err(const char *what) {
  return colo__err(COLO_ESTATE, "%s: this process inherited it across fork(); only the process that opened it may "
                   "use it", what);
}
