/*
 * os_err.c - Win32 errors as colo's codes, with the system's own words, and
 * UTF-8 <-> UTF-16 conversion of names.
 */
#include <stdio.h>
#include <string.h>

#include "win32.h"
#include "edge.h"

int colo__win_code(DWORD e) { return colo__wedge_code(e); }

int colo__win_err(DWORD e, const char *what, const char *obj) {
  char msg[256];
  colo__wedge_message(e, msg, sizeof msg);
  int code = colo__wedge_code(e);
  if (obj) return colo__err(code, "%s %s: %s (error %lu)", what, obj, msg, (unsigned long)e);
  return colo__err(code, "%s: %s (error %lu)", what, msg, (unsigned long)e);
}

int colo__win_last(const char *what, const char *obj) { return colo__win_err(GetLastError(), what, obj); }

int colo__win_wide(const char *s, wchar_t *out, size_t cap, const char *what) {
  if (cap > INT32_MAX) cap = INT32_MAX;
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, (int)cap);
  if (n > 0) return 0;
  if (GetLastError() == ERROR_INSUFFICIENT_BUFFER)
    return colo__err(COLO_EINVAL, "%s is too long for a Windows name (%zu UTF-16 units at most)", what, cap - 1);
  return colo__err(COLO_EINVAL, "%s is not valid UTF-8", what);
}

int colo__win_utf8(const wchar_t *s, char *out, size_t cap, const char *what) {
  if (cap > INT32_MAX) cap = INT32_MAX;
  int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, s, -1, out, (int)cap, NULL, NULL);
  if (n > 0) return 0;
  if (GetLastError() == ERROR_INSUFFICIENT_BUFFER)
    return colo__err(COLO_EINVAL, "%s is too long (%zu bytes at most)", what, cap - 1);
  return colo__err(COLO_EINVAL, "%s is not valid UTF-16", what);
}
