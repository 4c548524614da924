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
 *   say TEXT CODE                   print TEXT; exit with CODE (testutil's own test)
 *   say-hold TEXT                   print TEXT; sleep until killed
 *   as-nobody ROLE EP ...           any role above, run as uid/gid 65534 (prints "SKIP
 *                                   why" when that is not possible)
 *   refuse-fdpass ROLE EP ...       any role above (as-nobody included), with every segment
 *                                   passed to it dropped by the system (tu_fault(TU_REFUSE_SEG_PASSING))
 *
 * Exit 0 when the role completed as intended; messages on stderr otherwise.
 *
 * The roles that need POSIX itself (a mount namespace, fork, the posix shim's
 * syscall table, descriptors, FIFOs, open-file-description locks) are in
 * helper_posix.c; on Windows, helper_win32.c answers them with "SKIP ROLE: not
 * on this platform" (exit 0, as the as-nobody roles do when they cannot).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colo.h"
#include "helper.h"
#include "testutil.h"

#define MAXLEN 4096

int helper_die(const char *what, int rc) {
  fprintf(stderr, "helper: %s: %s: %s\n", what, colo_errname(rc), colo_last_error());
  return 1;
}

void helper_ready(void) {
  printf("ready\n");
  fflush(stdout);
}

colo_chan_t *helper_connect_or_exit(const char *ep, colo_wait_mode_t mode) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.wait_mode = mode;
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, &o, tu_ms(10000));
  if (rc) exit(helper_die("connect", rc));
  return ch;
}

colo_listener_t *helper_listen_or_exit(const char *ep) {
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, NULL);
  if (rc) exit(helper_die("listen", rc));
  return l;
}

colo_chan_t *helper_accept_or_exit(colo_listener_t *l) {
  colo_chan_t *ch;
  int rc = colo_accept(l, &ch, tu_ms(10000));
  if (rc) exit(helper_die("accept", rc));
  return ch;
}

static int stream_send(const char *ep, uint64_t count, colo_wait_mode_t mode, uint64_t seed) {
  colo_chan_t *ch = helper_connect_or_exit(ep, mode);
  static uint8_t buf[MAXLEN];
  uint64_t h = 0;
  for (uint64_t i = 0; i < count; i++) {
    int rc;
    size_t n;
    if (i & 1) {
      void *dst;
      rc = colo_reserve(ch, MAXLEN, &dst, COLO_FOREVER);
      if (rc) return helper_die("reserve", rc);
      n = tu_msg(seed, i, MAXLEN, dst);
      h ^= tu_xxh3(dst, n) + i;
      rc = colo_commit(ch, n);
    } else {
      n = tu_msg(seed, i, MAXLEN, buf);
      h ^= tu_xxh3(buf, n) + i;
      rc = colo_send(ch, buf, n, COLO_FOREVER);
    }
    if (rc) return helper_die("send", rc);
  }
  /* The receiver answers with what it counted and hashed, so the reverse
   * direction is exercised too. */
  uint64_t summary[2];
  size_t len;
  int rc = colo_recv(ch, summary, sizeof summary, &len, tu_ms(60000));
  if (rc) return helper_die("recv summary", rc);
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
    if (rc) return helper_die("send", rc);
  }
  return 0;
}

static int scribble(const char *ep, double seconds, uint64_t seed) {
  colo_chan_t *ch = helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
  char path[600];
  size_t size;
  uint8_t *m = tu_map_file(tu_shm_path(ep, path, sizeof path), &size);
  if (!m || size <= 128) return helper_die("map for scribbling", COLO_EIO);
  char go[8];
  size_t n;
  int rc = colo_recv(ch, go, sizeof go, &n, tu_ms(10000));
  if (rc) return helper_die("recv go", rc);
  helper_ready();
  /* Everything after the immutable header: control words, ring indices,
   * sleep flags, record headers, payloads. */
  uint64_t x = seed | 1, end = tu_now_ms() + (uint64_t)(seconds * 1000);
  size_t span = size - 128;
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

static int send_until_short(const char *ep) {
  colo_chan_t *ch = helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
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
  tu_kill_self();
  return 1;
}

static int listen_echo(const char *ep, const char *peer) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.peer_user = peer;
  if (strncmp(ep, "shm://", 6) && strncmp(ep, "file://", 7)) o.perm = 0666; /* let the other user reach it */
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, &o);
  if (rc) return helper_die("listen", rc);
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
  colo_chan_t *ch = helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
  char path[600];
  if (tu_truncate(tu_shm_path(ep, path, sizeof path), 0) != 0) return helper_die("truncate", COLO_EIO);
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
    tu_fault(TU_REFUSE_SEG_PASSING, 1);
    argv++, argc--;
  }
  if (argc >= 2 && !strcmp(argv[1], "as-nobody")) {
    if (tu_become_other_user() != 0) {
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
  /* Every line reaches the test as it is printed: unbuffered, since Windows'
   * C runtime has no line buffering (_IOLBF is _IOFBF there). */
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(role, "say") && argc == 4) {
    printf("%s\n", ep);
    return atoi(argv[3]);
  }
  if (!strcmp(role, "say-hold")) {
    printf("%s\n", ep); /* not flushed: the test sees whether stdout holds it back */
    for (;;) tu_sleep_ms(1000000);
  }
  if (!strcmp(role, "stream-send") && argc == 6) {
    colo_wait_mode_t mode = (colo_wait_mode_t)atoi(argv[4]);
    return stream_send(ep, strtoull(argv[3], NULL, 10), mode, strtoull(argv[5], NULL, 10));
  }
  if (!strcmp(role, "send-then-die") && argc == 4) {
    colo_chan_t *ch = helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
    if (send_numbered(ch, strtoull(argv[3], NULL, 10))) return 1;
    tu_kill_self();
  }
  if (!strcmp(role, "send-forever")) {
    colo_chan_t *ch = helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
    return send_numbered(ch, UINT64_MAX);
  }
  if (!strcmp(role, "listen-die")) {
    helper_listen_or_exit(ep);
    helper_ready();
    tu_kill_self();
  }
  if (!strcmp(role, "listen-accept-die")) {
    helper_accept_or_exit(helper_listen_or_exit(ep));
    helper_ready();
    tu_kill_self();
  }
  if (!strcmp(role, "listen-accept-hold")) {
    helper_accept_or_exit(helper_listen_or_exit(ep));
    helper_ready();
    for (;;) tu_sleep_ms(1000000);
  }
  if (!strcmp(role, "connect-hold")) {
    helper_connect_or_exit(ep, COLO_WAIT_HYBRID);
    helper_ready();
    for (;;) tu_sleep_ms(1000000);
  }
  if (!strcmp(role, "scribble") && argc == 5) return scribble(ep, atof(argv[3]), strtoull(argv[4], NULL, 10));
  if (!strcmp(role, "connect-as-nobody")) {
    if (tu_become_other_user() != 0) {
      printf("SKIP setuid: %s\n", strerror(errno));
      return 0;
    }
    colo_chan_t *ch;
    int rc = colo_connect(&ch, ep, NULL, 0);
    printf("%s\n", colo_errname(rc));
    if (!rc) colo_close(ch);
    return 0;
  }
  if (!strcmp(role, "listen-echo")) return listen_echo(ep, argc > 3 ? argv[3] : NULL);
  if (!strcmp(role, "connect-echo")) return connect_echo(ep, argc > 3 ? argv[3] : NULL);
  if (!strcmp(role, "connect-truncate")) return connect_truncate(ep);
  if (!strcmp(role, "send-until-short")) return send_until_short(ep);
  int rc = helper_os_role(role, argc, argv);
  if (rc >= 0) return rc;
  fprintf(stderr, "helper: unknown role or arguments: %s\n", role);
  return 2;
}
