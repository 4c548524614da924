/*
 * helper.c - the other process of the multi-process tests. One role per run:
 *
 *   stream-send EP COUNT MODE SEED  connect; send COUNT pattern messages (even ones
 *                                   with colo_send, odd ones zero-copy); then read
 *                                   the receiver's summary and check it
 *   send-then-die EP K              connect; send K numbered messages; SIGKILL self
 *   send-forever EP                 connect; send numbered messages until it fails
 *   listen-die EP                   listen; print "ready"; SIGKILL self
 *   listen-accept-die EP            listen; accept; print "ready"; SIGKILL self
 *   listen-accept-hold EP           listen; accept; print "ready"; sleep until killed
 *   connect-hold EP                 connect; print "ready"; sleep until killed
 *   scribble EP SECONDS SEED        connect; wait for one message ("go"); print "ready";
 *                                   write random bytes over the rings and control
 *                                   words for SECONDS
 *   connect-as-nobody EP            drop to uid/gid 65534; try to connect; print the code
 *   listen-small-shm EP             in a private mount namespace with a 1 MiB tmpfs on
 *                                   /dev/shm, listen; print the code and whether a file
 *                                   was left behind (or "SKIP why")
 *   serve-private-shm EP            the same namespace with a 64 MiB tmpfs; listen (print
 *                                   "ready"); accept; print the transport; echo one message
 *   listen-echo EP [PEER]           listen (opts.peer_user = PEER), perm 0666 for a socket
 *                                   or FIFO; print "ready ENDPOINT"; accept within 10 s; print
 *                                   the code; echo one message
 *   connect-echo EP [PEER]          connect (opts.peer_user = PEER) within 5 s; print the
 *                                   code; send "ping" and print the code of the answer
 *   connect-fork-die EP             connect; fork a child that sleeps 30 s; print
 *                                   "ready PID" (the child's); SIGKILL self
 *   connect-truncate EP             connect; truncate the segment file to 0 bytes; print
 *                                   the codes of a send and of a receive
 *   listen-die-sizing EP            listen, and SIGKILL self while the segment is being sized
 *                                   (its memory reserved), as a kill at that moment would
 *   read-lock EP BYTE               open the segment file read-only, take an open-file-
 *                                   description read lock on presence byte BYTE as soon as it
 *                                   is free, print "ready" or the error; sleep until killed
 *   send-until-short EP             connect; send numbered 4 KiB messages with a 200 ms timeout
 *                                   until one does not return 0; print "sent N CODE" (N: how
 *                                   many returned 0, CODE: what the next one returned);
 *                                   SIGKILL self, before anything held could go out
 *   connect-junk-die EP             connect (colo://, a ring rung); write 16 KiB of junk on
 *                                   the rendezvous connection; print "ready"; SIGKILL self
 *   try-open PATH                   open PATH for reading, then for writing, without blocking;
 *                                   print "R W" where each is OK or the errno's name
 *   as-nobody ROLE EP ...           any role above, run as uid/gid 65534 (prints "SKIP
 *                                   why" when that is not possible)
 *   refuse-fdpass ROLE EP ...       any role above (as-nobody included), with every segment
 *                                   passed to it dropped by the system (tu_refuse_seg_passing)
 *
 * Exit 0 when the role completed as intended; messages on stderr otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shims/posix/posix.h"
#include "colo.h"
#include "testutil.h"

#define MAXLEN 4096

static int die(const char *what, int rc) {
  fprintf(stderr, "helper: %s: %s: %s\n", what, colo_errname(rc), colo_last_error());
  return 1;
}

static void ready(void) {
  printf("ready\n");
  fflush(stdout);
}

static colo_chan_t *connect_or_exit(const char *ep, colo_wait_mode_t mode) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.wait_mode = mode;
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, &o, tu_ms(10000));
  if (rc) exit(die("connect", rc));
  return ch;
}

static colo_listener_t *listen_or_exit(const char *ep) {
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, NULL);
  if (rc) exit(die("listen", rc));
  return l;
}

static colo_chan_t *accept_or_exit(colo_listener_t *l) {
  colo_chan_t *ch;
  int rc = colo_accept(l, &ch, tu_ms(10000));
  if (rc) exit(die("accept", rc));
  return ch;
}

static int stream_send(const char *ep, uint64_t count, colo_wait_mode_t mode, uint64_t seed) {
  colo_chan_t *ch = connect_or_exit(ep, mode);
  static uint8_t buf[MAXLEN];
  uint64_t h = 0;
  for (uint64_t i = 0; i < count; i++) {
    int rc;
    size_t n;
    if (i & 1) {
      void *dst;
      rc = colo_reserve(ch, MAXLEN, &dst, COLO_FOREVER);
      if (rc) return die("reserve", rc);
      n = tu_msg(seed, i, MAXLEN, dst);
      h ^= tu_xxh3(dst, n) + i;
      rc = colo_commit(ch, n);
    } else {
      n = tu_msg(seed, i, MAXLEN, buf);
      h ^= tu_xxh3(buf, n) + i;
      rc = colo_send(ch, buf, n, COLO_FOREVER);
    }
    if (rc) return die("send", rc);
  }
  /* The receiver answers with what it counted and hashed, so the reverse
   * direction is exercised too. */
  uint64_t summary[2];
  size_t len;
  int rc = colo_recv(ch, summary, sizeof summary, &len, tu_ms(60000));
  if (rc) return die("recv summary", rc);
  if (len != sizeof summary || summary[0] != count || summary[1] != h) {
    fprintf(stderr, "helper: summary mismatch: count %llu/%llu\n", (unsigned long long)summary[0],
            (unsigned long long)count);
    return 1;
  }
  colo_close(ch);
  return 0;
}

static int send_numbered(colo_chan_t *ch, uint64_t k) {
  for (uint64_t i = 0; i < k; i++) {
    int rc = colo_send(ch, &i, sizeof i, COLO_FOREVER);
    if (rc) return die("send", rc);
  }
  return 0;
}

static int scribble(const char *ep, double seconds, uint64_t seed) {
  colo_chan_t *ch = connect_or_exit(ep, COLO_WAIT_HYBRID);
  char path[600];
  int fd = open(tu_shm_path(ep, path, sizeof path), O_RDWR);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return die("open for scribbling", COLO_EIO);
  uint8_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return die("mmap", COLO_EIO);
  char go[8];
  size_t n;
  int rc = colo_recv(ch, go, sizeof go, &n, tu_ms(10000));
  if (rc) return die("recv go", rc);
  ready();
  /* Everything after the immutable header: control words, ring indices,
   * sleep flags, record headers, payloads. */
  uint64_t x = seed | 1, end = tu_now_ms() + (uint64_t)(seconds * 1000);
  size_t span = (size_t)st.st_size - 128;
  while (tu_now_ms() < end) {
    for (int k = 0; k < 1000; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t off = 128 + (size_t)(x % span);
      /* Aim at the control blocks often: they are small and matter most. */
      if ((x >> 60) < 8) off = 128 + (size_t)((x >> 20) % 512);
      m[off] = (uint8_t)(x >> 32);
    }
  }
  colo_close(ch);
  return 0;
}

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
  colo_listener_t *l = listen_or_exit(ep);
  ready();
  colo_chan_t *ch = accept_or_exit(l);
  printf("%s\n", colo_transport(ch));
  char buf[256];
  size_t n;
  int rc = colo_recv(ch, buf, sizeof buf, &n, tu_ms(10000));
  if (!rc) rc = colo_send(ch, buf, n, tu_ms(10000));
  if (rc) return die("echo", rc);
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
  ready();
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

static int send_until_short(const char *ep) {
  colo_chan_t *ch = connect_or_exit(ep, COLO_WAIT_HYBRID);
  static uint8_t m[4096];
  uint64_t i = 0;
  int rc;
  for (;; i++) {
    memset(m, (int)(i & 0xff), sizeof m);
    memcpy(m, &i, sizeof i);
    if ((rc = colo_send(ch, m, sizeof m, 200)) != 0) break;
  }
  printf("sent %llu %s\n", (unsigned long long)i, colo_errname(rc));
  fflush(stdout);
  raise(SIGKILL);
  return 1;
}

/* The rendezvous connection of a ring channel: this process's one socket. */
static int junk_on_lifeline(const char *ep) {
  connect_or_exit(ep, COLO_WAIT_HYBRID);
  for (int fd = 3; fd < 1024; fd++) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    static char junk[16384];
    memset(junk, 'j', sizeof junk);
    if (write(fd, junk, sizeof junk) < 0) return die("write junk", COLO_EIO);
    ready();
    raise(SIGKILL);
  }
  return die("no socket", COLO_EIO);
}

static int listen_echo(const char *ep, const char *peer) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.peer_user = peer;
  if (strncmp(ep, "shm://", 6) && strncmp(ep, "file://", 7)) o.perm = 0666; /* let the other user reach it */
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, &o);
  if (rc) return die("listen", rc);
  printf("ready %s\n", colo_listener_endpoint(l));
  fflush(stdout);
  colo_chan_t *ch;
  rc = colo_accept(l, &ch, tu_ms(10000));
  printf("%s\n", colo_errname(rc));
  if (!rc) {
    char buf[64];
    size_t n;
    rc = colo_recv(ch, buf, sizeof buf, &n, tu_ms(5000));
    if (!rc) rc = colo_send(ch, buf, n, tu_ms(5000));
    if (!rc) colo_recv(ch, buf, sizeof buf, &n, tu_ms(5000)); /* until the peer closes */
    colo_close(ch);
  }
  colo_listener_close(l);
  return 0;
}

static int connect_echo(const char *ep, const char *peer) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.peer_user = peer;
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, &o, tu_ms(5000));
  printf("%s %s\n", colo_errname(rc), rc ? colo_last_error() : colo_transport(ch));
  if (rc) return 0;
  char buf[64];
  size_t n;
  rc = colo_send(ch, "ping", 4, tu_ms(5000));
  if (!rc) rc = colo_recv(ch, buf, sizeof buf, &n, tu_ms(5000));
  printf("%s\n", colo_errname(rc));
  colo_close(ch);
  return 0;
}

static int connect_truncate(const char *ep) {
  colo_chan_t *ch = connect_or_exit(ep, COLO_WAIT_HYBRID);
  char path[600];
  if (truncate(tu_shm_path(ep, path, sizeof path), 0) != 0) return die("truncate", COLO_EIO);
  int rc = colo_send(ch, "after", 5, tu_ms(1000));
  char buf[64];
  size_t n;
  int rc2 = colo_recv(ch, buf, sizeof buf, &n, tu_ms(1000));
  printf("%s %s\n", colo_errname(rc), colo_errname(rc2));
  colo_close(ch);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "refuse-fdpass")) {
    tu_refuse_seg_passing(1);
    argv++, argc--;
  }
  if (argc >= 2 && !strcmp(argv[1], "as-nobody")) {
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
      printf("SKIP cannot become uid 65534: %s\n", strerror(errno));
      return 0;
    }
    argv++, argc--;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: helper ROLE ENDPOINT [ARGS]\n");
    return 2;
  }
  const char *role = argv[1], *ep = argv[2];
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(role, "stream-send") && argc == 6) {
    colo_wait_mode_t mode = (colo_wait_mode_t)atoi(argv[4]);
    return stream_send(ep, strtoull(argv[3], NULL, 10), mode, strtoull(argv[5], NULL, 10));
  }
  if (!strcmp(role, "send-then-die") && argc == 4) {
    colo_chan_t *ch = connect_or_exit(ep, COLO_WAIT_HYBRID);
    if (send_numbered(ch, strtoull(argv[3], NULL, 10))) return 1;
    raise(SIGKILL);
  }
  if (!strcmp(role, "send-forever")) {
    colo_chan_t *ch = connect_or_exit(ep, COLO_WAIT_HYBRID);
    return send_numbered(ch, UINT64_MAX);
  }
  if (!strcmp(role, "listen-die")) {
    listen_or_exit(ep);
    ready();
    raise(SIGKILL);
  }
  if (!strcmp(role, "listen-accept-die")) {
    accept_or_exit(listen_or_exit(ep));
    ready();
    raise(SIGKILL);
  }
  if (!strcmp(role, "listen-accept-hold")) {
    accept_or_exit(listen_or_exit(ep));
    ready();
    for (;;) pause();
  }
  if (!strcmp(role, "connect-hold")) {
    connect_or_exit(ep, COLO_WAIT_HYBRID);
    ready();
    for (;;) pause();
  }
  if (!strcmp(role, "scribble") && argc == 5) return scribble(ep, atof(argv[3]), strtoull(argv[4], NULL, 10));
  if (!strcmp(role, "connect-as-nobody")) {
    if (setgid(65534) != 0 || setuid(65534) != 0) {
      printf("SKIP setuid: %s\n", strerror(errno));
      return 0;
    }
    colo_chan_t *ch;
    int rc = colo_connect(&ch, ep, NULL, 0);
    printf("%s\n", colo_errname(rc));
    if (!rc) colo_close(ch);
    return 0;
  }
  if (!strcmp(role, "listen-small-shm")) return listen_small_shm(ep);
  if (!strcmp(role, "listen-echo")) return listen_echo(ep, argc > 3 ? argv[3] : NULL);
  if (!strcmp(role, "connect-echo")) return connect_echo(ep, argc > 3 ? argv[3] : NULL);
  if (!strcmp(role, "connect-truncate")) return connect_truncate(ep);
  if (!strcmp(role, "send-until-short")) return send_until_short(ep);
  if (!strcmp(role, "connect-junk-die")) return junk_on_lifeline(ep);
  if (!strcmp(role, "try-open")) {
    printf("%s %s\n", try_open(ep, O_RDONLY), try_open(ep, O_WRONLY));
    return 0;
  }
  if (!strcmp(role, "read-lock") && argc == 4) return read_lock(ep, atoi(argv[3]));
  if (!strcmp(role, "listen-die-sizing")) {
    colo__posix_sys.fallocate = die_in_fallocate;
    listen_or_exit(ep);
    return 1; /* not reached */
  }
  if (!strcmp(role, "connect-fork-die")) {
    connect_or_exit(ep, COLO_WAIT_HYBRID);
    pid_t child = fork();
    if (child == 0) {
      sleep(30);
      _exit(0);
    }
    printf("ready %d\n", (int)child);
    fflush(stdout);
    raise(SIGKILL);
  }
  if (!strcmp(role, "serve-private-shm")) return serve_private_shm(ep);
  fprintf(stderr, "helper: unknown role or arguments: %s\n", role);
  return 2;
}
