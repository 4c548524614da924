/*
 * helper_win32.c - the test helper's POSIX-only roles (helper_posix.c), as
 * Windows answers them: "SKIP ROLE: not on this platform" on stdout, exit 0,
 * the way a role that cannot run here says so (as-nobody's SKIP).
 */
#include <stdio.h>
#include <string.h>

#include "helper.h"

int helper_os_role(const char *role, int argc, char **argv) {
  static const char *const posix_only[] = {"listen-small-shm", "serve-private-shm", "connect-junk-die",
                                           "read-lock",        "try-open",          "listen-die-sizing",
                                           "connect-fork-die"};
  (void)argc, (void)argv;
  for (size_t i = 0; i < sizeof posix_only / sizeof posix_only[0]; i++)
    if (!strcmp(role, posix_only[i])) {
      printf("SKIP %s: not on this platform\n", role);
      fflush(stdout);
      return 0;
    }
  return -1;
}
