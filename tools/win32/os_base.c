/*
 * os_base.c - errors, clocks, sleeping, randomness, the stop events and the
 * standard streams of the colo command on Windows (the "every platform" part
 * of tools/os.h). The command cannot call the shim's own clock, random and
 * error functions (colo.dll hides them), so both include shims/win32/edge.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "win32.h"
#include "shims/win32/edge.h"

/* ---- errors (the detail itself: tools/os_err.c) ------------------------------------------ */

int tos_win_err(DWORD e, const char *what, const char *obj) {
  char msg[512];
  colo__wedge_message(e, msg, sizeof msg);
  int code = colo__wedge_code(e);
  if (!obj) return tos_err(code, "%s: %s (error %lu)", what, msg, (unsigned long)e);
  return tos_err(code, "%s %s: %s (error %lu)", what, obj, msg, (unsigned long)e);
}

/* ---- clocks, sleeping, randomness ------------------------------------------------------ */

uint64_t tos_now_ns(void) { return colo__wedge_now_ns(); }
void tos_sleep_ns(uint64_t ns) { colo__wedge_sleep_ns(ns); }
void tos_random(void *buf, size_t len) { colo__wedge_random(buf, len); }

/* ---- the futex (colo probe, not built on Windows) ---------------------------------------- */

/* WaitOnAddress wakes only threads of its own process; the library wakes a
 * channel's peer with a named event instead, and the probe that would test
 * that is not ported. Defined so the contract links whole. */
int tos_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  (void)word, (void)expect, (void)timeout_ns;
  return tos_err(COLO_ENOTSUP, "a futex shared between processes: not on Windows");
}

void tos_wake(_Atomic uint32_t *word) { (void)word; }

/* ---- stopping -------------------------------------------------------------------------- */

static void (*stop_fn)(void);
/* Manual-reset, set at a stop: it ends tos_stdin_read's wait, now and later. */
static HANDLE stop_event;
/* The thread that called tos_catch_stop (a real handle, not the pseudo one):
 * its blocked write to stdout is cancelled at a stop, and a console closing
 * waits for it to end. */
static HANDLE main_thread;

/* Windows runs this in a new thread of the process for each event. */
static BOOL WINAPI on_ctrl(DWORD type) {
  switch (type) {
  case CTRL_C_EVENT:
  case CTRL_BREAK_EVENT:
  case CTRL_CLOSE_EVENT:
  case CTRL_LOGOFF_EVENT:
  case CTRL_SHUTDOWN_EVENT: break;
  default: return FALSE;
  }
  stop_fn();
  if (stop_event) SetEvent(stop_event);
  /* colo recv blocked writing to a full pipe: Windows cancels the write (the
   * C runtime sees it fail, cli_stop says why). Wine 8 finds no I/O to
   * cancel on a Unix pipe; the write then ends when the reader reads. */
  if (main_thread) CancelSynchronousIo(main_thread);
  if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT) return TRUE;
  /* The console closing, logoff, shutdown: the system ends the process as
   * soon as this returns (and after 5 s anyway), so the command's way out
   * (close the channel, remove the endpoint) must happen before. main()
   * returning ends the process, and this thread with it. */
  if (main_thread) WaitForSingleObject(main_thread, 4500);
  return TRUE;
}

void tos_catch_stop(void (*on_stop)(void)) {
  stop_fn = on_stop;
  if (!stop_event) stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!main_thread &&
      !DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &main_thread, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    main_thread = NULL;
  /* Failing (it does not, short of memory), Ctrl-C ends the process as it
   * does any program: no worse than before. */
  SetConsoleCtrlHandler(on_ctrl, TRUE);
}

/* ---- the standard streams ----------------------------------------------------------------- */

/*
 * A ReadFile of a pipe or console blocks until input comes, and nothing
 * interrupts it as a signal does on POSIX (CancelSynchronousIo is not
 * reliable for a console, nor under Wine). So a thread of its own reads
 * stdin, one chunk at a time when the command asks for one, and the command
 * waits for either that chunk or the stop event. At a stop the reader thread
 * stays blocked; the process ends around it.
 */
static struct stdin_reader {
  HANDLE thread;
  HANDLE want; /* auto-reset: the command asks for the next chunk */
  HANDLE have; /* auto-reset: the chunk is in buf */
  int console; /* stdin is a console (its Ctrl-C also ends a read) */
  /* written by: the reader thread, between want and have */
  unsigned char buf[65536];
  DWORD len, err; /* err: the failing ReadFile's GetLastError(), else 0 */
  /* the command's thread only */
  int pending;    /* asked, and the answer not taken yet */
  int avail;      /* buf[pos, len) not handed out yet */
  size_t pos;
} rd;

static DWORD WINAPI reader_main(LPVOID arg) {
  HANDLE in = arg;
  for (;;) {
    if (WaitForSingleObject(rd.want, INFINITE) != WAIT_OBJECT_0) return 1;
    DWORD n = 0;
    BOOL ok = ReadFile(in, rd.buf, sizeof rd.buf, &n, NULL);
    rd.err = ok ? 0 : GetLastError();
    rd.len = ok ? n : 0;
    SetEvent(rd.have); /* a full barrier: the command sees buf, len and err */
  }
}

/* The errno of a read of stdin that failed with Win32 error e. */
static int read_errno(DWORD e) {
  switch (e) {
  case ERROR_INVALID_HANDLE: return EBADF;
  case ERROR_ACCESS_DENIED: return EACCES;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY: return ENOMEM;
  case ERROR_OPERATION_ABORTED: return EINTR;
  default: return EIO;
  }
}

static int reader_start(void) {
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
  if (in == NULL || in == INVALID_HANDLE_VALUE) return EBADF; /* no stdin at all: as a closed fd 0 */
  rd.console = GetFileType(in) == FILE_TYPE_CHAR;
  rd.want = CreateEventW(NULL, FALSE, FALSE, NULL);
  rd.have = CreateEventW(NULL, FALSE, FALSE, NULL);
  if (rd.want && rd.have) rd.thread = CreateThread(NULL, 0, reader_main, in, 0, NULL);
  if (rd.thread) return 0;
  if (rd.want) CloseHandle(rd.want);
  if (rd.have) CloseHandle(rd.have);
  rd.want = rd.have = NULL;
  return ENOMEM;
}

long tos_stdin_read(void *buf, size_t cap) {
  if (cap == 0) return 0;
  if (!rd.avail) {
    if (!rd.thread) {
      int e = reader_start();
      if (e) {
        errno = e;
        return -1;
      }
    }
    if (!rd.pending) {
      SetEvent(rd.want);
      rd.pending = 1;
    }
    HANDLE h[2] = {rd.have, stop_event};
    DWORD w = WaitForMultipleObjects(stop_event ? 2 : 1, h, FALSE, INFINITE);
    if (w != WAIT_OBJECT_0) {
      errno = EINTR; /* a stop (or a wait that failed: the same way out) */
      return -1;
    }
    rd.pending = 0;
    /* Ctrl-C at a console also ends the read there (with nothing, or as
     * aborted), maybe before the handler's thread has set the stop: give it
     * a moment, so the stop is not taken for the end of input or an error.
     * (A Ctrl-Z at the console is an end 200 ms late; a pipe is not delayed.) */
    if (rd.console && (rd.err == ERROR_OPERATION_ABORTED || (!rd.err && rd.len == 0)) && stop_event &&
        WaitForSingleObject(stop_event, 200) == WAIT_OBJECT_0) {
      errno = EINTR;
      return -1;
    }
    /* The writer closed the pipe: the end of input, as on POSIX. */
    if (rd.err == ERROR_BROKEN_PIPE || (!rd.err && rd.len == 0)) return 0;
    if (rd.err) {
      errno = read_errno(rd.err);
      return -1;
    }
    rd.pos = 0, rd.avail = 1;
  }
  size_t n = rd.len - rd.pos;
  if (n > cap) n = cap;
  memcpy(buf, rd.buf + rd.pos, n);
  rd.pos += n;
  if (rd.pos == rd.len) rd.avail = 0;
  return (long)n;
}

void tos_stdio_binary(void) {
  /* Text mode would write each "\n" as "\r\n" and end input at a Ctrl-Z byte.
   * (stdin is read with ReadFile, below the C runtime, but a library or a
   * later change reading it through stdio gets the bytes as they are too.) */
  fflush(stdout);
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
}

int tos_stdout_errno(void) {
  int e = errno;
  DWORD w = GetLastError();
  /* The C runtime has no EPIPE for a pipe whose reader is gone: WriteFile
   * fails with ERROR_NO_DATA (Windows), ERROR_PIPE_NOT_CONNECTED (Wine) or
   * ERROR_BROKEN_PIPE, and _write reports EINVAL. */
  if (e == EINVAL && (w == ERROR_NO_DATA || w == ERROR_PIPE_NOT_CONNECTED || w == ERROR_BROKEN_PIPE)) return EPIPE;
  return e;
}
