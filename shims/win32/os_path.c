/*
 * os_path.c - which paths Windows can use as endpoints (colo__os_path_check),
 * and the conversion of an endpoint's path to a Windows path.
 *
 * file:// and unix:// name a drive-letter path in URL form,
 * file:///C:/dir/seg (the part after "file://" is "/C:/dir/seg"); under Wine
 * the Linux tree is drive Z:. pipe:// names a pipe, pipe://NAME: the pipe
 * \\.\pipe\colo.NAME (the pipe namespace is flat).
 */
#include <string.h>

#include "win32.h"

/* sun_path holds 108 bytes with the terminator (afunix.h). */
#define UNIX_PATH_MAX_LEN 107

static int drive_path(const char *p) {
  return p[0] == '/' && ((p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z')) && p[2] == ':' &&
         (p[3] == '/' || p[3] == '\\');
}

static int pipe_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

const char *colo__os_kind_how(colo__ep_kind_t kind) {
  switch (kind) {
  case COLO__EP_SHM: return "a pagefile-backed section, Local\\colo.NAME (Global\\ with shm_global)";
  case COLO__EP_FILE: return "a mapping of a real file";
  case COLO__EP_UNIX: return "an AF_UNIX socket";
  case COLO__EP_PIPE: return "a named pipe \\\\.\\pipe\\colo.NAME, an instance per connection";
  case COLO__EP_TCP: return "Winsock TCP with TCP_NODELAY";
  case COLO__EP_COLO: return "a named pipe rendezvous";
  default: return "";
  }
}

int colo__win_reserved_leaf(const char *path) {
  const char *leaf = path;
  for (const char *p = path; *p; p++)
    if (*p == '/' || *p == '\\') leaf = p + 1;
  static const char *const names[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
  size_t n = strcspn(leaf, "."); /* "NUL.txt" is NUL too */
  while (n > 0 && leaf[n - 1] == ' ') n--;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (n == strlen(names[i]) && _strnicmp(leaf, names[i], n) == 0) return 1;
  if (n == 4 && (_strnicmp(leaf, "COM", 3) == 0 || _strnicmp(leaf, "LPT", 3) == 0) && leaf[3] >= '0' && leaf[3] <= '9')
    return 1;
  return 0;
}

int colo__os_path_check(colo__ep_kind_t kind, const char *path) {
  size_t len = strlen(path);
  if (kind == COLO__EP_PIPE) {
    if (len == 0 || len > COLO__NAME_MAX)
      return colo__err(COLO_EINVAL, "a pipe:// name has 1 to %d characters (pipe://NAME is \\\\.\\pipe\\colo.NAME)",
                       COLO__NAME_MAX);
    for (size_t i = 0; i < len; i++)
      if (!pipe_char_ok(path[i]))
        return colo__err(COLO_EINVAL, "a pipe:// name may hold only letters, digits, '.', '_' and '-' "
                                      "(pipe://NAME is \\\\.\\pipe\\colo.NAME)");
    return 0;
  }
  if (!drive_path(path))
    return colo__err(COLO_EINVAL, "a drive-letter path is needed (%s)",
                     kind == COLO__EP_FILE ? "file:///C:/dir/seg" : kind == COLO__EP_COLO ? "colo:///C:/dir/sock"
                                                                                          : "unix:///C:/dir/sock");
  if ((kind == COLO__EP_UNIX || kind == COLO__EP_COLO) && len - 1 > UNIX_PATH_MAX_LEN)
    return colo__err(COLO_EINVAL, "a socket path has at most %d bytes", UNIX_PATH_MAX_LEN);
  if (len > COLO__PATH_MAX) return colo__err(COLO_EINVAL, "path too long");
  if (path[len - 1] == '/' || path[len - 1] == '\\') return colo__err(COLO_EINVAL, "the path names a directory");
  if (colo__win_reserved_leaf(path))
    return colo__err(COLO_EINVAL, "the path names a device (CON, NUL, COM1, ... are devices in every directory)");
  for (size_t i = 1; i < len; i++) {
    unsigned char c = (unsigned char)path[i];
    /* Windows drops a trailing dot or space from a name: "seg." would be
     * "seg", a name changed behind the user's back. */
    if ((c == '.' || c == ' ') && (i + 1 == len || path[i + 1] == '/' || path[i + 1] == '\\') &&
        !(c == '.' && (path[i - 1] == '/' || (path[i - 1] == '.' && path[i - 2] == '/'))))
      return colo__err(COLO_EINVAL, "a Windows name may not end in a dot or a space (it would be dropped)");
    /* What Windows forbids in a name, and the stream syntax (C:\f:stream). */
    if (c < 32 || c == '<' || c == '>' || c == '"' || c == '|' || c == '?' || c == '*' || (c == ':' && i != 2))
      return colo__err(COLO_EINVAL, "a Windows path may not hold control characters or < > \" | ? * :");
  }
  return 0;
}

int colo__win_path(const char *url_path, wchar_t *out, size_t cap) {
  int rc = colo__win_wide(url_path + 1, out, cap, "the path");
  if (rc) return rc;
  for (wchar_t *w = out; *w; w++)
    if (*w == L'/') *w = L'\\';
  return 0;
}
