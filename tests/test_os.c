/*
 * test_os.c - the OS contract (shims/shim.h) tested directly: one case per
 * promise the header makes, named as that promise.
 *
 * The same file runs against every OS layer: it calls only shim.h entries
 * and tests/testutil.h (whose tu_* functions hide processes, threads, files
 * and signals), and includes no OS header. Every case first asks the shim
 * for what it needs; where an entry answers COLO_ENOTSUP (the stub shim: all
 * of them) the case is skipped with the reason, never passed. Where a
 * promise cannot be tested through the contract, a comment says why.
 *
 * Timing bounds are generous (a loaded two-CPU machine, sanitizers): a case
 * checks that a wait ends, and ends neither far too early nor never.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../shims/shim.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------- */

static const char MARK[8] = {'c', 'o', 'l', 'o', '-', 't', 'o', 's'};
#define S_ 1000000000ull
#define MS_ 1000000ull

/* Skips with the shim's reason, naming the entry once. */
static void skip_why(const char *what) {
  const char *why = colo_last_error();
  if (strstr(why, what)) cr_skip_test("%s", why);
  else cr_skip_test("%s: %s", what, why);
}

/* Skips the case when rc says the platform lacks the entry; fails on any
 * other error. */
#define NEED_RC(rc, what)                                                                         \
  do {                                                                                           \
    int need_rc_ = (rc);                                                                         \
    if (need_rc_ == COLO_ENOTSUP) {                                                              \
      skip_why((what));                                                                          \
      return;                                                                                    \
    }                                                                                            \
    cr_assert_eq(need_rc_, 0, "%s: %s: %s", (what), colo_errname(need_rc_), colo_last_error()); \
  } while (0)
#define OK(call)                                                                                      \
  do {                                                                                                \
    int ok_rc_ = (call);                                                                              \
    cr_assert_eq(ok_rc_, 0, "%s: %s: %s", #call, colo_errname(ok_rc_), colo_last_error());           \
  } while (0)
#define SKIP_UNLESS(cond, why)   \
  do {                           \
    if (!(cond)) {               \
      cr_skip_test("%s", (why)); \
      return;                    \
    }                            \
  } while (0)

/* The platform has segments: an open of a name nobody made answers
 * COLO_ENOENT there, COLO_ENOTSUP where it has none. */
#define NEED_SEGMENTS()                                                              \
  do {                                                                               \
    colo__os_seg_t *need_s_;                                                         \
    int need_r_ = colo__os_seg_open(&need_s_, COLO__EP_SHM, "t.absent.os", 0);       \
    if (need_r_ == 0) colo__os_seg_close(need_s_);                                   \
    if (need_r_ == COLO_ENOTSUP) {                                                   \
      skip_why("colo__os_seg_open");                                                 \
      return;                                                                        \
    }                                                                                \
  } while (0)

static const char *child_name; /* what a forked child opens (its copy of the parent's memory) */

static uint64_t ms_since(uint64_t t0) { return tu_now_ms() - t0; }

/* A named shm segment of size bytes, slot `slot` held by it, MARK at 0. */
static int seg_make(colo__os_seg_t **s, char *name, size_t cap, const char *tag, uint64_t size, int slot, int flags) {
  tu_shm_name(name, cap, tag);
  return colo__os_seg_create(s, COLO__EP_SHM, name, size, 0600, slot, MARK, sizeof MARK, flags);
}
#define MAKE_SEG(s, name, tag, size, slot, flags) \
  NEED_RC(seg_make(&(s), name, sizeof name, tag, size, slot, flags), "colo__os_seg_create")

static colo__os_seg_t *seg_open_ok(colo__ep_kind_t kind, const char *name, int flags) {
  colo__os_seg_t *s = NULL;
  int rc = colo__os_seg_open(&s, kind, name, flags);
  cr_assert_eq(rc, 0, "open %s: %s: %s", name, colo_errname(rc), colo_last_error());
  return s;
}

static void seg_done(colo__os_seg_t *s, colo__ep_kind_t kind, const char *name) {
  colo__os_seg_close(s);
  colo__os_seg_remove(kind, name);
}

/* ---- paths -------------------------------------------------------------------------- */

/* An absolute path of exactly len bytes under the temporary directory (as
 * the platform writes one: "/tmp/...", "/C:/..."), padded with c. */
static void path_of_len(char *buf, size_t len, char c) {
  char dir[256];
  tu_tmp_path(dir, sizeof dir, "p");
  size_t n = strlen(dir);
  cr_assert_lt(n + 2, len, "the temporary directory's path is shorter than %zu", len);
  memcpy(buf, dir, n);
  buf[n] = '/';
  memset(buf + n + 1, c, len - n - 1);
  buf[len] = '\0';
}

Test(paths, a_path_this_system_cannot_use_is_refused_with_the_reason_and_a_good_one_passes) {
  char good[256], dir[300], sock[256];
  tu_tmp_path(good, sizeof good, "path");
  int rc = colo__os_path_check(COLO__EP_FILE, good);
  NEED_RC(rc, "colo__os_path_check");
  /* "absolute, short enough for the object it names, not naming a
   * directory"; the reason is recorded without the endpoint. (Windows asks
   * for a drive letter: "relative" is its word for what is missing only on
   * POSIX, so the case checks the code there and the word where it is.) */
  cr_assert_eq(colo__os_path_check(COLO__EP_FILE, "relative/seg"), COLO_EINVAL);
  cr_assert(strstr(colo_last_error(), "absolute") || strstr(colo_last_error(), "drive-letter"), "%s",
            colo_last_error());
  snprintf(dir, sizeof dir, "%s/", good);
  cr_assert_eq(colo__os_path_check(COLO__EP_FILE, dir), COLO_EINVAL);
  cr_assert(strstr(colo_last_error(), "directory"), "%s", colo_last_error());
  char longp[COLO__PATH_MAX + 8];
  path_of_len(longp, sizeof longp - 1, 'p');
  cr_assert_eq(colo__os_path_check(COLO__EP_FILE, longp), COLO_EINVAL, "longer than COLO__PATH_MAX");
  /* A socket path is bounded by the system (sun_path, 108 bytes on Linux and
   * in Windows' afunix.h): the same path may suit a file and not a socket. */
  char mid[300];
  path_of_len(mid, sizeof mid - 1, 'm');
  OK(colo__os_path_check(COLO__EP_FILE, mid));
  cr_assert_eq(colo__os_path_check(COLO__EP_UNIX, mid), COLO_EINVAL);
  cr_assert_eq(colo__os_path_check(COLO__EP_COLO, mid), COLO_EINVAL);
  OK(colo__os_path_check(COLO__EP_UNIX, tu_tmp_path(sock, sizeof sock, "os.sock")));
}

/* ---- capabilities: what the core reads ------------------------------------------------- */

Test(caps, the_rendezvous_runs_on_a_stream_the_shim_can_listen_on) {
  colo__ep_kind_t k = colo__os_caps.rdv_kind;
  cr_assert(k == COLO__EP_UNIX || k == COLO__EP_PIPE, "a colo:// rendezvous is a local stream, not %d", (int)k);
  char name[200];
  tu_tmp_path(name, sizeof name, "rdv.sock");
  colo__endpoint_t ep;
  memset(&ep, 0, sizeof ep);
  ep.kind = k;
  snprintf(ep.name, sizeof ep.name, "%s", name);
  colo__endpoint_t actual;
  colo__os_lsock_t *l;
  NEED_RC(colo__os_listen(&l, &ep, 0600, &actual), "colo__os_listen");
  colo__os_listen_close(l);
}

Test(caps, names_that_can_be_listed_persist) {
  /* colo ls and gc list what a dead process left: only where names outlive
   * their processes is there anything to list. */
  if (!colo__os_caps.listable_names) {
    cr_assert_eq(colo__os_seg_list(NULL, NULL), COLO_ENOTSUP, "a shim that cannot list says so");
    cr_skip_test("this shim lists no names (caps.listable_names is 0)");
    return;
  }
  cr_assert(colo__os_caps.persistent_names, "listable names are persistent ones");
}

/* ---- time -------------------------------------------------------------------------- */

Test(clock, the_monotonic_clocks_never_go_back_and_advance_across_a_sleep) {
  uint64_t t0 = colo__os_now_ns(), c0 = colo__os_now_coarse_ns();
  SKIP_UNLESS(t0 && c0, "the clocks read 0: no clock on this platform");
  uint64_t t = t0, c = c0;
  for (int i = 0; i < 100000; i++) {
    uint64_t t2 = colo__os_now_ns(), c2 = colo__os_now_coarse_ns();
    cr_assert_geq(t2, t, "now_ns went back by %llu ns", (unsigned long long)(t - t2));
    cr_assert_geq(c2, c, "now_coarse_ns went back by %llu ns", (unsigned long long)(c - c2));
    t = t2, c = c2;
  }
  colo__os_sleep_ns(30 * MS_);
  uint64_t t1 = colo__os_now_ns(), c1 = colo__os_now_coarse_ns();
  cr_assert_geq(t1 - t, 15 * MS_, "now_ns advanced %llu ns across a 30 ms sleep", (unsigned long long)(t1 - t));
  /* At tick resolution (1-4 ms, 10 ms on a 100 Hz kernel): it moved. */
  cr_assert_gt(c1, c, "now_coarse_ns did not move across a 30 ms sleep");
}

Test(clock, sleep_sleeps_about_as_long_as_asked) {
  SKIP_UNLESS(colo__os_now_ns(), "now_ns reads 0: no clock on this platform");
  uint64_t t0 = colo__os_now_ns();
  colo__os_sleep_ns(50 * MS_);
  uint64_t d = colo__os_now_ns() - t0;
  /* "About": never far too short; the upper bound is the loaded machine's. */
  cr_assert_geq(d, 25 * MS_, "slept %llu ns of 50 ms", (unsigned long long)d);
  cr_assert_lt(d, 5 * S_, "slept %llu ns of 50 ms", (unsigned long long)d);
  t0 = colo__os_now_ns();
  colo__os_sleep_ns(0);
  cr_assert_lt(colo__os_now_ns() - t0, 2 * S_, "a sleep of 0 returns");
}

Test(clock, the_wall_clock_counts_nanoseconds_since_1970) {
  uint64_t r = colo__os_realtime_ns();
  SKIP_UNLESS(r, "realtime_ns reads 0: no wall clock on this platform");
  long long secs = (long long)(r / S_), c = (long long)time(NULL);
  cr_assert(secs - c < 5 && c - secs < 5, "realtime_ns says %lld s, time() %lld s", secs, c);
}

/* "Never fails; falls back to clock mixing": the fallback runs only when the
 * system has no entropy to give, which a test cannot arrange through the
 * contract. */
Test(random, random_fills_every_byte_and_differs_between_calls) {
  enum { N = 1021 }; /* odd: the tail after whole words is filled too */
  unsigned char a[N], b[N];
  memset(a, 0xAA, N), memset(b, 0xAA, N);
  colo__os_random(a, N);
  colo__os_random(b, N);
  int zero = 1;
  for (int i = 0; i < N && zero; i++) zero = !a[i] && !b[i];
  SKIP_UNLESS(!zero, "random gives only zero bytes: no randomness on this platform");
  int same = 0, left_a = 0, left_b = 0;
  for (int i = 0; i < N; i++) same += a[i] == b[i], left_a += a[i] == 0xAA, left_b += b[i] == 0xAA;
  /* About N/256 each by chance. */
  cr_assert_lt(same, N / 16, "%d of %d bytes equal between two calls", same, N);
  cr_assert_lt(left_a, N / 16, "%d of %d bytes kept their old value", left_a, N);
  cr_assert_lt(left_b, N / 16, "%d of %d bytes kept their old value", left_b, N);
  for (int i = 0; i < 4; i++) cr_assert(a[N - 1 - i] != 0xAA || b[N - 1 - i] != 0xAA, "the tail is filled");
  colo__os_random(a, 0); /* nothing to fill */
}

/* ---- who may be on the other side ------------------------------------------------------------ */

Test(peers, parse_reads_nobody_more_anyone_a_numeric_id_and_a_user_name) {
  colo__os_peers_t p;
  NEED_RC(colo__os_peers_parse(NULL, &p), "colo__os_peers_parse");
  cr_assert(!p.anyone && !p.has_extra, "NULL: nobody more");
  OK(colo__os_peers_parse("", &p));
  cr_assert(!p.anyone && !p.has_extra, "\"\": nobody more");
  OK(colo__os_peers_parse("*", &p));
  cr_assert(p.anyone, "*: anyone");
  /* A numeric id on POSIX, a SID on Windows. */
  uint64_t id;
  const char *other = tu_other_user(&id);
  OK(colo__os_peers_parse(other, &p));
  cr_assert(!p.anyone && p.has_extra && p.extra == id);
  cr_assert_str_eq(p.spec, other, "kept as given, for messages");
  char name[64];
  if (tu_self_user(&id, name, sizeof name) == 0) {
    OK(colo__os_peers_parse(name, &p));
    cr_assert(p.has_extra && p.extra == id, "%s: id %llu, not %llu", name, (unsigned long long)p.extra,
              (unsigned long long)id);
    cr_assert_str_eq(p.spec, name);
  }
}

Test(peers, an_unknown_user_is_EINVAL_with_the_reason) {
  colo__os_peers_t p;
  NEED_RC(colo__os_peers_parse(NULL, &p), "colo__os_peers_parse");
  cr_assert_eq(colo__os_peers_parse("no-such-user-colo-test", &p), COLO_EINVAL);
  cr_assert(strstr(colo_last_error(), "no-such-user-colo-test"), "%s", colo_last_error());
}

/* ---- segments: create and open ------------------------------------------------------------------ */

Test(seg, create_maps_read_write_the_size_asked_with_the_mark_at_offset_0) {
  colo__os_seg_t *s, *o;
  char name[128];
  MAKE_SEG(s, name, "create", 65536, 0, 0);
  unsigned char *p = colo__os_seg_base(s);
  cr_assert_not_null(p);
  cr_assert_eq(colo__os_seg_size(s), 65536u);
  cr_assert_eq(memcmp(p, MARK, sizeof MARK), 0, "the mark at offset 0");
  cr_assert_eq(p[100], 0, "the rest reads zero");
  p[65535] = 0x5a;
  cr_assert_eq(*colo__os_seg_lost(s), 0, "the mapping is the segment");
  o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  unsigned char *q = colo__os_seg_base(o);
  cr_assert_eq(colo__os_seg_size(o), 65536u);
  cr_assert_eq(q[65535], 0x5a, "another handle maps the same memory");
  q[1000] = 7;
  cr_assert_eq(p[1000], 7);
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_SHM, name);
}

Test(seg, exclusive_create_of_an_existing_name_gives_EEXIST) {
  colo__os_seg_t *s, *s2 = NULL;
  char name[128];
  MAKE_SEG(s, name, "excl", 4096, 0, 0);
  ((unsigned char *)colo__os_seg_base(s))[64] = 'A';
  cr_assert_eq(colo__os_seg_create(&s2, COLO__EP_SHM, name, 8192, 0600, 1, MARK, sizeof MARK, 0), COLO_EEXIST,
               "%s", colo_last_error());
  cr_assert_null(s2);
  /* The failure took nothing of the first: its name, memory and hold. */
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  cr_assert_eq(colo__os_seg_size(o), 4096u);
  cr_assert_eq(((unsigned char *)colo__os_seg_base(o))[64], 'A');
  cr_assert_eq(colo__os_seg_probe(o, 0), 1, "the creator still holds slot 0");
  cr_assert_eq(colo__os_seg_probe(o, 1), 0);
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_SHM, name);
}

Test(seg, create_sets_the_permission_bits_exactly_whatever_the_umask) {
  NEED_SEGMENTS();
  /* Where there is no file-creation mask (Windows), the bits read back
   * still say who may use it: the owner only by default. */
  int old = tu_umask(077);
  uint32_t modes[] = {0600, 0640, 0666};
  for (int i = 0; i < 3; i++) {
    colo__os_seg_t *s;
    char name[128];
    tu_shm_name(name, sizeof name, "perm");
    int rc = colo__os_seg_create(&s, COLO__EP_SHM, name, 4096, modes[i], 0, MARK, sizeof MARK, 0);
    cr_assert_eq(rc, 0, "%s", colo_last_error());
    colo__os_stat_t st;
    colo__os_seg_fstat(s, &st);
    cr_assert_eq(st.perm, colo__os_perm_as_kept(modes[i]), "fstat: %o, not %o", st.perm, colo__os_perm_as_kept(modes[i]));
    OK(colo__os_seg_stat(COLO__EP_SHM, name, 0, &st));
    cr_assert_eq(st.perm, colo__os_perm_as_kept(modes[i]), "stat: %o, not %o", st.perm, colo__os_perm_as_kept(modes[i]));
    seg_done(s, COLO__EP_SHM, name);
  }
  if (old >= 0) tu_umask(old);
}

/* "Takes presence slot hold_slot before anything else can see the object
 * sized, writes the mark...": an observer thread opens the name over and over
 * while it is created. Whatever it sees must be a state the contract allows:
 * size 0 with nothing mapped, or a size with the creator's hold and the mark
 * (or zeros, where the object is sized from birth).
 * A race can only catch a wrong order by chance; it never fails a right one. */
typedef struct observer {
  const char *name;
  _Atomic int stop;
  _Atomic int opens;
  int empty, mark_only, sized, bad;
  char why[256];
} observer_t;

static void *observe(void *arg) {
  observer_t *ob = arg;
  while (!atomic_load(&ob->stop)) {
    colo__os_seg_t *o;
    if (colo__os_seg_open(&o, COLO__EP_SHM, ob->name, COLO__SEG_MAP) != 0) continue;
    ob->opens++;
    uint64_t size = colo__os_seg_size(o);
    const unsigned char *b = colo__os_seg_base(o);
    if (size == 0) {
      ob->empty++;
      if (b) ob->bad++, snprintf(ob->why, sizeof ob->why, "size 0 but a mapping");
    } else {
      ob->sized++;
      ob->mark_only += size == sizeof MARK;
      int held = colo__os_seg_probe(o, 1);
      if (held != 1)
        ob->bad++, snprintf(ob->why, sizeof ob->why, "sized %llu, slot 1 probed %d", (unsigned long long)size, held);
      /* Sized from birth (a Windows section): zeros until the mark lands. */
      static const unsigned char zeros[sizeof MARK];
      if (size >= sizeof MARK && memcmp(b, MARK, sizeof MARK) != 0 && memcmp(b, zeros, sizeof MARK) != 0)
        ob->bad++, snprintf(ob->why, sizeof ob->why, "sized %llu with neither the mark nor zeros",
                            (unsigned long long)size);
    }
    colo__os_seg_close(o);
  }
  return NULL;
}

Test(seg, create_holds_its_slot_and_writes_the_mark_before_the_object_is_seen_sized, .timeout = 120) {
  NEED_SEGMENTS();
  int opens = 0;
  for (int round = 0; round < 4; round++) {
    observer_t ob = {0};
    char name[128];
    ob.name = tu_shm_name(name, sizeof name, "race");
    tu_thread_t th;
    cr_assert_eq(tu_thread_start(&th, observe, &ob), 0);
    colo__os_seg_t *s;
    int rc = colo__os_seg_create(&s, COLO__EP_SHM, name, 32u << 20, 0600, 1, MARK, sizeof MARK, 0);
    for (uint64_t t0 = tu_now_ms(); rc == 0 && !atomic_load(&ob.opens) && ms_since(t0) < 5000;) tu_sleep_ms(1);
    atomic_store(&ob.stop, 1);
    tu_thread_join(&th);
    cr_assert_eq(rc, 0, "%s", colo_last_error());
    cr_assert_eq(ob.bad, 0, "%d bad observations, the last: %s", ob.bad, ob.why);
    opens += atomic_load(&ob.opens);
    cr_log_info("round %d: %d opens, %d at size 0, %d sized (%d of them the mark only)", round,
                atomic_load(&ob.opens), ob.empty, ob.sized, ob.mark_only);
    seg_done(s, COLO__EP_SHM, name);
  }
  cr_assert_gt(opens, 0, "the observer opened the segment at least once");
}

Test(seg, opening_an_object_still_of_size_0_maps_nothing_and_succeeds) {
  NEED_SEGMENTS();
  char path[256];
  tu_tmp_path(path, sizeof path, "empty");
  cr_assert_eq(tu_write_file(path, NULL, 0), 0, "cannot make %s", path);
  colo__os_seg_t *o = seg_open_ok(COLO__EP_FILE, path, COLO__SEG_MAP | COLO__SEG_GUARD);
  cr_assert_null(colo__os_seg_base(o), "nothing mapped");
  cr_assert_eq(colo__os_seg_size(o), 0u);
  char buf[8];
  size_t got = 99;
  OK(colo__os_seg_read(o, 0, buf, sizeof buf, &got));
  cr_assert_eq(got, 0u);
  seg_done(o, COLO__EP_FILE, path);
}

Test(seg, a_failed_create_leaves_nothing_behind_and_too_little_space_is_ENOSPC_now) {
  NEED_SEGMENTS();
  /* More than the whole shm filesystem holds: refused at once by the size
   * check of a filesystem with a limit (an unlimited one would try to give
   * it: skipped). */
  uint64_t total = tu_shm_fs_bytes();
  SKIP_UNLESS(total && total < (1ull << 50), "the shm filesystem's size is unknown or unlimited");
  colo__os_seg_t *s = NULL;
  char name[128];
  tu_shm_name(name, sizeof name, "nospc");
  int rc = colo__os_seg_create(&s, COLO__EP_SHM, name, total + (1ull << 30), 0600, 0, MARK, sizeof MARK, 0);
  cr_assert_eq(rc, COLO_ENOSPC, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert_null(s);
  colo__os_stat_t st;
  cr_assert_eq(colo__os_seg_stat(COLO__EP_SHM, name, 0, &st), COLO_ENOENT, "nothing left under the name");
  OK(colo__os_seg_create(&s, COLO__EP_SHM, name, 4096, 0600, 0, MARK, sizeof MARK, 0));
  seg_done(s, COLO__EP_SHM, name);
}

Test(seg, a_section_the_commit_limit_cannot_take_is_ENOSPC_at_create_and_leaves_nothing) {
  NEED_SEGMENTS();
  SKIP_UNLESS(tu_fault(TU_FAIL_COMMIT, 1) == 0, "no commit limit to meet here (Linux: too_little_space_is_ENOSPC_now)");
  colo__os_seg_t *s = NULL;
  char name[128];
  tu_shm_name(name, sizeof name, "commit");
  int rc = colo__os_seg_create(&s, COLO__EP_SHM, name, 1u << 20, 0600, 0, MARK, sizeof MARK, 0);
  tu_fault(TU_FAIL_COMMIT, 0);
  cr_assert_eq(rc, COLO_ENOSPC, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert(strstr(colo_last_error(), "commit"), "the detail says why: %s", colo_last_error());
  cr_assert_null(s);
  colo__os_stat_t st;
  cr_assert_eq(colo__os_seg_stat(COLO__EP_SHM, name, 0, &st), COLO_ENOENT, "nothing left under the name");
  /* The presence slot was let go: the name can be made now. */
  OK(colo__os_seg_create(&s, COLO__EP_SHM, name, 4096, 0600, 0, MARK, sizeof MARK, 0));
  seg_done(s, COLO__EP_SHM, name);
}

Test(seg, create_of_a_file_segment_makes_its_missing_parent_directories) {
  NEED_SEGMENTS();
  char dir[256], path[400];
  tu_tmp_path(dir, sizeof dir, "parents");
  snprintf(path, sizeof path, "%s/a/b/seg", dir);
  colo__os_seg_t *s;
  OK(colo__os_seg_create(&s, COLO__EP_FILE, path, 4096, 0600, 0, MARK, sizeof MARK, 0));
  colo__os_stat_t st;
  OK(colo__os_seg_stat(COLO__EP_FILE, path, 0, &st));
  cr_assert(st.regular);
  cr_assert_eq(st.size, 4096u);
  colo__os_seg_close(s);
  tu_remove_tree(dir);
}

Test(seg, create_never_makes_its_object_a_symbolic_link_but_follows_this_users_link_on_the_way) {
  NEED_SEGMENTS();
  char dir[256], real[300], link[300], target[300], at[300], via[400], lands[400];
  tu_tmp_path(dir, sizeof dir, "links");
  snprintf(real, sizeof real, "%s/real", dir);
  snprintf(link, sizeof link, "%s/link", dir);
  snprintf(target, sizeof target, "%s/target", dir);
  snprintf(at, sizeof at, "%s/at", dir);
  cr_assert_eq(tu_mkdir(dir), 0);
  cr_assert_eq(tu_mkdir(real), 0);
  if (tu_symlink(target, at) != 0 || tu_symlink(real, link) != 0) {
    tu_remove_tree(dir);
    cr_skip_test("no symbolic links on this platform");
    return;
  }
  colo__os_seg_t *s = NULL;
  int rc = colo__os_seg_create(&s, COLO__EP_FILE, at, 4096, 0600, 0, MARK, sizeof MARK, 0);
  cr_assert_neq(rc, 0, "a link at the name is not followed");
  colo__os_stat_t st;
  cr_assert_eq(colo__os_seg_stat(COLO__EP_FILE, target, 0, &st), COLO_ENOENT, "nothing made where the link points");
  /* A directory link of this user (or root) on the way is followed. */
  snprintf(via, sizeof via, "%s/seg", link);
  snprintf(lands, sizeof lands, "%s/seg", real);
  OK(colo__os_seg_create(&s, COLO__EP_FILE, via, 4096, 0600, 0, MARK, sizeof MARK, 0));
  OK(colo__os_seg_stat(COLO__EP_FILE, lands, 0, &st));
  colo__os_seg_close(s);
  tu_remove_tree(dir);
}

Test(seg, open_refuses_a_directory_a_FIFO_a_device_and_a_link_with_EINVAL_without_blocking, .timeout = 60) {
  NEED_SEGMENTS();
  char dir[256], fifo[300], link[300], file[300];
  tu_tmp_path(dir, sizeof dir, "kinds");
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  snprintf(link, sizeof link, "%s/link", dir);
  snprintf(file, sizeof file, "%s/file", dir);
  cr_assert_eq(tu_mkdir(dir), 0);
  cr_assert_eq(tu_write_file(file, MARK, sizeof MARK), 0);
  const char *paths[4] = {dir, NULL, NULL, tu_device_path()};
  if (tu_mkfifo(fifo) == 0) paths[1] = fifo;
  if (tu_symlink(file, link) == 0) paths[2] = link;
  uint64_t t0 = tu_now_ms();
  for (int i = 0; i < 4; i++) {
    if (!paths[i]) continue;
    for (int flags = 0; flags <= COLO__SEG_MAP; flags += COLO__SEG_MAP) {
      colo__os_seg_t *o = NULL;
      int rc = colo__os_seg_open(&o, COLO__EP_FILE, paths[i], flags);
      cr_assert_eq(rc, COLO_EINVAL, "%s (flags %d): %s: %s", paths[i], flags, colo_errname(rc), colo_last_error());
      cr_assert_null(o);
    }
  }
  cr_assert_lt(ms_since(t0), (uint64_t)tu_ms(10000), "nothing blocked");
  tu_remove_tree(dir);
}

Test(seg, open_of_an_absent_name_is_ENOENT_naming_it) {
  NEED_SEGMENTS();
  char name[128];
  tu_shm_name(name, sizeof name, "absent");
  colo__os_seg_t *o = NULL;
  cr_assert_eq(colo__os_seg_open(&o, COLO__EP_SHM, name, COLO__SEG_MAP), COLO_ENOENT);
  cr_assert_null(o);
  cr_assert(strstr(colo_last_error(), name), "the detail names the object: %s", colo_last_error());
}

Test(seg, open_without_map_is_unmapped_and_read_reads_the_bytes_up_to_the_end) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "read", 8192, 0, 0);
  unsigned char *p = colo__os_seg_base(s);
  for (int i = 8; i < 8192; i++) p[i] = (unsigned char)(i * 7);
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, 0);
  cr_assert_null(colo__os_seg_base(o), "not mapped");
  cr_assert_eq(colo__os_seg_size(o), 8192u);
  unsigned char buf[512];
  size_t got;
  OK(colo__os_seg_read(o, 0, buf, sizeof MARK, &got));
  cr_assert_eq(got, sizeof MARK);
  cr_assert_eq(memcmp(buf, MARK, sizeof MARK), 0);
  OK(colo__os_seg_read(o, 8000, buf, sizeof buf, &got));
  cr_assert_eq(got, 192u, "fewer at the end of the object");
  cr_assert_eq(memcmp(buf, p + 8000, 192), 0);
  OK(colo__os_seg_read(o, 9000, buf, sizeof buf, &got));
  cr_assert_eq(got, 0u, "nothing past the end");
  cr_assert_eq(colo__os_seg_probe(o, 0), 1, "a reader can probe");
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_SHM, name);
}

Test(seg, size_is_the_objects_size_when_the_handle_was_opened) {
  NEED_SEGMENTS();
  char path[256];
  tu_tmp_path(path, sizeof path, "size");
  colo__os_seg_t *s;
  OK(colo__os_seg_create(&s, COLO__EP_FILE, path, 4096, 0600, 0, MARK, sizeof MARK, 0));
  colo__os_seg_t *o = seg_open_ok(COLO__EP_FILE, path, COLO__SEG_MAP);
  if (tu_truncate(path, 8192) != 0) {
    colo__os_seg_close(o);
    seg_done(s, COLO__EP_FILE, path);
    cr_skip_test("a mapped object cannot grow here");
    return;
  }
  cr_assert_eq(colo__os_seg_size(s), 4096u, "created at 4096");
  cr_assert_eq(colo__os_seg_size(o), 4096u, "opened at 4096");
  colo__os_seg_t *n = seg_open_ok(COLO__EP_FILE, path, 0);
  cr_assert_eq(colo__os_seg_size(n), 8192u, "a new handle sees the new size");
  colo__os_seg_close(n);
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_FILE, path);
}

/* In a child that became another user (the administrator may open
 * anything): 0 when opening child_name to write is COLO_EPERM and reading it
 * is allowed. */
static int child_open_as_other_user(void *arg) {
  (void)arg;
  if (tu_become_other_user() != 0) return 30;
  colo__os_seg_t *o = NULL;
  if (colo__os_seg_open(&o, COLO__EP_SHM, child_name, COLO__SEG_MAP) != COLO_EPERM) return 31;
  if (colo__os_seg_open(&o, COLO__EP_SHM, child_name, 0) != 0) return 32;
  colo__os_seg_close(o);
  return 0;
}

Test(seg, open_is_EPERM_where_this_user_may_not_write, .timeout = 60) {
  NEED_SEGMENTS();
  colo__os_seg_t *s, *o = NULL;
  char name[128];
  tu_shm_name(name, sizeof name, "eperm");
  OK(colo__os_seg_create(&s, COLO__EP_SHM, name, 4096, tu_is_root() ? 0644 : 0444, 0, MARK, sizeof MARK, 0));
  if (!tu_is_root()) {
    cr_assert_eq(colo__os_seg_open(&o, COLO__EP_SHM, name, COLO__SEG_MAP), COLO_EPERM, "%s", colo_last_error());
    OK(colo__os_seg_open(&o, COLO__EP_SHM, name, 0)); /* reading is allowed */
    colo__os_seg_close(o);
    seg_done(s, COLO__EP_SHM, name);
    return;
  }
  child_name = name;
  tu_proc_t p;
  if (tu_fork_call(&p, child_open_as_other_user, NULL) != 0) {
    seg_done(s, COLO__EP_SHM, name);
    cr_skip_test("cannot start a child process here");
    return;
  }
  int rc = tu_wait(&p, tu_ms(10000));
  seg_done(s, COLO__EP_SHM, name);
  SKIP_UNLESS(rc != 30, "the child cannot become another user (uid 65534)");
  cr_assert_eq(rc, 0, "as uid 65534: 31 = writing was not EPERM, 32 = reading failed (exit %d)", rc);
}

Test(seg, open_of_an_object_larger_than_COLO__OBJECT_MAX_is_ECORRUPT) {
  NEED_SEGMENTS();
  char path[256];
  tu_tmp_path(path, sizeof path, "huge");
  cr_assert_eq(tu_write_file(path, MARK, sizeof MARK), 0);
  if (tu_truncate(path, COLO__OBJECT_MAX + 4096) != 0) {
    tu_remove_tree(path);
    cr_skip_test("cannot make a sparse file larger than COLO__OBJECT_MAX here");
    return;
  }
  colo__os_seg_t *o = NULL;
  int rc = colo__os_seg_open(&o, COLO__EP_FILE, path, COLO__SEG_MAP);
  cr_assert_eq(rc, COLO_ECORRUPT, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert_null(o);
  tu_remove_tree(path);
}

/* The size seal ("neither side can shrink or grow it") is enforced by the
 * system on the object's descriptor, which the contract does not hand out:
 * the refusal of an unsealed object by read_seg is tested below instead. */
Test(seg, an_anonymous_segment_is_mapped_read_write_of_the_size_asked_and_has_no_name) {
  colo__os_seg_t *a;
  NEED_RC(colo__os_seg_create_anon(&a, 1u << 20), "colo__os_seg_create_anon");
  unsigned char *p = colo__os_seg_base(a);
  cr_assert_not_null(p);
  cr_assert_eq(colo__os_seg_size(a), 1u << 20);
  cr_assert_eq(p[12345], 0);
  p[(1u << 20) - 1] = 9;
  cr_assert_eq(p[(1u << 20) - 1], 9);
  cr_assert_eq(*colo__os_seg_lost(a), 0);
  cr_assert_eq(colo__os_seg_unlink(a), 0, "no name to remove");
  colo__os_seg_close(a);
}

Test(seg, check_owner_accepts_this_user_and_refuses_another_naming_it) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "owner", 4096, 0, 0);
  colo__os_peers_t nobody_more, anyone, that_one;
  OK(colo__os_peers_parse(NULL, &nobody_more));
  OK(colo__os_peers_parse("*", &anyone));
  uint64_t other_id;
  const char *other = tu_other_user(&other_id);
  OK(colo__os_peers_parse(other, &that_one));
  cr_assert_eq(colo__os_seg_check_owner(s, &nobody_more), 0, "%s", colo_last_error());
  /* Another owner: only the administrator can give a file away. */
  char path[256];
  const char *file = tu_shm_path_of(name, path, sizeof path);
  if (!tu_is_root() || !file || tu_chown(file, 65534) != 0) {
    seg_done(s, COLO__EP_SHM, name);
    cr_skip_test("needs the administrator to give the segment to another user (uid 65534)");
    return;
  }
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, 0);
  cr_assert_eq(colo__os_seg_check_owner(o, &nobody_more), COLO_EPERM);
  cr_assert(strstr(colo_last_error(), other), "names the owner: %s", colo_last_error());
  cr_assert_eq(colo__os_seg_check_owner(o, &anyone), 0);
  cr_assert_eq(colo__os_seg_check_owner(o, &that_one), 0);
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_SHM, name);
}

/* ---- presence ------------------------------------------------------------------------------ */

/* Visibility across PID namespaces (containers) needs a second namespace:
 * tests/containers.sh and colo probe cover it, not this file. */

Test(presence, create_holds_the_slot_asked_for_and_a_probe_never_counts_its_own_handle) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "hold0", 4096, 0, 0);
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  cr_assert_eq(colo__os_seg_probe(o, 0), 1, "another handle sees the creator's hold");
  cr_assert_eq(colo__os_seg_probe(o, 1), 0, "and no other slot held");
  cr_assert_eq(colo__os_seg_probe(s, 0), 0, "a handle's own hold is not another's");
  cr_assert_eq(colo__os_seg_hold(o, 0), COLO_EBUSY, "%s", colo_last_error());
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_SHM, name);
}

Test(presence, two_handles_in_one_process_are_two_holders) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "two", 4096, 0, 0);
  colo__os_seg_t *h1 = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  colo__os_seg_t *h2 = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  OK(colo__os_seg_hold(h1, 1));
  cr_assert_eq(colo__os_seg_hold(h2, 1), COLO_EBUSY, "%s", colo_last_error());
  cr_assert_eq(colo__os_seg_probe(h2, 1), 1);
  cr_assert_eq(colo__os_seg_probe(h1, 1), 0);
  colo__os_seg_drop(h1, 1);
  cr_assert_eq(colo__os_seg_probe(h2, 1), 0, "dropped");
  OK(colo__os_seg_hold(h2, 1));
  cr_assert_eq(colo__os_seg_probe(h1, 1), 1);
  cr_assert_eq(colo__os_seg_hold(h1, 1), COLO_EBUSY);
  /* "0 also when this handle holds it already: the same hold, which one drop
   * lets go." */
  OK(colo__os_seg_hold(h2, 1));
  colo__os_seg_drop(h2, 1);
  cr_assert_eq(colo__os_seg_probe(h1, 1), 0, "one drop lets a hold taken twice go");
  colo__os_seg_close(h1);
  colo__os_seg_close(h2);
  seg_done(s, COLO__EP_SHM, name);
}

Test(presence, drop_of_a_slot_the_handle_does_not_hold_has_no_effect) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "dropnone", 4096, 0, 0);
  colo__os_seg_t *h1 = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  colo__os_seg_t *h2 = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  OK(colo__os_seg_hold(h1, 1));
  colo__os_seg_drop(h2, 1);
  colo__os_seg_drop(h2, 0);
  cr_assert_eq(colo__os_seg_probe(h2, 1), 1, "h1 still holds slot 1");
  cr_assert_eq(colo__os_seg_probe(h2, 0), 1, "the creator still holds slot 0");
  colo__os_seg_close(h1);
  colo__os_seg_close(h2);
  seg_done(s, COLO__EP_SHM, name);
}

typedef struct hold_job {
  colo__os_seg_t *s;
  int drop; /* 0: hold, 1: drop */
  int rc;
} hold_job_t;

static void *hold_on_thread(void *arg) {
  hold_job_t *j = arg;
  if (j->drop) colo__os_seg_drop(j->s, 1);
  else j->rc = colo__os_seg_hold(j->s, 1);
  return NULL;
}

Test(presence, a_hold_taken_on_one_thread_outlives_it_and_is_dropped_on_another) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "threads", 4096, 0, 0);
  colo__os_seg_t *h1 = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  colo__os_seg_t *h2 = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  hold_job_t j = {h1, 0, -1};
  tu_thread_t th;
  cr_assert_eq(tu_thread_start(&th, hold_on_thread, &j), 0);
  tu_thread_join(&th); /* the thread that took it is gone */
  cr_assert_eq(j.rc, 0, "%s", colo_last_error());
  cr_assert_eq(colo__os_seg_probe(h2, 1), 1, "the hold belongs to the handle, not to its thread");
  colo__os_seg_drop(h1, 1); /* on this thread */
  cr_assert_eq(colo__os_seg_probe(h2, 1), 0, "dropped on another thread");
  /* And the other way: taken here, dropped there. */
  OK(colo__os_seg_hold(h1, 1));
  hold_job_t d = {h1, 1, 0};
  cr_assert_eq(tu_thread_start(&th, hold_on_thread, &d), 0);
  tu_thread_join(&th);
  cr_assert_eq(colo__os_seg_probe(h2, 1), 0, "dropped on the other thread");
  colo__os_seg_close(h1);
  colo__os_seg_close(h2);
  seg_done(s, COLO__EP_SHM, name);
}

Test(presence, close_drops_every_hold_of_the_handle) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "close", 4096, 0, 0);
  OK(colo__os_seg_hold(s, 1));
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  cr_assert_eq(colo__os_seg_probe(o, 0), 1);
  cr_assert_eq(colo__os_seg_probe(o, 1), 1);
  colo__os_seg_close(s);
  cr_assert_eq(colo__os_seg_probe(o, 0), 0);
  cr_assert_eq(colo__os_seg_probe(o, 1), 0);
  colo__os_seg_close(NULL); /* allowed */
  seg_done(o, COLO__EP_SHM, name);
}


static int child_hold_and_sleep(void *arg) {
  (void)arg;
  colo__os_seg_t *o;
  if (colo__os_seg_open(&o, COLO__EP_SHM, child_name, COLO__SEG_MAP) != 0) return 10;
  if (colo__os_seg_hold(o, 1) != 0) return 11;
  tu_child_say("held");
  for (;;) tu_sleep_ms(1000);
}

Test(presence, the_system_releases_the_hold_of_a_process_killed_with_SIGKILL, .timeout = 60) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "kill", 4096, 0, 0);
  child_name = name;
  tu_proc_t p;
  if (tu_fork_call(&p, child_hold_and_sleep, NULL) != 0) {
    seg_done(s, COLO__EP_SHM, name);
    cr_skip_test("cannot start a child process here");
    return;
  }
  char line[64];
  int said = tu_read_line(&p, line, sizeof line, tu_ms(10000));
  cr_assert_eq(said, 0, "the child said nothing (exit %d)", said ? tu_wait(&p, 0) : 0);
  cr_assert_str_eq(line, "held");
  cr_assert_eq(colo__os_seg_probe(s, 1), 1, "the child holds slot 1");
  cr_assert_eq(tu_kill(&p), 0);
  cr_assert_eq(tu_wait(&p, tu_ms(10000)), TU_KILLED);
  int held = 1;
  for (uint64_t t0 = tu_now_ms(); held == 1 && ms_since(t0) < (uint64_t)tu_ms(5000); tu_sleep_ms(10))
    held = colo__os_seg_probe(s, 1);
  cr_assert_eq(held, 0, "the killed child's hold is released");
  OK(colo__os_seg_hold(s, 1));
  seg_done(s, COLO__EP_SHM, name);
}

Test(presence, a_read_only_handle_cannot_hold_and_a_mere_readers_lock_is_not_presence) {
  NEED_SEGMENTS();
  char path[256];
  tu_tmp_path(path, sizeof path, "reader");
  colo__os_seg_t *s;
  OK(colo__os_seg_create(&s, COLO__EP_FILE, path, 4096, 0644, 0, MARK, sizeof MARK, 0));
  colo__os_seg_t *ro = seg_open_ok(COLO__EP_FILE, path, 0);
  colo__os_seg_t *rw = seg_open_ok(COLO__EP_FILE, path, COLO__SEG_MAP);
  /* "COLO_EPERM ... when this handle was opened without COLO__SEG_MAP". */
  cr_assert_eq(colo__os_seg_hold(ro, 1), COLO_EPERM, "only a handle that may write can hold: %s", colo_last_error());
  cr_assert_eq(colo__os_seg_probe(rw, 1), 0, "the reader's attempt left nothing");
  int lk = tu_read_lock(path, 1);
  if (lk < 0) {
    colo__os_seg_close(ro), colo__os_seg_close(rw);
    seg_done(s, COLO__EP_FILE, path);
    cr_skip_test("no reader's lock on this platform");
    return;
  }
  cr_assert_eq(colo__os_seg_probe(rw, 1), 0, "a reader's lock does not look present");
  cr_assert_eq(colo__os_seg_hold(rw, 1), COLO_EPERM, "a mere reader blocks the slot: %s", colo_last_error());
  tu_read_unlock(lk);
  OK(colo__os_seg_hold(rw, 1));
  colo__os_seg_close(ro);
  colo__os_seg_close(rw);
  seg_done(s, COLO__EP_FILE, path);
}

static colo__os_seg_t *child_seg; /* the parent's handle, inherited by a forked child */

static int child_after_fork(void *arg) {
  (void)arg;
  if (*colo__os_seg_lost(child_seg) != COLO__OS_LOST_FORKED) return 20;
  ((unsigned char *)colo__os_seg_base(child_seg))[100] = 0x77; /* private memory now */
  if (colo__os_seg_unlink(child_seg) != 0) return 21;
  tu_child_say("ready");
  for (;;) tu_sleep_ms(1000);
}

Test(presence, after_fork_the_child_keeps_no_hold_no_name_and_no_shared_memory_of_its_parent, .timeout = 60) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "fork", 4096, 0, 0);
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  child_seg = s;
  tu_proc_t p;
  if (tu_fork_call(&p, child_after_fork, NULL) != 0) {
    colo__os_seg_close(o);
    seg_done(s, COLO__EP_SHM, name);
    cr_skip_test("no fork() on this platform");
    return;
  }
  char line[64];
  int said = tu_read_line(&p, line, sizeof line, tu_ms(10000));
  cr_assert_eq(said, 0, "the child failed its checks: exit %d", said ? tu_wait(&p, tu_ms(5000)) : 0);
  cr_assert_str_eq(line, "ready");
  cr_assert_eq(((unsigned char *)colo__os_seg_base(o))[100], 0, "the child's write stayed in the child");
  colo__os_stat_t st;
  cr_assert_eq(colo__os_seg_stat(COLO__EP_SHM, name, 0, &st), 0, "the child's unlink left its parent's name");
  colo__os_seg_close(s); /* the child, still alive, must not keep slot 0 held */
  cr_assert_eq(colo__os_seg_probe(o, 0), 0, "nothing of the parent's hold lives on in the child");
  tu_kill(&p);
  tu_wait(&p, tu_ms(10000));
  seg_done(o, COLO__EP_SHM, name);
}

/* ---- unlink ------------------------------------------------------------------------------ */

Test(seg, unlink_removes_the_name_of_the_object_it_opened_and_the_memory_stays) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "unlink", 4096, 0, 0);
  OK(colo__os_seg_unlink(s));
  colo__os_stat_t st;
  if (colo__os_caps.persistent_names)
    cr_assert_eq(colo__os_seg_stat(COLO__EP_SHM, name, 0, &st), COLO_ENOENT, "the name is gone");
  unsigned char *p = colo__os_seg_base(s);
  p[10] = 3;
  cr_assert_eq(p[10], 3, "the mapping outlives the name");
  OK(colo__os_seg_unlink(s)); /* the name names nothing now */
  colo__os_seg_close(s);
}

Test(seg, unlink_through_an_old_handle_leaves_a_newer_object_under_the_name_alone) {
  colo__os_seg_t *a, *b;
  char name[128];
  SKIP_UNLESS(colo__os_caps.persistent_names, "names vanish with their last handle here: no name outlives its object");
  MAKE_SEG(a, name, "newer", 4096, 0, 0);
  OK(colo__os_seg_remove(COLO__EP_SHM, name));
  OK(colo__os_seg_create(&b, COLO__EP_SHM, name, 8192, 0600, 0, MARK, sizeof MARK, 0));
  ((unsigned char *)colo__os_seg_base(b))[64] = 'B';
  OK(colo__os_seg_unlink(a)); /* 0: the name names something else now */
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  cr_assert_eq(colo__os_seg_size(o), 8192u, "the newer object survived");
  cr_assert_eq(((unsigned char *)colo__os_seg_base(o))[64], 'B');
  colo__os_seg_close(o);
  OK(colo__os_seg_unlink(b));
  cr_assert_eq(colo__os_seg_open(&o, COLO__EP_SHM, name, 0), COLO_ENOENT, "its own handle removes it");
  colo__os_seg_close(a);
  colo__os_seg_close(b);
}

/* ---- faults ------------------------------------------------------------------------------ */

Test(fault, repair_turns_only_a_guarded_mapping_into_zero_pages_and_marks_it_lost) {
  colo__os_seg_t *g, *u;
  char gname[128], uname[128];
  MAKE_SEG(g, gname, "guard", 8192, 0, COLO__SEG_GUARD);
  MAKE_SEG(u, uname, "unguarded", 8192, 0, 0);
  unsigned char *gp = colo__os_seg_base(g), *up = colo__os_seg_base(u);
  gp[10] = 0xAB, up[10] = 0xCD;
  int local = 0;
  cr_assert_eq(colo__os_sigbus_repair(&local), 0, "not in any mapping");
  cr_assert_eq(colo__os_sigbus_repair(up + 10), 0, "not guarded");
  cr_assert_eq(*colo__os_seg_lost(u), 0);
  cr_assert_eq(up[10], 0xCD);
  SKIP_UNLESS(colo__os_sigbus_repair(gp + 5000) == 1, "no repair on this platform (segments cannot shrink)");
  cr_assert_eq(*colo__os_seg_lost(g), COLO__OS_LOST_TRUNCATED);
  cr_assert_eq(gp[10], 0, "zero pages over the whole mapping");
  gp[10] = 1; /* and harmless to write */
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, gname, COLO__SEG_MAP);
  cr_assert_eq(((unsigned char *)colo__os_seg_base(o))[10], 0xAB, "the object itself is untouched");
  colo__os_seg_close(o);
  seg_done(g, COLO__EP_SHM, gname);
  seg_done(u, COLO__EP_SHM, uname);
}

Test(fault, a_guarded_segment_truncated_under_its_mapping_reads_zeros_and_says_lost) {
  NEED_SEGMENTS();
  colo__os_sigbus_install();
  colo__os_sigbus_install(); /* once per process: again is harmless */
  char path[256], other[256];
  tu_tmp_path(path, sizeof path, "trunc");
  tu_tmp_path(other, sizeof other, "bystander");
  colo__os_seg_t *s, *b;
  OK(colo__os_seg_create(&s, COLO__EP_FILE, path, 8192, 0600, 0, MARK, sizeof MARK, COLO__SEG_GUARD));
  OK(colo__os_seg_create(&b, COLO__EP_FILE, other, 8192, 0600, 0, MARK, sizeof MARK, COLO__SEG_GUARD));
  volatile unsigned char *p = colo__os_seg_base(s);
  p[5000] = 0x42;
  if (tu_truncate(path, 0) != 0) {
    seg_done(s, COLO__EP_FILE, path);
    seg_done(b, COLO__EP_FILE, other);
    cr_skip_test("a mapped object cannot shrink here");
    return;
  }
  cr_assert_eq(p[5000], 0, "a vanished page reads zero instead of killing the process");
  cr_assert_eq(*colo__os_seg_lost(s), COLO__OS_LOST_TRUNCATED);
  cr_assert_eq(*colo__os_seg_lost(b), 0, "another segment is not lost");
  cr_assert_eq(memcmp(colo__os_seg_base(b), MARK, sizeof MARK), 0);
  seg_done(s, COLO__EP_FILE, path);
  seg_done(b, COLO__EP_FILE, other);
}

/* ---- waiting ------------------------------------------------------------------------------ */

/* A wait word in a fresh anonymous segment (or skip). */
#define WAIT_SEG(s, word)                                                          \
  NEED_RC(colo__os_seg_create_anon(&(s), 4096), "colo__os_seg_create_anon");      \
  _Atomic uint32_t *word = (_Atomic uint32_t *)colo__os_seg_base(s) + 16;         \
  do {                                                                             \
    int probe_rc_ = colo__os_wait((s), 1, word, 1, 0);                             \
    if (probe_rc_ == COLO_ENOTSUP) {                                               \
      colo__os_seg_close(s);                                                       \
      skip_why("colo__os_wait");                                                   \
      return;                                                                      \
    }                                                                              \
  } while (0)

Test(wait, wait_returns_0_at_once_when_the_word_already_differs) {
  colo__os_seg_t *s;
  WAIT_SEG(s, w);
  atomic_store(w, 5);
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(colo__os_wait(s, 1, w, 4, 10 * S_), 0);
  cr_assert_lt(ms_since(t0), (uint64_t)tu_ms(3000), "it did not sleep");
  colo__os_seg_close(s);
}

Test(wait, wait_times_out_within_a_bound_when_nobody_wakes) {
  colo__os_seg_t *s;
  WAIT_SEG(s, w);
  atomic_store(w, 7);
  /* Spurious returns are allowed: wait again for the rest, as a caller would. */
  uint64_t t0 = colo__os_now_ns(), limit = 100 * MS_;
  int rc = 0, calls = 0;
  while (rc == 0 && calls < 1000) {
    uint64_t spent = colo__os_now_ns() - t0;
    uint64_t c0 = tu_now_ms();
    rc = colo__os_wait(s, 1, w, 7, spent >= limit ? 1 : limit - spent);
    cr_assert_lt(ms_since(c0), (uint64_t)tu_ms(3000), "one wait of at most 100 ms returned within the bound");
    calls++;
  }
  uint64_t d = colo__os_now_ns() - t0;
  cr_assert_eq(rc, COLO_ETIMEDOUT, "%s after %d calls", colo_errname(rc), calls);
  cr_assert_geq(d, 50 * MS_, "timed out after %llu ns of 100 ms", (unsigned long long)d);
  cr_assert_lt(d, (uint64_t)tu_ms(5000) * MS_);
  cr_assert_eq(atomic_load(w), 7u, "the word is untouched");
  colo__os_seg_close(s);
}

typedef struct waiter {
  colo__os_seg_t *s;
  _Atomic uint32_t *word;
  uint32_t expect;
  int loop; /* wait until the word changes (else: one call) */
  int rc;
  uint32_t seen;
  _Atomic int done;
} waiter_t;

static void *wait_main(void *arg) {
  waiter_t *w = arg;
  if (w->loop) {
    uint64_t t0 = colo__os_now_ns();
    do w->rc = colo__os_wait(w->s, 1, w->word, w->expect, 20 * S_);
    while (atomic_load(w->word) == w->expect && colo__os_now_ns() - t0 < 30 * S_);
  } else {
    w->rc = colo__os_wait(w->s, 1, w->word, w->expect, 30 * S_);
  }
  w->seen = atomic_load(w->word);
  atomic_store(&w->done, 1);
  return NULL;
}

static int wait_done(waiter_t *w, int ms) {
  for (uint64_t t0 = tu_now_ms(); !atomic_load(&w->done) && ms_since(t0) < (uint64_t)ms;) tu_sleep_ms(2);
  return atomic_load(&w->done);
}

Test(wait, wake_wakes_a_waiter_on_another_thread_which_sees_the_new_word, .timeout = 60) {
  colo__os_seg_t *s;
  WAIT_SEG(s, w);
  atomic_store(w, 0);
  waiter_t wt = {.s = s, .word = w, .expect = 0, .loop = 1};
  tu_thread_t th;
  cr_assert_eq(tu_thread_start(&th, wait_main, &wt), 0);
  tu_sleep_ms(50); /* most likely asleep by now; if not, it sees the change */
  atomic_store(w, 1);
  colo__os_wake(s, 1, w);
  int done = wait_done(&wt, tu_ms(10000));
  tu_thread_join(&th);
  cr_assert(done, "the waiter was not woken within 10 s");
  cr_assert_eq(wt.seen, 1u);
  cr_assert_eq(wt.rc, 0, "woken, not timed out: %s", colo_errname(wt.rc));
  colo__os_seg_close(s);
}

Test(wait, a_wake_returns_a_sleeping_waiter_even_when_the_word_did_not_change, .timeout = 60) {
  colo__os_seg_t *s;
  WAIT_SEG(s, w);
  atomic_store(w, 3);
  waiter_t wt = {.s = s, .word = w, .expect = 3, .loop = 0};
  tu_thread_t th;
  cr_assert_eq(tu_thread_start(&th, wait_main, &wt), 0);
  /* Wake until it is out: a wake before it sleeps reaches nobody. */
  for (uint64_t t0 = tu_now_ms(); !atomic_load(&wt.done) && ms_since(t0) < (uint64_t)tu_ms(10000); tu_sleep_ms(10))
    colo__os_wake(s, 1, w);
  int done = atomic_load(&wt.done);
  if (!done) colo__os_wake(s, 1, w), atomic_store(w, 4), colo__os_wake(s, 1, w);
  tu_thread_join(&th);
  cr_assert(done, "wake did not return the waiter within 10 s");
  cr_assert_eq(wt.rc, 0, "woken: %s", colo_errname(wt.rc));
  cr_assert_eq(wt.seen, 3u, "the word is unchanged: the caller re-checks");
  colo__os_seg_close(s);
}

Test(wait, a_wake_with_no_waiter_is_harmless) {
  colo__os_seg_t *s;
  WAIT_SEG(s, w);
  atomic_store(w, 9);
  for (int i = 0; i < 3; i++) colo__os_wake(s, 1, w);
  colo__os_wake(s, 2, w + 1);
  cr_assert_eq(atomic_load(w), 9u);
  /* A later wait may return at once (spuriously) but still times out. */
  int rc = 0;
  uint64_t t0 = tu_now_ms();
  for (int i = 0; i < 100 && rc == 0; i++) rc = colo__os_wait(s, 1, w, 9, 20 * MS_);
  cr_assert_eq(rc, COLO_ETIMEDOUT, "%s", colo_errname(rc));
  cr_assert_lt(ms_since(t0), (uint64_t)tu_ms(10000));
  colo__os_seg_close(s);
}

Test(wait, a_wake_reaches_a_waiter_on_another_mapping_of_the_same_segment, .timeout = 60) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "wait2", 4096, 0, 0);
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  _Atomic uint32_t *w1 = (_Atomic uint32_t *)colo__os_seg_base(s) + 16;
  _Atomic uint32_t *w2 = (_Atomic uint32_t *)colo__os_seg_base(o) + 16;
  cr_assert_neq((void *)w1, (void *)w2, "two mappings at two addresses");
  waiter_t wt = {.s = o, .word = w2, .expect = 0, .loop = 1};
  tu_thread_t th;
  cr_assert_eq(tu_thread_start(&th, wait_main, &wt), 0);
  tu_sleep_ms(50);
  atomic_store(w1, 1);
  colo__os_wake(s, 1, w1);
  int done = wait_done(&wt, tu_ms(10000));
  tu_thread_join(&th);
  cr_assert(done, "not woken within 10 s through the other mapping");
  cr_assert_eq(wt.seen, 1u);
  cr_assert_eq(wt.rc, 0, "woken, not timed out: %s", colo_errname(wt.rc));
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_SHM, name);
}

static int child_wait(void *arg) {
  (void)arg;
  colo__os_seg_t *o;
  if (colo__os_seg_open(&o, COLO__EP_SHM, child_name, COLO__SEG_MAP) != 0) return 10;
  _Atomic uint32_t *w = (_Atomic uint32_t *)colo__os_seg_base(o) + 16;
  tu_child_say("waiting");
  uint64_t t0 = colo__os_now_ns();
  int rc = 0;
  while (atomic_load(w) == 0 && colo__os_now_ns() - t0 < 30 * S_) rc = colo__os_wait(o, 1, w, 0, 20 * S_);
  return atomic_load(w) == 1 && rc == 0 ? 0 : 12;
}

/* The creator's and the opener's sides of one segment, each waiting in turn
 * for the other to change its word. */
static void each_sees_the_other(colo__os_seg_t *s, colo__os_seg_t *o) {
  _Atomic uint32_t *ws = (_Atomic uint32_t *)colo__os_seg_base(s) + 16;
  _Atomic uint32_t *wo = (_Atomic uint32_t *)colo__os_seg_base(o) + 16;
  for (int round = 0; round < 2; round++) {
    colo__os_seg_t *waits = round ? o : s, *wakes = round ? s : o;
    _Atomic uint32_t *mine = round ? wo : ws, *theirs = round ? ws : wo;
    uint32_t v = atomic_load(mine);
    waiter_t wt = {.s = waits, .word = mine, .expect = v, .loop = 1};
    tu_thread_t th;
    cr_assert_eq(tu_thread_start(&th, wait_main, &wt), 0);
    tu_sleep_ms(50);
    uint64_t t0 = tu_now_ms();
    atomic_store(theirs, v + 1);
    colo__os_wake(wakes, 1, theirs);
    int done = wait_done(&wt, tu_ms(10000));
    uint64_t took = ms_since(t0);
    tu_thread_join(&th);
    cr_assert(done, "%s not woken within 10 s", round ? "the opener" : "the creator");
    cr_assert_eq(wt.seen, v + 1);
    cr_assert_lt(took, (uint64_t)tu_ms(2000), "%s saw the change after %llu ms", round ? "the opener" : "the creator",
                 (unsigned long long)took);
  }
}

Test(wait, an_opener_that_finds_no_wait_events_polls_and_both_sides_still_see_each_other, .timeout = 60) {
  colo__os_seg_t *s;
  char name[128];
  /* (Asked before the segment is made: a skip leaves nothing behind.) */
  SKIP_UNLESS(tu_fault(TU_HIDE_WAIT_EVENTS, 0) == 0, "waits need no names here (a futex is keyed on the object)");
  MAKE_SEG(s, name, "nsfall", 4096, 0, 0);
  colo__os_seg_name_waits(s, 0x5eed5eed5eedull);
  colo__os_seg_t *o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  tu_fault(TU_HIDE_WAIT_EVENTS, 1);
  colo__os_seg_name_waits(o, 0x5eed5eed5eedull);
  tu_fault(TU_HIDE_WAIT_EVENTS, 0);
  cr_assert(strstr(colo__os_seg_wait_how(o), "poll"), "the opener says it polls: %s", colo__os_seg_wait_how(o));
  each_sees_the_other(s, o);
  cr_assert(strstr(colo__os_seg_wait_how(s), "poll"), "the creator says it looks too: %s", colo__os_seg_wait_how(s));
  colo__os_seg_close(o);
  /* Where the opener finds them, they are the events, on both sides. */
  o = seg_open_ok(COLO__EP_SHM, name, COLO__SEG_MAP);
  colo__os_seg_name_waits(o, 0x5eed5eed5eedull);
  cr_assert(!strstr(colo__os_seg_wait_how(o), "poll"), "%s", colo__os_seg_wait_how(o));
  each_sees_the_other(s, o);
  colo__os_seg_close(o);
  seg_done(s, COLO__EP_SHM, name);
}

Test(wait, a_wake_reaches_a_waiter_in_another_process, .timeout = 60) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "xproc", 4096, 0, 0);
  child_name = name;
  tu_proc_t p;
  if (tu_fork_call(&p, child_wait, NULL) != 0) {
    seg_done(s, COLO__EP_SHM, name);
    cr_skip_test("cannot start a child process here");
    return;
  }
  char line[64];
  int said = tu_read_line(&p, line, sizeof line, tu_ms(10000));
  cr_assert_eq(said, 0, "the child said nothing (exit %d)", said ? tu_wait(&p, 0) : 0);
  tu_sleep_ms(50);
  _Atomic uint32_t *w = (_Atomic uint32_t *)colo__os_seg_base(s) + 16;
  atomic_store(w, 1);
  colo__os_wake(s, 1, w);
  cr_assert_eq(tu_wait(&p, tu_ms(15000)), 0, "the child was woken and saw the word");
  seg_done(s, COLO__EP_SHM, name);
}

/* ---- byte streams -------------------------------------------------------------------------- */

/* A listener of kind, an endpoint for it (unique path or 127.0.0.1 port 0). */
static void stream_ep(colo__endpoint_t *ep, colo__ep_kind_t kind, const char *tag) {
  memset(ep, 0, sizeof *ep);
  ep->kind = kind;
  if (kind == COLO__EP_TCP) snprintf(ep->name, sizeof ep->name, "127.0.0.1");
  else if (kind == COLO__EP_PIPE) tu_pipe_name(ep->name, sizeof ep->name, tag);
  else tu_tmp_path(ep->name, sizeof ep->name, tag);
}

typedef struct pair {
  colo__endpoint_t ep; /* as bound */
  colo__os_lsock_t *l;
  colo__os_conn_t *a, *b; /* the client's end, the listener's end */
} pair_t;

static colo__os_peers_t no_more; /* this user and root: the default */

/* Listens, connects, accepts and settles. 0, or the first error. */
static int pair_open(pair_t *p, colo__ep_kind_t kind) {
  memset(p, 0, sizeof *p);
  colo__endpoint_t ep;
  stream_ep(&ep, kind, "conn");
  int rc = colo__os_listen(&p->l, &ep, 0600, &p->ep);
  if (rc) return rc;
  if ((rc = colo__os_connect(&p->a, &p->ep, 5 * S_, &no_more)) != 0) return rc;
  if ((rc = colo__os_accept(p->l, &p->b, (uint64_t)tu_ms(5000) * MS_)) != 0) return rc;
  colo__os_conn_settle(p->a);
  colo__os_conn_settle(p->b);
  return 0;
}

static void pair_close(pair_t *p) {
  colo__os_conn_close(p->a);
  colo__os_conn_close(p->b);
  colo__os_listen_close(p->l);
}

#define PAIR(p, kind) NEED_RC(pair_open(&(p), kind), "listen, connect, accept")

/* Reads exactly n bytes within ms. 0, or the code that stopped it. */
static int read_all(colo__os_conn_t *c, void *buf, size_t n, int ms) {
  size_t have = 0;
  uint64_t t0 = tu_now_ms();
  while (have < n) {
    size_t got = 0;
    int rc = colo__os_conn_read(c, (char *)buf + have, n - have, &got);
    if (rc == COLO_EAGAIN) {
      if (ms_since(t0) >= (uint64_t)ms) return COLO_ETIMEDOUT;
      colo__os_conn_poll(c, COLO__POLL_IN, 100 * MS_);
      continue;
    }
    if (rc) return rc;
    if (got < 1 || got > n - have) return COLO_EPROTO; /* 1..n bytes */
    have += got;
  }
  return 0;
}

static int write_all(colo__os_conn_t *c, const void *buf, size_t n, int ms) {
  size_t done = 0;
  uint64_t t0 = tu_now_ms();
  while (done < n) {
    size_t put = 0;
    int rc = colo__os_conn_write(c, (const char *)buf + done, n - done, &put);
    if (rc == COLO_EAGAIN) {
      if (ms_since(t0) >= (uint64_t)ms) return COLO_ETIMEDOUT;
      colo__os_conn_poll(c, COLO__POLL_OUT, 100 * MS_);
      continue;
    }
    if (rc) return rc;
    if (put < 1 || put > n - done) return COLO_EPROTO;
    done += put;
  }
  return 0;
}

/* Writes until the stream takes no more, and keeps taking none for a while
 * (a TCP stream frees room as its bytes move to the peer's side). The bytes
 * written. */
static size_t fill(colo__os_conn_t *c) {
  static char chunk[65536];
  size_t total = 0, put;
  for (int idle = 0; idle < 3 && total < (256u << 20);) {
    size_t before = total;
    while (total < (256u << 20) && colo__os_conn_write(c, chunk, sizeof chunk, &put) == 0) total += put;
    idle = total == before ? idle + 1 : 0;
    tu_sleep_ms(20);
  }
  return total;
}

/* Every stream case runs over unix, tcp and pipe. */
#define STREAM_TEST(name, ...)                                          \
  static void name(colo__ep_kind_t kind);                               \
  Test(stream_unix, name, __VA_ARGS__) { name(COLO__EP_UNIX); }         \
  Test(stream_tcp, name, __VA_ARGS__) { name(COLO__EP_TCP); }           \
  Test(stream_pipe, name, __VA_ARGS__) { name(COLO__EP_PIPE); }         \
  static void name(colo__ep_kind_t kind)

STREAM_TEST(a_connection_carries_bytes_both_ways_in_order, .timeout = 60) {
  pair_t p;
  PAIR(p, kind);
  char buf[6000], big[6000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 31);
  OK(write_all(p.a, big, sizeof big, tu_ms(5000)));
  OK(read_all(p.b, buf, sizeof big, tu_ms(5000)));
  cr_assert_eq(memcmp(buf, big, sizeof big), 0);
  OK(write_all(p.b, "world", 5, tu_ms(5000)));
  OK(read_all(p.a, buf, 5, tu_ms(5000)));
  cr_assert_eq(memcmp(buf, "world", 5), 0);
  pair_close(&p);
}

/* "0 when ... a signal interrupted the wait" (conn_poll, poll_many): this
 * file sends no signals (no OS header); the stream layer's callers treat 0
 * as "look again" either way. */
STREAM_TEST(read_on_an_empty_stream_is_EAGAIN_and_poll_waits_for_data, .timeout = 60) {
  pair_t p;
  PAIR(p, kind);
  char c;
  size_t got;
  cr_assert_eq(colo__os_conn_read(p.b, &c, 1, &got), COLO_EAGAIN);
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(colo__os_conn_poll(p.b, COLO__POLL_IN, 50 * MS_), 0, "nothing to read: time ran out");
  cr_assert_lt(ms_since(t0), (uint64_t)tu_ms(5000));
  OK(write_all(p.a, "x", 1, tu_ms(5000)));
  cr_assert_eq(colo__os_conn_poll(p.b, COLO__POLL_IN, 5 * S_), COLO__POLL_IN);
  OK(colo__os_conn_read(p.b, &c, 1, &got));
  cr_assert_eq(got, 1u);
  cr_assert_eq(c, 'x');
  pair_close(&p);
}

STREAM_TEST(a_fresh_stream_polls_writable_and_a_full_one_is_EAGAIN_until_drained, .timeout = 120) {
  pair_t p;
  PAIR(p, kind);
  cr_assert_eq(colo__os_conn_poll(p.a, COLO__POLL_OUT, 5 * S_), COLO__POLL_OUT);
  cr_assert_eq(colo__os_conn_poll(p.a, COLO__POLL_IN | COLO__POLL_OUT, 5 * S_), COLO__POLL_OUT,
               "only what is ready");
  size_t n = fill(p.a);
  cr_assert_gt(n, 0u);
  size_t put;
  char c = 0;
  cr_assert_eq(colo__os_conn_write(p.a, &c, 1, &put), COLO_EAGAIN, "full after %zu bytes", n);
  /* Not writable while full; an emulated poll may say so all the same
   * (readiness may be spurious), and then the write tells. */
  if (colo__os_conn_poll(p.a, COLO__POLL_OUT, 50 * MS_) != 0)
    cr_assert_eq(colo__os_conn_write(p.a, &c, 1, &put), COLO_EAGAIN, "still full");
  /* Drain everything; then it takes bytes again. */
  static char buf[65536];
  size_t total = 0, got;
  uint64_t t0 = tu_now_ms();
  while (total < n && ms_since(t0) < (uint64_t)tu_ms(20000)) {
    int rc = colo__os_conn_read(p.b, buf, sizeof buf, &got);
    if (rc == COLO_EAGAIN) {
      colo__os_conn_poll(p.b, COLO__POLL_IN, 100 * MS_);
      continue;
    }
    cr_assert_eq(rc, 0, "%s", colo_errname(rc));
    total += got;
  }
  cr_assert_eq(total, n, "every byte written arrives");
  cr_assert_eq(colo__os_conn_poll(p.a, COLO__POLL_OUT, 5 * S_), COLO__POLL_OUT);
  OK(colo__os_conn_write(p.a, &c, 1, &put));
  pair_close(&p);
}

STREAM_TEST(the_peers_close_is_end_of_stream_ECLOSED_after_its_last_bytes, .timeout = 60) {
  pair_t p;
  PAIR(p, kind);
  OK(write_all(p.b, "bye", 3, tu_ms(5000)));
  colo__os_conn_close(p.b);
  p.b = NULL;
  char buf[8];
  OK(read_all(p.a, buf, 3, tu_ms(5000)));
  cr_assert_eq(memcmp(buf, "bye", 3), 0, "the bytes before the end");
  cr_assert_eq(colo__os_conn_poll(p.a, COLO__POLL_IN, 5 * S_), COLO__POLL_IN, "the end of stream is readable");
  size_t got;
  int rc = colo__os_conn_read(p.a, buf, sizeof buf, &got);
  cr_assert_eq(rc, COLO_ECLOSED, "%s: %s", colo_errname(rc), colo_last_error());
  pair_close(&p);
}

STREAM_TEST(writing_to_a_closed_peer_is_EPEERDEAD_and_never_raises_SIGPIPE, .timeout = 60) {
  pair_t p;
  PAIR(p, kind);
  colo__os_conn_close(p.b);
  p.b = NULL;
  /* (A first write may still be taken: the stream learns of the close from
   * the peer's answer.) If SIGPIPE were raised, this process would die. */
  int rc = 0;
  size_t put;
  uint64_t t0 = tu_now_ms();
  while (rc == 0 && ms_since(t0) < (uint64_t)tu_ms(5000)) {
    rc = colo__os_conn_write(p.a, "xxxxxxxx", 8, &put);
    if (rc == 0 || rc == COLO_EAGAIN) rc = 0, tu_sleep_ms(5);
  }
  cr_assert_eq(rc, COLO_EPEERDEAD, "%s: %s", colo_errname(rc), colo_last_error());
  pair_close(&p);
}

STREAM_TEST(a_peer_that_closes_with_bytes_unread_resets_the_stream_EPEERDEAD, .timeout = 60) {
  /* A FIFO pair has no reset: its reader sees only the end of stream. */
  SKIP_UNLESS(kind != COLO__EP_PIPE, "a FIFO pair has no connection reset (it ends: COLO_ECLOSED)");
  SKIP_UNLESS(!tu_is_wine(), "Wine closes a socket with unread bytes as an orderly end, not a reset");
  pair_t p;
  PAIR(p, kind);
  OK(write_all(p.a, "unread", 6, tu_ms(5000)));
  tu_sleep_ms(20); /* (in the peer's queue) */
  colo__os_conn_close(p.b);
  p.b = NULL;
  cr_assert_eq(colo__os_conn_poll(p.a, COLO__POLL_IN, 5 * S_), COLO__POLL_IN, "an error is readable");
  char buf[8];
  size_t got;
  int rc = colo__os_conn_read(p.a, buf, sizeof buf, &got);
  cr_assert_eq(rc, COLO_EPEERDEAD, "%s: %s", colo_errname(rc), colo_last_error());
  pair_close(&p);
}

STREAM_TEST(accept_with_no_client_is_EAGAIN_at_once_and_with_a_timeout_ends_within_a_bound, .timeout = 60) {
  colo__endpoint_t ep, bound;
  stream_ep(&ep, kind, "accept");
  colo__os_lsock_t *l;
  NEED_RC(colo__os_listen(&l, &ep, 0600, &bound), "colo__os_listen");
  colo__os_conn_t *c = NULL;
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(colo__os_accept(l, &c, 0), COLO_EAGAIN);
  cr_assert_lt(ms_since(t0), (uint64_t)tu_ms(3000), "0: once");
  t0 = tu_now_ms();
  int rc = colo__os_accept(l, &c, 100 * MS_);
  uint64_t d = ms_since(t0);
  /* shim.h names no code for a timeout that ran out; Linux gives COLO_ETIMEDOUT. */
  cr_assert(rc == COLO_ETIMEDOUT || rc == COLO_EAGAIN, "%s", colo_errname(rc));
  cr_assert_geq(d, 50u, "waited %llu ms of 100", (unsigned long long)d);
  cr_assert_lt(d, (uint64_t)tu_ms(5000));
  cr_assert_null(c);
  colo__os_listen_close(l);
}

STREAM_TEST(connect_where_nobody_listens_is_ENOENT, .timeout = 60) {
  colo__endpoint_t ep, bound;
  stream_ep(&ep, kind, "nobody");
  colo__os_lsock_t *l;
  NEED_RC(colo__os_listen(&l, &ep, 0600, &bound), "colo__os_listen");
  colo__os_listen_close(l); /* (tcp: the port it had is free again) */
  colo__os_conn_t *c = NULL;
  int rc = colo__os_connect(&c, &bound, 2 * S_, &no_more);
  cr_assert_eq(rc, COLO_ENOENT, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert_null(c);
}

STREAM_TEST(check_peer_accepts_this_user_at_either_end, .timeout = 60) {
  pair_t p;
  PAIR(p, kind);
  OK(colo__os_conn_check_peer(p.a, &no_more, "the listener"));
  OK(colo__os_conn_check_peer(p.b, &no_more, "the client"));
  /* "1 ... (unix sockets), 0 otherwise or when the transport cannot tell". */
  if (kind == COLO__EP_UNIX) cr_assert_eq(colo__os_conn_peer_is_self_or_root(p.b), 1);
  if (kind == COLO__EP_TCP) cr_assert_eq(colo__os_conn_peer_is_self_or_root(p.b), 0);
  /* An event loop polls the handle; this file cannot (no OS header), so it
   * checks only that there is one, and a different one for each end. */
  colo_os_handle_t ha, hb;
  OK(colo__os_conn_handle(p.a, &ha));
  OK(colo__os_conn_handle(p.b, &hb));
  cr_assert_neq(ha, hb);
  /* "1 when a segment can be passed over this connection": unix sockets. */
  if (kind == COLO__EP_UNIX) cr_assert_eq(colo__os_conn_can_pass_seg(p.a), 1);
  if (kind == COLO__EP_TCP || kind == COLO__EP_PIPE) cr_assert_eq(colo__os_conn_can_pass_seg(p.a), 0);
  colo__os_conn_close(NULL); /* allowed */
  pair_close(&p);
}

static int child_say_and_sleep(void *arg) {
  (void)arg;
  tu_child_say("ready");
  for (;;) tu_sleep_ms(1000);
  return 0; /* not reached */
}

/* "After fork() the child has none of the library's descriptors, so it keeps
 * no ... socket of its parent alive." */
STREAM_TEST(after_fork_the_child_keeps_no_end_of_its_parents_stream_alive, .timeout = 60) {
  pair_t p;
  PAIR(p, kind);
  tu_proc_t c;
  if (tu_fork_call(&c, child_say_and_sleep, NULL) != 0) {
    pair_close(&p);
    cr_skip_test("no fork() on this platform");
    return;
  }
  char line[64];
  int said = tu_read_line(&c, line, sizeof line, tu_ms(10000));
  cr_assert_eq(said, 0, "the child said nothing (exit %d)", said ? tu_wait(&c, 0) : 0);
  colo__os_conn_close(p.b); /* the child, alive, has a copy of nothing */
  p.b = NULL;
  cr_assert_eq(colo__os_conn_poll(p.a, COLO__POLL_IN, 5 * S_), COLO__POLL_IN, "the end of stream arrives");
  char buf[8];
  size_t got;
  int rc = colo__os_conn_read(p.a, buf, sizeof buf, &got);
  cr_assert_eq(rc, COLO_ECLOSED, "%s: %s", colo_errname(rc), colo_last_error());
  tu_kill(&c);
  tu_wait(&c, tu_ms(10000));
  pair_close(&p);
}

/* A process of another user at the other end: in a child that became uid
 * 65534, listening on (or connecting to) child_ep. */
static colo__endpoint_t child_ep;

static int child_other_user_listens(void *arg) {
  (void)arg;
  if (tu_become_other_user() != 0) return 30;
  colo__os_lsock_t *l;
  colo__endpoint_t bound;
  if (colo__os_listen(&l, &child_ep, 0666, &bound) != 0) return 31;
  tu_child_say("listening");
  for (;;) {
    colo__os_conn_t *c;
    if (colo__os_accept(l, &c, 100 * MS_) == 0) colo__os_conn_close(c);
  }
  return 0;
}

static int child_other_user_connects(void *arg) {
  (void)arg;
  if (tu_become_other_user() != 0) return 30;
  colo__os_conn_t *c;
  if (colo__os_connect(&c, &child_ep, 5 * S_, &no_more) != 0) return 31; /* (root listens: accepted) */
  colo__os_conn_settle(c);
  tu_child_say("connected");
  for (;;) tu_sleep_ms(1000);
  return 0;
}

/* Starts fn as another user; 0, or skips (the caller returns). */
static int start_other_user(tu_proc_t *p, int (*fn)(void *), const char *expect) {
  if (!tu_is_root() || tu_fork_call(p, fn, NULL) != 0) return -1;
  char line[64];
  if (tu_read_line(p, line, sizeof line, tu_ms(10000)) != 0 || strcmp(line, expect) != 0) {
    int rc = tu_wait(p, tu_ms(5000));
    cr_assert_eq(rc, 30, "the child failed (exit %d)", rc);
    return -1; /* 30: it cannot become another user */
  }
  return 0;
}

/* "Where the transport tells who listens (unix: SO_PEERCRED; pipe: the owner
 * of the request FIFO), a listener peers does not accept is refused with
 * COLO_EPERM before anything is sent to it." */
static void connect_refuses_another_users_listener(colo__ep_kind_t kind) {
  colo__os_peers_t that_one;
  uint64_t other_id;
  const char *other = tu_other_user(&other_id);
  NEED_RC(colo__os_peers_parse(other, &that_one), "colo__os_peers_parse");
  stream_ep(&child_ep, kind, "otherl");
  tu_proc_t p;
  SKIP_UNLESS(start_other_user(&p, child_other_user_listens, "listening") == 0,
              "needs the administrator to run a listener as another user (uid 65534)");
  colo__os_conn_t *c = NULL;
  int rc = colo__os_connect(&c, &child_ep, 5 * S_, &no_more);
  cr_assert_eq(rc, COLO_EPERM, "%s: %s", colo_errname(rc), colo_last_error());
  cr_assert(strstr(colo_last_error(), other), "names the user: %s", colo_last_error());
  cr_assert_null(c);
  rc = colo__os_connect(&c, &child_ep, 5 * S_, &that_one);
  cr_assert_eq(rc, 0, "a listener of a user the policy names: %s: %s", colo_errname(rc), colo_last_error());
  colo__os_conn_close(c);
  tu_kill(&p);
  tu_wait(&p, tu_ms(10000));
  tu_remove_tree(child_ep.name);
}

Test(stream_unix, connect_refuses_a_listener_of_a_user_the_policy_does_not_accept_with_EPERM, .timeout = 60) {
  connect_refuses_another_users_listener(COLO__EP_UNIX);
}
Test(stream_pipe, connect_refuses_a_listener_of_a_user_the_policy_does_not_accept_with_EPERM, .timeout = 60) {
  connect_refuses_another_users_listener(COLO__EP_PIPE);
}

Test(stream_unix, check_peer_refuses_a_client_of_another_user_naming_it, .timeout = 60) {
  colo__os_peers_t that_one;
  uint64_t other_id;
  const char *other = tu_other_user(&other_id);
  NEED_RC(colo__os_peers_parse(other, &that_one), "colo__os_peers_parse");
  stream_ep(&child_ep, COLO__EP_UNIX, "otherc");
  colo__os_lsock_t *l;
  colo__endpoint_t bound;
  NEED_RC(colo__os_listen(&l, &child_ep, 0666, &bound), "colo__os_listen");
  tu_proc_t p;
  if (start_other_user(&p, child_other_user_connects, "connected") != 0) {
    colo__os_listen_close(l);
    cr_skip_test("needs the administrator to run a client as another user (uid 65534)");
    return;
  }
  colo__os_conn_t *c;
  OK(colo__os_accept(l, &c, 5 * S_));
  cr_assert_eq(colo__os_conn_check_peer(c, &no_more, "the client"), COLO_EPERM);
  cr_assert(strstr(colo_last_error(), other), "names the user: %s", colo_last_error());
  cr_assert_eq(colo__os_conn_check_peer(c, &that_one, "the client"), 0);
  cr_assert_eq(colo__os_conn_peer_is_self_or_root(c), 0, "uid 65534 is neither");
  colo__os_conn_close(c);
  tu_kill(&p);
  tu_wait(&p, tu_ms(10000));
  colo__os_listen_close(l);
}

/* Links of another user in a socket path need one made by another user:
 * test_conform.c covers it through the helper. */

static int child_listen_and_sleep(void *arg) {
  const colo__endpoint_t *ep = arg;
  colo__os_lsock_t *l;
  colo__endpoint_t bound;
  if (colo__os_listen(&l, ep, 0600, &bound) != 0) return 10;
  tu_child_say("listening");
  for (;;) tu_sleep_ms(1000);
}

/* unix and pipe: "a file that nobody listens on any more (a dead listener's)
 * is replaced, a live one gives COLO_EEXIST". */
static void replaces_a_dead_listeners_file(colo__ep_kind_t kind) {
  colo__endpoint_t ep, bound;
  stream_ep(&ep, kind, "dead");
  colo__os_lsock_t *l;
  NEED_RC(colo__os_listen(&l, &ep, 0600, &bound), "colo__os_listen");
  colo__os_listen_close(l);
  tu_proc_t p;
  SKIP_UNLESS(tu_fork_call(&p, child_listen_and_sleep, &ep) == 0, "cannot start a child process here");
  char line[64];
  int said = tu_read_line(&p, line, sizeof line, tu_ms(10000));
  cr_assert_eq(said, 0, "the child said nothing (exit %d)", said ? tu_wait(&p, 0) : 0);
  /* Alive: refused. */
  cr_assert_eq(colo__os_listen(&l, &ep, 0600, &bound), COLO_EEXIST, "%s", colo_last_error());
  tu_kill(&p);
  cr_assert_eq(tu_wait(&p, tu_ms(10000)), TU_KILLED);
  colo__os_stat_t st;
  OK(colo__os_seg_stat(COLO__EP_FILE, ep.name, 0, &st)); /* its file is left behind */
  cr_assert(!st.regular, "%s", st.type);
  colo__os_conn_t *a = NULL, *b;
  int rc = colo__os_connect(&a, &bound, 1 * S_, &no_more);
  cr_assert_eq(rc, COLO_ENOENT, "nobody listens on a dead listener's file: %s", colo_errname(rc));
  /* Dead: replaced, and connections reach the new listener. */
  OK(colo__os_listen(&l, &ep, 0600, &bound));
  OK(colo__os_connect(&a, &bound, 5 * S_, &no_more));
  OK(colo__os_accept(l, &b, 5 * S_));
  colo__os_conn_close(a);
  colo__os_conn_close(b);
  colo__os_listen_close(l);
}

Test(stream_unix, a_listener_replaces_a_dead_listeners_socket_file_and_refuses_a_live_ones, .timeout = 60) {
  replaces_a_dead_listeners_file(COLO__EP_UNIX);
}
Test(stream_pipe, a_listener_replaces_a_dead_listeners_FIFO_and_refuses_a_live_ones, .timeout = 60) {
  replaces_a_dead_listeners_file(COLO__EP_PIPE);
}

static void listener_file_mode_and_removal(colo__ep_kind_t kind) {
  SKIP_UNLESS(kind != COLO__EP_PIPE || colo__os_caps.pipe_is_file, "a pipe:// endpoint is not a file here");
  colo__endpoint_t ep, bound;
  stream_ep(&ep, kind, "mode");
  uint32_t modes[] = {0600, 0660};
  colo__os_lsock_t *l, *l2;
  colo__os_stat_t st;
  for (int i = 0; i < 2; i++) {
    NEED_RC(colo__os_listen(&l, &ep, modes[i], &bound), "colo__os_listen");
    OK(colo__os_seg_stat(COLO__EP_FILE, ep.name, 0, &st));
    cr_assert_eq(st.perm, colo__os_perm_as_kept(modes[i]), "%o, not %o", st.perm, colo__os_perm_as_kept(modes[i]));
    colo__os_listen_close(l);
    cr_assert_eq(colo__os_seg_stat(COLO__EP_FILE, ep.name, 0, &st), COLO_ENOENT, "closing removes the file");
  }
  /* "If the path still names it": a second listener's file is not removed
   * by the first one's close. */
  OK(colo__os_listen(&l, &ep, 0600, &bound));
  OK(colo__os_seg_remove(COLO__EP_FILE, ep.name));
  OK(colo__os_listen(&l2, &ep, 0600, &bound));
  colo__os_listen_close(l);
  OK(colo__os_seg_stat(COLO__EP_FILE, ep.name, 0, &st));
  colo__os_conn_t *a, *b;
  OK(colo__os_connect(&a, &bound, 5 * S_, &no_more));
  OK(colo__os_accept(l2, &b, 5 * S_));
  colo__os_conn_close(a);
  colo__os_conn_close(b);
  colo__os_listen_close(l2);
  cr_assert_eq(colo__os_seg_stat(COLO__EP_FILE, ep.name, 0, &st), COLO_ENOENT);
}

Test(stream_unix, the_socket_file_gets_the_bits_asked_and_close_removes_it_only_while_it_names_it, .timeout = 60) {
  listener_file_mode_and_removal(COLO__EP_UNIX);
}
Test(stream_pipe, the_request_FIFO_gets_the_bits_asked_and_close_removes_it_only_while_it_names_it, .timeout = 60) {
  listener_file_mode_and_removal(COLO__EP_PIPE);
}

/* TCP_NODELAY on accepted connections cannot be seen through the contract
 * (it changes only when small writes go out). */
Test(stream_tcp, port_0_picks_a_free_port_and_actual_says_which, .timeout = 60) {
  colo__endpoint_t ep, bound;
  stream_ep(&ep, COLO__EP_TCP, "");
  colo__os_lsock_t *l;
  NEED_RC(colo__os_listen(&l, &ep, 0600, &bound), "colo__os_listen");
  cr_assert_neq(bound.port, 0);
  cr_assert_str_eq(bound.name, ep.name);
  colo__os_lsock_t *l2;
  cr_assert_eq(colo__os_listen(&l2, &bound, 0600, &ep), COLO_EEXIST, "the port is taken");
  colo__os_conn_t *a, *b;
  OK(colo__os_connect(&a, &bound, 5 * S_, &no_more));
  OK(colo__os_accept(l, &b, 5 * S_));
  colo__os_conn_close(a);
  colo__os_conn_close(b);
  colo__os_listen_close(l);
}

Test(stream_unix, connect_to_a_listener_whose_queue_is_full_is_EAGAIN, .timeout = 120) {
  colo__endpoint_t ep, bound;
  stream_ep(&ep, COLO__EP_UNIX, "busy");
  colo__os_lsock_t *l;
  NEED_RC(colo__os_listen(&l, &ep, 0600, &bound), "colo__os_listen");
  enum { MAX = 2000 };
  static colo__os_conn_t *c[MAX];
  int n = 0, rc = 0;
  while (n < MAX && (rc = colo__os_connect(&c[n], &bound, 0, &no_more)) == 0) n++;
  cr_assert_eq(rc, COLO_EAGAIN, "after %d connections: %s: %s", n, colo_errname(rc), colo_last_error());
  while (n > 0) colo__os_conn_close(c[--n]);
  colo__os_listen_close(l);
}

STREAM_TEST(poll_many_sets_each_items_ready_mask_and_counts_the_ready_ones, .timeout = 60) {
  pair_t p;
  PAIR(p, kind);
  colo__os_pollitem_t it[3] = {{.lsock = p.l, .want = COLO__POLL_IN},
                               {.conn = p.b, .want = COLO__POLL_IN},
                               {.conn = p.a, .want = COLO__POLL_OUT}};
  cr_assert_eq(colo__os_poll_many(it, 3, 5 * S_), 1);
  cr_assert_eq(it[0].ready, 0);
  cr_assert_eq(it[1].ready, 0);
  cr_assert_eq(it[2].ready, COLO__POLL_OUT);
  /* Nothing ready: the time runs out. */
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(colo__os_poll_many(it, 2, 50 * MS_), 0);
  cr_assert_lt(ms_since(t0), (uint64_t)tu_ms(5000));
  cr_assert_eq(it[0].ready | it[1].ready, 0);
  /* A connection waiting, bytes waiting. */
  colo__os_conn_t *a2, *b2;
  OK(colo__os_connect(&a2, &p.ep, 5 * S_, &no_more));
  OK(write_all(p.a, "z", 1, tu_ms(5000)));
  int n = 0;
  for (t0 = tu_now_ms(); n < 2 && ms_since(t0) < (uint64_t)tu_ms(5000);) n = colo__os_poll_many(it, 2, 100 * MS_);
  cr_assert_eq(n, 2);
  cr_assert_eq(it[0].ready, COLO__POLL_IN, "a connection to accept");
  cr_assert_eq(it[1].ready, COLO__POLL_IN, "bytes to read");
  OK(colo__os_accept(p.l, &b2, 0));
  colo__os_conn_close(a2);
  colo__os_conn_close(b2);
  pair_close(&p);
}

/* ---- passing a segment ------------------------------------------------------------------------ */

/* "Too large" (over COLO__OBJECT_MAX) would take 3 GiB of memory to send:
 * not tested here. */

Test(fdpass, a_segment_passed_over_a_unix_connection_arrives_mapped_and_shared, .timeout = 60) {
  pair_t p;
  PAIR(p, COLO__EP_UNIX);
  colo__os_seg_t *a, *got_seg = NULL;
  NEED_RC(colo__os_seg_create_anon(&a, 65536), "colo__os_seg_create_anon");
  unsigned char *pa = colo__os_seg_base(a);
  for (int i = 0; i < 65536; i += 512) pa[i] = (unsigned char)(i >> 9);
  size_t put = 0, got = 0;
  OK(colo__os_conn_write_seg(p.a, "S", 1, &put, a));
  cr_assert_eq(put, 1u);
  cr_assert_eq(colo__os_conn_poll(p.b, COLO__POLL_IN, 5 * S_), COLO__POLL_IN);
  char buf[16];
  int seg_err = -1;
  OK(colo__os_conn_read_seg(p.b, buf, sizeof buf, &got, &got_seg, &seg_err));
  cr_assert_eq(got, 1u);
  cr_assert_eq(buf[0], 'S');
  cr_assert_eq(seg_err, 0, "%s", colo_last_error());
  cr_assert_not_null(got_seg);
  cr_assert_eq(colo__os_seg_size(got_seg), 65536u);
  unsigned char *pb = colo__os_seg_base(got_seg);
  for (int i = 0; i < 65536; i += 512) cr_assert_eq(pb[i], (unsigned char)(i >> 9));
  pb[77] = 0xEE;
  cr_assert_eq(pa[77], 0xEE, "one memory on both sides");
  colo__os_seg_close(got_seg);
  colo__os_seg_close(a);
  pair_close(&p);
}

Test(fdpass, read_seg_of_bytes_with_nothing_attached_leaves_seg_NULL_and_seg_err_0, .timeout = 60) {
  pair_t p;
  PAIR(p, COLO__EP_UNIX);
  OK(write_all(p.a, "plain", 5, tu_ms(5000)));
  cr_assert_eq(colo__os_conn_poll(p.b, COLO__POLL_IN, 5 * S_), COLO__POLL_IN);
  char buf[16];
  size_t got = 0;
  colo__os_seg_t *seg = (colo__os_seg_t *)&got;
  int seg_err = -1;
  int rc = colo__os_conn_read_seg(p.b, buf, sizeof buf, &got, &seg, &seg_err);
  NEED_RC(rc, "colo__os_conn_read_seg");
  cr_assert_geq(got, 1u);
  cr_assert_null(seg);
  cr_assert_eq(seg_err, 0);
  pair_close(&p);
}

/* read_seg's side of a segment that came but cannot be taken: *seg NULL,
 * *seg_err the code with its detail, the bytes delivered. */
static void expect_refused(pair_t *p) {
  char buf[16];
  size_t got = 0;
  colo__os_seg_t *seg = NULL;
  int seg_err = 0;
  cr_assert_eq(colo__os_conn_poll(p->b, COLO__POLL_IN, 5 * S_), COLO__POLL_IN);
  OK(colo__os_conn_read_seg(p->b, buf, sizeof buf, &got, &seg, &seg_err));
  cr_assert_eq(got, 1u, "the bytes still arrive");
  cr_assert_eq(buf[0], 'R');
  cr_assert_null(seg);
  cr_assert_lt(seg_err, 0, "the code of the refusal");
  cr_assert_neq(colo_last_error()[0], '\0', "with the detail");
  cr_log_info("refused: %s: %s", colo_errname(seg_err), colo_last_error());
}

Test(fdpass, a_passed_object_that_is_not_a_sealed_anonymous_segment_is_refused_with_the_reason, .timeout = 60) {
  pair_t p;
  PAIR(p, COLO__EP_UNIX);
  /* A named segment stands in for what a hostile peer may send. */
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "unsealed", 4096, 0, 0);
  size_t put;
  OK(colo__os_conn_write_seg(p.a, "R", 1, &put, s));
  expect_refused(&p);
  seg_done(s, COLO__EP_SHM, name);
  pair_close(&p);
}

Test(fdpass, a_segment_the_system_drops_in_transit_is_refused_with_the_reason, .timeout = 60) {
  pair_t p;
  PAIR(p, COLO__EP_UNIX);
  colo__os_seg_t *a;
  NEED_RC(colo__os_seg_create_anon(&a, 4096), "colo__os_seg_create_anon");
  if (tu_fault(TU_REFUSE_SEG_PASSING, 1) != 0) {
    colo__os_seg_close(a);
    pair_close(&p);
    cr_skip_test("no way to make the system drop a passed segment here");
    return;
  }
  size_t put;
  OK(colo__os_conn_write_seg(p.a, "R", 1, &put, a));
  expect_refused(&p);
  tu_fault(TU_REFUSE_SEG_PASSING, 0);
  colo__os_seg_close(a);
  pair_close(&p);
}

/* ---- segment administration ------------------------------------------------------------------- */

Test(admin, stat_describes_a_segment_by_name_and_fstat_by_handle) {
  NEED_SEGMENTS();
  colo__os_seg_t *s;
  char name[128];
  tu_shm_name(name, sizeof name, "stat");
  OK(colo__os_seg_create(&s, COLO__EP_SHM, name, 8192, 0640, 0, MARK, sizeof MARK, 0));
  colo__os_stat_t st, fst;
  OK(colo__os_seg_stat(COLO__EP_SHM, name, 0, &st));
  colo__os_seg_fstat(s, &fst);
  uint64_t id;
  char user[64];
  int known = tu_self_user(&id, user, sizeof user) == 0;
  const colo__os_stat_t *both[2] = {&st, &fst};
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(both[i]->size, 8192u);
    cr_assert_eq(both[i]->perm, colo__os_perm_as_kept(0640u), "%o", both[i]->perm);
    cr_assert(both[i]->regular);
    cr_assert(both[i]->age_s >= 0 && both[i]->age_s < 3600, "age %lld s", (long long)both[i]->age_s);
    cr_assert_neq(both[i]->owner[0], '\0');
    if (known) cr_assert_eq(both[i]->uid, (uint32_t)id);
    if (known) cr_assert_str_eq(both[i]->owner, user);
  }
  seg_done(s, COLO__EP_SHM, name);
}

Test(admin, stat_of_an_absent_name_is_ENOENT_and_of_a_link_or_FIFO_says_what_it_is, .timeout = 60) {
  NEED_SEGMENTS();
  colo__os_stat_t st;
  char name[128], dir[256], link[300], fifo[300];
  cr_assert_eq(colo__os_seg_stat(COLO__EP_SHM, tu_shm_name(name, sizeof name, "nostat"), 0, &st), COLO_ENOENT);
  tu_tmp_path(dir, sizeof dir, "statkinds");
  snprintf(link, sizeof link, "%s/link", dir);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  cr_assert_eq(tu_mkdir(dir), 0);
  if (tu_symlink("/", link) == 0) {
    OK(colo__os_seg_stat(COLO__EP_FILE, link, 0, &st));
    cr_assert(!st.regular, "a link is not followed");
    cr_assert_neq(st.type[0], '\0');
  }
  if (tu_mkfifo(fifo) == 0) {
    OK(colo__os_seg_stat(COLO__EP_FILE, fifo, 0, &st)); /* without opening it: it would block */
    cr_assert(!st.regular);
    cr_assert_neq(st.type[0], '\0');
  }
  tu_remove_tree(dir);
}

Test(admin, remove_removes_a_name_without_asking_who_holds_it) {
  colo__os_seg_t *s;
  char name[128];
  MAKE_SEG(s, name, "remove", 4096, 0, 0);
  if (!colo__os_caps.persistent_names) {
    /* Names vanish with their last handle: there is nothing to remove. */
    cr_assert_eq(colo__os_seg_remove(COLO__EP_SHM, name), COLO_ENOTSUP, "%s", colo_last_error());
    colo__os_seg_close(s);
    return;
  }
  OK(colo__os_seg_remove(COLO__EP_SHM, name));
  colo__os_stat_t st;
  cr_assert_eq(colo__os_seg_stat(COLO__EP_SHM, name, 0, &st), COLO_ENOENT);
  /* shim.h leaves the code for an absent name unsaid; Linux: COLO_ENOENT. */
  cr_assert_lt(colo__os_seg_remove(COLO__EP_SHM, name), 0);
  colo__os_seg_close(s);
}

typedef struct listing {
  const char *tag;
  int seen, calls_after_stop, stop_at, stopped;
} listing_t;

static int list_cb(const char *name, void *ctx) {
  listing_t *l = ctx;
  if (l->stopped) l->calls_after_stop++;
  if (!strstr(name, l->tag)) return 0;
  l->seen++;
  if (l->stop_at && l->seen == l->stop_at) return l->stopped = 7;
  return 0;
}

Test(admin, list_names_every_colo_segment_in_the_shm_namespace_and_stops_when_asked) {
  NEED_SEGMENTS();
  char tag[64], names[3][128], path[256];
  snprintf(tag, sizeof tag, ".list%d.", tu_pid());
  colo__os_seg_t *s[3], *f;
  for (int i = 0; i < 3; i++) {
    char t[80];
    snprintf(t, sizeof t, "%s%d", tag + 1, i);
    tu_shm_name(names[i], sizeof names[i], t);
    OK(colo__os_seg_create(&s[i], COLO__EP_SHM, names[i], 4096, 0600, 0, MARK, sizeof MARK, 0));
  }
  char ftag[80];
  snprintf(ftag, sizeof ftag, "%sfile", tag + 1);
  tu_tmp_path(path, sizeof path, ftag); /* holds the tag: not an shm segment all the same */
  OK(colo__os_seg_create(&f, COLO__EP_FILE, path, 4096, 0600, 0, MARK, sizeof MARK, 0));
  listing_t all = {.tag = tag + 1};
  int rc = colo__os_seg_list(list_cb, &all);
  NEED_RC(rc < 0 ? rc : 0, "colo__os_seg_list");
  cr_assert_eq(rc, 0, "went through all");
  cr_assert_eq(all.seen, 3, "the three shm segments, not the file one");
  listing_t one = {.tag = tag + 1, .stop_at = 1};
  cr_assert_eq(colo__os_seg_list(list_cb, &one), 7, "the callback's stop value");
  cr_assert_eq(one.calls_after_stop, 0, "no call after the stop");
  for (int i = 0; i < 3; i++) seg_done(s[i], COLO__EP_SHM, names[i]);
  seg_done(f, COLO__EP_FILE, path);
}
