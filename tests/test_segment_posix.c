/*
 * test_segment_posix.c - the segment cases that drive POSIX directly: the
 * name in /dev/shm, modes and the umask, another user (root, uid 65534),
 * a tiny tmpfs, the posix shim's syscall table, FIFOs and links named like
 * segments, a file resized under a reader, a listener killed while sizing.
 * The portable cases are in test_segment.c (see test_segment.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shims/posix/posix.h"
#include "test_segment.h"

static int file_mode(const char *ep) {
  char path[600];
  struct stat st;
  if (stat(tu_shm_path(ep, path, sizeof path), &st) != 0) return -1;
  return (int)(st.st_mode & 07777);
}

/* ---- names, modes ------------------------------------------------------- */

Test(names, shm_segment_is_findable_as_colo_NAME_in_dev_shm) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "find");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  char path[600];
  snprintf(path, sizeof path, "/dev/shm/colo.%s", ep + 6);
  cr_assert_eq(access(path, F_OK), 0, "%s", path);
  colo_listener_close(l);
  cr_assert_neq(access(path, F_OK), 0, "closing the only side removes it");
}


Test(names, default_mode_is_0600_and_the_option_sets_another) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "mode");
  mode_t old = umask(0077); /* the option is applied as given, whatever the umask */
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  cr_assert_eq(file_mode(ep), 0600);
  colo_listener_close(l);
  colo_opts_t o;
  colo_opts_init(&o);
  o.perm = 0660;
  cr_assert_eq(colo_listen(&l, ep, &o), 0);
  cr_assert_eq(file_mode(ep), 0660);
  colo_listener_close(l);
  o.perm = 04755;
  cr_assert_eq(colo_listen(&l, ep, &o), COLO_EINVAL, "only permission bits");
  umask(old);
}

Test(names, another_user_cannot_open_a_0600_segment) {
  if (!tu_is_root()) {
    cr_skip_test("needs root to run the peer as another user (uid 65534)");
  }
  char ep[128], line[256];
  tu_endpoint(ep, sizeof ep, "perm");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  tu_proc_t p;
  const char *args[] = {"connect-as-nobody", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  cr_assert_eq(tu_read_line(&p, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_eq(tu_wait(&p, tu_ms(5000)), 0);
  cr_assert_str_eq(line, "COLO_EPERM");
  /* and with 0666 the same user gets in */
  colo_listener_close(l);
  colo_opts_t o;
  colo_opts_init(&o);
  o.perm = 0666;
  cr_assert_eq(colo_listen(&l, ep, &o), 0);
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  cr_assert_eq(tu_read_line(&p, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_eq(tu_wait(&p, tu_ms(5000)), 0);
  cr_assert_str_eq(line, "COLO_OK");
  colo_listener_close(l);
}


/* ---- space -------------------------------------------------------------- */

Test(space, full_dev_shm_fails_at_creation_with_enospc) {
  if (!tu_is_root()) cr_skip_test("needs root to mount a 1 MiB tmpfs in a private mount namespace");
  char ep[128], line[512];
  tu_endpoint(ep, sizeof ep, "small");
  tu_proc_t p;
  const char *args[] = {"listen-small-shm", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  cr_assert_eq(tu_read_line(&p, line, sizeof line, tu_ms(10000)), 0);
  cr_assert_eq(tu_wait(&p, tu_ms(5000)), 0);
  if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
  cr_assert(!strncmp(line, "COLO_ENOSPC leftover=0 ", 23), "%s", line);
}

Test(space, full_file_mount_fails_at_creation_with_enospc) {
  if (!tu_is_root()) cr_skip_test("needs root to mount a 1 MiB tmpfs in a private mount namespace");
  char line[512];
  tu_proc_t p;
  /* The helper mounts its tiny tmpfs on /dev/shm; a file:// path under it is
   * an ordinary file on a full mount. */
  const char *args[] = {"listen-small-shm", "file:///dev/shm/sub/dir/seg", NULL};
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  cr_assert_eq(tu_read_line(&p, line, sizeof line, tu_ms(10000)), 0);
  cr_assert_eq(tu_wait(&p, tu_ms(5000)), 0);
  if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
  cr_assert(!strncmp(line, "COLO_ENOSPC leftover=0 ", 23), "%s", line);
}

static int fail_fallocate(int fd, off_t off, off_t len) {
  (void)fd, (void)off, (void)len;
  return ENOSPC;
}
static int fail_openat_eacces(int dirfd, const char *name, int flags, mode_t mode) {
  (void)dirfd, (void)name, (void)flags, (void)mode;
  errno = EACCES;
  return -1;
}

Test(space, reservation_failure_is_enospc_and_leaves_nothing) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "inject");
  colo__posix_sys_t saved = colo__posix_sys;
  colo__posix_sys.fallocate = fail_fallocate;
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, NULL);
  colo__posix_sys = saved;
  cr_assert_eq(rc, COLO_ENOSPC, "%s", colo_errname(rc));
  cr_assert_not(tu_segment_exists(ep));
}

Test(space, permission_failure_is_eperm) {
  char ep[128], ep2[128];
  tu_endpoint(ep, sizeof ep, "eacces");
  tu_endpoint(ep2, sizeof ep2, "eacces2");
  colo_listener_t *l, *l2;
  cr_assert_eq(colo_listen(&l2, ep2, NULL), 0);
  colo__posix_sys_t saved = colo__posix_sys;
  colo__posix_sys.openat = fail_openat_eacces;
  int rc = colo_listen(&l, ep, NULL);
  colo_chan_t *c;
  int rc2 = colo_connect(&c, ep2, NULL, 0);
  colo__posix_sys = saved;
  cr_assert_eq(rc, COLO_EPERM, "%s", colo_errname(rc));
  cr_assert_eq(rc2, COLO_EPERM, "%s", colo_errname(rc2));
  colo_listener_close(l2);
}


/* ---- other local users and odd files (issue 12) --------------------------- */

static uint64_t ms_since(uint64_t t0) { return tu_now_ms() - t0; }

/* Looks at, lists, removes, listens on and connects to an endpoint whose name
 * holds something that is not a segment: each call returns at once, with a
 * reason, and the thing is left alone. */
static void odd_file_is_refused_at_once(const char *ep, const char *what) {
  char path[600];
  tu_shm_path(ep, path, sizeof path);
  uint64_t t0 = tu_now_ms();
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(ep, &info), 0, "%s", colo_last_error());
  cr_assert_eq(info.status, COLO_EINVAL, "%s", colo_errname(info.status));
  cr_assert(strstr(info.status_detail, what), "%s", info.status_detail);
  cr_assert_not(colo_seg_is_dead(&info), "not ours, never dead");
  cr_assert_eq(colo_seg_list(count_cb, &(int){0}), 0);
  cr_assert_eq(colo_seg_remove(ep, 0), COLO_ECORRUPT, "%s", colo_last_error());
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), COLO_EEXIST);
  cr_assert(strstr(colo_last_error(), "not a colo segment"), "%s", colo_last_error());
  colo_chan_t *c;
  cr_assert_eq(colo_connect(&c, ep, NULL, 1000), COLO_EINVAL, "%s", colo_last_error());
  cr_assert(strstr(colo_last_error(), what), "%s", colo_last_error());
  cr_assert_lt(ms_since(t0), 500u, "nothing waited for the %s", what);
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0, "left alone");
}

Test(hostile, a_fifo_named_like_a_segment_is_refused_at_once_and_left_alone) {
  char ep[128], path[600];
  tu_endpoint(ep, sizeof ep, "fifo");
  cr_assert_eq(mkfifo(tu_shm_path(ep, path, sizeof path), 0666), 0);
  odd_file_is_refused_at_once(ep, "a FIFO");
  unlink(path);
  snprintf(ep, sizeof ep, "file:///tmp/colo-test-fifo-%d", (int)getpid());
  cr_assert_eq(mkfifo(tu_shm_path(ep, path, sizeof path), 0666), 0);
  odd_file_is_refused_at_once(ep, "a FIFO");
  cr_assert_eq(colo_seg_remove(ep, 1), 0, "force removes the name");
  cr_assert_neq(access(path, F_OK), 0);
}

Test(hostile, a_link_named_like_a_segment_is_never_followed) {
  char ep[128], target[128], path[600], tpath[600];
  tu_endpoint(target, sizeof target, "target");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, target, NULL), 0);
  tu_endpoint(ep, sizeof ep, "link");
  cr_assert_eq(symlink(tu_shm_path(target, tpath, sizeof tpath), tu_shm_path(ep, path, sizeof path)), 0);
  odd_file_is_refused_at_once(ep, "a symbolic link");
  unlink(path);
  colo_listener_close(l);
}

/* A link of root's is followed only in a directory no other user can put
 * links in: in a directory of another user, that user could swap it for
 * their own between the look and the read, or (with fs.protected_hardlinks
 * off) hard-link one of root's links there. */
Test(hostile, a_trusted_link_in_another_users_directory_is_not_followed) {
  if (!tu_is_root()) {
    cr_skip_test("needs root to play another user (chown to 65534)");
    return;
  }
  char dir[128], victim[128], link[160], ep[256], probe[256];
  snprintf(dir, sizeof dir, "/tmp/colo-seg-%d.nobodys", (int)getpid());
  snprintf(victim, sizeof victim, "/tmp/colo-seg-%d.rootonly", (int)getpid());
  cr_assert_eq(mkdir(dir, 0755), 0);
  cr_assert_eq(chown(dir, 65534, 65534), 0);
  cr_assert_eq(mkdir(victim, 0700), 0);
  snprintf(link, sizeof link, "%s/L", dir);
  cr_assert_eq(symlink(victim, link), 0); /* root's link, in nobody's directory */
  snprintf(ep, sizeof ep, "file://%s/seg", link);
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, NULL);
  snprintf(probe, sizeof probe, "%s/seg", victim);
  int made = access(probe, F_OK) == 0;
  if (!rc) colo_listener_close(l);
  unlink(probe), unlink(link), rmdir(victim), rmdir(dir);
  cr_assert_eq(rc, COLO_EPERM, "%s", colo_last_error());
  cr_assert(strstr(colo_last_error(), "in a directory of uid 65534"), "%s", colo_last_error());
  cr_assert_not(made, "nothing was made where the link points");
}

/* Another user's file in /dev/shm that changes size all the time. */
typedef struct flipper {
  int fd;
  _Atomic int stop;
  tu_thread_t th;
} flipper_t;

static void *flip_main(void *arg) {
  flipper_t *f = arg;
  while (!f->stop) {
    if (ftruncate(f->fd, 0) != 0 || ftruncate(f->fd, 1 << 20) != 0) break;
    uint8_t head[COLO__SEG_HEADER_SIZE];
    image_t im;
    image_make(&im, 4096);
    memcpy(head, im.base, sizeof head);
    free(im.base);
    if (pwrite(f->fd, head, sizeof head, 0) != (ssize_t)sizeof head) break;
  }
  return NULL;
}

Test(hostile, looking_at_a_segment_whose_size_keeps_changing_never_faults) {
  char ep[128], path[600];
  tu_endpoint(ep, sizeof ep, "flip");
  flipper_t f = {.fd = open(tu_shm_path(ep, path, sizeof path), O_RDWR | O_CREAT | O_EXCL, 0600)};
  cr_assert_geq(f.fd, 0);
  cr_assert_eq(tu_thread_start(&f.th, flip_main, &f), 0);
  int ok = 0, n = 0;
  for (uint64_t end = tu_now_ms() + 1500; tu_now_ms() < end; n++) {
    colo_seg_info_t info = {.struct_size = sizeof info};
    cr_assert_eq(colo_seg_inspect(ep, &info), 0, "%s", colo_last_error());
    ok += info.status == 0;
    cr_assert_eq(colo_seg_list(count_cb, &(int){0}), 0);
  }
  f.stop = 1;
  tu_thread_join(&f.th);
  close(f.fd);
  unlink(path);
  cr_log_info("%d looks, %d saw a whole header", n, ok);
  cr_assert_gt(n, 100, "it kept looking (and never died of SIGBUS)");
}

/* What colo gc does with each listed segment, for one of them (ctx[0]). */
static int gc_cb(const colo_seg_info_t *info, void *ctx) {
  const char **c = ctx;
  if (strcmp(info->endpoint, c[0]) != 0 || !colo_seg_is_dead(info)) return 0;
  cr_assert_eq(colo_seg_remove(info->endpoint, 0), 0, "%s", colo_last_error());
  c[1] = "removed";
  return 0;
}

/* Leftovers of listeners killed before their segment was ready: an empty
 * shm:// object (killed before the magic), and shm:// and file:// segments
 * killed while their memory was being reserved. */
Test(stale, a_listener_killed_while_sizing_leaves_what_ls_gc_rm_and_reclaim_agree_is_dead) {
  char ep[3][160], path[600];
  tu_endpoint(ep[0], sizeof ep[0], "empty");
  tu_endpoint(ep[1], sizeof ep[1], "sizing");
  snprintf(ep[2], sizeof ep[2], "file:///tmp/colo-test-files/%d.sizing", (int)getpid());
  int fd = open(tu_shm_path(ep[0], path, sizeof path), O_RDWR | O_CREAT | O_EXCL, 0600);
  cr_assert_geq(fd, 0);
  close(fd);
  for (int i = 1; i < 3; i++) {
    tu_proc_t p;
    const char *args[] = {"listen-die-sizing", ep[i], NULL};
    cr_assert_eq(tu_spawn_helper(&p, args), 0);
    cr_assert_eq(tu_wait(&p, tu_ms(5000)), 128 + SIGKILL);
    cr_assert(tu_segment_exists(ep[i]), "%s was left", ep[i]);
  }
  /* Young: its creator may still be at work. */
  for (int i = 0; i < 3; i++) {
    colo_seg_info_t info = {.struct_size = sizeof info};
    cr_assert_eq(colo_seg_inspect(ep[i], &info), 0);
    cr_assert_eq(info.status, COLO_ENOTREADY, "%s: %s", ep[i], info.status_detail);
    cr_assert_eq(info.listener, COLO_PROC_DEAD, "%s", ep[i]);
    cr_assert_not(colo_seg_is_dead(&info), "%s is young", ep[i]);
    cr_assert_eq(colo_seg_remove(ep[i], 0), COLO_EBUSY, "%s", colo_last_error());
    cr_assert(strstr(colo_last_error(), "being created"), "%s", colo_last_error());
    colo_listener_t *l;
    cr_assert_eq(colo_listen(&l, ep[i], NULL), COLO_EEXIST);
    cr_assert(strstr(colo_last_error(), "being created"), "%s", colo_last_error());
  }
  usleep(5500 * 1000); /* past the grace a creator gets */
  for (int i = 0; i < 3; i++) {
    colo_seg_info_t info = {.struct_size = sizeof info};
    cr_assert_eq(colo_seg_inspect(ep[i], &info), 0);
    cr_assert(colo_seg_is_dead(&info), "%s is dead now", ep[i]);
  }
  /* One rule, three ways out: rm, gc's walk, a new listener. */
  cr_assert_eq(colo_seg_remove(ep[0], 0), 0, "%s", colo_last_error());
  const char *gc_ctx[2] = {ep[1], NULL};
  cr_assert_eq(colo_seg_list(gc_cb, gc_ctx), 0);
  cr_assert_not_null(gc_ctx[1], "gc removed %s", ep[1]);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep[2], NULL), 0, "reclaimed: %s", colo_last_error());
  colo_listener_close(l);
  for (int i = 0; i < 3; i++) cr_assert_not(tu_segment_exists(ep[i]), "%s is gone", ep[i]);
}

static void nobody_run(const char *role, const char *ep, const char *arg, char *line, size_t cap, tu_proc_t *p) {
  const char *args[] = {"as-nobody", role, ep, arg, NULL};
  cr_assert_eq(tu_spawn_helper(p, args), 0);
  cr_assert_eq(tu_read_line(p, line, cap, tu_ms(5000)), 0);
  if (!strncmp(line, "SKIP", 4)) {
    tu_wait(p, 1000);
    cr_skip_test("%s", line);
  }
}

Test(hostile, a_reader_cannot_fake_presence) {
  colo_listener_t *l;
  char ep[128], line[256];
  tu_endpoint(ep, sizeof ep, "reader");
  colo_opts_t o;
  colo_opts_init(&o);
  o.perm = 0644;
  cr_assert_eq(colo_listen(&l, ep, &o), COLO_EINVAL, "read without write is refused");
  cr_assert(strstr(colo_last_error(), "fake presence"), "%s", colo_last_error());
  if (!tu_is_root()) cr_skip_test("needs root to run a reader as another user (uid 65534)");
  /* A segment that someone made readable (an older colo, chmod by hand). */
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  char path[600];
  cr_assert_eq(chmod(tu_shm_path(ep, path, sizeof path), 0644), 0);
  tu_proc_t reader;
  nobody_run("read-lock", ep, "1", line, sizeof line, &reader);
  cr_assert_str_eq(line, "ready");
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(ep, &info), 0);
  cr_assert_eq(info.connector, COLO_PROC_NONE, "a read lock is not a connector");
  colo_chan_t *c;
  cr_assert_eq(colo_connect(&c, ep, NULL, 1000), COLO_EPERM, "%s", colo_errname(colo_connect(&c, ep, NULL, 0)));
  cr_assert(strstr(colo_last_error(), "may only read"), "%s", colo_last_error());
  colo_listener_close(l);
  tu_kill(&reader);
  tu_wait(&reader, 5000);
  unlink(path);
}

Test(hostile, a_reader_does_not_keep_a_dead_connector_alive) {
  if (!tu_is_root()) cr_skip_test("needs root to run a reader as another user (uid 65534)");
  char ep[128], line[256], path[600];
  tu_endpoint(ep, sizeof ep, "deadconn");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  tu_proc_t conn;
  const char *args[] = {"connect-hold", ep, NULL};
  cr_assert_eq(tu_spawn_helper(&conn, args), 0);
  colo_chan_t *ch;
  cr_assert_eq(colo_accept(l, &ch, tu_ms(5000)), 0);
  cr_assert_eq(tu_read_line(&conn, line, sizeof line, tu_ms(5000)), 0);
  cr_assert_eq(chmod(tu_shm_path(ep, path, sizeof path), 0644), 0);
  tu_proc_t reader;
  const char *rargs[] = {"as-nobody", "read-lock", ep, "1", NULL};
  cr_assert_eq(tu_spawn_helper(&reader, rargs), 0);
  usleep(100000); /* it lies in wait for the connector's byte */
  uint64_t t0 = tu_now_ms();
  tu_kill(&conn);
  tu_wait(&conn, 5000);
  cr_assert_eq(tu_read_line(&reader, line, sizeof line, tu_ms(5000)), 0);
  if (!strncmp(line, "SKIP", 4)) cr_skip_test("%s", line);
  cr_assert_str_eq(line, "ready", "the reader took the dead connector's byte");
  char buf[8];
  size_t n;
  cr_assert_eq(colo_recv(ch, buf, sizeof buf, &n, tu_ms(3000)), COLO_EPEERDEAD, "%s", colo_last_error());
  cr_assert_lt(ms_since(t0), 1000u, "the death is seen despite the reader's lock");
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(ep, &info), 0);
  cr_assert_eq(info.connector, COLO_PROC_DEAD);
  colo_close(ch);
  colo_listener_close(l);
  tu_kill(&reader);
  tu_wait(&reader, 5000);
}

Test(hostile, file_endpoints_follow_no_link_another_user_made) {
  if (!tu_is_root()) cr_skip_test("needs root to give a link to another user (uid 65534)");
  char dir[128], victim[160], link[160], ep[200];
  snprintf(dir, sizeof dir, "/tmp/colo-test-links-%d", (int)getpid());
  snprintf(victim, sizeof victim, "%s/victim", dir);
  snprintf(link, sizeof link, "%s/evil", dir);
  cr_assert_eq(mkdir(dir, 0777), 0);
  cr_assert_eq(mkdir(victim, 0755), 0);
  cr_assert_eq(symlink(victim, link), 0);
  cr_assert_eq(lchown(link, 65534, 65534), 0);
  snprintf(ep, sizeof ep, "file://%s/seg", link);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), COLO_EPERM);
  cr_assert(strstr(colo_last_error(), "symbolic link of uid 65534"), "%s", colo_last_error());
  char seg[200];
  snprintf(seg, sizeof seg, "%s/seg", victim);
  cr_assert_neq(access(seg, F_OK), 0, "nothing landed where the link points");
  colo_chan_t *c;
  cr_assert_eq(colo_connect(&c, ep, NULL, 0), COLO_EPERM);
  /* Root's own link is followed. */
  cr_assert_eq(lchown(link, 0, 0), 0);
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  cr_assert_eq(access(seg, F_OK), 0, "the segment is where root's link points");
  colo_listener_close(l);
  unlink(link), rmdir(victim), rmdir(dir);
}

static int find_cb(const colo_seg_info_t *info, void *ctx) {
  const char **want = ctx;
  if (!strcmp(info->endpoint, want[0])) {
    want[1] = "seen";
    cr_assert_eq(info->status, COLO_EINVAL, "%s", info->status_detail);
    cr_assert(strstr(info->status_detail, "not a name colo makes"), "%s", info->status_detail);
    cr_assert_not(colo_seg_is_dead(info));
  }
  return 0;
}

Test(hostile, a_name_colo_cannot_make_is_shown_as_it_is_and_never_acted_on) {
  /* 210 characters: over the 200 of a shm:// name, so it must never be cut
   * to one (which would name this real segment of exactly 200). */
  char name[256], ep[300], path[600], real[300];
  int k = snprintf(name, sizeof name, "t.%d.long.", (int)getpid());
  memset(name + k, 'a', 210 - (size_t)k);
  name[210] = '\0';
  snprintf(real, sizeof real, "shm://%.200s", name);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, real, NULL), 0, "%s", colo_last_error());
  snprintf(path, sizeof path, "/dev/shm/colo.%s", name);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  cr_assert_geq(fd, 0);
  close(fd);
  snprintf(ep, sizeof ep, "shm://%s", name);
  const char *want[2] = {ep, NULL};
  cr_assert_eq(colo_seg_list(find_cb, want), 0);
  cr_assert_not_null(want[1], "listed as it is");
  cr_assert_eq(colo_seg_remove(ep, 1), COLO_EINVAL, "refused, not cut short");
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(real, &info), 0);
  cr_assert_eq(info.listener, COLO_PROC_ALIVE, "the real segment was not touched");
  colo_listener_close(l);
  unlink(path);
}
