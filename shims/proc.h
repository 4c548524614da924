/*
 * proc.h - the OS contract of the colo command's benchmark: child processes,
 * CPU pinning, resource usage, machine facts, network namespaces, and a
 * memory mapping two child processes share. Not part of libcolo: the library
 * never starts processes. shims/posix/os_proc.c implements it for Linux.
 *
 * Conventions as in shim.h: 0 or a negative COLO_E* code; the OS's own error
 * text goes into colo_last_error() through the returned code's message
 * (callers print it with cli_fail()). Timeouts are milliseconds here (the
 * command's unit), -1 meaning none.
 */
#ifndef COLO_SHIMS_PROC_H
#define COLO_SHIMS_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "shim.h" /* clocks, sleeping, randomness: the runtime's own */

/* ---- child processes ------------------------------------------------------------ */

typedef struct colo__os_proc colo__os_proc_t;

typedef struct colo__os_proc_spec {
  char **argv;        /* argv[0] is ignored: the child runs this very program */
  int cpu;            /* pin the child to this CPU before it starts; -1: not pinned */
  const char *netns;  /* enter this named network namespace (ip netns) first; NULL: none */
  char *const *prefix; /* NULL, or a command ($PATH lookup) that runs argv[1...] for us, such
                          as {"podman", "exec", "CTR", "/colo", NULL}: a program in a container */
} colo__os_proc_spec_t;

/*
 * Starts this program again (the running executable, not a $PATH lookup)
 * with spec's arguments, its stdout a pipe the parent reads with
 * colo__os_proc_line(), stdin /dev/null, stderr inherited. Descriptors made
 * inheritable with colo__os_shmem_create() stay open in it. Pinning and the
 * namespace are applied in the child before exec: a failure there makes the
 * spawn fail with the reason (COLO_EPERM, COLO_ENOENT, COLO_EINVAL).
 */
int colo__os_proc_spawn(const colo__os_proc_spec_t *spec, colo__os_proc_t **out);
/* Reads the next line the child writes on stdout (without its newline).
 * COLO_ETIMEDOUT after timeout_ms, COLO_ECLOSED when the child closed its
 * stdout (exited) first, COLO_EAGAIN when a signal arrived first (call again). */
int colo__os_proc_line(colo__os_proc_t *p, char *buf, size_t cap, int timeout_ms);
/* Waits at most timeout_ms for the child to exit; *code is its exit code, or
 * 128 + the signal that killed it. COLO_ETIMEDOUT when still running. */
int colo__os_proc_wait(colo__os_proc_t *p, int timeout_ms, int *code);
/* Kills the child (SIGKILL) if it still runs, reaps it and frees p. NULL ok. */
void colo__os_proc_free(colo__os_proc_t *p);

/*
 * Runs a system command (argv[0] looked up in $PATH) and waits for it. Its
 * stdout and stderr go to /dev/null unless show_output. Returns its exit
 * code (0..255), or COLO_ENOENT when the program is not installed.
 */
int colo__os_run(char *const argv[], int show_output);
/* The same, with the command's stdout and stderr in out (NUL-terminated,
 * trailing newlines dropped, cut at cap), killed after timeout_ms (-1: no
 * limit) with COLO_ETIMEDOUT. Commands run in their own process group: a
 * Ctrl-C at the terminal stops us, not them, and we clean up after them. */
int colo__os_run_output(char *const argv[], int timeout_ms, char *out, size_t cap);

/* ---- CPUs, usage, machine ------------------------------------------------------- */

/* The CPUs this process may run on: fills cpus[] (ascending) and returns how
 * many (at most cap). */
int colo__os_cpus(int *cpus, int cap);
/* Pins the calling process to one CPU. */
int colo__os_pin(int cpu);

typedef struct colo__os_usage {
  uint64_t user_ns, sys_ns; /* CPU time of this process so far */
  uint64_t peak_rss;        /* bytes */
} colo__os_usage_t;
void colo__os_usage(colo__os_usage_t *u);

typedef struct colo__os_machine {
  char cpu_model[128];
  int cpus_online;
  char kernel[200];   /* "Linux 6.1.0-... x86_64" */
  char virt[64];      /* "kvm", "xen", "none", ... as far as the system tells; "unknown" */
  char host[72];
} colo__os_machine_t;
void colo__os_machine(colo__os_machine_t *m);

/* 1 when running with administrative rights (root). */
int colo__os_is_admin(void);
/* 1 when stderr is a terminal. */
int colo__os_stderr_tty(void);

/* ---- a mapping shared with child processes ---------------------------------------- */

/*
 * Creates an anonymous shared mapping of size bytes, zero-filled, whose
 * handle child processes started afterwards inherit. *handle (a short text,
 * such as a descriptor number) lets a child map the same memory with
 * colo__os_shmem_attach(). colo__os_shmem_free() unmaps and closes.
 */
typedef struct colo__os_shmem colo__os_shmem_t;
int colo__os_shmem_create(uint64_t size, colo__os_shmem_t **out, char *handle, size_t cap);
int colo__os_shmem_attach(const char *handle, uint64_t size, colo__os_shmem_t **out);
void *colo__os_shmem_base(colo__os_shmem_t *m);
void colo__os_shmem_free(colo__os_shmem_t *m);

/* ---- a private directory ------------------------------------------------------------ */

/* Makes a new directory only this user can enter, for endpoints (out: its path). */
int colo__os_tmpdir(const char *prefix, char *out, size_t cap);
/* Removes a whole directory tree: it never follows a symbolic link and never
 * enters another mount (a volume still mounted stays untouched). Missing: 0. */
int colo__os_tree_remove(const char *dir);
/* mkdir with this mode (not reduced by the umask); an existing directory: 0. */
int colo__os_mkdir(const char *path, unsigned mode);

/* ---- a root filesystem for containers (os_rootfs.c) ------------------------------------- */

/*
 * Fills dir (created if missing) with a minimal root filesystem that runs
 * this program in a container without any image: the executable as
 * dir/colo, every shared library it has loaded at its own path, the ELF
 * interpreter at the path the executable names, and empty mount points
 * (dev, proc, sys, tmp, etc, colo-shared). With busybox set, a static
 * /bin/busybox from the host too (a shell for debugging; COLO_ENOENT when
 * there is none). If files is not NULL, it is called with each file copied.
 */
int colo__os_rootfs(const char *dir, int busybox, void (*files)(void *ctx, const char *path), void *ctx);

#endif
