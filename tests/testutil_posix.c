/*
 * testutil_posix.c - testutil.h's OS services on POSIX (Linux): fork and
 * exec, poll, pthreads, files, mmap, open-file-description locks.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef COLO_TEST_SHIM_POSIX
#include "../shims/posix/posix.h"
#endif

uint64_t tu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int tu_is_root(void) { return geteuid() == 0; }
int tu_is_wine(void) { return 0; }

static int spawn(tu_proc_t *p, const char *path, char *const argv[]) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], 1);
    execv(path, argv);
    _exit(127);
  }
  close(fds[1]);
  p->pid = pid;
  p->out_fd = fds[0];
  return 0;
}

int tu_spawn_helper(tu_proc_t *p, const char *const *args) {
  char *argv[32];
  int n = 0;
  argv[n++] = (char *)COLO_TEST_HELPER;
  while (args[n - 1] && n < 31) argv[n] = (char *)args[n - 1], n++;
  argv[n] = NULL;
  return spawn(p, COLO_TEST_HELPER, argv);
}

int tu_spawn_sh(tu_proc_t *p, const char *script) {
  setenv("COLO", COLO_CLI, 1);
  char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)script, NULL};
  return spawn(p, "/bin/sh", argv);
}

int tu_read_line(tu_proc_t *p, char *buf, size_t cap, int timeout_ms) {
  size_t len = 0;
  uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
  while (len + 1 < cap) {
    uint64_t now = tu_now_ms();
    if (now >= end) return -1;
    struct pollfd pf = {p->out_fd, POLLIN, 0};
    int r = poll(&pf, 1, (int)(end - now));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    char c;
    ssize_t n = read(p->out_fd, &c, 1);
    if (n <= 0) return -1;
    if (c == '\n') break;
    buf[len++] = c;
  }
  buf[len] = '\0';
  return 0;
}

int tu_wait(tu_proc_t *p, int timeout_ms) {
  uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
  int st;
  for (;;) {
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) break;
    if (tu_now_ms() >= end) {
      kill(p->pid, SIGKILL);
      waitpid(p->pid, &st, 0);
      if (p->out_fd >= 0) close(p->out_fd), p->out_fd = -1;
      return -1;
    }
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  if (p->out_fd >= 0) close(p->out_fd), p->out_fd = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void slurp(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t n;
  char tmp[4096];
  while ((n = read(fd, tmp, sizeof tmp)) > 0) {
    size_t take = (size_t)n;
    if (cap && len + take > cap - 1) take = cap - 1 - len;
    if (buf && take) memcpy(buf + len, tmp, take), len += take;
  }
  if (buf && cap) buf[len] = '\0';
}

int tu_sh(const char *script, char *out, size_t outcap, char *err, size_t errcap, int timeout_ms) {
  char ofile[] = "/tmp/colo-test-out.XXXXXX", efile[] = "/tmp/colo-test-err.XXXXXX";
  int ofd = mkstemp(ofile), efd = mkstemp(efile);
  unlink(ofile), unlink(efile);
  setenv("COLO", COLO_CLI, 1);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(ofd, 1), dup2(efd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execl("/bin/sh", "sh", "-c", script, (char *)NULL);
    _exit(127);
  }
  tu_proc_t p = {.pid = pid, .out_fd = -1};
  int rc = tu_wait(&p, timeout_ms);
  lseek(ofd, 0, SEEK_SET), lseek(efd, 0, SEEK_SET);
  slurp(ofd, out, outcap);
  slurp(efd, err, errcap);
  close(ofd), close(efd);
  return rc;
}

int tu_reopen_fd_to(const char *what) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int fd = -1;
  while (d && fd < 0 && (e = readdir(d))) {
    char link[320], target[512];
    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0 && (target[n] = '\0', strstr(target, what))) fd = open(link, O_RDWR);
  }
  if (d) closedir(d);
  return fd;
}

const char *tu_shm_path_of(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "/dev/shm/colo.%s", name);
  return buf;
}

uint64_t tu_shm_fs_bytes(void) {
  struct statvfs sv;
  if (statvfs("/dev/shm", &sv) != 0) return 0;
  return (uint64_t)sv.f_blocks * sv.f_frsize;
}

const char *tu_tmp_path(char *buf, size_t cap, const char *tag) {
  static unsigned n;
  const char *dir = getenv("TMPDIR");
  snprintf(buf, cap, "%s/colo-t.%d.%u.%s", dir && dir[0] == '/' ? dir : "/tmp", (int)getpid(), n++, tag);
  return buf;
}

int tu_pid(void) { return (int)getpid(); }

/* A FIFO's path. */
const char *tu_pipe_name(char *buf, size_t cap, const char *tag) { return tu_tmp_path(buf, cap, tag); }

/* aligned_alloc wants size to be a multiple of align: posix_memalign does
 * not. */
void *tu_aligned_alloc(size_t align, size_t size) {
  void *p = NULL;
  return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

void tu_aligned_free(void *p) { free(p); }

void tu_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int tu_thread_start(tu_thread_t *t, void *(*fn)(void *), void *arg) {
  pthread_t *th = malloc(sizeof *th);
  if (!th || pthread_create(th, NULL, fn, arg) != 0) {
    free(th);
    t->impl = NULL;
    return -1;
  }
  t->impl = th;
  return 0;
}

void tu_thread_join(tu_thread_t *t) {
  if (!t->impl) return;
  pthread_join(*(pthread_t *)t->impl, NULL);
  free(t->impl);
  t->impl = NULL;
}

int tu_fork_call(tu_proc_t *p, int (*fn)(void *), void *arg) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    _exit(fn(arg));
  }
  close(fds[1]);
  p->pid = pid;
  p->out_fd = fds[0];
  return 0;
}

void tu_child_say(const char *line) {
  dprintf(1, "%s\n", line);
}

int tu_kill(tu_proc_t *p) { return kill(p->pid, SIGKILL) == 0 ? 0 : -1; }
int tu_kill_pid(int pid) { return kill(pid, SIGKILL) == 0 ? 0 : -1; }

_Noreturn void tu_kill_self(void) {
  raise(SIGKILL);
  _exit(TU_KILLED); /* not reached */
}

void *tu_map_file(const char *path, size_t *len) {
  *len = 0;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return NULL;
  void *m = fstat(fd, &st) == 0 && st.st_size > 0
                ? mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                : MAP_FAILED;
  close(fd);
  if (m == MAP_FAILED) return NULL;
  *len = (size_t)st.st_size;
  return m;
}

void tu_unmap(void *p, size_t len) {
  if (p) munmap(p, len);
}

int tu_mkdir(const char *path) { return mkdir(path, 0700) == 0 ? 0 : -1; }
int tu_symlink(const char *target, const char *path) { return symlink(target, path) == 0 ? 0 : -1; }
int tu_mkfifo(const char *path) { return mkfifo(path, 0600) == 0 ? 0 : -1; }

int tu_write_file(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  ssize_t n = len ? write(fd, data, len) : 0;
  close(fd);
  return n == (ssize_t)len ? 0 : -1;
}

int tu_truncate(const char *path, uint64_t size) { return truncate(path, (off_t)size) == 0 ? 0 : -1; }
int tu_chown(const char *path, uint32_t uid) { return lchown(path, (uid_t)uid, (gid_t)-1) == 0 ? 0 : -1; }

void tu_remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[4096];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      tu_remove_tree(sub);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

int tu_umask(int mask) { return (int)umask((mode_t)mask); }
const char *tu_device_path(void) { return "/dev/null"; }

int tu_become_other_user(void) {
  return setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0 ? 0 : -1;
}

int tu_self_user(uint64_t *id, char *name, size_t cap) {
  struct passwd pw, *res = NULL;
  char buf[2048];
  *id = geteuid();
  if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) != 0 || !res) return -1;
  snprintf(name, cap, "%s", pw.pw_name);
  return 0;
}

const char *tu_other_user(uint64_t *id) {
  *id = 65534;
  return "65534";
}

int tu_read_lock(const char *path, int byte) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void tu_read_unlock(int handle) {
  if (handle >= 0) close(handle);
}

#ifdef COLO_TEST_SHIM_POSIX
/* recvmsg that offers no room for descriptors: the kernel drops them and
 * says so with MSG_CTRUNC. */
static ssize_t refusing_recvmsg(int fd, struct msghdr *m, int flags) {
  m->msg_control = NULL;
  m->msg_controllen = 0;
  return recvmsg(fd, m, flags);
}

/* sendmsg that a security module forbids: EPERM for anything with
 * descriptors attached. */
static ssize_t forbidding_sendmsg(int fd, const struct msghdr *m, int flags) {
  if (m->msg_controllen) {
    errno = EPERM;
    return -1;
  }
  return sendmsg(fd, m, flags);
}

static int refuse_seg_passing(int on) {
  static ssize_t (*real)(int, struct msghdr *, int);
  if (!real) real = colo__posix_sys.recvmsg;
  colo__posix_sys.recvmsg = on ? refusing_recvmsg : real;
  return 0;
}

static int forbid_seg_sending(int on) {
  static ssize_t (*real)(int, const struct msghdr *, int);
  if (!real) real = colo__posix_sys.sendmsg;
  colo__posix_sys.sendmsg = on ? forbidding_sendmsg : real;
  return 0;
}

int tu_fault(tu_fault_t f, int on) {
  switch (f) {
  case TU_REFUSE_SEG_PASSING: return refuse_seg_passing(on);
  case TU_FORBID_SEG_SENDING: return forbid_seg_sending(on);
  default: return -1; /* a full tmpfs is met for real (test_os: too_little_space); a futex has no names */
  }
}
#else
int tu_fault(tu_fault_t f, int on) {
  (void)f, (void)on;
  return -1;
}
#endif


