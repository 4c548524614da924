/*
 * os.h - the OS contract of the colo command (cli/, bench/): what the tools
 * need of the system that libcolo does not offer through include/colo.h.
 * Not part of libcolo: the library never starts processes, copies root
 * filesystems or inspects mounts, and the command reaches the library only
 * through its public API (it links the shared libcolo, where every internal
 * symbol is hidden). tools/posix/ implements this for Linux; a platform
 * without an implementation builds the command without the subcommands that
 * need it (TOS_HAVE_* below, set by CMake).
 *
 * Conventions: 0 or a negative COLO_E* code (include/colo.h's codes, so one
 * colo_strerror() names both); the OS's own words for a failure go into
 * tos_last_error() (not colo_last_error(): the library's detail is its own,
 * and the command prints each with its own cli_fail*). Timeouts are
 * milliseconds (the command's unit), -1 meaning none, except where a name
 * says _ns.
 *
 * Features, defined by CMake for the platforms whose layer has them:
 *   TOS_HAVE_PROC        child processes, CPUs, the shared mapping (colo bench)
 *   TOS_HAVE_CONTAINERS  network namespaces, the root filesystem (bench
 *                        --containers, tcp-netns, colo rootfs)
 *   TOS_HAVE_PROBE       filesystems, scratch files, namespaces (colo probe)
 */
#ifndef COLO_TOOLS_OS_H
#define COLO_TOOLS_OS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "colo.h"

/* ---- errors ------------------------------------------------------------------------ */

/* The detail of the last failing tos_ call in this thread (never NULL; "" when none). */
const char *tos_last_error(void);
/* For the OS layers (tools/<os>/, tools/os_err.c): sets tos_last_error() to
 * the formatted detail; returns code. */
int tos_err(int code, const char *fmt, ...)
#if defined(COLO_PRINTF_ARCHETYPE)
    __attribute__((format(COLO_PRINTF_ARCHETYPE, 2, 3)))
#elif defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- clocks, sleeping, randomness (every platform) -------------------------------------- */

/* Monotonic clock, nanoseconds: what the benchmark's loops time with, so it
 * is the cheapest precise clock there is (CLOCK_MONOTONIC via the vDSO on
 * Linux, the same clock libcolo's deadlines use). */
uint64_t tos_now_ns(void);
/* Sleeps about ns nanoseconds (may return early on a signal). */
void tos_sleep_ns(uint64_t ns);
/* Fills buf with unpredictable bytes (never fails; falls back to clock mixing). */
void tos_random(void *buf, size_t len);

/* ---- stopping, and the standard streams (every platform) ------------------------------- */

/*
 * Calls on_stop when the user or the system asks the command to stop: SIGINT,
 * SIGTERM and SIGHUP on POSIX; Ctrl-C, Ctrl-Break, the console closing, logoff
 * and shutdown on Windows. on_stop runs in a signal handler (POSIX) or in a
 * thread of its own (Windows), so it may only set a flag. A tos_stdin_read()
 * waiting for input, or a write to a full stdout, then ends with an error
 * (EINTR on POSIX; on Windows the write is cancelled where the system can
 * cancel it), so the command gets to close its channel and remove its
 * endpoint. A closed stdout is a failing write (tos_stdout_errno() EPIPE) on
 * every platform: SIGPIPE is ignored. Call it from the thread that does the
 * command's reads and writes.
 */
void tos_catch_stop(void (*on_stop)(void));

/* Reads at most cap bytes of stdin, as read(2) does: how many (0 at the end
 * of input), or -1 with errno set, EINTR once a stop arrived (tos_catch_stop)
 * while it waited. On Windows a blocked read cannot be interrupted, so a
 * thread of its own does the reading and the wait ends at a stop. */
long tos_stdin_read(void *buf, size_t cap);

/* Puts stdin and stdout in binary mode: message bytes pass unchanged, with no
 * CRLF translation and no end at a Ctrl-Z (Windows); nothing to do on POSIX. */
void tos_stdio_binary(void);

/* The errno of a write to stdout (fwrite, putchar, fflush) that just failed,
 * called right after it: EPIPE when the reader is gone, whatever name the C
 * runtime has for that (Windows' reports a broken pipe as EINVAL). */
int tos_stdout_errno(void);

/* ---- the platform in the command's help (every platform) ------------------------------- */

/* What shm:// and pipe:// are here, and where colo ls and colo gc look: the
 * help names the objects a user will find (or not) on this system. The
 * pipe:// endpoint is padded to the width of "pipe:///PATH". */
#ifdef _WIN32
#  define TOS_SHM_WHAT "a named section (Local\\colo.NAME)"
#  define TOS_SHM_PLACE "Local\\colo.* (not listable)"
#  define TOS_PIPE_EP "pipe://NAME "
#  define TOS_PIPE_WHAT "a named pipe (\\\\.\\pipe\\colo.NAME)"
#  define TOS_PIPE_WHAT_LONG TOS_PIPE_WHAT
/* What stops a command the way Ctrl-C does (tos_catch_stop); TerminateProcess
 * (and a SIGTERM or SIGHUP under Wine, which ends the process so) cannot be
 * caught, and leaves what SIGKILL leaves. */
#  define TOS_STOPS "Ctrl-C, Ctrl-Break and closing the console"
#  define TOS_STOPS_SHORT "Ctrl-C, Ctrl-Break, console closed"
#else
#  define TOS_SHM_WHAT "POSIX shared memory (/dev/shm/colo.NAME)"
#  define TOS_SHM_PLACE "/dev/shm"
#  define TOS_PIPE_EP "pipe:///PATH"
#  define TOS_PIPE_WHAT "FIFOs (a request FIFO at PATH)"
#  define TOS_PIPE_WHAT_LONG "FIFOs: a request FIFO at PATH, a pair per connection"
#  define TOS_STOPS "Ctrl-C, SIGTERM and SIGHUP"
#  define TOS_STOPS_SHORT "SIGINT, SIGTERM, SIGHUP"
#endif

/* ---- a futex on a shared word (colo probe) ----------------------------------------------- */

/* Sleeps while *word == expect, at most timeout_ns, on a word in memory
 * shared between processes (not a private futex): 0 woken or the word
 * differs or a signal (the caller re-checks), COLO_ETIMEDOUT. These are the
 * system calls libcolo's own wait and wake make (shims/posix/os_wait.c), so
 * what the probe proves about them holds for a channel in block mode. */
int tos_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns);
/* Wakes every process sleeping on word. */
void tos_wake(_Atomic uint32_t *word);

/* ---- child processes (TOS_HAVE_PROC) ------------------------------------------------------------ */

typedef struct tos_proc tos_proc_t;

typedef struct tos_proc_spec {
  char **argv;        /* argv[0] is ignored: the child runs this very program */
  int cpu;            /* pin the child to this CPU before it starts; -1: not pinned */
  const char *netns;  /* enter this named network namespace (ip netns) first; NULL: none */
  char *const *prefix; /* NULL, or a command ($PATH lookup) that runs argv[1...] for us, such
                          as {"podman", "exec", "CTR", "/colo", NULL}: a program in a container */
} tos_proc_spec_t;

/*
 * Starts this program again (the running executable, not a $PATH lookup)
 * with spec's arguments, its stdout a pipe the parent reads with
 * tos_proc_line(), stdin /dev/null, stderr inherited. Descriptors made
 * inheritable with tos_shmem_create() stay open in it. Pinning and the
 * namespace are applied in the child before exec: a failure there makes the
 * spawn fail with the reason (COLO_EPERM, COLO_ENOENT, COLO_EINVAL).
 */
int tos_proc_spawn(const tos_proc_spec_t *spec, tos_proc_t **out);
/* Reads the next line the child writes on stdout (without its newline).
 * COLO_ETIMEDOUT after timeout_ms, COLO_ECLOSED when the child closed its
 * stdout (exited) first, COLO_EAGAIN when a signal arrived first (call again). */
int tos_proc_line(tos_proc_t *p, char *buf, size_t cap, int timeout_ms);
/* Waits at most timeout_ms for the child to exit; *code is its exit code, or
 * 128 + the signal that killed it. COLO_ETIMEDOUT when still running. */
int tos_proc_wait(tos_proc_t *p, int timeout_ms, int *code);
/* Kills the child (SIGKILL) if it still runs, reaps it and frees p. NULL ok. */
void tos_proc_free(tos_proc_t *p);

/*
 * Runs a system command (argv[0] looked up in $PATH) and waits for it. Its
 * stdout and stderr go to /dev/null unless show_output. Returns its exit
 * code (0..255), or COLO_ENOENT when the program is not installed.
 */
int tos_run(char *const argv[], int show_output);
/* The same, with the command's stdout and stderr in out (NUL-terminated,
 * trailing newlines dropped, cut at cap), killed after timeout_ms (-1: no
 * limit) with COLO_ETIMEDOUT. Commands run in their own process group: a
 * Ctrl-C at the terminal stops us, not them, and we clean up after them. */
int tos_run_output(char *const argv[], int timeout_ms, char *out, size_t cap);

/* ---- CPUs, usage, machine ------------------------------------------------------- */

/* The CPUs this process may run on: fills cpus[] (ascending) and returns how
 * many (at most cap). */
int tos_cpus(int *cpus, int cap);
/* Pins the calling process to one CPU. */
int tos_pin(int cpu);

typedef struct tos_usage {
  uint64_t user_ns, sys_ns; /* CPU time of this process so far */
  uint64_t peak_rss;        /* bytes */
} tos_usage_t;
void tos_usage(tos_usage_t *u);

typedef struct tos_machine {
  char cpu_model[128];
  int cpus_online;
  char kernel[200];   /* "Linux 6.1.0-... x86_64" */
  char virt[64];      /* "kvm", "xen", "none", ... as far as the system tells; "unknown" */
  char host[72];
} tos_machine_t;
void tos_machine(tos_machine_t *m);

/* 1 when running with administrative rights (root). */
int tos_is_admin(void);
/* 1 when stderr is a terminal. */
int tos_stderr_tty(void);

/* ---- a mapping shared with child processes ---------------------------------------- */

/*
 * Creates an anonymous shared mapping of size bytes, zero-filled, whose
 * handle child processes started afterwards inherit. *handle (a short text,
 * such as a descriptor number) lets a child map the same memory with
 * tos_shmem_attach(). tos_shmem_free() unmaps and closes.
 */
typedef struct tos_shmem tos_shmem_t;
int tos_shmem_create(uint64_t size, tos_shmem_t **out, char *handle, size_t cap);
int tos_shmem_attach(const char *handle, uint64_t size, tos_shmem_t **out);
void *tos_shmem_base(tos_shmem_t *m);
void tos_shmem_free(tos_shmem_t *m);

/* ---- a private directory ------------------------------------------------------------ */

/* Makes a new directory only this user can enter, for endpoints (out: its path). */
int tos_tmpdir(const char *prefix, char *out, size_t cap);
/* Removes a whole directory tree: it never follows a symbolic link and never
 * enters another mount (a volume still mounted stays untouched). Missing: 0. */
int tos_tree_remove(const char *dir);
/* mkdir with this mode (not reduced by the umask); an existing directory: 0. */
int tos_mkdir(const char *path, unsigned mode);

/* ---- a root filesystem for containers (TOS_HAVE_CONTAINERS; os_rootfs.c) ------------------------------------- */

/*
 * Fills dir (created if missing) with a minimal root filesystem that runs
 * this program in a container without any image: the executable as
 * dir/colo, every shared library it has loaded at its own path, the ELF
 * interpreter at the path the executable names, and empty mount points
 * (dev, proc, sys, tmp, etc, colo-shared). With busybox set, a static
 * /bin/busybox from the host too (a shell for debugging; COLO_ENOENT when
 * there is none). If files is not NULL, it is called with each file copied.
 */
int tos_rootfs(const char *dir, int busybox, void (*files)(void *ctx, const char *path), void *ctx);

/* ---- a directory as a medium, and who this process is (TOS_HAVE_PROBE; os_probe.c) ---- */

typedef struct tos_fsinfo {
  char fstype[32];        /* "tmpfs", "overlay", "9p", "virtiofs", "fuse", "nfs", "ext4"... or "0x…" */
  char mount_point[256];  /* the mount the path is on */
  char source[128];       /* what is mounted there */
  char options[256];      /* its mount options */
  uint64_t total, avail;  /* bytes; avail: for this user */
  uint32_t mode, uid, gid; /* of the path itself: permission bits, owner */
  int is_dir, writable, sticky, read_only;
  int mount_is_path;      /* the path itself is a mount point */
} tos_fsinfo_t;

int tos_fsinfo(const char *path, tos_fsinfo_t *fi);

/* A scratch file in the directory probed: the page serve and join both map,
 * and the checks only the probe makes (a --size reservation, MAP_SHARED
 * coherent with read(2), the same inode through each side's mapping, a lock
 * seen from the other side). Its calls are those libcolo's file:// segments
 * make (shims/posix/os_seg.c); what a segment needs beyond these checks the
 * probe takes from a file:// listener of the library itself. */
typedef struct tos_pfile tos_pfile_t;
/* Creates path exclusively (0644, so a peer under another uid can read it). */
int tos_pfile_create(const char *path, tos_pfile_t **out);
/* Opens an existing one, read and write; COLO_ENOENT while it is not there.
 * Like a segment: no link is followed, a FIFO or device is refused unopened. */
int tos_pfile_open(const char *path, tos_pfile_t **out);
/* Sets the size and reserves the blocks (no SIGBUS later): COLO_ENOSPC... */
int tos_pfile_reserve(tos_pfile_t *f, uint64_t size);
/* Maps size bytes MAP_SHARED, read and write; unmapped by close. COLO_ECORRUPT
 * when the file is shorter (a page is never mapped past its end); a later
 * truncation does not fault the process: see tos_pfile_lost. */
int tos_pfile_map(tos_pfile_t *f, uint64_t size, void **base);
/* 1 when the mapped file shrank under the mapping (it reads as zeros now). */
int tos_pfile_lost(const tos_pfile_t *f);
/* 1 when bytes written through the mapping read back through read(2). */
int tos_pfile_coherent(tos_pfile_t *f, const void *base, size_t n);
/* An open-file-description write lock on [off, off+len): 0; COLO_EBUSY when
 * another holds one; COLO_ENOTSUP when the filesystem has no such locks. */
int tos_pfile_lock(tos_pfile_t *f, uint64_t off, uint64_t len);
/* 1 when another open file description holds a write lock there (what only
 * a writer of the file can take), 0 when none does. */
int tos_pfile_locked(tos_pfile_t *f, uint64_t off, uint64_t len);
void tos_pfile_id(const tos_pfile_t *f, uint64_t *dev, uint64_t *ino);
void tos_pfile_close(tos_pfile_t *f);

/* unlink; a missing file is 0. */
int tos_remove(const char *path);
/* rename within a directory (atomic publication). */
int tos_rename(const char *from, const char *to);
/* Who this process is, to compare with a peer. */
#define TOS_NS_COUNT 7
extern const char *const tos_ns_names[TOS_NS_COUNT]; /* ipc mnt pid net user uts cgroup */
typedef struct tos_ids {
  uint64_t ns[TOS_NS_COUNT]; /* namespace inode numbers; 0 when unknown */
  char host[65];
  uint32_t pid, uid;
} tos_ids_t;
void tos_ids(tos_ids_t *ids);

#endif
