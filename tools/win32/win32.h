/*
 * win32.h - private to tools/win32: the Windows headers as the command's
 * layer includes them, and its error reporting (the counterpart of
 * tools/posix/posix.h). The command cannot call the shim's colo__win_*
 * helpers: they are internal to colo.dll.
 */
#ifndef COLO_TOOLS_WIN32_H
#define COLO_TOOLS_WIN32_H

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#  define _WIN32_WINNT 0x0A00 /* Windows 10, as the shim: high-resolution waitable timers (1803) */
#endif
#include <windows.h>

#include "tools/os.h"

/* A Win32 error as a COLO_E* code, with "what obj: <the system's message>
 * (error e)" as the detail ("what: ..." when obj is NULL). */
int tos_win_err(DWORD e, const char *what, const char *obj);

#endif
