/*
 * posix.h - private to tools/posix: error reporting and the few file
 * helpers the command's POSIX layer shares between its files.
 */
#ifndef COLO_TOOLS_POSIX_H
#define COLO_TOOLS_POSIX_H

#include <sys/stat.h>
#include <sys/types.h>

#include "tools/os.h"

/* The longest path the tools build (a segment's path in libcolo has the same bound). */
#define TOS_PATH_MAX 4000

/* Sets tos_last_error() to the formatted detail; returns code. */
int tos_err(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* errno -> COLO_E* (the mapping libcolo's shim uses), with "what obj:
 * strerror" as the detail ("what: strerror" when obj is NULL). */
int tos_posix_err(int e, const char *what, const char *obj);

/* mkdir -p of path's directory (0777 less the umask). */
int tos_posix_make_parents(const char *path);

#endif
