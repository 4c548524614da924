/*
 * test_testutil.c - testutil.h's OS services themselves, on every platform:
 * what the other tests build on (a child's line within a bound, its exit
 * code, a kill that reads as TU_KILLED, unique names, files, mappings,
 * threads). A service the platform cannot do is skipped with the reason.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

Test(testutil, a_helper_says_its_line_and_its_exit_code_reaches_wait) {
  tu_proc_t p;
  const char *args[] = {"say", "hello there \"quoted\" back\\slash", "7", NULL};
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  char line[128];
  cr_assert_eq(tu_read_line(&p, line, sizeof line, tu_ms(10000)), 0);
  cr_assert_str_eq(line, "hello there \"quoted\" back\\slash", "arguments arrive as given");
  cr_assert_eq(tu_read_line(&p, line, sizeof line, tu_ms(10000)), -1, "then the end of its output");
  cr_assert_eq(tu_wait(&p, tu_ms(10000)), 7);
}

Test(testutil, a_killed_helper_waits_as_TU_KILLED) {
  tu_proc_t p;
  const char *args[] = {"say-hold", "holding", NULL};
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  char line[64];
  cr_assert_eq(tu_read_line(&p, line, sizeof line, tu_ms(10000)), 0);
  cr_assert_str_eq(line, "holding");
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(tu_read_line(&p, line, sizeof line, 200), -1, "nothing more: the read times out");
  cr_assert_geq(tu_now_ms() - t0, 150u, "not before its bound");
  cr_assert_eq(tu_kill(&p), 0);
  cr_assert_eq(tu_wait(&p, tu_ms(10000)), TU_KILLED);
}

Test(testutil, wait_past_its_bound_kills_the_child_and_says_minus_one) {
  tu_proc_t p;
  const char *args[] = {"say-hold", "holding", NULL};
  cr_assert_eq(tu_spawn_helper(&p, args), 0);
  uint64_t t0 = tu_now_ms();
  cr_assert_eq(tu_wait(&p, 300), -1);
  cr_assert_geq(tu_now_ms() - t0, 250u);
}

Test(testutil, names_are_unique_and_temporary_paths_make_file_endpoints) {
  char a[256], b[256], ep[300];
  cr_assert_str_neq(tu_tmp_path(a, sizeof a, "x"), tu_tmp_path(b, sizeof b, "x"));
  cr_assert(strstr(a, "colo-t.") && strstr(a, ".x"), "%s", a);
  tu_file_endpoint(ep, sizeof ep, a);
  cr_assert_eq(strncmp(ep, "file:///", 8), 0, "an absolute path after file://: %s", ep);
  char back[300];
  cr_assert_str_eq(tu_shm_path(ep, back, sizeof back), a, "the endpoint's path is the path");
  char n1[128], n2[128];
  cr_assert_str_neq(tu_shm_name(n1, sizeof n1, "y"), tu_shm_name(n2, sizeof n2, "y"));
  cr_assert_str_neq(tu_pipe_name(n1, sizeof n1, "y"), tu_pipe_name(n2, sizeof n2, "y"));
  cr_assert_str_neq(tu_endpoint(n1, sizeof n1, "y"), tu_endpoint(n2, sizeof n2, "y"));
}

Test(testutil, files_are_made_written_grown_mapped_and_removed_with_their_directory) {
  char dir[256], file[300];
  tu_tmp_path(dir, sizeof dir, "files");
  snprintf(file, sizeof file, "%s/f", dir);
  cr_assert_eq(tu_mkdir(dir), 0, "%s", dir);
  cr_assert_eq(tu_write_file(file, "abcd", 4), 0);
  size_t len;
  unsigned char *m = tu_map_file(file, &len);
  cr_assert_not_null(m);
  cr_assert_eq(len, 4u);
  cr_assert_eq(memcmp(m, "abcd", 4), 0);
  m[0] = 'X';
  tu_unmap(m, len);
  cr_assert_eq(tu_truncate(file, 65536), 0);
  m = tu_map_file(file, &len);
  cr_assert_not_null(m);
  cr_assert_eq(len, 65536u);
  cr_assert_eq(memcmp(m, "Xbcd", 4), 0, "the mapping wrote the file");
  cr_assert_eq(m[65535], 0, "grown with zeros");
  tu_unmap(m, len);
  int lk = tu_read_lock(file, 1);
  if (lk >= 0) tu_read_unlock(lk);
  tu_remove_tree(dir);
  cr_assert_null(tu_map_file(file, &len), "removed");
  cr_assert_eq(tu_mkdir(dir), 0, "the directory went too: made again");
  tu_remove_tree(dir);
}

static void *bump(void *arg) {
  atomic_int *n = arg;
  for (int i = 0; i < 1000; i++) atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
  return NULL;
}

Test(testutil, threads_run_and_join) {
  atomic_int n = 0;
  tu_thread_t t[4];
  for (int i = 0; i < 4; i++) cr_assert_eq(tu_thread_start(&t[i], bump, &n), 0);
  for (int i = 0; i < 4; i++) tu_thread_join(&t[i]);
  cr_assert_eq(atomic_load(&n), 4000);
}

Test(testutil, this_process_has_a_user_and_a_pid) {
  uint64_t id;
  char name[128];
  cr_assert_gt(tu_pid(), 0);
  if (tu_self_user(&id, name, sizeof name) != 0) {
    cr_skip_test("the user is unknown here");
    return;
  }
  cr_assert_neq(name[0], '\0');
}

Test(testutil, sleep_sleeps_and_the_clock_sees_it) {
  uint64_t t0 = tu_now_ms();
  tu_sleep_ms(50);
  uint64_t dt = tu_now_ms() - t0;
  cr_assert_geq(dt, 40u, "slept %llu ms", (unsigned long long)dt);
  cr_assert_lt(dt, (uint64_t)tu_ms(5000));
}

Test(testutil, a_symbolic_link_where_the_platform_makes_one_reaches_its_target) {
  char dir[256], file[300], link[300];
  tu_tmp_path(dir, sizeof dir, "link");
  snprintf(file, sizeof file, "%s/target", dir);
  snprintf(link, sizeof link, "%s/link", dir);
  cr_assert_eq(tu_mkdir(dir), 0);
  cr_assert_eq(tu_write_file(file, "linked", 6), 0);
  if (tu_symlink(file, link) != 0) {
    tu_remove_tree(dir);
    cr_skip_test("no symbolic links here (Windows: needs the privilege or developer mode)");
    return;
  }
  size_t len;
  unsigned char *m = tu_map_file(link, &len);
  cr_assert_not_null(m, "the link opens its target: %s", link);
  cr_assert_eq(len, 6u);
  cr_assert_eq(memcmp(m, "linked", 6), 0);
  tu_unmap(m, len);
  tu_remove_tree(dir);
  cr_assert_null(tu_map_file(file, &len), "the tree went, the target with it");
}
