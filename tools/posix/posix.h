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

/* errno -> COLO_E* (the mapping libcolo's shim uses), with "what obj:
 * strerror" as the detail ("what: strerror" when obj is NULL). */
int tos_posix_err(int e, const char *what, const char *obj);

/* The safe walk to a file, libcolo's own code compiled for the tools
 * (shims/posix/walk.h with COLO_WALK_FOR_TOOLS): tos_walk_open_dir,
 * tos_walk_open_leaf, tos_walk_make_parents, tos_walk_unlink,
 * tos_walk_rename_in_dir, tos_walk_type_name. */
#ifndef COLO_WALK_FOR_TOOLS
#  error "the tools' posix layer is built with COLO_WALK_FOR_TOOLS (CMakeLists.txt)"
#endif
#include "../../shims/posix/walk.h"

#endif
