/*
 * helper.h - what helper.c shares with the roles in helper_posix.c and
 * helper_win32.c.
 */
#ifndef COLO_TESTS_HELPER_H
#define COLO_TESTS_HELPER_H

#include "colo.h"

/* "helper: WHAT: CODE: detail" on stderr; returns 1. */
int helper_die(const char *what, int rc);
/* "ready" on stdout, flushed. */
void helper_ready(void);
/* Each exits the helper (helper_die) when it fails. */
colo_chan_t *helper_connect_or_exit(const char *ep, colo_wait_mode_t mode);
colo_listener_t *helper_listen_or_exit(const char *ep);
colo_chan_t *helper_accept_or_exit(colo_listener_t *l);

/* Runs ROLE when it is one of the platform's own (argv[1] is the role,
 * argv[2] the endpoint): its exit code, or -1 when it is not such a role. */
int helper_os_role(const char *role, int argc, char **argv);

#endif
