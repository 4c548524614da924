/*
 * test_peer.c - peers in other processes (the test helper) that die (SIGKILL;
 * Windows: TerminateProcess), and a peer that scribbles over the shared
 * segment while we use it. Every platform runs these.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_channel.h"

static const char *mode_name(int m) { return m == 0 ? "hybrid" : m == 1 ? "spin" : "block"; }

static colo_opts_t opts_mode(int mode) {
  colo_opts_t o;
  colo_opts_init(&o);
  o.wait_mode = (colo_wait_mode_t)mode;
  return o;
}

/* The helper connects, sends K numbered messages and SIGKILLs itself; we
 * read only after it is dead. Every committed message arrives, in order,
 * then COLO_EPEERDEAD, within a second of the death. */
Test(peer, everything_committed_before_death_arrives_then_epeerdead) {
  for (int mode = 0; mode <= 2; mode++) {
    char ep[128];
    tu_endpoint(ep, sizeof ep, "die");
    colo_opts_t o = opts_mode(mode);
    colo_listener_t *l;
    cr_assert_eq(colo_listen(&l, ep, &o), 0);
    tu_proc_t h;
    const char *args[] = {"send-then-die", ep, "5000", NULL};
    cr_assert_eq(tu_spawn_helper(&h, args), 0);
    colo_chan_t *ch;
    cr_assert_eq(colo_accept(l, &ch, tu_ms(10000)), 0, "%s", colo_last_error());
    cr_assert_eq(tu_wait(&h, tu_ms(10000)), TU_KILLED);
    uint64_t died_ms = tu_now_ms();
    uint64_t v, expect = 0;
    size_t n;
    int rc;
    while ((rc = colo_recv(ch, &v, sizeof v, &n, tu_ms(5000))) == 0) {
      cr_assert_eq(n, sizeof v);
      cr_assert_eq(v, expect, "%s: message %llu out of order", mode_name(mode), (unsigned long long)expect);
      expect++;
    }
    uint64_t took = tu_now_ms() - died_ms;
    cr_assert_eq(rc, COLO_EPEERDEAD, "%s: %s", mode_name(mode), colo_errname(rc));
    cr_assert_eq(expect, 5000u, "%s: all 5000 committed messages arrive", mode_name(mode));
    cr_assert_lt(took, 1000u, "%s: reported after %llu ms", mode_name(mode), (unsigned long long)took);
    cr_assert(strstr(colo_last_error(), "killed"), "%s", colo_last_error());
    cr_assert_eq(colo_send(ch, "x", 1, 0), COLO_EPEERDEAD, "sending to the dead fails too");
    colo_close(ch);
    colo_listener_close(l);
    cr_assert_not(tu_segment_exists(ep), "our close removes the segment");
  }
}

/* Killed mid-stream: we receive a gapless prefix of the numbered stream,
 * then COLO_EPEERDEAD. */
Test(peer, killed_mid_stream_gives_a_gapless_prefix_then_epeerdead) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "midstream");
  colo_opts_t o;
  colo_opts_init(&o);
  o.ring_capacity = 65536;
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, &o), 0);
  tu_proc_t h;
  const char *args[] = {"send-forever", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, tu_ms(10000)), 0);
  uint64_t v, expect = 0;
  size_t n;
  int rc;
  int killed = 0;
  uint64_t killed_ms = 0;
  while ((rc = colo_recv(ch, &v, sizeof v, &n, tu_ms(5000))) == 0) {
    cr_assert_eq(v, expect, "gap or reorder at %llu", (unsigned long long)expect);
    expect++;
    if (!killed && expect == 200000) {
      tu_kill(&h);
      killed = 1;
      killed_ms = tu_now_ms();
    }
  }
  cr_assert(killed, "the stream ended before the kill: %s", colo_errname(rc));
  cr_assert_eq(rc, COLO_EPEERDEAD, "%s", colo_errname(rc));
  cr_assert_lt(tu_now_ms() - killed_ms, 1000u);
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), TU_KILLED);
  colo_close(ch);
  colo_listener_close(l);
}

/* A call blocked forever (receiving, or sending into a full ring) returns
 * COLO_EPEERDEAD within a second of the peer's SIGKILL, in every mode. */
static void blocked_then_killed(tu_block_op_t op) {
  for (int mode = 0; mode <= 2; mode++) {
    char ep[128];
    tu_endpoint(ep, sizeof ep, op == TU_RECV_ONE ? "blockrx" : "blocktx");
    tu_proc_t h;
    const char *args[] = {"listen-accept-hold", ep, NULL}; /* the listener, default rings */
    cr_assert_eq(tu_spawn_helper(&h, args), 0);
    colo_opts_t o = opts_mode(mode);
    colo_chan_t *ch;
    cr_assert_eq(colo_connect(&ch, ep, &o, tu_ms(5000)), 0, "%s", colo_last_error());
    char line[64];
    cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(10000)), 0, "the helper did not accept");
    cr_assert_str_eq(line, "ready");
    tu_blocked_t b;
    tu_blocked_start(&b, ch, op);
    tu_sleep_ms(300); /* well asleep in the kernel, or spinning */
    uint64_t kill_ms = tu_now_ms();
    tu_kill(&h);
    tu_blocked_join(&b);
    cr_assert_eq(b.rc, COLO_EPEERDEAD, "%s: %s", mode_name(mode), colo_errname(b.rc));
    cr_assert_lt(b.done_ms - kill_ms, 1000u, "%s: %llu ms", mode_name(mode),
                 (unsigned long long)(b.done_ms - kill_ms));
    cr_assert_eq(tu_wait(&h, tu_ms(5000)), TU_KILLED);
    colo_close(ch);
    cr_assert_not(tu_segment_exists(ep), "the survivor's close removes it");
  }
}

Test(peer, a_blocked_receiver_learns_of_the_death_within_a_second) { blocked_then_killed(TU_RECV_ONE); }
Test(peer, a_blocked_sender_learns_of_the_death_within_a_second) { blocked_then_killed(TU_SEND_UNTIL_ERROR); }

Test(peer, a_killed_listener_is_seen_by_its_connected_peer) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "lkill");
  tu_proc_t h;
  const char *args[] = {"listen-accept-die", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&h, args), 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_connect(&ch, ep, NULL, tu_ms(5000)), 0, "%s", colo_last_error());
  cr_assert_eq(tu_wait(&h, tu_ms(5000)), TU_KILLED);
  char buf[8];
  size_t n;
  cr_assert_eq(colo_recv(ch, buf, sizeof buf, &n, tu_ms(2000)), COLO_EPEERDEAD);
  colo_close(ch);
}

/* A hostile peer writes random bytes over the rings and control words while
 * we send and receive with timeouts. Each call returns, within its timeout,
 * either success or an error; the process never crashes (the sanitizer build
 * runs this too). */
Test(peer, a_scribbling_peer_gives_errors_or_data_never_a_crash, .timeout = 120) {
  for (int round = 0; round < 3; round++) {
    char ep[700], seed[32];
    tu_mappable_endpoint(ep, sizeof ep, "scribble"); /* the helper maps its file */
    colo_opts_t o;
    colo_opts_init(&o);
    o.ring_capacity = 4096;
    o.msg_checksum = round == 2;
    o.wait_mode = (colo_wait_mode_t)round;
    colo_listener_t *l;
    cr_assert_eq(colo_listen(&l, ep, &o), 0);
    tu_proc_t h;
    snprintf(seed, sizeof seed, "%d", 1000 + round);
    const char *args[] = {"scribble", ep, "1.5", seed, NULL};
    cr_assert_eq(tu_spawn_helper(&h, args), 0);
    colo_chan_t *ch;
    cr_assert_eq(colo_accept(l, &ch, tu_ms(10000)), 0, "%s", colo_last_error());
    cr_assert_eq(colo_send(ch, "go", 2, 0), 0);
    char line[32];
    cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(10000)), 0);
    static uint8_t buf[4096];
    int ok = 0, errs = 0, corrupt = 0;
    uint64_t end = tu_now_ms() + 1500;
    while (tu_now_ms() < end) {
      size_t n = 0;
      uint64_t t0 = tu_now_ms();
      int rc = (ok + errs) & 1 ? colo_send(ch, buf, (ok + errs) % 3000, 20) : colo_recv(ch, buf, sizeof buf, &n, 20);
      uint64_t took = tu_now_ms() - t0;
      cr_assert_lt(took, (uint64_t)tu_ms(500), "a call with a 20 ms timeout took %llu ms", (unsigned long long)took);
      if (rc == 0) {
        ok++;
        cr_assert_leq(n, sizeof buf);
      } else {
        errs++;
        cr_assert(rc == COLO_ECORRUPT || rc == COLO_ETIMEDOUT || rc == COLO_EAGAIN || rc == COLO_ENOBUFS ||
                      rc == COLO_EMSGSIZE || rc == COLO_ECLOSED || rc == COLO_EPEERDEAD,
                  "unexpected %s", colo_errname(rc));
        if (rc == COLO_ECORRUPT) {
          corrupt++;
          cr_assert_neq(colo_last_error()[0], 0);
        }
      }
    }
    cr_assert_gt(corrupt, 0, "round %d: scribbling was noticed (ok %d, errors %d)", round, ok, errs);
    colo_close(ch);
    colo_listener_close(l);
    cr_assert_eq(tu_wait(&h, tu_ms(10000)), 0);
  }
}
