/*
 * test_segment.c - the segment as an external format: validation of every
 * header field, hostile and damaged segment files, names, O_EXCL, stale-
 * segment reclaim, space reservation and removal. Portable: colo.h, the
 * runtime's segment format and testutil.h only (Windows runs it too); the
 * cases that drive POSIX directly are in test_segment_posix.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shims/shim.h"
#include "test_segment.h"

/* ---- validation of an in-memory image (heap, sized exactly: ASan watches) -- */

void image_make(image_t *im, uint64_t cap) {
  cr_assert_eq(colo__seg_plan(cap, 0, &im->lay), 0);
  im->size = im->lay.size;
  im->base = calloc(1, im->size);
  cr_assert_not_null(im->base);
  colo__seg_format(im->base, &im->lay, 1, 0);
  colo__seg_publish(im->base);
}

static colo__seg_header_t *hdr(image_t *im) { return (colo__seg_header_t *)(void *)im->base; }

/* After changing a checksummed field on purpose, make the checksum agree, so
 * that the check under test is the one that must catch it. */
static void reseal(image_t *im) {
  hdr(im)->header_checksum = tu_xxh3(im->base, COLO__SEG_CHECKSUM_SPAN);
}

static int validate(image_t *im, uint64_t size) {
  colo__seg_layout_t out;
  return colo__seg_validate(im->base, size, &out);
}

Test(validate, a_fresh_segment_validates_and_reports_its_layout) {
  image_t im;
  image_make(&im, 8192);
  colo__seg_layout_t out;
  cr_assert_eq(colo__seg_validate(im.base, im.size, &out), 0, "%s", colo_last_error());
  cr_assert_eq(out.capacity[0], 8192u);
  cr_assert_eq(out.capacity[1], 8192u);
  cr_assert_eq(out.major, COLO_FORMAT_MAJOR);
  cr_assert_eq(out.size, im.size);
  free(im.base);
}

Test(validate, a_bigger_object_than_the_segment_is_fine) {
  image_t im;
  image_make(&im, 4096);
  cr_assert_eq(validate(&im, im.size), 0);
  /* The mapping may be longer than segment_size (page rounding, a larger
   * file); only the first segment_size bytes are used. */
  free(im.base);
}

Test(validate, wrong_magic_is_corrupt) {
  image_t im;
  image_make(&im, 4096);
  memcpy(im.base, "not-colo", 8);
  cr_assert_eq(validate(&im, im.size), COLO_ECORRUPT);
  cr_assert(strstr(colo_last_error(), "magic"), "%s", colo_last_error());
  free(im.base);
}

Test(validate, wrong_major_version_is_eversion) {
  image_t im;
  image_make(&im, 4096);
  hdr(&im)->version_major = COLO_FORMAT_MAJOR + 1;
  reseal(&im);
  cr_assert_eq(validate(&im, im.size), COLO_EVERSION);
  /* Even unsealed: the version check comes before the checksum, so that a
   * future format with a different checksum still reads as a version error. */
  hdr(&im)->version_major = 0;
  cr_assert_eq(validate(&im, im.size), COLO_EVERSION);
  free(im.base);
}

Test(validate, a_newer_minor_version_is_accepted) {
  image_t im;
  image_make(&im, 4096);
  hdr(&im)->version_minor = COLO_FORMAT_MINOR + 7;
  reseal(&im);
  cr_assert_eq(validate(&im, im.size), 0, "%s", colo_last_error());
  free(im.base);
}

Test(validate, unknown_incompatible_feature_is_eversion) {
  image_t im;
  image_make(&im, 4096);
  hdr(&im)->incompat_flags |= 0x100;
  reseal(&im);
  cr_assert_eq(validate(&im, im.size), COLO_EVERSION);
  free(im.base);
}

Test(validate, unknown_compatible_feature_is_ignored) {
  image_t im;
  image_make(&im, 4096);
  hdr(&im)->compat_flags |= 0x100;
  reseal(&im);
  cr_assert_eq(validate(&im, im.size), 0, "%s", colo_last_error());
  free(im.base);
}

Test(validate, any_changed_header_byte_is_caught) {
  image_t im;
  image_make(&im, 4096);
  /* Every byte after the magic and version, one at a time, unsealed. */
  for (unsigned off = 12; off < COLO__SEG_CHECKSUM_SPAN + 8; off++) {
    im.base[off] ^= 0x5a;
    int rc = validate(&im, im.size);
    cr_assert(rc == COLO_ECORRUPT || rc == COLO_EVERSION, "byte %u: %s", off, colo_errname(rc));
    im.base[off] ^= 0x5a;
  }
  cr_assert_eq(validate(&im, im.size), 0);
  free(im.base);
}

Test(validate, unpublished_segment_is_not_ready) {
  image_t im;
  image_make(&im, 4096);
  hdr(&im)->state = COLO__SEG_INITIALISING;
  cr_assert_eq(validate(&im, im.size), COLO_ENOTREADY);
  cr_assert_eq(validate(&im, 0), COLO_ENOTREADY, "an empty object is still being sized");
  hdr(&im)->state = 77;
  cr_assert_eq(validate(&im, im.size), COLO_ECORRUPT);
  free(im.base);
}

Test(validate, truncated_object_is_corrupt) {
  image_t im;
  image_make(&im, 4096);
  cr_assert_eq(validate(&im, im.size - 1), COLO_ECORRUPT);
  cr_assert(strstr(colo_last_error(), "truncated"), "%s", colo_last_error());
  /* Shorter than the header but with the magic: its creator wrote the magic
   * and has not sized it yet (or died doing so): not ready, bounded by the
   * connector's wait. Without the magic: not ours. */
  cr_assert_eq(validate(&im, 64), COLO_ENOTREADY);
  im.base[0] ^= 1;
  cr_assert_eq(validate(&im, 64), COLO_ECORRUPT);
  free(im.base);
}

/* Sealed but inconsistent layouts: the checksum cannot save us from a
 * hostile creator, the bounds checks must. */
Test(validate, sealed_inconsistent_layouts_are_corrupt) {
  image_t im;
  image_make(&im, 4096);
  colo__seg_header_t good = *hdr(&im);
  uint64_t size = im.size;
#define BENT(expr)                                                              \
  do {                                                                          \
    *hdr(&im) = good;                                                           \
    colo__seg_header_t *h = hdr(&im);                                            \
    expr;                                                                       \
    reseal(&im);                                                                \
    hdr(&im)->state = COLO__SEG_READY;                                           \
    int rc_ = validate(&im, size);                                              \
    cr_assert_eq(rc_, COLO_ECORRUPT, "%s: %s", #expr, colo_errname(rc_));       \
  } while (0)
  BENT(h->segment_size = size + 4096);
  BENT(h->segment_size = 64);
  BENT(h->header_size = 64);
  BENT(h->header_size = (uint32_t)size + 1);
  BENT(h->ring_count = 3);
  BENT(h->record_header_size = 16);
  BENT(h->record_align = 4);
  BENT(h->ring[0].capacity = 4095);
  BENT(h->ring[0].capacity = 2048);
  BENT(h->ring[1].capacity = (uint64_t)1 << 31);
  BENT(h->ring[0].capacity = 8192);                /* runs past the end */
  BENT(h->ring[0].data_offset = UINT64_MAX - 100); /* overflow */
  BENT(h->ring[0].data_offset += 8);               /* misaligned */
  BENT(h->ring[1].data_offset = h->ring[0].data_offset); /* overlap */
  BENT(h->ring[1].ctrl_offset = h->ring[0].ctrl_offset);
  BENT(h->ring[0].ctrl_offset = 0);                /* over the header */
  BENT(h->control_offset = h->ring[0].ctrl_offset + 64);
  BENT(h->control_offset = 0xFFFFFFC0u);
#undef BENT
  free(im.base);
}

/* Random changes to sealed headers: validation may accept or refuse, but a
 * layout it accepts must lie inside the object. */
Test(validate, random_sealed_headers_never_yield_an_outside_layout) {
  image_t im;
  image_make(&im, 4096);
  colo__seg_header_t good = *hdr(&im);
  uint64_t x = 88172645463325252ull;
  int accepted = 0;
  for (int round = 0; round < 200000; round++) {
    *hdr(&im) = good;
    int flips = 1 + round % 4;
    for (int k = 0; k < flips; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      unsigned off = 12 + (unsigned)(x % (COLO__SEG_CHECKSUM_SPAN - 12));
      im.base[off] = (uint8_t)(x >> 40);
    }
    reseal(&im);
    colo__seg_layout_t out;
    if (colo__seg_validate(im.base, im.size, &out) != 0) continue;
    accepted++;
    cr_assert_leq(out.size, im.size);
    cr_assert_leq(out.control_offset + COLO__SEG_CONTROL_SIZE, out.size);
    for (int i = 0; i < 2; i++) {
      cr_assert_leq(out.ctrl_offset[i] + COLO__SEG_RING_CTRL_SIZE, out.size);
      cr_assert_leq(out.data_offset[i] + out.capacity[i], out.size);
    }
  }
  cr_assert_gt(accepted, 0, "some harmless changes (created_ns, nonce, compat flags) pass");
  free(im.base);
}

/* ---- segment files ----------------------------------------------------- */

/* Maps the file behind ep and applies f to its bytes; then, when halve,
 * cuts the file to half its size. -1 when the platform would not cut it. */
static int damage(const char *ep, void (*f)(uint8_t *m, size_t n), int halve) {
  char path[600];
  tu_shm_path(ep, path, sizeof path);
  cr_assert_neq(path[0], '\0', "%s has a file", ep);
  size_t n;
  uint8_t *m = tu_map_file(path, &n);
  cr_assert_not_null(m, "mapping %s", path);
  if (f) f(m, n);
  tu_unmap(m, n);
  if (halve && tu_truncate(path, n / 2) != 0) return -1;
  return 0;
}

static void random_first_64(uint8_t *m, size_t n) {
  (void)n;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 64; i++) x ^= x << 13, x ^= x >> 7, x ^= x << 17, m[i] = (uint8_t)x;
}
static void next_major(uint8_t *m, size_t n) {
  (void)n;
  ((colo__seg_header_t *)(void *)m)->version_major++;
}
static void flip_nonce(uint8_t *m, size_t n) {
  (void)n;
  m[offsetof(colo__seg_header_t, nonce)] ^= 1;
}

/* A connect to ep fails with want, saying detail, and colo ls says the same. */
static void diagnosis_is(const char *ep, int want, const char *detail) {
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, NULL, tu_ms(1000));
  cr_assert_eq(rc, want, "got %s: %s", colo_errname(rc), colo_last_error());
  cr_assert(strstr(colo_last_error(), detail), "'%s' should mention '%s'", colo_last_error(), detail);
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(ep, &info), 0);
  cr_assert_eq(info.status, want, "colo ls reports the same diagnosis");
}

/* Where the file of a live listener cannot be cut (Windows: no file a
 * section maps), the same diagnosis is checked on a truncated copy of it
 * that its listener left behind, and the case skips, saying so. */
static void truncated_copy(const char *ep, colo_listener_t *l, int want, const char *detail) {
  char path[600];
  tu_shm_path(ep, path, sizeof path);
  size_t n;
  uint8_t *m = tu_map_file(path, &n);
  cr_assert_not_null(m, "mapping %s", path);
  uint8_t *half = malloc(n / 2);
  cr_assert_not_null(half);
  memcpy(half, m, n / 2);
  tu_unmap(m, n);
  colo_listener_close(l);
  cr_assert_not(tu_segment_exists(ep), "closing the listener removes its file");
  cr_assert_eq(tu_write_file(path, half, n / 2), 0, "%s", path);
  free(half);
  diagnosis_is(ep, want, detail);
  tu_remove_tree(path);
  cr_skip_test("the file of a live listener could not be truncated here (Windows cuts no file a section maps); "
               "a truncated copy of it was checked instead: %s", colo_errname(want));
}

static void expect_connect(const char *ep, void (*f)(uint8_t *, size_t), int halve, int want, const char *detail) {
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  if (damage(ep, f, halve) != 0) {
    truncated_copy(ep, l, want, detail);
    return;
  }
  diagnosis_is(ep, want, detail);
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(ep, &info), 0);
  cr_assert_eq(info.listener, COLO_PROC_ALIVE);
  colo_listener_close(l);
  /* The listener's file is damaged but it was ours: closing removes it. */
  cr_assert_not(tu_segment_exists(ep));
}

Test(files, overwritten_first_bytes_make_connect_fail_as_corrupt) {
  char ep[128];
  expect_connect(tu_mappable_endpoint(ep, sizeof ep, "rand"), random_first_64, 0, COLO_ECORRUPT, "magic");
}

Test(files, next_major_version_makes_connect_fail_with_eversion) {
  char ep[128];
  expect_connect(tu_mappable_endpoint(ep, sizeof ep, "major"), next_major, 0, COLO_EVERSION, "format 2.");
}

Test(files, a_changed_header_byte_makes_connect_fail_as_corrupt) {
  char ep[128];
  expect_connect(tu_mappable_endpoint(ep, sizeof ep, "nonce"), flip_nonce, 0, COLO_ECORRUPT, "checksum");
}

Test(files, a_truncated_file_makes_connect_fail_as_corrupt) {
  char ep[128];
  expect_connect(tu_mappable_endpoint(ep, sizeof ep, "trunc"), NULL, 1, COLO_ECORRUPT, "truncated");
}

Test(files, foreign_file_is_refused_and_left_alone) {
  char ep[128], path[600];
  tu_mappable_endpoint(ep, sizeof ep, "foreign");
  static const char line[] = "this is somebody else's file\n";
  size_t len = sizeof line - 1;
  char *text = malloc(1000 * len);
  cr_assert_not_null(text);
  for (int i = 0; i < 1000; i++) memcpy(text + (size_t)i * len, line, len);
  cr_assert_eq(tu_write_file(tu_shm_path(ep, path, sizeof path), text, 1000 * len), 0, "%s", path);
  free(text);
  colo_chan_t *ch;
  cr_assert_eq(colo_connect(&ch, ep, NULL, tu_ms(500)), COLO_ECORRUPT);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), COLO_EEXIST, "a foreign file is never reclaimed");
  cr_assert_eq(colo_seg_remove(ep, 0), COLO_ECORRUPT, "not a colo segment, not removed");
  cr_assert(tu_segment_exists(ep));
  tu_remove_tree(path);
}

Test(files, empty_file_is_not_ready_then_times_out) {
  char ep[128], path[600];
  tu_mappable_endpoint(ep, sizeof ep, "empty");
  cr_assert_eq(tu_write_file(tu_shm_path(ep, path, sizeof path), "", 0), 0, "%s", path);
  colo_chan_t *ch;
  uint64_t t0 = tu_now_ms();
  int rc = colo_connect(&ch, ep, NULL, 300);
  uint64_t took = tu_now_ms() - t0;
  cr_assert(rc == COLO_ENOTREADY || rc == COLO_ETIMEDOUT, "%s", colo_errname(rc));
  cr_assert_lt(took, (uint64_t)tu_ms(3000), "bounded: %llu ms", (unsigned long long)took);
  tu_remove_tree(path);
}

/* ---- names, O_EXCL, modes ---------------------------------------------- */

Test(names, bad_endpoints_are_einval) {
  const char *bad[] = {"", "shm://", "shm:///x", "shm://a/b", "shm://.hidden", "shm://a b",
                       "shm://\xc3\xa9t\xc3\xa9", "file://relative/path", "file:///", "/dev/shm/x",
                       "shm:/x", "SHM://x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    colo_listener_t *l;
    int rc = colo_listen(&l, bad[i], NULL);
    cr_assert(rc == COLO_EINVAL || rc == COLO_ENOTSUP, "'%s': %s", bad[i], colo_errname(rc));
    cr_assert_neq(colo_last_error()[0], '\0');
  }
  char longname[300] = "shm://";
  memset(longname + 6, 'n', 201);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, longname, NULL), COLO_EINVAL);
  longname[6 + 200] = 0;
  cr_assert_eq(colo_listen(&l, longname, NULL), 0, "200 characters is the limit, and fits");
  colo_listener_close(l);
}

Test(names, unknown_transports_relative_colo_paths_and_listener_lists_are_invalid) {
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, "colo://relative", NULL), COLO_EINVAL);
#ifdef _WIN32
  const char *absolute = "drive-letter path"; /* colo:///C:/dir/sock */
#else
  const char *absolute = "absolute path";
#endif
  cr_assert(strstr(colo_last_error(), absolute), "%s", colo_last_error());
  cr_assert_eq(colo_listen(&l, "colo:///tmp/a,tcp://127.0.0.1:0", NULL), COLO_EINVAL);
  cr_assert(strstr(colo_last_error(), "one endpoint"), "%s", colo_last_error());
  cr_assert_eq(colo_listen(&l, "carrier-pigeon://x", NULL), COLO_EINVAL);
  cr_assert(strstr(colo_last_error(), "unknown transport"), "%s", colo_last_error());
  cr_assert(strstr(colo_last_error(), "colo://, shm://, file://, unix://, pipe:// and tcp://"),
            "the message lists the schemes of the transport table: %s", colo_last_error());
  /* memfd is a transport (colo:// rung 1) but has no endpoint of its own. */
  cr_assert_eq(colo_listen(&l, "memfd://x", NULL), COLO_EINVAL);
  cr_assert(strstr(colo_last_error(), "unknown transport"), "%s", colo_last_error());
  cr_assert_eq(colo_listen(NULL, "shm://x", NULL), COLO_EINVAL);
  cr_assert_eq(colo_listen(&l, NULL, NULL), COLO_EINVAL);
}

Test(names, second_listener_gets_eexist_and_leaves_the_first_alone) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "excl");
  colo_listener_t *a, *b;
  cr_assert_eq(colo_listen(&a, ep, NULL), 0);
  cr_assert_eq(colo_listen(&b, ep, NULL), COLO_EEXIST);
  colo_chan_t *c, *s;
  cr_assert_eq(colo_connect(&c, ep, NULL, tu_ms(1000)), 0, "%s", colo_last_error());
  cr_assert_eq(colo_accept(a, &s, tu_ms(1000)), 0);
  cr_assert_eq(colo_send(c, "x", 1, 0), 0);
  colo_close(c);
  colo_close(s);
  colo_listener_close(a);
  cr_assert_not(tu_segment_exists(ep));
}

/* ---- stale segments ----------------------------------------------------- */

Test(stale, dead_segment_is_reported_dead_and_reclaimed_by_a_new_listener) {
  char ep[700];
  /* shm:// where a name outlives its process; file:// where it does not
   * (a Windows section goes with its last handle: nothing is left). */
  tu_mappable_endpoint(ep, sizeof ep, "stale");
  cr_assert_eq(tu_leave_dead_listener(ep), 0);
  cr_assert(tu_segment_exists(ep), "a killed process leaves its segment");
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(ep, &info), 0);
  cr_assert_eq(info.status, 0);
  cr_assert_eq(info.listener, COLO_PROC_DEAD);
  cr_assert_eq(info.connector, COLO_PROC_NONE);
  cr_assert(colo_seg_is_dead(&info));

  colo_chan_t *c;
  cr_assert_eq(colo_connect(&c, ep, NULL, 0), COLO_EPEERDEAD);
  cr_assert(strstr(colo_last_error(), "listener died"), "%s", colo_last_error());
  cr_assert_eq(colo_connect(&c, ep, NULL, 200), COLO_EPEERDEAD, "still dead after retrying");
  cr_assert(tu_segment_exists(ep), "a failed connect removes nothing");

  colo_opts_t o;
  colo_opts_init(&o);
  o.reclaim_stale = 0;
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, &o), COLO_EEXIST);
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "reclaimed: %s", colo_last_error());
  cr_assert_eq(colo_seg_inspect(ep, &info), 0);
  cr_assert_eq(info.listener, COLO_PROC_ALIVE);
  colo_listener_close(l);
  cr_assert_not(tu_segment_exists(ep));
}

/* Both sides close at about the same time, in two processes: the last one
 * out removes the file, whichever it is (on Windows the first one must
 * unmap before it lets go, or the last one cannot delete a mapped file:
 * about one run in five left the file behind). */
Test(stale, a_file_segment_is_removed_when_both_sides_close_at_once) {
  char path[600], ep[700];
  tu_file_endpoint(ep, sizeof ep, tu_tmp_path(path, sizeof path, "closeboth"));
  for (int round = 0; round < 12; round++) {
    colo_listener_t *l;
    cr_assert_eq(colo_listen(&l, ep, NULL), 0, "round %d: %s", round, colo_last_error());
    tu_proc_t h;
    const char *args[] = {"connect-echo", ep, NULL};
    cr_assert_eq(tu_spawn_helper(&h, args), 0);
    colo_chan_t *ch;
    cr_assert_eq(colo_accept(l, &ch, tu_ms(5000)), 0, "round %d: %s", round, colo_last_error());
    char buf[16], line[256];
    size_t n;
    cr_assert_eq(colo_recv(ch, buf, sizeof buf, &n, tu_ms(5000)), 0, "%s", colo_last_error());
    cr_assert_eq(colo_send(ch, "pong", 4, tu_ms(5000)), 0);
    /* the helper closes as soon as it has the answer; so do we */
    colo_close(ch);
    colo_listener_close(l);
    cr_assert_eq(tu_read_line(&h, line, sizeof line, tu_ms(5000)), 0);
    cr_assert(!strncmp(line, "COLO_OK", 7), "%s", line);
    cr_assert_eq(tu_wait(&h, tu_ms(5000)), 0);
    cr_assert_not(tu_segment_exists(ep), "round %d: both sides closed cleanly, and the file is still there", round);
  }
}

Test(stale, remove_refuses_a_live_segment_unless_forced) {
  char ep[700];
  tu_mappable_endpoint(ep, sizeof ep, "rmlive"); /* a Windows section has no name to remove: file:// there */
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  cr_assert_eq(colo_seg_remove(ep, 0), COLO_EBUSY);
  cr_assert(tu_segment_exists(ep));
  int rc = colo_seg_remove(ep, 1);
#ifdef _WIN32
  if (rc == COLO_EPERM) {
    /* Windows deletes no file a section maps (the listener's): the forced
     * removal waits for the listener to go. */
    char why[512];
    snprintf(why, sizeof why, "a file mapped by a live listener cannot be removed here: %s", colo_last_error());
    colo_listener_close(l);
    cr_assert_not(tu_segment_exists(ep), "closing the listener removes it");
    cr_skip_test("%s", why);
    return;
  }
#endif
  cr_assert_eq(rc, 0, "%s", colo_last_error());
  cr_assert_not(tu_segment_exists(ep));
  colo_listener_close(l); /* its name is gone; closing must not fail or remove another */
  cr_assert_eq(colo_seg_remove(ep, 0), COLO_ENOENT);
}

int count_cb(const colo_seg_info_t *info, void *ctx) {
  const char *want = ctx;
  return strcmp(info->endpoint, want) == 0 ? 1 : 0;
}

Test(stale, list_finds_our_segment) {
  if (!colo__os_caps.listable_names) {
    cr_skip_test("this platform cannot list the shm:// namespace (colo ls, gc)");
    return;
  }
  char ep[128];
  tu_endpoint(ep, sizeof ep, "list");
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0);
  int rc = colo_seg_list(count_cb, ep);
  cr_assert_eq(rc, 1, "the callback's non-zero return stops the walk and is returned");
  colo_listener_close(l);
  cr_assert_eq(colo_seg_list(count_cb, ep), 0);
}

/* ---- space ---------------------------------------------------------------- */

Test(space, capacity_option_is_checked_and_used) {
  char ep[128];
  tu_endpoint(ep, sizeof ep, "cap");
  colo_opts_t o;
  colo_opts_init(&o);
  colo_listener_t *l;
  uint32_t bad[] = {0, 1000, 2048, 4097, 3u << 20};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.ring_capacity = bad[i];
    cr_assert_eq(colo_listen(&l, ep, &o), COLO_EINVAL, "capacity %u", bad[i]);
  }
  o.ring_capacity = 16384;
  cr_assert_eq(colo_listen(&l, ep, &o), 0);
  colo_seg_info_t info = {.struct_size = sizeof info};
  cr_assert_eq(colo_seg_inspect(ep, &info), 0);
  cr_assert_eq(info.capacity[0], 16384u);
  cr_assert_eq(info.capacity[1], 16384u);
  colo_chan_t *c;
  cr_assert_eq(colo_connect(&c, ep, NULL, tu_ms(1000)), 0);
  cr_assert_eq(colo_max_message(c), 16384u / 2 - 8);
  colo_close(c);
  colo_listener_close(l);
}

Test(space, file_endpoint_creates_missing_directories) {
  char dir[600], seg[700], ep[800];
  tu_tmp_path(dir, sizeof dir, "dirs");
  snprintf(seg, sizeof seg, "%s/a/b/seg", dir);
  tu_file_endpoint(ep, sizeof ep, seg);
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  cr_assert(tu_segment_exists(ep));
  colo_chan_t *c, *s;
  cr_assert_eq(colo_connect(&c, ep, NULL, tu_ms(1000)), 0);
  cr_assert_eq(colo_accept(l, &s, tu_ms(1000)), 0);
  colo_close(c);
  colo_close(s);
  colo_listener_close(l);
  cr_assert_not(tu_segment_exists(ep));
  tu_remove_tree(dir);
}

/* colo_seg_info_t is filled into the caller's memory: its struct_size says
 * how much there is room for, so that the struct can grow. */
Test(names, seg_info_needs_its_struct_size_and_fills_no_more_than_it_says) {
  char ep[64];
  snprintf(ep, sizeof ep, "shm://t.%d.sz", tu_pid());
  colo_listener_t *l;
  cr_assert_eq(colo_listen(&l, ep, NULL), 0, "%s", colo_last_error());
  colo_seg_info_t info;
  memset(&info, 0, sizeof info);
  cr_assert_eq(colo_seg_inspect(ep, &info), COLO_EINVAL, "struct_size not set");
  cr_assert(strstr(colo_last_error(), "struct_size"), "%s", colo_last_error());
  cr_assert_not(colo_seg_is_dead(&info), "an info without its size is never dead");
  /* A caller built against a later, larger struct: the library fills what it
   * knows and says how much. */
  struct {
    colo_seg_info_t now;
    char later[64];
  } big;
  memset(&big, 0xa5, sizeof big);
  big.now.struct_size = sizeof big;
  cr_assert_eq(colo_seg_inspect(ep, &big.now), 0, "%s", colo_last_error());
  cr_assert_eq(big.now.struct_size, sizeof(colo_seg_info_t));
  cr_assert_str_eq(big.now.endpoint, ep);
  for (size_t i = 0; i < sizeof big.later; i++) cr_assert_eq((unsigned char)big.later[i], 0xa5, "byte %zu", i);
  colo_listener_close(l);
}
