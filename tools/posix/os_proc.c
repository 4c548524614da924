/*
 * os_proc.c - processes, CPUs, usage, machine facts and an inheritable shared
 * mapping for colo bench, on Linux (see tools/os.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#if defined(__x86_64__) || defined(__i386__)
#  include <cpuid.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

struct tos_proc {
  pid_t pid;
  int out;          /* read end of the child's stdout */
  int exited, code; /* once reaped */
  char buf[4096];
  size_t len;       /* bytes buffered in buf */
};

/* Writes all of buf or gives up (the child's report of its own failure). */
static void write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w, n -= (size_t)w;
  }
}

/* In the child, before exec: tells the parent "ERRNO what" on fd, and exits. */
static _Noreturn void child_fail(int fd, const char *what) {
  char why[320];
  snprintf(why, sizeof why, "%d %s", errno, what);
  write_all(fd, why, strlen(why));
  _exit(127);
}

static int pin_raw(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0 || cpu >= CPU_SETSIZE) return errno = EINVAL, -1;
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

int tos_proc_spawn(const tos_proc_spec_t *spec, tos_proc_t **out) {
  tos_proc_t *p = calloc(1, sizeof *p);
  if (!p) return tos_err(COLO_ENOMEM, "out of memory");
  int outp[2], errp[2];
  if (pipe2(outp, O_CLOEXEC) != 0) {
    free(p);
    return tos_posix_err(errno, "pipe", NULL);
  }
  /* errp tells the parent why the child could not exec (closed on exec). */
  if (pipe2(errp, O_CLOEXEC) != 0) {
    int e = errno;
    close(outp[0]), close(outp[1]), free(p);
    return tos_posix_err(e, "pipe", NULL);
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(outp[0]), close(outp[1]), close(errp[0]), close(errp[1]), free(p);
    return tos_posix_err(e, "fork", NULL);
  }
  if (pid == 0) {
    char what[300];
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    dup2(outp[1], 1);
    if (spec->netns) {
      snprintf(what, sizeof what, "/run/netns/%s", spec->netns);
      int fd = open(what, O_RDONLY | O_CLOEXEC);
      snprintf(what, sizeof what, "entering network namespace %s", spec->netns);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) child_fail(errp[1], what);
    }
    snprintf(what, sizeof what, "pinning to CPU %d", spec->cpu);
    if (spec->cpu >= 0 && pin_raw(spec->cpu) != 0) child_fail(errp[1], what);
    if (spec->prefix) {
      /* prefix... then argv[1...]: this program's arguments, run by another command */
      size_t np = 0, na = 0;
      while (spec->prefix[np]) np++;
      while (spec->argv[na]) na++;
      char **full = calloc(np + na + 1, sizeof *full);
      if (!full) child_fail(errp[1], "out of memory");
      memcpy(full, spec->prefix, np * sizeof *full);
      memcpy(full + np, spec->argv + 1, (na - 1) * sizeof *full);
      execvp(full[0], full);
      snprintf(what, sizeof what, "running %s", full[0]);
      child_fail(errp[1], what);
    }
    execv("/proc/self/exe", spec->argv);
    child_fail(errp[1], "running /proc/self/exe");
  }
  close(outp[1]);
  close(errp[1]);
  char why[256];
  ssize_t n;
  do n = read(errp[0], why, sizeof why - 1);
  while (n < 0 && errno == EINTR);
  close(errp[0]);
  if (n > 0) {
    why[n] = 0;
    int e = atoi(why);
    const char *text = strchr(why, ' ');
    waitpid(pid, NULL, 0);
    close(outp[0]);
    free(p);
    return tos_posix_err(e, text ? text + 1 : why, NULL);
  }
  p->pid = pid;
  p->out = outp[0];
  *out = p;
  return 0;
}

int tos_proc_line(tos_proc_t *p, char *buf, size_t cap, int timeout_ms) {
  uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : tos_now_ns() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    char *nl = memchr(p->buf, '\n', p->len);
    if (nl) {
      size_t n = (size_t)(nl - p->buf);
      size_t c = n < cap - 1 ? n : cap - 1;
      memcpy(buf, p->buf, c);
      buf[c] = 0;
      memmove(p->buf, nl + 1, p->len - n - 1);
      p->len -= n + 1;
      return 0;
    }
    if (p->len == sizeof p->buf) p->len = 0; /* an overlong line: drop it */
    uint64_t now = tos_now_ns();
    if (now >= deadline) return tos_err(COLO_ETIMEDOUT, "no report within %d ms", timeout_ms);
    uint64_t left_ms = deadline == UINT64_MAX ? 1000 : (deadline - now) / 1000000u + 1;
    struct pollfd pfd = {p->out, POLLIN, 0};
    int r = poll(&pfd, 1, left_ms > 1000 ? 1000 : (int)left_ms);
    if (r < 0 && errno == EINTR) return tos_err(COLO_EAGAIN, "interrupted by a signal");
    if (r <= 0) continue;
    ssize_t got = read(p->out, p->buf + p->len, sizeof p->buf - p->len);
    if (got < 0 && errno == EINTR) return tos_err(COLO_EAGAIN, "interrupted by a signal");
    if (got <= 0) return tos_err(COLO_ECLOSED, "the process ended without a report");
    p->len += (size_t)got;
  }
}

static void reaped(tos_proc_t *p, int status) {
  p->exited = 1;
  p->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int tos_proc_wait(tos_proc_t *p, int timeout_ms, int *code) {
  uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : tos_now_ns() + (uint64_t)timeout_ms * 1000000u;
  while (!p->exited) {
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
      reaped(p, status);
      break;
    }
    if (r < 0 && errno != EINTR) return tos_posix_err(errno, "waitpid", NULL);
    if (tos_now_ns() >= deadline) return tos_err(COLO_ETIMEDOUT, "still running after %d ms", timeout_ms);
    tos_sleep_ns(2000000u);
  }
  *code = p->code;
  return 0;
}

void tos_proc_free(tos_proc_t *p) {
  if (!p) return;
  if (!p->exited) {
    kill(p->pid, SIGKILL);
    int status;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  close(p->out);
  free(p);
}

/* Runs argv: output to /dev/null, the terminal (show) or a pipe (out); the
 * child has its own process group, so Ctrl-C at the terminal reaches only
 * us, and we decide what to stop and clean up. */
static int run_cmd(char *const argv[], int show, int timeout_ms, char *out, size_t cap) {
  int pfd[2] = {-1, -1};
  if (out && pipe2(pfd, O_CLOEXEC) != 0) return tos_posix_err(errno, "pipe", NULL);
  if (out && cap) out[0] = 0;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    if (out) close(pfd[0]), close(pfd[1]);
    return tos_posix_err(e, "fork", NULL);
  }
  if (pid == 0) {
    setpgid(0, 0);
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) dup2(nul, 0);
    if (out) dup2(pfd[1], 1), dup2(pfd[1], 2);
    else if (!show && nul >= 0) dup2(nul, 1), dup2(nul, 2);
    execvp(argv[0], argv);
    _exit(errno == ENOENT ? 126 : 127);
  }
  size_t len = 0;
  if (out) close(pfd[1]);
  uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : tos_now_ns() + (uint64_t)timeout_ms * 1000000u;
  int status = 0, timed_out = 0;
  for (;;) {
    if (out && pfd[0] >= 0) {
      struct pollfd p = {pfd[0], POLLIN, 0};
      if (poll(&p, 1, 20) > 0) {
        char tmp[1024];
        ssize_t n = read(pfd[0], tmp, sizeof tmp);
        if (n > 0) {
          size_t c = cap > len + 1 ? cap - len - 1 : 0;
          if ((size_t)n < c) c = (size_t)n;
          memcpy(out + len, tmp, c);
          len += c;
          out[len] = 0;
          continue;
        }
        if (n == 0 || errno != EINTR) close(pfd[0]), pfd[0] = -1;
      }
    }
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      int e = errno;
      if (out && pfd[0] >= 0) close(pfd[0]);
      return tos_posix_err(e, "waitpid", NULL);
    }
    if (tos_now_ns() >= deadline && !timed_out) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      timed_out = 1;
    }
    if (!out || pfd[0] < 0) tos_sleep_ns(2000000u);
  }
  if (out && pfd[0] >= 0) close(pfd[0]);
  while (len && (out[len - 1] == '\n' || out[len - 1] == ' ')) out[--len] = 0;
  if (timed_out) return tos_err(COLO_ETIMEDOUT, "%s did not finish within %d ms", argv[0], timeout_ms);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
    return tos_err(COLO_ENOENT, "%s: not installed", argv[0]);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tos_run(char *const argv[], int show_output) { return run_cmd(argv, show_output, -1, NULL, 0); }

int tos_run_output(char *const argv[], int timeout_ms, char *out, size_t cap) {
  return run_cmd(argv, 0, timeout_ms, out, cap);
}

/* ---- CPUs, usage, machine ------------------------------------------------------- */

int tos_cpus(int *cpus, int cap) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  int n = 0;
  for (int i = 0; i < CPU_SETSIZE && n < cap; i++)
    if (CPU_ISSET(i, &set)) cpus[n++] = i;
  return n;
}

int tos_pin(int cpu) {
  if (pin_raw(cpu) != 0) return tos_posix_err(errno, "sched_setaffinity", NULL);
  return 0;
}

static uint64_t tv_ns(struct timeval tv) { return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u; }

void tos_usage(tos_usage_t *u) {
  struct rusage ru;
  memset(u, 0, sizeof *u);
  if (getrusage(RUSAGE_SELF, &ru) != 0) return;
  u->user_ns = tv_ns(ru.ru_utime);
  u->sys_ns = tv_ns(ru.ru_stime);
  u->peak_rss = (uint64_t)ru.ru_maxrss * 1024u; /* Linux: kilobytes */
}

/* First line of path, without its newline; 0 when there is one. */
static int read_line(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  int ok = fgets(buf, (int)cap, f) != NULL;
  fclose(f);
  if (!ok) return -1;
  buf[strcspn(buf, "\n")] = 0;
  return 0;
}

/* The hypervisor as the CPU and firmware tell it (what systemd-detect-virt
 * reads, without needing it). */
static void detect_virt(char *out, size_t cap) {
  char vendor[128] = "", product[128] = "", line[512];
  int hv = 0;
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "flags", 5)) {
        hv = strstr(line, " hypervisor") != NULL;
        break;
      }
    fclose(f);
  }
  read_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof vendor);
  read_line("/sys/class/dmi/id/product_name", product, sizeof product);
  static const struct {
    const char *needle, *name;
  } known[] = {{"KVM", "kvm"},         {"QEMU", "qemu"},          {"VMware", "vmware"},
               {"VirtualBox", "oracle"}, {"Microsoft", "microsoft"}, {"Xen", "xen"},
               {"Amazon EC2", "amazon"}, {"Google", "google"},      {"Firecracker", "firecracker"}};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strstr(vendor, known[i].needle) || strstr(product, known[i].needle)) {
      snprintf(out, cap, "%s", known[i].name);
      return;
    }
  if (access("/proc/xen", F_OK) == 0) {
    snprintf(out, cap, "xen");
    return;
  }
  if (!hv) {
    snprintf(out, cap, "none");
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  /* No firmware tables (some light VMs have none): the hypervisor's CPUID
   * signature, leaf 0x40000000. */
  unsigned a, b, c, d;
  char sig[13];
  __cpuid(0x40000000, a, b, c, d);
  memcpy(sig, &b, 4), memcpy(sig + 4, &c, 4), memcpy(sig + 8, &d, 4);
  sig[12] = 0;
  static const struct {
    const char *sig, *name;
  } sigs[] = {{"KVMKVMKVM", "kvm"},    {"Microsoft Hv", "microsoft"}, {"VMwareVMware", "vmware"},
              {"XenVMMXenVMM", "xen"}, {"bhyve bhyve ", "bhyve"},     {"TCGTCGTCGTCG", "qemu"},
              {"VBoxVBoxVBox", "oracle"}, {"ACRNACRNACRN", "acrn"}};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (!strncmp(sig, sigs[i].sig, 12)) {
      snprintf(out, cap, "%s", sigs[i].name);
      return;
    }
  for (char *p = sig; *p; p++)
    if (*p < 0x20 || *p > 0x7e) *p = '?';
  snprintf(out, cap, "hypervisor '%s'", sig);
#else
  snprintf(out, cap, "unknown hypervisor");
#endif
}

void tos_machine(tos_machine_t *m) {
  memset(m, 0, sizeof *m);
  snprintf(m->cpu_model, sizeof m->cpu_model, "unknown");
  char line[512];
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "model name", 10)) {
        const char *v = strchr(line, ':');
        if (v) {
          v++;
          while (*v == ' ' || *v == '\t') v++;
          snprintf(m->cpu_model, sizeof m->cpu_model, "%s", v);
          m->cpu_model[strcspn(m->cpu_model, "\n")] = 0;
        }
        break;
      }
    fclose(f);
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  m->cpus_online = n > 0 ? (int)n : 1;
  struct utsname u;
  if (uname(&u) == 0) {
    snprintf(m->kernel, sizeof m->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    snprintf(m->host, sizeof m->host, "%s", u.nodename);
  }
  detect_virt(m->virt, sizeof m->virt);
}

int tos_is_admin(void) { return geteuid() == 0; }

int tos_stderr_tty(void) { return isatty(2); }

/* ---- a mapping shared with child processes ---------------------------------------- */

struct tos_shmem {
  int fd;
  void *base;
  uint64_t size;
};

static int shmem_map(int fd, uint64_t size, tos_shmem_t **out) {
  tos_shmem_t *m = calloc(1, sizeof *m);
  if (!m) return tos_err(COLO_ENOMEM, "out of memory");
  void *base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    int e = errno;
    free(m);
    return tos_posix_err(e, "mmap", NULL);
  }
  m->fd = fd, m->base = base, m->size = size;
  *out = m;
  return 0;
}

int tos_shmem_create(uint64_t size, tos_shmem_t **out, char *handle, size_t cap) {
  int fd = memfd_create("colo-bench", 0); /* no CLOEXEC: children inherit it */
  if (fd < 0) return tos_posix_err(errno, "memfd_create", NULL);
  if (ftruncate(fd, (off_t)size) != 0) {
    int e = errno;
    close(fd);
    return tos_posix_err(e, "ftruncate", NULL);
  }
  int rc = shmem_map(fd, size, out);
  if (rc) {
    close(fd);
    return rc;
  }
  snprintf(handle, cap, "%d", fd);
  return 0;
}

int tos_shmem_attach(const char *handle, uint64_t size, tos_shmem_t **out) {
  char *end;
  long fd = strtol(handle, &end, 10);
  struct stat st;
  if (*end || fd < 0 || fd > 1 << 20 || fstat((int)fd, &st) != 0)
    return tos_err(COLO_EINVAL, "no inherited mapping '%s'", handle);
  if ((uint64_t)st.st_size < size)
    return tos_err(COLO_EINVAL, "inherited mapping '%s' holds %lld bytes, not %llu", handle,
                     (long long)st.st_size, (unsigned long long)size);
  return shmem_map((int)fd, size, out);
}

void *tos_shmem_base(tos_shmem_t *m) { return m->base; }

void tos_shmem_free(tos_shmem_t *m) {
  if (!m) return;
  munmap(m->base, (size_t)m->size);
  close(m->fd);
  free(m);
}

/* ---- a private directory ------------------------------------------------------------ */

int tos_tmpdir(const char *prefix, char *out, size_t cap) {
  const char *base = getenv("TMPDIR");
  if (!base || base[0] != '/') base = "/tmp";
  int n = snprintf(out, cap, "%s/%s.XXXXXX", base, prefix);
  if (n < 0 || (size_t)n >= cap) return tos_err(COLO_EINVAL, "temporary directory name too long");
  if (!mkdtemp(out)) return tos_posix_err(errno, out, NULL);
  return 0;
}
