/*
 * test_cli.c - the colo command as users run it from a shell: the issue's
 * acceptance scenarios, segment housekeeping (ls, rm, gc), help, exit codes.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 18], err[65536];

static int exists(const char *ep) {
  char path[600];
  return access(tu_shm_path(ep, path, sizeof path), F_OK) == 0;
}

/* Runs script with $COLO, $EP and $T (a fresh scratch directory, removed
 * afterwards) set; returns the exit code, with out and err filled. */
static int sh(const char *ep, int timeout_ms, const char *fmt, ...) {
  char body[2048], script[2600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  snprintf(script, sizeof script,
           "EP='%s'\nT=/tmp/colo-cli-%d\nrm -rf \"$T\"; mkdir -p \"$T\"; trap 'rm -rf \"$T\"' EXIT\n%s",
           ep ? ep : "", (int)getpid(), body);
  return tu_sh(script, out, sizeof out, err, sizeof err, timeout_ms);
}

/* `colo recv EP RECV_ARGS` in the background, `PRODUCER | colo send EP`,
 * then what recv printed is in out. */
static void through(const char *ep, const char *recv_args, const char *producer) {
  int rc = sh(ep, tu_ms(30000),
              "\"$COLO\" recv \"$EP\" %s > \"$T/out\" &\n"
              "%s | \"$COLO\" send \"$EP\" || exit 10\n"
              "wait $! || exit 11\n"
              "cat \"$T/out\"\n",
              recv_args, producer);
  cr_assert_eq(rc, 0, "exit %d (10: send failed, 11: recv failed): %s", rc, err);
  cr_assert_not(exists(ep), "%s was removed", ep);
}

static int lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* ---- acceptance 2 ----------------------------------------------------------- */

Test(cli, recv_count_3_prints_what_send_sent_over_shm) {
  char ep[128];
  through(tu_endpoint(ep, sizeof ep, "demo"), "--count 3", "printf 'a\\nbb\\nccc\\n'");
  cr_assert_str_eq(out, "a\nbb\nccc\n");
}

Test(cli, recv_count_3_prints_what_send_sent_over_a_file) {
  char ep[128];
  snprintf(ep, sizeof ep, "file:///tmp/colo-cli-%d/x/seg", (int)getpid()); /* in $T; x/ is new */
  through(ep, "--count 3", "printf 'a\\nbb\\nccc\\n'");
  cr_assert_str_eq(out, "a\nbb\nccc\n");
}

Test(cli, recv_exits_0_when_send_closes_and_keeps_every_line) {
  char ep[128];
  through(tu_endpoint(ep, sizeof ep, "eof"), "", "seq 1 20000");
  static char want[200000];
  size_t len = 0;
  for (int i = 1; i <= 20000; i++) len += (size_t)snprintf(want + len, sizeof want - len, "%d\n", i);
  cr_assert_str_eq(out, want);
}

/* Issue 3, acceptance 2, for the socket transports. */
static void seq_1000_through(const char *ep) {
  through(ep, "--count 1000", "seq 1000");
  static char want[8000];
  size_t len = 0;
  for (int i = 1; i <= 1000; i++) len += (size_t)snprintf(want + len, sizeof want - len, "%d\n", i);
  cr_assert_str_eq(out, want);
}

Test(cli, seq_1000_over_a_unix_socket) {
  char ep[128];
  snprintf(ep, sizeof ep, "unix:///tmp/colo-cli-%d.sock", (int)getpid());
  seq_1000_through(ep);
}

Test(cli, seq_1000_over_a_fifo_pair) {
  char ep[128];
  snprintf(ep, sizeof ep, "pipe:///tmp/colo-cli-%d.pipe", (int)getpid());
  seq_1000_through(ep);
}

Test(cli, seq_1000_over_tcp) {
  char ep[128];
  /* (20000-31999: below the kernel's ephemeral ports, 32768 and up, which a
   * connection of another test may hold) */
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", 20000 + (int)getpid() % 12000);
  seq_1000_through(ep);
}

Test(cli, seq_1000_over_a_colo_rendezvous) {
  char ep[128];
  snprintf(ep, sizeof ep, "colo:///tmp/colo-cli-%d.rdv", (int)getpid());
  seq_1000_through(ep);
}

/* Issue 3, acceptance 3: colo info runs the handshake against a waiting
 * colo recv, names the memfd ring, and leaves the connection to the next
 * client. */
Test(cli, info_names_the_memfd_ring_and_leaves_recv_waiting) {
  char ep[128];
  snprintf(ep, sizeof ep, "colo:///tmp/colo-cli-%d.info.rdv", (int)getpid());
  int rc = sh(ep, tu_ms(30000),
              "\"$COLO\" recv \"$EP\" --count 1 > \"$T/out\" &\n"
              "i=0; while [ ! -S \"${EP#colo://}\" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n"
              "\"$COLO\" info \"$EP\" || exit 10\n"
              "\"$COLO\" info --json \"$EP\" > \"$T/json\" || exit 11\n"
              "echo last | \"$COLO\" send \"$EP\" || exit 12\n"
              "wait $! || exit 13\n"
              "cat \"$T/out\" \"$T/json\"\n");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  cr_assert(strstr(out, "transport    memfd"), "%s", out);
  cr_assert(strstr(out, "rung         1 of 3 (memfd)"), "%s", out);
  cr_assert(strstr(out, "last\n"), "recv got the real client's message: %s", out);
  cr_assert(strstr(out, "\"transport\":\"memfd\",\"rung\":1"), "%s", out);
}

/* Issue 3, acceptance 4: colo recv in a mount namespace with its own
 * /dev/shm, colo send outside; they share memory through a memfd. */
Test(cli, recv_behind_a_private_dev_shm_still_shares_memory_via_memfd) {
  if (!tu_is_root()) {
    cr_skip_test("needs root for unshare -m");
    return;
  }
  char ep[128];
  snprintf(ep, sizeof ep, "colo:///tmp/colo-cli-%d.ns.rdv", (int)getpid());
  int rc = sh(ep, tu_ms(30000),
              "unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs tmpfs /dev/shm && "
              "exec \"$0\" recv \"$1\" --count 3 -v' \"$COLO\" \"$EP\" > \"$T/out\" 2> \"$T/recv.err\" &\n"
              "printf 'a\\nbb\\nccc\\n' | \"$COLO\" send -v \"$EP\" || exit 10\n"
              "wait $! || { cat \"$T/recv.err\" >&2; exit 11; }\n"
              "cat \"$T/out\" \"$T/recv.err\"\n");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  cr_assert(strstr(out, "a\nbb\nccc\n") == out, "%s", out);
  cr_assert(strstr(err, "colo send: connected over memfd"), "send -v says so: %s", err);
  cr_assert(strstr(out, "colo recv: peer connected over memfd"), "recv -v says so: %s", out);
}

Test(cli, send_v_names_each_skipped_rung_and_alternative) {
  char ep[128];
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", 20000 + ((int)getpid() + 7) % 12000);
  int rc = sh(ep, tu_ms(30000),
              "\"$COLO\" recv \"$EP\" --count 1 > /dev/null &\n"
              "echo x | \"$COLO\" send -v \"colo://$T/none.sock,$EP\" || exit 10\n"
              "wait $! || exit 11\n");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  cr_assert(strstr(err, "connected over tcp"), "%s", err);
  cr_assert(strstr(err, "skipped colo:///tmp/colo-cli-"), "%s", err);
  cr_assert(strstr(err, "No such file or directory"), "%s", err);
}

/* A list waits, slice after slice, for a listener that appears late on one
 * of its alternatives (the list's "not yet" is a timeout, as a single
 * endpoint's is). */
Test(cli, send_to_a_list_waits_for_a_late_listener) {
  int rc = sh(NULL, tu_ms(30000),
              "(sleep 1; \"$COLO\" recv \"unix://$T/late.sock\" --count 1 > \"$T/out\") &\n"
              "echo hi | \"$COLO\" send --timeout 10 \"shm://none-$$,unix://$T/late.sock\" || exit 10\n"
              "wait $! || exit 11\n"
              "cat \"$T/out\"\n");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  cr_assert_str_eq(out, "hi\n");
}

Test(cli, empty_lines_are_carried_as_empty_messages) {
  char ep[128];
  through(tu_endpoint(ep, sizeof ep, "empty"), "", "printf '\\n\\nx\\n\\n'");
  cr_assert_str_eq(out, "\n\nx\n\n");
}

/* ---- acceptance 3 ----------------------------------------------------------- */

Test(cli, recv_reports_a_killed_sender_within_2_seconds) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "killed");
  /* send keeps its stdin open (sleep), so only SIGKILL ends it. recv's
   * stderr goes to a file, away from the shell's job messages. */
  int rc = sh(ep, tu_ms(30000),
          "( (echo one; exec sleep 60.$$) | \"$COLO\" send \"$EP\" ) &\n"
          "\"$COLO\" recv \"$EP\" >/dev/null 2>\"$T/err\" &\n"
          "R=$!\n"
          "sleep 1\n"
          "pkill -KILL -f \"colo send $EP\" || exit 10\n"
          "start=$(date +%%s%%N)\n"
          "wait $R; code=$?\n"
          "end=$(date +%%s%%N)\n"
          "echo \"code=$code ms=$(( (end - start) / 1000000 ))\"\n"
          "pkill -f \"sleep 60.$$\"\n"
          "cat \"$T/err\"; exit 0\n");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  int code = -1, ms = -1;
  cr_assert_eq(sscanf(out, "code=%d ms=%d", &code, &ms), 2, "%s", out);
  const char *recv_err = strchr(out, '\n') + 1; /* what recv printed on stderr */
  cr_assert_eq(code, 1, "recv exits 1 (%s)", recv_err);
  cr_assert_lt(ms, 2000, "after %d ms", ms);
  cr_assert(strstr(recv_err, "peer process died"), "%s", recv_err);
  cr_assert_eq(lines(recv_err), 1, "one line: %s", recv_err);
  cr_assert_not(exists(ep));
}

/* ---- acceptance 4 ----------------------------------------------------------- */

Test(cli, send_to_an_overwritten_segment_says_corrupt_in_one_line) {
  char ep[128], path[600];
  tu_endpoint(ep, sizeof ep, "corrupt");
  setenv("SEG", tu_shm_path(ep, path, sizeof path), 1);
  int rc = sh(ep, tu_ms(20000),
              "\"$COLO\" recv \"$EP\" >/dev/null 2>&1 &\n"
              "R=$!\n"
              "for i in $(seq 100); do \"$COLO\" ls \"$EP\" 2>/dev/null | grep -q ' ok ' && break; sleep 0.05; done\n"
              "head -c 64 /dev/urandom | dd of=\"$SEG\" conv=notrunc status=none\n"
              "echo hi | \"$COLO\" send \"$EP\"; code=$?\n"
              "kill $R; wait $R\n"
              "exit $code\n");
  cr_assert_eq(rc, 1, "exit %d", rc);
  cr_assert(strstr(err, "corrupt"), "%s", err);
  cr_assert_eq(lines(err), 1, "one line: %s", err);
  cr_assert_eq(strncmp(err, "colo send: ", 11), 0, "%s", err);
}

/* ---- other failures --------------------------------------------------------- */

Test(cli, timeouts_are_bounded_and_say_so) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "tmo");
  uint64_t t0 = tu_now_ms();
  int rc = sh(ep, tu_ms(10000), "\"$COLO\" recv \"$EP\" --timeout 0.3");
  cr_assert_eq(rc, 1);
  cr_assert(strstr(err, "timed out"), "%s", err);
  cr_assert_lt(tu_now_ms() - t0, (uint64_t)tu_ms(3000));
  cr_assert_not(exists(ep));
  rc = sh(ep, tu_ms(10000), "echo x | \"$COLO\" send \"$EP\" -t 0.3");
  cr_assert_eq(rc, 1);
  cr_assert(strstr(err, "timed out"), "%s", err);
}

/* The command waits in slices of 250 ms (for Ctrl-C); its messages name the
 * timeout the user gave, not the last slice. */
Test(cli, a_timeout_message_names_the_whole_timeout) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "tmo");
  int rc = sh(ep, tu_ms(10000), "echo x | \"$COLO\" send \"$EP\" --timeout 1");
  cr_assert_eq(rc, 1);
  cr_assert(strstr(err, "no listener appeared within 1 s"), "%s", err);
  cr_assert_not(strstr(err, " ms"), "%s", err);
  rc = sh(ep, tu_ms(10000), "\"$COLO\" recv \"$EP\" --timeout 0.6");
  cr_assert_eq(rc, 1);
  cr_assert(strstr(err, "within 0.6 s"), "%s", err);
}

/* A listener that takes the connection and never answers the handshake
 * (here a bare listening socket: the kernel takes the connection for it) is
 * what the timeout names, not a later slice that got less far. */
Test(cli, a_listener_that_never_answers_the_handshake_is_named_as_such) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(fd, 64), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  char ep[64];
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
  int rc = sh(ep, tu_ms(10000), "echo x | \"$COLO\" send \"$EP\" -t 1");
  close(fd);
  cr_assert_eq(rc, 1);
  cr_assert(strstr(err, "a listener took the connection but did not answer colo's handshake"), "%s", err);
  cr_assert(strstr(err, "within 1 s"), "%s", err);
}

Test(cli, a_line_longer_than_the_largest_message_is_refused) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "long");
  int rc = sh(ep, tu_ms(20000),
              "\"$COLO\" recv \"$EP\" --capacity 4K >/dev/null 2>&1 &\n"
              "head -c 5000 /dev/zero | tr '\\0' x | \"$COLO\" send \"$EP\"; code=$?\n"
              "wait\n"
              "exit $code\n");
  cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
  cr_assert(strstr(err, "2040"), "names the limit: %s", err);
}

/* send stops reading a line at the largest message: a 50 MiB line costs
 * neither 50 MiB of memory nor the time to read it. */
Test(cli, send_refuses_a_huge_line_quickly_in_bounded_memory) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "huge");
  int have_time = access("/usr/bin/time", X_OK) == 0;
  int rc = sh(ep, tu_ms(30000),
              "\"$COLO\" recv \"$EP\" --capacity 4K >/dev/null 2>&1 &\n"
              "start=$(date +%%s%%N)\n"
              "head -c 52428800 /dev/zero | tr '\\0' x | %s \"$COLO\" send \"$EP\"; code=$?\n"
              "end=$(date +%%s%%N)\n"
              "wait $! || exit 10\n"
              "kb=$(tail -n 1 \"$T/kb\" 2>/dev/null)\n"
              "echo \"code=$code ms=$(( (end - start) / 1000000 )) kb=${kb:-0}\"\n",
              have_time ? "/usr/bin/time -f %M -o \"$T/kb\"" : "");
  cr_assert_eq(rc, 0, "exit %d (10: recv failed): %s", rc, err);
  int code = -1, ms = -1;
  long kb = -1;
  cr_assert_eq(sscanf(out, "code=%d ms=%d kb=%ld", &code, &ms, &kb), 3, "%s", out);
  cr_assert_eq(code, 1, "%s", err);
  cr_assert(strstr(err, "colo send: line 1 is over the largest message (2040 bytes); colo recv --capacity raises it\n"), "%s",
            err);
  cr_assert_lt(ms, tu_ms(5000), "refused after %d ms", ms);
  if (have_time) cr_assert(kb > 0 && kb < 32768, "peak memory %ld KiB", kb);
  else cr_log_warn("no /usr/bin/time: peak memory not checked");
  cr_assert_not(exists(ep));
}

Test(cli, sigterm_stops_recv_with_130_and_removes_the_segment) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "term");
  int rc = sh(ep, tu_ms(20000),
              "\"$COLO\" recv \"$EP\" &\n"
              "R=$!\n"
              "sleep 0.5\n"
              "kill -TERM $R\n"
              "wait $R\n");
  cr_assert_eq(rc, 130, "exit %d: %s", rc, err);
  cr_assert_not(exists(ep));
}

/* How colo send ended once its listener went away cleanly: 0 (it had sent
 * everything) or 1 saying the other side closed the channel. On a stream
 * transport (unix, pipe, tcp) the library reports a write that meets the
 * closed socket before it read the listener's goodbye as the peer's death
 * (its send path stops reading at EPIPE); stream = 1 accepts that until the
 * library reads what is left before it judges. */
static void assert_sender_saw_close(int code, const char *send_err, int stream) {
  (void)stream; /* a stream's sender reads the BYE behind what it could not send, as a ring's sees closed[] */
  cr_assert(code == 0 || code == 1, "send exit %d: %s", code, send_err);
  if (code == 0) return;
  cr_assert(strstr(send_err, "colo send: the peer closed the channel"), "send says the other side closed it: %s",
            send_err);
}

typedef struct stopped {
  int code, ms, send_code; /* 999: still running when given up on */
  char *errs;              /* send's stderr, then recv's */
} stopped_t;

/* Starts `colo recv EP`, with `yes | colo send EP` feeding it when busy,
 * sends it sig once it listens (or, busy, has a peer and messages flow),
 * and waits at most 5 s (scaled) for it, then for the sender. Endpoint files
 * go in $T/ep; out holds "left=[...]", what is left there. */
static void stop_recv(const char *ep, const char *sig, int busy, stopped_t *r) {
  int polls = tu_ms(5000) / 50;
  int rc = sh(ep, tu_ms(30000),
              "mkdir -p \"$T/ep\"; : > \"$T/send.err\"; S=\n"
              "gone() { i=0; while kill -0 $1 2>/dev/null; do i=$((i+1)); [ $i -gt %d ] && { kill -KILL $1; return 1; }; sleep 0.05; done; }\n"
              "[ %d = 1 ] && { yes | \"$COLO\" send \"$EP\" 2>\"$T/send.err\" & S=$!; }\n"
              "\"$COLO\" recv -v \"$EP\" >/dev/null 2>\"$T/recv.err\" &\n"
              "R=$!\n"
              "i=0; until grep -q '%s' \"$T/recv.err\" || [ $i -gt %d ]; do sleep 0.05; i=$((i+1)); done\n"
              "[ -n \"$S\" ] && sleep 0.3\n"
              "start=$(date +%%s%%N)\n"
              "kill -%s $R\n"
              "gone $R; wait $R; code=$?\n"
              "end=$(date +%%s%%N)\n"
              "scode=0; [ -n \"$S\" ] && { gone $S; wait $S; scode=$?; }\n"
              "echo \"code=$code ms=$(( (end - start) / 1000000 )) send=$scode left=[$(ls -A \"$T/ep\" | tr '\\n' ' ')]\"\n"
              "cat \"$T/send.err\" \"$T/recv.err\"\n",
              polls, busy, busy ? "peer connected" : "listening on", polls, sig);
  cr_assert_eq(rc, 0, "script exit %d: %s", rc, err);
  cr_assert_eq(sscanf(out, "code=%d ms=%d send=%d", &r->code, &r->ms, &r->send_code), 3, "%s", out);
  r->errs = strchr(out, '\n') + 1;
}

static void assert_nothing_left(const char *ep) {
  cr_assert(strstr(out, "left=[]"), "no endpoint file is left: %s", out);
  cr_assert_not(exists(ep), "%s is gone: %s", ep, out);
}

static void busy_recv_stops_on(const char *ep, const char *sig, int stream) {
  stopped_t r;
  stop_recv(ep, sig, 1, &r);
  cr_assert_eq(r.code, 130, "recv exit %d after SIG%s: %s", r.code, sig, r.errs);
  cr_assert_lt(r.ms, tu_ms(2000), "recv took %d ms", r.ms);
  cr_assert(strstr(r.errs, "colo recv: interrupted after "), "%s", r.errs);
  assert_nothing_left(ep);
  assert_sender_saw_close(r.send_code, r.errs, stream);
}

Test(cli, recv_stops_on_ctrl_c_while_messages_keep_arriving) {
  char ep[128];
  busy_recv_stops_on(tu_endpoint(ep, sizeof ep, "busyint"), "INT", 0);
}

Test(cli, recv_stops_on_sigterm_while_messages_keep_arriving) {
  char ep[128];
  snprintf(ep, sizeof ep, "colo:///tmp/colo-cli-%d/ep/r.rdv", (int)getpid());
  busy_recv_stops_on(ep, "TERM", 0);
}

Test(cli, recv_stops_on_ctrl_c_while_messages_keep_arriving_over_a_unix_socket) {
  char ep[128];
  snprintf(ep, sizeof ep, "unix:///tmp/colo-cli-%d/ep/u.sock", (int)getpid());
  busy_recv_stops_on(ep, "INT", 1);
}

/* A closed terminal is a stop like Ctrl-C: no segment is left behind,
 * whether recv waits for a peer or has one. */
static void sighup_stops_recv(const char *ep) {
  stopped_t r;
  for (int busy = 0; busy <= 1; busy++) {
    stop_recv(ep, "HUP", busy, &r);
    cr_assert_eq(r.code, 130, "recv exit %d after SIGHUP (%s): %s", r.code, busy ? "busy" : "idle", r.errs);
    cr_assert_lt(r.ms, tu_ms(2000), "recv took %d ms", r.ms);
    assert_nothing_left(ep);
    if (busy) assert_sender_saw_close(r.send_code, r.errs, 0);
  }
}

Test(cli, sighup_stops_recv_with_130_and_leaves_no_shm_segment) {
  char ep[128];
  sighup_stops_recv(tu_endpoint(ep, sizeof ep, "hup"));
}

Test(cli, sighup_stops_recv_with_130_and_leaves_no_file_segment) {
  char ep[128];
  snprintf(ep, sizeof ep, "file:///tmp/colo-cli-%d/ep/f.seg", (int)getpid());
  sighup_stops_recv(ep);
}

/* `colo recv EP | head -1` while `seq 100000 | colo send EP`: the closed
 * stdout is a clean end of recv (exit 0, the channel closed, the endpoint
 * removed), not a death by SIGPIPE. */
static void recv_into_head_1(const char *ep, int stream) {
  int rc = sh(ep, tu_ms(30000),
              "mkdir -p \"$T/ep\"\n"
              "{ \"$COLO\" recv \"$EP\" 2>\"$T/recv.err\"; echo $? > \"$T/recv.rc\"; } | head -n 1 > \"$T/head\" &\n"
              "seq 100000 | \"$COLO\" send \"$EP\" 2>\"$T/send.err\"; scode=$?\n"
              "wait\n"
              "echo \"recv=$(cat \"$T/recv.rc\") send=$scode head=$(cat \"$T/head\") left=[$(ls -A \"$T/ep\" | tr '\\n' ' ')]\"\n"
              "cat \"$T/send.err\" \"$T/recv.err\"\n");
  cr_assert_eq(rc, 0, "script exit %d: %s", rc, err);
  int rcode = -1, scode = -1, head = -1;
  cr_assert_eq(sscanf(out, "recv=%d send=%d head=%d", &rcode, &scode, &head), 3, "%s", out);
  const char *errs = strchr(out, '\n') + 1;
  cr_assert_eq(rcode, 0, "recv exit %d (141: SIGPIPE): %s", rcode, errs);
  cr_assert_eq(head, 1, "%s", out);
  assert_nothing_left(ep);
  assert_sender_saw_close(scode, errs, stream);
}

Test(cli, recv_into_head_1_ends_cleanly_over_a_unix_socket) {
  char ep[128];
  snprintf(ep, sizeof ep, "unix:///tmp/colo-cli-%d/ep/u.sock", (int)getpid());
  recv_into_head_1(ep, 1);
}

Test(cli, recv_into_head_1_ends_cleanly_over_a_fifo_pair) {
  char ep[128];
  snprintf(ep, sizeof ep, "pipe:///tmp/colo-cli-%d/ep/p.pipe", (int)getpid());
  recv_into_head_1(ep, 1);
}

Test(cli, recv_into_head_1_ends_cleanly_over_a_colo_rendezvous) {
  char ep[128];
  snprintf(ep, sizeof ep, "colo:///tmp/colo-cli-%d/ep/r.rdv", (int)getpid());
  recv_into_head_1(ep, 0);
}

Test(cli, recv_into_head_1_ends_cleanly_over_shm) {
  char ep[128];
  recv_into_head_1(tu_endpoint(ep, sizeof ep, "head"), 0);
}

Test(cli, bad_endpoints_and_options_fail_with_a_reason) {
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" recv shm://a/b"), 1);
  cr_assert(strstr(err, "letters, digits"), "%s", err);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" recv shm://x --count abc"), 2);
  cr_assert(strstr(err, "--count"), "%s", err);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" recv shm://x --mode fast"), 2);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" recv shm://x --capacity 5000"), 2);
  cr_assert(strstr(err, "power of two"), "%s", err);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" recv"), 2);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" send"), 2);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" recv shm://x --no-such-option"), 2);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" frobnicate"), 2);
  cr_assert(strstr(err, "unknown command"), "%s", err);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\""), 2);
}

Test(cli, every_command_has_help) {
  const char *cmds[] = {"", "recv ", "send ", "info ", "ls ", "rm ", "gc ", "bench ", "probe ", "rootfs "};
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
    cr_assert_eq(sh(NULL, 5000, "\"$COLO\" %s--help", cmds[i]), 0, "colo %s--help", cmds[i]);
    cr_assert_eq(strncmp(out, "Usage: colo", 11), 0, "colo %s--help: %s", cmds[i], out);
    cr_assert_eq(err[0], 0);
    cr_assert_eq(sh(NULL, 5000, "\"$COLO\" %s-h", cmds[i]), 0);
  }
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" --version"), 0);
  cr_assert(strstr(out, COLO_VERSION_STRING), "%s", out);
  cr_assert(strstr(out, "format 1.1"), "%s", out);
}

/* ---- ls, rm, gc on segments left by killed processes ------------------------- */

static void leave_dead(const char *ep) {
  cr_assert_eq(tu_leave_dead_listener(ep), 0);
  cr_assert(exists(ep), "a killed process leaves its segment");
}

Test(cli, ls_shows_a_dead_segment_and_a_live_one) {
  char dead[128], live[128];
  tu_endpoint(dead, sizeof dead, "lsdead");
  tu_endpoint(live, sizeof live, "lslive");
  leave_dead(dead);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, live, NULL), 0);

  cr_assert_eq(sh(NULL, tu_ms(5000), "\"$COLO\" ls"), 0, "%s", err);
  cr_assert(strstr(out, "LISTENER"), "a header row: %s", out);
  char *d = strstr(out, dead), *a = strstr(out, live);
  cr_assert(d && a, "%s", out);
  char row[512];
  sscanf(d, "%511[^\n]", row);
  cr_assert(strstr(row, " dead ") && strstr(row, "0600") && strstr(row, "2.0M"), "%s", row);
  sscanf(a, "%511[^\n]", row);
  cr_assert(strstr(row, " alive "), "%s", row);

  cr_assert_eq(sh(dead, tu_ms(5000), "\"$COLO\" ls --json \"$EP\""), 0, "%s", err);
  cr_assert(strstr(out, "\"listener\": \"dead\""), "%s", out);
  cr_assert(strstr(out, "\"dead\": true"), "%s", out);
  cr_assert(strstr(out, "\"size\": 2101248"), "%s", out);
  /* machine-readable: python parses it */
  if (access("/usr/bin/python3", X_OK) == 0) {
    cr_assert_eq(sh(dead, tu_ms(5000), "\"$COLO\" ls --json | python3 -c 'import json,sys; json.load(sys.stdin)'"),
                 0, "%s", err);
  }
  cr_assert_eq(sh("shm://no-such-segment", tu_ms(5000), "\"$COLO\" ls \"$EP\""), 1);
  colo_listener_close(l);
  colo_seg_remove(dead, 1);
}

Test(cli, rm_removes_a_dead_segment_and_refuses_a_live_one) {
  char dead[128], live[128];
  tu_endpoint(dead, sizeof dead, "rmdead");
  tu_endpoint(live, sizeof live, "rmlive");
  leave_dead(dead);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, live, NULL), 0);
  /* a bare NAME means shm://NAME */
  cr_assert_eq(sh(dead + 6, tu_ms(5000), "\"$COLO\" rm -v \"$EP\""), 0, "%s", err);
  cr_assert_not(exists(dead));
  cr_assert_eq(sh(live, tu_ms(5000), "\"$COLO\" rm \"$EP\""), 1);
  cr_assert(strstr(err, "live process"), "%s", err);
  cr_assert(exists(live));
  cr_assert_eq(sh(live, tu_ms(5000), "\"$COLO\" rm --force \"$EP\""), 0, "%s", err);
  cr_assert_not(exists(live));
  cr_assert_eq(sh(live, tu_ms(5000), "\"$COLO\" rm \"$EP\""), 1, "already gone");
  colo_listener_close(l);
}

/* A file:// path longer than any fixed buffer of the command: rm and ls act
 * on that path, not on the file a cut-short copy of it would name (here X,
 * the first 592 bytes of P, which "file://" makes 599). */
Test(cli, rm_and_ls_act_on_a_long_file_path_not_on_a_cut_short_one) {
  static char x[900], p[900], huge[4200];
  char a[251], b[251], c[201];
  memset(a, 'a', 250), a[250] = 0;
  memset(b, 'b', 250), b[250] = 0;
  memset(c, 'c', 200), c[200] = 0;
  int d = snprintf(p, sizeof p, "/tmp/colo-cli-%d/%s/%s/%s", (int)getpid(), a, b, c);
  cr_assert(d > 592 && (size_t)d < sizeof p && strrchr(p, '/') - p < 592);
  memcpy(x, p, 592);
  x[592] = 0;
  setenv("X", x, 1);
  setenv("P", p, 1);
  int rc = sh(NULL, tu_ms(10000),
              "mkdir -p \"${P%%/*}\" && : > \"$X\" && : > \"$P\" || exit 10\n"
              "\"$COLO\" ls \"file://$P\" > \"$T/ls\" || exit 11\n"
              "\"$COLO\" rm -f -v \"file://$P\" > \"$T/rm\" || exit 12\n"
              "[ -e \"$P\" ] && exit 13\n"
              "[ -e \"$X\" ] || exit 14\n"
              "cat \"$T/ls\" \"$T/rm\"\n");
  cr_assert_eq(rc, 0, "exit %d (13: P is still there, 14: X was removed instead): %s", rc, err);
  char want[1000];
  snprintf(want, sizeof want, "\nfile://%s ", p);
  cr_assert(strstr(out, want), "ls shows the whole path: %s", out);
  snprintf(want, sizeof want, "removed file://%s\n", p);
  cr_assert(strstr(out, want), "rm -v names the whole path: %s", out);

  /* over the library's limit (4000 bytes): refused (the library's detail,
   * the path first, is cut short before it says "path too long") */
  int n = snprintf(huge, sizeof huge, "file:///tmp/colo-cli-%d/", (int)getpid());
  memset(huge + n, 'h', sizeof huge - 1 - (size_t)n);
  huge[sizeof huge - 1] = 0;
  setenv("HUGE", huge, 1);
  cr_assert_eq(sh(NULL, tu_ms(5000), "\"$COLO\" rm -f \"$HUGE\""), 1);
  cr_assert(strstr(err, "colo rm: invalid argument: file://"), "%s", err);
  cr_assert_eq(sh(NULL, tu_ms(5000), "\"$COLO\" ls \"$HUGE\""), 1);
  cr_assert(strstr(err, "colo ls: invalid argument: file://"), "%s", err);
  unsetenv("X"), unsetenv("P"), unsetenv("HUGE");
}

/* Names anyone can make in /dev/shm (they are not colo segments): one with
 * a terminal escape, one with a newline that forges a row, one with a byte
 * that is not UTF-8 and a C1 control (U+0085), one with a backslash. */
#define ODD_NAMES \
  "E=$(printf '\\033'); N=\"/dev/shm/colo.odd$$\"\n" \
  "trap 'rm -f \"$N\"*; rm -rf \"$T\"' EXIT\n" \
  "for f in \"$N.$E[31mX\" \"$N.a\nforged 2.0M 0600 root alive alive ok\" \"$N.$(printf '\\377\\302\\205')z\" \"$N.back\\\\slash\"; do\n" \
  "  head -c 4096 /dev/zero | tr '\\0' j > \"$f\" || exit 9\n" \
  "done\n"

Test(cli, ls_escapes_names_for_the_terminal_and_json) {
  int rc = sh(NULL, tu_ms(10000),
              ODD_NAMES
              "\"$COLO\" ls > \"$T/ls\" || exit 10\n"
              "\"$COLO\" ls --json > \"$T/json\" || exit 11\n"
              "iconv -f UTF-8 -t UTF-8 \"$T/json\" > /dev/null || exit 12\n"
              "jq -e \"[.[] | select(.endpoint | startswith(\\\"shm://odd$$.\\\"))] | length == 4\" \"$T/json\" >/dev/null || exit 13\n"
              /* the escape and the newline survive as JSON escapes, to the byte */
              "jq -r \".[] | select(.endpoint | startswith(\\\"shm://odd$$.\\\")) | .endpoint\" \"$T/json\" > \"$T/names\" || exit 14\n"
              "grep -q \"^shm://odd$$.$E\\[31mX\\$\" \"$T/names\" || exit 15\n"
              "grep -q '^forged 2.0M' \"$T/names\" || exit 16\n"
              "\"$COLO\" rm \"shm://odd$$.$E[31mX\" 2> \"$T/rm\"; [ $? = 1 ] || exit 17\n"
              "\"$COLO\" gc --dry-run > \"$T/gc\" 2>&1 || exit 18\n"
              "grep -a \"odd$$\" \"$T/ls\" \"$T/json\" \"$T/rm\"; cat \"$T/gc\"\n");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  cr_assert_null(strchr(out, '\033'), "no raw escape reaches the terminal: %s", out);
  cr_assert_null(strstr(out, "\nforged"), "no forged row: %s", out);
  cr_assert_null(strstr(out, "\xc2\x85"), "no raw C1 control: %s", out);
  cr_assert(strstr(out, ".\\x1b[31mX "), "%s", out);
  cr_assert(strstr(out, ".a\\x0aforged 2.0M"), "%s", out);
  cr_assert(strstr(out, ".\\xff\\xc2\\x85z "), "%s", out);
  cr_assert(strstr(out, ".back\\\\slash "), "%s", out);
  cr_assert(strstr(out, ".\\u001b[31mX\""), "%s", out);
  cr_assert(strstr(out, ".a\\u000aforged 2.0M"), "%s", out);
  cr_assert(strstr(out, ".\\ufffd\\u0085z\""), "%s", out);
  cr_assert(strstr(out, ".back\\\\slash\""), "%s", out);
  cr_assert(strstr(out, "colo rm: invalid argument: shm://odd"), "the error names it, escaped: %s", out);
  cr_assert(strstr(out, ".\\x1b[31mX: a shm:// name"), "%s", out);
  cr_assert_null(strstr(out, "would remove shm://odd"), "not colo segments: gc leaves them: %s", out);
  cr_assert_eq(sh(NULL, tu_ms(5000), "ls /dev/shm | grep -c \"^colo\\.odd\" || true"), 0);
}

/* What cli_json_str (every --json output) makes of bytes that are not
 * plain ASCII, seen through colo ls --json on file:// names. */
Test(cli, json_output_is_valid_for_any_bytes_in_a_name) {
  int rc = sh(NULL, tu_ms(10000),
              /* well-formed: é, €, U+10348; then an overlong '/', a surrogate,
               * a cut-short sequence, a lone continuation byte, DEL */
              "for n in $(printf 'ok\\303\\251\\342\\202\\254\\360\\220\\215\\210 bad\\300\\257\\355\\240\\200\\342\\202 lone\\200\\177'); do\n"
              "  : > \"$T/$n\" && set -- \"$@\" \"file://$T/$n\"\n"
              "done\n"
              "\"$COLO\" ls --json \"$@\" > \"$T/json\"; [ $? = 0 ] || exit 10\n"
              "iconv -f UTF-8 -t UTF-8 \"$T/json\" > /dev/null || exit 11\n"
              "jq -e 'length == 3' \"$T/json\" > /dev/null || exit 12\n"
              "cat \"$T/json\"\n");
  cr_assert_eq(rc, 0, "exit %d: %s%s", rc, out, err);
  cr_assert(strstr(out, "/ok\xc3\xa9\xe2\x82\xac\xf0\x90\x8d\x88\""), "well-formed UTF-8 passes: %s", out);
  cr_assert(strstr(out, "/bad\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""), "%s", out);
  cr_assert(strstr(out, "/lone\\ufffd\\u007f\""), "%s", out);
}

Test(cli, gc_removes_dead_segments_only) {
  char d1[128], d2[128], live[128];
  tu_endpoint(d1, sizeof d1, "gc1");
  tu_endpoint(d2, sizeof d2, "gc2");
  tu_endpoint(live, sizeof live, "gclive");
  leave_dead(d1);
  leave_dead(d2);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, live, NULL), 0);
  cr_assert_eq(sh(NULL, tu_ms(5000), "\"$COLO\" gc --dry-run"), 0, "%s", err);
  cr_assert(strstr(out, d1) && strstr(out, d2), "%s", out);
  cr_assert_null(strstr(out, live), "%s", out);
  cr_assert(exists(d1) && exists(d2), "a dry run removes nothing");
  cr_assert_eq(sh(NULL, tu_ms(5000), "\"$COLO\" gc"), 0, "%s", err);
  cr_assert(strstr(out, d1) && strstr(out, d2), "says what it removed: %s", out);
  cr_assert_not(exists(d1));
  cr_assert_not(exists(d2));
  cr_assert(exists(live));
  colo_listener_close(l);
}

/* ---- colo probe, between two processes on this host ---------------------------- */

Test(cli, probe_path_says_a_writable_directory_carries_shared_memory) {
  cr_assert_eq(sh(NULL, 30000, "\"$COLO\" probe \"$T\" --json"), 0, "%s%s", out, err);
  cr_assert(strstr(out, "\"shared_memory\":true"), "%s", out);
  cr_assert(strstr(out, "{\"name\":\"backing\",\"ok\":true"), "%s", out);
  cr_assert(strstr(out, "{\"name\":\"locks\",\"ok\":true"), "%s", out);
  cr_assert(strstr(out, "{\"name\":\"unix socket\",\"ok\":true"), "%s", out);
  /* what it tried is gone again */
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" probe \"$T\" >/dev/null; ls -A \"$T\""), 0);
  cr_assert_str_eq(out, "");
}

Test(cli, probe_path_with_no_room_for_the_segment_says_sockets_only) {
  /* more than any disk here has free: refused before anything is reserved */
  cr_assert_eq(sh(NULL, 30000, "\"$COLO\" probe \"$T\" --size 1023G"), 1, "%s%s", out, err);
  cr_assert(strstr(out, "does not fit"), "%s", out);
  cr_assert(strstr(out, "only sockets work"), "%s", out);
}

Test(cli, probe_serve_and_join_agree_on_everything_between_two_processes) {
  int rc = sh(NULL, 60000,
              "\"$COLO\" probe serve \"$T\" --timeout 20 --json > \"$T/serve\" & sleep 0.2\n"
              "\"$COLO\" probe join \"$T\" --timeout 20 --json > \"$T/join\" || exit 10\n"
              "wait $! || exit 11\n"
              "cat \"$T/serve\"; echo; cat \"$T/join\"\n");
  cr_assert_eq(rc, 0, "exit %d (10: join, 11: serve): %s%s", rc, out, err);
  char *join = strstr(out, "\n{\"role\":\"join\"");
  static const char serve[] = "{\"role\":\"serve\"";
  cr_assert(!strncmp(out, serve, sizeof serve - 1) && join, "%s", out);
  *join++ = 0; /* each side's assertions see its own JSON only */
  for (const char *side = out; side; side = side == out ? join : NULL) {
    cr_assert(strstr(side, "{\"name\":\"shared file\",\"ok\":true"), "%s", side);
    cr_assert(strstr(side, "{\"name\":\"lock\",\"ok\":true"), "%s", side);
    cr_assert(strstr(side, "{\"name\":\"futex\",\"ok\":true"), "%s", side);
    cr_assert(strstr(side, "{\"name\":\"memfd\",\"ok\":true"), "%s", side);
    cr_assert(strstr(side, "\"ipc\":\"shared\""), "%s", side);
    for (const char *t = "colo\0file\0shm\0unix\0"; *t; t += strlen(t) + 1) {
      char want[64];
      snprintf(want, sizeof want, "{\"name\":\"%s\",", t);
      const char *at = strstr(side, want);
      cr_assert(at && strstr(at, "\"works\":true") && strstr(at, "\"works\":true") < strstr(at, "}"), "%s: %s", t, side);
    }
    cr_assert(strstr(side, "\"exit\":0"), "%s", side);
  }
}

Test(cli, probe_join_with_nobody_serving_says_nothing_is_shared_in_time) {
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(sh(NULL, 30000, "\"$COLO\" probe join \"$T\" --timeout 1"), 2, "%s%s", out, err);
  cr_assert_lt(tu_now_ms() - t0, 10000);
  cr_assert(strstr(out, "no serving side appeared"), "%s", out);
  cr_assert(strstr(out, "To enable more: mount the same directory at"), "%s", out);
}

Test(cli, probe_join_survives_a_peer_that_is_not_a_probe) {
  /* garbage where the page should be, and a listener that speaks colo but
   * not the rendezvous: a clear verdict, no crash, no hang */
  int rc = sh(NULL, 60000,
              "head -c 4096 /dev/urandom > \"$T/colo-probe.seg\"\n"
              "\"$COLO\" recv unix://\"$T\"/colo-probe.sock --timeout 10 >/dev/null 2>&1 & sleep 0.3\n"
              "\"$COLO\" probe join \"$T\" --timeout 2; rc=$?; kill $! 2>/dev/null; exit $rc\n");
  cr_assert_eq(rc, 2, "%s%s", out, err);
  cr_assert(strstr(out, "Verdict: nothing is shared"), "%s", out);
}

Test(cli, probe_usage_errors_exit_2) {
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" probe"), 2);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" probe relative/dir"), 2);
  cr_assert(strstr(err, "absolute"), "%s", err);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" probe serve"), 2);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" probe \"$T\" --size 12Q"), 2);
  cr_assert_eq(sh(NULL, 5000, "\"$COLO\" probe \"$T\" --timeout -3"), 2);
}

/* colo rootfs writes into a directory another user may own or share (a tree
 * under /tmp): a link of that user on the way is refused, and a link at a
 * file's own name is replaced, never written through (the victims here are
 * files of this test, standing in for the system's libraries). */
Test(cli, rootfs_never_writes_through_another_users_link) {
  if (!tu_is_root()) {
    cr_skip_test("needs root to play another user (chown to 65534)");
    return;
  }
  int rc = sh(NULL, tu_ms(30000),
              "mkdir -p \"$T/victim/lib\" && echo precious > \"$T/victim/file\"\n"
              /* the whole tree a link of another user */
              "ln -s \"$T/victim\" \"$T/r1\" && chown -h 65534:65534 \"$T/r1\"\n"
              "\"$COLO\" rootfs \"$T/r1\" > /dev/null 2> \"$T/e1\" && exit 10\n"
              "grep -q 'symbolic link' \"$T/e1\" || exit 11\n"
              /* a directory of another user with a link of theirs inside */
              "mkdir \"$T/r2\" && ln -s \"$T/victim\" \"$T/r2/usr\" && chown -hR 65534:65534 \"$T/r2\"\n"
              "\"$COLO\" rootfs \"$T/r2\" > /dev/null 2> \"$T/e2\" && exit 12\n"
              "grep -q 'symbolic link of uid 65534' \"$T/e2\" || exit 13\n"
              /* a link at the name of a file it writes */
              "mkdir \"$T/r3\" && ln -s \"$T/victim/file\" \"$T/r3/colo\" && chown -hR 65534:65534 \"$T/r3\"\n"
              "\"$COLO\" rootfs \"$T/r3\" > /dev/null 2> \"$T/e3\" || exit 14\n"
              "test -L \"$T/r3/colo\" && exit 15\n"
              "test \"$(cat \"$T/victim/file\")\" = precious || exit 16\n"
              "test -z \"$(ls \"$T/victim/lib\")\" || exit 17\n"
              "cat \"$T/e1\" \"$T/e2\"\n");
  cr_assert_eq(rc, 0, "exit %d (10-13: refused?, 14-17: written through?): %s %s", rc, out, err);
}

Test(cli, rootfs_holds_colo_and_what_it_loads) {
  cr_assert_eq(sh(NULL, 30000, "\"$COLO\" rootfs \"$T/r\" && \"$T/r/colo\" --version && ls \"$T/r\""), 0, "%s", err);
  cr_assert(strstr(out, "/colo\n"), "%s", out);
  cr_assert(strstr(out, "libc.so"), "%s", out);
  cr_assert(strstr(out, "colo 0."), "%s", out);
  cr_assert(strstr(out, "proc\n"), "%s", out);
}

Test(cli, send_timeout_holds_against_a_stopped_receiver) {
  const char *eps[] = {"unix:///tmp/colo-cli-%d/ep/stopped.sock", "tcp://127.0.0.1:%d", "pipe:///tmp/colo-cli-%d/ep/p",
                       "shm://t.%d.stopped"};
  for (size_t k = 0; k < sizeof eps / sizeof eps[0]; k++) {
    char ep[128];
    snprintf(ep, sizeof ep, eps[k], k == 1 ? 20000 + (int)getpid() % 12000 : (int)getpid());
    /* recv gets the first line, then is stopped; the flood after it fills
     * every buffer and the sender must give up within its --timeout. */
    int rc = sh(ep, tu_ms(30000),
                "mkdir -p \"$T/ep\"\n"
                "\"$COLO\" recv \"$EP\" > \"$T/out\" & r=$!\n"
                "( echo first; while [ ! -f \"$T/stopped\" ]; do sleep 0.05; done;"
                "  yes 0123456789abcdef | head -c 100000000 ) | \"$COLO\" send --timeout 1 \"$EP\" 2> \"$T/err\" & w=$!\n"
                "i=0; while ! grep -q first \"$T/out\" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\n"
                "kill -STOP $r; s=$(date +%%s%%N); touch \"$T/stopped\"\n"
                "wait $w; c=$?; e=$(date +%%s%%N)\n"
                "kill -CONT $r; kill $r; wait $r\n"
                "echo \"code=$c ms=$(( (e - s) / 1000000 ))\"; cat \"$T/err\"\n");
    cr_assert_eq(rc, 0, "%s: %s", ep, err);
    int code = -1, ms = -1;
    cr_assert_eq(sscanf(out, "code=%d ms=%d", &code, &ms), 2, "%s", out);
    cr_assert_eq(code, 1, "%s: %s", ep, out);
    cr_assert(strstr(out, "timed out"), "%s: %s", ep, out);
    cr_assert_lt(ms, tu_ms(5000), "%s: --timeout 1 holds (%d ms)", ep, ms);
  }
}

Test(cli, probe_trusts_no_file_in_the_directory_it_probes) {
  /* An empty and a short page where the serving side's belongs: join maps
   * neither (no SIGBUS), and gives its verdict in time. */
  const char *pages[] = {": > \"$T/colo-probe.seg\"", "head -c 100 /dev/zero > \"$T/colo-probe.seg\""};
  for (int i = 0; i < 2; i++) {
    uint64_t t0 = tu_now_ms();
    int rc = sh(NULL, 30000, "%s\n\"$COLO\" probe join \"$T\" --timeout 2", pages[i]);
    cr_assert_eq(rc, 2, "%s: exit %d (135 is SIGBUS): %s%s", pages[i], rc, out, err);
    cr_assert_lt(tu_now_ms() - t0, 10000u);
    cr_assert(strstr(out, "Verdict: nothing is shared"), "%s", out);
  }
  /* A FIFO where the serving side's file ring goes: serve never opens it
   * (nothing blocks), ends within its timeout, and leaves it alone; a
   * SIGTERM meanwhile ends it too. */
  uint64_t t0 = tu_now_ms();
  int rc = sh(NULL, 30000,
              "mkfifo \"$T/colo-probe.ring\"\n"
              "\"$COLO\" probe serve \"$T\" --timeout 2; rc=$?\n"
              "[ -p \"$T/colo-probe.ring\" ] || exit 20\n"
              "\"$COLO\" probe serve \"$T\" --timeout 20 & p=$!; sleep 0.5; kill -TERM $p; wait $p; t=$?\n"
              "[ -p \"$T/colo-probe.ring\" ] || exit 21\n"
              "echo \"serve=$rc term=$t\"");
  cr_assert_eq(rc, 0, "exit %d: %s%s", rc, out, err);
  cr_assert(strstr(out, "serve=2 term=130"), "%s%s", out, err);
  cr_assert_lt(tu_now_ms() - t0, 15000u);
}

static long vm_size_kb_of(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

Test(cli, recv_sizes_its_buffer_by_its_own_limit_not_the_peers) {
  char path[128], script[300];
  snprintf(path, sizeof path, "/tmp/colo-cli-%d.big.sock", (int)getpid());
  snprintf(script, sizeof script, "exec \"$COLO\" recv unix://%s --timeout 5 >/dev/null 2>&1", path);
  tu_proc_t p;
  cr_assert_eq(tu_spawn_sh(&p, script), 0);
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; i++) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) close(fd), fd = -1, usleep(10000);
  }
  cr_assert_geq(fd, 0, "recv listens");
  long before = vm_size_kb_of(p.pid);
  /* A client that says it takes 512 MiB messages: what it may be sent. */
  uint8_t h[16] = "colo-str";
  uint16_t major = 1;
  uint32_t max = 1u << 29;
  memcpy(h + 8, &major, 2), memcpy(h + 12, &max, 4);
  cr_assert_eq(write(fd, h, sizeof h), 16);
  cr_assert_eq(read(fd, h, sizeof h), 16, "recv answered");
  usleep(200000);
  long after = vm_size_kb_of(p.pid);
  close(fd);
  tu_wait(&p, tu_ms(10000));
  cr_assert_lt(after - before, 64 * 1024, "recv did not allocate by the peer's word: %ld kB more", after - before);
}
