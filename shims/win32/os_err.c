/*
 * os_err.c - Win32 errors as colo's codes, with the system's own words, and
 * UTF-8 <-> UTF-16 conversion of names.
 */
#include <stdio.h>
#include <string.h>

#include "win32.h"
#include "edge.h"

int colo__win_code(DWORD e) {
  switch (e) {
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_BAD_NETPATH:
  case ERROR_BAD_NET_NAME:
  case ERROR_PIPE_NOT_CONNECTED:
  case WSAECONNREFUSED:
  case WSAEHOSTUNREACH:
  case WSAENETUNREACH:
    return COLO_ENOENT;
  case ERROR_ACCESS_DENIED:
  case ERROR_PRIVILEGE_NOT_HELD:
  case ERROR_SHARING_VIOLATION:
  case ERROR_LOCK_VIOLATION:
  case ERROR_WRITE_PROTECT:
  case ERROR_NOT_OWNER:
  case WSAEACCES:
    return COLO_EPERM;
  case ERROR_FILE_EXISTS:
  case ERROR_ALREADY_EXISTS:
  case WSAEADDRINUSE:
    return COLO_EEXIST;
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
  case ERROR_COMMITMENT_LIMIT:
  case ERROR_COMMITMENT_MINIMUM:
  case ERROR_PAGEFILE_QUOTA:
  case ERROR_NO_SYSTEM_RESOURCES:
    return COLO_ENOSPC;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case WSAENOBUFS:
    return COLO_ENOMEM;
  case ERROR_PIPE_BUSY:
  case ERROR_IO_PENDING:
  case WSAEWOULDBLOCK:
  case WSAEINPROGRESS:
    return COLO_EAGAIN;
  case ERROR_TIMEOUT:
  case WAIT_TIMEOUT:
  case ERROR_SEM_TIMEOUT:
  case WSAETIMEDOUT:
    return COLO_ETIMEDOUT;
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_PIPE_LISTENING:
  case ERROR_NETNAME_DELETED:
  case WSAECONNRESET:
  case WSAECONNABORTED:
  case WSAESHUTDOWN:
    return COLO_EPEERDEAD;
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
  case ERROR_FILENAME_EXCED_RANGE:
  case ERROR_DIRECTORY:
  case ERROR_INVALID_PARAMETER:
  case WSAEINVAL:
  case WSAEAFNOSUPPORT:
  case WSAEADDRNOTAVAIL:
    return COLO_EINVAL;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
  case WSAEOPNOTSUPP:
  case WSAEPROTONOSUPPORT:
    return COLO_ENOTSUP;
  default:
    return COLO_EIO;
  }
}

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
