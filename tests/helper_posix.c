/*
 * helper_posix.c - the test helper's roles that need POSIX itself: a private
 * mount namespace for /dev/shm, the posix shim's syscall table, open-file-
 * description locks, non-blocking opens of FIFOs, the descriptors of this
 * process, fork. See helper.c for what each role does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shims/posix/posix.h"
#include "colo.h"
#include "helper.h"
#include "testutil.h"

/* Moves this process into its own mount namespace with a fresh tmpfs of
 * size_opt on /dev/shm. 0, or -1 after printing "SKIP why". */
static int private_dev_shm(const char *size_opt) {
  if (unshare(CLONE_NEWNS) != 0) {
    printf("SKIP unshare(CLONE_NEWNS): %s\n", strerror(errno));
    return -1;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount("tmpfs", "/dev/shm", "tmpfs", 0, size_opt) != 0) {
    printf("SKIP mount tmpfs on /dev/shm: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

/* Serves one colo:// client from a private /dev/shm: prints the transport
 * it got, then echoes one message. */
static int serve_private_shm(const char *ep) {
  if (private_dev_shm("size=64m") != 0) return 0;
  colo_listener_t *l = helper_listen_or_exit(ep);
  helper_ready();
  colo_chan_t *ch = helper_accept_or_exit(l);
  printf("%s\n", colo_transport(ch));
  char buf[256];
  size_t n;
  int rc = colo_recv(ch, buf, sizeof buf, &n, tu_ms(10000));
  if (!rc) rc = colo_send(ch, buf, n, tu_ms(10000));
  if (rc) return helper_die("echo", rc);
  colo_close(ch);
  colo_listener_close(l);
  return 0;
}

static int listen_small_shm(const char *ep) {
  if (private_dev_shm("size=1m") != 0) return 0;
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, NULL); /* default rings: 2 MiB + header > 1 MiB */
  char path[600];
  int left = access(tu_shm_path(ep, path, sizeof path), F_OK) == 0;
  printf("%s leftover=%d %s\n", colo_errname(rc), left, colo_last_error());
  if (!rc) colo_listener_close(l);
  return 0;
}

static int die_in_fallocate(int fd, off_t off, off_t len) {
  (void)fd, (void)off, (void)len;
  raise(SIGKILL);
  return 0;
}

/* Takes a read lock on presence byte `byte` as soon as nobody holds it
 * (within 5 s), as a reader lying in wait would. */
static int read_lock(const char *ep, int byte) {
  char path[600];
  int fd = open(tu_shm_path(ep, path, sizeof path), O_RDONLY | O_CLOEXEC);
  struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
  uint64_t end = tu_now_ms() + 5000;
  int rc;
  while ((rc = fd < 0 ? -1 : fcntl(fd, F_OFD_SETLK, &fl)) != 0 && fd >= 0 && errno == EAGAIN && tu_now_ms() < end)
    usleep(1000);
  if (rc != 0) {
    printf("ERROR %s\n", strerror(errno));
    return 1;
  }
  helper_ready();
  for (;;) pause();
}

static const char *try_open(const char *path, int flags) {
  int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return "OK";
  }
  return errno == EACCES ? "EACCES" : errno == ENXIO ? "ENXIO" : errno == ENOENT ? "ENOENT" : strerror(errno);
}

/* The rendezvous connection of a ring channel: this process's one socket. */
static int junk_on_lifeline(const char *ep) {
  helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
  for (int fd = 3; fd < 1024; fd++) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    static char junk[16384];
    memset(junk, 'j', sizeof junk);
    if (write(fd, junk, sizeof junk) < 0) return helper_die("write junk", COLO_EIO);
    helper_ready();
    raise(SIGKILL);
  }
  return helper_die("no socket", COLO_EIO);
}

int helper_os_role(const char *role, int argc, char **argv) {
  const char *ep = argv[2];
  if (!strcmp(role, "listen-small-shm")) return listen_small_shm(ep);
  if (!strcmp(role, "serve-private-shm")) return serve_private_shm(ep);
  if (!strcmp(role, "connect-junk-die")) return junk_on_lifeline(ep);
  if (!strcmp(role, "read-lock") && argc == 4) return read_lock(ep, atoi(argv[3]));
  if (!strcmp(role, "try-open")) {
    printf("%s %s\n", try_open(ep, O_RDONLY), try_open(ep, O_WRONLY));
    return 0;
  }
  if (!strcmp(role, "listen-die-sizing")) {
    colo__posix_sys.fallocate = die_in_fallocate;
    helper_listen_or_exit(ep);
    return 1; /* not reached */
  }
  if (!strcmp(role, "connect-fork-die")) {
    helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
    pid_t child = fork();
    if (child == 0) {
      sleep(30);
      _exit(0);
    }
    printf("ready %d\n", (int)child);
    fflush(stdout);
    raise(SIGKILL);
  }
  return -1;
}
